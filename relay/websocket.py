"""uvicorn's WebSocket protocol with the compression a DOM stream wants, and a bound on what
a socket may have inflated and waiting for the relay.

Owns: the permessage-deflate parameters of every socket the relay serves, how much of a
socket's received data is inflated ahead of the relay's reading (``QUEUED_BYTES``), and how
fast a socket may have its data inflated (``INFLATE_BYTES_PER_SECOND``).
Must not: change anything else of uvicorn's protocol (framing, limits, keepalive).

Inflation is bounded by websockets itself: a message is inflated at most up to ``max_size``
(``zlib``'s ``max_length``), then the socket closes 1009; a deflate bomb never inflates whole.
What uvicorn does not bound is how many messages it inflates from one read: it pauses reading
once a message is queued, but everything already read is parsed, so one 256 KB read of
pipelined 15 KB frames, each a deflated 10 MB snapshot, became 170 MB queued for one socket
(issue 19). Here the data read is handed to websockets a slice at a time, and held back, raw,
while the messages waiting for the relay, and the one it is reading, hold ``QUEUED_BYTES`` or
more: a socket sending big messages costs one of them at a time, inflated. (websockets' parser
also kept the last frame it parsed until the next one came: its bytes are let go once the
message is text for the relay.)

uvicorn's own choice (a 4 KB window both ways) suits chat-sized messages. A visitor's snapshot
repeats itself over far more than 4 KB (the same row markup, class names and URLs every few
hundred bytes), so the visitor's browser compresses with the full 32 KB window: that costs the
relay 32 KB of inflate window per visitor socket and nothing per message. What the relay itself
sends stays on uvicorn's small window and memory level, so that thousands of idle visitor
sockets do not each hold a 256 KB compressor.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final

from uvicorn._types import ASGIReceiveEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.server import ServerProtocol

SERVER_WINDOW_BITS = 12  # what the relay compresses with (uvicorn's default)
SERVER_MEM_LEVEL = 5
# Inflated bytes of one socket's messages waiting for the relay (or being read by it) past which
# no more of its data is inflated: pointers and chat flow as before, big messages one at a time.
QUEUED_BYTES: Final = 1024 * 1024
# Received data handed to websockets at once: deflate inflates at most about 1032x, so one
# slice completes at most about 16 MiB of messages past the bound.
FEED_SLICE: Final = 16 * 1024
# What one socket may have inflated, over time: a burst of INFLATE_BURST_BYTES, then
# INFLATE_BYTES_PER_SECOND; past it, its data waits unread (TCP slows the sender), nothing is
# refused. A visitor's snapshot of a 10 MB page fits the burst, its mutations the rate many
# times over; a socket resending deflated 10 MB snapshots (15 KB each on the wire) gets one
# every 2.5 s, not hundreds a second of the node's CPU (issue 19).
INFLATE_BURST_BYTES: Final = 16 * 1024 * 1024
INFLATE_BYTES_PER_SECOND: Final = 4 * 1024 * 1024


class CobrowseWebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass as ``uvicorn.run(..., ws=CobrowseWebSocketProtocol)``."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if config.ws_per_message_deflate:
            # client_max_window_bits left out: the client keeps its full window (RFC 7692 7.1.2.2).
            deflate = ServerPerMessageDeflateFactory(
                server_max_window_bits=SERVER_WINDOW_BITS,
                compress_settings={"memLevel": SERVER_MEM_LEVEL},
            )
            self.conn = ServerProtocol(
                extensions=[deflate], max_size=config.ws_max_size, logger=self.logger
            )
        self._held_back = bytearray()  # read, not yet handed to websockets
        self._queued_sizes: deque[int] = deque()  # each queued message's size, in order
        self.queued_bytes = 0  # what the messages waiting for the relay hold
        self._with_relay = 0  # the size of the message the relay took last (it is reading it)
        self._inflate_allowance = float(INFLATE_BURST_BYTES)  # may go below 0: a debt
        self._allowance_at = self.loop.time()
        self._refill_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        self._held_back += data
        self._feed()

    def _feed(self) -> None:
        """Hand held-back data to websockets a slice at a time while the queue is under its
        bound (after the relay closed, all of it: messages are dropped then); past it, keep
        the rest and stop reading until the relay takes a message."""
        while self._held_back and (
            (self.queued_bytes + self._with_relay < QUEUED_BYTES and self._may_inflate())
            or self.close_sent
        ):
            piece = bytes(self._held_back[:FEED_SLICE])
            del self._held_back[:FEED_SLICE]
            super().data_received(piece)
            if self.transport.is_closing():
                self._held_back.clear()
                return
        if self._held_back and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _may_inflate(self) -> bool:
        """Whether this socket's inflate allowance is out of debt; if not, feed again when it
        will be (the timer), its data held back meanwhile."""
        now = self.loop.time()
        self._inflate_allowance = min(
            float(INFLATE_BURST_BYTES),
            self._inflate_allowance + (now - self._allowance_at) * INFLATE_BYTES_PER_SECOND,
        )
        self._allowance_at = now
        if self._inflate_allowance >= 0:
            return True
        if self._refill_timer is None:
            wait = -self._inflate_allowance / INFLATE_BYTES_PER_SECOND
            self._refill_timer = self.loop.call_later(wait, self._refilled)
        return False

    def _refilled(self) -> None:
        self._refill_timer = None
        if not self.transport.is_closing():
            self._feed()
            self._read_when_drained()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refill_timer is not None:
            self._refill_timer.cancel()
            self._refill_timer = None
        super().connection_lost(exc)

    def handle_text(self, event: Frame) -> None:
        super().handle_text(event)
        event.data = b""  # websockets' parser holds this frame until the next one

    def handle_bytes(self, event: Frame) -> None:
        super().handle_bytes(event)
        event.data = b""

    def handle_cont(self, event: Frame) -> None:
        super().handle_cont(event)
        event.data = b""  # joined, when it was the last, or kept in self.frames

    def send_receive_event_to_app(self) -> None:
        size = sum(len(frame) for frame in self.frames)
        waiting = self.queue.qsize()
        super().send_receive_event_to_app()
        if self.queue.qsize() > waiting:  # queued (not dropped after a close)
            self._queued_sizes.append(size)
            self.queued_bytes += size
            self._inflate_allowance -= size

    async def receive(self) -> ASGIReceiveEvent:
        self._with_relay = 0  # it asks for the next: it is done with the last
        if self._held_back:
            self._feed()
        self._read_when_drained()  # before waiting: what it waits for may be unread yet
        message = await self.queue.get()
        if message["type"] == "websocket.receive" and self._queued_sizes:
            self._with_relay = self._queued_sizes.popleft()
            self.queued_bytes -= self._with_relay
        self._read_when_drained()
        return message

    def _read_when_drained(self) -> None:
        """uvicorn's rule (read again once the queue is empty), and nothing held back."""
        if self.read_paused and self.queue.empty() and not self._held_back:
            self.read_paused = False
            self.transport.resume_reading()
