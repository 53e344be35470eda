"""FHIR R4 read API at ``/api/fhir/`` (JSON, bearer tokens): Patient, Practitioner, Schedule, Slot,
Appointment, Encounter, Condition, MedicationRequest, DocumentReference, search by patient and date, and
``Patient/{id}/$everything``.

Scoping is the clinical record's (``workflows.clinical.rules``): a patient reads their own record and
only signed notes; doctors the patient has visits with and admins read it all, drafts included; staff
read demographics (Patient) but no clinical resource unless ``CLINICAL_STAFF_READ_NOTES``. Another
person's resource answers 404, as if it did not exist. Every read is audited (``clinical.fhir.read``).

Resources are built here as plain JSON; the tests validate each one against the ``fhir.resources`` R4B
models. Ids: Patient = user id, Practitioner = doctor id, Encounter = visit note id, Condition =
diagnosis id, MedicationRequest = prescription line id.
"""

from __future__ import annotations

import datetime as dt
import json

from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from ninja import Router

from accounts.models import User
from booking import rules as booking_rules
from booking.models import Appointment, Doctor, Slot
from core.audit import audit_log
from workflows.clinical import rules
from workflows.clinical.models import Diagnosis, NoteStatus, PrescriptionLine, VisitDocument, VisitNote

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
FHIR_JSON = "application/fhir+json"

router = Router(tags=["FHIR R4"])


# --- responses ------------------------------------------------------------------------------------


def fhir_response(resource: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(resource, ensure_ascii=False), status=status, content_type=FHIR_JSON)


def not_found(what: str) -> HttpResponse:
    return fhir_response(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": f"{what} not found"}],
        },
        status=404,
    )


def bundle(resources: list[dict], *, kind: str = "searchset") -> dict:
    data = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    if kind == "searchset":
        data["total"] = len(resources)
    return data


def _instant(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


# --- builders -------------------------------------------------------------------------------------


def patient_resource(user: User) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(user.pk),
        "active": user.is_active,
        "name": [{"family": user.last_name or "", "given": [user.first_name] if user.first_name else []}],
        "telecom": [{"system": "email", "value": user.email}],
    }
    profile = getattr(user, "patient_profile", None)
    if profile is not None:
        if profile.phone:
            resource["telecom"].append({"system": "phone", "value": profile.phone})
        if profile.date_of_birth:
            resource["birthDate"] = profile.date_of_birth.isoformat()
        resource["gender"] = profile.gender or "unknown"
        if profile.address:
            resource["address"] = [{"text": profile.address}]
        if profile.health_insurance_number:
            resource["identifier"] = [
                {"system": "urn:medbook:vn-bhyt", "value": profile.health_insurance_number, "type": {"text": "BHYT"}}
            ]
        if profile.emergency_contact_name or profile.emergency_contact_phone:
            contact = {"relationship": [{"text": "emergency contact"}]}
            if profile.emergency_contact_name:
                contact["name"] = {"text": profile.emergency_contact_name}
            if profile.emergency_contact_phone:
                contact["telecom"] = [{"system": "phone", "value": profile.emergency_contact_phone}]
            resource["contact"] = [contact]
    name = resource["name"][0]
    if not name["given"]:
        del name["given"]
    if not name["family"]:
        del name["family"]
    if not name:
        del resource["name"]
    return resource


def practitioner_resource(doctor: Doctor) -> dict:
    user = doctor.user
    name = {"family": user.last_name or "", "given": [user.first_name] if user.first_name else []}
    if doctor.title:
        name["prefix"] = [doctor.title]
    return {
        "resourceType": "Practitioner",
        "id": str(doctor.pk),
        "active": doctor.is_active,
        "name": [{k: v for k, v in name.items() if v}],
    }


