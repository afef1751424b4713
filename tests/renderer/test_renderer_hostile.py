"""Hostile DOM streams forged without the tag, judged in a real browser with scripts enabled.

Each case is a hand-written ``dom.snapshot`` (plus ``dom.mutations`` batches) that speaks the
protocol but says what the tag never would: upper-case or invalid element names, handler
attributes, ``javascript:`` URLs hidden by whitespace, control characters and entities,
CSS ``expression(`` and foreign ``@import``, SVG animation of ``href``, meta refresh, base,
``data:image/svg+xml``, a PNG polyglot, form actions, ``srcset``, ``xlink:href``,
``<math href>``, ``srcdoc``, nested frame documents, and such content inside open shadow
roots (``#shadow``, from snapshots and from mutations) and CSSOM sheets. The renderer's output
(snapshot with its batches applied, as the agent's replica would) is built in a
scripts-enabled page, shadow roots attached for real: no dialog, request or navigation may
happen. The negative control builds the raw streams the
same way and must be caught.
"""

from __future__ import annotations

import base64
import copy
import io
from typing import Any

import pytest
from PIL import Image
from renderer_harness import (
    BRAND,
    Loop,
    add,
    compact,
    expand,
    explicit_adds,
    find,
    kids,
    mutations_message,
    new_session,
    snapshot_message,
    violations,
)
from test_renderer_corpus import Harness, harness  # noqa: F401 - the live-page fixture

from renderer.policy import BrandPolicy
from renderer.service import Renderer, RendererError
from wire.nodes import expand_run

pytestmark = pytest.mark.browser

# The brand may load from shop.example; every request the harness sees is a failure anyway.
ORIGINS = BrandPolicy(origins=("https://shop.example",), mask_selectors=(".secret",))
JS = "javascript:alert(1)"


def _png_polyglot() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), (0, 128, 0)).save(buf, format="PNG")
    payload = buf.getvalue() + b"<script>alert(1)</script><img src=x onerror=alert(2)>"
    return "data:image/png;base64," + base64.b64encode(payload).decode()


POLYGLOT = _png_polyglot()


def doc(*body: list[Any], head: tuple[list[Any], ...] = ()) -> list[Any]:
    return [
        1,
        "#document",
        [
            [2, "#doctype", "html"],
            [3, "html", {}, [[4, "head", {}, list(head)], [5, "body", {}, list(body)]]],
        ],
    ]


