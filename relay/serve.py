"""Run the relay: ``python -m relay`` and ``cobrowse serve`` (relay, agent workspace, demo site).

Owns: the serve command's options, the start-up message and starting uvicorn with the relay's
HTTP protocol (``relay.headers.http_protocol``: request timeouts) and WebSocket protocol.
Must not: import tools (the QA harness, the compatibility check): what a server process loads
is the server.
"""

from __future__ import annotations

import argparse
import sys

from relay import logs
from relay.settings import (
    DEMO_AGENT_LOGIN,
    DEMO_AGENT_PASSWORD,
    SettingsError,
    load_settings,
    shown_database,
    shown_redis_url,
)

HELP = "run the relay, agent workspace and demo site"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8700)")
    parser.add_argument("--config", help="settings file (TOML); default: the embedded demo")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=logs.FORMATS,
        help="text lines (default) or one JSON object a line, uvicorn's too",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from relay.app import RelayServer
    from relay.headers import http_protocol
    from relay.store import StoreError
    from relay.websocket import CobrowseWebSocketProtocol

    try:
        settings = load_settings(args.config)
    except SettingsError as error:
        print(f"cobrowse: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    node = logs.node_id()
    logs.configure(args.log_format, args.log_level, node)
    try:
        server = RelayServer(settings, settings_path=args.config, node=node)
    except StoreError as error:  # PostgreSQL or Redis unreachable: one line, no password
        print(f"cobrowse: {error}", file=sys.stderr)
        return 2
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    base = f"http://{shown}:{port}"
    print(f"cobrowse relay on {base}", flush=True)
    print(f"  agent workspace: {base}/agent", flush=True)
    stored = (
        "in memory (set COBROWSE_DATABASE to keep them)"
        if settings.database == ":memory:"
        else shown_database(settings.database)
    )
    print(f"  conversations:   {stored}", flush=True)
    if settings.redis_url is not None:
        print(f"  fleet (live state, routing): {shown_redis_url(settings.redis_url)}", flush=True)
        print(f"  node: {node}", flush=True)
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
        # JSON: uvicorn's loggers keep none of their own handlers, so ours format their lines.
        log_config=None if args.log_format == "json" else LOGGING_CONFIG,
        ws_max_size=settings.limits.visitor_frame_bytes,
        ws_per_message_deflate=True,
        ws=CobrowseWebSocketProtocol,
        # A request's head and body must arrive in time (a slowloris holds nothing). No
        # limit_concurrency: uvicorn counts WebSockets in it, so a flood would refuse real
        # visitors; the relay's own per-address and per-brand limits bound those instead.
        http=http_protocol(
            settings.limits.http_header_timeout_seconds, settings.limits.http_body_timeout_seconds
        ),
        # Behind a load balancer: its X-Forwarded-For names the client, for the rate limits
        # (None: uvicorn's default, 127.0.0.1 or $FORWARDED_ALLOW_IPS).
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )
    return 0
