"""Reads for the public site. Doctors, specialties and free slots come from ``booking.selectors``;
what is added here is which profile page presents each doctor. Every selector runs a fixed number
of queries, however many doctors, pages or slots there are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import get_language, get_language_info, pgettext
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.fields import StreamField
from wagtail.images import get_image_model
from wagtail.models import Locale

from booking.models import AppointmentMode, BookingDefaults, Doctor, Facility, FacilityPhoto, Slot, Specialty
from booking.rules import bookable_doctors_q, doctor_refusal
from booking.selectors import doctor_search, first_free_slots, free_slots
from booking.slotting import resolve_local
from cms.models import (
    ArticlePage,
    DoctorDirectoryPage,
    DoctorProfilePage,
    FacilityPage,
    HomePage,
    SpecialtyPage,
)
from cms.request_memo import remembered, view_restrictions
from core.money import money_text
from core.prepared import PreparedQuery
from workflows.operations.selectors import RatingSummary, published_comments, rating_summaries, rating_summary

#: "available this week" and the profile page's slot list look this far ahead
WEEK = dt.timedelta(days=7)
#: at most this many free slots are listed on a profile page
PROFILE_SLOT_LIMIT = 60
THUMBNAIL = "fill-480x270"


#: quick slots on a directory card
CARD_SLOTS = 4
#: the size of a card's photo (a Wagtail rendition of the profile page's image)
CARD_PHOTO = "fill-160x160"
#: a doctor without a photo gets their initials on one of these backgrounds (by id, so it stays put)
PLACEHOLDER_TONES = 6


@dataclass
class Place:
    """Where a doctor's quick slots happen: by video, or at a facility."""

    mode: str
    facility: object | None = None

    @property
    def is_video(self) -> bool:
        return self.mode == AppointmentMode.VIDEO


@dataclass
class DirectoryEntry:
    """What one result card shows: the doctor, their profile page in the visitor's language, their
    rating, and their first free slots (``slots``, already filtered like the search)."""

    doctor: Doctor
    profile: DoctorProfilePage | None = None
    available_this_week: bool = False
    #: patients' ratings (count; average from three)
    rating: RatingSummary | None = None
    slots: list[Slot] = field(default_factory=list)

    @property
    def next_free(self) -> dt.datetime | None:
        if self.slots:
            return self.slots[0].start
        return getattr(self.doctor, "next_free_start", None)

    @property
    def photo(self):
        """The profile page's image (an editor uploads it), else None (the record's photo or initials)."""
        return self.profile.image if self.profile is not None and self.profile.image_id else None

    @property
    def initials(self) -> str:
        return doctor_initials(self.doctor)

    @property
    def tone(self) -> int:
        return self.doctor.pk % PLACEHOLDER_TONES

    @property
    def languages(self) -> list[str]:
        return language_names(self.doctor.language_list)

    @property
    def fee(self) -> str:
        fee = self.doctor.consultation_fee
        return money_text(fee, self.doctor.currency) if fee else ""

    @property
    def places(self) -> list[Place]:
        """Video and/or the facilities of the quick slots, in the order they first come."""
        seen: dict[tuple, Place] = {}
        for slot in self.slots:
            availability = slot.availability
            mode = availability.mode if availability is not None else AppointmentMode.IN_PERSON
            facility = availability.facility if availability is not None and mode != AppointmentMode.VIDEO else None
            seen.setdefault((mode, getattr(facility, "pk", None)), Place(mode=mode, facility=facility))
        return list(seen.values())

    @property
    def shows_rating(self) -> bool:
        return self.rating is not None and self.rating.shows_average


def doctor_initials(doctor: Doctor) -> str:
    """ "Lý Giang" → "LG"; at most two letters, from the names on the doctor's account."""
    names = [doctor.user.last_name, doctor.user.first_name] if doctor.user_id else []
    letters = [name.strip()[0] for name in names if name and name.strip()]
    return "".join(letters[:2]).upper() or "?"