# (title, explicit snapshot doc, mutation batches as dicts of removes/adds/attrs/texts, their
# adds in the wire form)
CASES: list[tuple[str, list[Any], list[dict[str, Any]]]] = [
    (
        "upper-case and odd script names",
        doc(
            [10, "SCRIPT", {}, [[11, "#text", "alert(1)"]]],
            [12, "Script", {"src": "https://shop.example/x.js"}, []],
            [13, "svg", {}, [[14, "script", {}, [[15, "#text", "alert(1)"]]]]],
            [16, "x:script", {}, [[17, "#text", "alert(1)"]]],
            [18, "script ", {}, []],
            [19, "img/src=x/onerror=alert(1)", {}, []],
        ),
        [],
    ),
    (
        "handler attributes in every spelling",
        doc(
            [10, "img", {"src": "https://shop.example/a.png", "ONERROR": "alert(1)"}, []],
            [11, "img", {"src": "x", "onerror ": "alert(1)", " onerror": "alert(1)"}, []],
            [12, "body", {"onload": "alert(1)"}, []],
            [
                13,
                "svg",
                {"onload": "alert(1)"},
                [[14, "animate", {"onbegin": "alert(1)", "dur": "1s"}, []]],
            ],
            [15, "details", {"open": "", "ontoggle": "alert(1)"}, []],
        ),
        [],
    ),
    (
        "javascript: behind whitespace, controls and entities",
        doc(
            [10, "a", {"href": "  javascript:alert(1)"}, [[11, "#text", "a"]]],
            [12, "a", {"href": "\x01\x10javascript:alert(1)"}, []],
            [13, "a", {"href": "java\tscr\nipt:alert(1)"}, []],
            [14, "a", {"href": "&#106;avascript:alert(1)"}, []],
            [15, "a", {"href": "JaVaScRiPt:alert(1)"}, []],
            [16, "a", {"href": "vbscript:msgbox(1)"}, []],
            [17, "area", {"href": "javascript\u0000:alert(1)"}, []],
        ),
        [],
    ),
    (
        "CSS expression, escapes, foreign @import",
        doc(
            [10, "div", {"style": "width: expression(alert(1))"}, []],
            [11, "div", {"style": "width: exp\\72 ession(alert(1))"}, []],
            [12, "div", {"style": "background:url('javascript:alert(1)')"}, []],
            [13, "div", {"style": "background:url(https://evil.example/t.gif)"}, []],
            head=(
                [20, "style", {}, [[21, "#text", "@import 'https://evil.example/x.css'; p{}"]]],
                [
                    22,
                    "style",
                    {},
                    [[23, "#text", "@im"], [24, "#text", "port url(//evil.example/y.css);"]],
                ],
                [25, "style", {}, [[26, "#text", "b{background:url(https://evil.example/z.png)}"]]],
            ),
        ),
        [],
    ),
    (
        "SVG animation of href and handlers",
        doc(
            [
                10,
                "svg",
                {},
                [
                    [
                        11,
                        "a",
                        {"href": "https://shop.example/"},
                        [
                            [
                                12,
                                "animate",
                                {"attributeName": "href", "values": JS, "dur": "0.01s"},
                                [],
                            ],
                            [13, "set", {"attributeName": "xlink:href", "to": JS}, []],
                            [14, "set", {"attributeName": " href", "to": JS}, []],
                            [15, "animate", {"attributeName": "onclick", "to": "alert(1)"}, []],
                            [16, "text", {"y": "20"}, [[17, "#text", "x"]]],
                        ],
                    ],
                    [18, "a", {"xlink:href": JS}, [[19, "#text", "y"]]],
                    [
                        20,
                        "image",
                        {"href": "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"},
                        [],
                    ],
                    [21, "use", {"href": "data:image/svg+xml,<svg id='x'/>#x"}, []],
                    [22, "feImage", {"href": "https://evil.example/x.svg"}, []],
                ],
            ],
        ),
        [],
    ),
    (
        "meta refresh, base, links",
        doc(
            head=(
                [10, "meta", {"http-equiv": "refresh", "content": "0;url=javascript:alert(1)"}, []],
                [11, "meta", {"content": "0; URL=https://evil.example/"}, []],
                [12, "base", {"href": "https://evil.example/"}, []],
                [13, "link", {"rel": "prefetch", "href": "https://evil.example/p"}, []],
                [14, "link", {"rel": "stylesheet", "href": "https://evil.example/s.css"}, []],
                [15, "link", {"rel": "import", "href": "https://shop.example/i.html"}, []],
            )
        ),
        [],
    ),
    (
        "data: URLs and a PNG polyglot",
        doc(
            [10, "img", {"src": "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"}, []],
            [11, "img", {"src": "data:text/html,<script>alert(1)</script>"}, []],
            [12, "img", {"src": POLYGLOT}, []],
            [13, "a", {"href": "data:text/html,<script>alert(1)</script>"}, []],
            [
                14,
                "video",
                {"poster": "data:image/png;base64,AAAA", "src": "https://evil.example/v"},
                [],
            ],
        ),
        [],
    ),
    (
        "forms, srcset, math href, srcdoc, object",
        doc(
            [
                10,
                "form",
                {"action": JS},
                [
                    [11, "button", {"formaction": JS}, [[12, "#text", "go"]]],
                    [
                        13,
                        "input",
                        {"type": "image", "src": "https://evil.example/i", "formaction": JS},
                        [],
                    ],
                ],
            ],
            [14, "img", {"srcset": "https://shop.example/a.png 1x, javascript:alert(1) 2x"}, []],
            [
                15,
                "math",
                {"href": JS},
                [[16, "mi", {"href": JS, "xlink:href": JS}, [[17, "#text", "x"]]]],
            ],
            [
                18,
                "iframe",
                {"srcdoc": "<script>alert(1)</script>", "width": "10", "height": "10"},
                [],
            ],
            [19, "iframe", {"src": JS}, []],
            [20, "object", {"data": "https://evil.example/x"}, []],
            [21, "embed", {"src": "https://evil.example/x"}, []],
            [22, "portal", {"src": "https://evil.example/x"}, []],
        ),
        [],
    ),
    (
        "vectors injected by mutations after the snapshot",
        doc(
            [10, "p", {}, [[11, "#text", "hi"]]],
            [12, "a", {"href": "https://shop.example/"}, [[13, "#text", "ok"]]],
            [14, "svg", {}, [[15, "a", {}, []]]],
            head=([16, "style", {}, [[17, "#text", "p{}"]]], [18, "meta", {"name": "x"}, []]),
        ),
        [
            {
                "adds": [
                    add(10, [20, "script", {}, [[21, "#text", "alert(1)"]]]),
                    add(10, [22, "img", {"src": "x", "onerror": "alert(1)"}, []]),
                    add(10, [23, "iframe", {"srcdoc": "<script>alert(1)</script>"}, []]),
                    add(14, [24, "set", {"attributeName": "href", "to": JS}, []]),
                    add(
                        5,
                        [
                            25,
                            "form",
                            {"action": JS},
                            [[26, "input", {"type": "submit", "formaction": JS}, []]],
                        ],
                    ),
                ],
                "attrs": [
                    [12, "href", " javascript:alert(1)"],
                    [10, "onclick", "alert(1)"],
                    [10, "style", "background:url(javascript:alert(1))"],
                    [18, "http-equiv", "refresh"],
                    [18, "content", "0;url=javascript:alert(1)"],
                ],
                "texts": [[17, "@import url(https://evil.example/x.css);"]],
            },
            {
                "adds": [add(4, [30, "base", {"href": "https://evil.example/"}, []])],
                "attrs": [[22, "src", "data:image/svg+xml,<svg onload=alert(1)>"]],
            },
        ],
    ),
    (
        "origin-relative URLs that name another host",
        doc(
            [10, "img", {"src": "//evil.example/a.png"}, []],
            [11, "img", {"src": "/\\evil.example/b.png"}, []],
            [12, "img", {"src": "/\t/evil.example/c.png"}, []],
            [13, "img", {"srcset": "/ok.png 1x, //evil.example/d.png 2x"}, []],
            [14, "video", {"poster": "/\\evil.example/e.jpg", "src": "//evil.example/v"}, []],
            [15, "img", {"src": "/ok.png", "srcset": "/ok.png 1x, /ok2.png 2x"}, []],
            head=([16, "link", {"rel": "stylesheet", "href": "//evil.example/s.css"}, []],),
        ),
        [
            {
                "adds": [add(5, [20, "img", {"src": "//evil.example/f.png"}, []])],
                "attrs": [[15, "src", "/\\evil.example/g.png"], [14, "poster", "//evil.example/h"]],
            }
        ],
    ),
    (
        "nested frame documents",
        doc(
            [
                10,
                "iframe",
                {"src": "https://shop.example/frame", "width": "200", "height": "100"},
                [
                    [
                        11,
                        "#document",
                        [
                            [
                                12,
                                "html",
                                {},
                                [
                                    [13, "head", {}, []],
                                    [
                                        14,
                                        "body",
                                        {},
                                        [
                                            [15, "script", {}, [[16, "#text", "alert(1)"]]],
                                            [17, "img", {"src": "x", "onerror": "alert(1)"}, []],
                                            [18, "p", {}, [[19, "#text", "inside"]]],
                                        ],
                                    ],
                                ],
                            ]
                        ],
                    ],
                ],
            ],
            [
                20,
                "iframe",
                {"src": "https://ads.example/"},
                [
                    [
                        21,
                        "#document",
                        [[22, "html", {}, [[23, "body", {}, [[24, "#text", "third party"]]]]]],
                    ],
                ],
            ],
        ),
        [
            {
                "adds": [add(14, [30, "a", {"href": JS}, [[31, "#text", "x"]]])],
                "attrs": [[18, "onclick", "alert(1)"]],
            },
        ],
    ),
    (
        "shadow roots and CSSOM sheets",
        doc(
            [
                10,
                "x-card",
                {"onclick": "alert(1)"},
                [
                    [
                        11,
                        "#shadow",
                        [
                            [12, "script", {}, [[13, "#text", "alert(1)"]]],
                            [14, "img", {"src": "x", "onerror": "alert(1)"}, []],
                            [15, "style", {}, [[16, "#text", "@import 'https://evil.example/s';"]]],
                            [17, "a", {"href": JS}, [[18, "#text", "a"]]],
                            [
                                19,
                                "div",
                                {},
                                [[20, "#shadow", [[21, "svg", {"onload": "alert(1)"}, []]]]],
                            ],
                            [
                                22,
                                "style",
                                {":cssom": "adopted"},
                                [[23, "#text", "p{background:url(https://evil.example/a)}"]],
                            ],
                        ],
                    ],
                    [24, "p", {}, [[25, "#text", "light"]]],
                ],
            ],
            [26, "span", {}, [[27, "p", {}, []]]],
            head=([28, "style", {":cssom": "sheet"}, [[29, "#text", "b{}"]]],),
        ),
        [
            {
                "adds": [
                    add(11, [30, "img", {"src": "x", "onerror": "alert(1)"}, []], next_id=12),
                    add(
                        26,
                        [
                            31,
                            "#shadow",
                            [
                                [32, "script", {}, [[33, "#text", "alert(1)"]]],
                                [34, "iframe", {"srcdoc": "<script>alert(1)</script>"}, []],
                                [35, "style", {}, [[36, "#text", "p{}"]]],
                            ],
                        ],
                        next_id=27,
                    ),
                ],
                "attrs": [[19, "onmouseover", "alert(1)"], [17, "href", " javascript:alert(2)"]],
                "texts": [
                    [23, "x{background:url(javascript:alert(1))}"],
                    [29, "@import url(https://evil.example/c.css);"],
                    [36, "@import 'https://evil.example/d.css';"],
                ],
            },
        ],
    ),
]


