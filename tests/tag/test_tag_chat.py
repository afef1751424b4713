"""The tag's connection, chat and invite flow, in Chromium, with the test as the relay."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import EXPECTED_TREE_JS, FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser


def test_ui_lives_in_a_closed_shadow_root_and_works_under_strict_csp(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "index.html")
    info = page.evaluate("""() => {
        const hosts = document.querySelectorAll('cobrowse-ui');
        return {hosts: hosts.length, parent: hosts[0].parentNode === document.documentElement,
                shadowRoot: hosts[0].shadowRoot, mode: window.__cbShadow[0].mode,
                pierced: document.querySelectorAll('[data-testid]').length,
                globals: window.__cbNewGlobals(),
                launcherPosition: getComputedStyle(window.__cbShadow[0].root
                    .querySelector('[data-testid=cb-chat-open]')).position}
    }""")
    assert info == {
        "hosts": 1,
        "parent": True,
        "shadowRoot": None,
        "mode": "closed",
        "pierced": 1,  # only the page's own data-testid="cart" link
        "globals": ["__cobrowse"],
        "launcherPosition": "fixed",
    }
    assert not ui.visible("cb-chat-panel")
    # No socket until the visitor opens the chat.
    page.wait_for_timeout(200)
    assert relay.sockets == []
    ui.click("cb-chat-open")
    assert ui.visible("cb-chat-panel")
    relay.wait(lambda: relay.sockets)
    assert relay.urls == ["wss://relay.test/ws/visitor"]
    # The one violation is the fixture page's own inline <script>; none comes from the tag.
    assert page.evaluate("() => window.__cbCsp") == ["script-src-elem"]
    assert page.evaluate("() => window.__cbErrors") == []


def test_tag_loaded_twice_installs_once(page: Page, relay: FakeRelay) -> None:
    open_page(page, "index.html")
    page.evaluate("""() => new Promise((resolve) => {
        const s = document.createElement('script');
        s.src = 'https://relay.test/tag.js';
        s.onload = resolve;
        document.head.appendChild(s);
    })""")
    assert page.evaluate("() => document.querySelectorAll('cobrowse-ui').length") == 1


def test_chat_round_trip_and_token_resume(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('cobrowse'))")
    assert stored["token"] == "tok-1" and stored["next"] >= 1
    ui.type("cb-chat-input", "Where is my order?")
    page.keyboard.press("Enter")
    sent = relay.next_frame("chat.send")
    assert sent == {"v": 1, "type": "chat.send", "text": "Where is my order?"}
    relay.send(
        "chat.message",
        conversation="conv1",
        sender="visitor",
        name="You",
        text="Where is my order?",
        at=1,
    )
    relay.send(
        "chat.message",
        conversation="conv1",
        sender="agent",
        name="Ann",
        text="<b>Let me check</b>",
        at=2,
    )
    page.wait_for_timeout(100)
    msgs = ui.all("cb-msg")
    assert [m["sender"] for m in msgs] == ["visitor", "agent"]
    # Text from the wire is text, never markup.
    assert msgs[1]["text"] == "Ann<b>Let me check</b>"
    relay.send("error", code="rate_limited", message="Slow down", fault="client")
    relay.wait(lambda: ui.all("cb-chat-error"))
    assert ui.text("cb-chat-error") == "Slow down"
    # Malformed messages are ignored, and the tag keeps working.
    relay.sockets[-1].send("not json")
    relay.sockets[-1].send('{"v":1,"type":"chat.message","sender":"agent"}')
    relay.sockets[-1].send(
        '{"v":2,"type":"chat.message","conversation":"c","sender":"agent",'
        '"name":"x","text":"v2","at":3}'
    )
    page.wait_for_timeout(100)
    assert len(ui.all("cb-msg")) == 2

    # A reload resumes at once with the stored token; chat.history replaces the log.
    page.reload()
    relay.wait(lambda: len(relay.sockets) == 2)
    assert relay.urls[1] == "wss://relay.test/ws/visitor?token=tok-1"
    page.wait_for_function("() => window.__cbShadow.length === 1")
    relay.hello(resumed=True)
    relay.send(
        "chat.history",
        conversation="conv1",
        messages=[
            {"conversation": "conv1", "sender": "visitor", "name": "You", "text": "a", "at": 1},
            {"conversation": "conv1", "sender": "agent", "name": "Ann", "text": "b", "at": 2},
            {"bad": "entry"},
        ],
    )
    relay.wait(lambda: len(ui.all("cb-msg")) == 2)
    assert page.evaluate("() => window.__cbErrors") == []


def test_chat_typed_before_hello_is_sent_after_it(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    ui.click("cb-chat-open")
    ui.type("cb-chat-input", "hi")
    ui.click("cb-chat-send")
    relay.wait(lambda: relay.sockets)
    page.wait_for_timeout(100)
    assert relay.of_type("chat.send") == []
    relay.hello()
    assert relay.next_frame("chat.send")["text"] == "hi"


def test_after_the_agent_ends_the_conversation_the_next_message_starts_a_new_one(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    closed: list[int | None] = []
    relay.sockets[0].on_close(lambda code, reason: closed.append(code))
    relay.send(
        "chat.message",
        conversation="conv1",
        sender="system",
        name="",
        text="Ann ended the conversation.",
        at=1,
    )
    relay.send("conversation.closed", conversation="conv1")
    relay.wait(lambda: any(m["text"] == "The conversation has ended." for m in ui.all("cb-msg")))
    page.wait_for_timeout(100)
    assert len(relay.sockets) == 1  # nothing happens until the visitor writes again
    ui.type("cb-chat-input", "One more question")
    page.keyboard.press("Enter")
    # A new connection with the stored token; the text waits for its hello.
    relay.wait(lambda: len(relay.sockets) == 2 and closed)
    assert relay.urls[1] == "wss://relay.test/ws/visitor?token=tok-1"
    page.wait_for_timeout(100)
    assert relay.of_type("chat.send") == []
    relay.hello(token="tok-2", resumed=False)
    assert relay.next_frame("chat.send")["text"] == "One more question"
    stored = page.evaluate("() => JSON.parse(sessionStorage.getItem('cobrowse'))")
    assert stored["token"] == "tok-2"
    # The new conversation is open: the next message goes out on the same socket.
    ui.type("cb-chat-input", "Thanks")
    page.keyboard.press("Enter")
    relay.wait(lambda: len(relay.of_type("chat.send")) == 2)
    assert len(relay.sockets) == 2


def test_invite_offer_accept_decline_and_cancel(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    relay.send(
        "invite.offer", invite="inv1", agent="Ann", mode="shared", expires_at=9_999_999_999_999
    )
    relay.wait(lambda: ui.visible("cb-invite"))
    text = ui.text("cb-invite")
    assert "Ann" in text and "(shared)" in text
    ui.click("cb-invite-accept")
    assert relay.next_frame("invite.accept") == {"v": 1, "type": "invite.accept", "invite": "inv1"}
    assert not ui.visible("cb-invite")

    relay.send(
        "invite.offer", invite="inv2", agent="Ann", mode="view_only", expires_at=9_999_999_999_999
    )
    relay.wait(lambda: ui.visible("cb-invite"))
    assert "(view only)" in ui.text("cb-invite")
    ui.click("cb-invite-decline")
    assert relay.next_frame("invite.decline")["invite"] == "inv2"

    relay.send(
        "invite.offer", invite="inv3", agent="Ann", mode="view_only", expires_at=9_999_999_999_999
    )
    relay.wait(lambda: ui.visible("cb-invite"))
    relay.send(
        "invite.state", invite="inv3", conversation="conv1", mode="view_only", state="cancelled"
    )
    relay.wait(lambda: not ui.visible("cb-invite"))


def test_reconnects_with_token_and_sends_a_fresh_snapshot(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "index.html")
    start_chat(relay, ui)
    first = relay.start_session()
    assert ui.visible("cb-frame")
    relay.sockets[-1].close(code=1011, reason="relay restart")
    relay.wait(lambda: len(relay.sockets) == 2, timeout=5)
    assert relay.urls[1].endswith("?token=tok-1")
    assert ui.visible("cb-frame")  # the session is suspended, not over
    relay.hello(resumed=True, session="s1")
    second = relay.start_session()
    assert second["seq"] > first["seq"]
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    # A hello that names no active session means it ended while away: the tag ends it.
    relay.sockets[-1].close(code=1011, reason="again")
    relay.wait(lambda: len(relay.sockets) == 3, timeout=5)
    relay.hello(resumed=True)
    relay.wait(lambda: not ui.visible("cb-frame"), timeout=2)
