"""The innocent: one agent and one visitor in a shared session on the attacked relay, measuring
what an attack does to them.

Owns: the pair (signed in and connected from addresses no attacker uses), the round trip (the
visitor's pointer reaches the agent, whose workspace answers with its own pointer; timed on this
process's clock), chat both ways (every message must arrive: a lost one is counted), ``/healthz``
latency, and whether either socket was closed. Must not: send anything an attack sends, or
retry a lost message (a loss is the finding).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from attack.rawws import RawSocket
from attack.world import (
    BUTTON,
    http_request,
    message,
    open_agent,
    open_visitor,
    sign_in,
    start_session,
)
from attack.world import snapshot as snapshot_message

AGENT_SOURCE = "127.0.0.2"
VISITOR_SOURCE = "127.0.0.3"
POINTER_EVERY_S = 0.05
CHAT_EVERY_S = 1.5  # under the relay's per-conversation chat rate (60 a minute)
HEALTH_EVERY_S = 0.2
LOST_AFTER_S = 5.0  # a pointer echo later than this counts as lost (and as 5 s in the p99)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Figures:
    """What the innocent pair saw during one attack."""

    round_trips_ms: list[float] = field(default_factory=list)
    pointers_lost: int = 0
    health_ms: list[float] = field(default_factory=list)
    health_failed: int = 0
    chat_sent: int = 0
    chat_lost: int = 0
    agent_closed: int | None = None  # the close code, if the agent's socket was closed
    visitor_closed: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "round_trip_p50_ms": round(percentile(self.round_trips_ms, 0.5), 1),
            "round_trip_p99_ms": round(percentile(self.round_trips_ms, 0.99), 1),
            "round_trip_max_ms": round(max(self.round_trips_ms, default=0.0), 1),
            "round_trips": len(self.round_trips_ms),
            "pointers_lost": self.pointers_lost,
            "healthz_p99_ms": round(percentile(self.health_ms, 0.99), 1),
            "healthz_failed": self.health_failed,
            "chat_sent": self.chat_sent,
            "chat_lost": self.chat_lost,
            "agent_sockets_dropped": int(self.agent_closed is not None),
            "visitor_sockets_dropped": int(self.visitor_closed is not None),
            "close_codes": [c for c in (self.agent_closed, self.visitor_closed) if c is not None],
        }


class InnocentPair:
    """Start with ``await InnocentPair.start(url)``; ``async with pair.measuring() as figures``
    around an attack."""

    def __init__(self, url: str, agent: RawSocket, visitor: RawSocket, session: str) -> None:
        self.url = url
        self.agent = agent
        self.visitor = visitor
        self.session = session
        self._echoes: dict[float, asyncio.Future[float]] = {}
        self._chats_seen: set[str] = set()
        agent.keep = visitor.keep = False
        agent.on_message = self._agent_heard
        visitor.on_message = self._visitor_heard

    @classmethod
    async def start(cls, url: str) -> InnocentPair:
        status, cookie, _ = await asyncio.to_thread(sign_in, url, "victim", source=AGENT_SOURCE)
        if status != 200:
            raise RuntimeError(f"the innocent agent could not sign in: HTTP {status}")
        agent = await open_agent(url, cookie, source=AGENT_SOURCE)
        visitor = await open_visitor(url, source=VISITOR_SOURCE)
        session = await start_session(agent, visitor, mode="shared")
        await visitor.send(snapshot_message(session))
        return cls(url, agent, visitor, session)

    async def close(self) -> None:
        await self.visitor.close()
        await self.agent.close()

    def _agent_heard(self, heard: Any) -> None:
        if not isinstance(heard, dict):
            return
        if heard.get("type") == "pointer" and heard.get("session") == self.session:
            echo = message("pointer", session=self.session, id=BUTTON, x=heard["x"], y=heard["y"])
            asyncio.get_running_loop().create_task(self.agent.send(echo))
        elif heard.get("type") == "chat.message":
            self._chats_seen.add(f"agent:{heard.get('text')}")

    def _visitor_heard(self, heard: Any) -> None:
        if not isinstance(heard, dict):
            return
        if heard.get("type") == "pointer":
            future = self._echoes.get(heard.get("y", -1.0))
            if future is not None and not future.done():
                future.set_result(time.perf_counter())
        elif heard.get("type") == "chat.message":
            self._chats_seen.add(f"visitor:{heard.get('text')}")

    async def _pointers(self, figures: Figures, stop: asyncio.Event) -> None:
        count = 0
        pending: list[asyncio.Task[None]] = []
        while not stop.is_set():
            count += 1
            y = round(count / 1_000_000, 6)
            pending.append(asyncio.create_task(self._one_round_trip(y, figures)))
            await asyncio.sleep(POINTER_EVERY_S)
        await asyncio.gather(*pending)

    async def _one_round_trip(self, y: float, figures: Figures) -> None:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._echoes[y] = future
        sent = time.perf_counter()
        await self.visitor.send(message("pointer", session=self.session, id=BUTTON, x=0.5, y=y))
        try:
            arrived = await asyncio.wait_for(future, LOST_AFTER_S)
            figures.round_trips_ms.append((arrived - sent) * 1000)
        except TimeoutError:
            figures.pointers_lost += 1
            figures.round_trips_ms.append(LOST_AFTER_S * 1000)
        finally:
            self._echoes.pop(y, None)

    async def _chats(self, figures: Figures, stop: asyncio.Event, expected: list[str]) -> None:
        count = 0
        while not stop.is_set():
            count += 1
            text = f"probe {count} {time.monotonic():.3f}"
            await self.visitor.send(message("chat.send", text=f"v {text}"))
            expected.append(f"agent:v {text}")
            figures.chat_sent += 1
            await asyncio.sleep(CHAT_EVERY_S)

    async def _health(self, figures: Figures, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status, _, _ = await asyncio.to_thread(
                    http_request, self.url, "GET", "/healthz", source=AGENT_SOURCE, timeout=10
                )
                if status != 200:
                    figures.health_failed += 1
            except OSError:
                figures.health_failed += 1
            figures.health_ms.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(HEALTH_EVERY_S)

    async def measure(self, attack: asyncio.Future[Any]) -> Figures:
        """Probe until ``attack`` is done, then give late messages a moment and count."""
        figures = Figures()
        stop = asyncio.Event()
        expected: list[str] = []
        probes = [
            asyncio.create_task(self._pointers(figures, stop)),
            asyncio.create_task(self._chats(figures, stop, expected)),
            asyncio.create_task(self._health(figures, stop)),
        ]
        try:
            await asyncio.wait([attack])
        finally:
            stop.set()
            await asyncio.gather(*probes)
        deadline = time.monotonic() + LOST_AFTER_S
        while time.monotonic() < deadline and not all(e in self._chats_seen for e in expected):
            await asyncio.sleep(0.05)
        figures.chat_lost = sum(1 for e in expected if e not in self._chats_seen)
        figures.agent_closed = self.agent.close_code
        figures.visitor_closed = self.visitor.close_code
        return figures
