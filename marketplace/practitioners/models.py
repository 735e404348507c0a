"""Listings: a practitioner's profile, locations and services, and the review state machine."""

import enum
import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.ext.hybrid import hybrid_property

from marketplace.accounts.models import User
from marketplace.catalog.models import TherapyType
from marketplace.db import utc_now, value_enum
from marketplace.errors import InvalidTransition
from marketplace.extensions import db


class ListingStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non_binary"
    UNDISCLOSED = "undisclosed"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


# The review workflow: (from, action) -> to. Anything else is a 409.
TRANSITIONS: dict[tuple[ListingStatus, str], ListingStatus] = {
    (ListingStatus.DRAFT, "submit"): ListingStatus.PENDING,
    (ListingStatus.REJECTED, "submit"): ListingStatus.PENDING,
    (ListingStatus.PENDING, "approve"): ListingStatus.APPROVED,
    (ListingStatus.PENDING, "reject"): ListingStatus.REJECTED,
    (ListingStatus.APPROVED, "suspend"): ListingStatus.SUSPENDED,
    (ListingStatus.SUSPENDED, "reinstate"): ListingStatus.APPROVED,
}


class Practitioner(db.Model):
    """A practitioner's listing, owned by one practitioner user."""

    __tablename__ = "practitioners"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="RESTRICT"), unique=True
    )
    slug: so.Mapped[str] = so.mapped_column(sa.String(140), unique=True)
    display_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    headline: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    bio: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    profession: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    registration_body: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    registration_number: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    gender: so.Mapped[Gender] = so.mapped_column(value_enum(Gender), default=Gender.UNDISCLOSED)
    languages: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=lambda: ["en"])
    telehealth: so.Mapped[bool] = so.mapped_column(default=False)
    timezone: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    slot_interval_minutes: so.Mapped[int] = so.mapped_column(default=15)
    buffer_before_minutes: so.Mapped[int] = so.mapped_column(default=0)
    buffer_after_minutes: so.Mapped[int] = so.mapped_column(default=0)
    min_notice_minutes: so.Mapped[int] = so.mapped_column(default=120)
    horizon_days: so.Mapped[int] = so.mapped_column(default=60)
    free_cancellation_hours: so.Mapped[int] = so.mapped_column(default=24)
    late_cancellation_fee_percent: so.Mapped[int] = so.mapped_column(default=50)

    # The secret in the private iCalendar feed link; rotating it kills the old link.
    calendar_token: so.Mapped[str | None] = so.mapped_column(
        sa.String(64), unique=True, index=True, default=new_calendar_token
    )

    stripe_account_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    charges_enabled: so.Mapped[bool] = so.mapped_column(default=False)

    status: so.Mapped[ListingStatus] = so.mapped_column(
        value_enum(ListingStatus), default=ListingStatus.DRAFT, index=True
    )
    status_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    submitted_at: so.Mapped[datetime | None]
    reviewed_at: so.Mapped[datetime | None]
    reviewed_by_id: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    rating_average: so.Mapped[float | None]
    rating_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utc_now, onupdate=utc_now)

    owner: so.Mapped[User] = so.relationship(foreign_keys=[owner_id])
    locations: so.Mapped[list["Location"]] = so.relationship(
        primaryjoin="and_(Practitioner.id == Location.practitioner_id, "
        "Location.deleted_at.is_(None))",
        order_by="Location.created_at",
        viewonly=True,
    )
    services: so.Mapped[list["Service"]] = so.relationship(
        primaryjoin="and_(Practitioner.id == Service.practitioner_id, "
        "Service.deleted_at.is_(None))",
        order_by="Service.created_at",
        viewonly=True,
    )

    __table_args__ = (
        sa.CheckConstraint("slot_interval_minutes BETWEEN 5 AND 240", name="slot_interval"),
        sa.CheckConstraint(
            "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers"
        ),
        sa.CheckConstraint(
            "late_cancellation_fee_percent BETWEEN 0 AND 100", name="late_cancellation_fee"
        ),
    )

    @hybrid_property
    def is_public(self) -> bool:
        """Shown to the public (search, profile, slots) and bookable: approved."""
        return self.status is ListingStatus.APPROVED

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status == ListingStatus.APPROVED

    def can(self, action: str) -> bool:
        return (self.status, action) in TRANSITIONS

    def transition(self, action: str) -> ListingStatus:
        """Move along the review workflow, or raise InvalidTransition (409)."""
        try:
            self.status = TRANSITIONS[(self.status, action)]
        except KeyError:
            raise InvalidTransition(
                f"{_with_article(self.status.value).capitalize()} listing cannot be "
                f"{action_past_tense(action)}."
            ) from None
        return self.status

    @property
    def active_services(self) -> list["Service"]:
        return [service for service in self.services if service.active]

    @property
    def offered_therapies(self) -> list[TherapyType]:
        therapies = {
            service.therapy_type.slug: service.therapy_type for service in self.active_services
        }
        return sorted(therapies.values(), key=lambda therapy: therapy.name)

    def __repr__(self) -> str:
        return f"<Practitioner {self.slug} {self.status}>"


def _with_article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def action_past_tense(action: str) -> str:
    return {
        "submit": "submitted",
        "approve": "approved",
        "reject": "rejected",
        "suspend": "suspended",
        "reinstate": "reinstated",
    }.get(action, action)


class Location(db.Model):
    """A place a practitioner sees patients."""

    __tablename__ = "locations"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    address: so.Mapped[str] = so.mapped_column(sa.String(255))
    suburb: so.Mapped[str] = so.mapped_column(sa.String(120))
    state: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    postcode: so.Mapped[str] = so.mapped_column(sa.String(12), default="")
    country: so.Mapped[str] = so.mapped_column(sa.String(2), default="AU")
    latitude: so.Mapped[float]
    longitude: so.Mapped[float]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    # Bookings keep pointing at a removed location, so removal only hides it.
    deleted_at: so.Mapped[datetime | None]

    practitioner: so.Mapped[Practitioner] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
    )


class Service(db.Model):
    """Something bookable: a therapy type, a duration and a price."""

    __tablename__ = "services"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    practitioner_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("practitioners.id", ondelete="CASCADE"), index=True
    )
    therapy_type_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("therapy_types.id", ondelete="RESTRICT"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    duration_minutes: so.Mapped[int]
    price_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    # Bookings keep pointing at a removed service, so removal only hides it.
    deleted_at: so.Mapped[datetime | None]

    practitioner: so.Mapped[Practitioner] = so.relationship()
    therapy_type: so.Mapped[TherapyType] = so.relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration"),
        sa.CheckConstraint("price_cents >= 0", name="price"),
    )

    @property
    def therapy(self) -> str:
        return self.therapy_type.slug

    @hybrid_property
    def is_offered(self) -> bool:
        """Active and not removed: bookable, and what search lists."""
        return self.active and self.deleted_at is None

    @is_offered.inplace.expression
    @classmethod
    def _is_offered_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.active, cls.deleted_at.is_(None))
