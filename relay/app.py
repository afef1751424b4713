"""The relay server: composes the core with its adapters into one Starlette app.

Owns: building each part with what it needs (settings, store, core, broker, renderer, clock),
the routes' order, the once-a-second tick (invite and grace expiry, ended sign-ins, the
settings file's changes) and shutdown. Must not: handle a request or a message itself
(``relay.pages``, ``relay.auth``, ``relay.sockets``, ``relay.replicas``), or be imported by
anything but the entry points (``relay.serve``, tests, the check, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from relay import wire_js
from relay.auth import SignIn
from relay.broker import Broker, LocalBroker
from relay.core import CoreSettings, LiveState, RelayCore
from relay.effects import EffectRunner
from relay.headers import SecurityHeaders
from relay.live import FleetLock, LocalLock, MemoryLiveState
from relay.live_settings import LiveSettings, core_rules
from relay.logs import ids, node_id
from relay.metrics import RelayMetrics
from relay.pages import STATIC_DIR, Pages
from relay.ratelimit import Limiter, LocalLimiter
from relay.replicas import Replicas
from relay.resources import Resources
from relay.settings import Settings
from relay.sockets import Sockets
from relay.store import MeteredStore, Observe, OpenStore, StoreError, open_store
from renderer.service import Renderer

log = logging.getLogger("cobrowse.relay")

DEMO_DIR = Path(__file__).resolve().parent / "demo"
# A fleet's session keys outlive the visitor grace time by this much: the core ends sessions;
# Redis only forgets those of a fleet that is gone.
SESSION_TTL_MARGIN_MS = 60_000


def now_ms() -> int:
    """The relay's clock, handed to the core with each event."""
    return int(time.time() * 1000)


