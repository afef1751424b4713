"""The workspace's Content-Security-Policy covers the replica frame: hostile image, CSS and
font URLs in a visitor's page never make the agent's browser call another host, and replica
form fields never get the agent's autofill.

The renderer already removes such URLs; here the replica is built straight from a hand-written
message in the real workspace page (real CSP header from `cobrowse serve`), so this proves the
second layer on its own.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from playwright.sync_api import Browser, expect

from wire.nodes import compact

pytestmark = pytest.mark.browser


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    """Another origin on loopback that records every request made to it."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_replica_never_requests_urls_of_other_origins(
    browser: Browser, relay_url: str, hostile: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        # Negative control: without the workspace's CSP the recorder does see a request.
        page.set_content(f'<img src="{hostile}/control.png">')
        page.wait_for_function("() => document.images[0].complete")
        assert _Recorder.hits == ["/control.png"]
        _Recorder.hits.clear()

        response = page.goto(f"{relay_url}/agent")
        assert response is not None and "img-src" in response.headers["content-security-policy"]
        style = (
            f"@font-face{{font-family:h;src:url({hostile}/font.woff2)}}"
            f"body{{font-family:h;background:url({hostile}/bg.png)}}"
            f"@import url({hostile}/import.css);"
        )
        doc = compact([1, "#document", [[2, "html", {}, [
            [3, "head", {}, [[4, "style", {}, [[5, "#text", style]]],
                             [6, "link", {"rel": "stylesheet", "href": f"{hostile}/x.css"}, []]]],
            [7, "body", {}, [
                [8, "img", {"id": "img", "src": f"{hostile}/pixel.png"}, []],
                [9, "div", {"style": f"background-image:url({hostile}/div.png)"},
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
        assert _Recorder.hits == []
    finally:
        context.close()
