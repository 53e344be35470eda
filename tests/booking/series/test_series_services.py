"""Series of visits (issue 17 item 4) through the services: preview, all-or-nothing booking, who may
book, cancel and move one visit or "this and following", wall-clock times across DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentSeries, AppointmentStatus, BlockedTime, Slot, SlotStatus
from booking.slotting import resolve_local
from core.errors import InvalidInput, PermissionDenied
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.booking.series.conftest import book_series, slot_at

S = AppointmentStatus
pytestmark = pytest.mark.django_db


def local_times(visits, zone):
    return [v.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") for v in visits]


# --- preview ---------------------------------------------------------------------------------------


def test_preview_offers_the_free_slot_at_each_weekly_time(dr_binh, tuesdays):
    preview = svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=6)
    assert [item.number for item in preview] == [1, 2, 3, 4, 5, 6]
    assert all(item.free for item in preview)
    assert [item.slot.start for item in preview] == [tuesdays + dt.timedelta(weeks=k) for k in range(6)]


def test_preview_marks_a_taken_time_and_offers_the_nearest_free_time_that_day(
    dr_binh, tuesdays, first_tuesday, patient_dao
):
    third = first_tuesday + dt.timedelta(weeks=2)
    taken = slot_at(dr_binh, third, 9)
    svc.appointment_book(slot=taken, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    preview = svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=4)
    assert [item.free for item in preview] == [True, True, False, True]
    assert preview[2].slot is None
    assert preview[2].alternative == slot_at(dr_binh, third, 9, 30)
    assert [s.start for s in preview[2].alternatives] == [
        slot_at(dr_binh, third, h, m).start for h, m in ((9, 30), (10, 0), (10, 30))
    ]


def test_preview_treats_blocked_time_and_unpublished_weeks_as_taken(dr_binh, tuesdays, first_tuesday, front_desk):
    fourth = first_tuesday + dt.timedelta(weeks=3)
    svc.blocked_time_create(
        doctor=dr_binh,
        starts_at=resolve_local(fourth, dt.time(8), dr_binh.zone),
        ends_at=resolve_local(fourth, dt.time(12), dr_binh.zone),
        reason="Conference",
        actor=front_desk,
    )
    preview = svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=8)
    assert [item.free for item in preview] == [True, True, True, False, True, True, False, False]
    assert preview[3].alternatives == [] and preview[7].alternatives == []
    assert preview[3].published and not preview[6].published  # blocked, versus no hours published


# --- booking ---------------------------------------------------------------------------------------


def test_front_desk_books_a_series_in_one_step(dr_binh, tuesdays, patient_lan, front_desk):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=4)
    visits = list(series.visits.order_by("starts_at"))
    assert len(visits) == 4 and series.planned_count == 4 and series.created_by == front_desk
    assert {v.status for v in visits} == {S.CONFIRMED}
    assert [v.starts_at for v in visits] == [tuesdays + dt.timedelta(weeks=k) for k in range(4)]
    assert {v.slot.status for v in visits} == {SlotStatus.BOOKED}
    assert all(v.reason == "Physiotherapy, knee" and v.patient == patient_lan for v in visits)


def test_a_slot_taken_after_the_preview_books_nothing_and_names_the_visit(
    dr_binh, tuesdays, first_tuesday, patient_lan, patient_dao, front_desk
):
    preview = svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=4)
    snatched = preview[1].slot
    svc.appointment_book(slot=snatched, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    with pytest.raises(svc.SeriesNotBooked) as caught:
        svc.series_book(
            doctor=dr_binh,
            patient=patient_lan,
            actor=front_desk,
            slots=[item.slot for item in preview],
            details=details_for(patient_lan),
        )
    assert [item["slot"] for item in caught.value.details["failed"]] == [snatched.pk]
    assert "Nothing was booked" in str(caught.value)
    assert not Appointment.objects.filter(patient=patient_lan).exists()
    assert not AppointmentSeries.objects.exists()
    others = [item.slot.pk for item in preview if item.slot.pk != snatched.pk]
    assert set(Slot.objects.filter(pk__in=others).values_list("status", flat=True)) == {SlotStatus.FREE}


def test_a_blocked_slot_is_refused_at_booking_time(dr_binh, tuesdays, first_tuesday, patient_lan, front_desk):
    preview = svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=3)
    BlockedTime.objects.create(doctor=dr_binh, starts_at=preview[2].slot.start, ends_at=preview[2].slot.end)
    with pytest.raises(svc.SeriesNotBooked) as caught:
        svc.series_book(
            doctor=dr_binh,
            patient=patient_lan,
            actor=front_desk,
            slots=[item.slot for item in preview],
            details=details_for(patient_lan),
        )
    assert [item["slot"] for item in caught.value.details["failed"]] == [preview[2].slot.pk]
    assert Slot.objects.get(pk=preview[0].slot.pk).status == SlotStatus.FREE


def test_a_doctor_books_a_series_in_their_own_diary_for_their_own_patient(dr_binh, tuesdays, patient_lan):
    with pytest.raises(PermissionDenied):  # never seen by this doctor
        book_series(dr_binh, patient_lan, dr_binh.user, tuesdays, count=2)
    Appointment.objects.create(
        doctor=dr_binh,
        patient=patient_lan,
        first_name="Lan",
        last_name="Hoàng",
        phone="+84900000001",
        email=patient_lan.email,
        status=S.COMPLETED,
    )
    series = book_series(dr_binh, patient_lan, dr_binh.user, tuesdays, count=2)
    assert series.visits.count() == 2


def test_another_doctor_and_a_patient_cannot_book_a_series(dr_binh, tuesdays, patient_lan):
    other = make_doctor("giang.doctor@clinic.test")
    with pytest.raises(PermissionDenied):
        book_series(dr_binh, patient_lan, other.user, tuesdays, count=2)
    with pytest.raises(PermissionDenied):
        book_series(dr_binh, patient_lan, patient_lan, tuesdays, count=2)
    assert not Appointment.objects.exists()


# --- changing visits -------------------------------------------------------------------------------


def test_cancel_this_and_following_keeps_the_earlier_visits(dr_binh, tuesdays, patient_lan, front_desk):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=4)
    first, second, third, fourth = series.visits.order_by("starts_at")
    cancelled = svc.series_cancel(appointment=second, actor=front_desk, reason="Knee healed", following=True)
    assert [v.pk for v in cancelled] == [second.pk, third.pk, fourth.pk]
    statuses = dict(series.visits.values_list("pk", "status"))
    assert statuses == {first.pk: S.CONFIRMED, second.pk: S.CANCELLED, third.pk: S.CANCELLED, fourth.pk: S.CANCELLED}
    assert set(Slot.objects.filter(pk__in=[second.slot_id, third.slot_id]).values_list("status", flat=True)) == {
        SlotStatus.FREE
    }


def test_cancel_one_visit_of_a_series_leaves_the_others(dr_binh, tuesdays, patient_lan, front_desk):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first, second, third = series.visits.order_by("starts_at")
    svc.series_cancel(appointment=second, actor=front_desk, reason="Holiday")
    assert list(series.visits.order_by("starts_at").values_list("status", flat=True)) == [
        S.CONFIRMED,
        S.CANCELLED,
        S.CONFIRMED,
    ]


def test_move_one_visit_of_a_series(dr_binh, tuesdays, first_tuesday, patient_lan, front_desk):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first, second, third = series.visits.order_by("starts_at")
    later = slot_at(dr_binh, first_tuesday + dt.timedelta(weeks=1), 10)
    (moved,) = svc.series_reschedule(appointment=second, new_slot=later, actor=front_desk)
    assert moved.slot == later and moved.series == series
    assert local_times(series.visits.order_by("starts_at"), dr_binh.zone)[1].endswith("10:00")
    assert Appointment.objects.get(pk=third.pk).starts_at == third.starts_at


def test_move_this_and_following_shifts_each_later_visit_by_the_same_time(
    dr_binh, tuesdays, first_tuesday, patient_lan, front_desk
):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=4)
    first, second, _third, _fourth = series.visits.order_by("starts_at")
    target = slot_at(dr_binh, first_tuesday + dt.timedelta(weeks=1), 10, 30)
    moved = svc.series_reschedule(appointment=second, new_slot=target, actor=front_desk, following=True)
    assert len(moved) == 3
    times = [t[-5:] for t in local_times(series.visits.order_by("starts_at"), dr_binh.zone)]
    assert times == ["09:00", "10:30", "10:30", "10:30"]


def test_move_this_and_following_a_week_later_steps_into_the_series_own_slots(
    dr_binh, tuesdays, first_tuesday, patient_lan, front_desk
):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first = series.visits.order_by("starts_at").first()
    next_week = slot_at(dr_binh, first_tuesday + dt.timedelta(weeks=1), 9)  # the second visit's slot
    svc.series_reschedule(appointment=first, new_slot=next_week, actor=front_desk, following=True)
    assert [v.starts_at for v in series.visits.order_by("starts_at")] == [
        tuesdays + dt.timedelta(weeks=k) for k in (1, 2, 3)
    ]


def test_move_this_and_following_changes_nothing_when_one_later_time_is_taken(
    dr_binh, tuesdays, first_tuesday, patient_lan, patient_dao, front_desk
):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    before = list(series.visits.order_by("starts_at").values_list("pk", "slot_id"))
    blocker = slot_at(dr_binh, first_tuesday + dt.timedelta(weeks=2), 10)
    svc.appointment_book(slot=blocker, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    first = series.visits.order_by("starts_at").first()
    with pytest.raises(svc.SeriesChangeFailed) as caught:
        svc.series_reschedule(
            appointment=first, new_slot=slot_at(dr_binh, first_tuesday, 10), actor=front_desk, following=True
        )
    assert [item["slot"] for item in caught.value.details["failed"]] == [blocker.pk]
    assert list(series.visits.order_by("starts_at").values_list("pk", "slot_id")) == before


# --- times -----------------------------------------------------------------------------------------


def test_series_times_keep_the_wall_clock_across_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    first = dt.datetime(2027, 3, 23, 9, 0, tzinfo=berlin)  # summer time starts on 28 March 2027
    times = svc.series_times(first_start=first, count=3, interval_weeks=1, zone=berlin)
    assert [t.astimezone(berlin).strftime("%m-%d %H:%M") for t in times] == [
        "03-23 09:00",
        "03-30 09:00",
        "04-06 09:00",
    ]
    assert [t.astimezone(dt.UTC).hour for t in times] == [8, 7, 7]


def test_a_series_has_two_to_twenty_six_visits(dr_binh, tuesdays):
    with pytest.raises(InvalidInput, match="2 to 26"):
        svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=1)
    with pytest.raises(InvalidInput, match="2 to 26"):
        svc.series_preview(doctor=dr_binh, first_start=tuesdays, count=27)


def test_a_stranger_learns_nothing_about_a_series(dr_binh, tuesdays, first_tuesday, patient_lan, front_desk):
    from core.errors import NotFound

    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first = series.visits.order_by("starts_at").first()
    other = make_doctor("giang.doctor@clinic.test")
    with pytest.raises(NotFound):
        svc.series_cancel(appointment=first, actor=other.user, reason="x", following=True)
    with pytest.raises(NotFound):
        svc.series_reschedule(
            appointment=first, new_slot=slot_at(dr_binh, first_tuesday, 10), actor=other.user, following=True
        )
    assert series.visits.filter(status=S.CONFIRMED).count() == 3


def test_following_from_a_cancelled_visit_changes_nothing(dr_binh, tuesdays, first_tuesday, patient_lan, front_desk):
    from booking.rules import NotAllowedNow

    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first = series.visits.order_by("starts_at").first()
    svc.series_cancel(appointment=first, actor=front_desk, reason="Holiday")
    with pytest.raises(NotAllowedNow):
        svc.series_cancel(appointment=first, actor=front_desk, reason="again", following=True)
    assert series.visits.filter(status=S.CONFIRMED).count() == 2


def test_a_visit_of_a_series_is_paid_at_the_desk_once(dr_binh, tuesdays, patient_lan, front_desk):
    from booking import rules
    from booking.models import PaymentStatus
    from booking.rules import Action
    from core.errors import Conflict

    first, second = list(book_series(dr_binh, patient_lan, front_desk, tuesdays, count=2).visits.order_by("starts_at"))
    assert Action.MARK_PAID in rules.available_actions(appointment=first, user=front_desk, now=timezone.now())
    payment = svc.payment_mark_cash_paid(appointment=first, actor=front_desk)
    first.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount == first.amount_due > 0
    assert first.status == S.CONFIRMED  # the money is kept, not refunded; the visit stays as it was
    assert not payment.refunds.exists()
    # once paid there is nothing more to pay; the other visit of the series is still open to pay
    assert Action.MARK_PAID not in rules.available_actions(appointment=first, user=front_desk, now=timezone.now())
    with pytest.raises(Conflict):
        svc.payment_mark_cash_paid(appointment=first, actor=front_desk)
    assert Action.MARK_PAID in rules.available_actions(appointment=second, user=front_desk, now=timezone.now())
    # a patient does not record desk payments
    with pytest.raises(PermissionDenied):
        svc.payment_mark_cash_paid(appointment=second, actor=patient_lan)


def test_a_confirmed_visit_outside_a_series_still_has_nothing_to_pay(dr_binh, tuesdays, patient_lan, front_desk):
    from booking import rules
    from booking.rules import Action

    visit = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=2).visits.order_by("starts_at").first()
    Appointment.objects.filter(pk=visit.pk).update(series=None)
    visit.refresh_from_db()
    assert Action.MARK_PAID not in rules.available_actions(appointment=visit, user=front_desk, now=timezone.now())
