"""A child's visit has its conversation: the parent (account holder) opens it, writes and reads it as
the patient's side; unread-message emails go to the parent; another patient never sees it."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.family import dependant_add
from core.errors import NotFound
from tests.booking.appointments.helpers import completed_visit, make_doctor
from tests.factories import make_user
from workflows.messaging.selectors import conversation_get, conversations_for_user
from workflows.messaging.services import conversation_open_for_appointment, message_send

pytestmark = pytest.mark.django_db


def test_the_holder_talks_to_the_doctor_about_the_childs_visit(patient_dao):
    minh = dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )
    profile = patient_dao.patient_profile
    profile.phone = "+84 90 000 0001"
    profile.save(update_fields=["phone"])
    visit = completed_visit(make_doctor(), minh, days_ago=1)
    conversation = conversation_open_for_appointment(appointment=visit, actor=patient_dao)
    assert conversation.patient == minh
    message_send(conversation=conversation, sender=patient_dao, body="He still coughs at night.")
    assert list(conversations_for_user(user=patient_dao)) == [conversation]
    assert conversation_get(user=patient_dao, pk=conversation.pk)[1].side == "patient"
    lan = make_user("lan.patient@example.test", "patient", first_name="Lan")
    assert list(conversations_for_user(user=lan)) == []
    with pytest.raises(NotFound):
        conversation_get(user=lan, pk=conversation.pk)
    from workflows.messaging.models import ConversationRead
    from workflows.messaging.tasks import _recipients

    state = ConversationRead(conversation=conversation, side="patient")
    assert _recipients(state) == [patient_dao]
