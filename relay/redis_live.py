"""Invites, sessions and visitors' presence in Redis: the fleet's ``LiveState`` and lock.

Owns: the live keys (all under ``cobrowse:live:``), their expiries, the fleet's lock, and what
happens when Redis goes away. Every node reads and writes the same keys, so an agent on one
node and its visitor on another see one session; a change runs under the fleet's lock
(``RedisLock``), a read on the hot path does not need it. Must not: keep anything of a
session's content (a record is ids, a mode, a brand and the visitor's page origin), or
decide anything (the core does).

Keys (``ID`` an invite's or a session's id, ``A`` an agent's, ``C`` a conversation's):

- ``inv:ID`` (the invite as JSON), ``inv:agent:A`` and ``inv:conv:C`` (its id): expire a
  minute after the invite does, should no node be left to expire it;
- ``ses:ID`` (the session as JSON), ``ses:agent:A`` and ``ses:conv:C`` (its id): expire
  ``SESSION_TTL_MS`` after a node last saw its visitor (each node's heartbeat renews them);
- ``invites`` and ``sessions``: sorted sets of ids by expiry time (due invites, counts);
- ``seen``: a sorted set of conversations by when a node last saw their visitor;
- ``lock``: the fleet's lock.

The indexes expire too (``INDEX_TTL_MS`` after the last heartbeat): a fleet that is gone
leaves nothing behind. A lost Redis raises ``LiveStateUnavailable`` (a ``StoreError``: the
client gets ``internal`` or a 1011 close, and tries again), never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict
from typing import Any, Final, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from relay.core import Invite, Session
from relay.redis_broker import redacted
from relay.store import Observe, StoreError

log = logging.getLogger("cobrowse.relay")

PREFIX: Final = "cobrowse:live:"
INVITE_MARGIN_MS: Final = 60_000  # an invite's keys outlive its expiry by this much
LOCK_TTL_S: Final = 10.0  # a node that dies holding the lock blocks the others this long at most
LOCK_WAIT_S: Final = 5.0  # how long a core call waits for the lock before it fails
# How old a hot-path read of a session may be (``recent_session``): a pointer or an action
# may pass on this long after another node ended the session (the tag ignores messages of a
# session it no longer has), never after a refusal (judged on a fresh read).
RECENT_S: Final = 0.5
RECENT_MAX: Final = 100_000  # sessions remembered; all forgotten at once past it

T = TypeVar("T")


class LiveStateUnavailable(StoreError):
    """Redis cannot be reached, or the fleet's lock could not be had in time."""


def _key(*parts: str) -> str:
    return PREFIX + ":".join(parts)


# The heartbeat, in one round trip: mark the conversations' visitors seen at ARGV[1] and renew
# the expiry of their sessions' keys to ARGV[2] ms (ARGV[3]: the indexes' expiry in ms).
_HEARTBEAT: Final = """
local now, ttl, index_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seen, sessions = KEYS[1], KEYS[2]
for i = 4, #ARGV do
  local conversation = ARGV[i]
  redis.call('ZADD', seen, now, conversation)
  local conv_key = KEYS[3] .. 'ses:conv:' .. conversation
  local id = redis.call('GET', conv_key)
  if id then
    local raw = redis.call('GET', KEYS[3] .. 'ses:' .. id)
    if raw then
      local agent = cjson.decode(raw)['agent']
      redis.call('PEXPIRE', KEYS[3] .. 'ses:' .. id, ttl)
      redis.call('PEXPIRE', conv_key, ttl)
      if redis.call('GET', KEYS[3] .. 'ses:agent:' .. agent) == id then
        redis.call('PEXPIRE', KEYS[3] .. 'ses:agent:' .. agent, ttl)
      end
      redis.call('ZADD', sessions, now + ttl, id)
    end
  end
end
redis.call('PEXPIRE', seen, index_ttl)
if redis.call('EXISTS', sessions) == 1 then redis.call('PEXPIRE', sessions, index_ttl) end
return 0
"""

