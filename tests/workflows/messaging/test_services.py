"""Conversations and messages through the services: participants only, limits, audit, read state."""

import pytest
from django.db import IntegrityError, transaction

from core.errors import NotFound, PermissionDenied
from core.models import AuditLog
from workflows.messaging.models import Conversation, ConversationRead, Message
from workflows.messaging.selectors import conversation_messages, unread_counts, unread_total
from workflows.messaging.services import (
    MessageInvalid,
    conversation_mark_read,
    conversation_open_for_appointment,
    conversation_open_support,
    message_send,
)


def test_one_conversation_per_appointment_opened_by_either_person(visit, patient_dao, doctor_binh):
    by_patient = conversation_open_for_appointment(appointment=visit, actor=patient_dao)
    by_doctor = conversation_open_for_appointment(appointment=visit, actor=doctor_binh.user)
    assert by_patient.pk == by_doctor.pk
    assert by_patient.kind == "appointment" and by_patient.patient == patient_dao
    assert set(ConversationRead.objects.filter(conversation=by_patient).values_list("side", flat=True)) == {
        "patient",
        "doctor",
    }
    assert AuditLog.objects.filter(action="messaging.conversation.opened").count() == 1


@pytest.mark.parametrize("who", ["another_doctor", "another_patient", "staff", "admin"])
def test_nobody_else_opens_an_appointment_conversation(visit, people, who):
    with pytest.raises(NotFound):
        conversation_open_for_appointment(appointment=visit, actor=people[who])
    assert not Conversation.objects.exists()


def test_the_database_refuses_a_second_conversation_for_the_same_appointment(visit_chat, visit):
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(kind="appointment", appointment=visit, patient=visit.patient)


