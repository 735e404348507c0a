"""Every feature's models, imported in one place so metadata (and Alembic) sees all tables."""

from marketplace.accounts.models import ApiToken, User
from marketplace.admin.models import AuditEntry
from marketplace.catalog.models import Condition, TherapyType
from marketplace.practitioners.models import Location, Practitioner, Service

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Condition",
    "Location",
    "Practitioner",
    "Service",
    "TherapyType",
    "User",
]
