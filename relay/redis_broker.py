"""Routing frames between relay nodes through Redis pub/sub: the fleet's ``Broker``.

Owns: one Redis channel per peer (``cobrowse:peer:<role>:<id>``), this node's subscriptions
to them, and what happens when Redis goes away. A frame for a peer is published once; every
node holding a socket of that peer (an agent may have tabs on several nodes) delivers it, in
the order it was published (Redis keeps a channel's order). Must not: inspect or keep frames
beyond delivering them, or know what a peer is (the core decides who receives what).

Losing Redis is not hidden: frames published meanwhile are gone, so every local subscription
is cut (its socket closes and the client reconnects, then gets a fresh ``hello`` and, in a
session, a ``resync``), ``publish`` raises ``BrokerUnavailable`` until Redis answers again, and
the listener resubscribes by itself once it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from relay.broker import DEFAULT_QUEUE_FRAMES, BrokerUnavailable, Subscription
from relay.core import Peer
from relay.settings import shown_redis_url

log = logging.getLogger("cobrowse.relay")

__all__ = ["BrokerUnavailable", "RedisBroker", "channel_of", "redacted"]

CHANNEL_PREFIX = "cobrowse:peer:"
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0, 2.0)  # the listener's waits between reconnects
SUBSCRIBE_TIMEOUT = 5.0  # seconds Redis has to confirm a new channel
OUTBOX_FRAMES = 10_000  # frames queued for Redis before a publisher waits for them to go


def channel_of(peer: Peer) -> str:
    """The channel of a peer. Ids are the relay's own ([A-Za-z0-9_-]) or an agent's sign-in
    name, so nothing in a channel name comes from a client."""
    return f"{CHANNEL_PREFIX}{peer.role}:{peer.id}"


def redacted(url: str) -> str:
    """``url`` without its password (user part or ``password=``), for messages and logs."""
    return shown_redis_url(url)


class RedisBroker:
    """``await RedisBroker.connect(url)``, then use it as any ``Broker``; ``await close()``."""

    def __init__(self, client: aioredis.Redis, url: str, max_frames: int) -> None:
        self._client = client
        self._url = url
        self._timeout = 5.0
        self._max_frames = max_frames
        # Frames waiting for the next pipeline to Redis, and the task sending them.
        self._outbox: list[tuple[str, str]] = []  # (channel, frame)
        self._sender: asyncio.Task[None] | None = None
        # Hears of each publish: (operation, seconds, succeeded) (relay.metrics).
        self.observe: Callable[[str, float, bool], None] = lambda _op, _seconds, _ok: None
        self._local: dict[Peer, set[Subscription]] = {}
        self._pubsub: Any = None  # redis.asyncio.client.PubSub, while connected
        self._listener: asyncio.Task[None] | None = None
        # channel -> futures of subscribe() calls waiting for Redis to confirm it
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}

    @classmethod
    def to(
        cls, url: str, *, max_frames: int = DEFAULT_QUEUE_FRAMES, timeout: float = 5.0
    ) -> RedisBroker:
        """A broker for Redis at ``url``, not connected yet: ``await start()`` on the event
        loop that will use it."""
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=None, health_check_interval=15
        )
        broker = cls(client, url, max_frames)
        broker._timeout = timeout
        return broker

    @classmethod
    async def connect(
        cls, url: str, *, max_frames: int = DEFAULT_QUEUE_FRAMES, timeout: float = 5.0
    ) -> RedisBroker:
        """``to(url)``, then ``start()``."""
        broker = cls.to(url, max_frames=max_frames, timeout=timeout)
        await broker.start()
        return broker

    async def start(self) -> None:
        """Connect and start listening. Raises ``BrokerUnavailable`` when Redis does not answer
        within the timeout (a node must not start without it)."""
        try:
            await asyncio.wait_for(self._open(), self._timeout)
        except (RedisError, OSError, TimeoutError) as error:
            await self._client.aclose()
            raise BrokerUnavailable(
                f"cannot reach Redis at {redacted(self._url)}: {error}"
            ) from None
        self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._close_pubsub()
        await self._client.aclose()

    # ------------------------------------------------------------ the Broker interface

    async def subscribe(self, peer: Peer) -> Subscription:
        """A subscription for one socket of ``peer``. Returns once Redis confirmed the
        channel, so a frame published after this returns reaches it."""
        subscription = Subscription(peer, self._max_frames)
        subscriptions = self._local.setdefault(peer, set())
        subscriptions.add(subscription)
        if len(subscriptions) == 1:
            channel = channel_of(peer)
            confirmed = asyncio.get_running_loop().create_future()
            self._confirming.setdefault(channel, []).append(confirmed)
            try:
                await self._pubsub_now().subscribe(channel)
                # The listener sees Redis's confirmation; until then a frame published
                # elsewhere could pass this node by.
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT)
            except (RedisError, OSError, TimeoutError, BrokerUnavailable) as error:
                self._forget(subscription)
                raise BrokerUnavailable(f"Redis lost: {error}") from None
            finally:
                waiting = self._confirming.get(channel, [])
                if confirmed in waiting:
                    waiting.remove(confirmed)
                if not waiting:
                    self._confirming.pop(channel, None)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if self._forget(subscription) and self._pubsub is not None:
            # The last socket of this peer on this node is gone: stop taking its frames.
            pubsub = self._pubsub
            channel = channel_of(subscription.peer)

            async def leave() -> None:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.unsubscribe(channel)

            asyncio.get_running_loop().create_task(leave())

    async def publish(self, peer: Peer, frame: str) -> None:
        """Queue the frame for Redis and return: frames this node publishes while a round
        trip is in flight go together in the next pipeline, in this node's order. A caller
        that must know Redis took them (one holding the fleet's lock) awaits ``flush()``. Past
        ``OUTBOX_FRAMES`` queued frames, it waits for the queue to drain (backpressure). Raises
        ``BrokerUnavailable`` while the listener finds Redis lost."""
        if self._pubsub is None:  # the listener lost Redis: nothing would arrive
            raise BrokerUnavailable(f"Redis at {redacted(self._url)} is not reachable")
        if len(self._outbox) >= OUTBOX_FRAMES:
            await self.flush()
        self._outbox.append((channel_of(peer), frame))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_outbox())

    async def flush(self) -> None:
        """Return once every frame published before this call went to Redis (or failed: a
        lost Redis cuts every socket of this node, and the failure is logged once)."""
        if self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            pipe = self._client.pipeline(transaction=False)
            for channel, frame in batch:
                pipe.publish(channel, frame)
            started = time.perf_counter()
            try:
                await pipe.execute()
            except (RedisError, OSError) as error:
                self.observe("publish", time.perf_counter() - started, False)
                # Lost frames: the listener cuts this node's sockets, whose clients resume.
                log.error("broker.publish_failed frames=%d error=%s", len(batch), error)
                continue
            self.observe("publish", time.perf_counter() - started, True)

    # ------------------------------------------------------------ connection

    async def _open(self) -> None:
        await self._client.ping()
        self._pubsub = self._client.pubsub()
        channels = [channel_of(peer) for peer in self._local]
        # A fresh PubSub connects on its first command; subscribe to something harmless so
        # the listener has a live connection even while this node has no socket.
        await self._pubsub.subscribe(f"{CHANNEL_PREFIX}node", *channels)

    def _pubsub_now(self) -> Any:
        if self._pubsub is None:
            raise BrokerUnavailable(f"Redis at {redacted(self._url)} is not reachable")
        return self._pubsub

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _forget(self, subscription: Subscription) -> bool:
        """Drop a local subscription; True when it was its peer's last on this node."""
        subscriptions = self._local.get(subscription.peer)
        if subscriptions is None:
            return False
        subscriptions.discard(subscription)
        if subscriptions:
            return False
        del self._local[subscription.peer]
        return True

    async def _listen(self) -> None:
        """Deliver every frame of a subscribed channel to this node's sockets of that peer;
        on a lost connection cut them all, then reconnect and resubscribe."""
        failures = 0
        while True:
            try:
                if self._pubsub is None:
                    await self._open()
                    log.info("broker.redis_back url=%s", redacted(self._url))
                failures = 0
                while True:
                    message = await self._pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message.get("type") == "message":
                        self._deliver(message["channel"], message["data"])
                    elif message.get("type") == "subscribe":
                        self._confirmed(message["channel"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                if failures == 0:
                    log.error("broker.redis_lost url=%s error=%s", redacted(self._url), error)
                    self._cut_all()
                    for waiting in [f for fs in self._confirming.values() for f in fs]:
                        if not waiting.done():
                            waiting.set_exception(BrokerUnavailable("Redis lost"))
                await self._close_pubsub()
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1

    def _confirmed(self, channel: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        for waiting in self._confirming.pop(name, []):
            if not waiting.done():
                waiting.set_result(None)

    def _deliver(self, channel: bytes | str, data: bytes | str) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        role, _, peer_id = name.removeprefix(CHANNEL_PREFIX).partition(":")
        subscriptions = self._local.get(Peer(role, peer_id))  # type: ignore[arg-type]
        if subscriptions:
            frame = data.decode() if isinstance(data, bytes) else data
            for subscription in list(subscriptions):
                subscription.offer(frame)

    def _cut_all(self) -> None:
        """Frames may have been lost: every local socket must reconnect and resync."""
        for subscriptions in self._local.values():
            for subscription in subscriptions:
                subscription.cut()
        self._local.clear()
