"""Invoices and credit notes: numbered, immutable documents for money received and given back.

A number is taken from the year's counter row (locked) in the same transaction that writes the
invoice, so numbers are gapless and never reused: a rollback undoes both. What the document says is
frozen in ``data`` when it is issued (``booking.services.invoices``); the PDF is drawn from it, so a
download next year shows exactly what was issued today.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceCounter(models.Model):
    """The last number issued in ``year``; locked (select_for_update) by whoever issues the next one."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """One issued invoice (money received) or credit note (money given back). Never changed after
    it is written; ``data`` holds the document's content as issued."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    issued_at = models.DateTimeField(_("issued at"))
    #: who the document is for (the patient, or the doctor for a subscription); only they download it
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("recipient")
    )
    language = models.CharField(_("language"), max_length=8)
    currency = models.CharField(_("currency"), max_length=3)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    payment = models.ForeignKey(
        "booking.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("payment"),
    )
    refund = models.OneToOneField(
        "booking.Refund",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_note",
        verbose_name=_("refund"),
    )
    #: the invoice a credit note corrects
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        verbose_name=_("corrects invoice"),
    )
    #: what an invoice not about a visit's payment is for, e.g. ``clinic.subscriptionevent:12`` (unique:
    #: issuing twice for the same thing returns the first)
    source = models.CharField(_("source"), max_length=100, null=True, blank=True, unique=True)
    data = models.JSONField(_("content as issued"), default=dict)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_unique_year_sequence"),
            # one invoice per payment (its credit notes point at their refund instead)
            models.UniqueConstraint(fields=["payment"], condition=Q(kind="invoice"), name="invoice_one_per_payment"),
            models.CheckConstraint(
                condition=Q(kind="invoice", refund__isnull=True) | Q(kind="credit_note"),
                name="invoice_refund_only_on_credit_notes",
            ),
        ]
        indexes = [models.Index(fields=["recipient", "issued_at"], name="invoice_recipient_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"
