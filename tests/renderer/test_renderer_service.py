"""Renderer.snapshot / mutations / drop in a real Chromium: what reaches the agent."""

from __future__ import annotations

import asyncio
import base64
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

HOSTILE_BODY: list[list[Any]] = [
    [10, "script", {}, [[11, "#text", "alert(1)"]]],
    [
        12,
        "a",
        {"href": "javascript:alert(1)", "onclick": "alert(1)", "class": "k"},
        [[13, "#text", "link"]],
    ],
    [14, "img", {"src": "https://shop.example/a.png", "onerror": "alert(1)"}, []],
    [
        15,
        "iframe",
        {
            "src": "https://ads.example/x",
            "width": "300",
            "height": "250",
            "srcdoc": "<script>alert(1)</script>",
        },
        [[16, "#text", "x"]],
    ],
    [17, "object", {"data": "https://evil.example/x.swf"}, [[18, "embed", {}, []]]],
    [
        19,
        "form",
        {"action": "https://evil.example/steal"},
        [[20, "button", {"formaction": "javascript:alert(1)"}, [[21, "#text", "go"]]]],
    ],
    [
        22,
        "svg",
        {},
        [
            [23, "a", {"xlink:href": "javascript:alert(1)"}, [[24, "#text", "svg link"]]],
            [25, "set", {"attributeName": "href", "to": "javascript:alert(1)"}, []],
            [26, "animate", {"attributeName": "onclick", "values": "alert(1)"}, []],
            [27, "foreignObject", {}, [[28, "div", {}, [[29, "script", {}, []]]]]],
            [30, "use", {"href": "https://evil.example/sprite.svg#x"}, []],
        ],
    ],
    [31, "#comment", ""],
    [32, "div", {"style": "background:url(javascript:alert(1))"}, [[33, "#text", "styled"]]],
    [34, "p", {"style": "color: red", "data-x": "1", "aria-label": "ok"}, []],
]
P_DOC = compact(page_doc([10, "p", {}, []]))
HOSTILE_HEAD: tuple[list[Any], ...] = (
    [40, "base", {"href": "https://evil.example/"}, []],
    [41, "meta", {"http-equiv": "refresh", "content": "0;url=javascript:alert(1)"}, []],
    [42, "link", {"rel": "import", "href": "https://shop.example/x.html"}, []],
    [43, "link", {"rel": "stylesheet", "href": "https://shop.example/site.css"}, []],
    [44, "link", {"rel": "stylesheet", "href": "https://cdn.evil.example/x.css"}, []],
    [
        45,
        "style",
        {},
        [
            [46, "#text", "@import url(https://evil.example/x.css); b{color:red}"],
            [47, "#text", "a{background:url(https://shop.example/ok.png)}"],
        ],
    ],
)


def _snapshot(
    loop: Loop, renderer: Renderer, doc: list[Any], brand: BrandPolicy = BRAND
) -> tuple[str, list[Any]]:
    """Start a session on the explicit ``doc`` (sent compact); the replica's, decoded."""
    session = new_session()
    out = loop.run(renderer.snapshot(session, snapshot_message(compact(doc), session), brand))
    return session, expand(out["doc"])


