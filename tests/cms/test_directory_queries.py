"""The directory costs the same queries for N and 3N doctors: on the public site (anonymous) and as the
portal's doctor list (a signed-in patient, who reaches it through ``/portal/doctors/``), with a name
search and a specialty filter (issue 19)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.booking.scheduling.factories import SpecialtyFactory
from tests.cms.test_directory import DIRECTORY_QUERY_BOUND, listed_doctor

pytestmark = pytest.mark.django_db

SEARCHES = [{}, {"q": "doc"}, {"specialty": "cardiology"}, {"q": "doc", "specialty": "cardiology", "week": "on"}]


def cards_and_queries(client, url: str, params: dict) -> tuple[int, int]:
    client.get(url, params, follow=True)  # warm the per-process caches (site root paths, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params, follow=True)
    assert response.status_code == 200
    return len(re.findall(r'class="doctor-name"', response.content.decode())), len(queries)


def add_doctors(directory, cardiology, *, first: int, count: int) -> None:
    for i in range(first, first + count):
        listed_doctor(directory, f"Doc{i}", days=1 + i % 3, specialties=[cardiology], profile=bool(i % 2))


@pytest.mark.parametrize("params", SEARCHES)
def test_the_public_directory_costs_the_same_for_n_and_3n_doctors(client, directory, params):
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    add_doctors(directory, cardiology, first=0, count=4)
    cards_n, with_n = cards_and_queries(client, directory.url, params)
    add_doctors(directory, cardiology, first=4, count=8)
    cards_3n, with_3n = cards_and_queries(client, directory.url, params)
    assert (cards_n, cards_3n) == (4, 12)
    assert with_3n == with_n <= DIRECTORY_QUERY_BOUND


@pytest.mark.parametrize("params", SEARCHES)
def test_the_portals_doctor_list_costs_the_same_for_n_and_3n_doctors(client, directory, patient_dao, params):
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    client.force_login(patient_dao)
    add_doctors(directory, cardiology, first=0, count=4)
    cards_n, with_n = cards_and_queries(client, "/portal/doctors/", params)
    add_doctors(directory, cardiology, first=4, count=8)
    cards_3n, with_3n = cards_and_queries(client, "/portal/doctors/", params)
    assert (cards_n, cards_3n) == (4, 12)
    assert with_3n == with_n
