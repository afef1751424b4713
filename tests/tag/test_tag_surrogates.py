"""Lone UTF-16 surrogates: every message the tag sends holds well-formed strings only.

The relay refuses a message with a lone surrogate in any string (``wire.protocol``, issue 19);
pages hold them (text cut inside an emoji, an attribute, the title, a form value). The tag sends
each as U+FFFD, as ``String.prototype.toWellFormed`` does, and leaves surrogate pairs and a
backslash followed by "ud800" text as they are.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page
from tagharness import FakeRelay, TagUI, open_page, start_chat

from wire import protocol

pytestmark = pytest.mark.browser

BAD = "\ufffd"


def _decoded(relay: FakeRelay) -> list[Any]:
    """Every frame the tag sent, read as the relay reads it (a refused one raises)."""
    return [protocol.decode(raw, "visitor") for raw in relay.raw]


def _open(page: Page, relay: FakeRelay, ui: TagUI) -> None:
    open_page(page, "surrogates.html")
    start_chat(relay, ui)


def _text(relay: FakeRelay, id_: str) -> str:
    (child,) = relay.replica.find(id=id_)["children"]
    text: str = relay.replica.nodes[child]["text"]
    return text


def test_snapshot_holds_u_fffd_for_each_lone_surrogate(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _open(page, relay, ui)
    snapshot = relay.start_session()
    _decoded(relay)  # not refused: no frame holds a lone surrogate
    assert "\\ud" not in "".join(relay.raw).replace("\\\\", "")
    assert snapshot["title"] == f"Shop {BAD} title"
    assert _text(relay, "cut") == f"Sale {BAD}"
    assert relay.replica.find(id="cut")["attrs"]["data-label"] == f"low {BAD} half"
    assert relay.replica.find(id="name")["attrs"][":value"] == f"Jo{BAD}"
    # Unchanged: a surrogate pair, and a backslash (escaped in JSON) followed by text.
    assert _text(relay, "emoji") == "Smile \U0001f600"
    assert _text(relay, "slash") == "C:\\ud800 path"
    assert _text(relay, "slashes") == "C:\\\\ud800 path"
    assert _text(relay, "slash-lone") == f"C:\\{BAD} path"


def test_mutations_hold_u_fffd_for_each_lone_surrogate(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _open(page, relay, ui)
    relay.start_session()
    mark = len(relay.raw)
    page.evaluate(
        """() => {
            const $ = (id) => document.getElementById(id);
            $('emoji').firstChild.data = '\\udfff';
            $('slash').setAttribute('data-label', 'a\\ud800\\ud800b \\ud83d\\ude00');
            $('name').value = '\\udbff!';
            $('name').dispatchEvent(new Event('input', { bubbles: true }));
            const p = document.createElement('p');
            p.id = 'added';
            p.textContent = 'new \\ud83d';
            document.body.appendChild(p);
        }"""
    )
    relay.settle()
    assert len(relay.raw) > mark
    _decoded(relay)
    assert _text(relay, "emoji") == BAD
    assert relay.replica.find(id="slash")["attrs"]["data-label"] == f"a{BAD}{BAD}b \U0001f600"
    assert relay.replica.find(id="name")["attrs"][":value"] == f"{BAD}!"
    assert _text(relay, "added") == f"new {BAD}"


def test_chat_text_with_a_lone_surrogate_reaches_the_relay(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    _open(page, relay, ui)
    ui.click("cb-chat-input")
    # A text no keyboard types: set on the field, then sent with Enter.
    page.evaluate(
        "() => { const f = window.__cbShadow[0].root"
        ".querySelector('[data-testid=cb-chat-input]'); f.value = 'hi \\ud83d'; }"
    )
    page.keyboard.press("Enter")
    sent = relay.next_frame("chat.send")
    _decoded(relay)
    assert sent["text"] == f"hi {BAD}"
    assert json.loads(relay.raw[-1])["text"] == f"hi {BAD}"
