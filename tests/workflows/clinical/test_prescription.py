"""The signed prescription prints as a PDF in the patient's language, with the clinic's name and the
doctor's; only readers of the note get it, and each download is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditLog
from tests.workflows.clinical.helpers import asthma_note, pdf_texts
from workflows.clinical import services as svc
from workflows.clinical.pdf import prescription_pdf

pytestmark = pytest.mark.django_db


def shows(content: bytes, text: str) -> bool:
    return any(text in decoded for decoded in pdf_texts(content))


def signed(visit, doctor):
    note = svc.visit_note_start(appointment=visit, actor=doctor.user)
    svc.visit_note_save_draft(note=note, actor=doctor.user, content=asthma_note())
    return svc.visit_note_sign(note=note, actor=doctor.user)


def test_the_prescription_prints_in_the_patients_language(visit, doctor_binh, patient_dao):
    note = signed(visit, doctor_binh)
    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    note.refresh_from_db()
    content = prescription_pdf(note=note)
    assert content.startswith(b"%PDF-") and b"DejaVu" in content
    for text in ("Đơn thuốc", "Budesonide inhaler 200 mcg", "J45.0", "Medbook", str(doctor_binh), "Đào"):
        assert shows(content, text), text
    assert not shows(content, "Prescription")
    english = prescription_pdf(note=note, language="en")
    assert shows(english, "Prescription") and shows(english, "Rinse the mouth after use")


def test_the_doctor_downloads_it_from_the_note_and_the_download_is_audited(visit, doctor_binh, staff_binh):
    note = signed(visit, doctor_binh)
    doctor = Client()
    doctor.force_login(doctor_binh.user)
    page = doctor.get(f"/admin/clinical/visitnote/{note.pk}/change/").content.decode()
    url = f"/admin/clinical/visitnote/{note.pk}/prescription.pdf"
    assert url in page
    response = doctor.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert AuditLog.objects.filter(action="clinical.prescription.viewed", actor=doctor_binh.user).exists()
    staff = Client()
    staff.force_login(staff_binh)
    assert staff.get(url).status_code == 404


def test_a_draft_has_no_prescription_to_print(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    doctor = Client()
    doctor.force_login(doctor_binh.user)
    assert doctor.get(f"/admin/clinical/visitnote/{note.pk}/prescription.pdf").status_code == 404
