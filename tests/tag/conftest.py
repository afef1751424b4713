"""Fixtures for the tag's browser tests; the harness itself is in ``tagharness``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, Route
from tagharness import CSP, INIT_SCRIPT, PAGES, RELAY, SITE, TAG, FakeRelay, TagUI


def _serve_site(route: Route) -> None:
    path = route.request.url.removeprefix(SITE).split("?")[0].lstrip("/") or "index.html"
    file = (PAGES / path).resolve()
    if PAGES not in file.parents or not file.is_file():
        route.fulfill(status=404, body="not found")
        return
    types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
    route.fulfill(
        status=200,
        body=file.read_bytes(),
        headers={
            "content-type": types.get(file.suffix, "application/octet-stream"),
            "content-security-policy": CSP,
        },
    )


def _serve_tag(route: Route) -> None:
    route.fulfill(status=200, body=TAG, headers={"content-type": "text/javascript"})


@pytest.fixture
def relay(context: BrowserContext, page: Page) -> Iterator[FakeRelay]:
    fake = FakeRelay(page)
    context.add_init_script(INIT_SCRIPT)
    context.route(f"{SITE}/**", _serve_site)
    context.route(f"{RELAY}/tag.js", _serve_tag)
    # A cross-origin frame: the tag must never reach into it.
    context.route(
        "https://other.test/**",
        lambda route: route.fulfill(
            status=200,
            body="<p id=x>cross-origin secret</p>",
            headers={"content-type": "text/html"},
        ),
    )
    context.route_web_socket("wss://relay.test/ws/visitor**", fake.accept)
    yield fake


@pytest.fixture
def ui(page: Page) -> TagUI:
    return TagUI(page)
