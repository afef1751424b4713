"""The sanitizer's reader and writer of the compact node form, against wire/nodes.py.

Reader: every golden case of ``tests/fixtures/nodes.json`` read by ``sanitizer.js`` (as a
snapshot's ``doc`` or an add's ``nodes``) gives the raw tree with the same ids and structure as
the explicit form there; every invalid case is refused with the reference reader's words; so
are duplicate ids, depth beyond the relay's limit and malformed adds. Writer: what it sends
decodes with ``wire.nodes`` to the tree it meant (see also the exact forms in
test_renderer_service.py and the generated trees in test_renderer_properties.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from renderer_harness import (
    BRAND,
    Loop,
    add,
    compact,
    expand,
    explicit_adds,
    mutations_message,
    new_session,
    page_doc,
    snapshot_message,
)

from renderer.service import Renderer, RendererError
from wire import grammar, nodes

pytestmark = pytest.mark.browser

GOLDEN = json.loads((Path(__file__).parents[1] / "fixtures" / "nodes.json").read_text("utf-8"))
# The page an add's run goes into: body is 3; golden runs use ids from 5 on.
BASE = [1, "#document", ["html", ["body"]]]


def raw_tree(loop: Loop, renderer: Renderer, session: str) -> list[Any]:
    """The tree sanitizer.js's reader built for a session, unsanitized, in the explicit form."""
    page = renderer.page_of(session)
    assert page is not None
    raw = loop.run(page.evaluate("s => CobrowseRenderer.rawTree(s)", session))
    tree: list[Any] = json.loads(raw)
    return tree


def read(loop: Loop, renderer: Renderer, case: dict[str, Any]) -> list[Any]:
    """Have the JS reader read a golden case; returns what it built, explicit."""
    session = new_session()
    if not case["run"]:
        loop.run(renderer.snapshot(session, snapshot_message(case["compact"], session), BRAND))
        return raw_tree(loop, renderer, session)
    loop.run(renderer.snapshot(session, snapshot_message(BASE, session), BRAND))
    batch = {"parent": 3, "next": None, "nodes": case["compact"]}
    loop.run(renderer.mutations(session, mutations_message(session, adds=[batch])))
    body: list[Any] = raw_tree(loop, renderer, session)[2][0][3][0]
    assert body[:2] == [3, "body"]
    return body[3]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", GOLDEN["valid"], ids=lambda c: c["name"])
def test_reader_accepts_every_valid_golden_case(
    loop: Loop, renderer: Renderer, case: dict[str, Any]
) -> None:
    assert read(loop, renderer, case) == case["explicit"]


@pytest.mark.parametrize(
    "case", [c for c in GOLDEN["valid"] if not c["run"]], ids=lambda c: c["name"]
)
def test_reader_gives_every_element_the_namespace_of_the_one_rule(
    loop: Loop, renderer: Renderer, case: dict[str, Any]
) -> None:
    """The namespaces the golden case records (wire.grammar.child_namespace) are the ones the
    sanitizer built its raw tree with."""
    session = new_session()
    loop.run(renderer.snapshot(session, snapshot_message(case["compact"], session), BRAND))
    page = renderer.page_of(session)
    assert page is not None
    raw = loop.run(page.evaluate("s => CobrowseRenderer.rawNamespaces(s)", session))
    assert json.loads(raw) == case["namespaces"]


def _namespace_table() -> list[list[Any]]:
    """(parent ns, parent name, encoding, child) combinations the rule distinguishes."""
    names = ["svg", "math", "div", "p", "title", "desc", "foreignObject", "g", "mi", "mo", "mn"]
    names += ["ms", "mtext", "mrow", "annotation-xml", "mglyph", "malignmark", "style", "a"]
    names += ["img", "textarea", "iframe", "FOREIGNOBJECT", "semantics"]
    encodings = [None, "text/html", "TEXT/HTML", "application/xhtml+xml", "image/svg+xml", ""]
    table = []
    for parent_ns in (None, "html", "svg", "math"):
        for parent in names:
            for encoding in encodings if parent == "annotation-xml" else [None]:
                for child in names:
                    table.append([parent_ns, parent, encoding, child])
    return table


