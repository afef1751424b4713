"""Runs `cobrowse check`: a real co-browse session per page, against an in-process relay.

Owns: the checker's relay (a ``RelayServer`` on a free loopback port whose only brand allows
the checked pages' origins), the headless Chromium, the agent (the real workspace, signed in
with a one-off account), one session per page, and turning what it saw into a ``PageReport``.
Must not: contact any relay but its own (the tag's socket is routed to it, whatever the page's
tag names), keep anything after the run, or raise for a page's fault: a page that cannot be
checked gets ``error`` set to one line for people.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import uvicorn
import websockets
from PIL import Image
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from websockets.typing import Origin

from cobrowse_check import rules
from cobrowse_check.bridge import Sent, VisitorBridge
from cobrowse_check.model import (
    FidelityResult,
    Finding,
    MaskedElement,
    PageReport,
)
from relay.app import RelayServer
from relay.passwords import hash_password
from relay.settings import Agent, Brand, Settings
from renderer.chromium import launch_options
from wire import nodes as wire_nodes

PROBE_JS = (Path(__file__).resolve().parent / "probe.js").read_text(encoding="utf-8")
AGENT_ID = "compat-check"
BRAND_ID = "check"
STEP_TIMEOUT_MS = 20_000  # one step of the session (sign-in, invite, replica) at most
TAG_WAIT_MS = 1_500  # a tag added by a tag manager after `load` gets this long to appear

# Hides the tag's own UI (a closed shadow root under <cobrowse-ui>) in the visitor's screenshot:
# it is never sent to the agent, so it is not part of what the replica should look like.
VISITOR_SHOT_CSS = "cobrowse-ui { display: none !important; }"
AGENT_SHOT_CSS = "#replica-overlay { display: none !important; }"

LONGTASK_JS = """
(() => {
  if (window.top !== window || !window.PerformanceObserver) return;
  const seen = [];
  Object.defineProperty(window, '__cobrowseCheckLongTasks', { value: seen });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no long task timing in this browser */ }
})();
"""


@dataclass(frozen=True)
class CheckOptions:
    urls: tuple[str, ...]
    mask_selectors: tuple[str, ...] = ()
    crawl: int = 0  # same-origin pages to follow beyond the given URLs
    timeout: float = 30.0  # seconds a page gets to finish loading
    idle_seconds: float = 3.0  # how long the page is watched while nobody acts
    viewport: tuple[int, int] = (1280, 800)
    chromium: str | None = None
    out_dir: Path | None = None  # keep screenshots here (the HTML report writes them)
    progress: Callable[[str], None] = field(default=lambda line: None)


@dataclass
class Images:
    """Screenshots of one page, kept for the HTML report."""

    visitor: Image.Image
    agent: Image.Image
    diff: Image.Image


@dataclass
class CheckRun:
    reports: list[PageReport] = field(default_factory=list)
    images: dict[int, Images] = field(default_factory=dict)  # report index -> screenshots


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def normalize(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def check_settings(
    origins: tuple[str, ...], mask_selectors: tuple[str, ...]
) -> tuple[Settings, str]:
    """Settings of the checker's relay and the one-off agent password."""
    password = secrets.token_urlsafe(18)
    settings = Settings(
        brands=(Brand(BRAND_ID, "Compatibility check", origins, mask_selectors),),
        agents=(Agent(AGENT_ID, "Compatibility check", hash_password(password), (BRAND_ID,)),),
        secret_key=secrets.token_urlsafe(32),
    )
    return settings, password


