"""Two patients click the same "Book" button at the same moment: one reaches the checkout, the
other is back on the picker told the time was just taken, and only one booking holds it."""

import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.bookings.models import Booking, BookingStatus
from marketplace.extensions import db
from tests.browser.conftest import DESKTOP
from tests.browser.helpers import (
    ANY_BOOK_BUTTON,
    accessible_name,
    assert_not_error_page,
    expect_ok,
    go,
    sign_in,
)

TAKEN = re.compile(
    r"taken|no longer (free|available|open)|just (been )?(booked|taken)|not free|someone else",
    re.I,
)
# Both buttons are pressed by timers set to fire at one instant in both pages, so the two
# POST /book requests reach the server together (the sync API cannot click from two threads).
CLICK_AT = "([button, at]) => { setTimeout(() => button.click(), Math.max(0, at - Date.now())); }"


def _first_request(response):
    """The request that began a navigation (the POST, before any redirect)."""
    request = response.request
    while request.redirected_from is not None:
        request = request.redirected_from
    return request


def test_two_patients_race_for_one_slot(open_page, axe, live_server):
    seed = live_server.seed
    listing = seed.race_listing
    pages = []
    for email in seed.racer_emails:
        page = open_page(DESKTOP)
        go(page, "/login")
        with page.expect_navigation():
            sign_in(page, email)
        go(page, f"/practitioners/{listing.slug}")
        pages.append(page)
    axe(pages[0], "practitioner profile (signed in)")

    buttons = [
        page.locator("main").get_by_role("button", name=ANY_BOOK_BUTTON).first for page in pages
    ]
    names = [accessible_name(b) for b in buttons]
    assert names[0] == names[1], names
    start_at = buttons[0].locator("xpath=ancestor::form[1]").locator('[name="start_at"]')
    slot_start = datetime.fromisoformat(start_at.input_value())

    at = time.time() * 1000 + 400
    with pages[0].expect_navigation() as first, pages[1].expect_navigation() as second:
        for page, target in zip(pages, buttons, strict=True):
            page.evaluate(CLICK_AT, [target.element_handle(), at])
    responses = [first.value, second.value]
    sent = [_first_request(response).timing["startTime"] for response in responses]
    assert abs(sent[0] - sent[1]) < 1000, f"the two bookings were sent {sent} (ms) apart"

    at_checkout = [urlsplit(page.url).path.startswith("/checkout/") for page in pages]
    assert sum(at_checkout) == 1, f"{sum(at_checkout)} of 2 reached the checkout: {pages}"
    winner, loser = (pages[0], pages[1]) if at_checkout[0] else (pages[1], pages[0])
    loser_response = responses[pages.index(loser)]
    assert_not_error_page(loser)
    assert loser_response.status < 500, f"the other patient got a {loser_response.status}"
    expect_ok(winner, responses[pages.index(winner)])

    main = loser.locator("main")
    expect(main).to_contain_text(TAKEN)
    expect(main.get_by_role("alert").or_(main.get_by_role("status")).first).to_contain_text(TAKEN)
    offered = main.get_by_role("button", name=ANY_BOOK_BUTTON)
    expect(offered.first).to_be_visible()
    expect(main.get_by_role("button", name=names[0], exact=True)).to_have_count(0)
    axe(loser, "picker: the time was just taken")
    axe(winner, "checkout (race winner)")

    with live_server.app.app_context():
        active = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Booking)
            .where(
                Booking.practitioner_id == listing.id,
                Booking.start_at == slot_start,
                Booking.status.in_([BookingStatus.HELD, BookingStatus.CONFIRMED]),
            )
        )
        db.session.remove()
    assert active == 1, f"{active} active bookings hold {slot_start.isoformat()}"

    axe.assert_clean()
