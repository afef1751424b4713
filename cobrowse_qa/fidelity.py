"""Visual fidelity: how closely the agent's replica looks like the visitor's page.

Owns: the similarity metric and the diff image, from two screenshots of the same viewport.
Must not: take screenshots or drive browsers (the plugin and the scenario runner do that, then
hand the images here), nor read anything but the two images it is given.

The metric (documented in ``docs/testing.md``, "QA harness"):

1. both images are converted to grayscale (``L``); the replica is resized to the visitor's
   size with a Lanczos filter (the agent's frame is usually scaled down to fit the workspace);
2. both are blurred with a Gaussian of radius ``blur`` (default 1.5 px), so sub-pixel font
   rendering, anti-aliasing and one-pixel layout shifts from the scaling cost little;
3. ``score = 1 - mean(|visitor - replica|) / 255``: 1.0 is identical, 0.0 is black against
   white everywhere. ``changed`` is the fraction of pixels whose blurred difference exceeds
   ``threshold`` (default 32 of 255): a page with one missing image has a high ``score`` but
   a visible ``changed``.

4. content (issue 16: a blank replica of a mostly white page scored 0.98 on pixels alone).
   A pixel is *ink* when its blurred gray differs by more than ``threshold`` from its image's
   background (the most common gray). The visitor's screenshot is cut in a ``GRID`` x ``GRID``
   grid; a cell holds content when at least ``MIN_CELL_INK`` of it is ink, and the replica
   leaves it blank when it has less than a tenth of the visitor's ink there. ``blank`` is the
   share of the visitor's ink that lies in cells the replica leaves blank (1.0: the agent sees
   nothing of what the visitor sees, 0.5: half of it), and the score is the pixel score times
   ``1 - blank``: a replica with no visible content where the visitor has some scores 0,
   whatever the pixel mean says.

The diff image is the visitor's screenshot, faded, with every changed pixel painted red in
proportion to its difference: open it next to the two screenshots to see what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageStat

DEFAULT_BLUR = 1.5
DEFAULT_THRESHOLD = 32
GRID = 8  # cells per side of the content grid
MIN_CELL_INK = 0.002  # a cell with less ink than this (of its pixels) holds no content


@dataclass(frozen=True)
class Fidelity:
    """The result of `compare`: ``score`` in 0..1 (1 = identical), ``diff`` an RGB image of
    the visitor's size, ``changed`` the fraction of pixels that differ visibly, ``blank`` the
    fraction of the visitor's content the replica leaves blank (its cells in ``blank_cells``,
    ``(left, top, right, bottom)`` in the visitor's pixels), ``visitor_ink`` and
    ``replica_ink`` the fraction of each screenshot that is content, not background."""

    score: float
    diff: Image.Image
    changed: float
    blank: float = 0.0
    blank_cells: tuple[tuple[int, int, int, int], ...] = ()
    visitor_ink: float = 0.0
    replica_ink: float = 0.0

    def __str__(self) -> str:
        text = f"score {self.score:.4f}, {self.changed:.2%} of pixels changed"
        if self.blank > 0:
            text += f", {self.blank:.0%} of the visitor's content blank in the replica"
        return text


def compare(
    visitor: Image.Image,
    replica: Image.Image,
    *,
    blur: float = DEFAULT_BLUR,
    threshold: int = DEFAULT_THRESHOLD,
) -> Fidelity:
    """Compare the visitor's screenshot with the replica's, scaled to the visitor's size.

    Both images should show the same viewport (the visitor's page at its scroll position,
    the replica frame's element screenshot). Sizes may differ; the aspect ratio should not
    (a different ratio is compared anyway, stretched, and scores low).
    """
    if visitor.width == 0 or visitor.height == 0:
        raise ValueError("the visitor's screenshot is empty")
    if replica.width == 0 or replica.height == 0:
        raise ValueError("the replica's screenshot is empty")
    size = visitor.size
    base = _flatten(visitor)
    other = _flatten(replica)
    if other.size != size:
        other = other.resize(size, Image.Resampling.LANCZOS)
    a = base.convert("L")
    b = other.convert("L")
    if blur > 0:
        a = a.filter(ImageFilter.GaussianBlur(blur))
        b = b.filter(ImageFilter.GaussianBlur(blur))
    difference = ImageChops.difference(a, b)
    mean = ImageStat.Stat(difference).mean[0]
    pixel_score = max(0.0, min(1.0, 1.0 - mean / 255.0))
    histogram = difference.histogram()
    pixels = size[0] * size[1]
    changed = sum(histogram[threshold + 1 :]) / pixels
    visitor_ink, replica_ink = _ink(a, threshold), _ink(b, threshold)
    content = _content_cells(visitor_ink)
    cells = _blank_cells(content, visitor_ink, replica_ink)
    # Weighted by the visitor's ink: a cell holding only a frame's border counts for little, a
    # cell full of text or a picture for much.
    total = sum(_share(visitor_ink, c) for c in content)
    blank = sum(_share(visitor_ink, c) for c in cells) / total if total else 0.0
    return Fidelity(
        score=pixel_score * (1.0 - blank),
        diff=_diff_image(base, difference, threshold),
        changed=changed,
        blank=blank,
        blank_cells=tuple(cells),
        visitor_ink=_share(visitor_ink, (0, 0, *size)),
        replica_ink=_share(replica_ink, (0, 0, *size)),
    )


def _ink(gray: Image.Image, threshold: int) -> Image.Image:
    """A mask (``L``, 255 = ink) of the pixels that stand out from the image's background,
    its most common gray."""
    histogram = gray.histogram()
    background = max(range(256), key=histogram.__getitem__)
    return gray.point(lambda v: 255 if abs(v - background) > threshold else 0)


def _cells(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    width, height = size
    return [
        (
            width * col // GRID,
            height * row // GRID,
            width * (col + 1) // GRID,
            height * (row + 1) // GRID,
        )
        for row in range(GRID)
        for col in range(GRID)
    ]


def _share(mask: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The fraction of ``box`` that is ink in ``mask``."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area <= 0:
        return 0.0
    return ImageStat.Stat(mask.crop(box)).sum[0] / 255.0 / area


def _content_cells(visitor_ink: Image.Image) -> list[tuple[int, int, int, int]]:
    return [c for c in _cells(visitor_ink.size) if _share(visitor_ink, c) >= MIN_CELL_INK]


def _blank_cells(
    content: list[tuple[int, int, int, int]], visitor_ink: Image.Image, replica_ink: Image.Image
) -> list[tuple[int, int, int, int]]:
    """The content cells where the replica has less than a tenth of the visitor's ink."""
    return [c for c in content if _share(replica_ink, c) < _share(visitor_ink, c) / 10]


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: a transparent screenshot must not compare as black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _diff_image(base: Image.Image, difference: Image.Image, threshold: int) -> Image.Image:
    faded = Image.blend(base, Image.new("RGB", base.size, (255, 255, 255)), 0.7)
    # Below the threshold nothing is painted; above it, red grows with the difference.
    strength = difference.point(lambda v: 0 if v <= threshold else min(255, 96 + v * 2))
    red = Image.new("RGB", base.size, (220, 0, 0))
    return Image.composite(red, faded, strength)
