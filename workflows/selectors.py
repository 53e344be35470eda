"""Reads for the notification centre and for delivery."""

from __future__ import annotations

from accounts.models import PatientProfile
from workflows.models import Notification, NotificationPreference


def unread_count(user) -> int:
    """How many of ``user``'s notifications are unread (uses the (recipient, read_at) index)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def recent_notifications(user, limit: int = 20) -> list[Notification]:
    """``user``'s latest notifications, newest first, read or not."""
    return list(Notification.objects.filter(recipient=user).order_by("-created_at", "-id")[:limit])


def user_phone(user) -> str:
    """The phone number text messages go to: the one on the person's patient profile."""
    return PatientProfile.objects.filter(user=user).values_list("phone", flat=True).first() or ""


def notification_preferences(user) -> NotificationPreference:
    """``user``'s channel choices; without a saved choice: email on, SMS on if they have a phone.

    The returned object is unsaved in that case. SMS is only ever sent to a phone number on file.
    """
    preference = NotificationPreference.objects.filter(user=user).first()
    if preference is None:
        preference = NotificationPreference(user=user, email_enabled=True, sms_enabled=bool(user_phone(user)))
    return preference


def notifications_for(user, *, unread: bool | None = None):
    """``user``'s notifications as a queryset, newest first; ``unread`` True/False keeps only those."""
    found = Notification.objects.filter(recipient=user)
    if unread is not None:
        found = found.filter(read_at__isnull=unread)
    return found.order_by("-created_at", "-id")
