"""The checker's agent: the real agent workspace, signed in, in a browser context of its own.

Owns: signing in with the run's one-off account, starting and ending a view-only session on a
visitor's conversation, and waiting until the replica is complete. Must not: read or judge the
visitor's page (``session`` and ``findings`` do).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from cobrowse_check.options import STEP_TIMEOUT_MS, CheckError

AGENT_ID = "compat-check"


class Workspace:
    """The agent: the real agent workspace, signed in, in a browser context of its own."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.replica_seq = -1  # highest seq of a replica.* message the agent received
        page.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"replica.' in payload[:300]:
                with contextlib.suppress(ValueError, TypeError):
                    seq = json.loads(payload).get("seq")
                    if isinstance(seq, int):
                        self.replica_seq = max(self.replica_seq, seq)

        ws.on("framereceived", received)

    async def wait_for_seq(self, seq: int, timeout: float) -> None:
        """Until the agent received the replica of the visitor's message ``seq``."""
        deadline = time.monotonic() + timeout
        while self.replica_seq < seq:
            if time.monotonic() > deadline:
                raise CheckError("the agent's view was not complete in time")
            await asyncio.sleep(0.05)

    @classmethod
    async def open(cls, browser: Browser, base: str, password: str) -> Workspace:
        context = await browser.new_context(viewport={"width": 1700, "height": 1150})
        page = await context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        workspace = cls(context, page)
        await page.goto(f"{base}/agent")
        await page.get_by_test_id("login-name").fill(AGENT_ID)
        await page.get_by_test_id("login-password").fill(password)
        await page.get_by_test_id("login-submit").click()
        await page.get_by_test_id("conversation-list").wait_for()
        return workspace

    async def start_session(self, marker: str) -> None:
        page = self.page
        item = page.get_by_test_id("conversation-item").filter(has_text=marker)
        await item.first.click()
        await page.get_by_test_id("cobrowse-button").click()
        await page.get_by_test_id("cobrowse-mode-view_only").click()

    async def wait_for_replica(self) -> None:
        """Until the replica is built from a snapshot and its images and fonts have loaded."""
        page = self.page
        # The workspace hides its "waiting for the visitor's page" note once a snapshot is built.
        await page.wait_for_function(
            "() => { const n = document.getElementById('replica-note'); return n && n.hidden; }"
        )
        handle = await page.get_by_test_id("replica-frame").element_handle()
        frame = await handle.content_frame()
        if frame is None:
            return
        with contextlib.suppress(PlaywrightError):
            await frame.wait_for_function(
                "() => document.readyState === 'complete' && "
                "Array.from(document.images).every((i) => i.complete)",
                timeout=STEP_TIMEOUT_MS,
            )
            await frame.evaluate("() => document.fonts ? document.fonts.ready.then(() => 1) : 1")

    async def end_session(self) -> None:
        button = self.page.get_by_test_id("session-end")
        with contextlib.suppress(PlaywrightError):
            if await button.is_visible():
                await button.click()
                status = self.page.get_by_test_id("session-status")
                await status.filter(has_text="nded").wait_for(timeout=5_000)

    async def close(self) -> None:
        await self.context.close()
