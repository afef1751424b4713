"""The compact node form's reference reader (relay.nodes) against the golden cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay import nodes

CASES = json.loads((Path(__file__).parent / "fixtures" / "nodes.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES["valid"], ids=lambda c: c["name"])
def test_valid_cases_decode_to_their_explicit_form(case: dict[str, Any]) -> None:
    if case["run"]:
        assert nodes.expand_run(case["compact"]) == case["explicit"]
        # Writing the explicit form again and reading it back gives the same tree.
        assert nodes.expand_run(nodes.compact_run(case["explicit"])) == case["explicit"]
    else:
        assert nodes.expand(case["compact"]) == case["explicit"]
        assert nodes.expand(nodes.compact(case["explicit"])) == case["explicit"]


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda c: c["name"])
def test_invalid_cases_are_refused_with_their_reason(case: dict[str, Any]) -> None:
    with pytest.raises(nodes.NodeError) as refused:
        if case["run"]:
            nodes.expand_run(case["compact"])
        else:
            nodes.expand(case["compact"])
    assert refused.value.message == case["error"]


def test_the_writer_leaves_out_every_id_that_follows_on() -> None:
    explicit = [
        1,
        "#document",
        [
            [
                2,
                "html",
                {},
                [
                    [
                        3,
                        "body",
                        {"class": "b"},
                        [
                            [4, "#text", "Hi "],
                            [5, "b", {}, [[6, "#text", "you"]]],
                            [9, "#text", "!"],
                        ],
                    ]
                ],
            ]
        ],
    ]
    assert nodes.compact(explicit) == [
        1,
        "#document",
        ["html", ["body", {"class": "b"}, "Hi ", ["b", "you"], [9, "#text", "!"]]],
    ]


def test_a_path_names_where_the_fault_is() -> None:
    with pytest.raises(nodes.NodeError) as refused:
        nodes.expand([1, "#document", ["html", ["body", "ok", 7]]], "doc")
    assert refused.value.path == "doc[2][1][2]"


# Explicit trees with arbitrary ids (unique, increasing in preorder as the tag makes them, or
# not): compact() then expand() must give the same tree back.
_text = st.text(max_size=5)
_name = st.sampled_from(["div", "p", "b", "svg"])


@st.composite
def _trees(draw: Any, depth: int = 0) -> list[Any]:
    node_id = draw(st.integers(1, 2**53 - 1))
    if depth > 3 or draw(st.booleans()):
        return [node_id, "#text", draw(_text)]
    attrs = draw(st.dictionaries(st.sampled_from(["class", "id", "href"]), _text, max_size=2))
    kids = draw(st.lists(_trees(depth + 1), max_size=3))
    return [node_id, draw(_name), attrs, kids]


@settings(max_examples=200, deadline=None)
@given(st.lists(_trees(), min_size=1, max_size=3))
def test_compact_then_expand_is_the_identity(run: list[Any]) -> None:
    assert nodes.expand_run(nodes.compact_run(run)) == run
