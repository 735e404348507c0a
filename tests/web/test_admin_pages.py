"""The admin's pages: the review queue, a listing's review page and its decisions, the audit log."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from marketplace import audit as audit_log
from marketplace.admin.models import AuditEntry
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner
from tests.factories import create_listing, create_user
from tests.web.pages import html, sign_in, submit

QUEUE = "/admin/listings"
AUDIT = "/admin/audit"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def review_page(listing_id) -> str:
    return f"{QUEUE}/{listing_id}"


def action_url(listing_id, action: str) -> str:
    return f"{QUEUE}/{listing_id}/{action}"


@pytest.fixture
def admin(app, client):
    """A signed-in admin; returns (id, email)."""
    user_id, email = create_user(app, "admin", name="Ada Admin")
    sign_in(client, email)
    return user_id, email


def state_of(app, listing_id) -> tuple[ListingStatus, str | None]:
    with app.app_context():
        listing = db.session.get(Practitioner, listing_id)
        return listing.status, listing.status_reason


def entries_for(app, listing_id) -> list[AuditEntry]:
    with app.app_context():
        query = audit_log.list_entries_query(target_type="practitioner", target_id=str(listing_id))
        entries = db.session.scalars(query).all()
        db.session.expunge_all()
        return entries


def set_submitted_at(app, listing_id, when: datetime) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Practitioner).where(Practitioner.id == listing_id).values(submitted_at=when)
        )
        db.session.commit()


def record(app, *, actor_id, action, target_type, target_id, at, before=None, after=None):
    with app.app_context():
        entry = audit_log.record(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )
        entry.created_at = at
        db.session.commit()


def invalid_field(page: str, field_id: str) -> str:
    """The message shown next to the field, asserting the field is marked invalid."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{field_id}"[^>]*>', page)
    assert tag, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0)
    described_by = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described_by and f"{field_id}-error" in described_by.group(1).split()
    message = re.search(rf'<small id="{field_id}-error"[^>]*>(.*?)</small>', page, re.S)
    assert message, f"no message next to {field_id}"
    return message.group(1)


def rows_of(page: str) -> str:
    """The body of the page's table (empty when there is none)."""
    found = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return found.group(1) if found else ""


# --- access ---------------------------------------------------------------------------------


@pytest.fixture
def pending(app):
    return create_listing(app, status=ListingStatus.PENDING, name="Pat Pending")


@pytest.mark.parametrize("page", ["queue", "review", "audit"])
def test_anonymous_visitors_are_sent_to_sign_in(client, pending, page):
    path = {"queue": QUEUE, "review": review_page(pending.id), "audit": AUDIT}[page]

    response = client.get(path)

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("role", ["patient", "practitioner"])
@pytest.mark.parametrize("page", ["queue", "review", "audit"])
def test_other_roles_are_refused(app, client, pending, role, page):
    _, email = create_user(app, role)
    sign_in(client, email)
    path = {"queue": QUEUE, "review": review_page(pending.id), "audit": AUDIT}[page]

    response = client.get(path)

    assert response.status_code == 403
    assert "another kind of account" in html(response)


def test_another_role_cannot_approve(app, client, pending):
    _, email = create_user(app, "practitioner")
    sign_in(client, email)

    response = submit(client, "/", action_url(pending.id, "approve"))

    assert response.status_code == 403
    assert state_of(app, pending.id) == (ListingStatus.PENDING, None)
    assert entries_for(app, pending.id) == []


# --- the review queue -----------------------------------------------------------------------


def test_queue_counts_pending_listings_oldest_submission_first(app, client, admin):
    newest = create_listing(app, status=ListingStatus.PENDING, name="Newest Nguyen")
    oldest = create_listing(app, status=ListingStatus.PENDING, name="Oldest Olsen")
    middle = create_listing(app, status=ListingStatus.PENDING, name="Middle Moss")
    create_listing(app, status=ListingStatus.APPROVED, name="Approved Abbott")
    set_submitted_at(app, newest.id, T0 + timedelta(days=2))
    set_submitted_at(app, oldest.id, T0)
    set_submitted_at(app, middle.id, T0 + timedelta(days=1))

    response = client.get(QUEUE)

    page = html(response)
    assert response.status_code == 200
    assert "3 listings waiting for review" in page
    positions = [page.index(name) for name in ("Oldest Olsen", "Middle Moss", "Newest Nguyen")]
    assert positions == sorted(positions)
    assert "Approved Abbott" not in page
    assert f'href="{review_page(oldest.id)}"' in page
    # On the listing's own clock (Sydney), the zone named.
    assert "Monday 1 March 2027 at 20:00 AEDT" in page
    assert 'class="badge badge-pending">Pending<' in page


