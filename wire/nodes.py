"""The protocol's compact node form: reading it, checking its shape, and (for tools and tests)
converting it to and from the explicit form.

Owns: the grammar of a node tree on the wire (``docs/protocol.md``, "Nodes"): its shape, ids,
the namespace of each element (``wire.grammar.child_namespace``, the one rule) and the
structural rules (no duplicate id in one message; ``#shadow`` only as the first child of an
element that can host one; ``#document`` only as a snapshot's root or the single child of an
``iframe``). Its JavaScript twin is ``wire/nodes.js`` (used by ``renderer/sanitizer.js`` and
``relay/static/replica.js``), with the same words for every fault; the golden cases in
``tests/fixtures/nodes.json`` keep all readers and writers in agreement.
Must not: judge content (tag names, attributes, URLs): that is ``wire.protocol`` (limits,
names) and the renderer (policy). Everything here is iterative, so depth costs no recursion.

Compact form, in short: a text node is a bare string (or, as a child, an integer standing for
a newline and that many spaces, or tabs when negative); every other node is an array
``[id?, name, ...]``: ``[id?, "tag", {attrs}?, child...]``, ``[id?, "#document", child...]``,
``[id?, "#shadow", child...]``, ``[id?, "#doctype", "html"]``, ``[id?, "#comment"]``,
``[id?, "#text", "text"]``. A node without an id has the id of the node before it in preorder
plus one; the first node of a tree always carries its id.

Explicit form (tools and tests only, never on the wire): ``[id, "#text", text]``,
``[id, "#comment", ""]``, ``[id, "#doctype", name]``, ``[id, "#document" | "#shadow",
[children]]``, ``[id, tag, {attrs}, [children]]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from wire import grammar

MAX_ID: Final = grammar.MAX_ID  # ids must stay exact in JavaScript
MAX_INDENT: Final = grammar.MAX_INDENT  # an indentation child stands for at most 1 + this


def indentation(n: int) -> str:
    """The text an integer child stands for: a newline and ``n`` spaces (``-n`` tabs)."""
    return "\n" + (" " * n if n >= 0 else "\t" * -n)


def indentation_of(text: str) -> int | None:
    """The integer child for ``text`` when it is a newline followed only by spaces or only by
    tabs (at most ``MAX_INDENT``): such text, between the elements of a page's source, is a
    large share of a real page's nodes, and ``"\\n    "`` costs twice the bytes of ``4``."""
    if len(text) > MAX_INDENT + 1 or text[:1] != "\n":
        return None
    rest = text[1:]
    if rest.strip(" ") == "":
        return len(rest)
    if rest.strip("\t") == "":
        return -len(rest)
    return None


class NodeError(ValueError):
    """A node tree breaks the grammar. ``path`` says where (``doc[0][3]``-style)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(slots=True, eq=False)
class Item:
    """One node met by ``walk``, in preorder."""

    id: int
    name: str
    attrs: dict[str, Any] | None  # elements only ({} when absent)
    ns: str | None  # elements: html, svg or math (None: unknown, an add read without its parent)
    text: str | None  # #text and #doctype
    depth: int  # 1 for a root
    parent: Item | None
    index: int  # where the node sits in its parent's array (its place in the run for a root)
    where: str  # the root's path (``doc``, ``adds[0].nodes[1]``)

    @property
    def path(self) -> str:
        """Where the node is, as ``doc[2][3]``: built only when asked (errors), never per node,
        so that a deep tree costs no quadratic path bookkeeping."""
        steps: list[int] = []
        item: Item | None = self
        while item is not None and item.parent is not None:
            steps.append(item.index)
            item = item.parent
        return (item.where if item else "") + "".join(f"[{i}]" for i in reversed(steps))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


# What _read makes of one wire value: (id or 0, name, attrs, text, the array holding its
# children, index of the first child), or the grammar's complaint.
_Read = tuple[int, str, dict[str, Any] | None, str | None, list[Any], int]
_NO_KIDS: list[Any] = []


def _read(value: Any) -> _Read | str:
    if isinstance(value, str):
        return 0, "#text", None, value, _NO_KIDS, 0
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_INDENT:
            return f"an indentation child must be from -{MAX_INDENT} to {MAX_INDENT}"
        return 0, "#text", None, indentation(value), _NO_KIDS, 0
    if not isinstance(value, list) or not value:
        return "a node is a string or [id?, name, ...]"
    i, node_id = 0, 0
    if _is_id(value[0]):
        node_id, i = value[0], 1
    elif isinstance(value[0], (int, float)) and not isinstance(value[0], bool):
        return "node id must be an integer from 1 to 2**53-1"
    if i >= len(value) or not isinstance(value[i], str):
        return "a node is a string or [id?, name, ...]"
    name = value[i]
    rest = len(value) - i - 1
    if name in ("#text", "#doctype"):
        if rest != 1 or not isinstance(value[i + 1], str):
            return f"{name} must be [id?, {name!r}, string]"
        return node_id, name, None, value[i + 1], _NO_KIDS, 0
    if name == "#comment":
        return (
            "#comment must be [id?, '#comment']"
            if rest
            else (node_id, name, None, None, _NO_KIDS, 0)
        )
    if name in ("#document", "#shadow"):
        return node_id, name, None, None, value, i + 1
    if name.startswith("#"):
        return f"unknown node kind {name[:40]!r}"
    if rest and isinstance(value[i + 1], dict):
        return node_id, name, value[i + 1], None, value, i + 2
    return node_id, name, {}, None, value, i + 1


def _child_fault(child: Any) -> str | None:
    """Why ``child`` cannot be a child at all, checked when its parent is read (so the first
    fault reported is the same in every reader), or None."""
    if isinstance(child, (str, list)) or (isinstance(child, int) and not isinstance(child, bool)):
        return None
    if isinstance(child, dict):
        return "attributes must directly follow the tag name"
    return "a child must be a string (text), an integer (indentation) or an array"


def _at(parent: Item | None, index: int, root_path: str) -> str:
    return root_path if parent is None else f"{parent.path}[{index}]"


@dataclass(frozen=True, slots=True)
class Parent:
    """What a run's roots are added under (an add's ``parent``), when the reader knows it:
    ``ns`` None for a document or shadow root, else the element's name and attributes."""

    ns: str | None
    name: str
    attrs: dict[str, Any] | None = None


