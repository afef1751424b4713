"""`scripts/bench_fidelity --smoke` scores pages through a real session and rrweb, end to end.

Speed is not asserted (figures live in FIDELITY.md). This protects the harness: the smoke run
serves its two self-contained pages on loopback, runs a real co-browse session per page (relay,
tag, renderer, agent workspace) and, when npm can install it, rrweb's recorder and replayer;
the report has a scored row per page with its diff images, and the scores are those of a copy
that shows the page (a blank or broken copy scores near 0, far under the bound asserted here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import run_module
from PIL import Image

from bench.fidelity_corpus import SMOKE
from bench.fidelity_report import BY_HAND, read_by_hand, render, why

SIMPLE_PAGE_FLOOR = 0.95  # a copy of a page of text and boxes that shows it scores above this


@dataclass(frozen=True)
class SmokeRun:
    report: str
    raw: dict[str, Any]
    images: Path


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """One ``--smoke`` run for the module's tests: its report, raw figures and images."""
    out = tmp_path_factory.mktemp("fidelity") / "FIDELITY.md"
    done = run_module("bench.fidelity", "--smoke", "--out", str(out), timeout=230)
    assert done.returncode == 0, done.stderr[-3000:]
    images = out.parent / "FIDELITY-images"
    raw = json.loads((images / "results.json").read_text())
    return SmokeRun(out.read_text(encoding="utf-8"), raw, images)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_smoke_run_scores_each_page_ours_and_rrwebs(smoke: SmokeRun) -> None:
    report, raw, images = smoke.report, smoke.raw, smoke.images
    tmp_path = images.parent
    assert raw["command"] == "scripts/bench_fidelity --smoke"
    assert [p["name"] for p in raw["pages"]] == [p.name for p in SMOKE]
    for page in raw["pages"]:
        ours = page["ours"]
        assert ours["error"] is None, ours["error"]
        assert ours["score"] > SIMPLE_PAGE_FLOOR, (page["name"], ours)
        assert 0 < ours["scaled"] <= 1
        row = next(line for line in report.splitlines() if line.startswith(f"| {page['name']} "))
        assert f"{ours['score']:.4f}" in row
        diff = images / f"{page['name']}-diff.png"
        assert f"({diff.relative_to(tmp_path)})" in row
        with Image.open(diff) as image:
            assert image.size == (1280, 800)
        if raw["rrweb"]["available"]:
            theirs = page["rrweb"]
            assert theirs["error"] is None, theirs["error"]
            assert theirs["score"] > SIMPLE_PAGE_FLOOR, (page["name"], theirs)
            assert f"{theirs['score']:.4f}" in row
            assert (images / f"{page['name']}-rrweb-diff.png").is_file()
    if not raw["rrweb"]["available"]:
        assert "rrweb could not be installed" in report


def _page(score: float, **ours: object) -> dict[str, object]:
    side = {"score": score, "changed": 0.01, "blank": 0.0, "error": None, "scaled": 0.996}
    side.update({"failed": [], "notes": [], **ours})
    return {"name": "p", "path": "/p.html", "source": "test", "ours": side, "rrweb": None}


def test_why_names_what_the_run_saw_below_the_goal_only() -> None:
    assert why(_page(0.995)) == ""
    text = why(
        _page(0.95, blank=0.2, failed=["font net::ERR_FAILED"] * 3, notes=["cross-origin iframe"])
    )
    assert "20% of the visitor's content blank" in text
    assert "3x font net::ERR_FAILED" in text
    assert "cross-origin iframe" in text
    assert "scaled agent view alone scores 0.9960" in text
    assert why(_page(0.0, error="the tag never connected")).startswith("no replica")


def test_report_without_rrweb_says_so_and_still_has_every_row(tmp_path: Path) -> None:
    raw = {
        "command": "scripts/bench_fidelity --smoke",
        "date": "today",
        "seconds": 1,
        "chromium": "1",
        "machine": {"cpus": 2, "cpu": "", "system": "Linux", "python": "3", "load": [9, 9, 9]},
        "rrweb": {"available": False, "note": "npm is not installed", "version": "2.1.6"},
        "pages": [_page(0.999), _page(0.5)],
    }
    text = render(raw, tmp_path, tmp_path)
    assert "rrweb could not be installed (npm is not installed)" in text
    assert "**a loaded machine**" in text
    assert text.count("| p | test | ") == 2
    assert "1 of 2 at 0.99 or more" in text


def test_a_reading_by_hand_is_kept_by_report_only_only_from_its_marker(tmp_path: Path) -> None:
    report = tmp_path / "FIDELITY.md"
    assert read_by_hand(report) == ""
    report.write_text(f"| generated |\n{BY_HAND}\n\n## Read by hand\n", encoding="utf-8")
    assert read_by_hand(report) == f"{BY_HAND}\n\n## Read by hand\n"
