from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, StackedInline
from unfold.forms import UserChangeForm as UnfoldUserChangeForm

from accounts.models import MedicalRecord, PatientProfile, Role, User
from accounts.services import (
    medical_record_viewed,
    patient_profile_ensure,
    user_mark_email_verified,
    user_sessions_end,
)
from core.audit import audit_log


class UserCreateForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("Leave empty to let the person set one through “Forgot password”."),
    )

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "language", "time_zone")

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("password"):
            user.set_password(self.cleaned_data["password"])
        else:
            user.set_unusable_password()
        if commit:
            user.save()
        return user


class UserChangeForm(UnfoldUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ModelAdmin):
    form = UserChangeForm
    add_form = UserCreateForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("email", "first_name", "last_name", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser")
    filter_horizontal = ("groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "language", "time_zone")}),
        (_("Access"), {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("email", "password", "first_name", "last_name", "role", "language", "time_zone")}),
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only clinic admins hand out clinic roles or lock accounts.
            fields += ["role", "is_active"]
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [(Role.PATIENT, Role.PATIENT.label)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not request.user.is_superuser:
            qs = qs.filter(role=Role.PATIENT)  # front desk manages patients only
        return qs

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.role = Role.PATIENT
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # A locked account is signed out everywhere, its app tokens with it.
            user_sessions_end(user=obj, reason="deactivated")
        # Accounts the clinic creates or edits carry a verified address: nobody clicks a link for them.
        user_mark_email_verified(user=obj)
        if obj.role == Role.PATIENT:
            patient_profile_ensure(user=obj)
        audit_log(
            actor=request.user,
            action="accounts.user.changed" if change else "accounts.user.created",
            obj=obj,
            data={"fields": sorted(form.changed_data)},
        )
        if not change and not obj.has_usable_password():
            messages.info(request, _("The account has no password yet: ask the person to use “Forgot password”."))


class MedicalRecordInline(StackedInline):
    model = MedicalRecord
    can_delete = False
    extra = 0
    max_num = 1
    fields = ("allergies", "chronic_conditions", "medications")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.view_medicalrecord")


@admin.register(PatientProfile)
class PatientProfileAdmin(ModelAdmin):
    list_display = ("__str__", "email", "phone", "national_id", "date_of_birth")
    search_fields = ("user__email", "user__first_name", "user__last_name", "phone", "national_id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [MedicalRecordInline]

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, obj):
        return obj.user.email

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        doctor_scope = getattr(self, "doctor_patient_scope", None)
        if request.user.role == Role.DOCTOR and doctor_scope is not None:
            qs = doctor_scope(qs, request.user)
        elif request.user.role == Role.DOCTOR:
            qs = qs.none()
        return qs

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if (
            request.method == "GET"
            and response.status_code == 200
            and request.user.has_perm("accounts.view_medicalrecord")
        ):
            # Reading a medical record is itself an auditable event (only when the page showed it:
            # a profile outside the user's scope redirects and reveals nothing).
            profile = self.get_object(request, object_id)
            if profile is not None:
                medical_record_viewed(profile=profile, actor=request.user, where="admin")
        return response
