"""A new practitioner at a desk: sign up, see what the draft lacks, fill it in (profile, a
location, a service priced in dollars, weekly hours) and submit it for review."""

import re
import uuid
from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from marketplace.accounts.models import User
from marketplace.availability.models import AvailabilityRule
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner, Service
from tests.browser.helpers import (
    button,
    click_and_load,
    field,
    go,
    pick_option_containing,
    set_field,
)
from tests.factories import PASSWORD

LOCATION = {
    "name": "Bondi Junction Rooms",
    "address": "500 Oxford St",
    "suburb": "Bondi Junction",
    "state": "NSW",
    "postcode": "2022",
    "country": "AU",
    "latitude": "-33.8917",
    "longitude": "151.2500",
}


def _form_with(page: Page, name: str) -> Locator:
    """The (last) form holding a field `name`: on a page that lists existing items with their
    own forms, the blank form for a new one comes last."""
    return page.locator("main form").filter(has=field(page, name)).last


def _fill_and_save(page: Page, values: dict[str, str], *, form_field: str) -> None:
    form = _form_with(page, form_field)
    for name, value in values.items():
        set_field(form, name, value)
    click_and_load(page, button(form, "Save"))
    expect(page.locator('main [aria-invalid="true"]')).to_have_count(0)


def test_practitioner_signs_up_fills_the_listing_and_submits_it(desktop_page, axe, live_server):
    page = desktop_page
    main = page.locator("main")
    email = f"new-practitioner-{uuid.uuid4().hex[:8]}@example.com"

    go(page, "/signup")
    axe(page, "sign-up")
    set_field(page, "name", "Jordan Keane")
    set_field(page, "email", email)
    set_field(page, "password", PASSWORD)
    set_field(page, "role", "practitioner")
    click_and_load(page, button(main, "Create account"))

    # The dashboard: a draft, and what it still needs.
    assert urlsplit(page.url).path == "/dashboard", page.url
    expect(main).to_contain_text(re.compile(r"draft", re.I))
    expect(main).to_contain_text(re.compile(r"bio", re.I))
    expect(main).to_contain_text(re.compile(r"location", re.I))
    expect(main).to_contain_text(re.compile(r"service", re.I))
    axe(page, "dashboard (new draft)")

    go(page, "/dashboard/profile")
    axe(page, "dashboard profile")
    _fill_and_save(
        page,
        {
            "display_name": "Jordan Keane",
            "headline": "Dry needling for stubborn knots",
            "bio": "Ten years of myotherapy and dry needling for back, hip and buttock pain.",
            "timezone": "Australia/Sydney",
        },
        form_field="bio",
    )

    go(page, "/dashboard/locations")
    axe(page, "dashboard locations")
    _fill_and_save(page, LOCATION, form_field="latitude")
    expect(main).to_contain_text(LOCATION["name"])

    go(page, "/dashboard/services")
    axe(page, "dashboard services")
    _fill_and_save(
        page,
        {
            "therapy": "dry-needling",
            "name": "Dry needling, first visit",
            "duration_minutes": "60",
            "price": "95.00",
        },
        form_field="price",
    )
    expect(main).to_contain_text("Dry needling, first visit")

    go(page, "/dashboard/hours")
    axe(page, "dashboard hours")
    hours = _form_with(page, "rules-0-weekday")
    set_field(hours, "rules-0-weekday", "0")
    set_field(hours, "rules-0-start", "09:00")
    set_field(hours, "rules-0-end", "17:00")
    pick_option_containing(hours, "rules-0-location_id", LOCATION["name"])
    click_and_load(page, button(hours, "Save"))
    expect(page.locator('main [aria-invalid="true"]')).to_have_count(0)
    axe(page, "dashboard hours (saved)")

    go(page, "/dashboard")
    click_and_load(page, button(main, "Submit for review"))
    expect(main).to_contain_text(re.compile(r"pending", re.I))
    axe(page, "dashboard (pending)")

    with live_server.app.app_context():
        owner = db.session.scalar(sa.select(User).where(User.email == email))
        listing = db.session.scalar(
            sa.select(Practitioner).where(Practitioner.owner_id == owner.id)
        )
        assert listing.status is ListingStatus.PENDING
        assert listing.timezone == "Australia/Sydney"
        services = db.session.scalars(
            sa.select(Service).where(Service.practitioner_id == listing.id)
        ).all()
        assert [s.price_cents for s in services] == [9500], "the price typed in dollars"
        rules = db.session.scalars(
            sa.select(AvailabilityRule).where(AvailabilityRule.practitioner_id == listing.id)
        ).all()
        assert [(r.weekday, r.start_time.isoformat("minutes")) for r in rules] == [(0, "09:00")]
        db.session.remove()

    axe.assert_clean()
