"""A booking writes its rows with statements built once per process (issue 19) — on PostgreSQL all of
them in one statement — and they are the rows the ORM path wrote: the appointment, its audit entry
(with ``audit_recorded`` sent), the patient's message, and the message's queued delivery, which is
committed with the booking when django-q queues tasks in the database (the broker wrote the same row
just after the commit)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from booking import services as svc
from booking.models import Appointment, Slot, SlotStatus
from core.audit import audit_recorded
from core.models import AuditLog, OutboxMessage
from core.outbox import outbox_add
from tests.api.clients import bearer_client
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

OUTBOX_TASK = "workflows.tasks.deliver_outbox_message"


@pytest.fixture
def queued(monkeypatch, settings):
    """Deliveries queued on the database broker, as in production without Redis (the tests' worker
    otherwise runs each task synchronously after the commit)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.OUTBOX_DELIVERY_TASK = OUTBOX_TASK


def start_in(hours: int):
    return (timezone.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def book_over_api(patient, slot):
    body = {"doctorId": slot.doctor_id, "scheduleId": slot.pk, "firstName": "Pat", "lastName": "Bench"}
    body |= {"phone": "+84901234567", "email": "pat.bench@mail.test"}
    return bearer_client(patient).post("/api/v1/appointments", data=json.dumps(body), content_type="application/json")


def task_of(row: OrmQ) -> dict:
    return SignedPackage.loads(row.payload)


@pytest.mark.django_db(transaction=True)
def test_a_booking_writes_the_rows_the_orm_path_wrote(queued):
    doctor = make_doctor()
    slot = publish_slots(doctor, start=start_in(30), count=1)[0]
    patient = make_user("an.patient@example.test", "patient")
    recorded = []

    def receiver(sender, *, entry, obj, **kwargs):
        recorded.append((entry.pk, entry.action, obj.pk))

    audit_recorded.connect(receiver)
    try:
        response = book_over_api(patient, slot)
    finally:
        audit_recorded.disconnect(receiver)
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert str(appointment.public_id) == response.json()["id"] and appointment.pk == response.json()["number"]
    assert (appointment.patient_id, appointment.slot_id, appointment.status) == (patient.pk, slot.pk, "pending_payment")
    assert appointment.created_at is not None and appointment.price == doctor.consultation_fee
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.HELD
    entry = AuditLog.objects.get(action="booking.appointment.booked")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        patient.pk,
        "booking.appointment",
        str(appointment.pk),
    )
    assert entry.data == {"slot": slot.pk, "doctor": doctor.pk, "on_behalf": False}
    assert recorded == [(entry.pk, "booking.appointment.booked", appointment.pk)]
    message = OutboxMessage.objects.get(kind="appointment.held")
    assert (message.recipient_id, message.object_type, message.object_id) == (
        patient.pk,
        "booking.appointment",
        str(appointment.pk),
    )
    assert message.context == {"appointment": appointment.pk}
    assert message.dedupe_key == f"appointment.held:appointment:{appointment.pk}:{patient.pk}"
    assert message.status == OutboxMessage.Status.PENDING and message.to_email == "" and message.language == ""
    [queued_row] = OrmQ.objects.all()
    task = task_of(queued_row)
    assert (task["func"], task["args"], task["name"]) == (OUTBOX_TASK, (message.pk,), f"outbox-{message.pk}")
    # what django-q's database broker writes for the same call, after the commit (``outbox_add``)
    with transaction.atomic():
        other = outbox_add(kind="appointment.held", recipient=patient, obj=patient, dedupe_key="another")
    brokered = OrmQ.objects.exclude(pk=queued_row.pk).get()
    assert task_of(brokered)["args"] == (other.pk,)
    assert brokered.key == queued_row.key == Conf.CLUSTER_NAME
    assert sorted(task_of(brokered)) == sorted(task)
    assert {k: v for k, v in task_of(brokered).items() if k not in ("id", "name", "args", "started")} == {
        k: v for k, v in task.items() if k not in ("id", "name", "args", "started")
    }


@pytest.mark.django_db(transaction=True)
def test_the_queued_delivery_is_committed_with_the_booking_and_undone_with_it(queued):
    doctor = make_doctor()
    slots = publish_slots(doctor, start=start_in(30), count=2)
    patient = make_user("an.patient@example.test", "patient")
    with pytest.raises(RuntimeError), transaction.atomic():
        svc.appointment_book(slot=slots[0], patient=patient, actor=patient, details=details_for(patient))
        # in the booking's transaction already, not waiting for its commit
        assert OrmQ.objects.count() == 1 and OutboxMessage.objects.count() == 1
        raise RuntimeError("the caller's transaction fails later")
    assert not OrmQ.objects.exists() and not OutboxMessage.objects.exists() and not Appointment.objects.exists()
    svc.appointment_book(slot=slots[1], patient=patient, actor=patient, details=details_for(patient))
    assert OrmQ.objects.count() == 1 and OutboxMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_with_synchronous_tasks_the_delivery_still_runs_after_the_commit(monkeypatch, settings):
    monkeypatch.setattr(Conf, "SYNC", True)
    ran = []
    monkeypatch.setattr("core.outbox._enqueue", lambda task, message_id: ran.append((task, message_id)))
    doctor = make_doctor()
    slot = publish_slots(doctor, start=start_in(30), count=1)[0]
    patient = make_user("an.patient@example.test", "patient")
    with transaction.atomic():
        svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
        assert ran == []
    message = OutboxMessage.objects.get(kind="appointment.held")
    assert ran == [(settings.OUTBOX_DELIVERY_TASK, message.pk)] and not OrmQ.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_appointment_refused_by_the_database_leaves_no_rows_behind(queued):
    doctor = make_doctor()
    slot = publish_slots(doctor, start=start_in(30), count=1)[0]
    first, second = make_user("a@example.test", "patient"), make_user("b@example.test", "patient")
    svc.appointment_book(slot=slot, patient=first, actor=first, details=details_for(first))
    # the slot looks free, so the claim takes it; the one-active-appointment-per-slot index refuses
    # the second appointment, and with it the statement (or transaction) that wrote its other rows
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.FREE, hold_expires_at=None)
    counts = (AuditLog.objects.count(), OutboxMessage.objects.count(), OrmQ.objects.count())
    response = book_over_api(second, slot)
    assert response.status_code == 409, response.content
    assert Appointment.objects.count() == 1
    assert (AuditLog.objects.count(), OutboxMessage.objects.count(), OrmQ.objects.count()) == counts
