"""The practitioner's dashboard pages: each form goes through the API's schema and service,
shows its messages next to its fields, and writes nothing when refused."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from marketplace.availability.models import AvailabilityRule, DateOverride, TimeOff
from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from marketplace.money import dollars_text, parse_dollars
from marketplace.practitioners.models import ListingStatus, Location, Practitioner, Service
from tests.factories import (
    ALL_DAY,
    PASSWORD,
    book_and_pay,
    create_listing,
    create_location,
    create_override,
    create_time_off,
    create_user,
    far_start,
)
from tests.web.pages import csrf_token, html, sign_in, submit

SYDNEY = "Australia/Sydney"


# --- helpers -------------------------------------------------------------------------------


def in_app(app, read):
    """`read()` inside an app context: plain values out, never live ORM objects."""
    with app.app_context():
        return read()


def listing_row(app, listing_id) -> dict:
    def read():
        row = db.session.get(Practitioner, listing_id)
        return {
            "status": row.status,
            "headline": row.headline,
            "bio": row.bio,
            "languages": list(row.languages),
            "telehealth": row.telehealth,
            "timezone": row.timezone,
            "slot_interval_minutes": row.slot_interval_minutes,
            "late_cancellation_fee_percent": row.late_cancellation_fee_percent,
            "stripe_account_id": row.stripe_account_id,
            "calendar_token": row.calendar_token,
        }

    return in_app(app, read)


def rules_of(app, listing_id) -> list[tuple]:
    def read():
        rows = db.session.scalars(
            sa.select(AvailabilityRule).where(AvailabilityRule.practitioner_id == listing_id)
        )
        return sorted((r.weekday, r.start_time, r.end_time, r.location_id) for r in rows)

    return in_app(app, read)


def locations_of(app, listing_id) -> list[tuple]:
    def read():
        rows = db.session.scalars(sa.select(Location).where(Location.practitioner_id == listing_id))
        return sorted(
            (r.name, r.address, r.suburb, r.latitude, r.longitude, r.deleted_at is None)
            for r in rows
        )

    return in_app(app, read)


def services_of(app, listing_id) -> list[tuple]:
    def read():
        rows = db.session.scalars(sa.select(Service).where(Service.practitioner_id == listing_id))
        return sorted(
            (
                r.name,
                r.therapy,
                r.duration_minutes,
                r.price_cents,
                r.currency,
                r.active,
                r.deleted_at is None,
            )
            for r in rows
        )

    return in_app(app, read)


def overrides_of(app, listing_id) -> list[tuple]:
    def read():
        rows = db.session.scalars(
            sa.select(DateOverride).where(DateOverride.practitioner_id == listing_id)
        )
        return sorted(
            (r.date, [(w.start_time, w.end_time, w.location_id) for w in r.windows]) for r in rows
        )

    return in_app(app, read)


def time_off_of(app, listing_id) -> list[tuple]:
    def read():
        rows = db.session.scalars(sa.select(TimeOff).where(TimeOff.practitioner_id == listing_id))
        return sorted((r.start_at, r.end_at, r.reason) for r in rows)

    return in_app(app, read)


def booking_row(app, booking_id) -> dict:
    def read():
        row = db.session.get(Booking, uuid.UUID(str(booking_id)))
        return {
            "status": row.status,
            "refund_cents": row.refund_cents,
            "price_cents": row.price_cents,
            "cancellation_reason": row.cancellation_reason,
        }

    return in_app(app, read)


def assert_field_error(body: str, field_id: str, text: str | None = None) -> None:
    """The field is marked invalid and its message sits next to it."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', body)
    assert tag, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    assert f'aria-describedby="{field_id}-error"' in tag.group(0) or (
        f"{field_id}-error" in tag.group(0)
    )
    message = re.search(rf'id="{field_id}-error"[^>]*>(.*?)</small>', body, re.S)
    assert message, f"no message for {field_id}"
    if text is not None:
        assert text in message.group(1), message.group(1)
    assert 'role="alert"' in body


def no_field_errors(body: str) -> bool:
    return 'aria-invalid="true"' not in body


def follow(client, response):
    assert response.status_code == 303, html(response)[:2000]
    return client.get(response.headers["Location"])


@pytest.fixture
def listing(app):
    """An approved Sydney listing: one location, one service, Mon-Fri 09:00-17:00."""
    return create_listing(app, timezone=SYDNEY)


@pytest.fixture
def owner(client, listing):
    """The listing's practitioner, signed in on `client`."""
    sign_in(client, listing.owner_email)
    return listing


@pytest.fixture
def other(app):
    """Another practitioner's listing, whose ids must be 404 to `owner`."""
    return create_listing(app, timezone=SYDNEY)


# --- who may see the pages -----------------------------------------------------------------

PAGES = [
    "/dashboard",
    "/dashboard/profile",
    "/dashboard/locations",
    "/dashboard/services",
    "/dashboard/hours",
    "/dashboard/overrides",
    "/dashboard/time-off",
    "/dashboard/bookings",
    "/dashboard/payouts",
]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_sign_in_and_back(client, page):
    response = client.get(page)
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == [page]


@pytest.mark.parametrize("role", ["patient", "admin"])
@pytest.mark.parametrize("page", PAGES)
def test_other_roles_are_refused(app, client, page, role):
    _, email = create_user(app, role)
    sign_in(client, email)
    assert client.get(page).status_code == 403


def test_item_pages_send_anonymous_visitors_to_sign_in(client, listing):
    for page in (
        f"/dashboard/locations/{listing.location_id}",
        f"/dashboard/services/{listing.service_id}",
    ):
        response = client.get(page)
        assert response.status_code == 303
        assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == [page]


