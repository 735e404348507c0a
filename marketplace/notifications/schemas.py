import marshmallow as ma

from marketplace.notifications.models import OutboxStatus
from marketplace.pagination import PageArgs


class OutboxMessageSchema(ma.Schema):
    """An outbox row as admins see it (no bodies: they may hold patients' details)."""

    id = ma.fields.UUID(dump_only=True)
    key = ma.fields.String(dump_only=True)
    event = ma.fields.String(dump_only=True)
    recipient = ma.fields.String(dump_only=True, attribute="recipient_email")
    subject = ma.fields.String(dump_only=True)
    status = ma.fields.Enum(OutboxStatus, by_value=True, dump_only=True)
    attempts = ma.fields.Integer(dump_only=True)
    last_error = ma.fields.String(dump_only=True, allow_none=True)
    next_attempt_at = ma.fields.AwareDateTime(dump_only=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    sent_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class OutboxQueryArgs(PageArgs):
    status = ma.fields.Enum(OutboxStatus, by_value=True)
    event = ma.fields.String()
