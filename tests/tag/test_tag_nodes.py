"""The node stream in the protocol's compact form (docs/protocol.md, "Nodes"): the tag writes it
the way the reference encoder does, the relay accepts it, and it costs no more than the HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from tagharness import (
    EXPECTED_TREE_JS,
    FakeRelay,
    Replica,
    TagUI,
    assert_same_tree,
    open_page,
    start_chat,
)

from bench.measure import HTML_BYTES_JS
from wire import nodes

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "nodes.json").read_text(encoding="utf-8")
)


def _explicit(replica: Replica, node_id: int) -> list[Any]:
    """A node of the harness's replica in the golden files' explicit form."""
    node = replica.nodes[node_id]
    name = node["name"]
    if name in ("#text", "#comment", "#doctype"):
        return [node_id, name, node["text"]]
    kids = [_explicit(replica, k) for k in node["children"]]
    return (
        [node_id, name, kids]
        if name in ("#document", "#shadow")
        else [node_id, name, node["attrs"], kids]
    )


@pytest.mark.parametrize("case", GOLDEN["valid"], ids=lambda c: c["name"])
def test_the_harness_reads_every_valid_golden_case(case: dict[str, Any]) -> None:
    replica = Replica()
    run = case["compact"] if case["run"] else [case["compact"]]
    tops = replica.build(run, 0, "nodes", tree=not case["run"])
    got = [_explicit(replica, top) for top in tops]
    assert got == (case["explicit"] if case["run"] else [case["explicit"]])


@pytest.mark.parametrize("case", GOLDEN["invalid"], ids=lambda c: c["name"])
def test_the_harness_refuses_every_invalid_golden_case(case: dict[str, Any]) -> None:
    run = case["compact"] if case["run"] else [case["compact"]]
    with pytest.raises(nodes.NodeError) as caught:
        Replica().build(run, 0, "nodes", tree=not case["run"])
    assert caught.value.message == case["error"]


def _stream(page: Page, relay: FakeRelay, ui: TagUI, name: str) -> tuple[int, dict[str, Any]]:
    """Open a fixture page in a fresh tab and start a session: (frame index, snapshot)."""
    open_page(page, name)
    page.wait_for_load_state("load")  # frames and stylesheets are in
    start_chat(relay, ui)
    mark = len(relay.frames)
    return mark, relay.start_session()


# The golden cases' shapes on real pages: doctype, comments, text, SVG, form state, open and closed
# shadow roots, same-origin frames, CSSOM-only rules, masking.
PAGES = [
    "index.html",
    "shadow.html",
    "closed.html",
    "frames.html",
    "cssom.html",
    "masking.html",
    "article.html",
]
# Pages without synthetic CSSOM nodes: in a fresh tab every id follows on from the document's.
CONTIGUOUS = {"index.html", "shadow.html", "closed.html", "frames.html", "article.html"}


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_the_stream_of_a_fixture_page_decodes_with_the_reference_reader_and_rebuilds_it(
    page: Page, relay: FakeRelay, ui: TagUI, name: str
) -> None:
    mark, snapshot = _stream(page, relay, ui, name)
    relay.settle()  # the Replica took every frame through wire.protocol and wire.nodes
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))
    dom = [f for f in relay.frames[mark:] if f["type"].startswith("dom.")]
    assert dom[0] is snapshot
    decoded = [nodes.expand(snapshot["doc"], "doc")]
    for frame in dom[1:]:
        for add in frame["adds"]:
            decoded += nodes.expand_run(add["nodes"])
    assert decoded[0][1] == "#document"
    if name in CONTIGUOUS and not snapshot.get("loading"):
        # Only the document carries its id: every other node follows on in preorder.
        assert _written_ids(snapshot["doc"]) == [snapshot["doc"][0]]


def _written_ids(tree: Any) -> list[int]:
    """The ids a compact tree writes out (node arrays are its only arrays)."""
    found: list[int] = []
    stack = [tree]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            if isinstance(value[0], int):
                found.append(value[0])
            stack.extend(value)
    return found


@pytest.mark.browser
def test_ids_are_written_where_the_count_breaks(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    """Moved nodes keep their ids, new ones get new ids: the adds write ids exactly there."""
    _stream(page, relay, ui, "index.html")
    mark = len(relay.frames)
    page.evaluate("""() => {
        const list = document.getElementById('list');
        const li = document.createElement('li'); li.innerHTML = 'new <b>one</b>';
        list.append(li, document.getElementById('li1'));  // li1 moves: it keeps its id
    }""")
    relay.settle()
    batch = next(f for f in relay.frames[mark:] if f["type"] == "dom.mutations" and f["adds"])
    li1 = relay.replica.id_of(id="li1")
    runs = [add["nodes"] for add in batch["adds"]]
    moved = [run for run in runs if next(nodes.walk(run, "nodes")).id == li1]
    assert moved == [[[li1, "li", {"id": "li1"}, "one"]]]  # its text follows on: no id
    assert_same_tree(relay.replica.tree(), page.evaluate(EXPECTED_TREE_JS))


def _dom_bytes_ratio(page: Page, relay: FakeRelay, mark: int) -> tuple[float, int, int]:
    """JSON bytes of the dom.* frames of the initial stream (up to the first without `loading`)
    over the page's HTML bytes as the benchmark counts them (doctype + outerHTML, no tag UI)."""
    sent = 0
    for raw, frame in zip(relay.raw[mark:], relay.frames[mark:], strict=True):
        if frame["type"].startswith("dom."):
            sent += len(raw.encode())
            if not frame.get("loading"):
                break
    html = int(page.evaluate(HTML_BYTES_JS))
    return sent / html, sent, html


@pytest.mark.browser
def test_a_content_page_costs_no_more_bytes_than_its_html(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    """The issue's target: before compression, the wire costs no more than the HTML itself."""
    mark, _ = _stream(page, relay, ui, "article.html")
    ratio, sent, html = _dom_bytes_ratio(page, relay, mark)
    assert html > 10_000  # a realistic article, not a toy
    assert ratio <= 1.0, f"{sent} bytes of dom.* frames for {html} bytes of HTML ({ratio:.3f})"
