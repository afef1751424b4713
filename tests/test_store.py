"""The conversation store on SQLite and on PostgreSQL (a real server: tests/services.py): the
same answers from both, several nodes sharing one database without undoing each other's
changes, and PostgreSQL's own cases (start-up refusals, a restarted server)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import replace

import psycopg
import pytest
from services import PASSWORD, PostgresServer, free_port

from relay.core import ChatEntry, Conversation
from relay.pgstore import PostgresStore
from relay.settings import shown_database
from relay.store import OpenStore, SignInRecord, SqliteStore, StoreError, open_store


def _conversation(id_: str, brand: str = "demo", at: int = 1_000) -> Conversation:
    return Conversation(id=id_, brand=brand, started_at=at, last_at=at)


def _said(text: str, at: int, conversation: str = "c1", sender: str = "visitor") -> ChatEntry:
    return ChatEntry(conversation, sender, "Visitor" if sender == "visitor" else "Alex", text, at)


def test_conversations_are_found_by_id_and_token_digest(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "digest-1")
    assert store.get("c1") == _conversation("c1")
    assert store.by_token("digest-1") == _conversation("c1")
    assert store.get("nope") is None and store.by_token("nope") is None
    # Timestamps are milliseconds since 1970: past 32 bits.
    late = _conversation("c2", at=1_900_000_000_000)
    store.create(late, "digest-2")
    assert store.get("c2") == late


def test_a_second_conversation_with_the_same_token_is_refused_and_not_written(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "digest")
    with pytest.raises((psycopg.IntegrityError, sqlite3.IntegrityError)):
        store.create(_conversation("c2"), "digest")
    assert store.get("c2") is None
    assert store.add_message(_said("hi", 1, "no-such-conversation"), unread=True) is None
    assert store.messages("no-such-conversation", 10) == []


def test_listings_hold_only_the_brands_asked_latest_first_then_newest(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    for id_, brand, at in [("a", "demo", 5), ("b", "other", 9), ("c", "demo", 7), ("d", "demo", 5)]:
        store.create(_conversation(id_, brand, at), f"digest-{id_}")
    assert [c.id for c in store.listing(frozenset({"demo"}), 10)] == ["c", "d", "a"]
    assert [c.id for c in store.listing(frozenset({"demo", "other"}), 2)] == ["b", "c"]
    assert store.listing(frozenset(), 10) == []
    store.add_message(_said("later", 8, "a"), unread=True)
    assert store.listing(frozenset({"demo"}), 1)[0].id == "a"


def test_messages_come_back_in_order_the_last_ones_when_limited(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "d1")
    store.create(_conversation("c2"), "d2")
    said = [
        ChatEntry("c1", ("visitor", "agent", "system")[i % 3], "N", f"m{i}", 10) for i in range(6)
    ]
    for entry in said:
        store.add_message(entry, unread=False)
        store.add_message(ChatEntry("c2", "visitor", "V", "elsewhere", 10), unread=False)
    assert store.messages("c1", 100) == said
    assert store.messages("c1", 2) == said[-2:]


def test_a_message_moves_last_at_on_counts_unread_and_names_an_untitled_conversation(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "digest")
    first = store.add_message(_said("Where is my booking?", 2_000), unread=True, title="Where is")
    assert first == Conversation("c1", "demo", 1_000, last_at=2_000, unread=1, title="Where is")
    reply = store.add_message(_said("Let me look.", 3_000, sender="agent"), unread=False)
    assert reply == Conversation("c1", "demo", 1_000, last_at=3_000, unread=1, title="Where is")
    again = store.add_message(_said("Hello?", 4_000), unread=True, title="Hello?")
    assert again is not None and (again.unread, again.title) == (2, "Where is")  # named once
    store.mark_read("c1")
    assert store.get("c1") == Conversation("c1", "demo", 1_000, 4_000, 0, title="Where is")
    assert [m.text for m in store.messages("c1", 10)] == [
        "Where is my booking?",
        "Let me look.",
        "Hello?",
    ]


def test_a_closed_conversation_takes_its_closing_line_and_nothing_after_it(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "digest")
    closing = ChatEntry("c1", "system", "Alex", "Alex ended the conversation.", 5_000)
    closed = store.close_conversation(closing)
    assert closed == Conversation("c1", "demo", 1_000, last_at=5_000, closed_at=5_000)
    assert store.close_conversation(replace(closing, at=6_000)) is None
    assert store.add_message(_said("wait", 7_000), unread=True, title="wait") is None
    assert store.get("c1") == closed
    assert store.messages("c1", 10) == [closing]
    assert store.close_conversation(replace(closing, conversation="nope")) is None


# ---------------------------------------------------------------- nodes sharing one database
# Each store object is one relay node with its own connection. Before these operations the core
# read a conversation, changed it in Python and wrote the whole row back (``save``): a node
# holding an older copy undid the other nodes' changes.


def test_a_node_acting_on_an_old_read_undoes_nothing_another_node_did(
    new_nodes: Callable[[int], list[OpenStore]],
) -> None:
    a, b, c = new_nodes(3)
    a.create(_conversation("c1"), "digest")
    for node in (a, b, c):
        assert node.get("c1") == _conversation("c1")  # each node's copy, soon out of date
    a.add_message(_said("My order is late", 3_000), unread=True, title="My order is late")
    b.mark_read("c1")
    # Node C's clock is behind node A's: last_at must not go back, nor the title change.
    c.add_message(_said("Hello?", 2_000), unread=True, title="Hello?")
    assert c.get("c1") == Conversation(
        "c1", "demo", 1_000, last_at=3_000, unread=1, title="My order is late"
    )
    closing = ChatEntry("c1", "system", "Sam", "Sam ended the conversation.", 4_000)
    assert b.close_conversation(closing) is not None
    # Node A and node C still hold the conversation open: neither reopens it nor writes after
    # the closing line, and a second agent's close is refused.
    assert a.add_message(_said("still there?", 5_000), unread=True) is None
    assert c.close_conversation(replace(closing, name="Alex", at=5_000)) is None
    final = a.get("c1")
    assert final is not None and (final.closed_at, final.last_at, final.unread) == (4_000, 4_000, 1)
    assert [m.text for m in a.messages("c1", 10)] == [
        "My order is late",
        "Hello?",
        "Sam ended the conversation.",
    ]


NODES, MESSAGES_EACH = 4, 25


def _at_once(nodes: list[OpenStore], work: Callable[[int, OpenStore], None]) -> None:
    """Run ``work(i, node)`` for every node, each on its own thread, all starting together."""
    start = threading.Barrier(len(nodes), timeout=30)
    errors: list[BaseException] = []

    def run(i: int, node: OpenStore) -> None:
        try:
            start.wait()
            work(i, node)
        except BaseException as error:  # reported on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, n)) for i, n in enumerate(nodes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a node hung"
    assert not errors, errors


def test_nodes_adding_messages_at_once_lose_no_message_and_no_unread_count(
    new_nodes: Callable[[int], list[OpenStore]],
) -> None:
    nodes = new_nodes(NODES)
    nodes[0].create(_conversation("c1"), "digest")

    def chat(i: int, node: OpenStore) -> None:
        for j in range(MESSAGES_EACH):
            # Each node's clock is off by a little: last_at ends at the latest, wherever it was.
            at = 10_000 + j * 10 + (i * 7) % 10
            node.add_message(_said(f"{i}-{j}", at), unread=True, title=f"from node {i}")

    _at_once(nodes, chat)
    final = nodes[0].get("c1")
    assert final is not None
    assert final.unread == NODES * MESSAGES_EACH
    last = 10_000 + (MESSAGES_EACH - 1) * 10
    assert final.last_at == max(last + (i * 7) % 10 for i in range(NODES))
    assert final.title in {f"from node {i}" for i in range(NODES)}
    said = nodes[0].messages("c1", 1_000)
    assert len(said) == NODES * MESSAGES_EACH
    assert final.title == f"from node {said[0].text.split('-')[0]}"  # the first one kept


def test_of_agents_closing_at_once_on_several_nodes_exactly_one_does(
    new_nodes: Callable[[int], list[OpenStore]],
) -> None:
    nodes = new_nodes(NODES)
    rounds = 10
    for r in range(rounds):
        nodes[0].create(_conversation(f"c{r}"), f"digest-{r}")
    won: list[list[int]] = [[] for _ in range(rounds)]

    def close(i: int, node: OpenStore) -> None:
        for r in range(rounds):
            line = ChatEntry(f"c{r}", "system", f"Agent {i}", f"Agent {i} ended it.", 5_000 + i)
            if node.close_conversation(line) is not None:
                won[r].append(i)

    _at_once(nodes, close)
    for r in range(rounds):
        assert len(won[r]) == 1, won[r]
        winner = won[r][0]
        final = nodes[0].get(f"c{r}")
        assert final is not None and final.closed_at == 5_000 + winner
        assert [m.name for m in nodes[0].messages(f"c{r}", 10)] == [f"Agent {winner}"]


# ---------------------------------------------------------------- PostgreSQL only


def test_the_schema_is_created_once_when_several_relays_start_together(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_url()
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(PostgresStore(url))
        except BaseException as error:  # reported on the test's thread
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and len(stores) == 4
    stores[0].create(_conversation("c1"), "digest")
    assert stores[3].get("c1") == _conversation("c1")  # one database, seen by every node
    for store in stores:
        store.close()
    again = PostgresStore(url)  # a later start finds the schema and keeps the data
    assert again.get("c1") == _conversation("c1")
    again.close()


def test_after_a_restart_a_read_reconnects_and_a_write_fails_once_never_twice(
    postgres: PostgresServer,
) -> None:
    """A read that finds the connection lost is tried again on a new one (reading twice changes
    nothing); a write is not (it might have been applied): it fails once, the next call works."""
    store = PostgresStore(postgres.fresh_url())
    try:
        store.create(_conversation("c1"), "digest")
        postgres.restart()
        assert store.get("c1") == _conversation("c1")  # read: reconnected at once
        postgres.restart()
        with pytest.raises(StoreError) as lost:
            store.mark_read("c1")  # write: refused, never repeated
        assert PASSWORD not in str(lost.value) and "\n" not in str(lost.value)
        store.mark_read("c1")
        postgres.stop()
        try:
            with pytest.raises(StoreError, match="cannot connect"):  # no server to reach
                store.get("c1")
        finally:
            postgres.start()
        store.add_message(ChatEntry("c1", "visitor", "V", "back", 2), unread=True)
        assert [m.text for m in store.messages("c1", 10)] == ["back"]
    finally:
        store.close()


def test_an_unreachable_database_is_one_line_without_the_password(
    postgres: PostgresServer,
) -> None:
    good = postgres.url
    for url, reason in [
        (good.replace(f":{postgres.port}/", f":{free_port()}/"), "refused"),
        (good.replace(PASSWORD, "wrong-secret-77"), "password authentication failed"),
        (good.replace("/cobrowse_test", "/no_such_db"), "does not exist"),
    ]:
        with pytest.raises(StoreError) as refused:
            open_store(url)
        message = str(refused.value)
        assert reason in message and shown_database(url) in message, message
        assert "\n" not in message
        assert PASSWORD not in message and "wrong-secret-77" not in message


def test_urls_pick_postgresql_and_are_shown_without_their_password() -> None:
    assert shown_database("postgresql://kim:s3cret@db.example:5432/cobrowse") == (
        "postgresql://kim:***@db.example:5432/cobrowse"
    )
    assert shown_database("postgres://db/x?sslmode=require&password=s3cret") == (
        "postgres://db/x?sslmode=require&password=***"
    )
    assert shown_database("postgresql://kim@db/x") == "postgresql://kim@db/x"
    assert shown_database("data/cobrowse.sqlite3") == "data/cobrowse.sqlite3"
    memory = open_store(":memory:")
    assert isinstance(memory, SqliteStore)
    memory.close()
    with pytest.raises(StoreError, match="not a valid PostgreSQL URL") as bad:
        open_store("postgresql://kim:s3cret@db/x?nonsense=1")
    assert "s3cret" not in str(bad.value)


# ------------------------------------------------------------ sign-in sessions (issue 19)


def _sign_in(digest: str, agent: str = "alex", expires_at: int = 5_000) -> SignInRecord:
    return SignInRecord(digest, agent, 1_000, expires_at, f"print-of-{agent}")


def test_sign_in_sessions_are_found_by_digest_until_they_expire(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.add_sign_in(_sign_in("d1"))
    store.add_sign_in(_sign_in("d2", "sam", expires_at=3_000))
    assert store.sign_ins(["d1"], 2_000) == [_sign_in("d1")]
    found = store.sign_ins(["d1", "d2", "unknown"], 2_000)
    assert sorted(found, key=lambda r: r.digest) == [
        _sign_in("d1"),
        _sign_in("d2", "sam", expires_at=3_000),
    ]
    # Expired at its expiry time: no longer found, and purged.
    assert store.sign_ins(["d1", "d2"], 3_000) == [_sign_in("d1")]
    assert store.sign_ins([], 0) == []
    assert store.drop_expired_sign_ins(3_000) == 1
    assert store.sign_ins(["d2"], 0) == []
    assert store.sign_ins(["d1"], 0) == [_sign_in("d1")]


def test_a_dropped_sign_in_is_gone_for_every_node_sharing_the_database(
    new_nodes: Callable[[int], list[OpenStore]],
) -> None:
    made_on, other = new_nodes(2)
    made_on.add_sign_in(_sign_in("d1"))
    assert other.sign_ins(["d1"], 2_000) == [_sign_in("d1")]
    other.drop_sign_in("d1")
    assert made_on.sign_ins(["d1"], 2_000) == []
    other.drop_sign_in("d1")  # twice: nothing to do, no error


def test_many_sessions_are_read_in_one_query(new_store: Callable[[], OpenStore]) -> None:
    # The tick asks for every open agent socket's session at once: past SQLite's parameter cap.
    store = new_store()
    for i in range(0, 40_000, 1000):
        store.add_sign_in(_sign_in(f"d{i}"))
    found = store.sign_ins([f"d{i}" for i in range(40_000)], 2_000)
    assert len(found) == 40
