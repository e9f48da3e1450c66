"""The Graph API simulator in a process of its own, noting when each send reaches it.

The simulator records what it was sent with its own (settable) clock; the end to
end benchmark needs the wall time a send arrived, comparable with the time the
benchmark posted the event. This wraps `pageflows.simulator.create_app` without
changing it: a `before_request` hook notes (recipient, wall time) for every
POST to `/<version>/<node>/messages`, before the simulator answers; `--delay`
makes every Graph call answer that much later (a slow Facebook). It also notes
(contact, wall time) as it starts each webhook POST (`contact.post_body`, where
a contact's action becomes the signed POST): the end to end latency runs "from
the POST to the send reaching the simulator" (issue 13), on one clock.

Its own routes: GET /_bench/sends (the notes), GET /_bench/posts, POST
/_bench/clear, GET /_bench/version. Run by bench/worker_world.py, not by hand.
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Response, jsonify, request

from pageflows.simulator import SimState, contact, create_app
from pageflows.simulator.harness import DEFAULT_VERSION
from pageflows.simulator.server import SimServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--page-id", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--app-secret", required=True)
    parser.add_argument("--webhook-url", required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per Graph call")
    args = parser.parse_args()

    app = create_app(SimState())
    sends: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    lock = threading.Lock()
    post_body = contact.post_body

    def noted_post(page: Any, body: dict[str, Any]) -> int:
        at = time.time()
        for entry in body.get("entry", ()):
            for item in entry.get("messaging", ()):
                with lock:
                    posts.append({"psid": item.get("sender", {}).get("id"), "at": at})
        return post_body(page, body)

    contact.post_body = noted_post  # post_event looks it up at each call

    @app.before_request
    def note() -> None:
        if request.path.startswith(("/_sim", "/_bench")):
            return
        if request.method == "POST" and request.path.endswith("/messages"):
            at = time.time()
            data = request.get_json(silent=True) or {}
            recipient = data.get("recipient") if isinstance(data, dict) else None
            psid = recipient.get("id") if isinstance(recipient, dict) else None
            with lock:
                sends.append({"psid": psid, "at": at})
        if args.delay:
            time.sleep(args.delay)

    @app.get("/_bench/sends")
    def bench_sends() -> Response:
        with lock:
            return jsonify(list(sends))

    @app.get("/_bench/posts")
    def bench_posts() -> Response:
        with lock:
            return jsonify(list(posts))

    @app.post("/_bench/clear")
    def bench_clear() -> Response:
        with lock:
            sends.clear()
            posts.clear()
        return jsonify(ok=True)

    @app.get("/_bench/version")
    def bench_version() -> Response:
        return Response(DEFAULT_VERSION, mimetype="text/plain")

    registered = app.test_client().post(
        "/_sim/pages",
        json={"page_id": args.page_id, "token": args.token, "app_secret": args.app_secret,
              "webhook_url": args.webhook_url, "verify_token": "bench-verify"},
    )  # fmt: skip
    if registered.status_code >= 400:
        raise SystemExit(f"could not register the page: {registered.get_data(as_text=True)}")
    server = SimServer(app, "127.0.0.1", args.port)
    # What start-up built leaves the collector's scans, as `pageflows serve` and the web
    # workers do theirs: a full collection here (40-120 ms, traced during the end-to-end
    # leg) held every Graph call that reached the simulator meanwhile, and the time of the
    # sends it was noting, a pause of the benchmark's Facebook, not of pageflows.
    gc.collect()
    gc.freeze()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
