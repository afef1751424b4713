"""Every `data-testid` of the agent workspace is listed in docs/testing.md (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "relay" / "static"


def workspace_testids() -> set[str]:
    html = (STATIC / "agent.html").read_text(encoding="utf-8")
    found = set(re.findall(r'data-testid="([a-z_-]+)"', html))
    for path in [STATIC / "replica.js", *sorted((STATIC / "workspace").glob("*.js"))]:
        script = path.read_text(encoding="utf-8")
        for call in re.findall(r'setAttribute\("data-testid",([^;]*)\)', script):
            found.update(re.findall(r'"([a-z_-]+)"', call))
    return found


def test_every_workspace_testid_is_documented() -> None:
    doc = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    ids = workspace_testids()
    assert {"session-upgrade", "transcript-export", "replica-frame", "click-circle"} <= ids
    missing = sorted(i for i in ids if f"`{i}`" not in doc)
    assert missing == [], f"not in docs/testing.md: {missing}"
