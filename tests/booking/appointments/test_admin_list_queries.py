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
