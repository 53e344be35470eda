"""Issue invoices and credit notes: one invoice per visit payment, one credit note per refund, and
invoices for anything else the clinic charges (doctors' subscriptions, through ``invoice_issue``).

Numbers: ``<INVOICE_NUMBER_PREFIX>-<year>-<000123>``, one sequence per calendar year in the clinic's
time zone, shared by invoices and credit notes. The year's ``InvoiceCounter`` row is locked
(``select_for_update``) and incremented in the transaction that writes the document, so a number is
used exactly once and a rolled-back issue leaves no gap. Lock order: the payment or refund row (it
makes a second issuer of the same document wait, then find it), then the counter.

Issuing happens after the payment's transaction commits (``INVOICE_ISSUE_TASK`` /
``CREDIT_NOTE_ISSUE_TASK``, enqueued on commit), and again on demand by whoever needs the document
first (the email that carries it): every function here returns the existing document if there is one.

What a document says is written once into ``Invoice.data`` in the recipient's language, with the
clinic's details as they were that day: a download later shows exactly what was issued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking import rules
from booking.models import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    Payment,
    PaymentStatus,
    Refund,
    money,
)
from booking.payments import GATEWAYS
from core.audit import audit_log
from core.dates import day_text, when_text
from core.db import retry_transaction
from core.money import WHOLE


@dataclass(frozen=True)
class Line:
    """One line of a document: what, a detail under it, and the amount (negative for a discount)."""

    description: str
    amount: Decimal
    detail: str = ""


# --- the clinic's details and numbers -------------------------------------------------------------


def seller_details() -> dict[str, str]:
    """The clinic as it appears on documents issued now (``INVOICE_SELLER_*``)."""
    seller = dict(settings.INVOICE_SELLER)
    seller["name"] = seller.get("name") or settings.CLINIC_NAME
    return seller


def vat_percent() -> Decimal | None:
    raw = (settings.INVOICE_VAT_PERCENT or "").strip()
    return Decimal(raw) if raw else None


def _round(amount: Decimal, currency: str) -> Decimal:
    places = Decimal(1) if currency in WHOLE else Decimal("0.01")
    return Decimal(amount).quantize(places, rounding=ROUND_HALF_UP)


def vat_split(total: Decimal, *, percent: Decimal | None, currency: str) -> tuple[Decimal, Decimal]:
    """(amount before VAT, VAT) of a VAT-inclusive ``total``; (total, 0) without VAT."""
    if not percent:
        return money(total), Decimal("0.00")
    vat = money(_round(Decimal(total) * percent / (100 + percent), currency))
    return money(total - vat), vat


def invoice_number(year: int, sequence: int) -> str:
    return f"{settings.INVOICE_NUMBER_PREFIX}-{year}-{sequence:06d}"


def _next_sequence(year: int) -> int:
    """The next number of ``year``; call inside the transaction that writes the document."""
    counter = InvoiceCounter.objects.select_for_update().filter(year=year).first()
    if counter is None:
        try:
            with transaction.atomic():
                InvoiceCounter.objects.create(year=year)
        except IntegrityError:
            pass  # another issuer created this year's row first: lock theirs
        counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _issue_year(now: dt.datetime) -> int:
    return timezone.localtime(now, ZoneInfo(settings.CLINIC_TIME_ZONE)).year


def _write(
    *,
    kind: str,
    recipient,
    language: str,
    currency: str,
    lines: list[Line],
    buyer: dict,
    reference: str,
    paid: dict | None,
    now: dt.datetime,
    payment: Payment | None = None,
    refund: Refund | None = None,
    corrects: Invoice | None = None,
    source: str | None = None,
) -> Invoice:
    """Number and write one document (inside the caller's transaction, its own row locks taken)."""
    year = _issue_year(now)
    sequence = _next_sequence(year)
    number = invoice_number(year, sequence)
    total = money(sum((line.amount for line in lines), Decimal("0")))
    percent = vat_percent()
    net, vat = vat_split(total, percent=percent, currency=currency)
    with translation.override(language):
        issued_on = day_text(now, ZoneInfo(settings.CLINIC_TIME_ZONE))
    data = {
        "number": number,
        "kind": kind,
        "issued_at": now.isoformat(),
        "issued_on": issued_on,
        "seller": seller_details(),
        "buyer": buyer,
        "reference": reference,
        "currency": currency,
        "lines": [
            {"description": line.description, "detail": line.detail, "amount": str(money(line.amount))}
            for line in lines
        ],
        "vat_percent": str(percent) if percent else "",
        "net": str(net),
        "vat": str(vat),
        "total": str(total),
        "paid": paid or {},
        "corrects": corrects.number if corrects is not None else "",
    }
    invoice = Invoice.objects.create(
        number=number,
        year=year,
        sequence=sequence,
        kind=kind,
        issued_at=now,
        recipient=recipient,
        language=language,
        currency=currency,
        total=total,
        payment=payment,
        refund=refund,
        corrects=corrects,
        source=source,
        data=data,
    )
    audit_log(actor=None, action=f"booking.{kind}.issued", obj=invoice, data={"number": number})
    return invoice


# --- visit payments -------------------------------------------------------------------------------


def _language(user) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _method(payment: Payment) -> str:
    if payment.gateway == "cash":
        return _("Cash at the clinic")  # the gateway's label is the patient's choice, "Pay at the clinic"
    gateway = GATEWAYS.get(payment.gateway)
    return str(gateway.label) if gateway is not None else payment.gateway


def _visit_lines(payment: Payment) -> list[Line]:
    """The visit's price with its discounts (the follow-up discount, a voucher) as separate lines;
    in the active language. They add up to what was paid (else one line with the amount paid)."""
    appointment = payment.appointment
    zone = ZoneInfo(appointment.patient.effective_time_zone)
    service = appointment.appointment_type.label if appointment.appointment_type_id else _("Consultation")
    mode = _("video visit") if appointment.mode == "video" else _("in person")
    detail = " · ".join(
        part for part in (str(appointment.doctor), when_text(appointment.starts_at, zone), mode) if part
    )
    lines = [Line(service, money(appointment.price), detail)]
    follow_up = Decimal("0")
    if appointment.parent_id and appointment.follow_up_discount_percent:
        follow_up = min(
            appointment.discount,
            rules.follow_up_discount(price=appointment.price, percent=appointment.follow_up_discount_percent),
        )
        if follow_up:
            percent = appointment.follow_up_discount_percent.normalize()
            lines.append(Line(_("Follow-up discount (%(percent)s%%)") % {"percent": f"{percent:f}"}, -follow_up))
    voucher = money(appointment.discount - follow_up)
    if voucher > 0:
        code = appointment.voucher.code if appointment.voucher_id else ""
        lines.append(Line(_("Voucher %(code)s") % {"code": code} if code else _("Discount"), -voucher))
    if money(sum((line.amount for line in lines), Decimal("0"))) != money(payment.amount):
        lines = [Line(service, money(payment.amount), detail)]
    return lines


def _visit_buyer(payment: Payment) -> dict:
    appointment = payment.appointment
    return {
        "name": appointment.patient_name or str(appointment.patient),
        "email": appointment.email,
        "phone": appointment.phone,
        "national_id": appointment.national_id,
    }


def _visit_reference(payment: Payment) -> str:
    appointment = payment.appointment
    return _("Appointment #%(number)s · booking code %(code)s") % {
        "number": appointment.pk,
        "code": appointment.booking_code,
    }


def _payments():
    return Payment.objects.select_related(
        "appointment__patient", "appointment__doctor__user", "appointment__appointment_type", "appointment__voucher"
    )


@retry_transaction
def invoice_for_payment(*, payment_id: int, now: dt.datetime | None = None) -> Invoice | None:
    """The invoice of visit payment ``payment_id``, issued now if it has none yet. None for a payment
    that never went through (pending, failed, or a duplicate that was given back at once)."""
    existing = Invoice.objects.filter(payment_id=payment_id, kind=InvoiceKind.INVOICE).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    with transaction.atomic():
        payment = _payments().select_for_update(of=("self",)).filter(pk=payment_id).first()
        if payment is None or payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            return None
        if payment.paid_at is None:
            return None  # a duplicate payment, refunded the moment it arrived: not a sale
        existing = Invoice.objects.filter(payment=payment, kind=InvoiceKind.INVOICE).first()
        if existing is not None:
            return existing
        patient = payment.appointment.patient
        language = _language(patient)
        with translation.override(language):
            lines = _visit_lines(payment)
            buyer, reference = _visit_buyer(payment), _visit_reference(payment)
            paid = {
                "method": _method(payment),
                "when": when_text(payment.paid_at, ZoneInfo(patient.effective_time_zone)),
                "reference": payment.provider_reference,
            }
        return _write(
            kind=InvoiceKind.INVOICE,
            recipient=patient,
            language=language,
            currency=payment.currency,
            lines=lines,
            buyer=buyer,
            reference=reference,
            paid=paid,
            now=now,
            payment=payment,
        )


@retry_transaction
def credit_note_for_refund(*, refund_id: int, now: dt.datetime | None = None) -> Invoice | None:
    """The credit note of refund ``refund_id``, issued now if it has none yet (after its payment's
    invoice). None when the payment has no invoice (a duplicate payment given back at once)."""
    existing = Invoice.objects.filter(refund_id=refund_id).first()
    if existing is not None:
        return existing
    refund = Refund.objects.filter(pk=refund_id).only("payment_id").first()
    if refund is None:
        return None
    original = invoice_for_payment(payment_id=refund.payment_id, now=now)
    if original is None:
        return None
    now = now or timezone.now()
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        existing = Invoice.objects.filter(refund=refund).first()
        if existing is not None:
            return existing
        payment = _payments().get(pk=refund.payment_id)
        patient = payment.appointment.patient
        language = original.language
        with translation.override(language):
            description = _("Refund of invoice %(number)s") % {"number": original.number}
            lines = [Line(description, money(refund.amount), original.data.get("lines", [{}])[0].get("detail", ""))]
            reference = _visit_reference(payment)
            paid = {
                "method": _method(payment),
                "when": when_text(refund.created_at, ZoneInfo(patient.effective_time_zone)),
                "reference": "",
            }
        return _write(
            kind=InvoiceKind.CREDIT_NOTE,
            recipient=patient,
            language=language,
            currency=payment.currency,
            lines=lines,
            buyer=_visit_buyer(payment),
            reference=reference,
            paid=paid,
            now=now,
            payment=payment,
            refund=refund,
            corrects=original,
        )


# --- anything else the clinic charges -------------------------------------------------------------


@retry_transaction
def invoice_issue(
    *,
    source: str,
    recipient,
    currency: str,
    lines: list[Line],
    buyer: dict,
    reference: str,
    paid: dict | None = None,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> Invoice:
    """Issue an invoice for ``source`` (a stable key such as ``clinic.subscriptionevent:12``) to
    ``recipient``, its texts already in ``language`` (default: the recipient's). Idempotent by
    ``source``: a second call returns the first invoice."""
    existing = Invoice.objects.filter(source=source).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _write(
                kind=InvoiceKind.INVOICE,
                recipient=recipient,
                language=language or _language(recipient),
                currency=currency,
                lines=lines,
                buyer=buyer,
                reference=reference,
                paid=paid,
                now=now,
                source=source,
            )
    except IntegrityError:
        # a concurrent issuer wrote it first (its number stands; ours was rolled back with the row)
        existing = Invoice.objects.filter(source=source).first()
        if existing is None:
            raise
        return existing


# --- worker tasks (enqueued on commit by the payment services) ------------------------------------


def invoice_issue_task(payment_id: int) -> str:
    invoice = invoice_for_payment(payment_id=payment_id)
    return invoice.number if invoice else "no invoice"


def credit_note_issue_task(refund_id: int) -> str:
    note = credit_note_for_refund(refund_id=refund_id)
    return note.number if note else "no credit note"
