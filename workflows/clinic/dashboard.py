"""The admin's start page, per role (Unfold ``DASHBOARD_CALLBACK``): numbers come from
``workflows.clinic.reports``; this module only picks what a role sees and shapes it for the template."""

from __future__ import annotations

import datetime as dt
import json

from django.http import QueryDict
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from booking import rules
from booking.models import AppointmentStatus, BookingDefaults
from booking.rules import Action
from booking.selectors import doctor_for_user
from core.money import money_text as money
from workflows.clinic import reports
from workflows.clinic.models import DoctorSubscription, SubscriptionStatus
from workflows.clinic.services import subscription_amount_due

S = AppointmentStatus


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def money_text(amounts: dict[str, object]) -> str:
    if not amounts:
        return "0"
    return " · ".join(money(amount, currency) for currency, amount in sorted(amounts.items()))


def video_path(appointment) -> str:
    return f"/portal/visits/{appointment.public_id}/video/"


def _row(appointment, *, zone) -> dict:
    local = timezone.localtime(appointment.starts_at, zone) if appointment.starts_at else None
    return {
        "appointment": appointment,
        "time": local.strftime("%H:%M") if local else "—",
        "date": local.date() if local else None,
        "patient": appointment.patient_name,
        "url": reverse("admin:booking_appointment_change", args=[appointment.pk]),
        "join_url": video_path(appointment) if rules.is_video_visit(appointment) else "",
    }


#: the appointment admin's buttons a staff dashboard row may show, in order
DASHBOARD_ACTIONS = [
    (Action.MARK_PAID, "mark_paid_detail", _lazy("Mark paid"), "default"),
    (Action.CONFIRM, "confirm_detail", _lazy("Confirm"), "default"),
    (Action.COMPLETE, "complete_detail", _lazy("Complete the visit"), "default"),
    (Action.NO_SHOW, "no_show_detail", _lazy("No-show"), "danger"),
]


def _actions(appointment, *, user, now, defaults=None) -> list[dict]:
    """Buttons for a visit on a staff list: the appointment admin's own actions that booking.rules
    allows ``user`` now."""
    # only the four actions a row can show are asked about (``rules.available_actions`` would ask about
    # every action: most of the staff page's time with a hundred visits a day)
    policy = appointment.doctor.policy(defaults)
    return [
        {"url": reverse(f"admin:booking_appointment_{name}", args=[appointment.pk]), "label": label, "variant": variant}
        for action, name, label, variant in DASHBOARD_ACTIONS
        if rules.refusal(action, appointment=appointment, user=user, now=now, policy=policy) is None
    ]


def _chart(labels: list[str], datasets: list[dict]) -> str:
    return json.dumps({"labels": labels, "datasets": datasets})


def dashboard_period(request, *, now: dt.datetime) -> reports.DateRange:
    """The period the page shows: the one asked for, else this month with its upcoming days (so a
    fresh page shows the visits already booked, not an empty last-30-days)."""
    if request.GET.get("start") or request.GET.get("end"):
        return reports.DateRange.parse(request.GET.get("start"), request.GET.get("end"), now=now)
    return reports.DateRange.this_month(now=now)


def period_presets(presets: list[dict], *, period: reports.DateRange, chosen: str = "") -> list[dict]:
    """The quick period links with exactly one marked ``active`` (or none for a period typed by hand).

    Two links can cover the same days (on the 30th of a 30-day month "This month" is "Last 30
    days"): the one clicked (``?preset=``) is the active one, else the first that matches."""
    matching = [p for p in presets if (p["start"], p["end"]) == (period.first, period.last)]
    active = next((p for p in matching if p["key"] == chosen), matching[0] if matching else None)
    return [{**p, "active": p is active} for p in presets]


