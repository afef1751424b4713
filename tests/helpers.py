"""Test helpers: drive the pure relay core with no sockets (after h11's ConnectionPair)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relay import core
from relay.live import MemoryLiveState
from relay.store import OpenStore, SqliteStore
from wire import protocol

# Where a CorePair keeps its conversations: a fresh store each time (tests/test_core.py runs
# every pair on SQLite and on PostgreSQL by replacing it).
new_store: Callable[[], OpenStore] = SqliteStore


# Where a CorePair keeps invites and sessions: memory here (tests/test_core.py runs every
# pair on Redis too by replacing it).
new_live: Callable[[], core.LiveState] = MemoryLiveState


def store_dump(store: OpenStore) -> str:
    """Everything a store wrote, as text: to show what never reaches the disk."""
    if isinstance(store, SqliteStore):
        return "\n".join(store._db.iterdump())
    rows: list[str] = []
    for table in ("conversations", "messages"):
        query = f"SELECT * FROM {table}"  # noqa: S608 - our two table names
        cursor = store._execute(query, ())  # type: ignore[attr-defined]
        rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def message(sender: core.Peer, kind: str, /, **body: Any) -> protocol.Message:
    """Encode and decode one message from ``sender``, like the socket adapter does."""
    return protocol.decode(json.dumps({"v": 1, "type": kind, **body}), sender.role)


class CorePair:
    """One core, one visitor, one agent; records what each side was sent.

    ``store``: the core's store (default: ``new_store()``, a real, empty database);
    ``live``: its live state (default: ``new_live()``, empty).
    """

    def __init__(
        self,
        *,
        invite_ttl_ms: int = 120_000,
        mask_selectors: tuple[str, ...] = (),
        store: core.ConversationStore | None = None,
        live: core.LiveState | None = None,
    ) -> None:
        counter = itertools.count(1)
        # A real, empty database: SQLite in memory or PostgreSQL.
        self.store = store if store is not None else new_store()
        # Invites and sessions: this process's memory unless a test shares another.
        self.live = live if live is not None else new_live()
        self.now = 1_000_000
        # The accounts and brand rules the core started with (to build a changed set from).
        self.agents = [
            core.AgentAccount("alex", "Alex", frozenset({"demo"})),
            core.AgentAccount("sam", "Sam", frozenset({"demo"})),
            core.AgentAccount("olga", "Olga", frozenset({"other"})),
        ]
        self.brands = [
            core.BrandRules("demo", mask_selectors, ("self", "https://cdn.example")),
            core.BrandRules("other"),
        ]
        self.core = core.RelayCore(
            self.agents,
            self.brands,
            store=self.store,
            live=self.live,
            new_id=lambda: f"id{next(counter)}",
            new_token=lambda: f"token{next(counter)}",
            settings=core.CoreSettings(invite_ttl_ms=invite_ttl_ms, visitor_grace_ms=60_000),
        )
        self.inbox: dict[core.Peer, list[dict[str, Any]]] = {}
        self.renders: list[core.Render] = []
        self.dropped: list[str] = []
        self.visitor, effects = self.core.visitor_connected(
            "demo", None, self.now, page_origin="https://shop.example"
        )
        self.apply(effects)
        self.token: str = self.inbox[self.visitor][0]["token"]  # from its hello
        self.agent, effects = self.core.agent_connected("alex")
        self.apply(effects)

    def apply(self, effects: list[core.Effect]) -> None:
        for effect in effects:
            if isinstance(effect, core.Send):
                # Everything the core sends must be encodable as a protocol message.
                frame = protocol.encode(effect.type, **effect.body)
                self.inbox.setdefault(effect.to, []).append(json.loads(frame))
            elif isinstance(effect, core.Render):
                self.renders.append(effect)
            else:
                self.dropped.append(effect.session)

    def send(self, sender: core.Peer, kind: str, /, **body: Any) -> None:
        """Encode, decode and hand one message to the core, like the socket adapter does."""
        self.apply(self.core.receive(sender, message(sender, kind, **body), self.now))

    def take(self, peer: core.Peer, kind: str | None = None) -> list[dict[str, Any]]:
        """Pop what ``peer`` received (only messages of ``kind`` when given)."""
        got = self.inbox.get(peer, [])
        taken = [m for m in got if kind is None or m["type"] == kind]
        self.inbox[peer] = [m for m in got if m not in taken]
        return taken

    def last(self, peer: core.Peer, kind: str) -> dict[str, Any]:
        found = self.take(peer, kind)
        assert found, f"{peer.role} received no {kind!r}"
        return found[-1]

    def chat_first(self, text: str = "Hello") -> None:
        """The visitor's first chat message, unless it wrote one: its conversation is stored
        then (until then it is pending, and no agent can see or invite it)."""
        if self.core.resumable("demo", self.token) is None:
            self.send(self.visitor, "chat.send", text=text)

    def start_session(self, mode: str = "view_only") -> str:
        """Invite the visitor (stored first: ``chat_first``) and accept: the session's id."""
        self.chat_first()
        self.send(self.agent, "invite.send", conversation=self.visitor.id, mode=mode)
        invite = self.last(self.visitor, "invite.offer")["invite"]
        self.send(self.visitor, "invite.accept", invite=invite)
        session: str = self.last(self.agent, "session.started")["session"]
        return session


