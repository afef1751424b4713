"""The one namespace rule (``wire.grammar.child_namespace``) against a real HTML parser.

The tag sends element names without namespaces; every reader (``wire.nodes``, the sanitizer's
page, the replica) gives each element the namespace this rule computes. The rule is meant to be
the HTML parser's own, so that the tree the sanitizer judges is the tree the visitor's browser
built. Chromium's parser is the judge here: each case is parsed as markup and the namespace of
the element it made is compared with the rule's, for every chain of parents below (integration
points, text integration points, annotation-xml with and without an HTML encoding, nested
both ways). Markup the parser cannot nest that way (an HTML breakout tag such as ``<p>`` directly
in SVG leaves the foreign element) is skipped: no browser page can hold it from parsing.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from wire import grammar

# Parent chains, from <body>: (tag, attributes) each.
CHAINS: list[list[tuple[str, dict[str, str]]]] = [
    [],
    [("svg", {})],
    [("svg", {}), ("g", {})],
    [("svg", {}), ("foreignObject", {})],
    [("svg", {}), ("desc", {})],
    [("svg", {}), ("title", {})],
    [("math", {})],
    [("math", {}), ("mrow", {})],
    *[[("math", {}), (t, {})] for t in ("mi", "mo", "mn", "ms", "mtext")],
    [("math", {}), ("annotation-xml", {})],
    [("math", {}), ("annotation-xml", {"encoding": "text/html"})],
    [("math", {}), ("annotation-xml", {"encoding": "APPLICATION/XHTML+XML"})],
    [("math", {}), ("annotation-xml", {"encoding": "image/svg+xml"})],
    [("svg", {}), ("foreignObject", {}), ("math", {}), ("mi", {})],
    [("math", {}), ("mtext", {}), ("svg", {}), ("desc", {})],
    [("math", {}), ("annotation-xml", {}), ("svg", {}), ("title", {})],
    [("svg", {}), ("desc", {}), ("math", {}), ("annotation-xml", {"encoding": "text/html"})],
]
CHILDREN = [
    "style",
    "a",
    "img",
    "title",
    "textarea",
    "mglyph",
    "malignmark",
    "svg",
    "math",
    "desc",
    "foreignObject",
    "mi",
    "annotation-xml",
    "span",
    "div",
    "g",
]


def _markup(chain: list[tuple[str, dict[str, str]]], child: str) -> str:
    opened = "".join(
        f"<{tag}" + "".join(f' {k}="{v}"' for k, v in attrs.items()) + ">" for tag, attrs in chain
    )
    closed = "".join(f"</{tag}>" for tag, _ in reversed(chain))
    return f"<!doctype html><body>{opened}<{child} id=probe></{child}>{closed}</body>"


def _expected(chain: list[tuple[str, dict[str, str]]], child: str) -> str:
    ns: str | None = None
    name, attrs = "body", {}
    for tag, tag_attrs in chain:
        ns, name, attrs = grammar.child_namespace(ns, name, attrs, tag), tag, tag_attrs
    return grammar.child_namespace(ns, name, attrs, child)


PARSE = """(cases) => cases.map(([markup, depth]) => {
  const doc = new DOMParser().parseFromString(markup, 'text/html');
  const el = doc.getElementById('probe');
  if (!el) return null;
  let up = el, n = 0;
  while (up.parentElement && up.parentElement !== doc.body) { up = up.parentElement; n += 1; }
  if (n !== depth) return null;  // the parser moved it: not a tree a page can hold
  return el.namespaceURI;
})"""


@pytest.mark.browser
def test_child_namespace_is_the_html_parsers(page: Any) -> None:
    cases = list(itertools.product(CHAINS, CHILDREN))
    parsed = page.evaluate(PARSE, [[_markup(c, child), len(c)] for c, child in cases])
    compared = 0
    wrong = []
    for (chain, child), uri in zip(cases, parsed, strict=True):
        if uri is None:
            continue
        compared += 1
        expected = grammar.NAMESPACE_URIS[_expected(chain, child)]
        if uri != expected:
            wrong.append((" > ".join(t for t, _ in chain), child, uri, expected))
    assert wrong == []
    assert compared > len(cases) // 2  # most cases are trees a parser makes


def test_child_namespace_examples() -> None:
    rule = grammar.child_namespace
    assert rule(None, "#document", None, "svg") == "svg"
    assert rule("svg", "g", {}, "a") == "svg"
    assert rule("svg", "desc", {}, "style") == "html"
    assert rule("math", "mi", {}, "mglyph") == "math"
    assert rule("math", "mi", {}, "img") == "html"
    assert rule("math", "annotation-xml", {}, "svg") == "svg"
    assert rule("math", "annotation-xml", {}, "p") == "math"
    assert rule("math", "annotation-xml", {"encoding": "Text/HTML"}, "p") == "html"


def test_shadow_hosts() -> None:
    assert grammar.can_host_shadow("div", "html")
    assert grammar.can_host_shadow("my-widget", "html")
    assert not grammar.can_host_shadow("cobrowse-root", "html")  # ours, never a visitor's
    assert not grammar.can_host_shadow("font-face", "html")
    assert not grammar.can_host_shadow("img", "html")
    assert not grammar.can_host_shadow("div", "svg")
