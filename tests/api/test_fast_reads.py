"""The free slots' fast read: an anonymous GET is answered at the API edge (``API_FAST_READS``) with
the same body and security headers as the regular route, in a constant number of queries (the doctor, the clinic defaults unless cached, the slots), behind the
same per-IP rate limit; whatever it would refuse takes the regular route and its error answer. Its
``ETag`` lets a client revalidate, and every change to a doctor's slots (a booking, a cancellation, a
lapsed hold, new availability) is in the very next read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from booking import services as svc
from tests.api.clients import bearer_client
from tests.booking.appointments.helpers import details_for
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "Permissions-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
)


def day_of(slot) -> str:
    return slot.start.astimezone(slot.doctor.zone).date().isoformat()


def url(doctor, first: str, last: str | None = None) -> str:
    return f"/api/v1/doctor/{doctor.pk}/schedules?from={first}&to={last or first}"


def starts(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [slot["start"] for slot in response.json()["slots"]]


def test_the_fast_read_answers_what_the_route_answers(client, doctor_binh, slots, patient_dao):
    path = url(doctor_binh, day_of(slots[0]), day_of(slots[-1]))
    fast = client.get(path)
    regular = bearer_client(patient_dao).get(path)  # an Authorization header: the regular route
    assert fast.status_code == regular.status_code == 200
    assert fast.content == regular.content and len(fast.json()["slots"]) == 6
    assert fast["Content-Type"] == regular["Content-Type"] == "application/json; charset=utf-8"
    for header in SECURITY_HEADERS:
        assert header in regular, header
        assert fast.get(header) == regular[header], header
    assert fast["ETag"] == regular["ETag"]
    # the fingerprint of the edge: LocaleMiddleware, which the fast read skips, names the language
    assert "Content-Language" in regular and "Content-Language" not in fast
    with override_settings(API_FAST_READS={}):
        assert "Content-Language" in client.get(path)  # without the table: the route answers
    assert "Content-Language" in client.get(path, headers={"Cookie": "sessionid=x"})  # a session: the route


@pytest.mark.parametrize(
    "query",
    [
        "from=2027-02-30",  # no such date
        "from=27-01-01",
        "from=2027-03-02&to=2027-03-01",  # backwards
        "from=2027-01-01&to=2027-04-01",  # longer than 62 days
    ],
)
def test_what_the_fast_read_would_refuse_gets_the_api_error(client, doctor_binh, query):
    response = client.get(f"/api/v1/doctor/{doctor_binh.pk}/schedules?{query}", headers={"Accept-Language": "vi"})
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert response["Content-Language"] == "vi"  # answered by the regular route, in the caller's language


def test_an_unknown_or_unbookable_doctor_is_404(client, doctor_binh):
    assert client.get(f"/api/v1/doctor/{doctor_binh.pk + 1000}/schedules").json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/doctor/{2**64}/schedules").status_code == 404
    doctor_binh.user.is_active = False
    doctor_binh.user.save(update_fields=["is_active"])
    assert client.get(f"/api/v1/doctor/{doctor_binh.pk}/schedules").status_code == 404


@override_settings(API_RATE_LIMIT_PER_IP=2, API_RATE_LIMIT_PER_USER=0)
def test_the_fast_read_counts_against_the_ip_limit(doctor_binh, slots):
    client = Client(REMOTE_ADDR="203.0.113.70")
    path = url(doctor_binh, day_of(slots[0]))
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(path).json()["error"]["code"] == "rate_limited"


def test_one_day_and_thirty_days_cost_the_same_queries(client, patient_dao, doctor_binh, now_slots_month):
    first, last = now_slots_month
    regular = bearer_client(patient_dao)
    for caller in (client, regular):
        caller.get(url(doctor_binh, first))  # what is per process (the clinic defaults, compiled SQL)
        with CaptureQueriesContext(connection) as day:
            one = caller.get(url(doctor_binh, first))
        with CaptureQueriesContext(connection) as month:
            thirty = caller.get(url(doctor_binh, first, last))
        assert len(one.json()["slots"]) == 4 and len(thirty.json()["slots"]) == 4 * 30
        if caller is client:
            # the fast read: the doctor, the clinic defaults (cached per process, but never inside a
            # transaction, as this test runs), the slots
            tables = [query["sql"].split(" FROM ", 1)[1].split()[0] for query in month.captured_queries]
            assert tables == ['"booking_doctor"', '"booking_bookingdefaults"', '"booking_slot"']
            assert len(day.captured_queries) == 3
        else:  # the route adds what authenticating the bearer token reads, the same for both
            assert len(day.captured_queries) == len(month.captured_queries)


@pytest.fixture
def now_slots_month(doctor_binh) -> tuple[str, str]:
    """Four slots a day for 30 days from the day after tomorrow (doctor's local dates)."""
    zone = doctor_binh.zone
    first = (timezone.now().astimezone(zone) + dt.timedelta(days=2)).date()
    for offset in range(30):
        day = first + dt.timedelta(days=offset)
        start = dt.datetime.combine(day, dt.time(9), tzinfo=zone).astimezone(dt.UTC)
        publish_slots(doctor_binh, start=start, count=4)
    return first.isoformat(), (first + dt.timedelta(days=29)).isoformat()


def test_the_next_read_sees_every_change_and_the_etag_follows(client, doctor_binh, slots, patient_dao, staff):
    last_day = dt.date.fromisoformat(day_of(slots[-1])) + dt.timedelta(days=1)
    path = url(doctor_binh, day_of(slots[0]), last_day.isoformat())
    first = client.get(path)
    etag = first["ETag"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304  # nothing changed
    everything = starts(first)
    assert len(everything) == 6

    # a booking holds the slot: gone from the next read, and the old ETag no longer matches
    held = svc.appointment_book(slot=slots[0], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    after_booking = client.get(path, headers={"If-None-Match": etag})
    assert starts(after_booking) == everything[1:] and after_booking["ETag"] != etag

    # the hold lapses (nobody paid): the slot is free again on the next read, with no write at all
    held.refresh_from_db()
    with freeze_time(held.hold_expires_at + dt.timedelta(seconds=1)):
        assert starts(client.get(path)) == everything

    # a paid booking takes its slot; cancelling it frees the slot on the next read
    paid = svc.appointment_book(slot=slots[1], patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    svc.payment_mark_cash_paid(appointment=paid, actor=staff)
    assert slots[1].start.isoformat().replace("+00:00", "Z") not in starts(client.get(path))
    svc.appointment_cancel(appointment=paid, actor=patient_dao, reason="plans changed")
    assert slots[1].start.isoformat().replace("+00:00", "Z") in starts(client.get(path))

    # new availability appears on the next read
    added = publish_slots(doctor_binh, start=slots[-1].end + dt.timedelta(hours=1), count=1)
    assert starts(client.get(path))[-1] == added[0].start.isoformat().replace("+00:00", "Z")


@pytest.fixture
def staff(db):
    return make_user("cashier@clinic.test", "staff")