def chart_options(*, unit: str = "") -> str:
    """Chart.js options for a bar chart people read: a value axis from zero with whole steps (and its
    unit), day or month labels, values in the tooltip; no legend for a single series."""
    y_axis = {"beginAtZero": True, "ticks": {"precision": 0}, "grid": {"color": "rgba(127,127,127,.15)"}}
    if unit:
        y_axis["title"] = {"display": True, "text": unit}
    return json.dumps(
        {
            "animation": False,
            "locale": get_language() or "en",  # digits grouped the reader's way on the axis
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"legend": {"display": False}, "tooltip": {"enabled": True}},
            "scales": {"x": {"grid": {"display": False}}, "y": y_axis},
        }
    )


def _visits_chart(period: reports.DateRange) -> str:
    """Visits per day of the period as an Unfold bar chart, with its value axis shown."""
    days = reports.visits_by_day(period=period)
    return _chart(
        [formats.date_format(day, "j M") for day, _count in days],
        [
            {
                "label": str(_("Visits")),
                "data": [count for _day, count in days],
                "backgroundColor": "var(--color-primary-600)",
                "maxBarThickness": 18,
                "displayYAxis": True,
            }
        ],
    )


DOCTOR_ROWS = 10  # rows of a per-doctor table on the start page until "Show all" is followed


def _doctor_table(headers: list, items: list, row, *, request, show_all: bool) -> dict:
    """A per-doctor table of ``row(item)`` for ``items`` in their order, cut to the first
    ``DOCTOR_ROWS`` (only those rows are built) with a link to the same page and period listing every
    doctor (``?doctors=all``)."""
    table = {"headers": headers, "rows": [row(item) for item in (items if show_all else items[:DOCTOR_ROWS])]}
    if not show_all and len(items) > DOCTOR_ROWS:
        query = QueryDict(mutable=True)
        for key in ("start", "end", "preset"):
            if request.GET.get(key):
                query[key] = request.GET[key]
        query["doctors"] = "all"
        table["show_all"] = {
            "url": f"?{query.urlencode()}",
            "label": _("Show all %(count)s doctors") % {"count": len(items)},
        }
    return table


