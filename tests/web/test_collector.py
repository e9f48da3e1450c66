"""A web worker process freezes what it loaded out of the collector's scans, then once warm.

What an operator would notice otherwise: a full collection walking the
120,000 objects of the loaded app (60 ms with the interpreter lock held) stops
every request in flight of the process (pageflows/web/collector.py). These
are the two gunicorn hooks `gunicorn_settings` installs, called as gunicorn
calls them.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from pageflows.web import WebOptions
from pageflows.web.application import gunicorn_settings
from pageflows.web.collector import freeze_loaded, freeze_warm


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_server_settings_install_both_hooks() -> None:
    settings = gunicorn_settings(WebOptions(host="127.0.0.1", port=8000))
    assert settings["post_worker_init"] is freeze_loaded
    assert settings["post_request"] is freeze_warm


WARM_SCRIPT = """
import gc
from types import SimpleNamespace
from pageflows.web import application  # the loaded app's modules, as a worker has them
from pageflows.web.collector import WARM_REQUESTS, freeze_loaded, freeze_warm

worker = SimpleNamespace()
freeze_loaded(worker)
loaded = gc.get_freeze_count()
built = [[i] for i in range(1_000)]  # what a first request builds and keeps
for _ in range(WARM_REQUESTS - 1):
    freeze_warm(worker, None, {}, None)
before_warm = gc.get_freeze_count()
freeze_warm(worker, None, {}, None)
warm = gc.get_freeze_count()
for _ in range(WARM_REQUESTS * 2):
    freeze_warm(worker, None, {}, None)
print(loaded, before_warm, warm, gc.get_freeze_count())
"""


def test_what_was_loaded_is_frozen_and_what_the_first_requests_built_once_warm() -> None:
    """In a process of its own, as a gunicorn worker is: in the test process, a server
    another test left running in a thread freezes on its own 200th request."""
    ran = subprocess.run(
        [sys.executable, "-c", WARM_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    loaded, before_warm, warm, later = map(int, ran.stdout.split())
    assert loaded > 10_000  # Flask, SQLAlchemy, pydantic and pageflows, at least
    assert before_warm == loaded  # not before the WARM_REQUESTS-th request
    assert warm >= loaded + 1_000  # then what the first requests built
    assert later == warm  # once, not every WARM_REQUESTS


def test_a_worker_that_never_loaded_the_hook_is_left_alone(unfrozen: None) -> None:
    freeze_warm(SimpleNamespace(), None, {}, None)
    assert gc.get_freeze_count() == 0
