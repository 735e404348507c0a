"""Practitioner search in memory: every listed document as numpy columns.

Pure computation: nothing here reads Flask or the database. `sync` feeds the index the stored
documents; `service` asks it questions and answers the two it cannot (a probe of the summary
for a day whose bits have expired, and the exact next slot of the listings on a page).

At 100,000 listings a broad search touches every one of them (to count them and their facets,
and to rank them). Done in SQL that is several passes over 100,000 rows per search; done on
columns in memory it is a few milliseconds.
"""

import math
import uuid
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from marketplace.search.geo import bounding_box, haversine_km_array

MICROSECOND_MAX = np.iinfo(np.int64).max
MICROSECOND_MIN = np.iinfo(np.int64).min
# Bookable days as bits from the document's base day: 6 words cover the longest horizon.
DAY_WORDS = 6
DAY_BITS = 64 * DAY_WORDS
# A term in the name counts 4, in the headline 2, in the bio 1; a therapy or condition the
# listing offers or treats, 2 (see Term).
NAME, HEADLINE, BIO = 4, 2, 1
TAG_WEIGHT = 2
NEUTRAL_RATING = 3.5
SOON_MICROSECONDS = 7 * 24 * 3600 * 10**6
SORTS = ("relevance", "distance", "price", "rating", "soonest")


@dataclass(frozen=True)
class Days:
    """A listing's bookable local days, counted from `base` (see SearchDocument)."""

    base: int = 0
    any: int = 0
    every: int = 0
    base_any_until: int | None = None
    base_every_until: int | None = None
    next_any_until: int | None = None
    next_every_until: int | None = None
    later_until: int | None = None


@dataclass(frozen=True)
class Document:
    """A listed practitioner as the index holds it. Instants are microseconds since 1970."""

    id: uuid.UUID
    gender: str
    languages: frozenset[str]
    telehealth: bool
    rating_average: float | None
    rating_count: int
    # (therapy id, price cents, minutes) of each active service.
    offers: tuple[tuple[int, int, int], ...]
    # (minutes, first free slot, bookable until) of each duration with a free slot.
    next_slots: tuple[tuple[int, int, int], ...]
    places: tuple[tuple[float, float], ...]  # (latitude, longitude) of each active location
    texts: tuple[str, str, str]  # name, headline and bio terms, space separated
    days: Days = Days()

    @property
    def next_available_at(self) -> int | None:
        return min((at for _minutes, at, _until in self.next_slots), default=None)


@dataclass(frozen=True)
class Term:
    """One word of `q`: a prefix of a document's words, or a therapy the listing offers whose
    name (or a treated condition's name or synonym) holds a word with that prefix."""

    prefix: str
    tag_therapies: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Near:
    lat: float
    lng: float
    radius_km: float


@dataclass(frozen=True)
class Criteria:
    therapies: frozenset[int] | None = None  # a matching service is of one of these
    price_max: int | None = None  # ...and costs at most this
    gender: str | None = None
    language: str | None = None
    telehealth: bool | None = None
    terms: tuple[Term, ...] = ()
    near: Near | None = None
    available_on: int | None = None  # a day number (models.day_number)

    @property
    def filters_services(self) -> bool:
        return self.therapies is not None or self.price_max is not None


@dataclass
class Matches:
    """The listings matching some Criteria at an instant (`found`), and those whose
    `available_on` only the summary can settle (`undecided`)."""

    found: np.ndarray  # bool per ordinal
    undecided: np.ndarray  # ordinals
    offers: np.ndarray | None  # bool per offer row: the matching services (None: all)
    score: np.ndarray | None  # text score per ordinal
    distance: np.ndarray | None  # km per ordinal


