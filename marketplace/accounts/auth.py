"""How a request is authenticated (cookie session or bearer token) and role decorators."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_smorest import abort

from marketplace.accounts import service
from marketplace.accounts.models import Role, User
from marketplace.db import utc_now
from marketplace.extensions import db, login_manager

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@login_manager.user_loader
def _load_session_user(session_id: str) -> User | None:
    return service.load_session_user(session_id)


@login_manager.request_loader
def _load_token_user(req: Any) -> User | None:
    scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = service.authenticate_token(token.strip(), utc_now())
    if db.session.dirty:
        # The use noted, in the loader's own transaction before the view's: a request that
        # only reads still records it.
        db.session.commit()
    if user is not None:
        g.authenticated_by_token = True
    return user


@login_manager.unauthorized_handler
def _unauthorized() -> None:
    abort(401, message="Sign in or send a bearer token.")


def roles_required(*roles: Role) -> Callable:
    """401 for anonymous requests, 403 for users of another role."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401, message="Sign in or send a bearer token.")
            if roles and current_user.role not in roles:
                abort(403, message="Your role may not do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = roles_required()
patient_only = roles_required(Role.PATIENT)
practitioner_only = roles_required(Role.PRACTITIONER)
admin_only = roles_required(Role.ADMIN)


def cross_origin_exempt(view: Callable) -> Callable:
    """Let unsafe requests from other origins reach this view: for views that are reached
    from elsewhere by design (signed webhooks, pages the payment provider sends the browser
    back to) and authenticate on their own. Put it next to the route, above the view's other
    decorators."""
    view.cross_origin_exempt = True
    return view


def _is_cross_origin_exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "cross_origin_exempt", False)


def _same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.netloc == request.host


def refuse_cross_origin_cookie_requests() -> None:
    """CSRF defence: an unsafe request riding on a session cookie must come from our origin.

    Browsers send `Origin` (or at least `Sec-Fetch-Site`) on cross-origin unsafe requests; API
    clients using bearer tokens carry no session cookie and are not affected.
    """
    if request.method in SAFE_METHODS or _is_cross_origin_exempt():
        return
    if "_user_id" not in session:
        return
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        if not _same_origin(origin):
            abort(403, message="Cross-origin request refused.")
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if origin == "null" or fetch_site == "cross-site":
        abort(403, message="Cross-origin request refused.")
    referer = request.headers.get("Referer")
    if referer and not _same_origin(referer):
        abort(403, message="Cross-origin request refused.")


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.before_request(refuse_cross_origin_cookie_requests)
