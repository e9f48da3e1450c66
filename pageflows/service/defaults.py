"""The service's default settings, in a module that imports nothing heavy.

issue 13: A. `pageflows check` reads the settings file (service/config.py) for
the Pages' region and templates; the defaults config.py fills in used to come
from the modules that use them (the database, the Graph transport, the pace),
so reading a settings file imported SQLAlchemy and requests: over a second
before any work. They live here; those modules take them from here.
"""

from __future__ import annotations

from pageflows.engine.graph_versions import DEFAULT_VERSION

DEFAULT_URL = "sqlite:///pageflows.db"

GRAPH_HOST = "https://graph.facebook.com"
DEFAULT_GRAPH_URL = f"{GRAPH_HOST}/{DEFAULT_VERSION}"  # the base every Graph path follows

DEFAULT_RATE = 20.0  # messages per second: half the Page Inbox threshold
MIN_RATE = 0.1  # one message every 10 s: anything slower is a mistake
MAX_RATE = 40.0  # the Page Inbox threshold itself (policy.md §5)
