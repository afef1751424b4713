"""The policy as data, and the golden decisions checked against policy.py and sanitizer.js."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from renderer_harness import Loop

from renderer import policy
from renderer.service import Renderer

DECISIONS = json.loads((Path(__file__).parent / "fixtures" / "decisions.json").read_text("utf-8"))


def python_decision(case: dict[str, Any], origins: tuple[str, ...]) -> object:
    ns = case.get("ns") or "html"
    if case["kind"] == "css":
        return policy.css_allowed(case["value"], origins)
    if case["kind"] == "sanitize":
        return policy.sanitize_css(case["value"], origins, case.get("declarations") is True)
    if case["kind"] == "url":
        return policy.url_allowed(case["value"], case["url_kind"], origins)
    if case["kind"] == "absolute":
        return policy.absolute_url(case["attr"], case["value"], policy.origin_of(case["page"]))
    if case["kind"] == "reason":
        page_origin = policy.origin_of(case.get("page", ""))
        return policy.placeholder_reason(case["tag"], case["attrs"], origins, page_origin)
    if case["attr"] is None:
        return policy.element_action(case["tag"], case.get("attrs") or {}, ns, origins)
    return policy.attribute_allowed(case["tag"], case["attr"], case["value"], ns, origins)


def _label(case: dict[str, Any]) -> str:
    return f"{case['kind']}:{case.get('ns')}:{case['tag']}:{case['attr']}={case.get('value')!r}"


@pytest.mark.parametrize("case", DECISIONS["cases"], ids=_label)
def test_golden_decisions_python(case: dict[str, Any]) -> None:
    assert python_decision(case, tuple(DECISIONS["origins"])) == case["expected"]


@pytest.mark.browser
def test_golden_decisions_browser(loop: Loop, renderer: Renderer) -> None:
    """The in-browser sanitizer answers every golden case exactly as policy.py does."""
    slot = loop.run(renderer._slot_for_new_session())
    raw = loop.run(slot.page.evaluate("p => CobrowseRenderer.decide(p)", json.dumps(DECISIONS)))
    answers = json.loads(raw)
    wrong = [
        (_label(c), c["expected"], a)
        for c, a in zip(DECISIONS["cases"], answers, strict=True)
        if a != c["expected"]
    ]
    assert wrong == []


def test_golden_file_covers_the_minimum_policy() -> None:
    tags = {c["tag"] for c in DECISIONS["cases"] if c["kind"] == "element"}
    assert {
        "script",
        "noscript",
        "object",
        "embed",
        "applet",
        "frame",
        "frameset",
        "base",
        "portal",
        "template",
        "iframe",
        "link",
        "meta",
    } <= tags
    attrs = {c["attr"] for c in DECISIONS["cases"] if c["kind"] == "attr"}
    assert {
        "onclick",
        "srcdoc",
        "formaction",
        "action",
        "href",
        "src",
        "srcset",
        "style",
        "attributeName",
        "http-equiv",
    } <= attrs


def test_policy_is_frozen_data() -> None:
    for name in (
        "HTML_ELEMENTS",
        "SVG_ELEMENTS",
        "MATHML_ELEMENTS",
        "HTML_ATTRS",
        "SVG_ATTRS",
        "MATHML_ATTRS",
        "GLOBAL_ATTRS",
        "LINK_RELS",
        "DATA_IMAGE_TYPES",
        "URL_ATTRS",
    ):
        assert isinstance(getattr(policy, name), frozenset), name
    with pytest.raises(AttributeError):
        policy.BrandPolicy().origins = ("https://x.example",)  # type: ignore[misc]
    # The JSON handed to the browser round-trips and holds nothing but plain data.
    assert json.loads(json.dumps(policy.policy_json())) == policy.policy_json()


def test_unknown_is_denied() -> None:
    assert policy.element_action("frobnicate", {}) == "drop"
    assert policy.element_action("cobrowse-root", {}) == "drop"  # ours, never the visitor's
    assert policy.element_action("div", {}, "xml") == "drop"
    assert not policy.attribute_allowed("div", "frobnicate", "1")
    assert not policy.url_allowed("gopher://x.example/", "navigation")
    assert not policy.url_allowed("https://shop.example/", "resource")  # no origins: no fetch


def test_every_url_attribute_has_a_kind_per_tag() -> None:
    # A URL attribute on a tag without a URL_KINDS entry is denied even if the value is fine.
    assert policy.attribute_allowed(
        "img", "src", "https://a.example/x.png", origins=("https://a.example",)
    )
    assert not policy.attribute_allowed(
        "span", "src", "https://a.example/x.png", origins=("https://a.example",)
    )
    for (ns, _tag, attr), kind in policy.URL_KINDS.items():
        assert attr in policy.URL_ATTRS
        assert attr in policy.ATTRS[ns] or attr in policy.GLOBAL_ATTRS
        assert kind in ("navigation", "resource", "image", "fragment")


def test_forbidden_elements_are_not_on_any_allowlist() -> None:
    every = policy.HTML_ELEMENTS | policy.SVG_ELEMENTS | policy.MATHML_ELEMENTS
    assert every.isdisjoint(
        {
            "script",
            "noscript",
            "object",
            "embed",
            "applet",
            "frame",
            "frameset",
            "base",
            "portal",
            "template",
            "annotation-xml",
        }
    )
    all_attrs = policy.HTML_ATTRS | policy.SVG_ATTRS | policy.MATHML_ATTRS | policy.GLOBAL_ATTRS
    assert not [a for a in all_attrs if a.lower().startswith("on")]
    assert all_attrs.isdisjoint({"srcdoc", "formaction", "action", "http-equiv", "target"})


def test_custom_elements_are_kept_and_can_host_shadow_roots() -> None:
    # The hosts of most open shadow roots; inert in the agent's replica (no definitions).
    assert policy.element_action("x-card", {}) == "keep"
    assert policy.element_action("x-card", {}, "svg") == "drop"
    assert policy.element_action("font-face", {}) == "drop"  # reserved by the HTML spec
    assert not policy.attribute_allowed(
        "x-card", "src", "https://a.example/x", origins=("https://a.example",)
    )
    assert policy.can_host_shadow("x-card") and policy.can_host_shadow("div")
    assert not any(
        policy.can_host_shadow(tag) for tag in ("script", "img", "input", "iframe", "style", "a")
    )
    assert not policy.can_host_shadow("div", "svg")


def test_plugin_objects_are_placeholders_labelled_plugin_object() -> None:
    """Issue #5: the agent is told where a plugin was, never given the plugin."""
    for tag in ("object", "embed", "applet"):
        assert policy.element_action(tag, {"data": "https://shop.example/x"}) == "placeholder"
        assert policy.placeholder_reason(tag, {}, ("https://shop.example",)) == "plugin object"
        assert tag not in policy.HTML_ELEMENTS  # nothing of it is ever kept as an element
    assert policy.element_action("object", {}, "svg") == "drop"
    assert "plugin object" in policy.PLACEHOLDER_REASONS
    assert policy.attribute_allowed("div", policy.PLACEHOLDER_ATTR, "plugin object")


