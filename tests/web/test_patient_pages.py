"""The patient's pages: home, search, a practitioner's page and its slot picker, booking and
paying, the confirmation and its calendar file, my bookings, cancelling and rescheduling.

Slot values are read from the rendered pages, as a browser would submit them.
"""

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa

from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from marketplace.practitioners.models import Gender, ListingStatus
from tests.factories import (
    ALL_DAY,
    PASSWORD,
    create_listing,
    create_override,
    create_service,
    create_user,
    lapse_hold,
    set_status,
)
from tests.web.pages import csrf_token, html, sign_in, submit

SYDNEY = "Australia/Sydney"
ZONE_WORD = r"AE[DS]T"
START_VALUE = re.compile(r'name="start_at" value="([^"]+)"')


# --- helpers -------------------------------------------------------------------------------


def in_app(app, read):
    """`read()` inside an app context: plain values out, never live ORM objects."""
    with app.app_context():
        return read()


def bookings_of(app, patient_id) -> list[dict]:
    """The patient's bookings as stored, oldest start first."""

    def read():
        rows = db.session.scalars(
            sa.select(Booking).where(Booking.patient_id == patient_id).order_by(Booking.start_at)
        )
        return [
            {
                "id": row.id,
                "status": row.status,
                "start_at": row.start_at,
                "service_id": row.service_id,
                "location_id": row.location_id,
                "refund_cents": row.refund_cents,
                "cancelled_at": row.cancelled_at,
                "cancellation_reason": row.cancellation_reason,
                "checkout_session_id": row.checkout_session_id,
            }
            for row in rows
        ]

    return in_app(app, read)


def booking_count(app) -> int:
    return in_app(app, lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Booking)))


def booking_row(app, booking_id) -> dict:
    def read():
        row = db.session.get(Booking, uuid.UUID(str(booking_id)))
        return {
            "id": row.id,
            "status": row.status,
            "start_at": row.start_at,
            "end_at": row.end_at,
            "refund_cents": row.refund_cents,
            "cancelled_at": row.cancelled_at,
            "cancellation_reason": row.cancellation_reason,
        }

    return in_app(app, read)


def move_into_the_past(app, booking_id, status: BookingStatus) -> None:
    """As if the appointment had happened a week ago (time cannot be booked in the past)."""

    def write():
        row = db.session.get(Booking, uuid.UUID(str(booking_id)))
        shift = row.start_at - (datetime.now(UTC) - timedelta(days=7))
        db.session.execute(
            sa.update(Booking)
            .where(Booking.id == row.id)
            .values(
                start_at=row.start_at - shift,
                end_at=row.end_at - shift,
                blocked_start_at=row.blocked_start_at - shift,
                blocked_end_at=row.blocked_end_at - shift,
                status=status,
            )
        )
        db.session.commit()

    in_app(app, write)


def local_today(zone: str = SYDNEY) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def full_words(instant: datetime, zone: str = SYDNEY) -> str:
    """ "Friday 4 December 2026 at 12:15 AEDT", written out here independently of the app."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"


def short_words(instant: datetime, zone: str = SYDNEY) -> str:
    """ "Fri 4 Dec, 12:15 AEDT"."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} {local.tzname()}"


def picker_page(listing, day: date | None = None, service_id=None) -> str:
    query = [f"service_id={service_id or listing.service_id}"]
    if day is not None:
        query.append(f"from={day.isoformat()}")
    return f"/practitioners/{listing.slug}?" + "&".join(query)


def offered(page: str) -> list[str]:
    """The `start_at` values of the slot forms on a page, in page order."""
    return START_VALUE.findall(page)


def slot_labels(page: str) -> list[str]:
    return [
        unescape(label) for label in re.findall(r'<button type="submit" aria-label="([^"]+)"', page)
    ]


def location_of(response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 303, html(response)[:2000]
    target = urlsplit(response.headers["Location"])
    return target.path, parse_qs(target.query)


def book_form(listing, start: str, service_id=None) -> dict:
    return {
        "service_id": str(service_id or listing.service_id),
        "start_at": start,
        "location_id": str(listing.location_id),
    }


def choose_slot(client, listing, day: date | None = None, index: int = 0) -> str:
    page = html(client.get(picker_page(listing, day)))
    starts = offered(page)
    assert len(starts) > index, "no free slot on the page"
    return starts[index]


def hold(app, client, listing, start: str) -> tuple[uuid.UUID, str]:
    """Book `start` as the signed-in patient; returns (booking id, checkout path)."""
    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))
    path, _ = location_of(response)
    assert path.startswith("/checkout/sim_cs_"), path
    session_id = path.rsplit("/", 1)[1]
    booking_id = in_app(
        app,
        lambda: db.session.scalar(
            sa.select(Booking.id).where(Booking.checkout_session_id == session_id)
        ),
    )
    return booking_id, path


def pay(client, checkout_path: str):
    response = client.post(checkout_path, data={"action": "pay"})
    assert response.status_code == 303, html(response)[:2000]
    return response


def book_and_pay(app, client, listing, start: str) -> uuid.UUID:
    booking_id, checkout = hold(app, client, listing, start)
    pay(client, checkout)
    return booking_id


def field_message(page: str, field_id: str) -> str:
    """The message next to a field, asserting the field is marked invalid and points at it."""
    tag = re.search(rf'<(?:input|select|textarea|fieldset)\b[^>]*\bid="{field_id}"[^>]*>', page)
    assert tag, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    described_by = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described_by and f"{field_id}-error" in described_by.group(1).split(), tag.group(0)
    message = re.search(rf'<small id="{field_id}-error"[^>]*>(.*?)</small>', page, re.S)
    assert message, f"no message next to {field_id}"
    return message.group(1)


def alert_text(page: str) -> str:
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert summary, "no error summary"
    return summary.group(0)


@pytest.fixture
def listing(app):
    """An approved Sydney listing open around the clock every day, no notice, 24 h free
    cancellation and a 50 % late fee."""
    return create_listing(app, name="Pia Piriformis", weekly_hours=ALL_DAY, timezone=SYDNEY)


