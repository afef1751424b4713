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
    if case["kind"] == "url":
        return policy.url_allowed(case["value"], case["url_kind"], origins)
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
