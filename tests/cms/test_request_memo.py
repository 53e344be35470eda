"""Wagtail's locale and view-restriction reads are answered once per read request (``cms.request_memo``,
issue 19), and nothing outlives the request: a restriction or locale saved shows on the next read,
and one saved during a request on the rest of that request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Locale, Page, PageViewRestriction

from cms import request_memo
from cms.models import DoctorProfilePage
from tests.cms.test_directory import listed_doctor

pytestmark = pytest.mark.django_db


def reads_of(queries, table: str) -> int:
    return sum(f'FROM "{table}"' in query["sql"] for query in queries.captured_queries)


def test_a_directory_request_reads_the_locale_and_the_view_restrictions_once(client, directory):
    listed_doctor(directory, "Binh", days=1)
    client.get(directory.url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(directory.url)
    assert response.status_code == 200
    assert reads_of(queries, "wagtailcore_locale") == 1
    # the page's own ancestors' restrictions (Wagtail's serve hook) and every restriction (.public()) once
    assert reads_of(queries, "wagtailcore_pageviewrestriction") == 2


def test_a_profile_made_private_loses_its_link_on_the_next_request(client, directory):
    doctor = listed_doctor(directory, "Binh", days=1)
    profile = DoctorProfilePage.objects.get(doctor=doctor)
    assert f'href="{profile.url}"' in client.get(directory.url).content.decode()
    PageViewRestriction.objects.create(page=profile, restriction_type=PageViewRestriction.LOGIN)
    assert f'href="{profile.url}"' not in client.get(directory.url).content.decode()


def test_nothing_is_remembered_outside_a_request(django_assert_num_queries):
    with django_assert_num_queries(2):
        Locale.get_active()
        Locale.get_active()


def test_a_restriction_saved_during_a_read_request_is_seen_by_the_rest_of_it(directory):
    request_memo._started(environ={"REQUEST_METHOD": "GET"})
    try:
        assert Page.objects.public().filter(pk=directory.pk).exists()
        with CaptureQueriesContext(connection) as queries:
            assert Page.objects.public().filter(pk=directory.pk).exists()
        assert reads_of(queries, "wagtailcore_pageviewrestriction") == 0  # remembered
        PageViewRestriction.objects.create(page=directory, restriction_type=PageViewRestriction.LOGIN)
        assert not Page.objects.public().filter(pk=directory.pk).exists()
    finally:
        request_memo._finished()


def test_a_write_request_remembers_nothing(directory):
    request_memo._started(environ={"REQUEST_METHOD": "POST"})
    try:
        with CaptureQueriesContext(connection) as queries:
            Locale.get_active()
            Locale.get_active()
        assert reads_of(queries, "wagtailcore_locale") == 2
    finally:
        request_memo._finished()