def test_queue_shows_another_status_on_request(app, client, admin):
    create_listing(app, status=ListingStatus.PENDING, name="Pat Pending")
    create_listing(app, status=ListingStatus.SUSPENDED, name="Sam Suspended")

    response = client.get(QUEUE, query_string={"status": "suspended"})

    page = html(response)
    assert response.status_code == 200
    assert "1 suspended listing" in page
    assert "Sam Suspended" in page
    assert "Pat Pending" not in page
    assert re.search(r'<option value="suspended" selected>', page)


def test_queue_pages_keep_the_status(app, client, admin):
    for day in range(3):
        built = create_listing(app, status=ListingStatus.APPROVED, name=f"Listing Day{day}")
        set_submitted_at(app, built.id, T0 + timedelta(days=day))

    first = html(client.get(QUEUE, query_string={"status": "approved", "per_page": 2}))
    second = html(client.get(QUEUE, query_string={"status": "approved", "per_page": 2, "page": 2}))

    assert "3 approved listings" in first
    assert "Listing Day0" in first and "Listing Day1" in first and "Listing Day2" not in first
    assert "Page 1 of 2" in first
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(next_link).query) == {
        "status": ["approved"],
        "per_page": ["2"],
        "page": ["2"],
    }
    assert "Listing Day2" in second and "Listing Day0" not in second


@pytest.mark.parametrize(
    ("query", "field"), [({"status": "bogus"}, "status"), ({"page": "0"}, "page")]
)
def test_queue_with_a_bad_filter_is_422_with_the_message(app, client, admin, pending, query, field):
    response = client.get(QUEUE, query_string=query)

    page = html(response)
    assert response.status_code == 422
    assert 'role="alert"' in page
    assert "Pat Pending" not in page
    if field == "status":
        assert "Must be one of" in invalid_field(page, "f-status")
    else:
        assert "greater than or equal to 1" in page


# --- a listing's review page ----------------------------------------------------------------


def test_review_page_shows_the_whole_listing(app, client, admin):
    built = create_listing(
        app,
        status=ListingStatus.PENDING,
        name="Dr Jane Citizen",
        headline="Trigger point therapy for buttock pain",
        profession="Myotherapist",
        registration_body="Myotherapy Association Australia",
        registration_number="MAA-12345",
        languages=["en", "zh"],
        telehealth=True,
        free_cancellation_hours=48,
        late_cancellation_fee_percent=25,
        price_cents=9500,
    )

    response = client.get(review_page(built.id))

    page = html(response)
    assert response.status_code == 200
    assert "<h1>Dr Jane Citizen</h1>" in page
    for text in (
        "Trigger point therapy for buttock pain",
        "Hands-on care for muscular pain.",
        "Myotherapist",
        "Myotherapy Association Australia",
        "MAA-12345",
        built.owner_email,
        "English (en), Chinese (zh)",
        "Australia/Sydney",
        "95.00 AUD",
        "60 min",
        "1 Main St, Surry Hills",
        "Free cancellation up to 48 hours before the appointment; after that 25% of the price",
    ):
        assert text in page, text
    assert "<dt>Telehealth</dt>\n    <dd>Yes</dd>" in page
    assert 'class="badge badge-pending" id="listing-status">Pending<' in page
    buttons = re.findall(r"<button[^>]*>([^<]+)</button>", page)
    assert [b for b in buttons if b != "Sign out"] == ["Approve", "Reject"]


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (ListingStatus.APPROVED, ["Suspend"]),
        (ListingStatus.SUSPENDED, ["Reinstate"]),
        (ListingStatus.REJECTED, []),
        (ListingStatus.DRAFT, []),
    ],
)
def test_review_page_offers_only_what_the_status_allows(app, client, admin, status, buttons):
    built = create_listing(app, status=status)

    page = html(client.get(review_page(built.id)))

    found = [b for b in re.findall(r"<button[^>]*>([^<]+)</button>", page) if b != "Sign out"]
    assert found == buttons