def admin_context(request, *, now: dt.datetime) -> dict:
    period = dashboard_period(request, now=now)
    show_all = request.GET.get("doctors") == "all"
    start, end = period.start, period.end
    counts = reports.today_counts(now=now)
    outcomes = reports.visit_outcomes(start=start, end=end)
    cancels, follow_ups = reports.made_in_period(start=start, end=end)
    usage = reports.utilisation(start=start, end=end)
    by_doctor, by_specialty = usage.by_doctor, usage.by_specialty
    revenue = reports.revenue(start=start, end=end, zone=period.zone)
    total_utilisation = usage.total

    months = sorted({month for month, _currency in revenue.by_month})
    currencies = sorted(revenue.total) or ["VND"]
    month_chart = _chart(
        [formats.date_format(month, "YEAR_MONTH_FORMAT") for month in months],
        [
            {
                "label": currency,
                "data": [float(revenue.by_month.get((month, currency), 0)) for month in months],
                "backgroundColor": "var(--color-primary-600)",
                "maxBarThickness": 48,
                "displayYAxis": True,
                "suffixYAxis": "₫" if currency == "VND" else currency,
            }
            for currency in currencies
        ],
    )
    today = timezone.localtime(now, period.zone).date()
    this_month = reports.DateRange.this_month(now=now)
    last_month_end = this_month.first - dt.timedelta(days=1)
    return {
        "role": "admin",
        "period": period,
        # every doctor in the per-doctor tables (``?doctors=all``): kept when the period changes
        "all_doctors": show_all,
        "presets": period_presets(
            [
                {"key": "month", "label": _("This month"), "start": this_month.first, "end": this_month.last},
                {
                    "key": "last-month",
                    "label": _("Last month"),
                    "start": last_month_end.replace(day=1),
                    "end": last_month_end,
                },
                {"key": "last-30", "label": _("Last 30 days"), "start": today - dt.timedelta(days=29), "end": today},
                {"key": "next-30", "label": _("Next 30 days"), "start": today, "end": today + dt.timedelta(days=29)},
            ],
            period=period,
            chosen=request.GET.get("preset", ""),
        ),
        "visits_chart": _visits_chart(period),
        "visits_chart_options": chart_options(unit=str(_("Visits"))),
        "revenue_chart_options": chart_options(unit=" · ".join(money(0, c).split(" ", 1)[1] for c in currencies)),
        "revenue_values": [
            {"month": formats.date_format(month, "YEAR_MONTH_FORMAT"), "amount": money_text({currency: amount})}
            for (month, currency), amount in sorted(revenue.by_month.items())
        ],
        "kpis": [
            {"title": _("Visits today"), "value": counts.today},
            {"title": _("Visits this week"), "value": counts.week},
            {"title": _("Waiting for confirmation"), "value": counts.pending_confirmation},
            {"title": _("Payment holds"), "value": counts.live_holds},
        ],
        "rates": [
            {
                "title": _("No-show rate"),
                "value": percent(outcomes.no_show_rate),
                "detail": _("%(no_show)s of %(visits)s visits")
                % {"no_show": outcomes.no_show, "visits": outcomes.completed + outcomes.no_show},
            },
            {
                "title": _("Cancellation rate"),
                "value": percent(cancels.cancellation_rate),
                "detail": _("%(cancelled)s of %(total)s appointments")
                % {"cancelled": cancels.cancelled, "total": cancels.appointments},
            },
            {
                "title": _("Late cancellations"),
                "value": percent(cancels.late_cancellation_rate),
                "detail": _("%(late)s of %(cancelled)s cancellations")
                % {"late": cancels.cancelled_late, "cancelled": cancels.cancelled},
            },
            {
                "title": _("Utilisation"),
                "value": percent(total_utilisation.rate),
                "detail": _("%(booked)s of %(published)s minutes booked")
                % {"booked": total_utilisation.booked_minutes, "published": total_utilisation.published_minutes},
            },
            {
                "title": _("Follow-up acceptance"),
                "value": percent(follow_ups.acceptance_rate),
                "detail": _("%(accepted)s of %(decided)s decided suggestions")
                % {"accepted": follow_ups.accepted, "decided": follow_ups.decided},
            },
            {"title": _("Video visits completed"), "value": outcomes.video_completed, "detail": ""},
            {
                "title": _("Revenue (net of refunds)"),
                "value": money_text(revenue.total),
                "detail": _("refunded: %(refunded)s") % {"refunded": money_text(revenue.refunded)},
            },
        ],
        "utilisation_doctors": _doctor_table(
            [_("Doctor"), _("Booked minutes"), _("Published minutes"), _("Utilisation")],
            by_doctor,
            lambda u: [u.label, u.booked_minutes, u.published_minutes, percent(u.rate)],
            request=request,
            show_all=show_all,
        ),
        "utilisation_specialties": {
            "headers": [_("Specialty"), _("Booked minutes"), _("Published minutes"), _("Utilisation")],
            "rows": [[u.label, u.booked_minutes, u.published_minutes, percent(u.rate)] for u in by_specialty],
        },
        "revenue_chart": month_chart,
        "revenue_services": {
            "headers": [_("Service"), _("Net revenue")],
            "rows": [
                [revenue.service_labels.get(key, _("No visit type")), money_text({currency: amount})]
                for (key, currency), amount in sorted(revenue.by_service.items(), key=lambda item: -item[1])
            ],
        },
        "revenue_doctors": _doctor_table(
            [_("Doctor"), _("Net revenue")],
            sorted(revenue.by_doctor.items(), key=lambda item: -item[1]),
            lambda item: [revenue.doctor_labels.get(item[0][0], "?"), money_text({item[0][1]: item[1]})],
            request=request,
            show_all=show_all,
        ),
        "holds": [
            _row(a, zone=period.zone)
            | {"expires": timezone.localtime(a.hold_expires_at, period.zone).strftime("%H:%M")}
            for a in reports.holds_expiring(now=now)
        ],
        "pending": [_row(a, zone=period.zone) for a in reports.pending_requests(limit=10)],
    }


