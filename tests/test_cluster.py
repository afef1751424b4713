"""THE FLEET TEST: several relay nodes (``python -m relay`` processes) sharing one real Redis
and one real PostgreSQL, behind a round-robin TCP balancer without stickiness
(``cobrowse_qa.balancer``), driven by protocol-level clients (``cluster_clients``) that assert
only on what a visitor's tag and an agent's workspace would see.

Covered (issue 14): a visitor on one node and an agent on another chat, invite, co-browse
(DOM stream, pointers both ways, view only refusing acts) and read transcripts from a third;
the fleet's rules hold across nodes (one pending invite per agent, one session per
conversation); a node killed with SIGKILL or drained with SIGTERM ends no session: its clients
reconnect through the balancer, the session goes on with the same id after a fresh snapshot,
and no chat message is lost; the live state left in Redis by dead nodes carries expiries.

Each test starts its own Redis (milliseconds) and uses a fresh schema of the run's PostgreSQL;
nodes are started in parallel and stopped (their logs checked for tracebacks) at the end,
whatever happened. A failure shows the tail of every node's log. Nodes render replicas in a
real Chromium (started lazily by the node holding the visitor): marked ``browser``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from cluster_clients import BUTTON, ORIGIN, Agent, Visitor, closing, start_session
from helpers import run_async
from services import PostgresServer, RedisServer

from cobrowse_qa.balancer import BalancerThread
from cobrowse_qa.driver import RelayProcess
from relay.passwords import hash_password

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SECRET = "fleet-test-secret-key"
BRAND = "shop"
PASSWORDS = {"alex": "alex-fleet-password", "sam": "sam-fleet-password"}
NAMES = {"alex": "Alex", "sam": "Sam"}
# ADAPT: the prefix of every key the fleet keeps in Redis (the live state).
KEY_PREFIX = "cobrowse:"
SCENARIO_S = 150  # one scenario, all its waits included


def settings_toml(database: str, redis_url: str | None) -> str:
    """One brand on ``ORIGIN``, agents alex and sam; ``[cluster]`` when ``redis_url``."""
    lines = [
        "[server]",
        f'secret_key = "{SECRET}"',
        f'database = "{database}"',
        "",
        "[[brands]]",
        f'id = "{BRAND}"',
        'name = "Shop"',
        f'allowed_origins = ["{ORIGIN}"]',
    ]
    if redis_url is not None:
        lines[3:3] = ["", "[cluster]", f'redis_url = "{redis_url}"']
    for agent, password in PASSWORDS.items():
        lines += [
            "",
            "[[agents]]",
            f'id = "{agent}"',
            f'name = "{NAMES[agent]}"',
            f'password_hash = "{hash_password(password)}"',
            f'brands = ["{BRAND}"]',
        ]
    return "\n".join(lines) + "\n"


class Fleet:
    """``count`` nodes on one settings file, behind a balancer (``url``). ``nodes[i].url``
    reaches one node directly; ``add_node()`` starts another; ``stop()`` ends everything."""

    def __init__(self, folder: Path, database: str, redis: RedisServer | None, count: int) -> None:
        self.folder = folder
        self.redis = redis
        self.config = folder / "fleet.toml"
        redis_url = None if redis is None else redis.url
        self.config.write_text(settings_toml(database, redis_url), encoding="utf-8")
        self.nodes: list[RelayProcess] = []
        self.balancer = BalancerThread([])
        try:
            with ThreadPoolExecutor(count) as pool:
                started = list(pool.map(lambda _: self._node(), range(count)))
        except BaseException:
            self.stop()
            raise
        for node in started:
            self.balancer.add(node.port)

    def _node(self) -> RelayProcess:
        node = RelayProcess(self.folder, self.config, log_level="info")
        self.nodes.append(node)
        return node.start(timeout=60)

    def add_node(self) -> RelayProcess:
        node = self._node()
        self.balancer.add(node.port)
        return node

    @property
    def url(self) -> str:
        return self.balancer.url

    def logs(self, lines: int = 40) -> str:
        tails = []
        for node in self.nodes:
            text = node.log_path.read_text(errors="replace") if node.log_path.exists() else ""
            state = "running" if node.running else "stopped"
            tail = "\n".join(text.splitlines()[-lines:])
            tails.append(f"--- node {node.port} ({state}), last {lines} lines:\n{tail}")
        return "\n".join(tails)

    def run(self, scenario: Callable[[], Awaitable[Any]]) -> Any:
        """Run an async scenario on its own thread; a failure carries every node's log."""

        async def closing_all() -> Any:
            async with closing():
                return await asyncio.wait_for(scenario(), SCENARIO_S)

        try:
            return run_async(closing_all, SCENARIO_S + 15)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{self.logs()}") from failure

    def stop(self) -> None:
        self.balancer.stop()
        problems = []
        for node in self.nodes:
            try:
                node.stop()
            except (AssertionError, subprocess.TimeoutExpired) as problem:
                problems.append(str(problem)[-4000:])
        assert not problems, "\n".join(problems)


