"""replica.js from hand-written message streams (no relay): it builds the visitor's page into
a sandboxed iframe it created, applies mutations in protocol order, and keeps wire content
inert (no script, no on*, masked fields read-only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page
from workspace_fakes import BRAND, ORIGIN, FakeSite, add

from renderer.htmltext import to_html
from wire.nodes import compact

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "messages" / "valid"
MASK = "\u2022" * 6

# A small page: doctype, head with a style, a form, SVG with foreignObject, MathML.
# fmt: off
DOC: Any = compact([1, "#document", [
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
]])
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
            if (!window.replica.applySnapshot(snapshot)) throw new Error('snapshot refused');
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
            add(37, 40, [50, "li", {"id": "b"}, [[51, "#text", "B"]]]),
            add(37, 50, [52, "li", {"id": "a2"}, [[53, "#text", "A2"]]]),
            add(37, None, [54, "li", {"id": "d"}, [[55, "strong", {}, [[56, "#text", "D"]]]]]),
            add(55, 56, [57, "#text", ">"]),
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
HOSTILE_DOC: Any = compact([1, "#document", [
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
]])
# fmt: on


def test_scripts_and_event_handlers_never_become_executable(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": HOSTILE_DOC})
    # Mutations are the second way in: attributes and added subtrees.
    mutate(
        page,
        adds=[
            add(8, None, [30, "script", {"src": "/static/x.js"}, []]),
            add(8, 20, [31, "img", {"src": "data:,", "onerror": "parent.pwned='add'"}, []]),
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
    deep = '[2000,"div",' + '["div",' * 1199 + '"bottom"' + "]" * 1200
    doc = '[1,"#document",["html",["body",' + deep + "]]]"
    built = page.evaluate(
        """(text) => {
            const snapshot = JSON.parse(text);  // too deep for Playwright's argument encoder
            const out = [];
            for (const limits of [{maxDepth: 100}, {maxDepth: 5000, maxNodes: 50}]) {
                const frame = CobrowseReplica.createFrame(document.getElementById('host'));
                const replica = new CobrowseReplica.Replica(frame, limits);
                replica.applySnapshot(snapshot);
                let n = 0, el = frame.contentDocument.documentElement;
                while (el.firstElementChild) { el = el.firstElementChild; n++; }
                out.push([n, frame.contentDocument.querySelectorAll('*').length,
                          !!replica.node(2000 + n - 2), !!replica.node(2000 + n - 1)]);
            }
            return out;
        }""",
        json.dumps({**SNAPSHOT, "doc": "DOC"}).replace('"DOC"', doc),
    )
    # html is depth 1; nothing deeper than maxDepth, and the ids below the cut are unknown.
    assert built[0] == [99, 100, True, False]
    # At most maxNodes nodes: html, body and 48 of the divs.
    assert built[1] == [49, 50, True, False]


def _golden(kind: str) -> dict[str, dict[str, Any]]:
    """The golden valid messages of type dom.KIND / replica.KIND, by file name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        message = json.loads(path.read_text()).get("message", {})
        if message.get("type") in (f"dom.{kind}", f"replica.{kind}"):
            found[path.stem] = message
    return found


def test_golden_snapshots_and_mutations_apply(page: Page, site: FakeSite) -> None:
    """Every snapshot among the golden messages builds, inert; the golden batch applies to the
    snapshot it follows (dom_mutations.json after dom_snapshot.json)."""
    open_test_page(page)
    snapshots = _golden("snapshot")
    assert "dom_snapshot" in snapshots and "dom_snapshot_frames_shadow_cssom" in snapshots
    for name, message in snapshots.items():
        build(page, message)
        assert page.evaluate("() => replica.documentId") == message["doc"][0], name
        assert in_replica(page, "(doc) => doc.getElementsByTagName('script').length") == 0, name
    build(page, snapshots["dom_snapshot"])
    batch = _golden("mutations")["dom_mutations"]
    assert page.evaluate("(m) => replica.applyMutations(m)", batch) == {"skipped": 0}
    assert page.evaluate("""() => [replica.node(12).localName, replica.node(12).textContent,
        replica.node(9), replica.node(3).className, replica.node(6).data,
        replica.node(8).getAttribute(CobrowseReplica.FOCUS_ATTR)]""") == [
        "p",
        "added",
        None,
        "dark",
        "Checkout (1)",
        "visible",
    ]


