"""Reads of the clinical record with their queries written in."""

from __future__ import annotations

from booking.models import Appointment
from workflows.clinical.models import NoteStatus, VisitNote


def signed_visit_summary(*, appointment: Appointment) -> VisitNote | None:
    """The signed note of ``appointment`` with its diagnoses and prescription, or None (no note yet, or
    still a draft: the patient sees a visit's summary only once the doctor signed it)."""
    found = (
        VisitNote.objects.filter(appointment=appointment, status=NoteStatus.SIGNED)
        .select_related("appointment__doctor__user", "appointment__patient")
        .prefetch_related("diagnoses", "prescription_lines", "plan_items")
        .order_by()  # one note per visit (one-to-one): no ORDER BY to compile
    )
    return next(iter(found[:1]), None)
