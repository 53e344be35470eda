"""Doctor applications in the admin: review, approve (creates the doctor and their account), reject, resend."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    RangeDateFilter,
)
from unfold.decorators import display
from unfold.enums import ActionVariant

from booking.admin.history import HistoryInline
from core.admin_actions import button, confirm_dialog, run_service
from core.errors import DomainError
from core.paginator import DeferredJoinPaginator
from workflows.clinic import services as svc
from workflows.clinic.admin.common import ReasonForm, _applicant_words, _says
from workflows.clinic.models import (
    ApplicationStatus,
    DoctorApplication,
)

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
        return ", ".join(s.label for s in obj.specialties.all())

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
