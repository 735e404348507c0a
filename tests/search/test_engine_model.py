"""The index, changed a step at a time, answers as plain Python over its documents would.

A seeded random walk of loads, changes, unlistings and relistings, with a small capacity and
early packing so that growing and packing happen often; after each step random searches are
answered both ways and compared.
"""

import math
import random
import uuid
from dataclasses import replace

import numpy as np
import pytest

from marketplace.search import engine
from marketplace.search.engine import (
    DAY_BITS,
    KM_PER_POINT,
    MICROSECOND_MAX,
    NEUTRAL_RATING,
    SOON_MICROSECONDS,
    TAG_WEIGHT,
    Criteria,
    Days,
    Document,
    Near,
    SearchIndex,
    Term,
    term_fields,
)
from marketplace.search.geo import haversine_km

HOUR = 3600 * 10**6
NOW = 1_800_000_000 * 10**6
TODAY = 20_000
WORDS = ("ada", "adam", "cup", "cupping", "needl", "knot", "yoga")
LANGUAGES = ("en", "fr", "zh", "el")
GENDERS = ("female", "male", "non_binary")
THERAPIES = (1, 2, 3, 4, 5)
MINUTES = (30, 60, 90)


class SmallIndex(SearchIndex):
    FIRST_CAPACITY = 4


@pytest.fixture(autouse=True)
def pack_early(monkeypatch):
    monkeypatch.setattr(engine._Offers, "PACK_AFTER", 8)


def random_document(rng: random.Random, listing_id: uuid.UUID) -> Document:
    offers = tuple(
        sorted(
            (rng.choice(THERAPIES), rng.randrange(1000, 9000, 500), rng.choice(MINUTES))
            for _ in range(rng.choice((1, 1, 2, 3)))
        )
    )
    slots = []
    for minutes in sorted({m for _t, _p, m in offers}):
        if rng.random() < 0.8:
            at = NOW + rng.randint(-2, 200) * HOUR
            slots.append((minutes, at, at - HOUR if rng.random() < 0.8 else NOW - HOUR))

    def until():
        return None if rng.random() < 0.3 else NOW + rng.randint(-4, 4) * HOUR

    any_bits = rng.getrandbits(10) | (rng.getrandbits(1) << 300)
    return Document(
        id=listing_id,
        gender=rng.choice(GENDERS),
        languages=frozenset(rng.sample(LANGUAGES, rng.randint(0, 2))),
        telehealth=rng.random() < 0.5,
        rating_average=None if rng.random() < 0.3 else rng.choice((3.0, 4.0, 4.5, 5.0)),
        rating_count=rng.randint(0, 3),
        offers=offers,
        next_slots=tuple(slots),
        places=tuple(
            (-33.9 + rng.uniform(-0.3, 0.3), 151.2 + rng.uniform(-0.3, 0.3))
            for _ in range(rng.choice((0, 1, 1, 2)))
        ),
        texts=tuple(" ".join(rng.sample(WORDS, rng.randint(0, 2))) for _ in range(3)),
        days=Days(
            TODAY + rng.randint(-1, 1),
            any_bits,
            any_bits & rng.getrandbits(10),
            until(),
            until(),
            until(),
            until(),
            until(),
        ),
    )


def random_criteria(rng: random.Random) -> Criteria:
    def maybe(value):
        return value if rng.random() < 0.3 else None

    return Criteria(
        therapies=maybe(frozenset(rng.sample(THERAPIES, rng.randint(1, 2)))),
        price_max=maybe(rng.randrange(1000, 9000, 500)),
        gender=maybe(rng.choice(GENDERS)),
        language=maybe(rng.choice(LANGUAGES)),
        telehealth=maybe(rng.random() < 0.5),
        terms=tuple(
            Term(
                rng.choice(("ad", "cup", "needl", "k", "yog")), frozenset(rng.sample(THERAPIES, 1))
            )
            for _ in range(rng.choice((0, 0, 1, 2)))
        ),
        near=maybe(Near(-33.9, 151.2, rng.choice((5, 20, 40)))),
        available_on=maybe(TODAY + rng.randint(-1, 4)),
    )


def matching_offers(doc: Document, criteria: Criteria) -> list:
    return [
        offer
        for offer in doc.offers
        if (criteria.therapies is None or offer[0] in criteria.therapies)
        and (criteria.price_max is None or offer[1] <= criteria.price_max)
    ]


def day_bit(bits: int, offset: int) -> bool:
    return 0 <= offset < DAY_BITS and bool(bits >> offset & 1)


def available(doc: Document, day: int, every: bool, settled: set) -> bool:
    days, offset = doc.days, day - doc.days.base

    def bookable(base_until, next_until) -> bool:
        deadline = {0: base_until, 1: next_until}.get(offset, days.later_until)
        return deadline is not None and deadline >= NOW

    sure_any = day_bit(days.any, offset) and bookable(days.base_any_until, days.next_any_until)
    expired = day_bit(days.any, offset) and offset >= 2 and not bookable(None, None)
    if not every:
        return sure_any or (expired and doc.id in settled)
    sure_every = day_bit(days.every, offset) and bookable(
        days.base_every_until, days.next_every_until
    )
    return sure_every or ((expired or (sure_any and not sure_every)) and doc.id in settled)


