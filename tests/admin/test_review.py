"""The review workflow: submission, every transition allowed and refused, the admin queue."""

import pytest

from marketplace.admin.models import AuditEntry
from tests.factories import (
    LOCATIONS_URL,
    SERVICES_URL,
    SUBMIT_URL,
    add_location,
    add_service,
    build_listing,
    get_profile,
    listing_in_status,
    put_profile,
    review,
    submit,
)
from tests.helpers import admin_listing, count_rows, problem_of, unknown_id

ADMIN_LISTINGS = "/api/v1/admin/listings"


def action_url(listing_id: str, action: str) -> str:
    return f"{ADMIN_LISTINGS}/{listing_id}/{action}"


def queue(client, admin, **query) -> dict:
    response = client.get(ADMIN_LISTINGS, query_string=query, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- submission -----------------------------------------------------------------------------


def test_submitting_an_empty_listing_lists_what_is_missing(client, auth, app):
    me = auth("practitioner")
    entries = count_rows(app, AuditEntry)

    body = problem_of(client.post(SUBMIT_URL, headers=me), 422)

    assert {"bio", "timezone", "locations", "services"} <= body["errors"].keys()
    assert "display_name" not in body["errors"]
    assert get_profile(client, me)["status"] == "draft"
    assert count_rows(app, AuditEntry) == entries


@pytest.mark.parametrize("missing", ["bio", "timezone"])
def test_submitting_without_a_profile_field_names_it(client, auth, missing):
    me = auth("practitioner")
    put_profile(client, me, **{missing: "" if missing == "bio" else None})
    add_location(client, me)
    add_service(client, me)

    body = problem_of(client.post(SUBMIT_URL, headers=me), 422)

    assert set(body["errors"]) == {missing}
    assert get_profile(client, me)["status"] == "draft"


def test_submitting_without_a_location_names_locations(client, auth):
    me = auth("practitioner")
    put_profile(client, me)
    location = add_location(client, me)
    add_service(client, me)
    client.delete(f"{LOCATIONS_URL}/{location['id']}", headers=me)

    body = problem_of(client.post(SUBMIT_URL, headers=me), 422)

    assert set(body["errors"]) == {"locations"}
    assert get_profile(client, me)["status"] == "draft"


def test_submitting_with_only_an_inactive_service_names_services(client, auth):
    me = auth("practitioner")
    put_profile(client, me)
    add_location(client, me)
    add_service(client, me, active=False)

    body = problem_of(client.post(SUBMIT_URL, headers=me), 422)

    assert set(body["errors"]) == {"services"}
    assert get_profile(client, me)["status"] == "draft"


def test_submitting_with_only_a_deleted_service_names_services(client, auth):
    me = auth("practitioner")
    put_profile(client, me)
    add_location(client, me)
    service = add_service(client, me)
    client.delete(f"{SERVICES_URL}/{service['id']}", headers=me)

    body = problem_of(client.post(SUBMIT_URL, headers=me), 422)

    assert set(body["errors"]) == {"services"}


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403), ("admin", 403)])
def test_only_practitioners_submit(client, auth, role, status):
    problem_of(client.post(SUBMIT_URL, headers=auth(role) if role else {}), status)


# --- allowed transitions --------------------------------------------------------------------


def test_submitting_a_complete_draft_makes_it_pending(client, auth):
    me = auth("practitioner")
    build_listing(client, me)

    response = client.post(SUBMIT_URL, headers=me)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    assert get_profile(client, me)["status"] == "pending"


