"""One directory, one result card: what a card shows (photo or initials, name, specialties, languages,
fee, rating from three, place, next free time and quick slots into the booking page), the filters
(specialty, mode, date, clinic, city), the hero search, the one way in from every "Find a doctor"
link, and a query count that does not grow with the number of doctors."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from booking.services import availability_create
from cms.models import DoctorProfilePage
from tests.booking.scheduling.factories import DoctorFactory, future_date, make_availability
from tests.cms.conftest import publish, translate
from tests.cms.test_public_pages import html_of
from tests.cms.test_ratings_on_the_site import rate
from tests.factories import FacilityFactory, RoomFactory


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="doctor-result".*?</article>', html, flags=re.S)


def card_of(html: str, doctor) -> str:
    [card] = [card for card in cards(html) if f'id="doctor-{doctor.pk}-name"' in card]
    return card


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def photo(title: str = "portrait"):
    return get_image_model().objects.create(title=title, file=get_test_image_file(colour="blue", size=(400, 400)))


@pytest.fixture
def le_loi(db):
    return FacilityFactory(name="Medbook Lê Lợi", slug="le-loi", city="Hồ Chí Minh")


@pytest.fixture
def hanoi(db):
    return FacilityFactory(name="Medbook Hoàn Kiếm", slug="hoan-kiem", city="Hà Nội")


def clinic_hours(doctor, facility, *, days: int, start: int = 14, end: int = 16):
    return availability_create(
        doctor=doctor,
        date=future_date(days, doctor=doctor),
        start_time=dt.time(start),
        end_time=dt.time(end),
        slot_minutes=30,
        actor=None,
        room=RoomFactory(facility=facility),
    )


# --- the card ------------------------------------------------------------------------------------


def test_a_card_shows_who_the_doctor_is_and_their_next_free_times(client, directory, chau_profile, dr_chau):
    slots = list(dr_chau.slots.order_by("start"))  # four video slots tomorrow (conftest)
    html = html_of(client.get(directory.url))
    card = card_of(html, dr_chau)

    assert f'href="{chau_profile.url}"' in card and str(dr_chau) in card
    assert "Nội tổng quát" in card
    assert "Vietnamese, English" in card
    assert "300,000 ₫" in card
    assert "Video visit" in card
    assert "Next free time:" in card and "Tomorrow" in card
    quick = re.findall(r'class="quick-slot" href="([^"]+)"', card)
    assert quick == [f"/portal/book/{dr_chau.pk}/?slot={slot.pk}" for slot in slots[:4]]
    assert timezone.localtime(slots[0].start).strftime("%H:%M") in card


def test_a_card_without_a_photo_shows_the_doctors_initials(client, directory, chau_profile, dr_chau):
    card = card_of(html_of(client.get(directory.url)), dr_chau)
    initials = (dr_chau.user.last_name[0] + dr_chau.user.first_name[0]).upper()
    assert f'aria-hidden="true">{initials}</span>' in card and "<img" not in card


def test_a_card_shows_the_photo_the_editor_uploaded(client, media, directory, chau_profile, dr_chau):
    chau_profile.image = photo()
    chau_profile.save_revision().publish()
    card = card_of(html_of(client.get(directory.url)), dr_chau)
    assert re.search(r'<img[^>]+class="doctor-photo"', card) and "fill-160x160" in card
    assert "doctor-initials" not in card


def test_two_ratings_are_not_shown_on_the_card(client, directory, chau_profile, dr_chau):
    rate(dr_chau, [(5, ""), (4, "")])  # from three: tests/cms/test_ratings_on_the_site.py
    two = card_of(html_of(client.get(directory.url)), dr_chau)
    assert "/ 5" not in two and "ratings" not in two


def test_a_card_names_the_clinic_of_in_person_times(client, directory, dr_giang, le_loi):
    clinic_hours(dr_giang, le_loi, days=2)
    card = card_of(html_of(client.get(directory.url)), dr_giang)
    assert "Medbook Lê Lợi, Hồ Chí Minh" in card and "Video visit" not in card


def test_the_card_speaks_vietnamese(client, directory, chau_profile, dr_chau, home):
    translate(home)
    translate(directory)
    client.cookies["django_language"] = "vi"
    card = card_of(html_of(client.get(directory.url)), dr_chau)
    assert "300.000 ₫" in card and "Ngày mai" in card
    assert "Tiếng Việt, Tiếng Anh" in card  # not the language switcher's "English"


def test_specialty_and_facility_pages_use_the_same_card(client, general_medicine_page, chau_profile, dr_chau):
    card = card_of(html_of(client.get(general_medicine_page.url)), dr_chau)
    assert 'class="quick-slot"' in card and "300,000 ₫" in card


# --- filters ---------------------------------------------------------------------------------------


def test_filters_by_mode_clinic_city_and_specialty(client, directory, dr_chau, dr_giang, le_loi, hanoi):
    clinic_hours(dr_giang, le_loi, days=2)
    make_availability(dr_giang, days=3)  # and video
    other = DoctorFactory(first_name="Hà")
    clinic_hours(other, hanoi, days=2)

    def listed(**query):
        return set(re.findall(r'id="doctor-(\d+)-name"', html_of(client.get(directory.url, query))))

    ids = {d: str(d.pk) for d in (dr_chau, dr_giang, other)}
    assert listed() == set(ids.values())
    assert listed(mode="video") == {ids[dr_chau], ids[dr_giang]}
    assert listed(mode="in_person") == {ids[dr_giang], ids[other]}
    assert listed(facility="le-loi") == {ids[dr_giang]}
    assert listed(city="Hà Nội") == {ids[other]}
    assert listed(specialty="nhi-khoa") == {ids[dr_giang]}
    assert listed(mode="teleport") == set(ids.values())  # a bad value is no filter, not an error
    # the quick slots follow the filter: in person at Lê Lợi, no video times
    card = card_of(html_of(client.get(directory.url, {"mode": "in_person"})), dr_giang)
    assert "Medbook Lê Lợi" in card and "Video visit" not in card


@pytest.fixture
def district_7(db):
    return FacilityFactory(name="Medbook Phú Mỹ Hưng", slug="phu-my-hung", district="Quận 7", city="Hồ Chí Minh")


@pytest.fixture
def ba_dinh(db):
    return FacilityFactory(name="Medbook Ba Đình", slug="ba-dinh", district="Ba Đình", city="Hà Nội")


def district_options(html: str) -> dict[str, bool]:
    """The district list's choices: value → offered (not hidden)."""
    [select] = re.findall(r'<select name="district".*?</select>', html, flags=re.S)
    return {value: "hidden" not in rest for value, rest in re.findall(r'<option value="([^"]+)"([^>]*)>', select)}


