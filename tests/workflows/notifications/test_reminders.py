"""Reminders 24 h and 1 h before a confirmed visit: once each, re-planned on reschedule, dropped on cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from booking.services import appointment_cancel, appointment_reschedule
from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import VISIT
from tests.workflows.notifications.helpers import book_confirmed
from workflows.tasks import deliver_outbox_message, send_due_reminders

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


def reminders():
    """(lead, recipient id, planned start) of every reminder written, in order."""
    return [
        (message.context["lead_minutes"], message.recipient_id, message.context["starts_at"])
        for message in OutboxMessage.objects.filter(kind="appointment.reminder").order_by("pk")
    ]


@pytest.fixture
def visit(frozen, patient_dao, dr_chau, staff_binh):
    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    return book_confirmed(patient_dao, slot, staff=staff_binh)  # confirmed two days ahead


def test_each_reminder_is_written_once_to_patient_and_doctor(visit, frozen, patient_dao, dr_chau):
    both = {patient_dao.pk, dr_chau.user.pk}
    start = VISIT.isoformat()
    frozen.move_to(VISIT - DAY - MINUTE)
    assert send_due_reminders() == 0

    frozen.move_to(VISIT - DAY)
    assert send_due_reminders() == 2
    assert {(lead, who) for lead, who, _ in reminders()} == {(1440, who) for who in both}
    frozen.move_to(VISIT - DAY + MINUTE)
    assert send_due_reminders() == 0, "not again on the next run"
    frozen.move_to(VISIT - 2 * HOUR)
    assert send_due_reminders() == 0

    frozen.move_to(VISIT - HOUR)
    assert send_due_reminders() == 2
    frozen.move_to(VISIT - 30 * MINUTE)
    assert send_due_reminders() == 0
    frozen.move_to(VISIT)
    assert send_due_reminders() == 0
    assert sorted(reminders()) == sorted((lead, who, start) for lead in (1440, 60) for who in both)


def test_the_reminder_email_tells_the_patient_when_in_their_zone(visit, frozen, patient_dao):
    frozen.move_to(VISIT - HOUR)
    send_due_reminders()
    message = OutboxMessage.objects.get(kind="appointment.reminder", recipient=patient_dao)
    assert deliver_outbox_message(message.pk) == "sent"
    (email,) = mail.outbox
    assert email.subject == "Reminder: your appointment with Dr. Châu Test starts in 1 hour"
    assert "10:00–10:30 · Paris time (GMT+2)" in email.body


def test_a_late_worker_sends_only_the_reminder_that_is_due_now(visit, frozen):
    frozen.move_to(VISIT - 30 * MINUTE)  # the worker was down through the 24 h mark
    assert send_due_reminders() == 2
    assert {lead for lead, _, _ in reminders()} == {60}


def test_a_visit_booked_three_hours_ahead_gets_no_24_hour_reminder(frozen, patient_dao, dr_chau, staff_binh):
    (slot,) = publish_slots(dr_chau, start=VISIT, count=1)
    frozen.move_to(VISIT - 3 * HOUR)
    book_confirmed(patient_dao, slot, staff=staff_binh)
    assert send_due_reminders() == 0
    frozen.move_to(VISIT - HOUR)
    assert send_due_reminders() == 2
    assert {lead for lead, _, _ in reminders()} == {60}


def test_rescheduling_replans_the_reminders_for_the_new_time(visit, frozen, dr_chau, staff_binh):
    frozen.move_to(VISIT - DAY)
    assert send_due_reminders() == 2
    (later,) = publish_slots(dr_chau, start=VISIT + DAY, count=1)
    appointment_reschedule(appointment=visit, new_slot=later, actor=staff_binh)

    frozen.move_to(VISIT - HOUR)
    assert send_due_reminders() == 0, "nothing for the old time"
    frozen.move_to(VISIT + DAY - DAY)
    assert send_due_reminders() == 2
    frozen.move_to(VISIT + DAY - HOUR)
    assert send_due_reminders() == 2
    planned = [(lead, start) for lead, _, start in reminders()]
    assert (
        planned
        == [(1440, VISIT.isoformat())] * 2
        + [(1440, (VISIT + DAY).isoformat())] * 2
        + [(60, (VISIT + DAY).isoformat())] * 2
    )


def test_a_cancelled_visit_gets_no_reminders(visit, frozen, staff_binh):
    appointment_cancel(appointment=visit, actor=staff_binh, reason="The doctor is ill.")
    for moment in (VISIT - DAY, VISIT - HOUR):
        frozen.move_to(moment)
        assert send_due_reminders() == 0
    assert reminders() == []


def test_reminder_queries_do_not_grow_with_the_number_of_visits(
    frozen, patient_dao, dr_chau, staff_binh, django_assert_max_num_queries, settings
):
    settings.BOOKING_MAX_HOLDS_PER_PATIENT = 10
    for slot in publish_slots(dr_chau, start=VISIT, count=5):
        book_confirmed(patient_dao, slot, staff=staff_binh)
    frozen.move_to(VISIT - DAY + 3 * HOUR)  # all five visits (VISIT .. VISIT + 2 h) are inside 24 h
    assert send_due_reminders() == 10
    with django_assert_max_num_queries(2 * len(settings.REMINDER_LEADS_MINUTES)):
        assert send_due_reminders() == 0  # one read of the visits and one of existing keys, per lead