async def run_check(options: CheckOptions) -> CheckRun:
    """Check every URL (and, with ``crawl``, the same-origin pages they link to)."""
    run = CheckRun()
    queue: list[str] = []
    for url in options.urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            run.reports.append(PageReport(url, error="not an http(s) URL"))
            continue
        if normalize(url) not in queue:
            queue.append(normalize(url))
    if not queue:
        return run
    origins = tuple(dict.fromkeys(origin_of(u) for u in queue))
    settings, password = check_settings(origins, options.mask_selectors)
    port = _free_port()
    relay = RelayServer(settings)
    config = uvicorn.Config(
        relay.app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        ws_max_size=settings.limits.visitor_frame_bytes,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            if serving.done():
                raise CheckError("the checker's relay did not start")
            await asyncio.sleep(0.05)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options(options.chromium))
            try:
                agent = await Workspace.open(browser, base, password)
                seen: set[str] = set(queue)
                budget = options.crawl
                index = 0
                while index < len(queue):
                    url = queue[index]
                    index += 1
                    options.progress(f"[{index}/{len(queue)}] {url}")
                    checker = PageCheck(playwright, browser, agent, base, options, url)
                    report, images, links = await checker.run()
                    if images is not None:
                        run.images[len(run.reports)] = images
                    run.reports.append(report)
                    options.progress(f"[{index}/{len(queue)}] {url}: {_status_line(report)}")
                    for link in links:
                        if budget <= 0:
                            break
                        link = normalize(link)
                        if link not in seen and origin_of(link) in origins:
                            seen.add(link)
                            queue.append(link)
                            budget -= 1
                await agent.close()
                _judge_selectors(run.reports, options.mask_selectors)
            finally:
                await browser.close()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, timeout=10)
    return run


def _judge_selectors(reports: list[PageReport], selectors: tuple[str, ...]) -> None:
    """A configured selector that matches nothing on any checked page is reported on each.

    Per page it is normal (a brand's selectors cover all its pages); on no page at all it is
    how a redesign silently stops masking a field.
    """
    if not selectors:
        return
    checked = [r for r in reports if r.error is None and r.findings]
    matched = {
        s["selector"] for r in checked for s in r.masking.selectors if s["valid"] and s["matches"]
    }
    invalid = {s for r in checked for s in r.masking.invalid_selectors}
    never = [s for s in selectors if s not in matched and s not in invalid]
    for report in checked:
        if never:
            finding = Finding(
                "mask_selectors",
                "Configured mask selectors match",
                "warning",
                "these selectors match nothing on any checked page: a redesign may have "
                "left the fields they were for unmasked",
                [f"{s} matches nothing" for s in never],
            )
        else:
            finding = Finding(
                "mask_selectors",
                "Configured mask selectors match",
                "pass",
                f"every configured selector matches on at least one checked page "
                f"({len(selectors)} selectors)",
            )
        report.findings.append(finding)


def _status_line(report: PageReport) -> str:
    if report.error:
        return f"FAIL: {report.error}"
    return report.status.upper()


class CheckError(Exception):
    """The check itself could not run (not a page's fault); the message is for people."""


class Workspace:
    """The agent: the real agent workspace, signed in, in a browser context of its own."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.replica_seq = -1  # highest seq of a replica.* message the agent received
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"replica.' in payload[:300]:
                with contextlib.suppress(ValueError, TypeError):
                    seq = json.loads(payload).get("seq")
                    if isinstance(seq, int):
                        self.replica_seq = max(self.replica_seq, seq)

        ws.on("framereceived", received)

    async def wait_for_seq(self, seq: int, timeout: float) -> None:
        """Until the agent received the replica of the visitor's message ``seq``."""
        deadline = time.monotonic() + timeout
        while self.replica_seq < seq:
            if time.monotonic() > deadline:
                raise CheckError("the agent's view was not complete in time")
            await asyncio.sleep(0.05)

    @classmethod
    async def open(cls, browser: Browser, base: str, password: str) -> Workspace:
        context = await browser.new_context(viewport={"width": 1700, "height": 1150})
        page = await context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        workspace = cls(context, page)
        await page.goto(f"{base}/agent")
        await page.get_by_test_id("login-name").fill(AGENT_ID)
        await page.get_by_test_id("login-password").fill(password)
        await page.get_by_test_id("login-submit").click()
        await page.get_by_test_id("conversation-list").wait_for()
        return workspace

    async def start_session(self, marker: str) -> None:
        page = self.page
        item = page.get_by_test_id("conversation-item").filter(has_text=marker)
        await item.first.click()
        await page.get_by_test_id("cobrowse-button").click()
        await page.get_by_test_id("cobrowse-mode-view_only").click()

    async def wait_for_replica(self) -> None:
        """Until the replica is built from a snapshot and its images and fonts have loaded."""
        page = self.page
        # The workspace hides its "waiting for the visitor's page" note once a snapshot is built.
        await page.wait_for_function(
            "() => { const n = document.getElementById('replica-note'); return n && n.hidden; }"
        )
        handle = await page.get_by_test_id("replica-frame").element_handle()
        frame = await handle.content_frame()
        if frame is None:
            return
        with contextlib.suppress(PlaywrightError):
            await frame.wait_for_function(
                "() => document.readyState === 'complete' && "
                "Array.from(document.images).every((i) => i.complete)",
                timeout=STEP_TIMEOUT_MS,
            )
            await frame.evaluate("() => document.fonts ? document.fonts.ready.then(() => 1) : 1")

    async def end_session(self) -> None:
        button = self.page.get_by_test_id("session-end")
        with contextlib.suppress(PlaywrightError):
            if await button.is_visible():
                await button.click()
                status = self.page.get_by_test_id("session-status")
                await status.filter(has_text="nded").wait_for(timeout=5_000)

    async def close(self) -> None:
        await self.context.close()


