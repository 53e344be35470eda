"""iCalendar (RFC 5545) invitations for appointments, attached to confirmation, reschedule and
cancellation emails.

Calendar clients match updates by ``UID`` and keep the one with the highest ``SEQUENCE``: the UID is
the appointment's public id, and the sequence counts its reschedules (plus one for a cancellation),
so a moved or cancelled visit replaces the entry the person already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import AppointmentMode
from core.models import AuditLog
from workflows.links import absolute, appointment_path, video_path, visit_location

PRODID = "-//Medbook//Appointments//EN"
MAX_LINE_OCTETS = 75
#: audit action of a reschedule: an appointment's SEQUENCE is how many it has
RESCHEDULED_ACTION = "booking.appointment.rescheduled"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def quote_param(value: str) -> str:
    """A parameter value (such as CN) in double quotes; quotes and control characters cannot appear."""
    cleaned = "".join(ch for ch in value if ch != '"' and (ch == "\t" or ord(ch) >= 0x20))
    return f'"{cleaned}"'


def fold(line: str) -> str:
    """Fold a content line into physical lines of at most 75 octets (RFC 5545 3.1).

    Continuation lines start with one space, which counts towards their 75 octets. A multi-octet
    UTF-8 character is never split.
    """
    parts: list[str] = []
    current, size = [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > MAX_LINE_OCTETS:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts)


def format_utc(value: datetime) -> str:
    """A DATE-TIME in UTC ("form #2"), e.g. 20250603T080000Z."""
    if timezone.is_naive(value):
        raise ValueError("iCalendar times must be aware datetimes.")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str = ""
    sequence: int = 0
    cancelled: bool = False
    tentative: bool = False  # not yet confirmed (unpaid, or waiting for the doctor)
    #: the place's coordinates (latitude, longitude), written as GEO
    geo: tuple | None = None
    organizer_name: str = "Medbook"
    organizer_email: str = ""
    attendee_name: str = ""
    attendee_email: str = ""

    @property
    def method(self) -> str:
        return "CANCEL" if self.cancelled else "REQUEST"


def event_lines(event: CalendarEvent, *, now: datetime) -> list[str]:
    """The unfolded content lines of one VEVENT (BEGIN:VEVENT … END:VEVENT)."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{format_utc(now)}",
        f"SEQUENCE:{int(event.sequence)}",
        f"DTSTART:{format_utc(event.start)}",
        f"DTEND:{format_utc(event.end)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.geo is not None:
        lines.append(f"GEO:{event.geo[0]};{event.geo[1]}")
    if event.url:
        lines.append(f"URL:{event.url}")
    status = "CANCELLED" if event.cancelled else "TENTATIVE" if event.tentative else "CONFIRMED"
    lines.append(f"STATUS:{status}")
    lines.append("TRANSP:OPAQUE")
    if event.organizer_email:
        lines.append(f"ORGANIZER;CN={quote_param(event.organizer_name)}:mailto:{event.organizer_email}")
    if event.attendee_email:
        partstat = "DECLINED" if event.cancelled else "TENTATIVE" if event.tentative else "ACCEPTED"
        lines.append(
            f"ATTENDEE;CN={quote_param(event.attendee_name or event.attendee_email)};ROLE=REQ-PARTICIPANT;"
            f"PARTSTAT={partstat};RSVP=FALSE:mailto:{event.attendee_email}"
        )
    lines.append("END:VEVENT")
    return lines


def render_calendar(event: CalendarEvent, *, now: datetime | None = None) -> str:
    """The event as a complete VCALENDAR object with CRLF line endings, ready to attach."""
    now = now or timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{event.method}",
        *event_lines(event, now=now),
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


#: how often subscribed calendar clients are asked to fetch a feed again (Apple and Outlook read
#: REFRESH-INTERVAL or X-PUBLISHED-TTL; Google decides for itself, every few hours)
FEED_REFRESH = "PT1H"


