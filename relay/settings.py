"""The one settings object: read from a TOML file plus ``COBROWSE_*`` environment variables.

Owns: defaults (the embedded demo brand and demo agent used when no file is given), parsing
and checking the file, with errors that name the key at fault, and what a fleet of nodes needs
(``[cluster] redis_url`` asks for a shared secret key and a PostgreSQL database). Everything
else receives a ``Settings`` instance; nothing reads the environment deep in the code. Must
not: print or log a URL but through ``shown_database`` / ``shown_redis_url`` (no passwords).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from relay.passwords import hash_password

DEMO_AGENT_LOGIN = "demo"
DEMO_AGENT_PASSWORD = "cobrowse-demo"  # noqa: S105 - printed at start; embedded demo only
SELF_ORIGIN = "self"  # in allowed_origins: the relay's own origin (the demo site lives there)
MEMORY_DATABASE = ":memory:"  # SQLite's private in-memory database: gone when the relay stops
# A database value starting with one of these is a PostgreSQL URL (``relay.pgstore``), never a
# path; anything else is SQLite.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# The URLs redis-py connects to (TCP, TLS, a local socket).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# With a settings file and no [server] database key: this file, beside the settings file.
DEFAULT_DATABASE = "data/cobrowse.sqlite3"


class SettingsError(ValueError):
    """The settings file or environment is wrong; the message names the key."""


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    allowed_origins: tuple[str, ...]
    mask_selectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentLogin:
    """An agent's sign-in as the settings file has it; the core knows only its
    ``relay.core.AgentAccount`` (no password hash)."""

    id: str
    name: str
    password_hash: str
    brands: tuple[str, ...]


@dataclass(frozen=True)
class ServerLimits:
    """The server's own limits: socket frame bytes, message rates (messages per second),
    sign-in attempts, flood limits. Each may be set in the settings file's ``[limits]`` table
    (read at start). The limits of one message's content are ``wire.protocol.MessageLimits``."""

    visitor_frame_bytes: int = 16 * 1024 * 1024  # a chunk of a large DOM snapshot
    agent_frame_bytes: int = 256 * 1024
    visitor_rate: float = 300.0  # sustained messages per second per socket
    visitor_burst: float = 600.0
    agent_rate: float = 120.0
    agent_burst: float = 240.0
    login_attempts_per_minute: int = 10
    # New visitor sockets per client address (fleet-wide on a fleet): page loads and reconnects
    # of one office behind one address fit; a script opening conversations by the thousand not.
    visitor_sockets_per_minute: int = 600
    abuse_errors_before_close: int = 50  # consecutive client errors before a 1008 close
    # New visitor sockets per brand (fleet-wide): a brand's whole audience reloading fits.
    visitor_sockets_per_brand_per_minute: int = 6000
    # New conversations (stored on a visitor's first chat message) per client address and per
    # brand (fleet-wide): a flood of one-line chats from many addresses takes the brand's
    # budget, not the agents' list (200 rows) in seconds. 120 a minute is 7,200 new chatting
    # visitors an hour; a brand above that raises it in [limits].
    conversations_per_address_per_minute: int = 20
    conversations_per_brand_per_minute: int = 120
    chat_per_conversation_per_minute: int = 60  # a visitor's chat messages; agents' not limited
    # Inflated bytes of big frames being parsed at once on this node; a frame past it waits.
    # 16 MiB: one frame of the largest size at a time (parsing holds the GIL: more at once is
    # no faster); its tree takes up to 13x its text (relay.sockets.ParseBudget, measured).
    parse_budget_bytes: int = 16 * 1024 * 1024
    # Sign-in attempts per account name (fleet-wide), beside the per-address limit: slows
    # guessing from many addresses. Every attempt counts (it is asked before the password is
    # known); a browser that signed in as that agent before is exempt (its device cookie).
    login_attempts_per_account_per_minute: int = 10
    http_header_timeout_seconds: float = 10.0  # a request's head must arrive within this
    http_body_timeout_seconds: float = 10.0  # a sign-in's body must arrive within this
    # The resource proxy (relay.resources: the brand's fonts, images and stylesheets for the
    # replica): the largest file it passes on (read as it streams in, cut past this), the
    # bytes its cache keeps on this node, and how long one fetch (redirects included) may take.
    resource_bytes: int = 4 * 1024 * 1024
    resource_cache_bytes: int = 32 * 1024 * 1024
    resource_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8700
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    invite_ttl_seconds: float = 120.0
    visitor_grace_seconds: float = 60.0
    chromium: str = "auto"
    secure_cookies: bool = False  # set true behind HTTPS
    brands: tuple[Brand, ...] = ()
    agents: tuple[AgentLogin, ...] = ()
    # Addresses of the load balancers or proxies whose X-Forwarded-For names the client (its
    # address then counts for the rate limits); empty: uvicorn's default (127.0.0.1 only).
    trusted_proxies: tuple[str, ...] = ()
    limits: ServerLimits = ServerLimits()
    demo: bool = False  # serve /demo/ (the embedded demo brand site)
    # Conversations: a PostgreSQL URL (``is_postgres``), else SQLite: a file path, or
    # ":memory:" (the embedded demo, tests). Show it only through ``shown_database``.
    database: str = MEMORY_DATABASE
    # The fleet's Redis (live state shared by several nodes), or None: one node, all in memory.
    # Show it only through ``shown_redis_url`` (it may hold a password).
    redis_url: str | None = field(default=None, repr=False)
    # Whether the resource proxy may fetch from brand origins whose host *name* resolves to a
    # private or loopback address (an intranet site). An origin written as an IP address is
    # the admin's own choice and needs no such leave; link-local addresses (cloud metadata
    # services) are refused whatever this says (relay.resources).
    resource_private_addresses: bool = False


