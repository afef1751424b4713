"""The relay's HTTP and WebSocket adapter: bytes in, core events; core effects, bytes out.

Owns: routes, origin checks, agent sign-in cookies, per-socket limits (frame size, rate,
backpressure), the clock, and carrying out the core's effects (broker, renderer).
Must not: decide who may do what (that is ``relay.core``), or log or keep any page content,
typed text or chat text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from relay import core
from relay.broker import Broker, LocalBroker, Subscription
from relay.passwords import verify_password
from relay.ratelimit import KeyedLimiter, TokenBucket
from relay.settings import SELF_ORIGIN, Settings, SettingsError, load_settings
from relay.store import SqliteStore
from renderer.service import BrandPolicy, Renderer, RendererError
from tag_js import built_tag, built_tag_etag
from wire import protocol
from wire.errors import CLOSE_POLICY, CLOSE_TOO_BIG, ProtocolError

log = logging.getLogger("cobrowse.relay")

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
DEMO_DIR = PACKAGE_DIR / "demo"
COOKIE = "cobrowse_agent"
COOKIE_MAX_AGE = 12 * 3600
DECODE_ON_THREAD_BYTES = 64 * 1024  # frames larger than this are decoded off the event loop
RENDER_BACKLOG = 512  # queued dom.* messages per session before we resync instead
# Queued dom.mutations of a session sanitized in one renderer call: each is at most ~256 KB
# (docs/protocol.md, "Streaming a large page"), so a group stays well inside the renderer's
# per-call timeout.
RENDER_GROUP = 16

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def _origin_of(scheme: str, host: str) -> str:
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    return f"{scheme}://{host}".lower()


class RelayServer:
    """Wires one ``core.Relay`` to a broker and a renderer, and builds the Starlette app."""

    def __init__(
        self,
        settings: Settings,
        *,
        broker: Broker | None = None,
        renderer: Renderer | None = None,
        store: SqliteStore | None = None,
        settings_path: str | Path | None = None,
    ) -> None:
        self.settings = settings
        # The settings file, watched for changes to its agents and brands (``reload_settings``).
        self.settings_path = Path(settings_path) if settings_path is not None else None
        self._settings_seen = self._settings_signature()
        self.store = store or SqliteStore(settings.database)
        self.core = core.Relay(
            [core.AgentAccount(a.id, a.name, frozenset(a.brands)) for a in settings.agents],
            [core.BrandRules(b.id, b.mask_selectors) for b in settings.brands],
            store=self.store,
            new_id=lambda: secrets.token_urlsafe(12),
            new_token=lambda: secrets.token_urlsafe(32),
            settings=core.CoreSettings(
                invite_ttl_ms=int(settings.invite_ttl_seconds * 1000),
                visitor_grace_ms=int(settings.visitor_grace_seconds * 1000),
            ),
        )
        self.broker: Broker = broker or LocalBroker()
        self.renderer = renderer or Renderer(chromium_setting=settings.chromium)
        # A crashed page or a dead browser resyncs its idle sessions at once (not only at
        # their visitor's next dom.* message): the agent never keeps a stale replica.
        self.renderer.on_lost = self._replicas_lost
        self.signer = TimestampSigner(settings.secret_key, salt="cobrowse.agent")
        self.login_limiter = KeyedLimiter(settings.limits.login_attempts_per_minute)
        self.accounts = {a.id: a for a in settings.agents}
        self._render_queues: dict[str, asyncio.Queue[core.Render | None]] = {}
        self._render_tasks: set[asyncio.Task[None]] = set()
        self._page_origins: dict[str, str] = {}  # conversation id -> the visitor page's origin
        self.app = self._build_app()

    # ------------------------------------------------------------ app

    def _build_app(self) -> Starlette:
        routes: list[Any] = [
            Route("/", self.index),
            Route("/healthz", self.healthz),
            Route("/tag.js", self.tag_js),
            Route("/protocol.json", self.protocol_json),
            Route("/agent", self.agent_page),
            Route("/agent/me", self.agent_me),
            Route("/agent/login", self.agent_login, methods=["POST"]),
            Route("/agent/logout", self.agent_logout, methods=["POST"]),
            Route("/agent/conversations/{conversation}/transcript", self.transcript),
            WebSocketRoute("/ws/visitor", self.visitor_socket),
            WebSocketRoute("/ws/agent", self.agent_socket),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ]
        if self.settings.demo:
            routes.append(
                Mount("/demo", app=StaticFiles(directory=DEMO_DIR, html=True), name="demo")
            )
        return Starlette(routes=routes, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(self._tick_forever())
        try:
            yield
        finally:
            ticker.cancel()
            for task in list(self._render_tasks):
                task.cancel()
            await self.renderer.close()
            self.store.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.apply(self.core.tick(now_ms()))
            seen = self._settings_signature()
            if seen != self._settings_seen:
                self._settings_seen = seen
                await self.reload_settings()

    # ------------------------------------------------------------ settings

    def _settings_signature(self) -> tuple[int, int] | None:
        if self.settings_path is None:
            return None
        try:
            stat = self.settings_path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    async def reload_settings(self, settings: Settings | None = None) -> bool:
        """Take the agents and brands of the settings file (or of ``settings``) without a
        restart: new and removed accounts, allowed origins, and mask selectors, which running
        sessions get at once (``session.config``). Everything else needs a restart.

        A file that does not load is reported and changes nothing. Returns whether it took."""
        if settings is None:
            if self.settings_path is None:
                return False
            try:
                settings = await asyncio.to_thread(load_settings, self.settings_path)
            except SettingsError as error:
                log.error("settings.reload_failed error=%s (keeping the running settings)", error)
                return False
        self.settings = replace(self.settings, brands=settings.brands, agents=settings.agents)
        self.accounts = {a.id: a for a in settings.agents}
        await self.apply(
            self.core.update_accounts(
                [core.AgentAccount(a.id, a.name, frozenset(a.brands)) for a in settings.agents],
                [core.BrandRules(b.id, b.mask_selectors) for b in settings.brands],
            )
        )
        log.info(
            "settings.reloaded brands=%d agents=%d", len(settings.brands), len(settings.agents)
        )
        return True

    # ------------------------------------------------------------ HTTP

    async def index(self, request: Request) -> Response:
        if self.settings.demo:
            return RedirectResponse("/demo/")
        return PlainTextResponse("cobrowse relay. Agents sign in at /agent.\n")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "sessions": len(self.core.sessions)})

    async def tag_js(self, request: Request) -> Response:
        # The minified tag (built once per process); the ETag lets browsers revalidate cheaply.
        etag = built_tag_etag()
        headers = {"Cache-Control": "public, max-age=300", "ETag": etag, **SECURITY_HEADERS}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(built_tag(), media_type="application/javascript", headers=headers)

    async def protocol_json(self, request: Request) -> Response:
        return JSONResponse(protocol.describe(), headers={"Cache-Control": "public, max-age=300"})

    def _workspace_csp(self, request: Request) -> str:
        own = _origin_of(request.url.scheme, request.headers.get("host", ""))
        brand_origins = sorted(
            {o for b in self.settings.brands for o in b.allowed_origins if o != SELF_ORIGIN}
        )
        media = " ".join(["'self'", "data:", *brand_origins])
        ws = own.replace("http", "ws", 1)
        # No script but our own files; the replica frame inherits this policy, so hostile
        # CSS or image URLs from a visitor's page can reach only the brand's own origins.
        return "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                f"style-src 'self' 'unsafe-inline' {' '.join(brand_origins)}".strip(),
                f"img-src {media}",
                f"font-src {media}",
                f"connect-src 'self' {ws}",
                "frame-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    async def agent_page(self, request: Request) -> Response:
        headers = {
            "Content-Security-Policy": self._workspace_csp(request),
            "Cache-Control": "no-store",
            **SECURITY_HEADERS,
        }
        return FileResponse(STATIC_DIR / "agent.html", media_type="text/html", headers=headers)

    def _agent_from_cookie(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            agent_id = self.signer.unsign(cookie, max_age=COOKIE_MAX_AGE).decode()
        except (BadSignature, SignatureExpired, UnicodeDecodeError):
            return None
        return agent_id if agent_id in self.accounts else None

    def _same_origin(self, scheme: str, headers: Any) -> bool:
        origin = headers.get("origin")
        return origin is not None and origin.lower() == _origin_of(scheme, headers.get("host", ""))

    async def agent_me(self, request: Request) -> Response:
        agent_id = self._agent_from_cookie(request.cookies.get(COOKIE))
        if agent_id is None:
            return _error_response(401, "unauthenticated", "sign in first")
        return JSONResponse({"id": agent_id, "name": self.accounts[agent_id].name})

    async def agent_login(self, request: Request) -> Response:
        # Cross-site request forgery: a state-changing request must come from our own pages.
        if not self._same_origin(request.url.scheme, request.headers):
            return _error_response(403, "forbidden", "cross-origin request refused")
        client = request.client.host if request.client else "?"
        if not self.login_limiter.allow(client, time.monotonic()):
            return _error_response(429, "rate_limited", "too many sign-in attempts; wait a minute")
        try:
            body = json.loads(await request.body())
            name, password = body["name"], body["password"]
            if not isinstance(name, str) or not isinstance(password, str) or len(password) > 1024:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error_response(400, "invalid", "send JSON {name, password}")
        account = self.accounts.get(name)
        # Verify against a hash even for unknown names, so timing does not reveal accounts.
        stored = account.password_hash if account else _DUMMY_HASH
        if not verify_password(password, stored) or account is None:
            log.info("agent.login_failed client=%s", client)
            return _error_response(401, "unauthenticated", "wrong name or password")
        response = JSONResponse({"id": account.id, "name": account.name})
        response.set_cookie(
            COOKIE,
            self.signer.sign(account.id).decode(),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=self.settings.secure_cookies,
            path="/",
        )
        log.info("agent.login agent=%s", account.id)
        return response

    async def agent_logout(self, request: Request) -> Response:
        if not self._same_origin(request.url.scheme, request.headers):
            return _error_response(403, "forbidden", "cross-origin request refused")
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def transcript(self, request: Request) -> Response:
        """A conversation's chat for a signed-in agent of its brand: JSON, or text to download.

        Never contains invitations or CoBrowse session content: they are not stored.
        """
        agent_id = self._agent_from_cookie(request.cookies.get(COOKIE))
        if agent_id is None:
            return _error_response(401, "unauthenticated", "sign in first")
        # A cross-site page cannot read the answer (no CORS), and the cookie is SameSite=strict;
        # Sec-Fetch-Site refuses even the request where the browser says it is cross-site.
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return _error_response(403, "forbidden", "cross-site request refused")
        try:
            conversation, entries = self.core.transcript(
                agent_id, request.path_params["conversation"]
            )
        except ProtocolError as error:
            return _error_response(404, error.code, error.message)
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

    # ------------------------------------------------------------ WebSockets

    def _brand_for_origin(self, websocket: WebSocket) -> str | None:
        origin = (websocket.headers.get("origin") or "").lower().rstrip("/")
        own = _origin_of(websocket.url.scheme, websocket.headers.get("host", ""))
        for brand in self.settings.brands:
            for allowed in brand.allowed_origins:
                if origin and origin == (own if allowed == SELF_ORIGIN else allowed.lower()):
                    return brand.id
        return None

    async def visitor_socket(self, websocket: WebSocket) -> None:
        brand = self._brand_for_origin(websocket)
        if brand is None:
            log.info("visitor.refused reason=origin")
            await websocket.close(code=CLOSE_POLICY, reason="origin not allowed")
            return
        await websocket.accept()
        token = websocket.query_params.get("token") or None
        peer, effects = self.core.visitor_connected(brand, token, now_ms())
        # The page's origin stands for "self" in the brand's allowed origins when rendering.
        self._page_origins[peer.id] = (websocket.headers.get("origin") or "").lower().rstrip("/")
        limits = self.settings.limits
        await self._serve_socket(
            websocket,
            peer,
            effects,
            protocol.VISITOR,
            limits.visitor_frame_bytes,
            TokenBucket(limits.visitor_rate, limits.visitor_burst),
        )

    async def agent_socket(self, websocket: WebSocket) -> None:
        agent_id = self._agent_from_cookie(websocket.cookies.get(COOKIE))
        # Cross-site WebSocket hijacking: the cookie alone is not enough, the page must be ours.
        if agent_id is None or not self._same_origin(websocket.url.scheme, websocket.headers):
            log.info("agent.refused reason=%s", "cookie" if agent_id is None else "origin")
            await websocket.close(code=CLOSE_POLICY, reason="sign in first")
            return
        await websocket.accept()
        peer, effects = self.core.agent_connected(agent_id)
        limits = self.settings.limits
        await self._serve_socket(
            websocket,
            peer,
            effects,
            protocol.AGENT,
            limits.agent_frame_bytes,
            TokenBucket(limits.agent_rate, limits.agent_burst),
        )

    async def _serve_socket(
        self,
        websocket: WebSocket,
        peer: core.Peer,
        effects: list[core.Effect],
        role: protocol.Role,
        max_bytes: int,
        bucket: TokenBucket,
    ) -> None:
        subscription = self.broker.subscribe(peer)
        log.info("%s.connected id=%s", role, peer.id)
        try:
            await self.apply(effects)
            await _run_until_first_done(
                self._read_loop(websocket, peer, role, max_bytes, bucket),
                self._write_loop(websocket, subscription),
            )
        finally:
            self.broker.unsubscribe(subscription)
            if role == protocol.VISITOR:
                await self.apply(self.core.visitor_disconnected(peer, now_ms()))
            log.info("%s.disconnected id=%s", role, peer.id)

    async def _read_loop(
        self,
        websocket: WebSocket,
        peer: core.Peer,
        role: protocol.Role,
        max_bytes: int,
        bucket: TokenBucket,
    ) -> None:
        errors_in_a_row = 0
        while True:
            try:
                event = await websocket.receive()
            except WebSocketDisconnect:
                return
            if event["type"] == "websocket.disconnect":
                return
            frame = event.get("text")
            if frame is None:
                frame = event.get("bytes") or b""
            if len(frame) > max_bytes:
                await websocket.close(code=CLOSE_TOO_BIG, reason=f"frame over {max_bytes} bytes")
                return
            try:
                if not bucket.allow(time.monotonic()):
                    raise ProtocolError("rate_limited", "too many messages; slow down")
                if len(frame) > DECODE_ON_THREAD_BYTES:
                    # A big snapshot takes a few hundred ms to validate: on a thread, so the
                    # other sockets' pointers and chat go on meanwhile (this socket waits).
                    message = await asyncio.to_thread(protocol.decode, frame, role)
                else:
                    message = protocol.decode(frame, role)
                effects = self.core.receive(peer, message, now_ms())
                errors_in_a_row = 0
            except ProtocolError as error:
                errors_in_a_row += 1
                log.info("%s.error id=%s code=%s ref=%s", role, peer.id, error.code, error.ref)
                if errors_in_a_row > self.settings.limits.abuse_errors_before_close:
                    await websocket.close(code=CLOSE_POLICY, reason="too many invalid messages")
                    return
                try:
                    await websocket.send_text(protocol.encode("error", **error.body()))
                except (WebSocketDisconnect, OSError, RuntimeError):
                    return  # the peer left while we answered
                continue
            await self.apply(effects)

    async def _write_loop(self, websocket: WebSocket, subscription: Subscription) -> None:
        try:
            while True:
                frame = await subscription.next_frame()
                if frame is None:  # the socket fell too far behind: it reconnects and resyncs
                    await websocket.close(code=CLOSE_POLICY, reason="too slow; reconnect")
                    return
                await websocket.send_text(frame)
        except (WebSocketDisconnect, OSError, RuntimeError):
            # The peer went away between two frames (RuntimeError: Starlette refuses a send
            # after the close). Nothing to deliver to: the read loop sees the disconnect too.
            return

    # ------------------------------------------------------------ effects

    async def apply(self, effects: list[core.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, core.Send):
                await self.broker.publish(effect.to, protocol.encode(effect.type, **effect.body))
            elif isinstance(effect, core.Render):
                self._enqueue_render(effect)
            elif isinstance(effect, core.DropReplica):
                queue = self._render_queues.pop(effect.session, None)
                if queue is not None:
                    _drain(queue)
                    queue.put_nowait(None)
                await self.renderer.drop(effect.session)

    def _replicas_lost(self, sessions: list[str]) -> None:
        """Renderer callback (on the event loop): these sessions' replicas are gone."""
        loop = asyncio.get_running_loop()
        for session in sessions:
            queue = self._render_queues.get(session)
            if queue is not None:
                _drain(queue)  # batches for the lost replica would only fail and resync again
            task = loop.create_task(self.apply(self.core.replica_failed(session)))
            self._render_tasks.add(task)
            task.add_done_callback(self._render_tasks.discard)

    def _enqueue_render(self, render: core.Render) -> None:
        queue = self._render_queues.get(render.session)
        if queue is None:
            queue = self._render_queues[render.session] = asyncio.Queue(maxsize=RENDER_BACKLOG)
            task = asyncio.create_task(self._render_worker(render.session, queue))
            self._render_tasks.add(task)
            task.add_done_callback(self._render_tasks.discard)
        if render.message.type == "dom.snapshot":
            _drain(queue)  # a new snapshot supersedes everything still queued
        try:
            queue.put_nowait(render)
        except asyncio.QueueFull:
            _drain(queue)
            asyncio.get_running_loop().create_task(
                self.apply(self.core.replica_failed(render.session))
            )

    def _render_policy(self, render: core.Render) -> BrandPolicy:
        """What the replica may load: the brand's origins, "self" being the visitor's page."""
        brand = next(b for b in self.settings.brands if b.id == render.brand)
        session = self.core.sessions.get(render.session)
        page_origin = self._page_origins.get(session.conversation, "") if session else ""
        origins = [page_origin if o == SELF_ORIGIN else o for o in brand.allowed_origins]
        return BrandPolicy(
            origins=tuple(dict.fromkeys(o for o in origins if o)),
            mask_selectors=brand.mask_selectors,
        )

    async def _render_worker(self, session: str, queue: asyncio.Queue[core.Render | None]) -> None:
        """Sanitize one session's DOM stream in order and send each result to its agent.

        ``dom.mutations`` already waiting behind the one taken go to the renderer together
        (up to ``RENDER_GROUP``): a streamed page's backlog costs one call, not one per batch.
        Each still comes out as its own ``replica.mutations``, in order, with its own ``seq``.
        """
        # A snapshot drains the queue when it is queued (_enqueue_render), so one never waits
        # behind a mutations batch; should it, it is carried over to the next turn, unless the
        # session's queue was dropped meanwhile.
        carried: core.Render | None = None
        while True:
            if carried is not None and self._render_queues.get(session) is not queue:
                return
            render = carried if carried is not None else await queue.get()
            carried = None
            if render is None:
                return
            group = [render]
            while (
                render.message.type == "dom.mutations"
                and len(group) < RENDER_GROUP
                and not queue.empty()
            ):
                queued = queue.get_nowait()
                if queued is None:
                    return  # dropped: nothing of it goes out
                if queued.message.type != "dom.mutations":
                    carried = queued  # a snapshot: its own call, after this group
                    break
                group.append(queued)
            messages = [
                {"v": protocol.PROTOCOL_VERSION, "type": r.message.type, **r.message.body}
                for r in group
            ]
            try:
                if render.message.type == "dom.snapshot":
                    policy = self._render_policy(render)
                    results = [await self.renderer.snapshot(session, messages[0], policy)]
                else:
                    results = await self.renderer.mutations_many(session, messages)
            except RendererError as error:
                log.warning("renderer.failed session=%s error=%s", session, type(error).__name__)
                _drain(queue)
                carried = None
                await self.apply(self.core.replica_failed(session))
                continue
            if session not in self.core.sessions:
                continue  # ended while we were rendering: nothing goes out
            kind = (
                "replica.snapshot" if render.message.type == "dom.snapshot" else "replica.mutations"
            )
            for r, result in zip(group, results, strict=True):
                body = {k: v for k, v in result.items() if k not in ("v", "type")}
                await self.broker.publish(r.agent, protocol.encode(kind, **body))


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


async def _run_until_first_done(*coroutines: Awaitable[None]) -> None:
    """Run the coroutines together; when the first one returns, cancel the others.

    anyio's task group keeps cancellation from outside (server shutdown) intact, which a
    hand-rolled ``asyncio.wait`` + ``gather`` does not.
    """
    async with anyio.create_task_group() as group:

        async def run(coroutine: Awaitable[None]) -> None:
            await coroutine
            group.cancel_scope.cancel()

        for coroutine in coroutines:
            group.start_soon(run, coroutine)


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))


def _error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


def create_app(settings: Settings, **kwargs: Any) -> Starlette:
    return RelayServer(settings, **kwargs).app
