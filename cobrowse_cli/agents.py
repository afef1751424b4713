"""``cobrowse agent add``: add an agent account (scrypt-hashed password) to a settings file.

Owns: appending one ``[[agents]]`` block and checking that the file still loads before it
replaces the original. Must not: print or keep the password.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from relay.passwords import hash_password
from relay.settings import SettingsError, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="agent_command", required=True)
    add = commands.add_parser("add", help="add an agent with a scrypt-hashed password")
    add.add_argument("--config", required=True, help="settings file (TOML) to append to")
    add.add_argument("--id", required=True, help="sign-in name")
    add.add_argument("--name", help="display name shown to visitors (default: the id)")
    add.add_argument("--brand", action="append", required=True, help="brand id (repeatable)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def run(args: argparse.Namespace) -> int:
    return _agent_add(args)


_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _agent_add(args: argparse.Namespace) -> int:
    if not _ID_RE.match(args.id):
        print("cobrowse: --id may use letters, digits, '_', '.', '-' (1..64)", file=sys.stderr)
        return 2
    password = (
        sys.stdin.readline().rstrip("\n")
        if args.password_stdin
        else getpass.getpass(f"password for {args.id}: ")
    )
    if len(password) < 8:
        print("cobrowse: the password needs at least 8 characters", file=sys.stderr)
        return 2
    path = Path(args.config)
    if path.exists():
        try:
            existing = load_settings(path, env={})
        except SettingsError as error:
            print(f"cobrowse: {error}", file=sys.stderr)
            return 2
        if any(agent.id == args.id for agent in existing.agents):
            print(f"cobrowse: agent {args.id!r} already exists in {path}", file=sys.stderr)
            return 2
    block = (
        "\n[[agents]]\n"
        + "\n".join(
            [
                f"id = {_toml_str(args.id)}",
                f"name = {_toml_str(args.name or args.id)}",
                f"password_hash = {_toml_str(hash_password(password))}",
                "brands = [" + ", ".join(_toml_str(b) for b in args.brand) + "]",
            ]
        )
        + "\n"
    )
    # Write to a temporary file beside it and check it loads before replacing the original,
    # so a mistake never leaves a settings file the relay cannot start with.
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    candidate = path.with_name(path.name + ".new")
    candidate.write_text(before + block, encoding="utf-8")
    try:
        load_settings(candidate, env={})
    except SettingsError as error:
        candidate.unlink()
        print(f"cobrowse: not written: {error}", file=sys.stderr)
        return 2
    candidate.replace(path)
    print(f"added agent {args.id!r} to {path}")
    return 0


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
