from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from unfold.admin import ModelAdmin, StackedInline
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm
from unfold.decorators import display
from unfold.enums import ActionVariant
from unfold.forms import UserChangeForm as UnfoldUserChangeForm

from accounts.models import Gender, MedicalRecord, PatientProfile, Role, User
from accounts.phones import to_e164_or_raw
from accounts.resources import PatientResource
from accounts.services import (
    DuplicatePatient,
    medical_record_viewed,
    patient_deactivate,
    patient_profile_ensure,
    patient_reactivate,
    patient_register,
    user_mark_email_verified,
    user_sessions_end,
)
from core.admin_actions import ConfirmForm, button, confirm_dialog, find, run_service
from core.admin_exports import SafeExportMixin
from core.audit import audit_log
from core.errors import DomainError, InvalidInput
from core.paginator import DeferredJoinPaginator


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

    def clean(self):
        cleaned_data = super().clean()
        # unticking "active" deactivates: an account holder's family members must not be left behind
        if self.instance.pk and self.instance.is_active and cleaned_data.get("is_active") is False:
            from accounts.family import deactivation_refusal

            refusal = deactivation_refusal(self.instance)
            if refusal is not None:
                self.add_error("is_active", str(refusal))
        return cleaned_data


@admin.register(User)
class UserAdmin(ModelAdmin):
    form = UserChangeForm
    add_form = UserCreateForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("email", "first_name", "last_name", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined", "is_staff", "is_superuser", "guardian", "relationship")
    filter_horizontal = ("groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "language", "time_zone", "guardian", "relationship")}),
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


class RegisterPatientForm(forms.Form):
    """The front desk's registration form; the rules are the service's (``patient_register``)."""

    first_name = forms.CharField(label=_("first name"), max_length=150)
    last_name = forms.CharField(label=_("last name"), max_length=150)
    phone = forms.CharField(label=_("phone"), max_length=32)
    email = forms.EmailField(
        label=_("email address"),
        required=False,
        help_text=_("Optional: without one the patient is called or texted, and can add an email later."),
    )
    date_of_birth = forms.DateField(
        label=_("date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    gender = forms.ChoiceField(label=_("gender"), choices=[("", "—"), *Gender.choices], required=False)
    address = forms.CharField(label=_("address"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    national_id = forms.CharField(label=_("national ID (NIC/CCCD)"), max_length=32, required=False)
    health_insurance_number = forms.CharField(label=_("health insurance number (BHYT)"), max_length=20, required=False)
    emergency_contact_name = forms.CharField(label=_("emergency contact"), max_length=150, required=False)
    emergency_contact_phone = forms.CharField(label=_("emergency contact phone"), max_length=32, required=False)
    register_anyway = forms.BooleanField(
        label=_("I checked the patients listed above: this is a different person"), required=False
    )


REGISTER_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "date_of_birth",
    "gender",
    "address",
    "national_id",
    "health_insurance_number",
    "emergency_contact_name",
    "emergency_contact_phone",
)
DUPLICATE_REASONS = (
    ("national_id", _("same national ID")),
    ("health_insurance_number", _("same BHYT number")),
    ("phone", _("same phone number")),
    ("email", _("same email address")),
)


class MedicalRecordInline(StackedInline):
    model = MedicalRecord
    can_delete = False
    extra = 0
    max_num = 1
    fields = ("allergies", "chronic_conditions", "medications")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.view_medicalrecord")


class DeactivateForm(ConfirmForm):
    confirm = forms.BooleanField(label=_("End the patient's sessions and lock the account"), required=True)


def _patient_words(profile) -> dict:
    return {"name": profile.user.get_full_name() or profile.user.email, "email": profile.user.email}


def _says(text):
    def consequence(request, object_id) -> str:
        profile = find(PatientProfile.objects.select_related("user"), object_id)
        return text % _patient_words(profile) if profile is not None else ""

    return consequence


@admin.register(PatientProfile)
class PatientProfileAdmin(SafeExportMixin, ImportExportMixin, ModelAdmin):
    """Patients: contact data, the medical record (for those who may read it, every read audited),
    CSV/XLSX export and import, deactivation.

    Layers above accounts extend the page without accounts importing them: ``doctor_patient_scope``
    (booking: a doctor sees the patients they have visits with) and ``page_sections`` (callables
    ``(request, profile) -> dict | None`` giving a template and its context, e.g. the appointment
    history from the clinic back office)."""

    list_display = ("__str__", "email", "phone", "national_id", "date_of_birth", "account_active", "account_holder")
    list_filter = ("user__is_active", ("created_at", RangeDateFilter))
    list_filter_submit = True
    search_fields = ("user__email", "user__first_name", "user__last_name", "phone", "national_id")
    list_select_related = ("user", "user__guardian")
    autocomplete_fields = ("user",)
    # only the patient verifies a number (by the code texted to it); the admin shows whether they did
    readonly_fields = ("phone_verified", "created_at", "updated_at", "account_holder")
    inlines = [MedicalRecordInline]
    paginator = DeferredJoinPaginator
    show_full_result_count = False
    resource_classes = [PatientResource]
    import_form_class = ImportForm
    export_form_class = SelectableFieldsExportForm
    change_form_after_template = "admin/accounts/patient_sections.html"
    actions_detail = ["deactivate_patient", "reactivate_patient"]
    doctor_patient_scope = None
    page_sections: list = []

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, obj):
        return obj.user.email

    def save_model(self, request, obj, form, change):
        if change and "phone" in form.changed_data and obj.phone_verified:
            # another number typed here is not verified: it must not sign anyone in
            if to_e164_or_raw(obj.phone) == form.initial.get("phone"):
                obj.phone = form.initial["phone"]
            else:
                obj.phone_verified = False
        super().save_model(request, obj, form, change)

    @display(description=_("active"), boolean=True, ordering="user__is_active")
    def account_active(self, obj):
        return obj.user.is_active

    @admin.display(description=_("account holder"))
    def account_holder(self, obj):
        """A family member without a login: who manages them (accounts.family)."""
        if not obj.user.guardian_id:
            return "—"
        return _("%(holder)s; the patient is their %(relationship)s") % {
            "holder": obj.user.guardian,
            "relationship": str(obj.user.get_relationship_display()).lower(),
        }

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        doctor_scope = self.doctor_patient_scope
        if request.user.role == Role.DOCTOR and doctor_scope is not None:
            qs = doctor_scope(qs, request.user)
        elif request.user.role == Role.DOCTOR:
            qs = qs.none()
        return qs

    # --- spreadsheets ---
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

    # --- deactivation ---
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
                _(
                    "%(name)s (%(email)s) is signed out on every device, their app tokens stop working, and "
                    "they cannot sign in until an admin reactivates the account. Their visits and records are kept."
                )
            ),
        ),
    )
    def deactivate_patient(self, request, form, object_id):
        profile = self._profile(request, object_id)
        return run_service(
            request,
            lambda: patient_deactivate(user=profile.user, actor=request.user),
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
            consequence=_says(_("%(name)s (%(email)s) can sign in again.")),
        ),
    )
    def reactivate_patient(self, request, form, object_id):
        profile = self._profile(request, object_id)
        return run_service(
            request,
            lambda: patient_reactivate(user=profile.user, actor=request.user),
            _("The patient can sign in again."),
            back=self._back(profile),
        )

    # --- front-desk registration ---
    def get_urls(self):
        return [
            path("register/", self.admin_site.admin_view(self.register_view), name="accounts_patientprofile_register"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        # a patient is registered with their account and demographics at once, with a duplicate check
        return HttpResponseRedirect(reverse("admin:accounts_patientprofile_register"))

    def register_view(self, request):
        """GET: the form; POST (CSRF-checked): ``patient_register``. Possible duplicates (same phone,
        national ID, BHYT number or email) are listed and the patient is registered only when staff
        tick "a different person"."""
        if not (self.has_add_permission(request) and request.user.has_perm("accounts.add_user")):
            raise Http404
        form = RegisterPatientForm(request.POST or None)
        duplicates = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                user = patient_register(
                    actor=request.user,
                    allow_duplicate=data["register_anyway"],
                    **{name: data[name] or (None if name == "date_of_birth" else "") for name in REGISTER_FIELDS},
                )
            except DuplicatePatient as exc:
                duplicates = exc.duplicates
                form.add_error(None, str(exc))
            except InvalidInput as exc:
                for name, problem in exc.field_errors.items():
                    form.add_error(name if name in form.fields else None, problem)
                if not form.errors:
                    form.add_error(None, str(exc))
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(name)s is registered. Book their visit from Appointments → Book for a patient.")
                    % {"name": user.get_full_name()},
                )
                return redirect("admin:accounts_patientprofile_change", user.patient_profile.pk)
        reasons = dict(DUPLICATE_REASONS)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Register a patient"),
            "opts": self.opts,
            "form": form,
            "duplicates": [
                {
                    "profile": d.profile,
                    "reasons": [reasons[r] for r in d.reasons],
                    "url": reverse("admin:accounts_patientprofile_change", args=[d.profile.pk]),
                }
                for d in duplicates
            ],
        }
        return TemplateResponse(request, "admin/accounts/register_patient.html", context)

    # --- the page ---
    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if profile is not None:
            extra_context["patient_sections"] = [
                section for provide in self.page_sections if (section := provide(request, profile)) is not None
            ]
        response = super().change_view(request, object_id, form_url, extra_context)
        if (
            request.method == "GET"
            and response.status_code == 200
            and profile is not None
            and request.user.has_perm("accounts.view_medicalrecord")
        ):
            # Reading a medical record is itself an auditable event (only when the page showed it:
            # a profile outside the user's scope redirects and reveals nothing).
            medical_record_viewed(profile=profile, actor=request.user, where="admin")
        return response
