"""Admin views of the outbox: what failed, and a retry."""

import uuid

import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from marketplace.accounts.auth import admin_only
from marketplace.db import utc_now
from marketplace.extensions import db
from marketplace.notifications import service
from marketplace.notifications.models import OutboxMessage
from marketplace.notifications.schemas import OutboxMessageSchema, OutboxQueryArgs
from marketplace.pagination import page_of, paginate

bp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/admin", description="Email outbox (admin)"
)


@bp.route("/outbox")
@admin_only
@bp.arguments(OutboxQueryArgs, location="query")
@bp.response(200, page_of(OutboxMessageSchema))
def outbox(args):
    """Outbox messages, newest first; `status=failed` is what needs a look."""
    query = sa.select(OutboxMessage).order_by(
        OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )
    if args.get("status"):
        query = query.where(OutboxMessage.status == args["status"])
    if args.get("event"):
        query = query.where(OutboxMessage.event == args["event"])
    return paginate(query, args["page"], args["per_page"])


@bp.route("/outbox/<uuid:message_id>/retry", methods=["POST"])
@admin_only
@bp.response(200, OutboxMessageSchema)
def retry(message_id: uuid.UUID):
    """Send a failed message again (tries counted afresh); 409 unless it failed."""
    message = service.retry_message(message_id, current_user, utc_now())
    db.session.commit()
    return message
