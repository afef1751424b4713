"""A WebSocket client written for attacking: it speaks RFC 6455 by hand on an asyncio stream.

Owns: the opening handshake (any Origin, Cookie, source address), permessage-deflate with
``client_no_context_takeover`` so that one message is compressed once and its bytes are sent
again and again (a real attacker's cheapest flood: the relay inflates each copy, the attacker
pays nothing per copy), reading the relay's frames (inflated, pings answered) and the close
code. Must not: reach anything but loopback, or hide what the relay did (every message and
the close code are kept for the caller).

The ``websockets`` library would compress each copy anew (seconds of CPU per 10 MB), which
would measure the attacker's machine, not the relay.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


class HandshakeRefused(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


def deflate_message(text: str) -> bytes:
    """The payload of one compressed message (RFC 7692 7.2.1): raw deflate, tail removed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    data = compressor.compress(text.encode("utf-8", "surrogatepass"))
    data += compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[: -len(_DEFLATE_TAIL)] if data.endswith(_DEFLATE_TAIL) else data


def frame(payload: bytes, *, opcode: int = OP_TEXT, compressed: bool = False) -> bytes:
    """One masked client frame, FIN set (RSV1 set when ``compressed``)."""
    first = 0x80 | (0x40 if compressed else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    mask = os.urandom(4)
    return header + mask + _masked(payload, mask)


def _masked(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return b""
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


class RawSocket:
    """One connection. ``messages`` holds every text message the server sent (decoded JSON
    where it is JSON); ``close_code`` is set once the server closed (1006: no close frame)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._inflater = zlib.decompressobj(-15)  # the server keeps its context
        self._deflated = False
        self.messages: list[Any] = []
        self.keep = True  # False: count what arrives, keep nothing (an observer in a flood)
        self.on_message: Callable[[Any], None] | None = None
        self.received = 0  # messages
        self.received_bytes = 0  # on the wire (compressed)
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        path: str,
        *,
        origin: str,
        cookie: str | None = None,
        source: str | None = None,
        deflate: bool = True,
        timeout: float = 10.0,
    ) -> RawSocket:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, local_addr=(source, 0) if source else None, limit=1 << 20
            ),
            timeout,
        )
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: {origin}",
        ]
        if deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover")
        if cookie:
            lines.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            writer.close()
            raise HandshakeRefused(status)
        socket = cls(reader, writer)
        socket._deflated = b"permessage-deflate" in head.lower()
        socket._task = asyncio.create_task(socket._read())
        return socket

    @property
    def open_(self) -> bool:
        return not self.closed.is_set()

    def send_raw(self, data: bytes) -> None:
        """Queue bytes made by ``frame`` (e.g. one precompressed message, sent many times)."""
        if not self.closed.is_set():
            self._writer.write(data)

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        if self._deflated:
            self.send_raw(frame(deflate_message(text), compressed=True))
        else:
            self.send_raw(frame(text.encode("utf-8", "surrogatepass")))
        await self.drain()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if isinstance(m, dict) and m.get("type") == kind]

    async def wait_for(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The first message of ``kind`` (with ``fields``), received already or within
        ``timeout``; raises TimeoutError, or ConnectionError once the socket closed."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for message in self.messages[seen:]:
                if (
                    isinstance(message, dict)
                    and message.get("type") == kind
                    and all(message.get(k) == v for k, v in fields.items())
                ):
                    return message
            seen = len(self.messages)
            if self.closed.is_set():
                raise ConnectionError(f"closed {self.close_code} before {kind}")
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(kind)
            await asyncio.sleep(min(0.01, left))

    async def close(self) -> None:
        if not self.closed.is_set():
            self.send_raw(frame(struct.pack("!H", 1000), opcode=OP_CLOSE))
            await self.drain()
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.closed.set()

    async def _read(self) -> None:
        parts: list[bytes] = []
        compressed = False
        try:
            while True:
                head = await self._reader.readexactly(2)
                first, second = head
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self._reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
                payload = await self._reader.readexactly(length)
                self.received_bytes += 2 + length
                if opcode == OP_PING:
                    self.send_raw(frame(payload, opcode=OP_PONG))
                    continue
                if opcode == OP_CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else 1005
                    return
                if opcode in (OP_TEXT, OP_BINARY):
                    parts, compressed = [payload], bool(first & 0x40)
                elif opcode == OP_CONT:
                    parts.append(payload)
                if first & 0x80:  # FIN
                    data = b"".join(parts)
                    if compressed:
                        data = self._inflater.decompress(data + _DEFLATE_TAIL)
                    self._keep(data)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            if self.close_code is None:
                self.close_code = 1006
        finally:
            self.closed.set()
            self._writer.close()

    def _keep(self, data: bytes) -> None:
        self.received += 1
        try:
            message: Any = json.loads(data)
        except ValueError:
            message = data.decode("utf-8", "replace")
        if self.on_message is not None:
            self.on_message(message)
        if self.keep:
            self.messages.append(message)
