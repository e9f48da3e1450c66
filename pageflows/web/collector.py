"""The garbage collector in a web worker process: what was loaded is frozen out of its scans.

Why: a worker process holds about 120,000 objects that the collector tracks
once the app is loaded (Flask, SQLAlchemy, pydantic's schemas, the operator API
and the console). Python's full collection walks every one of them: 60 ms of
CPU on this project's 2-core machine, with the interpreter lock held, so every
thread of the process stops meanwhile and each request in flight waits for it
(issue 13: the ingest benchmark's p99 at half the peak rate was 50 ms while
the median was 2). These objects live as long as the process; none of them is
garbage. `gc.freeze()` moves them into the permanent generation, which no
collection walks; reference counting still frees any of them that dies.

Frozen twice: once after the app is loaded (gunicorn's `post_worker_init`),
and once more after the process's first requests, which build what is made
lazily at first use (the database connection and its dialect's state, caches
of compiled statements, 15,000-20,000 objects). Objects of requests in flight
then are frozen too: whatever is freed by reference counting still is; a
cycle among them is never collected, once, a few objects at most.

Both hooks are gunicorn settings (`web/application.py`), so any app served
with them, the benchmark's bare Flask endpoint included, gets the same.
"""

from __future__ import annotations

import gc
import itertools
from typing import Any

# Requests a worker process serves before what they built at first use is frozen.
WARM_REQUESTS = 200


def freeze_loaded(worker: Any) -> None:
    """gunicorn's `post_worker_init`: the app is loaded, no request has been served."""
    gc.collect()
    gc.freeze()
    worker.pageflows_requests = itertools.count(1)


def freeze_warm(worker: Any, _request: Any, _environ: Any, _response: Any) -> None:
    """gunicorn's `post_request` (in the request's thread): freeze once more, once warm.

    `next` on an `itertools.count` is atomic under the interpreter lock, so exactly
    one request of all threads is the one that freezes."""
    counter = getattr(worker, "pageflows_requests", None)
    if counter is not None and next(counter) == WARM_REQUESTS:
        gc.freeze()
