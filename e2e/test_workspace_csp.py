"""The workspace's Content-Security-Policy covers the replica frame: hostile image, CSS and
font URLs in a visitor's page never make the agent's browser call another host, and replica
form fields never get the agent's autofill.

The renderer already removes such URLs; here the replica is built straight from a hand-written
message in the real workspace page (real CSP header from `cobrowse serve`), so this proves the
second layer on its own.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import Recorder
from wire.nodes import compact

pytestmark = pytest.mark.browser


def test_the_replica_never_requests_urls_of_other_origins(
    browser: Browser, relay_url: str, hostile: Recorder
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        # Negative control: without the workspace's CSP the recorder does see a request.
        page.set_content(f'<img src="{hostile.url}/control.png">')
        page.wait_for_function("() => document.images[0].complete")
        assert hostile.hits == ["/control.png"]
        hostile.hits.clear()

        response = page.goto(f"{relay_url}/agent")
        assert response is not None and "img-src" in response.headers["content-security-policy"]
        style = (
            f"@font-face{{font-family:h;src:url({hostile.url}/font.woff2)}}"
            f"body{{font-family:h;background:url({hostile.url}/bg.png)}}"
            f"@import url({hostile.url}/import.css);"
        )
        sheet = f"{hostile.url}/x.css"
        doc = compact([1, "#document", [[2, "html", {}, [
            [3, "head", {}, [[4, "style", {}, [[5, "#text", style]]],
                             [6, "link", {"rel": "stylesheet", "href": sheet}, []]]],
            [7, "body", {}, [
                [8, "img", {"id": "img", "src": f"{hostile.url}/pixel.png"}, []],
                [9, "div", {"style": f"background-image:url({hostile.url}/div.png)"},
                 [[10, "#text", "text"]]],
                [11, "input", {"id": "email", "type": "email", "name": "email",
                               "autocomplete": "email"}, []],
            ]],
        ]]]])  # fmt: skip
        page.evaluate(
            """doc => {
                const frame = CobrowseReplica.createFrame(document.body, "test");
                frame.id = "probe";
                new CobrowseReplica.Replica(frame).applySnapshot({doc: doc});
            }""",
            doc,
        )
        replica = page.frame_locator("#probe")
        expect(replica.locator("#img")).to_have_attribute("data-cobrowse-replica-unseen", "image")
        expect(replica.locator("#email")).to_have_attribute("autocomplete", "off")
        page.wait_for_timeout(500)
        assert hostile.hits == []
    finally:
        context.close()
