"""Token buckets for per-socket message rates and per-client sign-in attempts.

Pure: the caller passes the time in seconds. Must not: sleep or read a clock.
"""

from __future__ import annotations

from dataclasses import dataclass


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
