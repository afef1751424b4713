"""The relay core as a state machine: conversations, invites, sessions, modes, permissions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import helpers
import pytest
from helpers import CorePair, Interrupted, OtherNode, store_dump

from relay import core
from relay.live import MemoryLiveState
from relay.redis_live import RedisLiveState
from relay.store import OpenStore
from wire import protocol
from wire.errors import ProtocolError
from wire.protocol import AGENT, VISITOR


@pytest.fixture(autouse=True)
def _on_both_stores(new_store: Callable[[], OpenStore], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CorePair here runs once on SQLite and once on PostgreSQL: the core's conversations,
    listings, unread counts and transcripts hold on either store."""
    monkeypatch.setattr(helpers, "new_store", new_store)


@pytest.fixture(autouse=True, params=["memory", "redis"])
def _on_both_live_states(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every CorePair here runs with its invites and sessions in memory (one node) and in a
    real Redis (a fleet's): the rules hold on either."""
    if request.param == "memory":
        yield
        return
    server = request.getfixturevalue("redis_server")
    url = server.url.rsplit("/", 1)[0] + "/1"  # a database of these tests' own, emptied each time
    opened: list[RedisLiveState] = []

    def make() -> core.LiveState:
        live = RedisLiveState(url, session_ttl_ms=120_000, clock=lambda: int(time.time() * 1000))
        live._client.flushdb()
        opened.append(live)
        return live

    monkeypatch.setattr(helpers, "new_live", make)
    yield
    for live in opened:
        live.close()


DOC = [1, "#document", ["html", ["body"]]]
SNAPSHOT = {
    "seq": 0,
    "url": "https://shop.example/",
    "title": "Shop",
    "viewport": {"w": 800, "h": 600, "dpr": 1},
    "doc": DOC,
}


def test_visitor_gets_a_conversation_and_token_and_agents_see_it_once_it_chats() -> None:
    pair = CorePair()
    hello = pair.last(pair.visitor, "hello")
    assert hello["conversation"] == pair.visitor.id and hello["token"] and hello["resumed"] is False
    assert "session" not in hello
    assert pair.last(pair.agent, "conversation.list")["conversations"] == []
    pair.send(pair.visitor, "chat.send", text="Hello")
    sam, effects = pair.core.agent_connected("sam")
    pair.apply(effects)
    listing = pair.last(sam, "conversation.list")["conversations"]
    assert [(c["id"], c["title"], c["unread"]) for c in listing] == [(pair.visitor.id, "Hello", 1)]


def test_reconnecting_with_the_token_resumes_the_same_conversation() -> None:
    pair = CorePair()
    token = pair.last(pair.visitor, "hello")["token"]
    pair.send(pair.visitor, "chat.send", text="hello")
    visitor, effects = pair.core.visitor_connected("demo", token, pair.now)
    pair.apply(effects)
    assert visitor == pair.visitor
    assert pair.last(visitor, "hello")["resumed"] is True
    history = pair.last(visitor, "chat.history")["messages"]
    assert [m["text"] for m in history] == ["hello"]


def test_an_unknown_token_never_reaches_another_conversation() -> None:
    pair = CorePair()
    other, _ = pair.core.visitor_connected("demo", "guessed-token", pair.now)
    assert other != pair.visitor


def test_chat_reaches_both_sides_and_marks_unread_until_opened() -> None:
    pair = CorePair()
    pair.send(pair.visitor, "chat.send", text="I need help")
    assert pair.last(pair.agent, "chat.message")["text"] == "I need help"
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["unread"] == 1
    pair.send(pair.agent, "conversation.open", conversation=pair.visitor.id)
    assert pair.last(pair.agent, "chat.history")["messages"][0]["sender"] == "visitor"
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["unread"] == 0
    pair.send(pair.agent, "chat.send", conversation=pair.visitor.id, text="Sure")
    message = pair.last(pair.visitor, "chat.message")
    assert message["sender"] == "agent" and message["name"] == "Alex"


class CountingListings:
    """A real store that counts the conversation listings it was asked for."""

    def __init__(self, store: OpenStore) -> None:
        self._store = store
        self.listings = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def listing(self, brands: frozenset[str], limit: int) -> list[core.Conversation]:
        self.listings += 1
        return self._store.listing(brands, limit)


def test_a_change_sends_agents_of_the_brand_one_row_never_a_listing() -> None:
    """After the list an agent's socket opens with, every change is one row
    (``conversation.updated``, read from the store by id): a chat flood once resent the
    whole list to every agent on every message (issue 19)."""
    store = CountingListings(helpers.new_store())
    pair = CorePair(store=store)  # type: ignore[arg-type]
    olga, effects = pair.core.agent_connected("olga")
    pair.apply(effects)
    pair.take(pair.agent), pair.take(olga)  # the lists their sockets opened with
    store.listings = 0
    pair.send(pair.visitor, "chat.send", text="hello")
    pair.send(pair.agent, "chat.send", conversation=pair.visitor.id, text="hi")
    pair.now += 1_000
    pair.send(pair.visitor, "chat.send", text="my order")
    assert store.listings == 0
    sam = core.Peer(AGENT, "sam")
    assert not pair.take(pair.agent, "conversation.list") and not pair.take(
        sam, "conversation.list"
    )
    rows = [m["conversation"] for m in pair.take(pair.agent, "conversation.updated")]
    assert rows == [m["conversation"] for m in pair.take(sam, "conversation.updated")]
    assert [(r["id"], r["title"], r["unread"], r["state"], r["last_at"]) for r in rows] == [
        (pair.visitor.id, "hello", 1, "open", pair.now - 1_000),
        (pair.visitor.id, "hello", 1, "open", pair.now - 1_000),
        (pair.visitor.id, "hello", 2, "open", pair.now),
    ]
    assert rows[0] == {"id": pair.visitor.id, "brand": "demo", "title": "hello", "unread": 1,
                       "state": "open", "last_at": pair.now - 1_000}  # fmt: skip
    assert not pair.take(olga)  # of another brand: hears nothing


def test_the_row_follows_cobrowsing_and_closing_as_the_listing_shows_it() -> None:
    pair = CorePair()
    session = pair.start_session()
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["state"] == "cobrowsing"
    listed, effects = pair.core.agent_connected("sam")  # a socket opening: the whole list
    pair.apply(effects)
    assert pair.last(listed, "conversation.list")["conversations"][0]["state"] == "cobrowsing"
    pair.send(pair.agent, "session.end", session=session)
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["state"] == "open"
    pair.start_session()
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["state"] == "cobrowsing"
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    pair.apply(pair.core.tick(pair.now + 60_000))  # the visitor left: the session ends
    assert not pair.take(pair.agent, "conversation.updated")  # the tick reads no store...
    pair.apply(pair.core.announce_rows())  # ...the adapter asks for the rows after it
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["state"] == "open"
    assert pair.core.announce_rows() == []
    pair.send(pair.agent, "conversation.close", conversation=pair.visitor.id)
    row = pair.last(pair.agent, "conversation.updated")["conversation"]
    assert (row["state"], row["last_at"]) == ("closed", pair.now)
    _, effects = pair.core.agent_connected("sam")
    pair.apply(effects)
    assert pair.last(listed, "conversation.list")["conversations"] == [row]


def test_invite_accept_starts_a_session_on_both_sides_with_mask_selectors() -> None:
    pair = CorePair(mask_selectors=("#iban",))
    pair.chat_first()
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="shared")
    offer = pair.last(pair.visitor, "invite.offer")
    assert offer["agent"] == "Alex" and offer["mode"] == "shared"
    assert pair.last(pair.agent, "invite.state")["state"] == "pending"
    pair.send(pair.visitor, "invite.accept", invite=offer["invite"])
    assert pair.last(pair.agent, "invite.state")["state"] == "accepted"
    started_v = pair.last(pair.visitor, "session.started")
    started_a = pair.last(pair.agent, "session.started")
    assert started_v["session"] == started_a["session"]
    assert started_v["mask_selectors"] == ["#iban"] and "mask_selectors" not in started_a


def test_decline_cancel_and_expiry_close_the_invite() -> None:
    pair = CorePair(invite_ttl_ms=5_000)
    pair.chat_first()
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    invite = pair.last(pair.visitor, "invite.offer")["invite"]
    pair.send(pair.visitor, "invite.decline", invite=invite)
    assert pair.last(pair.agent, "invite.state")["state"] == "declined"

    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    invite = pair.last(pair.visitor, "invite.offer")["invite"]
    pair.send(pair.agent, "invite.cancel", invite=invite)
    assert pair.last(pair.visitor, "invite.state")["state"] == "cancelled"
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "invite.accept", invite=invite)
    assert refused.value.code == "not_found"

    pair.take(pair.agent)
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    pair.apply(pair.core.tick(pair.now + 4_999))
    assert [m["state"] for m in pair.take(pair.agent, "invite.state")] == ["pending"]
    pair.apply(pair.core.tick(pair.now + 5_000))
    assert pair.last(pair.visitor, "invite.state")["state"] == "expired"


