"""``cobrowse scenario run FILE...``: validate every file, then run, then report.

Owns: the command's options, exit codes (0 all passed, 1 a step failed, 2 a scenario file is
wrong: nothing ran) and its progress output. Must not: hold scenario logic.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cobrowse_qa.scenario import Scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="scenario_command", required=True)
    _add_run_arguments(commands.add_parser("run", help="validate, run and report scenario files"))


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario files (YAML)")
    parser.add_argument("--relay", help="URL of a running relay (default: start one)")
    parser.add_argument("--config", help="settings file (TOML) for the relay started here")
    parser.add_argument("--out", default="cobrowse-report", help="report folder (screenshots)")
    parser.add_argument("--junit", help="JUnit XML file (default: OUT/junit.xml)")
    parser.add_argument("--html", help="HTML report (default: OUT/report.html)")
    parser.add_argument("--chromium", help="auto, bundled or a path (default: COBROWSE_CHROMIUM)")
    parser.add_argument("--headed", action="store_true", help="show the browser windows")
    parser.add_argument(
        "--no-screenshots", action="store_true", help="screenshots only of a failing step"
    )


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    from cobrowse_qa.driver import RelayProcess
    from cobrowse_qa.report import write_html, write_junit
    from cobrowse_qa.scenario import ScenarioError, check_selectors, load
    from cobrowse_qa.scenario import run as run_scenarios
    from renderer.chromium import launch_options

    scenarios: list[Scenario] = []
    try:
        for file in args.files:
            scenarios.extend(load(file))
    except ScenarioError as error:
        print(f"cobrowse: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            **{**launch_options(args.chromium), "headless": not args.headed}
        )
        try:
            try:
                check_selectors(browser, scenarios)
            except ScenarioError as error:
                print(f"cobrowse: {error}", file=sys.stderr)
                return 2
            print(f"{len(scenarios)} scenario(s) valid", flush=True)
            relay = None
            if args.relay:
                url = args.relay.rstrip("/")
            else:
                relay = RelayProcess(Path(tempfile.mkdtemp(prefix="cobrowse-relay-")), args.config)
                url = relay.start().url
                print(f"relay on {url}", flush=True)
            try:
                results = run_scenarios(
                    browser,
                    url,
                    scenarios,
                    out,
                    progress=lambda line: print(line, flush=True),
                    screenshots=not args.no_screenshots,
                )
            finally:
                if relay is not None:
                    relay.stop()
        finally:
            browser.close()
    junit = Path(args.junit) if args.junit else out / "junit.xml"
    report = Path(args.html) if args.html else out / "report.html"
    write_junit(results, junit)
    write_html(results, report)
    failed = [r for r in results if r.failed]
    print(
        f"{len(results) - len(failed)} of {len(results)} scenario(s) passed; "
        f"JUnit: {junit}; report: {report}"
    )
    for result in failed:
        step = result.failed
        assert step is not None
        print(f"FAILED {result.scenario.name}: step {step.index} {step.label}", file=sys.stderr)
    return 1 if failed else 0
