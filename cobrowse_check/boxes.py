"""Where the visitor's frames, canvases and plugin objects are, and where the agent sees them.

Owns: measuring the box of each iframe, canvas and plugin object (``object``, ``embed``,
``applet``) of the visitor's top document and the box of the same node (by its node id, through
the workspace's replica) in the agent's replica, and pairing the two (``BoxPair``). Must not:
change either page, or judge what it measured (``findings`` does).

Both boxes are in CSS pixels of their own document: the replica frame keeps the visitor's
viewport size and only a transform scales it, so the two compare as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from cobrowse_check.nodes import BOXED, NodeIndex

# An element's border box in its document's viewport (0x0 when it is not displayed) and the
# width of its top border (0 without one).
_BOX_OF = """const boxOf = (el) => {
    const r = el.getBoundingClientRect();
    const style = el.ownerDocument.defaultView.getComputedStyle(el);
    const shown = style.display !== 'none' && style.visibility !== 'hidden';
    const border = style.borderTopStyle === 'none' ? 0 : parseFloat(style.borderTopWidth) || 0;
    return { x: r.left, y: r.top, w: shown ? r.width : 0, h: shown ? r.height : 0, border };
  };"""

# On the visitor's page: its own elements, in document order (the order the tag streamed them).
VISITOR_BOXES_JS = (
    "(names) => { "
    + _BOX_OF
    + """
  const html = 'http://www.w3.org/1999/xhtml'; // an SVG <canvas> is no canvas
  return Array.from(document.querySelectorAll(names.join(',')))
    .filter((el) => el.namespaceURI === html)
    .map((el) => Object.assign(boxOf(el), { name: el.localName }));
}"""
)

# In the agent's workspace: the replica's node for each id (a placeholder div for a frame or a
# plugin object, a canvas for a canvas), or null when the replica has none.
REPLICA_BOXES_JS = (
    "(ids) => { "
    + _BOX_OF
    + """
  const ws = window.CobrowseWorkspace;
  const replica = ws && ws.state.session && ws.state.session.replica;
  return ids.map((id) => {
    const node = replica ? replica.node(id) : null;
    if (!node || node.nodeType !== 1) return null;
    return Object.assign(boxOf(node), {
      placeholder: node.getAttribute('data-cobrowse-placeholder'),
      nested: !!node.querySelector('iframe[data-cobrowse-replica-frame]')
    });
  });
}"""
)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    border: float = 0.0  # the top border's width, 0 without one

    @property
    def empty(self) -> bool:
        return self.w < 1 or self.h < 1

    def size_text(self) -> str:
        return f"{round(self.w)}x{round(self.h)}"

    def overlap(self, other: Box) -> float:
        """The area shared with ``other``, as a fraction of the smaller of the two."""
        w = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        h = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        smaller = min(self.w * self.h, other.w * other.h)
        return (w * h) / smaller if w > 0 and h > 0 and smaller > 0 else 0.0


@dataclass(frozen=True)
class BoxPair:
    """One element: its label (as the tag streamed it), its box for the visitor and, when the
    replica has its node, for the agent; ``placeholder`` the replica's label for it
    (``iframe``, ``third-party iframe``, ``plugin object``; None for a canvas) and ``nested``
    whether a same-origin frame's content is drawn in it."""

    name: str
    label: str
    visitor: Box
    agent: Box | None
    placeholder: str | None = None
    nested: bool = False


async def measure(visitor: Page, agent: Page, index: NodeIndex) -> list[BoxPair]:
    """Pair the visitor's boxed elements with the replica's nodes, by name and order."""
    if not index.boxed:
        return []
    names = sorted(BOXED)
    seen: list[dict[str, Any]] = await visitor.evaluate(VISITOR_BOXES_JS, names)
    ids = [node_id for node_id, _ in index.boxed]
    shown: list[dict[str, Any] | None] = await agent.evaluate(REPLICA_BOXES_JS, ids)
    # The n-th element of a name on the page is the n-th of that name in the stream.
    by_name: dict[str, list[dict[str, Any]]] = {}
    for item in seen:
        by_name.setdefault(str(item["name"]), []).append(item)
    pairs = []
    for (node_id, name), replica in zip(index.boxed, shown, strict=True):
        mine = by_name.get(name, [])
        if not mine:
            continue
        page = mine.pop(0)
        pairs.append(
            BoxPair(
                name=name,
                label=index.describe(node_id),
                visitor=_box(page),
                agent=_box(replica) if replica else None,
                placeholder=replica.get("placeholder") if replica else None,
                nested=bool(replica and replica.get("nested")),
            )
        )
    return pairs


def _box(data: dict[str, Any]) -> Box:
    return Box(
        float(data["x"]),
        float(data["y"]),
        float(data["w"]),
        float(data["h"]),
        float(data.get("border") or 0),
    )
