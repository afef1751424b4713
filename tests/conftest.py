"""Fixtures shared by the tests under tests/: a real PostgreSQL server, and conversation stores
of both kinds (SQLite and PostgreSQL) for the tests that must hold on either."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from services import PostgresServer

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


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest) -> Iterator[Callable[[], OpenStore]]:
    """Makes empty stores of one kind (each test runs once per kind); closes them after."""
    opened: list[OpenStore] = []

    def make() -> OpenStore:
        if request.param == "sqlite":
            store: OpenStore = SqliteStore()
        else:
            store = open_store(request.getfixturevalue("postgres").fresh_url())
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
