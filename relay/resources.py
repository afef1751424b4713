"""The resource proxy: the brand's fonts, images and stylesheets, fetched by the relay for an
agent's replica (issue 15, class 3).

The replica is a document of the relay's origin, and a brand sends no CORS headers for its web
fonts, so the agent's browser cannot load them from the brand. ``GET
/agent/resource/{session}/{kind}?url=<absolute url>`` (kind ``font``, ``image`` or ``css``)
fetches the file from the brand's origin and serves it from ours.

Owns: who may ask (a signed-in agent, for a running session of theirs, from our own pages),
what may be fetched (``check_url``: absolute http(s) on one of the session's brand origins, as
``renderer.policy.origin_of`` reads it; no credentials, dot segments or odd characters), where
the relay may connect (``address_refusal``: no link-local address ever, no private or loopback
one unless the origin names it as an IP address or ``resource_private_addresses`` allows it;
the connection goes to the very address that was checked, so DNS rebinding gains nothing),
the fetch itself (``ResourceFetcher``: a small HTTP/1.1 client on h11 that sends nothing of
the agent's request, follows only same-origin redirects, each judged again, reads the body as
it streams and stops past ``resource_bytes``), what it serves (the kind's types, recognized
by the file's own first bytes; a stylesheet with its URLs made absolute, sanitized with the
brand's origins, then pointed back at this proxy: ``proxied_stylesheet``), and a small cache
of the results, bounded by bytes (``ByteCache``).

Must not: forward the agent's cookies, credentials or Referer; serve a type outside its kind;
log a URL or any content (a refusal is one line: its reason code, the kind, session, agent).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urljoin, urlsplit

import h11
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay.auth import COOKIE, SignIn, error_response
from relay.core import RelayCore
from relay.logs import ids
from relay.settings import ServerLimits
from relay.store import StoreError
from renderer import css, images, policy

log = logging.getLogger("cobrowse.relay")

KINDS: Final = ("font", "image", "css")
ROUTE: Final = "/agent/resource/{session}/{kind}"

# What each kind may be, by the file's own first bytes (a server's Content-Type is often
# wrong for fonts: application/octet-stream): signature -> the type we serve it as.
_FONT_MAGIC: Final = (
    (b"wOF2", "font/woff2"),
    (b"wOFF", "font/woff"),
    (b"\x00\x01\x00\x00", "font/ttf"),
    (b"true", "font/ttf"),
    (b"OTTO", "font/otf"),
    (b"ttcf", "font/collection"),
)
_IMAGE_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# The Content-Types a brand's server may declare for each kind; anything else is refused
# before the body is read (text/html for a font is an error page, or an attempt).
DECLARED_TYPES: Final = {
    "font": frozenset(
        {
            "font/woff2",
            "font/woff",
            "font/ttf",
            "font/otf",
            "font/sfnt",
            "font/collection",
            "application/font-woff",
            "application/font-woff2",
            "application/x-font-woff",
            "application/font-sfnt",
            "application/x-font-ttf",
            "application/x-font-truetype",
            "application/x-font-opentype",
            "application/vnd.ms-opentype",
            "application/octet-stream",  # common for fonts; the first bytes decide
            "binary/octet-stream",
        }
    ),
    "image": frozenset(
        {
            "image/png",
            "image/jpeg",
            "image/jpg",
            "image/pjpeg",
            "image/gif",
            "image/webp",
            "image/avif",
            "image/x-icon",
            "image/vnd.microsoft.icon",
            # A document (it can hold script): served only as an image, with a policy that
            # stops everything should the agent open it as a page (see ``_headers``).
            "image/svg+xml",
        }
    ),
    "css": frozenset({"text/css"}),
}
ACCEPT: Final = {
    "font": "font/woff2,font/woff,font/ttf,font/otf,*/*;q=0.1",
    "image": "image/avif,image/webp,image/png,image/jpeg,image/gif,image/svg+xml,*/*;q=0.1",
    "css": "text/css,*/*;q=0.1",
}
MAX_REDIRECTS: Final = 3  # same-origin only, each judged again
MAX_FETCHES: Final = 16  # outbound fetches at once on this node; more wait their turn
CACHE_SECONDS: Final = 300  # a cached file is fetched again after this (a brand deploys)
USER_AGENT: Final = "cobrowse-relay resource proxy"
_CHUNK: Final = 64 * 1024
# A URL the proxy may fetch: printable ASCII only (the tag sends URLs as the browser resolved
# them: IDN hosts in punycode, the rest percent-encoded), no backslash, space or quote.
_URL_CHARS: Final = re.compile(r"^[!#-&(-\[\]-~]+$")
_DOT_SEGMENT: Final = re.compile(r"/(?:\.|%2e){1,2}(?:/|$)", re.IGNORECASE)
# Served with every proxied file: never a document of ours that can do anything (an SVG the
# agent opens as a page included), and no other site may embed it.
_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline';"
    " sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": f"private, max-age={CACHE_SECONDS}",
}


_ICON_TYPES: Final = ("image/x-icon", "image/vnd.microsoft.icon")
_SVG_START: Final = re.compile(rb"\s*(<\?xml|<svg|<!--|<!DOCTYPE svg)", re.IGNORECASE)


class Refused(Exception):
    """A request the proxy will not serve. ``code`` is the log's reason (a short name, never
    the URL), ``status`` the HTTP status the agent's browser gets, ``message`` the words."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Target:
    """A URL the proxy may fetch, taken apart: ``origin`` as ``policy.origin_of`` gives it."""

    url: str
    origin: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


