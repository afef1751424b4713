"""The renderer failing under a live relay: a crash costs that session a resync, nothing more.

A real relay (uvicorn on a loopback port, its own event loop in a thread) with a real
Renderer; two visitors, two agents, two sessions. We crash one session's renderer page, then
kill the whole renderer browser (SIGKILL), and check through the sockets that the visitor
concerned gets ``resync`` at once (idle: without sending anything first; the renderer's
``on_lost`` callback), the relay and the other session keep working, and a fresh
``dom.snapshot`` brings a replica back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from renderer_harness import compact, expand, page_doc
from websockets.sync.client import ClientConnection, connect

from relay.app import RelayServer
from relay.passwords import hash_password as _hash
from relay.settings import DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD, AgentLogin, demo_settings
from renderer.service import Renderer

pytestmark = pytest.mark.browser
T = TypeVar("T")


class LiveRelay:
    def __init__(self) -> None:
        base = demo_settings()
        settings = replace(
            base,
            secret_key="test-secret",
            agents=(*base.agents, AgentLogin("olga", "Olga", _hash("olga-password"), ("demo",))),
        )
        self.renderer = Renderer(pages=2, timeout=3.0)
        self.server = RelayServer(settings, renderer=self.renderer)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        config = uvicorn.Config(self.server.app, log_level="warning", ws="websockets-sansio")
        self.uvicorn = uvicorn.Server(config)
        self.serving = asyncio.run_coroutine_threadsafe(
            self.uvicorn.serve(sockets=[self.sock]), self.loop
        )
        while not self.uvicorn.started:
            threading.Event().wait(0.05)
        self.sockets = contextlib.ExitStack()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the relay's own loop (where its renderer lives)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def login(self, name: str, password: str) -> str:
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            f"{self.origin}/agent/login",
            data=json.dumps({"name": name, "password": password}).encode(),
            headers={"origin": self.origin, "content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return str(response.headers["set-cookie"].split(";")[0])

    def socket(self, path: str, cookie: str | None = None) -> ClientConnection:
        headers = {"cookie": cookie} if cookie else None
        return self.sockets.enter_context(
            connect(
                f"ws://127.0.0.1:{self.port}{path}",
                origin=self.origin,  # type: ignore[arg-type]
                additional_headers=headers,
            )
        )

    def close(self) -> None:
        self.sockets.close()
        self.uvicorn.should_exit = True
        self.serving.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.sock.close()


@pytest.fixture
def relay() -> Iterator[LiveRelay]:
    live = LiveRelay()
    yield live
    live.close()


def send(ws: ClientConnection, kind: str, **body: Any) -> None:
    ws.send(json.dumps({"v": 1, "type": kind, **body}))


def receive_until(ws: ClientConnection, kind: str, limit: int = 30) -> dict[str, Any]:
    for _ in range(limit):
        message: dict[str, Any] = json.loads(ws.recv(timeout=15))
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} among {limit} messages")


def start_session(relay: LiveRelay, agent: ClientConnection) -> tuple[ClientConnection, str]:
    visitor = relay.socket("/ws/visitor")
    conversation = receive_until(visitor, "hello")["conversation"]
    send(visitor, "chat.send", text="help")
    receive_until(agent, "chat.message")
    send(agent, "invite.send", conversation=conversation, mode="view_only")
    send(visitor, "invite.accept", invite=receive_until(visitor, "invite.offer")["invite"])
    session = str(receive_until(visitor, "session.started")["session"])
    receive_until(agent, "session.started")
    return visitor, session


def snapshot(visitor: ClientConnection, session: str, seq: int, **extra: Any) -> None:
    doc = compact(page_doc([10, "p", {"onclick": "alert(1)"}, [[11, "#text", "hello"]]]))
    send(
        visitor,
        "dom.snapshot",
        session=session,
        seq=seq,
        url="http://127.0.0.1/",
        title="t",
        viewport={"w": 800, "h": 600, "dpr": 1},
        doc=doc,
        **extra,
    )


def mutate(visitor: ClientConnection, session: str, seq: int, text: str) -> None:
    send(
        visitor,
        "dom.mutations",
        session=session,
        seq=seq,
        removes=[],
        adds=[],
        attrs=[],
        texts=[[11, text]],
    )


def chromium_browsers() -> set[int]:
    """Pids of Chromium browser processes (not their renderers/helpers) under this process."""
    parents: dict[int, int] = {}
    argvs: dict[int, list[bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argvs[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    mine, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        mine.update(kids)
        frontier += kids
    return {
        pid
        for pid in mine
        # Chromium rewrites its helpers' command lines into argv[0]: look at the whole line.
        if b"chrom" in argvs[pid][0] and b"--type=" not in b" ".join(argvs[pid])
    }


def test_a_renderer_crash_costs_that_session_a_resync_only(relay: LiveRelay) -> None:
    before = chromium_browsers()
    alex = relay.socket("/ws/agent", relay.login(DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD))
    olga = relay.socket("/ws/agent", relay.login("olga", "olga-password"))
    receive_until(alex, "hello")
    receive_until(olga, "hello")
    v1, s1 = start_session(relay, alex)
    v2, s2 = start_session(relay, olga)
    snapshot(v1, s1, 0)
    snapshot(v2, s2, 0)
    replica = expand(receive_until(alex, "replica.snapshot")["doc"])
    assert replica[2][1][3][1][3][0] == [10, "p", {}, [[11, "#text", "hello"]]]
    receive_until(olga, "replica.snapshot")
    ours = chromium_browsers() - before
    assert len(ours) == 1, ours  # the relay's renderer browser

    # 1. One session's page crashes: that visitor is asked for a resync; the other session,
    # on another page of the pool, carries on.
    page = relay.renderer.page_of(s1)
    assert page is not None and page is not relay.renderer.page_of(s2)

    async def crash() -> None:
        try:
            await page.goto("chrome://crash", timeout=3000)
        except Exception:  # noqa: S110 - the crash is the point
            pass

    relay.run(crash())
    # The visitor is idle: the resync comes from the renderer's on_lost, unasked.
    assert receive_until(v1, "resync")["session"] == s1
    mutate(v1, s1, 1, "lost")  # sent before the visitor saw the resync: refused, no 2nd resync
    assert receive_until(v1, "error")["code"] == "out_of_order"
    mutate(v2, s2, 1, "still here")
    assert receive_until(olga, "replica.mutations")["texts"] == [[11, "still here"]]
    # A page streamed in slices: `loading` reaches the agent on both kinds of message.
    snapshot(v1, s1, 5, loading=True)
    replica = receive_until(alex, "replica.snapshot")
    assert replica["seq"] == 5 and replica["loading"] is True
    send(
        v1,
        "dom.mutations",
        session=s1,
        seq=6,
        removes=[],
        adds=[],
        attrs=[],
        texts=[],
        loading=True,
    )
    assert receive_until(alex, "replica.mutations")["loading"] is True
    mutate(v1, s1, 7, "complete")
    assert "loading" not in receive_until(alex, "replica.mutations")

    # 2. The whole renderer browser is killed: every session resyncs at once, idle or not,
    # the relay stays up, and the relaunched browser serves fresh snapshots.
    for pid in ours:
        os.kill(pid, signal.SIGKILL)
    assert receive_until(v1, "resync")["session"] == s1
    assert receive_until(v2, "resync")["session"] == s2
    snapshot(v1, s1, 10)
    snapshot(v2, s2, 10)
    assert receive_until(alex, "replica.snapshot")["seq"] == 10
    assert receive_until(olga, "replica.snapshot")["seq"] == 10
    mutate(v2, s2, 11, "back")
    assert receive_until(olga, "replica.mutations")["texts"] == [[11, "back"]]
