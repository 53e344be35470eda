"""Doctor writes that other parts of the clinic drive."""

from __future__ import annotations

from booking.models import Doctor
from core.audit import audit_log


def doctor_set_accepts_bookings(*, doctor_id: int, accepts: bool, actor=None, reason: str = "") -> bool:
    """Open or close ``doctor_id`` for new bookings (the subscription service's switch; booking reads
    ``Doctor.accepts_bookings`` through ``booking.rules``). Call inside the caller's transaction.
    Returns whether anything changed."""
    changed = Doctor.objects.filter(pk=doctor_id).exclude(accepts_bookings=accepts).update(accepts_bookings=accepts)
    if changed:
        audit_log(
            actor=actor,
            action="booking.doctor.bookings_opened" if accepts else "booking.doctor.bookings_closed",
            obj=Doctor(pk=doctor_id),
            data={"reason": reason},
        )
    return bool(changed)
