"""One way to find a doctor, in a real browser, in English and Vietnamese: the home page's search box
finds doctors in the directory, a card's quick slot opens the booking page with that time chosen, and
the directory, a profile and the home page fit a desktop (1366x900) and a phone (390x844) without
sideways scrolling. Screenshots of each go to test-artifacts/ for review by eye."""

from __future__ import annotations

import re

import pytest
from wagtail.models import Locale, Page, Site

from cms.models import DoctorDirectoryPage, DoctorProfilePage, HomePage, SpecialtyIndexPage, SpecialtyPage
from tests.booking.scheduling.factories import DoctorFactory, SpecialtyFactory, make_availability
from tests.browser.conftest import ARTIFACTS
from tests.cms.conftest import publish, translate
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _home() -> HomePage:
    """The home page of migration cms.0002 (rebuilt when an earlier transactional test flushed it)."""
    home = HomePage.objects.filter(locale=Locale.get_default()).first()
    if home is not None:
        return home
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=HomePage(title="Medbook", slug="home", intro="Book a visit with our doctors."))
    Site.objects.update_or_create(is_default_site=True, defaults={"hostname": "localhost", "root_page": home})
    return home


@pytest.fixture
def site(db):
    """English and Vietnamese home, directory and specialty pages; Dr Lan Nguyễn (pediatrics, video and
    with a profile) and Dr Minh Trần (general medicine), both free in the coming days."""
    Locale.objects.get_or_create(language_code="en")
    Locale.objects.get_or_create(language_code="vi")
    home = _home()
    directory = publish(home, DoctorDirectoryPage(title="Find a doctor", slug="doctors", show_in_menus=True))
    specialties = publish(home, SpecialtyIndexPage(title="Specialties", slug="specialties", show_in_menus=True))
    pediatrics = SpecialtyFactory(name="Nhi khoa", slug="nhi-khoa")
    general = SpecialtyFactory(name="Nội tổng quát", slug="noi-tong-quat")
    publish(specialties, SpecialtyPage(title="Pediatrics", slug="pediatrics", specialty=pediatrics))
    lan = DoctorFactory(
        user=make_user("lan.dir@clinic.test", "doctor", first_name="Lan", last_name="Nguyễn"),
        specialties=[pediatrics],
        languages="vi, en",
    )
    minh = DoctorFactory(
        user=make_user("minh.dir@clinic.test", "doctor", first_name="Minh", last_name="Trần"),
        specialties=[general],
    )
    make_availability(lan, days=2, start="09:00", end="12:00")
    make_availability(lan, days=3, start="14:00", end="15:00")
    make_availability(minh, days=1, start="08:00", end="09:00")
    profile = publish(
        directory,
        DoctorProfilePage(
            title="Dr. Lan Nguyễn",
            slug="dr-lan",
            doctor=lan,
            summary="Children's doctor.",
            about="<p>Ten years caring for children, from newborns to teenagers.</p>",
        ),
    )
    translate(home, title="Medbook")
    translate(directory, title="Tìm bác sĩ")
    translate(profile, about="<p>Mười năm chăm sóc trẻ em, từ sơ sinh đến tuổi dậy thì.</p>")
    return {"home": home, "directory": directory, "profile": profile, "lan": lan, "minh": minh}


@pytest.fixture
def visitor(chromium, live_server):
    """``visitor(language, size)`` → a Playwright page of an anonymous visitor."""
    contexts = []

    def open_page(language: str = "en", size: str = "desktop"):
        context = chromium.new_context(base_url=live_server.url, viewport=SIZES[size])
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"directory-{name}.png"), full_page=True)


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


