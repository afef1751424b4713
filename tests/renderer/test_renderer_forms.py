"""The tag's newer protocol forms through the renderer: open shadow roots (``#shadow``),
CSSOM-only sheets (``:cssom``), frame documents and ``loading``, from hand-written streams
and from the tag's golden fixtures. What the agent receives is spelled out in full."""

from __future__ import annotations

import copy
import json
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
    find,
    ids,
    mutations_message,
    new_session,
    page_doc,
    snapshot_message,
    violations,
)

from renderer.policy import MASK_PLACEHOLDER, BrandPolicy
from renderer.service import Renderer, RendererError

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).parents[1] / "fixtures" / "messages" / "valid"
M = MASK_PLACEHOLDER


def fixture(name: str) -> dict[str, Any]:
    message: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))["message"]
    return message


def start(
    loop: Loop, renderer: Renderer, doc: list[Any], brand: BrandPolicy = BRAND
) -> tuple[str, list[Any]]:
    """A new session on the explicit ``doc`` (sent compact): its id and the replica's
    document, decoded."""
    session = new_session()
    message = snapshot_message(compact(copy.deepcopy(doc)), session)
    return session, expand(loop.run(renderer.snapshot(session, message, brand))["doc"])


def batch(loop: Loop, renderer: Renderer, session: str, **parts: Any) -> dict[str, Any]:
    """The ``replica.mutations`` for a batch, its adds decoded to the explicit form."""
    out = loop.run(renderer.mutations(session, mutations_message(session, **parts)))
    return {**out, "adds": explicit_adds(out)}


# ------------------------------------------------------------------ the tag's golden fixture


def test_golden_frames_shadow_cssom_snapshot_then_loading_batches(
    loop: Loop, renderer: Renderer
) -> None:
    """tests/fixtures/messages/valid/dom_snapshot_frames_shadow_cssom.json, then
    dom_mutations_loading.json, then the batch that completes the page."""
    message = fixture("dom_snapshot_frames_shadow_cssom.json")
    session = new_session()
    message["session"] = session
    out = loop.run(renderer.snapshot(session, message, BRAND))
    assert out["type"] == "replica.snapshot" and out["loading"] is True
    assert expand(out["doc"]) == [
        1,
        "#document",
        [
            [
                2,
                "html",
                {},
                [
                    [
                        3,
                        "head",
                        {},
                        [[4, "style", {":cssom": "sheet"}, [[5, "#text", ".a { color: red; }"]]]],
                    ],
                    [
                        6,
                        "body",
                        {},
                        [
                            [
                                7,
                                "div",
                                {
                                    "data-cobrowse-placeholder": "iframe",
                                    "style": "display:inline-block",
                                },
                                [[8, "#document", [[9, "html", {}, [[10, "body", {}, []]]]]]],
                            ],
                            [
                                11,
                                "x-card",
                                {},
                                [
                                    [
                                        12,
                                        "#shadow",
                                        [
                                            [13, "p", {}, [[14, "#text", "in shadow"]]],
                                            [
                                                15,
                                                "style",
                                                {":cssom": "adopted"},
                                                [[16, "#text", "p { margin: 0px; }"]],
                                            ],
                                        ],
                                    ],
                                    [17, "#text", "light"],
                                ],
                            ],
                        ],
                    ],
                    [18, "style", {":cssom": "adopted"}, [[19, "#text", "body { color: blue; }"]]],
                ],
            ]
        ],
    ]
    more = fixture("dom_mutations_loading.json")
    more["session"] = session
    out = loop.run(renderer.mutations(session, more))
    assert out["type"] == "replica.mutations" and out["loading"] is True
    assert explicit_adds(out) == [
        {"parent": 6, "next": None, "nodes": [[20, "div", {}, [[21, "#text", "more of the page"]]]]}
    ]
    done = batch(
        loop, renderer, session, seq=2, texts=[[16, "p{background:url(https://evil.example/x)}"]]
    )
    assert "loading" not in done  # the first message without it completes the page
    assert done["texts"] == [[16, "p{background:url()}"]]


# ------------------------------------------------------------------------------ shadow roots

HOST = [
    10,
    "x-card",
    {"class": "card"},
    [
        [11, "#shadow", [[12, "p", {}, [[13, "#text", "inside"]]], [14, "span", {}, []]]],
        [15, "b", {}, [[16, "#text", "light"]]],
    ],
]


