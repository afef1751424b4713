"""A TCP load balancer on loopback, for fleet tests and benchmarks: no stickiness, no health checks.

Owns: accepting connections on one port, handing each new one to the next backend round-robin
(a backend that refuses the connection, a node killed or not started yet, is skipped for that
connection), and splicing bytes both ways until either side closes, then closing the other. A
backend that dies takes the client connections spliced to it down with it: that is what a real
balancer does when its upstream resets, and what sends the tag and the workspace off to
reconnect. Backends are added and removed at runtime (``add``, ``remove``).
Must not: look into the bytes (HTTP or WebSocket), remember which client went where beyond the
connection's lifetime, or listen anywhere but 127.0.0.1.

``Balancer`` lives on the event loop that started it; ``BalancerThread`` runs one on a thread and
loop of its own (a context manager with ``.port``, ``.url``, ``add``, ``remove``, ``stop()``), for
tests whose clients run on another loop or none.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

HOST = "127.0.0.1"
CHUNK = 64 * 1024
T = TypeVar("T")


@dataclass(eq=False)
class Link:
    """One client connection spliced to one backend (``backend`` is its port)."""

    backend: int
    client_port: int
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            writer.close()


class Balancer:
    """Round-robin over ``backends`` (loopback ports). ``await start()`` (port 0: a free one),
    then ``port``; ``await stop()`` closes the listener and every link."""

    def __init__(self, backends: list[int], connect_timeout: float = 2.0) -> None:
        self.backends: list[int] = list(backends)
        self.connect_timeout = connect_timeout
        self.port = 0
        self.links: set[Link] = set()
        self.accepted = 0
        self.refused = 0  # connections closed at once: no backend would take them
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, HOST, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self.links):
            link.close()
        if self._tasks:  # closed links end their tasks; one still connecting is cancelled
            await asyncio.wait(list(self._tasks), timeout=2)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def add(self, port: int) -> None:
        """Send new connections to ``port`` too (a node that joined)."""
        if port not in self.backends:
            self.backends.append(port)

    def remove(self, port: int, *, drop: bool = False) -> None:
        """Send no new connection to ``port``; with ``drop``, also close the links to it now."""
        if port in self.backends:
            self.backends.remove(port)
        if drop:
            for link in [link for link in self.links if link.backend == port]:
                link.close()

    def backend_of(self, client_port: int) -> int | None:
        """The backend a live client connection (by its local port) is spliced to."""
        for link in self.links:
            if link.client_port == client_port:
                return link.backend
        return None

    def counts(self) -> dict[int, int]:
        """Live links per backend."""
        found = {port: 0 for port in self.backends}
        for link in self.links:
            found[link.backend] = found.get(link.backend, 0) + 1
        return found

    async def _upstream(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The next backend that takes a connection, round-robin; None when none does."""
        for _ in range(len(self.backends)):
            if not self.backends:
                break
            port = self.backends[self._next % len(self.backends)]
            self._next = (self._next + 1) % max(1, len(self.backends))
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(HOST, port), self.connect_timeout
                )
            except OSError:  # refused (a dead node), or TimeoutError: not answering
                continue
            return port, reader, writer
        return None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            writer.close()  # stop(): end quietly (asyncio logs a cancelled connection task)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found = await self._upstream()
        if found is None:
            self.refused += 1
            writer.close()
            return
        port, up_reader, up_writer = found
        link = Link(port, writer.get_extra_info("peername")[1], writer, up_writer)
        self.links.add(link)
        pumps = [
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        ]
        try:
            # Either side closing (or resetting) ends the link: close both.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self.links.discard(link)
            link.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            writer.write(data)
            await writer.drain()


class BalancerThread:
    """A ``Balancer`` on a thread and event loop of its own. ``with BalancerThread([p1, p2]) as
    lb:`` then ``lb.url``; ``add``/``remove`` from any thread; ``stop()`` (or leaving the block)
    closes every link and ends the thread."""

    def __init__(self, backends: list[int], port: int = 0, connect_timeout: float = 2.0) -> None:
        self.balancer = Balancer(backends, connect_timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="balancer", daemon=True)
        self._thread.start()
        self._run(self.balancer.start(port))

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return function(*args, **kwargs)

        return self._run(call())

    @property
    def port(self) -> int:
        return self.balancer.port

    @property
    def url(self) -> str:
        return self.balancer.url

    def add(self, port: int) -> None:
        self._call(self.balancer.add, port)

    def remove(self, port: int, *, drop: bool = False) -> None:
        self._call(self.balancer.remove, port, drop=drop)

    def backend_of(self, client_port: int) -> int | None:
        found: int | None = self._call(self.balancer.backend_of, client_port)
        return found

    def counts(self) -> dict[int, int]:
        found: dict[int, int] = self._call(self.balancer.counts)
        return found

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._run(self.balancer.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> BalancerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
