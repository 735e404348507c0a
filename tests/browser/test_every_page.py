"""axe-core on every page the journeys do not reach, and on each form's error state: each page
is audited at 390 px and, without reloading it (a re-rendered form cannot be reloaded), again
at desktop width. A few tests, each signing in once per role, drive the pages as the journeys
do: by DESIGN.md's field names, roles and the words accessible names begin with."""

import re
import uuid
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import DESKTOP, MOBILE
from tests.browser.helpers import (
    ANY_BOOK_BUTTON,
    button,
    button_or_link,
    click_and_load,
    field,
    go,
    set_field,
    sign_in,
    starts_with,
)
from tests.factories import PASSWORD

UNPROCESSABLE = (422,)
INVALID = 'main [aria-invalid="true"]'


def audit(axe, page: Page, label: str) -> None:
    """axe on the page as it is, at 390 px and then at desktop width (back to 390 px after)."""
    page.set_viewport_size(MOBILE)
    axe(page, f"{label} @390px")
    page.set_viewport_size(DESKTOP)
    axe(page, f"{label} @desktop")
    page.set_viewport_size(MOBILE)


def expect_form_errors(page: Page, *names: str) -> None:
    """The re-rendered form announces its errors: the alert summary, and each field named is
    marked invalid and described by its message."""
    main = page.locator("main")
    expect(main.get_by_role("alert").first).to_be_visible()
    for name in names:
        control = main.locator(f'[name="{name}"][aria-invalid="true"]')
        expect(control.first).to_be_attached()
        expect(control.first).to_have_attribute("aria-describedby", re.compile(r"\S"))


def expect_row_errors(page: Page, prefix: str) -> None:
    """As `expect_form_errors`, for a message on some field whose name begins with `prefix`."""
    expect(page.locator("main").get_by_role("alert").first).to_be_visible()
    invalid = page.locator(f'main [name^="{prefix}"][aria-invalid="true"]').first
    expect(invalid).to_be_attached()
    expect(invalid).to_have_attribute("aria-describedby", re.compile(r"\S"))


def link(scope: Page | Locator, words: str) -> Locator:
    return scope.get_by_role("link", name=starts_with(words))


def nav_link(page: Page, words: str) -> Locator:
    return page.get_by_role("navigation").get_by_role("link", name=starts_with(words)).first


def _form_with(page: Page, name: str) -> Locator:
    return page.locator("main form").filter(has=field(page, name)).last


def _with_query(href: str, **changes: str) -> str:
    parts = urlsplit(href)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- anyone, signed out --------------------------------------------------------------------------


def test_visitor_pages_and_their_errors(page, axe, live_server):
    seed = live_server.seed
    main = page.locator("main")

    # Search: a place that cannot be found re-renders the form with its message (422).
    go(page, "/")
    set_field(page, "near", "Nowhereville")
    click_and_load(page, button(main, "Search"), allowed=UNPROCESSABLE)
    assert urlsplit(page.url).path == "/search", page.url
    expect_form_errors(page, "near")
    expect(main).to_contain_text("Nowhereville")
    audit(axe, page, "search: unknown place (422)")

    # Search, one result a page: the pager.
    go(page, "/search?per_page=1")
    pager = main.get_by_role("navigation", name=re.compile("pages", re.I))
    expect(link(pager, "Next page")).to_be_visible()
    audit(axe, page, "search: page 1 of several")

    # The practitioner page, one week later.
    go(page, f"/practitioners/{seed.listing.slug}")
    click_and_load(page, link(main, "Later").first)
    expect(main.get_by_role("button", name=ANY_BOOK_BUTTON).first).to_be_visible()
    expect(link(main, "Earlier").first).to_be_visible()
    audit(axe, page, "practitioner page: later week")

    # An unknown practitioner: the 404 page.
    go(page, f"/practitioners/no-such-practitioner-{uuid.uuid4().hex[:6]}", allowed=(404,))
    audit(axe, page, "404: unknown practitioner")

    # Sign-in with a wrong password (422).
    go(page, "/login")
    set_field(page, "email", seed.patient_email)
    set_field(page, "password", "not the password at all")
    with page.expect_navigation() as navigation:
        button(main, "Sign in").click()
    assert navigation.value.status == 422, navigation.value.status
    expect(main.get_by_role("alert")).to_contain_text(re.compile("wrong", re.I))
    audit(axe, page, "sign-in: wrong password (422)")

    # Sign-up: every field wrong at once, then an email already taken (422 each).
    go(page, "/signup")
    set_field(page, "name", "")
    set_field(page, "email", "not-an-email")
    set_field(page, "password", "short")
    click_and_load(page, button(main, "Create account"), allowed=UNPROCESSABLE)
    expect_form_errors(page, "email", "password")
    audit(axe, page, "sign-up: bad email and short password (422)")
    set_field(page, "name", "Second Account")
    set_field(page, "email", seed.patient_email)
    set_field(page, "password", PASSWORD)
    click_and_load(page, button(main, "Create account"), allowed=UNPROCESSABLE)
    expect(main.get_by_role("alert")).to_be_visible()
    audit(axe, page, "sign-up: email taken (422)")

    axe.assert_clean()


