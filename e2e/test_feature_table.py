"""The reference product's feature table, row by row, in both modes, with each mode's refusals;
then invites (accept, decline, cancel, expiry), the one-invite and one-session rules, ending by
either side, and the transcript without the invitation text.

Two browser contexts (agent, visitor) against the real `cobrowse serve`, started once for this
module with a settings file of its own (two agents, short invite expiry), so these tests never
compete with other modules for the demo agent's one session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, expect

from e2e.conftest import run_relay
from e2e.shadow import ClosedShadow
from relay.passwords import hash_password

pytestmark = pytest.mark.browser

INVITE_TTL_SECONDS = 6
AGENTS = {"alex": ("Alex", "alex-password-1"), "sam": ("Sam", "sam-password-1")}
ACTIVE = re.compile("active", re.I)
ENDED = re.compile("ended", re.I)


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("feature-table")
    agents = "".join(
        f'\n[[agents]]\nid = "{login}"\nname = "{name}"\n'
        f'password_hash = "{hash_password(password)}"\nbrands = ["demo"]\n'
        for login, (name, password) in AGENTS.items()
    )
    config = folder / "cobrowse.toml"
    config.write_text(
        "[server]\n"
        f"invite_ttl_seconds = {INVITE_TTL_SECONDS}\n"
        "demo = true\n"
        'database = ":memory:"\n'
        '\n[[brands]]\nid = "demo"\nname = "Demo Travel"\nallowed_origins = ["self"]\n'
        'mask_selectors = [".cobrowse-demo-secret"]\n' + agents
    )
    with run_relay(folder, config) as url:
        yield url


class Visitor:
    """The visitor's tab; records the frames its page sends and receives."""

    def __init__(self, context: BrowserContext) -> None:
        self.page = context.new_page()
        self.sent: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.page.on("websocket", self._watch)
        self.ui = ClosedShadow(self.page)

    def _watch(self, socket: Any) -> None:
        socket.on("framesent", lambda payload: self.sent.append(str(payload)))
        socket.on("framereceived", self._received)

    def _received(self, payload: Any) -> None:
        try:
            self.received.append(json.loads(payload))
        except (TypeError, ValueError):
            pass

    def wait_received(self, kind: str, where: Any = None, timeout_ms: int = 8000) -> dict[str, Any]:
        waited = 0
        while True:
            for message in self.received:
                if message.get("type") == kind and (where is None or where(message)):
                    return message
            if waited >= timeout_ms:
                raise AssertionError(f"the visitor received no {kind}")
            self.page.wait_for_timeout(50)
            waited += 50

    def scroll_y(self) -> float:
        return float(self.page.evaluate("() => window.scrollY"))


@pytest.fixture
def people(browser: Browser, relay: str) -> Iterator[tuple[Page, Visitor]]:
    agent_context = browser.new_context(viewport={"width": 1400, "height": 900})
    visitor_context = browser.new_context(viewport={"width": 1000, "height": 600})
    agent = agent_context.new_page()
    sign_in(agent, relay, "alex")
    visitor = Visitor(visitor_context)
    visitor.page.goto(f"{relay}/demo/product.html")
    yield agent, visitor
    end_any_session(agent)
    agent_context.close()
    visitor_context.close()


def sign_in(page: Page, relay: str, login: str) -> None:
    page.goto(f"{relay}/agent")
    page.get_by_test_id("login-name").fill(login)
    page.get_by_test_id("login-password").fill(AGENTS[login][1])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")


def end_any_session(agent: Page) -> None:
    """Leave the agent free for the next test: end a live session, cancel a pending invite."""
    end = agent.get_by_test_id("session-end")
    if end.is_visible():
        end.click()
        expect(agent.get_by_test_id("session-status")).to_have_text(ENDED)
    cancel = agent.get_by_test_id("invite-cancel")
    if cancel.is_visible():
        cancel.click()
        expect(agent.get_by_test_id("invite-status")).to_have_attribute("data-state", "cancelled")


def start_chat(visitor: Visitor, agent: Page, text: str) -> None:
    visitor.ui.click("cb-chat-open")
    visitor.ui.type("cb-chat-input", text)
    visitor.ui.click("cb-chat-send")
    open_conversation(agent, text)


