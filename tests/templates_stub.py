"""A tiny stand-in for Facebook's `GET /{page-id}/message_templates`, on a real socket.

Stands in until the Graph API simulator serves the endpoint (branch sim-2026):
the client and `pageflows templates sync` are then pointed at the simulator
instead. It pages with `after` cursors as Facebook does (`paging.cursors` and a
`paging.next` URL carrying the token, no `next` on the last page), checks the
token, and answers a page's injected Graph error instead when told to.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


@dataclass
class Stub:
    root: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # token -> page id
    templates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # page -> items
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)

    def url(self, version: str = "v25.0") -> str:
        return f"{self.root}/{version}"

    def page(self, page_id: str, token: str, items: list[dict[str, Any]]) -> None:
        self.tokens[token] = page_id
        self.templates[page_id] = items


def template(
    name: str,
    status: str = "APPROVED",
    language: str = "en_US",
    body: str = "Hi {{1}}, your order {{2}} has shipped.",
    buttons: tuple[str, ...] = ("URL",),
    tid: str | None = None,
) -> dict[str, Any]:
    """One item as Facebook lists it, with the fields pageflows asks for."""
    components: list[dict[str, Any]] = [{"type": "BODY", "text": body}]
    if buttons:
        components.append(
            {"type": "BUTTONS", "buttons": [{"type": b.lower(), "text": b} for b in buttons]}
        )
    return {
        "id": tid or str(zlib.crc32(f"{name}/{language}".encode())),
        "name": name,
        "language": language,
        "status": status,
        "category": "UTILITY",
        "components": components,
    }


def _app(stub: Stub) -> Flask:
    app = Flask("templates-stub")

    @app.get("/<version>/<page_id>/message_templates")
    def message_templates(version: str, page_id: str) -> Any:
        stub.calls.append({"version": version, "page": page_id, **request.args.to_dict()})
        token = request.args.get("access_token", "")
        if stub.tokens.get(token) != page_id:
            error = {"message": "Invalid OAuth access token.", "type": "OAuthException"}
            return jsonify(error={**error, "code": 190}), 400
        if page_id in stub.errors:
            status, body = stub.errors[page_id]
            return jsonify(body), status
        items = stub.templates.get(page_id, [])
        limit = int(request.args.get("limit", "25"))
        start = int(request.args.get("after", "c0")[1:])
        chunk = items[start : start + limit]
        answer: dict[str, Any] = {"data": chunk}
        if chunk:
            answer["paging"] = {"cursors": {"before": f"c{start}", "after": f"c{start + limit}"}}
            if start + limit < len(items):
                answer["paging"]["next"] = (
                    f"{stub.root}/{version}/{page_id}/message_templates?access_token={token}"
                    f"&limit={limit}&after=c{start + limit}"
                )
        return jsonify(answer)

    return app


@contextmanager
def running_stub() -> Iterator[Stub]:
    stub = Stub()
    server = make_server("127.0.0.1", 0, _app(stub), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stub.root = f"http://127.0.0.1:{server.server_port}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
