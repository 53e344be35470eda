from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditLog(models.Model):
    """Who did what to which object, written in the same transaction as the change.

    ``data`` holds ids and codes, never clinical text. Viewing a medical record writes an entry too.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class WorkerHeartbeat(models.Model):
    """Last time the background worker ran its heartbeat task (read by /healthz).

    ``started_at`` is when the newest ``qcluster`` started; a heartbeat older than that was written by
    a previous run and does not prove that the current one works.
    """

    name = models.CharField(max_length=64, primary_key=True, verbose_name=_("name"))
    seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("seen at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))

    class Meta:
        verbose_name = _("worker heartbeat")


class OutboxMessage(models.Model):
    """Something a person must be told, written in the same transaction as the change that caused it.

    ``workflows`` delivers it after commit (in-app, email, SMS) and marks it sent. ``dedupe_key`` is
    unique: one message per (what, which object, whom), so a retried task or a replayed event can
    never send it twice.

    A delivery first claims the row (``sending``, ``claimed_by``, ``claimed_until``) in its own
    committed transaction, then calls the providers outside any transaction; a claim whose worker
    died is taken over once its process is gone or the lease has run out (``workflows.tasks``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=64, db_index=True)
    #: an account (every channel it wants), or for people without one (a doctor applicant) ``to_email``
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )
    to_email = models.EmailField(_("to (email only)"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    object_type = models.CharField(max_length=100, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    context = models.JSONField(default=dict, blank=True, verbose_name=_("context"))
    dedupe_key = models.CharField(max_length=255, unique=True, verbose_name=_("dedupe key"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    #: "host:pid" of the worker delivering it now, and until when its claim holds without news
    claimed_by = models.CharField(max_length=100, blank=True, verbose_name=_("claimed by"))
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))
    #: a pending message is (re-)enqueued by the sweep from this time on (backoff after a failure)
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    #: the email channel's progress for a message without an account (accounts keep it on their
    #: in-app Notification): committed around the SMTP call, as there
    email_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("email started at"))
    email_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("email sent at"))

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="outbox_pending_idx"),
            models.Index(fields=["object_type", "object_id"], name="outbox_object_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(to_email=""), name="outbox_has_a_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id or self.to_email}"
