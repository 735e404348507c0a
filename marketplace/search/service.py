"""Practitioner search: filters, sorts, facets and pages over the search index.

Everything is portable SQL over the same tables on both backends (the relevance score
included), so PostgreSQL and SQLite return the same ids in the same order. Each backend uses
its own full-text index only to narrow the candidates: a weighted tsvector with a GIN index
on PostgreSQL, FTS5 on SQLite.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from marketplace.availability.loading import first_free_slots
from marketplace.availability.models import AvailabilityDay
from marketplace.catalog.models import Condition, TherapyType, condition_therapies
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.practitioners.models import Gender, Location, Practitioner, Service
from marketplace.search.geo import EARTH_RADIUS_KM, bounding_box, haversine_km
from marketplace.search.models import (
    BITMAP_DAYS,
    BITMAP_FIRST_OFFSET,
    MASKED_THERAPY_IDS,
    SearchDocument,
    SearchText,
    day_number,
    therapy_bit,
)
from marketplace.search.text import terms

doc = SearchDocument

# Relevance weights of a query term found in each field (the tsvector's A, B, B, C).
FIELD_WEIGHTS = (("name_terms", 4), ("headline_terms", 2), ("tag_terms", 2), ("bio_terms", 1))
SOON = timedelta(days=7)
# How many listings beyond the page an exact ranking may examine before it settles for the
# stored bound (only reached when `refresh-availability` has not run for a long time).
MAX_EXACT_SCAN = 2000
NEUTRAL_RATING = 3.5
SORTS = ("relevance", "distance", "price", "rating", "soonest")


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
    query_terms: list[str] = field(default_factory=list)

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


def _mask_of(therapy_ids) -> int:
    mask = 0
    for therapy_id in therapy_ids:
        mask |= therapy_bit(therapy_id)
    return mask


def _maskable(therapy_ids) -> bool:
    return all(therapy_id < MASKED_THERAPY_IDS for therapy_id in therapy_ids)


ACTIVE_SERVICE = (Service.active, Service.deleted_at.is_(None))


def _matching_service(query: SearchQuery, therapy_ids: list[int] | None) -> list:
    """What a service must be to match the query (its owner is joined by each caller)."""
    conditions = list(ACTIVE_SERVICE)
    if therapy_ids is not None:
        conditions.append(Service.therapy_type_id.in_(therapy_ids))
    if query.price_max is not None:
        conditions.append(Service.price_cents <= query.price_max)
    return conditions


def _distance_sql(lat_column, lng_column, lat: float, lng: float):
    """Haversine in SQL (the same formula as geo.haversine_km on every backend)."""
    lat1, lng1 = sa.func.radians(lat_column), sa.func.radians(lng_column)
    lat2, lng2 = sa.func.radians(sa.literal(lat)), sa.func.radians(sa.literal(lng))
    a = sa.func.power(sa.func.sin((lat2 - lat1) / 2), 2) + sa.func.cos(lat1) * sa.func.cos(
        lat2
    ) * sa.func.power(sa.func.sin((lng2 - lng1) / 2), 2)
    return 2 * EARTH_RADIUS_KM * sa.func.asin(sa.func.sqrt(a))


def _nearest_locations(query: SearchQuery):
    """(practitioner_id, distance_km) of each listing's nearest location within the radius."""
    (min_lat, max_lat), lng_ranges = bounding_box(query.lat, query.lng, query.radius_km)
    distance = _distance_sql(Location.latitude, Location.longitude, query.lat, query.lng)
    return (
        sa.select(Location.practitioner_id, sa.func.min(distance).label("distance_km"))
        .where(
            Location.deleted_at.is_(None),
            Location.latitude.between(min_lat, max_lat),
            sa.or_(*(Location.longitude.between(low, high) for low, high in lng_ranges)),
        )
        .group_by(Location.practitioner_id)
        .having(sa.func.min(distance) <= query.radius_km)
        .subquery("nearest")
    )


def _text_match(query_terms: list[str]):
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in query_terms)
        return sa.literal_column("search_texts.search_vector").op("@@")(
            sa.func.to_tsquery("simple", tsquery)
        )
    match = " ".join(f'"{term}"*' for term in query_terms)
    fts = (
        sa.select(sa.column("practitioner_id"))
        .select_from(sa.table("search_fts"))
        .where(sa.text("search_fts MATCH :fts_match").bindparams(fts_match=match))
    )
    return sa.cast(doc.practitioner_id, sa.String).in_(fts)


def _text_score(query_terms: list[str]):
    score = sa.literal(0)
    for term in query_terms:
        pattern = f"% {term}%"
        for column_name, weight in FIELD_WEIGHTS:
            column = getattr(SearchText, column_name)
            score = score + sa.case(((sa.literal(" ") + column).like(pattern), weight), else_=0)
    return score


