"""Fixtures for the agent workspace tests (fakes in workspace_fakes.py).

Use ``workspace`` (signed in, socket open, `hello` pushed) or ``site`` + ``relay`` for the
sign-in flow. Any CSP violation on the page fails the test that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page
from workspace_fakes import AGENT, BRAND, ORIGIN, PIXEL, FakeRelay, FakeSite


@pytest.fixture
def site(page: Page) -> Iterator[FakeSite]:
    fake = FakeSite()
    page.route(f"{ORIGIN}/**", fake.handle)
    page.route(
        f"{BRAND}/**",
        lambda route: route.fulfill(status=200, body=PIXEL, headers={"content-type": "image/png"}),
    )

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            fake.csp_violations.append(message.text)

    page.on("console", on_console)
    yield fake
    assert fake.csp_violations == [], fake.csp_violations


@pytest.fixture
def relay(page: Page) -> FakeRelay:
    fake = FakeRelay(page)
    page.route_web_socket(f"ws://{ORIGIN.split('//')[1]}/ws/agent", fake.handle)
    return fake


@pytest.fixture
def workspace(page: Page, site: FakeSite, relay: FakeRelay) -> FakeRelay:
    """The workspace, signed in as AGENT, with its socket open and `hello` received."""
    site.signed_in = True
    page.goto(f"{ORIGIN}/agent")
    relay.wait_socket()
    relay.push("hello", agent=AGENT)
    return relay
