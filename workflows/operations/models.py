"""Clinic operations: private calendar feeds of a person's visits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CalendarFeed(models.Model):
    """A private iCalendar subscription of one person's visits (as doctor and as patient).

    The URL is ``/calendar/<key>/<token>.ics``: ``key`` is random and finds the row; ``token`` is an
    HMAC of the key under the site's secret (``workflows.operations.selectors.feed_token``), compared
    in constant time. The database alone therefore cannot rebuild a working link, yet the owner can be
    shown their link again. A new link revokes the old one (``revoked_at``); revoked rows are kept
    for the audit trail and answer 404.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds", verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=64, unique=True, editable=False)
    with_names = models.BooleanField(
        _("show names"),
        default=False,
        help_text=_("Show the other person's name in each event (off: only “Medbook visit”)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_fetched_at = models.DateTimeField(_("last fetched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendarfeed_one_active_per_user"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Calendar feed of %(user)s") % {"user": self.user})

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
