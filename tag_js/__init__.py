"""The web tag: the parts in ``src/`` are the readable source, :func:`built_tag` what browsers get.

Owns turning the parts into the bytes the relay serves at ``/tag.js``: joined in the order of
``PARTS`` (the tag is one function, opened by ``open.js`` and closed by ``close.js``), the wire's
shared facts the tag reads written in from ``wire/grammar.json``, then comments and whitespace
stripped by rjsmin (a conservative minifier: it renames and rewrites nothing), once per process,
kept in memory. Must not change what the code does; the tag's browser tests load these same
bytes, and a test holds them to ``GZIP_BUDGET``. ``python -m tag_js`` prints the joined,
unminified tag (for debugging).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

import rjsmin  # type: ignore[import-untyped]

from wire.grammar import GRAMMAR

SRC = Path(__file__).resolve().parent / "src"
# The parts in the order they run at load: a part may use at load what an earlier part declared
# (function declarations are hoisted across all of them). Every .js file in src/ is listed here.
PARTS = (
    "open.js",  # the tag's contract, the function every part runs in, the load guard
    "pristine.js",  # built-ins captured at load, helpers, the relay's address, stored state
    "masking.js",  # the mask policy as data
    "serialize.js",  # node ids (the mirror), one node's wire form, shadow roots, CSSOM
    "walker.js",  # a tree into one message's nodes, in chunks
    "transport.js",  # the visitor socket, incoming messages
    "capture.js",  # the session, the snapshot stream, mutations
    "events.js",  # the visitor's presence events
    "actions.js",  # the agent's presence and actions
    "ui.js",  # chat, invite and session frame (closed shadow root)
    "start.js",  # tab identity, start
    "close.js",
)
# The wire's facts the tag reads (wire/grammar.json): the parts say WIRE.<key>, and the build
# writes each value in place as a JavaScript literal (a pattern as a regex literal). Only these
# keys, and no WIRE object: every byte of the tag is downloaded on every brand page.
WIRE_KEYS = {
    "mask_placeholder": "string",
    "element_name": "pattern",
    "attribute_name": "pattern",
    "max_depth": "number",
}
# Bytes of `gzip -9` of the built tag: what a visitor's browser downloads on every brand page.
GZIP_BUDGET = 24_000


class BuildError(Exception):
    """The parts cannot be joined into the tag (a part missing or unlisted, a wire fact unknown or
    unused): a fault of this package's source, found when the tag is first built."""


def _literal(key: str, kind: str) -> str:
    """The grammar's value for ``key`` as a JavaScript literal of ``kind``."""
    value = GRAMMAR.get(key)
    if kind == "number" and type(value) is int:
        return str(value)
    if kind == "string" and isinstance(value, str):
        # ensure_ascii: also escapes U+2028 and U+2029, which end a line in older JavaScript.
        return json.dumps(value, ensure_ascii=True)
    if kind == "pattern" and isinstance(value, str) and value.isascii() and "\n" not in value:
        # The grammar's patterns are written for both Python's re and RegExp (ASCII, \uXXXX
        # escapes): only an unescaped "/" needs escaping to sit in a regex literal.
        return "/" + re.sub(r"(\\.)|/", lambda m: m.group(1) or "\\/", value) + "/"
    raise BuildError(f"wire/grammar.json has no {kind} {key!r} for the tag")


@cache
def joined_tag() -> str:
    """The tag's parts joined, with the wire's facts written in: readable, not minified.

    Raises :class:`BuildError` when ``src/`` does not hold exactly ``PARTS``, or the parts read a
    ``WIRE.<key>`` that ``WIRE_KEYS`` does not list, or do not read one it lists."""
    found = {path.name for path in SRC.glob("*.js")}
    if found != set(PARTS) or len(PARTS) != len(found):
        raise BuildError(f"tag_js/src/*.js {sorted(found)} is not PARTS {list(PARTS)}")
    source = "\n".join((SRC / name).read_text(encoding="utf-8") for name in PARTS)
    used = set(re.findall(r"\bWIRE\.(\w+)", source))
    if used != set(WIRE_KEYS):
        raise BuildError(f"the tag reads WIRE.{sorted(used)}, WIRE_KEYS lists {list(WIRE_KEYS)}")
    for key, kind in WIRE_KEYS.items():
        # A replacement template: its backslashes (the pattern's escapes) must be doubled.
        source = re.sub(rf"\bWIRE\.{key}\b", _literal(key, kind).replace("\\", "\\\\"), source)
    return source


@cache
def built_tag() -> bytes:
    """The minified tag (UTF-8). Joined and minified on the first call, then cached."""
    return str(rjsmin.jsmin(joined_tag())).encode()


@cache
def built_tag_etag() -> str:
    """A strong ETag for :func:`built_tag`: a digest of its bytes, so it changes with them."""
    return '"' + hashlib.sha256(built_tag()).hexdigest()[:32] + '"'
