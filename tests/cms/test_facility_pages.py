"""Facility pages on the public site: the facility's address, map link, phone and hours from the
booking record, its photos (in order, with alt text in the page's language), the doctors with free
times there, and schema.org MedicalClinic JSON-LD."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.images.tests.utils import get_test_image_file

from booking.models import FacilityPhoto
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


# --- photos ----------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def add_photo(facility, name: str, *, position: int, **fields) -> FacilityPhoto:
    return FacilityPhoto.objects.create(
        facility=facility,
        image=get_test_image_file(filename=f"{name}.png", size=(64, 48)),
        alt_text=f"The {name}",
        position=position,
        **fields,
    )


def test_the_facility_page_shows_its_photos_in_order_with_alt_text_lazily(client, media, le_loi_page, le_loi):
    waiting = add_photo(le_loi, "waiting-room", position=2, caption="Waiting room")
    front = add_photo(le_loi, "front", position=1, alt_text_vi="Mặt tiền")
    html = html_of(client.get(le_loi_page.url))
    [gallery] = re.findall(r'<ul class="facility-photos".*?</ul>', html, flags=re.S)
    images = re.findall(r"<img [^>]*>", gallery)
    assert [re.search(r'alt="([^"]*)"', img).group(1) for img in images] == ["The front", "The waiting-room"]
    assert f'src="{front.image.url}"' in images[0] and 'fetchpriority="high"' in images[0]  # the lead photo
    assert 'loading="lazy"' in images[1] and 'loading="lazy"' not in images[0]
    assert f'href="{waiting.image.url}"' in gallery and "<figcaption>Waiting room</figcaption>" in gallery


def test_the_photos_speak_the_pages_language(client, media, clinics, le_loi_page, le_loi, home):
    add_photo(le_loi, "front", position=0, alt_text_vi="Mặt tiền phòng khám", caption="Front", caption_vi="Mặt tiền")
    add_photo(le_loi, "hall", position=1)  # no Vietnamese yet: the English alt text rather than none
    translate(home)
    translate(clinics)
    page_vi = translate(le_loi_page)
    client.cookies["django_language"] = "vi"
    html = html_of(client.get(page_vi.url))
    assert 'alt="Mặt tiền phòng khám"' in html and "<figcaption>Mặt tiền</figcaption>" in html
    assert 'alt="The hall"' in html and 'aria-label="Hình ảnh phòng khám"' in html


def test_a_facility_without_photos_shows_no_gallery(client, le_loi_page):
    assert "facility-photos" not in html_of(client.get(le_loi_page.url))


def test_the_medical_clinic_json_ld_lists_every_photo(client, media, le_loi_page, le_loi):
    second = add_photo(le_loi, "hall", position=1)
    first = add_photo(le_loi, "front", position=0)
    [data] = jsonld(html_of(client.get(le_loi_page.url)))
    assert data["image"] == [f"http://testserver{first.image.url}", f"http://testserver{second.image.url}"]


def test_the_index_shows_each_clinics_first_photo(client, media, clinics, le_loi_page, le_loi):
    add_photo(le_loi, "hall", position=1)
    front = add_photo(le_loi, "front", position=0)
    html = html_of(client.get(clinics.url))
    [thumb] = re.findall(r'<img class="facility-thumb"[^>]*>', html)
    assert f'src="{front.image.url}"' in thumb and 'alt="The front"' in thumb and 'loading="lazy"' in thumb


def test_the_facility_pages_cost_the_same_queries_with_one_photo_or_five(client, media, clinics, le_loi_page, le_loi):
    def queries(url) -> int:
        client.get(url)  # warm the per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    add_photo(le_loi, "p0", position=0)
    one = (queries(le_loi_page.url), queries(clinics.url))
    for i in range(1, 5):
        add_photo(le_loi, f"p{i}", position=i)
    assert (queries(le_loi_page.url), queries(clinics.url)) == one
