"""The message table: golden valid and invalid messages, limits, and what /protocol.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wire import protocol
from wire.errors import ProtocolError

FIXTURES = Path(__file__).parent / "fixtures" / "messages"


def _cases(kind: str) -> list[Any]:
    files = sorted((FIXTURES / kind).glob("*.json"))
    assert files, f"no {kind} fixtures"
    return [pytest.param(json.loads(f.read_text(encoding="utf-8")), id=f.stem) for f in files]


def _frame(case: dict[str, Any]) -> str:
    return case["frame"] if "frame" in case else json.dumps(case["message"])


@pytest.mark.parametrize("case", _cases("valid"))
def test_golden_valid_messages_decode_and_round_trip(case: dict[str, Any]) -> None:
    message = protocol.decode(_frame(case), case["sender"])
    assert message.type == case["message"]["type"]
    assert json.loads(message.to_json()) == case["message"]


@pytest.mark.parametrize("case", _cases("invalid"))
def test_golden_invalid_messages_are_refused_with_their_code(case: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.decode(_frame(case), case["sender"])
    assert refused.value.code == case["code"]
    assert refused.value.fault == "client"
    if "error" in case:  # what the fixture is about, not merely some fault
        assert case["error"] in refused.value.message


def test_node_limits_are_enforced_without_recursion() -> None:
    limits = protocol.MessageLimits(max_depth=50, max_nodes=1000)
    deep: list[Any] = ["div"]
    node = deep
    for _ in range(200_000):  # far deeper than Python's recursion allows: the check is iterative
        child: list[Any] = ["div"]
        node.append(child)
        node = child
    doc = [1, "#document", deep]
    with pytest.raises(ProtocolError, match=r"doc\[2\](\[1\])+: nested deeper than 50"):
        protocol.check_node(doc, "doc", limits)
    wide = [1, "#document", *(["x"] * 1100)]
    with pytest.raises(ProtocolError, match="more than 1000 nodes"):
        protocol.check_node(wide, "doc", limits)


def _mutations(adds: list[Any]) -> str:
    body = {
        "v": 1,
        "type": "dom.mutations",
        "session": "s1",
        "seq": 1,
        "adds": adds,
        "removes": [],
        "attrs": [],
        "texts": [],
    }
    return json.dumps(body)


def test_an_add_carries_a_run_of_siblings_whose_ids_count_on() -> None:
    run = [[20, "li", "one"], ["li", "two"], "\n"]
    message = protocol.decode(_mutations([{"parent": 5, "next": None, "nodes": run}]), "visitor")
    tops = protocol.check_nodes(message.body["adds"][0]["nodes"], "nodes", protocol.MessageLimits())
    assert [(t.id, t.name) for t in tops] == [(20, "li"), (22, "li"), (24, "#text")]


@pytest.mark.parametrize(
    ("add", "error"),
    [
        ({"parent": 5, "next": None, "node": [20, "p"]}, "must be {parent, next, nodes}"),
        ({"parent": 5, "next": None, "nodes": []}, "non-empty array of nodes"),
        ({"parent": 5, "next": None, "nodes": ["text first"]}, "must carry its id"),
        ({"parent": 5, "next": None, "nodes": [[20, "p"], [9, "#document"]]}, "add a document"),
        (
            {"parent": 5, "next": None, "nodes": [[20, "p", {"a": "1"}, {"b": "2"}]]},
            "attributes must directly follow",
        ),
        (
            {"parent": 5, "next": None, "nodes": [[20, "p", [[21, "#text", "old"]]]]},
            "a node is a string or [id?, name, ...]",
        ),
    ],
)
def test_malformed_adds_are_refused_with_the_reason(add: dict[str, Any], error: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        protocol.decode(_mutations([add]), "visitor")
    assert refused.value.code == "invalid"
    assert error in refused.value.message


def test_a_very_deep_json_frame_is_bad_json_not_a_crash() -> None:
    frame = '{"v":1,"type":"chat.send","text":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ProtocolError) as refused:
        protocol.decode(frame, "visitor")
    assert refused.value.code in {"bad_json", "invalid"}


def test_describe_lists_every_message_with_its_senders() -> None:
    table = protocol.describe()
    assert table["v"] == protocol.PROTOCOL_VERSION
    assert set(table["messages"]) == set(protocol.MESSAGES)
    assert table["messages"]["act.click"]["from"] == ["agent", "relay"]
    assert table["messages"]["invite.send"]["fields"]["mode"]["choices"] == ["view_only", "shared"]


def test_every_documented_message_type_is_in_the_table() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")
    for name in protocol.MESSAGES:
        assert f"`{name}`" in doc, f"{name} is not documented in docs/protocol.md"


NODE_CASES = json.loads((Path(__file__).parent / "fixtures" / "nodes.json").read_text("utf-8"))


@pytest.mark.parametrize("case", NODE_CASES["invalid"], ids=lambda c: c["name"])
def test_every_invalid_golden_tree_is_refused_at_the_door(case: dict[str, Any]) -> None:
    """The relay's reader refuses what the sanitizer would (docs/protocol.md, "Structural
    rules"): as a snapshot's doc, or a run as an add's nodes, the answer is ``invalid`` with the
    grammar's words, before any renderer sees it."""
    if case["run"]:
        frame = _mutations([{"parent": 5, "next": None, "nodes": case["compact"]}])
    else:
        frame = json.dumps(
            {
                "v": 1,
                "type": "dom.snapshot",
                "session": "s1",
                "seq": 0,
                "url": "https://shop.example/",
                "title": "t",
                "viewport": {"w": 800, "h": 600, "dpr": 1},
                "doc": case["compact"],
            }
        )
    with pytest.raises(ProtocolError) as refused:
        protocol.decode(frame, "visitor")
    assert refused.value.code == "invalid"
    assert case["error"] in refused.value.message


def test_an_id_twice_in_one_batch_is_refused_even_across_adds() -> None:
    adds = [
        {"parent": 5, "next": None, "nodes": [[20, "p", "one"]]},
        {"parent": 6, "next": None, "nodes": [[21, "p", "two"]]},  # its text is 22, then 21
    ]
    with pytest.raises(ProtocolError, match="duplicate node id 21"):
        protocol.decode(_mutations(adds), "visitor")
    adds[1]["nodes"] = [[30, "p", "two"]]
    assert protocol.decode(_mutations(adds), "visitor").type == "dom.mutations"
