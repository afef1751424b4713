"""One checked page: load it as a visitor, run a co-browse session with the agent, measure.

Owns: the visitor's browser context (its seeded conversation, its socket routed through the
``VisitorBridge``), loading the page, the session's steps (snapshot stream, replica, fidelity
with the tag's UI hidden, boxes of frames, canvases and plugin objects, idle watch, masking
canary, resource replay) and the figures they give; then ``findings``
judges. Must not: raise for a page's fault: a page that cannot be checked gets ``error`` set to
one line for people.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import secrets
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import websockets
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, Playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from websockets.typing import Origin

from cobrowse_check import probe as page_probe
from cobrowse_check import rules
from cobrowse_check.agent import Workspace
from cobrowse_check.boxes import measure as measure_boxes
from cobrowse_check.bridge import Sent, VisitorBridge
from cobrowse_check.findings import Evidence, judge_page
from cobrowse_check.model import FidelityResult, Figures, Images, PageReport
from cobrowse_check.nodes import NodeIndex
from cobrowse_check.options import STEP_TIMEOUT_MS, CheckError, CheckOptions, first_line
from cobrowse_check.resources import Resources

TAG_WAIT_MS = 1_500  # a tag added by a tag manager after `load` gets this long to appear

# Hides the tag's own UI (a closed shadow root under <cobrowse-ui>) in the visitor's screenshot:
# it is never sent to the agent, so it is not part of what the replica should look like. A page
# style cannot hide it (the UI's `:host{display:block!important}` wins over any outside rule:
# every score was capped near 0.989, issue 16); the tag's own `:host([hidden])` rule can, so the
# check sets `hidden` on the host for the screenshot. The style stays for tags older than that
# rule (where it does nothing, as before).
VISITOR_SHOT_CSS = "cobrowse-ui { display: none !important; }"
HIDE_UI_JS = """(hide) => {
  for (const host of document.querySelectorAll('cobrowse-ui')) {
    if (hide) host.setAttribute('hidden', ''); else host.removeAttribute('hidden');
  }
}"""
AGENT_SHOT_CSS = "#replica-overlay { display: none !important; }"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


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
        self.resources = Resources()
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
            self.report.error = f"timed out: {first_line(str(error))}"
        except PlaywrightError as error:
            self.report.error = f"browser error: {first_line(str(error))}"
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
        await context.add_init_script(page_probe.LONGTASK_JS)
        await context.route_web_socket(
            lambda url: urlsplit(url).path.endswith("/ws/visitor"), self.bridge.route
        )
        self.resources.watch(context)
        return context

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
        """Read the page, then make sure a tag runs in its top frame (injecting ours if not)."""
        carried = await page_probe.has_tag(page, TAG_WAIT_MS)
        in_frames = await page_probe.tag_frames(page)
        probe = await page_probe.read_page(page, self.options.mask_selectors)
        if carried:
            self.report.tag = "carried"
        else:
            self.report.tag = "subframe" if in_frames else "injected"
            await page.add_script_tag(url=f"{self.base}/tag.js")
            if not await page_probe.has_tag(page, STEP_TIMEOUT_MS):
                raise CheckError("the injected tag did not start on this page")
        probe["tag_frames"] = in_frames
        probe["closed_shadow_roots"] = await page_probe.closed_shadow_hosts(page)
        return probe

    # ------------------------------------------------------------ the session

    async def _session(self, page: Page, probe: dict[str, Any], marker: str) -> Images | None:
        page_t0, started = await self._start_session(page, marker)
        stream = await self._snapshot_stream(started)
        await self.agent.wait_for_seq(int(stream[-1].body.get("seq", 0)), rules.STREAM_TIMEOUT_S)
        await self.agent.wait_for_replica()
        figures = self.report.figures
        figures.agent_view_ms = round((time.monotonic() - started) * 1000, 1)
        figures.snapshot_bytes = sum(s.size for s in stream)
        during = [d for s, d in await page_probe.long_tasks(page) if s + d >= page_t0]
        figures.longest_task_ms = round(max(during), 1) if during else None

        index = NodeIndex.of_snapshot(stream[0].message)
        for chunk in stream[1:]:
            if chunk.message:
                index.apply(chunk.message)
        self._progress("fidelity")
        images = await self._fidelity(page)
        boxes = await measure_boxes(page, self.agent.page, index)

        self._progress(f"watching the idle page for {self.options.idle_seconds:g} s")
        await asyncio.sleep(0.3)
        idle_start = time.monotonic()
        await asyncio.sleep(self.options.idle_seconds)
        idle = self.bridge.frames_since(idle_start)
        busiest = idle_figures(idle, index, self.options.idle_seconds, figures)

        self._progress("masking")
        await self._canary(page)
        bound, replayed = await self.resources.replay(self.playwright)
        https = urlsplit(self.url).scheme == "https"
        seen = Evidence(probe, index, https, busiest, bound, replayed, self.resources.failed, boxes)
        judge_page(self.report, seen)
        return images

    async def _start_session(self, page: Page, marker: str) -> tuple[float, float]:
        """Once the tag is connected, the agent starts a session: (the page's clock then, the
        time the session started)."""
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
        return page_t0, self.bridge.session_started_at

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

        await _hide_tag_ui(page, True)
        try:
            visitor_png = await page.screenshot(style=VISITOR_SHOT_CSS)
        finally:
            await _hide_tag_ui(page, False)
        stage = self.agent.page.locator("#replica-stage")
        agent_png = await stage.screenshot(style=AGENT_SHOT_CSS)
        visitor = Image.open(io.BytesIO(visitor_png))
        agent = Image.open(io.BytesIO(agent_png))
        result = compare(visitor, agent)
        self.report.fidelity = FidelityResult(
            score=round(result.score, 4),
            changed=round(result.changed, 4),
            blank=round(result.blank, 4),
            blank_area=_area_text(result.blank_cells),
        )
        return Images(visitor.convert("RGB"), agent.convert("RGB"), result.diff)

    async def _canary(self, page: Page) -> None:
        """Type a distinct canary into every masked field; none may reach the relay."""
        since = time.monotonic()
        filled = await page_probe.type_canaries(page, self.options.mask_selectors)
        masking = self.report.masking
        masking.canary_fields = len(filled)
        if not filled:
            return
        await asyncio.sleep(0.8)  # a batch goes out within one animation frame
        wire = "\n".join(s.text for s in self.bridge.frames_since(since))
        masking.canary_leaks = [element for canary, element in filled if canary in wire]


def idle_figures(idle: list[Sent], index: NodeIndex, seconds: float, figures: Figures) -> list[str]:
    """Fill the idle figures from what the tag sent while nobody acted; the busiest elements
    ("label (N changes)", five at most). ``index`` learns the nodes added meanwhile."""
    batches = [s for s in idle if s.type == "dom.mutations" and s.message]
    changes = 0
    targets: Counter[str] = Counter()
    for batch in batches:
        body = batch.body
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
    return [f"{name} ({count} changes)" for name, count in targets.most_common(5)]


async def _hide_tag_ui(page: Page, hide: bool) -> None:
    """Hide (or show again) the tag's UI in every frame: a frame carrying a tag of its own
    shows its UI to the visitor too, and the agent never sees it."""
    for frame in page.frames:
        with contextlib.suppress(PlaywrightError):
            await frame.evaluate(HIDE_UI_JS, hide)


def _area_text(cells: tuple[tuple[int, int, int, int], ...]) -> str | None:
    """The box around the blank cells, in the viewport's pixels: "x 0-640, y 400-800"."""
    if not cells:
        return None
    left, top = min(c[0] for c in cells), min(c[1] for c in cells)
    right, bottom = max(c[2] for c in cells), max(c[3] for c in cells)
    return f"blank area x {left}-{right}, y {top}-{bottom} in the viewport's pixels"


def _navigation_error(message: str) -> str:
    line = first_line(message)
    for code, words in rules.NAVIGATION_ERRORS.items():
        if code in message:
            return f"{words} ({code})"
    return f"could not load the page: {line}"
