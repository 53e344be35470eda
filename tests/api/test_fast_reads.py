"""The free slots' fast read: an anonymous GET is answered at the API edge (``API_FAST_READS``) with
the same body and security headers as the regular route, in one statement (the doctor, the clinic
defaults and the slots together) however many slots, behind the same per-IP rate limit; whatever it
would refuse takes the regular route and its error answer. Its ``ETag`` lets a client revalidate, and
every change to a doctor's slots (a booking, a cancellation, a lapsed hold, new availability), to the
doctor's zone or booking window and to the clinic defaults is in the very next read. On PostgreSQL it
spares Django's per-request health-check ping and survives a connection cut since the last request,
or answers the project's 503 when the database cannot be reached again."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from booking import services as svc
from booking.models import BookingDefaults
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
            # the fast read: one statement reads the doctor, the clinic defaults and the slots
            assert len(day.captured_queries) == len(month.captured_queries) == 1
            sql = month.captured_queries[0]["sql"]
            for table in ('"booking_doctor"', '"booking_bookingdefaults"', '"booking_slot"'):
                assert f"FROM {table}" in sql, table
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


def test_the_doctors_zone_and_window_and_the_clinic_defaults_are_in_the_next_read(
    client, doctor_binh, slots, patient_dao
):
    """The fast read computes the slots' instants with the zone and booking window it last saw for the
    doctor; its statement returns the current ones, and a read that finds them changed reads again."""
    first_day = dt.date.fromisoformat(day_of(slots[0]))
    path = url(
        doctor_binh, (first_day - dt.timedelta(days=1)).isoformat(), (first_day + dt.timedelta(days=2)).isoformat()
    )
    regular = bearer_client(patient_dao)

    def read(statements: int) -> dict:
        with CaptureQueriesContext(connection) as queries:
            fast = client.get(path)
        assert len(queries.captured_queries) == statements  # (before the next request clears the log)
        assert fast.status_code == 200 and fast.content == regular.get(path).content
        return fast.json()

    client.get(path)  # whatever this process saw of this doctor id before
    assert len(read(statements=1)["slots"]) == 6

    defaults = BookingDefaults.load()
    defaults.min_notice_hours = 48  # the clinic's notice now covers every slot
    defaults.save()
    assert read(statements=2)["slots"] == [] and read(statements=1)["slots"] == []

    doctor_binh.min_notice_hours = 0  # the doctor's own notice wins over the clinic's
    doctor_binh.save(update_fields=["min_notice_hours"])
    assert len(read(statements=2)["slots"]) == 6

    doctor_binh.max_advance_days = 0  # nothing bookable beyond now
    doctor_binh.save(update_fields=["max_advance_days"])
    assert read(statements=2)["slots"] == []
    doctor_binh.max_advance_days = None
    doctor_binh.save(update_fields=["max_advance_days"])

    doctor_binh.time_zone = "America/New_York"
    doctor_binh.save(update_fields=["time_zone"])
    body = read(statements=2)
    assert body["timeZone"] == "America/New_York"
    assert {slot["localStart"][-6:] for slot in body["slots"]} <= {"-05:00", "-04:00"}
    assert [slot["start"] for slot in body["slots"]] == [
        slot.start.isoformat().replace("+00:00", "Z") for slot in slots
    ]
    read(statements=1)


# --- the connection: no health-check ping, a lost connection replaced (PostgreSQL) ----------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the health check is PostgreSQL's")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate(pid: int) -> None:
    """End a backend from another connection, as a database restart or an idle timeout would (waiting
    until it is gone)."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            assert cursor.fetchone()[0]
    finally:
        other.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_fast_read_spares_the_health_check_ping(client, doctor_binh, slots, patient_dao, monkeypatch, settings):
    settings.DB_HEALTH_CHECK_IDLE_SECONDS = 0  # the regular route pings before every request (core.dbhealth)
    signed_in = Client()
    signed_in.force_login(patient_dao)  # a session: its first query is the ORM's, after the ping
    pings = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: pings.append(1) or is_usable())
    path = url(doctor_binh, day_of(slots[0]))
    assert client.get(path).status_code == 200
    connection.health_check_enabled = True  # CONN_HEALTH_CHECKS, as the settings set it on PostgreSQL
    # a bearer token's check (accounts.bearer) is itself a hot read run without the ping, like this one
    for caller, expected in ((client, 0), (bearer_client(patient_dao), 0), (signed_in, 1)):
        pings.clear()
        connection.health_check_done = False  # what the start of every request does
        assert caller.get(path).status_code == 200
        assert len(pings) == expected, caller


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_cut_since_the_last_request_does_not_fail_the_fast_read(client, doctor_binh, slots):
    path = url(doctor_binh, day_of(slots[0]), day_of(slots[-1]))
    first = client.get(path)
    assert first.status_code == 200
    cut = backend_pid()
    terminate(cut)
    connection.health_check_done = False  # a new request: it would ping here; the fast read does not
    again = client.get(path)
    assert again.status_code == 200 and again.content == first.content
    assert backend_pid() != cut  # on a new connection


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_when_the_database_cannot_be_reached_again_the_fast_read_answers_503(doctor_binh, slots, settings):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 17
    client = Client(raise_request_exception=False)
    path = url(doctor_binh, day_of(slots[0]))
    assert client.get(path).status_code == 200
    terminate(backend_pid())
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = str(closed_port())  # the reconnection finds nobody listening
    try:
        response = client.get(path)
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()
    assert response.status_code == 503 and response["Retry-After"] == "17", response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert client.get(path).status_code == 200  # and back once it can be reached
