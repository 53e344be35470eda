"""What each role's start page shows, the reminder-times setting, and the sidebar's clinic section."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from freezegun import freeze_time

from core.models import AuditLog
from tests.workflows.clinic.conftest import appointment
from workflows.clinic.models import ReminderSettings, validate_reminder_leads
from workflows.clinic.selectors import reminder_leads_minutes
from workflows.clinic.services import reminder_settings_update


@pytest.fixture
def today_visits(dr_an, dr_bao, patient_dao, patient_lan):
    """Visits around 10:00 in the clinic's zone today: the day's lists hold all of them whatever hour
    the suite runs (run after 23:10 there, a visit 50 minutes ahead belonged to tomorrow)."""
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    morning = datetime.combine(timezone.localtime(timezone.now(), zone).date(), time(10), tzinfo=zone)
    with freeze_time(morning, tick=True):
        yield _today_visits(dr_an, dr_bao, patient_dao, patient_lan)


def _today_visits(dr_an, dr_bao, patient_dao, patient_lan):
    now = timezone.now()
    started = appointment(dr_an, patient_dao, status="confirmed", starts_at=now - timedelta(minutes=10))
    later = appointment(dr_an, patient_lan, status="pending", starts_at=now + timedelta(minutes=50), mode="in_person")
    other = appointment(dr_bao, patient_lan, status="confirmed", starts_at=now + timedelta(minutes=5))
    hold = appointment(
        dr_bao,
        patient_dao,
        status="pending_payment",
        starts_at=now + timedelta(days=2),
        hold_expires_at=now + timedelta(minutes=8),
    )
    return {"started": started, "later": later, "other": other, "hold": hold}


def test_a_doctor_sees_their_day_in_order_with_join_links_and_requests(client, dr_an, today_visits):
    assert (
        timezone.localtime(today_visits["later"].starts_at, dr_an.zone).date()
        == timezone.localtime(timezone.now(), dr_an.zone).date()
    )
    client.force_login(dr_an.user)
    html = client.get("/admin/").content.decode()
    started, later = today_visits["started"], today_visits["later"]
    assert html.index(started.patient_name) < html.index(later.patient_name)
    assert f"/portal/visits/{started.public_id}/video/" in html  # confirmed video visit: join link
    assert f"/portal/visits/{later.public_id}/video/" not in html  # pending, in person
    assert (
        today_visits["other"].patient_name not in html
        or f"/admin/booking/appointment/{today_visits['other'].pk}/" not in html
    )
    assert "Requests to review" in html and f"/admin/booking/appointment/{later.pk}/change/" in html
    assert "No-show rate (90 days)" in html


def test_staff_see_arrivals_with_the_appointment_actions_and_the_holds(client, staff_binh, today_visits):
    client.force_login(staff_binh)
    html = client.get("/admin/").content.decode()
    started, hold = today_visits["started"], today_visits["hold"]
    assert f"/admin/booking/appointment/{started.pk}/no_show_detail/" in html
    assert f"/admin/booking/appointment/{started.pk}/complete_detail/" in html
    assert f"/admin/booking/appointment/{hold.pk}/mark_paid_detail/" in html
    assert f"/admin/booking/appointment/{today_visits['later'].pk}/confirm_detail/" in html
    # the buttons lead to the appointment admin's own actions, which work for staff
    response = client.post(f"/admin/booking/appointment/{started.pk}/no_show_detail/", {"_form_submitted": "on"})
    assert response.status_code == 302
    from booking.models import Appointment

    assert Appointment.objects.get(pk=started.pk).status == "no_show"


def test_admins_see_the_clinic_figures_and_a_date_filter(client, admin_an, today_visits):
    client.force_login(admin_an)
    html = client.get("/admin/", {"start": "2025-01-01", "end": "2025-01-31"}).content.decode()
    for title in (
        "No-show rate",
        "Cancellation rate",
        "Late cancellations",
        "Utilisation",
        "Follow-up acceptance",
        "Video visits completed",
        "Revenue by month",
        "Utilisation by specialty",
        "Payment holds expiring",
    ):
        assert title in html, title
    assert 'name="start" value="2025-01-01"' in html


def test_reminder_times_are_set_in_the_admin_and_used_by_the_reminder_task(
    client, admin_an, settings, django_capture_on_commit_callbacks
):
    settings.REMINDER_LEADS_MINUTES = [1440, 60]
    assert reminder_leads_minutes() == [1440, 60]
    client.force_login(admin_an)
    response = client.get("/admin/clinic/remindersettings/")
    assert response.status_code == 302 and response["Location"].endswith("/admin/clinic/remindersettings/1/change/")
    with django_capture_on_commit_callbacks(execute=True):  # saving clears the cached value on commit
        response = client.post("/admin/clinic/remindersettings/1/change/", {"reminder_leads": "2880, 120"})
    assert response.status_code == 302
    assert ReminderSettings.objects.get().reminder_leads == "2880, 120"
    assert reminder_leads_minutes() == [2880, 120]
    assert AuditLog.objects.filter(action="clinic.reminder_settings.changed", actor=admin_an).exists()
    with django_capture_on_commit_callbacks(execute=True):
        reminder_settings_update(reminder_leads="", actor=admin_an)
    assert reminder_leads_minutes() == [1440, 60]


@pytest.mark.parametrize("value", ["abc", "60, x", "1", str(60 * 24 * 30)])
def test_reminder_times_must_be_sensible_minutes(value):
    with pytest.raises(ValidationError):
        validate_reminder_leads(value)


def test_staff_cannot_change_reminder_times(client, staff_binh):
    client.force_login(staff_binh)
    assert client.get("/admin/clinic/remindersettings/").status_code == 403


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin", {"doctorapplication", "doctorsubscription", "supportticket", "exports", "medicalrecordaccess"}),
        ("staff", {"doctorapplication", "supportticket", "exports"}),
        ("doctor", {"doctorsubscription", "exports"}),  # their own subscription ("Pay now")
    ],
)
def test_the_sidebar_clinic_section_follows_the_role(client, personas, role, visible):
    client.force_login(personas[role])
    html = client.get("/admin/").content.decode()
    links = {
        "doctorapplication": 'href="/admin/clinic/doctorapplication/"',
        "doctorsubscription": 'href="/admin/clinic/doctorsubscription/"',
        "supportticket": 'href="/admin/clinic/supportticket/"',
        "exports": 'href="/admin/booking/appointment/exports/"',
        "medicalrecordaccess": 'href="/admin/clinic/medicalrecordaccess/"',
    }
    assert {name for name, link in links.items() if link in html} == visible


def test_the_reminder_task_sends_at_the_times_set_in_the_admin(dr_an, patient_dao, admin_an):
    from core.models import OutboxMessage
    from workflows.tasks import send_due_reminders

    now = timezone.now()
    appointment(
        dr_an,
        patient_dao,
        status="confirmed",
        starts_at=now + timedelta(minutes=20),
        confirmed_at=now - timedelta(days=1),
    )
    assert send_due_reminders(now=now) == 2  # the default 1 h lead: the visit is 20 minutes away
    OutboxMessage.objects.all().delete()
    reminder_settings_update(reminder_leads="10", actor=admin_an)
    from django.core.cache import cache

    cache.clear()
    assert send_due_reminders(now=now) == 0  # a 10-minute reminder is not due yet
    assert send_due_reminders(now=now + timedelta(minutes=11)) == 2
    assert set(OutboxMessage.objects.values_list("context__lead_minutes", flat=True)) == {10}


def test_the_sidebar_links_to_the_clinic_contact_details_kept_in_the_public_sites_settings(client, admin_an):
    client.force_login(admin_an)
    html = client.get("/admin/").content.decode()
    assert 'href="/cms/settings/cms/clinicsettings/"' in html
    response = client.get("/cms/settings/cms/clinicsettings/", follow=True)
    assert response.status_code == 200 and "clinic" in response.content.decode().lower()