def test_a_patient_cannot_submit_a_listing(app, client):
    _, email = create_user(app, "patient")
    sign_in(client, email)
    response = submit(client, "/", action="/dashboard/submit")
    assert response.status_code == 403


# --- overview and submission ---------------------------------------------------------------


def test_new_practitioner_sees_a_draft_and_what_is_missing(app, client):
    _, email = create_user(app, "practitioner", name="Nina Nguyen")
    sign_in(client, email)
    body = html(client.get("/dashboard"))
    assert '<span class="badge badge-draft">Draft</span>' in body
    assert "A bio is required." in body
    assert "A time zone is required." in body
    assert "Add at least one location." in body
    assert "Add at least one active service." in body
    assert 'href="/dashboard/profile#f-bio"' in body
    assert 'href="/dashboard/locations#add-location"' in body
    assert 'href="/dashboard/services#add-service"' in body
    assert ">Submit for review</button>" in body
    for page in PAGES[1:]:
        assert f'href="{page}"' in body


def test_submitting_an_incomplete_listing_is_refused_and_it_stays_a_draft(app, client):
    user_id, email = create_user(app, "practitioner")
    sign_in(client, email)
    response = submit(client, "/dashboard", action="/dashboard/submit")
    assert response.status_code == 422
    body = html(response)
    assert 'role="alert"' in body
    assert "A bio is required." in body
    status = in_app(
        app,
        lambda: db.session.scalar(
            sa.select(Practitioner.status).where(Practitioner.owner_id == user_id)
        ),
    )
    assert status is ListingStatus.DRAFT


def test_submitting_a_complete_draft_sends_it_for_review(app, client):
    listing = create_listing(app, status=ListingStatus.DRAFT, timezone=SYDNEY)
    sign_in(client, listing.owner_email)
    page = follow(client, submit(client, "/dashboard", action="/dashboard/submit"))
    assert listing_row(app, listing.id)["status"] is ListingStatus.PENDING
    body = html(page)
    assert "sent for review" in body
    assert '<span class="badge badge-pending">Pending review</span>' in body
    assert ">Submit for review</button>" not in body


def test_submitting_a_listing_under_review_is_a_conflict(app, client):
    listing = create_listing(app, status=ListingStatus.PENDING, timezone=SYDNEY)
    sign_in(client, listing.owner_email)
    response = submit(client, "/dashboard", action="/dashboard/submit")
    assert response.status_code == 409
    assert "A pending listing cannot be submitted." in html(response)
    assert listing_row(app, listing.id)["status"] is ListingStatus.PENDING


def test_submit_without_csrf_token_is_refused(app, client):
    listing = create_listing(app, status=ListingStatus.DRAFT, timezone=SYDNEY)
    sign_in(client, listing.owner_email)
    assert client.post("/dashboard/submit").status_code == 400
    assert listing_row(app, listing.id)["status"] is ListingStatus.DRAFT


def test_rejected_listing_shows_the_reason_and_can_be_resubmitted(app, client):
    listing = create_listing(app, status=ListingStatus.REJECTED, timezone=SYDNEY)
    in_app(
        app,
        lambda: (
            db.session.execute(
                sa.update(Practitioner)
                .where(Practitioner.id == listing.id)
                .values(status_reason="Add your registration number.")
            ),
            db.session.commit(),
        ),
    )
    sign_in(client, listing.owner_email)
    body = html(client.get("/dashboard"))
    assert '<span class="badge badge-rejected">Rejected</span>' in body
    assert "Add your registration number." in body
    assert ">Submit for review</button>" in body


def test_approved_listing_links_its_public_profile(client, owner):
    body = html(client.get("/dashboard"))
    assert '<span class="badge badge-approved">Approved</span>' in body
    assert f'href="/practitioners/{owner.slug}"' in body
    assert ">Submit for review</button>" not in body


# --- profile -------------------------------------------------------------------------------


def profile_form(**changes) -> dict:
    form = {
        "display_name": "Dr Ada Lee",
        "headline": "Trigger point therapy for stubborn pain",
        "bio": "Twenty years of hands-on care.",
        "profession": "Myotherapist",
        "registration_body": "MAA",
        "registration_number": "MY123",
        "gender": "female",
        "languages": "en, zh",
        "telehealth": "true",
        "timezone": "Australia/Perth",
        "slot_interval_minutes": "30",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "min_notice_minutes": "60",
        "horizon_days": "90",
        "free_cancellation_hours": "48",
        "late_cancellation_fee_percent": "25",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_profile_form_shows_the_current_profile(client, owner):
    body = html(client.get("/dashboard/profile"))
    assert 'name="display_name" type="text" value="Practitioner' in body
    assert '<option value="Australia/Sydney" selected>' in body
    assert 'name="languages" type="text" value="en"' in body
    assert ">Save profile</button>" in body


def test_saving_the_profile_stores_every_field(app, client, owner):
    response = submit(client, "/dashboard/profile", data=profile_form())
    assert "Profile saved." in html(follow(client, response))
    row = listing_row(app, owner.id)
    assert row["headline"] == "Trigger point therapy for stubborn pain"
    assert row["languages"] == ["en", "zh"]
    assert row["telehealth"] is True
    assert row["timezone"] == "Australia/Perth"
    assert row["slot_interval_minutes"] == 30
    assert row["late_cancellation_fee_percent"] == 25


def test_an_unticked_telehealth_box_turns_telehealth_off(app, client, owner):
    submit(client, "/dashboard/profile", data=profile_form())
    response = submit(client, "/dashboard/profile", data=profile_form(telehealth=None))
    assert response.status_code == 303
    assert listing_row(app, owner.id)["telehealth"] is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slot_interval_minutes", "abc", "Not a valid integer."),
        ("late_cancellation_fee_percent", "150", "less than or equal to 100"),
        ("languages", "en, english", "“english”: Not an ISO 639-1 language code"),
        ("timezone", "Mars/Olympus", "Not a known IANA time zone."),
        ("display_name", "", "Length must be between 1 and 120."),
        ("gender", "robot", "Must be one of"),
    ],
)
def test_bad_profile_input_is_shown_next_to_its_field_and_saves_nothing(
    app, client, owner, field, value, message
):
    before = listing_row(app, owner.id)
    response = submit(client, "/dashboard/profile", data=profile_form(**{field: value}))
    assert response.status_code == 422
    body = html(response)
    assert_field_error(body, f"f-{field}", message)
    assert 'value="Trigger point therapy for stubborn pain"' in body  # what was typed is kept
    assert listing_row(app, owner.id) == before


