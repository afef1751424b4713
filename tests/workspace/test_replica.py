"""replica.js from hand-written message streams (no relay): it builds the visitor's page into
a sandboxed iframe it created, applies mutations in protocol order, and keeps wire content
inert (no script, no on*, masked fields read-only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from workspace_fakes import BRAND, ORIGIN, FakeSite

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messages" / "valid"
MASK = "\u2022" * 6

# A small page: doctype, head with a style, a form, SVG with foreignObject, MathML.
# fmt: off
DOC: list[Any] = [1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {"lang": "en"}, [
        [4, "head", {}, [
            [5, "title", {}, [[6, "#text", "Trip"]]],
            [7, "style", {}, [
                [8, "#text", "#box{height:3000px} #pane{height:50px;overflow:auto}"]]],
        ]],
        [9, "body", {}, [
            [10, "h1", {"id": "title", "class": "big"}, [[11, "#text", "Fjords & Lights"]]],
            [12, "form", {"id": "f"}, [
                [13, "input", {"id": "name", "type": "text", ":value": "Ada",
                               "autocomplete": "name"}, []],
                [14, "input", {"id": "terms", "type": "checkbox", ":checked": "1"}, []],
                [15, "select", {"id": "room", ":value": "suite"}, [
                    [16, "option", {"value": "double"}, [[17, "#text", "Double"]]],
                    [18, "option", {"value": "suite", ":selected": "1"}, [[19, "#text", "Suite"]]],
                ]],
                [20, "textarea", {"id": "notes", ":value": "vegetarian"}, []],
                [21, "input", {"id": "card", "type": "text", "data-cobrowse-mask": "",
                               ":masked": "attribute", ":value": MASK}, []],
                [22, "input", {"id": "password", "type": "password", ":masked": "password",
                               ":value": MASK}, []],
            ]],
            [23, "svg", {"id": "logo", "viewBox": "0 0 10 10", "width": "10", "height": "10"}, [
                [24, "circle", {"cx": "5", "cy": "5", "r": "4"}, []],
                [25, "linearGradient", {"id": "g"}, []],
                [26, "foreignObject", {"width": "10", "height": "10"}, [
                    [27, "div", {"id": "in-fo"}, [[28, "#text", "html again"]]],
                ]],
            ]],
            [29, "math", {}, [[30, "mi", {}, [[31, "#text", "x"]]]]],
            [32, "#comment", ""],
            [33, "div", {"id": "pane", ":scroll": "0,20"}, [
                [34, "div", {"style": "height:400px"}, [[35, "#text", "tall"]]],
            ]],
            [36, "div", {"id": "box"}, []],
            [37, "ul", {"id": "list"}, [
                [38, "li", {"id": "a"}, [[39, "#text", "A"]]],
                [40, "li", {"id": "c"}, [[41, "#text", "C"]]],
            ]],
            [42, "img", {"id": "logo-img", "src": f"{BRAND}/logo.png", "alt": "logo"}, []],
        ]],
    ]],
]]
# fmt: on

SNAPSHOT = {
    "v": 1,
    "type": "replica.snapshot",
    "session": "s1",
    "seq": 0,
    "url": "http://brand.test/product.html",
    "title": "Trip",
    "viewport": {"w": 1000, "h": 700, "dpr": 1},
    "doc": DOC,
}


def open_test_page(page: Page) -> None:
    page.goto(f"{ORIGIN}/replica-test.html")
    page.wait_for_function("() => !!window.CobrowseReplica")


def build(page: Page, snapshot: dict[str, Any]) -> None:
    page.evaluate(
        """(snapshot) => {
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            window.replica = new CobrowseReplica.Replica(frame);
            window.replica.applySnapshot(snapshot);
        }""",
        snapshot,
    )


def in_replica(page: Page, body: str, arg: Any = None) -> Any:
    """Evaluate `body` (a function of (doc, arg)) against the replica's document."""
    return page.evaluate(
        f"""(arg) => {{
            const doc = document.querySelector('[data-testid=replica-frame]').contentDocument;
            return ({body})(doc, arg);
        }}""",
        arg,
    )


def mutate(page: Page, **batch: Any) -> dict[str, int]:
    message = {
        "v": 1,
        "type": "replica.mutations",
        "session": "s1",
        "seq": 1,
        "adds": [],
        "removes": [],
        "attrs": [],
        "texts": [],
        **batch,
    }
    result: dict[str, int] = page.evaluate("(m) => window.replica.applyMutations(m)", message)
    return result