def apply(tree: list[Any], batch: dict[str, Any]) -> None:
    """Apply a mutations batch (adds in the wire form) to an explicit replica tree, as the
    agent's workspace does."""
    index: dict[int, list[Any]] = {}
    parent_of: dict[int, list[Any]] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        index[node[0]] = node
        for kid in kids(node):
            parent_of[kid[0]] = node
        stack.extend(kids(node))

    for node_id in batch["removes"]:
        siblings = kids(parent_of[node_id])
        siblings[:] = [k for k in siblings if k[0] != node_id]
    for entry in batch["adds"]:
        siblings = kids(index[entry["parent"]])
        at = next((i for i, k in enumerate(siblings) if k[0] == entry["next"]), len(siblings))
        run = expand_run(entry["nodes"])
        siblings[at:at] = run
        stack = list(run)
        while stack:
            node = stack.pop()
            index[node[0]] = node
            stack.extend(kids(node))
    for node_id, name, value in batch["attrs"]:
        if value is None:
            index[node_id][2].pop(name, None)
        else:
            index[node_id][2][name] = value
    for node_id, text in batch["texts"]:
        index[node_id][2] = text


def render_case(
    loop: Loop, renderer: Renderer, case: tuple[str, list[Any], list[dict[str, Any]]]
) -> list[Any]:
    _, snapshot, batches = case
    session = new_session()
    out = loop.run(
        renderer.snapshot(session, snapshot_message(compact(snapshot), session), ORIGINS)
    )
    tree = expand(out["doc"])
    for seq, batch in enumerate(batches, start=1):
        replica = loop.run(renderer.mutations(session, mutations_message(session, seq, **batch)))
        apply(tree, replica)
    loop.run(renderer.drop(session))
    return tree  # type: ignore[no-any-return]