# Take (and forget) the conversations last seen at ARGV[1] or earlier.
_GONE: Final = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return gone
"""


class RedisLiveState:
    """``relay.core.LiveState`` on Redis. ``RedisLiveState(url, ...)`` connects and checks
    Redis at once (raises ``LiveStateUnavailable``: a node must not start without it).

    The core calls it synchronously, on the event loop, as it calls the PostgreSQL store: one
    round trip (or one transaction) per call, with ``timeout`` seconds at most each.
    ``session_ttl_ms``: how long a session's keys live after its visitor was last seen (more
    than the visitor grace time, so that the core, not Redis, ends a session). ``observe``
    hears of each round trip (``relay.metrics.RelayMetrics.redis``).
    """

    def __init__(
        self,
        url: str,
        *,
        session_ttl_ms: int,
        clock: Callable[[], int],
        observe: Observe = lambda _operation, _seconds, _ok: None,
        timeout: float = 2.0,
    ) -> None:
        self._url = url
        self._observe = observe  # each round trip: (operation, seconds, succeeded)
        self._session_ttl = session_ttl_ms
        self._index_ttl = session_ttl_ms + INVITE_MARGIN_MS
        self._clock = clock  # wall-clock ms, only to judge the ``sessions`` index's expiries
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=15
        )
        # session id -> (when read, the session): ``recent_session``'s reads
        self._recent: dict[str, tuple[float, Session | None]] = {}
        self._heartbeat = self._client.register_script(_HEARTBEAT)
        self._gone = self._client.register_script(_GONE)
        self._call("ping", self._client.ping)

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------ invites

    def invite(self, invite_id: str) -> Invite | None:
        return _invite(self._call("invite", lambda: self._client.get(_key("inv", invite_id))))

    def invite_of_agent(self, agent_id: str) -> Invite | None:
        return self._invite_by("invite_of_agent", _key("inv", "agent", agent_id))

    def invite_of_conversation(self, conversation_id: str) -> Invite | None:
        return self._invite_by("invite_of_conversation", _key("inv", "conv", conversation_id))

    def add_invite(self, invite: Invite) -> None:
        ttl = self._invite_ttl(invite)
        pipe = self._client.pipeline(transaction=True)
        pipe.set(_key("inv", invite.id), json.dumps(asdict(invite)), px=ttl)
        pipe.set(_key("inv", "agent", invite.agent), invite.id, px=ttl)
        pipe.set(_key("inv", "conv", invite.conversation), invite.id, px=ttl)
        pipe.zadd(_key("invites"), {invite.id: invite.expires_at})
        pipe.pexpire(_key("invites"), self._index_ttl + ttl)
        self._call("add_invite", pipe.execute)

    def remove_invite(self, invite: Invite) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(_key("inv", invite.id))
        pipe.zrem(_key("invites"), invite.id)
        self._call("remove_invite", pipe.execute)
        # Its indexes, unless a newer invite took them (never while the lock is held right).
        self._unindex("remove_invite", invite.id, _key("inv", "agent", invite.agent))
        self._unindex("remove_invite", invite.id, _key("inv", "conv", invite.conversation))

    def invites(self) -> list[Invite]:
        ids = self._call("invites", lambda: self._client.zrange(_key("invites"), 0, -1))
        return self._records("invites", ids, "inv", _invite)

    def invites_due(self, now: int) -> list[Invite]:
        # Ids whose record expired by itself (no node ran for a minute) go first.
        self._call(
            "invites_due",
            lambda: self._client.zremrangebyscore(_key("invites"), "-inf", now - INVITE_MARGIN_MS),
        )
        ids = self._call(
            "invites_due", lambda: self._client.zrangebyscore(_key("invites"), "-inf", now)
        )
        return self._records("invites_due", ids, "inv", _invite)

    # ------------------------------------------------------------ sessions

    def session(self, session_id: str) -> Session | None:
        return _session(self._call("session", lambda: self._client.get(_key("ses", session_id))))

    def recent_session(self, session_id: str) -> Session | None:
        """A read at most ``RECENT_S`` old: the hot path (pointer, DOM, acts) costs no round
        trip per message. This node's own changes replace it at once."""
        now = time.monotonic()
        cached = self._recent.get(session_id)
        if cached is not None and now - cached[0] < RECENT_S:
            return cached[1]
        session = self.session(session_id)
        if len(self._recent) >= RECENT_MAX:
            self._recent.clear()
        self._recent[session_id] = (now, session)
        return session

    def session_of_agent(self, agent_id: str) -> Session | None:
        return self._session_by("session_of_agent", _key("ses", "agent", agent_id))

    def session_of_conversation(self, conversation_id: str) -> Session | None:
        return self._session_by("session_of_conversation", _key("ses", "conv", conversation_id))

    def put_session(self, session: Session) -> None:
        ttl = self._session_ttl
        pipe = self._client.pipeline(transaction=True)
        pipe.set(_key("ses", session.id), json.dumps(asdict(session)), px=ttl)
        pipe.set(_key("ses", "agent", session.agent), session.id, px=ttl)
        pipe.set(_key("ses", "conv", session.conversation), session.id, px=ttl)
        pipe.zadd(_key("sessions"), {session.id: self._clock() + ttl})
        pipe.pexpire(_key("sessions"), self._index_ttl)
        self._call("put_session", pipe.execute)
        self._recent.pop(session.id, None)

    def remove_session(self, session: Session) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(_key("ses", session.id))
        pipe.zrem(_key("sessions"), session.id)
        self._call("remove_session", pipe.execute)
        self._recent.pop(session.id, None)
        self._unindex("remove_session", session.id, _key("ses", "agent", session.agent))
        self._unindex("remove_session", session.id, _key("ses", "conv", session.conversation))

    def sessions(self) -> list[Session]:
        now = self._clock()
        ids = self._call(
            "sessions", lambda: self._client.zrangebyscore(_key("sessions"), now, "+inf")
        )
        return self._records("sessions", ids, "ses", _session)

    def cobrowsing(self, conversation_ids: Iterable[str]) -> set[str]:
        wanted = list(conversation_ids)
        if not wanted:
            return set()
        found = self._call(
            "cobrowsing", lambda: self._client.mget([_key("ses", "conv", c) for c in wanted])
        )
        return {c for c, session_id in zip(wanted, found, strict=True) if session_id}

    def existing(self, session_ids: Iterable[str]) -> set[str]:
        wanted = list(session_ids)
        if not wanted:
            return set()
        found = self._call("existing", lambda: self._client.mget([_key("ses", s) for s in wanted]))
        return {s for s, raw in zip(wanted, found, strict=True) if raw}

    # ------------------------------------------------------------ presence

    def visitors_seen(self, conversation_ids: Iterable[str], now: int) -> None:
        conversations = list(conversation_ids)
        self._call(
            "visitors_seen",
            lambda: self._heartbeat(
                keys=[_key("seen"), _key("sessions"), PREFIX],
                args=[now, self._session_ttl, self._index_ttl, *conversations],
            ),
        )

    def visitors_gone(self, before: int) -> list[str]:
        gone = self._call("visitors_gone", lambda: self._gone(keys=[_key("seen")], args=[before]))
        # Sessions whose keys expired (no node saw their visitor at all) leave the count too.
        self._call(
            "visitors_gone",
            lambda: self._client.zremrangebyscore(_key("sessions"), "-inf", self._clock()),
        )
        return [_text(conversation) for conversation in gone]

    def counts(self) -> tuple[int, int]:
        now = self._clock()
        pipe = self._client.pipeline(transaction=False)
        pipe.zcount(_key("sessions"), now, "+inf")
        pipe.zcard(_key("invites"))
        sessions, invites = self._call("counts", pipe.execute)
        return int(sessions), int(invites)

    # ------------------------------------------------------------ helpers

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """One round trip (or one transaction) of ``operation``, timed for the metrics."""
        started = time.perf_counter()
        try:
            result = call()
        except (RedisError, OSError) as error:
            self._observe(operation, time.perf_counter() - started, False)
            raise LiveStateUnavailable(
                f"Redis at {redacted(self._url)} failed: {type(error).__name__}"
            ) from None
        self._observe(operation, time.perf_counter() - started, True)
        return result

    def _invite_ttl(self, invite: Invite) -> int:
        """Until a minute after the invite expires (relative: Redis's clock is not ours)."""
        return max(0, invite.expires_at - self._clock()) + INVITE_MARGIN_MS

    def _invite_by(self, op: str, index: str) -> Invite | None:
        invite_id = self._call(op, lambda: self._client.get(index))
        if not invite_id:
            return None
        return _invite(self._call(op, lambda: self._client.get(_key("inv", _text(invite_id)))))

    def _session_by(self, op: str, index: str) -> Session | None:
        session_id = self._call(op, lambda: self._client.get(index))
        if not session_id:
            return None
        return _session(self._call(op, lambda: self._client.get(_key("ses", _text(session_id)))))

    def _records(
        self, op: str, ids: list[Any], kind: str, read: Callable[[Any], T | None]
    ) -> list[T]:
        if not ids:
            return []
        raws = self._call(op, lambda: self._client.mget([_key(kind, _text(i)) for i in ids]))
        return [record for record in map(read, raws) if record is not None]

    def _unindex(self, op: str, record_id: str, index: str) -> None:
        # Compare and delete in one step: a newer record's index is kept.
        self._call(op, lambda: self._client.eval(_DELETE_IF, 1, index, record_id))


