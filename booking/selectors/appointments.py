"""Reads about appointments (bounded queries, relations loaded up front)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from booking.models import Appointment, AppointmentStatus, Doctor, Slot, SlotStatus


def bookable_slots_q(*, now: datetime) -> Q:
    """Slots nobody holds: free, or held with a lapsed hold (which counts as free everywhere)."""
    return Q(status=SlotStatus.FREE) | Q(status=SlotStatus.HELD, hold_expires_at__lte=now)


def nearest_free_slots(*, doctor: Doctor, around: datetime, now: datetime, limit: int = 3) -> list[Slot]:
    """The free slots of ``doctor`` closest to ``around`` (later ones first, then earlier), inside policy."""
    policy = doctor.policy()
    earliest = now + policy.min_notice
    latest = now + policy.max_advance
    base = Slot.objects.filter(bookable_slots_q(now=now), doctor=doctor, start__gte=earliest, start__lte=latest)
    later = list(base.filter(start__gte=around).order_by("start")[:limit])
    earlier = list(base.filter(start__lt=around).order_by("-start")[:limit])
    merged = sorted(later + earlier, key=lambda slot: abs((slot.start - around).total_seconds()))
    return sorted(merged[:limit], key=lambda slot: slot.start)


def appointments_for_user(*, user) -> QuerySet[Appointment]:
    """Appointments ``user`` may see: a patient their own, a doctor theirs, staff and admins all."""
    qs = Appointment.objects.select_related("doctor__user", "patient", "appointment_type", "slot")
    if user.role == "patient":
        return qs.filter(patient=user)
    if user.role == "doctor":
        return qs.filter(doctor__user=user)
    if user.role in {"staff", "admin"}:
        return qs
    return qs.none()


def patient_live_holds(*, patient, now: datetime) -> int:
    return Appointment.objects.filter(
        patient=patient, status=AppointmentStatus.PENDING_PAYMENT, hold_expires_at__gt=now
    ).count()


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
