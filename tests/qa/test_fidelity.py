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


def mostly_white_page() -> Image.Image:
    """Lines of text on white: a blank image differs from it in few pixels."""
    image = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(image)
    for y in range(40, 560, 60):
        draw.text((40, y), "Fjords & Lights, 8 days, Tromsø to Lofoten. " * 2, fill="black")
    return image


def test_a_blank_replica_of_a_mostly_white_page_scores_zero() -> None:
    visitor = mostly_white_page()
    blank = Image.new("RGB", visitor.size, "white")
    result = compare(visitor, blank)
    # The pixel mean alone says 0.98 or more (issue 16): the content says the agent sees nothing.
    assert result.blank == 1.0
    assert result.score == 0.0
    assert result.visitor_ink > 0 and result.replica_ink == 0.0
    assert "100% of the visitor's content blank" in str(result)


def test_a_half_blank_replica_is_reported_as_half_blank() -> None:
    visitor = mostly_white_page()
    replica = visitor.copy()
    ImageDraw.Draw(replica).rectangle((0, 300, 800, 600), fill="white")
    result = compare(visitor, replica)
    assert 0.4 <= result.blank <= 0.6
    assert result.score < 0.6
    assert result.blank_cells and all(top >= 300 for _, top, _, _ in result.blank_cells)


def test_content_on_a_dark_page_counts_against_its_own_background() -> None:
    visitor = Image.eval(mostly_white_page(), lambda v: 255 - v)  # white text on black
    assert compare(visitor, Image.new("RGB", visitor.size, "black")).blank == 1.0
    assert compare(visitor, visitor.copy()).blank == 0.0


def test_a_faithful_replica_leaves_nothing_blank() -> None:
    scaled = mostly_white_page().resize((600, 450), Image.Resampling.LANCZOS)
    result = compare(mostly_white_page(), scaled)
    assert result.blank == 0.0 and result.blank_cells == ()
    assert (
        compare(Image.new("RGB", (80, 60), "white"), Image.new("RGB", (80, 60), "white")).blank == 0
    )
