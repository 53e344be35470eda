"""The back office's settings (reminder times), the medical-record access log, and the patient page's appointment history."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    RangeDateTimeFilter,
)
from unfold.decorators import display

from accounts.models import PatientProfile
from core.admin_actions import ReadOnlyAdminMixin
from core.paginator import DeferredJoinPaginator
from workflows.clinic import services as svc
from workflows.clinic.models import (
    MedicalRecordAccess,
    ReminderSettings,
)
from workflows.clinic.selectors import patient_history

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


@admin.register(MedicalRecordAccess)
class MedicalRecordAccessAdmin(ReadOnlyAdminMixin, ModelAdmin):
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


def patient_history_section(request, profile) -> dict:
    """The patient page's "appointments and payments" section (registered on accounts' admin by
    ``ClinicConfig.ready``): what ``request.user`` may see of the patient's visits."""
    return {
        "template": "admin/clinic/patient_history.html",
        "history": patient_history(patient=profile.user, viewer=request.user),
        "url": reverse("admin:booking_appointment_changelist") + f"?patient__id__exact={profile.user_id}",
    }
