"""Scenario files are validated whole, before anything runs, with messages naming the step."""

from __future__ import annotations

from pathlib import Path

import pytest

from cobrowse_cli.cli import main
from cobrowse_qa.scenario import STEPS, ScenarioError, load, selectors

E2E = Path(__file__).resolve().parents[2] / "e2e" / "scenarios"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_e2e_scenarios_load_and_use_every_step() -> None:
    used = {step.name for file in E2E.glob("*.yaml") for s in load(file) for step in s.steps}
    assert {"visitor.decline", "visitor.offline", "agent.navigate", "expect.refused"} <= used


def test_an_unknown_step_is_named_with_its_scenario_and_index(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - visitor.open: /\n  - agent.teleport: here\n")
    with pytest.raises(ScenarioError, match=r"scenario 'x': step 2 \(agent.teleport\): unknown"):
        load(path)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("agent.invite: sharde", "mode must be shared or view_only"),
        ("agent.type: {selector: '#a'}", "missing text"),
        ("visitor.accept: now", "unknown field|takes no argument"),
        ("expect.refused: {visitor.click: '#a'}", "action must be an agent action"),
        ("visitor.scroll: {y: down}", "y must be num"),
    ],
)
def test_wrong_arguments_fail_with_a_clear_message(tmp_path: Path, step: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load(write(tmp_path, f"name: x\nsteps:\n  - {step}\n"))


def test_nested_selectors_are_collected_for_checking(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nsteps:\n  - expect.refused: {agent.click: 'a[href'}\n")
    assert [s for _, s in selectors(load(path))] == ["a[href"]


def test_the_command_refuses_a_bad_file_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "name: x\nsteps: [visitor.fly]\n")
    assert main(["scenario", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "unknown step 'visitor.fly'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_every_step_documents_its_fields() -> None:
    for name, spec in STEPS.items():
        assert set(spec.required) <= set(spec.fields), name
