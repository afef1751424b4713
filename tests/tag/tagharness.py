"""Browser harness for the tag: a fake brand site, the real tag.js, and the test as the relay.

Pages under ``pages/`` are served at ``https://shop.test/`` (with a strict CSP) and the tag at
``https://relay.test/tag.js`` through ``page.route`` (the built, minified bytes the relay serves,
so the tests run what browsers run); the visitor socket is answered by
``page.route_web_socket``, so each test speaks the relay's side of the protocol as a peer.
``Replica`` rebuilds the page from the tag's node stream, checking the protocol's rules as it goes;
it reads the compact node form with ``wire.nodes``, the reference reader.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession, Page, WebSocketRoute
from playwright.sync_api import Error as PlaywrightError

from cobrowse_qa.shadow import wait_painted
from tag_js import built_tag
from wire import nodes, protocol

# What the relay serves at /tag.js (test_tag_build.py checks they are the same bytes).
TAG = built_tag()

PAGES = Path(__file__).resolve().parent / "pages"
SITE = "https://shop.test"
RELAY = "https://relay.test"
# No inline script or style anywhere: the tag must work under a brand's strict policy.
CSP = (
    "default-src 'self'; script-src 'self' https://relay.test; connect-src wss://relay.test; "
    "style-src 'self' 'nonce-cbtest'; img-src 'self' data: blob:; frame-src 'self' https://other.test"
)
PLACEHOLDER = "\u2022" * 6

# Runs before every page script: keeps a handle on the tag's closed shadow root (the only way a
# test can reach into it), and records CSP violations and uncaught errors.
INIT_SCRIPT = """
(() => {
  const before = new Set(Object.getOwnPropertyNames(window));
  window.__cbNewGlobals = () => Object.getOwnPropertyNames(window)
    .filter((k) => !before.has(k) && !k.startsWith('__cb') && !k.startsWith('__pw')
      && !k.startsWith('__playwright'));
  const attach = Element.prototype.attachShadow;
  window.__cbShadow = [];
  window.__cbErrors = [];
  window.__cbCsp = [];
  // A Proxy of the native method, which reads as native: the tag takes built-ins a page replaced
  // from a clean realm, and would then attach its UI's root where this handle cannot see it.
  Element.prototype.attachShadow = new Proxy(attach, {
    apply(target, self, args) {
      const root = Reflect.apply(target, self, args);
      if (self.localName === 'cobrowse-ui') window.__cbShadow.push({ mode: args[0].mode, root });
      return root;
    },
  });
  const on = EventTarget.prototype.addEventListener;
  on.call(window, 'error', (e) => window.__cbErrors.push(String(e.message)));
  on.call(document, 'securitypolicyviolation', (e) => window.__cbCsp.push(e.violatedDirective));
})();
"""

# The page as the protocol says the tag must mirror it, computed independently in the page:
# open shadow roots as a first "#shadow" child, same-origin frame documents as the iframe's one
# child, and CSSOM-only rules as synthetic style text (docs/protocol.md, "Nodes").
EXPECTED_TREE_JS = """
() => {
  const URLS = new Set(['href', 'src', 'action', 'poster']);
  // Resolved against the node's own document; on the page's origin, the path alone (one "/").
  const abs = (v, base) => {
    const url = new URL(v, base);
    const path = url.href.slice(url.origin.length);
    const own = url.origin === location.origin && path[0] === '/' && !'/\\\\'.includes(path[1]);
    return own ? path : url.href;
  };
  const rules = (sheets) => [...sheets].flatMap((s) => [...s.cssRules].map((r) => r.cssText))
    .join('\\n');
  const adopted = (owner) => owner.adoptedStyleSheets.length
    ? [['style', {}, [['#text', rules(owner.adoptedStyleSheets)]]]] : [];
  // Masking by data-cobrowse-mask containers (across shadow roots and frames) and of secret
  // fields, as docs/protocol.md says: text becomes the placeholder, a value attribute goes.
  const SECRET = /(^|\\s)(current-password|new-password|one-time-code|cc-\\S*)(\\s|$)/i;
  const secret = (n) => n.localName === 'input' && (n.type === 'password' || n.type === 'hidden'
    || SECRET.test(n.getAttribute('autocomplete') || ''));
  function norm(n, masked = false) {
    if (n.nodeType === 1 && n.hasAttribute('data-cobrowse-mask')) masked = true;
    const kids = (p) => [...p.childNodes].map((c) => norm(c, masked)).filter((x) => x !== null);
    switch (n.nodeType) {
      case 3: return ['#text', masked && /\\S/.test(n.data) ? '\u2022'.repeat(6) : n.data];
      case 8: return ['#comment'];
      case 10: return ['#doctype', n.name];
      case 9: return ['#document', kids(n)];
      case 11: return ['#shadow', [...kids(n), ...adopted(n)]];
      case 1: {
        if (n.localName === 'cobrowse-ui') return null;
        const attrs = {};
        for (const a of n.attributes) {
          if (a.name === 'value' && (masked || secret(n))) continue;
          let v = a.value;
          if (URLS.has(a.name) && v) v = abs(v, n.baseURI);
          if (a.name === 'srcset') {
            v = v.split(',').map((c) => c.trim().split(/\\s+/))
              .map(([u, d]) => abs(u, n.baseURI) + (d ? ' ' + d : '')).join(', ');
          }
          attrs[a.name] = v;
        }
        let children = n.localName === 'script' ? [] : kids(n);
        if (n.localName === 'iframe' || n.localName === 'frame') {
          let doc = null;
          try { doc = n.contentDocument; } catch (e) { doc = null; }
          children = doc ? [norm(doc, masked)] : [];
        }
        if (n.shadowRoot) children = [norm(n.shadowRoot, masked), ...children];
        if (n.localName === 'style' && !/\\S/.test(n.textContent) && n.sheet
            && n.sheet.cssRules.length) children.push(['#text', rules([n.sheet])]);
        if (n.parentNode && n.parentNode.nodeType === 9) children.push(...adopted(n.parentNode));
        return [n.localName, attrs, children];
      }
    }
    return null;
  }
  return norm(document);
}
"""


def assert_same_tree(got: Any, want: Any, path: str = "doc") -> None:
    """Assert two normalised trees are equal, naming the first place where they differ."""
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same_tree(a, b, f"{path}[{index}]")
        return
    assert got == want, f"replica differs at {path}: {str(got)[:300]} != {str(want)[:300]}"


def _assert_compact(run: list[Any], where: str) -> None:
    """The tag writes an id only where the preorder count breaks and leaves out empty attributes:
    its nodes are exactly what the reference encoder makes of the same trees."""
    assert nodes.compact_run(nodes.expand_run(run, where)) == run, f"{where}: not compact"


class Replica:
    """The page rebuilt from dom.snapshot / dom.mutations, applying the protocol's rules strictly.

    Every rule violation (a message the relay would refuse, a node the grammar does not allow, an
    id written where the count follows on, unknown parent, `next` not present, id reused, seq
    gap) fails the test.
    """

    def __init__(self) -> None:
        self.nodes: dict[int, dict[str, Any]] = {}
        self.root = 0
        self.seq = -1
        self.session = ""

    def load(self, snapshot: dict[str, Any]) -> None:
        protocol.decode(json.dumps(snapshot), "visitor")
        self.nodes = {}
        self.seq = snapshot["seq"]
        self.session = snapshot["session"]
        doc = snapshot["doc"]
        assert nodes.compact(nodes.expand(doc, "doc")) == doc, "doc: not compact"
        (self.root,) = self.build([doc], 0, "doc", tree=True)

    def build(self, run: list[Any], parent: int, where: str, *, tree: bool = False) -> list[int]:
        """Add a run of compact sibling trees under ``parent`` (0: none); returns the roots' ids.
        ``tree``: ``run`` is one tree read as a snapshot's ``doc`` (which may be a document)."""
        assert isinstance(run, list) and run, f"{where}: a run of nodes must be a non-empty list"
        tops: list[int] = []
        for item in nodes.walk(run, where, run=not tree):  # raises on any fault of the grammar
            assert item.id not in self.nodes, f"id {item.id} used twice"
            node: dict[str, Any] = {
                "name": item.name,
                "parent": item.parent.id if item.parent else parent,
                "children": [],
                "attrs": dict(item.attrs or {}),
            }
            if item.text is not None:
                node["text"] = item.text
            elif item.name == "#comment":
                node["text"] = ""  # the grammar has no place for a comment's text
            self.nodes[item.id] = node
            if item.parent:
                self.nodes[item.parent.id]["children"].append(item.id)
            else:
                tops.append(item.id)
        return tops

    def _drop(self, node_id: int) -> None:
        for child in self.nodes[node_id]["children"]:
            self._drop(child)
        del self.nodes[node_id]

    def apply(self, batch: dict[str, Any]) -> None:
        protocol.decode(json.dumps(batch), "visitor")
        assert batch["session"] == self.session
        assert batch["seq"] == self.seq + 1, f"seq {batch['seq']} after {self.seq}"
        self.seq = batch["seq"]
        for node_id in batch["removes"]:
            assert node_id in self.nodes, f"remove of unknown {node_id}"
            parent = self.nodes[node_id]["parent"]
            self.nodes[parent]["children"].remove(node_id)
            self._drop(node_id)
        for index, add in enumerate(batch["adds"]):
            assert set(add) == {"parent", "next", "nodes"}, add.keys()
            parent = add["parent"]
            assert parent in self.nodes, f"add under unknown parent {parent}"
            siblings = self.nodes[parent]["children"]
            if add["next"] is not None:
                assert add["next"] in siblings, f"next {add['next']} not under {parent}"
            _assert_compact(add["nodes"], f"adds[{index}].nodes")
            new = self.build(add["nodes"], parent, f"adds[{index}].nodes")
            at = len(siblings) if add["next"] is None else siblings.index(add["next"])
            siblings[at:at] = new
        for node_id, name, value in batch["attrs"]:
            assert node_id in self.nodes, f"attr on unknown {node_id}"
            attrs = self.nodes[node_id]["attrs"]
            if value is None:
                attrs.pop(name, None)
            else:
                attrs[name] = value
        for node_id, text in batch["texts"]:
            assert node_id in self.nodes, f"text of unknown {node_id}"
            self.nodes[node_id]["text"] = text

    def tree(self, node_id: int | None = None) -> list[Any]:
        """The replica in the form EXPECTED_TREE_JS gives (state entries left out)."""
        node = self.nodes[self.root if node_id is None else node_id]
        name = node["name"]
        if name == "#text":
            return ["#text", node["text"]]
        if name == "#comment":
            return ["#comment"]
        if name == "#doctype":
            return ["#doctype", node["text"]]
        kids = [self.tree(c) for c in node["children"]]
        if name in ("#document", "#shadow"):
            return [name, kids]
        attrs = {k: v for k, v in node["attrs"].items() if not k.startswith(":")}
        return [name, attrs, kids]

    def find(self, **attrs: str) -> dict[str, Any]:
        """The one element whose attributes include all of ``attrs``."""
        found = [
            n for n in self.nodes.values() if all(n["attrs"].get(k) == v for k, v in attrs.items())
        ]
        assert len(found) == 1, f"{len(found)} nodes match {attrs}"
        return found[0]

    def id_of(self, **attrs: str) -> int:
        node = self.find(**attrs)
        return next(i for i, n in self.nodes.items() if n is node)


