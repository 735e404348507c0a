"""Practitioner search: filters, sorts, facets and pages, answered by SQL.

Every search reads the narrow rows `index` keeps in step with the listings (see `models`):
one statement finds the page of ids in the order asked, one `GROUP BY` counts the total and
facets (kept a few seconds per filter set, see `counts`), and reads by key describe the page.
The summary answers what those rows cannot: a day whose stored bits may have expired, and
the exact next slot of a listing whose stored one has passed its notice.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.util import LRUCache

from marketplace.availability.free_time import first_free_slots
from marketplace.availability.models import AvailabilityDay
from marketplace.catalog.models import Condition, TherapyType, condition_therapies
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.practitioners.models import Location, Practitioner, Service
from marketplace.search import counts
from marketplace.search.geo import EARTH_RADIUS_KM, bounding_box, haversine_km
from marketplace.search.models import (
    RANK_UNIT,
    THERAPY_BITS,
    SearchListing,
    SearchOffer,
    SearchPlace,
    SearchText,
    day_number,
    therapy_bit,
)
from marketplace.search.text import known_terms, nearest_word, stem, terms, words

__all__ = ["SORTS", "SearchQuery", "search_practitioners"]

SORTS = ("relevance", "distance", "price", "rating", "soonest")
# How many times `soonest` reads exact next slots from the summary for listings reaching the
# page before it settles for the stored bounds.
MAX_SOONEST_ROUNDS = 5
# A word of `q` in the name counts 4, in the headline 2, in the bio 1; naming a therapy the
# listing offers (or a condition one of them treats), 2.
NAME, HEADLINE, BIO, TAG = 4, 2, 1, 2
# Relevance blends the rating with being free this week (worth a star) and, when located,
# nearness: every 2 km away weigh a star. In the blend's millionths of a star, per metre:
PER_METRE = RANK_UNIT // 2000
SOON = timedelta(days=7)
TEXT_FIELDS = "{name_terms headline_terms bio_terms}"
MATCHING_STATEMENTS_KEPT = 64
# Listings per statement that names them (a bound on the statement's parameters).
PROBE_CHUNK = 1000
# Offers read per listing wanted when ordering by offers (listings have about three).
OFFERS_PER_LISTING = 4


@dataclass
class SearchQuery:
    therapies: Sequence[str] = ()
    condition: str | None = None
    q: str | None = None
    lat: float | None = None
    lng: float | None = None
    radius_km: float = 25.0
    available_on: date | None = None
    price_max: int | None = None
    gender: str | None = None
    language: str | None = None
    telehealth: bool | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    @property
    def located(self) -> bool:
        return self.lat is not None and self.lng is not None


def _therapy_ids(query: SearchQuery, active: dict[str, int]) -> list[int] | None:
    """The therapy ids a matching service must be of; None when unrestricted."""
    wanted: set[int] | None = None
    if query.therapies:
        unknown = sorted(set(query.therapies) - active.keys())
        if unknown:
            raise ValidationFailed(
                "Unknown therapy.", {"therapy": [f"Unknown therapy: {', '.join(unknown)}."]}
            )
        wanted = {active[slug] for slug in query.therapies}
    if query.condition:
        condition_id = db.session.scalar(
            sa.select(Condition.id).where(Condition.slug == query.condition)
        )
        if condition_id is None:
            raise ValidationFailed("Unknown condition.", {"condition": ["Unknown condition."]})
        linked = set(
            db.session.scalars(
                sa.select(condition_therapies.c.therapy_type_id).where(
                    condition_therapies.c.condition_id == condition_id
                )
            )
        )
        wanted = linked if wanted is None else wanted & linked
    return None if wanted is None else sorted(wanted)


@dataclass(frozen=True)
class _Taxonomy:
    """What `q` is read against besides the listings' own words."""

    # therapy id -> the terms naming it: its name's, and its treated conditions' names' and
    # synonyms'
    vocabulary: dict[int, set[str]]
    # condition id -> (the therapies treating it, the terms of its name and of each synonym)
    conditions: dict[int, tuple[frozenset[int], tuple[tuple[str, ...], ...]]]
    # every word (not stemmed) of those names and synonyms: what a misspelling is corrected to
    spellings: frozenset[str]

    def knows(self, term: str) -> bool:
        return any(
            known.startswith(term)
            for vocabulary in self.vocabulary.values()
            for known in vocabulary
        )


