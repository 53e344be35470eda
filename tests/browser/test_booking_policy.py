"""Policies before they bite and a gentle lost race, in a real browser (issue 18 items 2 and 3): the
booking page states the change rules with the deadline and warns inside the late window; the patient
who loses a time to someone else keeps what they typed and books an offered alternative; reschedule
shows "from → to" and moves only when confirmed. The last test photographs these pages in English
and Vietnamese on a desktop (1366×900) and a phone (390×844) into test-artifacts/booking-policy/,
and checks that the phone never scrolls sideways."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateformat import format as date_format
from playwright.sync_api import expect

from booking import services as svc
from booking.models import Appointment
from tests.booking.appointments.helpers import completed_visit, details_for, make_doctor
from tests.browser.conftest import ARTIFACTS
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def doctor_with_times(db):
    """A doctor with one time five hours ahead (inside the 24 h late window) and a run of times in
    three days (free cancellation until two days from now)."""
    doctor = make_doctor("policy.browser@clinic.test")
    now = timezone.now()
    publish_slots(doctor, start=(now + timedelta(hours=5)).replace(second=0, microsecond=0), count=1)
    publish_slots(doctor, start=(now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0), count=6)
    return doctor


@pytest.fixture
def open_page(chromium, live_server, request):
    """``open_page(user, viewport=..., language=...)`` → a signed-in page; screenshots on failure."""
    contexts, pages = [], []

    def open_as(user, *, viewport=DESKTOP, language="en"):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(base_url=live_server.url, viewport=viewport)
        context.add_cookies(
            [
                {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url},
                {"name": "django_language", "value": language, "url": live_server.url},
            ]
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        pages.append(page)
        return page

    yield open_as
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for index, page in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
    for context in contexts:
        context.close()


def slot_button(page, slot):
    return page.locator(f'button.picker-slot[value="{slot.pk}"]')


def open_day_of(page, slot):
    """Show ``slot``'s day in the picker: a tab of this week, or the link to another week."""
    day = timezone.localtime(slot.start).date().isoformat()
    tab = page.locator(f'[role="tab"][data-day="{day}"]')
    if tab.count():
        tab.click()
    else:
        page.goto(f"{page.url.split('?')[0]}?day={day}")


def when(moment) -> str:
    return date_format(timezone.localtime(moment), "D j M, H:i")


def test_booking_shows_the_policy_sentence_with_the_deadline_and_warns_inside_the_late_window(
    open_page, doctor_with_times, patient_dao
):
    soon, later = list(doctor_with_times.slots.order_by("start"))[:2]
    page = open_page(patient_dao)
    page.goto(f"/portal/book/{doctor_with_times.pk}/")
    assert page.get_by_role("link", name=re.compile(r"^Next available: ")).inner_text().endswith(when(soon.start))

    open_day_of(page, soon)
    slot_button(page, soon).click()
    warning = page.get_by_role("alert").filter(has_text="Inside the late window.")
    assert warning.is_visible()
    assert "less than 24 hours away: once booked you cannot reschedule it" in warning.inner_text()

    open_day_of(page, later)
    slot_button(page, later).click()
    sentence = page.locator(".policy-line")
    expected = f"Free cancellation and rescheduling until {when(later.start - timedelta(hours=24))}; after that"
    assert expected in sentence.inner_text()
    assert page.locator(".policy-late").count() == 0
    assert sentence.is_visible() and page.get_by_role("button", name=re.compile("Hold this time")).is_visible()
    assert page.errors == []


def test_the_race_loser_keeps_the_typed_text_and_books_an_offered_alternative(
    open_page, doctor_with_times, patient_dao
):
    later = list(doctor_with_times.slots.order_by("start"))[1:]
    wanted = later[2]
    page = open_page(patient_dao)
    page.goto(f"/portal/book/{doctor_with_times.pk}/?slot={wanted.pk}")
    page.get_by_label("Phone").fill("+84 90 555 1212")
    page.get_by_label("Reason for the visit").fill("Đau đầu từ tuần trước")

    rival = make_user("rival.browser@example.test", "patient", first_name="Rival")
    svc.appointment_book(slot=wanted, patient=rival, actor=rival, details=details_for(rival))
    page.get_by_role("button", name=re.compile("Hold this time")).click()

    warning = page.locator("#race-lost")
    expect(warning).to_be_visible()  # the submit navigates back to the picker
    assert "Someone else has just taken that time." in warning.inner_text()
    assert page.get_by_label("Phone").input_value() == "+84 90 555 1212"
    assert page.get_by_label("Reason for the visit").input_value() == "Đau đầu từ tuần trước"
    alternatives = warning.get_by_role("button")
    assert alternatives.count() >= 2
    alternative = alternatives.first
    chosen_id = int(alternative.get_attribute("value"))
    assert chosen_id != wanted.pk
    alternative.click()

    assert page.locator("#race-lost").count() == 0
    assert page.get_by_label("Reason for the visit").input_value() == "Đau đầu từ tuần trước"
    assert page.locator(".policy-line").is_visible()
    page.get_by_role("button", name=re.compile("Hold this time")).click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    mine = Appointment.objects.get(patient=patient_dao)
    assert mine.slot_id == chosen_id and mine.phone.replace(" ", "").endswith("905551212")
    assert mine.reason == "Đau đầu từ tuần trước"
    assert page.errors == []


