"""The fleet's figures (issue 14): two relay nodes on one Redis and one PostgreSQL, on loopback.

Owns: starting a throw-away Redis and PostgreSQL (``cobrowse_qa.services``), one node without
``[cluster]`` (everything in-process) and a fleet of two nodes (``[cluster] redis_url``) on the
same database, behind the QA harness's round-robin balancer, and measuring with
protocol-speaking visitors and agents (``bench.env.ProtocolPeer``):

- pointer hop, visitor socket → agent socket, 20 timed messages a second per session: on the
  single node, in the fleet with both on one node, and with the visitor on node A and the agent
  on node B (through Redis);
- relay messages delivered per CPU-second of the relay processes, the same workload (visitors
  streaming 250 pointer messages a second) on the single node and on the fleet with every
  visitor on A and every agent on B; Redis's own CPU is reported beside it;
- failover: SIGKILL the visitor's node; the visitor reconnects through the balancer with the
  tag's backoff (``tag_js/src/transport.js``: the first retry 0.5 s after the close), gets its
  session back and sends a fresh snapshot, as the tag does; the clock stops when the agent's
  socket receives the ``replica.snapshot`` (rendered by the node the visitor landed on, whose
  Chromium is already up, as on a fleet serving other sessions).

Must not: reach anything but 127.0.0.1, or leave a process behind (every node, Redis and
PostgreSQL are stopped in ``finally``). ``scripts/bench`` runs ``measure()`` as its fleet step;
``python -m bench.fleet [--smoke | --quick]`` runs it alone and prints the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import websockets
from websockets.exceptions import WebSocketException

from bench import report
from bench.env import ROOT, BenchRelay, ProtocolPeer, agent_cookie, now_ms, settings_toml
from cobrowse_qa.balancer import BalancerThread
from cobrowse_qa.driver import RelayProcess
from cobrowse_qa.services import PostgresServer, RedisServer

PAGE_ORIGIN = "https://shop.example"  # the brand page the protocol visitors say they are on
DOC = [1, "#document", ["html", ["head", ["title", "Fleet"]], ["body", ["p", "Your basket"]]]]
POINTER_NODE = 4  # body
RATE_TICK_S = 0.02  # load: 5 pointer messages every 20 ms per visitor (250 a second)
HOP_TICK_S = 0.05  # hop: one timed pointer message every 50 ms per visitor
WAIT_S = 60.0  # any one wait for the relay (a render, a reconnect) fails the run after this
T = TypeVar("T")


@dataclass(frozen=True)
class FleetPlan:
    pairs: int  # concurrent sessions for the hop and load figures
    hop_samples: int  # timed pointer messages per session, per layout
    load_s: float  # seconds of the load workload, per setup
    failovers: int  # nodes killed, one at a time


PLANS = {
    "full": FleetPlan(pairs=10, hop_samples=100, load_s=10, failovers=20),
    "quick": FleetPlan(pairs=10, hop_samples=40, load_s=5, failovers=6),
    "smoke": FleetPlan(pairs=2, hop_samples=10, load_s=1, failovers=1),
}


def tag_backoff(attempt: int) -> float:
    """The tag's reconnect delay after ``attempt`` failed tries (``scheduleReconnect`` in
    ``tag_js/src/transport.js``): exponential with jitter, at least 0.5 s, at most 15 s."""
    base = min(15.0, 0.5 * 2.0**attempt)
    return max(0.5, base / 2 + random.random() * base / 2)  # noqa: S311 - jitter


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FleetNode(BenchRelay):
    """A relay node on a settings file shared with the other nodes (a ``BenchRelay`` for what
    ``bench.env`` does with one; its settings are written once by ``Fleet``, not per node)."""

    def __init__(self, workdir: Path, config: Path, log_level: str = "warning") -> None:
        RelayProcess.__init__(self, workdir, config, log_level=log_level)


class Fleet:
    """Redis, PostgreSQL and the settings files; ``node(cluster)`` starts one more node."""

    def __init__(self, workdir: Path, agents: int, log_level: str = "warning") -> None:
        self.workdir = workdir
        self.agents = agents
        self.log_level = log_level
        self.redis = RedisServer()
        self.postgres = PostgresServer()
        self.nodes: list[FleetNode] = []
        self.configs: dict[bool, Path] = {}

    async def start(self) -> None:
        self.redis.start()
        await asyncio.to_thread(self.postgres.init)
        # One secret key for both files: an agent's cookie works on every node.
        base = settings_toml(PAGE_ORIGIN, self.agents).replace("demo = true\n", "")
        for cluster in (False, True):
            database = self.postgres.fresh_url()
            text = base.replace("[server]\n", f'[server]\ndatabase = "{database}"\n', 1)
            if cluster:
                text += f'\n[cluster]\nredis_url = "{self.redis.url}"\n'
            name = "cluster" if cluster else "single"
            self.configs[cluster] = self.workdir / f"fleet-{name}.toml"
            self.configs[cluster].write_text(text, encoding="utf-8")

    async def node(self, cluster: bool) -> FleetNode:
        node = FleetNode(self.workdir, self.configs[cluster], self.log_level)
        self.nodes.append(node)
        await asyncio.to_thread(node.start, 60)
        return node

    def stop(self) -> list[str]:
        """Stop everything; the tracebacks the nodes logged, as report lines."""
        tracebacks = []
        for node in self.nodes:
            node.stop(allow_tracebacks=True)
            log = node.log_path.read_text(errors="replace") if node.log_path.exists() else ""
            lines = [line for line in log.splitlines() if "Traceback" in line]
            tracebacks += [f"node {node.port}: {line}" for line in lines]
        self.redis.stop()
        self.postgres.destroy()
        return tracebacks

    def versions(self) -> dict[str, str]:
        out = subprocess.run(  # noqa: S603 - Debian's redis-server, a fixed argument
            [self.redis.binary, "--version"], capture_output=True, text=True, timeout=10
        ).stdout
        found = re.search(r"v=(\S+)", out)
        return {"redis": found.group(1) if found else "?", "postgresql": self.postgres.version}


# ---------------------------------------------------------------- protocol clients


async def _open(url: str, path: str, origin: str, cookie: str | None = None) -> ProtocolPeer:
    ws = await websockets.connect(
        f"ws{url[4:]}{path}",
        origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie} if cookie else None,
        max_size=None,
        proxy=None,
        open_timeout=10,
    )
    return ProtocolPeer(ws)


async def open_agent(url: str, cookie: str) -> ProtocolPeer:
    agent = await _open(url, "/ws/agent", url, cookie)
    await agent.wait(lambda m: m["type"] == "hello", timeout=WAIT_S)
    return agent


async def open_visitor(url: str, token: str | None = None) -> tuple[ProtocolPeer, dict[str, Any]]:
    """A visitor socket (resuming ``token``) and its ``hello``."""
    query = f"?token={token}" if token else ""
    visitor = await _open(url, f"/ws/visitor{query}", PAGE_ORIGIN)
    hello = await visitor.wait(lambda m: m["type"] == "hello", timeout=WAIT_S)
    return visitor, hello


async def snapshot(visitor: ProtocolPeer, session: str) -> None:
    await visitor.send(
        "dom.snapshot", session=session, seq=0, url=f"{PAGE_ORIGIN}/cart", title="Fleet",
        viewport={"w": 1280, "h": 800, "dpr": 1}, doc=DOC,
    )  # fmt: skip


async def session_between(agent: ProtocolPeer, visitor: ProtocolPeer, conversation: str) -> str:
    """Chat (which stores the conversation), invite, accept: the session's id once both
    sides have ``session.started``."""
    await visitor.send("chat.send", text="hello")
    await agent.wait(
        lambda m: m["type"] == "chat.message" and m["conversation"] == conversation, timeout=WAIT_S
    )
    await agent.send("invite.send", conversation=conversation, mode="view_only")
    offer = await visitor.wait(lambda m: m["type"] == "invite.offer", timeout=WAIT_S)
    await visitor.send("invite.accept", invite=offer["invite"])
    started = await visitor.wait(lambda m: m["type"] == "session.started", timeout=WAIT_S)
    session: str = started["session"]
    await agent.wait(
        lambda m: m["type"] == "session.started" and m["session"] == session, timeout=WAIT_S
    )
    return session


async def replica(agent: ProtocolPeer, session: str) -> dict[str, Any]:
    message: dict[str, Any] = await agent.wait(
        lambda m: m["type"] == "replica.snapshot" and m["session"] == session, timeout=WAIT_S
    )
    return message


@dataclass
class Pair:
    agent: ProtocolPeer
    visitor: ProtocolPeer
    session: str
    token: str


class Clients:
    """Agents signed in at ``sign_in`` (a cookie each, good on every node of its settings) and
    the visitor/agent pairs made since the last ``close()``."""

    def __init__(self, sign_in: FleetNode) -> None:
        self.sign_in = sign_in
        self.cookies: dict[int, str] = {}
        self.pairs: list[Pair] = []

    async def pair(self, index: int, visitor_url: str, agent_url: str) -> Pair:
        """Agent ``bench{index}`` at ``agent_url``, a new visitor at ``visitor_url``, a session."""
        if index not in self.cookies:
            self.cookies[index] = await asyncio.to_thread(agent_cookie, self.sign_in, index)
        agent = await open_agent(agent_url, self.cookies[index])
        visitor, hello = await open_visitor(visitor_url)
        session = await session_between(agent, visitor, hello["conversation"])
        found = Pair(agent, visitor, session, hello["token"])
        self.pairs.append(found)
        return found

    async def close(self) -> None:
        """End every pair's session (an agent may have one) and close its sockets."""
        for pair in self.pairs:
            pair.agent.on_message = None
            with contextlib.suppress(Exception):
                await pair.agent.send("session.end", session=pair.session)
                await pair.agent.wait(
                    lambda m, s=pair.session: m["type"] == "session.ended" and m["session"] == s,
                    timeout=5,
                )
            for peer in (pair.visitor, pair.agent):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(peer.close(), 5)
        self.pairs.clear()