@dataclass
class DirectoryResult:
    """One page of the directory. ``total`` and ``num_pages`` are unknown (None) with the
    "available this week" filter: see ``doctor_directory``."""

    entries: list[DirectoryEntry]
    page: int
    per_page: int
    has_next: bool
    total: int | None = None
    num_pages: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def active_specialties() -> list[Specialty]:
    return list(Specialty.objects.filter(is_active=True).order_by("name"))


def active_facilities() -> list[Facility]:
    return list(Facility.objects.filter(is_active=True).order_by("city", "name"))


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The visitor's ``day`` (the active time zone) as a UTC-aware ``[start, end)``."""
    zone = timezone.get_current_timezone()
    return resolve_local(day, dt.time(0), zone), resolve_local(day + dt.timedelta(days=1), dt.time(0), zone)


def directory_entries(
    doctors: list[Doctor],
    *,
    now: dt.datetime,
    defaults: BookingDefaults | None = None,
    place: dict | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[DirectoryEntry]:
    """Cards for ``doctors``: profile pages (with photos), ratings and the first ``CARD_SLOTS`` free
    slots matching the same place and date filters. A fixed number of queries for any number of doctors."""
    ids = [doctor.pk for doctor in doctors]
    profiles = profile_pages_for(ids, with_photos=True)
    ratings = rating_summaries(ids)
    slots = first_free_slots(
        doctor_ids=ids, per_doctor=CARD_SLOTS, now=now, defaults=defaults, start=start, end=end, **(place or {})
    )
    week_end = now + WEEK
    entries = []
    for doctor in doctors:
        entry = DirectoryEntry(
            doctor=doctor,
            profile=profiles.get(doctor.pk),
            rating=ratings.get(doctor.pk),
            slots=slots.get(doctor.pk, []),
        )
        entry.available_this_week = entry.next_free is not None and entry.next_free < week_end
        entries.append(entry)
    return entries


def doctor_directory(
    *,
    q: str = "",
    specialty: str | None = None,
    available_this_week: bool = False,
    mode: str = "",
    facility: str | None = None,
    city: str = "",
    district: str = "",
    date: dt.date | None = None,
    page: int = 1,
    per_page: int = 12,
    now: dt.datetime | None = None,
) -> DirectoryResult:
    """Bookable doctors matching ``q`` and ``specialty`` with a free slot matching the place filters
    (``mode``, ``facility``, ``city``, ``district``) and, given a ``date``, on that day of the visitor's; soonest
    available first (``doctor_search``), each as a card (``directory_entries``).

    ``doctor_search`` orders doctors by their next free slot, so "available this week" keeps a prefix
    of its results: this page's doctors are filtered, and there is a next page exactly when the first
    doctor after this page is free within the week (one more ``doctor_search`` of one row). The
    number of matching doctors is not known then, and not shown.
    """
    now = now or timezone.now()
    defaults = BookingDefaults.load()
    place = {"mode": mode, "facility": facility, "city": city, "district": district}
    start, end = day_bounds(date) if date is not None else (None, None)
    search = {"q": q, "specialty": specialty, "now": now, "defaults": defaults, "start": start, "end": end, **place}
    found = doctor_search(page=page, per_page=per_page, **search)
    week_end = now + WEEK
    doctors = found.doctors
    if available_this_week:
        doctors = [doctor for doctor in doctors if doctor.next_free_start < week_end]
        has_next = False
        if len(doctors) == per_page and found.has_next:
            following = doctor_search(page=page * per_page + 1, per_page=1, **search).doctors
            has_next = bool(following) and following[0].next_free_start < week_end
        total = num_pages = None
    else:
        has_next, total, num_pages = found.has_next, found.total, found.num_pages
    entries = directory_entries(doctors, now=now, defaults=defaults, place=place, start=start, end=end)
    return DirectoryResult(
        entries=entries, page=page, per_page=per_page, has_next=has_next, total=total, num_pages=num_pages
    )


def _content_languages(locale: Locale | None) -> tuple[str, str]:
    """The wanted content language (``locale``'s, or the active one's) and the default one."""
    wanted = locale.language_code if locale is not None else get_supported_content_language_variant(get_language())
    return wanted, get_supported_content_language_variant(settings.LANGUAGE_CODE)


def _prefer_language(pages, *, key: str, language: str) -> dict:
    """``pages`` (with their locale) by ``key``, the page in ``language`` winning over the default one."""
    chosen: dict = {}
    for page in pages:
        current = chosen.get(getattr(page, key))
        if current is None or (current.locale.language_code != language and page.locale.language_code == language):
            chosen[getattr(page, key)] = page
    return chosen


def profile_pages_for(
    doctor_ids: Iterable[int], *, locale: Locale | None = None, with_photos: bool = False
) -> dict[int, DoctorProfilePage]:
    """The live, public profile page of each doctor in ``locale`` (default: the active language), or
    in the default language where it has not been translated (two queries: pages, view restrictions,
    the restrictions remembered for the rest of a read request (``cms.request_memo``); ``with_photos``:
    two more for the images and their card-size renditions, when a page has one).

    The pages' statement is compiled once per process for each number of doctors and languages and
    each set of restricted sections (``core.prepared``): building and compiling the page queryset
    was most of this read's time (issue 19)."""
    doctor_ids = list(dict.fromkeys(doctor_ids))
    if not doctor_ids:
        return {}
    wanted, default = _content_languages(locale)
    languages = sorted({wanted, default})
    restricted = tuple(
        (restriction.page.path, restriction.page.depth)
        for restriction in remembered(("view_restrictions",), view_restrictions)
    )
    prepared = _profile_pages_statement(len(doctor_ids), len(languages), restricted)
    values = {f"doctor{number}": pk for number, pk in enumerate(doctor_ids)}
    values.update({f"language{number}": code for number, code in enumerate(languages)})
    page_width = len(_PROFILE_FIELDS)
    pages = []
    for row in prepared.rows(**values):
        page = DoctorProfilePage.from_db(prepared.using, _PROFILE_FIELDS, row[:page_width])
        page._state.fields_cache["locale"] = Locale.from_db(prepared.using, _LOCALE_FIELDS, row[page_width:])
        pages.append(page)
    if with_photos and any(page.image_id for page in pages):
        prefetch_related_objects(
            pages, Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(CARD_PHOTO))
        )
    return _prefer_language(pages, key="doctor_id", language=wanted)


