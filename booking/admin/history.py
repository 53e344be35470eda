"""The state-transition log (django-fsm-log) as a read-only tab on any FSM model's admin page."""

import contextlib
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm_log.models import StateLog
from unfold.admin import GenericTabularInline

from booking.models import Appointment, AppointmentStatus
from core.models import AuditLog
from core.money import money_text


class HistoryInline(GenericTabularInline):
    """Transitions of the object on its page, for whoever may open that page (doctors and staff hold
    no StateLog permission of their own)."""

    model = StateLog
    ct_field = "content_type"
    ct_fk_field = "object_id"
    extra = 0
    can_delete = False
    tab = True
    verbose_name = _("state change")
    verbose_name_plural = _("History")
    fields = ("timestamp", "source_state", "state", "transition", "by", "description")
    readonly_fields = fields
    ordering = ("timestamp",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # shown inside an admin page the user already may open


# --- an appointment's story in words -------------------------------------------------------------

#: what each transition of an Appointment means, said of whoever did it (``%(by)s``)
_TRANSITION_WORDS = {
    "confirm": _("Confirmed by %(by)s"),
    "decline": _("Declined by %(by)s"),
    "expire": _("The hold lapsed unpaid; the time was freed"),
    "cancel": _("Cancelled by %(by)s"),
    "complete": _("Visit completed · closed by %(by)s"),
    "mark_no_show": _("The patient did not come · recorded by %(by)s"),
    "accept_follow_up": _("Follow-up accepted by the patient, who picked a time"),
    "reject_follow_up": _("Follow-up declined by the patient"),
}

_PAID_BY = {
    "cash": _("Paid at the desk"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    detail: str = ""
    tone: str = "default"  # default | success | warning | danger


def _person(user) -> str:
    """A person as the clinic names them: a doctor by their title and name, others by their name."""
    if user is None:
        return gettext("the system")
    doctor = getattr(user, "doctor", None) if getattr(user, "role", "") == "doctor" else None
    if doctor is not None:
        return str(doctor)
    return user.get_full_name() or user.email


def _paid_words(payments, log: StateLog) -> str:
    """How the visit was paid: at the desk (cash) or online (any gateway), from its successful payment."""
    paid = [p for p in payments if p.paid_at is not None]
    if not paid:
        return gettext("Paid")
    payment = min(paid, key=lambda p: abs((p.paid_at - log.timestamp).total_seconds()))
    if payment.gateway in _PAID_BY:
        return str(_PAID_BY[payment.gateway])
    return gettext("Paid online")


def appointment_timeline(appointment) -> list[TimelineEntry]:
    """What happened to ``appointment``, oldest first, in plain words: its creation, each transition of
    the state log (django-fsm-log), moves to another time and refunds. Four queries."""
    logs = list(
        StateLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Appointment), object_id=str(appointment.pk)
        )
        .select_related("by__doctor")
        .order_by("timestamp", "pk")
    )
    payments = list(appointment.payments.prefetch_related("refunds"))
    audits = list(
        AuditLog.objects.filter(
            object_type=Appointment._meta.label_lower,
            object_id=str(appointment.pk),
            action__in=["booking.appointment.booked", "booking.appointment.rescheduled", "booking.follow_up.suggested"],
        )
        .select_related("actor__doctor")
        .order_by("created_at", "pk")
    )
    entries: list[TimelineEntry] = []
    created = next((a for a in audits if a.action != "booking.appointment.rescheduled"), None)
    if appointment.is_follow_up_suggestion:
        text = gettext("Follow-up suggested by %(by)s") % {"by": _person(appointment.suggested_by)}
        detail = ""
        if appointment.suggested_date:
            detail = gettext("for %(date)s") % {"date": formats.date_format(appointment.suggested_date, "DATE_FORMAT")}
        entries.append(TimelineEntry(at=appointment.created_at, text=text, detail=detail, tone="info"))
    else:
        actor = created.actor if created is not None else None
        if actor is None or actor.pk == appointment.patient_id:
            text = gettext("Booked by the patient")
        else:
            text = gettext("Booked by %(by)s for the patient") % {"by": _person(actor)}
        entries.append(TimelineEntry(at=appointment.created_at, text=text))
    for log in logs:
        by = _person(log.by)
        if log.transition in ("confirm_paid", "await_doctor", "reinstate_confirmed", "reinstate_pending"):
            paid = _paid_words(payments, log)
            late = log.transition.startswith("reinstate")
            if log.transition in ("confirm_paid", "reinstate_confirmed"):
                then = gettext("Confirmed automatically")
            else:
                then = gettext("Waiting for the doctor to confirm")
            text = f"{paid} · {then}"
            detail = gettext("The payment arrived after the hold had lapsed") if late else ""
            tone = "success" if "confirmed" in log.state else "warning"
            entries.append(TimelineEntry(at=log.timestamp, text=text, detail=detail, tone=tone))
            continue
        words = _TRANSITION_WORDS.get(log.transition)
        text = (
            str(words) % {"by": by}
            if words is not None
            else gettext("Now: %(state)s") % {"state": AppointmentStatus(log.state).label}
        )
        tone = {"cancelled": "danger", "no_show": "danger", "expired": "warning", "completed": "success"}.get(
            log.state, "success" if log.state == "confirmed" else "default"
        )
        detail = log.description or ""
        if log.transition in ("cancel", "decline", "reject_follow_up") and appointment.cancellation_reason:
            detail = gettext("Reason: %(reason)s") % {"reason": appointment.cancellation_reason}
        entries.append(TimelineEntry(at=log.timestamp, text=text, detail=detail, tone=tone))
    for audit in audits:
        if audit.action == "booking.appointment.rescheduled":
            before = audit.data.get("from")
            detail = ""
            if before:
                with contextlib.suppress(ValueError):
                    moment = timezone.localtime(datetime.fromisoformat(before))
                    detail = gettext("It was at %(when)s") % {"when": formats.date_format(moment, "DATETIME_FORMAT")}
            text = gettext("Moved to another time by %(by)s") % {"by": _person(audit.actor)}
            entries.append(TimelineEntry(at=audit.created_at, text=text, detail=detail))
    for payment in payments:
        for refund in payment.refunds.all():
            text = gettext("Refund of %(amount)s: %(status)s") % {
                "amount": money_text(refund.amount, payment.currency),
                "status": refund.get_status_display(),
            }
            entries.append(TimelineEntry(at=refund.created_at, text=text, tone="warning"))
    entries.sort(key=lambda entry: entry.at)
    return entries
