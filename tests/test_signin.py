"""Agent sign-in sessions held by the store (issue 19): sign-out, a new password and a removed
account end a session at once, a copied cookie opens nothing after; and the per-account limit on
sign-in attempts beside the per-address one, which a browser that signed in before (its device
cookie) is exempt from, on one node and across a fleet (real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis
from helpers import run_async
from services import RedisServer
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from test_fleet_limits import forget_buckets

from relay.app import RelayServer
from relay.auth import COOKIE, DEVICE_COOKIE, SignIn
from relay.live_settings import LiveSettings
from relay.passwords import hash_password
from relay.redis_limits import RedisLimiter
from relay.settings import (
    DEMO_AGENT_LOGIN,
    DEMO_AGENT_PASSWORD,
    AgentLogin,
    ServerLimits,
    Settings,
    demo_settings,
)
from relay.store import SignInRecord, SqliteStore
from wire.errors import CLOSE_POLICY

OWN = "http://testserver"
ORIGIN = {"origin": OWN}
DEMO = {"name": DEMO_AGENT_LOGIN, "password": DEMO_AGENT_PASSWORD}


def _settings(**limits: int) -> Settings:
    return replace(demo_settings(), secret_key="test-secret", limits=ServerLimits(**limits))


@pytest.fixture
def server() -> RelayServer:
    return RelayServer(_settings())


@pytest.fixture
def client(server: RelayServer) -> Iterator[TestClient]:
    with TestClient(server.app) as client:
        yield client


def _sign_in(client: TestClient, body: dict[str, str] = DEMO) -> str:
    """Sign in; the session cookie's value (as a thief would copy it)."""
    answer = client.post("/agent/login", json=body, headers=ORIGIN)
    assert answer.status_code == 200, answer.text
    return answer.cookies[COOKIE]


def _opens(server: RelayServer, cookie: str) -> bool:
    """Whether ``cookie`` (copied into a fresh browser) opens /agent/me and the agent socket."""
    # Not entered (``with``): the server's lifespan is the test's client's, not the thief's.
    thief = TestClient(server.app, cookies={COOKIE: cookie})
    me = thief.get("/agent/me").status_code == 200
    try:
        with thief.websocket_connect("/ws/agent", headers=ORIGIN) as ws:
            ws.receive_text()  # the socket's first message: it was let in
        socket = True
    except WebSocketDisconnect as refused:
        assert refused.code == CLOSE_POLICY
        socket = False
    assert me == socket, "the page and the socket disagree about the sign-in"
    return me


def test_signing_out_ends_the_session_a_copied_cookie_opens_nothing(
    server: RelayServer, client: TestClient
) -> None:
    copied = _sign_in(client)
    assert _opens(server, copied)
    assert client.post("/agent/logout", headers=ORIGIN).status_code == 200
    assert client.get("/agent/me").status_code == 401
    assert not _opens(server, copied)
    # Another sign-in of the same agent (another browser) is a session of its own.
    other = _sign_in(client)
    assert _opens(server, other) and not _opens(server, copied)


def test_a_new_password_or_a_removed_account_ends_every_session_of_it(
    server: RelayServer, client: TestClient
) -> None:
    first, second = _sign_in(client), _sign_in(client)
    settings = server.settings
    demo = settings.agents[0]
    changed = replace(demo, password_hash=hash_password("a new password"))
    client.portal.call(server.reload_settings, replace(settings, agents=(changed,)))
    assert not _opens(server, first) and not _opens(server, second)
    assert client.post("/agent/login", json=DEMO, headers=ORIGIN).status_code == 401
    third = _sign_in(client, {"name": DEMO_AGENT_LOGIN, "password": "a new password"})
    assert _opens(server, third)
    client.portal.call(server.reload_settings, replace(settings, agents=()))
    assert not _opens(server, third)
    # The account back with the same password: its sessions hold again (nothing was signed
    # out; the account check is made at each use).
    client.portal.call(server.reload_settings, replace(settings, agents=(changed,)))
    assert _opens(server, third)


def test_forged_and_foreign_cookies_open_nothing(server: RelayServer) -> None:
    other_node = RelayServer(replace(_settings(), secret_key="another-secret"))
    with TestClient(other_node.app) as elsewhere:
        foreign = _sign_in(elsewhere)  # signed with another key
    with TestClient(server.app):
        for cookie in (foreign, "demo.forged-signature", "", "x" * 5000):
            assert not _opens(server, cookie)


def _sign_in_with_store() -> tuple[SignIn, SqliteStore, list[int]]:
    """A ``SignIn`` on a real SQLite store, its clock a list the test moves."""
    store = SqliteStore()
    now = [1_000_000]
    sign_in = SignIn(
        LiveSettings(replace(demo_settings(), secret_key="k")), store=store, clock=lambda: now[0]
    )
    return sign_in, store, now


