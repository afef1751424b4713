"""The tag as browsers get it: the relay serves the built (minified) tag, the same bytes the
browser tests run, and it stays within its download budget."""

from __future__ import annotations

import gzip
from dataclasses import replace

from starlette.testclient import TestClient
from tagharness import TAG

from relay.app import RelayServer
from relay.settings import demo_settings
from tag_js import GZIP_BUDGET, SOURCE, built_tag


def test_the_relay_serves_the_built_tag_the_browser_tests_run() -> None:
    server = RelayServer(replace(demo_settings(), secret_key="test-secret"))
    client = TestClient(server.app)
    response = client.get("/tag.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.content == TAG == built_tag()
    source = SOURCE.read_bytes()
    assert b"// " in source and len(TAG) < len(source) * 0.8  # comments and indentation are gone
    # Revalidation: the same ETag gets a 304 without the body.
    etag = response.headers["etag"]
    again = client.get("/tag.js", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag


def test_the_built_tag_fits_its_gzip_budget() -> None:
    size = len(gzip.compress(built_tag(), compresslevel=9, mtime=0))
    assert size <= GZIP_BUDGET, f"gzip -9 of the built tag is {size} bytes, over {GZIP_BUDGET}"
