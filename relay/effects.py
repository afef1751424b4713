"""Carrying out the core's effects, in order: the one place a core decision becomes I/O.

Owns: ``Send`` -> a frame through the broker (``publish``), ``Render`` and ``DropReplica`` ->
the render pipeline. Must not: decide anything (who receives what is the core's answer), or
read, keep or log what a message carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from relay.broker import Broker
from relay.core import DropReplica, Effect, Render, Send
from wire import protocol


class RenderPipeline(Protocol):
    """What the effects need of ``relay.replicas.Replicas``."""

    def render(self, render: Render) -> None: ...

    async def drop(self, session: str) -> None: ...


async def publish(broker: Broker, sends: Iterable[Send]) -> None:
    """Encode each ``Send`` and hand it to the broker for its peer's sockets."""
    for send in sends:
        await broker.publish(send.to, protocol.encode(send.type, **send.body))


class EffectRunner:
    """``await apply(effects)`` with whatever a core entry point returned."""

    def __init__(self, broker: Broker, replicas: RenderPipeline) -> None:
        self._broker = broker
        self._replicas = replicas

    async def apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                await publish(self._broker, [effect])
            elif isinstance(effect, Render):
                self._replicas.render(effect)
            elif isinstance(effect, DropReplica):
                await self._replicas.drop(effect.session)
