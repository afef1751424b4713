"""Test helpers: drive the pure relay core with no sockets (after h11's ConnectionPair)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from relay import core
from relay.store import OpenStore, SqliteStore
from wire import protocol

# Where a CorePair keeps its conversations: a fresh store each time (tests/test_core.py runs
# every pair on SQLite and on PostgreSQL by replacing it).
new_store: Callable[[], OpenStore] = SqliteStore


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


class CorePair:
    """One core, one visitor, one agent; records what each side was sent."""

    def __init__(
        self, *, invite_ttl_ms: int = 120_000, mask_selectors: tuple[str, ...] = ()
    ) -> None:
        counter = itertools.count(1)
        self.store = new_store()  # a real, empty database: SQLite in memory or PostgreSQL
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
        role = sender.role
        message = protocol.decode(json.dumps({"v": 1, "type": kind, **body}), role)
        self.apply(self.core.receive(sender, message, self.now))

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

    def start_session(self, mode: str = "view_only") -> str:
        self.send(self.agent, "invite.send", conversation=self.visitor.id, mode=mode)
        invite = self.last(self.visitor, "invite.offer")["invite"]
        self.send(self.visitor, "invite.accept", invite=invite)
        session: str = self.last(self.agent, "session.started")["session"]
        return session
