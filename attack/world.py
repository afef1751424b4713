"""The attacked relay and the people using it: one ``python -m relay`` process on loopback, its
memory read from /proc, agents signed in through the real endpoint, visitors from a brand page.

Owns: the settings the attack runs under (the relay's own defaults for every limit: the attack
measures what a brand gets out of the box), two brands (``shop`` and ``other``, for cross-brand
attempts), the agents (an innocent pair, an observer, attackers' accomplices), signing in,
opening sockets (``attack.rawws``) from chosen loopback source addresses (each one a client
address to the relay's per-address limits), a small page to snapshot, and starting a session.
Must not: reach anything but 127.0.0.0/8, or change a relay limit to make an attack pass.
"""

from __future__ import annotations

import http.client
import json
import secrets
from pathlib import Path
from typing import Any

from attack.rawws import RawSocket
from cobrowse_qa.driver import RelayProcess
from relay.passwords import hash_password

PAGE_ORIGIN = "https://shop.example"
OTHER_ORIGIN = "https://other.example"
PASSWORD = "attack-run-password"  # noqa: S105 - a throwaway loopback-only account
# Agents: the innocent pair's agent, an observer (watches the lists), the other brand's agent,
# and accomplices of attacks that need a session (an attacker visitor gets one by chatting and
# being invited: the product's own flow).
AGENTS = ["victim", "observer", "stranger", *[f"mark{i}" for i in range(12)]]
BRAND_OF = {"stranger": "other"}
# A small page (wire.nodes compact form): document 1, doctype 2, html 3, head 4, title 5, its
# text 6, body 7, p 8, its text 9, button 10, its text 11.
DOC: list[Any] = [
    1,
    "#document",
    ["#doctype", "html"],
    [
        "html",
        ["head", ["title", "Shop"]],
        ["body", ["p", {"id": "basket"}, "Your basket"], ["button", {"id": "buy"}, "Buy"]],
    ],
]
BUTTON = 10


def settings_toml(password_hash: str) -> str:
    lines = [
        "[server]",
        f'secret_key = "{secrets.token_urlsafe(32)}"',
        "",
        "[[brands]]",
        'id = "shop"',
        'name = "Shop"',
        f'allowed_origins = ["self", "{PAGE_ORIGIN}"]',
        "",
        "[[brands]]",
        'id = "other"',
        'name = "Other"',
        f'allowed_origins = ["{OTHER_ORIGIN}"]',
    ]
    for agent in AGENTS:
        lines += [
            "",
            "[[agents]]",
            f'id = "{agent}"',
            f'name = "{agent.title()}"',
            f'password_hash = "{password_hash}"',
            f'brands = ["{BRAND_OF.get(agent, "shop")}"]',
        ]
    return "\n".join(lines) + "\n"


class AttackedRelay(RelayProcess):
    """The relay under attack, with its memory readings."""

    def __init__(self, workdir: Path) -> None:
        self.config_path = workdir / "attack-settings.toml"
        self.password_hash = hash_password(PASSWORD)
        self.config_path.write_text(settings_toml(self.password_hash), encoding="utf-8")
        super().__init__(workdir, self.config_path, log_level="info")

    def memory(self) -> dict[str, int]:
        """The relay process's resident set now and its peak since the last ``reset_peak``
        (bytes; VmRSS and VmHWM of /proc/PID/status: the kernel's own high-water mark, so a
        spike between two samples is not missed)."""
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
        return {"rss": found["VmRSS"], "peak": found["VmHWM"]}

    def reset_peak(self) -> None:
        """Start the peak (VmHWM) afresh (``5`` to clear_refs, proc(5))."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


def http_request(
    url: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    source: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request from ``source`` (a loopback address): status, headers, body."""
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Origin": url, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        found: dict[str, str] = {}
        for key, value in response.getheaders():  # several Set-Cookie headers: all kept
            key = key.lower()
            found[key] = f"{found[key]}\n{value}" if key in found else value
        return response.status, found, response.read()
    finally:
        conn.close()


def sign_in(
    url: str, agent: str, *, source: str, password: str = PASSWORD, extra_cookie: str = ""
) -> tuple[int, str, dict[str, str]]:
    """``POST /agent/login``: the status, the Cookie header value to send afterwards (every
    cookie the relay set, joined), and the response headers."""
    headers = {"Cookie": extra_cookie} if extra_cookie else None
    status, response_headers, _ = http_request(
        url,
        "POST",
        "/agent/login",
        body={"name": agent, "password": password},
        headers=headers,
        source=source,
    )
    return status, _cookies(response_headers.get("set-cookie", "")), response_headers


def _cookies(set_cookie: str) -> str:
    """The Cookie header a browser would send back: each Set-Cookie's name=value (one a line,
    as ``http_request`` joins them)."""
    return "; ".join(
        line.split(";", 1)[0].strip() for line in set_cookie.splitlines() if "=" in line
    )


async def open_agent(url: str, cookie: str, *, source: str | None = None) -> RawSocket:
    agent = await RawSocket.open(url, "/ws/agent", origin=url, cookie=cookie, source=source)
    await agent.wait_for("hello")
    return agent


async def open_visitor(
    url: str,
    *,
    source: str | None = None,
    token: str | None = None,
    origin: str = PAGE_ORIGIN,
    deflate: bool = True,
) -> RawSocket:
    path = "/ws/visitor" + (f"?token={token}" if token else "")
    visitor = await RawSocket.open(url, path, origin=origin, source=source, deflate=deflate)
    await visitor.wait_for("hello")
    return visitor


def message(kind: str, **body: Any) -> dict[str, Any]:
    return {"v": 1, "type": kind, **body}


async def start_session(
    agent: RawSocket, visitor: RawSocket, *, mode: str = "shared", say: str = "hello"
) -> str:
    """The product's flow: the visitor chats, the agent invites, the visitor accepts. Returns
    the session's id once both sides have ``session.started``."""
    conversation = (await visitor.wait_for("hello"))["conversation"]
    await visitor.send(message("chat.send", text=say))
    await agent.wait_for("chat.message", conversation=conversation)
    await agent.send(message("invite.send", conversation=conversation, mode=mode))
    offer = await visitor.wait_for("invite.offer")
    await visitor.send(message("invite.accept", invite=offer["invite"]))
    started = await visitor.wait_for("session.started")
    await agent.wait_for("session.started", session=started["session"])
    session: str = started["session"]
    return session


def snapshot(session: str, doc: list[Any] | None = None, title: str = "Shop") -> dict[str, Any]:
    return message(
        "dom.snapshot",
        session=session,
        seq=0,
        url=f"{PAGE_ORIGIN}/cart",
        title=title,
        viewport={"w": 1280, "h": 800, "dpr": 1},
        doc=doc if doc is not None else DOC,
    )
