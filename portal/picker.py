"""The one time picker of the portal (booking, reschedule, follow-up): a week strip of day tabs with
"next available", the chosen day's free times, and the change rules of the chosen time in words.

Views build a ``Picker`` here and templates write it with ``{% slot_picker picker %}`` (``picker_html``
below, through ``portal/templatetags/picker_tags.py``); the small script
``medbook/picker.js`` switches day tabs without a reload (the tabs are plain links without it).
Days are the viewer's local days (the active time zone), as are the times shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy

from booking.models import BookingDefaults, Doctor, Slot
from booking.rules import ChangeTerms, change_terms
from booking.selectors import free_slot_rows, free_slots, next_free_slot_row
from booking.selectors.scheduling import FREE_SLOT_COLUMNS
from booking.services import SlotTaken
from core.dates import day_month_text, day_text, short_day_text, short_when_text, zone_label

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


_PK, _START, _MODE, _PLACE = (
    FREE_SLOT_COLUMNS.index(name) for name in ("pk", "start", "availability__mode", "availability__facility__name")
)


@dataclass(frozen=True, slots=True)
class PickerSlot:
    """What the picker shows of a free slot (from ``free_slot_rows``: no model instances)."""

    pk: int
    start: dt.datetime
    mode: str
    place: str | None  # the facility's name

    @classmethod
    def from_row(cls, row: tuple) -> PickerSlot:
        return cls(pk=row[_PK], start=row[_START], mode=row[_MODE], place=row[_PLACE])


@dataclass
class PickerDay:
    date: dt.date
    slots: list[PickerSlot]
    past: bool = False
    active: bool = False

    @property
    def weekday(self) -> str:
        return str(SHORT_WEEKDAYS[self.date.weekday()])


@dataclass
class Picker:
    days: list[PickerDay]
    selected: Slot | None
    next_free: PickerSlot | None
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
    starting on Monday; two queries (the week's free slots and the next free one), both compiled once
    per process and read as rows (``PickerSlot``), not model instances."""
    defaults = defaults or BookingDefaults.load()
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    first = next_free_slot_row(doctor=doctor, start=now, end=now + dt.timedelta(days=366), now=now, defaults=defaults)
    next_free = PickerSlot.from_row(first) if first is not None else None
    if selected is not None:
        focus = timezone.localtime(selected.start, zone).date()
    elif focus is None:
        focus = timezone.localtime(next_free.start, zone).date() if next_free else today
    week_start = focus - dt.timedelta(days=focus.weekday())
    start = _local_midnight(week_start, zone)
    rows = free_slot_rows(doctor=doctor, start=start, end=start + WEEK, now=now, defaults=defaults)
    by_day: dict[dt.date, list[PickerSlot]] = {}
    for row in rows:
        slot = PickerSlot.from_row(row)
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


