"""Invites, sessions and visitors' presence in this process's memory: one node's ``LiveState``.

Owns: the embedded default's live tables, and the fleet lock's one-node form (``LocalLock``:
nothing to wait for). The fleet's version is ``relay.redis_live``; the core never knows which
runs. Must not: keep anything of a session's content, or be written to disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from relay.core import Invite, Session


class FleetLock(Protocol):
    """Held around every core call that may change invites or sessions, and the publishing
    of its effects, so that nodes' changes and their announcements come in one order."""

    def held(self) -> contextlib.AbstractAsyncContextManager[None]: ...


class LocalLock:
    """One node: the core runs on one event loop, and a core call never awaits."""

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        yield


class MemoryLiveState:
    """``relay.core.LiveState`` in dictionaries."""

    def __init__(self) -> None:
        self._invites: dict[str, Invite] = {}
        self._invite_of_agent: dict[str, str] = {}
        self._invite_of_conversation: dict[str, str] = {}
        self._sessions: dict[str, Session] = {}
        self._session_of_agent: dict[str, str] = {}
        self._session_of_conversation: dict[str, str] = {}
        self._seen: dict[str, int] = {}  # conversation id -> when its visitor was last seen

    def invite(self, invite_id: str) -> Invite | None:
        return self._invites.get(invite_id)

    def invite_of_agent(self, agent_id: str) -> Invite | None:
        return self._invites.get(self._invite_of_agent.get(agent_id, ""))

    def invite_of_conversation(self, conversation_id: str) -> Invite | None:
        return self._invites.get(self._invite_of_conversation.get(conversation_id, ""))

    def add_invite(self, invite: Invite) -> None:
        self._invites[invite.id] = invite
        self._invite_of_agent[invite.agent] = invite.id
        self._invite_of_conversation[invite.conversation] = invite.id

    def remove_invite(self, invite: Invite) -> None:
        self._invites.pop(invite.id, None)
        if self._invite_of_agent.get(invite.agent) == invite.id:
            del self._invite_of_agent[invite.agent]
        if self._invite_of_conversation.get(invite.conversation) == invite.id:
            del self._invite_of_conversation[invite.conversation]

    def invites(self) -> list[Invite]:
        return list(self._invites.values())

    def invites_due(self, now: int) -> list[Invite]:
        return [invite for invite in self._invites.values() if invite.expires_at <= now]

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def session_of_agent(self, agent_id: str) -> Session | None:
        return self._sessions.get(self._session_of_agent.get(agent_id, ""))

    def recent_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)  # memory is always current

    def session_of_conversation(self, conversation_id: str) -> Session | None:
        return self._sessions.get(self._session_of_conversation.get(conversation_id, ""))

    def put_session(self, session: Session) -> None:
        self._sessions[session.id] = session
        self._session_of_agent[session.agent] = session.id
        self._session_of_conversation[session.conversation] = session.id

    def remove_session(self, session: Session) -> None:
        self._sessions.pop(session.id, None)
        if self._session_of_agent.get(session.agent) == session.id:
            del self._session_of_agent[session.agent]
        if self._session_of_conversation.get(session.conversation) == session.id:
            del self._session_of_conversation[session.conversation]

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    def cobrowsing(self, conversation_ids: Iterable[str]) -> set[str]:
        return {c for c in conversation_ids if c in self._session_of_conversation}

    def existing(self, session_ids: Iterable[str]) -> set[str]:
        return {s for s in session_ids if s in self._sessions}

    def visitors_seen(self, conversation_ids: Iterable[str], now: int) -> None:
        for conversation_id in conversation_ids:
            self._seen[conversation_id] = now

    def visitors_gone(self, before: int) -> list[str]:
        gone = [c for c, seen in self._seen.items() if seen <= before]
        for conversation_id in gone:
            del self._seen[conversation_id]
        return gone

    def counts(self) -> tuple[int, int]:
        return len(self._sessions), len(self._invites)
