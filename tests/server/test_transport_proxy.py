"""issue 13: E. The transport reads the environment once per host instead of on every call;
an operator's proxy settings still take effect: HTTP_PROXY carries plain-HTTP calls,
HTTPS_PROXY tunnels the calls to Facebook (CONNECT), and NO_PROXY is honoured.

The proxy is a real socket that notes each request line it gets."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from pageflows.service.graph.client import GraphClient, RetryLater, Sent
from pageflows.service.graph.transport import RequestsTransport

BODY = b'{"recipient_id": "1", "message_id": "m_via_proxy"}'


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lines: list[str] = []


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline().decode("latin-1").strip()
        assert isinstance(self.server, Proxy)
        self.server.lines.append(line)
        length = 0
        while (header := self.rfile.readline().strip()) != b"":
            name, _, value = header.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        if line.startswith("CONNECT"):  # no tunnel: Facebook stays unreached
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BODY), BODY)
        )


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    server = Proxy()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def send(base_url: str) -> object:
    client = GraphClient(RequestsTransport(base_url, timeout=5), "page-token")
    return client.send_message({"recipient": {"id": "1"}, "message": {"text": "hi"}})


def test_http_proxy_carries_the_calls(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    outcome = send("http://graph.example.invalid/v25.0")
    assert outcome == Sent("m_via_proxy")
    assert proxy.lines[0].startswith("POST http://graph.example.invalid/v25.0/me/messages?")


def test_https_proxy_tunnels_the_calls_to_facebook(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    outcome = send("https://graph.facebook.com/v25.0")
    assert isinstance(outcome, RetryLater)  # the proxy refused the tunnel: no answer
    assert [line.rpartition(" ")[0] for line in proxy.lines] == ["CONNECT graph.facebook.com:443"]


def test_no_proxy_hosts_go_direct(proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "graph.example.invalid")
    outcome = send("http://graph.example.invalid/v25.0")
    assert isinstance(outcome, RetryLater)  # no such host, and the proxy was not asked
    assert proxy.lines == []
