"""The waitlist in a real browser: a patient joins a doctor's waitlist, another patient cancels, the
refill sweep offers the freed time, and the waiting patient accepts it and pays (headless Chromium)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Appointment, AppointmentStatus
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.browser.test_patient_journey import pay_in_sandbox
from tests.factories import make_user, publish_slots
from workflows.operations.models import OfferStatus, SlotOffer
from workflows.operations.services import waitlist_refill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_cancellation_is_offered_to_the_waiting_patient_who_accepts_and_pays(browser_as, patient_dao, staff_binh):
    doctor = make_doctor("hanh.waitlist@clinic.test")
    day = (timezone.now() + timedelta(days=4)).date()
    [slot] = publish_slots(doctor, start=datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC), count=1)
    lan = make_user("lan.browser@example.test", "patient", first_name="Lan")
    visit = svc.appointment_book(slot=slot, patient=lan, actor=lan, details=details_for(lan))
    svc.payment_mark_cash_paid(appointment=visit, actor=staff_binh)

    page = browser_as(patient_dao)
    page.goto(f"/portal/book/{doctor.pk}/")
    page.get_by_role("link", name="Join the waitlist").click()
    page.get_by_label("From").fill(day.isoformat())
    page.get_by_label("Until").fill(day.isoformat())
    page.get_by_label("Part of the day").select_option("morning")
    page.get_by_role("button", name="Join the waitlist").click()
    page.wait_for_url(re.compile(r"/portal/waitlist/$"))
    assert page.get_by_text("Waiting for a time to free up.").is_visible()

    svc.appointment_cancel(appointment=visit, actor=lan, reason="Feeling better")
    assert waitlist_refill()["offered"] == 1  # what the worker's one-minute sweep does

    page.reload()
    assert page.get_by_text(re.compile(r"Offered to you: .* Held for you until")).is_visible()
    phone = page.locator("input[name=phone]")
    if phone.count():
        phone.fill("0901 234 567")
    page.get_by_role("button", name="Accept and pay").click()
    page.wait_for_url(re.compile(r"/portal/appointments/[0-9a-f-]+/$"))
    pay_in_sandbox(page)
    mine = Appointment.objects.get(slot=slot, patient=patient_dao)
    assert mine.status == AppointmentStatus.CONFIRMED
    assert SlotOffer.objects.get().status == OfferStatus.ACCEPTED
