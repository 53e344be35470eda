"""The patient's side of the clinical record: the visit summary once the doctor signed the note, and the
prescription as a PDF in the patient's language. Every read is audited (workflows.clinical)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from booking.models import Appointment
from core.errors import DomainError
from core.prepared import PreparedQuery
from workflows.clinical import rules as clinical_rules
from workflows.clinical import services as clinical
from workflows.clinical.admin import document_response
from workflows.clinical.models import DocumentKind, Intake, NoteStatus, VisitDocument, VisitNote
from workflows.clinical.pdf import prescription_pdf
from workflows.clinical.selectors import signed_visit_summary
from workflows.operations.models import CheckIn, VisitRating


@dataclass(frozen=True, slots=True)
class VisitRecords:
    """Which of a visit's own records exist (``visit_records_present``)."""

    note: bool  # a visit note, draft or signed
    signed_note: bool
    documents: bool
    intake: bool
    check_in: bool
    rating: bool


def _visit_records_query(appointment_id):
    def of(model, **extra):
        return Exists(model.objects.filter(appointment_id=OuterRef("pk"), **extra))

    return Appointment.objects.filter(pk=appointment_id).values_list(
        of(VisitNote),
        of(VisitNote, status=NoteStatus.SIGNED),
        of(VisitDocument),
        of(Intake),
        of(CheckIn),
        of(VisitRating),
    )


_VISIT_RECORDS = PreparedQuery(_visit_records_query, ints=("appointment_id",))
_NO_RECORDS = VisitRecords(*([False] * 6))


def visit_records_present(appointment: Appointment) -> VisitRecords:
    """Which of ``appointment``'s note, documents, intake, check-in and rating exist, in one query
    (compiled once per process): the visit page reads only those that do (most visits have few)."""
    rows = _VISIT_RECORDS.rows(appointment_id=appointment.pk)
    return VisitRecords(*(bool(value) for value in rows[0])) if rows else _NO_RECORDS


def visit_summary_for(request, appointment, *, present: bool = True):
    """The signed note the patient may read on the visit page (the read is audited), or None.
    ``present=False``: the caller knows there is no signed note (``visit_records_present``)."""
    note = signed_visit_summary(appointment=appointment) if present else None
    if note is None or not clinical_rules.patient_may_see_summary(user=request.user, note=note):
        return None
    clinical.visit_note_viewed(note=note, actor=request.user, where="portal")
    return note


def prescription_download(request, appointment):
    note = signed_visit_summary(appointment=appointment)
    if note is None or not clinical_rules.patient_may_see_summary(user=request.user, note=note):
        raise Http404
    clinical.visit_note_viewed(note=note, actor=request.user, where="portal", what="prescription")
    response = HttpResponse(prescription_pdf(note=note), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="prescription-{appointment.pk}.pdf"'
    return response


def visit_documents_for(request, appointment, *, present: bool = True) -> dict:
    """The documents of the visit the patient may see, and whether they may attach one.
    ``present=False``: the caller knows the visit has none (``visit_records_present``)."""
    found = VisitDocument.objects.filter(appointment=appointment).select_related("appointment") if present else []
    documents = [
        document for document in found if clinical_rules.may_read_document(user=request.user, document=document)
    ]
    return {
        "documents": documents,
        "may_upload": clinical_rules.may_upload_document(user=request.user, appointment=appointment),
        "max_mb": settings.CLINICAL_DOCUMENT_MAX_MB,
    }


def document_upload(request, appointment):
    """POST: the patient attaches a file (intake) to their visit."""
    back = redirect("portal:appointment_detail", public_id=appointment.public_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file."))
        return back
    if upload.size > settings.CLINICAL_DOCUMENT_MAX_MB * 1024 * 1024:
        messages.error(request, _("The file is larger than %(max)s MB.") % {"max": settings.CLINICAL_DOCUMENT_MAX_MB})
        return back
    try:
        clinical.document_upload(
            appointment=appointment,
            actor=request.user,
            data=upload.read(),
            title=request.POST.get("title", "") or upload.name,
            kind=request.POST.get("kind", DocumentKind.OTHER),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Document attached."))
    return back


def document_download(request, appointment, document_id: int):
    document = (
        VisitDocument.objects.filter(appointment=appointment, pk=document_id).select_related("appointment").first()
    )
    if document is None or not clinical_rules.may_read_document(user=request.user, document=document):
        raise Http404
    return document_response(document, clinical.document_open(document=document, actor=request.user, where="portal"))


def intake_for(request, appointment, *, records=None) -> dict | None:
    """The intake form for the visit page, when the patient may still fill it. ``records``: the
    visit's ``visit_records_present`` when the caller has it (no query for what it says is absent)."""
    if not clinical_rules.may_fill_intake(user=request.user, appointment=appointment):
        return None
    if records.note if records is not None else VisitNote.objects.filter(appointment=appointment).exists():
        return None
    if records is not None and not records.intake:
        return {"intake": None}
    return {"intake": next(iter(Intake.objects.filter(appointment=appointment).order_by()[:1]), None)}  # one-to-one


def intake_submit(request, appointment):
    try:
        clinical.intake_save(
            appointment=appointment,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            symptoms=request.POST.get("symptoms", ""),
            current_medicines=request.POST.get("current_medicines", ""),
        )
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Thank you: your doctor will read this before the visit."))
    return redirect("portal:appointment_detail", public_id=appointment.public_id)


def my_health(request) -> dict:
    """The "My health" part of the medical record page: every signed visit summary of the patient and
    the documents shared with them (each note shown is an audited read)."""
    notes = list(
        VisitNote.objects.filter(appointment__patient=request.user, status="signed")
        .select_related("appointment__doctor__user")
        .prefetch_related("diagnoses", "prescription_lines", "plan_items")
        .order_by("-appointment__starts_at")
    )
    for note in notes:
        clinical.visit_note_viewed(note=note, actor=request.user, where="portal_health")
    documents = [
        document
        for document in VisitDocument.objects.filter(appointment__patient=request.user).select_related("appointment")
        if clinical_rules.may_read_document(user=request.user, document=document)
    ]
    return {"notes": notes, "documents": documents}
