"""A freed slot and a crowd: however many workers refill it at once, and however many patients try to
book it meanwhile, the slot ends with exactly one holder: one open offer, or one booking, never both.

The negative control offers with a naive read-then-write (no claim, no constraint): on PostgreSQL it
lets several workers believe they offered the slot, which proves the harness races (SQLite's
IMMEDIATE transactions serialise even the naive version).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from booking import services as booking_services
from booking.models import Appointment, Slot, SlotStatus
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import make_user, publish_slots
from workflows.operations.models import OfferStatus, SlotOffer
from workflows.operations.services import waitlist_join, waitlist_offer_accept, waitlist_refill

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

WORKERS = 8


@pytest.fixture
def waiting():
    """A doctor with free morning slots four days ahead, and eight patients waiting for that day."""
    doctor = make_doctor("race.doctor@clinic.test")
    day = (timezone.now() + timedelta(days=4)).date()
    start = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City
    patients = [make_user(f"waiter{i}@example.test", "patient", first_name=f"W{i}") for i in range(WORKERS)]
    for patient in patients:
        waitlist_join(patient=patient, doctor=doctor, date_from=day, date_to=day)
    return doctor, start, patients


def test_workers_refilling_at_once_make_exactly_one_offer_per_slot(waiting):
    doctor, start, patients = waiting
    slots = publish_slots(doctor, start=start, count=3)
    results = race([waitlist_refill for _ in range(WORKERS)])
    assert all(kind == "ok" for kind, _ in results), results
    for slot in slots:
        assert SlotOffer.objects.filter(slot=slot, status=OfferStatus.OPEN).count() == 1
    # three slots, three different patients, the first three who joined (first come, first served)
    offered = list(SlotOffer.objects.order_by("slot__start").values_list("entry__patient_id", flat=True))
    assert sorted(offered) == sorted(p.pk for p in patients[:3])
    assert sum(result["offered"] for _, result in results) == 3


def test_a_refill_racing_direct_bookings_leaves_one_holder(waiting):
    doctor, start, _ = waiting
    walk_ins = [make_user(f"walkin{i}@example.test", "patient", first_name=f"K{i}") for i in range(WORKERS)]
    for round_number, slot in enumerate(publish_slots(doctor, start=start, count=4)):
        workers = [lambda: waitlist_refill() for _ in range(WORKERS // 2)]
        workers += [
            (lambda p=p, s=slot: booking_services.appointment_book(slot=s, patient=p, actor=p, details=details_for(p)))
            for p in walk_ins[round_number : round_number + WORKERS // 2]
        ]
        results = race(workers)
        unexpected = [r for kind, r in results if kind == "error" and not isinstance(r, booking_services.SlotTaken)]
        assert unexpected == [], unexpected
        offers = SlotOffer.objects.filter(slot=slot, status=OfferStatus.OPEN).count()
        bookings = Appointment.objects.filter(slot=slot).count()
        assert offers + bookings == 1, (round_number, offers, bookings)
        assert Slot.objects.get(pk=slot.pk).status == SlotStatus.HELD


def test_accepting_races_a_booking_attempt_and_one_wins(waiting):
    doctor, start, patients = waiting
    [slot] = publish_slots(doctor, start=start, count=1)
    waitlist_refill()
    offer = SlotOffer.objects.get()
    winner = offer.entry.patient
    walk_in = make_user("walkin@example.test", "patient", first_name="K")
    results = race(
        [
            lambda: waitlist_offer_accept(offer=offer, patient=winner, details=details_for(winner)),
            lambda: booking_services.appointment_book(
                slot=slot, patient=walk_in, actor=walk_in, details=details_for(walk_in)
            ),
        ]
    )
    assert results[0][0] == "ok", results  # the slot was held for the offer: the walk-in cannot take it
    assert results[1][0] == "error" and isinstance(results[1][1], booking_services.SlotTaken)
    assert list(Appointment.objects.filter(slot=slot).values_list("patient_id", flat=True)) == [winner.pk]


def naive_offer(slot_id, entry):
    """What the service must NOT do: read the slot, decide, then write without a claim or a constraint."""
    with transaction.atomic():
        slot = Slot.objects.get(pk=slot_id)
        if slot.status != SlotStatus.FREE:
            return False
        Slot.objects.filter(pk=slot_id).update(
            status=SlotStatus.HELD, hold_expires_at=timezone.now() + timedelta(minutes=15)
        )
        return True


def test_negative_control_a_naive_offer_lets_several_workers_offer_one_slot(waiting):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite IMMEDIATE transactions serialise even the naive offer; the control needs PostgreSQL")
    doctor, start, patients = waiting
    most = 0
    for slot in publish_slots(doctor, start=start, count=6):
        entries = [p.waitlist_entries.get() for p in patients]
        results = race([(lambda e=e, s=slot: naive_offer(s.pk, e)) for e in entries])
        most = max(most, sum(1 for kind, won in results if kind == "ok" and won))
    assert most > 1, "the harness did not produce a race; the main tests would prove nothing"
