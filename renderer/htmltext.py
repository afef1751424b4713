"""Sanitized node trees as HTML text (for ``cobrowse sanitize`` and the tests).

Pure functions. The input must already be sanitizer output, in the protocol's compact node
form: this module escapes text and attribute values correctly but does not judge what it is
given. Namespaces are inferred exactly as the protocol (and sanitizer.js) does, so the text
re-parses to the same tree.
"""

from __future__ import annotations

from typing import Any, Final

from wire import nodes

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


def _child_ns(parent_ns: str, parent_tag: str, tag: str) -> str:
    ns = "html" if parent_ns == "svg" and parent_tag == "foreignObject" else parent_ns
    if ns == "html":
        return {"svg": "svg", "math": "math"}.get(tag, "html")
    return ns


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
    # Stack items: a node with its namespace and parent (ns, tag), or a closing tag string.
    stack: list[tuple[Any, str, str] | str] = [(nodes.expand(doc, "doc"), "html", "")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node, parent_ns, parent_tag = item
        kind = node[1]
        if kind == "#document":
            stack.extend((child, "html", "") for child in reversed(node[2]))
        elif kind == "#shadow":
            # An open shadow root, in HTML's own spelling of one (declarative shadow DOM).
            parts.append('<template shadowrootmode="open">')
            stack.append("</template>")
            stack.extend((child, "html", "") for child in reversed(node[2]))
        elif kind == "#doctype":
            parts.append("<!DOCTYPE html>")
        elif kind == "#comment":
            parts.append("<!---->")
        elif kind == "#text":
            text = node[2]
            if parent_ns == "html" and parent_tag == "style":
                # Raw text: nothing is escaped by the parser, so no "</" may appear.
                parts.append(text.replace("</", "<\\/"))
            else:
                parts.append(_escape_text(text))
        else:
            tag, attrs, children = kind, node[2], node[3]
            ns = _child_ns(parent_ns, parent_tag, tag)
            parts.append(f"<{tag}{_attrs(tag, attrs)}>")
            if ns == "html" and tag in VOID:
                continue
            stack.append(f"</{tag}>")
            if ns == "html" and tag == "textarea" and ":value" in attrs:
                parts.append(_escape_text(attrs[":value"]))
                continue
            stack.extend((child, ns, tag) for child in reversed(children))
    return "".join(parts)
