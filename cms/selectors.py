"""Reads for the public site. Doctors, specialties and free slots come from ``booking.selectors``;
what is added here is which profile page presents each doctor. Every selector runs a fixed number
of queries, however many doctors, pages or slots there are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import get_language, get_language_info
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.images import get_image_model
from wagtail.models import Locale

from booking.models import BookingDefaults, Doctor, Slot, Specialty
from booking.rules import bookable_doctors_q, doctor_refusal
from booking.selectors.scheduling import doctor_search, free_slots
from cms.models import (
    ArticlePage,
    DoctorDirectoryPage,
    DoctorProfilePage,
    FacilityPage,
    HomePage,
    SpecialtyPage,
)
from workflows.operations.selectors import RatingSummary, published_comments, rating_summaries, rating_summary

#: "available this week" and the profile page's slot list look this far ahead
WEEK = dt.timedelta(days=7)
#: at most this many free slots are listed on a profile page
PROFILE_SLOT_LIMIT = 60
THUMBNAIL = "fill-480x270"


@dataclass
class DirectoryEntry:
    doctor: Doctor
    profile: DoctorProfilePage | None = None
    available_this_week: bool = False
    #: patients' ratings (count; average from three)
    rating: RatingSummary | None = None


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


def doctor_directory(
    *,
    q: str = "",
    specialty: str | None = None,
    available_this_week: bool = False,
    page: int = 1,
    per_page: int = 12,
    now: dt.datetime | None = None,
) -> DirectoryResult:
    """Bookable doctors matching ``q`` and ``specialty``, soonest available first (``doctor_search``),
    each with the profile page that presents it in the active language (or the default one).

    ``doctor_search`` orders doctors by their next free slot, so "available this week" keeps a prefix
    of its results: this page's doctors are filtered, and there is a next page exactly when the first
    doctor after this page is free within the week (one more ``doctor_search`` of one row). The
    number of matching doctors is not known then, and not shown.
    """
    now = now or timezone.now()
    defaults = BookingDefaults.load()
    search = {"q": q, "specialty": specialty, "now": now, "defaults": defaults}
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
    profiles = profile_pages_for([doctor.pk for doctor in doctors])
    ratings = rating_summaries([doctor.pk for doctor in doctors])
    entries = [
        DirectoryEntry(
            doctor=d,
            profile=profiles.get(d.pk),
            available_this_week=d.next_free_start < week_end,
            rating=ratings.get(d.pk),
        )
        for d in doctors
    ]
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


def profile_pages_for(doctor_ids: Iterable[int], *, locale: Locale | None = None) -> dict[int, DoctorProfilePage]:
    """The live, public profile page of each doctor in ``locale`` (default: the active language), or
    in the default language where it has not been translated (two queries: pages, view restrictions)."""
    doctor_ids = list(doctor_ids)
    if not doctor_ids:
        return {}
    wanted, default = _content_languages(locale)
    pages = (
        DoctorProfilePage.objects.live()
        .public()
        .filter(doctor_id__in=doctor_ids, locale__language_code__in={wanted, default})
        .select_related("locale")
        .defer_streamfields()
        .order_by("path")
    )
    return _prefer_language(pages, key="doctor_id", language=wanted)


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
    date: dt.date
    slots: list[Slot] = field(default_factory=list)


def profile_slot_days(*, doctor: Doctor, now: dt.datetime | None = None, days: int = 7) -> list[SlotDay]:
    """``doctor``'s free slots in the coming ``days`` (at most ``PROFILE_SLOT_LIMIT``), grouped by the
    visitor's local date (the active time zone), earliest first."""
    now = now or timezone.now()
    slots = free_slots(doctor=doctor, start=now, end=now + dt.timedelta(days=days), now=now)[:PROFILE_SLOT_LIMIT]
    by_day: dict[dt.date, SlotDay] = {}
    for slot in slots:
        day = timezone.localtime(slot.start).date()
        by_day.setdefault(day, SlotDay(date=day)).slots.append(slot)
    return list(by_day.values())


def specialty_doctors(*, specialty_id: int) -> list[Doctor]:
    """The bookable doctors of a specialty, by name (one query)."""
    return list(
        Doctor.objects.filter(bookable_doctors_q(), specialties__id=specialty_id)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )


def language_names(codes: Iterable[str]) -> list[str]:
    """Language codes as names in the active language ("vi" → "Vietnamese" / "Tiếng Việt")."""
    names = []
    for code in codes:
        try:
            names.append(str(get_language_info(code)["name_translated"]))
        except KeyError:
            names.append(code)
    return names


def _with_thumbnails(queryset):
    return queryset.prefetch_related(
        Prefetch("image", queryset=get_image_model().objects.prefetch_renditions(THUMBNAIL))
    )


def home_sections(*, home: HomePage) -> dict:
    """What the home page shows besides its own content: the directory (for the search box), the
    specialties and the latest three articles, all from ``home``'s own language tree."""
    directory = DoctorDirectoryPage.objects.descendant_of(home).live().first()
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
    """The live facility pages under ``index`` with their facilities, by city then name."""
    return list(
        FacilityPage.objects.child_of(index)
        .live()
        .select_related("facility")
        .filter(facility__is_active=True)
        .order_by("facility__city", "facility__name")
    )


def facility_doctors(*, facility, limit: int = 24) -> list[Doctor]:
    """Doctors with a free time at ``facility``, soonest first, each with their profile page in the
    active language (``profile_page``) when there is one."""
    doctors = doctor_search(facility=facility.pk, per_page=limit).doctors
    pages = {
        page.doctor_id: page
        for page in DoctorProfilePage.objects.live()
        .filter(doctor_id__in=[d.pk for d in doctors], locale=Locale.get_active())
        .only("id", "doctor_id", "url_path", "path", "depth", "locale_id")
    }
    for doctor in doctors:
        doctor.profile_page = pages.get(doctor.pk)
    return doctors
