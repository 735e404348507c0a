"""Admin rules: reviewing and suspending listings."""

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from marketplace import audit
from marketplace.accounts.models import User
from marketplace.db import mark_listing_changed, utc_now
from marketplace.extensions import db
from marketplace.notifications import service as notify
from marketplace.practitioners.models import ListingStatus, Practitioner
from marketplace.practitioners.service import listing_state

REVIEW_ACTIONS = ("approve", "reject", "suspend", "reinstate")
ACTIONS_NEEDING_REASON = frozenset({"reject", "suspend"})


def review_queue(status: ListingStatus) -> sa.Select:
    """Listings in a status, oldest submission first."""
    return (
        sa.select(Practitioner)
        .options(
            so.selectinload(Practitioner.owner),
            so.selectinload(Practitioner.services),
            so.selectinload(Practitioner.locations),
        )
        .where(Practitioner.status == status)
        .order_by(
            Practitioner.submitted_at.asc().nulls_last(),
            Practitioner.created_at.asc(),
            Practitioner.id,
        )
    )


def get_listing(listing_id) -> Practitioner | None:
    return db.session.get(Practitioner, listing_id)


def review_listing(
    listing: Practitioner, action: str, actor: User, reason: str | None = None
) -> Practitioner:
    """Approve, reject, suspend or reinstate a listing; 409 from any other state."""
    if action not in REVIEW_ACTIONS:
        raise ValueError(action)
    before = listing_state(listing)
    listing.transition(action)
    listing.status_reason = reason if action in ACTIONS_NEEDING_REASON else None
    listing.reviewed_at = utc_now()
    listing.reviewed_by_id = actor.id
    audit.record(
        actor_id=actor.id,
        action=f"listing.{action}",
        target_type="practitioner",
        target_id=listing.id,
        before=before,
        after=listing_state(listing),
    )
    db.session.flush()
    notify.listing_reviewed(listing, action, listing.status_reason)
    mark_listing_changed(db.session, listing.id)
    return listing


def users_by_id(user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    """The users behind some ids (audit actors, reviewers), for showing who acted."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    users = db.session.scalars(sa.select(User).where(User.id.in_(wanted)))
    return {user.id: user for user in users}
