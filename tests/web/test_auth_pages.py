"""Sign-up, sign-in and sign-out pages: the session the API uses too, `next` kept (same-site
only), messages next to their fields, CSRF on every form."""

import re
from html import escape, unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.extensions import db
from marketplace.practitioners.models import ListingStatus, Practitioner
from tests.factories import PASSWORD, create_user
from tests.web.pages import html, sign_in, submit

NEW_PASSWORD = "a long enough secret"


# --- helpers -------------------------------------------------------------------------------


def users_with(app, email: str) -> list[tuple[str, str, Role]]:
    """(email, name, role) of every account whose address is `email`, whatever its case."""
    with app.app_context():
        rows = db.session.scalars(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
        return [(row.email, row.name, row.role) for row in rows]


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def listings_of(app, email: str) -> list[tuple[ListingStatus, str]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Practitioner)
            .join(User, User.id == Practitioner.owner_id)
            .where(User.email == email)
        )
        return [(row.status, row.display_name) for row in rows]


def signed_in_as(client) -> str | None:
    """The email of the session's user, asked of the API on the same cookie; None if nobody."""
    response = client.get("/api/v1/me")
    if response.status_code == 401:
        return None
    assert response.status_code == 200, html(response)
    return response.get_json()["email"]


def location_of(response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 303, html(response)[:2000]
    target = urlsplit(response.headers["Location"])
    return target.path, parse_qs(target.query)


def assert_field_error(page: str, field_id: str, text: str) -> None:
    """The field is marked invalid, points at its message, and the message says `text`."""
    tag = re.search(rf'<(?:input|select|textarea|fieldset)\b[^>]*\bid="{field_id}"[^>]*>', page)
    assert tag, f"no field {field_id}"
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    described_by = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert described_by and f"{field_id}-error" in described_by.group(1).split(), tag.group(0)
    message = re.search(rf'<small id="{field_id}-error"[^>]*>(.*?)</small>', page, re.S)
    assert message, f"no message next to {field_id}"
    assert text in message.group(1), message.group(1)
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert summary and text in summary.group(0)


def signup_form(**changes) -> dict:
    return {
        "name": "Nora Newcomer",
        "email": "nora@example.com",
        "password": NEW_PASSWORD,
        "role": "patient",
        **changes,
    }


# --- sign-up -------------------------------------------------------------------------------


def test_signup_page_has_the_contract_fields(client):
    page = html(client.get("/signup"))

    for name in ("name", "email", "password"):
        assert re.search(rf'<input id="f-{name}" name="{name}"', page)
    assert re.search(r'name="role" value="patient" checked', page)
    assert 'name="role" value="practitioner"' in page
    assert re.search(r'<button type="submit">Create account</button>', page)


def test_signing_up_as_a_patient_signs_in_and_goes_home(app, client):
    response = submit(client, "/signup", data=signup_form())

    assert location_of(response) == ("/", {})
    assert users_with(app, "nora@example.com") == [
        ("nora@example.com", "Nora Newcomer", Role.PATIENT)
    ]
    assert listings_of(app, "nora@example.com") == []
    assert signed_in_as(client) == "nora@example.com"


def test_signing_up_as_a_practitioner_opens_a_draft_listing_on_the_dashboard(app, client):
    response = submit(
        client, "/signup", data=signup_form(role="practitioner", email="pia@example.com")
    )

    assert location_of(response) == ("/dashboard", {})
    assert users_with(app, "pia@example.com")[0][2] is Role.PRACTITIONER
    assert listings_of(app, "pia@example.com") == [(ListingStatus.DRAFT, "Nora Newcomer")]
    assert signed_in_as(client) == "pia@example.com"
    assert client.get("/dashboard").status_code == 200


def test_the_role_in_the_link_is_preselected(client):
    page = html(client.get("/signup?role=practitioner"))

    assert 'name="role" value="practitioner" checked' in page
    assert 'name="role" value="patient" checked' not in page


def test_signup_keeps_next_and_returns_there(app, client):
    page = html(client.get("/signup", query_string={"next": "/me/bookings"}))
    assert '<input type="hidden" name="next" value="/me/bookings">' in page

    response = submit(
        client,
        "/signup?next=/me/bookings",
        "/signup",
        data=signup_form(next="/me/bookings"),
    )

    assert location_of(response) == ("/me/bookings", {})
    assert signed_in_as(client) == "nora@example.com"


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"password": "short"}, "f-password", "Use at least 10 characters (at most 256)."),
        ({"password": "123456789"}, "f-password", "Use at least 10 characters (at most 256)."),
        ({"name": ""}, "f-name", "Enter a name of up to 120 characters."),
        ({"email": "not an email"}, "f-email", "Not a valid email address."),
        ({"role": "admin"}, "f-role", "Must be one of: patient, practitioner."),
        ({"role": "wizard"}, "f-role", "Must be one of"),
    ],
    ids=["short-password", "nine-characters", "blank-name", "bad-email", "admin", "unknown"],
)
def test_bad_signup_is_shown_next_to_its_field_and_adds_no_user(
    app, client, changes, field_id, message
):
    before = user_count(app)

    response = submit(client, "/signup", data=signup_form(**changes))

    page = html(response)
    assert response.status_code == 422
    assert_field_error(page, field_id, message)
    assert user_count(app) == before
    assert signed_in_as(client) is None


