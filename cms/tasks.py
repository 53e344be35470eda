"""django-q2 tasks of the public site. Each takes primary keys (or nothing) and is idempotent."""

from __future__ import annotations

from cms.services import doctor_profile_pages_sync


def sync_doctor_profiles() -> list[int]:
    """Create draft profile pages for active doctors who have none (``cms.services``); returns their
    page ids. Schedule it as ``cms.tasks.sync_doctor_profiles``."""
    return [page.pk for page in doctor_profile_pages_sync()]