NODE_CASES = json.loads((FIXTURES.parents[1] / "nodes.json").read_text())
# Elements the replica never builds from the wire (the renderer sends a placeholder div for
# an iframe or a frame, a grid div for a frameset): an empty comment holds the id, the subtree
# is left out.
NEVER_BUILT = {"iframe", "frame", "frameset"}


def _expected_nodes(roots: list[Any], parent: int) -> dict[str, list[Any]]:
    """id -> [kind, parent id, attributes] the replica should hold for explicit trees."""
    out: dict[str, list[Any]] = {}
    stack = [(root, parent, "") for root in roots]
    while stack:
        node, up, up_name = stack.pop()
        node_id, name = node[0], node[1]
        if name == "#text" and up_name == "#document":
            continue  # a document takes no text node (the DOM refuses it): dropped
        if name in ("#text", "#doctype"):
            out[str(node_id)] = [f"{name}:{node[2]}", up, None]
        elif name in ("#comment", "#document", "#shadow"):
            out[str(node_id)] = [name, up, None]
            if name != "#comment":
                stack.extend((child, node_id, name) for child in node[2])
        elif name in NEVER_BUILT:
            out[str(node_id)] = ["#comment", up, None]
        else:
            plain = {k: v for k, v in node[2].items() if not k.startswith(":")}
            out[str(node_id)] = [name, up, plain]
            stack.extend((child, node_id, name) for child in node[3])
    return out


# What the replica holds: its id -> node map, each node described as _expected_nodes does.
REPLICA_NODES = """(expected) => {
    const out = {};
    for (const [id, node] of replica.ids) {
        const t = node.nodeType;
        const kind = t === 3 ? '#text:' + node.data : t === 8 ? '#comment' :
            t === 10 ? '#doctype:' + node.name : t === 9 ? '#document' :
            t === 11 ? '#shadow' : node.localName;
        const up = t === 11 ? node.host : t === 9 ? null : node.parentNode;
        const want = expected[String(id)];
        let attrs = null;
        if (t === 1 && want && want[2]) {
            attrs = {};
            for (const name of Object.keys(want[2])) attrs[name] = node.getAttribute(name);
        }
        out[String(id)] = [kind, up ? replica.idOf(up) : 0, attrs];
    }
    return out;
}"""
BASE = 100_000  # ids of the page the runs are added to (above every id of the fixture)


@pytest.mark.parametrize("case", NODE_CASES["valid"], ids=lambda c: c["name"])
def test_every_valid_golden_node_tree_builds_with_its_ids(
    page: Page, site: FakeSite, case: dict[str, Any]
) -> None:
    """tests/fixtures/nodes.json: each valid tree builds, every node under the id the grammar
    gives it (implicit ids counted in preorder), with its parent and attributes."""
    open_test_page(page)
    if case["run"]:
        base = compact([BASE, "#document", [[BASE + 1, "html", {}, [[BASE + 2, "body", {}, []]]]]])
        build(page, {**SNAPSHOT, "doc": base})
        batch = {"parent": BASE + 2, "next": None, "nodes": case["compact"]}
        assert mutate(page, adds=[batch]) == {"skipped": 0}
        expected = {
            str(BASE): ["#document", 0, None],
            str(BASE + 1): ["html", BASE, {}],
            str(BASE + 2): ["body", BASE + 1, {}],
            **_expected_nodes(case["explicit"], BASE + 2),
        }
    else:
        build(page, {**SNAPSHOT, "doc": case["compact"]})
        expected = _expected_nodes([case["explicit"]], 0)
    assert page.evaluate(REPLICA_NODES, expected) == expected


