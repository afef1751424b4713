"""Sanitized node trees as HTML text (for ``cobrowse sanitize`` and the tests).

Pure functions. The input must already be sanitizer output, in the protocol's compact node
form: this module escapes text and attribute values correctly but does not judge what it is
given. Namespaces come from the one rule every reader uses (``wire.grammar.child_namespace``,
the HTML parser's own), so the text re-parses to the same tree.
"""

from __future__ import annotations

from typing import Any, Final

from wire import grammar, nodes

VOID: Final = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _attrs(tag: str, attrs: dict[str, str]) -> str:
    out: list[str] = []
    for name, value in attrs.items():
        if name.startswith(":"):
            # State entries become what the agent's replica shows.
            if name == ":value" and tag == "input":
                out.append(f' value="{_escape_attr(value)}"')
            elif name in (":checked", ":selected"):
                out.append(f" {name[1:]}")
            elif name == ":masked":
                out.append(f' data-cobrowse-masked="{_escape_attr(value)}"')
            continue
        if name == "value" and tag == "input" and ":value" in attrs:
            continue
        out.append(f' {name}="{_escape_attr(value)}"')
    return "".join(out)


def to_html(doc: Any) -> str:
    """HTML text for a sanitized ``#document`` (or any) node in the compact form, iteratively
    (any depth). Raises ``wire.nodes.NodeError`` if ``doc`` breaks the grammar."""
    parts: list[str] = []
    # Stack items: a node with its parent's namespace (None: a document or shadow root), tag
    # and attributes, or a closing tag string.
    Parent = tuple[str | None, str, dict[str, str]]
    stack: list[tuple[Any, Parent] | str] = [(nodes.expand(doc, "doc"), (None, "", {}))]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node, parent = item
        kind = node[1]
        if kind == "#document":
            stack.extend((child, (None, "", {})) for child in reversed(node[2]))
        elif kind == "#shadow":
            # An open shadow root, in HTML's own spelling of one (declarative shadow DOM).
            parts.append('<template shadowrootmode="open">')
            stack.append("</template>")
            stack.extend((child, (None, "", {})) for child in reversed(node[2]))
        elif kind == "#doctype":
            parts.append("<!DOCTYPE html>")
        elif kind == "#comment":
            parts.append("<!---->")
        elif kind == "#text":
            text = node[2]
            if parent[0] == grammar.HTML and parent[1] == "style":
                # Raw text: nothing is escaped by the parser, so no "</" may appear.
                parts.append(text.replace("</", "<\\/"))
            else:
                parts.append(_escape_text(text))
        else:
            tag, attrs, children = kind, node[2], node[3]
            ns = grammar.child_namespace(*parent, tag)
            parts.append(f"<{tag}{_attrs(tag, attrs)}>")
            if ns == "html" and tag in VOID:
                continue
            stack.append(f"</{tag}>")
            if ns == "html" and tag == "textarea" and ":value" in attrs:
                parts.append(_escape_text(attrs[":value"]))
                continue
            stack.extend((child, (ns, tag, attrs)) for child in reversed(children))
    return "".join(parts)
