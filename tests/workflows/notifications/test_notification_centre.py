"""The portal's notification centre: unread count, latest first, marking read; channel preferences."""

from __future__ import annotations

import pytest

from core.models import AuditLog
from workflows.models import Notification
from workflows.selectors import notification_preferences, recent_notifications, unread_count
from workflows.services import notification_mark_read, notification_preference_set


def _notify(user, title):
    return Notification.objects.create(recipient=user, kind="appointment.confirmed", title=title)


@pytest.fixture
def inbox(patient_dao, staff_binh):
    mine = [_notify(patient_dao, f"message {i}") for i in range(4)]
    _notify(staff_binh, "someone else's")
    return mine


def test_unread_count_and_recent_notifications_are_per_person_newest_first(inbox, patient_dao, staff_binh):
    assert unread_count(patient_dao) == 4 and unread_count(staff_binh) == 1
    assert [n.title for n in recent_notifications(patient_dao, limit=3)] == ["message 3", "message 2", "message 1"]


def test_marking_read_by_id_touches_only_the_readers_own(inbox, patient_dao, staff_binh):
    other = Notification.objects.get(recipient=staff_binh)
    assert notification_mark_read(user=patient_dao, notification_ids=[inbox[0].pk, other.pk]) == 1
    assert unread_count(patient_dao) == 3 and unread_count(staff_binh) == 1
    assert notification_mark_read(user=patient_dao, notification_ids=[inbox[0].pk]) == 0, "already read"
    assert notification_mark_read(user=patient_dao) == 0, "nothing asked, nothing marked"


def test_marking_all_read(inbox, patient_dao, staff_binh):
    assert notification_mark_read(user=patient_dao, all=True) == 4
    assert unread_count(patient_dao) == 0 and unread_count(staff_binh) == 1
    assert all(n.is_read for n in recent_notifications(patient_dao, limit=10))


def test_unread_count_is_one_query(inbox, patient_dao, django_assert_num_queries):
    with django_assert_num_queries(1):
        unread_count(patient_dao)


def test_default_preferences_email_on_and_sms_only_with_a_phone(patient_dao, doctor_chau):
    patient_dao.patient_profile.phone = "+84 90 000 0001"
    patient_dao.patient_profile.save(update_fields=["phone"])
    assert (notification_preferences(patient_dao).email_enabled, notification_preferences(patient_dao).sms_enabled) == (
        True,
        True,
    )
    doctor = notification_preferences(doctor_chau)
    assert (doctor.email_enabled, doctor.sms_enabled, doctor.pk) == (True, False, None)


def test_changing_preferences_is_saved_and_audited(patient_dao, admin_an):
    notification_preference_set(user=patient_dao, sms=False)
    notification_preference_set(user=patient_dao, actor=admin_an, email=False)
    preference = notification_preferences(patient_dao)
    assert (preference.email_enabled, preference.sms_enabled) == (False, False)
    entries = AuditLog.objects.filter(action="workflows.notification_preference.changed").order_by("pk")
    assert [(e.actor_id, e.data) for e in entries] == [
        (patient_dao.pk, {"email": True, "sms": False}),
        (admin_an.pk, {"email": False, "sms": False}),
    ]
