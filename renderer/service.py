"""The renderer service: sanitizes each session's DOM stream in a locked-down Chromium.

Runs inside the relay's asyncio process. One browser, a small pool of pages; each page is a
host page on a fake origin (fulfilled by a route, CSP ``default-src 'none'`` plus the hash of
our one script) in a browser context where every other request is aborted. Many sessions'
inert documents share a page. A page that crashes or hangs takes its sessions with it: their
calls raise :class:`RendererError` and the relay must ask the visitor for a resync (a fresh
``dom.snapshot``); the pool replaces the page and, if the browser died, relaunches it.

Usage: ``await renderer.snapshot(...)`` once per stream, then ``await renderer.mutations(...)``
for each batch **in order** (await one before sending the next of the same session), or
``await renderer.mutations_many(...)`` for several queued batches at once (one call to the page),
and ``await renderer.drop(session)`` when the session ends. Never forward a visitor's ``dom.*``
message to an agent without passing it through here. Nodes go in and come out in the compact
form (docs/protocol.md, "Nodes"); URLs the tag sent relative to the snapshot's ``url`` come out
absolute.

A session can also lose its replica while nobody is calling (its page crashed or hung during
another session's call, the browser died): ``on_lost`` is then called with those sessions'
ids, so the relay can resync them at once instead of at their next message.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import logging
import re
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from renderer import chromium, images
from renderer.policy import BrandPolicy, policy_json
from wire import grammar

__all__ = ["BrandPolicy", "Renderer", "RendererError"]

log = logging.getLogger("cobrowse.renderer")

HOST_URL: Final = "http://renderer.cobrowse.invalid/"

# Payloads at least this long go to the page deflated (see _encode). Below it, compressing
# costs more than the bytes it saves on the DevTools pipe.
COMPRESS_MIN_CHARS: Final = 64 * 1024


class RendererError(Exception):
    """The renderer could not sanitize this message. Not the agent's fault.

    After it: drop what the agent has of this session's replica and send the visitor a
    ``resync``; the next ``dom.snapshot`` starts the session over (on a healthy page).
    ``session`` names the session when there is one.
    """

    def __init__(self, message: str, session: str | None = None) -> None:
        super().__init__(message)
        self.session = session


def _host_page() -> tuple[str, str]:
    """The host page HTML and its CSP: only our inline script (by hash) may run: the wire's
    node reader (``wire/nodes.js``, the grammar inlined), the CSS reader (``css.js``), then
    ``sanitizer.js``, which uses both."""
    files = resources.files("renderer")
    source = files.joinpath("sanitizer.js").read_text("utf-8")
    css_source = files.joinpath("css.js").read_text("utf-8")
    config = json.dumps(policy_json()).replace("</", "<\\/")
    reader = grammar.nodes_js()
    script = f"{reader}\n{css_source}\n{source}\nwindow.CobrowseRenderer.configure({config});\n"
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    html = (
        "<!doctype html><html><head><meta charset=utf-8><title>cobrowse renderer</title>"
        f"<script>{script}</script></head><body></body></html>"
    )
    return html, csp


def _encode(value: Any) -> str:
    """The payload string for ``sanitizer.js`` (``readPayload``): compact JSON, or, when large,
    ``"z:"`` + base64 of its zlib deflate. Every byte crosses Playwright's driver and the
    DevTools pipe as JSON text (~45 ms per MB here); a DOM snapshot deflates ~5-10x at level 1
    in a few ms and is inflated in the page by the native ``DecompressionStream``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text) < COMPRESS_MIN_CHARS:
        return text
    packed = zlib.compress(text.encode("utf-8"), 1)
    return "z:" + base64.b64encode(packed).decode("ascii")