@pytest.fixture
def fleet(tmp_path: Path, postgres: PostgresServer) -> Iterator[Callable[[int], Fleet]]:
    """``fleet(n)``: ``n`` nodes of one fleet on a fresh PostgreSQL schema and a Redis of the
    test's own (``Fleet.redis``; not the run's ``redis_server``: no live state, limits or
    routes of an earlier test's nodes), behind a balancer; stopped at the end even when the
    test fails."""
    made: list[Fleet] = []
    servers: list[RedisServer] = []

    def make(count: int) -> Fleet:
        servers.append(RedisServer())
        servers[-1].start()
        made.append(Fleet(tmp_path, postgres.fresh_url(), servers[-1], count))
        return made[-1]

    try:
        yield make
    finally:
        try:
            for one in made:
                one.stop()
        finally:
            for server in servers:
                server.stop()


async def agent(name: str, url: str, sign_in_url: str | None = None) -> Agent:
    """Agent ``name`` signed in (at ``sign_in_url``, else ``url``) and connected to ``url``."""
    client = await Agent(url, name, PASSWORDS[name]).sign_in(sign_in_url)
    await client.connect()
    await client.expect("hello")
    return client


async def visitor(url: str) -> Visitor:
    client = Visitor(url)
    await client.connect()
    hello = await client.expect("hello")
    assert hello["resumed"] is False
    return client


async def replica_shown(agent: Agent, visitor: Visitor, session: str) -> dict[str, Any]:
    """The visitor sends a fresh snapshot; the agent gets its replica (the renderer's
    sanitized copy, with the page's text)."""
    await visitor.snapshot()
    replica = await agent.expect("replica.snapshot", timeout=45, session=session)
    assert "Your basket" in json.dumps(replica["doc"]), replica
    return replica


async def history(agent: Agent, conversation: str) -> list[str]:
    await agent.send("conversation.open", conversation=conversation)
    found = await agent.expect("chat.history", conversation=conversation)
    return [m["text"] for m in found["messages"]]


async def cobrowse_across(visitor_url: str, agent_url: str, transcript_url: str) -> None:
    """Scenario (a): the visitor at one URL, the agent at another, the transcript from a third."""
    shopper = await visitor(visitor_url)
    alex = await agent("alex", agent_url)
    conversation = shopper.conversation

    await shopper.send("chat.send", text="Where is my parcel?")
    said = await alex.expect("chat.message", conversation=conversation)
    assert (said["sender"], said["text"]) == ("visitor", "Where is my parcel?")
    await alex.send("chat.send", conversation=conversation, text="Let me look with you.")
    said = await shopper.expect("chat.message", sender="agent")
    assert (said["name"], said["text"]) == ("Alex", "Let me look with you.")

    session = await start_session(alex, shopper, "view_only")
    await replica_shown(alex, shopper, session)
    await shopper.set_text(9, "Your basket: two items")
    changed = await alex.expect("replica.mutations", timeout=30, session=session)
    assert "two items" in json.dumps(changed["texts"])

    await shopper.send("pointer", session=session, id=BUTTON, x=0.25, y=0.5)
    seen = await alex.expect("pointer", session=session)
    assert (seen["id"], seen["x"], seen["y"]) == (BUTTON, 0.25, 0.5)
    await alex.send("pointer", session=session, id=BUTTON, x=0.75, y=0.125)
    seen = await shopper.expect("pointer", session=session)
    assert (seen["id"], seen["x"], seen["y"]) == (BUTTON, 0.75, 0.125)

    await alex.send("act.click", session=session, id=BUTTON, x=0.5, y=0.5)
    assert await alex.error("act.click") == "forbidden"
    await alex.send("pointer", session=session, id=BUTTON, x=0.5, y=0.5)
    await shopper.expect("pointer", session=session, x=0.5)  # after the refused click...
    assert shopper.take("act.click") is None  # ...which never reached the visitor

    status, transcript = await alex.transcript(conversation, url=transcript_url)
    assert status == 200, transcript
    assert [m["text"] for m in transcript["messages"]] == [
        "Where is my parcel?",
        "Let me look with you.",
    ]
    await alex.send("session.end", session=session)
    ended = await shopper.expect("session.ended", session=session)
    assert ended["by"] == "agent"


# ---------------------------------------------------------------- one node: the control


