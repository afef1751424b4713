"""The workspace's parts join as relay/static/workspace/core.js says (no browser): agent.html
loads every part after replica.js, core first and start last; each name a part reads from the
shared object (`workspace`, window.CobrowseWorkspace) is put there by exactly one part; and a
part copies into a local variable only what an earlier part has put there."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "relay" / "static"
PARTS = STATIC / "workspace"
PUT = re.compile(r"^  workspace\.([\w$]+) = ", flags=re.M)
READ = re.compile(r"\bworkspace\.([\w$]+)(?![\w$])(?! = )")
COPY = re.compile(r"^  var [\w$]+ = workspace\.([\w$]+);", flags=re.M)


def loaded_parts() -> list[str]:
    html = (STATIC / "agent.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script src="/static/([^"]+)" defer></script>', html)
    after = scripts[scripts.index("replica.js") + 1 :]
    return [s.removeprefix("workspace/") for s in after if s.startswith("workspace/")]


def code(name: str) -> str:
    """A part without its comments (they name workspace.names in prose)."""
    text = re.sub(r"/\*.*?\*/", "", (PARTS / name).read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"^\s*//.*$", "", text, flags=re.M)


def test_agent_html_loads_every_part_core_first_start_last() -> None:
    order = loaded_parts()
    assert sorted(order) == sorted(p.name for p in PARTS.glob("*.js"))
    assert order[0] == "core.js" and order[-1] == "start.js"


def test_each_name_a_part_reads_is_put_there_by_one_part() -> None:
    order = loaded_parts()
    texts = {name: code(name) for name in order}
    owner: dict[str, str] = {}
    for name, text in texts.items():
        for put in PUT.findall(text):
            assert put not in owner, f"workspace.{put} put by {owner[put]} and {name}"
            owner[put] = name
    for name, text in texts.items():
        unknown = sorted(set(READ.findall(text)) - owner.keys())
        assert unknown == [], f"{name} reads {unknown}: no part puts them on workspace"
        # `var ui = workspace.ui;` runs while the part loads: only earlier parts have run.
        for copied in COPY.findall(text):
            assert order.index(owner[copied]) < order.index(name), f"{name} copies {copied}"
    unread = sorted(
        put
        for put, part in owner.items()
        if not any(put in READ.findall(text) for name, text in texts.items() if name != part)
    )
    assert unread == [], f"put on workspace but read by no other part: {unread}"