def test_missing_name_is_required(app, client):
    form = signup_form()
    del form["name"]

    response = submit(client, "/signup", data=form)

    assert response.status_code == 422
    assert_field_error(html(response), "f-name", "Missing data for required field.")
    assert users_with(app, "nora@example.com") == []


def test_signup_re_renders_what_was_typed_but_never_the_password(client):
    response = submit(client, "/signup", data=signup_form(password="short"))

    page = html(response)
    assert 'value="Nora Newcomer"' in page
    assert 'value="nora@example.com"' in page
    assert "short" not in re.search(r'<input id="f-password"[^>]*>', page).group(0)


def test_a_taken_email_in_another_case_is_refused(app, client):
    create_user(app, "patient", email="taken@example.com")
    before = user_count(app)

    response = submit(client, "/signup", data=signup_form(email="Taken@Example.COM"))

    assert response.status_code == 422
    assert_field_error(html(response), "f-email", "Already registered.")
    assert user_count(app) == before
    assert users_with(app, "taken@example.com") == [
        ("taken@example.com", "Test User", Role.PATIENT)
    ]
    assert signed_in_as(client) is None


def test_signup_without_csrf_token_is_refused(app, client):
    before = user_count(app)

    response = client.post("/signup", data=signup_form())

    assert response.status_code == 400
    assert user_count(app) == before
    assert signed_in_as(client) is None


# --- sign-in -------------------------------------------------------------------------------


def test_login_page_has_the_contract_fields(client):
    page = html(client.get("/login"))

    assert re.search(r'<input id="f-email" name="email" type="email"', page)
    assert re.search(r'<input id="f-password" name="password" type="password"', page)
    assert '<button type="submit">Sign in</button>' in page


@pytest.mark.parametrize(
    ("role", "home"),
    [("patient", "/"), ("practitioner", "/dashboard"), ("admin", "/admin/listings")],
)
def test_signing_in_goes_to_the_roles_home(app, client, role, home):
    _, email = create_user(app, role)

    response = submit(client, "/login", data={"email": email, "password": PASSWORD})

    assert location_of(response) == (home, {})
    assert signed_in_as(client) == email
    assert client.get(home).status_code == 200


def test_the_email_is_matched_whatever_its_case(app, client):
    _, email = create_user(app, "patient")

    response = submit(client, "/login", data={"email": email.upper(), "password": PASSWORD})

    assert response.status_code == 303
    assert signed_in_as(client) == email


def test_a_wrong_password_is_422_and_signs_nobody_in(app, client):
    _, email = create_user(app, "patient")

    response = submit(client, "/login", data={"email": email, "password": "not the password"})

    page = html(response)
    assert response.status_code == 422
    assert re.search(r'role="alert".*Wrong email or password\.', page, re.S)
    assert f'value="{email}"' in page
    assert signed_in_as(client) is None


def test_an_unknown_email_reads_like_a_wrong_password(client):
    response = submit(
        client, "/login", data={"email": "nobody@example.com", "password": "whatever it is"}
    )

    assert response.status_code == 422
    assert "Wrong email or password." in html(response)
    assert signed_in_as(client) is None


def test_a_blank_password_is_shown_next_to_the_field(app, client):
    _, email = create_user(app, "patient")

    response = submit(client, "/login", data={"email": email, "password": ""})

    assert response.status_code == 422
    assert_field_error(html(response), "f-password", "Length must be between 1 and 256.")
    assert signed_in_as(client) is None


def test_sign_in_returns_to_a_same_site_next(app, client):
    _, email = create_user(app, "patient")
    page = html(client.get("/login", query_string={"next": "/me/bookings?x=1"}))
    assert '<input type="hidden" name="next" value="/me/bookings?x=1">' in page

    response = submit(
        client,
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/me/bookings?x=1"},
    )

    assert location_of(response) == ("/me/bookings", {"x": ["1"]})


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "\\\\evil.example",
    ],
    ids=["absolute", "scheme-relative", "backslash", "javascript", "tab", "double-backslash"],
)
@pytest.mark.parametrize(
    ("role", "home"),
    [("patient", "/"), ("practitioner", "/dashboard"), ("admin", "/admin/listings")],
)
def test_an_offsite_next_lands_on_the_roles_home(app, client, target, role, home):
    _, email = create_user(app, role)
    login_page = html(client.get("/login", query_string={"next": target}))
    assert 'name="next"' not in login_page

    response = submit(client, "/login", data={"email": email, "password": PASSWORD, "next": target})

    assert response.status_code == 303
    assert response.headers["Location"] == home
    assert signed_in_as(client) == email


