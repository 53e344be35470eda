"""Clinic operations' periodic tasks (django-q2; scheduled in ``workflows.schedules``)."""

from __future__ import annotations

from workflows.operations.services import rating_invite_completed


def invite_ratings() -> int:
    """Invite the patients of recently completed visits to rate them (each visit once)."""
    return rating_invite_completed()


def refill_from_waitlist() -> dict[str, int]:
    """Close unanswered slot offers and offer free slots to waiting patients."""
    from workflows.operations.services import waitlist_refill

    return waitlist_refill()
