"""Every message Medbook sends, by kind, and how it is rendered for one recipient.

Texts live in templates under ``themes/templates/emails/``, four per kind:

- ``<kind>.subject.txt``: the email subject, also the in-app notification's title;
- ``<kind>.txt`` and ``<kind>.html``: the email body (plain text and HTML, extending ``base.txt`` /
  ``base.html``);
- ``<kind>.short.txt``: one or two sentences, the in-app notification's text and the SMS.

Everything is rendered in the recipient's language and every time is shown in the recipient's time
zone with the zone's name (and in the clinic's zone too for in-person visits). Rendering reads the
appointment as it is now: a message delivered late describes the current state, never a stale one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template import Context, engines
from django.utils import formats, numberformat, timezone, translation
from django.utils.module_loading import import_string
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from booking.models import Appointment, AppointmentMode, AppointmentStatus, Refund
from booking.rules import follow_up_price
from core.dates import clock_text, day_text, when_text, zone_label
from core.models import AuditLog, OutboxMessage
from workflows import ics
from workflows.invoices import documents_text, message_invoices
from workflows.links import absolute, appointment_path, visit_location, visit_map_url

S = AppointmentStatus
APPOINTMENT_TYPE = Appointment._meta.label_lower
REMINDER = "appointment.reminder"


@dataclass(frozen=True)
class MessageKind:
    kind: str
    #: also sent as a text message (to people with a phone who did not switch SMS off)
    sms: bool = False
    #: the email carries an .ics: "request" (add or update the event) or "cancel" (remove it)
    calendar: str = ""
    #: the button in the email, for the patient (clinic people always get "open in the workspace")
    patient_action: str = "view"
    #: for a message about something other than an appointment: the dotted path of the owning app's
    #: ``f(message, recipient) -> dict | None`` giving the template context (with ``link``); None
    #: means the object is gone
    context: str = ""


KINDS: tuple[MessageKind, ...] = (
    MessageKind("appointment.held", patient_action="pay"),
    MessageKind("appointment.confirmed", sms=True, calendar="request"),
    MessageKind("appointment.paid_pending"),
    MessageKind("appointment.request_received"),
    MessageKind("appointment.declined"),
    MessageKind("appointment.cancelled", sms=True, calendar="cancel"),
    MessageKind("appointment.rescheduled", sms=True, calendar="request"),
    MessageKind("appointment.hold_expired", patient_action="book"),
    MessageKind("appointment.payment_failed", patient_action="book"),
    MessageKind("appointment.no_show"),
    MessageKind("payment.refunded"),
    MessageKind("payment.late_refunded", patient_action="book"),
    MessageKind("payment.refund_failed"),
    MessageKind("follow_up.suggested", patient_action="choose"),
    MessageKind("follow_up.accepted"),
    MessageKind("follow_up.rejected"),
    MessageKind(REMINDER, sms=True),
    MessageKind("support.reply", context="workflows.clinic.messages.support_reply_context"),
    MessageKind("application.invitation", context="workflows.clinic.messages.application_invitation_context"),
    MessageKind("application.rejection", context="workflows.clinic.messages.application_rejection_context"),
    MessageKind("application.duplicate", context="workflows.clinic.messages.application_duplicate_context"),
    MessageKind("message.unread", context="workflows.messaging.emails.unread_context"),
    MessageKind("rating.invited", context="workflows.operations.messages.rating_invitation_context"),
    MessageKind("waitlist.offered", sms=True, context="workflows.operations.messages.waitlist_offer_context"),
    MessageKind("account.invitation", context="workflows.messages.account_invitation_context"),
)
REGISTRY: dict[str, MessageKind] = {spec.kind: spec for spec in KINDS}
#: the patient's messages that carry the check-in code of an in-person visit
CHECK_IN_CODE_KINDS = frozenset({"appointment.confirmed", "appointment.rescheduled", REMINDER})

ZERO_DECIMAL_CURRENCIES = frozenset({"VND", "JPY", "KRW", "CLP", "ISK", "XAF", "XOF"})


class UndeliverableMessage(Exception):
    """The message can never be rendered (unknown kind, missing object): retrying will not help."""


class ObsoleteMessage(Exception):
    """The message no longer applies (a reminder for a visit that was cancelled or moved)."""


@dataclass(frozen=True)
class RenderedMessage:
    kind: str
    language: str
    subject: str
    text: str
    html: str
    #: in-app notification text and SMS text
    short: str
    #: a path on this site (the in-app notification's link) and the same as an absolute URL
    link: str
    url: str
    sms: bool
    calendar: str = ""
    calendar_method: str = ""
    #: the booking code a patient shows at the clinic's front desk (in-person visits; the email attaches
    #: it as a QR code)
    check_in_code: str = ""
    #: the invoices and credit notes the email carries as PDFs (ids; workflows.invoices draws them
    #: when the email is built, so rendering the texts alone costs no PDF)
    invoice_ids: tuple[int, ...] = ()

    @property
    def title(self) -> str:
        return self.subject


# --- formatting -----------------------------------------------------------------------------------


def format_moment(value: datetime, zone: ZoneInfo) -> str:
    """E.g. "Tue 3 Jun 2025, 15:00 · Vietnam time (GMT+7)" in the active language (core.dates)."""
    return f"{when_text(value, zone)} · {zone_label(zone.key, value)}"


def format_span(start: datetime, end: datetime | None, zone: ZoneInfo) -> str:
    """E.g. "Tue 3 Jun 2025, 15:00–15:30 · Vietnam time (GMT+7)"."""
    if end is None:
        return format_moment(start, zone)
    return f"{when_text(start, zone)}–{clock_text(end, zone)} · {zone_label(zone.key, start)}"


def format_money(amount: Decimal, currency: str) -> str:
    places = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    number = numberformat.format(
        amount,
        formats.get_format("DECIMAL_SEPARATOR"),
        decimal_pos=places,
        grouping=3,
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )
    return f"{number} {currency}"


def format_percent(value: Decimal) -> str:
    value = Decimal(value)
    return str(value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize())


def _plain(text: str) -> str:
    """Tidy a rendered plain-text body: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- rendering ------------------------------------------------------------------------------------