def test_an_offsite_next_is_not_followed_after_sign_up_either(client):
    response = submit(client, "/signup", data=signup_form(next="https://evil.example/"))

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_without_csrf_token_is_refused(app, client):
    _, email = create_user(app, "patient")

    response = client.post("/login", data={"email": email, "password": PASSWORD})

    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_login_with_a_forged_csrf_token_is_refused(app, client):
    _, email = create_user(app, "patient")
    client.get("/login")

    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"}
    )

    assert response.status_code == 400
    assert signed_in_as(client) is None


def test_a_signed_in_visitor_opening_login_goes_home(app, client):
    _, email = create_user(app, "practitioner")
    sign_in(client, email)

    response = client.get("/login")

    assert location_of(response) == ("/dashboard", {})


def test_login_links_to_signup_keeping_next(client):
    wanted = "/book?service_id=abc&start_at=2027-03-09T10:00:00+11:00"

    page = html(client.get("/login", query_string={"next": wanted}))

    link = re.search(r'<a href="(/signup[^"]*)">Create an account</a>', page)
    assert link, "no link to sign-up"
    target = urlsplit(unescape(link.group(1)))
    assert target.path == "/signup"
    assert parse_qs(target.query) == {"next": [wanted]}
    signup_page = html(client.get(unescape(link.group(1))))
    assert f'<input type="hidden" name="next" value="{escape(wanted)}">' in signup_page


def test_signup_links_back_to_login_keeping_next(client):
    page = html(client.get("/signup", query_string={"next": "/me/bookings"}))
    article = page[page.index('<article class="narrow">') :]

    link = re.search(r'<a href="(/login[^"]*)">Sign in</a>', article)
    assert link
    assert parse_qs(urlsplit(link.group(1)).query) == {"next": ["/me/bookings"]}


# --- sign-out ------------------------------------------------------------------------------


def test_signing_out_ends_the_session(app, client):
    _, email = create_user(app, "patient")
    sign_in(client, email)
    assert client.get("/me/bookings").status_code == 200

    response = submit(client, "/me/bookings", "/logout")

    assert location_of(response) == ("/", {})
    assert signed_in_as(client) is None
    after = client.get("/me/bookings")
    assert location_of(after) == ("/login", {"next": ["/me/bookings"]})
    assert "Sign out" not in html(client.get("/"))


def test_every_page_of_a_signed_in_user_offers_sign_out(app, client):
    _, email = create_user(app, "patient")
    sign_in(client, email)

    page = html(client.get("/"))

    form = re.search(r'<form method="post" action="/logout".*?</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(0)
    assert re.search(r"<button[^>]*>Sign out</button>", form.group(0))


def test_logout_without_csrf_token_is_refused_and_stays_signed_in(app, client):
    _, email = create_user(app, "patient")
    sign_in(client, email)

    response = client.post("/logout")

    assert response.status_code == 400
    assert signed_in_as(client) == email
    assert client.get("/me/bookings").status_code == 200


# --- account settings ----------------------------------------------------------------------


def _reminders_of(app, email: str) -> bool:
    with app.app_context():
        return db.session.scalar(sa.select(User.email_reminders).where(User.email == email))


def test_the_account_page_is_for_signed_in_users(client):
    response = client.get("/account")

    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/account"


def test_turning_reminders_off_and_on_again(app, client):
    _id, email = create_user(app, "patient")
    sign_in(client, email)
    page = html(client.get("/account"))
    assert 'name="email_reminders" value="true" checked' in page

    off = submit(client, "/account", data={})
    assert off.status_code == 303
    assert _reminders_of(app, email) is False
    assert 'value="true" checked' not in html(client.get("/account"))

    submit(client, "/account", data={"email_reminders": "true"})
    assert _reminders_of(app, email) is True


def test_account_settings_without_a_csrf_token_change_nothing(app, client):
    _id, email = create_user(app, "practitioner")
    sign_in(client, email)

    response = client.post("/account", data={})

    assert response.status_code == 400
    assert _reminders_of(app, email) is True


def test_a_bad_reminders_value_is_422_next_to_the_box(app, client):
    _id, email = create_user(app, "patient")
    sign_in(client, email)

    response = submit(client, "/account", data={"email_reminders": "maybe"})

    page = html(response)
    assert response.status_code == 422
    assert (
        'aria-describedby="f-email_reminders-hint f-email_reminders-error" aria-invalid="true"'
        in (page)
    )
    assert 'role="alert"' in page
    assert _reminders_of(app, email) is True
