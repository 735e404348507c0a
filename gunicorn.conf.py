"""gunicorn's settings, read from the working directory (`gunicorn wsgi:app` in production)."""

import logging
import threading


def post_worker_init(worker):
    """Start loading the worker's search index as it starts serving (some seconds at 100,000
    listings), so that no patient's search waits for all of it. In a thread: the worker keeps
    answering gunicorn's heartbeat however long the load takes, and a search that comes first
    waits for the load rather than doing it again. A failure only defers it to that search."""
    from marketplace.search.sync import warm_index

    def warm():
        try:
            warm_index(worker.wsgi)
        except Exception:
            logging.getLogger("gunicorn.error").exception("search index not loaded at start")
        # The place names behind `near` (some seconds to read), so no patient waits for them.
        from marketplace.search.places import find_place

        find_place("Sydney")

    loading = threading.Thread(target=warm, name="search-index", daemon=True)
    loading.start()
    return loading
