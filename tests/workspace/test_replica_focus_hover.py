"""The visitor's focus and hover in replica.js (issue 15, class 5), from hand-written message
streams: the page's :hover, :focus, :focus-visible and :focus-within rules are rewritten to
match the replica's marks of the visitor's state (``:focus`` from the wire, ``setHover`` with
the node the visitor's pointer names), in every stylesheet (nested rules, shadow roots, a sheet
that loads later, a style whose text changes), and the browser's default ring is drawn under
every page rule."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page
from workspace_fakes import ORIGIN, FakeSite, add

from wire.nodes import compact

pytestmark = pytest.mark.browser

HOVER = "[data-cobrowse-replica-hover]"
FOCUS = "[data-cobrowse-replica-focus]"
VISIBLE = "[data-cobrowse-replica-focus=visible]"
WITHIN = "[data-cobrowse-replica-focus-within]"

CSS = (
    # a list: only the selector with the state is the visitor's
    "#btn:hover, #other { background: rgb(0, 128, 0) }"
    # :not(:hover) means "not under the visitor's pointer"
    "#btn:not(:hover) { color: rgb(1, 2, 3) }"
    # after :hover, a pseudo-element
    "#btn:hover::after { content: 'hovered' }"
    # nested in at-rules and in CSS nesting
    "@media screen { @supports (display: grid) {"
    " #card:hover { border-top-color: rgb(255, 0, 0) } } }"
    "@layer page { #card { outline: 2px solid rgb(0, 0, 0);"
    " &:focus-within { outline-color: rgb(0, 0, 255) } } }"
    "#card { border: 2px solid rgb(0, 0, 0) }"
    # a class name with an escaped colon is not a state
    ".a\\:hover { color: rgb(9, 9, 9) }"
    "#field { outline: none } #field:focus-visible { box-shadow: 0 0 0 3px rgb(255, 0, 0) }"
    "#field:focus { background-color: rgb(255, 255, 0) }"
    # the page turns the ring off in a layer: it still wins over the browser's own
    "@layer reset { #quiet:focus-visible { outline: none } }"
)

# fmt: off
DOC: Any = compact([1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {}, [
        [4, "head", {}, [[5, "style", {}, [[6, "#text", CSS]]]]],
        [7, "body", {}, [
            [8, "button", {"id": "btn"}, [[9, "#text", "Go"]]],
            [10, "div", {"id": "card"}, [
                [11, "input", {"id": "field"}, []],
                [12, "input", {"id": "plain"}, []],
                [13, "input", {"id": "quiet"}, []],
            ]],
            [14, "p", {"class": "a:hover", "id": "escaped"}, [[15, "#text", "x"]]],
            [16, "x-host", {"id": "host"}, [
                [17, "#shadow", [
                    [18, "style", {}, [[19, "#text",
                        ":host(:hover) { color: rgb(0, 100, 0) }"
                        " b:focus { color: rgb(200, 0, 0) } b:hover { color: rgb(0, 0, 200) }"]]],
                    [20, "b", {"id": "inner", "tabindex": "0"}, [[21, "#text", "in"]]],
                ]],
            ]],
            [22, "div", {"id": "pad", "style": "height: 40px"}, []],
            [23, "span", {"id": "other"}, []],
        ]],
    ]],
]])
# fmt: on


def open_replica(page: Page, doc: Any = DOC, options: str = "{}") -> None:
    page.goto(f"{ORIGIN}/replica-test.html")
    page.wait_for_function("() => !!window.CobrowseReplica")
    page.evaluate(
        f"""(doc) => {{
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            window.replica = new CobrowseReplica.Replica(frame, {options});
            if (!window.replica.applySnapshot({{doc}})) throw new Error('snapshot refused');
        }}""",
        doc,
    )


def style(page: Page, selector: str, prop: str, pseudo: str | None = None) -> str:
    """The computed `prop` of the replica's element for `selector` (`>>>` enters #host's root)."""
    value: str = page.evaluate(
        """([selector, prop, pseudo]) => {
            const doc = document.querySelector('[data-testid=replica-frame]').contentDocument;
            const [outer, inner] = selector.split(' >>> ');
            let el = doc.querySelector(outer);
            if (inner) el = el.shadowRoot.querySelector(inner);
            return getComputedStyle(el, pseudo).getPropertyValue(prop);
        }""",
        [selector, prop, pseudo],
    )
    return value


def mutate(page: Page, **batch: Any) -> None:
    message = {"adds": [], "removes": [], "attrs": [], "texts": [], **batch}
    result = page.evaluate("(m) => window.replica.applyMutations(m)", message)
    assert result == {"skipped": 0}


def hover(page: Page, node_id: int | None) -> None:
    page.evaluate("(id) => window.replica.setHover(id === null ? null : replica.node(id))", node_id)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("a:hover", f"a{HOVER}"),
        ("a:hover, b", f"a{HOVER}, b"),
        ("b, a:focus-visible", f"b, a{VISIBLE}"),
        (":not(:hover)", f":not({HOVER})"),
        ("a:hover::before", f"a{HOVER}::before"),
        ("a:HOVER", f"a{HOVER}"),
        (":focus-within > a:focus", f"{WITHIN} > a{FOCUS}"),
        (".hover:focus", f".hover{FOCUS}"),
        ("a:focus-visible:hover", f"a{VISIBLE}{HOVER}"),
        (":is(:focus, .x) :hover", f":is({FOCUS}, .x) {HOVER}"),
        ("&:hover", f"&{HOVER}"),
        (":host(:hover)", f":host({HOVER})"),
        (":nth-child(2 of :hover)", f":nth-child(2 of {HOVER})"),
        # none of these names the visitor's state
        ("a::before", None),
        ("a:hovered", None),
        ('[title=":hover"]', None),
        ("[title='it\\':hover']", None),
        (".a\\:hover", None),
        (".a\\3a hover", None),
        ("a:focus-ring", None),
    ],
)
def test_selectors_are_rewritten_as_tokens(
    page: Page, site: FakeSite, selector: str, expected: str | None
) -> None:
    page.goto(f"{ORIGIN}/replica-test.html")
    got = page.evaluate("(s) => CobrowseReplica.rewriteSelector(s)", selector)
    assert got == expected


def test_the_visitors_hover_styles_the_replica_and_the_agents_does_not(
    page: Page, site: FakeSite
) -> None:
    open_replica(page)
    assert style(page, "#btn", "background-color") != "rgb(0, 128, 0)"
    assert style(page, "#other", "background-color") == "rgb(0, 128, 0)"
    assert style(page, "#btn", "color") == "rgb(1, 2, 3)"
    # The agent's own pointer over the button is not the visitor's: nothing changes.
    box = page.evaluate(
        "() => { const f = document.querySelector('[data-testid=replica-frame]');"
        " const r = f.contentDocument.getElementById('btn').getBoundingClientRect();"
        " const o = f.getBoundingClientRect(); return [o.left + r.left + 3, o.top + r.top + 3]; }"
    )
    page.mouse.move(box[0], box[1])
    assert style(page, "#btn", "background-color") != "rgb(0, 128, 0)"
    assert style(page, "#btn", "color") == "rgb(1, 2, 3)"
    page.mouse.move(0, 0)

    hover(page, 9)  # the text node: its element and every ancestor are hovered
    assert style(page, "#btn", "background-color") == "rgb(0, 128, 0)"
    assert style(page, "#btn", "color") != "rgb(1, 2, 3)"
    assert style(page, "#btn", "content", "::after") == '"hovered"'
    assert style(page, "#other", "background-color") == "rgb(0, 128, 0)"
    assert page.evaluate(
        "() => ['html', 'body', 'btn'].map((id) => (id === 'html' || id === 'body'"
        " ? replica.doc[id === 'html' ? 'documentElement' : 'body']"
        " : replica.doc.getElementById(id)).hasAttribute('data-cobrowse-replica-hover'))"
    ) == [True, True, True]
    assert style(page, "#escaped", "color") == "rgb(9, 9, 9)"  # `.a\:hover` is a class

    hover(page, 11)  # inside the card, in @media/@supports
    assert style(page, "#card", "border-top-color") == "rgb(255, 0, 0)"
    assert style(page, "#btn", "background-color") != "rgb(0, 128, 0)"

    hover(page, 20)  # inside a shadow root: the host matches :host(:hover)
    assert style(page, "#host >>> #inner", "color") == "rgb(0, 0, 200)"
    assert style(page, "#host", "color") == "rgb(0, 100, 0)"
    assert style(page, "#card", "border-top-color") == "rgb(0, 0, 0)"

    hover(page, 1)  # the document: the mouse left the page's elements
    assert style(page, "#host >>> #inner", "color") != "rgb(0, 0, 200)"
    assert (
        page.evaluate("() => replica.doc.querySelectorAll('[data-cobrowse-replica-hover]').length")
        == 0
    )
    hover(page, 8)
    hover(page, None)
    assert style(page, "#btn", "background-color") != "rgb(0, 128, 0)"
    assert (
        page.evaluate("() => replica.doc.querySelectorAll('[data-cobrowse-replica-hover]').length")
        == 0
    )


def test_the_visitors_focus_draws_the_pages_ring_or_the_browsers(
    page: Page, site: FakeSite
) -> None:
    open_replica(page)
    assert style(page, "#field", "box-shadow") == "none"
    assert style(page, "#plain", "outline-style") == "none"

    mutate(page, attrs=[[11, ":focus", "visible"]])
    assert style(page, "#field", "box-shadow") == "rgb(255, 0, 0) 0px 0px 0px 3px"
    assert style(page, "#field", "background-color") == "rgb(255, 255, 0)"
    assert style(page, "#field", "outline-style") == "none"  # the page's own `outline: none`
    assert style(page, "#card", "outline-color") == "rgb(0, 0, 255)"  # :focus-within, nested

    # Focus without a ring (the visitor clicked a button, say): :focus, not :focus-visible.
    mutate(page, attrs=[[11, ":focus", "focus"]])
    assert style(page, "#field", "box-shadow") == "none"
    assert style(page, "#field", "background-color") == "rgb(255, 255, 0)"

    # A field with no focus style of its own: the browser's default ring.
    mutate(page, attrs=[[11, ":focus", None], [12, ":focus", "visible"]])
    assert style(page, "#field", "background-color") != "rgb(255, 255, 0)"
    assert style(page, "#plain", "outline-style") == "auto"
    assert style(page, "#card", "outline-color") == "rgb(0, 0, 255)"
    # The page turns the ring off in a cascade layer: the page wins, as over the UA sheet.
    mutate(page, attrs=[[13, ":focus", "visible"]])
    assert style(page, "#quiet", "outline-style") == "none"
    assert style(page, "#plain", "outline-style") == "none"  # one focused element at a time

    # Focus inside a shadow root: the host matches :focus too (outside), the inner b inside.
    mutate(page, attrs=[[20, ":focus", "visible"]])
    assert style(page, "#host >>> #inner", "color") == "rgb(200, 0, 0)"
    assert style(page, "#host >>> #inner", "outline-style") == "auto"
    assert style(page, "#host", "outline-style") == "none"  # the ring is the inner element's
    assert (
        page.evaluate(
            "() => replica.doc.getElementById('host').getAttribute('data-cobrowse-replica-focus')"
        )
        == "focus"
    )
    assert style(page, "#card", "outline-color") == "rgb(0, 0, 0)"

    # The focused element leaves the page: no mark stays behind.
    mutate(page, removes=[16])
    assert (
        page.evaluate(
            "() => replica.doc.querySelectorAll('[data-cobrowse-replica-focus-within],"
            " [data-cobrowse-replica-focus]').length"
        )
        == 0
    )


def test_sheets_that_change_or_load_later_are_rewritten(page: Page, site: FakeSite) -> None:
    page.route(
        f"{ORIGIN}/sheet.css",
        lambda route: route.fulfill(
            status=200,
            body="#pad:hover { background-color: rgb(0, 0, 255) }",
            headers={"content-type": "text/css"},
        ),
    )
    open_replica(page)
    # The style's text changes: a new sheet, rewritten too.
    mutate(page, texts=[[6, "#btn:hover { background-color: rgb(7, 7, 7) }"]])
    hover(page, 8)
    assert style(page, "#btn", "background-color") == "rgb(7, 7, 7)"
    # A stylesheet link added later: rewritten once it loads.
    link = [30, "link", {"rel": "stylesheet", "href": f"{ORIGIN}/sheet.css"}, []]
    mutate(page, adds=[add(4, None, link)])
    hover(page, 22)
    page.wait_for_function(
        "() => getComputedStyle(replica.doc.getElementById('pad')).backgroundColor"
        " === 'rgb(0, 0, 255)'"
    )
    hover(page, 8)
    assert style(page, "#pad", "background-color") == "rgba(0, 0, 0, 0)"
