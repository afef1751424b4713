"""Two relay nodes in-process on one real Redis and one real PostgreSQL: the fleet's rules, its
settings changes, its metrics and Redis failures, as the clients see them.

(``tests/test_cluster.py`` runs whole ``cobrowse serve`` processes behind a load balancer and
kills them; here each node is a ``RelayServer`` under Starlette's TestClient, which is quicker
and lets a test reach into a node, e.g. to reload its settings.)
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pytest
import redis
from helpers import receive_until
from services import PostgresServer, RedisServer
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from relay.app import RelayServer
from relay.passwords import hash_password
from relay.settings import (
    DEMO_AGENT_LOGIN,
    DEMO_AGENT_PASSWORD,
    AgentLogin,
    Settings,
    demo_settings,
)

OWN = "http://testserver"
DATABASES = itertools.count(2)  # Redis databases of these tests' own (0 and 1 are others')


def fleet_settings(database: str, redis_url: str) -> Settings:
    sam = AgentLogin("sam", "Sam", hash_password("sam-password"), ("demo",))
    base = demo_settings()
    return replace(
        base,
        agents=(*base.agents, sam),
        secret_key="fleet-test-secret",
        database=database,
        redis_url=redis_url,
        # A budget this test can spend: 6 new visitor sockets a minute per address.
        limits=replace(base.limits, visitor_sockets_per_minute=6),
    )


@pytest.fixture
def fleet(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[list[TestClient]]:
    """Two nodes (TestClients, ``.app`` their server) on one empty Redis database and one
    empty PostgreSQL schema."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{next(DATABASES)}"
    redis.Redis.from_url(url).flushdb()
    settings = fleet_settings(postgres.fresh_url(), url)
    servers = [RelayServer(settings, node=f"node-{n}") for n in "ab"]
    with ExitStack() as stack:
        clients = [
            # From loopback: /metrics answers this machine only.
            stack.enter_context(TestClient(s.app, client=("127.0.0.1", 50000)))
            for s in servers
        ]
        for client, server in zip(clients, servers, strict=True):
            client.server = server  # type: ignore[attr-defined]
        yield clients


def send(ws: Any, kind: str, **body: Any) -> None:
    ws.send_text(json.dumps({"v": 1, "type": kind, **body}))


def sign_in(client: TestClient, name: str = DEMO_AGENT_LOGIN, password: str = "") -> None:
    response = client.post(
        "/agent/login",
        json={"name": name, "password": password or DEMO_AGENT_PASSWORD},
        headers={"origin": OWN},
    )
    assert response.status_code == 200, response.text


def test_a_visitor_on_one_node_and_agents_on_another_share_one_set_of_rules(
    fleet: list[TestClient],
) -> None:
    a, b = fleet
    sign_in(b)
    sign_in(a)  # the same agent, a second tab on the visitor's node
    with (
        a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        b.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        a.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent_tab,
    ):
        conversation = receive_until(visitor, "hello")["conversation"]
        send(visitor, "chat.send", text="Hello from node A")
        assert receive_until(agent, "chat.message")["text"] == "Hello from node A"
        assert receive_until(agent_tab, "chat.message")["text"] == "Hello from node A"

        send(agent, "invite.send", conversation=conversation, mode="view_only")
        offer = receive_until(visitor, "invite.offer")
        # One pending invite per agent, whichever node its second tab is on.
        send(agent_tab, "invite.send", conversation=conversation, mode="shared")
        refused = receive_until(agent_tab, "error")
        assert refused["code"] == "conflict" and refused["ref"] == "invite.send"

        send(visitor, "invite.accept", invite=offer["invite"])
        started = receive_until(visitor, "session.started")
        assert receive_until(agent, "session.started")["session"] == started["session"]
        session = started["session"]

        send(agent, "pointer", session=session, id=1, x=0.25, y=0.75)
        assert receive_until(visitor, "pointer")["x"] == 0.25
        send(agent, "act.click", session=session, id=1, x=0.5, y=0.5)
        error = receive_until(agent, "error")
        assert error["code"] == "forbidden" and "view only" in error["message"]

        # Another agent, on the visitor's node, cannot invite a visitor in a session.
        sign_in(a, "sam", "sam-password")
        with a.websocket_connect("/ws/agent", headers={"origin": OWN}) as sam:
            send(sam, "invite.send", conversation=conversation, mode="shared")
            busy = receive_until(sam, "error")
            assert busy["code"] == "conflict" and "session" in busy["message"]

        # Closing the conversation on the agent's node ends the session held with node A's
        # visitor: both hear it.
        send(agent, "conversation.close", conversation=conversation)
        assert receive_until(visitor, "session.ended")["session"] == session
        assert receive_until(visitor, "conversation.closed")["conversation"] == conversation


