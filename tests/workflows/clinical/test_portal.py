"""The patient's side: once the doctor signed, the visit page shows the summary (assessment, plan,
diagnoses, prescription) and the prescription PDF downloads in the patient's language; before signing,
nothing; another patient gets 404. Each read is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from core.models import AuditLog
from tests.workflows.clinical.helpers import asthma_note, pdf_texts
from workflows.clinical import services as svc

pytestmark = pytest.mark.django_db


def patient_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_patient_sees_the_summary_only_after_signing_and_downloads_the_prescription(
    visit, doctor_binh, patient_dao
):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    patient = patient_client(patient_dao)
    page_url = f"/portal/appointments/{visit.public_id}/"
    pdf_url = f"/portal/appointments/{visit.public_id}/prescription.pdf"
    draft_page = patient.get(page_url).content.decode()
    assert "Allergic asthma" not in draft_page and "visit-summary" not in draft_page
    assert patient.get(pdf_url).status_code == 404

    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    page = patient.get(page_url).content.decode()
    for text in ("Allergic asthma, mild persistent", "Inhaled corticosteroid", "J45.0", "Budesonide inhaler", pdf_url):
        assert text in page, text
    assert "Wheezing at night" not in page  # the working part of the note (subjective) stays with the doctors
    assert AuditLog.objects.filter(
        action="clinical.visit_note.viewed", actor=patient_dao, data__where="portal"
    ).exists()

    patient_dao.language = "vi"
    patient_dao.save(update_fields=["language"])
    response = patient.get(pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert any("Đơn thuốc" in text for text in pdf_texts(response.content))
    assert AuditLog.objects.filter(action="clinical.prescription.viewed", actor=patient_dao).exists()


def test_another_patient_gets_404(visit, doctor_binh, patient_khoa):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    other = patient_client(patient_khoa)
    assert other.get(f"/portal/appointments/{visit.public_id}/").status_code == 404
    assert other.get(f"/portal/appointments/{visit.public_id}/prescription.pdf").status_code == 404


def test_my_health_lists_signed_visit_summaries_and_shared_documents(visit, doctor_binh, patient_dao):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    svc.document_upload(appointment=visit, actor=doctor_binh.user, data=b"%PDF-1.4\n" + b" " * 200, title="Spirometry")
    patient = patient_client(patient_dao)
    assert "Allergic asthma" not in patient.get("/portal/profile/medical-record/").content.decode()  # a draft
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    page = patient.get("/portal/profile/medical-record/").content.decode()
    assert "Allergic asthma, mild persistent" in page and "J45.0" in page and "Spirometry" in page
    assert f"/portal/appointments/{visit.public_id}/prescription.pdf" in page
    assert AuditLog.objects.filter(action="clinical.visit_note.viewed", data__where="portal_health").exists()
