"""A patient on a phone: search, pick a time while signed out, sign in, pay, get the calendar
file, then cancel from "My bookings" after reading the refund."""

import re
import uuid
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from tests.browser.helpers import (
    ANY_BOOK_BUTTON,
    SLOT_BUTTON,
    ZONE,
    accessible_name,
    button,
    button_or_link,
    click_and_load,
    go,
    set_field,
    sign_in,
)

SLOT_TIME = re.compile(rf"at (\d{{2}}:\d{{2}}) ({ZONE})\b")


def test_patient_searches_books_pays_and_cancels(page, axe, live_server):
    seed = live_server.seed
    main = page.locator("main")

    # Home: the search form.
    go(page, "/")
    axe(page, "home")
    set_field(page, "therapy", "trigger-point-therapy")
    set_field(page, "near", "Sydney")
    click_and_load(page, button(main, "Search"))
    assert urlsplit(page.url).path == "/search"
    query = parse_qs(urlsplit(page.url).query)
    assert query.get("near") == ["Sydney"], page.url
    axe(page, "search results")

    # Results: the seeded practitioner's card, with its distance from Sydney.
    profile_link = main.get_by_role("link", name=re.compile(re.escape(seed.listing_name)))
    expect(profile_link.first).to_be_visible()
    named = page.get_by_role("link", name=re.compile(re.escape(seed.listing_name)))
    card = main.locator("article, li").filter(has=named).last
    expect(card).to_contain_text(re.compile(r"\d+(\.\d+)?\s?km"))
    click_and_load(page, profile_link.first)
    assert urlsplit(page.url).path == f"/practitioners/{seed.listing.slug}"
    axe(page, "practitioner profile")

    # The picker: every slot button is named with the full date, time and zone.
    slots = main.get_by_role("button", name=ANY_BOOK_BUTTON)
    expect(slots.first).to_be_visible()
    offered = slots.count()
    expect(main.get_by_role("button", name=SLOT_BUTTON)).to_have_count(offered)
    first_name = accessible_name(slots.first)
    slot_time = SLOT_TIME.search(first_name)
    assert slot_time, first_name

    # Booking while signed out asks for sign-in and keeps where it was going.
    click_and_load(page, slots.first)
    assert urlsplit(page.url).path == "/login", page.url
    next_target = parse_qs(urlsplit(page.url).query).get("next", [""])[0]
    assert next_target.startswith("/book"), f"next not kept: {page.url}"
    axe(page, "sign-in")
    signup_link = main.get_by_role("link", name=re.compile("Create", re.I))
    expect(signup_link.first).to_have_attribute("href", re.compile(r"next="))
    with page.expect_navigation(url=re.compile(r"/checkout/")):
        sign_in(page, seed.patient_email)

    # Straight on to the (simulated) checkout.
    expect(main).to_contain_text(seed.price_text.split()[0])
    axe(page, "checkout")
    click_and_load(page, button(main, "Pay"))
    done = re.fullmatch(r"/bookings/([0-9a-f-]{36})/done", urlsplit(page.url).path)
    assert done, page.url
    booking_id = done.group(1)
    expect(main).to_contain_text("Confirmed")
    expect(main).to_contain_text(seed.listing_name)
    expect(main).to_contain_text(f"{slot_time.group(1)} {slot_time.group(2)}")
    expect(main).to_contain_text(seed.price_text.split()[0])
    axe(page, "booking done")

    calendar_link = main.get_by_role("link", name=re.compile(r"^\s*Add to calendar"))
    expect(calendar_link).to_be_visible()
    href = calendar_link.get_attribute("href")
    assert href and ".ics" in href, href
    calendar = page.request.get(href)
    assert calendar.status == 200, calendar.status
    assert calendar.headers["content-type"].startswith("text/calendar"), calendar.headers
    assert "BEGIN:VCALENDAR" in calendar.text() and "BEGIN:VEVENT" in calendar.text()

    # My bookings: listed, then cancelled after the refund is stated.
    click_and_load(page, page.get_by_role("link", name="My bookings").first)
    assert urlsplit(page.url).path == "/me/bookings"
    axe(page, "my bookings")
    booking = main.locator("article, li, tr").filter(has_text=seed.listing_name).last
    expect(booking).to_be_visible()
    click_and_load(page, button_or_link(booking, "Cancel booking").first)
    axe(page, "cancel confirmation")
    refund = main.get_by_text(re.compile(r"refund", re.I)).first
    expect(refund).to_be_visible()
    expect(main).to_contain_text(re.compile(rf"refund[^.]*{re.escape(seed.price_text)}", re.I))
    confirm = button(main, "Cancel booking").last
    refund_first = refund.evaluate(
        "(text, button) => !!(text.compareDocumentPosition(button)"
        " & Node.DOCUMENT_POSITION_FOLLOWING)",
        confirm.element_handle(),
    )
    assert refund_first, "the refund is not stated before the confirm button"
    click_and_load(page, confirm)
    assert urlsplit(page.url).path == "/me/bookings", page.url
    cancelled = main.locator("article, li, tr").filter(has_text=seed.listing_name).last
    expect(cancelled).to_contain_text(re.compile(r"\bcancell?ed\b", re.I))
    expect(button_or_link(cancelled, "Cancel booking")).to_have_count(0)
    axe(page, "my bookings after cancelling")

    with live_server.app.app_context():
        row = db.session.get(Booking, uuid.UUID(booking_id))
        assert row is not None and row.status is BookingStatus.CANCELLED, row and row.status
        assert row.refund_cents == row.price_cents, "a free cancellation refunds in full"
        db.session.remove()

    axe.assert_clean()
