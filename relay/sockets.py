"""The visitor and agent WebSockets: frames in, core events; the broker's frames out.

Owns: who may open a socket (a brand's allowed origin, an agent's cookie from our own page),
per-socket limits (frame bytes, message rate, consecutive errors before a close), decoding
frames (big ones on a thread), and the read and write loops. Heartbeats, timeouts and
backpressure live here and in the broker only. Must not: decide what a message does (that is
the core's answer), or log or keep page content, typed text or chat text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from relay.auth import COOKIE, SignIn, origin_of, same_origin
from relay.broker import Broker, BrokerUnavailable, Subscription
from relay.core import Effect, Peer, RelayCore
from relay.live import FleetLock
from relay.live_settings import LiveSettings
from relay.logs import ids
from relay.metrics import UNKNOWN, RelayMetrics
from relay.ratelimit import Limiter, TokenBucket
from relay.settings import SELF_ORIGIN
from relay.store import StoreError
from wire import protocol
from wire.errors import (
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    ProtocolError,
)

log = logging.getLogger("cobrowse.relay")

DECODE_ON_THREAD_BYTES = 64 * 1024  # frames larger than this are decoded off the event loop

Apply = Callable[[list[Effect]], Awaitable[None]]


class Sockets:
    """``routes()`` for ``/ws/visitor`` and ``/ws/agent``. ``apply`` carries out the core's
    effects (``relay.effects.EffectRunner.apply``); ``clock`` is the time in ms for the core.
    ``metrics`` counts sockets, frames in and out, errors and cuts. ``limiter(per_minute,
    name)`` makes a named rate limit (this process's, or the fleet's in Redis).

    A core call that may change invites or sessions (``RelayCore.needs_lock``, and every
    connect) runs with ``lock`` held until its effects are published: on a fleet, the changes
    of all nodes and what they announce come in one order. A socket listens for its peer's
    frames before the core reads anything for it, so nothing sent meanwhile passes it by.
    """

    def __init__(
        self,
        core: RelayCore,
        live: LiveSettings,
        sign_in: SignIn,
        broker: Broker,
        *,
        lock: FleetLock,
        limiter: Callable[[int, str], Limiter],
        apply: Apply,
        clock: Callable[[], int],
        metrics: RelayMetrics,
    ) -> None:
        self._core = core
        self._live = live
        self._sign_in = sign_in
        self._broker = broker
        self._lock = lock
        limits = live.current.limits
        # Fleet-wide on a fleet (``limiter(per_minute, name)``: one budget in Redis).
        self._visitor_limiter = limiter(  # new visitor sockets per client address
            limits.visitor_sockets_per_minute, "visitor_sockets"
        )
        self._apply = apply
        self._clock = clock
        self._metrics = metrics
        self._agents: dict[str, set[WebSocket]] = {}  # agent id -> its sockets on this node

    async def close_removed_agents(self) -> None:
        """The settings file changed: the sockets of agents it no longer has close (4403
        policy), on every node (each one reads the file)."""
        for agent_id, websockets in list(self._agents.items()):
            if self._live.login(agent_id) is None:
                for websocket in list(websockets):
                    self._metrics.socket_cut(protocol.AGENT, "account_removed")
                    try:
                        await websocket.close(code=CLOSE_POLICY, reason="account removed")
                    except (RuntimeError, OSError):
                        pass  # closing already

    def routes(self) -> list[WebSocketRoute]:
        return [
            WebSocketRoute("/ws/visitor", self.visitor),
            WebSocketRoute("/ws/agent", self.agent),
        ]

    def _brand_for_origin(self, websocket: WebSocket) -> str | None:
        origin = (websocket.headers.get("origin") or "").lower().rstrip("/")
        own = origin_of(websocket.url.scheme, websocket.headers.get("host", ""))
        for brand in self._live.current.brands:
            for allowed in brand.allowed_origins:
                if origin and origin == (own if allowed == SELF_ORIGIN else allowed.lower()):
                    return brand.id
        return None

    async def visitor(self, websocket: WebSocket) -> None:
        brand = self._brand_for_origin(websocket)
        if brand is None:
            log.info("visitor.refused reason=origin")
            self._metrics.socket_refused(protocol.VISITOR, "origin")
            await websocket.close(code=CLOSE_POLICY, reason="origin not allowed")
            return
        address = websocket.client.host if websocket.client else "?"
        try:
            allowed = await self._visitor_limiter.allow(address)
        except BrokerUnavailable:  # the fleet's Redis is away: nothing can be served
            await websocket.close(code=CLOSE_INTERNAL, reason="relay restarting; reconnect")
            return
        if not allowed:
            # Not 1008: the tag would give up its conversation; it retries with its backoff.
            log.info("visitor.refused reason=rate_limited")
            self._metrics.socket_refused(protocol.VISITOR, "rate_limited")
            await websocket.close(code=CLOSE_TRY_AGAIN, reason="too many new connections")
            return
        await websocket.accept()
        token = websocket.query_params.get("token") or None
        page_origin = (websocket.headers.get("origin") or "").lower().rstrip("/")
        await self._open(
            websocket,
            lambda: self._core.resumable(brand, token),
            lambda: self._core.visitor_connected(
                brand, token, self._clock(), page_origin=page_origin
            ),
        )

    async def agent(self, websocket: WebSocket) -> None:
        agent_id = self._sign_in.agent(websocket.cookies.get(COOKIE))
        # Cross-site WebSocket hijacking: the cookie alone is not enough, the page must be ours.
        if agent_id is None or not same_origin(websocket.url.scheme, websocket.headers):
            reason = "cookie" if agent_id is None else "origin"
            log.info("agent.refused reason=%s", reason)
            self._metrics.socket_refused(protocol.AGENT, reason)
            await websocket.close(code=CLOSE_POLICY, reason="sign in first")
            return
        await websocket.accept()
        agent = Peer(protocol.AGENT, agent_id)
        self._agents.setdefault(agent_id, set()).add(websocket)
        try:
            await self._open(websocket, lambda: agent, lambda: self._core.agent_connected(agent_id))
        finally:
            sockets = self._agents.get(agent_id, set())
            sockets.discard(websocket)
            if not sockets:
                self._agents.pop(agent_id, None)

    async def _open(
        self,
        websocket: WebSocket,
        who: Callable[[], Peer | None],
        connect: Callable[[], tuple[Peer, list[Effect]]],
    ) -> None:
        """Listen for the peer's frames (``who``: its address, if known before it connects),
        tell the core the socket opened and publish the answer, with the fleet's lock held;
        then serve it with its role's limits. A store, Redis or lock that fails meanwhile
        closes it 1011: the client reconnects later."""
        subscription: Subscription | None = None
        try:
            known = who()
            if known is not None:
                subscription = await self._broker.subscribe(known)
            async with self._lock.held():
                peer, effects = connect()
                if subscription is None or subscription.peer != peer:
                    # A new conversation: nothing was sent to it before it existed.
                    if subscription is not None:
                        self._broker.unsubscribe(subscription)
                    subscription = await self._broker.subscribe(peer)
                await self._apply(effects)
                await self._broker.flush()  # announced before the next node's change
        except (StoreError, BrokerUnavailable) as lost:
            log.error("store.error", extra=ids(error=type(lost).__name__))
            if subscription is not None:
                self._broker.unsubscribe(subscription)
            await websocket.close(code=CLOSE_INTERNAL, reason="storage unavailable; reconnect")
            return
        limits = self._live.current.limits
        if peer.role == protocol.VISITOR:
            frame_bytes, bucket = (
                limits.visitor_frame_bytes,
                (limits.visitor_rate, limits.visitor_burst),
            )
        else:
            frame_bytes, bucket = limits.agent_frame_bytes, (limits.agent_rate, limits.agent_burst)
        await self._serve(websocket, subscription, frame_bytes, TokenBucket(*bucket))

    async def _serve(
        self,
        websocket: WebSocket,
        subscription: Subscription,
        max_bytes: int,
        bucket: TokenBucket,
    ) -> None:
        peer = subscription.peer
        log.info("%s.connected", peer.role, extra=_ids(peer))
        self._metrics.socket_opened(peer.role)
        try:
            await _run_until_first_done(
                self._read_loop(websocket, peer, max_bytes, bucket),
                self._write_loop(websocket, subscription),
            )
        finally:
            self._metrics.socket_closed(peer.role)
            self._broker.unsubscribe(subscription)
            if peer.role == protocol.VISITOR:
                try:
                    await self._apply(self._core.visitor_disconnected(peer, self._clock()))
                except StoreError as lost:  # Redis away: its session ends after the grace time
                    log.error("store.error", extra=_ids(peer, error=type(lost).__name__))
            log.info("%s.disconnected", peer.role, extra=_ids(peer))

    async def _read_loop(
        self, websocket: WebSocket, peer: Peer, max_bytes: int, bucket: TokenBucket
    ) -> None:
        role = peer.role
        metrics = self._metrics
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
                metrics.received(None)
                metrics.socket_cut(role, "frame_too_big")
                await websocket.close(code=CLOSE_TOO_BIG, reason=f"frame over {max_bytes} bytes")
                return
            counted = False
            try:
                if not bucket.allow(time.monotonic()):
                    raise ProtocolError("rate_limited", "too many messages; slow down")
                if len(frame) > DECODE_ON_THREAD_BYTES:
                    # A big snapshot takes a few hundred ms to validate: on a thread, so the
                    # other sockets' pointers and chat go on meanwhile (this socket waits).
                    message = await asyncio.to_thread(protocol.decode, frame, role)
                else:
                    message = protocol.decode(frame, role)
                metrics.received(message.type)
                counted = True
                try:
                    await self._handle(peer, message)
                except StoreError as lost:
                    # The conversation store or the fleet's live state failed this call
                    # (PostgreSQL restarting, Redis lost, the fleet's lock not had in time):
                    # not the client's fault; it may send again. Never a traceback or content.
                    log.error("store.error", extra=_ids(peer, error=type(lost).__name__))
                    raise ProtocolError(
                        "internal",
                        "the relay could not store this; try again",
                        fault="server",
                        ref=message.type,
                    ) from None
                errors_in_a_row = 0
            except ProtocolError as error:
                if error.fault == "client":  # the relay's own failures are no abuse
                    errors_in_a_row += 1
                if not counted:  # the type it named if the protocol knows it, else "unknown"
                    metrics.received(error.ref)
                metrics.protocol_error(role, error.code)
                # A type the protocol does not know is the client's own text: not logged.
                ref = error.ref if error.ref in protocol.MESSAGES else UNKNOWN
                log.info("%s.error", role, extra=_ids(peer, code=error.code, ref=ref))
                if errors_in_a_row > self._live.current.limits.abuse_errors_before_close:
                    metrics.socket_cut(role, "too_many_errors")
                    await websocket.close(code=CLOSE_POLICY, reason="too many invalid messages")
                    return
                try:
                    answer = protocol.encode("error", **error.body())
                    await websocket.send_text(answer)
                    metrics.sent(answer)
                except (WebSocketDisconnect, OSError, RuntimeError):
                    return  # the peer left while we answered

    async def _handle(self, peer: Peer, message: protocol.Message) -> None:
        """One message through the core, its effects published; with the fleet's lock held
        when it may change invites or sessions."""
        if self._core.needs_lock(message.type):
            async with self._lock.held():
                await self._apply(self._core.receive(peer, message, self._clock()))
                await self._broker.flush()  # announced before the next node's change
        else:
            await self._apply(self._core.receive(peer, message, self._clock()))

    async def _write_loop(self, websocket: WebSocket, subscription: Subscription) -> None:
        metrics = self._metrics
        peer = subscription.peer
        try:
            while True:
                frame = await subscription.next_frame()
                if frame is None and subscription.lost:  # Redis lost: frames may be missing
                    metrics.socket_cut(peer.role, "broker_lost")
                    await websocket.close(code=CLOSE_INTERNAL, reason="relay restarting; reconnect")
                    return
                if frame is None:  # the socket fell too far behind: it reconnects and resyncs
                    metrics.socket_cut(peer.role, "too_slow")
                    # Not 1008: the tag gives up its conversation on a policy close.
                    await websocket.close(code=CLOSE_TRY_AGAIN, reason="too slow; reconnect")
                    return
                try:
                    await websocket.send_text(frame)
                except (ValueError, TypeError) as failed:
                    # A frame the server cannot encode (UnicodeEncodeError: a string UTF-8 cannot
                    # hold) must not end this loop unnamed (1006, on every reconnect: issue 19).
                    # This socket alone closes, logged by ids and error type, never by content.
                    log.error(
                        "%s.write_failed", peer.role, extra=_ids(peer, error=type(failed).__name__)
                    )
                    metrics.socket_cut(peer.role, "write_failed")
                    await websocket.close(code=CLOSE_INTERNAL, reason="a frame failed; reconnect")
                    return
                metrics.sent(frame)
        except (WebSocketDisconnect, OSError, RuntimeError):
            # The peer went away between two frames (RuntimeError: Starlette refuses a send
            # after the close). Nothing to deliver to: the read loop sees the disconnect too.
            return


def _ids(peer: Peer, **more: str | None) -> dict[str, Any]:
    """A log call's ids for ``peer``: a visitor is named by its conversation."""
    who = "conversation" if peer.role == protocol.VISITOR else "agent"
    return ids(**{who: peer.id}, **more)


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
