"""Search's availability summary agrees with the slots endpoint, whatever happened.

Random practitioners (seeded) across four zones get bookings, payments, cancellations,
schedule edits, overrides, time off and settings changes through the public API; after each
round every listing's `next_available_at` must equal the first slot that
GET /practitioners/{slug}/slots returns for its services, and `available_on=<day>` must find a
listing exactly when it has a slot that day.

The app's clock is frozen (at the real time the test starts, or before three DST changes)
so that "the first slot" means the same instant to the summary, written at the change, and to
the slots read afterwards; the clock is then moved on by hours to show that the summary stays
right while time passes, and by days for refresh-availability.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from marketplace.bookings.models import Booking
from marketplace.extensions import db
from marketplace.practitioners import service as listings
from marketplace.practitioners.models import Practitioner
from marketplace.search.models import SearchListing
from tests.factories import ALL_DAY, add_extra_service, create_listing, hold, pay
from tests.helpers import parse
from tests.search.helpers import free_slots, freeze_clock, local_today, search

ZONES = ("Australia/Sydney", "Australia/Perth", "America/New_York", "Europe/London")
THERAPIES = ("trigger-point-therapy", "dry-needling", "myotherapy", "remedial-massage")
SLOT_RANGE = timedelta(days=61)  # the slots endpoint's widest range: 62 local days


@dataclass
class Listing:
    id: uuid.UUID
    slug: str
    zone: str
    location_id: uuid.UUID
    owner: dict
    services: list[str] = field(default_factory=list)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def random_hours(rng: random.Random) -> list[tuple[int, str, str]]:
    """Weekly hours: most days one or two windows, some days closed."""
    hours = []
    for weekday in range(7):
        if rng.random() < 0.15:
            continue
        start = rng.randrange(0, 14 * 60, 30)
        end = min(start + rng.choice((60, 90, 180, 240, 480)), 23 * 60 + 59)
        hours.append((weekday, hhmm(start), hhmm(end)))
        if rng.random() < 0.3 and end + 60 < 23 * 60:
            later = end + rng.choice((30, 60))
            hours.append((weekday, hhmm(later), hhmm(min(later + 120, 23 * 60 + 59))))
    return hours


def random_settings(rng: random.Random) -> dict:
    return {
        "slot_interval_minutes": rng.choice((10, 15, 20, 30)),
        "buffer_before_minutes": rng.choice((0, 0, 5, 10)),
        "buffer_after_minutes": rng.choice((0, 5, 15)),
        "min_notice_minutes": rng.choice((0, 0, 60, 240, 1440)),
    }


def build_listing(app, client, token_for, rng: random.Random, index: int) -> Listing:
    zone = rng.choice(ZONES)
    built = create_listing(
        app,
        name=f"Random {index} {rng.randrange(10**6)}",
        timezone=zone,
        therapy=rng.choice(THERAPIES),
        duration_minutes=rng.choice((30, 45, 60, 90)),
        weekly_hours=ALL_DAY if index == 0 else random_hours(rng),
        **random_settings(rng),
    )
    owner = token_for(built.owner_email)
    listing = Listing(built.id, built.slug, zone, built.location_id, owner, [str(built.service_id)])
    if rng.random() < 0.5:
        listing.services.append(
            add_extra_service(
                client,
                owner,
                therapy=rng.choice(THERAPIES),
                duration_minutes=rng.choice((20, 45, 75, 120)),
            )
        )
    if rng.random() < 0.3:  # an inactive service has no say in availability
        inactive = add_extra_service(client, owner, duration_minutes=15)
        client.patch(
            f"/api/v1/practitioner/services/{inactive}", json={"active": False}, headers=owner
        )
    return listing


class Scenario:
    """Random listings and random changes to them, all through the public API."""

    def __init__(
        self, app, client, token_for, auth, seed: int, now: datetime, size: int, pay_rate=0.7
    ):
        self.app, self.client, self.now, self.pay_rate = app, client, now, pay_rate
        self.rng = random.Random(seed)
        self.listings = [
            build_listing(app, client, token_for, self.rng, index) for index in range(size)
        ]
        self.patients = [auth("patient") for _ in range(3)]
        self.bookings: list[tuple[str, dict, Listing]] = []

    def today(self, listing: Listing):
        return local_today(listing.zone, self.now)

    def slots(self, listing: Listing, service_id: str, days: int = 61) -> list[dict]:
        today = self.today(listing)
        return free_slots(
            self.client, listing.slug, service_id, today, today + timedelta(days=days)
        )

    # --- changes -----------------------------------------------------------------------------

    def book(self):
        listing = self.rng.choice(self.listings)
        service_id = self.rng.choice(listing.services)
        offered = self.slots(listing, service_id, days=6)
        if not offered:
            return
        slot = offered[0] if self.rng.random() < 0.5 else self.rng.choice(offered)
        patient = self.rng.choice(self.patients)
        created = hold(self.client, patient, service_id, slot["start_at"])
        if self.rng.random() < self.pay_rate:
            pay(self.client, created["checkout_url"])
        self.bookings.append((created["booking"]["id"], patient, listing))

    def cancel(self):
        if not self.bookings:
            return
        booking_id, patient, listing = self.bookings.pop(self.rng.randrange(len(self.bookings)))
        headers = patient if self.rng.random() < 0.6 else listing.owner
        response = self.client.post(
            f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "random"}, headers=headers
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    def reschedule_week(self):
        listing = self.rng.choice(self.listings)
        rules = [
            {"weekday": day, "start": start, "end": end, "location_id": str(listing.location_id)}
            for day, start, end in random_hours(self.rng)
        ]
        response = self.client.put(
            "/api/v1/practitioner/schedule", json={"rules": rules}, headers=listing.owner
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    def override_day(self):
        listing = self.rng.choice(self.listings)
        day = self.today(listing) + timedelta(days=self.rng.randrange(0, 10))
        windows = []
        if self.rng.random() < 0.6:
            start = self.rng.randrange(0, 20 * 60, 15)
            end = min(start + self.rng.choice((45, 90, 240)), 23 * 60 + 59)
            windows = [
                {"start": hhmm(start), "end": hhmm(end), "location_id": str(listing.location_id)}
            ]
        response = self.client.post(
            "/api/v1/practitioner/overrides",
            json={"date": day.isoformat(), "windows": windows},
            headers=listing.owner,
        )
        assert response.status_code in (200, 201), response.get_data(as_text=True)

    def take_time_off(self):
        listing = self.rng.choice(self.listings)
        start = self.now + timedelta(minutes=self.rng.randrange(0, 5 * 24 * 60, 7))
        end = start + timedelta(minutes=self.rng.randrange(30, 36 * 60))
        response = self.client.post(
            "/api/v1/practitioner/time-off",
            json={"start_at": start.isoformat(), "end_at": end.isoformat(), "reason": "away"},
            headers=listing.owner,
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    def change_settings(self):
        listing = self.rng.choice(self.listings)
        with self.app.app_context():
            listings.update_profile(
                db.session.get(Practitioner, listing.id), random_settings(self.rng)
            )
            db.session.commit()

    def run(self, steps: int):
        changes = (
            [self.book] * 5
            + [self.cancel] * 2
            + [self.reschedule_week, self.override_day, self.take_time_off, self.change_settings]
        )
        for _ in range(steps):
            self.rng.choice(changes)()

    # --- what search says against what the slots say ----------------------------------------

    def slot_starts(self, listing: Listing) -> list[datetime]:
        """Every free start of every active service over the whole horizon."""
        return sorted(
            parse(slot["start_at"])
            for service_id in listing.services
            for slot in self.slots(listing, service_id)
        )

    def next_available_mismatches(self) -> dict:
        items = {item["id"]: item for item in search(self.client, per_page=50)["items"]}
        assert set(items) == {str(listing.id) for listing in self.listings}
        wrong = {}
        for listing in self.listings:
            starts = self.slot_starts(listing)
            want = starts[0] if starts else None
            got = parse(items[str(listing.id)]["next_available_at"])
            if got != want:
                wrong[listing.slug] = {"search": got, "slots": want, "zone": listing.zone}
        return wrong

    def available_on_mismatches(self, far=(30, 59, 60, 61, 62)) -> dict:
        days_of = {
            listing.id: {
                start.astimezone(ZoneInfo(listing.zone)).date()
                for start in self.slot_starts(listing)
            }
            for listing in self.listings
        }
        first = self.now.date() - timedelta(days=1)
        days = [first + timedelta(days=n) for n in (*range(12), *far)]
        wrong = {}
        for day in days:
            got = {
                item["id"] for item in search(self.client, available_on=day, per_page=50)["items"]
            }
            want = {str(pid) for pid, offered in days_of.items() if day in offered}
            if got != want:
                wrong[day.isoformat()] = {"extra": got - want, "missing": want - got}
        return wrong


# Within the next 61 days of this instant New York (14 March), London (28 March) and Sydney
# (4 April) all change their clocks.
BEFORE_DST_CHANGES = datetime(2027, 3, 10, 1, 23, 45, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch):
    instant = datetime.now(UTC)
    freeze_clock(monkeypatch, instant)
    return instant


def start_clock(monkeypatch, clock: str) -> datetime:
    instant = datetime.now(UTC) if clock == "now" else BEFORE_DST_CHANGES
    freeze_clock(monkeypatch, instant)
    return instant


@pytest.mark.parametrize(("seed", "clock"), [(5, "now"), (2026, "dst")])
def test_next_available_at_is_the_first_slot_after_random_changes(
    app, client, token_for, auth, monkeypatch, seed, clock
):
    now = start_clock(monkeypatch, clock)
    scenario = Scenario(app, client, token_for, auth, seed, now, size=8)
    assert scenario.next_available_mismatches() == {}
    for _ in range(2):
        scenario.run(steps=15)
        assert scenario.next_available_mismatches() == {}

    # `soonest` orders by exactly that instant, the never-free last.
    items = search(client, sort="soonest", per_page=50)["items"]
    starts = [parse(item["next_available_at"]) for item in items]
    known = [start for start in starts if start is not None]
    assert starts == sorted(known) + [None] * (len(starts) - len(known))


@pytest.mark.parametrize(("seed", "clock"), [(11, "now"), (12, "dst")])
def test_available_on_finds_exactly_the_listings_with_a_slot_that_day(
    app, client, token_for, auth, monkeypatch, seed, clock
):
    now = start_clock(monkeypatch, clock)
    scenario = Scenario(app, client, token_for, auth, seed, now, size=8)
    scenario.run(steps=30)
    assert scenario.available_on_mismatches() == {}


# --- refresh-availability ---------------------------------------------------------------------


def test_refresh_availability_sweeps_lapsed_holds_and_frees_their_slots(
    app, client, auth, runner, now
):
    listing = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, min_notice_minutes=0)
    patient = auth("patient")
    today, tomorrow = now.date(), now.date() + timedelta(days=1)
    first = free_slots(client, listing.slug, listing.service_id, today, tomorrow)[0]
    held = hold(client, patient, listing.service_id, first["start_at"])["booking"]
    after_hold = free_slots(client, listing.slug, listing.service_id, today, tomorrow)[0]
    assert parse(after_hold["start_at"]) > parse(first["start_at"])
    [item] = search(client)["items"]
    assert parse(item["next_available_at"]) == parse(after_hold["start_at"])

    with app.app_context():
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == uuid.UUID(held["id"]))
            .values(hold_expires_at=now - timedelta(minutes=1))
        )
        db.session.commit()

    result = runner.invoke(args=["refresh-availability"])
    assert result.exit_code == 0, result.output
    assert "Expired 1 lapsed holds" in result.output

    booking = client.get(f"/api/v1/bookings/{held['id']}", headers=patient).get_json()
    assert booking["status"] == "expired"
    offered = free_slots(client, listing.slug, listing.service_id, today, tomorrow)
    assert offered[0]["start_at"] == first["start_at"]
    [item] = search(client)["items"]
    assert parse(item["next_available_at"]) == parse(first["start_at"])


def test_refresh_availability_stale_only_indexes_approved_listings_without_a_search_row(
    app, client, runner
):
    listing = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, min_notice_minutes=0)
    with app.app_context():  # as after an upgrade that rebuilds the search tables
        db.session.execute(
            sa.delete(SearchListing).where(SearchListing.practitioner_id == listing.id)
        )
        db.session.commit()
    assert search(client)["items"] == []

    result = runner.invoke(args=["refresh-availability", "--stale-only"])
    assert result.exit_code == 0, result.output
    assert [item["id"] for item in search(client)["items"]] == [str(listing.id)]


def test_refresh_availability_rolls_the_summary_forward(
    app, client, token_for, auth, runner, monkeypatch
):
    """Listings last indexed three days ago are brought up to today's horizon."""
    real_now = datetime.now(UTC)
    freeze_clock(monkeypatch, real_now - timedelta(days=3))
    scenario = Scenario(app, client, token_for, auth, 23, real_now - timedelta(days=3), size=6)
    scenario.run(steps=8)

    freeze_clock(monkeypatch, real_now)
    scenario.now = real_now
    result = runner.invoke(args=["refresh-availability"])
    assert result.exit_code == 0, result.output
    assert "refreshed 6 listings" in result.output

    assert scenario.next_available_mismatches() == {}
    assert scenario.available_on_mismatches() == {}


