"""The newcomer's path over HTTP alone: register, build, submit, review, find."""

from tests.factories import LOCATION, PASSWORD, SERVICE
from tests.helpers import problem_of

PROFILE = {
    "display_name": "Dr Jane Citizen",
    "headline": "Trigger point therapy for buttock and sciatic-type pain",
    "bio": "Fifteen years of hands-on work with stubborn gluteal pain.",
    "profession": "Myotherapist",
    "registration_body": "Myotherapy Association Australia",
    "registration_number": "MAA-12345",
    "gender": "female",
    "languages": ["en", "zh"],
    "telehealth": False,
    "timezone": "Australia/Sydney",
}


def bearer(client, email):
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_newcomer_builds_submits_and_gets_approved(client, make_user):
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": "jane@example.com",
            "password": PASSWORD,
            "name": "Jane Citizen",
            "role": "practitioner",
        },
    )
    assert response.status_code == 201
    me = bearer(client, "jane@example.com")

    profile = client.get("/api/v1/practitioner/profile", headers=me).get_json()
    assert profile["status"] == "draft"
    assert profile["slug"] == "jane-citizen"

    body = problem_of(client.post("/api/v1/practitioner/submit", headers=me), 422)
    assert {"bio", "timezone", "locations", "services"} <= body["errors"].keys()

    response = client.put("/api/v1/practitioner/profile", json=PROFILE, headers=me)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["slug"] == "jane-citizen"
    assert (
        client.post("/api/v1/practitioner/locations", json=LOCATION, headers=me).status_code == 201
    )
    created = client.post("/api/v1/practitioner/services", json=SERVICE, headers=me)
    assert created.status_code == 201
    assert created.get_json()["therapy"] == "trigger-point-therapy"

    submitted = client.post("/api/v1/practitioner/submit", headers=me)
    assert submitted.status_code == 200
    assert submitted.get_json()["status"] == "pending"
    listing_id = submitted.get_json()["id"]
    problem_of(client.get(f"/api/v1/practitioners/{listing_id}"), 404)

    _, admin_email = make_user("admin")
    admin = bearer(client, admin_email)
    queue = client.get("/api/v1/admin/listings?status=pending", headers=admin).get_json()
    assert [item["id"] for item in queue["items"]] == [listing_id]
    assert queue["total"] == 1

    approved = client.post(f"/api/v1/admin/listings/{listing_id}/approve", headers=admin)
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "approved"

    public = client.get("/api/v1/practitioners/jane-citizen")
    assert public.status_code == 200
    body = public.get_json()
    assert body["id"] == listing_id
    assert body["services"][0]["price_cents"] == 12000
    assert body["locations"][0]["suburb"] == "Surry Hills"
    assert body["therapies"] == [{"slug": "trigger-point-therapy", "name": "Trigger point therapy"}]
    assert client.get(f"/api/v1/practitioners/{listing_id}").status_code == 200

    therapies = client.get("/api/v1/therapies").get_json()["items"]
    counts = {t["slug"]: t["practitioner_count"] for t in therapies}
    assert counts["trigger-point-therapy"] == 1
    assert counts["dry-needling"] == 0

    audit = client.get(
        f"/api/v1/admin/audit?target_type=practitioner&target_id={listing_id}", headers=admin
    ).get_json()["items"]
    approval = audit[0]
    assert approval["action"] == "listing.approve"
    assert approval["before"]["status"] == "pending"
    assert approval["after"]["status"] == "approved"