@pytest.fixture
def patient(app, client):
    """A signed-in patient on `client`; returns (id, email)."""
    user_id, email = create_user(app, "patient", name="Jane Doe")
    sign_in(client, email)
    return user_id, email


@pytest.fixture
def other_client(app):
    """A second browser, signed in as another patient; returns (client, patient id)."""
    browser = app.test_client()
    user_id, email = create_user(app, "patient", name="Olive Other")
    sign_in(browser, email)
    return browser, user_id


# --- home ----------------------------------------------------------------------------------


def test_home_has_the_search_form(client, listing):
    response = client.get("/")

    page = html(response)
    assert response.status_code == 200
    form = re.search(r'<form method="get" action="/search".*?</form>', page, re.S).group(0)
    assert re.search(r'<label for="f-q">', form) and re.search(r'<input id="f-q" name="q"', form)
    assert re.search(
        r'<label for="f-therapy">Therapy</label>\s*<select id="f-therapy" name="therapy"', form
    )
    assert '<option value="trigger-point-therapy">Trigger point therapy</option>' in form
    assert '<option value="dry-needling">Dry needling</option>' in form
    assert re.search(r'<label for="f-near">Near</label>\s*<input id="f-near" name="near"', form)
    assert re.search(r'<input id="f-available_on" name="available_on" type="date"', form)
    assert re.search(r'<button type="submit">Search</button>', form)
    assert page.count("<h1>") == 1


def test_home_links_popular_conditions_to_their_search(app, client):
    create_listing(app, name="Hana Homepage", weekly_hours=ALL_DAY)

    page = html(client.get("/"))

    links = re.findall(r'<a href="(/search\?condition=[a-z0-9-]+)">([^<]+)</a>', page)
    assert links, "no popular conditions"
    first_link, _name = links[0]
    assert client.get(first_link).status_code == 200
    results = html(client.get(first_link + "&q=Homepage"))
    assert names_in(results) == {"Hana Homepage"}


# --- search --------------------------------------------------------------------------------


def card_of(page: str, name: str) -> str:
    cards = re.findall(r'<article class="result-card">.*?</article>', page, re.S)
    for card in cards:
        if name in card:
            return card
    raise AssertionError(f"no card for {name}")


def names_in(page: str) -> set[str]:
    return set(re.findall(r'<h3><a href="/practitioners/[^"]+">([^<]+)</a></h3>', page))


def test_search_shows_an_approved_listing_as_a_card(client, app):
    built = create_listing(app, name="Quentin Quokka", weekly_hours=ALL_DAY, price_cents=12000)

    response = client.get("/search", query_string={"q": "Quokka"})

    page = html(response)
    assert response.status_code == 200
    card = card_of(page, "Quentin Quokka")
    assert f'<a href="/practitioners/{built.slug}">Quentin Quokka</a>' in card
    assert "<li>Trigger point therapy</li>" in card
    assert "From <strong>120.00 AUD</strong>" in card
    assert re.search(
        rf"Next available: <strong>\w{{3}} \d{{1,2}} \w{{3}}, \d\d:\d\d {ZONE_WORD}</strong>", card
    ), card
    assert re.search(r"1 practitioner\s*</h2>", page)


@pytest.mark.parametrize(
    "status",
    [ListingStatus.DRAFT, ListingStatus.PENDING, ListingStatus.REJECTED, ListingStatus.SUSPENDED],
)
def test_search_never_shows_a_listing_that_is_not_approved(app, client, status):
    create_listing(app, name="Xylo Approved", weekly_hours=ALL_DAY)
    create_listing(app, name=f"Xylo {status.value.title()}", weekly_hours=ALL_DAY, status=status)

    for query in ({}, {"therapy": "trigger-point-therapy"}):
        page = html(client.get("/search", query_string={"q": "Xylo", **query}))
        assert names_in(page) == {"Xylo Approved"}
    assert f"Xylo {status.value.title()}" not in html(client.get("/search"))


def test_a_suspended_listing_leaves_search(app, client):
    built = create_listing(app, name="Xylo Soon Suspended", weekly_hours=ALL_DAY)
    assert "Xylo Soon Suspended" in html(client.get("/search?q=Xylo"))

    set_status(app, built.id, ListingStatus.SUSPENDED)

    assert "Xylo Soon Suspended" not in html(client.get("/search?q=Xylo"))


def test_near_sydney_is_resolved_and_shows_distances(app, client):
    create_listing(app, name="Yara Surry", weekly_hours=ALL_DAY)
    create_listing(
        app, name="Yara Perth", latitude=-31.9523, longitude=115.8613, timezone="Australia/Perth"
    )

    response = client.get("/search", query_string={"q": "Yara", "near": "Sydney"})

    page = html(response)
    assert response.status_code == 200
    assert re.search(r"1 practitioner near Sydney NSW\s*</h2>", page)
    distance = re.search(r"(\d+\.\d) km away", card_of(page, "Yara Surry"))
    assert distance and float(distance.group(1)) < 10
    assert "Yara Perth" not in page
    assert 'value="Sydney"' in page


def test_near_a_suburb_is_resolved(app, client):
    create_listing(app, name="Yara Surry", weekly_hours=ALL_DAY)

    response = client.get("/search", query_string={"q": "Yara", "near": "Bondi"})

    page = html(response)
    assert response.status_code == 200
    assert re.search(r"1 practitioner near Bondi NSW\s*</h2>", page)
    distance = re.search(r"(\d+\.\d) km away", card_of(page, "Yara Surry"))
    assert distance and 1 < float(distance.group(1)) < 15


def test_an_unknown_place_is_422_with_the_message_next_to_near(app, client):
    create_listing(app, name="Yara Surry", weekly_hours=ALL_DAY)

    response = client.get("/search", query_string={"near": "Atlantisville"})

    page = html(response)
    assert response.status_code == 422
    message = field_message(page, "f-near")
    assert "We could not find “Atlantisville” in Australia" in message
    assert "We could not find" in alert_text(page)
    assert "Yara Surry" not in page
    assert 'value="Atlantisville"' in page


def test_a_latitude_out_of_range_is_422(client):
    response = client.get("/search", query_string={"lat": "100", "lng": "0"})

    page = html(response)
    assert response.status_code == 422
    assert (
        "Latitude: Must be greater than or equal to -90 and less than or equal to 90."
        in alert_text(page)
    )


