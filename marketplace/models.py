"""Every feature's models, imported in one place so metadata (and Alembic) sees all tables."""

from marketplace.accounts.models import ApiToken, User

__all__ = ["ApiToken", "User"]