def test_snapshot_keeps_fields_and_ids_and_removes_every_vector(
    loop: Loop, renderer: Renderer
) -> None:
    session = new_session()
    message = snapshot_message(compact(page_doc(*HOSTILE_BODY, head=HOSTILE_HEAD)), session, seq=7)
    out = loop.run(renderer.snapshot(session, message, BRAND))
    assert out["type"] == "replica.snapshot"
    assert {k: v for k, v in out.items() if k not in ("type", "doc")} == {
        k: v for k, v in message.items() if k not in ("type", "doc")
    }
    doc = expand(out["doc"])
    assert violations(doc) == []
    kept = ids(doc)
    # Removed nodes vanish with their subtrees; every kept node keeps its id.
    assert kept.isdisjoint({10, 11, 16, 18, 29, 40, 42, 47})
    # Kept, but without the attribute that made them dangerous.
    assert find(doc, 25) == [25, "set", {}, []]
    assert find(doc, 26) == [26, "animate", {"values": "alert(1)"}, []]
    assert find(doc, 30) == [30, "use", {}, []]
    assert find(doc, 41) == [41, "meta", {}, []]
    assert find(doc, 44) == [44, "link", {"rel": "stylesheet"}, []]
    assert {1, 2, 3, 4, 5, 12, 13, 14, 15, 19, 20, 22, 23, 27, 28, 31, 32, 34, 43, 45, 46} <= kept
    assert find(doc, 12) == [12, "a", {"class": "k"}, [[13, "#text", "link"]]]
    assert find(doc, 14) == [14, "img", {"src": "https://shop.example/a.png"}, []]
    # A third-party iframe: an iframe placeholder with what gives it its box, never its src
    # or srcdoc (issue 15, class 1).
    assert find(doc, 15) == [
        15,
        "iframe",
        {"data-cobrowse-placeholder": "third-party iframe", "width": "300", "height": "250"},
        [],
    ]
    # A plugin object: a labelled placeholder with nothing of the object (issue #5).
    assert find(doc, 17) == [
        17,
        "div",
        {"data-cobrowse-placeholder": "plugin object", "style": "display:inline-block"},
        [],
    ]
    assert find(doc, 19) == [19, "form", {}, [[20, "button", {}, [[21, "#text", "go"]]]]]
    assert find(doc, 31) == [31, "#comment", ""]
    assert find(doc, 32) == [32, "div", {}, [[33, "#text", "styled"]]]
    assert find(doc, 34) == [
        34,
        "p",
        {"style": "color: red", "data-x": "1", "aria-label": "ok"},
        [],
    ]
    assert find(doc, 43) == [
        43,
        "link",
        {"rel": "stylesheet", "href": "https://shop.example/site.css"},
        [],
    ]
    # One <style> text child, sanitized as a whole: the import is gone, the rest stays.
    assert find(doc, 45) == [
        45,
        "style",
        {},
        [[46, "#text", " b{color:red}a{background:url(https://shop.example/ok.png)}"]],
    ]


def test_masking_is_enforced_again(loop: Loop, renderer: Renderer) -> None:
    _, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "input", {"type": "password", ":value": "hunter2", "value": "hunter2"}, []],
            [11, "input", {"type": "text", ":masked": "attribute", ":value": "4242"}, []],
            [
                12,
                "div",
                {"class": "secret"},
                [[13, "#text", "card 4242"], [14, "input", {":value": "x"}, []]],
            ],
            [15, "input", {"autocomplete": "cc-number", ":value": "4242"}, []],
            [16, "input", {"type": "hidden", "value": "csrf-token"}, []],
            [17, "input", {"type": "text", ":value": "public"}, []],
        ),
    )
    assert find(doc, 10) == [
        10,
        "input",
        {"type": "password", ":value": MASK_PLACEHOLDER, ":masked": "password"},
        [],
    ]
    assert find(doc, 11) == [
        11,
        "input",
        {"type": "text", ":value": MASK_PLACEHOLDER, ":masked": "attribute"},
        [],
    ]
    assert find(doc, 13) == [13, "#text", MASK_PLACEHOLDER]
    assert find(doc, 14) == [14, "input", {":value": MASK_PLACEHOLDER, ":masked": "selector"}, []]
    assert find(doc, 15) == [
        15,
        "input",
        {"autocomplete": "cc-number", ":value": MASK_PLACEHOLDER, ":masked": "autocomplete"},
        [],
    ]
    assert find(doc, 16) == [16, "input", {"type": "hidden"}, []]
    assert find(doc, 17) == [17, "input", {"type": "text", ":value": "public"}, []]


def test_mutation_injected_vectors_vanish(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "a", {"href": "https://shop.example/"}, [[11, "#text", "home"]]],
            [12, "img", {"src": "https://shop.example/a.png"}, []],
            [13, "script", {}, []],
            [14, "p", {}, []],
        ),
    )
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                seq=1,
                removes=[13],  # a dropped node: its removal vanishes too
                adds=[
                    add(14, [20, "script", {}, [[21, "#text", "alert(1)"]]]),
                    add(14, [22, "img", {"src": "x", "onerror": "alert(1)"}, []]),
                    add(20, [23, "b", {}, []]),  # under a dropped parent
                    add(14, [24, "span", {}, [[25, "#text", "ok"]]], next_id=20),
                ],
                attrs=[
                    [12, "onerror", "alert(1)"],
                    [10, "href", "javascript:alert(1)"],
                    [12, "src", "https://shop.example/b.png"],
                    [14, "srcdoc", "<script>"],
                ],
                texts=[[21, "alert(2)"], [11, "home!"]],
            ),
        )
    )
    assert out["type"] == "replica.mutations"
    assert out["session"] == session and out["seq"] == 1
    assert out["removes"] == []
    # The visitor's order is 24, 20, 22; without the dropped script 20 the span's next is 22.
    assert explicit_adds(out) == [
        {"parent": 14, "next": None, "nodes": [[22, "img", {}, []]]},
        {"parent": 14, "next": 22, "nodes": [[24, "span", {}, [[25, "#text", "ok"]]]]},
    ]
    # The javascript: href is removed, the onerror never appears, the allowed src changes.
    assert sorted(out["attrs"]) == sorted(
        [[10, "href", None], [12, "src", "https://shop.example/b.png"]]
    )
    assert out["texts"] == [[11, "home!"]]