def test_reschedule_shows_from_and_to_and_moves_only_after_confirming(
    open_page, doctor_with_times, patient_dao, staff_binh
):
    slots = list(doctor_with_times.slots.order_by("start"))[1:]
    booked = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=booked, actor=staff_binh)
    page = open_page(patient_dao)
    page.goto(f"/portal/appointments/{booked.public_id}/")
    page.get_by_role("link", name="Reschedule").click()
    page.wait_for_url(re.compile(r"/reschedule/$"))
    open_day_of(page, slots[3])
    slot_button(page, slots[3]).click()

    summary = page.locator(".move-summary").inner_text()
    assert re.search(re.escape(when(slots[0].start)) + r".*→.*" + re.escape(when(slots[3].start)), summary, re.S)
    booked.refresh_from_db()
    assert booked.slot_id == slots[0].pk  # nothing moved yet
    page.get_by_role("button", name="Yes, move my visit").click()
    page.wait_for_url(re.compile(rf"/portal/appointments/{booked.public_id}/$"))
    assert page.get_by_text("Your appointment has been moved.").is_visible()
    booked.refresh_from_db()
    assert booked.slot_id == slots[3].pk


def test_a_reschedule_that_loses_its_time_stays_on_the_picker_and_moves_to_an_offered_one(
    open_page, doctor_with_times, patient_dao, staff_binh
):
    slots = list(doctor_with_times.slots.order_by("start"))[1:]
    booked = svc.appointment_book(
        slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=booked, actor=staff_binh)
    page = open_page(patient_dao)
    page.goto(f"/portal/appointments/{booked.public_id}/reschedule/")
    open_day_of(page, slots[3])
    slot_button(page, slots[3]).click()
    rival = make_user("rival.move@example.test", "patient", first_name="Rival")
    svc.appointment_book(slot=slots[3], patient=rival, actor=rival, details=details_for(rival))
    page.get_by_role("button", name="Yes, move my visit").click()

    warning = page.locator("#race-lost")
    expect(warning).to_be_visible()  # the submit navigates back to the picker
    assert "Someone else has just taken that time." in warning.inner_text()
    assert page.locator("[data-picker]").is_visible()
    alternative = warning.get_by_role("button").first
    chosen_id = int(alternative.get_attribute("value"))
    assert chosen_id != slots[3].pk
    alternative.click()
    expect(page.locator("#race-lost")).to_have_count(0)
    expect(page.locator(".move-summary")).to_be_visible()
    page.get_by_role("button", name="Yes, move my visit").click()
    page.wait_for_url(re.compile(rf"/portal/appointments/{booked.public_id}/$"))
    booked.refresh_from_db()
    assert booked.slot_id == chosen_id
    assert page.errors == []


@pytest.mark.parametrize("language", ["en", "vi"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_screens_in_both_languages_and_sizes(open_page, doctor_with_times, patient_dao, staff_binh, language, viewport):
    soon, *later = list(doctor_with_times.slots.order_by("start"))
    late_visit = svc.appointment_book(
        slot=soon, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=late_visit, actor=staff_binh)
    on_time = svc.appointment_book(
        slot=later[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao)
    )
    svc.payment_mark_cash_paid(appointment=on_time, actor=staff_binh)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_with_times.user,
        patient=patient_dao,
        parent=completed_visit(doctor_with_times, patient_dao, staff=staff_binh),
        suggested_date=timezone.localtime(later[3].start, doctor_with_times.zone).date(),
        suggested_time=timezone.localtime(later[3].start, doctor_with_times.zone).time(),
    )
    page = open_page(patient_dao, viewport=viewport, language=language)
    folder = ARTIFACTS / "booking-policy"
    folder.mkdir(parents=True, exist_ok=True)
    size = "desktop" if viewport == DESKTOP else "phone"
    screens = {
        "book": f"/portal/book/{doctor_with_times.pk}/?slot={later[2].pk}",
        "appointments": "/portal/appointments/",
        "reschedule": f"/portal/appointments/{on_time.public_id}/reschedule/?slot={later[4].pk}",
        "follow-up": f"/portal/follow-ups/{suggestion.public_id}/schedule/",
    }
    for name, url in screens.items():
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport['width']}px"
        page.screenshot(path=str(folder / f"{name}-{language}-{size}.png"), full_page=True)
    # the lost race, photographed too
    page.goto(f"/portal/book/{doctor_with_times.pk}/?slot={later[1].pk}")
    rival = make_user(f"rival.{language}.{size}@example.test", "patient", first_name="Rival")
    svc.appointment_book(slot=later[1], patient=rival, actor=rival, details=details_for(rival))
    page.locator("#id_phone").fill("+84 90 555 1212")
    page.locator("#booking-form button[type=submit]").last.click()
    page.locator("#race-lost").wait_for()
    page.screenshot(path=str(folder / f"race-{language}-{size}.png"), full_page=True)
    assert page.errors == []
