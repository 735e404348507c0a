"""Admins add, rename and retire therapy types; each change is audited."""

import pytest

from marketplace.catalog.models import TherapyType
from tests.factories import SERVICE, SERVICES_URL, add_service, approved_listing
from tests.helpers import count_rows, problem_of, user_id

ADMIN_THERAPIES = "/api/v1/admin/therapies"
BOWEN = {"name": "Bowen therapy", "description": "Gentle rolling moves over muscle and fascia."}


def public_therapies(client) -> dict[str, dict]:
    return {item["slug"]: item for item in client.get("/api/v1/therapies").get_json()["items"]}


def admin_therapies(client, admin) -> dict[str, dict]:
    response = client.get(ADMIN_THERAPIES, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["slug"]: item for item in response.get_json()["items"]}


def therapy_audit(client, admin, slug: str) -> list[dict]:
    query = {"target_type": "therapy", "target_id": slug}
    return client.get("/api/v1/admin/audit", query_string=query, headers=admin).get_json()["items"]


# --- add ------------------------------------------------------------------------------------


def test_admin_adds_a_therapy_with_a_slug_derived_from_its_name(client, auth):
    admin = auth("admin")

    response = client.post(ADMIN_THERAPIES, json=BOWEN, headers=admin)

    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        **BOWEN,
        "slug": "bowen-therapy",
        "active": True,
        "practitioner_count": 0,
    }
    assert public_therapies(client)["bowen-therapy"]["name"] == "Bowen therapy"


def test_admin_adds_a_therapy_with_a_chosen_slug(client, auth):
    response = client.post(ADMIN_THERAPIES, json={**BOWEN, "slug": "bowen"}, headers=auth("admin"))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["slug"] == "bowen"
    assert "bowen" in public_therapies(client)


def test_added_therapy_can_be_offered_as_a_service(client, auth):
    client.post(ADMIN_THERAPIES, json=BOWEN, headers=auth("admin"))

    service = add_service(client, auth("practitioner"), therapy="bowen-therapy")

    assert service["therapy"] == "bowen-therapy"


def test_adding_a_therapy_is_audited(client, auth):
    admin = auth("admin")

    client.post(ADMIN_THERAPIES, json=BOWEN, headers=admin)

    entry = therapy_audit(client, admin, "bowen-therapy")[0]
    assert entry["action"] == "therapy.add"
    assert entry["actor_id"] == user_id(client, admin)
    assert entry["before"] is None
    assert entry["after"]["name"] == "Bowen therapy"
    assert entry["after"]["active"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Dry Needling"},
        {"name": "Dry needling (again)", "slug": "dry-needling"},
    ],
)
def test_adding_a_therapy_with_a_taken_slug_is_409(client, auth, app, body):
    admin = auth("admin")
    rows = count_rows(app, TherapyType)

    problem_of(client.post(ADMIN_THERAPIES, json=body, headers=admin), 409)

    assert count_rows(app, TherapyType) == rows
    assert public_therapies(client)["dry-needling"]["name"] == "Dry needling"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", "Bowen Therapy"),
        ("slug", "bowen_therapy"),
        ("slug", "-bowen"),
        ("slug", "bowen--therapy"),
        ("slug", "bowen/therapy"),
        ("slug", ""),
        ("name", ""),
        ("name", "   "),
        ("name", None),
        ("active", "yes"),
        ("practitioner_count", 3),
        ("id", 1),
    ],
)
def test_adding_an_invalid_therapy_is_422_and_stores_nothing(client, auth, app, field, value):
    rows = count_rows(app, TherapyType)

    response = client.post(ADMIN_THERAPIES, json={**BOWEN, field: value}, headers=auth("admin"))

    assert field in problem_of(response, 422)["errors"]
    assert count_rows(app, TherapyType) == rows


def test_adding_a_therapy_without_a_name_is_422(client, auth, app):
    rows = count_rows(app, TherapyType)

    response = client.post(ADMIN_THERAPIES, json={"slug": "bowen"}, headers=auth("admin"))

    assert "name" in problem_of(response, 422)["errors"]
    assert count_rows(app, TherapyType) == rows


# --- rename ---------------------------------------------------------------------------------