def test_a_published_listing_cannot_blank_its_bio(app, client, owner):
    before = listing_row(app, owner.id)
    response = submit(client, "/dashboard/profile", data=profile_form(bio=""))
    assert response.status_code == 422
    assert_field_error(html(response), "f-bio", "Required while the listing is under review")
    assert listing_row(app, owner.id) == before


def test_profile_post_without_csrf_token_is_refused(app, client, owner):
    before = listing_row(app, owner.id)
    assert client.post("/dashboard/profile", data=profile_form()).status_code == 400
    assert listing_row(app, owner.id) == before


# --- locations -----------------------------------------------------------------------------


def location_form(**changes) -> dict:
    form = {
        "name": "Bondi rooms",
        "address": "10 Campbell Pde",
        "suburb": "Bondi Beach",
        "state": "NSW",
        "postcode": "2026",
        "country": "AU",
        "latitude": "-33.8915",
        "longitude": "151.2767",
    }
    form.update(changes)
    return form


def test_adding_a_location(app, client, owner):
    response = submit(client, "/dashboard/locations", data=location_form())
    body = html(follow(client, response))
    assert "Bondi rooms" in body
    assert (
        "Bondi rooms",
        "10 Campbell Pde",
        "Bondi Beach",
        -33.8915,
        151.2767,
        True,
    ) in locations_of(app, owner.id)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "95", "-90 and less than or equal to 90"),
        ("latitude", "north", "Not a valid number."),
        ("longitude", "-181", "-180 and less than or equal to 180"),
        ("name", "", "Length must be between 1 and 120."),
        ("country", "Australia", "Not an ISO 3166-1 alpha-2 country code."),
    ],
)
def test_bad_location_input_adds_nothing(app, client, owner, field, value, message):
    before = locations_of(app, owner.id)
    response = submit(client, "/dashboard/locations", data=location_form(**{field: value}))
    assert response.status_code == 422
    assert_field_error(html(response), f"f-{field}", message)
    assert locations_of(app, owner.id) == before


def test_editing_a_location(app, client, owner):
    page = f"/dashboard/locations/{owner.location_id}"
    assert 'value="Surry Hills"' in html(client.get(page))
    response = submit(client, page, data=location_form(name="Surry Hills studio"))
    assert response.status_code == 303
    names = [row[0] for row in locations_of(app, owner.id)]
    assert names == ["Surry Hills studio"]


def test_editing_a_location_out_of_range_changes_nothing(app, client, owner):
    page = f"/dashboard/locations/{owner.location_id}"
    before = locations_of(app, owner.id)
    response = submit(client, page, data=location_form(latitude="-91"))
    assert response.status_code == 422
    assert_field_error(html(response), "f-latitude")
    assert locations_of(app, owner.id) == before


def test_deleting_a_location_removes_it_and_its_hours(app, client, owner):
    response = submit(
        client, "/dashboard/locations", action=f"/dashboard/locations/{owner.location_id}/delete"
    )
    assert response.status_code == 303
    assert [row[-1] for row in locations_of(app, owner.id)] == [False]
    assert rules_of(app, owner.id) == []


def test_another_practitioners_location_is_not_found(app, client, owner, other):
    page = f"/dashboard/locations/{other.location_id}"
    assert client.get(page).status_code == 404
    token = csrf_token(client, "/dashboard/locations")
    edit = client.post(page, data={"csrf_token": token, **location_form()})
    assert edit.status_code == 404
    delete = client.post(f"{page}/delete", data={"csrf_token": token})
    assert delete.status_code == 404
    assert [row[-1] for row in locations_of(app, other.id)] == [True]
    assert locations_of(app, other.id)[0][0] == "Clinic"


def test_location_post_without_csrf_token_is_refused(app, client, owner):
    before = locations_of(app, owner.id)
    assert client.post("/dashboard/locations", data=location_form()).status_code == 400
    delete = client.post(f"/dashboard/locations/{owner.location_id}/delete")
    assert delete.status_code == 400
    assert locations_of(app, owner.id) == before


# --- services ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [("95", 9500), ("95.00", 9500), ("95.5", 9550), ("$1,200.00", 120000), (" 0.99 ", 99)],
)
def test_dollars_are_read_as_cents(text, cents):
    assert parse_dollars(text) == cents
    assert parse_dollars(dollars_text(cents)) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "Enter an amount in dollars"),
        ("", "Enter an amount in dollars"),
        ("-5", "Enter an amount in dollars"),
        ("1,2", "Enter an amount in dollars"),
        ("9.999", "at most two decimal places"),
        ("9" * 5000, "too large"),
    ],
)
def test_text_that_is_no_amount_of_dollars_says_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_dollars(text)


