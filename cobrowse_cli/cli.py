"""The ``cobrowse`` command: ``serve``, ``sanitize``, ``check``, ``agent add`` and ``scenario run``.

Owns: the table of commands and argument parsing. Each command lives in the package that does
the work, as a module with ``add_arguments(parser)`` and ``run(args) -> exit status``;
only the module of the command being run is imported, so ``cobrowse serve`` loads the server
and nothing of the QA harness or the compatibility check. Must not: print a traceback for a
user's mistake (each command answers its own with exit status 2).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

# command -> (the module that defines and runs it, its one-line help for `cobrowse --help`)
COMMANDS: Final = {
    "serve": ("relay.serve", "run the relay, agent workspace and demo site"),
    "sanitize": ("renderer.sanitize_cli", "print what the agent would receive for a page"),
    "check": (
        "cobrowse_check.cli",
        "run a real co-browse session on pages and report what works",
    ),
    "agent": ("cobrowse_cli.agents", "manage agent accounts in a settings file"),
    "scenario": ("cobrowse_qa.cli", "run co-browse QA scenarios (YAML)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    module, args = parse(list(sys.argv[1:] if argv is None else argv))
    status: int = module.run(args)
    return status


def parse(args_in: list[str]) -> tuple[ModuleType, argparse.Namespace]:
    """The module of the chosen command (imported now, alone) and its parsed arguments.

    Exits through argparse (status 2, usage printed) on a mistake, as ``--help`` does."""
    parser = argparse.ArgumentParser(prog="cobrowse", description="Self-hostable co-browsing.")
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = next((a for a in args_in if not a.startswith("-")), None)
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
    args = parser.parse_args(args_in)
    assert module is not None  # argparse refused any other command
    return module, args


if __name__ == "__main__":
    raise SystemExit(main())