def test_an_agent_removed_from_the_settings_loses_its_sockets_on_every_node(
    fleet: list[TestClient],
) -> None:
    a, b = fleet
    sign_in(a)
    sign_in(b)
    with (
        a.websocket_connect("/ws/agent", headers={"origin": OWN}) as on_a,
        b.websocket_connect("/ws/agent", headers={"origin": OWN}) as on_b,
    ):
        receive_until(on_a, "hello")
        receive_until(on_b, "hello")
        for client in fleet:  # each node reads the same file; here, the same new settings
            server: RelayServer = client.server  # type: ignore[attr-defined]
            without = replace(
                server.settings,
                agents=tuple(x for x in server.settings.agents if x.id != DEMO_AGENT_LOGIN),
            )
            assert client.portal.call(server.reload_settings, without) is True  # type: ignore[union-attr]
        for socket in (on_a, on_b):
            with pytest.raises(WebSocketDisconnect) as closed:
                for _ in range(10):
                    socket.receive_text()
            assert closed.value.code == 1008


def test_live_keys_expire_and_metrics_count_redis_round_trips(
    fleet: list[TestClient], redis_server: RedisServer
) -> None:
    a, b = fleet
    sign_in(b)
    with (
        a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        b.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
    ):
        conversation = receive_until(visitor, "hello")["conversation"]
        send(visitor, "chat.send", text="Hello")  # stored now: agents may invite it
        receive_until(agent, "chat.message")
        send(agent, "invite.send", conversation=conversation, mode="shared")
        send(visitor, "invite.accept", invite=receive_until(visitor, "invite.offer")["invite"])
        receive_until(agent, "session.started")
        server: RelayServer = a.server  # type: ignore[attr-defined]
        url = server.settings.redis_url
        assert url is not None
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter("cobrowse:*"))
        assert any(b":ses:" in key for key in keys)
        # Nothing is kept for ever: a fleet that is gone leaves nothing behind.
        assert all(client.pttl(key) > 0 for key in keys), {k: client.pttl(k) for k in keys}
        metrics = b.get("/metrics").text
        locks = re.search(
            r'^cobrowse_redis_seconds_count\{[^}]*operation="lock"[^}]*\} (\S+)$', metrics, re.M
        )
        assert locks is not None and float(locks.group(1)) >= 1
        sessions = re.search(r"^cobrowse_sessions_active\{[^}]*\} (\S+)$", metrics, re.M)
        assert sessions is not None and float(sessions.group(1)) == 1  # fleet-wide, seen from B


def test_a_node_refuses_to_start_without_redis(tmp_path: Any, postgres: PostgresServer) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(
        "[server]\n"
        f'database = "{postgres.fresh_url()}"\n'
        'secret_key = "fleet-test-secret"\n'
        "[cluster]\n"
        'redis_url = "redis://:hunter2-secret@127.0.0.1:1/0"\n'
        '[[brands]]\nid = "shop"\nname = "Shop"\nallowed_origins = ["https://shop.example"]\n'
    )
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "relay", "--config", str(config), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cobrowse: ") and "Redis" in lines[0]
    assert "hunter2" not in done.stderr + done.stdout