def is_postgres(database: str) -> bool:
    """Whether ``database`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return database.lower().startswith(POSTGRES_SCHEMES)


def shown_database(database: str) -> str:
    """``database`` fit to print or log: a URL's password (in its user part or as a
    ``password=`` parameter) becomes ``***``. Never print or log the setting otherwise."""
    if not is_postgres(database):
        return database
    return _without_password(database)


def shown_redis_url(redis_url: str) -> str:
    """``redis_url`` fit to print or log, its password (user part or ``password=``) ``***``."""
    return _without_password(redis_url)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = "&".join(
        f"{key}=***" if key.lower() == "password" else f"{key}={value}" if sep else key
        for key, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    # Joined by hand: urlunsplit drops the "//" of an empty host ("unix:///run/redis.sock").
    return (
        f"{parts.scheme}://{netloc}{parts.path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def demo_settings() -> Settings:
    """The embedded default: one demo brand served by the relay itself, one demo agent."""
    return Settings(
        brands=(Brand("demo", "Demo Travel", (SELF_ORIGIN,), (".cobrowse-demo-secret",)),),
        agents=(
            AgentLogin(DEMO_AGENT_LOGIN, "Alex", hash_password(DEMO_AGENT_PASSWORD), ("demo",)),
        ),
        demo=True,
        # The demo site is the relay's own origin, often opened as http://localhost:8700.
        resource_private_addresses=True,
    )


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (TOML) or the embedded demo default, then the environment; then
    the fleet's checks (``[cluster] redis_url`` set: see ``_check_fleet``)."""
    env = os.environ if env is None else env
    settings = demo_settings() if path is None else _from_file(Path(path))
    # The key the operator chose (the file's or the environment's): the demo's is random.
    chosen_key = env.get("COBROWSE_SECRET_KEY") or ("" if path is None else settings.secret_key)
    overrides: dict[str, Any] = {"secret_key": chosen_key or settings.secret_key or _random_key()}
    if "COBROWSE_HOST" in env:
        overrides["host"] = env["COBROWSE_HOST"]
    if "COBROWSE_PORT" in env:
        port = env["COBROWSE_PORT"].strip()
        overrides["port"] = _port(int(port) if port.isdigit() else port, "COBROWSE_PORT")
    if env.get("COBROWSE_CHROMIUM"):
        overrides["chromium"] = env["COBROWSE_CHROMIUM"]
    if env.get("COBROWSE_DATABASE"):
        overrides["database"] = env["COBROWSE_DATABASE"]
    if env.get("COBROWSE_REDIS_URL"):
        overrides["redis_url"] = _redis_url(env["COBROWSE_REDIS_URL"], "COBROWSE_REDIS_URL")
    settings = replace(settings, **overrides)
    _check_fleet(settings, bool(chosen_key))
    return settings


