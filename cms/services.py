"""Writes of the public site."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.text import slugify
from wagtail.coreutils import find_available_slug
from wagtail.log_actions import log
from wagtail.models import Locale, Page, Site

from booking.models import Doctor
from booking.selectors.scheduling import fold_text
from cms.models import DoctorDirectoryPage, DoctorProfilePage
from core.audit import audit_log

logger = logging.getLogger(__name__)


def default_site_follow_site_url(*, site_url: str | None = None) -> bool:
    """Point the default Wagtail Site at ``SITE_URL`` (host and port), so that the sitemap, canonical
    links, Open Graph and JSON-LD, which use ``Site.root_url``, name the address patients use. Requests
    for any other host still reach the default site. Runs after every ``migrate``; returns whether the
    record changed."""
    parts = urlsplit(site_url or settings.SITE_URL)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None or (site.hostname, site.port) == (parts.hostname, port):
        return False
    if Site.objects.filter(hostname=parts.hostname, port=port).exclude(pk=site.pk).exists():
        logger.warning("SITE_URL %s is another Wagtail site's address; the default site keeps its own", site_url)
        return False
    Site.objects.filter(pk=site.pk).update(hostname=parts.hostname, port=port)
    Site.clear_site_root_paths_cache()
    logger.info("The public site's address follows SITE_URL: %s:%s", parts.hostname, port)
    return True


def _profile_slug(directory: Page, doctor: Doctor) -> str:
    name = doctor.user.get_full_name() or f"doctor-{doctor.pk}"
    base = slugify(fold_text(f"{doctor.title} {name}")) or f"doctor-{doctor.pk}"
    return find_available_slug(directory, base[:200])


def doctor_profile_pages_sync(*, doctor_ids: Iterable[int] | None = None) -> list[DoctorProfilePage]:
    """Give every active doctor (onboarded, with an active account) who has no profile page in any
    language, draft or live, a draft ``DoctorProfilePage`` under the default language's doctor
    directory, for editors to complete and publish. ``doctor_ids`` limits it to those doctors.

    Idempotent: a second run creates nothing. Returns the pages it created; none when there is no
    directory yet (logged). Concurrent runs queue on the directory's row, so a doctor gets one page.
    """
    with transaction.atomic():
        directory = DoctorDirectoryPage.objects.filter(locale=Locale.get_default()).order_by("path").first()
        if directory is None:
            logger.warning("No doctor directory page in the default language: no draft profile pages created.")
            return []
        # Lock the parent: treebeard numbers children from it, and the check below must see every
        # page another run created before us.
        directory = DoctorDirectoryPage.objects.select_for_update().get(pk=directory.pk)
        doctors = (
            Doctor.objects.filter(is_active=True, user__is_active=True)
            .exclude(Exists(DoctorProfilePage.objects.filter(doctor_id=OuterRef("pk"))))
            .select_related("user")
            .order_by("pk")
        )
        if doctor_ids is not None:
            doctors = doctors.filter(pk__in=list(doctor_ids))
        created = []
        for doctor in doctors:
            page = DoctorProfilePage(
                title=str(doctor), slug=_profile_slug(directory, doctor), doctor=doctor, live=False
            )
            directory.add_child(instance=page)
            page.save_revision(log_action=False)
            log(instance=page, action="wagtail.create")
            audit_log(
                actor=None,
                action="cms.doctor_profile_page.draft_created",
                obj=page,
                data={"doctor_id": doctor.pk},
            )
            created.append(page)
    if created:
        logger.info("Created %d draft doctor profile page(s).", len(created))
    return created
