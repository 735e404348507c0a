"""Practitioner search: filters, sorts, facets and pages.

The in-memory index (`engine`, kept current by `sync`) decides which listings match, counts
them and orders them; the database answers what the index cannot (a summary probe for days
whose bits have expired, the exact next slot of a page's listings) and describes the page.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from marketplace.availability.free_time import first_free_slots
from marketplace.availability.models import AvailabilityDay
from marketplace.catalog.models import Condition, TherapyType, condition_therapies
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.practitioners.models import Location, Practitioner, Service
from marketplace.search.engine import (
    SORTS,
    Criteria,
    Matches,
    Named,
    Near,
    SearchIndex,
    Term,
    instant,
    microseconds,
)
from marketplace.search.geo import haversine_km
from marketplace.search.models import day_number
from marketplace.search.sync import synced_index
from marketplace.search.text import known_terms, nearest_word, stem, terms, words

__all__ = ["SORTS", "SearchQuery", "search_practitioners"]

# How many times `soonest` reads exact next slots from the summary for listings reaching the
# page before it settles for the index's bounds.
MAX_SOONEST_ROUNDS = 5
# Listings per summary probe (a bound on the statement's parameters).
PROBE_CHUNK = 1000


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


def _text_query(
    q: str | None, active_names: dict[int, str], index: SearchIndex
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
        if not index.knows(term) and not taxonomy.knows(term):
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


def _matching_service(query: SearchQuery, therapy_ids: list[int] | None) -> list:
    """What a service must be to match the query."""
    conditions = [Service.is_offered]
    if therapy_ids is not None:
        conditions.append(Service.therapy_type_id.in_(therapy_ids))
    if query.price_max is not None:
        conditions.append(Service.price_cents <= query.price_max)
    return conditions


def search_practitioners(query: SearchQuery, now: datetime) -> dict[str, Any]:
    """One page of approved listings matching every filter, with the total and facets."""
    therapies = db.session.execute(
        sa.select(TherapyType.slug, TherapyType.id, TherapyType.name).where(TherapyType.active)
    ).all()
    active = {slug: therapy_id for slug, therapy_id, _name in therapies}
    therapy_ids = _therapy_ids(query, active)
    near = Near(query.lat, query.lng, query.radius_km) if query.located else None
    facet_therapies = {
        therapy_id: slug
        for slug, therapy_id in active.items()
        if therapy_ids is None or therapy_id in therapy_ids
    }
    with synced_index() as index:
        text_terms, named = _text_query(
            query.q, {therapy_id: name for _slug, therapy_id, name in therapies}, index
        )
        criteria = Criteria(
            therapies=None if therapy_ids is None else frozenset(therapy_ids),
            price_max=query.price_max,
            gender=query.gender,
            language=query.language,
            telehealth=query.telehealth,
            terms=text_terms,
            named=named,
            near=near,
            available_on=None if query.available_on is None else day_number(query.available_on),
        )
        matches = index.match(criteria, microseconds(now))
        if len(matches.undecided):
            undecided = index.ids_of(matches.undecided)
            services = _matching_service(query, therapy_ids) if criteria.filters_services else None
            index.settle(matches, _bookable_on(undecided, query.available_on, services, now))
        total, genders, therapy_counts = index.counts(matches, facet_therapies)
        first = (query.page - 1) * query.per_page
        known: dict[uuid.UUID, int | None] = {}
        if query.sort == "soonest":
            ids, known = _soonest(index, matches, query, therapy_ids, now)
        else:
            ids = index.top(matches, query.sort, first + query.per_page, microseconds(now), near)
        ids = ids[first:]
        distances = [index.distance_of(matches, listing_id) for listing_id in ids]
        next_slots, unsure = index.next_available(matches, ids, microseconds(now))
    if query.available_on is not None:
        # The patient asked for that day: each card shows its first free slot that day.
        next_available = _first_slots_on(ids, query.available_on, query, therapy_ids, now)
    else:
        next_slots |= {
            listing_id: known[listing_id] for listing_id in unsure if listing_id in known
        }
        unsure = [listing_id for listing_id in unsure if listing_id not in known]
        next_available = {
            listing_id: None if at is None else instant(at) for listing_id, at in next_slots.items()
        }
        if unsure:
            exact = _exact_next_available(unsure, query, therapy_ids, now)
            next_available.update({listing_id: exact.get(listing_id) for listing_id in unsure})
    return {
        "items": _page_items(ids, distances, next_available, query, therapy_ids),
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
        "facets": {
            "therapy": {facet_therapies[t]: n for t, n in therapy_counts.items()},
            "gender": genders,
        },
    }


def _bookable_on(
    ids: list[uuid.UUID], day: date, services: list | None, now: datetime
) -> set[uuid.UUID]:
    """Of `ids`, the listings whose summary holds a slot on their local `day` still bookable
    at `now`, of a service matching `services` (None: any active service)."""
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), PROBE_CHUNK):
        probe = (
            sa.select(AvailabilityDay.practitioner_id)
            .where(
                AvailabilityDay.practitioner_id.in_(ids[start : start + PROBE_CHUNK]),
                AvailabilityDay.day == day,
                AvailabilityDay.last_bookable_until >= now,
            )
            .distinct()
        )
        if services is not None:
            probe = probe.where(
                sa.exists().where(
                    Service.practitioner_id == AvailabilityDay.practitioner_id,
                    Service.duration_minutes == AvailabilityDay.duration_minutes,
                    *services,
                )
            )
        found.update(db.session.scalars(probe))
    return found


def _soonest(
    index: SearchIndex, matches: Matches, query: SearchQuery, therapy_ids, now: datetime
) -> tuple[list[uuid.UUID], dict[uuid.UUID, int | None]]:
    """The first pages by the next free slot of a matching service, then id (listings with
    none last), and the exact next slots it read from the summary.

    Where the index holds only a lower bound of a listing's next slot (its stored one has
    passed its deadline), the summary tells the exact one, for the listings that reach the
    pages; a few rounds settle it (more only when `refresh-availability` has not run for
    long, and then the rest are ranked by their bounds).
    """
    needed = query.page * query.per_page
    known: dict[uuid.UUID, int | None] = {}
    for round_number in range(MAX_SOONEST_ROUNDS + 1):
        ids, unsure = index.soonest(matches, needed, microseconds(now), known)
        if not unsure or round_number == MAX_SOONEST_ROUNDS:
            break
        exact = _exact_next_available(unsure, query, therapy_ids, now)
        known.update({listing_id: microseconds(exact.get(listing_id)) for listing_id in unsure})
    return ids, known


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
    listings = {
        listing.id: listing
        for listing in db.session.scalars(sa.select(Practitioner).where(Practitioner.id.in_(ids)))
    }
    return _next_available_of(listings, _matching_durations(ids, query, therapy_ids), now)


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
    ids: list[uuid.UUID],
    distances: list[float | None],
    next_available: dict[uuid.UUID, datetime | None],
    query: SearchQuery,
    therapy_ids,
) -> list[dict[str, Any]]:
    """The result cards of a page: three reads by primary or foreign key (the services and
    locations as the models, which their shared schemas dump)."""
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
    for listing_id, distance in zip(ids, distances, strict=True):
        listing = listings[listing_id]
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
