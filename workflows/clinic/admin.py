"""The clinic back office in the admin: doctor applications, subscriptions, support tickets, reminder
times, the medical-record access log; and, added to admins that other modules own, CSV/XLSX exports,
the patient import, patient deactivation and history, the printable day schedule, audit filters.

Those additions subclass the registered admins and register the subclass in their place (this app
loads after ``accounts``, ``core`` and ``booking``), so the owning modules keep working unchanged and
never import the back office. Every button calls a service and turns a domain error into a message.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldError, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    FieldTextFilter,
    RangeDateFilter,
    RangeDateTimeFilter,
    RelatedDropdownFilter,
)
from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm
from unfold.decorators import display
from unfold.enums import ActionVariant
from unfold.widgets import UnfoldAdminTextareaWidget

from accounts.admin import PatientProfileAdmin
from accounts.models import PatientProfile, Role
from booking.admin.actions import ConfirmForm, button, confirm_dialog, find, run_service
from booking.admin.appointments import AppointmentAdmin, PaymentAdmin
from booking.admin.history import HistoryInline
from booking.admin.scheduling import DoctorAdmin
from booking.models import Appointment, AppointmentMode, Doctor, Payment
from core.admin import AuditLogAdmin
from core.audit import audit_log
from core.errors import DomainError
from core.models import AuditLog
from workflows.clinic import services as svc
from workflows.clinic.models import (
    ApplicationStatus,
    DoctorApplication,
    DoctorSubscription,
    MedicalRecordAccess,
    ReminderSettings,
    SubscriptionEvent,
    SubscriptionPlan,
    SubscriptionStatus,
    SupportTicket,
    TicketMessage,
    TicketStatus,
)
from workflows.clinic.paginator import DeferredJoinPaginator
from workflows.clinic.pdf import day_schedule_pdf
from workflows.clinic.resources import (
    AppointmentResource,
    DoctorResource,
    PatientResource,
    PaymentResource,
    StaffAppointmentResource,
)
from workflows.clinic.selectors import patient_history

# --- shared ---------------------------------------------------------------------------------------


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    tab = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _says(model, text, words):
    """A button's consequence in words: ``text`` filled with ``words(obj)`` for the button's object."""

    def consequence(request, object_id) -> str:
        obj = find(model._default_manager.all(), object_id)
        return text % words(obj) if obj is not None else ""

    return consequence


def _applicant_words(application) -> dict:
    return {"name": f"{application.first_name} {application.last_name}".strip(), "email": application.email}


def _subscriber_words(subscription) -> dict:
    return {"doctor": subscription.doctor, "plan": subscription.plan.name}


def _ticket_words(ticket) -> dict:
    return {
        "number": ticket.pk,
        "subject": ticket.subject,
        "patient": ticket.patient.get_full_name() or ticket.patient.email,
    }


class ReasonForm(ConfirmForm):
    reason = forms.CharField(label=_("Reason (sent to the applicant)"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 4}))


class SafeExportMixin:
    """An export link carries the changelist's filters in its query string; a hand-made one with
    filters the list does not know answers 400 with a way back, not a 500."""

    def export_action(self, request):
        try:
            return super().export_action(request)
        except (IncorrectLookupParameters, FieldError, ValidationError):
            opts = self.opts
            context = {
                **self.admin_site.each_context(request),
                "opts": opts,
                "title": _("This export link does not work"),
                "message": _(
                    "The link has filters this list does not know. Open the list, filter it, and export from there."
                ),
                "back_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            }
            return TemplateResponse(request, "admin/bad_request.html", context, status=400)


class RoleExportMixin(SafeExportMixin, ExportMixin):
    """CSV and XLSX exports of what the changelist shows: its filters, search and row scoping."""

    export_form_class = SelectableFieldsExportForm

    def get_export_formats(self):
        return [CSV, XLSX]

    def has_export_permission(self, request):
        return self.has_view_permission(request)


# --- patients: exports, import, deactivation, history -----------------------------------------------


class DeactivateForm(ConfirmForm):
    confirm = forms.BooleanField(label=_("End the patient's sessions and lock the account"), required=True)


admin.site.unregister(PatientProfile)


@admin.register(PatientProfile)
class ClinicPatientProfileAdmin(SafeExportMixin, ImportExportMixin, PatientProfileAdmin):
    resource_classes = [PatientResource]
    paginator = DeferredJoinPaginator
    import_form_class = ImportForm
    export_form_class = SelectableFieldsExportForm
    list_display = ("__str__", "email", "phone", "national_id", "date_of_birth", "account_active")
    list_filter = ("user__is_active", ("created_at", RangeDateFilter))
    list_filter_submit = True
    show_full_result_count = False
    change_form_after_template = "admin/clinic/patient_history.html"
    actions_detail = ["deactivate_patient", "reactivate_patient"]

    def get_export_formats(self):
        return [CSV, XLSX]

    def get_import_formats(self):
        return [CSV, XLSX]

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def has_import_permission(self, request):
        return request.user.is_superuser

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "actor": request.user}

    @display(description=_("active"), boolean=True, ordering="user__is_active")
    def account_active(self, obj):
        return obj.user.is_active

    def _profile(self, request, object_id) -> PatientProfile:
        profile = self.get_object(request, object_id)
        if profile is None:
            raise Http404
        return profile

    def _may_toggle(self, request, object_id, *, active: bool) -> bool:
        if object_id is None or not request.user.is_superuser:
            return False
        return self._profile(request, object_id).user.is_active == active

    def has_deactivate_patient_permission(self, request, object_id=None):
        return self._may_toggle(request, object_id, active=True)

    def has_reactivate_patient_permission(self, request, object_id=None):
        return self._may_toggle(request, object_id, active=False)

    def _back(self, profile):
        return reverse("admin:accounts_patientprofile_change", args=[profile.pk])

    @button(
        description=_("Deactivate"),
        permissions=["deactivate_patient"],
        icon="person_off",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Deactivate this patient"),
            submit=_("Deactivate"),
            form_class=DeactivateForm,
            consequence=_says(
                PatientProfile,
                _(
                    "%(name)s (%(email)s) is signed out on every device, their app tokens stop working, and "
                    "they cannot sign in until an admin reactivates the account. Their visits and records are kept."
                ),
                lambda p: {"name": p.user.get_full_name() or p.user.email, "email": p.user.email},
            ),
        ),
    )
    def deactivate_patient(self, request, form, object_id):
        profile = self._profile(request, object_id)
        return run_service(
            request,
            lambda: svc.patient_deactivate(user=profile.user, actor=request.user),
            _("The patient is deactivated and signed out."),
            back=self._back(profile),
        )

    @button(
        description=_("Reactivate"),
        permissions=["reactivate_patient"],
        icon="person_check",
        dialog=confirm_dialog(
            title=_("Reactivate this patient"),
            submit=_("Reactivate"),
            consequence=_says(
                PatientProfile,
                _("%(name)s (%(email)s) can sign in again."),
                lambda p: {"name": p.user.get_full_name() or p.user.email, "email": p.user.email},
            ),
        ),
    )
    def reactivate_patient(self, request, form, object_id):
        profile = self._profile(request, object_id)
        return run_service(
            request,
            lambda: svc.patient_reactivate(user=profile.user, actor=request.user),
            _("The patient can sign in again."),
            back=self._back(profile),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if profile is not None:
            history = patient_history(patient=profile.user, viewer=request.user)
            extra_context["patient_history"] = history
            extra_context["patient_history_url"] = (
                reverse("admin:booking_appointment_changelist") + f"?patient__id__exact={profile.user_id}"
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- doctors, appointments, payments: exports and the day schedule ------------------------------


admin.site.unregister(Doctor)


@admin.register(Doctor)
class ClinicDoctorAdmin(RoleExportMixin, DoctorAdmin):
    resource_classes = [DoctorResource]


admin.site.unregister(Payment)


@admin.register(Payment)
class ClinicPaymentAdmin(RoleExportMixin, PaymentAdmin):
    resource_classes = [PaymentResource]
    list_select_related = ("appointment__doctor__user",)
    paginator = DeferredJoinPaginator

    def get_list_filter(self, request):
        return tuple(GatewayFilter if f == "gateway" else f for f in super().get_list_filter(request))


class DayScheduleForm(forms.Form):
    doctor = forms.ModelChoiceField(label=_("Doctor"), queryset=Doctor.objects.none())
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, doctors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = doctors


class ModeFilter(admin.SimpleListFilter):
    """Video or in person, from the choices (the default reads every row's distinct value)."""

    title = _("mode")
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return AppointmentMode.choices

    def queryset(self, request, queryset):
        return queryset.filter(mode=self.value()) if self.value() else queryset


class GatewayFilter(admin.SimpleListFilter):
    title = _("gateway")
    parameter_name = "gateway"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted({*settings.PAYMENT_GATEWAYS, "cash", "sandbox", "stripe"})]

    def queryset(self, request, queryset):
        return queryset.filter(gateway=self.value()) if self.value() else queryset