@pytest.mark.parametrize("case", NODE_CASES["invalid"], ids=lambda c: c["name"])
def test_every_invalid_golden_node_tree_is_refused_whole(
    page: Page, site: FakeSite, case: dict[str, Any]
) -> None:
    """tests/fixtures/nodes.json: an invalid tree is refused, as a snapshot and as an add,
    without an exception and without building any of it; the replica stays as it was."""
    open_test_page(page)
    explicit = [BASE, "#document", [[BASE + 1, "html", {}, [[BASE + 2, "body", {}, [
        [BASE + 3, "div", {"id": "pay", "data-cobrowse-placeholder": "iframe"}, []],
    ]]]]]]  # fmt: skip
    build(page, {**SNAPSHOT, "doc": compact(explicit)})
    expected = _expected_nodes([explicit], 0)
    # A shadow root refused as a snapshot's root is a valid add under the div: not tried as one.
    shadow_root = not case["run"] and case["compact"][1:2] == ["#shadow"]
    refused = page.evaluate(
        """([snapshot, run, tree, base, alsoAsAdd]) => {
            const warned = [];
            replica.warn = (text) => warned.push(text);
            const out = {};
            try {
                if (run) {
                    out.add = replica.applyMutations({adds: [{parent: base + 2, next: null,
                        nodes: tree}], removes: [], attrs: [], texts: []});
                } else {
                    out.snapshot = replica.applySnapshot({...snapshot, doc: tree});
                    // Under a same-origin frame's placeholder a document would be built.
                    if (alsoAsAdd) {
                        out.add = replica.applyMutations({adds: [{parent: base + 3, next: null,
                            nodes: [tree]}], removes: [], attrs: [], texts: []});
                    }
                }
            } catch (e) {
                out.thrown = String(e);
            }
            out.warned = warned.some((w) => w.indexOf('refused') >= 0);
            out.frames = replica.doc.querySelectorAll('iframe').length;
            return out;
        }""",
        [SNAPSHOT, case["run"], case["compact"], BASE, not shadow_root],
    )
    want: dict[str, Any] = {"add": {"skipped": 1}, "warned": True, "frames": 0}
    if not case["run"]:
        want["snapshot"] = None
    if shadow_root:
        want.pop("add")
    assert refused == want
    assert page.evaluate(REPLICA_NODES, expected) == expected


def test_negative_control_a_valid_document_is_built_under_the_frame_placeholder(
    page: Page, site: FakeSite
) -> None:
    """The add the invalid cases above make is one the replica builds when the tree is valid."""
    open_test_page(page)
    explicit = [BASE, "#document", [[BASE + 1, "html", {}, [[BASE + 2, "body", {}, [
        [BASE + 3, "div", {"id": "pay", "data-cobrowse-placeholder": "iframe"}, []],
    ]]]]]]  # fmt: skip
    build(page, {**SNAPSHOT, "doc": compact(explicit)})
    tree = [1, "#document", ["html", ["body", "framed"]]]
    result = mutate(page, adds=[{"parent": BASE + 3, "next": None, "nodes": [tree]}])
    assert result == {"skipped": 0}
    assert page.evaluate("() => [replica.doc.querySelectorAll('iframe').length, "
                         "replica.node(4).data]") == [1, "framed"]  # fmt: skip


def test_open_shadow_roots_are_rebuilt_and_addressable(page: Page, site: FakeSite) -> None:
    """`#shadow` becomes the host's open shadow root; its nodes have ids, pointers cross it."""
    open_test_page(page)
    doc = compact([1, "#document", [[2, "html", {}, [[3, "body", {}, [
        [4, "x-card", {"id": "card"}, [
            [5, "#shadow", [
                [6, "p", {"id": "inner"}, [[7, "#text", "in shadow"]]],
                [8, "input", {"id": "secret", ":masked": "selector", ":value": MASK}, []],
            ]],
            [9, "#text", "light"],
        ]],
    ]]]]]])  # fmt: skip
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
    mutate(page, adds=[add(5, None, [10, "b", {}, [[11, "#text", "!"]]])])
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
FRAME_DOC: Any = compact([1, "#document", [
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
]])
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
            add(19, 22, [40, "b", {"id": "new"}, [[41, "#text", "new"]]]),
            add(11, None, [42, "#comment", ""]),  # under the frame doc
            add(41, None, [43, "script", {}, []]),  # not on a text
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
            add(7, 30, new_frame),
            add(53, None, [56, "i", {}, [[57, "#text", "+"]]]),
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
    assert mutate(page, adds=[add(50, None, third_doc)]) == {"skipped": 0}
    assert nested_facts(page)["text"] == "third"
    # A second document in the same placeholder is refused; a new snapshot forgets all.
    mutate(page, adds=[add(50, None, [70, "#document", []])])
    assert nested_facts(page)["count"] == 1
    page.evaluate("(s) => replica.applySnapshot(s)", SNAPSHOT)
    assert page.evaluate("() => [replica.node(60), replica.node(63), replica.unseen()]") == [
        None,
        None,
        [],
    ]