def load_appointment(message: OutboxMessage) -> Appointment:
    pk = message.object_id if message.object_type == APPOINTMENT_TYPE else message.context.get("appointment")
    appointment = (
        Appointment.objects.select_related(
            "doctor__user", "patient", "appointment_type", "slot__availability__facility", "slot__availability__room"
        )
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if appointment is None:
        raise UndeliverableMessage(f"{message.kind}: appointment {pk!r} not found")
    return appointment


def check_still_relevant(message: OutboxMessage, appointment: Appointment, *, now: datetime) -> None:
    """Raise ObsoleteMessage for a message that would mislead if it arrived now: a "please pay" for
    a hold that was paid or has ended, a reminder for a visit that was cancelled, moved or has begun."""
    if message.kind == "appointment.held" and appointment.status != S.PENDING_PAYMENT:
        raise ObsoleteMessage(f"the appointment is {appointment.status}, no longer waiting for payment")
    if message.kind != REMINDER:
        return
    planned_for = message.context.get("starts_at")
    if appointment.status != S.CONFIRMED:
        raise ObsoleteMessage(f"the appointment is {appointment.status}, not confirmed")
    if appointment.starts_at is None or appointment.starts_at <= now:
        raise ObsoleteMessage("the visit has already started")
    if planned_for and appointment.starts_at != datetime.fromisoformat(planned_for):
        raise ObsoleteMessage("the visit was moved to another time")


def render_message(
    message: OutboxMessage, *, now: datetime | None = None, language: str | None = None
) -> RenderedMessage:
    """Render outbox ``message`` for its recipient (in ``language`` instead of theirs when given).
    Raises UndeliverableMessage or ObsoleteMessage."""
    spec = REGISTRY.get(message.kind)
    if spec is None:
        raise UndeliverableMessage(f"no template for message kind {message.kind!r}")
    now = now or timezone.now()
    if spec.context:
        return _render_other(spec, message, language=language)
    appointment = load_appointment(message)
    check_still_relevant(message, appointment, now=now)
    recipient = message.recipient
    language = language or recipient.language or settings.LANGUAGE_CODE
    zone = ZoneInfo(recipient.effective_time_zone)
    with translation.override(language), timezone.override(zone):
        context = _context(spec, message, appointment, recipient, zone=zone, now=now)
        calendar, method = _calendar(spec, appointment, recipient, now=now)
        context["has_calendar"] = bool(calendar)
        check_in_code = ""
        if spec.kind in CHECK_IN_CODE_KINDS and context["audience"] == "patient" and not context["is_video"]:
            check_in_code = context["check_in_code"] = appointment.booking_code
        documents = message_invoices(message, appointment, recipient)
        context["attached_documents"] = documents_text(documents)
        subject = _one_line(_render(f"emails/{spec.kind}.subject.txt", context, autoescape=False))
        context["subject"] = subject
        return RenderedMessage(
            kind=spec.kind,
            language=language,
            subject=subject,
            text=_plain(_render(f"emails/{spec.kind}.txt", context, autoescape=False)),
            html=_render(f"emails/{spec.kind}.html", context, autoescape=True),
            short=_one_line(_render(f"emails/{spec.kind}.short.txt", context, autoescape=False)),
            link=context["link"],
            url=context["url"],
            sms=spec.sms,
            calendar=calendar,
            calendar_method=method,
            check_in_code=check_in_code,
            invoice_ids=tuple(document.pk for document in documents),
        )


def _render_other(spec: MessageKind, message: OutboxMessage, *, language: str | None = None) -> RenderedMessage:
    """A message that is not about an appointment: its kind names the function giving the context."""
    recipient = message.recipient  # None: someone without an account, by email to ``to_email``
    language = language or (recipient.language if recipient else message.language) or settings.LANGUAGE_CODE
    zone = ZoneInfo(recipient.effective_time_zone if recipient else settings.CLINIC_TIME_ZONE)
    with translation.override(language), timezone.override(zone):
        own = import_string(spec.context)(message, recipient)
        if own is None:
            raise UndeliverableMessage(f"{message.kind}: {message.object_type} {message.object_id} not found")
        link = own.get("link", "")
        name = (recipient.first_name or recipient.get_full_name() or recipient.email) if recipient else ""
        context = {
            "kind": spec.kind,
            "name": own.get("name") or name or message.to_email,
            "language_code": translation.get_language(),
            "site_url": settings.SITE_URL,
            "clinic_name": settings.CLINIC_NAME,
            "url": absolute(link),
            "link": link,
            **own,
        }
        subject = _one_line(_render(f"emails/{spec.kind}.subject.txt", context, autoescape=False))
        context["subject"] = subject
        return RenderedMessage(
            kind=spec.kind,
            language=language,
            subject=subject,
            text=_plain(_render(f"emails/{spec.kind}.txt", context, autoescape=False)),
            html=_render(f"emails/{spec.kind}.html", context, autoescape=True),
            short=_one_line(_render(f"emails/{spec.kind}.short.txt", context, autoescape=False)),
            link=link,
            url=context["url"],
            sms=spec.sms,
        )


def in_app_texts(
    message: OutboxMessage, rendered: RenderedMessage, *, now: datetime | None = None
) -> dict[str, dict[str, str]]:
    """The in-app notification's title and text in every site language, from the same moment as
    ``rendered`` (the recipient's own): ``{"en": {"title": ..., "body": ...}, "vi": {...}}``. The
    portal shows the reader's language of the day (``Notification.text_in``)."""
    texts = {rendered.language.split("-")[0]: {"title": rendered.title[:200], "body": rendered.short[:1000]}}
    for code, _name in settings.LANGUAGES:
        if code in texts:
            continue
        try:
            other = render_message(message, now=now, language=code)
        except (UndeliverableMessage, ObsoleteMessage):  # as for the recipient's language: not shown
            continue
        texts[code] = {"title": other.title[:200], "body": other.short[:1000]}
    return texts


def _render(name: str, context: dict, *, autoescape: bool) -> str:
    # Plain-text parts are rendered without HTML escaping ("Nguyễn & Co" stays as typed).
    template = engines["django"].engine.get_template(name)
    return template.render(Context(context, autoescape=autoescape))


def _audience(appointment: Appointment, recipient) -> str:
    # the account holder of a dependant patient reads the patient's messages (the visit is for them)
    if recipient.pk == appointment.patient_id or recipient.pk == appointment.patient.guardian_id:
        return "patient"
    if recipient.pk == appointment.doctor.user_id:
        return "doctor"
    return "clinic"


def _action_label(spec: MessageKind, audience: str) -> str:
    if audience != "patient":
        return _("Open in the clinic workspace")
    return {
        "pay": _("Pay now"),
        "book": _("Book a new time"),
        "choose": _("Choose a time"),
    }.get(spec.patient_action, _("View your appointment"))


def _refund_amount(message: OutboxMessage, appointment: Appointment) -> tuple[Decimal, bool]:
    """The refund this message is about (booking keys refund messages ``...:refund<id>``), else the
    total refunded for the appointment; and whether it is paid back in cash at the desk."""
    match = re.search(r":refund(\d+)$", message.dedupe_key)
    refund = None
    if match:
        refund = Refund.objects.select_related("payment").filter(pk=match[1], payment__appointment=appointment).first()
    if refund is not None:
        return refund.amount, refund.payment.gateway == "cash"
    payments = list(appointment.payments.all())
    total = sum((p.refunded_amount for p in payments), Decimal("0"))
    return total, any(p.gateway == "cash" and p.refunded_amount for p in payments)


def _previous_start(history: list[AuditLog]) -> datetime | None:
    if not history:
        return None
    previous = history[-1].data.get("from")
    return datetime.fromisoformat(previous) if previous else None


def _suggested_moment(appointment: Appointment, zone: ZoneInfo) -> str:
    """A follow-up's suggested date and time: typed in the doctor's zone, shown in the recipient's."""
    if appointment.suggested_date is None:
        return ""
    if appointment.suggested_time is None:
        return day_text(appointment.suggested_date)
    suggested = datetime.combine(appointment.suggested_date, appointment.suggested_time, tzinfo=appointment.doctor.zone)
    return format_moment(suggested, zone)


def _context(spec, message, appointment: Appointment, recipient, *, zone: ZoneInfo, now: datetime) -> dict:
    audience = _audience(appointment, recipient)
    link = appointment_path(appointment, recipient)
    clinic_zone = ZoneInfo(settings.CLINIC_TIME_ZONE)
    is_video = appointment.mode != AppointmentMode.IN_PERSON
    starts_at, ends_at = appointment.starts_at, appointment.ends_at
    context = {
        "kind": spec.kind,
        "audience": audience,
        "name": recipient.first_name or recipient.get_full_name() or recipient.email,
        "language_code": translation.get_language(),
        "appointment_number": appointment.pk,
        "doctor_name": str(appointment.doctor),
        "patient_name": appointment.patient_name or str(appointment.patient),
        # a message to the account holder about a family member's visit names whom it is for
        "for_dependant": recipient.pk != appointment.patient_id and audience == "patient",
        "zone_name": zone.key,
        "when": format_span(starts_at, ends_at, zone) if starts_at else "",
        "clinic_when": "",
        "is_video": is_video,
        "mode_label": str(AppointmentMode(appointment.mode).label)
        if appointment.mode in AppointmentMode.values
        else appointment.mode,
        "location": "",
        "status_label": appointment.get_status_display(),
        "price": format_money(appointment.price, appointment.currency),
        "amount_due": format_money(appointment.amount_due, appointment.currency),
        "hold_until": format_moment(appointment.hold_expires_at, zone) if appointment.hold_expires_at else "",
        "reason": appointment.cancellation_reason,
        "cancelled_by": appointment.get_cancelled_by_display() if appointment.cancelled_by else "",
        "link": link,
        "url": absolute(link),
        "site_url": settings.SITE_URL,
        "clinic_name": settings.CLINIC_NAME,
        "action_label": _action_label(spec, audience),
    }
    if starts_at and not is_video and zone.key != clinic_zone.key:
        context["clinic_when"] = format_span(starts_at, ends_at, clinic_zone)
    context["location"] = _("Video call in Medbook") if is_video else visit_location(appointment)
    context["map_url"] = "" if is_video else visit_map_url(appointment)
    if spec.kind == "appointment.rescheduled":
        previous = _previous_start(ics.reschedule_history(appointment))
        context["previous_when"] = format_moment(previous, zone) if previous else ""
    if spec.kind in {"payment.refunded", "payment.late_refunded", "payment.refund_failed"}:
        amount, in_cash = _refund_amount(message, appointment)
        context["refund_amount"] = format_money(amount, appointment.currency)
        context["refund_in_cash"] = in_cash
        context["slot_taken"] = appointment.status == S.EXPIRED
    if spec.kind.startswith("follow_up."):
        percent = appointment.follow_up_discount_percent
        discounted = follow_up_price(price=appointment.price, percent=percent)
        context.update(
            suggested_when=_suggested_moment(appointment, zone),
            discount_percent=format_percent(percent),
            discounted_price=format_money(discounted, appointment.currency),
            has_notes=bool(appointment.follow_up_notes),
        )
    if spec.kind == REMINDER and starts_at:
        context["starts_in"] = timeuntil(starts_at, now)
        context["lead_minutes"] = message.context.get("lead_minutes")
    return context


def _calendar(spec: MessageKind, appointment: Appointment, recipient, *, now) -> tuple[str, str]:
    """The .ics for this email, if any: an invitation while the visit is confirmed, a cancellation
    for a visit that had been confirmed (an unconfirmed one never reached anyone's calendar)."""
    if not spec.calendar or appointment.starts_at is None or appointment.ends_at is None:
        return "", ""
    if spec.calendar == "request" and appointment.status != S.CONFIRMED:
        return "", ""
    cancelled = spec.calendar == "cancel"
    if cancelled and (appointment.status != S.CANCELLED or appointment.confirmed_at is None):
        return "", ""
    event = ics.appointment_event(appointment, recipient=recipient, cancelled=cancelled)
    return ics.render_calendar(event, now=now), event.method


def account_invitation_context(message, recipient) -> dict | None:
    """``account.invitation``: a family member was given a login of their own (accounts.family); they
    set a password with a one-time link (fresh each time the message is rendered). None when the
    account is gone or is somebody's dependant again."""
    from allauth.account import app_settings as account_settings
    from allauth.account.utils import user_pk_to_url_str
    from django.urls import reverse

    if recipient is None or recipient.guardian_id is not None or not recipient.is_active:
        return None
    token = account_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(recipient)
    setup = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(recipient), "key": token})
    return {
        "email": recipient.email,
        "setup_url": settings.SITE_URL + setup,
        "login_url": settings.SITE_URL + reverse("account_login"),
        "link": reverse("account_login"),
    }