def test_an_agent_has_one_pending_invite_and_one_active_session() -> None:
    pair = CorePair()
    second, effects = pair.core.visitor_connected("demo", None, pair.now)
    pair.apply(effects)
    pair.chat_first()
    pair.send(second, "chat.send", text="Me too")
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.agent, "invite.send", conversation=second.id, mode="view_only")
    assert refused.value.code == "conflict" and "pending" in refused.value.message
    pair.send(
        pair.visitor, "invite.accept", invite=pair.last(pair.visitor, "invite.offer")["invite"]
    )
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.agent, "invite.send", conversation=second.id, mode="view_only")
    assert refused.value.code == "conflict" and "active" in refused.value.message


def test_view_only_refuses_agent_actions_that_shared_allows() -> None:
    pair = CorePair()
    session = pair.start_session("view_only")
    for kind, body in [
        ("act.click", {"id": 3, "x": 0.5, "y": 0.5}),
        ("act.input", {"id": 3, "value": "x"}),
        ("act.navigate", {"url": "https://shop.example/b"}),
    ]:
        with pytest.raises(ProtocolError) as refused:
            pair.send(pair.agent, kind, session=session, **body)
        assert refused.value.code == "forbidden" and "view only" in refused.value.message
    pair.send(pair.agent, "highlight", session=session, id=3, kind="circle", x=0.5, y=0.5)
    assert pair.last(pair.visitor, "highlight")["kind"] == "circle"


def test_shared_mode_forwards_agent_actions_to_the_visitor() -> None:
    pair = CorePair()
    session = pair.start_session("shared")
    pair.send(pair.agent, "act.input", session=session, id=3, value="Paris")
    assert pair.last(pair.visitor, "act.input") == {
        "v": 1,
        "type": "act.input",
        "session": session,
        "id": 3,
        "value": "Paris",
    }


def test_messages_for_another_session_are_refused() -> None:
    pair = CorePair()
    session = pair.start_session("shared")
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.agent, "pointer", session="someone-elses", id=1, x=0.1, y=0.1)
    assert refused.value.code == "not_found"
    stranger, _ = pair.core.visitor_connected("demo", None, pair.now)
    with pytest.raises(ProtocolError):
        pair.send(stranger, "dom.snapshot", session=session, **SNAPSHOT)


