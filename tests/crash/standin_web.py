"""TEMPORARY stand-in for `pageflows serve --web-only` until pageflows/web.py is merged.

Serves pageflows.webhook.app.create_app on a threaded werkzeug server, configured
from the same environment variables. Deleted as soon as `mp` has the web server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from pageflows.clock import SystemClock
from pageflows.serve import prepare_database
from pageflows.service.config import load_settings
from pageflows.webhook.app import create_app


def main(host: str, port: int) -> None:
    settings = load_settings(os.environ, Path("pageflows.toml"))
    engine = prepare_database(settings, SystemClock())
    app = create_app(
        engine=engine,
        app_secret=settings.app_secret,
        verify_token=settings.verify_token,
        clock=SystemClock(),
    )
    server = make_server(host, port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"stand-in webhook on {host}:{port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
