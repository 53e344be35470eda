"""Reads of issued invoices and credit notes: whose they are, for which visit."""

from __future__ import annotations

from django.db.models import QuerySet

from booking.models import Appointment, Invoice


def visit_invoices(*, appointment: Appointment, user) -> QuerySet[Invoice]:
    """The documents issued to ``user`` for ``appointment``'s payments, oldest first (another person's
    documents are never in it, whoever asks)."""
    return Invoice.objects.filter(payment__appointment=appointment, recipient=user).order_by("issued_at", "pk")
