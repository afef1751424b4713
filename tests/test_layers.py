"""The house's floors: which package may import which, no import loop, and tools outside the
server.

Reads every shipped module's imports with ``ast`` (module level and inside functions alike), so
a lazy import that runs the wrong way is caught too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower floors never import higher ones. Packages on one floor do not import each other.
FLOORS = {
    "wire": 0,
    "tag_js": 1,
    "renderer": 1,
    "relay": 2,
    "cobrowse_qa": 3,
    "cobrowse_check": 4,
    "cobrowse_cli": 5,
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_package_imports_a_higher_floor_or_a_neighbour() -> None:
    wrong = []
    for name, path in _modules().items():
        here = name.split(".")[0]
        for imported in _imports(path, module_level_only=False):
            there = imported.split(".")[0]
            if there in FLOORS and there != here and FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_import_loop_between_modules() -> None:
    modules = _modules()
    graph = {
        name: {m for m in _imports(path, module_level_only=True) if m in modules and m != name}
        for name, path in modules.items()
    }
    # Depth-first search for a back edge; report the loop it closes.
    state: dict[str, int] = {}
    loops: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                loops.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert loops == []


def test_wire_imports_nothing_of_ours_but_itself() -> None:
    for name, path in _modules().items():
        if name.split(".")[0] == "wire":
            ours = {m for m in _imports(path, module_level_only=False) if m.split(".")[0] in FLOORS}
            assert {m.split(".")[0] for m in ours} <= {"wire"}, name


def test_serve_loads_no_tool() -> None:
    """``cobrowse serve`` imports the server and nothing of the QA harness, the check or
    test tooling (a subprocess, so this test run's own imports do not count)."""
    probe = (
        "import sys\n"
        "from cobrowse_cli.cli import parse\n"
        "module, args = parse(['serve', '--port', '1'])\n"
        "import relay.app\n"
        "print(module.__name__)\n"
        "print(' '.join(sorted(m for m in sys.modules)))\n"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe text
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split("\n")
    assert out[0] == "relay.serve"
    loaded = out[1].split()
    tools = ("cobrowse_qa", "cobrowse_check", "yaml", "pytest", "hypothesis", "_pytest")
    assert [m for m in loaded if m.split(".")[0] in tools] == []
    assert "relay.app" in loaded  # the probe did load the server
