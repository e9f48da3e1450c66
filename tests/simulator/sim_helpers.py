"""Shared names for the simulator tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

PAGE_ID = "104123456789012"
TOKEN = "PAGE_ACCESS_TOKEN"
SECRET = "app-secret-for-tests"
PSID = "6543210987654321"

Send = Callable[..., requests.Response]


@dataclass
class Receiver:
    """A webhook endpoint on a real port: what it received, and how it answers."""

    url: str
    posts: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    on_post: Callable[[dict[str, Any]], None] | None = None
    status: int = 200


def error_of(response: requests.Response) -> tuple[int, int, int | None]:
    """(HTTP status, code, subcode) of a Graph error response."""
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("error_subcode")
