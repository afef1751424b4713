"""Conversations and their chat messages, and agents' sign-in sessions, in PostgreSQL
(psycopg 3): a store that several relay nodes can share.

Owns: the PostgreSQL schema and every PostgreSQL statement. Implements
``relay.core.ConversationStore`` and ``relay.store.SignInStore`` with the meaning of
``relay.store.SqliteStore`` (visitor tokens and sign-in sessions as SHA-256 digests, messages in
order, listings by brand, latest first); ``relay.store.open_store`` opens it for a
``postgresql://`` URL.
Must not: keep CoBrowse session content or invitation texts (as SqliteStore), or print or log
the URL's password: name the database only through ``relay.settings.shown_database``.

The core calls the store synchronously on the event loop, so every call is one short statement
on one autocommit connection: an error leaves nothing half-written, and ``statement_timeout``
bounds how long a call can hold the loop. A lost connection (PostgreSQL restarted, the network)
fails the write that finds it with ``StoreError`` (the next call connects again); a read is
tried once more on a new connection.

Nodes change one conversation at once, so no call writes back a row it read: each change is
computed from the row as it is when PostgreSQL updates it (``unread + 1``, ``GREATEST``,
``closed_at IS NULL``), and a chat message goes in with its conversation's change in the same
statement (a data-modifying ``WITH``), so nothing is lost or reopened between two nodes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import astuple
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from relay.core import ChatEntry, Conversation
from relay.settings import shown_database
from relay.store import SignInRecord, StoreError

# Bounds on a call made from the event loop (seconds / milliseconds). The URL may set its own
# connect_timeout or tcp_user_timeout; statement_timeout is ours.
CONNECT_TIMEOUT_S = 5
TCP_USER_TIMEOUT_MS = 10_000  # a write to a silent peer (network gone) fails, not hangs
STATEMENT_TIMEOUT = "5s"

# pg_advisory_xact_lock key ("cobrowse" in ASCII): relay nodes starting at the same time create
# the schema one after the other (concurrent CREATE ... IF NOT EXISTS can collide).
_SCHEMA_LOCK = 0x636F62726F777365

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id          TEXT PRIMARY KEY,
        brand       TEXT NOT NULL,
        token_hash  TEXT NOT NULL UNIQUE,
        started_at  BIGINT NOT NULL,
        last_at     BIGINT NOT NULL,
        unread      INTEGER NOT NULL DEFAULT 0,
        closed_at   BIGINT,
        title       TEXT NOT NULL DEFAULT '',
        -- Insertion order (SQLite's rowid): equal last_at values list the newest first.
        created     BIGINT GENERATED ALWAYS AS IDENTITY
    )""",
    """CREATE INDEX IF NOT EXISTS conversations_by_brand
        ON conversations (brand, last_at DESC, created DESC)""",
    """CREATE TABLE IF NOT EXISTS messages (
        seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        conversation  TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        sender        TEXT NOT NULL CHECK (sender IN ('visitor', 'agent', 'system')),
        name          TEXT NOT NULL,
        text          TEXT NOT NULL,
        at            BIGINT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, seq)",
    """CREATE TABLE IF NOT EXISTS agent_sign_ins (
        digest          TEXT PRIMARY KEY,
        agent           TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        expires_at      BIGINT NOT NULL,
        password_print  TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS agent_sign_ins_by_expiry ON agent_sign_ins (expires_at)",
)

_SIGN_IN_COLUMNS = "digest, agent, created_at, expires_at, password_print"

_COLUMNS = "id, brand, started_at, last_at, unread, closed_at, title"

Connection = psycopg.Connection[tuple[Any, ...]]


