"""Input that cannot be stored or compared is a 4xx in the JSON error shape, never a 500 (issue 11
item 6, issue 13 item 4). Run on SQLite and on PostgreSQL (which refuses NUL characters and
out-of-range numbers that SQLite would take)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from booking import services as svc
from tests.api.clients import bearer_client, csrf_token, send, session_client
from tests.booking.appointments.helpers import details_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    return error


def field_of(error) -> str:
    return error["details"]["errors"][0]["loc"][-1]


@pytest.fixture
def staff(db):
    return bearer_client(make_user("front.desk@clinic.test", "staff"))


@pytest.fixture
def admin(admin_an):
    return bearer_client(admin_an)


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "2026-02-30", "20260101"])
def test_dates_out_of_range_or_impossible_are_422(client, doctor_binh, slots, staff, admin, day):
    doctor = bearer_client(doctor_binh.user)
    for response, field in (
        (client.get(f"/api/v1/doctor/{doctor_binh.pk}/schedules", {"from": day}), "from"),
        (client.get(f"/api/v1/doctor/{doctor_binh.pk}/schedules", {"to": day}), "to"),
        (doctor.get("/api/v1/doctor/schedules", {"to": day}), "to"),
        (doctor.get("/api/v1/doctor/appointments", {"end_date": day}), "end_date"),
        (staff.get("/api/v1/stats/appointments", {"start_date": day}), "start_date"),
        (staff.get("/api/v1/appointments/all", {"start_date": day}), "start_date"),
        (admin.get("/api/v1/stats/payments", {"end_date": day}), "end_date"),
        (admin.get("/api/v1/exports/appointments", {"start_date": day}), "start_date"),
        (
            send(
                doctor,
                "POST",
                "/api/v1/doctor/schedules",
                {"date": day, "startTime": "09:00", "endTime": "10:00", "slotMinutes": 30},
            ),
            "date",
        ),
    ):
        assert field_of(assert_json_error(response, 422, "validation_error")) == field


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "0000-01"])
def test_months_out_of_range_are_422(client, doctor_binh, month):
    response = client.get(f"/api/v1/doctor/{doctor_binh.pk}/available-dates", {"month": month})
    assert_json_error(response, 422, "validation_error")


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [{"offset": 10**20}, {"offset": 10**6 + 1}, {"offset": -1}, {"limit": 10**20}, {"limit": 0}]
)
def test_huge_or_negative_offsets_and_limits_are_422(client, patient_dao, staff, params):
    for response in (
        client.get("/api/v1/doctors", params),
        client.get("/api/v1/specialties", params),
        bearer_client(patient_dao).get("/api/v1/appointments", params),
        staff.get("/api/v1/appointments/all", params),
        staff.get("/api/v1/patients", params),
    ):
        assert field_of(assert_json_error(response, 422)) == next(iter(params))


def test_an_offset_past_the_end_is_an_empty_page(client):
    body = client.get("/api/v1/specialties", {"offset": 10**6}).json()
    assert body["items"] == [] and body["offset"] == 10**6


@pytest.mark.parametrize("value", [10**20, 2**63, -5, 0])
def test_identifiers_out_of_range_are_422(patient_dao, value):
    response = send(
        bearer_client(patient_dao), "POST", "/api/v1/appointments", {"doctorId": value, "scheduleId": value}
    )
    assert_json_error(response, 422, "validation_error")


def test_identifiers_in_paths_beyond_the_database_are_404_or_422(client, staff):
    for response in (client.get(f"/api/v1/doctor/{2**64}/schedules"), staff.get(f"/api/v1/payments/{2**64}")):
        assert response.status_code in {404, 422}
        assert_json_error(response, response.status_code)


# --- bodies ---------------------------------------------------------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64 * 1024)
@pytest.mark.parametrize(
    "path", ["/api/v1/appointments", "/api/v1/payments/webhooks/sandbox", "/api/v1/payments/webhooks/stripe"]
)
def test_bodies_over_the_upload_limit_are_413(patient_dao, path):
    big = {"reason": "x" * (128 * 1024)}
    assert_json_error(send(bearer_client(patient_dao), "POST", path, big), 413, "request_too_large")
    browser = session_client(patient_dao)
    token = csrf_token(browser)
    assert_json_error(send(browser, "POST", path, big, **{"X-CSRFToken": token}), 413, "request_too_large")


def test_multipart_without_a_boundary_is_a_4xx(patient_dao):
    app = bearer_client(patient_dao)
    response = app.generic("POST", "/api/v1/appointments", data=b"--x\r\n", content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    assert_json_error(response, response.status_code)
    browser = session_client(patient_dao)
    token = csrf_token(browser)
    response = browser.generic(
        "POST",
        "/api/v1/appointments",
        data=b"--x\r\n",
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
    )
    assert_json_error(response, 400, "bad_request")


def test_a_real_multipart_body_with_a_session_is_a_4xx_not_unreadable(patient_dao):
    browser = session_client(patient_dao)
    token = csrf_token(browser)
    response = browser.post("/api/v1/appointments", {"doctorId": "1"}, headers={"X-CSRFToken": token})
    assert 400 <= response.status_code < 500
    assert_json_error(response, response.status_code)


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"[]", b"null", b'"text"'])
def test_broken_json_is_a_4xx(patient_dao, raw):
    response = bearer_client(patient_dao).generic(
        "POST", "/api/v1/appointments", data=raw, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert_json_error(response, response.status_code)


# --- text -----------------------------------------------------------------------------------------


def test_nul_characters_in_body_text_are_422_naming_the_field(patient_dao, doctor_binh, slots):
    app = bearer_client(patient_dao)
    body = {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk, "reason": "cough\x00"}
    assert field_of(assert_json_error(send(app, "POST", "/api/v1/appointments", body), 422)) == "reason"
    assert field_of(assert_json_error(send(app, "PUT", "/api/v1/profile", {"firstName": "Đ\x00o"}), 422)) == "firstName"
    appointment = svc.appointment_book(
        slot=slots[1], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    path = f"/api/v1/appointments/{appointment.public_id}"
    for suffix, payload, field in (
        ("/cancel", {"reason": "\x00"}, "reason"),
        ("/voucher", {"code": "A\x00"}, "code"),
        ("/pay", {"gateway": "sand\x00box"}, "gateway"),
    ):
        assert field_of(assert_json_error(send(app, "POST", path + suffix, payload), 422)) == field


def test_nul_characters_in_query_text_are_422(client, staff):
    assert field_of(assert_json_error(client.get("/api/v1/doctors", {"q": "an\x00"}), 422)) == "q"
    assert field_of(assert_json_error(client.get("/api/v1/services", {"q": "\x00"}), 422)) == "q"
    assert field_of(assert_json_error(staff.get("/api/v1/patients", {"q": "\x00"}), 422)) == "q"
    assert field_of(assert_json_error(staff.get("/api/v1/payments", {"gateway": "\x00"}), 422)) == "gateway"


def test_a_nul_character_in_the_idempotency_key_is_refused(patient_dao, slots):
    body = {"doctorId": slots[0].doctor_id, "scheduleId": slots[0].pk}
    response = send(bearer_client(patient_dao), "POST", "/api/v1/appointments", body, **{"Idempotency-Key": "k\x00"})
    assert_json_error(response, 400, "idempotency_key_invalid")


# --- wall-clock times -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["09:00+07:00", "09:00Z", "09:00:00.000+00:00", 32400, 9.5, "9am", "24:00"])
def test_schedule_times_with_an_offset_or_as_numbers_are_422_naming_the_field(doctor_binh, value):
    doctor = bearer_client(doctor_binh.user)
    day = (timezone.localdate() + timedelta(days=5)).isoformat()
    body = {"date": day, "startTime": value, "endTime": "11:00", "slotMinutes": 30}
    assert field_of(assert_json_error(send(doctor, "POST", "/api/v1/doctor/schedules", body), 422)) == "startTime"
    body = {"date": day, "startTime": "09:00", "endTime": value, "slotMinutes": 30}
    assert field_of(assert_json_error(send(doctor, "POST", "/api/v1/doctor/schedules", body), 422)) == "endTime"


def test_a_suggested_time_with_an_offset_is_422(patient_dao, doctor_binh, slots):
    svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    body = {
        "patientId": patient_dao.pk,
        "suggestedDate": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "suggestedTime": "10:00-05:00",
    }
    response = send(bearer_client(doctor_binh.user), "POST", "/api/v1/appointments/suggest-follow-up", body)
    assert field_of(assert_json_error(response, 422)) == "suggestedTime"


@pytest.mark.parametrize("minutes", [0, 4, 481, 10**12])
def test_visit_lengths_out_of_range_are_422(doctor_binh, minutes):
    day = (timezone.localdate() + timedelta(days=5)).isoformat()
    body = {"date": day, "startTime": "09:00", "endTime": "11:00", "slotMinutes": minutes}
    response = send(bearer_client(doctor_binh.user), "POST", "/api/v1/doctor/schedules", body)
    assert field_of(assert_json_error(response, 422)) == "slotMinutes"
