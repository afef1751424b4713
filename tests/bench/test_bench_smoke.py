"""The benchmark harness runs end to end and produces every figure (smoke mode, seconds).

Speed is not asserted here (STYLE: figures live in BENCHMARKS.md, not in test thresholds);
this protects the harness itself: `scripts/bench --smoke` starts the relay, the pages, the
proxies and Chromium, measures each figure once, and writes a report with a number in each row.
Without npm/rrweb the harness must still work, with rrweb's columns marked as missing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_module

from bench import rrweb
from bench.__main__ import percentile, summary
from bench.report import render

FIGURES = (
    "agent's view complete",
    "visitor upstream 1.5 Mbit/s",
    "longest main-thread task",
    "snapshot bytes before compression",
    "total snapshot serialization time",
    "bytes sent by the visitor for the snapshot",
    "bytes sent by the visitor per scripted minute",
    "pointer latency",
    "DOM change",
    "messages delivered per CPU-second",
    "memory per active session",
    "whole tag, gzipped",
)


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_smoke_run_writes_a_report_with_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    done = run_module("bench", "--smoke", "--out", str(out), timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in report.splitlines()}
    for figure in FIGURES:
        row = next((line for name, line in rows.items() if figure in name), None)
        assert row is not None, f"no row for {figure!r}"
        ours = row.split(" | ")[1]
        assert re.search(r"\d", ours), f"{figure!r} has no figure of ours: {row}"
        # "— / — (0 of 2500 moves)" has digits but no figure: a cell must start with one.
        assert not ours.strip().startswith("—"), f"{figure!r} measured nothing: {row}"
    raw = json.loads(out.with_suffix(".json").read_text())
    assert not raw["errors"], raw["errors"]
    if raw["rrweb"]["available"]:
        view_page = raw["plan"]["view_page"]
        assert raw["pages"][view_page]["rrweb"], "rrweb was installed but recorded nothing"
    else:
        assert "rrweb could not be installed" in report

    # Without rrweb (no npm, or npm failed) the same figures render, rrweb's marked as missing.
    raw["rrweb"] = {"available": False, "note": "npm is not installed", "version": "-"}
    for key in ("rrweb_stream", "rrweb_stream_throttled", "minute_rrweb", "rrweb_gzip"):
        raw.pop(key, None)
    for page in raw["pages"].values():
        page.pop("rrweb", None)
    alone = render(raw, summary, percentile)
    assert "rrweb could not be installed (npm is not installed)" in alone
    assert "pointer latency" in alone


def test_without_npm_rrweb_is_reported_missing_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rrweb.shutil, "which", lambda name: None)
    found, why = rrweb.install(tmp_path)
    assert found is None
    assert "npm" in why
