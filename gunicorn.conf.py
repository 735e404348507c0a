"""gunicorn's settings, read from the working directory (`gunicorn wsgi:app` in production)."""

import threading


def post_worker_init(worker):
    """Read the place names behind `near` (some seconds) as the worker starts serving, in a
    thread, so that no patient's search waits for them and the worker keeps answering
    gunicorn's heartbeat meanwhile."""
    from marketplace.search.places import find_place

    loading = threading.Thread(target=find_place, args=("Sydney",), name="places", daemon=True)
    loading.start()
    return loading
