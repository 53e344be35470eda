"""Outbox delivery: in-app, email and SMS, once each, with retries that resend only what is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from booking.services import appointment_cancel
from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.backends import FlakySMSBackend
from tests.workflows.notifications.conftest import NOW, PATIENT_PHONE, VISIT
from tests.workflows.notifications.helpers import book, book_confirmed
from workflows.models import Notification
from workflows.services import notification_preference_set
from workflows.tasks import deliver_outbox_message, retry_pending_outbox, send_due_reminders


@pytest.fixture
def slot(dr_chau):
    return publish_slots(dr_chau, start=VISIT, count=1)[0]


@pytest.fixture
def confirmed(frozen, patient_dao, dr_chau, staff_binh, slot):
    """A confirmed visit whose messages are written but not delivered (``db`` runs no on_commit)."""
    return book_confirmed(patient_dao, slot, staff=staff_binh)


def _message(kind, recipient):
    return OutboxMessage.objects.get(kind=kind, recipient=recipient)


def test_booking_and_paying_deliver_in_app_email_and_sms_to_each_person(
    frozen, patient_dao, dr_chau, staff_binh, slot, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(patient_dao, slot)
    with django_capture_on_commit_callbacks(execute=True):
        from booking.services import payment_mark_cash_paid

        payment_mark_cash_paid(appointment=appointment, actor=staff_binh)

    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    to_patient = [m for m in mail.outbox if m.to == [patient_dao.email]]
    to_doctor = [m for m in mail.outbox if m.to == [dr_chau.user.email]]
    assert [m.subject for m in to_patient] == [
        "Please pay to confirm your appointment with Dr. Châu Test",
        "Confirmed: your appointment with Dr. Châu Test",
    ]
    assert [m.subject for m in to_doctor] == ["Confirmed: appointment with Test Đào"]

    confirmation = to_patient[1]
    assert "10:00–10:30 · Paris time (GMT+2)" in confirmation.body
    assert confirmation.alternatives[0].mimetype == "text/html"
    assert "10:00–10:30 · Paris time (GMT+2)" in confirmation.alternatives[0].content
    # the calendar invitation, and the invoice of the cash payment (booking.services.invoices)
    assert [(name, mimetype) for name, _, mimetype in confirmation.attachments] == [
        ("appointment.ics", "text/calendar; method=REQUEST"),
        (f"MB-{NOW.year}-000001.pdf", "application/pdf"),
    ]
    parts = [part.get_content_type() for part in confirmation.message().walk()]
    assert parts == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/pdf",
    ]
    assert "15:00–15:30 · Vietnam time (GMT+7)" in to_doctor[0].body

    # SMS: only the confirmation, only to the patient (the doctor has no phone on file)
    assert [(s.to, s.text.split(":")[0]) for s in sms_outbox] == [(PATIENT_PHONE, "Medbook")]
    assert "is confirmed" in sms_outbox[0].text and "Paris time (GMT+2)" in sms_outbox[0].text

    notifications = Notification.objects.order_by("id")
    assert [(n.recipient_id, n.kind) for n in notifications] == [
        (patient_dao.pk, "appointment.held"),
        (patient_dao.pk, "appointment.confirmed"),
        (dr_chau.user.pk, "appointment.confirmed"),
    ]
    assert notifications[1].link == f"/portal/appointments/{appointment.public_id}/"
    assert notifications[1].email_sent_at and notifications[1].sms_sent_at
    assert notifications[2].email_sent_at and notifications[2].sms_sent_at is None


def test_delivering_a_message_twice_sends_it_once(confirmed, patient_dao, sms_outbox):
    message = _message("appointment.confirmed", patient_dao)
    assert deliver_outbox_message(message.pk) == "sent"
    assert deliver_outbox_message(message.pk) == "already sent"

    message.refresh_from_db()
    assert (message.status, message.attempts, message.sent_at is not None) == ("sent", 1, True)
    assert len(mail.outbox) == 1 and len(sms_outbox) == 1
    assert Notification.objects.filter(outbox=message).count() == 1


def test_sms_failure_keeps_the_message_pending_and_the_retry_sends_only_the_sms(
    confirmed, patient_dao, sms_outbox, settings
):
    settings.SMS_BACKEND = "tests.workflows.notifications.backends.FlakySMSBackend"
    FlakySMSBackend.failures_left = 1
    message = _message("appointment.confirmed", patient_dao)

    with pytest.raises(ConnectionError):
        deliver_outbox_message(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error == "ConnectionError: SMS gateway unreachable"
    notification = Notification.objects.get(outbox=message)
    assert notification.email_sent_at is not None and notification.sms_sent_at is None
    assert len(mail.outbox) == 1 and sms_outbox == []

    assert deliver_outbox_message(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1, "the email went out on the first attempt and is not repeated"
    assert len(sms_outbox) == 1
    assert Notification.objects.filter(outbox=message).count() == 1


def test_a_message_fails_for_good_after_the_last_attempt(confirmed, patient_dao, sms_outbox, settings):
    settings.SMS_BACKEND = "tests.workflows.notifications.backends.FlakySMSBackend"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "max_attempts": 2}
    FlakySMSBackend.failures_left = 10
    message = _message("appointment.confirmed", patient_dao)

    for _ in range(2):
        with pytest.raises(ConnectionError):
            deliver_outbox_message(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert deliver_outbox_message(message.pk) == "already failed"
    assert FlakySMSBackend.failures_left == 8 and sms_outbox == []


def test_a_worker_that_died_mid_send_still_used_up_its_attempt(confirmed, patient_dao, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "max_attempts": 2}
    message = _message("appointment.confirmed", patient_dao)
    # two attempts were counted, but no worker lived to record an outcome
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=2)
    assert deliver_outbox_message(message.pk) == "gave up"
    message.refresh_from_db()
    assert message.status == "failed" and "gave up after 2 attempts" in message.last_error
    assert mail.outbox == []


def test_channels_follow_the_persons_preferences(confirmed, patient_dao, dr_chau, sms_outbox):
    notification_preference_set(user=patient_dao, sms=False)
    notification_preference_set(user=dr_chau.user, email=False)
    deliver_outbox_message(_message("appointment.confirmed", patient_dao).pk)
    deliver_outbox_message(_message("appointment.confirmed", dr_chau.user).pk)

    assert [m.to for m in mail.outbox] == [[patient_dao.email]]
    assert sms_outbox == []
    assert Notification.objects.filter(kind="appointment.confirmed").count() == 2, "in-app is always on"


def test_no_sms_without_a_phone_on_file(frozen, patient_dao, dr_chau, staff_binh, slot, sms_outbox):
    profile = patient_dao.patient_profile
    profile.phone = ""
    profile.save(update_fields=["phone"])
    book_confirmed(patient_dao, slot, staff=staff_binh)  # the booking form still had a phone
    assert deliver_outbox_message(_message("appointment.confirmed", patient_dao).pk) == "sent"
    assert len(mail.outbox) == 1 and sms_outbox == []


def test_a_patient_registered_at_the_desk_without_email_gets_in_app_and_sms_but_no_email(
    frozen, dr_chau, staff_binh, slot, sms_outbox
):
    from accounts.services import patient_register

    walk_in = patient_register(actor=staff_binh, first_name="Hùng", last_name="Trần", phone="+84 90 111 2233")
    book_confirmed(walk_in, slot, staff=staff_binh)
    assert deliver_outbox_message(_message("appointment.confirmed", walk_in).pk) == "sent"
    assert [m for m in mail.outbox if walk_in.email in m.to] == []
    assert len(sms_outbox) == 1 and Notification.objects.filter(recipient=walk_in).exists()


def test_a_reminder_for_a_visit_cancelled_before_delivery_is_closed_unsent(confirmed, frozen, patient_dao, staff_binh):
    frozen.move_to(VISIT - timedelta(hours=23))
    assert send_due_reminders() == 2
    reminder = _message("appointment.reminder", patient_dao)
    appointment_cancel(appointment=confirmed, actor=staff_binh, reason="The doctor is ill.")

    assert deliver_outbox_message(reminder.pk) == "obsolete"
    reminder.refresh_from_db()
    assert reminder.status == "failed" and reminder.last_error.startswith("not sent, obsolete")
    assert mail.outbox == [] and not Notification.objects.filter(outbox=reminder).exists()


def test_an_unknown_kind_fails_at_once_without_retries(frozen, patient_dao):
    message = OutboxMessage.objects.create(kind="appointment.teleported", recipient=patient_dao, dedupe_key="x")
    assert deliver_outbox_message(message.pk) == "undeliverable"
    message.refresh_from_db()
    assert message.status == "failed" and "no template" in message.last_error


def test_the_retry_sweep_redelivers_stale_pending_messages_only(confirmed, frozen, patient_dao, dr_chau, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "max_attempts": 3}
    OutboxMessage.objects.filter(kind="appointment.held").update(status="sent")  # delivered long ago
    stale = [_message("appointment.confirmed", patient_dao)]
    exhausted = _message("appointment.confirmed", dr_chau.user)
    OutboxMessage.objects.filter(pk=exhausted.pk).update(attempts=3)

    frozen.move_to(NOW + timedelta(seconds=20))
    assert retry_pending_outbox() == 0, "too fresh: its own delivery may still be on the way"

    frozen.move_to(NOW + timedelta(seconds=40))
    assert retry_pending_outbox() == len(stale)  # django-q runs the deliveries inline in tests
    assert set(OutboxMessage.objects.filter(pk__in=[m.pk for m in stale]).values_list("status", flat=True)) == {"sent"}
    exhausted.refresh_from_db()
    assert exhausted.status == "failed" and "gave up" in exhausted.last_error
    assert retry_pending_outbox() == 0


def test_a_failed_attempt_backs_off_before_the_sweep_tries_again(confirmed, frozen, patient_dao, sms_outbox, settings):
    settings.SMS_BACKEND = "tests.workflows.notifications.backends.FlakySMSBackend"
    FlakySMSBackend.failures_left = 1
    message = _message("appointment.confirmed", patient_dao)
    OutboxMessage.objects.exclude(pk=message.pk).update(status="sent")
    with pytest.raises(ConnectionError):
        deliver_outbox_message(message.pk)
    message.refresh_from_db()
    assert (message.status, message.claimed_by, message.next_attempt_at) == ("pending", "", NOW + timedelta(minutes=1))

    frozen.move_to(NOW + timedelta(seconds=50))
    assert retry_pending_outbox() == 0
    frozen.move_to(NOW + timedelta(seconds=61))
    assert retry_pending_outbox() == 1
    message.refresh_from_db()
    assert message.status == "sent" and len(sms_outbox) == 1


def test_a_please_pay_email_is_not_sent_once_the_booking_is_paid(confirmed, patient_dao):
    held = _message("appointment.held", patient_dao)  # written at booking, delivered only after payment
    assert deliver_outbox_message(held.pk) == "obsolete"
    assert mail.outbox == []
