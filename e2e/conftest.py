"""End-to-end fixtures: the real product (`python -m relay`, as `cobrowse serve` runs it) on a free
loopback port, and a recording origin for leak tests."""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cobrowse_qa.driver import RelayProcess


@contextlib.contextmanager
def relay_process(log_dir: Path, config: Path | None = None) -> Iterator[RelayProcess]:
    """`python -m relay` (the QA harness's ``RelayProcess``) on a free loopback port, with the
    embedded demo or ``config``, conversations in memory (its log in ``log_path``). Fails the
    test run if the relay logged a traceback. ``COBROWSE_E2E_LOG_LEVEL=info`` shows more."""
    relay = RelayProcess(
        log_dir,
        config,
        # An empty COBROWSE_DATABASE overrides nothing: the demo's in-memory conversations.
        env={"COBROWSE_SECRET_KEY": "e2e-secret-key", "COBROWSE_DATABASE": ""},
        log_level=os.environ.get("COBROWSE_E2E_LOG_LEVEL", "warning"),
    )
    with relay:
        yield relay


@contextlib.contextmanager
def run_relay(log_dir: Path, config: Path | None = None) -> Iterator[str]:
    """``relay_process``, yielding its base URL."""
    with relay_process(log_dir, config) as relay:
        yield relay.url


@pytest.fixture(scope="session")
def relay_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `cobrowse serve` exactly as the README does, with the embedded demo config."""
    with run_relay(tmp_path_factory.mktemp("relay")) as url:
        yield url


@dataclass
class Recorder:
    """Another origin on loopback (``url``) that answers 404 and records every path asked."""

    url: str = ""
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def hostile() -> Iterator[Recorder]:
    """A ``Recorder``: a request there from the agent's browser is a leak."""
    recorder = Recorder()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()