@pytest.mark.parametrize(
    ("query", "field_id", "message"),
    [
        ({"lat": "100", "lng": "0"}, "f-lat", "Must be greater than or equal to -90"),
        ({"near": "Sydney", "radius_km": "500"}, "f-radius_km", "Must be greater than 0"),
        ({"per_page": "51"}, "f-per_page", "Must be greater than or equal to 1"),
    ],
    ids=["lat", "radius", "per-page"],
)
def test_a_bad_hidden_parameter_is_shown_next_to_a_field(client, query, field_id, message):
    response = client.get("/search", query_string=query)

    assert response.status_code == 422
    assert message in field_message(html(response), field_id)


@pytest.mark.parametrize(
    ("query", "field_id", "message"),
    [
        ({"available_on": "2026-13-01"}, "f-available_on", "Not a valid date."),
        ({"price_max": "a lot"}, "f-price_max", "Not a valid integer."),
        ({"gender": "robot"}, "f-gender", "Must be one of: female, male, non_binary"),
        ({"language": "klingon"}, "f-language", "Not an ISO 639-1 language code"),
        ({"q": "x" * 201}, "f-q", "Longer than maximum length 200."),
        ({"telehealth": "maybe"}, "f-telehealth", "Not a valid boolean."),
    ],
    ids=["date", "price", "gender", "language", "long-q", "telehealth"],
)
def test_a_bad_filter_is_422_with_the_message_next_to_it(client, listing, query, field_id, message):
    response = client.get("/search", query_string=query)

    page = html(response)
    assert response.status_code == 422
    assert message in field_message(page, field_id)
    assert message in alert_text(page)
    assert "Pia Piriformis" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [({"therapy": "bogus"}, "Unknown therapy: bogus."), ({"condition": "bogus"}, "Unknown")],
    ids=["therapy", "condition"],
)
def test_an_unknown_therapy_or_condition_re_renders_the_search_form(client, query, message):
    response = client.get("/search", query_string=query)

    page = html(response)
    assert response.status_code == 422
    assert '<form method="get" action="/search"' in page
    assert message in alert_text(page)
    if "therapy" in query:
        assert message in field_message(page, "f-therapy")


def test_an_unknown_sort_is_422_with_the_message_next_to_sort(client):
    response = client.get("/search", query_string={"sort": "cheapest-first"})

    page = html(response)
    assert response.status_code == 422
    assert "Must be one of: relevance, distance, price, rating, soonest." in field_message(
        page, "f-sort"
    )


def test_therapy_facets_count_the_results(app, client):
    create_listing(app, name="Zed One", weekly_hours=ALL_DAY)
    create_listing(app, name="Zed Two", weekly_hours=ALL_DAY)
    create_listing(app, name="Zed Three", weekly_hours=ALL_DAY, therapy="dry-needling")

    page = html(client.get("/search", query_string={"q": "Zed"}))

    assert re.search(
        r'value="trigger-point-therapy">\s*Trigger point therapy <span class="muted">\(2\)</span>',
        page,
    )
    assert re.search(r'value="dry-needling">\s*Dry needling <span class="muted">\(1\)</span>', page)
    assert 'value="acupuncture"' not in page
    assert re.search(r"3 practitioners\s*</h2>", page)


def test_a_therapy_filter_narrows_the_results_and_stays_ticked(app, client):
    create_listing(app, name="Zed One", weekly_hours=ALL_DAY)
    create_listing(app, name="Zed Three", weekly_hours=ALL_DAY, therapy="dry-needling")

    page = html(client.get("/search", query_string={"q": "Zed", "therapy": "dry-needling"}))

    assert names_in(page) == {"Zed Three"}
    assert re.search(r'name="therapy" value="dry-needling" checked', page)


@pytest.fixture
def three_kinds(app):
    create_listing(app, name="Zed Female", weekly_hours=ALL_DAY, gender=Gender.FEMALE)
    create_listing(
        app, name="Zed Cheap", weekly_hours=ALL_DAY, gender=Gender.MALE, price_cents=9000
    )
    create_listing(app, name="Zed Tele", weekly_hours=ALL_DAY, telehealth=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"gender": "female"}, {"Zed Female"}),
        ({"gender": "male"}, {"Zed Cheap"}),
        ({"telehealth": "true"}, {"Zed Tele"}),
        ({"price_max": "10000"}, {"Zed Cheap"}),
        ({"gender": "female", "price_max": "10000"}, set()),
    ],
    ids=["female", "male", "telehealth", "price", "female-and-cheap"],
)
def test_filters_narrow_the_results(client, three_kinds, query, expected):
    response = client.get("/search", query_string={"q": "Zed", **query})

    page = html(response)
    assert response.status_code == 200
    assert names_in(page) == expected
    if not expected:
        assert "No practitioner matches all of these." in page


def test_a_search_without_the_telehealth_box_includes_telehealth_practitioners(client, three_kinds):
    page = html(client.get("/search", query_string={"q": "Zed"}))

    assert names_in(page) == {"Zed Female", "Zed Cheap", "Zed Tele"}


def test_a_search_from_the_home_page_finds_telehealth_practitioners(app, client):
    create_listing(app, name="Tessa Tele", weekly_hours=ALL_DAY, telehealth=True)

    page = html(
        client.get(
            "/search", query_string={"q": "Tessa", "therapy": "", "near": "", "available_on": ""}
        )
    )

    assert names_in(page) == {"Tessa Tele"}


def test_gender_facets_are_counted(app, client):
    create_listing(app, name="Zed Female", weekly_hours=ALL_DAY, gender=Gender.FEMALE)
    create_listing(app, name="Zed Male", weekly_hours=ALL_DAY, gender=Gender.MALE)
    create_listing(app, name="Zed Also Female", weekly_hours=ALL_DAY, gender=Gender.FEMALE)

    page = html(client.get("/search", query_string={"q": "Zed"}))

    assert re.search(r'value="female">\s*Female <span class="muted">\(2\)</span>', page)
    assert re.search(r'value="male">\s*Male <span class="muted">\(1\)</span>', page)