def test_one_support_conversation_per_patient_opened_by_them_or_the_clinic(patient_dao, staff_binh, patient_lan):
    mine = conversation_open_support(patient=patient_dao, actor=patient_dao)
    assert conversation_open_support(patient=patient_dao, actor=staff_binh).pk == mine.pk
    with pytest.raises(NotFound):
        conversation_open_support(patient=patient_dao, actor=patient_lan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(kind="support", patient=patient_dao)


def test_participants_send_and_the_thread_is_newest_last(visit_chat, patient_dao, doctor_binh):
    first = message_send(conversation=visit_chat, sender=patient_dao, body="  Is fasting needed?  ")
    second = message_send(conversation=visit_chat, sender=doctor_binh.user, body="No, eat normally.")
    assert first.body == "Is fasting needed?" and first.sender_side == "patient"
    assert second.sender_side == "doctor"
    assert [m.pk for m in conversation_messages(conversation=visit_chat)] == [first.pk, second.pk]
    assert [m.pk for m in conversation_messages(conversation=visit_chat, after=first.pk)] == [second.pk]
    visit_chat.refresh_from_db()
    assert visit_chat.last_message_at == second.created_at


@pytest.mark.parametrize("who", ["another_doctor", "another_patient", "staff"])
def test_outsiders_cannot_write_and_learn_nothing(visit_chat, people, who):
    with pytest.raises(NotFound):
        message_send(conversation=visit_chat, sender=people[who], body="hello")
    assert not Message.objects.exists()


def test_admins_may_read_but_not_write_in_a_visit_conversation(visit_chat, admin_an):
    with pytest.raises(PermissionDenied):
        message_send(conversation=visit_chat, sender=admin_an, body="hello")


def test_any_clinic_member_answers_support_but_doctors_do_not(support_chat, staff_binh, admin_an, doctor_binh):
    assert message_send(conversation=support_chat, sender=staff_binh, body="How can we help?").sender_side == "clinic"
    assert message_send(conversation=support_chat, sender=admin_an, body="Admin here.").sender_side == "clinic"
    with pytest.raises(NotFound):
        message_send(conversation=support_chat, sender=doctor_binh.user, body="hi")


def test_size_limits(visit_chat, patient_dao):
    assert len(message_send(conversation=visit_chat, sender=patient_dao, body="x" * 2000).body) == 2000
    with pytest.raises(MessageInvalid) as too_long:
        message_send(conversation=visit_chat, sender=patient_dao, body="x" * 2001)
    assert too_long.value.code == "message_too_long"
    assert "at most 2000 characters; this one has 2001" in too_long.value.message
    with pytest.raises(MessageInvalid) as empty:
        message_send(conversation=visit_chat, sender=patient_dao, body=" \n ")
    assert empty.value.code == "message_empty"
    assert Message.objects.count() == 1


# The column holds the encrypted text (core.crypto): the database bounds the token of 2000 characters
# of up to four bytes each; the exact limit in characters is the service's (test_size_limits).
@pytest.mark.parametrize("body", ["", "y" * 8100])
def test_the_database_enforces_the_size_limit_too(visit_chat, patient_dao, body):
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(conversation=visit_chat, sender=patient_dao, sender_side="patient", body=body)


def test_sending_is_audited_without_the_text(visit_chat, patient_dao):
    message = message_send(conversation=visit_chat, sender=patient_dao, body="My allergy is penicillin")
    entry = AuditLog.objects.get(action="messaging.message.sent")
    assert entry.actor == patient_dao and entry.object_id == str(message.pk)
    assert entry.data == {"conversation": visit_chat.pk, "side": "patient", "length": 24}
    assert "penicillin" not in str(entry.data)


def test_unread_counts_per_side_and_marking_read(visit_chat, patient_dao, doctor_binh):
    message_send(conversation=visit_chat, sender=patient_dao, body="one")
    message_send(conversation=visit_chat, sender=patient_dao, body="two")
    assert unread_counts(user=doctor_binh.user) == {visit_chat.pk: 2}
    assert unread_counts(user=patient_dao) == {}  # one's own messages are read

    reply = message_send(conversation=visit_chat, sender=doctor_binh.user, body="three")
    assert unread_total(user=doctor_binh.user) == 0  # answering means having read
    assert unread_counts(user=patient_dao) == {visit_chat.pk: 1}
    assert conversation_mark_read(conversation=visit_chat, user=patient_dao) == reply.pk
    assert unread_total(user=patient_dao) == 0


def test_the_clinic_reads_support_as_a_team(support_chat, patient_dao, staff_binh, admin_an, doctor_binh, db):
    from tests.factories import make_user

    other_staff = make_user("cuc.staff@clinic.test", "staff")
    message_send(conversation=support_chat, sender=patient_dao, body="Where do I park?")
    assert unread_total(user=staff_binh) == unread_total(user=other_staff) == unread_total(user=admin_an) == 1
    assert unread_total(user=doctor_binh.user) == 0
    conversation_mark_read(conversation=support_chat, user=other_staff)
    assert unread_total(user=staff_binh) == unread_total(user=admin_an) == 0


def test_unread_counts_take_one_query(visit_chat, support_chat, patient_dao, doctor_binh, django_assert_num_queries):
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="a")
    message_send(conversation=support_chat, sender=patient_dao, body="b")
    with django_assert_num_queries(1):
        assert unread_counts(user=patient_dao) == {visit_chat.pk: 1}


def test_marking_read_is_for_participants_only(visit_chat, admin_an, patient_lan):
    for outsider in (admin_an, patient_lan):
        with pytest.raises(NotFound):
            conversation_mark_read(conversation=visit_chat, user=outsider)


def test_messages_are_encrypted_at_rest_and_the_length_limit_is_on_the_text(visit_chat, patient_dao):
    from django.db import connection

    from workflows.messaging.models import MESSAGE_MAX_LENGTH, Message

    message = message_send(conversation=visit_chat, sender=patient_dao, body="Tôi bị dị ứng penicillin")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [message.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("gAAAAA") and "penicillin" not in stored
    assert Message.objects.get(pk=message.pk).body == "Tôi bị dị ứng penicillin"
    longest = message_send(conversation=visit_chat, sender=patient_dao, body="ệ" * MESSAGE_MAX_LENGTH)
    assert Message.objects.get(pk=longest.pk).body == "ệ" * MESSAGE_MAX_LENGTH  # the database check allows it
