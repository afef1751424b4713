"""Findings about boxes, from measured pairs (no browser): a frame, canvas or plugin object the
agent sees in another box than the visitor's is named; an iframe's default border is not."""

from __future__ import annotations

from cobrowse_check.boxes import Box, BoxPair
from cobrowse_check.findings import Evidence, canvas_boxes, frame_boxes, plugin_boxes
from cobrowse_check.model import PageReport
from cobrowse_check.nodes import NodeIndex


def evidence(*pairs: BoxPair) -> Evidence:
    return Evidence(probe={}, index=NodeIndex(), https=False, boxes=list(pairs))


def test_a_frame_within_the_tolerance_passes_and_one_sized_by_css_is_named() -> None:
    report = PageReport("http://example.test/")
    bordered = BoxPair("iframe", "iframe#help", Box(8, 8, 404, 154), Box(8, 8, 400, 150), "iframe")
    assert frame_boxes(report, evidence(bordered)).status == "pass"
    sized = BoxPair(
        "iframe", "iframe#sized", Box(8, 8, 562, 262), Box(8, 8, 300, 150), "iframe", nested=True
    )
    finding = frame_boxes(report, evidence(bordered, sized))
    assert finding.status == "warning"
    assert finding.culprits == [
        "iframe#sized: 562x262 for the visitor, its content drawn in 300x150 for the agent"
    ]


def test_a_canvas_without_a_box_for_the_agent_is_named_and_an_invisible_one_is_not() -> None:
    report = PageReport("http://example.test/")
    hidden = BoxPair("canvas", "canvas#probe", Box(0, 0, 0, 0), Box(0, 0, 0, 0))
    assert canvas_boxes(report, evidence(hidden)).status == "pass"
    sky = BoxPair("canvas", "canvas#sky", Box(8, 300, 480, 160), Box(8, 300, 0, 0))
    assert canvas_boxes(report, evidence(hidden, sky)).culprits == [
        "canvas#sky: 480x160 for the visitor, no box for the agent"
    ]


def test_stacked_plugin_placeholders_are_named_side_by_side_ones_are_not() -> None:
    report = PageReport("http://example.test/")
    left = BoxPair("embed", "embed#a", Box(0, 0, 200, 100), Box(0, 0, 200, 100), "plugin object")
    right = BoxPair("object", "object#b", Box(210, 0, 200, 100), Box(210, 0, 200, 100))
    assert plugin_boxes(report, evidence(left, right)).status == "pass"
    over = BoxPair("object", "object#c", Box(50, 20, 200, 100), Box(50, 20, 200, 100))
    finding = plugin_boxes(report, evidence(left, right, over))
    assert finding.status == "warning"
    assert "embed#a and object#c: placeholders stacked on each other" in finding.culprits
    assert not any("object#b and" in c for c in finding.culprits)
