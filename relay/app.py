"""The relay server: composes the core with its adapters into one Starlette app.

Owns: building each part with what it needs (settings, store, core, broker, renderer, clock),
the routes' order, the once-a-second tick (invite and grace expiry, the settings file's
changes) and shutdown. Must not: handle a request or a message itself (``relay.pages``,
``relay.auth``, ``relay.sockets``, ``relay.replicas``), or be imported by anything but the
entry points (``relay.serve``, tests, the check, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from relay import wire_js
from relay.auth import SignIn
from relay.broker import Broker, LocalBroker
from relay.core import CoreSettings, RelayCore
from relay.effects import EffectRunner
from relay.live_settings import LiveSettings, core_rules
from relay.logs import node_id
from relay.metrics import RelayMetrics
from relay.pages import STATIC_DIR, Pages
from relay.replicas import Replicas
from relay.settings import Settings
from relay.sockets import Sockets
from relay.store import MeteredStore, OpenStore, open_store
from renderer.service import Renderer

DEMO_DIR = Path(__file__).resolve().parent / "demo"


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
            sessions=lambda: self.core.active_sessions(),
            invites=lambda: self.core.pending_invites(),
        )
        agents, brands = core_rules(settings)
        self.core = RelayCore(
            agents,
            brands,
            store=MeteredStore(self.store, self.metrics.stored),
            new_id=lambda: secrets.token_urlsafe(12),
            new_token=lambda: secrets.token_urlsafe(32),
            settings=CoreSettings(
                invite_ttl_ms=int(settings.invite_ttl_seconds * 1000),
                visitor_grace_ms=int(settings.visitor_grace_seconds * 1000),
            ),
        )
        self.broker: Broker = broker or LocalBroker()
        self.renderer = renderer or Renderer(chromium_setting=settings.chromium)
        self.replicas = Replicas(self.core, self.renderer, self.broker, self.metrics)
        self.effects = EffectRunner(self.broker, self.replicas)
        sign_in = SignIn(self.live)
        routes: list[BaseRoute] = [
            *Pages(self.core, self.live, sign_in, self.metrics).routes(),
            *sign_in.routes(),
            *Sockets(
                self.core,
                self.live,
                sign_in,
                self.broker,
                apply=self.effects.apply,
                clock=now_ms,
                metrics=self.metrics,
            ).routes(),
            wire_js.ROUTE,  # the built wire/nodes.js, before the /static mount
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ]
        if settings.demo:
            routes.append(
                Mount("/demo", app=StaticFiles(directory=DEMO_DIR, html=True), name="demo")
            )
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

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
        await self.effects.apply(self.core.update_accounts(*core_rules(taken)))
        return True

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(self._tick_forever())
        try:
            yield
        finally:
            ticker.cancel()
            self.replicas.close()
            await self.renderer.close()
            self.store.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.effects.apply(self.core.tick(now_ms()))
            if self.live.file_changed():
                await self.reload_settings()


def create_app(settings: Settings, **kwargs: Any) -> Starlette:
    return RelayServer(settings, **kwargs).app
