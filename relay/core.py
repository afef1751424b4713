"""The relay's session logic as a pure state machine: events in, effects out.

Owns: conversations, invites, sessions, modes, who may send what and what each message does
(``DISPATCH``, one table at the end of this file), and who receives what, rendered replicas
included (``replica_rendered``). Must not: touch sockets, asyncio, the clock, a random source
or the renderer; nothing outside it reads its tables (ask it a question instead).

The adapters (``relay.sockets``, ``relay.replicas``, ``relay.pages``) hand in validated
``Message``s with the time and carry out the returned effects in order (``relay.effects``):
``Send`` through the broker, ``Render`` through the render pipeline (whose result comes back
through ``replica_rendered``), ``DropReplica``.

It never sees a session's content beyond passing it on: DOM messages go to ``Render``
untouched and are not kept. Conversations and chat live in an injected ``ConversationStore``
(``relay.store.SqliteStore`` for one node, ``relay.pgstore.PostgresStore`` for several nodes
sharing one database; the tests run on both), which other nodes may change between any two of
its calls: the core never writes back a conversation it read, it asks the store for one change
at a time (``add_message``, ``mark_read``, ``close_conversation``). Invites, sessions and
visitors' presence live in an injected ``LiveState`` (``relay.live.MemoryLiveState`` for one
node, ``relay.redis_live.RedisLiveState`` for a fleet), never in the store: nothing of a
CoBrowse session (not even the invitation) outlives it. What only the node holding a visitor's
socket needs (its page's origin, the DOM stream's next seq, a new conversation not stored until
its first chat message) stays in the core itself; a session's record carries the page's origin
too, for the agent's node to judge ``act.navigate`` (``navigate_refusal``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from relay.settings import SELF_ORIGIN  # in a brand's allowed origins: the visitor's page
from wire.errors import ProtocolError
from wire.protocol import AGENT, MODES, VISITOR, Message, Role

# ---------------------------------------------------------------- permissions as data

# Who may send a message type: role -> the session modes in which it is allowed, or None when
# it does not need a session. A role missing from a message's rule is refused (deny by default).
Modes = frozenset[str] | None

IN_ANY_SESSION: Final = frozenset(MODES)
SHARED_ONLY: Final = frozenset({"shared"})
NO_SESSION: Final = None

MAX_HISTORY: Final = 500  # chat messages sent with chat.history
MAX_TRANSCRIPT: Final = 100_000  # chat messages in one transcript export
MAX_CONVERSATIONS_LISTED: Final = 200


# ---------------------------------------------------------------- navigation policy

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# A host as the browser and we read it alike: letters, digits, dots and hyphens (or an IPv6
# literal). Anything else (percent escapes, '@', '\\', spaces) could be read differently.
_PLAIN_HOST: Final = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


def origin_of_url(url: str) -> str | None:
    """The origin (``scheme://host[:port]``, lower case, default port left out) of an absolute
    http(s) URL written plainly, or None for anything a browser might read otherwise: no
    ``scheme://host``, credentials (``https://shop.example@evil.example``), a backslash,
    whitespace or a control character anywhere (browsers drop or convert them), an odd host
    or port."""
    if any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    scheme, sep, _rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is no number, or out of range
        return None
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    if "@" in parts.netloc or not host or not _PLAIN_HOST.fullmatch(host):
        return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def navigate_refusal(url: str, page_origin: str, allowed_origins: Iterable[str]) -> str | None:
    """Why an agent's ``act.navigate`` to ``url`` is refused, or None when it may go: only
    to the visitor's own page origin, and only when that origin is one of the brand's
    (``"self"`` in ``allowed_origins`` stands for the page's origin). The reason never echoes
    the URL."""
    target = origin_of_url(url)
    if target is None:
        return "act.navigate needs a plain absolute http(s) URL (no credentials, spaces or \\)"
    if not page_origin:
        return "the visitor's page origin is unknown: act.navigate is refused"
    if target != page_origin:
        return "act.navigate may only go to the visitor's own site (its page's origin)"
    allowed = {o.lower().rstrip("/") for o in allowed_origins}
    if SELF_ORIGIN not in allowed and target not in allowed:
        return "the visitor's site is not among the brand's allowed origins"
    return None


def load_origins(allowed_origins: Iterable[str], page_origin: str) -> tuple[str, ...]:
    """The origins a replica may load from: a brand's ``allowed_origins`` with ``"self"``
    read as the visitor's page origin (dropped while that is unknown), in order, once each.
    The render policy and the resource proxy both judge URLs by it."""
    origins = [page_origin if o == SELF_ORIGIN else o for o in allowed_origins]
    return tuple(dict.fromkeys(o for o in origins if o))


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class Peer:
    """An addressable end: a visitor (by conversation id) or an agent (by agent id)."""

    role: Role
    id: str


@dataclass(frozen=True)
class Send:
    to: Peer
    type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BrandRules:
    """What the core knows of a brand: its mask selectors, and the origins its replicas may
    load from (``"self"``: the visitor's page), which it passes on in ``Render``."""

    id: str
    mask_selectors: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Render:
    """Sanitize a visitor's ``dom.*`` message, then hand each ``replica.*`` result to
    ``RelayCore.replica_rendered``, which says who receives it.

    Carries what the render policy needs, so the pipeline never reads the core's tables: the
    brand's rules and the origin of the visitor's page (``"self"`` in the brand's origins).
    """

    session: str
    message: Message
    brand: BrandRules
    page_origin: str


@dataclass(frozen=True)
class DropReplica:
    session: str


Effect = Send | Render | DropReplica


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class AgentAccount:
    id: str
    name: str
    brands: frozenset[str]


@dataclass(frozen=True)
class Conversation:
    """A conversation as the store last returned it: a snapshot, never written back (another
    node may have changed it since); change it through ``ConversationStore``."""

    id: str
    brand: str
    started_at: int
    last_at: int = 0
    unread: int = 0
    closed_at: int | None = None
    title: str = ""  # the start of the visitor's first message

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class ChatEntry:
    """One chat message as stored and as sent (``chat.message``)."""

    conversation: str
    sender: str  # visitor, agent or system
    name: str
    text: str
    at: int

    def body(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation,
            "sender": self.sender,
            "name": self.name,
            "text": self.text,
            "at": self.at,
        }


class ConversationStore(Protocol):
    """Where conversations and chat messages are kept (``relay.store.SqliteStore``,
    ``relay.pgstore.PostgresStore``).

    The core calls it synchronously; an implementation must not keep anything else. Several
    relay nodes may share one database, so each change is one atomic operation on the stored
    row, never a write-back of a row read earlier: two nodes changing one conversation at once
    give what one order of their calls would give, and lose nothing.
    """

    def create(self, conversation: Conversation, token_hash: str) -> None: ...

    def get(self, conversation_id: str) -> Conversation | None: ...

    def by_token(self, token_hash: str) -> Conversation | None: ...

    def listing(self, brands: frozenset[str], limit: int) -> list[Conversation]: ...

    def add_message(
        self, entry: ChatEntry, *, unread: bool, title: str = ""
    ) -> Conversation | None:
        """Keep ``entry`` as the conversation's latest chat message, if it is still open:
        ``last_at`` becomes ``entry.at`` unless it is later already, ``unread`` counts one more
        when ``unread``, and ``title`` is set when it is still empty.

        Returns the conversation as it is now, or None when it is closed (or unknown): nothing
        was written then.
        """
        ...

    def mark_read(self, conversation_id: str) -> None:
        """An agent opened the conversation: nothing in it is unread."""
        ...

    def close_conversation(self, entry: ChatEntry) -> Conversation | None:
        """End the conversation at ``entry.at`` with ``entry`` (the system's closing line) as
        its last chat message, if it is still open.

        Returns the closed conversation, or None when it was closed already (by another agent,
        maybe on another node) or is unknown: nothing was written then.
        """
        ...

    def messages(self, conversation_id: str, limit: int) -> list[ChatEntry]: ...


def token_hash(token: str) -> str:
    """What the store keeps instead of a visitor token: a copy of it grants nothing."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Invite:
    id: str
    conversation: str
    brand: str  # the conversation's: a settings change judges the invite without the store
    agent: str
    mode: str
    expires_at: int
    upgrades: str | None = None  # a session id: this invite asks to switch it to shared


@dataclass(frozen=True)
class Session:
    id: str
    conversation: str
    agent: str
    mode: str
    brand: str
    # The origin of the visitor's page (set when it starts, renewed when the visitor comes
    # back from another page): an agent's act.navigate must stay on it, and the agent's
    # socket may be on another node than the visitor's.
    page_origin: str = ""


class LiveState(Protocol):
    """Where invites, sessions and visitors' presence live (``relay.live.MemoryLiveState`` for
    one node, ``relay.redis_live.RedisLiveState`` for a fleet sharing one Redis).

    Every node must see them alike: an agent's socket may be on one node and its visitor's on
    another. The core calls it synchronously. A call that changes it, and every read that
    decides such a change, runs while the adapter holds the fleet's lock (``needs_lock``), so
    two nodes' changes never interleave; the hot path (presence, DOM, remote actions) only
    reads, without the lock. A record is replaced, never changed in place.
    """

    def invite(self, invite_id: str) -> Invite | None: ...

    def invite_of_agent(self, agent_id: str) -> Invite | None: ...

    def invite_of_conversation(self, conversation_id: str) -> Invite | None: ...

    def add_invite(self, invite: Invite) -> None: ...

    def remove_invite(self, invite: Invite) -> None: ...

    def invites(self) -> list[Invite]: ...

    def invites_due(self, now: int) -> list[Invite]:
        """The invites whose ``expires_at`` is ``now`` or earlier."""
        ...

    def session(self, session_id: str) -> Session | None: ...

    def session_of_agent(self, agent_id: str) -> Session | None: ...

    def session_of_conversation(self, conversation_id: str) -> Session | None: ...

    def recent_session(self, session_id: str) -> Session | None:
        """``session``, or a read of it at most half a second old (possibly ended or upgraded
        since on another node): only for the hot path's permission to pass a message on,
        never for a refusal or a change."""
        ...

    def put_session(self, session: Session) -> None:
        """Keep ``session``, replacing the one of its id (a mode change)."""
        ...

    def remove_session(self, session: Session) -> None: ...

    def sessions(self) -> list[Session]: ...

    def cobrowsing(self, conversation_ids: Iterable[str]) -> set[str]:
        """Which of these conversations are in a session (one round trip for a listing)."""
        ...

    def existing(self, session_ids: Iterable[str]) -> set[str]:
        """Which of these sessions still run."""
        ...

    def visitors_seen(self, conversation_ids: Iterable[str], now: int) -> None:
        """These conversations' visitors have a socket open at ``now`` (or closed it now)."""
        ...

    def visitors_gone(self, before: int) -> list[str]:
        """The conversations whose visitor was last seen at ``before`` or earlier, forgotten
        as they are returned (each is returned once)."""
        ...

    def counts(self) -> tuple[int, int]:
        """How many sessions run and how many invites wait, fleet-wide."""
        ...


@dataclass
class Stream:
    """A session's DOM stream on the node holding its visitor's socket (never shared)."""

    conversation: str
    next_seq: int  # the seq the next dom.mutations must carry


@dataclass(frozen=True)
class CoreSettings:
    invite_ttl_ms: int = 120_000
    # How long a session survives without any visitor connection (navigation, reload,
    # a dropped network) before the relay ends it.
    visitor_grace_ms: int = 60_000


class RelayCore:
    """Conversations, invites and sessions. Call ``receive``/``tick``/``*_connected``; apply
    the returned effects in order."""

    def __init__(
        self,
        agents: Iterable[AgentAccount],
        brands: Iterable[BrandRules],
        *,
        store: ConversationStore,
        live: LiveState,
        new_id: Callable[[], str],
        new_token: Callable[[], str],
        settings: CoreSettings = CoreSettings(),
    ) -> None:
        self._agents: dict[str, AgentAccount] = {agent.id: agent for agent in agents}
        self._brands: dict[str, BrandRules] = {brand.id: brand for brand in brands}
        self._settings = settings
        self._new_id = new_id
        self._new_token = new_token
        self._store = store
        self._live = live
        # This node's own: its visitors' sockets and pages, and the DOM streams they send here
        # (a visitor's dom.* always arrives on the node holding its socket).
        self._visitors_online: dict[str, int] = {}  # conversation id -> open sockets here
        # New conversations not stored yet: conversation id -> (it, its token's hash). One is
        # stored on its visitor's first chat.send and forgotten when its socket closes, so a
        # flood of sockets that never chat costs no store row and no agent's list (issue 19).
        self._pending: dict[str, tuple[Conversation, str]] = {}
        # Conversations whose session ended where no store read may run (``tick``,
        # ``update_accounts``): their agents' rows go out with ``announce_rows``.
        self._rows_due: set[str] = set()
        # conversation id -> the origin of the visitor's page, for its replica's policy
        self._page_origins: dict[str, str] = {}
        # session id -> its DOM stream here; absent until a snapshot
        self._streams: dict[str, Stream] = {}

    # ------------------------------------------------------------ connections

    def visitor_connected(
        self, brand: str, token: str | None, now: int, *, page_origin: str = ""
    ) -> tuple[Peer, list[Effect]]:
        """A visitor socket opened for ``brand`` from a page of ``page_origin``. Returns the
        visitor's address and effects. Call ``visitor_disconnected`` when it closes.

        An unknown token (or one of another brand) starts a new conversation: a token only
        ever grants its own conversation. The page's origin stands for ``"self"`` in the
        brand's allowed origins when its replica is rendered (``Render.page_origin``).

        A new conversation is pending: kept in this node's memory only (not listed, no invite
        possible) until the visitor's first ``chat.send`` stores it and tells the brand's
        agents; forgotten when its socket closes. Its token was never stored, so a reconnect
        with it starts another new one (``resumed: false``, another conversation id).
        """
        if brand not in self._brands:
            raise ProtocolError("forbidden", f"unknown brand {brand!r}")
        found = self._store.by_token(token_hash(token)) if token else None
        # A closed conversation is over: the same tab starts a new one.
        resumed = found is not None and found.brand == brand and not found.closed
        if not resumed or found is None or token is None:
            token = self._new_token()
            found = Conversation(self._new_id(), brand, now, last_at=now)
            self._pending[found.id] = (found, token_hash(token))
        conversation = found
        conversation_id = conversation.id
        visitor = Peer(VISITOR, conversation_id)
        self._visitors_online[conversation_id] = self._visitors_online.get(conversation_id, 0) + 1
        self._page_origins[conversation_id] = page_origin
        hello: dict[str, Any] = {
            "conversation": conversation_id,
            "token": token,
            "brand": brand,
            "resumed": resumed,
        }
        if not resumed:
            # Nothing of it is anywhere yet: no store or live state call for a new socket.
            history = {"conversation": conversation_id, "messages": []}
            return visitor, [Send(visitor, "hello", hello), Send(visitor, "chat.history", history)]
        self._live.visitors_seen([conversation_id], now)
        session = self._live.session_of_conversation(conversation_id)
        if session is not None and session.page_origin != page_origin:
            # Back from another page (under the fleet's lock): navigation follows its origin.
            session = replace(session, page_origin=page_origin)
            self._live.put_session(session)
        if session is not None:
            hello["session"] = session.id  # session.started follows; absent: none is active
        effects: list[Effect] = [
            Send(visitor, "hello", hello),
            Send(visitor, "chat.history", self._history(conversation_id)),
        ]
        invite = self._live.invite_of_conversation(conversation_id)
        if invite is not None:
            effects.append(self._offer(invite))
        if session is not None:
            self._streams.pop(session.id, None)  # the new page load starts with a fresh snapshot
            effects.append(
                Send(visitor, "session.started", self._session_body(session, for_visitor=True))
            )
        return visitor, effects

    def resumable(self, brand: str, token: str | None) -> Peer | None:
        """The visitor a socket with ``token`` would be (``visitor_connected`` resumes its
        conversation), or None when it would start a new one: the adapter listens for its
        frames before it connects, so that nothing sent meanwhile passes it by."""
        found = self._store.by_token(token_hash(token)) if token else None
        if found is None or found.brand != brand or found.closed:
            return None
        return Peer(VISITOR, found.id)

    def visitor_disconnected(self, visitor: Peer, now: int) -> list[Effect]:
        left = self._visitors_online.get(visitor.id, 1) - 1
        if left > 0:
            self._visitors_online[visitor.id] = left
            return []
        self._visitors_online.pop(visitor.id, None)
        self._page_origins.pop(visitor.id, None)
        if self._pending.pop(visitor.id, None) is not None:
            return []  # never stored: nothing of it is left anywhere
        # Its session ends once no node has seen its visitor for the grace time (``tick``).
        self._live.visitors_seen([visitor.id], now)
        return []

    def agent_connected(self, agent_id: str) -> tuple[Peer, list[Effect]]:
        account = self._agents.get(agent_id)
        if account is None:
            raise ProtocolError("forbidden", "unknown agent")
        agent = Peer(AGENT, agent_id)
        effects: list[Effect] = [
            Send(agent, "hello", {"agent": {"id": account.id, "name": account.name}}),
            Send(agent, "conversation.list", {"conversations": self._listing(account.brands)}),
        ]
        session = self._live.session_of_agent(agent_id)
        if session is not None:
            effects.append(
                Send(agent, "session.started", self._session_body(session, for_visitor=False))
            )
            effects.append(self._resync(session, "agent reconnected"))
        # After session.started, so that a pending upgrade finds its session on the agent's side.
        invite = self._live.invite_of_agent(agent_id)
        if invite is not None:
            effects.append(Send(agent, "invite.state", self._invite_body(invite, "pending")))
        return agent, effects

    # ------------------------------------------------------------ settings

    def update_accounts(
        self, agents: Iterable[AgentAccount], brands: Iterable[BrandRules]
    ) -> list[Effect]:
        """The settings file changed: take its agents and brand rules, running sessions included.

        A session whose brand's mask selectors changed gets ``session.config`` (the tag masks by
        the new list and sends a fresh snapshot); a session or invite whose agent lost the
        account or the brand, or whose brand is gone, ends (``by: relay``).
        """
        old = self._brands
        self._agents = {agent.id: agent for agent in agents}
        self._brands = {brand.id: brand for brand in brands}
        effects: list[Effect] = []
        # No store call here: a settings change is taken even while the database is away.
        # Every node of a fleet reads the same file: each one tells only its own visitors.
        for invite in self._live.invites():
            if not self._may_serve(invite.agent, invite.brand):
                effects.extend(self._close_invite(invite, "cancelled"))
        for session in self._live.sessions():
            if not self._may_serve(session.agent, session.brand):
                effects.extend(self._end(session, "relay", "the agent's account changed"))
                self._rows_due.add(session.conversation)
                continue
            if session.conversation not in self._visitors_online:
                continue
            selectors = self._brands[session.brand].mask_selectors
            before = old.get(session.brand)
            if before is None or before.mask_selectors != selectors:
                body = {"session": session.id, "mask_selectors": list(selectors)}
                effects.append(Send(Peer(VISITOR, session.conversation), "session.config", body))
        return effects

    def _may_serve(self, agent_id: str, brand: str) -> bool:
        account = self._agents.get(agent_id)
        return account is not None and brand in self._brands and brand in account.brands

    # ------------------------------------------------------------ messages

    def receive(self, sender: Peer, message: Message, now: int) -> list[Effect]:
        """Handle one validated message from ``sender``.

        Raises ``ProtocolError`` when the sender may not send it now; nothing changed then.
        """
        if sender.role == AGENT and sender.id not in self._agents:
            # The settings file dropped this account while its socket was open.
            raise ProtocolError(
                "forbidden", "this agent account no longer exists", ref=message.type
            )
        rule = DISPATCH.get(message.type)
        if rule is None or sender.role not in rule.allowed:
            raise ProtocolError(
                "forbidden", f"a {sender.role} may not send {message.type!r}", ref=message.type
            )
        modes = rule.allowed[sender.role]
        session: Session | None = None
        if modes is not None:
            # The hot path (no lock) may take a recent read of the session; a refusal never
            # rests on one: it is judged again on the session as it is now.
            recent = None if rule.locked else self._recent_session(sender, message)
            if recent is not None and recent.mode in modes:
                return rule.handle(self, sender, message, now, recent)
            session = self._own_session(sender, message)
            if session.mode not in modes:
                raise ProtocolError(
                    "forbidden",
                    f"{message.type!r} is not allowed in {session.mode.replace('_', ' ')} mode",
                    ref=message.type,
                )
        return rule.handle(self, sender, message, now, session)

    def tick(self, now: int) -> list[Effect]:
        """Once a second on every node: say this node's visitors are here, expire invites,
        end sessions whose visitor no node has seen for the grace time, and drop the replicas
        of sessions that ended elsewhere or whose visitor left this node."""
        self._live.visitors_seen([c for c in self._visitors_online if c not in self._pending], now)
        effects: list[Effect] = []
        for invite in self._live.invites_due(now):
            effects.extend(self._close_invite(invite, "expired"))
        for conversation_id in self._live.visitors_gone(now - self._settings.visitor_grace_ms):
            if conversation_id in self._visitors_online:
                continue  # here now (a grace of 0); seen again at the next tick
            session = self._live.session_of_conversation(conversation_id)
            if session is not None:
                effects.extend(self._end(session, "relay", "the visitor left"))
                self._rows_due.add(session.conversation)
        if self._streams:
            running = self._live.existing(list(self._streams))
            for session_id, stream in list(self._streams.items()):
                if session_id not in running or stream.conversation not in self._visitors_online:
                    del self._streams[session_id]
                    effects.append(DropReplica(session_id))
        return effects

    def announce_rows(self) -> list[Effect]:
        """The agents' rows (``conversation.updated``) of conversations whose session ``tick``
        or ``update_accounts`` ended: those never read the store, so that a store outage does
        not stop them. Call after either; a store error leaves them all due for the next call
        (a row sent twice is harmless: the workspace replaces it by id)."""
        effects: list[Effect] = []
        due = sorted(self._rows_due)
        for conversation_id in due:
            conversation = self._store.get(conversation_id)
            if conversation is not None:
                effects.extend(self._updated(conversation))
        self._rows_due.difference_update(due)
        return effects

    def needs_lock(self, message_type: str) -> bool:
        """Whether ``receive`` of this type may change invites or sessions (or answer from
        them in a way that must not cross such a change): the adapter then holds the fleet's
        lock around the call and the publishing of its effects."""
        rule = DISPATCH.get(message_type)
        return rule is not None and rule.locked

    def transcript(
        self, agent_id: str, conversation_id: str
    ) -> tuple[Conversation, list[ChatEntry]]:
        """The conversation's chat for a transcript view or export, for an agent of its brand.

        Only chat is in it: invitations and CoBrowse sessions are never stored. Raises
        ``ProtocolError("not_found")`` for an unknown agent or a conversation of another brand.
        """
        if agent_id not in self._agents:
            raise ProtocolError("not_found", "no such conversation")
        conversation = self._agent_conversation(Peer(AGENT, agent_id), conversation_id)
        return conversation, self._store.messages(conversation.id, MAX_TRANSCRIPT)

    def replica_rendered(self, session_id: str, kind: str, body: dict[str, Any]) -> list[Send]:
        """The render pipeline sanitized one ``dom.*`` message of ``Render(session_id)`` into
        ``kind`` (``replica.snapshot`` or ``replica.mutations``): it goes to the session's
        agent, or nowhere when the session ended while it was rendering (a recent read: the
        hot path's)."""
        session = self._live.recent_session(session_id)
        return [Send(Peer(AGENT, session.agent), kind, body)] if session else []

    def replica_failed(self, session_id: str) -> list[Send]:
        """The renderer lost this session's replica: ask the visitor for a fresh snapshot."""
        session = self._live.session(session_id)
        return [self._resync(session, "renderer restarted")] if session else []

    def resource_origins(self, agent_id: str, session_id: str) -> tuple[str, ...] | None:
        """The origins ``agent_id``'s replica of session ``session_id`` may load from
        (``load_origins``), or None when that is not a running session of this agent: the
        resource proxy (``relay.resources``) fetches for the session's agent alone, from these
        alone. A recent read (the hot path's): a session ended on another node within the last
        half second may still be served, never another agent's."""
        session = self._live.recent_session(session_id)
        if session is None or session.agent != agent_id or agent_id not in self._agents:
            return None
        brand = self._brands.get(session.brand)
        if brand is None:
            return None
        return load_origins(brand.allowed_origins, session.page_origin)

    def active_sessions(self) -> int:
        """How many CoBrowse sessions are running, fleet-wide (for health checks)."""
        return self._live.counts()[0]

    def pending_invites(self) -> int:
        """How many invites wait for their visitor's answer, fleet-wide (for metrics)."""
        return self._live.counts()[1]

    def pending_here(self) -> int:
        """How many new conversations on this node wait for their first chat message (for
        metrics, and for the tests to see that a closed socket leaves none behind)."""
        return len(self._pending)

    def streams_here(self) -> int:
        """How many sessions' DOM streams this node renders (for metrics)."""
        return len(self._streams)

    def may_stream(self, visitor: Peer) -> bool:
        """Whether this visitor has a CoBrowse session now, so that its ``dom.*`` frames are
        worth reading: the adapter asks before it parses one (issue 19), and refuses the frame
        unread when not. One read of the live state; ``receive`` still judges the message."""
        return (
            visitor.role == VISITOR and self._live.session_of_conversation(visitor.id) is not None
        )

    # ------------------------------------------------------------ handlers

    def _on_chat_send(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        if sender.role == VISITOR:
            conversation = self._stored_conversation(sender.id, now)
            name = "Visitor"
        else:
            conversation = self._agent_conversation(sender, message.body.get("conversation"))
            name = self._agents[sender.id].name
        ended = ProtocolError(
            "conflict",
            "this conversation has ended; reload the page to start a new one",
            ref="chat.send",
        )
        if conversation.closed:
            raise ended
        text = message.body["text"]
        entry = ChatEntry(conversation.id, sender.role, name, text, now)
        # Read before the message is kept: a live state failure then stores nothing.
        cobrowsing = bool(self._live.cobrowsing([conversation.id]))
        if sender.role == VISITOR:
            # Unread for the agents; the first words of the visitor's first message name it.
            stored = self._store.add_message(entry, unread=True, title=text.strip()[:80])
        else:
            stored = self._store.add_message(entry, unread=False)
        if stored is None:  # closed meanwhile (by an agent on another node)
            raise ended
        return self._say(stored, entry) + self._updated(stored, cobrowsing=cobrowsing)

    def _on_conversation_open(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        conversation = self._agent_conversation(sender, message.body["conversation"])
        self._store.mark_read(conversation.id)
        effects: list[Effect] = [Send(sender, "chat.history", self._history(conversation.id))]
        invite = self._live.invite_of_conversation(conversation.id)
        if invite is not None and invite.agent == sender.id:
            effects.append(Send(sender, "invite.state", self._invite_body(invite, "pending")))
        # Read again after the change: a message another node kept meanwhile shows in the row.
        read = self._store.get(conversation.id)
        return effects + (self._updated(read) if read is not None else [])

    def _on_conversation_close(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        """End the conversation: its invite and session end too; the visitor is told."""
        conversation = self._agent_conversation(sender, message.body["conversation"])
        already = ProtocolError(
            "conflict", "this conversation has already ended", ref="conversation.close"
        )
        if conversation.closed:
            raise already
        name = self._agents[sender.id].name
        entry = ChatEntry(conversation.id, "system", name, f"{name} ended the conversation.", now)
        # First, before any invite or session ends: only one of two agents closing at once (on
        # two nodes) gets here, and the other one changes nothing.
        closed = self._store.close_conversation(entry)
        if closed is None:
            raise already
        effects: list[Effect] = []
        invite = self._live.invite_of_conversation(conversation.id)
        if invite is not None:
            effects.extend(self._close_invite(invite, "cancelled"))
        session = self._live.session_of_conversation(conversation.id)
        if session is not None:
            effects.extend(self._end(session, sender.role, "the conversation ended"))
        effects.extend(self._say(conversation, entry))
        effects.append(
            Send(
                Peer(VISITOR, conversation.id),
                "conversation.closed",
                {"conversation": conversation.id},
            )
        )
        effects.extend(self._updated(closed, cobrowsing=False))
        return effects

    def _on_invite_send(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        conversation = self._agent_conversation(sender, message.body["conversation"])
        if conversation.closed:
            raise ProtocolError("conflict", "this conversation has ended", ref="invite.send")
        if self._live.invite_of_agent(sender.id) is not None:
            raise ProtocolError(
                "conflict",
                "you already have a pending CoBrowse invite; cancel it or wait for the answer",
                ref="invite.send",
            )
        if self._live.session_of_agent(sender.id) is not None:
            raise ProtocolError(
                "conflict",
                "you already have an active CoBrowse session; end it before inviting again",
                ref="invite.send",
            )
        if self._live.invite_of_conversation(conversation.id) is not None:
            raise ProtocolError(
                "conflict", "this visitor already has a pending invite", ref="invite.send"
            )
        if self._live.session_of_conversation(conversation.id) is not None:
            raise ProtocolError(
                "conflict", "this visitor is already in a CoBrowse session", ref="invite.send"
            )
        invite = Invite(
            self._new_id(),
            conversation.id,
            conversation.brand,
            sender.id,
            message.body["mode"],
            now + self._settings.invite_ttl_ms,
        )
        self._live.add_invite(invite)
        return [
            Send(sender, "invite.state", self._invite_body(invite, "pending")),
            self._offer(invite),
        ]

    def _on_session_upgrade(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        """Ask the visitor again, for shared mode: an invite that upgrades ``session``."""
        assert session is not None
        if self._live.invite_of_agent(sender.id) is not None:
            raise ProtocolError(
                "conflict",
                "you already have a pending CoBrowse invite; cancel it or wait for the answer",
                ref="session.upgrade",
            )
        invite = Invite(
            self._new_id(),
            session.conversation,
            session.brand,
            sender.id,
            "shared",
            now + self._settings.invite_ttl_ms,
            upgrades=session.id,
        )
        self._live.add_invite(invite)
        return [
            Send(sender, "invite.state", self._invite_body(invite, "pending")),
            self._offer(invite),
        ]

    def _on_invite_cancel(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        invite = self._live.invite(message.body["invite"])
        if invite is None or invite.agent != sender.id:
            raise ProtocolError("not_found", "no such pending invite", ref="invite.cancel")
        return self._close_invite(invite, "cancelled")

    def _on_invite_accept(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        invite = self._visitor_invite(sender, message.body["invite"], "invite.accept")
        if invite.upgrades is not None:
            return self._upgrade(invite)
        if (
            self._live.session_of_agent(invite.agent) is not None
        ):  # unreachable by the rules; kept as a guard
            raise ProtocolError(
                "conflict", "the agent is busy in another session", ref="invite.accept"
            )
        conversation = self._conversation(invite.conversation)
        effects = self._close_invite(invite, "accepted")
        session = Session(
            self._new_id(),
            invite.conversation,
            invite.agent,
            invite.mode,
            conversation.brand,
            page_origin=self._page_origins.get(invite.conversation, ""),
        )
        self._live.put_session(session)
        return effects + self._announce(session) + self._updated(conversation, cobrowsing=True)

    def _upgrade(self, invite: Invite) -> list[Effect]:
        """The visitor accepted shared mode for a running session: both sides hear its new
        mode as a repeated ``session.started`` (same session id)."""
        session = self._live.session(invite.upgrades or "")
        if session is None:  # ended meanwhile; _end cancels such invites, kept as a guard
            raise ProtocolError("not_found", "this invite is no longer valid", ref="invite.accept")
        effects = self._close_invite(invite, "accepted")
        session = replace(session, mode=invite.mode)
        self._live.put_session(session)
        return effects + self._announce(session)

    def _announce(self, session: Session) -> list[Effect]:
        return [
            Send(
                Peer(AGENT, session.agent),
                "session.started",
                self._session_body(session, for_visitor=False),
            ),
            Send(
                Peer(VISITOR, session.conversation),
                "session.started",
                self._session_body(session, for_visitor=True),
            ),
        ]

    def _on_invite_decline(
        self, sender: Peer, message: Message, now: int, _s: Session | None
    ) -> list[Effect]:
        invite = self._visitor_invite(sender, message.body["invite"], "invite.decline")
        return self._close_invite(invite, "declined")

    def _on_session_end(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        assert session is not None
        return self._session_over(session, sender.role, f"ended by the {sender.role}")

    def _on_dom_snapshot(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        assert session is not None
        self._streams[session.id] = Stream(session.conversation, message.body["seq"] + 1)
        return [self._render(session, message)]

    def _on_dom_mutations(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        assert session is not None
        stream = self._streams.get(session.id)
        if stream is None:
            raise ProtocolError("out_of_order", "mutations before a snapshot", ref="dom.mutations")
        if message.body["seq"] != stream.next_seq:
            return [
                self._resync(session, f"expected seq {stream.next_seq}, got {message.body['seq']}")
            ]
        stream.next_seq += 1
        return [self._render(session, message)]

    # ------------------------------------------------------------ helpers

    def _recent_session(self, sender: Peer, message: Message) -> Session | None:
        session_id = message.body.get("session")
        session = self._live.recent_session(session_id) if isinstance(session_id, str) else None
        return session if session is not None and self._is_party(sender, session) else None

    def _own_session(self, sender: Peer, message: Message) -> Session:
        session_id = message.body.get("session")
        session = self._live.session(session_id) if isinstance(session_id, str) else None
        if session is None or not self._is_party(sender, session):
            raise ProtocolError("not_found", "no such active session for you", ref=message.type)
        return session

    @staticmethod
    def _is_party(sender: Peer, session: Session) -> bool:
        if sender.role == VISITOR:
            return session.conversation == sender.id
        return session.agent == sender.id

    @staticmethod
    def _other_side(sender: Peer, session: Session) -> Peer:
        if sender.role == VISITOR:
            return Peer(AGENT, session.agent)
        return Peer(VISITOR, session.conversation)

    def _render(self, session: Session, message: Message) -> Render:
        page_origin = self._page_origins.get(session.conversation, "")
        return Render(session.id, message, self._brands[session.brand], page_origin)

    def _forward(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        """Presence and remote actions: passed to the other side as they are (validated)."""
        assert session is not None
        return [Send(self._other_side(sender, session), message.type, message.body)]

    def _on_act_navigate(
        self, sender: Peer, message: Message, now: int, session: Session | None
    ) -> list[Effect]:
        """Passed on only to the visitor's own site: the tag refuses another one too, but the
        relay must not rely on it (issue 19: a shared agent's navigate left the site)."""
        assert session is not None
        url = message.body["url"]
        refusal = self._navigate_refusal(session, url)
        if refusal is not None:
            # A refusal never rests on a recent read: the visitor may have just changed page.
            fresh = self._live.session(session.id)
            if fresh is not None and fresh.mode in SHARED_ONLY and fresh.agent == sender.id:
                session, refusal = fresh, self._navigate_refusal(fresh, url)
        if refusal is not None:
            raise ProtocolError("forbidden", refusal, ref="act.navigate")
        return self._forward(sender, message, now, session)

    def _navigate_refusal(self, session: Session, url: str) -> str | None:
        brand = self._brands.get(session.brand)
        allowed = brand.allowed_origins if brand is not None else ()
        return navigate_refusal(url, session.page_origin, allowed)

    def _resync(self, session: Session, reason: str) -> Send:
        self._streams.pop(session.id, None)
        body = {"session": session.id, "reason": reason}
        return Send(Peer(VISITOR, session.conversation), "resync", body)

    def _agent_conversation(self, agent: Peer, conversation_id: Any) -> Conversation:
        conversation = (
            self._store.get(conversation_id) if isinstance(conversation_id, str) else None
        )
        if conversation is None or conversation.brand not in self._agents[agent.id].brands:
            raise ProtocolError("not_found", "no such conversation")
        return conversation

    def _visitor_invite(self, visitor: Peer, invite_id: str, ref: str) -> Invite:
        invite = self._live.invite(invite_id)
        if invite is None or invite.conversation != visitor.id:
            raise ProtocolError("not_found", "this invite is no longer valid", ref=ref)
        return invite

    def _close_invite(self, invite: Invite, state: str) -> list[Effect]:
        self._live.remove_invite(invite)
        body = self._invite_body(invite, state)
        return [
            Send(Peer(AGENT, invite.agent), "invite.state", body),
            Send(Peer(VISITOR, invite.conversation), "invite.state", body),
        ]

    def _end(self, session: Session, by: str, reason: str) -> list[Effect]:
        effects: list[Effect] = []
        invite = self._live.invite_of_agent(session.agent)
        if invite is not None and invite.upgrades == session.id:
            effects.extend(self._close_invite(invite, "cancelled"))
        self._live.remove_session(session)
        self._streams.pop(session.id, None)
        body = {"session": session.id, "by": by, "reason": reason}
        effects.append(Send(Peer(AGENT, session.agent), "session.ended", body))
        effects.append(Send(Peer(VISITOR, session.conversation), "session.ended", body))
        effects.append(DropReplica(session.id))
        return effects

    def _session_over(self, session: Session, by: str, reason: str) -> list[Effect]:
        """``_end``, and the brand's agents see the conversation no longer cobrowsing."""
        conversation = self._store.get(session.conversation)  # first: a failure changes nothing
        effects = self._end(session, by, reason)
        if conversation is not None:
            effects.extend(self._updated(conversation, cobrowsing=False))
        return effects

    def _offer(self, invite: Invite) -> Send:
        body: dict[str, Any] = {
            "invite": invite.id,
            "agent": self._agents[invite.agent].name,
            "mode": invite.mode,
            "expires_at": invite.expires_at,
        }
        if invite.upgrades is not None:
            body["session"] = invite.upgrades
        return Send(Peer(VISITOR, invite.conversation), "invite.offer", body)

    @staticmethod
    def _invite_body(invite: Invite, state: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "invite": invite.id,
            "conversation": invite.conversation,
            "mode": invite.mode,
            "state": state,
        }
        if invite.upgrades is not None:
            body["session"] = invite.upgrades
        if state == "pending":
            body["expires_at"] = invite.expires_at
        return body

    def _session_body(self, session: Session, *, for_visitor: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session": session.id,
            "conversation": session.conversation,
            "mode": session.mode,
            "agent": self._agents[session.agent].name,
        }
        if for_visitor:
            body["mask_selectors"] = list(self._brands[session.brand].mask_selectors)
        return body

    def _brand_agents(self, brand: str) -> list[Peer]:
        return [Peer(AGENT, a.id) for a in self._agents.values() if brand in a.brands]

    def _listing(self, brands: frozenset[str]) -> list[dict[str, Any]]:
        """The conversation list an agent of ``brands`` sees: one store query."""
        conversations = self._store.listing(brands, MAX_CONVERSATIONS_LISTED)
        cobrowsing = self._live.cobrowsing(c.id for c in conversations)
        return [self._row(c, c.id in cobrowsing) for c in conversations]

    @staticmethod
    def _row(conversation: Conversation, cobrowsing: bool) -> dict[str, Any]:
        """One conversation as an agent's list shows it (``conversation.list``'s rows)."""
        state = "cobrowsing" if cobrowsing else ("closed" if conversation.closed else "open")
        return {
            "id": conversation.id,
            "brand": conversation.brand,
            "title": conversation.title or "New visitor",
            "unread": conversation.unread,
            "state": state,
            "last_at": conversation.last_at,
        }

    def _updated(
        self, conversation: Conversation, *, cobrowsing: bool | None = None
    ) -> list[Effect]:
        """``conversation.updated`` with this one row to every agent of its brand: the whole
        list goes only to a socket that opens (``agent_connected``). Resending it on every
        change cost an observer 161 MB in a 20 s chat flood (issue 19). ``cobrowsing``: read
        from the live state when the caller does not know it."""
        if cobrowsing is None:
            cobrowsing = bool(self._live.cobrowsing([conversation.id]))
        body = {"conversation": self._row(conversation, cobrowsing)}
        agents = self._brand_agents(conversation.brand)
        return [Send(agent, "conversation.updated", body) for agent in agents]

    def _stored_conversation(self, conversation_id: str, now: int) -> Conversation:
        """A visitor's conversation, stored now if it was pending (its first chat message)."""
        pending = self._pending.get(conversation_id)
        if pending is None:
            return self._conversation(conversation_id)
        # Present from now on, like a resumed visitor (``tick`` renews it); first, so that a
        # live state failure leaves it pending and a retry finds it so.
        self._live.visitors_seen([conversation_id], now)
        self._store.create(*pending)
        del self._pending[conversation_id]  # after the store took it: a failure may try again
        return pending[0]

    def _conversation(self, conversation_id: str) -> Conversation:
        conversation = self._store.get(conversation_id)
        if conversation is None:  # a visitor's own id always exists; kept as a guard
            raise ProtocolError("not_found", "no such conversation")
        return conversation

    def _history(self, conversation_id: str) -> dict[str, Any]:
        entries = self._store.messages(conversation_id, MAX_HISTORY)
        return {"conversation": conversation_id, "messages": [e.body() for e in entries]}

    def _say(self, conversation: Conversation, entry: ChatEntry) -> list[Effect]:
        """Send a chat entry the store has kept to the visitor and the brand's agents."""
        body = entry.body()
        effects: list[Effect] = [Send(Peer(VISITOR, conversation.id), "chat.message", body)]
        effects.extend(
            Send(agent, "chat.message", body) for agent in self._brand_agents(conversation.brand)
        )
        return effects


# ---------------------------------------------------------------- dispatch: one table

Handler = Callable[[RelayCore, Peer, Message, int, Session | None], list[Effect]]


@dataclass(frozen=True)
class Rule:
    """What the core does with one message type (``handle``) and who may send it (``allowed``:
    role -> the session modes in which it is allowed, or ``NO_SESSION``). A role not named is
    refused: deny by default, as h11's one transition table."""

    handle: Handler
    allowed: Mapping[Role, Modes]
    # Changes invites or sessions, or answers from them: runs under the fleet's lock
    # (``RelayCore.needs_lock``). The hot path (presence, DOM, actions) only reads.
    locked: bool = False


_V, _A = VISITOR, AGENT
_ON = RelayCore

# Every message the protocol lets a visitor or an agent send (``wire.protocol.MESSAGES``) is
# allowed here or refused on purpose in ``REFUSED``: ``tests/test_core.py`` fails on one that
# is neither, so a new message type cannot be dropped by the core unnoticed.
DISPATCH: Final[Mapping[str, Rule]] = {
    "chat.send": Rule(_ON._on_chat_send, {_V: NO_SESSION, _A: NO_SESSION}),
    "conversation.open": Rule(_ON._on_conversation_open, {_A: NO_SESSION}, locked=True),
    "conversation.close": Rule(_ON._on_conversation_close, {_A: NO_SESSION}, locked=True),
    "invite.send": Rule(_ON._on_invite_send, {_A: NO_SESSION}, locked=True),
    "invite.cancel": Rule(_ON._on_invite_cancel, {_A: NO_SESSION}, locked=True),
    "invite.accept": Rule(_ON._on_invite_accept, {_V: NO_SESSION}, locked=True),
    "invite.decline": Rule(_ON._on_invite_decline, {_V: NO_SESSION}, locked=True),
    "session.end": Rule(_ON._on_session_end, {_V: IN_ANY_SESSION, _A: IN_ANY_SESSION}, locked=True),
    # Asking the visitor for shared control only makes sense in a view only session.
    "session.upgrade": Rule(_ON._on_session_upgrade, {_A: frozenset({"view_only"})}, locked=True),
    "dom.snapshot": Rule(_ON._on_dom_snapshot, {_V: IN_ANY_SESSION}),
    "dom.mutations": Rule(_ON._on_dom_mutations, {_V: IN_ANY_SESSION}),
    # Presence, passed to the other side as it is. View only: pointer, highlight and scroll.
    "pointer": Rule(_ON._forward, {_V: IN_ANY_SESSION, _A: IN_ANY_SESSION}),
    "scroll": Rule(_ON._forward, {_V: IN_ANY_SESSION, _A: IN_ANY_SESSION}),
    "highlight": Rule(_ON._forward, {_V: IN_ANY_SESSION, _A: IN_ANY_SESSION}),
    "selection": Rule(_ON._forward, {_V: IN_ANY_SESSION, _A: IN_ANY_SESSION}),  # both ways
    "click": Rule(_ON._forward, {_V: IN_ANY_SESSION}),
    "viewport": Rule(_ON._forward, {_V: IN_ANY_SESSION}),
    # Shared mode adds clicks, typing and navigation by the agent.
    "act.click": Rule(_ON._forward, {_A: SHARED_ONLY}),
    "act.input": Rule(_ON._forward, {_A: SHARED_ONLY}),
    "act.navigate": Rule(_ON._on_act_navigate, {_A: SHARED_ONLY}),
}

# (role, message type) pairs the protocol lets a client send but the core refuses on purpose.
REFUSED: Final[frozenset[tuple[Role, str]]] = frozenset()
