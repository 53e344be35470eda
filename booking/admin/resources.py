"""CSV/XLSX exports of doctors, appointments and payments (django-import-export), export-only: their
writes go through booking's services, never through a spreadsheet. Front-desk staff get appointments
without the reason for the visit (clinical information)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from import_export import fields, resources

from booking.models import Appointment, Doctor, Payment
from core.admin_exports import local_datetime


class DoctorResource(resources.ModelResource):
    email = fields.Field(attribute="user__email", column_name="email", readonly=True)
    name = fields.Field(column_name="name", readonly=True)
    specialties = fields.Field(column_name="specialties", readonly=True)

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
            "accepts_bookings",
        )
        export_order = fields

    def get_queryset(self):
        return Doctor.objects.select_related("user").prefetch_related("specialties")

    def dehydrate_name(self, doctor):
        return str(doctor)

    def dehydrate_specialties(self, doctor):
        return ", ".join(s.name for s in doctor.specialties.all())


class AppointmentResource(resources.ModelResource):
    """For admins and doctors (who may read the reason for the visit)."""

    doctor = fields.Field(column_name="doctor", readonly=True)
    visit_type = fields.Field(attribute="appointment_type__name", column_name="visit_type", readonly=True)
    status_label = fields.Field(column_name="status_label", readonly=True)
    starts_at = local_datetime("starts_at", "starts_at")
    ends_at = local_datetime("ends_at", "ends_at")
    created_at = local_datetime("created_at", "created_at")
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
    created_at = local_datetime("created_at", "created_at")
    paid_at = local_datetime("paid_at", "paid_at")

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