def _taxonomy(active_names: dict[int, str]) -> _Taxonomy:
    vocabulary = {therapy_id: set(known_terms(name)) for therapy_id, name in active_names.items()}
    spellings = {word for name in active_names.values() for word in words(name)}
    phrases: dict[int, tuple[tuple[str, ...], ...]] = {}
    for condition_id, name, synonyms in db.session.execute(
        sa.select(Condition.id, Condition.name, Condition.synonyms)
    ):
        texts = [name, *(synonyms or [])]
        phrases[condition_id] = tuple(tuple(terms(text)) for text in texts if terms(text))
        spellings.update(word for text in texts for word in words(text))
    treating: dict[int, set[int]] = {}
    for condition_id, therapy_id in db.session.execute(
        sa.select(condition_therapies.c.condition_id, condition_therapies.c.therapy_type_id)
    ):
        treating.setdefault(condition_id, set()).add(therapy_id)
        vocabulary.setdefault(therapy_id, set()).update(
            term for phrase in phrases.get(condition_id, ()) for term in phrase
        )
    conditions = {
        condition_id: (frozenset(treating.get(condition_id, ())), condition_phrases)
        for condition_id, condition_phrases in phrases.items()
    }
    return _Taxonomy(vocabulary, conditions, frozenset(spellings))


@dataclass(frozen=True)
class Term:
    """One word of `q`: a prefix of a listing's words, or a therapy the listing offers whose
    name (or a treated condition's name or synonym) holds a word with that prefix."""

    prefix: str
    tag_therapies: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Named:
    """A condition that `q` names. A listing that treats it (offers one of `therapies`) and
    names it in its own text (holds every term of one of `phrases`: the condition's name and
    synonyms) ranks before those that match `q` otherwise."""

    therapies: frozenset[int]
    phrases: tuple[tuple[str, ...], ...]


# The statements that find matches take a shape per combination of filters and words: kept
# compiled in a cache of their own, bounded, rather than crowding out (and growing) the one
# every other statement of the app shares.
_MATCHING_STATEMENTS = LRUCache(MATCHING_STATEMENTS_KEPT)


def _matching_rows(statement: sa.Executable) -> sa.Result:
    return db.session.execute(statement, execution_options={"compiled_cache": _MATCHING_STATEMENTS})


def _on_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _text_vector_matches(tsquery: str):
    """PostgreSQL: the listing's weighted terms match `tsquery` (through the GIN index)."""
    # Read as tsquery input, as the vector holds our terms unparsed (see migration 0014).
    return sa.literal_column("search_texts.search_vector").op("@@")(
        sa.cast(sa.literal(tsquery, sa.Text), postgresql.TSQUERY)
    )


def _fts_ids(match: str):
    """SQLite: the ids of the listings whose FTS5 row matches `match`."""
    return (
        sa.select(sa.literal_column("practitioner_id"))
        .select_from(sa.table("search_texts_fts"))
        .where(sa.literal_column("search_texts_fts").op("MATCH")(sa.literal(match, sa.Text)))
    )


def _held(term: str) -> bool:
    """Whether some listing's name, headline or bio holds a word starting with `term`."""
    if _on_postgres():
        probe = sa.select(SearchText.practitioner_id).where(_text_vector_matches(f"{term}:*ABC"))
    else:
        probe = _fts_ids(f'{TEXT_FIELDS} : "{term}"*')
    return _matching_rows(probe.limit(1)).first() is not None


def _text_query(
    q: str | None, active_names: dict[int, str]
) -> tuple[tuple[Term, ...], tuple[Named, ...]]:
    """The words of `q`, each with the therapies it names (an active therapy whose name has
    a word starting with it, or any therapy treating a condition whose name or synonyms do);
    and the conditions `q` names (every term of the condition's name or of a synonym).

    A word that begins no listing's word and no therapy's or condition's is taken for a
    misspelling of the nearest word of those names and synonyms (see `nearest_word`), so
    "siatica" finds what "sciatica" finds."""
    typed = words(q)
    if not typed:
        return (), ()
    taxonomy = _taxonomy(active_names)
    found = []
    for word in typed:
        term = stem(word)
        if not taxonomy.knows(term) and not _held(term):
            corrected = nearest_word(word, taxonomy.spellings)
            if corrected is not None:
                term = stem(corrected)
        found.append(term)
    text_terms = tuple(
        Term(
            term,
            frozenset(
                therapy_id
                for therapy_id, vocabulary in taxonomy.vocabulary.items()
                if any(known.startswith(term) for known in vocabulary)
            ),
        )
        for term in found
    )
    asked = set(found)
    named = tuple(
        Named(therapies, phrases)
        for _condition_id, (therapies, phrases) in sorted(taxonomy.conditions.items())
        if therapies and any(set(phrase) <= asked for phrase in phrases)
    )
    return text_terms, named


def _offer_conditions(query: SearchQuery, therapy_ids: list[int] | None) -> list | None:
    """What a listing's search offer must be to match the query (None: any active one)."""
    if therapy_ids is None and query.price_max is None:
        return None
    conditions = []
    if therapy_ids is not None:
        conditions.append(SearchOffer.therapy_id.in_(therapy_ids))
    if query.price_max is not None:
        conditions.append(SearchOffer.price_cents <= query.price_max)
    return conditions


