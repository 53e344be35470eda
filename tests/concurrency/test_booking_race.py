"""Many patients, one slot: exactly one booking wins in every round, on SQLite and PostgreSQL.

The negative control runs the same harness with a naive read-then-write claim and shows it lets
several threads "win" (PostgreSQL only: SQLite's IMMEDIATE transactions serialise even the naive
version), which proves the harness really races.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus, Slot, SlotStatus
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

THREADS = 16


def race(workers):
    """Start every worker at the same instant; collect (result, error) per worker."""
    barrier = threading.Barrier(len(workers))
    results = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait(timeout=30)
            results[index] = ("ok", work())
        except Exception as exc:  # every outcome is recorded and asserted on
            results[index] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.fixture
def crowd():
    doctor = make_doctor("race.doctor@clinic.test")
    patients = [make_user(f"racer{i}@example.test", "patient", first_name=f"R{i}") for i in range(THREADS)]
    return doctor, patients


def test_sixteen_patients_one_slot_exactly_one_winner_every_round(crowd):
    doctor, _ = crowd
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    rounds = publish_slots(doctor, start=start, count=5)
    for number, slot in enumerate(rounds):
        # a fresh crowd each round: a patient who already won twice would hit the two-holds limit
        patients = [make_user(f"r{number}-{i}@example.test", "patient", first_name=f"R{i}") for i in range(THREADS)]
        results = race(
            [
                (lambda p=p, s=slot: svc.appointment_book(slot=s, patient=p, actor=p, details=details_for(p)))
                for p in patients
            ]
        )
        winners = [r for kind, r in results if kind == "ok"]
        losers = [r for kind, r in results if kind == "error"]
        assert len(winners) == 1, results
        assert all(isinstance(err, svc.SlotTaken) for err in losers), losers
        assert Appointment.objects.filter(slot=slot).count() == 1
        assert Slot.objects.get(pk=slot.pk).status == SlotStatus.HELD


def naive_claim(slot_id, patient):
    """What the service must NOT do: read, decide, then write unconditionally."""
    with transaction.atomic():
        slot = Slot.objects.get(pk=slot_id)
        if slot.status != SlotStatus.FREE:
            return False
        Slot.objects.filter(pk=slot_id).update(
            status=SlotStatus.HELD, hold_expires_at=timezone.now() + timedelta(minutes=10)
        )
        return True


def test_negative_control_a_naive_claim_lets_several_threads_win(crowd):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite IMMEDIATE transactions serialise even the naive claim; the control needs PostgreSQL")
    doctor, patients = crowd
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(doctor, start=start, count=10)
    most_winners = 0
    for slot in slots:
        results = race([(lambda p=p, s=slot: naive_claim(s.pk, p)) for p in patients])
        most_winners = max(most_winners, sum(1 for kind, won in results if kind == "ok" and won))
    assert most_winners > 1, "the harness did not produce a race; the main test would prove nothing"


def test_expiry_racing_a_late_payment_ends_consistent(crowd):
    doctor, patients = crowd
    start = (timezone.now() + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
    for slot in publish_slots(doctor, start=start, count=4):
        patient = patients[0]
        appointment = svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))
        payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient)
        later = appointment.hold_expires_at + timedelta(seconds=30)
        results = race(
            [
                lambda later=later: svc.appointments_expire_lapsed_holds(now=later),
                lambda p=payment, later=later: svc.payment_succeeded(payment=p, now=later),
            ]
        )
        assert all(kind == "ok" for kind, _ in results), results
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CONFIRMED
        assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
        assert appointment.payments.get().status == "succeeded"
