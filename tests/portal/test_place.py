"""Patients see where a visit happens: each free time says video or the facility, the chosen time and
the appointment page show the facility, its room, its address and an OpenStreetMap link."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import FacilityFactory, RoomFactory, publish_slots

MAP = "https://www.openstreetmap.org/?mlat=10.776889&amp;mlon=106.700806"


@pytest.fixture
def room_3(db):
    facility = FacilityFactory(
        name="Medbook Lê Lợi",
        address="12 Lê Lợi",
        district="Quận 1",
        city="Hồ Chí Minh",
        latitude=Decimal("10.776889"),
        longitude=Decimal("106.700806"),
        phone="+84 28 3822 1234",
    )
    return RoomFactory(facility=facility, name="3")


@pytest.fixture
def both_modes(doctor_binh, room_3):
    """Video slots in the morning, slots in room 3 in the afternoon, three days ahead."""
    day = (timezone.now() + timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    video = publish_slots(doctor_binh, start=day, count=2)
    in_person = publish_slots(doctor_binh, start=day + timedelta(hours=4), count=2, room=room_3)
    return video, in_person


def test_the_day_lists_each_times_place_and_the_chosen_time_shows_the_address(client, doctor_binh, both_modes):
    video, in_person = both_modes
    day = timezone.localtime(video[0].start, doctor_binh.zone).date()
    html = client.get(f"/portal/book/{doctor_binh.pk}/", {"date": day.isoformat()}).content.decode()
    assert html.count('class="slot-mode">Video<') == 2 and html.count('class="slot-mode">Medbook Lê Lợi<') == 2
    html = client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": in_person[0].pk}).content.decode()
    assert "In person at" in html and "12 Lê Lợi, Quận 1, Hồ Chí Minh" in html and "room 3" in html
    assert MAP in html
    html = client.get(f"/portal/book/{doctor_binh.pk}/", {"slot": video[0].pk}).content.decode()
    assert "Video visit: you join from your Medbook portal." in html and MAP not in html


def test_the_appointment_page_shows_where_with_a_map_link_in_both_languages(client, patient_dao, both_modes):
    _video, in_person = both_modes
    appointment = svc.appointment_book(
        slot=in_person[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(patient_dao)
    html = client.get(f"/portal/appointments/{appointment.public_id}/").content.decode()
    assert "Medbook Lê Lợi" in html and "12 Lê Lợi, Quận 1, Hồ Chí Minh" in html and MAP in html
    assert "+84 28 3822 1234" in html
    client.cookies["django_language"] = "vi"
    html = client.get(f"/portal/appointments/{appointment.public_id}/").content.decode()
    assert "Xem bản đồ" in html and "phòng 3" in html


def test_a_video_appointment_page_shows_no_place(client, patient_dao, both_modes):
    video, _in_person = both_modes
    appointment = svc.appointment_book(
        slot=video[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    client.force_login(patient_dao)
    html = client.get(f"/portal/appointments/{appointment.public_id}/").content.decode()
    assert "openstreetmap" not in html and "Lê Lợi" not in html


def test_patients_filter_doctors_by_mode_city_district_and_facility(client, doctor_binh, both_modes, room_3):
    other = make_doctor("video.only@clinic.test")
    publish_slots(other, start=(timezone.now() + timedelta(days=4)).replace(minute=0, second=0, microsecond=0))
    everyone = client.get("/portal/doctors/", follow=True).content.decode()
    assert f"/portal/book/{doctor_binh.pk}/" in everyone and f"/portal/book/{other.pk}/" in everyone
    assert 'name="city"' in everyone and "Medbook Lê Lợi" in everyone  # the facility filter is offered
    assert 'name="district"' in everyone and ">Quận 1</option>" in everyone  # and the district filter
    for query in (
        {"mode": "in_person"},
        {"city": "Hồ Chí Minh"},
        {"district": "Quận 1"},
        {"facility": room_3.facility.slug},
    ):
        html = client.get("/portal/doctors/", query, follow=True).content.decode()
        assert f"/portal/book/{doctor_binh.pk}/" in html and f"/portal/book/{other.pk}/" not in html, query
    html = client.get("/portal/doctors/", {"mode": "video"}, follow=True).content.decode()
    assert f"/portal/book/{other.pk}/" in html


@pytest.mark.parametrize(
    "query", [{"mode": "in_person", "city": "Hồ Chí Minh"}, {"city": "Hồ Chí Minh", "district": "Quận 1"}]
)
def test_the_filtered_search_query_count_does_not_grow(client, django_assert_max_num_queries, db, query):
    start = timezone.now() + timedelta(days=2)
    for i in range(2):
        publish_slots(make_doctor(f"d{i}@clinic.test"), start=start, count=2, facility=FacilityFactory())
    with django_assert_max_num_queries(25) as few:
        client.get("/portal/doctors/", query, follow=True)
    for i in range(2, 10):
        publish_slots(make_doctor(f"d{i}@clinic.test"), start=start, count=2, facility=FacilityFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/portal/doctors/", query, follow=True)
    assert response.content.decode().count("/portal/book/") >= 10
