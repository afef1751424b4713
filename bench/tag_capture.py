"""Benchmark: the tag streaming a large page in real Chromium (the visitor's main thread).

Usage: .venv/bin/python -m bench.tag_capture [--page cards|elements|bytes|article] [--size N]
       [--runs 3] [--tag FILE]

Serves a page and the real tag (``tag_js.joined_tag()``, unminified) through Playwright routes,
plays the relay on the visitor socket, starts a session and prints, per run:

- longest task on the page's main thread from the session start until the last chunk was sent
  (PerformanceObserver 'longtask': only tasks over 50 ms are reported; 0 means every task stayed
  under 50 ms), and the longest gap of a MessageChannel probe over the same time (the longest
  task, also under 50 ms, including the browser's own frame work),
- time to the first chunk (dom.snapshot) and to the last, and the number of messages,
- JSON bytes sent for the page (all dom.* frames of the initial stream) divided by the page's HTML
  bytes as ``scripts/bench`` counts them (doctype + ``documentElement.outerHTML`` without the tag's
  UI host), and the same ratio after deflate (what permessage-deflate puts on the wire, roughly).

Pages: ``cards`` (default; ``--size`` product cards of 5 elements: 24000 is a 120k-element, ~5 MB
page), ``elements`` (``bench.pages.by_elements(size)``, the benchmark's 120k-element page by
default), ``bytes`` (``bench.pages.by_bytes(size)``, product rows, 2 MB by default) and
``article`` (the tag tests' realistic article, ``tests/tag/pages/article.html``).

The machine is shared and noisy: read the median of several runs. Tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import zlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, WebSocketRoute, sync_playwright

from bench import pages
from bench.measure import HTML_BYTES_JS
from renderer.chromium import launch_options
from tag_js import joined_tag

ROOT = Path(__file__).resolve().parents[1]
SITE = "https://shop.test"
TAG_SCRIPT = '<script src="https://relay.test/tag.js" async></script>'

INIT = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
// A MessageChannel loop (as bench/measure.py's probe): the longest gap between two of its turns
// is the longest task, also under 50 ms where 'longtask' says nothing.
window.__probe = (on) => {
  if (!on) { window.__probing = false; return window.__gap; }
  const ch = new MessageChannel();
  let last = performance.now();
  window.__probing = true;
  window.__gap = 0;
  ch.port1.onmessage = () => {
    const t = performance.now();
    if (t - last > window.__gap) window.__gap = t - last;
    last = t;
    if (window.__probing) ch.port2.postMessage(0);
  };
  ch.port2.postMessage(0);
};
"""


def cards_html(rows: int) -> str:
    cards = "".join(
        f'<div class="card" id="c{i}"><h3 class="title">Product {i}</h3>'
        f'<p class="desc">A sturdy everyday item, number {i}, ships in two days.</p>'
        f'<a class="more" href="/p/{i}">Details</a><span class="price">{i % 97}.99 EUR</span>'
        "</div>\n"
        for i in range(rows)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Big</title>'
        f"{TAG_SCRIPT}</head><body><main>{cards}</main></body></html>"
    )


def page_html(kind: str, size: int | None) -> str:
    if kind == "cards":
        return cards_html(size or 24000)
    if kind == "article":
        return (ROOT / "tests" / "tag" / "pages" / "article.html").read_text(encoding="utf-8")
    make = pages.by_elements if kind == "elements" else pages.by_bytes
    html = make(size or (120_000 if kind == "elements" else 2 * 1024 * 1024))
    return html.replace("__SCRIPTS__", TAG_SCRIPT).replace("__RUN__", "0")