def _offers_one_of(therapy_ids) -> sa.ColumnElement[bool]:
    """The listing offers one of `therapy_ids`: its bits, and its offers for larger ids."""
    mask = 0
    for therapy_id in therapy_ids:
        mask |= therapy_bit(therapy_id)
    offers = []
    if mask:
        offers.append(SearchListing.therapy_bits.op("&")(mask) != 0)
    beyond_bits = sorted(t for t in therapy_ids if t >= THERAPY_BITS)
    if beyond_bits:
        offers.append(_has_offer([SearchOffer.therapy_id.in_(beyond_bits)]))
    return sa.or_(*offers) if offers else sa.false()


def _has_offer(conditions: list) -> sa.ColumnElement[bool]:
    # Its own search_offers even where the outer query reads offers too (_first_by_offer).
    return (
        sa.exists()
        .where(SearchOffer.practitioner_id == SearchListing.practitioner_id, *conditions)
        .correlate_except(SearchOffer)
    )


# The term columns and, on PostgreSQL, their weights in `search_vector`.
FIELDS = (
    (SearchText.name_terms, "A", NAME),
    (SearchText.headline_terms, "B", HEADLINE),
    (SearchText.bio_terms, "C", BIO),
)


def _holds_word_starting(prefix: str, column, weight: str) -> sa.ColumnElement[bool]:
    """The field holds a word starting with `prefix`. PostgreSQL asks the listing's tsvector
    (a binary search of its sorted terms) rather than scanning the text."""
    if _on_postgres():
        return _text_vector_matches(f"{prefix}:*{weight}")
    return (sa.literal(" ") + column).like(f"% {prefix}%")


def _says(phrases: Sequence[Sequence[str]]) -> sa.ColumnElement[bool]:
    """The listing's own text holds every term of one of `phrases`."""
    if _on_postgres():
        return _text_vector_matches(
            " | ".join(
                "(" + " & ".join(f"{term}:ABC" for term in phrase) + ")" for phrase in phrases
            )
        )
    own_text = (
        sa.literal(" ")
        + SearchText.name_terms
        + " "
        + SearchText.headline_terms
        + " "
        + SearchText.bio_terms
        + " "
    )
    return sa.or_(
        *(sa.and_(*(own_text.like(f"% {term} %") for term in phrase)) for phrase in phrases)
    )


def _text_match(text_terms: Sequence[Term], named: Sequence[Named]):
    """(the conditions every listing matching `q` meets, its score, how many of the named
    conditions it treats and names). The first condition is the full-text index's: the GIN
    index on PostgreSQL, FTS5 on SQLite; both score the candidates alike."""
    if _on_postgres():
        prefilter = _text_vector_matches(
            " & ".join(
                f"({term.prefix}:*ABC"
                + "".join(f" | t{therapy_id}" for therapy_id in sorted(term.tag_therapies))
                + ")"
                for term in text_terms
            )
        )
    else:
        prefilter = SearchListing.practitioner_id.in_(
            _fts_ids(
                " AND ".join(
                    f'({TEXT_FIELDS} : "{term.prefix}"*'
                    + "".join(f' OR tag_terms : "t{t}"' for t in sorted(term.tag_therapies))
                    + ")"
                    for term in text_terms
                )
            )
        )
    conditions, score = [prefilter], []
    for term in text_terms:
        tagged = _offers_one_of(term.tag_therapies)
        fields = [
            (_holds_word_starting(term.prefix, column, weight), points)
            for column, weight, points in FIELDS
        ]
        if _on_postgres():
            conditions.append(sa.or_(tagged, _text_vector_matches(f"{term.prefix}:*ABC")))
        else:
            conditions.append(sa.or_(tagged, *(held for held, _points in fields)))
        score.extend(sa.case((held, points), else_=0) for held, points in [(tagged, TAG), *fields])
    naming = None
    if named:
        naming = sum(
            sa.case(
                (sa.and_(_offers_one_of(condition.therapies), _says(condition.phrases)), 1),
                else_=0,
            )
            for condition in named
        )
    return conditions, sum(score), naming


def _distance_km(lat: float, lng: float):
    """The great-circle distance of each place from (lat, lng), as geo.haversine_km."""
    phi = math.radians(lat)
    place_phi = sa.func.radians(SearchPlace.latitude, type_=sa.Double)
    half_chord = sa.func.power(sa.func.sin((place_phi - phi) / 2, type_=sa.Double), 2) + (
        math.cos(phi)
        * sa.func.cos(place_phi, type_=sa.Double)
        * sa.func.power(
            sa.func.sin(
                sa.func.radians(SearchPlace.longitude - lng, type_=sa.Double) / 2,
                type_=sa.Double,
            ),
            2,
        )
    )
    root = sa.func.sqrt(half_chord, type_=sa.Double)
    # Rounding can take the root a hair past 1, outside asin's domain.
    at_most_one = (sa.func.least if _on_postgres() else sa.func.min)(root, 1.0, type_=sa.Double)
    return 2 * EARTH_RADIUS_KM * sa.func.asin(at_most_one, type_=sa.Double)