# Each node renews its visitors' presence once a second (``relay.core.RelayCore.tick``); a
# grace time must outlast a few missed beats.
FLEET_MIN_GRACE_SECONDS = 5.0


def _random_key() -> str:
    """A secret key for one process: its agent cookies die with it (one node only)."""
    return secrets.token_urlsafe(32)


def _check_fleet(settings: Settings, chosen_key: bool) -> None:
    """Several nodes (a Redis URL) share what one node kept to itself: the key that signs agent
    cookies (a cookie from one node must work on all) and the conversations (SQLite is a file
    on one machine)."""
    if settings.redis_url is None:
        return
    if not chosen_key:
        raise SettingsError(
            "a Redis URL ([cluster] redis_url or COBROWSE_REDIS_URL) runs several nodes, and all"
            " of them need the same secret_key to accept each other's agent cookies: set"
            " [server] secret_key or COBROWSE_SECRET_KEY"
        )
    if not is_postgres(settings.database):
        raise SettingsError(
            "a Redis URL ([cluster] redis_url or COBROWSE_REDIS_URL) runs several nodes, which"
            " cannot share a SQLite database: set [server] database or COBROWSE_DATABASE to a"
            " postgresql:// URL"
        )
    if settings.visitor_grace_seconds < FLEET_MIN_GRACE_SECONDS:
        raise SettingsError(
            "on several nodes, [server] visitor_grace_seconds must be at least"
            f" {FLEET_MIN_GRACE_SECONDS:g}: each node says its visitors are there once a second,"
            f" and a shorter grace would end sessions whose visitor is on another node, not"
            f" {settings.visitor_grace_seconds:g}"
        )


def _port(value: Any, key: str) -> int:
    """A TCP port number (an integer in the file: "8700" is a mistake there)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise SettingsError(f"{key} must be a port number (1-65535), not {value!r}")
    return value


def _from_file(path: Path) -> Settings:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None
    # A misspelt table or key is an error, never silently ignored: the user meant something.
    _known(data, _TOP_LEVEL, "the settings file's top level")
    server = _table(data, "server", _SERVER_KEYS)
    cluster = _table(data, "cluster", _CLUSTER_KEYS)
    limits = _limits(_table(data, "limits", _LIMIT_KEYS))
    brands = tuple(_brand(b, i) for i, b in enumerate(_tables(data, "brands")))
    agents = tuple(_agent(a, i) for i, a in enumerate(_tables(data, "agents")))
    if not brands:
        raise SettingsError("the settings file defines no [[brands]]")
    brand_ids = {b.id for b in brands}
    for agent in agents:
        missing = set(agent.brands) - brand_ids
        if missing:
            raise SettingsError(
                f"agent {agent.id!r} names unknown brand(s): {', '.join(sorted(missing))}"
            )
    base = Settings()
    return Settings(
        host=_string(server, "host", base.host, "server"),
        port=_port(server.get("port", base.port), "server.port"),
        # "" when the file has none: ``load_settings`` takes the environment's or a random one.
        secret_key=_string(server, "secret_key", "", "server"),
        invite_ttl_seconds=_seconds(server, "invite_ttl_seconds", base.invite_ttl_seconds),
        visitor_grace_seconds=_seconds(server, "visitor_grace_seconds", base.visitor_grace_seconds),
        chromium=_string(server, "chromium", base.chromium, "server"),
        secure_cookies=_bool(server, "secure_cookies"),
        demo=_bool(server, "demo"),
        resource_private_addresses=_bool(server, "resource_private_addresses"),
        database=_database(server.get("database", DEFAULT_DATABASE), path),
        trusted_proxies=_strings(server, "trusted_proxies", "server"),
        redis_url=(
            _redis_url(cluster["redis_url"], "cluster.redis_url")
            if "redis_url" in cluster
            else None
        ),
        brands=brands,
        agents=agents,
        limits=limits,
    )


def _limits(table: dict[str, Any]) -> ServerLimits:
    """``[limits]``: any of ``ServerLimits``'s fields, each of its type (an integer where the
    default is one; a finite number where it is a float) and above zero; the rest keep the
    defaults."""
    chosen: dict[str, Any] = {}
    for item in fields(ServerLimits):
        if item.name not in table:
            continue
        value, default = table[item.name], getattr(ServerLimits(), item.name)
        whole = isinstance(default, int)
        if (
            isinstance(value, bool)
            or not isinstance(value, int if whole else (int, float))
            or not 0 < value < float("inf")  # NaN fails this too
        ):
            kind = "a whole number" if whole else "a number"
            raise SettingsError(f"limits.{item.name} must be {kind} above 0, not {value!r}")
        chosen[item.name] = value if whole else float(value)
    return ServerLimits(**chosen)


# The keys a settings file may have; anything else is refused with its name.
_TOP_LEVEL = frozenset({"server", "cluster", "limits", "brands", "agents"})
_LIMIT_KEYS = frozenset(item.name for item in fields(ServerLimits))
_SERVER_KEYS = frozenset(
    {
        "host",
        "port",
        "secret_key",
        "invite_ttl_seconds",
        "visitor_grace_seconds",
        "chromium",
        "secure_cookies",
        "demo",
        "database",
        "trusted_proxies",
        "resource_private_addresses",
    }
)
_CLUSTER_KEYS = frozenset({"redis_url"})
_BRAND_KEYS = frozenset({"id", "name", "allowed_origins", "mask_selectors"})
_AGENT_KEYS = frozenset({"id", "name", "password_hash", "brands"})


def _known(table: dict[str, Any], keys: frozenset[str], where: str) -> None:
    unknown = set(table) - keys
    if unknown:
        raise SettingsError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")


def _table(data: dict[str, Any], name: str, keys: frozenset[str]) -> dict[str, Any]:
    """The ``[name]`` table (empty when absent), holding only ``keys``."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"[{name}] must be a table")
    _known(table, keys, f"[{name}]")
    return table


