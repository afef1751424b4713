"""The visitor and agent WebSockets: frames in, core events; the broker's frames out.

Owns: who may open a socket (a brand's allowed origin, an agent's cookie from our own page),
the door's limits (new sockets per address and per brand, new conversations per address and
per brand at a visitor's first chat, chat messages per conversation, frame bytes per socket and
per type, message rate, consecutive errors before a close), the look at a frame before it is
parsed (``wire.protocol.admit``; a visitor's ``dom.*`` only while a session runs), parsing big
frames within the node's parse budget, and the read and write loops. Heartbeats, timeouts and
backpressure live here and in the broker only. Must not: decide what a message does (that is
the core's answer), or log or keep page content, typed text or chat text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

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

# Frames larger than this are decoded off the event loop, within the parse budget (and only
# of the types that may be that large: ``wire.protocol.admit``).
DECODE_ON_THREAD_BYTES: Final = protocol.SMALL_FRAME_BYTES
PARSE_THREADS: Final = 2  # big frames parsed at once on a node (a core each on a small host)
# How long a socket may reuse a "yes, a session runs" before it asks again (on a fleet the
# question is a Redis read); a "no" is never reused: a snapshot sent right after
# session.started must pass.
STREAM_GATE_S: Final = 0.5
STREAM_TYPES: Final = frozenset({"dom.snapshot", "dom.mutations"})

T = TypeVar("T")

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
        self._brand_sockets = limiter(limits.visitor_sockets_per_brand_per_minute, "brand_sockets")
        # Counted at a new conversation's first chat (when it is stored), not at connect.
        self._address_conversations = limiter(
            limits.conversations_per_address_per_minute, "address_conversations"
        )
        self._brand_conversations = limiter(
            limits.conversations_per_brand_per_minute, "brand_conversations"
        )
        self._conversation_chat = limiter(limits.chat_per_conversation_per_minute, "chat")
        self._parse_budget = ParseBudget(limits.parse_budget_bytes, PARSE_THREADS)
        self._apply = apply
        self._clock = clock
        self._metrics = metrics
        self._agents: dict[str, set[WebSocket]] = {}  # agent id -> its sockets on this node

    async def close_removed_agents(self) -> None:
        """Once a second: the agent sockets whose sign-in ended (signed out, the password
        changed, the account removed, expired) close (1008 policy), on every node, in one
        store query for all of this node's agent sockets. Raises ``StoreError`` when the store
        cannot answer: nothing is closed then (an outage is not a sign-out)."""
        sockets = [
            (agent_id, websocket, websocket.cookies.get(COOKIE) or "")
            for agent_id, websockets in self._agents.items()
            for websocket in websockets
        ]
        if not sockets:
            return
        holding = self._sign_in.signed_in({cookie for _, _, cookie in sockets if cookie})
        for agent_id, websocket, cookie in sockets:
            if cookie in holding:
                continue
            removed = self._live.login(agent_id) is None
            log.info("agent.signed_out", extra=ids(agent=agent_id))
            self._metrics.socket_cut(protocol.AGENT, "account_removed" if removed else "signed_out")
            try:
                await websocket.close(
                    code=CLOSE_POLICY, reason="account removed" if removed else "signed out"
                )
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
            # Per address, then per brand: a flood from many addresses still finds a ceiling.
            allowed = await self._visitor_limiter.allow(address) and (
                await self._brand_sockets.allow(brand)
            )
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
            visit=_Visit(address, brand),
        )

    async def agent(self, websocket: WebSocket) -> None:
        try:
            agent_id = self._sign_in.checked_agent(websocket.cookies.get(COOKIE))
        except StoreError as lost:  # the sign-in cannot be checked now: not "sign in first"
            log.error("store.error", extra=ids(error=type(lost).__name__))
            self._metrics.socket_refused(protocol.AGENT, "store")
            await websocket.close(code=CLOSE_INTERNAL, reason="storage unavailable; reconnect")
            return
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
        *,
        visit: _Visit | None = None,
    ) -> None:
        """Listen for the peer's frames (``who``: its address, if known before it connects),
        tell the core the socket opened and publish the answer, with the fleet's lock held;
        then serve it with its role's limits. A store, Redis or lock that fails meanwhile
        closes it 1011: the client reconnects later. ``visit``: a visitor's address and brand
        (its first chat counts as a new conversation when ``who`` knew none)."""
        subscription: Subscription | None = None
        known: Peer | None = None
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
        door = _Door(peer, frame_bytes, TokenBucket(*bucket), visit, known is None)
        await self._serve(websocket, subscription, door)

    async def _serve(self, websocket: WebSocket, subscription: Subscription, door: _Door) -> None:
        peer = subscription.peer
        log.info("%s.connected", peer.role, extra=_ids(peer))
        self._metrics.socket_opened(peer.role)
        try:
            await _run_until_first_done(
                self._read_loop(websocket, door),
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

    async def _read_loop(self, websocket: WebSocket, door: _Door) -> None:
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
            # Nothing of a frame is held while the next one is read and inflated: up to
            # 16 MiB of text apiece, and a parsed message's tree (issue 19).
            del event
            going_on = await self._take_frame(websocket, door, frame)
            del frame
            if not going_on:
                return

    async def _take_frame(self, websocket: WebSocket, door: _Door, frame: str | bytes) -> bool:
        """One frame from ``door``'s peer: refused (an ``error``) or handled. False when the
        socket was closed for it (over its size, too many errors) or the peer left."""
        peer, max_bytes, bucket = door.peer, door.max_bytes, door.bucket
        role = peer.role
        metrics = self._metrics
        if len(frame) > max_bytes:
            metrics.received(None)
            metrics.socket_cut(role, "frame_too_big")
            await websocket.close(code=CLOSE_TOO_BIG, reason=f"frame over {max_bytes} bytes")
            return False
        counted = False
        try:
            now = time.monotonic()
            if not bucket.allow(now):
                raise ProtocolError("rate_limited", "too many messages; slow down")
            # Before any parse: the head's type, its size, and whether this socket may
            # send it now (issue 19: a token-less visitor's 10 MB snapshots were parsed).
            kind = protocol.admit(frame, role)
            if kind in STREAM_TYPES and not self._may_stream(door, now):
                raise ProtocolError("not_found", "no active session", ref=kind)
            if len(frame) > DECODE_ON_THREAD_BYTES:
                # A big snapshot takes a few hundred ms to validate: on a thread, so the
                # other sockets' pointers and chat go on meanwhile (this socket waits).
                message = await self._parse_budget.run(len(frame), protocol.decode, frame, role)
            else:
                message = protocol.decode(frame, role)
            metrics.received(message.type)
            counted = True
            try:
                if message.type == "chat.send" and role == protocol.VISITOR:
                    await self._count_chat(door)
                await self._handle(peer, message)
                if message.type == "chat.send":
                    door.new_conversation = False  # stored: later chats are no new one
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
            door.errors_in_a_row = 0
        except ProtocolError as error:
            if error.fault == "client":  # the relay's own failures are no abuse
                door.errors_in_a_row += 1
            if not counted:  # the type it named if the protocol knows it, else "unknown"
                metrics.received(error.ref)
            metrics.protocol_error(role, error.code)
            # A type the protocol does not know is the client's own text: not logged.
            ref = error.ref if error.ref in protocol.MESSAGES else UNKNOWN
            log.info("%s.error", role, extra=_ids(peer, code=error.code, ref=ref))
            if door.errors_in_a_row > self._live.current.limits.abuse_errors_before_close:
                metrics.socket_cut(role, "too_many_errors")
                await websocket.close(code=CLOSE_POLICY, reason="too many invalid messages")
                return False
            try:
                answer = protocol.encode("error", **error.body())
                await websocket.send_text(answer)
                metrics.sent(answer)
            except (WebSocketDisconnect, OSError, RuntimeError):
                return False  # the peer left while we answered
        return True

    def _may_stream(self, door: _Door, now: float) -> bool:
        """Whether the visitor's ``dom.*`` frames are worth parsing (a session runs); an
        agent's are refused by the protocol's table anyway. A yes is reused for
        ``STREAM_GATE_S``."""
        if door.peer.role != protocol.VISITOR or now < door.streams_until:
            return True
        try:
            streams = self._core.may_stream(door.peer)
        except StoreError as lost:
            log.error("store.error", extra=_ids(door.peer, error=type(lost).__name__))
            raise ProtocolError(
                "internal", "the relay could not look this up; try again", fault="server"
            ) from None
        if streams:
            door.streams_until = now + STREAM_GATE_S
        return streams

    async def _count_chat(self, door: _Door) -> None:
        """A visitor's chat message against the flood limits, before the core stores it: a
        new conversation's first chat against the per-address and per-brand budgets of new
        conversations, every chat against its conversation's. Refused: ``rate_limited`` (the
        socket stays; a later chat asks again); the fleet's Redis away: ``internal``, never
        let through uncounted."""
        try:
            if door.new_conversation and door.visit is not None:
                if not (
                    await self._address_conversations.allow(door.visit.address)
                    and await self._brand_conversations.allow(door.visit.brand)
                ):
                    raise ProtocolError(
                        "rate_limited",
                        "too many new conversations; try again in a minute",
                        ref="chat.send",
                    )
            if not await self._conversation_chat.allow(door.peer.id):
                raise ProtocolError(
                    "rate_limited", "too many chat messages; slow down", ref="chat.send"
                )
        except BrokerUnavailable as lost:
            log.error("limits.error", extra=_ids(door.peer, error=type(lost).__name__))
            raise ProtocolError(
                "internal",
                "the relay could not count this; try again",
                fault="server",
                ref="chat.send",
            ) from None

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


@dataclass(frozen=True)
class _Visit:
    """Where a visitor socket came from: the client's address and the brand of its origin."""

    address: str
    brand: str


