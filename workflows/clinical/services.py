"""Writes to the clinical record. Every service runs in one transaction (``retry_transaction``), asks
``workflows.clinical.rules`` first, and writes an audit row with ids only, never clinical text.

Lock order: the appointment row, then its note row (``visit_note_start`` locks the appointment to create
the note once; the others lock the note, re-read, and act on what they read).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Appointment
from core.audit import audit_log
from core.crypto import decrypt_bytes, encrypt_bytes, rotate_bytes
from core.db import retry_transaction
from core.errors import Conflict, InvalidInput, PermissionDenied
from workflows.clinical import icd10, rules
from workflows.clinical.models import (
    CONTENT_FIELDS,
    VITALS,
    Diagnosis,
    DocumentKind,
    Intake,
    NoteStatus,
    PlanItem,
    PlanItemKind,
    PrescriptionLine,
    VisitDocument,
    VisitNote,
    VisitNoteVersion,
)

LINE_FIELDS = ("medicine", "strength", "dose", "route", "frequency", "duration", "quantity", "instructions")
MAX_TEXT = 20000


@dataclass(frozen=True)
class DiagnosisEntry:
    code: str
    comment: str = ""


@dataclass(frozen=True)
class LineEntry:
    medicine: str
    strength: str = ""
    dose: str = ""
    route: str = ""
    frequency: str = ""
    duration: str = ""
    quantity: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class PlanEntry:
    """A goal or a follow-up step of the treatment plan (``kind``: ``PlanItemKind``)."""

    kind: str
    text: str
    due_date: date | None = None


@dataclass(frozen=True)
class NoteContent:
    """Everything a doctor writes in a note. ``vitals`` maps names of ``models.VITALS`` to numbers (or
    None); diagnoses and prescription lines are in order."""

    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""
    free_text: str = ""
    vitals: dict = field(default_factory=dict)
    diagnoses: tuple[DiagnosisEntry, ...] = ()
    prescription: tuple[LineEntry, ...] = ()
    plan_items: tuple[PlanEntry, ...] = ()


class NoteSigned(Conflict):
    """The note is signed: it can only be amended."""

    code = "note_signed"


class NoteNotSigned(Conflict):
    """The note is a draft: edit it, or sign it."""

    code = "note_not_signed"


# --- validation -----------------------------------------------------------------------------------


def clean_content(content: NoteContent) -> NoteContent:
    """``content`` with codes normalised and vitals as Decimals; ``InvalidInput`` naming the field when a
    code is not an ICD-10 diagnosis, a vital sign is out of range or a prescription line has no medicine."""
    for name in CONTENT_FIELDS:
        if len(getattr(content, name)) > MAX_TEXT:
            raise InvalidInput(_("This text is too long."), fields=[name])
    vitals: dict[str, Decimal | None] = {name: None for name, *_rest in VITALS}
    ranges = {name: (label, low, high) for name, label, low, high in VITALS}
    for name, value in content.vitals.items():
        if name not in ranges:
            raise InvalidInput(_("Unknown vital sign."), fields=[name])
        if value in (None, ""):
            vitals[name] = None
            continue
        label, low, high = ranges[name]
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidInput(_("Enter a number."), fields=[name]) from None
        if not number.is_finite() or not (Decimal(str(low)) <= number <= Decimal(str(high))):
            raise InvalidInput(
                _("%(label)s must be between %(low)s and %(high)s.") % {"label": label, "low": low, "high": high},
                fields=[name],
            )
        # the columns keep one decimal (temperature, weight, height) or whole numbers (the rest)
        places = getattr(VisitNote._meta.get_field(name), "decimal_places", None)
        number = number.quantize(Decimal(1).scaleb(-places)) if places else number.to_integral_value()
        vitals[name] = number
    diagnoses = []
    for entry in content.diagnoses:
        code = icd10.normalise(entry.code)
        if not icd10.is_diagnosis_code(code):
            raise InvalidInput(
                _("%(code)s is not an ICD-10 diagnosis code.") % {"code": entry.code or "—"}, fields=["diagnoses"]
            )
        diagnoses.append(DiagnosisEntry(code=code, comment=entry.comment.strip()))
    lines = []
    for line in content.prescription:
        if not line.medicine.strip():
            raise InvalidInput(_("Each prescription line needs a medicine."), fields=["prescription"])
        lines.append(LineEntry(**{name: getattr(line, name).strip() for name in LINE_FIELDS}))
    return NoteContent(
        **{name: getattr(content, name).strip() for name in CONTENT_FIELDS},
        vitals=vitals,
        diagnoses=tuple(diagnoses),
        prescription=tuple(lines),
        plan_items=tuple(_clean_plan_item(item) for item in content.plan_items),
    )


def _clean_plan_item(item: PlanEntry) -> PlanEntry:
    if item.kind not in PlanItemKind.values:
        raise InvalidInput(_("A plan item is a goal or a follow-up step."), fields=["plan_items"])
    text = (item.text or "").strip()
    if not text:
        raise InvalidInput(_("Each goal or follow-up step needs a text."), fields=["plan_items"])
    if len(text) > 2000:
        raise InvalidInput(_("This text is too long."), fields=["plan_items"])
    due = item.due_date
    if isinstance(due, str):
        try:
            due = date.fromisoformat(due) if due else None
        except ValueError:
            raise InvalidInput(_("Enter a valid date."), fields=["plan_items"]) from None
    elif due is not None and not isinstance(due, date):
        raise InvalidInput(_("Enter a valid date."), fields=["plan_items"])
    return PlanEntry(kind=item.kind, text=text, due_date=due)


# --- reading a note back as content ---------------------------------------------------------------


def note_content(note: VisitNote) -> NoteContent:
    return NoteContent(
        **{name: getattr(note, name) for name in CONTENT_FIELDS},
        vitals={name: getattr(note, name) for name, *_rest in VITALS},
        diagnoses=tuple(DiagnosisEntry(code=d.code, comment=d.comment) for d in note.diagnoses.all()),
        prescription=tuple(
            LineEntry(**{name: getattr(line, name) for name in LINE_FIELDS}) for line in note.prescription_lines.all()
        ),
        plan_items=tuple(
            PlanEntry(kind=item.kind, text=item.text, due_date=item.due_date) for item in note.plan_items.all()
        ),
    )


def content_as_json(content: NoteContent) -> str:
    data = asdict(content)
    data["vitals"] = {name: (str(value) if value is not None else None) for name, value in content.vitals.items()}
    for item in data["plan_items"]:
        item["due_date"] = item["due_date"].isoformat() if item["due_date"] else None
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def content_from_json(text: str) -> NoteContent:
    data = json.loads(text)
    return NoteContent(
        **{name: data.get(name, "") for name in CONTENT_FIELDS},
        vitals={name: (Decimal(v) if v is not None else None) for name, v in data.get("vitals", {}).items()},
        diagnoses=tuple(DiagnosisEntry(**d) for d in data.get("diagnoses", [])),
        prescription=tuple(LineEntry(**line) for line in data.get("prescription", [])),
        # versions frozen before the plan was structured have no items
        plan_items=tuple(
            PlanEntry(
                kind=item["kind"],
                text=item["text"],
                due_date=date.fromisoformat(item["due_date"]) if item.get("due_date") else None,
            )
            for item in data.get("plan_items", [])
        ),
    )


# --- writes ---------------------------------------------------------------------------------------


def _write(note: VisitNote, content: NoteContent) -> None:
    for name in CONTENT_FIELDS:
        setattr(note, name, getattr(content, name))
    for name, *_rest in VITALS:
        setattr(note, name, content.vitals.get(name))
    note.save(update_fields=[*CONTENT_FIELDS, *(name for name, *_r in VITALS), "updated_at"])
    note.diagnoses.all().delete()
    Diagnosis.objects.bulk_create(
        Diagnosis(note=note, position=i, code=d.code, comment=d.comment) for i, d in enumerate(content.diagnoses)
    )
    note.prescription_lines.all().delete()
    PrescriptionLine.objects.bulk_create(
        PrescriptionLine(note=note, position=i, **asdict(line)) for i, line in enumerate(content.prescription)
    )
    note.plan_items.all().delete()
    PlanItem.objects.bulk_create(
        PlanItem(note=note, position=i, kind=item.kind, text=item.text, due_date=item.due_date)
        for i, item in enumerate(content.plan_items)
    )


def _locked(note: VisitNote) -> VisitNote:
    return VisitNote.objects.select_for_update().select_related("appointment__doctor").get(pk=note.pk)


def _require_writer(*, actor, appointment: Appointment) -> None:
    if not rules.is_treating_doctor(user=actor, appointment=appointment):
        raise PermissionDenied(_("Only the doctor of this visit may write its note."))


@retry_transaction
def visit_note_start(*, appointment: Appointment, actor) -> VisitNote:
    """The visit's note, created as an empty draft by its doctor if there is none yet."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().select_related("doctor").get(pk=appointment.pk)
        existing = VisitNote.objects.filter(appointment=appointment).first()
        if existing is not None:
            if not rules.may_read(user=actor, appointment=appointment):
                raise PermissionDenied(_("You may not read this note."))
            return existing
        _require_writer(actor=actor, appointment=appointment)
        if not rules.may_write(user=actor, appointment=appointment):
            raise Conflict(_("A note can be written for a confirmed or completed visit only."))
        # what the patient wrote before the visit pre-fills the subjective part
        intake = Intake.objects.filter(appointment=appointment).first()
        note = VisitNote.objects.create(
            appointment=appointment, created_by=actor, subjective=intake.as_subjective() if intake else ""
        )
        audit_log(actor=actor, action="clinical.visit_note.created", obj=note, data={"appointment": appointment.pk})
        return note