def picker_html(picker: Picker, *, title=None, form_id: str = "", choose_name: str = "") -> SafeString:
    """The picker's markup, written here rather than by a template: a week holds up to a few hundred
    time buttons, and the template's per-button tags and filters were most of the booking page's
    time (issue 19). The markup is the one ``portal/includes/slot_picker.html`` wrote, byte for byte:
    values escaped as the template engine escapes them (``conditional_escape``), phrases from the
    same msgids (a ``{% translate "…" %}`` literal is not escaped by Django either). ``title``
    defaults to "Pick a time"; with ``form_id`` a time button submits that form (POST, keeping what
    was typed) as ``choose_name`` (default ``choose_slot``), otherwise it opens ``?slot=<id>``."""
    zone = timezone.get_current_timezone()
    out = [
        '<section class="card picker" data-picker aria-labelledby="picker-title">\n  <div class="picker-head">\n'
        f'    <h2 id="picker-title">{esc(title) if title else gettext("Pick a time")}</h2>\n    '
    ]
    next_free = picker.next_free
    if next_free:
        next_day = timezone.localtime(next_free.start, zone).date().isoformat()
        out.append(
            f'<a class="button button-small button-secondary picker-next" href="?day={next_day}" '
            f'data-day="{next_day}">{gettext("Next available")}: {esc(picker.next_free_text)}</a>'
        )
    out.append("\n  </div>\n  ")
    if not next_free:
        out.append(f"\n  <p>{gettext('No free times at the moment.')}</p>\n  \n</section>\n")
        return mark_safe("".join(out))
    out.append('\n  <div class="picker-week">\n    ')
    if picker.prev_week:
        out.append(
            f'<a class="picker-arrow" href="?day={picker.prev_week.isoformat()}" '
            f'aria-label="{gettext("Previous week")}">&larr;</a>'
        )
    else:
        out.append('<span class="picker-arrow" aria-hidden="true"></span>')
    first, last = picker.days[0].date, picker.days[6].date
    out.append(
        f'\n    <span class="picker-range">{esc(day_month_text(first))} – {esc(day_month_text(last))} '
        f"{last.year:04d}</span>\n    "
    )
    if picker.next_week:
        out.append(
            f'<a class="picker-arrow" href="?day={picker.next_week.isoformat()}" '
            f'aria-label="{gettext("Next week")}">&rarr;</a>'
        )
    else:
        out.append('<span class="picker-arrow" aria-hidden="true"></span>')
    out.append(f'\n  </div>\n  <div class="picker-days" role="tablist" aria-label="{gettext("Days")}">\n    ')
    for day in picker.days:
        iso = day.date.isoformat()
        count = len(day.slots)
        tab = "" if day.active else ' tabindex="-1"'
        free = ngettext("%(counter)s free time", "%(counter)s free times", count) % {"counter": localize(count)}
        out.append(
            f'<a role="tab" class="picker-day{"" if day.slots else " is-empty"}" id="picker-tab-{iso}" '
            f'href="?day={iso}" data-day="{iso}" aria-controls="picker-day-{iso}" '
            f'aria-selected="{"true" if day.active else "false"}"{tab} '
            f'aria-label="{esc(short_day_text(day.date))}: {free}">\n'
            f'      <span class="picker-weekday">{esc(day.weekday)}</span>\n'
            f'      <span class="picker-date">{day.date.day}</span>\n'
            f'      <span class="picker-count">{localize(count) if day.slots else "·"}</span>\n    </a>'
        )
    out.append('\n  </div>\n  <form method="get" class="picker-form">\n    ')
    selected_pk = picker.selected.pk if picker.selected is not None else None
    if form_id:
        target = f' form="{esc(form_id)}" formmethod="post" formnovalidate name="{esc(choose_name or "choose_slot")}"'
    else:
        target = ' name="slot"'
    video = gettext("Video")
    for day in picker.days:
        iso = day.date.isoformat()
        out.append(
            f'\n    <div role="tabpanel" class="picker-panel" id="picker-day-{iso}" data-panel="{iso}" '
            f'aria-labelledby="picker-tab-{iso}"{"" if day.active else " hidden"}>\n'
            f'      <h3 class="picker-day-title">{esc(day_text(day.date))}</h3>\n      '
        )
        if day.slots:
            out.append('\n      <ul class="slot-list picker-slots">\n        ')
            for slot in day.slots:
                chosen = slot.pk == selected_pk
                local = timezone.localtime(slot.start, zone)
                where = esc(slot.place) if slot.mode == "in_person" else video
                out.append(
                    f'<li><button type="submit" class="picker-slot{" selected" if chosen else ""}" '
                    f'value="{slot.pk}" aria-pressed="{"true" if chosen else "false"}"{target}>'
                    f'{local.hour:02d}:{local.minute:02d}<span class="slot-mode">{where}</span></button></li>'
                )
            out.append("\n      </ul>\n      ")
        else:
            out.append(
                f'\n      <p class="picker-none">{gettext("No free times on this day.")} '
                f'<a href="?day={next_day}" data-day="{next_day}">{gettext("Go to the next available time")}</a>'
                "</p>\n      "
            )
        out.append("\n    </div>\n    ")
    times_in = gettext("Times in %(zone)s.") % {"zone": esc(zone_label(picker.zone_name or None))}
    out.append(f'\n  </form>\n  <p class="helptext">{times_in}</p>\n  \n</section>\n')
    return mark_safe("".join(out))