#: a profile page's columns for the cards: every field but the stream fields (deferred, as
#: ``defer_streamfields`` leaves them), and its locale's
_PROFILE_FIELDS = tuple(
    field.attname for field in DoctorProfilePage._meta.concrete_fields if not isinstance(field, StreamField)
)
_LOCALE_FIELDS = tuple(field.attname for field in Locale._meta.concrete_fields)
_profile_pages_statements: dict[tuple, PreparedQuery] = {}


def _profile_pages_statement(doctors: int, languages: int, restricted: tuple) -> PreparedQuery:
    key = (doctors, languages, restricted)
    prepared = _profile_pages_statements.get(key)
    if prepared is None:
        doctor_names = tuple(f"doctor{number}" for number in range(doctors))
        language_names = tuple(f"language{number}" for number in range(languages))

        def build(**values):
            private = Q()
            for path, depth in restricted:  # as PageQuerySet.public() excludes them
                private |= Q(path__startswith=path, depth__gte=depth)
            return (
                DoctorProfilePage.objects.live()
                .exclude(private if private else Q(pk__in=[]))
                .filter(
                    doctor_id__in=[values[name] for name in doctor_names],
                    locale__language_code__in=[values[name] for name in language_names],
                )
                .order_by("path")
                .values_list(*_PROFILE_FIELDS, *(f"locale__{name}" for name in _LOCALE_FIELDS))
            )

        prepared = _profile_pages_statements[key] = PreparedQuery(build, ints=doctor_names, strs=language_names)
    return prepared


