"""Cutting local hours into UTC slots: DST days in Paris and New York, Ho Chi Minh City, and properties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.slotting import ends_next_day, local_day_bounds, plan_day, plan_instants, resolve_local

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
HO_CHI_MINH = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = dt.UTC


def labels(plan, zone):
    return [start.astimezone(zone).strftime("%H:%M") for start, _ in plan.slots]


def assert_well_formed(plan, minutes):
    starts = [start for start, _ in plan.slots]
    assert len(set(starts)) == len(starts), "an instant is used twice"
    assert starts == sorted(starts)
    assert all(end - start == dt.timedelta(minutes=minutes) for start, end in plan.slots)


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# --- resolving wall times ----------------------------------------------------------------------


def test_a_wall_time_in_the_spring_forward_gap_moves_to_the_end_of_the_gap():
    # Paris, 28 March 2027: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    for wall in ("02:00", "02:30", "02:59"):
        assert resolve_local(dt.date(2027, 3, 28), t(wall), PARIS) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert resolve_local(dt.date(2027, 3, 28), t("01:59"), PARIS) == dt.datetime(2027, 3, 28, 0, 59, tzinfo=UTC)
    assert resolve_local(dt.date(2027, 3, 28), t("03:00"), PARIS) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    # New York, 14 March 2027: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    assert resolve_local(dt.date(2027, 3, 14), t("02:15"), NEW_YORK) == dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC)


def test_an_ambiguous_fall_back_wall_time_means_its_first_occurrence():
    # Paris, 31 October 2027: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    assert resolve_local(dt.date(2027, 10, 31), t("02:30"), PARIS) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # New York, 7 November 2027: 01:30 happens twice (EDT first, 05:30 UTC).
    assert resolve_local(dt.date(2027, 11, 7), t("01:30"), NEW_YORK) == dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_local_days_are_23_or_25_hours_long_on_dst_days():
    start, end = local_day_bounds(dt.date(2027, 3, 28), PARIS)
    assert end - start == dt.timedelta(hours=23)
    start, end = local_day_bounds(dt.date(2027, 11, 7), NEW_YORK)
    assert end - start == dt.timedelta(hours=25)
    start, end = local_day_bounds(dt.date(2027, 3, 28), HO_CHI_MINH)
    assert end - start == dt.timedelta(hours=24)


# --- DST days ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day"),
    [(PARIS, dt.date(2027, 3, 28)), (NEW_YORK, dt.date(2027, 3, 14))],
    ids=["paris", "new-york"],
)
def test_spring_forward_day_has_no_slot_in_the_gap_and_one_hour_less(zone, day):
    plan = plan_day(day=day, start=t("00:00"), end=t("06:00"), minutes=30, zone=zone)
    assert_well_formed(plan, 30)
    assert labels(plan, zone) == [
        "00:00", "00:30", "01:00", "01:30",
        "03:00", "03:30", "04:00", "04:30", "05:00", "05:30",
    ]  # fmt: skip
    assert plan.ends_at - plan.starts_at == dt.timedelta(hours=5)


@pytest.mark.parametrize(
    ("zone", "day", "repeated"),
    [(PARIS, dt.date(2027, 10, 31), ["02:00", "02:30"]), (NEW_YORK, dt.date(2027, 11, 7), ["01:00", "01:30"])],
    ids=["paris", "new-york"],
)
def test_fall_back_day_uses_every_real_instant_once(zone, day, repeated):
    plan = plan_day(day=day, start=t("00:00"), end=t("06:00"), minutes=30, zone=zone)
    assert_well_formed(plan, 30)
    # Six wall-clock hours that last seven real hours: fourteen 30-minute slots, none on the same instant.
    assert plan.ends_at - plan.starts_at == dt.timedelta(hours=7)
    assert len(plan.slots) == 14
    local = [start.astimezone(zone) for start, _ in plan.slots]
    for label in repeated:
        twice = [moment for moment in local if moment.strftime("%H:%M") == label]
        assert len(twice) == 2 and twice[0].utcoffset() != twice[1].utcoffset()


def test_ho_chi_minh_city_has_no_dst_and_a_plain_morning():
    plan = plan_day(day=dt.date(2027, 3, 28), start=t("08:00"), end=t("11:30"), minutes=30, zone=HO_CHI_MINH)
    assert_well_formed(plan, 30)
    assert labels(plan, HO_CHI_MINH) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]
    assert plan.slots[0][0] == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert plan.leftover_minutes == 0


def test_hours_starting_inside_the_gap_begin_when_the_gap_ends():
    plan = plan_day(day=dt.date(2027, 3, 28), start=t("02:30"), end=t("04:00"), minutes=30, zone=PARIS)
    assert labels(plan, PARIS) == ["03:00", "03:30"]


def test_hours_entirely_inside_the_gap_make_no_slot():
    plan = plan_day(day=dt.date(2027, 3, 28), start=t("02:05"), end=t("02:55"), minutes=15, zone=PARIS)
    assert plan.slots == [] and not plan.fits


def test_leftover_and_buffer():
    plan = plan_day(day=dt.date(2027, 5, 3), start=t("09:00"), end=t("10:45"), minutes=30, zone=HO_CHI_MINH)
    assert len(plan.slots) == 3 and plan.leftover_minutes == 15
    plan = plan_day(
        day=dt.date(2027, 5, 3), start=t("09:00"), end=t("11:00"), minutes=30, zone=HO_CHI_MINH, buffer_minutes=10
    )
    assert labels(plan, HO_CHI_MINH) == ["09:00", "09:40", "10:20"]
    plan = plan_day(day=dt.date(2027, 5, 3), start=t("09:00"), end=t("09:20"), minutes=30, zone=HO_CHI_MINH)
    assert plan.slots == [] and plan.leftover_minutes == 20


# --- properties --------------------------------------------------------------------------------

ZONES = ["Europe/Paris", "America/New_York", "Asia/Ho_Chi_Minh", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]
DST_DAYS = [
    dt.date(2027, 3, 28),
    dt.date(2027, 10, 31),
    dt.date(2027, 3, 14),
    dt.date(2027, 11, 7),
    dt.date(2027, 4, 4),
]
days = st.one_of(st.sampled_from(DST_DAYS), st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31)))
wall_times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 5, 15, 30, 45, 59]))


@settings(max_examples=80, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=days,
    start=wall_times,
    end=wall_times,
    minutes=st.integers(5, 240),
    buffer=st.sampled_from([0, 0, 5, 10, 15, 30]),
)
def test_slot_plans_never_overlap_stay_in_bounds_and_match_the_count_formula(zone, day, start, end, minutes, buffer):
    plan = plan_day(day=day, start=start, end=end, minutes=minutes, zone=zone, buffer_minutes=buffer)
    length, step = dt.timedelta(minutes=minutes), dt.timedelta(minutes=minutes + buffer)
    assert plan.starts_at == resolve_local(day, start, zone)
    # an end before the start is on the next day (a shift past midnight)
    end_day = day + dt.timedelta(days=1) if ends_next_day(start, end) else day
    assert plan.ends_at == resolve_local(end_day, end, zone)
    span = plan.ends_at - plan.starts_at
    expected = (span - length) // step + 1 if span >= length else 0
    assert len(plan.slots) == expected
    for (start_a, end_a), (start_b, _) in zip(plan.slots, plan.slots[1:], strict=False):
        assert end_a <= start_b, "slots overlap"
        assert start_b - start_a == step
        assert start_a < start_b, "UTC starts are not strictly increasing"
    for slot_start, slot_end in plan.slots:
        assert plan.starts_at <= slot_start and slot_end <= plan.ends_at
        assert slot_end - slot_start == length
        assert slot_start.utcoffset() == dt.timedelta(0)
    if plan.slots and buffer == 0:
        assert plan.leftover_minutes == (span - len(plan.slots) * length).total_seconds() // 60


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), day=days, wall=wall_times)
def test_resolving_a_wall_time_lands_on_it_or_on_the_end_of_its_gap(zone, day, wall):
    instant = resolve_local(day, wall, zone)
    local = instant.astimezone(ZoneInfo(zone))
    naive = dt.datetime.combine(day, wall)
    if local.replace(tzinfo=None) != naive:
        # the wall time does not exist: we land on the first instant after the gap, which is later on the clock
        assert local.replace(tzinfo=None) > naive
        before = (instant - dt.timedelta(seconds=1)).astimezone(ZoneInfo(zone))
        assert before.replace(tzinfo=None) < naive
        assert before.utcoffset() != local.utcoffset()
    else:
        # an existing wall time resolves to its first occurrence (ambiguous ones have two)
        occurrences = {naive.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC) for fold in (0, 1)}
        assert instant == min(occurrences)


def test_plan_instants_rejects_nonsense_lengths():
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        plan_instants(starts_at=start, ends_at=start + dt.timedelta(hours=1), minutes=0)
    with pytest.raises(ValueError):
        plan_instants(starts_at=start, ends_at=start + dt.timedelta(hours=1), minutes=10, buffer_minutes=-1)


def test_an_end_of_midnight_is_the_end_of_the_day_even_across_a_clock_change():
    plan = plan_day(day=dt.date(2025, 10, 25), start=dt.time(22, 0), end=dt.time(0, 0), minutes=30, zone="Europe/Paris")
    assert [s.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") for s, _ in plan.slots] == [
        "22:00",
        "22:30",
        "23:00",
        "23:30",
    ]
    assert plan.ends_at == dt.datetime(2025, 10, 25, 22, 0, tzinfo=dt.UTC)  # midnight in Paris, summer time


@pytest.mark.parametrize(
    ("start", "end", "next_day"),
    [("22:00", "06:00", True), ("23:00", "00:00", True), ("18:00", "06:00", True), ("10:00", "09:00", False)],
)
def test_an_earlier_end_is_the_next_day_only_for_a_shift_of_at_most_twelve_hours(start, end, next_day):
    assert ends_next_day(dt.time.fromisoformat(start), dt.time.fromisoformat(end)) is next_day
