"""A session on the visitor's side: presence both ways, remote actions by mode, hostile pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page
from tagharness import EXPECTED_TREE_JS, PAGES, SITE, FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser


def _act(relay: FakeRelay, node: str, type_: str, **body: object) -> None:
    relay.send(type_, session="s1", id=relay.replica.id_of(id=node), **body)


def _text(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "e => e.textContent")  # type: ignore[no-any-return]


def test_shared_mode_actions_drive_a_react_style_controlled_form(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "controlled.html")
    start_chat(relay, ui)
    relay.start_session(mode="shared")
    _act(relay, "name", "act.input", value="Hello from Ann")
    page.wait_for_function("() => document.getElementById('echo').textContent === 'Hello from Ann'")
    _act(relay, "agree", "act.input", checked=True)
    page.wait_for_function("() => document.getElementById('agreed').textContent === 'yes'")
    _act(relay, "go", "act.click", x=0.5, y=0.5)
    _act(relay, "go", "act.click", x=0.1, y=0.9)
    page.wait_for_function("() => document.getElementById('clicks').textContent === '2'")
    assert ui.all("cb-click-circle")  # the visitor sees where the agent clicked
    # The agent's clicks are not reported back as the visitor's.
    relay.settle()
    assert relay.of_type("click") == []
    # Never into a masked field; never to another origin.
    _act(relay, "pw", "act.input", value="typed-by-agent")
    relay.send("act.navigate", session="s1", url="https://evil.test/phish")
    relay.send("act.navigate", session="s1", url="javascript:alert(1)")
    page.wait_for_timeout(200)
    assert page.input_value("#pw") == ""
    assert page.url == f"{SITE}/controlled.html"
    relay.send("act.navigate", session="s1", url=f"{SITE}/index.html")
    page.wait_for_url(f"{SITE}/index.html")


def test_view_only_refuses_actions(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "controlled.html")
    start_chat(relay, ui)
    relay.start_session(mode="view_only")
    _act(relay, "name", "act.input", value="nope")
    _act(relay, "agree", "act.input", checked=True)
    _act(relay, "go", "act.click", x=0.5, y=0.5)
    relay.send("act.navigate", session="s1", url=f"{SITE}/index.html")
    # Pointer and highlight are still allowed in view_only.
    _act(relay, "go", "highlight", kind="wiggle", x=0.5, y=0.5)
    page.wait_for_timeout(300)
    assert page.input_value("#name") == ""
    assert _text(page, "#agreed") == "no"
    assert _text(page, "#clicks") == "0"
    assert page.url == f"{SITE}/controlled.html"
    # The wiggle is a Web Animation: the page's own style attribute is untouched.
    assert page.eval_on_selector("#go", "e => e.getAttribute('style')") is None


def test_an_accepted_upgrade_switches_to_shared_without_restarting_the_stream(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "controlled.html")
    start_chat(relay, ui)
    relay.start_session(mode="view_only")
    assert ui.text("cb-frame-label").endswith("(view only)")
    # An upgrade offer names the running session; one naming another session is not this page's.
    relay.send(
        "invite.offer",
        invite="inv8",
        agent="Ann",
        mode="shared",
        expires_at=9_999_999_999_999,
        session="other",
    )
    page.wait_for_timeout(100)
    assert not ui.visible("cb-invite")
    relay.send(
        "invite.offer",
        invite="inv9",
        agent="Ann",
        mode="shared",
        expires_at=9_999_999_999_999,
        session="s1",
    )
    relay.wait(lambda: ui.visible("cb-invite"))
    assert ui.text("cb-invite-text") == (
        "Ann asks for shared control: they will be able to click, type and navigate for you."
        " Masked fields stay hidden."
    )
    _act(relay, "name", "act.input", value="too early")  # still view only
    ui.click("cb-invite-accept")
    assert relay.next_frame("invite.accept")["invite"] == "inv9"
    mark = len(relay.frames)
    relay.send(
        "session.started",
        session="s1",
        conversation="conv1",
        mode="shared",
        agent="Ann",
        mask_selectors=[],
    )
    relay.wait(lambda: ui.text("cb-frame-label").endswith("(shared)"))
    assert page.input_value("#name") == ""
    # The stream goes on (same seq line, no new snapshot), and the agent may act now.
    _act(relay, "name", "act.input", value="Hello from Ann")
    page.wait_for_function("() => document.getElementById('echo').textContent === 'Hello from Ann'")
    relay.settle()
    assert [f for f in relay.frames[mark:] if f["type"] == "dom.snapshot"] == []
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)


def test_presence_both_ways_and_the_end_button(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    snapshot = relay.start_session()
    doc_id = snapshot["doc"][0]
    go = page.locator("#go").bounding_box()
    assert go
    # The visitor's pointer: the element under it plus fractions of its box.
    mark = len(relay.frames)
    page.mouse.move(go["x"] + go["width"] * 0.25, go["y"] + go["height"] * 0.75)
    pointer = relay.next_frame("pointer", mark)
    assert pointer["id"] == relay.replica.id_of(id="go")
    assert abs(pointer["x"] - 0.25) < 0.05 and abs(pointer["y"] - 0.75) < 0.05
    page.mouse.click(go["x"] + 2, go["y"] + 2)
    click = relay.next_frame("click", mark)
    assert click["id"] == relay.replica.id_of(id="go")
    page.evaluate("() => window.scrollTo(0, 300)")
    scroll = relay.next_frame("scroll", mark)
    assert (scroll["id"], scroll["y"]) == (doc_id, 300)
    page.evaluate("() => document.getElementById('scrollbox').scrollTop = 40")
    relay.wait(
        lambda: any(f["id"] == relay.replica.id_of(id="scrollbox") for f in relay.of_type("scroll"))
    )
    page.set_viewport_size({"width": 900, "height": 700})
    viewport = relay.next_frame("viewport", mark)
    assert (viewport["w"], viewport["h"]) == (900, 700)

    # The agent's pointer, labelled with the agent's name, over the same element.
    page.evaluate("() => window.scrollTo(0, 0)")
    relay.send("pointer", session="s1", id=relay.replica.id_of(id="go"), x=0.5, y=0.5)
    relay.wait(lambda: ui.visible("cb-agent-pointer"))
    assert ui.text("cb-agent-pointer") == "Ann"
    go = page.locator("#go").bounding_box()
    tip = ui.box("cb-agent-pointer")
    assert go
    assert abs(tip["x"] - (go["x"] + go["width"] / 2)) < 2
    assert abs(tip["y"] - (go["y"] + go["height"] / 2)) < 2
    # The agent scrolls the page; the tag does not echo it back as the visitor's scroll.
    mark = len(relay.frames)
    relay.send("scroll", session="s1", id=doc_id, x=0, y=120)
    page.wait_for_function("() => window.scrollY === 120")
    relay.settle()
    assert relay.of_type("scroll")[-1]["y"] != 120 or len(relay.frames) == mark
    # Highlights.
    relay.send(
        "highlight", session="s1", id=relay.replica.id_of(id="title"), kind="circle", x=0.5, y=0.5
    )
    relay.wait(lambda: ui.all("cb-click-circle"))
    relay.wait(lambda: not ui.all("cb-click-circle"), timeout=3)
    relay.send(
        "highlight", session="s1", id=relay.replica.id_of(id="title"), kind="outline", x=0.5, y=0.5
    )
    relay.wait(lambda: ui.all("cb-outline"))
    relay.send(
        "highlight", session="s1", id=relay.replica.id_of(id="title"), kind="wiggle", x=0.5, y=0.5
    )
    page.wait_for_function("() => document.getElementById('title').getAnimations().length > 0")
    # Bad shapes are ignored.
    relay.send("pointer", session="s1", id=-4, x=0.5, y=0.5)
    relay.send("highlight", session="s1", id=1, kind="explode", x=0.5, y=0.5)
    relay.send("scroll", session="s1", id="1", x=0, y=0)
    # The X on the frame ends the session.
    assert ui.visible("cb-frame") and "Ann" in ui.text("cb-frame")
    mark = len(relay.frames)
    ui.click("cb-end")
    assert relay.next_frame("session.end", mark) == {"v": 1, "type": "session.end", "session": "s1"}
    relay.wait(lambda: not ui.visible("cb-frame") and not ui.visible("cb-agent-pointer"))
    assert page.evaluate("() => window.__cbErrors") == []


def test_survives_a_page_that_overwrites_the_platform(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # hostile-before.js breaks addEventListener and JSON, and spies through bind, before the
    # tag runs;
    # hostile-after.js breaks WebSocket, MutationObserver, timers, storage and DOM methods after.
    open_page(page, "hostile.html")
    page.evaluate("() => { " + (Path(PAGES) / "hostile-after.js").read_text() + " }")
    start_chat(relay, ui)
    assert relay.frames == [] or relay.frames[0]["type"] == "chat.send"
    ui.type("cb-chat-input", "still works")
    ui.click("cb-chat-send")
    assert relay.next_frame("chat.send")["text"] == "still works"
    relay.start_session(mode="shared")
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    page.evaluate("() => { const p = document.getElementById('p'); p.replaceChildren('changed'); }")
    relay.wait(lambda: relay.of_type("dom.mutations"))
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    relay.send("chat.message", conversation="conv1", sender="agent", name="Ann", text="ok", at=1)
    relay.wait(lambda: ui.all("cb-msg"))
    _act(relay, "name", "act.input", value="filled")
    relay.wait(lambda: page.evaluate("() => document.getElementById('name').value") == "filled")
    assert page.evaluate("() => window.__cbErrors") == []
    assert page.evaluate("() => window.__spied") == []  # the tag never used the page's JSON
    assert page.evaluate("() => window.__bound") == 0  # nor the page's bind


def test_text_selection_both_ways(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    relay.start_session()
    intro = relay.replica.find(id="intro")
    hello_text = intro["children"][0]
    # The visitor selects "ello": the agent gets the range as node ids and offsets.
    mark = len(relay.frames)
    page.evaluate("""() => {
        const t = document.getElementById('intro').firstChild;
        const r = document.createRange(); r.setStart(t, 1); r.setEnd(t, 5);
        getSelection().removeAllRanges(); getSelection().addRange(r);
    }""")
    selection = relay.next_frame("selection", mark)
    assert selection["ranges"] == [[hello_text, 1, hello_text, 5]]
    page.evaluate("() => getSelection().removeAllRanges()")
    relay.wait(lambda: relay.of_type("selection")[-1]["ranges"] == [])
    # The agent's selection is drawn over the visitor's page, and cleared.
    title_text = relay.replica.find(id="title")["children"][0]
    relay.send("selection", session="s1", ranges=[[title_text, 0, title_text, 5]])
    relay.wait(lambda: ui.all("cb-selection"))
    box = ui.box("cb-selection")
    title = page.locator("#title").bounding_box()
    assert title and abs(box["x"] - title["x"]) < 2 and abs(box["y"] - title["y"]) < 10
    relay.send("selection", session="s1", ranges=[[999999, 0, 999999, 1], "bad"])
    relay.send("selection", session="s1", ranges=[])
    relay.wait(lambda: not ui.all("cb-selection"))
    assert page.evaluate("() => window.__cbErrors") == []


def test_a_tab_opened_from_this_one_is_not_part_of_its_conversation(
    context: BrowserContext, page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    relay.start_session()
    # window.open copies sessionStorage (the token) into the new tab in Chromium.
    with context.expect_page() as opened:
        page.evaluate("() => window.open('/index.html')")
    other = opened.value
    other.wait_for_load_state("load")
    other.wait_for_timeout(800)
    assert len(relay.sockets) == 1, "the copied tab must not resume the conversation"
    assert (
        other.evaluate("() => JSON.parse(sessionStorage.getItem('cobrowse') || '{}').token") is None
    )
    # The original tab still resumes its own conversation on reload.
    page.reload()
    relay.wait(lambda: len(relay.sockets) == 2)
    assert "token=tok-1" in relay.urls[-1]
