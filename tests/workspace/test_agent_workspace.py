"""The agent workspace against a fake relay: sign-in, conversations and chat, invites, and the
CoBrowse widget (replica, pointers, highlights, shared-mode actions, view_only limits).
Every frame the workspace sends is checked against the relay's own message table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from workspace_fakes import AGENT, ORIGIN, PASSWORD, FakeRelay, FakeSite, add

from wire.nodes import compact

pytestmark = pytest.mark.browser

MASK = "\u2022" * 6
CONVERSATIONS = [
    {
        "id": "c1",
        "brand": "Fernway",
        "title": "Visitor from Oslo",
        "unread": 0,
        "state": "open",
        "last_at": 1_700_000_000_000,
    },
    {
        "id": "c2",
        "brand": "Fernway",
        "title": "Visitor from Lyon",
        "unread": 2,
        "state": "open",
        "last_at": 1_700_000_100_000,
    },
]

# fmt: off
PAGE_DOC: Any = compact([1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {}, [
        [4, "head", {}, [[5, "style", {}, [[6, "#text",
            "body{margin:0;font:16px sans-serif} #spacer{height:2000px}"
            " button,input,select{display:block;margin:10px;width:200px;height:30px}"]]]]],
        [7, "body", {}, [
            [8, "h1", {"id": "title"}, [[9, "#text", "Checkout"]]],
            [10, "input", {"id": "name", "type": "text", ":value": "Ada"}, []],
            [11, "input", {"id": "terms", "type": "checkbox"}, []],
            [12, "input", {"id": "card", "type": "text", ":masked": "attribute",
                           ":value": MASK}, []],
            [13, "select", {"id": "room"}, [
                [14, "option", {"value": "double"}, [[15, "#text", "Double"]]],
                [16, "option", {"value": "suite"}, [[17, "#text", "Suite"]]],
            ]],
            [18, "a", {"id": "home", "href": "http://brand.test/index.html"},
             [[19, "#text", "Home"]]],
            [20, "button", {"id": "go", "type": "submit"}, [[21, "#text", "Place booking"]]],
            [22, "div", {"id": "spacer"}, []],
        ]],
    ]],
]])
# fmt: on


def check_sent_frames(relay: FakeRelay) -> None:
    """Every frame the workspace sent is one the relay accepts from an agent."""
    try:
        from wire.protocol import AGENT as AGENT_ROLE
        from wire.protocol import decode
    except ImportError:
        pytest.skip("wire.protocol is not importable")
    for raw in relay.raw:
        decode(raw, AGENT_ROLE)


def open_conversation(page: Page, relay: FakeRelay, conversation: str = "c1") -> None:
    relay.push("conversation.list", conversations=CONVERSATIONS)
    page.locator(f'[data-testid=conversation-item][data-conversation="{conversation}"]').click()
    relay.wait_for("conversation.open", lambda m: m["conversation"] == conversation)


def start_session(page: Page, relay: FakeRelay, mode: str, doc: list[Any] | None = None) -> None:
    open_conversation(page, relay)
    relay.push("session.started", session="s1", conversation="c1", mode=mode, agent=AGENT["name"])
    expect(page.get_by_test_id("cobrowse-widget")).to_be_visible()
    relay.push(
        "replica.snapshot",
        session="s1",
        seq=0,
        url="http://brand.test/checkout.html",
        title="Checkout",
        viewport={"w": 1000, "h": 700, "dpr": 1},
        doc=doc or PAGE_DOC,
    )
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-status", "active")


def replica(page: Page) -> Any:
    return page.frame_locator("[data-testid=replica-frame]")


def test_sign_in_shows_relay_errors_then_connects(
    page: Page, site: FakeSite, relay: FakeRelay
) -> None:
    page.goto(f"{ORIGIN}/agent")
    expect(page.get_by_test_id("login-name")).to_be_visible()
    page.get_by_test_id("login-name").fill("alice")
    page.get_by_test_id("login-password").fill("wrong")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Wrong name or password")
    site.login_answers.append(
        (429, {"error": {"code": "rate_limited", "message": "Too many attempts: wait 30 s"}})
    )
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Too many attempts: wait 30 s")
    assert relay.sockets == []
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("conversation-list")).to_be_visible()
    relay.wait_socket()
    relay.push("hello", agent=AGENT)
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    expect(page.get_by_test_id("agent-name")).to_have_text("Alice Agent")
    last = site.login_requests[-1]
    assert last["body"] == {"name": "alice", "password": PASSWORD}
    assert last["headers"]["content-type"] == "application/json"

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    assert site.logouts == 1
    page.wait_for_timeout(800)
    assert len(relay.sockets) == 1  # no reconnect after signing out


def test_conversations_history_chat_and_unread(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    relay.push("conversation.list", conversations=CONVERSATIONS)
    items = page.get_by_test_id("conversation-item")
    expect(items).to_have_count(2)
    lyon = page.locator('[data-testid=conversation-item][data-conversation="c2"]')
    expect(lyon.get_by_test_id("unread")).to_have_text("2")
    lyon.click()
    relay.wait_for("conversation.open", lambda m: m["conversation"] == "c2")
    expect(lyon.get_by_test_id("unread")).to_have_count(0)
    relay.push(
        "chat.history",
        conversation="c2",
        messages=[
            {
                "conversation": "c2",
                "sender": "visitor",
                "name": "Visitor",
                "text": "Hi!",
                "at": 1_700_000_000_000,
            },
            {
                "conversation": "c2",
                "sender": "agent",
                "name": "Alice",
                "text": "<b>Hello</b>",
                "at": 1_700_000_001_000,
            },
        ],
    )
    log = page.get_by_test_id("chat-message")
    expect(log).to_have_count(2)
    expect(log.nth(1)).to_have_attribute("data-sender", "agent")
    expect(log.nth(1)).to_contain_text("<b>Hello</b>")  # text, never markup

    page.get_by_test_id("chat-input").fill("Can I help with the booking?")
    page.get_by_test_id("chat-send").click()
    sent = relay.wait_for("chat.send")
    assert sent == {
        "v": 1,
        "type": "chat.send",
        "conversation": "c2",
        "text": "Can I help with the booking?",
    }
    expect(page.get_by_test_id("chat-input")).to_have_value("")
    relay.push(
        "chat.message",
        conversation="c2",
        sender="visitor",
        name="Visitor",
        text="Yes please",
        at=1_700_000_002_000,
    )
    expect(log).to_have_count(3)
    expect(log.nth(2)).to_have_attribute("data-sender", "visitor")
    # A message in another conversation marks it unread.
    relay.push(
        "chat.message",
        conversation="c1",
        sender="visitor",
        name="Visitor",
        text="Hello?",
        at=1_700_000_003_000,
    )
    oslo = page.locator('[data-testid=conversation-item][data-conversation="c1"]')
    expect(oslo.get_by_test_id("unread")).to_have_text("1")
    expect(log).to_have_count(3)
    check_sent_frames(relay)


def test_invite_menu_status_cancel_and_errors(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    expect(page.get_by_test_id("cobrowse-button")).to_be_disabled()
    open_conversation(page, relay)
    page.get_by_test_id("cobrowse-button").click()
    expect(page.get_by_test_id("cobrowse-mode-view_only")).to_contain_text("View only")
    page.get_by_test_id("cobrowse-mode-shared").click()
    assert relay.wait_for("invite.send") == {
        "v": 1,
        "type": "invite.send",
        "conversation": "c1",
        "mode": "shared",
    }
    relay.push("invite.state", invite="i1", conversation="c1", mode="shared", state="pending")
    status = page.get_by_test_id("invite-status")
    expect(status).to_have_attribute("data-state", "pending")
    # One pending invite: the menu says so at once; the relay's refusal is the final word.
    page.get_by_test_id("cobrowse-button").click()
    expect(page.get_by_test_id("cobrowse-busy")).to_contain_text("pending invite")
    page.keyboard.press("Escape")
    page.get_by_test_id("invite-cancel").click()
    assert relay.wait_for("invite.cancel") == {"v": 1, "type": "invite.cancel", "invite": "i1"}
    relay.push("invite.state", invite="i1", conversation="c1", mode="shared", state="cancelled")
    expect(status).to_have_attribute("data-state", "cancelled")
    expect(page.get_by_test_id("invite-cancel")).to_be_hidden()
    for state in ("declined", "expired"):
        relay.push("invite.state", invite="i2", conversation="c1", mode="view_only", state=state)
        expect(status).to_have_attribute("data-state", state)
    expect(page.get_by_test_id("cobrowse-button")).to_be_enabled()
    relay.push(
        "error",
        code="conflict",
        message="This agent already has a pending invite",
        fault="client",
        ref="invite.send",
    )
    expect(page.get_by_test_id("workspace-error")).to_contain_text("already has a pending invite")
    check_sent_frames(relay)


def test_shared_session_replica_pointers_and_actions(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    page.set_viewport_size({"width": 1400, "height": 900})
    open_conversation(page, relay)
    relay.push(
        "session.started", session="s1", conversation="c1", mode="shared", agent=AGENT["name"]
    )
    status = page.get_by_test_id("session-status")
    expect(status).to_have_attribute("data-status", "waiting")
    frame = page.get_by_test_id("replica-frame")
    expect(frame).to_have_attribute("sandbox", "allow-same-origin")
    relay.push(
        "replica.snapshot",
        session="s1",
        seq=0,
        url="http://brand.test/checkout.html",
        title="Checkout",
        viewport={"w": 1000, "h": 700, "dpr": 1},
        doc=PAGE_DOC,
    )
    expect(status).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("session-mode")).to_have_text("Shared")
    expect(replica(page).locator("#title")).to_have_text("Checkout")
    expect(page.get_by_test_id("address-bar")).to_have_value("http://brand.test/checkout.html")
    # The visitor's 1000x700 viewport is scaled down to fit the widget.
    box = frame.evaluate("f => [f.offsetWidth, f.offsetHeight, f.getBoundingClientRect().width]")
    assert box[0] == 1000 and box[1] == 700 and box[2] < 1000
    assert replica(page).locator("#card").get_attribute("autocomplete") == "off"

    # Visitor pointer over #go (id 20) at its centre, click circle, scroll.
    relay.push("pointer", session="s1", id=20, x=0.5, y=0.5)
    pointer = page.get_by_test_id("visitor-pointer")
    expect(pointer).to_be_visible()
    expect(pointer).to_contain_text("Visitor")
    go = replica(page).locator("#go").bounding_box()
    tip = pointer.bounding_box()
    assert go and tip
    assert abs(tip["x"] - (go["x"] + go["width"] / 2)) < 3
    assert abs(tip["y"] - (go["y"] + go["height"] / 2)) < 3
    relay.push("click", session="s1", id=20, x=0.5, y=0.5)
    expect(page.get_by_test_id("click-circle")).to_have_count(1)
    relay.push("scroll", session="s1", id=1, x=0, y=300)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=replica-frame]').contentWindow.scrollY === 300"
    )
    page.wait_for_timeout(100)
    assert relay.of_type("scroll") == []  # the visitor's scroll is not echoed back
    relay.push("scroll", session="s1", id=1, x=0, y=0)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=replica-frame]').contentWindow.scrollY === 0"
    )

    # The agent's pointer names the element under the mouse, in fractions of its box.
    name = replica(page).locator("#name")
    shown = name.bounding_box()  # in the workspace's pixels, i.e. scaled
    assert shown
    name.hover(position={"x": shown["width"] / 4, "y": shown["height"] / 2})
    move = relay.wait_for("pointer", lambda m: m["id"] == 10)
    assert set(move) == {"v", "type", "session", "id", "x", "y"} and move["session"] == "s1"
    # MouseEvent coordinates are whole CSS pixels of the replica: ~1/30 of this 30 px box.
    assert abs(move["x"] - 0.25) < 0.03 and abs(move["y"] - 0.5) < 0.08

    # Click: a circle highlight plus act.click (shared). Link clicks do not navigate the replica.
    replica(page).locator("#home").click()
    assert relay.wait_for("highlight", lambda m: m["id"] == 18)["kind"] == "circle"
    relay.wait_for("act.click", lambda m: m["id"] == 18)
    expect(replica(page).locator("#title")).to_have_text("Checkout")
    # Ctrl+click wiggles and does not click.
    replica(page).locator("#title").click(modifiers=["Control"])
    relay.wait_for("highlight", lambda m: m["id"] == 8 and m["kind"] == "wiggle")
    assert not [m for m in relay.of_type("act.click") if m["id"] == 8]

    # Typing and toggling send act.input.
    name.fill("Grace")
    relay.wait_for("act.input", lambda m: m.get("value") == "Grace" and m["id"] == 10)
    replica(page).locator("#terms").click()
    relay.wait_for("act.click", lambda m: m["id"] == 11)
    relay.wait_for("act.input", lambda m: m["id"] == 11 and m.get("checked") is True)
    replica(page).locator("#room").select_option("suite")
    relay.wait_for("act.input", lambda m: m["id"] == 13 and m.get("value") == "suite")
    # A masked field stays read-only and sends nothing.
    card = replica(page).locator("#card")
    expect(card).to_have_value(MASK)
    assert card.evaluate("el => el.readOnly")
    assert not [m for m in relay.of_type("act.input") if m["id"] == 12]

    # The agent scrolls the replica: a scroll message for the document.
    page.get_by_test_id("replica-frame").evaluate("f => f.contentWindow.scrollTo(0, 120)")
    relay.wait_for("scroll", lambda m: m["id"] == 1 and m["y"] == 120)

    # Mutations from the visitor show up; the pointer follows its element.
    relay.push(
        "replica.mutations",
        session="s1",
        seq=1,
        removes=[],
        texts=[[9, "Pay now"]],
        adds=[],
        attrs=[[10, ":value", "Grace Hopper"]],
    )
    expect(replica(page).locator("#title")).to_have_text("Pay now")
    expect(replica(page).locator("#name")).to_have_value("Grace Hopper")

    # Address bar: same-origin navigation only.
    bar = page.get_by_test_id("address-bar")
    bar.fill("https://evil.test/")
    page.get_by_test_id("navigate").click()
    expect(page.get_by_test_id("workspace-error")).to_contain_text("visitor's site")
    bar.fill("/index.html")
    page.get_by_test_id("navigate").click()
    assert relay.wait_for("act.navigate")["url"] == "http://brand.test/index.html"
    assert len(relay.of_type("act.navigate")) == 1

    # End.
    page.get_by_test_id("session-end").click()
    assert relay.wait_for("session.end") == {"v": 1, "type": "session.end", "session": "s1"}
    relay.push("session.ended", session="s1", by="agent", reason="ended by the agent")
    expect(status).to_have_attribute("data-status", "ended")
    expect(page.get_by_test_id("session-reason")).to_contain_text("ended by the agent")
    expect(page.get_by_test_id("replica-frame")).to_have_count(0, timeout=4000)
    expect(page.get_by_test_id("cobrowse-button")).to_be_enabled()
    check_sent_frames(relay)


def test_view_only_clicks_and_typing_change_nothing(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    start_session(page, relay, "view_only")
    expect(page.get_by_test_id("session-mode")).to_have_text("View only")
    expect(page.get_by_test_id("navigate")).to_be_hidden()
    assert page.get_by_test_id("address-bar").evaluate("el => el.readOnly")
    terms = replica(page).locator("#terms")
    terms.click()
    relay.wait_for("highlight", lambda m: m["id"] == 11 and m["kind"] == "circle")
    expect(terms).not_to_be_checked()
    name = replica(page).locator("#name")
    name.click()
    page.keyboard.type("xyz")
    expect(name).to_have_value("Ada")
    replica(page).locator("#room").focus()
    page.keyboard.press("ArrowDown")
    expect(replica(page).locator("#room")).to_have_value("double")
    replica(page).locator("#home").click()
    page.wait_for_timeout(200)
    expect(replica(page).locator("#title")).to_have_text("Checkout")
    assert [m["type"] for m in relay.sent if m["type"].startswith("act.")] == []
    # Pointer and highlights still flow in view_only.
    replica(page).locator("#title").hover()
    relay.wait_for("pointer", lambda m: m["id"] == 8)
    check_sent_frames(relay)


def test_visitor_highlights_viewport_and_fullscreen(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    start_session(page, relay, "view_only")
    frame = page.get_by_test_id("replica-frame")
    before = frame.bounding_box()
    relay.push("viewport", session="s1", w=400, h=700, dpr=2)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=replica-frame]').offsetWidth === 400"
    )
    after = frame.bounding_box()
    assert before and after and after["width"] < before["width"]
    relay.push("highlight", session="s1", id=8, kind="outline", x=0.5, y=0.5)
    expect(page.get_by_test_id("visitor-outline")).to_have_count(1)
    # A new page load is a new id space: the old pointer must not land on an unrelated node.
    relay.push("pointer", session="s1", id=20, x=0.5, y=0.5)
    expect(page.get_by_test_id("visitor-pointer")).to_be_visible()
    relay.push(
        "replica.snapshot",
        session="s1",
        seq=9,
        url="http://brand.test/index.html",
        title="Home",
        viewport={"w": 400, "h": 700, "dpr": 2},
        doc=PAGE_DOC,
    )
    expect(page.get_by_test_id("visitor-pointer")).to_be_hidden()
    page.get_by_test_id("fullscreen").click()
    page.wait_for_function(
        "() => document.fullscreenElement"
        " === document.querySelector('[data-testid=cobrowse-widget]')"
    )
    expect(page.get_by_test_id("fullscreen")).to_have_text("Exit fullscreen")
    page.get_by_test_id("fullscreen").click()
    page.wait_for_function("() => document.fullscreenElement === null")


def test_reconnects_with_backoff_and_reopens_the_conversation(
    page: Page, workspace: FakeRelay
) -> None:
    relay = workspace
    start_session(page, relay, "shared")
    opened = len(relay.of_type("conversation.open"))
    relay.ws.close(code=1011, reason="relay restart")
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-status", "reconnecting")
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "closed")
    relay.wait_socket(2)
    relay.push("hello", agent=AGENT)
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    relay.wait_for("conversation.open")
    assert len(relay.of_type("conversation.open")) == opened + 1
    relay.push(
        "session.started", session="s1", conversation="c1", mode="shared", agent=AGENT["name"]
    )
    expect(page.get_by_test_id("session-status")).to_have_attribute("data-status", "active")
    expect(replica(page).locator("#title")).to_have_text("Checkout")  # kept across reconnect


def test_relay_messages_are_never_html(page: Page, workspace: FakeRelay) -> None:
    relay = workspace
    evil = '<img src=x onerror="window.pwned=1">'
    relay.push(
        "conversation.list",
        conversations=[
            {"id": "c9", "brand": evil, "title": evil, "unread": 1, "state": "open", "last_at": 1}
        ],
    )
    page.locator('[data-testid=conversation-item][data-conversation="c9"]').click()
    relay.push("chat.message", conversation="c9", sender="visitor", name=evil, text=evil, at=2)
    relay.push("error", code="invalid", message=evil, fault="client")
    expect(page.get_by_test_id("workspace-error")).to_contain_text(evil)
    expect(page.get_by_test_id("chat-message")).to_contain_text(evil)
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert json.loads(json.dumps(relay.sent))  # sent frames are plain JSON


# A page whose checkout form lives in a same-origin frame (the renderer's placeholder with the
# frame's document nested in it).
# fmt: off
FRAME_PAGE_DOC: Any = compact([1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {}, [
        [4, "head", {}, [[5, "style", {}, [[6, "#text",
            "body{margin:0;font:16px sans-serif} h1{margin:0;height:60px} #spacer{height:2000px}"
            " #pay{margin-left:40px}"]]]]],
        [7, "body", {}, [
            [8, "h1", {"id": "title"}, [[9, "#text", "Checkout"]]],
            [10, "div", {"id": "pay", "data-cobrowse-placeholder": "iframe",
                         "style": "display:inline-block;width:400px;height:300px"}, [
                [11, "#document", [
                    [12, "html", {}, [
                        [13, "head", {}, [[14, "style", {}, [[15, "#text",
                            "body{margin:0;font:16px sans-serif}"
                            " p{margin:10px 0 0 20px;width:150px;height:20px}"
                            " input,button{display:block;margin:10px;width:200px;height:30px}"
                            " #tall{height:1000px}"]]]]],
                        [16, "body", {}, [
                            [17, "p", {"id": "inner"}, [[18, "#text", "Inside the frame"]]],
                            [19, "input", {"id": "email", "type": "email", ":value": "a@b.c"}, []],
                            [20, "button", {"id": "buy"}, [[21, "#text", "Buy"]]],
                            [22, "input", {"id": "cvc", ":masked": "selector", ":value": MASK},
                             []],
                            [23, "div", {"id": "tall"}, []],
                        ]],
                    ]],
                ]],
            ]],
            [30, "div", {"id": "spacer"}, []],
        ]],
    ]],
]])
# The same placeholder after the frame navigated: a new id, a new document.
NAVIGATED_FRAME: list[Any] = [40, "div", {
    "id": "pay", "data-cobrowse-placeholder": "iframe",
    "style": "display:inline-block;width:400px;height:300px"}, [
    [41, "#document", [[42, "html", {}, [[43, "body", {}, [[44, "input", {"id": "code"}, []]]]]]]],
]]
# fmt: on


def nested(page: Page) -> Any:
    return replica(page).frame_locator("#pay iframe")


def test_nested_frame_pointers_highlights_and_shared_actions(
    page: Page, workspace: FakeRelay
) -> None:
    relay = workspace
    page.set_viewport_size({"width": 1400, "height": 900})
    start_session(page, relay, "shared", FRAME_PAGE_DOC)
    inner = nested(page).locator("#inner")
    expect(inner).to_have_text("Inside the frame")
    assert replica(page).locator("#pay iframe").get_attribute("sandbox") == "allow-same-origin"

    # The visitor's pointer on a node inside the frame lands on it: the node's box is offset
    # by the frame's place in the (scrolled, scaled) replica.
    relay.push("scroll", session="s1", id=1, x=0, y=25)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=replica-frame]').contentWindow.scrollY === 25"
    )
    relay.push("pointer", session="s1", id=17, x=0.5, y=0.5)
    pointer = page.get_by_test_id("visitor-pointer")
    expect(pointer).to_be_visible()
    expect(pointer).to_have_attribute("data-node", "17")
    box = inner.bounding_box()
    tip = pointer.bounding_box()
    assert box and tip
    assert abs(tip["x"] - (box["x"] + box["width"] / 2)) < 3
    assert abs(tip["y"] - (box["y"] + box["height"] / 2)) < 3
    relay.push("highlight", session="s1", id=20, kind="outline", x=0.5, y=0.5)
    outline = page.get_by_test_id("visitor-outline").bounding_box()
    buy = nested(page).locator("#buy").bounding_box()
    assert outline and buy
    assert abs(outline["x"] - buy["x"]) < 2 and abs(outline["y"] - buy["y"]) < 2
    assert abs(outline["width"] - buy["width"]) < 2

    # The agent's pointer, clicks and typing inside the frame name the frame's nodes.
    inner.hover()
    move = relay.wait_for("pointer", lambda m: m["id"] == 17)
    assert abs(move["x"] - 0.5) < 0.05 and abs(move["y"] - 0.5) < 0.1
    nested(page).locator("#buy").click()
    assert relay.wait_for("highlight", lambda m: m["id"] == 20)["kind"] == "circle"
    relay.wait_for("act.click", lambda m: m["id"] == 20)
    nested(page).locator("#email").fill("grace@b.c")
    relay.wait_for("act.input", lambda m: m["id"] == 19 and m.get("value") == "grace@b.c")
    # A masked field inside the frame stays read-only and sends nothing.
    cvc = nested(page).locator("#cvc")
    cvc.click()
    page.keyboard.type("123")
    expect(cvc).to_have_value(MASK)
    assert not [m for m in relay.of_type("act.input") if m["id"] == 22]

    # Scrolling inside the frame names the frame's document; the visitor's scroll lands there.
    frame_window = "document.querySelector('[data-testid=replica-frame]').contentDocument"
    frame_window += ".querySelector('#pay iframe').contentWindow"
    page.evaluate(f"() => {frame_window}.scrollTo(0, 40)")
    relay.wait_for("scroll", lambda m: m["id"] == 11 and m["y"] == 40)
    relay.push("scroll", session="s1", id=11, x=0, y=90)
    page.wait_for_function(f"() => {frame_window}.scrollY === 90")

    # The frame navigates (remove + re-add of its placeholder): the new document is live too.
    relay.push(
        "replica.mutations",
        session="s1",
        seq=1,
        removes=[10],
        adds=[add(7, 30, NAVIGATED_FRAME)],
        attrs=[],
        texts=[],
    )
    nested(page).locator("#code").fill("X1")
    relay.wait_for("act.input", lambda m: m["id"] == 44 and m.get("value") == "X1")
    check_sent_frames(relay)


def test_view_only_refuses_clicks_and_typing_inside_nested_frames(
    page: Page, workspace: FakeRelay
) -> None:
    relay = workspace
    start_session(page, relay, "view_only", FRAME_PAGE_DOC)
    email = nested(page).locator("#email")
    email.click()
    relay.wait_for("highlight", lambda m: m["id"] == 19 and m["kind"] == "circle")
    page.keyboard.type("xyz")
    expect(email).to_have_value("a@b.c")
    nested(page).locator("#buy").click()
    relay.wait_for("highlight", lambda m: m["id"] == 20)
    page.wait_for_timeout(200)
    assert [m["type"] for m in relay.sent if m["type"].startswith("act.")] == []
    check_sent_frames(relay)