# Hosts of closed shadow roots (`:shadow: "closed"`): an inline custom element with no light
# DOM, a block with some, one inside an open shadow root; a plain paragraph as the control.
# fmt: off
CLOSED_SHADOW_DOC: Any = compact([1, "#document", [[2, "html", {}, [
    [3, "head", {}, [[4, "style", {}, [[5, "#text", "body{margin:0;font:16px/20px serif}"]]]]],
    [6, "body", {}, [
        [7, "x-card", {"id": "card", "title": "Card", ":shadow": "closed"}, []],
        [8, "div", {"id": "widget", ":shadow": "closed"}, [[9, "#text", "light"]]],
        [10, "x-open", {"id": "open"}, [
            [11, "#shadow", [[12, "x-inner", {"id": "inner", ":shadow": "closed"}, []]]],
        ]],
        [13, "p", {"id": "plain"}, [[14, "#text", "p"]]],
    ]],
]]]])
# fmt: on

SHADOW_FACTS = """() => {
    const facts = {};
    for (const id of [7, 8, 12, 13]) {
        const el = replica.node(id), box = el.getBoundingClientRect();
        facts[el.id] = [el.getAttribute('data-cobrowse-replica-unseen'), el.getAttribute('title'),
                        Math.round(box.width) >= 120 && Math.round(box.height) >= 48,
                        getComputedStyle(el, '::before').content];
    }
    facts.unseen = replica.unseen().map(u => [replica.idOf(u.node), u.reason]);
    facts.noted = window.noted.slice().sort((a, b) => a[0] - b[0]);
    return facts;
}"""
SHADOW_MARK = [
    "shadow",
    "Not visible to you: closed shadow root (private to the page)",
    True,
    '"Not visible to you: closed shadow root"',
]


def test_a_closed_shadow_root_is_marked_as_an_area_the_agent_cannot_see(
    page: Page, site: FakeSite
) -> None:
    open_test_page(page)
    page.evaluate(
        """(snapshot) => {
            window.noted = [];
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            window.replica = new CobrowseReplica.Replica(frame, {
                onUnseen: (node, reason) => window.noted.push([replica.idOf(node), reason])});
            replica.applySnapshot(snapshot);
        }""",
        {**SNAPSHOT, "doc": CLOSED_SHADOW_DOC},
    )
    assert page.evaluate("() => CobrowseReplica.UNSEEN_REASONS.shadow") == SHADOW_MARK[1][20:]
    # Marked with the reason and big enough to see, even with no light-DOM content (inline
    # or block, in an open shadow root too); the plain paragraph is neither.
    assert page.evaluate(SHADOW_FACTS) == {
        "card": SHADOW_MARK,
        "widget": SHADOW_MARK,
        "inner": SHADOW_MARK,
        "plain": [None, None, False, "none"],
        "unseen": [[7, "shadow"], [8, "shadow"], [12, "shadow"]],
        "noted": [[7, "shadow"], [8, "shadow"], [12, "shadow"]],
    }
    assert in_replica(page, "(doc) => doc.getElementById('widget').textContent") == "light"
    # The page's title waits while the mark shows, and comes back when the root is gone.
    mutate(page, attrs=[[8, "title", "Widget"], [7, ":shadow", None], [13, ":shadow", "closed"]])
    facts = page.evaluate(SHADOW_FACTS)
    assert facts["card"] == [None, "Card", False, "none"]
    assert facts["widget"] == SHADOW_MARK
    assert facts["plain"] == SHADOW_MARK
    assert facts["unseen"] == [[8, "shadow"], [13, "shadow"], [12, "shadow"]]
    assert facts["noted"][-1] == [13, "shadow"]
    mutate(page, attrs=[[8, ":shadow", None]])
    assert page.evaluate(SHADOW_FACTS)["widget"] == [None, "Widget", False, "none"]
    # Removing the open root's host takes its closed host off the list.
    mutate(page, removes=[10])
    assert page.evaluate(SHADOW_FACTS.replace("[7, 8, 12, 13]", "[13]"))["unseen"] == [
        [13, "shadow"]
    ]


