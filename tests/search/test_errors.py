"""GET /practitioners refuses bad parameters with a 422 naming the parameter."""

import pytest

from tests.factories import ALL_DAY, create_listing
from tests.helpers import problem_of
from tests.search.helpers import SEARCH_URL, search

SYDNEY = {"lat": -33.8688, "lng": 151.2093}

BAD_PARAMETERS = [
    ({"lat": 91, "lng": 151}, "lat"),
    ({"lat": -91, "lng": 151}, "lat"),
    ({"lat": -33, "lng": -181}, "lng"),
    ({"lat": -33, "lng": 181}, "lng"),
    ({"lat": "north", "lng": 151}, "lat"),
    ({"lat": "nan", "lng": 151}, "lat"),
    ({"lat": -33.8688}, "lng"),
    ({"lng": 151.2093}, "lat"),
    ({**SYDNEY, "radius_km": 0}, "radius_km"),
    ({**SYDNEY, "radius_km": -5}, "radius_km"),
    ({**SYDNEY, "radius_km": 201}, "radius_km"),
    ({**SYDNEY, "radius_km": "far"}, "radius_km"),
    ({"radius_km": 10}, "radius_km"),
    ({"sort": "popularity"}, "sort"),
    ({"sort": ""}, "sort"),
    ({"sort": "distance"}, "sort"),
    ({"available_on": "2026-13-01"}, "available_on"),
    ({"available_on": "2026-02-30"}, "available_on"),
    ({"available_on": "tomorrow"}, "available_on"),
    ({"available_on": "2026-01-01T10:00:00+00:00"}, "available_on"),
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
    ({"page": "one"}, "page"),
    ({"per_page": 51}, "per_page"),
    ({"per_page": 0}, "per_page"),
    ({"price_max": -1}, "price_max"),
    ({"price_max": "cheap"}, "price_max"),
    ({"therapy": "reiki-healing"}, "therapy"),
    ({"condition": "broken-heart"}, "condition"),
    ({"gender": "x"}, "gender"),
    ({"gender": "Female"}, "gender"),
    ({"language": "english"}, "language"),
    ({"language": "EN"}, "language"),
    ({"telehealth": "maybe"}, "telehealth"),
]


@pytest.mark.parametrize(
    ("params", "field"), BAD_PARAMETERS, ids=[repr(params) for params, _ in BAD_PARAMETERS]
)
def test_a_bad_parameter_is_422_naming_it(client, params, field):
    body = problem_of(client.get(SEARCH_URL, query_string=params), 422)
    assert field in body["errors"], body
    assert all(isinstance(message, str) for message in body["errors"][field])


def test_every_bad_parameter_is_named_at_once(app, client):
    response = client.get(
        SEARCH_URL, query_string={"lat": 91, "lng": 0, "per_page": 51, "sort": "nearest"}
    )
    body = problem_of(response, 422)
    assert {"lat", "per_page", "sort"} <= body["errors"].keys()


@pytest.mark.parametrize(
    "params",
    [
        {**SYDNEY, "radius_km": 200},
        {**SYDNEY, "radius_km": 0.5},
        {"lat": 90, "lng": 180},
        {"lat": -90, "lng": -180},
        {**SYDNEY, "sort": "distance"},
        {"per_page": 50, "page": 100},
        {"price_max": 0},
        {"available_on": "2026-02-28"},
        {"gender": "non_binary", "language": "zh", "telehealth": "false"},
    ],
    ids=repr,
)
def test_edge_values_are_accepted(app, client, params):
    create_listing(app, weekly_hours=ALL_DAY)
    body = search(client, **params)
    assert body["page"] == params.get("page", 1)
    assert body["per_page"] == params.get("per_page", 20)
