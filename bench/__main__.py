"""``scripts/bench``: cobrowse side by side with rrweb, on this machine, in one run.

Usage: scripts/bench [--quick | --smoke] [--runs N] [--out BENCHMARKS.md] [--no-fleet]
  (default) the full run: every page, several runs per figure, a scripted minute of 60 s
  --quick   fewer runs and a 15 s scripted "minute" (scaled to a minute)
  --smoke   tiny pages, one run each, seconds not minutes (the test suite runs this)
The last step, "fleet" (``bench/fleet.py``), runs two relay nodes on a Redis and a PostgreSQL
of its own once the rest is stopped; ``--no-fleet`` leaves it out.
Writes the report (BENCHMARKS.md by default) and the raw figures beside it, in
``.cache/bench/last-run.json``. docs/benchmarks.md says what each figure measures.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import fleet, report, rrweb
from bench import pages as P
from bench.env import ROOT, BenchRelay, Chromium, PageServer, Proxy, sign_in_workspace
from bench.measure import Bench
from tag_js import built_tag

CACHE = ROOT / ".cache" / "bench"
DEFAULT_OUT = ROOT / "BENCHMARKS.md"


@dataclass(frozen=True)
class Plan:
    mode: str
    runs: int  # runs of each per-page figure
    key_runs: int  # runs of the headline figures (2 MB view time, 120k-element longest task)
    minute_s: float
    minute_runs: int
    sessions: int
    rounds: int
    dom_samples: int
    load_pairs: int
    load_s: float
    sizes: tuple[P.PageSpec, ...]
    view_page: str  # the "2 MB DOM" page
    longtask_page: str  # the "120k elements" page


PLANS = {
    "full": Plan("full", 3, 5, 60, 2, 50, 100, 200, 20, 10, P.SIZES, "mb-2", "elements-120k"),
    "quick": Plan("quick", 2, 3, 15, 2, 50, 50, 100, 20, 5, P.SIZES, "mb-2", "elements-120k"),
    "smoke": Plan("smoke", 1, 1, 2, 1, 3, 6, 8, 3, 1, P.SMOKE_SIZES, "mb-0.1", "nodes-2k"),
}


def summary(values: list[float]) -> dict[str, Any]:
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def repeat(
    times: int, make: Callable[[int], Awaitable[dict[str, Any]]], errors: list[str], what: str
) -> list[dict[str, Any]]:
    results = []
    for i in range(times):
        try:
            results.append(await make(i))
        except Exception as error:  # one failed run is reported, not fatal
            errors.append(f"{what} run {i}: {type(error).__name__}: {error}")
            traceback.print_exc()
    return results


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def raw_path(out: Path) -> Path:
    """Where the raw figures go: the cache for the report of record, else beside ``out``."""
    return CACHE / "last-run.json" if out.resolve() == DEFAULT_OUT else out.with_suffix(".json")


async def run(
    plan: Plan, out: Path, use_rrweb: bool = True, use_fleet: bool = True
) -> dict[str, Any]:
    cache = CACHE
    cache.mkdir(parents=True, exist_ok=True)
    found, rrweb_note = rrweb.install(cache) if use_rrweb else (None, "--no-rrweb was given")
    say(f"rrweb: {rrweb_note}")
    html = {spec.name: spec.html() for spec in (*plan.sizes, *P.WORK_PAGES)}
    server = PageServer(html, found)
    await server.start()
    relay = BenchRelay(cache, server.origin, agents=max(plan.sessions, plan.load_pairs) + 1)
    await asyncio.to_thread(relay.start)
    proxy = Proxy(relay.port)
    await proxy.start()
    slow = Proxy(relay.port, up_bps=1_500_000, delay_ms=40)
    await slow.start()
    server.tag_origin = proxy.origin
    server.throttled_origin = slow.origin
    server.relay_origin = relay.url
    chromium = Chromium()
    browser = await chromium.start()
    results: dict[str, Any] = {
        "plan": plan.__dict__ | {"sizes": [s.name for s in plan.sizes]},
        "rrweb": {"available": found is not None, "note": rrweb_note, "version": rrweb.VERSION},
        "errors": [],
        "machine": report.machine(chromium.version),
    }
    errors: list[str] = results["errors"]
    try:
        agent_context = await browser.new_context(viewport={"width": 1400, "height": 900})
        workspace = await agent_context.new_page()
        await sign_in_workspace(workspace, relay)
        bench = Bench(browser, relay, proxy, server, workspace, rrweb=found is not None)
        await bench.start_sink()
        await bench.watch_workspace()

        say("sizes")
        # What brands serve: the minified tag the relay sends (tag_js.built_tag), not the source.
        results["tag_gzip"] = len(gzip.compress(built_tag(), 9))
        if found:
            results["rrweb_gzip"] = len(gzip.compress(found.record.read_bytes(), 9))

        say("warm-up (not reported): one session on the smallest page, one rrweb recording")
        first = plan.sizes[0].name
        await repeat(1, lambda i: bench.view_run(bench.url(first, "w"), "bench-last-w"), [], "")
        if found:
            await repeat(1, lambda i: bench.rrweb_run(bench.url(first, "w", "rrweb")), [], "")

        per_page: dict[str, Any] = {}
        pages_to_run = [*plan.sizes, P.PageSpec("demo", "demo site", str)]
        for spec in pages_to_run:
            key = spec.name in (plan.view_page, plan.longtask_page)
            runs = plan.key_runs if key else plan.runs
            probe = spec.name == plan.longtask_page
            say(f"page {spec.label}: ours x{runs}")

            def ours(i: int, spec: P.PageSpec = spec, probe: bool = probe) -> Awaitable[Any]:
                if spec.name == "demo":
                    return bench.view_run(f"{proxy.origin}/demo/product.html", None, probe=probe)
                run_id = f"{spec.name}-{i}-{time.monotonic_ns() % 10**6}"
                return bench.view_run(
                    bench.url(spec.name, run_id), f"bench-last-{run_id}", probe=probe
                )

            entry = {"label": spec.label, "ours": await repeat(runs, ours, errors, spec.name)}
            if found:
                say(f"page {spec.label}: rrweb x{runs}")

                def theirs(i: int, spec: P.PageSpec = spec, probe: bool = probe) -> Awaitable[Any]:
                    if spec.name == "demo":
                        demo = f"{proxy.origin}/demo/product.html"
                        return bench.rrweb_run(demo, add_scripts=True)
                    return bench.rrweb_run(bench.url(spec.name, str(i), "rrweb"), probe=probe)

                entry["rrweb"] = await repeat(runs, theirs, errors, f"{spec.name} rrweb")
            per_page[spec.name] = entry
        results["pages"] = per_page

        say("2 MB page, visitor upstream throttled to 1.5 Mbit/s + 40 ms")

        def throttled(i: int) -> Awaitable[Any]:
            run_id = f"throttled-{i}-{time.monotonic_ns() % 10**6}"
            return bench.view_run(
                bench.url(plan.view_page, run_id), f"bench-last-{run_id}", throttle=True
            )

        results["throttled"] = await repeat(plan.key_runs, throttled, errors, "throttled")
        say("same, throttled by our own TCP proxy instead (a cross-check of the emulation)")

        def proxied(i: int) -> Awaitable[Any]:
            run_id = f"proxied-{i}-{time.monotonic_ns() % 10**6}"
            return bench.view_run(
                bench.url(plan.view_page, run_id, "throttled"),
                f"bench-last-{run_id}",
                proxy=slow,
            )

        results["throttled_proxy"] = await repeat(plan.key_runs, proxied, errors, "proxied")
        if found:
            say("rrweb streaming its snapshot, loopback and throttled")
            results["rrweb_stream"] = await repeat(
                plan.key_runs,
                lambda i: bench.rrweb_stream(bench.url(plan.view_page, str(i), "rrweb")),
                errors,
                "rrweb stream",
            )
            results["rrweb_stream_throttled"] = await repeat(
                plan.key_runs,
                lambda i: bench.rrweb_stream(
                    bench.url(plan.view_page, str(i), "rrweb"), throttle=True
                ),
                errors,
                "rrweb stream throttled",
            )

        say(f"scripted minute ({plan.minute_s:g} s, scaled to 60 s)")
        results["minute"] = await repeat(
            plan.minute_runs, lambda i: bench.minute_ours(plan.minute_s), errors, "minute"
        )
        if found:
            results["minute_rrweb"] = await repeat(
                plan.minute_runs,
                lambda i: bench.minute_rrweb(plan.minute_s),
                errors,
                "minute rrweb",
            )

        say(f"DOM change to the agent's replica, {plan.dom_samples} samples")
        dom = await repeat(
            1, lambda i: _wrap(bench.dom_latency(plan.dom_samples)), errors, "dom latency"
        )
        results["dom_latency"] = dom[0]["values"] if dom else []

        say(f"pointer latency with {plan.sessions} concurrent sessions")
        pointer = await repeat(
            1, lambda i: bench.pointer_sessions(plan.sessions, plan.rounds), errors, "pointer"
        )
        results["pointer"] = pointer[0] if pointer else {}
        results["pointer"]["page_bytes"] = len(html["grid"])

        say(f"relay load: {plan.load_pairs} sessions for {plan.load_s:g} s")
        results["relay_load"] = await repeat(
            plan.runs, lambda i: bench.relay_load(plan.load_pairs, plan.load_s), errors, "load"
        )
        await agent_context.close()
    finally:
        await chromium.stop()
        await proxy.stop()
        await slow.stop()
        relay.stop(allow_tracebacks=True)
        server.close()
    log = relay.log_path.read_text(errors="replace").splitlines()
    results["relay_tracebacks"] = [line for line in log if "Traceback" in line]
    results["fleet"] = {"skipped": "--no-fleet was given"}
    if use_fleet:
        # After the rest is stopped: the fleet's nodes, Redis and PostgreSQL get the machine.
        say("fleet: two relay nodes on Redis and PostgreSQL against one node")
        try:
            results["fleet"] = await fleet.measure(plan.mode, cache / "fleet", errors)
        except Exception as error:  # reported in the notes, the rest of the report stands
            errors.append(f"fleet: {type(error).__name__}: {error}")
            results["fleet"] = {"skipped": f"it failed ({type(error).__name__})"}
            traceback.print_exc()
    raw_path(out).write_text(json.dumps(results, indent=1, default=str))
    out.write_text(report.render(results, summary, percentile), encoding="utf-8")
    return results


async def _wrap(values: Awaitable[list[float]]) -> dict[str, Any]:
    return {"values": await values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer runs, a 15 s scripted minute")
    group.add_argument("--smoke", action="store_true", help="tiny pages, one run (the test suite)")
    parser.add_argument("--runs", type=int, help="runs per figure (overrides the mode's)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-rrweb", action="store_true", help="our figures alone (no npm)")
    parser.add_argument(
        "--no-fleet", action="store_true", help="leave out the fleet step (Redis, PostgreSQL)"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write --out again from the raw figures of the last run",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(raw_path(args.out).read_text())
        args.out.write_text(report.render(results, summary, percentile), encoding="utf-8")
        return 0
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.runs:
        plan = Plan(**(plan.__dict__ | {"runs": args.runs, "key_runs": args.runs}))
    started = time.monotonic()
    results = asyncio.run(
        run(plan, args.out, use_rrweb=not args.no_rrweb, use_fleet=not args.no_fleet)
    )
    say(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    if results["errors"]:
        say(f"{len(results['errors'])} run(s) failed; see the report's notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
