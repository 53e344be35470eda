"""The front desk books for a patient from the doctor's week grid in a real browser (issue 18 item 8):
click a free cell → find the patient by typing → book → back on the grid, the cell names the patient
and opens the visit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def week_of_doctor_binh(db):
    doctor = make_doctor()
    start = (
        (timezone.now() + timedelta(days=2)).astimezone(doctor.zone).replace(hour=9, minute=0, second=0, microsecond=0)
    )
    return doctor, publish_slots(doctor, start=start, count=3)


def test_staff_book_for_a_patient_from_an_empty_cell_of_the_week_grid(browser_as, staff_binh, week_of_doctor_binh):
    doctor, slots = week_of_doctor_binh
    patient = make_user("mai.tran@example.test", "patient", first_name="Mai", last_name="Trần")
    profile = patient.patient_profile
    profile.phone = "0912345678"
    profile.save(update_fields=["phone"])
    page = browser_as(staff_binh)
    week = slots[0].start.astimezone(doctor.zone).date().isoformat()
    page.goto(f"/admin/booking/availability/week/?doctor={doctor.pk}&week={week}")
    cell = page.locator(f'#week-grid td[data-slot="{slots[1].pk}"] a')
    assert cell.inner_text().strip() == "Free · Book"
    cell.click()

    page.wait_for_url(re.compile(r"/admin/booking/appointment/book/\?slot="))
    assert page.locator(f'input[name="slot"][value="{slots[1].pk}"]').is_checked()
    page.get_by_label("Find a patient by name, phone or ID").fill("091234")
    page.get_by_role("option", name=re.compile("Trần Mai")).click()
    assert page.locator("#patient-picked-name").inner_text() == "Trần Mai"
    page.get_by_label("Reason for visit").fill("Sore throat")
    page.get_by_role("button", name="Book", exact=True).click()

    page.wait_for_url(re.compile(r"/admin/booking/appointment/\d+/change/$"))
    visit = Appointment.objects.get(slot=slots[1])
    assert visit.patient == patient and visit.status == AppointmentStatus.PENDING_PAYMENT
    assert "Booked for Trần Mai" in page.content()

    page.goto(f"/admin/booking/availability/week/?doctor={doctor.pk}&week={week}")
    booked = page.locator(f'#week-grid td[data-slot="{slots[1].pk}"] a')
    assert booked.inner_text().strip() == "Trần Mai"
    booked.click()
    page.wait_for_url(f"**/admin/booking/appointment/{visit.pk}/change/")
    assert "Booked by" in page.locator("#appointment-history").inner_text()
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))], page.console_messages
