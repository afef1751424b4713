"""A brand's web server on loopback for the resource proxy's tests: real files (a TrueType font
from the system's fonts, a PNG), a stylesheet, redirects, wrong types and oversized bodies.

``BrandOrigin.url`` is its origin; ``add(path, body, content_type, ...)`` serves a file there;
``hits`` records each request's path and headers (to see what the proxy sent).
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

# A monospaced font: text set in it is much wider than in the serif fallback, so a page can
# tell by measuring whether it was applied. From Debian's fonts-dejavu-core.
FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


def png(width: int = 4, height: int = 4, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


@dataclass
class Answer:
    body: bytes
    content_type: str | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Sent without Content-Length, in pieces, closing the connection at the end (a length the
    # proxy learns only by reading).
    streamed: bool = False


@dataclass
class BrandOrigin:
    url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(
        self,
        path: str,
        body: bytes,
        content_type: str | None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        streamed: bool = False,
    ) -> str:
        """Serve ``body`` at ``path``; returns its absolute URL."""
        self.answers[path] = Answer(body, content_type, status, headers or {}, streamed)
        return self.url + path

    def paths(self) -> list[str]:
        return [path for path, _ in self.hits]


@contextmanager
def brand_origin(host: str = "127.0.0.1") -> Iterator[BrandOrigin]:
    """A ``BrandOrigin`` on a free port of ``host``, stopped at the end."""
    origin = BrandOrigin()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            origin.hits.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            answer = origin.answers.get(self.path)
            if answer is None:
                answer = Answer(b"not here", "text/plain", 404)
            self.send_response(answer.status)
            if answer.content_type is not None:
                self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.streamed:
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for start in range(0, len(answer.body), 16 * 1024):
                        self.wfile.write(answer.body[start : start + 16 * 1024])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the proxy stopped reading: what it should do past its limit
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin.url = f"http://{host}:{server.server_address[1]}"
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
