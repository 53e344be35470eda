"""Reads for the clinic back office (bounded queries, relations loaded up front).

This module is imported by ``booking.services`` and ``booking.selectors``: it imports only models.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet

from booking.models import Appointment, Payment
from workflows.clinic.models import (
    DoctorSubscription,
    ReminderSettings,
    SubscriptionStatus,
    SupportTicket,
    TicketMessage,
    parse_reminder_leads,
)

# --- subscriptions and bookability ----------------------------------------------------------------


def subscriptions_due(*, now, limit: int = 500) -> list[int]:
    """Primary keys of active subscriptions whose renewal date has come, oldest first."""
    return list(
        DoctorSubscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=now)
        .order_by("current_period_end")
        .values_list("pk", flat=True)[:limit]
    )


# --- settings -------------------------------------------------------------------------------------


REMINDER_LEADS_CACHE_KEY = "clinic:reminder-leads"


def reminder_leads_minutes() -> list[int]:
    """The reminder times in minutes before a visit: the admin's setting, else ``REMINDER_LEADS_MINUTES``.

    Cached for a minute (the reminder task asks every minute; saving the setting clears the cache, and
    other processes see the change within the minute)."""
    stored = cache.get(REMINDER_LEADS_CACHE_KEY)
    if stored is None:
        stored = ReminderSettings.objects.filter(pk=1).values_list("reminder_leads", flat=True).first() or ""
        cache.set(REMINDER_LEADS_CACHE_KEY, stored, timeout=60)
    if stored:
        try:
            leads = parse_reminder_leads(stored)
        except ValueError:
            leads = []
        if leads:
            return leads
    return [int(lead) for lead in settings.REMINDER_LEADS_MINUTES]


# --- support --------------------------------------------------------------------------------------


def tickets_for_patient(*, patient) -> QuerySet[SupportTicket]:
    return SupportTicket.objects.filter(patient=patient).order_by("-updated_at", "-id")


def ticket_for_patient(*, patient, public_id) -> SupportTicket | None:
    """The patient's own ticket with the messages they may read (internal notes left out), or None:
    another patient's ticket is as missing as a ticket that does not exist."""
    return (
        SupportTicket.objects.filter(patient=patient, public_id=public_id)
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=TicketMessage.objects.filter(is_internal=False)
                .select_related("author")
                .order_by("created_at"),
                to_attr="visible_messages",
            )
        )
        .first()
    )


# --- patients -------------------------------------------------------------------------------------


def patient_history(*, patient, viewer, limit: int = 50) -> list[Appointment]:
    """``patient``'s latest appointments that ``viewer`` may see (a doctor: theirs only), each with its
    payments prefetched (two queries)."""
    qs = Appointment.objects.filter(patient=patient)
    if viewer.role == "doctor":
        qs = qs.filter(doctor__user=viewer)
    elif viewer.role not in {"staff", "admin"}:
        return []
    return list(
        qs.select_related("doctor__user", "appointment_type")
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("created_at")))
        .order_by("-starts_at", "-id")[:limit]
    )


def doctor_has_patient(*, doctor_user, patient) -> bool:
    return Appointment.objects.filter(Q(doctor__user=doctor_user), patient=patient).exists()