def _decode(raw: str) -> Any:
    """Parse the page's JSON answer with Python's cyclic GC paused.

    A sanitized snapshot is tens of thousands of small lists and dicts; each allocation burst
    makes the collector walk the relay's whole heap (measured: 126 ms instead of 20 ms for a
    1.6 MB answer next to a 300 k-object heap). Nothing here creates cycles, so pausing it for
    the parse loses nothing; it is re-enabled right after, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(raw)
    finally:
        if was_enabled:
            gc.enable()


LostCallback = Callable[[list[str]], None]


def _ignore_lost(_sessions: list[str]) -> None:
    pass


@dataclass(eq=False)
class _Slot:
    page: Page
    sessions: set[str] = field(default_factory=set)
    dead: bool = False


class Renderer:
    """Sanitizing renderer. Limits are constructor arguments with safe defaults:

    ``pages``: the most pages in the pool. Each page is its own Chromium renderer process
    holding the inert documents of many sessions; a page is added (up to ``pages``) whenever
    every open page already serves a session, and a new session goes to the least loaded page.
    A page that crashes or hangs costs only *its* sessions a resync, so more pages mean a
    smaller blast radius for about 15-25 MB each (``bench/renderer_density.py``: 500
    sessions on 8 pages). ``timeout``: seconds one sanitize call may take before its page is
    declared hung and replaced. ``chromium_setting``: browser setting (see
    ``renderer.chromium``). No argument loosens the sandbox.

    ``on_lost`` (also settable as the attribute ``on_lost``): called on the event loop, with
    a list of session ids, when those sessions' replicas are gone without any call of theirs
    to report it (their page crashed or was replaced after a hang, the browser died). A
    session with a call pending is left out: that call raises ``RendererError`` (or, for a
    ``snapshot``, starts the replica afresh) and reports it. After it: send each session's
    visitor a ``resync``. Must not block; exceptions are logged and ignored.
    """

    def __init__(
        self,
        *,
        pages: int = 8,
        timeout: float = 5.0,
        chromium_setting: str | None = None,
        on_lost: LostCallback | None = None,
    ) -> None:
        if pages < 1 or timeout <= 0:
            raise ValueError("pages must be >= 1 and timeout > 0")
        self._max_pages = pages
        self._timeout = timeout
        self._chromium = chromium_setting
        self._host_html, self._csp = _host_page()
        self._start_lock = asyncio.Lock()
        self._pool_lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._slots: list[_Slot] = []
        self._where: dict[str, _Slot] = {}
        self._session_locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, int] = {}  # session -> calls of it not finished yet
        self.on_lost: LostCallback = on_lost or _ignore_lost
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Launch the browser if it is not running. Idempotent and safe to call concurrently."""
        async with self._start_lock:
            if self._closed:
                raise RendererError("the renderer is closed")
            if self._browser is not None and self._browser.is_connected():
                return
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            browser = await self._playwright.chromium.launch(
                **chromium.launch_options(self._chromium)
            )
            context = await browser.new_context(
                service_workers="block", accept_downloads=False, java_script_enabled=True
            )
            # Set up before any page exists: the host page is served from here, and every
            # other request of every page is refused.
            await context.route("**/*", self._route)
            browser.on("disconnected", lambda _b: self._on_browser_gone(browser))
            self._browser, self._context = browser, context
            self._slots = []
            log.info("renderer browser started")

    async def close(self) -> None:
        """Close the browser. Pending calls fail with RendererError. Idempotent."""
        async with self._start_lock:
            self._closed = True
            browser, self._browser, self._context = self._browser, None, None
            self._slots, self._where = [], {}
            if browser is not None:
                try:
                    await browser.close()
                except PlaywrightError:
                    pass  # already gone
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None

    async def _route(self, route: Route) -> None:
        if route.request.url == HOST_URL and route.request.resource_type == "document":
            await route.fulfill(
                status=200,
                body=self._host_html,
                headers={
                    "content-type": "text/html; charset=utf-8",
                    "content-security-policy": self._csp,
                },
            )
        else:
            await route.abort()

    def _on_browser_gone(self, browser: Browser) -> None:
        if self._browser is browser:
            log.warning("renderer browser disconnected; will relaunch")
            self._browser, self._context = None, None
            lost = [session for slot in self._slots for session in self._retire(slot)]
            self._slots = []
            self._report_lost(lost)

    def _retire(self, slot: _Slot) -> list[str]:
        """Mark a slot dead and forget its sessions; returns those that lost their replica."""
        slot.dead = True
        lost = []
        for session in slot.sessions:
            if self._where.get(session) is slot:
                del self._where[session]
                lost.append(session)
        slot.sessions.clear()
        return lost

    def _report_lost(self, sessions: list[str]) -> None:
        # A session with a call pending learns of the loss from that call (RendererError),
        # or is being given a fresh snapshot or dropped: reporting it too would resync twice.
        lost = sorted(s for s in sessions if not self._pending.get(s))
        if not lost:
            return
        log.warning("renderer lost %d idle sessions' replicas", len(lost))
        try:
            self.on_lost(lost)
        except Exception:
            log.exception("renderer on_lost callback failed")

    @asynccontextmanager
    async def _serving(self, session_id: str) -> AsyncIterator[None]:
        """One call of a session: counted as pending (see _report_lost), run under its lock."""
        self._pending[session_id] = self._pending.get(session_id, 0) + 1
        try:
            async with self._lock(session_id):
                yield
        finally:
            left = self._pending.pop(session_id) - 1
            if left:
                self._pending[session_id] = left

    async def _new_slot(self) -> _Slot:
        await self.start()
        assert self._context is not None
        page = await self._context.new_page()
        slot = _Slot(page)

        def on_crash(_page: Page) -> None:
            log.warning("renderer page crashed; dropping %d sessions", len(slot.sessions))
            self._report_lost(self._retire(slot))

        page.on("crash", on_crash)
        try:
            await asyncio.wait_for(page.goto(HOST_URL), self._timeout)
            ready = await page.evaluate("typeof window.CobrowseRenderer === 'object'")
        except (PlaywrightError, TimeoutError) as exc:
            await self._kill(slot)
            raise RendererError(f"renderer page failed to load: {exc}") from None
        if not ready:
            await self._kill(slot)
            raise RendererError("renderer script did not run in the host page")
        return slot

    async def _slot_for_new_session(self) -> _Slot:
        async with self._pool_lock:
            if self._browser is None or not self._browser.is_connected():
                await self.start()
            self._slots = [s for s in self._slots if not s.dead]
            if len(self._slots) < self._max_pages and all(s.sessions for s in self._slots):
                self._slots.append(await self._new_slot())
            return min(self._slots, key=lambda s: len(s.sessions))

    async def _kill(self, slot: _Slot) -> None:
        self._report_lost(self._retire(slot))
        if slot in self._slots:
            self._slots.remove(slot)
        try:
            await asyncio.wait_for(slot.page.close(), self._timeout)
        except (PlaywrightError, TimeoutError):
            pass  # a crashed or hung renderer process; the browser reaps it

    async def _call(
        self, slot: _Slot, expression: str, args: list[Any], session: str | None
    ) -> str:
        if slot.dead:
            raise RendererError("renderer page is gone", session)
        try:
            result = await asyncio.wait_for(slot.page.evaluate(expression, args), self._timeout)
        except TimeoutError:
            log.warning("renderer page hung; replacing it (session %s)", session)
            await self._kill(slot)
            raise RendererError("renderer timed out", session) from None
        except PlaywrightError as exc:
            if slot.dead or slot.page.is_closed() or "crash" in str(exc).lower():
                await self._kill(slot)
                raise RendererError("renderer page crashed", session) from None
            m = re.search(r"cobrowse-renderer: ([^\n]*)", str(exc))
            reason = m.group(1) if m else "sanitizer failed"
            raise RendererError(f"rejected: {reason}", session) from None
        if not isinstance(result, str):
            raise RendererError("renderer returned no result", session)
        return result

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._session_locks.get(session_id)
        if lock is None:
            lock = self._session_locks[session_id] = asyncio.Lock()
        return lock

    # ------------------------------------------------------------------ introspection

    def sessions_per_page(self) -> list[int]:
        """How many sessions each live page holds (benchmarks, health checks)."""
        return [len(slot.sessions) for slot in self._slots if not slot.dead]

    def page_of(self, session_id: str) -> Page | None:
        """The page holding a session's replica, or None (benchmarks and tests only)."""
        slot = self._where.get(session_id)
        return slot.page if slot is not None and not slot.dead else None

    # ------------------------------------------------------------------ the API

    async def snapshot(
        self, session_id: str, message: dict[str, Any], brand: BrandPolicy
    ) -> dict[str, Any]:
        """Sanitize a validated ``dom.snapshot``; returns the ``replica.snapshot`` to send.

        Starts (or restarts) the session's replica: later ``mutations`` apply to this one.
        """
        if message.get("type") != "dom.snapshot" or "doc" not in message:
            raise RendererError("not a dom.snapshot message", session_id)
        async with self._serving(session_id):
            old = self._where.pop(session_id, None)
            if old is not None:
                old.sessions.discard(session_id)
                if not old.dead:
                    await self._call(old, "s => CobrowseRenderer.drop(s)", [session_id], None)
            slot = await self._slot_for_new_session()
            payload = _encode(
                {
                    "doc": message["doc"],
                    # Its origin is put back in front of the tag's origin-relative URLs.
                    "url": message.get("url", ""),
                    "brand": {
                        "origins": list(brand.origins),
                        "mask_selectors": list(brand.mask_selectors),
                    },
                }
            )
            slot.sessions.add(session_id)
            self._where[session_id] = slot
            try:
                raw = await self._call(
                    slot,
                    "([s, p]) => CobrowseRenderer.snapshot(s, p)",
                    [session_id, payload],
                    session_id,
                )
            except RendererError:
                slot.sessions.discard(session_id)
                if self._where.get(session_id) is slot:
                    del self._where[session_id]
                raise
            # sanitizer.js prefixes "1" when some kept attribute value contains "data:" (a
            # superset of what images.reencode_tree rewrites), else "0".
            doc = _decode(raw[1:])
            if raw[:1] != "0" and images.has_data_images(doc):
                await asyncio.to_thread(images.reencode_tree, doc)
        return {**message, "type": "replica.snapshot", "doc": doc}

    async def mutations(self, session_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Sanitize a validated ``dom.mutations``; returns the ``replica.mutations`` to send.

        Raises RendererError when the session has no live snapshot (never started, dropped,
        its page died) or the batch does not fit the replica; the session is then forgotten.
        """
        return (await self.mutations_many(session_id, [message]))[0]

    async def mutations_many(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Sanitize several validated ``dom.mutations`` of one session, in order, in one call to
        the page; returns their ``replica.mutations``, one each, in the same order.

        The same as calling ``mutations`` for each in turn, but a streamed page's backlog costs
        one round trip to the page instead of one per batch. All or nothing: when any batch
        does not fit the replica this raises RendererError and the session is forgotten (as
        ``mutations`` does); the agent gets none of the group, and the relay must resync.
        """
        if not messages or any(m.get("type") != "dom.mutations" for m in messages):
            raise RendererError("not a group of dom.mutations messages", session_id)
        async with self._serving(session_id):
            slot = self._where.get(session_id)
            if slot is None or slot.dead:
                self._where.pop(session_id, None)
                raise RendererError("no live snapshot for this session", session_id)
            payload = _encode(
                [{k: m.get(k, []) for k in ("removes", "adds", "attrs", "texts")} for m in messages]
            )
            try:
                raw = await self._call(
                    slot,
                    "([s, p]) => CobrowseRenderer.mutationsMany(s, p)",
                    [session_id, payload],
                    session_id,
                )
            except RendererError:
                slot.sessions.discard(session_id)
                if self._where.get(session_id) is slot:
                    del self._where[session_id]
                raise
            # As for a snapshot: "0" spares Python a walk of every added tree (on the event
            # loop) when no emitted attribute value holds "data:"; "1" is a superset.
            outs: list[dict[str, Any]] = _decode(raw[1:])
            if len(outs) != len(messages):
                raise RendererError("renderer returned the wrong number of batches", session_id)
            if raw[:1] != "0" and any(_has_data_urls(out) for out in outs):
                await asyncio.to_thread(_reencode_all, [o for o in outs if _has_data_urls(o)])
        for out in outs:
            out.pop("styleTexts", None)  # sanitizer.js's word to images.py, not the agent's
        return [
            {**message, "type": "replica.mutations", **out}
            for message, out in zip(messages, outs, strict=True)
        ]

    async def drop(self, session_id: str) -> None:
        """Forget a session's replica (session ended). Unknown sessions are fine."""
        async with self._serving(session_id):
            slot = self._where.pop(session_id, None)
            if slot is not None:
                slot.sessions.discard(session_id)
                if not slot.dead:
                    try:
                        await self._call(slot, "s => CobrowseRenderer.drop(s)", [session_id], None)
                    except RendererError:
                        pass  # the page died meanwhile; its sessions are gone anyway
        self._session_locks.pop(session_id, None)

    async def sanitize_html(self, html: str, base_url: str | None, brand: BrandPolicy) -> list[Any]:
        """Parse HTML text inertly (DOMParser, in the sandbox page), sanitize it like a
        snapshot of a page at ``base_url``, and return the sanitized ``#document`` node in the
        compact form (for ``cobrowse sanitize``; ``wire.nodes.expand`` gives the explicit form)."""
        slot = await self._slot_for_new_session()
        brand_json = json.dumps(
            {"origins": list(brand.origins), "mask_selectors": list(brand.mask_selectors)}
        )
        raw = await self._call(
            slot,
            "([h, b, p]) => CobrowseRenderer.sanitizeHtml('', h, b, p)",
            [html, base_url or "", brand_json],
            None,
        )
        doc: list[Any] = json.loads(raw)
        if images.has_data_images(doc):
            await asyncio.to_thread(images.reencode_tree, doc)
        return doc

    async def parse_html(self, html: str, base_url: str | None = None) -> list[Any]:
        """HTML text as an unsanitized ``#document`` node in the compact form, ids 1, 2, 3...
        in preorder (tests and tools only)."""
        slot = await self._slot_for_new_session()
        raw = await self._call(
            slot, "([h, b]) => CobrowseRenderer.parseHtml(h, b)", [html, base_url or ""], None
        )
        doc: list[Any] = json.loads(raw)
        return doc


def _has_data_urls(out: dict[str, Any]) -> bool:
    """Whether a sanitized batch may hold a data: image for ``images`` to re-encode."""
    return (
        bool(out.get("styleTexts"))
        or any(images.has_data_images(a["nodes"]) for a in out["adds"])
        or any(images.attribute_has_data(name, v) for _, name, v in out["attrs"])
    )


def _reencode_all(outs: list[dict[str, Any]]) -> None:
    for out in outs:
        _reencode_mutations(out)


def _reencode_mutations(out: dict[str, Any]) -> None:
    for entry in out["attrs"]:
        if images.attribute_has_data(entry[1], entry[2]):
            entry[2] = images.reencode_attribute(entry[1], entry[2])
    # The style texts sanitizer.js named: in "texts", or added as [id, "#text", text] (a
    # style's new text child is the first node of its own run, so it carries its id).
    css_texts = set(out.get("styleTexts", ()))
    for entry in out["texts"]:
        if entry[0] in css_texts:
            entry[1] = images.reencode_css(entry[1])
    for add in out["adds"]:
        images.reencode_tree(add["nodes"])
        for node in add["nodes"]:
            if (
                isinstance(node, list)
                and len(node) == 3
                and node[1] == "#text"
                and node[0] in css_texts
            ):
                node[2] = images.reencode_css(node[2])
