"""Extension singletons, created unbound and initialised by the app factory."""

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from redis import Redis

from marketplace.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)
csrf = CSRFProtect()


def redis_connection(app: Flask) -> Redis:
    """The app's Redis client (REDIS_URL), one per app: it pools its own connections."""
    client = app.extensions.get("redis")
    if client is None:
        client = app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"])
    return client
