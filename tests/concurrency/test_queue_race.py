"""The front desk at rush hour: desks checking patients in at once at one facility give each a number
of its own (the unique (facility, day, number) index settles collisions, the loser takes the next), a
visit is checked in once however many desks press at once, and two "call next" presses call two
different patients.

The negative control numbers naively (max + 1, no retry): on PostgreSQL several desks pick the same
number and all but one hit the unique index, which proves the harness races (SQLite's IMMEDIATE
transactions serialise even the naive version).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from booking.rules import clinic_day
from core.errors import Conflict
from tests.booking.appointments.helpers import make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import RoomFactory, make_user
from tests.workflows.operations.queue_helpers import room_at_facility, visit_at
from workflows.operations.models import CheckIn, QueueStatus
from workflows.operations.services import check_in_arrive, queue_call_next

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

DESKS = 8
NINE = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City
BEFORE = NINE - timedelta(minutes=30)


@pytest.fixture
def morning(staff_binh):
    """Two doctors at one facility (a room each) with DESKS visits this morning, and a desk clerk per visit."""
    room = room_at_facility()
    rooms = [room, RoomFactory(facility=room.facility, name="4")]
    doctors = [make_doctor("race.binh@clinic.test"), make_doctor("race.chi@clinic.test")]
    visits = []
    for i in range(DESKS):
        patient = make_user(f"queue{i}@example.test", "patient", first_name=f"Q{i}", last_name="Lê")
        start = NINE + timedelta(minutes=30 * (i // 2))
        visits.append(visit_at(doctors[i % 2], patient, room=rooms[i % 2], start=start))
    clerks = [make_user(f"desk{i}@clinic.test", "staff") for i in range(DESKS)]
    return room, doctors, visits, clerks


def test_desks_checking_in_at_once_give_every_patient_a_number_of_their_own(morning):
    room, _doctors, visits, clerks = morning
    results = race(
        [
            (lambda v=v, c=c: check_in_arrive(appointment=v, actor=c, now=BEFORE))
            for v, c in zip(visits, clerks, strict=True)
        ]
    )
    assert all(kind == "ok" for kind, _ in results), results
    numbers = sorted(CheckIn.objects.filter(facility=room.facility).values_list("number", flat=True))
    assert numbers == list(range(1, DESKS + 1))


def test_a_visit_is_checked_in_once_however_many_desks_press(morning):
    _room, _doctors, visits, clerks = morning
    results = race([(lambda c=c: check_in_arrive(appointment=visits[0], actor=c, now=BEFORE)) for c in clerks])
    assert sum(1 for kind, _ in results if kind == "ok") == 1
    assert all(isinstance(error, Conflict) for kind, error in results if kind == "error"), results
    assert CheckIn.objects.count() == 1


def test_call_next_pressed_at_once_calls_different_patients(morning, staff_binh):
    _room, doctors, visits, _clerks = morning
    doctor = doctors[0]
    for visit in visits:
        check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE)
    mine = CheckIn.objects.filter(doctor=doctor).count()
    presses = [(lambda: queue_call_next(doctor=doctor, actor=doctor.user, now=NINE))] * 2
    presses += [(lambda: queue_call_next(doctor=doctor, actor=staff_binh, now=NINE))] * (mine - 2)
    results = race(presses)
    called = [row.pk for kind, row in results if kind == "ok"]
    assert all(kind == "ok" for kind, _ in results), results
    assert len(called) == len(set(called)) == mine
    assert not CheckIn.objects.filter(doctor=doctor, status=QueueStatus.ARRIVED).exists()


def naive_check_in(visit, clerk) -> bool:
    """Max + 1 without retrying: what the service would be without its retry on the unique index."""
    with transaction.atomic():
        day = clinic_day(BEFORE)
        last = CheckIn.objects.filter(facility=visit.facility, day=day).aggregate(last=Max("number"))["last"]
        CheckIn.objects.create(
            appointment=visit,
            doctor_id=visit.doctor_id,
            facility=visit.facility,
            day=day,
            number=(last or 0) + 1,
            checked_in_at=BEFORE,
            checked_in_by=clerk,
        )
    return True


def test_negative_control_naive_numbering_collides(morning):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite IMMEDIATE transactions serialise even the naive numbering; the control needs PostgreSQL")
    _room, _doctors, visits, clerks = morning
    results = race([(lambda v=v, c=c: naive_check_in(v, c)) for v, c in zip(visits, clerks, strict=True)])
    collisions = [error for kind, error in results if kind == "error" and isinstance(error, IntegrityError)]
    assert collisions, "the harness did not produce a race; the main tests would prove nothing"
