"""Property tests: the slot engine against a slow, obviously-correct reference.

The reference resolves local wall-clock times by brute force (which UTC instants display that
wall-clock time? if none, try the next minute) instead of relying on ``fold``, and checks every
candidate against every interval with plain datetime comparisons.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.availability.slots import (
    BookingSettings,
    Interval,
    LocalWindow,
    Slot,
    WeeklyRule,
    compute_slots,
    to_instant,
)

ZONES = [
    "America/New_York",
    "Australia/Sydney",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
]

# Local dates of each zone's 2026 DST transitions (ranges are drawn around them).
TRANSITIONS = {
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Sydney": [date(2026, 4, 5), date(2026, 10, 4)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 25)],
    "Asia/Kolkata": [],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "Pacific/Chatham": [date(2026, 4, 5), date(2026, 9, 27)],
    "UTC": [],
}
ORDINARY = [date(2026, 1, 15), date(2026, 7, 1)]

LOCATIONS = ["loc-a", "loc-b", "loc-c"]
MINUTE = timedelta(minutes=1)

# Every UTC offset these zones use is a whole number of quarter hours.
CANDIDATE_OFFSETS = [timedelta(minutes=m) for m in range(-14 * 60, 14 * 60 + 1, 15)]

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@cache
def slow_instant(day: date, at: time, zone: str) -> datetime:
    """First UTC instant whose wall-clock time is ``day at``, or the next existing minute's."""
    tz = ZoneInfo(zone)
    wall = datetime.combine(day, at)
    while True:
        matches = []
        for offset in CANDIDATE_OFFSETS:
            instant = (wall - offset).replace(tzinfo=UTC)
            if instant.astimezone(tz).replace(tzinfo=None) == wall:
                matches.append(instant)
        if matches:
            return min(matches)
        wall += MINUTE  # wall time skipped by a gap; tzdata transitions are on whole minutes


def reference_windows(case: dict, day: date) -> list[tuple[datetime, datetime, object]]:
    if day in case["overrides"]:
        local = case["overrides"][day]
    else:
        local = [
            r
            for r in case["rules"]
            if r.weekday == day.weekday()
            and (r.valid_from is None or r.valid_from <= day)
            and (r.valid_until is None or day <= r.valid_until)
        ]
    return [
        (
            slow_instant(day, w.start, case["zone"]),
            slow_instant(day, w.end, case["zone"]),
            w.location_id,
        )
        for w in local
    ]


def reference_slots(case: dict) -> list[tuple[datetime, datetime, object]]:
    s: BookingSettings = case["settings"]
    duration = timedelta(minutes=case["duration"])
    step = timedelta(minutes=s.slot_interval_minutes)
    before = timedelta(minutes=s.buffer_before_minutes)
    after = timedelta(minutes=s.buffer_after_minutes)
    # Arithmetic on a ZoneInfo-aware datetime is wall-clock arithmetic: go through UTC.
    now = case["now"].astimezone(UTC)
    earliest = now + timedelta(minutes=s.min_notice_minutes)
    horizon_end = now + timedelta(days=s.horizon_days)
    blocks = [
        (i.start.astimezone(UTC), i.end.astimezone(UTC)) for i in case["busy"] + case["time_off"]
    ]
    found = []
    day = case["first_day"]
    while day <= case["last_day"]:
        for win_start, win_end, location in reference_windows(case, day):
            start = win_start
            while start + duration <= win_end:
                lo, hi = start - before, start + duration + after
                if earliest <= start < horizon_end and not any(
                    lo < b_end and b_start < hi for b_start, b_end in blocks
                ):
                    found.append((start, start + duration, location))
                start += step
        day += timedelta(days=1)
    found.sort(key=lambda slot: (slot[0], str(slot[2])))
    unique = []
    for slot in found:
        if not unique or unique[-1][0] != slot[0]:
            unique.append(slot)
    return unique


# --- strategies -------------------------------------------------------------------------------


def grid_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def local_span(draw) -> tuple[time, time]:
    """A window on the 5-minute grid, often in the small hours where DST changes happen."""
    if draw(st.booleans()):
        start = draw(st.integers(0, 4 * 12))
        end = draw(st.integers(start + 1, 7 * 12))
    else:
        start = draw(st.integers(0, 24 * 12 - 2))
        end = draw(st.integers(start + 1, 24 * 12 - 1))
    return grid_time(start * 5), grid_time(end * 5)