@retry_transaction
def visit_note_save_draft(*, note: VisitNote, actor, content: NoteContent) -> VisitNote:
    """Replace the draft's content. A signed note refuses (``NoteSigned``): amend it instead."""
    content = clean_content(content)
    with transaction.atomic():
        note = _locked(note)
        _require_writer(actor=actor, appointment=note.appointment)
        if note.is_signed:
            raise NoteSigned(_("This note is signed: write an amendment instead."))
        _write(note, content)
        audit_log(actor=actor, action="clinical.visit_note.drafted", obj=note)
        return note


@retry_transaction
def visit_note_sign(*, note: VisitNote, actor) -> VisitNote:
    """Sign the draft (with its diagnoses and prescription): version 1 is frozen, the note is final."""
    with transaction.atomic():
        note = _locked(note)
        _require_writer(actor=actor, appointment=note.appointment)
        if note.is_signed:
            raise NoteSigned(_("This note is already signed."))
        content = note_content(note)
        if not (content.assessment or content.diagnoses):
            raise InvalidInput(_("Write an assessment or add a diagnosis before signing."), fields=["assessment"])
        now = timezone.now()
        note.status = NoteStatus.SIGNED
        note.version = 1
        note.signed_at = now
        note.signed_by = actor
        note.save(update_fields=["status", "version", "signed_at", "signed_by", "updated_at"])
        VisitNoteVersion.objects.create(note=note, number=1, content=content_as_json(content), author=actor)
        audit_log(
            actor=actor,
            action="clinical.visit_note.signed",
            obj=note,
            data={"version": 1, "prescription_lines": len(content.prescription)},
        )
        return note


