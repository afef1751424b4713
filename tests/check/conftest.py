"""Fixture site for `cobrowse check`: pages that each break one prerequisite, on loopback.

The site answers on two origins of one port (``127.0.0.1`` and ``localhost``), so a page can
embed a cross-origin iframe; an HTTPS twin with a self-signed certificate gives a TLS error.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tag_js import built_tag

PAGES = Path(__file__).resolve().parent / "pages"
TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".js": "text/javascript",
}


class SiteHandler(BaseHTTPRequestHandler):
    server_version = "fixture"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        port = self.server.server_address[1]
        if path == "/tag.js":
            self._send(200, built_tag(), "text/javascript")
        elif path == "/slow.html":
            time.sleep(8)  # never finishes within the test's --timeout
            with contextlib.suppress(OSError):  # the browser gave up long ago
                self._send(200, b"<title>slow</title>", "text/html")
        elif path == "/redirect.html":
            self._send(302, b"", "text/html", {"Location": f"http://localhost:{port}/clean.html"})
        elif path == "/large.html":
            rows = "".join(
                f"<p class=row>Row {i}: {'lorem ipsum dolor sit amet ' * 4}</p>"
                for i in range(21000)
            )
            body = (
                "<!DOCTYPE html><html><head><title>Large</title>"
                "<script src='/tag.js' async></script></head><body>" + rows + "</body></html>"
            )
            self._send(200, body.encode(), "text/html")
        elif path == "/auth.html":
            body = (PAGES / "auth.html").read_bytes()
            self._send(200, body, "text/html", {"Set-Cookie": "session=visitor; Path=/"})
        elif path == "/private/avatar.svg":
            if "session=visitor" in (self.headers.get("Cookie") or ""):
                self._send(200, (PAGES / "logo.svg").read_bytes(), "image/svg+xml")
            else:
                self._send(403, b"forbidden", "text/plain")
        else:
            file = (PAGES / path.lstrip("/")).resolve()
            if PAGES not in file.parents or not file.is_file():
                self._send(404, b"not found", "text/plain")
                return
            body = file.read_bytes().replace(b"__PORT__", str(port).encode())
            self._send(200, body, TYPES.get(file.suffix, "application/octet-stream"))


def _serve(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """http://127.0.0.1:PORT (also reachable as http://localhost:PORT, another origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    server.daemon_threads = True
    for _ in _serve(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same site over HTTPS with a self-signed certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for _ in _serve(server):
        yield f"https://127.0.0.1:{server.server_address[1]}"
