"""Users and their personal access tokens."""

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.db import utc_now, value_enum
from marketplace.extensions import db


class Role(enum.StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    """Anyone who signs in: a patient, a practitioner or an admin."""

    __tablename__ = "users"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased, so the unique constraint is case-insensitive on every backend.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[Role] = so.mapped_column(value_enum(Role))
    # Bumped to sign every existing cookie session out (password change, admin lock).
    session_version: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    # The day-before appointment reminder email (marketplace/notifications).
    email_reminders: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)

    tokens: so.WriteOnlyMapped["ApiToken"] = so.relationship(
        back_populates="user", passive_deletes=True
    )

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A personal access token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    digest: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utc_now)
    last_used_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(back_populates="tokens")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
