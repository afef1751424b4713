"""Capture beyond one light DOM: same-origin frames, open shadow roots, CSSOM-only styles."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import (
    EXPECTED_TREE_JS,
    PLACEHOLDER,
    SITE,
    FakeRelay,
    TagUI,
    assert_same_tree,
    open_page,
    start_chat,
)

pytestmark = pytest.mark.browser


def _session(page: Page, relay: FakeRelay, ui: TagUI, name: str) -> None:
    open_page(page, name)
    page.wait_for_load_state("load")  # frames loaded
    start_chat(relay, ui)
    relay.start_session()


def _same(page: Page, relay: FakeRelay) -> None:
    relay.settle()
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))


def _pointer_names(page: Page, relay: FakeRelay, frame: str, element: str) -> None:
    """The visitor's pointer over ``#element`` inside the ``frame`` names that element (or its
    text) in the pointer frame it sends."""
    box = page.frame_locator(frame).locator(f"#{element}").bounding_box()
    assert box
    mark = len(relay.frames)
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    pointer = relay.next_frame("pointer", mark)
    replica = relay.replica
    ids = {i for i, n in replica.nodes.items() if n["attrs"].get("id") == element}
    texts = {c for i in ids for c in replica.nodes[i]["children"]}
    assert pointer["id"] in ids | texts


def test_same_origin_frames_recursively_and_cross_origin_never(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _session(page, relay, ui, "frames.html")
    _same(page, relay)
    replica = relay.replica
    same = replica.find(id="same")
    (doc_id,) = same["children"]
    assert replica.nodes[doc_id]["name"] == "#document"
    assert replica.find(id="inner-p")["name"] == "p"
    assert replica.find(href="/deep/link")["name"] == "a"  # URLs resolve in the frame
    assert len([n for n in replica.nodes.values() if n["attrs"].get("id") == "leaf-p"]) == 2
    assert replica.find(id="cross")["children"] == []
    assert "cross-origin secret" not in "".join(relay.raw)
    # Masking reaches into frames: a password there, and a frame inside a masked container.
    assert replica.find(id="inner-pw")["attrs"][":masked"] == "password"
    masked_leaf = [
        n for n in replica.nodes.values() if n["name"] == "#text" and n["text"] == PLACEHOLDER
    ]
    assert masked_leaf, "text of the frame inside the masked container is masked"
    # Changes inside a frame, input inside a frame, and a frame that navigates.
    frame = page.frame_locator("#same")
    frame.locator("#inner-name").fill("typed in frame")
    page.evaluate("""() => {
        const d = document.getElementById('same').contentDocument;
        d.getElementById('inner-p').append(' more');
        d.body.appendChild(d.createElement('hr'));
    }""")
    _same(page, relay)
    assert replica.find(id="inner-name")["attrs"][":value"] == "typed in frame"
    page.evaluate("() => { document.getElementById('same').src = 'leaf.html'; }")
    page.wait_for_function(
        "() => document.getElementById('same').contentDocument?.getElementById('leaf-p')"
    )
    relay.wait(lambda: (relay.settle(), len(relay.replica.find(id="same")["children"]) == 1)[1])
    _same(page, relay)
    # The old document (with its nested leaf frame) is gone; the new one is in.
    assert len([n for n in replica.nodes.values() if n["attrs"].get("id") == "leaf-p"]) == 2
    assert not [n for n in replica.nodes.values() if n["attrs"].get("id") == "inner-p"]
    _pointer_names(page, relay, "#same", "leaf-p")


def test_open_shadow_roots_and_their_changes(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    _session(page, relay, ui, "shadow.html")
    _same(page, relay)
    replica = relay.replica
    card = replica.find(id="card")
    first = replica.nodes[card["children"][0]]
    assert first["name"] == "#shadow"
    assert replica.find(id="in-shadow")["name"] == "p"
    assert "closed secret" not in "".join(relay.raw)  # closed roots stay private
    assert replica.find(id="shadow-masked")["attrs"][":masked"] == "attribute"
    assert "masked shadow text" not in "".join(relay.raw)
    page.locator("#shadow-in").fill("typed in shadow")
    page.evaluate("""() => {
        const root = document.getElementById('card').shadowRoot;
        root.getElementById('in-shadow').textContent = 'changed in shadow';
        root.appendChild(document.createElement('hr'));
        document.getElementById('card').prepend('before ');
        const late = document.getElementById('late').attachShadow({mode: 'open'});
        late.innerHTML = '<b id="late-b">attached later</b>';
    }""")
    # No record says a shadow root was attached: the periodic poll finds it.
    relay.wait(lambda: (relay.settle(), "attached later" in "".join(relay.raw))[1], timeout=10)
    _same(page, relay)
    assert replica.find(id="shadow-in")["attrs"][":value"] == "typed in shadow"


def test_cssom_only_rules_travel_as_text_and_follow_changes(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _session(page, relay, ui, "cssom.html")
    _same(page, relay)
    replica = relay.replica
    sc = replica.find(id="sc")
    assert sc["attrs"][":cssom"] == "sheet"
    (text_id,) = sc["children"]
    assert "rgb(200, 0, 0)" in replica.nodes[text_id]["text"]
    adopted = [n for n in replica.nodes.values() if n["attrs"].get(":cssom") == "adopted"]
    assert len(adopted) == 2  # the document's and the shadow root's
    page.evaluate("""() => {
        const sheet = document.getElementById('sc').sheet;
        sheet.insertRule('.c { padding: 7px; }', 2);
        sheet.deleteRule(1);
        const s = new CSSStyleSheet();
        s.replaceSync('h1 { color: rgb(9, 9, 9); }');
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, s];
        document.getElementById('host').shadowRoot.adoptedStyleSheets[0]
            .replaceSync('p { font-style: italic; }');
        const late = document.createElement('style');
        late.setAttribute('nonce', 'cbtest');
        document.head.appendChild(late);
        late.sheet.insertRule('.late { top: 1px; }');
    }""")
    # Count changes go out at the next flush; same-count rewrites within the periodic poll.
    relay.wait(lambda: (relay.settle(), "italic" in "".join(relay.raw))[1], timeout=8)
    _same(page, relay)


def test_closed_shadow_roots_are_marked_and_never_read(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "closed.html")
    # The tag's attachShadow behaves as the one it wrapped: same result, same exceptions, and
    # the shape of a native method (name, length, not a constructor, same property attributes).
    same = page.evaluate("""() => {
        const ours = Element.prototype.attachShadow;
        const theirs = window.attachBeforeTag;
        const outcome = (fn, make, init) => {
            const el = make();
            try {
                const root = fn.call(el, init);
                return {root: root instanceof ShadowRoot, mode: root.mode,
                        same: el.shadowRoot === (root.mode === 'open' ? root : null)};
            } catch (e) { return {error: e.name, message: e.message}; }
        };
        const div = () => document.createElement('div');
        const twice = () => { const d = div(); theirs.call(d, {mode: 'open'}); return d; };
        const cases = [
            [div, {mode: 'open'}], [div, {mode: 'closed'}],
            [() => document.createElement('input'), {mode: 'open'}],  // cannot host a root
            [twice, {mode: 'open'}], [div, {}], [div, {mode: 'sideways'}],
            [() => ({}), {mode: 'open'}],  // not an element
        ];
        const d = Object.getOwnPropertyDescriptor(Element.prototype, 'attachShadow');
        const t = window.attachBeforeTagDescriptor;
        let constructs = true;
        try { new ours({mode: 'open'}); } catch (e) { constructs = false; }
        return {
            outcomes: cases.map(([make, init]) =>
                [outcome(ours, make, init), outcome(theirs, make, init)]),
            shape: [ours.name, ours.length, constructs, d.writable, d.enumerable, d.configurable,
                    /native code/.test(Function.prototype.toString.call(ours))],
            // The harness's own wrapper sits under the tag's here (INIT_SCRIPT): the Proxy shows
            // its name and length, as it would show a native method's, and reads as native.
            native: [theirs.name, theirs.length, false, t.writable, t.enumerable, t.configurable,
                     true],
            wrapped: ours !== theirs,
        };
    }""")
    assert same["wrapped"]
    for ours, theirs in same["outcomes"]:
        assert ours == theirs
    assert [o for o, _ in same["outcomes"]][2]["error"] == "NotSupportedError"
    assert same["shape"] == same["native"]
    # Hosts made before the session (and after the tag loaded), and one the page filled in before
    # the tag loaded (that one the tag cannot know).
    page.evaluate("""() => {
        const hosts = document.getElementById('hosts');
        const p = document.createElement('x-private'); p.id = 'p1'; p.append('light one');
        const o = document.createElement('x-open'); o.id = 'o1'; o.append('light two');
        hosts.append(p, o);
    }""")
    start_chat(relay, ui)
    relay.start_session()
    _same(page, relay)
    replica = relay.replica
    assert replica.find(id="p1")["attrs"][":shadow"] == "closed"
    assert ":shadow" not in replica.find(id="o1")["attrs"]
    assert replica.nodes[replica.find(id="o1")["children"][0]]["name"] == "#shadow"  # open: sent
    assert ":shadow" not in replica.find(id="early")["attrs"]  # attached before the tag loaded
    # During the session: a new host arrives with its closed root, and a host the replica has
    # gets one (no DOM record says so: the tag learns it from attachShadow).
    mark = len(relay.frames)
    page.evaluate("""() => {
        const p = document.createElement('x-private'); p.id = 'p2';
        document.getElementById('hosts').append(p);
        document.getElementById('late').attachShadow({mode: 'closed'}).innerHTML =
            '<b>closed secret late</b>';
    }""")
    late = replica.id_of(id="late")
    relay.wait(
        lambda: any(
            [late, ":shadow", "closed"] in f.get("attrs", [])
            for f in relay.frames[mark:]
            if f["type"] == "dom.mutations"
        )
    )
    _same(page, relay)
    assert replica.find(id="p2")["attrs"][":shadow"] == "closed"
    assert replica.find(id="late")["attrs"][":shadow"] == "closed"
    assert "closed secret" not in "".join(relay.raw)  # nothing of a closed root left the page
    assert page.evaluate("() => window.__cbErrors") == []


def test_a_same_origin_frame_of_a_tagged_page_leaves_the_tab_to_the_top_pages_tag(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """A framed page of the same site carries the tag too: its tag builds no UI and opens no
    socket, before a conversation or after (the tab's token is in the origin's sessionStorage,
    which the frame shares), so the top page's tag alone is the visitor and mirrors the frame
    (issue 16: the frame's tag took the session about one run in five)."""
    open_page(page, "tagged-frames.html")
    page.wait_for_load_state("load")
    inner = page.frame(name="inner")
    assert inner is not None and inner.evaluate("() => !!window.__cobrowse")  # its tag ran
    assert inner.evaluate("() => window.__cbShadow.length") == 0
    start_chat(relay, ui)
    relay.start_session()
    relay.settle()
    assert relay.replica.find(id="article")  # the top's tag mirrors the frame
    page.reload()
    page.wait_for_load_state("load")
    relay.wait(lambda: len(relay.sockets) >= 2)  # the top page's tag resumed
    page.wait_for_timeout(500)  # time for a second one, were the frame's tag to resume too
    assert len(relay.sockets) == 2
    inner = page.frame(name="inner")
    assert inner is not None and inner.evaluate("() => window.__cbShadow.length") == 0


def test_a_frames_tag_starts_when_the_top_page_has_none(page: Page, relay: FakeRelay) -> None:
    """The frame's tag waits for the top page's load, then finds no tag there and runs as a
    visitor of its own (the check reports such a page; the tag does not refuse it). ``relay``
    serves the site."""
    page.goto(f"{SITE}/untagged-top.html")
    page.wait_for_load_state("load")
    inner = page.frame(name="inner")
    assert inner is not None
    inner.wait_for_function("() => window.__cbShadow.length === 1", timeout=5000)


def test_a_framesets_frames_are_mirrored_as_an_iframes_are(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """A frameset page (issue 16): the tag runs in the top document, whose body is the
    frameset; each same-origin <frame> carries its document, a cross-origin one none, and
    changes, masking, a navigation and the pointer inside a frame travel as in an iframe's."""
    _session(page, relay, ui, "frameset.html")
    _same(page, relay)
    replica = relay.replica
    (doc_id,) = replica.find(id="top-frame")["children"]
    assert replica.nodes[doc_id]["name"] == "#document"
    assert replica.find(id="inner-pw")["attrs"][":masked"] == "password"
    assert replica.find(id="cross")["children"] == []
    assert "cross-origin secret" not in "".join(relay.raw)
    page.frame_locator("#top-frame").locator("#inner-name").fill("typed in a frame")
    page.evaluate("""() => {
        const d = document.getElementById('left').contentDocument;
        d.getElementById('leaf-p').append(' more');
    }""")
    _same(page, relay)
    assert replica.find(id="inner-name")["attrs"][":value"] == "typed in a frame"
    # The frame navigates: its new document replaces the old one.
    page.evaluate("() => { document.getElementById('left').src = 'inner.html'; }")
    page.wait_for_function(
        "() => document.getElementById('left').contentDocument?.getElementById('inner-p')"
    )
    relay.wait(
        lambda: (
            relay.settle(),
            len([n for n in replica.nodes.values() if n["attrs"].get("id") == "inner-p"]) == 2,
        )[1]
    )
    _same(page, relay)
    _pointer_names(page, relay, "#left", "inner-p")
    assert page.evaluate("() => window.__cbErrors") == []