def test_admin_approves_a_pending_listing(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    response = client.post(action_url(listing["id"], "approve"), headers=admin)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "approved"
    assert get_profile(client, me)["status"] == "approved"
    assert admin_listing(client, admin, listing["id"])["reviewed_at"] is not None


def test_admin_rejects_a_pending_listing_with_a_reason(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    response = client.post(
        action_url(listing["id"], "reject"),
        json={"reason": "Add your registration number."},
        headers=admin,
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "rejected"
    profile = get_profile(client, me)
    assert profile["status"] == "rejected"
    assert profile["status_reason"] == "Add your registration number."


def test_resubmitting_a_rejected_listing_makes_it_pending_and_clears_the_reason(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing_in_status(client, me, admin, "rejected")

    response = client.post(SUBMIT_URL, headers=me)

    assert response.status_code == 200, response.get_json()
    profile = get_profile(client, me)
    assert profile["status"] == "pending"
    assert profile["status_reason"] is None


def test_admin_suspends_an_approved_listing_with_a_reason(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "approved")

    response = client.post(
        action_url(listing["id"], "suspend"), json={"reason": "Complaints."}, headers=admin
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "suspended"
    profile = get_profile(client, me)
    assert profile["status"] == "suspended"
    assert profile["status_reason"] == "Complaints."


def test_admin_reinstates_a_suspended_listing(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "suspended")

    response = client.post(action_url(listing["id"], "reinstate"), headers=admin)

    assert response.status_code == 200, response.get_json()
    profile = get_profile(client, me)
    assert profile["status"] == "approved"
    assert profile["status_reason"] is None


# --- refused transitions --------------------------------------------------------------------

REFUSED_REVIEWS = [
    ("draft", "approve"),
    ("approved", "approve"),
    ("rejected", "approve"),
    ("suspended", "approve"),
    ("draft", "reject"),
    ("approved", "reject"),
    ("rejected", "reject"),
    ("suspended", "reject"),
    ("draft", "suspend"),
    ("pending", "suspend"),
    ("rejected", "suspend"),
    ("suspended", "suspend"),
    ("draft", "reinstate"),
    ("pending", "reinstate"),
    ("approved", "reinstate"),
    ("rejected", "reinstate"),
]


@pytest.mark.parametrize(("status", "action"), REFUSED_REVIEWS)
def test_refused_review_is_409_and_changes_nothing(client, auth, app, status, action):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, status)
    before = admin_listing(client, admin, listing["id"])
    entries = count_rows(app, AuditEntry)

    response = client.post(action_url(listing["id"], action), json={"reason": "x"}, headers=admin)

    problem_of(response, 409)
    assert admin_listing(client, admin, listing["id"]) == before
    assert get_profile(client, me)["status"] == status
    assert count_rows(app, AuditEntry) == entries


@pytest.mark.parametrize("status", ["pending", "approved", "suspended"])
def test_submitting_in_a_refused_state_is_409_and_changes_nothing(client, auth, app, status):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, status)
    before = admin_listing(client, admin, listing["id"])
    entries = count_rows(app, AuditEntry)

    problem_of(client.post(SUBMIT_URL, headers=me), 409)

    assert admin_listing(client, admin, listing["id"]) == before
    assert count_rows(app, AuditEntry) == entries


@pytest.mark.parametrize("action", ["reject", "suspend"])
@pytest.mark.parametrize(
    "body", [None, {}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": 5}]
)
def test_reject_and_suspend_need_a_reason(client, auth, app, action, body):
    me, admin = auth("practitioner"), auth("admin")
    status = "pending" if action == "reject" else "approved"
    listing = listing_in_status(client, me, admin, status)
    before = admin_listing(client, admin, listing["id"])
    entries = count_rows(app, AuditEntry)

    response = client.post(action_url(listing["id"], action), json=body, headers=admin)

    assert "reason" in problem_of(response, 422)["errors"]
    assert admin_listing(client, admin, listing["id"]) == before
    assert count_rows(app, AuditEntry) == entries


def test_reason_is_trimmed(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    review(client, admin, listing["id"], "reject", reason="  Needs a bio.  ")

    assert get_profile(client, me)["status_reason"] == "Needs a bio."


# --- the queue and the single listing -------------------------------------------------------


def test_admin_sees_a_listing_with_its_services_and_locations(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    body = admin_listing(client, admin, listing["id"])

    assert body["id"] == listing["id"]
    assert body["status"] == "pending"
    assert body["submitted_at"] is not None
    assert body["owner_email"].startswith("practitioner-")
    assert [service["name"] for service in body["services"]] == ["Initial consultation"]
    assert [location["name"] for location in body["locations"]] == ["Surry Hills clinic"]


def test_queue_lists_pending_listings_oldest_submission_first(client, auth):
    admin = auth("admin")
    first, second, third = (auth("practitioner") for _ in range(3))
    for headers in (first, second, third):
        build_listing(client, headers)
    ids = {}
    for name, headers in (("second", second), ("first", first), ("third", third)):
        ids[name] = submit(client, headers)["id"]

    body = queue(client, admin, status="pending")

    assert [item["id"] for item in body["items"]] == [ids["second"], ids["first"], ids["third"]]
    assert body["total"] == 3


def test_resubmitted_listing_goes_to_the_back_of_the_queue(client, auth):
    admin = auth("admin")
    early, late = auth("practitioner"), auth("practitioner")
    early_id = listing_in_status(client, early, admin, "rejected")["id"]
    late_id = listing_in_status(client, late, admin, "pending")["id"]

    submit(client, early)

    assert [item["id"] for item in queue(client, admin, status="pending")["items"]] == [
        late_id,
        early_id,
    ]


@pytest.mark.parametrize("status", ["draft", "pending", "approved", "rejected", "suspended"])
def test_queue_is_filtered_by_status(client, auth, status):
    admin = auth("admin")
    wanted = listing_in_status(client, auth("practitioner"), admin, status)
    other_status = "approved" if status != "approved" else "pending"
    listing_in_status(client, auth("practitioner"), admin, other_status)

    body = queue(client, admin, status=status)

    assert [item["id"] for item in body["items"]] == [wanted["id"]]
    assert body["items"][0]["status"] == status


def test_queue_is_paginated(client, auth):
    admin = auth("admin")
    submitted = []
    for _ in range(3):
        me = auth("practitioner")
        build_listing(client, me)
        submitted.append(submit(client, me)["id"])

    body = queue(client, admin, status="pending", per_page=1, page=2)

    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 1)
    assert [item["id"] for item in body["items"]] == [submitted[1]]
    assert queue(client, admin, status="pending", per_page=2, page=3)["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=51", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("status=unknown", "status"),
        ("status=PENDING", "status"),
    ],
)
def test_bad_queue_query_is_422(client, auth, query, field):
    body = problem_of(client.get(f"{ADMIN_LISTINGS}?{query}", headers=auth("admin")), 422)

    assert field in body["errors"]


@pytest.mark.parametrize("action", ["approve", "reject", "suspend", "reinstate"])
def test_reviewing_an_unknown_listing_is_404(client, auth, action):
    response = client.post(
        action_url(unknown_id(), action), json={"reason": "x"}, headers=auth("admin")
    )

    problem_of(response, 404)


@pytest.mark.parametrize("listing_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_unknown_listing_is_404(client, auth, listing_id):
    problem_of(client.get(f"{ADMIN_LISTINGS}/{listing_id}", headers=auth("admin")), 404)


# --- who may use the admin listing endpoints ------------------------------------------------

ENDPOINTS = [
    ("get", ""),
    ("get", "/{id}"),
    ("post", "/{id}/approve"),
    ("post", "/{id}/reject"),
    ("post", "/{id}/suspend"),
    ("post", "/{id}/reinstate"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403), ("practitioner", 403)])
def test_only_admins_use_the_listing_endpoints(client, auth, method, path, role, status):
    owner, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, owner, admin, "pending")
    before = admin_listing(client, admin, listing["id"])
    url = ADMIN_LISTINGS + path.format(id=listing["id"])

    response = getattr(client, method)(
        url, json={"reason": "x"}, headers=auth(role) if role else {}
    )

    problem_of(response, status)
    assert admin_listing(client, admin, listing["id"]) == before


def test_practitioner_cannot_approve_their_own_listing(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    problem_of(client.post(action_url(listing["id"], "approve"), headers=me), 403)

    assert get_profile(client, me)["status"] == "pending"
