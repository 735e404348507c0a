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
from datetime import UTC, datetime, timedelta

import numpy as np

from marketplace.search.geo import bounding_box, haversine_km

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
# When located, every this many kilometres away weigh as much as one star of rating (or as
# being free this week): near enough that the nearest relevant practitioners lead.
KM_PER_POINT = 2.0
SOON_MICROSECONDS = 7 * 24 * 3600 * 10**6
SORTS = ("relevance", "distance", "price", "rating", "soonest")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds(instant: datetime | None) -> int | None:
    """An instant as the index holds it: microseconds since 1970 (None stays None)."""
    return None if instant is None else (instant - _EPOCH) // _MICROSECOND


def instant(microseconds: int) -> datetime:
    """The aware UTC datetime of microseconds since 1970."""
    return _EPOCH + microseconds * _MICROSECOND


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
class Named:
    """A condition that `q` names. A listing that treats it (offers one of `therapies`) and
    names it in its own text (holds every term of one of `phrases`: the condition's name and
    synonyms) ranks before those that match `q` otherwise."""

    therapies: frozenset[int]
    phrases: tuple[tuple[str, ...], ...]


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
    named: tuple[Named, ...] = ()  # conditions `terms` name (ranking only)
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
    # Per ordinal, how many of the conditions `q` names it treats and names (see Named).
    named: np.ndarray | None = None


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

    def replace(self, changes: Sequence[tuple[int, dict[str, int], dict[str, int]]]) -> None:
        """(ordinal, its terms before, its terms now) of changed documents, rewriting each
        term's postings once."""
        removed: dict[str, set[int]] = {}
        added: dict[str, list[tuple[int, int]]] = {}
        for ordinal, old, new in changes:
            for term, bits in old.items():
                if new.get(term) != bits:
                    removed.setdefault(term, set()).add(ordinal)
            for term, bits in new.items():
                if old.get(term) != bits:
                    added.setdefault(term, []).append((ordinal, bits))
        for term in removed.keys() | added.keys():
            ordinals = self._ordinals.get(term, np.zeros(0, np.int64))
            fields = self._fields.get(term, np.zeros(0, np.int8))
            if term in removed:
                keep = ~np.isin(ordinals, list(removed[term]))
                ordinals, fields = ordinals[keep], fields[keep]
            if term in added:
                more = np.array(added[term], np.int64)
                ordinals = np.concatenate([ordinals, more[:, 0]])
                fields = np.concatenate([fields, more[:, 1].astype(np.int8)])
                order = np.argsort(ordinals, kind="stable")
                ordinals, fields = ordinals[order], fields[order]
            if len(ordinals):
                if term not in self._ordinals:
                    insort(self._vocabulary, term)
                self._ordinals[term], self._fields[term] = ordinals, fields
            elif term in self._ordinals:
                del self._ordinals[term], self._fields[term]
                self._vocabulary.pop(bisect_left(self._vocabulary, term))

    def knows(self, prefix: str) -> bool:
        """Whether some document holds a word that starts with `prefix`."""
        at = bisect_left(self._vocabulary, prefix)
        return at < len(self._vocabulary) and self._vocabulary[at].startswith(prefix)

    def holders(self, term: str, size: int) -> np.ndarray:
        """Per ordinal, whether the document holds exactly `term`."""
        held = np.zeros(size, np.bool_)
        held[self._ordinals.get(term, np.zeros(0, np.int64))] = True
        return held

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