def test_a_visitor_cannot_send_agent_messages() -> None:
    pair = CorePair()
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "invite.send", conversation=pair.visitor.id, mode="shared")
    assert refused.value.code == "forbidden"


def test_dom_stream_goes_to_the_renderer_in_order_and_a_gap_asks_for_resync() -> None:
    pair = CorePair()
    session = pair.start_session()
    with pytest.raises(ProtocolError) as refused:
        pair.send(
            pair.visitor,
            "dom.mutations",
            session=session,
            seq=1,
            adds=[],
            removes=[],
            attrs=[],
            texts=[],
        )
    assert refused.value.code == "out_of_order"
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    pair.send(
        pair.visitor,
        "dom.mutations",
        session=session,
        seq=1,
        adds=[],
        removes=[],
        attrs=[[3, "class", "x"]],
        texts=[],
    )
    assert [r.message.type for r in pair.renders] == ["dom.snapshot", "dom.mutations"]
    assert all(r.session == session for r in pair.renders)
    pair.send(
        pair.visitor,
        "dom.mutations",
        session=session,
        seq=5,
        adds=[],
        removes=[],
        attrs=[],
        texts=[],
    )
    assert pair.last(pair.visitor, "resync")["session"] == session
    assert len(pair.renders) == 2


def test_either_side_ends_the_session_and_the_replica_is_dropped() -> None:
    for ender in ("visitor", "agent"):
        pair = CorePair()
        session = pair.start_session()
        peer = pair.visitor if ender == "visitor" else pair.agent
        pair.send(peer, "session.end", session=session)
        assert pair.last(pair.agent, "session.ended")["by"] == ender
        assert pair.last(pair.visitor, "session.ended")["session"] == session
        assert pair.dropped == [session]
        pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")


def test_navigation_keeps_the_session_and_restarts_the_stream() -> None:
    pair = CorePair()
    token = pair.last(pair.visitor, "hello")["token"]
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    visitor, effects = pair.core.visitor_connected("demo", token, pair.now + 500)
    pair.apply(effects)
    assert pair.last(visitor, "hello")["session"] == session
    assert pair.last(visitor, "session.started")["session"] == session
    with pytest.raises(ProtocolError):  # the new page must start with a snapshot
        pair.send(
            visitor,
            "dom.mutations",
            session=session,
            seq=1,
            adds=[],
            removes=[],
            attrs=[],
            texts=[],
        )


def test_a_session_ends_when_the_visitor_is_gone_past_the_grace_period() -> None:
    pair = CorePair()
    pair.start_session()
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    pair.apply(pair.core.tick(pair.now + 59_999))
    assert not pair.take(pair.agent, "session.ended")
    pair.apply(pair.core.tick(pair.now + 60_000))
    assert pair.last(pair.agent, "session.ended")["by"] == "relay"


def test_an_agent_reconnecting_mid_session_gets_the_session_and_a_fresh_replica() -> None:
    pair = CorePair()
    session = pair.start_session()
    agent, effects = pair.core.agent_connected("alex")
    pair.apply(effects)
    assert pair.last(agent, "session.started")["session"] == session
    assert pair.last(pair.visitor, "resync")["reason"] == "agent reconnected"


def test_permission_table_denies_by_default() -> None:
    assert {role for rule in core.DISPATCH.values() for role in rule.allowed} <= {VISITOR, AGENT}
    assert VISITOR not in core.DISPATCH["act.click"].allowed
    assert core.DISPATCH["act.navigate"].allowed[AGENT] == frozenset({"shared"})


def test_every_message_a_client_may_send_is_handled_or_refused_on_purpose() -> None:
    sendable = {
        (role, kind)
        for kind, spec in protocol.MESSAGES.items()
        for role in spec.senders
        if role in (VISITOR, AGENT)
    }
    allowed = {(role, kind) for kind, rule in core.DISPATCH.items() for role in rule.allowed}
    assert sendable - allowed - core.REFUSED == set(), "neither handled nor refused on purpose"
    # Nor does the table allow what the protocol never lets that role send.
    assert allowed - sendable == set()
    assert allowed & core.REFUSED == set()


def test_a_message_type_without_a_rule_is_refused_by_the_core() -> None:
    pair = CorePair()
    session = pair.start_session("shared")
    # A message the wire accepts from the relay only: the core has no rule for it.
    message = protocol.Message("resync", {"session": session, "reason": "x"})
    with pytest.raises(ProtocolError) as refused:
        pair.core.receive(pair.visitor, message, pair.now)
    assert refused.value.code == "forbidden"


# ---------------------------------------------------------------- rendered replicas


def test_a_render_carries_the_brand_rules_and_the_visitor_page_origin() -> None:
    pair = CorePair(mask_selectors=("#iban",))
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    (render,) = pair.renders
    assert render.session == session and render.message.type == "dom.snapshot"
    assert render.brand.mask_selectors == ("#iban",)
    assert render.brand.allowed_origins == ("self", "https://cdn.example")
    assert render.page_origin == "https://shop.example"


def test_the_resource_proxy_serves_the_sessions_agent_from_its_brand_origins_only() -> None:
    pair = CorePair()
    assert pair.core.resource_origins("alex", "nope") is None
    session = pair.start_session()
    # "self" is the visitor's page origin, as in the render policy.
    assert pair.core.resource_origins("alex", session) == (
        "https://shop.example",
        "https://cdn.example",
    )
    assert pair.core.resource_origins("sam", session) is None  # same brand, not their session
    assert pair.core.resource_origins("olga", session) is None
    assert pair.core.resource_origins("ghost", session) is None
    assert core.load_origins(("self", "https://a.example"), "") == ("https://a.example",)


