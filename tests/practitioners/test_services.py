"""A practitioner's services: create, read, patch, delete, validation and ownership."""

import uuid

import pytest

from marketplace.practitioners.models import Service
from tests.factories import SERVICE, SERVICES_URL, add_service
from tests.helpers import count_rows, problem_of


def service_url(service_id) -> str:
    return f"{SERVICES_URL}/{service_id}"


def listed(client, headers) -> list[dict]:
    response = client.get(SERVICES_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def fetch(client, headers, service_id) -> dict:
    response = client.get(service_url(service_id), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def retire(client, admin, slug: str) -> None:
    response = client.patch(
        f"/api/v1/admin/therapies/{slug}", json={"active": False}, headers=admin
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_create_service_returns_it_with_an_id(client, auth):
    me = auth("practitioner")

    response = client.post(SERVICES_URL, json=SERVICE, headers=me)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    uuid.UUID(body["id"])
    assert {field: body[field] for field in SERVICE} == SERVICE
    assert body["active"] is True
    assert body["therapy_name"] == "Trigger point therapy"
    assert fetch(client, me, body["id"]) == body


def test_services_are_listed_in_the_page_envelope_oldest_first(client, auth):
    me = auth("practitioner")
    first = add_service(client, me, name="Initial")
    second = add_service(client, me, name="Follow-up", therapy="dry-needling")

    body = client.get(SERVICES_URL, headers=me).get_json()

    assert body["total"] == 2
    assert body["page"] == 1
    assert [item["id"] for item in body["items"]] == [first["id"], second["id"]]


def test_services_list_shows_only_own_services(client, auth):
    me, other = auth("practitioner"), auth("practitioner")
    mine = add_service(client, me)
    add_service(client, other, name="Theirs")

    assert [item["id"] for item in listed(client, me)] == [mine["id"]]


def test_inactive_service_stays_in_the_own_list(client, auth):
    me = auth("practitioner")
    created = add_service(client, me, active=False)

    assert [(item["id"], item["active"]) for item in listed(client, me)] == [(created["id"], False)]


def test_patch_service_changes_only_the_given_fields(client, auth):
    me = auth("practitioner")
    created = add_service(client, me, active=False, description="Assessment and treatment.")

    response = client.patch(service_url(created["id"]), json={"price_cents": 13500}, headers=me)

    assert response.status_code == 200, response.get_json()
    expected = {**created, "price_cents": 13500}
    assert response.get_json() == expected
    assert fetch(client, me, created["id"]) == expected


def test_patch_service_can_change_its_therapy(client, auth):
    me = auth("practitioner")
    created = add_service(client, me)

    response = client.patch(service_url(created["id"]), json={"therapy": "cupping"}, headers=me)

    assert response.status_code == 200, response.get_json()
    assert fetch(client, me, created["id"])["therapy"] == "cupping"
    assert fetch(client, me, created["id"])["therapy_name"] == "Cupping"


def test_delete_service_removes_it(client, auth):
    me = auth("practitioner")
    kept = add_service(client, me, name="Kept")
    removed = add_service(client, me, name="Removed")

    response = client.delete(service_url(removed["id"]), headers=me)

    assert response.status_code == 204
    problem_of(client.get(service_url(removed["id"]), headers=me), 404)
    assert [item["id"] for item in listed(client, me)] == [kept["id"]]
    problem_of(client.delete(service_url(removed["id"]), headers=me), 404)
    problem_of(client.patch(service_url(removed["id"]), json={"name": "X"}, headers=me), 404)


@pytest.mark.parametrize("duration", [5, 480])
def test_duration_at_the_limits_is_accepted(client, auth, duration):
    assert (
        add_service(client, auth("practitioner"), duration_minutes=duration)["duration_minutes"]
        == duration
    )


def test_free_service_is_accepted(client, auth):
    assert add_service(client, auth("practitioner"), price_cents=0)["price_cents"] == 0


@pytest.mark.parametrize("currency", ["NZD", "USD", "EUR"])
def test_other_iso_currencies_are_accepted(client, auth, currency):
    assert add_service(client, auth("practitioner"), currency=currency)["currency"] == currency


INVALID_VALUES = [
    ("currency", "aud"),
    ("currency", "XXY"),
    ("currency", "AU"),
    ("currency", "AUDD"),
    ("currency", ""),
    ("price_cents", -1),
    ("price_cents", "12000"),
    ("price_cents", 120.5),
    ("price_cents", None),
    ("duration_minutes", 4),
    ("duration_minutes", 481),
    ("duration_minutes", 0),
    ("duration_minutes", "60"),
    ("name", ""),
    ("therapy", "reiki-from-mars"),
    ("therapy", ""),
    ("active", "yes"),
    ("active", 1),
]


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES)
def test_invalid_service_is_refused_and_nothing_is_stored(client, auth, app, field, value):
    me = auth("practitioner")
    rows = count_rows(app, Service)

    body = problem_of(client.post(SERVICES_URL, json={**SERVICE, field: value}, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Service) == rows
    assert listed(client, me) == []


@pytest.mark.parametrize(
    "field", ["therapy", "name", "duration_minutes", "price_cents", "currency"]
)
def test_service_missing_a_required_field_is_refused(client, auth, app, field):
    me = auth("practitioner")
    rows = count_rows(app, Service)
    incomplete = {key: value for key, value in SERVICE.items() if key != field}

    body = problem_of(client.post(SERVICES_URL, json=incomplete, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Service) == rows


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "00000000-0000-0000-0000-000000000001"), ("practitioner_id", "x"), ("colour", "red")],
)
def test_read_only_or_unknown_service_field_is_refused(client, auth, app, field, value):
    me = auth("practitioner")
    rows = count_rows(app, Service)

    body = problem_of(client.post(SERVICES_URL, json={**SERVICE, field: value}, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Service) == rows


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "aud"),
        ("price_cents", -1),
        ("duration_minutes", 481),
        ("duration_minutes", 4),
        ("therapy", "reiki-from-mars"),
        ("active", "yes"),
        ("id", "x"),
    ],
)
def test_invalid_service_patch_is_refused_and_changes_nothing(client, auth, field, value):
    me = auth("practitioner")
    created = add_service(client, me)

    body = problem_of(
        client.patch(service_url(created["id"]), json={field: value}, headers=me), 422
    )

    assert field in body["errors"]
    assert fetch(client, me, created["id"]) == created


