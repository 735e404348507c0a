"""Every feature's models, imported in one place so metadata (and Alembic) sees all tables."""

from marketplace.accounts.models import ApiToken, User
from marketplace.admin.models import AuditEntry
from marketplace.availability.models import (
    AvailabilityDay,
    AvailabilityRule,
    DateOverride,
    OverrideWindow,
    TimeOff,
)
from marketplace.bookings.models import Booking
from marketplace.catalog.models import Condition, TherapyType
from marketplace.notifications.models import OutboxMessage
from marketplace.payments.models import PaymentEvent
from marketplace.practitioners.models import Location, Practitioner, Service
from marketplace.search.models import SearchListing, SearchOffer, SearchPlace, SearchText

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AvailabilityDay",
    "AvailabilityRule",
    "Booking",
    "Condition",
    "DateOverride",
    "Location",
    "OutboxMessage",
    "OverrideWindow",
    "PaymentEvent",
    "Practitioner",
    "SearchListing",
    "SearchOffer",
    "SearchPlace",
    "SearchText",
    "Service",
    "TherapyType",
    "TimeOff",
    "User",
]
