"""Booking for a child in a real browser: Đào adds her son Minh on the Family page, books a visit,
chooses "Minh" for "Who is this visit for?" (the name fields step aside: the visit takes his name),
pays in the sandbox and finds the visit in "My appointments" under his name."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import make_doctor
from tests.factories import publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def doctor_with_week(db):
    doctor = make_doctor("hanh.family@clinic.test")
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    publish_slots(doctor, start=start, count=4)
    return doctor


def test_a_parent_adds_a_child_and_books_and_pays_a_visit_for_him(browser_as, patient_dao, doctor_with_week):
    profile = patient_dao.patient_profile
    profile.phone = "0901234567"
    profile.save(update_fields=["phone"])
    page = browser_as(patient_dao)

    page.goto("/portal/family/")
    page.get_by_label("First name").fill("Minh")
    page.get_by_label("Last name").fill("Nguyễn")
    page.get_by_label("Date of birth").fill("2018-03-14")
    page.get_by_label("Relationship to you").select_option("child")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(re.compile(r"/portal/family/$"))
    assert page.get_by_role("link", name="Minh Nguyễn").is_visible()

    page.goto(f"/portal/book/{doctor_with_week.pk}/")
    page.locator("button.picker-slot").first.click()
    page.get_by_text("Who is this visit for?").wait_for()
    first_name = page.locator("#id_first_name")
    assert first_name.is_visible()  # "Me" is chosen: the holder's own details
    page.get_by_label("Minh Nguyễn").check()
    assert not first_name.is_visible()  # Minh's name and ID come from his record
    page.get_by_label("Reason for the visit").fill("Fever since yesterday")
    page.get_by_role("button", name=re.compile("Hold this time")).click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    assert "Nguyễn Minh" in page.locator(".summary").inner_text()  # the visit's name, family name first

    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(re.compile(r"/portal/pay/sandbox/"))
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))

    appointment = Appointment.objects.get()
    assert appointment.patient.first_name == "Minh" and appointment.booked_by_id == patient_dao.pk
    assert appointment.status == AppointmentStatus.CONFIRMED

    page.goto("/portal/appointments/")
    assert page.locator(".visit-for").first.inner_text() == "For Nguyễn Minh"
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))]