class FakeRelay:
    """The relay's side of the visitor socket. Records every frame the page sends."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[WebSocketRoute] = []
        self.urls: list[str] = []
        self.raw: list[str] = []
        self.frames: list[dict[str, Any]] = []
        self.replica = Replica()

    def accept(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        self.urls.append(ws.url)
        ws.on_message(self._received)

    def _received(self, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode()
        self.raw.append(text)
        frame = json.loads(text)
        assert frame.get("v") == 1, frame
        self.frames.append(frame)

    def send(self, type_: str, **body: Any) -> None:
        self.sockets[-1].send(json.dumps({"v": 1, "type": type_, **body}))

    def wait(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Pump Playwright's event loop until ``predicate()`` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            self.page.wait_for_timeout(20)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == type_]

    def next_frame(self, type_: str, after: int = 0, timeout: float = 5.0) -> dict[str, Any]:
        """The first frame of ``type_`` at index ``after`` or later in ``frames``."""

        def find() -> dict[str, Any] | None:
            return next((f for f in self.frames[after:] if f["type"] == type_), None)

        result: dict[str, Any] = self.wait(find, timeout)
        return result

    # ---- conveniences playing the relay's usual lines

    def hello(
        self,
        token: str = "tok-1",
        resumed: bool = False,
        session: str | None = None,
    ) -> None:
        """Answer the tag's connection; ``session`` names the active session, as the relay does."""
        self.wait(lambda: self.sockets)
        extra = {"session": session} if session else {}
        self.send(
            "hello", conversation="conv1", token=token, brand="shop", resumed=resumed, **extra
        )

    def start_session(
        self, mode: str = "view_only", mask_selectors: list[str] | None = None, session: str = "s1"
    ) -> dict[str, Any]:
        """Start a session and load the snapshot the tag answers with into the replica."""
        mark = len(self.frames)
        self.send(
            "session.started",
            session=session,
            conversation="conv1",
            mode=mode,
            agent="Ann",
            mask_selectors=mask_selectors or [],
        )
        snapshot = self.next_frame("dom.snapshot", mark, timeout=10)
        self.replica.load(snapshot)
        self.wait_loaded()
        self.sync()
        return snapshot

    def loading(self) -> bool:
        """Whether the tag said it still has parts of the page to send (``loading``)."""
        dom = [f for f in self.frames if f["type"] in ("dom.snapshot", "dom.mutations")]
        return bool(dom and dom[-1].get("loading"))

    def wait_loaded(self, timeout: float = 20.0) -> None:
        self.wait(lambda: not self.loading(), timeout)

    def sync(self) -> None:
        """Apply every dom.mutations received so far (after the snapshot) to the replica."""
        for frame in self.frames:
            if frame["type"] == "dom.mutations" and frame["seq"] > self.replica.seq:
                self.replica.apply(frame)

    def settle(self) -> None:
        """Wait until the tag has flushed what the page did (two frames and a margin)."""
        try:
            self.page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => "
                "requestAnimationFrame(() => setTimeout(r, 30))))"
            )
        except PlaywrightError:  # the hostile page broke rAF: outwait the tag's fallback timer
            self.page.wait_for_timeout(400)
        self.wait_loaded()
        self.sync()