def service_form(**changes) -> dict:
    form = {
        "therapy": "dry-needling",
        "name": "Dry needling, 45 minutes",
        "description": "",
        "duration_minutes": "45",
        "price": "95.00",
        "currency": "AUD",
        "active": "true",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_service_form_offers_the_active_therapies(client, owner):
    body = html(client.get("/dashboard/services"))
    assert '<option value="dry-needling">Dry needling</option>' in body
    assert 'name="currency" type="text" value="AUD"' in body


def test_adding_a_service_stores_the_price_in_cents(app, client, owner):
    response = submit(client, "/dashboard/services", data=service_form())
    assert "Dry needling, 45 minutes" in html(follow(client, response))
    assert ("Dry needling, 45 minutes", "dry-needling", 45, 9500, "AUD", True, True) in services_of(
        app, owner.id
    )


def test_a_service_added_unticked_is_not_offered(app, client, owner):
    submit(client, "/dashboard/services", data=service_form(active=None, currency="aud"))
    added = [row for row in services_of(app, owner.id) if row[0] == "Dry needling, 45 minutes"]
    assert added == [("Dry needling, 45 minutes", "dry-needling", 45, 9500, "AUD", False, True)]


@pytest.mark.parametrize(
    ("field", "value", "field_id", "message"),
    [
        ("price", "abc", "f-price", "Enter an amount in dollars, such as 95.00."),
        ("price", "9.999", "f-price", "Use at most two decimal places"),
        ("price", "2000000", "f-price", "less than or equal to 100000000"),
        ("therapy", "reiki-healing", "f-therapy", "Not a known, active therapy."),
        ("duration_minutes", "600", "f-duration_minutes", "less than or equal to 480"),
        ("currency", "Dollars", "f-currency", "Not an ISO 4217 currency code"),
    ],
)
def test_bad_service_input_adds_nothing(app, client, owner, field, value, field_id, message):
    before = services_of(app, owner.id)
    response = submit(client, "/dashboard/services", data=service_form(**{field: value}))
    assert response.status_code == 422
    body = html(response)
    assert_field_error(body, field_id, message)
    assert f'value="{value}"' in body or field == "therapy"
    assert services_of(app, owner.id) == before


def test_editing_a_service_and_taking_it_off_offer(app, client, owner):
    page = f"/dashboard/services/{owner.service_id}"
    assert 'name="price" type="text" value="120.00"' in html(client.get(page))
    form = service_form(therapy="trigger-point-therapy", name="Treatment", price="110.50")
    del form["active"]  # an unticked box sends nothing
    response = submit(client, page, data=form)
    assert response.status_code == 303
    assert services_of(app, owner.id) == [
        ("Treatment", "trigger-point-therapy", 45, 11050, "AUD", False, True)
    ]


def test_editing_a_service_to_an_unknown_therapy_changes_nothing(app, client, owner):
    before = services_of(app, owner.id)
    page = f"/dashboard/services/{owner.service_id}"
    response = submit(client, page, data=service_form(therapy="nope", price="1"))
    assert response.status_code == 422
    assert_field_error(html(response), "f-therapy", "Not a known, active therapy.")
    assert services_of(app, owner.id) == before


def test_deleting_a_service(app, client, owner):
    response = submit(
        client, "/dashboard/services", action=f"/dashboard/services/{owner.service_id}/delete"
    )
    assert response.status_code == 303
    assert services_of(app, owner.id)[0][-2:] == (False, False)


def test_another_practitioners_service_is_not_found(app, client, owner, other):
    before = services_of(app, other.id)
    page = f"/dashboard/services/{other.service_id}"
    assert client.get(page).status_code == 404
    token = csrf_token(client, "/dashboard/services")
    assert client.post(page, data={"csrf_token": token, **service_form()}).status_code == 404
    assert client.post(f"{page}/delete", data={"csrf_token": token}).status_code == 404
    assert services_of(app, other.id) == before


def test_service_post_without_csrf_token_is_refused(app, client, owner):
    before = services_of(app, owner.id)
    assert client.post("/dashboard/services", data=service_form()).status_code == 400
    page = f"/dashboard/services/{owner.service_id}"
    assert client.post(page, data=service_form()).status_code == 400
    assert services_of(app, owner.id) == before


# --- weekly hours --------------------------------------------------------------------------

WEEKDAY_HOURS = [(day, time(9), time(17)) for day in range(5)]


def hours_rows(*rows, blanks: int = 2) -> dict:
    """Form fields for rows of (weekday, start, end, location_id), then blank rows."""
    form = {}
    for n, (weekday, start, end, location_id) in enumerate(rows):
        form.update(
            {
                f"rules-{n}-weekday": str(weekday),
                f"rules-{n}-start": start,
                f"rules-{n}-end": end,
                f"rules-{n}-location_id": str(location_id),
            }
        )
    for n in range(len(rows), len(rows) + blanks):
        form.update(
            {
                f"rules-{n}-weekday": "0",
                f"rules-{n}-start": "",
                f"rules-{n}-end": "",
                f"rules-{n}-location_id": str(rows[0][3]) if rows else "",
            }
        )
    return form


def test_hours_editor_shows_the_week_and_blank_rows(client, owner):
    body = html(client.get("/dashboard/hours"))
    assert 'name="rules-0-start" type="time" value="09:00"' in body
    assert 'name="rules-4-end" type="time" value="17:00"' in body
    assert 'name="rules-11-start" type="time" value=""' in body  # five windows, seven blank
    assert 'name="rules-12-start"' not in body
    assert '<option value="4" selected>Friday</option>' in body
    assert ">Save hours</button>" in body
    more = html(client.get("/dashboard/hours?rows=16"))
    assert 'name="rules-15-start"' in more


def test_saving_several_windows_a_day_at_two_locations(app, client, owner):
    second = create_location(app, owner.id)
    form = hours_rows(
        (0, "08:00", "12:00", owner.location_id),
        (0, "13:00", "18:30", second),
        (2, "09:30", "15:00", second),
    )
    response = submit(client, "/dashboard/hours", data=form)
    assert "Weekly hours saved." in html(follow(client, response))
    assert rules_of(app, owner.id) == [
        (0, time(8), time(12), owner.location_id),
        (0, time(13), time(18, 30), second),
        (2, time(9, 30), time(15), second),
    ]
    body = html(client.get("/dashboard/hours"))
    assert 'name="rules-1-start" type="time" value="13:00"' in body


def test_a_row_cleared_of_its_times_is_removed(app, client, owner):
    form = hours_rows(
        (1, "10:00", "14:00", owner.location_id), (3, "10:00", "14:00", owner.location_id)
    )
    form["rules-0-start"] = form["rules-0-end"] = ""
    assert submit(client, "/dashboard/hours", data=form).status_code == 303
    assert rules_of(app, owner.id) == [(3, time(10), time(14), owner.location_id)]


def test_more_rows_keeps_what_was_typed_and_saves_nothing(app, client, owner):
    form = hours_rows((5, "10:00", "13:00", owner.location_id), blanks=0)
    response = submit(client, "/dashboard/hours", data={**form, "action": "more_rows"})
    assert response.status_code == 200
    body = html(response)
    assert 'name="rules-0-start" type="time" value="10:00"' in body
    assert 'name="rules-3-start"' in body
    assert rules_of(app, owner.id) == [(d, s, e, owner.location_id) for d, s, e in WEEKDAY_HOURS]


@pytest.mark.parametrize(
    ("rows", "field_id", "message"),
    [
        ([(0, "09:00", "12:00"), (1, "14:00", "13:00")], "f-rules-1-end", "Must be after start."),
        ([(0, "9am", "12:00")], "f-rules-0-start", "Not a valid HH:MM time."),
        ([(0, "09:00", "")], "f-rules-0-end", "Not a valid HH:MM time."),
        ([(9, "09:00", "12:00")], "f-rules-0-weekday", "greater than or equal to 0"),
    ],
)
def test_bad_rows_are_shown_on_their_fields_and_the_week_is_kept(
    app, client, owner, rows, field_id, message
):
    before = rules_of(app, owner.id)
    form = hours_rows(*[(d, s, e, owner.location_id) for d, s, e in rows])
    response = submit(client, "/dashboard/hours", data=form)
    assert response.status_code == 422
    assert_field_error(html(response), field_id, message)
    assert rules_of(app, owner.id) == before


def test_overlapping_windows_are_shown_on_both_rows(app, client, owner):
    before = rules_of(app, owner.id)
    form = hours_rows(
        (2, "09:00", "17:00", owner.location_id),
        (0, "09:00", "12:00", owner.location_id),
        (0, "11:00", "13:00", owner.location_id),
    )
    response = submit(client, "/dashboard/hours", data=form)
    assert response.status_code == 422
    body = html(response)
    message = "Monday 09:00-12:00 overlaps Monday 11:00-13:00."
    assert_field_error(body, "f-rules-1-start", message)
    assert_field_error(body, "f-rules-2-start", message)
    assert 'id="f-rules-0-start-error"' not in body
    assert rules_of(app, owner.id) == before


def test_many_identical_rows_get_a_bounded_answer(app, client, owner):
    """200 copies of one window overlap in 19,900 pairs: the page names a few and counts the
    rest, instead of one message per pair on every row."""
    before = rules_of(app, owner.id)
    form = hours_rows(*[(0, "09:00", "12:00", owner.location_id)] * 200, blanks=0)

    response = submit(client, "/dashboard/hours", data=form)

    body = html(response)
    assert response.status_code == 422
    assert body.count("Monday 09:00-12:00 overlaps Monday 09:00-12:00.") <= 4 * 20
    assert "And 19880 more overlaps." in body
    assert rules_of(app, owner.id) == before


def test_a_row_after_blank_rows_keeps_its_own_number_in_messages(app, client, owner):
    form = hours_rows((0, "09:00", "12:00", owner.location_id), blanks=3)
    form.update(
        {
            "rules-4-weekday": "1",
            "rules-4-start": "15:00",
            "rules-4-end": "10:00",
            "rules-4-location_id": str(owner.location_id),
        }
    )
    response = submit(client, "/dashboard/hours", data=form)
    assert response.status_code == 422
    assert_field_error(html(response), "f-rules-4-end", "Must be after start.")


@pytest.mark.parametrize("whose", ["unknown", "another practitioner's"])
def test_a_location_that_is_not_yours_is_refused(app, client, owner, other, whose):
    before = rules_of(app, owner.id)
    location_id = uuid.uuid4() if whose == "unknown" else other.location_id
    form = hours_rows((0, "09:00", "12:00", owner.location_id), (1, "09:00", "12:00", location_id))
    response = submit(client, "/dashboard/hours", data=form)
    assert response.status_code == 422
    assert_field_error(html(response), "f-rules-1-location_id", "Not one of your locations.")
    assert rules_of(app, owner.id) == before


def test_hours_need_a_location_first(app, client):
    _, email = create_user(app, "practitioner")
    sign_in(client, email)
    body = html(client.get("/dashboard/hours"))
    assert "Add a location first" in body
    assert ">Save hours</button>" not in body


def test_hours_post_without_csrf_token_is_refused(app, client, owner):
    before = rules_of(app, owner.id)
    form = hours_rows((6, "09:00", "10:00", owner.location_id))
    assert client.post("/dashboard/hours", data=form).status_code == 400
    assert rules_of(app, owner.id) == before


# --- date overrides ------------------------------------------------------------------------


def future_day(days: int = 10) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def override_form(day: date, *windows, blanks: int = 2) -> dict:
    form = {"date": day.isoformat()}
    for n, (start, end, location_id) in enumerate(windows):
        form.update(
            {
                f"windows-{n}-start": start,
                f"windows-{n}-end": end,
                f"windows-{n}-location_id": str(location_id),
            }
        )
    for n in range(len(windows), len(windows) + blanks):
        form.update({f"windows-{n}-start": "", f"windows-{n}-end": ""})
    return form


def test_giving_a_date_its_own_hours(app, client, owner):
    day = future_day()
    form = override_form(
        day, ("10:00", "12:00", owner.location_id), ("14:00", "16:00", owner.location_id)
    )
    body = html(follow(client, submit(client, "/dashboard/overrides", data=form)))
    assert "10:00 to 12:00 at Clinic; 14:00 to 16:00 at Clinic" in body
    assert overrides_of(app, owner.id) == [
        (day, [(time(10), time(12), owner.location_id), (time(14), time(16), owner.location_id)])
    ]


def test_a_date_without_windows_is_closed(app, client, owner):
    day = future_day(12)
    body = html(follow(client, submit(client, "/dashboard/overrides", data=override_form(day))))
    assert "Closed all day" in body
    assert overrides_of(app, owner.id) == [(day, [])]


@pytest.mark.parametrize(
    ("form_of", "field_id", "message"),
    [
        (
            lambda loc: override_form(future_day(-2), ("10:00", "12:00", loc)),
            "f-date",
            "Must not be in the past.",
        ),
        (
            lambda loc: {**override_form(future_day()), "date": "31/12/2030"},
            "f-date",
            "Not a valid date.",
        ),
        (
            lambda loc: override_form(future_day(), ("12:00", "10:00", loc)),
            "f-windows-0-end",
            "Must be after start.",
        ),
        (
            lambda loc: override_form(future_day(), ("10:00", "12:00", uuid.uuid4())),
            "f-windows-0-location_id",
            "Not one of your locations.",
        ),
        (
            lambda loc: override_form(
                future_day(), ("10:00", "12:00", loc), ("11:00", "13:00", loc)
            ),
            "f-windows-1-start",
            "10:00-12:00 overlaps 11:00-13:00.",
        ),
    ],
)
def test_bad_override_input_adds_nothing(app, client, owner, form_of, field_id, message):
    response = submit(client, "/dashboard/overrides", data=form_of(owner.location_id))
    assert response.status_code == 422
    assert_field_error(html(response), field_id, message)
    assert overrides_of(app, owner.id) == []


def test_deleting_an_override(app, client, owner):
    override_id = create_override(app, owner.id, future_day())
    response = submit(
        client, "/dashboard/overrides", action=f"/dashboard/overrides/{override_id}/delete"
    )
    assert response.status_code == 303
    assert overrides_of(app, owner.id) == []


def test_another_practitioners_override_is_not_found(app, client, owner, other):
    override_id = create_override(app, other.id, future_day())
    response = submit(
        client, "/dashboard/overrides", action=f"/dashboard/overrides/{override_id}/delete"
    )
    assert response.status_code == 404
    assert len(overrides_of(app, other.id)) == 1


def test_override_post_without_csrf_token_is_refused(app, client, owner):
    override_id = create_override(app, owner.id, future_day())
    assert (
        client.post("/dashboard/overrides", data=override_form(future_day(20))).status_code == 400
    )
    assert client.post(f"/dashboard/overrides/{override_id}/delete").status_code == 400
    assert overrides_of(app, owner.id) == [(future_day(), [])]


# --- time off ------------------------------------------------------------------------------


def test_time_off_is_read_in_the_listings_zone(app, client, owner):
    form = {"start_at": "2030-01-10T09:00", "end_at": "2030-01-10T17:30", "reason": "Course"}
    body = html(follow(client, submit(client, "/dashboard/time-off", data=form)))
    assert "Thu 10 Jan, 09:00 AEDT" in body
    assert time_off_of(app, owner.id) == [
        (datetime(2030, 1, 9, 22, tzinfo=UTC), datetime(2030, 1, 10, 6, 30, tzinfo=UTC), "Course")
    ]


def test_a_local_time_skipped_by_daylight_saving_moves_forward(app, client, owner):
    # Sydney's clocks go from 02:00 to 03:00 on Sunday 6 October 2030.
    form = {"start_at": "2030-10-06T02:30", "end_at": "2030-10-06T09:00"}
    assert submit(client, "/dashboard/time-off", data=form).status_code == 303
    assert time_off_of(app, owner.id)[0][0] == datetime(2030, 10, 5, 16, tzinfo=UTC)


@pytest.mark.parametrize(
    ("form", "field_id", "message"),
    [
        (
            {"start_at": "2030-01-10T17:00", "end_at": "2030-01-10T09:00"},
            "f-end_at",
            "Must be after the start.",
        ),
        ({"start_at": "soon", "end_at": "2030-01-10T09:00"}, "f-start_at", "Give a date and time"),
        (
            {"start_at": "0001-01-01T00:00", "end_at": "2030-01-10T09:00"},
            "f-start_at",
            "Must be between the years 1900 and 2999.",
        ),
        ({"start_at": "", "end_at": "2030-01-10T09:00"}, "f-start_at", "Give a date and time"),
        (
            {"start_at": "2030-01-10T09:00", "end_at": "2030-01-10T10:00", "reason": "x" * 201},
            "f-reason",
            "Longer than maximum length 200.",
        ),
    ],
)
def test_bad_time_off_adds_nothing(app, client, owner, form, field_id, message):
    response = submit(client, "/dashboard/time-off", data=form)
    assert response.status_code == 422
    assert_field_error(html(response), field_id, message)
    assert time_off_of(app, owner.id) == []


def test_deleting_time_off(app, client, owner):
    period_id = create_time_off(app, owner.id)
    assert "Delete time off from" in html(client.get("/dashboard/time-off"))
    response = submit(
        client, "/dashboard/time-off", action=f"/dashboard/time-off/{period_id}/delete"
    )
    assert response.status_code == 303
    assert time_off_of(app, owner.id) == []


def test_another_practitioners_time_off_is_not_found(app, client, owner, other):
    period_id = create_time_off(app, other.id)
    response = submit(
        client, "/dashboard/time-off", action=f"/dashboard/time-off/{period_id}/delete"
    )
    assert response.status_code == 404
    assert len(time_off_of(app, other.id)) == 1


def test_time_off_post_without_csrf_token_is_refused(app, client, owner):
    form = {"start_at": "2030-01-10T09:00", "end_at": "2030-01-10T17:30"}
    assert client.post("/dashboard/time-off", data=form).status_code == 400
    assert time_off_of(app, owner.id) == []


# --- bookings ------------------------------------------------------------------------------


@pytest.fixture
def open_listing(app):
    """An approved Sydney listing open every day, so a booking can be made for any day."""
    return create_listing(app, timezone=SYDNEY, weekly_hours=ALL_DAY, min_notice_minutes=0)


def confirmed_booking(app, listing, start: datetime, patient_name="Jane Patient") -> dict:
    """A paid booking made by a new patient through the API, on a client of their own."""
    _, email = create_user(app, "patient", name=patient_name)
    patient = app.test_client()
    token = patient.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    return book_and_pay(patient, headers, listing, start)


def move_booking(app, booking_id, delta: timedelta) -> None:
    """Shift a booking in time, as if it had been made for another day."""

    def write():
        booking = db.session.get(Booking, uuid.UUID(str(booking_id)))
        booking.start_at += delta
        booking.end_at += delta
        booking.blocked_start_at += delta
        booking.blocked_end_at += delta
        db.session.commit()

    in_app(app, write)


def sydney_day(instant: datetime) -> date:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(SYDNEY)).date()