class PageCheck:
    """One page: load it as a visitor, run a session, measure, and report."""

    def __init__(
        self,
        playwright: Playwright,
        browser: Browser,
        agent: Workspace,
        base: str,
        options: CheckOptions,
        url: str,
    ) -> None:
        self.playwright = playwright
        self.browser = browser
        self.agent = agent
        self.base = base
        self.options = options
        self.url = url
        self.origin = origin_of(url)
        self.report = PageReport(url)
        self.index = NodeIndex()  # the visitor's page as the tag streamed it
        self.responses: list[tuple[str, str, int, bool]] = []  # url, type, status, had auth
        self.failed: list[tuple[str, str]] = []  # url, error text
        self.bridge = VisitorBridge(base.replace("http", "ws", 1) + "/ws/visitor", self.origin)

    def _progress(self, text: str) -> None:
        self.options.progress(f"    {text}")

    async def run(self) -> tuple[PageReport, Images | None, list[str]]:
        context: BrowserContext | None = None
        images: Images | None = None
        links: list[str] = []
        try:
            token, marker = await self._open_conversation()
            context = await self._visitor_context(token)
            page = await context.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            if await self._load(page):
                probe = await self._probe(page)
                links = list(probe.get("links", []))
                images = await self._session(page, probe, marker)
        except CheckError as error:
            self.report.error = str(error)
        except PlaywrightTimeout as error:
            self.report.error = f"timed out: {_first_line(str(error))}"
        except PlaywrightError as error:
            self.report.error = f"browser error: {_first_line(str(error))}"
        finally:
            await self.agent.end_session()
            if context is not None:
                with contextlib.suppress(PlaywrightError):
                    await context.close()
            await self.bridge.close()
        return self.report, images, links

    # ------------------------------------------------------------ setup

    async def _open_conversation(self) -> tuple[str, str]:
        """A conversation for this page, as a visitor who wrote one line: (token, marker)."""
        marker = f"compatibility check {secrets.token_hex(4)}"
        try:
            async with websockets.connect(
                self.bridge.relay_ws, origin=Origin(self.origin)
            ) as connection:
                token = ""
                while not token:
                    message = json.loads(await asyncio.wait_for(connection.recv(), 10))
                    if message.get("type") == "hello":
                        token = str(message["token"])
                await connection.send(json.dumps({"v": 1, "type": "chat.send", "text": marker}))
                await asyncio.sleep(0.1)
        except (OSError, TimeoutError, websockets.WebSocketException, ValueError) as error:
            raise CheckError(
                f"could not open a conversation on the checker's relay: {error}"
            ) from None
        return token, marker

    async def _visitor_context(self, token: str) -> BrowserContext:
        width, height = self.options.viewport
        # bypass_csp: the page's Content-Security-Policy names its own relay, not the checker's
        # (an injected tag and its socket would be refused); nothing else depends on it here.
        context = await self.browser.new_context(
            viewport={"width": width, "height": height}, bypass_csp=True
        )
        seed = json.dumps({"token": token})
        # The tab already has a conversation (as after a visitor's first chat line), so the
        # tag connects at load and the page need not be touched to open the chat.
        await context.add_init_script(
            "(() => { try { if (window.top === window && location.origin === "
            + json.dumps(self.origin)
            + " && !sessionStorage.getItem('cobrowse')) sessionStorage.setItem('cobrowse', "
            + json.dumps(seed)
            + "); } catch (e) {} })();"
        )
        await context.add_init_script(LONGTASK_JS)
        await context.route_web_socket(
            lambda url: urlsplit(url).path.endswith("/ws/visitor"), self.bridge.route
        )
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_failed)
        return context

    async def _on_response(self, response: Any) -> None:
        request = response.request
        if request.resource_type in ("document", "websocket"):
            return
        with contextlib.suppress(PlaywrightError):
            headers = await request.all_headers()
            self.responses.append(
                (response.url, request.resource_type, response.status, "authorization" in headers)
            )

    def _on_failed(self, request: Any) -> None:
        self.failed.append((request.url, str(request.failure or "")))

    async def _load(self, page: Page) -> bool:
        """Go to the page; False (with ``error`` set) when it cannot be checked."""
        self._progress("loading")
        try:
            response = await page.goto(
                self.url, wait_until="load", timeout=self.options.timeout * 1000
            )
        except PlaywrightTimeout:
            self.report.error = f"the page did not finish loading within {self.options.timeout:g} s"
            return False
        except PlaywrightError as error:
            self.report.error = _navigation_error(str(error))
            return False
        final = page.url
        self.report.final_url = final
        if origin_of(final) != self.origin:
            self.report.error = f"redirected to another origin: {final}"
            return False
        if response is not None and response.status >= 400:
            reason = " (the page needs HTTP authentication)" if response.status == 401 else ""
            self.report.error = f"the page answered HTTP {response.status}{reason}"
            return False
        self.report.title = await page.title()
        return True

    async def _probe(self, page: Page) -> dict[str, Any]:
        carried = await _has_tag(page, TAG_WAIT_MS)
        in_frames = []
        for frame in page.frames[1:]:
            with contextlib.suppress(PlaywrightError):
                if await frame.evaluate("() => !!window.__cobrowse"):
                    in_frames.append(frame.url)
        probe: dict[str, Any] = await page.evaluate(
            PROBE_JS,
            {"selectors": list(self.options.mask_selectors), "sensitive": rules.SENSITIVE_NAMES},
        )
        if carried:
            self.report.tag = "carried"
        else:
            self.report.tag = "subframe" if in_frames else "injected"
            await page.add_script_tag(url=f"{self.base}/tag.js")
            if not await _has_tag(page, STEP_TIMEOUT_MS):
                raise CheckError("the injected tag did not start on this page")
        probe["tag_frames"] = in_frames
        probe["closed_shadow_roots"] = await _closed_shadow_hosts(page)
        return probe

    # ------------------------------------------------------------ the session

    async def _session(self, page: Page, probe: dict[str, Any], marker: str) -> Images | None:
        try:
            await asyncio.wait_for(self.bridge.hello.wait(), STEP_TIMEOUT_MS / 1000)
        except TimeoutError:
            raise CheckError(
                "the tag never connected to the relay"
                + (f" ({self.bridge.errors[0]})" if self.bridge.errors else "")
            ) from None
        self._progress("co-browse session")
        page_t0: float = await page.evaluate("() => performance.now()")
        await self.agent.start_session(marker)
        try:
            await asyncio.wait_for(self.bridge.session_started.wait(), STEP_TIMEOUT_MS / 1000)
        except TimeoutError:
            raise CheckError("the co-browse session did not start") from None
        started = self.bridge.session_started_at
        stream = await self._snapshot_stream(started)
        await self.agent.wait_for_seq(int(stream[-1].body.get("seq", 0)), rules.STREAM_TIMEOUT_S)
        await self.agent.wait_for_replica()
        view_done = time.monotonic()
        figures = self.report.figures
        figures.agent_view_ms = round((view_done - started) * 1000, 1)
        figures.snapshot_bytes = sum(s.size for s in stream)
        tasks: list[list[float]] = await page.evaluate(
            "() => (window.__cobrowseCheckLongTasks || []).slice()"
        )
        during = [d for s, d in tasks if s + d >= page_t0]
        figures.longest_task_ms = round(max(during), 1) if during else None

        self._progress("fidelity")
        images = await self._fidelity(page)

        self._progress(f"watching the idle page for {self.options.idle_seconds:g} s")
        await asyncio.sleep(0.3)
        idle_start = time.monotonic()
        await asyncio.sleep(self.options.idle_seconds)
        idle = self.bridge.frames_since(idle_start)
        self.index = NodeIndex.of_snapshot(stream[0].message)
        for chunk in stream[1:]:
            if chunk.message:
                self.index.apply(chunk.message)
        self._idle_figures(idle, self.index)

        self._progress("masking")
        await self._canary(page, probe)
        await self._resources()
        self._findings(probe)
        return images

    async def _snapshot_stream(self, started: float) -> list[Sent]:
        """The snapshot and the chunks that follow it (``loading``), once the last is sent."""
        deadline = time.monotonic() + rules.STREAM_TIMEOUT_S
        while True:
            frames = [s for s in self.bridge.frames_since(started) if s.message]
            first = next((i for i, s in enumerate(frames) if s.type == "dom.snapshot"), None)
            if first is not None:
                stream = [frames[first]]
                for frame in frames[first + 1 :]:
                    if not stream[-1].message or not stream[-1].message.get("loading"):
                        break
                    if frame.type == "dom.mutations":
                        stream.append(frame)
                last = stream[-1].message
                if last is not None and not last.get("loading"):
                    return stream
            if time.monotonic() > deadline:
                raise CheckError("the tag did not finish sending the page")
            await asyncio.sleep(0.05)

    async def _fidelity(self, page: Page) -> Images | None:
        from cobrowse_qa.fidelity import compare

        visitor_png = await page.screenshot(style=VISITOR_SHOT_CSS)
        stage = self.agent.page.locator("#replica-stage")
        agent_png = await stage.screenshot(style=AGENT_SHOT_CSS)
        visitor = Image.open(io.BytesIO(visitor_png))
        agent = Image.open(io.BytesIO(agent_png))
        result = compare(visitor, agent)
        self.report.fidelity = FidelityResult(
            score=round(result.score, 4), changed=round(result.changed, 4)
        )
        return Images(visitor.convert("RGB"), agent.convert("RGB"), result.diff)

    def _idle_figures(self, idle: list[Any], index: NodeIndex) -> None:
        figures = self.report.figures
        seconds = self.options.idle_seconds
        batches = [s for s in idle if s.type == "dom.mutations" and s.message]
        changes = 0
        targets: Counter[str] = Counter()
        for batch in batches:
            body = batch.message
            # Entry by entry: an add may name a parent added earlier in the same batch.
            for add in body.get("adds", []):
                targets[index.describe(add.get("parent"))] += 1
                index.add_run(add.get("nodes"), add.get("parent"))
            for attr in body.get("attrs", []):
                targets[index.describe(attr[0])] += 1
                index.set_attribute(attr)
            for text in body.get("texts", []):
                parent = index.nodes.get(text[0], ("", 0))[1]
                targets[index.describe(parent)] += 1
            changes += sum(len(body.get(k, [])) for k in ("adds", "removes", "attrs", "texts"))
        figures.idle_seconds = seconds
        figures.idle_batches_per_s = round(len(batches) / seconds, 2)
        figures.idle_changes_per_s = round(changes / seconds, 2)
        figures.idle_bytes_per_s = round(sum(s.size for s in idle) / seconds, 1)
        self._busiest = [f"{name} ({count} changes)" for name, count in targets.most_common(5)]

    async def _canary(self, page: Page, probe: dict[str, Any]) -> None:
        """Type a distinct canary into every masked field; none may reach the relay."""
        since = time.monotonic()
        result: dict[str, Any] = await page.evaluate(
            PROBE_JS,
            {
                "selectors": list(self.options.mask_selectors),
                "sensitive": rules.SENSITIVE_NAMES,
                "canary": rules.CANARY,
            },
        )
        filled: list[list[str]] = result["filled"]
        masking = self.report.masking
        masking.canary_fields = len(filled)
        if not filled:
            return
        await asyncio.sleep(0.8)  # a batch goes out within one animation frame
        wire = "\n".join(s.text for s in self.bridge.frames_since(since))
        masking.canary_leaks = [element for canary, element in filled if canary in wire]

    async def _resources(self) -> None:
        """Reload every sub-resource without cookies or credentials, as the agent would."""
        candidates: dict[str, tuple[str, int, bool]] = {}
        for url, kind, status, auth in self.responses:
            if url.startswith(("http://", "https://")) and kind in rules.REPLAYED_RESOURCES:
                candidates.setdefault(url, (kind, status, auth))
        bound: list[str] = []
        request = await self.playwright.request.new_context(ignore_https_errors=True)
        try:
            for url, (kind, status, auth) in list(candidates.items())[: rules.MAX_RESOURCES]:
                if status in (401, 407):
                    bound.append(f"{url} ({kind}: HTTP {status} for the visitor too)")
                    continue
                try:
                    again = await request.get(url, timeout=10_000, max_redirects=0)
                except PlaywrightError as error:
                    bound.append(f"{url} ({kind}: {_first_line(str(error))})")
                    continue
                if again.status in (401, 403, 407):
                    how = "HTTP authentication" if auth or again.status == 401 else "cookies"
                    bound.append(f"{url} ({kind}: HTTP {again.status} without {how})")
                elif 300 <= again.status < 400 and status < 300:
                    bound.append(
                        f"{url} ({kind}: redirects to {again.headers.get('location')} "
                        "without the visitor's cookies)"
                    )
        finally:
            await request.dispose()
        self._bound = bound
        self._replayed = min(len(candidates), rules.MAX_RESOURCES)

    # ------------------------------------------------------------ findings

    def _findings(self, probe: dict[str, Any]) -> None:
        report = self.report
        figures = report.figures
        figures.dom_bytes = int(probe["dom_bytes"])
        figures.dom_nodes = int(probe["dom_nodes"])
        add = report.findings.append

        if report.tag == "carried":
            add(
                Finding(
                    "tag_topmost",
                    "Tag in the topmost frame",
                    "pass",
                    "the page carries the tag in its top frame",
                )
            )
        elif report.tag == "subframe":
            add(
                Finding(
                    "tag_topmost",
                    "Tag in the topmost frame",
                    "fail",
                    "the tag runs in a frame, not in the top page (the checker injected "
                    "it into the top page for this run)",
                    list(probe["tag_frames"]),
                )
            )
        else:
            add(
                Finding(
                    "tag_topmost",
                    "Tag in the topmost frame",
                    "warning",
                    "the page does not carry the tag: the checker injected it for this "
                    "run; add it before going live",
                )
            )

        add(
            _finding_if(
                probe["framesets"],
                "framesets",
                "No HTML framesets",
                "fail",
                "the page uses a frameset; the agent cannot be shown framesets",
            )
        )

        iframes = probe["iframes"]
        same = [f["element"] for f in iframes if f["same_origin"]]
        cross = [f["element"] for f in iframes if not f["same_origin"]]
        if cross:
            add(
                Finding(
                    "iframes",
                    "iFrames from the same origin",
                    "warning",
                    "cross-origin iframes cannot be mirrored: the agent sees an empty box",
                    cross,
                )
            )
        elif same:
            add(
                Finding(
                    "iframes",
                    "iFrames from the same origin",
                    "handled",
                    "same-origin iframes are mirrored",
                    same,
                )
            )
        else:
            add(Finding("iframes", "iFrames from the same origin", "pass", "no iframes"))

        add(
            _handled_if(
                probe["cssom"],
                "cssom",
                "No CSS Object Model (CSSOM) styles",
                "styles set through the CSSOM are captured (the reference forbids them)",
            )
        )

        large = figures.dom_bytes > rules.DOM_LIMIT_BYTES
        add(
            Finding(
                "dom_size",
                "DOM under 2 MB",
                "handled" if large else "pass",
                f"{_kb(figures.dom_bytes)}, {figures.dom_nodes} nodes"
                + ("; streamed in slices (the reference needs 15 s or more)" if large else ""),
            )
        )

        rate = figures.idle_batches_per_s
        busy = rate > rules.IDLE_BATCHES_PER_S_WARNING
        add(
            Finding(
                "background_animation",
                "Few background animations",
                "warning" if busy else "pass",
                f"{rate:g} change batches/s, {figures.idle_changes_per_s:g} changes/s, "
                f"{_kb(figures.idle_bytes_per_s)}/s while nobody acts",
                getattr(self, "_busiest", []) if rate > 0 else [],
            )
        )

        add(
            _finding_if(
                probe["overwritten"],
                "builtins",
                "No overwritten built-ins",
                "warning",
                "the page replaced built-in functions; the tag keeps pristine copies, "
                "other tools may not",
            )
        )

        plugins = [f"{o['element']} ({o['kind']})" for o in probe["objects"]]
        add(
            _finding_if(
                plugins,
                "plugins",
                "No Flash, ActiveX or PDF objects",
                "warning",
                "embedded objects are not mirrored: the agent sees a box labelled "
                "'plugin object' instead",
            )
        )

        bound = getattr(self, "_bound", [])
        replayed = getattr(self, "_replayed", 0)
        add(
            _finding_if(
                bound,
                "resources",
                "Resources not bound to cookies or HTTP auth",
                "fail",
                "the agent's browser loads these without the visitor's cookies "
                "or credentials, and is refused",
                passed=f"{replayed} resource(s) (images, stylesheets, fonts, media) load "
                "again without cookies or credentials",
            )
        )

        tls = [f"{u} ({e})" for u, e in self.failed if "CERT" in e or "SSL" in e]
        if urlsplit(self.url).scheme == "https":
            add(
                _finding_if(
                    tls,
                    "certificate",
                    "Certificate from a real authority",
                    "fail",
                    "resources with certificate errors",
                )
            )
        else:
            add(
                Finding(
                    "certificate",
                    "Certificate from a real authority",
                    "pass",
                    "served over http: no certificate to check",
                )
            )

        masking = report.masking
        masking.masked = [MaskedElement(**m) for m in probe["masked"]]
        masking.selectors = probe["selectors"]
        masking.invalid_selectors = [s["selector"] for s in probe["selectors"] if not s["valid"]]
        masking.unmatched_selectors = [
            s["selector"] for s in probe["selectors"] if s["valid"] and s["matches"] == 0
        ]
        masking.unmasked_sensitive = [
            {"element": u["element"], "hint": u["hint"], "label": u["label"]}
            for u in probe["unmasked_sensitive"]
        ]
        if masking.canary_leaks:
            add(
                Finding(
                    "masking",
                    "Masked fields stay in the visitor's browser",
                    "fail",
                    "a value typed into a masked field reached the relay",
                    masking.canary_leaks,
                )
            )
        elif masking.invalid_selectors:
            add(
                Finding(
                    "masking",
                    "Masked fields stay in the visitor's browser",
                    "fail",
                    "configured mask selectors are not valid CSS: the tag skips them",
                    masking.invalid_selectors,
                )
            )
        elif masking.unmasked_sensitive:
            culprits = [
                f"{u['element']} looks sensitive ({u['hint']}) but is not masked"
                for u in masking.unmasked_sensitive
            ]
            add(
                Finding(
                    "masking",
                    "Masked fields stay in the visitor's browser",
                    "warning",
                    "fields that look sensitive are sent as typed: mask them",
                    culprits,
                )
            )
        else:
            add(
                Finding(
                    "masking",
                    "Masked fields stay in the visitor's browser",
                    "pass",
                    f"{len(masking.masked)} masked, {masking.canary_fields} checked on the wire",
                )
            )

        report.not_seen = (
            [f"cross-origin iframe {c}" for c in cross]
            + [f"canvas {c}" for c in probe["canvases"]]
            + [f"plugin object {p}" for p in plugins]
            + closed_shadow_areas(probe.get("closed_shadow_roots", []), self.index)
        )
        report.handled = (
            [f"CSSOM styles: {c}" for c in probe["cssom"]]
            + [f"same-origin iframe {s}" for s in same]
            + ([f"large DOM ({_kb(figures.dom_bytes)})"] if large else [])
            + [f"open shadow root of {h}" for h in probe["open_shadow_roots"]]
        )


