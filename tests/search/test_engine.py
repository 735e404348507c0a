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


def test_an_empty_index_answers_everything_with_nothing():
    index = SearchIndex()
    index.load([])
    matches = index.match(
        Criteria(terms=(Term("x"),), near=Near(0, 0, 5), available_on=TODAY, price_max=1), NOW
    )
    assert index.counts(matches, [1]) == (0, {}, {})
    for sort in ("relevance", "distance", "price", "rating"):
        assert index.top(matches, sort, 5, NOW, Near(0, 0, 5)) == []
    assert index.soonest(matches, 5, NOW, {}) == ([], [])


def test_the_every_service_deadlines_of_today_and_tomorrow():
    index = SearchIndex()
    both_open = document(
        days=days(any=0b11, every=0b11, base_any_until=NOW, base_every_until=NOW,
                  next_any_until=NOW, next_every_until=NOW)
    )  # fmt: skip
    one_left_today = document(
        days=days(any=0b1, every=0b1, base_any_until=NOW, base_every_until=NOW - 1)
    )
    index.load([both_open, one_left_today])
    for day in (TODAY, TODAY + 1):
        matches = index.match(Criteria(available_on=day, price_max=20000), NOW)
        assert set(index.ids_of(np.flatnonzero(matches.found))) == {both_open.id}
    matches = index.match(Criteria(available_on=TODAY, price_max=20000), NOW)
    assert index.ids_of(matches.undecided) == [one_left_today.id]
    assert found(index, Criteria(available_on=TODAY)) == {both_open.id, one_left_today.id}


def test_a_day_before_the_bits_or_past_them_has_no_slot():
    index = SearchIndex()
    listing = document(days=days(any=(1 << 384) - 1, later_until=NOW + HOUR))
    index.load([listing])
    assert found(index, Criteria(available_on=TODAY - 1)) == set()
    assert found(index, Criteria(available_on=TODAY + 383)) == {listing.id}
    assert found(index, Criteria(available_on=TODAY + 384)) == set()


def test_changes_of_one_field_at_a_time_are_followed():
    index = SearchIndex()
    listing = document()
    index.load([listing])
    changes = {
        "languages": (frozenset({"en", "el"}), Criteria(language="el")),
        "gender": ("male", Criteria(gender="male")),
        "telehealth": (True, Criteria(telehealth=True)),
        "places": (((-12.46, 130.84),), Criteria(near=Near(-12.46, 130.84, 2))),
        "offers": (((3, 4000, 30),), Criteria(therapies=frozenset({3}), price_max=4000)),
    }
    for field, (value, criteria) in changes.items():
        assert found(index, criteria) == set(), field
        listing = Document(**(vars(listing) | {field: value}))
        index.apply([listing], [])
        assert found(index, criteria) == {listing.id}, field
    assert found(index, Criteria(near=Near(-33.87, 151.21, 5))) == set()
    assert found(index, Criteria(therapies=frozenset({1}))) == set()


def test_a_listing_unlisted_and_listed_again_comes_back_as_it_now_is():
    index = SearchIndex()
    listing, other = document(texts=("ida", "", "")), document()
    index.load([listing, other])
    index.apply([], [listing.id])
    assert found(index) == {other.id}
    again = Document(**(vars(listing) | {"texts": ("ivo", "", ""), "offers": ((5, 100, 30),)}))
    index.apply([again], [])
    assert found(index, Criteria(terms=(Term("ivo"),))) == {listing.id}
    assert found(index, Criteria(terms=(Term("ida"),))) == set()
    assert index.counts(index.match(Criteria(), NOW), [1, 5]) == (
        2,
        {"female": 2},
        {1: 1, 5: 1},
    )


def test_services_changed_many_times_stay_right_as_their_rows_are_packed():
    index = SearchIndex()
    listings = [document() for _ in range(40)]
    index.load(listings)
    rng = np.random.default_rng(7)
    for step in range(3000):
        chosen = listings[int(rng.integers(len(listings)))]
        count = int(rng.integers(1, 4))
        offers = tuple(
            (int(rng.integers(1, 6)), int(rng.integers(1, 100)), 60) for _ in range(count)
        )
        chosen = Document(**(vars(chosen) | {"offers": offers}))
        listings[listings.index(next(x for x in listings if x.id == chosen.id))] = chosen
        index.apply([chosen], [])
        if step % 500 == 0 or step == 2999:
            for therapy in range(1, 6):
                want = {x.id for x in listings if any(t == therapy for t, _p, _m in x.offers)}
                assert found(index, Criteria(therapies=frozenset({therapy}))) == want
            ranked = index.top(index.match(Criteria(), NOW), "price", 40, NOW, None)
            cheapest = {x.id: min(p for _t, p, _m in x.offers) for x in listings}
            assert [cheapest[i] for i in ranked] == sorted(cheapest.values())


def test_the_index_grows_past_its_first_capacity_through_changes():
    index = SearchIndex()
    index.load([document()])
    added = [document(texts=("grow", "", ""), gender="male") for _ in range(2500)]
    index.apply(added, [])
    assert len(found(index, Criteria(terms=(Term("grow"),), gender="male", language="en"))) == 2500


def test_ties_break_by_id_as_uuids_compare():
    index = SearchIndex()
    tied = [document(id=uuid.UUID(int=value)) for value in (2**127 + 5, 3, 2**127, 2**64)]
    index.load(tied)
    ranked = index.top(index.match(Criteria(), NOW), "rating", 4, NOW, None)
    assert ranked == sorted(listing.id for listing in tied)


def test_relevance_when_located_weighs_every_two_km_as_a_star():
    # Issue 15 changed this rule: distance once counted per radius, so a wider radius let a
    # far listing lead; now every KM_PER_POINT (2 km) weighs a star, whatever the radius.
    index = SearchIndex()
    near_fair = document(places=((-33.87, 151.21),), rating_average=4.0)
    far_good = document(places=((-33.87 - 0.09, 151.21),), rating_average=4.5)  # about 10 km
    close_good = document(places=((-33.87 - 0.0045, 151.21),), rating_average=4.5)  # 0.5 km
    index.load([near_fair, far_good])
    for radius in (12, 50):
        matches = index.match(Criteria(near=Near(-33.87, 151.21, radius)), NOW)
        assert index.top(matches, "relevance", 2, NOW, Near(-33.87, 151.21, radius)) == [
            near_fair.id,
            far_good.id,
        ]
    # Half a kilometre further costs a quarter of a star: the better rated leads.
    index.load([near_fair, close_good])
    matches = index.match(Criteria(near=Near(-33.87, 151.21, 12)), NOW)
    assert index.top(matches, "relevance", 2, NOW, Near(-33.87, 151.21, 12)) == [
        close_good.id,
        near_fair.id,
    ]


def test_facets_and_prices_count_only_the_matching_services():
    index = SearchIndex()
    mixed = document(offers=((1, 5000, 30), (2, 9000, 60), (3, 4000, 45)))
    dear = document(offers=((1, 12000, 30),))
    index.load([mixed, dear])
    matches = index.match(Criteria(therapies=frozenset({1, 2}), price_max=10000), NOW)
    assert index.counts(matches, [1, 2, 3]) == (1, {"female": 1}, {1: 1, 2: 1})
    matches = index.match(Criteria(therapies=frozenset({1})), NOW)
    assert index.top(matches, "price", 2, NOW, None) == [mixed.id, dear.id]
    assert index.counts(matches, [1, 2, 3]) == (2, {"female": 2}, {1: 2})
