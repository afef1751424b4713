"""The resource proxy (relay/resources.py): a new way for the relay to reach the network, so
every refusal is tested against a real brand server on loopback (no mocks): the fetcher alone,
then the route in the relay (who may ask, what is logged).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import quote

import pytest
from helpers import receive_until, run_async
from starlette.testclient import TestClient

from e2e.brand_origin import FONT_FILE, BrandOrigin, brand_origin, png
from relay.app import RelayServer
from relay.resources import ByteCache, Refused, Resource, ResourceFetcher, proxied_stylesheet
from relay.settings import (
    DEMO_AGENT_LOGIN,
    DEMO_AGENT_PASSWORD,
    Brand,
    ServerLimits,
    demo_settings,
)

FONT = FONT_FILE.read_bytes()
LIMIT = 64 * 1024  # resource_bytes in these tests (the font is over it: see ``big``)
OWN = "http://testserver"


@pytest.fixture
def brand() -> Iterator[BrandOrigin]:
    with brand_origin() as origin:
        origin.add("/font.woff", FONT[: LIMIT // 2], "font/ttf")  # a font's head: magic bytes
        origin.add("/octet.ttf", FONT[:1000], "application/octet-stream")
        origin.add("/pixel.png", png(), "image/png")
        yield origin


def fetcher(private_allowed: bool = False, timeout: float = 5.0) -> ResourceFetcher:
    limits = ServerLimits(resource_bytes=LIMIT, resource_timeout_seconds=timeout)
    return ResourceFetcher(limits, private_allowed)


def fetch(
    kind: str, url: str, origins: tuple[str, ...], private_allowed: bool = False,
    timeout: float = 5.0,
) -> Resource:  # fmt: skip
    found: Resource = run_async(lambda: fetcher(private_allowed, timeout).fetch(kind, url, origins))
    return found


def refusal(
    kind: str, url: str, origins: tuple[str, ...], private_allowed: bool = False,
    timeout: float = 5.0,
) -> str:  # fmt: skip
    with pytest.raises(Refused) as refused:
        fetch(kind, url, origins, private_allowed, timeout)
    return refused.value.code


# ---------------------------------------------------------------- the fetcher


def test_a_brand_font_is_fetched_with_nothing_of_the_agents_request(brand: BrandOrigin) -> None:
    found = fetch("font", brand.url + "/font.woff", (brand.url,))
    assert found == Resource("font/ttf", FONT[: LIMIT // 2])
    path, headers = brand.hits[0]
    assert path == "/font.woff"
    # No cookie, credential, Referer or Origin: only what the proxy itself says.
    assert set(headers) == {"host", "user-agent", "accept", "accept-encoding", "connection"}
    assert headers["accept-encoding"] == "identity"
    # A font served as application/octet-stream (common) passes by its own first bytes.
    assert fetch("font", brand.url + "/octet.ttf", (brand.url,)).content_type == "font/ttf"
    assert fetch("image", brand.url + "/pixel.png", (brand.url,)).content_type == "image/png"


def test_urls_that_are_not_plain_brand_urls_are_refused_before_any_request(
    brand: BrandOrigin,
) -> None:
    with brand_origin() as other:
        other.add("/font.woff", FONT[:1000], "font/ttf")
        cases = {
            other.url + "/font.woff": "origin_not_allowed",  # a real font, on another origin
            "javascript:alert(1)": "not_http",
            "data:font/ttf;base64,AAEAAA==": "not_http",
            "blob:" + brand.url + "/x": "not_http",
            "file:///etc/passwd": "not_http",
            "/font.woff": "not_http",
            "//127.0.0.1/font.woff": "not_http",
            "": "no_url",
            brand.url.replace("//", "//user:pw@") + "/font.woff": "malformed_url",
            brand.url + "@" + other.url[7:] + "/font.woff": "malformed_url",
            brand.url + "\\@evil.example/": "malformed_url",
            brand.url + "/a\tb": "malformed_url",
            brand.url + "/fonts/../font.woff": "path_trick",
            brand.url + "/fonts/%2e%2e/font.woff": "path_trick",
            brand.url + "/fonts/%2E/font.woff": "path_trick",
            brand.url.replace("127.0.0.1", "127.0.0.1%2eevil.example") + "/x": "malformed_url",
        }
        for url, code in cases.items():
            assert refusal("font", url, (brand.url,)) == code, url
        assert brand.hits == [] and other.hits == []


def test_a_wrong_content_type_is_refused(brand: BrandOrigin) -> None:
    brand.add("/page.html", b"<script>alert(1)</script>", "text/html")
    brand.add("/fake.ttf", b"<html><script>alert(1)</script>", "font/ttf")
    brand.add("/none", FONT[:1000], None)
    brand.add("/evil.svg", b"<html><script>alert(1)</script></html>", "image/svg+xml")
    brand.add("/style.css", b"body{}", "text/css")
    origins = (brand.url,)
    assert refusal("font", brand.url + "/page.html", origins) == "wrong_type"
    assert refusal("font", brand.url + "/fake.ttf", origins) == "wrong_type"  # by its bytes
    assert refusal("font", brand.url + "/none", origins) == "wrong_type"
    assert refusal("font", brand.url + "/pixel.png", origins) == "wrong_type"
    assert refusal("image", brand.url + "/font.woff", origins) == "wrong_type"
    assert refusal("image", brand.url + "/evil.svg", origins) == "wrong_type"
    assert refusal("css", brand.url + "/page.html", origins) == "wrong_type"
    assert refusal("image", brand.url + "/style.css", origins) == "wrong_type"
    assert refusal("image", brand.url + "/missing.png", origins) == "upstream_status"


def test_an_svg_image_is_served_only_as_an_image() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>'
    with brand_origin() as brand:
        brand.add("/icon.svg", svg, "image/svg+xml")
        found = fetch("image", brand.url + "/icon.svg", (brand.url,))
        assert found == Resource("image/svg+xml", svg)  # the route adds CSP sandbox: below


def test_an_oversized_file_is_cut_off_as_it_streams(brand: BrandOrigin) -> None:
    big = FONT * 20  # 6.8 MB: far past the 64 KiB limit
    brand.add("/declared.ttf", big, "font/ttf")
    brand.add("/streamed.ttf", big, "font/ttf", streamed=True)
    assert refusal("font", brand.url + "/declared.ttf", (brand.url,)) == "too_large"
    assert refusal("font", brand.url + "/streamed.ttf", (brand.url,)) == "too_large"


def test_only_same_origin_redirects_are_followed_each_judged_again(brand: BrandOrigin) -> None:
    with brand_origin() as other:
        other.add("/font.woff", FONT[:1000], "font/ttf")
        redirect = {"Location": "/font.woff"}
        brand.add("/same", b"", None, 302, redirect)
        brand.add("/other", b"", None, 301, {"Location": other.url + "/font.woff"})
        brand.add("/script", b"", None, 302, {"Location": "javascript:alert(1)"})
        brand.add("/tricky", b"", None, 307, {"Location": "/a/%2e%2e/font.woff"})
        brand.add("/loop", b"", None, 302, {"Location": "/loop"})
        origins = (brand.url, other.url)  # both allowed: a redirect still may not cross
        assert fetch("font", brand.url + "/same", origins).body == FONT[: LIMIT // 2]
        assert refusal("font", brand.url + "/other", origins) == "redirect_other_origin"
        assert refusal("font", brand.url + "/script", origins) == "not_http"
        assert refusal("font", brand.url + "/tricky", origins) == "path_trick"
        assert refusal("font", brand.url + "/loop", origins) == "too_many_redirects"
        assert other.hits == []


def test_private_and_link_local_addresses(brand: BrandOrigin) -> None:
    # The same loopback server, named by a host name that resolves to a loopback address:
    # refused unless the settings allow private addresses.
    named = brand.url.replace("127.0.0.1", "localhost")
    assert refusal("font", named + "/font.woff", (named,)) == "private_address"
    assert brand.hits == []
    assert fetch("font", named + "/font.woff", (named,), private_allowed=True).body
    # Written as an IP address in the brand's origins: the admin chose it (the tests' case).
    assert fetch("font", brand.url + "/font.woff", (brand.url,)).body
    # Link-local (cloud metadata) and unspecified: never, whatever the settings say.
    for host in ("http://169.254.169.254", "http://0.0.0.0:9", "http://[::ffff:169.254.1.1]"):
        code = refusal("image", host + "/latest/meta-data", (host,), private_allowed=True)
        assert code in ("forbidden_address", "malformed_url"), host
    metadata = "http://169.254.169.254"
    assert refusal("image", metadata + "/x.png", (metadata,)) == "forbidden_address"


def test_a_server_that_never_answers_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # accepts connections (the kernel does), never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        assert refusal("font", url + "/f.woff", (url,), timeout=0.5) == "timeout"
    finally:
        silent.close()


# ---------------------------------------------------------------- stylesheets


def test_a_stylesheets_urls_are_made_absolute_sanitized_and_pointed_at_the_proxy() -> None:
    base = "http://127.0.0.1:9000/css/site.css"
    origins = ("http://127.0.0.1:9000",)
    text = (
        '@import "more.css";\n'
        "@import url(print.css) print;\n"
        "@font-face{font-family:Brand;src:url(../fonts/brand.woff2) format('woff2')}\n"
        "body{font-family:Brand;background:url('/img/bg.png')}\n"
        "svg{fill:url(#paint)}\n"
    )
    sheet = proxied_stylesheet(text, base, origins)

    def proxied(kind: str, url: str) -> str:
        return f'"{kind}?url={quote(url, safe="")}"'

    assert f"@import {proxied('css', 'http://127.0.0.1:9000/css/more.css')};" in sheet
    assert f"@import url({proxied('css', 'http://127.0.0.1:9000/css/print.css')}) print;" in sheet
    assert f"src:url({proxied('font', 'http://127.0.0.1:9000/fonts/brand.woff2')})" in sheet
    assert f"background:url({proxied('image', 'http://127.0.0.1:9000/img/bg.png')})" in sheet
    assert "url(#paint)" in sheet
    # A URL on another origin, or script: the sanitizer's verdict, before any rewriting (only
    # the offending piece goes, the rest of the brand's sheet stays).
    bad = "body{background:url(https://evil.example/x.png) red}a{b:expression(alert(1));c:d}"
    assert proxied_stylesheet(bad, base, origins) == "body{background:url() red}a{c:d}"
    # An escaped URL is read as the browser reads it, and proxied like any other.
    escaped = proxied_stylesheet("a{background:u\\72l(/img/b\\67.png)}", base, origins)
    assert escaped == f"a{{background:url({proxied('image', 'http://127.0.0.1:9000/img/bg.png')})}}"


def test_the_cache_keeps_the_most_recent_files_within_its_bytes() -> None:
    now = [0.0]
    cache = ByteCache(1000, clock=lambda: now[0])
    for name in "abcd":
        cache.put(("image", name), Resource("image/png", b"x" * 240))
    assert cache.get(("image", "a")) is not None  # a is now the most recent
    cache.put(("image", "e"), Resource("image/png", b"x" * 240))
    assert cache.get(("image", "b")) is None and cache.get(("image", "a")) is not None
    assert cache.size <= 1000
    cache.put(("image", "big"), Resource("image/png", b"x" * 600))  # over a quarter: not kept
    assert cache.get(("image", "big")) is None
    now[0] += 301
    assert cache.get(("image", "a")) is None  # expired


# ---------------------------------------------------------------- the route


def _session(client: TestClient) -> str:
    """The demo agent signed in, in a session with a visitor of the relay's own origin."""
    response = client.post(
        "/agent/login",
        json={"name": DEMO_AGENT_LOGIN, "password": DEMO_AGENT_PASSWORD},
        headers={"origin": OWN},
    )
    assert response.status_code == 200
    with (
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
    ):
        conversation = receive_until(visitor, "hello")["conversation"]
        visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "Hi"}))
        receive_until(agent, "chat.message")
        agent.send_text(
            json.dumps({"v": 1, "type": "invite.send", "conversation": conversation,
                        "mode": "view_only"})
        )  # fmt: skip
        invite = receive_until(visitor, "invite.offer")["invite"]
        visitor.send_text(json.dumps({"v": 1, "type": "invite.accept", "invite": invite}))
        session: str = receive_until(agent, "session.started")["session"]
        # The session outlives the sockets for the visitor's grace time.
    return session


