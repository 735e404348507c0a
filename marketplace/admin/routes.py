import uuid

from flask_login import current_user
from flask_smorest import Blueprint

from marketplace import audit
from marketplace.accounts.auth import admin_only
from marketplace.admin import service
from marketplace.admin.schemas import AuditEntrySchema, AuditQueryArgs
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.pagination import page_of, paginate
from marketplace.practitioners.schemas import ListingQueueArgs, ListingSummarySchema, ReasonSchema

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Administration")


def _listing_or_404(listing_id: uuid.UUID):
    listing = service.get_listing(listing_id)
    if listing is None:
        raise NotFound("No such listing.")
    return listing


@bp.route("/listings")
@admin_only
@bp.arguments(ListingQueueArgs, location="query")
@bp.response(200, page_of(ListingSummarySchema))
def listings(args):
    return paginate(service.review_queue(args["status"]), args["page"], args["per_page"])


@bp.route("/listings/<uuid:listing_id>")
@admin_only
@bp.response(200, ListingSummarySchema)
def listing(listing_id: uuid.UUID):
    return _listing_or_404(listing_id)


@bp.route("/listings/<uuid:listing_id>/approve", methods=["POST"])
@admin_only
@bp.response(200, ListingSummarySchema)
def approve(listing_id: uuid.UUID):
    return _review(listing_id, "approve")


@bp.route("/listings/<uuid:listing_id>/reinstate", methods=["POST"])
@admin_only
@bp.response(200, ListingSummarySchema)
def reinstate(listing_id: uuid.UUID):
    return _review(listing_id, "reinstate")


@bp.route("/listings/<uuid:listing_id>/reject", methods=["POST"])
@admin_only
@bp.arguments(ReasonSchema)
@bp.response(200, ListingSummarySchema)
def reject(data, listing_id: uuid.UUID):
    return _review(listing_id, "reject", data["reason"])


@bp.route("/listings/<uuid:listing_id>/suspend", methods=["POST"])
@admin_only
@bp.arguments(ReasonSchema)
@bp.response(200, ListingSummarySchema)
def suspend(data, listing_id: uuid.UUID):
    return _review(listing_id, "suspend", data["reason"])


def _review(listing_id: uuid.UUID, action: str, reason: str | None = None):
    listing = service.review_listing(_listing_or_404(listing_id), action, current_user, reason)
    db.session.commit()
    return listing


@bp.route("/audit")
@admin_only
@bp.arguments(AuditQueryArgs, location="query")
@bp.response(200, page_of(AuditEntrySchema))
def audit_log(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(audit.list_entries_query(**args), page, per_page)
