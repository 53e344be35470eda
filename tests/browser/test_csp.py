"""The Content-Security-Policy in a real browser: each main page loads without a single violation
(reported through ``securitypolicyviolation`` events and Chromium's console) and its scripts work:
the portal's nonce'd countdown ticks and its language switcher submits, Unfold's Alpine/htmx dialog
opens, Wagtail's editor starts, Swagger renders the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from cms.models import DoctorDirectoryPage, DoctorProfilePage, HomePage
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.booking.video.helpers import confirmed_visit
from tests.cms.conftest import publish
from tests.factories import publish_slots
from tests.workflows.clinic.conftest import appointment as appointment_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def open_watched(browser_as, user, *, viewport=None):
    page = browser_as(user)
    if viewport:
        page.set_viewport_size(viewport)
    page.add_init_script(WATCH)
    return page


def visit(page, url):
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    page.wait_for_load_state("load")  # (not "networkidle": the video page and messages keep polling)
    return response


def assert_no_violation(page, where):
    violations = page.evaluate("window.__cspViolations")
    refused = [line for line in page.console_messages if "Content Security Policy" in line or "Refused to" in line]
    errors = [line for line in page.console_messages if line.startswith("pageerror")]
    assert (violations, refused, errors) == ([], [], []), where


@pytest.fixture
def home(db) -> HomePage:
    """The site's home page; made again the way the migration does when an earlier live-server
    test flushed the database (a flush keeps no migration data)."""
    from django.conf import settings
    from wagtail.models import Locale, Page, Site

    existing = HomePage.objects.first()
    if existing is not None:
        return existing
    locale, _ = Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
    root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", locale=locale))
    home = root.add_child(instance=HomePage(title="Medbook", slug="home", locale=locale))
    Site.objects.update_or_create(
        is_default_site=True, defaults={"hostname": "localhost", "root_page": home, "port": 80}
    )
    return home


@pytest.fixture
def doctor(db):
    return make_doctor("hanh.csp@clinic.test")


def test_portal_pages_run_under_the_policy(browser_as, doctor, patient_dao):
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor, start=start, count=2)[0]
    held = svc.appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    video = confirmed_visit(doctor, patient_dao)
    page = open_watched(browser_as, patient_dao)

    for url in ("/portal/", f"/portal/book/{doctor.pk}/", f"/portal/visits/{video.public_id}/video/"):
        visit(page, url)
        assert_no_violation(page, url)

    visit(page, f"/portal/appointments/{held.public_id}/")
    countdown = page.locator("[data-countdown] .countdown")
    first = countdown.text_content()
    page.wait_for_function(
        "(before) => document.querySelector('[data-countdown] .countdown').textContent !== before", arg=first
    )
    assert_no_violation(page, "appointment page")

    # the language switcher's inline handler became site.js: choosing a language still submits
    with page.expect_navigation():
        page.select_option("#language-select", "vi")
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert_no_violation(page, "language switch")


def test_public_site_runs_under_the_policy(browser_as, home, doctor, patient_dao):
    directory = publish(home, DoctorDirectoryPage(title="Find a doctor", slug="doctors", per_page=20))
    profile = publish(directory, DoctorProfilePage(title="Dr. Hạnh", slug="dr-hanh", doctor=doctor, summary="GP."))
    page = open_watched(browser_as, patient_dao)
    for url in ("/", profile.url):
        visit(page, url)
        assert_no_violation(page, url)


def test_the_admin_runs_under_the_policy(browser_as, doctor, patient_dao, staff_binh):
    started = appointment_row(doctor, patient_dao, status="confirmed", starts_at=timezone.now() - timedelta(minutes=5))
    page = open_watched(browser_as, staff_binh)
    for url in ("/admin/", "/admin/booking/appointment/", f"/admin/booking/appointment/{started.pk}/change/"):
        visit(page, url)
        assert_no_violation(page, url)

    # Alpine + htmx: the no-show button (under "More") opens Unfold's dialog with the consequence in words
    page.locator("li[x-data] > a", has_text="More").first.click()
    page.get_by_role("link", name=re.compile("No-show")).first.click()
    dialog = page.locator("#modal-content #dialog")
    dialog.wait_for(state="visible")
    assert "did not come" in dialog.text_content()
    with page.expect_navigation():  # HX-Redirect sends the whole page to the result
        dialog.get_by_role("button", name="Record no-show").click()
    page.wait_for_load_state("load")
    assert "No-show recorded." in page.content()
    assert_no_violation(page, "dialog")


def test_wagtail_runs_under_the_policy(browser_as, home, admin_an):
    page = open_watched(browser_as, admin_an)
    visit(page, "/cms/")
    assert_no_violation(page, "/cms/")
    visit(page, f"/cms/pages/{home.pk}/edit/")
    page.locator("[data-controller]").first.wait_for(state="attached")
    # the editor's JavaScript runs: the title field is there and the side panel toggles open
    assert page.locator("#id_title").is_visible()
    assert_no_violation(page, "page editor")


def test_swagger_runs_under_the_policy(browser_as, admin_an):
    page = open_watched(browser_as, admin_an)
    visit(page, "/api/v1/docs")
    page.locator(".swagger-ui .info .title").wait_for(state="visible")
    assert page.locator(".opblock").count() > 5
    assert_no_violation(page, "swagger")