def test_shadow_root_is_the_hosts_first_child_and_mutations_inside_it_apply(
    loop: Loop, renderer: Renderer
) -> None:
    session, tree = start(loop, renderer, page_doc(HOST, [20, "div", {}, [[21, "i", {}, []]]]))
    assert find(tree, 10) == HOST
    # Adds inside a shadow root name the #shadow as parent; `next` is re-pointed as anywhere.
    out = batch(
        loop,
        renderer,
        session,
        adds=[
            add(11, [30, "a", {"href": "javascript:x"}, [[31, "#text", "x"]]], next_id=14),
            add(11, [32, "script", {}, []]),
            add(11, [33, "em", {}, []]),
        ],
        removes=[12],
        attrs=[[14, "onclick", "alert(1)"], [14, "title", "t"]],
    )
    assert out == {
        **out,
        "removes": [12],
        "adds": [
            {"parent": 11, "next": 14, "nodes": [[30, "a", {}, [[31, "#text", "x"]]]]},
            {"parent": 11, "next": None, "nodes": [[33, "em", {}, []]]},
        ],
        "attrs": [[14, "title", "t"]],
        "texts": [],
    }
    # A shadow root attached later: an add under its host, placed before the first light child.
    out = batch(
        loop,
        renderer,
        session,
        seq=2,
        adds=[
            add(
                20,
                [40, "#shadow", [[41, "img", {"src": "x", "onerror": "alert(1)"}, []]]],
                next_id=21,
            )
        ],
    )
    assert out["adds"] == [
        {"parent": 20, "next": 21, "nodes": [[40, "#shadow", [[41, "img", {}, []]]]]}
    ]
    # Removing the host takes its shadow root: those ids are gone in the renderer too.
    out = batch(loop, renderer, session, seq=3, removes=[10])
    assert out["removes"] == [10]
    with pytest.raises(RendererError):
        batch(loop, renderer, session, seq=4, texts=[[31, "gone"]])


def test_shadow_root_added_to_a_host_without_light_children(loop: Loop, renderer: Renderer) -> None:
    session, _ = start(loop, renderer, page_doc([10, "my-el", {}, [[11, "script", {}, []]]]))
    out = batch(
        loop,
        renderer,
        session,
        adds=[add(10, [12, "#shadow", [[13, "#text", "t"]]], next_id=11)],
    )
    # The only light child is dropped, so for the agent the root simply goes in first.
    assert out["adds"] == [
        {"parent": 10, "next": None, "nodes": [[12, "#shadow", [[13, "#text", "t"]]]]}
    ]


def test_slots_project_light_children(loop: Loop, renderer: Renderer) -> None:
    host = [
        10,
        "x-tab",
        {},
        [
            [
                11,
                "#shadow",
                [[12, "slot", {"name": "label", "onclick": "x"}, []], [13, "slot", {}, []]],
            ],
            [14, "span", {"slot": "label", "part": "p"}, [[15, "#text", "Tab"]]],
        ],
    ]
    _, tree = start(loop, renderer, page_doc(host))
    assert find(tree, 10) == [
        10,
        "x-tab",
        {},
        [
            [11, "#shadow", [[12, "slot", {"name": "label"}, []], [13, "slot", {}, []]]],
            [14, "span", {"slot": "label", "part": "p"}, [[15, "#text", "Tab"]]],
        ],
    ]


def test_masking_reaches_into_shadow_roots(loop: Loop, renderer: Renderer) -> None:
    doc = page_doc(
        # A mask selector matches inside a shadow root, as Element.matches does for the tag.
        [
            10,
            "x-form",
            {},
            [[11, "#shadow", [[12, "input", {"class": "secret", ":value": "4242"}, []]]]],
        ],
        # A masked host masks its shadow content (text and fields).
        [
            20,
            "x-card",
            {"class": "secret"},
            [
                [
                    21,
                    "#shadow",
                    [
                        [22, "p", {}, [[23, "#text", "card 4242"]]],
                        [24, "textarea", {":value": "pin"}, []],
                    ],
                ]
            ],
        ],
        [30, "div", {":masked": "attribute"}, [[31, "#shadow", [[32, "#text", "secret"]]]]],
        # Selectors do not cross the shadow boundary (as in the visitor's browser)...
        [40, "div", {"class": "wrap"}, [[41, "#shadow", [[42, "p", {}, [[43, "#text", "open"]]]]]]],
    )
    brand = BrandPolicy(origins=BRAND.origins, mask_selectors=(".secret", ".wrap > p", "p.later"))
    session, tree = start(loop, renderer, doc, brand)
    assert find(tree, 12) == [
        12,
        "input",
        {"class": "secret", ":value": M, ":masked": "selector"},
        [],
    ]
    assert find(tree, 23) == [23, "#text", M]
    assert find(tree, 24) == [24, "textarea", {":value": M, ":masked": "selector"}, []]
    assert find(tree, 32) == [32, "#text", M]
    assert find(tree, 43) == [43, "#text", "open"]  # ".wrap > p": p's parent is the root
    # ...and a selector that starts matching inside a shadow root masks at once.
    out = batch(loop, renderer, session, attrs=[[42, "class", "later"]])
    assert sorted(out["attrs"]) == [[42, ":masked", "selector"], [42, "class", "later"]]
    assert out["texts"] == [[43, M]]


# ------------------------------------------------------------------------------ CSSOM sheets