def test_filter_by_district_in_the_directory_and_from_the_portal(
    client, directory, dr_chau, dr_giang, le_loi, district_7, ba_dinh
):
    clinic_hours(dr_giang, le_loi, days=2)  # Quận 1
    seventh = DoctorFactory(first_name="Bảy")
    clinic_hours(seventh, district_7, days=2)
    north = DoctorFactory(first_name="Bắc")
    clinic_hours(north, ba_dinh, days=2)

    def listed(url=directory.url, **query):
        return set(re.findall(r'id="doctor-(\d+)-name"', html_of(client.get(url, query, follow=True))))

    everyone = {str(d.pk) for d in (dr_chau, dr_giang, seventh, north)}
    assert listed() == everyone
    assert listed(district="Quận 7") == {str(seventh.pk)}
    assert listed(district="Quận 1") == {str(dr_giang.pk)}
    assert listed(district="Quận 9") == everyone  # a district no open facility has is no filter…
    assert listed(city="Hồ Chí Minh", district="Quận 7") == {str(seventh.pk)}
    assert listed(city="Hà Nội", district="Ba Đình", mode="in_person") == {str(north.pk)}
    # …and a district of another city than the chosen one (left from an earlier search) is ignored
    assert listed(city="Hà Nội", district="Quận 7") == {str(north.pk)}
    # the portal's doctor list is the same directory: the district is kept on the way
    response = client.get("/portal/doctors/", {"district": "Quận 7"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{directory.url}?district=Qu%E1%BA%ADn+7"
    assert listed("/portal/doctors/", district="Quận 7") == {str(seventh.pk)}
    # the district filter opens "More filters" and counts as a filter to clear
    html = html_of(client.get(directory.url, {"district": "Quận 7"}))
    assert '<details class="more-filters" open>' in html and "Clear filters" in html
    assert '<option value="Quận 7" data-city="Hồ Chí Minh" selected>' in html


def test_the_district_list_follows_the_chosen_city(client, directory, dr_chau, le_loi, district_7, ba_dinh):
    every = district_options(html_of(client.get(directory.url)))
    assert every == {"Ba Đình": True, "Quận 1": True, "Quận 7": True}  # from the open facilities, by city
    assert district_options(html_of(client.get(directory.url, {"city": "Hà Nội"}))) == {
        "Ba Đình": True,
        "Quận 1": False,
        "Quận 7": False,
    }
    # a closed facility's district is not offered; each city's districts are grouped under its name
    FacilityFactory(slug="closed", district="Quận 3", is_active=False)
    html = html_of(client.get(directory.url))
    assert "Quận 3" not in district_options(html)
    assert '<optgroup label="Hà Nội" data-city="Hà Nội">' in html
    assert 'data-narrows="id_district"' in html  # site.js hides the other cities' districts as the city changes


def test_the_district_filter_speaks_vietnamese(client, directory, home, le_loi):
    translate(home)
    directory_vi = translate(directory)
    client.cookies["django_language"] = "vi"
    html = html_of(client.get(directory_vi.url))
    assert '<label for="id_district">Quận/huyện</label>' in html
    assert ">Tất cả quận/huyện</option>" in html


def test_the_date_filter_keeps_doctors_free_that_day_with_that_days_times(client, directory, dr_chau, dr_giang):
    make_availability(dr_giang, days=3)
    day = timezone.localtime(dr_giang.slots.order_by("start").first().start).date()
    html = html_of(client.get(directory.url, {"date": day.isoformat()}))
    assert re.findall(r'id="doctor-(\d+)-name"', html) == [str(dr_giang.pk)]
    card = card_of(html, dr_giang)
    for slot in dr_giang.slots.order_by("start")[:4]:
        assert f"?slot={slot.pk}" in card
    yesterday = timezone.localdate() - dt.timedelta(days=1)  # a day gone by is no filter
    assert len(cards(html_of(client.get(directory.url, {"date": yesterday.isoformat()})))) == 2


# --- one way in ------------------------------------------------------------------------------------


def test_the_portal_and_header_links_lead_to_the_directory_with_the_search_kept(client, directory, dr_chau):
    response = client.get("/portal/doctors/", {"q": "chau", "mode": "video"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{directory.url}?q=chau&mode=video"
    assert str(dr_chau) in html_of(response)
    assert client.get("/find-a-doctor/").url == directory.url


def test_before_a_directory_is_published_the_same_cards_are_served(client, dr_chau):
    html = html_of(client.get("/portal/doctors/", follow=True))
    assert 'class="quick-slot"' in card_of(html, dr_chau)


def test_the_hero_search_finds_doctors_in_the_directory(client, home, directory, dr_chau, dr_giang):
    make_availability(dr_giang, days=2)
    html = html_of(client.get(home.url))
    assert re.search(rf'<form class="hero-search"[^>]*action="{re.escape(directory.url)}"', html)
    assert 'id="hero-q" name="q"' in html
    found = html_of(client.get(directory.url, {"q": "giang"}))
    assert re.findall(r'id="doctor-(\d+)-name"', found) == [str(dr_giang.pk)]


def test_the_vietnamese_hero_searches_the_directory_even_when_it_is_not_translated(client, home, directory):
    translate(home)
    client.cookies["django_language"] = "vi"
    html = html_of(client.get(home.url))
    assert re.search(rf'<form class="hero-search"[^>]*action="{re.escape(directory.url)}"', html)


# --- queries -------------------------------------------------------------------------------------


def _queries(client, url, params) -> int:
    client.get(url, params)  # warm the per-process caches (site root paths, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def _doctors(directory, count: int, *, start: int, facility) -> None:
    for i in range(start, start + count):
        doctor = DoctorFactory(first_name=f"Doc{i}", consultation_fee=Decimal("250000"))
        make_availability(doctor, days=1 + i % 3)
        clinic_hours(doctor, facility, days=2)
        page = DoctorProfilePage(title=str(doctor), slug=f"dr-{doctor.pk}", doctor=doctor)
        if i % 2:
            page.image = photo(f"p{i}")
        publish(directory, page)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"mode": "in_person", "city": "Hồ Chí Minh"},
        {"city": "Hồ Chí Minh", "district": "Quận 1"},
        {"date": "tomorrow"},
    ],
)
def test_the_directory_runs_the_same_queries_for_n_and_3n_doctors(client, media, directory, le_loi, params):
    if params.get("date"):
        params = {"date": (timezone.localdate() + dt.timedelta(days=2)).isoformat()}
    _doctors(directory, 4, start=0, facility=le_loi)
    with_n = _queries(client, directory.url, {**params})
    assert len(cards(html_of(client.get(directory.url, params)))) == 4
    _doctors(directory, 8, start=4, facility=le_loi)
    with_3n = _queries(client, directory.url, {**params})
    assert len(cards(html_of(client.get(directory.url, params)))) == 12
    assert with_3n == with_n


def test_the_directory_is_served_even_without_a_wagtail_site(client, dr_chau):
    from wagtail.models import Site

    Site.objects.all().delete()  # a fresh install before the site is set up
    html = html_of(client.get("/find-a-doctor/"))
    assert 'class="quick-slot"' in card_of(html, dr_chau)
