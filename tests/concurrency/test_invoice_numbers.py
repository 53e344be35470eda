"""Invoice numbers under concurrency: workers issuing at once get consecutive numbers with no gap and
no repeat (the year's counter row is locked), and two workers issuing the same payment's invoice at
once write one invoice.

The negative control numbers naively (count + 1, no lock): on PostgreSQL several workers pick the same
number and hit the unique (year, sequence) index, which proves the harness races (SQLite's IMMEDIATE
transactions serialise even the naive version, so the control runs on PostgreSQL only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from booking import services as svc
from booking.models import Invoice
from booking.services.invoices import Line, invoice_for_payment, invoice_issue
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.concurrency.test_booking_race import race
from tests.factories import make_user, publish_slots

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

WORKERS = 8
NOW = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)


def _issue(source: str, patient):
    return invoice_issue(
        source=source,
        recipient=patient,
        currency="VND",
        lines=[Line("Visit", Decimal("300000"))],
        buyer={"name": "Race"},
        reference="",
        now=NOW,
    )


def test_workers_issuing_at_once_get_consecutive_numbers_without_gaps():
    patient = make_user("race.invoice@example.test", "patient")
    results = race([(lambda i=i: _issue(f"race:{i}", patient)) for i in range(WORKERS)])
    assert all(kind == "ok" for kind, _ in results), results
    assert sorted(invoice.sequence for _, invoice in results) == list(range(1, WORKERS + 1))
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"MB-2030-{n:06d}" for n in range(1, WORKERS + 1)
    ]


def test_the_same_source_issued_at_once_is_one_invoice_and_costs_no_number():
    patient = make_user("race.same@example.test", "patient")
    results = race([(lambda: _issue("race:same", patient)) for _ in range(WORKERS)])
    assert all(kind == "ok" for kind, _ in results), results
    assert len({invoice.pk for _, invoice in results}) == 1
    assert _issue("race:next", patient).sequence == 2  # the losers' numbers were rolled back: no gap


def test_two_workers_issuing_one_payments_invoice_write_it_once():
    doctor = make_doctor("race.invoice.doctor@clinic.test")
    patient = make_user("race.payer@example.test", "patient")
    slot = publish_slots(doctor, start=datetime(2030, 3, 5, 2, 0, tzinfo=UTC), count=1)[0]
    appointment = svc.appointment_book(
        slot=slot,
        patient=patient,
        actor=patient,
        details=details_for(patient),
        now=datetime(2030, 3, 4, 1, 55, tzinfo=UTC),
    )
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient, now=NOW)
    svc.payment_succeeded(payment=payment, now=NOW)
    Invoice.objects.all().delete()  # the on-commit task issued it already (tasks run inline): race afresh
    connection.cursor().execute("UPDATE booking_invoicecounter SET last_number = 0")
    results = race([(lambda: invoice_for_payment(payment_id=payment.pk, now=NOW)) for _ in range(WORKERS)])
    assert all(kind == "ok" for kind, _ in results), results
    assert len({invoice.pk for _, invoice in results}) == 1
    assert Invoice.objects.get().sequence == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises every write transaction")
def test_negative_control_naive_numbering_collides_under_the_same_race():
    patient = make_user("race.naive@example.test", "patient")

    def naive(i: int):
        with transaction.atomic():
            sequence = Invoice.objects.filter(year=2030).count() + 1
            connection.cursor().execute("SELECT pg_sleep(0.05)")  # widen the window a real request has
            return Invoice.objects.create(
                number=f"NAIVE-{i}",
                year=2030,
                sequence=sequence,
                issued_at=NOW,
                recipient=patient,
                language="en",
                currency="VND",
                total=Decimal("1"),
            )

    results = race([(lambda i=i: naive(i)) for i in range(WORKERS)])
    assert any(kind == "error" and isinstance(error, IntegrityError) for kind, error in results), results