@st.composite
def intervals(draw, base: datetime, span_minutes: int, long: bool = False) -> list[Interval]:
    result = []
    for _ in range(draw(st.integers(0, 6))):
        start = base + timedelta(minutes=5 * draw(st.integers(0, span_minutes // 5)))
        # Long ones swallow others whole, exercising the merge.
        length = st.integers(0, 24) | st.integers(0, 288) if long else st.integers(0, 60)
        end = start + timedelta(minutes=5 * draw(length))
        # Same instants written in another zone must not matter.
        shown_in = draw(
            st.sampled_from([UTC, timezone(timedelta(hours=-3)), ZoneInfo("Asia/Kolkata")])
        )
        result.append(Interval(start.astimezone(shown_in), end.astimezone(shown_in)))
    return result


@st.composite
def cases(draw) -> dict:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(TRANSITIONS[zone] * 3 + ORDINARY))
    first_day = anchor + timedelta(days=draw(st.integers(-1, 0) | st.integers(-3, 1)))
    last_day = first_day + timedelta(days=draw(st.integers(0, 5)))
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    near_days = st.one_of(st.none(), st.sampled_from([*days, first_day - timedelta(days=7)]))
    # Rules favour one weekday (the transition date's, if in range) so windows often overlap
    # and often fall on the DST change.
    focus = anchor if anchor in days else days[0]
    weekdays = st.sampled_from([focus.weekday(), *(d.weekday() for d in days), 0, 3])

    rules = []
    for _ in range(draw(st.integers(0, 4) | st.integers(1, 3))):
        start, end = draw(local_span())
        rules.append(
            WeeklyRule(
                weekday=draw(weekdays),
                start=start,
                end=end,
                location_id=draw(st.sampled_from(LOCATIONS)),
                valid_from=draw(near_days),
                valid_until=draw(near_days),
            )
        )
    overrides = {}
    for day in draw(st.lists(st.sampled_from(days), max_size=3, unique=True)):
        overrides[day] = [
            LocalWindow(*draw(local_span()), draw(st.sampled_from(LOCATIONS)))
            for _ in range(draw(st.integers(0, 2)))
        ]

    # Busy/time-off intervals and "now" spread from a day before to a day after the range.
    base = datetime.combine(first_day - timedelta(days=1), time(), UTC)
    span_minutes = (len(days) + 2) * 24 * 60
    # On the 5-minute grid of the windows, so notice and horizon boundaries get hit exactly.
    now = base + timedelta(
        minutes=5 * draw(st.integers(-24 * 12, 24 * 12) | st.integers(0, span_minutes // 5)),
        seconds=draw(st.sampled_from([0, 1, 59])),
    )
    return {
        "zone": zone,
        "first_day": first_day,
        "last_day": last_day,
        "rules": rules,
        "overrides": overrides,
        "busy": draw(intervals(base, span_minutes)),
        "time_off": draw(intervals(base, span_minutes)),
        "settings": BookingSettings(
            slot_interval_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])),
            buffer_before_minutes=5 * draw(st.integers(0, 6)),
            buffer_after_minutes=5 * draw(st.integers(0, 6)),
            min_notice_minutes=draw(st.sampled_from([0, 1, 30, 120, 24 * 60])),
            horizon_days=draw(st.sampled_from([*[9] * 5, 2, 1, 0])),
        ),
        "duration": draw(st.sampled_from([5, 15, 30, 45, 60, 90, 120])),
        "now": now.astimezone(draw(st.sampled_from([UTC, ZoneInfo(zone)]))),
    }


# Local times that fall in the gap or the repeated hour of some zone above on its transition
# dates (e.g. 02:15: New York, Sydney and Lord Howe gaps, Sydney's repeated hour).
AWKWARD_TIMES = [time(0), time(1, 30), time(1, 45), time(2, 15), time(3), time(6), time(22)]


@st.composite
def crowded_days(draw) -> dict:
    """One day around a DST change, packed with nested, overlapping and touching intervals."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(TRANSITIONS[zone] + ORDINARY))
    rules = []
    for location in LOCATIONS[: draw(st.integers(1, 2))]:
        start = draw(st.sampled_from(AWKWARD_TIMES))
        end = draw(st.sampled_from([t for t in AWKWARD_TIMES if t > start] + [time(23, 55)]))
        rules.append(WeeklyRule(day.weekday(), start, end, location))
    base = datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)
    span_minutes = 24 * 60
    return {
        "zone": zone,
        "first_day": day,
        "last_day": day,
        "rules": rules,
        "overrides": {},
        "busy": draw(intervals(base, span_minutes, long=True))
        + draw(intervals(base, span_minutes, long=True)),
        "time_off": draw(intervals(base, span_minutes, long=True)),
        "settings": BookingSettings(
            slot_interval_minutes=draw(st.sampled_from([5, 10, 15, 30, 60])),
            buffer_before_minutes=5 * draw(st.integers(0, 6)),
            buffer_after_minutes=5 * draw(st.integers(0, 6)),
            horizon_days=draw(st.sampled_from([2, 1])),
        ),
        "duration": draw(st.sampled_from([5, 15, 30, 60])),
        # Up to two days before the day starts, so the horizon often ends inside it.
        "now": base - timedelta(minutes=5 * draw(st.integers(0, 2 * 24 * 12))),
    }


def engine(case: dict, **changes) -> list[Slot]:
    case = {**case, **changes}
    return compute_slots(
        rules=case["rules"],
        overrides=case["overrides"],
        time_off=case["time_off"],
        busy=case["busy"],
        timezone=case["zone"],
        settings=case["settings"],
        duration_minutes=case["duration"],
        now=case["now"],
        first_day=case["first_day"],
        last_day=case["last_day"],
    )


# --- properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(cases())
def test_slots_obey_every_rule_and_match_the_reference(case):
    slots = engine(case)
    s: BookingSettings = case["settings"]
    tz = ZoneInfo(case["zone"])
    step = timedelta(minutes=s.slot_interval_minutes)
    blocks = case["busy"] + case["time_off"]

    for slot in slots:
        assert slot.start_at.tzinfo is UTC and slot.end_at.tzinfo is UTC
        assert slot.end_at - slot.start_at == timedelta(minutes=case["duration"])
        # Inside a window of its own local date, on that window's k * interval grid.
        local_day = slot.start_at.astimezone(tz).date()
        assert case["first_day"] <= local_day <= case["last_day"]
        assert any(
            ws <= slot.start_at
            and slot.end_at <= we
            and (slot.start_at - ws) % step == timedelta(0)
            and loc == slot.location_id
            for ws, we, loc in reference_windows(case, local_day)
        )
        # No conflict once widened by this booking's buffers.
        lo = slot.start_at - timedelta(minutes=s.buffer_before_minutes)
        hi = slot.end_at + timedelta(minutes=s.buffer_after_minutes)
        assert not any(lo < b.end and b.start < hi for b in blocks)
        # Notice and horizon.
        now = case["now"].astimezone(UTC)
        assert slot.start_at >= now + timedelta(minutes=s.min_notice_minutes)
        assert slot.start_at < now + timedelta(days=s.horizon_days)

    assert all(a.start_at < b.start_at for a, b in pairwise(slots))
    # Completeness (and the tie-break between windows): exactly the reference's slots.
    assert [(x.start_at, x.end_at, x.location_id) for x in slots] == reference_slots(case)


@PROPERTY_SETTINGS
@given(crowded_days())
def test_crowded_days_match_the_reference(case):
    assert [(x.start_at, x.end_at, x.location_id) for x in engine(case)] == reference_slots(case)


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_interval_order_and_split_between_busy_and_time_off_do_not_matter(case, rnd):
    expected = engine(case)
    everything = case["busy"] + case["time_off"]
    rnd.shuffle(everything)
    cut = rnd.randint(0, len(everything))
    assert engine(case, busy=everything[:cut], time_off=everything[cut:]) == expected


@st.composite
def local_moments(draw) -> tuple[str, date, int, int]:
    """(zone, day, minute of day, second), mostly in the small hours of a transition date."""
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(TRANSITIONS[zone] * 2 + ORDINARY))
    day += timedelta(days=draw(st.sampled_from([0, 0, -1, 1])))
    # 01:00-04:00 holds every gap and repeated hour of these zones.
    minutes = draw(st.integers(60, 4 * 60) | st.integers(0, 24 * 60 - 1))
    return zone, day, minutes, draw(st.integers(0, 59))


@settings(max_examples=300, deadline=None)
@given(local_moments())
def test_to_instant_matches_brute_force(moment):
    zone, day, minutes, seconds = moment
    tz = ZoneInfo(zone)
    at = time(minutes // 60, minutes % 60)
    expected = slow_instant(day, at, zone)
    assert to_instant(day, at, tz) == expected
    # Transitions fall on whole minutes, so within a minute that exists every second exists,
    # and every second of a skipped minute moves to the same transition instant.
    if expected.astimezone(tz).replace(tzinfo=None) == datetime.combine(day, at):
        expected += timedelta(seconds=seconds)
    assert to_instant(day, at.replace(second=seconds), tz) == expected