class OtherNode:
    """A second relay node on the database of a ``CorePair``'s store (``store``: its own
    connection to it): the same accounts, a core of its own. Sam is signed in here, and the
    pair's visitor has a second tab open here (its ``token``)."""

    def __init__(self, pair: CorePair, store: core.ConversationStore, token: str) -> None:
        counter = itertools.count(1)
        self.now = pair.now
        self.store = store
        self.core = core.RelayCore(
            pair.agents,
            pair.brands,
            store=store,
            live=pair.live,  # the fleet's one live state (Redis, for real nodes)
            new_id=lambda: f"other{next(counter)}",
            new_token=lambda: f"other-token{next(counter)}",
        )
        self.agent, _ = self.core.agent_connected("sam")
        self.visitor, _ = self.core.visitor_connected("demo", token, self.now)

    def send(self, sender: core.Peer, kind: str, /, **body: Any) -> list[core.Effect]:
        return self.core.receive(sender, message(sender, kind, **body), self.now)


class Interrupted:
    """A node's store that lets another node act in the middle of this node's work: ``after``
    one more call (the read a handler starts with), ``meanwhile`` runs once, before this node
    gets the answer and goes on to change anything. Calls pass through to ``store``."""

    def __init__(self, store: core.ConversationStore) -> None:
        self._store = store
        self.meanwhile: Callable[[], object] | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = method(*args, **kwargs)
            meanwhile, self.meanwhile = self.meanwhile, None
            if meanwhile is not None:
                meanwhile()
            return answer

        return call


ROOT = Path(__file__).resolve().parents[1]


def run_module(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` from the repository's root, with its output captured as text."""
    return subprocess.run(  # noqa: S603 - our own modules
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_async(main: Callable[[], Any], timeout: float = 60) -> Any:
    """``asyncio.run(main())`` on a thread of its own: pytest-playwright may keep an event loop
    running on the test's thread (browser tests earlier in the same run)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(main()))
        except BaseException as error:  # re-raised on the test's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=timeout)
    assert not thread.is_alive(), f"the scenario did not finish in {timeout} s"
    if errors:
        raise errors[0]
    return result[0]


def receive_until(ws: Any, kind: str, limit: int = 30) -> dict[str, Any]:
    """The next message of ``kind`` on a TestClient WebSocket, skipping up to ``limit`` others."""
    for _ in range(limit):
        message: dict[str, Any] = json.loads(ws.receive_text())
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} among {limit} messages")