def test_mutations_keep_order_with_next(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "ul", {}, [[11, "li", {}, []], [12, "noscript", {}, []], [13, "li", {}, []]]]
        ),
    )
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                adds=[
                    add(10, [20, "li", {}, []], next_id=12),  # before a dropped node
                    add(10, [21, "li", {}, []], next_id=11),
                ],
            ),
        )
    )
    assert out["adds"] == [
        {"parent": 10, "next": 13, "nodes": [[20, "li"]]},
        {"parent": 10, "next": 11, "nodes": [[21, "li"]]},
    ]


def test_attribute_changes_that_change_the_element(loop: Loop, renderer: Renderer) -> None:
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "link", {"rel": "stylesheet", "href": "https://shop.example/a.css"}, []],
            [11, "link", {"rel": "preload", "href": "https://shop.example/b.css"}, []],
            [12, "input", {"type": "text", ":value": "visible", "value": "v"}, []],
            [13, "div", {}, [[14, "#text", "becomes secret"]]],
        ),
    )
    assert find(doc, 11) is None
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                attrs=[
                    [10, "rel", "import"],
                    [11, "rel", "icon"],
                    [12, "type", "password"],
                    [13, "class", "secret"],
                ],
            ),
        )
    )
    assert out["removes"] == [10]
    assert explicit_adds(out) == [
        {
            "parent": 5,
            "next": 12,
            "nodes": [[11, "link", {"rel": "icon", "href": "https://shop.example/b.css"}, []]],
        }
    ]
    assert sorted(out["attrs"], key=str) == sorted(
        [
            [12, "type", "password"],
            [12, ":value", MASK_PLACEHOLDER],
            [12, "value", None],
            [12, ":masked", "password"],
            [13, "class", "secret"],
            [13, ":masked", "selector"],
        ],
        key=str,
    )
    assert out["texts"] == [[14, MASK_PLACEHOLDER]]
    # The visitor keeps typing into the now-masked field: the agent still sees the placeholder.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session, seq=2, attrs=[[12, ":value", "hunter2"]], texts=[[14, "still secret"]]
            ),
        )
    )
    assert out["attrs"] == [] and out["texts"] == [[14, MASK_PLACEHOLDER]]


def test_style_text_mutations_are_sanitized_as_a_whole(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(
        loop, renderer, page_doc([10, "style", {}, [[11, "#text", "@im"], [12, "#text", "b{}"]]])
    )
    # Split across text nodes, "@im" + "port url(...)" would be an import: never per-node.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(session, texts=[[12, "port url(https://evil.example/x.css);"]]),
        )
    )
    assert out["texts"] == [[11, ""]]
    out = loop.run(renderer.mutations(session, mutations_message(session, seq=2, removes=[11])))
    assert out["removes"] == [11]
    assert out["adds"] == [{"parent": 10, "next": None, "nodes": [[12, "#text", "port url();"]]}]


def test_data_images_are_reencoded(loop: Loop, renderer: Renderer) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (255, 0, 0)).save(buf, format="GIF")
    gif = "data:image/gif;base64," + base64.b64encode(buf.getvalue()).decode()
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "img", {"src": gif}, []],
            [11, "img", {"src": "data:image/png;base64,AAAA"}, []],  # not an image: dropped
            [12, "img", {"src": "data:image/svg+xml;base64,PHN2Zz4="}, []],
            [13, "img", {"src": "data:text/html;base64,PHNjcmlwdD4="}, []],
        ),
    )
    src = find(doc, 10)[2]["src"]  # type: ignore[index]
    assert src.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
        assert image.size == (3, 2)
    assert find(doc, 11) == [11, "img", {}, []]
    assert find(doc, 12) == [12, "img", {}, []]
    assert find(doc, 13) == [13, "img", {}, []]
    # In an add's run too; an attribute the re-encoder removes leaves no empty {} behind.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                adds=[add(5, [20, "img", {"src": gif}, []], [21, "img", {"src": "data:,x"}, []])],
                attrs=[[11, "src", gif]],
            ),
        )
    )
    run = out["adds"][0]["nodes"]
    assert run[0][2]["src"] == src and run[1] == ["img"]
    assert out["attrs"] == [[11, "src", src]]
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                seq=2,
                adds=[add(5, [22, "img", {"src": "data:image/png;base64,AAAA"}, []])],
            ),
        )
    )
    assert out["adds"] == [{"parent": 5, "next": None, "nodes": [[22, "img"]]}]


