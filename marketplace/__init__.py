"""The practitioner booking marketplace: the application factory."""

import logging
import os

from flask import Flask

from config import CONFIGS, INSTANCE_DIR
from marketplace import extensions
from marketplace.errors import ProblemApi, register_error_handlers
from marketplace.notifications.smtp import check_config as check_email_config
from marketplace.request_guard import init_request_guard


def create_app(config: str | type | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="../templates", instance_path=str(INSTANCE_DIR))
    app.config.from_object(_config_class(config))
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    init_request_guard(app)
    register_commands(app)
    return app


def configure_logging(app: Flask) -> None:
    """Our own INFO lines (each email, logged when there is no SMTP server; outbox retries) go
    to stderr, unless the host (gunicorn, a test runner) has set logging up itself."""
    logger = logging.getLogger("marketplace")
    if app.testing or logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _config_class(config: str | type | None) -> type:
    if isinstance(config, type):
        return config
    name = config or os.environ.get("MARKETPLACE_ENV") or "development"
    config_class = CONFIGS[name]
    if hasattr(config_class, "validate"):
        config_class.validate()
    return config_class


def register_extensions(app: Flask) -> None:
    from marketplace import models  # noqa: F401  (registers every table on the metadata)
    from marketplace.accounts.auth import init_auth
    from marketplace.payments.providers import init_payments
    from marketplace.search import index  # noqa: F401  (the commit hook for marked listings)

    _tune_postgresql(app)
    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app,
        extensions.db,
        directory=os.path.join(app.root_path, "..", "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    extensions.limiter.init_app(app)
    extensions.csrf.init_app(app)
    init_auth(app)
    init_payments(app)
    check_email_config(app.config)  # a malformed SMTP_URL stops the app here
    app.extensions["api"] = ProblemApi(app)


def _tune_postgresql(app: Flask) -> None:
    """JIT compilation costs more than it saves on short OLTP queries (measured: up to 300 ms
    a search); switch it off for the app's own connections."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("options", "-c jit=off")
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_blueprints(app: Flask) -> None:
    from marketplace import api_docs, health, web
    from marketplace.accounts import routes as accounts
    from marketplace.admin import routes as admin
    from marketplace.availability import routes as availability
    from marketplace.bookings import routes as bookings
    from marketplace.catalog import routes as catalog
    from marketplace.notifications import routes as notifications
    from marketplace.payments import routes as payments
    from marketplace.practitioners import routes as practitioners
    from marketplace.search import routes as search

    api = app.extensions["api"]
    modules = (
        health,
        accounts,
        catalog,
        search,
        practitioners,
        availability,
        bookings,
        payments,
        admin,
        notifications,
    )
    for module in modules:
        api.register_blueprint(module.bp)
    app.register_blueprint(api_docs.bp)
    web.register(app)


def register_commands(app: Flask) -> None:
    from marketplace.cli import register

    register(app)
