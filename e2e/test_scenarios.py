"""Every scenario under e2e/scenarios/ runs against the real product (`cobrowse serve`).

Each scenario is one test: a failure names the scenario's failing step and its error. The
runner is the one `cobrowse scenario run` uses (screenshots only of a failing step, to keep
the suite fast); the files are validated, selectors included, before any of them runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from cobrowse_qa.scenario import Scenario, check_selectors, load, run

pytestmark = pytest.mark.browser

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.yaml"))
ALL: list[Scenario] = [scenario for file in SCENARIOS for scenario in load(file)]


def test_the_scenario_files_are_valid(browser: Browser) -> None:
    check_selectors(browser, ALL)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario", ALL, ids=[s.name for s in ALL])
def test_scenario(scenario: Scenario, browser: Browser, relay_url: str, tmp_path: Path) -> None:
    (result,) = run(
        browser, relay_url, [scenario], tmp_path, progress=lambda _: None, screenshots=False
    )
    step = result.failed
    assert step is None, f"step {step.index} {step.label} failed:\n{step.error}"
