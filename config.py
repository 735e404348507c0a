"""Configuration classes, read from the environment variables named in DESIGN.md."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _payments_provider() -> str:
    explicit = os.environ.get("PAYMENTS_PROVIDER")
    if explicit:
        return explicit
    return "stripe" if os.environ.get("STRIPE_SECRET_KEY") else "simulated"


def normalise_database_url(url: str) -> str:
    """Route plain PostgreSQL URLs to the psycopg 3 driver that requirements.txt installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    MAX_CONTENT_LENGTH = 1024 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # The pages' forms check their token (marketplace/web); the JSON API is bearer or
    # same-origin cookie only, and webhooks carry signatures instead.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session that holds it

    PAYMENTS_PROVIDER = _payments_provider()
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    PLATFORM_FEE_BPS = _int_env("PLATFORM_FEE_BPS", 1000)
    HOLD_MINUTES = _int_env("HOLD_MINUTES", 15)
    MAX_OPEN_HOLDS = _int_env("MAX_OPEN_HOLDS", 3)
    REDIS_URL = os.environ.get("REDIS_URL")
    # How long a search's total and facets may be reused for the same filters (0: never).
    SEARCH_FACETS_CACHE_SECONDS = _int_env("SEARCH_FACETS_CACHE_SECONDS", 30)

    # Email (marketplace/notifications): without SMTP_URL messages go to the log, not sent.
    SMTP_URL = os.environ.get("SMTP_URL") or None
    MAIL_FROM = os.environ.get("MAIL_FROM") or "Relieve <no-reply@localhost>"
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    OUTBOX_QUEUE = os.environ.get("OUTBOX_QUEUE") or "outbox"
    # A claimed message is not sent by anyone else for this long (a dead worker's lapses).
    OUTBOX_LEASE_SECONDS = _int_env("OUTBOX_LEASE_SECONDS", 120)
    OUTBOX_SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS") or 30)

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a hash algorithm, not a secret)
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    API_TITLE = "Practitioner booking marketplace"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


class DevelopmentConfig(Config):
    # Without SECRET_KEY, a key of this process only: sessions end when it restarts, and no
    # key anyone could know ever signs a cookie.
    SECRET_KEY = Config.SECRET_KEY or secrets.token_hex(32)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PAYMENTS_PROVIDER = "simulated"
    STRIPE_SECRET_KEY = None
    STRIPE_WEBHOOK_SECRET = "whsec_test_secret"  # noqa: S105
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Deliberately slow hashing would dominate the suite's run time.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105
    PLATFORM_FEE_BPS = 1000
    HOLD_MINUTES = 15
    # Each test sees its own writes' counts; the cache itself is tested with it switched on.
    SEARCH_FACETS_CACHE_SECONDS = 0


class ProductionConfig(Config):
    # Host names this deployment answers to (comma separated): links in emails, calendar
    # feeds and payment redirects are built from the Host header.
    TRUSTED_HOSTS = [
        h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()
    ] or None
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls) -> None:
        if not cls.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production")
        if cls.PAYMENTS_PROVIDER != "stripe":
            raise RuntimeError("production requires PAYMENTS_PROVIDER=stripe")
        if not (cls.STRIPE_SECRET_KEY and cls.STRIPE_WEBHOOK_SECRET):
            raise RuntimeError("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
