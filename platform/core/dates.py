"""Dates, times and time zones as people read them: one style per language, everywhere.

English "Mon 7 Dec 2026, 10:00", Vietnamese "Thứ Hai, 7 thg 12, 2026, 10:00" (the formats live in
``config/formats/<language>/formats.py``, so the admin's own date display follows them too). Aware
datetimes are shown in the active time zone (the viewer's, or the recipient's for a message).
Templates use the same functions through ``{% load dates %}`` (``|when``, ``|day``, ``|clock``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django.utils import formats, timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _


def _local(value: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    if timezone.is_aware(value):
        return timezone.localtime(value, zone)
    return value


def when_text(value: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A moment: "Mon 7 Dec 2026, 10:00" / "Thứ Hai, 7 thg 12, 2026, 10:00"."""
    if value is None:
        return ""
    return formats.date_format(_local(value, zone), "DATETIME_FORMAT")


def day_text(value: dt.date | dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A day: "Mon 7 Dec 2026" / "Thứ Hai, 7 thg 12, 2026"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, zone)
    return formats.date_format(value, "DATE_FORMAT")


def short_day_text(value: dt.date | dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A day without the year: "Mon 7 Dec" / "Thứ Hai, 7 thg 12" (slot buttons, day tabs)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, zone)
    return formats.date_format(value, "MONTH_DAY_FORMAT")


def short_when_text(value: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A moment without the year, where the week around it is in sight (the time picker, the change
    rules at booking): "Mon 7 Dec, 10:00" / "Thứ Hai, 7 thg 12, 10:00"."""
    if value is None:
        return ""
    return f"{short_day_text(value, zone)}, {clock_text(value, zone)}"


#: a day and month alone, for ranges and compact tabs ("7 Dec" / "7 thg 12"); not a Django format
#: name (``formats.get_format`` knows only its own), so kept here per language
DAY_MONTH_FORMATS = {"vi": r"j \t\h\g n"}
DAY_MONTH_FORMAT = "j M"


def day_month_text(value: dt.date | dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """A day and month without weekday or year: "7 Dec" / "7 thg 12"."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, zone)
    language = (get_language() or "en").split("-")[0]
    return formats.date_format(value, DAY_MONTH_FORMATS.get(language, DAY_MONTH_FORMAT))


def clock_text(value: dt.datetime | dt.time | None, zone: dt.tzinfo | None = None) -> str:
    """A time of day: "10:00" (24-hour in both languages)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value, zone)
    return formats.time_format(value, "TIME_FORMAT")


def month_text(value: dt.date) -> str:
    """A calendar's heading: "December 2026" / "Tháng 12, 2026"."""
    return formats.date_format(value, "YEAR_MONTH_FORMAT")


# --- time zones -------------------------------------------------------------------------------

#: friendly names for the zones our patients live in; others are named after their city
ZONE_NAMES = {
    "Asia/Ho_Chi_Minh": gettext_lazy("Vietnam time"),
    "Europe/London": gettext_lazy("UK time"),
    "America/New_York": gettext_lazy("US Eastern time"),
    "America/Chicago": gettext_lazy("US Central time"),
    "America/Denver": gettext_lazy("US Mountain time"),
    "America/Los_Angeles": gettext_lazy("US Pacific time"),
    "UTC": gettext_lazy("Coordinated Universal Time"),
}

#: old IANA names that are links to a canonical zone: the pickers offer only the canonical one
ZONE_ALIASES = {
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Etc/UTC": "UTC",
    "Etc/GMT": "UTC",
    "Etc/Universal": "UTC",
    "Etc/Zulu": "UTC",
    "GMT": "UTC",
    "Universal": "UTC",
    "Zulu": "UTC",
    "UCT": "UTC",
    "Etc/UCT": "UTC",
    "Etc/Greenwich": "UTC",
    "Greenwich": "UTC",
    "GMT0": "UTC",
    "GMT+0": "UTC",
    "GMT-0": "UTC",
    "Etc/GMT0": "UTC",
    "Etc/GMT+0": "UTC",
    "Etc/GMT-0": "UTC",
}

#: the regions people pick from; backwards-compatibility names (US/Eastern, Japan, ...) are left out
PICKER_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


def canonical_zone(name: str) -> str:
    """The canonical IANA name for ``name`` ("Asia/Saigon" → "Asia/Ho_Chi_Minh")."""
    return ZONE_ALIASES.get(name, name)


def zone_offset(name: str, at: dt.datetime | None = None) -> str:
    """ "GMT+7", "GMT+5:30", "GMT" for the zone's offset now (or at ``at``)."""
    offset = (at or timezone.now()).astimezone(ZoneInfo(name)).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(name: str | dt.tzinfo | None, at: dt.datetime | None = None) -> str:
    """A zone as people say it: "Vietnam time (GMT+7)" / "Giờ Việt Nam (GMT+7)"."""
    if name is None:
        name = timezone.get_current_timezone_name()
    name = canonical_zone(str(getattr(name, "key", name)))
    try:
        offset = zone_offset(name, at)
    except (ValueError, KeyError):  # not a zone we know: show it as it is
        return name
    friendly = ZONE_NAMES.get(name)
    if friendly is None:
        city = name.rsplit("/", 1)[-1].replace("_", " ")
        friendly = _("%(city)s time") % {"city": city}
    return f"{friendly} ({offset})"


def picker_zones() -> list[str]:
    """Every zone a person may pick, each place once (no old aliases such as Asia/Saigon)."""
    names = {canonical_zone(name) for name in available_timezones() if name.startswith(PICKER_REGIONS)}
    names -= set(ZONE_ALIASES)
    return sorted(names | {"UTC"})


def zone_choices() -> list[tuple[str, str]]:
    """(name, "Vietnam time (GMT+7)") for every zone a person may pick, the clinic's own first."""
    from django.conf import settings

    clinic = canonical_zone(settings.CLINIC_TIME_ZONE)
    names = picker_zones()
    ordered = [clinic] + [name for name in names if name != clinic]
    return [(name, f"{zone_label(name)} · {name}") for name in ordered]
