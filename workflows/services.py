"""Writes for the notification centre: marking notifications read, choosing channels."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from core.audit import audit_log
from workflows.models import Notification, NotificationPreference
from workflows.selectors import notification_preferences


def notification_mark_read(*, user, notification_ids: Iterable[int] | None = None, all: bool = False) -> int:
    """Mark ``user``'s notifications ``notification_ids`` (or ``all`` of them) read; returns how many
    changed. Ids of other people's notifications are ignored. Not audited: it changes nothing but
    the reader's own unread marker."""
    if not all and not notification_ids:
        return 0
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not all:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_preference_set(*, user, actor=None, email: bool | None = None, sms: bool | None = None):
    """Save ``user``'s choice of channels (None leaves a channel as it is). In-app is always on."""
    current = notification_preferences(user)
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(
        user=user, defaults={"email_enabled": current.email_enabled, "sms_enabled": current.sms_enabled}
    )
    if email is not None:
        preference.email_enabled = email
    if sms is not None:
        preference.sms_enabled = sms
    preference.save(update_fields=["email_enabled", "sms_enabled", "updated_at"])
    audit_log(
        actor=actor or user,
        action="workflows.notification_preference.changed",
        obj=preference,
        data={"email": preference.email_enabled, "sms": preference.sms_enabled},
    )
    return preference
