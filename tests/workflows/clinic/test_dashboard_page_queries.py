"""The admin's start page, rendered whole for the clinic admin, a staff member and a doctor, costs the
same queries with N and 3N appointments of every kind (issue 19; the selectors' own counts are in
``test_reports``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import Payment
from tests.factories import publish_slots
from tests.workflows.clinic.conftest import appointment

pytestmark = pytest.mark.django_db


def add_visits(doctors, patient, *, times: int, first: int) -> None:
    """For each doctor, ``times`` rounds of: a visit today, a completed and paid one, a late
    cancellation, a no-show, a request to confirm and a payment hold (times relative to now, so the
    default period, "this month", and "today" see them)."""
    now = timezone.now().replace(second=0, microsecond=0)
    for doctor in doctors:
        for round_ in range(first, first + times):
            step = dt.timedelta(minutes=30 * round_)
            slots = publish_slots(doctor, start=now + dt.timedelta(hours=1) + step * 4, count=2)
            appointment(doctor, patient, status="confirmed", slot=slots[0])
            appointment(doctor, patient, status="pending", slot=slots[1])
            done = appointment(doctor, patient, status="completed", starts_at=now - dt.timedelta(hours=3) - step)
            Payment.objects.create(
                appointment=done,
                gateway="cash",
                amount=Decimal("500000"),
                currency="VND",
                status="succeeded",
                paid_at=now,
            )
            appointment(doctor, patient, status="cancelled", starts_at=now + step, cancelled_late=True)
            appointment(doctor, patient, status="no_show", starts_at=now - dt.timedelta(hours=2) - step)
            appointment(
                doctor,
                patient,
                status="pending_payment",
                starts_at=now + dt.timedelta(days=1) + step,
                hold_expires_at=now + dt.timedelta(minutes=10),
            )


def page_queries(client, user) -> int:
    client.force_login(user)
    client.get("/admin/")  # warm-up: what is loaded once per process
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/")
    assert response.status_code == 200
    return len(queries)


def test_each_roles_dashboard_costs_the_same_for_n_and_3n_appointments(
    client, dr_an, dr_bao, patient_lan, admin_an, staff_binh
):
    people = {"admin": admin_an, "staff": staff_binh, "doctor": dr_an.user}
    add_visits([dr_an, dr_bao], patient_lan, times=2, first=0)
    with_n = {role: page_queries(client, user) for role, user in people.items()}
    add_visits([dr_an, dr_bao], patient_lan, times=4, first=2)
    with_3n = {role: page_queries(client, user) for role, user in people.items()}
    assert with_3n == with_n