def test_snapshot_builds_the_page_in_a_sandboxed_frame(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, SNAPSHOT)
    assert page.get_attribute("[data-testid=replica-frame]", "sandbox") == "allow-same-origin"
    facts = in_replica(
        page,
        """(doc) => ({
        mode: doc.compatMode,
        doctype: doc.doctype && doc.doctype.name,
        lang: doc.documentElement.getAttribute('lang'),
        title: doc.title,
        h1: doc.getElementById('title').textContent,
        h1class: doc.getElementById('title').className,
        name: doc.getElementById('name').value,
        terms: doc.getElementById('terms').checked,
        room: doc.getElementById('room').value,
        notes: doc.getElementById('notes').value,
        styleApplied: doc.getElementById('box').getBoundingClientRect().height,
        paneScroll: doc.getElementById('pane').scrollTop,
        comments: [...doc.body.childNodes].filter(n => n.nodeType === 8).map(n => n.data),
    })""",
    )
    assert facts == {
        "mode": "CSS1Compat",
        "doctype": "html",
        "lang": "en",
        "title": "Trip",
        "h1": "Fjords & Lights",
        "h1class": "big",
        "name": "Ada",
        "terms": True,
        "room": "suite",
        "notes": "vegetarian",
        "styleApplied": 3000,
        "paneScroll": 20,
        "comments": [""],
    }
    assert page.evaluate("() => replica.idOf(replica.node(13)) === 13 && replica.documentId") == 1


def test_namespaces_follow_the_html_parser(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, SNAPSHOT)
    spaces = in_replica(
        page,
        """(doc) => ({
        svg: doc.getElementById('logo').namespaceURI,
        circle: doc.querySelector('circle').namespaceURI,
        gradient: doc.getElementById('g').localName,
        viewBox: doc.getElementById('logo').viewBox.baseVal.width,
        fo: doc.querySelector('foreignObject').namespaceURI,
        inFo: doc.getElementById('in-fo').namespaceURI,
        math: doc.querySelector('math').namespaceURI,
        mi: doc.querySelector('mi').namespaceURI,
        h1: doc.getElementById('title').namespaceURI,
    })""",
    )
    svg, math, html = (
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/1999/xhtml",
    )
    assert spaces == {
        "svg": svg,
        "circle": svg,
        "gradient": "linearGradient",
        "viewBox": 10,
        "fo": svg,
        "inFo": html,
        "math": math,
        "mi": math,
        "h1": html,
    }


def test_mutations_apply_removes_adds_attrs_texts_in_order(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, SNAPSHOT)
    result = mutate(
        page,
        removes=[38],  # li#a and its text
        adds=[
            {"parent": 37, "next": 40, "node": [50, "li", {"id": "b"}, [[51, "#text", "B"]]]},
            {"parent": 37, "next": 50, "node": [52, "li", {"id": "a2"}, [[53, "#text", "A2"]]]},
            {
                "parent": 37,
                "next": None,
                "node": [54, "li", {"id": "d"}, [[55, "strong", {}, [[56, "#text", "D"]]]]],
            },
            {"parent": 55, "next": 56, "node": [57, "#text", ">"]},
        ],
        attrs=[
            [10, "class", None],
            [10, "data-x", "1"],
            [13, ":value", "Grace"],
            [14, ":checked", None],
            [18, ":selected", None],
            [16, ":selected", "1"],
        ],
        texts=[[11, "Fjords, Lights & You"], [51, "B!"]],
    )
    assert result == {"skipped": 0}
    state = in_replica(
        page,
        """(doc) => ({
        items: [...doc.getElementById('list').children].map(li => li.id + ':' + li.textContent),
        h1: doc.getElementById('title').textContent,
        h1class: doc.getElementById('title').hasAttribute('class'),
        dataX: doc.getElementById('title').getAttribute('data-x'),
        name: doc.getElementById('name').value,
        nameAttr: doc.getElementById('name').getAttribute('value'),
        terms: doc.getElementById('terms').checked,
        room: doc.getElementById('room').value,
    })""",
    )
    assert state == {
        "items": ["a2:A2", "b:B!", "c:C", "d:>D"],
        "h1": "Fjords, Lights & You",
        "h1class": False,
        "dataX": "1",
        "name": "Grace",
        "nameAttr": None,
        "terms": False,
        "room": "double",
    }
    # Removed ids are forgotten; entries naming them are skipped, not fatal.
    assert page.evaluate("() => replica.node(38) === null && replica.node(39) === null")
    assert mutate(page, attrs=[[38, "class", "x"]], texts=[[39, "gone"]]) == {"skipped": 2}


