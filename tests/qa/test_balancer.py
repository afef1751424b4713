"""The fleet tests' load balancer (``cobrowse_qa.balancer``): round-robin without stickiness, a
dead backend skipped, bytes spliced both ways, and a backend's death passed on to its clients.

Backends here are small asyncio servers that say their name and echo what they get, so each
test reads which backend a connection reached from the bytes themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from helpers import run_async

from cobrowse_qa.balancer import Balancer, BalancerThread
from cobrowse_qa.driver import free_port


class Backend:
    """Says ``name\\n`` to each new connection, then echoes; ``kill()`` drops everything."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> Backend:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(f"{self.name}\n".encode())
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
        writer.close()

    def kill(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.transport.abort()  # a reset, as from a process that died
            writer.close()


class Clients:
    """Connections a test opens, all closed at its end (an open one is a ResourceWarning)."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []

    async def open(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self.writers.append(writer)
        return reader, writer

    async def hello(self, port: int) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await self.open(port)
        line = await asyncio.wait_for(reader.readline(), 5)
        return line.decode().strip(), reader, writer

    async def close(self, *backends: Backend) -> None:
        for writer in self.writers:
            writer.close()
        for backend in backends:
            backend.kill()
        await asyncio.sleep(0.05)  # the transports' last callbacks


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the connection ends (EOF or reset) within a few seconds."""
    try:
        return await asyncio.wait_for(reader.read(1), 5) == b""
    except ConnectionError:
        return True


@contextlib.asynccontextmanager
async def world(*names: str) -> AsyncIterator[tuple[Balancer, Clients, list[Backend]]]:
    """Backends of these names, a balancer over them all (in order), a test's clients; all
    closed at the end."""
    backends = [await Backend(name).start() for name in names]
    clients = Clients()
    balancer = Balancer([backend.port for backend in backends])
    await balancer.start()
    try:
        yield balancer, clients, backends
    finally:
        await balancer.stop()
        await clients.close(*backends)


def test_new_connections_go_round_robin_and_a_refusing_backend_is_skipped() -> None:
    async def scenario() -> None:
        async with world("a", "b") as (balancer, clients, _):
            balancer.backends.insert(1, free_port())  # between a and b, one that refuses
            names = [(await clients.hello(balancer.port))[0] for _ in range(4)]
            assert names == ["a", "b", "a", "b"]
            assert balancer.refused == 0

    run_async(scenario)


def test_bytes_cross_both_ways_and_a_dead_backend_closes_its_clients_only() -> None:
    async def scenario() -> None:
        async with world("a", "b") as (balancer, clients, (a, _)):
            on_a, reader_a, writer_a = await clients.hello(balancer.port)
            on_b, reader_b, writer_b = await clients.hello(balancer.port)
            assert (on_a, on_b) == ("a", "b")
            writer_a.write(b"ping\n")
            assert await asyncio.wait_for(reader_a.readline(), 5) == b"ping\n"
            a.kill()
            assert await closed(reader_a)
            writer_b.write(b"still\n")
            assert await asyncio.wait_for(reader_b.readline(), 5) == b"still\n"
            # The dead backend refuses: every new connection now reaches b.
            assert [(await clients.hello(balancer.port))[0] for _ in range(3)] == ["b", "b", "b"]

    run_async(scenario)


def test_a_client_closing_closes_the_backend_side() -> None:
    async def scenario() -> None:
        async with world("a") as (balancer, clients, _):
            _, _, writer = await clients.hello(balancer.port)
            assert len(balancer.links) == 1
            writer.close()
            for _ in range(50):
                if not balancer.links:
                    break
                await asyncio.sleep(0.05)
            assert not balancer.links

    run_async(scenario)


def test_backends_are_removed_and_added_at_runtime_and_no_backend_means_a_closed_connection() -> (
    None
):
    async def scenario() -> None:
        async with world("a", "b") as (balancer, clients, (a, b)):
            balancer.remove(b.port)
            name, reader, _ = await clients.hello(balancer.port)
            assert name == "a" and balancer.counts() == {a.port: 1}
            balancer.add(b.port)
            balancer.remove(a.port, drop=True)  # drained: its links are cut too
            assert await closed(reader)
            assert [(await clients.hello(balancer.port))[0] for _ in range(2)] == ["b", "b"]
            balancer.remove(b.port)
            reader, _ = await clients.open(balancer.port)
            assert await closed(reader) and balancer.refused == 1

    run_async(scenario)


def test_the_thread_balancer_serves_clients_of_another_loop_and_stops_with_its_links() -> None:
    async def scenario() -> None:
        a = await Backend("a").start()
        clients = Clients()
        with BalancerThread([a.port]) as balancer:
            name, reader, writer = await clients.hello(balancer.port)
            assert name == "a"
            assert balancer.backend_of(writer.get_extra_info("sockname")[1]) == a.port
            await asyncio.to_thread(balancer.stop)
            assert await closed(reader)
        await clients.close(a)

    run_async(scenario)