_DELETE_IF: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLock:
    """The fleet's lock (``relay.live.FleetLock``): one Redis key, set if absent with an
    expiry, freed only by its holder (redis-py's ``Lock``). A node that dies holding it
    stalls the others' changes ``LOCK_TTL_S`` at most; a call that cannot have it within
    ``LOCK_WAIT_S`` fails with ``LiveStateUnavailable``."""

    def __init__(
        self,
        client: aioredis.Redis,
        url: str,
        observe: Observe = lambda _operation, _seconds, _ok: None,
    ) -> None:
        self._client = client
        self._url = url
        self._observe = observe  # the wait for the lock: ("lock", seconds, had it)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        lock = self._client.lock(
            _key("lock"), timeout=LOCK_TTL_S, sleep=0.002, blocking_timeout=LOCK_WAIT_S
        )
        started = time.perf_counter()
        try:
            acquired = await lock.acquire()
        except (RedisError, OSError) as error:
            self._observe("lock", time.perf_counter() - started, False)
            raise LiveStateUnavailable(
                f"Redis at {redacted(self._url)} failed: {type(error).__name__}"
            ) from None
        self._observe("lock", time.perf_counter() - started, bool(acquired))
        if not acquired:
            raise LiveStateUnavailable("the fleet's lock is busy; try again")
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                # Held past LOCK_TTL_S (a stalled call): another node may have it now.
                log.error("fleet.lock_expired")
            except (RedisError, OSError) as error:
                log.error("fleet.lock_release_failed error=%s", type(error).__name__)


# ---------------------------------------------------------------- records


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _invite(raw: Any) -> Invite | None:
    return Invite(**json.loads(raw)) if raw else None


def _session(raw: Any) -> Session | None:
    return Session(**json.loads(raw)) if raw else None
