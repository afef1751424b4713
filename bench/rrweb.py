"""rrweb, the reference recorder, installed from the npm registry into a git-ignored cache.

Owns: installing pinned versions of rrweb's standalone recorder (``@rrweb/record``) and its
packer (``@rrweb/packer``) with ``npm install --prefix .cache/bench/npm``, and naming the
files the pages load. Never commits or vendors them. When npm is missing or fails, ``install``
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


@dataclass(frozen=True)
class Rrweb:
    record: Path
    pack: Path
    version: str = VERSION


def install(cache: Path) -> tuple[Rrweb | None, str]:
    """rrweb's files in ``cache`` (installing them if needed), or None and why not."""
    prefix = cache / "npm"
    found = Rrweb(prefix / RECORD, prefix / PACK)
    if found.record.is_file() and found.pack.is_file():
        return found, "cached"
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed"
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(  # noqa: S603 - our own fixed command line
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *PACKAGES],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return None, f"npm install failed: {detail.decode(errors='replace')[-300:] or error}"
    if not (found.record.is_file() and found.pack.is_file()):
        return None, "npm installed rrweb but its dist files are not where expected"
    return found, "installed"


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
