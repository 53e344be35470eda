"""Facility pages on the public site: the facility's address, map link, phone and hours from the
booking record, the doctors with free times there, and schema.org MedicalClinic JSON-LD."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from booking.services import availability_create
from cms.models import FacilityIndexPage, FacilityPage
from tests.booking.scheduling.factories import DoctorFactory, future_date
from tests.cms.conftest import publish, translate
from tests.cms.test_public_pages import html_of, jsonld
from tests.factories import FacilityFactory, RoomFactory


@pytest.fixture
def le_loi(db):
    return FacilityFactory(
        name="Medbook Lê Lợi",
        slug="le-loi",
        address="12 Lê Lợi",
        district="Quận 1",
        city="Hồ Chí Minh",
        latitude=Decimal("10.776889"),
        longitude=Decimal("106.700806"),
        phone="+84 28 3822 1234",
        opening_hours="Mon–Fri 07:30–17:00\nSat 08:00–12:00",
    )


@pytest.fixture
def clinics(home):
    return publish(home, FacilityIndexPage(title="Our clinics", slug="clinics", show_in_menus=True))


@pytest.fixture
def le_loi_page(clinics, le_loi):
    return publish(
        clinics, FacilityPage(title="Medbook Lê Lợi", slug="le-loi", facility=le_loi, intro="Near Bến Thành.")
    )


@pytest.fixture
def dr_chau_at_le_loi(dr_chau, le_loi):
    """Dr Châu (video tomorrow, see tests/cms/conftest.py) also sees patients in room 3 at Lê Lợi."""
    availability_create(
        doctor=dr_chau,
        date=future_date(2, doctor=dr_chau),
        start_time=dt.time(14),
        end_time=dt.time(16),
        slot_minutes=30,
        actor=None,
        room=RoomFactory(facility=le_loi, name="3"),
    )
    return dr_chau


def test_the_facility_page_shows_the_place_and_the_doctors_free_there(
    client, le_loi_page, dr_chau_at_le_loi, chau_profile, pediatrics
):
    elsewhere = DoctorFactory(specialties=[pediatrics])  # video only: not listed
    availability_create(
        doctor=elsewhere,
        date=future_date(2, doctor=elsewhere),
        start_time=dt.time(9),
        end_time=dt.time(10),
        slot_minutes=30,
        actor=None,
    )
    html = html_of(client.get(le_loi_page.url))
    assert "12 Lê Lợi, Quận 1, Hồ Chí Minh" in html
    assert "https://www.openstreetmap.org/?mlat=10.776889&amp;mlon=106.700806" in html
    assert "+84 28 3822 1234" in html and "Sat 08:00–12:00" in html
    assert chau_profile.url in html and f"/portal/book/{dr_chau_at_le_loi.pk}/" in html
    assert f"/portal/book/{elsewhere.pk}/" not in html


def test_the_facility_page_carries_medical_clinic_json_ld(client, le_loi_page):
    [data] = jsonld(html_of(client.get(le_loi_page.url)))
    assert data["@type"] == "MedicalClinic"
    assert data["name"] == "Medbook Lê Lợi"
    assert data["url"].endswith(le_loi_page.url)
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "12 Lê Lợi",
        "addressLocality": "Quận 1",
        "addressRegion": "Hồ Chí Minh",
    }
    assert data["geo"] == {"@type": "GeoCoordinates", "latitude": 10.776889, "longitude": 106.700806}
    assert data["hasMap"].startswith("https://www.openstreetmap.org/?mlat=10.776889")
    assert data["telephone"] == "+84 28 3822 1234"
    assert data["openingHours"] == ["Mon–Fri 07:30–17:00", "Sat 08:00–12:00"]
    assert data["description"] == "Near Bến Thành."


def test_the_index_lists_live_pages_of_open_facilities(client, clinics, le_loi_page):
    closed = FacilityFactory(name="Closed clinic", is_active=False)
    publish(clinics, FacilityPage(title="Closed clinic", slug="closed", facility=closed))
    html = html_of(client.get(clinics.url))
    assert le_loi_page.url in html and "12 Lê Lợi, Quận 1" in html
    assert "Closed clinic" not in html


def test_the_facility_page_renders_in_vietnamese(client, clinics, le_loi_page, home):
    translate(home)
    translate(clinics)
    page_vi = translate(le_loi_page)
    client.cookies["django_language"] = "vi"
    html = html_of(client.get(page_vi.url))
    assert "Xem bản đồ" in html and "Bác sĩ còn lịch trống tại đây" in html
    assert "Hiện chưa có bác sĩ nào còn lịch trống tại phòng khám này." in html


def test_a_facility_has_one_page_per_language(clinics, le_loi_page, le_loi):
    second = FacilityPage(title="Again", slug="again", facility=le_loi, locale=le_loi_page.locale)
    with pytest.raises(ValidationError):
        clinics.add_child(instance=second)