def test_the_clients_and_the_balancer_cobrowse_on_a_single_node(tmp_path: Path) -> None:
    """The same scenario on one node without ``[cluster]`` (SQLite in memory), everything
    through the balancer: what the fleet must equal."""
    one = Fleet(tmp_path, ":memory:", None, 1)
    try:
        one.run(lambda: cobrowse_across(one.url, one.url, one.url))
    finally:
        one.stop()


# ---------------------------------------------------------------- (a) across nodes


def test_a_visitor_on_one_node_and_an_agent_on_another_cobrowse_as_on_one(
    fleet: Callable[[int], Fleet],
) -> None:
    """Chat both ways, invite → offer → accept → one session id on both, the DOM stream
    through the visitor's node's renderer, pointers both ways, view only refusing
    ``act.click``, and the transcript from a third node."""
    nodes = fleet(3)
    a, b, c = nodes.nodes
    nodes.run(lambda: cobrowse_across(a.url, b.url, c.url))


# ---------------------------------------------------------------- (b) fleet-wide rules


def test_the_invite_and_session_rules_hold_across_nodes(fleet: Callable[[int], Fleet]) -> None:
    """One pending invite per agent even with its second socket on another node; one pending
    invite and one session per conversation whichever node the second agent is on; one
    session per agent."""
    nodes = fleet(2)
    a, b = nodes.nodes

    async def scenario() -> None:
        first, second = await visitor(a.url), await visitor(b.url)
        alex_a = await agent("alex", a.url)
        alex_b = await agent("alex", b.url, sign_in_url=a.url)  # a cookie from A works on B
        sam_b = await agent("sam", b.url)
        await first.chat_first()
        await second.chat_first()

        await alex_a.send("invite.send", conversation=first.conversation, mode="view_only")
        offer = await first.expect("invite.offer")
        await alex_b.send("invite.send", conversation=second.conversation, mode="view_only")
        assert await alex_b.error("invite.send") == "conflict"  # alex's one pending invite
        assert second.take("invite.offer") is None
        await sam_b.send("invite.send", conversation=first.conversation, mode="shared")
        assert await sam_b.error("invite.send") == "conflict"  # the visitor's one invite

        await first.send("invite.accept", invite=offer["invite"])
        session = (await first.expect("session.started"))["session"]
        await alex_a.expect("session.started", session=session)
        await alex_b.expect("session.started", session=session)  # both of alex's sockets
        await sam_b.send("invite.send", conversation=first.conversation, mode="view_only")
        assert await sam_b.error("invite.send") == "conflict"  # one session per conversation
        await alex_b.send("invite.send", conversation=second.conversation, mode="view_only")
        assert await alex_b.error("invite.send") == "conflict"  # one session per agent

        # Sam may still invite the other visitor: the rules refuse only what they should.
        await sam_b.send("invite.send", conversation=second.conversation, mode="view_only")
        await second.expect("invite.offer")

    nodes.run(scenario)


# ---------------------------------------------------------------- (c) kill -9


def test_a_killed_node_ends_no_session_and_loses_no_chat(fleet: Callable[[int], Fleet]) -> None:
    """SIGKILL the visitor's node: the visitor reconnects through the balancer with its token,
    gets the same conversation and session, sends a fresh snapshot and the agent sees the
    replica again. Then a new node joins and the node holding both is killed: both reconnect,
    and it goes on again. No chat message is missing from ``chat.history``."""
    nodes = fleet(2)
    a, b = nodes.nodes

    async def scenario() -> None:
        shopper = await visitor(a.url)
        alex = await agent("alex", b.url)
        conversation = shopper.conversation
        said: list[str] = []

        async def chat(sender: Visitor | Agent, text: str) -> None:
            if isinstance(sender, Agent):
                await sender.send("chat.send", conversation=conversation, text=text)
            else:
                await sender.send("chat.send", text=text)
            await alex.expect("chat.message", conversation=conversation, text=text)
            await shopper.expect("chat.message", conversation=conversation, text=text)
            said.append(text)

        await chat(shopper, "Hello, can you see my basket?")
        await chat(alex, "Let me have a look.")
        session = await start_session(alex, shopper, "shared")
        await replica_shown(alex, shopper, session)
        await chat(shopper, "Before the crash")

        a.kill()  # the visitor's node
        assert await shopper.expect_closed() != 1012  # no drain: the node just vanished
        # Said while the visitor is away: kept, and in the history the visitor gets back.
        await alex.send("chat.send", conversation=conversation, text="Are you still there?")
        await alex.expect("chat.message", conversation=conversation, text="Are you still there?")
        said.append("Are you still there?")
        hello = await shopper.reconnect(nodes.url)
        assert (hello["conversation"], hello["resumed"]) == (conversation, True)
        assert hello.get("session") == session
        again = await shopper.expect("session.started", timeout=15)
        assert (again["session"], again["mode"]) == (session, "shared")
        back = await shopper.expect("chat.history", conversation=conversation)
        assert [m["text"] for m in back["messages"]] == said
        await replica_shown(alex, shopper, session)
        assert alex.open, "the agent's node is alive: its socket must stay"
        await chat(alex, "I can see it again.")

        c = await asyncio.to_thread(nodes.add_node)
        b.kill()  # now the node holding both of them
        for client in (shopper, alex):
            assert await client.expect_closed() != 1012
        # Each reconnects through the balancer: b refuses, so c (the only live node) takes it.
        await alex.reconnect(nodes.url)
        await shopper.reconnect(nodes.url)
        assert shopper.conversation == conversation
        await shopper.expect("session.started", timeout=15, session=session)
        await alex.expect("session.started", timeout=15, session=session)
        await replica_shown(alex, shopper, session)
        await chat(shopper, "After the second crash")
        assert await history(alex, conversation) == said
        status, transcript = await alex.transcript(conversation, url=c.url)
        assert status == 200 and [m["text"] for m in transcript["messages"]] == said

    nodes.run(scenario)


