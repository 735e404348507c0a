"""gunicorn's settings, read from the working directory (`gunicorn wsgi:app` in production)."""

import logging

# What a worker's first search costs once, whoever asks it: the place names behind `near`,
# the ORM's mappers, compiling the search's statements, a database connection and the
# server's catalog caches for it. A search near a place by text, and one by soonest, pay.
WARM_UP_SEARCH = {"near": "Sydney", "q": "back pain"}


def post_worker_init(worker):
    """Warm the worker before it takes its first request (a fraction of a second, while the
    other workers serve), so that no patient's search is the one that pays; a failure only
    leaves that cost to the first."""
    from werkzeug.test import Client

    from marketplace.search.places import find_place

    try:
        place = find_place(WARM_UP_SEARCH["near"])
        # As a request the app accepts: production answers its TRUSTED_HOSTS only.
        hosts = worker.wsgi.config.get("TRUSTED_HOSTS") or ["localhost"]
        client = Client(worker.wsgi)
        for query in (
            {"lat": place.latitude, "lng": place.longitude, "q": WARM_UP_SEARCH["q"]},
            {"sort": "soonest"},
        ):
            client.get("/api/v1/practitioners", query_string=query, headers={"Host": hosts[0]})
    except Exception:
        logging.getLogger("gunicorn.error").exception("search warm-up failed")
