"""The total and facets of a search, kept for a few seconds per filter set.

Counting every match is most of a broad search's work, and a count a few seconds old misleads
no one; the page itself is never kept, so a listing that stops being bookable or approved
leaves the very next search. Kept for `SEARCH_FACETS_CACHE_SECONDS` (0: not kept) in Redis
when `REDIS_URL` is set, so every worker shares them; else in the worker's memory.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Callable

from cachetools import TTLCache
from flask import Flask, current_app
from redis.exceptions import RedisError

from marketplace.extensions import redis_connection

log = logging.getLogger(__name__)

KEY_PREFIX = "search-counts:"
# Distinct filter sets a worker keeps at once (a few hundred bytes each).
LOCAL_ENTRIES = 4096


def cached(filters: dict, count: Callable[[], dict]) -> dict:
    """`count()`, or what it returned for the same `filters` (JSON) in the last seconds."""
    app = current_app._get_current_object()
    seconds = app.config.get("SEARCH_FACETS_CACHE_SECONDS", 0)
    if seconds <= 0:
        return count()
    digest = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()
    key = KEY_PREFIX + digest
    if app.config.get("REDIS_URL"):
        return _in_redis(app, key, seconds, count)
    return _in_memory(app, key, seconds, count)


def _in_redis(app: Flask, key: str, seconds: int, count: Callable[[], dict]) -> dict:
    redis = redis_connection(app)
    try:
        kept = redis.get(key)
    except RedisError:
        log.warning("search counts cache unavailable", exc_info=True)
        return count()
    if kept is not None:
        return json.loads(kept)
    value = count()
    try:
        redis.set(key, json.dumps(value), ex=seconds)
    except RedisError:
        log.warning("search counts cache unavailable", exc_info=True)
    return value


class _Local:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.entries: TTLCache = TTLCache(maxsize=LOCAL_ENTRIES, ttl=seconds)
        self.lock = threading.Lock()


def _in_memory(app: Flask, key: str, seconds: int, count: Callable[[], dict]) -> dict:
    local = app.extensions.get("search_counts")
    if local is None or local.seconds != seconds:
        local = app.extensions["search_counts"] = _Local(seconds)
    with local.lock:
        kept = local.entries.get(key)
    if kept is not None:
        return json.loads(kept)
    value = count()
    with local.lock:
        local.entries[key] = json.dumps(value)
    return value