def _bookable_days(columns: list, service_conditions: list | None, now: datetime) -> sa.Select:
    """Summary days of matching services that still hold a bookable slot at `now`.

    `service_conditions` None: any active service (the summary has rows for no other).
    """
    days = (
        sa.select(*columns)
        .select_from(AvailabilityDay)
        .where(AvailabilityDay.last_bookable_until >= now)
    )
    if service_conditions is None:
        return days
    return days.where(
        sa.exists().where(
            Service.practitioner_id == AvailabilityDay.practitioner_id,
            Service.duration_minutes == AvailabilityDay.duration_minutes,
            *service_conditions,
        )
    )


def _available_on(day: date, service_conditions: list | None, now: datetime):
    """A bookable slot of a matching service on the listing's local `day`.

    Without service filters, and for a day that is not today anywhere, the document's bitmap
    answers while it is trusted; otherwise one probe of the summary per candidate.
    """
    probe = (
        _bookable_days([sa.literal(1)], service_conditions, now)
        .where(
            AvailabilityDay.practitioner_id == doc.practitioner_id,
            AvailabilityDay.day == day,
        )
        .exists()
    )
    if service_conditions is not None or day < now.date() + timedelta(days=BITMAP_FIRST_OFFSET):
        return probe
    offset = sa.literal(day_number(day)) - doc.bookable_days_base
    trusted = sa.and_(
        doc.bookable_days_until.is_not(None),
        doc.bookable_days_until >= now,
        offset >= BITMAP_FIRST_OFFSET,
        offset < BITMAP_DAYS,
    )
    bit = doc.bookable_days.op(">>")(offset).op("&")(sa.literal(1, sa.BigInteger)) == 1
    return sa.or_(sa.and_(trusted, bit), sa.and_(sa.not_(trusted), probe))


def search_practitioners(query: SearchQuery, now: datetime) -> dict[str, Any]:
    """One page of approved listings matching every filter, with totals and facets.

    Two statements do the work whatever the filters (one aggregate for the total and the
    facets, one for the page), then a few batched ones describe the page's listings.
    """
    active = dict(
        db.session.execute(
            sa.select(TherapyType.slug, TherapyType.id).where(TherapyType.active)
        ).all()
    )
    therapy_ids = _therapy_ids(query, active)
    service_conditions = _matching_service(query, therapy_ids)
    query.query_terms = terms(query.q)
    # Service filters that the document alone answers (every document has an active service,
    # its therapies as bits, its cheapest price); a therapy and a price limit together need
    # the services themselves.
    candidates = sa.select(doc.practitioner_id)
    if therapy_ids is not None and query.price_max is None and _maskable(therapy_ids):
        candidates = candidates.where(doc.therapy_mask.op("&")(_mask_of(therapy_ids)) != 0)
    elif therapy_ids is None and query.price_max is not None:
        candidates = candidates.where(doc.min_price_cents <= query.price_max)
    elif therapy_ids is not None or query.price_max is not None:
        candidates = candidates.where(
            sa.exists().where(Service.practitioner_id == doc.practitioner_id, *service_conditions)
        )
    if query.gender:
        candidates = candidates.where(doc.gender == query.gender)
    if query.language:
        candidates = candidates.where(
            (sa.literal(" ") + doc.languages + " ").like(f"% {query.language} %")
        )
    if query.telehealth is not None:
        candidates = candidates.where(doc.telehealth == query.telehealth)
    if query.query_terms:
        candidates = candidates.join(
            SearchText, SearchText.practitioner_id == doc.practitioner_id
        ).where(_text_match(query.query_terms))
    filtered_services = therapy_ids is not None or query.price_max is not None
    if query.available_on is not None:
        candidates = candidates.where(
            _available_on(
                query.available_on, service_conditions if filtered_services else None, now
            )
        )
    distance = None
    if query.located:
        nearest = _nearest_locations(query)
        candidates = candidates.join(nearest, nearest.c.practitioner_id == doc.practitioner_id)
        distance = nearest.c.distance_km

    if query.sort == "soonest":
        page_rows = _page_by_bounded_key(
            candidates,
            distance,
            doc.next_available_at,
            lambda ids: _exact_next_available(ids, query, therapy_ids, now),
            query,
        )
    elif query.sort == "price" and filtered_services:
        page_rows = _page_by_bounded_key(
            candidates,
            distance,
            doc.min_price_cents,
            lambda ids: _exact_min_price(ids, service_conditions),
            query,
        )
    else:
        page_query = candidates.add_columns(
            (distance if distance is not None else sa.null()).label("distance_km")
        ).order_by(*_ordering(query, distance, now))
        page_rows = db.session.execute(
            page_query.limit(query.per_page).offset((query.page - 1) * query.per_page)
        ).all()

    facet_therapies = {
        slug: therapy_id
        for slug, therapy_id in active.items()
        if therapy_ids is None or therapy_id in therapy_ids
    }
    total, gender_counts, therapy_counts = _counts(
        candidates,
        facet_therapies,
        by_mask=query.price_max is None and _maskable(facet_therapies.values()),
    )
    if therapy_counts is None:
        therapy_counts = _therapy_counts_by_services(candidates, service_conditions)
    return {
        "items": _page_items(page_rows, query, therapy_ids, now),
        "total": total,
        "page": query.page,
        "per_page": query.per_page,
        "facets": {"therapy": therapy_counts, "gender": gender_counts},
    }


