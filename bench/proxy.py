"""A counting TCP proxy on loopback, run as its own process: the visitor's wire bytes.

The benchmark points the visitor's page (and so the tag's WebSocket) at this proxy, which
forwards to the relay and counts the bytes in each direction exactly as they cross the socket:
after permessage-deflate, with WebSocket framing and HTTP headers. It also notes the
``Sec-WebSocket-Extensions`` the relay answered, so the report can say whether frames were
compressed. Optionally it throttles the upstream (visitor to relay) direction to a bit rate and
adds a one-way delay, for checking the browser's own network emulation.

Control: one line on the control port, ``stats`` (JSON counters) or ``reset``.
Usage: python -m bench.proxy --target PORT [--up-bps N --delay-ms N]; prints
``proxy PORT control PORT`` once it listens. Must not: change a byte it forwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

STATS: dict[str, Any] = {"up": 0, "down": 0, "connections": 0, "extensions": []}


class Link:
    """One direction's throttle: a queue released at ``bps`` with ``delay`` seconds of latency."""

    def __init__(self, bps: float, delay: float) -> None:
        self.bps = bps
        self.delay = delay
        self.free_at = 0.0

    def due(self, size: int) -> float:
        now = time.monotonic()
        start = max(now, self.free_at)
        self.free_at = start + (size * 8 / self.bps if self.bps else 0.0)
        return self.free_at + self.delay


async def pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: str, link: Link | None
) -> None:
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            item = await queue.get()
            if item is None:
                break
            due, data = item
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver()) if link else None
    head = b""
    try:
        while True:
            data = await reader.read(16384)
            if not data:
                break
            STATS[key] += len(data)
            if key == "down" and len(head) < 4096:
                head += data
                if b"\r\n\r\n" in head:
                    for line in head.split(b"\r\n\r\n")[0].split(b"\r\n"):
                        if line.lower().startswith(b"sec-websocket-extensions:"):
                            STATS["extensions"].append(line.split(b":", 1)[1].strip().decode())
                    head = b"x" * 4096
            if link:
                await queue.put((link.due(len(data)), data))
            else:
                writer.write(data)
                await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if sender:
            await queue.put(None)
            await sender
        else:
            writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--up-bps", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        STATS["connections"] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", args.target)
        except OSError:
            writer.close()
            return
        throttled = args.up_bps > 0 or args.delay_ms > 0
        up = Link(args.up_bps, args.delay_ms / 1000) if throttled else None
        down = Link(0, args.delay_ms / 1000) if args.delay_ms > 0 else None
        await asyncio.gather(
            pump(reader, up_writer, "up", up), pump(up_reader, writer, "down", down)
        )

    async def control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).strip()
        if line == b"reset":
            STATS.update(up=0, down=0, connections=0)  # extensions: kept, sockets outlive resets
        writer.write(json.dumps(STATS).encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    ctl = await asyncio.start_server(control, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ctl_port = ctl.sockets[0].getsockname()[1]
    print(f"proxy {port} control {ctl_port}", flush=True)
    await asyncio.gather(server.serve_forever(), ctl.serve_forever())


async def query(control_port: int, command: str = "stats") -> dict[str, Any]:
    """Ask a running proxy for its counters (``stats``) or zero them (``reset``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", control_port)
    writer.write(command.encode() + b"\n")
    await writer.drain()
    answer: dict[str, Any] = json.loads(await reader.readline())
    writer.close()
    return answer


if __name__ == "__main__":
    asyncio.run(main())
