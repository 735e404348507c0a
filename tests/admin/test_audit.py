"""The audit log: every admin action, with actor, target, before and after; newest first."""

from datetime import datetime

import pytest

from tests.factories import listing_in_status, review
from tests.helpers import problem_of, unknown_id, user_id

AUDIT = "/api/v1/admin/audit"


def audit(client, admin, **query) -> dict:
    response = client.get(AUDIT, query_string=query, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def listing_entries(client, admin, listing_id: str) -> list[dict]:
    return audit(client, admin, target_type="practitioner", target_id=listing_id)["items"]


def test_approval_is_recorded_with_actor_before_and_after(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    review(client, admin, listing["id"], "approve")

    entry = listing_entries(client, admin, listing["id"])[0]
    assert entry["action"] == "listing.approve"
    assert entry["actor_id"] == user_id(client, admin)
    assert entry["target_type"] == "practitioner"
    assert entry["target_id"] == listing["id"]
    assert entry["before"]["status"] == "pending"
    assert entry["after"]["status"] == "approved"
    assert datetime.fromisoformat(entry["created_at"]).utcoffset() is not None


def test_rejection_records_the_reason_after(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, "pending")

    review(client, admin, listing["id"], "reject", reason="Registration number missing.")

    entry = listing_entries(client, admin, listing["id"])[0]
    assert entry["action"] == "listing.reject"
    assert entry["before"]["status"] == "pending"
    assert entry["after"] == {"status": "rejected", "status_reason": "Registration number missing."}


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [("approved", "suspend", "suspended"), ("suspended", "reinstate", "approved")],
)
def test_each_review_action_is_recorded(client, auth, status, action, after):
    me, admin = auth("practitioner"), auth("admin")
    listing = listing_in_status(client, me, admin, status)

    review(client, admin, listing["id"], action)

    entry = listing_entries(client, admin, listing["id"])[0]
    assert entry["action"] == f"listing.{action}"
    assert entry["actor_id"] == user_id(client, admin)
    assert entry["before"]["status"] == status
    assert entry["after"]["status"] == after


def test_submission_is_recorded_with_the_practitioner_as_actor(client, auth):
    me, admin = auth("practitioner"), auth("admin")

    listing = listing_in_status(client, me, admin, "pending")

    entry = listing_entries(client, admin, listing["id"])[0]
    assert entry["action"] == "listing.submit"
    assert entry["actor_id"] == user_id(client, me)
    assert entry["before"]["status"] == "draft"
    assert entry["after"]["status"] == "pending"


def test_audit_log_is_newest_first(client, auth):
    me, admin = auth("practitioner"), auth("admin")

    listing = listing_in_status(client, me, admin, "suspended")

    actions = [entry["action"] for entry in listing_entries(client, admin, listing["id"])]
    assert actions == ["listing.suspend", "listing.approve", "listing.submit"]


def test_audit_log_filters_by_target(client, auth):
    admin = auth("admin")
    mine = listing_in_status(client, auth("practitioner"), admin, "approved")
    other = listing_in_status(client, auth("practitioner"), admin, "approved")

    entries = listing_entries(client, admin, mine["id"])

    assert len(entries) == 2
    assert {entry["target_id"] for entry in entries} == {mine["id"]}
    assert other["id"] not in {entry["target_id"] for entry in entries}


def test_audit_log_filters_by_target_type(client, auth):
    admin = auth("admin")
    listing_in_status(client, auth("practitioner"), admin, "approved")
    response = client.patch("/api/v1/admin/therapies/cupping", json={"name": "Cups"}, headers=admin)
    assert response.status_code == 200

    body = audit(client, admin, target_type="therapy")

    assert [(entry["action"], entry["target_id"]) for entry in body["items"]] == [
        ("therapy.update", "cupping")
    ]
    assert body["total"] == 1


def test_audit_log_filters_by_actor(client, auth):
    first_admin, second_admin = auth("admin"), auth("admin")
    one = listing_in_status(client, auth("practitioner"), first_admin, "pending")
    two = listing_in_status(client, auth("practitioner"), first_admin, "pending")
    review(client, first_admin, one["id"], "approve")
    review(client, second_admin, two["id"], "reject")
    second_id = user_id(client, second_admin)

    entries = audit(client, first_admin, actor_id=second_id)["items"]

    assert [(entry["action"], entry["target_id"]) for entry in entries] == [
        ("listing.reject", two["id"])
    ]
    assert {entry["actor_id"] for entry in entries} == {second_id}


def test_audit_log_filter_that_matches_nothing_is_empty(client, auth):
    body = audit(client, auth("admin"), target_type="practitioner", target_id=unknown_id())

    assert body["items"] == []
    assert body["total"] == 0


def test_audit_log_is_paginated(client, auth):
    admin = auth("admin")
    listing = listing_in_status(client, auth("practitioner"), admin, "suspended")

    body = audit(client, admin, target_id=listing["id"], per_page=1, page=2)

    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 1)
    assert [entry["action"] for entry in body["items"]] == ["listing.approve"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("actor_id=not-a-uuid", "actor_id"), ("per_page=51", "per_page"), ("page=0", "page")],
)
def test_bad_audit_query_is_422(client, auth, query, field):
    body = problem_of(client.get(f"{AUDIT}?{query}", headers=auth("admin")), 422)

    assert field in body["errors"]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403), ("practitioner", 403)])
def test_only_admins_read_the_audit_log(client, auth, role, status):
    problem_of(client.get(AUDIT, headers=auth(role) if role else {}), status)