def test_a_rendered_replica_goes_to_the_session_agent_only() -> None:
    pair = CorePair()
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    body = {"session": session, "seq": 0, "url": "https://shop.example/", "title": "Shop",
            "viewport": {"w": 800, "h": 600, "dpr": 1}, "doc": DOC}  # fmt: skip
    pair.apply(pair.core.replica_rendered(session, "replica.snapshot", body))
    assert pair.last(pair.agent, "replica.snapshot")["seq"] == 0
    assert not pair.take(pair.visitor, "replica.snapshot")


def test_a_rendered_replica_of_an_ended_session_is_dropped() -> None:
    pair = CorePair()
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    pair.send(pair.visitor, "session.end", session=session)
    assert pair.core.replica_rendered(session, "replica.snapshot", {"session": session}) == []
    assert pair.core.replica_failed(session) == []


def test_a_lost_replica_asks_the_visitor_for_a_fresh_snapshot() -> None:
    pair = CorePair()
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    pair.apply(pair.core.replica_failed(session))
    assert pair.last(pair.visitor, "resync") == {"v": 1, "type": "resync", "session": session,
                                                 "reason": "renderer restarted"}  # fmt: skip
    # The stream starts over: mutations before the next snapshot are out of order.
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "dom.mutations", session=session, seq=1, adds=[], removes=[],
                  attrs=[], texts=[])  # fmt: skip
    assert refused.value.code == "out_of_order"


def test_health_counts_running_sessions() -> None:
    pair = CorePair()
    assert pair.core.active_sessions() == 0
    session = pair.start_session()
    assert pair.core.active_sessions() == 1
    pair.send(pair.agent, "session.end", session=session)
    assert pair.core.active_sessions() == 0


def test_text_selection_is_shared_both_ways_in_view_only_mode() -> None:
    pair = CorePair()
    session = pair.start_session("view_only")
    pair.send(pair.visitor, "selection", session=session, ranges=[[5, 0, 5, 12]])
    assert pair.last(pair.agent, "selection")["ranges"] == [[5, 0, 5, 12]]
    pair.send(pair.agent, "selection", session=session, ranges=[])
    assert pair.last(pair.visitor, "selection")["ranges"] == []


# ---------------------------------------------------------------- storage and transcripts

CANARY = "CANARY-SESSION-CONTENT-7731"


def test_conversations_survive_a_restart_in_the_store_with_tokens_hashed() -> None:
    pair = CorePair()
    token = pair.last(pair.visitor, "hello")["token"]
    pair.send(pair.visitor, "chat.send", text="Where is my booking?")
    restarted = core.RelayCore(
        pair.agents,
        pair.brands,
        store=pair.store,
        live=MemoryLiveState(),  # the restarted process's memory: empty
        new_id=lambda: "fresh",
        new_token=lambda: "fresh-token",
    )
    visitor, effects = restarted.visitor_connected("demo", token, pair.now)
    pair.apply(effects)
    assert visitor == pair.visitor and pair.last(visitor, "hello")["resumed"] is True
    assert [m["text"] for m in pair.last(visitor, "chat.history")["messages"]] == [
        "Where is my booking?"
    ]
    dump = store_dump(pair.store)
    assert token not in dump and core.token_hash(token) in dump


def test_the_agent_ends_the_conversation_with_its_invite_and_session() -> None:
    pair = CorePair()
    token = pair.last(pair.visitor, "hello")["token"]
    session = pair.start_session("view_only")
    pair.send(pair.agent, "session.upgrade", session=session)  # a pending invite too
    pair.send(pair.agent, "conversation.close", conversation=pair.visitor.id)
    assert pair.last(pair.visitor, "session.ended")["session"] == session
    assert pair.last(pair.visitor, "invite.state")["state"] == "cancelled"
    said = pair.last(pair.visitor, "chat.message")
    assert said["sender"] == "system" and said["text"] == "Alex ended the conversation."
    assert pair.last(pair.visitor, "conversation.closed") == {
        "v": 1,
        "type": "conversation.closed",
        "conversation": pair.visitor.id,
    }
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["state"] == "closed"
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "chat.send", text="hello?")
    assert refused.value.code == "conflict"
    with pytest.raises(ProtocolError) as again:
        pair.send(pair.agent, "conversation.close", conversation=pair.visitor.id)
    assert again.value.code == "conflict"
    with pytest.raises(ProtocolError) as closed:
        pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="shared")
    assert closed.value.code == "conflict"
    # The same tab's token now starts a new conversation.
    visitor, effects = pair.core.visitor_connected("demo", token, pair.now)
    pair.apply(effects)
    assert visitor != pair.visitor and pair.last(visitor, "hello")["resumed"] is False


def test_only_agents_of_the_brand_may_end_a_conversation_or_read_its_transcript() -> None:
    pair = CorePair()
    olga, effects = pair.core.agent_connected("olga")
    pair.apply(effects)
    assert pair.last(olga, "conversation.list")["conversations"] == []
    with pytest.raises(ProtocolError) as refused:
        pair.send(olga, "conversation.close", conversation=pair.visitor.id)
    assert refused.value.code == "not_found"
    with pytest.raises(ProtocolError) as hidden:
        pair.core.transcript("olga", pair.visitor.id)
    assert hidden.value.code == "not_found"
    with pytest.raises(ProtocolError):
        pair.core.transcript("nobody", pair.visitor.id)
    with pytest.raises(ProtocolError):
        pair.send(pair.visitor, "conversation.close", conversation=pair.visitor.id)


