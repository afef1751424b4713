"""What an operator sees of a relay node: counters, gauges and a histogram for ``GET /metrics``.

Owns: the metric names (all ``cobrowse_``, each with this node's id as ``node``), a registry of
the server's own (many servers share one test process), and bounding every label to a known
set: a message type outside the protocol counts as ``"unknown"``, so a hostile client cannot
grow the series. Must not: put a message's content in a label (only its type, an error code, a
role, a reason from this module), or read the core's tables (it asks the core's questions).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from relay.core import LiveState
from relay.store import OPERATIONS as STORE_OPERATIONS
from wire import protocol
from wire.errors import ERROR_CODES

__all__ = ["CONTENT_TYPE", "UNKNOWN", "RelayMetrics", "is_loopback"]

UNKNOWN: Final = "unknown"
ROLES: Final[tuple[str, ...]] = (protocol.VISITOR, protocol.AGENT)
# Why the relay closed an accepted socket (``RelayMetrics.socket_cut``).
CUT_REASONS: Final = (
    "too_slow",
    "frame_too_big",
    "too_many_errors",
    "account_removed",
    "signed_out",  # logout, a changed password or an expired sign-in (issue 19)
    "broker_lost",
    "write_failed",
)
# Why a socket was refused before it was accepted (``RelayMetrics.socket_refused``).
REFUSED_REASONS: Final = ("origin", "cookie", "rate_limited", "store")
# Why a session's replica had to be rebuilt from a new snapshot (``RelayMetrics.replica_failed``).
REPLICA_FAILURES: Final = ("renderer_error", "replica_lost", "backlog_full")
RENDER_KINDS: Final = ("snapshot", "mutations")
# Renderer calls take milliseconds (a batch of mutations) to seconds (a big snapshot).
RENDER_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Store calls: SQLite in microseconds, PostgreSQL on loopback in a millisecond or two; anything
# near the top holds every socket of the node.
# A fleet node's Redis round trips: each LiveState call, the start-up check, waiting for the
# fleet's lock, and publishing a frame to another node's sockets.
REDIS_OPERATIONS: Final = (
    *(name for name in vars(LiveState) if not name.startswith("_")),
    "ping",
    "lock",
    "publish",
)
STORE_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0)

# The relay's own frames all begin so (``protocol.encode``: compact separators, v first).
_FRAME_HEAD: Final = f'{{"v":{protocol.PROTOCOL_VERSION},"type":"'


class RelayMetrics:
    """Count what flows through one relay node; ``exposition()`` is the text for a scrape.

    ``sessions`` and ``invites`` are the core's questions (``RelayCore.active_sessions``,
    ``RelayCore.pending_invites``), asked at each scrape.
    """

    def __init__(
        self, node: str, *, sessions: Callable[[], float], invites: Callable[[], float]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        types = (*protocol.MESSAGES, UNKNOWN)
        sockets = Gauge(
            "cobrowse_sockets_open", "Open WebSockets by role.", ["node", "role"], registry=r
        )
        self._sockets = {role: sockets.labels(node, role) for role in ROLES}
        Gauge(
            "cobrowse_sessions_active",
            "CoBrowse sessions running (fleet-wide on a fleet; NaN while Redis is away).",
            ["node"],
            registry=r,
        ).labels(node).set_function(lambda: float(sessions()))
        Gauge(
            "cobrowse_invites_pending",
            "Invites waiting for the visitor (fleet-wide on a fleet; NaN while Redis is away).",
            ["node"],
            registry=r,
        ).labels(node).set_function(lambda: float(invites()))
        received = Counter(
            "cobrowse_messages_received",
            "Frames received from visitors and agents, by the message type they named "
            "('unknown' when none of the protocol's).",
            ["node", "type"],
            registry=r,
        )
        self._received = {kind: received.labels(node, kind) for kind in types}
        sent = Counter(
            "cobrowse_messages_sent",
            "Frames written to visitors' and agents' sockets, by message type.",
            ["node", "type"],
            registry=r,
        )
        self._sent = {kind: sent.labels(node, kind) for kind in types}
        errors = Counter(
            "cobrowse_protocol_errors",
            "Messages refused with an error, by role and error code.",
            ["node", "role", "code"],
            registry=r,
        )
        self._errors = {
            (role, code): errors.labels(node, role, code) for role in ROLES for code in ERROR_CODES
        }
        cut = Counter(
            "cobrowse_sockets_closed_by_relay",
            "Accepted sockets the relay closed: too slow to read their frames (the peer "
            "reconnects and resyncs), a frame over the limit, too many invalid messages.",
            ["node", "role", "reason"],
            registry=r,
        )
        self._cut = {
            (role, why): cut.labels(node, role, why) for role in ROLES for why in CUT_REASONS
        }
        refused = Counter(
            "cobrowse_sockets_refused",
            "Sockets refused before they opened: an origin of no brand, no agent cookie, too many"
            " new visitor sockets from one address.",
            ["node", "role", "reason"],
            registry=r,
        )
        self._refused = {
            (role, why): refused.labels(node, role, why)
            for role in ROLES
            for why in REFUSED_REASONS
        }
        self._resyncs = Counter(
            "cobrowse_resyncs", "Resync requests sent to visitors' tabs.", ["node"], registry=r
        ).labels(node)
        failures = Counter(
            "cobrowse_replica_failures",
            "Replicas rebuilt from a new snapshot: the renderer refused or failed a call, "
            "lost the replica, or the session's render backlog was full.",
            ["node", "reason"],
            registry=r,
        )
        self._failures = {why: failures.labels(node, why) for why in REPLICA_FAILURES}
        render = Histogram(
            "cobrowse_render_seconds",
            "Time of one renderer call (a snapshot, or a group of mutations batches).",
            ["node", "kind"],
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self._render = {kind: render.labels(node, kind) for kind in RENDER_KINDS}
        self._store, self._store_errors = _by_operation(
            r,
            node,
            "cobrowse_store",
            "Time of one conversation-store call (SQLite or PostgreSQL), on the event loop.",
            "Conversation-store calls that failed (the database unreachable or restarting).",
            STORE_OPERATIONS,
        )
        self._redis, self._redis_errors = _by_operation(
            r,
            node,
            "cobrowse_redis",
            "Time of one Redis round trip of a fleet's node (live state, the fleet's lock "
            "(the wait for it), publishing a frame); absent on one node.",
            "Redis round trips that failed (Redis unreachable, or the lock not had in time).",
            REDIS_OPERATIONS,
        )

    # ------------------------------------------------------------ sockets (relay.sockets)

    def socket_opened(self, role: str) -> None:
        self._sockets[role].inc()

    def socket_closed(self, role: str) -> None:
        self._sockets[role].dec()

    def socket_cut(self, role: str, reason: str) -> None:
        self._cut[role, reason].inc()

    def socket_refused(self, role: str, reason: str) -> None:
        self._refused[role, reason].inc()

    def received(self, message_type: str | None) -> None:
        """One frame in; ``message_type`` as the peer named it (None when it named none)."""
        self._received.get(message_type or UNKNOWN, self._received[UNKNOWN]).inc()

    def sent(self, frame: str) -> None:
        """One frame of the relay's own (``protocol.encode``) written to a socket."""
        end = frame.find('"', len(_FRAME_HEAD)) if frame.startswith(_FRAME_HEAD) else -1
        kind = frame[len(_FRAME_HEAD) : end] if end > 0 else UNKNOWN
        self._sent.get(kind, self._sent[UNKNOWN]).inc()
        if kind == "resync":
            self._resyncs.inc()

    def protocol_error(self, role: str, code: str) -> None:
        self._errors[role, code].inc()

    # ------------------------------------------------------------ replicas (relay.replicas)

    def rendered(self, kind: str, seconds: float) -> None:
        """One renderer call of ``kind`` (``snapshot`` or ``mutations``) took ``seconds``."""
        self._render[kind].observe(seconds)

    def replica_failed(self, reason: str) -> None:
        self._failures[reason].inc()

    # ------------------------------------------------------------ the store (relay.store)

    def stored(self, operation: str, seconds: float, ok: bool) -> None:
        """One store call (``relay.store.MeteredStore``)."""
        self._store[operation].observe(seconds)
        if not ok:
            self._store_errors[operation].inc()

    def redis(self, operation: str, seconds: float, ok: bool) -> None:
        """One Redis round trip (``relay.redis_live``, ``relay.redis_broker``)."""
        self._redis[operation].observe(seconds)
        if not ok:
            self._redis_errors[operation].inc()

    # ------------------------------------------------------------ the scrape (relay.pages)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric, gauges read now."""
        return generate_latest(self.registry)


def _by_operation(
    registry: CollectorRegistry,
    node: str,
    name: str,
    timed: str,
    failed: str,
    operations: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``<name>_seconds`` (a histogram) and ``<name>_errors`` (a counter) by operation."""
    seconds = Histogram(
        f"{name}_seconds", timed, ["node", "operation"], buckets=STORE_BUCKETS, registry=registry
    )
    errors = Counter(f"{name}_errors", failed, ["node", "operation"], registry=registry)
    return (
        {op: seconds.labels(node, op) for op in operations},
        {op: errors.labels(node, op) for op in operations},
    )


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine's (127.0.0.0/8, ::1, or v4-mapped loopback)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False  # a name, not an address (a test client's "testclient"): not loopback
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))
