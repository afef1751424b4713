"""Token buckets for per-socket message rates and per-client sign-in attempts, and the
``Limiter`` a caller asks ("may this key act now?") without knowing where the buckets live.

Owns: the bucket arithmetic (pure: the caller passes the time in seconds) and ``LocalLimiter``,
one process's buckets read with the clock it is handed. The fleet's limiter, whose buckets are
in Redis so that every node counts against one budget, is ``relay.redis_limits.RedisLimiter``.
Must not: sleep, or read a clock other than the one a ``LocalLimiter`` was given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    """``per_minute`` attempts a minute per key, in bursts of up to ``per_minute``."""

    async def allow(self, key: str) -> bool:
        """Count an attempt by ``key`` (a client address); False means: refuse it. A fleet's
        limiter raises ``relay.redis_broker.BrokerUnavailable`` when it cannot count."""
        ...


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # bucket size
    tokens: float = -1.0
    updated: float = 0.0

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if there are enough; False means: refuse this one."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class KeyedLimiter:
    """One bucket per key (a client address), forgetting idle keys to bound memory."""

    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(per_minute)
        self._max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                full = [k for k, b in self._buckets.items() if b.tokens >= b.burst - 1e-9]
                for stale in full or list(self._buckets)[: self._max_keys // 2]:
                    del self._buckets[stale]
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst)
        return bucket.allow(now)


class LocalLimiter:
    """A ``Limiter`` in this process's memory: right for one node, not for a fleet (each node
    would give a client its own budget)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = KeyedLimiter(per_minute)
        self._clock = clock

    async def allow(self, key: str) -> bool:
        return self._buckets.allow(key, self._clock())
