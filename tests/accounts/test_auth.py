import sqlalchemy as sa

from marketplace.accounts.models import ApiToken, User
from marketplace.extensions import db
from tests.factories import PASSWORD
from tests.helpers import count_rows, problem_of

REGISTER = "/api/v1/auth/register"


def register(client, **overrides):
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada", "role": "patient"}
    body.update(overrides)
    return client.post(REGISTER, json=body)


def test_register_patient_returns_user_without_password(client):
    response = register(client)
    assert response.status_code == 201
    body = response.get_json()
    assert body["email"] == "ada@example.com"
    assert body["role"] == "patient"
    assert set(body) == {"id", "email", "name", "role", "created_at"}


def test_register_practitioner(client):
    response = register(client, role="practitioner")
    assert response.status_code == 201
    assert response.get_json()["role"] == "practitioner"


def test_register_defaults_to_patient(client):
    body = {"email": "bo@example.com", "password": PASSWORD, "name": "Bo"}
    response = client.post(REGISTER, json=body)
    assert response.get_json()["role"] == "patient"


def test_password_is_stored_as_a_modern_hash(app, client):
    register(client)
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"])
        assert PASSWORD not in user.password_hash
        assert user.check_password(PASSWORD)


def test_production_hashes_passwords_with_scrypt():
    from config import ProductionConfig

    assert ProductionConfig.PASSWORD_HASH_METHOD == "scrypt"


def test_duplicate_email_in_other_letter_case_is_refused(app, client):
    register(client)
    body = problem_of(register(client, email="  ADA@Example.COM "), 409)
    assert "email" in body["errors"]
    assert count_rows(app, User) == 1


def test_email_is_stored_lower_case(client):
    response = register(client, email="Mixed.Case@Example.com")
    assert response.get_json()["email"] == "mixed.case@example.com"


def test_admin_cannot_be_self_registered(app, client):
    body = problem_of(register(client, role="admin"), 422)
    assert "role" in body["errors"]
    assert count_rows(app, User) == 0


def test_mass_assignment_fields_are_refused(app, client):
    for field, value in [
        ("is_admin", True),
        ("id", "x"),
        ("password_hash", "x"),
        ("created_at", "2026-01-01T00:00:00Z"),
    ]:
        body = problem_of(register(client, **{field: value}), 422)
        assert body["errors"][field] == ["Unknown field."]
    assert count_rows(app, User) == 0


def test_short_password_is_refused(app, client):
    body = problem_of(register(client, password="123456789"), 422)
    assert "password" in body["errors"]
    assert count_rows(app, User) == 0


def test_invalid_email_is_refused(app, client):
    body = problem_of(register(client, email="not-an-email"), 422)
    assert "email" in body["errors"]
    assert count_rows(app, User) == 0


def test_missing_fields_are_each_named(app, client):
    body = problem_of(client.post(REGISTER, json={}), 422)
    assert {"email", "password", "name"} <= body["errors"].keys()


def test_wrong_types_are_refused(app, client):
    body = problem_of(register(client, name=42, email=["a"]), 422)
    assert {"name", "email"} <= body["errors"].keys()
    assert count_rows(app, User) == 0


def test_malformed_json_is_400(app, client):
    response = client.post(REGISTER, data="{not json", content_type="application/json")
    problem_of(response, 400)
    assert count_rows(app, User) == 0


def test_json_that_is_not_an_object_is_422(app, client):
    problem_of(client.post(REGISTER, json=["a", "b"]), 422)
    assert count_rows(app, User) == 0


def test_cookie_sign_in_and_me(client, make_user):
    _, email = make_user("patient")
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.get_json()["email"] == email


def test_sign_out_ends_the_session(client, make_user):
    _, email = make_user("patient")
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert client.post("/api/v1/auth/logout").status_code == 204
    problem_of(client.get("/api/v1/me"), 401)


def test_wrong_password_is_401(client, make_user):
    _, email = make_user("patient")
    problem_of(
        client.post("/api/v1/auth/login", json={"email": email, "password": "nope" * 3}), 401
    )
    problem_of(client.get("/api/v1/me"), 401)