def test_drop_and_unknown_sessions_raise(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(loop, renderer, page_doc([10, "p", {}, []]))
    loop.run(renderer.drop(session))
    loop.run(renderer.drop(session))  # idempotent
    with pytest.raises(RendererError):
        loop.run(renderer.mutations(session, mutations_message(session)))
    with pytest.raises(RendererError):
        loop.run(renderer.mutations("never-started", mutations_message("never-started")))


def test_a_batch_that_does_not_fit_forgets_the_session(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(loop, renderer, page_doc([10, "p", {}, []]))
    with pytest.raises(RendererError, match="unknown node id 99"):
        loop.run(renderer.mutations(session, mutations_message(session, attrs=[[99, "a", "b"]])))
    with pytest.raises(RendererError):  # resync needed: the replica state is gone
        loop.run(renderer.mutations(session, mutations_message(session, seq=2)))
    with pytest.raises(RendererError, match="duplicate node id"):
        _snapshot(loop, renderer, page_doc([10, "p", {}, []], [10, "p", {}, []]))


# A stream's backlog: each batch builds on the one before (ids, masking, runs before `next`).
GROUP_BATCHES: list[dict[str, Any]] = [
    {"adds": [add(10, [20, "li", {}, []], [21, "li", {}, [[22, "#text", "a"]]])]},
    {"adds": [add(10, [23, "li", {"class": "secret"}, [[24, "#text", "4242"]]], next_id=20)]},
    {
        "adds": [add(21, [25, "script", {}, []], [26, "b", {}, []], [27, "i", {}, []])],
        "attrs": [[20, "class", "secret"], [20, "onclick", "x()"]],
    },
    {"removes": [26], "texts": [[22, "b"]], "attrs": [[23, "class", None]]},
    {"adds": [add(10, [30, "li", {}, []], next_id=11), add(5, [31, "p", {}, []])]},
]


def _group_doc() -> list[Any]:
    return page_doc([10, "ul", {}, [[11, "li", {}, []]]])


def test_a_group_of_batches_comes_out_as_one_call_each_would(
    loop: Loop, renderer: Renderer
) -> None:
    one_by_one, _ = _snapshot(loop, renderer, _group_doc())
    grouped, _ = _snapshot(loop, renderer, _group_doc())
    expected = [
        loop.run(renderer.mutations(one_by_one, mutations_message(one_by_one, seq, **batch)))
        for seq, batch in enumerate(GROUP_BATCHES, 1)
    ]
    got = loop.run(
        renderer.mutations_many(
            grouped,
            [mutations_message(grouped, seq, **b) for seq, b in enumerate(GROUP_BATCHES, 1)],
        )
    )
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 5]
    assert all(m["type"] == "replica.mutations" and m["session"] == grouped for m in got)
    strip = [{k: v for k, v in m.items() if k != "session"} for m in expected]
    assert [{k: v for k, v in m.items() if k != "session"} for m in got] == strip
    # The group is applied: the next batch fits the replica it left.
    after = loop.run(
        renderer.mutations(
            grouped, mutations_message(grouped, 6, adds=[add(31, [40, "b", {}, []])])
        )
    )
    assert after["adds"] == [{"parent": 31, "next": None, "nodes": [[40, "b"]]}]


def test_a_bad_batch_fails_its_whole_group_and_forgets_the_session(
    loop: Loop, renderer: Renderer
) -> None:
    session, _ = _snapshot(loop, renderer, _group_doc())
    batches = [
        mutations_message(session, 1, **GROUP_BATCHES[0]),
        mutations_message(session, 2, attrs=[[99, "a", "b"]]),  # no node 99
        mutations_message(session, 3, **GROUP_BATCHES[1]),
    ]
    with pytest.raises(RendererError, match="unknown node id 99"):
        loop.run(renderer.mutations_many(session, batches))
    with pytest.raises(RendererError):  # resync needed: the replica state is gone
        loop.run(renderer.mutations(session, mutations_message(session, seq=4)))
    with pytest.raises(RendererError):  # never an empty or a mixed group
        loop.run(renderer.mutations_many(session, []))


def test_a_long_appended_run_keeps_its_places(loop: Loop, renderer: Renderer) -> None:
    # Thousands of appended siblings (a streamed page) with dropped ones among them, then a
    # run placed before one of them in the same batch: every `next` names the right sibling.
    session, _ = _snapshot(loop, renderer, _group_doc())
    run = [[100 + 2 * k, "script" if k % 5 == 0 else "li", {}, []] for k in range(2000)]
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session, adds=[add(10, *run), add(10, [50, "li", {}, []], next_id=102)]
            ),
        )
    )
    kept = [n[0] for n in run if n[1] == "li"]
    assert [a["next"] for a in out["adds"]] == [None, 102]
    assert [n[0] for n in explicit_adds(out)[0]["nodes"]] == kept
    assert explicit_adds(out)[1]["nodes"] == [[50, "li", {}, []]]