@pytest.mark.parametrize(
    ("language", "search_label", "next_free"),
    [("en", "Find a doctor by name or specialty", "Next free time:"), ("vi", None, "Giờ trống gần nhất:")],
)
def test_from_the_home_search_to_a_quick_slot_on_the_booking_page(visitor, site, language, search_label, next_free):
    lan = site["lan"]
    page = visitor(language)
    page.goto("/")
    box = page.get_by_label(search_label) if search_label else page.locator("#hero-q")
    box.fill("lan nguyen")  # without accents: the search folds them
    box.press("Enter")
    page.wait_for_url(re.compile(r"/doctors/\?q=lan\+nguyen$"))

    cards = page.locator(".doctor-result")
    assert cards.count() == 1
    card = cards.first
    assert "Nguyễn" in card.locator(".doctor-name").inner_text()
    assert next_free in card.inner_text()
    quick = card.locator("a.quick-slot")
    assert 3 <= quick.count() <= 5
    first_slot = lan.slots.order_by("start").first()
    assert quick.first.get_attribute("href") == f"/portal/book/{lan.pk}/?slot={first_slot.pk}"

    quick.first.click()
    page.wait_for_url(re.compile(rf"/portal/book/{lan.pk}/\?slot={first_slot.pk}$"))
    chosen = page.locator(".picker-slot.selected")  # the booking page's picker (portal/includes/slot_picker)
    assert chosen.count() == 1 and chosen.get_attribute("value") == str(first_slot.pk)
    assert page.locator(".visit-where").count() == 1  # the chosen time's details, ready to book


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_directory_and_a_profile_fit_desktops_and_phones(visitor, site, language, size):
    page = visitor(language, size)
    page.goto("/")
    _no_sideways_scroll(page)
    _shot(page, f"home-{language}-{size}")

    page.goto(site["directory"].url)
    assert page.locator(".doctor-result").count() == 2
    _no_sideways_scroll(page)
    _shot(page, f"list-{language}-{size}")

    page.goto(site["profile"].url)
    about = page.locator(".profile-about").inner_text()
    assert ("Ten years caring" in about) == (language == "en") and ("Mười năm" in about) == (language == "vi")
    tabs = page.locator("label.day-tab")
    assert tabs.count() == 2  # two days with free times
    first_day_times = page.locator(".day-panel-0 a.slot-link")
    assert first_day_times.first.is_visible() and not page.locator(".day-panel-1 a.slot-link").first.is_visible()
    tabs.nth(1).click()  # the second day's times, no reload
    assert page.locator(".day-panel-1 a.slot-link").first.is_visible()
    assert not first_day_times.first.is_visible()
    _no_sideways_scroll(page)
    _shot(page, f"profile-{language}-{size}")


def test_the_district_list_follows_the_city_as_it_changes_and_filters_the_doctors(visitor, site):
    """site.js hides the districts of other cities than the one chosen (no reload), a district of
    another city is unselected, and "Show doctors" lists the doctors free there (the phone layout,
    one filter per row)."""
    import datetime as dt

    from booking.services import availability_create
    from tests.booking.scheduling.factories import future_date
    from tests.factories import FacilityFactory, RoomFactory

    saigon = FacilityFactory(name="Medbook Quận 7", district="Quận 7", city="Hồ Chí Minh")
    FacilityFactory(name="Medbook Ba Đình", district="Ba Đình", city="Hà Nội")
    minh = site["minh"]
    availability_create(
        doctor=minh,
        date=future_date(4, doctor=minh),
        start_time=dt.time(14),
        end_time=dt.time(15),
        slot_minutes=30,
        actor=None,
        room=RoomFactory(facility=saigon),
    )
    page = visitor("vi", "phone")
    page.goto(site["directory"].url)
    page.locator(".more-filters > summary").click()
    district = page.locator("#id_district")
    district.select_option("Ba Đình")
    page.locator("#id_city").select_option("Hồ Chí Minh")
    assert district.input_value() == ""  # Ba Đình is in Hà Nội: unselected
    assert not page.locator('#id_district option[value="Ba Đình"]').is_enabled()
    assert page.locator('#id_district option[value="Quận 7"]').is_enabled()
    district.select_option("Quận 7")
    page.get_by_role("button", name="Xem bác sĩ").click()
    page.wait_for_url(re.compile(r"district=Qu%E1%BA%ADn\+7"))
    names = page.locator(".doctor-result .doctor-name").all_inner_texts()
    assert len(names) == 1 and "Trần" in names[0]
    _no_sideways_scroll(page)
    _shot(page, "district-vi-phone")
