"""Account rules: registration, credentials, personal access tokens, admins."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import ApiToken, Role, User
from marketplace.db import utc_now
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.extensions import db

SELF_REGISTERABLE_ROLES = frozenset({Role.PATIENT, Role.PRACTITIONER})
TOKEN_PREFIX = "mkp_"  # noqa: S105 (a public prefix, not a secret)
# Recording every use of a token would make each API request a write.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


@cache
def _dummy_hash(method: str) -> str:
    """Checked when the email is unknown, so a wrong email costs what a wrong password does."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class InvalidCredentials(Exception):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def register_user(*, email: str, password: str, name: str, role: Role) -> User:
    """Create a patient or practitioner account; admins are never self-registered."""
    if role not in SELF_REGISTERABLE_ROLES:
        raise ValidationFailed("This role cannot be registered.", {"role": ["Not allowed."]})
    if get_user_by_email(email) is not None:
        raise Conflict(
            "An account with this email already exists.", {"email": ["Already registered."]}
        )
    user = User(email=normalise_email(email), name=name.strip(), role=role, session_version=1)
    user.set_password(password, _hash_method())
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError:
        # The same address registered concurrently.
        raise Conflict(
            "An account with this email already exists.", {"email": ["Already registered."]}
        ) from None
    return user


def update_settings(user: User, settings: dict) -> User:
    """Change a user's own settings (today: `email_reminders`), as loaded by MeUpdateSchema."""
    for name, value in settings.items():
        setattr(user, name, value)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User:
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(_hash_method()), password)
        raise InvalidCredentials
    if not user.check_password(password):
        raise InvalidCredentials
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a personal access token; the plain token is returned once and never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, digest=_digest(plain))
    db.session.add(token)
    db.session.flush()
    return token, plain


def authenticate_token(plain: str, now: datetime) -> User | None:
    """The user a live token belongs to, noting when it was last used (to the nearest
    TOKEN_USE_RESOLUTION, so most requests change nothing); the caller commits."""
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.digest == _digest(plain), ApiToken.revoked_at.is_(None))
    )
    if token is None:
        return None
    user = token.user  # loaded first: its query would flush the stamp the caller looks for
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return user


def active_tokens(user: User) -> sa.Select:
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at, ApiToken.id)
    )


def revoke_token(user: User, token_id: uuid.UUID) -> ApiToken:
    token = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    )
    if token is None:
        raise NotFound("No such token.")
    token.revoked_at = utc_now()
    return token


def load_session_user(session_id: str) -> User | None:
    """Resolve a cookie session's `user-id:version`; a bumped version signs the session out."""
    user_id, _, version = session_id.partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or str(user.session_version) != version:
        return None
    return user


def ensure_admin(email: str, password: str, name: str = "Administrator") -> tuple[User, bool]:
    """Create an admin, or make an existing user one; returns (user, created)."""
    user = get_user_by_email(email)
    created = user is None
    if created:
        user = User(email=normalise_email(email), name=name, role=Role.ADMIN, session_version=1)
        db.session.add(user)
    else:
        user.session_version += 1
    user.role = Role.ADMIN
    user.set_password(password, _hash_method())
    db.session.flush()
    return user, created