def _string(table: dict[str, Any], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise SettingsError(f"{where}.{key} must be a string, not {value!r}")
    return value


def _bool(server: dict[str, Any], key: str) -> bool:
    value = server.get(key, False)
    if not isinstance(value, bool):
        raise SettingsError(f"server.{key} must be true or false, not {value!r}")
    return value


def _seconds(server: dict[str, Any], key: str, default: float) -> float:
    value = server.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SettingsError(f"server.{key} must be a positive number of seconds, not {value!r}")
    return float(value)


def _database(value: Any, settings_file: Path) -> str:
    """A relative database path is relative to the settings file, not the working directory;
    a PostgreSQL URL is kept as it is. The value is never echoed: it may hold a password."""
    if not isinstance(value, str) or not value:
        raise SettingsError('server.database must be a path, ":memory:" or a postgresql:// URL')
    if value == MEMORY_DATABASE or is_postgres(value):
        return value
    target = Path(value).expanduser()
    if not target.is_absolute():
        target = settings_file.resolve().parent / target
    return str(target)


def _redis_url(value: Any, key: str) -> str:
    """A URL redis-py connects to. The value is never echoed: it may hold a password."""
    if not isinstance(value, str) or not value.lower().startswith(REDIS_SCHEMES):
        raise SettingsError(f"{key} must be a redis://, rediss:// or unix:// URL")
    return value


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SettingsError(f"[[{key}]] must be an array of tables")
    return value


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _required(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where}.{key} is required (a non-empty string)")
    return value


def _brand(table: dict[str, Any], index: int) -> Brand:
    where = f"brands[{index}]"
    _known(table, _BRAND_KEYS, where)
    origins = _strings(table, "allowed_origins", where)
    for origin in origins:
        if origin != SELF_ORIGIN and not origin.startswith(("http://", "https://")):
            raise SettingsError(f"{where}.allowed_origins: {origin!r} is not an http(s) origin")
    brand_id = _required(table, "id", where)
    return Brand(
        brand_id,
        _string(table, "name", brand_id, where),
        tuple(o.rstrip("/") for o in origins),
        _strings(table, "mask_selectors", where),
    )


def _agent(table: dict[str, Any], index: int) -> AgentLogin:
    where = f"agents[{index}]"
    _known(table, _AGENT_KEYS, where)
    password_hash = _required(table, "password_hash", where)
    if not password_hash.startswith("scrypt$"):
        raise SettingsError(
            f"{where}.password_hash must be an scrypt hash (use `cobrowse agent add`)"
        )
    agent_id = _required(table, "id", where)
    return AgentLogin(
        agent_id,
        _string(table, "name", agent_id, where),
        password_hash,
        _strings(table, "brands", where),
    )
