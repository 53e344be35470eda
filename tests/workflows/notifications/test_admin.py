"""Notifications in the admin: clinic admins only, and read-only."""

from __future__ import annotations

import pytest

from workflows.models import Notification, NotificationPreference

PAGES = ["/admin/workflows/notification/", "/admin/workflows/notificationpreference/"]


@pytest.fixture
def notification(patient_dao):
    return Notification.objects.create(recipient=patient_dao, kind="appointment.confirmed", title="Confirmed")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("staff", 403), ("doctor", 403)])
def test_only_clinic_admins_open_the_notification_pages(client, personas, path, role, status, notification):
    client.force_login(personas[role])
    assert client.get(path).status_code == status


@pytest.mark.parametrize("role", ["staff", "doctor"])
def test_the_section_is_hidden_from_other_clinic_roles(client, personas, role):
    client.force_login(personas[role])
    assert "/admin/workflows/" not in client.get("/admin/").content.decode()


def test_notifications_are_read_only_even_for_admins(client, admin_an, notification):
    client.force_login(admin_an)
    change_url = f"/admin/workflows/notification/{notification.pk}/change/"
    assert client.get(change_url).status_code == 200
    client.post(change_url, {"title": "Changed"})
    notification.refresh_from_db()
    assert notification.title == "Confirmed"
    assert client.get("/admin/workflows/notification/add/").status_code == 403
    assert client.post(f"/admin/workflows/notification/{notification.pk}/delete/", {"post": "yes"}).status_code == 403


def test_an_admin_changes_a_persons_preferences_through_the_audited_service(client, admin_an, patient_dao):
    from core.models import AuditLog

    client.force_login(admin_an)
    response = client.post(
        "/admin/workflows/notificationpreference/add/", {"user": patient_dao.pk, "email_enabled": "on"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    preference = NotificationPreference.objects.get(user=patient_dao)
    assert (preference.email_enabled, preference.sms_enabled) == (True, False)
    assert AuditLog.objects.filter(action="workflows.notification_preference.changed", actor=admin_an).exists()