class RelayServer:
    """One relay process: ``app`` is the ASGI app to serve. The keywords replace a part (tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        broker: Broker | None = None,
        renderer: Renderer | None = None,
        store: OpenStore | None = None,
        settings_path: str | Path | None = None,
        node: str | None = None,
    ) -> None:
        # The settings file is watched for changes to its agents and brands (``reload_settings``).
        self.live = LiveSettings(settings, settings_path)
        # SQLite or PostgreSQL; raises relay.store.StoreError when PostgreSQL is unreachable.
        self.store = store or open_store(settings.database)
        # The core's questions are asked at each scrape, once it exists.
        self.metrics = RelayMetrics(
            node or node_id(),
            sessions=lambda: _or_nan(self.core.active_sessions),
            invites=lambda: _or_nan(self.core.pending_invites),
        )
        # One node keeps invites and sessions in memory; a fleet (``[cluster] redis_url``) in
        # Redis, behind one lock, with Redis pub/sub between the nodes' sockets. Raises
        # relay.redis_live.LiveStateUnavailable (a StoreError) when Redis is unreachable.
        self.fleet = _Fleet.of(settings, broker, self.metrics.redis)
        agents, brands = core_rules(settings)
        # Conversations for the core, sign-in sessions for ``SignIn``: one database, timed.
        metered = MeteredStore(self.store, self.metrics.stored)
        self.core = RelayCore(
            agents,
            brands,
            store=metered,
            live=self.fleet.live,
            new_id=lambda: secrets.token_urlsafe(12),
            new_token=lambda: secrets.token_urlsafe(32),
            settings=CoreSettings(
                invite_ttl_ms=int(settings.invite_ttl_seconds * 1000),
                visitor_grace_ms=int(settings.visitor_grace_seconds * 1000),
            ),
        )
        self.broker: Broker = self.fleet.broker
        self.renderer = renderer or Renderer(chromium_setting=settings.chromium)
        self.replicas = Replicas(self.core, self.renderer, self.broker, self.metrics)
        self.effects = EffectRunner(self.broker, self.replicas)
        limits = settings.limits
        sign_in = SignIn(
            self.live,
            self.fleet.limiter(limits.login_attempts_per_minute),
            # Fleet-wide: guesses spread over the nodes count against one budget per account.
            account_limiter=self.fleet.limiter(
                limits.login_attempts_per_account_per_minute, "login_account"
            ),
            store=metered,
        )
        self.sockets = Sockets(
            self.core,
            self.live,
            sign_in,
            self.broker,
            lock=self.fleet.lock,
            limiter=self.fleet.limiter,
            apply=self.effects.apply,
            clock=now_ms,
            metrics=self.metrics,
        )
        # The brand's fonts, images and stylesheets for the agents' replicas, from our origin.
        self.resources = Resources(
            self.core, sign_in, settings.limits, settings.resource_private_addresses
        )
        routes: list[BaseRoute] = [
            *Pages(self.core, self.live, sign_in, self.metrics).routes(),
            *sign_in.routes(),
            *self.resources.routes(),
            *self.sockets.routes(),
            wire_js.ROUTE,  # the built wire/nodes.js, before the /static mount
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ]
        if settings.demo:
            routes.append(
                Mount("/demo", app=StaticFiles(directory=DEMO_DIR, html=True), name="demo")
            )
        # Outside Starlette's error handler: its 500 page gets the security headers too.
        self.app: ASGIApp = SecurityHeaders(Starlette(routes=routes, lifespan=self._lifespan))

    @property
    def settings(self) -> Settings:
        """The running settings (agents and brands as last reloaded)."""
        return self.live.current

    async def reload_settings(self, settings: Settings | None = None) -> bool:
        """Take the agents and brands of the settings file (or of ``settings``) without a
        restart; running sessions get new mask selectors at once (``session.config``).
        A file that does not load is reported and changes nothing. Returns whether it took."""
        taken = await self.live.reload(settings)
        if taken is None:
            return False
        try:
            async with self.fleet.lock.held():
                await self.effects.apply(self.core.update_accounts(*core_rules(taken)))
                await self.broker.flush()
        except StoreError as lost:  # Redis away: the next change of the file tries again
            log.error("store.error", extra=ids(error=type(lost).__name__))
        await self.sockets.close_removed_agents()
        return True

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.fleet.start()  # a fleet's node does not start without Redis
        ticker = asyncio.create_task(self._tick_forever())
        try:
            yield
        finally:
            ticker.cancel()
            self.replicas.close()
            await self.renderer.close()
            await self.fleet.close()
            self.store.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.tick()
            if self.live.file_changed():
                await self.reload_settings()

    async def tick(self) -> None:
        """Invite and grace expiry, this node's visitors' heartbeat, replicas to drop, and the
        agent sockets whose sign-in ended (signed out, password changed, account removed:
        ``Sockets.close_removed_agents``, one store query)."""
        try:
            async with self.fleet.lock.held():
                await self.effects.apply(self.core.tick(now_ms()))
                try:
                    # The rows of conversations whose session the tick (or a settings change)
                    # ended: apart from the tick's own effects, which need no store.
                    await self.effects.apply(self.core.announce_rows())
                except StoreError as lost:  # still due: the next tick announces them
                    log.error("store.error", extra=ids(error=type(lost).__name__))
                await self.broker.flush()
        except StoreError as lost:  # the database or Redis away: the next tick tries again
            log.error("store.error", extra=ids(error=type(lost).__name__))
        try:
            await self.sockets.close_removed_agents()
        except StoreError as lost:  # an outage is not a sign-out: the next tick asks again
            log.error("store.error", extra=ids(error=type(lost).__name__))


def _or_nan(count: Callable[[], int]) -> float:
    """A fleet-wide count for a scrape, or NaN while Redis is away (the scrape still works)."""
    try:
        return float(count())
    except StoreError:
        return math.nan


def create_app(settings: Settings, **kwargs: Any) -> ASGIApp:
    return RelayServer(settings, **kwargs).app


class _Fleet:
    """Where live state, the lock and the frames between sockets live: this process (the
    embedded default), or Redis for a fleet of nodes."""

    def __init__(
        self,
        live: LiveState,
        lock: FleetLock,
        broker: Broker,
        *,
        limiter: Callable[[str, int], Limiter] = lambda _name, per_minute: LocalLimiter(per_minute),
        start: Callable[[], Awaitable[None]] | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.live = live
        self.lock = lock
        self.broker = broker
        self._limiter = limiter
        self._start = start
        self._close = close

    def limiter(self, per_minute: int, name: str = "login") -> Limiter:
        """A per-client rate limit: this process's, or the fleet's (one budget in Redis
        whichever node an attempt reaches)."""
        return self._limiter(name, per_minute)

    @classmethod
    def of(cls, settings: Settings, broker: Broker | None, observe: Observe) -> _Fleet:
        if settings.redis_url is None:
            return cls(MemoryLiveState(), LocalLock(), broker or LocalBroker())
        from relay.redis_broker import RedisBroker
        from relay.redis_limits import RedisLimiter
        from relay.redis_live import RedisLiveState, RedisLock

        url = settings.redis_url
        live = RedisLiveState(
            url,
            # Longer than the grace time: the core ends sessions, Redis only forgets the dead.
            session_ttl_ms=int(settings.visitor_grace_seconds * 1000) + SESSION_TTL_MARGIN_MS,
            clock=now_ms,
            observe=observe,
        )
        client = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        redis_broker = RedisBroker.to(url)
        redis_broker.observe = observe
        fleet_broker: Broker = broker or redis_broker

        async def start() -> None:
            if broker is None:
                await redis_broker.start()

        async def close() -> None:
            await redis_broker.close()
            await client.aclose()
            live.close()

        return cls(
            live,
            RedisLock(client, url, observe),
            fleet_broker,
            limiter=lambda name, per_minute: RedisLimiter(client, name, per_minute),
            start=start,
            close=close,
        )

    async def start(self) -> None:
        if self._start is not None:
            await self._start()

    async def close(self) -> None:
        if self._close is not None:
            await self._close()