def test_a_new_snapshot_restarts_the_session(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(loop, renderer, page_doc([10, "p", {}, []]))
    out = loop.run(
        renderer.snapshot(
            session, snapshot_message(compact(page_doc([20, "b", {}, []])), session, seq=5), BRAND
        )
    )
    doc = expand(out["doc"])
    assert find(doc, 20) is not None and find(doc, 10) is None
    out = loop.run(
        renderer.mutations(
            session, mutations_message(session, seq=6, adds=[add(20, [21, "#text", "x"])])
        )
    )
    # The first node of a run carries its id, a text node too (no bare string then).
    assert out["adds"] == [{"parent": 20, "next": None, "nodes": [[21, "#text", "x"]]}]


def test_start_is_idempotent_and_concurrency_safe(loop: Loop) -> None:
    async def scenario() -> None:
        r = Renderer(pages=1)
        try:
            await asyncio.gather(r.start(), r.start(), r.start())
            outs = await asyncio.gather(
                *(r.snapshot(f"c{i}", snapshot_message(P_DOC, f"c{i}"), BRAND) for i in range(5))
            )
            assert all(find(expand(o["doc"]), 10) == [10, "p", {}, []] for o in outs)
        finally:
            await r.close()
            await r.close()

    loop.run(scenario())


def test_a_crashed_or_hung_page_drops_its_sessions_and_is_replaced(loop: Loop) -> None:
    async def scenario() -> None:
        r = Renderer(pages=1, timeout=1.0)
        try:
            await r.snapshot("a", snapshot_message(P_DOC, "a"), BRAND)
            # Hang: keep the page's JavaScript busy; the next call times out.
            page = r._where["a"].page
            spin = asyncio.ensure_future(page.evaluate("() => { for (;;) {} }"))
            with pytest.raises(RendererError, match="timed out"):
                await r.mutations("a", mutations_message("a"))
            with pytest.raises(RendererError):
                await r.mutations("a", mutations_message("a", seq=2))
            with pytest.raises(Exception):  # noqa: B017 - the killed page's own call fails
                await spin
            # Crash: the renderer process dies; the session is lost, a new page serves.
            await r.snapshot("b", snapshot_message(P_DOC, "b"), BRAND)
            page = r._where["b"].page
            with pytest.raises(Exception):  # noqa: B017 - goto into a crash fails
                await page.goto("chrome://crash", timeout=3000)
            with pytest.raises(RendererError):
                await r.mutations("b", mutations_message("b"))
            out = await r.snapshot("b", snapshot_message(P_DOC, "b"), BRAND)
            assert find(expand(out["doc"]), 10) == [10, "p", {}, []]
            # The browser itself dies: it is relaunched on the next snapshot.
            assert r._browser is not None
            await r._browser.close()
            with pytest.raises(RendererError):
                await r.mutations("b", mutations_message("b", seq=2))
            out = await r.snapshot("c", snapshot_message(P_DOC, "c"), BRAND)
            assert find(expand(out["doc"]), 10) == [10, "p", {}, []]
        finally:
            await r.close()

    loop.run(scenario())


def test_sanitize_html_parses_inertly(loop: Loop, renderer: Renderer) -> None:
    doc = expand(
        loop.run(
            renderer.sanitize_html(
                "<p onclick=alert(1)>hi<img src=/a.png onerror=alert(1)><a href=/x>x</a></p>"
                "<script>alert(1)</script>",
                "https://shop.example/",
                BRAND,
            )
        )
    )
    assert violations(doc) == []
    body = doc[2][0][3][1]
    assert body[1] == "body"
    assert body[3][0][3] == [
        [6, "#text", "hi"],
        [7, "img", {"src": "https://shop.example/a.png"}, []],
        [8, "a", {"href": "https://shop.example/x"}, [[9, "#text", "x"]]],
    ]


# --------------------------------------------------------------------- the compact writer


def test_snapshot_output_leaves_out_ids_that_follow_and_writes_those_that_do_not(
    loop: Loop, renderer: Renderer
) -> None:
    """The exact wire form: ids only where the preorder count breaks (the root; the node
    after a dropped subtree), the attributes object only when not empty, text as strings."""
    session = new_session()
    doc = page_doc(
        [10, "p", {"class": "a"}, [[11, "#text", "x"], [12, "b", {}, [[13, "#text", "y"]]]]],
        [14, "script", {}, [[15, "#text", "alert(1)"]]],
        [16, "p", {"onclick": "alert(1)"}, [[17, "#text", "z"]]],
        [18, "#comment", ""],
        [40, "p", {}, []],
    )
    out = loop.run(renderer.snapshot(session, snapshot_message(compact(doc), session), BRAND))
    assert out["doc"] == [
        1,
        "#document",
        ["#doctype", "html"],
        [
            "html",
            ["head"],
            [
                "body",
                [10, "p", {"class": "a"}, "x", ["b", "y"]],
                [16, "p", "z"],
                ["#comment"],
                [40, "p"],
            ],
        ],
    ]


def test_adds_are_runs_of_siblings_with_ids_counting_on(loop: Loop, renderer: Renderer) -> None:
    session, _ = _snapshot(loop, renderer, page_doc([10, "ul", {}, [[11, "li", {}, []]]]))
    run = [
        [20, "li", {}, [[21, "#text", "a"]]],
        [22, "script", {}, [[23, "#text", "alert(1)"]]],
        [24, "li", {"onclick": "x"}, [[25, "#text", "b"]]],
        [26, "li", {}, []],
    ]
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                adds=[
                    add(10, *run, next_id=11),
                    add(10, [30, "li", {}, []], [31, "li", {}, []]),  # appended: another run
                    add(5, [32, "p", {}, []]),
                ],
            ),
        )
    )
    # One run per (parent, next): inserting its nodes one by one before `next` keeps their order.
    assert out["adds"] == [
        {"parent": 10, "next": 11, "nodes": [[20, "li", "a"], [24, "li", "b"], ["li"]]},
        {"parent": 10, "next": None, "nodes": [[30, "li"], ["li"]]},
        {"parent": 5, "next": None, "nodes": [[32, "p"]]},
    ]
    assert explicit_adds(out)[0]["nodes"] == [
        [20, "li", {}, [[21, "#text", "a"]]],
        [24, "li", {}, [[25, "#text", "b"]]],
        [26, "li", {}, []],
    ]
    # Nodes of one visitor run that land before different agent siblings make separate runs.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                seq=2,
                adds=[add(10, [40, "li", {}, []], [41, "noscript", {}, []], next_id=24)],
            ),
        )
    )
    assert out["adds"] == [{"parent": 10, "next": 24, "nodes": [[40, "li"]]}]