def test_cssom_sheet_text_is_sanitized_on_every_update(loop: Loop, renderer: Renderer) -> None:
    head = (
        # The tag: whitespace text of the page, then the synthetic text holding the rules.
        [10, "style", {":cssom": "sheet"}, [[11, "#text", "\n"], [12, "#text", "a{color:red}"]]],
        [20, "style", {}, []],  # rules inserted later
        [25, "style", {":cssom": "bogus", ":masked": "x"}, [[26, "#text", "i{}"]]],
    )
    session, tree = start(loop, renderer, page_doc(head=head))
    # One text child under the first text's id, holding the sanitized whole.
    assert find(tree, 10) == [10, "style", {":cssom": "sheet"}, [[11, "#text", "\na{color:red}"]]]
    assert find(tree, 25) == [25, "style", {":masked": "attribute"}, [[26, "#text", "i{}"]]]
    # The synthetic text changes: the agent's text child gets the re-sanitized whole.
    out = batch(loop, renderer, session, texts=[[12, "@import 'https://evil.example/x.css'; b{}"]])
    assert out["texts"] == [[11, "\n b{}"]]
    # A forbidden declaration goes, its rule stays (the sheet is not dropped for it).
    out = batch(loop, renderer, session, seq=2, texts=[[12, "b{behavior:url(x.htc);color:red}"]])
    assert out["texts"] == [[11, "\nb{color:red}"]]
    # Rules arrive for an empty <style> (the tag's form: the state entry plus a synthetic text).
    out = batch(
        loop,
        renderer,
        session,
        seq=3,
        attrs=[[20, ":cssom", "sheet"]],
        adds=[add(20, [21, "#text", "p{background:url(https://evil.example/y)}"])],
    )
    assert out["attrs"] == [[20, ":cssom", "sheet"]]
    assert out["adds"] == [
        {"parent": 20, "next": None, "nodes": [[21, "#text", "p{background:url()}"]]}
    ]
    # Adopted sheets of a shadow root attached later: a synthetic <style> as its last child.
    out = batch(
        loop,
        renderer,
        session,
        seq=4,
        adds=[
            add(5, [30, "x-a", {}, [[31, "#shadow", [[32, "p", {}, []]]]]]),
        ],
    )
    assert out["adds"] == [
        {
            "parent": 5,
            "next": None,
            "nodes": [[30, "x-a", {}, [[31, "#shadow", [[32, "p", {}, []]]]]]],
        }
    ]
    out = batch(
        loop,
        renderer,
        session,
        seq=5,
        adds=[
            add(31, [33, "style", {":cssom": "adopted"}, [[34, "#text", "p{x:expression(1)}"]]]),
        ],
    )
    assert out["adds"][0] == {
        "parent": 31,
        "next": None,
        "nodes": [[33, "style", {":cssom": "adopted"}, [[34, "#text", "p{}"]]]],
    }


# ------------------------------------------------------------------------------------ frames


def test_frames_as_the_tag_sends_them(loop: Loop, renderer: Renderer) -> None:
    """Same-origin frames carry their document (no doctype needed, shadow roots inside);
    cross-origin frames are an iframe with no children; a reloaded frame is re-added whole."""
    frame_doc = [
        11,
        "#document",
        [
            [
                12,
                "html",
                {},
                [[13, "body", {}, [[14, "x-w", {}, [[15, "#shadow", [[16, "#text", "deep"]]]]]]]],
            ]
        ],
    ]
    doc = page_doc(
        [10, "iframe", {"src": "https://shop.example/f.html", "width": "50"}, [frame_doc]],
        [20, "iframe", {"src": "https://ads.example/"}, []],
    )
    session, tree = start(loop, renderer, doc)
    assert find(tree, 10) == [
        10,
        "div",
        {"data-cobrowse-placeholder": "iframe", "style": "display:inline-block;width:50px"},
        [frame_doc],
    ]
    assert find(tree, 20) == [
        20,
        "iframe",
        {"data-cobrowse-placeholder": "third-party iframe"},
        [],
    ]
    # Mutations inside the frame's shadow root apply; a frame that loaded a new document is
    # removed and added again with it (the tag's "reframe").
    out = batch(loop, renderer, session, texts=[[16, "deeper"]])
    assert out["texts"] == [[16, "deeper"]]
    new_doc = [
        50,
        "#document",
        [[51, "html", {}, [[52, "body", {}, [[53, "#text", "next page"]]]]]],
    ]
    out = batch(
        loop,
        renderer,
        session,
        seq=2,
        removes=[10],
        adds=[add(5, [60, "iframe", {"src": "https://shop.example/g"}, [new_doc]], next_id=20)],
    )
    assert out["removes"] == [10]
    assert out["adds"][0]["next"] == 20 and out["adds"][0]["nodes"][0][3] == [new_doc]


def test_outputs_hold_nothing_forbidden_and_ids_are_the_visitors(
    loop: Loop, renderer: Renderer
) -> None:
    message = fixture("dom_snapshot_frames_shadow_cssom.json")
    session = new_session()
    out = loop.run(renderer.snapshot(session, {**message, "session": session}, BRAND))
    assert violations(expand(out["doc"])) == []
    assert ids(expand(out["doc"])) == set(range(1, 20))
