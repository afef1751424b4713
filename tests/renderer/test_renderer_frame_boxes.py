"""A third-party iframe keeps its exact box (issue 15, class 1): the renderer sends it as an
empty iframe placeholder with what gives it its box (id, class, style, width, height,
frameborder, align), so the page's CSS for iframes still matches it, and replica.js builds it as
an iframe of its own (no src, every sandbox restriction, a constant label). Each case is laid
out by Chromium twice, as the visitor's real page and as the replica of the renderer's output,
and the frames' boxes and the text around them compared."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from renderer_harness import BRAND, Loop, build_replica, new_session, snapshot_message

from renderer.service import Renderer

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1000, "height": 700}
THIRD = "https://ads.example/embed"
TEXT = "<p>" + "Words beside the frame flow around it as the visitor sees them. " * 6 + "</p>"

CASES: dict[str, tuple[str, str]] = {
    "floated by a class rule": (
        "iframe.f{float:left;width:280px;height:200px;margin:0 16px 8px 0}",
        f"<iframe class=f src={THIRD}></iframe>{TEXT}",
    ),
    "16:9 wrapper": (
        ".r{position:relative;padding-top:56.25%}"
        ".r iframe{position:absolute;top:0;left:0;width:100%;height:100%;border:0}",
        f"<div class=r><iframe src={THIRD}></iframe></div>{TEXT}",
    ),
    "the browser's defaults": ("", f"<iframe src={THIRD}></iframe>{TEXT}"),
    "width, height and frameborder attributes": (
        "",
        f"<iframe src={THIRD} width=400 height=90 frameborder=0></iframe>{TEXT}",
    ),
    "a style attribute": (
        "",
        f"<iframe src={THIRD} style='width:50%;height:120px;border:4px solid red'></iframe>{TEXT}",
    ),
    "aspect-ratio on every iframe": (
        "iframe{aspect-ratio:16/9;width:60%;height:auto;display:block}",
        f"<iframe src={THIRD}></iframe>{TEXT}",
    ),
    "inline in a line of text": (
        "",
        f"<p>before <iframe src={THIRD} width=120 height=40></iframe> after</p>",
    ),
    "align=right": ("", f"<iframe src={THIRD} align=right width=200 height=100></iframe>{TEXT}"),
    "by id, in a grid": (
        ".g{display:grid;grid-template-columns:1fr 2fr;gap:10px}#ad{width:100%;height:150px}",
        f"<div class=g><iframe id=ad src={THIRD}></iframe>{TEXT}</div>",
    ),
}

BOXES_JS = """(doc) => Array.from(doc.querySelectorAll('iframe, p')).map((el) => {
    const r = el.getBoundingClientRect();
    return [el.localName, r.left, r.top, r.width, r.height];
})"""


def _html(style: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><style>{style}</style></head><body>{body}</body></html>"


def test_a_third_party_iframe_keeps_the_box_the_visitors_browser_gives_it(
    loop: Loop, renderer: Renderer, page: Page
) -> None:
    page.set_viewport_size(VIEWPORT)
    page.route("**/*", lambda route: route.abort())  # the visitor's frames load nothing here
    wrong: dict[str, list[str]] = {}
    for name, (style, body) in CASES.items():
        html = _html(style, body)
        session = new_session()
        doc = loop.run(renderer.parse_html(html, "https://shop.example/"))
        message = {**snapshot_message(doc, session), "url": "https://shop.example/"}
        out = loop.run(renderer.snapshot(session, message, BRAND))
        loop.run(renderer.drop(session))
        page.set_content(html)
        visitor = page.evaluate(f"() => ({BOXES_JS})(document)")
        build_replica(page, out, VIEWPORT)
        replica = page.evaluate(
            f"""() => ({BOXES_JS})(
                document.querySelector('[data-testid=replica-frame]').contentDocument)"""
        )
        off = [
            f"{v} for the visitor, {r} in the replica"
            for v, r in zip(visitor, replica, strict=False)
            if v[0] != r[0] or any(abs(a - b) > 1 for a, b in zip(v[1:], r[1:], strict=True))
        ]
        if off or len(visitor) != len(replica):
            wrong[name] = off or [f"{len(visitor)} boxes, {len(replica)} in the replica"]
    assert wrong == {}


def test_the_placeholder_frame_loads_nothing_and_says_what_it_is(
    loop: Loop, renderer: Renderer, page: Page
) -> None:
    html = _html("", f"<iframe src={THIRD} name=ad srcdoc='<b>x</b>' allow=camera></iframe>")
    session = new_session()
    doc = loop.run(renderer.parse_html(html, "https://shop.example/"))
    out = loop.run(renderer.snapshot(session, snapshot_message(doc, session), BRAND))
    loop.run(renderer.drop(session))
    build_replica(page, out, VIEWPORT)
    frame = page.evaluate(
        """() => {
            const doc = document.querySelector('[data-testid=replica-frame]').contentDocument;
            const f = doc.querySelector('iframe');
            return {attrs: Array.from(f.attributes, (a) => a.name).sort(),
                    sandbox: f.getAttribute('sandbox'), title: f.title,
                    src: f.getAttribute('src')};
        }"""
    )
    assert frame["sandbox"] == "" and frame["src"] is None
    assert "name" not in frame["attrs"] and "allow" not in frame["attrs"]
    assert frame["title"].startswith("Not visible to you")
    label = page.frame_locator("[data-testid=replica-frame]").frame_locator("iframe")
    assert label.locator("body").inner_text() == "Not visible to you: third-party iframe"
    # A later attribute change that would load something is refused by the replica too.
    page.evaluate(
        """() => {
            const doc = document.querySelector('[data-testid=replica-frame]').contentDocument;
            window.replica._setAttribute(doc.querySelector('iframe'), 'src', 'https://evil.example/');
        }"""
    )
    assert (
        page.evaluate(
            """() => document.querySelector('[data-testid=replica-frame]').contentDocument
            .querySelector('iframe').getAttribute('src')"""
        )
        is None
    )
