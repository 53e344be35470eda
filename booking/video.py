"""Video visits with Agora: who may join, when, and the RTC tokens that let them in.

The rules live here once: ``video_access`` tells a page what to show (without raising), and
``video_token_issue`` enforces the same rules before it builds a token. Settings (see settings.py):
``AGORA_APP_ID`` / ``AGORA_APP_CERTIFICATE`` (empty: video is off and says so),
``VIDEO_JOIN_BEFORE_MINUTES`` and ``VIDEO_GRACE_MINUTES`` (the join window), ``VIDEO_TEST_MODE``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from agora_token_builder.RtcTokenBuilder import Role_Publisher, RtcTokenBuilder
from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from booking import rules
from booking.models import Appointment, AppointmentMode, AppointmentStatus
from booking.services import appointment_complete
from core.audit import audit_log
from core.errors import Conflict, DomainError, NotFound

S = AppointmentStatus


class VideoNotConfigured(DomainError):
    code = "video_not_configured"
    status = 503


class VideoNotAvailable(Conflict):
    """The appointment is not (or no longer) a visit that can be joined."""

    code = "video_not_available"


class VideoNotOpenYet(Conflict):
    code = "video_not_open_yet"


class VideoEnded(Conflict):
    code = "video_ended"


@dataclass(frozen=True)
class VideoAccess:
    """What a participant may do with an appointment's call right now.

    ``state`` is one of "open", "too_early", "ended", "not_confirmed", "in_person", "not_configured".
    """

    state: str
    role: str
    opens_at: datetime | None
    closes_at: datetime | None
    message: str = ""

    @property
    def is_open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class VideoCredentials:
    app_id: str
    channel: str
    uid: int
    token: str
    expires_at: datetime
    role: str

    def as_dict(self) -> dict:
        return {
            "appId": self.app_id,
            "channel": self.channel,
            "uid": self.uid,
            "token": self.token,
            "expiresAt": self.expires_at.isoformat(),
            "role": self.role,
        }


def video_is_configured() -> bool:
    return bool(settings.AGORA_APP_ID and settings.AGORA_APP_CERTIFICATE)


def video_participant_role(*, appointment: Appointment, user) -> str:
    """ "patient" or "doctor" for the two people in the call. Anyone else (staff and admins too, who
    are not in the room) gets NotFound, never a hint that the appointment exists."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotFound(_("Appointment not found."))
    if user.role == "patient" and (
        appointment.patient_id == user.pk or appointment.patient.guardian_id == user.pk  # a child's parent joins
    ):
        return "patient"
    if user.role == "doctor" and appointment.doctor.user_id == user.pk:
        return "doctor"
    raise NotFound(_("Appointment not found."))


def video_access(*, appointment: Appointment, user, now: datetime | None = None) -> VideoAccess:
    """The state of the call for ``user`` (a participant; others get NotFound). Never raises otherwise."""
    now = now or timezone.now()
    role = video_participant_role(appointment=appointment, user=user)
    if appointment.starts_at is None or appointment.ends_at is None:
        return VideoAccess("not_confirmed", role, None, None, _("This appointment has no time yet."))
    opens, closes = rules.video_window(appointment=appointment)
    if appointment.mode == AppointmentMode.IN_PERSON:
        return VideoAccess("in_person", role, opens, closes, _("This is an in-person visit at the clinic."))
    if not video_is_configured():
        return VideoAccess(
            "not_configured", role, opens, closes, _("Video is not configured. Please contact the clinic.")
        )
    if appointment.status in (S.COMPLETED, S.NO_SHOW):
        return VideoAccess("ended", role, opens, closes, _("This visit has ended."))
    if appointment.status != S.CONFIRMED:
        if appointment.status in (S.CANCELLED, S.EXPIRED):
            message = _("This appointment was cancelled.")
        else:
            message = _("The video call opens once the appointment is confirmed.")
        return VideoAccess("not_confirmed", role, opens, closes, message)
    if now < opens:
        return VideoAccess(
            "too_early",
            role,
            opens,
            closes,
            _("The call opens at %(time)s.") % {"time": _clock(opens)},
        )
    if now > closes:
        return VideoAccess("ended", role, opens, closes, _("This visit has ended."))
    return VideoAccess("open", role, opens, closes)


