"""Drive one visitor and one agent through a co-browse session, as people would.

Owns: starting a relay for tests (`RelayProcess`), the visitor's tab (`Visitor`), the agent's
workspace (`Agent`) and a session between them (`CobrowseSession`): sign-in, chat, invite, accept,
acting in the replica, reading what each side sees, comparing them, ending.
Must not: change the product's pages to make them testable (the tag's closed-shadow UI is
driven through `ClosedShadow`, the replica through the workspace's own frame), nor know
anything about scenario files or reports.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from PIL import Image
from playwright.sync_api import Browser, BrowserContext, FrameLocator, Locator, Page, expect

from cobrowse_qa.fidelity import Fidelity, compare
from cobrowse_qa.mirror import TagIds, replica_selectors
from cobrowse_qa.shadow import ClosedShadow

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "cobrowse-demo"  # noqa: S105 - the embedded demo's public account
VISITOR_VIEWPORT = {"width": 1100, "height": 800}
AGENT_VIEWPORT = {"width": 1400, "height": 900}
REPLICA_FRAME = "[data-testid=replica-frame]"
REPLICA_MASKED_ATTR = "data-cobrowse-replica-masked"
REPLICA_FRAME_ATTR = "data-cobrowse-replica-frame"  # the nested replica of a same-origin frame
PLACEHOLDER_ATTR = "data-cobrowse-placeholder"  # the renderer's box for a frame or plugin
FRAMESET_ATTR = "data-cobrowse-frameset"  # the renderer's <div> for a frameset
MODES = ("shared", "view_only")


class SyncError(AssertionError):
    """The replica did not match the visitor's page in time; the message shows a diff."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RelayProcess:
    """The relay (``python -m relay``) as a subprocess on a free loopback port.

    Use as a context manager, or call `start()` then `stop()`. `url` is the base URL;
    `stop()` raises if the relay logged a traceback (a server bug a test should not hide).
    A fleet test ends a node as the world would: `kill()` (SIGKILL) or `terminate()` (SIGTERM,
    the drain), then `stop()` all the same.
    """

    def __init__(
        self,
        log_dir: Path,
        config: str | Path | None = None,
        env: dict[str, str] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.port = free_port()
        self.log_level = log_level
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.env = env or {}
        self.log_path = Path(log_dir) / f"relay-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> RelayProcess:
        env = {"COBROWSE_SECRET_KEY": "cobrowse-qa-secret-key", **os.environ, **self.env}
        command = [sys.executable, "-m", "relay", "--port", str(self.port)]
        command += ["--log-level", self.log_level]
        if self.config is not None:
            command += ["--config", str(self.config)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe: a pipe nobody reads can stall the server.
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                command, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._shut_down()
                raise RuntimeError(f"cobrowse serve did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        """The relay's process id (after ``start()``)."""
        assert self._process is not None, "start() the relay first"
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the relay process is alive (started and not exited)."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL the relay, as an out-of-memory kill or a lost machine would: no drain, no
        close frame to any client. The renderer's Chromium it started (now orphans nobody will
        stop) is killed after it. Then ``stop()`` (or ``start()`` again on a new port)."""
        assert self._process is not None, "start() the relay first"
        orphans = _descendants(self._process.pid)
        self._process.kill()
        self._process.wait(timeout=10)
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM the relay (a deploy draining it: every socket closed 1012) and wait for it to
        exit; returns its exit status. Raises ``subprocess.TimeoutExpired`` when it does not
        exit in ``timeout`` seconds (``stop()`` still kills it)."""
        assert self._process is not None, "start() the relay first"
        self._process.send_signal(signal.SIGTERM)
        return self._process.wait(timeout=timeout)

    def _shut_down(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def stop(self, *, allow_tracebacks: bool = False) -> None:
        """Stop the relay. Raises if it logged a traceback, unless ``allow_tracebacks`` (a
        benchmark counts them in its report instead)."""
        self._shut_down()
        log = self.log_path.read_text() if self.log_path.exists() else ""
        if "Traceback" in log and not allow_tracebacks:
            raise AssertionError(f"the relay logged tracebacks:\n{log}")

    def __enter__(self) -> RelayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# The normalised view of a document both sides are compared by: text (whitespace collapsed),
# element names, and form state. Skipped: what never shows (script, style, head) and the
# tag's own UI host. A field the replica shows masked compares equal to any value. Frames and
# plugins compare by what the agent can have: an iframe (or frame) is `<frame`, followed by
# its document's content when the visitor's page can read it (same-origin: the tag mirrors
# it, and the replica holds it in a nested frame inside the placeholder); a third-party frame
# is the bare `<frame` on both sides (the replica's placeholder), an object, embed or applet
# `<plugin` (the replica's "plugin object" placeholder), their fallback content never shown.
# A frameset is `<frameset` followed by its frames and framesets only (nothing else of it is
# drawn); in the replica it is the renderer's grid <div>.
_NORMALISE_JS = r"""
function normalise(doc, replica) {
  var SKIP = {script: 1, style: 1, noscript: 1, template: 1, 'cobrowse-ui': 1, link: 1,
              meta: 1, head: 1, title: 1, base: 1};
  var FRAMES = {iframe: 1, frame: 1};
  var PLUGINS = {object: 1, embed: 1, applet: 1};
  var out = [];
  function inner(d) {
    var root = d && (d.body || d.documentElement);
    if (root && root.localName === 'frameset') frameset(root); // the visitor's: its body
    else if (root) walk(root);
  }
  function frameset(el) {
    out.push('<frameset');
    for (var c = el.firstChild; c; c = c.nextSibling) {
      if (c.nodeType !== 1) continue;
      if (replica || c.localName === 'frameset' || c.localName === 'frame') visit(c);
    }
  }
  function frameDocument(el) {
    try { return el.contentDocument; } catch (e) { return null; }
  }
  function walk(n) {
    for (var c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) {
        var t = c.data.replace(/\s+/g, ' ').trim();
        if (t) out.push('"' + t);
      } else if (c.nodeType === 1) {
        visit(c);
      }
    }
  }
  function visit(c) {
    var tag = c.localName;
    if (SKIP[tag]) return;
    if (replica ? c.hasAttribute('__FRAMESET__') : tag === 'frameset') {
      frameset(c);
      return;
    }
    var holder = replica ? c.getAttribute('__PLACEHOLDER__') : null;
    if (holder !== null) {
      out.push(holder === 'plugin object' ? '<plugin' : '<frame');
      var nested = holder === 'iframe' && c.querySelector(':scope > iframe[__FRAME__]');
      if (nested) inner(frameDocument(nested));
      return;
    }
    if (!replica && FRAMES[tag]) {
      out.push('<frame');
      inner(frameDocument(c));
      return;
    }
    if (!replica && PLUGINS[tag]) {
      out.push('<plugin');
      return;
    }
    if (tag === 'input' || tag === 'textarea' || tag === 'select') {
      var type = (c.getAttribute('type') || '').toLowerCase();
      if (c.hasAttribute('__MASKED__')) out.push('<' + tag + ' *masked*');
      else if (type === 'checkbox' || type === 'radio') {
        out.push('<' + tag + (c.checked ? ' [x]' : ' [ ]'));
      }
      else out.push('<' + tag + '=' + c.value);
    } else {
      out.push('<' + tag);
    }
    if (tag !== 'textarea' && tag !== 'select') walk(c);
  }
  inner(doc);
  return out;
}
"""
for _name, _value in (
    ("__MASKED__", REPLICA_MASKED_ATTR),
    ("__PLACEHOLDER__", PLACEHOLDER_ATTR),
    ("__FRAME__", REPLICA_FRAME_ATTR),
    ("__FRAMESET__", FRAMESET_ATTR),
):
    _NORMALISE_JS = _NORMALISE_JS.replace(_name, _value)

_VISITOR_DOM_JS = "() => {" + _NORMALISE_JS + "return normalise(document, false); }"
_REPLICA_DOM_JS = (
    "() => {"
    + _NORMALISE_JS
    + f"var f = document.querySelector({REPLICA_FRAME!r});"
    + "return f ? normalise(f.contentDocument, true) : null; }"
)


def dom_differences(visitor: list[str], replica: list[str] | None, limit: int = 12) -> list[str]:
    """Lines of a unified diff between two normalised documents; empty when they match.

    A replica token ``<input *masked*`` matches the visitor's field whatever its value.
    """
    if replica is None:
        return ["the agent has no replica"]
    masked = re.compile(r"^<(input|textarea|select) \*masked\*$")
    aligned = list(visitor)
    if len(aligned) == len(replica):
        for i, token in enumerate(replica):
            if masked.match(token) and aligned[i].startswith(f"<{token.split()[0][1:]}"):
                aligned[i] = token
    if aligned == replica:
        return []
    diff = difflib.unified_diff(aligned, replica, "visitor", "replica", n=1, lineterm="")
    lines = list(diff)
    return lines[:limit] + ([f"... {len(lines) - limit} more lines"] if len(lines) > limit else [])


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(
                    int(entry.name)
                )
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class Visitor:
    """The visitor's tab: the brand's page with the tag, and the tag's closed-shadow UI.

    `sent` records every WebSocket frame the page sent (to check masking on the wire);
    `received` every message the relay sent the tag's socket (``/ws/visitor``), parsed.
    """

    def __init__(self, context: BrowserContext, relay_url: str) -> None:
        self.context = context
        self.relay_url = relay_url
        self.page = context.new_page()
        self.sent: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.page.on("websocket", self._watch)
        self.ui = ClosedShadow(self.page)
        self._tag_ids: TagIds | None = None

    def node_ids(self, selector: str) -> list[int] | None:
        """The tag's node ids of the elements ``selector`` matches on this page (see
        `cobrowse_qa.mirror`); None when the tag's map cannot be read."""
        if self._tag_ids is None:
            self._tag_ids = TagIds(self.page)
        return self._tag_ids.ids(selector)

    def _watch(self, socket: Any) -> None:
        socket.on("framesent", lambda payload: self.sent.append(str(payload)))
        if "/ws/visitor" in socket.url:
            socket.on("framereceived", self._receive)

    def _receive(self, payload: str | bytes) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(payload)
            if isinstance(message, dict):
                self.received.append(message)

    def conversation(self, text: str, timeout: float = 10.0) -> str:
        """The id of the conversation the visitor's chat message ``text`` went to (the
        relay's ``chat.message`` echo of it: a conversation is stored at its first chat, and
        a reconnect before that gets a new id, so the ``hello`` alone could name a stale one)."""
        found: list[str] = []

        def echoed() -> bool:
            for message in reversed(self.received):
                if message.get("type") == "chat.message" and message.get("text") == text:
                    if message.get("sender") == "visitor":
                        found.append(str(message.get("conversation")))
                        return True
            return False

        deadline = time.monotonic() + timeout
        while not echoed():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:g} s waiting for the relay's echo of the "
                    f"visitor's chat {text!r}"
                )
            # Playwright delivers frame events only while it runs: wait through it.
            self.page.wait_for_timeout(100)
        return found[0]

    def url(self, path: str) -> str:
        return urljoin(self.relay_url + "/", path)

    def serve(self, path: str, file: str | Path) -> None:
        """Answer requests for `path` on the relay's origin with a local file (a test page)."""
        body = Path(file).read_bytes()
        # A page answered by the route has no server address, so Chromium's Local Network
        # Access checks count it as public and block its tag's socket to the loopback relay
        # (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS); a page the relay served is local.
        self.context.grant_permissions(["local-network-access"], origin=self.relay_url)
        self.context.route(
            self.url(path),
            lambda route: route.fulfill(status=200, body=body, content_type="text/html"),
        )

    def open(self, path: str) -> None:
        self.page.goto(self.url(path))

    def chat(self, text: str) -> None:
        if not self.ui.visible("cb-chat-input"):
            self.ui.click("cb-chat-open")
        self.ui.type("cb-chat-input", text)
        self.ui.click("cb-chat-send")

    def accept(self, agent_name: str = "") -> None:
        if agent_name:
            self.ui.wait_text("cb-invite", agent_name)
        self.ui.click("cb-invite-accept")

    def decline(self) -> None:
        self.ui.click("cb-invite-decline")

    def end(self) -> None:
        self.ui.click("cb-end")
        self.ui.wait_hidden("cb-frame")

    def locator(self, selector: str) -> Locator:
        return self.page.locator(selector).first

    def dom(self) -> list[str]:
        """The visitor's page, normalised (see `dom_differences`)."""
        result: list[str] = self.page.evaluate(_VISITOR_DOM_JS)
        return result

    def screenshot(self) -> Image.Image:
        """The viewport as the visitor sees it, without the tag's own UI (the replica never
        shows it). The tag never captures its own UI, so hiding it sends nothing."""
        with self.ui.hidden():
            return _image(self.page.screenshot(animations="disabled"))

    def raw_screenshot(self) -> bytes:
        return self.page.screenshot()

    def select_text(self, selector: str) -> None:
        """Select the text of an element with the mouse (press at its start, drag to its end)."""
        self._drag_select(self.locator(selector), self.page)

    @staticmethod
    def _drag_select(target: Locator, page: Page) -> None:
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        if box is None:
            raise AssertionError("the element to select has no box")
        y = box["y"] + min(box["height"] / 2, 8)
        page.mouse.move(box["x"] + 1, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 1, y, steps=5)
        page.mouse.up()

    def selected_text(self) -> str:
        text: str = self.page.evaluate("() => String(getSelection())")
        return text

    def offline(self, offline: bool = True) -> None:
        self.context.set_offline(offline)


class Agent:
    """The agent's workspace: sign-in, conversations, invites, and the replica frame.

    Once in a session with a `Visitor` (``visitor`` set: `start_session` does it), a selector
    given to `locator`, `locate_all` and the actions is resolved on the visitor's page and found
    in the replica by node id, so a selector works whatever the replica carries of the page's
    attributes; one that matches nothing on the visitor's page is used in the replica as
    written (the replica's own marks: ``[data-cobrowse-placeholder]``...).
    """

    def __init__(self, context: BrowserContext, relay_url: str) -> None:
        self.context = context
        self.relay_url = relay_url
        self.page = context.new_page()
        self.visitor: Visitor | None = None

    def sign_in(self, login: str = DEMO_LOGIN, password: str = DEMO_PASSWORD) -> None:
        self.page.goto(f"{self.relay_url}/agent")
        self.page.get_by_test_id("login-name").fill(login)
        self.page.get_by_test_id("login-password").fill(password)
        self.page.get_by_test_id("login-submit").click()
        expect(self.page.get_by_test_id("conversation-list")).to_be_visible()

    def open_conversation(self, conversation: str) -> None:
        """Open the conversation with this id (`Visitor.conversation`): never found by its
        text, which another visitor of the same relay may have written too."""
        item = self.page.locator(
            f"[data-testid=conversation-item][data-conversation={json.dumps(conversation)}]"
        )
        expect(item).to_have_count(1)
        item.click()
        # Its history is shown: at least the visitor's first message.
        expect(self.page.get_by_test_id("chat-message").first).to_be_visible()

    def invite(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.page.get_by_test_id("cobrowse-button").click()
        self.page.get_by_test_id(f"cobrowse-mode-{mode}").click()

    def status(self) -> str:
        return self.page.get_by_test_id("session-status").get_attribute("data-status") or ""

    def wait_status(self, status: str, timeout: float = 15.0) -> None:
        expect(self.page.get_by_test_id("session-status")).to_have_attribute(
            "data-status", status, timeout=timeout * 1000
        )

    @property
    def replica(self) -> FrameLocator:
        return self.page.frame_locator(REPLICA_FRAME)

    def locator(self, selector: str, timeout: float = 10.0) -> Locator:
        """The replica's element for ``selector`` (the first of `locate_all`)."""
        return self.locate_all(selector, timeout).first

    def locate_all(self, selector: str, timeout: float = 10.0) -> Locator:
        """The replica's elements for the visitor's matches of ``selector``, found by node id
        (waiting up to ``timeout`` s for each to reach the replica); the selector in the
        replica as written when it matches nothing on the visitor's page, or there is no
        visitor or readable tag."""
        if self.visitor is None:
            return self.replica.locator(selector)
        deadline = time.monotonic() + timeout
        while True:
            ids = self.visitor.node_ids(selector)
            if not ids:
                return self.replica.locator(selector)
            found = replica_selectors(self.page, ids)
            if all(found):
                return self.replica.locator(", ".join(f for f in found if f))
            if time.monotonic() > deadline:
                missing = sum(1 for f in found if not f)
                raise AssertionError(
                    f"{selector!r} matches {len(ids)} element(s) on the visitor's page; "
                    f"{missing} of them not in the replica after {timeout:g} s"
                )
            time.sleep(0.1)

    def dom(self) -> list[str] | None:
        """The replica, normalised; None when there is none."""
        result: list[str] | None = self.page.evaluate(_REPLICA_DOM_JS)
        return result

    def screenshot(self) -> Image.Image:
        """The replica frame as the agent sees it, without the overlay of pointers and marks."""
        frame = self.page.locator(REPLICA_FRAME)
        hide = "[data-testid=visitor-pointer], .mark-circle, .mark-outline {visibility: hidden}"
        return _image(frame.screenshot(style=hide, animations="disabled"))

    def raw_screenshot(self) -> bytes:
        return self.page.screenshot()

    def click(self, selector: str, ctrl: bool = False) -> None:
        self.locator(selector).click(modifiers=["Control"] if ctrl else None)

    def type(self, selector: str, text: str) -> None:
        self.locator(selector).fill(text)

    def scroll(self, dy: float, dx: float = 0) -> None:
        """Scroll the replica with the mouse wheel over it."""
        box = self.page.locator(REPLICA_FRAME).bounding_box()
        if box is None:
            raise AssertionError("the agent has no replica to scroll")
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.wheel(dx, dy)

    def select_text(self, selector: str) -> None:
        """Select an element's text in the replica with a real mouse drag.

        The mouse events go through DevTools (``Input.dispatchMouseEvent``): Playwright's own
        drag handling waits on a timer inside the frame, and the script-free replica runs none,
        so ``page.mouse`` would hang (docs/testing.md, "Known trap")."""
        target = self.locator(selector)
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        if box is None:
            raise AssertionError("the element to select has no box")
        y = box["y"] + min(box["height"] / 2, 8)
        start, end = box["x"] + 1, box["x"] + box["width"] - 1
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            steps = [("mousePressed", start, 1)]
            steps += [("mouseMoved", start + (end - start) * i / 5, 1) for i in range(1, 6)]
            steps.append(("mouseReleased", end, 0))
            for kind, x, buttons in steps:
                cdp.send(
                    "Input.dispatchMouseEvent",
                    {
                        "type": kind,
                        "x": x,
                        "y": y,
                        "button": "left",
                        "buttons": buttons,
                        "clickCount": 1,
                    },
                )
        finally:
            cdp.detach()

    def navigate(self, url: str) -> None:
        self.page.get_by_test_id("address-bar").fill(url)
        self.page.get_by_test_id("navigate").click()

    def end(self) -> None:
        self.page.get_by_test_id("session-end").click()
        self.wait_status("ended")

    def end_what_is_open(self) -> None:
        """End the session and cancel the invite this agent left open, if any: the relay
        allows an agent one pending invite and one active session, and a leftover would refuse
        the agent's next invite (the next test's, with the same login). Best effort."""
        for testid in ("session-end", "invite-cancel"):
            try:
                button = self.page.get_by_test_id(testid)
                if button.is_visible():
                    button.click(timeout=2000)
                    if testid == "session-end":
                        self.wait_status("ended", timeout=5)
            except Exception:  # noqa: S112 - best effort; the contexts close anyway
                continue

    def chat(self, text: str) -> None:
        self.page.get_by_test_id("chat-input").fill(text)
        self.page.get_by_test_id("chat-send").click()


@dataclass
class CobrowseSession:
    """A visitor and an agent in one co-browse session (after `start_session`)."""

    visitor: Visitor
    agent: Agent
    mode: str

    def wait_in_sync(self, timeout: float = 10.0) -> None:
        """Wait until the replica shows the visitor's page (normalised text, structure and
        form state); raise `SyncError` with a diff when it does not in time."""
        deadline = time.monotonic() + timeout
        while True:
            differences = dom_differences(self.visitor.dom(), self.agent.dom())
            if not differences:
                return
            if time.monotonic() > deadline:
                raise SyncError(
                    f"the replica is not in sync after {timeout:g} s:\n" + "\n".join(differences)
                )
            time.sleep(0.15)

    def fidelity(self) -> Fidelity:
        """Screenshots of the same viewport on both sides, compared (see `fidelity.compare`)."""
        return compare(self.visitor.screenshot(), self.agent.screenshot())

    def end(self, by: str = "agent") -> None:
        if by == "agent":
            self.agent.end()
            self.visitor.ui.wait_hidden("cb-frame")
        elif by == "visitor":
            self.visitor.end()
            self.agent.wait_status("ended")
        else:
            raise ValueError("by must be 'agent' or 'visitor'")


def new_contexts(browser: Browser, **context_args: Any) -> tuple[BrowserContext, BrowserContext]:
    """Two isolated contexts (no shared cookies or storage): the visitor's and the agent's."""
    visitor = browser.new_context(**{"viewport": VISITOR_VIEWPORT, **context_args})
    agent = browser.new_context(**{"viewport": AGENT_VIEWPORT, **context_args})
    for context in (visitor, agent):
        # A step that cannot happen should fail in seconds, naming itself, not after 30 s.
        context.set_default_timeout(10_000)
    return visitor, agent


def start_session(
    visitor: Visitor,
    agent: Agent,
    mode: str = "shared",
    url: str = "/demo/product.html",
    chat: str | None = None,
) -> CobrowseSession:
    """Bring a visitor and a signed-in agent to an active session in `mode`, on `url`.

    The visitor opens `url` and writes in the chat, the agent opens that conversation and
    invites, the visitor accepts; returns once the agent's status is active and the replica
    is in sync.
    """
    text = chat or f"Hello from the QA harness {time.monotonic_ns()}"
    visitor.open(url)
    visitor.chat(text)
    agent.open_conversation(visitor.conversation(text))
    agent.invite(mode)
    visitor.accept()
    agent.wait_status("active")
    agent.visitor = visitor
    session = CobrowseSession(visitor, agent, mode)
    session.wait_in_sync(timeout=15)
    return session
