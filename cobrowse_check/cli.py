"""`cobrowse check URL [URL...]`: arguments, progress on stderr, the report, the exit status.

Owns: turning options into a ``CheckOptions`` (mask selectors from ``--mask`` and the brand
of ``--config``) and printing. Exit status: 0 when no page fails, 1 when one does, 2 for a
mistake in the command line or settings. Must not: print a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

from relay.settings import Brand, SettingsError, load_settings


def add_arguments(check: argparse.ArgumentParser) -> None:
    check.description = (
        "Open each page in headless Chromium, co-browse it with a headless agent "
        "and report every prerequisite, figures, visual fidelity and masking."
    )
    check.add_argument("urls", nargs="+", metavar="URL", help="http(s) pages to check")
    check.add_argument(
        "--mask", action="append", default=[], metavar="SELECTOR", help="a CSS selector to mask"
    )
    check.add_argument("--config", help="settings file (TOML): mask selectors of the brand")
    check.add_argument("--brand", help="brand id in --config (default: the one for the URL)")
    check.add_argument(
        "--crawl", type=int, default=0, metavar="N", help="follow N same-origin links"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--out", metavar="DIR", help="write an HTML report to DIR")
    check.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a page gets to load (default 30)"
    )
    check.add_argument(
        "--idle", type=float, default=3.0, help="seconds to watch the idle page (default 3)"
    )


def run(args: argparse.Namespace) -> int:
    from cobrowse_check.options import CheckError, CheckOptions
    from cobrowse_check.output import json_report, text_report, write_html
    from cobrowse_check.runner import run_check

    if args.crawl < 0 or args.timeout <= 0 or args.idle <= 0:
        print("cobrowse check: --crawl must be >= 0, --timeout and --idle > 0", file=sys.stderr)
        return 2
    selectors = list(args.mask)
    chromium = None
    if args.config:
        try:
            settings = load_settings(args.config)
        except SettingsError as error:
            print(f"cobrowse check: {error}", file=sys.stderr)
            return 2
        chromium = settings.chromium
        brand = _pick_brand(settings.brands, args.brand, args.urls)
        if brand is None:
            print(
                "cobrowse check: name the brand with --brand "
                f"({', '.join(b.id for b in settings.brands)})",
                file=sys.stderr,
            )
            return 2
        selectors = list(brand.mask_selectors) + selectors

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    options = CheckOptions(
        urls=tuple(args.urls),
        mask_selectors=tuple(dict.fromkeys(selectors)),
        crawl=args.crawl,
        timeout=args.timeout,
        idle_seconds=args.idle,
        chromium=chromium,
        progress=progress,
    )
    try:
        result = asyncio.run(run_check(options))
    except CheckError as error:
        print(f"cobrowse check: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.out:
        index = write_html(result, Path(args.out))
        progress(f"HTML report: {index}")
    print(json_report(result) if args.json else text_report(result), end="")
    return 1 if any(r.status == "fail" for r in result.reports) else 0


def _pick_brand(brands: tuple[Brand, ...], wanted: str | None, urls: list[str]) -> Brand | None:
    if wanted:
        return next((b for b in brands if b.id == wanted), None)
    if len(brands) == 1:
        return brands[0]
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}".lower() for u in urls}
    for brand in brands:
        if origins & {o.lower() for o in brand.allowed_origins}:
            return brand
    return None
