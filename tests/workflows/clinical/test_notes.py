"""Visit notes: drafted by the treating doctor, signed once, corrected only by amendments that keep
every version; clinical text is encrypted in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from core.errors import Conflict, InvalidInput, PermissionDenied
from core.models import AuditLog
from tests.workflows.clinical.helpers import asthma_note
from workflows.clinical import services as svc
from workflows.clinical.models import Diagnosis, PrescriptionLine, VisitNote, VisitNoteVersion
from workflows.clinical.services import DiagnosisEntry, NoteContent, NoteNotSigned, NoteSigned

pytestmark = pytest.mark.django_db


def write_draft(visit, doctor, content=None) -> VisitNote:
    note = svc.visit_note_start(appointment=visit, actor=doctor.user)
    return svc.visit_note_save_draft(note=note, actor=doctor.user, content=content or asthma_note())


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test-only names)
        return cursor.fetchone()[0]


def test_the_treating_doctor_drafts_a_note_with_vitals_a_coded_diagnosis_and_a_prescription(visit, doctor_binh):
    note = write_draft(visit, doctor_binh)
    note.refresh_from_db()
    assert note.status == "draft"
    assert note.assessment == "Allergic asthma, mild persistent"
    assert note.temperature_c == Decimal("36.8")
    assert note.pulse_bpm == 88
    diagnosis = note.diagnoses.get()
    assert (diagnosis.code, diagnosis.description) == ("J45.0", "Predominantly allergic asthma")
    assert note.prescription_lines.get().medicine == "Budesonide inhaler"
    assert AuditLog.objects.filter(action="clinical.visit_note.drafted", object_id=str(note.pk)).exists()


def test_clinical_text_is_not_readable_in_the_database_columns(visit, doctor_binh):
    note = write_draft(visit, doctor_binh)
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    stored = raw("clinical_visitnote", "assessment", note.pk)
    assert stored.startswith("gAAAAA")
    assert "asthma" not in stored.lower()
    line = PrescriptionLine.objects.get(note=note)
    assert "Budesonide" not in raw("clinical_prescriptionline", "medicine", line.pk)
    assert "J45" not in raw("clinical_diagnosis", "code", Diagnosis.objects.get(note=note).pk)
    version = VisitNoteVersion.objects.get(note=note)
    assert "asthma" not in raw("clinical_visitnoteversion", "content", version.pk).lower()


def test_reencrypt_rewrites_every_column_with_the_newest_key(visit, doctor_binh, settings):
    from cryptography.fernet import Fernet

    old = settings.FIELD_ENCRYPTION_KEYS[0]
    note = write_draft(visit, doctor_binh)
    before = raw("clinical_visitnote", "assessment", note.pk)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = raw("clinical_visitnote", "assessment", note.pk)
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()).decode() == "Allergic asthma, mild persistent"
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key can go
    assert VisitNote.objects.get(pk=note.pk).assessment == "Allergic asthma, mild persistent"
    assert PrescriptionLine.objects.get(note=note).instructions == "Rinse the mouth after use"


def test_signing_freezes_version_one_and_a_signed_note_refuses_edits(visit, doctor_binh):
    note = write_draft(visit, doctor_binh)
    signed = svc.visit_note_sign(note=note, actor=doctor_binh.user)
    assert (signed.status, signed.version, signed.signed_by) == ("signed", 1, doctor_binh.user)
    version = signed.versions.get()
    assert svc.content_from_json(version.content) == svc.note_content(signed)
    with pytest.raises(NoteSigned):
        svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note(plan="changed"))
    with pytest.raises(NoteSigned):
        svc.visit_note_sign(note=note, actor=doctor_binh.user)
    assert VisitNote.objects.get(pk=note.pk).plan == "Inhaled corticosteroid; review in 4 weeks"


def test_an_amendment_is_a_new_version_with_reason_author_and_time_and_history_keeps_every_version(visit, doctor_binh):
    note = write_draft(visit, doctor_binh)
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    amended = asthma_note(plan="Inhaled corticosteroid; review in 2 weeks")
    version = svc.visit_note_amend(note=note, actor=doctor_binh.user, content=amended, reason="Earlier review")
    assert (version.number, version.reason, version.author) == (2, "Earlier review", doctor_binh.user)
    assert version.created_at is not None
    note.refresh_from_db()
    assert (note.version, note.plan) == (2, "Inhaled corticosteroid; review in 2 weeks")
    history = [svc.content_from_json(v.content).plan for v in note.versions.order_by("number")]
    assert history == ["Inhaled corticosteroid; review in 4 weeks", "Inhaled corticosteroid; review in 2 weeks"]
    assert AuditLog.objects.filter(action="clinical.visit_note.amended", data__version=2).exists()


def test_an_amendment_needs_a_reason_and_a_change_and_a_draft_cannot_be_amended(visit, doctor_binh):
    note = write_draft(visit, doctor_binh)
    with pytest.raises(NoteNotSigned):
        svc.visit_note_amend(note=note, actor=doctor_binh.user, content=asthma_note(), reason="typo")
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    with pytest.raises(InvalidInput):
        svc.visit_note_amend(note=note, actor=doctor_binh.user, content=asthma_note(plan="x"), reason="  ")
    with pytest.raises(InvalidInput, match="changes nothing"):
        svc.visit_note_amend(note=note, actor=doctor_binh.user, content=asthma_note(), reason="again")
    assert note.versions.count() == 1


def test_codes_that_are_not_icd10_diagnoses_and_implausible_vitals_are_refused(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    for bad in ("X99.99", "J00-J06", "asthma"):
        with pytest.raises(InvalidInput, match="not an ICD-10 diagnosis code"):
            svc.visit_note_save_draft(
                note=note, actor=doctor_binh.user, content=NoteContent(diagnoses=(DiagnosisEntry(code=bad),))
            )
    with pytest.raises(InvalidInput, match="between"):
        svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=NoteContent(vitals={"pulse_bpm": 900}))
    with pytest.raises(InvalidInput, match="number"):
        svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=NoteContent(vitals={"weight_kg": "x"}))


def test_an_empty_note_cannot_be_signed(visit, doctor_binh):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    with pytest.raises(InvalidInput):
        svc.visit_note_sign(note=note, actor=doctor_binh.user)


def test_only_the_treating_doctor_writes_signs_or_amends(visit, doctor_binh, doctor_giang, staff_binh, admin_an):
    with pytest.raises(PermissionDenied):
        svc.visit_note_start(appointment=visit, actor=staff_binh)
    note = write_draft(visit, doctor_binh)
    for intruder in (doctor_giang.user, staff_binh, admin_an):
        with pytest.raises(PermissionDenied):
            svc.visit_note_save_draft(note=note, actor=intruder, content=asthma_note())
        with pytest.raises(PermissionDenied):
            svc.visit_note_sign(note=note, actor=intruder)
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    with pytest.raises(PermissionDenied):
        svc.visit_note_amend(note=note, actor=doctor_giang.user, content=asthma_note(plan="x"), reason="mine")


def test_a_note_is_written_only_for_a_visit_that_takes_place(doctor_binh, patient_dao):
    from datetime import timedelta

    from django.utils import timezone

    from booking import services as booking
    from tests.booking.appointments.helpers import details_for
    from tests.factories import publish_slots

    slot = publish_slots(
        doctor_binh, start=(timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0), count=1
    )[0]
    held = booking.appointment_book(slot=slot, patient=patient_dao, actor=patient_dao, details=details_for(patient_dao))
    assert held.status == "pending_payment"
    with pytest.raises(Conflict):
        svc.visit_note_start(appointment=held, actor=doctor_binh.user)
    assert not VisitNote.objects.exists()
