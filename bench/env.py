"""The benchmark's world on loopback: the relay, the counting proxy, the page server, Chromium.

Owns: starting `cobrowse serve` (a subprocess, with a generated settings file naming the page
server's origin as a brand origin and enough agents for the concurrent sessions), the counting
proxy in front of it (the visitor's pages load the tag, and so open their socket, through it),
a static server for the generated pages and rrweb's files, one Chromium (the one
``renderer.chromium`` picks), and agents speaking the protocol (signed in through
``POST /agent/login``). Must not: reach anything but 127.0.0.x.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from playwright.async_api import Browser, Page, async_playwright

from bench import proxy
from bench.rrweb import Rrweb, packer_script
from cobrowse_qa.driver import RelayProcess
from relay.passwords import hash_password
from renderer.chromium import launch_options

ROOT = Path(__file__).resolve().parents[1]
AGENT_PASSWORD = "bench-agent-password"  # noqa: S105 - a throwaway loopback-only account
BRAND = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def now_ms() -> float:
    return time.time() * 1000


# ---------------------------------------------------------------- page server


class PageServer:
    """Serves ``/p/NAME.html?with=tag|rrweb|none&run=X`` and ``/rrweb/{record,pack}.js``."""

    def __init__(self, pages: dict[str, str], rrweb: Rrweb | None) -> None:
        self.pages = pages
        self.rrweb = rrweb
        self.tag_origin = ""  # the counting proxy: where the tag (and its socket) comes from
        self.relay_origin = ""  # the relay itself, for figures that need no byte counts
        self.throttled_origin = ""  # the throttling proxy (1.5 Mbit/s up, 40 ms each way)
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server:
            self._server.close()

    def body(self, path: str, query: dict[str, str]) -> tuple[bytes, str] | None:
        if path == "/rrweb/record.js" and self.rrweb:
            return self.rrweb.record.read_bytes(), "text/javascript"
        if path == "/rrweb/pack.js" and self.rrweb:
            return packer_script(self.rrweb).encode(), "text/javascript"
        match = re.fullmatch(r"/p/([\w.-]+)\.html", path)
        if not match or match.group(1) not in self.pages:
            return None
        scripts = {
            "tag": f'<script src="{self.tag_origin}/tag.js" async></script>',
            "direct": f'<script src="{self.relay_origin}/tag.js" async></script>',
            "throttled": f'<script src="{self.throttled_origin}/tag.js" async></script>',
            "rrweb": '<script src="/rrweb/record.js"></script>'
            '<script src="/rrweb/pack.js"></script>',
        }.get(query.get("with", "none"), "")
        html = self.pages[match.group(1)]
        html = html.replace("__SCRIPTS__", scripts, 1).replace("__RUN__", query.get("run", "0"))
        return html.encode(), "text/html; charset=utf-8"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                line = request.split(b"\r\n", 1)[0].decode("latin-1").split()
                url = urllib.parse.urlsplit(line[1] if len(line) > 1 else "/")
                query = dict(urllib.parse.parse_qsl(url.query))
                found = self.body(url.path, query)
                body, kind = found or (b"not found", "text/plain")
                status = "200 OK" if found else "404 Not Found"
                head = (
                    f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                    "Cache-Control: no-store\r\n\r\n"
                )
                writer.write(head.encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


# ---------------------------------------------------------------- processes


def settings_toml(page_origin: str, agents: int) -> str:
    password_hash = hash_password(AGENT_PASSWORD)
    lines = [
        "[server]",
        f'secret_key = "{secrets.token_urlsafe(32)}"',
        "demo = true",
        "",
        "[[brands]]",
        f'id = "{BRAND}"',
        'name = "Bench"',
        f'allowed_origins = ["self", "{page_origin}"]',
        'mask_selectors = [".cobrowse-demo-secret"]',
        "",
        # The bench's visitors all come from 127.0.0.1, dozens a minute: a public relay's flood
        # limits would refuse its load, not measure it.
        "[limits]",
        "visitor_sockets_per_minute = 1000000",
        "conversations_per_address_per_minute = 1000000",
        "conversations_per_brand_per_minute = 1000000",
    ]
    for i in range(agents):
        lines += [
            "",
            "[[agents]]",
            f'id = "bench{i}"',
            f'name = "Agent {i}"',
            f'password_hash = "{password_hash}"',
            f'brands = ["{BRAND}"]',
        ]
    return "\n".join(lines) + "\n"


class BenchRelay(RelayProcess):
    """The relay (the QA harness's ``RelayProcess``) with the bench's settings: one brand on
    ``page_origin`` and ``agents`` agents. Start it with ``await asyncio.to_thread(relay.start)``
    and stop it with ``stop(allow_tracebacks=True)``: the report counts them."""

    def __init__(self, workdir: Path, page_origin: str, agents: int) -> None:
        config = workdir / "bench-settings.toml"
        config.write_text(settings_toml(page_origin, agents), encoding="utf-8")
        super().__init__(workdir, config)

    # -- resources of the relay and its renderer's Chromium, read from /proc

    def tree(self) -> list[int]:
        """The relay's pid and all its descendants (the renderer's Chromium processes)."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def pss_bytes(self) -> int:
        """Proportional set size of the relay and its renderer (shared pages split fairly)."""
        total = 0
        for pid in self.tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        return total

    def cpu_seconds(self, tree: bool = False) -> float:
        """User + system CPU time of the relay process (and its renderer with ``tree``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.tree() if tree else [self.pid]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total


class Proxy:
    """The counting proxy (bench.proxy) as a subprocess in front of the relay."""

    def __init__(self, target: int, up_bps: float = 0, delay_ms: float = 0) -> None:
        self.target = target
        self.throttle = ["--up-bps", str(up_bps), "--delay-ms", str(delay_ms)]
        self.port = 0
        self.control = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.proxy",
            "--target",
            str(self.target),
            *self.throttle,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout
        line = (await self.process.stdout.readline()).decode().split()
        self.port, self.control = int(line[1]), int(line[3])

    async def stats(self, reset: bool = False) -> dict[str, Any]:
        return await proxy.query(self.control, "reset" if reset else "stats")

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


# ---------------------------------------------------------------- protocol-speaking agents


def agent_cookie(relay: BenchRelay, index: int) -> str:
    """Sign ``bench{index}`` in through the real endpoint; returns the Cookie header value.

    The relay allows 10 sign-ins a minute per client address, so agents sign in from
    different loopback addresses (127.0.0.10, .11, ...), eight each.
    """
    source = (f"127.0.0.{10 + index // 8}", 0)
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10, source_address=source)
    body = json.dumps({"name": f"bench{index}", "password": AGENT_PASSWORD})
    conn.request(
        "POST",
        "/agent/login",
        body=body,
        headers={"Content-Type": "application/json", "Origin": relay.url},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"agent sign-in failed: {response.status}")
    cookie = response.getheader("set-cookie") or ""
    return cookie.split(";", 1)[0]


class ProtocolPeer:
    """A protocol client (agent or visitor) that records every message with its arrival time."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[Any]]] = []
        self.on_message: Callable[[float, dict[str, Any]], None] | None = None
        self.session = ""  # the active session, from the last session.started
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                at = now_ms()
                message = json.loads(frame)
                if message.get("type") == "session.started":
                    self.session = message["session"]
                elif message.get("type") == "session.ended":
                    self.session = ""
                if self.on_message:
                    self.on_message(at, message)
                else:
                    self.messages.append((at, message))
                for predicate, future in list(self.waiters):
                    if not future.done() and predicate(message):
                        future.set_result(message)

    async def send(self, type_: str, **body: Any) -> None:
        await self.ws.send(json.dumps({"v": 1, "type": type_, **body}))

    async def wait(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        for _, message in self.messages:
            if predicate(message):
                return message
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.append((predicate, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiters.remove((predicate, future))

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()


async def connect_agent(relay: BenchRelay, cookie: str) -> ProtocolPeer:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{relay.port}/ws/agent",
        additional_headers={"Cookie": cookie},
        origin=relay.url,  # type: ignore[arg-type]
        max_size=None,
    )
    return ProtocolPeer(ws)


async def connect_visitor(relay: BenchRelay, page_origin: str) -> ProtocolPeer:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{relay.port}/ws/visitor",
        origin=page_origin,  # type: ignore[arg-type]
        max_size=None,
    )
    return ProtocolPeer(ws)


# ---------------------------------------------------------------- browser


class Chromium:
    def __init__(self) -> None:
        self._pw: Any = None
        self.browser: Browser | None = None
        self.version = ""

    async def start(self) -> Browser:
        self._pw = await async_playwright().start()
        self.browser = await self._pw.chromium.launch(**launch_options())
        self.version = self.browser.version
        return self.browser

    async def stop(self) -> None:
        if self.browser:
            await self.browser.close()
        if self._pw:
            await self._pw.stop()


async def sign_in_workspace(page: Page, relay: BenchRelay, index: int = 0) -> None:
    await page.goto(f"{relay.url}/agent")
    await page.get_by_test_id("login-name").fill(f"bench{index}")
    await page.get_by_test_id("login-password").fill(AGENT_PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("conversation-list").wait_for(state="visible")