class PostgresStore:
    """One autocommit connection, opened again after it was lost. Call ``close()`` at shutdown.

    Raises ``StoreError`` when the database cannot be reached at start (the relay must not
    start) and from any call that finds it unreachable.
    """

    def __init__(self, url: str) -> None:
        self.shown = shown_database(url)  # what start messages and errors show: no password
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            # libpq's message may quote the malformed URL, password and all: not shown.
            raise StoreError(f"{self.shown} is not a valid PostgreSQL URL") from None
        self._secret = str(params.get("password") or "")
        params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        params.setdefault("tcp_user_timeout", TCP_USER_TIMEOUT_MS)
        self._conninfo = make_conninfo("", **params)
        self._db: Connection | None = None
        connection = self._connection()
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    connection.execute(statement)
        except psycopg.Error as error:
            connection.close()
            raise self._error("cannot create the schema in", error) from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------ conversations

    def create(self, conversation: Conversation, token_hash: str) -> None:
        self._execute(
            "INSERT INTO conversations (id, brand, token_hash, started_at, last_at, unread,"
            " closed_at, title) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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
        row = self._execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE id = %s",  # noqa: S608 - constant
            (conversation_id,),
            read=True,
        ).fetchone()
        return _conversation(row) if row else None

    def by_token(self, token_hash: str) -> Conversation | None:
        row = self._execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE token_hash = %s",  # noqa: S608
            (token_hash,),
            read=True,
        ).fetchone()
        return _conversation(row) if row else None

    def mark_read(self, conversation_id: str) -> None:
        self._execute("UPDATE conversations SET unread = 0 WHERE id = %s", (conversation_id,))

    def close_conversation(self, entry: ChatEntry) -> Conversation | None:
        """End the conversation with ``entry`` as its last message, if still open (see
        ``ConversationStore.close_conversation``). Of two nodes closing at once, the second
        waits for the first one's row lock, then finds ``closed_at`` set and changes nothing."""
        return self._said(
            entry,
            "UPDATE conversations SET closed_at = %(at)s, last_at = GREATEST(last_at, %(at)s)"
            " WHERE id = %(conversation)s AND closed_at IS NULL",
            {},
        )

    def listing(self, brands: frozenset[str], limit: int) -> list[Conversation]:
        if not brands:
            return []
        rows = self._execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE brand = ANY(%s)"  # noqa: S608
            " ORDER BY last_at DESC, created DESC LIMIT %s",
            (sorted(brands), limit),
            read=True,
        ).fetchall()
        return [_conversation(row) for row in rows]

    # ------------------------------------------------------------ messages

    def add_message(
        self, entry: ChatEntry, *, unread: bool, title: str = ""
    ) -> Conversation | None:
        """Keep ``entry`` if its conversation is open (see ``ConversationStore.add_message``)."""
        return self._said(
            entry,
            "UPDATE conversations SET last_at = GREATEST(last_at, %(at)s),"
            " unread = unread + %(unread)s, title = COALESCE(NULLIF(title, ''), %(title)s)"
            " WHERE id = %(conversation)s AND closed_at IS NULL",
            {"unread": int(unread), "title": title},
        )

    def messages(self, conversation_id: str, limit: int) -> list[ChatEntry]:
        """The last ``limit`` messages, oldest first."""
        rows = self._execute(
            "SELECT conversation, sender, name, text, at FROM ("
            " SELECT * FROM messages WHERE conversation = %s ORDER BY seq DESC LIMIT %s"
            ") AS last ORDER BY seq",
            (conversation_id, limit),
            read=True,
        ).fetchall()
        return [ChatEntry(*row) for row in rows]

    # ------------------------------------------------------------ sign-in sessions

    def add_sign_in(self, record: SignInRecord) -> None:
        self._execute(
            f"INSERT INTO agent_sign_ins ({_SIGN_IN_COLUMNS})"  # noqa: S608 - constant
            " VALUES (%s, %s, %s, %s, %s)",
            astuple(record),  # the columns' order
        )

    def sign_ins(self, digests: Collection[str], now: int) -> list[SignInRecord]:
        if not digests:
            return []
        rows = self._execute(
            f"SELECT {_SIGN_IN_COLUMNS} FROM agent_sign_ins"  # noqa: S608 - constant
            " WHERE digest = ANY(%s) AND expires_at > %s",
            (sorted(digests), now),
            read=True,
        ).fetchall()
        return [SignInRecord(*row) for row in rows]

    def drop_sign_in(self, digest: str) -> None:
        self._execute("DELETE FROM agent_sign_ins WHERE digest = %s", (digest,))

    def drop_expired_sign_ins(self, now: int) -> int:
        return self._execute("DELETE FROM agent_sign_ins WHERE expires_at <= %s", (now,)).rowcount

    def _said(
        self, entry: ChatEntry, update: str, params: Mapping[str, Any]
    ) -> Conversation | None:
        """Run ``update`` (on one conversation, ``%(at)s`` and ``%(conversation)s`` from
        ``entry``) and, if it changed the row, insert ``entry``: one statement, both or neither."""
        row = self._execute(
            f"WITH changed AS ({update} RETURNING {_COLUMNS}),"  # noqa: S608 - constants
            " kept AS (INSERT INTO messages (conversation, sender, name, text, at)"
            " SELECT id, %(sender)s, %(name)s, %(text)s, %(at)s FROM changed)"
            f" SELECT {_COLUMNS} FROM changed",
            {**params, **entry.body()},
        ).fetchone()
        return _conversation(row) if row else None

    # ------------------------------------------------------------ the connection

    def _connection(self) -> Connection:
        """The open connection, or a new one when there is none or it was lost."""
        if self._db is not None and not self._db.closed and not self._db.broken:
            return self._db
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            connection = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as error:
            raise self._error("cannot connect to", error) from None
        try:
            connection.execute(
                "SELECT set_config('statement_timeout', %s, false)", (STATEMENT_TIMEOUT,)
            )
        except psycopg.Error as error:
            connection.close()
            raise self._error("cannot set up the connection to", error) from None
        self._db = connection
        return connection

    def _execute(
        self, query: str, params: tuple[Any, ...] | Mapping[str, Any], *, read: bool = False
    ) -> psycopg.Cursor[tuple[Any, ...]]:
        """Run one statement. A ``read`` that finds the connection lost (PostgreSQL restarted,
        a failover) is tried once more on a new connection: reading twice changes nothing. A
        write is never repeated (it might have been applied: a chat message twice), and a
        statement timeout is not retried (it would hold the event loop twice as long)."""
        connection = self._connection()
        try:
            return connection.execute(query, params)
        except psycopg.OperationalError as error:
            # Lost connection, statement timeout, server shutting down: this call fails; a lost
            # connection is replaced by the next call (``_connection``).
            if not (read and connection.broken):
                raise self._error("call failed on", error) from None
        try:
            return self._connection().execute(query, params)
        except psycopg.OperationalError as error:
            raise self._error("call failed on", error) from None

    def _error(self, what: str, error: psycopg.Error) -> StoreError:
        """One line naming the database (password redacted) and libpq's reason."""
        reason = " ".join(str(error).split()) or type(error).__name__
        if self._secret:
            reason = reason.replace(self._secret, "***")
        return StoreError(f"{what} PostgreSQL database {self.shown}: {reason}")


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
