"""Where Stripe's Connect onboarding sends a practitioner back: their pages alone."""

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner
from tests.factories import create_listing, create_user
from tests.web.pages import html, sign_in


def _set_account(app, listing_id, account_id, charges_enabled):
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner)
            .where(Practitioner.id == listing_id)
            .values(stripe_account_id=account_id, charges_enabled=charges_enabled)
        )
        db.session.commit()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ("/payouts/return", "/payouts/refresh"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/login?next={path}"


def test_a_patient_is_refused(app, client):
    _id, email = create_user(app, "patient")
    sign_in(client, email)
    assert client.get("/payouts/return").status_code == 403
    assert client.get("/payouts/refresh").status_code == 403


def test_the_return_page_says_whether_payouts_are_on(app, client):
    listing = create_listing(app, status=ListingStatus.APPROVED)
    sign_in(client, listing.owner_email)
    _set_account(app, listing.id, "acct_sim_waiting", False)
    assert "Stripe is checking your details" in html(client.get("/payouts/return"))

    _set_account(app, listing.id, "acct_sim_waiting", True)
    assert "Payouts are on" in html(client.get("/payouts/return"))


def test_an_expired_link_is_renewed_for_the_practitioner_with_an_account(app, client):
    listing = create_listing(app, status=ListingStatus.APPROVED)
    sign_in(client, listing.owner_email)

    without = client.get("/payouts/refresh")
    assert without.status_code == 303
    assert without.headers["Location"] == "/dashboard/payouts"

    _set_account(app, listing.id, "acct_sim_renew", False)
    renewed = client.get("/payouts/refresh")
    assert renewed.status_code == 303
    assert renewed.headers["Location"].endswith("/payouts/simulated-onboarding/acct_sim_renew")
