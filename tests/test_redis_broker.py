"""The fleet's broker (``relay.redis_broker``) on a real ``redis-server``: two brokers in one
process stand for two relay nodes sharing one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from helpers import run_async
from services import RedisServer

from relay.broker import Subscription
from relay.core import Peer
from relay.redis_broker import BrokerUnavailable, RedisBroker, redacted
from wire.protocol import AGENT, VISITOR

T = TypeVar("T")
ALEX = Peer(AGENT, "alex")
VISITOR_1 = Peer(VISITOR, "c1")


def run(test: Callable[[], Awaitable[T]]) -> T:
    """On a thread of its own: a browser test earlier in the run may leave an event loop
    running on this one."""
    result: T = run_async(lambda: asyncio.wait_for(test(), 30))
    return result


async def frames(subscription: Subscription, count: int) -> list[str | None]:
    return [await asyncio.wait_for(subscription.next_frame(), 5) for _ in range(count)]


async def two_nodes(url: str) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    a, b = await RedisBroker.connect(url), await RedisBroker.connect(url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def test_a_frame_published_on_one_node_reaches_the_sockets_on_every_node_in_order(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url):
            tab_on_a = await a.subscribe(ALEX)
            tab_on_b = await b.subscribe(ALEX)
            visitor_on_b = await b.subscribe(VISITOR_1)
            for i in range(50):
                await a.publish(ALEX, f'{{"n":{i}}}')
            await b.publish(VISITOR_1, "for the visitor")
            expected = [f'{{"n":{i}}}' for i in range(50)]
            assert await frames(tab_on_a, 50) == expected
            assert await frames(tab_on_b, 50) == expected
            assert await frames(visitor_on_b, 1) == ["for the visitor"]

    run(scenario)


def test_unsubscribed_sockets_get_nothing_and_other_peers_frames_never_arrive(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url):
            left = await b.subscribe(ALEX)
            b.unsubscribe(left)
            stays = await b.subscribe(VISITOR_1)
            await a.publish(ALEX, "to alex")
            await a.publish(VISITOR_1, "to the visitor")
            assert await frames(stays, 1) == ["to the visitor"]
            await asyncio.sleep(0.2)
            assert left._queue.empty()  # nothing of alex's after it left

    run(scenario)


def test_a_slow_socket_is_cut_instead_of_buffering_without_end(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a = await RedisBroker.connect(redis_server.url, max_frames=3)
        try:
            slow = await a.subscribe(ALEX)
            for i in range(5):
                await a.publish(ALEX, str(i))
            assert await frames(slow, 4) == ["0", "1", "2", None]
        finally:
            await a.close()

    run(scenario)


def test_redis_lost_cuts_every_socket_and_publishing_fails_until_it_is_back() -> None:
    redis_server = RedisServer()  # its own: this test stops it
    redis_server.start()

    async def scenario() -> None:
        a = await RedisBroker.connect(redis_server.url)
        try:
            socket = await a.subscribe(VISITOR_1)
            redis_server.stop()
            # The socket is told to go (its client reconnects and resyncs): frames were lost.
            assert await asyncio.wait_for(socket.next_frame(), 10) is None
            with pytest.raises(BrokerUnavailable):
                await a.publish(VISITOR_1, "while Redis is down")
            redis_server.start()
            again = await retry(lambda: a.subscribe(VISITOR_1))
            await a.publish(VISITOR_1, "back")
            assert await frames(again, 1) == ["back"]
        finally:
            await a.close()

    try:
        run(scenario)
    finally:
        redis_server.stop()


async def retry(attempt: Callable[[], Awaitable[T]], seconds: float = 10) -> T:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            return await attempt()
        except BrokerUnavailable:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


def test_a_node_refuses_to_start_without_redis_in_one_line_without_the_password() -> None:
    async def scenario() -> Any:
        with pytest.raises(BrokerUnavailable) as refused:
            await RedisBroker.connect("redis://:s3cret-pass@127.0.0.1:1/0", timeout=2)
        return refused.value

    error = run(scenario)
    assert "\n" not in str(error) and "s3cret-pass" not in str(error)
    assert "127.0.0.1:1" in str(error)


def test_redacted_hides_only_the_password() -> None:
    assert redacted("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert redacted("redis://:pw@host/0") == "redis://:***@host/0"
    assert redacted("redis://host:6379/0") == "redis://host:6379/0"
