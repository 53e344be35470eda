"""Builders for appointment tests: a doctor, visits made through the booking services (slots come from
``tests.factories.publish_slots``, which publishes them through the availability service)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from booking.models import AppointmentType, Doctor, Specialty
from booking.services import BookingDetails
from tests.factories import make_user, publish_slots


def make_doctor(
    email="binh.doctor@clinic.test", *, auto_confirm=True, fee=Decimal("500000"), time_zone="Asia/Ho_Chi_Minh"
):
    user = make_user(email, "doctor", first_name="Bình", last_name="Phạm")
    specialty, _ = Specialty.objects.get_or_create(slug="general", defaults={"name": "General medicine"})
    doctor = Doctor.objects.create(
        user=user, consultation_fee=fee, auto_confirm=auto_confirm, is_active=True, time_zone=time_zone
    )
    doctor.specialties.add(specialty)
    return doctor


def tomorrow_at(hour: int, *, now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return (now + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)


def details_for(patient, reason="Headache for three days") -> BookingDetails:
    return BookingDetails(
        first_name=patient.first_name or "Đào",
        last_name=patient.last_name or "Nguyễn",
        phone="+84 90 000 0001",
        email=patient.email,
        national_id="079123456789",
        reason=reason,
    )


def follow_up_type():
    return AppointmentType.objects.create(name="Follow-up", kind="follow_up", duration_minutes=20, mode="video")


def completed_visit(doctor, patient, *, days_ago: int = 2, staff=None):
    """A visit ``days_ago`` days back that was booked, paid at the desk and completed, each step through
    the real services at the moment it happened (what a follow-up is suggested from)."""
    from booking import services as svc
    from booking.models import Appointment

    start = (timezone.now() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)
    slot = publish_slots(doctor, start=start, count=1)[0]
    booked_at = start - timedelta(days=1)
    staff = staff or _front_desk()
    appointment = svc.appointment_book(
        slot=slot, patient=patient, actor=patient, details=details_for(patient), now=booked_at
    )
    svc.payment_mark_cash_paid(appointment=appointment, actor=staff, now=booked_at)
    svc.appointment_complete(appointment=appointment, actor=doctor.user, now=start + timedelta(minutes=10))
    return Appointment.objects.get(pk=appointment.pk)


def _front_desk():
    from accounts.models import User

    return User.objects.filter(email="front.desk@clinic.test").first() or make_user(
        "front.desk@clinic.test", "staff", first_name="Hạnh"
    )