def test_the_route_serves_the_sessions_agent_alone_and_logs_each_refusal(
    brand: BrandOrigin, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(
        demo_settings(),
        secret_key="test-secret",
        brands=(Brand("demo", "Demo", ("self", brand.url)),),
        limits=ServerLimits(resource_bytes=LIMIT),
        resource_private_addresses=False,
    )
    brand.add("/site.css", b"@font-face{font-family:B;src:url(font.woff)}", "text/css")
    with TestClient(RelayServer(settings).app) as client:
        session = _session(client)
        base = f"/agent/resource/{session}"
        font = client.get(f"{base}/font", params={"url": brand.url + "/font.woff"})
        assert font.status_code == 200, font.text
        assert font.content == FONT[: LIMIT // 2]
        assert font.headers["content-type"] == "font/ttf"
        assert font.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in font.headers["content-security-policy"]
        assert font.headers["cross-origin-resource-policy"] == "same-origin"
        client.get(f"{base}/font", params={"url": brand.url + "/font.woff"})
        assert brand.paths().count("/font.woff") == 1  # the second one came from the cache
        # The agent's cookie went to the relay, never on to the brand.
        assert "cookie" not in brand.hits[0][1]
        sheet = client.get(f"{base}/css", params={"url": brand.url + "/site.css"})
        assert sheet.headers["content-type"] == "text/css; charset=utf-8"
        assert f'url("font?url={quote(brand.url + "/font.woff", safe="")}")' in sheet.text

        caplog.set_level(logging.WARNING, logger="cobrowse.relay")
        with brand_origin() as other:
            other.add("/font.woff", FONT[:1000], "font/ttf")
            refusals = {
                (f"{base}/font", other.url + "/font.woff", ()): (403, "origin_not_allowed"),
                (f"{base}/font", "javascript:alert(1)", ()): (400, "not_http"),
                (f"{base}/script", brand.url + "/font.woff", ()): (404, "unknown_kind"),
                ("/agent/resource/nope/font", brand.url + "/font.woff", ()): (
                    404,
                    "not_in_session",
                ),
                (f"{base}/font", brand.url + "/font.woff", ("cross-site",)): (403, "cross_site"),
            }
            for (path, url, site), (status, code) in refusals.items():
                headers = {"sec-fetch-site": site[0]} if site else {}
                answer = client.get(path, params={"url": url}, headers=headers)
                assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
            assert other.hits == []
        client.cookies.clear()
        answer = client.get(f"{base}/font", params={"url": brand.url + "/font.woff"})
        assert answer.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("resource.")]
    assert lines == [
        "resource.refused reason=origin_not_allowed kind=font",
        "resource.refused reason=not_http kind=font",
        "resource.refused reason=unknown_kind kind=?",
        "resource.refused reason=not_in_session kind=font",
        "resource.refused reason=cross_site kind=font",
        "resource.refused reason=unauthenticated kind=font",
    ]
    # One line each, ids and codes only: never the URL asked for.
    assert not any("127.0.0.1" in r.getMessage() + str(r.__dict__) for r in caplog.records
                   if r.getMessage().startswith("resource."))  # fmt: skip
