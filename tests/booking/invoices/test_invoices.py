"""Invoices and credit notes: issued after the payment commits, numbered without gaps per year,
frozen when issued, printed in the patient's language with the clinic's details, VAT and discounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from booking import services as svc
from booking.invoice_pdf import invoice_pdf
from booking.models import Invoice, InvoiceCounter, InvoiceKind, Payment, Refund
from booking.services.invoices import Line, credit_note_for_refund, invoice_for_payment, invoice_issue, vat_split
from tests.booking.invoices.conftest import book, pay
from tests.booking.invoices.pdftext import fonts_used, pdf_text
from tests.factories import VoucherFactory, make_user

SELLER = {
    "name": "Phòng khám Đa khoa Medbook",
    "address": "12 Nguyễn Huệ, Quận 1, TP. Hồ Chí Minh",
    "tax_id": "0312345678",
    "phone": "028 3822 0000",
    "email": "billing@medbook.test",
}


def _year() -> int:
    return datetime.now(UTC).year


def test_a_paid_visit_gets_one_invoice_numbered_after_the_payment_commits(
    slots, patient_dao, django_capture_on_commit_callbacks
):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        svc.payment_succeeded(payment=payment)
    # nothing is issued inside the payment's transaction: only once it has committed
    assert not Invoice.objects.exists()
    for callback in callbacks:
        callback()
    invoice = Invoice.objects.get()
    year = _year()
    assert invoice.number == f"MB-{year}-000001"
    assert (invoice.kind, invoice.recipient, invoice.payment_id) == (InvoiceKind.INVOICE, patient_dao, payment.pk)
    assert invoice.total == Decimal("500000.00") and invoice.currency == "VND"
    # asking again (the email, a second worker) returns the same invoice, no new number
    assert invoice_for_payment(payment_id=payment.pk) == invoice
    assert InvoiceCounter.objects.get(year=year).last_number == 1

    second = pay(book(slots[1], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    assert second.payments.get().invoices.get().number == f"MB-{year}-000002"


def test_an_unpaid_or_failed_payment_has_no_invoice(slots, patient_dao):
    appointment = book(slots[0], patient_dao)
    payment = svc.payment_start(appointment=appointment, gateway="sandbox", actor=patient_dao)
    assert invoice_for_payment(payment_id=payment.pk) is None
    svc.payment_failed(payment=payment, reason="card declined")
    assert invoice_for_payment(payment_id=payment.pk) is None
    assert not Invoice.objects.exists() and not InvoiceCounter.objects.exists()


def _issue(source: str, *, now: datetime, recipient) -> Invoice:
    return invoice_issue(
        source=source,
        recipient=recipient,
        currency="VND",
        lines=[Line("Test", Decimal("100000"))],
        buyer={"name": "Test"},
        reference="",
        now=now,
    )


def test_numbers_restart_each_year_and_a_rolled_back_issue_leaves_no_gap(patient_dao):
    december = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 23:00 in Ho Chi Minh City: still 2026
    new_year = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 there
    assert _issue("a", now=december, recipient=patient_dao).number == "MB-2026-000001"
    with pytest.raises(RuntimeError), transaction.atomic():
        _issue("b", now=december, recipient=patient_dao)
        raise RuntimeError("the surrounding work failed")
    assert _issue("c", now=december, recipient=patient_dao).number == "MB-2026-000002"
    assert _issue("d", now=new_year, recipient=patient_dao).number == "MB-2027-000001"
    # the same source twice is the same invoice
    assert _issue("a", now=new_year, recipient=patient_dao).number == "MB-2026-000001"
    assert list(Invoice.objects.order_by("year", "sequence").values_list("year", "sequence")) == [
        (2026, 1),
        (2026, 2),
        (2027, 1),
    ]


@override_settings(INVOICE_SELLER=SELLER, INVOICE_VAT_PERCENT="8", INVOICE_NUMBER_PREFIX="PK")
def test_the_invoice_shows_the_clinic_the_patient_the_voucher_and_the_vat(
    slots, patient_dao, django_capture_on_commit_callbacks
):
    VoucherFactory(code="WELCOME10", value=Decimal("10"))
    appointment = pay(book(slots[0], patient_dao, voucher="WELCOME10"), patient_dao, django_capture_on_commit_callbacks)
    invoice = appointment.payments.get().invoices.get()
    assert invoice.number.startswith(f"PK-{_year()}-")
    lines = [(line["description"], line["amount"]) for line in invoice.data["lines"]]
    assert lines == [("Consultation", "500000.00"), ("Voucher WELCOME10", "-50000.00")]
    # prices include VAT: 450,000 = 416,667 + 33,333 (8%), rounded to whole đồng
    assert (invoice.data["net"], invoice.data["vat"], invoice.data["total"]) == ("416667.00", "33333.00", "450000.00")

    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF-")
    assert any(name.endswith("DejaVuSansBook") for name in fonts_used(pdf))
    text = pdf_text(pdf)
    for expected in (
        "Phòng khám Đa khoa Medbook",
        "12 Nguyễn Huệ, Quận 1, TP. Hồ Chí Minh",
        "Tax ID: 0312345678",
        "Invoice",
        f"Number: {invoice.number}",
        "Voucher WELCOME10",
        "− 50,000 ₫",
        "Amount before VAT",
        "416,667 ₫",
        "VAT (8%)",
        "33,333 ₫",
        "Total paid",
        "450,000 ₫",
        "Paid by: Card (sandbox)",
    ):
        assert expected in text, (expected, text)
    assert "Not subject to VAT." not in text


def test_a_vietnamese_patient_gets_the_invoice_in_vietnamese_with_its_diacritics(
    slots, patient_lan, django_capture_on_commit_callbacks
):
    appointment = pay(book(slots[0], patient_lan), patient_lan, django_capture_on_commit_callbacks)
    invoice = appointment.payments.get().invoices.get()
    assert invoice.language == "vi"
    text = pdf_text(invoice_pdf(invoice))
    for expected in ("Hóa đơn", f"Số: {invoice.number}", "Người mua", "Hoàng Lan", "Khám bệnh", "Tổng thanh toán"):
        assert expected in text, (expected, text)
    assert "500.000 ₫" in text  # grouped the Vietnamese way
    assert "Không chịu thuế GTGT." in text  # no VAT configured: medical examinations are exempt


def test_a_follow_up_invoice_shows_the_follow_up_discount_as_a_line(
    doctor_binh, slots, patient_dao, django_capture_on_commit_callbacks
):
    from tests.booking.appointments.helpers import completed_visit, follow_up_type

    kind = follow_up_type()
    completed_visit(doctor_binh, patient_dao)
    suggestion = svc.follow_up_suggest(
        doctor_user=doctor_binh.user, patient=patient_dao, suggested_date=slots[0].start.date(), appointment_type=kind
    )
    accepted = svc.follow_up_accept(appointment=suggestion, slot=slots[0], actor=patient_dao)
    paid = pay(accepted, patient_dao, django_capture_on_commit_callbacks)
    invoice = paid.payments.get().invoices.get()
    lines = [(line["description"], line["amount"]) for line in invoice.data["lines"]]
    assert lines == [("Follow-up", "500000.00"), ("Follow-up discount (5%)", "-25000.00")]
    assert invoice.total == Decimal("475000.00")
    assert "Follow-up discount (5%)" in pdf_text(invoice_pdf(invoice))


def test_an_issued_invoice_never_changes_when_the_clinic_or_the_patient_does(
    slots, patient_dao, django_capture_on_commit_callbacks
):
    with override_settings(INVOICE_SELLER=SELLER):
        appointment = pay(book(slots[0], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    invoice = appointment.payments.get().invoices.get()
    first = invoice_pdf(invoice)
    # later: the clinic moves and the patient renames themselves and switches language
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    type(appointment).objects.filter(pk=appointment.pk).update(last_name="Renamed")
    with override_settings(INVOICE_SELLER={**SELLER, "name": "Another clinic", "tax_id": "999"}):
        again = invoice_pdf(Invoice.objects.get(pk=invoice.pk))
    assert again == first
    assert "Phòng khám Đa khoa Medbook" in pdf_text(again) and "Another clinic" not in pdf_text(again)


def test_a_refund_gets_a_credit_note_that_corrects_the_invoice(
    slots, patient_dao, staff_binh, django_capture_on_commit_callbacks
):
    appointment = pay(book(slots[0], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    invoice = appointment.payments.get().invoices.get()
    with django_capture_on_commit_callbacks(execute=True):
        svc.appointment_cancel(appointment=appointment, actor=staff_binh, reason="Doctor ill")
    refund = Refund.objects.get()
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.refund == refund and note.corrects == invoice and note.recipient == patient_dao
    assert note.number == f"MB-{_year()}-000002" and note.total == refund.amount == Decimal("500000.00")
    assert credit_note_for_refund(refund_id=refund.pk) == note
    text = pdf_text(invoice_pdf(note))
    for expected in ("Credit note", f"Corrects invoice {invoice.number}", f"Refund of invoice {invoice.number}"):
        assert expected in text, (expected, text)
    assert "Total refunded" in text and "500,000 ₫" in text


def test_a_duplicate_payment_given_back_at_once_is_neither_invoiced_nor_credited(
    slots, patient_dao, django_capture_on_commit_callbacks
):
    appointment = pay(book(slots[0], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    duplicate = Payment.objects.create(
        appointment=appointment, gateway="sandbox", amount=Decimal("500000"), currency="VND"
    )
    with django_capture_on_commit_callbacks(execute=True):
        svc.payment_succeeded(payment=duplicate)
    duplicate.refresh_from_db()
    assert duplicate.status == "refunded" and duplicate.refunds.count() == 1
    assert not duplicate.invoices.exists()
    assert Invoice.objects.count() == 1  # only the first payment's


def test_the_numbers_are_shared_by_everyone_and_belong_to_their_recipient(patient_dao):
    other = make_user("khoa.patient@example.test", "patient")
    first = _issue("x1", now=datetime(2026, 5, 1, tzinfo=UTC), recipient=patient_dao)
    second = _issue("x2", now=datetime(2026, 5, 1, tzinfo=UTC), recipient=other)
    assert (first.sequence, second.sequence) == (1, 2)
    assert list(other.invoices.all()) == [second]


def test_vat_is_taken_out_of_a_price_that_includes_it():
    assert vat_split(Decimal("108000"), percent=Decimal("8"), currency="VND") == (
        Decimal("100000.00"),
        Decimal("8000.00"),
    )
    assert vat_split(Decimal("110.00"), percent=Decimal("10"), currency="USD") == (Decimal("100.00"), Decimal("10.00"))
    assert vat_split(Decimal("500000"), percent=None, currency="VND") == (Decimal("500000.00"), Decimal("0.00"))
