"""The Graph API calls pageflows makes, returning outcome values, not exceptions.

The outbox decides what an outcome means: `Sent`, `Refused` (permanent: fix
or drop), `RetryLater` (transient or rate-limited), `NeedsOperator` (token,
permission or policy problems: sending for the page pauses), `ThreadElsewhere`
(another app owns the conversation: the message is held).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from pageflows.engine.inbound_messaging import PAGE_INBOX_APP_ID
from pageflows.service.graph.templates import (
    FIELDS,
    MAX_PAGES,
    PAGE_SIZE,
    ListedTemplate,
    TemplateList,
    next_cursor,
    read_template,
)
from pageflows.service.graph.transport import Request, Response, Transport, TransportError

# Facebook's codes by what to do (shared/messenger/errors.md, "Codes a sender must handle").
TRANSIENT = frozenset({1, 2, 1200})
RATE_LIMITS = frozenset({4, 17, 32, 341, 613, 80001, 80006})
OPERATOR = frozenset({3, 10, 190, 230, 368, *range(200, 300)})
THREAD_ELSEWHERE = frozenset({2018300})
# The lead-ads Q&A flow holds the thread for a while and passes nothing back: wait, retry.
THREAD_BUSY = frozenset({2018321})
# Permanent refusals that are about one message or one contact, with our reason for each.
REFUSED_REASONS: dict[tuple[int | None, int | None], str] = {
    (10, 2018278): "window_closed",
    (10, 2534022): "window_closed",
    (10, 2018065): "window_closed",
    (10, 2018108): "contact_unreachable",
    (10, 1893015): "contact_opted_out",
    (100, 2018001): "contact_unknown",
    (100, 1893061): "tag_retired",
    (200, 1545041): "contact_unavailable",
    (551, None): "contact_unavailable",
    (551, 1545041): "contact_unavailable",
    (4, 2018354): "token_not_yet_eligible",
    (613, 2018338): "tag_abuse_warning",
    (613, 1893016): "optin_request_duplicate",
    (10900, None): "already_replied",
}
# Refusals that stop the whole page's sending until a person acts.
PAUSE_REASONS: dict[tuple[int | None, int | None], str] = {
    (10, 1893063): "page_restricted",
    (368, None): "policy_block",
}


@dataclass(frozen=True)
class Sent:
    message_id: str | None


@dataclass(frozen=True)
class Refused:
    """Permanent for this message: never retried. `reason` is ours, the rest Facebook's."""

    code: int | None
    subcode: int | None
    message: str
    reason: str = "graph_refused"


@dataclass(frozen=True)
class RetryLater:
    """Transient. `rate_limited` slows the whole page; `wait` is Facebook's own estimate;
    `maybe_delivered` means the request may have been acted on (a timeout)."""

    code: int | None
    subcode: int | None
    message: str
    rate_limited: bool = False
    wait: timedelta | None = None
    maybe_delivered: bool = False
    # Facebook down, slow or rate limiting concerns every message of the page (the sender
    # slows the page, then probes with another contact's message); a thread busy with a
    # lead-ads flow concerns one contact only.
    whole_page: bool = True

    def wait_until(self, now: datetime) -> datetime:
        return now + (self.wait or timedelta(0))


@dataclass(frozen=True)
class NeedsOperator:
    """The page cannot send until a person acts: a token, a permission, a policy block."""

    code: int | None
    subcode: int | None
    message: str
    reason: str = "token_or_permission"


@dataclass(frozen=True)
class ThreadElsewhere:
    """Another app (the Page Inbox, a human agent's tool) owns the conversation."""

    code: int | None
    subcode: int | None
    message: str