def test_retired_therapy_cannot_be_used_for_new_services(client, auth, app):
    me = auth("practitioner")
    retire(client, auth("admin"), "cupping")
    rows = count_rows(app, Service)

    response = client.post(SERVICES_URL, json={**SERVICE, "therapy": "cupping"}, headers=me)

    assert "therapy" in problem_of(response, 422)["errors"]
    assert count_rows(app, Service) == rows


def test_service_cannot_be_moved_to_a_retired_therapy(client, auth):
    me = auth("practitioner")
    created = add_service(client, me)
    retire(client, auth("admin"), "cupping")

    response = client.patch(service_url(created["id"]), json={"therapy": "cupping"}, headers=me)

    assert "therapy" in problem_of(response, 422)["errors"]
    assert fetch(client, me, created["id"]) == created


def test_another_practitioners_service_cannot_be_read(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_service(client, owner)

    problem_of(client.get(service_url(theirs["id"]), headers=intruder), 404)


def test_another_practitioners_service_cannot_be_changed(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_service(client, owner)

    response = client.patch(
        service_url(theirs["id"]), json={"price_cents": 1, "active": False}, headers=intruder
    )

    problem_of(response, 404)
    assert fetch(client, owner, theirs["id"]) == theirs


def test_another_practitioners_service_cannot_be_deleted(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_service(client, owner)

    problem_of(client.delete(service_url(theirs["id"]), headers=intruder), 404)

    assert fetch(client, owner, theirs["id"]) == theirs
    assert [item["id"] for item in listed(client, owner)] == [theirs["id"]]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_service_is_404(client, auth, method):
    url = service_url(uuid.uuid4())

    problem_of(getattr(client, method)(url, json={"name": "X"}, headers=auth("practitioner")), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", ""), ("get", "/{id}"), ("patch", "/{id}"), ("delete", "/{id}")],
)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403)])
def test_only_practitioners_use_services(client, auth, method, path, role, status):
    owner = auth("practitioner")
    existing = add_service(client, owner)
    headers = auth(role) if role else {}
    url = SERVICES_URL + path.format(id=existing["id"])

    problem_of(getattr(client, method)(url, json=SERVICE, headers=headers), status)

    assert fetch(client, owner, existing["id"]) == existing
    assert len(listed(client, owner)) == 1
