"""`cobrowse check` reports for people (text, HTML) and machines (JSON).

Owns: formatting a ``CheckRun``. The HTML report is self-contained (inline CSS, screenshots
written next to it) and escapes everything that came from a page.
Must not: run browsers or change what was found.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from cobrowse_check.model import CheckRun, PageReport, size_text, summary

SYMBOL = {"pass": "pass", "warning": "WARN", "fail": "FAIL", "handled": "handled"}


def figure_lines(report: PageReport) -> list[str]:
    f = report.figures
    task = f"{f.longest_task_ms:g} ms" if f.longest_task_ms is not None else "no task over 50 ms"
    view = f"{f.agent_view_ms:g} ms" if f.agent_view_ms is not None else "n/a"
    return [
        f"DOM: {size_text(f.dom_bytes)}, {f.dom_nodes} nodes; "
        f"snapshot on the wire {size_text(f.snapshot_bytes)}",
        f"longest task on the visitor's main thread while the snapshot was cut: {task}",
        f"agent's view complete after: {view}",
        f"while idle ({f.idle_seconds:g} s): {f.idle_batches_per_s:g} change batches/s, "
        f"{f.idle_changes_per_s:g} changes/s, {size_text(f.idle_bytes_per_s)}/s",
    ]


def text_report(run: CheckRun) -> str:
    lines: list[str] = []
    for report in run.reports:
        lines.append(f"{report.url}  {report.status.upper()}")
        if report.error:
            lines.append(f"  error: {report.error}")
            lines.append("")
            continue
        tag = {
            "carried": "carried by the page",
            "injected": "not on the page: injected by the checker",
            "subframe": "only in a frame: injected into the top page by the checker",
        }.get(report.tag, report.tag)
        lines.append(f"  title: {report.title}   tag: {tag}")
        lines.append("  prerequisites:")
        for finding in report.findings:
            lines.append(f"    {SYMBOL[finding.status]:<8} {finding.title}: {finding.detail}")
            for culprit in finding.culprits:
                lines.append(f"             - {culprit}")
        lines.append("  the agent will not see: " + (", ".join(report.not_seen) or "nothing"))
        lines.append(
            "  handled beyond the reference: " + (", ".join(report.handled) or "nothing needed")
        )
        lines.append("  figures:")
        lines.extend(f"    {line}" for line in figure_lines(report))
        if report.fidelity:
            fid = report.fidelity
            lines.append(f"  visual fidelity: {fid.summary()}")
        masking = report.masking
        lines.append(f"  masking: {len(masking.masked)} masked")
        for m in masking.masked:
            kind = "field" if m.field else "text of"
            lines.append(f"    {kind} {m.element}: {m.reason} ({m.detail})")
        if masking.canary_fields:
            leaked = len(masking.canary_leaks)
            lines.append(
                f"    canary typed into {masking.canary_fields} masked field(s): "
                + (f"{leaked} LEAKED" if leaked else "none left the browser")
            )
        for s in masking.unmatched_selectors:
            lines.append(f"    selector {s} matches nothing on this page")
        for s in masking.invalid_selectors:
            lines.append(f"    selector {s} is not valid CSS (the tag skips it)")
        for u in masking.unmasked_sensitive:
            lines.append(f"    looks sensitive, not masked: {u['element']} ({u['hint']})")
        for note in report.notes:
            lines.append(f"  note: {note}")
        lines.append("")
    counts = summary(run.reports)
    lines.append(
        f"{counts['pages']} page(s): {counts['pass']} pass, {counts['warning']} warning, "
        f"{counts['fail']} fail"
    )
    return "\n".join(lines) + "\n"


def json_report(run: CheckRun) -> str:
    return json.dumps(
        {"summary": summary(run.reports), "pages": [r.to_json() for r in run.reports]},
        indent=2,
    )


# ---------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#1f2933}
table{border-collapse:collapse;width:100%;margin:1rem 0}
td,th{border-bottom:1px solid #d9dee4;padding:.35rem .5rem;text-align:left;vertical-align:top}
.pass,.handled{color:#0b6b3a}.warning{color:#9a5b00}.fail{color:#b3261e}
.status{font-weight:600;text-transform:uppercase;font-size:.85em}
ul.culprits{margin:.2rem 0 0 1rem;padding:0;font-family:ui-monospace,monospace;font-size:.85em}
.shots{display:grid;grid-template-columns:repeat(3,1fr);gap:.6rem}
.shots img{width:100%;border:1px solid #c5ccd3}
code{font-family:ui-monospace,monospace;font-size:.9em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _slug(index: int, url: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[:60]
    return f"{index + 1:03d}-{tail or 'page'}"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def write_html(run: CheckRun, out: Path) -> Path:
    """Write index.html (the summary) and one page per URL into ``out``; return index.html."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, report in enumerate(run.reports):
        slug = _slug(index, report.url)
        images = run.images.get(index)
        if images is not None and report.fidelity is not None:
            for name, image in (
                ("visitor", images.visitor),
                ("agent", images.agent),
                ("diff", images.diff),
            ):
                image.save(out / f"{slug}-{name}.png")
            report.fidelity.visitor_png = f"{slug}-visitor.png"
            report.fidelity.agent_png = f"{slug}-agent.png"
            report.fidelity.diff_png = f"{slug}-diff.png"
        (out / f"{slug}.html").write_text(_page_html(report), encoding="utf-8")
        counts = {s: sum(f.status == s for f in report.findings) for s in ("warning", "fail")}
        score = f"{report.fidelity.score:.3f}" if report.fidelity else "—"
        rows.append(
            f'<tr><td><a href="{_e(slug)}.html">{_e(report.url)}</a></td>'
            f'<td class="status {report.status}">{report.status}</td>'
            f"<td>{_e(report.error or '')}</td><td>{counts['fail']}</td>"
            f"<td>{counts['warning']}</td><td>{score}</td></tr>"
        )
    totals = summary(run.reports)
    body = (
        "<h1>cobrowse compatibility check</h1>"
        f"<p>{totals['pages']} page(s): {totals['pass']} pass, {totals['warning']} warning, "
        f"{totals['fail']} fail.</p>"
        "<table><tr><th>page</th><th>status</th><th>error</th><th>fails</th>"
        "<th>warnings</th><th>fidelity</th></tr>" + "".join(rows) + "</table>"
    )
    index_file = out / "index.html"
    index_file.write_text(_page("cobrowse compatibility check", body), encoding="utf-8")
    (out / "report.json").write_text(json_report(run), encoding="utf-8")
    return index_file