def test_redis_lost_while_running_closes_sockets_1011_and_the_node_recovers(
    postgres: PostgresServer,
) -> None:
    own = RedisServer()
    own.start()
    try:
        server = RelayServer(fleet_settings(postgres.fresh_url(), own.url), node="node-a")
        with TestClient(server.app) as client:
            with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor:
                hello = receive_until(visitor, "hello")
                send(visitor, "chat.send", text="before the outage")
                receive_until(visitor, "chat.message")
                own.stop()
                with pytest.raises(WebSocketDisconnect) as closed:
                    for _ in range(10):
                        visitor.receive_text()
                assert closed.value.code == 1011  # frames may be lost: reconnect and resume
            with pytest.raises(WebSocketDisconnect) as refused:  # refused, or closed at once
                with client.websocket_connect(
                    f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
                ) as visitor:
                    visitor.receive_text()
            assert refused.value.code == 1011
            own.start()
            for attempt in range(50):  # the broker reconnects by itself (a few seconds at most)
                try:
                    with client.websocket_connect(
                        f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
                    ) as visitor:
                        back = receive_until(visitor, "hello")
                        history = receive_until(visitor, "chat.history")["messages"]
                except WebSocketDisconnect:
                    assert attempt < 49, "the node did not recover"
                    time.sleep(0.1)
                    continue
                assert back["resumed"] is True
                assert back["conversation"] == hello["conversation"]
                assert [m["text"] for m in history] == ["before the outage"]
                break
    finally:
        own.stop()


def test_new_visitor_sockets_per_address_are_limited_across_the_fleet(
    fleet: list[TestClient],
) -> None:
    """One budget per client address, whichever node a socket reaches: the 7th within a
    minute is refused with 1013 (try again later: the tag retries, keeping its conversation)."""
    opened = 0
    for n in range(6):
        with fleet[n % 2].websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor:
            receive_until(visitor, "hello")
            opened += 1
    assert opened == 6
    for node in fleet:
        with pytest.raises(WebSocketDisconnect) as refused:
            with node.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor:
                visitor.receive_text()
        assert refused.value.code == 1013
        metrics = node.get("/metrics").text
        assert re.search(
            r'^cobrowse_sockets_refused_total\{[^}]*reason="rate_limited"[^}]*\} 1\.0$',
            metrics,
            re.M,
        ), metrics


def test_agents_on_another_node_see_a_visitor_once_it_chats_one_row_at_a_time(
    fleet: list[TestClient],
) -> None:
    """Issue 19: a socket that never chats is stored and listed nowhere; a change reaches the
    agents of every node as one row (``conversation.updated``), never as the whole list."""
    a, b = fleet
    sign_in(b)
    node_a: RelayServer = a.server  # type: ignore[attr-defined]
    with b.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent:
        assert receive_until(agent, "conversation.list")["conversations"] == []
        with a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as silent:
            receive_until(silent, "hello")
        with a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor:
            conversation = receive_until(visitor, "hello")["conversation"]
            send(visitor, "chat.send", text="Hello from node A")
            said, updated = (json.loads(agent.receive_text()) for _ in range(2))
            assert said["type"] == "chat.message"
            assert updated["type"] == "conversation.updated"
            row = updated["conversation"]
            assert (row["id"], row["title"], row["unread"], row["state"]) == (
                conversation, "Hello from node A", 1, "open"
            )  # fmt: skip
            listed = node_a.store.listing(frozenset({"demo"}), 10)
            assert [c.id for c in listed] == [conversation]
        for _ in range(200):  # the nodes take the closes in their own time: bounded
            if node_a.core.pending_here() == 0:
                break
            time.sleep(0.01)
        assert node_a.core.pending_here() == 0


def test_an_agent_on_another_node_navigates_only_on_the_visitors_site(
    fleet: list[TestClient],
) -> None:
    """The page origin travels in the session's record: node B judges act.navigate for the
    visitor whose socket is on node A (issue 19)."""
    a, b = fleet
    sign_in(b)
    with (
        a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        b.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
    ):
        conversation = receive_until(visitor, "hello")["conversation"]
        send(visitor, "chat.send", text="Show me")
        receive_until(agent, "chat.message")
        send(agent, "invite.send", conversation=conversation, mode="shared")
        send(visitor, "invite.accept", invite=receive_until(visitor, "invite.offer")["invite"])
        session = receive_until(agent, "session.started")["session"]
        for url in ("https://evil.example/", f"{OWN}.evil.example/", "http://a@testserver/"):
            send(agent, "act.navigate", session=session, url=url)
            refused = receive_until(agent, "error")
            assert (refused["code"], refused["ref"]) == ("forbidden", "act.navigate")
            assert url not in refused["message"]
        send(agent, "act.navigate", session=session, url=f"{OWN}/cart")
        assert receive_until(visitor, "act.navigate")["url"] == f"{OWN}/cart"  # the first one
