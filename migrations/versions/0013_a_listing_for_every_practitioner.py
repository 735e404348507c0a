"""a draft listing for every practitioner account

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 04:00:00.000000

Reading a practitioner's listing no longer creates it: sign-up opens it with the account.
Accounts made before sign-up did so, and never opened their dashboard, get their draft
listing here, as the first read used to give them (the model's defaults, frozen here).
"""

import secrets
import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
from slugify import slugify


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("name"), sa.column("role"))
practitioners = sa.table(
    "practitioners",
    *(
        sa.column(name, type_)
        for name, type_ in [
            ("id", sa.Uuid()),
            ("owner_id", sa.Uuid()),
            ("slug", sa.String()),
            ("display_name", sa.String()),
            ("headline", sa.String()),
            ("bio", sa.Text()),
            ("profession", sa.String()),
            ("registration_body", sa.String()),
            ("registration_number", sa.String()),
            ("gender", sa.String()),
            ("languages", sa.JSON()),
            ("telehealth", sa.Boolean()),
            ("slot_interval_minutes", sa.Integer()),
            ("buffer_before_minutes", sa.Integer()),
            ("buffer_after_minutes", sa.Integer()),
            ("min_notice_minutes", sa.Integer()),
            ("horizon_days", sa.Integer()),
            ("free_cancellation_hours", sa.Integer()),
            ("late_cancellation_fee_percent", sa.Integer()),
            ("calendar_token", sa.String()),
            ("charges_enabled", sa.Boolean()),
            ("status", sa.String()),
            ("rating_count", sa.Integer()),
            ("created_at", sa.DateTime(timezone=True)),
            ("updated_at", sa.DateTime(timezone=True)),
        ]
    ),
)


def upgrade():
    connection = op.get_bind()
    without_listing = connection.execute(
        sa.select(users.c.id, users.c.name).where(
            users.c.role == "practitioner",
            users.c.id.not_in(sa.select(practitioners.c.owner_id)),
        )
    ).all()
    taken = set(connection.scalars(sa.select(practitioners.c.slug)))
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as the app stores instants there: naive UTC
    for user_id, name in without_listing:
        display_name = (name or "").strip()[:120] or "Practitioner"
        slug = _unique_slug(display_name, taken)
        taken.add(slug)
        connection.execute(
            sa.insert(practitioners).values(
                id=uuid.uuid4(),
                owner_id=user_id,
                slug=slug,
                display_name=display_name,
                headline="",
                bio="",
                profession="",
                registration_body="",
                registration_number="",
                gender="undisclosed",
                languages=["en"],
                telehealth=False,
                slot_interval_minutes=15,
                buffer_before_minutes=0,
                buffer_after_minutes=0,
                min_notice_minutes=120,
                horizon_days=60,
                free_cancellation_hours=24,
                late_cancellation_fee_percent=50,
                calendar_token=secrets.token_urlsafe(32),
                charges_enabled=False,
                status="draft",
                rating_count=0,
                created_at=now,
                updated_at=now,
            )
        )


def _unique_slug(display_name: str, taken: set[str]) -> str:
    """As the app derives a listing's slug from its name (practitioners.service)."""
    base = slugify(display_name, max_length=120, word_boundary=True) or "practitioner"
    slug, suffix = base, 2
    while slug in taken:
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def downgrade():
    pass  # the listings stay: they are the accounts' own drafts now