# Where a frame's document may sit: under an HTML iframe or frame (a frameset's; what a visitor
# sends), or also under the placeholder div the renderer makes of a same-origin one (what the
# agent receives).
Frames = Literal["iframe", "placeholder"]
SHADOW_PLACE: Final = "a shadow root can only be the first child of an element that can host one"
DOCUMENT_PLACE: Final = (
    "a document node can only be the snapshot root or an iframe's (or frame's) single child"
)
FRAME_ELEMENTS: Final = frozenset({"iframe", "frame"})


def _frame_host(parent: Item, frames: Frames) -> bool:
    if parent.attrs is None or parent.ns not in (grammar.HTML, None):
        return False
    if parent.name in FRAME_ELEMENTS:
        return True
    return (
        frames == "placeholder"
        and parent.name == "div"
        and "data-cobrowse-placeholder" in parent.attrs
    )


def _placement(
    name: str, parent: Item | None, index: int, first: int, kids: int, run: bool, ctx: Any
) -> str | None:
    """Why a ``#document`` or ``#shadow`` cannot be where it is, or None. ``first``: index of
    the parent's first child; ``kids``: how many children the parent has; ``ctx``: the run's
    ``Parent`` (None: unknown), or a ``Frames`` value for documents."""
    if name == "#document":
        if parent is None:
            return "cannot add a document" if run else None
        if not _frame_host(parent, ctx):
            return DOCUMENT_PLACE
        if kids != 1:
            return "a frame's document must be its single child"
        return None
    if parent is None:
        if not run:
            return SHADOW_PLACE
        if index != 0:
            return "a shadow root must be the first of an add's nodes"
        if ctx is not None and (ctx.ns is None or not grammar.can_host_shadow(ctx.name, ctx.ns)):
            return SHADOW_PLACE
        return None
    if parent.attrs is None or (
        parent.ns is not None and not grammar.can_host_shadow(parent.name, parent.ns)
    ):
        return SHADOW_PLACE
    if index != first:
        return "a shadow root must be its host's first child"
    return None


