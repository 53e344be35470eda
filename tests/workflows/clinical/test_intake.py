"""The patient's intake before a visit pre-fills the doctor's note; it closes once the note is started."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import Conflict, PermissionDenied
from tests.workflows.clinic.conftest import appointment as appointment_row
from workflows.clinical import services as svc
from workflows.clinical.models import Intake

pytestmark = pytest.mark.django_db


@pytest.fixture
def upcoming(doctor_binh, patient_dao):
    return appointment_row(doctor_binh, patient_dao, status="confirmed", starts_at=timezone.now() + timedelta(hours=2))


def test_the_patient_fills_the_intake_and_it_prefills_the_note(upcoming, doctor_binh, patient_dao):
    patient = Client()
    patient.force_login(patient_dao)
    page = patient.get(f"/portal/appointments/{upcoming.public_id}/").content.decode()
    assert f"/portal/appointments/{upcoming.public_id}/intake/" in page
    patient.post(
        f"/portal/appointments/{upcoming.public_id}/intake/",
        {"reason": "Cough", "symptoms": "Night cough for 2 weeks", "current_medicines": "Salbutamol"},
    )
    assert Intake.objects.get(appointment=upcoming).symptoms == "Night cough for 2 weeks"
    note = svc.visit_note_start(appointment=upcoming, actor=doctor_binh.user)
    assert note.subjective == "Reason: Cough\nSymptoms: Night cough for 2 weeks\nCurrent medicines: Salbutamol"
    with pytest.raises(Conflict):
        svc.intake_save(appointment=upcoming, actor=patient_dao, reason="x", symptoms="", current_medicines="")
    assert "/intake/" not in patient.get(f"/portal/appointments/{upcoming.public_id}/").content.decode()


def test_only_the_patient_of_an_upcoming_visit_fills_it(upcoming, visit, patient_dao, patient_khoa, doctor_binh):
    for actor, appointment in ((patient_khoa, upcoming), (doctor_binh.user, upcoming), (patient_dao, visit)):
        with pytest.raises(PermissionDenied):
            svc.intake_save(appointment=appointment, actor=actor, reason="x", symptoms="", current_medicines="")
    assert not Intake.objects.exists()
