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
from renderer_harness import Loop, expand, violations

from renderer.chromium import launch_options
from renderer.htmltext import to_html
from renderer.policy import BrandPolicy
from renderer.service import Renderer

pytestmark = pytest.mark.browser

CORPUS = json.loads(Path("/work/shared/corpora/dompurify-expect.json").read_text("utf-8"))["cases"]
HARNESS = "https://harness.test/"
NO_ORIGINS = BrandPolicy()  # nothing may be fetched: any request at all is a failure

# Builds node trees (explicit form: the renderer's compact output decoded by wire.nodes) into
# live documents with DOM calls, as the agent's replica does (same namespace rule as the
# protocol), so scripts and handlers WOULD run if present. One iframe per tree; each iframe is
# an ordinary same-origin document with scripts enabled.
BUILD_JS = """docs => {
  const NS = {html: 'http://www.w3.org/1999/xhtml', svg: 'http://www.w3.org/2000/svg',
              math: 'http://www.w3.org/1998/Math/MathML'};
  const XLINK = 'http://www.w3.org/1999/xlink';
  const childNs = (pns, ptag, tag) => {
    const ns = pns === 'svg' && ptag === 'foreignObject' ? 'html' : pns;
    if (ns === 'html') return tag === 'svg' ? 'svg' : tag === 'math' ? 'math' : 'html';
    return ns;
  };
  const build = (d, node, pns, ptag) => {
    if (node[1] === '#text') return d.createTextNode(node[2]);
    if (node[1] === '#comment') return d.createComment('');
    if (node[1] === '#doctype' || node[1] === '#document') return null; // frames: built alone
    if (node[1] === '#shadow') return null; // attached by its host (below)
    const ns = childNs(pns, ptag, node[1]);
    let el;
    try { el = d.createElementNS(NS[ns], node[1]); } catch (e) { return null; } // invalid name
    for (const [k, v] of Object.entries(node[2])) {
      if (k.startsWith(':')) continue;
      try {
        if (k.startsWith('xlink:')) el.setAttributeNS(XLINK, k, v); else el.setAttribute(k, v);
      } catch (e) { /* an invalid attribute name: nothing to build */ }
    }
    for (const c of node[3]) {
      if (c[1] === '#shadow') { // as the workspace must: a real shadow root of the host
        let root = null;
        try { root = el.attachShadow({mode: 'open'}); } catch (e) { /* cannot host one */ }
        for (const s of root ? c[2] : []) {
          const b = build(d, s, 'html', '');
          if (b) root.appendChild(b);
        }
        continue;
      }
      const b = build(d, c, ns, node[1]);
      if (b) el.appendChild(b);
    }
    return el;
  };
  for (const doc of docs) {
    const frame = document.createElement('iframe');
    document.body.appendChild(frame);
    const d = frame.contentDocument;
    d.documentElement.remove();
    for (const c of doc[2]) { const b = build(d, c, 'html', ''); if (b) d.appendChild(b); }
  }
}"""

# Loads HTML texts, each as the whole document of its own iframe (srcdoc: parsed by the HTML
# parser, scripts enabled, same origin as the harness).
SRCDOC_JS = """htmls => {
  for (const html of htmls) {
    const frame = document.createElement('iframe');
    frame.srcdoc = html;
    document.body.appendChild(frame);
  }
  return Promise.all(Array.from(document.querySelectorAll('iframe'), f =>
    f.contentDocument && f.contentDocument.readyState === 'complete' ? null
      : new Promise(r => { f.onload = r; setTimeout(r, 3000); })));
}"""


class Harness:
    """A scripts-enabled page that records dialogs, requests, navigations and popups."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.html = ""
        self.events: list[str] = []
        self.pending: set[asyncio.Future[None]] = set()

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
        dismissing = asyncio.ensure_future(dialog.dismiss())
        self.pending.add(dismissing)
        dismissing.add_done_callback(self._dismissed)

    def _dismissed(self, dismissing: asyncio.Future[None]) -> None:
        # The next payload's page load may have closed the dialog first ("No dialog is
        # showing"): the dialog was counted all the same, so that answer is read and dropped
        # rather than left as an exception nobody retrieved.
        self.pending.discard(dismissing)
        if not dismissing.cancelled():
            dismissing.exception()

    def _navigated(self, frame: Any) -> None:
        if frame.url not in (HARNESS, "about:blank", "about:srcdoc"):
            self.events.append(f"navigation {frame.url[:80]}")

    async def _fresh(self) -> None:
        self.html = "<!doctype html><html><head></head><body></body></html>"
        await self.page.goto(HARNESS, wait_until="load")
        self.events = []

    async def _settle(self) -> None:
        # Long enough for aborted loads to fire error events and SVG animations to begin.
        await self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))"
        )

    async def load_html(self, htmls: list[str]) -> list[str]:
        await self._fresh()
        await self.page.evaluate(SRCDOC_JS, htmls)
        await self._settle()
        return self.events

    async def build_nodes(self, docs: list[list[Any]]) -> list[str]:
        await self._fresh()
        await self.page.evaluate(BUILD_JS, docs)
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
    loop: Loop, renderer: Renderer, harness: Harness
) -> None:
    failures: list[str] = []
    docs: list[list[Any]] = []
    htmls: list[str] = []
    for case in CORPUS:
        wire = loop.run(
            renderer.sanitize_html(case["payload"], "https://shop.example/", NO_ORIGINS)
        )
        html = to_html(wire)
        doc = expand(wire)
        found = violations(doc)
        # mXSS: our HTML text, re-parsed by a real parser, must not grow anything forbidden.
        reparsed = expand(loop.run(renderer.parse_html(html)))
        found += [f"after re-parse: {v}" for v in violations(reparsed)]
        if found:
            failures.append(f"{case['title']}: {found}")
        docs.append(doc)
        htmls.append(html)
    assert failures == [], "\n".join(failures)
    # Everything at once (fast); only on a failure, case by case to name the culprit.
    for mode, items in (("html", htmls), ("nodes", docs)):
        events = loop.run(harness.load_html(htmls) if mode == "html" else harness.build_nodes(docs))
        if events:
            for case, item in zip(CORPUS, items, strict=True):
                single = loop.run(
                    harness.load_html([item])
                    if mode == "html"  # type: ignore[list-item]
                    else harness.build_nodes([item])
                )  # type: ignore[list-item]
                if single:
                    failures.append(f"{mode}: {case['title']}: {sorted(set(single))}")
            failures.append(f"{mode}: {sorted(set(events))[:10]}")
    assert failures == [], "\n".join(failures)


def test_negative_control_the_harness_catches_raw_payloads(
    loop: Loop, renderer: Renderer, harness: Harness
) -> None:
    """Unsanitized, the same payloads do run and fetch: the harness can see an attack."""
    raw_payloads = [c["payload"] for c in CORPUS if "alert" in c["payload"]]
    events = loop.run(harness.load_html(raw_payloads))
    print(
        "control:",
        sum(e.startswith("dialog") for e in events),
        "dialogs,",
        sum(e.startswith("request") for e in events),
        "requests",
    )
    assert sum(e.startswith("dialog") for e in events) >= 15, events
    assert sum(e.startswith("request") for e in events) >= 15, events
    flagged = sum(bool(violations(expand(loop.run(renderer.parse_html(p))))) for p in raw_payloads)
    assert flagged >= 100, flagged
