"""The portal's start page and appointment list cost the same queries whatever the rest of the clinic
books: N and 3N visits of OTHER patients (and their slots) change neither the query count nor what
the patient sees, and (on SQLite, where the plan does not depend on table statistics) no query reads
the whole appointment table (issue 19: an OR through the join to the patient's guardian did)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db

PAGES = ["/portal/", "/portal/appointments/"]


def other_patients_book(doctor, *, first: int, count: int) -> None:
    """``count`` other patients, each booking one slot of a day of two slots (one stays free)."""
    start = (timezone.now() + timedelta(days=3 + first)).replace(hour=1, minute=0, second=0, microsecond=0)
    for i in range(first, first + count):
        slots = publish_slots(doctor, start=start + timedelta(days=i - first), count=2)
        other = make_user(f"other{i}@example.test", "patient")
        svc.appointment_book(slot=slots[0], patient=other, actor=other, details=details_for(other))


def page_and_queries(client, url: str) -> tuple[str, list[str]]:
    client.get(url)  # warm the per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    # the CSRF token and the script nonce are new on every response
    html = re.sub(r'nonce="[^"]+"|\b[A-Za-z0-9]{64}\b', "", response.content.decode())
    return html, [query["sql"] for query in captured.captured_queries]


def full_appointment_scans(queries: list[str]) -> list[str]:
    scans = []
    with connection.cursor() as cursor:
        for sql in queries:
            if "booking_appointment" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = [row[-1] for row in cursor.fetchall()]
            if any(step.startswith("SCAN ") and "booking_appointment" in step for step in plan):
                scans.append(f"{sql}\n  {plan}")
    return scans


@pytest.mark.parametrize("url", PAGES)
def test_the_page_costs_the_same_for_n_and_3n_visits_of_other_patients(client, patient_lan, doctor_binh, url):
    own = publish_slots(doctor_binh, start=timezone.now() + timedelta(days=2), count=2)
    svc.appointment_book(slot=own[0], patient=patient_lan, actor=patient_lan, details=details_for(patient_lan))
    client.force_login(patient_lan)
    other_doctor = make_doctor("other.doctor@clinic.test")
    other_patients_book(other_doctor, first=0, count=3)
    html_n, with_n = page_and_queries(client, url)
    other_patients_book(other_doctor, first=3, count=6)
    html_3n, with_3n = page_and_queries(client, url)
    assert len(with_3n) == len(with_n)
    assert html_3n == html_n  # nothing of the others shows
    assert "other.doctor" not in html_3n and "other0@" not in html_3n
    if connection.vendor == "sqlite":
        assert full_appointment_scans(with_3n) == []
