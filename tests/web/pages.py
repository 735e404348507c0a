"""Driving the pages as a browser would: read the form's CSRF token, post the form."""

import re

from tests.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, page: str) -> str:
    """The CSRF token of the form on `page` (the session's token, as a browser would read it)."""
    response = client.get(page)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def submit(client, page: str, action: str | None = None, data=None, **kwargs):
    """Post `data` to `action` (default: `page`) with the token read from `page`."""
    form = {"csrf_token": csrf_token(client, page), **(data or {})}
    return client.post(action or page, data=form, **kwargs)


def sign_in(client, email: str, password: str = PASSWORD):
    response = submit(client, "/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def html(response) -> str:
    return response.get_data(as_text=True)
