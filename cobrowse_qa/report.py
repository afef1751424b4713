"""Reports of a scenario run: JUnit XML (for CI) and a self-contained HTML page.

Owns: turning `ScenarioResult`s into files. Must not: run anything. The HTML links the step
screenshots by relative path, so keep it next to the screenshot folders it was written with.
"""

from __future__ import annotations

import html
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from cobrowse_qa.scenario import ScenarioResult


def write_junit(results: list[ScenarioResult], path: Path) -> None:
    """One testsuite per scenario, one testcase per step (the failing one carries the error)."""
    root = ET.Element("testsuites", name="cobrowse scenarios")
    for result in results:
        scenario = result.scenario
        suite = ET.SubElement(
            root,
            "testsuite",
            name=scenario.name,
            file=str(scenario.file),
            tests=str(len(result.steps)),
            failures=str(sum(s.status == "failed" for s in result.steps)),
            skipped=str(sum(s.status == "skipped" for s in result.steps)),
            time=f"{result.seconds:.3f}",
        )
        for step in result.steps:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=scenario.name,
                name=f"{step.index:02d} {step.label}",
                time=f"{step.seconds:.3f}",
            )
            if step.status == "failed":
                failure = ET.SubElement(case, "failure", message=step.error.splitlines()[0])
                failure.text = step.error
            elif step.status == "skipped":
                ET.SubElement(case, "skipped", message="an earlier step failed")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_html(results: list[ScenarioResult], path: Path) -> None:
    """A page with every step, its time and error, and both sides' screenshots after it."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>cobrowse scenarios</title><style>",
        "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}",
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}",
        ".passed{color:#1b5e20}.failed{color:#b71c1c;font-weight:bold}.skipped{color:#777}",
        "img{width:280px;border:1px solid #999}pre{white-space:pre-wrap;max-width:40em}",
        "</style></head><body><h1>cobrowse scenarios</h1>",
    ]
    passed = sum(r.failed is None for r in results)
    parts.append(f"<p>{passed} of {len(results)} scenarios passed.</p>")
    for result in results:
        state = "failed" if result.failed else "passed"
        parts.append(
            f"<h2 class='{state}'>{esc(result.scenario.name)} ({state}, "
            f"{result.seconds:.1f} s)</h2><p>{esc(str(result.scenario.file))}</p>"
        )
        parts.append("<table><tr><th>#</th><th>step</th><th>result</th><th>visitor</th>")
        parts.append("<th>agent</th></tr>")
        for step in result.steps:
            cells = []
            for side in ("visitor", "agent"):
                shot = step.shots.get(side)
                if shot is None:
                    cells.append("<td></td>")
                    continue
                rel = esc(os.path.relpath(shot, path.parent))
                cells.append(f"<td><a href='{rel}'><img src='{rel}' alt='{side}'></a></td>")
            error = f"<pre>{esc(step.error)}</pre>" if step.error else ""
            parts.append(
                f"<tr><td>{step.index}</td><td>{esc(step.label)}</td>"
                f"<td class='{step.status}'>{step.status} ({step.seconds:.1f} s){error}</td>"
                + "".join(cells)
                + "</tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
