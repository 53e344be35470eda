"""The admin appointment list runs a fixed number of queries however many appointments it shows (list
page, surname search, status filter), for the clinic admin and for a doctor (issue 19)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking import services as svc
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.factories import make_user, publish_slots

pytestmark = pytest.mark.django_db

PAGES = (
    "/admin/booking/appointment/",
    "/admin/booking/appointment/?q=Nguy",
    "/admin/booking/appointment/?status__exact=pending_payment",
)


def book_many(doctor, count: int, *, first_day: int) -> None:
    start = (timezone.now() + timedelta(days=first_day)).replace(minute=0, second=0, microsecond=0)
    for index, slot in enumerate(publish_slots(doctor, start=start, count=count)):
        patient = make_user(f"list{first_day}.{index}@mail.test", "patient", first_name="Lan", last_name="Nguyễn")
        svc.appointment_book(slot=slot, patient=patient, actor=patient, details=details_for(patient))


def query_counts(client, pages=PAGES) -> list[int]:
    counts = []
    for url in pages:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
    return counts


def test_the_list_costs_the_same_queries_for_two_appointments_and_for_twenty(client, admin_an):
    binh = make_doctor()
    khanh = make_doctor("khanh.doctor@clinic.test")
    book_many(binh, 2, first_day=2)
    client.force_login(admin_an)
    query_counts(client)  # warm-up: what is loaded once per process
    few = query_counts(client)
    book_many(binh, 9, first_day=3)
    book_many(khanh, 9, first_day=4)
    many = query_counts(client)
    assert few == many
    assert "list3.8@mail.test" not in client.get(PAGES[0]).content.decode()  # the list shows names, not emails


def test_a_doctors_own_list_costs_the_same_queries_for_any_number(client):
    binh = make_doctor()
    book_many(binh, 2, first_day=2)
    client.force_login(binh.user)
    query_counts(client, PAGES[:2])
    few = query_counts(client, PAGES[:2])
    book_many(binh, 12, first_day=3)
    assert query_counts(client, PAGES[:2]) == few


def add_rows(doctors, patient, count: int) -> None:
    """``count`` appointments of every kind the filters pick, in bulk (the list is what is measured)."""
    from tests.workflows.clinic.conftest import appointment

    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    kinds = ["confirmed", "pending_payment", "completed", "cancelled"]
    for index in range(count):
        appointment(
            doctors[index % len(doctors)],
            patient,
            status=kinds[index % len(kinds)],
            starts_at=start + timedelta(days=index % 20 - 10, minutes=30 * index),
            mode="video" if index % 2 else "in_person",
        )


def test_the_list_with_search_filters_and_pages_costs_the_same_for_n_and_3n_rows(client, admin_an):
    binh, khanh = make_doctor(), make_doctor("khanh.doctor@clinic.test")
    patient = make_user("list.nguyen@mail.test", "patient", first_name="Lan", last_name="Nguyễn")
    today = timezone.localdate()
    pages = (
        *PAGES,
        "/admin/booking/appointment/?q=Nguy&status__exact=confirmed",
        f"/admin/booking/appointment/?doctor__id__exact={binh.pk}&mode__exact=video",
        f"/admin/booking/appointment/?starts_at_from_0={today - timedelta(days=30)}&starts_at_from_1=00:00"
        f"&starts_at_to_0={today + timedelta(days=30)}&starts_at_to_1=23:59",
        "/admin/booking/appointment/?p=2",
    )
    # N already spans two pages: a list of one page loads its rows in one query, a longer one finds
    # the page's ids first (``DeferredJoinPaginator``), one query more whatever its length
    add_rows([binh, khanh], patient, 60)
    client.force_login(admin_an)
    query_counts(client, pages)  # warm-up
    with_n = query_counts(client, pages)
    add_rows([binh, khanh], patient, 120)
    assert query_counts(client, pages) == with_n
    assert max(with_n) <= 12