@dataclass(frozen=True)
class Booked:
    listing: object
    booking: dict
    start: datetime


@pytest.fixture
def booked(app, client, open_listing) -> Booked:
    """A confirmed booking three days ahead, its practitioner signed in on `client`."""
    start = far_start(days=3, hour=2)  # 12:00 or 13:00 in Sydney
    booking = confirmed_booking(app, open_listing, start)
    sign_in(client, open_listing.owner_email)
    return Booked(open_listing, booking, start)


def test_week_view_lists_bookings_with_patient_service_and_local_time(client, booked):
    start = booked.start
    day = sydney_day(start)
    body = html(client.get(f"/dashboard/bookings?date={day.isoformat()}"))
    assert "Jane Patient" in body
    assert "Treatment" in body
    assert re.search(r"1[23]:00 AE[DS]T to 1[34]:00 AE[DS]T", body)
    assert '<span class="badge badge-confirmed">Confirmed</span>' in body
    assert "Times in Australia/Sydney" in body
    monday = day - timedelta(days=day.weekday())
    assert f'id="day-{monday.isoformat()}"' in body
    assert f'id="day-{(monday + timedelta(days=6)).isoformat()}"' in body
    assert f"date={(day - timedelta(days=7)).isoformat()}" in body
    assert f"date={(day + timedelta(days=7)).isoformat()}" in body
    assert re.search(
        r'aria-label="Cancel booking [^"]+ Jane Patient">Cancel booking</button>', body
    )
    assert "Mark completed" not in body  # it has not happened yet


