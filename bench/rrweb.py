"""rrweb, the reference recorder, installed from the npm registry into a git-ignored cache.

Owns: installing pinned versions of rrweb's standalone recorder (``@rrweb/record``), its
packer (``@rrweb/packer``) and its replayer (``@rrweb/replay``, for ``scripts/bench_fidelity``)
with ``npm install --prefix .cache/bench/npm``, and naming the files the pages load. Never
commits or vendors them. When npm is missing or fails, ``install`` (``install_replay``)
returns None with the reason, and the benchmark reports our figures alone.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

VERSION = "2.1.6"  # the npm "latest" tag of @rrweb/record and @rrweb/packer
PACKAGES = (f"@rrweb/record@{VERSION}", f"@rrweb/packer@{VERSION}")
RECORD = Path("node_modules/@rrweb/record/dist/record.umd.min.cjs")  # global rrwebRecord
PACK = Path("node_modules/@rrweb/packer/dist/pack.umd.min.cjs")  # require()s its base chunk
REPLAY = Path("node_modules/@rrweb/replay/dist/replay.umd.min.cjs")  # global rrwebReplay
REPLAY_CSS = Path("node_modules/@rrweb/replay/dist/style.min.css")


@dataclass(frozen=True)
class Rrweb:
    record: Path
    pack: Path
    version: str = VERSION


@dataclass(frozen=True)
class Replay:
    """rrweb's recorder and replayer: what ``scripts/bench_fidelity`` records and replays with."""

    record: Path
    replay: Path
    css: Path
    version: str = VERSION


def install(cache: Path) -> tuple[Rrweb | None, str]:
    """rrweb's files in ``cache`` (installing them if needed), or None and why not."""
    prefix = cache / "npm"
    found = Rrweb(prefix / RECORD, prefix / PACK)
    why = npm_install(prefix, PACKAGES, (found.record, found.pack))
    return (found, why) if why in ("cached", "installed") else (None, why)


def install_replay(cache: Path) -> tuple[Replay | None, str]:
    """rrweb's recorder and replayer in ``cache`` (installing them if needed), or None and why."""
    prefix = cache / "npm"
    found = Replay(prefix / RECORD, prefix / REPLAY, prefix / REPLAY_CSS)
    packages = (f"@rrweb/record@{VERSION}", f"@rrweb/replay@{VERSION}")
    why = npm_install(prefix, packages, (found.record, found.replay, found.css))
    return (found, why) if why in ("cached", "installed") else (None, why)


def npm_install(prefix: Path, packages: tuple[str, ...], files: tuple[Path, ...]) -> str:
    """Install ``packages`` under ``prefix`` unless ``files`` are all there: "cached",
    "installed", or why not (npm missing or failing, files not where expected)."""
    if all(f.is_file() for f in files):
        return "cached"
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(  # noqa: S603 - our own fixed command line
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *packages],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return f"npm install failed: {detail.decode(errors='replace')[-300:] or error}"
    if not all(f.is_file() for f in files):
        return f"npm installed {packages[0]} but its files are not where expected"
    return "installed"


def packer_script(rr: Rrweb) -> str:
    """The packer as one classic script defining ``rrwebPacker``: its UMD build ``require()``s
    a shared chunk, which we hand it (the page has no module loader)."""
    base = next(rr.pack.parent.glob("base-*.umd.min.cjs")).read_text(encoding="utf-8")
    pack = rr.pack.read_text(encoding="utf-8")
    return (
        "(function () {\n"
        "var base = (function () { var module = { exports: {} }; var exports = module.exports;\n"
        + base
        + "\n;return module.exports; })();\n"
        "window.rrwebPacker = (function () { var module = { exports: {} };"
        " var exports = module.exports; var require = function () { return base; };\n"
        + pack
        + "\n;return module.exports; })();\n})();\n"
    )
