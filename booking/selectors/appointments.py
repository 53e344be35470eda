"""Reads about appointments (bounded queries, relations loaded up front)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.models import Appointment, AppointmentStatus, Doctor, Payment, Slot
from booking.rules import live_hold_q, visibility_q
from booking.selectors.scheduling import free_slots
from booking.slotting import local_day_bounds


def nearest_free_slots(*, doctor: Doctor, around: datetime, now: datetime, limit: int = 3) -> list[Slot]:
    """The free slots of ``doctor`` closest to ``around`` (the same rules as ``free_slots``: policy
    window, holds, blocked time), in time order. Two small queries."""
    horizon = now + doctor.policy().max_advance
    later = list(free_slots(doctor=doctor, start=around, end=horizon, now=now)[:limit])
    earlier = list(free_slots(doctor=doctor, start=now, end=around, now=now).order_by("-start")[:limit])
    merged = sorted(later + earlier, key=lambda slot: abs((slot.start - around).total_seconds()))
    return sorted(merged[:limit], key=lambda slot: slot.start)


def appointments_for_user(*, user) -> QuerySet[Appointment]:
    """Appointments ``user`` may see: a patient their own and their dependants', a doctor theirs, staff
    and admins all (``rules.visibility_q``)."""
    qs = Appointment.objects.select_related("doctor__user", "patient", "appointment_type", "slot")
    visible = visibility_q(user=user)
    return qs.none() if visible is None else qs.filter(visible)


def payments_for_user(*, user) -> QuerySet[Payment]:
    """Payments ``user`` may see: a patient those of their own and their dependants' appointments
    (``rules.visibility_q``), staff and admins all,
    anyone else none (doctors do not handle money, as in the admin)."""
    qs = Payment.objects.select_related("appointment__doctor__user").prefetch_related("refunds")
    if user.role == "patient":
        visible = visibility_q(user=user)
        return qs.none() if visible is None else qs.filter(appointment__in=Appointment.objects.filter(visible))
    if user.role in {"staff", "admin"}:
        return qs
    return qs.none()


def patient_live_holds(*, patient, now: datetime) -> int:
    return Appointment.objects.filter(live_hold_q(now=now), patient=patient).count()


def appointment_stats(*, start: datetime | None = None, end: datetime | None = None, doctor=None) -> dict:
    """Counts per status (one aggregate query)."""
    from django.db.models import Count

    qs = Appointment.objects.all()
    if start is not None:
        qs = qs.filter(starts_at__gte=start)
    if end is not None:
        qs = qs.filter(starts_at__lt=end)
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    counts = dict(qs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_status = {status.value: counts.get(status.value, 0) for status in AppointmentStatus}
    return {"total": sum(by_status.values()), "by_status": by_status}


#: statuses of a visit that happens (or happened): on a day's schedule, in utilisation
VISIT_STATUSES = (
    AppointmentStatus.PENDING,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


def day_schedule(*, day, zone=None, doctor: Doctor | None = None, limit: int = 200) -> list[Appointment]:
    """The visits of local ``day`` (``zone``, else the doctor's, else the clinic's) in time order, with
    live holds (one query)."""
    zone = zone or (doctor.zone if doctor is not None else ZoneInfo(settings.CLINIC_TIME_ZONE))
    start, end = local_day_bounds(day, zone)
    qs = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end).filter(
        Q(status__in=VISIT_STATUSES) | live_hold_q(now=timezone.now())
    )
    if doctor is not None:
        qs = qs.filter(doctor=doctor)
    return list(
        qs.order_by("starts_at", "doctor_id", "id").select_related("doctor__user", "appointment_type", "patient")[
            :limit
        ]
    )
