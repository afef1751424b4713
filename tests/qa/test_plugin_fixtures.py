"""The pytest plugin's fixtures, used as a brand's QA team would, plus selector checking."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from cobrowse_qa.plugin import SessionFactory
from cobrowse_qa.scenario import ScenarioError, check_selectors, load

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
