"""The visitor's sub-resources: recorded as the page loads them, then loaded again as the
agent's browser would, without the visitor's cookies or credentials.

Owns: the record of responses and failed requests of one visitor's browser context, and the
replay that finds resources bound to cookies or HTTP authentication. Must not: replay scripts
or documents (only ``rules.REPLAYED_RESOURCES``), or more than ``rules.MAX_RESOURCES``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Playwright
from playwright.async_api import Error as PlaywrightError

from cobrowse_check import rules
from cobrowse_check.options import first_line


@dataclass
class Resources:
    """What one visitor's browser context loaded. ``watch`` it, then ``replay`` once."""

    # url, resource type, status, whether the request carried an Authorization header
    responses: list[tuple[str, str, int, bool]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # url, error text

    def watch(self, context: BrowserContext) -> None:
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_failed)

    async def _on_response(self, response: Any) -> None:
        request = response.request
        if request.resource_type in ("document", "websocket"):
            return
        with contextlib.suppress(PlaywrightError):
            headers = await request.all_headers()
            self.responses.append(
                (response.url, request.resource_type, response.status, "authorization" in headers)
            )

    def _on_failed(self, request: Any) -> None:
        self.failed.append((request.url, str(request.failure or "")))

    async def replay(self, playwright: Playwright) -> tuple[list[str], int]:
        """Reload every sub-resource without cookies or credentials, as the agent would:
        (the resources refused, one line each; how many were loaded again)."""
        candidates: dict[str, tuple[str, int, bool]] = {}
        for url, kind, status, auth in self.responses:
            if url.startswith(("http://", "https://")) and kind in rules.REPLAYED_RESOURCES:
                candidates.setdefault(url, (kind, status, auth))
        bound: list[str] = []
        request = await playwright.request.new_context(ignore_https_errors=True)
        try:
            for url, (kind, status, auth) in list(candidates.items())[: rules.MAX_RESOURCES]:
                if status in (401, 407):
                    bound.append(f"{url} ({kind}: HTTP {status} for the visitor too)")
                    continue
                try:
                    again = await request.get(url, timeout=10_000, max_redirects=0)
                except PlaywrightError as error:
                    bound.append(f"{url} ({kind}: {first_line(str(error))})")
                    continue
                if again.status in (401, 403, 407):
                    how = "HTTP authentication" if auth or again.status == 401 else "cookies"
                    bound.append(f"{url} ({kind}: HTTP {again.status} without {how})")
                elif 300 <= again.status < 400 and status < 300:
                    bound.append(
                        f"{url} ({kind}: redirects to {again.headers.get('location')} "
                        "without the visitor's cookies)"
                    )
        finally:
            await request.dispose()
        return bound, min(len(candidates), rules.MAX_RESOURCES)
