"""Doctors, their availability and the slots generated from it.

Times: ``Availability`` keeps what the doctor typed (a local date, start and end time in the doctor's
time zone) *and* the resolved UTC instants; ``Slot`` and ``BlockedTime`` are UTC instants only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, router, transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def _time_zone_choices():
    from core.dates import zone_choices

    return zone_choices()


def _default_time_zone() -> str:
    return settings.CLINIC_TIME_ZONE


class TranslatedName(models.Model):
    """A name kept as data in each language: ``name`` in English (the source language), ``name_vi`` in
    Vietnamese. ``label`` (and ``str()``) is the name in the active language, English when the
    Vietnamese one is empty. Queries and ordering keep using ``name``."""

    name_vi = models.CharField(_("name in Vietnamese"), max_length=120, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if (get_language() or "").startswith("vi") and self.name_vi:
            return self.name_vi
        return self.name


class Specialty(TranslatedName):
    name = models.CharField(_("name"), max_length=120, unique=True, help_text=_("In English."))
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["name"]


class BookingDefaults(models.Model):
    """The clinic's booking policy defaults (one row, edited in the admin's system settings)."""

    min_notice_hours = models.PositiveIntegerField(_("minimum notice (hours)"), default=2)
    max_advance_days = models.PositiveIntegerField(
        _("maximum advance window (days)"), default=60, validators=[MinValueValidator(1)]
    )
    buffer_minutes = models.PositiveIntegerField(
        _("buffer between visits (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    cancellation_notice_hours = models.PositiveIntegerField(_("cancellation notice (hours)"), default=24)
    hold_minutes = models.PositiveIntegerField(
        _("payment hold (minutes)"), default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    late_cancellation_refund_percent = models.PositiveSmallIntegerField(
        _("refund on late patient cancellation (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("Patients cancelling inside the notice period get this share back; on time they get all of it."),
    )
    follow_up_discount_percent = models.DecimalField(
        _("follow-up discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("booking policy defaults")
        verbose_name_plural = _("booking policy defaults")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="bookingdefaults_singleton")]

    def __str__(self) -> str:
        return str(_("Clinic booking policy"))

    #: the shared cache's key for the loaded defaults, and how long an entry lives at most (the bound on
    #: staleness where the cache is per process: local memory without Redis, several workers)
    CACHE_KEY = "booking:defaults:v1"
    CACHE_SECONDS = 60

    @classmethod
    def load(cls) -> BookingDefaults:
        """The clinic's defaults; the field defaults until an admin saves them (reading never writes,
        so a GET stays free of side effects).

        Cached (every read path asks for them): saving or deleting the row clears the entry, at once and
        again when the transaction commits. Inside a transaction the database is read and nothing is
        cached, so a value that might still be rolled back never reaches other requests.
        """
        cacheable = not connections[router.db_for_read(cls)].in_atomic_block
        if cacheable:
            cached = cache.get(cls.CACHE_KEY)
            if cached is not None:
                return cached
        defaults = cls.objects.filter(pk=1).first() or cls(pk=1)
        if cacheable:
            cache.set(cls.CACHE_KEY, defaults, cls.CACHE_SECONDS)
        return defaults

    @property
    def hold(self) -> timedelta:
        """How long a booking holds its slot for payment (the clinic's, for every doctor)."""
        return timedelta(minutes=self.hold_minutes)

    @classmethod
    def forget_cached(cls) -> None:
        cache.delete(cls.CACHE_KEY)


@receiver([post_save, post_delete], sender=BookingDefaults, dispatch_uid="booking_defaults_forget_cached")
def _forget_cached_defaults(sender, using=None, **kwargs) -> None:
    BookingDefaults.forget_cached()
    transaction.on_commit(BookingDefaults.forget_cached, using=using)


@dataclass(frozen=True)
class EffectivePolicy:
    """A doctor's booking policy with the clinic defaults filled in."""

    min_notice: timedelta
    max_advance: timedelta
    buffer: timedelta
    cancellation_notice: timedelta
    hold: timedelta
    late_cancellation_refund_percent: int


class Doctor(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="doctor",
        limit_choices_to={"role": "doctor"},
        verbose_name=_("user"),
    )
    title = models.CharField(_("title"), max_length=60, blank=True, help_text=_("e.g. Dr., MD, BS. CKI"))
    specialties = models.ManyToManyField(Specialty, related_name="doctors", verbose_name=_("specialties"))
    bio = models.TextField(_("biography"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="doctors/", blank=True)
    languages = models.CharField(
        _("languages"), max_length=120, blank=True, default="vi", help_text=_("Comma-separated codes, e.g. vi, en")
    )
    years_of_experience = models.PositiveSmallIntegerField(_("years of experience"), default=0)
    consultation_fee = models.DecimalField(
        _("consultation fee"), max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="VND")
    time_zone = models.CharField(_("time zone"), max_length=64, default=_default_time_zone, choices=_time_zone_choices)
    auto_confirm = models.BooleanField(
        _("confirm bookings automatically"), default=True, help_text=_("Paid bookings are confirmed without review.")
    )
    is_active = models.BooleanField(
        _("active (onboarded)"), default=False, db_index=True, help_text=_("Only active doctors can be booked.")
    )
    # Kept by the clinic's subscription service (workflows.clinic): False while the doctor's subscription
    # is overdue. Booking reads this column (booking.rules.bookable_doctors_q), never the back office.
    accepts_bookings = models.BooleanField(
        _("accepts bookings"),
        default=True,
        help_text=_("Off while the doctor's subscription is overdue (kept by the subscription service)."),
    )
    # Booking policy overrides; empty means the clinic default.
    min_notice_hours = models.PositiveIntegerField(_("minimum notice (hours)"), null=True, blank=True)
    max_advance_days = models.PositiveIntegerField(_("maximum advance window (days)"), null=True, blank=True)
    buffer_minutes = models.PositiveIntegerField(_("buffer between visits (minutes)"), null=True, blank=True)
    cancellation_notice_hours = models.PositiveIntegerField(_("cancellation notice (hours)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("doctor")
        verbose_name_plural = _("doctors")
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.email
        return f"{self.title} {name}".strip()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def language_list(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]

    def policy(self, defaults: BookingDefaults | None = None) -> EffectivePolicy:
        defaults = defaults or BookingDefaults.load()

        def pick(own, default):
            return default if own is None else own

        return EffectivePolicy(
            min_notice=timedelta(hours=pick(self.min_notice_hours, defaults.min_notice_hours)),
            max_advance=timedelta(days=pick(self.max_advance_days, defaults.max_advance_days)),
            buffer=timedelta(minutes=pick(self.buffer_minutes, defaults.buffer_minutes)),
            cancellation_notice=timedelta(
                hours=pick(self.cancellation_notice_hours, defaults.cancellation_notice_hours)
            ),
            hold=defaults.hold,
            late_cancellation_refund_percent=defaults.late_cancellation_refund_percent,
        )


class AppointmentMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    VIDEO = "video", _("Video")


class AppointmentType(TranslatedName):
    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial visit")
        FOLLOW_UP = "follow_up", _("Follow-up visit")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120, help_text=_("In English."))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INITIAL)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Empty: the doctor's consultation fee."),
    )
    mode = models.CharField(_("mode"), max_length=16, choices=AppointmentMode.choices, default=AppointmentMode.VIDEO)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["name"]


class Facility(models.Model):
    """A place where the clinic sees patients in person (a building with an address)."""

    name = models.CharField(_("name"), max_length=160)
    slug = models.SlugField(_("slug"), max_length=160, unique=True)
    address = models.CharField(_("street address"), max_length=255)
    district = models.CharField(_("district"), max_length=120, blank=True)
    city = models.CharField(_("city"), max_length=120)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    opening_hours = models.TextField(
        _("opening hours"), blank=True, help_text=_("One line per day or range, e.g. Mon–Fri 07:30–17:00")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        ordering = ["city", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (Q(latitude__gte=-90) & Q(latitude__lte=90) & Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="facility_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def full_address(self) -> str:
        """The address on one line: street, district, city (empty parts left out)."""
        return ", ".join(part for part in (self.address, self.district, self.city) if part)

    def location_line(self, room: Room | None = None) -> str:
        """The place on one line for messages and calendars: "Name (room), street, district, city"."""
        name = f"{self.name} ({room.name})" if room is not None else self.name
        return ", ".join(part for part in (name, self.full_address) if part)

    @property
    def map_url(self) -> str:
        """An OpenStreetMap link with a marker on the facility, or empty without coordinates."""
        if self.latitude is None or self.longitude is None:
            return ""
        return f"https://www.openstreetmap.org/?mlat={self.latitude}&mlon={self.longitude}#map=17/{self.latitude}/{self.longitude}"


#: a facility photo may weigh this much (the public page serves the file as uploaded)
FACILITY_PHOTO_MAX_BYTES = 5 * 1024 * 1024


def validate_facility_photo_size(image) -> None:
    if image and image.size > FACILITY_PHOTO_MAX_BYTES:
        raise ValidationError(
            _("A photo may be at most %(size)s MB; this one is larger."),
            params={"size": FACILITY_PHOTO_MAX_BYTES // (1024 * 1024)},
            code="photo_too_large",
        )


class FacilityPhoto(models.Model):
    """One photo of a facility, shown on its public page (first ``position`` first) and listed in its
    ``MedicalClinic`` data. Alt text and caption are kept in each language, like ``TranslatedName``:
    English, and Vietnamese (English when empty)."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="photos", verbose_name=_("facility"))
    image = models.ImageField(_("photo"), upload_to="facilities/", validators=[validate_facility_photo_size])
    alt_text = models.CharField(
        _("alt text"),
        max_length=200,
        help_text=_("What the photo shows, for people who cannot see it. In English."),
    )
    alt_text_vi = models.CharField(_("alt text in Vietnamese"), max_length=200, blank=True)
    caption = models.CharField(_("caption"), max_length=200, blank=True, help_text=_("In English."))
    caption_vi = models.CharField(_("caption in Vietnamese"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("facility photo")
        verbose_name_plural = _("facility photos")
        ordering = ["facility", "position", "pk"]
        indexes = [models.Index(fields=["facility", "position"], name="facility_photo_order_idx")]

    def __str__(self) -> str:
        return self.alt

    @staticmethod
    def _in_language(english: str, vietnamese: str) -> str:
        return vietnamese if vietnamese and (get_language() or "").startswith("vi") else english

    @property
    def alt(self) -> str:
        """The alt text in the active language."""
        return self._in_language(self.alt_text, self.alt_text_vi)

    @property
    def caption_text(self) -> str:
        """The caption in the active language."""
        return self._in_language(self.caption, self.caption_vi)


class Room(models.Model):
    """A consulting room of a facility: it holds one visit at a time (enforced on availability)."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="rooms", verbose_name=_("facility"))
    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["facility__name", "name"]
        constraints = [models.UniqueConstraint(fields=["facility", "name"], name="room_unique_facility_name")]

    def __str__(self) -> str:
        return f"{self.facility.name} · {self.name}"


class Availability(models.Model):
    """A block of a doctor's time on one local date, cut into slots of ``slot_minutes``."""

    doctor = models.ForeignKey(
        Doctor, on_delete=models.CASCADE, related_name="availabilities", verbose_name=_("doctor")
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    slot_minutes = models.PositiveIntegerField(
        _("visit length (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    # where the visits happen: at a facility (optionally in one of its rooms), or by video
    mode = models.CharField(_("mode"), max_length=16, choices=AppointmentMode.choices, default=AppointmentMode.VIDEO)
    facility = models.ForeignKey(
        Facility,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="availabilities",
        verbose_name=_("facility"),
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="availabilities", verbose_name=_("room")
    )
    # resolved in the doctor's zone at creation (DST-aware); used for overlap checks
    starts_at = models.DateTimeField(editable=False, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(editable=False, verbose_name=_("ends at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("availability")
        verbose_name_plural = _("availability")
        ordering = ["date", "start_time"]
        constraints = [
            # an end before the start is on the next day (a shift past midnight); never the same time
            models.CheckConstraint(condition=~Q(start_time=F("end_time")), name="availability_start_before_end"),
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="availability_instants_ordered"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=480), name="availability_slot_length_range"
            ),
            # in person happens at a facility; a video visit has no place. That the room belongs to the
            # facility is checked by the service (a check constraint cannot look at another table).
            models.CheckConstraint(
                condition=(Q(mode="in_person") & Q(facility__isnull=False))
                | (Q(mode="video") & Q(facility__isnull=True) & Q(room__isnull=True)),
                name="availability_mode_place",
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "starts_at"], name="availability_doctor_start_idx"),
            models.Index(fields=["room", "starts_at"], condition=Q(room__isnull=False), name="availability_room_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.date:%Y-%m-%d} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class SlotStatus(models.TextChoices):
    FREE = "free", _("Free")
    HELD = "held", _("Held")
    BOOKED = "booked", _("Booked")
    BLOCKED = "blocked", _("Blocked")


class Slot(models.Model):
    """One bookable visit time. Claimed with one conditional UPDATE (``booking.services``).

    ``held`` with ``hold_expires_at`` in the past counts as free everywhere.
    """

    # no index of its own: the unique (doctor, start) index leads with it and serves every lookup by
    # doctor (one index less to write for each slot made, booked or freed)
    doctor = models.ForeignKey(
        Doctor, on_delete=models.CASCADE, related_name="slots", verbose_name=_("doctor"), db_index=False
    )
    availability = models.ForeignKey(
        Availability, on_delete=models.CASCADE, related_name="slots", verbose_name=_("availability")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=8, choices=SlotStatus.choices, default=SlotStatus.FREE)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["doctor", "start"], name="slot_unique_doctor_start"),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="slot_start_before_end"),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(hold_expires_at__isnull=False), name="slot_hold_has_expiry"
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "status", "start"], name="slot_doctor_status_start_idx"),
            models.Index(fields=["start"], condition=Q(status="free"), name="slot_free_start_idx"),
            # the dashboard's utilisation reads every doctor's slots of a period: it holds every column
            # that read needs, so it never visits the table (SQLite and an index-only scan on PostgreSQL)
            models.Index(fields=["start", "doctor", "status", "end"], name="slot_start_cover_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {timezone.localtime(self.start, self.doctor.zone):%Y-%m-%d %H:%M}"

    # A slot's mode and place are its availability's (select_related("availability__facility",
    # "availability__room") when reading many).
    @property
    def mode(self) -> str:
        return self.availability.mode

    @property
    def facility(self) -> Facility | None:
        return self.availability.facility

    @property
    def room(self) -> Room | None:
        return self.availability.room

    def is_free_at(self, now) -> bool:
        return self.status == SlotStatus.FREE or (
            self.status == SlotStatus.HELD and self.hold_expires_at is not None and self.hold_expires_at <= now
        )


class BlockedTime(models.Model):
    """Time a doctor cannot see patients (leave, meetings): free slots inside it are blocked."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="blocked_times", verbose_name=_("doctor"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("blocked time")
        verbose_name_plural = _("blocked time")
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="blockedtime_ordered")]
        indexes = [models.Index(fields=["doctor", "starts_at"], name="blockedtime_doctor_start_idx")]

    def __str__(self) -> str:
        return f"{self.doctor}: {self.reason or _('blocked')}"


class AvailabilityRule(models.Model):
    """A doctor's standing weekly hours (seed 004's ``doctor_availability``): every ``weekday`` from
    ``start_time`` to ``end_time`` (the doctor's local time), visits of ``slot_minutes``, by video or at
    a facility. A worker task publishes them as ``Availability`` a rolling number of weeks ahead
    (``booking.services.availability_rules_extend``); ``generated_through`` is the last local date
    already published, so a run only adds the dates after it and a date the doctor cleared by hand is
    not made again."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    doctor = models.ForeignKey(
        Doctor, on_delete=models.CASCADE, related_name="availability_rules", verbose_name=_("doctor")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    slot_minutes = models.PositiveIntegerField(
        _("visit length (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    mode = models.CharField(_("mode"), max_length=16, choices=AppointmentMode.choices, default=AppointmentMode.VIDEO)
    facility = models.ForeignKey(
        Facility,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="availability_rules",
        verbose_name=_("facility"),
    )
    room = models.ForeignKey(
        Room,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="availability_rules",
        verbose_name=_("room"),
    )
    weeks_ahead = models.PositiveSmallIntegerField(
        _("weeks ahead"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("How far ahead the slots are published. Empty: the clinic default."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    generated_through = models.DateField(_("published through"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("weekly availability rule")
        verbose_name_plural = _("weekly availability rules")
        ordering = ["doctor", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=~Q(start_time=F("end_time")), name="availabilityrule_start_not_end"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=480), name="availabilityrule_slot_length"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availabilityrule_weekday_range"),
            models.CheckConstraint(
                condition=(Q(mode="in_person") & Q(facility__isnull=False))
                | (Q(mode="video") & Q(facility__isnull=True) & Q(room__isnull=True)),
                name="availabilityrule_mode_place",
            ),
            models.UniqueConstraint(
                fields=["doctor", "weekday", "start_time"], name="availabilityrule_unique_doctor_day_start"
            ),
        ]
        indexes = [
            models.Index(fields=["generated_through"], condition=Q(is_active=True), name="availabilityrule_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.doctor} {self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"
