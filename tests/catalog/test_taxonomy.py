"""The therapy and condition taxonomy: loaded by the migration, listed with practitioner counts."""

import pytest

from marketplace.catalog.models import Condition, TherapyType
from tests.factories import SERVICES_URL, add_service, approved_listing, listing_in_status, review
from tests.helpers import count_rows, problem_of

GLUTEAL_CONDITIONS = ("sciatica", "piriformis-syndrome", "buttock-pain")
GLUTEAL_THERAPIES = ("trigger-point-therapy", "dry-needling", "myofascial-release", "myotherapy")


def therapies(client, **query) -> dict[str, dict]:
    response = client.get("/api/v1/therapies", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["slug"]: item for item in response.get_json()["items"]}


def conditions(client) -> dict[str, dict]:
    response = client.get("/api/v1/conditions")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["slug"]: item for item in response.get_json()["items"]}


def therapy_count(client, slug: str) -> int:
    return therapies(client)[slug]["practitioner_count"]


def test_migration_loads_at_least_15_therapies_and_20_conditions(app):
    assert count_rows(app, TherapyType) >= 15
    assert count_rows(app, Condition) >= 20


def test_therapies_include_the_seeded_types_with_descriptions(client):
    listed = therapies(client)

    for slug in (
        "trigger-point-therapy",
        "dry-needling",
        "myofascial-release",
        "remedial-massage",
        "myotherapy",
        "sports-massage",
        "physiotherapy",
        "osteopathy",
        "chiropractic",
        "acupuncture",
        "cupping",
    ):
        assert slug in listed
        assert listed[slug]["name"]
        assert listed[slug]["description"]
        assert listed[slug]["active"] is True
    assert len(listed) >= 15


def test_conditions_include_the_seeded_complaints_with_synonyms(client):
    listed = conditions(client)

    for slug in (
        "sciatica",
        "piriformis-syndrome",
        "buttock-pain",
        "lower-back-pain",
        "neck-pain",
        "shoulder-pain",
        "tension-headache",
        "plantar-fasciitis",
        "tennis-elbow",
    ):
        assert slug in listed
        assert listed[slug]["name"]
    assert len(listed) >= 20
    assert all(isinstance(item["synonyms"], list) for item in listed.values())
    assert any(item["synonyms"] for item in listed.values())


@pytest.mark.parametrize("condition", GLUTEAL_CONDITIONS)
def test_gluteal_conditions_link_to_the_trigger_point_therapies(client, condition):
    linked = set(conditions(client)[condition]["therapies"])

    assert set(GLUTEAL_THERAPIES) <= linked


@pytest.mark.parametrize("path", ["/api/v1/therapies", "/api/v1/conditions"])
def test_taxonomy_lists_use_the_page_envelope(client, path):
    body = client.get(path).get_json()

    assert set(body) == {"items", "total", "page", "per_page"}
    assert body["page"] == 1
    assert body["total"] == len(body["items"])
    assert all(item["practitioner_count"] == 0 for item in body["items"])


def test_therapies_are_listed_without_signing_in_and_paginate(client):
    first = client.get("/api/v1/therapies?per_page=5&page=1").get_json()
    second = client.get("/api/v1/therapies?per_page=5&page=2").get_json()

    assert len(first["items"]) == len(second["items"]) == 5
    assert first["total"] == second["total"] >= 15
    assert not {t["slug"] for t in first["items"]} & {t["slug"] for t in second["items"]}


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "page=x"])
def test_bad_taxonomy_paging_is_refused(client, query):
    problem_of(client.get(f"/api/v1/therapies?{query}"), 422)


def test_approved_practitioner_counts_for_their_therapy(client, auth):
    admin = auth("admin")
    approved_listing(client, auth("practitioner"), admin, therapy="dry-needling")

    listed = therapies(client)
    assert listed["dry-needling"]["practitioner_count"] == 1
    assert listed["trigger-point-therapy"]["practitioner_count"] == 0


def test_approved_practitioner_counts_for_conditions_their_therapy_treats(client, auth):
    approved_listing(client, auth("practitioner"), auth("admin"), therapy="dry-needling")

    listed = conditions(client)
    assert listed["sciatica"]["practitioner_count"] == 1
    assert listed["buttock-pain"]["practitioner_count"] == 1
    assert "dry-needling" not in listed["migraine"]["therapies"]
    assert listed["migraine"]["practitioner_count"] == 0


def test_practitioner_with_two_services_of_one_therapy_counts_once(client, auth):
    me = auth("practitioner")
    approved_listing(client, me, auth("admin"), therapy="dry-needling")
    add_service(client, me, therapy="dry-needling", name="Follow-up", duration_minutes=30)
    add_service(client, me, therapy="myotherapy", name="Myotherapy session")

    assert therapy_count(client, "dry-needling") == 1
    assert therapy_count(client, "myotherapy") == 1
    assert conditions(client)["sciatica"]["practitioner_count"] == 1


def test_counts_add_up_over_approved_practitioners(client, auth):
    admin = auth("admin")
    approved_listing(client, auth("practitioner"), admin, therapy="cupping")
    approved_listing(client, auth("practitioner"), admin, therapy="cupping")

    assert therapy_count(client, "cupping") == 2


@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "suspended"])
def test_listing_that_is_not_approved_does_not_count(client, auth, status):
    listing_in_status(client, auth("practitioner"), auth("admin"), status, therapy="cupping")

    assert therapy_count(client, "cupping") == 0
    assert conditions(client)["lower-back-pain"]["practitioner_count"] == 0


def test_suspending_a_listing_removes_it_from_the_counts(client, auth):
    admin = auth("admin")
    listing = approved_listing(client, auth("practitioner"), admin, therapy="cupping")
    assert therapy_count(client, "cupping") == 1

    review(client, admin, listing["id"], "suspend")

    assert therapy_count(client, "cupping") == 0


def test_inactive_service_does_not_count(client, auth):
    me = auth("practitioner")
    approved_listing(client, me, auth("admin"))
    extra = add_service(client, me, therapy="cupping", name="Cupping")
    assert therapy_count(client, "cupping") == 1

    response = client.patch(f"{SERVICES_URL}/{extra['id']}", json={"active": False}, headers=me)
    assert response.status_code == 200

    assert therapy_count(client, "cupping") == 0
    assert therapy_count(client, "trigger-point-therapy") == 1


def test_deleted_service_does_not_count(client, auth):
    me = auth("practitioner")
    approved_listing(client, me, auth("admin"))
    extra = add_service(client, me, therapy="cupping", name="Cupping")
    assert therapy_count(client, "cupping") == 1

    assert client.delete(f"{SERVICES_URL}/{extra['id']}", headers=me).status_code == 204

    assert therapy_count(client, "cupping") == 0
    assert conditions(client)["lower-back-pain"]["practitioner_count"] == 1