class _Postings:
    """Per term, the documents that hold it and in which fields (NAME | HEADLINE | BIO)."""

    def __init__(self) -> None:
        self._vocabulary: list[str] = []  # sorted
        self._ordinals: dict[str, np.ndarray] = {}
        self._fields: dict[str, np.ndarray] = {}

    def load(self, fields_by_ordinal: Sequence[dict[str, int]]) -> None:
        ordinals: dict[str, list[int]] = {}
        fields: dict[str, list[int]] = {}
        for ordinal, terms in enumerate(fields_by_ordinal):
            for term, bits in terms.items():
                ordinals.setdefault(term, []).append(ordinal)
                fields.setdefault(term, []).append(bits)
        self._vocabulary = sorted(ordinals)
        self._ordinals = {term: np.array(found, np.int64) for term, found in ordinals.items()}
        self._fields = {term: np.array(fields[term], np.int8) for term in ordinals}

    def replace(self, ordinal: int, old: dict[str, int], new: dict[str, int]) -> None:
        for term in old.keys() - new.keys():
            self._remove(term, ordinal)
        for term, bits in new.items():
            if old.get(term) != bits:
                self._remove(term, ordinal)
                self._add(term, ordinal, bits)

    def _remove(self, term: str, ordinal: int) -> None:
        found = self._ordinals.get(term)
        if found is None:
            return
        at = int(np.searchsorted(found, ordinal))
        if at == len(found) or found[at] != ordinal:
            return
        if len(found) == 1:
            del self._ordinals[term], self._fields[term]
            self._vocabulary.pop(bisect_left(self._vocabulary, term))
            return
        self._ordinals[term] = np.delete(found, at)
        self._fields[term] = np.delete(self._fields[term], at)

    def _add(self, term: str, ordinal: int, bits: int) -> None:
        found = self._ordinals.get(term)
        if found is None:
            insort(self._vocabulary, term)
            self._ordinals[term] = np.array([ordinal], np.int64)
            self._fields[term] = np.array([bits], np.int8)
            return
        at = int(np.searchsorted(found, ordinal))
        self._ordinals[term] = np.insert(found, at, ordinal)
        self._fields[term] = np.insert(self._fields[term], at, bits)

    def fields_of(self, prefix: str, size: int) -> np.ndarray:
        """Per ordinal, the fields holding a word that starts with `prefix`."""
        fields = np.zeros(size, np.int8)
        at = bisect_left(self._vocabulary, prefix)
        while at < len(self._vocabulary) and self._vocabulary[at].startswith(prefix):
            term = self._vocabulary[at]
            fields[self._ordinals[term]] |= self._fields[term]
            at += 1
        return fields


def term_fields(texts: tuple[str, str, str]) -> dict[str, int]:
    """{term: NAME | HEADLINE | BIO bits} of a document's three term strings."""
    fields: dict[str, int] = {}
    for bits, text in zip((NAME, HEADLINE, BIO), texts, strict=True):
        for term in text.split():
            fields[term] = fields.get(term, 0) | bits
    return fields


def _bits_to_words(bits: int) -> np.ndarray:
    return np.frombuffer(bits.to_bytes(8 * DAY_WORDS, "little"), dtype="<u8")


def _instant(value: int | None, missing: int) -> int:
    return missing if value is None else value


