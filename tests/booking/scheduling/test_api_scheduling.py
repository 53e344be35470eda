"""/api/v1 scheduling endpoints for every role: a doctor's own schedules, the public search, free slots
and bookable dates. camelCase JSON, UTC plus local times, one error shape."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from booking.models import Availability, Slot
from tests.booking.scheduling.conftest import book
from tests.booking.scheduling.factories import DoctorFactory, future_date, make_availability

pytestmark = pytest.mark.django_db

SCHEDULES = "/api/v1/doctor/schedules"


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def patch(client, path, body):
    return client.patch(path, data=json.dumps(body), content_type="application/json")


def schedule_body(day, start="09:00", end="11:00", minutes=30):
    return {"date": day.isoformat(), "startTime": start, "endTime": end, "slotMinutes": minutes}


# --- who may manage schedules ------------------------------------------------------------------


def test_anonymous_callers_must_authenticate(client, dr_chau, now):
    availability = make_availability(dr_chau, now=now)
    for response in (
        client.get(SCHEDULES),
        post(client, SCHEDULES, schedule_body(future_date(3, doctor=dr_chau))),
        patch(client, f"{SCHEDULES}/{availability.pk}", {"slotMinutes": 20}),
        client.delete(f"{SCHEDULES}/{availability.pk}"),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("role", ["patient", "staff", "admin"])
def test_only_doctors_manage_schedules(client, personas, dr_chau, now, role):
    availability = make_availability(dr_chau, now=now)
    client.force_login(personas[role])
    for response in (
        client.get(SCHEDULES),
        post(client, SCHEDULES, schedule_body(future_date(3, doctor=dr_chau))),
        patch(client, f"{SCHEDULES}/{availability.pk}", {"slotMinutes": 20}),
        client.delete(f"{SCHEDULES}/{availability.pk}"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "forbidden",
            "message": "Only doctors can manage schedules.",
            "details": {},
        }
    assert availability.slots.count() == 6


def test_a_doctor_without_a_profile_is_told_so(client, doctor_chau):
    client.force_login(doctor_chau)
    response = client.get(SCHEDULES)
    assert response.status_code == 403 and "not been set up" in response.json()["error"]["message"]


# --- the doctor's own schedules ----------------------------------------------------------------


def test_doctor_creates_a_schedule_and_gets_its_slots(client, dr_chau):
    client.force_login(dr_chau.user)
    day = future_date(3, doctor=dr_chau)
    response = post(client, SCHEDULES, schedule_body(day, "09:00", "10:30"))
    assert response.status_code == 201, response.content
    body = response.json()
    availability = Availability.objects.get()
    assert body["id"] == availability.pk and body["doctorId"] == dr_chau.pk
    assert body["date"] == day.isoformat() and body["startTime"] == "09:00" and body["endTime"] == "10:30"
    assert body["slotMinutes"] == 30 and body["timeZone"] == "Asia/Ho_Chi_Minh"
    assert body["startsAt"] == f"{day.isoformat()}T02:00:00Z" and body["endsAt"] == f"{day.isoformat()}T03:30:00Z"
    assert [s["startTime"] for s in body["slots"]] == ["09:00", "09:30", "10:00"]
    first = body["slots"][0]
    assert first == {
        "id": availability.slots.order_by("start").first().pk,
        "doctorId": dr_chau.pk,
        "start": f"{day.isoformat()}T02:00:00Z",
        "end": f"{day.isoformat()}T02:30:00Z",
        "localStart": f"{day.isoformat()}T09:00:00+07:00",
        "localEnd": f"{day.isoformat()}T09:30:00+07:00",
        "date": day.isoformat(),
        "startTime": "09:00",
        "endTime": "09:30",
        "timeZone": "Asia/Ho_Chi_Minh",
        "status": "free",
        "isBooked": False,
        "mode": "video",
        "facility": None,
        "room": None,
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"date": "2020-01-01", "startTime": "09:00", "endTime": "10:00", "slotMinutes": 30}, "date_not_in_future"),
        ({"startTime": "10:00", "endTime": "09:00", "slotMinutes": 30}, "start_not_before_end"),
        ({"startTime": "09:00", "endTime": "09:30", "slotMinutes": 45}, "visit_does_not_fit"),
    ],
)
def test_rule_errors_are_400_with_a_clear_message(client, dr_chau, body, code):
    client.force_login(dr_chau.user)
    body = {"date": future_date(3, doctor=dr_chau).isoformat(), **body}
    response = post(client, SCHEDULES, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert not Availability.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"startTime": "25:00", "endTime": "10:00", "slotMinutes": 30},
        {"startTime": "09:00", "endTime": "10:00", "slotMinutes": "many"},
    ],
)
def test_malformed_input_is_422(client, dr_chau, body):
    client.force_login(dr_chau.user)
    response = post(client, SCHEDULES, {"date": future_date(3, doctor=dr_chau).isoformat(), **body})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_overlapping_schedule_is_409(client, dr_chau, now):
    existing = make_availability(dr_chau, days=3, now=now)
    client.force_login(dr_chau.user)
    response = post(client, SCHEDULES, schedule_body(existing.date, "11:00", "13:00"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "schedule_overlap"
    assert response.json()["error"]["details"] == {"availability_id": existing.pk}


def test_doctor_lists_only_their_own_schedules(client, dr_chau, dr_giang, now):
    near = make_availability(dr_chau, days=2, now=now)
    far = make_availability(dr_chau, days=9, now=now)
    make_availability(dr_giang, days=2, now=now)
    client.force_login(dr_chau.user)
    body = client.get(SCHEDULES).json()
    assert [s["id"] for s in body["items"]] == [near.pk, far.pk] and body["count"] == 2
    assert len(body["items"][0]["slots"]) == 6 and not body["items"][0]["isBooked"]
    ranged = client.get(SCHEDULES, {"from": far.date.isoformat(), "to": far.date.isoformat()}).json()
    assert [s["id"] for s in ranged["items"]] == [far.pk]
    assert client.get(SCHEDULES, {"from": far.date.isoformat(), "to": near.date.isoformat()}).status_code == 422


def test_patch_changes_times_and_regenerates_slots(client, dr_chau, now):
    availability = make_availability(dr_chau, days=3, start="09:00", end="10:00", now=now)
    client.force_login(dr_chau.user)
    response = patch(client, f"{SCHEDULES}/{availability.pk}", {"endTime": "11:00", "slotMinutes": 20})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["endTime"] == "11:00" and body["slotMinutes"] == 20
    assert [s["startTime"] for s in body["slots"]] == ["09:00", "09:20", "09:40", "10:00", "10:20", "10:40"]
    assert availability.slots.count() == 6


def test_patch_or_delete_of_booked_schedule_is_409(client, dr_chau, now):
    availability = make_availability(dr_chau, days=3, now=now)
    book(availability.slots.first())
    client.force_login(dr_chau.user)
    response = patch(client, f"{SCHEDULES}/{availability.pk}", {"startTime": "08:00"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "availability_booked"
    assert "already booked" in response.json()["error"]["message"]
    assert patch(client, f"{SCHEDULES}/{availability.pk}", {"delete": True}).status_code == 409
    assert client.delete(f"{SCHEDULES}/{availability.pk}").status_code == 409
    assert availability.slots.count() == 6


def test_another_doctors_schedule_is_not_found(client, dr_chau, dr_giang, now):
    theirs = make_availability(dr_giang, days=3, now=now)
    client.force_login(dr_chau.user)
    for response in (
        patch(client, f"{SCHEDULES}/{theirs.pk}", {"slotMinutes": 20}),
        patch(client, f"{SCHEDULES}/{theirs.pk}", {"delete": True}),
        client.delete(f"{SCHEDULES}/{theirs.pk}"),
        client.delete(f"{SCHEDULES}/999999"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert theirs.slots.count() == 6


def test_doctor_deletes_with_patch_or_delete(client, dr_chau, now):
    first = make_availability(dr_chau, days=3, now=now)
    second = make_availability(dr_chau, days=4, now=now)
    client.force_login(dr_chau.user)
    assert patch(client, f"{SCHEDULES}/{first.pk}", {"delete": True}).status_code == 204
    assert client.delete(f"{SCHEDULES}/{second.pk}").status_code == 204
    assert not Availability.objects.exists() and not Slot.objects.exists()


# --- public reads ------------------------------------------------------------------------------


@pytest.fixture
def listed(now, general_medicine, pediatrics):
    dung = DoctorFactory(first_name="Dũng", last_name="Phạm", specialties=[general_medicine], bio="Bác sĩ nội khoa")
    hanh = DoctorFactory(first_name="Hạnh", last_name="Võ", specialties=[pediatrics])
    DoctorFactory(first_name="Khoa", last_name="Đặng", specialties=[pediatrics])  # nothing scheduled
    make_availability(dung, days=2, now=now)
    make_availability(hanh, days=3, now=now)
    return {"dung": dung, "hanh": hanh}


@pytest.mark.parametrize("role", [None, "patient", "doctor"])
def test_anyone_searches_doctors(client, personas, listed, role):
    if role:
        client.force_login(personas[role])
    response = client.get("/api/v1/doctors")
    assert response.status_code == 200
    body = response.json()
    assert [d["name"] for d in body["items"]] == ["Dũng Phạm", "Hạnh Võ"]
    assert (body["count"], body["limit"], body["offset"]) == (2, 20, 0)
    dung = body["items"][0]
    slot = listed["dung"].slots.order_by("start").first()
    assert dung["nextFreeSlot"]["start"] == slot.start.isoformat().replace("+00:00", "Z")
    assert dung["nextFreeSlot"]["localStart"].endswith("+07:00")
    assert dung["specialties"] == [
        {"id": dung["specialties"][0]["id"], "name": "Nội tổng quát", "slug": "noi-tong-quat"}
    ]
    assert dung["consultationFee"] == "300000.00" and dung["currency"] == "VND"
    assert dung["bio"] == "Bác sĩ nội khoa" and dung["timeZone"] == "Asia/Ho_Chi_Minh"


def test_search_filters_and_pages(client, listed):
    assert [d["name"] for d in client.get("/api/v1/doctors", {"q": "dung"}).json()["items"]] == ["Dũng Phạm"]
    assert [d["name"] for d in client.get("/api/v1/doctors", {"specialty": "nhi-khoa"}).json()["items"]] == ["Hạnh Võ"]
    page = client.get("/api/v1/doctors", {"offset": 1, "limit": 1}).json()
    assert [d["name"] for d in page["items"]] == ["Hạnh Võ"] and page["count"] == 2
    assert client.get("/api/v1/doctors", {"offset": -1}).status_code == 422
    assert client.get("/api/v1/doctors", {"limit": 500}).status_code == 422
    assert client.get("/api/v1/doctors", {"offset": 10**30}).status_code == 422


def test_free_slots_of_a_doctor_are_public(client, listed, now):
    dung = listed["dung"]
    slots = list(dung.slots.order_by("start"))
    book(slots[0])
    day = slots[0].start.astimezone(dung.zone).date()
    response = client.get(f"/api/v1/doctor/{dung.pk}/schedules", {"from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["doctorId"] == dung.pk and body["timeZone"] == "Asia/Ho_Chi_Minh"
    assert body["fromDate"] == body["toDate"] == day.isoformat()
    assert [s["id"] for s in body["slots"]] == [s.pk for s in slots[1:]]
    assert all(s["status"] == "free" and not s["isBooked"] for s in body["slots"])
    default = client.get(f"/api/v1/doctor/{dung.pk}/schedules").json()
    assert len(default["slots"]) == 5


def test_free_slot_queries_are_checked(client, listed):
    dung = listed["dung"]
    today = dt.date.today()
    too_long = {"from": today.isoformat(), "to": (today + dt.timedelta(days=62)).isoformat()}
    assert client.get(f"/api/v1/doctor/{dung.pk}/schedules", too_long).status_code == 422
    backwards = {"from": today.isoformat(), "to": (today - dt.timedelta(days=1)).isoformat()}
    assert client.get(f"/api/v1/doctor/{dung.pk}/schedules", backwards).status_code == 422
    assert client.get(f"/api/v1/doctor/{dung.pk}/schedules", {"from": "soon"}).status_code == 422


def test_inactive_or_unknown_doctors_are_not_found(client, listed):
    hanh = listed["hanh"]
    hanh.is_active = False
    hanh.save()
    for path in (
        f"/api/v1/doctor/{hanh.pk}/schedules",
        f"/api/v1/doctor/{hanh.pk}/available-dates",
        "/api/v1/doctor/999999/schedules",
    ):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_available_dates_for_a_month(client, listed):
    dung = listed["dung"]
    day = dung.slots.order_by("start").first().start.astimezone(dung.zone).date()
    response = client.get(f"/api/v1/doctor/{dung.pk}/available-dates", {"month": f"{day:%Y-%m}"})
    assert response.status_code == 200
    assert response.json() == {
        "doctorId": dung.pk,
        "month": f"{day:%Y-%m}",
        "timeZone": "Asia/Ho_Chi_Minh",
        "dates": [day.isoformat()],
    }
    for slot in dung.slots.all():
        book(slot)
    assert client.get(f"/api/v1/doctor/{dung.pk}/available-dates", {"month": f"{day:%Y-%m}"}).json()["dates"] == []
    for month in ("2027-13", "2027-1", "March"):
        assert client.get(f"/api/v1/doctor/{dung.pk}/available-dates", {"month": month}).status_code == 422


def test_the_openapi_schema_lists_the_scheduling_paths(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/doctor/schedules",
        "/api/v1/doctor/schedules/{availability_id}",
        "/api/v1/doctors",
        "/api/v1/doctor/{doctor_id}/schedules",
        "/api/v1/doctor/{doctor_id}/available-dates",
    ):
        assert path in paths


@pytest.mark.parametrize("role", [None, "patient", "doctor", "staff", "admin"])
def test_free_slots_and_dates_answer_every_role_alike(client, personas, listed, role):
    if role:
        client.force_login(personas[role])
    dung = listed["dung"]
    day = dung.slots.order_by("start").first().start.astimezone(dung.zone).date()
    slots = client.get(f"/api/v1/doctor/{dung.pk}/schedules")
    dates = client.get(f"/api/v1/doctor/{dung.pk}/available-dates", {"month": f"{day:%Y-%m}"})
    assert slots.status_code == dates.status_code == 200
    assert len(slots.json()["slots"]) == 6 and dates.json()["dates"] == [day.isoformat()]
