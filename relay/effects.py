"""Carrying out the core's effects, in order: the one place a core decision becomes I/O.

Owns: ``Send`` -> a frame through the broker (``publish``), ``Render`` and ``DropReplica`` ->
the render pipeline. Must not: decide anything (who receives what is the core's answer), or
read, keep or log what a message carries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from relay.broker import Broker, BrokerUnavailable
from relay.core import DropReplica, Effect, Render, Send
from wire import protocol

log = logging.getLogger("cobrowse.relay")


class RenderPipeline(Protocol):
    """What the effects need of ``relay.replicas.Replicas``."""

    def render(self, render: Render) -> None: ...

    async def drop(self, session: str) -> None: ...


async def publish(broker: Broker, sends: Iterable[Send]) -> None:
    """Encode each ``Send`` and hand it to the broker for its peer's sockets.

    A frame the fleet's broker cannot take (Redis lost) is dropped with one log line: the
    broker cuts every socket of this node meanwhile, and each client reconnects and resyncs,
    which brings back whatever it missed.
    """
    for send in sends:
        try:
            await broker.publish(send.to, protocol.encode(send.type, **send.body))
        except BrokerUnavailable:
            log.error("broker.publish_failed type=%s", send.type)


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
