"""``scripts/bench_fidelity``: how closely the agent's live replica looks like real pages, side
by side with rrweb's replayer, in one run; writes ``FIDELITY.md``.

Usage: scripts/bench_fidelity [--quick | --smoke] [--out FIDELITY.md] [--no-rrweb] [--report-only]
  (default) every page of the corpus (``bench/fidelity_corpus.py``, 18 real pages)
  --quick   six pages of it
  --smoke   two tiny self-contained pages (the test suite runs this)

Owns: the run. The corpus is served on loopback (the brand's origin, a second origin for the
third-party embed, a third for rrweb's replay page); ours is a real session of
``cobrowse check`` (its in-process relay, whose brand's ``allowed_origins`` is the corpus's
origin; the tag on the visitor's page; the renderer; the real agent workspace), scored by
``cobrowse_qa.fidelity.compare`` between the visitor's screenshot (the tag's UI hidden) and the
replica's. rrweb's: its recorder in the visitor's page, then its ``Replayer`` on another origin,
in the same Chromium at the same viewport, the replay iframe's screenshot against the visitor's.
Must not: reach anything but loopback (the corpus's packages are installed before the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import io
import json
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page, Playwright, Request, async_playwright

from bench import fidelity_report, rrweb
from bench.env import ROOT
from bench.fidelity_corpus import PAGES, SMOKE, CorpusError, CorpusPage, build
from cobrowse_check.agent import Workspace
from cobrowse_check.options import CheckOptions
from cobrowse_check.runner import check_settings, serve_relay
from cobrowse_check.session import PageCheck
from cobrowse_qa.fidelity import compare
from renderer.chromium import launch_options

CACHE = ROOT / ".cache" / "bench"
FIDELITY_CACHE = CACHE / "fidelity"
DEFAULT_OUT = ROOT / "FIDELITY.md"
DEFAULT_IMAGES = FIDELITY_CACHE / "out"
VIEWPORT = (1280, 800)
SETTLE_S = 1.0  # after `load` and fonts: web components upgrade, transitions end
RECORD_S = 1.0  # and rrweb's recorder this long more (its session and replica take longer)


@dataclass
class Side:
    """One side's result on one page (ours or rrweb's)."""

    score: float | None = None
    changed: float | None = None
    blank: float = 0.0
    error: str | None = None
    scaled: float | None = None  # the visitor's screenshot, scaled as the copy is, and back
    failed: list[str] = field(default_factory=list)  # requests the replica could not load
    notes: list[str] = field(default_factory=list)  # what the check says the agent misses


@dataclass
class Row:
    page: CorpusPage
    ours: Side
    rrweb: Side | None


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the corpus's origins


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The corpus's files; ``__THIRD_PARTY__`` in an HTML page becomes the second origin."""

    third_party = ""
    extensions_map = {  # noqa: RUF012 - the base's instance attribute, extended
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".cjs": "text/javascript",
        ".woff2": "font/woff2",
        ".woff": "font/woff",
        ".svg": "image/svg+xml",
    }

    def send_head(self) -> Any:
        path = Path(self.translate_path(self.path))
        if path.suffix != ".html" or not path.is_file():
            return super().send_head()
        body = path.read_bytes().replace(b"__THIRD_PARTY__", self.third_party.encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path, host: str, third_party: str = "") -> Iterator[str]:
    """Serve ``folder`` on ``host`` (a free port) while the block runs: the origin."""
    handler = type("Handler", (_Handler,), {"third_party": third_party})
    server = http.server.ThreadingHTTPServer(
        (host, 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- ours


def scaling_floor(visitor: Image.Image, size: tuple[int, int]) -> float:
    """The score of a perfect copy shown at ``size`` (the workspace scales the replica to fit):
    what scaling alone costs, the best ``compare`` can give that view."""
    if size == visitor.size:
        return 1.0
    return compare(visitor, visitor.resize(size, Image.Resampling.LANCZOS)).score


def _watch_failures(page: Page, into: list[str]) -> Any:
    """Note each sub-resource request ``page`` (and its frames) could not load."""

    def failed(request: Request) -> None:
        if request.resource_type in ("font", "image", "stylesheet", "media"):
            into.append(f"{request.resource_type} {request.failure or 'failed'}")

    page.on("requestfailed", failed)
    return failed


async def run_ours(
    playwright: Playwright,
    browser: Browser,
    agent: Workspace,
    base: str,
    url: str,
    images: Path,
    name: str,
) -> Side:
    """Our side: a real session (``cobrowse check``'s), scored with the tag's UI hidden."""
    side = Side()
    listener = _watch_failures(agent.page, side.failed)
    options = CheckOptions(urls=(url,), idle_seconds=0.5, viewport=VIEWPORT, progress=log)
    check = PageCheck(playwright, browser, agent, base, options, url)
    try:
        report, shots, _ = await check.run()
    finally:
        agent.page.remove_listener("requestfailed", listener)
    if report.error or report.fidelity is None or shots is None:
        side.error = report.error or "no fidelity figure"
        return side
    side.score, side.changed = report.fidelity.score, report.fidelity.changed
    side.blank = report.fidelity.blank
    side.scaled = scaling_floor(shots.visitor, shots.agent.size)
    side.notes = list(report.not_seen) + [
        f"{f.key}: {f.detail}"
        for f in report.findings
        # The run injects the tag into every page: that finding says nothing about fidelity.
        if f.status in ("warning", "fail") and f.key != "tag_topmost"
    ]
    shots.visitor.save(images / f"{name}-visitor.png")
    shots.agent.save(images / f"{name}-replica.png")
    shots.diff.save(images / f"{name}-diff.png")
    return side


# ---------------------------------------------------------------- rrweb's


RECORD_JS = """
;if (window.top === window) {
  window.__rr = [];
  window.__stop = rrwebRecord.record({ emit(e) { window.__rr.push(e); } });
}
"""
REPLAY_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="style.css">
<style>html,body{margin:0;padding:0;background:#fff}.replayer-mouse{display:none}
.replayer-wrapper iframe{border:0;display:block}</style>
<script src="replay.js"></script></head><body><div id="root"></div></body></html>
"""


def replay_site(found: rrweb.Replay, folder: Path) -> Path:
    """The replay page and rrweb's files, served from an origin that is not the brand's (as a
    recording service replays on its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "replay.html").write_text(REPLAY_HTML, encoding="utf-8")
    shutil.copyfile(found.replay, folder / "replay.js")
    shutil.copyfile(found.css, folder / "style.css")
    return folder


async def run_rrweb(
    browser: Browser, found: rrweb.Replay, replay_origin: str, url: str, images: Path, name: str
) -> Side:
    """rrweb's side: record the visitor's page, replay it, compare the replay's iframe."""
    side = Side()
    width, height = VIEWPORT
    visitor = await browser.new_context(viewport={"width": width, "height": height})
    player = await browser.new_context(viewport={"width": width, "height": height})
    try:
        # As rrweb's documentation deploys it: the recorder in the page before the page's own
        # scripts (so it sees shadow roots and adopted stylesheets as they are made).
        await visitor.add_init_script(found.record.read_text(encoding="utf-8") + RECORD_JS)
        page = await visitor.new_page()
        await page.goto(url, wait_until="load", timeout=30_000)
        await page.evaluate("() => document.fonts ? document.fonts.ready.then(() => 1) : 1")
        await asyncio.sleep(SETTLE_S + RECORD_S)
        visitor_png = await page.screenshot()
        events = await page.evaluate("() => { window.__stop(); return window.__rr; }")
        replay = await player.new_page()
        _watch_failures(replay, side.failed)
        await replay.goto(f"{replay_origin}/replay.html", wait_until="load")
        await replay.evaluate(
            """(events) => {
              const r = new rrwebReplay.Replayer(events, {
                root: document.getElementById("root"), mouseTail: false, showWarning: false });
              r.pause(r.getMetaData().totalTime);
              window.__replayer = r;
            }""",
            events,
        )
        frame_handle = await replay.wait_for_selector(".replayer-wrapper iframe", state="attached")
        if frame_handle is None:
            raise RuntimeError("rrweb's Replayer made no iframe")
        frame = await frame_handle.content_frame()
        if frame is not None:
            with contextlib.suppress(Exception):
                await frame.wait_for_function(
                    "() => Array.from(document.images).every((i) => i.complete)", timeout=10_000
                )
                await frame.evaluate(
                    "() => document.fonts ? document.fonts.ready.then(() => 1) : 1"
                )
        await asyncio.sleep(0.5)
        replay_png = await frame_handle.screenshot()
    except Exception as error:  # a page's failure is a row, not the run's end
        side.error = str(error).strip().splitlines()[0][:200]
        return side
    finally:
        await visitor.close()
        await player.close()
    shot = Image.open(io.BytesIO(visitor_png))
    result = compare(shot, Image.open(io.BytesIO(replay_png)))
    side.score, side.changed, side.blank = result.score, result.changed, result.blank
    shot.save(images / f"{name}-rrweb-visitor.png")
    Image.open(io.BytesIO(replay_png)).save(images / f"{name}-rrweb-replay.png")
    result.diff.save(images / f"{name}-rrweb-diff.png")
    return side


# ---------------------------------------------------------------- the run


async def run(
    pages: tuple[CorpusPage, ...], site: Path, replay: rrweb.Replay | None, images: Path
) -> tuple[list[Row], str]:
    """Score every page, ours then rrweb's, one browser, one page at a time: (rows, Chromium)."""
    with (
        serve(site, "127.0.0.2") as third_party,
        serve(site, "127.0.0.1", third_party) as brand,
        serve(
            replay_site(replay, FIDELITY_CACHE / "replay") if replay else site, "127.0.0.1"
        ) as replay_origin,
    ):
        log(f"brand {brand}, third party {third_party}, rrweb's replay {replay_origin}")
        settings, password = check_settings((brand,), ())
        rows: list[Row] = []
        async with serve_relay(settings) as base, async_playwright() as playwright:
            browser = await playwright.chromium.launch(**launch_options())
            try:
                agent = await Workspace.open(browser, base, password)
                for index, page in enumerate(pages, 1):
                    url = brand + page.path
                    log(f"[{index}/{len(pages)}] {page.name}: ours")
                    ours = await run_ours(playwright, browser, agent, base, url, images, page.name)
                    theirs = None
                    if replay is not None:
                        log(f"[{index}/{len(pages)}] {page.name}: rrweb")
                        theirs = await run_rrweb(
                            browser, replay, replay_origin, url, images, page.name
                        )
                    rows.append(Row(page, ours, theirs))
                    log(f"    ours {ours.score}, rrweb {theirs.score if theirs else '-'}")
                await agent.close()
                version = browser.version
            finally:
                await browser.close()
    return rows, version


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench_fidelity", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="six pages of the corpus")
    mode.add_argument("--smoke", action="store_true", help="two tiny self-contained pages")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the report (FIDELITY.md)")
    parser.add_argument("--no-rrweb", action="store_true", help="our figures alone")
    parser.add_argument(
        "--report-only", action="store_true", help="re-write the report from the last raw figures"
    )
    args = parser.parse_args(argv)
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    pages = SMOKE if args.smoke else tuple(p for p in PAGES if p.quick) if args.quick else PAGES
    out: Path = args.out.resolve()
    images = DEFAULT_IMAGES if out == DEFAULT_OUT else out.parent / f"{out.stem}-images"
    images.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        raw = json.loads((images / "results.json").read_text(encoding="utf-8"))
        # The same run's figures: a reading of its images, written by hand, still holds.
        kept = fidelity_report.read_by_hand(out)
        out.write_text(fidelity_report.render(raw, images, out.parent) + kept, encoding="utf-8")
        log(f"wrote {out}")
        return 0
    started = time.time()
    load = machine()
    try:
        site = build(FIDELITY_CACHE, smoke=args.smoke, progress=log)
    except CorpusError as error:
        log(f"bench_fidelity: the corpus could not be built: {error}")
        return 1
    replay, note = (None, "--no-rrweb was given") if args.no_rrweb else rrweb.install_replay(CACHE)
    if replay is None:
        log(f"rrweb is not available: {note}")
    rows, chromium = asyncio.run(run(pages, site, replay, images))
    command = (
        "scripts/bench_fidelity" + {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode_name]
    )
    meta = {
        "mode": mode_name,
        "command": command,
        "machine": load,
        "chromium": chromium,
        "seconds": round(time.time() - started),
        "rrweb": {"available": replay is not None, "note": note, "version": rrweb.VERSION},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
    }
    raw = fidelity_report.to_json(rows, meta)
    (images / "results.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    out.write_text(fidelity_report.render(raw, images, out.parent), encoding="utf-8")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
