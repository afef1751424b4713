"""The pytest plugin's fixtures, used as a brand's QA team would, plus selector checking."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cobrowse_qa.plugin import SessionFactory, _demo_for_a_test_run
from cobrowse_qa.scenario import ScenarioError, check_selectors, load
from relay.passwords import verify_password
from relay.settings import DEMO_AGENT_PASSWORD, ServerLimits, demo_settings, load_settings

pytestmark = pytest.mark.browser


def test_a_shared_session_from_the_fixtures_syncs_acts_and_ends(
    cobrowse_session: SessionFactory,
) -> None:
    session = cobrowse_session(mode="shared", url="/demo/product.html")
    session.agent.type("#notes", "from the plugin")
    expect(session.visitor.locator("#notes")).to_have_value("from the plugin")
    session.wait_in_sync()
    assert session.fidelity().score > 0.95
    session.end(by="visitor")
    assert session.agent.status() == "ended"


def test_a_selector_the_browser_rejects_fails_before_the_run(
    browser: Browser, tmp_path: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nsteps:\n  - visitor.click: 'button[type='\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"step 1 \(visitor.click\): bad selector"):
        check_selectors(browser, load(path))


def test_the_harness_relay_is_the_demo_without_per_address_flood_limits(tmp_path: Path) -> None:
    """The relay the fixtures start (no --cobrowse-config) is the embedded demo, but a test
    run's browsers, all from 127.0.0.1, may start more conversations a minute than a public
    relay lets one address start."""
    config = tmp_path / "demo.toml"
    config.write_text(_demo_for_a_test_run(), encoding="utf-8")
    loaded, demo = load_settings(config, env={}), demo_settings()
    assert (loaded.brands, loaded.demo) == (demo.brands, True)
    ((agent,), (demo_agent,)) = loaded.agents, demo.agents
    assert (agent.id, agent.name, agent.brands) == (demo_agent.id, demo_agent.name, ("demo",))
    assert verify_password(DEMO_AGENT_PASSWORD, agent.password_hash)
    assert loaded.limits.conversations_per_address_per_minute >= 1_000_000
    assert loaded.limits.visitor_sockets_per_minute >= 1_000_000
    assert (
        loaded.limits.chat_per_conversation_per_minute
        == ServerLimits().chat_per_conversation_per_minute
    )
