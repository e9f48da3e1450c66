"""The webhook app on a thread of the test process, for tests that share a fake clock.

Production serves it with gunicorn in processes of their own (pageflows/web.py);
a test that moves a `FakeClock` needs the webhook to read that same clock, so
it serves `create_app` here on a local socket, exactly as gunicorn would call it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from pageflows.api import ApiContext, create_api
from pageflows.console import install_console
from pageflows.serve import Service
from pageflows.webhook.app import create_app


@dataclass
class Served:
    service: Service
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()
        self.service.stop()


def serve_in_thread(service: Service) -> Served:
    """The service's webhook on a free port; `stop()` ends both."""
    app = create_app(
        engine=service.engine,
        app_secret=service.settings.app_secret,
        verify_token=service.settings.verify_token,
        clock=service.clock,
        wake=service.wake,
    )
    # The operator API, as gunicorn's processes add it (web/application.py), on the same
    # clock and with the flows the worker runs.
    programs = {page_id: runtime.program for page_id, runtime in service.worker.pages.items()}
    context = ApiContext(service.engine, service.clock, service.settings, _programs=programs)
    app.register_blueprint(create_api(context))
    install_console(app, context)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    return Served(service, server, thread)
