"""``FIDELITY.md``: the fidelity run's raw figures and the report people read.

Owns: the JSON form of a run (``to_json``) and its Markdown (``render``), including the "why"
column, written from what the run saw (requests the replica could not load, what the check
says the agent will not see, the share of content left blank). Must not: run anything.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.fidelity_corpus import LICENCES

if TYPE_CHECKING:
    from bench.fidelity import Row

GOAL = 0.99  # issue 15: every page at least this, and at least rrweb's score
LOADED = 1.0  # a load average (1 min) above this per core marks the figures as taken loaded


BY_HAND = "<!-- read by hand: kept by --report-only, dropped by a new run -->"


def read_by_hand(report: Path) -> str:
    """The part of an existing report after ``BY_HAND`` (a person's reading of that run's
    images), with the marker; empty when there is none."""
    if not report.is_file():
        return ""
    text = report.read_text(encoding="utf-8")
    return text[text.index(BY_HAND) :] if BY_HAND in text else ""


def to_json(rows: list[Row], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "pages": [
            {
                "name": row.page.name,
                "path": row.page.path,
                "source": row.page.source,
                "ours": asdict(row.ours),
                "rrweb": asdict(row.rrweb) if row.rrweb else None,
            }
            for row in rows
        ],
    }


def _score(side: dict[str, Any] | None) -> str:
    if side is None:
        return "—"
    if side["error"]:
        return "error"
    return f"{side['score']:.4f}"


def _changed(side: dict[str, Any] | None) -> str:
    if side is None or side["changed"] is None:
        return "—"
    return f"{side['changed']:.2%}"


def why(page: dict[str, Any]) -> str:
    """What the run saw that explains a score under the goal (empty at or above it)."""
    ours = page["ours"]
    if ours["error"]:
        return f"no replica: {ours['error']}"
    if ours["score"] >= GOAL:
        return ""
    reasons: list[str] = []
    if ours["blank"] > 0:
        reasons.append(f"{ours['blank']:.0%} of the visitor's content blank in the replica")
    failed = Counter(ours["failed"])
    reasons += [f"replica could not load {n}x {what}" for what, n in failed.most_common(3)]
    # The check's own words for a blank area repeat the share above.
    notes = [n for n in ours["notes"] if not (ours["blank"] > 0 and "blank" in n)]
    reasons += [note[:140] for note in notes[:3]]
    if ours["scaled"] is not None and ours["scaled"] < 1:
        reasons.append(f"the scaled agent view alone scores {ours['scaled']:.4f}")
    return "; ".join(reasons).replace("|", "/") or "not told by the run: see the diff"


def _link(images: Path, report_dir: Path, name: str, label: str) -> str:
    path = images / name
    return f"[{label}]({os.path.relpath(path, report_dir)})" if path.is_file() else ""


def render(raw: dict[str, Any], images: Path, report_dir: Path) -> str:
    pages = raw["pages"]
    machine = raw["machine"]
    loaded = machine["load"][0] / max(1, machine["cpus"] or 1) > LOADED
    lines = [
        "# Replica fidelity on real pages: cobrowse vs rrweb's replayer",
        "",
        "Made by `" + raw["command"] + '` (docs/benchmarks.md, "Replica fidelity"), '
        f"{raw['date']}, in {raw['seconds']} s.",
        "",
        f"Machine: {machine['cpus']} cores ({machine['cpu'] or 'unknown CPU'}), "
        f"{machine['system']}, Python {machine['python']}, Chromium {raw['chromium']}; "
        f"load average at the start {', '.join(map(str, machine['load']))}"
        + (
            " — **a loaded machine** (other engineers' runs): timings move, scores little."
            if loaded
            else "."
        ),
        "",
        "Score: `cobrowse_qa.fidelity.compare` (1.0 identical; the pixel score times the share "
        "of the visitor's content the copy shows), visitor's screenshot against the copy's, "
        "1280x800, both at the top of the page. **Ours** is a real live session (the tag on the "
        "visitor's page, the relay with the corpus's origin as the brand's `allowed_origins`, "
        "the sanitizing renderer, the agent workspace's replica), with the tag's own UI hidden "
        "in the visitor's screenshot. **rrweb** is its recorder "
        f"(`@rrweb/record` {raw['rrweb']['version']}) in the visitor's page and its `Replayer` "
        f"(`@rrweb/replay` {raw['rrweb']['version']}) on another loopback origin, same "
        "Chromium, same viewport, the replay iframe's screenshot. Pixels changed: the share of "
        "pixels whose blurred difference is visible (ours / rrweb's).",
        "",
    ]
    if not raw["rrweb"]["available"]:
        lines += [f"rrweb could not be installed ({raw['rrweb']['note']}): ours alone.", ""]
    lines += [
        "| page | built with | ours | rrweb | pixels changed | diff images | why (ours < 0.99) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for page in pages:
        name = page["name"]
        diffs = " ".join(
            link
            for link in (
                _link(images, report_dir, f"{name}-diff.png", "ours"),
                _link(images, report_dir, f"{name}-rrweb-diff.png", "rrweb"),
            )
            if link
        )
        lines.append(
            f"| {name} | {page['source']} | {_score(page['ours'])} | {_score(page['rrweb'])} | "
            f"{_changed(page['ours'])} / {_changed(page['rrweb'])} | {diffs or '—'} | "
            f"{why(page)} |"
        )
    lines += ["", *_summary(pages), ""]
    lines += [
        f"Images: `{os.path.relpath(images, report_dir)}/` (git-ignored), per page "
        "`NAME-visitor.png`, `NAME-replica.png`, `NAME-diff.png` (ours) and `NAME-rrweb-visitor."
        "png`, `NAME-rrweb-replay.png`, `NAME-rrweb-diff.png`; a diff is the visitor's screenshot "
        "faded, each visibly changed pixel in red. Raw figures: `results.json` there.",
        "",
        "## The corpus and its licences",
        "",
        "Built by `scripts/fidelity_corpus` (`bench/fidelity_corpus.py`, sources in "
        "`bench/fidelity_pages.py`) from pinned packages installed into `.cache/bench/fidelity/` "
        "(git-ignored), never committed: documentation sites as their tools build them, the "
        "Django admin rendered by Django's test client, pages of documented components. The "
        "pages' text is ours. Not the newest releases where the project's Python (3.11) cannot "
        "have them: Sphinx 9.1+ and Django 6 need Python 3.12, so Sphinx 9.0.4 and Django "
        "5.2.19 (an LTS). Shoelace 2 stands for Web Awesome (its successor, same authors).",
        "",
        "| package | licence |",
        "| --- | --- |",
        *(f"| {name} | {licence} |" for name, licence in LICENCES),
        "| rrweb (`@rrweb/record`, `@rrweb/replay`) | MIT |",
    ]
    return "\n".join(lines) + "\n"


def _summary(pages: list[dict[str, Any]]) -> list[str]:
    scored = [p for p in pages if not p["ours"]["error"]]
    ours = [p["ours"]["score"] for p in scored]
    if not ours:
        return ["No page was scored."]
    text = [
        f"Ours: median {statistics.median(ours):.4f} over {len(ours)} pages; "
        f"{sum(s >= GOAL for s in ours)} of {len(pages)} at {GOAL} or more."
    ]
    pairs = [(p["ours"]["score"], p["rrweb"]["score"]) for p in scored if _scored(p["rrweb"])]
    if pairs:
        theirs = [b for _, b in pairs]
        text.append(
            f"rrweb: median {statistics.median(theirs):.4f}; ours at or above rrweb's on "
            f"{sum(a >= b for a, b in pairs)} of {len(pairs)} pages."
        )
    return [" ".join(text)]


def _scored(side: dict[str, Any] | None) -> bool:
    return side is not None and not side["error"] and side["score"] is not None