def _nearby(lat: float, lng: float, radius_km: float):
    """Per listing with a place within the radius, the distance of its nearest. The
    circle's bounding box picks the places by index (GiST points on PostgreSQL)."""
    (south, north), longitudes = bounding_box(lat, lng, radius_km)
    if _on_postgres():
        point = sa.func.point(SearchPlace.longitude, SearchPlace.latitude)
        inside = sa.or_(
            *(
                point.op("<@")(sa.func.box(sa.func.point(west, south), sa.func.point(east, north)))
                for west, east in longitudes
            )
        )
    else:
        inside = sa.and_(
            SearchPlace.latitude.between(south, north),
            sa.or_(*(SearchPlace.longitude.between(west, east) for west, east in longitudes)),
        )
    nearest = sa.func.min(_distance_km(lat, lng), type_=sa.Double)
    return (
        sa.select(SearchPlace.practitioner_id, nearest.label("km"))
        .where(inside)
        .group_by(SearchPlace.practitioner_id)
        .having(nearest <= radius_km)
        .subquery("nearby")
    )


def _available_on(day: date, now: datetime, offers: list | None) -> sa.ColumnElement[bool]:
    """The listing has a slot on its local `day` still bookable at `now` (of a matching
    service, when `offers` is not None).

    Its stored days say so while their deadlines hold (see SearchListing); for a day whose
    deadline has passed (and, for matching services, a day when only some services have a
    slot) the summary decides. A day without a stored slot had none when written; days
    entering the horizon since wait, as in the summary itself, for `refresh-availability`.
    """
    number = day_number(day)
    offset = number - SearchListing.days_base

    def has(days):
        # A later base means the row was written after `day`: it holds nothing of it.
        return sa.and_(
            SearchListing.days_base <= number, sa.func.substr(days, offset + 1, 1) == "1"
        )

    def holds(until):
        return sa.func.coalesce(until >= now, sa.false())

    later_trusted = holds(SearchListing.later_days_until)

    def still_bookable(base_until, next_until):
        return sa.case(
            (offset == 0, holds(base_until)),
            (offset == 1, holds(next_until)),
            else_=later_trusted,
        )

    has_any = has(SearchListing.days_any)
    sure_any = sa.and_(
        has_any,
        still_bookable(SearchListing.base_day_any_until, SearchListing.next_day_any_until),
    )
    expired = sa.and_(has_any, offset >= 2, sa.not_(later_trusted))
    in_summary = sa.select(AvailabilityDay.practitioner_id).where(
        AvailabilityDay.practitioner_id == SearchListing.practitioner_id,
        AvailabilityDay.day == day,
        AvailabilityDay.last_bookable_until >= now,
    )
    if offers is None:
        return sa.or_(sure_any, sa.and_(expired, in_summary.exists()))
    sure_every = sa.and_(
        has(SearchListing.days_every),
        still_bookable(SearchListing.base_day_every_until, SearchListing.next_day_every_until),
    )
    in_summary = in_summary.where(
        sa.exists()
        .where(
            SearchOffer.practitioner_id == AvailabilityDay.practitioner_id,
            SearchOffer.duration_minutes == AvailabilityDay.duration_minutes,
            *offers,
        )
        .correlate_except(SearchOffer)
    )
    undecided = sa.or_(expired, sa.and_(sure_any, sa.not_(sure_every)))
    return sa.or_(sure_every, sa.and_(undecided, in_summary.exists()))


@dataclass
class _Matches:
    """The listings matching a search, as a FROM and a WHERE to select from."""

    source: Any
    where: list
    offers: list | None  # what a matching offer is (None: any active one)
    offers_by_therapy: bool = False  # ... and that includes its therapy
    score: Any = None
    naming: Any = None
    km: Any = None

    def select(self, *columns) -> sa.Select:
        return sa.select(*columns).select_from(self.source).where(*self.where)


def _matches(
    query: SearchQuery,
    therapy_ids: list[int] | None,
    text_terms: Sequence[Term],
    named: Sequence[Named],
    now: datetime,
) -> _Matches:
    offers = _offer_conditions(query, therapy_ids)
    matches = _Matches(SearchListing.__table__, [], offers, therapy_ids is not None)
    if therapy_ids is None and query.price_max is not None:
        matches.where.append(SearchListing.price_from_cents <= query.price_max)
    elif offers is not None:
        if query.price_max is None and all(t < THERAPY_BITS for t in therapy_ids):
            matches.where.append(_offers_one_of(therapy_ids))
        else:
            matches.where.append(_has_offer(offers))
    if query.gender is not None:
        matches.where.append(SearchListing.gender == query.gender)
    if query.language is not None:
        matches.where.append(SearchListing.languages.like(f"% {query.language} %"))
    if query.telehealth is not None:
        matches.where.append(SearchListing.telehealth == query.telehealth)
    if text_terms:
        matches.source = matches.source.join(
            SearchText, SearchText.practitioner_id == SearchListing.practitioner_id
        )
        conditions, matches.score, matches.naming = _text_match(text_terms, named)
        matches.where.extend(conditions)
    if query.located:
        nearby = _nearby(query.lat, query.lng, query.radius_km)
        matches.source = matches.source.join(
            nearby, nearby.c.practitioner_id == SearchListing.practitioner_id
        )
        matches.km = nearby.c.km
    if query.available_on is not None:
        matches.where.append(_available_on(query.available_on, now, offers))
    return matches