def test_transcripts_hold_the_chat_but_never_the_invitation_or_session_content() -> None:
    pair = CorePair()
    pair.send(pair.visitor, "chat.send", text="Can you check my form?")
    pair.send(pair.agent, "chat.send", conversation=pair.visitor.id, text="Sure, one moment")
    session = pair.start_session("shared")
    doc = [1, "#document", ["html", ["body", CANARY]]]
    pair.send(pair.visitor, "dom.snapshot", session=session, **{**SNAPSHOT, "doc": doc})
    pair.send(pair.agent, "act.input", session=session, id=4, value=CANARY)
    pair.send(pair.visitor, "selection", session=session, ranges=[[4, 0, 4, 6]])
    pair.send(pair.agent, "session.end", session=session)
    pair.send(pair.agent, "conversation.close", conversation=pair.visitor.id)

    conversation, entries = pair.core.transcript("alex", pair.visitor.id)
    assert conversation.closed
    assert [(e.sender, e.text) for e in entries] == [
        ("visitor", "Can you check my form?"),
        ("agent", "Sure, one moment"),
        ("system", "Alex ended the conversation."),
    ]
    # Nothing of the invite or the session reached the database at all.
    dump = store_dump(pair.store)
    for absent in (CANARY, "invite", "view_only", "shared", session):
        assert absent not in dump


# ---------------------------------------------------------------- nodes sharing one database
# Node A (the pair: the visitor's tab and Alex) and node B (the visitor's second tab and Sam)
# share one database. Node B acts after node A read the conversation and before A changes it:
# the outcome must be what one order of the two would give. Until the store changed rows in
# place, node A wrote back the row it had read and undid what B did meanwhile.


@pytest.fixture
def nodes(new_nodes: Callable[[int], list[OpenStore]]) -> tuple[CorePair, Interrupted, OtherNode]:
    store_a, store_b = new_nodes(2)
    interrupted = Interrupted(store_a)
    pair = CorePair(store=interrupted)
    pair.chat_first("Hello")  # stored: the second tab resumes it
    return pair, interrupted, OtherNode(pair, store_b, pair.token)


def test_an_agent_opening_on_another_node_does_not_hide_a_new_visitor_message(
    nodes: tuple[CorePair, Interrupted, OtherNode],
) -> None:
    pair, a, b = nodes
    pair.send(pair.visitor, "chat.send", text="one")
    pair.send(pair.visitor, "chat.send", text="two")
    a.meanwhile = lambda: b.send(b.agent, "conversation.open", conversation=pair.visitor.id)
    pair.send(pair.visitor, "chat.send", text="three")
    # As if Sam opened it just before "three": one message unread (a write-back left three).
    stored = b.store.get(pair.visitor.id)
    assert stored is not None and stored.unread == 1
    assert pair.last(pair.agent, "conversation.updated")["conversation"]["unread"] == 1
    texts = [m.text for m in b.store.messages(pair.visitor.id, 10)]
    assert texts == ["Hello", "one", "two", "three"]


def test_an_agent_opening_does_not_undo_the_visitor_message_on_another_node(
    nodes: tuple[CorePair, Interrupted, OtherNode],
) -> None:
    pair, a, b = nodes
    b.now = pair.now + 5_000
    a.meanwhile = lambda: b.send(b.visitor, "chat.send", text="Is anyone there?")
    pair.send(pair.agent, "conversation.open", conversation=pair.visitor.id)
    # As if Alex opened it just after the message: read, but titled and as recent as it is.
    stored = b.store.get(pair.visitor.id)
    assert stored is not None
    assert (stored.unread, stored.title, stored.last_at) == (0, "Hello", b.now)


def test_of_two_agents_closing_on_two_nodes_the_second_is_told_it_already_ended(
    nodes: tuple[CorePair, Interrupted, OtherNode],
) -> None:
    pair, a, b = nodes
    a.meanwhile = lambda: b.send(b.agent, "conversation.close", conversation=pair.visitor.id)
    with pytest.raises(ProtocolError) as late:
        pair.send(pair.agent, "conversation.close", conversation=pair.visitor.id)
    assert (late.value.code, late.value.message) == (
        "conflict",
        "this conversation has already ended",
    )
    texts = [m.text for m in b.store.messages(pair.visitor.id, 10)]
    assert texts == ["Hello", "Sam ended the conversation."]  # one closing line, not two


def test_a_visitor_message_racing_a_close_on_another_node_neither_lands_nor_reopens(
    nodes: tuple[CorePair, Interrupted, OtherNode],
) -> None:
    pair, a, b = nodes
    a.meanwhile = lambda: b.send(b.agent, "conversation.close", conversation=pair.visitor.id)
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "chat.send", text="wait, one more thing")
    assert refused.value.code == "conflict"
    assert refused.value.message.startswith("this conversation has ended")
    stored = b.store.get(pair.visitor.id)
    assert stored is not None and stored.closed
    texts = [m.text for m in b.store.messages(pair.visitor.id, 10)]
    assert texts == ["Hello", "Sam ended the conversation."]


# ---------------------------------------------------------------- view only -> shared


