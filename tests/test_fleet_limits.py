"""Fleet-wide rate limits (``relay.redis_limits``) on a real ``redis-server``: two limiters on
two clients stand for two relay nodes sharing one Redis, and count against one budget; the
local limiter (``relay.ratelimit.LocalLimiter``) behaves the same in one process; sign-in
answers 503 ``unavailable`` when the fleet's limiter cannot count."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
import redis.asyncio as aioredis
from helpers import run_async
from services import RedisServer
from starlette.applications import Starlette
from starlette.testclient import TestClient

from relay.auth import SignIn
from relay.live_settings import LiveSettings
from relay.ratelimit import Limiter, LocalLimiter
from relay.redis_broker import BrokerUnavailable
from relay.redis_limits import KEY_PREFIX, RedisLimiter
from relay.settings import DEMO_AGENT_LOGIN, demo_settings

T = TypeVar("T")
CLIENT = "203.0.113.7"  # an attacker's address
ORIGIN = {"origin": "http://testserver"}


def run(test: Callable[[], Awaitable[T]]) -> T:
    result: T = run_async(lambda: asyncio.wait_for(test(), 30))
    return result


async def forget_buckets(client: aioredis.Redis) -> None:
    """Remove every bucket, so the next test starts with none (the server is shared)."""
    async for key in client.scan_iter(match=KEY_PREFIX + "*"):
        await client.delete(key)


async def two_nodes(url: str, per_minute: int) -> AsyncIterator[tuple[RedisLimiter, ...]]:
    """Two limiters of one name, each on a client of its own, as two nodes have them."""
    clients = [aioredis.Redis.from_url(url), aioredis.Redis.from_url(url)]
    try:
        yield tuple(RedisLimiter(c, "signin", per_minute) for c in clients)
    finally:
        await forget_buckets(clients[0])
        for client in clients:
            await client.aclose()


async def attempts(limiters: tuple[Limiter, ...], key: str, count: int) -> list[bool]:
    """``count`` attempts by ``key``, taking turns over ``limiters``."""
    return [await limiters[i % len(limiters)].allow(key) for i in range(count)]


def test_a_brute_force_spread_over_two_nodes_gets_one_budget(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url, per_minute=10):
            answers = await attempts((a, b), CLIENT, 30)
            assert answers == [True] * 10 + [False] * 20
            assert not await a.allow(CLIENT) and not await b.allow(CLIENT)

    run(scenario)


def test_the_local_limiter_gives_the_same_answers_in_one_process() -> None:
    now = [0.0]
    local = LocalLimiter(10, clock=lambda: now[0])

    async def scenario() -> list[bool]:
        return await attempts((local,), CLIENT, 30)

    assert run(scenario) == [True] * 10 + [False] * 20
    now[0] += 6.0  # a tenth of a minute: one attempt back
    assert run(scenario) == [True] + [False] * 29


def test_a_refused_client_gets_attempts_back_with_time_on_every_node(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url, per_minute=60):  # one a second
            assert await attempts((a, b), CLIENT, 61) == [True] * 60 + [False]
            await asyncio.sleep(1.2)
            assert await b.allow(CLIENT)
            assert not await a.allow(CLIENT)

    run(scenario)


def test_clients_have_budgets_of_their_own(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url, per_minute=5):
            assert await attempts((a, b), CLIENT, 6) == [True] * 5 + [False]
            assert await attempts((b, a), "198.51.100.1", 5) == [True] * 5
            client = aioredis.Redis.from_url(redis_server.url)
            try:  # another limit's buckets are apart
                assert await RedisLimiter(client, "visitor", 5).allow(CLIENT)
            finally:
                await client.aclose()

    run(scenario)


def test_an_idle_bucket_expires_and_a_hostile_key_cannot_grow_a_redis_key(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        async for a, b in two_nodes(redis_server.url, per_minute=60):
            spy = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
            try:
                assert await a.allow(CLIENT)
                bucket = a.key_of(CLIENT)
                assert 0 < await spy.pttl(bucket) <= 1001  # full again after one second
                await attempts((a, b), CLIENT, 70)
                assert 58_000 < await spy.pttl(bucket) <= 60_001  # refilled in a minute
                hostile = "x" * 100_000 + "\udcff"
                assert await b.allow(hostile)
                keys = await spy.keys(KEY_PREFIX + "*")
                assert sorted(keys) == sorted([bucket, b.key_of(hostile)])
                assert {len(k) for k in keys} == {len(KEY_PREFIX + "signin:") + 32}
                await asyncio.sleep(1.2)
                assert await spy.exists(b.key_of(hostile)) == 0  # idle: gone
            finally:
                await spy.aclose()

    run(scenario)


def test_lost_redis_raises_broker_unavailable_and_sign_in_answers_503() -> None:
    server = RedisServer()  # of its own: this test stops it
    server.start()
    try:

        async def counted() -> None:
            client = aioredis.Redis.from_url(server.url)
            try:
                limiter = RedisLimiter(client, "signin", 10)
                assert await limiter.allow(CLIENT)
                server.stop()
                with pytest.raises(BrokerUnavailable) as lost:
                    await limiter.allow(CLIENT)
                assert len(str(lost.value).splitlines()) == 1
            finally:
                await client.aclose()

        run(counted)
        client = aioredis.Redis.from_url(server.url)
        signin = SignIn(LiveSettings(demo_settings()), RedisLimiter(client, "signin", 10))
        with TestClient(Starlette(routes=signin.routes())) as http:
            body = {"name": DEMO_AGENT_LOGIN, "password": "a guess"}
            answer = http.post("/agent/login", json=body, headers=ORIGIN)
            http.portal.call(client.aclose)
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "unavailable"
    finally:
        server.stop()


def test_sign_in_through_two_nodes_is_limited_once(redis_server: RedisServer) -> None:
    clients = [aioredis.Redis.from_url(redis_server.url) for _ in range(2)]
    nodes = [
        SignIn(LiveSettings(demo_settings()), RedisLimiter(client, "signin", 3))
        for client in clients
    ]
    statuses = []
    with (
        TestClient(Starlette(routes=nodes[0].routes())) as a,
        TestClient(Starlette(routes=nodes[1].routes())) as b,
    ):
        for i in range(6):
            body = {"name": DEMO_AGENT_LOGIN, "password": f"guess {i}"}
            statuses.append((a, b)[i % 2].post("/agent/login", json=body, headers=ORIGIN))
        a.portal.call(forget_buckets, clients[0])
        a.portal.call(clients[0].aclose)
        b.portal.call(clients[1].aclose)
    assert [s.status_code for s in statuses] == [401, 401, 401, 429, 429, 429]
