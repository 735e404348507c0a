"""A practitioner's locations: create, read, patch, delete, validation and ownership."""

import uuid

import pytest

from marketplace.practitioners.models import Location
from tests.factories import LOCATION, LOCATIONS_URL, add_location
from tests.helpers import count_rows, problem_of


def location_url(location_id) -> str:
    return f"{LOCATIONS_URL}/{location_id}"


def listed(client, headers) -> list[dict]:
    response = client.get(LOCATIONS_URL, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def fetch(client, headers, location_id) -> dict:
    response = client.get(location_url(location_id), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_create_location_returns_it_with_an_id(client, auth):
    me = auth("practitioner")

    response = client.post(LOCATIONS_URL, json=LOCATION, headers=me)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    uuid.UUID(body["id"])
    assert {field: body[field] for field in LOCATION} == LOCATION
    assert fetch(client, me, body["id"]) == body


def test_optional_location_fields_take_defaults(client, auth):
    me = auth("practitioner")
    required = {k: LOCATION[k] for k in ("name", "address", "suburb", "latitude", "longitude")}

    response = client.post(LOCATIONS_URL, json=required, headers=me)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["country"] == "AU"
    assert body["state"] == ""
    assert body["postcode"] == ""


def test_locations_are_listed_in_the_page_envelope_oldest_first(client, auth):
    me = auth("practitioner")
    first = add_location(client, me, name="Surry Hills")
    second = add_location(client, me, name="Bondi")

    body = client.get(LOCATIONS_URL, headers=me).get_json()

    assert body["total"] == 2
    assert body["page"] == 1
    assert [item["id"] for item in body["items"]] == [first["id"], second["id"]]


def test_locations_list_shows_only_own_locations(client, auth):
    me, other = auth("practitioner"), auth("practitioner")
    mine = add_location(client, me)
    add_location(client, other, name="Elsewhere")

    assert [item["id"] for item in listed(client, me)] == [mine["id"]]


def test_patch_location_changes_only_the_given_fields(client, auth):
    me = auth("practitioner")
    created = add_location(client, me, country="NZ", state="AKL", postcode="1010")

    response = client.patch(
        location_url(created["id"]), json={"name": "Ponsonby rooms", "latitude": -36.85}, headers=me
    )

    assert response.status_code == 200, response.get_json()
    expected = {**created, "name": "Ponsonby rooms", "latitude": -36.85}
    assert response.get_json() == expected
    assert fetch(client, me, created["id"]) == expected


def test_delete_location_removes_it(client, auth):
    me = auth("practitioner")
    kept = add_location(client, me, name="Kept")
    removed = add_location(client, me, name="Removed")

    response = client.delete(location_url(removed["id"]), headers=me)

    assert response.status_code == 204
    problem_of(client.get(location_url(removed["id"]), headers=me), 404)
    assert [item["id"] for item in listed(client, me)] == [kept["id"]]
    problem_of(client.delete(location_url(removed["id"]), headers=me), 404)
    problem_of(client.patch(location_url(removed["id"]), json={"name": "X"}, headers=me), 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude", 91),
        ("latitude", -91),
        ("longitude", 181),
        ("longitude", -181),
        ("latitude", "north"),
        ("latitude", None),
        ("name", ""),
        ("address", "   "),
        ("country", "Australia"),
        ("country", "XX"),
        ("postcode", "1" * 13),
    ],
)
def test_invalid_location_is_refused_and_nothing_is_stored(client, auth, app, field, value):
    me = auth("practitioner")
    rows = count_rows(app, Location)

    body = problem_of(client.post(LOCATIONS_URL, json={**LOCATION, field: value}, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Location) == rows
    assert listed(client, me) == []


@pytest.mark.parametrize("field", ["name", "address", "suburb", "latitude", "longitude"])
def test_location_missing_a_required_field_is_refused(client, auth, app, field):
    me = auth("practitioner")
    rows = count_rows(app, Location)
    incomplete = {key: value for key, value in LOCATION.items() if key != field}

    body = problem_of(client.post(LOCATIONS_URL, json=incomplete, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Location) == rows


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "00000000-0000-0000-0000-000000000001"), ("practitioner_id", "x"), ("floor", 2)],
)
def test_read_only_or_unknown_location_field_is_refused(client, auth, app, field, value):
    me = auth("practitioner")
    rows = count_rows(app, Location)

    body = problem_of(client.post(LOCATIONS_URL, json={**LOCATION, field: value}, headers=me), 422)

    assert field in body["errors"]
    assert count_rows(app, Location) == rows


@pytest.mark.parametrize(
    ("field", "value"),
    [("latitude", 91), ("longitude", -181), ("name", ""), ("id", "x"), ("practitioner_id", "x")],
)
def test_invalid_location_patch_is_refused_and_changes_nothing(client, auth, field, value):
    me = auth("practitioner")
    created = add_location(client, me)

    body = problem_of(
        client.patch(location_url(created["id"]), json={field: value}, headers=me), 422
    )

    assert field in body["errors"]
    assert fetch(client, me, created["id"]) == created


@pytest.mark.parametrize("latitude", [90, -90])
def test_latitude_at_the_poles_is_accepted(client, auth, latitude):
    body = add_location(client, auth("practitioner"), latitude=latitude, longitude=180)

    assert body["latitude"] == latitude
    assert body["longitude"] == 180


def test_another_practitioners_location_cannot_be_read(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_location(client, owner)

    problem_of(client.get(location_url(theirs["id"]), headers=intruder), 404)


def test_another_practitioners_location_cannot_be_changed(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_location(client, owner)

    response = client.patch(location_url(theirs["id"]), json={"name": "Mine now"}, headers=intruder)

    problem_of(response, 404)
    assert fetch(client, owner, theirs["id"]) == theirs


def test_another_practitioners_location_cannot_be_deleted(client, auth):
    owner, intruder = auth("practitioner"), auth("practitioner")
    theirs = add_location(client, owner)

    problem_of(client.delete(location_url(theirs["id"]), headers=intruder), 404)

    assert fetch(client, owner, theirs["id"]) == theirs
    assert [item["id"] for item in listed(client, owner)] == [theirs["id"]]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_location_is_404(client, auth, method):
    url = location_url(uuid.uuid4())

    problem_of(getattr(client, method)(url, json={"name": "X"}, headers=auth("practitioner")), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", ""), ("get", "/{id}"), ("patch", "/{id}"), ("delete", "/{id}")],
)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("patient", 403), ("admin", 403)])
def test_only_practitioners_use_locations(client, auth, method, path, role, status):
    owner = auth("practitioner")
    existing = add_location(client, owner)
    headers = auth(role) if role else {}
    url = LOCATIONS_URL + path.format(id=existing["id"])

    problem_of(getattr(client, method)(url, json=LOCATION, headers=headers), status)

    assert fetch(client, owner, existing["id"]) == existing
    assert len(listed(client, owner)) == 1
