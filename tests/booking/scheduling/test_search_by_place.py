"""Finding doctors by where they see patients: facility, city, district and mode, in the selector and
GET /api/v1/doctors (a constant number of queries however many doctors and places), and the place of
each slot in the API's free slots and schedules."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from booking.selectors import doctor_search
from tests.booking.scheduling.factories import DoctorFactory, future_date
from tests.factories import FacilityFactory, RoomFactory, publish_slots

pytestmark = pytest.mark.django_db


def at(doctor, now, *, days=3, hour=9, **place):
    """Two slots ``days`` ahead at ``hour`` (UTC), at the given place (video without one)."""
    start = (now + dt.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return publish_slots(doctor, start=start, count=2, **place)


@pytest.fixture
def places(db):
    le_loi = FacilityFactory(name="Medbook Lê Lợi", slug="le-loi", district="Quận 1", city="Hồ Chí Minh")
    cau_giay = FacilityFactory(name="Medbook Cầu Giấy", slug="cau-giay", district="Cầu Giấy", city="Hà Nội")
    return {"le_loi": le_loi, "cau_giay": cau_giay, "room_3": RoomFactory(facility=le_loi, name="3")}


@pytest.fixture
def doctors(places, now):
    """Dr An: video only. Dr Bảo: Lê Lợi (room 3) and video. Dr Cúc: Cầu Giấy only."""
    an = DoctorFactory(first_name="An", last_name="Lê")
    bao = DoctorFactory(first_name="Bảo", last_name="Trần")
    cuc = DoctorFactory(first_name="Cúc", last_name="Phạm")
    at(an, now)
    at(bao, now, hour=2)
    at(bao, now, days=4, room=places["room_3"])
    at(cuc, now, facility=places["cau_giay"])
    return {"an": an, "bao": bao, "cuc": cuc}


def names(page) -> set[str]:
    return {doctor.user.first_name for doctor in page.doctors}


def test_the_selector_filters_by_mode_facility_city_and_district(doctors, places, now):
    assert names(doctor_search(now=now)) == {"An", "Bảo", "Cúc"}
    assert names(doctor_search(mode="video", now=now)) == {"An", "Bảo"}
    assert names(doctor_search(mode="in_person", now=now)) == {"Bảo", "Cúc"}
    assert names(doctor_search(facility="le-loi", now=now)) == {"Bảo"}
    assert names(doctor_search(facility=places["cau_giay"].pk, now=now)) == {"Cúc"}
    assert names(doctor_search(city="Hà Nội", now=now)) == {"Cúc"}
    assert names(doctor_search(district="Quận 1", city="Hồ Chí Minh", now=now)) == {"Bảo"}
    assert names(doctor_search(city="Hà Nội", mode="video", now=now)) == set()


def test_the_next_free_time_is_the_one_at_the_place_asked_for(doctors, now):
    bao = doctors["bao"]
    anywhere = next(d for d in doctor_search(now=now).doctors if d.pk == bao.pk)
    at_le_loi = doctor_search(facility="le-loi", now=now).doctors[0]
    assert at_le_loi.next_free_start > anywhere.next_free_start
    assert at_le_loi.next_free_start == bao.slots.filter(availability__room__isnull=False).order_by("start")[0].start


def test_an_unknown_mode_is_a_programming_error(db):
    with pytest.raises(ValueError):
        doctor_search(mode="teleport")


def test_the_api_filters_doctors_by_place(client, doctors, places):
    def found(**params):
        response = client.get("/api/v1/doctors", params)
        assert response.status_code == 200, response.content
        return {d["name"].split()[0] for d in response.json()["items"]}

    assert found(mode="in_person") == {"Bảo", "Cúc"}
    assert found(facility="le-loi") == {"Bảo"}
    assert found(city="Hà Nội") == {"Cúc"}
    assert found(district="Quận 1") == {"Bảo"}
    assert client.get("/api/v1/doctors", {"mode": "teleport"}).status_code == 422
    assert found(facility="9" * 40) == set()  # not an id the database could hold: no match, no 500


def test_the_api_search_query_count_does_not_grow_with_doctors_or_places(
    client, doctors, now, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20) as few:
        client.get("/api/v1/doctors", {"mode": "in_person", "city": "Hồ Chí Minh"})
    for _ in range(6):
        doctor = DoctorFactory()
        at(doctor, now, facility=FacilityFactory(city="Hồ Chí Minh"))
        at(doctor, now, days=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/doctors", {"mode": "in_person", "city": "Hồ Chí Minh"})
    assert response.json()["count"] == 7


def test_free_slots_say_where_each_visit_happens(client, doctors, places, django_assert_max_num_queries):
    bao = doctors["bao"]
    first = bao.slots.order_by("start")[0].start.astimezone(bao.zone).date()
    body = client.get(
        f"/api/v1/doctor/{bao.pk}/schedules",
        {"from": first.isoformat(), "to": (first + dt.timedelta(days=2)).isoformat()},
    ).json()
    video = [s for s in body["slots"] if s["mode"] == "video"]
    in_person = [s for s in body["slots"] if s["mode"] == "in_person"]
    assert len(video) == 2 and all(s["facility"] is None and s["room"] is None for s in video)
    assert len(in_person) == 2 and {s["room"] for s in in_person} == {"3"}
    facility = in_person[0]["facility"]
    assert facility["name"] == "Medbook Lê Lợi" and facility["city"] == "Hồ Chí Minh"
    assert facility["mapUrl"].startswith("https://www.openstreetmap.org/?mlat=")


def test_a_doctor_creates_a_schedule_in_a_room_through_the_api(client, dr_chau, places, now):
    client.force_login(dr_chau.user)
    day = future_date(3, doctor=dr_chau, now=now)
    body = {"date": day.isoformat(), "startTime": "09:00", "endTime": "10:00", "slotMinutes": 30}
    room = places["room_3"]
    response = client.post(
        "/api/v1/doctor/schedules", json.dumps(body | {"roomId": room.pk}), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert {(s["mode"], s["room"]) for s in response.json()["slots"]} == {("in_person", "3")}
    wrong = client.post(
        "/api/v1/doctor/schedules",
        json.dumps(
            body
            | {"date": (day + dt.timedelta(days=1)).isoformat(), "facilityId": places["cau_giay"].pk, "roomId": room.pk}
        ),
        content_type="application/json",
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["fields"] == ["roomId"]
    missing = client.post(
        "/api/v1/doctor/schedules", json.dumps(body | {"facilityId": 999999}), content_type="application/json"
    )
    assert missing.status_code == 422 and missing.json()["error"]["details"]["fields"] == ["facilityId"]
