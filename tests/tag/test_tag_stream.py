"""A 2 MB page streams in chunks (snapshot first, the rest as adds) and still rebuilds exactly."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Route
from tagharness import (
    CSP,
    EXPECTED_TREE_JS,
    SITE,
    FakeRelay,
    TagUI,
    assert_same_tree,
    open_page,
    start_chat,
)

pytestmark = pytest.mark.browser


def _big_page(rows: int) -> str:
    cards = "".join(
        f'<div class="card" id="c{i}"><h3>Product {i}</h3><p class="desc">A sturdy everyday'
        f' item, number {i}, ships in two days.</p><a href="/p/{i}">Details</a>'
        f"<span>{i % 97}.99</span></div>\n"
        for i in range(rows)
    )
    return (
        '<!DOCTYPE html><html><head><title>Big</title><script src="https://relay.test/tag.js"'
        f' async></script></head><body><main id="main">{cards}</main>'
        '<form><input id="pw" type="password"><input id="name"></form></body></html>'
    )


def test_a_2mb_page_streams_in_chunks_while_it_changes(
    context: BrowserContext, page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    html = _big_page(11500)
    assert len(html.encode()) > 2_000_000

    def serve(route: Route) -> None:
        route.fulfill(
            status=200,
            body=html,
            headers={"content-type": "text/html", "content-security-policy": CSP},
        )

    context.route(f"{SITE}/big.html", serve)
    open_page(page, "big.html")
    start_chat(relay, ui)
    # The page keeps changing while it streams: moves, text, removals, adds, attributes.
    page.evaluate("""() => {
        const main = document.getElementById('main');
        let n = 0;
        window.__churn = setInterval(() => {
            const cards = main.children;
            const a = cards[(n * 7919) % cards.length], b = cards[(n * 104729) % cards.length];
            b.after(a);
            cards[(n * 31) % cards.length].querySelector('h3').textContent = 'changed ' + n;
            cards[(n * 17) % cards.length].setAttribute('data-n', String(n));
            if (n % 5 === 0) cards[(n * 13) % cards.length].remove();
            const d = document.createElement('div'); d.textContent = 'new ' + n;
            cards[(n * 3) % cards.length].prepend(d);
            n++;
        }, 25);
    }""")
    mark = len(relay.frames)
    relay.send(
        "session.started",
        session="s1",
        conversation="conv1",
        mode="view_only",
        agent="Ann",
        mask_selectors=[],
    )
    snapshot = relay.next_frame("dom.snapshot", mark, timeout=10)
    relay.replica.load(snapshot)
    assert snapshot["loading"] is True  # the top of the page came first
    relay.wait_loaded(timeout=60)
    page.evaluate("() => clearInterval(window.__churn)")
    page.fill("#name", "typed")
    relay.settle()
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))
    dom = [f for f in relay.frames[mark:] if f["type"] in ("dom.snapshot", "dom.mutations")]
    loading = [f for f in dom if f.get("loading")]
    assert len(loading) > 3, "the page went in several chunks"
    assert len(relay.raw[mark]) < 400_000  # the first chunk is small; the agent sees it early
    assert relay.replica.find(id="pw")["attrs"][":masked"] == "password"
