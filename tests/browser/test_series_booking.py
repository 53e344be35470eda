"""The front desk books a weekly series from the admin in a real browser (issue 17 item 4): find the
patient, set doctor, first date, time and count → preview shows one week taken with other times that
day → pick one → book → the series page lists the visits."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import AppointmentSeries, AppointmentStatus
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.booking.series.conftest import slot_at
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_book_a_weekly_series_with_a_preview_of_every_date(browser_as, staff_binh):
    doctor = make_doctor()
    day = timezone.now().astimezone(doctor.zone).date() + dt.timedelta(days=3)
    first = day + dt.timedelta(days=(1 - day.weekday()) % 7)
    svc.availability_generate_weekly(
        doctor=doctor,
        weekdays={1},
        start_time=dt.time(9),
        end_time=dt.time(11),
        slot_minutes=30,
        date_from=first,
        date_to=first + dt.timedelta(weeks=3),
        actor=None,
    )
    patient = make_user("mai.tran@example.test", "patient", first_name="Mai", last_name="Trần")
    profile = patient.patient_profile
    profile.phone = "0912345678"
    profile.save(update_fields=["phone"])
    someone = make_user("khoa@example.test", "patient", first_name="Khoa", last_name="Võ")
    taken = slot_at(doctor, first + dt.timedelta(weeks=2), 9)
    svc.appointment_book(slot=taken, patient=someone, actor=someone, details=details_for(someone))

    page = browser_as(staff_binh)
    page.goto("/admin/booking/appointment/book/")
    page.locator("#book-series-link").click()
    page.wait_for_url("**/admin/booking/appointmentseries/book/")
    page.get_by_label("Find a patient by name, phone or ID").fill("091234")
    page.get_by_role("option", name=re.compile("Trần Mai")).click()
    page.get_by_label("Doctor").select_option(str(doctor.pk))
    page.get_by_label("First visit").fill(first.isoformat())
    page.get_by_label("Time").fill("09:00")
    page.get_by_label("Number of visits").fill("4")
    page.get_by_label("Reason for visit").fill("Physiotherapy, knee")
    page.get_by_role("button", name="Preview dates").click()

    table = page.locator("#series-dates")
    table.wait_for()
    assert "3 of 4 times are free." in page.content()
    third = table.locator('[data-visit="3"]')
    assert "taken" in third.inner_text()
    assert third.get_by_label("skip").is_checked()
    third.get_by_label("09:30").check()
    page.get_by_role("button", name="Book the chosen visits").click()

    page.wait_for_url(re.compile(r"/admin/booking/appointmentseries/\d+/change/$"))
    series = AppointmentSeries.objects.get(patient=patient)
    visits = list(series.visits.order_by("starts_at"))
    assert [v.starts_at.astimezone(doctor.zone).strftime("%H:%M") for v in visits] == [
        "09:00",
        "09:00",
        "09:30",
        "09:00",
    ]
    assert {v.status for v in visits} == {AppointmentStatus.CONFIRMED}
    assert "Booked 4 visits for Trần Mai" in page.content()
    assert page.locator("a[href*='/admin/booking/appointment/']").count() >= 4
    assert not [m for m in page.console_messages if m.startswith(("error", "pageerror"))], page.console_messages