# ---------------------------------------------------------------- figures


async def hop(layout: list[tuple[str, str]], samples: int, clients: Clients) -> list[float]:
    """Sessions laid out as (visitor URL, agent URL); ``samples`` timed pointer messages per
    session, one every 50 ms; the hop of each in ms (the agent's socket minus the send)."""
    pairs = [await clients.pair(i, v, a) for i, (v, a) in enumerate(layout)]
    sent: dict[tuple[int, int], float] = {}
    hops: list[float] = []
    for i, pair in enumerate(pairs):
        pair.agent.on_message = lambda at, m, i=i: _arrived(at, m, i, sent, hops)
    try:

        async def drive(i: int, pair: Pair) -> None:
            await asyncio.sleep(i * HOP_TICK_S / len(pairs))
            for k in range(samples):
                sent[(i, k)] = now_ms()
                await pair.visitor.send(
                    "pointer", session=pair.session, id=POINTER_NODE, x=k / 1e6, y=0.5
                )
                await asyncio.sleep(HOP_TICK_S)

        await asyncio.gather(*(drive(i, pair) for i, pair in enumerate(pairs)))
        await asyncio.sleep(0.3)
        return hops
    finally:
        await clients.close()


def _arrived(
    at: float,
    message: dict[str, Any],
    i: int,
    sent: dict[tuple[int, int], float],
    into: list[float],
) -> None:
    if message.get("type") == "pointer":
        started = sent.pop((i, round(message["x"] * 1e6)), None)
        if started is not None:
            into.append(at - started)


