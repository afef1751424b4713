"""The node grammar's shared facts as data (``wire/grammar.json``), and the one namespace rule.

Owns: every constant that more than one end of the wire needs (id range, depth limit,
indentation bound, mask placeholder, name patterns, state entries, which elements may host a
shadow root) and ``child_namespace``, the rule that says which namespace a child element is
in. ``wire/nodes.js`` (the JavaScript reader, used by the renderer's sanitizer page and by the
agent's replica) inlines the same JSON, and the tag's build writes in the values it uses: no end
keeps its own copy.
Must not: judge content (which elements or attributes are safe): that is the renderer's policy.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

PATH: Final = Path(__file__).resolve().parent / "grammar.json"
GRAMMAR: Final[Mapping[str, Any]] = json.loads(PATH.read_text(encoding="utf-8"))

MAX_ID: Final[int] = GRAMMAR["max_id"]  # ids must stay exact in JavaScript (2**53 - 1)
MAX_DEPTH: Final[int] = GRAMMAR["max_depth"]  # nesting of a node tree; a root is depth 1
MAX_INDENT: Final[int] = GRAMMAR["max_indent"]  # an indentation child: "\n" + at most this many
MASK_PLACEHOLDER: Final[str] = GRAMMAR["mask_placeholder"]  # what a masked value reads as
ELEMENT_NAME: Final = re.compile(GRAMMAR["element_name"])
ATTRIBUTE_NAME: Final = re.compile(GRAMMAR["attribute_name"])
STATE_ENTRIES: Final = frozenset(GRAMMAR["state_entries"])
SHADOW_HOSTS: Final = frozenset(GRAMMAR["shadow_hosts"])
CUSTOM_ELEMENT_NAME: Final = re.compile(GRAMMAR["custom_element_name"])
RESERVED_CUSTOM_NAMES: Final = frozenset(GRAMMAR["reserved_custom_names"])

HTML: Final = "html"
SVG: Final = "svg"
MATH: Final = "math"
NAMESPACE_URIS: Final[Mapping[str, str]] = GRAMMAR["namespaces"]

_FOREIGN_ROOTS: Final[Mapping[str, str]] = GRAMMAR["foreign_roots"]
_INTEGRATION: Final = {ns: frozenset(v) for ns, v in GRAMMAR["html_integration_points"].items()}
_MATHML_TEXT_CHILDREN: Final = frozenset(GRAMMAR["mathml_text_children"])
_HTML_ENCODINGS: Final = frozenset(GRAMMAR["annotation_xml_html_encodings"])


def child_namespace(
    parent_ns: str | None, parent_name: str, parent_attrs: Mapping[str, Any] | None, child: str
) -> str:
    """The namespace (``html``, ``svg`` or ``math``) of element ``child`` under its parent,
    as the HTML parser's tree construction decides it; ``parent_ns`` is None for a document or
    shadow root.

    In HTML, ``svg`` and ``math`` enter their namespaces. Inside SVG, ``foreignObject``,
    ``desc`` and ``title`` are HTML integration points; inside MathML, ``mi``/``mo``/``mn``/
    ``ms``/``mtext`` are text integration points (whose ``mglyph`` and ``malignmark`` stay
    MathML), and ``annotation-xml`` holds SVG when the child is ``svg`` and HTML when its
    ``encoding`` is text/html or application/xhtml+xml. Every reader builds with this rule,
    so the tree the sanitizer judged is the tree the agent's browser builds."""
    if parent_ns == SVG:
        if parent_name not in _INTEGRATION[SVG]:
            return SVG
    elif parent_ns == MATH:
        if parent_name in _INTEGRATION[MATH]:
            if child in _MATHML_TEXT_CHILDREN:
                return MATH
        elif parent_name == "annotation-xml":
            if child == "svg":
                return SVG
            encoding = (parent_attrs or {}).get("encoding")
            if not isinstance(encoding, str) or encoding.lower() not in _HTML_ENCODINGS:
                return MATH
        else:
            return MATH
    return _FOREIGN_ROOTS.get(child, HTML)


def is_custom_element(name: str) -> bool:
    """Whether ``name`` is a valid autonomous custom element name (the HTML spec's, in ASCII, as
    the tag sends localName) that is not ours: ``cobrowse-*`` is reserved for our own elements."""
    return CUSTOM_ELEMENT_NAME.fullmatch(name) is not None and name not in RESERVED_CUSTOM_NAMES


def can_host_shadow(name: str, namespace: str) -> bool:
    """Whether an element may carry a ``#shadow`` child (``attachShadow``'s list, plus custom
    elements)."""
    return namespace == HTML and (name in SHADOW_HOSTS or is_custom_element(name))


def javascript_constants() -> str:
    """The grammar as a JavaScript expression, for the builds that inline it."""
    return json.dumps(dict(GRAMMAR), ensure_ascii=True, separators=(",", ":"))


_GRAMMAR_SLOT: Final = "(/*@grammar*/null)"


@functools.cache
def nodes_js() -> str:
    """``wire/nodes.js`` with the grammar inlined: the text every server of the JavaScript
    reader sends (the renderer's page, the workspace's ``/static/wire-nodes.js``). Raises
    ``RuntimeError`` if the file lost its token, rather than serve a reader without data."""
    source = (PATH.parent / "nodes.js").read_text(encoding="utf-8")
    if source.count(_GRAMMAR_SLOT) != 1:
        raise RuntimeError(f"wire/nodes.js must contain {_GRAMMAR_SLOT} exactly once")
    constants = javascript_constants().replace("</", "<\\/")
    return source.replace(_GRAMMAR_SLOT, f"({constants})")
