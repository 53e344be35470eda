"""The patient's calendar link on the profile page: create, show, new link, names, switch off."""

from __future__ import annotations

import icalendar
from django.test import Client

from workflows.operations.models import CalendarFeed
from workflows.operations.selectors import active_feed, feed_path, feed_url


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_patient_creates_a_calendar_link_and_sees_it_on_the_profile_page(patient_dao):
    client = signed_in(patient_dao)
    page = client.get("/portal/profile/")
    assert "Create my calendar link" in page.content.decode() and page["Cache-Control"] == "no-store, private"
    assert client.get("/portal/profile/calendar/new/").status_code == 405  # GET changes nothing
    assert not CalendarFeed.objects.exists()

    response = client.post("/portal/profile/calendar/new/")
    assert response.status_code == 302 and response["Location"] == "/portal/profile/#calendar"
    feed = active_feed(patient_dao)
    html = client.get("/portal/profile/").content.decode()
    assert feed_url(feed) in html and "webcal://" in html
    calendar = icalendar.Calendar.from_ical(Client().get(feed_path(feed)).content)
    assert calendar.walk("VEVENT") == []


def test_a_new_link_replaces_the_old_and_switching_off_ends_it(patient_dao):
    client = signed_in(patient_dao)
    client.post("/portal/profile/calendar/new/")
    old = active_feed(patient_dao)
    client.post("/portal/profile/calendar/new/")
    new = active_feed(patient_dao)
    assert new != old and Client().get(feed_path(old)).status_code == 404
    client.post("/portal/profile/calendar/names/", {"with_names": "on"})
    assert active_feed(patient_dao).with_names
    client.post("/portal/profile/calendar/off/")
    assert active_feed(patient_dao) is None and Client().get(feed_path(new)).status_code == 404
    assert "Create my calendar link" in client.get("/portal/profile/").content.decode()


def test_the_calendar_section_is_translated(client, patient_dao):
    client.force_login(patient_dao)
    client.cookies["django_language"] = "vi"
    html = client.get("/portal/profile/").content.decode()
    assert "Tạo liên kết lịch của tôi" in html and "Lịch khám trong lịch của riêng bạn" in html


def test_a_csrf_less_post_changes_nothing(patient_dao):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_dao)
    assert client.post("/portal/profile/calendar/new/").status_code == 403
    assert not CalendarFeed.objects.exists()
