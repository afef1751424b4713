"""CSS cut piece by piece: Python and JavaScript agree, and Chromium's own CSS parser, reading
what we keep, finds nothing forbidden in it.

The oracle is independent of our tokenizer: each sanitized sheet is parsed by the browser
(a ``<style>`` in an inert document of the renderer's page, whose CSP forbids every fetch), and
every rule the browser built is walked: every URL it would fetch, every property and at-rule it
kept. A sheet whose tokens we read differently from Chromium would show up here as a URL or
rule we did not judge. Negative control: the raw inputs do show violations to the same oracle.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops
from playwright.sync_api import Page
from renderer_harness import Loop

from renderer import css, images, policy, svgimage
from renderer.service import Renderer

ORIGINS = ("https://shop.example",)
JUDGE = policy.css_url_judge(ORIGINS)

# Every URL, property and at-rule Chromium keeps of a sheet, read from its CSSOM.
ORACLE_JS = r"""
(texts) => {
  return texts.map((text) => {
    const el = document.createElement('style');
    el.textContent = text;
    document.head.appendChild(el);
    const found = { urls: [], props: [], atRules: [], values: [] };
    const urlsIn = (value) => {
      const re = /url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)]*))\s*\)/g;
      for (const m of value.matchAll(re)) {
        found.urls.push((m[1] ?? m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
      }
    };
    const walk = (rules) => {
      for (const rule of rules) {
        if (rule instanceof CSSImportRule) {
          found.atRules.push('import');
          found.urls.push('@' + rule.href);
        }
        if (rule instanceof CSSNamespaceRule) found.atRules.push('namespace');
        if (rule.style) {
          for (let i = 0; i < rule.style.length; i++) {
            const name = rule.style[i];
            const value = rule.style.getPropertyValue(name);
            found.props.push(name);
            found.values.push(value);
            urlsIn(value);
          }
        }
        if (rule.conditionText) urlsIn(rule.conditionText);
        if (rule.cssRules) walk(rule.cssRules);
      }
    };
    walk(el.sheet.cssRules);
    el.remove();
    return found;
  });
}
"""


def oracle_violations(found: dict[str, list[str]]) -> list[str]:
    bad: list[str] = []
    for url in found["urls"]:
        if url.startswith("@"):
            if not JUDGE(url[1:], True):
                bad.append(f"@import {url[1:]!r}")
        elif not JUDGE(url, False):
            bad.append(f"url({url!r})")
        elif policy.css_svg_image(url) and svgimage.sanitize_data_url(url) != url:
            # An SVG image reaches the agent only as renderer.svgimage wrote it.
            bad.append(f"SVG image not rebuilt: {url[:60]!r}")
    bad += [f"property {p}" for p in found["props"] if p in css.FORBIDDEN_PROPERTIES]
    bad += [f"@{a}" for a in found["atRules"] if a in css.FORBIDDEN_AT_RULES]
    for value in found["values"]:
        squashed = "".join(value.split()).lower()
        bad += [f"value {value[:40]!r}" for f in css.FORBIDDEN_FUNCTIONS if f + "(" in squashed]
    return bad


def cases() -> list[str]:
    decisions = json.loads((Path(__file__).parent / "fixtures" / "decisions.json").read_text())
    return [c["value"] for c in decisions["cases"] if c["kind"] in ("css", "sanitize")]


HOSTILE = [
    "a{background:url(https://evil.example/a.png)}",
    "@import url(https://evil.example/x.css);",
    "@import 'https://evil.example/x.css' screen;",
    "@namespace x url(https://evil.example/);a{b:c}",
    "a{--x:url(https://evil.example/v)}b{background:var(--x)}",
    "a{background:u\\72l(https://evil.example/x)}",
    "a{background:\\75 rl(https://evil.example/x)}",
    "@media screen{@supports (x:y){a{&:hover{background:url('https://evil.example/n')}}}}",
    "@font-face{src:url(https://evil.example/f.woff2)}",
    "@keyframes k{from{background:url(https://evil.example/k)}}",
    'a{mask:url("data:image/svg+xml,<svg onload=alert(1)>")}',
    "a{background:image-set('https://evil.example/i.png' 1x)}",
    "a{list-style:url(https://evil.example/l.png)}",
    "a{cursor:url(https://evil.example/c.cur),auto}",
    "@page{background:url(https://evil.example/p)}",
    "@layer x{a{background:url(https://evil.example/layer)}}",
    "@container (min-width:1px){a{background:url(https://evil.example/c)}}",
]


def browser_sanitize(loop: Loop, renderer: Renderer, texts: list[str]) -> list[str]:
    slot = loop.run(renderer._slot_for_new_session())
    payload = {
        "origins": list(ORIGINS),
        "cases": [{"kind": "sanitize", "tag": None, "attr": None, "value": t} for t in texts],
    }
    raw = loop.run(slot.page.evaluate("p => CobrowseRenderer.decide(p)", json.dumps(payload)))
    out: list[str] = json.loads(raw)
    return out


def browser_oracle(loop: Loop, renderer: Renderer, texts: list[str]) -> list[dict[str, Any]]:
    """Chromium's reading of each sheet, in a blank page of the renderer's browser context
    (where every request is aborted), as ``<style>`` text: @import rules included."""
    slot = loop.run(renderer._slot_for_new_session())
    page = loop.run(slot.page.context.new_page())
    try:
        found: list[dict[str, Any]] = loop.run(page.evaluate(ORACLE_JS, texts))
    finally:
        loop.run(page.close())
    return found


@pytest.mark.browser
def test_negative_control_the_oracle_sees_the_raw_sheets(loop: Loop, renderer: Renderer) -> None:
    found = browser_oracle(loop, renderer, HOSTILE)
    missed = [text for text, f in zip(HOSTILE, found, strict=True) if not oracle_violations(f)]
    # image-set(strings) is kept by Chromium as a value, not as url(): the value check sees it.
    assert missed == []


@pytest.mark.browser
def test_what_we_keep_chromium_reads_as_nothing_forbidden(loop: Loop, renderer: Renderer) -> None:
    texts = HOSTILE + cases()
    ours = [policy.sanitize_css(t, ORIGINS) for t in texts]
    assert browser_sanitize(loop, renderer, texts) == ours
    # What the agent gets: data: images re-encoded, SVG ones rebuilt (renderer.images).
    found = browser_oracle(loop, renderer, [images.reencode_css(t) for t in ours])
    bad = {t: oracle_violations(f) for t, f in zip(texts, found, strict=True)}
    assert {t: v for t, v in bad.items() if v} == {}


CHECK_ICON = (
    "data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 20 20'%3e%3cpath "
    "fill='none' stroke='%23fff' stroke-linecap='round' stroke-linejoin='round' stroke-width='3' "
    "d='m6 10 3 3 6-6'/%3e%3c/svg%3e"
)  # Bootstrap 5.3's .form-check-input:checked[type=checkbox] icon


def test_brand_styles_survive_and_their_svg_icons_are_rebuilt() -> None:
    sheet = (
        "html{scroll-behavior:smooth}"
        ".bi-javascript::before{content:'\\f101'}"
        'a[href^="javascript:"]{color:red}'
        f'.form-check-input:checked{{background-image:url("{CHECK_ICON}");background-color:#0d6efd}}'
    )
    assert policy.sanitize_css(sheet, ORIGINS) == sheet
    rebuilt = svgimage.sanitize_data_url(CHECK_ICON)
    assert rebuilt is not None and rebuilt.startswith("data:image/svg+xml;base64,")
    assert images.reencode_css(sheet) == sheet.replace(f'url("{CHECK_ICON}")', f"url({rebuilt})")
    assert svgimage.sanitize_data_url(rebuilt) == rebuilt  # a fixpoint of the allowlist


HOSTILE_SVGS = {
    "handler and script": "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>"
    "<script>alert(1)</script><rect width='1' height='1'/></svg>",
    "foreignObject": "<svg xmlns='http://www.w3.org/2000/svg'><foreignObject><div "
    "xmlns='http://www.w3.org/1999/xhtml'>x</div></foreignObject></svg>",
    "external image and use": "<svg xmlns='http://www.w3.org/2000/svg' "
    "xmlns:xlink='http://www.w3.org/1999/xlink'><image href='https://evil.example/i.png'/>"
    "<use xlink:href='https://evil.example/s.svg#x'/></svg>",
    "CSS fetch in an attribute": "<svg xmlns='http://www.w3.org/2000/svg'>"
    "<rect style='fill:url(https://evil.example/p)' width='1'/></svg>",
    "style element": "<svg xmlns='http://www.w3.org/2000/svg'><style>@import "
    "'https://evil.example/x.css';</style></svg>",
    "animation to javascript:": "<svg xmlns='http://www.w3.org/2000/svg'><a><set "
    "attributeName='href' to='javascript:alert(1)'/></a></svg>",
}


@pytest.mark.parametrize("svg", list(HOSTILE_SVGS.values()), ids=list(HOSTILE_SVGS))
def test_nothing_that_acts_or_fetches_survives_an_svg_image(svg: str) -> None:
    out = svgimage.sanitize_data_url("data:image/svg+xml," + quote(svg))
    assert out is not None
    text = base64.b64decode(out.split(",", 1)[1]).decode()
    for bad in ("onload", "script", "foreignObject", "evil.example", "<style", "<set", "<a"):
        assert bad not in text


@pytest.mark.parametrize(
    "url",
    [
        "data:image/svg+xml,<!DOCTYPE svg [<!ENTITY a 'x'>]><svg "
        "xmlns='http://www.w3.org/2000/svg'>&a;</svg>",
        "data:image/svg+xml,<html xmlns='http://www.w3.org/1999/xhtml'/>",
        "data:image/svg+xml,<svg",
        "data:image/svg+xml;base64,!!!",
        "data:image/svg+xml," + "<svg xmlns='http://www.w3.org/2000/svg'>" + "<g>" * 3000,
        "data:image/png;base64,iVBORw0KGgo=",
    ],
    ids=["entity", "not svg", "not well-formed", "bad base64", "too many", "not svg data"],
)
def test_an_svg_image_that_cannot_be_read_safely_is_dropped(url: str) -> None:
    assert svgimage.sanitize_data_url(url) is None


@pytest.mark.browser
def test_a_rebuilt_icon_is_drawn_as_the_original(page: Page) -> None:
    rebuilt = svgimage.sanitize_data_url(CHECK_ICON)
    shots = []
    for url in (CHECK_ICON, rebuilt):
        page.set_content(
            f'<style>div{{width:40px;height:40px;background:#0d6efd url("{url}") '
            "center/100% no-repeat}</style><div></div>"
        )
        page.evaluate(
            "(u) => new Promise((done) => { const i = new Image(); i.onload = i.onerror = done;"
            " i.src = u; })",
            url,
        )
        shots.append(page.locator("div").screenshot())
    original, ours = (Image.open(io.BytesIO(s)).convert("RGB") for s in shots)
    # The tick is white on blue: present, and the same pixels.
    assert original.getcolors(4096) is not None
    assert any(c == (255, 255, 255) for _, c in original.getcolors(4096) or [])
    assert ImageChops.difference(original, ours).getbbox() is None


def test_a_data_image_in_css_is_re_encoded_and_a_broken_one_emptied() -> None:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
        "hQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    sheet = (
        f"a{{background:url(data:image/png;base64,{png}) red}}"
        "b{x:url('data:image/png;base64,AAAA')}"
    )
    assert policy.css_allowed(sheet, ORIGINS)
    out = images.reencode_css(sheet)
    fresh = images.reencode(f"data:image/png;base64,{png}")
    assert fresh is not None
    assert out == f"a{{background:url({fresh}) red}}b{{x:url()}}"
    assert images.reencode_css("a{color:red}") == "a{color:red}"


FRAGMENTS = [
    "a", "b", "{", "}", ";", ":", "(", ")", "[", "]", '"', "'", "\\", "/*", "*/", " ", "\n",
    "url(", "url( '", "u\\rl(", "\\75 rl(", "https://evil.example/x", "https://shop.example/y",
    "#f", "javascript:", "expression(", "behavior", "-moz-binding", "@import ", "@media x",
    "@namespace ", "data:image/png;base64,iVBORw0KGgo=", "data:image/svg+xml,<svg>", "--v:",
    "&", "-", "image-set(", "src(", "\\", "\\29", "<!--", "-->", ",", "%", "1px", "@font-face",
]  # fmt: skip


@pytest.mark.browser
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join), min_size=20, max_size=20
    )
)
def test_generated_sheets_python_and_javascript_agree_and_chromium_finds_nothing(
    loop: Loop, renderer: Renderer, texts: list[str]
) -> None:
    ours = [policy.sanitize_css(t, ORIGINS) for t in texts]
    assert browser_sanitize(loop, renderer, texts) == ours
    # Sanitizing again changes nothing (the agent may be sent a sheet twice).
    assert [policy.sanitize_css(t, ORIGINS) for t in ours] == ours
    found = browser_oracle(loop, renderer, [images.reencode_css(t) for t in ours])
    bad = {t: oracle_violations(f) for t, f in zip(texts, found, strict=True)}
    assert {t: v for t, v in bad.items() if v} == {}
