"""The portal's booking path in Vietnamese leaves no English on screen, and the phone layout (390×844)
neither scrolls sideways nor hides the menu."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import AppointmentType, Specialty
from tests.booking.appointments.helpers import make_doctor
from tests.factories import publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: English words that must not be left on a Vietnamese page (whole words, case-sensitive)
ENGLISH = [
    *[
        "Book",
        "Booking",
        "Cancel",
        "Date",
        "Time",
        "Doctor",
        "Doctors",
        "Confirm",
        "Confirmed",
        "Search",
        "Fee",
        "Pay",
        "Payment",
        "Reason",
        "Phone",
    ],
    *[
        "Hold",
        "Continue",
        "Next",
        "Previous",
        "Free",
        "Profile",
        "Appointments",
        "Messages",
        "Notifications",
        "Specialty",
        "Visit",
    ],
    *[
        "Patient",
        "Clinic",
        "Where",
        "When",
        "Save",
        "Status",
        "Pending",
        "Back",
        "Menu",
        "Pediatrics",
        "Sunday",
        "Saturday",
    ],
    *["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    *[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    *["Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "Sign in",
    "Sign up",
    "Sign out",
    "First name",
    "Last name",
    "General medicine",
    "Initial visit",
    "a.m.",
    "p.m.",
]
PATTERN = re.compile(r"(?<![\w.])(" + "|".join(re.escape(word) for word in ENGLISH) + r")(?![\w])")


def english_left(page) -> list[str]:
    return sorted(set(PATTERN.findall(page.locator("body").inner_text())))


@pytest.fixture
def doctor_in_both_languages(db):
    doctor = make_doctor("hanh.vi@clinic.test")
    Specialty.objects.filter(slug="general").update(name_vi="Nội tổng quát")
    AppointmentType.objects.create(name="Initial visit", name_vi="Khám lần đầu", duration_minutes=30)
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    publish_slots(doctor, start=start, count=6)
    return doctor


def test_the_booking_path_in_vietnamese_shows_no_english(
    browser_as, live_server, patient_dao, doctor_in_both_languages
):
    doctor = doctor_in_both_languages
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    page = browser_as(patient_dao)
    page.context.add_cookies([{"name": "django_language", "value": "vi", "url": live_server.url}])
    slot = doctor.slots.order_by("start").first()

    visited = {}
    for path in (
        "/portal/",
        "/portal/doctors/",
        f"/portal/book/{doctor.pk}/",
        f"/portal/book/{doctor.pk}/?slot={slot.pk}",
    ):
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "vi"
        visited[path] = english_left(page)
    page.get_by_label("Số điện thoại").fill("0901 234 567")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    visited["appointment"] = english_left(page)
    page.goto("/portal/appointments/")
    visited["/portal/appointments/"] = english_left(page)
    page.goto("/portal/profile/")
    visited["/portal/profile/"] = english_left(page)
    assert {path: words for path, words in visited.items() if words} == {}


def test_the_phone_layout_has_no_sideways_scroll_and_the_menu_opens(
    browser_as, live_server, patient_dao, doctor_in_both_languages
):
    page = browser_as(patient_dao)
    page.set_viewport_size({"width": 390, "height": 844})
    for language in ("en", "vi"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for path in (
            "/portal/",
            "/portal/doctors/",
            f"/portal/book/{doctor_in_both_languages.pk}/",
            "/portal/appointments/",
            "/portal/profile/",
        ):
            page.goto(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} in {language} scrolls sideways by {overflow}px"
    page.goto("/portal/")
    menu = page.locator("#site-menu")
    assert not menu.is_visible()
    page.locator(".menu-toggle").click()
    assert menu.is_visible()
    assert page.locator(".menu-toggle").get_attribute("aria-expanded") == "true"
    page.locator("#site-menu").get_by_role("link", name=re.compile("Hồ sơ và tài khoản")).click()
    page.wait_for_url(re.compile(r"/portal/profile/$"))
    page.keyboard.press("Escape")


def test_the_account_menu_opens_on_a_desktop(browser_as, patient_dao):
    page = browser_as(patient_dao)
    page.goto("/portal/")
    assert not page.locator("#account-panel").is_visible()
    page.locator(".account-toggle").click()
    assert page.locator("#account-panel").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#account-panel").is_visible()
