"""The relay's plain HTTP pages: index, health, metrics, the tag, the protocol, the agent
workspace with its Content-Security-Policy, and transcripts.

Owns: those routes, their caching headers, the workspace's CSP (wherever agent.html is served),
and who may read the metrics (this machine only). Must not: set the headers every response
carries (``relay.headers`` does), sign anyone in (``relay.auth``), read the core's tables (it
asks ``active_sessions`` and ``transcript``), or log chat text.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from relay.auth import COOKIE, SignIn, error_response, origin_of
from relay.core import RelayCore
from relay.live_settings import LiveSettings
from relay.logs import ids
from relay.metrics import CONTENT_TYPE, RelayMetrics, is_loopback
from relay.store import StoreError
from tag_js import built_tag, built_tag_etag
from wire import protocol
from wire.errors import ProtocolError

log = logging.getLogger("cobrowse.relay")

STATIC_DIR = Path(__file__).resolve().parent / "static"
# nosniff, Referrer-Policy and frame-ancestors are on every response (``relay.headers``); a
# window our pages open shares no browsing context group with them.
SECURITY_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin"}


def workspace_csp(own: str) -> str:
    """The agent workspace's policy, served from ``own``."""
    ws = own.replace("http", "ws", 1)
    # No script but our own files. The replica frame inherits this policy: its images, fonts
    # and stylesheets come through the relay's resource proxy (``relay.resources``, which
    # fetches from the session's brand origins alone), so the agent's browser never calls
    # another host, whatever URL a hostile page slips into the replica.
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src 'self' {ws}",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class Pages:
    """``routes()`` for the HTTP pages; ``/metrics`` shows ``metrics`` to this machine only."""

    def __init__(
        self, core: RelayCore, live: LiveSettings, sign_in: SignIn, metrics: RelayMetrics
    ) -> None:
        self._core = core
        self._live = live
        self._sign_in = sign_in
        self._metrics = metrics

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index),
            Route("/healthz", self.healthz),
            Route("/metrics", self.metrics),
            Route("/tag.js", self.tag_js),
            Route("/protocol.json", self.protocol_json),
            Route("/agent", self.agent_page),
            # The same file under the /static mount: served here, with the workspace's CSP.
            Route("/static/agent.html", self.agent_page),
            Route("/agent/conversations/{conversation}/transcript", self.transcript),
        ]

    async def index(self, request: Request) -> Response:
        if self._live.current.demo:
            return RedirectResponse("/demo/")
        return PlainTextResponse("cobrowse relay. Agents sign in at /agent.\n")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "sessions": self._core.active_sessions()})

    async def metrics(self, request: Request) -> Response:
        """Prometheus text for a scraper on this machine; 404 to anyone else, as if absent.

        Session and socket counts say how busy a brand's site is: not for the public. A proxy
        on this machine makes every client look local: one that says so (``Forwarded``,
        ``X-Forwarded-For``) is refused too.
        """
        client = request.client.host if request.client else None
        proxied = "forwarded" in request.headers or "x-forwarded-for" in request.headers
        if proxied or not is_loopback(client):
            return PlainTextResponse("Not Found", status_code=404)
        return Response(
            self._metrics.exposition(),
            media_type=CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    async def tag_js(self, request: Request) -> Response:
        # The minified tag (built once per process); the ETag lets browsers revalidate cheaply.
        etag = built_tag_etag()
        headers = {"Cache-Control": "public, max-age=300", "ETag": etag, **SECURITY_HEADERS}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(built_tag(), media_type="application/javascript", headers=headers)

    async def protocol_json(self, request: Request) -> Response:
        return JSONResponse(protocol.describe(), headers={"Cache-Control": "public, max-age=300"})

    async def agent_page(self, request: Request) -> Response:
        own = origin_of(request.url.scheme, request.headers.get("host", ""))
        headers = {
            "Content-Security-Policy": workspace_csp(own),
            "Cache-Control": "no-store",
            **SECURITY_HEADERS,
        }
        return FileResponse(STATIC_DIR / "agent.html", media_type="text/html", headers=headers)

    async def transcript(self, request: Request) -> Response:
        """A conversation's chat for a signed-in agent of its brand: JSON, or text to download.

        Never contains invitations or CoBrowse session content: they are not stored.
        """
        try:
            agent_id = self._sign_in.checked_agent(request.cookies.get(COOKIE))
        except StoreError as lost:  # sign-in sessions live in the store too
            log.error("store.error", extra=ids(error=type(lost).__name__))
            return _store_unavailable()
        if agent_id is None:
            return error_response(401, "unauthenticated", "sign in first")
        # A cross-site page cannot read the answer (no CORS), and the cookie is SameSite=strict;
        # Sec-Fetch-Site refuses even the request where the browser says it is cross-site.
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return error_response(403, "forbidden", "cross-site request refused")
        try:
            conversation, entries = self._core.transcript(
                agent_id, request.path_params["conversation"]
            )
        except ProtocolError as error:
            return error_response(404, error.code, error.message)
        except StoreError as lost:
            log.error("store.error", extra=ids(agent=agent_id, error=type(lost).__name__))
            return _store_unavailable()
        log.info("transcript agent=%s conversation=%s", agent_id, conversation.id)
        headers = {"Cache-Control": "no-store", **SECURITY_HEADERS}
        if request.query_params.get("format") == "text":
            lines = [
                f"Conversation {conversation.id} ({conversation.brand})",
                f"Started {_iso(conversation.started_at)}"
                + (f", ended {_iso(conversation.closed_at)}" if conversation.closed_at else ""),
                "",
            ]
            lines += [f"[{_iso(e.at)}] {e.name} ({e.sender}): {e.text}" for e in entries]
            headers["Content-Disposition"] = (
                f'attachment; filename="transcript-{conversation.id}.txt"'
            )
            return PlainTextResponse("\n".join(lines) + "\n", headers=headers)
        return JSONResponse(
            {
                "conversation": conversation.id,
                "brand": conversation.brand,
                "started_at": conversation.started_at,
                "closed_at": conversation.closed_at,
                "messages": [e.body() for e in entries],
            },
            headers=headers,
        )


def _store_unavailable() -> Response:
    return error_response(503, "internal", "the conversation store is unavailable; retry")


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))