def flatten_frames(tree: list[Any]) -> list[list[Any]]:
    """The top document and every nested frame document (the harness builds each alone)."""
    docs, stack = [tree], [tree]
    while stack:
        node = stack.pop()
        for kid in kids(node):
            if kid[1] == "#document":
                docs.append(kid)
        stack.extend(kids(node))
    return docs


def unexpected(events: list[str]) -> list[str]:
    """Everything but fetches from the brand's own origin, which the policy allows."""
    return [e for e in events if not e.startswith("request https://shop.example/")]


def test_hostile_streams_leave_nothing_that_runs_loads_or_navigates(
    loop: Loop,
    renderer: Renderer,
    harness: Harness,  # noqa: F811
) -> None:
    failures: list[str] = []
    built: list[list[Any]] = []
    for case in CASES:
        tree = render_case(loop, renderer, case)
        found = violations(tree)
        if found:
            failures.append(f"{case[0]}: {found}")
        built.append(tree)
    assert failures == [], "\n".join(failures)
    docs = [d for tree in built for d in flatten_frames(tree)]
    events = unexpected(loop.run(harness.build_nodes(docs)))
    if events:
        for case, tree in zip(CASES, built, strict=True):
            single = unexpected(loop.run(harness.build_nodes(flatten_frames(tree))))
            if single:
                failures.append(f"{case[0]}: {sorted(set(single))}")
    assert failures == [] and events == [], "\n".join(failures) or events


