"""Builders: slots straight from the ORM, appointments through the real booking services."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from booking.models import Appointment, Availability, Slot
from booking.services import BookingDetails, appointment_book, payment_mark_cash_paid


def publish_slots(doctor, *, start: datetime, count: int = 4, minutes: int = 30) -> list[Slot]:
    """``count`` consecutive free slots from ``start`` (UTC) in one availability block."""
    end = start + timedelta(minutes=minutes * count)
    local_start, local_end = timezone.localtime(start, doctor.zone), timezone.localtime(end, doctor.zone)
    availability = Availability.objects.create(
        doctor=doctor,
        date=local_start.date(),
        start_time=local_start.time(),
        end_time=local_end.time(),
        slot_minutes=minutes,
        starts_at=start,
        ends_at=end,
    )
    return Slot.objects.bulk_create(
        Slot(
            doctor=doctor,
            availability=availability,
            start=start + timedelta(minutes=minutes * i),
            end=start + timedelta(minutes=minutes * (i + 1)),
        )
        for i in range(count)
    )


def book(patient, slot: Slot, *, phone: str = "+84 90 000 0001") -> Appointment:
    details = BookingDetails(
        first_name=patient.first_name, last_name=patient.last_name, phone=phone, email=patient.email
    )
    return appointment_book(slot=slot, patient=patient, actor=patient, details=details)


def book_confirmed(patient, slot: Slot, *, staff) -> Appointment:
    """Booked by the patient, paid in cash at the desk: confirmed (the doctor auto-confirms)."""
    appointment = book(patient, slot)
    payment_mark_cash_paid(appointment=appointment, actor=staff)
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    return appointment
