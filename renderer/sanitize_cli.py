"""``cobrowse sanitize FILE.html [--json] [--base-url URL]``: what the agent would receive.

Parses the file inertly in the renderer's sandbox, sanitizes it exactly as a visitor's
snapshot would be, and prints HTML (or the node JSON). Exit codes: 0 done, 1 the renderer
failed, 2 bad arguments or unreadable file. Never prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError

from renderer.htmltext import to_html
from renderer.policy import BrandPolicy, origin_of
from renderer.service import Renderer, RendererError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cobrowse sanitize", description="Print what the agent would receive for a page."
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="an HTML file")
    parser.add_argument("--json", action="store_true", help="print the node structure as JSON")
    parser.add_argument(
        "--base-url",
        default=None,
        help="URL the page is treated as coming from (resolves relative URLs; "
        "its origin is the brand origin unless --origin is given)",
    )
    parser.add_argument(
        "--origin",
        action="append",
        default=[],
        help="a brand origin the agent may fetch from (repeatable)",
    )
    parser.add_argument(
        "--mask", action="append", default=[], help="a mask selector of the brand (repeatable)"
    )


async def _run(html: str, base_url: str | None, brand: BrandPolicy) -> list[Any]:
    renderer = Renderer(pages=1)
    try:
        return await renderer.sanitize_html(html, base_url, brand)
    finally:
        await renderer.close()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse already printed the usage error
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        html = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        print(f"cobrowse sanitize: {args.file}: no such file", file=sys.stderr)
        return 2
    except IsADirectoryError:
        print(f"cobrowse sanitize: {args.file}: is a directory", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cobrowse sanitize: {args.file}: cannot read ({exc.strerror})", file=sys.stderr)
        return 2
    origins = tuple(args.origin)
    if not origins and args.base_url and origin_of(args.base_url):
        origins = (args.base_url,)
    brand = BrandPolicy(origins=origins, mask_selectors=tuple(args.mask))
    try:
        doc = asyncio.run(_run(html, args.base_url, brand))
    except (RendererError, PlaywrightError, OSError) as exc:
        print(
            f"cobrowse sanitize: the renderer failed: {str(exc).splitlines()[0]}", file=sys.stderr
        )
        return 1
    print(json.dumps(doc, ensure_ascii=False) if args.json else to_html(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
