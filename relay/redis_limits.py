"""Fleet-wide rate limits: token buckets kept in Redis, so that an attempt counts against one
budget whichever node it reaches (a brute force spread over the nodes is limited as on one).

Owns: the buckets ``cobrowse:limit:<name>:<digest of the key>`` and the Lua script that takes a
token from one, atomically, in one round trip, timed by Redis's own clock (nodes' clocks
differ). A bucket expires once it would be full again, so an idle client leaves nothing
behind. Must not: keep a bucket in this process, or put a client's text in a Redis key (a key
is hashed: a hostile client cannot grow one).
"""

from __future__ import annotations

import hashlib
import re

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from relay.broker import BrokerUnavailable

KEY_PREFIX = "cobrowse:limit:"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # ours, never a client's

# KEYS[1]: the bucket (a hash: tokens, at). ARGV[1]: its size (burst); ARGV[2]: tokens added per
# millisecond. Returns 1 (a token taken) or 0 (refused). The same arithmetic as
# ``relay.ratelimit.TokenBucket``: a new bucket is full; it refills with time up to its size.
_TAKE = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- gone when full again: a missing bucket is a full one
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
return taken
"""


class RedisLimiter:
    """A ``relay.ratelimit.Limiter`` for the fleet: ``per_minute`` attempts a minute per key
    across every node sharing ``client``'s Redis, in bursts of up to ``per_minute``. ``name``
    (lowercase letters, digits, ``_``) keeps one limit's buckets apart from another's. The
    caller owns ``client`` (and closes it)."""

    def __init__(self, client: aioredis.Redis, name: str, per_minute: int) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"a limit's name is [a-z][a-z0-9_]*, up to 32 characters: {name!r}")
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, not {per_minute}")
        self._prefix = f"{KEY_PREFIX}{name}:"
        self._args = (per_minute, per_minute / 60_000)
        self._take = client.register_script(_TAKE)

    def key_of(self, key: str) -> str:
        """The Redis key of ``key``'s bucket: a fixed length, whatever the client sent."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self._prefix + digest

    async def allow(self, key: str) -> bool:
        """Take a token from ``key``'s bucket; False means: refuse this attempt. Raises
        ``BrokerUnavailable`` (one line, no credentials) when Redis does not answer."""
        try:
            taken = await self._take(keys=[self.key_of(key)], args=list(self._args))
        except (RedisError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise BrokerUnavailable(f"Redis lost (rate limit): {reason}") from None
        return bool(taken)