def test_pages_of_results_keep_the_other_parameters(app, client):
    create_listing(app, name="Zed Alpha", weekly_hours=ALL_DAY, price_cents=9000)
    create_listing(app, name="Zed Beta", weekly_hours=ALL_DAY, price_cents=11000)
    query = {"q": "Zed", "per_page": "1", "sort": "price", "therapy": "trigger-point-therapy"}

    first = html(client.get("/search", query_string=query))

    assert "Page 1 of 2" in first
    assert names_in(first) == {"Zed Alpha"}
    assert '<input type="hidden" name="per_page" value="1">' in first
    next_link = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert next_link
    target = urlsplit(unescape(next_link.group(1)))
    assert target.path == "/search"
    assert parse_qs(target.query) == {
        "q": ["Zed"],
        "per_page": ["1"],
        "sort": ["price"],
        "therapy": ["trigger-point-therapy"],
        "page": ["2"],
    }
    second = html(client.get(unescape(next_link.group(1))))
    assert names_in(second) == {"Zed Beta"}
    assert "Page 2 of 2" in second
    previous = re.search(r'<a href="([^"]+)" rel="prev">Previous page</a>', second)
    assert previous and parse_qs(urlsplit(unescape(previous.group(1))).query)["page"] == ["1"]


# --- a practitioner's page -----------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [ListingStatus.DRAFT, ListingStatus.PENDING, ListingStatus.REJECTED, ListingStatus.SUSPENDED],
)
def test_a_listing_that_is_not_approved_has_no_page(app, client, status):
    built = create_listing(app, status=status, weekly_hours=ALL_DAY)

    response = client.get(f"/practitioners/{built.slug}")

    assert response.status_code == 404
    assert "Book " not in html(response)


def test_an_unknown_slug_is_404(client):
    assert client.get("/practitioners/no-such-person").status_code == 404


def test_practitioner_page_shows_services_locations_and_the_policy_in_words(app, client):
    built = create_listing(
        app,
        name="Pia Policy",
        weekly_hours=ALL_DAY,
        free_cancellation_hours=48,
        late_cancellation_fee_percent=25,
    )
    create_service(
        app,
        built.id,
        therapy="dry-needling",
        name="Dry needling session",
        duration_minutes=30,
        price_cents=9500,
        currency="AUD",
    )

    response = client.get(f"/practitioners/{built.slug}")

    page = html(response)
    assert response.status_code == 200
    assert "<h1>Pia Policy</h1>" in page
    assert re.search(r"Treatment · 60 min · 120.00 AUD", page)
    assert re.search(r"Dry needling session · 30 min · 95.00 AUD", page)
    assert re.search(r"<address>\s*<strong>Clinic</strong><br>\s*1 Main St<br>\s*Surry Hills", page)
    assert (
        "Free cancellation up to 48 hours before the appointment; after that 25% of the price "
        "is kept." in page
    )


def test_slot_buttons_are_named_with_the_full_date_time_and_zone(client, listing):
    page = html(client.get(f"/practitioners/{listing.slug}"))

    starts = offered(page)
    labels = slot_labels(page)
    assert starts and len(labels) == len(starts)
    for start, label in zip(starts, labels, strict=True):
        assert label == "Book " + full_words(datetime.fromisoformat(start))
        assert re.fullmatch(
            rf"Book [A-Z][a-z]+day \d{{1,2}} [A-Z][a-z]+ \d{{4}} at \d\d:\d\d {ZONE_WORD}", label
        )
    # the visible text is part of the accessible name
    visible = re.findall(r'<button type="submit" aria-label="[^"]+">([^<]+)</button>', page)
    assert all(text in label for text, label in zip(visible, labels, strict=True))
    assert all(datetime.fromisoformat(start).utcoffset() is not None for start in starts)


def test_each_slot_is_a_post_book_form_with_the_contract_fields(client, listing):
    page = html(client.get(f"/practitioners/{listing.slug}"))

    form = re.search(r'<form method="post" action="/book">.*?</form>', page, re.S).group(0)
    assert 'name="csrf_token"' in form
    assert f'name="service_id" value="{listing.service_id}"' in form
    assert f'name="location_id" value="{listing.location_id}"' in form
    assert START_VALUE.search(form)


def test_the_picker_opens_on_the_week_of_the_earliest_free_slot(app, client):
    built = create_listing(app, name="Rae Rare", weekly_hours=[])
    day = local_today() + timedelta(days=21)
    create_override(app, built.id, day, [("10:00", "12:00", built.location_id)])

    page = html(client.get(f"/practitioners/{built.slug}"))

    days = re.findall(r'<h4 id="day-(\d{4}-\d\d-\d\d)">', page)
    assert days[0] == day.isoformat()
    assert len(days) == 7
    labels = slot_labels(page)
    assert [label.rsplit(" at ", 1)[1] for label in labels] == [
        f"{clock} {datetime.combine(day, time(10), ZoneInfo(SYDNEY)).tzname()}"
        for clock in ("10:00", "10:15", "10:30", "10:45", "11:00")
    ]
    assert all(label.startswith(f"Book {day:%A} {day.day} {day:%B %Y} at ") for label in labels)
    earlier = re.search(r'<a href="([^"]+)"><span aria-hidden="true">← </span>Earlier</a>', page)
    later = re.search(r'<a href="([^"]+)">Later<span aria-hidden="true"> →</span></a>', page)
    assert earlier and later
    assert parse_qs(urlsplit(unescape(earlier.group(1))).query)["from"] == [
        (day - timedelta(days=7)).isoformat()
    ]
    assert parse_qs(urlsplit(unescape(later.group(1))).query)["from"] == [
        (day + timedelta(days=7)).isoformat()
    ]
    before = html(client.get(unescape(earlier.group(1))))
    assert offered(before) == []
    assert "No free times" in before


@pytest.mark.parametrize("days_back", [0, 3], ids=["today", "a-past-day"])
def test_the_picker_starts_no_earlier_than_today(client, listing, days_back):
    page = html(client.get(picker_page(listing, local_today() - timedelta(days=days_back))))

    assert "← Earlier</a>" not in page
    assert '<span class="muted">Earlier</span>' in page
    days = re.findall(r'<h4 id="day-(\d{4}-\d\d-\d\d)">', page)
    assert days[0] == local_today().isoformat()