def test_switching_to_shared_asks_the_visitor_again_and_keeps_the_session() -> None:
    pair = CorePair()
    session = pair.start_session("view_only")
    pair.send(pair.agent, "session.upgrade", session=session)
    pending = pair.last(pair.agent, "invite.state")
    assert pending["state"] == "pending" and pending["session"] == session
    assert pending["expires_at"] == pair.now + 120_000  # the workspace counts down to it
    offer = pair.last(pair.visitor, "invite.offer")
    assert offer["mode"] == "shared" and offer["session"] == session
    with pytest.raises(ProtocolError):  # still view only until the visitor says yes
        pair.send(pair.agent, "act.click", session=session, id=3, x=0.5, y=0.5)
    pair.send(pair.visitor, "invite.accept", invite=offer["invite"])
    assert pair.last(pair.agent, "invite.state")["state"] == "accepted"
    for peer in (pair.agent, pair.visitor):
        started = pair.last(peer, "session.started")
        assert started["session"] == session and started["mode"] == "shared"
    pair.send(pair.agent, "act.click", session=session, id=3, x=0.5, y=0.5)
    assert pair.last(pair.visitor, "act.click")["id"] == 3
    with pytest.raises(ProtocolError) as already:
        pair.send(pair.agent, "session.upgrade", session=session)
    assert already.value.code == "forbidden"


def test_a_declined_or_expired_upgrade_leaves_the_session_in_view_only() -> None:
    pair = CorePair(invite_ttl_ms=5_000)
    session = pair.start_session("view_only")
    pair.send(pair.agent, "session.upgrade", session=session)
    with pytest.raises(ProtocolError) as one:
        pair.send(pair.agent, "session.upgrade", session=session)
    assert one.value.code == "conflict"
    pair.send(
        pair.visitor, "invite.decline", invite=pair.last(pair.visitor, "invite.offer")["invite"]
    )
    assert pair.last(pair.agent, "invite.state")["state"] == "declined"
    assert not pair.take(pair.agent, "session.started")  # still the view only session
    pair.send(pair.agent, "session.upgrade", session=session)
    pair.apply(pair.core.tick(pair.now + 5_000))
    assert pair.last(pair.agent, "invite.state")["state"] == "expired"
    with pytest.raises(ProtocolError):
        pair.send(pair.agent, "act.input", session=session, id=3, value="x")
    assert not pair.take(pair.agent, "session.ended")


def test_ending_the_session_cancels_its_upgrade_invite() -> None:
    pair = CorePair()
    session = pair.start_session("view_only")
    pair.send(pair.agent, "session.upgrade", session=session)
    invite = pair.last(pair.visitor, "invite.offer")["invite"]
    pair.send(pair.visitor, "session.end", session=session)
    assert pair.last(pair.agent, "invite.state")["state"] == "cancelled"
    with pytest.raises(ProtocolError) as gone:
        pair.send(pair.visitor, "invite.accept", invite=invite)
    assert gone.value.code == "not_found"
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="shared")  # free again


def test_a_visitor_cannot_upgrade_or_answer_another_visitors_upgrade() -> None:
    pair = CorePair()
    session = pair.start_session("view_only")
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.visitor, "session.upgrade", session=session)
    assert refused.value.code == "forbidden"
    pair.send(pair.agent, "session.upgrade", session=session)
    invite = pair.last(pair.visitor, "invite.offer")["invite"]
    stranger, _ = pair.core.visitor_connected("demo", None, pair.now)
    with pytest.raises(ProtocolError) as theirs:
        pair.send(stranger, "invite.accept", invite=invite)
    assert theirs.value.code == "not_found"
    sam, effects = pair.core.agent_connected("sam")
    pair.apply(effects)
    with pytest.raises(ProtocolError) as not_his:
        pair.send(sam, "session.upgrade", session=session)
    assert not_his.value.code == "not_found"


# ---------------------------------------------------------------- settings changed at runtime


def test_new_mask_selectors_reach_the_running_session_at_once() -> None:
    pair = CorePair(mask_selectors=("#iban",))
    session = pair.start_session()
    pair.send(pair.visitor, "dom.snapshot", session=session, **SNAPSHOT)
    agents = pair.agents
    pair.apply(pair.core.update_accounts(agents, [core.BrandRules("demo", ("#iban", ".card"))]))
    config = pair.last(pair.visitor, "session.config")
    assert config == {"v": 1, "type": "session.config", "session": session,
                      "mask_selectors": ["#iban", ".card"]}  # fmt: skip
    assert not pair.take(pair.agent, "session.config")  # the agent never learns the rules
    # Mutations already on their way still fit the stream; the tag's fresh snapshot follows.
    pair.send(pair.visitor, "dom.mutations", session=session, seq=1, adds=[], removes=[],
              attrs=[], texts=[])  # fmt: skip
    assert not pair.take(pair.visitor, "error") and not pair.take(pair.visitor, "resync")
    # Unchanged rules send nothing.
    pair.apply(pair.core.update_accounts(agents, [core.BrandRules("demo", ("#iban", ".card"))]))
    assert not pair.take(pair.visitor, "session.config")


def test_an_agent_removed_from_the_settings_loses_the_session_invites_and_socket() -> None:
    pair = CorePair()
    session = pair.start_session()
    others = [a for a in pair.agents if a.id != "alex"]
    pair.apply(pair.core.update_accounts(others, pair.brands))
    ended = pair.last(pair.visitor, "session.ended")
    assert ended["session"] == session and ended["by"] == "relay"
    assert pair.dropped == [session]
    with pytest.raises(ProtocolError) as refused:
        pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    assert refused.value.code == "forbidden"


def test_an_agent_who_loses_the_brand_loses_the_pending_invite() -> None:
    pair = CorePair()
    pair.chat_first()
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="view_only")
    pair.last(pair.visitor, "invite.offer")
    moved = [core.AgentAccount("alex", "Alex", frozenset({"other"}))]
    pair.apply(pair.core.update_accounts(moved, pair.brands))
    assert pair.last(pair.visitor, "invite.state")["state"] == "cancelled"
    assert pair.last(pair.agent, "invite.state")["state"] == "cancelled"
    _, effects = pair.core.agent_connected("alex")  # a new tab hears of no pending invite
    pair.apply(effects)
    assert not pair.take(pair.agent, "invite.state")


