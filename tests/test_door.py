"""The relay's door (issue 19): what a hostile frame costs before it is refused, and the flood
limits, through real sockets (Starlette's TestClient; uvicorn where its own queue is tested).

Refused before a parse: a big frame whose head names no type or a type not allowed to be big,
a visitor's ``dom.*`` while no session runs. Limits: new visitor sockets per brand, new
conversations per address and per brand at a visitor's first chat, chat messages per
conversation, each fleet-wide on a fleet. The node's parse budget is tested pure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from helpers import receive_until, run_async
from services import PostgresServer, RedisServer
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from test_relay_app import sign_in

from relay.app import RelayServer
from relay.broker import LocalBroker
from relay.settings import Brand, ServerLimits, Settings, demo_settings
from relay.sockets import ParseBudget
from wire import protocol
from wire.errors import ProtocolError

OWN = "http://testserver"
OTHER = "https://other.example"  # the second brand's site
LOCAL = ("127.0.0.1", 50000)  # /metrics answers this machine only
DATABASES = itertools.count(8)  # Redis databases of these tests' own (others use lower ones)


def settings_with(**limits: Any) -> Settings:
    """The demo brand and a second one ("other"), with these server limits."""
    base = demo_settings()
    return replace(
        base,
        secret_key="door-test-secret",
        brands=(*base.brands, Brand("other", "Other", (OTHER,))),
        limits=replace(ServerLimits(), **limits),
    )


@pytest.fixture
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """A relay with the test's ``limits(...)`` (none: the defaults)."""
    limits: dict[str, Any] = getattr(request, "param", {})
    with TestClient(RelayServer(settings_with(**limits)).app, client=LOCAL) as client:
        yield client


def limits(**values: Any) -> pytest.MarkDecorator:
    """The ``client`` fixture's server limits for one test."""
    return pytest.mark.parametrize("client", [values], indirect=True, ids=["limits"])


def send(ws: Any, kind: str, **body: Any) -> None:
    ws.send_text(json.dumps({"v": 1, "type": kind, **body}))


@contextmanager
def visitor_and_agent(client: TestClient) -> Iterator[tuple[Any, Any, str]]:
    """A visitor's socket, the signed-in demo agent's, and the visitor's conversation."""
    sign_in(client)
    with (
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
    ):
        yield visitor, agent, receive_until(visitor, "hello")["conversation"]


def start_session(visitor: Any, agent: Any, conversation: str) -> str:
    """The visitor chats (its conversation is stored), the agent invites, the visitor
    accepts; returns the session's id."""
    assert chat(visitor, "Need help")["type"] == "chat.message"
    send(agent, "invite.send", conversation=conversation, mode="view_only")
    send(visitor, "invite.accept", invite=receive_until(visitor, "invite.offer")["invite"])
    session: str = receive_until(visitor, "session.started")["session"]
    return session


def chat(ws: Any, text: str) -> dict[str, Any]:
    """Send a chat message; the relay's answer: the ``chat.message`` or an ``error``."""
    send(ws, "chat.send", text=text)
    for _ in range(30):
        message: dict[str, Any] = json.loads(ws.receive_text())
        if message["type"] in ("chat.message", "error"):
            return message
    raise AssertionError("no answer to a chat message")


def error_count(client: TestClient, code: str) -> float:
    """The visitors' protocol errors of ``code`` counted so far (``/metrics``)."""
    samples = re.findall(
        r"^cobrowse_protocol_errors_total\{([^}]*)\} (\S+)$", client.get("/metrics").text, re.M
    )
    return sum(
        float(count)
        for labels, count in samples
        if f'code="{code}"' in labels and 'role="visitor"' in labels
    )


def big_snapshot_head(session: str, size: int) -> str:
    """A frame of ``size`` characters that begins as a snapshot and is not JSON after its head:
    any answer but ``bad_json`` shows it was refused unparsed."""
    head = f'{{"v":1,"type":"dom.snapshot","session":"{session}","doc":['
    return head + "x" * (size - len(head))


# ---------------------------------------------------------------- before a parse


