"""Clinic operations' periodic tasks (django-q2; scheduled in ``workflows.schedules``)."""

from __future__ import annotations

from workflows.operations.services import rating_invite_completed


def invite_ratings() -> int:
    """Invite the patients of recently completed visits to rate them (each visit once)."""
    return rating_invite_completed()