def test_a_visitor_may_stream_its_dom_only_while_its_session_runs() -> None:
    """The adapter asks before it reads a dom.* frame at all (issue 19)."""
    pair = CorePair()
    assert pair.core.may_stream(pair.visitor) is False
    session = pair.start_session()
    assert pair.core.may_stream(pair.visitor) is True
    assert pair.core.may_stream(pair.agent) is False  # an agent never streams a DOM
    pair.send(pair.visitor, "session.end", session=session)
    assert pair.core.may_stream(pair.visitor) is False


# ------------------------------------------------------- conversations stored on first chat


def test_a_new_conversation_is_stored_on_the_visitor_first_chat_not_on_connect() -> None:
    """A socket that never chats costs no row and no agent's list entry (issue 19: 2,000
    token-less sockets pushed the real visitor out of the agents' list)."""
    pair = CorePair()
    assert pair.store.get(pair.visitor.id) is None
    assert pair.core.resumable("demo", pair.token) is None  # the token was never stored
    with pytest.raises(ProtocolError) as hidden:  # agents cannot see or invite it yet
        pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="shared")
    assert hidden.value.code == "not_found"
    pair.send(pair.visitor, "chat.send", text="  Where is my parcel?  ")
    stored = pair.store.get(pair.visitor.id)
    assert stored is not None and (stored.title, stored.unread) == ("Where is my parcel?", 1)
    assert stored.started_at == pair.now
    assert pair.core.resumable("demo", pair.token) == pair.visitor
    assert pair.core.pending_here() == 0
    assert [m.text for m in pair.store.messages(pair.visitor.id, 10)] == ["  Where is my parcel?  "]
    pair.send(pair.agent, "invite.send", conversation=pair.visitor.id, mode="shared")
    assert pair.last(pair.visitor, "invite.offer")["mode"] == "shared"


def test_a_pending_conversation_is_forgotten_when_its_socket_closes() -> None:
    pair = CorePair()
    visitors = []
    for _ in range(50):
        visitor, effects = pair.core.visitor_connected("demo", None, pair.now, page_origin="x")
        pair.apply(effects)
        visitors.append(visitor)
    assert pair.core.pending_here() == 51  # the pair's own visitor too
    for visitor in [pair.visitor, *visitors]:
        assert pair.core.visitor_disconnected(visitor, pair.now) == []
    assert pair.core.pending_here() == 0
    assert pair.store.listing(frozenset({"demo"}), 100) == []
    pair.apply(pair.core.tick(pair.now + 120_000))  # nothing of them in the live state either
    assert pair.live.visitors_gone(pair.now + 120_000) == []


def test_a_token_of_a_conversation_never_stored_starts_a_new_one() -> None:
    pair = CorePair()
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    visitor, effects = pair.core.visitor_connected("demo", pair.token, pair.now)
    pair.apply(effects)
    hello = pair.last(visitor, "hello")
    assert visitor != pair.visitor and hello["resumed"] is False and hello["token"] != pair.token
    assert pair.last(visitor, "chat.history")["messages"] == []


def test_a_stored_conversation_outlives_its_socket_and_resumes() -> None:
    pair = CorePair()
    pair.chat_first("Hello")
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    visitor, effects = pair.core.visitor_connected("demo", pair.token, pair.now + 1)
    pair.apply(effects)
    assert visitor == pair.visitor and pair.last(visitor, "hello")["resumed"] is True
    assert [m["text"] for m in pair.last(visitor, "chat.history")["messages"]] == ["Hello"]


# ---------------------------------------------------------------- act.navigate stays on the site

NAVIGATE_REFUSED = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example/",
    "https:evil.example/",
    "https:///evil.example/",
    "http://shop.example/",  # another scheme: another origin
    "https://shop.example.evil.example/",
    "https://shop.example@evil.example/",
    "https://shop.example:443@evil.example/",
    "https://user:pw@shop.example/",  # credentials: never, even to the site itself
    "https://evil.example\\@shop.example/",
    "https:\\\\evil.example/",
    "https://shop.example\\.evil.example/",
    " https://shop.example/",
    "https://shop.example/\n",
    "https://shop.exa\tmple/",
    "https://shop%2eexample/",
    "https://shop.example./",
    "https://shop.example:8443/",
    "https://shop.example:99999/",
    "https://other.example/",  # the other brand's site
    "https://cdn.example/",  # among the brand's origins, but not the visitor's page
]
NAVIGATE_ALLOWED = [
    "https://shop.example/b?x=1#y",
    "HTTPS://SHOP.EXAMPLE/cart",
    "https://shop.example:443/a",
]


def navigate(pair: CorePair, session: str, url: str, core_of: core.RelayCore | None = None) -> None:
    """An act.navigate straight to the core (past the wire's own URL check)."""
    message = protocol.Message("act.navigate", {"session": session, "url": url})
    pair.apply((core_of or pair.core).receive(pair.agent, message, pair.now))


def test_the_relay_forwards_act_navigate_only_to_the_visitors_own_site() -> None:
    """Issue 19: the tag refused a cross-site navigate but the relay passed it on."""
    pair = CorePair()
    pair.brands[1] = core.BrandRules("other", (), ("https://other.example",))
    pair.apply(pair.core.update_accounts(pair.agents, pair.brands))
    session = pair.start_session("shared")
    for url in NAVIGATE_ALLOWED:
        navigate(pair, session, url)
        assert pair.last(pair.visitor, "act.navigate")["url"] == url
    for url in NAVIGATE_REFUSED:
        with pytest.raises(ProtocolError) as refused:
            navigate(pair, session, url)
        assert refused.value.code == "forbidden" and refused.value.ref == "act.navigate", url
        assert url.strip() not in refused.value.message  # the reason, not the URL
        assert not pair.take(pair.visitor, "act.navigate"), url
    with pytest.raises(ProtocolError):  # through the wire, like a socket: refused too
        pair.send(pair.agent, "act.navigate", session=session, url="https://evil.example/")
    assert not pair.take(pair.visitor, "act.navigate")