def specialty_pages_for(specialty_ids: Iterable[int], *, locale: Locale | None = None) -> dict[int, SpecialtyPage]:
    """The live, public page of each specialty in ``locale`` (default: the active language), or in
    the default language where it has not been translated (two queries: pages, view restrictions)."""
    specialty_ids = list(specialty_ids)
    if not specialty_ids:
        return {}
    wanted, default = _content_languages(locale)
    pages = (
        SpecialtyPage.objects.live()
        .public()
        .filter(specialty_id__in=specialty_ids, locale__language_code__in={wanted, default})
        .select_related("locale")
        .defer_streamfields()
        .order_by("path")
    )
    return _prefer_language(pages, key="specialty_id", language=wanted)


def profile_doctor(*, doctor_id: int) -> Doctor:
    """The doctor a profile page presents, with user and active specialties (two queries)."""
    return (
        Doctor.objects.select_related("user")
        .prefetch_related(Prefetch("specialties", queryset=Specialty.objects.filter(is_active=True).order_by("name")))
        .get(pk=doctor_id)
    )


def doctor_is_bookable(doctor: Doctor) -> bool:
    """booking.rules decides (onboarded, active account, subscription in good standing)."""
    return doctor_refusal(doctor) is None


@dataclass
class SlotDay:
    """One tab of a profile's "next available" block: a day, its first few free slots, and how many
    more that day has (booked from the portal's calendar)."""

    date: dt.date
    slots: list[Slot] = field(default_factory=list)
    more: int = 0


#: the profile's "next available" block: this many days with free times, this many times each
PROFILE_DAYS = 5
PROFILE_DAY_SLOTS = 6
#: ...looked for this far ahead (at most PROFILE_SLOT_LIMIT slots read, in one query)
PROFILE_HORIZON = dt.timedelta(days=30)
PROFILE_SLOT_LIMIT = 120


def profile_slot_days(*, doctor: Doctor, now: dt.datetime | None = None) -> list[SlotDay]:
    """``doctor``'s next ``PROFILE_DAYS`` days with free slots (within ``PROFILE_HORIZON``), by the
    visitor's local date (the active time zone), each with its first ``PROFILE_DAY_SLOTS`` slots and
    the number of further ones. One query."""
    now = now or timezone.now()
    slots = free_slots(doctor=doctor, start=now, end=now + PROFILE_HORIZON, now=now)[:PROFILE_SLOT_LIMIT]
    by_day: dict[dt.date, SlotDay] = {}
    for slot in slots:
        day = timezone.localtime(slot.start).date()
        if day not in by_day:
            if len(by_day) == PROFILE_DAYS:
                break
            by_day[day] = SlotDay(date=day)
        entry = by_day[day]
        if len(entry.slots) < PROFILE_DAY_SLOTS:
            entry.slots.append(slot)
        else:
            entry.more += 1
    return list(by_day.values())


def specialty_doctors(*, specialty_id: int) -> list[Doctor]:
    """The bookable doctors of a specialty, by name, with their active specialties (two queries)."""
    return list(
        Doctor.objects.filter(bookable_doctors_q(), specialties__id=specialty_id)
        .select_related("user")
        .prefetch_related(Prefetch("specialties", queryset=Specialty.objects.filter(is_active=True).order_by("name")))
        .order_by("user__last_name", "user__first_name", "pk")
    )


def language_names(codes: Iterable[str]) -> list[str]:
    """Language codes as names in the active language ("vi" → "Vietnamese" / "Tiếng Việt").

    The language switcher names each site language in itself ("English" stays "English" in the
    Vietnamese catalogue), so a language a doctor speaks is looked up in its own context first, and
    Django's translated name serves the languages that context does not list."""
    names = []
    for code in codes:
        try:
            info = get_language_info(code)
        except KeyError:
            names.append(code)
            continue
        spoken = pgettext("a language a doctor speaks", info["name"])
        names.append(spoken if spoken != info["name"] else str(info["name_translated"]))
    return names