def test_a_day_beyond_the_horizon_shows_no_times(client, listing):
    page = html(client.get(picker_page(listing, local_today() + timedelta(days=400))))

    assert offered(page) == []
    assert "Later →</a>" not in page


def test_a_from_date_at_the_end_of_the_calendar_is_no_server_error(client, listing):
    response = client.get(picker_page(listing, date(9999, 12, 31)))

    assert response.status_code in (200, 422)


def test_later_shows_the_next_week(client, listing):
    first = html(client.get(picker_page(listing, local_today())))
    later = re.search(
        r'<a href="([^"]+)">Later<span aria-hidden="true"> →</span></a>', first
    ).group(1)

    page = html(client.get(unescape(later)))

    days = re.findall(r'<h4 id="day-(\d{4}-\d\d-\d\d)">', page)
    assert days[0] == (local_today() + timedelta(days=7)).isoformat()
    assert set(offered(page)).isdisjoint(offered(first))


def test_service_id_chooses_the_service(app, client, listing):
    second = create_service(
        app,
        listing.id,
        therapy="dry-needling",
        name="Dry needling session",
        duration_minutes=30,
        price_cents=9500,
        currency="AUD",
    )

    page = html(client.get(f"/practitioners/{listing.slug}", query_string={"service_id": second}))

    assert re.search(rf'name="service_id" value="{second}" checked', page)
    assert not re.search(rf'name="service_id" value="{listing.service_id}" checked', page)
    assert "<h3>Dry needling session: free times</h3>" in page
    hidden = set(re.findall(r'<input type="hidden" name="service_id" value="([^"]+)">', page))
    assert hidden == {str(second)}
    default = html(client.get(f"/practitioners/{listing.slug}"))
    assert "<h3>Treatment: free times</h3>" in default


# --- booking -------------------------------------------------------------------------------


def test_booking_a_slot_holds_it_and_goes_to_checkout(app, client, listing, patient):
    start = choose_slot(client, listing)

    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))

    path, _ = location_of(response)
    assert path.startswith("/checkout/sim_cs_")
    [booking] = bookings_of(app, patient[0])
    assert booking["status"] is BookingStatus.HELD
    assert booking["start_at"] == datetime.fromisoformat(start)
    assert booking["service_id"] == listing.service_id
    assert booking["location_id"] == listing.location_id
    assert booking["checkout_session_id"] == path.rsplit("/", 1)[1]
    checkout = html(client.get(path))
    assert full_words(datetime.fromisoformat(start)) in checkout
    assert re.search(r'<button name="action" value="pay">Pay 120.00 AUD</button>', checkout)


def test_a_booked_slot_is_no_longer_offered(app, client, listing, patient):
    start = choose_slot(client, listing)
    hold(app, client, listing, start)

    assert start not in offered(html(client.get(picker_page(listing))))


def test_booking_signed_out_asks_to_sign_in_then_goes_straight_to_checkout(app, client, listing):
    user_id, email = create_user(app, "patient")
    start = choose_slot(client, listing)

    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))

    path, query = location_of(response)
    assert path == "/login"
    [target] = query["next"]
    target_parts = urlsplit(target)
    assert target_parts.path == "/book"
    assert parse_qs(target_parts.query) == {
        "service_id": [str(listing.service_id)],
        "start_at": [start],
        "location_id": [str(listing.location_id)],
    }
    assert booking_count(app) == 0
    login_page = html(client.get(response.headers["Location"]))
    assert "Sign in to book the time you chose" in login_page

    signed_in = submit(
        client,
        response.headers["Location"],
        "/login",
        data={"email": email, "password": PASSWORD, "next": target},
    )

    assert location_of(signed_in)[0].startswith("/checkout/sim_cs_")
    [booking] = bookings_of(app, user_id)
    assert booking["status"] is BookingStatus.HELD
    assert booking["start_at"] == datetime.fromisoformat(start)


def test_booking_signed_out_then_signing_up_goes_straight_to_checkout(app, client, listing):
    start = choose_slot(client, listing)
    asked = submit(client, picker_page(listing), "/book", data=book_form(listing, start))
    [target] = location_of(asked)[1]["next"]
    login_page = html(client.get(asked.headers["Location"]))
    signup_link = unescape(
        re.search(r'<a href="(/signup[^"]*)">Create an account</a>', login_page).group(1)
    )

    response = submit(
        client,
        signup_link,
        "/signup",
        data={
            "name": "Nina New",
            "email": "nina@example.com",
            "password": "a long enough secret",
            "role": "patient",
            "next": target,
        },
    )

    assert location_of(response)[0].startswith("/checkout/sim_cs_")
    user_id = in_app(
        app,
        lambda: db.session.scalar(
            sa.select(Booking.patient_id).where(Booking.status == BookingStatus.HELD)
        ),
    )
    [booking] = bookings_of(app, user_id)
    assert booking["start_at"] == datetime.fromisoformat(start)


def test_a_taken_slot_goes_back_to_the_picker_with_a_message(
    app, client, listing, patient, other_client
):
    start = choose_slot(client, listing)
    browser, other_id = other_client
    book_and_pay(app, browser, listing, start)

    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))

    page = html(response)
    assert response.status_code == 409
    assert "<h1>Pia Piriformis</h1>" in page
    assert "That time is not free. Pick another slot. It may have just been taken." in alert_text(
        page
    )
    assert start not in offered(page)
    assert offered(page), "the picker still offers the other times"
    assert bookings_of(app, patient[0]) == []
    assert len(bookings_of(app, other_id)) == 1


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-12-10T10:00:00", "Give the time with its UTC offset"),
        ("tomorrow morning", "Give a date and time with its UTC offset"),
        ("", "Give a date and time with its UTC offset"),
    ],
    ids=["no-offset", "garbage", "blank"],
)
def test_a_bad_start_is_422_and_writes_nothing(app, client, listing, patient, start, message):
    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))

    page = html(response)
    assert response.status_code == 422
    assert message in alert_text(page)
    assert "<h1>Pia Piriformis</h1>" in page
    assert booking_count(app) == 0


