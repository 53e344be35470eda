"""Doctors' subscription charges are invoiced like visits: a paid start and each paid renewal get an
invoice in the clinic's one number sequence, issued after commit, for the doctor (and the doctor sees
it in the admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from booking.invoice_pdf import invoice_pdf
from booking.models import Invoice
from tests.booking.invoices.pdftext import pdf_text
from workflows.clinic.invoices import subscription_invoice
from workflows.clinic.models import SubscriptionEvent, SubscriptionPlan
from workflows.clinic.services import subscription_payment_record, subscription_start
from workflows.clinic.tasks import subscriptions_sweep

START = datetime(2026, 1, 31, 5, 0, tzinfo=UTC)


@pytest.fixture
def monthly(db):
    return SubscriptionPlan.objects.create(name="Monthly", price=Decimal("1000000"), period_months=1)


def test_a_paid_start_and_a_paid_renewal_each_get_an_invoice_for_the_doctor(
    dr_an, monthly, admin_an, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subscription = subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START, paid=True)
    assert not Invoice.objects.exists()  # issued once the start has committed
    for callback in callbacks:
        callback()
    first = Invoice.objects.get()
    assert first.recipient == dr_an.user and first.total == Decimal("1000000.00")
    assert first.number == f"MB-{first.year}-000001"

    with django_capture_on_commit_callbacks(execute=True):
        subscription_payment_record(subscription=subscription, amount=Decimal("1000000"), actor=admin_an)
    assert Invoice.objects.count() == 1  # money received is credit, not a charge
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_sweep(now=datetime(2026, 2, 28, 6, 0, tzinfo=UTC)) == {"renewed": 1}
    renewal = Invoice.objects.exclude(pk=first.pk).get()
    assert renewal.sequence == first.sequence + 1 and renewal.recipient == dr_an.user
    event = SubscriptionEvent.objects.get(kind="renewed")
    assert renewal.source == f"clinic.subscriptionevent:{event.pk}"
    assert subscription_invoice(event_id=event.pk) == renewal  # idempotent

    text = pdf_text(invoice_pdf(renewal))
    assert "Subscription: Monthly" in text and "1,000,000 ₫" in text
    assert "28 Feb 2026" in text and "31 Mar 2026" in text  # the period charged


def test_an_unpaid_start_charges_nothing(dr_an, monthly, admin_an, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START)
    assert not Invoice.objects.exists()


def test_the_doctor_downloads_their_subscription_invoice_in_the_admin(
    client, dr_an, monthly, admin_an, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        subscription_start(doctor=dr_an, plan=monthly, actor=admin_an, now=START, paid=True)
    invoice = Invoice.objects.get()
    client.force_login(dr_an.user)
    assert invoice.number in client.get(reverse("admin:booking_invoice_changelist")).content.decode()
    response = client.get(reverse("admin:booking_invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
