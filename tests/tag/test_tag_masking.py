"""Masking: a masked value never leaves the visitor's browser, on any path."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tagharness import PLACEHOLDER, FakeRelay, TagUI, open_page, start_chat

pytestmark = pytest.mark.browser

CANARY = "canary-7f3a9"
# Every field that must be masked, and why.
MASKED = {
    "pw": "password",
    "toggle": "password",
    "card": "attribute",
    "attr": "attribute",
    "secret": "selector",
    "ta": "selector",
    "otp": "autocomplete",
    "ccn": "autocomplete",
    "sel": "attribute",
}


def _type_everywhere(page: Page, tag: str) -> None:
    for field in ("pw", "toggle", "card", "attr", "secret", "otp", "ccn", "ta"):
        page.click(f"#{field}")
        page.keyboard.type(f"{CANARY}-{tag}")


def test_canary_typed_into_masked_fields_never_goes_on_the_wire(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    open_page(page, "masking.html")
    start_chat(relay, ui)
    _type_everywhere(page, "before")  # present when the snapshot is cut
    page.select_option("#sel", "Amex")
    relay.start_session(mask_selectors=[".secret", "::not-a-selector("])
    _type_everywhere(page, "during")  # streamed as input events
    page.evaluate(f"""() => {{
        // Frameworks mirror value into the attribute; a page may flip password to text to
        // "show password"; contenteditable text changes as character data.
        document.getElementById('pw').setAttribute('value', '{CANARY}-attr');
        document.getElementById('toggle').type = 'text';
        document.getElementById('toggle').value = '{CANARY}-shown';
        document.getElementById('toggle').dispatchEvent(new Event('input', {{bubbles: true}}));
        document.getElementById('editable').firstChild.data = '{CANARY}-edit';
        document.getElementById('cardtext').textContent = 'Card {CANARY}-text';
        const p = document.createElement('p');
        p.textContent = '{CANARY}-added';
        document.querySelector('[data-cobrowse-mask]').appendChild(p);
        const late = document.createElement('input');
        late.type = 'password'; late.id = 'late'; late.value = '{CANARY}-late';
        document.getElementById('f').appendChild(late);
    }}""")
    relay.settle()
    page.select_option("#sel", "Visa")
    relay.send("resync", session="s1", reason="test")  # and once more from scratch
    snapshot = relay.next_frame(
        "dom.snapshot", 1 + relay.frames.index(relay.of_type("dom.snapshot")[0])
    )
    page.wait_for_timeout(100)

    leaks = [raw for raw in relay.raw if CANARY in raw]
    assert leaks == []
    assert "csrf-secret-token" not in "".join(relay.raw)
    relay.replica.load(snapshot)
    for field, reason in MASKED.items():
        attrs = relay.replica.find(id=field)["attrs"]
        assert attrs[":masked"] == reason, field
        assert attrs[":value"] == PLACEHOLDER, field
        assert "value" not in attrs, field
    assert relay.replica.find(id="late")["attrs"][":masked"] == "password"
    # The chosen option of a masked select is not revealed either.
    assert not any(":selected" in n["attrs"] for n in relay.replica.nodes.values())
    texts = [n["text"] for n in relay.replica.nodes.values() if n["name"] == "#text"]
    assert PLACEHOLDER in texts


def test_negative_control_an_unmasked_field_does_leak(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # Proves the wire check above can fail: the same typing into a plain field is sent.
    open_page(page, "masking.html")
    start_chat(relay, ui)
    relay.start_session()
    page.click("#user")
    page.keyboard.type(CANARY)
    relay.settle()
    assert any(CANARY in raw for raw in relay.raw)
    assert relay.replica.find(id="user")["attrs"][":value"] == CANARY


def test_autofill_moves_config_and_selection_never_leak(
    page: Page, relay: FakeRelay, ui: TagUI
) -> None:
    # Static canaries sit in a masked container (textarea text, checkbox/radio/option values).
    open_page(page, "masking.html")
    start_chat(relay, ui)
    relay.start_session(mask_selectors=[".secret"])
    # Browser autofill / password managers set values by script, without input events: a
    # masked field stays masked, an unmasked one is still captured (by the periodic poll).
    page.evaluate(f"""() => {{
        const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
        set.call(document.getElementById('pw'), '{CANARY}-autofill');
        set.call(document.getElementById('newpw'), '{CANARY}-newpw');
        set.call(document.getElementById('autofill'), 'jo@example.test');
    }}""")
    relay.wait(
        lambda: (
            (relay.settle(), relay.replica.find(id="autofill")["attrs"].get(":value"))[1]
            == "jo@example.test"
        ),
        timeout=10,
    )
    # A field typed into inside a masked container stays masked when moved out of it.
    page.click("#card")
    page.keyboard.type(f"{CANARY}-moved")
    page.evaluate("() => document.getElementById('f').prepend(document.getElementById('card'))")
    page.keyboard.type("-more")
    relay.settle()
    assert relay.replica.find(id="card")["attrs"][":masked"] == "attribute"
    # The visitor selects text inside a masked container: no range goes out for it.
    page.evaluate("""() => {
        const r = document.createRange();
        r.selectNodeContents(document.getElementById('cardtext'));
        getSelection().removeAllRanges(); getSelection().addRange(r);
    }""")
    relay.settle()
    assert all(not f["ranges"] for f in relay.of_type("selection"))
    # A selector added while the session runs: a fresh snapshot masks the field from then on.
    mark = len(relay.frames)
    relay.send("session.config", session="s1", mask_selectors=[".secret", "#later"])
    relay.replica.load(relay.next_frame("dom.snapshot", mark))
    relay.wait_loaded()
    page.click("#later")
    page.keyboard.type(f"{CANARY}-later")
    relay.settle()
    assert relay.replica.find(id="later")["attrs"][":masked"] == "selector"
    assert relay.replica.find(id="newpw")["attrs"][":masked"] == "autocomplete"
    for field in ("mta", "mcb", "msel", "mrad"):
        assert relay.replica.find(id=field)["attrs"][":masked"] == "attribute", field
    page.wait_for_timeout(1200)  # one more poll of every field
    relay.settle()
    assert [raw for raw in relay.raw if CANARY in raw] == []