@dataclass
class _Door:
    """One socket's limits and what the door remembers of it between frames."""

    peer: Peer
    max_bytes: int  # a frame over it closes the socket (1009)
    bucket: TokenBucket  # messages a second
    visit: _Visit | None  # a visitor's; None for an agent
    new_conversation: bool  # its connect started a conversation: its first chat is counted
    streams_until: float = 0.0  # monotonic time until which "a session runs" is reused
    errors_in_a_row: int = 0  # client errors since its last good message


class ParseBudget:
    """The node's parsing of big frames: at most ``budget_bytes`` of frame text being parsed
    at once (a frame waits its turn, first come first served; one larger than the whole
    budget runs alone), on ``threads`` threads of its own, so that no other use of the
    default executor waits behind a snapshot. Small frames never come here.

    Why a budget: a parsed frame's Python tree is several times its text (measured with
    tracemalloc while ``decode`` ran: a 9.5 MB snapshot of 380,000 small nodes peaked at
    127 MB, 13x; 10 MB of 80,000 nodes at 36 MB; 10 MB of 2,000 long texts at 11 MB), so the
    frames being parsed, not the sockets, decide the relay's memory. Parsing holds the GIL:
    more frames at once would not go faster, only take more memory. The default budget
    (``ServerLimits.parse_budget_bytes``, 16 MiB: one frame of the largest size at a time)
    bounds the trees being built to about 210 MB at worst, whatever the number of sockets.
    Measured with the attack suite's ``snapshots_in_session`` (12 sockets in sessions sending
    deflated 10.8 MB snapshots over the node limit for 6 s): the relay peaks at 284 MB RSS,
    the issue's goal being 500 MB.
    """

    def __init__(self, budget_bytes: int, threads: int) -> None:
        self._budget = max(1, budget_bytes)
        self._free = self._budget
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="cobrowse-parse")

    @property
    def free_bytes(self) -> int:
        return self._free

    async def run(self, size: int, parse: Callable[..., T], *args: Any) -> T:
        """``parse(*args)`` on a parse thread once ``size`` bytes of the budget are free.
        Cancelled meanwhile: the parse (if started) ends on its thread, and gives its bytes
        back then."""
        cost = min(size, self._budget)
        await self._take(cost)
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, parse, *args)
        except BaseException:
            self._give(cost)
            raise
        # A refusal's traceback holds this frame: without these, the refusal, the future and
        # this frame made a cycle holding the frame's text until the next garbage collection
        # (hundreds of MB under a flood of big frames, issue 19).
        del args
        future.add_done_callback(lambda _: self._give(cost))
        try:
            return await asyncio.shield(future)
        finally:
            del future

    async def _take(self, cost: int) -> None:
        if not self._waiting and self._free >= cost:
            self._free -= cost
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cost, turn)
        self._waiting.append(entry)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._give(cost)  # granted as it was cancelled: give it back
            elif entry in self._waiting:  # (``_wake`` drops a cancelled turn it meets)
                self._waiting.remove(entry)
                self._wake()
            raise

    def _give(self, cost: int) -> None:
        self._free += cost
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self._waiting[0][0] <= self._free:
            cost, turn = self._waiting.popleft()
            if not turn.done():
                self._free -= cost
                turn.set_result(None)


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