def encounter_resource(note: VisitNote) -> dict:
    appointment = note.appointment
    period = {}
    if appointment.starts_at:
        period["start"] = _instant(appointment.starts_at)
    if appointment.ends_at:
        period["end"] = _instant(appointment.ends_at)
    resource = {
        "resourceType": "Encounter",
        "id": str(note.pk),
        "status": "finished" if note.status == NoteStatus.SIGNED else "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "VR" if appointment.mode == "video" else "AMB",
        },
        "subject": {"reference": f"Patient/{appointment.patient_id}"},
        "participant": [{"individual": {"reference": f"Practitioner/{appointment.doctor_id}"}}],
        "reasonCode": [{"text": note.assessment}] if note.assessment else [],
    }
    if period:
        resource["period"] = period
    if not resource["reasonCode"]:
        del resource["reasonCode"]
    return resource


def condition_resource(diagnosis: Diagnosis) -> dict:
    note = diagnosis.note
    signed = note.status == NoteStatus.SIGNED
    resource = {
        "resourceType": "Condition",
        "id": str(diagnosis.pk),
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed" if signed else "provisional",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": ICD10_SYSTEM, "code": diagnosis.code, "display": diagnosis.description}],
            "text": diagnosis.description or diagnosis.code,
        },
        "subject": {"reference": f"Patient/{note.appointment.patient_id}"},
        "encounter": {"reference": f"Encounter/{note.pk}"},
        "recordedDate": _instant(note.signed_at or note.created_at),
    }
    if diagnosis.comment:
        resource["note"] = [{"text": diagnosis.comment}]
    return resource


def medication_request_resource(line: PrescriptionLine) -> dict:
    note = line.note
    text = ", ".join(part for part in (line.dose, line.route, line.frequency, line.duration) if part)
    if line.instructions:
        text = f"{text}. {line.instructions}" if text else line.instructions
    resource = {
        "resourceType": "MedicationRequest",
        "id": str(line.pk),
        "status": "active" if note.status == NoteStatus.SIGNED else "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": " ".join(p for p in (line.medicine, line.strength) if p)},
        "subject": {"reference": f"Patient/{note.appointment.patient_id}"},
        "encounter": {"reference": f"Encounter/{note.pk}"},
        "requester": {"reference": f"Practitioner/{note.appointment.doctor_id}"},
        "authoredOn": _instant(note.signed_at or note.created_at),
    }
    if text:
        resource["dosageInstruction"] = [{"text": text}]
    if line.quantity:
        resource["note"] = [{"text": line.quantity}]
    return resource


APPOINTMENT_STATUS = {
    "pending_patient_confirmation": "proposed",
    "pending_payment": "pending",
    "pending": "pending",
    "confirmed": "booked",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
    "expired": "cancelled",
}


def appointment_resource(appointment: Appointment) -> dict:
    resource = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": APPOINTMENT_STATUS.get(appointment.status, "pending"),
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{appointment.doctor_id}"}, "status": "accepted"},
        ],
    }
    if appointment.starts_at and appointment.ends_at:
        resource["start"] = _instant(appointment.starts_at)
        resource["end"] = _instant(appointment.ends_at)
    if appointment.slot_id:
        resource["slot"] = [{"reference": f"Slot/{appointment.slot_id}"}]
    return resource


def schedule_resource(doctor: Doctor) -> dict:
    """A doctor's bookable time: one Schedule per doctor (id = the doctor's id)."""
    return {
        "resourceType": "Schedule",
        "id": str(doctor.pk),
        "active": doctor.is_active,
        "actor": [{"reference": f"Practitioner/{doctor.pk}"}],
    }


SLOT_STATUS = {"free": "free", "held": "busy-tentative", "booked": "busy", "blocked": "busy-unavailable"}


def slot_resource(slot: Slot) -> dict:
    return {
        "resourceType": "Slot",
        "id": str(slot.pk),
        "schedule": {"reference": f"Schedule/{slot.doctor_id}"},
        "status": SLOT_STATUS.get(slot.status, "busy"),
        "start": _instant(slot.start),
        "end": _instant(slot.end),
    }


def document_reference_resource(document: VisitDocument) -> dict:
    appointment = document.appointment
    return {
        "resourceType": "DocumentReference",
        "id": str(document.pk),
        "status": "current",
        "type": {"text": document.get_kind_display()},
        "subject": {"reference": f"Patient/{appointment.patient_id}"},
        "date": _instant(document.created_at),
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "title": document.title,
                    "size": document.size,
                    "creation": _instant(document.created_at),
                }
            }
        ],
    }


