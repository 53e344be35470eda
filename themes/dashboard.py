"""The admin's start page: the clinic back office's dashboard (``workflows.clinic.dashboard``) plus the
clinic-operations numbers (``workflows.operations``). The two back-office apps do not import each other,
so the page is put together here, in the layer above both."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from themes.activity import recent_activity
from workflows.clinic.dashboard import dashboard_callback as clinic_dashboard
from workflows.operations.selectors import queue_stats, refill_counts

#: the waitlist numbers cover this many days up to now
REFILL_PERIOD_DAYS = 30
#: the waiting-room numbers (wait, late arrivals) cover this many clinic days up to today
QUEUE_PERIOD_DAYS = 7


def dashboard_callback(request, context: dict) -> dict:
    context = clinic_dashboard(request, context)
    user = request.user
    # None: the block is not shown; [] shows its empty state
    context["activity"] = recent_activity() if user.is_superuser else None
    if user.is_superuser or user.role == "staff":
        counts = refill_counts(since=timezone.now() - dt.timedelta(days=REFILL_PERIOD_DAYS))
        context["operations"] = {"refill": counts, "days": REFILL_PERIOD_DAYS}
    if user.is_superuser or user.role == "staff":
        context["queue_stats"] = {"rows": queue_stats(days=QUEUE_PERIOD_DAYS), "days": QUEUE_PERIOD_DAYS}
    elif user.role == "doctor" and hasattr(user, "doctor"):
        rows = queue_stats(days=QUEUE_PERIOD_DAYS, doctor_id=user.doctor.pk)
        context["queue_stats"] = {"rows": rows, "days": QUEUE_PERIOD_DAYS}
    return context