def test_the_default_week_is_this_week_and_lists_upcoming_bookings_on_the_overview(client, booked):
    body = html(client.get("/dashboard"))
    assert "Jane Patient" in body  # next bookings
    week = html(client.get("/dashboard/bookings"))
    today = sydney_day(datetime.now(UTC))
    assert f'id="day-{today.isoformat()}"' in week
    assert "(today)" in week


def test_day_view_shows_only_that_day(client, booked):
    start = booked.start
    day = sydney_day(start)
    body = html(client.get(f"/dashboard/bookings?view=day&date={day.isoformat()}"))
    assert "Jane Patient" in body
    assert f"date={(day + timedelta(days=1)).isoformat()}" in body
    other_day = html(
        client.get(f"/dashboard/bookings?view=day&date={(day + timedelta(days=1)).isoformat()}")
    )
    assert "Jane Patient" not in other_day
    assert "No bookings." in other_day


@pytest.mark.parametrize("query", ["date=tomorrow", "view=month"])
def test_bad_calendar_parameters_are_explained(client, booked, query):
    response = client.get(f"/dashboard/bookings?{query}")
    assert response.status_code == 422
    assert 'role="alert"' in html(response)


def test_cancelling_refunds_the_patient_in_full(app, client, booked):
    booking = booked.booking
    start = booked.start
    response = submit(
        client,
        "/dashboard/bookings",
        action=f"/dashboard/bookings/{booking['id']}/cancel",
        data={"reason": "Unwell today", "view": "week", "date": sydney_day(start).isoformat()},
    )
    assert "The patient is refunded in full: 120.00 AUD." in html(follow(client, response))
    row = booking_row(app, booking["id"])
    assert row["status"] is BookingStatus.CANCELLED
    assert row["refund_cents"] == row["price_cents"] == 12000
    assert row["cancellation_reason"] == "Unwell today"


