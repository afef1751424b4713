"""The tag as browsers get it: the relay serves the built (minified) tag, the same bytes the
browser tests run, and it stays within its download budget."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from tagharness import TAG

import tag_js
from relay.app import RelayServer
from relay.settings import demo_settings
from tag_js import GZIP_BUDGET, BuildError, built_tag, joined_tag
from wire.grammar import MASK_PLACEHOLDER, MAX_DEPTH


def test_the_relay_serves_the_built_tag_the_browser_tests_run() -> None:
    server = RelayServer(replace(demo_settings(), secret_key="test-secret"))
    client = TestClient(server.app)
    response = client.get("/tag.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.content == TAG == built_tag()
    source = joined_tag().encode()
    assert b"// " in source and len(TAG) < len(source) * 0.8  # comments and indentation are gone
    # Revalidation: the same ETag gets a 304 without the body.
    etag = response.headers["etag"]
    again = client.get("/tag.js", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag


def test_the_built_tag_fits_its_gzip_budget() -> None:
    size = len(gzip.compress(built_tag(), compresslevel=9, mtime=0))
    assert size <= GZIP_BUDGET, f"gzip -9 of the built tag is {size} bytes, over {GZIP_BUDGET}"


def test_the_tag_takes_the_wires_facts_from_the_grammar() -> None:
    source = joined_tag()
    assert re.search(r"\bWIRE\.\w", source) is None
    assert f"var PLACEHOLDER = {json.dumps(MASK_PLACEHOLDER)};" in source
    assert f"var MAX_DEPTH = {MAX_DEPTH} - " in source
    # The grammar's pattern, as a regex literal: "/" is the only character it has to escape.
    assert "var ATTR_RE = /^[^\\x00-\\x20" in source and "<>\\/=]{1,256}$/;" in source


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the parts that the build reads instead of ``tag_js/src`` (its cache cleared)."""
    copy = tmp_path / "src"
    shutil.copytree(tag_js.SRC, copy)
    monkeypatch.setattr(tag_js, "SRC", copy)
    joined_tag.cache_clear()
    yield copy
    joined_tag.cache_clear()


def test_a_wire_fact_the_grammar_lacks_fails_the_build(parts: Path) -> None:
    masking = parts / "masking.js"
    masking.write_text(masking.read_text().replace("WIRE.max_depth", "WIRE.max_dept"))
    with pytest.raises(BuildError, match="max_dept"):
        joined_tag()


def test_a_part_not_in_parts_fails_the_build(parts: Path) -> None:
    (parts / "extra.js").write_text("var x = 1;\n")
    with pytest.raises(BuildError, match=r"extra\.js"):
        joined_tag()
