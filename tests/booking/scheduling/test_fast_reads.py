"""The free-slot reads are fast without changing what they answer: the API's free slots are rendered
from plain rows in the schema's exact shape, in a fixed number of queries however many slots, and the
clinic defaults are cached with an invalidation that the next read sees."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.api.scheduling import FreeSlotsOut
from booking.models import BookingDefaults
from booking.services import availability_create, availability_generate_weekly
from tests.booking.scheduling.conftest import book, hold
from tests.booking.scheduling.factories import future_date
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


def free_slots_url(doctor, first: dt.date, last: dt.date) -> str:
    return f"/api/v1/doctor/{doctor.pk}/schedules?from={first.isoformat()}&to={last.isoformat()}"


def test_free_slots_answer_is_exactly_the_schema_shape(client, dr_chau, now):
    room = RoomFactory(name="101")
    day = future_date(3, doctor=dr_chau, now=now)
    video = availability_create(
        doctor=dr_chau, date=day, start_time=dt.time(8), end_time=dt.time(9), slot_minutes=30, actor=None, now=now
    )
    in_person = availability_create(
        doctor=dr_chau, date=day, start_time=dt.time(9), end_time=dt.time(10), slot_minutes=30, actor=None, now=now,
        room=room,
    )  # fmt: skip
    slots = list(in_person.slots.order_by("start"))
    hold(slots[1], until=now - dt.timedelta(minutes=1))  # a lapsed hold is free
    book(video.slots.order_by("start").first())
    answer = client.get(free_slots_url(dr_chau, day, day))
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/json")
    body = answer.json()
    # what the schema would render from the same data: the same keys, types and values
    assert FreeSlotsOut.model_validate(body).model_dump(mode="json", by_alias=True) == body
    # written straight from the rows, byte for byte as json.dumps writes the same dict
    assert json.dumps(body).encode() == answer.content
    assert [s["localStart"][11:16] for s in body["slots"]] == ["08:30", "09:00", "09:30"]
    assert [s["status"] for s in body["slots"]] == ["free", "free", "free"]
    assert body["slots"][0]["facility"] is None and body["slots"][0]["mode"] == "video"
    place = body["slots"][1]
    assert place["mode"] == "in_person" and place["room"] == "101"
    assert place["facility"]["id"] == room.facility_id and place["facility"]["mapUrl"].startswith("https://")
    assert set(place["facility"]) == {"id", "name", "slug", "address", "district", "city", "phone", "latitude",
                                      "longitude", "mapUrl"}  # fmt: skip
    assert body["fromDate"] == day.isoformat() and body["timeZone"] == dr_chau.time_zone


def test_free_slots_of_a_month_cost_the_queries_of_a_day(client, dr_chau, now):
    first = future_date(1, doctor=dr_chau, now=now)
    availability_generate_weekly(
        doctor=dr_chau, weekdays=set(range(7)), start_time=dt.time(8), end_time=dt.time(17), slot_minutes=30,
        date_from=first, date_to=first + dt.timedelta(days=29), actor=None, now=now,
    )  # fmt: skip
    client.get(free_slots_url(dr_chau, first, first))  # warm up what is per process
    with CaptureQueriesContext(connection) as one_day:
        day = client.get(free_slots_url(dr_chau, first, first)).json()
    with CaptureQueriesContext(connection) as month:
        days30 = client.get(free_slots_url(dr_chau, first, first + dt.timedelta(days=29))).json()
    assert len(day["slots"]) == 18 and len(days30["slots"]) == 18 * 30
    assert len(one_day.captured_queries) == len(month.captured_queries)


def test_saving_the_defaults_is_seen_by_the_next_read(transactional_db):
    """Outside a transaction the defaults are cached; saving them clears the entry."""
    first = BookingDefaults.load()
    assert first.min_notice_hours == 2 and first.pk == 1
    with CaptureQueriesContext(connection) as cached:
        assert BookingDefaults.load().min_notice_hours == 2
    assert len(cached.captured_queries) == 0  # served from the cache
    changed = BookingDefaults.load()
    changed.min_notice_hours = 5
    changed.save()
    assert BookingDefaults.load().min_notice_hours == 5
    BookingDefaults.objects.get(pk=1).delete()
    assert BookingDefaults.load().min_notice_hours == 2  # back to the field defaults


def test_inside_a_transaction_the_defaults_are_read_not_cached(db):
    with CaptureQueriesContext(connection) as reads:
        BookingDefaults.load()
        BookingDefaults.load()
    assert len(reads.captured_queries) == 2
