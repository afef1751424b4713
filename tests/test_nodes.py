"""The compact node form's reference reader (wire.nodes) against the golden cases."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from wire import nodes

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
        nodes.expand([1, "#document", ["html", ["body", "ok", 7.5]]], "doc")
    assert refused.value.path == "doc[2][1][2]"


# Explicit trees with arbitrary ids (increasing in preorder as the tag makes them, or not),
# indentation-like and other text: compact() then expand() gives the same tree back. Seeded,
# so a failure names its seed.
def _tree(rng: random.Random, depth: int = 0, used: set[int] | None = None) -> list[Any]:
    used = set() if used is None else used
    node_id = rng.choice([rng.randint(1, 50), rng.randint(1, 2**53 - 1)])
    while node_id in used:  # ids are unique within a message
        node_id += 1
    used.add(node_id)
    if depth > 3 or rng.random() < 0.4:
        text = rng.choice(["", "x", " ", "\n", "\n    ", "\n\t\t", "\n \t", "a\nb"])
        return [node_id, "#text", text]
    attrs = {k: rng.choice(["", "v", "/p/1"]) for k in rng.sample(["class", "id", "href"], 2)}
    if rng.random() < 0.5:
        attrs = {}
    kids = [_tree(rng, depth + 1, used) for _ in range(rng.randint(0, 3))]
    return [node_id, rng.choice(["div", "p", "b", "svg"]), attrs, kids]


def _sequential(node: list[Any], counter: list[int]) -> list[Any]:
    """The same tree with ids 1, 2, 3... in preorder, as a fresh page gets them."""
    counter[0] += 1
    node = [counter[0], *node[1:]]
    if node[1] != "#text":
        node[-1] = [_sequential(kid, counter) for kid in node[-1]]
    return node


def test_compact_then_expand_is_the_identity() -> None:
    for seed in range(300):
        rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        used: set[int] = set()
        run = [_tree(rng, 0, used) for _ in range(rng.randint(1, 3))]
        assert nodes.expand_run(nodes.compact_run(run)) == run, f"seed {seed}"
        fresh = [_sequential(root, [0]) for root in run[:1]]
        compact = nodes.compact_run(fresh)
        assert nodes.expand_run(compact) == fresh, f"seed {seed}"
        kids = _children(compact[0])
        explicit = [k for k in kids if isinstance(k, list) and isinstance(k[0], int)]
        assert not explicit, f"seed {seed}: only the root of a fresh tree carries its id"


def _children(node: Any) -> list[Any]:
    out: list[Any] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            head = 2 if isinstance(item[0], int) else 1  # [id?, name, ...]
            kids = [k for k in item[head:] if not isinstance(k, dict)]
            out.extend(kids)
            stack.extend(k for k in kids if isinstance(k, list))
    return out