def test_admin_renames_a_therapy_keeping_its_slug(client, auth):
    admin = auth("admin")

    response = client.patch(
        f"{ADMIN_THERAPIES}/cupping", json={"name": "Cupping therapy"}, headers=admin
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["slug"] == "cupping"
    assert response.get_json()["name"] == "Cupping therapy"
    listed = public_therapies(client)["cupping"]
    assert listed["name"] == "Cupping therapy"
    assert listed["description"]
    assert listed["active"] is True


def test_renaming_a_therapy_is_audited(client, auth):
    admin = auth("admin")

    client.patch(f"{ADMIN_THERAPIES}/cupping", json={"name": "Cupping therapy"}, headers=admin)

    entry = therapy_audit(client, admin, "cupping")[0]
    assert entry["action"] == "therapy.update"
    assert entry["actor_id"] == user_id(client, admin)
    assert entry["before"]["name"] == "Cupping"
    assert entry["after"]["name"] == "Cupping therapy"


def test_renamed_therapy_shows_on_existing_services(client, auth):
    me, admin = auth("practitioner"), auth("admin")
    service = add_service(client, me, therapy="cupping")

    client.patch(f"{ADMIN_THERAPIES}/cupping", json={"name": "Cupping therapy"}, headers=admin)

    fetched = client.get(f"{SERVICES_URL}/{service['id']}", headers=me).get_json()
    assert fetched["therapy"] == "cupping"
    assert fetched["therapy_name"] == "Cupping therapy"


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", ""), ("name", None), ("active", "no"), ("slug", "cups"), ("colour", "red")],
)
def test_invalid_therapy_change_is_422_and_changes_nothing(client, auth, field, value):
    admin = auth("admin")
    before = admin_therapies(client, admin)["cupping"]

    response = client.patch(f"{ADMIN_THERAPIES}/cupping", json={field: value}, headers=admin)

    assert field in problem_of(response, 422)["errors"]
    assert admin_therapies(client, admin)["cupping"] == before
    assert therapy_audit(client, admin, "cupping") == []


def test_changing_an_unknown_therapy_is_404(client, auth, app):
    rows = count_rows(app, TherapyType)

    response = client.patch(
        f"{ADMIN_THERAPIES}/no-such-therapy", json={"name": "X"}, headers=auth("admin")
    )

    problem_of(response, 404)
    assert count_rows(app, TherapyType) == rows


# --- retire ---------------------------------------------------------------------------------


def test_retired_therapy_disappears_from_the_public_list(client, auth):
    admin = auth("admin")

    response = client.patch(f"{ADMIN_THERAPIES}/cupping", json={"active": False}, headers=admin)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is False
    assert "cupping" not in public_therapies(client)
    assert admin_therapies(client, admin)["cupping"]["active"] is False


def test_retired_therapy_cannot_be_used_for_new_services(client, auth, app):
    me = auth("practitioner")
    client.patch(f"{ADMIN_THERAPIES}/cupping", json={"active": False}, headers=auth("admin"))

    response = client.post(SERVICES_URL, json={**SERVICE, "therapy": "cupping"}, headers=me)

    assert "therapy" in problem_of(response, 422)["errors"]
    assert client.get(SERVICES_URL, headers=me).get_json()["items"] == []


def test_retiring_a_therapy_is_audited(client, auth):
    admin = auth("admin")

    client.patch(f"{ADMIN_THERAPIES}/cupping", json={"active": False}, headers=admin)

    entry = therapy_audit(client, admin, "cupping")[0]
    assert entry["action"] == "therapy.retire"
    assert entry["actor_id"] == user_id(client, admin)
    assert entry["before"]["active"] is True
    assert entry["after"]["active"] is False


def test_retired_therapy_can_be_restored(client, auth):
    admin = auth("admin")
    client.patch(f"{ADMIN_THERAPIES}/cupping", json={"active": False}, headers=admin)

    response = client.patch(f"{ADMIN_THERAPIES}/cupping", json={"active": True}, headers=admin)

    assert response.status_code == 200, response.get_json()
    assert "cupping" in public_therapies(client)
    assert add_service(client, auth("practitioner"), therapy="cupping")["therapy"] == "cupping"


def test_admin_list_counts_approved_practitioners(client, auth):
    admin = auth("admin")
    approved_listing(client, auth("practitioner"), admin, therapy="cupping")

    assert admin_therapies(client, admin)["cupping"]["practitioner_count"] == 1


# --- who may ---------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", ADMIN_THERAPIES, None),
    ("post", ADMIN_THERAPIES, BOWEN),
    ("patch", f"{ADMIN_THERAPIES}/cupping", {"name": "Cups", "active": False}),
]


@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403), ("practitioner", 403)])
def test_only_admins_manage_therapies(client, auth, app, method, url, body, role, status):
    rows = count_rows(app, TherapyType)
    before = public_therapies(client)

    response = getattr(client, method)(url, json=body, headers=auth(role) if role else {})

    problem_of(response, status)
    assert count_rows(app, TherapyType) == rows
    assert public_therapies(client) == before
