"""Booking domain models. Split by area (scheduling, appointments); import them from here."""

from booking.models.scheduling import (
    AppointmentMode,
    AppointmentType,
    Availability,
    BlockedTime,
    BookingDefaults,
    Doctor,
    EffectivePolicy,
    Slot,
    SlotStatus,
    Specialty,
)

__all__ = [
    "AppointmentMode",
    "AppointmentType",
    "Availability",
    "BlockedTime",
    "BookingDefaults",
    "Doctor",
    "EffectivePolicy",
    "Slot",
    "SlotStatus",
    "Specialty",
]
