"""Rows for the check-in and queue tests: an in-person visit today at a facility's room."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from booking.models import AppointmentStatus
from booking.rules import clinic_day
from tests.factories import FacilityFactory, RoomFactory, publish_slots
from tests.workflows.clinic.conftest import appointment as appointment_row


def a_time_today(now: datetime | None = None, *, minutes: int = 10) -> datetime:
    """A whole minute ``minutes`` before ``now`` on the clinic's same day (after it, just past midnight)."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    earlier = now - timedelta(minutes=minutes)
    return earlier if clinic_day(earlier) == clinic_day(now) else now + timedelta(minutes=minutes)


def room_at_facility(name: str = "Medbook Lê Lợi", room: str = "3"):
    return RoomFactory(facility=FacilityFactory(name=name), name=room)


def visit_at(doctor, patient, *, room, start: datetime, status=AppointmentStatus.CONFIRMED, **extra):
    """``patient``'s in-person visit with ``doctor`` in ``room`` at ``start`` (a published slot)."""
    [slot] = publish_slots(doctor, start=start, count=1, room=room)
    return appointment_row(doctor, patient, status=status, slot=slot, mode="in_person", **extra)