def test_act_navigate_needs_the_page_origin_among_the_brands_allowed_origins() -> None:
    pair = CorePair()
    session = pair.start_session("shared")
    cdn_only = [core.BrandRules("demo", (), ("https://cdn.example",)), pair.brands[1]]
    pair.apply(pair.core.update_accounts(pair.agents, cdn_only))
    with pytest.raises(ProtocolError) as refused:
        navigate(pair, session, "https://shop.example/b")
    assert "allowed origins" in refused.value.message
    listed = [core.BrandRules("demo", (), ("https://SHOP.example/",)), pair.brands[1]]
    pair.apply(pair.core.update_accounts(pair.agents, listed))
    navigate(pair, session, "https://shop.example/b")
    assert pair.last(pair.visitor, "act.navigate")["url"] == "https://shop.example/b"


def test_the_page_origin_is_shared_with_other_nodes_and_follows_the_visitor() -> None:
    """The agent's socket may be on another node than the visitor's: the origin is in the
    shared session record, and a visitor back from another page moves it."""
    pair = CorePair()
    session = pair.start_session("shared")
    other_node = core.RelayCore(
        pair.agents,
        pair.brands,
        store=pair.store,
        live=pair.live,
        new_id=lambda: "other",
        new_token=lambda: "other-token",
    )
    navigate(pair, session, "https://shop.example/b", core_of=other_node)
    assert pair.last(pair.visitor, "act.navigate")["url"] == "https://shop.example/b"
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    _, effects = pair.core.visitor_connected(
        "demo", pair.token, pair.now, page_origin="https://m.shop.example"
    )
    pair.apply(effects)
    stored = pair.live.session(session)
    assert stored is not None and stored.page_origin == "https://m.shop.example"
    navigate(pair, session, "https://m.shop.example/cart", core_of=other_node)
    assert pair.last(pair.visitor, "act.navigate")["url"] == "https://m.shop.example/cart"
    with pytest.raises(ProtocolError) as refused:
        navigate(pair, session, "https://shop.example/b", core_of=other_node)
    assert refused.value.code == "forbidden"


def test_a_session_without_a_known_page_origin_never_navigates() -> None:
    pair = CorePair()
    pair.apply(pair.core.visitor_disconnected(pair.visitor, pair.now))
    visitor, effects = pair.core.visitor_connected("demo", None, pair.now)  # no Origin known
    pair.apply(effects)
    pair.visitor, pair.token = visitor, pair.last(visitor, "hello")["token"]
    session = pair.start_session("shared")
    with pytest.raises(ProtocolError) as refused:
        navigate(pair, session, "https://shop.example/b")
    assert "unknown" in refused.value.message


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://shop.example/a", "https://shop.example"),
        ("HTTP://Shop.Example:80/", "http://shop.example"),
        ("https://shop.example:8443/", "https://shop.example:8443"),
        ("https://[::1]:8443/", "https://[::1]:8443"),
        ("https://shop.example#@evil.example", "https://shop.example"),
        ("https://shop.example?@evil.example", "https://shop.example"),
        ("https://a@shop.example/", None),
        ("https://shop.example:0x1bb/", None),
        ("ftp://shop.example/", None),
        ("https://", None),
        ("https://sh\u00f6p.example/", None),  # IDN: the browser's punycode would differ
    ],
)
def test_origin_of_url_reads_only_what_a_browser_reads_alike(url: str, origin: str | None) -> None:
    assert core.origin_of_url(url) == origin


class FailingGets:
    """A real store whose ``get`` fails while ``failing`` (a database outage)."""

    def __init__(self, store: OpenStore) -> None:
        self._store = store
        self.failing = False

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def get(self, conversation_id: str) -> core.Conversation | None:
        if self.failing:
            raise RuntimeError("the database is away")
        return self._store.get(conversation_id)


def test_sessions_end_without_the_store_and_their_rows_follow_once_it_is_back() -> None:
    """A tick or a settings change ends sessions while the database is away (no store read
    in them); the agents' rows are read afterwards, and stay due while the store fails."""
    store = FailingGets(helpers.new_store())
    pair = CorePair(store=store)  # type: ignore[arg-type]
    session = pair.start_session()
    store.failing = True
    others = [a for a in pair.agents if a.id != "alex"]
    pair.apply(pair.core.update_accounts(others, pair.brands))
    assert pair.last(pair.visitor, "session.ended")["session"] == session
    with pytest.raises(RuntimeError):
        pair.core.announce_rows()
    store.failing = False
    pair.apply(pair.core.announce_rows())
    sam = core.Peer(AGENT, "sam")
    assert pair.last(sam, "conversation.updated")["conversation"]["state"] == "open"
    assert pair.core.announce_rows() == []


def test_a_session_end_the_store_cannot_answer_changes_nothing() -> None:
    store = FailingGets(helpers.new_store())
    pair = CorePair(store=store)  # type: ignore[arg-type]
    session = pair.start_session()
    store.failing = True
    with pytest.raises(RuntimeError):
        pair.send(pair.agent, "session.end", session=session)
    assert pair.live.session(session) is not None  # still running: the agent may try again
    store.failing = False
    pair.send(pair.agent, "session.end", session=session)
    assert pair.last(pair.visitor, "session.ended")["session"] == session