def doctor_context(request, *, now: dt.datetime) -> dict:
    doctor = doctor_for_user(request.user)
    if doctor is None:
        return {"role": "doctor", "doctor": None}
    zone = doctor.zone
    today = timezone.localtime(now, zone).date()
    last_90 = reports.DateRange(first=today - dt.timedelta(days=89), last=today, zone=zone)
    outcomes = reports.visit_outcomes(start=last_90.start, end=last_90.end, doctor=doctor)
    counts = reports.today_counts(now=now, zone=zone, doctor=doctor)
    upcoming = [_row(a, zone=zone) for a in reports.upcoming(doctor=doctor, now=now)]
    return {
        "role": "doctor",
        "doctor": doctor,
        "kpis": [
            {"title": _("Visits today"), "value": counts.today},
            {"title": _("Visits this week"), "value": counts.week},
            {"title": _("Requests to review"), "value": counts.pending_confirmation},
            {"title": _("No-show rate (90 days)"), "value": percent(outcomes.no_show_rate)},
        ],
        "schedule": [_row(a, zone=zone) for a in reports.day_schedule(day=today, doctor=doctor)],
        "pending": [_row(a, zone=zone) for a in reports.pending_requests(doctor=doctor)],
        "upcoming": upcoming,
        "subscription_due": _subscription_due(doctor, now=now),
    }


def _subscription_due(doctor, *, now: dt.datetime) -> dict | None:
    """The doctor's subscription when something is due on it: the workspace shows "Pay now"."""
    subscription = DoctorSubscription.objects.select_related("plan").filter(doctor=doctor).first()
    if subscription is None:
        return None
    amount = subscription_amount_due(subscription, now=now)
    if amount <= 0:
        return None
    return {
        "amount": money(amount, subscription.plan.currency),
        "plan": subscription.plan.name,
        "renewal": subscription.current_period_end,
        "overdue": subscription.status == SubscriptionStatus.OVERDUE,
        "url": reverse("admin:clinic_doctorsubscription_change", args=[subscription.pk]),
    }


def staff_context(request, *, now: dt.datetime) -> dict:
    zone = reports.clinic_zone()
    today = timezone.localtime(now, zone).date()
    counts = reports.today_counts(now=now, zone=zone)
    defaults = BookingDefaults.load()
    arrivals = []
    for appointment in reports.day_schedule(day=today, zone=zone):
        row = _row(appointment, zone=zone)
        row["doctor"] = str(appointment.doctor)
        row["actions"] = _actions(appointment, user=request.user, now=now, defaults=defaults)
        arrivals.append(row)
    return {
        "role": "staff",
        "kpis": [
            {"title": _("Visits today"), "value": counts.today},
            {"title": _("Waiting for confirmation"), "value": counts.pending_confirmation},
            {"title": _("Payment holds"), "value": counts.live_holds},
        ],
        "arrivals": arrivals,
        "holds": [
            _row(a, zone=zone)
            | {
                "expires": timezone.localtime(a.hold_expires_at, zone).strftime("%H:%M"),
                "actions": _actions(a, user=request.user, now=now, defaults=defaults),
            }
            for a in reports.holds_expiring(now=now, limit=20)
        ],
        "unpaid": [_row(a, zone=zone) for a in reports.unpaid_visits(now=now)],
    }


def dashboard_callback(request, context: dict) -> dict:
    """Unfold's DASHBOARD_CALLBACK: adds ``clinic`` (the role's dashboard) to the index context."""
    now = timezone.now()
    user = request.user
    if user.is_superuser:
        clinic = admin_context(request, now=now)
    elif user.role == "doctor":
        clinic = doctor_context(request, now=now)
    elif user.role == "staff":
        clinic = staff_context(request, now=now)
    else:
        clinic = {"role": "none"}
    context["clinic"] = clinic
    return context
