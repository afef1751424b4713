"""The relay's HTTP side (issue 19): the security headers on every response class (one CSP on
every page, the workspace's wherever agent.html is served, ``nosniff`` everywhere), WebSockets
untouched; and the request timeouts of ``relay.headers.http_protocol`` through raw sockets to a
real uvicorn: a slow head or body is cut while /healthz answers, keep-alive idle stays uvicorn's,
and a WebSocket outlives the header timeout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import uvicorn
from helpers import receive_until, run_async
from services import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from websockets.asyncio.client import connect

from relay.app import RelayServer
from relay.headers import BODY_CUT_MARGIN_SECONDS, SecurityHeaders, http_protocol, secured
from relay.settings import DEMO_AGENT_LOGIN, ServerLimits, demo_settings
from relay.websocket import CobrowseWebSocketProtocol

OWN = "http://testserver"

# (path, what it is): one of each route class the relay serves.
PAGES = [
    ("/agent", "the workspace"),
    ("/static/agent.html", "the workspace, under the static mount"),
    ("/demo/", "the demo site's index"),
    ("/demo/checkout.html", "a demo page"),
    ("/", "the index (a redirect to the demo, followed)"),
]
OTHERS = [
    ("/healthz", 200),
    ("/protocol.json", 200),
    ("/tag.js", 200),
    ("/static/wire-nodes.js", 200),
    ("/static/agent.css", 200),
    ("/static/workspace/core.js", 200),
    ("/static/nope.js", 404),
    ("/nope", 404),
    ("/metrics", 404),  # not this machine (the TestClient's address)
    ("/agent/me", 401),
    ("/agent/login", 405),  # a GET
    ("/agent/conversations/c1/transcript", 401),
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    server = RelayServer(replace(demo_settings(), secret_key="test-secret"))
    with TestClient(server.app) as client:
        yield client


@pytest.mark.parametrize(("path", "what"), PAGES)
def test_every_page_has_one_csp_that_no_site_can_frame(
    client: TestClient, path: str, what: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policies = page.headers.get_list("content-security-policy")
    assert len(policies) == 1, what
    assert policies[0].count("frame-ancestors") == 1 and "frame-ancestors 'none'" in policies[0]
    assert page.headers.get_list("x-frame-options") == ["DENY"]
    assert page.headers.get_list("x-content-type-options") == ["nosniff"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_workspace_has_its_own_policy_wherever_it_is_served(client: TestClient) -> None:
    policies = {path: client.get(path).headers["content-security-policy"] for path, _ in PAGES[:2]}
    assert policies["/agent"] == policies["/static/agent.html"]
    assert "script-src 'self'" in policies["/agent"] and "object-src 'none'" in policies["/agent"]


@pytest.mark.parametrize(("path", "status"), OTHERS)
def test_every_other_response_has_nosniff_and_no_page_policy(
    client: TestClient, path: str, status: int
) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "x-frame-options" not in answer.headers  # not a document a browser renders


def test_refusals_and_server_errors_have_the_headers_too(client: TestClient) -> None:
    forged = client.post("/agent/login", json={"name": DEMO_AGENT_LOGIN, "password": "p"})
    assert forged.status_code == 403 and forged.headers["x-content-type-options"] == "nosniff"

    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = SecurityHeaders(Starlette(routes=[Route("/broken", broken)]))
    with TestClient(app, raise_server_exceptions=False) as failing:
        error = failing.get("/broken")
    assert error.status_code == 500 and error.headers["x-content-type-options"] == "nosniff"


def test_websocket_handshakes_pass_untouched(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        assert receive_until(ws, "hello")["type"] == "hello"


def test_a_routes_own_policy_is_kept_and_given_only_what_it_lacks() -> None:
    html = (b"content-type", b"text/html; charset=utf-8")
    own = secured([html, (b"content-security-policy", b"default-src 'self';")])
    assert own.count((b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"))
    chosen = [
        html,
        (b"content-security-policy", b"frame-ancestors 'self'"),
        (b"x-frame-options", b"SAMEORIGIN"),
    ]
    assert secured(chosen)[:3] == chosen  # the route chose: kept as it is
    assert [n for n, _ in secured(chosen)].count(b"x-frame-options") == 1
    data = secured(
        [(b"content-type", b"application/json"), (b"x-content-type-options", b"nosniff")]
    )
    assert [n for n, _ in data].count(b"x-content-type-options") == 1
    assert b"content-security-policy" not in dict(data)
    svg = dict(secured([(b"content-type", b"image/svg+xml")]))
    assert svg[b"content-security-policy"] == b"frame-ancestors 'none'"


# ------------------------------------------------------------ request timeouts

HEAD_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5


@contextlib.contextmanager
def served() -> Iterator[int]:
    """The relay on uvicorn with its timed HTTP protocol (short timeouts); its port."""
    limits = ServerLimits(
        http_header_timeout_seconds=HEAD_TIMEOUT, http_body_timeout_seconds=BODY_TIMEOUT
    )
    settings = replace(demo_settings(), secret_key="test-secret", limits=limits)
    port = free_port()
    config = uvicorn.Config(
        RelayServer(settings).app,
        port=port,
        log_level="warning",
        ws=CobrowseWebSocketProtocol,
        http=http_protocol(HEAD_TIMEOUT, BODY_TIMEOUT),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _open(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the relay closes the connection (bounded by the socket's timeout)."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def _response(sock: socket.socket) -> bytes:
    """One whole response on a kept-alive connection: its head, then Content-Length bytes of
    body (a response may arrive in several reads; the next read must not start mid-body)."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {got!r}"
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {got!r}"
        body += chunk
    assert len(body) == length, "more than one response"
    return head + b"\r\n\r\n" + body


