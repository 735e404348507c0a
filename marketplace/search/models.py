"""What search reads, as stored: narrow rows rewritten in the same transaction as the change.

Only listings search can return (approved, with at least one active service) have rows.
`index.reindex_listing` writes all four tables of a listing at once; `service` answers every
search with SQL over them.
"""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.extensions import db

DAY_ZERO = date(2000, 1, 1)
# Therapy ids below this have a bit in `SearchListing.therapy_bits` (the taxonomy has about
# twenty); a larger id is matched and counted through `SearchOffer` instead.
THERAPY_BITS = 63
NEUTRAL_RATING = 3.5
# The ranking blend is kept in millionths, so that both backends add and compare integers.
RANK_UNIT = 1_000_000

# Kept by the migrations but not mapped: PostgreSQL's tsvector and its GIN index, the GiST
# index of places, and SQLite's FTS5 table with the shadow tables FTS5 makes.
UNMAPPED_SCHEMA = frozenset(
    {
        "search_vector",
        "ix_search_texts_vector",
        "ix_search_places_point",
        "search_texts_fts",
        "search_texts_fts_data",
        "search_texts_fts_idx",
        "search_texts_fts_content",
        "search_texts_fts_docsize",
        "search_texts_fts_config",
    }
)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: leave the unmapped full-text and geometry machinery alone."""
    return not (reflected and compare_to is None and name in UNMAPPED_SCHEMA)


def day_number(day: date) -> int:
    """A date as a plain integer, so that SQL on either backend can subtract two of them."""
    return (day - DAY_ZERO).days


def therapy_bit(therapy_id: int) -> int:
    return 1 << therapy_id if 0 <= therapy_id < THERAPY_BITS else 0


def rank_base(rating_average: float | None) -> int:
    """The stored part of the relevance blend: minus the rating (unrated counts as neutral),
    in millionths, so that the best rated sort first."""
    rating = NEUTRAL_RATING if rating_average is None else rating_average
    return -round(rating * RANK_UNIT)


class SearchListing(db.Model):
    """A listing as search filters, counts and sorts it: one narrow row."""

    __tablename__ = "search_listings"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    gender: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Language codes, space separated with a space each side: " en fr ".
    languages: so.Mapped[str] = so.mapped_column(sa.String(400))
    telehealth: so.Mapped[bool]
    # One bit per therapy an active service is of (see therapy_bit).
    therapy_bits: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    price_from_cents: so.Mapped[int]
    rating_average: so.Mapped[float | None] = so.mapped_column(sa.Double)
    rating_count: so.Mapped[int]
    rank_base: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    # The first free slot of any active service (what `soonest` and relevance order by; each
    # offer row holds until when its own slot can be booked).
    next_available_at: so.Mapped[datetime | None]
    # The local days with a bookable slot, as a string of 0s and 1s counted from `days_base`
    # (a day_number: the listing's local date when written), of any active service and of
    # every active service's duration.
    days_base: so.Mapped[int]
    days_any: so.Mapped[str] = so.mapped_column(sa.Text)
    days_every: so.Mapped[str] = so.mapped_column(sa.Text)
    # The first two days stay true until the last slot of that day can no longer be booked:
    # until these instants (of any service; of the service that stops first).
    base_day_any_until: so.Mapped[datetime | None]
    base_day_every_until: so.Mapped[datetime | None]
    next_day_any_until: so.Mapped[datetime | None]
    next_day_every_until: so.Mapped[datetime | None]
    # The later days stay true until the first of their last slots can no longer be booked;
    # past that instant search asks the summary itself.
    later_days_until: so.Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_search_listings_rank", "rank_base", "practitioner_id"),
        sa.Index("ix_search_listings_next", "next_available_at", "practitioner_id"),
        sa.Index("ix_search_listings_price", "price_from_cents", "practitioner_id"),
    )


class SearchOffer(db.Model):
    """One active service of a listing: what a therapy and price filter, a cheapest matching
    price and a next slot of a matching service are read from."""

    __tablename__ = "search_offers"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("search_listings.practitioner_id", ondelete="CASCADE"), primary_key=True
    )
    position: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    therapy_id: so.Mapped[int]
    price_cents: so.Mapped[int]
    duration_minutes: so.Mapped[int]
    # Whether this is the listing's cheapest offer of its therapy (the first, on a tie): a
    # listing offers the therapy within a price when that one is within it, so counting
    # listings per therapy counts these rows, without making them distinct.
    cheapest_of_therapy: so.Mapped[bool]
    # The first free slot of this duration, and until when it can be booked.
    next_at: so.Mapped[datetime | None]
    next_until: so.Mapped[datetime | None]

    __table_args__ = (
        sa.Index("ix_search_offers_therapy", "therapy_id", "price_cents", "practitioner_id"),
        # Ordering by a matching offer's next slot or price reads offers in that order.
        sa.Index("ix_search_offers_next", "next_at", "practitioner_id"),
        sa.Index("ix_search_offers_price", "price_cents", "practitioner_id"),
    )


class SearchPlace(db.Model):
    """One active location of a listing. PostgreSQL also indexes it as a point (GiST)."""

    __tablename__ = "search_places"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("search_listings.practitioner_id", ondelete="CASCADE"), primary_key=True
    )
    position: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    latitude: so.Mapped[float] = so.mapped_column(sa.Double)
    longitude: so.Mapped[float] = so.mapped_column(sa.Double)

    __table_args__ = (sa.Index("ix_search_places_latitude", "latitude", "longitude"),)


class SearchText(db.Model):
    """A listing's words as search terms (search.text.terms), a field a column.

    `tag_terms` names the therapies it offers (`t<id>`), which a word of `q` naming a therapy
    finds. Which listings hold a word is found by a full-text index over these columns:
    PostgreSQL's generated, weighted tsvector `search_vector` (name A, headline B, bio C, tags
    D) with a GIN index; on SQLite the FTS5 table `search_texts_fts`, kept by triggers. How
    well a listing matches is then scored from the columns themselves, the same SQL on both.
    """

    __tablename__ = "search_texts"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("search_listings.practitioner_id", ondelete="CASCADE"), primary_key=True
    )
    name_terms: so.Mapped[str] = so.mapped_column(sa.Text)
    headline_terms: so.Mapped[str] = so.mapped_column(sa.Text)
    bio_terms: so.Mapped[str] = so.mapped_column(sa.Text)
    tag_terms: so.Mapped[str] = so.mapped_column(sa.Text)
