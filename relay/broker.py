"""Routing of outgoing frames to the sockets of a peer (a visitor's tab, an agent's tabs).

Owns: the ``Broker`` interface and the in-process implementation used by default. The
fleet's backend (``relay.redis_broker``, Redis pub/sub) implements the same three methods;
session logic never knows which one runs. Must not: inspect or keep frames beyond delivering them.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from relay.core import Peer

# Frames a slow socket may have queued before it is cut off: the other end then reconnects
# and resyncs, which is cheaper than buffering an unbounded backlog in the relay.
DEFAULT_QUEUE_FRAMES = 2048


class BrokerUnavailable(RuntimeError):
    """The fleet's broker (Redis) cannot be reached: the message is one line, without
    credentials. The in-process broker never raises it."""


class Subscription:
    """The frames for one socket, in order. ``await next_frame()`` returns None once the
    socket fell too far behind: the caller must then close it (the peer reconnects)."""

    def __init__(self, peer: Peer, max_frames: int) -> None:
        self.peer = peer
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=max_frames + 1)
        self._max_frames = max_frames
        self.overflowed = False  # ended: the socket must close (its client reconnects)
        self.lost = False  # ended by ``cut`` (the broker lost frames), not by a slow socket

    def offer(self, frame: str) -> None:
        if self.overflowed:
            return
        if self._queue.qsize() >= self._max_frames:
            self.overflowed = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(frame)

    def cut(self) -> None:
        """End the subscription now (the broker lost frames): ``next_frame`` returns None, and
        the socket must close so its client reconnects and resyncs."""
        if not self.overflowed:
            self.overflowed = True
            self.lost = True
            self._queue.put_nowait(None)

    async def next_frame(self) -> str | None:
        return await self._queue.get()


class Broker(Protocol):
    """Where a socket's frames come from. ``subscribe`` returns once a frame published after
    it will reach the subscription (for Redis: once the channel is confirmed)."""

    async def subscribe(self, peer: Peer) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    async def publish(self, peer: Peer, frame: str) -> None: ...

    async def flush(self) -> None:
        """Return once every frame published before went on its way (for a caller holding
        the fleet's lock: its announcements leave before the next node's changes)."""
        ...


class LocalBroker:
    """In-process broker: a set of subscriptions per peer."""

    def __init__(self, max_frames: int = DEFAULT_QUEUE_FRAMES) -> None:
        self._max_frames = max_frames
        self._subscriptions: dict[Peer, set[Subscription]] = {}

    async def subscribe(self, peer: Peer) -> Subscription:
        subscription = Subscription(peer, self._max_frames)
        self._subscriptions.setdefault(peer, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.peer)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.peer]

    async def publish(self, peer: Peer, frame: str) -> None:
        for subscription in list(self._subscriptions.get(peer, ())):
            subscription.offer(frame)

    async def flush(self) -> None:
        """Nothing waits: ``publish`` delivered already."""