@dataclass(frozen=True)
class Resource:
    content_type: str
    body: bytes


def check_url(url: str, origins: tuple[str, ...]) -> Target:
    """``url`` taken apart when the proxy may fetch it for a replica allowed ``origins``,
    else ``Refused``: an absolute http(s) URL on one of them, by ``policy.origin_of`` (the
    sanitizer's own reading: credentials, percent-escapes or anything odd in the authority are
    refused outright), of plain printable ASCII, with no dot segments. A fragment is dropped."""
    if not url:
        raise Refused("no_url", "the url parameter is missing", 400)
    if not _URL_CHARS.match(url):
        raise Refused("malformed_url", "the URL has characters a browser would not send", 400)
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        # javascript:, data:, blob:, file:, relative and scheme-relative URLs alike.
        raise Refused("not_http", "only absolute http(s) URLs are proxied", 400)
    origin = policy.origin_of(url)
    if origin is None:
        raise Refused("malformed_url", "the URL's authority is not a plain host and port", 400)
    if origin not in {policy.origin_of(o) for o in origins}:
        raise Refused("origin_not_allowed", "the URL is not on one of the brand's origins")
    parts = urlsplit(url)  # the characters above leave it no room to read another authority
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if _DOT_SEGMENT.search(path.split("?", 1)[0]):
        raise Refused("path_trick", "the URL's path has dot segments", 400)
    host_port = origin.split("//", 1)[1]
    host, _, port = host_port.partition(":")
    default = 443 if scheme == "https" else 80
    return Target(url, origin, scheme, host, int(port) if port else default, path)


def address_refusal(address: str, host_is_address: bool, private_allowed: bool) -> Refused | None:
    """Why the proxy may not connect to ``address`` (one the host resolved to), or None.

    Link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata services), unspecified,
    multicast and reserved ones never. Other non-public addresses (loopback, RFC 1918, ULA,
    shared address space) only when the brand origin is written as that IP address (the admin
    chose it) or ``private_allowed`` (``resource_private_addresses``: an intranet site): a
    host name that resolves there is otherwise a way into the relay's own network (SSRF).
    """
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return Refused("forbidden_address", "the host resolves to an address never fetched")
    if not ip.is_global and not (host_is_address or private_allowed):
        return Refused("private_address", "the host resolves to a private or loopback address")
    return None


