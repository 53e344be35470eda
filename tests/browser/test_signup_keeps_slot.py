"""A visitor picks a time, is asked to sign up, confirms their email with the code from the mail on the
same tab, and lands back on the booking with the same time, which they then hold."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import make_doctor
from tests.factories import publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visitor_page(chromium, live_server, request):
    from tests.browser.conftest import ARTIFACTS

    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def test_the_chosen_slot_is_shown_through_sign_up_and_the_code_and_then_held(visitor_page):
    doctor = make_doctor("hanh.slot@clinic.test")
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    publish_slots(doctor, start=start, count=4)
    chosen = doctor.slots.order_by("start")[1]
    page = visitor_page

    page.goto(f"/portal/book/{doctor.pk}/?slot={chosen.pk}")
    page.locator("main").get_by_role("link", name="Sign up").click()
    page.wait_for_url(re.compile(r"/accounts/signup/"))
    card = page.locator(".chosen-slot")
    when = card.locator(".chosen-when").inner_text()
    assert when == timezone.localtime(chosen.start).strftime("%a %-d %b %Y, %H:%M")
    assert str(doctor) in card.inner_text()

    # the fewest fields: name, an email or a mobile number, one password; ID comes at booking
    assert page.locator("#id_password2").count() == 0
    assert page.locator("#id_phone").get_attribute("required") is None
    page.get_by_label("First name").fill("Mai")
    page.get_by_label("Last name").fill("Trần")
    page.get_by_label("Email").fill("mai.slot@example.test")
    page.get_by_label("Password").fill("a-long-pass-phrase-7")
    page.get_by_role("button", name="Sign Up").click()

    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    assert page.locator(".chosen-slot .chosen-when").inner_text() == when  # still in view
    (message,) = mail.outbox
    code = re.search(r"^(\d{6})$", message.body, re.MULTILINE).group(1)
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url(re.compile(rf"/portal/book/{doctor.pk}/\?slot={chosen.pk}$"))
    assert page.locator("input[name=slot]").input_value() == str(chosen.pk)
    assert page.get_by_label("Email").input_value() == "mai.slot@example.test"
    page.get_by_label("Phone").fill("+84 90 111 2222")
    page.get_by_role("button", name=re.compile("Hold this time")).click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    appointment = Appointment.objects.get(patient=User.objects.get(email="mai.slot@example.test"))
    assert appointment.slot_id == chosen.pk and appointment.status == AppointmentStatus.PENDING_PAYMENT