def test_refresh_availability_keeps_random_listings_consistent(
    app, client, token_for, auth, runner, now
):
    scenario = Scenario(app, client, token_for, auth, 31, now, size=6)
    scenario.run(steps=12)
    result = runner.invoke(args=["refresh-availability", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert scenario.next_available_mismatches() == {}


# --- time passing ----------------------------------------------------------------------------


def test_the_summary_stays_right_as_the_hours_pass(app, client, token_for, auth, monkeypatch):
    """Hours after the last change, the first slots of the summary may have passed.

    (Only paid bookings: a lapsing hold is refresh-availability's to sweep.)
    """
    written = start_clock(monkeypatch, "now")
    scenario = Scenario(app, client, token_for, auth, 41, written, size=8, pay_rate=1.0)
    scenario.run(steps=15)
    for later in (timedelta(minutes=47), timedelta(hours=3, minutes=7), timedelta(hours=7)):
        scenario.now = written + later
        freeze_clock(monkeypatch, scenario.now)
        assert scenario.next_available_mismatches() == {}, later
        assert scenario.available_on_mismatches(far=(30,)) == {}, later


@pytest.mark.parametrize(
    ("notice", "interval", "later", "expected"),
    [
        (0, 15, timedelta(hours=4), time(12, 0)),
        (0, 30, timedelta(hours=4, minutes=5), time(12, 30)),
        (90, 20, timedelta(hours=4, minutes=7), time(13, 40)),
    ],
)
def test_a_day_stays_available_after_its_first_slot_has_passed(
    app, client, monkeypatch, notice, interval, later, expected
):
    """Hours after the last change, today's later slots are still free and still found."""
    morning = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8), UTC)
    freeze_clock(monkeypatch, morning)
    listing = create_listing(
        app,
        timezone="UTC",
        weekly_hours=ALL_DAY,
        min_notice_minutes=notice,
        slot_interval_minutes=interval,
    )
    day = morning.date()
    [first, *_] = free_slots(client, listing.slug, listing.service_id, day, day)
    [item] = search(client)["items"]
    assert item["next_available_at"] == first["start_at"]

    freeze_clock(monkeypatch, morning + later)
    offered = free_slots(client, listing.slug, listing.service_id, day, day)
    assert parse(offered[0]["start_at"]) == datetime.combine(day, expected, UTC)

    [item] = search(client)["items"]
    assert parse(item["next_available_at"]) == parse(offered[0]["start_at"])
    assert [i["id"] for i in search(client, available_on=day)["items"]] == [str(listing.id)]