def walk(
    roots: list[Any],
    where: str,
    *,
    max_depth: int = grammar.MAX_DEPTH,
    run: bool = True,
    parent: Parent | None = None,
    seen: set[int] | None = None,
    frames: Frames = "iframe",
) -> Iterator[Item]:
    """Every node of ``roots`` (a run of sibling trees: an add's ``nodes``, or ``[doc]``) in
    preorder, with ids resolved and each element's namespace. Raises ``NodeError`` at the first
    fault. ``run=False``: one tree (a snapshot's ``doc``), whose paths start at ``where`` itself
    rather than ``where[0]``. ``parent``: what an add's roots go under (unknown by default: the
    roots' namespaces are then None, and the host of a root ``#shadow`` is not checked).
    ``seen``: the ids met so far in the same message (a duplicate is refused); pass one set to
    every run of a message. ``frames``: what may hold a frame's document (see ``Frames``).

    The caller may stop early; nothing is built but the ``Item`` of each node."""
    prev: int | None = None
    ids: set[int] = set() if seen is None else seen
    # (value, depth, parent item, index, parent's first child index, parent's child count)
    stack: list[tuple[Any, int, Item | None, int, int, int]] = [
        (root, 1, None, i, 0, len(roots)) for i, root in reversed(list(enumerate(roots)))
    ]
    while stack:
        value, depth, up, index, first, count = stack.pop()
        at = where if up is not None or not run else f"{where}[{index}]"
        read = _read(value) if depth <= max_depth else f"nested deeper than {max_depth}"
        if isinstance(read, str):
            raise NodeError(_at(up, index, at), read)
        node_id, name, attrs, text, kids, start = read
        if not node_id:
            if prev is None:
                raise NodeError(
                    _at(up, index, at),
                    "the first node of a tree must carry its id",
                )
            node_id = prev + 1
            if node_id > MAX_ID:
                raise NodeError(_at(up, index, at), "node id beyond 2**53-1")
        prev = node_id
        if node_id in ids:
            raise NodeError(_at(up, index, at), f"duplicate node id {node_id}")
        ids.add(node_id)
        ns: str | None = None
        if attrs is not None:
            if up is not None:
                if up.attrs is None:
                    ns = grammar.child_namespace(None, up.name, None, name)
                elif up.ns is not None:
                    ns = grammar.child_namespace(up.ns, up.name, up.attrs, name)
            elif not run:
                ns = grammar.child_namespace(None, "", None, name)
            elif parent is not None:
                ns = grammar.child_namespace(parent.ns, parent.name, parent.attrs, name)
        elif name in ("#document", "#shadow"):
            fault = _placement(
                name, up, index, first, count, run, parent if name == "#shadow" else frames
            )
            if fault:
                raise NodeError(_at(up, index, at), fault)
        item = Item(node_id, name, attrs, ns, text, depth, up, index, at)
        yield item
        kid_count = len(kids) - start
        for k in range(len(kids) - 1, start - 1, -1):
            fault = _child_fault(kids[k])
            if fault:
                raise NodeError(f"{item.path}[{k}]", fault)
            stack.append((kids[k], depth + 1, item, k, start, kid_count))


def expand(node: Any, where: str = "node") -> list[Any]:
    """The explicit form of one compact tree (tests and tools): a visitor's tree or the
    renderer's (whose frame documents sit in placeholders)."""
    return _expand([node], where, run=False)[0]


def expand_run(roots: list[Any], where: str = "nodes") -> list[list[Any]]:
    """The explicit form of a run of sibling trees (an add's ``nodes``)."""
    return _expand(roots, where, run=True)


def _expand(roots: list[Any], where: str, *, run: bool) -> list[list[Any]]:
    out: list[list[Any]] = []
    made: dict[Item, list[Any]] = {}
    for item in walk(roots, where, run=run, frames="placeholder"):
        if item.name == "#text":
            node: list[Any] = [item.id, "#text", item.text]
        elif item.name == "#comment":
            node = [item.id, "#comment", ""]
        elif item.name == "#doctype":
            node = [item.id, "#doctype", item.text]
        elif item.name in ("#document", "#shadow"):
            node = [item.id, item.name, []]
        else:
            node = [item.id, item.name, dict(item.attrs or {}), []]
        made[item] = node
        if item.parent is None:
            out.append(node)
        else:
            parent = made[item.parent]
            parent[-1].append(node)
    return out


def compact(node: list[Any]) -> Any:
    """The compact form of one explicit tree, ids left out wherever they follow on."""
    return compact_run([node])[0]


def compact_run(roots: list[list[Any]]) -> list[Any]:
    """The compact form of a run of explicit sibling trees (for an add's ``nodes``)."""
    prev = [-1]
    return [_compact(root, prev) for root in roots]


def _compact(root: list[Any], prev: list[int]) -> Any:
    # Iterative: (explicit node, the list its compact form goes into).
    holder: list[Any] = []
    stack: list[tuple[list[Any], list[Any]]] = [(root, holder)]
    while stack:
        node, into = stack.pop()
        node_id, name = node[0], node[1]
        implicit = node_id == prev[0] + 1
        prev[0] = node_id
        head: list[Any] = [] if implicit else [node_id]
        if name == "#text":
            indent = indentation_of(node[2]) if implicit else None
            if indent is not None:
                into.append(indent)
            else:
                into.append(node[2] if implicit else [node_id, "#text", node[2]])
            continue
        if name == "#comment":
            into.append([*head, "#comment"])
            continue
        if name == "#doctype":
            into.append([*head, "#doctype", node[2]])
            continue
        out = [*head, name]
        if name in ("#document", "#shadow"):
            kids = node[2]
        else:
            if node[2]:
                out.append(node[2])
            kids = node[3]
        into.append(out)
        stack.extend((kid, out) for kid in reversed(kids))
    return holder[0]
