"""A page that replaces the built-ins the tag touches (issue 16): a session still works end to end.

``pages/builtins-before.js`` replaces them before the tag runs (stubs that do nothing, stubs and
getters that throw, wrappers that log each call the tag makes), ``pages/builtins-after.js`` once
it has loaded; the tag must take every one from its pristine copies (``tag_js/src/pristine.js``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import EXPECTED_TREE_JS, PAGES, PLACEHOLDER, FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser

# The page's built-ins the tag still calls, as "built-in <- calling function": the one call that
# decides whether the page's Function.prototype.toString can vouch for anything, the making of
# the clean realm (its root of trust), and what the UI part (tag_js/src/ui.js, another owner's)
# calls: the join of its style sheet at load, and the chat text it trims and queues.
STILL_USED = {
    "Function.prototype.toString <- isNative",
    "Document.prototype.documentElement <- cleanRealm",
    "Array.prototype.join <- ",
    "RegExp.prototype.test <- HTMLButtonElement.sendChat",
    "String.prototype.slice <- HTMLButtonElement.sendChat",
    "Array.prototype.push <- HTMLButtonElement.sendChat",
}


def test_a_session_works_on_a_page_that_replaced_every_built_in_the_tag_touches(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "builtins.html")
    assert page.evaluate("() => window.__before") is True
    page.evaluate("() => { " + (PAGES / "builtins-after.js").read_text() + " }")
    # Chat both ways.
    start_chat(relay, ui)
    ui.type("cb-chat-input", "still works")
    ui.click("cb-chat-send")
    assert relay.next_frame("chat.send")["text"] == "still works"
    relay.send("chat.message", conversation="conv1", sender="agent", name="Ann", text="ok", at=1)
    relay.wait(lambda: ui.all("cb-msg"))
    # The snapshot arrives, and is the page.
    relay.start_session(mode="shared")
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    # A mutation arrives (the page's MutationObserver is a stub that never reports).
    mark = len(relay.frames)
    page.evaluate("() => document.getElementById('p').replaceChildren('changed')")
    relay.next_frame("dom.mutations", mark)
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    assert relay.replica.find(id="p")["children"]
    # Masking holds: the card number and the password go as the placeholder, the masked
    # container's text too, and no secret is in any frame.
    assert relay.replica.find(id="card")["attrs"][":value"] == PLACEHOLDER
    assert relay.replica.find(id="pin")["attrs"][":value"] == PLACEHOLDER
    secret = relay.replica.find(id="secret")
    assert relay.replica.nodes[secret["children"][0]]["text"] == PLACEHOLDER
    sent = "".join(relay.raw)
    for value in ("4111 1111 1111 1111", '"1234"', "masked by its container"):
        assert value not in sent
    # A remote action, with the page's value setter, focus and click broken.
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="name"), value="filled")
    relay.wait(lambda: page.evaluate("() => document.getElementById('name').value") == "filled")
    assert page.evaluate("() => window.__cbErrors") == []
    used = set(page.evaluate("() => window.__builtinsUsedByTag()"))
    assert used <= STILL_USED, sorted(used - STILL_USED)


def test_a_page_whose_mutation_observer_never_reports_still_streams_its_changes(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # The case alone: a stub MutationObserver (a test library's) ended the session with
    # "tag did not finish sending the page".
    open_page(page, "builtins.html?only=observer")
    start_chat(relay, ui)
    relay.start_session()
    mark = len(relay.frames)
    page.evaluate("() => document.getElementById('p').replaceChildren('changed')")
    relay.next_frame("dom.mutations", mark)
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
