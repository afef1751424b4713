"""What a run of `cobrowse check` is asked to do, and how it fails when it cannot run at all.

Owns: ``CheckOptions``, ``CheckError`` (the check's own fault, never a page's), the time one
step of a session may take, and the one line a browser's error becomes in a report.
Must not: run anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STEP_TIMEOUT_MS = 20_000  # one step of the session (sign-in, invite, replica) at most


@dataclass(frozen=True)
class CheckOptions:
    urls: tuple[str, ...]
    mask_selectors: tuple[str, ...] = ()
    crawl: int = 0  # same-origin pages to follow beyond the given URLs
    timeout: float = 30.0  # seconds a page gets to finish loading
    idle_seconds: float = 3.0  # how long the page is watched while nobody acts
    viewport: tuple[int, int] = (1280, 800)
    chromium: str | None = None
    out_dir: Path | None = None  # keep screenshots here (the HTML report writes them)
    progress: Callable[[str], None] = field(default=lambda line: None)


class CheckError(Exception):
    """The check itself could not run (not a page's fault); the message is for people."""


def first_line(text: str) -> str:
    """The first line of a browser's error message, for a report."""
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
