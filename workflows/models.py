"""What people are told: in-app notifications (one per delivered outbox row) and channel preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """The in-app copy of a delivered outbox message, shown in the portal's notification centre.

    It also records which other channels already carried the message (``email_sent_at``,
    ``sms_sent_at``): a delivery retried after a failure on one channel does not repeat the others.
    ``*_started_at`` is committed just before the provider is called: a start without a matching
    ``*_sent_at`` after the worker died means the provider may or may not have taken the message
    (see ``workflows.tasks`` for what each channel does then).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True, max_length=1000)
    link = models.CharField(_("link"), max_length=500, blank=True, help_text=_("A path on this site."))
    #: ``{"en": {"title": ..., "body": ...}, "vi": {...}}``: the message rendered in every site language
    #: when it was delivered, so that the portal shows it in the reader's language of the day. Rendering
    #: again at display time would describe the appointment as it is now, not as it was then. Empty
    #: for rows from before: ``title`` and ``body`` (the recipient's language then) are shown.
    texts = models.JSONField(_("texts by language"), default=dict, blank=True)
    outbox = models.OneToOneField(
        "core.OutboxMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification",
        verbose_name=_("outgoing message"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    email_started_at = models.DateTimeField(_("email handed to the mail server"), null=True, blank=True)
    email_sent_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    sms_started_at = models.DateTimeField(_("text message handed to the provider"), null=True, blank=True)
    sms_sent_at = models.DateTimeField(_("text message sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.title

    def text_in(self, language: str | None = None) -> tuple[str, str]:
        """(title, body) in ``language`` (default: the active one), else as first delivered."""
        language = (language or get_language() or "").split("-")[0]
        shown = (self.texts or {}).get(language) or {}
        return shown.get("title") or self.title, shown.get("body") or self.body

    @property
    def shown_title(self) -> str:
        return self.text_in()[0]

    @property
    def shown_body(self) -> str:
        return self.text_in()[1]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """Which extra channels a person wants; in-app notifications are always on.

    No row means the defaults: email on, SMS on when the person has a phone number
    (``workflows.selectors.notification_preferences``).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    email_enabled = models.BooleanField(_("email"), default=True)
    sms_enabled = models.BooleanField(_("text messages (SMS)"), default=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)
