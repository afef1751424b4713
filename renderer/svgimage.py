"""SVG images in CSS (``url("data:image/svg+xml,...")``: Bootstrap's checkboxes, selects,
accordions and close buttons, icon sets) rebuilt from what the policy allows, so the agent's
browser never parses the visitor's SVG bytes.

Owns: reading one ``data:image/svg+xml`` URL (percent-encoded or base64, at most
``MAX_SVG_BYTES``, no DOCTYPE or entity: refused before any parse), parsing it as XML, and
writing a fresh SVG document of the elements and attributes that ``renderer.policy`` allows
in the SVG namespace, minus everything an image has no use for and a document could misuse:
no element outside the SVG namespace, no ``script``, ``style``, ``foreignObject``, animation
element or ``a``; a URL attribute only as a ``#fragment``; CSS in attributes only without any
``url()`` but fragments (``policy.css_allowed`` with no origins and no data images). The result is
a ``data:image/svg+xml;base64,`` URL, or None to leave the ``url()`` empty. Pure functions, no
I/O; CPU-bound like ``renderer.images``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final
from urllib.parse import unquote_to_bytes
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from renderer import policy

MAX_SVG_BYTES: Final = 64 * 1024
MAX_SVG_ELEMENTS: Final = 2000
SVG_URI: Final = "http://www.w3.org/2000/svg"
XLINK_URI: Final = "http://www.w3.org/1999/xlink"
XML_URI: Final = "http://www.w3.org/XML/1998/namespace"
# Never in an image of ours, though allowed inline in a replica.
DROPPED: Final = frozenset(
    {"script", "style", "foreignObject", "a", "animate", "animateMotion", "animateTransform", "set"}
)
TEXT_ELEMENTS: Final = frozenset({"text", "tspan", "textPath", "title", "desc"})
_DATA_RE: Final = re.compile(r"^data:image/svg\+xml((?:;[^,;]*)*),(.*)$", re.IGNORECASE | re.DOTALL)


def _bytes_of(url: str) -> bytes | None:
    m = _DATA_RE.match(url.strip())
    if not m:
        return None
    params = [p.strip().lower() for p in m.group(1).split(";") if p.strip()]
    body = m.group(2)
    try:
        if "base64" in params:
            return base64.b64decode(
                re.sub(r"\s", "", unquote_to_bytes(body).decode("ascii")), validate=True
            )
        return unquote_to_bytes(body)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def sanitize_data_url(url: str) -> str | None:
    """A fresh ``data:image/svg+xml;base64,`` URL of what may stay of the SVG image in ``url``,
    or None when nothing may (not an SVG data URL, too big, not well-formed, not an ``svg``
    root)."""
    raw = _bytes_of(url)
    if raw is None or not raw or len(raw) > MAX_SVG_BYTES:
        return None
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        return None  # no DTD, so no entity can expand
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 - no DTD (checked above), bounded size
    except (ElementTree.ParseError, ValueError):
        return None
    if root.tag != f"{{{SVG_URI}}}svg":
        return None
    count = [0]
    out = _element(root, count)
    if out is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(out.encode("utf-8")).decode("ascii")


def _element(el: ElementTree.Element, count: list[int]) -> str | None:
    count[0] += 1
    if count[0] > MAX_SVG_ELEMENTS or not el.tag.startswith(f"{{{SVG_URI}}}"):
        return None
    name = el.tag[len(SVG_URI) + 2 :]
    if name in DROPPED or not policy.element_allowed(name, policy.SVG_NS):
        return None
    attrs = [_attribute(name, key, value) for key, value in el.attrib.items()]
    kept = "".join(f" {a}" for a in attrs if a)
    if name == "svg" and count[0] == 1:
        kept = f' xmlns="{SVG_URI}" xmlns:xlink="{XLINK_URI}"' + kept
    parts: list[str] = []
    if el.text and name in TEXT_ELEMENTS:
        parts.append(escape(el.text))
    for child in el:
        inner = _element(child, count)
        if inner is not None:
            parts.append(inner)
        if child.tail and name in TEXT_ELEMENTS:
            parts.append(escape(child.tail))
    return f"<{name}{kept}>{''.join(parts)}</{name}>"


def _attribute(tag: str, key: str, value: str) -> str | None:
    if key.startswith(f"{{{XLINK_URI}}}"):
        name = "xlink:" + key[len(XLINK_URI) + 2 :]
    elif key.startswith(f"{{{XML_URI}}}"):
        name = "xml:" + key[len(XML_URI) + 2 :]
    elif key.startswith("{"):
        return None
    else:
        name = key
    if name in policy.URL_ATTRS:
        if not value.strip().startswith("#"):
            return None
    elif name == "style" or "url(" in value.lower():
        if not policy.css_allowed(value, (), declarations=True, data_images=False):
            return None
    if not policy.attribute_allowed(tag, name, value, policy.SVG_NS, ()):
        return None
    return f"{name}={quoteattr(value)}"
