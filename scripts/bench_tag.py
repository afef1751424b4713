"""Benchmark: the tag streaming a large page in real Chromium (the visitor's main thread).

Usage: .venv/bin/python scripts/bench_tag.py [--rows 24000] [--runs 3]

Serves a generated page (``--rows`` product cards of 5 elements each: 24000 rows is a 120k-element,
~5 MB page; 10000 rows is ~2 MB) and the real ``tag_js/tag.js`` through Playwright routes, plays
the relay on the visitor socket, starts a session and prints, per run:

- longest task on the page's main thread from the session start until the last chunk was sent
  (PerformanceObserver 'longtask': only tasks over 50 ms are reported; "none" means every task
  stayed under 50 ms),
- time to the first chunk (dom.snapshot) and to the last, and the number of messages,
- JSON bytes sent for the page (all dom.* frames) divided by ``document.documentElement.outerHTML``
  bytes, and the same ratio after deflate (what permessage-deflate puts on the wire, roughly).

The machine is shared and noisy: read the median of several runs. Tests never assert on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, WebSocketRoute, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from renderer.chromium import launch_options

TAG = Path(__file__).resolve().parents[1] / "tag_js" / "tag.js"
SITE = "https://shop.test"

INIT = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({type: 'longtask', buffered: true});
"""


def page_html(rows: int) -> str:
    cards = "".join(
        f'<div class="card" id="c{i}"><h3 class="title">Product {i}</h3>'
        f'<p class="desc">A sturdy everyday item, number {i}, ships in two days.</p>'
        f'<a class="more" href="/p/{i}">Details</a><span class="price">{i % 97}.99 EUR</span>'
        "</div>\n"
        for i in range(rows)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Big</title>'
        '<script src="https://relay.test/tag.js" async></script></head>'
        f"<body><main>{cards}</main></body></html>"
    )


def compact(node: Any, prev: list[int]) -> Any:
    """A proposed compact node form (not on the wire today), to estimate its cost: the id is left
    out when it is the previous node's id (in document order) plus one, a text node is a bare
    string, and empty attributes and children are left out."""
    node_id, name = node[0], node[1]
    implicit = node_id == prev[0] + 1
    prev[0] = node_id
    if name == "#text":
        return node[2] if implicit else [node_id, node[2]]
    if name in ("#comment", "#doctype"):
        return node if not implicit else node[1:]
    kids = node[2] if name in ("#document", "#shadow") else node[3]
    out: list[Any] = [] if implicit else [node_id]
    out.append(name)
    if name not in ("#document", "#shadow") and node[2]:
        out.append(node[2])
    children = [compact(k, prev) for k in kids]
    if children:
        out.append(children)
    return out


def compact_bytes(msgs: list[dict[str, Any]]) -> int:
    total = 0
    for m in msgs:
        body = dict(m)
        if m["type"] == "dom.snapshot":
            body["doc"] = compact(m["doc"], [m["doc"][0] - 1])
        else:
            body["adds"] = [
                {**a, "node": compact(a["node"], [a["node"][0] - 1])} for a in m["adds"]
            ]
        total += len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return total


def run_once(browser: Any, html: str) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    frames: list[tuple[float, str]] = []
    sockets: list[WebSocketRoute] = []

    def on_ws(ws: WebSocketRoute) -> None:
        sockets.append(ws)
        ws.on_message(lambda m: frames.append((time.monotonic(), str(m))))

    def serve(route: Route) -> None:
        route.fulfill(status=200, body=html, headers={"content-type": "text/html"})

    context.add_init_script(INIT)
    context.route(f"{SITE}/**", serve)
    context.route(
        "https://relay.test/tag.js",
        lambda r: r.fulfill(
            status=200, body=TAG.read_bytes(), headers={"content-type": "text/javascript"}
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
    html_bytes = page.evaluate(
        "() => new TextEncoder().encode(document.documentElement.outerHTML).length"
    )
    t0_page = page.evaluate("() => performance.now()")
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
    tasks = page.evaluate("(t0) => window.__longtasks.filter(([s]) => s >= t0)", t0_page)
    raw = "".join(json.dumps(m, separators=(",", ":")) for _, m, _ in msgs).encode()
    sent = sum(n for _, _, n in msgs)
    context.close()
    return {
        "longest_task_ms": max((d for _, d in tasks), default=0.0),
        "long_tasks": len(tasks),
        "first_chunk_ms": (msgs[0][0] - start) * 1000,
        "last_chunk_ms": (msgs[-1][0] - start) * 1000,
        "messages": len(msgs),
        "snapshot_bytes": msgs[0][2],
        "json_bytes": sent,
        "html_bytes": html_bytes,
        "ratio": sent / html_bytes,
        "deflated_ratio": len(zlib.compress(raw, 6)) / html_bytes,
        "compact_ratio": compact_bytes([m for _, m, _ in msgs]) / html_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=24000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    html = page_html(args.rows)
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        for _ in range(args.runs):
            r = run_once(browser, html)
            results.append(r)
            print(
                f"longest task {r['longest_task_ms']:.0f} ms ({r['long_tasks']} over 50 ms); "
                f"first chunk {r['first_chunk_ms']:.0f} ms ({r['snapshot_bytes'] / 1024:.0f} KB), "
                f"last {r['last_chunk_ms']:.0f} ms, {r['messages']} messages; "
                f"JSON/HTML {r['ratio']:.2f} ({r['json_bytes'] / 1e6:.2f} MB / "
                f"{r['html_bytes'] / 1e6:.2f} MB), deflated/HTML {r['deflated_ratio']:.3f}, "
                f"proposed compact form/HTML {r['compact_ratio']:.2f}"
            )
        browser.close()
    med = statistics.median(r["longest_task_ms"] for r in results)
    print(f"median longest task: {med:.0f} ms over {len(results)} runs")


if __name__ == "__main__":
    main()
