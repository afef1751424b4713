"""The web tag: ``tag.js`` is the readable source, :func:`built_tag` what browsers get.

Owns turning the source into the bytes the relay serves at ``/tag.js``: comments and
whitespace stripped by rjsmin (a conservative minifier: it renames and rewrites nothing), once
per process, kept in memory. Must not change what the code does; the tag's browser tests load
these same bytes, and a test holds them to ``GZIP_BUDGET``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import rjsmin  # type: ignore[import-untyped]

SOURCE = Path(__file__).resolve().parent / "tag.js"
# Bytes of `gzip -9` of the built tag: what a visitor's browser downloads on every brand page.
GZIP_BUDGET = 24_000


@cache
def built_tag() -> bytes:
    """The minified tag (UTF-8). Read and minified on the first call, then cached."""
    return str(rjsmin.jsmin(SOURCE.read_text(encoding="utf-8"))).encode()


@cache
def built_tag_etag() -> str:
    """A strong ETag for :func:`built_tag`: a digest of its bytes, so it changes with them."""
    return '"' + hashlib.sha256(built_tag()).hexdigest()[:32] + '"'
