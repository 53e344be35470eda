"""The scheduling admin (doctor workspace): who sees what, the slot preview, errors in forms, the week
view, the weekly-pattern generator and blocked time. Every button goes through a service."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages

from booking.models import Availability, BlockedTime, BookingDefaults, Doctor, Slot, SlotStatus
from core.models import AuditLog
from tests.booking.scheduling.conftest import book
from tests.booking.scheduling.factories import future_date, make_availability

pytestmark = pytest.mark.django_db

ROLES = ["admin", "staff", "doctor", "patient", "editor"]
CLINIC = {"admin", "staff", "doctor"}
PAGES = {
    "/admin/booking/doctor/": CLINIC,
    "/admin/booking/availability/": CLINIC,
    "/admin/booking/availability/add/": CLINIC,
    "/admin/booking/availability/week/": CLINIC,
    "/admin/booking/availability/generate/": CLINIC,
    "/admin/booking/slot/": CLINIC,
    "/admin/booking/blockedtime/": CLINIC,
    "/admin/booking/blockedtime/add/": CLINIC,
    "/admin/booking/specialty/": {"admin", "staff"},
    "/admin/booking/specialty/add/": {"admin"},
    "/admin/booking/appointmenttype/": {"admin", "staff"},
    "/admin/booking/doctor/add/": {"admin"},
}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(PAGES))
def test_scheduling_admin_permission_matrix(client, personas, dr_chau, role, path):
    client.force_login(personas[role])
    response = client.get(path)
    if role in PAGES[path]:
        assert response.status_code == 200, f"{role} should open {path}"
    elif role in {"patient", "editor"}:
        assert response.status_code == 302 and "/login" in response["Location"]
    else:
        assert response.status_code == 403, f"{role} must not open {path}"


@pytest.mark.parametrize("role", ["admin", "staff", "doctor"])
def test_sidebar_scheduling_group_follows_permissions(client, personas, dr_chau, role):
    client.force_login(personas[role])
    html = text(client.get("/admin/"))
    for link in ("/admin/booking/availability/", "/admin/booking/availability/week/", "/admin/booking/slot/"):
        assert f'href="{link}"' in html
    assert ('href="/admin/booking/specialty/"' in html) == (role != "doctor")
    assert ('href="/admin/booking/bookingdefaults/"' in html) == (role != "doctor")


# --- the doctor workspace ------------------------------------------------------------------------


def test_a_doctor_sees_and_opens_only_their_own_rows(client, dr_chau, dr_giang, now):
    mine = make_availability(dr_chau, now=now)
    theirs = make_availability(dr_giang, now=now)
    their_block = BlockedTime.objects.create(
        doctor=dr_giang, starts_at=theirs.starts_at, ends_at=theirs.ends_at, reason="Nghỉ phép"
    )
    client.force_login(dr_chau.user)

    listing = text(client.get("/admin/booking/availability/"))
    assert f"/admin/booking/availability/{mine.pk}/change/" in listing
    assert f"/admin/booking/availability/{theirs.pk}/change/" not in listing
    for path in (
        f"/admin/booking/availability/{theirs.pk}/change/",
        f"/admin/booking/availability/{theirs.pk}/delete/",
        f"/admin/booking/doctor/{dr_giang.pk}/change/",
        f"/admin/booking/slot/{theirs.slots.first().pk}/change/",
        f"/admin/booking/blockedtime/{their_block.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/admin/", path  # "does not exist"
    slots = text(client.get("/admin/booking/slot/"))
    assert f"/admin/booking/slot/{mine.slots.first().pk}/change/" in slots
    assert f"/admin/booking/slot/{theirs.slots.first().pk}/change/" not in slots
    assert "Nghỉ phép" not in text(client.get("/admin/booking/blockedtime/"))
    doctors = text(client.get("/admin/booking/doctor/"))
    assert f"/admin/booking/doctor/{dr_chau.pk}/change/" in doctors
    assert f"/admin/booking/doctor/{dr_giang.pk}/change/" not in doctors
    assert client.get(f"/admin/booking/availability/week/?doctor={dr_giang.pk}").status_code == 404


def test_staff_see_every_doctor(client, staff_binh, dr_chau, dr_giang, now):
    mine = make_availability(dr_chau, now=now)
    theirs = make_availability(dr_giang, now=now)
    client.force_login(staff_binh)
    listing = text(client.get("/admin/booking/availability/"))
    assert f"/admin/booking/availability/{mine.pk}/change/" in listing
    assert f"/admin/booking/availability/{theirs.pk}/change/" in listing
    assert client.get(f"/admin/booking/availability/week/?doctor={dr_giang.pk}").status_code == 200


def test_a_doctor_edits_their_profile_but_not_what_the_clinic_decides(client, dr_chau):
    client.force_login(dr_chau.user)
    response = client.get(f"/admin/booking/doctor/{dr_chau.pk}/change/")
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "bio" in form.fields
    assert not {"user", "is_active", "consultation_fee", "currency"} & set(form.fields)


def test_a_doctor_without_a_profile_cannot_add_availability(client, doctor_chau):
    client.force_login(doctor_chau)
    assert client.get("/admin/booking/availability/add/").status_code == 403
    assert "not been set up" in text(client.get("/admin/booking/availability/week/"))


# --- adding availability: preview, errors, save -------------------------------------------------


def availability_post(day, start="09:00", end="11:00", minutes=30, **extra):
    return {"date": day.isoformat(), "start_time": start, "end_time": end, "slot_minutes": minutes, **extra}


def test_preview_shows_the_slots_without_saving(client, dr_chau, now):
    client.force_login(dr_chau.user)
    day = future_date(4, doctor=dr_chau, now=now)
    response = client.post("/admin/booking/availability/add/", availability_post(day, end="10:45", _preview="1"))
    assert response.status_code == 200
    html = text(response)
    for label in ("09:00–09:30", "09:30–10:00", "10:00–10:30"):
        assert label in html
    assert "Saving makes 3 slots (Asia/Ho_Chi_Minh)" in html
    assert "The last 15 minutes (from 10:30) are too short for a 30-minute visit" in html
    assert not Availability.objects.exists()


def test_the_add_form_shows_rule_errors(client, dr_chau, now):
    client.force_login(dr_chau.user)
    yesterday = future_date(-1, doctor=dr_chau, now=now)
    response = client.post("/admin/booking/availability/add/", availability_post(yesterday, start="10:00", end="09:00"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "Only future dates can be scheduled." in errors
    assert "The start time must be before the end time." in errors
    assert "Only future dates can be scheduled." in text(response)
    assert not Availability.objects.exists()


def test_the_add_form_shows_overlaps(client, dr_chau, now):
    existing = make_availability(dr_chau, days=4, now=now)
    client.force_login(dr_chau.user)
    response = client.post("/admin/booking/availability/add/", availability_post(existing.date, start="10:00"))
    assert response.status_code == 200
    assert "This time overlaps the doctor&#x27;s availability" in text(response)
    assert Availability.objects.count() == 1


def test_a_doctor_creates_availability_for_themself_whatever_is_posted(client, dr_chau, dr_giang, now):
    client.force_login(dr_chau.user)
    day = future_date(4, doctor=dr_chau, now=now)
    response = client.post("/admin/booking/availability/add/", availability_post(day, doctor=dr_giang.pk))
    assert response.status_code == 302
    availability = Availability.objects.get()
    assert availability.doctor == dr_chau and availability.slots.count() == 4
    assert AuditLog.objects.filter(action="booking.availability.created", actor=dr_chau.user).exists()
    assert "This availability has 4 slots." in messages_of(response)


def test_staff_create_availability_for_a_chosen_doctor(client, staff_binh, dr_giang, now):
    client.force_login(staff_binh)
    day = future_date(4, doctor=dr_giang, now=now)
    response = client.post("/admin/booking/availability/add/", availability_post(day, doctor=dr_giang.pk))
    assert response.status_code == 302
    assert Availability.objects.get().doctor == dr_giang


# --- changing and deleting ---------------------------------------------------------------------


def test_the_change_form_lists_current_slots_and_previews_a_change(client, dr_chau, now):
    availability = make_availability(dr_chau, days=4, start="09:00", end="10:00", now=now)
    client.force_login(dr_chau.user)
    url = f"/admin/booking/availability/{availability.pk}/change/"
    html = text(client.get(url))
    assert "Current slots (Asia/Ho_Chi_Minh)" in html and "09:30–10:00 · Free" in html
    response = client.post(url, {"start_time": "09:00", "end_time": "10:00", "slot_minutes": 20, "_preview": "1"})
    assert "Saving makes 3 slots" in text(response) and "09:40–10:00" in text(response)
    assert availability.slots.count() == 2
    response = client.post(url, {"start_time": "09:00", "end_time": "10:00", "slot_minutes": 20})
    assert response.status_code == 302
    assert availability.slots.count() == 3


def test_booked_availability_shows_an_error_instead_of_changing(client, dr_chau, now):
    availability = make_availability(dr_chau, days=4, start="09:00", end="10:00", now=now)
    book(availability.slots.first())
    client.force_login(dr_chau.user)
    response = client.post(
        f"/admin/booking/availability/{availability.pk}/change/",
        {"start_time": "09:00", "end_time": "11:00", "slot_minutes": 30},
    )
    assert response.status_code == 200
    assert "some of its slots are already booked" in text(response)
    assert availability.slots.count() == 2


def test_deleting_availability_goes_through_the_service(client, dr_chau, now):
    availability = make_availability(dr_chau, days=4, now=now)
    client.force_login(dr_chau.user)
    url = f"/admin/booking/availability/{availability.pk}/delete/"
    assert client.get(url).status_code == 200  # doctors need no separate permission for the slots
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Availability.objects.exists() and not Slot.objects.exists()
    assert AuditLog.objects.filter(action="booking.availability.deleted").exists()


def test_deleting_booked_availability_shows_a_message_not_a_500(client, dr_chau, now):
    availability = make_availability(dr_chau, days=4, now=now)
    book(availability.slots.first())
    client.force_login(dr_chau.user)
    response = client.post(f"/admin/booking/availability/{availability.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/booking/availability/{availability.pk}/change/"
    assert any("cannot be deleted" in m for m in messages_of(response))
    assert Availability.objects.filter(pk=availability.pk).exists() and availability.slots.count() == 6


def test_bulk_delete_deletes_nothing_when_one_is_booked(client, dr_chau, now):
    free = make_availability(dr_chau, days=4, now=now)
    booked = make_availability(dr_chau, days=5, now=now)
    book(booked.slots.first())
    client.force_login(dr_chau.user)
    response = client.post(
        "/admin/booking/availability/",
        {"action": "delete_selected", "_selected_action": [free.pk, booked.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert any(m.startswith("Nothing was deleted") for m in messages_of(response))
    assert Availability.objects.count() == 2
    response = client.post(
        "/admin/booking/availability/", {"action": "delete_selected", "_selected_action": [free.pk], "post": "yes"}
    )
    assert list(Availability.objects.all()) == [booked]


# --- week view and weekly pattern --------------------------------------------------------------


def test_week_view_is_a_time_grid_with_patients_on_booked_cells(client, dr_chau, now):
    """Issue 18 item 8: rows of times, seven day columns; a booked cell names its patient and opens the
    visit; the doctor (who does not book for patients) gets no booking links."""
    from booking import services as svc
    from tests.booking.appointments.helpers import details_for
    from tests.factories import make_user

    availability = make_availability(dr_chau, days=8, start="09:00", end="10:30", now=now)
    first, second, _third = availability.slots.order_by("start")
    patient = make_user("lan.grid@example.test", "patient", first_name="Lan", last_name="Hoàng")
    visit = svc.appointment_book(slot=first, patient=patient, actor=patient, details=details_for(patient))
    svc.payment_mark_cash_paid(appointment=visit, actor=make_user("desk.grid@clinic.test", "staff"))
    Slot.objects.filter(pk=second.pk).update(status=SlotStatus.BLOCKED)
    client.force_login(dr_chau.user)
    response = client.get(f"/admin/booking/availability/week/?week={availability.date.isoformat()}")
    assert response.status_code == 200
    html = text(response)
    assert len(re.findall(r'<th scope="col"[^>]*data-date=', html)) == 7
    assert f'data-date="{availability.date.isoformat()}"' in html
    assert re.findall(r'<th scope="row" class="medbook-grid__time">([^<]+)</th>', html) == [
        "09:00",
        "09:30",
        "10:00",
    ]
    booked_cell = re.search(
        rf'<td data-slot="{first.pk}" data-status="booked">\s*<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', html
    )
    assert booked_cell, html
    assert booked_cell.group(1) == f"/admin/booking/appointment/{visit.pk}/change/"
    assert booked_cell.group(2) == visit.patient_name
    assert 'data-status="blocked"' in html and 'data-status="free"' in html
    assert "/admin/booking/appointment/book/?slot=" not in html  # doctors do not book for patients
    monday = availability.date - dt.timedelta(days=availability.date.weekday())
    previous = (monday - dt.timedelta(days=7)).isoformat()
    following = (monday + dt.timedelta(days=7)).isoformat()
    assert f"week={previous}" in html and f"week={following}" in html
    assert '<select name="doctor"' not in html  # doctors have no doctor picker


def test_week_view_has_a_doctor_picker_for_staff(client, staff_binh, dr_chau, dr_giang):
    client.force_login(staff_binh)
    html = text(client.get(f"/admin/booking/availability/week/?doctor={dr_giang.pk}&week=not-a-date"))
    assert '<select name="doctor"' in html
    assert f'<option value="{dr_giang.pk}" selected>' in html and f'<option value="{dr_chau.pk}"' in html


def test_weekly_pattern_page_generates_and_reports(client, dr_chau, now):
    make_availability(dr_chau, days=2, start="09:00", end="10:00", now=now)
    client.force_login(dr_chau.user)
    today = now.astimezone(dr_chau.zone).date()
    response = client.post(
        "/admin/booking/availability/generate/",
        {
            "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
            "start_time": "09:00",
            "end_time": "11:00",
            "slot_minutes": "30",
            "date_from": today.isoformat(),
            "date_to": (today + dt.timedelta(days=6)).isoformat(),
        },
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert len(result.created) == 5 and len(result.skipped) == 2
    html = text(response)
    assert "Only future dates can be scheduled." in html and "overlaps" in html
    assert "Created availability on 5 dates." in messages_of(response)
    assert Availability.objects.filter(doctor=dr_chau).count() == 6


def test_weekly_pattern_errors_show_in_the_form(client, staff_binh, dr_chau, now):
    client.force_login(staff_binh)
    today = now.astimezone(dr_chau.zone).date()
    response = client.post(
        "/admin/booking/availability/generate/",
        {
            "doctor": dr_chau.pk,
            "weekdays": ["0"],
            "start_time": "09:00",
            "end_time": "11:00",
            "slot_minutes": "30",
            "date_from": today.isoformat(),
            "date_to": (today + dt.timedelta(days=100)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "A weekly pattern can cover at most 92 days per run; this range has 101." in text(response)
    assert not Availability.objects.exists()


# --- blocked time ------------------------------------------------------------------------------


def test_blocking_time_in_the_admin_blocks_slots_and_warns_about_bookings(client, dr_chau, now):
    availability = make_availability(dr_chau, days=4, start="09:00", end="11:00", now=now)
    book(availability.slots.order_by("start").first())
    client.force_login(dr_chau.user)
    day = availability.date.isoformat()
    response = client.post(
        "/admin/booking/blockedtime/add/",
        {"starts_at_0": day, "starts_at_1": "09:00", "ends_at_0": day, "ends_at_1": "10:00", "reason": "Họp khoa"},
    )
    assert response.status_code == 302
    block = BlockedTime.objects.get()
    assert block.doctor == dr_chau and block.created_by == dr_chau.user
    assert list(availability.slots.order_by("start").values_list("status", flat=True)) == [
        "booked", "blocked", "free", "free",
    ]  # fmt: skip
    notes = messages_of(response)
    assert "1 free slot is now blocked." in notes
    assert any("1 booked slot overlaps this time" in m for m in notes)

    response = client.post(f"/admin/booking/blockedtime/{block.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert set(availability.slots.values_list("status", flat=True)) == {"booked", "free"}


def test_blocked_time_errors_show_in_the_form(client, dr_chau, now):
    client.force_login(dr_chau.user)
    day = future_date(3, doctor=dr_chau, now=now).isoformat()
    response = client.post(
        "/admin/booking/blockedtime/add/",
        {"starts_at_0": day, "starts_at_1": "10:00", "ends_at_0": day, "ends_at_1": "09:00", "reason": ""},
    )
    assert response.status_code == 200
    assert "The blocked time must end after it starts." in text(response)
    assert not BlockedTime.objects.exists()


# --- configuration -----------------------------------------------------------------------------


def test_booking_policy_is_a_singleton(client, admin_an, staff_binh, doctor_chau):
    BookingDefaults.load()
    client.force_login(admin_an)
    response = client.get("/admin/booking/bookingdefaults/")
    assert response.status_code == 302 and response["Location"] == "/admin/booking/bookingdefaults/1/change/"
    assert client.get("/admin/booking/bookingdefaults/add/").status_code == 403
    assert client.get("/admin/booking/bookingdefaults/1/delete/").status_code == 403
    response = client.post(
        "/admin/booking/bookingdefaults/1/change/",
        {
            "min_notice_hours": 4,
            "max_advance_days": 30,
            "buffer_minutes": 5,
            "cancellation_notice_hours": 24,
            "hold_minutes": 10,
            "late_cancellation_refund_percent": 0,
            "follow_up_discount_percent": "5.00",
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert BookingDefaults.load().min_notice_hours == 4
    assert AuditLog.objects.filter(action="booking.booking_defaults.changed").exists()
    client.force_login(staff_binh)
    assert client.get("/admin/booking/bookingdefaults/1/change/").status_code == 200  # view only
    client.force_login(doctor_chau)
    assert client.get("/admin/booking/bookingdefaults/").status_code == 403


def test_admin_adds_a_doctor_profile_with_an_audit_entry(client, admin_an, doctor_chau, general_medicine):
    client.force_login(admin_an)
    response = client.post(
        "/admin/booking/doctor/add/",
        {
            "user": doctor_chau.pk,
            "title": "BS.",
            "specialties": [general_medicine.pk],
            "bio": "",
            "languages": "vi, en",
            "years_of_experience": 5,
            "consultation_fee": "300000",
            "currency": "VND",
            "time_zone": "Asia/Ho_Chi_Minh",
            "auto_confirm": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    doctor = Doctor.objects.get(user=doctor_chau)
    assert list(doctor.specialties.all()) == [general_medicine]
    assert AuditLog.objects.filter(action="booking.doctor.created", object_id=str(doctor.pk)).exists()


def test_changelist_buttons_lead_to_the_week_view_and_the_generator(client, dr_chau):
    client.force_login(dr_chau.user)
    html = text(client.get("/admin/booking/availability/"))
    assert "/admin/booking/availability/open-week-view/" in html
    assert "/admin/booking/availability/open-weekly-generator/" in html
    response = client.get("/admin/booking/availability/open-week-view/")
    assert response.status_code == 302 and response["Location"] == "/admin/booking/availability/week/"
    response = client.get("/admin/booking/availability/open-weekly-generator/")
    assert response["Location"] == "/admin/booking/availability/generate/"


def test_slots_are_read_only_in_the_admin(client, admin_an, dr_chau, now):
    slot = make_availability(dr_chau, now=now).slots.order_by("start").first()
    client.force_login(admin_an)
    listing = text(client.get("/admin/booking/slot/"))
    assert f"{slot.start.astimezone(dr_chau.zone):%Y-%m-%d %H:%M} Asia/Ho_Chi_Minh" in listing
    assert client.get("/admin/booking/slot/add/").status_code == 403
    assert client.get(f"/admin/booking/slot/{slot.pk}/delete/").status_code == 403
    response = client.post(f"/admin/booking/slot/{slot.pk}/change/", {"status": "booked"})
    assert response.status_code == 403
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE
