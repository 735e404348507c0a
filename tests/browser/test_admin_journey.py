"""An admin at a desk: the review queue with its count, a pending listing's review page,
"Approve", and the listing is public; the audit log shows the approval."""

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner
from tests.browser.helpers import button, click_and_load, go, sign_in


def _pending_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Practitioner)
            .where(Practitioner.status == ListingStatus.PENDING)
        )
        db.session.remove()
        return count


def test_admin_approves_a_pending_listing(desktop_page, axe, live_server):
    page = desktop_page
    main = page.locator("main")
    seed = live_server.seed
    pending = seed.pending_listing
    public_path = f"/practitioners/{pending.slug}"
    assert page.request.get(public_path).status == 404, "a pending listing is not public"

    go(page, "/login")
    axe(page, "sign-in")
    with page.expect_navigation():
        sign_in(page, seed.admin_email)

    go(page, "/admin/listings?status=pending")
    axe(page, "admin queue")
    # The count of pending listings (the practitioner journey may have added one meanwhile).
    expect(main).to_contain_text(re.compile(rf"\b{_pending_count(live_server.app)}\b"))
    expect(main).to_contain_text(re.compile(r"pending", re.I))
    listing_link = main.get_by_role("link", name=re.compile(re.escape(seed.pending_listing_name)))
    expect(listing_link).to_be_visible()
    click_and_load(page, listing_link)
    assert urlsplit(page.url).path == f"/admin/listings/{pending.id}", page.url
    expect(main).to_contain_text(seed.pending_listing_name)
    axe(page, "admin review page")

    click_and_load(page, button(main, "Approve").first)
    expect(main).to_contain_text(re.compile(r"approved", re.I))
    axe(page, "admin review page (approved)")
    assert page.request.get(public_path).status == 200, "an approved listing is public"

    with live_server.app.app_context():
        status = db.session.get(Practitioner, pending.id).status
        db.session.remove()
    assert status is ListingStatus.APPROVED

    go(page, "/admin/audit")
    axe(page, "audit log")
    expect(main).to_contain_text(re.compile(r"approve", re.I))

    axe.assert_clean()