def _healthz(port: int) -> bytes:
    with _open(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        return _read_all(sock)


def test_a_slow_head_is_cut_while_healthz_answers() -> None:
    with served() as port, _open(port) as slow, _open(port) as silent:
        started = time.monotonic()
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: relay\r\n")  # never finished
        assert _healthz(port).startswith(b"HTTP/1.1 200")  # meanwhile
        slow.sendall(b"X-Slow: 1\r\n")  # a drip does not extend the head's time
        assert _read_all(slow) == b""  # closed without an answer
        assert _read_all(silent) == b""  # a connection that never sends a byte too
        # Cut by the timeout, not by the socket's own 5 s.
        assert time.monotonic() - started < 4


def test_a_slow_sign_in_body_gets_408_then_the_connection_is_cut() -> None:
    with served() as port, _open(port) as slow:
        slow.sendall(
            b"POST /agent/login HTTP/1.1\r\nHost: relay\r\n"
            + b"Origin: http://relay\r\nContent-Type: application/json\r\n"
            + b"Content-Length: 64\r\n\r\n"
            + b'{"name": "demo", '  # the rest never comes
        )
        answer = _read_all(slow)
        assert answer.startswith(b"HTTP/1.1 408")
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "timeout"


def test_keep_alive_idle_is_uvicorns_and_a_websocket_outlives_the_http_timeouts() -> None:
    with served() as port:
        with _open(port) as kept:
            request = b"GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n"
            kept.sendall(request)
            assert _response(kept).startswith(b"HTTP/1.1 200")
            time.sleep(HEAD_TIMEOUT * 2)  # idle between requests: uvicorn's 5 s apply
            kept.sendall(request)
            assert _response(kept).startswith(b"HTTP/1.1 200")

        async def visit() -> str:
            url, origin = f"ws://127.0.0.1:{port}/ws/visitor", f"http://127.0.0.1:{port}"
            async with connect(url, origin=origin) as ws:
                await ws.recv()  # hello
                # Past both of the HTTP deadlines (head, and body with its margin): an
                # upgraded connection is no longer the HTTP protocol's to cut.
                await asyncio.sleep(2 * max(HEAD_TIMEOUT, BODY_TIMEOUT + BODY_CUT_MARGIN_SECONDS))
                await asyncio.wait_for(await ws.ping(), 5)  # still open
                await ws.send(json.dumps({"v": 1, "type": "chat.send", "text": "still here"}))
                while (message := json.loads(await ws.recv()))["type"] != "chat.message":
                    pass
                return str(message["text"])

        assert run_async(visit, timeout=30) == "still here"
