"""Conversations and their chat messages, and agents' sign-in sessions, in SQLite (the standard
library's ``sqlite3``), and ``open_store``: the one place that picks SQLite or PostgreSQL
(``relay.pgstore``).

Owns: the SQLite schema and every SQLite statement. Implements ``relay.core.ConversationStore``
(the core calls it) and ``SignInStore`` (``relay.auth.SignIn`` calls it); the adapter only opens
(``open_store``) and closes it.
Must not: keep CoBrowse session content (DOM, pointers, typed values) or invitation texts:
only what was written in the chat, and the conversation's own facts, ever reach the disk; nor a
sign-in's cookie value or a password hash (only their digests: ``SignInRecord``).

Every change is one atomic operation on the stored row (``ConversationStore``): a message and
its conversation's ``last_at``, ``unread`` and ``title`` change in one transaction, so two
stores on one file (or a store and a stale copy of a conversation) cannot undo each other.

Visitor tokens are stored as SHA-256 digests, so a copy of the database cannot be used to
take over a visitor's conversation. ``":memory:"`` gives a private in-memory database (the
embedded demo and the tests); any other value is a file path whose directory is created.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from relay.core import ChatEntry, Conversation, ConversationStore
from relay.settings import MEMORY_DATABASE, is_postgres

MEMORY = MEMORY_DATABASE
T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be reached or failed one call (PostgreSQL down, restarted, refused the
    sign-in). Not the peer's fault. The message is one line and never holds a password."""


@dataclass(frozen=True)
class SignInRecord:
    """An agent's sign-in session as the store keeps it: digests only, so a copy of the
    database opens nothing (the cookie carries the session id itself)."""

    digest: str  # SHA-256 of the session id (hex)
    agent: str  # the agent's id
    created_at: int  # ms since 1970
    expires_at: int  # ms since 1970: the session holds until then
    # A digest of the agent's password hash at sign-in: a new password in the settings file
    # no longer matches, and every session signed in with the old one is over.
    password_print: str


class SignInStore(Protocol):
    """Where agents' sign-in sessions are kept (``SqliteStore``, ``relay.pgstore.PostgresStore``).
    Several nodes may share one database: a session made on one node holds on all."""

    def add_sign_in(self, record: SignInRecord) -> None: ...

    def sign_ins(self, digests: Collection[str], now: int) -> list[SignInRecord]:
        """The sessions among ``digests`` that have not expired at ``now`` (ms): one query,
        however many digests."""
        ...

    def drop_sign_in(self, digest: str) -> None:
        """Sign-out: the session is gone (a copy of its cookie opens nothing)."""
        ...

    def drop_expired_sign_ins(self, now: int) -> int:
        """Forget the sessions expired at ``now`` (ms); returns how many."""
        ...


class OpenStore(ConversationStore, SignInStore, Protocol):
    """A store the relay opened: call ``close()`` at shutdown."""

    def close(self) -> None: ...


def open_store(database: str) -> OpenStore:
    """The store that ``[server] database`` names: a ``postgresql://`` (or ``postgres://``) URL
    opens PostgreSQL, anything else a SQLite file (or ``":memory:"``).

    Raises ``StoreError`` when PostgreSQL cannot be reached: the relay must not start then.
    """
    if is_postgres(database):
        from relay.pgstore import PostgresStore  # psycopg is loaded only when it is used

        return PostgresStore(database)
    return SqliteStore(database)


# (operation, seconds, ok): how one store call went, for the metrics (``RelayMetrics.stored``).
Observe = Callable[[str, float, bool], None]
OPERATIONS = (
    "create",
    "get",
    "by_token",
    "listing",
    "add_message",
    "mark_read",
    "close_conversation",
    "messages",
    "add_sign_in",
    "sign_ins",
    "drop_sign_in",
    "drop_expired_sign_ins",
)


