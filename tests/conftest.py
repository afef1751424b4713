"""Fixtures shared by the tests under tests/: a real PostgreSQL server, a real Redis server, and
conversation stores of both kinds (SQLite and PostgreSQL) for the tests that must hold on
either, alone or as several relay nodes sharing one database."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from services import PostgresServer, RedisServer

from relay.store import OpenStore, SqliteStore, open_store


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own for the whole run, stopped at the end even when tests
    fail. ``postgres.url`` is a database; ``postgres.fresh_url()`` an empty schema in it."""
    try:
        server = PostgresServer()
    except LookupError as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        server.init()  # about 4 s on 2 cores, initdb most of it (`--durations` shows it)
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of our own for the whole run (``redis_server.url``), shared by the tests
    that use it: a test that stops Redis starts a ``RedisServer`` of its own."""
    try:
        server = RedisServer()
    except LookupError as missing:
        pytest.fail(str(missing), pytrace=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The kind of store a test runs on: each test that uses stores runs once per kind."""
    kind: str = request.param
    return kind


@pytest.fixture
def new_store(store_kind: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], OpenStore]]:
    """Makes empty stores of one kind (each test runs once per kind); closes them after."""
    opened: list[OpenStore] = []

    def make() -> OpenStore:
        if store_kind == "sqlite":
            store: OpenStore = SqliteStore()
        else:
            store = open_store(request.getfixturevalue("postgres").fresh_url())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def new_nodes(
    store_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[int], list[OpenStore]]]:
    """``new_nodes(n)``: ``n`` stores on one new, empty database of the test's kind, as ``n``
    relay nodes sharing it (each its own connection: a SQLite file or a PostgreSQL schema);
    closes them after."""
    opened: list[OpenStore] = []
    databases = itertools.count(1)

    def make(count: int) -> list[OpenStore]:
        if store_kind == "sqlite":
            database = str(tmp_path / f"shared-{next(databases)}.sqlite3")
        else:
            database = request.getfixturevalue("postgres").fresh_url()
        stores = [open_store(database) for _ in range(count)]
        opened.extend(stores)
        return stores

    yield make
    for store in opened:
        store.close()
