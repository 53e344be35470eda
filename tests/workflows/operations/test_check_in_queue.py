"""Check-in and the waiting-room queue: the front desk checks a patient in (only what the rulebook
allows), the visit gets the facility's next queue number for the day (unique, database-enforced), and
moves arrived → called → in consultation → done, logged with who and when, apart from the booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django_fsm_log.models import StateLog

from booking.models import Appointment, AppointmentStatus
from booking.rules import Action, NotAllowedNow, refusal
from core.errors import Conflict, PermissionDenied
from core.models import AuditLog
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user
from tests.workflows.operations.queue_helpers import room_at_facility, visit_at
from workflows.operations.models import CheckIn, QueueStatus
from workflows.operations.selectors import board_lines, queue_stats
from workflows.operations.services import (
    check_in_arrive,
    check_in_call,
    check_in_finish,
    check_in_start,
    queue_call_next,
)

S = AppointmentStatus
# a day in the clinic's zone (Asia/Ho_Chi_Minh, UTC+7): visits at 09:00 local are 02:00 UTC
NINE = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)
BEFORE = NINE - timedelta(minutes=20)


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


@pytest.fixture
def room(db):
    return room_at_facility()


@pytest.fixture
def an(db):
    return make_user("an.nguyen@example.test", "patient", first_name="Văn An", last_name="Nguyễn")


def patient(n):
    return make_user(f"p{n}@example.test", "patient", first_name=f"Thị {chr(65 + n)}", last_name="Trần")


def test_the_front_desk_checks_a_confirmed_visit_in_and_it_gets_the_first_number(doctor_binh, room, an, staff_binh):
    visit = visit_at(doctor_binh, an, room=room, start=NINE)
    check_in = check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE)
    assert (check_in.number, check_in.status, check_in.minutes_late) == (1, QueueStatus.ARRIVED, 0)
    assert (check_in.facility, check_in.room, check_in.doctor) == (room.facility, room, doctor_binh)
    assert check_in.initials == "N.V.A."
    assert Appointment.objects.get(pk=visit.pk).status == S.CONFIRMED  # the booking is left alone
    assert AuditLog.objects.filter(action="operations.check_in.arrived", actor=staff_binh).exists()


def test_numbers_count_per_facility_and_day(doctor_binh, room, staff_binh):
    other_doctor = make_doctor("chi.doctor@clinic.test")
    other_room = room_at_facility("Medbook Hai Bà Trưng", "1")
    numbers = []
    for n, (doctor, where) in enumerate([(doctor_binh, room), (other_doctor, room), (doctor_binh, other_room)]):
        visit = visit_at(doctor, patient(n), room=where, start=NINE + timedelta(minutes=30 * n))
        numbers.append(check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE).number)
    # the second doctor at the same facility continues its count; the other facility starts at 1
    assert numbers == [1, 2, 1]
    tomorrow = visit_at(doctor_binh, patient(5), room=room, start=NINE + timedelta(days=1))
    assert check_in_arrive(appointment=tomorrow, actor=staff_binh, now=BEFORE + timedelta(days=1)).number == 1


def test_the_database_refuses_a_number_twice_at_one_facility_on_one_day(doctor_binh, room, staff_binh):
    first = check_in_arrive(
        appointment=visit_at(doctor_binh, patient(1), room=room, start=NINE), actor=staff_binh, now=BEFORE
    )
    second = visit_at(doctor_binh, patient(2), room=room, start=NINE + timedelta(hours=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(
            appointment=second,
            doctor=doctor_binh,
            facility=room.facility,
            day=first.day,
            number=first.number,
            checked_in_at=BEFORE,
        )


def test_a_visit_is_checked_in_once(doctor_binh, room, an, staff_binh):
    visit = visit_at(doctor_binh, an, room=room, start=NINE)
    check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE)
    with pytest.raises(Conflict, match="already checked in"):
        check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE)
    assert CheckIn.objects.count() == 1


def test_arriving_after_the_start_time_records_the_minutes_late(doctor_binh, room, an, staff_binh):
    visit = visit_at(doctor_binh, an, room=room, start=NINE)
    check_in = check_in_arrive(appointment=visit, actor=staff_binh, now=NINE + timedelta(minutes=12, seconds=5))
    assert check_in.minutes_late == 13 and check_in.is_late
    on_the_minute = visit_at(doctor_binh, patient(1), room=room, start=NINE + timedelta(hours=1))
    assert check_in_arrive(appointment=on_the_minute, actor=staff_binh, now=NINE + timedelta(hours=1)).minutes_late == 0


@pytest.mark.parametrize(
    ("status", "mode", "now", "allowed"),
    [
        (S.CONFIRMED, "in_person", BEFORE, True),
        (S.PENDING, "in_person", BEFORE, True),  # paid, the doctor has not confirmed yet
        (S.PENDING_PAYMENT, "in_person", BEFORE, False),  # pays at the desk first
        (S.CANCELLED, "in_person", BEFORE, False),
        (S.COMPLETED, "in_person", BEFORE, False),
        (S.CONFIRMED, "video", BEFORE, False),
        (S.CONFIRMED, "in_person", BEFORE - timedelta(days=1), False),  # the day before
        (S.CONFIRMED, "in_person", NINE + timedelta(hours=15), False),  # 17:00 UTC: 00:00 the next local day
    ],
)
def test_only_paid_in_person_visits_of_today_can_be_checked_in(
    doctor_binh, room, an, staff_binh, status, mode, now, allowed
):
    visit = visit_at(doctor_binh, an, room=room, start=NINE, status=status)
    if mode == "video":
        Appointment.objects.filter(pk=visit.pk).update(mode="video")
        visit.refresh_from_db()
    assert (refusal(Action.CHECK_IN, appointment=visit, user=staff_binh, now=now) is None) == allowed
    if allowed:
        assert check_in_arrive(appointment=visit, actor=staff_binh, now=now).number == 1
    else:
        with pytest.raises(NotAllowedNow):
            check_in_arrive(appointment=visit, actor=staff_binh, now=now)


def test_only_the_front_desk_checks_patients_in(doctor_binh, room, an, admin_an):
    visit = visit_at(doctor_binh, an, room=room, start=NINE)
    for who in (doctor_binh.user, an):
        with pytest.raises(PermissionDenied):
            check_in_arrive(appointment=visit, actor=who, now=BEFORE)
    assert check_in_arrive(appointment=visit, actor=admin_an, now=BEFORE).number == 1


def test_a_visit_moves_through_the_queue_and_each_step_is_logged_with_who_and_when(doctor_binh, room, an, staff_binh):
    check_in = check_in_arrive(
        appointment=visit_at(doctor_binh, an, room=room, start=NINE), actor=staff_binh, now=BEFORE
    )
    doctor = doctor_binh.user
    called = check_in_call(check_in=check_in, actor=doctor, now=BEFORE + timedelta(minutes=7))
    assert (called.status, called.called_by, called.called_at) == (
        QueueStatus.CALLED,
        doctor,
        BEFORE + timedelta(minutes=7),
    )
    with pytest.raises(Conflict):
        check_in_finish(check_in=called, actor=doctor)  # not in consultation yet
    started = check_in_start(check_in=called, actor=doctor, now=BEFORE + timedelta(minutes=9))
    done = check_in_finish(check_in=started, actor=doctor, now=BEFORE + timedelta(minutes=25))
    assert done.status == QueueStatus.DONE and done.done_at == BEFORE + timedelta(minutes=25)
    log = StateLog.objects.for_(done).order_by("pk")
    assert [(row.transition, row.by_id) for row in log] == [
        ("call", doctor.pk),
        ("start_consultation", doctor.pk),
        ("finish", doctor.pk),
    ]
    assert Appointment.objects.get(pk=check_in.appointment_id).status == S.CONFIRMED


def test_another_doctor_and_patients_cannot_move_the_queue(doctor_binh, room, an, staff_binh):
    check_in = check_in_arrive(
        appointment=visit_at(doctor_binh, an, room=room, start=NINE), actor=staff_binh, now=BEFORE
    )
    stranger = make_doctor("chi.doctor@clinic.test")
    for who in (stranger.user, an):
        with pytest.raises(PermissionDenied):
            check_in_call(check_in=check_in, actor=who)
        with pytest.raises(PermissionDenied):
            queue_call_next(doctor=doctor_binh, actor=who, now=BEFORE)
    assert CheckIn.objects.get(pk=check_in.pk).status == QueueStatus.ARRIVED
    assert check_in_call(check_in=check_in, actor=staff_binh).status == QueueStatus.CALLED  # the desk can call


def test_call_next_calls_the_doctors_earliest_booked_waiting_patient(doctor_binh, room, staff_binh):
    other = make_doctor("chi.doctor@clinic.test")
    late_booking = visit_at(doctor_binh, patient(1), room=room, start=NINE + timedelta(hours=1))
    early_booking = visit_at(doctor_binh, patient(2), room=room, start=NINE)
    others = visit_at(other, patient(3), room=room_at_facility("Medbook Quận 3", "2"), start=NINE - timedelta(hours=1))
    for visit in (late_booking, others, early_booking):  # arrival order
        check_in_arrive(appointment=visit, actor=staff_binh, now=BEFORE)
    first = queue_call_next(doctor=doctor_binh, actor=doctor_binh.user, now=BEFORE + timedelta(minutes=5))
    second = queue_call_next(doctor=doctor_binh, actor=doctor_binh.user, now=BEFORE + timedelta(minutes=6))
    assert (first.appointment_id, second.appointment_id) == (early_booking.pk, late_booking.pk)
    with pytest.raises(Conflict, match="Nobody is waiting"):
        queue_call_next(doctor=doctor_binh, actor=doctor_binh.user, now=BEFORE + timedelta(minutes=7))
    assert CheckIn.objects.get(appointment=others).status == QueueStatus.ARRIVED


def test_the_board_shows_initials_numbers_and_rooms_only(doctor_binh, room, an, staff_binh):
    check_in = check_in_arrive(
        appointment=visit_at(doctor_binh, an, room=room, start=NINE), actor=staff_binh, now=BEFORE
    )
    waiting = check_in_arrive(
        appointment=visit_at(doctor_binh, patient(1), room=room, start=NINE + timedelta(hours=1)),
        actor=staff_binh,
        now=BEFORE,
    )
    check_in_call(check_in=check_in, actor=doctor_binh.user, now=BEFORE + timedelta(minutes=1))
    lines = board_lines(room.facility, now=BEFORE + timedelta(minutes=2))
    assert [(line.number, line.initials, line.room) for line in lines["called"]] == [(1, "N.V.A.", "3")]
    assert [line.number for line in lines["waiting"]] == [waiting.number]


def test_the_dashboard_numbers_are_the_average_wait_and_late_arrivals_per_doctor_and_day(doctor_binh, room, staff_binh):
    on_time = check_in_arrive(
        appointment=visit_at(doctor_binh, patient(1), room=room, start=NINE), actor=staff_binh, now=BEFORE
    )
    late = check_in_arrive(
        appointment=visit_at(doctor_binh, patient(2), room=room, start=NINE + timedelta(minutes=30)),
        actor=staff_binh,
        now=NINE + timedelta(minutes=40),
    )
    check_in_call(check_in=on_time, actor=staff_binh, now=BEFORE + timedelta(minutes=10))
    check_in_call(check_in=late, actor=staff_binh, now=NINE + timedelta(minutes=60))
    [row] = queue_stats(days=1, now=NINE + timedelta(hours=2))
    assert (row.check_ins, row.called, row.average_wait, row.late, row.average_late) == (2, 2, 15, 1, 10)
    assert row.doctor == str(doctor_binh)