# Images the visitor's page made (blob:) that the tag could not capture (`:unseen: "image"`).
# fmt: off
UNSEEN_IMAGE_DOC: Any = compact([1, "#document", [[2, "html", {}, [
    [3, "head", {}, []],
    [4, "body", {}, [
        [5, "img", {"id": "huge", "width": "120", "height": "90", ":unseen": "image"}, []],
        [6, "img", {"id": "late", "title": "Late", ":unseen": "image"}, []],
    ]],
]]]])
# fmt: on
PNG_1x1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
    "AAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

UNSEEN_IMAGE_FACTS = """() => {
    const facts = {};
    for (const id of [5, 6]) {
        const el = replica.node(id), box = el.getBoundingClientRect();
        facts[el.id] = [el.getAttribute('data-cobrowse-replica-unseen'), el.getAttribute('title'),
                        Math.round(box.width) >= 24 && Math.round(box.height) >= 24];
    }
    facts.unseen = replica.unseen().map(u => [replica.idOf(u.node), u.reason]);
    return facts;
}"""


def test_an_image_the_page_made_that_was_not_captured_is_marked_until_it_comes(
    page: Page, site: FakeSite
) -> None:
    open_test_page(page)
    page.evaluate(
        """(snapshot) => {
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            window.replica = new CobrowseReplica.Replica(frame);
            replica.applySnapshot(snapshot);
        }""",
        {**SNAPSHOT, "doc": UNSEEN_IMAGE_DOC},
    )
    title = "Not visible to you: " + page.evaluate("() => CobrowseReplica.UNSEEN_REASONS.blob")
    # Marked with the reason, big enough to see even without a size of its own.
    assert page.evaluate(UNSEEN_IMAGE_FACTS) == {
        "huge": ["blob", title, True],
        "late": ["blob", title, True],
        "unseen": [[5, "blob"], [6, "blob"]],
    }
    # Its pixels arrive (the tag's load event): the mark goes, the page's title comes back.
    pixel = "data:image/png;base64," + PNG_1x1
    mutate(page, attrs=[[6, "src", pixel], [6, ":unseen", None]])
    facts = page.evaluate(UNSEEN_IMAGE_FACTS)
    assert facts["late"][:2] == [None, "Late"] and facts["unseen"] == [[5, "blob"]]


# The renderer's placeholder for a plugin object, and plugin elements that reach the replica
# anyway (a sanitizer bug): all become the same labelled box, never a plugin.
# fmt: off
PLUGIN_DOC: Any = compact([1, "#document", [[2, "html", {}, [[3, "head", {}, []], [4, "body", {}, [
    [5, "div", {"id": "movie", "data-cobrowse-placeholder": "plugin object",
                "style": "display:inline-block;width:200px;height:100px"}, []],
    [6, "object", {"id": "stray", "type": "application/x-shockwave-flash",
                   "data": "http://evil.test/x.swf"}, [
        [7, "param", {"name": "movie", "value": "x.swf"}, []],
        [8, "#text", "fallback"],
    ]],
    [9, "embed", {"src": "http://evil.test/terms.pdf", "type": "application/pdf"}, []],
    [10, "applet", {"code": "Evil.class"}, []],
]]]]]])
# fmt: on


