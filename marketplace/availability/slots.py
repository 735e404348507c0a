"""Pure availability slot engine.

Turns a practitioner's weekly rules, date overrides, time off and existing bookings into the
list of bookable slots. Standard library only, so it can be unit- and property-tested without
Flask or a database, and reused by any caller that can load the inputs.

Internally every instant is an integer count of microseconds since the Unix epoch: integer
arithmetic is exact (no float rounding, sub-second inputs stay correct) and much cheaper than
datetime arithmetic in the candidate loop. Datetimes are only built for the slots returned.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "BookingSettings",
    "Interval",
    "LocalWindow",
    "Slot",
    "WeeklyRule",
    "blocked_interval",
    "compute_slots",
    "local_window_bounds",
    "to_instant",
]


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    weekday: int  # Monday=0 .. Sunday=6, in the practitioner's local zone
    start: time  # local wall-clock time
    end: time  # local wall-clock time, > start (a window never crosses midnight)
    location_id: object  # opaque (a UUID in practice), copied into the slots
    valid_from: date | None = None  # inclusive, local date
    valid_until: date | None = None  # inclusive


@dataclass(frozen=True, slots=True)
class LocalWindow:
    """One window of a date override."""

    start: time
    end: time
    location_id: object


@dataclass(frozen=True, slots=True)
class Interval:
    """An instant range [start, end), both timezone-aware datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class BookingSettings:
    slot_interval_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0
    horizon_days: int = 60


@dataclass(frozen=True, slots=True)
class Slot:
    start_at: datetime  # aware, tzinfo=datetime.UTC
    end_at: datetime  # aware UTC
    location_id: object


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_DAY = 24 * 60 * _US_PER_MINUTE
_ONE_DAY = timedelta(days=1)