# ---------------------------------------------------------------- (d) SIGTERM drain


def test_a_drained_node_tells_its_clients_to_reconnect_and_the_session_goes_on(
    fleet: Callable[[int], Fleet],
) -> None:
    """SIGTERM the node holding both sides: each socket closes 1012, the node exits; both
    reconnect through the balancer to the other node and the session goes on."""
    nodes = fleet(2)
    a, b = nodes.nodes

    async def scenario() -> None:
        shopper = await visitor(a.url)
        alex = await agent("alex", a.url)
        await shopper.send("chat.send", text="Before the deploy")
        await alex.expect("chat.message", text="Before the deploy")
        session = await start_session(alex, shopper, "view_only")
        await replica_shown(alex, shopper, session)

        status = await asyncio.to_thread(a.terminate)
        assert await shopper.expect_closed() == 1012
        assert await alex.expect_closed() == 1012
        # Done draining, uvicorn re-raises the signal: "terminated by SIGTERM" is a clean end.
        assert status in (0, -signal.SIGTERM), f"the drained node exited with {status}"

        await alex.reconnect(nodes.url)
        hello = await shopper.reconnect(nodes.url)
        assert (hello["conversation"], hello.get("session")) == (shopper.conversation, session)
        await shopper.expect("session.started", timeout=15, session=session)
        await alex.expect("session.started", timeout=15, session=session)
        await replica_shown(alex, shopper, session)
        await alex.send("pointer", session=session, id=BUTTON, x=0.5, y=0.5)
        await shopper.expect("pointer", session=session)
        assert await history(alex, shopper.conversation) == ["Before the deploy"]

    nodes.run(scenario)
    assert not a.running and b.running


# ---------------------------------------------------------------- (e) expiries


def test_live_state_left_by_dead_nodes_expires(fleet: Callable[[int], Fleet]) -> None:
    """Every node dies (SIGKILL: no clean-up code runs) with a session running and an invite
    pending: every key the fleet left in Redis carries an expiry, so a dead fleet's sessions,
    invites and routes are not kept forever.

    ADAPT: ``KEY_PREFIX`` names the fleet's keys; the test wants at least one such key (else
    it would prove nothing) and a positive TTL on each.
    """
    nodes = fleet(2)
    a, b = nodes.nodes

    async def scenario() -> None:
        shopper, other = await visitor(a.url), await visitor(b.url)
        alex, sam = await agent("alex", b.url), await agent("sam", a.url)
        session = await start_session(alex, shopper, "view_only")
        await replica_shown(alex, shopper, session)
        await other.chat_first()
        await sam.send("invite.send", conversation=other.conversation, mode="view_only")
        await other.expect("invite.offer")

    nodes.run(scenario)
    a.kill()
    b.kill()
    assert nodes.redis is not None
    client = redis.Redis.from_url(nodes.redis.url)
    try:
        keys = sorted(key.decode() for key in client.scan_iter(match=f"{KEY_PREFIX}*"))
        assert keys, f"no key under {KEY_PREFIX!r}: {sorted(client.keys('*'))[:20]}"
        # -1: no expiry (the fault); -2: gone since the scan (expired: fine).
        forever = sorted(key for key in keys if client.ttl(key) == -1)
        assert not forever, f"keys without an expiry: {forever} (of {len(keys)})"
    finally:
        client.close()
