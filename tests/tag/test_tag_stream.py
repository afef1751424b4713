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
            for (let k = 0; k < 8; k++) {  // several moves a tick: some land where it streams
                const m = n * 8 + k;
                cards[(m * 104729) % cards.length].after(cards[(m * 7919) % cards.length]);
            }
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
    # Where a slice resumes the cards after a cut, consecutive cards go as one add's run of
    # siblings, not one add each (the page's own changes still make single adds).
    main = relay.replica.id_of(id="main")
    batches = [f for f in loading if f["type"] == "dom.mutations"]
    runs = [len(a["nodes"]) for f in batches for a in f["adds"] if a["parent"] == main]
    assert max(runs) > 100
    assert sum(runs) > 10 * len(runs)


def test_adds_a_cut_flush_leaves_to_the_stream_keep_their_place(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """One frame adds a node before a sibling the replica has, and a subtree too big for a slice.

    The flush walks its adds in reverse document order, so the byte budget runs out inside the
    big subtree (later in the page) and the small add (earlier) is left to the stream. It must
    still name its `next` sibling: appended at the end, it would sit after `li1` in the replica.
    """
    open_page(page, "index.html")
    start_chat(relay, ui)
    relay.start_session()
    mark = len(relay.frames)
    page.evaluate("""() => {
        const li = document.createElement('li'); li.id = 'li0'; li.textContent = 'zero';
        document.getElementById('list').prepend(li);
        const big = document.createElement('section'); big.id = 'big';
        for (let i = 0; i < 400; i++) {  // ~400 KB of text: more than one slice's 256 KB
            const p = document.createElement('p'); p.textContent = String(i).repeat(1000);
            big.append(p);
        }
        document.body.append(big);
    }""")
    relay.settle()
    batches = [f for f in relay.frames[mark:] if f["type"] == "dom.mutations"]
    assert batches[0].get("loading") is True  # the flush was cut: the rest streamed
    li0 = relay.replica.id_of(id="li0")
    assert relay.replica.nodes[relay.replica.id_of(id="list")]["children"][0] == li0
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))


def test_a_big_subtree_moved_after_it_streamed_is_sent_whole_again(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """The page moves a subtree the replica has in full; sending it again takes several slices.

    The replica drops the old subtree on the remove. The nodes the first slice of the re-add
    did not reach yet must still count as missing (their old ids must not make them look sent).
    """
    open_page(page, "index.html")
    page.evaluate("""() => {
        const big = document.createElement('section'); big.id = 'big';
        for (let i = 0; i < 400; i++) {  // ~400 KB of text: more than one slice's 256 KB
            const p = document.createElement('p'); p.textContent = String(i).repeat(1000);
            big.append(p);
        }
        document.body.append(big);
    }""")
    start_chat(relay, ui)
    relay.start_session()
    mark = len(relay.frames)
    page.evaluate("() => document.body.prepend(document.getElementById('big'))")
    relay.settle()
    batches = [f for f in relay.frames[mark:] if f["type"] == "dom.mutations"]
    assert batches[0]["removes"] and batches[0].get("loading") is True  # re-sent in slices
    assert len(relay.replica.find(id="big")["children"]) == 400
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))


def test_scroll_offsets_of_a_big_page_all_reach_the_replica(
    context: BrowserContext, page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """Thousands of boxes the page scrolled before the session: each replica box gets its offset.

    The stream leaves scroll reads to the flushes, a few milliseconds of them a frame (reading
    tens of thousands in one frame is a long task): the rest must follow in later frames.
    """
    boxes = "".join(
        f'<div class="box" data-box="{i}" style="height:20px;overflow:auto">'
        f'<div style="height:80px">box {i}</div></div>\n'
        for i in range(4000)
    )
    html = (
        '<!DOCTYPE html><html><head><title>Boxes</title><script src="https://relay.test/tag.js"'
        f' async></script></head><body><main id="main">{boxes}</main></body></html>'
    )

    def serve(route: Route) -> None:
        route.fulfill(
            status=200,
            body=html,
            headers={"content-type": "text/html"},  # the boxes' inline sizes: no CSP here
        )

    context.route(f"{SITE}/boxes.html", serve)
    open_page(page, "boxes.html")
    page.evaluate("""() => document.querySelectorAll('.box').forEach(
        (b, i) => { b.scrollTop = 1 + i % 50; })""")
    start_chat(relay, ui)
    relay.start_session()
    relay.wait_loaded(timeout=30)

    def offsets() -> dict[str, str | None]:
        relay.sync()
        found = {}
        for node in relay.replica.nodes.values():
            attrs = node.get("attrs") or {}
            if "data-box" in attrs:
                found[attrs["data-box"]] = attrs.get(":scroll")
        return found

    want = {str(i): f"0,{1 + i % 50}" for i in range(4000)}
    relay.wait(lambda: offsets() == want, timeout=15)


def test_the_ui_host_is_fully_contained(page: Page, relay: FakeRelay) -> None:
    """Showing the frame or hiding the invite must not lay out the whole page (a long task on a
    big page): the host's size comes from `inset:0`, and `contain: strict` says so."""
    open_page(page, "index.html")
    contain = page.evaluate("() => getComputedStyle(document.querySelector('cobrowse-ui')).contain")
    assert contain == "strict"
