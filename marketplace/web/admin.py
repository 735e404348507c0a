"""The admin's pages: the review queue, a listing's review page and decisions, the audit log."""

import json
import uuid
from http import HTTPStatus
from math import ceil
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace import audit as audit_log
from marketplace.accounts.models import Role
from marketplace.admin import service
from marketplace.admin.models import AuditEntry
from marketplace.admin.schemas import AuditQueryArgs
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.formatting import language_name
from marketplace.pagination import paginate
from marketplace.practitioners.models import ListingStatus, Practitioner
from marketplace.practitioners.schemas import ListingQueueArgs, ReasonSchema
from marketplace.web.common import (
    FormErrors,
    errors_of,
    load_form,
    page_for,
    protect_form,
    render_form,
)

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
bp.before_request(protect_form)

HISTORY_LIMIT = 50
STATUS_CHOICES = [
    (ListingStatus.PENDING.value, "Pending (waiting for review)"),
    (ListingStatus.APPROVED.value, "Approved"),
    (ListingStatus.SUSPENDED.value, "Suspended"),
    (ListingStatus.REJECTED.value, "Rejected"),
    (ListingStatus.DRAFT.value, "Draft (not submitted yet)"),
]
DONE = {
    "approve": "Approved {name}: the listing is public now.",
    "reject": "Rejected {name}: the practitioner sees your reason and may resubmit.",
    "suspend": "Suspended {name}: the listing is hidden and cannot be booked.",
    "reinstate": "Reinstated {name}: the listing is public again.",
}
ABSENT = object()


# --- the review queue ----------------------------------------------------------------------


@bp.route("/listings")
@page_for(Role.ADMIN)
def listings():
    values = {"status": ListingStatus.PENDING.value, **request.args.to_dict()}
    args, errors = load_form(ListingQueueArgs(), request.args)
    context: dict[str, Any] = {"values": values, "statuses": STATUS_CHOICES, "result": None}
    if errors:
        return render_form("pages/admin/queue.html", errors, **context)
    result = paginate(service.review_queue(args["status"]), args["page"], args["per_page"])
    context.update(
        result=result,
        status=args["status"],
        count=_count_text(result["total"], args["status"]),
        pager=_pager(result, ".listings"),
    )
    return render_template("pages/admin/queue.html", errors={}, **context)


def _count_text(total: int, status: ListingStatus) -> str:
    noun = "listing" if total == 1 else "listings"
    if status is ListingStatus.PENDING:
        return f"{total} {noun} waiting for review"
    return f"{total} {status.value} {noun}"


# --- one listing's review page -------------------------------------------------------------


def _listing_or_404(listing_id: uuid.UUID) -> Practitioner:
    listing = service.get_listing(listing_id)
    if listing is None:
        raise NotFound("No such listing.")
    return listing


@bp.route("/listings/<uuid:listing_id>")
@page_for(Role.ADMIN)
def listing(listing_id: uuid.UUID):
    return _review_page(_listing_or_404(listing_id))


@bp.route(
    "/listings/<uuid:listing_id>/<any(approve, reject, suspend, reinstate):action>",
    methods=["POST"],
)
@page_for(Role.ADMIN)
def review(listing_id: uuid.UUID, action: str):
    listing = _listing_or_404(listing_id)
    data, errors = ({}, {})
    if action in service.ACTIONS_NEEDING_REASON:
        data, errors = load_form(ReasonSchema())
    # A form left open while the listing moved on (another admin acted) hears the service's
    # reason the action is gone, not a remark about its own reason field; the service refuses
    # the transition before it reads the reason.
    if errors and listing.can(action):
        return _review_page(listing, errors, HTTPStatus.UNPROCESSABLE_ENTITY)
    try:
        service.review_listing(listing, action, current_user, (data or {}).get("reason"))
    except DomainError as error:
        db.session.rollback()
        return _review_page(listing, errors_of(error), error.status)
    db.session.commit()
    flash(DONE[action].format(name=listing.display_name), "success")
    return redirect(url_for(".listing", listing_id=listing.id), 303)


def _review_page(
    listing: Practitioner, errors: FormErrors | None = None, status: int = HTTPStatus.OK
):
    history = paginate(
        audit_log.list_entries_query(target_type="practitioner", target_id=str(listing.id)),
        1,
        HISTORY_LIMIT,
    )
    people = service.users_by_id(
        [entry.actor_id for entry in history["items"]] + [listing.reviewed_by_id]
    )
    body = render_template(
        "pages/admin/listing.html",
        listing=listing,
        errors=errors or {},
        values=request.form if request.method == "POST" else {},
        actions=[action for action in service.REVIEW_ACTIONS if listing.can(action)],
        history=[_row(entry, people) for entry in history["items"]],
        history_total=history["total"],
        reviewer=people.get(listing.reviewed_by_id) if listing.reviewed_by_id else None,
        languages=_language_names(listing.languages or []),
    )
    return body, status


def _language_names(codes: list[str]) -> list[str]:
    return [f"{language_name(code)} ({code})" for code in codes]


# --- the audit log -------------------------------------------------------------------------


@bp.route("/audit")
@page_for(Role.ADMIN)
def audit():
    values = request.args.to_dict()
    args, errors = load_form(AuditQueryArgs(), request.args)
    if errors:
        return render_form("pages/admin/audit.html", errors, values=values, result=None, rows=[])
    page, per_page = args.pop("page"), args.pop("per_page")
    result = paginate(audit_log.list_entries_query(**args), page, per_page)
    people = service.users_by_id(entry.actor_id for entry in result["items"])
    return render_template(
        "pages/admin/audit.html",
        errors={},
        values=values,
        result=result,
        rows=[_row(entry, people) for entry in result["items"]],
        filtered=any(args.values()),
        pager=_pager(result, ".audit"),
    )


def _row(entry: AuditEntry, people: dict) -> dict[str, Any]:
    return {
        "entry": entry,
        "actor": people.get(entry.actor_id) if entry.actor_id else None,
        "changes": _changes(entry.before, entry.after),
    }


def _changes(before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(key, before, after) for each key whose value the entry changed, as short text."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        (key, _shown(before.get(key, ABSENT)), _shown(after.get(key, ABSENT)))
        for key in keys
        if before.get(key, ABSENT) != after.get(key, ABSENT)
    ]


def _shown(value: Any) -> str:
    if value is ABSENT:
        return "—"
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- shared --------------------------------------------------------------------------------


def _pager(result: dict, endpoint: str) -> dict[str, Any]:
    """Page n of m with links that keep the current filters."""
    filters = {key: value for key, value in request.args.items() if key != "page" and value}
    pages = max(1, ceil(result["total"] / result["per_page"]))
    page = result["page"]
    return {
        "page": page,
        "pages": pages,
        "previous": url_for(endpoint, **filters, page=min(page - 1, pages)) if page > 1 else None,
        "next": url_for(endpoint, **filters, page=page + 1) if page < pages else None,
    }
