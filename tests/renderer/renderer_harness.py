"""Helpers for the renderer tests: a private event loop, message builders, output checks.

Messages carry nodes in the wire's compact form (``wire.nodes``); the tests write trees in
the explicit form ``[id, tag, {attrs}, [children]]`` for readability and convert at the edges:
``compact``/``add`` on the way in, ``expand``/``explicit_adds`` on the way out. The output
checks (``violations``, ``find``, ``ids``, ``kids``) read the explicit form.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from renderer.policy import FRAME_BOX_ATTRS, BrandPolicy
from wire.grammar import nodes_js
from wire.nodes import compact as compact  # re-exported for the tests
from wire.nodes import compact_run, expand_run
from wire.nodes import expand as expand  # re-exported for the tests

T = TypeVar("T")


BRAND = BrandPolicy(origins=("https://shop.example",), mask_selectors=(".secret",))


class Loop:
    """Runs the async renderer from sync tests, on its own thread.

    A thread of its own, because pytest-playwright's sync API keeps an event loop running on
    the main thread for the whole session once any browser test has used it.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="renderer-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


_ids = itertools.count(1)


def new_session() -> str:
    return f"test-{next(_ids)}"


def snapshot_message(doc: Any, session: str = "s", seq: int = 0) -> dict[str, Any]:
    """A ``dom.snapshot`` carrying ``doc`` as it is (give it the compact form)."""
    return {
        "v": 1,
        "type": "dom.snapshot",
        "session": session,
        "seq": seq,
        "url": "https://shop.example/",
        "title": "Shop",
        "viewport": {"w": 1280, "h": 800, "dpr": 1},
        "doc": doc,
    }


def mutations_message(
    session: str = "s",
    seq: int = 1,
    *,
    removes: list[int] | None = None,
    adds: list[dict[str, Any]] | None = None,
    attrs: list[list[Any]] | None = None,
    texts: list[list[Any]] | None = None,
) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "dom.mutations",
        "session": session,
        "seq": seq,
        "removes": removes or [],
        "adds": adds or [],
        "attrs": attrs or [],
        "texts": texts or [],
    }


def add(parent: int, *nodes: list[Any], next_id: int | None = None) -> dict[str, Any]:
    """An add of a run of explicit sibling trees, in the wire form."""
    return {"parent": parent, "next": next_id, "nodes": compact_run(list(nodes))}