def _counts(matches: _Matches, facet_therapies: dict[int, str], price_max: int | None) -> dict:
    """The total and the facets: listings per gender, and per therapy of a matching service."""
    groups = _matching_rows(
        matches.select(SearchListing.gender, SearchListing.therapy_bits, sa.func.count()).group_by(
            SearchListing.gender, SearchListing.therapy_bits
        )
    ).all()
    genders: dict[str, int] = {}
    for gender, _bits, number in groups:
        genders[gender] = genders.get(gender, 0) + number
    # Bits tell which therapies a listing offers, not which of its offers cost little enough.
    by_offer = [t for t in facet_therapies if price_max is not None or t >= THERAPY_BITS]
    per_therapy = {
        therapy_id: sum(
            number for _gender, bits, number in groups if bits & therapy_bit(therapy_id)
        )
        for therapy_id in facet_therapies
        if therapy_id not in by_offer
    }
    if by_offer:
        per_therapy.update(
            _matching_rows(
                sa.select(SearchOffer.therapy_id, sa.func.count())
                .where(
                    SearchOffer.cheapest_of_therapy,
                    SearchOffer.therapy_id.in_(by_offer),
                    SearchOffer.practitioner_id.in_(matches.select(SearchListing.practitioner_id)),
                    *(matches.offers or []),
                )
                .group_by(SearchOffer.therapy_id)
            ).all()
        )
    return {
        "total": sum(number for _gender, _bits, number in groups),
        "facets": {
            "therapy": {facet_therapies[t]: n for t, n in sorted(per_therapy.items()) if n},
            "gender": genders,
        },
    }


def _first_by_offer(matches: _Matches, column, count: int) -> list[tuple[uuid.UUID, Any, Any]]:
    """(id, value, km) of the first `count` listings by the least `column` of their matching
    offers (NULL last), then id.

    Offers are read in that order (an index of `column`) and each listing taken at its first,
    which is its least: a few pages of offers, not an aggregate of every listing's."""
    offers = matches.source.join(
        SearchOffer, SearchOffer.practitioner_id == SearchListing.practitioner_id
    )
    limit = OFFERS_PER_LISTING * count
    while True:
        rows = _matching_rows(
            sa.select(SearchOffer.practitioner_id, column, _distance_column(matches))
            .select_from(offers)
            .where(*matches.where, *matches.offers)
            .order_by(sa.nulls_last(column), SearchOffer.practitioner_id)
            .limit(limit)
        ).all()
        first: dict[uuid.UUID, tuple] = {}
        for listing_id, value, km in rows:
            first.setdefault(listing_id, (listing_id, value, km))
        if len(first) >= count or len(rows) < limit:
            return list(first.values())[:count]
        limit *= 4


def _order(matches: _Matches, sort: str, now: datetime) -> list:
    """The ORDER BY of `sort` (all but soonest), before the id that breaks ties."""
    if sort == "distance":
        return [matches.km]
    if sort == "rating":
        return [
            SearchListing.rating_average.is_(None),
            SearchListing.rating_average.desc(),
            SearchListing.rating_count.desc(),
        ]
    if sort == "price":
        return [SearchListing.price_from_cents]
    soon = sa.and_(
        SearchListing.next_available_at >= now, SearchListing.next_available_at < now + SOON
    )
    blend = SearchListing.rank_base - sa.case((soon, RANK_UNIT), else_=0)
    if matches.km is not None:
        # To the metre, so both backends' last bits of a distance agree.
        blend = blend + sa.func.round(matches.km * 1000) * PER_METRE
    keys = [blend]
    if matches.score is not None:
        keys.insert(0, matches.score.desc())
    if matches.naming is not None:
        keys.insert(0, matches.naming.desc())
    return keys


def _distance_column(matches: _Matches):
    return (matches.km if matches.km is not None else sa.null()).label("km")