def test_unknown_listing_is_404(client, admin):
    assert client.get(review_page(uuid.uuid4())).status_code == 404


def test_reviewing_an_unknown_listing_is_404(client, admin):
    response = submit(client, AUDIT, action_url(uuid.uuid4(), "approve"))

    assert response.status_code == 404


def test_approving_makes_the_listing_public_and_records_it(app, client, admin, pending):
    admin_id, _ = admin
    page = review_page(pending.id)

    response = submit(client, page, action_url(pending.id, "approve"))

    assert response.status_code == 303
    assert response.headers["Location"] == page
    assert state_of(app, pending.id) == (ListingStatus.APPROVED, None)
    [entry] = entries_for(app, pending.id)
    assert entry.action == "listing.approve"
    assert entry.actor_id == admin_id
    assert entry.before["status"] == "pending" and entry.after["status"] == "approved"
    shown = html(client.get(page))
    assert "Approved Pat Pending: the listing is public now." in shown
    assert 'id="listing-status">Approved<' in shown
    assert "status: pending → approved" in shown
    assert "by Ada Admin" in shown


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        (ListingStatus.PENDING, "reject", ListingStatus.REJECTED),
        (ListingStatus.APPROVED, "suspend", ListingStatus.SUSPENDED),
    ],
)
def test_rejecting_or_suspending_stores_the_reason(app, client, admin, status, action, after):
    built = create_listing(app, status=status)
    reason = "The registration number does not match the register."

    response = submit(
        client, review_page(built.id), action_url(built.id, action), {"reason": reason}
    )

    assert response.status_code == 303
    assert state_of(app, built.id) == (after, reason)
    [entry] = entries_for(app, built.id)
    assert entry.action == f"listing.{action}"
    assert entry.after == {"status": after.value, "status_reason": reason}
    shown = html(client.get(review_page(built.id)))
    assert f'<dd id="listing-reason">{reason}</dd>' in shown


@pytest.mark.parametrize(
    ("status", "action"), [(ListingStatus.PENDING, "reject"), (ListingStatus.APPROVED, "suspend")]
)
@pytest.mark.parametrize("form", [{}, {"reason": ""}, {"reason": "   "}])
def test_rejecting_or_suspending_without_a_reason_is_422(app, client, admin, status, action, form):
    built = create_listing(app, status=status)

    response = submit(client, review_page(built.id), action_url(built.id, action), form)

    page = html(response)
    assert response.status_code == 422
    assert 'role="alert"' in page
    assert invalid_field(page, "f-reason")
    assert state_of(app, built.id) == (status, None)
    assert entries_for(app, built.id) == []


def test_reinstating_makes_a_suspended_listing_public_again(app, client, admin):
    built = create_listing(app, status=ListingStatus.APPROVED)
    submit(client, review_page(built.id), action_url(built.id, "suspend"), {"reason": "Check."})

    response = submit(client, review_page(built.id), action_url(built.id, "reinstate"))

    assert response.status_code == 303
    assert state_of(app, built.id) == (ListingStatus.APPROVED, None)
    assert [e.action for e in entries_for(app, built.id)] == [
        "listing.reinstate",
        "listing.suspend",
    ]
    assert "Reinstated" in html(client.get(review_page(built.id)))


def test_a_disallowed_transition_is_409_and_changes_nothing(app, client, admin):
    built = create_listing(app, status=ListingStatus.APPROVED)

    response = submit(client, review_page(built.id), action_url(built.id, "approve"))

    page = html(response)
    assert response.status_code == 409
    assert "approved listing cannot be approved" in page
    assert 'role="alert"' in page
    assert state_of(app, built.id) == (ListingStatus.APPROVED, None)
    assert entries_for(app, built.id) == []


def test_a_stale_reject_form_hears_that_the_listing_moved_on(app, client, admin):
    """Another admin approved meanwhile: the state, not the empty reason, is what matters."""
    built = create_listing(app, status=ListingStatus.APPROVED)

    response = submit(client, review_page(built.id), action_url(built.id, "reject"), {})

    assert response.status_code == 409
    assert "cannot be rejected" in html(response)
    assert state_of(app, built.id) == (ListingStatus.APPROVED, None)
    assert entries_for(app, built.id) == []


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ListingStatus.PENDING, "approve"),
        (ListingStatus.PENDING, "reject"),
        (ListingStatus.APPROVED, "suspend"),
    ],
)
def test_a_post_without_the_csrf_token_is_refused(app, client, admin, status, action):
    built = create_listing(app, status=status)

    response = client.post(action_url(built.id, action), data={"reason": "No token."})

    assert response.status_code == 400
    assert state_of(app, built.id) == (status, None)
    assert entries_for(app, built.id) == []


