"""FHIR R4 read API at ``/api/fhir/`` (JSON, bearer tokens): Patient, Practitioner, Schedule, Slot,
Appointment, Encounter, Condition, MedicationRequest, DocumentReference, CarePlan and Goal (the treatment
plan), search by patient and date, and ``Patient/{id}/$everything``.

Scoping is the clinical record's (``workflows.clinical.rules``): a patient reads their own record and
only signed notes; doctors the patient has visits with and admins read it all, drafts included; staff
read demographics (Patient) but no clinical resource unless ``CLINICAL_STAFF_READ_NOTES``. Another
person's resource answers 404, as if it did not exist. Every read is audited (``clinical.fhir.read``).

Searches take ``date`` with the FHIR prefixes (``eq``, ``ne``, ``gt``, ``lt``, ``ge``, ``le``, ``sa``,
``eb``) at year, month, day or second precision; two ``date`` parameters make a range
(``date=ge2026-01-01&date=lt2026-02-01``). Results come in pages of ``_count`` (default
``DEFAULT_COUNT``, at most ``MAX_COUNT``) with ``Bundle.link`` ``self``/``first``/``previous``/``next``
(the position is ``_offset``) and ``Bundle.total`` counting every match. A search parameter the server
cannot read answers 400 with an OperationOutcome.

Resources are built here as plain JSON; the tests validate each one against the ``fhir.resources`` R4B
models. Ids: Patient = user id, Practitioner = doctor id, Encounter = visit note id, Condition =
diagnosis id, MedicationRequest = prescription line id, CarePlan = visit note id (the treatment plan:
its follow-up steps are activities), Goal = plan item id.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from ninja import Router

from accounts.models import User
from booking import rules as booking_rules
from booking.models import Appointment, Doctor, Slot
from core.audit import audit_log
from workflows.clinical import rules
from workflows.clinical.models import (
    Diagnosis,
    NoteStatus,
    PlanItem,
    PlanItemKind,
    PrescriptionLine,
    VisitDocument,
    VisitNote,
)

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


def invalid(diagnostics: str) -> HttpResponse:
    return fhir_response(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": diagnostics}],
        },
        status=400,
    )


def bundle(
    resources: list[dict], *, kind: str = "searchset", total: int | None = None, links: list[dict] | None = None
) -> dict:
    data = {"resourceType": "Bundle", "type": kind}
    if kind == "searchset":
        data["total"] = len(resources) if total is None else total
    if links:
        data["link"] = links
    data["entry"] = [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return data


# --- search parameters ----------------------------------------------------------------------------

DEFAULT_COUNT = 50
MAX_COUNT = 500
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class SearchError(ValueError):
    """A search parameter the server cannot read (answered 400 with an OperationOutcome)."""


def date_range(text: str) -> tuple[dt.datetime, dt.datetime]:
    """The interval ``[start, end)`` a FHIR date means: a whole year, month or day (in the server's time
    zone), or one second for a date-time (which must carry its offset, as FHIR requires)."""
    match = _PARTIAL_DATE.fullmatch(text)
    try:
        if match:
            year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
            start = dt.date(year, month, day)
            if match[3]:
                end = start + dt.timedelta(days=1)
            elif match[2]:
                end = dt.date(year + (month == 12), month % 12 + 1, 1)
            else:
                end = dt.date(year + 1, 1, 1)
            aware = [timezone.make_aware(dt.datetime.combine(d, dt.time())) for d in (start, end)]
            return aware[0], aware[1]
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SearchError(f"date: {text!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a date-time with offset)")
    moment = moment.replace(microsecond=0)
    return moment, moment + dt.timedelta(seconds=1)


def date_q(field: str, values: list[str]) -> Q:
    """A filter on ``field`` (a point in time) for every ``date`` value (all must hold: two values make a
    range). Each value is a FHIR date with an optional prefix; without one it means ``eq``."""
    query = Q()
    for value in values:
        value = value.strip()
        if not value:
            continue
        prefix = value[:2] if value[:2] in DATE_PREFIXES else "eq"
        start, end = date_range(value[2:] if value[:2] in DATE_PREFIXES else value)
        within = Q(**{f"{field}__gte": start, f"{field}__lt": end})
        query &= {
            "eq": within,
            "ne": ~within,
            "gt": Q(**{f"{field}__gte": end}),
            "sa": Q(**{f"{field}__gte": end}),
            "lt": Q(**{f"{field}__lt": start}),
            "eb": Q(**{f"{field}__lt": start}),
            "ge": Q(**{f"{field}__gte": start}),
            "le": Q(**{f"{field}__lt": end}),
        }[prefix]
    return query


def _whole_number(request, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise SearchError(f"{name}: {raw!r} is not a whole number")
    return int(raw)


def paged(request, rows) -> tuple[list, int, list[dict]]:
    """One page of ``rows`` (a queryset in a stable order, or a list) by ``_count`` and ``_offset``: the
    rows, the total and the Bundle links (``next`` while more remain)."""
    count = min(_whole_number(request, "_count", DEFAULT_COUNT), MAX_COUNT)
    offset = _whole_number(request, "_offset", 0)
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    page = list(rows[offset : offset + count])

    def url(at: int) -> str:
        params = [(k, v) for k, values in request.GET.lists() if k not in ("_count", "_offset") for v in values]
        params += [("_count", count), ("_offset", at)]
        return request.build_absolute_uri(request.path) + "?" + urlencode(params)

    links = [{"relation": "self", "url": url(offset)}, {"relation": "first", "url": url(0)}]
    if offset > 0 and count:
        links.append({"relation": "previous", "url": url(max(offset - count, 0))})
    if count and offset + count < total:
        links.append({"relation": "next", "url": url(offset + count)})
    return page, total, links


def _dates(request) -> list[str]:
    return request.GET.getlist("date")


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


def care_plan_resource(note: VisitNote) -> dict:
    """The visit's treatment plan: its text, its goals (``Goal`` resources) and its follow-up steps
    (activities, with the date each is due)."""
    signed = note.status == NoteStatus.SIGNED
    items = list(note.plan_items.all())
    resource = {
        "resourceType": "CarePlan",
        "id": str(note.pk),
        "status": "active" if signed else "draft",
        "intent": "plan",
        "subject": {"reference": f"Patient/{note.appointment.patient_id}"},
        "encounter": {"reference": f"Encounter/{note.pk}"},
        "author": {"reference": f"Practitioner/{note.appointment.doctor_id}"},
        "created": _instant(note.signed_at or note.created_at),
    }
    if note.plan:
        resource["description"] = note.plan
    goals = [{"reference": f"Goal/{item.pk}"} for item in items if item.kind == PlanItemKind.GOAL]
    if goals:
        resource["goal"] = goals
    activities = []
    for item in items:
        if item.kind != PlanItemKind.STEP:
            continue
        detail = {"status": "not-started", "description": item.text}
        if item.due_date:
            detail["scheduledString"] = item.due_date.isoformat()
        activities.append({"detail": detail})
    if activities:
        resource["activity"] = activities
    return resource


def goal_resource(item: PlanItem) -> dict:
    note = item.note
    resource = {
        "resourceType": "Goal",
        "id": str(item.pk),
        "lifecycleStatus": "active" if note.status == NoteStatus.SIGNED else "proposed",
        "description": {"text": item.text},
        "subject": {"reference": f"Patient/{note.appointment.patient_id}"},
    }
    if item.due_date:
        resource["target"] = [{"dueDate": item.due_date.isoformat()}]
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


def readable_notes(user, *, patient_id: int | None = None, dates: list[str] = ()):
    """The visit notes whose clinical content ``user`` may read (see the module docstring), by visit
    time; ``dates`` are FHIR ``date`` search values (``SearchError`` when one cannot be read)."""
    notes = VisitNote.objects.select_related("appointment__doctor__user").order_by("appointment__starts_at", "id")
    if patient_id is not None:
        notes = notes.filter(appointment__patient_id=patient_id)
    if dates:
        notes = notes.filter(date_q("appointment__starts_at", dates))
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


def readable_appointments(user, *, patient_id: int | None = None, dates: list[str] = ()):
    """Appointments as the booking rulebook lets ``user`` see them (booking.rules.visibility_q)."""
    scope = booking_rules.visibility_q(user=user)
    rows = Appointment.objects.none() if scope is None else Appointment.objects.filter(scope)
    if patient_id is not None:
        rows = rows.filter(patient_id=patient_id)
    if dates:
        rows = rows.filter(date_q("starts_at", dates))
    return rows.order_by("starts_at", "id")


def readable_documents(user, *, patient_id: int | None = None, dates: list[str] = ()):
    rows = VisitDocument.objects.select_related("appointment__doctor").order_by("created_at", "id")
    if patient_id is not None:
        rows = rows.filter(appointment__patient_id=patient_id)
    if dates:
        rows = rows.filter(date_q("created_at", dates))
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


def _search(request, what: str, build, rows, patient: str | None):
    """One page of a search as a Bundle; an unreadable parameter is a 400 OperationOutcome."""
    try:
        if callable(rows):
            rows = rows()
        page, total, links = paged(request, rows)
    except SearchError as exc:
        return invalid(str(exc))
    _audit(request, what, patient=_int(patient), date=_dates(request), count=len(page), total=total)
    return fhir_response(bundle([build(row) for row in page], total=total, links=links))


# ``date`` may be repeated (a range): the endpoints read every value from the query string; the
# parameter is declared for the OpenAPI document.


@router.get("/Encounter", summary="Search Encounters (visit notes) by patient and date")
def search_encounters(request, patient: str | None = None, date: str | None = None):
    return _search(
        request,
        "Encounter",
        encounter_resource,
        lambda: readable_notes(request.auth, patient_id=_int(patient), dates=_dates(request)),
        patient,
    )


@router.get("/Encounter/{note_id}", summary="Read an Encounter")
def read_encounter(request, note_id: int):
    note = readable_notes(request.auth).filter(pk=note_id).first()
    if note is None:
        return not_found("Encounter")
    _audit(request, "Encounter", encounter=note.pk)
    return fhir_response(encounter_resource(note))


@router.get("/Condition", summary="Search Conditions (ICD-10 diagnoses) by patient and visit date")
def search_conditions(request, patient: str | None = None, date: str | None = None):
    def rows():
        notes = readable_notes(request.auth, patient_id=_int(patient), dates=_dates(request))
        return (
            Diagnosis.objects.filter(note__in=notes)
            .select_related("note__appointment")
            .order_by("note__appointment__starts_at", "note_id", "position", "id")
        )

    return _search(request, "Condition", condition_resource, rows, patient)


@router.get("/MedicationRequest", summary="Search MedicationRequests (prescription lines) by patient and visit date")
def search_medication_requests(request, patient: str | None = None, date: str | None = None):
    def rows():
        notes = readable_notes(request.auth, patient_id=_int(patient), dates=_dates(request))
        return (
            PrescriptionLine.objects.filter(note__in=notes)
            .select_related("note__appointment")
            .order_by("note__appointment__starts_at", "note_id", "position", "id")
        )

    return _search(request, "MedicationRequest", medication_request_resource, rows, patient)


@router.get("/CarePlan", summary="Search CarePlans (treatment plans of visit notes) by patient and visit date")
def search_care_plans(request, patient: str | None = None, date: str | None = None):
    def rows():
        notes = readable_notes(request.auth, patient_id=_int(patient), dates=_dates(request))
        return notes.prefetch_related("plan_items")

    return _search(request, "CarePlan", care_plan_resource, rows, patient)


@router.get("/Goal", summary="Search Goals (treatment plan goals) by patient and visit date")
def search_goals(request, patient: str | None = None, date: str | None = None):
    def rows():
        notes = readable_notes(request.auth, patient_id=_int(patient), dates=_dates(request))
        return (
            PlanItem.objects.filter(note__in=notes, kind=PlanItemKind.GOAL)
            .select_related("note__appointment")
            .order_by("note__appointment__starts_at", "note_id", "position", "id")
        )

    return _search(request, "Goal", goal_resource, rows, patient)


@router.get("/Appointment", summary="Search Appointments by patient and date")
def search_appointments(request, patient: str | None = None, date: str | None = None):
    return _search(
        request,
        "Appointment",
        appointment_resource,
        lambda: readable_appointments(request.auth, patient_id=_int(patient), dates=_dates(request)),
        patient,
    )


@router.get("/Schedule", summary="Schedules (one per active doctor)")
def search_schedules(request):
    try:
        page, total, links = paged(request, Doctor.objects.filter(is_active=True).order_by("pk"))
    except SearchError as exc:
        return invalid(str(exc))
    return fhir_response(bundle([schedule_resource(d) for d in page], total=total, links=links))


@router.get("/Slot", summary="Slots of a Schedule, by date (without one: from now on)")
def search_slots(request, schedule: str, date: str | None = None):
    doctor_id = _int(schedule.removeprefix("Schedule/"))
    slots = Slot.objects.filter(doctor_id=doctor_id, doctor__is_active=True)
    try:
        dates = [value for value in _dates(request) if value.strip()]
        slots = slots.filter(date_q("start", dates)) if dates else slots.filter(start__gte=timezone.now())
        page, total, links = paged(request, slots.order_by("start", "id"))
    except SearchError as exc:
        return invalid(str(exc))
    return fhir_response(bundle([slot_resource(s) for s in page], total=total, links=links))


@router.get("/DocumentReference", summary="Search DocumentReferences (visit documents) by patient and date")
def search_documents(request, patient: str | None = None, date: str | None = None):
    return _search(
        request,
        "DocumentReference",
        document_reference_resource,
        lambda: readable_documents(request.auth, patient_id=_int(patient), dates=_dates(request)),
        patient,
    )


@router.get("/Patient/{patient_id}/$everything", summary="Everything about a Patient")
def patient_everything(request, patient_id: int):
    patient = readable_patient(request.auth, patient_id)
    if patient is None:
        return not_found("Patient")
    notes = list(readable_notes(request.auth, patient_id=patient.pk))
    doctors = {note.appointment.doctor for note in notes}
    diagnoses = Diagnosis.objects.filter(note__in=notes).select_related("note__appointment")
    lines = PrescriptionLine.objects.filter(note__in=notes).select_related("note__appointment")
    plan_items = list(PlanItem.objects.filter(note__in=notes).select_related("note__appointment"))
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
        *(care_plan_resource(n) for n in notes if n.plan or any(i.note_id == n.pk for i in plan_items)),
        *(goal_resource(item) for item in plan_items if item.kind == PlanItemKind.GOAL),
    ]
    _audit(request, "Patient/$everything", patient=patient.pk, count=len(resources))
    return fhir_response(bundle(resources))