def test_the_javascript_namespace_rule_is_grammar_child_namespace(
    loop: Loop, renderer: Renderer
) -> None:
    """wire/nodes.js childNamespace, as the renderer's page loads it, decides every
    combination as wire/grammar.py child_namespace does."""
    table = _namespace_table()
    session = new_session()
    loop.run(renderer.snapshot(session, snapshot_message(BASE, session), BRAND))
    page = renderer.page_of(session)
    assert page is not None
    got = loop.run(
        page.evaluate(
            """(table) => table.map(([ns, name, enc, child]) => CobrowseWire.childNamespace(
                ns, name, enc === null ? {} : {encoding: enc}, child))""",
            table,
        )
    )
    want = [
        grammar.child_namespace(ns, name, {} if enc is None else {"encoding": enc}, child)
        for ns, name, enc, child in table
    ]
    assert len(table) > 2000
    assert got == want


@pytest.mark.parametrize("case", GOLDEN["invalid"], ids=lambda c: c["name"])
def test_reader_refuses_every_invalid_golden_case(
    loop: Loop, renderer: Renderer, case: dict[str, Any]
) -> None:
    with pytest.raises(RendererError, match=re.escape(case["error"])):
        read(loop, renderer, case)


def test_golden_cases_are_what_relay_nodes_says() -> None:
    """The fixture agrees with the reference reader (so the two tests above test against it)."""
    for case in GOLDEN["valid"]:
        decode = nodes.expand_run if case["run"] else nodes.expand
        assert decode(case["compact"]) == case["explicit"], case["name"]
    for case in GOLDEN["invalid"]:
        with pytest.raises(nodes.NodeError, match=re.escape(case["error"])):
            nodes.expand_run(case["compact"]) if case["run"] else nodes.expand(case["compact"])


def nested(depth: int, top: str = '[1,"#document",["html",') -> str:
    """JSON text of a #document whose deepest node is at ``depth`` (its root is 1, as
    wire/nodes.py counts). Text, as Python's json module cannot nest that deep: the relay
    refuses such frames (``bad_json``) before they reach the renderer; this checks the
    sanitizer's own limit behind it."""
    chain = depth - 2
    return top + '["b",' * (chain - 1) + '["b"]' + "]" * (chain - 1) + "]]"


