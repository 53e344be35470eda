"""workflows.messaging.tasks.email_unread_messages: one outbox row per unread batch and recipient."""

from datetime import timedelta

from django.template import Context, engines
from django.utils import timezone

from core.models import OutboxMessage
from tests.factories import make_user
from workflows.messaging.emails import unread_context
from workflows.messaging.services import conversation_mark_read, message_send
from workflows.messaging.tasks import email_unread_messages

FIVE_MINUTES = timedelta(minutes=5)


def rows():
    return list(OutboxMessage.objects.filter(kind="message.unread").order_by("id"))


def test_an_unread_message_is_emailed_once_after_five_minutes(visit_chat, patient_dao, doctor_binh):
    sent_at = timezone.now()
    message = message_send(conversation=visit_chat, sender=patient_dao, body="Results attached?", now=sent_at)

    assert email_unread_messages(now=sent_at + FIVE_MINUTES - timedelta(seconds=1)) == 0
    assert email_unread_messages(now=sent_at + FIVE_MINUTES) == 1
    (row,) = rows()
    assert row.recipient == doctor_binh.user
    assert row.object_type == "messaging.conversation" and row.object_id == str(visit_chat.pk)
    assert row.context["message"] == message.pk and row.context["unread_count"] == 1
    assert row.context["appointment"] == visit_chat.appointment_id
    assert row.dedupe_key == f"message.unread:{visit_chat.pk}:{doctor_binh.user.pk}:{message.pk}"
    assert "Results" not in str(row.context)  # the text never leaves in an email

    assert email_unread_messages(now=sent_at + timedelta(minutes=30)) == 0  # not twice
    assert len(rows()) == 1


def test_a_message_read_in_time_is_not_emailed(visit_chat, patient_dao, doctor_binh):
    sent_at = timezone.now()
    message_send(conversation=visit_chat, sender=patient_dao, body="hi", now=sent_at)
    conversation_mark_read(conversation=visit_chat, user=doctor_binh.user, now=sent_at + timedelta(minutes=1))
    assert email_unread_messages(now=sent_at + timedelta(minutes=10)) == 0
    assert rows() == []


def test_one_row_names_the_newest_message_of_a_batch_and_new_messages_start_a_new_batch(
    visit_chat, patient_dao, doctor_binh
):
    start = timezone.now()
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="a", now=start)
    second = message_send(conversation=visit_chat, sender=doctor_binh.user, body="b", now=start + timedelta(minutes=1))
    assert email_unread_messages(now=start + timedelta(minutes=7)) == 1
    (row,) = rows()
    assert row.recipient == patient_dao and row.context["message"] == second.pk and row.context["unread_count"] == 2

    third = message_send(conversation=visit_chat, sender=doctor_binh.user, body="c", now=start + timedelta(minutes=8))
    assert email_unread_messages(now=start + timedelta(minutes=9)) == 0  # too recent yet
    assert email_unread_messages(now=start + timedelta(minutes=13)) == 1
    assert rows()[-1].context["message"] == third.pk and rows()[-1].context["unread_count"] == 3


def test_support_messages_go_to_the_clinic_team_until_one_of_them_reads(
    support_chat, patient_dao, staff_binh, admin_an
):
    colleague = make_user("cuc.staff@clinic.test", "staff")
    start = timezone.now()
    message_send(conversation=support_chat, sender=patient_dao, body="Parking?", now=start)
    assert email_unread_messages(now=start + timedelta(minutes=6)) == 3
    assert {row.recipient for row in rows()} == {staff_binh, admin_an, colleague}

    message_send(conversation=support_chat, sender=patient_dao, body="Anyone?", now=start + timedelta(minutes=7))
    conversation_mark_read(conversation=support_chat, user=colleague, now=start + timedelta(minutes=8))
    assert email_unread_messages(now=start + timedelta(minutes=20)) == 0


def test_the_email_context_and_templates_leave_the_message_out(visit_chat, patient_dao, doctor_binh):
    sent_at = timezone.now()
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="Your biopsy result", now=sent_at)
    message_send(conversation=visit_chat, sender=doctor_binh.user, body="Call me", now=sent_at)
    email_unread_messages(now=sent_at + FIVE_MINUTES)
    (row,) = rows()

    context = unread_context(row, patient_dao)
    assert context["link"] == f"/portal/messages/{visit_chat.pk}/"
    assert context["audience"] == "patient" and context["unread_count"] == 2
    assert context["sender_name"] == str(visit_chat.appointment.doctor) and context["visit_when"]
    assert "biopsy" not in str(context)
    doctor_view = unread_context(row, doctor_binh.user)
    assert doctor_view["link"] == f"/admin/messaging/conversation/{visit_chat.pk}/change/"

    context.update(name="Đào", url=f"http://testserver{context['link']}", site_url="http://testserver")
    engine = engines["django"].engine

    def render(part, autoescape=True):
        return engine.get_template(f"emails/message.unread.{part}").render(Context(context, autoescape=autoescape))

    sender = context["sender_name"]
    assert render("subject.txt", autoescape=False).strip() == f"New message from {sender}"
    text = render("txt", autoescape=False)
    assert f"{sender} sent you 2 messages on Medbook that you have not read yet." in text
    assert "It is about the visit on" in text and context["url"] in text
    html = render("html")
    assert "not included in this email" in html and f'href="{context["url"]}"' in html
    assert render("short.txt", autoescape=False).strip() == f"2 unread messages from {sender}."
    for part in ("subject.txt", "txt", "html", "short.txt"):
        assert "biopsy" not in render(part)


def test_the_context_is_none_when_the_conversation_is_gone(visit_chat, patient_dao):
    row = OutboxMessage(kind="message.unread", object_type="messaging.conversation", object_id="999999", context={})
    assert unread_context(row, patient_dao) is None


def test_outbox_delivery_renders_the_registered_kind(visit_chat, patient_dao):
    """workflows' registry entry points at this app's context (see workflows/messaging/emails.py)."""
    from workflows import messages as registry

    assert registry.REGISTRY["message.unread"].context == "workflows.messaging.emails.unread_context"
    sent_at = timezone.now()
    message_send(conversation=visit_chat, sender=patient_dao, body="Private words", now=sent_at)
    email_unread_messages(now=sent_at + FIVE_MINUTES)
    (row,) = rows()
    rendered = registry.render_message(row)
    assert rendered.link == f"/admin/messaging/conversation/{visit_chat.pk}/change/"
    assert rendered.subject.startswith("New message from")
    assert "Private words" not in rendered.text + rendered.html + rendered.short
