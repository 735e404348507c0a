"""Words that a text parser would read otherwise: both backends hold a listing's terms as
search.text made them, so both find the same listings."""

from tests.factories import create_listing
from tests.search.helpers import search


def ids(client, **params) -> list[str]:
    return [item["id"] for item in search(client, **params)["items"]]


def test_a_word_like_a_number_is_one_word(app, client):
    listing = create_listing(app, name="Wendell Odd", bio="Tuned 1e100 xylophone therapy.")
    assert ids(client, q="1e100") == [str(listing.id)]
    assert ids(client, q="1e10") == [str(listing.id)]  # the beginning of a word
    assert ids(client, q="1e10x") == []  # no word begins so; not "1e10" then "x"
    assert ids(client, q="xylophone 1e1") == [str(listing.id)]


def test_a_very_long_word_is_kept_cut_and_found_by_its_beginning(app, client):
    word = "a" + "b" * 2999
    listing = create_listing(app, name="Xavi Long", bio=f"Treats {word} pain.")
    assert ids(client, q="a" + "b" * 60) == [str(listing.id)]
    assert ids(client, q=word[:200]) == [str(listing.id)]  # the query is cut alike
