"""The house's floors: which package may import which, no import loop, and tools outside the
server.

Reads every shipped module's imports with ``ast`` (module level and inside functions alike), so
a lazy import that runs the wrong way is caught too.
"""

from __future__ import annotations

import functools
import json
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


# Run in a fresh interpreter: CPython 3.11.7's ast.parse can fail with "AST constructor
# recursion depth mismatch" after this test process ran deep-recursion tests.
_READ_IMPORTS = r"""
import ast, json, sys
from pathlib import Path
root, packages = Path(sys.argv[1]), sys.argv[2:]
table = {}
for package in packages:
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        entry = {}
        for scope, nodes in (("all", list(ast.walk(tree))), ("top", tree.body)):
            names = set()
            for node in nodes:
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module)
                    names.update(node.module + "." + alias.name for alias in node.names)
            entry[scope] = sorted(names)
        table[name] = entry
print(json.dumps(table))
"""


@functools.cache
def _table() -> dict[str, dict[str, list[str]]]:
    """module name -> {"all": every import in it, "top": its module-level imports}."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _READ_IMPORTS, str(ROOT), *FLOORS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table: dict[str, dict[str, list[str]]] = json.loads(out)
    return table


def _modules() -> list[str]:
    return list(_table())


def _imports(name: str, *, module_level_only: bool) -> set[str]:
    return set(_table()[name]["top" if module_level_only else "all"])


def test_no_package_imports_a_higher_floor_or_a_neighbour() -> None:
    wrong = []
    for name in _modules():
        here = name.split(".")[0]
        for imported in _imports(name, module_level_only=False):
            there = imported.split(".")[0]
            if there in FLOORS and there != here and FLOORS[there] >= FLOORS[here]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_import_loop_between_modules() -> None:
    modules = set(_modules())
    graph = {
        name: {m for m in _imports(name, module_level_only=True) if m in modules and m != name}
        for name in modules
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
    for name in _modules():
        if name.split(".")[0] == "wire":
            ours = {m for m in _imports(name, module_level_only=False) if m.split(".")[0] in FLOORS}
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


def test_only_the_entry_point_imports_the_composed_server() -> None:
    """``relay.app`` composes the adapters; an adapter importing it would close a circle."""
    importers = {
        name
        for name in _modules()
        if name.startswith("relay") and "relay.app" in _imports(name, module_level_only=False)
    }
    assert importers == {"relay.serve"}
