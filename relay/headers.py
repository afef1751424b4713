"""What the relay does with HTTP heads: the security headers on every response
(``SecurityHeaders``), and how long a request's head and body may take to arrive
(``http_protocol``).

Owns: the headers every HTTP response carries (``nosniff``, a ``Referrer-Policy``) and those of
every document a browser renders (a CSP with ``frame-ancestors``, merged into the route's own
CSP, and ``X-Frame-Options``); the request timeouts, in a subclass of uvicorn's h11 protocol.
Must not: touch WebSocket handshakes or lifespan messages, replace a header a route chose
(a route's CSP is kept and only given its missing ``frame-ancestors``), or read a body.

No page of ours is framed by another page (the replica's iframes have no URL: the workspace
builds their documents itself), so every document says ``frame-ancestors 'none'``: a hostile
site cannot frame the workspace and trick an agent's clicks (clickjacking).
"""

from __future__ import annotations

import asyncio

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# Every response: browsers must not guess a type (a chat transcript or a tag read as HTML),
# and no URL of ours (a transcript's conversation id) leaves in a Referer.
EVERY_RESPONSE: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
# Documents a browser renders and could run in a frame (SVG runs script too).
DOCUMENT_TYPES = (b"text/html", b"application/xhtml+xml", b"image/svg+xml")
FRAME_ANCESTORS = b"frame-ancestors 'none'"
# Older browsers' spelling of frame-ancestors (those without CSP level 2).
X_FRAME_OPTIONS = (b"x-frame-options", b"DENY")

Headers = list[tuple[bytes, bytes]]


def secured(headers: Headers) -> Headers:
    """``headers`` of a response with the security headers added: a header the route set is
    kept (a CSP without ``frame-ancestors`` gets it appended; one CSP header stays one)."""
    names = {name.lower() for name, _ in headers}
    added = [header for header in EVERY_RESPONSE if header[0] not in names]
    content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    if not content_type.lower().startswith(DOCUMENT_TYPES):
        return [*headers, *added]
    if X_FRAME_OPTIONS[0] not in names:
        added.append(X_FRAME_OPTIONS)
    if b"content-security-policy" not in names:
        return [*headers, *added, (b"content-security-policy", FRAME_ANCESTORS)]
    return [*(_with_frame_ancestors(header) for header in headers), *added]


def _with_frame_ancestors(header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    name, value = header
    if name.lower() != b"content-security-policy":
        return header
    directives = [d.strip().split(maxsplit=1)[0].lower() for d in value.split(b";") if d.strip()]
    if b"frame-ancestors" in directives:
        return header  # the route chose its own
    return name, b"; ".join([value.rstrip(b"; "), FRAME_ANCESTORS])


class SecurityHeaders:
    """ASGI middleware: wrap the whole app (outside Starlette's error handler, so a 500 page
    has the headers too). HTTP responses get ``secured`` headers; anything else passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secured(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, send_secured)


# After the body timeout, the sign-in answers 408 itself (``relay.auth``); the connection is cut
# this much later, so that answer goes out first.
BODY_CUT_MARGIN_SECONDS = 1.0


def http_protocol(header_timeout_seconds: float, body_timeout_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol (``uvicorn.run(..., http=...)``) that bounds how long a request
    may take to arrive: its head within ``header_timeout_seconds`` of the connection or of its
    first byte after the previous response, then its body (if it has one) within
    ``body_timeout_seconds`` (plus ``BODY_CUT_MARGIN_SECONDS``); else the connection is closed.
    A slowloris client (a few bytes now and then, on many connections) holds nothing past
    that. Keep-alive idle time stays uvicorn's (``timeout_keep_alive``); a WebSocket, once
    upgraded, is the WebSocket protocol's."""
    deadlines: dict[object, float] = {
        h11.IDLE: header_timeout_seconds,
        h11.SEND_BODY: body_timeout_seconds + BODY_CUT_MARGIN_SECONDS,
    }

    class TimedH11Protocol(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _timed: object = None  # the peer's state (an h11 sentinel) the timer runs for

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._time(h11.IDLE)

        def data_received(self, data: bytes) -> None:
            # A new request's first bytes after keep-alive: its head has the time from now.
            self._time(self.conn.their_state)
            super().data_received(data)
            if self.transport.get_protocol() is not self:
                # Upgraded: the connection is the WebSocket protocol's now, with its own
                # limits; an HTTP deadline left running would cut a live socket (issue 19).
                self._time(None)
                return
            self._time(self.conn.their_state)  # the head is in: the body's time, or none

        def connection_lost(self, exc: Exception | None) -> None:
            self._time(None)
            super().connection_lost(exc)

        def _time(self, state: object) -> None:
            """Run the deadline of the peer's ``state`` (keep one already running for it)."""
            if state is self._timed:
                return
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._timed = state if state in deadlines else None
            if self._timed is not None:
                self._timer = self.loop.call_later(deadlines[self._timed], self._too_late)

        def _too_late(self) -> None:
            self._timer = None
            if not self.transport.is_closing() and self.transport.get_protocol() is self:
                self.logger.info("http.request_timeout waiting_for=%s", self._timed)
                self.transport.close()

    return TimedH11Protocol