class MeteredStore:
    """A store whose every call is timed and counted: each one runs on the event loop, so its
    latency is the relay's (``cobrowse_store_seconds``). Adds nothing else."""

    def __init__(self, store: OpenStore, observe: Observe) -> None:
        self._store = store
        self._observe = observe

    def _timed(self, operation: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = call()
        except StoreError:
            self._observe(operation, time.perf_counter() - started, False)
            raise
        self._observe(operation, time.perf_counter() - started, True)
        return result

    def create(self, conversation: Conversation, token_hash: str) -> None:
        self._timed("create", lambda: self._store.create(conversation, token_hash))

    def get(self, conversation_id: str) -> Conversation | None:
        return self._timed("get", lambda: self._store.get(conversation_id))

    def by_token(self, token_hash: str) -> Conversation | None:
        return self._timed("by_token", lambda: self._store.by_token(token_hash))

    def listing(self, brands: frozenset[str], limit: int) -> list[Conversation]:
        return self._timed("listing", lambda: self._store.listing(brands, limit))

    def add_message(
        self, entry: ChatEntry, *, unread: bool, title: str = ""
    ) -> Conversation | None:
        return self._timed(
            "add_message", lambda: self._store.add_message(entry, unread=unread, title=title)
        )

    def mark_read(self, conversation_id: str) -> None:
        self._timed("mark_read", lambda: self._store.mark_read(conversation_id))

    def close_conversation(self, entry: ChatEntry) -> Conversation | None:
        return self._timed("close_conversation", lambda: self._store.close_conversation(entry))

    def messages(self, conversation_id: str, limit: int) -> list[ChatEntry]:
        return self._timed("messages", lambda: self._store.messages(conversation_id, limit))

    def add_sign_in(self, record: SignInRecord) -> None:
        self._timed("add_sign_in", lambda: self._store.add_sign_in(record))

    def sign_ins(self, digests: Collection[str], now: int) -> list[SignInRecord]:
        return self._timed("sign_ins", lambda: self._store.sign_ins(digests, now))

    def drop_sign_in(self, digest: str) -> None:
        self._timed("drop_sign_in", lambda: self._store.drop_sign_in(digest))

    def drop_expired_sign_ins(self, now: int) -> int:
        return self._timed("drop_expired_sign_ins", lambda: self._store.drop_expired_sign_ins(now))

    def close(self) -> None:
        self._store.close()


_SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    brand       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    started_at  INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    unread      INTEGER NOT NULL DEFAULT 0,
    closed_at   INTEGER,
    title       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS conversations_by_brand ON conversations (brand, last_at DESC);
CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation  TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender        TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
    name          TEXT NOT NULL,
    text          TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, seq);
