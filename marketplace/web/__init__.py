"""Server-rendered pages: forms and views over the same services as the API."""

import secrets

from flask import Flask

from marketplace import formatting


def register(app: Flask) -> None:
    from marketplace.web import admin, auth, patient, practitioner

    for module in (auth, patient, practitioner, admin):
        app.register_blueprint(module.bp)
    app.jinja_env.filters.update(
        local_short=formatting.local_short,
        local_full=formatting.local_full,
        local_clock=formatting.local_clock,
        day_short=formatting.day_short,
        day_full=formatting.day_full,
        money=formatting.money,
        language_name=formatting.language_name,
        cancellation_policy=formatting.cancellation_policy,
    )
    # A fresh random key for a form's idempotency (a double submit is one request).
    app.jinja_env.globals["new_key"] = lambda: secrets.token_urlsafe(12)