def open_conversation(agent: Page, text: str) -> None:
    item = agent.get_by_test_id("conversation-item").filter(has_text=text[:20])
    expect(item).to_have_count(1)
    item.click()
    expect(agent.get_by_test_id("chat-message").filter(has_text=text)).to_be_visible()


def send_invite(agent: Page, mode: str) -> None:
    agent.get_by_test_id("cobrowse-button").click()
    agent.get_by_test_id(f"cobrowse-mode-{mode}").click()


def start_session(visitor: Visitor, agent: Page, mode: str) -> FrameLocator:
    send_invite(agent, mode)
    visitor.ui.wait_text("cb-invite", "Alex")
    visitor.ui.click("cb-invite-accept")
    expect(agent.get_by_test_id("session-status")).to_have_text(ACTIVE, timeout=15_000)
    expect(agent.get_by_test_id("session-mode")).to_have_text(
        "Shared" if mode == "shared" else "View only"
    )
    replica = agent.frame_locator("[data-testid=replica-frame]")
    expect(replica.locator("#notes")).to_be_attached(timeout=15_000)
    return replica


def replica_scroll_y(agent: Page) -> float:
    return float(agent.get_by_test_id("replica-frame").evaluate("f => f.contentWindow.scrollY"))


def co_scrolling(agent: Page, visitor: Visitor) -> None:
    """Row 1: the visitor and the agent see the same part of the page, whoever scrolls."""
    visitor.page.evaluate("() => window.scrollTo(0, 300)")
    agent.wait_for_function(
        "() => Math.abs(document.querySelector('[data-testid=replica-frame]')"
        ".contentWindow.scrollY - 300) < 2"
    )
    agent.get_by_test_id("replica-frame").evaluate("f => f.contentWindow.scrollTo(0, 120)")
    visitor.page.wait_for_function("() => Math.abs(window.scrollY - 120) < 2")


def co_highlighting_on_page(agent: Page, visitor: Visitor, replica: FrameLocator) -> None:
    """Row 2: both pointers, labelled; clicks and highlights show on the other side."""
    for step in range(4):
        visitor.page.mouse.move(200 + step * 20, 250 + step * 10)
        visitor.page.wait_for_timeout(40)
    expect(agent.get_by_test_id("visitor-pointer")).to_be_visible()
    heading = replica.locator("#customise-title")
    box = heading.bounding_box()
    assert box is not None
    for step in range(4):
        agent.mouse.move(box["x"] + 10 + step * 5, box["y"] + box["height"] / 2)
        agent.wait_for_timeout(40)
    visitor.ui.wait_text("cb-agent-pointer", "Alex")
    # The agent clicks a heading: the yellow circle on the visitor's side.
    heading.click()
    visitor.ui.wait_visible("cb-click-circle", timeout=5)
    # The visitor clicks: the agent sees the click.
    visitor.page.locator("h1").click()
    expect(agent.get_by_test_id("click-circle").first).to_be_attached()


def co_highlighting_text(agent: Page, visitor: Visitor, replica: FrameLocator) -> None:
    """Row 3: text highlighted on one side shows on the other, both ways."""
    replica.locator("h1").evaluate(
        "h => h.ownerDocument.getSelection().setBaseAndExtent(h.firstChild, 0, h.firstChild, 5)"
    )
    selection = visitor.wait_received("selection", lambda m: m["ranges"] != [])
    (start, start_offset, end, end_offset) = selection["ranges"][0]
    assert start == end and (start_offset, end_offset) == (0, 5)
    visitor.ui.wait_visible("cb-selection")
    replica.locator("h1").evaluate("h => h.ownerDocument.getSelection().removeAllRanges()")
    visitor.wait_received("selection", lambda m: m["ranges"] == [])
    visitor.ui.wait_hidden("cb-selection")
    # The visitor highlights the first word of the heading; the agent sees it marked.
    visitor.page.locator("h1").evaluate(
        "h => getSelection().setBaseAndExtent(h.firstChild, 0, h.firstChild, 6)"
    )
    expect(agent.get_by_test_id("visitor-selection")).to_contain_text("\u201cFjords\u201d")
    expect(agent.get_by_test_id("visitor-selection-mark").first).to_be_visible()
    visitor.page.evaluate("() => getSelection().removeAllRanges()")
    expect(agent.get_by_test_id("visitor-selection")).to_be_hidden()


