"""The fidelity score: identical images score 1, scaling costs little, a missing block shows."""

from __future__ import annotations

from PIL import Image, ImageDraw

from cobrowse_qa.fidelity import compare


def page(missing_block: bool = False) -> Image.Image:
    image = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 380, 60), fill=(30, 60, 120))
    for y in range(90, 280, 20):
        draw.text((20, y), "Fjords & Lights, 8 days, Tromsø to Lofoten", fill="black")
    if not missing_block:
        draw.rectangle((250, 100, 380, 200), fill=(230, 120, 40))
    return image


def test_identical_screenshots_score_one_with_an_empty_diff() -> None:
    result = compare(page(), page())
    assert result.score == 1.0
    assert result.changed == 0.0
    assert result.diff.size == (400, 300)


def test_a_scaled_replica_still_scores_high() -> None:
    replica = page().resize((300, 225), Image.Resampling.LANCZOS)
    assert compare(page(), replica).score > 0.98


def test_a_missing_block_lowers_the_score_and_is_painted_red() -> None:
    result = compare(page(), page(missing_block=True))
    assert result.score < 0.97
    assert 0.05 < result.changed < 0.2
    red = result.diff.getpixel((315, 150))
    assert isinstance(red, tuple) and red[0] > 150 and red[1] < 80


def test_transparent_screenshots_compare_as_on_white() -> None:
    clear = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    assert compare(clear, Image.new("RGB", (50, 50), "white")).score == 1.0
