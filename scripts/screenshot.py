"""Screenshot of the agent workspace during a CoBrowse session, for the README.

Usage: .venv/bin/python scripts/screenshot.py [--out docs/img/workspace.png]

Runs the real product: `cobrowse serve` with the embedded demo on a free loopback port, a
visitor on the demo site (one browser context) and the demo agent in the workspace (another).
The visitor chats, the agent invites in shared mode, the visitor accepts; both move their
pointers and the visitor highlights a line of text; then the agent's window is captured.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from e2e.shadow import ClosedShadow  # noqa: E402 - after the path is set
from relay.settings import DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD  # noqa: E402
from renderer import chromium  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("cobrowse serve exited early")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("cobrowse serve did not start")


def capture(url: str, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium.launch_options())
        agent_context = browser.new_context(viewport={"width": 1440, "height": 860})
        visitor_context = browser.new_context(viewport={"width": 1100, "height": 720})
        agent = agent_context.new_page()
        agent.goto(f"{url}/agent")
        agent.get_by_test_id("login-name").fill(DEMO_AGENT_LOGIN)
        agent.get_by_test_id("login-password").fill(DEMO_AGENT_PASSWORD)
        agent.get_by_test_id("login-submit").click()

        visitor = visitor_context.new_page()
        visitor.goto(f"{url}/demo/product.html")
        ui = ClosedShadow(visitor)
        ui.click("cb-chat-open")
        ui.type("cb-chat-input", "Hi! Can you help me pick the right room for my trip?")
        ui.click("cb-chat-send")
        agent.get_by_test_id("conversation-item").first.click()
        agent.get_by_test_id("chat-input").fill("Of course. Let me show you on your page.")
        agent.get_by_test_id("chat-send").click()

        agent.get_by_test_id("cobrowse-button").click()
        agent.get_by_test_id("cobrowse-mode-shared").click()
        ui.wait_text("cb-invite", "Alex")
        ui.click("cb-invite-accept")
        expect(agent.get_by_test_id("session-status")).to_have_attribute(
            "data-status", "active", timeout=20_000
        )
        replica = agent.frame_locator("[data-testid=replica-frame]")
        expect(replica.locator("#room")).to_be_attached(timeout=20_000)

        visitor.locator("#notes").fill("Travelling with a toddler")
        room = visitor.locator("#room").bounding_box()
        if room:
            for step in range(6):
                visitor.mouse.move(room["x"] + 40 + step * 12, room["y"] + 10 + step * 2)
                visitor.wait_for_timeout(40)
        visitor.locator("h1").evaluate(
            "h => getSelection().setBaseAndExtent(h.firstChild, 0, h.firstChild, 6)"
        )
        box = replica.locator("#customise-title").bounding_box()
        if box:
            for step in range(6):
                agent.mouse.move(box["x"] + 30 + step * 10, box["y"] + box["height"] / 2)
                agent.wait_for_timeout(40)
        expect(agent.get_by_test_id("visitor-pointer")).to_be_visible()
        agent.wait_for_timeout(600)
        out.parent.mkdir(parents=True, exist_ok=True)
        agent.screenshot(path=str(out))
        agent.get_by_test_id("session-end").click()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "workspace.png"))
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "COBROWSE_SECRET_KEY": "screenshot"}
    env.pop("COBROWSE_DATABASE", None)
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "relay", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        capture(url, Path(args.out))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
