"""Booking in person at a facility in a real browser: the patient filters doctors by "In person",
picks a time at the clinic, sees its address before holding it and on the visit page with a map link."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.booking.appointments.helpers import make_doctor
from tests.factories import FacilityFactory, RoomFactory, publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def doctor_at_le_loi(db):
    facility = FacilityFactory(
        name="Medbook Lê Lợi",
        address="12 Lê Lợi",
        district="Quận 1",
        city="Hồ Chí Minh",
        latitude=Decimal("10.776889"),
        longitude=Decimal("106.700806"),
    )
    video_only = make_doctor("video.browser@clinic.test")
    doctor = make_doctor("lan.browser@clinic.test")
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    publish_slots(video_only, start=start, count=2)
    publish_slots(doctor, start=start, count=2, room=RoomFactory(facility=facility, name="3"))
    return doctor


def test_a_patient_books_in_person_and_sees_the_address_with_a_map_link(browser_as, patient_dao, doctor_at_le_loi):
    page = browser_as(patient_dao)
    page.goto("/portal/doctors/")  # the one directory (the public site's)
    page.get_by_label("Visit", exact=True).select_option("in_person")
    page.get_by_role("button", name="Show doctors").click()
    assert page.locator(".doctor-result").count() == 1
    page.locator(".doctor-result a.quick-slot").first.click()  # the booking page, that time chosen
    place = page.locator(".visit-where")
    assert "12 Lê Lợi, Quận 1, Hồ Chí Minh" in place.inner_text() and "room 3" in place.inner_text()
    page.get_by_label("Phone").fill("+84 90 111 2222")
    page.get_by_label("Reason for the visit").fill("Check-up")
    page.get_by_role("button", name=re.compile("Hold this time")).click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    map_link = page.get_by_role("link", name="Open the map")
    assert map_link.get_attribute("href").startswith("https://www.openstreetmap.org/?mlat=10.776889&mlon=106.700806")
    assert "Medbook Lê Lợi" in page.locator(".visit-place").inner_text()