def run_once(browser: Any, html: str, tag: Path | None) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    frames: list[tuple[float, str]] = []
    sockets: list[WebSocketRoute] = []

    def on_ws(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        ws.on_message(lambda m: frames.append((time.monotonic(), str(m))))

    def serve(route: Route) -> None:
        if route.request.url.split("?")[0] != f"{SITE}/big.html":
            route.fulfill(status=404, body="")  # the article's stylesheet and scripts
            return
        route.fulfill(status=200, body=html, headers={"content-type": "text/html"})

    context.add_init_script(INIT)
    context.route(f"{SITE}/**", serve)
    context.route(
        "https://relay.test/tag.js",
        lambda r: r.fulfill(
            status=200,
            body=tag.read_bytes() if tag else joined_tag(),
            headers={"content-type": "text/javascript"},
        ),
    )
    context.route_web_socket("wss://relay.test/ws/visitor**", on_ws)
    page.goto(f"{SITE}/big.html")
    page.add_init_script("sessionStorage.setItem('cobrowse', JSON.stringify({token: 't'}))")
    page.evaluate("() => sessionStorage.setItem('cobrowse', JSON.stringify({token: 't'}))")
    page.reload()
    deadline = time.monotonic() + 30
    while not sockets:
        assert time.monotonic() < deadline, "no socket"
        page.wait_for_timeout(20)
    hello = {
        "v": 1,
        "type": "hello",
        "conversation": "c",
        "token": "t",
        "brand": "b",
        "resumed": True,
    }
    sockets[0].send(json.dumps(hello))
    page.wait_for_timeout(300)  # let the page settle: its own parse and load tasks are not ours
    html_bytes = page.evaluate(HTML_BYTES_JS)
    t0_page = page.evaluate("() => (window.__probe(true), performance.now())")
    mark = len(frames)
    start = time.monotonic()
    started = {
        "v": 1,
        "type": "session.started",
        "session": "s1",
        "conversation": "c",
        "mode": "view_only",
        "agent": "Ann",
        "mask_selectors": [],
    }
    sockets[0].send(json.dumps(started))

    def dom() -> list[tuple[float, dict[str, Any], int]]:
        out = []
        for at, raw in frames[mark:]:
            msg = json.loads(raw)
            if msg["type"] in ("dom.snapshot", "dom.mutations"):
                out.append((at, msg, len(raw.encode())))
        return out

    while True:
        msgs = dom()
        if msgs and not msgs[-1][1].get("loading"):
            break
        assert time.monotonic() - start < 120, "stream did not finish"
        page.wait_for_timeout(20)
    page.wait_for_timeout(200)
    gap = page.evaluate("() => window.__probe(false)")
    tasks = page.evaluate("(t0) => window.__longtasks.filter(([s]) => s >= t0)", t0_page)
    raw = "".join(json.dumps(m, separators=(",", ":")) for _, m, _ in msgs).encode()
    sent = sum(n for _, _, n in msgs)
    context.close()
    return {
        "longest_task_ms": max((d for _, d in tasks), default=0.0),
        "longest_gap_ms": gap,
        "long_tasks": len(tasks),
        "first_chunk_ms": (msgs[0][0] - start) * 1000,
        "last_chunk_ms": (msgs[-1][0] - start) * 1000,
        "messages": len(msgs),
        "snapshot_bytes": msgs[0][2],
        "json_bytes": sent,
        "html_bytes": html_bytes,
        "ratio": sent / html_bytes,
        "deflated_ratio": len(zlib.compress(raw, 6)) / html_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    kinds = ["cards", "elements", "bytes", "article"]
    parser.add_argument("--page", choices=kinds, default="cards")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tag", type=Path, help="a tag file to serve instead of tag_js's")
    args = parser.parse_args()
    html = page_html(args.page, args.size)
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        for _ in range(args.runs):
            r = run_once(browser, html, args.tag)
            results.append(r)
            print(
                f"longest task {r['longest_task_ms']:.0f} ms ({r['long_tasks']} over 50 ms), "
                f"longest gap of the probe {r['longest_gap_ms']:.0f} ms; "
                f"first chunk {r['first_chunk_ms']:.0f} ms ({r['snapshot_bytes'] / 1024:.0f} KB), "
                f"last {r['last_chunk_ms']:.0f} ms, {r['messages']} messages; "
                f"JSON/HTML {r['ratio']:.3f} ({r['json_bytes'] / 1e6:.2f} MB / "
                f"{r['html_bytes'] / 1e6:.2f} MB), deflated/HTML {r['deflated_ratio']:.3f}"
            )
        browser.close()
    med = statistics.median(r["longest_task_ms"] for r in results)
    gap = statistics.median(r["longest_gap_ms"] for r in results)
    print(
        f"median longest task: {med:.0f} ms, median longest probe gap: {gap:.0f} ms over "
        f"{len(results)} runs"
    )


if __name__ == "__main__":
    main()
