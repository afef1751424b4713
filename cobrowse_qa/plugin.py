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
  ``.visitor``, ``.agent``). Each call is a session of its own, open at the same time as the
  others: the first uses ``cobrowse_visitor`` and ``cobrowse_agent``, each later one a new
  visitor and an agent signed in with the next login of ``--cobrowse-login`` (an agent has one
  session at a time: the relay's rule).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from playwright.sync_api import BrowserContext

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


# The relay the fixtures start has this many agents (the demo's and QA_AGENT_LOGIN-2...): one per
# concurrent `cobrowse_session` of a test.
QA_AGENTS = 4
QA_AGENT_LOGIN = "qa-agent"


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
    group.addoption(
        "--cobrowse-login",
        help="agent sign-in name; a comma-separated list for concurrent sessions, one login each"
        " (default: the demo agent, and the test-run relay's extra QA agents)",
    )
    group.addoption(
        "--cobrowse-password-env",
        help="environment variable holding the agent's password (default: the demo's)",
    )


def _chromium_setting(config: pytest.Config) -> str | None:
    setting: str | None = config.getoption("--cobrowse-chromium") or os.environ.get(
        "COBROWSE_CHROMIUM"
    )
    return setting


class _LaunchArgs:
    """Registered at configure time, after every entry-point plugin, so this override wraps
    pytest-playwright's fixture whatever order the plugins were loaded in. A static method,
    not an instance's: pytest 9 deprecates session fixtures bound to an instance
    (PytestRemovedIn10Warning), so the setting is read from the config, not kept here."""

    @pytest.fixture(scope="session")
    @staticmethod
    def browser_type_launch_args(
        browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config
    ) -> dict[str, Any]:
        from renderer.chromium import launch_options

        setting = _chromium_setting(pytestconfig)
        assert setting is not None, "registered only when a Chromium setting is given"
        return {**browser_type_launch_args, **launch_options(setting)}


def pytest_configure(config: pytest.Config) -> None:
    if _chromium_setting(config) and config.pluginmanager.has_plugin("playwright"):
        config.pluginmanager.register(_LaunchArgs(), "cobrowse-launch-args")


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
    suite starts more conversations a minute than a public relay lets one address start. It
    has ``QA_AGENTS - 1`` more agents with the demo's password (``qa-agent-2``...): one agent
    per concurrent session."""
    demo = demo_settings()
    brand, agent = demo.brands[0], demo.agents[0]
    extra_agents = [
        line
        for n in range(2, QA_AGENTS + 1)
        for line in (
            "[[agents]]",
            f'id = "{QA_AGENT_LOGIN}-{n}"',
            f'name = "QA agent {n}"',
            f"password_hash = {json.dumps(agent.password_hash)}",
            f"brands = {json.dumps(list(agent.brands))}",
            "",
        )
    ]
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
            *extra_agents,
        ]
    )


def _agent_logins(config: pytest.Config) -> list[str]:
    """The agent accounts of the relay under test, one per concurrent session: the
    ``--cobrowse-login`` list, else the demo's (and the extra QA agents of the relay the
    fixtures start)."""
    given = config.getoption("--cobrowse-login")
    if given:
        return [login.strip() for login in str(given).split(",") if login.strip()]
    if config.getoption("--cobrowse-relay") or config.getoption("--cobrowse-config"):
        return [DEMO_LOGIN]
    return [DEMO_LOGIN] + [f"{QA_AGENT_LOGIN}-{n}" for n in range(2, QA_AGENTS + 1)]


def _signed_in_agent(browser: Any, url: str, config: pytest.Config, login: str) -> Agent:
    context = browser.new_context(viewport=AGENT_VIEWPORT)
    agent = Agent(context, url)
    variable = config.getoption("--cobrowse-password-env")
    agent.sign_in(login, os.environ[variable] if variable else DEMO_PASSWORD)
    return agent


@pytest.fixture
def cobrowse_visitor(browser: Any, cobrowse_server: RelayProcess) -> Iterator[Visitor]:
    context = browser.new_context(viewport=VISITOR_VIEWPORT)
    yield Visitor(context, cobrowse_server.url)
    context.close()


@pytest.fixture
def cobrowse_agent(
    browser: Any, cobrowse_server: RelayProcess, request: pytest.FixtureRequest
) -> Iterator[Agent]:
    login = _agent_logins(request.config)[0]
    agent = _signed_in_agent(browser, cobrowse_server.url, request.config, login)
    yield agent
    agent.context.close()


@pytest.fixture
def cobrowse_session(
    browser: Any,
    cobrowse_server: RelayProcess,
    cobrowse_visitor: Visitor,
    cobrowse_agent: Agent,
    request: pytest.FixtureRequest,
) -> Iterator[SessionFactory]:
    """``cobrowse_session(mode="shared", url=...)``: the visitor opens `url` (relative to
    the relay), chats, the agent opens that conversation (by its id) and invites in `mode`,
    the visitor accepts; returns the active, in-sync `CobrowseSession`. Each call is another
    session, open alongside the earlier ones: a new visitor and the next agent login."""
    logins = _agent_logins(request.config)
    sessions: list[CobrowseSession] = []
    opened: list[BrowserContext] = []  # the later sessions' contexts, closed at the end

    def factory(mode: str = "shared", url: str = "/demo/product.html") -> CobrowseSession:
        n = len(sessions)
        if n == 0:
            visitor, agent = cobrowse_visitor, cobrowse_agent
        elif n < len(logins):
            visitor = Visitor(browser.new_context(viewport=VISITOR_VIEWPORT), cobrowse_server.url)
            opened.append(visitor.context)
            agent = _signed_in_agent(browser, cobrowse_server.url, request.config, logins[n])
            opened.append(agent.context)
        else:
            raise RuntimeError(
                f"{n + 1} concurrent sessions need {n + 1} agent logins (--cobrowse-login a,b,"
                "...): an agent has one session at a time"
            )
        sessions.append(start_session(visitor, agent, mode=mode, url=url))
        return sessions[-1]

    yield factory
    for session in sessions:
        session.agent.end_what_is_open()
    for context in opened:
        context.close()