def test_negative_control_the_raw_streams_do_run(loop: Loop, harness: Harness) -> None:  # noqa: F811
    raw: list[list[Any]] = []
    for _, snapshot, batches in CASES:
        tree = copy.deepcopy(snapshot)
        for batch in batches:
            apply(
                tree, {"removes": [], "adds": [], "attrs": [], "texts": [], **copy.deepcopy(batch)}
            )
        raw += flatten_frames(tree)
    events = loop.run(harness.build_nodes(raw))
    assert sum(e.startswith("dialog") for e in events) >= 3, events
    assert sum(e.startswith("request") for e in events) >= 3, events


def test_negative_control_handlers_inside_raw_shadow_roots_do_run(
    loop: Loop,
    harness: Harness,  # noqa: F811
) -> None:
    """The harness builds #shadow as a real shadow root: what is inside one can run there."""
    raw = doc(
        [10, "div", {}, [[11, "#shadow", [[12, "img", {"src": "x", "onerror": "alert(1)"}, []]]]]]
    )
    events = loop.run(harness.build_nodes([raw]))
    assert any(e.startswith("dialog") for e in events), events


def test_polyglot_png_is_reencoded_without_its_trailer(loop: Loop, renderer: Renderer) -> None:
    tree = render_case(loop, renderer, CASES[6])
    assert CASES[6][0] == "data: URLs and a PNG polyglot"
    src = find(tree, 12)[2]["src"]  # type: ignore[index]
    data = base64.b64decode(src.split(",", 1)[1])
    assert src.startswith("data:image/png;base64,") and src != POLYGLOT
    assert b"script" not in data and b"onerror" not in data and data.endswith(b"IEND\xaeB`\x82")
    # In a big snapshot too (the compressed path and the "no data: URL" shortcut).
    filler = [
        [100 + i, "p", {"class": "x" * 40}, [[10_000 + i, "#text", "y" * 60]]] for i in range(2500)
    ]
    big = compact(doc([12, "img", {"src": POLYGLOT}, []], *filler))
    session = new_session()
    out = loop.run(renderer.snapshot(session, snapshot_message(big, session), ORIGINS))
    assert find(expand(out["doc"]), 12)[2]["src"] == src  # type: ignore[index]


def test_nested_frame_documents(loop: Loop, renderer: Renderer) -> None:
    """A same-origin (brand-origin) frame's document, sent as its iframe's single child, stays
    a sanitized nested replica inside the labelled placeholder; a third-party frame's does not
    reach the agent at all; mutations inside either are sanitized or vanish."""
    tree = render_case(loop, renderer, CASES[10])
    assert find(tree, 10) == [
        10,
        "div",
        {
            "data-cobrowse-placeholder": "iframe",
            "style": "display:inline-block;width:200px;height:100px",
        },
        [
            [
                11,
                "#document",
                [
                    [
                        12,
                        "html",
                        {},
                        [
                            [13, "head", {}, []],
                            [
                                14,
                                "body",
                                {},
                                [
                                    [17, "img", {}, []],
                                    [18, "p", {}, [[19, "#text", "inside"]]],
                                    [30, "a", {}, [[31, "#text", "x"]]],
                                ],
                            ],
                        ],
                    ]
                ],
            ]
        ],
    ]
    assert find(tree, 20) == [
        20,
        "iframe",
        {"data-cobrowse-placeholder": "third-party iframe"},
        [],
    ]
    # A frame whose src moves to a third party loses its nested replica (remove + re-add).
    session = new_session()
    loop.run(renderer.snapshot(session, snapshot_message(compact(CASES[10][1]), session), ORIGINS))
    out = loop.run(
        renderer.mutations(
            session, mutations_message(session, attrs=[[10, "src", "https://ads.example/"]])
        )
    )
    assert out["removes"] == [10]
    (readded,) = explicit_adds(out)[0]["nodes"]
    assert readded[3] == [] and readded[2]["data-cobrowse-placeholder"] == "third-party iframe"
    # Masking reaches into frames: a masked iframe masks its document's text.
    masked = doc(
        [
            10,
            "iframe",
            {"class": "secret", "src": "https://shop.example/f"},
            [[11, "#document", [[12, "html", {}, [[13, "body", {}, [[14, "#text", "4242"]]]]]]]],
        ]
    )
    session = new_session()
    out = loop.run(renderer.snapshot(session, snapshot_message(compact(masked), session), ORIGINS))
    assert find(expand(out["doc"]), 14) == [14, "#text", "\u2022" * 6]


