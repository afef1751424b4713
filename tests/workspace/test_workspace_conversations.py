"""The workspace's conversation controls and the CoBrowse widget's issue-5 parts, against the
fake relay: ending a conversation, the transcript, the invite countdown, asking for shared
control, text selections both ways, and areas of the replica the agent cannot see."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from test_agent_workspace import CONVERSATIONS, PAGE_DOC, check_sent_frames, open_conversation
from workspace_fakes import AGENT, FakeRelay, FakeSite

from wire.nodes import compact

pytestmark = pytest.mark.browser


def replica(page: Page) -> Any:
    return page.frame_locator("[data-testid=replica-frame]")


def snapshot(relay: FakeRelay, doc: list[Any] = PAGE_DOC) -> None:
    relay.push(
        "replica.snapshot",
        session="s1",
        seq=0,
        url="http://brand.test/checkout.html",
        title="Checkout",
        viewport={"w": 1000, "h": 700, "dpr": 1},
        doc=doc,
    )


def view_only_session(page: Page, relay: FakeRelay) -> None:
    page.set_viewport_size({"width": 1400, "height": 900})
    open_conversation(page, relay)
    relay.push(
        "session.started", session="s1", conversation="c1", mode="view_only", agent=AGENT["name"]
    )
    snapshot(relay)
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-status", "active")


def test_the_agent_ends_a_conversation_and_it_becomes_read_only(
    page: Page, workspace: FakeRelay
) -> None:
    relay = workspace
    open_conversation(page, relay)
    page.get_by_test_id("conversation-close").click()
    assert relay.wait_for("conversation.close")["conversation"] == "c1"
    relay.push("conversation.updated", conversation=dict(CONVERSATIONS[0], state="closed"))
    relay.push(
        "chat.message",
        conversation="c1",
        sender="system",
        name=AGENT["name"],
        text="Alice Agent ended the conversation.",
        at=1_700_000_000_500,
    )
    expect(page.get_by_test_id("chat-message").last).to_have_attribute("data-sender", "system")
    for testid in ("chat-input", "chat-send", "conversation-close", "cobrowse-button"):
        expect(page.get_by_test_id(testid)).to_be_disabled()
    expect(page.get_by_test_id("transcript-open")).to_be_enabled()
    check_sent_frames(relay)


def test_the_transcript_shows_the_chat_and_offers_an_export(
    page: Page, site: FakeSite, workspace: FakeRelay
) -> None:
    site.transcripts["c1"] = {
        "conversation": "c1",
        "brand": "demo",
        "started_at": 1_700_000_000_000,
        "closed_at": None,
        "messages": [
            {"conversation": "c1", "sender": "visitor", "name": "Visitor", "text": "Hi there",
             "at": 1_700_000_000_000},
            {"conversation": "c1", "sender": "agent", "name": "Alice Agent",
             "text": "<b>not markup</b>", "at": 1_700_000_001_000},
        ],
    }  # fmt: skip
    open_conversation(page, workspace)
    page.get_by_test_id("transcript-open").click()
    panel = page.get_by_test_id("transcript-panel")
    expect(panel).to_have_attribute("data-state", "loaded")
    lines = page.get_by_test_id("transcript-message")
    expect(lines).to_have_count(2)
    expect(lines.nth(1)).to_contain_text("<b>not markup</b>")  # text, never HTML
    export = page.get_by_test_id("transcript-export")
    expect(export).to_have_attribute("href", "/agent/conversations/c1/transcript?format=text")
    page.get_by_test_id("transcript-close").click()
    expect(panel).to_be_hidden()
    # Another conversation without a transcript: a clear error.
    open_conversation(page, workspace, "c2")
    page.get_by_test_id("transcript-open").click()
    expect(page.get_by_test_id("workspace-error")).to_contain_text("no such conversation")


def test_a_pending_invite_counts_down_to_its_expiry(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    open_conversation(page, relay)
    expires = int(time.time() * 1000) + 90_500
    relay.push(
        "invite.state", invite="i1", conversation="c1", mode="shared", state="pending",
        expires_at=expires,
    )  # fmt: skip
    expiry = page.get_by_test_id("invite-expiry")
    expect(expiry).to_have_text("expires in 1:30")
    relay.push("invite.state", invite="i1", conversation="c1", mode="shared", state="expired")
    expect(page.get_by_test_id("invite-status")).to_contain_text("expired")
    expect(expiry).to_be_hidden()


def test_asking_for_shared_control_in_a_view_only_session(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    view_only_session(page, relay)
    expect(page.get_by_test_id("address-bar")).to_have_attribute("readonly", "")
    upgrade = page.get_by_test_id("session-upgrade")
    upgrade.click()
    assert relay.wait_for("session.upgrade") == {"v": 1, "type": "session.upgrade", "session": "s1"}
    relay.push(
        "invite.state", invite="i9", conversation="c1", mode="shared", state="pending",
        session="s1", expires_at=int(time.time() * 1000) + 60_000,
    )  # fmt: skip
    expect(upgrade).to_be_disabled()
    expect(page.get_by_test_id("invite-status")).to_contain_text("shared control")
    relay.push(
        "invite.state", invite="i9", conversation="c1", mode="shared", state="declined",
        session="s1",
    )  # fmt: skip
    expect(page.get_by_test_id("invite-status")).to_contain_text("still view only")
    expect(upgrade).to_be_enabled()
    # Accepted: the relay repeats session.started with the same id and the new mode.
    relay.push(
        "session.started", session="s1", conversation="c1", mode="shared", agent=AGENT["name"]
    )
    expect(page.get_by_test_id("session-mode")).to_have_text("Shared")
    expect(upgrade).to_be_hidden()
    expect(page.get_by_test_id("navigate")).to_be_visible()
    expect(replica(page).locator("#title")).to_have_text("Checkout")  # same replica kept
    check_sent_frames(relay)


def test_text_selections_are_shown_and_sent_both_ways(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    view_only_session(page, relay)
    # The visitor highlighted "Check" of the h1's text node (id 9).
    relay.push("selection", session="s1", ranges=[[9, 0, 9, 5]])
    shown = page.get_by_test_id("visitor-selection")
    expect(shown).to_contain_text("\u201cCheck\u201d")
    expect(page.get_by_test_id("visitor-selection-mark")).to_have_count(1)
    relay.push("selection", session="s1", ranges=[])
    expect(shown).to_be_hidden()
    expect(page.get_by_test_id("visitor-selection-mark")).to_have_count(0)
    # The agent selects the whole heading in the replica (view only allows it).
    replica(page).locator("#title").evaluate(
        "h => h.ownerDocument.getSelection().setBaseAndExtent(h.firstChild, 2, h.firstChild, 8)"
    )
    sent = relay.wait_for("selection", lambda m: m["ranges"] != [])
    assert sent == {"v": 1, "type": "selection", "session": "s1", "ranges": [[9, 2, 9, 8]]}
    replica(page).locator("#title").evaluate(
        "h => h.ownerDocument.getSelection().removeAllRanges()"
    )
    relay.wait_for("selection", lambda m: m["ranges"] == [])
    check_sent_frames(relay)


def test_areas_the_agent_cannot_see_are_marked_with_the_reason(
    page: Page, site: FakeSite, workspace: FakeRelay
) -> None:
    relay = workspace
    view_only_session(page, relay)
    doc: Any = compact([1, "#document", [[2, "html", {}, [[3, "head", {}, []], [4, "body", {}, [
        [5, "div", {"id": "frame", "data-cobrowse-placeholder": "third-party iframe",
                    "style": "width:300px;height:100px"}, []],
        [6, "canvas", {"id": "chart", "width": "200", "height": "80"}, []],
        [7, "img", {"id": "evil", "alt": "tracker", "src": "http://evil.test/pixel.png"}, []],
        [8, "img", {"id": "ok", "alt": "logo", "src": "http://brand.test/logo.png"}, []],
        [9, "div", {"id": "pdf", "data-cobrowse-placeholder": "plugin object",
                    "style": "display:inline-block;width:200px;height:100px"}, []],
        [10, "x-card", {"id": "card", ":shadow": "closed"}, []],
    ]]]]]])  # fmt: skip
    snapshot(relay, doc)
    frame = replica(page)
    placeholder = frame.locator("#frame")
    label = placeholder.evaluate("el => getComputedStyle(el, '::before').content")
    assert "Not visible to you" in label and "third-party iframe" in label
    expect(frame.locator("#chart")).to_have_attribute("data-cobrowse-replica-unseen", "canvas")
    # The relay's proxy refuses the other origin's image: it is marked, the brand's is not.
    expect(frame.locator("#evil")).to_have_attribute("data-cobrowse-replica-unseen", "image")
    expect(frame.locator("#ok")).not_to_have_attribute("data-cobrowse-replica-unseen", "image")
    summary = page.get_by_test_id("unseen-summary")
    expect(summary).to_contain_text("third-party frame")
    expect(summary).to_contain_text("canvas")
    expect(summary).to_contain_text("image not loaded")
    expect(summary).to_contain_text("1 \u00d7 plugin object")
    expect(summary).to_contain_text("1 \u00d7 closed shadow root")
    reasons = "canvas,image,plugin object,shadow,third-party iframe"
    expect(summary).to_have_attribute("data-reasons", reasons)
    plugin = frame.locator("#pdf").evaluate("el => getComputedStyle(el, '::before').content")
    assert plugin == '"Not visible to you: plugin object"'
    expect(frame.locator("#card")).to_have_attribute("data-cobrowse-replica-unseen", "shadow")
    # The visitor's page drops the closed root (a `null` state entry): the mark goes.
    relay.push(
        "replica.mutations", session="s1", seq=1, adds=[], removes=[],
        attrs=[[10, ":shadow", None]], texts=[],
    )  # fmt: skip
    expect(summary).not_to_contain_text("closed shadow root")
    expect(frame.locator("#card")).not_to_have_attribute("data-cobrowse-replica-unseen", "shadow")
    # Both went to the relay's resource proxy, none to another host (a CSP violation would).
    assert ("image", "http://evil.test/pixel.png") in site.resources
    assert ("image", "http://brand.test/logo.png") in site.resources


def test_a_mouse_drag_in_the_replica_sends_the_agents_selection(
    page: Page, workspace: FakeRelay
) -> None:
    """A real drag (through CDP: Playwright's own drag detection hangs in the sandboxed
    replica, see docs/testing.md) selects text the way the agent does it by hand."""
    relay = workspace
    view_only_session(page, relay)
    box = replica(page).locator("#title").bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    y = box["y"] + box["height"] / 2

    def mouse(kind: str, x: float, buttons: int) -> None:
        cdp.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1},
        )

    mouse("mouseMoved", box["x"] + 1, 0)
    mouse("mousePressed", box["x"] + 1, 1)
    for step in range(1, 6):
        mouse("mouseMoved", box["x"] + step * 12, 1)
    mouse("mouseReleased", box["x"] + 60, 0)
    sent = relay.wait_for("selection", lambda m: m["ranges"] != [])
    start, start_offset, end, end_offset = sent["ranges"][0]
    assert (start, start_offset, end) == (9, 0, 9) and end_offset > 0
    check_sent_frames(relay)


def listed(page: Page) -> list[tuple[str | None, str | None, str]]:
    """The list as shown, top to bottom: (conversation id, state, unread badge text)."""
    rows = []
    for item in page.get_by_test_id("conversation-item").all():
        badge = item.get_by_test_id("unread")
        unread = badge.text_content() or "" if badge.count() else ""
        rows.append((item.get_attribute("data-conversation"), item.get_attribute("data-state"),
                     unread))  # fmt: skip
    return rows


def test_a_conversation_updated_row_replaces_or_joins_the_list_in_the_relays_order(
    page: Page, workspace: FakeRelay
) -> None:
    """After the list its socket opened with, the workspace gets one row per change
    (issue 19): merged by id, ordered as the relay lists (newest last_at first, a new
    conversation before older ones of the same time) and capped as the relay caps it."""
    relay = workspace
    relay.push("conversation.list", conversations=CONVERSATIONS)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(2)
    assert listed(page) == [("c2", "open", "2"), ("c1", "open", "")]
    c1 = dict(CONVERSATIONS[0], title="Where is my parcel?", unread=3, last_at=1_700_000_200_000)
    relay.push("conversation.updated", conversation=c1)
    first = items.first
    expect(first).to_have_attribute("data-conversation", "c1")
    expect(first).to_contain_text("Where is my parcel?")
    assert listed(page) == [("c1", "open", "3"), ("c2", "open", "2")]
    new = {"id": "c3", "brand": "Fernway", "title": "New visitor", "unread": 1, "state": "open",
           "last_at": 1_700_000_200_000}  # fmt: skip
    relay.push("conversation.updated", conversation=new)
    expect(items).to_have_count(3)
    relay.push("conversation.updated", conversation=dict(CONVERSATIONS[1], state="cobrowsing"))
    expect(page.locator('[data-conversation="c2"]')).to_have_attribute("data-state", "cobrowsing")
    assert listed(page) == [("c3", "open", "1"), ("c1", "open", "3"), ("c2", "cobrowsing", "2")]
    # Capped like the relay's list: the oldest row leaves when a new one joins a full list.
    full = [dict(CONVERSATIONS[0], id=f"old{i}", last_at=1_600_000_000_000 - i) for i in range(200)]
    relay.push("conversation.list", conversations=full)
    expect(page.locator('[data-conversation="old199"]')).to_have_count(1)
    relay.push("conversation.updated", conversation=new)
    expect(page.locator('[data-conversation="old199"]')).to_have_count(0)
    expect(items).to_have_count(200)
    expect(items.first).to_have_attribute("data-conversation", "c3")
    check_sent_frames(relay)
