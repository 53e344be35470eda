"""Facilities and rooms in the admin: staff keep them (audited), the availability form takes a place
and shows a bad one next to its field, a room in use is refused on the form."""

from __future__ import annotations

import pytest

from booking.models import Availability, Facility, Room
from core.models import AuditLog
from tests.booking.scheduling.factories import future_date
from tests.factories import FacilityFactory, RoomFactory

pytestmark = pytest.mark.django_db

ROLES = ["admin", "staff", "doctor", "patient", "editor"]
PAGES = {
    "/admin/booking/facility/": {"admin", "staff"},
    "/admin/booking/facility/add/": {"admin", "staff"},
    "/admin/booking/room/": {"admin", "staff"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(PAGES))
def test_facility_admin_permission_matrix(client, personas, role, path):
    FacilityFactory()
    client.force_login(personas[role])
    response = client.get(path)
    if role in PAGES[path]:
        assert response.status_code == 200, f"{role} should open {path}"
    elif role in {"patient", "editor"}:
        assert response.status_code == 302 and "/login" in response["Location"]
    else:
        assert response.status_code == 403, f"{role} must not open {path}"


def no_photos() -> dict:
    """The management form of the facility's (empty) photo inline."""
    return {
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": "0",
        "photos-MIN_NUM_FORMS": "0",
        "photos-MAX_NUM_FORMS": "1000",
    }


def test_staff_add_a_facility_with_rooms_and_every_change_is_audited(client, staff_binh):
    client.force_login(staff_binh)
    response = client.post(
        "/admin/booking/facility/add/",
        {
            "name": "Medbook Thảo Điền",
            "slug": "thao-dien",
            "is_active": "on",
            "address": "20 Quốc Hương",
            "district": "Thủ Đức",
            "city": "Hồ Chí Minh",
            "latitude": "10.802000",
            "longitude": "106.735000",
            "phone": "+84 28 0000 0000",
            "opening_hours": "Mon–Sat 08:00–17:00",
            "rooms-TOTAL_FORMS": "2",
            "rooms-INITIAL_FORMS": "0",
            "rooms-MIN_NUM_FORMS": "0",
            "rooms-MAX_NUM_FORMS": "1000",
            "rooms-0-name": "A1",
            "rooms-0-is_active": "on",
            "rooms-1-name": "A2",
            "rooms-1-is_active": "on",
            **no_photos(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    facility = Facility.objects.get(slug="thao-dien")
    assert sorted(facility.rooms.values_list("name", flat=True)) == ["A1", "A2"]
    assert AuditLog.objects.filter(action="booking.facility.created", actor=staff_binh).count() == 1
    assert AuditLog.objects.filter(action="booking.room.created", actor=staff_binh).count() == 2
    listing = client.get("/admin/booking/facility/").content.decode()
    assert "https://www.openstreetmap.org/?mlat=10.802000&amp;mlon=106.735000" in listing


def availability_post(day, **extra):
    return {"date": day.isoformat(), "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30, **extra}


def test_a_doctor_puts_availability_in_a_room(client, dr_chau, now):
    room = RoomFactory()
    client.force_login(dr_chau.user)
    day = future_date(4, doctor=dr_chau, now=now)
    response = client.post("/admin/booking/availability/add/", availability_post(day, room=room.pk))
    assert response.status_code == 302
    availability = Availability.objects.get()
    assert (availability.mode, availability.facility, availability.room) == ("in_person", room.facility, room)


def test_the_form_shows_a_bad_place_next_to_its_field(client, dr_chau, now):
    facility, elsewhere = FacilityFactory(), FacilityFactory()
    room = RoomFactory(facility=elsewhere)
    client.force_login(dr_chau.user)
    day = future_date(4, doctor=dr_chau, now=now)
    response = client.post(
        "/admin/booking/availability/add/", availability_post(day, mode="in_person", facility=facility.pk, room=room.pk)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["room"] == ["This room is not in the chosen facility."]
    response = client.post("/admin/booking/availability/add/", availability_post(day, mode="in_person"))
    assert response.context["adminform"].form.errors["facility"] == ["Choose the facility where the visits happen."]
    assert not Availability.objects.exists()


def test_the_form_refuses_a_room_another_doctor_uses_then(client, dr_chau, dr_giang, staff_binh, now):
    room = RoomFactory()
    client.force_login(staff_binh)
    day = future_date(4, doctor=dr_chau, now=now)
    assert (
        client.post(
            "/admin/booking/availability/add/", availability_post(day, doctor=dr_chau.pk, room=room.pk)
        ).status_code
        == 302
    )
    response = client.post("/admin/booking/availability/add/", availability_post(day, doctor=dr_giang.pk, room=room.pk))
    assert response.status_code == 200
    assert "This room is already in use" in response.content.decode()
    assert Availability.objects.count() == 1


def test_a_closed_room_is_not_offered(client, dr_chau):
    open_room, closed_room = RoomFactory(name="open"), RoomFactory(name="closed", is_active=False)
    client.force_login(dr_chau.user)
    choices = client.get("/admin/booking/availability/add/").context["adminform"].form.fields["room"].queryset
    assert open_room in choices and closed_room not in choices
    assert Room.objects.count() == 2
