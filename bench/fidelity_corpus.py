"""The corpus of real pages ``scripts/bench_fidelity`` scores, built from real packages.

Owns: installing the pinned tools into a git-ignored cache (``.cache/bench/fidelity``: a venv
of its own for MkDocs Material, Sphinx with Furo and pydata-sphinx-theme, Django; an npm prefix
for Bootstrap, Bulma, Shoelace, Lit, Material Web, Fontsource fonts, Bootstrap Icons), building
the pages into ``site/`` there (documentation sites as their tools build them, the Django admin
rendered to static HTML by Django's own test client, pages of documented components), and the
list of pages with their licences. Also the two tiny self-contained smoke pages.
Must not: write anything outside the cache, or name any origin but loopback: a page that needs
another origin says ``__THIRD_PARTY__`` and the page server puts the second loopback origin there.
Run alone: ``scripts/fidelity_corpus`` (or ``python -m bench.fidelity_corpus``) builds and lists.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import venv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fidelity_pages import COMPONENT_PAGES, DJANGO_SCRIPT, MKDOCS, SMOKE_PAGES, SPHINX

PIP = (
    "mkdocs==1.6.1",
    "mkdocs-material==9.8.1",
    "sphinx==9.0.4",  # 9.1+ needs Python 3.12; the cache venv uses the project's Python
    "furo==2025.12.19",
    "pydata-sphinx-theme==0.24.0",
    "django==5.2.19",  # 6.x needs Python 3.12
)
NPM = (
    "bootstrap@5.3.8",
    "bulma@1.0.4",
    "@shoelace-style/shoelace@2.20.1",
    "lit@3.3.3",
    "@material/web@2.5.0",
    "@fontsource/inter@5.3.0",
    "@fontsource/merriweather@5.3.0",
    "bootstrap-icons@1.13.2",
)
LICENCES = (
    ("MkDocs 1.6.1", "BSD-2-Clause"),
    ("Material for MkDocs 9.8.1", "MIT"),
    ("Sphinx 9.0.4 (and its basic/alabaster theme)", "BSD-2-Clause"),
    ("Furo 2025.12.19", "MIT"),
    (
        "pydata-sphinx-theme 0.24.0 (bundles Font Awesome Free: icons CC BY 4.0, fonts OFL 1.1)",
        "BSD-3-Clause",
    ),
    ("Django 5.2.19 (the admin)", "BSD-3-Clause"),
    ("Bootstrap 5.3.8", "MIT"),
    ("Bootstrap Icons 1.13.2", "MIT"),
    ("Bulma 1.0.4", "MIT"),
    ("Shoelace 2.20.1", "MIT"),
    ("Lit 3.3.3", "BSD-3-Clause"),
    ("Material Web 2.5.0", "Apache-2.0"),
    ("Fontsource Inter 5.3.0, Merriweather 5.3.0", "OFL-1.1 (the fonts), MIT (the packages)"),
)


@dataclass(frozen=True)
class CorpusPage:
    name: str  # the row's name in FIDELITY.md and the images' file names
    path: str  # the URL path on the brand's origin
    source: str  # what built it, for the report
    quick: bool = False  # part of ``--quick``


PAGES = (
    CorpusPage("mkdocs-material-home", "/mkdocs/index.html", "MkDocs Material", quick=True),
    CorpusPage("mkdocs-material-reference", "/mkdocs/reference.html", "MkDocs Material"),
    CorpusPage("sphinx-furo-home", "/sphinx-furo/index.html", "Sphinx + Furo", quick=True),
    CorpusPage("sphinx-furo-api", "/sphinx-furo/api.html", "Sphinx + Furo"),
    CorpusPage("sphinx-pydata-home", "/sphinx-pydata/index.html", "Sphinx + pydata-sphinx-theme"),
    CorpusPage("sphinx-pydata-api", "/sphinx-pydata/api.html", "Sphinx + pydata-sphinx-theme"),
    CorpusPage("sphinx-alabaster-api", "/sphinx-alabaster/api.html", "Sphinx (alabaster)"),
    CorpusPage("django-admin-login", "/django/login.html", "Django admin"),
    CorpusPage("django-admin-index", "/django/index.html", "Django admin", quick=True),
    CorpusPage("django-admin-changelist", "/django/changelist.html", "Django admin"),
    CorpusPage("django-admin-change-form", "/django/change.html", "Django admin"),
    CorpusPage("bootstrap-components", "/components/bootstrap.html", "Bootstrap", quick=True),
    CorpusPage("bulma-components", "/components/bulma.html", "Bulma"),
    CorpusPage("shoelace-components", "/components/shoelace.html", "Shoelace", quick=True),
    CorpusPage("lit-components", "/components/lit.html", "Lit"),
    CorpusPage("material-web-components", "/components/material.html", "Material Web"),
    CorpusPage("third-party-embed", "/components/embed.html", "iframe from a 2nd origin", True),
    CorpusPage("brand-web-fonts", "/components/fonts.html", "Fontsource + Bootstrap Icons"),
)
SMOKE = (
    CorpusPage("smoke-article", "/smoke/article.html", "generated (no package)"),
    CorpusPage("smoke-form", "/smoke/form.html", "generated (no package)"),
)


class CorpusError(Exception):
    """The corpus could not be built (a tool failed to install or to build); says which."""


def build(cache: Path, *, smoke: bool, progress: Callable[[str], None]) -> Path:
    """The served folder (``cache/site``), built if the pinned tools or pages changed.

    ``smoke`` builds only the self-contained smoke pages (no registry needed)."""
    site = cache / "site"
    _write_pages(site, SMOKE_PAGES)
    if smoke:
        return site
    stamp = site / ".built"
    key = hashlib.sha256(
        json.dumps([PIP, NPM, MKDOCS, SPHINX, DJANGO_SCRIPT, COMPONENT_PAGES]).encode()
    ).hexdigest()
    if stamp.is_file() and stamp.read_text() == key:
        return site
    python = _venv(cache / "venv", progress)
    npm_root = _npm(cache / "npm", progress)
    link = site / "npm"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(npm_root, target_is_directory=True)
    _mkdocs(python, cache / "src" / "mkdocs", site / "mkdocs", progress)
    for theme in ("furo", "pydata", "alabaster"):
        _sphinx(
            python, theme, cache / "src" / f"sphinx-{theme}", site / f"sphinx-{theme}", progress
        )
    _django(python, cache / "src" / "django", site / "django", progress)
    _write_pages(site, COMPONENT_PAGES)
    stamp.write_text(key)
    return site


def _run(command: list[str], what: str, cwd: Path | None = None, timeout: float = 600) -> None:
    try:
        subprocess.run(  # noqa: S603 - our own fixed command lines
            command, check=True, capture_output=True, timeout=timeout, cwd=cwd
        )
    except subprocess.CalledProcessError as error:
        tail = (error.stderr or b"").decode(errors="replace")[-800:]
        raise CorpusError(f"{what} failed: {tail}") from None
    except (subprocess.TimeoutExpired, OSError) as error:
        raise CorpusError(f"{what} failed: {error}") from None


def _venv(folder: Path, progress: Callable[[str], None]) -> Path:
    python = folder / "bin" / "python"
    marker = folder / ".pinned"
    if marker.is_file() and marker.read_text() == "\n".join(PIP):
        return python
    progress(f"installing {', '.join(PIP)} into {folder}")
    if not python.is_file():
        venv.create(folder, with_pip=True)
    _run([str(python), "-m", "pip", "install", "--quiet", *PIP], "pip install")
    marker.write_text("\n".join(PIP))
    return python


def _npm(prefix: Path, progress: Callable[[str], None]) -> Path:
    modules = prefix / "node_modules"
    marker = prefix / ".pinned"
    if marker.is_file() and marker.read_text() == "\n".join(NPM):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise CorpusError("npm is not installed (the component pages need it)")
    progress(f"installing {', '.join(NPM)} with npm into {prefix}")
    prefix.mkdir(parents=True, exist_ok=True)
    _run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *NPM], "npm")
    marker.write_text("\n".join(NPM))
    return modules


def _write_pages(site: Path, pages: dict[str, str]) -> None:
    for relative, html in pages.items():
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")


def _mkdocs(python: Path, src: Path, out: Path, progress: Callable[[str], None]) -> None:
    progress("building the MkDocs Material site")
    _write_pages(src, MKDOCS)
    _run([str(python), "-m", "mkdocs", "build", "--quiet", "--site-dir", str(out)], "mkdocs", src)


def _sphinx(
    python: Path, theme: str, src: Path, out: Path, progress: Callable[[str], None]
) -> None:
    progress(f"building the Sphinx site ({theme})")
    html_theme = {"furo": "furo", "pydata": "pydata_sphinx_theme", "alabaster": "alabaster"}
    pages = dict(SPHINX)
    pages["conf.py"] = pages["conf.py"] + f"html_theme = {html_theme[theme]!r}\n"
    _write_pages(src, pages)
    command = [str(python), "-m", "sphinx", "-q", "-b", "html", str(src), str(out)]
    _run(command, f"sphinx-build ({theme})")


def _django(python: Path, src: Path, out: Path, progress: Callable[[str], None]) -> None:
    progress("rendering the Django admin to static HTML")
    src.mkdir(parents=True, exist_ok=True)
    script = src / "render_admin.py"
    script.write_text(textwrap.dedent(DJANGO_SCRIPT), encoding="utf-8")
    _run([str(python), str(script), str(out)], "the Django admin", src)


def main() -> int:
    from bench.env import ROOT

    cache = ROOT / ".cache" / "bench" / "fidelity"
    try:
        site = build(cache, smoke=False, progress=lambda line: print(line, file=sys.stderr))
    except CorpusError as error:
        print(f"bench_fidelity: {error}", file=sys.stderr)
        return 1
    for page in (*PAGES, *SMOKE):
        print(f"{page.name}\t{site}{page.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
