"""The walking skeleton end to end: a visitor and an agent, two browser contexts, the real UI.

Chat, invite, accept, the replica in the agent's sandboxed frame, both pointers, the frame
around the visitor's page, shared-mode typing, navigation keeping the session, masking on the
wire, and ending from either side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.shadow import ClosedShadow
from relay.settings import DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD

pytestmark = pytest.mark.browser

CANARY = "CANARY-4242-SECRET"


class Visitor:
    """The visitor's tab, with every frame its page sends over WebSockets recorded."""

    def __init__(self, context: BrowserContext) -> None:
        self.page = context.new_page()
        self.sent: list[str] = []
        self.page.on("websocket", self._watch)
        self.ui = ClosedShadow(self.page)

    def _watch(self, socket: Any) -> None:
        socket.on("framesent", lambda payload: self.sent.append(str(payload)))


@pytest.fixture
def contexts(browser: Browser) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    agent = browser.new_context(viewport={"width": 1400, "height": 900})
    visitor = browser.new_context(viewport={"width": 1100, "height": 800})
    yield agent, visitor
    agent.close()
    visitor.close()


def sign_in(page: Page, relay_url: str) -> None:
    page.goto(f"{relay_url}/agent")
    page.get_by_test_id("login-name").fill(DEMO_AGENT_LOGIN)
    page.get_by_test_id("login-password").fill(DEMO_AGENT_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("conversation-list")).to_be_visible()


def start_chat(visitor: Visitor, agent: Page, text: str) -> None:
    visitor.ui.click("cb-chat-open")
    visitor.ui.type("cb-chat-input", text)
    visitor.ui.click("cb-chat-send")
    item = agent.get_by_test_id("conversation-item").filter(has_text=text[:20])
    expect(item).to_have_count(1)
    item.click()
    expect(agent.get_by_test_id("chat-message").filter(has_text=text)).to_be_visible()


def invite(visitor: Visitor, agent: Page, mode: str) -> None:
    agent.get_by_test_id("cobrowse-button").click()
    agent.get_by_test_id(f"cobrowse-mode-{mode}").click()
    visitor.ui.wait_text("cb-invite", "Alex")
    visitor.ui.click("cb-invite-accept")
    expect(agent.get_by_test_id("session-status")).to_have_text(re.compile("active", re.I))


def test_a_visitor_and_an_agent_cobrowse_the_demo_site(
    contexts: tuple[BrowserContext, BrowserContext], relay_url: str
) -> None:
    agent_context, visitor_context = contexts
    agent = agent_context.new_page()
    sign_in(agent, relay_url)
    visitor = Visitor(visitor_context)
    visitor.page.goto(f"{relay_url}/demo/product.html")

    # Chat both ways.
    start_chat(visitor, agent, "Hi, can you help me customise my trip?")
    agent.get_by_test_id("chat-input").fill("Of course! Let me show you.")
    agent.get_by_test_id("chat-send").click()
    visitor.ui.wait_text("cb-msg", "Of course! Let me show you.")

    # Invite in shared mode; the visitor accepts; the replica appears, sandboxed.
    invite(visitor, agent, "shared")
    frame = agent.get_by_test_id("replica-frame")
    sandbox = frame.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox
    replica = agent.frame_locator("[data-testid=replica-frame]")
    expect(replica.locator("#travellers")).to_be_attached(timeout=15_000)
    expect(replica.locator("script")).to_have_count(0)
    visitor.ui.wait_visible("cb-frame")

    # The visitor's pointer shows to the agent, the agent's labelled pointer to the visitor.
    for step in range(5):
        visitor.page.mouse.move(300 + step * 20, 300 + step * 10)
        visitor.page.wait_for_timeout(50)
    expect(agent.get_by_test_id("visitor-pointer")).to_be_visible()
    box = frame.bounding_box()
    assert box is not None
    for step in range(5):
        agent.mouse.move(box["x"] + 120 + step * 15, box["y"] + 140 + step * 10)
        agent.wait_for_timeout(50)
    visitor.ui.wait_visible("cb-agent-pointer")
    visitor.ui.wait_text("cb-agent-pointer", "Alex")

    # Shared mode: the agent types into the replica and the visitor's field fills.
    replica.locator("#notes").fill("Window seat please")
    expect(visitor.page.locator("#notes")).to_have_value("Window seat please")

    # The visitor's own typing reaches the replica.
    visitor.page.locator("#travellers").fill("3")
    expect(replica.locator("#travellers")).to_have_value("3")

    # Navigation to another tagged page keeps the session; masked fields never leave.
    visitor.page.goto(f"{relay_url}/demo/checkout.html")
    expect(replica.locator("#card")).to_be_attached(timeout=15_000)
    visitor.page.locator("#name").fill("Ada Lovelace")
    visitor.page.locator("#card").fill(CANARY)
    visitor.page.locator("#password").fill(CANARY)
    expect(replica.locator("#name")).to_have_value("Ada Lovelace")
    expect(replica.locator("#card")).not_to_have_value(CANARY)
    expect(replica.locator("#password")).not_to_have_value(CANARY)
    visitor.page.wait_for_timeout(300)  # let any batched frame go out before we look
    assert visitor.sent, "the visitor's page sent no WebSocket frames"
    assert not [f for f in visitor.sent if CANARY in f], "a masked value left the visitor's browser"

    # The visitor ends the session with the X on the frame.
    visitor.ui.click("cb-end")
    expect(agent.get_by_test_id("session-status")).to_have_text(re.compile("ended", re.I))
    visitor.ui.wait_hidden("cb-frame")


def test_view_only_mode_refuses_agent_typing_and_the_agent_can_end(
    contexts: tuple[BrowserContext, BrowserContext], relay_url: str
) -> None:
    agent_context, visitor_context = contexts
    agent = agent_context.new_page()
    sign_in(agent, relay_url)
    visitor = Visitor(visitor_context)
    visitor.page.goto(f"{relay_url}/demo/product.html")
    start_chat(visitor, agent, "Just looking, view only please")
    invite(visitor, agent, "view_only")
    replica = agent.frame_locator("[data-testid=replica-frame]")
    expect(replica.locator("#notes")).to_be_attached(timeout=15_000)

    replica.locator("#notes").click()
    agent.keyboard.type("agent was here")
    visitor.page.wait_for_timeout(500)
    expect(visitor.page.locator("#notes")).to_have_value("")

    agent.get_by_test_id("session-end").click()
    expect(agent.get_by_test_id("session-status")).to_have_text(re.compile("ended", re.I))
    visitor.ui.wait_hidden("cb-frame")
