"""Images the page made (``blob:`` URLs, issue 15 class 2): the tag sends their pixels as
``data:`` images, marks those it cannot send (``:unseen``), and never captures a masked one."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page
from tagharness import FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser


def _pixels(src: str) -> Image.Image:
    head, _, data = src.partition(",")
    assert head in ("data:image/png;base64", "data:image/webp;base64"), head
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def _halves(image: Image.Image) -> tuple[Any, Any]:
    w, h = image.size
    return image.getpixel((w // 4, h // 2)), image.getpixel((3 * w // 4, h // 2))


def test_blob_images_travel_as_their_pixels(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "blob-images.html")
    page.evaluate("() => window.blobsReady")
    start_chat(relay, ui)
    relay.start_session()
    relay.settle()
    replica = relay.replica

    plain = replica.find(id="plain")["attrs"]
    image = _pixels(plain["src"])
    assert image.size == (40, 20)
    assert _halves(image) == ((255, 0, 0), (0, 0, 255))
    assert ":unseen" not in plain
    # A srcset of object URLs: the drawing of the candidate the browser chose, as src.
    chosen = replica.find(id="set")["attrs"]
    assert "srcset" not in chosen
    assert _halves(_pixels(chosen["src"])) == ((0, 255, 0), (255, 255, 0))
    # Over the pixel bound: no src, marked for the agent.
    huge = replica.find(id="huge")["attrs"]
    assert "src" not in huge and huge[":unseen"] == "image"
    # Masked: never drawn, never sent.
    masked = replica.find(id="masked")["attrs"]
    assert "src" not in masked and ":unseen" not in masked
    assert masked[":masked"] == "attribute"
    # An image on a URL is sent as it was.
    assert replica.find(id="http")["attrs"]["src"] == "/site.css"
    assert "blob:" not in "".join(relay.raw)
    # The page's wrapped canvas methods never saw the tag's calls.
    assert page.evaluate("() => window.__patched") == 0

    # During the session: an image gets an object URL (sent once it has loaded), then a URL
    # again (the mark goes).
    page.evaluate(
        """async () => {
        const late = document.getElementById('late');
        late.src = await paint(16, 16, '#ff8000', '#8000ff');
        await late.decode();
    }"""
    )
    relay.wait(lambda: "src" in replica.find(id="late")["attrs"] or relay.settle())
    late = replica.find(id="late")["attrs"]
    assert _halves(_pixels(late["src"])) == ((255, 128, 0), (128, 0, 255))
    assert ":unseen" not in late
    page.evaluate("() => { document.getElementById('huge').src = '/site.css'; }")
    relay.settle()
    huge = replica.find(id="huge")["attrs"]
    assert huge["src"] == "/site.css" and ":unseen" not in huge
    assert page.evaluate("() => window.__patched") == 0
    assert page.evaluate("() => window.__cbErrors") == []
