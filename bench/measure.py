"""Each figure of the benchmark, measured in real Chromium against the real relay.

Owns: the visitor tab (a page with our tag, its tag UI reached through the DevTools protocol,
its WebSocket frames seen through ``Network.webSocketFrame*`` with the browser's timestamps),
the agent workspace watcher (the replica iframe holding the page's last node), rrweb's
recorder on the same pages, the scripted minute, the concurrent sessions and the relay load.
Must not: change the tag, the relay or the renderer; every page load is a fresh context.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import websockets
from playwright.async_api import Browser, BrowserContext, CDPSession, Page

from bench.env import (
    BenchRelay,
    PageServer,
    ProtocolPeer,
    Proxy,
    agent_cookie,
    connect_agent,
    connect_visitor,
    now_ms,
)
from wire import nodes

THROTTLE = {"offline": False, "latency": 40, "downloadThroughput": -1,
            "uploadThroughput": 1_500_000 / 8}  # fmt: skip
TYPE_RE = re.compile(r'"type"\s*:\s*"([^"]+)"')

# Runs before every page script of a visitor tab or an rrweb tab: long tasks as the browser
# reports them, an optional responsiveness probe (a MessageChannel loop: the longest gap between
# two of its turns is the longest task, also under 50 ms where ``longtask`` says nothing), and
# the visitor's own pointer moves over the grid page, with the browser's event time.
PAGE_INIT = """
(() => {
  const B = window.__bench = { longtasks: [], moves: [], gap: 0 };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no longtask API */ }
  B.startProbe = () => {
    const ch = new MessageChannel();
    let last = performance.now();
    B.probing = true;
    B.gap = 0;
    ch.port1.onmessage = () => {
      const t = performance.now();
      if (t - last > B.gap) B.gap = t - last;
      last = t;
      if (B.probing) ch.port2.postMessage(0);
    };
    ch.port2.postMessage(0);
  };
  B.stopProbe = () => { B.probing = false; return B.gap; };
  addEventListener('pointermove', (e) => {
    const c = e.target && e.target.getAttribute && e.target.getAttribute('data-cell');
    if (c !== null && c !== undefined) B.moves.push([+c, performance.timeOrigin + e.timeStamp]);
  }, true);
})();
"""

HTML_BYTES_JS = """
() => {
  const host = document.querySelector('cobrowse-ui');
  let html = document.documentElement.outerHTML;
  if (host) html = html.replace(host.outerHTML, '');
  const dt = document.doctype ? '<!doctype ' + document.doctype.name + '>' : '';
  return new TextEncoder().encode(dt + html).length;
}
"""

WATCH_JS = """
(id) => {
  window.__benchDone = null;
  // The replica of an ended session stays on screen until the next starts: never count it.
  const old = document.querySelector('[data-testid=replica-frame]');
  const look = () => {
    const frame = document.querySelector('[data-testid=replica-frame]');
    const doc = frame && frame !== old && frame.contentDocument;
    if (doc && doc.getElementById(id)) {
      window.__benchDone = performance.timeOrigin + performance.now();
      return;
    }
    setTimeout(look, 2);
  };
  look();
}
"""


@dataclass
class Frame:
    at: float  # the browser's monotonic clock, ms
    sent: bool
    type: str
    size: int  # UTF-8 bytes of the payload, before compression


@dataclass
class VisitorTab:
    """One visitor's tab with our tag: its own context (its own sessionStorage)."""

    context: BrowserContext
    page: Page
    cdp: CDPSession
    frames: list[Frame] = field(default_factory=list)
    conversation: str = ""
    shadow: str = ""

    @classmethod
    async def open(
        cls, browser: Browser, url: str, *, throttle: bool = False, frames: bool = True
    ) -> VisitorTab:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        await context.add_init_script(PAGE_INIT)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        tab = cls(context, page, cdp)
        if frames or throttle:
            await cdp.send("Network.enable")
            cdp.on("Network.webSocketFrameSent", lambda p: tab._frame(p, True))
            cdp.on("Network.webSocketFrameReceived", lambda p: tab._frame(p, False))
        if throttle:  # before the page loads: the tag's socket is throttled from its start
            await cdp.send("Network.emulateNetworkConditions", THROTTLE)
        await cdp.send("DOM.enable")
        await page.goto(url, timeout=120_000)
        await tab._find_shadow()
        return tab

    def _frame(self, params: dict[str, Any], sent: bool) -> None:
        payload = params["response"].get("payloadData", "")
        match = TYPE_RE.search(payload[:300])
        kind = match.group(1) if match else "?"
        if kind == "hello" and not sent:
            self.conversation = json.loads(payload).get("conversation", "")
        self.frames.append(Frame(params["timestamp"] * 1000, sent, kind, len(payload.encode())))

    async def _find_shadow(self) -> None:
        """The tag's closed shadow root, as a DevTools object we can call functions on."""
        deadline = time.monotonic() + 20
        while True:
            host = await self.cdp.send(
                "Runtime.evaluate", {"expression": "document.querySelector('cobrowse-ui')"}
            )
            object_id = host["result"].get("objectId")
            if object_id:
                node = await self.cdp.send(
                    "DOM.describeNode", {"objectId": object_id, "depth": 1, "pierce": True}
                )
                roots = node["node"].get("shadowRoots") or []
                if roots:
                    found = await self.cdp.send(
                        "DOM.resolveNode", {"backendNodeId": roots[0]["backendNodeId"]}
                    )
                    self.shadow = found["object"]["objectId"]
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the tag did not build its UI")
            await asyncio.sleep(0.05)

    async def ui(self, function: str, *args: Any) -> Any:
        """Call ``function`` with ``this`` = the tag's shadow root."""
        result = await self.cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": self.shadow,
                "functionDeclaration": function,
                "arguments": [{"value": a} for a in args],
                "returnByValue": True,
            },
        )
        return result["result"].get("value")

    async def chat(self, text: str) -> None:
        await self.ui(
            """function (text) {
              const q = (id) => this.querySelector('[data-testid="' + id + '"]');
              q('cb-chat-open').click();
              q('cb-chat-input').value = text;
              q('cb-chat-send').click();
            }""",
            text,
        )

    async def wait_invite(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        visible = """function () {
            const e = this.querySelector('[data-testid="cb-invite-accept"]');
            return !!e && !e.closest('[hidden]');
        }"""
        while not await self.ui(visible):
            if time.monotonic() > deadline:
                raise RuntimeError("no invite reached the visitor")
            await asyncio.sleep(0.02)

    async def accept(self) -> float:
        """Click Accept; returns the moment of the click (epoch ms, the page's clock)."""
        value = await self.ui(
            """function () {
              const t = performance.timeOrigin + performance.now();
              this.querySelector('[data-testid="cb-invite-accept"]').click();
              return t;
            }"""
        )
        return float(value)

    async def close(self) -> None:
        await self.context.close()


def walk_cells(message: dict[str, Any], found: dict[int, int]) -> None:
    """Collect {node id: data-cell} from a replica message (snapshot or mutations), reading the
    compact node form with its implicit ids (``wire.nodes``)."""
    if "doc" in message:
        items = nodes.walk([message["doc"]], "doc", run=False, frames="placeholder")
        _cells(items, found)
    for add in message.get("adds", []):
        _cells(nodes.walk(add["nodes"], "nodes", frames="placeholder"), found)


def _cells(items: Iterator[nodes.Item], found: dict[int, int]) -> None:
    for item in items:
        if item.attrs and "data-cell" in item.attrs:
            found[item.id] = int(item.attrs["data-cell"])


class Bench:
    """All measurements, sharing one relay, one proxy, one page server and one Chromium."""

    def __init__(
        self,
        browser: Browser,
        relay: BenchRelay,
        proxy: Proxy,
        pages: PageServer,
        workspace: Page,
        rrweb: bool,
    ) -> None:
        self.browser = browser
        self.relay = relay
        self.proxy = proxy
        self.pages = pages
        self.workspace = workspace
        self.rrweb = rrweb
        self.sink_port = 0
        self.sink: dict[str, list[tuple[float, int]]] = {}
        self._cookies: dict[int, str] = {}
        self.agent_frames: list[Frame] = []  # what the workspace's socket received

    async def watch_workspace(self) -> None:
        """Note the time of every frame the workspace receives (DevTools, monotonic clock)."""
        cdp = await self.workspace.context.new_cdp_session(self.workspace)
        await cdp.send("Network.enable")

        def received(params: dict[str, Any]) -> None:
            payload = params["response"].get("payloadData", "")
            match = TYPE_RE.search(payload[:300])
            kind = match.group(1) if match else "?"
            self.agent_frames.append(Frame(params["timestamp"] * 1000, False, kind, len(payload)))

        cdp.on("Network.webSocketFrameReceived", received)

    def url(self, name: str, run: str, kind: str = "tag") -> str:
        return f"{self.pages.origin}/p/{name}.html?with={kind}&run={run}"

    # ------------------------------------------------------------ agent's view complete

    async def start_session(self, tab: VisitorTab, text: str) -> None:
        """Chat from the visitor, open the conversation in the workspace, send the invite."""
        await tab.chat(text)
        item = self.workspace.get_by_test_id("conversation-item").filter(has_text=text)
        await item.click(timeout=30_000)
        await self.workspace.get_by_test_id("cobrowse-button").click()
        await self.workspace.get_by_test_id("cobrowse-mode-view_only").click()
        await tab.wait_invite()

    async def end_session(self) -> None:
        await self.workspace.get_by_test_id("session-end").click()
        status = self.workspace.get_by_test_id("session-status")
        deadline = time.monotonic() + 15
        while "ended" not in (await status.text_content() or "").lower():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)

    async def view_run(
        self,
        url: str,
        last_id: str | None,
        *,
        throttle: bool = False,
        probe: bool = False,
        proxy: Proxy | None = None,
    ) -> dict[str, Any]:
        """Accept an invite on ``url``; time until the workspace's replica holds ``last_id``.

        ``throttle``: DevTools network emulation on the visitor's tab. ``proxy``: the proxy the
        page's tag goes through (its byte counts are the wire bytes), the counting one if None.
        """
        proxy = proxy or self.proxy
        tab = await VisitorTab.open(self.browser, url, throttle=throttle)
        try:
            html_bytes = await tab.page.evaluate(HTML_BYTES_JS)
            if last_id is None:  # the demo: the last element with an id
                last_id = await tab.page.evaluate(
                    "() => [...document.body.querySelectorAll('[id]')].pop().id"
                )
            await self.start_session(tab, f"bench view {secrets.token_hex(4)}")
            await self.workspace.evaluate(WATCH_JS, last_id)
            await proxy.stats(reset=True)
            if probe:
                await tab.page.evaluate("() => window.__bench.startProbe()")
            mark = len(tab.frames)
            agent_mark = len(self.agent_frames)
            t0 = await tab.accept()
            await self.workspace.wait_for_function(
                "() => window.__benchDone !== null", timeout=180_000, polling=20
            )
            done = float(await self.workspace.evaluate("() => window.__benchDone"))
            await asyncio.sleep(0.3)
            wire = await proxy.stats()
            gap = float(await tab.page.evaluate("() => window.__bench.stopProbe()")) if probe else 0
            t0_page = await tab.page.evaluate("(t) => t - performance.timeOrigin", t0)
            window_end = t0_page + (done - t0) + 300
            tasks = await tab.page.evaluate(
                "([a, b]) => window.__bench.longtasks.filter(([s, d]) => s + d >= a && s <= b)"
                ".map(([s, d]) => d)",
                [t0_page, window_end],
            )
            frames = tab.frames[mark:]
            started = next((f.at for f in frames if not f.sent and f.type == "session.started"), 0)
            dom = [f for f in frames if f.sent and f.type.startswith("dom.")]
            replica = [f for f in self.agent_frames[agent_mark:] if f.type.startswith("replica.")]
            # DevTools frame times are the monotonic clock Python's time.monotonic() reads too.
            mono_to_epoch = (time.time() - time.monotonic()) * 1000
            return {
                "view_ms": done - t0,
                "tag_sent_ms": (dom[-1].at + mono_to_epoch - t0) if dom else math.nan,
                "agent_first_ms": (replica[0].at + mono_to_epoch - t0) if replica else math.nan,
                "agent_last_ms": (replica[-1].at + mono_to_epoch - t0) if replica else math.nan,
                "html_bytes": html_bytes,
                "snapshot_bytes": sum(f.size for f in dom),
                "dom_frames": len(dom),
                "serialize_ms": (dom[-1].at - started) if dom and started else math.nan,
                "wire_up_bytes": wire["up"],
                "extensions": wire["extensions"],
                # None: no task reached 50 ms and no probe ran to say how long the longest was.
                "longest_task_ms": max([*tasks, gap]) if (tasks or probe) else None,
                "longtasks": len(tasks),
            }
        finally:
            await self.end_session()
            await tab.close()

    # ------------------------------------------------------------ rrweb on the same pages

    async def start_sink(self) -> None:
        async def handler(ws: Any) -> None:
            received = self.sink.setdefault(ws.request.path, [])
            async for message in ws:
                received.append((now_ms(), len(message)))

        server = await websockets.serve(handler, "127.0.0.1", 0, compression=None, max_size=None)
        self.sink_port = server.sockets[0].getsockname()[1]

    async def rrweb_run(
        self, url: str, *, probe: bool = False, add_scripts: bool = False
    ) -> dict[str, Any]:
        """rrweb's recorder on ``url``: its full snapshot, as JSON and packed.

        ``add_scripts``: a page that loads our tag (the demo site): the tag is refused and
        rrweb's scripts are added once the page has loaded."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        await context.add_init_script(PAGE_INIT)
        page = await context.new_page()
        try:
            if add_scripts:
                await page.route("**/tag.js", lambda route: route.abort())
            await page.goto(url, timeout=120_000)
            if add_scripts:
                for path in ("/rrweb/record.js", "/rrweb/pack.js"):
                    await page.add_script_tag(url=f"{self.pages.origin}{path}")
            html_bytes = await page.evaluate(HTML_BYTES_JS)
            result: dict[str, Any] = await page.evaluate(
                """async (probe) => {
                  const B = window.__bench;
                  if (probe) B.startProbe();
                  await new Promise((r) => setTimeout(r, 50));
                  const events = [];
                  const t0 = performance.now();
                  const stop = rrwebRecord.record({ emit(e) { events.push(e); } });
                  const t1 = performance.now();
                  await new Promise((r) => setTimeout(r, 100));
                  const gap = probe ? B.stopProbe() : 0;
                  if (stop) stop();
                  const t2 = performance.now();
                  const json = JSON.stringify(events);
                  const t3 = performance.now();
                  let packed = 0;
                  for (const e of events) packed += rrwebPacker.pack(e).length;
                  const t4 = performance.now();
                  const tasks = B.longtasks.filter(([s, d]) => s + d >= t0 && s <= t1 + 100)
                    .map(([s, d]) => d);
                  return { record_ms: t1 - t0, stringify_ms: t3 - t2, pack_ms: t4 - t3,
                    json_bytes: new TextEncoder().encode(json).length, packed_bytes: packed,
                    longest_task_ms: (probe || tasks.length) ? Math.max(0, gap, ...tasks) : null,
                    events: events.length };
                }""",
                probe,
            )
            result["html_bytes"] = html_bytes
            result["serialize_ms"] = result["record_ms"] + result["stringify_ms"]
            return result
        finally:
            await context.close()

    async def rrweb_stream(self, url: str, *, throttle: bool = False) -> dict[str, Any]:
        """rrweb streaming its full snapshot, packed, over a WebSocket (throttled like ours):
        time from record() until the other end has the whole snapshot."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        if throttle:
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", THROTTLE)
        path = f"/{secrets.token_hex(6)}"
        try:
            await page.goto(url, timeout=120_000)
            t0 = await page.evaluate(
                """async (sink) => {
                  const ws = new WebSocket(sink);
                  ws.binaryType = 'arraybuffer';
                  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
                  const bytes = (s) => { const a = new Uint8Array(s.length);
                    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i); return a; };
                  const t0 = performance.timeOrigin + performance.now();
                  window.__stop = rrwebRecord.record({
                    emit(e) { ws.send(bytes(rrwebPacker.pack(e))); } });
                  return t0;
                }""",
                f"ws://127.0.0.1:{self.sink_port}{path}",
            )
            deadline = time.monotonic() + 180
            while len(self.sink.get(path, [])) < 2:  # meta, then the full snapshot
                if time.monotonic() > deadline:
                    raise RuntimeError("rrweb's snapshot never reached the sink")
                await asyncio.sleep(0.01)
            arrived = self.sink[path]
            return {"view_ms": arrived[1][0] - t0, "packed_bytes": sum(n for _, n in arrived[:2])}
        finally:
            await context.close()

    # ------------------------------------------------------------ the scripted minute

    async def script(self, page: Page, seconds: float) -> float:
        """Pointer movement, scrolling, typing and DOM changes for ``seconds``; returns the
        wall time it took. The same script drives our tag's page and rrweb's."""
        start = time.monotonic()
        step = 0
        while time.monotonic() - start < seconds:
            t = step * 0.1
            await page.mouse.move(640 + 400 * math.sin(t * 1.3), 400 + 300 * math.sin(t * 0.7))
            if step % 20 == 10:
                await page.mouse.wheel(0, 300 if (step // 20) % 2 == 0 else -300)
            if step % 5 == 0:
                await page.evaluate(
                    """(k) => {
                      document.getElementById('tick').textContent = 'update ' + k;
                      const feed = document.getElementById('feed');
                      const li = document.createElement('li');
                      li.className = 'item'; li.textContent = 'New item ' + k;
                      feed.insertBefore(li, feed.firstChild);
                      feed.removeChild(feed.lastElementChild);
                      const rows = document.querySelectorAll('.row');
                      rows[k % rows.length].classList.toggle('hot');
                    }""",
                    step,
                )
            if step % 100 == 30:
                await page.click("#name")
                await page.keyboard.type("Ada Lovelace, 12 Analytical Row", delay=30)
            step += 1
            await asyncio.sleep(max(0.0, start + step * 0.1 - time.monotonic()))
        return time.monotonic() - start

    async def minute_ours(self, seconds: float) -> dict[str, Any]:
        run = secrets.token_hex(4)
        tab = await VisitorTab.open(self.browser, self.url("workload", run))
        try:
            await self.start_session(tab, f"bench minute {run}")
            await self.workspace.evaluate(WATCH_JS, f"bench-last-{run}")
            await tab.accept()
            await self.workspace.wait_for_function(
                "() => window.__benchDone !== null", timeout=60_000, polling=20
            )
            await asyncio.sleep(0.5)
            await self.proxy.stats(reset=True)
            mark = len(tab.frames)
            took = await self.script(tab.page, seconds)
            await asyncio.sleep(0.3)
            wire = await self.proxy.stats()
            sent = [f for f in tab.frames[mark:] if f.sent]
            scale = 60 / took
            return {
                "wire_bytes_per_min": wire["up"] * scale,
                "json_bytes_per_min": sum(f.size for f in sent) * scale,
                "messages_per_min": len(sent) * scale,
            }
        finally:
            await self.end_session()
            await tab.close()

    async def minute_rrweb(self, seconds: float) -> dict[str, Any]:
        context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        try:
            await page.goto(self.url("workload", "0", "rrweb"))
            await page.evaluate(
                "() => { window.__events = []; window.__stop = rrwebRecord.record("
                "{ emit(e) { window.__events.push(e); } }); }"
            )
            await asyncio.sleep(0.5)
            mark = await page.evaluate("() => window.__events.length")
            took = await self.script(page, seconds)
            await asyncio.sleep(0.3)
            sizes = await page.evaluate(
                """(mark) => { const ev = window.__events.slice(mark); let p = 0;
                  for (const e of ev) p += rrwebPacker.pack(e).length;
                  return { packed: p, json: new TextEncoder().encode(JSON.stringify(ev)).length,
                    n: ev.length }; }""",
                mark,
            )
            scale = 60 / took
            return {
                "wire_bytes_per_min": sizes["packed"] * scale,
                "json_bytes_per_min": sizes["json"] * scale,
                "messages_per_min": sizes["n"] * scale,
            }
        finally:
            await context.close()

    # ------------------------------------------------------------ DOM change to the replica

    async def dom_latency(self, samples: int) -> list[float]:
        run = secrets.token_hex(4)
        tab = await VisitorTab.open(self.browser, self.url("workload", run, "direct"))
        try:
            await self.start_session(tab, f"bench change {run}")
            await self.workspace.evaluate(WATCH_JS, f"bench-last-{run}")
            await tab.accept()
            await self.workspace.wait_for_function(
                "() => window.__benchDone !== null", timeout=60_000, polling=20
            )
            await self.workspace.evaluate(
                """() => {
                  const doc = document.querySelector('[data-testid=replica-frame]').contentDocument;
                  const seen = window.__benchTicks = {};
                  new MutationObserver(() => {
                    const e = doc.getElementById('tick');
                    const v = e && e.textContent;
                    if (v && !(v in seen)) seen[v] = performance.timeOrigin + performance.now();
                  }).observe(doc, { subtree: true, childList: true, characterData: true });
                }"""
            )
            changed: dict[str, float] = {}
            for k in range(samples):
                changed[f"tick-{k}"] = await tab.page.evaluate(
                    """(k) => { document.getElementById('tick').textContent = 'tick-' + k;
                      return performance.timeOrigin + performance.now(); }""",
                    k,
                )
                await asyncio.sleep(0.15)
            await asyncio.sleep(0.5)
            seen = await self.workspace.evaluate("() => window.__benchTicks")
            return [seen[k] - t for k, t in changed.items() if k in seen]
        finally:
            await self.end_session()
            await tab.close()

    # ------------------------------------------------------------ concurrent sessions

    async def agents(self, count: int) -> list[ProtocolPeer]:
        peers = []
        for i in range(1, count + 1):
            if i not in self._cookies:
                self._cookies[i] = await asyncio.to_thread(agent_cookie, self.relay, i)
            peers.append(await connect_agent(self.relay, self._cookies[i]))
        return peers

    async def pointer_sessions(self, sessions: int, rounds: int) -> dict[str, Any]:
        """``sessions`` visitor tabs (real tag, grid page) each with a protocol-speaking agent;
        each visitor's pointer visits a cell every 200 ms; latency = the agent's socket receiving
        the pointer message minus the browser's time of the visitor's pointermove event."""
        agents = await self.agents(sessions)
        memory_before = self.relay.pss_bytes()
        tabs: list[VisitorTab] = []
        maps: list[dict[int, int]] = []
        try:
            for i, agent in enumerate(agents):
                tab = await VisitorTab.open(
                    self.browser, self.url("grid", f"p{i}", "direct"), frames=False
                )
                tabs.append(tab)
                text = f"bench pointer {i} {secrets.token_hex(3)}"
                await tab.chat(text)
                said = await agent.wait(
                    lambda m, text=text: m["type"] == "chat.message" and m.get("text") == text
                )
                await agent.send("invite.send", conversation=said["conversation"], mode="view_only")
                await tab.wait_invite()
                await tab.accept()
                await agent.wait(lambda m: m["type"] == "replica.snapshot", timeout=60)
            await asyncio.sleep(2)
            memory_after = self.relay.pss_bytes()
            for agent in agents:
                cells: dict[int, int] = {}
                for _, message in agent.messages:
                    if message["type"].startswith("replica."):
                        walk_cells(message, cells)
                maps.append(cells)
                agent.messages.clear()
            offsets = [await _clock_offset(tab.page) for tab in tabs]
            centers = await tabs[0].page.evaluate(
                "() => [...document.querySelectorAll('[data-cell]')].map((e) => {"
                " const r = e.getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })"
            )

            async def drive(i: int, tab: VisitorTab) -> None:
                await asyncio.sleep(i * 0.2 / len(tabs))
                start = time.monotonic()
                for r in range(rounds):
                    x, y = centers[(r * 7 + i) % len(centers)]
                    await tab.page.mouse.move(x, y)
                    await asyncio.sleep(max(0.0, start + (r + 1) * 0.2 - time.monotonic()))

            await asyncio.gather(*(drive(i, tab) for i, tab in enumerate(tabs)))
            await asyncio.sleep(0.5)
            latencies: list[float] = []
            for i, tab in enumerate(tabs):
                moves = await tab.page.evaluate("() => window.__bench.moves")
                got = [
                    (at, maps[i].get(m["id"]))
                    for at, m in agents[i].messages
                    if m["type"] == "pointer"
                ]
                latencies.extend(_match(moves, got, offsets[i]))
            return {
                "latencies": latencies,
                "moves": rounds * len(tabs),
                "memory_per_session": (memory_after - memory_before) / max(1, len(tabs)),
                "memory_total": memory_after,
            }
        finally:
            for tab in tabs:
                await tab.close()
            await _end_sessions(agents)

    async def relay_load(self, pairs: int, seconds: float) -> dict[str, Any]:
        """Protocol-speaking visitors stream pointer messages at 250/s each to their agents;
        messages delivered per CPU-second of the relay process."""
        agents = await self.agents(pairs)
        visitors: list[ProtocolPeer] = []
        received = [0]
        sent_at: dict[tuple[int, int], float] = {}
        hop: list[float] = []
        try:
            for agent in agents:
                visitor = await connect_visitor(self.relay, self.pages.origin)
                visitors.append(visitor)
                hello = await visitor.wait(lambda m: m["type"] == "hello")
                conversation = hello["conversation"]
                await visitor.send("chat.send", text="hello")  # stores the conversation
                await agent.wait(
                    lambda m, c=conversation: m["type"] == "chat.message" and m["conversation"] == c
                )
                await agent.send("invite.send", conversation=conversation, mode="view_only")
                offer = await visitor.wait(lambda m: m["type"] == "invite.offer")
                await visitor.send("invite.accept", invite=offer["invite"])
                started = await visitor.wait(lambda m: m["type"] == "session.started")
                session = started["session"]
                doc = [1, "#document", ["html", ["body", ["p"]]]]
                await visitor.send(
                    "dom.snapshot", session=session, seq=0, url=f"{self.pages.origin}/x",
                    title="x", viewport={"w": 1280, "h": 800, "dpr": 1}, doc=doc,
                )  # fmt: skip
                await agent.wait(lambda m: m["type"] == "replica.snapshot", timeout=60)
                agent.messages.clear()
                visitor.messages.clear()

                def count(at: float, message: dict[str, Any], i: int = len(visitors) - 1) -> None:
                    if message["type"] == "pointer":
                        received[0] += 1
                        sent = sent_at.pop((i, round(message["x"] * 1e6)), None)
                        if sent is not None:
                            hop.append(at - sent)

                agent.on_message = count
                del session
            cpu0, wall0 = self.relay.cpu_seconds(), time.monotonic()

            async def blast(i: int, visitor: ProtocolPeer) -> None:
                start = time.monotonic()
                tick = 0
                seq = 0
                while time.monotonic() - start < seconds:
                    for _ in range(5):
                        seq += 1
                        frame = json.dumps({"v": 1, "type": "pointer",
                                            "session": visitor.session, "id": 4,
                                            "x": (seq % 999_999) / 1e6, "y": 0.5})  # fmt: skip
                        if seq % 10 == 0:  # every tenth message is timed through the relay
                            sent_at[(i, seq % 999_999)] = now_ms()
                        await visitor.ws.send(frame)
                    tick += 1
                    await asyncio.sleep(max(0.0, start + tick * 0.02 - time.monotonic()))

            await asyncio.gather(*(blast(i, v) for i, v in enumerate(visitors)))
            await asyncio.sleep(0.5)
            cpu1, wall1 = self.relay.cpu_seconds(), time.monotonic()
            loaded = hop[:]
            hop.clear()
            sent_at.clear()

            async def light(i: int, visitor: ProtocolPeer) -> None:
                # 20 timed messages per second per session: the relay's hop when not saturated.
                await asyncio.sleep(i * 0.05 / len(visitors))
                for k in range(40):
                    seq = 999_000 + k
                    sent_at[(i, seq)] = now_ms()
                    await visitor.send("pointer", session=visitor.session, id=4, x=seq / 1e6, y=0.5)
                    await asyncio.sleep(0.05)

            await asyncio.gather(*(light(i, v) for i, v in enumerate(visitors)))
            await asyncio.sleep(0.3)
            return {
                "delivered": received[0],
                "relay_cpu_s": cpu1 - cpu0,
                "per_cpu_second": received[0] / max(1e-9, cpu1 - cpu0),
                "per_wall_second": received[0] / (wall1 - wall0),
                "hop_ms": loaded,
                "hop_light_ms": hop[:],
            }
        finally:
            for agent in agents:
                agent.on_message = None
            for visitor in visitors:
                await visitor.close()
            await _end_sessions(agents)


async def _end_sessions(agents: list[ProtocolPeer]) -> None:
    """End each agent's session (an agent may have only one) and disconnect it."""
    for agent in agents:
        if agent.session:
            with contextlib.suppress(websockets.ConnectionClosed):
                await agent.send("session.end", session=agent.session)
                await agent.wait(lambda m: m["type"] == "session.ended", timeout=5)
        await agent.close()


async def _clock_offset(page: Page) -> float:
    """Python's epoch clock minus the page's (ms), from the tightest of three round trips."""
    best = (math.inf, 0.0)
    for _ in range(3):
        before = now_ms()
        value = await page.evaluate("() => performance.timeOrigin + performance.now()")
        after = now_ms()
        best = min(best, (after - before, (before + after) / 2 - value))
    return best[1]


def _match(
    moves: list[list[float]], got: list[tuple[float, int | None]], offset: float
) -> list[float]:
    """Pair each pointer move (cell, page time) with the first later pointer message naming
    that cell; returns the latencies in ms."""
    latencies = []
    j = 0
    last_cell = None
    for cell, at in moves:
        if cell == last_cell:
            continue  # several events over one cell: the first one is the move
        last_cell = cell
        at_py = at + offset
        k = j
        while k < len(got) and not (got[k][1] == cell and got[k][0] >= at_py - 5):
            k += 1
        if k < len(got):
            latencies.append(got[k][0] - at_py)
            j = k + 1
    return latencies
