"""`create_app`: the simulated Graph API, its `/_sim/` control API and fake media.

One Flask app so a test starts a single server; all routes share one SimState.
Graph errors keep Facebook's body and headers; control-API mistakes answer a
plain `{"error": "..."}` so they can never be confused with a Graph refusal.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError

from pageflows.simulator.actions import ActionError
from pageflows.simulator.contact import WebhookDeliveryError
from pageflows.simulator.control import control_blueprint
from pageflows.simulator.errors import GraphError
from pageflows.simulator.graph import graph_blueprint
from pageflows.simulator.oauth import oauth_blueprint
from pageflows.simulator.state import MediaFile, SimState

_CHUNK = b"\0" * 65536


def create_app(state: SimState | None = None) -> Flask:
    state = state if state is not None else SimState()
    app = Flask("pageflows.simulator")
    app.extensions["pageflows_simulator"] = state
    app.register_blueprint(control_blueprint(state), url_prefix="/_sim")
    app.register_blueprint(graph_blueprint(state))
    app.register_blueprint(oauth_blueprint(state))  # issue 11: Facebook Login, subscriptions

    @app.errorhandler(GraphError)
    def graph_error(error: GraphError) -> Response:
        body = error.body()
        response = jsonify(body)
        response.status_code = error.status
        kind = "invalid_token" if error.code == 190 else "invalid_request"
        if error.code in (1, 2):
            kind = "unknown_error"
        response.headers["WWW-Authenticate"] = (
            f'OAuth "Facebook Platform" "{kind}" "{error.message}"'
        )
        response.headers["x-fb-trace-id"] = body["error"]["fbtrace_id"]
        return response

    @app.errorhandler(ActionError)
    def action_error(error: ActionError) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, error.status

    @app.errorhandler(LookupError)
    def lookup_error(error: LookupError) -> tuple[dict[str, str], int]:
        return {"error": str(error.args[0] if error.args else error)}, 404

    @app.errorhandler(ValidationError)
    def bad_control_body(error: ValidationError) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, 400

    @app.errorhandler(WebhookDeliveryError)
    def webhook_down(error: WebhookDeliveryError) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, 502

    @app.route("/media/<path:name>", methods=["GET", "HEAD"])
    def media(name: str) -> Response:
        """Fake media so the engine's size/type check runs against a real HEAD.

        Registered files (`POST /_sim/media`) win; otherwise the type is guessed
        from the extension with a 1 KiB size; unknown extensions are 404.
        """
        with state.lock:
            found = state.media.get(name)
        if found is None:
            guessed = mimetypes.guess_type(name)[0]
            if guessed is None:
                return Response("not found", status=404, mimetype="text/plain")
            found = MediaFile(guessed, 1024)
        body = b"" if request.method == "HEAD" else _zeros(found.content_length)
        response = Response(body, content_type=found.content_type)
        response.headers["Content-Length"] = str(found.content_length)  # after: Response sets 0
        return response

    return app


def _zeros(length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = _CHUNK[: min(remaining, len(_CHUNK))]
        remaining -= len(chunk)
        yield chunk
