"""The visitor's socket, routed from the page to the checker's in-process relay.

Owns: carrying every frame between the tag (through Playwright's WebSocket routing) and the
relay, whatever relay the page's tag names; accepting the agent's invite on the visitor's
behalf; recording what the tag sent (type, size, time) for the figures and the canary check.
Must not: change any frame it carries, or talk to any relay but the checker's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websockets
from playwright.async_api import WebSocketRoute
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin


@dataclass
class Sent:
    """One frame the visitor's tag sent."""

    at: float  # time.monotonic()
    type: str
    size: int  # bytes of the frame (UTF-8)
    text: str
    message: dict[str, Any] | None

    @property
    def body(self) -> dict[str, Any]:
        """The message, or an empty one when the frame was not a JSON object."""
        return self.message or {}


@dataclass
class VisitorBridge:
    """All visitor sockets of one checked page, and what went over them."""

    relay_ws: str  # ws://127.0.0.1:PORT/ws/visitor
    origin: str  # the page's origin, sent as the Origin header (the brand allows it)
    sent: list[Sent] = field(default_factory=list)
    hello: asyncio.Event = field(default_factory=asyncio.Event)
    session_started: asyncio.Event = field(default_factory=asyncio.Event)
    session_started_at: float = 0.0
    errors: list[str] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _connections: list[ClientConnection] = field(default_factory=list)

    async def route(self, route: WebSocketRoute) -> None:
        """Playwright's handler for a visitor socket opened by the page."""
        outgoing: asyncio.Queue[str | None] = asyncio.Queue()
        route.on_message(
            lambda m: outgoing.put_nowait(m if isinstance(m, str) else m.decode("utf-8", "replace"))
        )
        route.on_close(lambda code, reason: outgoing.put_nowait(None))
        query = urlsplit(route.url).query
        target = self.relay_ws + (f"?{query}" if query else "")
        try:
            connection = await websockets.connect(target, origin=Origin(self.origin), max_size=None)
        except (OSError, websockets.WebSocketException) as error:
            self.errors.append(f"the checker's relay refused the visitor's socket: {error}")
            await route.close(code=1011, reason="checker relay unavailable")
            return
        self._connections.append(connection)
        self._start(self._page_to_relay(outgoing, connection))
        self._start(self._relay_to_page(connection, route))

    def _start(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _page_to_relay(
        self, outgoing: asyncio.Queue[str | None], connection: ClientConnection
    ) -> None:
        while True:
            text = await outgoing.get()
            if text is None:
                await connection.close()
                return
            message = _parse(text)
            kind = str(message.get("type", "?")) if message else "?"
            self.sent.append(Sent(time.monotonic(), kind, len(text.encode("utf-8")), text, message))
            with contextlib.suppress(websockets.ConnectionClosed):
                await connection.send(text)

    async def _relay_to_page(self, connection: ClientConnection, route: WebSocketRoute) -> None:
        try:
            async for frame in connection:
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                message = _parse(text) or {}
                kind = message.get("type")
                if kind == "hello":
                    self.hello.set()
                if kind == "invite.offer":
                    # The visitor accepts at once; the prompt never shows, so the visitor's
                    # screenshot is the page as a visitor in a session sees it.
                    accept = {"v": 1, "type": "invite.accept", "invite": message.get("invite")}
                    await connection.send(json.dumps(accept))
                    continue
                if kind == "session.started" and not self.session_started.is_set():
                    self.session_started_at = time.monotonic()
                    self.session_started.set()
                route.send(text)
        except websockets.ConnectionClosed:
            pass
        with contextlib.suppress(Exception):  # the page may be gone already
            await route.close(code=1000, reason="relay closed")

    def frames_since(self, since: float) -> list[Sent]:
        return [s for s in self.sent if s.at >= since]

    async def close(self) -> None:
        for connection in self._connections:
            with contextlib.suppress(Exception):
                await connection.close()
        for task in list(self._tasks):
            task.cancel()


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
