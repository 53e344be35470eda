"""The doctor's calendar feed in the admin workspace: create, see, new link, names, switch off."""

from __future__ import annotations

import icalendar
import pytest
from django.test import Client

from tests.booking.appointments.helpers import make_doctor
from workflows.operations.models import CalendarFeed
from workflows.operations.selectors import active_feed, feed_path, feed_url
from workflows.operations.services import calendar_feed_renew


@pytest.fixture
def doctor_binh(db):
    return make_doctor("binh.doctor@clinic.test")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, data=None):
    client.get(url)
    return client.post(url, {"_form_submitted": "on", **(data or {})})


def test_a_doctor_finds_the_feed_in_the_sidebar_and_creates_a_link(doctor_binh):
    client = signed_in(doctor_binh.user)
    assert 'href="/admin/operations/calendarfeed/"' in client.get("/admin/").content.decode()
    listing = client.get("/admin/operations/calendarfeed/")
    assert listing.status_code == 200 and "Create my calendar link" in listing.content.decode()

    response = post(client, "/admin/operations/calendarfeed/create-link/")
    feed = active_feed(doctor_binh.user)
    assert response.status_code == 302 and response["Location"] == f"/admin/operations/calendarfeed/{feed.pk}/change/"
    # with a feed, the list opens it; the page shows the link to its owner
    assert client.get("/admin/operations/calendarfeed/")["Location"] == response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert feed_url(feed) in page and "webcal://" in page
    assert icalendar.Calendar.from_ical(Client().get(feed_path(feed)).content).walk("VEVENT") == []


def test_new_link_names_and_switch_off_from_the_workspace(doctor_binh):
    client = signed_in(doctor_binh.user)
    old = calendar_feed_renew(user=doctor_binh.user, actor=doctor_binh.user)
    response = post(client, f"/admin/operations/calendarfeed/{old.pk}/renew_detail/")
    new = active_feed(doctor_binh.user)
    assert new != old and response["Location"] == f"/admin/operations/calendarfeed/{new.pk}/change/"
    assert Client().get(feed_path(old)).status_code == 404

    post(client, f"/admin/operations/calendarfeed/{new.pk}/names_detail/", {"with_names": "on"})
    assert CalendarFeed.objects.get(pk=new.pk).with_names
    post(client, f"/admin/operations/calendarfeed/{new.pk}/revoke_detail/")
    assert active_feed(doctor_binh.user) is None and Client().get(feed_path(new)).status_code == 404


def test_a_doctor_never_sees_another_doctors_feed(doctor_binh):
    other = make_doctor("giang.doctor@clinic.test")
    feed = calendar_feed_renew(user=other.user, actor=other.user)
    client = signed_in(doctor_binh.user)
    assert client.get(f"/admin/operations/calendarfeed/{feed.pk}/change/").status_code == 302  # not in their list
    post(client, f"/admin/operations/calendarfeed/{feed.pk}/revoke_detail/")
    assert active_feed(other.user) == feed


def test_a_clinic_admin_can_switch_off_a_feed_but_never_sees_its_link(doctor_binh, admin_an):
    feed = calendar_feed_renew(user=doctor_binh.user, actor=doctor_binh.user)
    client = signed_in(admin_an)
    page = client.get(f"/admin/operations/calendarfeed/{feed.pk}/change/").content.decode()
    assert feed.key not in page and "Only its owner sees the link." in page
    post(client, f"/admin/operations/calendarfeed/{feed.pk}/revoke_detail/")
    assert active_feed(doctor_binh.user) is None


def test_staff_have_no_calendar_feed_page(staff_binh):
    client = signed_in(staff_binh)
    assert client.get("/admin/operations/calendarfeed/").status_code == 403
    assert 'href="/admin/operations/calendarfeed/"' not in client.get("/admin/").content.decode()


def test_the_workspace_page_is_translated(doctor_binh):
    doctor_binh.user.language = "vi"
    doctor_binh.user.save(update_fields=["language"])
    client = signed_in(doctor_binh.user)
    client.cookies["django_language"] = "vi"
    html = client.get("/admin/operations/calendarfeed/").content.decode()
    assert "Tạo liên kết lịch của tôi" in html