# ------------------------------------------------------------------ stylesheets


def _rewrite_urls(text: str, change: Callable[[str, str], str | None]) -> str:
    """``text`` with each url()/@import target ``t`` of kind ``k`` replaced by ``change(k, t)``
    (kept where it returns None). The kind: ``css`` for an @import, ``font`` inside an
    @font-face rule, else ``image``. The targets are found by the renderer's CSS tokenizer
    (``renderer.css``, as a browser reads them: escapes, comments and strings included), and a
    new one is written as a CSS string (``css.string``)."""
    text = css.preprocess(text)
    out: list[str] = []
    at = 0
    for start, end, target, where in css.each_target(text):
        if not target or target.startswith("#"):
            continue
        kind = {"import": "css", "font-face": "font"}.get(where, "image")
        fresh = change(kind, target)
        if fresh is None:
            continue
        out.append(text[at:start])
        is_string = text[start] in "\"'"
        out.append(css.string(fresh) if is_string else f"url({css.string(fresh)})")
        at = end
    out.append(text[at:])
    return "".join(out)


def proxy_path(kind: str, url: str) -> str:
    """The proxy's address for ``url`` relative to a stylesheet it serves
    (``/agent/resource/{session}/css``): the same session, another kind. Fully escaped, so it
    can hold no quote, parenthesis or backslash."""
    return f"{kind}?url={quote(url, safe='')}"


def proxied_stylesheet(text: str, base: str, origins: tuple[str, ...]) -> str:
    """A brand stylesheet fetched from ``base``, fit for the replica: every url()/@import made
    absolute against ``base``, sanitized with the brand's ``origins`` (so the sanitizer judges
    the brand's own URLs), then each absolute http(s) one pointed at this proxy (fonts and
    images for a stylesheet on the relay's origin), relative to the stylesheet's own address.
    """

    def absolute(kind: str, target: str) -> str | None:
        if target.startswith("#"):
            return None
        return urljoin(base, target)

    # data: images re-encoded (SVG ones rebuilt) as in the renderer's output
    safe = images.reencode_css(policy.sanitize_css(_rewrite_urls(text, absolute), origins))

    def proxied(kind: str, target: str) -> str | None:
        return proxy_path(kind, target) if policy.origin_of(target) is not None else None

    return _rewrite_urls(safe, proxied)


# ------------------------------------------------------------------ cache


class ByteCache:
    """The last fetched resources, at most ``max_bytes`` of bodies, least recently used out
    first; each for ``CACHE_SECONDS``. Keys are the kind, URL and (stylesheets) the origins
    their sanitizing used."""

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_bytes
        self._clock = clock
        self._entries: OrderedDict[tuple[str, ...], tuple[Resource, float]] = OrderedDict()
        self.size = 0

    def get(self, key: tuple[str, ...]) -> Resource | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple[str, ...], resource: Resource) -> None:
        size = len(resource.body)
        if size > self._max // 4:
            return  # one big file would push out everything else
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (resource, self._clock() + CACHE_SECONDS)
        self.size += size
        while self.size > self._max:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, ...]) -> None:
        resource, _ = self._entries.pop(key)
        self.size -= len(resource.body)


# ------------------------------------------------------------------ fetching


def _sniff(kind: str, body: bytes, declared: str) -> str | None:
    """The type to serve ``body`` as for ``kind``, from its first bytes, or None."""
    if kind == "font":
        return next((t for magic, t in _FONT_MAGIC if body.startswith(magic)), None)
    if kind == "image":
        found = next((t for magic, t in _IMAGE_MAGIC if body.startswith(magic)), None)
        if found:
            return found
        if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
            return "image/webp"
        if body[4:12] in (b"ftypavif", b"ftypavis"):
            return "image/avif"
        if body[:4] == b"\x00\x00\x01\x00" and declared in _ICON_TYPES:
            return "image/x-icon"
        if declared == "image/svg+xml" and _SVG_START.match(body[:512]):
            return "image/svg+xml"
        return None
    return "text/css; charset=utf-8"