def test_a_time_that_is_no_slot_is_409(app, client, listing, patient):
    start = datetime.fromisoformat(choose_slot(client, listing)) + timedelta(minutes=7)

    response = submit(
        client, picker_page(listing), "/book", data=book_form(listing, start.isoformat())
    )

    assert response.status_code == 409
    assert "That time is not free" in alert_text(html(response))
    assert booking_count(app) == 0


def test_booking_a_listing_that_is_not_public_is_404(app, client, patient):
    built = create_listing(app, status=ListingStatus.PENDING, weekly_hours=ALL_DAY)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)

    response = submit(client, "/", "/book", data=book_form(built, start.isoformat()))

    assert response.status_code == 404
    assert booking_count(app) == 0


@pytest.mark.parametrize("role", ["practitioner", "admin"])
def test_only_patients_can_book(app, client, listing, role):
    _, email = create_user(app, role)
    sign_in(client, email)
    start = choose_slot(client, listing)

    response = submit(client, picker_page(listing), "/book", data=book_form(listing, start))

    assert response.status_code == 403
    assert booking_count(app) == 0


def test_booking_without_csrf_token_is_refused(app, client, listing, patient):
    start = choose_slot(client, listing)

    response = client.post("/book", data=book_form(listing, start))

    assert response.status_code == 400
    assert booking_count(app) == 0


def test_opening_a_booking_link_goes_back_to_the_picker(client, listing):
    response = client.get("/book", query_string={"service_id": str(listing.service_id)})

    assert location_of(response) == (
        f"/practitioners/{listing.slug}",
        {"service_id": [str(listing.service_id)]},
    )


# --- paying and the confirmation -----------------------------------------------------------


def test_paying_lands_on_the_confirmation(app, client, listing, patient):
    start = choose_slot(client, listing)
    booking_id, checkout = hold(app, client, listing, start)

    response = pay(client, checkout)

    assert location_of(response) == (f"/bookings/{booking_id}/done", {})
    page = html(client.get(f"/bookings/{booking_id}/done"))
    assert "<h1>Confirmed</h1>" in page
    assert 'class="badge badge-confirmed">Confirmed<' in page
    assert full_words(datetime.fromisoformat(start)) in page
    assert "Pia Piriformis" in page
    assert "Clinic, 1 Main St, Surry Hills" in page
    assert "120.00 AUD" in page
    assert booking_row(app, booking_id)["status"] is BookingStatus.CONFIRMED


def test_the_confirmation_links_a_calendar_file_with_the_utc_start(app, client, listing, patient):
    start = datetime.fromisoformat(choose_slot(client, listing))
    booking_id = book_and_pay(app, client, listing, start.isoformat())
    page = html(client.get(f"/bookings/{booking_id}/done"))
    link = re.search(r'<a href="([^"]+)" download>Add to calendar</a>', page)
    assert link and link.group(1) == f"/bookings/{booking_id}/calendar.ics"

    response = client.get(link.group(1))

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    [event] = calendar.walk("VEVENT")
    starts_at = event.decoded("dtstart")
    assert starts_at == start
    assert starts_at.utcoffset() == timedelta(0)
    assert event.decoded("dtend") == start + timedelta(minutes=60)
    assert "Pia Piriformis" in str(event["summary"])
    assert "1 Main St" in str(event["location"])


def test_an_unpaid_hold_is_waiting_for_payment(app, client, listing, patient):
    booking_id, checkout = hold(app, client, listing, choose_slot(client, listing))

    page = html(client.get(f"/bookings/{booking_id}/done"))

    assert "<h1>Waiting for payment</h1>" in page
    assert 'class="badge badge-held">Waiting for payment<' in page
    assert "Add to calendar" not in page
    pay_link = re.search(r'<a href="([^"]+)" role="button">Pay now</a>', page)
    assert pay_link and urlsplit(pay_link.group(1)).path == checkout


def test_a_lapsed_hold_no_longer_reads_waiting_for_payment(app, client, listing, patient):
    booking_id, _ = hold(app, client, listing, choose_slot(client, listing))
    lapse_hold(app, booking_id)

    done = html(client.get(f"/bookings/{booking_id}/done"))
    mine = html(client.get("/me/bookings"))

    assert "Waiting for payment" not in done
    assert "Expired (not paid)" in done
    assert "Waiting for payment" not in mine


def test_the_calendar_file_of_an_unpaid_hold_is_not_offered(app, client, listing, patient):
    booking_id, _ = hold(app, client, listing, choose_slot(client, listing))

    assert "calendar.ics" not in html(client.get(f"/bookings/{booking_id}/done"))


def test_the_calendar_file_of_a_cancelled_booking_is_no_confirmed_event(
    app, client, listing, patient
):
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    submit(client, f"/me/bookings/{booking_id}/cancel")

    response = client.get(f"/bookings/{booking_id}/calendar.ics")

    if response.status_code == 200:
        [event] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
        assert str(event["status"]) == "CANCELLED"
    else:
        assert response.status_code in (404, 409)


BOOKING_PAGES = [
    "/bookings/{id}/done",
    "/bookings/{id}/calendar.ics",
    "/me/bookings/{id}/cancel",
    "/me/bookings/{id}/reschedule",
]


@pytest.mark.parametrize("pattern", BOOKING_PAGES)
def test_another_patients_booking_is_not_found(
    app, client, listing, patient, other_client, pattern
):
    browser, _ = other_client
    theirs = book_and_pay(app, browser, listing, choose_slot(browser, listing))

    response = client.get(pattern.format(id=theirs))

    assert response.status_code == 404


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_another_patient_cannot_change_a_booking(
    app, client, listing, patient, other_client, action
):
    browser, _ = other_client
    start = choose_slot(browser, listing)
    theirs = book_and_pay(app, browser, listing, start)
    before = booking_row(app, theirs)
    later = choose_slot(client, listing, index=3)

    response = submit(
        client, "/me/bookings", f"/me/bookings/{theirs}/{action}", data={"start_at": later}
    )

    assert response.status_code == 404
    assert booking_row(app, theirs) == before


