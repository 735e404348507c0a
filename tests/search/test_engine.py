"""The in-memory index on its own: no database, documents built by hand."""

import uuid

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from marketplace.search.engine import (
    Criteria,
    Days,
    Document,
    Near,
    SearchIndex,
    Term,
    _first,
)

HOUR = 3600 * 10**6
NOW = 1_800_000_000 * 10**6
TODAY = 20_000  # a day number


def document(**fields) -> Document:
    values = {
        "id": uuid.uuid4(),
        "gender": "female",
        "languages": frozenset({"en"}),
        "telehealth": False,
        "rating_average": 4.0,
        "rating_count": 1,
        "offers": ((1, 10000, 60),),
        "next_slots": ((60, NOW + HOUR, NOW),),
        "places": ((-33.87, 151.21),),
        "texts": ("", "", ""),
        "days": Days(base=TODAY),
    }
    return Document(**(values | fields))


def found(index: SearchIndex, criteria: Criteria | None = None, now: int = NOW) -> set:
    criteria = criteria or Criteria()
    matches = index.match(criteria, now)
    return set(index.ids_of(np.flatnonzero(matches.found)))


def test_a_changed_text_is_found_by_its_new_words_only():
    index = SearchIndex()
    listing = document(texts=("mira", "dry needling", ""))
    index.load([listing])
    assert found(index, Criteria(terms=(Term("needl"),))) == {listing.id}

    index.apply([document(id=listing.id, texts=("mira", "cupping", ""))], [])
    assert found(index, Criteria(terms=(Term("needl"),))) == set()
    assert found(index, Criteria(terms=(Term("cup"),))) == {listing.id}


def test_an_unlisted_document_leaves_every_answer():
    index = SearchIndex()
    kept, gone = document(texts=("ada", "", "")), document(texts=("ada", "", ""))
    index.load([kept, gone])
    index.apply([], [gone.id])
    assert found(index) == {kept.id}
    assert found(index, Criteria(terms=(Term("ada"),))) == {kept.id}
    assert found(index, Criteria(near=Near(-33.87, 151.21, 5))) == {kept.id}
    total, genders, therapies = index.counts(index.match(Criteria(), NOW), [1])
    assert (total, genders, therapies) == (1, {"female": 1}, {1: 1})


def test_a_listing_added_later_joins_facets_places_and_prices():
    index = SearchIndex()
    first = document()
    index.load([first])
    assert found(index) == {first.id}
    later = document(gender="male", offers=((2, 5000, 60),), places=((-33.9, 151.2),))
    index.apply([later], [])
    matches = index.match(Criteria(price_max=6000), NOW)
    assert set(index.ids_of(np.flatnonzero(matches.found))) == {later.id}
    assert index.counts(matches, [1, 2]) == (1, {"male": 1}, {2: 1})
    assert index.top(index.match(Criteria(), NOW), "price", 2, NOW, None) == [later.id, first.id]


def test_a_term_counts_where_it_is_found():
    index = SearchIndex()
    in_bio = document(texts=("", "", "knots"), rating_average=5.0)
    in_headline = document(texts=("", "knots", ""), rating_average=3.0)
    in_name = document(texts=("knots", "", ""), rating_average=1.0)
    by_therapy = document(offers=((7, 9000, 60),), rating_average=4.0)
    index.load([in_bio, in_headline, in_name, by_therapy])
    matches = index.match(Criteria(terms=(Term("knot", frozenset({7})),)), NOW)
    ranked = index.top(matches, "relevance", 4, NOW, None)
    # name 4 > headline 2 = therapy 2 (then the better rated) > bio 1
    assert ranked == [in_name.id, by_therapy.id, in_headline.id, in_bio.id]


def days(**fields) -> Days:
    return Days(base=TODAY, **fields)


