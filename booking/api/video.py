"""Video visit endpoints under /api/v1: issue or renew an Agora token, end the call.

Only the appointment's patient and doctor get an answer other than 404; the rules live in
``booking.video``.
"""

from __future__ import annotations

from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Router

from booking.models import Appointment
from booking.video import video_call_end, video_token_issue
from core.apitypes import ERRORS, ErrorOut, OutSchema
from core.errors import NotFound

router = Router(tags=["video"], by_alias=True)


class VideoTokenOut(OutSchema):
    app_id: str
    channel: str
    uid: int
    token: str
    expires_at: str
    role: str


class VideoEndOut(OutSchema):
    completed: bool
    status: str


def _appointment(public_id: UUID) -> Appointment:
    # the same answer as for someone else's appointment: nobody learns which ids exist
    appointment = Appointment.objects.select_related("doctor__user", "patient").filter(public_id=public_id).first()
    if appointment is None:
        raise NotFound(_("Appointment not found."))
    return appointment


@router.post(
    "/appointments/{uuid:public_id}/video-token",
    summary="Issue (or renew) an Agora RTC token for the call",
    description=(
        "For the appointment's patient or doctor, inside the join window (from VIDEO_JOIN_BEFORE_MINUTES "
        "before the start until the end plus VIDEO_GRACE_MINUTES). Calling it again renews the token. "
        "409 video_not_open_yet / video_ended / video_not_available (details: opensAt, closesAt); "
        "503 video_not_configured."
    ),
    response={200: VideoTokenOut, 503: ErrorOut, **ERRORS},
)
def video_token(request, public_id: UUID):
    credentials = video_token_issue(appointment=_appointment(public_id), user=request.auth)
    return credentials.as_dict()


@router.post(
    "/appointments/{uuid:public_id}/video-end",
    summary="Leave the call; the doctor ending it completes the visit",
    response={200: VideoEndOut, **ERRORS},
)
def video_end(request, public_id: UUID):
    appointment = _appointment(public_id)
    completed = video_call_end(appointment=appointment, user=request.auth)
    status = Appointment.objects.values_list("status", flat=True).get(pk=appointment.pk)
    return {"completed": completed, "status": status}
