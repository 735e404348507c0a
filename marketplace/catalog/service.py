"""The taxonomy: listing therapies and conditions with practitioner counts, admin edits."""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from slugify import slugify

from marketplace import audit
from marketplace.accounts.models import User
from marketplace.catalog.models import Condition, TherapyType, condition_therapies
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner, Service


def _offering(*group_by: sa.ColumnElement) -> sa.Select:
    """(group, count of approved practitioners with an active service) per group."""
    return (
        sa.select(*group_by, sa.func.count(sa.distinct(Service.practitioner_id)))
        .join(Practitioner, Practitioner.id == Service.practitioner_id)
        .where(
            Practitioner.is_public,
            Service.is_offered,
        )
        .group_by(*group_by)
    )


def list_therapies(*, include_retired: bool = False) -> list[dict[str, Any]]:
    counts = dict(db.session.execute(_offering(Service.therapy_type_id)).all())
    query = sa.select(TherapyType).order_by(TherapyType.name)
    if not include_retired:
        query = query.where(TherapyType.active)
    return [
        {
            "slug": therapy.slug,
            "name": therapy.name,
            "description": therapy.description,
            "active": therapy.active,
            "practitioner_count": counts.get(therapy.id, 0),
        }
        for therapy in db.session.scalars(query)
    ]


def list_conditions() -> list[dict[str, Any]]:
    counts = dict(
        db.session.execute(
            _offering(condition_therapies.c.condition_id).join(
                condition_therapies,
                condition_therapies.c.therapy_type_id == Service.therapy_type_id,
            )
        ).all()
    )
    conditions = db.session.scalars(
        sa.select(Condition)
        .options(sa.orm.selectinload(Condition.therapies))
        .order_by(Condition.name)
    )
    return [
        {
            "slug": condition.slug,
            "name": condition.name,
            "description": condition.description,
            "synonyms": condition.synonyms,
            "therapies": [therapy.slug for therapy in condition.therapies if therapy.active],
            "practitioner_count": counts.get(condition.id, 0),
        }
        for condition in conditions
    ]


def _therapy_state(therapy: TherapyType) -> dict[str, Any]:
    return {
        "slug": therapy.slug,
        "name": therapy.name,
        "description": therapy.description,
        "active": therapy.active,
    }


def get_therapy(slug: str) -> TherapyType:
    therapy = db.session.scalar(sa.select(TherapyType).where(TherapyType.slug == slug))
    if therapy is None:
        raise NotFound("No such therapy.")
    return therapy


def add_therapy(data: Mapping[str, Any], actor: User) -> TherapyType:
    slug = data.get("slug") or slugify(data["name"], max_length=80)
    if db.session.scalar(sa.select(TherapyType.id).where(TherapyType.slug == slug)):
        raise Conflict("A therapy with this slug exists.", {"slug": ["Already taken."]})
    therapy = TherapyType(
        slug=slug, name=data["name"], description=data["description"], active=data["active"]
    )
    try:
        with db.session.begin_nested():
            db.session.add(therapy)
    except sa.exc.IntegrityError:
        raise Conflict("A therapy with this slug exists.", {"slug": ["Already taken."]}) from None
    audit.record(
        actor_id=actor.id,
        action="therapy.add",
        target_type="therapy",
        target_id=slug,
        before=None,
        after=_therapy_state(therapy),
    )
    return therapy


def update_therapy(therapy: TherapyType, data: Mapping[str, Any], actor: User) -> TherapyType:
    """Rename, describe, retire (`active: false`) or restore a therapy type.

    A retired therapy takes no new services and leaves the taxonomy and search filters;
    services already offered under it stay bookable. Search reads therapy names when it
    runs, so its text follows a rename at once.
    """
    before = _therapy_state(therapy)
    for field, value in data.items():
        setattr(therapy, field, value)
    db.session.flush()
    action = "therapy.update"
    if before["active"] != therapy.active:
        action = "therapy.restore" if therapy.active else "therapy.retire"
    audit.record(
        actor_id=actor.id,
        action=action,
        target_type="therapy",
        target_id=therapy.slug,
        before=before,
        after=_therapy_state(therapy),
    )
    return therapy


def therapy_with_count(therapy: TherapyType) -> dict[str, Any]:
    counts = dict(
        db.session.execute(
            _offering(Service.therapy_type_id).where(Service.therapy_type_id == therapy.id)
        ).all()
    )
    return {**_therapy_state(therapy), "practitioner_count": counts.get(therapy.id, 0)}