def test_a_day_whose_last_slot_has_passed_is_no_longer_available(app, client, monkeypatch):
    morning = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8), UTC)
    freeze_clock(monkeypatch, morning)
    listing = create_listing(
        app, timezone="UTC", weekly_hours=[(day, "09:00", "17:00") for day in range(7)]
    )
    day = morning.date()
    assert [i["id"] for i in search(client, available_on=day)["items"]] == [str(listing.id)]

    freeze_clock(monkeypatch, datetime.combine(day, time(16, 1), UTC))
    assert free_slots(client, listing.slug, listing.service_id, day, day) == []
    assert search(client, available_on=day)["items"] == []
    [item] = search(client)["items"]
    assert parse(item["next_available_at"]) == datetime.combine(
        day + timedelta(days=1), time(9), UTC
    )


def test_soonest_orders_by_the_next_slot_after_the_hours_pass_and_a_refresh(
    app, client, runner, monkeypatch
):
    """The order follows the exact next slots even when the summary was written hours ago,
    and stays so after `refresh-availability --stale-only` rewrites the stale days."""
    morning = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(8), UTC)
    freeze_clock(monkeypatch, morning)
    # Open all day on a half-hour grid: written at 08:00, its first slot soon passes.
    all_day = create_listing(app, timezone="UTC", weekly_hours=ALL_DAY, slot_interval_minutes=30)
    # Opens at 12:10: its first slot is still ahead at 12:05.
    midday = create_listing(
        app, timezone="UTC", weekly_hours=[(day, "12:10", "18:00") for day in range(7)]
    )
    freeze_clock(monkeypatch, morning + timedelta(hours=4, minutes=5))
    items = search(client, sort="soonest")["items"]
    shown = {item["id"]: parse(item["next_available_at"]) for item in items}
    day = morning.date()
    assert shown == {
        str(all_day.id): datetime.combine(day, time(12, 30), UTC),
        str(midday.id): datetime.combine(day, time(12, 10), UTC),
    }
    assert [item["id"] for item in items] == [str(midday.id), str(all_day.id)]

    result = runner.invoke(args=["refresh-availability", "--stale-only"])
    assert result.exit_code == 0, result.output
    assert "refreshed 1 listings" in result.output
    items = search(client, sort="soonest")["items"]
    assert [item["id"] for item in items] == [str(midday.id), str(all_day.id)]
    assert {item["id"]: parse(item["next_available_at"]) for item in items} == shown