async def _has_tag(page: Page, wait_ms: int) -> bool:
    try:
        await page.wait_for_function("() => !!window.__cobrowse", timeout=wait_ms)
    except PlaywrightTimeout:
        return False
    return True


async def _closed_shadow_hosts(page: Page) -> list[str]:
    """Hosts of closed shadow roots (the page's script cannot see them; DevTools can)."""
    cdp = await page.context.new_cdp_session(page)
    try:
        root = (await cdp.send("DOM.getDocument", {"depth": -1, "pierce": True}))["root"]
    finally:
        with contextlib.suppress(PlaywrightError):
            await cdp.detach()
    hosts: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        if "contentDocument" in node:
            stack.append(node["contentDocument"])
        for shadow in node.get("shadowRoots", []):
            stack.append(shadow)
            name = str(node.get("localName", ""))
            if shadow.get("shadowRootType") == "closed" and name != "cobrowse-ui":
                attributes = node.get("attributes", [])
                pairs = dict(zip(attributes[::2], attributes[1::2], strict=False))
                hosts.append(name + (f"#{pairs['id']}" if pairs.get("id") else ""))
    return hosts


@dataclass
class NodeIndex:
    """The visitor's page as the tag streamed it (``dom.*`` messages, compact node form): a
    description and the parent of every node, and the closed shadow roots the tag announced.

    Build it with ``of_snapshot``, then ``apply`` each later batch in order. A tree that breaks
    the node grammar adds nothing (the relay refuses such a message too)."""

    nodes: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (label, parent id)
    keys: dict[int, str] = field(default_factory=dict)  # element id -> "tag#id" (as CDP names it)
    closed: dict[int, str] = field(default_factory=dict)  # hosts with `:shadow: closed` -> key

    @classmethod
    def of_snapshot(cls, snapshot: dict[str, Any] | None) -> NodeIndex:
        index = cls()
        if snapshot and isinstance(snapshot.get("doc"), list):
            index.add_run([snapshot["doc"]], 0)
        return index

    def apply(self, batch: dict[str, Any]) -> None:
        for add in batch.get("adds", []):
            if isinstance(add, dict):
                self.add_run(add.get("nodes"), add.get("parent"))
        for attr in batch.get("attrs", []):
            self.set_attribute(attr)

    def add_run(self, roots: Any, parent: Any) -> None:
        """Index a run of sibling trees (a snapshot's ``[doc]``, an add's ``nodes``)."""
        if not isinstance(roots, list):
            return
        found: list[tuple[wire_nodes.Item, str]] = []
        try:
            for item in wire_nodes.walk(roots, "nodes"):
                found.append((item, _label(item)))
        except wire_nodes.NodeError:
            return
        top = parent if isinstance(parent, int) else 0
        for item, label in found:
            self.nodes[item.id] = (label, item.parent.id if item.parent else top)
            if item.attrs is not None:
                name_id = item.attrs.get("id")
                self.keys[item.id] = item.name + (f"#{name_id}" if name_id else "")
                self._shadow(item.id, item.attrs.get(":shadow"))

    def set_attribute(self, entry: Any) -> None:
        """One ``attrs`` entry of a batch: ``[id, name, value or null]``."""
        if isinstance(entry, list) and len(entry) == 3 and entry[1] == ":shadow":
            self._shadow(entry[0], entry[2])

    def _shadow(self, node_id: Any, value: Any) -> None:
        if value == "closed" and node_id in self.keys:
            self.closed[node_id] = self.keys[node_id]
        elif node_id in self.closed:
            del self.closed[node_id]

    def describe(self, node_id: Any) -> str:
        if not isinstance(node_id, int) or node_id not in self.nodes:
            return "(an element added later)"
        return self.nodes[node_id][0]


