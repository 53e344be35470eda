"""A child's visit: the messages reach the account holder (Đào, in Paris, by email and SMS), name the
child as the patient and link to the portal; nothing is sent to the child's placeholder address."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from accounts.family import dependant_add
from booking.services import BookingDetails, appointment_book, payment_mark_cash_paid
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import PATIENT_PHONE, VISIT
from workflows.models import Notification
from workflows.tasks import send_due_reminders


@pytest.fixture
def minh(patient_dao):
    return dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="Minh",
        last_name="Nguyễn",
        date_of_birth=dt.date(2018, 3, 14),
        relationship="child",
    )


def test_a_childs_visit_is_announced_to_the_holder_by_email_sms_and_in_app(
    frozen, patient_dao, minh, dr_chau, staff_binh, sms_outbox, django_capture_on_commit_callbacks
):
    slot = publish_slots(dr_chau, start=VISIT, count=1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        appointment = appointment_book(
            slot=slot, patient=minh, actor=patient_dao, details=BookingDetails.from_patient(minh)
        )
    with django_capture_on_commit_callbacks(execute=True):
        payment_mark_cash_paid(appointment=appointment, actor=staff_binh)

    to_holder = [m for m in mail.outbox if m.to == [patient_dao.email]]
    assert [m.subject for m in to_holder] == [
        "Please pay to confirm your appointment with Dr. Châu Test",
        "Confirmed: your appointment with Dr. Châu Test",
    ]
    confirmation = to_holder[1]
    assert "Patient: Nguyễn Minh" in confirmation.body  # whom the visit is for
    assert f"/portal/appointments/{appointment.public_id}/" in confirmation.body
    assert "10:00–10:30 · Paris time (GMT+2)" in confirmation.body  # in the holder's zone
    assert not [m for m in mail.outbox if minh.email in m.to]
    assert [s.to for s in sms_outbox] == [PATIENT_PHONE]  # the holder's phone: the confirmation
    assert Notification.objects.filter(recipient=patient_dao).count() == 2
    assert not Notification.objects.filter(recipient=minh).exists()


def test_the_reminder_of_a_childs_visit_goes_to_the_holder(frozen, patient_dao, minh, dr_chau, staff_binh):
    slot = publish_slots(dr_chau, start=VISIT, count=1)[0]
    appointment = appointment_book(
        slot=slot, patient=minh, actor=patient_dao, details=BookingDetails.from_patient(minh)
    )
    payment_mark_cash_paid(appointment=appointment, actor=staff_binh)
    frozen.move_to(VISIT - dt.timedelta(hours=23))
    send_due_reminders()
    from core.models import OutboxMessage

    reminders = OutboxMessage.objects.filter(kind="appointment.reminder")
    assert set(reminders.values_list("recipient_id", flat=True)) == {patient_dao.pk, dr_chau.user_id}
