"""The video visit page: the patient and the appointment's doctor meet here (others get 404).

The page only presents ``booking.video.video_access``; tokens are issued by the API
(POST /api/v1/appointments/<id>/video-token) when the person presses "Join".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Appointment
from booking.video import video_access
from core.errors import NotFound

#: the vendored Agora Web SDK (themes/static/vendor/agora/, see update.sh there)
AGORA_SDK = "vendor/agora/AgoraRTC_N-4.24.8.js"


def _strings() -> dict[str, str]:
    """Every sentence video.js may show, translated here."""
    return {
        "join": _("Join the call"),
        "joining": _("Connecting…"),
        "waiting": _("Waiting for the other person to join…"),
        "remoteLeft": _("The other person left the call."),
        "remoteCameraOff": _("The other person's camera is off."),
        "opensIn": _("The call opens in %(time)s."),
        "openNow": _("The call is open. You can join now."),
        "ended": _("This visit has ended."),
        "left": _("You left the call."),
        "completed": _("The visit is marked as completed."),
        "endConfirmDoctor": _("End the call for both of you and mark the visit as completed?"),
        "endConfirmPatient": _("Leave the call? You can rejoin while the visit is open."),
        "micOn": _("Mute microphone"),
        "micOff": _("Unmute microphone"),
        "camOn": _("Turn camera off"),
        "camOff": _("Turn camera on"),
        "fullscreen": _("Full screen"),
        "exitFullscreen": _("Exit full screen"),
        "permissionDenied": _(
            "Camera and microphone access was refused. Allow it in your browser's site settings, then reload this page."
        ),
        "noDevices": _("No camera or microphone was found. Connect one, then reload this page."),
        "noCamera": _("No camera was found: you can still join with sound only."),
        "noMicrophone": _("No microphone was found: the other person will not hear you."),
        "deviceBusy": _("Your camera or microphone is in use by another application. Close it, then reload."),
        "insecure": _("This browser only allows the camera on a secure (https) connection."),
        "mediaError": _("The camera or microphone could not be started."),
        "tokenRenewed": _("Connection renewed."),
        "tokenRenewFailed": _("The call could not be renewed; it will end when the visit's time is over."),
        "connectionLost": _("Connection lost. Reconnecting…"),
        "reconnected": _("Reconnected."),
        "joinFailed": _("Could not join the call."),
        "networkError": _("The server could not be reached. Check your connection and try again."),
        "quality0": _("Connection: unknown"),
        "quality1": _("Connection: excellent"),
        "quality2": _("Connection: good"),
        "quality3": _("Connection: fair"),
        "quality4": _("Connection: poor"),
        "quality5": _("Connection: very poor"),
        "quality6": _("Connection: down"),
    }


@login_required
def video_visit(request, public_id):
    appointment = get_object_or_404(
        Appointment.objects.select_related("doctor__user", "patient", "appointment_type"), public_id=public_id
    )
    try:
        access = video_access(appointment=appointment, user=request.user)
    except NotFound:
        raise Http404
    if access.role == "patient":
        back_url = reverse("portal:appointment_detail", args=[appointment.public_id])
    else:
        back_url = reverse("admin:booking_appointment_change", args=[appointment.pk])
    config = {
        "state": access.state,
        "role": access.role,
        "opensAt": access.opens_at.isoformat() if access.opens_at else None,
        "closesAt": access.closes_at.isoformat() if access.closes_at else None,
        "serverNow": timezone.now().isoformat(),
        "tokenUrl": f"/api/v1/appointments/{appointment.public_id}/video-token",
        "endUrl": f"/api/v1/appointments/{appointment.public_id}/video-end",
        "backUrl": back_url,
        "csrfToken": get_token(request),
        "testMode": bool(settings.VIDEO_TEST_MODE),
        "strings": _strings(),
    }
    other = appointment.patient_name if access.role == "doctor" else str(appointment.doctor)
    return render(
        request,
        "portal/video.html",
        {
            "appointment": appointment,
            "access": access,
            "other_name": other,
            "video_config": config,
            "test_mode": settings.VIDEO_TEST_MODE,
            "agora_sdk": static(AGORA_SDK),
            "back_url": back_url,
            # the doctor writes the visit note beside the call (a new tab: the note, or "start the note")
            "note_url": reverse("admin:clinical_visitnote_start", args=[appointment.pk])
            if access.role == "doctor"
            else "",
        },
    )
