"""Property tests over generated node trees: the output is always clean, and stable.

Negative control: the same checker flags generated unsanitized trees, so a sanitizer that
let things through would fail these properties (DOMPurify test/fuzz/sanitize.fast-check.js).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from renderer_harness import (
    BRAND,
    Loop,
    add,
    compact,
    expand,
    explicit_adds,
    ids,
    mutations_message,
    snapshot_message,
    violations,
)

from renderer.service import Renderer

pytestmark = pytest.mark.browser

TAGS = [
    "div",
    "p",
    "a",
    "img",
    "span",
    "script",
    "SCRIPT",
    "iframe",
    "object",
    "embed",
    "style",
    "svg",
    "foreignObject",
    "set",
    "animate",
    "use",
    "image",
    "math",
    "mi",
    "annotation-xml",
    "form",
    "input",
    "textarea",
    "button",
    "link",
    "meta",
    "base",
    "template",
    "noscript",
    "frameset",
    "video",
    "source",
    "table",
    "td",
    "x<y",
    "select",
    "option",
]
ATTRS = [
    "href",
    "src",
    "srcset",
    "style",
    "onclick",
    "OnError",
    "onload",
    "srcdoc",
    "action",
    "formaction",
    "xlink:href",
    "attributeName",
    "to",
    "values",
    "class",
    "id",
    "rel",
    "type",
    "http-equiv",
    "content",
    "data-x",
    "data-cobrowse-placeholder",
    "target",
    "fill",
    "poster",
    ":value",
    ":masked",
    ":checked",
    "value",
    "autocomplete",
    "width",
    "is",
    "xmlns",
    "bad name",
]
VALUES = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "vbscript:x",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg>",
    "https://shop.example/a.png",
    "https://evil.example/x",
    "#frag",
    "/relative",
    "url(javascript:alert(1))",
    "x:expression(alert(1))",
    "color:red",
    "background:url(https://evil.example/x)",
    "@import 'https://evil.example/x.css';",
    "href",
    "onclick",
    "stylesheet",
    "import",
    "refresh",
    "password",
    "secret",
    "cc-number",
    "iframe",
    "fill",
    "1",
    "",
    "<script>alert(1)</script>",
    "0;url=javascript:alert(1)",
]

text = st.sampled_from(
    [
        "hi",
        "",
        " ",
        "alert(1)",
        "</style><script>alert(1)</script>",
        "a{background:url(javascript:x)}",
        "@im",
        "port url(https://e.x/y)",
    ]
)
leaf = st.one_of(
    st.tuples(st.just("#text"), text),
    st.tuples(st.just("#comment"), st.just("")),
)
attrs = st.dictionaries(st.sampled_from(ATTRS), st.sampled_from(VALUES), max_size=4)
tree = st.recursive(
    leaf,
    lambda children: st.tuples(st.sampled_from(TAGS), attrs, st.lists(children, max_size=4)),
    max_leaves=25,
)


def number(shape: Any, counter: itertools.count[int]) -> list[Any]:
    """Give a generated shape protocol ids (unique, increasing): an explicit tree."""
    if shape[0] in ("#text", "#comment"):
        return [next(counter), shape[0], shape[1]]
    return [next(counter), shape[0], dict(shape[1]), [number(c, counter) for c in shape[2]]]


def document(shapes: list[Any]) -> list[Any]:
    """An explicit #document with the shapes in its body (3)."""
    counter = itertools.count(4)
    body = [number(s, counter) for s in shapes]
    return [1, "#document", [[2, "html", {}, [[3, "body", {}, body]]]]]


def test_negative_control_the_checker_flags_unsanitized_trees() -> None:
    hostile = document(
        [
            ("img", {"src": "x", "onerror": "alert(1)"}, []),
            ("a", {"href": " javascript:alert(1)"}, []),
            ("script", {}, []),
        ]
    )
    assert len(violations(hostile)) == 3
    assert violations(document([("p", {"class": "x"}, [("#text", "hi")])])) == []


def test_negative_control_generator_reaches_violations() -> None:
    """The generator produces trees the checker flags: the properties below are not vacuous."""
    found: list[bool] = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(st.lists(tree, min_size=1, max_size=4))
    def collect(shapes: list[Any]) -> None:
        found.append(bool(violations(document(shapes))))

    collect()
    assert sum(found) >= 10, sum(found)


_sessions = itertools.count()


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(tree, min_size=1, max_size=4))
# Found by this test: a placeholder in a masked area lost the mask on the second pass; an SVG
# presentation attribute kept an inert javascript: value; a data:-looking class removed by the
# image re-encoder left an empty attributes object (or was missed on a placeholder).
@example(shapes=[("div", {":masked": "javascript:alert(1)"}, [("iframe", {}, [])])])
@example(shapes=[("p", {"class": "secret"}, [("object", {"class": "x"}, [])])])
@example(shapes=[("svg", {"fill": "javascript:alert(1)"}, [])])
@example(shapes=[("div", {"class": "data:text/html,<script>alert(1)</script>"}, [])])
@example(shapes=[("iframe", {"class": "data:text/html,<script>alert(1)</script>"}, [])])
def test_snapshot_output_is_clean_and_idempotent(
    loop: Loop, renderer: Renderer, shapes: list[Any]
) -> None:
    session = f"prop-{next(_sessions)}"
    sent = document(shapes)
    message = snapshot_message(compact(sent), session)
    once = loop.run(renderer.snapshot(session, message, BRAND))["doc"]
    tree = expand(once)  # the writer's output is valid compact form...
    assert violations(tree) == []
    assert ids(tree) <= ids(sent)  # ...with the visitor's ids, none made up
    # Sanitizing the output again changes nothing, to the byte of the wire form.
    twice = loop.run(renderer.snapshot(session, snapshot_message(once, session), BRAND))["doc"]
    assert twice == once
    loop.run(renderer.drop(session))


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(tree, min_size=1, max_size=3),
    st.lists(tree, min_size=1, max_size=3),
    st.lists(
        st.tuples(
            st.integers(3, 12),
            st.sampled_from(ATTRS),
            st.one_of(st.none(), st.sampled_from(VALUES)),
        ),
        max_size=6,
    ),
)
def test_mutation_output_is_clean(
    loop: Loop, renderer: Renderer, shapes: list[Any], added: list[Any], changes: list[Any]
) -> None:
    session = f"prop-{next(_sessions)}"
    doc = document(shapes)
    loop.run(renderer.snapshot(session, snapshot_message(compact(doc), session), BRAND))
    counter = itertools.count(1000)
    known = set(_element_ids(doc))
    run = [number(s, counter) for s in added]  # one run of siblings, ids counting on
    attrs = [[i, name, value] for i, name, value in changes if i in known]
    out = loop.run(
        renderer.mutations(session, mutations_message(session, adds=[add(3, *run)], attrs=attrs))
    )
    # Re-added elements (a link whose rel changed) and style texts come from the snapshot.
    sent = set().union(ids(doc), *(ids(node) for node in run))
    for entry in explicit_adds(out):
        assert violations([0, "#document", entry["nodes"]]) == []
        assert set().union(*(ids(node) for node in entry["nodes"])) <= sent
    for node_id, name, value in out["attrs"]:
        probe = [0, "#document", [[node_id, "x", {} if value is None else {name: value}, []]]]
        assert violations(probe) == [], (node_id, name, value)
    loop.run(renderer.drop(session))


def _element_ids(node: list[Any]) -> list[int]:
    out: list[int] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if item[1] == "#document":
            stack.extend(item[2])
        elif len(item) == 4:
            out.append(item[0])
            stack.extend(item[3])
    return out
