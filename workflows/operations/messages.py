"""Template context for clinic operations' outbox messages (rendered by ``workflows.messages``, which
finds these functions through its registry of kinds)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.urls import NoReverseMatch, reverse

from workflows.operations.models import VisitRating


def rating_path(rating: VisitRating) -> str:
    try:
        return reverse("portal:appointment_rate", kwargs={"public_id": rating.appointment.public_id})
    except NoReverseMatch:  # the portal is not installed
        return f"/portal/appointments/{rating.appointment.public_id}/rate/"


def rating_invitation_context(message, recipient) -> dict | None:
    """``rating.invited``: the patient is asked to rate a completed visit. None when the row is gone."""
    from workflows.messages import format_span

    rating = VisitRating.objects.select_related("appointment__doctor__user").filter(pk=message.object_id).first()
    if rating is None:
        return None
    visit = rating.appointment
    zone = ZoneInfo(recipient.effective_time_zone)
    return {
        "doctor_name": str(visit.doctor),
        "when": format_span(visit.starts_at, visit.ends_at, zone) if visit.starts_at else "",
        "link": rating_path(rating),
    }


def waitlist_offer_context(message, recipient) -> dict | None:
    """``waitlist.offered``: a freed slot is held for the patient until the offer runs out."""
    from workflows.messages import format_moment, format_span
    from workflows.operations.models import SlotOffer

    offer = SlotOffer.objects.select_related("slot__doctor__user").filter(pk=message.object_id).first()
    if offer is None:
        return None
    zone = ZoneInfo(recipient.effective_time_zone)
    try:
        link = reverse("portal:waitlist")
    except NoReverseMatch:
        link = "/portal/waitlist/"
    return {
        "doctor_name": str(offer.slot.doctor),
        "when": format_span(offer.slot.start, offer.slot.end, zone),
        "until": format_moment(offer.expires_at, zone),
        "link": link,
    }