def test_sessions_expire_and_are_purged_at_the_next_sign_in() -> None:
    sign_in, store, now = _sign_in_with_store()
    with TestClient(Starlette(routes=sign_in.routes())) as http:
        cookie = _sign_in(http)
        assert sign_in.agent(cookie) == DEMO_AGENT_LOGIN
        now[0] += 12 * 3600 * 1000  # the session's lifetime
        assert sign_in.agent(cookie) is None
        _sign_in(http)
    rows = store._db.execute("SELECT count(*) FROM agent_sign_ins").fetchone()
    assert rows == (1,)  # the expired one is gone


def test_the_store_keeps_digests_never_the_cookie_or_the_password_hash() -> None:
    sign_in, store, _ = _sign_in_with_store()
    with TestClient(Starlette(routes=sign_in.routes())) as http:
        cookie = _sign_in(http)
    session_id = cookie.rsplit(".", 2)[0].rpartition(":")[2]  # agent:session, signed
    assert len(session_id) >= 32
    dump = "\n".join(store._db.iterdump())
    password_hash = demo_settings().agents[0].password_hash
    assert "agent_sign_ins" in dump
    assert session_id not in dump and cookie not in dump
    assert password_hash not in dump and password_hash.split("$")[-1] not in dump


class _CountingStore(SqliteStore):
    """A real SQLite store that counts the tick's queries."""

    queries = 0

    def sign_ins(self, digests: Collection[str], now: int) -> list[SignInRecord]:
        self.queries += 1
        return super().sign_ins(digests, now)


def test_signed_in_answers_for_many_cookies_in_one_query() -> None:
    store = _CountingStore()
    sign_in = SignIn(LiveSettings(replace(demo_settings(), secret_key="k")), store=store)
    with TestClient(Starlette(routes=sign_in.routes())) as http:
        cookies = [_sign_in(http) for _ in range(5)]
        http.post("/agent/logout", headers=ORIGIN)  # the last one
    asked = [*cookies, "forged.cookie", ""]
    store.queries = 0
    assert sign_in.signed_in(asked) == set(cookies[:4])
    assert store.queries == 1
    assert sign_in.signed_in(["forged.cookie"]) == set()
    assert store.queries == 1  # nothing we signed: no query at all


# ------------------------------------------------------------ the per-account limit


def _guess(server: RelayServer, address: str, password: str = "a guess") -> int:
    """One sign-in attempt as ``demo`` from ``address`` (a fresh browser): the status."""
    browser = TestClient(server.app, client=(address, 40000))  # the lifespan is the test's
    body = {"name": DEMO_AGENT_LOGIN, "password": password}
    answer = browser.post("/agent/login", json=body, headers=ORIGIN)
    if answer.status_code == 429:
        assert int(answer.headers["retry-after"]) >= 1
    return answer.status_code


def test_guesses_from_many_addresses_are_limited_per_account_but_not_the_real_agent() -> None:
    server = RelayServer(_settings(login_attempts_per_account_per_minute=4))
    with TestClient(server.app, client=("192.0.2.1", 40000)) as agent_browser:
        _sign_in(agent_browser)  # the real agent, earlier: its browser has a device cookie
        assert DEVICE_COOKIE in agent_browser.cookies
        statuses = [_guess(server, f"203.0.113.{i}") for i in range(8)]
        # The first sign-in counted too (it carried no device cookie yet).
        assert statuses == [401, 401, 401, 429, 429, 429, 429, 429]
        # Over the limit, even the right password from a stranger's browser is refused: no
        # password is checked (no timing to read, no scrypt run per guess).
        assert _guess(server, "203.0.113.99", DEMO_AGENT_PASSWORD) == 429
        # The real agent, signed out, signs in again meanwhile.
        agent_browser.post("/agent/logout", headers=ORIGIN)
        assert agent_browser.get("/agent/me").status_code == 401
        _sign_in(agent_browser)
        assert agent_browser.get("/agent/me").status_code == 200


def test_unknown_names_are_limited_as_known_ones_and_other_accounts_are_not() -> None:
    server = RelayServer(_settings(login_attempts_per_account_per_minute=2))
    with TestClient(server.app) as browser:

        def attempt(name: str) -> int:
            body = {"name": name, "password": "a guess"}
            return browser.post("/agent/login", json=body, headers=ORIGIN).status_code

        assert [attempt("nobody") for _ in range(3)] == [401, 401, 429]
        assert [attempt(DEMO_AGENT_LOGIN) for _ in range(3)] == [401, 401, 429]