# --- scoping --------------------------------------------------------------------------------------


def readable_notes(user, *, patient_id: int | None = None, date: str | None = None):
    """The visit notes whose clinical content ``user`` may read (see the module docstring)."""
    notes = VisitNote.objects.select_related("appointment__doctor__user")
    if patient_id is not None:
        notes = notes.filter(appointment__patient_id=patient_id)
    if date:
        day = parse_date(date.removeprefix("eq"))
        if day is None:
            return notes.none()
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        notes = notes.filter(appointment__starts_at__gte=start, appointment__starts_at__lt=start + dt.timedelta(days=1))
    if not user.is_active:
        return notes.none()
    if user.role == "patient":
        return notes.filter(appointment__patient=user, status=NoteStatus.SIGNED)
    if user.role == "admin" or (user.role == "staff" and rules.may_read_patient(user=user, patient_id=0)):
        return notes
    if user.role == "doctor":
        scope = rules.listable_notes_q(user=user)
        return notes.filter(scope) if scope is not None else notes.none()
    return notes.none()


def readable_patient(user, patient_id: int) -> User | None:
    patient = User.objects.filter(pk=patient_id, role="patient").select_related("patient_profile").first()
    if patient is None or not user.is_active:
        return None
    if user.pk == patient.pk or user.role in {"admin", "staff"}:
        return patient
    if user.role == "doctor" and rules.may_read_patient(user=user, patient_id=patient.pk):
        return patient
    return None


