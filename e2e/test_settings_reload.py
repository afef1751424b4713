"""A mask selector added to the settings file while a CoBrowse session runs.

The real `cobrowse serve` with a settings file of its own; the file changes mid-session. The
field the new selector names must be masked in the visitor's browser from then on: its value
(the earlier one and anything typed later) never leaves the page again, and the agent's replica
shows the field masked, without a restart and without a new invite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import run_relay
from e2e.shadow import ClosedShadow
from relay.passwords import hash_password

pytestmark = pytest.mark.browser

PASSWORD = "kim-password-1"
BEFORE = "BEFORE-7313-VISIBLE"
CANARY = "CANARY-9191-AFTER"
# Hashed once: the file is rewritten mid-session with only the selectors changed (a new hash,
# even of the same password, is a password change and signs the agent out: issue 19).
PASSWORD_HASH = hash_password(PASSWORD)


def _write(config: Path, selectors: list[str]) -> None:
    config.write_text(
        '[server]\ndemo = true\ndatabase = ":memory:"\n\n'
        '[[brands]]\nid = "demo"\nname = "Demo Travel"\nallowed_origins = ["self"]\n'
        f"mask_selectors = {json.dumps(selectors)}\n\n"
        f'[[agents]]\nid = "kim"\nname = "Kim"\npassword_hash = "{PASSWORD_HASH}"\n'
        'brands = ["demo"]\n',
        encoding="utf-8",
    )


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    config = tmp_path / "cobrowse.toml"
    _write(config, [".cobrowse-demo-secret"])
    with run_relay(tmp_path, config) as url:
        yield url, config


def test_a_selector_added_mid_session_masks_the_field_at_once(
    browser: Browser, relay: tuple[str, Path]
) -> None:
    url, config = relay
    agent_context = browser.new_context(viewport={"width": 1400, "height": 900})
    visitor_context = browser.new_context(viewport={"width": 1000, "height": 600})
    try:
        agent: Page = agent_context.new_page()
        agent.goto(f"{url}/agent")
        agent.get_by_test_id("login-name").fill("kim")
        agent.get_by_test_id("login-password").fill(PASSWORD)
        agent.get_by_test_id("login-submit").click()
        expect(agent.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")

        visitor = visitor_context.new_page()
        sent: list[str] = []
        received: list[dict[str, Any]] = []

        def watch(socket: Any) -> None:
            socket.on("framesent", lambda payload: sent.append(str(payload)))
            socket.on("framereceived", lambda payload: received.append(json.loads(payload)))

        visitor.on("websocket", watch)
        visitor.goto(f"{url}/demo/product.html")
        ui = ClosedShadow(visitor)
        ui.click("cb-chat-open")
        ui.type("cb-chat-input", "Please look at my notes")
        ui.click("cb-chat-send")
        agent.get_by_test_id("conversation-item").filter(has_text="Please look").click()
        agent.get_by_test_id("cobrowse-button").click()
        agent.get_by_test_id("cobrowse-mode-view_only").click()
        ui.wait_text("cb-invite", "Kim")
        ui.click("cb-invite-accept")
        replica = agent.frame_locator("[data-testid=replica-frame]")
        notes = replica.locator("#notes")
        visitor.locator("#notes").fill(BEFORE)
        expect(notes).to_have_value(BEFORE, timeout=15_000)  # not masked yet: the agent sees it

        # Everything carrying BEFORE was sent by now (the replica shows it); nothing after this
        # mark may carry it again, the fresh snapshot under the new rules included.
        mark = len(sent)
        _write(config, [".cobrowse-demo-secret", "#notes"])
        deadline = 0
        while not any(m.get("type") == "session.config" for m in received):
            assert deadline < 100, "the running session never got the new selectors"
            visitor.wait_for_timeout(100)
            deadline += 1
        expect(notes).to_have_value("\u2022" * 6, timeout=15_000)
        expect(notes).to_have_attribute("data-cobrowse-replica-masked", re.compile("."))
        visitor.locator("#notes").fill(CANARY)
        visitor.locator("#notes").press("End")
        visitor.wait_for_timeout(1500)  # a flush, a field poll and more have passed
        after = "".join(sent[mark:])
        assert "dom.snapshot" in after  # the tag started a fresh stream under the new rules
        assert BEFORE not in after, "the field's earlier value left the page after masking"
        assert CANARY not in "".join(sent), "text typed into the newly masked field left the page"
        expect(notes).to_have_value("\u2022" * 6)
        expect(agent.get_by_test_id("session-status")).to_have_text(re.compile("active", re.I))
    finally:
        agent_context.close()
        visitor_context.close()