@pytest.mark.parametrize("pattern", [*BOOKING_PAGES, "/me/bookings"])
def test_anonymous_visitors_are_sent_to_sign_in(app, client, listing, other_client, pattern):
    browser, _ = other_client
    theirs = book_and_pay(app, browser, listing, choose_slot(browser, listing))
    path = pattern.format(id=theirs)

    response = client.get(path)

    assert location_of(response) == ("/login", {"next": [path]})


@pytest.mark.parametrize("role", ["practitioner", "admin"])
def test_my_bookings_is_for_patients(app, client, role):
    _, email = create_user(app, role)
    sign_in(client, email)

    response = client.get("/me/bookings")

    assert response.status_code == 403


# --- my bookings ---------------------------------------------------------------------------


def test_my_bookings_lists_upcoming_and_past(app, client, listing, patient):
    soon = choose_slot(client, listing, local_today() + timedelta(days=5))
    upcoming_id = book_and_pay(app, client, listing, soon)
    too_close_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    happened_id = book_and_pay(app, client, listing, choose_slot(client, listing, index=4))
    move_into_the_past(app, happened_id, BookingStatus.COMPLETED)
    cancelled_id = book_and_pay(app, client, listing, choose_slot(client, listing, index=8))
    submit(client, f"/me/bookings/{cancelled_id}/cancel")

    response = client.get("/me/bookings")

    page = html(response)
    assert response.status_code == 200
    upcoming, past = page.split('<h2 id="past-title">')
    upcoming = upcoming.split('<h2 id="upcoming-title">')[1]
    when = short_words(datetime.fromisoformat(soon))
    assert f"<h3>{when} · Treatment</h3>" in upcoming
    assert 'class="badge badge-confirmed">Confirmed<' in upcoming
    assert f'href="/me/bookings/{upcoming_id}/cancel"' in upcoming
    assert f'aria-label="Cancel booking Treatment on {when}"' in upcoming
    assert f'href="/me/bookings/{upcoming_id}/reschedule"' in upcoming
    assert f'aria-label="Reschedule Treatment on {when}"' in upcoming
    # Inside the free-cancellation window a booking can be cancelled but no longer moved.
    assert f'href="/me/bookings/{too_close_id}/cancel"' in upcoming
    assert f'href="/me/bookings/{too_close_id}/reschedule"' not in upcoming
    assert str(happened_id) not in upcoming and str(cancelled_id) not in upcoming
    assert f'href="/bookings/{happened_id}/done"' in past
    assert f'href="/bookings/{cancelled_id}/done"' in past
    assert 'class="badge badge-completed">Completed<' in past
    assert 'class="badge badge-cancelled">Cancelled<' in past
    assert '<th scope="col">When</th>' in past


def test_an_unpaid_hold_is_upcoming_with_a_pay_link(app, client, listing, patient):
    booking_id, checkout = hold(app, client, listing, choose_slot(client, listing))

    page = html(client.get("/me/bookings"))

    upcoming = page.split('<h2 id="past-title">')[0]
    assert re.search(r'role="button">Pay 120.00 AUD</a>', upcoming)
    assert checkout in upcoming
    assert f"/me/bookings/{booking_id}/reschedule" not in upcoming


def test_no_bookings_yet(client, patient):
    page = html(client.get("/me/bookings"))

    assert "No upcoming bookings." in page
    assert "Nothing yet." in page


# --- cancelling ----------------------------------------------------------------------------


def refund_sentence(page: str) -> str:
    found = re.search(r'<p class="refund-terms"><strong>\s*(.*?)\s*</strong></p>', page, re.S)
    assert found, "the refund is not stated"
    return " ".join(found.group(1).split())


def test_cancel_page_states_a_full_refund_far_ahead_before_asking(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))

    response = client.get(f"/me/bookings/{booking_id}/cancel")

    page = html(response)
    assert response.status_code == 200
    assert refund_sentence(page) == "You will be refunded in full: 120.00 AUD."
    assert page.index('class="refund-terms"') < page.index(">Cancel booking</button>")
    assert re.search(r'<label for="f-reason">Reason', page)


