"""DOMPurify's own corpus, judged by what survives and what executes in a live page.

Each payload goes through ``Renderer.sanitize_html``; the output must hold no script, ``on*``
or ``javascript:``, and when loaded into a real page WITH scripts enabled, both as HTML text
and built node by node like the agent's replica, nothing may open a dialog, make a request or
navigate. The negative control loads the raw payloads the same way and must catch them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright
from renderer_harness import Loop, violations

from renderer.chromium import launch_options
from renderer.htmltext import to_html
from renderer.policy import BrandPolicy
from renderer.service import Renderer

pytestmark = pytest.mark.browser

CORPUS = json.loads(Path("/work/shared/corpora/dompurify-expect.json").read_text("utf-8"))["cases"]
HARNESS = "https://harness.test/"
NO_ORIGINS = BrandPolicy()  # nothing may be fetched: any request at all is a failure

# Builds a node tree into the live document with DOM calls, as the agent's replica does
# (same namespace rule as the protocol), so scripts and handlers WOULD run if present.
BUILD_JS = """doc => {
  const NS = {html: 'http://www.w3.org/1999/xhtml', svg: 'http://www.w3.org/2000/svg',
              math: 'http://www.w3.org/1998/Math/MathML'};
  const XLINK = 'http://www.w3.org/1999/xlink';
  const childNs = (pns, ptag, tag) => {
    const ns = pns === 'svg' && ptag === 'foreignObject' ? 'html' : pns;
    if (ns === 'html') return tag === 'svg' ? 'svg' : tag === 'math' ? 'math' : 'html';
    return ns;
  };
  const build = (node, pns, ptag) => {
    if (node[1] === '#text') return document.createTextNode(node[2]);
    if (node[1] === '#comment') return document.createComment('');
    if (node[1] === '#doctype') return null;
    const ns = childNs(pns, ptag, node[1]);
    const el = document.createElementNS(NS[ns], node[1]);
    for (const [k, v] of Object.entries(node[2])) {
      if (k.startsWith(':')) continue;
      if (k.startsWith('xlink:')) el.setAttributeNS(XLINK, k, v); else el.setAttribute(k, v);
    }
    for (const c of node[3]) { const b = build(c, ns, node[1]); if (b) el.appendChild(b); }
    return el;
  };
  document.documentElement.remove();
  for (const c of doc[2]) { const b = build(c, 'html', ''); if (b) document.appendChild(b); }
}"""


class Harness:
    """A scripts-enabled page that records dialogs, requests, navigations and popups."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.html = ""
        self.events: list[str] = []

    async def open(self) -> None:
        self.context: BrowserContext = await self.browser.new_context()
        await self.context.route("**/*", self._route)
        self.context.on("page", lambda p: self.events.append(f"popup {p.url}"))
        self.page: Page = await self.context.new_page()
        self.page.on("dialog", self._dialog)
        self.page.on("framenavigated", self._navigated)

    async def _route(self, route: Route) -> None:
        request = route.request
        if request.url == HARNESS and request.resource_type == "document" and self.html:
            html, self.html = self.html, ""
            await route.fulfill(status=200, body=html, content_type="text/html")
        else:
            self.events.append(f"request {request.url[:80]}")
            await route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.events.append(f"dialog {dialog.type}")
        asyncio.ensure_future(dialog.dismiss())

    def _navigated(self, frame: Any) -> None:
        if frame.url not in (HARNESS, "about:blank"):
            self.events.append(f"navigation {frame.url[:80]}")

    async def _settle(self) -> None:
        # Long enough for aborted loads to fire error events and SVG animations to begin.
        await self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 40)))")

    async def load_html(self, html: str) -> list[str]:
        self.events = []
        self.html = html
        await self.page.goto(HARNESS, wait_until="load")
        await self._settle()
        return self.events

    async def build_nodes(self, doc: list[Any]) -> list[str]:
        await self.load_html("<!doctype html><html><head></head><body></body></html>")
        await self.page.evaluate(BUILD_JS, doc)
        await self._settle()
        return self.events


@pytest.fixture(scope="module")
def harness(loop: Loop) -> Iterator[Harness]:
    async def start() -> tuple[Any, Browser, Harness]:
        pw = await async_playwright().start()
        browser = await pw.chromium.launch(**launch_options())
        h = Harness(browser)
        await h.open()
        return pw, browser, h

    pw, browser, h = loop.run(start())
    yield h
    loop.run(browser.close())
    loop.run(pw.stop())


def test_corpus_is_what_we_think_it_is() -> None:
    assert len(CORPUS) == 223
    assert sum("alert" in c["payload"] for c in CORPUS) == 141


def test_dompurify_corpus_nothing_survives_or_executes(
        loop: Loop, renderer: Renderer, harness: Harness) -> None:
    failures: list[str] = []
    for case in CORPUS:
        doc = loop.run(renderer.sanitize_html(case["payload"], "https://shop.example/",
                                              NO_ORIGINS))
        found = violations(doc)
        html = to_html(doc)
        found += loop.run(harness.load_html(html))
        found += loop.run(harness.build_nodes(doc))
        # Sanitizing our own output changes nothing (the HTML text re-parses to the same).
        again = loop.run(renderer.sanitize_html(html, "https://shop.example/", NO_ORIGINS))
        if to_html(again) != html:
            found.append("not stable under re-sanitizing its HTML")
        if found:
            failures.append(f"{case['title']}: {sorted(set(found))}")
    assert failures == [], "\n".join(failures)


def test_negative_control_the_harness_catches_raw_payloads(
        loop: Loop, renderer: Renderer, harness: Harness) -> None:
    """Unsanitized, the same payloads do run and fetch: the harness can see an attack."""
    executed = fetched = flagged = 0
    for case in CORPUS:
        if "alert" not in case["payload"]:
            continue
        events = loop.run(harness.load_html(case["payload"]))
        executed += any(e.startswith("dialog") for e in events)
        fetched += any(e.startswith("request") for e in events)
        raw = loop.run(renderer.parse_html(case["payload"]))
        flagged += bool(violations(raw))
    assert executed >= 20, executed
    assert fetched >= 20, fetched
    assert flagged >= 120, flagged
