"""Runs `cobrowse check`: a real co-browse session per page, against an in-process relay.

Owns: the checker's relay (a ``RelayServer`` on a free loopback port whose only brand allows
the checked pages' origins, and whose only agent has a one-off password), the headless
Chromium, the agent's workspace for the whole run, and the queue of pages (the given URLs,
then the same-origin links of ``crawl``); each page is a ``session.PageCheck``.
Must not: contact any relay but its own (the tag's socket is routed to it, whatever the page's
tag names), keep anything after the run, or raise for a page's fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from playwright.async_api import Browser, Playwright, async_playwright

from cobrowse_check.agent import AGENT_ID, Workspace
from cobrowse_check.findings import judge_selectors
from cobrowse_check.model import CheckRun, PageReport
from cobrowse_check.options import CheckError, CheckOptions
from cobrowse_check.session import PageCheck, origin_of
from relay.app import RelayServer
from relay.headers import http_protocol
from relay.passwords import hash_password
from relay.settings import AgentLogin, Brand, ServerLimits, Settings
from renderer.chromium import launch_options

BRAND_ID = "check"


def normalize(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def check_settings(
    origins: tuple[str, ...], mask_selectors: tuple[str, ...]
) -> tuple[Settings, str]:
    """Settings of the checker's relay and the one-off agent password."""
    password = secrets.token_urlsafe(18)
    settings = Settings(
        brands=(Brand(BRAND_ID, "Compatibility check", origins, mask_selectors),),
        agents=(AgentLogin(AGENT_ID, "Compatibility check", hash_password(password), (BRAND_ID,)),),
        secret_key=secrets.token_urlsafe(32),
        # The checker's own relay on loopback: every checked page is a new conversation from
        # 127.0.0.1, so the flood limits a public relay needs would refuse a crawl's pages.
        limits=replace(
            ServerLimits(),
            conversations_per_address_per_minute=1_000_000,
            conversations_per_brand_per_minute=1_000_000,
            visitor_sockets_per_minute=1_000_000,
        ),
        # The pages checked are the operator's own choice, often a development server on
        # localhost: the replica's resource proxy may fetch from private addresses for them.
        resource_private_addresses=True,
    )
    return settings, password


async def run_check(options: CheckOptions) -> CheckRun:
    """Check every URL (and, with ``crawl``, the same-origin pages they link to)."""
    run = CheckRun()
    queue: list[str] = []
    for url in options.urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            run.reports.append(PageReport(url, error="not an http(s) URL"))
            continue
        if normalize(url) not in queue:
            queue.append(normalize(url))
    if not queue:
        return run
    origins = tuple(dict.fromkeys(origin_of(u) for u in queue))
    settings, password = check_settings(origins, options.mask_selectors)
    async with serve_relay(settings) as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options(options.chromium))
        try:
            agent = await Workspace.open(browser, base, password)
            await _check_pages(playwright, browser, agent, base, options, queue, run)
            await agent.close()
            judge_selectors(run.reports, options.mask_selectors)
        finally:
            await browser.close()
    return run


@contextlib.asynccontextmanager
async def serve_relay(settings: Settings) -> AsyncIterator[str]:
    """The checker's relay, served on a free loopback port while the block runs: its base URL."""
    port = _free_port()
    relay = RelayServer(settings)
    config = uvicorn.Config(
        relay.app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        access_log=False,
        ws_max_size=settings.limits.visitor_frame_bytes,
        # The relay's request timeouts, as relay.serve starts it.
        http=http_protocol(
            settings.limits.http_header_timeout_seconds, settings.limits.http_body_timeout_seconds
        ),
        lifespan="on",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                raise CheckError("the checker's relay did not start")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, timeout=10)


async def _check_pages(
    playwright: Playwright,
    browser: Browser,
    agent: Workspace,
    base: str,
    options: CheckOptions,
    queue: list[str],
    run: CheckRun,
) -> None:
    """Check the queued pages in order, queueing up to ``options.crawl`` same-origin links."""
    origins = {origin_of(u) for u in queue}
    seen: set[str] = set(queue)
    budget = options.crawl
    index = 0
    while index < len(queue):
        url = queue[index]
        index += 1
        options.progress(f"[{index}/{len(queue)}] {url}")
        checker = PageCheck(playwright, browser, agent, base, options, url)
        report, images, links = await checker.run()
        if images is not None:
            run.images[len(run.reports)] = images
        run.reports.append(report)
        options.progress(f"[{index}/{len(queue)}] {url}: {_status_line(report)}")
        for link in links:
            if budget <= 0:
                break
            link = normalize(link)
            if link not in seen and origin_of(link) in origins:
                seen.add(link)
                queue.append(link)
                budget -= 1


def _status_line(report: PageReport) -> str:
    if report.error:
        return f"FAIL: {report.error}"
    return report.status.upper()
