"""An id from a webhook never steers a Graph API request elsewhere, or the page token with it."""

from __future__ import annotations

from pageflows.service.graph.client import GraphClient
from pageflows.service.graph.transport import FunctionTransport, Request, Response


def test_a_profile_look_up_keeps_the_id_one_path_segment() -> None:
    transport = FunctionTransport(lambda request: Response(404, {"error": {"code": 100}}))
    client = GraphClient(transport, "page-token")
    assert client.get_profile("https://elsewhere.example/x") is None
    assert client.get_profile("../me/messages") is None
    assert client.get_profile("6543210987654321") is None
    paths = [r.path for r in transport.requests]
    assert paths == [
        "https%3A%2F%2Felsewhere.example%2Fx",
        "..%2Fme%2Fmessages",
        "6543210987654321",
    ]
    assert all(isinstance(r, Request) and "://" not in r.path for r in transport.requests)
