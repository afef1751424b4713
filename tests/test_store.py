"""The conversation store on SQLite and on PostgreSQL (a real server: tests/services.py): the
same answers from both, and PostgreSQL's own cases (start-up refusals, a restarted server)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import psycopg
import pytest
from services import PASSWORD, PostgresServer, free_port

from relay.core import ChatEntry, Conversation
from relay.pgstore import PostgresStore
from relay.settings import shown_database
from relay.store import OpenStore, SqliteStore, StoreError, open_store


def _conversation(id_: str, brand: str = "demo", at: int = 1_000) -> Conversation:
    return Conversation(id=id_, brand=brand, started_at=at, last_at=at)


def test_conversations_are_found_by_id_and_token_digest_and_saved(
    new_store: Callable[[], OpenStore],
) -> None:
    store = new_store()
    store.create(_conversation("c1"), "digest-1")
    assert store.get("c1") == _conversation("c1")
    assert store.by_token("digest-1") == _conversation("c1")
    assert store.get("nope") is None and store.by_token("nope") is None
    changed = Conversation("c1", "demo", 1_000, last_at=2_000, unread=3, closed_at=2_500, title="t")
    store.save(changed)
    assert store.get("c1") == changed
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
    with pytest.raises((psycopg.IntegrityError, sqlite3.IntegrityError)):
        store.add_message(ChatEntry("no-such-conversation", "visitor", "V", "hi", 1))
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
    store.save(Conversation("a", "demo", 5, last_at=8))
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
        store.add_message(entry)
        store.add_message(ChatEntry("c2", "visitor", "V", "elsewhere", 10))
    assert store.messages("c1", 100) == said
    assert store.messages("c1", 2) == said[-2:]


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


def test_a_restarted_server_fails_one_call_and_the_next_one_works(
    postgres: PostgresServer,
) -> None:
    store = PostgresStore(postgres.fresh_url())
    try:
        store.create(_conversation("c1"), "digest")
        postgres.restart()
        with pytest.raises(StoreError) as lost:
            store.get("c1")
        assert PASSWORD not in str(lost.value) and "\n" not in str(lost.value)
        assert store.get("c1") == _conversation("c1")
        postgres.stop()
        try:
            with pytest.raises(StoreError, match="terminating connection"):
                store.get("c1")
            with pytest.raises(StoreError, match="cannot connect"):  # no server to reach
                store.get("c1")
        finally:
            postgres.start()
        store.add_message(ChatEntry("c1", "visitor", "V", "back", 2))
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
