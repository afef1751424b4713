# ruff: noqa: RUF001 - the report is typeset (multiplication sign, en dash)
"""BENCHMARKS.md from one run's raw figures: the headline table, per-page table, the machine.

Owns: the wording and arithmetic of the report (medians with their spread, ratios, whether a
target is met). Must not: measure anything.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
Summary = Callable[[list[float]], dict[str, Any]]
Percentile = Callable[[list[float], float], float | None]


def machine(chromium_version: str) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "tag_js", "relay", "renderer"))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "chromium": chromium_version,
        "commit": commit + (" with uncommitted changes in tag_js/relay/renderer" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load_at_start": os.getloadavg()[0],
    }


def _git(*args: str) -> str:
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "B":
        if value >= 1024 * 1024:
            return f"{value / 1024 / 1024:.2f} MB"
        if value >= 1024:
            return f"{value / 1024:.1f} KB"
        return f"{value:.0f} B"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "ms":
        return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:.3g} {unit}"


def _cell(s: dict[str, Any], unit: str) -> str:
    if s["median"] is None:
        return "—"
    if s["n"] <= 1:
        return f"{_fmt(s['median'], unit)} (1 run)"
    return f"{_fmt(s['median'], unit)} ({_fmt(s['min'], unit)}–{_fmt(s['max'], unit)}, n={s['n']})"


def render(r: dict[str, Any], summary: Summary, pct: Percentile) -> str:
    plan = r["plan"]
    have_rrweb = r["rrweb"]["available"]
    pages = r.get("pages", {})
    view_page = plan["view_page"]
    lt_page = plan["longtask_page"]
    label = {k: v["label"] for k, v in pages.items()}
    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(
        figure: str,
        ours: dict[str, Any],
        theirs: dict[str, Any] | None,
        unit: str,
        target: str,
        met: bool | None,
        ratio: str | None = None,
    ) -> None:
        if ratio is None:
            ratio = "—"
            if theirs and theirs["median"] and ours["median"] is not None:
                ratio = f"{ours['median'] / theirs['median']:.2f}"
        verdict = "—" if met is None else ("met" if met else "**missed**")
        rows.append(
            (figure, _cell(ours, unit), _cell(theirs, unit) if theirs else "—", ratio, target,
             verdict)
        )  # fmt: skip

    def vals(items: list[dict[str, Any]], key: str) -> list[float]:
        return [float(i[key]) for i in items if i.get(key) is not None]

    def med(s: dict[str, Any]) -> float | None:
        return s["median"]

    no_rr = None if have_rrweb else {"median": None, "n": 0}
    vp = pages.get(view_page, {})
    s = summary(vals(vp.get("ours", []), "view_ms"))
    rr = summary(vals(r.get("rrweb_stream", []), "view_ms")) if have_rrweb else no_rr
    row(
        f"agent's view complete, {label.get(view_page, view_page)}, loopback",
        s, rr, "ms", "≤ 1 s", None if med(s) is None else med(s) <= 1000,
    )  # fmt: skip
    s = summary(vals(r.get("throttled", []), "view_ms"))
    rr = summary(vals(r.get("rrweb_stream_throttled", []), "view_ms")) if have_rrweb else no_rr
    row(
        "same, visitor upstream 1.5 Mbit/s + 40 ms (DevTools emulation)",
        s, rr, "ms", "≤ 3 s (reference product: ≥ 15 s)",
        None if med(s) is None else med(s) <= 3000,
    )  # fmt: skip
    s = summary(vals(r.get("throttled_proxy", []), "view_ms"))
    row(
        "same, throttled on the wire by a TCP proxy instead (1.5 Mbit/s up, 40 ms each way)",
        s, rr, "ms", "cross-check of the row above", None,
    )  # fmt: skip
    lp = pages.get(lt_page, {})
    s = summary(vals(lp.get("ours", []), "longest_task_ms"))
    rr = summary(vals(lp.get("rrweb", []), "longest_task_ms")) if have_rrweb else no_rr
    row(
        f"longest main-thread task during the snapshot, {label.get(lt_page, lt_page)}",
        s, rr, "ms", "≤ 50 ms (rrweb ≈ 1.9 s)", None if med(s) is None else med(s) <= 50,
    )  # fmt: skip

    def ratio_of(entry: dict[str, Any], key: str) -> list[float]:
        return [i[key] / i["html_bytes"] for i in entry if i.get("html_bytes")]

    all_ours = [i for e in pages.values() for i in e.get("ours", [])]
    all_rr = [i for e in pages.values() for i in e.get("rrweb", [])]
    per_page_ours = [
        summary(ratio_of(e.get("ours", []), "snapshot_bytes"))["median"] for e in pages.values()
    ]
    per_page_rr = [
        summary(ratio_of(e.get("rrweb", []), "json_bytes"))["median"] for e in pages.values()
    ]
    s = summary([v for v in per_page_ours if v is not None])
    rr = summary([v for v in per_page_rr if v is not None]) if have_rrweb else no_rr
    row(
        "snapshot bytes before compression ÷ page HTML bytes (median over pages, range of pages)",
        s, rr, "x", "≤ 1× (rrweb ≈ 3.5×)", None if med(s) is None else med(s) <= 1.0,
    )  # fmt: skip

    ser_ours = sum(summary(vals(e.get("ours", []), "serialize_ms"))["median"] or 0
                   for k, e in pages.items() if k != "demo")  # fmt: skip
    ser_rr = sum(summary(vals(e.get("rrweb", []), "serialize_ms"))["median"] or 0
                 for k, e in pages.items() if k != "demo")  # fmt: skip
    one = {"median": ser_ours, "min": ser_ours, "max": ser_ours, "n": 1}
    two = {"median": ser_rr, "min": ser_rr, "max": ser_rr, "n": 1} if have_rrweb else no_rr
    row(
        "total snapshot serialization time, all generated pages (sum of per-page medians)",
        one, two, "ms", "≤ rrweb's", None if not have_rrweb else ser_ours <= ser_rr,
    )  # fmt: skip
    s = summary(vals(vp.get("ours", []), "wire_up_bytes"))
    rr = summary(vals(vp.get("rrweb", []), "packed_bytes")) if have_rrweb else no_rr
    half = None if not (have_rrweb and med(s) and rr and med(rr)) else med(s) <= med(rr) / 2
    row(
        f"bytes sent by the visitor for the snapshot, {label.get(view_page, view_page)} "
        "(ours: on the wire; rrweb: packed)",
        s, rr, "B", "≤ ½ rrweb's", half,
    )  # fmt: skip
    s = summary(vals(r.get("minute", []), "wire_bytes_per_min"))
    rr = summary(vals(r.get("minute_rrweb", []), "wire_bytes_per_min")) if have_rrweb else no_rr
    half = None if not (have_rrweb and med(s) and rr and med(rr)) else med(s) <= med(rr) / 2
    row("bytes sent by the visitor per scripted minute", s, rr, "B", "≤ ½ rrweb's", half)
    pointer = r.get("pointer", {})
    lat = pointer.get("latencies", [])
    p50, p99 = pct(lat, 50), pct(lat, 99)
    n_sessions = plan["sessions"]
    rows.append(
        (
            f"pointer latency visitor → agent, p50 / p99, {n_sessions} concurrent sessions",
            f"{_fmt(p50, 'ms')} / {_fmt(p99, 'ms')} "
            f"({len(lat)} of {pointer.get('moves', 0)} moves)",
            "— (no live path)",
            "—",
            "≤ 15 ms / 40 ms",
            "—"
            if p50 is None or p99 is None
            else ("met" if p50 <= 15 and p99 <= 40 else "**missed**"),
        )
    )
    dom = r.get("dom_latency", [])
    d50, d99 = pct(dom, 50), pct(dom, 99)
    rows.append(
        (
            "DOM change → agent's replica through the renderer, p50 / p99",
            f"{_fmt(d50, 'ms')} / {_fmt(d99, 'ms')} ({len(dom)} changes)",
            "— (no live path)",
            "—",
            "p99 ≤ 60 ms",
            "—" if d99 is None else ("met" if d99 <= 60 else "**missed**"),
        )
    )
    load = r.get("relay_load", [])
    s = summary(vals(load, "per_cpu_second"))
    row("relay: messages delivered per CPU-second (≈ per core)", s, None, "/s", "report", None)
    for key, what in (
        ("hop_light_ms", "20 msg/s each"),
        ("hop_ms", "250 msg/s each, the load generator saturated"),
    ):
        hop = [h for run in load for h in run.get(key, [])]
        h50, h99 = pct(hop, 50), pct(hop, 99)
        rows.append(
            (
                f"relay hop alone, visitor socket → agent socket, p50 / p99 "
                f"({plan['load_pairs']} sessions, {what})",
                f"{_fmt(h50, 'ms')} / {_fmt(h99, 'ms')} ({len(hop)} messages)",
                "—",
                "—",
                "part of the pointer budget",
                "—",
            )
        )
    mem = pointer.get("memory_per_session")
    page_kb = (pointer.get("page_bytes") or 0) / 1024
    rows.append(
        (
            "relay + renderer memory per active session (PSS)",
            _fmt(mem, "B") + f" ({n_sessions} sessions of a {page_kb:.0f} KB page)"
            if mem is not None
            else "—",
            "—",
            "—",
            "≤ 40 MB",
            "—" if mem is None else ("met" if mem <= 40 * 2**20 else "**missed**"),
        )
    )
    tg, rg = r.get("tag_gzip"), r.get("rrweb_gzip")
    rows.append(
        (
            "whole tag, gzipped (rrweb: its recorder alone)",
            _fmt(tg, "B"),
            _fmt(rg, "B") if rg else "—",
            f"{tg / rg:.2f}" if tg and rg else "—",
            "≤ 24 KB",
            "—" if tg is None else ("met" if tg <= 24 * 1024 else "**missed**"),
        )
    )

    m = r["machine"]
    out = [
        "# Benchmarks: cobrowse and rrweb, side by side",
        "",
        f"Written by `scripts/bench{'' if plan['mode'] == 'full' else ' --' + plan['mode']}` "
        f"on {m['date']}; what each figure means and how it is taken: "
        "[docs/benchmarks.md](docs/benchmarks.md). Each cell is the median with the range "
        "(min–max) and the number of runs; ratio = ours ÷ rrweb's (below 1 is better for us "
        "in every row).",
        "",
    ]
    if plan["mode"] != "full":
        out += [f"> **{plan['mode']} mode**: fewer runs and shorter pages; not the figures of "
                "record.", ""]  # fmt: skip
    if not have_rrweb:
        out += [f"> rrweb could not be installed ({r['rrweb']['note']}): its columns are empty.",
                ""]  # fmt: skip
    out += [
        "| figure | ours | rrweb | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- |",
        *("| " + " | ".join(cells) + " |" for cells in rows),
        "",
        "## Per page",
        "",
        "| page | HTML | our snapshot (× HTML) | rrweb JSON (× HTML) | our wire | rrweb packed "
        "| our serialization | rrweb record + stringify | our view complete "
        "| our longest task | rrweb longest task |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in pages.values():
        o, t = entry.get("ours", []), entry.get("rrweb", [])

        def m_(items: list[dict[str, Any]], key: str) -> float | None:
            return summary(vals(items, key))["median"]

        html_b = m_(o, "html_bytes") or m_(t, "html_bytes")
        snap = m_(o, "snapshot_bytes")
        js = m_(t, "json_bytes")
        out.append(
            "| "
            + " | ".join(
                [
                    entry["label"],
                    _fmt(html_b, "B"),
                    f"{_fmt(snap, 'B')} ({snap / html_b:.2f}×)" if snap and html_b else "—",
                    f"{_fmt(js, 'B')} ({js / html_b:.2f}×)" if js and html_b else "—",
                    _fmt(m_(o, "wire_up_bytes"), "B"),
                    _fmt(m_(t, "packed_bytes"), "B"),
                    _fmt(m_(o, "serialize_ms"), "ms"),
                    _fmt(m_(t, "serialize_ms"), "ms"),
                    _cell(summary(vals(o, "view_ms")), "ms"),
                    _fmt(m_(o, "longest_task_ms"), "ms")
                    if m_(o, "longest_task_ms") is not None
                    else ("< 50 ms" if o else "—"),
                    _fmt(m_(t, "longest_task_ms"), "ms")
                    if m_(t, "longest_task_ms") is not None
                    else ("< 50 ms" if t else "—"),
                ]
            )
            + " |"
        )
    ext = sorted({e for i in all_ours for e in i.get("extensions", [])})
    vo = vp.get("ours", [])
    sent_ms = summary(vals(vo, "tag_sent_ms"))["median"]
    first_ms = summary(vals(vo, "agent_first_ms"))["median"]
    last_ms = summary(vals(vo, "agent_last_ms"))["median"]
    view_ms = summary(vals(vo, "view_ms"))["median"]
    if None not in (sent_ms, first_ms, last_ms, view_ms):
        assert sent_ms is not None and first_ms is not None
        assert last_ms is not None and view_ms is not None
        out += [
            "",
            f"Where the {label.get(view_page, view_page)} view time goes (medians, from Accept): "
            f"the workspace received the first replica message at {_fmt(first_ms, 'ms')}; "
            f"the tag sent its last chunk at {_fmt(sent_ms, 'ms')}; the workspace received the "
            f"last replica message at {_fmt(last_ms, 'ms')} (relay + renderer: "
            f"{_fmt(last_ms - sent_ms, 'ms')} after the tag); the replica held the last node at "
            f"{_fmt(view_ms, 'ms')} (workspace rebuild: {_fmt(view_ms - last_ms, 'ms')}).",
        ]
    out += fleet_section(r.get("fleet"), pct)
    load_wall = summary(vals(load, "per_wall_second"))
    out += [
        "",
        "## Notes",
        "",
        f"- The visitor's WebSocket extensions as the relay answered them: "
        f"{', '.join(ext) if ext else 'none (frames are not compressed on the wire)'}.",
        f"- Relay load: {plan['load_pairs']} protocol-speaking visitor/agent pairs, each visitor "
        f"sending 250 pointer messages/s; delivered {_cell(load_wall, '/s')} wall-clock.",
        f"- Runs whose figures are in the tables: {len(all_ours)} of ours and {len(all_rr)} of "
        "rrweb's on the pages above.",
    ]
    for error in r.get("errors", []):
        out.append(f"- A run failed and is left out: {error}")
    if r.get("relay_tracebacks"):
        out.append(f"- The relay logged {len(r['relay_tracebacks'])} traceback(s) during the run.")
    out += [
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; memory {m['memory_gib']} GiB; Linux {m['kernel']}",
        f"- Chromium {m['chromium']} (headless, the one `renderer.chromium` picks); Python "
        f"{m['python']}; rrweb `@rrweb/record` and `@rrweb/packer` {r['rrweb']['version']}",
        f"- Code: {m['commit']}",
        f"- Load average when the run started: {m['load_at_start']:.2f} (other work on the "
        "machine makes figures noisier; the spreads show how much)",
        "",
    ]
    return "\n".join(out)


def fleet_section(f: dict[str, Any] | None, pct: Percentile) -> list[str]:
    """The fleet step's section (``bench/fleet.py``): hop, throughput and failover, fleet
    against one node, each with the goal issue 14 set for it."""
    out = ["", "## Several nodes: a fleet on Redis and PostgreSQL", ""]
    if not f or "skipped" in f:
        why = (f or {}).get("skipped", "no fleet figures in this run's raw data")
        return [*out, f"> The fleet step did not run: {why}."]
    plan, versions = f["plan"], f.get("versions", {})
    taken = f.get("machine")
    if taken:
        mode = "" if plan.get("mode", "full") == "full" else f" --{plan['mode']}"
        out += [
            f"Taken on {taken['date']} ({plan.get('mode', 'full')} plan), code "
            f"{taken['commit']}, {taken['cores']} cores; `python -m bench.fleet{mode} --write "
            "BENCHMARKS.md` measures this section again alone.",
            "",
        ]
    out += [
        f"Two relay nodes (`[cluster] redis_url`) on one Redis {versions.get('redis', '?')} and "
        f"one PostgreSQL {versions.get('postgresql', '?')}, against one node without "
        "`[cluster]` (everything in-process) on the same PostgreSQL; all on this machine's cores. "
        f"Protocol-speaking visitors and agents, {plan['pairs']} sessions; how each figure is "
        "taken: `bench/fleet.py`.",
        "",
        "| figure | fleet | one node | target | met? |",
        "| --- | --- | --- | --- | --- |",
    ]

    def hop(key: str) -> tuple[str, float | None]:
        values = f.get(key, [])
        p50, p99 = pct(values, 50), pct(values, 99)
        return f"{_fmt(p50, 'ms')} / {_fmt(p99, 'ms')} ({len(values)} messages)", p99

    cross, cross99 = hop("hop_cross")
    same, _ = hop("hop_same")
    single, single99 = hop("hop_single")
    added = None if cross99 is None or single99 is None else cross99 - single99
    out.append(
        "| pointer hop visitor → agent, p50 / p99, 20 messages/s per session: visitor on node A, "
        f"agent on node B (through Redis) | {cross} | {single} | p99 ≤ 15 ms added over one "
        f"node | {_verdict(added, added is not None and added <= 15)}"
        + ("" if added is None else f" ({added:+.1f} ms)")
        + " |"
    )
    out.append(f"| same, visitor and agent both on node A | {same} | — | — | — |")
    fleet_load, single_load = f.get("load_fleet") or {}, f.get("load_single") or {}
    ours, theirs = fleet_load.get("per_cpu_second"), single_load.get("per_cpu_second")
    ratio = ours / theirs if ours and theirs else None
    verdict = _verdict(ratio, ratio is not None and ratio >= 0.5)
    out.append(
        "| relay messages delivered per CPU-second of the relay processes (250 messages/s per "
        f"session for {plan['load_s']:g} s; fleet: every visitor on A, every agent on B) | "
        f"{_fmt(ours, '/s')}" + ("" if ratio is None else f" ({ratio:.2f}× one node)")
        + f" | {_fmt(theirs, '/s')} | ≥ 0.5× | {verdict} |"
    )  # fmt: skip
    rounds = f.get("failover", [])
    total = [round_["total_ms"] for round_ in rounds]
    f50, f99 = pct(total, 50), pct(total, 99)
    out.append(
        "| failover: the visitor's node killed (SIGKILL) → the agent has the replica again, "
        f"p50 / p99, with the tag's reconnect backoff | {_fmt(f50, 'ms')} / {_fmt(f99, 'ms')} "
        f"({len(total)} of {plan['failovers']} nodes killed) "
        "| — (one node: its death ends every session) | p99 ≤ 5 s "
        f"| {_verdict(f99, f99 is not None and f99 <= 5000)} |"
    )
    redis_cpu = fleet_load.get("redis_cpu_s")
    delivered = fleet_load.get("delivered")
    closed = pct([r["closed_ms"] for r in rounds], 50)
    back = pct([r["reconnected_ms"] for r in rounds], 50)
    out += [""]
    if redis_cpu is not None and delivered:
        out.append(
            f"- Redis's own CPU during the fleet's load: {redis_cpu:.2f} s for {delivered:,} "
            f"messages ({redis_cpu / delivered * 1e6:.0f} µs a message), not in the ratio above."
        )
    if closed is not None and back is not None and f50 is not None:
        out.append(
            "- Where the failover goes (medians): the visitor's socket dropped "
            f"{_fmt(closed, 'ms')} after the kill; its hello came back at {_fmt(back, 'ms')} "
            "(the tag waits 0.5 s before its first retry); the rest, "
            f"{_fmt(f50 - back, 'ms')}, is the session's resumption, the fresh snapshot and its "
            "render on the node the visitor landed on."
        )
    for name, entry in (("one node", single_load), ("the fleet", fleet_load)):
        if entry.get("sent") and entry["delivered"] < entry["sent"]:
            out.append(
                f"- Under load {name} delivered {entry['delivered']:,} of the "
                f"{entry['sent']:,} pointer messages sent (5 s after the last one)."
            )
    for line in f.get("tracebacks", []):
        out.append(f"- A fleet node logged a traceback: {line}")
    return out


def _verdict(value: float | None, met: bool) -> str:
    return "—" if value is None else ("met" if met else "**missed**")


def splice_fleet(report: str, section: list[str]) -> str:
    """``report`` (a BENCHMARKS.md) with its fleet section replaced by ``section`` (from
    ``fleet_section``), or the section added before the notes: ``python -m bench.fleet
    --write`` updates the fleet's figures without measuring the rest again."""
    lines = report.split("\n")
    heading = section[1]
    if heading in lines:
        start = lines.index(heading) - 1
        end = next(
            (i for i in range(start + 2, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = [*section, ""]
    else:
        notes = lines.index("## Notes") - 1 if "## Notes" in lines else len(lines)
        lines[notes:notes] = section
    return "\n".join(lines)