@pytest.mark.parametrize(
    "bad",
    [
        doc([10, "div", {}, [[11, "#document", []]]]),  # a document under a non-frame
        doc([10, "iframe", {}, [[11, "#document", []], [12, "p", {}, []]]]),  # not the single child
        doc([10, "p", {}, []], [10, "p", {}, []]),  # ids colliding
        [1, "#document", [[1, "html", {}, []]]],  # a child with the document's id
        # Shadow roots where no browser has one (docs/security.md, "Shadow roots"):
        doc([10, "div", {}, [[11, "p", {}, []], [12, "#shadow", []]]]),  # not the first child
        doc([10, "div", {}, [[11, "#shadow", []], [12, "#shadow", []]]]),  # two roots
        doc([10, "script", {}, [[11, "#shadow", []]]]),  # a host that cannot have one
        doc([10, "img", {}, [[11, "#shadow", []]]]),
        doc([10, "input", {}, [[11, "#shadow", []]]]),
        doc([10, "iframe", {}, [[11, "#shadow", []]]]),
        doc([10, "svg", {}, [[11, "x-card", {}, [[12, "#shadow", []]]]]]),  # SVG namespace
        doc([10, "div", {}, [[11, "#shadow", [[12, "#shadow", []]]]]]),  # a root in a root
        [1, "#document", [[2, "#shadow", []]]],  # under a document
    ],
)
def test_forged_structures_are_refused(loop: Loop, renderer: Renderer, bad: list[Any]) -> None:
    session = new_session()
    with pytest.raises(RendererError):
        loop.run(renderer.snapshot(session, snapshot_message(compact(bad), session), BRAND))


@pytest.mark.parametrize(
    "bad",
    [
        # Shapes the explicit form cannot even spell, in the wire form itself.
        [1, "#document", ["html", ["body", ["div", ["#shadow", {"mode": "closed"}]]]]],
        [1, "#document", ["html", ["body", ["div", {"a": "b"}, {"c": "d"}]]]],
        [1, "#document", ["html", ["body", ["p", "x", 7.5]]]],
        [1, "#document", ["html", ["body", ["p", "x", 1025]]]],  # indentation beyond 1024
        [1, "#document", ["html", ["body", [2, "p"]]]],  # the html's id again
        [1, "#document", ["html", ["body", ["iframe", ["#document"], "x"]]]],
        [1, "#document", ["html", ["body", ["div", "x", ["#shadow"]]]]],  # not the first child
    ],
)
def test_forged_wire_forms_are_refused(loop: Loop, renderer: Renderer, bad: list[Any]) -> None:
    session = new_session()
    with pytest.raises(RendererError):
        loop.run(renderer.snapshot(session, snapshot_message(bad, session), BRAND))


def test_forged_mutations_are_refused_and_cost_a_resync(loop: Loop, renderer: Renderer) -> None:
    for batch in (
        {"adds": [add(999, [20, "p", {}, []])]},  # an unknown parent
        {"adds": [add(5, [10, "p", {}, []])]},  # an id already in use
        {"adds": [add(5, [20, "p", {}, []], next_id=999)]},  # next not under parent
        {"adds": [add(5, [20, "#document", []])]},  # a document under a body
        {"removes": [1]},  # the document itself
        {"texts": [[5, "x"]]},  # text on an element
        {"adds": [add(10, [20, "#shadow", []])]},  # a second shadow root
        {"adds": [add(12, [20, "#shadow", []])]},  # on a host that cannot have one
        {"adds": [add(11, [20, "#shadow", []])]},  # a root in a root
        {"adds": [add(5, [20, "p", {}, [[21, "b", {}, []], [22, "#shadow", []]]])]},
        {"removes": [11]},  # a shadow root without its host
        {"attrs": [[11, "class", "x"]]},  # attributes on a shadow root
    ):
        session = new_session()
        snap = compact(doc([10, "p", {}, [[11, "#shadow", [[12, "img", {}, []]]]]]))
        loop.run(renderer.snapshot(session, snapshot_message(snap, session), BRAND))
        with pytest.raises(RendererError):
            loop.run(renderer.mutations(session, mutations_message(session, **batch)))
        with pytest.raises(RendererError):  # the session needs a resync now
            loop.run(renderer.mutations(session, mutations_message(session, seq=2)))