@dataclass(frozen=True)
class PageRow:
    practitioner_id: uuid.UUID
    distance_km: float | None


def _page_by_bounded_key(
    candidates: sa.Select,
    distance,
    bound_column,
    exact_keys: Callable[[list[uuid.UUID]], dict[uuid.UUID, Any]],
    query: SearchQuery,
) -> list[PageRow]:
    """A page ordered by a key too dear to compute for every candidate in SQL, but bounded
    below by a stored, indexed column (the next slot of any service bounds the next slot of
    the matching ones; so does the cheapest price).

    Listings come in (bound, id) order, their exact keys a batch at a time; scanning stops as
    soon as the page's last (key, id) sorts before the last scanned (bound, id), since no
    unscanned listing can then come earlier. Listings without a key follow, by id.
    """
    needed = query.page * query.per_page
    distance_column = (distance if distance is not None else sa.null()).label("distance_km")
    ordered = (
        candidates.add_columns(distance_column, bound_column.label("bound"))
        .where(bound_column.is_not(None))
        .order_by(bound_column, doc.practitioner_id)
    )
    keyed: list[tuple[Any, uuid.UUID, float | None]] = []
    keyless: list[tuple[uuid.UUID, float | None]] = []
    batch, offset = max(2 * needed, 50), 0
    while True:
        if offset >= needed + MAX_EXACT_SCAN:
            # Bounds far below their keys (a summary long unrefreshed): rank the rest by bound
            # rather than compute every candidate's key.
            rows = db.session.execute(ordered.limit(needed).offset(offset)).all()
            keyed += [(row.bound, row.practitioner_id, row.distance_km) for row in rows]
            break
        rows = db.session.execute(ordered.limit(batch).offset(offset)).all()
        keys = exact_keys([row.practitioner_id for row in rows]) if rows else {}
        for row in rows:
            key = keys.get(row.practitioner_id)
            if key is None:
                keyless.append((row.practitioner_id, row.distance_km))
            else:
                keyed.append((key, row.practitioner_id, row.distance_km))
        keyed.sort(key=lambda item: (item[0], item[1]))
        if len(rows) < batch:
            break
        last = rows[-1]
        if len(keyed) >= needed and keyed[needed - 1][:2] < (last.bound, last.practitioner_id):
            break
        offset += batch
        batch *= 2
    ranked = [(listing_id, km) for _key, listing_id, km in keyed[:needed]]
    if len(ranked) < needed:
        unbounded = db.session.execute(
            candidates.add_columns(distance_column)
            .where(bound_column.is_(None))
            .order_by(doc.practitioner_id)
            .limit(needed)
        ).all()
        rest = sorted(keyless + [(row.practitioner_id, row.distance_km) for row in unbounded])
        ranked += rest[: needed - len(ranked)]
    return [
        PageRow(listing_id, km) for listing_id, km in ranked[(query.page - 1) * query.per_page :]
    ]


def _exact_next_available(
    ids: list[uuid.UUID], query: SearchQuery, therapy_ids, now: datetime
) -> dict[uuid.UUID, datetime]:
    listings = {
        listing.id: listing
        for listing in db.session.scalars(sa.select(Practitioner).where(Practitioner.id.in_(ids)))
    }
    durations: dict[uuid.UUID, set[int]] = {listing_id: set() for listing_id in ids}
    for listing_id, minutes in db.session.execute(
        sa.select(Service.practitioner_id, Service.duration_minutes).where(
            Service.practitioner_id.in_(ids), *_matching_service(query, therapy_ids)
        )
    ):
        durations[listing_id].add(minutes)
    return _next_available_of(listings, durations, now)


def _exact_min_price(ids: list[uuid.UUID], service_conditions: list) -> dict[uuid.UUID, int]:
    return dict(
        db.session.execute(
            sa.select(Service.practitioner_id, sa.func.min(Service.price_cents))
            .where(Service.practitioner_id.in_(ids), *service_conditions)
            .group_by(Service.practitioner_id)
        ).all()
    )