@retry_transaction
def visit_note_amend(*, note: VisitNote, actor, content: NoteContent, reason: str) -> VisitNoteVersion:
    """Correct a signed note: a new version with ``reason``, author and time; earlier versions stay."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Say why the note is amended."), fields=["reason"])
    content = clean_content(content)
    with transaction.atomic():
        note = _locked(note)
        _require_writer(actor=actor, appointment=note.appointment)
        if not note.is_signed:
            raise NoteNotSigned(_("This note is a draft: edit it directly."))
        if content == note_content(note):
            raise InvalidInput(_("The amendment changes nothing."), fields=["reason"])
        _write(note, content)
        note.version += 1
        note.save(update_fields=["version", "updated_at"])
        version = VisitNoteVersion.objects.create(
            note=note, number=note.version, content=content_as_json(content), reason=reason, author=actor
        )
        audit_log(actor=actor, action="clinical.visit_note.amended", obj=note, data={"version": note.version})
        return version


def visit_note_viewed(*, note: VisitNote, actor, where: str, what: str = "visit_note") -> None:
    """Audit a read of the note's content (``what``: ``visit_note`` or ``prescription``) at ``where``."""
    audit_log(
        actor=actor,
        action=f"clinical.{what}.viewed",
        obj=note,
        data={"where": where, "appointment": note.appointment_id, "patient": note.appointment.patient_id},
    )


# --- documents ------------------------------------------------------------------------------------

#: what a document may be, by its content (not its name or the browser's claim)
DOCUMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}