CREATE TABLE IF NOT EXISTS agent_sign_ins (
    digest          TEXT PRIMARY KEY,
    agent           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    password_print  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_sign_ins_by_expiry ON agent_sign_ins (expires_at);
"""

_SIGN_IN_COLUMNS = "digest, agent, created_at, expires_at, password_print"

_COLUMNS = "id, brand, started_at, last_at, unread, closed_at, title"


class SqliteStore:
    """One SQLite connection. Calls are short and synchronous; call ``close()`` at shutdown."""

    def __init__(self, path: str | Path = MEMORY) -> None:
        target = str(path)
        if target != MEMORY:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        # The adapter calls from the event loop's thread only; autocommit keeps each write
        # durable on its own (isolation_level=None: no implicit transactions held open).
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if target != MEMORY:
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(_SCHEMA)
        self.path = target

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ conversations

    def create(self, conversation: Conversation, token_hash: str) -> None:
        self._db.execute(
            "INSERT INTO conversations (id, brand, token_hash, started_at, last_at, unread,"
            " closed_at, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id,
                conversation.brand,
                token_hash,
                conversation.started_at,
                conversation.last_at,
                conversation.unread,
                conversation.closed_at,
                conversation.title,
            ),
        )

    def get(self, conversation_id: str) -> Conversation | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE id = ?",  # noqa: S608 - constant
            (conversation_id,),
        ).fetchone()
        return _conversation(row) if row else None

    def by_token(self, token_hash: str) -> Conversation | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE token_hash = ?",  # noqa: S608
            (token_hash,),
        ).fetchone()
        return _conversation(row) if row else None

    def mark_read(self, conversation_id: str) -> None:
        self._db.execute("UPDATE conversations SET unread = 0 WHERE id = ?", (conversation_id,))

    def close_conversation(self, entry: ChatEntry) -> Conversation | None:
        """End the conversation with ``entry`` as its last message, if still open (see
        ``ConversationStore.close_conversation``)."""
        return self._said(
            entry,
            "UPDATE conversations SET closed_at = ?, last_at = max(last_at, ?)"
            " WHERE id = ? AND closed_at IS NULL",
            (entry.at, entry.at, entry.conversation),
        )

    def listing(self, brands: frozenset[str], limit: int) -> list[Conversation]:
        if not brands:
            return []
        marks = ", ".join("?" for _ in brands)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE brand IN ({marks})"  # noqa: S608
            " ORDER BY last_at DESC, rowid DESC LIMIT ?",
            (*sorted(brands), limit),
        ).fetchall()
        return [_conversation(row) for row in rows]

    # ------------------------------------------------------------ messages

    def add_message(
        self, entry: ChatEntry, *, unread: bool, title: str = ""
    ) -> Conversation | None:
        """Keep ``entry`` if its conversation is open (see ``ConversationStore.add_message``)."""
        return self._said(
            entry,
            "UPDATE conversations SET last_at = max(last_at, ?), unread = unread + ?,"
            " title = coalesce(nullif(title, ''), ?)"
            " WHERE id = ? AND closed_at IS NULL",
            (entry.at, int(unread), title, entry.conversation),
        )

    def messages(self, conversation_id: str, limit: int) -> list[ChatEntry]:
        """The last ``limit`` messages, oldest first."""
        rows = self._db.execute(
            "SELECT conversation, sender, name, text, at FROM ("
            " SELECT * FROM messages WHERE conversation = ? ORDER BY seq DESC LIMIT ?"
            ") ORDER BY seq",
            (conversation_id, limit),
        ).fetchall()
        return [ChatEntry(*row) for row in rows]

    # ------------------------------------------------------------ sign-in sessions

    def add_sign_in(self, record: SignInRecord) -> None:
        self._db.execute(
            f"INSERT INTO agent_sign_ins ({_SIGN_IN_COLUMNS})"  # noqa: S608 - constant
            " VALUES (?, ?, ?, ?, ?)",
            astuple(record),  # the columns' order
        )

    def sign_ins(self, digests: Collection[str], now: int) -> list[SignInRecord]:
        if not digests:
            return []
        # One parameter however many digests (SQLite caps a statement's parameters).
        rows = self._db.execute(
            f"SELECT {_SIGN_IN_COLUMNS} FROM agent_sign_ins"  # noqa: S608 - constant
            " WHERE digest IN (SELECT value FROM json_each(?)) AND expires_at > ?",
            (json.dumps(sorted(digests)), now),
        ).fetchall()
        return [SignInRecord(*row) for row in rows]

    def drop_sign_in(self, digest: str) -> None:
        self._db.execute("DELETE FROM agent_sign_ins WHERE digest = ?", (digest,))

    def drop_expired_sign_ins(self, now: int) -> int:
        cursor = self._db.execute("DELETE FROM agent_sign_ins WHERE expires_at <= ?", (now,))
        return cursor.rowcount

    def _said(self, entry: ChatEntry, update: str, params: tuple[Any, ...]) -> Conversation | None:
        """Run ``update`` (on one conversation) and, if it changed one, insert
        ``entry``: both or neither, in one transaction."""
        with self._transaction():
            # fetchall: the statement runs to its end, so COMMIT finds none still in progress.
            query = f"{update} RETURNING {_COLUMNS}"
            rows = self._db.execute(query, params).fetchall()
            if not rows:
                return None
            self._db.execute(
                "INSERT INTO messages (conversation, sender, name, text, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (entry.conversation, entry.sender, entry.name, entry.text, entry.at),
            )
        return _conversation(rows[0])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock at BEGIN: a second connection waits for it (the
        # connection's busy timeout) rather than failing when it upgrades a read lock.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


def _conversation(row: tuple[Any, ...]) -> Conversation:
    id_, brand, started_at, last_at, unread, closed_at, title = row
    return Conversation(
        id=id_,
        brand=brand,
        started_at=started_at,
        last_at=last_at,
        unread=unread,
        closed_at=closed_at,
        title=title,
    )
