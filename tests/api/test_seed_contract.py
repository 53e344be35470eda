"""Seeds 000 and 001, literally: the request bodies and answer fields a client written from the seed
documents uses, next to Medbook's richer forms."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.services import patient_profile_update
from booking import services as svc
from booking.models import Appointment, AppointmentType, Voucher
from tests.api.clients import bearer_client, send
from tests.booking.appointments.helpers import completed_visit, details_for
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db

SEED_000_FIELDS = {"id", "patientId", "doctorId", "scheduleId", "status", "createdAt", "updatedAt"}
SEED_001_FIELDS = {"isFollowUpSuggestion", "suggestedFollowUpDate", "suggestedFollowUpTime", "followUpDiscount"}


@pytest.fixture
def staff_user(db):
    return make_user("front.desk@clinic.test", "staff")


def book(patient, slot) -> Appointment:
    return svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


# --- seed 000 -------------------------------------------------------------------------------------


def test_a_doctor_publishes_a_schedule_with_date_start_and_end_only(doctor_binh, patient_dao):
    """Seed 000's literal body: the schedule 09:00-10:00 is one bookable period (one slot)."""
    day = (timezone.localtime(timezone.now(), doctor_binh.zone) + timedelta(days=3)).date().isoformat()
    doctor = bearer_client(doctor_binh.user)
    response = send(doctor, "POST", "/api/v1/doctor/schedules", {"date": day, "startTime": "09:00", "endTime": "10:00"})
    assert response.status_code == 201, response.content
    schedule = response.json()
    assert (schedule["date"], schedule["startTime"], schedule["endTime"], schedule["slotMinutes"]) == (
        day,
        "09:00",
        "10:00",
        60,
    )
    assert schedule["isBooked"] is False
    (slot,) = schedule["slots"]
    assert (slot["startTime"], slot["endTime"], slot["isBooked"]) == ("09:00", "10:00", False)
    booked = send(
        bearer_client(patient_dao),
        "POST",
        "/api/v1/appointments",
        {"doctorId": doctor_binh.pk, "scheduleId": slot["id"]},
    )
    assert booked.status_code == 201, booked.content
    # a block that does not last is refused for what it is, not for its visit length
    response = send(doctor, "POST", "/api/v1/doctor/schedules", {"date": day, "startTime": "11:00", "endTime": "11:00"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "start_not_before_end"


def test_a_patient_books_with_doctor_and_schedule_only(patient_dao, slots):
    response = send(
        bearer_client(patient_dao),
        "POST",
        "/api/v1/appointments",
        {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= SEED_000_FIELDS and set(body) >= SEED_001_FIELDS
    assert (body["patientId"], body["doctorId"], body["scheduleId"]) == (
        patient_dao.pk,
        slots[0].doctor_id,
        slots[0].pk,
    )
    # the details came from the profile
    assert (body["firstName"], body["lastName"], body["phone"], body["email"]) == (
        "Đào",
        "Nguyễn",
        "+84900000001",  # stored in E.164
        patient_dao.email,
    )


def test_a_detail_missing_from_request_and_profile_is_a_422_naming_it(patient_dao, slots):
    patient_profile_update(user=patient_dao, actor=patient_dao, phone="")
    app = bearer_client(patient_dao)
    response = send(app, "POST", "/api/v1/appointments", {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["fields"] == ["phone"]
    assert "phone" in error["message"]
    # given in the request, it is used
    body = {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk, "phone": "+84 91 111 1111"}
    response = send(app, "POST", "/api/v1/appointments", body)
    assert response.status_code == 201 and response.json()["phone"] == "+84911111111"


def test_staff_book_for_a_patient_with_the_patients_profile(staff_user, patient_dao, slots):
    body = {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk, "patientId": patient_dao.pk}
    response = send(bearer_client(staff_user), "POST", "/api/v1/appointments", body)
    assert response.status_code == 201, response.content
    assert response.json()["patientId"] == patient_dao.pk and response.json()["phone"] == "+84900000001"


def test_a_doctor_confirms_with_status_confirmed(patient_dao, doctor_review):
    slot = publish_slots(doctor_review, start=timezone.now().replace(microsecond=0) + timedelta(hours=6), count=1)[0]
    appointment = book(patient_dao, slot)
    svc.payment_mark_cash_paid(appointment=appointment, actor=make_user("cashier@clinic.test", "staff"))
    doctor = bearer_client(doctor_review.user)
    path = f"/api/v1/doctor/appointments/{appointment.public_id}"
    response = send(doctor, "PATCH", path, {"status": "confirmed"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    schedules = doctor.get("/api/v1/doctor/schedules").json()["items"]
    assert schedules[0]["isBooked"] and schedules[0]["slots"][0]["isBooked"]


def test_a_doctor_marks_a_visit_done_after_it_started(patient_dao, doctor_binh, slots):
    appointment = book(patient_dao, slots[0])
    svc.payment_mark_cash_paid(appointment=appointment, actor=make_user("cashier@clinic.test", "staff"))
    path = f"/api/v1/doctor/appointments/{appointment.public_id}"
    with freeze_time(slots[0].start + timedelta(minutes=20)):
        response = send(bearer_client(doctor_binh.user), "PATCH", path, {"status": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"


def test_a_doctor_cancels_with_status_cancelled_and_a_reason(patient_dao, doctor_binh, slots):
    appointment = book(patient_dao, slots[0])
    doctor = bearer_client(doctor_binh.user)
    path = f"/api/v1/doctor/appointments/{appointment.public_id}"
    assert send(doctor, "PATCH", path, {"status": "cancelled"}).json()["error"]["code"] == "reason_required"
    response = send(doctor, "PATCH", path, {"status": "cancelled", "reason": "Ill today"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["cancelledBy"] == "doctor"


@pytest.mark.parametrize("body", [{}, {"status": "confirmed", "action": "confirm"}, {"status": "pending"}])
def test_a_patch_needs_exactly_one_known_status_or_action(patient_dao, doctor_binh, slots, body):
    appointment = book(patient_dao, slots[0])
    response = send(
        bearer_client(doctor_binh.user), "PATCH", f"/api/v1/doctor/appointments/{appointment.public_id}", body
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


def test_the_admin_forces_a_confirmation_with_status(patient_dao, slots, admin_an):
    appointment = book(patient_dao, slots[0])
    admin = bearer_client(admin_an)
    response = send(admin, "PATCH", f"/api/v1/appointments/{appointment.public_id}", {"status": "confirmed"})
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    response = send(admin, "PATCH", f"/api/v1/appointments/{appointment.public_id}", {"status": "cancelled"})
    assert response.json()["status"] == "cancelled" and response.json()["cancelledBy"] == "admin"


def test_only_admins_force(patient_dao, slots, staff_user):
    appointment = book(patient_dao, slots[0])
    response = send(
        bearer_client(staff_user), "PATCH", f"/api/v1/appointments/{appointment.public_id}", {"status": "confirmed"}
    )
    assert response.status_code == 403


def test_stats_take_start_date_and_end_date(patient_dao, slots, staff_user):
    book(patient_dao, slots[0])
    day = timezone.localtime(slots[0].start).date()
    staff = bearer_client(staff_user)
    inside = staff.get("/api/v1/stats/appointments", {"start_date": day.isoformat(), "end_date": day.isoformat()})
    assert inside.json()["total"] == 1 and inside.json()["by_status"]["pending_payment"] == 1
    before = (day - timedelta(days=1)).isoformat()
    assert staff.get("/api/v1/stats/appointments", {"start_date": before, "end_date": before}).json()["total"] == 0
    assert (
        staff.get("/api/v1/stats/appointments", {"start_date": day.isoformat(), "end_date": before}).status_code == 422
    )


# --- seed 001 -------------------------------------------------------------------------------------


@pytest.fixture
def follow_up_kind(db):
    return AppointmentType.objects.create(name="Tái khám", kind="follow_up", duration_minutes=30, mode="video")


@pytest.mark.parametrize("by", ["code", "id", "name"])
def test_a_doctor_suggests_with_the_seed_fields(patient_dao, doctor_binh, slots, follow_up_kind, by):
    completed_visit(doctor_binh, patient_dao)  # a follow-up continues a visit that took place
    kind = {"code": "follow_up", "id": follow_up_kind.pk, "name": "tái khám"}[by]
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    body = {
        "patientId": patient_dao.pk,
        "suggestedDate": day,
        "suggestedTime": "09:30",
        "appointmentType": kind,
        "notes": "Re-check",
    }
    response = send(bearer_client(doctor_binh.user), "POST", "/api/v1/appointments/suggest-follow-up", body)
    assert response.status_code == 201, response.content
    suggestion = response.json()
    assert suggestion["status"] == "pending_patient_confirmation" and suggestion["isFollowUpSuggestion"] is True
    assert (suggestion["suggestedFollowUpDate"], suggestion["suggestedFollowUpTime"]) == (day, "09:30")
    assert suggestion["followUpDiscount"] == 5 and suggestion["appointmentTypeId"] == follow_up_kind.pk


def test_an_unknown_visit_type_code_is_404(patient_dao, doctor_binh, slots):
    completed_visit(doctor_binh, patient_dao)
    body = {
        "patientId": patient_dao.pk,
        "suggestedDate": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "appointmentType": "surgery",
    }
    response = send(bearer_client(doctor_binh.user), "POST", "/api/v1/appointments/suggest-follow-up", body)
    assert response.status_code == 404


def test_a_patient_confirms_a_follow_up_with_final_date_and_time_alone(patient_dao, doctor_binh, slots):
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=timezone.localdate() + timedelta(days=1)
    )
    target = timezone.localtime(slots[2].start, doctor_binh.zone)
    app = bearer_client(patient_dao)
    path = f"/api/v1/appointments/{suggestion.public_id}/confirm-follow-up"
    nowhere = send(app, "POST", path, {"finalDate": target.date().isoformat(), "finalTime": "03:17"})
    assert nowhere.status_code == 404
    response = send(app, "POST", path, {"finalDate": target.date().isoformat(), "finalTime": target.strftime("%H:%M")})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending_payment" and body["scheduleId"] == slots[2].pk
    assert Decimal(body["discount"]) == Decimal(body["price"]) * Decimal("0.05")
    assert (body["appointmentDate"], body["startTime"]) == (target.date().isoformat(), target.strftime("%H:%M"))


@pytest.mark.parametrize("final_time", ["09:30+07:00", "09:30Z", 34200, "9:30", "25:00"])
def test_a_final_time_with_an_offset_or_a_number_is_a_422_naming_it(patient_dao, doctor_binh, final_time):
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=timezone.localdate() + timedelta(days=1)
    )
    body = {"finalDate": (timezone.localdate() + timedelta(days=1)).isoformat(), "finalTime": final_time}
    response = send(
        bearer_client(patient_dao), "POST", f"/api/v1/appointments/{suggestion.public_id}/confirm-follow-up", body
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["loc"][-1] == "finalTime"


def test_a_rejection_records_who_and_why(patient_dao, doctor_binh):
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=timezone.localdate() + timedelta(days=2)
    )
    response = send(
        bearer_client(patient_dao), "POST", f"/api/v1/appointments/{suggestion.public_id}/reject-follow-up", {}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelledBy"] == "patient" and body["cancellationReason"]


def test_the_voucher_answer_is_wrapped(patient_dao, slots):
    appointment = book(patient_dao, slots[0])
    Voucher.objects.create(code="WELCOME10", kind="percent", value=10)
    app = bearer_client(patient_dao)
    response = send(app, "POST", f"/api/v1/appointments/{appointment.public_id}/voucher", {"code": "WELCOME10"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["message"]
    assert body["data"]["id"] == str(appointment.public_id) and body["data"]["discount"] == "50000.00"
    wrong = send(app, "POST", f"/api/v1/appointments/{appointment.public_id}/voucher", {"code": "NOPE"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "voucher_invalid"