class _Offers:
    """Every listing's services as rows, one contiguous segment a listing: what matching and
    ranking by service (therapy, price, next slot) read, a segment reduced at a time.

    A listing whose services change takes a new segment at the end and leaves its old one
    dead (reduced into a slot no listing reads), until dead rows make a quarter of all and
    the rows are packed again: an edit costs a copy of the arrays, not a rebuild.
    """

    _ROWS = ("therapy", "price", "minutes", "next_at", "next_until", "owner", "therapy_row")
    # Dead rows are packed away when there are more than this, and a quarter of all rows.
    PACK_AFTER = 1024

    def __init__(self) -> None:
        for name in self._ROWS:
            setattr(self, name, np.zeros(0, np.int64))
        self.live = np.zeros(0, np.bool_)
        self.segment_start = np.zeros(0, np.int64)
        self.segment_owner = np.zeros(0, np.int64)  # -1: dead
        self.span: dict[int, tuple[int, int]] = {}  # ordinal -> its live rows
        self.dead = 0
        self.row_of: dict[int, int] = {}  # therapy id -> row of `offered`
        self.offered = np.zeros((0, 0), np.bool_)  # therapy row x ordinal

    def load(self, documents: Sequence[Document | None], capacity: int) -> None:
        self.__init__()
        listed = [(o, doc) for o, doc in enumerate(documents) if doc is not None and doc.offers]
        therapy_ids = sorted({offer[0] for _o, doc in listed for offer in doc.offers})
        self.row_of = {therapy_id: row for row, therapy_id in enumerate(therapy_ids)}
        self.offered = np.zeros((len(therapy_ids), capacity), np.bool_)
        self._append(listed)

    @property
    def needs_packing(self) -> bool:
        return self.dead > max(self.PACK_AFTER, len(self.owner) // 4)

    def replace(self, documents: Sequence[tuple[int, Document]]) -> None:
        """(ordinal, document) of listings whose services changed: rows rewritten in place
        where their number stays, else a new segment each, all appended at once."""
        appended = []
        for ordinal, document in documents:
            start, end = self.span.get(ordinal, (0, 0))
            if end > start and end - start == len(document.offers):
                self._write(slice(start, end), ordinal, document)
                continue
            if end > start:
                self.segment_owner[np.searchsorted(self.segment_start, start)] = -1
                self.live[start:end] = False
                self.dead += end - start
                del self.span[ordinal]
            if document.offers:
                appended.append((ordinal, document))
        self._append(appended)
        for ordinal, document in documents:
            rows = [self._therapy_row(t) for t, _price, _minutes in document.offers]
            self.offered[:, ordinal] = False
            self.offered[rows, ordinal] = True

    def _append(self, documents: list[tuple[int, Document]]) -> None:
        if not documents:
            return
        counts = np.array([len(doc.offers) for _o, doc in documents], np.int64)
        first = len(self.owner)
        starts = first + np.cumsum(counts) - counts
        table = np.array([offer for _o, doc in documents for offer in doc.offers], np.int64)
        owners = np.array([o for o, _doc in documents], np.int64)
        added = {
            "therapy": table[:, 0],
            "price": table[:, 1],
            "minutes": table[:, 2],
            "next_at": np.full(len(table), MICROSECOND_MAX, np.int64),
            "next_until": np.full(len(table), MICROSECOND_MAX, np.int64),
            "owner": np.repeat(owners, counts),
            "therapy_row": np.array([self._therapy_row(t) for t in table[:, 0]], np.int64),
        }
        for name in self._ROWS:
            setattr(self, name, np.concatenate([getattr(self, name), added[name]]))
        self.live = np.concatenate([self.live, np.ones(len(table), np.bool_)])
        self.segment_start = np.concatenate([self.segment_start, starts])
        self.segment_owner = np.concatenate([self.segment_owner, owners])
        for (o, doc), start, count in zip(documents, starts.tolist(), counts.tolist(), strict=True):
            self.span[o] = (start, start + count)
            self.fill_next_slots(o, doc)
        self.offered[added["therapy_row"], added["owner"]] = True

    def _write(self, rows: slice, ordinal: int, document: Document) -> None:
        table = np.array(document.offers, np.int64)
        self.therapy[rows], self.price[rows], self.minutes[rows] = table.T
        self.therapy_row[rows] = [self._therapy_row(t) for t in table[:, 0].tolist()]
        self.fill_next_slots(ordinal, document)

    def _therapy_row(self, therapy_id: int) -> int:
        row = self.row_of.get(therapy_id)
        if row is None:
            row = self.row_of[therapy_id] = len(self.row_of)
            self.offered = np.vstack([self.offered, np.zeros((1, self.offered.shape[1]), bool)])
        return row

    def grow(self, capacity: int) -> None:
        grown = np.zeros((self.offered.shape[0], capacity), np.bool_)
        grown[:, : self.offered.shape[1]] = self.offered
        self.offered = grown

    def fill_next_slots(self, ordinal: int, document: Document) -> None:
        """Each of the listing's rows: its duration's next free slot and until when it holds."""
        slots = {minutes: (at, until) for minutes, at, until in document.next_slots}
        start, end = self.span.get(ordinal, (0, 0))
        for row in range(start, end):
            at, until = slots.get(int(self.minutes[row]), (MICROSECOND_MAX, MICROSECOND_MAX))
            self.next_at[row], self.next_until[row] = at, until

    def rows_of(self, therapy_ids: Iterable[int]) -> np.ndarray:
        """Per row, whether it is of one of `therapy_ids`."""
        wanted = np.zeros(len(self.row_of), np.bool_)
        wanted[[self.row_of[t] for t in therapy_ids if t in self.row_of]] = True
        return wanted[self.therapy_row]

    def offering(self, therapy_ids: Iterable[int], size: int) -> np.ndarray:
        """Per ordinal, whether the listing offers one of `therapy_ids`."""
        rows = [self.row_of[t] for t in therapy_ids if t in self.row_of]
        if not rows:
            return np.zeros(size, np.bool_)
        return self.offered[rows, :size].any(axis=0)

    def by_listing(self, values: np.ndarray, reduce: np.ufunc, empty, size: int) -> np.ndarray:
        """Per ordinal, `reduce` over its live rows' `values` (`empty` for none)."""
        result = np.full(size + 1, empty, dtype=values.dtype)
        if len(self.segment_start):
            target = np.where(self.segment_owner >= 0, self.segment_owner, size)
            result[target] = reduce.reduceat(values, self.segment_start)
        return result[:size]

    def next_slots(
        self, rows: slice, chosen: np.ndarray | None, now: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of `rows` (their `chosen` ones; all when None): the next free slots still bookable
        at `now`, and those past their deadline (a later slot of that day or the next is the
        next one, which only the summary can tell); MICROSECOND_MAX for the others."""
        at, until = self.next_at[rows], self.next_until[rows]
        bookable = until >= now
        passed = ~bookable
        if chosen is not None:
            bookable, passed = bookable & chosen, passed & chosen
        return np.where(bookable, at, MICROSECOND_MAX), np.where(passed, at, MICROSECOND_MAX)

    def earliest(
        self, chosen: np.ndarray | None, now: int, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per ordinal: the next free slot of its `chosen` rows (all when None), and whether
        that is only a lower bound (see next_slots)."""
        bookable, passed = self.next_slots(slice(None), chosen, now)
        first = self.by_listing(bookable, np.minimum, MICROSECOND_MAX, size)
        lower = self.by_listing(passed, np.minimum, MICROSECOND_MAX, size)
        return np.minimum(first, lower), lower < first


class _Places:
    """Every listing's locations by latitude: a bounding box is two binary searches away."""

    def __init__(self) -> None:
        self.lat = np.zeros(0)
        self.lng = np.zeros(0)
        self.owner = np.zeros(0, np.int64)

    def load(self, documents: Sequence[Document | None]) -> None:
        rows = [
            (lat, lng, o)
            for o, doc in enumerate(documents)
            if doc is not None
            for lat, lng in doc.places
        ]
        table = np.array(rows, np.float64).reshape(-1, 3)
        order = np.argsort(table[:, 0], kind="stable")
        self.lat, self.lng = table[order, 0], table[order, 1]
        self.owner = table[order, 2].astype(np.int64)

    def replace(self, documents: Sequence[tuple[int, Document]]) -> None:
        """(ordinal, document) of listings whose locations changed."""
        keep = ~np.isin(self.owner, [ordinal for ordinal, _doc in documents])
        added = np.array(
            [(lat, lng, o) for o, doc in documents for lat, lng in doc.places], np.float64
        ).reshape(-1, 3)
        added = added[np.argsort(added[:, 0], kind="stable")]
        lat, lng, owner = self.lat[keep], self.lng[keep], self.owner[keep]
        at = np.searchsorted(lat, added[:, 0], side="right")
        self.lat = np.insert(lat, at, added[:, 0])
        self.lng = np.insert(lng, at, added[:, 1])
        self.owner = np.insert(owner, at, added[:, 2].astype(np.int64))

    def distances(self, near: Near, size: int) -> np.ndarray:
        """Per ordinal, the distance of its nearest location within the bounding box of the
        circle (else infinity)."""
        (min_lat, max_lat), lng_ranges = bounding_box(near.lat, near.lng, near.radius_km)
        low = np.searchsorted(self.lat, min_lat, side="left")
        high = np.searchsorted(self.lat, max_lat, side="right")
        lat, lng = self.lat[low:high], self.lng[low:high]
        inside = np.zeros(len(lat), np.bool_)
        for west, east in lng_ranges:
            inside |= (lng >= west) & (lng <= east)
        km = haversine_km(near.lat, near.lng, lat[inside], lng[inside])
        distance = np.full(size, np.inf)
        np.minimum.at(distance, self.owner[low:high][inside], km)
        return distance


class SearchIndex:
    """The documents, by ordinal (the order they were first seen; never reused). A listing
    that leaves search keeps its ordinal and its last document, unlisted: every answer starts
    from the listed ones, so nothing derived needs mending."""

    FIRST_CAPACITY = 1024
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
        self._ids: list[uuid.UUID] = []
        self._ordinal: dict[uuid.UUID, int] = {}
        self._documents: list[Document | None] = []
        self._genders: dict[str, int] = {}
        self._capacity = 0
        self._columns: dict[str, np.ndarray] = {}
        self._days_any = np.zeros((0, DAY_WORDS), np.uint64)
        self._days_every = np.zeros((0, DAY_WORDS), np.uint64)
        self._offers = _Offers()
        self._places = _Places()
        self._postings = _Postings()
        self._speakers: dict[str, np.ndarray] = {}
        self._id_rank: np.ndarray | None = None
        self._grow(self.FIRST_CAPACITY)

    # --- keeping up with the documents -----------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._ids)

    def load(self, documents: Iterable[Document]) -> None:
        """Start over from these documents (every listed one)."""
        self.__init__()
        for document in documents:
            self._put(document)
        self._offers.load(self._documents, self._capacity)
        self._places.load(self._documents)
        self._postings.load([term_fields(doc.texts) if doc else {} for doc in self._documents])

    def apply(self, listed: Iterable[Document], unlisted: Iterable[uuid.UUID]) -> None:
        """Changes since the last load or apply. What derives from them (services, places,
        postings) is mended once for all of them. Should this fail halfway, only a load
        makes the index whole again."""
        offers, places, texts = [], [], []
        for doc in {doc.id: doc for doc in listed}.values():  # a listing's last document
            ordinal, old = self._put(doc)
            if old is None or old.texts != doc.texts:
                before = term_fields(old.texts) if old else {}
                texts.append((ordinal, before, term_fields(doc.texts)))
            if old is None or old.offers != doc.offers:
                offers.append((ordinal, doc))
            elif old.next_slots != doc.next_slots:
                self._offers.fill_next_slots(ordinal, doc)
            if old is None or old.places != doc.places:
                places.append((ordinal, doc))
            for language, speakers in self._speakers.items():
                speakers[ordinal] = language in doc.languages
        for listing_id in unlisted:
            ordinal = self._ordinal.get(listing_id)
            if ordinal is not None:
                self._columns["listed"][ordinal] = False
        self._postings.replace(texts)
        self._offers.replace(offers)
        if self._offers.needs_packing:
            self._offers.load(self._documents, self._capacity)
        if places:
            self._places.replace(places)

    def _put(self, doc: Document) -> tuple[int, Document | None]:
        """Store the document and its columns: (its ordinal, the document it replaces)."""
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
            self._id_rank = None
        old = self._documents[ordinal]
        self._documents[ordinal] = doc
        columns, days = self._columns, doc.days
        columns["listed"][ordinal] = True
        columns["gender"][ordinal] = self._genders.setdefault(doc.gender, len(self._genders))
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
        return ordinal, old

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
        self._offers.grow(capacity)
        self._speakers = {}
        self._capacity = capacity

    def _col(self, name: str) -> np.ndarray:
        return self._columns[name][: self.size]

    def _speaking(self, language: str) -> np.ndarray:
        speakers = self._speakers.get(language)
        if speakers is None:
            speakers = np.zeros(self._capacity, np.bool_)
            speakers[: self.size] = [
                doc is not None and language in doc.languages for doc in self._documents
            ]
            self._speakers[language] = speakers
        return speakers[: self.size]

    def _rank(self) -> np.ndarray:
        """Each ordinal's place in id order: ties break by ascending id, as UUIDs compare (and
        as the databases sort them)."""
        if self._id_rank is None:
            self._id_rank = np.empty(self.size, np.int64)
            order = np.lexsort((self._col("id_low"), self._col("id_high")))
            self._id_rank[order] = np.arange(self.size)
        return self._id_rank

    # --- matching -----------------------------------------------------------------------------

    def match(self, criteria: Criteria, now: int) -> Matches:
        """Everything that holds for `criteria` at `now` (microseconds)."""
        size, offers_table = self.size, self._offers
        found = self._col("listed").copy()
        offers = None
        if criteria.filters_services:
            offers = offers_table.live.copy()
            if criteria.therapies is not None:
                offers &= offers_table.rows_of(criteria.therapies)
            if criteria.price_max is not None:
                offers &= offers_table.price <= criteria.price_max
            found &= offers_table.by_listing(offers, np.logical_or, False, size)
        if criteria.gender is not None:
            found &= self._col("gender") == self._genders.get(criteria.gender, -1)
        if criteria.telehealth is not None:
            found &= self._col("telehealth") == criteria.telehealth
        if criteria.language is not None:
            found &= self._speaking(criteria.language)
        score = None
        if criteria.terms:
            score = np.zeros(size, np.int64)
            for term in criteria.terms:
                tagged = offers_table.offering(term.tag_therapies, size)
                fields = self._postings.fields_of(term.prefix, size)
                found &= tagged | (fields != 0)
                score += TAG_WEIGHT * tagged + fields
        named = None
        if criteria.terms and criteria.named:
            named = np.zeros(size, np.int64)
            for condition in criteria.named:
                named += self._naming(condition)
        distance = None
        if criteria.near is not None:
            distance = self._places.distances(criteria.near, size)
            found &= distance <= criteria.near.radius_km
        undecided = np.zeros(0, np.int64)
        if criteria.available_on is not None:
            yes, unknown = self._available_on(
                criteria.available_on, now, every=criteria.filters_services
            )
            undecided = np.flatnonzero(found & unknown)
            found &= yes
        return Matches(found, undecided, offers, score, distance, named)

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
        # A day with a bit whose deadline may have passed: the summary decides. A day without
        # one had no bookable slot when written; days entering the horizon since wait, as in
        # the summary itself, for `refresh-availability`.
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

    def knows(self, prefix: str) -> bool:
        """Whether some listed document holds a word starting with `prefix` (a word of `q`
        that none does is worth correcting)."""
        return self._postings.knows(prefix)

    def _naming(self, named: Named) -> np.ndarray:
        """Per ordinal, whether the listing treats and names the condition (see Named)."""
        says = np.zeros(self.size, np.bool_)
        for phrase in named.phrases:
            held = np.ones(self.size, np.bool_)
            for term in phrase:
                held &= self._postings.holders(term, self.size)
            says |= held
        return says & self._offers.offering(named.therapies, self.size)

    def ids_of(self, ordinals: Iterable[int]) -> list[uuid.UUID]:
        return [self._ids[o] for o in ordinals]

    # --- counting --------------------------------------------------------------------------

    def counts(
        self, matches: Matches, facet_therapies: Iterable[int]
    ) -> tuple[int, dict[str, int], dict[int, int]]:
        """(total, listings per gender, listings per therapy of a matching service)."""
        found, offers = matches.found, self._offers
        per_gender = np.bincount(self._col("gender")[found], minlength=len(self._genders))
        genders = {name: int(per_gender[code]) for name, code in self._genders.items()}
        wanted = [t for t in facet_therapies if t in offers.row_of]
        rows = [offers.row_of[t] for t in wanted]
        if matches.offers is None:
            offering = offers.offered[rows, : self.size]
        else:
            chosen = matches.offers & found[offers.owner]
            offering = np.zeros((len(offers.row_of), self.size), np.bool_)
            offering[offers.therapy_row[chosen], offers.owner[chosen]] = True
            offering = offering[rows]
        per_therapy = np.count_nonzero(offering & found, axis=1)
        therapies = {t: int(n) for t, n in zip(wanted, per_therapy, strict=True) if n}
        total = int(np.count_nonzero(found))
        return total, {name: n for name, n in genders.items() if n}, therapies

    # --- ordering --------------------------------------------------------------------------

    def top(
        self, matches: Matches, sort: str, count: int, now: int, near: Near | None
    ) -> list[uuid.UUID]:
        """The first `count` matches in `sort` order (all but soonest; ties by id)."""
        candidates = np.flatnonzero(matches.found)
        rank = self._rank()[candidates]
        trim = None
        if sort == "distance":
            keys = [matches.distance[candidates]]
        elif sort == "rating":
            rating = self._col("rating")[candidates]
            unrated_last = np.where(np.isnan(rating), np.inf, -rating)
            keys = [unrated_last, -self._col("rating_count")[candidates]]
        elif sort == "price":
            keys = [self._cheapest(matches)[candidates]]
        else:
            keys, trim = self._relevance(matches, candidates, now, near)
        return self.ids_of(_first(candidates, [*keys, rank], count, trim))

    def _relevance(
        self, matches: Matches, candidates: np.ndarray, now: int, near: Near | None
    ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """With text: first the listings that treat and name the conditions `q` names (most
        first), then the text score; then, and without text alone, a blend of how well rated
        the listing is, whether it can see the patient this week, and (when located) how near
        it is. Also one key that orders as all of them do, to find the first few by."""
        rating = self._col("rating")[candidates]
        next_at = self._col("next_available_at")[candidates]
        soon = (next_at >= now) & (next_at < now + SOON_MICROSECONDS)
        blend = np.where(np.isnan(rating), NEUTRAL_RATING, rating) + np.where(soon, 1.0, 0.0)
        if near is not None:
            # To the metre: the last bits of a distance depend on how numpy computed it.
            blend = blend - np.round(matches.distance[candidates], 3) / KM_PER_POINT
        # Equal blends tie (then break by id) rather than differ in their last bits.
        blend = np.round(blend, 6)
        if matches.score is None:
            return [-blend], None
        keys = [-matches.score[candidates], -blend]
        trim = _combined(-matches.score[candidates], -blend)
        if matches.named is not None:
            keys.insert(0, -matches.named[candidates])
            trim = _combined(-matches.named[candidates], trim)
        return keys, trim

    def _cheapest(self, matches: Matches) -> np.ndarray:
        """Per ordinal, the price of its cheapest matching service."""
        prices = self._offers.price
        if matches.offers is not None:
            prices = np.where(matches.offers, prices, np.iinfo(np.int64).max)
        return self._offers.by_listing(prices, np.minimum, np.iinfo(np.int64).max, self.size)

    def soonest(
        self, matches: Matches, count: int, now: int, known: Mapping[uuid.UUID, int | None]
    ) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """The first `count` matches by (next free slot of a matching service, id), those
        with none last; and which of those the index knows only a lower bound of: its stored
        slot has passed its deadline, so a later one is next, which only the summary can
        tell. `known`: such exact next slots, read from the summary."""
        first, unsure = self._offers.earliest(matches.offers, now, self.size)
        for listing_id, at in known.items():
            ordinal = self._ordinal[listing_id]
            first[ordinal] = MICROSECOND_MAX if at is None else at
            unsure[ordinal] = False
        candidates = np.flatnonzero(matches.found)
        chosen = _first(candidates, [first[candidates], self._rank()[candidates]], count)
        return self.ids_of(chosen), self.ids_of(chosen[unsure[chosen]])

    def next_available(
        self, matches: Matches, ids: list[uuid.UUID], now: int
    ) -> tuple[dict[uuid.UUID, int | None], list[uuid.UUID]]:
        """The next free slot of a matching service of each of `ids` (None: none), and those
        the index knows only a lower bound of (see soonest)."""
        slots, unsure = {}, []
        for listing_id in ids:
            rows = slice(*self._offers.span.get(self._ordinal[listing_id], (0, 0)))
            chosen = None if matches.offers is None else matches.offers[rows]
            bookable, passed = self._offers.next_slots(rows, chosen, now)
            first = int(bookable.min(initial=MICROSECOND_MAX))
            if int(passed.min(initial=MICROSECOND_MAX)) < first:
                unsure.append(listing_id)
            else:
                slots[listing_id] = None if first == MICROSECOND_MAX else first
        return slots, unsure

    def distance_of(self, matches: Matches, listing_id: uuid.UUID) -> float | None:
        if matches.distance is None:
            return None
        return float(matches.distance[self._ordinal[listing_id]])


def _combined(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """One key ordering as (major, minor) do: major scaled past the whole spread of minor."""
    if not len(minor):
        return major.astype(np.float64)
    return major * (float(np.ptp(minor)) + 1.0) + minor


def _first(
    candidates: np.ndarray, keys: list[np.ndarray], count: int, trim: np.ndarray | None = None
) -> np.ndarray:
    """The `count` candidates that sort first by `keys` (most significant first, ascending).

    Sorting is confined to the candidates that can reach the first `count` by `trim` (a key
    that orders no pair against `keys`; the first key by default), ties included, so a broad
    search sorts a few thousand values, not every match.
    """
    if count <= 0 or len(candidates) == 0:
        return candidates[:0]
    if len(candidates) > count:
        first = keys[0] if trim is None else trim
        limit = np.partition(first, count - 1)[count - 1]
        keep = first <= limit
        candidates, keys = candidates[keep], [key[keep] for key in keys]
    order = np.lexsort(tuple(reversed(keys)))
    return candidates[order[:count]]