def test_view_only_allows_scrolling_and_highlighting_and_refuses_navigation_and_forms(
    people: tuple[Page, Visitor],
) -> None:
    agent, visitor = people
    start_chat(visitor, agent, "View only please, just show me")
    replica = start_session(visitor, agent, "view_only")

    co_scrolling(agent, visitor)
    co_highlighting_on_page(agent, visitor, replica)
    co_highlighting_text(agent, visitor, replica)

    # Row 4, co-navigation: refused. The address bar is read-only, links do not navigate.
    address = agent.get_by_test_id("address-bar")
    expect(address).to_have_attribute("readonly", "")
    expect(agent.get_by_test_id("navigate")).to_be_hidden()
    replica.locator("a[href$='checkout.html']").first.click()
    # Row 5, co-form filling: refused. The agent's typing reaches neither side.
    replica.locator("#notes").click()
    agent.keyboard.type("agent typing")
    replica.locator("#room").focus()
    agent.keyboard.press("ArrowDown")
    visitor.page.wait_for_timeout(600)
    assert visitor.page.url.endswith("/demo/product.html")
    expect(visitor.page.locator("#notes")).to_have_value("")
    expect(replica.locator("#notes")).to_have_value("")
    assert not [f for f in visitor.received if str(f.get("type", "")).startswith("act.")]

    # Switching to shared asks the visitor again; once accepted, the agent can fill forms.
    agent.get_by_test_id("session-upgrade").click()
    expect(agent.get_by_test_id("invite-status")).to_contain_text("shared control")
    visitor.ui.wait_text("cb-invite", "Alex")
    visitor.ui.click("cb-invite-accept")
    expect(agent.get_by_test_id("session-mode")).to_have_text("Shared")
    expect(agent.get_by_test_id("session-upgrade")).to_be_hidden()
    expect(replica.locator("#notes")).to_be_attached(timeout=15_000)
    replica.locator("#notes").fill("Now shared")
    expect(visitor.page.locator("#notes")).to_have_value("Now shared")

    # The agent ends the session.
    agent.get_by_test_id("session-end").click()
    expect(agent.get_by_test_id("session-status")).to_have_text(ENDED)
    visitor.ui.wait_hidden("cb-frame")


def test_shared_mode_has_every_row_and_keeps_masked_fields_out_of_reach(
    people: tuple[Page, Visitor], relay: str
) -> None:
    agent, visitor = people
    start_chat(visitor, agent, "Shared please, help me book")
    replica = start_session(visitor, agent, "shared")
    expect(agent.get_by_test_id("session-upgrade")).to_be_hidden()

    co_scrolling(agent, visitor)
    co_highlighting_on_page(agent, visitor, replica)
    co_highlighting_text(agent, visitor, replica)

    # Row 5, co-form filling, both ways: text, a choice, a checkbox.
    replica.locator("#notes").fill("Vegetarian meals")
    expect(visitor.page.locator("#notes")).to_have_value("Vegetarian meals")
    replica.locator("#room").select_option(index=1)
    expect(visitor.page.locator("#room")).to_have_value(
        replica.locator("#room").evaluate("s => s.value")
    )
    replica.locator("#opt-kayak").click()
    expect(visitor.page.locator("#opt-kayak")).to_be_checked()
    visitor.page.locator("#travellers").fill("4")
    expect(replica.locator("#travellers")).to_have_value("4")

    # Row 4, co-navigation through the address bar, limited to the visitor's site.
    address = agent.get_by_test_id("address-bar")
    address.fill("https://elsewhere.example/phish")
    agent.get_by_test_id("navigate").click()
    expect(agent.get_by_test_id("workspace-error")).to_contain_text("only navigate within")
    address.fill(f"{relay}/demo/checkout.html")
    agent.get_by_test_id("navigate").click()
    visitor.page.wait_for_url(re.compile(r"/demo/checkout\.html$"))
    card = replica.locator("#card")
    expect(card).to_be_attached(timeout=15_000)
    # A masked field is neither visible nor writable for the agent.
    visitor.page.locator("#card").fill("4111 1111 1111 1111")
    expect(card).not_to_have_value("4111 1111 1111 1111")
    assert card.evaluate("el => el.readOnly")
    replica.locator("#name").fill("Ada Lovelace")
    expect(visitor.page.locator("#name")).to_have_value("Ada Lovelace")

    # The visitor ends the session with the X on the frame.
    visitor.ui.click("cb-end")
    expect(agent.get_by_test_id("session-status")).to_have_text(ENDED)
    expect(agent.get_by_test_id("session-reason")).to_contain_text("the visitor")