def _label(item: wire_nodes.Item) -> str:
    if item.name == "#document":
        return "document"
    if item.attrs is None:
        return item.name
    label = item.name
    if item.attrs.get("id"):
        label += f"#{item.attrs['id']}"
    elif item.attrs.get("class"):
        label += "." + ".".join(str(item.attrs["class"]).split()[:2])
    return label


def closed_shadow_areas(hosts: list[str], index: NodeIndex) -> list[str]:
    """One line per closed shadow root DevTools found on the page (``hosts``, "tag#id"). The
    agent sees its host marked "closed shadow root" when the tag announced it (``:shadow``);
    a root attached before the tag loaded stays unknown to the tag, and the agent sees no mark
    at all: the page should load the tag earlier."""
    announced = Counter(index.closed.values())
    lines = []
    for host in hosts:
        if announced[host] > 0:
            announced[host] -= 1
            lines.append(f"closed shadow root of {host}")
        else:
            lines.append(
                f"closed shadow root of {host} (attached before the tag loaded: "
                "the agent sees no mark)"
            )
    return lines


def _finding_if(
    culprits: list[str],
    key: str,
    title: str,
    status: Any,
    detail: str,
    passed: str = "none on this page",
) -> Finding:
    if culprits:
        return Finding(key, title, status, detail, list(culprits))
    return Finding(key, title, "pass", passed)


def _handled_if(culprits: list[str], key: str, title: str, detail: str) -> Finding:
    if culprits:
        return Finding(key, title, "handled", detail, list(culprits))
    return Finding(key, title, "pass", "none on this page")


def _kb(size: float) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size:.0f} B"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _navigation_error(message: str) -> str:
    line = _first_line(message)
    for code, words in rules.NAVIGATION_ERRORS.items():
        if code in message:
            return f"{words} ({code})"
    return f"could not load the page: {line}"
