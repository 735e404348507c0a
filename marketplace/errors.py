"""The problem+json error contract (RFC 9457) and the domain errors services raise."""

import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask, Response, current_app, json, render_template, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError

PROBLEM_MIMETYPE = "application/problem+json"
API_PREFIX = "/api/"


class DomainError(Exception):
    """A business rule refused the operation; `status` is the HTTP status it maps to."""

    status = HTTPStatus.CONFLICT

    def __init__(self, detail: str, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT


class InvalidTransition(Conflict):
    pass


class SlotUnavailable(Conflict):
    pass


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class NotPermitted(DomainError):
    status = HTTPStatus.FORBIDDEN


class ValidationFailed(DomainError):
    """A rule that needs the database (ownership, references, completeness) refused the input."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


class TooManyRequests(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS


class PaymentFailed(DomainError):
    status = HTTPStatus.BAD_GATEWAY


def problem(
    status: int,
    detail: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors:
        body["errors"] = dict(errors)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into `{"field.sub.0": [msg, ...]}`.

    The location level that webargs adds (`json`, `query`) is dropped: clients know where they
    sent a field, and the contract keys errors by field name.
    """
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in flatten_messages(value, name).items():
                flat.setdefault(field, []).extend(texts)
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": [str(m) for m in messages]}
    if isinstance(messages, list | tuple):
        flat = {}
        for message in messages:
            for field, texts in flatten_messages(message, prefix).items():
                flat.setdefault(field, []).extend(texts)
        return flat
    return {prefix or "_schema": [str(messages)]}


def _webargs_errors(error: HTTPException) -> dict[str, list[str]] | None:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if not messages:
        return None
    if isinstance(messages, Mapping) and set(messages) <= {"json", "query", "form", "headers"}:
        merged: dict[str, list[str]] = {}
        for location_messages in messages.values():
            for field, texts in flatten_messages(location_messages).items():
                merged.setdefault(field, []).extend(texts)
        return merged
    return flatten_messages(messages)


def wants_problem_json() -> bool:
    return request.path.startswith(API_PREFIX)


def _detail_for(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    if "message" in data:
        return str(data["message"])
    if error.code == HTTPStatus.BAD_REQUEST and _webargs_errors(error):
        return "The request body is not valid JSON."
    if error.code == HTTPStatus.UNPROCESSABLE_ENTITY:
        return "The request failed validation."
    if isinstance(error, InternalServerError):
        return "An unexpected error occurred."
    return error.description or HTTPStatus(error.code).phrase


def html_error(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    body = render_template(
        "errors/error.html", status=status, title=HTTPStatus(status).phrase, detail=detail
    )
    response = Response(body, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def schema_name(schema: Any) -> str:
    """OpenAPI component names; a partial (PATCH) variant gets its own name."""
    name = resolver(schema)
    if isinstance(schema, ma.Schema) and schema.partial:
        name += "Patch"
    return name


class ProblemApi(Api):
    """flask-smorest's Api, answering errors in our problem+json shape and HTML off the API."""

    def __init__(self, app: Flask | None = None) -> None:
        plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
        super().__init__(app, spec_kwargs={"marshmallow_plugin": plugin})

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        headers = dict(getattr(error, "data", None) or {}).get("headers") or {}
        if status == HTTPStatus.METHOD_NOT_ALLOWED and error.valid_methods:
            headers = {**headers, "Allow": ", ".join(error.valid_methods)}
        detail = _detail_for(error)
        if status == HTTPStatus.NOT_FOUND and request.url_rule is None:
            detail = _unmatched_id_detail() or detail
        if not wants_problem_json():
            return html_error(status, detail, headers)
        errors = _webargs_errors(error) if status in (400, 422) else None
        return problem(status, detail, errors, headers)


def _unmatched_id_detail() -> str | None:
    """Which resource a path names with a malformed id ("/api/v1/bookings/abc"), if any.

    A path no route matched is tried again with each segment as a well-formed UUID: if that
    matches, the segment was meant as an id of the resource named before it.
    """
    segments = request.path.split("/")
    adapter = current_app.url_map.bind("", url_scheme=request.scheme)
    for index in range(len(segments) - 1, 1, -1):
        candidate = "/".join([*segments[:index], str(uuid.UUID(int=0)), *segments[index + 1 :]])
        try:
            adapter.match(candidate, method=request.method)
        except HTTPException:
            continue
        resource = segments[index - 1].replace("-", " ").removesuffix("s") or "resource"
        return f"No {resource} with the id “{segments[index]}”: ids are UUIDs."
    return None


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Response:
        if not wants_problem_json():
            return html_error(error.status, error.detail)
        return problem(error.status, error.detail, error.errors)