def test_a_reason_too_long_cancels_nothing(app, client, booked):
    booking = booked.booking
    start = booked.start
    response = submit(
        client,
        f"/dashboard/bookings?date={sydney_day(start).isoformat()}",
        action=f"/dashboard/bookings/{booking['id']}/cancel",
        data={"reason": "x" * 1001, "date": sydney_day(start).isoformat()},
    )
    assert response.status_code == 422
    assert_field_error(html(response), "f-reason", "Longer than maximum length 1000.")
    assert booking_row(app, booking["id"])["status"] is BookingStatus.CONFIRMED


@pytest.mark.parametrize(
    ("action", "outcome"),
    [("complete", BookingStatus.COMPLETED), ("no-show", BookingStatus.NO_SHOW)],
)
def test_marking_a_past_appointment(app, client, booked, action, outcome):
    booking = booked.booking
    start = booked.start
    move_booking(app, booking["id"], timedelta(days=-4))
    day = sydney_day(start - timedelta(days=4))
    page = f"/dashboard/bookings?date={day.isoformat()}"
    body = html(client.get(page))
    assert re.search(
        r'aria-label="Mark completed: [^"]+ Jane Patient">Mark completed</button>', body
    )
    assert re.search(r'aria-label="Mark no-show: [^"]+ Jane Patient">Mark no-show</button>', body)
    response = submit(
        client,
        page,
        action=f"/dashboard/bookings/{booking['id']}/{action}",
        data={"view": "week", "date": day.isoformat()},
    )
    assert response.status_code == 303
    assert f"date={day.isoformat()}" in response.headers["Location"]
    assert booking_row(app, booking["id"])["status"] is outcome