class SearchIndex:
    """The listed documents, by ordinal (the order they were first seen; never reused)."""

    _SCALARS = {
        "listed": (np.bool_, False),
        "gender": (np.int16, 0),
        "telehealth": (np.bool_, False),
        "rating": (np.float64, math.nan),
        "rating_count": (np.int64, 0),
        "next_available_at": (np.int64, MICROSECOND_MAX),
        "days_base": (np.int64, 0),
        "base_any_until": (np.int64, MICROSECOND_MIN),
        "base_every_until": (np.int64, MICROSECOND_MIN),
        "next_any_until": (np.int64, MICROSECOND_MIN),
        "next_every_until": (np.int64, MICROSECOND_MIN),
        "later_until": (np.int64, MICROSECOND_MIN),
        "id_high": (np.uint64, 0),
        "id_low": (np.uint64, 0),
    }

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._ids: list[uuid.UUID] = []
        self._ordinal: dict[uuid.UUID, int] = {}
        self._documents: list[Document | None] = []
        self._genders: dict[str, int] = {}
        self._gender_names: list[str] = []
        self._capacity = 0
        self._columns: dict[str, np.ndarray] = {}
        self._days_any = np.zeros((0, DAY_WORDS), np.uint64)
        self._days_every = np.zeros((0, DAY_WORDS), np.uint64)
        self._grow(1024)
        self._postings = _Postings()
        self._stale: set[str] = {"offers", "places", "languages", "order"}
        self._languages: dict[str, np.ndarray] = {}

    # --- keeping up with the documents -----------------------------------------------------

    def __len__(self) -> int:
        return int(np.count_nonzero(self._col("listed")))

    @property
    def size(self) -> int:
        return len(self._ids)

    def load(self, documents: Iterable[Document]) -> None:
        """Start over from these documents (every listed one)."""
        self._reset()
        for document in documents:
            self._put(document, postings=False)
        self._postings.load([term_fields(doc.texts) if doc else {} for doc in self._documents])

    def apply(self, listed: Iterable[Document], unlisted: Iterable[uuid.UUID]) -> None:
        """Changes since the last load or apply."""
        for document in listed:
            self._put(document, postings=True)
        for listing_id in unlisted:
            ordinal = self._ordinal.get(listing_id)
            if ordinal is None or self._documents[ordinal] is None:
                continue
            old = self._documents[ordinal]
            self._postings.replace(ordinal, term_fields(old.texts), {})
            self._documents[ordinal] = None
            self._columns["listed"][ordinal] = False
            self._stale.update(("offers", "places", "languages"))

    def _put(self, doc: Document, *, postings: bool) -> None:
        ordinal = self._ordinal.get(doc.id)
        if ordinal is None:
            ordinal = len(self._ids)
            if ordinal == self._capacity:
                self._grow(2 * self._capacity)
            self._ids.append(doc.id)
            self._ordinal[doc.id] = ordinal
            self._documents.append(None)
            self._columns["id_high"][ordinal] = doc.id.int >> 64
            self._columns["id_low"][ordinal] = doc.id.int & (2**64 - 1)
            self._stale.add("order")
        old = self._documents[ordinal]
        self._documents[ordinal] = doc
        if postings and (old is None or old.texts != doc.texts):
            before = term_fields(old.texts) if old else {}
            self._postings.replace(ordinal, before, term_fields(doc.texts))
        if old is None or old.offers != doc.offers:
            self._stale.add("offers")
        elif old.next_slots != doc.next_slots and "offers" not in self._stale:
            self._fill_next_slots(ordinal, doc)
        if old is None or old.places != doc.places:
            self._stale.add("places")
        if old is None or old.languages != doc.languages:
            self._stale.add("languages")
        columns, days = self._columns, doc.days
        columns["listed"][ordinal] = True
        columns["gender"][ordinal] = self._gender_code(doc.gender)
        columns["telehealth"][ordinal] = doc.telehealth
        columns["rating"][ordinal] = math.nan if doc.rating_average is None else doc.rating_average
        columns["rating_count"][ordinal] = doc.rating_count
        columns["next_available_at"][ordinal] = _instant(doc.next_available_at, MICROSECOND_MAX)
        columns["days_base"][ordinal] = days.base
        for name in (
            "base_any_until",
            "base_every_until",
            "next_any_until",
            "next_every_until",
            "later_until",
        ):
            columns[name][ordinal] = _instant(getattr(days, name), MICROSECOND_MIN)
        self._days_any[ordinal] = _bits_to_words(days.any)
        self._days_every[ordinal] = _bits_to_words(days.every)

    def _gender_code(self, gender: str) -> int:
        code = self._genders.get(gender)
        if code is None:
            code = self._genders[gender] = len(self._gender_names)
            self._gender_names.append(gender)
        return code

    def _grow(self, capacity: int) -> None:
        for name, (dtype, missing) in self._SCALARS.items():
            grown = np.full(capacity, missing, dtype=dtype)
            if name in self._columns:
                grown[: self._capacity] = self._columns[name]
            self._columns[name] = grown
        for name in ("_days_any", "_days_every"):
            grown = np.zeros((capacity, DAY_WORDS), np.uint64)
            grown[: self._capacity] = getattr(self, name)
            setattr(self, name, grown)
        self._capacity = capacity

    def _col(self, name: str) -> np.ndarray:
        return self._columns[name][: self.size]

    # --- derived structures, rebuilt when what they derive from changed -----------------------

    def _refresh(self) -> None:
        if "offers" in self._stale:
            self._build_offers()
        if "places" in self._stale:
            self._build_places()
        if "languages" in self._stale:
            self._languages = {}
        if "order" in self._stale:
            # Ties break by ascending id, as UUIDs compare (and as the databases sort them).
            self._id_rank = np.empty(self.size, np.int64)
            self._id_rank[np.lexsort((self._col("id_low"), self._col("id_high")))] = np.arange(
                self.size
            )
        self._stale.clear()

    def _build_offers(self) -> None:
        """The offers of every listed document as rows, grouped by ordinal (see _by_listing)."""
        listed = [(o, doc) for o, doc in enumerate(self._documents) if doc is not None]
        counts = np.array([len(doc.offers) for _o, doc in listed], np.int64)
        self._offer_doc = np.repeat(np.array([o for o, _doc in listed], np.int64), counts)
        table = np.array([offer for _o, doc in listed for offer in doc.offers], np.int64).reshape(
            -1, 3
        )
        self._offer_therapy, self._offer_price, self._offer_minutes = table.T
        self._offer_start = np.zeros(self.size, np.int64)
        self._offer_end = np.zeros(self.size, np.int64)
        ends = np.cumsum(counts)
        self._offer_start[[o for o, _doc in listed]] = ends - counts
        self._offer_end[[o for o, _doc in listed]] = ends
        # Listings with offers, and where their rows start: the segments of _by_listing.
        self._segment_doc = np.array([o for o, doc in listed if doc.offers], np.int64)
        self._segment_start = self._offer_start[self._segment_doc]
        self._offer_next_at = np.full(len(table), MICROSECOND_MAX, np.int64)
        self._offer_next_until = np.full(len(table), MICROSECOND_MAX, np.int64)
        for o, doc in listed:
            self._fill_next_slots(o, doc)
        therapy_ids = sorted(set(self._offer_therapy.tolist()))
        self._therapy_row = {therapy_id: row for row, therapy_id in enumerate(therapy_ids)}
        rows = np.searchsorted(np.array(therapy_ids, np.int64), self._offer_therapy)
        self._offered = np.zeros((len(therapy_ids), self.size), np.bool_)
        self._offered[rows, self._offer_doc] = True
        self._offer_row = rows

    def _fill_next_slots(self, ordinal: int, doc: Document) -> None:
        """Each offer row of the document: its duration's next free slot and deadline."""
        slots = {minutes: (at, until) for minutes, at, until in doc.next_slots}
        for row in range(self._offer_start[ordinal], self._offer_end[ordinal]):
            at, until = slots.get(int(self._offer_minutes[row]), (MICROSECOND_MAX,) * 2)
            self._offer_next_at[row], self._offer_next_until[row] = at, until

    def _by_listing(self, values: np.ndarray, reduce: np.ufunc, empty) -> np.ndarray:
        """Per ordinal, `reduce` over its offer rows' `values` (`empty` for none)."""
        result = np.full(self.size, empty, dtype=values.dtype)
        if len(self._segment_doc):
            result[self._segment_doc] = reduce.reduceat(values, self._segment_start)
        return result

    def _build_places(self) -> None:
        rows = [
            (lat, lng, o)
            for o, doc in enumerate(self._documents)
            if doc is not None
            for lat, lng in doc.places
        ]
        table = np.array(rows, np.float64).reshape(-1, 3)
        order = np.argsort(table[:, 0], kind="stable")
        self._place_lat = table[order, 0]
        self._place_lng = table[order, 1]
        self._place_doc = table[order, 2].astype(np.int64)

    def _speaks(self, language: str) -> np.ndarray:
        found = self._languages.get(language)
        if found is None:
            found = np.fromiter(
                (doc is not None and language in doc.languages for doc in self._documents),
                np.bool_,
                self.size,
            )
            self._languages[language] = found
        return found

    def _offer_row_of(self, therapy_ids: Iterable[int]) -> np.ndarray:
        """Per offer row, whether it is of one of `therapy_ids`."""
        wanted = np.zeros(len(self._therapy_row), np.bool_)
        wanted[[self._therapy_row[t] for t in therapy_ids if t in self._therapy_row]] = True
        return wanted[self._offer_row]

    def _offering(self, therapy_ids: Iterable[int]) -> np.ndarray:
        rows = [self._therapy_row[t] for t in therapy_ids if t in self._therapy_row]
        if not rows:
            return np.zeros(self.size, np.bool_)
        return self._offered[rows].any(axis=0)

    # --- matching -----------------------------------------------------------------------------

    def match(self, criteria: Criteria, now: int) -> Matches:
        """Everything that holds for `criteria` at `now` (microseconds)."""
        self._refresh()
        size = self.size
        found = self._col("listed").copy()
        offers = None
        if criteria.filters_services:
            offers = np.ones(len(self._offer_doc), np.bool_)
            if criteria.therapies is not None:
                offers &= self._offer_row_of(criteria.therapies)
            if criteria.price_max is not None:
                offers &= self._offer_price <= criteria.price_max
            found &= self._by_listing(offers, np.logical_or, False)
        if criteria.gender is not None:
            code = self._genders.get(criteria.gender, -1)
            found &= self._col("gender") == code
        if criteria.telehealth is not None:
            found &= self._col("telehealth") == criteria.telehealth
        if criteria.language is not None:
            found &= self._speaks(criteria.language)
        score = None
        if criteria.terms:
            score = np.zeros(size, np.int64)
            for term in criteria.terms:
                tagged = self._offering(term.tag_therapies)
                fields = self._postings.fields_of(term.prefix, size)
                found &= tagged | (fields != 0)
                score += TAG_WEIGHT * tagged + fields
        distance = None
        if criteria.near is not None:
            distance = self._distances(criteria.near)
            found &= distance <= criteria.near.radius_km
        undecided = np.zeros(0, np.int64)
        if criteria.available_on is not None:
            yes, unknown = self._available_on(
                criteria.available_on, now, every=criteria.filters_services
            )
            undecided = np.flatnonzero(found & unknown)
            found &= yes
        return Matches(found, undecided, offers, score, distance)

    def _distances(self, near: Near) -> np.ndarray:
        """Per ordinal, the distance of its nearest location within the bounding box (else
        infinity)."""
        (min_lat, max_lat), lng_ranges = bounding_box(near.lat, near.lng, near.radius_km)
        low = np.searchsorted(self._place_lat, min_lat, side="left")
        high = np.searchsorted(self._place_lat, max_lat, side="right")
        lat, lng = self._place_lat[low:high], self._place_lng[low:high]
        inside = np.zeros(len(lat), np.bool_)
        for west, east in lng_ranges:
            inside |= (lng >= west) & (lng <= east)
        km = haversine_km_array(near.lat, near.lng, lat[inside], lng[inside])
        distance = np.full(self.size, np.inf)
        np.minimum.at(distance, self._place_doc[low:high][inside], km)
        return distance

    def _available_on(self, day: int, now: int, *, every: bool) -> tuple[np.ndarray, np.ndarray]:
        """(surely a bookable slot that day, only the summary can tell), per ordinal.

        `every`: the slot must be of a matching service, which the bits settle when every
        service or none has one that day; otherwise only the summary can tell.
        """
        offset = day - self._col("days_base")
        in_window = (offset >= 0) & (offset < DAY_BITS)
        at = np.clip(offset, 0, DAY_BITS - 1)
        rows = np.arange(self.size)
        word, bit = at // 64, (at % 64).astype(np.uint64)

        def day_bit(days: np.ndarray) -> np.ndarray:
            return in_window & ((days[rows, word] >> bit) & np.uint64(1)).astype(np.bool_)

        later_trusted = self._col("later_until") >= now

        def still_bookable(base_until: str, next_until: str) -> np.ndarray:
            return np.where(
                offset == 0,
                self._col(base_until) >= now,
                np.where(offset == 1, self._col(next_until) >= now, later_trusted),
            )

        has_any = day_bit(self._days_any[: self.size])
        sure_any = has_any & still_bookable("base_any_until", "next_any_until")
        # A day whose bits are past trusting: the summary decides (a day without a bit had no
        # bookable slot when written, and time passing frees none).
        expired = has_any & (offset >= 2) & ~later_trusted
        if not every:
            return sure_any, expired
        has_every = day_bit(self._days_every[: self.size])
        sure_every = has_every & still_bookable("base_every_until", "next_every_until")
        return sure_every, expired | (sure_any & ~sure_every)

    def settle(self, matches: Matches, available: Iterable[uuid.UUID]) -> None:
        """The undecided listings the summary found a slot for."""
        ordinals = [self._ordinal[listing_id] for listing_id in available]
        matches.found[ordinals] = True
        matches.undecided = np.zeros(0, np.int64)

    def ids_of(self, ordinals: Iterable[int]) -> list[uuid.UUID]:
        return [self._ids[o] for o in ordinals]

    # --- counting --------------------------------------------------------------------------

    def counts(
        self, matches: Matches, facet_therapies: Iterable[int]
    ) -> tuple[int, dict[str, int], dict[int, int]]:
        """(total, listings per gender, listings per therapy of a matching service)."""
        found = matches.found
        per_gender = np.bincount(self._col("gender")[found], minlength=len(self._gender_names))
        genders = {
            name: int(per_gender[code]) for name, code in self._genders.items() if per_gender[code]
        }
        wanted = [t for t in facet_therapies if t in self._therapy_row]
        rows = [self._therapy_row[t] for t in wanted]
        if matches.offers is None:
            offering = self._offered[rows]
        else:
            chosen = matches.offers & found[self._offer_doc]
            offering = np.zeros((len(self._therapy_row), self.size), np.bool_)
            offering[self._offer_row[chosen], self._offer_doc[chosen]] = True
            offering = offering[rows]
        per_therapy = np.count_nonzero(offering & found, axis=1)
        therapies = {t: int(n) for t, n in zip(wanted, per_therapy, strict=True) if n}
        return int(np.count_nonzero(found)), genders, therapies

    # --- ordering --------------------------------------------------------------------------

    def top(
        self, matches: Matches, sort: str, count: int, now: int, near: Near | None
    ) -> list[uuid.UUID]:
        """The first `count` matches in `sort` order (all but soonest; ties by id)."""
        candidates = np.flatnonzero(matches.found)
        rank = self._id_rank[candidates]
        if sort == "distance":
            keys = [matches.distance[candidates]]
        elif sort == "rating":
            rating = self._col("rating")[candidates]
            unrated_last = np.where(np.isnan(rating), np.inf, -rating)
            keys = [unrated_last, -self._col("rating_count")[candidates]]
        elif sort == "price":
            keys = [self._cheapest(matches)[candidates]]
        else:
            keys = [-self._relevance(matches, candidates, now, near)]
        return self.ids_of(_first(candidates, [*keys, rank], count))

    def _relevance(self, matches, candidates, now: int, near: Near | None) -> np.ndarray:
        """The text score when there is one, then a blend of how well rated the listing is,
        whether it can see the patient this week, and (when located) how near it is."""
        rating = self._col("rating")[candidates]
        next_at = self._col("next_available_at")[candidates]
        soon = (next_at >= now) & (next_at < now + SOON_MICROSECONDS)
        blend = np.where(np.isnan(rating), NEUTRAL_RATING, rating) + np.where(soon, 1.0, 0.0)
        if near is not None:
            blend = blend - matches.distance[candidates] / near.radius_km
        if matches.score is None:
            return blend
        # The blend stays within (-2, 7): 16 per point of text score keeps the score first.
        return matches.score[candidates] * 16.0 + blend

    def _cheapest(self, matches: Matches) -> np.ndarray:
        """Per ordinal, the price of its cheapest matching service."""
        prices = self._offer_price
        if matches.offers is not None:
            prices = np.where(matches.offers, prices, np.iinfo(np.int64).max)
        return self._by_listing(prices, np.minimum, np.iinfo(np.int64).max)

    def _next_slots(
        self, matches: Matches, now: int, known: Mapping[uuid.UUID, int | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per ordinal: the next free slot of a matching service (MICROSECOND_MAX for none),
        and whether that is only a lower bound (the slot the index holds has passed its
        deadline, so a later one is next: only the summary can tell which). `known`: exact
        next slots the caller read from the summary."""
        fresh = self._offer_next_until >= now
        chosen = np.ones(len(fresh), np.bool_) if matches.offers is None else matches.offers
        first = self._by_listing(
            np.where(chosen & fresh, self._offer_next_at, MICROSECOND_MAX),
            np.minimum,
            MICROSECOND_MAX,
        )
        passed = self._by_listing(
            np.where(chosen & ~fresh, self._offer_next_at, MICROSECOND_MAX),
            np.minimum,
            MICROSECOND_MAX,
        )
        unsure = passed < first
        first = np.minimum(first, passed)
        for listing_id, at in known.items():
            ordinal = self._ordinal[listing_id]
            first[ordinal] = MICROSECOND_MAX if at is None else at
            unsure[ordinal] = False
        return first, unsure

    def soonest(
        self, matches: Matches, count: int, now: int, known: Mapping[uuid.UUID, int | None]
    ) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """The first `count` matches by (next free slot of a matching service, id), those
        with none last; and which of those hold only a lower bound (see _next_slots)."""
        first, unsure = self._next_slots(matches, now, known)
        candidates = np.flatnonzero(matches.found)
        chosen = _first(candidates, [first[candidates], self._id_rank[candidates]], count)
        return self.ids_of(chosen), self.ids_of(chosen[unsure[chosen]])

    def next_available(
        self, matches: Matches, ids: list[uuid.UUID], now: int
    ) -> tuple[dict[uuid.UUID, int | None], list[uuid.UUID]]:
        """The next free slot of a matching service of each of `ids`, and the ids for which
        only the summary can tell (see _next_slots)."""
        slots, unknown = {}, []
        for listing_id in ids:
            ordinal = self._ordinal[listing_id]
            rows = slice(self._offer_start[ordinal], self._offer_end[ordinal])
            chosen = np.ones(rows.stop - rows.start, np.bool_)
            if matches.offers is not None:
                chosen = matches.offers[rows]
            at, until = self._offer_next_at[rows][chosen], self._offer_next_until[rows][chosen]
            first = int(at[until >= now].min(initial=MICROSECOND_MAX))
            if int(at[until < now].min(initial=MICROSECOND_MAX)) < first:
                unknown.append(listing_id)
            else:
                slots[listing_id] = None if first == MICROSECOND_MAX else first
        return slots, unknown

    def distance_of(self, matches: Matches, listing_id: uuid.UUID) -> float | None:
        if matches.distance is None:
            return None
        return float(matches.distance[self._ordinal[listing_id]])


def _first(candidates: np.ndarray, keys: list[np.ndarray], count: int) -> np.ndarray:
    """The `count` candidates that sort first by `keys` (most significant first, ascending).

    Sorting is confined to the candidates that can reach the first `count` on the first key
    (ties included), so a broad search sorts a few thousand values, not every match.
    """
    if count <= 0 or len(candidates) == 0:
        return candidates[:0]
    if len(candidates) > count:
        first = keys[0]
        limit = np.partition(first, count - 1)[count - 1]
        keep = first <= limit
        candidates, keys = candidates[keep], [key[keep] for key in keys]
    order = np.lexsort(tuple(reversed(keys)))
    return candidates[order[:count]]