def reference(docs: dict, listed: set, criteria: Criteria, settled: set) -> dict:
    """{id: (text score, distance)} of the documents matching `criteria`."""
    found = {}
    for listing_id in listed:
        doc = docs[listing_id]
        offers = matching_offers(doc, criteria)
        if criteria.filters_services and not offers:
            continue
        if criteria.gender not in (None, doc.gender):
            continue
        if criteria.telehealth not in (None, doc.telehealth):
            continue
        if criteria.language is not None and criteria.language not in doc.languages:
            continue
        score, fields = 0, term_fields(doc.texts)
        matched = True
        for term in criteria.terms:
            tagged = any(offer[0] in term.tag_therapies for offer in doc.offers)
            bits = 0
            for word, word_bits in fields.items():
                if word.startswith(term.prefix):
                    bits |= word_bits
            matched &= tagged or bits != 0
            score += TAG_WEIGHT * tagged + bits
        if not matched:
            continue
        distance = None
        if criteria.near is not None:
            near = criteria.near
            kms = [
                float(haversine_km(near.lat, near.lng, np.array([lat]), np.array([lng]))[0])
                for lat, lng in doc.places
            ]
            distance = min(kms, default=math.inf)
            if distance > near.radius_km:
                continue
        if criteria.available_on is not None and not available(
            doc, criteria.available_on, criteria.filters_services, settled
        ):
            continue
        found[listing_id] = (score, distance)
    return found


def expected_order(docs, found, criteria, sort, known) -> list:
    def key(listing_id):
        doc, (score, distance) = docs[listing_id], found[listing_id]
        rating = doc.rating_average
        if sort == "distance":
            return (distance, listing_id)
        if sort == "rating":
            return (-(rating if rating is not None else -math.inf), -doc.rating_count, listing_id)
        if sort == "price":
            return (min(p for _t, p, _m in matching_offers(doc, criteria)), listing_id)
        if sort == "soonest":
            if listing_id in known:
                at = known[listing_id]
                return (MICROSECOND_MAX if at is None else at, listing_id)
            slots = {m: (at, until) for m, at, until in doc.next_slots}
            ats = [
                slots[m][0]
                for _t, _p, m in matching_offers(doc, criteria) or doc.offers
                if m in slots and slots[m][1] >= NOW
            ]
            return (min(ats, default=MICROSECOND_MAX), listing_id)
        next_at = doc.next_available_at
        soon = next_at is not None and NOW <= next_at < NOW + SOON_MICROSECONDS
        blend = (NEUTRAL_RATING if rating is None else rating) + (1.0 if soon else 0.0)
        if criteria.near is not None:
            # Issue 15: every KM_PER_POINT km weighs a star (it was distance / radius).
            blend -= round(distance, 3) / KM_PER_POINT
        return (-score, -round(blend, 6), listing_id)

    return sorted(found, key=key)


@pytest.mark.parametrize("seed", range(4))
def test_the_index_answers_as_its_documents_say_after_every_change(seed):
    rng = random.Random(seed)
    index = SmallIndex()
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(40)]
    docs = {listing_id: random_document(rng, listing_id) for listing_id in ids[:10]}
    listed = set(docs)
    index.load(docs[listing_id] for listing_id in listed)
    for _step in range(150):
        roll = rng.random()
        if roll < 0.05:
            index.load(docs[listing_id] for listing_id in listed)
        changed = []
        for _ in range(rng.choice((1, 1, 2, 5))):
            listing_id = rng.choice(ids)
            if listing_id in listed and rng.random() < 0.15:
                listed.discard(listing_id)
                index.apply(changed, [listing_id])  # changes in the order they were made
                changed = []
                continue
            old = docs.get(listing_id)
            new = random_document(rng, listing_id)
            if old is not None and rng.random() < 0.5:  # change one field only
                field = rng.choice(("offers", "next_slots", "places", "texts", "languages"))
                new = replace(old, **{field: getattr(new, field)})
                if field == "offers":
                    new = replace(new, next_slots=())
            docs[listing_id] = new
            listed.add(listing_id)
            changed.append(new)
        index.apply(changed, [])

        for _search in range(3):
            criteria = random_criteria(rng)
            matches = index.match(criteria, NOW)
            settled = set(rng.sample(index.ids_of(matches.undecided), len(matches.undecided) // 2))
            index.settle(matches, settled)
            found = reference(docs, listed, criteria, settled)
            assert set(index.ids_of(np.flatnonzero(matches.found))) == set(found)

            total, genders, therapies = index.counts(matches, THERAPIES)
            assert total == len(found)
            assert genders == {
                g: n for g in GENDERS if (n := sum(docs[i].gender == g for i in found))
            }
            assert therapies == {
                t: n
                for t in THERAPIES
                if (
                    n := sum(
                        any(o[0] == t for o in matching_offers(docs[i], criteria)) for i in found
                    )
                )
            }
            sorts = ("relevance", "rating", "price") + (("distance",) if criteria.near else ())
            for sort in sorts:
                ranked = index.top(matches, sort, 6, NOW, criteria.near)
                assert ranked == expected_order(docs, found, criteria, sort, {})[:6], sort
            ranked, unsure = index.soonest(matches, 6, NOW, {})
            known = {listing_id: NOW + 300 * HOUR for listing_id in unsure}
            ranked, _unsure = index.soonest(matches, 6, NOW, known)
            want = expected_order(docs, found, criteria, "soonest", known)[:6]
            if not unsure:
                assert ranked == want