def test_available_on_reads_the_bits_while_they_hold_and_asks_otherwise():
    index = SearchIndex()
    today_open = document(days=days(any=0b1, base_any_until=NOW + HOUR))
    today_past = document(days=days(any=0b1, base_any_until=NOW - HOUR))
    in_three = document(days=days(any=0b1000, later_until=NOW + HOUR))
    in_three_expired = document(days=days(any=0b1000, later_until=NOW - HOUR))
    nothing = document(days=days(later_until=NOW - HOUR))
    index.load([today_open, today_past, in_three, in_three_expired, nothing])

    matches = index.match(Criteria(available_on=TODAY), NOW)
    assert set(index.ids_of(np.flatnonzero(matches.found))) == {today_open.id}
    assert len(matches.undecided) == 0

    matches = index.match(Criteria(available_on=TODAY + 3), NOW)
    assert set(index.ids_of(np.flatnonzero(matches.found))) == {in_three.id}
    assert index.ids_of(matches.undecided) == [in_three_expired.id]
    index.settle(matches, [in_three_expired.id])
    assert set(index.ids_of(np.flatnonzero(matches.found))) == {in_three.id, in_three_expired.id}


def test_available_on_for_some_services_asks_when_only_some_have_a_slot():
    index = SearchIndex()
    every = document(days=days(any=0b100, every=0b100, later_until=NOW + HOUR))
    some = document(days=days(any=0b100, every=0, later_until=NOW + HOUR))
    index.load([every, some])
    matches = index.match(Criteria(available_on=TODAY + 2, price_max=20000), NOW)
    assert set(index.ids_of(np.flatnonzero(matches.found))) == {every.id}
    assert index.ids_of(matches.undecided) == [some.id]


def test_a_day_beyond_the_first_word_of_bits_is_read():
    index = SearchIndex()
    far = document(days=days(any=1 << 200, later_until=NOW + HOUR))
    index.load([far])
    assert found(index, Criteria(available_on=TODAY + 200)) == {far.id}
    assert found(index, Criteria(available_on=TODAY + 199)) == set()


keys = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=60)


@given(keys, st.integers(0, 70))
def test_first_equals_a_full_sort(pairs, count):
    candidates = np.arange(len(pairs)) * 3
    first = np.array([a for a, _b in pairs], np.int64)
    second = np.array([b for _a, b in pairs], np.int64)
    got = _first(candidates, [first, second, candidates], count).tolist()
    want = sorted(candidates.tolist(), key=lambda c: (first[c // 3], second[c // 3], c))[:count]
    assert got == want


def test_soonest_ranks_by_the_next_slot_of_a_matching_service():
    index = SearchIndex()
    other_first = document(
        offers=((1, 100, 30), (2, 100, 60)),
        next_slots=((30, NOW + HOUR, NOW + HOUR), (60, NOW + 5 * HOUR, NOW + 5 * HOUR)),
    )
    middle = document(offers=((2, 100, 60),), next_slots=((60, NOW + 3 * HOUR, NOW),))
    # Its stored next slot can no longer be booked: a later one is next, only a lower bound.
    passed = document(offers=((2, 100, 60),), next_slots=((60, NOW + 2 * HOUR, NOW - 1),))
    never = document(offers=((2, 100, 60),), next_slots=())
    index.load([other_first, middle, passed, never])
    matches = index.match(Criteria(therapies=frozenset({2})), NOW)

    ids, unsure = index.soonest(matches, 4, NOW, {})
    assert ids == [passed.id, middle.id, other_first.id, never.id]
    assert unsure == [passed.id]
    ids, unsure = index.soonest(matches, 4, NOW, {passed.id: NOW + 4 * HOUR})
    assert (ids, unsure) == ([middle.id, passed.id, other_first.id, never.id], [])

    # A booking moves the next slot; the services stay as they were.
    later = document(id=middle.id, offers=middle.offers, next_slots=((60, NOW + 6 * HOUR, NOW),))
    index.apply([later], [])
    matches = index.match(Criteria(therapies=frozenset({2})), NOW)
    ids, _unsure = index.soonest(matches, 4, NOW, {passed.id: NOW + 4 * HOUR})
    assert ids == [passed.id, other_first.id, middle.id, never.id]
    slots, unsure = index.next_available(matches, [middle.id, never.id, passed.id], NOW)
    assert slots == {middle.id: NOW + 6 * HOUR, never.id: None}
    assert unsure == [passed.id]
