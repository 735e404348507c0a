"""gunicorn's settings, read from the working directory (`gunicorn wsgi:app` in production)."""

import logging


def post_worker_init(worker):
    """Load the worker's search index before it takes requests, so that no patient's search
    waits for it (some seconds at 100,000 listings). A failure only defers the load to the
    first search."""
    from marketplace.search.sync import warm_index

    try:
        warm_index(worker.wsgi)
    except Exception:
        logging.getLogger("gunicorn.error").exception("search index not loaded at start")
