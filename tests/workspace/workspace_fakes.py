"""A fake relay for the agent workspace tests: HTTP over ``page.route``, the socket over
``page.route_web_socket``. No server runs; every page is served on the fake origin
``http://agent.test`` with the CSP the relay sends. Fixtures using these are in conftest.py.
Node trees are written in the explicit form and sent compact (``wire.nodes.compact``, ``add``).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page, Route, WebSocketRoute

from wire.nodes import compact_run

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "relay" / "static"
ORIGIN = "http://agent.test"
BRAND = "http://brand.test"
# The header the relay sends with /agent: the replica loads from our own origin only, the
# brand's images through the resource proxy (``FakeSite`` answers it as the relay would).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# replica.js alone (no workspace, no proxy) loads brand images straight from the brand.
REPLICA_TEST_CSP = CSP.replace("img-src 'self' data:", f"img-src 'self' data: {BRAND}")
AGENT = {"id": "a1", "name": "Alice Agent"}
PASSWORD = "correct horse"

REPLICA_TEST_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>replica test</title>
<script src="/static/wire-nodes.js"></script>
<script src="/static/replica.js"></script></head>
<body><div id="host" style="width:800px;height:600px"></div></body></html>"""

# A 1x1 PNG for brand images in the replica.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)


def add(parent: int, next_id: int | None, *explicit: list[Any]) -> dict[str, Any]:
    """A mutation batch's add entry: the explicit trees (``[id, tag, {attrs}, [children]]``,
    readable in tests) sent as a run of consecutive siblings in the wire's compact form."""
    return {"parent": parent, "next": next_id, "nodes": compact_run(list(explicit))}


def _protocol_table() -> dict[str, Any] | None:
    try:
        from wire.protocol import describe
    except ImportError:  # the relay's table is optional for these tests
        return None
    return describe()


@dataclass
class FakeSite:
    """HTTP side: serves the workspace files and answers the sign-in endpoints."""

    signed_in: bool = False
    login_requests: list[dict[str, Any]] = field(default_factory=list)
    login_answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    logouts: int = 0
    csp_violations: list[str] = field(default_factory=list)
    # conversation id -> the JSON body of its transcript (GET /agent/conversations/ID/transcript)
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (kind, url) of each GET /agent/resource/{session}/{kind}?url=... the replica made
    resources: list[tuple[str, str]] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        request = route.request
        path = request.url[len(ORIGIN) :].split("?")[0]
        if path == "/agent":
            route.fulfill(
                status=200,
                body=(STATIC / "agent.html").read_text(),
                headers={
                    "content-type": "text/html; charset=utf-8",
                    "content-security-policy": CSP,
                },
            )
        elif path == "/replica-test.html":
            route.fulfill(
                status=200,
                body=REPLICA_TEST_PAGE,
                headers={
                    "content-type": "text/html; charset=utf-8",
                    "content-security-policy": REPLICA_TEST_CSP,
                },
            )
        elif path == "/static/wire-nodes.js":  # built, as relay/wire_js.py serves it
            from wire.grammar import nodes_js

            route.fulfill(status=200, body=nodes_js(), headers={"content-type": "text/javascript"})
        elif path.startswith("/static/"):
            file = STATIC / path[len("/static/") :]
            if file.is_file() and file.parent in (STATIC, STATIC / "workspace"):
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                route.fulfill(status=200, body=file.read_bytes(), headers={"content-type": kind})
            else:
                route.fulfill(status=404, body="not found")
        elif path == "/protocol.json":
            table = _protocol_table()
            if table is None:
                route.fulfill(status=404, body="")
            else:
                route.fulfill(status=200, json=table)
        elif path == "/agent/me":
            if self.signed_in:
                route.fulfill(status=200, json=AGENT)
            else:
                route.fulfill(
                    status=401, json={"error": {"code": "unauthorized", "message": "Sign in first"}}
                )
        elif path == "/agent/login" and request.method == "POST":
            self.login_requests.append(
                {"headers": request.headers, "body": json.loads(request.post_data or "null")}
            )
            if self.login_answers:
                status, body = self.login_answers.pop(0)
            elif (self.login_requests[-1]["body"] or {}).get("password") == PASSWORD:
                status, body = 200, AGENT
            else:
                status, body = (
                    401,
                    {"error": {"code": "bad_credentials", "message": "Wrong name or password"}},
                )
            if status == 200:
                self.signed_in = True
            route.fulfill(status=status, json=body)
        elif path.startswith("/agent/conversations/") and path.endswith("/transcript"):
            conversation = path.split("/")[3]
            if not self.signed_in:
                route.fulfill(
                    status=401, json={"error": {"code": "unauthenticated", "message": "x"}}
                )
            elif conversation in self.transcripts:
                route.fulfill(status=200, json=self.transcripts[conversation])
            else:
                route.fulfill(
                    status=404,
                    json={"error": {"code": "not_found", "message": "no such conversation"}},
                )
        elif path.startswith("/agent/resource/"):
            # The relay's resource proxy (relay/resources.py): the brand's images, nothing else.
            kind = path.rsplit("/", 1)[1]
            url = parse_qs(urlsplit(request.url).query).get("url", [""])[0]
            self.resources.append((kind, url))
            if kind == "image" and url.startswith(BRAND + "/"):
                route.fulfill(status=200, body=PIXEL, headers={"content-type": "image/png"})
            else:
                route.fulfill(
                    status=403,
                    json={"error": {"code": "origin_not_allowed", "message": "not the brand's"}},
                )
        elif path == "/agent/logout" and request.method == "POST":
            self.logouts += 1
            self.signed_in = False
            route.fulfill(status=204, body="")
        else:
            route.fulfill(status=404, body="not found")


@dataclass
class FakeRelay:
    """The agent socket: records every frame the workspace sends, pushes relay messages."""

    page: Page
    sockets: list[WebSocketRoute] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    on_connect: Callable[[FakeRelay], None] | None = None

    def handle(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        ws.on_message(self._received)
        if self.on_connect:
            self.on_connect(self)

    def _received(self, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode()
        self.raw.append(text)
        self.sent.append(json.loads(text))

    @property
    def ws(self) -> WebSocketRoute:
        assert self.sockets, "the workspace has not opened /ws/agent"
        return self.sockets[-1]

    def push(self, message_type: str, /, **body: Any) -> None:
        self.ws.send(json.dumps({"v": 1, "type": message_type, **body}))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == kind]

    def wait_for(
        self,
        kind: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout_ms: int = 3000,
    ) -> dict[str, Any]:
        """The first frame of `kind` (matching `where`) the workspace sent; waits for it."""
        waited = 0
        while True:
            for message in self.of_type(kind):
                if where is None or where(message):
                    return message
            if waited >= timeout_ms:
                raise AssertionError(f"no {kind} sent; sent: {[m['type'] for m in self.sent]}")
            self.page.wait_for_timeout(25)
            waited += 25

    def wait_socket(self, count: int = 1, timeout_ms: int = 5000) -> None:
        waited = 0
        while len(self.sockets) < count:
            if waited >= timeout_ms:
                raise AssertionError(f"{len(self.sockets)} sockets opened, wanted {count}")
            self.page.wait_for_timeout(25)
            waited += 25
