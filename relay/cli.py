"""The ``cobrowse`` command: ``serve``, ``sanitize``, ``agent add`` and ``scenario run``.

Owns: argument parsing and friendly errors (no traceback for a user's mistake).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys
from pathlib import Path

from relay.passwords import hash_password
from relay.settings import DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cobrowse", description="Self-hostable co-browsing.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the relay, agent workspace and demo site")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8700)")
    serve.add_argument("--config", help="settings file (TOML); default: the embedded demo")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    sanitize = commands.add_parser("sanitize", help="print what the agent would receive for a page")
    sanitize.add_argument("file", help="an HTML file")
    sanitize.add_argument("--json", action="store_true", help="print the node structure as JSON")
    sanitize.add_argument(
        "--base-url",
        default="https://example.invalid/",
        help="URL the page is treated as coming from",
    )

    from relay.check.cli import add_parser as add_check_parser

    add_check_parser(commands)

    agent = commands.add_parser("agent", help="manage agent accounts in a settings file")
    agent_commands = agent.add_subparsers(dest="agent_command", required=True)
    add = agent_commands.add_parser("add", help="add an agent with a scrypt-hashed password")
    add.add_argument("--config", required=True, help="settings file (TOML) to append to")
    add.add_argument("--id", required=True, help="sign-in name")
    add.add_argument("--name", help="display name shown to visitors (default: the id)")
    add.add_argument("--brand", action="append", required=True, help="brand id (repeatable)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    scenario = commands.add_parser("scenario", help="run co-browse QA scenarios (YAML)")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True)
    from cobrowse_qa.cli import add_arguments as add_scenario_arguments

    add_scenario_arguments(
        scenario_commands.add_parser("run", help="validate, run and report scenario files")
    )

    args = parser.parse_args(argv)
    if args.command == "scenario":
        from cobrowse_qa.cli import run as run_scenarios

        return run_scenarios(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "sanitize":
        from renderer.sanitize_cli import main as sanitize_main

        rest = [args.file, "--base-url", args.base_url] + (["--json"] if args.json else [])
        return sanitize_main(rest)
    if args.command == "check":
        from relay.check.cli import run as check_main

        return check_main(args)
    return _agent_add(args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from relay.app import RelayServer
    from relay.websocket import CobrowseWebSocketProtocol

    try:
        settings = load_settings(args.config)
    except SettingsError as error:
        print(f"cobrowse: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    server = RelayServer(settings, settings_path=args.config)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    base = f"http://{shown}:{port}"
    print(f"cobrowse relay on {base}", flush=True)
    print(f"  agent workspace: {base}/agent", flush=True)
    stored = (
        "in memory (set COBROWSE_DATABASE to keep them)"
        if settings.database == ":memory:"
        else settings.database
    )
    print(f"  conversations:   {stored}", flush=True)
    if settings.demo:
        print(f"  demo site:       {base}/demo/", flush=True)
        if args.config is None:  # a settings file has its own agents
            print(f"  demo agent sign-in: {DEMO_AGENT_LOGIN} / {DEMO_AGENT_PASSWORD}", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(
                "  warning: the demo account is public; use --config for anything but a demo",
                file=sys.stderr,
                flush=True,
            )
    uvicorn.run(
        server.app,
        host=host,
        port=port,
        log_level=args.log_level,
        access_log=False,
        ws_max_size=settings.limits.visitor_frame_bytes,
        ws_per_message_deflate=True,
        ws=CobrowseWebSocketProtocol,
    )
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
