"""The pytest plugin's fixtures, used as a brand's QA team would, plus selector checking."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cobrowse_qa.driver import Visitor
from cobrowse_qa.plugin import SessionFactory, _demo_for_a_test_run
from cobrowse_qa.scenario import ScenarioError, check_selectors, load
from relay.passwords import verify_password
from relay.settings import DEMO_AGENT_PASSWORD, ServerLimits, demo_settings, load_settings

pytestmark = pytest.mark.browser

PAGES = Path(__file__).resolve().parents[2] / "e2e" / "scenarios" / "pages"


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


def test_agent_selectors_are_resolved_on_the_visitors_page_and_found_by_node_id(
    cobrowse_session: SessionFactory,
) -> None:
    """The replica carries neither ``data-cobrowse-mask`` nor ``autocomplete`` (the renderer
    and the replica drop them): a selector on them still finds the visitor's element there."""
    session = cobrowse_session(mode="shared", url="/demo/checkout.html")
    expect(session.agent.locator("input[data-cobrowse-mask]")).to_have_attribute(
        "data-cobrowse-replica-masked", re.compile(".*")
    )
    expect(session.agent.replica.locator("input[data-cobrowse-mask]")).to_have_count(0)
    session.agent.type("input[autocomplete=email]", "ada@example.com")
    expect(session.visitor.locator("#email")).to_have_value("ada@example.com")
    # A selector with no match on the visitor's page is the replica's own: used as written.
    expect(session.agent.locator("[data-cobrowse-replica-masked]")).to_be_attached()


def test_a_page_that_breaks_the_lookups_built_ins_gets_its_selectors_as_written(
    cobrowse_session: SessionFactory,
) -> None:
    """The node id lookup runs in the visitor's page; a page that broke WeakMap.prototype.get
    (tests/tag/pages/builtins-before.js does) makes it throw: the agent's selector is then used
    in the replica as written, as before the lookup existed."""
    session = cobrowse_session(mode="shared", url="/demo/checkout.html")
    session.visitor.page.evaluate(
        "() => { WeakMap.prototype.get = () => { throw new Error('page broke get'); }; }"
    )
    assert session.visitor.node_ids("#email") is None
    expect(session.agent.locate_all("#email")).to_have_count(1)
    expect(session.agent.locator("#email")).to_have_attribute("type", "email")


def test_two_concurrent_sessions_on_one_relay_each_act_on_their_own_visitor(
    cobrowse_session: SessionFactory,
) -> None:
    """Each agent opens its own visitor's conversation (by id, never by the chat's text: both
    visitors wrote alike), and both sessions stay active side by side."""
    first = cobrowse_session(mode="shared", url="/demo/product.html")
    second = cobrowse_session(mode="shared", url="/demo/product.html")
    assert first.agent.status() == second.agent.status() == "active"
    first.agent.type("#notes", "typed by the first agent")
    second.agent.type("#notes", "typed by the second agent")
    expect(first.visitor.locator("#notes")).to_have_value("typed by the first agent")
    expect(second.visitor.locator("#notes")).to_have_value("typed by the second agent")
    first.wait_in_sync()
    second.wait_in_sync()
    first.end(by="agent")
    assert second.agent.status() == "active"
    second.end(by="visitor")


def test_the_plugins_chromium_setting_raises_no_pytest_deprecation(tmp_path: Path) -> None:
    """With COBROWSE_CHROMIUM set, the plugin wraps pytest-playwright's launch arguments; a
    session fixture bound to an instance is deprecated in pytest 9 (PytestRemovedIn10Warning,
    an error under this suite's filterwarnings)."""
    (tmp_path / "test_launch.py").write_text(
        "def test_launch(browser_type_launch_args):\n"
        "    assert browser_type_launch_args['headless'] is True\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "."],
        cwd=tmp_path,
        env={**os.environ, "COBROWSE_CHROMIUM": "auto"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_tag_ui_driven_is_the_top_pages_never_a_framed_pages(
    cobrowse_visitor: Visitor,
) -> None:
    """A same-origin frame of the page carries the tag too: the harness finds (and so clicks,
    reads, waits for) the top page's UI only. (The framed page's tag now stays quiet under a
    tagged top page, so it has no UI to be confused with; the harness would not look in
    frames if it had.)"""
    cobrowse_visitor.serve("/qa/frames.html", PAGES / "frames.html")
    cobrowse_visitor.serve("/qa/frame-child.html", PAGES / "frame-child.html")
    cobrowse_visitor.open("/qa/frames.html")
    cobrowse_visitor.ui.wait_visible("cb-chat-open")
    frame = cobrowse_visitor.page.frame_locator("#own-frame")
    expect(frame.locator("body")).to_be_attached()
    expect(frame.locator("cobrowse-ui")).to_have_count(0)
    assert len(cobrowse_visitor.ui.find_all("cb-chat-open")) == 1


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
    ((agent, *_), (demo_agent,)) = loaded.agents, demo.agents
    assert (agent.id, agent.name, agent.brands) == (demo_agent.id, demo_agent.name, ("demo",))
    assert verify_password(DEMO_AGENT_PASSWORD, agent.password_hash)
    assert loaded.limits.conversations_per_address_per_minute >= 1_000_000
    assert loaded.limits.visitor_sockets_per_minute >= 1_000_000
    # One agent per concurrent cobrowse_session, all with the demo's password.
    assert [a.id for a in loaded.agents] == ["demo", "qa-agent-2", "qa-agent-3", "qa-agent-4"]
    assert all(verify_password(DEMO_AGENT_PASSWORD, a.password_hash) for a in loaded.agents)
    assert (
        loaded.limits.chat_per_conversation_per_minute
        == ServerLimits().chat_per_conversation_per_minute
    )
