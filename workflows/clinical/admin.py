"""The doctor's workspace for visit notes: written beside the appointment, signed with a button, amended
with a reason; other doctors of the patient read it, staff see only that it exists. Every read of the
content is audited. The admin is thin: the form collects, ``workflows.clinical.services`` decides."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.decorators import display
from unfold.enums import ActionVariant

from booking import rules as booking_rules
from booking.models import Appointment
from core.admin_actions import ConfirmForm, ReadOnlyAdminMixin, button, confirm_dialog, find, run_service
from core.errors import DomainError
from workflows.clinical import icd10, rules
from workflows.clinical import services as svc
from workflows.clinical.models import (
    CONTENT_FIELDS,
    VITALS,
    ClinicalRecordAccess,
    Diagnosis,
    DocumentKind,
    NoteStatus,
    PlanItem,
    PlanItemKind,
    PrescriptionLine,
    VisitDocument,
    VisitNote,
    VisitNoteVersion,
)
from workflows.clinical.pdf import prescription_pdf

VITAL_NAMES = tuple(name for name, *_rest in VITALS)


# --- forms ----------------------------------------------------------------------------------------


class VisitNoteForm(forms.ModelForm):
    amendment_reason = forms.CharField(
        label=_("reason for the amendment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A signed note is not edited: saving a change adds a new version with this reason."),
    )

    class Meta:
        model = VisitNote
        fields = [*CONTENT_FIELDS, *VITAL_NAMES]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in CONTENT_FIELDS}

    def clean(self):
        data = super().clean()
        try:
            svc.clean_content(svc.NoteContent(vitals={name: data.get(name) for name in VITAL_NAMES}))
        except DomainError as exc:
            raise ValidationError(str(exc)) from None
        if self.instance.is_signed and self.has_changed() and not data.get("amendment_reason", "").strip():
            self.add_error("amendment_reason", _("Say why the signed note is amended."))
        return data


class DiagnosisForm(forms.ModelForm):
    class Meta:
        model = Diagnosis
        fields = ["code", "comment"]
        widgets = {"code": forms.TextInput(attrs={"size": 8}), "comment": forms.TextInput()}

    def clean_code(self):
        code = icd10.normalise(self.cleaned_data["code"])
        if not icd10.is_diagnosis_code(code):
            raise ValidationError(_("%(code)s is not an ICD-10 diagnosis code.") % {"code": code})
        return code


class PrescriptionLineForm(forms.ModelForm):
    class Meta:
        model = PrescriptionLine
        fields = list(svc.LINE_FIELDS)
        widgets = {name: forms.TextInput() for name in svc.LINE_FIELDS}


# --- inlines (their rows are written by the services, never by the formset) -----------------------


class NotePartInline(TabularInline):
    extra = 1
    tab = True

    def has_view_permission(self, request, obj=None):
        return True  # the note's admin decided already who sees the content (get_inline_instances)

    def has_add_permission(self, request, obj=None):
        return obj is not None and rules.is_treating_doctor(user=request.user, appointment=obj.appointment)

    has_change_permission = has_add_permission

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)


class DiagnosisInline(NotePartInline):
    model = Diagnosis
    form = DiagnosisForm
    fields = ("code", "description", "comment")
    readonly_fields = ("description",)
    verbose_name_plural = _("diagnoses (ICD-10)")

    @admin.display(description=_("ICD-10 title"))
    def description(self, obj):
        return obj.description if obj.pk else "—"


class PrescriptionLineInline(NotePartInline):
    model = PrescriptionLine
    form = PrescriptionLineForm
    fields = svc.LINE_FIELDS


class PlanItemForm(forms.ModelForm):
    class Meta:
        model = PlanItem
        fields = ["kind", "text", "due_date"]
        widgets = {"text": forms.TextInput(), "due_date": forms.DateInput(attrs={"type": "date"})}


class PlanItemInline(NotePartInline):
    model = PlanItem
    form = PlanItemForm
    fields = ("kind", "text", "due_date")


class VersionInline(TabularInline):
    model = VisitNoteVersion
    extra = 0
    tab = True
    verbose_name_plural = _("history")
    fields = ("number", "created_at", "author", "reason", "summary")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("content"))
    def summary(self, obj):
        content = svc.content_from_json(obj.content)
        codes = ", ".join(d.code for d in content.diagnoses) or "—"
        medicines = ", ".join(line.medicine for line in content.prescription) or "—"
        kinds = dict(PlanItemKind.choices)
        items = "; ".join(
            f"{kinds.get(item.kind, item.kind)}: {item.text}"
            + (f" ({date_format(item.due_date, 'SHORT_DATE_FORMAT')})" if item.due_date else "")
            for item in content.plan_items
        )
        return format_html(
            "<strong>{}</strong> {}<br><strong>{}</strong> {}<br><strong>{}</strong> {}<br><strong>{}</strong> {}"
            "<br><strong>{}</strong> {}",
            _("Assessment:"),
            content.assessment or "—",
            _("Plan:"),
            content.plan or "—",
            _("Goals and follow-up steps:"),
            items or "—",
            _("Diagnoses:"),
            codes,
            _("Prescription:"),
            medicines,
        )


# --- the note --------------------------------------------------------------------------------------


@admin.register(VisitNote)
class VisitNoteAdmin(ModelAdmin):
    form = VisitNoteForm
    list_display = ("number", "patient_display", "doctor_display", "when", "status_badge", "version")
    # patient name, date and doctor are plain columns of the appointment: searching and filtering work
    # although the note's text is encrypted
    list_filter = ("status", "appointment__doctor", ("appointment__starts_at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("appointment__last_name", "appointment__first_name", "=appointment__id")
    list_select_related = ("appointment__doctor__user",)
    readonly_fields = ("appointment_link", "status", "version", "signed_at", "signed_by", "created_by")
    inlines = [DiagnosisInline, PrescriptionLineInline, PlanItemInline, VersionInline]
    actions_detail = ["sign_detail"]
    change_form_before_template = "admin/clinical/note_before.html"
    ordering = ("-created_at", "-id")

    # --- display ---
    @display(description=_("No."), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=_("Patient"), ordering="appointment__last_name")
    def patient_display(self, obj):
        return obj.appointment.patient_name

    @display(description=_("Doctor"))
    def doctor_display(self, obj):
        return obj.appointment.doctor

    @display(description=_("When"), ordering="appointment__starts_at")
    def when(self, obj):
        starts = obj.appointment.starts_at
        return timezone.localtime(starts).strftime("%d/%m/%Y %H:%M") if starts else "—"

    @display(description=_("Status"), ordering="status", label={"draft": "warning", "signed": "success"})
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("appointment"))
    def appointment_link(self, obj):
        url = reverse("admin:booking_appointment_change", args=[obj.appointment_id])
        return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, obj.appointment)

    # --- scope ---
    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("appointment__doctor__user")
        scope = rules.listable_notes_q(user=request.user)
        return qs.none() if scope is None else qs.filter(scope)

    def has_add_permission(self, request):
        return False  # a note is started from its appointment (start view)

    def has_delete_permission(self, request, obj=None):
        return False  # the clinical record is kept

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or rules.is_treating_doctor(user=request.user, appointment=obj.appointment)

    def _reads_content(self, request, obj) -> bool:
        return obj is not None and rules.may_read(user=request.user, appointment=obj.appointment)

    def get_fieldsets(self, request, obj=None):
        head = (None, {"fields": ("appointment_link", "status", "version", "signed_at", "signed_by", "created_by")})
        if not self._reads_content(request, obj):
            return (head,)  # staff: that a note exists, never what it says
        fieldsets = [
            head,
            (_("Visit note (SOAP)"), {"fields": CONTENT_FIELDS}),
            (_("Vital signs"), {"fields": VITAL_NAMES}),
        ]
        if obj.is_signed and self.has_change_permission(request, obj):
            fieldsets.append((_("Amendment"), {"fields": ("amendment_reason",)}))
        return fieldsets

    def get_inline_instances(self, request, obj=None):
        if not self._reads_content(request, obj):
            return []
        return super().get_inline_instances(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        note = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "icd10_search_url": reverse("admin:clinical_visitnote_icd10")}
        if note is not None and rules.is_treating_doctor(user=request.user, appointment=note.appointment):
            # the treatment plan's follow-up step: the appointment's "suggest follow-up" button
            allowed = booking_rules.available_actions(
                appointment=note.appointment, user=request.user, now=timezone.now()
            )
            if booking_rules.Action.SUGGEST_FOLLOW_UP in allowed:
                follow_up_url = reverse(
                    "admin:booking_appointment_suggest_follow_up_detail", args=[note.appointment_id]
                )
                extra_context["follow_up_url"] = follow_up_url
                # each follow-up step opens booking's suggestion form with the step's date filled in
                extra_context["follow_up_steps"] = [
                    {
                        "item": item,
                        "url": follow_up_url
                        + (f"?{urlencode({'suggested_date': item.due_date.isoformat()})}" if item.due_date else ""),
                    }
                    for item in note.plan_items.filter(kind=PlanItemKind.STEP)
                ]
        if note is not None and note.is_signed and self._reads_content(request, note):
            extra_context["prescription_pdf_url"] = reverse("admin:clinical_visitnote_prescription_pdf", args=[note.pk])
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and self._reads_content(request, note):
            svc.visit_note_viewed(note=note, actor=request.user, where="admin")
        return response

    # --- saving goes through the services ---
    def save_model(self, request, obj, form, change):
        pass  # the note's fields are written by visit_note_save_draft / visit_note_amend in save_related

    def save_related(self, request, form, formsets, change):
        data = form.cleaned_data
        parts = {}
        for formset in formsets:
            # an untouched extra row has empty cleaned_data
            parts[formset.model] = [
                f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
        content = svc.NoteContent(
            **{name: data.get(name) or "" for name in CONTENT_FIELDS},
            vitals={name: data.get(name) for name in VITAL_NAMES},
            diagnoses=tuple(
                svc.DiagnosisEntry(code=row["code"], comment=row.get("comment", "")) for row in parts.get(Diagnosis, [])
            ),
            prescription=tuple(
                svc.LineEntry(**{name: row.get(name, "") for name in svc.LINE_FIELDS})
                for row in parts.get(PrescriptionLine, [])
            ),
            plan_items=tuple(
                svc.PlanEntry(kind=row["kind"], text=row.get("text", ""), due_date=row.get("due_date"))
                for row in parts.get(PlanItem, [])
            ),
        )
        note = form.instance
        try:
            if note.is_signed:
                svc.visit_note_amend(
                    note=note, actor=request.user, content=content, reason=data.get("amendment_reason", "")
                )
            else:
                svc.visit_note_save_draft(note=note, actor=request.user, content=content)
        except DomainError as exc:
            request._clinical_refused = str(exc)

    def construct_change_message(self, request, form, formsets, add=False):
        return []  # field names of a clinical note are not logged to the generic admin history

    def response_change(self, request, obj):
        refused = getattr(request, "_clinical_refused", None)
        if refused is not None:
            messages.error(request, refused)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # --- signing ---
    def has_sign_detail_permission(self, request, object_id=None):
        note = find(self.get_queryset(request), object_id) if object_id is not None else None
        return (
            note is not None
            and note.status == NoteStatus.DRAFT
            and rules.is_treating_doctor(user=request.user, appointment=note.appointment)
        )

    @button(
        description=_("Sign"),
        permissions=["sign_detail"],
        icon="verified",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Sign this visit note"),
            submit=_("Sign"),
            description=_(
                "The note, its diagnoses and its prescription become final: later corrections are amendments "
                "with a reason, and every version stays in the history."
            ),
        ),
    )
    def sign_detail(self, request, form, object_id):
        note = find(self.get_queryset(request), object_id)
        if note is None:
            raise Http404
        back = reverse("admin:clinical_visitnote_change", args=[note.pk])
        return run_service(
            request, lambda: svc.visit_note_sign(note=note, actor=request.user), _("Visit note signed."), back=back
        )

    # --- starting a note from its appointment, and the ICD-10 search ---
    def get_urls(self):
        return [
            path(
                "start/<str:appointment_id>/",
                self.admin_site.admin_view(self.start_view),
                name="clinical_visitnote_start",
            ),
            path("icd10/", self.admin_site.admin_view(self.icd10_view), name="clinical_visitnote_icd10"),
            path(
                "documents/upload/<str:appointment_id>/",
                self.admin_site.admin_view(self.document_upload_view),
                name="clinical_visitnote_document_upload",
            ),
            path(
                "documents/<str:document_id>/",
                self.admin_site.admin_view(self.document_view),
                name="clinical_visitnote_document",
            ),
            path(
                "<str:object_id>/prescription.pdf",
                self.admin_site.admin_view(self.prescription_pdf_view),
                name="clinical_visitnote_prescription_pdf",
            ),
            *super().get_urls(),
        ]

    def start_view(self, request, appointment_id):
        """GET: the note if it exists, else a confirmation; POST (CSRF-checked): start the draft."""
        appointment = find(Appointment.objects.select_related("doctor"), appointment_id)
        if appointment is None or not self.has_view_permission(request):
            raise Http404
        existing = VisitNote.objects.filter(appointment=appointment).first()
        if existing is not None and self.get_queryset(request).filter(pk=existing.pk).exists():
            return redirect("admin:clinical_visitnote_change", existing.pk)
        if not rules.may_write(user=request.user, appointment=appointment):
            raise Http404
        back = reverse("admin:booking_appointment_change", args=[appointment.pk])
        form = ConfirmForm(data=request.POST or None, request=request, object_id=None)
        if request.method == "POST" and form.is_valid():
            try:
                note = svc.visit_note_start(appointment=appointment, actor=request.user)
            except DomainError as exc:
                messages.error(request, str(exc))
                return redirect(back)
            return redirect("admin:clinical_visitnote_change", note.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Write the visit note"),
            "dialog": {
                "title": _("Write the visit note"),
                "description": _("A draft note is started for %(appointment)s.") % {"appointment": appointment},
            },
            "form": form,
            "form_submit_text": _("Start the note"),
            "destructive": False,
            "back_url": back,
        }
        return TemplateResponse(request, "admin/confirm_action.html", context)

    def prescription_pdf_view(self, request, object_id):
        """The signed prescription as a PDF in the patient's language (a read, audited)."""
        note = find(self.get_queryset(request), object_id)
        if note is None or not note.is_signed or not self._reads_content(request, note):
            raise Http404
        svc.visit_note_viewed(note=note, actor=request.user, where="admin", what="prescription")
        response = HttpResponse(prescription_pdf(note=note), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="prescription-{note.appointment_id}.pdf"'
        return response

    def document_upload_view(self, request, appointment_id):
        """GET: the upload form; POST (CSRF-checked, multipart): attach the file to the visit."""
        appointment = find(Appointment.objects.select_related("doctor"), appointment_id)
        if appointment is None or not rules.may_upload_document(user=request.user, appointment=appointment):
            raise Http404
        back = reverse("admin:booking_appointment_change", args=[appointment.pk])
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Attach a document"),
                "appointment": appointment,
                "document_kinds": DocumentKind.choices,
                "max_mb": settings.CLINICAL_DOCUMENT_MAX_MB,
                "back_url": back,
            }
            return TemplateResponse(request, "admin/clinical/document_upload.html", context)
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file."))
            return redirect(back)
        if upload.size > settings.CLINICAL_DOCUMENT_MAX_MB * 1024 * 1024:
            messages.error(
                request, _("The file is larger than %(max)s MB.") % {"max": settings.CLINICAL_DOCUMENT_MAX_MB}
            )
            return redirect(back)
        return run_service(
            request,
            lambda: svc.document_upload(
                appointment=appointment,
                actor=request.user,
                data=upload.read(),
                title=request.POST.get("title", "") or upload.name,
                kind=request.POST.get("kind", DocumentKind.OTHER),
                shared=request.POST.get("shared") == "on",
            ),
            _("Document attached."),
            back=back,
        )

    def document_view(self, request, document_id):
        """The file, for those who may read it (the read is audited)."""
        document = find(VisitDocument.objects.select_related("appointment__doctor"), document_id)
        if document is None or not rules.may_read_document(user=request.user, document=document):
            raise Http404
        return document_response(document, svc.document_open(document=document, actor=request.user, where="admin"))

    def icd10_view(self, request):
        """Search ICD-10 by code or words (a page that only reads)."""
        if not self.has_view_permission(request):
            raise Http404
        query = request.GET.get("q", "")[:100]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("ICD-10 codes"),
            "query": query,
            "results": icd10.search(query, limit=50),
        }
        return TemplateResponse(request, "admin/clinical/icd10_search.html", context)


