"""The practitioner's private iCalendar feed of confirmed bookings, and rotating its link."""

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from marketplace.bookings.models import BookingStatus
from tests.factories import create_listing, make_booking
from tests.helpers import problem_of

PROFILE_URL = "/api/v1/practitioner/profile"
FEED_PATH = "/api/v1/practitioner/calendar.ics"
ROTATE_URL = "/api/v1/practitioner/calendar-token"


@pytest.fixture
def listing(app):
    return create_listing(app)


@pytest.fixture
def owner(listing, token_for):
    return token_for(listing.owner_email)


def upcoming(weekday: int, zone: str, days_ahead: int = 3) -> date:
    """The first `weekday` at least `days_ahead` local days from now in `zone`."""
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def local(listing, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), ZoneInfo(listing.timezone))


def calendar_url_of(client, headers) -> str:
    response = client.get(PROFILE_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["calendar_url"]


def fetch_feed(client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.get_data())


def events_of(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def times_of(event) -> tuple[datetime, datetime]:
    return event.decoded("dtstart"), event.decoded("dtend")


# --- the link -----------------------------------------------------------------------------


def test_the_profile_gives_a_private_calendar_url(client, owner):
    url = calendar_url_of(client, owner)

    parts = urlsplit(url)
    assert parts.scheme in {"http", "https"}
    assert parts.path == FEED_PATH
    assert len(parse_qs(parts.query)["token"][0]) >= 32


def test_calendar_urls_differ_between_practitioners(app, client, owner, token_for):
    other = create_listing(app)

    assert calendar_url_of(client, owner) != calendar_url_of(client, token_for(other.owner_email))


# --- the feed -----------------------------------------------------------------------------


def test_the_feed_is_a_valid_calendar_without_sign_in(client, owner):
    url = calendar_url_of(client, owner)

    calendar = fetch_feed(client, url)

    assert calendar.name == "VCALENDAR"
    assert str(calendar["version"]) == "2.0"
    assert calendar["prodid"]
    assert events_of(calendar) == []


def test_the_feed_has_one_event_per_confirmed_booking(app, client, listing, owner):
    monday = upcoming(0, listing.timezone)
    starts = [local(listing, monday, "10:00"), local(listing, monday + timedelta(days=1), "14:00")]
    for start in starts:
        make_booking(app, listing, start)

    events = events_of(fetch_feed(client, calendar_url_of(client, owner)))

    assert sorted(times_of(event)[0] for event in events) == starts
    assert len({str(event["uid"]) for event in events}) == 2


@pytest.mark.parametrize(
    ("status", "hold_for"),
    [
        (BookingStatus.HELD, timedelta(minutes=15)),
        (BookingStatus.CANCELLED, None),
        (BookingStatus.EXPIRED, timedelta(minutes=-5)),
    ],
    ids=["held", "cancelled", "expired"],
)
def test_bookings_that_are_not_confirmed_are_left_out(
    app, client, listing, owner, status, hold_for
):
    monday = upcoming(0, listing.timezone)
    make_booking(app, listing, local(listing, monday, "10:00"))
    expires = datetime.now(UTC) + hold_for if hold_for is not None else None
    make_booking(
        app, listing, local(listing, monday, "13:00"), status=status, hold_expires_at=expires
    )

    events = events_of(fetch_feed(client, calendar_url_of(client, owner)))

    assert [times_of(event)[0] for event in events] == [local(listing, monday, "10:00")]


def test_event_times_are_the_booking_times_in_utc(app, client, listing, owner):
    monday = upcoming(0, listing.timezone)
    start = local(listing, monday, "09:30")
    make_booking(app, listing, start)
    response = client.get(calendar_url_of(client, owner))

    (event,) = events_of(Calendar.from_ical(response.get_data()))

    dtstart, dtend = times_of(event)
    assert (dtstart, dtend) == (start, start + timedelta(minutes=60))
    assert dtstart.utcoffset() == dtend.utcoffset() == timedelta(0)
    text = response.get_data(as_text=True)
    assert f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%S}Z" in text
    assert f"DTEND:{(start + timedelta(minutes=60)).astimezone(UTC):%Y%m%dT%H%M%S}Z" in text


def test_event_uids_are_stable_across_fetches(app, client, listing, owner):
    monday = upcoming(0, listing.timezone)
    for hhmm in ("09:00", "11:00", "15:00"):
        make_booking(app, listing, local(listing, monday, hhmm))
    url = calendar_url_of(client, owner)

    first = {str(e["uid"]): times_of(e) for e in events_of(fetch_feed(client, url))}
    second = {str(e["uid"]): times_of(e) for e in events_of(fetch_feed(client, url))}

    assert len(first) == 3
    assert first == second


def test_the_feed_shows_only_the_practitioners_own_bookings(app, client, listing, owner):
    other = create_listing(app)
    monday = upcoming(0, listing.timezone)
    make_booking(app, other, local(other, monday, "10:00"))
    mine = local(listing, monday, "12:00")
    make_booking(app, listing, mine)

    events = events_of(fetch_feed(client, calendar_url_of(client, owner)))

    assert [times_of(event)[0] for event in events] == [mine]


# --- bad links ----------------------------------------------------------------------------


def test_an_unknown_token_is_not_found(client, listing):
    problem_of(client.get(FEED_PATH, query_string={"token": "not-a-real-token"}), 404)


def test_a_missing_token_is_refused(client, listing):
    problem = problem_of(client.get(FEED_PATH), 422)

    assert "token" in problem["errors"]


def test_an_empty_token_is_refused(client, listing):
    problem = problem_of(client.get(FEED_PATH, query_string={"token": ""}), 422)

    assert "token" in problem["errors"]


def test_a_token_with_a_nul_character_is_not_a_calendar(client, listing):
    response = client.get(FEED_PATH, query_string={"token": "abc\x00def"})

    assert response.status_code in {404, 422}, response.get_data(as_text=True)
    problem_of(response, response.status_code)


# --- rotating the link --------------------------------------------------------------------


def test_rotating_the_token_gives_a_new_url_and_the_old_one_stops_working(
    app, client, listing, owner
):
    make_booking(app, listing, local(listing, upcoming(0, listing.timezone), "10:00"))
    old_url = calendar_url_of(client, owner)

    response = client.post(ROTATE_URL, headers=owner)

    assert response.status_code == 200, response.get_json()
    new_url = response.get_json()["calendar_url"]
    assert new_url != old_url
    assert urlsplit(new_url).path == FEED_PATH
    assert calendar_url_of(client, owner) == new_url
    assert len(events_of(fetch_feed(client, new_url))) == 1
    problem_of(client.get(old_url), 404)


def test_rotating_keeps_the_event_uids(app, client, listing, owner):
    make_booking(app, listing, local(listing, upcoming(0, listing.timezone), "10:00"))
    before = [str(e["uid"]) for e in events_of(fetch_feed(client, calendar_url_of(client, owner)))]

    new_url = client.post(ROTATE_URL, headers=owner).get_json()["calendar_url"]

    assert [str(e["uid"]) for e in events_of(fetch_feed(client, new_url))] == before


def test_rotating_leaves_other_practitioners_links_working(app, client, owner, token_for):
    other = create_listing(app)
    their_url = calendar_url_of(client, token_for(other.owner_email))

    assert client.post(ROTATE_URL, headers=owner).status_code == 200

    fetch_feed(client, their_url)


def test_a_patient_may_not_rotate_a_calendar_token(client, auth):
    problem_of(client.post(ROTATE_URL, headers=auth("patient")), 403)


def test_anonymous_may_not_rotate_a_calendar_token(client, listing, owner):
    url = calendar_url_of(client, owner)

    problem_of(client.post(ROTATE_URL), 401)

    fetch_feed(client, url)
