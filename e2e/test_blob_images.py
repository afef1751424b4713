"""Images the page made (``blob:`` object URLs, issue 15 class 2) through the whole product: the
tag draws them, the renderer re-encodes them, and the agent's replica shows their pixels; one
the tag cannot capture is an unseen area in the replica and in the workspace's summary."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from cobrowse_qa.driver import Agent, Visitor, new_contexts, start_session

pytestmark = pytest.mark.browser

PAGE = Path(__file__).parent / "scenarios" / "pages" / "blob-images.html"
DATA_IMAGE = re.compile(r"^data:image/png;base64,")


def _near(got: tuple[int, ...], want: tuple[int, int, int]) -> bool:
    return all(abs(g - w) <= 8 for g, w in zip(got[:3], want, strict=True))


def _halves(png: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    with Image.open(io.BytesIO(png)) as shot:
        rgb = shot.convert("RGB")
        w, h = rgb.size
        return rgb.getpixel((w // 4, h // 2)), rgb.getpixel((3 * w // 4, h // 2))  # type: ignore[return-value]


@pytest.mark.timeout(120)
def test_the_agent_sees_the_pixels_of_images_the_page_made(
    browser: Browser, relay_url: str
) -> None:
    visitor_context, agent_context = new_contexts(browser)
    visitor = Visitor(visitor_context, relay_url)
    agent = Agent(agent_context, relay_url)
    try:
        visitor.serve("/qa/blob-images.html", PAGE)
        agent.sign_in()
        start_session(visitor, agent, "view_only", url="/qa/blob-images.html")
        replica = agent.replica
        for selector, left, right in (
            ("#plain", (255, 0, 0), (0, 0, 255)),
            ("#chosen", (0, 255, 0), (255, 255, 0)),  # srcset: the candidate drawn, as src
        ):
            image = replica.locator(selector)
            expect(image).to_have_attribute("src", DATA_IMAGE)
            expect(image).to_have_js_property("complete", True)
            got = _halves(image.screenshot(animations="disabled"))
            assert _near(got[0], left) and _near(got[1], right), (selector, got)
        # Too big to capture: an unseen area, named in the workspace's summary.
        huge = replica.locator("#huge")
        expect(huge).to_have_attribute("data-cobrowse-replica-unseen", "blob")
        assert huge.get_attribute("src") is None
        summary = agent.page.get_by_test_id("unseen-summary")
        expect(summary).to_contain_text("1 \u00d7 page-made image not captured")
        # Masked: never drawn; the agent sees the mask.
        masked = replica.locator("#masked")
        expect(masked).to_have_attribute("data-cobrowse-replica-masked", "attribute")
        assert masked.get_attribute("src") is None
    finally:
        agent.end_what_is_open()
        visitor_context.close()
        agent_context.close()
