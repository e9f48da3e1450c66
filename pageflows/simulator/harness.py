"""`running_simulator()`: a real HTTP simulator on 127.0.0.1 for tests and e2e runs.

Real sockets on purpose: the engine's Graph client, its timeouts and its
signature check must meet Facebook's wire behaviour, not a Flask test client.
`SimControl` wraps the `/_sim/` API so tests read like a script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from pageflows.simulator.app import create_app
from pageflows.simulator.server import SimServer
from pageflows.simulator.state import SimState

DEFAULT_VERSION = "v25.0"  # pageflows' default (engine/graph_versions.py); any vNN.N is served


class SimRefused(RuntimeError):
    """The simulator answered 4xx/5xx; `error` is its sentence (what a person should read)."""

    def __init__(self, method: str, path: str, status: int, data: Any) -> None:
        super().__init__(f"{method} /_sim/{path} -> {status}: {data}")
        self.status = status
        found = data.get("error") if isinstance(data, dict) else None
        self.error = str(found) if found is not None else str(data)


class SimControl:
    """Thin client for `/_sim/`; every method returns the decoded JSON answer."""

    def __init__(self, root: str, timeout: float = 15.0) -> None:
        self.root = root.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(
            method, f"{self.root}/_sim/{path}", json=body, timeout=self.timeout
        )
        data = response.json()
        if response.status_code >= 400:
            raise SimRefused(method, path, response.status_code, data)
        return data

    def register_page(
        self,
        page_id: str,
        token: str,
        app_secret: str,
        webhook_url: str,
        *,
        region: str | None = None,
        ad_window: bool = False,
        templates: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Any:
        """Register a page; `region` is AU/EU/JP/KR/UK or None (none of them, the default),
        `templates` are `add_template`'s keyword arguments as dicts (`name`, `body`, ...)."""
        body = {"page_id": page_id, "token": token, "app_secret": app_secret,
                "webhook_url": webhook_url, "region": region, "ad_window": ad_window,
                "templates": templates or [], **extra}  # fmt: skip
        return self.call("POST", "pages", body)

    def configure_page(self, page_id: str | None = None, **settings: Any) -> Any:
        """Change `region` (None clears it), `ad_window` or `webhook_url`; the rest stays."""
        return self.call("PATCH", "pages", {"page_id": page_id, **settings})

    def pages(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call("GET", "pages")["data"]
        return data

    def add_template(
        self,
        name: str,
        body: str | None = None,
        *,
        language: str = "en_US",
        status: str = "APPROVED",
        buttons: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        category: str = "UTILITY",
        template_id: str | None = None,
        page_id: str | None = None,
    ) -> dict[str, Any]:
        """Give the page a template as Facebook already has it (no review, no webhook)."""
        given = {"name": name, "body": body, "language": language, "status": status,
                 "buttons": buttons, "components": components, "category": category,
                 "id": template_id, "page_id": page_id}  # fmt: skip
        created: dict[str, Any] = self.call(
            "POST", "templates", {k: v for k, v in given.items() if v is not None}
        )
        return created

    def templates(self, page_id: str | None = None) -> list[dict[str, Any]]:
        query = "templates" + (f"?page_id={page_id}" if page_id else "")
        data: list[dict[str, Any]] = self.call("GET", query)["data"]
        return data

    def set_template_status(
        self,
        status: str,
        *,
        name: str | None = None,
        language: str = "en_US",
        template_id: str | None = None,
        reason: str = "NONE",
        page_id: str | None = None,
    ) -> dict[str, Any]:
        """Facebook's review moves a template to `status`; its webhook is posted first."""
        given = {"status": status, "name": name, "language": language,
                 "template_id": template_id, "reason": reason, "page_id": page_id}  # fmt: skip
        changed: dict[str, Any] = self.call(
            "POST", "templates/status", {k: v for k, v in given.items() if v is not None}
        )
        return changed

    def template_events(self) -> list[dict[str, Any]]:
        """The template status webhooks posted so far (`webhook_status` None: unreachable)."""
        data: list[dict[str, Any]] = self.call("GET", "template_events")["data"]
        return data

    def add_contact(self, psid: str, first_name: str = "Alice", last_name: str = "Example",
                    **extra: Any) -> Any:  # fmt: skip
        return self.call("POST", "contacts", {"psid": psid, "first_name": first_name,
                                              "last_name": last_name, **extra})  # fmt: skip

    def set_clock(self, now: datetime | str) -> Any:
        moment = now.isoformat() if isinstance(now, datetime) else now
        return self.call("POST", "clock", {"now": moment})

    def advance(self, seconds: float) -> Any:
        return self.call("POST", "clock", {"advance_seconds": seconds})

    def fail_next(self, n: int = 1, code: int = 613, status: int | None = None,
                  subcode: int | None = None) -> Any:  # fmt: skip
        return self.call("POST", "faults", {"fail_next": n, "code": code, "status": status,
                                            "subcode": subcode})  # fmt: skip

    def slow(self, delay_seconds: float, calls: int = 0) -> Any:
        """Delay every Graph call (or only the next `calls`) by `delay_seconds`."""
        return self.call("POST", "faults", {"delay_seconds": delay_seconds, "delay_next": calls})

    def fail_for(self, seconds: float, code: int = 2, status: int | None = None,
                 subcode: int | None = None) -> Any:  # fmt: skip
        """Every Graph call fails with `code` for `seconds` (an outage or a rate-limit burst)."""
        return self.call("POST", "faults", {"fail_for_seconds": seconds, "code": code,
                                            "status": status, "subcode": subcode})  # fmt: skip

    def sent_messages(self, psid: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        query = f"messages?after={after}" + (f"&psid={psid}" if psid else "")
        data: list[dict[str, Any]] = self.call("GET", query)["data"]
        return data

    def clear_messages(self) -> Any:
        return self.call("DELETE", "messages")

    def seen(
        self,
        psid: str,
        at: datetime | str | None = None,
        from_ad: bool = False,
        page_id: str | None = None,
    ) -> Any:
        """The contact wrote at `at` (default now), without a webhook; `from_ad`: after an ad."""
        moment = at.isoformat() if isinstance(at, datetime) else at
        body: dict[str, Any] = {} if moment is None else {"at": moment}
        if from_ad:
            body["from_ad"] = True
        if page_id is not None:
            body["page_id"] = page_id
        return self.call("POST", f"contacts/{psid}/seen", body)

    def choices(self, psid: str) -> list[dict[str, Any]]:
        """What the contact can tap now: [{"kind", "title", "payload"}], newest first."""
        found: list[dict[str, Any]] = self.call("GET", f"contacts/{psid}/choices")["choices"]
        return found

    def clock_offset(self) -> float:
        """Seconds the simulator's clock is ahead of the real time (moved by `advance`)."""
        return float(self.call("GET", "clock")["offset_seconds"])

    def deliver(self, psid: str) -> Any:
        return self.call("POST", f"contacts/{psid}/deliver", {})

    def read(self, psid: str) -> Any:
        return self.call("POST", f"contacts/{psid}/read", {})

    def set_thread_owner(self, psid: str, owner_app_id: str | None, notify: bool = False) -> Any:
        return self.call(
            "POST", f"threads/{psid}", {"owner_app_id": owner_app_id, "notify": notify}
        )

    def set_media(self, name: str, content_type: str, content_length: int) -> Any:
        body = {"name": name, "content_type": content_type, "content_length": content_length}
        return self.call("POST", "media", body)

    def say(self, text: str, **who: Any) -> Any:
        return self.call("POST", "say", {"text": text, **_who(who)})

    def inbox_reply(self, text: str, **who: Any) -> Any:
        """A person answers in Facebook's Page inbox (the echo reaches our webhook)."""
        return self.call("POST", "inbox/reply", {"text": text, **_who(who)})

    def tap(self, title: str, **who: Any) -> Any:
        return self.call("POST", "tap", {"title": title, **_who(who)})

    def postback(self, title: str = "Get Started", payload: str = "GET_STARTED", **who: Any) -> Any:
        return self.call("POST", "postback", {"title": title, "payload": payload, **_who(who)})

    def referral(self, ref: str | None = None, **who: Any) -> Any:
        return self.call("POST", "referral", {"ref": ref, **_who(who)})

    def comment(self, text: str, **extra: Any) -> Any:
        return self.call("POST", "comment", {"text": text, **_who(extra)})

    def optin(self, topic: str = "Updates and promotions", **who: Any) -> Any:
        return self.call("POST", "optin", {"topic": topic, **_who(who)})

    def handovers(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call("GET", "handovers")["data"]
        return data


def _who(fields: dict[str, Any]) -> dict[str, Any]:
    """Python can't take `as=`: accept `as_=` and send `as`."""
    out = {k: v for k, v in fields.items() if k != "as_"}
    if "as_" in fields:
        out["as"] = fields["as_"]
    return out


@dataclass
class RunningSimulator:
    url: str  # Graph base URL including the version, e.g. http://127.0.0.1:PORT/v25.0
    root: str  # http://127.0.0.1:PORT
    port: int
    state: SimState
    control: SimControl


@contextmanager
def running_simulator(
    port: int = 0, state: SimState | None = None, version: str = DEFAULT_VERSION
) -> Iterator[RunningSimulator]:
    """Serve the simulator on 127.0.0.1 in a background thread for the `with` block."""
    state = state if state is not None else SimState()
    server = SimServer(create_app(state), "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, name="graph-simulator", daemon=True)
    thread.start()
    root = f"http://127.0.0.1:{server.port}"
    try:
        yield RunningSimulator(f"{root}/{version}", root, server.port, state, SimControl(root))
    finally:
        state.stopping.set()
        server.stop()
        thread.join(timeout=5)