class TagUI:
    """The tag's UI, reached through the closed shadow root the init script kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._cdp: CDPSession | None = None

    @property
    def cdp(self) -> CDPSession:
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    def _js(self, testid: str) -> str:
        return (
            f"(() => {{ const s = window.__cbShadow[0]; return s && "
            f"s.root.querySelector('[data-testid=\"{testid}\"]'); }})()"
        )

    def visible(self, testid: str) -> bool:
        return bool(
            self.page.evaluate(
                f"() => {{ const e = {self._js(testid)}; return !!e && e.checkVisibility(); }}"
            )
        )

    def text(self, testid: str) -> str:
        return str(self.page.evaluate(f"() => {self._js(testid)}.textContent"))

    def all(self, testid: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.page.evaluate(
            '(id) => [...window.__cbShadow[0].root.querySelectorAll(`[data-testid="${id}"]`)]'
            ".map(e => ({text: e.textContent, sender: e.dataset.sender || null}))",
            testid,
        )
        return result

    def click(self, testid: str) -> None:
        """A real mouse click (trusted events) in the middle of the element."""
        handle = self.page.evaluate_handle(f"() => {self._js(testid)}")
        box = handle.as_element().bounding_box()  # type: ignore[union-attr]
        assert box, f"{testid} has no box"
        wait_painted(self.cdp)
        self.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    def type(self, testid: str, text: str) -> None:
        self.click(testid)
        self.page.keyboard.type(text)

    def box(self, testid: str) -> dict[str, float]:
        handle = self.page.evaluate_handle(f"() => {self._js(testid)}")
        box = handle.as_element().bounding_box()  # type: ignore[union-attr]
        assert box
        return box


def open_page(page: Page, name: str) -> None:
    """Load a fixture page and wait until the tag has built its UI."""
    page.goto(f"{SITE}/{name}")
    # Polled with evaluate: wait_for_function's injected script needs the page's
    # window.addEventListener, which the hostile fixture page breaks.
    deadline = time.monotonic() + 5
    while page.evaluate("() => window.__cbShadow.length") != 1:
        assert time.monotonic() < deadline, "the tag did not build its UI"
        page.wait_for_timeout(20)


def start_chat(relay: FakeRelay, ui: TagUI) -> None:
    """Open the chat (which connects) and answer with hello."""
    ui.click("cb-chat-open")
    relay.hello()
    relay.wait(lambda: relay.page.evaluate("() => sessionStorage.getItem('cobrowse') !== null"))
