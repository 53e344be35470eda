"""Where patients get their invoices: attached to the payment and refund emails (real emails through
Django's locmem backend), downloadable from their own visit's receipt page, and listed read-only in
the admin for the clinic (a doctor sees only their own)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from booking import services as svc
from booking.models import Invoice, InvoiceKind
from booking.services.invoices import Line, invoice_issue
from tests.booking.invoices.conftest import book, pay
from tests.booking.invoices.pdftext import pdf_text
from tests.factories import PASSWORD, make_user


def _patient_mail(patient, subject_part: str):
    found = [m for m in mail.outbox if m.to == [patient.email] and subject_part in m.subject]
    assert found, [m.subject for m in mail.outbox]
    return found[-1]


def _pdfs(message) -> dict[str, bytes]:
    return {name: content for name, content, mimetype in message.attachments if mimetype == "application/pdf"}


def test_the_confirmation_email_carries_the_invoice_pdf(slots, patient_dao, django_capture_on_commit_callbacks):
    appointment = pay(book(slots[0], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    invoice = appointment.payments.get().invoices.get()
    confirmation = _patient_mail(patient_dao, "Confirmed")
    pdfs = _pdfs(confirmation)
    assert list(pdfs) == [f"{invoice.number}.pdf"]
    assert pdfs[f"{invoice.number}.pdf"].startswith(b"%PDF-")
    assert f"Number: {invoice.number}" in pdf_text(pdfs[f"{invoice.number}.pdf"])
    assert f"Attached as PDF: Invoice {invoice.number}." in confirmation.body
    assert f"Invoice {invoice.number}" in confirmation.alternatives[0].content
    # the doctor's copy of the confirmation carries no patient invoice
    doctor_mail = [m for m in mail.outbox if m.to == [appointment.doctor.user.email]]
    assert doctor_mail and not any(_pdfs(m) for m in doctor_mail)


def test_when_the_doctor_reviews_the_invoice_goes_with_paid_and_not_again_with_confirmed(
    patient_dao, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.booking.appointments.helpers import make_doctor
    from tests.factories import publish_slots

    doctor = make_doctor("giang.doctor@clinic.test", auto_confirm=False)
    slot = publish_slots(
        doctor, start=(timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0), count=1
    )[0]
    appointment = pay(book(slot, patient_dao), patient_dao, django_capture_on_commit_callbacks)
    number = appointment.payments.get().invoices.get().number
    paid_mail = [m for m in mail.outbox if m.to == [patient_dao.email] and _pdfs(m)]
    assert len(paid_mail) == 1 and list(_pdfs(paid_mail[0])) == [f"{number}.pdf"]
    with django_capture_on_commit_callbacks(execute=True):
        svc.appointment_confirm(appointment=appointment, actor=doctor.user)
    confirmation = _patient_mail(patient_dao, "Confirmed")
    assert not _pdfs(confirmation)


def test_the_refund_email_carries_the_credit_note_in_the_patients_language(
    slots, patient_lan, staff_binh, django_capture_on_commit_callbacks
):
    appointment = pay(book(slots[0], patient_lan), patient_lan, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        svc.appointment_cancel(appointment=appointment, actor=staff_binh, reason="Bác sĩ bị ốm")
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    refund_mails = [m for m in mail.outbox if m.to == [patient_lan.email] and _pdfs(m)]
    assert len(refund_mails) == 1
    pdf = _pdfs(refund_mails[0])[f"{note.number}.pdf"]
    text = pdf_text(pdf)
    assert "Phiếu hoàn tiền" in text and "Tổng tiền hoàn" in text
    assert f"Đính kèm (PDF): Phiếu hoàn tiền {note.number}." in refund_mails[0].body


# --- the portal -----------------------------------------------------------------------------------


@pytest.fixture
def paid_visit(slots, patient_dao, django_capture_on_commit_callbacks):
    appointment = pay(book(slots[0], patient_dao), patient_dao, django_capture_on_commit_callbacks)
    return appointment, appointment.payments.get().invoices.get()


def _invoice_url(appointment, invoice) -> str:
    return reverse("portal:appointment_invoice", args=[appointment.public_id, invoice.number])


def test_the_patient_downloads_their_invoice_from_the_receipt_page(client, paid_visit, patient_dao):
    appointment, invoice = paid_visit
    client.force_login(patient_dao)
    page = client.get(reverse("portal:appointment_receipt", args=[appointment.public_id]))
    assert page.status_code == 200
    assert _invoice_url(appointment, invoice) in page.content.decode()
    response = client.get(_invoice_url(appointment, invoice))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response.content == client.get(_invoice_url(appointment, invoice)).content  # the same document


def test_another_patient_gets_404_for_an_invoice_that_is_not_theirs(client, paid_visit, slots):
    appointment, invoice = paid_visit
    other = make_user("khoa.patient@example.test", "patient")
    client.force_login(other)
    assert client.get(_invoice_url(appointment, invoice)).status_code == 404
    # nor through a visit of their own
    own = book(slots[1], other)
    assert client.get(_invoice_url(own, invoice)).status_code == 404
    client.logout()
    anonymous = client.get(_invoice_url(appointment, invoice))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


# --- the admin ------------------------------------------------------------------------------------


def test_staff_list_and_download_invoices_read_only(client, paid_visit, staff_binh):
    _appointment, invoice = paid_visit
    client.force_login(staff_binh)
    listing = client.get(reverse("admin:booking_invoice_changelist"))
    assert listing.status_code == 200 and invoice.number in listing.content.decode()
    download = client.get(reverse("admin:booking_invoice_pdf", args=[invoice.pk]))
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert "no-store" in download["Cache-Control"]
    change = client.get(reverse("admin:booking_invoice_change", args=[invoice.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert client.get(reverse("admin:booking_invoice_add")).status_code == 403
    assert client.post(reverse("admin:booking_invoice_delete", args=[invoice.pk]), {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_a_doctor_sees_only_their_own_invoices_in_the_admin(client, paid_visit, doctor_binh):
    _appointment, patient_invoice = paid_visit
    own = invoice_issue(
        source="test:subscription",
        recipient=doctor_binh.user,
        currency="VND",
        lines=[Line("Subscription: Monthly", Decimal("1000000"))],
        buyer={"name": str(doctor_binh)},
        reference="",
    )
    client.force_login(doctor_binh.user)
    listing = client.get(reverse("admin:booking_invoice_changelist")).content.decode()
    assert own.number in listing and patient_invoice.number not in listing
    assert client.get(reverse("admin:booking_invoice_pdf", args=[own.pk])).status_code == 200
    assert client.get(reverse("admin:booking_invoice_pdf", args=[patient_invoice.pk])).status_code == 404


def test_a_patient_cannot_open_the_admin_invoice_download(client, paid_visit, patient_dao):
    _appointment, invoice = paid_visit
    client.login(email=patient_dao.email, password=PASSWORD)
    response = client.get(reverse("admin:booking_invoice_pdf", args=[invoice.pk]))
    assert response.status_code in (302, 403, 404)
    assert not response.content.startswith(b"%PDF")