def test_a_big_frame_must_name_a_type_that_may_be_big_and_is_refused_unparsed(
    client: TestClient,
) -> None:
    big = protocol.SMALL_FRAME_BYTES + 1
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        receive_until(ws, "hello")
        before = error_count(client, "too_large")
        for frame, code, ref in [
            ('{"type":"chat.send","v":1,"text":"' + "x" * big + '"}', "invalid", None),
            ('{"v":1,"type":"chat.send","text":"my secret' + "x" * big + '"}', "too_large",
             "chat.send"),
            ('{"v":1,"type":"pointer","session":"s","x":"' + "x" * big + '"}', "too_large",
             "pointer"),
            ('{"v":1,"type":"act.input","session":"s","pad":"' + "[" * big + '"}', "forbidden",
             "act.input"),
        ]:  # fmt: skip
            ws.send_text(frame)
            error = receive_until(ws, "error")
            assert (error["code"], error["fault"], error.get("ref")) == (code, "client", ref)
            assert "secret" not in error["message"] and "xxxx" not in error["message"]
        assert error_count(client, "too_large") == before + 2  # counted as the client's errors
        assert chat(ws, "still here")["text"] == "still here"


def test_a_visitors_dom_frames_are_refused_unparsed_until_a_session_runs(
    client: TestClient,
) -> None:
    with visitor_and_agent(client) as (visitor, agent, conversation):
        for frame in (big_snapshot_head("s1", 1_000_000), big_snapshot_head("s1", 200)):
            visitor.send_text(frame)
            error = receive_until(visitor, "error")
            assert (error["code"], error["message"], error["ref"]) == (
                "not_found",
                "no active session",
                "dom.snapshot",
            )
        send(visitor, "dom.mutations", session="s1", seq=1, adds=[], removes=[], attrs=[], texts=[])
        assert receive_until(visitor, "error")["ref"] == "dom.mutations"
        session = start_session(visitor, agent, conversation)
        # Right after session.started: no earlier "no" stands in its way; read, then judged.
        visitor.send_text(big_snapshot_head(session, 1_000_000))
        assert receive_until(visitor, "error")["code"] == "bad_json"


@limits(visitor_frame_bytes=16 * 1024 * 1024)
def test_a_snapshot_over_the_node_limit_is_refused_naming_the_limit(client: TestClient) -> None:
    limit = protocol.DEFAULT_LIMITS.max_nodes
    with visitor_and_agent(client) as (visitor, agent, conversation):
        session = start_session(visitor, agent, conversation)
        comments = ',["#comment"]' * (limit - 1)
        doc = f'[1,"#document",["html"{comments}]]'
        frame = json.dumps(
            {"v": 1, "type": "dom.snapshot", "session": session, "seq": 0,
             "url": "https://shop.example/", "title": "t", "viewport": {"w": 1, "h": 1, "dpr": 1},
             "doc": 0}, separators=(",", ":"),
        ).replace('"doc":0', f'"doc":{doc}')  # fmt: skip
        visitor.send_text(frame)
        error = receive_until(visitor, "error")
        assert (error["code"], error["ref"]) == ("invalid", "dom.snapshot")
        assert f"more than {limit} nodes (max_nodes)" in error["message"]


# ---------------------------------------------------------------- flood limits


@limits(visitor_sockets_per_minute=100, visitor_sockets_per_brand_per_minute=2)
def test_new_visitor_sockets_are_limited_per_brand(client: TestClient) -> None:
    for _ in range(2):
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            receive_until(ws, "hello")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws,
    ):
        ws.receive_text()
    assert (refused.value.code, refused.value.reason) == (1013, "too many new connections")
    with client.websocket_connect("/ws/visitor", headers={"origin": OTHER}) as ws:
        assert receive_until(ws, "hello")["brand"] == "other"  # another brand's budget


