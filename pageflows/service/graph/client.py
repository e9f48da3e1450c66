"""The Graph API calls pageflows makes, returning outcome values, not exceptions.

The outbox decides what an outcome means: `Sent`, `Refused` (permanent: fix
or drop), `RetryLater` (transient or rate-limited), `NeedsOperator` (token or
permission problems: sending for the page pauses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pageflows.engine.inbound_messaging import PAGE_INBOX_APP_ID
from pageflows.service.graph.transport import Request, Transport, TransportError

# Facebook's codes by what to do (shared/messenger/errors.md).
TRANSIENT = {1, 2, 4, 17, 32, 341, 613, 80001}
OPERATOR = {3, 190, 200, 230, 368}


@dataclass(frozen=True)
class Sent:
    message_id: str | None


@dataclass(frozen=True)
class Refused:
    code: int | None
    subcode: int | None
    message: str


@dataclass(frozen=True)
class RetryLater:
    code: int | None
    subcode: int | None
    message: str


@dataclass(frozen=True)
class NeedsOperator:
    code: int | None
    subcode: int | None
    message: str


Outcome = Sent | Refused | RetryLater | NeedsOperator


def classify(status: int, body: Any) -> Outcome:
    error = body.get("error") if isinstance(body, dict) else None
    if status < 300 and error is None:
        return Sent(body.get("message_id") if isinstance(body, dict) else None)
    if not isinstance(error, dict):
        message = f"HTTP {status} without a Graph error body"
        return RetryLater(None, None, message) if status >= 500 else Refused(None, None, message)
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    message = str(error.get("message", ""))
    if code == 4 and subcode == 2018354:
        return Refused(code, subcode, message)  # marketing message before the token's next time
    if code in TRANSIENT or error.get("is_transient") is True:
        return RetryLater(code, subcode, message)
    if code in OPERATOR:
        return NeedsOperator(code, subcode, message)
    return Refused(code, subcode, message)


@dataclass(frozen=True)
class Profile:
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True)
class MediaInfo:
    size: int | None
    content_type: str | None


class GraphClient:
    def __init__(self, transport: Transport, page_token: str) -> None:
        self.transport = transport
        self.token = page_token

    def _call(
        self, method: str, path: str, json: dict[str, Any] | None = None, **params: str
    ) -> Outcome | tuple[int, Any]:
        request = Request(method, path, {"access_token": self.token, **params}, json)
        try:
            response = self.transport.send(request)
        except TransportError as exc:
            return RetryLater(None, None, str(exc))
        return response.status, response.body

    def send_message(self, body: dict[str, Any]) -> Outcome:
        answer = self._call("POST", "me/messages", body)
        return answer if not isinstance(answer, tuple) else classify(*answer)

    def pass_thread_control(self, psid: str, metadata: str | None) -> Outcome:
        body: dict[str, Any] = {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX_APP_ID}
        if metadata:
            body["metadata"] = metadata[:1000]
        answer = self._call("POST", "me/pass_thread_control", body)
        return answer if not isinstance(answer, tuple) else classify(*answer)

    def set_messenger_profile(self, profile: dict[str, Any]) -> Outcome:
        answer = self._call("POST", "me/messenger_profile", profile)
        return answer if not isinstance(answer, tuple) else classify(*answer)

    def get_profile(self, psid: str) -> Profile | None:
        """The contact's name, or None: a failed look-up must never block a reply."""
        answer = self._call("GET", psid, fields="first_name,last_name")
        if not isinstance(answer, tuple):
            return None
        status, body = answer
        if status >= 300 or not isinstance(body, dict) or "error" in body:
            return None
        first, last = body.get("first_name"), body.get("last_name")
        return Profile(
            first if isinstance(first, str) else None, last if isinstance(last, str) else None
        )

    def head(self, url: str) -> MediaInfo | None:
        try:
            response = self.transport.send(Request("HEAD", url))
        except TransportError:
            return None
        if response.status >= 400:
            return None
        headers = {k.lower(): v for k, v in response.headers.items()}
        length = headers.get("content-length")
        size = int(length) if length and length.isdigit() else None
        return MediaInfo(size, headers.get("content-type"))
