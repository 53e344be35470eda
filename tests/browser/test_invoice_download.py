"""A patient in a real browser opens their paid visit, goes to its receipt and downloads the invoice
PDF (headless Chromium); the file is the issued invoice, in the patient's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import services as svc
from booking.models import Invoice
from tests.booking.appointments.helpers import details_for, make_doctor
from tests.booking.invoices.pdftext import pdf_text
from tests.factories import publish_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_patient_downloads_the_invoice_of_a_paid_visit(browser_as, patient_dao, tmp_path):
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    doctor = make_doctor("invoice.browser@clinic.test")
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor, start=start, count=1)[0]
    visit = svc.appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    payment = svc.payment_start(appointment=visit, gateway="sandbox", actor=patient_dao)
    svc.payment_succeeded(payment=payment)  # transaction=True: the invoice task ran on commit
    invoice = Invoice.objects.get(payment=payment)

    page = browser_as(patient_dao)
    page.goto(f"/portal/appointments/{visit.public_id}/")
    page.get_by_role("link", name="Biên nhận").first.click()
    page.wait_for_url(f"**/appointments/{visit.public_id}/receipt/")
    link = page.get_by_role("link", name=f"Hóa đơn {invoice.number} (PDF)")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    assert f"Số: {invoice.number}" in text and "Tổng thanh toán" in text