def _list(items: list[str], empty: str) -> str:
    if not items:
        return f"<p>{_e(empty)}</p>"
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _page_html(report: PageReport) -> str:
    parts = [
        '<p><a href="index.html">← all pages</a></p>',
        f"<h1>{_e(report.title or report.url)}</h1>",
        f"<p><code>{_e(report.url)}</code> — "
        f'<span class="status {report.status}">{report.status}</span></p>',
    ]
    if report.error:
        parts.append(f'<p class="fail">{_e(report.error)}</p>')
        return _page(report.url, "".join(parts))
    parts.append(f"<p>Tag: {_e(report.tag)}</p><h2>Prerequisites</h2><table>")
    for f in report.findings:
        culprits = "".join(f"<li>{_e(c)}</li>" for c in f.culprits)
        parts.append(
            f'<tr><td class="status {f.status}">{f.status}</td><td>{_e(f.title)}</td>'
            f"<td>{_e(f.detail)}"
            + (f'<ul class="culprits">{culprits}</ul>' if culprits else "")
            + "</td></tr>"
        )
    parts.append("</table><h2>What the agent will not see</h2>")
    parts.append(_list(report.not_seen, "Nothing: the agent sees the whole page."))
    parts.append("<h2>Handled beyond the reference product</h2>")
    parts.append(_list(report.handled, "Nothing special was needed on this page."))
    parts.append("<h2>Figures</h2>" + _list(figure_lines(report), ""))
    if report.fidelity:
        fid = report.fidelity
        parts.append(
            f"<h2>Visual fidelity</h2><p>{html.escape(fid.summary().capitalize())}. Left: the "
            "visitor; middle: the agent's replica; right: the differences in red.</p>"
        )
        if fid.visitor_png:
            parts.append(
                '<div class="shots">'
                + "".join(
                    f'<img alt="{_e(alt)}" src="{_e(src)}">'
                    for alt, src in (
                        ("visitor", fid.visitor_png),
                        ("agent", fid.agent_png),
                        ("diff", fid.diff_png),
                    )
                )
                + "</div>"
            )
    m = report.masking
    parts.append("<h2>Masking</h2><table><tr><th>element</th><th>reason</th><th>why</th></tr>")
    for item in m.masked:
        parts.append(
            f"<tr><td><code>{_e(item.element)}</code></td><td>{_e(item.reason)}</td>"
            f"<td>{_e(item.detail)}</td></tr>"
        )
    parts.append("</table>")
    if m.canary_fields:
        parts.append(
            f"<p>A canary typed into {m.canary_fields} masked field(s): "
            + (
                _e(", ".join(m.canary_leaks)) + " LEAKED"
                if m.canary_leaks
                else "none left the visitor's browser"
            )
            + ".</p>"
        )
    extra = [f"selector {s} matches nothing on this page" for s in m.unmatched_selectors]
    extra += [f"selector {s} is not valid CSS" for s in m.invalid_selectors]
    extra += [
        f"{u['element']} looks sensitive ({u['hint']}) but is not masked"
        for u in m.unmasked_sensitive
    ]
    parts.append(_list(extra, "No configuration problems found."))
    return _page(report.url, "".join(parts))