def test_cancelling_far_ahead_refunds_in_full(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    page = f"/me/bookings/{booking_id}/cancel"

    response = submit(client, page, data={"reason": "Feeling better"})

    assert location_of(response) == ("/me/bookings", {})
    row = booking_row(app, booking_id)
    assert row["status"] is BookingStatus.CANCELLED
    assert row["refund_cents"] == 12000
    assert row["cancellation_reason"] == "Feeling better"
    assert row["cancelled_at"] is not None
    after = html(client.get("/me/bookings"))
    assert "Your booking is cancelled." in after


def test_inside_the_free_window_the_page_states_the_partial_refund(app, client, patient):
    built = create_listing(
        app,
        name="Lou Late",
        weekly_hours=ALL_DAY,
        free_cancellation_hours=48,
        late_cancellation_fee_percent=50,
    )
    booking_id = book_and_pay(app, client, built, choose_slot(client, built))

    page = html(client.get(f"/me/bookings/{booking_id}/cancel"))

    assert refund_sentence(page) == (
        "It is less than 48 hours before the appointment, so you will be refunded 60.00 AUD of "
        "the 120.00 AUD you paid."
    )

    response = submit(client, f"/me/bookings/{booking_id}/cancel")

    assert location_of(response) == ("/me/bookings", {})
    row = booking_row(app, booking_id)
    assert row["status"] is BookingStatus.CANCELLED
    assert row["refund_cents"] == 6000


def test_cancelling_an_unpaid_hold_charges_and_refunds_nothing(app, client, listing, patient):
    booking_id, _ = hold(app, client, listing, choose_slot(client, listing))

    page = html(client.get(f"/me/bookings/{booking_id}/cancel"))

    assert refund_sentence(page) == (
        "You have not paid for this booking, so nothing is charged or refunded."
    )
    response = submit(client, f"/me/bookings/{booking_id}/cancel")
    assert location_of(response) == ("/me/bookings", {})
    row = booking_row(app, booking_id)
    assert row["status"] is BookingStatus.CANCELLED
    assert row["refund_cents"] == 0


def test_cancelling_an_already_cancelled_booking_is_409_and_changes_nothing(
    app, client, listing, patient
):
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    page = f"/me/bookings/{booking_id}/cancel"
    submit(client, page, data={"reason": "first"})
    before = booking_row(app, booking_id)
    reopened = html(client.get(page))
    assert ">Cancel booking</button>" not in reopened
    token = csrf_token(client, "/me/bookings")

    response = client.post(page, data={"csrf_token": token, "reason": "again"})

    assert response.status_code == 409
    assert "A cancelled booking cannot be cancelled." in alert_text(html(response))
    assert booking_row(app, booking_id) == before


def test_the_cancel_page_of_a_cancelled_booking_promises_no_refund(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    submit(client, f"/me/bookings/{booking_id}/cancel")

    page = html(client.get(f"/me/bookings/{booking_id}/cancel"))

    assert "You will be refunded" not in page
    assert "already cancelled" in page


def test_a_too_long_reason_is_422_next_to_the_field_and_cancels_nothing(
    app, client, listing, patient
):
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    before = booking_row(app, booking_id)

    response = submit(client, f"/me/bookings/{booking_id}/cancel", data={"reason": "x" * 1001})

    assert response.status_code == 422
    assert "Longer than maximum length 1000." in field_message(html(response), "f-reason")
    assert booking_row(app, booking_id) == before


def test_cancelling_without_csrf_token_is_refused(app, client, listing, patient):
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    before = booking_row(app, booking_id)

    response = client.post(f"/me/bookings/{booking_id}/cancel", data={"reason": ""})

    assert response.status_code == 400
    assert booking_row(app, booking_id) == before


# --- rescheduling --------------------------------------------------------------------------


def reschedule_page(booking_id, day: date | None = None) -> str:
    page = f"/me/bookings/{booking_id}/reschedule"
    return page + (f"?from={day.isoformat()}" if day else "")


def test_reschedule_page_names_its_slots_reschedule_to(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    start = choose_slot(client, listing, far)
    booking_id = book_and_pay(app, client, listing, start)

    response = client.get(reschedule_page(booking_id))

    page = html(response)
    assert response.status_code == 200
    labels = slot_labels(page)
    starts = offered(page)
    assert labels and len(labels) == len(starts)
    for value, label in zip(starts, labels, strict=True):
        assert label == "Reschedule to " + full_words(datetime.fromisoformat(value))
    assert f'<form method="post" action="/me/bookings/{booking_id}/reschedule">' in page
    assert 'name="service_id"' not in page.split("<h1>")[1]
    assert full_words(datetime.fromisoformat(start)) in page
    # the booking's own time counts as free for the move
    assert start in offered(html(client.get(reschedule_page(booking_id, far))))


def test_a_reschedule_from_date_at_the_end_of_the_calendar_is_no_server_error(
    app, client, listing, patient
):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))

    response = client.get(reschedule_page(booking_id, date(9999, 12, 31)))

    assert response.status_code in (200, 422)


def test_rescheduling_moves_the_booking_and_keeps_its_id(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    new_start = offered(html(client.get(reschedule_page(booking_id, far + timedelta(days=2)))))[3]

    response = submit(client, reschedule_page(booking_id), data={"start_at": new_start})

    assert location_of(response) == (f"/bookings/{booking_id}/done", {})
    [row] = bookings_of(app, patient[0])
    assert row["id"] == booking_id
    assert row["start_at"] == datetime.fromisoformat(new_start)
    assert row["status"] is BookingStatus.CONFIRMED
    done = html(client.get(f"/bookings/{booking_id}/done"))
    assert "Your booking has moved to the new time." in done
    assert full_words(datetime.fromisoformat(new_start)) in done


def test_rescheduling_to_a_taken_time_is_409_and_changes_nothing(
    app, client, listing, patient, other_client
):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    browser, _ = other_client
    taken = choose_slot(browser, listing, far + timedelta(days=1), index=2)
    book_and_pay(app, browser, listing, taken)
    before = booking_row(app, booking_id)

    response = submit(client, reschedule_page(booking_id), data={"start_at": taken})

    page = html(response)
    assert response.status_code == 409
    assert "That time is not free. Pick another slot." in alert_text(page)
    assert taken not in offered(page)
    assert booking_row(app, booking_id) == before


def test_rescheduling_inside_the_free_window_is_409_and_changes_nothing(
    app, client, listing, patient
):
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing))
    later = offered(html(client.get(picker_page(listing, local_today() + timedelta(days=5)))))
    before = booking_row(app, booking_id)

    # The page says so up front instead of offering times that would all be refused.
    refused = client.get(reschedule_page(booking_id))
    assert refused.status_code == 409
    assert "Too close to the appointment to reschedule" in alert_text(html(refused))
    assert offered(html(refused)) == []

    response = submit(
        client, "/me/bookings", reschedule_page(booking_id), data={"start_at": later[0]}
    )

    assert response.status_code == 409
    assert "Too close to the appointment to reschedule; cancel instead." in alert_text(
        html(response)
    )
    assert booking_row(app, booking_id) == before


def test_the_reschedule_page_of_a_cancelled_booking_offers_no_times(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    submit(client, f"/me/bookings/{booking_id}/cancel")

    response = client.get(reschedule_page(booking_id))

    assert offered(html(response)) == []
    assert "cannot be rescheduled" in html(response)


def test_rescheduling_to_a_time_without_offset_is_422(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    before = booking_row(app, booking_id)

    response = submit(client, reschedule_page(booking_id), data={"start_at": "2026-12-20T10:00:00"})

    assert response.status_code == 422
    assert "Give the time with its UTC offset" in alert_text(html(response))
    assert booking_row(app, booking_id) == before


def test_rescheduling_without_csrf_token_is_refused(app, client, listing, patient):
    far = local_today() + timedelta(days=5)
    booking_id = book_and_pay(app, client, listing, choose_slot(client, listing, far))
    new_start = offered(html(client.get(reschedule_page(booking_id, far + timedelta(days=2)))))[0]
    before = booking_row(app, booking_id)

    response = client.post(reschedule_page(booking_id), data={"start_at": new_start})

    assert response.status_code == 400
    assert booking_row(app, booking_id) == before