def _counts(candidates: sa.Select, facet_therapies: dict[str, int], *, by_mask: bool):
    """Total, gender facet and (when the bits can tell) therapy facet, in one scan."""
    found = candidates.add_columns(doc.gender, doc.therapy_mask).subquery("found")
    columns = [sa.func.count().label("total")]
    columns += [
        sa.func.sum(sa.case((found.c.gender == gender.value, 1), else_=0)).label(gender.value)
        for gender in Gender
    ]
    therapy_labels = {}
    if by_mask:
        for index, (slug, therapy_id) in enumerate(sorted(facet_therapies.items())):
            therapy_labels[slug] = f"therapy_{index}"
            offers = found.c.therapy_mask.op("&")(therapy_bit(therapy_id)) != 0
            columns.append(sa.func.sum(sa.case((offers, 1), else_=0)).label(f"therapy_{index}"))
    row = db.session.execute(sa.select(*columns).select_from(found)).one()._mapping
    genders = {gender.value: row[gender.value] for gender in Gender if row[gender.value]}
    if not by_mask:
        return row["total"], genders, None
    therapies = {slug: row[label] for slug, label in therapy_labels.items() if row[label]}
    return row["total"], genders, therapies


def _therapy_counts_by_services(candidates: sa.Select, service_conditions: list) -> dict:
    """The therapy facet when a price limit decides which services match."""
    found = candidates.subquery("found")
    return dict(
        db.session.execute(
            sa.select(TherapyType.slug, sa.func.count(sa.distinct(Service.practitioner_id)))
            .join(TherapyType, TherapyType.id == Service.therapy_type_id)
            .where(
                TherapyType.active,
                Service.practitioner_id.in_(sa.select(found.c.practitioner_id)),
                *service_conditions,
            )
            .group_by(TherapyType.slug)
        ).all()
    )


def _ordering(query: SearchQuery, distance, now: datetime) -> list:
    """ORDER BY for the sorts SQL can answer from stored columns; the id breaks every tie."""
    tiebreak = doc.practitioner_id
    if query.sort == "distance":
        return [distance.asc(), tiebreak]
    if query.sort == "price":
        return [doc.min_price_cents.asc(), tiebreak]
    if query.sort == "rating":
        return [doc.rating_average.desc().nulls_last(), doc.rating_count.desc(), tiebreak]
    # Relevance: the text rank when there is a query, then a blend of how well rated the
    # listing is, whether it can see the patient this week, and (when located) how near it is.
    available_soon = sa.and_(doc.next_available_at >= now, doc.next_available_at < now + SOON)
    blend = sa.func.coalesce(doc.rating_average, NEUTRAL_RATING) + sa.case(
        (available_soon, 1.0), else_=0.0
    )
    if distance is not None:
        blend = blend - distance / query.radius_km
    ordering = [blend.desc(), tiebreak]
    if query.query_terms:
        ordering.insert(0, _text_score(query.query_terms).desc())
    return ordering


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


def _page_items(rows, query: SearchQuery, therapy_ids, now: datetime) -> list[dict[str, Any]]:
    ids = [row.practitioner_id for row in rows]
    if not ids:
        return []
    listings = {
        listing.id: listing
        for listing in db.session.scalars(sa.select(Practitioner).where(Practitioner.id.in_(ids)))
    }
    services: dict[uuid.UUID, list[Service]] = {pid: [] for pid in ids}
    for service in db.session.scalars(
        sa.select(Service)
        .where(*_matching_service(query, therapy_ids))
        .where(Service.practitioner_id.in_(ids))
        .order_by(Service.price_cents, Service.name, Service.id)
    ):
        services[service.practitioner_id].append(service)
    next_available = _next_available_of(
        listings,
        {pid: {s.duration_minutes for s in offered} for pid, offered in services.items()},
        now,
    )
    locations: dict[uuid.UUID, list[Location]] = {pid: [] for pid in ids}
    for location in db.session.scalars(
        sa.select(Location)
        .where(Location.practitioner_id.in_(ids), Location.deleted_at.is_(None))
        .order_by(Location.created_at, Location.id)
    ):
        locations[location.practitioner_id].append(location)

    items = []
    for row in rows:
        listing = listings[row.practitioner_id]
        offered = services[row.practitioner_id]
        therapies = {s.therapy_type.slug: s.therapy_type.name for s in offered}
        nearest = _nearest(locations[row.practitioner_id], query)
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
                "location": nearest,
                "distance_km": round(row.distance_km, 2) if row.distance_km is not None else None,
                "rating_average": listing.rating_average,
                "rating_count": listing.rating_count,
                "next_available_at": next_available.get(row.practitioner_id),
            }
        )
    return items


def _nearest(locations: list[Location], query: SearchQuery) -> Location | None:
    if not locations:
        return None
    if not query.located:
        return locations[0]
    return min(
        locations,
        key=lambda loc: (haversine_km(query.lat, query.lng, loc.latitude, loc.longitude), loc.id),
    )