def test_golden_file_covers_urls_on_the_page_origin_and_every_placeholder_reason() -> None:
    absolute = [c for c in DECISIONS["cases"] if c["kind"] == "absolute"]
    values = {c["value"] for c in absolute}
    assert {"/a.png", "//evil.example/a.png", "/\\evil.example/a.png"} <= values
    assert {c["attr"] for c in absolute} >= {"src", "href", "poster", "srcset"}
    reasons = {c["expected"] for c in DECISIONS["cases"] if c["kind"] == "reason"}
    assert reasons == policy.PLACEHOLDER_REASONS


def test_origin_relative_urls_only_are_resolved() -> None:
    page = policy.origin_of("https://shop.example/dir/x.html")
    assert policy.absolute_url("src", "/a.png", page) == "https://shop.example/a.png"
    assert policy.absolute_url("src", "//evil.example/a.png", page) == "//evil.example/a.png"
    assert policy.absolute_url("src", "/a.png", None) == "/a.png"
    assert policy.absolute_url("class", "/a", page) == "/a"
    # Resolved, then judged: the page's own origin is fetched only if the brand allows it.
    origins = ("https://shop.example",)
    assert policy.attribute_allowed(
        "img", "src", policy.absolute_url("src", "/a.png", page), origins=origins
    )
    assert not policy.attribute_allowed("img", "src", "/a.png", origins=origins)