async def load(
    layout: list[tuple[str, str]],
    seconds: float,
    clients: Clients,
    pids: list[int],
    redis: int | None = None,
) -> dict[str, Any]:
    """Every visitor streams 250 pointer messages a second for ``seconds``; messages the agents
    received per CPU-second of the relay processes ``pids`` (Redis's own CPU apart)."""
    pairs = [await clients.pair(i, v, a) for i, (v, a) in enumerate(layout)]
    sent, received = [0], [0]

    def count(at: float, message: dict[str, Any]) -> None:
        if message.get("type") == "pointer":
            received[0] += 1

    for pair in pairs:
        pair.agent.on_message = count
    try:
        redis_cpu = (lambda: cpu_seconds(redis)) if redis else (lambda: 0.0)
        relay0, redis0, wall0 = sum(map(cpu_seconds, pids)), redis_cpu(), time.monotonic()

        async def stream(pair: Pair) -> None:
            frame = json.dumps({"v": 1, "type": "pointer", "session": pair.session,
                                "id": POINTER_NODE, "x": 0.5, "y": 0.5})  # fmt: skip
            start, tick = time.monotonic(), 0
            while time.monotonic() - start < seconds:
                for _ in range(5):
                    await pair.visitor.ws.send(frame)
                    sent[0] += 1
                tick += 1
                await asyncio.sleep(max(0.0, start + tick * RATE_TICK_S - time.monotonic()))

        await asyncio.gather(*(stream(pair) for pair in pairs))
        drained = time.monotonic() + 5  # what is still in flight, up to 5 s
        while received[0] < sent[0] and time.monotonic() < drained:
            await asyncio.sleep(0.05)
        relay_cpu = sum(map(cpu_seconds, pids)) - relay0
        return {
            "sent": sent[0],
            "delivered": received[0],
            "relay_cpu_s": relay_cpu,
            "redis_cpu_s": redis_cpu() - redis0,
            "per_cpu_second": received[0] / max(1e-9, relay_cpu),
            "per_wall_second": received[0] / (time.monotonic() - wall0),
        }
    finally:
        await clients.close()