@limits(conversations_per_address_per_minute=1)
def test_new_conversations_per_address_are_counted_at_the_first_chat(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as first:
        receive_until(first, "hello")
        for _ in range(3):  # sockets that never chat cost no conversation
            with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as silent:
                receive_until(silent, "hello")
        assert chat(first, "Need help")["type"] == "chat.message"
        with client.websocket_connect("/ws/visitor", headers={"origin": OTHER}) as second:
            receive_until(second, "hello")
            for _ in range(2):  # refused, the socket stays, and a later chat asks again
                refused = chat(second, "me too")
                assert (refused["code"], refused["message"], refused["fault"]) == (
                    "rate_limited",
                    "too many new conversations; try again in a minute",
                    "client",
                )
        assert chat(first, "still here")["type"] == "chat.message"  # not a new conversation


@limits(conversations_per_brand_per_minute=1)
def test_new_conversations_per_brand_are_limited(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as first:
        receive_until(first, "hello")
        assert chat(first, "Need help")["type"] == "chat.message"
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as second:
        receive_until(second, "hello")
        assert chat(second, "me too")["code"] == "rate_limited"
    with client.websocket_connect("/ws/visitor", headers={"origin": OTHER}) as elsewhere:
        receive_until(elsewhere, "hello")
        assert chat(elsewhere, "hello other")["type"] == "chat.message"


@limits(chat_per_conversation_per_minute=3)
def test_a_visitors_chat_is_limited_per_conversation_and_an_agents_is_not(
    client: TestClient,
) -> None:
    with visitor_and_agent(client) as (visitor, agent, conversation):
        assert [chat(visitor, f"line {n}")["type"] for n in range(3)] == ["chat.message"] * 3
        refused = chat(visitor, "line 3")
        assert (refused["code"], refused["message"]) == (
            "rate_limited",
            "too many chat messages; slow down",
        )
        for n in range(5):
            send(agent, "chat.send", conversation=conversation, text=f"answer {n}")
            assert receive_until(visitor, "chat.message")["text"] == f"answer {n}"


def test_the_documented_flood_limits_are_the_defaults() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")
    defaults = ServerLimits()
    for name in (
        "visitor_sockets_per_minute",
        "visitor_sockets_per_brand_per_minute",
        "conversations_per_address_per_minute",
        "conversations_per_brand_per_minute",
        "chat_per_conversation_per_minute",
    ):
        assert f"| `{name}` | {getattr(defaults, name)} |" in doc, name


# ---------------------------------------------------------------- on a fleet


@pytest.fixture
def fleet(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[list[TestClient]]:
    """Two nodes on one empty Redis database and one empty PostgreSQL schema, with small
    per-brand and per-conversation budgets."""
    url = redis_server.url.rsplit("/", 1)[0] + f"/{next(DATABASES)}"
    redis.Redis.from_url(url).flushdb()
    settings = replace(
        settings_with(visitor_sockets_per_brand_per_minute=3, chat_per_conversation_per_minute=2),
        database=postgres.fresh_url(),
        redis_url=url,
    )
    servers = [RelayServer(settings, node=f"node-{n}") for n in "ab"]
    with ExitStack() as stack:
        yield [stack.enter_context(TestClient(s.app)) for s in servers]


def test_the_per_brand_and_per_conversation_budgets_are_the_fleets(
    fleet: list[TestClient],
) -> None:
    a, b = fleet
    with a.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor:
        hello = receive_until(visitor, "hello")
        assert chat(visitor, "one")["type"] == "chat.message"
    with b.websocket_connect(
        f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
    ) as again:  # the same conversation, on the other node
        receive_until(again, "hello")
        assert chat(again, "two")["type"] == "chat.message"
        assert chat(again, "three")["code"] == "rate_limited"
    with b.websocket_connect("/ws/visitor", headers={"origin": OWN}) as third:
        receive_until(third, "hello")
    for node in fleet:  # three sockets of the brand on two nodes: the fourth is refused
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            node.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws,
        ):
            ws.receive_text()
        assert refused.value.code == 1013


def test_a_limit_that_cannot_count_refuses_as_the_relays_error(postgres: PostgresServer) -> None:
    """The fleet's Redis stops while a visitor is connected: its chat gets ``internal`` (the
    server's fault), never passes uncounted, and the socket is not cut for it (its frames go
    through this process's broker here, so that only the limits lose Redis)."""
    own = RedisServer()
    own.start()
    try:
        settings = replace(settings_with(), database=postgres.fresh_url(), redis_url=own.url)
        server = RelayServer(settings, broker=LocalBroker(), node="node-a")
        with (
            TestClient(server.app) as client,
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        ):
            receive_until(visitor, "hello")
            own.stop()
            for _ in range(2):
                refused = chat(visitor, "are you there?")
                assert (refused["code"], refused["fault"]) == ("internal", "server")
    finally:
        own.stop()


# ---------------------------------------------------------------- the parse budget (pure)


def test_the_parse_budget_holds_big_frames_back_first_come_first_served() -> None:
    async def scenario() -> list[str]:
        budget = ParseBudget(100, threads=2)
        order: list[str] = []
        release = {name: asyncio.Event() for name in "abcd"}
        loop = asyncio.get_running_loop()

        def parse(name: str) -> str:
            order.append(f"start {name}")
            asyncio.run_coroutine_threadsafe(release[name].wait(), loop).result()
            return name

        first = asyncio.create_task(budget.run(60, parse, "a"))
        second = asyncio.create_task(budget.run(60, parse, "b"))  # waits: 120 > 100
        await asyncio.sleep(0.05)
        third = asyncio.create_task(budget.run(30, parse, "c"))  # fits, but waits its turn
        huge = asyncio.create_task(budget.run(10_000, parse, "d"))  # alone, when all is free
        await asyncio.sleep(0.05)
        assert order == ["start a"] and budget.free_bytes == 40
        release["a"].set()
        assert await first == "a"
        await asyncio.sleep(0.05)
        assert sorted(order) == ["start a", "start b", "start c"]
        release["b"].set()
        release["c"].set()
        await asyncio.gather(second, third)
        release["d"].set()
        assert await huge == "d"
        assert budget.free_bytes == 100
        return order

    assert run_async(scenario)[-1] == "start d"


def test_a_frame_that_gives_up_waiting_leaves_the_budget_whole() -> None:
    async def scenario() -> int:
        budget = ParseBudget(100, threads=1)
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()

        def held() -> None:
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result()

        running = asyncio.create_task(budget.run(80, held))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(budget.run(50, held))
        await asyncio.sleep(0.05)
        waiting.cancel()  # its socket closed while it waited
        running.cancel()  # the parse goes on on its thread: its bytes come back once done
        await asyncio.sleep(0.05)
        assert budget.free_bytes == 20
        gate.set()
        for _ in range(100):
            if budget.free_bytes == 100:
                break
            await asyncio.sleep(0.01)
        return budget.free_bytes

    assert run_async(scenario) == 100


def test_a_refused_big_frame_is_let_go_at_once_not_at_the_next_garbage_collection() -> None:
    """A refusal raised on the parse thread keeps no reference cycle alive to its frame: under
    a flood of 10 MB frames, waiting for the collector cost hundreds of MB (issue 19)."""
    import gc
    import weakref

    class Frame:  # stands for the frame's text (a str cannot be weakly referenced)
        pass

    def refuse(frame: Frame) -> None:
        raise ProtocolError("invalid", "more than 400000 nodes")

    async def scenario() -> bool:
        budget = ParseBudget(100, threads=1)
        frame = Frame()
        gone = weakref.ref(frame)
        try:
            await budget.run(10, refuse, frame)
        except ProtocolError:
            pass
        del frame
        for _ in range(3):  # the futures' done callbacks run at the loop's next turns
            await asyncio.sleep(0)
        return gone() is None

    gc.disable()
    try:
        assert run_async(scenario)
    finally:
        gc.enable()


# ---------------------------------------------------------------- uvicorn's receive queue


def _deflatable_messages(count: int, size: int) -> list[str]:
    """``count`` texts of ``size`` characters, numbered in their first four: a 24 KB period,
    so deflate's 32 KB window makes each about 25 KB on the wire."""
    import hashlib

    block = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(384))
    return [f"{n:04d}" + (block * (size // len(block) + 1))[: size - 4] for n in range(count)]


async def _send_deflated(url: str, messages: list[str]) -> None:
    """Send every message at once (pipelined, compressed), then wait for the server's close."""
    from websockets.asyncio.client import connect

    async with connect(url, compression="deflate") as ws:
        for message in messages:
            await ws.send(message)
        await ws.wait_closed()


def test_a_socket_inflates_no_more_ahead_of_the_relay_than_its_bound() -> None:
    """Pipelined deflated messages (1 MB each inflated, about 25 KB on the wire) to an app
    that reads slowly: whatever one read of the socket brings, uvicorn's protocol inflates
    only about ``QUEUED_BYTES`` of it ahead of the app and holds the rest back raw; every
    message arrives, in order."""

    from relay.websocket import QUEUED_BYTES

    count, size = 30, 1024 * 1024
    messages = _deflatable_messages(count, size)
    received: list[str] = []
    peak = [0]  # inflated bytes waiting for the app, at most, seen at each of its reads

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        (protocol,) = server.server_state.connections
        for _ in range(count):
            await asyncio.sleep(0.02)  # a slow reader: the client's frames pile up meanwhile
            peak[0] = max(peak[0], protocol.queued_bytes)  # type: ignore[attr-defined]
            received.append((await receive())["text"])
        await send({"type": "websocket.close", "code": 1000})

    with served(app, max_size=2 * size, lifespan="off") as (server, url):
        run_async(lambda: _send_deflated(f"{url}/", messages))
    assert [text[:4] for text in received] == [f"{n:04d}" for n in range(count)]
    assert received == messages
    assert 0 < peak[0] <= QUEUED_BYTES + size  # not one read's worth: 10 MB and more


def test_a_socket_is_inflated_no_faster_than_its_allowance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past its burst, a socket's deflated messages are inflated at its allowance's rate: its
    data waits unread (nothing refused, every message arrives in order), so a client resending
    deflated 10 MB snapshots costs the node a bounded share of its CPU (issue 19)."""

    from relay import websocket

    size, count, rate = 1024 * 1024, 12, 8 * 1024 * 1024
    monkeypatch.setattr(websocket, "INFLATE_BURST_BYTES", 2 * size)
    monkeypatch.setattr(websocket, "INFLATE_BYTES_PER_SECOND", rate)
    messages = _deflatable_messages(count, size)
    arrived: list[tuple[float, str]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        for _ in range(count):
            text = (await receive())["text"]
            arrived.append((time.monotonic(), text[:4]))
        await send({"type": "websocket.close", "code": 1000})

    with served(app, max_size=2 * size, lifespan="off") as (_, url):
        started = time.monotonic()
        run_async(lambda: _send_deflated(f"{url}/", messages))
    assert [label for _, label in arrived] == [f"{n:04d}" for n in range(count)]
    # The burst's two and a third on credit at once, then nine more at 8 MiB/s: the last is
    # inflated at least 1.125 s after the first could be, so after the client began sending (a
    # lower bound: a busy machine only makes it later); unthrottled, within a tenth of that.
    assert arrived[-1][0] - started >= (count - 3) * size / rate * 0.95


def test_a_deflate_bomb_closes_1009_without_being_inflated_whole() -> None:
    """64 MB of zeros deflate to about 64 KB; the relay's limit is 1 MB: websockets inflates
    at most up to the limit (``zlib``'s ``max_length``) and closes the socket 1009."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    app = RelayServer(settings_with()).app

    async def bomb(url: str) -> int | None:
        async with connect(
            f"{url}/ws/visitor",
            origin=url.replace("ws://", "http://"),
            compression="deflate",
            max_size=None,
        ) as ws:
            await ws.recv()  # hello
            await ws.send('{"v":1,"type":"dom.snapshot","pad":"' + "0" * 64_000_000 + '"}')
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd is not None else None

    with served(app, max_size=1024 * 1024) as (_, url):
        assert run_async(lambda: bomb(url)) == 1009


@contextmanager
def served(app: Any, *, max_size: int, **config: Any) -> Iterator[tuple[Any, str]]:
    """``app`` under uvicorn with the relay's WebSocket protocol, on a free loopback port, in a
    thread; yields the server and its ``ws://`` address once it listens."""
    import socket
    import threading

    import uvicorn

    from relay.websocket import CobrowseWebSocketProtocol

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, port=port, log_level="warning", ws=CobrowseWebSocketProtocol,
            ws_per_message_deflate=True, ws_max_size=max_size, **config,
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield server, f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
