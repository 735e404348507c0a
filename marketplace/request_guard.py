"""Refusing, before any view runs, requests that no schema should have to survive."""

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from marketplace.errors import html_error, problem, wants_problem_json

NUL_MESSAGE = "NUL characters are not allowed."
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# No request of this API nests deeper; deeper documents are refused before any schema sees them.
MAX_JSON_DEPTH = 32


def _inspect_json(document: Any) -> tuple[bool, list[str]]:
    """(too deep, paths of strings holding a NUL), walked without recursion."""
    nul_paths: list[str] = []
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True, nul_paths
        if isinstance(value, str):
            if "\x00" in value:
                nul_paths.append(path or "_schema")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if "\x00" in str(key):
                    nul_paths.append(name)
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}", depth + 1) for i, item in enumerate(value))
    return False, nul_paths


def inspect_request() -> Response | None:
    """Refuse what no schema should have to survive.

    NULs (no PostgreSQL text column can hold one) and JSON nested past any real request's
    depth (the parser would exhaust the stack).
    """
    if "\x00" in request.path:
        return problem(404) if wants_problem_json() else html_error(404, "Not Found")
    sent_a_body = request.method in BODY_METHODS and request.content_length
    if wants_problem_json() and sent_a_body and not request.is_json:
        # Else every field would be reported missing, which hides the real mistake.
        return problem(
            415, "Send the body as JSON, with the header Content-Type: application/json."
        )
    nul_paths = sorted(
        {
            name
            for name, value in request.args.items(multi=True)
            if "\x00" in name or "\x00" in value
        }
    )
    if request.is_json and request.content_length:
        try:
            document = request.get_json(silent=True)
        except RecursionError:
            return problem(400, "The JSON body is nested too deeply.")
        too_deep, body_nul_paths = _inspect_json(document)
        if too_deep:
            return problem(400, "The JSON body is nested too deeply.")
        nul_paths += body_nul_paths
    if nul_paths:
        return problem(422, "The request failed validation.", {p: [NUL_MESSAGE] for p in nul_paths})
    return None


def init_request_guard(app: Flask) -> None:
    app.before_request(inspect_request)
