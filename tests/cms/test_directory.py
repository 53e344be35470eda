"""The doctor directory: search by name and specialty, "available this week", pages, bounded queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.models import DoctorProfilePage
from tests.booking.scheduling.factories import DoctorFactory, make_availability
from tests.cms.conftest import publish

#: queries for one directory page, whatever the number of doctors (site, routing, menu, settings,
#: the filters' specialties and clinics, the search itself, the profile pages, the patients' ratings
#: and every card's quick slots)
DIRECTORY_QUERY_BOUND = 23


def names_on(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<h2 class="doctor-name"[^>]*>(?:<a href="[^"]*">)?([^<]+)', response.content.decode())


def listed_doctor(directory, name: str, *, days: int, specialties=(), profile: bool = True):
    doctor = DoctorFactory(first_name=name, specialties=list(specialties))
    make_availability(doctor, days=days, start="09:00", end="10:00")
    if profile:
        publish(directory, DoctorProfilePage(title=str(doctor), slug=f"dr-{doctor.pk}", doctor=doctor))
    return doctor


def test_directory_lists_bookable_doctors_soonest_first_with_profile_and_booking_links(
    client, directory, chau_profile, dr_chau
):
    later = listed_doctor(directory, "Later", days=3, profile=False)
    response = client.get(directory.url)
    assert names_on(response) == [str(dr_chau), str(later)]
    html = response.content.decode()
    assert f'href="{chau_profile.url}"' in html
    assert f'href="/portal/book/{dr_chau.pk}/"' in html and f'href="/portal/book/{later.pk}/"' in html
    assert "2 doctors with free visits" in html


def test_search_by_name_ignores_accents_and_case(client, directory, chau_profile, dr_chau, dr_giang):
    make_availability(dr_giang, days=2)
    assert names_on(client.get(directory.url, {"q": "chau"})) == [str(dr_chau)]
    assert names_on(client.get(directory.url, {"q": "GIANG"})) == [str(dr_giang)]
    assert names_on(client.get(directory.url, {"q": "nobody"})) == []


def test_filter_by_specialty(client, directory, dr_chau, dr_giang, pediatrics):
    make_availability(dr_giang, days=2)
    html = client.get(directory.url, {"specialty": pediatrics.slug}).content.decode()
    assert names_on(client.get(directory.url, {"specialty": pediatrics.slug})) == [str(dr_giang)]
    assert f'<option value="{pediatrics.slug}" selected>' in html
    assert names_on(client.get(directory.url, {"q": "nhi khoa"})) == [str(dr_giang)]  # specialty by name
    assert len(names_on(client.get(directory.url, {"specialty": "no-such-specialty"}))) == 2  # ignored


def test_available_this_week_keeps_only_doctors_free_in_the_next_seven_days(client, directory, dr_chau):
    next_month = listed_doctor(directory, "NextMonth", days=20)
    assert names_on(client.get(directory.url)) == [str(dr_chau), str(next_month)]
    response = client.get(directory.url, {"week": "on"})
    assert names_on(response) == [str(dr_chau)]
    assert "Available this week" in response.content.decode()


def test_pages_of_the_directory(client, directory):
    doctors = [listed_doctor(directory, f"Doc{i}", days=1 + i, profile=False) for i in range(3)]
    directory.per_page = 2
    directory.save_revision().publish()

    first = client.get(directory.url)
    assert names_on(first) == [str(doctors[0]), str(doctors[1])]
    assert "Page 1 of 2" in first.content.decode() and 'rel="next" href="?page=2"' in first.content.decode()
    assert names_on(client.get(directory.url, {"page": 2})) == [str(doctors[2])]
    assert names_on(client.get(directory.url, {"page": "abc"})) == [str(doctors[0]), str(doctors[1])]


def test_pages_with_the_week_filter_end_where_the_week_ends(client, directory):
    soon = [listed_doctor(directory, f"Soon{i}", days=1 + i, profile=False) for i in range(3)]
    listed_doctor(directory, "Late", days=12, profile=False)
    directory.per_page = 1
    directory.save_revision().publish()

    pages = []
    for number in (1, 2, 3):
        response = client.get(directory.url, {"week": "on", "page": number})
        html = response.content.decode()
        pages.append((names_on(response), 'rel="next"' in html))
    assert pages == [([str(soon[0])], True), ([str(soon[1])], True), ([str(soon[2])], False)]
    assert 'href="?week=on&amp;page=2"' in client.get(directory.url, {"week": "on"}).content.decode()


def _directory_queries(client, directory, params) -> int:
    client.get(directory.url, params)  # warm the per-process caches (site root paths, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(directory.url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("params", [{}, {"week": "on"}, {"q": "doc", "specialty": "cardiology"}])
def test_directory_queries_do_not_grow_with_the_number_of_doctors(client, directory, params):
    from tests.booking.scheduling.factories import SpecialtyFactory

    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    doctors = [listed_doctor(directory, f"Doc{i}", days=1, specialties=[cardiology]) for i in range(3)]
    with_three = _directory_queries(client, directory, params)
    assert len(names_on(client.get(directory.url, params))) == 3

    doctors += [listed_doctor(directory, f"Doc{i}", days=1, specialties=[cardiology]) for i in range(3, 20)]
    with_twenty = _directory_queries(client, directory, params)
    assert len(names_on(client.get(directory.url, params))) == 20

    assert with_twenty == with_three
    assert with_twenty <= DIRECTORY_QUERY_BOUND


@pytest.mark.parametrize("count", [3, 20])
def test_directory_stays_under_its_query_bound(client, directory, count, django_assert_max_num_queries):
    for i in range(count):
        listed_doctor(directory, f"Doc{i}", days=1)
    client.get(directory.url)
    with django_assert_max_num_queries(DIRECTORY_QUERY_BOUND):
        assert len(names_on(client.get(directory.url))) == count
