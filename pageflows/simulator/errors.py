"""Graph API errors in Facebook's exact body shape, with Facebook's HTTP statuses.

The engine classifies failures by `code`/`error_subcode`, never by HTTP status
(Facebook answers 400 for window, parameter, token and rate-limit errors alike;
403 for code 200; 500 for codes 1 and 2), so the simulator reproduces exactly
that, including the awkward parts, instead of a friendlier REST style.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

_TRACE_ALPHABET = string.ascii_letters + string.digits


def fbtrace_id() -> str:
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(11))


def default_status(code: int) -> int:
    """HTTP status Facebook uses for a code (errors.md: 500 for 1/2, 403 for 2xx, else 400)."""
    if code in (1, 2):
        return 500
    if 200 <= code <= 299:
        return 403
    return 400


class GraphError(Exception):
    """A refusal; `body()` is what goes on the wire."""

    def __init__(
        self,
        code: int,
        message: str,
        subcode: int | None = None,
        *,
        status: int | None = None,
        kind: str = "OAuthException",
        is_transient: bool = False,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = default_status(code) if status is None else status
        self.kind = kind
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_msg = user_msg

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_title is not None:
            error["error_user_title"] = self.user_title
        if self.user_msg is not None:
            error["error_user_msg"] = self.user_msg
        if self.is_transient:
            error["is_transient"] = True
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


# Messages copied from samples/graph_error_examples.json where one exists;
# the others follow Facebook's "(#code) sentence" style (marked "invented").
WINDOW_URL = "https://developers.facebook.com/docs/messenger-platform/policy-overview"


def invalid_token() -> GraphError:
    return GraphError(190, "Invalid OAuth access token.")


def no_matching_user() -> GraphError:
    return GraphError(100, "(#100) No matching user found", 2018001)


def human_agent_not_permitted() -> GraphError:
    """HUMAN_AGENT from an app without the Human Agent permission. Unconfirmed: errors.md
    documents no code for it; 10 ("permission denied / feature not allowed") is the closest,
    and the message is Facebook's usual one for code 10, not one seen for this case."""
    return GraphError(10, "(#10) Application does not have permission for this action")


def outside_window() -> GraphError:
    return GraphError(
        10,
        "(#10) This message is sent outside of allowed window. "
        f"Learn more about the new policy here: {WINDOW_URL}",
        2018278,
    )


def invalid_param(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, f"(#100) {message}", subcode)


def already_replied() -> GraphError:
    return GraphError(10900, "(#10900) Activity already replied to")


def thread_owned_elsewhere() -> GraphError:
    # Code 10 chosen (errors.md gives only the subcode 2018300); wording invented.
    return GraphError(
        10, "(#10) Another app is controlling this thread. Request thread control first.", 2018300
    )


def token_stopped() -> GraphError:
    return GraphError(10, "(#10) This person has stopped receiving these messages.", 1893015)


def token_too_soon() -> GraphError:
    return GraphError(
        4,
        "(#4) This notification_messages_token cannot be used before its next eligible time.",
        2018354,
    )


def retired_tag() -> GraphError:
    """100/1893061 as seen in production from 2026-04-27 (policy.md §2, chatwoot#14669).

    The same refusal is used for the 16 tags retired in 2020, whose exact error
    Facebook never documented (policy.md §2: "expect an error, exact code unconfirmed").
    """
    return GraphError(
        100,
        "(#100) Invalid parameter",
        1893061,
        user_title="Deprecated Message Tag Not Allowed",
        user_msg="To send a utility message, use an approved utility template.",
    )


def marketing_unavailable() -> GraphError:
    """A notification token or opt-in request from a Page outside AU/EU/JP/KR/UK.

    UNCONFIRMED: policy.md §3 only says "the Messenger API will start returning
    errors" from 2026-02-10; code 10 (feature not allowed) and the wording are ours.
    """
    return GraphError(10, "(#10) Marketing messages are not available for this Page's region.")


def optin_request_too_soon() -> GraphError:
    """A second opt-in request with one title to one person within 7 days (errors.md)."""
    return GraphError(
        613,
        "(#613) You have already sent an opt-in request on this topic to this person recently.",
        1893016,
    )  # wording invented; 613/1893016 is errors.md's "duplicate opt-in request on same topic"


def unknown_object(object_id: str, verb: str = "get") -> GraphError:
    return GraphError(
        100,
        f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        33,
        kind="GraphMethodException",
    )


FAULT_MESSAGES = {
    1: "An unknown error has occurred.",
    2: "(#2) Service temporarily unavailable",
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account.",
    1200: "(#1200) Temporary send message failure. Please try again later",
}


def fault(code: int, subcode: int | None, status: int | None) -> GraphError:
    """An injected failure (`POST /_sim/faults`)."""
    message = FAULT_MESSAGES.get(code, f"(#{code}) Simulated failure")
    return GraphError(code, message, subcode, status=status, is_transient=code == 2)
