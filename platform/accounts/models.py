from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedTextField


class Role(models.TextChoices):
    ADMIN = "admin", _("Clinic admin")
    STAFF = "staff", _("Staff")
    DOCTOR = "doctor", _("Doctor")
    PATIENT = "patient", _("Patient")
    # Content editors work only in Wagtail (/cms/): no Django admin access, no clinical data.
    EDITOR = "editor", _("Content editor")


class Relationship(models.TextChoices):
    """What a dependant is to the account holder who manages them."""

    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    SPOUSE = "spouse", _("Spouse or partner")
    SIBLING = "sibling", _("Brother or sister")
    GRANDPARENT = "grandparent", _("Grandparent")
    OTHER = "other", _("Other family member")


#: roles that work in the Django admin (``is_staff``)
ADMIN_ROLES = frozenset({Role.ADMIN, Role.STAFF, Role.DOCTOR})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("role", Role.PATIENT)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["role"] = Role.ADMIN
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


def _time_zone_choices():
    # each place once, named as people say it ("Vietnam time (GMT+7)"); no old aliases (Asia/Saigon)
    from core.dates import zone_choices

    return zone_choices()


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: email, no username, one role.

    ``is_staff`` and ``is_superuser`` follow the role (see ``save``); group membership follows it too
    (``accounts.roles``), so the admin shows each role exactly what it may touch.
    """

    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PATIENT, db_index=True)
    is_staff = models.BooleanField(_("admin access"), default=False, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, choices=_time_zone_choices)
    # families: a dependant (a child, an elderly parent) is a patient account without a login of its
    # own, managed by its guardian (the account holder), who books for it and gets its messages
    guardian = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependants",
        verbose_name=_("account holder"),
        help_text=_("Set for a family member without a login of their own: the holder books and is notified."),
    )
    relationship = models.CharField(
        _("relationship to the account holder"), max_length=16, choices=Relationship.choices, blank=True
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(guardian__isnull=True) | ~Q(guardian=F("pk")), name="user_not_own_guardian"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_role = instance.__dict__.get("role")
        return instance

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        self.is_staff = self.role in ADMIN_ROLES
        self.is_superuser = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        role_changed = self._state.adding or getattr(self, "_saved_role", None) != self.role
        super().save(*args, **kwargs)
        if role_changed:
            # Group membership is part of what the role means (accounts.roles), so it changes with it.
            from accounts.roles import sync_user_groups

            sync_user_groups(self)
            self._saved_role = self.role

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_dependant(self) -> bool:
        """A family member managed by an account holder, with no login of their own."""
        return self.guardian_id is not None

    @property
    def notification_recipient(self) -> User:
        """Who hears about this person's visits: the account holder for a dependant, else themselves."""
        return self.guardian if self.guardian_id is not None else self

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    @property
    def effective_time_zone(self) -> str:
        from core.dates import canonical_zone

        return canonical_zone(self.time_zone or settings.CLINIC_TIME_ZONE)


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class PatientProfile(models.Model):
    """Contact and identity data of a patient; the medical record hangs off it."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient_profile", verbose_name=_("user"))
    # E.164 ("+84901234567") when it is a valid number; verified by an SMS code, it signs the patient in
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    phone_verified = models.BooleanField(
        _("phone verified"),
        default=False,
        help_text=_("Confirmed by a code sent by SMS: the patient may sign in with it."),
    )
    national_id = models.CharField(
        _("national ID (NIC/CCCD)"), max_length=32, blank=True, help_text=_("Citizen identity card number.")
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    # demographics (seed 002)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    address = EncryptedTextField(_("address"), blank=True)
    health_insurance_number = models.CharField(
        _("health insurance number (BHYT)"),
        max_length=15,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Z]{2}\d{13}$", _("A BHYT number is 2 letters and 13 digits, e.g. DN4797915123456."))
        ],
    )
    emergency_contact_name = models.CharField(_("emergency contact"), max_length=150, blank=True)
    emergency_contact_phone = models.CharField(_("emergency contact phone"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("patient profile")
        verbose_name_plural = _("patient profiles")
        indexes = [models.Index(fields=["phone"]), models.Index(fields=["national_id"])]
        constraints = [
            # a verified number signs one account in: it belongs to one patient only
            models.UniqueConstraint(
                fields=["phone"], condition=models.Q(phone_verified=True), name="accounts_verified_phone_unique"
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)


class MedicalRecord(models.Model):
    """Clinical data: readable by the patient, admins and the patient's own doctors, never by staff."""

    patient = models.OneToOneField(
        PatientProfile, on_delete=models.CASCADE, related_name="medical_record", verbose_name=_("patient")
    )
    # encrypted at rest (core.crypto): the database and its backups hold no readable clinical text
    allergies = EncryptedTextField(_("allergies"), blank=True)
    chronic_conditions = EncryptedTextField(_("chronic conditions"), blank=True)
    medications = EncryptedTextField(_("current medications"), blank=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("medical record")
        verbose_name_plural = _("medical records")
        permissions = [("view_any_medical_record", _("Can view any patient's medical record"))]

    def __str__(self) -> str:
        return str(_("Medical record of %(patient)s") % {"patient": self.patient})

    @cached_property
    def is_empty(self) -> bool:
        return not (self.allergies or self.chronic_conditions or self.medications)
