"""Capture: the node stream the tag sends rebuilds the visitor's page exactly."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import EXPECTED_TREE_JS, SITE, FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser


def _session(
    page: Page, relay: FakeRelay, ui: TagUI, name: str = "index.html", **kwargs: object
) -> dict[str, object]:
    open_page(page, name)
    start_chat(relay, ui)
    return relay.start_session(**kwargs)  # type: ignore[arg-type]


def test_snapshot_rebuilds_the_page(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    snapshot = _session(page, relay, ui)
    assert snapshot["url"] == f"{SITE}/index.html"
    assert snapshot["title"] == "Shop · Checkout"
    assert set(snapshot["viewport"]) == {"w", "h", "dpr"}  # type: ignore[arg-type]
    replica = relay.replica
    assert replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    # URLs are resolved, and those on the page's origin sent as their path (one "/"); script
    # bodies, comment text and the tag's own UI are never sent.
    cart = replica.find(**{"data-testid": "cart"})
    assert cart["attrs"]["href"] == "/cart?x=1"
    assert replica.find(id="help")["attrs"]["href"] == "/help/#faq"
    assert replica.find(id="logo")["attrs"]["srcset"] == "/img/logo.png 1x, /img/logo@2x.png 2x"
    assert replica.find(id="form")["attrs"]["action"] == "/pay"
    names = {n["name"] for n in replica.nodes.values()}
    assert "cobrowse-ui" not in names
    assert all(not n["children"] for n in replica.nodes.values() if n["name"] == "script")
    assert "a comment whose text" not in str(snapshot)
    # Form state travels as state entries.
    assert replica.find(id="name")["attrs"][":value"] == "Jo"
    assert replica.find(id="notes")["attrs"][":value"] == "Default notes"
    assert replica.find(id="size")["attrs"][":value"] == "m"
    assert replica.find(id="agree")["attrs"][":checked"] == "1"
    assert ":checked" not in replica.find(id="r2")["attrs"]
    assert replica.find(value="m")["attrs"][":selected"] == "1"


def test_mutations_keep_the_replica_equal(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    _session(page, relay, ui)
    steps = [
        # add (nested subtree, at the start, middle and end), attributes, text
        """() => {
            const list = document.getElementById('list');
            const li = document.createElement('li'); li.id = 'li0';
            li.innerHTML = '<b>zero</b> <i>nested <u>deep</u></i>';
            list.insertBefore(li, list.firstChild);
            const mid = document.createElement('li'); mid.textContent = 'mid';
            list.insertBefore(mid, document.getElementById('li3'));
            list.append('tail text', document.createElement('hr'));
            document.getElementById('title').setAttribute('data-state', 'busy');
            document.getElementById('intro').firstChild.data = 'Hi ';
            document.getElementById('top').querySelector('a').setAttribute('href', '/basket');
        }""",
        # remove, move (within and across parents), add-then-remove, attribute removal
        """() => {
            const list = document.getElementById('list');
            document.getElementById('li2').remove();
            list.appendChild(document.getElementById('li0'));
            document.getElementById('main').prepend(document.getElementById('li1'));
            const temp = document.createElement('p'); temp.id = 'ephemeral';
            document.body.appendChild(temp); temp.remove();
            document.getElementById('title').removeAttribute('data-state');
            const svg = document.getElementById('icon');
            const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
            r.setAttribute('width', '5'); svg.appendChild(r);
        }""",
        # many siblings inserted in one batch, in scattered order; a moved subtree edited
        """() => {
            const list = document.getElementById('list');
            for (let i = 0; i < 30; i++) {
                const li = document.createElement('li'); li.textContent = 'n' + i;
                const at = list.children[(i * 7) % (list.children.length || 1)] || null;
                list.insertBefore(li, at);
            }
            const intro = document.getElementById('intro');
            document.getElementById('main').appendChild(intro);
            intro.querySelector('b').textContent = 'everyone';
            document.body.replaceChildren(...document.body.childNodes);
        }""",
        # a node moved in, then its old parent removed; text replaced wholesale
        """() => {
            const form = document.getElementById('form');
            const go = document.getElementById('go');
            document.getElementById('list').appendChild(go);
            form.remove();
            document.getElementById('counter').textContent = 'forty two';
            document.getElementById('top').innerHTML = '<nav><a href="x">X</a></nav>';
        }""",
    ]
    for step in steps:
        page.evaluate(step)
        relay.settle()
        assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    mutations = relay.of_type("dom.mutations")
    assert mutations, "no dom.mutations sent"
    # Coalescing: the paragraph added and removed within one batch never went out.
    assert not any("ephemeral" in raw for raw in relay.raw)
    assert relay.replica.find(href="/x")["name"] == "a"


def test_form_input_is_streamed_as_state(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    _session(page, relay, ui)
    page.fill("#name", "Joanna")
    page.check("#r2")
    page.uncheck("#agree")
    page.select_option("#size", "s")
    relay.settle()
    replica = relay.replica
    assert replica.find(id="name")["attrs"][":value"] == "Joanna"
    assert ":checked" not in replica.find(id="r1")["attrs"]
    assert replica.find(id="r2")["attrs"][":checked"] == "1"
    assert ":checked" not in replica.find(id="agree")["attrs"]
    assert replica.find(id="size")["attrs"][":value"] == "s"
    assert replica.find(value="s")["attrs"][":selected"] == "1"
    assert ":selected" not in replica.find(value="m")["attrs"]


def test_large_page_changing_during_the_snapshot(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    page.evaluate("""() => {
        const main = document.getElementById('main');
        for (let i = 0; i < 3000; i++) {
            const d = document.createElement('div');
            d.className = 'row';
            d.innerHTML = '<span>row ' + i + '</span><a href="p' + i + '">link</a>';
            main.appendChild(d);
        }
        let n = 0;
        window.__churn = setInterval(() => {
            const rows = document.querySelectorAll('.row');
            rows[n % rows.length].after(rows[(n * 13) % rows.length]);
            rows[(n * 5) % rows.length].firstChild.textContent = 'changed ' + n;
            n++;
        }, 4);
    }""")
    start_chat(relay, ui)
    relay.start_session()
    page.evaluate("() => clearInterval(window.__churn)")
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)


def test_resync_sends_a_fresh_snapshot_and_end_stops_capture(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    first = _session(page, relay, ui)
    mark = len(relay.frames)
    relay.send("resync", session="s1", reason="gap")
    second = relay.next_frame("dom.snapshot", mark)
    assert second["seq"] > first["seq"]  # type: ignore[operator]
    relay.replica.load(second)
    # Session-scoped messages for another session are ignored.
    relay.send("session.ended", session="other", by="agent", reason="done")
    page.wait_for_timeout(100)
    assert ui.visible("cb-frame")
    relay.send("session.ended", session="s1", by="agent", reason="done")
    relay.wait(lambda: not ui.visible("cb-frame"))
    mark = len(relay.frames)
    page.evaluate("() => document.getElementById('title').textContent = 'after'")
    page.mouse.move(50, 50)
    page.wait_for_timeout(300)
    assert relay.frames[mark:] == []


def test_urls_on_the_page_origin_travel_as_paths(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    """Resolved against the document's base; on the page's origin only the path goes, and never
    one a browser would read as another host ("//x", "/\\x")."""
    _session(page, relay, ui)
    page.evaluate("""() => {
        const add = (id, href) => {
            const a = document.createElement('a'); a.id = id; a.setAttribute('href', href);
            document.body.append(a);
        };
        add('u1', 'https://shop.test//evil.test/x');
        add('u2', '/\\\\evil.test/x');
        add('u3', 'https://other.test/p?q#f');
        add('u4', 'p/../q/./r?x#y');
        add('u5', 'https://shop.test:443/a');
        add('u6', 'http://shop.test/a');
        add('u7', '/a b');
        add('u8', '/p/%2e%2e/x');
        add('u9', '#frag');
        document.querySelector('[data-testid=cart]').setAttribute('href', '/basket?x=1');
        document.getElementById('logo')
            .setAttribute('srcset', 'a.png 1x, https://cdn.test/b.png 2x');
    }""")
    relay.settle()
    replica = relay.replica
    hrefs = {f"u{i}": replica.find(id=f"u{i}")["attrs"]["href"] for i in range(1, 10)}
    assert hrefs == {
        "u1": "https://shop.test//evil.test/x",
        "u2": "https://evil.test/x",  # a browser reads "/\\" as "//": another host
        "u3": "https://other.test/p?q#f",
        "u4": "/q/r?x#y",
        "u5": "/a",
        "u6": "http://shop.test/a",
        "u7": "/a%20b",
        "u8": "/x",
        "u9": "/index.html#frag",
    }
    assert replica.find(**{"data-testid": "cart"})["attrs"]["href"] == "/basket?x=1"
    assert replica.find(id="logo")["attrs"]["srcset"] == "/a.png 1x, https://cdn.test/b.png 2x"
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