def _top(matches: _Matches, query: SearchQuery, now: datetime) -> list[tuple[uuid.UUID, Any]]:
    """(id, km) of the page's listings in `query.sort` order, ties by id."""
    if query.sort == "price" and matches.offers_by_therapy:
        # Else a price limit alone: the cheapest offer within it is the cheapest offer.
        rows = _first_by_offer(matches, SearchOffer.price_cents, query.page * query.per_page)
        return [(listing_id, km) for listing_id, _price, km in rows][
            (query.page - 1) * query.per_page :
        ]
    keys = _order(matches, query.sort, now)
    return _matching_rows(
        matches.select(SearchListing.practitioner_id, _distance_column(matches))
        .order_by(*keys, SearchListing.practitioner_id)
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()


def _stored_slots(
    ids: list[uuid.UUID], offers: list | None, now: datetime
) -> tuple[dict[uuid.UUID, datetime], list[uuid.UUID]]:
    """The stored next slot of each listing's matching offers still bookable at `now`; and
    the listings of whose next slot that is only a lower bound: an earlier stored slot has
    passed its notice, so a later slot of that day or the next is next, which only the
    summary can tell."""
    bookable: dict[uuid.UUID, datetime] = {}
    passed: dict[uuid.UUID, datetime] = {}
    for chunk in _chunks(ids):
        for listing_id, at, until in db.session.execute(
            sa.select(
                SearchOffer.practitioner_id, SearchOffer.next_at, SearchOffer.next_until
            ).where(
                SearchOffer.practitioner_id.in_(chunk),
                SearchOffer.next_at.is_not(None),
                *(offers or []),
            )
        ):
            firsts = bookable if until >= now else passed
            if listing_id not in firsts or at < firsts[listing_id]:
                firsts[listing_id] = at
    unsure = [
        listing_id
        for listing_id in ids
        if listing_id in passed
        and (listing_id not in bookable or passed[listing_id] < bookable[listing_id])
    ]
    return bookable, unsure


def _soonest(
    matches: _Matches, query: SearchQuery, therapy_ids, now: datetime
) -> tuple[list[tuple[uuid.UUID, Any]], dict[uuid.UUID, datetime | None]]:
    """(id, km) of the first pages by the next free slot of a matching service, then id
    (listings with none last), and the exact next slots it read from the summary.

    Where the stored slot is only a lower bound (see _stored_slots), the summary tells the
    exact one, for the listings that reach the pages; a few rounds settle it (more only when
    `refresh-availability` has not run for long, and then the rest rank by their bounds).
    """
    needed = query.page * query.per_page
    known: dict[uuid.UUID, datetime | None] = {}
    for round_number in range(MAX_SOONEST_ROUNDS + 1):
        # Enough rows that those `known` to come later cannot leave the pages short.
        if matches.offers is not None:
            rows = _first_by_offer(matches, SearchOffer.next_at, needed + len(known))
        else:
            bound = SearchListing.next_available_at
            rows = _matching_rows(
                matches.select(SearchListing.practitioner_id, bound, _distance_column(matches))
                .order_by(sa.nulls_last(bound), SearchListing.practitioner_id)
                .limit(needed + len(known))
            ).all()
        ranked = sorted(
            ((known.get(listing_id, at), listing_id, km) for listing_id, at, km in rows),
            key=lambda row: (row[0] is None, row[0] or now, row[1]),
        )[:needed]
        chosen = [(listing_id, km) for _at, listing_id, km in ranked]
        _bookable, unsure = _stored_slots(
            [listing_id for listing_id, _km in chosen if listing_id not in known],
            matches.offers,
            now,
        )
        if not unsure or round_number == MAX_SOONEST_ROUNDS:
            break
        exact = _exact_next_available(unsure, query, therapy_ids, now)
        known.update({listing_id: exact.get(listing_id) for listing_id in unsure})
    return chosen, known


def _counts_key(query: SearchQuery, therapy_ids: list[int] | None) -> dict:
    """What the total and facets depend on: every filter, normalised."""
    return {
        "therapies": therapy_ids,
        "q": words(query.q),
        "near": [query.lat, query.lng, query.radius_km] if query.located else None,
        "available_on": query.available_on.isoformat() if query.available_on else None,
        "price_max": query.price_max,
        "gender": query.gender,
        "language": query.language,
        "telehealth": query.telehealth,
    }


def search_practitioners(query: SearchQuery, now: datetime) -> dict[str, Any]:
    """One page of approved listings matching every filter, with the total and facets."""
    therapies = db.session.execute(
        sa.select(TherapyType.slug, TherapyType.id, TherapyType.name).where(TherapyType.active)
    ).all()
    active = {slug: therapy_id for slug, therapy_id, _name in therapies}
    therapy_ids = _therapy_ids(query, active)
    facet_therapies = {
        therapy_id: slug
        for slug, therapy_id in active.items()
        if therapy_ids is None or therapy_id in therapy_ids
    }
    text_terms, named = _text_query(
        query.q, {therapy_id: name for _slug, therapy_id, name in therapies}
    )
    matches = _matches(query, therapy_ids, text_terms, named, now)
    summary = counts.cached(
        _counts_key(query, therapy_ids),
        lambda: _counts(matches, facet_therapies, query.price_max),
    )
    known: dict[uuid.UUID, datetime | None] = {}
    if query.sort == "soonest":
        rows, known = _soonest(matches, query, therapy_ids, now)
        rows = rows[(query.page - 1) * query.per_page :]
    else:
        rows = _top(matches, query, now)
    ids = [listing_id for listing_id, _km in rows]
    if query.available_on is not None:
        # The patient asked for that day: each card shows its first free slot that day.
        next_available = _first_slots_on(ids, query.available_on, query, therapy_ids, now)
    else:
        stored, unsure = _stored_slots(ids, matches.offers, now)
        next_available = {listing_id: stored.get(listing_id) for listing_id in ids}
        next_available |= {listing_id: at for listing_id, at in known.items() if listing_id in ids}
        unsure = [listing_id for listing_id in unsure if listing_id not in known]
        if unsure:
            exact = _exact_next_available(unsure, query, therapy_ids, now)
            next_available |= {listing_id: exact.get(listing_id) for listing_id in unsure}
    return {
        "items": _page_items(rows, next_available, query, therapy_ids),
        "total": summary["total"],
        "page": query.page,
        "per_page": query.per_page,
        "facets": summary["facets"],
    }


def _matching_service(query: SearchQuery, therapy_ids: list[int] | None) -> list:
    """What a service must be to match the query."""
    conditions = [Service.is_offered]
    if therapy_ids is not None:
        conditions.append(Service.therapy_type_id.in_(therapy_ids))
    if query.price_max is not None:
        conditions.append(Service.price_cents <= query.price_max)
    return conditions


def _matching_durations(
    ids: list[uuid.UUID], query: SearchQuery, therapy_ids
) -> dict[uuid.UUID, set[int]]:
    durations: dict[uuid.UUID, set[int]] = {listing_id: set() for listing_id in ids}
    for listing_id, minutes in db.session.execute(
        sa.select(Service.practitioner_id, Service.duration_minutes).where(
            Service.practitioner_id.in_(ids), *_matching_service(query, therapy_ids)
        )
    ):
        durations[listing_id].add(minutes)
    return durations


def _first_slots_on(
    ids: list[uuid.UUID], day: date, query: SearchQuery, therapy_ids, now: datetime
) -> dict[uuid.UUID, datetime]:
    """The first free slot on the listing's local `day` of its matching services, for each
    of `ids` (a page): the summary's, unless that slot has passed its notice since the
    summary was written, when the engine recomputes the day (one batch for the page)."""
    if not ids:
        return {}
    durations = _matching_durations(ids, query, therapy_ids)
    rows = db.session.execute(
        sa.select(
            AvailabilityDay.practitioner_id,
            AvailabilityDay.duration_minutes,
            AvailabilityDay.first_slot_at,
            AvailabilityDay.first_bookable_until,
        ).where(
            AvailabilityDay.practitioner_id.in_(ids),
            AvailabilityDay.day == day,
            AvailabilityDay.last_bookable_until >= now,
        )
    ).all()
    firsts: dict[uuid.UUID, list[datetime]] = {}
    stale: list[tuple[uuid.UUID, int]] = []
    for row in rows:
        if row.duration_minutes not in durations[row.practitioner_id]:
            continue
        if row.first_bookable_until >= now:
            firsts.setdefault(row.practitioner_id, []).append(row.first_slot_at)
        else:
            stale.append((row.practitioner_id, row.duration_minutes))
    if stale:
        listings = {
            listing.id: listing
            for listing in db.session.scalars(
                sa.select(Practitioner).where(Practitioner.id.in_({i for i, _m in stale}))
            )
        }
        requests = [(listings[listing_id], minutes, day) for listing_id, minutes in stale]
        for (listing_id, _minutes), first in zip(
            stale, first_free_slots(requests, now), strict=True
        ):
            if first is not None:
                firsts.setdefault(listing_id, []).append(first)
    return {listing_id: min(starts) for listing_id, starts in firsts.items()}


def _exact_next_available(
    ids: list[uuid.UUID], query: SearchQuery, therapy_ids, now: datetime
) -> dict[uuid.UUID, datetime]:
    exact: dict[uuid.UUID, datetime] = {}
    for chunk in _chunks(ids):
        listings = {
            listing.id: listing
            for listing in db.session.scalars(
                sa.select(Practitioner).where(Practitioner.id.in_(chunk))
            )
        }
        durations = _matching_durations(chunk, query, therapy_ids)
        exact |= _next_available_of(listings, durations, now)
    return exact


def _chunks(ids: list[uuid.UUID]) -> list[list[uuid.UUID]]:
    """`ids` a statement's worth at a time: deep `soonest` pages reach many listings, and a
    statement takes at most 65,535 parameters (PostgreSQL)."""
    return [ids[start : start + PROBE_CHUNK] for start in range(0, len(ids), PROBE_CHUNK)]


def _next_available_of(
    listings: dict[uuid.UUID, Practitioner], durations: dict[uuid.UUID, set[int]], now: datetime
) -> dict[uuid.UUID, datetime]:
    """The exact next bookable slot of each listing's matching services (their durations).

    The summary gives it directly unless a day's first slot has passed since the summary was
    written; for those few days of this page the engine recomputes the day, in one batch.
    """
    earliest = sa.func.row_number().over(
        partition_by=(AvailabilityDay.practitioner_id, AvailabilityDay.duration_minutes),
        order_by=AvailabilityDay.day,
    )
    days = (
        sa.select(
            AvailabilityDay.practitioner_id,
            AvailabilityDay.duration_minutes,
            AvailabilityDay.day,
            AvailabilityDay.first_slot_at,
            AvailabilityDay.first_bookable_until,
            earliest.label("rank"),
        )
        .where(
            AvailabilityDay.practitioner_id.in_(listings),
            AvailabilityDay.last_bookable_until >= now,
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(days).where(days.c.rank <= 2).order_by(days.c.practitioner_id, days.c.day)
    ).all()
    fresh: dict[uuid.UUID, list[datetime]] = {}
    stale: list[tuple[Practitioner, int, date]] = []
    fallback: dict[tuple[uuid.UUID, int], datetime] = {}
    for row in rows:
        if row.duration_minutes not in durations[row.practitioner_id]:
            continue
        key = (row.practitioner_id, row.duration_minutes)
        if row.rank == 2:
            fallback[key] = row.first_slot_at
        elif row.first_bookable_until >= now:
            fresh.setdefault(row.practitioner_id, []).append(row.first_slot_at)
        else:
            stale.append((listings[row.practitioner_id], row.duration_minutes, row.day))
    for (listing, duration, _day), first in zip(stale, first_free_slots(stale, now), strict=True):
        first = first or fallback.get((listing.id, duration))
        if first is not None:
            fresh.setdefault(listing.id, []).append(first)
    return {listing_id: min(starts) for listing_id, starts in fresh.items()}


def _page_items(
    rows: list[tuple[uuid.UUID, Any]],
    next_available: dict[uuid.UUID, datetime | None],
    query: SearchQuery,
    therapy_ids,
) -> list[dict[str, Any]]:
    """The result cards of a page: three reads by primary or foreign key (the services and
    locations as the models, which their shared schemas dump)."""
    ids = [listing_id for listing_id, _km in rows]
    if not ids:
        return []
    listings = {
        row.id: row
        for row in db.session.execute(
            sa.select(
                Practitioner.id,
                Practitioner.slug,
                Practitioner.display_name,
                Practitioner.headline,
                Practitioner.profession,
                Practitioner.gender,
                Practitioner.languages,
                Practitioner.telehealth,
                Practitioner.rating_average,
                Practitioner.rating_count,
                Practitioner.timezone,
            ).where(Practitioner.id.in_(ids))
        )
    }
    services: dict[uuid.UUID, list[Service]] = {listing_id: [] for listing_id in ids}
    for service in db.session.scalars(
        sa.select(Service)
        .where(Service.practitioner_id.in_(ids), *_matching_service(query, therapy_ids))
        .order_by(Service.price_cents, Service.name, Service.id)
    ):
        services[service.practitioner_id].append(service)
    locations: dict[uuid.UUID, list[Location]] = {listing_id: [] for listing_id in ids}
    for location in db.session.scalars(
        sa.select(Location)
        .where(Location.practitioner_id.in_(ids), Location.deleted_at.is_(None))
        .order_by(Location.created_at, Location.id)
    ):
        locations[location.practitioner_id].append(location)

    items = []
    for listing_id, distance in rows:
        listing = listings.get(listing_id)
        if listing is None:
            continue  # deleted since this search's first statement (READ COMMITTED)
        offered = services[listing_id]
        therapies = {s.therapy_type.slug: s.therapy_type.name for s in offered}
        items.append(
            {
                "id": listing.id,
                "slug": listing.slug,
                "display_name": listing.display_name,
                "headline": listing.headline,
                "profession": listing.profession,
                "gender": listing.gender.value,
                "languages": listing.languages,
                "telehealth": listing.telehealth,
                "therapies": [{"slug": slug, "name": name} for slug, name in therapies.items()],
                "services": offered,
                "price_from_cents": min((s.price_cents for s in offered), default=None),
                "location": _nearest(locations[listing_id], query),
                "distance_km": round(distance, 2) if distance is not None else None,
                "rating_average": listing.rating_average,
                "rating_count": listing.rating_count,
                "next_available_at": next_available.get(listing_id),
                # Pages show next_available_at on the practitioner's clock.
                "timezone": listing.timezone,
            }
        )
    return items


def _nearest(locations: list[Location], query: SearchQuery) -> Location | None:
    """The listing's location nearest the patient (its first when not located)."""
    if not locations or not query.located:
        return locations[0] if locations else None
    km = haversine_km(
        query.lat,
        query.lng,
        np.array([loc.latitude for loc in locations]),
        np.array([loc.longitude for loc in locations]),
    )
    return min(zip(km.tolist(), locations, strict=True), key=lambda pair: (pair[0], pair[1].id))[1]