def test_invites_are_declined_cancelled_and_expire_and_an_agent_has_one_of_each(
    people: tuple[Page, Visitor], browser: Browser, relay: str
) -> None:
    agent, visitor = people
    start_chat(visitor, agent, "First visitor here")
    status = agent.get_by_test_id("invite-status")

    # Decline.
    send_invite(agent, "view_only")
    visitor.ui.wait_text("cb-invite", "Alex")
    visitor.ui.click("cb-invite-decline")
    expect(status).to_have_attribute("data-state", "declined")

    # Cancel: the offer disappears on the visitor's side.
    send_invite(agent, "shared")
    visitor.ui.wait_visible("cb-invite")
    expect(agent.get_by_test_id("invite-expiry")).to_contain_text("expires in")
    agent.get_by_test_id("invite-cancel").click()
    expect(status).to_have_attribute("data-state", "cancelled")
    visitor.ui.wait_hidden("cb-invite")

    # One pending invite per agent: a second visitor cannot be invited meanwhile.
    send_invite(agent, "view_only")
    visitor.ui.wait_visible("cb-invite")
    second_context = browser.new_context(viewport={"width": 1000, "height": 600})
    try:
        second = Visitor(second_context)
        second.page.goto(f"{relay}/demo/index.html")
        start_chat(second, agent, "Second visitor waiting")
        agent.get_by_test_id("cobrowse-button").click()
        expect(agent.get_by_test_id("cobrowse-busy")).to_contain_text("pending invite")
        agent.get_by_test_id("cobrowse-mode-view_only").click()
        error = agent.get_by_test_id("workspace-error")
        expect(error).to_have_attribute("data-code", "conflict")
        expect(error).to_contain_text("already have a pending CoBrowse invite")

        # Expiry after invite_ttl_seconds: both sides see it.
        expect(status).to_have_attribute(
            "data-state", "expired", timeout=(INVITE_TTL_SECONDS + 4) * 1000
        )
        visitor.ui.wait_hidden("cb-invite")

        # One active session per agent.
        open_conversation(agent, "First visitor here")
        start_session(visitor, agent, "view_only")
        open_conversation(agent, "Second visitor waiting")
        send_invite(agent, "shared")
        expect(error).to_contain_text("already have an active CoBrowse session")
        second.page.wait_for_timeout(300)
        assert not second.ui.visible("cb-invite")
    finally:
        second_context.close()
    agent.get_by_test_id("session-end").click()
    expect(agent.get_by_test_id("session-status")).to_have_text(ENDED)


def test_the_agent_ends_the_conversation_and_the_transcript_has_no_invitation(
    people: tuple[Page, Visitor], relay: str
) -> None:
    agent, visitor = people
    start_chat(visitor, agent, "Please keep a record of this")
    agent.get_by_test_id("chat-input").fill("Here is your record")
    agent.get_by_test_id("chat-send").click()
    visitor.ui.wait_text("cb-msg", "Here is your record")
    start_session(visitor, agent, "view_only")
    invitation = visitor.ui.texts("cb-invite-text")
    agent.get_by_test_id("conversation-close").click()
    expect(agent.get_by_test_id("session-status")).to_have_text(ENDED)
    visitor.ui.wait_text("cb-msg", "Alex ended the conversation.")
    visitor.ui.wait_hidden("cb-frame")
    expect(agent.get_by_test_id("chat-input")).to_be_disabled()

    agent.get_by_test_id("transcript-open").click()
    lines = agent.get_by_test_id("transcript-message")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("Please keep a record of this")
    expect(lines.nth(2)).to_contain_text("ended the conversation")
    href = agent.get_by_test_id("transcript-export").get_attribute("href")
    assert href is not None
    exported = agent.request.get(f"{relay}{href}")
    assert exported.ok and "attachment" in exported.headers["content-disposition"]
    text = exported.text()
    assert "Here is your record" in text
    for absent in ("would like to see", "CoBrowse", "invite", *[t for t in invitation if t]):
        assert absent not in text
        assert absent not in agent.get_by_test_id("transcript-log").inner_text()
