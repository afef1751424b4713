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

# The page's built-ins the tag still calls, as "built-in <- calling function": its root of trust
# (tag_js/src/pristine.js). The load guard's Object.defineProperty (the tag's top level, before
# anything); the one Reflect.apply that finds the page's apply is a wrapper (with the page's
# Function.prototype.toString, logged as apply's); and the making of the clean realm: its steps
# read with the page's getOwnPropertyDescriptor from the page's prototypes, called with the
# page's apply (so logged as apply's). From then on apply, getOwnPropertyDescriptor,
# getPrototypeOf and defineProperty are the realm's. The UI's chat (its text test, trim and
# queue) and its style sheet's join take the pristine copies too.
STILL_USED = {
    "Object.defineProperty <- ",
    "Reflect.apply <- isNative",
    "Object.getOwnPropertyDescriptor <- pageStep",
    "Reflect.apply <- cleanRealm",
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


def test_the_agent_gets_the_real_scroll_and_viewport_of_a_page_whose_window_lies(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # builtins-before.js: the window's scrollX and scrollY read 0, innerWidth and innerHeight 1,
    # devicePixelRatio 3.
    open_page(page, "builtins.html")
    start_chat(relay, ui)
    snapshot = relay.start_session()
    assert page.viewport_size
    real = {"w": page.viewport_size["width"], "h": page.viewport_size["height"], "dpr": 1}
    assert snapshot["viewport"] == real
    page.evaluate("() => { const s = document.body.style; s.minWidth = s.minHeight = '4000px'; }")
    mark = len(relay.frames)
    page.evaluate("() => window.scrollTo(40, 300)")
    scroll = relay.next_frame("scroll", mark)
    assert (scroll["id"], scroll["x"], scroll["y"]) == (snapshot["doc"][0], 40, 300)
    page.set_viewport_size({"width": 900, "height": 700})
    viewport = relay.next_frame("viewport", mark)
    assert (viewport["w"], viewport["h"], viewport["dpr"]) == (900, 700, 1)


def test_the_agent_cannot_write_into_a_disabled_or_read_only_field_whose_getters_lie(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # builtins-before.js: disabled and readOnly read false on inputs, textareas and selects.
    open_page(page, "builtins.html")
    start_chat(relay, ui)
    relay.start_session(mode="shared")
    for field, value in (("off", "written"), ("fixed", "written"), ("note", "written")):
        relay.send("act.input", session="s1", id=relay.replica.id_of(id=field), value=value)
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="soff"), value="b")
    # Actions apply in order: once the last one landed, the ones before it were refused.
    relay.send("act.input", session="s1", id=relay.replica.id_of(id="name"), value="after")
    relay.wait(lambda: page.evaluate("() => document.getElementById('name').value") == "after")
    values = page.evaluate("() => ['off', 'fixed', 'note', 'soff'].map((id) => window[id].value)")
    assert values == ["kept", "kept", "kept", "a"]


def test_a_frame_whose_window_breaks_frame_element_keeps_the_mask_around_the_frame(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # builtins-frame-inner.js: the frame's window.frameElement throws; the tag climbs from the
    # frame's document to the masked container through it (text added after the snapshot), and
    # adds the frame's offset to draw the agent's pointer over a node inside it.
    open_page(page, "builtins-frame.html")
    page.wait_for_load_state("load")  # the frame loaded
    start_chat(relay, ui)
    relay.start_session()
    mark = len(relay.frames)
    page.evaluate("""() => {
        const doc = document.getElementById('liar').contentDocument;
        const p = doc.createElement('p');
        p.id = 'added';
        p.textContent = 'added inside the masked frame';
        doc.body.append(p);
    }""")
    relay.next_frame("dom.mutations", mark)
    relay.settle()
    sent = "".join(relay.raw)
    for text in ("masked by the container around its frame", "added inside the masked frame"):
        assert text not in sent
    for id_ in ("inner", "added"):
        (text,) = relay.replica.find(id=id_)["children"]
        assert relay.replica.nodes[text]["text"] == PLACEHOLDER
    relay.send("pointer", session="s1", id=relay.replica.id_of(id="inner"), x=0.5, y=0.5)
    relay.wait(lambda: ui.visible("cb-agent-pointer"))
    inner = page.frame_locator("#liar").locator("#inner").bounding_box()
    tip = ui.box("cb-agent-pointer")
    assert inner
    assert abs(tip["x"] - (inner["x"] + inner["width"] / 2)) < 2
    assert abs(tip["y"] - (inner["y"] + inner["height"] / 2)) < 2


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