def test_a_refused_transition_is_shown_not_a_server_error(app, client, booked):
    booking = booked.booking
    response = submit(
        client, "/dashboard/bookings", action=f"/dashboard/bookings/{booking['id']}/complete"
    )
    assert response.status_code == 409
    body = html(response)
    assert "The appointment has not started yet." in body
    assert 'role="alert"' in body
    assert booking_row(app, booking["id"])["status"] is BookingStatus.CONFIRMED


def test_cancelling_twice_is_a_conflict(app, client, booked):
    booking = booked.booking
    action = f"/dashboard/bookings/{booking['id']}/cancel"
    assert submit(client, "/dashboard/bookings", action=action).status_code == 303
    again = submit(client, "/dashboard/bookings", action=action)
    assert again.status_code == 409
    assert "A cancelled booking cannot be cancelled." in html(again)
    assert booking_row(app, booking["id"])["refund_cents"] == 12000


def test_another_practitioners_booking_is_not_found(app, client, booked, other):
    booking = booked.booking
    start = booked.start
    stranger = app.test_client()
    sign_in(stranger, other.owner_email)
    for action in ("complete", "no-show", "cancel"):
        response = submit(
            stranger, "/dashboard/bookings", action=f"/dashboard/bookings/{booking['id']}/{action}"
        )
        assert response.status_code == 404
    their_week = html(stranger.get(f"/dashboard/bookings?date={sydney_day(start)}"))
    assert "Jane Patient" not in their_week
    assert booking_row(app, booking["id"])["status"] is BookingStatus.CONFIRMED


def test_booking_post_without_csrf_token_is_refused(app, client, booked):
    booking = booked.booking
    assert client.post(f"/dashboard/bookings/{booking['id']}/cancel").status_code == 400
    assert booking_row(app, booking["id"])["status"] is BookingStatus.CONFIRMED


# --- payouts and calendar feed -------------------------------------------------------------


def test_setting_up_payouts_creates_the_account_once_and_goes_to_onboarding(app, client, owner):
    assert ">Set up payouts</button>" in html(client.get("/dashboard/payouts"))
    response = submit(client, "/dashboard/payouts", action="/dashboard/payouts/onboarding")
    assert response.status_code == 303
    account_id = listing_row(app, owner.id)["stripe_account_id"]
    assert account_id and account_id.startswith("acct_sim_")
    assert urlsplit(response.headers["Location"]).path == (
        f"/payouts/simulated-onboarding/{account_id}"
    )
    assert ">Continue payout setup</button>" in html(client.get("/dashboard/payouts"))
    again = submit(client, "/dashboard/payouts", action="/dashboard/payouts/onboarding")
    assert again.status_code == 303
    assert listing_row(app, owner.id)["stripe_account_id"] == account_id


def test_payouts_post_without_csrf_token_is_refused(app, client, owner):
    assert client.post("/dashboard/payouts/onboarding").status_code == 400
    assert listing_row(app, owner.id)["stripe_account_id"] is None


def test_the_feed_link_is_the_profiles_and_rotating_it_kills_the_old_one(app, client, owner):
    old_token = listing_row(app, owner.id)["calendar_token"]
    body = html(client.get("/dashboard/payouts"))
    profile = client.get("/api/v1/practitioner/profile").get_json()
    assert f'value="{profile["calendar_url"]}"' in body.replace("&amp;", "&")
    assert old_token in profile["calendar_url"]
    assert ">Rotate feed link</button>" in body
    page = follow(client, submit(client, "/dashboard/payouts", action="/dashboard/calendar-token"))
    assert "The old link no longer works" in html(page)
    new_token = listing_row(app, owner.id)["calendar_token"]
    assert new_token != old_token
    assert new_token in html(page)
    feed = "/api/v1/practitioner/calendar.ics"
    assert client.get(feed, query_string={"token": old_token}).status_code == 404
    assert client.get(feed, query_string={"token": new_token}).status_code == 200


def test_rotate_without_csrf_token_is_refused(app, client, owner):
    before = listing_row(app, owner.id)["calendar_token"]
    assert client.post("/dashboard/calendar-token").status_code == 400
    assert listing_row(app, owner.id)["calendar_token"] == before
