"""Cutting a doctor's local working hours into slots: pure functions, no database.

A doctor types wall-clock times ("08:00 to 11:30 on 28 March") in their own zone; slots are stored as
UTC instants. The rule, correct on days with a DST change:

1. Resolve the local start and end wall times to UTC instants (``resolve_local``). A wall time inside a
   spring-forward gap does not exist: it moves forward to the first wall time after the gap. A wall time
   that happens twice at fall-back means its first occurrence (``fold=0``).
2. Step in *absolute* time from the start instant by visit length + buffer, while ``start + length``
   still ends by the end instant.

So no slot starts in an hour that does not exist, no instant is used twice, and every slot lasts exactly
the visit length in real time. On a fall-back day a block that spans the repeated hour has one more
real hour in it, and the wall-clock labels of that hour repeat with a different UTC offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


def as_zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _wall_time_exists(naive: datetime, zone: tzinfo) -> bool:
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def resolve_local(day: date, wall: time, zone: tzinfo | str) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``zone``.

    Ambiguous wall times (fall-back) resolve to their first occurrence; wall times inside a
    spring-forward gap resolve to the moment the gap ends (the first wall time that exists after it).
    """
    zone = as_zone(zone)
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    if _wall_time_exists(naive, zone):
        return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    # In a gap, fold=1 reads the wall time with the offset in force after the transition and fold=0
    # with the offset before it; the transition instant lies between the two readings. Find it by
    # bisection to the second (transitions happen on whole seconds).
    readings = sorted(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = math.floor(readings[0].timestamp()), math.ceil(readings[1].timestamp())
    offset_after = datetime.fromtimestamp(high, UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True)
class SlotPlan:
    """The slots one block of working time makes, in UTC, plus what is left over."""

    starts_at: datetime
    ends_at: datetime
    slots: list[tuple[datetime, datetime]]
    #: minutes at the end of the block too short for one more visit (the trailing buffer excluded)
    leftover_minutes: int

    @property
    def fits(self) -> bool:
        return bool(self.slots)


def plan_instants(*, starts_at: datetime, ends_at: datetime, minutes: int, buffer_minutes: int = 0) -> SlotPlan:
    """Cut the real interval ``[starts_at, ends_at)`` into visits of ``minutes`` with ``buffer_minutes`` between."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    if buffer_minutes < 0:
        raise ValueError("buffer_minutes must not be negative")
    length = timedelta(minutes=minutes)
    step = length + timedelta(minutes=buffer_minutes)
    slots: list[tuple[datetime, datetime]] = []
    cursor = starts_at
    while cursor + length <= ends_at:
        slots.append((cursor, cursor + length))
        cursor += step
    leftover = max(timedelta(0), ends_at - cursor) if slots else max(timedelta(0), ends_at - starts_at)
    return SlotPlan(
        starts_at=starts_at,
        ends_at=ends_at,
        slots=slots,
        leftover_minutes=int(leftover.total_seconds() // 60),
    )


#: the longest shift that may run past midnight: an earlier end time than this far ahead is a typo
#: ("10:00 to 09:00"), not a 23-hour night
MAX_OVERNIGHT = timedelta(hours=12)


def ends_next_day(start: time, end: time) -> bool:
    """An end time before the start time is on the next day (an evening or night shift past
    midnight; 00:00 as the end is the midnight that ends the day), as long as the shift lasts at most
    ``MAX_OVERNIGHT``."""
    if end >= start:
        return False
    day = date(2000, 1, 1)
    return datetime.combine(day + timedelta(days=1), end) - datetime.combine(day, start) <= MAX_OVERNIGHT


def wall_duration(start: time, end: time) -> timedelta:
    """How long ``start`` to ``end`` lasts on the wall clock (an earlier end is on the next day; the
    same time at both ends is nothing, never a whole day)."""
    day = date(2000, 1, 1)
    end_day = day + timedelta(days=1) if ends_next_day(start, end) else day
    return datetime.combine(end_day, end) - datetime.combine(day, start)


def plan_day(
    *,
    day: date,
    start: time,
    end: time,
    minutes: int,
    zone: tzinfo | str,
    buffer_minutes: int = 0,
) -> SlotPlan:
    """The slots between local ``start`` on ``day`` and ``end`` in ``zone`` (see the module docstring);
    an ``end`` before ``start`` is on the next day."""
    zone = as_zone(zone)
    end_day = day + timedelta(days=1) if ends_next_day(start, end) else day
    return plan_instants(
        starts_at=resolve_local(day, start, zone),
        ends_at=resolve_local(end_day, end, zone),
        minutes=minutes,
        buffer_minutes=buffer_minutes,
    )


def local_day_bounds(day: date, zone: tzinfo | str) -> tuple[datetime, datetime]:
    """UTC instants of the start of ``day`` and of the next day in ``zone`` (a local day may be 23 or 25 hours)."""
    zone = as_zone(zone)
    return resolve_local(day, time(0), zone), resolve_local(day + timedelta(days=1), time(0), zone)
