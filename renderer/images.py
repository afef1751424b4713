"""Re-encoding of data: raster images, so the agent's browser never decodes visitor bytes.

The in-browser sanitizer keeps ``data:image/{png,jpeg,gif,webp};base64,...`` only where an
image URL is allowed; this module decodes each with Pillow under size caps and encodes a
fresh image (PNG, or JPEG for JPEG input). Anything Pillow cannot read, or that is too big,
is dropped. Pure functions, no I/O; call them off the event loop (they are CPU-bound).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterator
from typing import Any, Final

from PIL import Image

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


def _is_data(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip()[:5].lower() == "data:"


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
    """Whether any attribute of the tree (or run) holds a data: URL (quick scan, no decoding)."""
    return any(_is_data(v) for _, attrs in _attribute_objects(nodes) for v in attrs.values())


def reencode_tree(nodes: Any) -> None:
    """Re-encode (or remove) every data: attribute value of a sanitized tree (or run of trees,
    in the compact node form), in place."""
    emptied: list[tuple[list[Any], dict[str, str]]] = []
    for node, attrs in _attribute_objects(nodes):
        for name, value in list(attrs.items()):
            if _is_data(value):
                fresh = reencode(value)
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
