"""Real services for the tests: ``PostgresServer`` and ``RedisServer`` live in
``cobrowse_qa.services`` (the benchmarks start them too); re-exported for the tests."""

from cobrowse_qa.services import (
    PASSWORD,
    SETUP_HINT,
    TIMEOUT_S,
    PostgresServer,
    RedisServer,
    free_port,
    postgres_bin,
)

__all__ = [
    "PASSWORD",
    "SETUP_HINT",
    "TIMEOUT_S",
    "PostgresServer",
    "RedisServer",
    "free_port",
    "postgres_bin",
]