class DoctorFilter(RelatedDropdownFilter):
    """Doctors as a dropdown, their names read in one query (the default reads each doctor's user)."""

    def field_choices(self, field, request, model_admin):
        doctors = Doctor.objects.select_related("user").order_by("user__last_name", "user__first_name", "pk")
        if request.user.role == Role.DOCTOR:
            doctors = doctors.filter(user=request.user)
        return [(doctor.pk, str(doctor)) for doctor in doctors]


admin.site.unregister(Appointment)


@admin.register(Appointment)
class ClinicAppointmentAdmin(RoleExportMixin, AppointmentAdmin):
    resource_classes = [AppointmentResource]
    paginator = DeferredJoinPaginator

    def get_list_filter(self, request):
        replace = {"doctor": ("doctor", DoctorFilter), "mode": ModeFilter}
        return tuple(replace.get(f, f) if isinstance(f, str) else f for f in super().get_list_filter(request))

    def get_export_resource_classes(self, request):
        # Only people who may read medical records get the reason for the visit.
        if request.user.has_perm("accounts.view_medicalrecord"):
            return [AppointmentResource]
        return [StaffAppointmentResource]

    def lookup_allowed(self, lookup, value, request=None):
        # the patient page links to "all appointments of this patient"
        if lookup in {"patient__id__exact", "patient__id"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    def get_urls(self):
        return [
            path(
                "day-schedule.pdf",
                self.admin_site.admin_view(self.day_schedule_pdf_view),
                name="booking_appointment_day_schedule_pdf",
            ),
            path("exports/", self.admin_site.admin_view(self.exports_view), name="clinic_exports"),
            *super().get_urls(),
        ]

    def _visible_doctors(self, request):
        doctors = Doctor.objects.select_related("user").order_by("user__last_name", "user__first_name", "pk")
        if request.user.role == Role.DOCTOR:
            return doctors.filter(user=request.user)
        return doctors

    def day_schedule_pdf_view(self, request):
        """``?doctor=<id>&date=YYYY-MM-DD``: a doctor may print only their own day (another doctor's
        answers 404)."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        form = DayScheduleForm(request.GET or None, doctors=self._visible_doctors(request))
        if request.user.role == Role.DOCTOR and "doctor" not in request.GET:
            own = self._visible_doctors(request).first()
            form = DayScheduleForm(
                {"doctor": own.pk if own else "", "date": request.GET.get("date", "")},
                doctors=self._visible_doctors(request),
            )
        if not form.is_valid():
            if "doctor" in form.errors and request.GET.get("doctor"):
                raise Http404
            return redirect(reverse("admin:clinic_exports"))
        doctor, day = form.cleaned_data["doctor"], form.cleaned_data["date"]
        content = day_schedule_pdf(doctor=doctor, day=day)
        audit_log(
            actor=request.user,
            action="clinic.day_schedule.printed",
            obj=doctor,
            data={"date": day.isoformat()},
        )
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="schedule-{doctor.pk}-{day.isoformat()}.pdf"'
        return response

    def exports_view(self, request):
        """One page listing the exports a role may download and the day-schedule printout."""
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        user = request.user
        links = []
        for model_admin, title, perm in (
            (self, _("Appointments"), "booking.view_appointment"),
            (admin.site._registry.get(Payment), _("Payments"), "booking.view_payment"),
            (admin.site._registry.get(PatientProfile), _("Patients (contact data)"), "accounts.view_patientprofile"),
            (admin.site._registry.get(Doctor), _("Doctors"), "booking.view_doctor"),
        ):
            if model_admin is not None and user.has_perm(perm):
                opts = model_admin.opts
                links.append(
                    {
                        "title": title,
                        "list": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                        "export": reverse(f"admin:{opts.app_label}_{opts.model_name}_export"),
                    }
                )
        today = timezone.localdate()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Exports"),
            "opts": self.opts,
            "links": links,
            "form": DayScheduleForm(initial={"date": today}, doctors=self._visible_doctors(request)),
            "pdf_url": reverse("admin:booking_appointment_day_schedule_pdf"),
        }
        return TemplateResponse(request, "admin/clinic/exports.html", context)


# --- doctor applications --------------------------------------------------------------------------


class ApplicationAddForm(forms.ModelForm):
    class Meta:
        model = DoctorApplication
        fields = (
            "first_name",
            "last_name",
            "email",
            "phone",
            "specialties",
            "licence_number",
            "years_of_experience",
            "bio",
        )


@admin.register(DoctorApplication)
class DoctorApplicationAdmin(ModelAdmin):
    paginator = DeferredJoinPaginator
    list_display = ("__str__", "phone", "specialty_list", "status_badge", "source", "created_at", "decided_at")
    list_filter = ("status", "source", ("created_at", RangeDateFilter), "specialties")
    list_filter_submit = True
    search_fields = ("first_name", "last_name", "email", "phone", "licence_number")
    list_select_related = ("decided_by",)
    show_full_result_count = False
    inlines = [HistoryInline]
    actions_detail = ["approve_detail", "reject_detail", "resend_invitation_detail"]
    fieldsets = (
        (None, {"fields": ("status", "first_name", "last_name", "email", "phone")}),
        (_("Practice"), {"fields": ("specialties", "licence_number", "years_of_experience", "bio")}),
        (
            _("Decision"),
            {
                "fields": (
                    "rejection_reason",
                    "decided_by",
                    "decided_at",
                    "doctor",
                    "invitation_sent_at",
                    "decision_emailed_at",
                )
            },
        ),
        (_("Dates"), {"fields": ("source", "submitted_by", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("specialties")

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApplicationAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ApplicationAddForm.Meta.fields}),)
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [name for _title, box in self.fieldsets for name in box["fields"]]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        # the page is read-only; decisions are buttons
        return request.user.has_perm("clinic.view_doctorapplication") and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = svc.doctor_application_submit(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            licence_number=data["licence_number"],
            years_of_experience=data.get("years_of_experience") or 0,
            bio=data.get("bio") or "",
            specialties=data.get("specialties") or (),
            actor=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the service saved the specialties

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect(reverse("admin:clinic_doctorapplication_add"))

    @display(description=_("specialties"))
    def specialty_list(self, obj):
        return ", ".join(s.name for s in obj.specialties.all())

    @display(
        description=_("status"),
        label={
            ApplicationStatus.SUBMITTED: "warning",
            ApplicationStatus.APPROVED: "success",
            ApplicationStatus.REJECTED: "danger",
        },
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def _application(self, request, object_id) -> DoctorApplication:
        application = self.get_object(request, object_id)
        if application is None:
            raise Http404
        return application

    def _decidable(self, request, object_id, *statuses) -> bool:
        if object_id is None or not request.user.is_superuser:
            return False
        return self._application(request, object_id).status in statuses

    def has_approve_detail_permission(self, request, object_id=None):
        return self._decidable(request, object_id, ApplicationStatus.SUBMITTED)

    def has_reject_detail_permission(self, request, object_id=None):
        return self._decidable(request, object_id, ApplicationStatus.SUBMITTED)

    def has_resend_invitation_detail_permission(self, request, object_id=None):
        return self._decidable(request, object_id, ApplicationStatus.APPROVED)

    def _back(self, object_id):
        return reverse("admin:clinic_doctorapplication_change", args=[object_id])

    @button(
        description=_("Approve"),
        permissions=["approve_detail"],
        icon="how_to_reg",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Approve this application"),
            submit=_("Approve"),
            consequence=_says(
                DoctorApplication,
                _(
                    "A doctor account for %(name)s (%(email)s) is created with a draft profile page, and an "
                    "invitation to set a password is emailed to them."
                ),
                _applicant_words,
            ),
        ),
    )
    def approve_detail(self, request, form, object_id):
        application = self._application(request, object_id)
        return run_service(
            request,
            lambda: svc.doctor_application_approve(application=application, actor=request.user),
            _("Approved: the doctor's account is created and the invitation to set a password is on its way."),
            back=self._back(object_id),
        )

    @button(
        description=_("Reject"),
        permissions=["reject_detail"],
        icon="block",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Reject this application"),
            submit=_("Reject"),
            form_class=ReasonForm,
            consequence=_says(
                DoctorApplication,
                _("%(name)s's application is rejected and %(email)s is emailed your reason. This cannot be undone."),
                _applicant_words,
            ),
        ),
    )
    def reject_detail(self, request, form, object_id):
        application = self._application(request, object_id)
        return run_service(
            request,
            lambda: svc.doctor_application_reject(
                application=application, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            _("Rejected; the applicant is told."),
            back=self._back(object_id),
        )

    @button(
        description=_("Send the invitation again"),
        permissions=["resend_invitation_detail"],
        icon="forward_to_inbox",
        dialog=confirm_dialog(
            title=_("Send the invitation again"),
            submit=_("Send"),
            consequence=_says(
                DoctorApplication,
                _("A new link to set a password is emailed to %(name)s (%(email)s); earlier links stop working."),
                _applicant_words,
            ),
        ),
    )
    def resend_invitation_detail(self, request, form, object_id):
        application = self._application(request, object_id)
        return run_service(
            request,
            lambda: svc.doctor_application_resend_invitation(application=application, actor=request.user),
            _("The invitation is sent again."),
            back=self._back(object_id),
        )


# --- subscriptions --------------------------------------------------------------------------------


@admin.register(SubscriptionPlan)
class SubscriptionPlanAdmin(ModelAdmin):
    list_display = ("name", "price", "currency", "period_months", "is_active", "subscriber_count")
    list_filter = ("is_active",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(subscribers=Count("subscriptions"))

    @display(description=_("subscribers"), ordering="subscribers")
    def subscriber_count(self, obj):
        return obj.subscribers

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,
            action="clinic.subscription_plan.changed" if change else "clinic.subscription_plan.created",
            obj=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def has_delete_permission(self, request, obj=None):
        return False  # plans are retired ("offered" off), never deleted: history points at them


class SubscriptionEventInline(ReadOnlyInline):
    model = SubscriptionEvent
    verbose_name_plural = _("History")
    fields = ("created_at", "kind", "amount", "reference", "period_start", "period_end", "actor")
    readonly_fields = fields


class SubscriptionStartForm(forms.ModelForm):
    paid = forms.BooleanField(label=_("The first period is paid"), required=False)

    class Meta:
        model = DoctorSubscription
        fields = ("doctor", "plan")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doctor"].queryset = Doctor.objects.filter(subscription__isnull=True).select_related("user")
        self.fields["plan"].queryset = SubscriptionPlan.objects.filter(is_active=True)


class PaymentRecordForm(ConfirmForm):
    amount = forms.DecimalField(label=_("Amount received"), min_value=0, decimal_places=2, max_digits=12)
    reference = forms.CharField(label=_("Reference (receipt, transfer)"), max_length=120, required=False)


class PlanChangeForm(ConfirmForm):
    plan = forms.ModelChoiceField(label=_("New plan (from the next renewal)"), queryset=SubscriptionPlan.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = SubscriptionPlan.objects.filter(is_active=True)


SUBSCRIPTION_COLOURS = {
    SubscriptionStatus.ACTIVE: "success",
    SubscriptionStatus.OVERDUE: "danger",
    SubscriptionStatus.CANCELLED: "info",
}


@admin.register(DoctorSubscription)
class DoctorSubscriptionAdmin(ModelAdmin):
    paginator = DeferredJoinPaginator
    list_display = ("doctor", "plan", "status_badge", "current_period_end", "credit")
    list_filter = ("status", "plan", ("current_period_end", RangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("doctor__user__first_name", "doctor__user__last_name", "doctor__user__email")
    list_select_related = ("doctor__user", "plan")
    show_full_result_count = False
    inlines = [SubscriptionEventInline, HistoryInline]
    actions_detail = ["record_payment_detail", "change_plan_detail", "cancel_detail", "resume_detail"]
    readonly_fields = (
        "doctor",
        "plan",
        "status",
        "current_period_start",
        "current_period_end",
        "billing_anchor",
        "credit",
        "cancelled_at",
        "created_at",
        "updated_at",
    )

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SubscriptionStartForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("doctor", "plan", "paid")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = svc.subscription_start(
            doctor=data["doctor"], plan=data["plan"], actor=request.user, paid=data["paid"]
        )
        obj.pk = created.pk
        obj._state.adding = False

    @display(description=_("status"), label=SUBSCRIPTION_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def _subscription(self, request, object_id) -> DoctorSubscription:
        subscription = self.get_object(request, object_id)
        if subscription is None:
            raise Http404
        return subscription

    def _state_allows(self, request, object_id, *statuses) -> bool:
        if object_id is None or not request.user.is_superuser:
            return False
        return self._subscription(request, object_id).status in statuses

    def has_record_payment_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_change_plan_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_cancel_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.ACTIVE, SubscriptionStatus.OVERDUE)

    def has_resume_detail_permission(self, request, object_id=None):
        return self._state_allows(request, object_id, SubscriptionStatus.CANCELLED)

    def _back(self, object_id):
        return reverse("admin:clinic_doctorsubscription_change", args=[object_id])

    @button(
        description=_("Record payment"),
        permissions=["record_payment_detail"],
        icon="payments",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Record a subscription payment"),
            description=_("Credited now, used at the renewal date; an overdue subscription renews at once."),
            submit=_("Record"),
            form_class=PaymentRecordForm,
        ),
    )
    def record_payment_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_payment_record(
                subscription=subscription,
                amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"],
                actor=request.user,
            ),
            _("Payment recorded."),
            back=self._back(object_id),
        )

    @button(
        description=_("Change plan"),
        permissions=["change_plan_detail"],
        icon="swap_horiz",
        dialog=confirm_dialog(title=_("Change plan"), submit=_("Change"), form_class=PlanChangeForm),
    )
    def change_plan_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_change_plan(
                subscription=subscription, plan=form.cleaned_data["plan"], actor=request.user
            ),
            _("Plan changed; it applies from the next renewal."),
            back=self._back(object_id),
        )

    @button(
        description=_("Cancel subscription"),
        permissions=["cancel_detail"],
        icon="cancel",
        variant=ActionVariant.DANGER,
        dialog=confirm_dialog(
            title=_("Cancel this subscription"),
            submit=_("Cancel subscription"),
            consequence=_says(
                DoctorSubscription,
                _(
                    "%(doctor)s's subscription to %(plan)s is cancelled: it is no longer renewed or charged. "
                    "It can be resumed later, starting a new period."
                ),
                _subscriber_words,
            ),
        ),
    )
    def cancel_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_cancel(subscription=subscription, actor=request.user),
            _("Subscription cancelled."),
            back=self._back(object_id),
        )

    @button(
        description=_("Resume"),
        permissions=["resume_detail"],
        icon="play_arrow",
        dialog=confirm_dialog(
            title=_("Resume this subscription"),
            submit=_("Resume"),
            consequence=_says(
                DoctorSubscription,
                _("%(doctor)s's subscription to %(plan)s starts a new period today, paid from the credit at renewal."),
                _subscriber_words,
            ),
        ),
    )
    def resume_detail(self, request, form, object_id):
        subscription = self._subscription(request, object_id)
        return run_service(
            request,
            lambda: svc.subscription_resume(subscription=subscription, actor=request.user),
            _("Subscription resumed from today."),
            back=self._back(object_id),
        )


# --- support tickets ------------------------------------------------------------------------------


class TicketMessageInline(ReadOnlyInline):
    model = TicketMessage
    verbose_name_plural = _("Conversation")
    fields = ("created_at", "author", "body", "is_internal")
    readonly_fields = fields
    ordering = ("created_at", "id")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("clinic.view_supportticket")


class ReplyForm(ConfirmForm):
    body = forms.CharField(label=_("Message"), widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}), max_length=5000)
    internal = forms.BooleanField(label=_("Internal note (not sent, not shown to the patient)"), required=False)


TICKET_COLOURS = {TicketStatus.OPEN: "warning", TicketStatus.WAITING: "info", TicketStatus.RESOLVED: "success"}


@admin.register(SupportTicket)
class SupportTicketAdmin(ModelAdmin):
    paginator = DeferredJoinPaginator
    list_display = ("number", "subject", "patient", "status_badge", "message_count", "created_at", "updated_at")
    list_filter = ("status", ("created_at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("subject", "patient__email", "patient__first_name", "patient__last_name", "=id")
    list_select_related = ("patient",)
    show_full_result_count = False
    inlines = [TicketMessageInline, HistoryInline]
    actions_detail = ["reply_detail", "resolve_detail", "reopen_detail"]
    readonly_fields = ("subject", "patient", "status", "created_at", "updated_at", "resolved_at")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(messages_total=Count("messages"))

    @display(description=_("No."), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=_("messages"), ordering="messages_total")
    def message_count(self, obj):
        return obj.messages_total

    @display(description=_("status"), label=TICKET_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def has_add_permission(self, request):
        return False  # patients open tickets from the portal

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("clinic.change_supportticket") and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def _ticket(self, request, object_id) -> SupportTicket:
        ticket = self.get_object(request, object_id)
        if ticket is None:
            raise Http404
        return ticket

    def _may(self, request, object_id, *statuses) -> bool:
        if object_id is None or not request.user.has_perm("clinic.change_supportticket"):
            return False
        return self._ticket(request, object_id).status in statuses

    def has_reply_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, *TicketStatus.values)

    def has_resolve_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, TicketStatus.OPEN, TicketStatus.WAITING)

    def has_reopen_detail_permission(self, request, object_id=None):
        return self._may(request, object_id, TicketStatus.RESOLVED)

    def _back(self, object_id):
        return reverse("admin:clinic_supportticket_change", args=[object_id])

    @button(
        description=_("Reply"),
        permissions=["reply_detail"],
        icon="reply",
        variant=ActionVariant.PRIMARY,
        dialog=confirm_dialog(
            title=_("Reply to the patient"),
            description=_("The patient is emailed; the ticket then waits for their answer."),
            submit=_("Send"),
            form_class=ReplyForm,
        ),
    )
    def reply_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        internal = form.cleaned_data["internal"]
        return run_service(
            request,
            lambda: svc.ticket_reply(
                ticket=ticket, author=request.user, body=form.cleaned_data["body"], internal=internal
            ),
            _("Note added.") if internal else _("Reply sent."),
            back=self._back(object_id),
        )

    @button(
        description=_("Resolve"),
        permissions=["resolve_detail"],
        icon="task_alt",
        variant=ActionVariant.SUCCESS,
        dialog=confirm_dialog(
            title=_("Resolve this ticket"),
            submit=_("Resolve"),
            consequence=_says(
                SupportTicket, _("Ticket #%(number)s “%(subject)s” from %(patient)s is marked resolved."), _ticket_words
            ),
        ),
    )
    def resolve_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        return run_service(
            request,
            lambda: svc.ticket_resolve(ticket=ticket, actor=request.user),
            _("Ticket resolved."),
            back=self._back(object_id),
        )

    @button(
        description=_("Reopen"),
        permissions=["reopen_detail"],
        icon="replay",
        dialog=confirm_dialog(
            title=_("Reopen this ticket"),
            submit=_("Reopen"),
            consequence=_says(
                SupportTicket, _("Ticket #%(number)s “%(subject)s” from %(patient)s is open again."), _ticket_words
            ),
        ),
    )
    def reopen_detail(self, request, form, object_id):
        ticket = self._ticket(request, object_id)
        return run_service(
            request,
            lambda: svc.ticket_reopen(ticket=ticket, actor=request.user),
            _("Ticket reopened."),
            back=self._back(object_id),
        )


# --- settings -------------------------------------------------------------------------------------


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(ModelAdmin):
    """The one row of reminder times: opened directly, saved through the service (audited)."""

    fields = ("reminder_leads", "updated_at")
    readonly_fields = ("updated_at",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise DjangoPermissionDenied
        ReminderSettings.objects.get_or_create(pk=1)
        return redirect(reverse("admin:clinic_remindersettings_change", args=[1]))

    def save_model(self, request, obj, form, change):
        saved = svc.reminder_settings_update(reminder_leads=obj.reminder_leads, actor=request.user)
        obj.updated_at = saved.updated_at


# --- audit log: filters, and who viewed which patient's record ------------------------------------


admin.site.unregister(AuditLog)


@admin.register(AuditLog)
class ClinicAuditLogAdmin(AuditLogAdmin):
    paginator = DeferredJoinPaginator
    list_filter = (
        ("actor", AutocompleteSelectFilter),
        "action",
        "object_type",
        ("object_id", FieldTextFilter),
        ("created_at", RangeDateTimeFilter),
    )
    list_filter_submit = True
    show_full_result_count = False


@admin.register(MedicalRecordAccess)
class MedicalRecordAccessAdmin(ModelAdmin):
    """Read-only: every time someone opened a patient's medical record (admin or portal)."""

    paginator = DeferredJoinPaginator
    list_display = ("created_at", "actor", "actor_role", "patient_display", "where")
    list_filter = (("actor", AutocompleteSelectFilter), ("created_at", RangeDateTimeFilter))
    list_filter_submit = True
    search_fields = ("actor__email",)
    search_help_text = _("Search by the viewer's email, or the patient's name or email.")
    list_select_related = ("actor",)
    show_full_result_count = False
    readonly_fields = ("created_at", "actor", "action", "object_type", "object_id", "data")

    def get_queryset(self, request):
        patient = PatientProfile.objects.filter(pk=Cast(OuterRef("object_id"), IntegerField()))
        return (
            super()
            .get_queryset(request)
            .annotate(
                patient_email=Subquery(patient.values("user__email")[:1]),
                patient_first=Subquery(patient.values("user__first_name")[:1]),
                patient_last=Subquery(patient.values("user__last_name")[:1]),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            words = term.split()
            patients = PatientProfile.objects.all()
            for word in words:
                patients = patients.filter(
                    Q(user__email__icontains=word)
                    | Q(user__first_name__icontains=word)
                    | Q(user__last_name__icontains=word)
                )
            ids = [str(pk) for pk in patients.values_list("pk", flat=True)[:500]]
            results = results | queryset.filter(object_id__in=ids)
        return results, duplicates

    @display(description=_("role"))
    def actor_role(self, obj):
        return obj.actor.get_role_display() if obj.actor else "—"

    @display(description=_("patient"))
    def patient_display(self, obj):
        name = f"{obj.patient_first or ''} {obj.patient_last or ''}".strip()
        return f"{name} <{obj.patient_email}>" if obj.patient_email else f"#{obj.object_id}"

    @display(description=_("where"))
    def where(self, obj):
        return (obj.data or {}).get("where", "")

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