@admin.register(ClinicalRecordAccess)
class ClinicalRecordAccessAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """Admins read the audit of the clinical record: who read or changed which note, where, when."""

    list_display = ("created_at", "actor", "action", "object_id", "data")
    list_filter = ("action",)
    search_fields = ("actor__email", "=object_id")
    list_select_related = ("actor",)
    readonly_fields = ("created_at", "actor", "action", "object_type", "object_id", "data")

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


def document_response(document: VisitDocument, data: bytes) -> HttpResponse:
    """A stored document as a download (never rendered inline: the browser does not sniff it)."""
    extension = svc.DOCUMENT_TYPES[document.content_type]
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.{extension}"'
    return response


def appointment_note_section(request, appointment) -> dict | None:
    """The appointment page's "visit note" section (registered on booking's admin by
    ``ClinicalConfig.ready``): a link to the note for those who may read it, the state alone for staff,
    a "write the note" button for the treating doctor."""
    user = request.user
    if not user.has_perm("clinical.view_visitnote"):
        return None
    note = VisitNote.objects.filter(appointment=appointment).first()
    return {
        "template": "admin/clinical/appointment_note.html",
        "note": note,
        "reads": note is not None and rules.may_read(user=user, appointment=appointment),
        "may_start": note is None and rules.may_write(user=user, appointment=appointment),
        "start_url": reverse("admin:clinical_visitnote_start", args=[appointment.pk]),
        "note_url": reverse("admin:clinical_visitnote_change", args=[note.pk]) if note else "",
        "documents": [
            document
            for document in VisitDocument.objects.filter(appointment=appointment).select_related("appointment__doctor")
            if rules.may_read_document(user=user, document=document)
        ],
        "may_upload": rules.may_upload_document(user=user, appointment=appointment),
        "upload_url": reverse("admin:clinical_visitnote_document_upload", args=[appointment.pk]),
        "document_kinds": DocumentKind.choices,
    }
