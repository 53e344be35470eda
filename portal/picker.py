"""The one time picker of the portal (booking, reschedule, follow-up): a week strip of day tabs with
"next available", the chosen day's free times, and the change rules of the chosen time in words.

Views build a ``Picker`` here and render ``portal/includes/slot_picker.html``; the small script
``medbook/picker.js`` switches day tabs without a reload (the tabs are plain links without it).
Days are the viewer's local days (the active time zone), as are the times shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from booking.models import BookingDefaults, Doctor, Slot
from booking.rules import ChangeTerms, change_terms
from booking.selectors import free_slots
from booking.services import SlotTaken
from core.dates import short_when_text

WEEK = dt.timedelta(days=7)
#: weekday names short enough for seven tabs on a 390px phone ("T2" … "CN" in Vietnamese)
SHORT_WEEKDAYS = (
    pgettext_lazy("weekday in a day tab", "Mon"),
    pgettext_lazy("weekday in a day tab", "Tue"),
    pgettext_lazy("weekday in a day tab", "Wed"),
    pgettext_lazy("weekday in a day tab", "Thu"),
    pgettext_lazy("weekday in a day tab", "Fri"),
    pgettext_lazy("weekday in a day tab", "Sat"),
    pgettext_lazy("weekday in a day tab", "Sun"),
)


def when_text(moment: dt.datetime) -> str:
    """A moment as people read it, in the viewer's zone and language, in the portal's one short style:
    "Mon 7 Dec, 10:00" / "Thứ Hai, 7 thg 12, 10:00" (core.dates)."""
    return short_when_text(moment)


@dataclass
class PickerDay:
    date: dt.date
    slots: list[Slot]
    past: bool = False
    active: bool = False

    @property
    def weekday(self) -> str:
        return str(SHORT_WEEKDAYS[self.date.weekday()])


@dataclass
class Picker:
    days: list[PickerDay]
    selected: Slot | None
    next_free: Slot | None
    prev_week: dt.date | None
    next_week: dt.date | None
    zone_name: str
    selected_day: dt.date | None = None

    @property
    def next_free_text(self) -> str:
        return when_text(self.next_free.start) if self.next_free else ""

    @property
    def has_slots(self) -> bool:
        return any(day.slots for day in self.days)


def offered_alternatives(taken: SlotTaken, *, doctor: Doctor) -> list[tuple[Slot, str]]:
    """The nearest free times the booking service offers with a lost race, as (slot, "Mon 7 Dec,
    10:00") for ``portal/includes/race_lost.html``; one query."""
    ids = [alt["id"] for alt in taken.details.get("alternatives", [])]
    found = Slot.objects.select_related("availability__facility").filter(pk__in=ids, doctor=doctor).order_by("start")
    return [(slot, when_text(slot.start)) for slot in found]


def parse_day(value: str | None) -> dt.date | None:
    """A ``?day=YYYY-MM-DD`` parameter, or None when missing or not a date."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def slot_is_free(slot: Slot, *, now: dt.datetime, defaults: BookingDefaults | None = None) -> bool:
    """Whether ``slot`` can still be booked now (the ``free_slots`` rules; one query)."""
    window = free_slots(
        doctor=slot.doctor, start=slot.start, end=slot.start + dt.timedelta(seconds=1), now=now, defaults=defaults
    )
    return window.filter(pk=slot.pk).exists()


def _local_midnight(day: dt.date, zone) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), zone)


def build_picker(
    *,
    doctor: Doctor,
    now: dt.datetime,
    selected: Slot | None = None,
    focus: dt.date | None = None,
    defaults: BookingDefaults | None = None,
) -> Picker:
    """The week around ``selected`` (else the local day ``focus``, else the doctor's next free time),
    starting on Monday; two queries (the week's free slots and the next free one)."""
    defaults = defaults or BookingDefaults.load()
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    next_free = free_slots(
        doctor=doctor, start=now, end=now + dt.timedelta(days=366), now=now, defaults=defaults
    ).first()
    if selected is not None:
        focus = timezone.localtime(selected.start, zone).date()
    elif focus is None:
        focus = timezone.localtime(next_free.start, zone).date() if next_free else today
    week_start = focus - dt.timedelta(days=focus.weekday())
    start = _local_midnight(week_start, zone)
    slots = list(free_slots(doctor=doctor, start=start, end=start + WEEK, now=now, defaults=defaults))
    by_day: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(timezone.localtime(slot.start, zone).date(), []).append(slot)
    days = [
        PickerDay(date=week_start + dt.timedelta(days=i), slots=by_day.get(week_start + dt.timedelta(days=i), []))
        for i in range(7)
    ]
    for day in days:
        day.past = day.date < today
    # the open tab: the chosen time's day, else the asked-for day when it has times, else the first with times
    active = next(
        (day for day in days if day.date == focus and (day.slots or selected is not None)),
        next((day for day in days if day.slots), None),
    ) or next((day for day in days if day.date == focus), days[0])
    active.active = True
    horizon = now + doctor.policy(defaults).max_advance
    following = week_start + WEEK
    return Picker(
        days=days,
        selected=selected,
        next_free=next_free,
        prev_week=week_start - WEEK if week_start > today else None,
        next_week=following if _local_midnight(following, zone) <= horizon else None,
        zone_name=str(zone),
        selected_day=active.date,
    )


@dataclass(frozen=True)
class PolicyText:
    """The change rules of one time, in words, for ``portal/includes/change_policy.html``."""

    terms: ChangeTerms
    deadline_text: str
    late: bool


def policy_text(*, starts_at: dt.datetime, now: dt.datetime, doctor: Doctor, defaults=None) -> PolicyText:
    terms = change_terms(starts_at=starts_at, now=now, policy=doctor.policy(defaults))
    return PolicyText(terms=terms, deadline_text=when_text(terms.deadline), late=terms.late)