def readable_appointments(user, *, patient_id: int | None = None, date: str | None = None):
    """Appointments as the booking rulebook lets ``user`` see them (booking.rules.visibility_q)."""
    scope = booking_rules.visibility_q(user=user)
    rows = Appointment.objects.none() if scope is None else Appointment.objects.filter(scope)
    if patient_id is not None:
        rows = rows.filter(patient_id=patient_id)
    if date:
        day = parse_date(date.removeprefix("eq"))
        if day is None:
            return rows.none()
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        rows = rows.filter(starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
    return rows.order_by("starts_at", "id")


def readable_documents(user, *, patient_id: int | None = None):
    rows = VisitDocument.objects.select_related("appointment__doctor")
    if patient_id is not None:
        rows = rows.filter(appointment__patient_id=patient_id)
    if user.role == "patient":
        rows = rows.filter(appointment__patient=user)
    # the clinical rule decides per document (a doctor: their patients', with a visit relationship)
    return [d for d in rows if rules.may_read_document(user=user, document=d)]


def _audit(request, what: str, **data) -> None:
    audit_log(actor=request.auth, action="clinical.fhir.read", data={"resource": what, **data})


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.removeprefix("Patient/")
    return int(value) if value.isdigit() else -1


# --- endpoints ------------------------------------------------------------------------------------


@router.get("/Patient/{patient_id}", summary="Read a Patient")
def read_patient(request, patient_id: int):
    patient = readable_patient(request.auth, patient_id)
    if patient is None:
        return not_found("Patient")
    _audit(request, "Patient", patient=patient.pk)
    return fhir_response(patient_resource(patient))


@router.get("/Practitioner/{doctor_id}", summary="Read a Practitioner")
def read_practitioner(request, doctor_id: int):
    doctor = Doctor.objects.filter(pk=doctor_id).select_related("user").first()
    if doctor is None:
        return not_found("Practitioner")
    return fhir_response(practitioner_resource(doctor))


def _search(request, what: str, build, rows, patient: str | None, date: str | None):
    _audit(request, what, patient=_int(patient), date=date or "", count=len(rows))
    return fhir_response(bundle([build(row) for row in rows]))


@router.get("/Encounter", summary="Search Encounters (visit notes) by patient and date")
def search_encounters(request, patient: str | None = None, date: str | None = None):
    notes = list(readable_notes(request.auth, patient_id=_int(patient), date=date))
    return _search(request, "Encounter", encounter_resource, notes, patient, date)


@router.get("/Encounter/{note_id}", summary="Read an Encounter")
def read_encounter(request, note_id: int):
    note = readable_notes(request.auth).filter(pk=note_id).first()
    if note is None:
        return not_found("Encounter")
    _audit(request, "Encounter", encounter=note.pk)
    return fhir_response(encounter_resource(note))


@router.get("/Condition", summary="Search Conditions (ICD-10 diagnoses) by patient and date")
def search_conditions(request, patient: str | None = None, date: str | None = None):
    notes = readable_notes(request.auth, patient_id=_int(patient), date=date)
    rows = list(Diagnosis.objects.filter(note__in=notes).select_related("note__appointment"))
    return _search(request, "Condition", condition_resource, rows, patient, date)


@router.get("/MedicationRequest", summary="Search MedicationRequests (prescription lines) by patient and date")
def search_medication_requests(request, patient: str | None = None, date: str | None = None):
    notes = readable_notes(request.auth, patient_id=_int(patient), date=date)
    rows = list(PrescriptionLine.objects.filter(note__in=notes).select_related("note__appointment"))
    return _search(request, "MedicationRequest", medication_request_resource, rows, patient, date)


@router.get("/Appointment", summary="Search Appointments by patient and date")
def search_appointments(request, patient: str | None = None, date: str | None = None):
    rows = list(readable_appointments(request.auth, patient_id=_int(patient), date=date))
    return _search(request, "Appointment", appointment_resource, rows, patient, date)


@router.get("/Schedule", summary="Schedules (one per active doctor)")
def search_schedules(request):
    doctors = list(Doctor.objects.filter(is_active=True).order_by("pk"))
    return fhir_response(bundle([schedule_resource(d) for d in doctors]))


@router.get("/Slot", summary="Slots of a Schedule, by date")
def search_slots(request, schedule: str, date: str | None = None):
    doctor_id = _int(schedule.removeprefix("Schedule/"))
    slots = Slot.objects.filter(doctor_id=doctor_id, doctor__is_active=True)
    if date:
        day = parse_date(date.removeprefix("eq"))
        if day is None:
            return fhir_response(bundle([]))
        start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
        slots = slots.filter(start__gte=start, start__lt=start + dt.timedelta(days=1))
    else:
        slots = slots.filter(start__gte=timezone.now())
    return fhir_response(bundle([slot_resource(s) for s in slots.order_by("start")[:500]]))


@router.get("/DocumentReference", summary="Search DocumentReferences (visit documents) by patient")
def search_documents(request, patient: str | None = None):
    rows = readable_documents(request.auth, patient_id=_int(patient))
    return _search(request, "DocumentReference", document_reference_resource, rows, patient, None)


@router.get("/Patient/{patient_id}/$everything", summary="Everything about a Patient")
def patient_everything(request, patient_id: int):
    patient = readable_patient(request.auth, patient_id)
    if patient is None:
        return not_found("Patient")
    notes = list(readable_notes(request.auth, patient_id=patient.pk))
    doctors = {note.appointment.doctor for note in notes}
    diagnoses = Diagnosis.objects.filter(note__in=notes).select_related("note__appointment")
    lines = PrescriptionLine.objects.filter(note__in=notes).select_related("note__appointment")
    appointments = list(readable_appointments(request.auth, patient_id=patient.pk))
    if request.auth.role == "doctor":
        # their patients' other visits are not theirs to see (booking.rules): only their own
        appointments = [a for a in appointments if a.doctor.user_id == request.auth.pk]
    documents = readable_documents(request.auth, patient_id=patient.pk)
    doctors |= {a.doctor for a in appointments}
    resources = [
        patient_resource(patient),
        *(practitioner_resource(d) for d in sorted(doctors, key=lambda d: d.pk)),
        *(appointment_resource(a) for a in appointments),
        *(document_reference_resource(d) for d in documents),
        *(encounter_resource(n) for n in notes),
        *(condition_resource(d) for d in diagnoses),
        *(medication_request_resource(line) for line in lines),
    ]
    _audit(request, "Patient/$everything", patient=patient.pk, count=len(resources))
    return fhir_response(bundle(resources))
