"""Builders: slots straight from the ORM, appointments through the real booking services."""

from __future__ import annotations

from booking.models import Appointment, Slot
from booking.services import BookingDetails, appointment_book, payment_mark_cash_paid


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
