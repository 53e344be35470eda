"""The patient spreadsheet (django-import-export): contact and identity data only, exported from the
admin's list and imported row by row through ``accounts.services``. The medical record never leaves."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from accounts.models import PatientProfile, Role, User
from accounts.services import patient_profile_update, user_create
from core.admin_exports import local_datetime


class PatientResource(resources.ModelResource):
    """Contact and identity data only: the medical record is never exported."""

    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    first_name = fields.Field(attribute="user__first_name", column_name="first_name", readonly=True)
    last_name = fields.Field(attribute="user__last_name", column_name="last_name", readonly=True)
    is_active = fields.Field(attribute="user__is_active", column_name="active", readonly=True)
    date_joined = local_datetime("user__date_joined", "joined")

    class Meta:
        model = PatientProfile
        name = _("Patients (contact data)")
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "national_id",
            "date_of_birth",
            "is_active",
            "date_joined",
        )
        export_order = fields
        import_id_fields = ("email",)
        skip_unchanged = False
        clean_model_instances = True

    def __init__(self, actor=None, **kwargs):
        super().__init__(**kwargs)
        self.actor = actor

    def get_queryset(self):
        return PatientProfile.objects.select_related("user")

    def get_instance(self, instance_loader, row):
        email = (row.get("email") or "").strip().lower()
        return PatientProfile.objects.select_related("user").filter(user__email__iexact=email).first()

    def before_import_row(self, row, **kwargs):
        if not (row.get("email") or "").strip():
            raise ValueError(_("Each row needs an email address."))
        existing = User.objects.filter(email__iexact=row["email"].strip()).exclude(role=Role.PATIENT).exists()
        if existing:
            raise ValueError(_("%(email)s belongs to a clinic account, not a patient.") % {"email": row["email"]})

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # the account does not exist yet for a new patient: the service creates it when saving
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=["user", *errors], validate_unique=False)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        """Every write goes through the accounts services (audited; a new patient gets a verified email
        and an empty medical record)."""
        names = {
            "first_name": (row.get("first_name") or "").strip(),
            "last_name": (row.get("last_name") or "").strip(),
        }
        contact = {
            "phone": instance.phone or "",
            "national_id": instance.national_id or "",
            "date_of_birth": instance.date_of_birth,
        }
        if is_create:
            user = user_create(email=row["email"].strip(), role=Role.PATIENT, actor=self.actor, **names)
            profile = patient_profile_update(user=user, actor=self.actor, **contact)
        else:
            profile = patient_profile_update(user=instance.user, actor=self.actor, **names, **contact)
        instance.pk = profile.pk
        instance.user_id = profile.user_id