async def failovers(fleet: Fleet, rounds: int, errors: list[str]) -> list[dict[str, float]]:
    """``rounds`` times: SIGKILL the visitor's node and time the way back to the agent's
    replica (see the module's docstring); a new node replaces the dead one between rounds."""
    agent_node, visitor_node = fleet.nodes[-2], fleet.nodes[-1]
    balancer = BalancerThread([agent_node.port, visitor_node.port])
    clients = Clients(agent_node)
    results: list[dict[str, float]] = []
    try:
        # Another session on the agent's node keeps its renderer's Chromium up, as on a fleet
        # that serves other sessions: the figure is the failover, not a browser's cold start.
        warm = await clients.pair(1, agent_node.url, agent_node.url)
        await snapshot(warm.visitor, warm.session)
        await replica(warm.agent, warm.session)
        pair = await clients.pair(0, visitor_node.url, agent_node.url)
        await snapshot(pair.visitor, pair.session)
        await replica(pair.agent, pair.session)
        for i in range(rounds):
            try:
                results.append(await _failover(pair, visitor_node, balancer.url))
            except Exception as error:  # a failed round is reported, and ends the figure
                errors.append(
                    f"fleet failover round {i} (node {visitor_node.port} killed, the agent on "
                    f"{agent_node.port}): {type(error).__name__}: {error}"
                )
                break
            if i + 1 == rounds:
                break
            # A new node takes the dead one's place; the visitor moves there (not timed).
            fresh = await fleet.node(True)
            balancer.remove(visitor_node.port)
            balancer.add(fresh.port)
            visitor_node = fresh
            await pair.visitor.close()
            pair.visitor, _ = await open_visitor(fresh.url, pair.token)
            await step("session.started on the new node", pair.visitor.wait(
                lambda m: m["type"] == "session.started", timeout=WAIT_S))  # fmt: skip
            pair.agent.messages.clear()
            await snapshot(pair.visitor, pair.session)
            await step("the replica from the new node", replica(pair.agent, pair.session))
    finally:
        balancer.stop()
        await clients.close()
    return results


async def _failover(pair: Pair, node: FleetNode, balancer_url: str) -> dict[str, float]:
    pair.agent.messages.clear()
    closed: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    pair.visitor.task.add_done_callback(lambda _: closed.done() or closed.set_result(now_ms()))
    killed_at = now_ms()
    # SIGKILL, then its orphaned Chromium (the clock includes reading /proc for them first).
    await asyncio.to_thread(node.kill)
    await step("the visitor's socket to close", asyncio.wait_for(closed, WAIT_S))
    # The tag: a dropped socket schedules a reconnect with its backoff, to wherever the
    # balancer sends it, with its token; hello, session.started, then a fresh snapshot.
    attempt = 0
    deadline = time.monotonic() + WAIT_S
    while True:
        await asyncio.sleep(tag_backoff(attempt))
        attempt += 1
        try:
            visitor, hello = await step("a hello", open_visitor(balancer_url, pair.token))
            break
        except (OSError, TimeoutError, WebSocketException):
            if time.monotonic() > deadline:
                raise
    pair.visitor = visitor
    back_at = now_ms()
    assert hello.get("session") == pair.session, f"the session is gone: {hello}"
    await step("session.started after the reconnect", visitor.wait(
        lambda m: m["type"] == "session.started", timeout=WAIT_S))  # fmt: skip
    await snapshot(visitor, pair.session)
    await step("the replica after the failover", replica(pair.agent, pair.session))
    shown_at = now_ms()
    return {
        "total_ms": shown_at - killed_at,
        "closed_ms": closed.result() - killed_at,
        "reconnected_ms": back_at - killed_at,
        "attempts": attempt,
    }


