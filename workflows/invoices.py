"""Which invoices and credit notes travel with which patient email, as PDF attachments.

The invoice goes with the first message that tells the patient their payment went through: the
confirmation when the doctor confirms paid visits automatically, else "paid, waiting for the doctor"
(the later confirmation does not repeat it). A refund message carries the refund's credit note.
Rendering the email issues a document the worker has not issued yet (``booking.services.invoices``
is idempotent), so the attachment never depends on which task ran first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from booking.invoice_pdf import invoice_pdf, invoice_title
from booking.models import Appointment, Invoice, PaymentStatus, Refund
from booking.services.invoices import credit_note_for_refund, invoice_for_payment
from core.models import OutboxMessage

PAID_KINDS = frozenset({"appointment.confirmed", "appointment.paid_pending"})
REFUND_KINDS = frozenset({"payment.refunded", "payment.late_refunded"})


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


def _paid_invoice(appointment: Appointment) -> Invoice | None:
    payment = (
        appointment.payments.filter(status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED], paid_at__isnull=False)
        .order_by("pk")
        .first()
    )
    return invoice_for_payment(payment_id=payment.pk) if payment is not None else None


def message_invoices(message: OutboxMessage, appointment: Appointment, recipient) -> list[Invoice]:
    """The documents the email of ``message`` to ``recipient`` carries (only the patient's emails do)."""
    if recipient is None or recipient.pk != appointment.patient_id:
        return []
    if message.kind in PAID_KINDS:
        if message.kind == "appointment.confirmed" and (
            OutboxMessage.objects.filter(
                kind="appointment.paid_pending", object_id=str(appointment.pk), recipient=recipient
            ).exists()
        ):
            return []  # the invoice went with "paid, waiting for the doctor"
        invoice = _paid_invoice(appointment)
        return [invoice] if invoice is not None else []
    if message.kind in REFUND_KINDS:
        match = re.search(r":refund(\d+)$", message.dedupe_key)
        refunds = Refund.objects.filter(payment__appointment=appointment).order_by("pk")
        if match:
            refunds = refunds.filter(pk=match[1])
        documents = []
        if message.kind == "payment.late_refunded":
            # the visit never went ahead: this is the first the patient hears of the payment
            invoice = _paid_invoice(appointment)
            documents += [invoice] if invoice is not None else []
        for refund in refunds:
            note = credit_note_for_refund(refund_id=refund.pk)
            if note is not None:
                documents.append(note)
        return documents
    return []


def attachments_for(invoice_ids: tuple[int, ...]) -> tuple[Attachment, ...]:
    """The PDFs of the documents ``invoice_ids``, in that order."""
    if not invoice_ids:
        return ()
    documents = Invoice.objects.in_bulk(invoice_ids)
    return tuple(Attachment(documents[pk].filename, invoice_pdf(documents[pk])) for pk in invoice_ids)


def documents_text(documents: list[Invoice]) -> str:
    """ "Invoice MB-2026-000012, Credit note MB-2026-000013" in the active language."""
    return ", ".join(f"{invoice_title(document)} {document.number}" for document in documents)
