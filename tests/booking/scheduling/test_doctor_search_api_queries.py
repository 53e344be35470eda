"""The doctor search API (``GET /api/v1/doctors``) costs the same queries for N and 3N doctors, with a
name search, a specialty and a place filter (issue 19)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.booking.scheduling.factories import DoctorFactory, SpecialtyFactory, make_availability

pytestmark = pytest.mark.django_db

SEARCHES = [{}, {"q": "doc"}, {"specialty": "cardiology"}, {"q": "doc", "mode": "video", "limit": 50}]


def found_and_queries(client, params: dict) -> tuple[int, int, int]:
    client.get("/api/v1/doctors", params)  # warm-up: what is loaded once per process
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/doctors", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return len(body["items"]), body["count"], len(queries)


def add_doctors(cardiology, *, first: int, count: int) -> None:
    for i in range(first, first + count):
        doctor = DoctorFactory(first_name=f"Doc{i}", specialties=[cardiology])
        make_availability(doctor, days=1 + i % 3, start="09:00", end="10:00")


@pytest.mark.parametrize("params", SEARCHES)
def test_the_doctor_search_api_costs_the_same_for_n_and_3n_doctors(client, params):
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    add_doctors(cardiology, first=0, count=5)
    items_n, count_n, with_n = found_and_queries(client, params)
    add_doctors(cardiology, first=5, count=10)
    items_3n, count_3n, with_3n = found_and_queries(client, params)
    assert (count_n, count_3n) == (5, 15)
    assert (items_n, items_3n) == (5, 15)
    assert with_3n == with_n <= 6
