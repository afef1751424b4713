"""Drive the tag's UI, which lives in a *closed* shadow root, as a person would.

Playwright's locators pierce open shadow roots only. The DevTools protocol sees closed ones
too (``DOM.getDocument`` with ``pierce``), so tests find an element by ``data-testid`` there,
read it, and click at its on-screen box with the real mouse: nothing in the page is changed
to make it testable.

Owns: finding, reading and clicking the tag's UI by ``data-testid``. Must not: change the page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import CDPSession, Page

# Two frames drawn, or half a second (a page that draws nothing), in a world of the harness's
# own: the page's requestAnimationFrame and setTimeout may be replaced.
_PAINTED_JS = """new Promise((done) => {
  setTimeout(done, 500);
  requestAnimationFrame(() => requestAnimationFrame(done));
})"""


def wait_painted(cdp: CDPSession) -> None:
    """Wait until the page has drawn what it shows now. The browser routes a click by its own
    record of what covers what, which follows the page's drawing: a click right after the
    tag's UI appears over a cross-origin frame (a process of its own) can go to that frame, as
    the launcher over a third party's frame of a frameset did once in a loaded test run."""
    frame = cdp.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
    world = cdp.send("Page.createIsolatedWorld", {"frameId": frame, "worldName": "cobrowse-qa"})
    cdp.send(
        "Runtime.evaluate",
        {"expression": _PAINTED_JS, "contextId": world["executionContextId"], "awaitPromise": True},
    )


class ClosedShadow:
    """The tag's closed-shadow UI of one page, through a CDP session of its own."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("DOM.enable")

    def _nodes(self, frames: bool = False) -> Iterator[dict[str, Any]]:
        """The page's nodes, shadow roots included; those of its same-origin frames only when
        ``frames``: a framed page may run a tag of its own, whose UI is not the one to drive."""
        root = self.cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
        stack = [root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.get("children", []))
            stack.extend(node.get("shadowRoots", []))
            if frames and "contentDocument" in node:
                stack.append(node["contentDocument"])

    def find_all(self, testid: str) -> list[int]:
        """The top page's elements with this ``data-testid`` (never a framed page's)."""
        found = []
        for node in self._nodes():
            attributes = node.get("attributes", [])
            pairs = dict(zip(attributes[::2], attributes[1::2], strict=True))
            if pairs.get("data-testid") == testid:
                found.append(node["backendNodeId"])
        return found

    def _box(self, backend_id: int) -> tuple[float, float, float, float] | None:
        try:
            model = self.cdp.send("DOM.getBoxModel", {"backendNodeId": backend_id})["model"]
        except Exception:  # no box: not rendered (display: none)
            return None
        quad = model["border"]
        xs, ys = quad[0::2], quad[1::2]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    def _call(self, backend_id: int, function: str, *args: Any) -> Any:
        obj = self.cdp.send("DOM.resolveNode", {"backendNodeId": backend_id})["object"]
        result = self.cdp.send(
            "Runtime.callFunctionOn",
            {
                "objectId": obj["objectId"],
                "functionDeclaration": function,
                "arguments": [{"value": a} for a in args],
                "returnByValue": True,
            },
        )
        return result["result"].get("value")

    def visible(self, testid: str) -> bool:
        for node in self.find_all(testid):
            box = self._box(node)
            if box and box[2] > 0 and box[3] > 0:
                return True
        return False

    def wait_visible(self, testid: str, timeout: float = 10.0) -> None:
        self._wait(lambda: self.visible(testid), f"{testid} visible", timeout)

    def wait_hidden(self, testid: str, timeout: float = 10.0) -> None:
        self._wait(lambda: not self.visible(testid), f"{testid} hidden", timeout)

    def texts(self, testid: str) -> list[str]:
        return [
            self._call(n, "function() { return this.textContent; }") or ""
            for n in self.find_all(testid)
        ]

    def wait_text(self, testid: str, text: str, timeout: float = 10.0) -> None:
        self._wait(
            lambda: any(text in t for t in self.texts(testid)), f"{text!r} in {testid}", timeout
        )

    def click(self, testid: str, timeout: float = 10.0) -> None:
        self.wait_visible(testid, timeout)
        for node in self.find_all(testid):
            box = self._box(node)
            if box and box[2] > 0 and box[3] > 0:
                wait_painted(self.cdp)
                self.page.mouse.click(box[0] + box[2] / 2, box[1] + box[3] / 2)
                return
        raise AssertionError(f"{testid} vanished before the click")

    def type(self, testid: str, text: str) -> None:
        self.click(testid)
        self.page.keyboard.type(text)

    @contextmanager
    def hidden(self, host: str = "COBROWSE-UI") -> Iterator[None]:
        """Hide the UI inside `host`'s shadow root for a moment (a screenshot of the page
        alone). The inline ``!important`` style goes on the shadow root's children: the
        host's own styles are ``!important`` inside the shadow tree and would win. The tag
        never captures its own UI, so nothing of this reaches the agent. A framed page's tag
        UI is hidden too: the replica never shows it either."""
        saved: list[tuple[int, str | None]] = []
        for node in self._nodes(frames=True):
            if node.get("nodeName") != host:
                continue
            for root in node.get("shadowRoots", []):
                for child in root.get("children", []):
                    if child.get("nodeType") != 1:
                        continue
                    attributes = child.get("attributes", [])
                    pairs = dict(zip(attributes[::2], attributes[1::2], strict=True))
                    style = pairs.get("style")
                    saved.append((child["nodeId"], style))
                    self.cdp.send(
                        "DOM.setAttributeValue",
                        {
                            "nodeId": child["nodeId"],
                            "name": "style",
                            "value": (style or "") + ";display:none!important",
                        },
                    )
        try:
            yield
        finally:
            for node_id, style in saved:
                try:
                    if style is None:
                        self.cdp.send("DOM.removeAttribute", {"nodeId": node_id, "name": "style"})
                    else:
                        self.cdp.send(
                            "DOM.setAttributeValue",
                            {"nodeId": node_id, "name": "style", "value": style},
                        )
                except Exception:  # noqa: S112 - the node went away meanwhile: nothing to restore
                    continue

    def _wait(self, check: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")
