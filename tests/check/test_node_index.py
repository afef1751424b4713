"""The checker's index of the visitor's page, read from the tag's ``dom.*`` stream in the compact
node form (no browser): descriptions of change targets, and which closed shadow roots the tag
announced, so the report can tell a marked area from one the agent does not even see marked."""

from __future__ import annotations

from cobrowse_check.nodes import NodeIndex, closed_shadow_areas
from wire.nodes import compact, compact_run

# fmt: off
SNAPSHOT = {"type": "dom.snapshot", "doc": compact([1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {}, [[4, "body", {"class": "page dark wide"}, [
        [5, "p", {"id": "ticker"}, [[6, "#text", "0"]]],
        [7, "div", {"id": "card-host", ":shadow": "closed"}, []],
        [8, "x-card", {":shadow": "closed"}, []],
        [9, "x-open", {}, [
            [10, "#shadow", [[11, "x-inner", {"id": "in", ":shadow": "closed"}, []]]],
        ]],
    ]]]],
]])}
# fmt: on


def test_the_snapshot_is_indexed_with_implicit_ids_and_parents() -> None:
    index = NodeIndex.of_snapshot(SNAPSHOT)
    assert index.nodes == {
        1: ("document", 0),
        2: ("#doctype", 1),
        3: ("html", 1),
        4: ("body.page.dark", 3),
        5: ("p#ticker", 4),
        6: ("#text", 5),
        7: ("div#card-host", 4),
        8: ("x-card", 4),
        9: ("x-open", 4),
        10: ("#shadow", 9),
        11: ("x-inner#in", 10),
    }
    assert index.closed == {7: "div#card-host", 8: "x-card", 11: "x-inner#in"}
    assert index.describe(6) == "#text" and index.describe(99) == "(an element added later)"


def test_batches_add_runs_and_change_closed_roots() -> None:
    index = NodeIndex.of_snapshot(SNAPSHOT)
    index.apply(
        {
            "adds": [
                # A run of siblings: ids count on from one tree to the next.
                {
                    "parent": 4,
                    "next": None,
                    "nodes": compact_run(
                        [[20, "section", {"id": "s"}, [[21, "#text", "a"]]], [22, "x-late", {}, []]]
                    ),
                },
                # A tree that breaks the grammar (no id on its first node) adds nothing.
                {"parent": 4, "next": None, "nodes": [["p", "x"]]},
            ],
            "attrs": [[22, ":shadow", "closed"], [8, ":shadow", None], [5, "class", "x"]],
        }
    )
    assert index.nodes[20] == ("section#s", 4)
    assert index.nodes[21] == ("#text", 20)
    assert index.nodes[22] == ("x-late", 4)
    assert 23 not in index.nodes
    assert index.closed == {7: "div#card-host", 11: "x-inner#in", 22: "x-late"}


def test_a_closed_root_the_tag_never_announced_is_reported_as_unmarked() -> None:
    index = NodeIndex.of_snapshot(SNAPSHOT)
    # DevTools found four closed roots; the tag announced three (two of them here).
    hosts = ["div#card-host", "x-card", "x-card", "x-widget#early"]
    unmarked = " (attached before the tag loaded: the agent sees no mark)"
    assert closed_shadow_areas(hosts, index) == [
        "closed shadow root of div#card-host",
        "closed shadow root of x-card",
        "closed shadow root of x-card" + unmarked,
        "closed shadow root of x-widget#early" + unmarked,
    ]
    # Negative control: with nothing announced, every root is reported as unmarked.
    assert all(line.endswith(unmarked) for line in closed_shadow_areas(hosts, NodeIndex()))


# fmt: off
FRAMED = {"type": "dom.snapshot", "doc": compact([1, "#document", [
    [2, "html", {}, [[3, "body", {}, [
        [4, "canvas", {"id": "chart"}, []],
        [5, "iframe", {"id": "help"}, [
            [6, "#document", [[7, "html", {}, [[8, "body", {}, [[9, "canvas", {}, []]]]]]]],
        ]],
        [10, "x-open", {}, [[11, "#shadow", [[12, "embed", {"id": "in-shadow"}, []]]]]],
        [13, "object", {"id": "movie"}, [[14, "embed", {"id": "fallback"}, []]]],
        [15, "svg", {}, [[16, "canvas", {}, []]]],
    ]]]],
]])}
# fmt: on


def test_boxed_elements_are_the_top_documents_own_in_document_order() -> None:
    # As the page's querySelectorAll finds them: not inside a frame's document or a shadow
    # root (the checker pairs the two lists by name and order), nor outside the HTML namespace.
    index = NodeIndex.of_snapshot(FRAMED)
    assert index.boxed == [(4, "canvas"), (5, "iframe"), (13, "object"), (14, "embed")]
    index.apply(
        {
            "adds": [
                {"parent": 8, "next": None, "nodes": compact_run([[20, "iframe", {}, []]])},
                {"parent": 3, "next": None, "nodes": compact_run([[21, "iframe", {}, []]])},
            ]
        }
    )
    assert index.boxed[-1] == (21, "iframe") and len(index.boxed) == 5


def test_images_the_tag_could_not_capture_are_indexed_until_it_sends_them() -> None:
    # `:unseen: image`: an image the page made (blob:) whose pixels the tag could not send.
    index = NodeIndex.of_snapshot(
        {
            "type": "dom.snapshot",
            "doc": compact(
                [1, "#document", [[2, "html", {}, [[3, "body", {}, [
                    [4, "img", {"id": "huge", ":unseen": "image"}, []],
                    [5, "img", {"id": "drawn", "src": "data:image/png;base64,AAAA"}, []],
                    [6, "img", {"class": "late thumb", ":unseen": "image"}, []],
                ]]]]]]
            ),
        }
    )  # fmt: skip
    assert index.unseen_images == {4: "img#huge", 6: "img.late.thumb"}
    # The late one loaded (its pixels come, the mark goes); another is marked later.
    index.apply({"attrs": [[6, "src", "data:image/png;base64,AAAA"], [6, ":unseen", None]]})
    index.apply({"attrs": [[5, ":unseen", "image"], [99, ":unseen", "image"]]})
    assert index.unseen_images == {4: "img#huge", 5: "img#drawn"}
