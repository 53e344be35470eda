"""``make screenshots``: the main pages in both languages at desktop (1366×900) and phone (390×844) size,
written to test-artifacts/screenshots/ for a person to review by eye (issue 18).

Selected only with ``-m screenshots`` (pyproject's addopts leave it out of the normal run). The data is
the demo data (``seed_demo``), so every page has something on it."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from booking.models import Appointment, Doctor
from booking.selectors import free_slots
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.screenshots, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
OUT = ARTIFACTS / "screenshots"


def _session_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_write_the_main_pages_in_both_languages_and_sizes(chromium, live_server):
    call_command("seed_demo", "--quiet")
    patient = User.objects.get(email="patient1@example.com")
    admin = User.objects.get(email="admin@example.com")
    doctor = Doctor.objects.filter(is_active=True).order_by("pk").first()
    slot = free_slots(
        doctor=doctor, start=doctor.user.date_joined, end=doctor.user.date_joined.replace(year=3000)
    ).first()
    appointment = Appointment.objects.order_by("-pk").first()

    anonymous = [
        ("home", "/"),
        ("directory", "/doctors/"),
        ("portal-directory", "/portal/doctors/"),
        ("sign-in", "/accounts/login/"),
        (
            "sign-up-with-slot",
            f"/accounts/signup/?next=/portal/book/{doctor.pk}/%3Fslot%3D{slot.pk}" if slot else "/accounts/signup/",
        ),
    ]
    as_patient = [
        ("booking", f"/portal/book/{doctor.pk}/" + (f"?slot={slot.pk}" if slot else "")),
        ("my-appointments", "/portal/appointments/"),
        ("profile", "/portal/profile/"),
    ]
    as_admin = [("admin-dashboard", "/admin/")]
    if appointment is not None:
        as_admin.append(("appointment-admin", f"/admin/booking/appointment/{appointment.pk}/change/"))

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for size, viewport in SIZES.items():
        for language in ("en", "vi"):
            for who, pages in ((None, anonymous), (patient, as_patient), (admin, as_admin)):
                # a Vietnamese visitor's browser speaks Vietnamese too (native date inputs follow it)
                locale = {"en": "en-GB", "vi": "vi-VN"}[language]
                context = chromium.new_context(base_url=live_server.url, viewport=viewport, locale=locale)
                cookies = [{"name": "django_language", "value": language, "url": live_server.url}]
                if who is not None:
                    who.language = language
                    who.save(update_fields=["language"])
                    cookies.append({"name": "sessionid", "value": _session_for(who), "url": live_server.url})
                context.add_cookies(cookies)
                page = context.new_page()
                page.set_default_timeout(20_000)
                for name, path in pages:
                    response = page.goto(path)
                    assert response is not None and response.status < 400, f"{path}: {response and response.status}"
                    target = OUT / f"{name}-{language}-{size}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                    if size == "phone" and name in ("home", "booking"):
                        page.locator(".menu-toggle").click()
                        page.screenshot(path=str(OUT / f"{name}-menu-open-{language}-{size}.png"))
                if who is None and slot is not None:  # the code page, with the chosen time still shown
                    page.goto(anonymous[-1][1])
                    page.locator("#id_first_name").fill("Mai")
                    page.locator("#id_last_name").fill("Trần")
                    page.locator("#id_email").fill(f"mai.{language}.{size}@example.test")
                    page.locator("#id_password1").fill("a-long-pass-phrase-7")
                    page.locator("main form button[type=submit]").first.click()
                    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
                    target = OUT / f"sign-up-code-{language}-{size}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                context.close()
    assert all(path.stat().st_size > 0 for path in written)
    names = {re.sub(r"-(en|vi)-(desktop|phone)\.png$", "", path.name) for path in written}
    assert {"home", "booking", "my-appointments", "profile", "sign-in", "admin-dashboard"} <= names
