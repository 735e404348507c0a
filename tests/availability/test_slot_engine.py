"""Unit tests of the slot engine on fixed dates, with hand-computed UTC instants."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from marketplace.availability.slots import (
    BookingSettings,
    Interval,
    LocalWindow,
    Slot,
    WeeklyRule,
    blocked_interval,
    compute_slots,
    local_window_bounds,
    to_instant,
)

LOC = UUID(int=1)
OTHER_LOC = UUID(int=2)
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
EVERY_DAY = range(7)

# Fixed dates used below (weekday in brackets).
MON = date(2026, 6, 15)  # [0]
NY_SPRING = date(2026, 3, 8)  # [6] 02:00 EST -> 03:00 EDT at 07:00 UTC
NY_FALL = date(2026, 11, 1)  # [6] 02:00 EDT -> 01:00 EST at 06:00 UTC
SYD_SPRING = date(2026, 10, 4)  # [6] 02:00 AEST -> 03:00 AEDT at 2026-10-03 16:00 UTC
SYD_FALL = date(2026, 4, 5)  # [6] 03:00 AEDT -> 02:00 AEST at 2026-04-04 16:00 UTC


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NEW_YEAR = utc(2026, 1, 1)


def rule(start: str, end: str, weekday: int | None = None, **kwargs) -> list[WeeklyRule]:
    days = EVERY_DAY if weekday is None else [weekday]
    loc = kwargs.pop("location_id", LOC)
    return [
        WeeklyRule(d, time.fromisoformat(start), time.fromisoformat(end), loc, **kwargs)
        for d in days
    ]


def window(start: str, end: str, loc: object = LOC) -> LocalWindow:
    return LocalWindow(time.fromisoformat(start), time.fromisoformat(end), loc)


def run(
    *,
    rules: list[WeeklyRule],
    first_day: date,
    last_day: date | None = None,
    tz: str = "UTC",
    interval: int = 30,
    duration: int = 60,
    before: int = 0,
    after: int = 0,
    notice: int = 0,
    horizon: int = 3650,
    now: datetime = NEW_YEAR,
    overrides: dict | None = None,
    busy: Sequence[Interval] = (),
    time_off: Sequence[Interval] = (),
) -> list[Slot]:
    return compute_slots(
        rules=rules,
        overrides=overrides or {},
        time_off=list(time_off),
        busy=list(busy),
        timezone=tz,
        settings=BookingSettings(interval, before, after, notice, horizon),
        duration_minutes=duration,
        now=now,
        first_day=first_day,
        last_day=last_day or first_day,
    )


def starts(slots: list[Slot]) -> list[datetime]:
    return [slot.start_at for slot in slots]


# --- a normal day, interval vs duration -------------------------------------------------------


def test_normal_day_exact_slots():
    slots = run(rules=rule("09:00", "12:00"), first_day=MON, tz="Europe/London")
    # 09:00 BST = 08:00 UTC; the last 60-minute slot starts at 11:00 local.
    assert starts(slots) == [
        utc(2026, 6, 15, 8),
        utc(2026, 6, 15, 8, 30),
        utc(2026, 6, 15, 9),
        utc(2026, 6, 15, 9, 30),
        utc(2026, 6, 15, 10),
    ]
    assert all(s.end_at - s.start_at == timedelta(minutes=60) for s in slots)
    assert all(s.start_at.tzinfo is UTC and s.end_at.tzinfo is UTC for s in slots)
    assert all(s.location_id == LOC for s in slots)


def test_interval_longer_than_duration():
    slots = run(rules=rule("09:00", "12:00"), first_day=MON, interval=90, duration=30)
    assert starts(slots) == [utc(2026, 6, 15, 9), utc(2026, 6, 15, 10, 30)]
    assert [s.end_at for s in slots] == [utc(2026, 6, 15, 9, 30), utc(2026, 6, 15, 11)]


def test_window_not_a_multiple_of_the_interval():
    slots = run(rules=rule("09:00", "11:50"), first_day=MON)
    assert starts(slots) == [
        utc(2026, 6, 15, 9),
        utc(2026, 6, 15, 9, 30),
        utc(2026, 6, 15, 10),
        utc(2026, 6, 15, 10, 30),
    ]


def test_duration_longer_than_window_gives_nothing():
    assert run(rules=rule("09:00", "09:45"), first_day=MON, duration=60) == []


def test_rules_only_apply_on_their_weekday():
    slots = run(
        rules=rule("09:00", "10:00", weekday=0),
        first_day=date(2026, 6, 14),
        last_day=date(2026, 6, 21),
        duration=60,
    )
    assert starts(slots) == [utc(2026, 6, 15, 9)]


# --- busy intervals and buffers ---------------------------------------------------------------


BUSY_11_12 = [Interval(utc(2026, 6, 15, 11), utc(2026, 6, 15, 12))]


def test_slot_may_touch_busy_interval_without_buffers():
    slots = run(rules=rule("09:00", "13:00"), first_day=MON, interval=60, busy=BUSY_11_12)
    # 10:00-11:00 ends exactly at the busy start, 12:00-13:00 starts exactly at its end.
    assert starts(slots) == [utc(2026, 6, 15, 9), utc(2026, 6, 15, 10), utc(2026, 6, 15, 12)]


def test_buffer_after_refuses_slot_ending_at_busy_start():
    slots = run(rules=rule("09:00", "13:00"), first_day=MON, interval=60, after=15, busy=BUSY_11_12)
    assert starts(slots) == [utc(2026, 6, 15, 9), utc(2026, 6, 15, 12)]


def test_buffer_before_refuses_slot_starting_at_busy_end():
    slots = run(
        rules=rule("09:00", "13:00"), first_day=MON, interval=60, before=15, busy=BUSY_11_12
    )
    assert starts(slots) == [utc(2026, 6, 15, 9), utc(2026, 6, 15, 10)]


def test_buffers_exactly_filling_the_gap_are_allowed():
    busy = [
        Interval(utc(2026, 6, 15, 9), utc(2026, 6, 15, 10)),
        Interval(utc(2026, 6, 15, 11, 30), utc(2026, 6, 15, 12)),
    ]
    slots = run(
        rules=rule("09:00", "13:00"),
        first_day=MON,
        interval=15,
        before=15,
        after=15,
        busy=busy,
    )
    # Only 10:15-11:15 fits: [10:00, 11:30) touches both busy intervals.
    assert starts(slots) == [utc(2026, 6, 15, 10, 15)]


def test_busy_intervals_unordered_overlapping_and_in_any_zone():
    plus_two = timezone(timedelta(hours=2))
    busy = [
        Interval(datetime(2026, 6, 15, 14, tzinfo=plus_two), utc(2026, 6, 15, 12, 30)),
        Interval(utc(2026, 6, 15, 9, 15), utc(2026, 6, 15, 9, 45)),
        Interval(utc(2026, 6, 15, 11, 30), utc(2026, 6, 15, 12, 15)),
        Interval(utc(2026, 6, 15, 9, 30), utc(2026, 6, 15, 9, 40)),
    ]
    slots = run(rules=rule("09:00", "14:00"), first_day=MON, interval=30, busy=busy)
    # Blocked: [09:15, 09:45) and [11:30, 12:30) (12:00 UTC = 14:00 +02:00 extends the second).
    assert starts(slots) == [
        utc(2026, 6, 15, 10),
        utc(2026, 6, 15, 10, 30),
        utc(2026, 6, 15, 12, 30),
        utc(2026, 6, 15, 13),
    ]


def test_busy_is_exact_to_the_microsecond():
    busy = [Interval(utc(2026, 6, 15, 8), utc(2026, 6, 15, 10) + timedelta(microseconds=1))]
    slots = run(rules=rule("09:00", "12:00"), first_day=MON, interval=60, busy=busy)
    assert starts(slots) == [utc(2026, 6, 15, 11)]


def test_blocked_interval_widens_by_buffers():
    assert blocked_interval(utc(2026, 6, 15, 10), utc(2026, 6, 15, 11), 10, 20) == Interval(
        utc(2026, 6, 15, 9, 50), utc(2026, 6, 15, 11, 20)
    )
    assert blocked_interval(utc(2026, 6, 15, 10), utc(2026, 6, 15, 11), 0, 0) == Interval(
        utc(2026, 6, 15, 10), utc(2026, 6, 15, 11)
    )


def test_blocked_interval_counts_real_minutes_across_fall_back():
    # 01:30 EST (second occurrence, 06:30 UTC) minus one real hour is 01:30 EDT (05:30 UTC).
    start = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    end = datetime(2026, 11, 1, 2, 30, tzinfo=NEW_YORK)
    assert blocked_interval(start, end, 60, 30) == Interval(
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8)
    )


def test_blocked_interval_rejects_naive_datetimes():
    with pytest.raises(ValueError):
        blocked_interval(datetime(2026, 6, 15, 10), utc(2026, 6, 15, 11), 0, 0)


# --- notice and horizon -----------------------------------------------------------------------


def test_min_notice():
    slots = run(rules=rule("09:00", "11:00"), first_day=MON, now=utc(2026, 6, 15, 8, 10), notice=60)
    assert starts(slots) == [utc(2026, 6, 15, 9, 30), utc(2026, 6, 15, 10)]


def test_min_notice_boundary_is_inclusive():
    slots = run(rules=rule("09:00", "11:00"), first_day=MON, now=utc(2026, 6, 15, 8), notice=60)
    assert starts(slots)[0] == utc(2026, 6, 15, 9)


def test_slots_in_the_past_are_not_offered():
    slots = run(rules=rule("09:00", "11:00"), first_day=MON, now=utc(2026, 6, 15, 9, 1))
    assert starts(slots) == [utc(2026, 6, 15, 9, 30), utc(2026, 6, 15, 10)]


def test_horizon_is_exclusive():
    slots = run(
        rules=rule("08:00", "12:00"),
        first_day=MON,
        last_day=date(2026, 6, 17),
        interval=60,
        now=utc(2026, 6, 15, 9),
        horizon=1,
    )
    assert starts(slots) == [
        utc(2026, 6, 15, 9),
        utc(2026, 6, 15, 10),
        utc(2026, 6, 15, 11),
        utc(2026, 6, 16, 8),
    ]


# --- overrides and validity -------------------------------------------------------------------


def test_override_closes_a_day():
    slots = run(
        rules=rule("09:00", "10:00"),
        first_day=MON,
        last_day=date(2026, 6, 16),
        overrides={MON: []},
    )
    assert starts(slots) == [utc(2026, 6, 16, 9)]


def test_override_opens_a_closed_day_with_its_own_hours():
    sunday = date(2026, 6, 14)
    slots = run(
        rules=rule("09:00", "10:00", weekday=0),
        first_day=sunday,
        last_day=MON,
        overrides={sunday: [window("13:00", "14:30", OTHER_LOC), window("16:00", "17:00")]},
    )
    assert [(s.start_at, s.location_id) for s in slots] == [
        (utc(2026, 6, 14, 13), OTHER_LOC),
        (utc(2026, 6, 14, 13, 30), OTHER_LOC),
        (utc(2026, 6, 14, 16), LOC),
        (utc(2026, 6, 15, 9), LOC),
    ]


def test_override_replaces_the_weekly_hours():
    slots = run(
        rules=rule("09:00", "17:00"), first_day=MON, overrides={MON: [window("12:00", "13:00")]}
    )
    assert starts(slots) == [utc(2026, 6, 15, 12)]


def test_valid_from_and_valid_until_are_inclusive():
    rules = rule(
        "09:00", "10:00", weekday=0, valid_from=date(2026, 6, 15), valid_until=date(2026, 6, 22)
    )
    slots = run(rules=rules, first_day=date(2026, 6, 1), last_day=date(2026, 6, 30))
    assert starts(slots) == [utc(2026, 6, 15, 9), utc(2026, 6, 22, 9)]


def test_open_ended_validity():
    rules = rule("09:00", "10:00", weekday=0, valid_from=date(2026, 6, 22)) + rule(
        "11:00", "12:00", weekday=0, valid_until=date(2026, 6, 8)
    )
    slots = run(rules=rules, first_day=date(2026, 6, 1), last_day=date(2026, 6, 30))
    assert starts(slots) == [
        utc(2026, 6, 1, 11),
        utc(2026, 6, 8, 11),
        utc(2026, 6, 22, 9),
        utc(2026, 6, 29, 9),
    ]


def test_time_off_crossing_local_midnight():
    # New York in June is UTC-4. Time off 22:00 on the 15th .. 01:00 on the 16th (local).
    time_off = [
        Interval(
            datetime(2026, 6, 15, 22, tzinfo=NEW_YORK), datetime(2026, 6, 16, 1, tzinfo=NEW_YORK)
        )
    ]
    slots = run(
        rules=rule("00:00", "03:00") + rule("20:00", "23:00"),
        first_day=MON,
        last_day=date(2026, 6, 16),
        tz="America/New_York",
        interval=60,
        time_off=time_off,
    )
    local = [s.start_at.astimezone(NEW_YORK).replace(tzinfo=None) for s in slots]
    assert local == [
        datetime(2026, 6, 15, 0),
        datetime(2026, 6, 15, 1),
        datetime(2026, 6, 15, 2),
        datetime(2026, 6, 15, 20),
        datetime(2026, 6, 15, 21),
        datetime(2026, 6, 16, 1),
        datetime(2026, 6, 16, 2),
        datetime(2026, 6, 16, 20),
        datetime(2026, 6, 16, 21),
        datetime(2026, 6, 16, 22),
    ]
    assert starts(slots)[5] == utc(2026, 6, 16, 5)


def test_overlapping_windows_give_unique_starts_smallest_location_first():
    rules = rule("09:00", "11:00", location_id=OTHER_LOC) + rule("10:00", "12:00")
    slots = run(rules=rules, first_day=MON, interval=60)
    assert [(s.start_at, s.location_id) for s in slots] == [
        (utc(2026, 6, 15, 9), OTHER_LOC),
        (utc(2026, 6, 15, 10), LOC),  # offered by both windows; UUID(int=1) sorts first
        (utc(2026, 6, 15, 11), LOC),
    ]


def test_empty_range_and_zoneinfo_argument():
    assert run(rules=rule("09:00", "10:00"), first_day=MON, last_day=date(2026, 6, 14)) == []
    by_name = run(rules=rule("09:00", "12:00"), first_day=MON, tz="Australia/Sydney")
    by_zone = compute_slots(
        rules=rule("09:00", "12:00"),
        overrides={},
        time_off=[],
        busy=[],
        timezone=SYDNEY,
        settings=BookingSettings(30, horizon_days=3650),
        duration_minutes=60,
        now=utc(2026, 1, 1),
        first_day=MON,
        last_day=MON,
    )
    assert by_zone == by_name
    assert by_name[0].start_at == utc(2026, 6, 14, 23)  # 09:00 AEST


# --- DST: America/New_York --------------------------------------------------------------------


def test_new_york_spring_forward_instants():
    assert to_instant(NY_SPRING, time(1, 59), NEW_YORK) == utc(2026, 3, 8, 6, 59)
    assert to_instant(NY_SPRING, time(2, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    assert to_instant(NY_SPRING, time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7)
    assert to_instant(NY_SPRING, time(2, 59, 59), NEW_YORK) == utc(2026, 3, 8, 7)
    assert to_instant(NY_SPRING, time(3, 0), NEW_YORK) == utc(2026, 3, 8, 7)
    assert to_instant(NY_SPRING, time(0, 0), NEW_YORK) == utc(2026, 3, 8, 5)
    assert to_instant(NY_SPRING, time(2, 30), NEW_YORK).tzinfo is UTC
    assert local_window_bounds(NY_SPRING, time(2, 30), time(4), NEW_YORK) == (
        utc(2026, 3, 8, 7),
        utc(2026, 3, 8, 8),
    )


def test_new_york_spring_forward_window_spanning_the_gap():
    # 01:00 EST (06:00 UTC) .. 04:00 EDT (08:00 UTC): two real hours.
    slots = run(rules=rule("01:00", "04:00"), first_day=NY_SPRING, tz="America/New_York")
    assert starts(slots) == [utc(2026, 3, 8, 6), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7)]
    assert slots[-1].end_at == utc(2026, 3, 8, 8)


def test_new_york_window_starting_inside_the_gap():
    slots = run(rules=rule("02:30", "04:00"), first_day=NY_SPRING, tz="America/New_York")
    assert starts(slots) == [utc(2026, 3, 8, 7)]  # 03:00 EDT, not 03:30


def test_new_york_window_ending_inside_the_gap():
    slots = run(rules=rule("00:00", "02:30"), first_day=NY_SPRING, tz="America/New_York")
    # 00:00 EST = 05:00 UTC .. 02:30 -> 03:00 EDT = 07:00 UTC.
    assert starts(slots) == [utc(2026, 3, 8, 5), utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 6)]


def test_new_york_window_entirely_inside_the_gap_is_empty():
    slots = run(
        rules=rule("02:00", "02:45"),
        first_day=NY_SPRING,
        tz="America/New_York",
        duration=5,
        interval=5,
    )
    assert slots == []


def test_new_york_fall_back_instants():
    assert to_instant(NY_FALL, time(0, 59), NEW_YORK) == utc(2026, 11, 1, 4, 59)
    assert to_instant(NY_FALL, time(1, 0), NEW_YORK) == utc(2026, 11, 1, 5)  # first, EDT
    assert to_instant(NY_FALL, time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert to_instant(NY_FALL, time(1, 30, fold=1), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert to_instant(NY_FALL, time(2, 0), NEW_YORK) == utc(2026, 11, 1, 7)  # EST


def test_new_york_fall_back_window_spanning_the_repeated_hour():
    # 00:00 EDT (04:00 UTC) .. 03:00 EST (08:00 UTC): four real hours.
    slots = run(rules=rule("00:00", "03:00"), first_day=NY_FALL, tz="America/New_York", interval=60)
    assert starts(slots) == [utc(2026, 11, 1, h) for h in (4, 5, 6, 7)]
    local = [s.start_at.astimezone(NEW_YORK) for s in slots]
    assert [(t.hour, t.fold) for t in local] == [(0, 0), (1, 0), (1, 1), (2, 0)]


def test_new_york_fall_back_window_inside_the_repeated_hour():
    # 01:30 EDT (05:30 UTC) .. 02:30 EST (07:30 UTC).
    slots = run(rules=rule("01:30", "02:30"), first_day=NY_FALL, tz="America/New_York", duration=30)
    assert starts(slots) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 6),
        utc(2026, 11, 1, 6, 30),
        utc(2026, 11, 1, 7),
    ]


def test_new_york_fall_back_window_ending_at_an_ambiguous_time():
    # 01:30 is taken at its first occurrence (05:30 UTC).
    slots = run(rules=rule("00:00", "01:30"), first_day=NY_FALL, tz="America/New_York", duration=30)
    assert starts(slots) == [utc(2026, 11, 1, 4), utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5)]


# --- DST: Australia/Sydney --------------------------------------------------------------------


def test_sydney_spring_forward_instants():
    assert to_instant(SYD_SPRING, time(1, 59), SYDNEY) == utc(2026, 10, 3, 15, 59)
    assert to_instant(SYD_SPRING, time(2, 0), SYDNEY) == utc(2026, 10, 3, 16)
    assert to_instant(SYD_SPRING, time(2, 15), SYDNEY) == utc(2026, 10, 3, 16)
    assert to_instant(SYD_SPRING, time(3, 0), SYDNEY) == utc(2026, 10, 3, 16)
    assert to_instant(SYD_SPRING, time(3, 1), SYDNEY) == utc(2026, 10, 3, 16, 1)


def test_sydney_spring_forward_windows():
    tz = "Australia/Sydney"
    # 01:00 AEST (15:00 UTC) .. 04:00 AEDT (17:00 UTC).
    spanning = run(rules=rule("01:00", "04:00"), first_day=SYD_SPRING, tz=tz, interval=60)
    assert starts(spanning) == [utc(2026, 10, 3, 15), utc(2026, 10, 3, 16)]
    # 02:15 does not exist: starts at 03:00 AEDT (16:00 UTC) .. 05:00 AEDT (18:00 UTC).
    starting = run(rules=rule("02:15", "05:00"), first_day=SYD_SPRING, tz=tz, interval=60)
    assert starts(starting) == [utc(2026, 10, 3, 16), utc(2026, 10, 3, 17)]
    # 00:30 AEST (14:30 UTC) .. 02:45 -> 03:00 AEDT (16:00 UTC).
    ending = run(rules=rule("00:30", "02:45"), first_day=SYD_SPRING, tz=tz, duration=30)
    assert starts(ending) == [
        utc(2026, 10, 3, 14, 30),
        utc(2026, 10, 3, 15),
        utc(2026, 10, 3, 15, 30),
    ]


def test_sydney_fall_back_instants():
    assert to_instant(SYD_FALL, time(2, 0), SYDNEY) == utc(2026, 4, 4, 15)  # first, AEDT
    assert to_instant(SYD_FALL, time(2, 30), SYDNEY) == utc(2026, 4, 4, 15, 30)
    assert to_instant(SYD_FALL, time(3, 0), SYDNEY) == utc(2026, 4, 4, 17)  # AEST


def test_sydney_fall_back_windows():
    tz = "Australia/Sydney"
    # 02:00 AEDT (15:00 UTC) .. 04:00 AEST (18:00 UTC): three real hours.
    spanning = run(rules=rule("02:00", "04:00"), first_day=SYD_FALL, tz=tz, interval=60)
    assert starts(spanning) == [utc(2026, 4, 4, 15), utc(2026, 4, 4, 16), utc(2026, 4, 4, 17)]
    # 01:00 AEDT (14:00 UTC) .. first 02:30 (15:30 UTC).
    ending = run(rules=rule("01:00", "02:30"), first_day=SYD_FALL, tz=tz, duration=30)
    assert starts(ending) == [utc(2026, 4, 4, 14), utc(2026, 4, 4, 14, 30), utc(2026, 4, 4, 15)]


# --- ranges crossing a DST change -------------------------------------------------------------


def test_range_crossing_spring_forward_keeps_local_times():
    slots = run(
        rules=rule("09:00", "10:00"),
        first_day=date(2026, 3, 6),
        last_day=date(2026, 3, 9),
        tz="America/New_York",
        duration=30,
    )
    assert starts(slots) == [
        utc(2026, 3, 6, 14),
        utc(2026, 3, 6, 14, 30),
        utc(2026, 3, 7, 14),
        utc(2026, 3, 7, 14, 30),
        utc(2026, 3, 8, 13),
        utc(2026, 3, 8, 13, 30),
        utc(2026, 3, 9, 13),
        utc(2026, 3, 9, 13, 30),
    ]
    local = {s.start_at.astimezone(NEW_YORK).time() for s in slots}
    assert local == {time(9), time(9, 30)}


def test_range_crossing_fall_back_keeps_local_times():
    slots = run(
        rules=rule("09:00", "10:00"),
        first_day=date(2026, 10, 24),
        last_day=date(2026, 10, 26),
        tz="Europe/London",
        interval=60,
    )
    # BST (UTC+1) until 2026-10-25 01:00 UTC, then GMT.
    assert starts(slots) == [utc(2026, 10, 24, 8), utc(2026, 10, 25, 9), utc(2026, 10, 26, 9)]


# --- validation -------------------------------------------------------------------------------


def test_naive_now_is_rejected():
    with pytest.raises(ValueError, match="now"):
        run(rules=rule("09:00", "10:00"), first_day=MON, now=datetime(2026, 6, 1))


@pytest.mark.parametrize("field", ["busy", "time_off"])
def test_naive_interval_is_rejected(field):
    naive = [Interval(datetime(2026, 6, 15, 9), utc(2026, 6, 15, 10))]
    with pytest.raises(ValueError):
        run(rules=rule("09:00", "10:00"), first_day=MON, **{field: naive})


def test_reversed_interval_is_rejected():
    with pytest.raises(ValueError):
        run(
            rules=rule("09:00", "10:00"),
            first_day=MON,
            busy=[Interval(utc(2026, 6, 15, 10), utc(2026, 6, 15, 9))],
        )


@pytest.mark.parametrize(("duration", "interval"), [(0, 30), (-30, 30), (60, 0), (60, -15)])
def test_non_positive_duration_or_interval_is_rejected(duration, interval):
    with pytest.raises(ValueError):
        run(rules=rule("09:00", "10:00"), first_day=MON, duration=duration, interval=interval)


def test_negative_buffer_is_rejected():
    with pytest.raises(ValueError):
        run(rules=rule("09:00", "10:00"), first_day=MON, before=-5)