def _documents_dir() -> Path:
    folder = Path(settings.CLINICAL_DOCUMENTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@retry_transaction
def document_upload(
    *, appointment: Appointment, actor, data: bytes, title: str, kind: str = DocumentKind.OTHER, shared: bool = True
) -> VisitDocument:
    """Attach a file to a visit: a PDF, JPEG, PNG or HEIC by its content, at most
    ``CLINICAL_DOCUMENT_MAX_MB``; stored encrypted outside the media folder. Patients' files are always
    shared with them; the doctor chooses for theirs."""
    if not rules.may_upload_document(user=actor, appointment=appointment):
        raise PermissionDenied(_("You may not attach documents to this visit."))
    limit = settings.CLINICAL_DOCUMENT_MAX_MB * 1024 * 1024
    if not data:
        raise InvalidInput(_("The file is empty."), fields=["file"])
    if len(data) > limit:
        raise InvalidInput(
            _("The file is larger than %(max)s MB.") % {"max": settings.CLINICAL_DOCUMENT_MAX_MB}, fields=["file"]
        )
    guessed = filetype.guess(data)
    if guessed is None or guessed.mime not in DOCUMENT_TYPES:
        raise InvalidInput(_("Only PDF, JPEG, PNG and HEIC files can be attached."), fields=["file"])
    title = title.strip()[:200] or _("Document")
    if kind not in DocumentKind.values:
        raise InvalidInput(_("Unknown document type."), fields=["kind"])
    if actor.role == "patient":
        shared, kind = True, DocumentKind.INTAKE if kind == DocumentKind.OTHER else kind
    name = f"{uuid.uuid4().hex}.bin"
    path = _documents_dir() / name
    path.write_bytes(
        encrypt_bytes(data)
    )  # before the row: a failed transaction leaves an orphan, never a row without a file
    try:
        with transaction.atomic():
            document = VisitDocument.objects.create(
                appointment=appointment,
                kind=kind,
                title=title,
                content_type=guessed.mime,
                size=len(data),
                storage_name=name,
                shared_with_patient=shared,
                uploaded_by=actor,
            )
            audit_log(
                actor=actor,
                action="clinical.document.uploaded",
                obj=document,
                data={"appointment": appointment.pk, "type": guessed.mime, "size": len(data)},
            )
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return document


def document_open(*, document: VisitDocument, actor, where: str) -> bytes:
    """The file's bytes for ``actor`` (who must be allowed to read it); the read is audited."""
    if not rules.may_read_document(user=actor, document=document):
        raise PermissionDenied(_("You may not read this document."))
    audit_log(
        actor=actor,
        action="clinical.document.viewed",
        obj=document,
        data={"where": where, "appointment": document.appointment_id},
    )
    return decrypt_bytes((_documents_dir() / document.storage_name).read_bytes())


# --- intake ---------------------------------------------------------------------------------------


@retry_transaction
def intake_save(*, appointment: Appointment, actor, reason: str, symptoms: str, current_medicines: str) -> Intake:
    """The patient's intake for their visit (created or replaced), until the doctor starts the note."""
    if not rules.may_fill_intake(user=actor, appointment=appointment):
        raise PermissionDenied(_("The intake form can be filled for your upcoming visits only."))
    values = {"reason": reason.strip(), "symptoms": symptoms.strip(), "current_medicines": current_medicines.strip()}
    for name, text in values.items():
        if len(text) > 4000:
            raise InvalidInput(_("This text is too long."), fields=[name])
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if VisitNote.objects.filter(appointment=appointment).exists():
            raise Conflict(_("The doctor has started the visit note: tell them in a message instead."))
        intake, _created = Intake.objects.update_or_create(appointment=appointment, defaults=values)
        audit_log(actor=actor, action="clinical.intake.saved", obj=intake, data={"appointment": appointment.pk})
        return intake


def documents_reencrypt() -> tuple[str, int]:
    """Rewrite every stored document under the newest key (``manage.py reencrypt``); each file is
    replaced atomically, so a reader sees the old or the new file, never half of one."""
    count = 0
    for name in VisitDocument.objects.values_list("storage_name", flat=True).iterator():
        path = _documents_dir() / name
        if not path.exists():
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(rotate_bytes(path.read_bytes()))
        tmp.replace(path)
        count += 1
    return "clinical.VisitDocument files", count
