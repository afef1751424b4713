"""End-to-end fixtures: the real product (`cobrowse serve`) on a free loopback port."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def run_relay(log_dir: Path, *args: str) -> Iterator[str]:
    """Run `cobrowse serve` with ``args`` on a free loopback port; yields its base URL.

    Fails the test run if the relay logged a traceback.
    """
    port = _free_port()
    env = {**os.environ, "COBROWSE_SECRET_KEY": "e2e-secret-key"}
    env.pop("COBROWSE_DATABASE", None)
    log_path = log_dir / "relay.log"
    log = log_path.open("w")  # a file, not a pipe: a pipe nobody reads can stall the server
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "relay",
            "--port",
            str(port),
            "--log-level",
            os.environ.get("COBROWSE_E2E_LOG_LEVEL", "warning"),
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            raise RuntimeError(f"cobrowse serve did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
    assert not errors, f"the relay logged tracebacks:\n{log_path.read_text()}"


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
