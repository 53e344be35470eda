"""``core.prepared``: the frozen parameters of a compiled query (its statuses, flags, fixed names) are
literals in its SQL on PostgreSQL, so that PostgreSQL can plan a prepared statement once (a generic
plan may use a partial index only when the statement names the status), and the answers stay the
ORM's whatever the literal holds (issue 19)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from booking.models import Appointment, AppointmentStatus
from core.prepared import PreparedQuery, hot_cursor
from tests.api.clients import bearer_client
from tests.booking.appointments.helpers import make_doctor
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db

AWKWARD = "O'Brien 100%s %% \\ 'x'"  # a quote, a percent sign, a would-be placeholder, a backslash


def _by_name(pk, name):
    return User.objects.filter(pk=pk, last_name=name, is_active=True).values_list("pk", "last_name")


def test_frozen_values_are_literals_on_postgresql_and_answer_as_the_orm_does():
    user = make_user("frozen@example.test", "patient", last_name=AWKWARD)
    # the name and the flag frozen, the id a placeholder
    query = PreparedQuery(lambda user_id: _by_name(user_id, AWKWARD), ints=("user_id",))
    sql, params = query.statement(connection, {"user_id": user.pk})
    assert query.rows(user_id=user.pk) == list(_by_name(user.pk, AWKWARD)) == [(user.pk, AWKWARD)]
    assert query.rows(user_id=user.pk + 1000) == []
    if connection.vendor == "postgresql":
        assert params == [user.pk] and "O''Brien" in sql
    else:  # SQLite: nothing to plan once, the values stay parameters
        assert AWKWARD in params and user.pk in params


def test_an_enum_member_is_written_as_its_value():
    query = PreparedQuery(
        lambda patient_id: (
            Appointment.objects.filter(patient_id=patient_id, status=AppointmentStatus.PENDING_PAYMENT)
            .order_by()
            .values_list("pk")
        ),
        ints=("patient_id",),
    )
    sql, params = query.statement(connection, {"patient_id": 1})
    if connection.vendor == "postgresql":
        assert "'pending_payment'" in sql and params == [1]
    assert query.rows(patient_id=1) == []


@pytest.mark.django_db(transaction=True)
def test_a_booking_claim_is_planned_once_per_connection_on_postgresql():
    """The booking's claim statement (the claim, the patient's live holds, the re-read of the slot) is a
    prepared statement that PostgreSQL runs with its generic plan after its first runs, instead of
    planning it again on every booking (which cost more than running it)."""
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        pytest.skip("prepared statements are a PostgreSQL matter")  # the suite also runs on PostgreSQL in CI
    doctor = make_doctor()
    start = (timezone.now() + timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
    slots = publish_slots(doctor, start=start, count=8)
    patients = [make_user(f"planned{i}@example.test", "patient") for i in range(4)]
    with hot_cursor(connection) as cursor:
        cursor.execute("ANALYZE booking_appointment")
    for number, slot in enumerate(slots):
        body = {
            "doctorId": slot.doctor_id,
            "scheduleId": slot.pk,
            "firstName": "Pat",
            "lastName": "Planned",
            "phone": "+84901234567",
            "email": "pat.planned@example.test",
        }
        client = bearer_client(patients[number // 2])
        response = client.post("/api/v1/appointments", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements"
            " WHERE statement LIKE 'WITH claimed AS (UPDATE %%'"
        )
        generic, custom = cursor.fetchone()
    # psycopg prepares one statement per set of parameter types (an id may bind as int2, int4 or
    # int8): each plans 5 times before PostgreSQL compares the generic plan with them
    assert custom is not None and generic >= 1, (generic, custom)