def _with_thumbnails(queryset):
    return queryset.prefetch_related(
        Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(THUMBNAIL))
    )


def directory_page(*, home: HomePage | None) -> DoctorDirectoryPage | None:
    """The live doctor directory of ``home``'s language tree, or else of any tree (its address serves
    it in the visitor's language all the same); None when no directory is published."""
    pages = DoctorDirectoryPage.objects.live().public().order_by("path")
    if home is not None:
        own = pages.descendant_of(home).first()
        if own is not None:
            return own
    return pages.first()


def home_sections(*, home: HomePage) -> dict:
    """What the home page shows besides its own content: the directory (for the search box), the
    specialties and the latest three articles, all from ``home``'s own language tree."""
    directory = directory_page(home=home)
    specialties = list(
        SpecialtyPage.objects.descendant_of(home).live().public().defer_streamfields().order_by("title")[:12]
    )
    articles = list(
        _with_thumbnails(
            ArticlePage.objects.descendant_of(home).live().public().defer_streamfields().order_by("-date", "-pk")
        )[:3]
    )
    return {"directory": directory, "specialty_pages": specialties, "latest_articles": articles}


def article_list(*, index):
    """Live articles under ``index``, newest first, with their thumbnails prefetched."""
    return _with_thumbnails(
        ArticlePage.objects.child_of(index).live().public().defer_streamfields().order_by("-date", "-pk")
    )


def menu_pages(*, home: HomePage) -> list:
    """The pages under ``home`` marked "show in menus", in tree order (one query)."""
    return list(home.get_children().live().public().in_menu().order_by("path"))


def search_pages(*, root, query: str):
    """Live, public pages of ``root``'s language tree matching ``query`` (Wagtail's search backend)."""
    return root.get_descendants(inclusive=True).live().public().search(query)


# --- patients' ratings (workflows.operations) -------------------------------------------------------


def profile_rating(doctor: Doctor) -> RatingSummary:
    """The doctor's rating count and (from three ratings) average, from completed visits only."""
    return rating_summary(doctor.pk)


def profile_comments(doctor: Doctor, *, limit: int = 6) -> list:
    """The newest comments staff approved, without names."""
    return published_comments(doctor.pk, limit=limit)


# --- facilities ----------------------------------------------------------------------------------


def facility_pages(*, index) -> list[FacilityPage]:
    """The live facility pages under ``index`` with their facilities (and their photos, in order), by city
    then name."""
    return list(
        FacilityPage.objects.child_of(index)
        .live()
        .select_related("facility")
        .prefetch_related(Prefetch("facility__photos", queryset=FacilityPhoto.objects.order_by("position", "pk")))
        .filter(facility__is_active=True)
        .order_by("facility__city", "facility__name")
    )


def facility_photos(*, facility: Facility) -> list[FacilityPhoto]:
    """The photos of ``facility``, first ``position`` first."""
    return list(facility.photos.order_by("position", "pk"))


def facility_doctors(*, facility, limit: int = 24, now: dt.datetime | None = None) -> list[DirectoryEntry]:
    """Cards of the doctors with a free time at ``facility``, soonest first (their quick slots there)."""
    now = now or timezone.now()
    defaults = BookingDefaults.load()
    doctors = doctor_search(facility=facility.pk, per_page=limit, now=now, defaults=defaults).doctors
    return directory_entries(doctors, now=now, defaults=defaults, place={"facility": facility.pk})


def specialty_entries(*, specialty_id: int, now: dt.datetime | None = None) -> list[DirectoryEntry]:
    """Cards of a specialty's bookable doctors, by name."""
    now = now or timezone.now()
    return directory_entries(specialty_doctors(specialty_id=specialty_id), now=now)