def explicit_adds(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``replica.mutations``'s adds with their runs decoded (``wire.nodes``) to the explicit
    form; decoding fails if the renderer wrote something the grammar does not allow."""
    return [
        {"parent": a["parent"], "next": a["next"], "nodes": expand_run(a["nodes"])}
        for a in message["adds"]
    ]


def page_doc(*body: list[Any], head: tuple[list[Any], ...] = ()) -> list[Any]:
    """An explicit #document with ids 1..4 for document/doctype/html/head, 5 for body."""
    return [
        1,
        "#document",
        [
            [2, "#doctype", "html"],
            [3, "html", {}, [[4, "head", {}, list(head)], [5, "body", {}, list(body)]]],
        ],
    ]


# ------------------------------------------------------------------ output checks

# Independent of renderer/policy.py on purpose: what must never reach an agent.
NEVER_TAGS = frozenset(
    {
        "script",
        "noscript",
        "object",
        "embed",
        "applet",
        "frame",
        "frameset",
        "iframe",
        "base",
        "portal",
        "template",
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
        "handler",
        "listener",
        "annotation-xml",
        "maction",
    }
)
NEVER_ATTRS = frozenset(
    {
        "srcdoc",
        "formaction",
        "action",
        "http-equiv",
        "target",
        "ping",
        "background",
        "autofocus",
        "is",
        "xmlns",
    }
)
URL_ATTRS = frozenset(
    {
        "href",
        "src",
        "srcset",
        "poster",
        "cite",
        "xlink:href",
        "action",
        "formaction",
        "data",
        "background",
    }
)
# Attributes whose value the browser interprets as CSS or animates into another attribute.
# (Elsewhere "javascript:" is just text: a title may say it.)
CODE_ATTRS = frozenset(
    {
        "style",
        "fill",
        "stroke",
        "filter",
        "clip-path",
        "mask",
        "marker-start",
        "marker-mid",
        "marker-end",
        "values",
        "to",
        "from",
        "by",
        "attributename",
    }
)
BAD_VALUE_MARKERS = ("javascript:", "vbscript:", "expression(", "-moz-binding", "behavior:")


ROOTS = ("#document", "#shadow")  # [id, name, children]: a (frame) document, a shadow root


def kids(node: list[Any]) -> list[Any]:
    """A node's children in the protocol form (documents and shadow roots included)."""
    if node[1] in ROOTS:
        return node[2]  # type: ignore[no-any-return]
    return node[3] if len(node) == 4 else []  # type: ignore[no-any-return]


def _squash(value: str) -> str:
    return "".join(ch for ch in value if ord(ch) > 0x20).lower()


def violations(doc: list[Any]) -> list[str]:
    """Everything forbidden in a node tree: the property every sanitizer output must meet."""
    found: list[str] = []
    stack: list[list[Any]] = [doc]
    while stack:
        node = stack.pop()
        if node[1] in ROOTS:
            stack.extend(node[2])
            continue
        if len(node) != 4:
            continue
        tag, attrs = node[1], node[2]
        boxed_frame = (
            tag == "iframe"
            and attrs.get("data-cobrowse-placeholder") == "third-party iframe"
            and set(attrs) <= set(FRAME_BOX_ATTRS) | {"data-cobrowse-placeholder", ":masked"}
            and len(node[3]) == 0
        )
        if tag.lower() in NEVER_TAGS and not boxed_frame:
            found.append(f"{node[0]}: <{tag}>")
        for name, value in attrs.items():
            lname = name.lower()
            if lname.startswith("on") or lname in NEVER_ATTRS:
                found.append(f"{node[0]}: @{name}")
            squashed = _squash(value)
            if lname in URL_ATTRS:
                # What a URL attribute may start with: the scheme decides what it does.
                if squashed.startswith(("javascript:", "vbscript:")):
                    found.append(f"{node[0]}: @{name}={value[:40]!r}")
                if squashed.startswith("data:") and not squashed.startswith(
                    ("data:image/png;", "data:image/jpeg;")
                ):
                    found.append(f"{node[0]}: data: URL in @{name}")
            elif lname in CODE_ATTRS and any(marker in squashed for marker in BAD_VALUE_MARKERS):
                found.append(f"{node[0]}: @{name}={value[:40]!r}")
        stack.extend(node[3])
    return found


def ids(node: list[Any]) -> set[int]:
    out: set[int] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        out.add(item[0])
        stack.extend(kids(item))
    return out


def find(node: list[Any], node_id: int) -> list[Any] | None:
    stack = [node]
    while stack:
        item = stack.pop()
        if item[0] == node_id:
            return item
        stack.extend(kids(item))
    return None


STATIC = Path(__file__).resolve().parents[2] / "relay" / "static"


def build_replica(page: Any, snapshot: dict[str, Any], viewport: dict[str, int]) -> None:
    """Build the renderer's ``snapshot`` with replica.js (the agent's code) into a replica frame
    of ``viewport``'s size, on a blank ``page`` (a Playwright sync Page)."""
    page.set_content("<!DOCTYPE html><html><head></head><body style='margin:0'></body></html>")
    page.add_script_tag(content=nodes_js())
    page.add_script_tag(content=(STATIC / "replica.js").read_text("utf-8"))
    page.evaluate(
        """([snapshot, w, h]) => {
            const frame = CobrowseReplica.createFrame(document.body);
            frame.style.cssText = `border:0;display:block;width:${w}px;height:${h}px`;
            window.replica = new CobrowseReplica.Replica(frame);
            if (!window.replica.applySnapshot(snapshot)) throw new Error('snapshot refused');
        }""",
        [snapshot, viewport["width"], viewport["height"]],
    )
