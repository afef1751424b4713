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

The diff image is the visitor's screenshot, faded, with every changed pixel painted red in
proportion to its difference: open it next to the two screenshots to see what differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter, ImageStat

DEFAULT_BLUR = 1.5
DEFAULT_THRESHOLD = 32


@dataclass(frozen=True)
class Fidelity:
    """The result of `compare`: ``score`` in 0..1 (1 = identical), ``diff`` an RGB image of
    the visitor's size, ``changed`` the fraction of pixels that differ visibly."""

    score: float
    diff: Image.Image
    changed: float

    def __str__(self) -> str:
        return f"score {self.score:.4f}, {self.changed:.2%} of pixels changed"


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
    score = max(0.0, min(1.0, 1.0 - mean / 255.0))
    histogram = difference.histogram()
    pixels = size[0] * size[1]
    changed = sum(histogram[threshold + 1 :]) / pixels
    return Fidelity(score=score, diff=_diff_image(base, difference, threshold), changed=changed)


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
