"""One date style per language, never ambiguous; time zones by a friendly name, each place once."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import timezone, translation

from core.dates import (
    day_month_text,
    day_text,
    picker_zones,
    short_when_text,
    when_text,
    zone_choices,
    zone_label,
)

MOMENT = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hồ Chí Minh City


def test_a_moment_reads_the_same_way_everywhere_in_each_language():
    with timezone.override(ZoneInfo("Asia/Ho_Chi_Minh")):
        with translation.override("en"):
            assert when_text(MOMENT) == "Mon 7 Dec 2026, 10:00"
            assert day_text(MOMENT.date()) == "Mon 7 Dec 2026"
        with translation.override("vi"):
            assert when_text(MOMENT) == "Thứ Hai, 7 thg 12, 2026, 10:00"
            rendered = Template("{% load dates %}{{ at|when }} · {{ at|clock }}").render(Context({"at": MOMENT}))
            assert rendered == "Thứ Hai, 7 thg 12, 2026, 10:00 · 10:00"


def test_the_short_styles_drop_the_year_but_keep_the_languages_one_style():
    with timezone.override(ZoneInfo("Asia/Ho_Chi_Minh")):
        with translation.override("en"):
            assert short_when_text(MOMENT) == "Mon 7 Dec, 10:00"
            assert day_month_text(MOMENT) == "7 Dec"
        with translation.override("vi"):
            assert short_when_text(MOMENT) == "Thứ Hai, 7 thg 12, 10:00"
            assert day_month_text(MOMENT) == "7 thg 12"
            rendered = Template("{% load dates %}{{ at|short_when }} · {{ at|day_month }}").render(
                Context({"at": MOMENT})
            )
            assert rendered == "Thứ Hai, 7 thg 12, 10:00 · 7 thg 12"


def test_the_admin_date_format_follows_the_same_style():
    with translation.override("en"), timezone.override(ZoneInfo("UTC")):
        assert Template("{{ at }}").render(Context({"at": MOMENT})) == "Mon 7 Dec 2026, 03:00"


def test_a_zone_has_a_friendly_name_and_offset_in_each_language():
    with translation.override("vi"):
        assert zone_label("Asia/Ho_Chi_Minh", MOMENT) == "Giờ Việt Nam (GMT+7)"
        assert zone_label("Asia/Saigon", MOMENT) == "Giờ Việt Nam (GMT+7)"
    with translation.override("en"):
        assert zone_label("Asia/Kolkata", MOMENT) == "Kolkata time (GMT+5:30)"


def test_the_zone_picker_offers_each_place_once_the_clinics_first():
    names = picker_zones()
    assert "Asia/Ho_Chi_Minh" in names and "Asia/Saigon" not in names
    assert "Europe/Kyiv" in names and "Europe/Kiev" not in names and "US/Eastern" not in names
    assert zone_choices()[0][0] == "Asia/Ho_Chi_Minh"