class ResourceFetcher:
    """Fetches one brand resource: ``await fetch(kind, url, origins)`` returns a ``Resource``
    or raises ``Refused``. Nothing of the agent's request is sent: no cookie, credential,
    Referer or header of theirs; only Host, Accept, Accept-Encoding identity and our
    User-Agent."""

    def __init__(self, limits: ServerLimits, private_allowed: bool) -> None:
        self._max_bytes = limits.resource_bytes
        self._timeout = limits.resource_timeout_seconds
        self._private_allowed = private_allowed
        self._slots = asyncio.Semaphore(MAX_FETCHES)
        self._tls = ssl.create_default_context()

    async def fetch(self, kind: str, url: str, origins: tuple[str, ...]) -> Resource:
        target = check_url(url, origins)
        try:
            async with self._slots, asyncio.timeout(self._timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    status, headers, body = await self._get(kind, target)
                    if status in (301, 302, 303, 307, 308):
                        target = self._redirect(target, headers.get("location", ""), origins)
                        continue
                    return await self._resource(kind, target, status, headers, body, origins)
        except TimeoutError:
            raise Refused("timeout", "the brand's server did not answer in time", 504) from None
        except (OSError, h11.ProtocolError) as error:
            reason = f"the brand's server could not be read ({type(error).__name__})"
            raise Refused("fetch_failed", reason, 502) from None
        raise Refused("too_many_redirects", f"more than {MAX_REDIRECTS} redirects", 502)

    def _redirect(self, current: Target, location: str, origins: tuple[str, ...]) -> Target:
        if not location:
            raise Refused("bad_redirect", "a redirect without a Location", 502)
        following = check_url(urljoin(current.url, location), origins)
        if following.origin != current.origin:
            raise Refused("redirect_other_origin", "a redirect to another origin is not followed")
        return following

    async def _resource(
        self,
        kind: str,
        target: Target,
        status: int,
        headers: dict[str, str],
        body: bytes,
        origins: tuple[str, ...],
    ) -> Resource:
        if status != 200:
            raise Refused("upstream_status", f"the brand's server answered {status}", 502)
        declared = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        served = _sniff(kind, body, declared) if declared in DECLARED_TYPES[kind] else None
        if served is None:
            raise Refused("wrong_type", f"not a {kind} (by its Content-Type or its content)", 415)
        if kind != "css":
            return Resource(served, body)
        charset = re.search(r"charset=\"?([A-Za-z0-9_\-]+)", headers.get("content-type", ""))
        try:
            text = body.decode(charset.group(1) if charset else "utf-8", errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        # CPU-bound (a big framework sheet: a few hundred ms): off the event loop.
        sheet = await asyncio.to_thread(
            proxied_stylesheet, text.lstrip("\ufeff"), target.url, origins
        )
        return Resource(served, sheet.encode("utf-8"))

    async def _connect(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to an address ``target.host`` resolves to, checked first: the same
        address is connected to (a second lookup could answer otherwise: DNS rebinding)."""
        try:
            literal = ipaddress.ip_address(target.host) is not None
        except ValueError:
            literal = False
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise OSError("the host has no address")
        for address in addresses:  # one forbidden address among them refuses the host
            refusal = address_refusal(address, literal, self._private_allowed)
            if refusal is not None:
                raise refusal
        tls = self._tls if target.scheme == "https" else None
        return await asyncio.open_connection(
            addresses[0], target.port, ssl=tls, server_hostname=target.host if tls else None
        )

    async def _get(self, kind: str, target: Target) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await self._connect(target)
        try:
            conn = h11.Connection(h11.CLIENT)
            default = 443 if target.scheme == "https" else 80
            host = target.host if target.port == default else f"{target.host}:{target.port}"
            request = h11.Request(
                method="GET",
                target=target.path,
                headers=[
                    ("Host", host),
                    ("User-Agent", USER_AGENT),
                    ("Accept", ACCEPT[kind]),
                    ("Accept-Encoding", "identity"),  # we pass bytes on, never decode them
                    ("Connection", "close"),
                ],
            )
            writer.write(conn.send(request) + conn.send(h11.EndOfMessage()))
            await writer.drain()
            status, headers = 0, {}
            chunks: list[bytes] = []
            size = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(_CHUNK))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
                    if status in (301, 302, 303, 307, 308):
                        return status, headers, b""
                    self._check_head(kind, status, headers)
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self._max_bytes:
                        raise Refused("too_large", f"the file is over {self._max_bytes} bytes", 413)
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return status, headers, b"".join(chunks)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    def _check_head(self, kind: str, status: int, headers: dict[str, str]) -> None:
        """Refuse before reading the body: an error status, a type outside the kind, an
        encoding we did not ask for, or a declared length past the limit."""
        if status != 200:
            raise Refused("upstream_status", f"the brand's server answered {status}", 502)
        declared = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if declared not in DECLARED_TYPES[kind]:
            raise Refused("wrong_type", f"not a {kind} (by its Content-Type)", 415)
        if headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise Refused("encoded", "the brand's server sent an encoding we did not ask for", 502)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            raise Refused("too_large", f"the file is over {self._max_bytes} bytes", 413)


# ------------------------------------------------------------------ the route


class Resources:
    """``routes()``: the proxy's one route. ``fetcher`` does the fetching; results are kept in
    a ``ByteCache`` of ``limits.resource_cache_bytes``."""

    def __init__(
        self,
        core: RelayCore,
        sign_in: SignIn,
        limits: ServerLimits,
        private_allowed: bool,
    ) -> None:
        self._core = core
        self._sign_in = sign_in
        self.fetcher = ResourceFetcher(limits, private_allowed)
        self.cache = ByteCache(limits.resource_cache_bytes)

    def routes(self) -> list[Route]:
        return [Route(ROUTE, self.resource)]

    async def resource(self, request: Request) -> Response:
        session = request.path_params["session"]
        kind = request.path_params["kind"]
        agent: str | None = None
        try:
            agent = self._sign_in.checked_agent(request.cookies.get(COOKIE))
            if agent is None:
                raise Refused("unauthenticated", "sign in first", 401)
            # Our own replica asks same-origin; a cross-site page gets nothing even where a
            # browser sent the cookie (SameSite=Strict already keeps it from doing so).
            if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
                raise Refused("cross_site", "cross-site request refused")
            if kind not in KINDS:
                raise Refused("unknown_kind", "the kind is font, image or css", 404)
            origins = self._core.resource_origins(agent, session)
            if origins is None:
                raise Refused("not_in_session", "no such session of yours", 404)
            url = request.query_params.get("url", "")
            key = (kind, url, *origins) if kind == "css" else (kind, url)
            found = self.cache.get(key)
            if found is None:
                found = await self.fetcher.fetch(kind, url, origins)
                self.cache.put(key, found)
        except StoreError as lost:
            log.error("store.error", extra=ids(agent=agent, error=type(lost).__name__))
            return error_response(503, "internal", "the conversation store is unavailable; retry")
        except Refused as refusal:
            log.warning(
                "resource.refused reason=%s kind=%s",
                refusal.code,
                kind if kind in KINDS else "?",
                extra=ids(session=_shown(session) if agent else None, agent=agent),
            )
            return error_response(refusal.status, refusal.code, refusal.message)
        return Response(found.body, media_type=found.content_type, headers=_HEADERS)


def _shown(value: str) -> str:
    """An id from a request's path fit for a log line (an id's characters, else ``?``)."""
    return value if re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", value) else "?"