def render_feed(events: list[CalendarEvent], *, name: str, now: datetime | None = None) -> str:
    """A subscribable calendar (RFC 5545 with RFC 7986's NAME and REFRESH-INTERVAL): every event of
    ``events`` in one VCALENDAR without a METHOD (a published calendar, not an invitation). An event
    that is no longer in the feed disappears from the subscriber's calendar at the next refresh."""
    now = now or timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{FEED_REFRESH}",
        f"X-PUBLISHED-TTL:{FEED_REFRESH}",
    ]
    for event in events:
        lines += event_lines(event, now=now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def organizer_email() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


# --- appointments ---------------------------------------------------------------------------------


# A visit in these states may still not happen (unpaid hold, waiting for the doctor, a suggestion):
# calendars show it as TENTATIVE; only a confirmed visit (and what followed it) is CONFIRMED.
NOT_YET_CONFIRMED = frozenset({"pending_payment", "pending", "pending_patient_confirmation"})


def appointment_uid(appointment) -> str:
    return f"{appointment.public_id}@medbook"


def reschedule_history(appointment) -> list[AuditLog]:
    """The appointment's reschedule audit entries, oldest first (``data["from"]`` is the old start)."""
    return list(
        AuditLog.objects.filter(
            action=RESCHEDULED_ACTION, object_type=appointment._meta.label_lower, object_id=str(appointment.pk)
        ).order_by("created_at", "id")
    )


def _geo(appointment) -> tuple | None:
    facility = appointment.facility
    if facility is None or facility.latitude is None or facility.longitude is None:
        return None
    return (facility.latitude, facility.longitude)


def appointment_event(appointment, *, recipient, cancelled: bool = False) -> CalendarEvent:
    """The calendar event of ``appointment`` as ``recipient`` sees it, in the active language.

    ``SEQUENCE`` is the number of reschedules, plus one for a cancellation.
    """

    is_patient = recipient.pk == appointment.patient_id
    doctor, patient = str(appointment.doctor), appointment.patient_name or str(appointment.patient)
    url = absolute(appointment_path(appointment, recipient))
    is_video = appointment.mode != AppointmentMode.IN_PERSON
    mode = AppointmentMode(appointment.mode).label if appointment.mode in AppointmentMode.values else appointment.mode
    summary = (
        _("Medbook appointment with %(doctor)s") % {"doctor": doctor}
        if is_patient
        else _("Medbook appointment with %(patient)s") % {"patient": patient}
    )
    description = [_("Doctor: %(doctor)s") % {"doctor": doctor}]
    if not is_patient:
        description.append(_("Patient: %(patient)s") % {"patient": patient})
    description += [_("Visit: %(mode)s") % {"mode": mode}, url]
    return CalendarEvent(
        uid=appointment_uid(appointment),
        start=appointment.starts_at,
        end=appointment.ends_at,
        summary=summary,
        description="\n".join(description),
        location=url if is_video else visit_location(appointment),
        geo=_geo(appointment),
        url=url,
        sequence=len(reschedule_history(appointment)) + (1 if cancelled else 0),
        cancelled=cancelled,
        tentative=appointment.status in NOT_YET_CONFIRMED,
        organizer_email=organizer_email(),
        attendee_name=recipient.get_full_name(),
        attendee_email=recipient.email,
    )


def appointment_calendar(
    appointment, *, recipient=None, cancelled: bool | None = None, now: datetime | None = None
) -> str:
    """``appointment`` as a complete .ics for ``recipient`` (default: the patient). Unless told, a
    cancelled, expired or declined appointment is written as a cancellation."""
    if appointment.starts_at is None or appointment.ends_at is None:
        raise ValueError("An appointment without a time has no calendar event.")
    if cancelled is None:
        cancelled = appointment.status in {"cancelled", "expired"}
    event = appointment_event(appointment, recipient=recipient or appointment.patient, cancelled=cancelled)
    return render_calendar(event, now=now)


# --- calendar feeds -------------------------------------------------------------------------------


def reschedule_counts(appointments) -> dict[int, int]:
    """How many times each of ``appointments`` was rescheduled (its SEQUENCE), in one query."""
    from django.db.models import Count

    ids = [str(appointment.pk) for appointment in appointments]
    if not ids:
        return {}
    label = appointments[0]._meta.label_lower
    rows = (
        AuditLog.objects.filter(action=RESCHEDULED_ACTION, object_type=label, object_id__in=ids)
        .values("object_id")
        .annotate(count=Count("id"))
    )
    return {int(row["object_id"]): row["count"] for row in rows}


def feed_event(appointment, *, viewer, sequence: int, with_names: bool = False) -> CalendarEvent:
    """``appointment`` as an entry of ``viewer``'s calendar feed, in the active language.

    A feed is fetched by a calendar service, not by the person, and may end up on a phone's lock
    screen: by default it carries no names and nothing clinical (no reason, no visit type), only
    "Medbook visit", the time, and the place (the clinic's address, or the video page's link).
    ``with_names`` adds the other person's name, when the feed's owner asked for it.
    """
    is_patient = viewer.pk == appointment.patient_id
    summary = _("Medbook visit")
    if with_names:
        other = str(appointment.doctor) if is_patient else appointment.patient_name or str(appointment.patient)
        summary = _("Medbook visit: %(name)s") % {"name": other}
    url = absolute(appointment_path(appointment, viewer))
    in_person = appointment.mode == AppointmentMode.IN_PERSON
    location = visit_location(appointment) if in_person else absolute(video_path(appointment))
    return CalendarEvent(
        geo=_geo(appointment),
        uid=appointment_uid(appointment),
        start=appointment.starts_at,
        end=appointment.ends_at,
        summary=summary,
        description=url,
        location=location,
        url=url,
        sequence=sequence,
        tentative=appointment.status in NOT_YET_CONFIRMED,
    )
