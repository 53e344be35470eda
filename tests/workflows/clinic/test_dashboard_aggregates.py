"""The dashboard's SQL aggregates (issue 19: one read of the period, sums done by the database, SQLite's
dates and lengths computed natively) against the same figures counted by hand in Python over every
row, on small random data: slots of several lengths, booked and not, in and out of blocked time,
appointments of every status, payments and refunds across two months."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking.models import SLOT_OCCUPYING, Appointment, BlockedTime, Payment, Refund, Slot, SlotStatus
from booking.rules import available_actions
from tests.factories import publish_slots
from tests.workflows.clinic.conftest import appointment, make_doctor_for, set_created
from workflows.clinic import reports
from workflows.clinic.dashboard import DASHBOARD_ACTIONS, _actions

pytestmark = pytest.mark.django_db

MARCH = reports.DateRange.parse("2025-03-01", "2025-03-31")
STATUSES = [
    "pending_payment",
    "pending",
    "confirmed",
    "completed",
    "no_show",
    "cancelled",
    "expired",
    "pending_patient_confirmation",
]


@pytest.fixture
def mixed(dr_an, dr_bao, patient_dao, patient_lan):
    """Random rows around March 2025 (fixed seed): returns the doctors."""
    rng = random.Random(19)
    dr_cuc = make_doctor_for("cuc.doctor@clinic.test", first_name="Cúc", last_name="Phan")  # no specialty
    doctors = [dr_an, dr_bao, dr_cuc]
    patients = [patient_dao, patient_lan]
    for doctor in doctors:
        # late February to early April: slots on both sides of the period's edges, 20, 30 and 45 minutes
        for day in (27, 1, 5, 12, 19, 31, 33):
            month, dom = (2, day) if day > 26 and day < 31 else (3, day) if day <= 31 else (4, day - 31)
            minutes = rng.choice([20, 30, 45])
            hour = 16 if day == 31 else rng.choice([1, 3, 5])  # 16:00 UTC on the 31st: 1 April locally
            slots = publish_slots(
                doctor, start=datetime(2025, month, dom, hour, 0, tzinfo=UTC), count=4, minutes=minutes
            )
            for slot in slots:
                roll = rng.random()
                if roll < 0.1:
                    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BLOCKED)
                    continue
                if roll < 0.6:
                    status = rng.choice([s for s in STATUSES if s != "pending_patient_confirmation"])
                    appointment(doctor, rng.choice(patients), status=status, slot=slot)
                    if status not in SLOT_OCCUPYING and rng.random() < 0.5:  # rebooked after a cancellation
                        appointment(doctor, rng.choice(patients), status=rng.choice(SLOT_OCCUPYING), slot=slot)
            if rng.random() < 0.7:  # blocked time over part of the run (some slots booked, some free)
                first = slots[rng.randrange(4)]
                BlockedTime.objects.create(
                    doctor=doctor, starts_at=first.start + dt.timedelta(minutes=5), ends_at=slots[-1].end
                )
    # appointments without slots, made (created) at random times in and around March
    for _ in range(60):
        doctor = rng.choice(doctors)
        status = rng.choice(STATUSES)
        suggestion = status == "pending_patient_confirmation" or rng.random() < 0.15
        starts_at = (
            None
            if status == "pending_patient_confirmation" or (suggestion and rng.random() < 0.5)
            else (datetime(2025, 2, 20, tzinfo=UTC) + dt.timedelta(hours=rng.randrange(24 * 50)))
        )
        if starts_at is None and status in SLOT_OCCUPYING:
            status = "cancelled"
        row = appointment(
            doctor,
            rng.choice(patients),
            status=status,
            starts_at=starts_at,
            created_at=datetime(2025, 2, 15, tzinfo=UTC) + dt.timedelta(hours=rng.randrange(24 * 55)),
            is_follow_up_suggestion=suggestion,
            cancelled_late=status == "cancelled" and rng.random() < 0.5,
            mode=rng.choice(["video", "in_person"]),
        )
        if status in ("completed", "confirmed") and rng.random() < 0.8:
            paid_at = datetime(2025, 2, 25, tzinfo=UTC) + dt.timedelta(hours=rng.randrange(24 * 40))
            payment = Payment.objects.create(
                appointment=row,
                gateway="cash",
                amount=Decimal(rng.choice(["300000", "500000"])),
                currency=rng.choice(["VND", "VND", "USD"]),
                status="succeeded",
                paid_at=paid_at,
            )
            if rng.random() < 0.4:
                refund = Refund.objects.create(payment=payment, amount=Decimal("100000"), reason="test")
                set_created(refund, paid_at + dt.timedelta(days=rng.randrange(20)))
    return doctors


def by_hand_utilisation(period: reports.DateRange):
    """Published and booked time per doctor and per specialty, slot by slot in Python."""
    published: dict[int, dt.timedelta] = defaultdict(dt.timedelta)
    booked: dict[int, dt.timedelta] = defaultdict(dt.timedelta)
    blocked = list(BlockedTime.objects.all())
    booked_slots = set(
        Appointment.objects.filter(status__in=reports.BOOKED_STATUSES, slot__isnull=False).values_list(
            "slot_id", flat=True
        )
    )
    for slot in Slot.objects.all():
        if not (period.start <= slot.start < period.end) or slot.status == SlotStatus.BLOCKED:
            continue
        is_booked = slot.pk in booked_slots
        inside = any(
            b.doctor_id == slot.doctor_id and b.starts_at < slot.end and b.ends_at > slot.start for b in blocked
        )
        if is_booked or not inside:
            published[slot.doctor_id] += slot.end - slot.start
        if is_booked:
            booked[slot.doctor_id] += slot.end - slot.start
    minutes = lambda td: int(td.total_seconds() // 60)  # noqa: E731
    doctors = {pk: (minutes(published[pk]), minutes(booked[pk])) for pk in published}
    specialty_time: dict[int, list[dt.timedelta]] = defaultdict(lambda: [dt.timedelta(), dt.timedelta()])
    from booking.models import Doctor

    for doctor in Doctor.objects.filter(pk__in=list(published)).prefetch_related("specialties"):
        for specialty in doctor.specialties.all():
            specialty_time[specialty.pk][0] += published[doctor.pk]
            specialty_time[specialty.pk][1] += booked[doctor.pk]
    specialties = {pk: (minutes(p), minutes(b)) for pk, (p, b) in specialty_time.items()}
    return doctors, specialties


@pytest.mark.parametrize(
    "first,last", [("2025-03-01", "2025-03-31"), ("2025-02-01", "2025-04-30"), ("2025-03-06", "2025-03-12")]
)
def test_utilisation_matches_a_count_slot_by_slot(mixed, first, last):
    period = reports.DateRange.parse(first, last)
    doctors, specialties = by_hand_utilisation(period)
    report = reports.utilisation(start=period.start, end=period.end)
    assert {u.key: (u.published_minutes, u.booked_minutes) for u in report.by_doctor} == doctors
    assert {u.key: (u.published_minutes, u.booked_minutes) for u in report.by_specialty} == specialties
    assert len(doctors) == 3 and any(b for _p, b in doctors.values())  # the data covers what is compared
    assert report.total.published_minutes == sum(p for p, _b in doctors.values())
    rates = [u.rate or 0 for u in report.by_doctor]
    assert rates == sorted(rates, reverse=True)


def test_utilisation_counts_a_slot_with_a_fraction_of_a_second_exactly(mixed):
    """SQLite sums whole-second slots by ``unixepoch`` (which drops a fraction of a second): a slot
    whose times carry one is summed exactly all the same."""
    slot = Slot.objects.filter(start__gte=MARCH.start, start__lt=MARCH.end).exclude(status=SlotStatus.BLOCKED).first()
    # starts a quarter of a second late: whole minutes drop by one only if that fraction is counted
    # (cut to whole seconds the slot would stay a full 30 minutes)
    Slot.objects.filter(pk=slot.pk).update(start=slot.start + dt.timedelta(microseconds=250_000))
    before = {u.key: u.published_minutes for u in reports.utilisation(start=MARCH.start, end=MARCH.end).by_doctor}
    doctors, _specialties = by_hand_utilisation(MARCH)
    assert before == {pk: published for pk, (published, _booked) in doctors.items()}


def test_cancellations_and_follow_ups_in_one_read_match_a_count_row_by_row(mixed, django_assert_num_queries):
    rows = [a for a in Appointment.objects.all() if MARCH.start <= a.created_at < MARCH.end]
    counted = [a for a in rows if a.status != "expired" and not (a.is_follow_up_suggestion and a.starts_at is None)]
    suggestions = [a for a in rows if a.is_follow_up_suggestion]
    with django_assert_num_queries(1):
        cancels, follow_ups = reports.made_in_period(start=MARCH.start, end=MARCH.end)
    assert cancels == reports.Cancellations(
        appointments=len(counted),
        cancelled=sum(a.status == "cancelled" for a in counted),
        cancelled_late=sum(a.status == "cancelled" and a.cancelled_late for a in counted),
    )
    assert follow_ups == reports.FollowUps(
        suggested=len(suggestions),
        decided=sum(a.status != "pending_patient_confirmation" for a in suggestions),
        rejected=sum(a.status == "cancelled" and a.starts_at is None for a in suggestions),
    )
    assert cancels.cancelled and follow_ups.decided
    assert cancels == reports.cancellations(start=MARCH.start, end=MARCH.end)
    assert follow_ups == reports.follow_up_acceptance(start=MARCH.start, end=MARCH.end)


@pytest.mark.parametrize("zone_name", ["Asia/Ho_Chi_Minh", "Europe/Berlin", "Asia/Kathmandu"])
def test_visits_by_day_matches_a_count_in_the_zone(mixed, zone_name):
    """Berlin changes its clocks on 30 March 2025 (the database's zone-aware day then); Kathmandu is
    UTC+5:45 (a shift that is not whole hours)."""
    zone = ZoneInfo(zone_name)
    period = reports.DateRange(first=dt.date(2025, 3, 1), last=dt.date(2025, 3, 31), zone=zone)
    expected = Counter(
        timezone.localtime(a.starts_at, zone).date()
        for a in Appointment.objects.filter(status__in=list(SLOT_OCCUPYING), starts_at__isnull=False)
        if period.start <= a.starts_at < period.end
    )
    days = reports.visits_by_day(period=period)
    assert [day for day, _n in days] == [period.first + dt.timedelta(days=i) for i in range(31)]
    assert {day: n for day, n in days if n} == dict(expected)
    assert sum(expected.values()) > 10


def test_fixed_offset_is_none_across_a_change_of_clocks():
    berlin = ZoneInfo("Europe/Berlin")
    assert reports.fixed_offset(berlin, dt.date(2025, 3, 1), dt.date(2025, 3, 29)) == 60
    assert reports.fixed_offset(berlin, dt.date(2025, 3, 1), dt.date(2025, 3, 30)) is None
    assert reports.fixed_offset(ZoneInfo("Asia/Kathmandu"), dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == 345


@pytest.mark.parametrize("zone_name", ["Asia/Ho_Chi_Minh", "Europe/Berlin"])
def test_revenue_matches_a_sum_payment_by_payment(mixed, zone_name):
    zone = ZoneInfo(zone_name)
    period = reports.DateRange(first=dt.date(2025, 2, 1), last=dt.date(2025, 4, 30), zone=zone)
    by_month: dict = defaultdict(Decimal)
    by_doctor: dict = defaultdict(Decimal)
    for payment in Payment.objects.select_related("appointment"):
        if payment.paid_at and period.start <= payment.paid_at < period.end:
            month = timezone.localtime(payment.paid_at, zone).date().replace(day=1)
            by_month[(month, payment.currency)] += payment.amount
            by_doctor[(payment.appointment.doctor_id, payment.currency)] += payment.amount
    for refund in Refund.objects.select_related("payment__appointment"):
        if period.start <= refund.created_at < period.end:
            month = timezone.localtime(refund.created_at, zone).date().replace(day=1)
            by_month[(month, refund.payment.currency)] -= refund.amount
            by_doctor[(refund.payment.appointment.doctor_id, refund.payment.currency)] -= refund.amount
    result = reports.revenue(start=period.start, end=period.end, zone=zone)
    assert result.by_month == dict(by_month)
    assert result.by_doctor == dict(by_doctor)
    assert len({month for month, _c in by_month}) >= 2


def test_a_staff_rows_buttons_are_the_rulebooks_available_actions(mixed, staff_binh):
    now = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
    shown = [action for action, *_rest in DASHBOARD_ACTIONS]
    seen = set()
    for row in Appointment.objects.select_related("doctor__user", "patient").filter(starts_at__isnull=False):
        allowed = available_actions(appointment=row, user=staff_binh, now=now, policy=row.doctor.policy())
        labels = [button["label"] for button in _actions(row, user=staff_binh, now=now)]
        assert labels == [label for action, _n, label, _v in DASHBOARD_ACTIONS if action in allowed]
        seen.update(action for action in shown if action in allowed)
    assert len(seen) >= 3  # the data reaches most of the buttons


def test_doctor_labels_name_doctors_as_str_does_in_one_query(mixed, django_assert_num_queries):
    with django_assert_num_queries(1):  # the names are read from the loaded fields, never one query each
        labels = reports.doctor_labels([doctor.pk for doctor in mixed])
    assert labels == {doctor.pk: str(doctor) for doctor in mixed}