Outcome = Sent | Refused | RetryLater | NeedsOperator | ThreadElsewhere
Failure = Refused | RetryLater | NeedsOperator | ThreadElsewhere


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def classify(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Outcome:
    """What a Graph API answer means for the outbox. Codes decide, not HTTP statuses."""
    error = body.get("error") if isinstance(body, dict) else None
    if status < 300 and error is None:
        message_id = body.get("message_id") if isinstance(body, dict) else None
        return Sent(message_id if isinstance(message_id, str) else None)
    if not isinstance(error, dict):
        message = f"HTTP {status} without a Graph error body"
        if status >= 500 or status == 429:
            # A proxy's 502/504 says nothing of whether Facebook acted on the request.
            return RetryLater(None, None, message, rate_limited=status == 429, maybe_delivered=True)
        return Refused(None, None, message)
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    message = str(error.get("message", ""))[:2000]
    if code in THREAD_ELSEWHERE or subcode in THREAD_ELSEWHERE:
        return ThreadElsewhere(code, subcode, message)
    if code in THREAD_BUSY or subcode in THREAD_BUSY:
        return RetryLater(code, subcode, message, wait=timedelta(minutes=5), whole_page=False)
    pause = PAUSE_REASONS.get((code, subcode)) or PAUSE_REASONS.get((code, None))
    if pause is not None:
        return NeedsOperator(code, subcode, message, pause)
    refusal = REFUSED_REASONS.get((code, subcode)) or REFUSED_REASONS.get((code, None))
    if refusal is not None:
        return Refused(code, subcode, message, refusal)
    if code in RATE_LIMITS:
        return RetryLater(code, subcode, message, rate_limited=True, wait=regain_access(headers))
    if code in TRANSIENT or error.get("is_transient") is True:
        return RetryLater(code, subcode, message)
    if code == 190:
        return NeedsOperator(code, subcode, message, "token_invalid")
    if code == 10 and subcode is not None:
        return Refused(code, subcode, message)
    if code in OPERATOR:
        return NeedsOperator(code, subcode, message, "permission_missing")
    if code == 100:
        return Refused(code, subcode, message, "invalid_parameter")
    return Refused(code, subcode, message)


def regain_access(headers: Mapping[str, str] | None) -> timedelta | None:
    """Facebook's `estimated_time_to_regain_access` (minutes) from the usage headers, if any."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        _int(item.get("estimated_time_to_regain_access")) or 0
        for items in (usage.values() if isinstance(usage, dict) else ())
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict)
    ]
    longest = max(minutes, default=0)
    return timedelta(minutes=min(longest, 24 * 60)) if longest > 0 else None


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
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: str
    ) -> Outcome | Response:
        request = Request(method, path, {"access_token": self.token, **params}, body)
        try:
            return self.transport.send(request)
        except TransportError as exc:
            return RetryLater(None, None, str(exc), maybe_delivered=exc.maybe_delivered)

    def _post(self, path: str, body: dict[str, Any]) -> Outcome:
        answer = self._call("POST", path, body)
        if isinstance(answer, Response):
            return classify(answer.status, answer.body, answer.headers)
        return answer

    def send_message(self, body: dict[str, Any]) -> Outcome:
        return self._post("me/messages", body)

    def pass_thread_control(self, psid: str, metadata: str | None) -> Outcome:
        body: dict[str, Any] = {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX_APP_ID}
        if metadata:
            body["metadata"] = metadata[:1000]
        return self._post("me/pass_thread_control", body)

    def take_thread_control(self, psid: str, metadata: str | None) -> Outcome:
        """Take the thread back from the Page inbox (send-api.md §5: allowed when the thread
        is idle or we are the default app); what an operator's handback does first."""
        body: dict[str, Any] = {"recipient": {"id": psid}}
        if metadata:
            body["metadata"] = metadata[:1000]
        return self._post("me/take_thread_control", body)

    def set_messenger_profile(self, profile: dict[str, Any]) -> Outcome:
        return self._post("me/messenger_profile", profile)

    def get_profile(self, psid: str) -> Profile | None:
        """The contact's name, or None: a failed look-up must never block a reply."""
        # Quoted: an id is a path segment here, and the transport sends a path with
        # "://" as an absolute URL (with the page token in its query).
        answer = self._call("GET", quote(psid, safe=""), fields="first_name,last_name")
        if not isinstance(answer, Response):
            return None
        status, body = answer.status, answer.body
        if status >= 300 or not isinstance(body, dict) or "error" in body:
            return None
        first, last = body.get("first_name"), body.get("last_name")
        return Profile(
            first if isinstance(first, str) else None, last if isinstance(last, str) else None
        )

    def list_message_templates(self, page_id: str) -> TemplateList | Failure:
        """Every template of the page, page after page of Facebook's list, or why not.

        A Graph error is the outcome `classify` gives it (a token or permission
        problem is `NeedsOperator`); an answer that is no template list is `Refused`.
        """
        path = f"{quote(page_id, safe='')}/message_templates"
        templates: list[ListedTemplate] = []
        unreadable, after, seen = 0, None, set()
        for _ in range(MAX_PAGES):
            params = {"fields": FIELDS, "limit": str(PAGE_SIZE)}
            if after is not None:
                params["after"] = after
            answer = self._call("GET", path, None, **params)
            if not isinstance(answer, Response):
                assert not isinstance(answer, Sent)
                return answer
            body = answer.body
            if answer.status >= 300 or not isinstance(body, dict) or "error" in body:
                outcome = classify(answer.status, body, answer.headers)
                if isinstance(outcome, Sent):
                    return Refused(None, None, f"HTTP {answer.status}: not a template list")
                return outcome
            data = body.get("data")
            if not isinstance(data, list):
                return Refused(None, None, "Facebook's answer has no `data` list of templates")
            for item in data:
                listed = read_template(item)
                if listed is None:
                    unreadable += 1
                else:
                    templates.append(listed)
            after = next_cursor(body)
            if after is None:
                return TemplateList(tuple(templates), unreadable)
            if after in seen:
                return Refused(None, None, f"Facebook's paging repeats the cursor {after[:40]!r}")
            seen.add(after)
        return Refused(None, None, f"more than {MAX_PAGES * PAGE_SIZE} templates listed")

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