async def step(what: str, awaitable: Awaitable[T]) -> T:
    """``await awaitable``; a timeout says what it waited for."""
    try:
        return await awaitable
    except TimeoutError:
        raise TimeoutError(f"no {what} in {WAIT_S:g} s") from None


# ---------------------------------------------------------------- the step


async def measure(
    mode: str, workdir: Path, errors: list[str], log_level: str = "warning"
) -> dict[str, Any]:
    """Every fleet figure (``PLANS[mode]``); raw values for ``bench.report``. Errors of a run
    go to ``errors``; a machine without Redis or PostgreSQL gets ``skipped`` and a reason."""
    plan = PLANS[mode]
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        fleet = Fleet(workdir, agents=plan.pairs + 2, log_level=log_level)
    except LookupError as missing:
        return {"skipped": str(missing)}
    out: dict[str, Any] = {"plan": {"mode": mode, **plan.__dict__}, "machine": machine()}
    try:
        await fleet.start()
        out["versions"] = fleet.versions()
        single = await fleet.node(False)
        clients = Clients(single)
        out["hop_single"] = await hop([(single.url, single.url)] * plan.pairs,
                                      plan.hop_samples, clients)  # fmt: skip
        out["load_single"] = await load([(single.url, single.url)] * plan.pairs, plan.load_s,
                                        clients, [single.pid])  # fmt: skip
        single.stop(allow_tracebacks=True)
        a, b = await fleet.node(True), await fleet.node(True)
        clients = Clients(a)
        out["hop_same"] = await hop([(a.url, a.url)] * plan.pairs, plan.hop_samples, clients)
        out["hop_cross"] = await hop([(a.url, b.url)] * plan.pairs, plan.hop_samples, clients)
        out["load_fleet"] = await load([(a.url, b.url)] * plan.pairs, plan.load_s, clients,
                                       [a.pid, b.pid], fleet.redis.pid)  # fmt: skip
        out["failover"] = await failovers(fleet, plan.failovers, errors)
    finally:
        out["tracebacks"] = fleet.stop()
    return out


def machine() -> dict[str, Any]:
    """When and on what the figures were taken (``bench.report.machine``, no browser)."""
    return {k: v for k, v in report.machine("").items() if k != "chromium"}


def main(argv: list[str] | None = None) -> int:
    summary = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=summary)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer samples and failovers")
    group.add_argument("--smoke", action="store_true", help="a few of each, seconds")
    parser.add_argument("--log-level", default="warning", help="the nodes' (logs in .cache)")
    parser.add_argument(
        "--write", type=Path, metavar="REPORT",
        help="also put the fleet section into REPORT (a BENCHMARKS.md), the rest unchanged",
    )  # fmt: skip
    args = parser.parse_args(argv)
    errors: list[str] = []
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    workdir = ROOT / ".cache" / "bench" / "fleet"
    results = asyncio.run(measure(mode, workdir, errors, log_level=args.log_level))
    raw = {**results, "errors": errors}
    (ROOT / ".cache" / "bench" / "fleet-last-run.json").write_text(json.dumps(raw, indent=1))
    section = report.fleet_section(results, percentile)
    print("\n".join([*section, *(f"- A run failed: {e}" for e in errors)]))
    if args.write:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(report.splice_fleet(text, section), encoding="utf-8")
    return 1 if errors else 0


def percentile(values: list[float], q: float) -> float | None:
    from bench.__main__ import percentile as of  # the report's own (not at import: a cycle)

    return of(values, q)


if __name__ == "__main__":
    sys.exit(main())