# ------------------------------------------------------------------ origin-relative URLs

RELATIVE_BODY: list[list[Any]] = [
    [10, "img", {"src": "/a.png", "srcset": "/a.png 1x, /b.png 2x", "alt": "/not-a-url"}, []],
    [11, "a", {"href": "/p/1?x=2#y"}, [[12, "#text", "home"]]],
    [13, "video", {"src": "/v.mp4", "poster": "/v.jpg"}, []],
    [14, "img", {"src": "//evil.example/a.png"}, []],  # another host: refused
    [15, "img", {"src": "/\\evil.example/a.png"}, []],  # a browser reads /\ as //
    [16, "img", {"src": "/\t/evil.example/a.png"}, []],  # ...and drops the tab
    [17, "img", {"srcset": "/a.png 1x, //evil.example/b.png 2x"}, []],  # one bad candidate
    [18, "a", {"href": "p/1"}, []],  # path-relative: still refused
    [19, "iframe", {"src": "/frame"}, [[20, "#document", [[21, "html", {}, []]]]]],
    [22, "blockquote", {"cite": "/source"}, []],
    [23, "form", {"action": "/steal"}, []],  # never allowed, relative or not
]
RELATIVE_HEAD: tuple[list[Any], ...] = (
    [30, "link", {"rel": "stylesheet", "href": "/site.css"}, []],
)


