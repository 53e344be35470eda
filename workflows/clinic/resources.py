"""django-import-export resources for the clinic's CSV/XLSX exports (and the patient import).

Exports are built from the admin changelist's queryset, so they carry the list's filters and search
and each role's scoping (a doctor exports only their own appointments and patients). No export
carries a medical record. Appointments, payments and doctors are export-only: their writes go
through services (``booking.services``, the onboarding flow), never through a spreadsheet. Patients
can be imported; each row goes through ``accounts.services``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets

from accounts.models import PatientProfile, Role, User
from accounts.services import patient_profile_update, user_create
from booking.models import Appointment, Doctor, Payment


class LocalDateTimeWidget(widgets.DateTimeWidget):
    """Times in the clinic's zone (what staff read everywhere else), not UTC."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _dt(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=LocalDateTimeWidget(), readonly=True)


class PatientResource(resources.ModelResource):
    """Contact and identity data only: the medical record is never exported."""

    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    first_name = fields.Field(attribute="user__first_name", column_name="first_name", readonly=True)
    last_name = fields.Field(attribute="user__last_name", column_name="last_name", readonly=True)
    is_active = fields.Field(attribute="user__is_active", column_name="active", readonly=True)
    date_joined = _dt("user__date_joined", "joined")

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


class DoctorResource(resources.ModelResource):
    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    name = fields.Field(column_name="name", readonly=True)
    specialties = fields.Field(column_name="specialties", readonly=True)
    subscription = fields.Field(column_name="subscription", readonly=True)

    class Meta:
        model = Doctor
        name = _("Doctors")
        fields = (
            "id",
            "name",
            "email",
            "title",
            "specialties",
            "years_of_experience",
            "consultation_fee",
            "currency",
            "time_zone",
            "is_active",
            "subscription",
        )
        export_order = fields

    def get_queryset(self):
        return Doctor.objects.select_related("user", "subscription__plan").prefetch_related("specialties")

    def dehydrate_name(self, doctor):
        return str(doctor)

    def dehydrate_specialties(self, doctor):
        return ", ".join(s.name for s in doctor.specialties.all())

    def dehydrate_subscription(self, doctor):
        subscription = getattr(doctor, "subscription", None)
        if subscription is None:
            return ""
        return f"{subscription.plan} ({subscription.get_status_display()})"


class AppointmentResource(resources.ModelResource):
    """For admins and doctors (who may read the reason for the visit)."""

    doctor = fields.Field(column_name="doctor", readonly=True)
    visit_type = fields.Field(attribute="appointment_type__name", column_name="visit_type", readonly=True)
    status_label = fields.Field(column_name="status_label", readonly=True)
    starts_at = _dt("starts_at", "starts_at")
    ends_at = _dt("ends_at", "ends_at")
    created_at = _dt("created_at", "created_at")
    amount_due = fields.Field(column_name="amount_due", readonly=True)

    class Meta:
        model = Appointment
        name = _("Appointments")
        fields = (
            "id",
            "starts_at",
            "ends_at",
            "doctor",
            "visit_type",
            "mode",
            "status",
            "status_label",
            "last_name",
            "first_name",
            "phone",
            "email",
            "national_id",
            "reason",
            "price",
            "discount",
            "amount_due",
            "currency",
            "is_follow_up_suggestion",
            "cancelled_late",
            "created_at",
        )
        export_order = fields

    def dehydrate_doctor(self, appointment):
        return str(appointment.doctor)

    def dehydrate_status_label(self, appointment):
        return str(appointment.get_status_display())

    def dehydrate_amount_due(self, appointment):
        return appointment.amount_due


class StaffAppointmentResource(AppointmentResource):
    """Front-desk staff: the same columns without the reason for the visit (clinical information)."""

    class Meta(AppointmentResource.Meta):
        name = _("Appointments (no clinical details)")
        fields = tuple(f for f in AppointmentResource.Meta.fields if f != "reason")
        export_order = fields


class PaymentResource(resources.ModelResource):
    appointment_number = fields.Field(attribute="appointment_id", column_name="appointment", readonly=True)
    patient = fields.Field(column_name="patient", readonly=True)
    doctor = fields.Field(column_name="doctor", readonly=True)
    created_at = _dt("created_at", "created_at")
    paid_at = _dt("paid_at", "paid_at")

    class Meta:
        model = Payment
        name = _("Payments")
        fields = (
            "id",
            "appointment_number",
            "patient",
            "doctor",
            "gateway",
            "amount",
            "refunded_amount",
            "currency",
            "status",
            "provider_reference",
            "created_at",
            "paid_at",
        )
        export_order = fields

    def get_queryset(self):
        return Payment.objects.select_related("appointment__doctor__user")

    def dehydrate_patient(self, payment):
        return payment.appointment.patient_name

    def dehydrate_doctor(self, payment):
        return str(payment.appointment.doctor)