def to_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of the local wall-clock time ``at`` on ``day`` in ``tz``.

    A local time skipped by a spring-forward gap moves forward to the first local time that
    exists, i.e. the transition instant (New York 2026-03-08 02:30 -> 03:00 EDT). A local time
    repeated by a fall-back takes its first occurrence.
    """
    # fold=0 is the first occurrence of an ambiguous time; ``combine`` would otherwise copy a
    # fold=1 carried by ``at``.
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # ``naive`` falls in a gap. zoneinfo resolves it with the offset before (fold=0) or after
    # (fold=1) the transition; the transition instant lies between those two readings and is
    # the earliest instant whose local time is past ``naive``. tzdata transitions fall on whole
    # seconds, so a binary search over epoch seconds finds it exactly.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo = min(first, other)
    hi = max(first, other)
    lo_s = (lo - _EPOCH) // timedelta(seconds=1)  # local time < naive here
    hi_s = -((_EPOCH - hi) // timedelta(seconds=1))  # local time > naive here
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def local_window_bounds(
    day: date, start: time, end: time, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """UTC instants ``(start, end)`` of a local window on ``day`` (see ``to_instant``)."""
    return to_instant(day, start, tz), to_instant(day, end, tz)


def blocked_interval(
    start_at: datetime,
    end_at: datetime,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
) -> Interval:
    """The span a booking [start_at, end_at) keeps the practitioner busy, buffers included.

    Returned in UTC: arithmetic on a datetime carrying a ZoneInfo is wall-clock arithmetic,
    which would be off by the DST shift next to a transition; buffers are real minutes.
    """
    _aware_us(start_at, "start_at")
    _aware_us(end_at, "end_at")
    return Interval(
        start_at.astimezone(UTC) - timedelta(minutes=buffer_before_minutes),
        end_at.astimezone(UTC) + timedelta(minutes=buffer_after_minutes),
    )


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# Window bounds depend only on (day, local times, zone), and the same practitioner's weeks are
# recomputed on every request, so the zone conversions are memoised.
@lru_cache(maxsize=16384)
def _window_us(day: date, start: time, end: time, tz: ZoneInfo) -> tuple[int, int]:
    start_at, end_at = local_window_bounds(day, start, end, tz)
    return (start_at - _EPOCH) // _ONE_US, (end_at - _EPOCH) // _ONE_US


def _aware_us(value: datetime, what: str) -> int:
    try:
        # Subtracting from an aware datetime is also the cheapest awareness check: it raises
        # TypeError for a naive value (or a tzinfo whose utcoffset is None).
        return (value - _EPOCH) // _ONE_US
    except TypeError:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}") from None


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _merged_blocks(*groups: Sequence[Interval]) -> tuple[list[int], list[int]]:
    """Sorted, disjoint ``(starts, ends)`` covering every interval of ``groups``.

    Merging keeps the overlap test identical (a.start < b.end and b.start < a.end against the
    union answers the same as against the parts, touching parts included) while making ends
    strictly increasing, so one bisect finds the only interval that can conflict.
    """
    spans = []
    for group in groups:
        for interval in group:
            start = _aware_us(interval.start, "interval start")
            end = _aware_us(interval.end, "interval end")
            if end < start:
                raise ValueError(f"interval ends before it starts: {interval!r}")
            spans.append((start, end))
    spans.sort()
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:
        if ends and start <= ends[-1]:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def compute_slots(
    *,
    rules: Sequence[WeeklyRule],
    overrides: Mapping[date, Sequence[LocalWindow]],
    time_off: Sequence[Interval],
    busy: Sequence[Interval],
    timezone: str | ZoneInfo,
    settings: BookingSettings,
    duration_minutes: int,
    now: datetime,
    first_day: date,
    last_day: date,
) -> list[Slot]:
    """Bookable slots for the local dates ``first_day`` .. ``last_day`` (both included).

    ``overrides[d]`` replaces the weekly rules on ``d`` (an empty sequence closes the day).
    ``busy`` holds active bookings already widened by their own buffers (``blocked_interval``).
    Slots start at ``window_start + k * slot_interval`` in real elapsed minutes, must end by
    the window end, must not overlap a busy or time-off interval once widened by this
    booking's buffers, and must start in ``[now + min_notice, now + horizon_days)``.
    The result is ordered and unique by ``start_at``; all datetimes are UTC.
    """
    if duration_minutes <= 0:
        raise ValueError(f"duration_minutes must be positive, got {duration_minutes}")
    if settings.slot_interval_minutes <= 0:
        raise ValueError(
            f"slot_interval_minutes must be positive, got {settings.slot_interval_minutes}"
        )
    if settings.buffer_before_minutes < 0 or settings.buffer_after_minutes < 0:
        raise ValueError("buffers must not be negative")
    now_us = _aware_us(now, "now")
    tz = timezone if isinstance(timezone, ZoneInfo) else _zone(timezone)
    block_starts, block_ends = _merged_blocks(busy, time_off)
    n_blocks = len(block_starts)

    step = settings.slot_interval_minutes * _US_PER_MINUTE
    duration = duration_minutes * _US_PER_MINUTE
    before = settings.buffer_before_minutes * _US_PER_MINUTE
    # A candidate [s, s + duration) conflicts with [a, b) iff s - before < b and a < s + tail.
    tail = duration + settings.buffer_after_minutes * _US_PER_MINUTE
    earliest = now_us + settings.min_notice_minutes * _US_PER_MINUTE
    horizon_end = now_us + settings.horizon_days * _US_PER_DAY  # exclusive

    rules_by_weekday: dict[int, list[WeeklyRule]] = {}
    for rule in rules:
        rules_by_weekday.setdefault(rule.weekday, []).append(rule)

    # (start, location sort key, window sequence, location): sorting puts duplicates of an
    # instant next to each other with the smallest location first, deterministically even for
    # locations that do not compare with each other.
    found: list[tuple[int, str, int, object]] = []
    window_seq = 0
    day = first_day
    while day <= last_day:
        if day in overrides:
            windows: Sequence[WeeklyRule | LocalWindow] = overrides[day]
        else:
            windows = [
                rule
                for rule in rules_by_weekday.get(day.weekday(), ())
                if (rule.valid_from is None or rule.valid_from <= day)
                and (rule.valid_until is None or day <= rule.valid_until)
            ]
        for window in windows:
            window_seq += 1
            win_start, win_end = _window_us(day, window.start, window.end, tz)
            last_start = min(win_end - duration, horizon_end - 1)  # integers: s < horizon
            if last_start < win_start or last_start < earliest:
                continue
            k = 0 if earliest <= win_start else _ceil_div(earliest - win_start, step)
            k_last = (last_start - win_start) // step
            location = window.location_id
            location_key = str(location)
            while k <= k_last:
                start = win_start + k * step
                i = bisect_right(block_ends, start - before)
                if i < n_blocks and block_starts[i] < start + tail:
                    # Every later candidate still starting (minus buffer) before this block's
                    # end conflicts with it too, so jump straight past it.
                    k = max(k + 1, _ceil_div(block_ends[i] + before - win_start, step))
                    continue
                found.append((start, location_key, window_seq, location))
                k += 1
        day += _ONE_DAY

    found.sort()
    duration_td = timedelta(microseconds=duration)
    slots: list[Slot] = []
    previous = None
    for start, _key, _seq, location in found:
        if start == previous:
            continue
        previous = start
        start_at = _EPOCH + timedelta(microseconds=start)
        slots.append(Slot(start_at, start_at + duration_td, location))
    return slots
