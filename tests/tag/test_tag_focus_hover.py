"""The visitor's focus and hover on the wire (issue 15, class 5): the focused element carries
``:focus``, "visible" when the visitor's browser draws its focus ring, one element at a time,
the deepest (inside open shadow roots and same-origin frames); a masked field may have it; the
tag's own chat input is not the page's focus; a fresh snapshot sends it again. Hover needs no
state entry: the replica hovers the node each ``pointer`` names, the document once the mouse
leaves the page's elements."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser


def _session(page: Page, relay: FakeRelay, ui: TagUI, name: str = "index.html") -> None:
    open_page(page, name)
    start_chat(relay, ui)
    relay.start_session()


def _focused(relay: FakeRelay) -> dict[str, str]:
    """Element id (the page's) -> ``:focus`` of every element of the replica that has one."""
    return {
        node["attrs"].get("id", ""): node["attrs"][":focus"]
        for node in relay.replica.nodes.values()
        if ":focus" in (node.get("attrs") or {})
    }


def test_the_focused_field_and_its_ring_are_sent_as_they_change(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _session(page, relay, ui)
    relay.settle()
    assert _focused(relay) == {}
    page.focus("#name")  # a text field: Chromium draws its ring however it got focus
    relay.settle()
    assert _focused(relay) == {"name": "visible"}
    page.click("#go")  # a button clicked with the pointer: focused, no ring
    relay.settle()
    assert page.evaluate("document.activeElement.id") == "go"
    assert _focused(relay) == {"go": "focus"}
    page.keyboard.press("Shift+Tab")  # back by keyboard: the ring shows
    relay.settle()
    focused = page.evaluate("document.activeElement.id")
    assert _focused(relay) == {focused: "visible"}
    page.evaluate("document.activeElement.blur()")
    relay.settle()
    assert _focused(relay) == {}
    # The visitor types in the tag's chat: the page has no focus the agent should see.
    page.focus("#name")
    relay.settle()
    assert _focused(relay) == {"name": "visible"}
    ui.type("cb-chat-input", "hello")
    relay.settle()
    assert _focused(relay) == {}


def test_focus_in_a_shadow_root_names_the_inner_element(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _session(page, relay, ui, "shadow.html")
    page.focus("#shadow-in")
    relay.settle()
    assert _focused(relay) == {"shadow-in": "visible"}
    # Masked (inside data-cobrowse-mask): where the visitor is, never what they type.
    page.focus("#shadow-masked")
    page.keyboard.type("hunter2")
    relay.settle()
    assert _focused(relay) == {"shadow-masked": "visible"}
    assert not any("hunter2" in raw for raw in relay.raw)


def test_a_fresh_snapshot_sends_the_focus_again(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    _session(page, relay, ui)
    page.focus("#name")
    relay.settle()
    mark = len(relay.frames)
    relay.send("resync", session="s1", reason="gap")
    relay.replica.load(relay.next_frame("dom.snapshot", mark))
    relay.settle()
    assert _focused(relay) == {"name": "visible"}


def test_focus_in_a_same_origin_frame_names_the_element_in_it(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _session(page, relay, ui, "frames.html")
    relay.settle()
    page.frame_locator("#same").locator("#inner-name").focus()
    relay.settle()
    assert _focused(relay) == {"inner-name": "visible"}  # not the iframe that holds it
    page.evaluate("document.activeElement.blur()")  # the iframe, and the focus inside it
    relay.settle()
    assert _focused(relay) == {}


def test_the_pointer_leaving_the_page_for_the_tags_ui_is_on_the_document(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """The replica's :hover follows the node each `pointer` names: a mouse that leaves the
    page's elements (here onto the tag's chat) names the document, so nothing stays hovered."""
    _session(page, relay, ui)
    box = page.locator("#go").bounding_box()
    assert box
    mark = len(relay.frames)
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    assert relay.next_frame("pointer", mark)["id"] == relay.replica.id_of(id="go")
    chat = ui.box("cb-chat-input")
    mark = len(relay.frames)
    page.mouse.move(chat["x"] + 5, chat["y"] + 5)
    pointer = relay.next_frame("pointer", mark)
    assert pointer["id"] == relay.replica.root
    # Fractions of the viewport, as the workspace reads a pointer on the document.
    width, height = page.evaluate("[innerWidth, innerHeight]")
    assert abs(pointer["x"] * width - (chat["x"] + 5)) < 1.5
    assert abs(pointer["y"] * height - (chat["y"] + 5)) < 1.5