# --- the audit log --------------------------------------------------------------------------


@pytest.fixture
def logged(app, admin):
    """Three entries: the admin's two on two listings (newest last), the system's on a booking."""
    admin_id, _ = admin
    first = create_listing(app, status=ListingStatus.PENDING)
    second = create_listing(app, status=ListingStatus.PENDING)
    booking_id = uuid.uuid4()
    record(
        app,
        actor_id=admin_id,
        action="listing.approve",
        target_type="practitioner",
        target_id=first.id,
        at=T0,
        before={"status": "pending", "status_reason": None},
        after={"status": "approved", "status_reason": None},
    )
    record(
        app,
        actor_id=None,
        action="booking.expire",
        target_type="booking",
        target_id=booking_id,
        at=T0 + timedelta(hours=1),
        before={"status": "held"},
        after={"status": "expired"},
    )
    record(
        app,
        actor_id=admin_id,
        action="listing.reject",
        target_type="practitioner",
        target_id=second.id,
        at=T0 + timedelta(hours=2),
        before={"status": "pending", "status_reason": None},
        after={"status": "rejected", "status_reason": "No registration."},
    )
    return first, second, booking_id


def test_audit_log_lists_entries_newest_first(client, logged):
    response = client.get(AUDIT)

    page = html(response)
    assert response.status_code == 200
    assert "3 entries" in page
    rows = rows_of(page)
    order = [rows.index(a) for a in ("listing.reject", "booking.expire", "listing.approve")]
    assert order == sorted(order)
    assert "Mon 1 Mar 2027, 09:00 UTC" in page
    assert "Ada Admin" in page and "System" in page
    assert "<summary>status, status_reason</summary>" in page
    assert "<dd>none → No registration.</dd>" in page
    assert f'href="{review_page(logged[1].id)}"' in page


def test_audit_log_filters_by_target(client, logged):
    first, _, _ = logged

    response = client.get(
        AUDIT, query_string={"target_type": "practitioner", "target_id": first.id}
    )

    page = html(response)
    assert response.status_code == 200
    assert "1 entry" in page
    assert "listing.approve" in rows_of(page)
    assert "listing.reject" not in page and "booking.expire" not in page
    assert f'value="{first.id}"' in page


def test_audit_log_filters_by_actor(client, admin, logged):
    admin_id, _ = admin

    page = html(client.get(AUDIT, query_string={"actor_id": str(admin_id)}))

    assert "2 entries" in page
    assert "booking.expire" not in page


def test_audit_log_filters_a_therapy_by_its_slug(app, client, admin):
    """Therapies are audited under their slug, so a target id need not be a UUID (as in the API)."""
    record(
        app,
        actor_id=None,
        action="therapy.create",
        target_type="therapy",
        target_id="cupping",
        at=T0,
        after={"name": "Cupping"},
    )

    page = html(client.get(AUDIT, query_string={"target_id": "cupping"}))

    assert "1 entry" in page and "therapy.create" in rows_of(page)


def test_audit_log_pages(client, logged):
    first = html(client.get(AUDIT, query_string={"per_page": 2}))
    last = html(client.get(AUDIT, query_string={"per_page": 2, "page": 2}))

    assert "Page 1 of 2" in first and "listing.approve" not in rows_of(first)
    assert "listing.approve" in rows_of(last) and "listing.reject" not in rows_of(last)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"actor_id": "not-a-uuid"}, "f-actor_id", "Not a valid UUID."),
        ({"page": "nope"}, "f-page", "Not a valid integer."),
        ({"per_page": "500"}, "f-per_page", "less than or equal to 50"),
    ],
)
def test_audit_log_with_a_bad_filter_is_422_with_the_message(client, logged, query, field, message):
    response = client.get(AUDIT, query_string=query)

    page = html(response)
    assert response.status_code == 422
    assert 'role="alert"' in page
    assert message in invalid_field(page, field)
    assert rows_of(page) == ""
