"""Which Chromium to launch and with which flags: the one place that decides it.

One setting picks the browser, for the renderer, the tests and every tool alike:
``COBROWSE_CHROMIUM`` (or the ``chromium`` key of the settings file) is ``auto`` (Debian's
``/usr/bin/chromium`` when present, else Playwright's own build), ``bundled`` (Playwright's
own build, from ``playwright install chromium``) or a path to a Chromium binary.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

# Flags for a headless browser on a machine with no network but loopback: without the
# background-networking flags Chromium keeps trying (and failing) to reach Google's hosts.
# --no-sandbox is only added when running as root, where Chromium refuses to start otherwise.
BASE_ARGS: tuple[str, ...] = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
)


def chromium_setting(value: str | None = None) -> str:
    """The effective setting: the value given, else ``COBROWSE_CHROMIUM``, else ``auto``."""
    return value or os.environ.get("COBROWSE_CHROMIUM") or "auto"


def executable_path(setting: str | None = None) -> str | None:
    """The Chromium binary to launch, or None to let Playwright use its bundled build."""
    choice = chromium_setting(setting)
    if choice == "bundled":
        return None
    if choice == "auto":
        for name in ("chromium", "chromium-browser"):
            found = shutil.which(name)
            if found:
                return found
        return None
    if not os.path.exists(choice):
        raise FileNotFoundError(f"COBROWSE_CHROMIUM names {choice!r}, which does not exist")
    return choice


def launch_args() -> list[str]:
    args = list(BASE_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")
    return args


def launch_options(setting: str | None = None) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch()``."""
    options: dict[str, Any] = {"headless": True, "args": launch_args()}
    path = executable_path(setting)
    if path:
        options["executable_path"] = path
    return options
