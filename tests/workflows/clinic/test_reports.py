"""Every dashboard number against data computed by hand, and query counts that do not grow with the data.

March 2025 in the clinic's zone (Asia/Ho_Chi_Minh, UTC+7); every moment is at noon UTC so no row sits
on a day boundary.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from booking.models import AppointmentType, BlockedTime, Payment, Refund
from booking.services import blocked_time_create
from tests.factories import publish_slots
from tests.workflows.clinic.conftest import appointment, set_created
from workflows.clinic import reports
from workflows.clinic.dashboard import admin_context, doctor_context, staff_context

MARCH = reports.DateRange.parse("2025-03-01", "2025-03-31")
FEB_MARCH = reports.DateRange.parse("2025-02-01", "2025-03-31")


def noon(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=UTC)


def pay(appt, amount, *, paid_at, status="succeeded", refunds=()):
    payment = Payment.objects.create(
        appointment=appt,
        gateway="cash",
        amount=Decimal(amount),
        currency="VND",
        status=status,
        paid_at=paid_at,
        refunded_amount=sum((Decimal(a) for a, _ in refunds), Decimal("0")),
    )
    for amount_back, when in refunds:
        refund = Refund.objects.create(payment=payment, amount=Decimal(amount_back), reason="test")
        set_created(refund, when)
    return payment


@pytest.fixture
def march(dr_an, dr_bao, patient_dao, patient_lan):
    """The month described in the module docstring; returns the named rows."""
    t1 = AppointmentType.objects.create(name="Khám lần đầu", kind="initial", duration_minutes=30)
    t2 = AppointmentType.objects.create(name="Tái khám", kind="follow_up", duration_minutes=60)
    # Dr An, 10 March: four 30-minute slots 12:00-14:00 UTC; the last one lies in blocked time
    s1, s2, s3, s4 = publish_slots(dr_an, start=noon(3, 10), count=4)
    BlockedTime.objects.create(
        doctor=dr_an, starts_at=noon(3, 10, 13) + dt.timedelta(minutes=30), ends_at=noon(3, 10, 15)
    )
    (closed,) = publish_slots(dr_an, start=noon(3, 11), count=1)
    blocked_time_create(  # a slot blocked by the doctor: not published for patients
        doctor=dr_an, starts_at=closed.start, ends_at=closed.end, reason="", actor=None, now=noon(3, 1)
    )
    # Dr Bảo, 12 March: two 60-minute slots
    s5, s6 = publish_slots(dr_bao, start=noon(3, 12), count=2, minutes=60)
    # outside the range (April): a booked slot that must not count
    (april_slot,) = publish_slots(dr_an, start=noon(4, 2), count=1)

    rows = {
        "a1": appointment(dr_an, patient_dao, status="completed", slot=s1, created_at=noon(3, 5), appointment_type=t1),
        "a2": appointment(dr_an, patient_lan, status="no_show", slot=s2, created_at=noon(3, 5), mode="in_person"),
        "a3": appointment(
            dr_an,
            patient_dao,
            status="cancelled",
            slot=s3,
            created_at=noon(3, 6),
            cancelled_late=True,
            appointment_type=t1,
        ),
        "a5": appointment(dr_bao, patient_lan, status="confirmed", slot=s5, created_at=noon(3, 7), appointment_type=t2),
        "a6": appointment(dr_bao, patient_dao, status="expired", slot=s6, created_at=noon(3, 8)),
        "a7": appointment(dr_bao, patient_dao, status="completed", starts_at=noon(3, 20), created_at=noon(3, 9)),
        "a8": appointment(
            dr_an,
            patient_dao,
            status="pending_patient_confirmation",
            created_at=noon(3, 14),
            is_follow_up_suggestion=True,
        ),
        "a9": appointment(dr_an, patient_dao, status="cancelled", created_at=noon(3, 14), is_follow_up_suggestion=True),
        "a10": appointment(
            dr_an,
            patient_lan,
            status="confirmed",
            starts_at=noon(4, 5),
            created_at=noon(3, 15),
            is_follow_up_suggestion=True,
        ),
        "a11": appointment(
            dr_bao, patient_lan, status="cancelled", starts_at=noon(4, 10), created_at=noon(3, 20), appointment_type=t2
        ),
        "a12": appointment(dr_bao, patient_lan, status="cancelled", starts_at=noon(4, 11), created_at=noon(2, 20)),
        "a13": appointment(
            dr_bao,
            patient_dao,
            status="cancelled",
            starts_at=noon(4, 12),
            created_at=noon(3, 16),
            is_follow_up_suggestion=True,
        ),
        "april": appointment(dr_an, patient_lan, status="confirmed", slot=april_slot, created_at=noon(4, 1)),
    }
    pay(rows["a1"], 500000, paid_at=noon(3, 5))
    pay(rows["a5"], 300000, paid_at=noon(3, 12))
    pay(rows["a3"], 500000, paid_at=noon(3, 6), refunds=[(250000, noon(3, 9))])
    pay(rows["a11"], 200000, paid_at=noon(2, 25), status="refunded", refunds=[(200000, noon(3, 21))])
    pay(rows["a7"], 100000, paid_at=None, status="failed")
    pay(rows["a12"], 400000, paid_at=noon(1, 10))
    return {"t1": t1, "t2": t2, **rows}


def test_no_show_rate_counts_visits_that_started_in_the_range(march):
    outcomes = reports.visit_outcomes(start=MARCH.start, end=MARCH.end)
    # started in March: a1 completed, a2 no-show, a7 completed (a5 is confirmed, not an outcome)
    assert (outcomes.completed, outcomes.no_show) == (2, 1)
    assert outcomes.no_show_rate == pytest.approx(1 / 3)


def test_video_visits_completed_leave_out_in_person_and_unfinished_visits(march):
    assert reports.visit_outcomes(start=MARCH.start, end=MARCH.end).video_completed == 2  # a1, a7


def test_a_doctors_no_show_rate_is_their_own(march, dr_an, dr_bao):
    assert reports.visit_outcomes(start=MARCH.start, end=MARCH.end, doctor=dr_an).no_show_rate == pytest.approx(0.5)
    assert reports.visit_outcomes(start=MARCH.start, end=MARCH.end, doctor=dr_bao).no_show_rate == 0


def test_cancellation_rates_leave_out_expired_holds_and_unaccepted_suggestions(march):
    result = reports.cancellations(start=MARCH.start, end=MARCH.end)
    # created in March: a1 a2 a3 a5 a7 a10 a11 a13 (a6 expired, a8 open and a9 rejected suggestions
    # left out; a12 was created in February)
    assert result.appointments == 8
    assert result.cancelled == 3  # a3, a11, a13
    assert result.cancelled_late == 1  # a3
    assert result.cancellation_rate == pytest.approx(3 / 8)
    assert result.late_cancellation_rate == pytest.approx(1 / 3)


def test_follow_up_acceptance_is_accepted_over_decided(march):
    result = reports.follow_up_acceptance(start=MARCH.start, end=MARCH.end)
    # a8 still open; a9 rejected; a10 accepted; a13 accepted and cancelled later (still accepted)
    assert (result.suggested, result.decided, result.rejected, result.accepted) == (4, 3, 1, 2)
    assert result.acceptance_rate == pytest.approx(2 / 3)


def test_utilisation_per_doctor_counts_booked_minutes_over_published_minutes(march, dr_an, dr_bao):
    rows = {u.key: u for u in reports.utilisation_by_doctor(start=MARCH.start, end=MARCH.end)}
    # Dr An: s1 s2 s3 published (s4 in blocked time, the blocked slot by status), s1 s2 booked
    assert (rows[dr_an.pk].booked_minutes, rows[dr_an.pk].published_minutes) == (60, 90)
    # Dr Bảo: s5 s6 published, s5 booked (s6's appointment expired)
    assert (rows[dr_bao.pk].booked_minutes, rows[dr_bao.pk].published_minutes) == (60, 120)
    assert rows[dr_an.pk].rate == pytest.approx(2 / 3)
    assert rows[dr_bao.pk].rate == pytest.approx(0.5)
    assert reports.utilisation_total(list(rows.values())).rate == pytest.approx(120 / 210)


def test_utilisation_per_specialty_counts_a_doctor_in_each_of_their_specialties(march, general, paediatrics):
    rows = {u.key: u for u in reports.utilisation_by_specialty(start=MARCH.start, end=MARCH.end)}
    assert (rows[general.pk].booked_minutes, rows[general.pk].published_minutes) == (120, 210)
    assert (rows[paediatrics.pk].booked_minutes, rows[paediatrics.pk].published_minutes) == (60, 120)
    assert rows[general.pk].label == "Nội tổng quát"


def test_utilisation_per_specialty_names_each_specialty_in_the_readers_language(march, general, paediatrics):
    general.name, general.name_vi = "General medicine", "Nội tổng quát"
    general.save(update_fields=["name", "name_vi"])
    for language, expected in (("en", "General medicine"), ("vi", "Nội tổng quát")):
        with translation.override(language):
            rows = {u.key: u for u in reports.utilisation_by_specialty(start=MARCH.start, end=MARCH.end)}
        assert rows[general.pk].label == expected


def test_revenue_is_payments_received_minus_refunds_made_in_the_range(march, dr_an, dr_bao):
    result = reports.revenue(start=MARCH.start, end=MARCH.end)
    # received in March: 500k (a1) + 300k (a5) + 500k (a3); refunded in March: 250k (a3) + 200k (a11)
    assert result.total == {"VND": Decimal("850000")}
    assert result.received == {"VND": Decimal("1300000")}
    assert result.refunded == {"VND": Decimal("450000")}
    assert result.by_doctor == {(dr_an.pk, "VND"): Decimal("750000"), (dr_bao.pk, "VND"): Decimal("100000")}
    assert result.by_service == {
        (march["t1"].pk, "VND"): Decimal("750000"),
        (march["t2"].pk, "VND"): Decimal("100000"),
    }
    assert result.service_labels[march["t1"].pk] == "Khám lần đầu"


def test_revenue_by_month_puts_a_refund_in_the_month_it_was_paid_back(march):
    result = reports.revenue(start=FEB_MARCH.start, end=FEB_MARCH.end)
    assert result.by_month == {
        (dt.date(2025, 2, 1), "VND"): Decimal("200000"),  # a11 paid in February ...
        (dt.date(2025, 3, 1), "VND"): Decimal("850000"),  # ... and refunded in March
    }


def test_today_counts_visits_today_and_this_week_in_the_clinic_zone(dr_an, patient_dao, patient_lan):
    now = datetime(2025, 3, 12, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Ho Chi Minh City
    appointment(dr_an, patient_dao, status="confirmed", starts_at=datetime(2025, 3, 12, 8, 0, tzinfo=UTC))
    appointment(dr_an, patient_lan, status="completed", starts_at=datetime(2025, 3, 12, 1, 0, tzinfo=UTC))
    # 23:30 on Tuesday local is 16:30 UTC on the 11th: this week, not today
    appointment(dr_an, patient_lan, status="pending", starts_at=datetime(2025, 3, 11, 16, 30, tzinfo=UTC))
    # Monday of next week (local): not this week
    appointment(dr_an, patient_dao, status="confirmed", starts_at=datetime(2025, 3, 17, 2, 0, tzinfo=UTC))
    # cancelled today: not a visit
    appointment(dr_an, patient_dao, status="cancelled", starts_at=datetime(2025, 3, 12, 9, 0, tzinfo=UTC))
    live = appointment(
        dr_an,
        patient_dao,
        status="pending_payment",
        starts_at=datetime(2025, 3, 14, 2, 0, tzinfo=UTC),
        hold_expires_at=now + dt.timedelta(minutes=5),
    )
    appointment(
        dr_an,
        patient_lan,
        status="pending_payment",
        starts_at=datetime(2025, 3, 14, 3, 0, tzinfo=UTC),
        hold_expires_at=now - dt.timedelta(minutes=1),
    )
    counts = reports.today_counts(now=now)
    assert (counts.today, counts.week, counts.pending_confirmation, counts.live_holds) == (2, 3, 1, 1)
    assert [a.pk for a in reports.holds_expiring(now=now)] == [live.pk]


def test_date_range_parsing_falls_back_and_orders(settings):
    now = datetime(2025, 3, 12, 3, 0, tzinfo=UTC)
    assert reports.DateRange.parse("nonsense", None, now=now) == reports.DateRange.last_days(30, now=now)
    swapped = reports.DateRange.parse("2025-03-31", "2025-03-01", now=now)
    assert (swapped.first, swapped.last) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert MARCH.start == datetime(2025, 2, 28, 17, 0, tzinfo=UTC)  # midnight in Ho Chi Minh City


def _more_of_everything(dr_an, dr_bao, patient_dao, times: int):
    for i in range(times):
        slots = publish_slots(dr_an, start=noon(3, 22) + dt.timedelta(hours=3 * i), count=2)
        done = appointment(dr_an, patient_dao, status="completed", slot=slots[0], created_at=noon(3, 21))
        pay(done, 100000, paid_at=noon(3, 22), refunds=[(1000, noon(3, 23))])
        appointment(
            dr_bao, patient_dao, status="cancelled", starts_at=noon(3, 25), created_at=noon(3, 21), cancelled_late=True
        )
        appointment(dr_bao, patient_dao, status="pending", starts_at=noon(3, 26) + dt.timedelta(minutes=i))


def _queries(build) -> int:
    with CaptureQueriesContext(connection) as captured:
        build()
    return len(captured.captured_queries)


def test_dashboards_run_the_same_number_of_queries_for_more_data(
    rf, march, dr_an, dr_bao, patient_dao, admin_an, staff_binh
):
    request = rf.get("/admin/", {"start": "2025-03-01", "end": "2025-03-31"})
    request.user = admin_an
    now = noon(3, 26)
    small = _queries(lambda: admin_context(request, now=now))
    request.user = staff_binh
    small_staff = _queries(lambda: staff_context(request, now=now))
    request.user = dr_an.user
    small_doctor = _queries(lambda: doctor_context(request, now=now))

    _more_of_everything(dr_an, dr_bao, patient_dao, times=25)

    request.user = admin_an
    assert _queries(lambda: admin_context(request, now=now)) == small <= 20
    request.user = staff_binh
    assert _queries(lambda: staff_context(request, now=now)) == small_staff <= 10
    request.user = dr_an.user
    assert _queries(lambda: doctor_context(request, now=now)) == small_doctor <= 10


def test_the_admin_dashboard_shows_the_numbers(client, march, admin_an):
    client.force_login(admin_an)
    html = client.get("/admin/", {"start": "2025-03-01", "end": "2025-03-31"}).content.decode()
    assert "33.3%" in html  # no-show rate
    assert "37.5%" in html  # cancellation rate
    assert "66.7%" in html  # follow-up acceptance and Dr An's utilisation
    assert "850,000 ₫" in html  # revenue (grouped, đồng without cents)
    assert "Khám lần đầu" in html and "Nhi khoa" in html
