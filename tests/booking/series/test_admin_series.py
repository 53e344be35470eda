"""The admin faces of issue 17 item 4: the series booking page (preview, then book), the "this and
following" buttons, and the weekly rules, which a doctor sees and makes only for themself."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings

from booking.models import Appointment, AppointmentSeries, AppointmentStatus, Availability, AvailabilityRule
from tests.booking.appointments.helpers import make_doctor
from tests.booking.series.conftest import book_series
from tests.factories import make_user

S = AppointmentStatus
BOOK = "/admin/booking/appointmentseries/book/"


def series_post(patient, doctor, first_tuesday, **extra):
    return {
        "patient": patient.pk,
        "doctor": doctor.pk,
        "first_date": first_tuesday.isoformat(),
        "time": "09:00",
        "count": 4,
        "interval_weeks": 1,
        "reason": "Physiotherapy",
        **extra,
    }


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


def with_phone(patient):
    profile = patient.patient_profile
    profile.phone = "0912345678"
    profile.save(update_fields=["phone"])
    return patient


def test_front_desk_previews_then_books_a_series(client, dr_binh, tuesdays, first_tuesday, patient_lan, front_desk):
    with_phone(patient_lan)
    client.force_login(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.get(BOOK).status_code == 200
    data = series_post(patient_lan, dr_binh, first_tuesday)
    page = client.post(BOOK, {**data, "step": "preview"}).content.decode()
    chosen = re.findall(r'name="(visit_\d)" value="(\d+)"\s*checked', page)
    assert len(chosen) == 4 and "4 of 4 times are free." in page
    assert not Appointment.objects.exists()  # a preview books nothing
    response = client.post(BOOK, {**data, **dict(chosen), "step": "book"})
    series = AppointmentSeries.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/appointmentseries/{series.pk}/change/")
    assert series.visits.filter(status=S.CONFIRMED).count() == 4
    assert "Booked 4 visits" in client.get(response["Location"]).content.decode()


def test_a_taken_visit_is_skipped_or_moved_to_another_time_that_day(
    client, dr_binh, tuesdays, first_tuesday, patient_lan, front_desk
):
    with_phone(patient_lan)
    other = make_user("khoa.patient@example.test", "patient", first_name="Khoa", last_name="Võ")
    book_series(dr_binh, other, front_desk, tuesdays + dt.timedelta(weeks=1), count=2)  # weeks 2 and 3, 09:00
    client.force_login(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = series_post(patient_lan, dr_binh, first_tuesday)
    page = client.post(BOOK, {**data, "step": "preview"}).content.decode()
    assert "2 of 4 times are free." in page
    picks = dict(re.findall(r'name="(visit_\d)" value="(\d+)"\s*checked', page))
    assert sorted(picks) == ["visit_1", "visit_4"]
    alternative = re.search(r'name="visit_2" value="(\d+)"', page).group(1)
    response = client.post(BOOK, {**data, **picks, "visit_2": alternative, "visit_3": "skip", "step": "book"})
    assert response.status_code == 302
    visits = AppointmentSeries.objects.get(patient=patient_lan).visits.order_by("starts_at")
    assert [v.starts_at.astimezone(dr_binh.zone).strftime("%H:%M") for v in visits] == ["09:00", "09:30", "09:00"]


def test_a_doctor_books_only_in_their_own_diary_for_their_own_patients(
    client, dr_binh, tuesdays, first_tuesday, patient_lan, patient_dao
):
    Appointment.objects.create(
        doctor=dr_binh,
        patient=with_phone(patient_lan),
        first_name="Lan",
        last_name="Hoàng",
        phone="+84900000001",
        email=patient_lan.email,
        status=S.COMPLETED,
    )
    other = make_doctor("giang.doctor@clinic.test")
    client.force_login(dr_binh.user)
    page = client.get(BOOK).content.decode()
    assert options(page, "doctor") == [str(dr_binh.pk)]
    assert options(page, "patient") == [str(patient_lan.pk)]
    refused = client.post(BOOK, {**series_post(patient_lan, other, first_tuesday), "step": "preview"})
    assert "Select a valid choice" in refused.content.decode()
    data = series_post(patient_lan, dr_binh, first_tuesday, count=2)
    page = client.post(BOOK, {**data, "step": "preview"}).content.decode()
    picks = dict(re.findall(r'name="(visit_\d)" value="(\d+)"\s*checked', page))
    assert client.post(BOOK, {**data, **picks, "step": "book"}).status_code == 302
    assert AppointmentSeries.objects.get().created_by == dr_binh.user
    client.force_login(other.user)  # another doctor does not see the series
    assert client.get("/admin/booking/appointmentseries/").content.decode().count("#1") == 0


def test_patients_cannot_open_the_series_page(client, patient_lan):
    client.force_login(patient_lan)
    assert client.get(BOOK).status_code in (302, 404)


def test_cancel_this_and_following_from_the_visit_page(client, dr_binh, tuesdays, patient_lan, front_desk):
    series = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=3)
    first, second, third = series.visits.order_by("starts_at")
    client.force_login(front_desk)
    url = f"/admin/booking/appointment/{second.pk}/series_cancel_following_detail/"
    response = client.post(url, {"reason": "Knee healed", "_form_submitted": "1"})
    assert response.status_code in (200, 302)
    assert list(series.visits.order_by("starts_at").values_list("status", flat=True)) == [
        S.CONFIRMED,
        S.CANCELLED,
        S.CANCELLED,
    ]


def test_a_doctor_sees_and_edits_only_their_own_weekly_rules(client, dr_binh):
    other = make_doctor("giang.doctor@clinic.test")
    theirs = AvailabilityRule.objects.create(
        doctor=other, weekday=2, start_time=dt.time(14), end_time=dt.time(16), slot_minutes=30
    )
    client.force_login(dr_binh.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get("/admin/booking/availabilityrule/")
    assert listing.status_code == 200 and "14:00–16:00" not in listing.content.decode()
    assert client.get(f"/admin/booking/availabilityrule/{theirs.pk}/change/").status_code in (302, 404)
    form = client.get("/admin/booking/availabilityrule/add/").content.decode()
    assert 'name="doctor"' not in form
    response = client.post(
        "/admin/booking/availabilityrule/add/",
        {
            "doctor": other.pk,  # ignored: a doctor's rule is always their own
            "weekday": 0,
            "start_time": "08:00",
            "end_time": "10:00",
            "slot_minutes": 20,
            "mode": "video",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    mine = AvailabilityRule.objects.get(weekday=0)
    assert mine.doctor == dr_binh and mine.generated_through is not None
    assert Availability.objects.filter(doctor=dr_binh, start_time=dt.time(8)).count() >= 3  # published at once
    assert not Availability.objects.filter(doctor=other).exists()


def test_staff_manage_every_doctors_rules_and_a_visit_that_does_not_fit_is_refused(client, dr_binh, front_desk):
    client.force_login(front_desk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        "/admin/booking/availabilityrule/add/",
        {
            "doctor": dr_binh.pk,
            "weekday": 4,
            "start_time": "08:00",
            "end_time": "08:15",
            "slot_minutes": 30,
            "mode": "video",
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and "does not fit" in response.content.decode()
    assert not AvailabilityRule.objects.exists()


def test_the_front_desk_records_a_series_visit_paid_from_its_page(client, dr_binh, tuesdays, patient_lan, front_desk):
    first, _second = book_series(dr_binh, patient_lan, front_desk, tuesdays, count=2).visits.order_by("starts_at")
    client.force_login(front_desk)
    page = f"/admin/booking/appointment/{first.pk}/change/"
    button = f"/admin/booking/appointment/{first.pk}/mark_paid_detail/"
    assert button in client.get(page).content.decode()
    response = client.post(button, {"_form_submitted": "on"})
    assert response.status_code == 302
    assert first.payments.get().status == "succeeded"
    first.refresh_from_db()
    assert first.status == S.CONFIRMED
    assert button not in client.get(page).content.decode()  # paid: nothing more to record
