"""Serialising changes to one practitioner's calendar."""

import uuid

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.practitioners.models import Practitioner


def lock_practitioner(practitioner_id: uuid.UUID) -> None:
    """Hold the practitioner's row lock until the transaction ends.

    SQLite needs nothing here: every transaction there begins IMMEDIATE, holding the database's
    single write lock from its first statement.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.select(Practitioner.id).where(Practitioner.id == practitioner_id).with_for_update()
        )
