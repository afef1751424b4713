"""The visitor's focus ring and :hover through the whole product (issue 15, class 5): the tag
sends which element has focus (``:focus``, "visible" when the visitor's browser draws its
ring), the visitor's pointer names the element under it, and the agent's replica draws the
page's own :focus-visible, :focus-within and :hover styles for them, or the browser's default
ring where the page has none; each goes when focus moves or the pointer leaves."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, FrameLocator, Locator, expect

from cobrowse_qa.driver import Agent, Visitor, new_contexts, start_session

pytestmark = pytest.mark.browser

PAGE = Path(__file__).parent / "scenarios" / "pages" / "focus-hover.html"
FOCUS = "data-cobrowse-replica-focus"
# The workspace outlines the field the visitor enters for a moment (a `highlight` mark on its
# overlay): the ring must be the replica's own.
OVERLAY_HIDDEN = "#replica-overlay { display: none !important; }"


def _style(element: Locator, prop: str) -> str:
    value: str = element.evaluate("(el, p) => getComputedStyle(el).getPropertyValue(p)", prop)
    return value


def _red_pixels(png: bytes) -> int:
    with Image.open(io.BytesIO(png)) as shot:
        data = shot.convert("RGB").tobytes()
    return sum(
        1 for i in range(0, len(data), 3) if data[i] > 200 and data[i + 1] < 60 and data[i + 2] < 60
    )


def _shot(element: Locator) -> bytes:
    """The replica's pixels for `element`, without the workspace's marks drawn over them."""
    return element.screenshot(style=OVERLAY_HIDDEN, animations="disabled")


def _changed(before: bytes, after: bytes) -> int:
    """How many pixels differ between two screenshots of the same box, but for its edge (the
    scaled replica blends it with the box next to it, whose background :focus-within may
    change)."""
    with Image.open(io.BytesIO(before)) as a, Image.open(io.BytesIO(after)) as b:
        assert a.size == b.size
        inner = (2, 2, a.width - 2, a.height - 2)
        left, right = a.convert("RGB").crop(inner).tobytes(), b.convert("RGB").crop(inner).tobytes()
    return sum(1 for i in range(0, len(left), 3) if left[i : i + 3] != right[i : i + 3])


@pytest.mark.timeout(120)
def test_the_agent_sees_the_visitors_focus_ring_and_hover(browser: Browser, relay_url: str) -> None:
    visitor_context, agent_context = new_contexts(browser)
    visitor = Visitor(visitor_context, relay_url)
    agent = Agent(agent_context, relay_url)
    try:
        visitor.serve("/qa/focus-hover.html", PAGE)
        agent.sign_in()
        start_session(visitor, agent, "view_only", url="/qa/focus-hover.html")
        replica: FrameLocator = agent.replica
        styled = replica.locator("#styled")
        plain = replica.locator("#plain")
        go = replica.locator("#go")
        expect(go).to_be_visible()
        assert "rgb(255, 0, 0)" not in _style(styled, "box-shadow")
        assert _red_pixels(_shot(replica.locator("#styled-row"))) == 0
        plain_before = _shot(replica.locator("#plain-row"))

        # The page's own ring (a :focus-visible box-shadow) and its :focus-within row.
        visitor.page.focus("#styled")
        assert visitor.page.evaluate("document.querySelector('#styled').matches(':focus-visible')")
        expect(styled).to_have_attribute(FOCUS, "visible")
        expect(styled).to_have_css("box-shadow", re.compile(r"rgb\(255, 0, 0\)"))
        expect(replica.locator("#styled-row")).to_have_css("background-color", "rgb(230, 240, 255)")
        assert _style(plain, "outline-style") == "none"
        assert _red_pixels(_shot(replica.locator("#styled-row"))) > 100

        # Focus moves to a field with no focus style: the browser's default ring, drawn as
        # Chromium draws it for the visitor; the first field's ring and row colour go.
        visitor.page.focus("#plain")
        expect(plain).to_have_attribute(FOCUS, "visible")
        expect(plain).to_have_css("outline-style", "auto")
        expect(styled).not_to_have_attribute(FOCUS, "visible")
        expect(styled).to_have_css("box-shadow", "none")
        expect(replica.locator("#styled-row")).to_have_css("background-color", "rgb(255, 255, 255)")
        ringed = _shot(replica.locator("#plain-row"))
        assert _changed(plain_before, ringed) > 40  # the ring, drawn around the field
        assert _red_pixels(_shot(replica.locator("#styled-row"))) == 0

        # A masked field may have focus too: it says where the visitor is, not what they type.
        visitor.page.focus("#secret")
        expect(replica.locator("#secret")).to_have_attribute(FOCUS, "visible")
        expect(plain).to_have_css("outline-style", "none")
        assert _changed(plain_before, _shot(replica.locator("#plain-row"))) == 0

        # Nothing focused: no ring anywhere.
        visitor.page.evaluate("document.activeElement.blur()")
        expect(replica.locator("#secret")).not_to_have_attribute(FOCUS, "visible")
        assert replica.locator(f"[{FOCUS}]").count() == 0

        # The visitor's pointer on the button: the page's :hover background, and the part of
        # the list without :hover, and :not(:hover), read as the visitor's state too.
        assert _style(go, "background-color") == "rgb(200, 200, 200)"
        pseudo = "(el) => getComputedStyle(el, '::after').content"
        assert replica.locator("#go .state").evaluate(pseudo) == '" (not hovered)"'
        visitor.page.hover("#go")
        expect(go).to_have_css("background-color", "rgb(0, 128, 0)")
        assert replica.locator("#go .state").evaluate(pseudo) == "none"
        visitor.page.hover("#elsewhere")
        expect(go).to_have_css("background-color", "rgb(200, 200, 200)")
        assert replica.locator("#go .state").evaluate(pseudo) == '" (not hovered)"'
    finally:
        agent.end_what_is_open()
        visitor_context.close()
        agent_context.close()
