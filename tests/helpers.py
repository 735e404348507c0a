"""Assertions shared by the test modules."""


def problem_of(response, status: int) -> dict:
    """Assert a problem+json response of this status and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def count_rows(app, model) -> int:
    import sqlalchemy as sa

    from marketplace.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))
