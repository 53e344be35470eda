"""Conversations between a patient and the other side of their care.

A conversation has exactly two sides: the patient, and either the appointment's doctor (kind
"appointment", one conversation per appointment) or the clinic team (kind "support", one per
patient; any staff member or admin answers for the clinic). Read state is kept per side in
``ConversationRead``: for the clinic side, one colleague reading is the clinic reading.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField, max_token_length

MESSAGE_MAX_LENGTH = 2000


class ConversationKind(models.TextChoices):
    APPOINTMENT = "appointment", _("About an appointment")
    SUPPORT = "support", _("Clinic support")


class Side(models.TextChoices):
    PATIENT = "patient", _("Patient")
    DOCTOR = "doctor", _("Doctor")
    CLINIC = "clinic", _("Clinic")


class Conversation(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ConversationKind.choices)
    appointment = models.ForeignKey(
        "booking.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("appointment"),
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversations", verbose_name=_("patient")
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = [F("last_message_at").desc(nulls_last=True), "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"], condition=Q(kind="appointment"), name="conversation_one_per_appointment"
            ),
            models.UniqueConstraint(
                fields=["patient"], condition=Q(kind="support"), name="conversation_one_support_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(kind="appointment", appointment__isnull=False)
                | Q(kind="support", appointment__isnull=True),
                name="conversation_kind_matches_appointment",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "last_message_at"], name="conversation_patient_idx"),
            models.Index(fields=["kind", "last_message_at"], name="conversation_kind_idx"),
        ]

    def __str__(self) -> str:
        if self.kind == ConversationKind.SUPPORT:
            return str(_("Clinic support · %(patient)s") % {"patient": self.patient})
        return str(
            _("Appointment #%(number)s · %(patient)s") % {"number": self.appointment_id, "patient": self.patient}
        )

    @property
    def care_side(self) -> str:
        """The side that is not the patient: the doctor, or the clinic team."""
        return Side.DOCTOR if self.kind == ConversationKind.APPOINTMENT else Side.CLINIC


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sender")
    )
    sender_side = models.CharField(_("from"), max_length=8, choices=Side.choices)
    # encrypted at rest (core.crypto); the length limit is the service's, on the text
    body = EncryptedTextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                # the column holds a token: at most the token of MESSAGE_MAX_LENGTH four-byte characters
                condition=Q(
                    GreaterThan(Length("body"), 0),
                    LessThanOrEqual(Length("body"), max_token_length(4 * MESSAGE_MAX_LENGTH)),
                ),
                name="message_body_encrypted_length",
            ),
        ]
        indexes = [
            # the thread and the polling endpoint: WHERE conversation_id = ? AND id > ? ORDER BY id
            models.Index(fields=["conversation", "id"], name="message_thread_idx"),
            models.Index(fields=["created_at"], name="message_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.conversation_id}"


class ConversationRead(models.Model):
    """How far one side of a conversation has read, and how far it has been emailed about.

    Message ids only grow, so "unread" is "from the other side, id above ``last_read_message_id``".
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="reads", verbose_name=_("conversation")
    )
    side = models.CharField(max_length=8, choices=Side.choices, verbose_name=_("side"))
    last_read_message_id = models.PositiveBigIntegerField(default=0, verbose_name=_("last read message id"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("read by"),
    )
    emailed_up_to_message_id = models.PositiveBigIntegerField(default=0, verbose_name=_("emailed up to message id"))

    class Meta:
        verbose_name = _("read state")
        verbose_name_plural = _("read states")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "side"], name="conversationread_one_per_side"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}:{self.side} read to {self.last_read_message_id}"


class SMSStatus(models.TextChoices):
    SENDING = "sending", _("Handed to the provider")
    QUEUED = "queued", _("Queued at the provider")
    SENT = "sent", _("Sent to the carrier")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Not delivered")
    FAILED = "failed", _("Failed")


#: a status only moves forward: a late "sent" callback never overwrites "delivered"
SMS_STATUS_RANK = {
    SMSStatus.SENDING: 0,
    SMSStatus.QUEUED: 1,
    SMSStatus.SENT: 2,
    SMSStatus.DELIVERED: 3,
    SMSStatus.UNDELIVERED: 3,
    SMSStatus.FAILED: 3,
}


class SMSMessage(models.Model):
    """One text message handed to the SMS provider, and what the provider later reported about it.

    Written just before the provider is called (its id goes into the status callback URL, so a
    report that arrives before the provider's answer is saved still finds it); the provider's
    message id and status are added from its answer and from its signed status callbacks. The text
    itself is not kept (the in-app notification has it); its encoding and parts count are.
    """

    outbox = models.ForeignKey(
        "core.OutboxMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sms_messages",
        verbose_name=_("outgoing message"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recipient"),
    )
    to = models.CharField(_("to"), max_length=32)
    provider = models.CharField(_("provider"), max_length=32)
    provider_message_id = models.CharField(_("provider message id"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=SMSStatus.choices, default=SMSStatus.SENDING)
    provider_status = models.CharField(_("provider status"), max_length=32, blank=True)
    error_code = models.CharField(_("error code"), max_length=32, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    encoding = models.CharField(_("encoding"), max_length=8)
    segments = models.PositiveSmallIntegerField(_("parts"), default=1)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    status_at = models.DateTimeField(_("status updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="smsmessage_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"SMS #{self.pk} → {self.to}"


class SMSOptOut(models.Model):
    """A phone number that gets no text messages: its owner replied STOP, or the clinic switched it off.

    The number is kept in E.164 form (``workflows.sms.normalize_phone``); a START reply or an
    admin removes the row.
    """

    class Source(models.TextChoices):
        REPLY = "reply", _("Replied STOP")
        ADMIN = "admin", _("Clinic admin")

    phone = models.CharField(_("phone"), max_length=32, unique=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ADMIN)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("opted out at"), default=timezone.now)

    class Meta:
        verbose_name = _("SMS opt-out")
        verbose_name_plural = _("SMS opt-outs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.phone
