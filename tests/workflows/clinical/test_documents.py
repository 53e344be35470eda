"""Documents of a visit: checked by content (PDF, JPEG, PNG, HEIC) and size, stored encrypted outside the
media folder, served only to those who may read them (every read audited); patients attach intake files
and see what is shared with them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.errors import InvalidInput, PermissionDenied
from core.models import AuditLog
from workflows.clinical import services as svc
from workflows.clinical.models import VisitDocument

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" + b" " * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 300


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_patient_attaches_a_file_and_the_doctor_reads_it(visit, doctor_binh, patient_dao, _documents_dir, settings):
    patient = client_for(patient_dao)
    upload = SimpleUploadedFile("results.pdf", PDF, content_type="application/pdf")
    response = patient.post(
        f"/portal/appointments/{visit.public_id}/documents/", {"file": upload, "title": "Blood test"}
    )
    assert response.status_code == 302
    document = VisitDocument.objects.get()
    assert (document.title, document.kind, document.content_type, document.size) == (
        "Blood test",
        "intake",
        "application/pdf",
        len(PDF),
    )
    stored = _documents_dir / document.storage_name
    assert stored.exists() and b"%PDF" not in stored.read_bytes()  # encrypted at rest
    assert not str(stored).startswith(str(settings.MEDIA_ROOT))
    page = patient.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert "Blood test" in page

    doctor = client_for(doctor_binh.user)
    assert "Blood test" in doctor.get(f"/admin/booking/appointment/{visit.pk}/change/").content.decode()
    download = doctor.get(f"/admin/clinical/visitnote/documents/{document.pk}/")
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/pdf" and "attachment" in download["Content-Disposition"]
    assert "no-store" in download["Cache-Control"]
    assert AuditLog.objects.filter(action="clinical.document.viewed", actor=doctor_binh.user).exists()


def test_the_type_is_checked_by_content_and_the_size_is_limited(visit, patient_dao, settings):
    with pytest.raises(InvalidInput, match="Only PDF, JPEG, PNG and HEIC"):
        svc.document_upload(appointment=visit, actor=patient_dao, data=b"<html>not a pdf</html>", title="x.pdf")
    settings.CLINICAL_DOCUMENT_MAX_MB = 1
    with pytest.raises(InvalidInput, match="larger than 1 MB"):
        svc.document_upload(appointment=visit, actor=patient_dao, data=PDF + b" " * 1024 * 1024, title="big")
    refused = client_for(patient_dao).post(
        f"/portal/appointments/{visit.public_id}/documents/",
        {"file": SimpleUploadedFile("evil.pdf", b"MZ\x90\x00 executable", content_type="application/pdf")},
    )
    assert refused.status_code == 302
    assert not VisitDocument.objects.exists()


def test_a_document_the_doctor_does_not_share_stays_with_the_doctors(
    visit, doctor_binh, doctor_giang, patient_dao, patient_khoa, staff_binh
):
    private = svc.document_upload(
        appointment=visit, actor=doctor_binh.user, data=PNG, title="Raw scan", kind="image", shared=False
    )
    shared = svc.document_upload(appointment=visit, actor=doctor_binh.user, data=PDF, title="Referral", kind="referral")
    patient = client_for(patient_dao)
    page = patient.get(f"/portal/appointments/{visit.public_id}/").content.decode()
    assert "Referral" in page and "Raw scan" not in page
    assert patient.get(f"/portal/appointments/{visit.public_id}/documents/{private.pk}/").status_code == 404
    assert patient.get(f"/portal/appointments/{visit.public_id}/documents/{shared.pk}/").content == PDF
    assert (
        client_for(patient_khoa).get(f"/portal/appointments/{visit.public_id}/documents/{shared.pk}/").status_code
        == 404
    )
    assert client_for(doctor_giang.user).get(f"/admin/clinical/visitnote/documents/{private.pk}/").content == PNG
    assert client_for(staff_binh).get(f"/admin/clinical/visitnote/documents/{private.pk}/").status_code == 404
    with pytest.raises(PermissionDenied):
        svc.document_upload(appointment=visit, actor=doctor_giang.user, data=PDF, title="not mine")


def test_the_doctor_attaches_from_the_appointment_page(visit, doctor_binh):
    doctor = client_for(doctor_binh.user)
    response = doctor.post(
        f"/admin/clinical/visitnote/documents/upload/{visit.pk}/",
        {"file": SimpleUploadedFile("xray.png", PNG, content_type="image/png"), "title": "X-ray", "kind": "image"},
    )
    assert response.status_code == 302
    document = VisitDocument.objects.get()
    assert (document.title, document.content_type, document.shared_with_patient) == ("X-ray", "image/png", False)


def test_reencrypt_rewrites_document_files_with_the_newest_key(visit, doctor_binh, settings, _documents_dir):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    document = svc.document_upload(appointment=visit, actor=doctor_binh.user, data=PDF, title="Lab")
    before = (_documents_dir / document.storage_name).read_bytes()
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = (_documents_dir / document.storage_name).read_bytes()
    assert after != before
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key can go
    assert svc.document_open(document=document, actor=doctor_binh.user, where="test") == PDF
