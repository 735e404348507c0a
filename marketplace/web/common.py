"""What every page shares: who may see it, CSRF, and reading a form through an API schema."""

from collections.abc import Callable, Mapping
from functools import wraps
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

import marshmallow as ma
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from marketplace.accounts.models import Role
from marketplace.catalog.service import list_therapies
from marketplace.errors import DomainError, flatten_messages
from marketplace.extensions import csrf
from marketplace.request_guard import NUL_MESSAGE

FormErrors = dict[str, list[str]]
TRUE_WORDS = frozenset({"on", "true", "1", "yes"})
FALSE_WORDS = frozenset({"off", "false", "0", "no", ""})


def protect_form() -> None:
    """A blueprint's before_request: every POST of a page must carry the form's CSRF token."""
    if request.method == "POST":
        csrf.protect()


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: a `next` to elsewhere is an open
    redirect."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\\"):
        return None
    return target


def _this_request_as_get() -> str:
    """Where to come back to after sign-in; a POST comes back as a GET of its form values, so
    a slot clicked while signed out can be booked right after (see `patient.book`)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    fields = [(k, v) for k, v in request.form.items(multi=True) if k != "csrf_token"]
    return request.path + ("?" + urlencode(fields) if fields else "")


def page_for(*roles: Role) -> Callable:
    """A page for signed-in users of `roles` (any role when none is given): anonymous visitors
    are sent to sign in and brought back; another role gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth_pages.login", next=_this_request_as_get()), 303)
            if roles and current_user.role not in roles:
                abort(HTTPStatus.FORBIDDEN, "This page is for another kind of account.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _field_value(field: ma.fields.Field, values: list[str]) -> Any:
    """A form's text as the JSON value the API schema expects, so one schema checks both."""
    if isinstance(field, ma.fields.List):
        items = [part.strip() for value in values for part in value.split(",")]
        return [item for item in items if item]
    value = values[-1].strip() if values else ""
    if isinstance(field, ma.fields.Boolean):
        lowered = value.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        return value
    if isinstance(field, ma.fields.Integer):
        try:
            return int(value)
        except ValueError:
            return value
    if isinstance(field, ma.fields.Float | ma.fields.Decimal):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def form_document(schema: ma.Schema, form: MultiDict, *, checkboxes: bool = True) -> dict:
    """The JSON document a form stands for; blank optional inputs are left out, as an API
    client would leave the key out.

    With `checkboxes`, yes/no fields are checkboxes, which send nothing when unticked: absent
    or blank is a no. Without (a query string of filters), absent or blank is no preference.
    """
    document = {}
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        values = form.getlist(key)
        blank = all(not value.strip() for value in values)
        if isinstance(field, ma.fields.Boolean) and blank:
            if checkboxes and not field.required:
                document[key] = False
            continue
        if key not in form:
            continue
        textual = isinstance(field, ma.fields.String | ma.fields.List)
        if blank and not field.required and not textual:
            continue
        document[key] = _field_value(field, values)
    return document


def load_form(
    schema: ma.Schema, form: MultiDict | None = None, **document_options: Any
) -> tuple[dict | None, FormErrors]:
    """(data, {}) when the form passes the API's schema, else (None, messages by field)."""
    form = request.form if form is None else form
    nul_fields = sorted({k for k, v in form.items(multi=True) if "\x00" in k or "\x00" in v})
    if nul_fields:
        return None, {name: [NUL_MESSAGE] for name in nul_fields}
    try:
        return schema.load(form_document(schema, form, **document_options)), {}
    except ma.ValidationError as error:
        return None, flatten_messages(error.messages)


def errors_of(error: DomainError) -> FormErrors:
    """A service's refusal as form messages: per field when it named fields, else on the form."""
    return dict(error.errors) if error.errors else {"_schema": [error.detail]}


def render_form(
    template: str, errors: Mapping[str, list[str]] | None = None, **context: Any
) -> tuple[str, int]:
    """The page again with its messages: 422 when there are any, as the API answers."""
    status = HTTPStatus.UNPROCESSABLE_ENTITY if errors else HTTPStatus.OK
    return render_template(template, errors=errors or {}, **context), status


def therapy_options(current: str | None = None) -> list[tuple[str, str]]:
    """(slug, name) of the active therapies for a select; a retired `current` stays choosable."""
    options = [(therapy["slug"], therapy["name"]) for therapy in list_therapies()]
    if current and current not in {slug for slug, _ in options}:
        options.append((current, f"{current} (no longer offered)"))
    return options