def test_origin_relative_urls_are_made_absolute_on_the_page_origin(
    loop: Loop, renderer: Renderer
) -> None:
    _, doc = _snapshot(loop, renderer, page_doc(*RELATIVE_BODY, head=RELATIVE_HEAD))
    s = "https://shop.example"
    assert find(doc, 10) == [
        10,
        "img",
        {"src": f"{s}/a.png", "srcset": f"{s}/a.png 1x, {s}/b.png 2x", "alt": "/not-a-url"},
        [],
    ]
    assert find(doc, 11) == [11, "a", {"href": f"{s}/p/1?x=2#y"}, [[12, "#text", "home"]]]
    assert find(doc, 13) == [13, "video", {"src": f"{s}/v.mp4", "poster": f"{s}/v.jpg"}, []]
    for node_id in (14, 15, 16, 17):
        assert find(doc, node_id) == [node_id, "img", {}, []]
    assert find(doc, 18) == [18, "a", {}, []]
    # A frame on the page's own origin is a same-origin frame: its document is shown.
    assert find(doc, 19) == [
        19,
        "div",
        {"data-cobrowse-placeholder": "iframe", "style": "display:inline-block"},
        [[20, "#document", [[21, "html", {}, []]]]],
    ]
    assert find(doc, 22) == [22, "blockquote", {"cite": f"{s}/source"}, []]
    assert find(doc, 23) == [23, "form", {}, []]
    assert find(doc, 30) == [30, "link", {"rel": "stylesheet", "href": f"{s}/site.css"}, []]


def test_origin_relative_urls_in_mutations_and_on_a_page_off_the_brand_origins(
    loop: Loop, renderer: Renderer
) -> None:
    session, _ = _snapshot(loop, renderer, page_doc([10, "img", {}, []], [11, "p", {}, []]))
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                attrs=[[10, "src", "/c.png"]],
                adds=[
                    add(11, [20, "a", {"href": "/d"}, []], [21, "img", {"src": "//x.example/"}, []])
                ],
            ),
        )
    )
    assert out["attrs"] == [[10, "src", "https://shop.example/c.png"]]
    assert out["adds"] == [
        {
            "parent": 11,
            "next": None,
            "nodes": [[20, "a", {"href": "https://shop.example/d"}], ["img"]],
        }
    ]
    # The page is not on a brand origin: its links still work, but nothing is fetched from it.
    session = new_session()
    message = snapshot_message(
        compact(page_doc([10, "img", {"src": "/a.png"}, []], [11, "a", {"href": "/b"}, []])),
        session,
    )
    message["url"] = "https://elsewhere.example:8080/shop/page"
    doc = expand(loop.run(renderer.snapshot(session, message, BRAND))["doc"])
    assert find(doc, 10) == [10, "img", {}, []]
    assert find(doc, 11) == [11, "a", {"href": "https://elsewhere.example:8080/b"}, []]


# ---------------------------------------------------------------- closed shadow roots


def test_closed_shadow_state_reaches_the_agent_only_as_closed(
    loop: Loop, renderer: Renderer
) -> None:
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "x-card", {":shadow": "closed"}, []],
            [11, "div", {":shadow": "open"}, []],
            [12, "div", {":shadow": "closed", "class": "secret"}, []],
            [13, "img", {":shadow": "closed"}, []],  # no browser attaches a root to an img
            [14, "span", {}, []],
        ),
    )
    assert find(doc, 10) == [10, "x-card", {":shadow": "closed"}, []]
    assert find(doc, 11) == [11, "div", {}, []]
    assert find(doc, 12) == [
        12,
        "div",
        {"class": "secret", ":shadow": "closed", ":masked": "selector"},
        [],
    ]
    assert find(doc, 13) == [13, "img", {}, []]
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                attrs=[[14, ":shadow", "closed"], [11, ":shadow", "CLOSED"], [10, ":shadow", None]],
            ),
        )
    )
    assert sorted(out["attrs"], key=str) == [[10, ":shadow", None], [14, ":shadow", "closed"]]


# ------------------------------------------------------- images the page made (blob:)


def test_unseen_images_reach_the_agent_on_img_only(loop: Loop, renderer: Renderer) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4, 2), (0, 0, 255)).save(buf, format="PNG")
    drawn = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "img", {":unseen": "image", "alt": "chart"}, []],
            [11, "img", {":unseen": "IMAGE"}, []],
            [12, "div", {":unseen": "image"}, []],  # an image's state: never on another element
            [13, "img", {"src": "blob:https://shop.example/4e1c"}, []],  # the tag never sends one
            [14, "img", {"src": drawn}, []],  # what the tag sends instead: re-encoded
        ),
    )
    assert find(doc, 10) == [10, "img", {"alt": "chart", ":unseen": "image"}, []]
    assert find(doc, 11) == [11, "img", {}, []]
    assert find(doc, 12) == [12, "div", {}, []]
    assert find(doc, 13) == [13, "img", {}, []]
    src = find(doc, 14)[2]["src"]  # type: ignore[index]
    with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
        assert image.convert("RGB").getpixel((1, 1)) == (0, 0, 255)
    # Loaded later: the pixels come, the mark goes.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(session, attrs=[[10, "src", drawn], [10, ":unseen", None]]),
        )
    )
    assert sorted(out["attrs"], key=str) == [[10, ":unseen", None], [10, "src", src]]