def test_unknown_email_is_401(client):
    response = client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": PASSWORD}
    )
    problem_of(response, 401)


def test_me_anonymous_is_401(client):
    body = problem_of(client.get("/api/v1/me"), 401)
    assert body["title"] == "Unauthorized"


def test_token_sign_in(app, client, make_user):
    _, email = make_user("practitioner")
    response = client.post("/api/v1/auth/tokens", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["role"] == "practitioner"
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken))
        assert token not in stored.digest
        assert stored.last_used_at is not None


def test_token_request_with_wrong_password_is_401_and_issues_nothing(app, client, make_user):
    _, email = make_user("patient")
    problem_of(
        client.post("/api/v1/auth/tokens", json={"email": email, "password": "wrong password"}), 401
    )
    assert count_rows(app, ApiToken) == 0


def test_unknown_token_is_401(client):
    problem_of(client.get("/api/v1/me", headers={"Authorization": "Bearer mkp_nope"}), 401)


def test_malformed_authorization_header_is_401(client):
    for header in ("Bearer", "Basic abc", "Bearer    ", "token"):
        problem_of(client.get("/api/v1/me", headers={"Authorization": header}), 401)


def test_revoked_token_is_401(client, token_for, make_user):
    _, email = make_user("patient")
    headers = token_for(email)
    tokens = client.get("/api/v1/auth/tokens", headers=headers).get_json()["items"]
    assert len(tokens) == 1 and "token" not in tokens[0]
    response = client.delete(f"/api/v1/auth/tokens/{tokens[0]['id']}", headers=headers)
    assert response.status_code == 204
    problem_of(client.get("/api/v1/me", headers=headers), 401)


def test_cannot_revoke_another_users_token(client, token_for, make_user):
    _, alice = make_user("patient")
    _, bob = make_user("patient")
    alice_headers = token_for(alice)
    bob_headers = token_for(bob)
    alice_token = client.get("/api/v1/auth/tokens", headers=alice_headers).get_json()["items"][0]
    problem_of(client.delete(f"/api/v1/auth/tokens/{alice_token['id']}", headers=bob_headers), 404)
    assert client.get("/api/v1/me", headers=alice_headers).status_code == 200


def test_cross_origin_cookie_post_is_refused(client, make_user):
    _, email = make_user("patient")
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    response = client.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"})
    problem_of(response, 403)
    assert client.get("/api/v1/me").status_code == 200


def test_cross_site_fetch_metadata_is_refused(client, make_user):
    _, email = make_user("patient")
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    response = client.post("/api/v1/auth/logout", headers={"Sec-Fetch-Site": "cross-site"})
    problem_of(response, 403)


def test_same_origin_cookie_post_is_allowed(client, make_user):
    _, email = make_user("patient")
    client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    response = client.post("/api/v1/auth/logout", headers={"Origin": "http://localhost"})
    assert response.status_code == 204


def test_bearer_requests_are_not_subject_to_origin_checks(client, auth):
    headers = auth("patient")
    response = client.get("/api/v1/me", headers={**headers, "Origin": "https://app.example"})
    assert response.status_code == 200


def test_create_admin_command_creates_then_promotes(app, runner, make_user):
    result = runner.invoke(args=["create-admin", "Root@Example.com", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created" in result.output
    _, email = make_user("patient")
    result = runner.invoke(args=["create-admin", email, "--password", PASSWORD])
    assert "Promoted" in result.output
    with app.app_context():
        roles = dict(db.session.execute(sa.select(User.email, User.role)).all())
    assert roles == {"root@example.com": "admin", email: "admin"}


def test_create_admin_is_idempotent(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["create-admin", "root@example.com", "--password", PASSWORD])
        assert result.exit_code == 0
    assert count_rows(app, User) == 1


def test_create_admin_refuses_short_password(app, runner):
    result = runner.invoke(args=["create-admin", "root@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert count_rows(app, User) == 0
