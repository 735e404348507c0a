"""The search index as stored: one document per listing, and the log that orders their changes.

A document holds everything search filters, counts and sorts a listing by, denormalised by
`index.reindex_listing` in the same transaction as whatever changed it. Each worker keeps the
documents in memory (see `engine`) and catches up with the committed changes before every
search, by revision (see `sync`).
"""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace.db import utc_now
from marketplace.extensions import db

DAY_ZERO = date(2000, 1, 1)


def day_number(day: date) -> int:
    """A date as a plain integer, so that bookable days can be bits of one number."""
    return (day - DAY_ZERO).days


class SearchDocument(db.Model):
    """A listing as search sees it. A listing that leaves search keeps its row, unlisted, so
    that every worker's copy learns it is gone."""

    __tablename__ = "search_documents"

    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), primary_key=True
    )
    # The search change that last wrote this row (see SearchChange).
    revision: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, index=True)
    # Approved, with at least one active service: the only listings search returns.
    listed: so.Mapped[bool] = so.mapped_column(default=False)
    gender: so.Mapped[str] = so.mapped_column(sa.String(20), default="")
    languages: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    telehealth: so.Mapped[bool] = so.mapped_column(default=False)
    rating_average: so.Mapped[float | None]
    rating_count: so.Mapped[int] = so.mapped_column(default=0)
    # [therapy id, price in cents, minutes] of each active service.
    offers: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # [minutes, first free slot, until when it can be booked] of each active duration with a
    # free slot in the horizon (instants in microseconds since 1970), from the summary.
    next_slots: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # [latitude, longitude] of each active location.
    places: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # Normalised words (search.text.terms) of the name, the headline and profession, the bio.
    name_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    headline_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    bio_terms: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    # From the availability summary: the local days with a bookable slot, as bits (in
    # hexadecimal) counted from `days_base` (the listing's local date when written), of any
    # service, and of every service's duration.
    days_base: so.Mapped[int] = so.mapped_column(default=0)
    days_any: so.Mapped[str] = so.mapped_column(sa.Text, default="0")
    days_every: so.Mapped[str] = so.mapped_column(sa.Text, default="0")
    # The bits of days_base and the day after stay true until the last slot of that day can no
    # longer be booked: until these instants (of any service; of the service that stops first).
    base_day_any_until: so.Mapped[datetime | None]
    base_day_every_until: so.Mapped[datetime | None]
    next_day_any_until: so.Mapped[datetime | None]
    next_day_every_until: so.Mapped[datetime | None]
    # The later bits stay true until the first of those days' last slots can no longer be
    # booked; past that instant search asks the summary itself.
    later_days_until: so.Mapped[datetime | None]
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utc_now, onupdate=utc_now)


class SearchChange(db.Model):
    """One committed transaction that changed documents: revisions grow in commit order.

    The token tells a worker whether the revision it last read is still the one committed (a
    transaction it saw may have been rolled back, and its number reused).
    """

    __tablename__ = "search_changes"

    revision: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    token: so.Mapped[str] = so.mapped_column(sa.String(32))
    committed_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)


class SearchState(db.Model):
    """A single row whose lock hands out revisions in commit order."""

    __tablename__ = "search_state"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    revision: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
