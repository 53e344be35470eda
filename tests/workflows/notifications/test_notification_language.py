"""Issue 18 item 5: a stored in-app notification is shown in the reader's current language, not the
one they had when it was delivered (the worker keeps it rendered in every site language)."""

from __future__ import annotations

import pytest
from django.conf import settings

from core.models import OutboxMessage
from tests.factories import publish_slots
from tests.workflows.notifications.conftest import VISIT
from tests.workflows.notifications.helpers import book_confirmed
from workflows.models import Notification
from workflows.tasks import deliver_outbox_message

ENGLISH = "Confirmed: your appointment with Dr. Châu Test"
VIETNAMESE = "Đã xác nhận: lịch hẹn của bạn với Dr. Châu Test"


@pytest.fixture
def delivered(frozen, patient_dao, dr_chau, staff_binh):
    """The confirmation, delivered while Đào reads Medbook in English."""
    book_confirmed(patient_dao, publish_slots(dr_chau, start=VISIT, count=1)[0], staff=staff_binh)
    message = OutboxMessage.objects.get(kind="appointment.confirmed", recipient=patient_dao)
    assert deliver_outbox_message(message.pk) == "sent"
    return Notification.objects.get(outbox=message)


def test_the_worker_stores_the_notification_in_every_site_language(delivered):
    assert delivered.title == ENGLISH  # the recipient's language at delivery, as before
    assert set(delivered.texts) == {code for code, _name in settings.LANGUAGES}
    assert delivered.texts["en"]["title"] == ENGLISH and delivered.texts["vi"]["title"] == VIETNAMESE
    assert delivered.texts["vi"]["body"] and delivered.texts["vi"]["body"] != delivered.texts["en"]["body"]
    assert delivered.text_in("vi") == (VIETNAMESE, delivered.texts["vi"]["body"])


def test_switching_language_shows_the_stored_notification_in_the_new_one(delivered, patient_dao, client):
    client.force_login(patient_dao)
    page = client.get("/portal/notifications/").content.decode()
    assert ENGLISH in page and VIETNAMESE not in page
    patient_dao.language = "vi"  # Đào switches to Vietnamese after the message arrived
    patient_dao.save(update_fields=["language"])
    page = client.get("/portal/notifications/").content.decode()
    assert VIETNAMESE in page and ENGLISH not in page
    assert delivered.texts["vi"]["body"] in page
    items = client.get("/api/v1/notifications").json()["items"]
    assert [(i["title"], i["body"]) for i in items] == [(VIETNAMESE, delivered.texts["vi"]["body"])]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language picker's choice outranks the profile
    assert client.get("/api/v1/notifications").json()["items"][0]["title"] == ENGLISH


def test_a_notification_from_before_shows_as_it_was_delivered(patient_dao, client):
    Notification.objects.create(recipient=patient_dao, kind="appointment.confirmed", title="Old title", body="Old text")
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    client.force_login(patient_dao)
    page = client.get("/portal/notifications/").content.decode()
    assert "Old title" in page and "Old text" in page