def test_plugin_objects_are_labelled_placeholders(page: Page, site: FakeSite) -> None:
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": PLUGIN_DOC})
    label = '"Not visible to you: plugin object"'
    title = "Not visible to you: plugin object (Flash, PDF, Java…: never shared)"
    boxes = page.evaluate("""() => [5, 6, 9, 10].map((id) => {
        const el = replica.node(id), box = el.getBoundingClientRect();
        return [el.localName, el.getAttribute('data-cobrowse-placeholder'),
                el.getAttribute('title'), getComputedStyle(el, '::before').content,
                getComputedStyle(el).backgroundImage !== 'none',
                id === 5 ? Math.round(box.width) : box.width >= 120, box.height >= 48,
                [...el.attributes].map(a => a.name).sort(), el.childNodes.length];
    })""")
    marks = ["data-cobrowse-placeholder", "title"]
    assert boxes == [
        ["div", "plugin object", title, label, True, 200, True, ["data-cobrowse-placeholder",
         "id", "style", "title"], 0],
        ["div", "plugin object", title, label, True, True, True, marks, 0],
        ["div", "plugin object", title, label, True, True, True, marks, 0],
        ["div", "plugin object", title, label, True, True, True, marks, 0],
    ]  # fmt: skip
    assert page.evaluate("""() => [replica.node(7), replica.node(8),
        replica.doc.querySelectorAll('object, embed, applet, param').length,
        replica.unseen().map(u => [replica.idOf(u.node), u.reason])]""") == [
        None,
        None,
        0,
        [[5, "plugin object"], [6, "plugin object"], [9, "plugin object"], [10, "plugin object"]],
    ]
    # A placeholder takes no children, whatever a batch says.
    assert mutate(page, adds=[add(6, None, [20, "b", {}, [[21, "#text", "x"]]])]) == {"skipped": 1}
    assert page.evaluate("() => replica.node(20)") is None


# Canvases in the layouts pages put them in: each is laid out by Chromium twice, as a real
# canvas (scripts on) and in the replica, and the boxes compared.
# fmt: off
CANVAS_DOC: Any = compact([1, "#document", [[30, "#doctype", "html"], [2, "html", {}, [
    [3, "head", {}, [[4, "style", {}, [[5, "#text",
        "body{margin:0;font:16px sans-serif} .wide{width:200px} .row{display:flex}"
        " .block{display:block} .half{width:50%} .tall{height:90px}"]]]]],
    [6, "body", {}, [
        [7, "canvas", {"id": "sized", "width": "400", "height": "200"}, [
            [8, "p", {}, [[9, "#text", "Your browser has no canvas (fallback text)"]]]]],
        [10, "canvas", {"id": "default"}, []],
        [11, "canvas", {"class": "wide", "width": "100", "height": "50"}, []],
        [12, "canvas", {"width": "abc", "height": " 40px"}, []],
        [13, "canvas", {"class": "block", "width": "120", "height": "60"}, []],
        [14, "canvas", {"class": "block half", "width": "80", "height": "40"}, []],
        [15, "div", {"class": "row"}, [
            [16, "canvas", {"width": "160", "height": "80"}, []],
            [17, "canvas", {"width": "90", "height": "30"}, []],
            [18, "span", {}, [[19, "#text", "beside"]]]]],
        [20, "p", {}, [[21, "#text", "text "], [22, "canvas", {"width": "20", "height": "10"}, []],
                       [23, "#text", " inline"]]],
        [24, "canvas", {"class": "tall", "width": "0", "height": "0"}, []],
    ]]]]]])
# fmt: on
CANVASES = [7, 10, 11, 12, 13, 14, 16, 17, 22, 24]
BOXES_JS = """(doc) => Array.from(doc.querySelectorAll('canvas')).map((el) => {
    const r = el.getBoundingClientRect();
    return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
})"""


def test_a_canvas_gets_the_box_the_visitors_browser_gives_it(page: Page, site: FakeSite) -> None:
    """Scripts are off in the replica, so Chromium lays a canvas out as its (unseen) fallback
    content; the replica gives it its width x height (300 x 150 by default), the page's CSS
    still winning, the ratio kept when the page sets only its width (issue 15, class 6)."""
    open_test_page(page)
    build(page, {**SNAPSHOT, "doc": CANVAS_DOC})
    size = in_replica(page, "(doc) => [doc.defaultView.innerWidth, doc.defaultView.innerHeight]")
    replica = in_replica(page, BOXES_JS)
    real = page.context.new_page()
    real.set_viewport_size({"width": size[0], "height": size[1]})
    real.set_content(to_html(CANVAS_DOC))
    assert replica == real.evaluate(f"() => ({BOXES_JS})(document)")
    real.close()
    assert in_replica(page, "(doc) => doc.querySelector('#sized p').checkVisibility()") is False
    marks = page.evaluate(
        "(ids) => ids.map((id) => replica.node(id).getAttribute('data-cobrowse-replica-unseen'))",
        CANVASES,
    )
    assert marks == ["canvas"] * len(CANVASES)
    # The page resizes a canvas: its box follows.
    mutate(page, attrs=[[10, "width", "500"], [10, "height", "100"]])
    box = page.evaluate("() => replica.node(10).getBoundingClientRect().toJSON()")
    assert (round(box["width"]), round(box["height"])) == (500, 100)


