"""The protocol's compact node form: reading it, checking its shape, and (for tools and tests)
converting it to and from the explicit form.

Owns: the grammar of a node tree on the wire (``docs/protocol.md``, "Nodes"). The same grammar is
read by ``renderer/sanitizer.js``, ``relay/static/replica.js`` and the tag's test harness, and
written by ``tag_js/tag.js`` and the sanitizer; the golden cases in ``tests/fixtures/nodes.json``
keep all of them in agreement.
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
from typing import Any, Final

MAX_ID: Final = 2**53 - 1  # ids must stay exact in JavaScript
MAX_INDENT: Final = 1024  # an indentation child stands for at most 1 + 1024 characters


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


KINDS: Final = frozenset({"#text", "#comment", "#doctype", "#document", "#shadow"})


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


def walk(
    roots: list[Any], where: str, *, max_depth: int = 1024, run: bool = True
) -> Iterator[Item]:
    """Every node of ``roots`` (a run of sibling trees: an add's ``nodes``, or ``[doc]``) in
    preorder, with ids resolved. Raises ``NodeError`` at the first fault. ``run=False``: one
    tree, whose paths start at ``where`` itself rather than ``where[0]``.

    The caller may stop early; nothing is built but the ``Item`` of each node."""
    prev: int | None = None
    stack: list[tuple[Any, int, Item | None, int]] = [
        (root, 1, None, i) for i, root in reversed(list(enumerate(roots)))
    ]
    while stack:
        value, depth, parent, index = stack.pop()
        at = where if parent is not None or not run else f"{where}[{index}]"
        read = _read(value) if depth <= max_depth else f"nested deeper than {max_depth}"
        if isinstance(read, str):
            raise NodeError(_at(parent, index, at), read)
        node_id, name, attrs, text, kids, start = read
        if not node_id:
            if prev is None:
                raise NodeError(
                    _at(parent, index, at),
                    "the first node of a tree must carry its id",
                )
            node_id = prev + 1
            if node_id > MAX_ID:
                raise NodeError(_at(parent, index, at), "node id beyond 2**53-1")
        prev = node_id
        item = Item(node_id, name, attrs, text, depth, parent, index, at)
        yield item
        for k in range(len(kids) - 1, start - 1, -1):
            fault = _child_fault(kids[k])
            if fault:
                raise NodeError(f"{item.path}[{k}]", fault)
            stack.append((kids[k], depth + 1, item, k))


def expand(node: Any, where: str = "node") -> list[Any]:
    """The explicit form of one compact tree (tests and tools)."""
    return _expand([node], where, run=False)[0]


def expand_run(roots: list[Any], where: str = "nodes") -> list[list[Any]]:
    """The explicit form of a run of sibling trees (an add's ``nodes``)."""
    return _expand(roots, where, run=True)


def _expand(roots: list[Any], where: str, *, run: bool) -> list[list[Any]]:
    out: list[list[Any]] = []
    made: dict[Item, list[Any]] = {}
    for item in walk(roots, where, run=run):
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