def test_a_device_cookie_is_bound_to_its_account_and_still_limited_per_address() -> None:
    settings = _settings(login_attempts_per_account_per_minute=1, login_attempts_per_minute=6)
    second = AgentLogin("sam", "Sam", hash_password("sam-password"), ("demo",))
    server = RelayServer(replace(settings, agents=(*settings.agents, second)))
    with TestClient(server.app) as browser:
        _sign_in(browser)  # demo's device cookie
        guess = {"name": "sam", "password": "a guess"}
        statuses = [browser.post("/agent/login", json=guess, headers=ORIGIN) for _ in range(2)]
        assert [s.status_code for s in statuses] == [401, 429]  # not sam's device
        wrong = {"name": DEMO_AGENT_LOGIN, "password": "a slip"}
        statuses = [browser.post("/agent/login", json=wrong, headers=ORIGIN) for _ in range(4)]
        # demo's device: no per-account limit, but the address's budget (6) runs out.
        assert [s.status_code for s in statuses] == [401, 401, 401, 429]
        assert statuses[-1].headers["retry-after"] == "10"  # one attempt back in 60 / 6 s
        forged = TestClient(server.app, cookies={DEVICE_COOKIE: "demo.forged"})
        assert forged.post("/agent/login", json=DEMO, headers=ORIGIN).status_code == 429


def test_the_sign_in_body_is_bounded() -> None:
    with TestClient(RelayServer(_settings()).app) as browser:
        big = {"name": DEMO_AGENT_LOGIN, "password": "x" * 5000}
        assert browser.post("/agent/login", json=big, headers=ORIGIN).status_code == 413
        for body in (b"not json", b"[]", b'{"name": 1, "password": "p"}'):
            answer = browser.post("/agent/login", content=body, headers=ORIGIN)
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"


def test_two_nodes_share_one_budget_per_account(redis_server: RedisServer) -> None:
    clients = [aioredis.Redis.from_url(redis_server.url) for _ in range(2)]
    live = LiveSettings(replace(demo_settings(), secret_key="shared-secret"))
    nodes = [
        SignIn(
            live,
            RedisLimiter(client, "login", 100),
            account_limiter=RedisLimiter(client, "login_account", 3),
            store=SqliteStore(),
        )
        for client in clients
    ]
    with (
        TestClient(Starlette(routes=nodes[0].routes())) as a,
        TestClient(Starlette(routes=nodes[1].routes())) as b,
    ):
        # Guesses taking turns over the nodes, each against the other's count.
        guesses = [{"name": DEMO_AGENT_LOGIN, "password": f"guess {i}"} for i in range(6)]
        statuses = [
            node.post("/agent/login", json=guess, headers=ORIGIN).status_code
            for node, guess in zip([a, b] * 3, guesses, strict=True)
        ]
        a.portal.call(forget_buckets, clients[0])  # the Redis server is the session's
        a.portal.call(clients[0].aclose)  # each client on the loop it connected on
        b.portal.call(clients[1].aclose)
    assert statuses == [401, 401, 401, 429, 429, 429]


def test_the_tick_asks_for_ended_sign_ins_every_second_without_a_settings_change(
    server: RelayServer,
) -> None:
    asked: list[int] = []

    async def close_removed_agents() -> None:
        asked.append(1)

    server.sockets.close_removed_agents = close_removed_agents  # type: ignore[method-assign]

    async def ticks() -> None:
        await server.tick()
        await server.tick()

    run_async(lambda: asyncio.wait_for(ticks(), 30))
    assert len(asked) == 2


def _closed_by_the_relay(ws: Any) -> dict[str, Any]:
    """The close the relay sent this socket, reading past the messages before it."""
    while True:
        event = ws.receive()
        if event["type"] == "websocket.close":
            return dict(event)


def test_an_open_agent_socket_closes_at_the_tick_after_its_sign_in_ends(
    server: RelayServer, client: TestClient
) -> None:
    """Signing out in one tab closes the agent's sockets everywhere (this node's at its next
    tick; every node asks the store at its own), and a changed password does the same."""
    _sign_in(client)
    with client.websocket_connect("/ws/agent", headers=ORIGIN) as ws:
        ws.receive_json()  # hello: signed in
        assert client.post("/agent/logout", headers=ORIGIN).status_code == 200
        client.portal.call(server.tick)
        closed = _closed_by_the_relay(ws)
    assert (closed["code"], closed.get("reason")) == (CLOSE_POLICY, "signed out")
    _sign_in(client)
    with client.websocket_connect("/ws/agent", headers=ORIGIN) as ws:
        ws.receive_json()
        client.portal.call(server.tick)  # a sign-in that holds keeps its socket
        settings = server.settings
        changed = replace(settings.agents[0], password_hash=hash_password("a new password"))
        client.portal.call(server.reload_settings, replace(settings, agents=(changed,)))
        closed = _closed_by_the_relay(ws)
    assert (closed["code"], closed.get("reason")) == (CLOSE_POLICY, "signed out")