def video_uid(user) -> int:
    """The Agora uid of ``user``: their user id (a positive 32-bit integer, stable across tokens)."""
    uid = int(user.pk)
    if not 0 < uid < 2**32:
        raise DomainError(_("This account cannot join video calls."), code="video_uid_out_of_range")
    return uid


def video_token_issue(*, appointment: Appointment, user, now: datetime | None = None) -> VideoCredentials:
    """Build an Agora RTC token (publisher) for ``user`` in ``appointment``'s channel and keep it as the
    appointment's last token. Issuing again inside the window renews it.

    Raises NotFound (not a participant), VideoNotConfigured (503), VideoNotAvailable, VideoNotOpenYet
    and VideoEnded (409, with the window in ``details``). The token itself is never audited.
    """
    now = now or timezone.now()
    access = video_access(appointment=appointment, user=user, now=now)
    details = {
        "opensAt": access.opens_at.isoformat() if access.opens_at else None,
        "closesAt": access.closes_at.isoformat() if access.closes_at else None,
    }
    if access.state == "not_configured":
        raise VideoNotConfigured(_("Video is not configured."))
    if access.state in ("not_confirmed", "in_person"):
        raise VideoNotAvailable(access.message, details={**details, "status": appointment.status})
    if access.state == "too_early":
        raise VideoNotOpenYet(
            _("The call opens at %(opens)s (%(before)s minutes before the start) and closes at %(closes)s.")
            % {
                "opens": _clock(access.opens_at),
                "before": settings.VIDEO_JOIN_BEFORE_MINUTES,
                "closes": _clock(access.closes_at),
            },
            details=details,
        )
    if access.state == "ended":
        raise VideoEnded(
            _("This visit has ended; the call closed at %(closes)s.") % {"closes": _clock(access.closes_at)},
            details=details,
        )

    uid = video_uid(user)
    expires_at = access.closes_at
    with transaction.atomic():
        # Lock the row: the two participants' first joins must agree on one channel name.
        locked = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
        if locked.status != S.CONFIRMED:
            raise VideoNotAvailable(_("This appointment is no longer confirmed."), details=details)
        if not locked.video_channel:
            locked.video_channel = f"appt_{locked.pk}_{secrets.token_hex(8)}"
        token = RtcTokenBuilder.buildTokenWithUid(
            settings.AGORA_APP_ID,
            settings.AGORA_APP_CERTIFICATE,
            locked.video_channel,
            uid,
            Role_Publisher,
            int(expires_at.timestamp()),
        )
        locked.video_token = token
        locked.save(update_fields=["video_channel", "video_token", "updated_at"])
        audit_log(
            actor=user,
            action="booking.video.token_issued",
            obj=locked,
            data={"role": access.role, "uid": uid, "expires_at": expires_at.isoformat()},
        )
    appointment.video_channel = locked.video_channel
    appointment.video_token = token
    return VideoCredentials(
        app_id=settings.AGORA_APP_ID,
        channel=locked.video_channel,
        uid=uid,
        token=token,
        expires_at=expires_at,
        role=access.role,
    )


def video_call_end(*, appointment: Appointment, user, now: datetime | None = None) -> bool:
    """A participant ends the call. The doctor ending it completes the visit (True); the patient
    leaving changes nothing (False). Others get NotFound."""
    role = video_participant_role(appointment=appointment, user=user)
    if role != "doctor":
        return False
    appointment_complete(appointment=appointment, actor=user, now=now)
    return True


def _clock(moment: datetime) -> str:
    """The moment in the active time zone (the viewer's), e.g. "06/03/2025 2:50 p.m." in English."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
