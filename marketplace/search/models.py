"""The search index: one document per approved listing, denormalised for filtering."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.extensions import db, utc_now

# Kept in the database by migrations but not mapped: PostgreSQL's generated tsvector column,
# SQLite's FTS5 table (and the shadow tables FTS5 creates). Alembic must not try to drop them.
UNMAPPED_SCHEMA = frozenset(
    {
        "search_vector",
        "search_fts",
        "search_fts_data",
        "search_fts_idx",
        "search_fts_content",
        "search_fts_docsize",
        "search_fts_config",
        "ix_search_texts_vector",
    }
)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: leave the unmapped full-text machinery alone."""
    return not (reflected and compare_to is None and name in UNMAPPED_SCHEMA)


# Therapy ids below this have a bit in `SearchDocument.therapy_mask`; the taxonomy has about
# twenty, so the mask covers any foreseeable one (larger ids fall back to joining services).
MASKED_THERAPY_IDS = 63


def therapy_bit(therapy_id: int) -> int:
    return 1 << therapy_id if therapy_id < MASKED_THERAPY_IDS else 0


# Bookable days as bits, relative to the local date the document was written (its base): bit i
# is base + i. Bits 0 and 1 are never set (today and tomorrow somewhere), and 63 bits fit.
BITMAP_FIRST_OFFSET, BITMAP_DAYS = 2, 63
DAY_ZERO = date(2000, 1, 1)


def day_number(day: date) -> int:
    """A date as a plain integer, so SQL on every backend can subtract two of them."""
    return (day - DAY_ZERO).days


class SearchDocument(db.Model):
    """A listing as search filters, counts and sorts it: narrow, one row per listing.

    Only approved listings with at least one active service have a document.
    """

    __tablename__ = "search_documents"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    gender: so.Mapped[str] = so.mapped_column(sa.String(20))
    languages: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    telehealth: so.Mapped[bool]
    # One bit per therapy offered by an active service (see therapy_bit).
    therapy_mask: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, server_default="0")
    rating_average: so.Mapped[float | None]
    rating_count: so.Mapped[int] = so.mapped_column(default=0)
    # Over every active service; queries filtering services compute their own.
    min_price_cents: so.Mapped[int | None] = so.mapped_column(sa.BigInteger, index=True)
    next_available_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    # `next_available_at` less the minimum notice: until then it is still the next slot.
    next_bookable_until: so.Mapped[datetime | None]
    # `available_on` without service filters: see BITMAP_*; trusted until `bookable_days_until`.
    bookable_days_base: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    bookable_days: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, server_default="0")
    bookable_days_until: so.Mapped[datetime | None]
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utc_now, onupdate=utc_now)


class SearchText(db.Model):
    """A listing's searchable words: normalised terms per field (see search.text.terms).

    Kept apart from SearchDocument so that scans for counts and facets stay narrow. PostgreSQL
    adds a generated, weighted tsvector with a GIN index; SQLite keeps an FTS5 table.
    """

    __tablename__ = "search_texts"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    name_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    headline_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    tag_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    bio_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
