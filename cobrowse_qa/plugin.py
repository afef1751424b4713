"""The cobrowse pytest plugin: fixtures for two-browser co-browse tests.

Installed with the package (entry point ``pytest11: cobrowse``). Inert unless a test asks for
one of its fixtures: it adds command-line options and, only when ``--cobrowse-chromium`` or
``COBROWSE_CHROMIUM`` is set, the Chromium that setting picks to pytest-playwright's launch
arguments. Fixtures (see ``docs/testing.md``, "QA harness"):

- ``cobrowse_server`` (session): a `RelayProcess` on a free loopback port (``.url``), from
  ``--cobrowse-config FILE`` or the embedded demo; ``--cobrowse-relay URL`` uses a running one;
- ``cobrowse_visitor`` / ``cobrowse_agent``: a `Visitor` and a signed-in `Agent`, each in its
  own context of pytest-playwright's ``browser``;
- ``cobrowse_session``: a factory, ``cobrowse_session(mode="shared", url="/demo/product.html")``
  returning an active `CobrowseSession` (``wait_in_sync()``, ``fidelity()``, ``end()``,
  ``.visitor``, ``.agent``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from cobrowse_qa.driver import (
    AGENT_VIEWPORT,
    DEMO_LOGIN,
    DEMO_PASSWORD,
    VISITOR_VIEWPORT,
    Agent,
    CobrowseSession,
    RelayProcess,
    Visitor,
    start_session,
)
from relay.settings import demo_settings


class _RunningRelay:
    """A relay someone else started (``--cobrowse-relay URL``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")


class SessionFactory(Protocol):
    def __call__(
        self, mode: str = "shared", url: str = "/demo/product.html"
    ) -> CobrowseSession: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cobrowse", "cobrowse QA harness")
    group.addoption("--cobrowse-config", help="settings file (TOML) for the relay under test")
    group.addoption("--cobrowse-relay", help="URL of a running relay to test instead")
    group.addoption(
        "--cobrowse-chromium",
        help="Chromium for pytest-playwright: auto, bundled or a path (default: COBROWSE_CHROMIUM)",
    )
    group.addoption("--cobrowse-login", default=DEMO_LOGIN, help="agent sign-in name")
    group.addoption(
        "--cobrowse-password-env",
        help="environment variable holding the agent's password (default: the demo's)",
    )


class _LaunchArgs:
    """Registered at configure time, after every entry-point plugin, so this override wraps
    pytest-playwright's fixture whatever order the plugins were loaded in."""

    def __init__(self, setting: str) -> None:
        self.setting = setting

    @pytest.fixture(scope="session")
    def browser_type_launch_args(self, browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
        from renderer.chromium import launch_options

        return {**browser_type_launch_args, **launch_options(self.setting)}


def pytest_configure(config: pytest.Config) -> None:
    setting = config.getoption("--cobrowse-chromium") or os.environ.get("COBROWSE_CHROMIUM")
    if setting and config.pluginmanager.has_plugin("playwright"):
        config.pluginmanager.register(_LaunchArgs(setting), "cobrowse-launch-args")


@pytest.fixture(scope="session")
def cobrowse_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess | _RunningRelay]:
    running = request.config.getoption("--cobrowse-relay")
    if running:
        yield _RunningRelay(running)
        return
    config = request.config.getoption("--cobrowse-config")
    folder = tmp_path_factory.mktemp("cobrowse-relay")
    if config is None:
        config = folder / "demo.toml"
        config.write_text(_demo_for_a_test_run(), encoding="utf-8")
    relay = RelayProcess(folder, config)
    relay.start()
    yield relay
    relay.stop()


def _demo_for_a_test_run() -> str:
    """The embedded demo (its brand, selectors and agent) as a settings file, with the flood
    limits per client address lifted: every browser of a test run comes from 127.0.0.1, and a
    suite starts more conversations a minute than a public relay lets one address start."""
    demo = demo_settings()
    brand, agent = demo.brands[0], demo.agents[0]
    return "\n".join(
        [
            "[server]",
            "demo = true",
            'database = ":memory:"',
            "",
            "[limits]",
            "visitor_sockets_per_minute = 1000000",
            "conversations_per_address_per_minute = 1000000",
            "conversations_per_brand_per_minute = 1000000",
            "",
            "[[brands]]",
            f"id = {json.dumps(brand.id)}",
            f"name = {json.dumps(brand.name)}",
            f"allowed_origins = {json.dumps(list(brand.allowed_origins))}",
            f"mask_selectors = {json.dumps(list(brand.mask_selectors))}",
            "",
            "[[agents]]",
            f"id = {json.dumps(agent.id)}",
            f"name = {json.dumps(agent.name)}",
            f"password_hash = {json.dumps(agent.password_hash)}",
            f"brands = {json.dumps(list(agent.brands))}",
            "",
        ]
    )


@pytest.fixture
def cobrowse_visitor(browser: Any, cobrowse_server: RelayProcess) -> Iterator[Visitor]:
    context = browser.new_context(viewport=VISITOR_VIEWPORT)
    yield Visitor(context, cobrowse_server.url)
    context.close()


@pytest.fixture
def cobrowse_agent(
    browser: Any, cobrowse_server: RelayProcess, request: pytest.FixtureRequest
) -> Iterator[Agent]:
    context = browser.new_context(viewport=AGENT_VIEWPORT)
    agent = Agent(context, cobrowse_server.url)
    login = request.config.getoption("--cobrowse-login")
    variable = request.config.getoption("--cobrowse-password-env")
    agent.sign_in(login, os.environ[variable] if variable else DEMO_PASSWORD)
    yield agent
    context.close()


@pytest.fixture
def cobrowse_session(cobrowse_visitor: Visitor, cobrowse_agent: Agent) -> SessionFactory:
    """``cobrowse_session(mode="shared", url=...)``: the visitor opens `url` (relative to
    the relay), chats, the agent invites in `mode`, the visitor accepts; returns the
    active, in-sync `CobrowseSession`. Call it once per test."""

    def factory(mode: str = "shared", url: str = "/demo/product.html") -> CobrowseSession:
        return start_session(cobrowse_visitor, cobrowse_agent, mode=mode, url=url)

    return factory
