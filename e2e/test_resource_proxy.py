"""The brand's web font reaches the agent's replica through the relay's resource proxy (issue 15,
class 3), and nothing from an origin outside the brand's ``allowed_origins`` does.

The real product: `cobrowse serve` with a settings file whose brand is a web server of its own
on loopback (``e2e.brand_origin``: a real TrueType font, a stylesheet that names it by a
relative URL, an image); a visitor's browser on that site with the tag; a signed-in agent in a
CoBrowse session. The brand sends no CORS headers (a font from it would not load in the replica,
a document of the relay's origin), and the workspace's CSP lets the replica load from the relay
alone: the font is applied in the replica only if it came through the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame

from cobrowse_qa.driver import REPLICA_FRAME, Agent, RelayProcess, Visitor, start_session
from e2e.brand_origin import FONT_FILE, BrandOrigin, brand_origin, png
from e2e.conftest import relay_process
from relay.passwords import hash_password

pytestmark = pytest.mark.browser

PASSWORD = "kim-password-1"
TEXT = "iiiiiiiiiiiiiiii"  # narrow in a proportional font, as wide as "m" in a monospaced one

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Brand fonts</title>
<link rel="stylesheet" href="/css/site.css">
<script src="{relay}/tag.js" async></script>
</head><body>
<p><span id="brand" class="brand">{text}</span></p>
<p><span id="fallback" class="fallback">{text}</span></p>
<div id="bg" class="bg"></div>
<img id="pic" src="/img/pic.png" alt="">
</body></html>
"""
SHEET = b"""@font-face {
  font-family: BrandMono; src: url("../fonts/brand.ttf") format("truetype");
}
.brand { font-family: BrandMono, serif; font-size: 24px; }
.fallback { font-family: serif; font-size: 24px; }
.bg { width: 40px; height: 40px; background: url(../img/bg.png); }
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[BrandOrigin, BrandOrigin, RelayProcess]]:
    """The brand's site, another origin (not the brand's) with the same font, and the relay."""
    with brand_origin() as brand, brand_origin() as other:
        config = tmp_path / "cobrowse.toml"
        config.write_text(
            '[server]\ndatabase = ":memory:"\n\n'
            f'[[brands]]\nid = "brand"\nname = "Brand"\nallowed_origins = ["{brand.url}"]\n\n'
            f'[[agents]]\nid = "kim"\nname = "Kim"\npassword_hash = "{hash_password(PASSWORD)}"\n'
            'brands = ["brand"]\n',
            encoding="utf-8",
        )
        with relay_process(tmp_path, config) as relay:
            brand.add("/page.html", PAGE.format(relay=relay.url, text=TEXT).encode(), "text/html")
            brand.add("/css/site.css", SHEET, "text/css")
            brand.add("/fonts/brand.ttf", FONT_FILE.read_bytes(), "font/ttf")
            brand.add("/img/bg.png", png(40, 40, (10, 120, 200)), "image/png")
            brand.add("/img/pic.png", png(30, 20), "image/png")
            other.add("/fonts/brand.ttf", FONT_FILE.read_bytes(), "font/ttf")
            yield brand, other, relay


def _widths(frame: Frame) -> dict[str, float]:
    """The two spans' widths once the document's fonts have loaded (or failed)."""
    result: dict[str, float] = frame.evaluate(
        """async () => {
            await document.fonts.ready;
            const width = (id) => document.getElementById(id).getBoundingClientRect().width;
            return {brand: width("brand"), fallback: width("fallback")};
        }"""
    )
    return result


def test_the_brand_font_loads_in_the_replica_through_the_proxy_and_no_other_origins(
    browser: Browser, site: tuple[BrandOrigin, BrandOrigin, RelayProcess]
) -> None:
    brand, other, relay = site
    visitor_context = browser.new_context(viewport={"width": 1000, "height": 600})
    agent_context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        visitor = Visitor(visitor_context, relay.url)
        agent = Agent(agent_context, relay.url)
        agent.sign_in("kim", PASSWORD)
        start_session(visitor, agent, "view_only", url=brand.url + "/page.html")

        seen = _widths(visitor.page.main_frame)
        # The negative control: the brand's font makes the text far wider than the fallback.
        assert seen["brand"] > 1.5 * seen["fallback"], seen
        agent.page.wait_for_function(
            """sel => {
                const f = document.querySelector(sel);
                const d = f && f.contentDocument;
                return d && d.getElementById("brand") && d.getElementById("pic");
            }""",
            arg=REPLICA_FRAME,
        )
        handle = agent.page.query_selector(REPLICA_FRAME)
        replica = handle.content_frame() if handle else None
        assert replica is not None
        shown = _widths(replica)
        assert abs(shown["brand"] - seen["brand"]) <= 1, (shown, seen)
        assert abs(shown["fallback"] - seen["fallback"]) <= 1, (shown, seen)
        state = replica.evaluate(
            """async () => {
                const pic = document.getElementById("pic");
                if (!pic.complete) await new Promise((ok) => pic.addEventListener("load", ok));
                return {
                    font: [...document.fonts].map((f) => [f.family, f.status]),
                    link: document.querySelector("link[rel=stylesheet]").href,
                    pic: [pic.naturalWidth, pic.src],
                    bg: getComputedStyle(document.getElementById("bg")).backgroundImage,
                };
            }"""
        )
        proxy = f"{relay.url}/agent/resource/"
        assert ["BrandMono", "loaded"] in state["font"], state
        assert state["link"].startswith(proxy) and state["link"].split("/")[-1].startswith("css?")
        assert state["pic"][0] == 30 and state["pic"][1].startswith(proxy), state
        assert "image?url=" in state["bg"] and proxy in state["bg"], state
        # Every file came from the brand through the relay: none of the agent's requests (its
        # cookies, its Referer) reached the brand, and each file was fetched once.
        for path in ("/css/site.css", "/fonts/brand.ttf", "/img/bg.png", "/img/pic.png"):
            fetched = [headers for p, headers in brand.hits if p == path]
            assert fetched, path
            assert all(h["user-agent"] == "cobrowse-relay resource proxy" for h in fetched[-1:])

        # Refused for an origin outside the brand's allowed_origins: the same font, asked for
        # through the proxy by the signed-in agent of this very session, never loads.
        refused = replica.evaluate(
            """async (url) => {
                const session = parent.CobrowseWorkspace.state.session.id;
                const proxied = location.origin + "/agent/resource/" + session +
                    "/font?url=" + encodeURIComponent(url);
                const answer = await fetch(proxied);
                const face = new FontFace("Elsewhere", "url(" + JSON.stringify(proxied) + ")");
                let status;
                try { await face.load(); status = face.status; } catch (e) { status = "error"; }
                return {status: answer.status, body: await answer.json(), face: status};
            }""",
            other.url + "/fonts/brand.ttf",
        )
        assert refused["status"] == 403 and refused["face"] == "error", refused
        assert refused["body"]["error"]["code"] == "origin_not_allowed"
        assert other.hits == []
        log = relay.log_path.read_text()
        assert "resource.refused reason=origin_not_allowed kind=font" in log
        assert other.url not in log  # the log names the reason, never the URL
    finally:
        agent_context.close()
        visitor_context.close()
