"""The attacks: each one a hostile client doing one thing to the relay, and what came back.

Owns: every attack of issue 19 and the ones that already held, each an ``async`` function of
``(Target, Plan)`` returning its outcome as plain numbers and flags (``Outcome``), never a
verdict of its own: ``attack.__main__`` and ``tests/adversarial`` judge them. Each one runs in a
child process of its own (``run_in_child``), so that building and sending its frames costs the
probe (``attack.probe``, in the parent) no CPU time it would then blame on the relay.
Must not: reach anything but loopback, sleep longer than its plan says, or keep going after its
plan's time: every attack stops by itself.

Source addresses: each attack uses its own 127.N.0.0/16 (``Target.sources``), so the relay's
per-address limits judge each attack alone and never the innocent pair (127.0.0.2, 127.0.0.3).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import secrets
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attack.rawws import HandshakeRefused, RawSocket, deflate_message, frame
from attack.world import (
    OTHER_ORIGIN,
    PAGE_ORIGIN,
    PASSWORD,
    http_request,
    message,
    open_agent,
    open_visitor,
    settings_toml,
    sign_in,
    snapshot,
    start_session,
)
from relay.passwords import hash_password

Outcome = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """How long and how hard: ``quick`` for the test suite, full for the figures."""

    quick: bool = False

    @property
    def flood_seconds(self) -> float:
        return 6.0 if self.quick else 20.0

    @property
    def snapshot_sockets(self) -> int:
        return 12  # the figure: quick mode keeps it, only the time is shorter


@dataclass(frozen=True)
class Target:
    url: str
    config_path: str
    block: int  # this attack's 127.<block>.0.0/16

    def sources(self) -> Iterator[str]:
        """Fresh loopback addresses, one per client the attack pretends to be."""
        for high in range(256):
            for low in range(1, 255):
                yield f"127.{self.block}.{high}.{low}"

    async def agent(self, name: str, source: str) -> RawSocket:
        status, cookie, _ = await asyncio.to_thread(sign_in, self.url, name, source=source)
        if status != 200:
            raise RuntimeError(f"accomplice {name} could not sign in: HTTP {status}")
        return await open_agent(self.url, cookie, source=source)


# ------------------------------------------------------------------ frames


def over_limit_document(target_bytes: int = 10_000_000) -> list[Any]:
    """A page of more nodes than the relay takes (400,000) and about ``target_bytes`` of JSON:
    ``<b>`` elements with a text each (two nodes a row)."""
    row = ["b", "attack-row-text-"]
    rows = target_bytes // len(json.dumps(row))
    return [1, "#document", ["html", ["body", *([row] * rows)]]]


def precompressed(text: str) -> bytes:
    """One compressed frame, built once and sent many times (15 KB on the wire for 10 MB)."""
    return frame(deflate_message(text), compressed=True)


async def _until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def _end_and_close(agent: RawSocket, visitor: RawSocket, session: str) -> None:
    """End the session (an accomplice agent has one session at a time; the relay would keep it
    for the visitor's grace time after a mere close), then close both sockets."""
    with contextlib.suppress(Exception):
        await agent.send(message("session.end", session=session))
        await visitor.wait_for("session.ended", timeout=5.0)
    await _quietly_close(visitor, agent)


async def _quietly_close(*sockets: RawSocket) -> None:
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.close()


# ------------------------------------------------------------------ 1. hostile strings


async def unicode(target: Target, plan: Plan) -> Outcome:
    """Lone surrogates, a 401-digit integer, NaN and Infinity in a session's messages, both
    ways: the receiving peer must stay connected and each bad message be refused."""
    sources = target.sources()
    agent = await target.agent("mark0", next(sources))
    visitor = await open_visitor(target.url, source=next(sources))
    session = await start_session(agent, visitor)
    await visitor.send(snapshot(session))
    await agent.wait_for("replica.snapshot", timeout=30)
    bad_from_visitor = [
        json.dumps(snapshot(session, title="x")).replace('"title": "x"', '"title": "\\ud800"'),
        '{"v":1,"type":"chat.send","text":"hi \\udfff there"}',
        f'{{"v":1,"type":"pointer","session":"{session}","id":10,"x":{"9" * 401},"y":0.5}}',
        f'{{"v":1,"type":"pointer","session":"{session}","id":10,"x":NaN,"y":0.5}}',
        f'{{"v":1,"type":"scroll","session":"{session}","x":Infinity,"y":0}}',
    ]
    bad_from_agent = [
        f'{{"v":1,"type":"chat.send","conversation":"{visitor.of_type("hello")[0]["conversation"]}",'
        '"text":"\\ud83d alone"}',
        f'{{"v":1,"type":"act.input","session":"{session}","id":10,"value":"\\udc00"}}',
        f'{{"v":1,"type":"pointer","session":"{session}","id":10,"x":1e400,"y":0.5}}',
    ]
    for text in bad_from_visitor:
        await visitor.send(text)
    for text in bad_from_agent:
        await agent.send(text)
    await asyncio.sleep(1.0)
    # Both still answer: a good message each way arrives.
    await visitor.send(message("chat.send", text="still here"))
    agent_hears = await _arrives(agent, "chat.message", text="still here")
    outcome = {
        "sent_by_visitor": len(bad_from_visitor),
        "sent_by_agent": len(bad_from_agent),
        "refused_to_visitor": len(visitor.of_type("error")),
        "refused_to_agent": len(agent.of_type("error")),
        "agent_socket_closed": agent.close_code,
        "visitor_socket_closed": visitor.close_code,
        "agent_hears_after": agent_hears,
    }
    await _end_and_close(agent, visitor, session)
    return outcome


async def _arrives(socket: RawSocket, kind: str, timeout: float = 5.0, **fields: Any) -> bool:
    try:
        await socket.wait_for(kind, timeout=timeout, **fields)
    except (TimeoutError, ConnectionError):
        return False
    return True


# ------------------------------------------------------------------ 2. big snapshots


async def snapshots_without_session(target: Target, plan: Plan) -> Outcome:
    """12 token-less visitor sockets from a brand origin send deflated 10 MB snapshots of more
    nodes than the relay takes, over and over, none of them in a session."""
    text = json.dumps(
        message(
            "dom.snapshot",
            session="none" * 4,
            seq=0,
            url=PAGE_ORIGIN + "/",
            title="x",
            viewport={"w": 1, "h": 1, "dpr": 1},
            doc=over_limit_document(),
        )
    )
    data = precompressed(text)
    sources = target.sources()
    sockets = [
        await open_visitor(target.url, source=next(sources)) for _ in range(plan.snapshot_sockets)
    ]
    sent = await _send_for(sockets, data, plan.flood_seconds)
    outcome = _flood_outcome(sockets, sent, len(text), len(data))
    await _quietly_close(*sockets)
    return outcome


async def snapshots_in_session(target: Target, plan: Plan) -> Outcome:
    """12 visitors, each in a session with an accomplice agent (the product's own flow), send
    deflated 10 MB snapshots of more nodes than the relay takes, over and over."""
    sources = target.sources()
    document = over_limit_document()
    agents, visitors, frames, sessions = [], [], [], []
    for index in range(plan.snapshot_sockets):
        agent = await target.agent(f"mark{index}", next(sources))
        visitor = await open_visitor(target.url, source=next(sources))
        session = await start_session(agent, visitor)
        agent.keep = False
        agents.append(agent)
        visitors.append(visitor)
        sessions.append(session)
        frames.append(json.dumps(snapshot(session, document)))
    data = [precompressed(text) for text in frames]
    sent = await _send_for(visitors, data, plan.flood_seconds)
    outcome = _flood_outcome(visitors, sent, len(frames[0]), len(data[0]))
    outcome["accomplice_agents_closed"] = sum(a.close_code is not None for a in agents)
    for agent, visitor, session in zip(agents, visitors, sessions, strict=True):
        await _end_and_close(agent, visitor, session)
    return outcome


async def _send_for(
    sockets: list[RawSocket], data: bytes | list[bytes], seconds: float
) -> list[int]:
    """Each socket sends its frame again whenever its last one is written (TCP's pace: the
    relay's reading is the only brake), reconnecting never: a closed socket is out."""
    deadline = time.monotonic() + seconds
    sent = [0] * len(sockets)

    async def one(index: int, socket: RawSocket) -> None:
        payload = data[index] if isinstance(data, list) else data
        while time.monotonic() < deadline and socket.open_:
            socket.send_raw(payload)
            try:
                await asyncio.wait_for(socket.drain(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return
            sent[index] += 1
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(sockets)))
    return sent


def _flood_outcome(
    sockets: list[RawSocket], sent: list[int], inflated: int, on_wire: int
) -> Outcome:
    errors = [e.get("code") for s in sockets for e in s.of_type("error")]
    return {
        "sockets": len(sockets),
        "frame_inflated_bytes": inflated,
        "frame_wire_bytes": on_wire,
        "frames_sent": sum(sent),
        "refusals": len(errors),
        "refusal_codes": sorted(set(str(code) for code in errors)),
        "closed_by_relay": sorted(set(s.close_code for s in sockets if s.close_code)),
        "replicas_rendered": sum(len(s.of_type("replica.snapshot")) for s in sockets),
    }


# ------------------------------------------------------------------ 3. conversation floods


async def conversation_flood(target: Target, plan: Plan) -> Outcome:
    """Many clients, each from its own address, open a visitor socket and chat once (a new
    conversation each), as fast as they can; an observing agent counts what it is sent."""
    sources = target.sources()
    observer = await target.agent("observer", next(sources))
    observer.keep = False
    before = observer.received_bytes
    deadline = time.monotonic() + plan.flood_seconds
    addresses = 40
    stored = refused = unanswered = refused_sockets = 0

    async def client(source: str) -> None:
        nonlocal stored, refused, unanswered, refused_sockets
        while time.monotonic() < deadline:
            try:
                visitor = await open_visitor(target.url, source=source)
            except (HandshakeRefused, ConnectionError, TimeoutError):
                refused_sockets += 1
                await asyncio.sleep(0.2)
                continue
            if visitor.close_code is not None:
                refused_sockets += 1
                continue
            await visitor.send(message("chat.send", text="buy cheap watches " * 10))
            answer = await _first_of(visitor, ("chat.message", "error"), 5.0)
            if answer == "chat.message":
                stored += 1
            elif answer == "error":
                refused += 1
            else:
                unanswered += 1
            await _quietly_close(visitor)

    await asyncio.gather(*(client(next(sources)) for _ in range(addresses)))
    outcome = {
        "client_addresses": addresses,
        "seconds": plan.flood_seconds,
        "conversations_stored": stored,
        "chats_refused": refused,
        "chats_unanswered": unanswered,
        "sockets_refused": refused_sockets,
        "observer_bytes": observer.received_bytes - before,
        "observer_closed": observer.close_code,
    }
    await _quietly_close(observer)
    return outcome


async def _first_of(socket: RawSocket, kinds: tuple[str, ...], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in socket.messages:
            if isinstance(received, dict) and received.get("type") in kinds:
                return str(received["type"])
        if socket.closed.is_set():
            return None
        await asyncio.sleep(0.01)
    return None


async def chat_flood(target: Target, plan: Plan) -> Outcome:
    """One visitor sends 4,000-character chat messages as fast as its socket allows; an
    observing agent counts the bytes it is sent."""
    sources = target.sources()
    observer = await target.agent("observer", next(sources))
    observer.keep = False
    visitor = await open_visitor(target.url, source=next(sources))
    before = observer.received_bytes
    text = "x" * 4000
    data = precompressed(json.dumps(message("chat.send", text=text)))
    deadline = time.monotonic() + plan.flood_seconds
    sent = 0
    while time.monotonic() < deadline and visitor.open_:
        visitor.send_raw(data)
        await visitor.drain()
        sent += 1
        await asyncio.sleep(0.005)
    await asyncio.sleep(1.0)
    errors = visitor.of_type("error")
    outcome = {
        "seconds": plan.flood_seconds,
        "chats_sent": sent,
        "chats_stored": len(visitor.of_type("chat.message")),
        "chats_refused": len(errors),
        "refusal_codes": sorted({str(e.get("code")) for e in errors}),
        "visitor_closed": visitor.close_code,
        "observer_bytes": observer.received_bytes - before,
        "observer_closed": observer.close_code,
    }
    await _quietly_close(visitor, observer)
    return outcome


# ------------------------------------------------------------------ 4. sign-out and guessing


async def signout(target: Target, plan: Plan) -> Outcome:
    """A copied cookie after logout, after a password change and after the agent's removal:
    what it still opens, and how long the agent's open socket lives on."""
    sources = target.sources()
    config = Path(target.config_path)
    original = config.read_text(encoding="utf-8")
    outcome: Outcome = {}
    try:
        for how, agent in (("logout", "mark9"), ("password", "mark10"), ("removal", "mark11")):
            source = next(sources)
            status, cookie, _ = await asyncio.to_thread(sign_in, target.url, agent, source=source)
            if status != 200:
                raise RuntimeError(f"{agent} could not sign in: HTTP {status}")
            socket = await open_agent(target.url, cookie, source=source)
            started = time.monotonic()
            if how == "logout":
                await asyncio.to_thread(
                    http_request,
                    target.url,
                    "POST",
                    "/agent/logout",
                    headers={"Cookie": cookie},
                    source=source,
                )
            elif how == "password":
                changed = original.replace(
                    f'id = "{agent}"\nname = "{agent.title()}"\npassword_hash = ',
                    f'id = "{agent}"\nname = "{agent.title()}"\npassword_hash = '
                    f'"{hash_password("a-new-password")}"\n# was ',
                )
                config.write_text(changed, encoding="utf-8")
            else:
                config.write_text(_without_agent(original, agent), encoding="utf-8")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(socket.closed.wait(), 10.0)
            closed_after = time.monotonic() - started if socket.closed.is_set() else None
            me, _, _ = await asyncio.to_thread(
                http_request,
                target.url,
                "GET",
                "/agent/me",
                headers={"Cookie": cookie},
                source=source,
            )
            try:
                again = await RawSocket.open(
                    target.url, "/ws/agent", origin=target.url, cookie=cookie, source=source
                )
                await asyncio.sleep(0.5)
                reopened = again.open_ and bool(again.of_type("hello"))
                await _quietly_close(again)
            except (HandshakeRefused, ConnectionError):
                reopened = False
            outcome[how] = {
                "open_socket_closed_after_s": None
                if closed_after is None
                else round(closed_after, 2),
                "open_socket_close_code": socket.close_code,
                "copied_cookie_me_status": me,
                "copied_cookie_opens_socket": reopened,
            }
            config.write_text(original, encoding="utf-8")
            await _quietly_close(socket)
            await asyncio.sleep(1.5)  # the relay reads the file again at its next tick
    finally:
        config.write_text(original, encoding="utf-8")
    return outcome


def _without_agent(settings: str, agent: str) -> str:
    blocks = settings.split("\n[[agents]]\n")
    return "\n[[agents]]\n".join(b for b in blocks if not b.startswith(f'id = "{agent}"\n'))


async def guessing(target: Target, plan: Plan) -> Outcome:
    """Password guesses at one account from many addresses (two each, under the per-address
    limit), while the real agent, whose browser signed in before, signs in again."""
    sources = target.sources()
    home = next(sources)
    status, cookie, _ = await asyncio.to_thread(sign_in, target.url, "observer", source=home)
    if status != 200:
        raise RuntimeError(f"observer could not sign in: HTTP {status}")
    statuses: dict[int, int] = {}
    for _ in range(30):
        source = next(sources)
        for _ in range(2):
            got, _, _ = await asyncio.to_thread(
                sign_in,
                target.url,
                "observer",
                source=source,
                password="guess-" + secrets.token_hex(4),
            )
            statuses[got] = statuses.get(got, 0) + 1
    # The real agent, from its usual browser (its cookies, so its device cookie) and address.
    real, _, _ = await asyncio.to_thread(
        sign_in, target.url, "observer", source=home, extra_cookie=cookie
    )
    # A stranger's browser with the right password meanwhile (no device cookie): slowed too.
    fresh, _, _ = await asyncio.to_thread(sign_in, target.url, "observer", source=next(sources))
    return {
        "guesses": sum(statuses.values()),
        "guess_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "real_agent_with_device_cookie": real,
        "right_password_new_browser": fresh,
    }


# ------------------------------------------------------------------ 5. navigation


HOSTILE_URLS = [
    "https://evil.example/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/cart",
    "https://shop.example.evil.example/",
    "https://shop.example@evil.example/",
    "HTTPS://EVIL.EXAMPLE/",
    "https:\\\\evil.example\\",
    f"{OTHER_ORIGIN}/account",
    "http://shop.example/",  # same host, another scheme: another origin
    "https://shop.example:444/",
]


async def navigate(target: Target, plan: Plan) -> Outcome:
    """A shared session's agent sends act.navigate to other sites; the visitor counts what
    reaches it (the relay must not forward any; a same-origin one is the control)."""
    sources = target.sources()
    agent = await target.agent("mark1", next(sources))
    visitor = await open_visitor(target.url, source=next(sources))
    session = await start_session(agent, visitor, mode="shared")
    for url in HOSTILE_URLS:
        await agent.send(message("act.navigate", session=session, url=url))
    control = f"{PAGE_ORIGIN}/checkout"
    await agent.send(message("act.navigate", session=session, url=control))
    got_control = await _arrives(visitor, "act.navigate", url=control)
    forwarded = [m["url"] for m in visitor.of_type("act.navigate") if m.get("url") != control]
    outcome = {
        "hostile_sent": len(HOSTILE_URLS),
        "hostile_forwarded": forwarded,
        "refused_to_agent": len(agent.of_type("error")),
        "same_origin_control_forwarded": got_control,
    }
    await _end_and_close(agent, visitor, session)
    return outcome


# ------------------------------------------------------------------ 6. HTTP


PATHS = [
    "/",
    "/agent",
    "/static/agent.html",
    "/static/workspace/socket.js",
    "/tag.js",
    "/protocol.json",
    "/healthz",
    "/agent/me",
    "/no/such/page",
]


async def headers(target: Target, plan: Plan) -> Outcome:
    """The security headers of every kind of response."""
    found: dict[str, dict[str, Any]] = {}
    source = next(target.sources())
    for path in PATHS:
        status, got, _ = await asyncio.to_thread(
            http_request, target.url, "GET", path, source=source
        )
        html = got.get("content-type", "").startswith("text/html")
        csp = got.get("content-security-policy", "")
        found[path] = {
            "status": status,
            "html": html,
            "nosniff": got.get("x-content-type-options") == "nosniff",
            "frame_ancestors_none": "frame-ancestors 'none'" in csp,
            "x_frame_options": got.get("x-frame-options"),
        }
    return {"responses": found}


async def slowloris(target: Target, plan: Plan) -> Outcome:
    """200 connections that send a request head a byte at a time and never finish it: how
    many the relay still holds after 15 s (its header timeout should have cut them)."""
    sources = target.sources()
    port = int(target.url.rsplit(":", 1)[1])
    holders: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    for _ in range(200):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=(next(sources), 0)
        )
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        readers.append(reader)
        holders.append(writer)
    hold_for = 15.0
    deadline = time.monotonic() + hold_for
    while time.monotonic() < deadline:
        for writer in holders:
            if not writer.is_closing():
                with contextlib.suppress(ConnectionError, OSError):
                    writer.write(b"X-a: b\r\n")
        await asyncio.sleep(2.0)
    still_open = 0
    for reader, writer in zip(readers, holders, strict=True):
        try:
            writer.write(b"X-b: c\r\n")
            await writer.drain()
            got = await asyncio.wait_for(reader.read(1), 0.05)
            still_open += int(got != b"")
        except TimeoutError:
            still_open += 1  # nothing said and not closed: still held
        except (ConnectionError, OSError):
            pass
    for writer in holders:
        writer.close()
    return {"connections": len(holders), "held_for_s": hold_for, "still_held": still_open}


# ------------------------------------------------------------------ 7. what already held


async def already_held(target: Target, plan: Plan) -> Outcome:
    """The first report's refusals, kept true: a foreign origin, an agent socket from another
    site's page, another brand's agent acting on this brand's conversation, guessed tokens,
    path traversal, a deflate bomb, deep nesting."""
    sources = target.sources()
    outcome: Outcome = {}
    try:
        await open_visitor(target.url, source=next(sources), origin="https://evil.example")
        outcome["foreign_origin_visitor"] = "accepted"
    except (HandshakeRefused, ConnectionError, TimeoutError) as refused:
        outcome["foreign_origin_visitor"] = f"refused ({type(refused).__name__})"
    source = next(sources)
    _, cookie, _ = await asyncio.to_thread(sign_in, target.url, "mark2", source=source)
    try:
        socket = await RawSocket.open(
            target.url, "/ws/agent", origin="https://evil.example", cookie=cookie, source=source
        )
        hello = await _arrives(socket, "hello", timeout=2.0)
        outcome["agent_socket_from_other_site"] = "accepted" if hello else "refused (closed)"
        await _quietly_close(socket)
    except HandshakeRefused:
        outcome["agent_socket_from_other_site"] = "refused (handshake)"
    stranger = await target.agent("stranger", next(sources))
    victim_visitor = await open_visitor(target.url, source=next(sources))
    await victim_visitor.send(message("chat.send", text="hello shop"))
    conversation = (await victim_visitor.wait_for("hello"))["conversation"]
    await stranger.send(message("invite.send", conversation=conversation, mode="shared"))
    await stranger.send(message("conversation.open", conversation=conversation))
    await asyncio.sleep(1.0)
    outcome["cross_brand_invites_offered"] = len(victim_visitor.of_type("invite.offer"))
    outcome["cross_brand_refusals"] = len(stranger.of_type("error"))
    guessed = []
    for _ in range(20):
        visitor = await open_visitor(
            target.url, source=next(sources), token=secrets.token_urlsafe(32)
        )
        guessed.append(visitor.of_type("hello")[0]["conversation"] == conversation)
        await _quietly_close(visitor)
    outcome["guessed_tokens_reaching_a_conversation"] = sum(guessed)
    traversal = {}
    for path in (
        "/static/../relay/settings.py",
        "/static/%2e%2e/relay/settings.py",
        "/static/..%2f..%2fetc/passwd",
        "/demo/../../etc/passwd",
    ):
        got, _, body = await asyncio.to_thread(
            http_request, target.url, "GET", path, source=next(sources)
        )
        traversal[path] = got if b"secret_key" not in body and b"root:" not in body else "LEAK"
    outcome["traversal_statuses"] = traversal
    bomb_socket = await open_visitor(target.url, source=next(sources))
    bomb_socket.send_raw(
        precompressed('{"v":1,"type":"dom.snapshot","pad":"' + "A" * 40_000_000 + '"}')
    )
    await bomb_socket.drain()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(bomb_socket.closed.wait(), 10.0)
    outcome["deflate_bomb_close_code"] = bomb_socket.close_code
    deep_socket = await open_visitor(target.url, source=next(sources))
    await deep_socket.send(
        '{"v":1,"type":"chat.send","text":' + "[" * 100_000 + "]" * 100_000 + "}"
    )
    deep = await _first_of(deep_socket, ("error",), 5.0)
    outcome["deep_nesting"] = (
        "refused"
        if deep == "error"
        else f"socket closed {deep_socket.close_code}"
        if deep_socket.close_code
        else "no answer"
    )
    await _quietly_close(deep_socket, bomb_socket, victim_visitor, stranger)
    return outcome


# ------------------------------------------------------------------ running one


ATTACKS: dict[str, Callable[[Target, Plan], Coroutine[Any, Any, Outcome]]] = {
    "unicode": unicode,
    "snapshots_without_session": snapshots_without_session,
    "snapshots_in_session": snapshots_in_session,
    "conversation_flood": conversation_flood,
    "chat_flood": chat_flood,
    "navigate": navigate,
    "guessing": guessing,
    "headers": headers,
    "slowloris": slowloris,
    "already_held": already_held,
    "signout": signout,  # last: it rewrites the settings file (and puts it back)
}


def _child(name: str, url: str, config_path: str, block: int, quick: bool) -> Outcome:
    return asyncio.run(ATTACKS[name](Target(url, config_path, block), Plan(quick)))


def run_in_child(
    name: str, url: str, config_path: str, block: int, quick: bool
) -> asyncio.Future[Outcome]:
    """Start attack ``name`` in a fresh child process; the future is its outcome."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = asyncio.get_running_loop().run_in_executor(
        pool, _child, name, url, config_path, block, quick
    )
    future.add_done_callback(lambda _: pool.shutdown(wait=False))
    return future


__all__ = ["ATTACKS", "PASSWORD", "Plan", "Target", "run_in_child", "settings_toml"]