# --- a patient books, moves and cancels; the practitioner sees the booking -----------------------


def test_patient_booking_pages_and_the_practitioner_calendar(open_page, axe, live_server):
    seed = live_server.seed
    listing = seed.listing
    patient_name = f"Quinn Everypage {uuid.uuid4().hex[:4]}"
    page = open_page(MOBILE)
    main = page.locator("main")

    # A new patient (so the journeys' patient keeps their own bookings).
    go(page, "/signup")
    set_field(page, "name", patient_name)
    set_field(page, "email", f"every-page-{uuid.uuid4().hex[:8]}@example.com")
    set_field(page, "password", PASSWORD)
    set_field(page, "role", "patient")
    click_and_load(page, button(main, "Create account"))

    # Book the first time of the second week shown (the journeys take the earliest ones).
    go(page, f"/practitioners/{listing.slug}")
    click_and_load(page, link(main, "Later").first)
    slot = main.get_by_role("button", name=ANY_BOOK_BUTTON).first
    start_at = slot.locator("xpath=ancestor::form[1]").locator('[name="start_at"]')
    booked_at = datetime.fromisoformat(start_at.input_value()).astimezone(
        ZoneInfo(listing.timezone)
    )
    with page.expect_navigation(url=re.compile(r"/checkout/")):
        slot.click()
    click_and_load(page, button(main, "Pay"))
    expect(main).to_contain_text("Confirmed")
    audit(axe, page, "booking done")

    click_and_load(page, nav_link(page, "My bookings"))
    audit(axe, page, "my bookings (one upcoming)")

    # Reschedule: the picker of another time.
    click_and_load(page, button_or_link(main, "Reschedule").first)
    assert re.fullmatch(r"/me/bookings/[0-9a-f-]{36}/reschedule", urlsplit(page.url).path)
    expect(main.get_by_role("button", name=starts_with("Reschedule to")).first).to_be_visible()
    audit(axe, page, "reschedule")

    # Cancel: the refund stated, then a reason too long re-renders the page (422).
    click_and_load(page, link(main, "Keep the current time"))
    click_and_load(page, button_or_link(main, "Cancel booking").first)
    expect(main).to_contain_text(re.compile("refund", re.I))
    audit(axe, page, "cancel confirmation")
    set_field(page, "reason", "x" * 1001)
    click_and_load(page, button(main, "Cancel booking").last, allowed=UNPROCESSABLE)
    expect_form_errors(page, "reason")
    audit(axe, page, "cancel confirmation: reason too long (422)")

    # A patient opening the dashboard: the 403 page.
    go(page, "/dashboard", allowed=(403,))
    audit(axe, page, "403: patient on the dashboard")

    # The practitioner's calendar, week and day, showing that booking.
    desk = open_page(MOBILE)
    desk_main = desk.locator("main")
    go(desk, "/login")
    with desk.expect_navigation():
        sign_in(desk, listing.owner_email)
    click_and_load(desk, nav_link(desk, "Bookings"))
    booked = desk_main.locator("article").filter(has_text=patient_name)
    for _ in range(4):
        if booked.count():
            break
        click_and_load(desk, link(desk_main, "Later week"))
    expect(booked).to_have_count(1)
    expect(button(booked, "Cancel booking")).to_be_visible()
    audit(axe, desk, "practitioner bookings: week view")
    one_day = link(desk_main, "Show one day").get_attribute("href")
    go(desk, _with_query(one_day, date=booked_at.date().isoformat()))
    expect(booked).to_have_count(1)
    expect(link(desk_main, "Show the whole week")).to_be_visible()
    audit(axe, desk, "practitioner bookings: day view")

    axe.assert_clean()


