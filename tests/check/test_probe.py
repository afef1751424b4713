"""probe.js on a page of its own (no relay): the built-ins check tells the tag's own wrapper of
``attachShadow`` (a Proxy of the native method, docs/protocol.md ":shadow") from a page's
replacement. The real tag on real pages: ``test_check.py``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from cobrowse_check import rules
from cobrowse_check.probe import PROBE_JS

pytestmark = pytest.mark.browser

# As the tag (tag_js/src/serialize.js) does it: a Proxy whose apply trap calls the native method.
TAG_WRAPPER = """() => {
    const original = Element.prototype.attachShadow;
    const wrapped = new Proxy(original, {
        apply: (target, self, args) => Reflect.apply(target, self, args)});
    Object.defineProperty(Element.prototype, 'attachShadow', {value: wrapped, writable: true,
        configurable: true});
}"""
PAGE_WRAPPER = """() => {
    const original = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (init) { return original.call(this, init); };
}"""


def overwritten(page: Page) -> list[str]:
    probe = page.evaluate(PROBE_JS, {"selectors": [], "sensitive": rules.SENSITIVE_NAMES})
    return list(probe["overwritten"])


def test_the_tags_own_attach_shadow_wrapper_is_not_a_page_override(page: Page) -> None:
    page.set_content("<!DOCTYPE html><title>probe</title><p>hello</p>")
    assert overwritten(page) == []
    page.evaluate(TAG_WRAPPER)
    assert overwritten(page) == []
    # The page wraps it again, over the tag's: that is the page's replacement, and is named.
    page.evaluate(PAGE_WRAPPER)
    assert overwritten(page) == ["Element.prototype.attachShadow"]


def test_a_page_wrapper_without_the_tag_is_named(page: Page) -> None:
    page.set_content("<!DOCTYPE html><title>probe</title><p>hello</p>")
    page.evaluate(PAGE_WRAPPER)
    assert overwritten(page) == ["Element.prototype.attachShadow"]