def test_depth_is_limited_as_the_relay_limits_it(loop: Loop, renderer: Renderer) -> None:
    assert max(i.depth for i in nodes.walk([json.loads(nested(900))], "doc", run=False)) == 900
    slot = loop.run(renderer._slot_for_new_session())
    brand = '"brand":{"origins":[],"mask_selectors":[]},"url":"https://a.test/"}'
    snap = "([s, p]) => CobrowseRenderer.snapshot(s, p)"
    out = loop.run(slot.page.evaluate(snap, ["deep", '{"doc":' + nested(1024) + "," + brand]))
    assert out.count('"b"') == 1022 and out.startswith('0[1,"#document",["html",["b",')
    with pytest.raises(Exception, match="cobrowse-renderer: nested deeper than 1024"):
        loop.run(slot.page.evaluate(snap, ["deep", '{"doc":' + nested(1025) + "," + brand]))
    # An add's trees count from their own root, as the relay checks them.
    loop.run(slot.page.evaluate(snap, ["deep", '{"doc":[1,"#document",["html"]],' + brand]))
    muts = "([s, p]) => CobrowseRenderer.mutations(s, p)"
    run = nested(1026, '[10,"html",')[:-1]  # html at 1, b at 2..1025
    payload = '{"adds":[{"parent":2,"next":null,"nodes":[' + run + "]}]}"
    with pytest.raises(Exception, match="cobrowse-renderer: nested deeper than 1024"):
        loop.run(slot.page.evaluate(muts, ["deep", payload]))
    loop.run(slot.page.evaluate("s => CobrowseRenderer.drop(s)", "deep"))


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        # An implicit id landing on one already read (20 is taken: the third node is 19 + 1).
        ([1, "#document", ["html", [20, "body", "x", [19, "p"], "y"]]], "duplicate node id 20"),
        ([1, "#document", ["html", [1, "body"]]], "duplicate node id 1"),
        ([1, "#document", ["html"], [2, "html"]], "duplicate node id 2"),
        (["#document"], "the first node of a tree must carry its id"),
        ([1, "html"], "snapshot doc must be a #document node"),
        ([1, "#document", ["html", ["body", ["p", {"a": 1}]]]], "attribute values must be strings"),
        ([1, "#document", ["html", ["body", ["#document"]]]], "a document node can only be"),
    ],
)
def test_reader_refuses_duplicate_ids_and_forged_documents(
    loop: Loop, renderer: Renderer, doc: list[Any], error: str
) -> None:
    session = new_session()
    with pytest.raises(RendererError, match=re.escape(error)):
        loop.run(renderer.snapshot(session, snapshot_message(doc, session), BRAND))


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"parent": 3, "next": None, "node": [10, "p"]}, "an add must be {parent, next, nodes"),
        ({"parent": 3, "next": None, "nodes": []}, "an add must be {parent, next, nodes"),
        ({"parent": 3, "nodes": [[10, "p"]]}, "an add must be {parent, next, nodes"),
        ({"parent": 3, "next": None, "nodes": [[10, "p"]], "x": 1}, "an add must be"),
        ({"parent": 3, "next": None, "nodes": [[10, "p"], "x", [11, "p"]]}, "duplicate node id 11"),
        ({"parent": 3, "next": None, "nodes": [[2, "p"]]}, "duplicate node id 2"),
        ({"parent": 3, "next": None, "nodes": ["x"]}, "the first node of a tree must carry its id"),
        ({"parent": 3, "next": None, "nodes": [[10, "#document"]]}, "cannot add a document"),
        ({"parent": 3, "next": None, "nodes": [[10, "p"], ["#shadow"]]}, "shadow root must be"),
        ({"parent": 3, "next": 99, "nodes": [[10, "p"]]}, "unknown node id 99"),
        ({"parent": 3, "next": 10, "nodes": [[10, "p"]]}, "unknown node id 10"),
    ],
)
def test_malformed_adds_are_refused(
    loop: Loop, renderer: Renderer, entry: dict[str, Any], error: str
) -> None:
    session = new_session()
    loop.run(renderer.snapshot(session, snapshot_message(BASE, session), BRAND))
    with pytest.raises(RendererError, match=re.escape(error)):
        loop.run(renderer.mutations(session, mutations_message(session, adds=[entry])))


def test_a_run_with_a_shadow_root_first_attaches_it_and_places_the_rest(
    loop: Loop, renderer: Renderer
) -> None:
    session = new_session()
    doc = compact(page_doc([10, "x-card", {}, [[11, "i", {}, []]]]))
    loop.run(renderer.snapshot(session, snapshot_message(doc, session), BRAND))
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                adds=[
                    add(
                        10,
                        [20, "#shadow", [[21, "slot", {}, []]]],
                        [22, "b", {}, []],
                        next_id=11,
                    )
                ],
            ),
        )
    )
    assert explicit_adds(out) == [
        {
            "parent": 10,
            "next": 11,
            "nodes": [[20, "#shadow", [[21, "slot", {}, []]]], [22, "b", {}, []]],
        }
    ]
    host = raw_tree(loop, renderer, session)[2][1][3][1][3][0]
    assert host == [
        10,
        "x-card",
        {},
        [[20, "#shadow", [[21, "slot", {}, []]]], [22, "b", {}, []], [11, "i", {}, []]],
    ]


def test_parse_html_writes_the_compact_form(loop: Loop, renderer: Renderer) -> None:
    doc = loop.run(
        renderer.parse_html("<!doctype html><p class=a>x<!-- c --><b>y</b></p>", "https://a.test/")
    )
    assert doc == [
        1,
        "#document",
        ["#doctype", "html"],
        ["html", ["head"], ["body", ["p", {"class": "a"}, "x", ["#comment"], ["b", "y"]]]],
    ]
    assert expand(doc)[2][1][3][1][3][0][0] == 6  # p: document, doctype, html, head, body, p