def test_scroll_state_and_window_scroll(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, SNAPSHOT)
    page.evaluate("() => replica.scrollNode(1, 0, 500)")
    mutate(page, attrs=[[33, ":scroll", "0,35"]])
    scrolls = in_replica(
        page,
        """(doc) => [doc.defaultView.scrollY,
        doc.getElementById('pane').scrollTop]""",
    )
    assert scrolls == [500, 35]


def test_refuses_a_frame_it_did_not_create(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    error = page.evaluate("""() => {
        const frame = document.createElement('iframe');
        frame.setAttribute('sandbox', 'allow-same-origin');
        document.body.appendChild(frame);
        try { new CobrowseReplica.Replica(frame); return 'built'; } catch (e) { return e.message; }
    }""")
    assert "did not create" in error


@pytest.mark.parametrize(
    "sandbox",
    ["allow-same-origin allow-scripts", "allow-scripts", "ALLOW-SCRIPTS allow-same-origin", None],
)
def test_refuses_a_frame_whose_sandbox_allows_scripts(
    page: Page, site: FakeSite, sandbox: str | None
) -> None:
    open_test_page(page)
    errors = page.evaluate(
        """([sandbox, snapshot]) => {
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            const replica = new CobrowseReplica.Replica(frame);
            if (sandbox === null) frame.removeAttribute('sandbox');
            else frame.setAttribute('sandbox', sandbox);
            const out = [];
            try { new CobrowseReplica.Replica(frame); out.push('constructed'); }
            catch (e) { out.push(e.message); }
            try { replica.applySnapshot(snapshot); out.push('built'); }
            catch (e) { out.push(e.message); }
            out.push(frame.contentDocument.body ? frame.contentDocument.body.childNodes.length : 0);
            return out;
        }""",
        [sandbox, SNAPSHOT],
    )
    assert errors[0].startswith("CobrowseReplica: refusing") and "refusing" in errors[1]
    assert errors[2] == 0  # nothing was built


def test_the_sandbox_constant_is_frozen(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    assert (
        page.evaluate("""() => {
        try { CobrowseReplica.SANDBOX = 'allow-scripts'; } catch (e) {}
        try { window.CobrowseReplica = {}; } catch (e) {}
        const frame = CobrowseReplica.createFrame(document.getElementById('host'));
        return frame.getAttribute('sandbox');
    }""")
        == "allow-same-origin"
    )


# fmt: off
HOSTILE_DOC: list[Any] = [1, "#document", [
    [2, "html", {}, [
        [3, "head", {}, [
            [4, "meta", {"http-equiv": "refresh", "content": "0;url=http://evil.test/"}, []],
            [5, "script", {}, [[6, "#text", "parent.pwned = 'script'"]]],
            [7, "base", {"href": "http://evil.test/"}, []],
        ]],
        [8, "body", {"onload": "parent.pwned = 'body'"}, [
            [9, "img", {"id": "img", "src": "data:image/png;base64,AAAA",
                        "onerror": "parent.pwned = 'img'", "ONERROR": "parent.pwned = 'IMG'"}, []],
            [10, "a", {"id": "link", "href": " java\tscript:parent.pwned='a'"},
             [[11, "#text", "l"]]],
            [12, "svg", {"onload": "parent.pwned = 'svg'"}, [
                [13, "a", {"id": "svglink", "xlink:href": "javascript:parent.pwned='svg-a'"}, []],
                [14, "script", {}, [[15, "#text", "parent.pwned = 'svg-script'"]]],
            ]],
            [16, "iframe", {"srcdoc": "<script>parent.pwned='srcdoc'</script>"}, []],
            # "1x" is a valid attribute name; the others are refused (as the relay refuses them).
            [17, "div", {"id": "odd", "1x": "a", "a b": "c", "x\"y": "d", "title": "kept",
                         "autofocus": "", "data-cobrowse-replica-masked": "fake"}, []],
            [18, "noscript", {}, [[19, "#text", "<img src=x onerror=alert(1)>"]]],
            [20, "p", {"id": "after"}, [[21, "#text", "still here"]]],
            [22, "form", {"id": "f", "action": "javascript:parent.pwned='form'"}, [
                [23, "button", {"id": "submit", "formaction": "javascript:parent.pwned='fa'"},
                 [[24, "#text", "go"]]],
            ]],
        ]],
    ]],
]]
# fmt: on


def test_scripts_and_event_handlers_never_become_executable(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": HOSTILE_DOC})
    # Mutations are the second way in: attributes and added subtrees.
    mutate(
        page,
        adds=[
            {"parent": 8, "next": None, "node": [30, "script", {"src": "/static/x.js"}, []]},
            {
                "parent": 8,
                "next": 20,
                "node": [31, "img", {"src": "data:,", "onerror": "parent.pwned='add'"}, []],
            },
        ],
        attrs=[
            [20, "onclick", "parent.pwned='attr'"],
            [10, "href", "javascript:1"],
            [20, "bad name", "x"],
        ],
    )
    in_replica(page, "(doc) => doc.getElementById('link').click()")
    in_replica(page, "(doc) => doc.getElementById('submit').click()")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.pwned === undefined")
    report = in_replica(
        page,
        """(doc) => {
        const all = [...doc.querySelectorAll('*')];
        return {
            handlers: all.flatMap(el => [...el.attributes].map(a => a.name))
                .filter(n => n.toLowerCase().startsWith('on')),
            scripts: doc.getElementsByTagName('script').length
                + doc.getElementsByTagNameNS('http://www.w3.org/2000/svg', 'script').length,
            kinds: ['iframe', 'base', 'meta', 'noscript']
                .map(t => doc.getElementsByTagName(t).length),
            href: doc.getElementById('link').getAttribute('href'),
            svgHref: doc.getElementById('svglink').getAttributeNS(
                'http://www.w3.org/1999/xlink', 'href'),
            action: doc.getElementById('f').getAttribute('action'),
            formaction: doc.getElementById('submit').getAttribute('formaction'),
            odd: [...doc.getElementById('odd').attributes].map(a => a.name).sort(),
            after: doc.getElementById('after').textContent,
            base: doc.baseURI,
        };
    }""",
    )
    assert report == {
        "handlers": [],
        "scripts": 0,
        "kinds": [0, 0, 0, 0],
        "href": None,
        "svgHref": None,
        "action": None,
        "formaction": None,
        "odd": ["1x", "id", "title"],
        "after": "still here",
        "base": f"{ORIGIN}/replica-test.html",
    }


def test_negative_control_a_handler_would_be_caught(page: Page, site: FakeSite) -> None:
    """The `handlers` check above can fail: a handler set by hand shows up in it."""
    open_test_page(page)
    build(page, SNAPSHOT)
    names = in_replica(
        page,
        """(doc) => {
        doc.getElementById('title').setAttribute('onclick', 'x');
        return [...doc.querySelectorAll('*')].flatMap(el => [...el.attributes].map(a => a.name))
            .filter(n => n.startsWith('on'));
    }""",
    )
    assert names == ["onclick"]


def test_masked_fields_are_readonly_and_show_the_placeholder(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, SNAPSHOT)
    fields = in_replica(
        page,
        """(doc) => ['card', 'password', 'name'].map(id => {
        const el = doc.getElementById(id);
        const style = doc.defaultView.getComputedStyle(el);
        return [id, el.value, el.readOnly, el.getAttribute('data-cobrowse-replica-masked'),
                style.outlineStyle, el.getAttribute('autocomplete')];
    })""",
    )
    assert fields == [
        ["card", MASK, True, "attribute", "dashed", "off"],
        ["password", MASK, True, "password", "dashed", "off"],
        ["name", "Ada", False, None, "none", "off"],
    ]
    # Typing into a masked replica field changes nothing.
    page.locator("[data-testid=replica-frame]").content_frame.locator("#card").press_sequentially(
        "4111"
    )
    assert in_replica(page, "(doc) => doc.getElementById('card').value") == MASK
    # Unmasking (the page changed its rule) gives the field back its own state.
    mutate(page, attrs=[[21, ":masked", None], [21, ":value", ""]])
    assert in_replica(
        page,
        """(doc) => [doc.getElementById('card').readOnly,
        doc.getElementById('card').hasAttribute('data-cobrowse-replica-masked')]""",
    ) == [False, False]


def test_limits_cut_deep_and_large_trees(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    # Written as text: 1200 levels are too deep for json.dumps and Playwright's encoder.
    deep = "".join(f'[{2000 + i},"div",{{}},[' for i in range(1200))
    deep += '[1000,"#text","bottom"]' + "]]" * 1200
    doc = '[1,"#document",[[2,"html",{},[[3,"body",{},[' + deep + "]]]]]]"
    depth = page.evaluate(
        """(text) => {
            const snapshot = JSON.parse(text);  // too deep for Playwright's argument encoder
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            const replica = new CobrowseReplica.Replica(frame, {maxDepth: 100});
            replica.applySnapshot(snapshot);
            let n = 0, el = frame.contentDocument.documentElement;
            while (el.firstElementChild) { el = el.firstElementChild; n++; }
            return n;
        }""",
        json.dumps({**SNAPSHOT, "doc": "DOC"}).replace('"DOC"', doc),
    )
    assert depth == 99  # html is depth 1; nothing deeper than maxDepth


def _fixture_snapshots() -> list[Path]:
    found = []
    for path in sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []:
        try:
            if json.loads(path.read_text()).get("type") in ("replica.snapshot", "dom.snapshot"):
                found.append(path)
        except (ValueError, AttributeError):
            continue
    return found


def test_golden_snapshots_build(page: Page, site: FakeSite) -> None:
    """Every snapshot among the golden messages builds, inert (none yet: passes trivially)."""
    open_test_page(page)
    for path in _fixture_snapshots():
        build(page, json.loads(path.read_text()))
        assert in_replica(page, "(doc) => doc.getElementsByTagName('script').length") == 0, path


def test_open_shadow_roots_are_rebuilt_and_addressable(page: Page, site: FakeSite) -> None:
    """`#shadow` becomes the host's open shadow root; its nodes have ids, pointers cross it."""
    open_test_page(page)
    doc = [1, "#document", [[2, "html", {}, [[3, "body", {}, [
        [4, "x-card", {"id": "card"}, [
            [5, "#shadow", [
                [6, "p", {"id": "inner"}, [[7, "#text", "in shadow"]]],
                [8, "input", {"id": "secret", ":masked": "selector", ":value": MASK}, []],
            ]],
            [9, "#text", "light"],
        ]],
    ]]]]]]  # fmt: skip
    build(page, {**SNAPSHOT, "doc": doc})
    assert in_replica(page, "(doc) => doc.getElementById('card').shadowRoot.textContent") == (
        "in shadow"
    )
    assert page.evaluate(
        "() => { const p = window.replica.node(6);"
        " return [p.id, window.replica.closestId(p.firstChild).id,"
        " window.replica.node(5).nodeType, window.replica.closestId(window.replica.node(5)).id] }"
    ) == ["inner", 7, 11, 4]
    # The replica's own styles reach into the shadow root: a masked field there is marked.
    outline = in_replica(
        page,
        "(doc) => getComputedStyle(doc.getElementById('card').shadowRoot"
        ".getElementById('secret')).outlineStyle",
    )
    assert outline == "dashed"
    # Mutations add into the shadow root and remove from it; the root itself stays.
    mutate(page, adds=[{"parent": 5, "next": None, "node": [10, "b", {}, [[11, "#text", "!"]]]}])
    mutate(page, removes=[6, 5])
    assert in_replica(page, "(doc) => doc.getElementById('card').shadowRoot.textContent") == ("!")
    assert page.evaluate("() => window.replica.node(6)") is None
    # Removing the host forgets everything inside its shadow root.
    mutate(page, removes=[4])
    assert page.evaluate("() => [window.replica.node(5), window.replica.node(10)]") == [None, None]


# A page with a same-origin frame (its document nested in the placeholder, as the renderer
# sends it) and a third-party frame (a placeholder with nothing: a forged document inside it
# must not be built either). The nested stream carries a script and handlers.
# fmt: off
FRAME_DOC: list[Any] = [1, "#document", [
    [2, "#doctype", "html"],
    [3, "html", {}, [
        [4, "head", {}, [[5, "style", {}, [[6, "#text", "body{margin:0} #pad{height:40px}"]]]]],
        [7, "body", {}, [
            [8, "div", {"id": "pad"}, []],
            [10, "div", {"id": "pay", "data-cobrowse-placeholder": "iframe",
                         "style": "display:inline-block;width:300px;height:200px"}, [
                [11, "#document", [
                    [12, "#doctype", "html"],
                    [13, "html", {}, [
                        [14, "head", {}, [
                            [15, "script", {}, [[16, "#text", "parent.parent.pwned = 'script'"]]],
                            [17, "style", {}, [[18, "#text", "body{margin:0} p{margin:0}"]]],
                        ]],
                        [19, "body", {"onload": "parent.parent.pwned = 'body'"}, [
                            [20, "p", {"id": "inner", "style": "margin:20px 0 0 30px;width:100px"},
                             [[21, "#text", "inside the frame"]]],
                            [22, "input", {"id": "email", "type": "email", ":value": "a@b.c",
                                           "autocomplete": "email"}, []],
                            [23, "input", {"id": "cvc", ":masked": "selector", ":value": MASK},
                             []],
                            [24, "img", {"src": "data:,", "onerror": "parent.parent.pwned='img'"},
                             []],
                            [25, "a", {"id": "go", "href": "javascript:parent.parent.pwned='a'"},
                             [[26, "#text", "go"]]],
                        ]],
                    ]],
                ]],
            ]],
            [30, "div", {"id": "ad", "data-cobrowse-placeholder": "third-party iframe",
                         "style": "display:inline-block;width:200px;height:100px"}, [
                [31, "#document", [[32, "html", {}, [[33, "body", {}, [
                    [34, "#text", "forged"]]]]]]],
            ]],
        ]],
    ]],
]]
# fmt: on


def nested_facts(page: Page, selector: str = "#pay") -> Any:
    """What the nested replica in placeholder `selector` shows (None: no nested frame)."""
    return in_replica(
        page,
        """(doc, selector) => {
        const holder = doc.querySelector(selector);
        const frames = holder.querySelectorAll('iframe');
        if (!frames.length) return null;
        const frame = frames[0], inner = frame.contentDocument;
        return {
            count: frames.length,
            sandbox: frame.getAttribute('sandbox'),
            src: [frame.hasAttribute('src'), frame.hasAttribute('srcdoc')],
            size: [frame.getBoundingClientRect().width, frame.getBoundingClientRect().height],
            mode: inner.compatMode,
            text: inner.body ? inner.body.textContent : null,
            isNode11: window.replica.node(11) === inner,
        };
    }""",
        selector,
    )


def test_same_origin_frame_is_a_nested_sandboxed_replica(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": FRAME_DOC})
    assert nested_facts(page) == {
        "count": 1,
        "sandbox": "allow-same-origin",
        "src": [False, False],
        "size": [300, 200],  # the frame fills its placeholder
        "mode": "CSS1Compat",
        "text": "inside the framego",
        "isNode11": True,
    }
    in_replica(
        page,
        "(doc) => doc.querySelector('#pay iframe').contentDocument.getElementById('go').click()",
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.pwned === undefined")
    inner = in_replica(
        page,
        """(doc) => {
        const pay = doc.getElementById('pay');
        const inner = pay.querySelector('iframe').contentDocument;
        const all = [...inner.querySelectorAll('*')];
        const cvc = inner.getElementById('cvc');
        return {
            scripts: inner.getElementsByTagName('script').length,
            handlers: all.flatMap(el => [...el.attributes].map(a => a.name))
                .filter(n => n.toLowerCase().startsWith('on')),
            href: inner.getElementById('go').getAttribute('href'),
            autocomplete: inner.getElementById('email').getAttribute('autocomplete'),
            email: inner.getElementById('email').value,
            masked: [cvc.value, cvc.readOnly, getComputedStyle(cvc).outlineStyle],
            styled: getComputedStyle(inner.getElementById('inner')).marginLeft,
            hatched: getComputedStyle(pay).backgroundImage !== 'none',
            label: getComputedStyle(pay, '::before').content,
        };
    }""",
    )
    assert inner == {
        "scripts": 0,
        "handlers": [],
        "href": None,
        "autocomplete": "off",
        "email": "a@b.c",
        "masked": [MASK, True, "dashed"],
        "styled": "30px",
        "hatched": False,
        "label": "none",
    }
    # Ids inside the frame resolve; a node's box maps to the top replica's viewport.
    mapped = page.evaluate("""() => {
        const p = replica.node(20);
        const top = replica.toTopRect(p.getBoundingClientRect(), p.ownerDocument);
        const frame = replica.frameOf(p.ownerDocument).getBoundingClientRect();
        return [replica.idOf(p), replica.closestId(replica.node(21)).id,
                Math.round(top.left - frame.left), Math.round(top.top - frame.top),
                Math.round(top.width)];
    }""")
    assert mapped == [20, 21, 30, 20, 100]
    # The third-party frame keeps its hatched box and reason; the forged document is dropped.
    third = in_replica(
        page,
        """(doc) => {
        const ad = doc.getElementById('ad');
        return [ad.querySelectorAll('iframe').length, ad.textContent,
                getComputedStyle(ad, '::before').content, window.replica.node(34),
                window.replica.unseen().map(u => u.reason)];
    }""",
    )
    assert third == [
        0,
        "",
        '"Not visible to you: third-party iframe"',
        None,
        ["third-party iframe", "image"],  # the nested frame's broken image is marked too
    ]


def test_mutations_inside_nested_frames_and_frame_navigation(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": FRAME_DOC})
    result = mutate(
        page,
        adds=[
            {"parent": 19, "next": 22, "node": [40, "b", {"id": "new"}, [[41, "#text", "new"]]]},
            {"parent": 11, "next": None, "node": [42, "#comment", ""]},  # under the frame doc
            {"parent": 41, "next": None, "node": [43, "script", {}, []]},  # not on a text
        ],
        attrs=[[20, "class", "x"], [22, ":value", "z@y.x"], [20, "onclick", "parent.pwned=1"]],
        texts=[[21, "changed"]],
    )
    assert result == {"skipped": 1}
    facts = in_replica(
        page,
        """(doc) => {
        const inner = doc.querySelector('#pay iframe').contentDocument;
        return [inner.getElementById('inner').textContent, inner.getElementById('inner').className,
                inner.getElementById('inner').hasAttribute('onclick'),
                inner.getElementById('new').nextElementSibling.id,
                inner.getElementById('email').value, inner.lastChild.nodeType];
    }""",
    )
    assert facts == ["changed", "x", False, "email", "z@y.x", 8]
    # The frame navigates: the placeholder is removed and re-added with a new document; the
    # same batch may already name nodes of the new document.
    new_frame = [50, "div", {"id": "pay", "data-cobrowse-placeholder": "iframe",
                             "style": "display:inline-block;width:300px;height:200px"}, [
        [51, "#document", [[52, "html", {}, [[53, "body", {}, [
            [54, "p", {}, [[55, "#text", "second page"]]]]]]]]],
    ]]  # fmt: skip
    result = mutate(
        page,
        removes=[10],
        adds=[
            {"parent": 7, "next": 30, "node": new_frame},
            {"parent": 53, "next": None, "node": [56, "i", {}, [[57, "#text", "+"]]]},
        ],
    )
    assert result == {"skipped": 0}
    gone = page.evaluate("() => [10, 11, 19, 20, 40, 42].map(id => replica.node(id))")
    assert gone == [None] * 6
    assert nested_facts(page)["text"] == "second page+"
    assert page.evaluate("() => replica.node(51) === replica.frameOf(replica.node(54)"
                         ".ownerDocument).contentDocument")  # fmt: skip
    assert mutate(page, texts=[[21, "stale"]]) == {"skipped": 1}
    # Removing the frame's document alone leaves the labelled box; a new document fills it.
    assert mutate(page, removes=[51]) == {"skipped": 0}
    assert nested_facts(page) is None
    unseen = "() => [replica.node(54), replica.unseen().map(u => u.reason).sort()]"
    assert page.evaluate(unseen) == [None, ["iframe", "third-party iframe"]]
    third_doc = [60, "#document", [[61, "html", {}, [[62, "body", {}, [[63, "#text", "third"]]]]]]]
    assert mutate(page, adds=[{"parent": 50, "next": None, "node": third_doc}]) == {"skipped": 0}
    assert nested_facts(page)["text"] == "third"
    # A second document in the same placeholder is refused; a new snapshot forgets all.
    mutate(page, adds=[{"parent": 50, "next": None, "node": [70, "#document", []]}])
    assert nested_facts(page)["count"] == 1
    page.evaluate("(s) => replica.applySnapshot(s)", SNAPSHOT)
    assert page.evaluate("() => [replica.node(60), replica.node(63), replica.unseen()]") == [
        None,
        None,
        [],
    ]
