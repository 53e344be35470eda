"""Issue 18 item 10: the admin's start page opens on a period with data (this month, upcoming days
included), its charts show a value axis, empty parts say so in words, and recent activity reads as
sentences linked to the objects."""

from __future__ import annotations

import datetime as dt
import json
import re

from django.conf import settings
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for
from tests.factories import publish_slots
from tests.workflows.clinic.conftest import appointment
from workflows.clinic import reports
from workflows.clinic.dashboard import admin_context


def test_the_default_period_is_this_month_with_its_upcoming_days(rf, admin_an):
    now = dt.datetime(2026, 11, 10, 5, 0, tzinfo=dt.UTC)
    request = rf.get("/admin/")
    request.user = admin_an
    period = admin_context(request, now=now)["period"]
    assert (period.first, period.last) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    request = rf.get("/admin/", {"start": "2026-10-01", "end": "2026-10-31"})
    request.user = admin_an
    period = admin_context(request, now=now)["period"]
    assert (period.first, period.last) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    december = reports.DateRange.this_month(now=dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC))
    assert (december.first, december.last) == (dt.date(2027, 1, 1), dt.date(2027, 1, 31))  # already 1 Jan in Hà Nội


def test_visits_per_day_counts_upcoming_visits_and_not_cancelled_ones(dr_an, patient_dao):
    period = reports.DateRange.this_month()
    later = max(timezone.localdate() + dt.timedelta(days=1), period.first)
    if later > period.last:  # the last day of the month: use today
        later = timezone.localdate()
    at = dt.datetime.combine(later, dt.time(10, 0), tzinfo=period.zone)
    appointment(dr_an, patient_dao, status="confirmed", starts_at=at)
    appointment(dr_an, patient_dao, status="pending_payment", starts_at=at + dt.timedelta(hours=1))
    appointment(dr_an, patient_dao, status="cancelled", starts_at=at + dt.timedelta(hours=2))
    days = dict(reports.visits_by_day(period=period))
    assert len(days) == (period.last - period.first).days + 1
    assert days[later] == 2 and sum(days.values()) == 2


def test_the_admin_page_shows_charts_with_a_value_axis_and_friendly_empty_states(client, admin_an, dr_an):
    client.force_login(admin_an)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/admin/", {"start": "2020-01-01", "end": "2020-01-31"}).content.decode()
    assert "No payments in this period yet." in html
    assert "Nothing in this period yet." in html
    chart = re.search(r'<div id="visits-chart">.*?data-value="([^"]+)"', html, re.S)
    data = json.loads(chart.group(1).replace("&quot;", '"'))
    assert len(data["labels"]) == 31 and data["datasets"][0]["displayYAxis"] is True
    assert 'href="?start=' in html and "This month" in html


def test_recent_activity_is_in_words_and_links_to_the_object(client, admin_an, staff_binh, dr_an, patient_dao):
    start = (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(dr_an, start=start, count=1)[0]
    visit = svc.appointment_book(slot=slot, patient=patient_dao, actor=staff_binh, details=details_for(patient_dao))
    client.force_login(admin_an)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/admin/").content.decode()
    activity = re.search(r'<ol[^>]*id="recent-activity">(.*?)</ol>', html, re.S).group(1)
    link = f'href="/admin/booking/appointment/{visit.pk}/change/"'
    assert link in activity
    assert f"{staff_binh.get_full_name() or staff_binh.email} booked appointment #{visit.pk}" in activity
    assert "booking.appointment" not in activity  # no raw codes


def _active_presets(html: str) -> list[str]:
    nav = re.search(r'<nav[^>]*id="dashboard-periods">(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'<a [^>]*aria-current="true"[^>]*>([^<]+)</a>', nav)


def test_exactly_one_quick_period_is_active_even_when_two_cover_the_same_days(client, admin_an, rf):
    # 30 November: "This month" (1–30 Nov) and "Last 30 days" (1–30 Nov) are the same days
    now = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)
    request = rf.get("/admin/")
    request.user = admin_an
    presets = admin_context(request, now=now)["presets"]
    same = [p["key"] for p in presets if (p["start"], p["end"]) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))]
    assert same == ["month", "last-30"]  # the clash this test is about really happens on that day
    assert [p["key"] for p in presets if p["active"]] == ["month"]
    request = rf.get("/admin/", {"start": "2026-11-01", "end": "2026-11-30", "preset": "last-30"})
    request.user = admin_an
    assert [p["key"] for p in admin_context(request, now=now)["presets"] if p["active"]] == ["last-30"]
    request = rf.get("/admin/", {"start": "2026-11-03", "end": "2026-11-09"})  # typed by hand
    request.user = admin_an
    assert not any(p["active"] for p in admin_context(request, now=now)["presets"])
    # the page marks one link, and each link says which preset it is
    client.force_login(admin_an)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _active_presets(client.get("/admin/").content.decode()) == ["This month"]
    html = client.get("/admin/", {"start": timezone.localdate().isoformat(), "end": timezone.localdate().isoformat()})
    assert _active_presets(html.content.decode()) == []


def test_recent_activity_names_a_new_family_member_in_words(client, admin_an, patient_dao):
    from accounts.family import dependant_add

    child = dependant_add(
        holder=patient_dao,
        actor=patient_dao,
        first_name="An",
        last_name="Bảo",
        date_of_birth=dt.date(2019, 5, 1),
        relationship="child",
    )
    client.force_login(admin_an)
    for language, sentence in (("en", "added the family member"), ("vi", "đã thêm người thân")):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = client.get("/admin/").content.decode()
        activity = re.search(r'<ol[^>]*id="recent-activity">(.*?)</ol>', html, re.S).group(1)
        assert sentence in activity and child.get_full_name() in activity
        assert "dependant added" not in activity  # no raw codes
