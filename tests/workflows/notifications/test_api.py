"""The notifications over the API (bearer tokens, as an app): one's own, newest first, filtered by
read state, marked read by id or all at once."""

from __future__ import annotations

import pytest

from tests.api.clients import bearer_client, send
from workflows.models import Notification

pytestmark = pytest.mark.django_db


def _notify(user, title, *, kind="appointment.confirmed"):
    return Notification.objects.create(recipient=user, kind=kind, title=title, body=f"{title} body", link="/portal/")


@pytest.fixture
def inbox(patient_dao, staff_binh):
    mine = [_notify(patient_dao, f"message {i}") for i in range(3)]
    _notify(staff_binh, "someone else's")
    return mine


def test_a_person_lists_their_own_notifications_newest_first(inbox, patient_dao):
    response = bearer_client(patient_dao).get("/api/v1/notifications", {"limit": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["limit"], body["offset"], body["unread"]) == (3, 2, 0, 3)
    assert [n["title"] for n in body["items"]] == ["message 2", "message 1"]
    first = body["items"][0]
    assert first["kind"] == "appointment.confirmed" and first["body"] == "message 2 body"
    assert first["link"] == "/portal/" and first["readAt"] is None and first["emailedAt"] is None


def test_marking_by_id_touches_only_ones_own_and_the_filter_follows(inbox, patient_dao, staff_binh):
    app = bearer_client(patient_dao)
    other = Notification.objects.get(recipient=staff_binh)
    response = send(app, "POST", "/api/v1/notifications/read", {"ids": [inbox[0].pk, other.pk]})
    assert response.status_code == 200, response.content
    assert response.json() == {"marked": 1, "unread": 2}
    unread = app.get("/api/v1/notifications", {"unread": "true"}).json()
    assert [n["title"] for n in unread["items"]] == ["message 2", "message 1"] and unread["unread"] == 2
    read = app.get("/api/v1/notifications", {"unread": "false"}).json()
    assert [n["id"] for n in read["items"]] == [inbox[0].pk] and read["items"][0]["readAt"]
    other.refresh_from_db()
    assert other.read_at is None


def test_marking_all_read_and_asking_for_nothing(inbox, patient_dao):
    app = bearer_client(patient_dao)
    nothing = send(app, "POST", "/api/v1/notifications/read", {})
    assert nothing.status_code == 422 and nothing.json()["error"]["details"]["fields"] == ["ids", "all"]
    assert send(app, "POST", "/api/v1/notifications/read", {"all": True}).json() == {"marked": 3, "unread": 0}


def test_notifications_need_a_login(inbox):
    from django.test import Client

    assert Client().get("/api/v1/notifications").status_code == 401