# fmt: off
ROUTED: Any = compact([1, "#document", [[2, "html", {}, [
    [3, "head", {}, [
        [4, "link", {"rel": "stylesheet", "href": f"{BRAND}/site.css"}, []],
        [5, "link", {"href": f"{BRAND}/icon.png", "rel": "icon"}, []],
        [6, "style", {}, [[7, "#text",
            f"@import '{BRAND}/more.css';@font-face{{font-family:B;src:url({BRAND}/b.woff2)}}"
            f"body{{background:url(\"{BRAND}/bg.png\")}}svg{{fill:url(#paint)}}"]]],
    ]],
    [8, "body", {}, [
        [9, "img", {"id": "pic", "src": f"{BRAND}/a.png",
                    "srcset": f"{BRAND}/a.png 1x, {BRAND}/a2.png 2x"}, []],
        [10, "div", {"id": "styled", "style": f"background-image:url({BRAND}/div.png)"}, []],
        [11, "a", {"id": "link", "href": f"{BRAND}/next.html"}, [[12, "#text", "next"]]],
        [13, "svg", {}, [[14, "image", {"id": "svgimg", "href": f"{BRAND}/s.png"}, []]]],
        [15, "video", {"id": "video", "poster": f"{BRAND}/p.png"}, []],
    ]],
]]]])
# fmt: on


def test_brand_resources_go_through_resource_url_and_links_do_not(
    page: Page, site: FakeSite
) -> None:
    """The workspace's ``resourceUrl`` (the relay's proxy) gets every stylesheet, font and image
    URL, by kind; links and fragments stay as they are."""
    open_test_page(page)
    page.evaluate(
        """(doc) => {
            const frame = CobrowseReplica.createFrame(document.getElementById('host'));
            window.replica = new CobrowseReplica.Replica(frame, {
                resourceUrl: (kind, url) => '/proxy/' + kind + '?u=' + encodeURIComponent(url),
            });
            window.replica.applySnapshot({doc: doc});
        }""",
        ROUTED,
    )

    def proxied(kind: str, path: str) -> str:
        return f"/proxy/{kind}?u=" + quote(BRAND + path, safe="")

    found = in_replica(
        page,
        """(doc) => ({
            sheet: doc.querySelectorAll('link')[0].getAttribute('href'),
            icon: doc.querySelectorAll('link')[1].getAttribute('href'),
            style: doc.querySelector('style').textContent,
            src: doc.getElementById('pic').getAttribute('src'),
            srcset: doc.getElementById('pic').getAttribute('srcset'),
            div: doc.getElementById('styled').getAttribute('style'),
            link: doc.getElementById('link').getAttribute('href'),
            svg: doc.getElementById('svgimg').getAttribute('href'),
            poster: doc.getElementById('video').getAttribute('poster'),
        })""",
    )
    assert found["sheet"] == proxied("css", "/site.css")
    assert found["icon"] == proxied("image", "/icon.png")
    assert found["style"] == (
        f'@import "{proxied("css", "/more.css")}";'
        f'@font-face{{font-family:B;src:url("{proxied("font", "/b.woff2")}")}}'
        f'body{{background:url("{proxied("image", "/bg.png")}")}}svg{{fill:url(#paint)}}'
    )
    assert found["src"] == proxied("image", "/a.png")
    assert found["srcset"] == f"{proxied('image', '/a.png')} 1x, {proxied('image', '/a2.png')} 2x"
    assert found["div"] == f'background-image:url("{proxied("image", "/div.png")}")'
    assert found["svg"] == proxied("image", "/s.png")
    assert found["poster"] == proxied("image", "/p.png")
    assert found["link"] == f"{BRAND}/next.html"  # a link is followed, not loaded
    # A style's text changed later is routed too.
    mutate(page, texts=[[7, f"p{{background:url({BRAND}/later.png)}}"]])
    text = in_replica(page, "(doc) => doc.querySelector('style').textContent")
    assert text == f'p{{background:url("{proxied("image", "/later.png")}")}}'
