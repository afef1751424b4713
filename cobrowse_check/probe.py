"""What is read from the visitor's page in its browser: the Python side of ``probe.js``.

Owns: running ``probe.js`` (to read the page, or to type the masking canary), finding the tag
(top page or frames), the closed shadow roots (through DevTools, which the page's script cannot
see), and the long tasks of the page's main thread. Must not: judge anything (``findings``
does) or change the page beyond typing the canary into fields the tag masks.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from cobrowse_check import rules

PROBE_JS = (Path(__file__).resolve().parent / "probe.js").read_text(encoding="utf-8")

# An init script: records the page's long tasks from its first line on, for ``long_tasks``.
LONGTASK_JS = """
(() => {
  if (window.top !== window || !window.PerformanceObserver) return;
  const seen = [];
  Object.defineProperty(window, '__cobrowseCheckLongTasks', { value: seen });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no long task timing in this browser */ }
})();
"""


async def read_page(page: Page, selectors: tuple[str, ...]) -> dict[str, Any]:
    """probe.js's reading of the page (masking, iframes, CSSOM, objects, size...)."""
    probe: dict[str, Any] = await page.evaluate(
        PROBE_JS, {"selectors": list(selectors), "sensitive": rules.SENSITIVE_NAMES}
    )
    return probe


async def type_canaries(page: Page, selectors: tuple[str, ...]) -> list[list[str]]:
    """Type a distinct canary into every masked field: ``[canary, element]`` per field."""
    result: dict[str, Any] = await page.evaluate(
        PROBE_JS,
        {
            "selectors": list(selectors),
            "sensitive": rules.SENSITIVE_NAMES,
            "canary": rules.CANARY,
        },
    )
    filled: list[list[str]] = result["filled"]
    return filled


async def has_tag(page: Page, wait_ms: int) -> bool:
    try:
        await page.wait_for_function("() => !!window.__cobrowse", timeout=wait_ms)
    except PlaywrightTimeout:
        return False
    return True


async def tag_frames(page: Page) -> list[str]:
    """URLs of the page's frames that run a tag of their own."""
    found = []
    for frame in page.frames[1:]:
        with contextlib.suppress(PlaywrightError):
            if await frame.evaluate("() => !!window.__cobrowse"):
                found.append(frame.url)
    return found


async def closed_shadow_hosts(page: Page) -> list[str]:
    """Hosts of closed shadow roots (the page's script cannot see them; DevTools can)."""
    cdp = await page.context.new_cdp_session(page)
    try:
        root = (await cdp.send("DOM.getDocument", {"depth": -1, "pierce": True}))["root"]
    finally:
        with contextlib.suppress(PlaywrightError):
            await cdp.detach()
    hosts: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        if "contentDocument" in node:
            stack.append(node["contentDocument"])
        for shadow in node.get("shadowRoots", []):
            stack.append(shadow)
            name = str(node.get("localName", ""))
            if shadow.get("shadowRootType") == "closed" and name != "cobrowse-ui":
                attributes = node.get("attributes", [])
                pairs = dict(zip(attributes[::2], attributes[1::2], strict=False))
                hosts.append(name + (f"#{pairs['id']}" if pairs.get("id") else ""))
    return hosts


async def long_tasks(page: Page) -> list[list[float]]:
    """``[start, duration]`` of every long task so far (``LONGTASK_JS`` must be installed)."""
    tasks: list[list[float]] = await page.evaluate(
        "() => (window.__cobrowseCheckLongTasks || []).slice()"
    )
    return tasks
