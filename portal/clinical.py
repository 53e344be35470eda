"""The patient's side of the clinical record: the visit summary once the doctor signed the note, and the
prescription as a PDF in the patient's language. Every read is audited (workflows.clinical)."""

from __future__ import annotations

from django.http import Http404, HttpResponse

from workflows.clinical import rules as clinical_rules
from workflows.clinical import services as clinical
from workflows.clinical.pdf import prescription_pdf
from workflows.clinical.selectors import signed_visit_summary


def visit_summary_for(request, appointment):
    """The signed note the patient may read on the visit page (the read is audited), or None."""
    note = signed_visit_summary(appointment=appointment)
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