# ------------------------------------------------------------- the visitor's focus


def test_the_visitors_focus_reaches_the_agent_with_its_two_values_only(
    loop: Loop, renderer: Renderer
) -> None:
    """``:focus`` (issue 15, class 5) names the focused element, masked or not, and whether its
    ring shows; any other value is dropped."""
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [10, "input", {":focus": "visible"}, []],
            [11, "input", {"type": "password", ":focus": "focus", ":value": "secret"}, []],
            [12, "div", {":focus": "VISIBLE"}, []],
            [13, "button", {":focus": "<b>"}, []],
        ),
    )
    assert find(doc, 10) == [10, "input", {":focus": "visible"}, []]
    masked = find(doc, 11)[2]  # type: ignore[index]
    assert masked[":focus"] == "focus" and masked[":value"] == MASK_PLACEHOLDER
    assert find(doc, 12) == [12, "div", {}, []]
    assert find(doc, 13) == [13, "button", {}, []]
    # Focus moves: the old element's entry goes, the new one's comes.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                attrs=[[10, ":focus", None], [13, ":focus", "visible"], [12, ":focus", "x"]],
            ),
        )
    )
    assert sorted(out["attrs"], key=str) == [[10, ":focus", None], [13, ":focus", "visible"]]


# -------------------------------------------------------------------- plugin objects


def test_plugin_objects_are_labelled_placeholders_that_carry_nothing_of_them(
    loop: Loop, renderer: Renderer
) -> None:
    """Issue #5: object, embed and applet become a placeholder the agent is told about
    (data-cobrowse-placeholder="plugin object"), with the size an iframe's keeps, and none
    of the object's URLs, type, parameters or fallback content."""
    session, doc = _snapshot(
        loop,
        renderer,
        page_doc(
            [
                10,
                "object",
                {
                    "data": "https://shop.example/movie.swf",
                    "type": "application/x-shockwave-flash",
                    "width": "400",
                    "height": "50%",
                    "id": "player",
                    "class": "media",
                    "classid": "clsid:D27CDB6E",
                    "onload": "alert(1)",
                },
                [
                    [11, "param", {"name": "movie", "value": "https://evil.example/x.swf"}, []],
                    [12, "p", {}, [[13, "#text", "fallback"]]],
                ],
            ],
            [14, "embed", {"src": "https://evil.example/x.pdf", "width": "x", "height": "9"}, []],
            [15, "applet", {"code": "Evil.class", "codebase": "https://evil.example/"}, []],
            [16, "svg", {}, [[17, "object", {}, []]]],  # not an HTML object: just dropped
        ),
    )
    assert find(doc, 10) == [
        10,
        "div",
        {
            "data-cobrowse-placeholder": "plugin object",
            "id": "player",
            "class": "media",
            "style": "display:inline-block;width:400px;height:50%",
        },
        [],
    ]
    assert find(doc, 14) == [
        14,
        "div",
        {"data-cobrowse-placeholder": "plugin object", "style": "display:inline-block;height:9px"},
        [],
    ]
    assert find(doc, 15) == [
        15,
        "div",
        {"data-cobrowse-placeholder": "plugin object", "style": "display:inline-block"},
        [],
    ]
    assert find(doc, 16) == [16, "svg", {}, []]
    # Later changes: children under it never show; its size follows; its data never does.
    out = loop.run(
        renderer.mutations(
            session,
            mutations_message(
                session,
                adds=[add(10, [20, "param", {"name": "src"}, []]), add(5, [21, "embed", {}, []])],
                attrs=[[10, "data", "https://evil.example/y"], [10, "width", "10"]],
                texts=[[13, "changed"]],
            ),
        )
    )
    assert explicit_adds(out) == [
        {
            "parent": 5,
            "next": None,
            "nodes": [
                [
                    21,
                    "div",
                    {"data-cobrowse-placeholder": "plugin object", "style": "display:inline-block"},
                    [],
                ]
            ],
        }
    ]
    assert out["attrs"] == [[10, "style", "display:inline-block;width:10px;height:50%"]]
    assert out["texts"] == []
