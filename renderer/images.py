"""Re-encoding of data: raster images, so the agent's browser never decodes visitor bytes.

The in-browser sanitizer keeps ``data:image/{png,jpeg,gif,webp};base64,...`` only where an
image URL is allowed: attribute values, and ``url()`` in ``style`` attributes and ``<style>``
text; this module decodes each with Pillow under size caps and encodes a fresh image (PNG, or
JPEG for JPEG input). Anything Pillow cannot read, or that is too big, is dropped (in CSS, its
``url()`` is left empty). Pure functions, no I/O; call them off the event loop (CPU-bound).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterator
from typing import Any, Final

from PIL import Image

from renderer import css, policy, svgimage

MAX_IMAGE_BYTES: Final = 2 * 1024 * 1024  # encoded bytes of one data: image
MAX_IMAGE_PIXELS: Final = 4096 * 4096  # width * height, checked before decoding pixels

_DATA_RE: Final = re.compile(
    r"^data:(image/[a-z]+);base64,([A-Za-z0-9+/= \f\t\n\r]*)$", re.IGNORECASE
)
_FORMATS: Final = {"PNG", "JPEG", "GIF", "WEBP"}


def reencode(
    url: str, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> str | None:
    """A freshly encoded data: URL for the image in ``url``, or None to drop it."""
    m = _DATA_RE.match(url.strip())
    if not m:
        return None
    try:
        raw = base64.b64decode(re.sub(r"\s", "", m.group(2)), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) > max_bytes:
        return None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in _FORMATS or image.width * image.height > max_pixels:
                return None
            image.load()
            out = io.BytesIO()
            if image.format == "JPEG":
                image.convert("RGB").save(out, format="JPEG", quality=85)
                mime = "image/jpeg"
            else:
                # GIF/WebP animations keep their first frame only.
                mode = image.mode if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA") else "RGBA"
                image.convert(mode).save(out, format="PNG")
                mime = "image/png"
    except Exception:  # any decoder failure on hostile bytes: drop the image, never crash
        return None
    return f"data:{mime};base64,{base64.b64encode(out.getvalue()).decode('ascii')}"


def reencode_css(text: str) -> str:
    """Sanitized CSS with each ``data:`` image ``url()`` re-encoded (``url()`` when it cannot
    be); every other byte as it was."""
    if "data:" not in text.lower():
        return text
    text = css.preprocess(text)
    out: list[str] = []
    at = 0
    for start, end, target, where in css.each_target(text):
        if where == "import":
            continue
        if target.lstrip(css.URL_SPACE)[:5].lower() != "data:":
            continue
        fresh = (
            svgimage.sanitize_data_url(target) if policy.css_svg_image(target) else reencode(target)
        )
        out.append(text[at:start])
        out.append("url()" if fresh is None else f"url({fresh})")
        at = end
    out.append(text[at:])
    return "".join(out)


def _is_data(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip()[:5].lower() == "data:"


def _has_css_data(value: Any) -> bool:
    return isinstance(value, str) and "data:" in value.lower()


def attribute_has_data(name: str, value: Any) -> bool:
    """Whether a sanitized attribute value may hold a data: image to re-encode: a URL
    attribute's value that is one, or a ``style`` that names one (quick scan, no decoding)."""
    return _has_css_data(value) if name == "style" else _is_data(value)


def reencode_attribute(name: str, value: str) -> str | None:
    """A sanitized attribute value with its data: images re-encoded; None to remove it (a URL
    attribute whose image cannot be; a ``style`` only loses the ``url()``)."""
    return reencode_css(value) if name == "style" else reencode(value)


def _style_texts(nodes: Any) -> Iterator[tuple[list[Any], int]]:
    """``(node, index)`` of the text child of every ``style`` element of a tree (or run)."""
    stack = [nodes]
    while stack:
        node = stack.pop()
        first = 1 if node and isinstance(node[0], int) else 0
        is_style = len(node) > first and node[first] == "style"
        for index, value in enumerate(node):
            if isinstance(value, list):
                if is_style and len(value) == 3 and value[1] == "#text":
                    yield value, 2
                else:
                    stack.append(value)
            elif is_style and index > first and isinstance(value, str):
                yield node, index


def _attribute_objects(nodes: Any) -> Iterator[tuple[list[Any], dict[str, str]]]:
    """Every element of a sanitized tree in the compact node form, or of a run of them (an
    add's ``nodes``), that has an attributes object, with that object. In that form an object
    only ever is an element's attributes and an array only ever a node, so no more of the
    grammar is needed (``wire.nodes``)."""
    stack = [nodes]
    while stack:
        node = stack.pop()
        for value in node:
            if isinstance(value, list):
                stack.append(value)
            elif isinstance(value, dict):
                yield node, value


def has_data_images(nodes: Any) -> bool:
    """Whether any attribute or style text of the tree (or run) may hold a data: URL (quick
    scan, no decoding)."""
    return any(
        attribute_has_data(k, v) for _, attrs in _attribute_objects(nodes) for k, v in attrs.items()
    ) or any(_has_css_data(node[i]) for node, i in _style_texts(nodes))


def reencode_tree(nodes: Any) -> None:
    """Re-encode (or remove) every data: attribute value of a sanitized tree (or run of trees,
    in the compact node form), in place."""
    for node, i in _style_texts(nodes):
        if _has_css_data(node[i]):
            node[i] = reencode_css(node[i])
    emptied: list[tuple[list[Any], dict[str, str]]] = []
    for node, attrs in _attribute_objects(nodes):
        for name, value in list(attrs.items()):
            if attribute_has_data(name, value):
                fresh = reencode_attribute(name, value)
                if fresh is None:
                    del attrs[name]
                else:
                    attrs[name] = fresh
        if not attrs:
            emptied.append((node, attrs))
    # The writer leaves an empty attributes object out: so do we (sanitizing again must give
    # the same bytes).
    for node, attrs in emptied:
        node.remove(attrs)
