"""A page that replaces the built-ins the tag touches (issue 16): a session still works end to end.

``pages/builtins-before.js`` replaces them before the tag runs (stubs that do nothing, stubs and
getters that throw, wrappers that log each call the tag makes), ``pages/builtins-after.js`` once
it has loaded; the tag must take every one from its pristine copies (``tag_js/src/pristine.js``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from tagharness import (
    EXPECTED_TREE_JS,
    PAGES,
    PLACEHOLDER,
    TAG,
    FakeRelay,
    TagUI,
    open_page,
    start_chat,
)
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

pytestmark = pytest.mark.browser

# The page's built-ins the tag still calls, as "built-in <- calling function": the one call that
# decides whether the page's Function.prototype.toString can vouch for anything, and the making
# of the clean realm (its root of trust). The UI's chat (its text test, trim and queue) and its
# style sheet's join take the pristine copies too.
STILL_USED = {
    "Function.prototype.toString <- isNative",
    "Document.prototype.documentElement <- cleanRealm",
}


def test_a_session_works_on_a_page_that_replaced_every_built_in_the_tag_touches(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "builtins.html")
    assert page.evaluate("() => window.__before") is True
    page.evaluate("() => { " + (PAGES / "builtins-after.js").read_text() + " }")
    # Chat both ways.
    start_chat(relay, ui)
    ui.type("cb-chat-input", "still works")
    ui.click("cb-chat-send")
    assert relay.next_frame("chat.send")["text"] == "still works"
    relay.send("chat.message", conversation="conv1", sender="agent", name="Ann", text="ok", at=1)
    relay.wait(lambda: ui.all("cb-msg"))
    # The snapshot arrives, and is the page.
    relay.start_session(mode="shared")
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    # A mutation arrives (the page's MutationObserver is a stub that never reports).
    mark = len(relay.frames)
    page.evaluate("() => document.getElementById('p').replaceChildren('changed')")
    relay.next_frame("dom.mutations", mark)
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)
    assert relay.replica.find(id="p")["children"]
    # Masking holds: the card number and the password go as the placeholder, the masked
    # container's text too, and no secret is in any frame.
    assert relay.replica.find(id="card")["attrs"][":value"] == PLACEHOLDER
    assert relay.replica.find(id="pin")["attrs"][":value"] == PLACEHOLDER
    secret = relay.replica.find(id="secret")
    assert relay.replica.nodes[secret["children"][0]]["text"] == PLACEHOLDER
    sent = "".join(relay.raw)
    for value in ("4111 1111 1111 1111", '"1234"', "masked by its container"):
        assert value not in sent
    # A remote action, with the page's value setter, focus and click broken.
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="name"), value="filled")
    relay.wait(lambda: page.evaluate("() => document.getElementById('name').value") == "filled")
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="r1"), checked=True)
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="s"), value="b")
    relay.wait(lambda: page.evaluate("() => r1.checked && s.value === 'b'"))
    relay.settle()
    assert relay.replica.find(id="r2")["attrs"].get(":checked") is None  # its group's events
    assert relay.replica.find(id="r1")["attrs"][":checked"] == "1"
    # Presence both ways: boxes and pointer positions through the tag's own accessors.
    title = relay.replica.id_of(id="title")
    relay.send("pointer", session="s1", id=title, x=0.5, y=0.5)
    relay.wait(lambda: ui.visible("cb-agent-pointer"))
    relay.send("highlight", session="s1", id=title, kind="outline", x=0.5, y=0.5)
    relay.wait(lambda: ui.all("cb-outline"))
    mark = len(relay.frames)
    where = page.locator("#title").bounding_box()
    assert where
    page.mouse.move(where["x"] + 20, where["y"] + where["height"] / 2)
    pointer = relay.next_frame("pointer", mark)
    assert pointer["id"] in relay.replica.nodes and 0 < pointer["x"] < 1
    assert page.evaluate("() => window.__cbErrors") == []
    used = set(page.evaluate("() => window.__builtinsUsedByTag()"))
    assert used <= STILL_USED, sorted(used - STILL_USED)


def test_a_page_whose_mutation_observer_never_reports_still_streams_its_changes(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # The case alone: a stub MutationObserver (a test library's) ended the session with
    # "tag did not finish sending the page".
    open_page(page, "builtins.html?only=observer")
    start_chat(relay, ui)
    relay.start_session()
    mark = len(relay.frames)
    page.evaluate("() => document.getElementById('p').replaceChildren('changed')")
    relay.next_frame("dom.mutations", mark)
    relay.settle()
    assert relay.replica.tree() == page.evaluate(EXPECTED_TREE_JS)


class _Relay:
    """A real socket end on loopback (Playwright's routed socket is a double in every realm, so it
    cannot show which realm's WebSocket the tag used): serves the tag at /tag.js, answers
    /ws/visitor with hello and session.started, and keeps what the tag sends."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    async def _serve(self) -> None:
        def process_request(connection: ServerConnection, request: Request) -> Response | None:
            if request.path == "/tag.js":
                return connection.respond(200, TAG.decode())
            return None

        async def handler(ws: ServerConnection) -> None:
            await ws.send(
                json.dumps(
                    {
                        "v": 1,
                        "type": "hello",
                        "conversation": "c1",
                        "token": "t1",
                        "brand": "shop",
                        "resumed": True,
                    }
                )
            )
            await ws.send(
                json.dumps(
                    {
                        "v": 1,
                        "type": "session.started",
                        "session": "s1",
                        "conversation": "c1",
                        "mode": "view_only",
                        "agent": "Ann",
                        "mask_selectors": [],
                    }
                )
            )
            async for message in ws:
                self.received.append(json.loads(message))

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def close(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


def test_a_page_that_replaced_websocket_before_the_tag_still_connects(browser: Browser) -> None:
    # A socket of the clean realm never opens once that realm's frame is gone: the tag borrows
    # a live frame's WebSocket (kept in its UI's closed shadow root), and the session streams.
    relay = _Relay()
    page_html = (
        "<!DOCTYPE html><title>No WebSocket</title><script>"
        "window.WebSocket = function () { throw new Error('page broke WebSocket'); };"
        "sessionStorage.setItem('cobrowse', JSON.stringify({token: 't0'}));</script>"
        f'<script src="http://127.0.0.1:{relay.port}/tag.js" async></script><p id="p">hello</p>'
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
        deadline = time.monotonic() + 10
        while not any(m["type"] == "dom.snapshot" for m in relay.received):
            assert time.monotonic() < deadline, relay.received
            page.wait_for_timeout(50)
        assert page.evaluate("() => window.length") == 0  # the borrowed frame is not the page's
    finally:
        context.close()
        site.shutdown()
        site.server_close()
        relay.close()
