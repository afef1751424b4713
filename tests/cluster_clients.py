"""Protocol-level clients for the fleet tests: an agent and a visitor speaking docs/protocol.md
over the ``websockets`` library, straight to a node or through a load balancer.

Owns: signing an agent in (``POST /agent/login``, the ``cobrowse_agent`` cookie, the Origin the
relay wants), opening ``/ws/agent`` and ``/ws/visitor`` (``?token=`` to resume), sending frames
built by ``wire.protocol.encode`` and checked by ``wire.protocol.decode`` as the relay would
(a typo in a test fails here, not as an ``error`` from the relay), reading every frame the
relay sends as a validated protocol message, ``expect``-ing one type while keeping the others,
and reconnecting on demand (after a backoff the caller picks; quick by default).
Must not: hide what the relay did: a frame from the relay that is not a valid protocol message
is kept in ``faults`` and fails the next ``expect``; a closed socket fails an ``expect`` that
nothing already received answers, naming the close code.

Asyncio only: run scenarios with ``helpers.run_async`` (pytest-playwright keeps a loop on the
test's thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any, ClassVar
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from wire import protocol
from wire.errors import ProtocolError

ORIGIN = "https://shop.example"  # the brand's page origin every fleet test allows
# A small page in the compact node form (wire.nodes): document 1, doctype 2, html 3, head 4,
# title 5, its text 6, body 7, p 8 (id "basket"), its text 9, button 10 (id "buy"), its text 11.
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
BUTTON = 10  # the id of a node to point at, click or highlight

# The clients made inside ``closing()``: all closed when it ends, whatever happened.
_made: ContextVar[list[Peer] | None] = ContextVar("cluster_clients_made", default=None)


@contextlib.asynccontextmanager
async def closing() -> AsyncIterator[None]:
    """Close every client made inside this block when it ends (a scenario that fails half way
    leaves no socket open)."""
    made: list[Peer] = []
    token = _made.set(made)
    try:
        yield
    finally:
        _made.reset(token)
        for peer in made:
            await peer.close()


def quick_backoff(attempt: int) -> float:
    """Tests: try again at once, then every 0.1 to 0.5 s."""
    return 0.0 if attempt == 0 else min(0.5, 0.1 * attempt)


class Peer:
    """One side's socket and everything it received.

    ``received``: every message since the first connect, in order (dicts with ``type``);
    ``closes``: the close code of each socket that ended (None: no close frame, a dead node);
    ``faults``: frames from the relay that are not valid protocol messages.
    """

    role: ClassVar[protocol.Role]

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")  # where the last connect went (a node or the balancer)
        self.ws: ClientConnection | None = None
        self.received: list[dict[str, Any]] = []
        self.closes: list[int | None] = []
        self.faults: list[str] = []
        self.session = ""  # the active session (from session.started), "" when none
        self._inbox: list[dict[str, Any]] = []  # received but not yet expected
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        made = _made.get()
        if made is not None:
            made.append(self)

    # ---------------------------------------------------------------- connecting

    def _target(self, url: str) -> tuple[str, str, dict[str, str]]:
        """The socket's URI, Origin header and other headers for a connect to ``url``."""
        raise NotImplementedError

    def _on(self, message: dict[str, Any]) -> None:
        """Note what a message says about this side (the active session)."""
        if message["type"] == "session.started":
            self.session = message["session"]
        elif message["type"] == "session.ended" and message["session"] == self.session:
            self.session = ""

    async def connect(self, url: str | None = None, timeout: float = 5.0) -> Peer:
        """Open the socket (to ``url``, else where the last one went); unread messages of an
        earlier socket are dropped from the inbox (``received`` keeps them)."""
        if url is not None:
            self.url = url.rstrip("/")
        uri, origin, headers = self._target(self.url)
        ws = await connect(
            uri,
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            proxy=None,
            max_size=None,
            open_timeout=timeout,
            close_timeout=2,
        )
        await self._drop()
        self.ws = ws
        self._inbox.clear()
        self._reader = asyncio.create_task(self._read(ws))
        return self

    async def reconnect(
        self,
        url: str | None = None,
        *,
        timeout: float = 20.0,
        backoff: Callable[[int], float] = quick_backoff,
    ) -> dict[str, Any]:
        """Close the socket if it is still open, then connect again until a ``hello`` arrives
        (each attempt after ``backoff(attempt)`` seconds); returns that ``hello``. A socket the
        relay closes before its hello (a draining node) counts as a failed attempt."""
        await self._drop()
        deadline = time.monotonic() + timeout
        attempt = 0
        failures: list[str] = []
        while True:
            await asyncio.sleep(backoff(attempt))
            attempt += 1
            try:
                await self.connect(url, timeout=max(0.5, min(5.0, deadline - time.monotonic())))
                return await self.expect("hello", timeout=max(0.5, deadline - time.monotonic()))
            except (OSError, EOFError, WebSocketException, AssertionError) as error:
                failures.append(f"{type(error).__name__}: {error}"[:200])
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.role} did not reconnect in {timeout:g} s ({attempt} attempts): "
                    + "; ".join(failures[-3:])
                )

    async def close(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        ws, reader = self.ws, self._reader
        self.ws, self._reader = None, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 3)
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(reader, 3)

    @property
    def open(self) -> bool:
        return self._reader is not None and not self._reader.done()

    @property
    def local_port(self) -> int:
        """This socket's own port (what a balancer's ``backend_of`` knows it by)."""
        assert self.ws is not None, "connect first"
        port: int = self.ws.local_address[1]
        return port

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
                try:
                    protocol.decode(text, protocol.RELAY)
                except ProtocolError as error:
                    self.faults.append(f"{error.code}: {error.message} in {text[:200]}")
                    self._arrived.set()
                    continue
                message: dict[str, Any] = json.loads(text)
                message.pop("v", None)
                self._on(message)
                self.received.append(message)
                self._inbox.append(message)
                self._arrived.set()
        except WebSocketException:
            pass
        finally:
            self.closes.append(ws.close_code)
            self._arrived.set()

    # ---------------------------------------------------------------- messages

    async def send(self, kind: str, /, **body: Any) -> None:
        """Send one message, refused here first if the relay would find it invalid."""
        frame = protocol.encode(kind, **body)
        protocol.decode(frame, self.role)  # raises ProtocolError: the test's own mistake
        await self.send_raw(frame)

    async def send_raw(self, frame: str) -> None:
        assert self.ws is not None, f"the {self.role} is not connected"
        await self.ws.send(frame)

    def take(self, kind: str, **fields: Any) -> dict[str, Any] | None:
        """The first unread message of type ``kind`` whose fields equal ``fields``, removed
        from the inbox; None if there is none yet."""
        if self.faults:
            raise AssertionError(f"the relay sent the {self.role} invalid frames: {self.faults}")
        for message in self._inbox:
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                self._inbox.remove(message)
                return message
        return None

    async def expect(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Wait for a message of type ``kind`` (with ``fields``), skipping others but keeping
        them for later ``expect``s. Fails after ``timeout`` seconds, or at once when the socket
        closed and nothing received answers."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.take(kind, **fields)
            if found is not None:
                return found
            if not self.open:
                code = self.closes[-1] if self.closes else "never opened"
                raise AssertionError(
                    f"the {self.role}'s socket closed (code {code}) before a {kind} "
                    f"{fields or ''}; unread: {self._summary()}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"the {self.role} got no {kind} {fields or ''} in {timeout:g} s; unread: "
                    f"{self._summary()}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def expect_closed(self, timeout: float = 10.0) -> int | None:
        """Wait until the relay closes this socket; its close code (None: no close frame)."""
        assert self._reader is not None, "connect first"
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        except TimeoutError:
            raise AssertionError(f"the {self.role}'s socket stayed open {timeout:g} s") from None
        return self.closes[-1]

    async def error(self, ref: str, timeout: float = 10.0) -> str:
        """The code of the next ``error`` answering a message of type ``ref``."""
        code: str = (await self.expect("error", timeout, ref=ref))["code"]
        return code

    def _summary(self) -> str:
        return ", ".join(m["type"] for m in self._inbox[-20:]) or "nothing"


class Visitor(Peer):
    """A visitor's tab on a brand page of ``origin``: ``/ws/visitor``, resuming with its token."""

    role = protocol.VISITOR

    def __init__(self, url: str, origin: str = ORIGIN) -> None:
        super().__init__(url)
        self.origin = origin
        self.token: str | None = None
        self.conversation = ""
        self.stored = False  # its conversation is stored (on its first chat.send): invitable
        self.seq = 0  # the next dom.* seq

    def _target(self, url: str) -> tuple[str, str, dict[str, str]]:
        query = f"?token={quote(self.token)}" if self.token else ""
        return f"ws{url[4:]}/ws/visitor{query}", self.origin, {}

    def _on(self, message: dict[str, Any]) -> None:
        super()._on(message)
        if message["type"] == "hello":
            self.token, self.conversation = message["token"], message["conversation"]
            self.stored = message["resumed"]
        elif message["type"] == "chat.message" and message["sender"] == "visitor":
            self.stored = True

    async def chat_first(self, text: str = "Hello") -> None:
        """Store the conversation, as the visitor's first chat message does (agents may
        invite it then); waits for the relay's echo."""
        if not self.stored:
            await self.send("chat.send", text=text)
            await self.expect("chat.message", sender="visitor", text=text)

    async def snapshot(self, doc: list[Any] | None = None, *, title: str = "Shop") -> None:
        """A fresh ``dom.snapshot`` of the active session (a new stream, as after a reconnect)."""
        assert self.session, "no active session"
        await self.send(
            "dom.snapshot",
            session=self.session,
            seq=self.seq,
            url=f"{self.origin}/cart",
            title=title,
            viewport={"w": 1280, "h": 800, "dpr": 1},
            doc=DOC if doc is None else doc,
        )
        self.seq += 1

    async def set_text(self, node: int, text: str) -> None:
        """A ``dom.mutations`` that changes one text node (the next seq)."""
        await self.send(
            "dom.mutations",
            session=self.session,
            seq=self.seq,
            adds=[],
            removes=[],
            attrs=[],
            texts=[[node, text]],
        )
        self.seq += 1


class Agent(Peer):
    """An agent's workspace: signs in with ``name``/``password`` at ``url`` (``sign_in``), then
    opens ``/ws/agent`` with the cookie and the Origin of whatever base URL it connects to (a
    cookie from one node works on all)."""

    role = protocol.AGENT

    def __init__(self, url: str, name: str, password: str) -> None:
        super().__init__(url)
        self.name = name
        self.password = password
        self.cookie = ""

    async def sign_in(self, url: str | None = None) -> Agent:
        self.cookie = await asyncio.to_thread(login, url or self.url, self.name, self.password)
        return self

    def _target(self, url: str) -> tuple[str, str, dict[str, str]]:
        assert self.cookie, "sign_in() first"
        return f"ws{url[4:]}/ws/agent", url, {"Cookie": self.cookie}

    async def transcript(self, conversation: str, url: str | None = None) -> tuple[int, Any]:
        """``GET /agent/conversations/{id}/transcript`` (JSON) at ``url``: (status, body)."""
        return await asyncio.to_thread(
            get_json, f"{url or self.url}/agent/conversations/{conversation}/transcript",
            self.cookie,
        )  # fmt: skip


def login(url: str, name: str, password: str) -> str:
    """Sign ``name`` in at ``url`` through ``POST /agent/login``; the Cookie header value."""
    request = urllib.request.Request(  # noqa: S310 - a loopback test relay
        f"{url}/agent/login",
        data=json.dumps({"name": name, "password": password}).encode(),
        headers={"Origin": url, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        cookie = str(response.headers.get("set-cookie") or "")
    name_value = cookie.split(";", 1)[0]
    assert name_value.startswith("cobrowse_agent="), f"no sign-in cookie: {cookie!r}"
    return name_value


def get_json(url: str, cookie: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def start_session(agent: Agent, visitor: Visitor, mode: str = "view_only") -> str:
    """Invite, offer, accept: both sides get ``session.started`` with one session id; returns
    it. The visitor must be connected (its conversation known, stored by a first chat)."""
    await visitor.chat_first()
    await agent.send("invite.send", conversation=visitor.conversation, mode=mode)
    offer = await visitor.expect("invite.offer")
    await visitor.send("invite.accept", invite=offer["invite"])
    started = await visitor.expect("session.started")
    on_agent = await agent.expect("session.started", session=started["session"])
    assert on_agent["conversation"] == visitor.conversation and on_agent["mode"] == mode
    session: str = started["session"]
    visitor.seq = 0
    return session
