"""The visitor's page as the tag streamed it, read back by the checker (no browser).

Owns: ``NodeIndex`` (a description and the parent of every node of the ``dom.*`` stream, the
closed shadow roots the tag announced, the images the page made that it could not capture, and
the frames, canvases and plugin objects of the top document in the order they came) and
``closed_shadow_areas`` (what the report says of each closed shadow root DevTools found).
Must not: read the page itself; the node grammar is ``wire.nodes``'s, read through ``walk``,
never parsed again here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wire import nodes as wire_nodes

# Elements whose box the checker compares between the visitor's page and the replica.
BOXED = frozenset({"iframe", "frame", "canvas", "object", "embed", "applet"})


@dataclass
class NodeIndex:
    """The visitor's page as the tag streamed it (``dom.*`` messages, compact node form): a
    description and the parent of every node, and the closed shadow roots the tag announced.

    Build it with ``of_snapshot``, then ``apply`` each later batch in order. A tree that breaks
    the node grammar adds nothing (the relay refuses such a message too)."""

    nodes: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (label, parent id)
    keys: dict[int, str] = field(default_factory=dict)  # element id -> "tag#id" (as CDP names it)
    closed: dict[int, str] = field(default_factory=dict)  # hosts with `:shadow: closed` -> key
    # Images the page made (blob:) whose pixels the tag could not send (`:unseen: image`) -> label.
    unseen_images: dict[int, str] = field(default_factory=dict)
    # (id, element name) of the top document's iframes, canvases and plugin objects, outside
    # shadow roots and frames (as the page's own querySelectorAll finds them), in stream order.
    boxed: list[tuple[int, str]] = field(default_factory=list)
    inner: set[int] = field(default_factory=set)  # ids inside a shadow root or a frame's document

    @classmethod
    def of_snapshot(cls, snapshot: dict[str, Any] | None) -> NodeIndex:
        index = cls()
        if snapshot and isinstance(snapshot.get("doc"), list):
            index._add([snapshot["doc"]], "doc", 0, run=False)
        return index

    def apply(self, batch: dict[str, Any]) -> None:
        for add in batch.get("adds", []):
            if isinstance(add, dict):
                self.add_run(add.get("nodes"), add.get("parent"))
        for attr in batch.get("attrs", []):
            self.set_attribute(attr)

    def add_run(self, roots: Any, parent: Any) -> None:
        """Index a run of sibling trees (an add's ``nodes``) under ``parent``."""
        if isinstance(roots, list):
            self._add(roots, "nodes", parent, run=True)

    def _add(self, roots: list[Any], where: str, parent: Any, *, run: bool) -> None:
        # run=False: the snapshot's one tree, the only place a root `#document` may stand.
        found: list[tuple[wire_nodes.Item, str]] = []
        try:
            for item in wire_nodes.walk(roots, where, run=run):
                found.append((item, _label(item)))
        except wire_nodes.NodeError:
            return
        top = parent if isinstance(parent, int) else 0
        for item, label in found:
            up = item.parent.id if item.parent else top
            self.nodes[item.id] = (label, up)
            nested_document = item.name == "#document" and (run or item.parent is not None)
            if up in self.inner or item.name == "#shadow" or nested_document:
                self.inner.add(item.id)
            elif item.attrs is not None and item.ns in ("html", None) and item.name in BOXED:
                self.boxed.append((item.id, item.name))
            if item.attrs is not None:
                name_id = item.attrs.get("id")
                self.keys[item.id] = item.name + (f"#{name_id}" if name_id else "")
                self._shadow(item.id, item.attrs.get(":shadow"))
                self._unseen(item.id, item.attrs.get(":unseen"))

    def set_attribute(self, entry: Any) -> None:
        """One ``attrs`` entry of a batch: ``[id, name, value or null]``."""
        if isinstance(entry, list) and len(entry) == 3 and entry[1] == ":shadow":
            self._shadow(entry[0], entry[2])
        elif isinstance(entry, list) and len(entry) == 3 and entry[1] == ":unseen":
            self._unseen(entry[0], entry[2])

    def _shadow(self, node_id: Any, value: Any) -> None:
        if value == "closed" and node_id in self.keys:
            self.closed[node_id] = self.keys[node_id]
        elif node_id in self.closed:
            del self.closed[node_id]

    def _unseen(self, node_id: Any, value: Any) -> None:
        if value == "image" and node_id in self.nodes:
            self.unseen_images[node_id] = self.nodes[node_id][0]
        else:
            self.unseen_images.pop(node_id, None)

    def describe(self, node_id: Any) -> str:
        if not isinstance(node_id, int) or node_id not in self.nodes:
            return "(an element added later)"
        return self.nodes[node_id][0]


def _label(item: wire_nodes.Item) -> str:
    if item.name == "#document":
        return "document"
    if item.attrs is None:
        return item.name
    label = item.name
    if item.attrs.get("id"):
        label += f"#{item.attrs['id']}"
    elif item.attrs.get("class"):
        label += "." + ".".join(str(item.attrs["class"]).split()[:2])
    return label


def closed_shadow_areas(hosts: list[str], index: NodeIndex) -> list[str]:
    """One line per closed shadow root DevTools found on the page (``hosts``, "tag#id"). The
    agent sees its host marked "closed shadow root" when the tag announced it (``:shadow``);
    a root attached before the tag loaded stays unknown to the tag, and the agent sees no mark
    at all: the page should load the tag earlier."""
    announced = Counter(index.closed.values())
    lines = []
    for host in hosts:
        if announced[host] > 0:
            announced[host] -= 1
            lines.append(f"closed shadow root of {host}")
        else:
            lines.append(
                f"closed shadow root of {host} (attached before the tag loaded: "
                "the agent sees no mark)"
            )
    return lines
