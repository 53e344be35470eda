"""The FHIR R4 read API: every resource it returns validates against the fhir.resources R4B models;
scoping is the clinical record's; every read is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from fhir.resources.R4B import get_fhir_model_class

from core.models import AuditLog
from tests.api.clients import bearer_client
from tests.workflows.clinical.helpers import asthma_note
from workflows.clinical import services as svc

pytestmark = pytest.mark.django_db


def validated(payload: dict) -> list[dict]:
    """Validate ``payload`` (a resource or a Bundle) and every resource inside; return the entries."""
    get_fhir_model_class(payload["resourceType"]).model_validate(payload)
    if payload["resourceType"] != "Bundle":
        return [payload]
    resources = [entry["resource"] for entry in payload.get("entry", [])]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resources


@pytest.fixture
def signed_visit(visit, doctor_binh):
    svc.document_upload(appointment=visit, actor=doctor_binh.user, data=b"%PDF-1.4\n" + b" " * 200, title="Lab")
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    return svc.visit_note_sign(note=note, actor=doctor_binh.user)


def test_everything_with_a_token_returns_valid_r4_resources(signed_visit, doctor_binh, patient_dao):
    response = bearer_client(doctor_binh.user).get(f"/api/fhir/Patient/{patient_dao.pk}/$everything")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    resources = validated(response.json())
    kinds = sorted(r["resourceType"] for r in resources)
    assert kinds == [
        "Appointment",
        "CarePlan",
        "Condition",
        "DocumentReference",
        "Encounter",
        "Goal",
        "MedicationRequest",
        "Patient",
        "Practitioner",
    ]
    condition = next(r for r in resources if r["resourceType"] == "Condition")
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "J45.0",
        "display": "Predominantly allergic asthma",
    }
    medication = next(r for r in resources if r["resourceType"] == "MedicationRequest")
    assert medication["medicationCodeableConcept"]["text"] == "Budesonide inhaler 200 mcg"
    assert medication["status"] == "active"
    assert AuditLog.objects.filter(action="clinical.fhir.read", actor=doctor_binh.user).exists()


def test_search_by_patient_and_date(signed_visit, doctor_binh, patient_dao):
    client = bearer_client(doctor_binh.user)
    day = signed_visit.appointment.starts_at.astimezone().date()
    for kind in ("Encounter", "Condition", "MedicationRequest"):
        found = validated(client.get(f"/api/fhir/{kind}", {"patient": patient_dao.pk, "date": day.isoformat()}).json())
        assert len(found) == 1, kind
        other_day = client.get(f"/api/fhir/{kind}", {"patient": patient_dao.pk, "date": "2001-01-01"}).json()
        assert other_day["total"] == 0
    encounter = validated(client.get(f"/api/fhir/Encounter/{signed_visit.pk}").json())[0]
    assert encounter["status"] == "finished"
    practitioner = validated(client.get(f"/api/fhir/Practitioner/{doctor_binh.pk}").json())[0]
    assert practitioner["name"][0]["family"] == doctor_binh.user.last_name


def test_scoping_patients_read_their_own_signed_record_others_get_404(
    visit, doctor_binh, doctor_hai, patient_dao, patient_khoa, staff_binh
):
    note = svc.visit_note_start(appointment=visit, actor=doctor_binh.user)
    svc.visit_note_save_draft(note=note, actor=doctor_binh.user, content=asthma_note())
    patient = bearer_client(patient_dao)
    assert patient.get("/api/fhir/Encounter", {"patient": patient_dao.pk}).json()["total"] == 0  # a draft
    assert validated(patient.get(f"/api/fhir/Patient/{patient_dao.pk}").json())
    foreign = bearer_client(patient_khoa).get(f"/api/fhir/Patient/{patient_dao.pk}")
    assert foreign.status_code == 404
    assert validated(foreign.json())[0]["issue"][0]["code"] == "not-found"
    assert bearer_client(doctor_hai.user).get(f"/api/fhir/Patient/{patient_dao.pk}/$everything").status_code == 404
    assert bearer_client(doctor_hai.user).get("/api/fhir/Encounter", {"patient": patient_dao.pk}).json()["total"] == 0
    # the front desk sees demographics and appointments, no clinical resource
    staff = validated(bearer_client(staff_binh).get(f"/api/fhir/Patient/{patient_dao.pk}/$everything").json())
    assert sorted(r["resourceType"] for r in staff) == ["Appointment", "Patient", "Practitioner"]
    svc.visit_note_sign(note=note, actor=doctor_binh.user)
    assert patient.get("/api/fhir/Encounter", {"patient": patient_dao.pk}).json()["total"] == 1


def test_without_a_token_the_answer_is_401_in_fhir_shape(patient_dao):
    response = Client().get(f"/api/fhir/Patient/{patient_dao.pk}")
    assert response.status_code == 401
    validated(response.json())


def test_schedules_slots_and_appointments(signed_visit, doctor_binh, patient_dao, patient_khoa):
    client = bearer_client(patient_dao)
    schedules = validated(client.get("/api/fhir/Schedule").json())
    assert {"reference": f"Practitioner/{doctor_binh.pk}"} in [s["actor"][0] for s in schedules]
    visit = signed_visit.appointment
    day = visit.starts_at.astimezone().date().isoformat()
    slots = validated(client.get("/api/fhir/Slot", {"schedule": f"Schedule/{doctor_binh.pk}", "date": day}).json())
    assert [s["status"] for s in slots if s["id"] == str(visit.slot_id)] == ["busy"]
    own = validated(client.get("/api/fhir/Appointment", {"patient": patient_dao.pk}).json())
    assert [(a["id"], a["status"]) for a in own] == [(str(visit.pk), "fulfilled")]
    assert bearer_client(patient_khoa).get("/api/fhir/Appointment", {"patient": patient_dao.pk}).json()["total"] == 0
    documents = validated(client.get("/api/fhir/DocumentReference", {"patient": patient_dao.pk}).json())
    assert documents[0]["content"][0]["attachment"]["contentType"] == "application/pdf"
