"""The render pipeline: each session's ``dom.*`` stream through the sanitizing renderer, in order.

Owns: one queue and one worker per session, grouping queued mutations into one renderer call,
the replica's load policy (``render_policy``), and asking the core for a resync when the
renderer fails or loses a replica. Must not: decide who receives a result (each goes back
through ``RelayCore.replica_rendered``), read the core's tables, or log page content.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from relay.broker import Broker
from relay.core import RelayCore, Render, load_origins
from relay.effects import publish
from relay.logs import ids
from relay.metrics import RelayMetrics
from renderer.service import BrandPolicy, Renderer, RendererError
from wire import protocol

log = logging.getLogger("cobrowse.relay")

RENDER_BACKLOG = 512  # queued dom.* messages per session before we resync instead
# Queued dom.mutations of a session sanitized in one renderer call: each is at most ~256 KB
# (docs/protocol.md, "Streaming a large page"), so a group stays well inside the renderer's
# per-call timeout.
RENDER_GROUP = 16

REPLICA_OF = {"dom.snapshot": "replica.snapshot", "dom.mutations": "replica.mutations"}


def render_policy(render: Render) -> BrandPolicy:
    """What the replica may load: the brand's origins, "self" being the visitor's page."""
    return BrandPolicy(
        origins=load_origins(render.brand.allowed_origins, render.page_origin),
        mask_selectors=render.brand.mask_selectors,
    )


class Replicas:
    """Call ``render`` for each ``Render`` effect and ``drop`` for each ``DropReplica``;
    ``close`` at shutdown. Results go to the broker as the core answers. ``metrics`` times
    each renderer call and counts the replicas rebuilt."""

    def __init__(
        self, core: RelayCore, renderer: Renderer, broker: Broker, metrics: RelayMetrics
    ) -> None:
        self._core = core
        self._renderer = renderer
        self._broker = broker
        self._metrics = metrics
        self._queues: dict[str, asyncio.Queue[Render | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # A crashed page or a dead browser resyncs its idle sessions at once (not only at
        # their visitor's next dom.* message): the agent never keeps a stale replica.
        renderer.on_lost = self._lost

    def render(self, render: Render) -> None:
        queue = self._queues.get(render.session)
        if queue is None:
            queue = self._queues[render.session] = asyncio.Queue(maxsize=RENDER_BACKLOG)
            self._spawn(self._worker(render.session, queue))
        if render.message.type == "dom.snapshot":
            _drain(queue)  # a new snapshot supersedes everything still queued
        try:
            queue.put_nowait(render)
        except asyncio.QueueFull:
            _drain(queue)
            self._metrics.replica_failed("backlog_full")
            self._spawn(self._failed(render.session))

    async def drop(self, session: str) -> None:
        queue = self._queues.pop(session, None)
        if queue is not None:
            _drain(queue)
            queue.put_nowait(None)
        await self._renderer.drop(session)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _lost(self, sessions: list[str]) -> None:
        """Renderer callback (on the event loop): these sessions' replicas are gone."""
        for session in sessions:
            queue = self._queues.get(session)
            if queue is not None:
                _drain(queue)  # batches for the lost replica would only fail and resync again
            self._metrics.replica_failed("replica_lost")
            self._spawn(self._failed(session))

    async def _failed(self, session: str) -> None:
        await publish(self._broker, self._core.replica_failed(session))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _worker(self, session: str, queue: asyncio.Queue[Render | None]) -> None:
        """Sanitize one session's DOM stream in order and hand each result to the core.

        ``dom.mutations`` already waiting behind the one taken go to the renderer together
        (up to ``RENDER_GROUP``): a streamed page's backlog costs one call, not one per batch.
        Each still comes out as its own ``replica.mutations``, in order, with its own ``seq``.
        """
        # A snapshot drains the queue when it is queued (``render``), so one never waits
        # behind a mutations batch; should it, it is carried over to the next turn, unless the
        # session's queue was dropped meanwhile.
        carried: Render | None = None
        while True:
            if carried is not None and self._queues.get(session) is not queue:
                return
            render = carried if carried is not None else await queue.get()
            carried = None
            if render is None:
                return
            group = [render]
            while (
                render.message.type == "dom.mutations"
                and len(group) < RENDER_GROUP
                and not queue.empty()
            ):
                queued = queue.get_nowait()
                if queued is None:
                    return  # dropped: nothing of it goes out
                if queued.message.type != "dom.mutations":
                    carried = queued  # a snapshot: its own call, after this group
                    break
                group.append(queued)
            messages = [
                {"v": protocol.PROTOCOL_VERSION, "type": r.message.type, **r.message.body}
                for r in group
            ]
            started = time.perf_counter()
            try:
                if render.message.type == "dom.snapshot":
                    policy = render_policy(render)
                    results = [await self._renderer.snapshot(session, messages[0], policy)]
                else:
                    results = await self._renderer.mutations_many(session, messages)
            except RendererError as error:
                self._observe(render, started)
                # The error's name only: its text may quote what the page sent.
                log.warning(
                    "renderer.failed", extra=ids(session=session, error=type(error).__name__)
                )
                self._metrics.replica_failed("renderer_error")
                _drain(queue)
                carried = None
                await self._failed(session)
                continue
            self._observe(render, started)
            kind = REPLICA_OF[render.message.type]
            for result in results:
                body = {k: v for k, v in result.items() if k not in ("v", "type")}
                # The core sends it to the session's agent, or drops it if the session ended.
                await publish(self._broker, self._core.replica_rendered(session, kind, body))

    def _observe(self, render: Render, started: float) -> None:
        kind = "snapshot" if render.message.type == "dom.snapshot" else "mutations"
        self._metrics.rendered(kind, time.perf_counter() - started)


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()