# --- the approved practitioner's dashboard pages and their errors --------------------------------


def test_practitioner_dashboard_pages_and_their_errors(page, axe, live_server):
    """Only error states are sent: the seeded listing the journeys book stays as it is."""
    seed = live_server.seed
    main = page.locator("main")
    go(page, "/login")
    with page.expect_navigation():
        sign_in(page, seed.race_listing.owner_email)
    assert urlsplit(page.url).path == "/dashboard", page.url
    expect(main).to_contain_text(re.compile("approved", re.I))
    audit(axe, page, "dashboard (approved)")

    # Profile: the display name cleared (422). (Unchanged, profile and weekly hours were
    # audited at desktop width by the practitioner journey; their error states, here, hold
    # the same forms.)
    click_and_load(page, nav_link(page, "Profile"))
    profile = _form_with(page, "display_name")
    set_field(profile, "display_name", "")
    click_and_load(page, button(profile, "Save"), allowed=UNPROCESSABLE)
    expect_form_errors(page, "display_name")
    audit(axe, page, "profile: no display name (422)")

    # Locations, a location's edit page, and a latitude out of range there (422).
    click_and_load(page, nav_link(page, "Locations"))
    audit(axe, page, "locations")
    click_and_load(page, link(main, "Edit location").first)
    assert re.fullmatch(r"/dashboard/locations/[0-9a-f-]{36}", urlsplit(page.url).path)
    audit(axe, page, "location edit")
    place = _form_with(page, "latitude")
    set_field(place, "latitude", "123")
    click_and_load(page, button(place, "Save"), allowed=UNPROCESSABLE)
    expect_form_errors(page, "latitude")
    audit(axe, page, "location edit: latitude out of range (422)")

    # Services, a service's edit page, and a price that is not money (422).
    click_and_load(page, nav_link(page, "Services"))
    audit(axe, page, "services")
    click_and_load(page, link(main, "Edit service").first)
    assert re.fullmatch(r"/dashboard/services/[0-9a-f-]{36}", urlsplit(page.url).path)
    audit(axe, page, "service edit")
    offer = _form_with(page, "price")
    set_field(offer, "price", "a lot")
    click_and_load(page, button(offer, "Save"), allowed=UNPROCESSABLE)
    expect_form_errors(page, "price")
    audit(axe, page, "service edit: bad price (422)")

    # Weekly hours: a window ending before it starts (422).
    click_and_load(page, nav_link(page, "Weekly hours"))
    hours = _form_with(page, "rules-0-start")
    set_field(hours, "rules-0-start", "15:00")
    set_field(hours, "rules-0-end", "09:00")
    click_and_load(page, button(hours, "Save"), allowed=UNPROCESSABLE)
    expect_row_errors(page, "rules-0-")
    audit(axe, page, "weekly hours: end before start (422)")

    # Date overrides: a window ending before it starts (422).
    click_and_load(page, nav_link(page, "Date overrides"))
    audit(axe, page, "date overrides")
    override = _form_with(page, "windows-0-start")
    set_field(override, "date", "2099-01-05")
    set_field(override, "windows-0-start", "15:00")
    set_field(override, "windows-0-end", "09:00")
    click_and_load(page, button(override, "Save"), allowed=UNPROCESSABLE)
    expect_row_errors(page, "windows-0-")
    audit(axe, page, "date overrides: end before start (422)")

    # Time off: ending before it starts (422).
    click_and_load(page, nav_link(page, "Time off"))
    audit(axe, page, "time off")
    away = _form_with(page, "start_at")
    set_field(away, "start_at", "2099-01-05T15:00")
    set_field(away, "end_at", "2099-01-05T09:00")
    click_and_load(page, button(away, "Save"), allowed=UNPROCESSABLE)
    expect_form_errors(page, "end_at")
    audit(axe, page, "time off: end before start (422)")

    # Payouts and the calendar feed (the bookings views: the test above, with a booking).
    click_and_load(page, nav_link(page, "Payouts"))
    expect(button(main, "Rotate")).to_be_visible()
    audit(axe, page, "payouts and calendar feed")

    axe.assert_clean()


