"""Clinic operations under /api/v1: a doctor's public ratings (``config.api_v1`` mounts the router).

The doctor directory (``GET /doctors``, booking's) carries each doctor's count and average too: this app
registers ``directory_ratings`` with booking's API at start-up (``OperationsConfig.ready``)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Field, Router

from booking.models import Doctor
from booking.rules import bookable_doctors_q
from core.apitypes import ERRORS, OutSchema
from core.errors import NotFound
from workflows.operations.selectors import (
    MIN_RATINGS_FOR_AVERAGE,
    RatingSummary,
    published_comments,
    rating_summaries,
    rating_summary,
)

router = Router(tags=["ratings"], by_alias=True)


class CommentOut(OutSchema):
    score: int = Field(..., ge=1, le=5)
    comment: str
    rated_at: dt.datetime


class DoctorRatingOut(OutSchema):
    doctor_id: int
    count: int = Field(..., description="ratings of completed visits")
    average: str | None = Field(None, description="mean score with one decimal; null below minRatings")
    min_ratings: int = Field(..., description="how many ratings a doctor needs before an average is shown")
    comments: list[CommentOut] = Field(..., description="the newest comments the clinic approved, without names")


def _summary_out(summary: RatingSummary) -> dict:
    return {"count": summary.count, "average": str(summary.average) if summary.average is not None else None}


def directory_ratings(doctor_ids: list[int]) -> dict[int, dict]:
    """For booking's ``GET /doctors``: each doctor's rating count and average (one query)."""
    return {pk: _summary_out(summary) for pk, summary in rating_summaries(doctor_ids).items()}


@router.get(
    "/doctor/{int:doctor_id}/ratings",
    auth=None,
    response={200: DoctorRatingOut, **ERRORS},
    by_alias=True,
    summary="A doctor's rating from completed visits and the comments the clinic approved",
)
def doctor_ratings(request, doctor_id: int):
    if not Doctor.objects.filter(bookable_doctors_q(), pk=doctor_id).exists():
        raise NotFound(_("No such doctor."))
    return {
        "doctor_id": doctor_id,
        **_summary_out(rating_summary(doctor_id)),
        "min_ratings": MIN_RATINGS_FOR_AVERAGE,
        "comments": [
            {"score": r.score, "comment": r.comment, "rated_at": r.rated_at} for r in published_comments(doctor_id)
        ],
    }