# --- a new practitioner's draft, and the admin reviewing it --------------------------------------


def test_new_listing_and_the_admin_pages(open_page, axe, live_server):
    seed = live_server.seed
    tag = uuid.uuid4().hex[:4]
    name = f"Noor Everypage {tag}"
    page = open_page(MOBILE)
    main = page.locator("main")

    go(page, "/signup?role=practitioner")
    set_field(page, "name", name)
    set_field(page, "email", f"every-page-practitioner-{tag}@example.com")
    set_field(page, "password", PASSWORD)
    set_field(page, "role", "practitioner")
    click_and_load(page, button(main, "Create account"))
    assert urlsplit(page.url).path == "/dashboard", page.url

    # Submitting an incomplete draft is refused with what it lacks.
    click_and_load(page, button(main, "Submit for review"), allowed=UNPROCESSABLE)
    expect(main.get_by_role("alert")).to_be_visible()
    audit(axe, page, "dashboard: incomplete draft submitted (422)")

    click_and_load(page, nav_link(page, "Profile"))
    profile = _form_with(page, "bio")
    set_field(profile, "display_name", name)
    set_field(profile, "bio", "Myotherapy for neck and shoulder pain.")
    set_field(profile, "timezone", "Australia/Sydney")
    click_and_load(page, button(profile, "Save"))
    expect(page.locator(INVALID)).to_have_count(0)

    click_and_load(page, nav_link(page, "Locations"))
    place = _form_with(page, "latitude")
    for key, value in {
        "name": "Newtown Rooms",
        "address": "1 King St",
        "suburb": "Newtown",
        "state": "NSW",
        "postcode": "2042",
        "country": "AU",
        "latitude": "-33.8978",
        "longitude": "151.18",
    }.items():
        set_field(place, key, value)
    click_and_load(page, button(place, "Save"))
    expect(page.locator(INVALID)).to_have_count(0)

    click_and_load(page, nav_link(page, "Services"))
    offer = _form_with(page, "price")
    set_field(offer, "therapy", "trigger-point-therapy")
    set_field(offer, "name", "Neck and shoulders")
    set_field(offer, "duration_minutes", "45")
    set_field(offer, "price", "90.00")
    click_and_load(page, button(offer, "Save"))
    expect(page.locator(INVALID)).to_have_count(0)

    click_and_load(page, nav_link(page, "Overview"))
    click_and_load(page, button(main, "Submit for review"))
    expect(main).to_contain_text(re.compile("pending", re.I))

    # The admin: that listing's review page, "Reject" without a reason (422).
    admin = open_page(MOBILE)
    admin_main = admin.locator("main")
    go(admin, "/login")
    with admin.expect_navigation():
        sign_in(admin, seed.admin_email)
    assert urlsplit(admin.url).path == "/admin/listings", admin.url
    click_and_load(admin, admin_main.get_by_role("link", name=name))
    assert urlsplit(admin.url).path.startswith("/admin/listings/"), admin.url
    reject = admin_main.locator("form").filter(has=button(admin, "Reject"))
    set_field(reject, "reason", "")
    click_and_load(admin, button(reject, "Reject"), allowed=UNPROCESSABLE)
    expect_form_errors(admin, "reason")
    audit(axe, admin, "admin review page: reject without a reason (422)")

    # The approved listings.
    click_and_load(admin, nav_link(admin, "Review queue"))
    set_field(admin, "status", "approved")
    click_and_load(admin, button(admin_main, "Show"))
    assert "status=approved" in admin.url, admin.url
    expect(admin_main.get_by_role("link", name=seed.race_listing_name)).to_be_visible()
    audit(axe, admin, "admin queue: approved")

    # The audit log, and a filter that is not an id (422).
    click_and_load(admin, nav_link(admin, "Audit log"))
    audit(axe, admin, "audit log")
    filters = _form_with(admin, "actor_id")
    set_field(filters, "actor_id", "not-an-id")
    click_and_load(admin, button(filters, "Filter"), allowed=UNPROCESSABLE)
    expect_form_errors(admin, "actor_id")
    audit(axe, admin, "audit log: bad filter (422)")

    axe.assert_clean()
