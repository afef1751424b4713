"""The relay in-process (Starlette TestClient): routes, sign-in, origin checks and hostile input."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from helpers import receive_until, run_async
from services import PostgresServer
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage
from starlette.websockets import WebSocketDisconnect

from relay import core
from relay.app import RelayServer
from relay.broker import LocalBroker
from relay.core import Peer
from relay.settings import DEMO_AGENT_LOGIN, DEMO_AGENT_PASSWORD, ServerLimits, demo_settings
from renderer.service import RendererError

OWN = "http://testserver"


@pytest.fixture
def server() -> RelayServer:
    limits = ServerLimits(
        visitor_frame_bytes=64 * 1024,
        agent_frame_bytes=8 * 1024,
        visitor_burst=40,
        visitor_rate=10,
        login_attempts_per_minute=3,
        abuse_errors_before_close=20,
    )
    return RelayServer(replace(demo_settings(), limits=limits, secret_key="test-secret"))


@pytest.fixture
def client(server: RelayServer) -> Iterator[TestClient]:
    with TestClient(server.app) as client:
        yield client


def sign_in(client: TestClient) -> None:
    response = client.post(
        "/agent/login",
        json={"name": DEMO_AGENT_LOGIN, "password": DEMO_AGENT_PASSWORD},
        headers={"origin": OWN},
    )
    assert response.status_code == 200, response.text


def test_health_tag_protocol_and_workspace_are_served(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    tag = client.get("/tag.js")
    assert tag.status_code == 200 and "javascript" in tag.headers["content-type"]
    assert "act.click" in client.get("/protocol.json").json()["messages"]
    page = client.get("/agent")
    csp = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    )
    assert client.get("/demo/").status_code == 200


def test_sign_in_refuses_wrong_passwords_forgery_and_floods(client: TestClient) -> None:
    assert client.get("/agent/me").status_code == 401
    wrong = client.post(
        "/agent/login", json={"name": "demo", "password": "nope"}, headers={"origin": OWN}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    forged = client.post(
        "/agent/login",
        json={"name": "demo", "password": DEMO_AGENT_PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    garbage = client.post("/agent/login", content=b"not json", headers={"origin": OWN})
    assert garbage.status_code == 400
    flood = [
        client.post("/agent/login", json={"name": "demo", "password": "x"}, headers={"origin": OWN})
        for _ in range(3)
    ]
    assert flood[-1].status_code == 429
    assert flood[-1].json()["error"]["code"] == "rate_limited"


def test_signed_in_agent_gets_an_httponly_strict_cookie(client: TestClient) -> None:
    response = client.post(
        "/agent/login",
        json={"name": DEMO_AGENT_LOGIN, "password": DEMO_AGENT_PASSWORD},
        headers={"origin": OWN},
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/agent/me").json()["name"] == "Alex"


def test_agent_socket_needs_the_cookie_and_our_own_origin(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/agent", headers={"origin": OWN}),
    ):
        pass
    assert refused.value.code == 1008
    sign_in(client)
    with (
        pytest.raises(WebSocketDisconnect) as hijack,
        client.websocket_connect("/ws/agent", headers={"origin": "https://evil.example"}),
    ):
        pass
    assert hijack.value.code == 1008
    with client.websocket_connect("/ws/agent", headers={"origin": OWN}) as ws:
        assert receive_until(ws, "hello")["agent"]["name"] == "Alex"


def test_visitor_socket_refuses_origins_of_no_brand(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/visitor", headers={"origin": "https://evil.example"}),
    ):
        pass
    assert refused.value.code == 1008


def test_bad_input_gets_a_clear_error_and_the_socket_survives(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        receive_until(ws, "hello")
        for frame, code in [
            ("{not json", "bad_json"),
            ('{"v":1,"type":"dom.teleport"}', "unknown_type"),
            ('{"v":1,"type":"chat.send"}', "invalid"),
            ('{"v":1,"type":"invite.send","conversation":"x","mode":"shared"}', "forbidden"),
            ('{"v":1,"type":"session.end","session":"not-mine"}', "not_found"),
        ]:
            ws.send_text(frame)
            error = receive_until(ws, "error")
            assert error["code"] == code and error["fault"] == "client"
        ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "still here"}))
        assert receive_until(ws, "chat.message")["text"] == "still here"


def test_an_oversized_frame_closes_with_1009(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        receive_until(ws, "hello")
        ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "x" * 70_000}))
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(10):  # what was already queued, then the close
                ws.receive_text()
        assert closed.value.code == 1009


def test_a_flood_is_rate_limited(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        receive_until(ws, "hello")
        for _ in range(60):
            ws.send_text('{"v":1,"type":"chat.send","text":"spam"}')
        codes = set()
        for _ in range(150):
            message = json.loads(ws.receive_text())
            if message["type"] == "error":
                codes.add(message["code"])
                break
        assert codes == {"rate_limited"}


def test_endless_invalid_messages_close_the_socket_with_1008(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        receive_until(ws, "hello")
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(40):
                ws.send_text("[]")
                ws.receive_text()
        assert closed.value.code == 1008


def _utf8_frames(app: ASGIApp) -> ASGIApp:
    """``app`` with its text frames encoded as UTF-8 when sent, as uvicorn's WebSocket
    protocols do (TestClient hands the str over as it is): a frame UTF-8 cannot hold raises
    in the relay's write loop, where it did in production (issue 19)."""

    async def encoded(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_encoded(message: ASGIMessage) -> None:
            if message["type"] == "websocket.send" and message.get("text") is not None:
                message["text"].encode("utf-8")
            await send(message)

        await app(scope, receive, send_encoded)

    return encoded


@contextmanager
def _visitor_and_agent(server: RelayServer) -> Iterator[tuple[TestClient, Any, Any]]:
    """A visitor's and the demo agent's sockets on ``server`` (its frames encoded as a real
    server does: ``_utf8_frames``), each past its first message."""
    with TestClient(_utf8_frames(server.app)) as client:
        sign_in(client)
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            receive_until(visitor, "hello")
            receive_until(agent, "conversation.list")
            yield client, visitor, agent


def test_a_lone_surrogate_is_refused_and_the_agent_stays_connected(server: RelayServer) -> None:
    """Issue 19: a visitor's chat with a lone surrogate (valid JSON) reached the agent's write
    loop, which died (1006), on every reconnect. Now the visitor is told, the agent never sees
    it, and the agent's socket goes on to the next message."""
    with _visitor_and_agent(server) as (_, visitor, agent):
        lone = {"v": 1, "type": "chat.send", "text": "my secret \ud800"}
        visitor.send_text(json.dumps(lone))  # as JSON writes it: "my secret \\ud800"
        error = receive_until(visitor, "error")
        assert (error["code"], error["ref"]) == ("invalid", "chat.send")
        assert error["message"].startswith("chat.send.text: ")
        assert "secret" not in error["message"]
        visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "still here 😀"}))
        assert receive_until(agent, "chat.message")["text"] == "still here 😀"


def test_a_frame_that_cannot_be_written_closes_that_socket_alone_with_1011(
    server: RelayServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever reaches a write loop that the server cannot send closes that socket with a
    named code, logged by its ids and never its content; the other sockets go on."""
    from relay.logs import fields_of
    from wire import protocol

    # Past encode (which escapes it): as a frame from elsewhere might come.
    frame = '{"v":1,"type":"chat.message","conversation":"c","sender":"visitor","name":"V",'
    frame += '"text":"secret \ud800","at":1}'
    with _visitor_and_agent(server) as (client, visitor, agent):
        assert client.portal is not None
        caplog.set_level("INFO", logger="cobrowse.relay")
        client.portal.call(server.broker.publish, Peer(protocol.AGENT, DEMO_AGENT_LOGIN), frame)
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_until(agent, "never")
        assert closed.value.code == 1011
        visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "still here"}))
        assert receive_until(visitor, "chat.message")["text"] == "still here"
    (failed,) = [r for r in caplog.records if r.getMessage() == "agent.write_failed"]
    assert fields_of(failed) == {"agent": DEMO_AGENT_LOGIN, "error": "UnicodeEncodeError"}
    assert not any("secret" in r.getMessage() for r in caplog.records)


def test_a_visitor_token_resumes_only_its_own_conversation(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        hello = receive_until(ws, "hello")
        ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "my secret question"}))
        receive_until(ws, "chat.message")
    with client.websocket_connect(
        f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
    ) as ws:
        again = receive_until(ws, "hello")
        assert again["conversation"] == hello["conversation"] and again["resumed"] is True
        assert receive_until(ws, "chat.history")["messages"][0]["text"] == "my secret question"
    with client.websocket_connect("/ws/visitor?token=forged", headers={"origin": OWN}) as ws:
        other = receive_until(ws, "hello")
        assert other["conversation"] != hello["conversation"]
        assert receive_until(ws, "chat.history")["messages"] == []


# ---------------------------------------------------------------- conversations and transcripts


def _two_brand_server(database: str = ":memory:") -> RelayServer:
    from relay.passwords import hash_password
    from relay.settings import AgentLogin, Brand

    base = demo_settings()
    settings = replace(
        base,
        secret_key="test-secret",
        database=database,
        brands=(*base.brands, Brand("other", "Other", ("https://other.example",))),
        agents=(
            *base.agents,
            AgentLogin("olga", "Olga", hash_password("olga-password"), ("other",)),
        ),
    )
    return RelayServer(settings)


def _chat_then_close(client: TestClient) -> str:
    """A visitor chats, the demo agent answers and ends the conversation; returns its id."""
    sign_in(client)
    with (
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
        client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
    ):
        conversation = receive_until(visitor, "hello")["conversation"]
        visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "Need help"}))
        receive_until(agent, "chat.message")
        agent.send_text(
            json.dumps(
                {"v": 1, "type": "invite.send", "conversation": conversation, "mode": "shared"}
            )
        )
        assert receive_until(visitor, "invite.offer")["agent"] == "Alex"
        agent.send_text(
            json.dumps({"v": 1, "type": "conversation.close", "conversation": conversation})
        )
        assert receive_until(visitor, "invite.state")["state"] == "cancelled"
        assert receive_until(visitor, "chat.message")["text"] == "Alex ended the conversation."
        visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "still there?"}))
        assert receive_until(visitor, "error")["code"] == "conflict"
    return str(conversation)


def test_a_signed_in_agent_reads_and_exports_the_transcript_without_the_invite() -> None:
    with TestClient(_two_brand_server().app) as client:
        conversation = _chat_then_close(client)
        url = f"/agent/conversations/{conversation}/transcript"
        data = client.get(url).json()
        assert [m["text"] for m in data["messages"]] == [
            "Need help",
            "Alex ended the conversation.",
        ]
        assert data["closed_at"] is not None
        text = client.get(url, params={"format": "text"})
        assert text.headers["content-type"].startswith("text/plain")
        assert "attachment" in text.headers["content-disposition"]
        assert "Need help" in text.text
        for body in (json.dumps(data), text.text):
            assert "invite" not in body.lower() and "would like to see" not in body


def test_the_transcript_refuses_strangers_other_brands_and_cross_site_requests() -> None:
    with TestClient(_two_brand_server().app) as client:
        conversation = _chat_then_close(client)
        url = f"/agent/conversations/{conversation}/transcript"
        assert client.get(url, headers={"sec-fetch-site": "cross-site"}).status_code == 403
        assert client.get("/agent/conversations/nope/transcript").status_code == 404
        client.post("/agent/logout", headers={"origin": OWN})
        client.cookies.clear()
        assert client.get(url).status_code == 401
        client.cookies.set("cobrowse_agent", "alex.forged-signature")
        assert client.get(url).status_code == 401
        client.cookies.clear()
        olga = client.post(
            "/agent/login",
            json={"name": "olga", "password": "olga-password"},
            headers={"origin": OWN},
        )
        assert olga.status_code == 200
        assert client.get(url).status_code == 404  # another brand's conversation: not there


def test_a_visitor_socket_cannot_end_conversations_or_switch_modes(client: TestClient) -> None:
    with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
        conversation = receive_until(ws, "hello")["conversation"]
        for frame in (
            {"type": "conversation.close", "conversation": conversation},
            {"type": "session.upgrade", "session": "any"},
        ):
            ws.send_text(json.dumps({"v": 1, **frame}))
            assert receive_until(ws, "error")["code"] == "forbidden"


def test_conversations_are_kept_in_the_sqlite_file_across_restarts(tmp_path: Any) -> None:
    database = str(tmp_path / "data" / "cobrowse.sqlite3")
    with TestClient(_two_brand_server(database).app) as client:
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            hello = receive_until(ws, "hello")
            ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "remember me"}))
            receive_until(ws, "chat.message")
    with (
        TestClient(_two_brand_server(database).app) as client,
        client.websocket_connect(
            f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
        ) as ws,
    ):
        assert receive_until(ws, "hello")["conversation"] == hello["conversation"]
        assert receive_until(ws, "chat.history")["messages"][0]["text"] == "remember me"


def test_a_visitors_chat_survives_a_relay_restart_on_postgresql(postgres: PostgresServer) -> None:
    database = postgres.fresh_url()
    with TestClient(_two_brand_server(database).app) as client:
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            hello = receive_until(ws, "hello")
            ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "remember me"}))
            receive_until(ws, "chat.message")
    with TestClient(_two_brand_server(database).app) as client:  # a new relay, same database
        with client.websocket_connect(
            f"/ws/visitor?token={hello['token']}", headers={"origin": OWN}
        ) as ws:
            assert receive_until(ws, "hello")["conversation"] == hello["conversation"]
            assert receive_until(ws, "chat.history")["messages"][0]["text"] == "remember me"
        sign_in(client)
        transcript = client.get(f"/agent/conversations/{hello['conversation']}/transcript")
        assert [m["text"] for m in transcript.json()["messages"]] == ["remember me"]
        assert client.get("/agent/conversations/nope/transcript").status_code == 404


def test_a_store_outage_is_the_relays_error_not_the_clients(postgres: PostgresServer) -> None:
    """PostgreSQL stops while a visitor is connected: their chat gets ``internal`` (the
    server's fault), the socket stays open and is not counted as abuse, a new socket is
    closed with 1011 (reconnect later); once PostgreSQL is back the same socket chats again."""
    database = postgres.fresh_url()
    with TestClient(_two_brand_server(database).app, client=("127.0.0.1", 50000)) as client:
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            token = receive_until(ws, "hello")["token"]
            postgres.stop()
            try:
                for _ in range(3):
                    ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "lost?"}))
                    error = receive_until(ws, "error")
                    assert (error["code"], error["fault"]) == ("internal", "server")
                with (
                    pytest.raises(WebSocketDisconnect) as closed,
                    # With a token: a token-less socket needs no store until it chats.
                    client.websocket_connect(
                        f"/ws/visitor?token={token}", headers={"origin": OWN}
                    ) as other,
                ):
                    other.receive_text()
                assert closed.value.code == 1011
                # The operator sees it: failed store calls counted by operation.
                metrics = client.get("/metrics").text
                failed = re.findall(r"^cobrowse_store_errors_total\{[^}]*\} (\S+)$", metrics, re.M)
                assert sum(float(count) for count in failed) >= 4  # three sends, one opening
            finally:
                postgres.start()
            for _ in range(3):  # the first call after the restart may fail once
                ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "back"}))
                message = json.loads(ws.receive_text())
                while message["type"] not in ("chat.message", "error"):
                    message = json.loads(ws.receive_text())
                if message["type"] == "chat.message":
                    break
            assert message["text"] == "back"


def test_while_the_store_is_away_a_settings_change_still_ends_invites_and_transcripts_say_503(
    postgres: PostgresServer,
) -> None:
    """An agent removed from the settings file loses its pending invite even while PostgreSQL
    is down (the core judges invites without the store), and a transcript request gets a clear
    503 instead of a server error."""
    server = _two_brand_server(postgres.fresh_url())
    with TestClient(server.app) as client:
        sign_in(client)
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            conversation = receive_until(visitor, "hello")["conversation"]
            # Stored on the visitor's first chat: agents may invite it then.
            visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "Hello"}))
            receive_until(agent, "chat.message")
            agent.send_text(
                json.dumps(
                    {"v": 1, "type": "invite.send", "conversation": conversation, "mode": "shared"}
                )
            )
            receive_until(visitor, "invite.offer")
            # Olga signs in before the outage (her own browser; the lifespan is the client's).
            olga_browser = TestClient(server.app)
            olga_login = {"name": "olga", "password": "olga-password"}
            headers = {"origin": OWN}
            assert olga_browser.post("/agent/login", json=olga_login, headers=headers).is_success
            postgres.stop()
            try:
                without_demo = replace(
                    server.settings,
                    agents=tuple(a for a in server.settings.agents if a.id != DEMO_AGENT_LOGIN),
                )
                assert run_async(lambda: server.reload_settings(without_demo)) is True
                assert receive_until(visitor, "invite.state")["state"] == "cancelled"
                response = client.get(f"/agent/conversations/{conversation}/transcript")
                # The demo agent's cookie no longer names an account: sign-in is checked first.
                assert response.status_code == 401
                # A new sign-in needs the store (its session is kept there): 503, not 401.
                olga = client.post("/agent/login", json=olga_login, headers=headers)
                assert olga.status_code == 503
                response = olga_browser.get("/agent/conversations/anything/transcript")
                assert response.status_code == 503
                assert response.json()["error"]["code"] == "internal"
            finally:
                postgres.start()


def test_a_visitor_reaches_only_their_own_invite_and_session(client: TestClient) -> None:
    sign_in(client)

    def send(ws: Any, kind: str, **body: Any) -> None:
        ws.send_text(json.dumps({"v": 1, "type": kind, **body}))

    with (
        client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as mine,
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as other,
    ):
        conversation = receive_until(mine, "hello")["conversation"]
        receive_until(other, "hello")
        send(mine, "chat.send", text="Hello")  # stored on the first chat
        receive_until(agent, "chat.message")
        send(agent, "invite.send", conversation=conversation, mode="shared")
        invite = receive_until(mine, "invite.offer")["invite"]
        send(other, "invite.accept", invite=invite)
        assert receive_until(other, "error")["code"] == "not_found"
        send(mine, "invite.accept", invite=invite)
        session = receive_until(mine, "session.started")["session"]
        receive_until(agent, "session.started")
        for kind, body in [
            ("pointer", {"id": 1, "x": 0.5, "y": 0.5}),
            ("selection", {"ranges": [[1, 0, 1, 1]]}),
            ("session.end", {}),
        ]:
            send(other, kind, session=session, **body)
            refused = receive_until(other, "error")
            assert refused["code"] == "not_found" and refused["ref"] == kind
        send(agent, "session.upgrade", session=session)  # shared already: refused by the table
        assert receive_until(agent, "error")["code"] == "forbidden"
        send(mine, "session.end", session=session)
        assert receive_until(agent, "session.ended")["by"] == "visitor"


# ---------------------------------------------------------------- settings file changes


def _settings_file(path: Any, selectors: list[str], agents: str) -> None:
    path.write_text(
        '[server]\nsecret_key = "test-secret"\n\n'
        '[[brands]]\nid = "acme"\nname = "Acme"\nallowed_origins = ["self"]\n'
        f"mask_selectors = {json.dumps(selectors)}\n\n{agents}",
        encoding="utf-8",
    )


def test_a_changed_settings_file_reaches_running_sessions_without_a_restart(
    tmp_path: Any,
) -> None:
    from relay.passwords import hash_password
    from relay.settings import load_settings

    config = tmp_path / "cobrowse.toml"
    kim = (
        '[[agents]]\nid = "kim"\nname = "Kim"\n'
        f'password_hash = "{hash_password("kim-password")}"\nbrands = ["acme"]\n'
    )
    _settings_file(config, ["#iban"], kim)
    server = RelayServer(load_settings(config), settings_path=config)
    with TestClient(server.app) as client:
        login = {"name": "kim", "password": "kim-password"}
        assert client.post("/agent/login", json=login, headers={"origin": OWN}).status_code == 200
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            conversation = receive_until(visitor, "hello")["conversation"]
            # Stored on the visitor's first chat: agents may invite it then.
            visitor.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "Hello"}))
            receive_until(agent, "chat.message")
            agent.send_text(json.dumps(
                {"v": 1, "type": "invite.send", "conversation": conversation, "mode": "shared"}
            ))  # fmt: skip
            invite = receive_until(visitor, "invite.offer")["invite"]
            visitor.send_text(json.dumps({"v": 1, "type": "invite.accept", "invite": invite}))
            started = receive_until(visitor, "session.started")
            assert started["mask_selectors"] == ["#iban"]

            # A broken file is reported and changes nothing; a good one is taken on the next tick.
            config.write_text("[[brands]\n", encoding="utf-8")
            assert client.portal.call(server.reload_settings) is False
            _settings_file(config, ["#iban", "[name=card]"], kim)
            config_message = receive_until(visitor, "session.config")  # the watcher's tick
            assert config_message["session"] == started["session"]
            assert config_message["mask_selectors"] == ["#iban", "[name=card]"]

            # The account leaves the file: its session ends and its cookie is worth nothing.
            _settings_file(config, ["#iban", "[name=card]"], "")
            assert receive_until(visitor, "session.ended")["by"] == "relay"
            assert client.get("/agent/me").status_code == 401


# ---------------------------------------------------------------- compression on the wire


def test_visitors_compress_with_the_full_window_and_the_relay_with_a_small_one() -> None:
    import asyncio
    import socket
    import threading

    import uvicorn
    from websockets.asyncio.client import connect

    from relay.websocket import CobrowseWebSocketProtocol

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = RelayServer(replace(demo_settings(), secret_key="test-secret")).app
    config = uvicorn.Config(
        app, port=port, log_level="warning", ws=CobrowseWebSocketProtocol,
        ws_per_message_deflate=True,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    async def visit() -> tuple[str, dict[str, Any]]:
        origin = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.started:
                break
            await asyncio.sleep(0.05)
        async with connect(
            f"ws://127.0.0.1:{port}/ws/visitor", origin=origin, compression="deflate"
        ) as ws:
            assert ws.response is not None
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
            # A compressed message from the visitor inflates on the relay's side intact.
            hello = json.loads(await ws.recv())
            await ws.send(json.dumps({"v": 1, "type": "chat.send", "text": "x" * 4000}))
            echoed = json.loads(await ws.recv())
            while echoed["type"] != "chat.message":
                echoed = json.loads(await ws.recv())
            return extensions, {"hello": hello["type"], "chat": echoed["text"]}

    try:
        extensions, seen = run_async(visit)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert "permessage-deflate" in extensions
    assert "server_max_window_bits=12" in extensions
    assert "client_max_window_bits" not in extensions  # the browser keeps its 15-bit window
    assert seen == {"hello": "hello", "chat": "x" * 4000}


# ---------------------------------------------------------------- the render queue


class _GatedRenderer:
    """Stands in for the renderer: records each call's seqs, holds the snapshot until
    ``gate`` opens (so batches queue up behind it), and refuses any group holding a ``bad``
    seq as the real one refuses a batch that does not fit the replica."""

    def __init__(self, bad: frozenset[int] = frozenset()) -> None:
        self.calls: list[list[int]] = []
        self.gate = asyncio.Event()
        self.bad = bad
        self.on_lost: Any = None

    async def snapshot(self, session: str, message: dict[str, Any], policy: Any) -> dict[str, Any]:
        self.calls.append([message["seq"]])
        await self.gate.wait()
        return {**message, "type": "replica.snapshot"}

    async def mutations_many(
        self, session: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        self.calls.append([m["seq"] for m in messages])
        if any(m["seq"] in self.bad for m in messages):
            raise RendererError("rejected: unknown node id 99", session)
        return [{**m, "type": "replica.mutations"} for m in messages]

    async def drop(self, session: str) -> None:
        pass

    async def close(self) -> None:
        pass


class _RecordingBroker(LocalBroker):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, peer: Peer, frame: str) -> None:
        self.sent.append((peer.role, json.loads(frame)))


def _queue_server(renderer: _GatedRenderer) -> tuple[RelayServer, _RecordingBroker, str]:
    """A relay with one running session (started through the core); returns its id."""
    broker = _RecordingBroker()
    server = RelayServer(
        replace(demo_settings(), secret_key="test-secret"), renderer=renderer, broker=broker
    )  # type: ignore[arg-type]
    visitor, _ = server.core.visitor_connected("demo", None, 0)
    agent, _ = server.core.agent_connected(DEMO_AGENT_LOGIN)
    server.core.receive(visitor, core.Message("chat.send", {"text": "Hello"}), 0)  # stored now

    def sent(effects: list[core.Effect], kind: str) -> dict[str, Any]:
        (body,) = [e.body for e in effects if isinstance(e, core.Send) and e.type == kind]
        return body

    invite = {"conversation": visitor.id, "mode": "view_only"}
    offer = sent(server.core.receive(agent, core.Message("invite.send", invite), 0), "invite.offer")
    accept = core.Message("invite.accept", {"invite": offer["invite"]})
    effects = [
        e for e in server.core.receive(visitor, accept, 0) if getattr(e, "to", None) == agent
    ]
    return server, broker, sent(effects, "session.started")["session"]


def _render(session: str, kind: str, seq: int) -> core.Render:
    body: dict[str, Any] = {"session": session, "seq": seq}
    if kind == "dom.snapshot":
        body["doc"] = [1, "#document"]
    else:
        body.update(removes=[], adds=[], attrs=[], texts=[], loading=True)
    return core.Render(session, core.Message(kind, body), core.BrandRules("demo"), "")


async def _settle(broker: _RecordingBroker, count: int) -> None:
    for _ in range(1000):
        if len(broker.sent) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {len(broker.sent)} of {count} messages went out")


def test_queued_batches_are_sanitized_in_one_call_and_sent_each_in_order() -> None:
    renderer = _GatedRenderer()
    server, broker, session = _queue_server(renderer)

    async def scenario() -> None:
        server.replicas.render(_render(session, "dom.snapshot", 0))
        await asyncio.sleep(0)  # the worker takes the snapshot and waits on the renderer
        for seq in range(1, 21):
            server.replicas.render(_render(session, "dom.mutations", seq))
        renderer.gate.set()
        await _settle(broker, 21)

    run_async(scenario)
    # The backlog went over in groups of at most RENDER_GROUP, in order.
    assert renderer.calls == [[0], list(range(1, 17)), list(range(17, 21))]
    assert [m["type"] for _, m in broker.sent] == ["replica.snapshot"] + ["replica.mutations"] * 20
    assert [m["seq"] for _, m in broker.sent] == list(range(21))
    assert {role for role, _ in broker.sent} == {core.AGENT}


def test_a_bad_batch_in_a_group_resyncs_and_the_next_snapshot_starts_over() -> None:
    renderer = _GatedRenderer(bad=frozenset({3}))
    server, broker, session = _queue_server(renderer)

    async def scenario() -> None:
        server.replicas.render(_render(session, "dom.snapshot", 0))
        await asyncio.sleep(0)
        for seq in range(1, 6):
            server.replicas.render(_render(session, "dom.mutations", seq))
        renderer.gate.set()
        await _settle(broker, 2)  # the snapshot, then the resync
        server.replicas.render(_render(session, "dom.snapshot", 10))
        server.replicas.render(_render(session, "dom.mutations", 11))
        await _settle(broker, 4)

    run_async(scenario)
    assert renderer.calls == [[0], [1, 2, 3, 4, 5], [10], [11]]
    # Nothing of the failed group reaches the agent; the visitor is asked for a snapshot.
    assert [(role, m["type"], m.get("seq")) for role, m in broker.sent] == [
        (core.AGENT, "replica.snapshot", 0),
        (core.VISITOR, "resync", None),
        (core.AGENT, "replica.snapshot", 10),
        (core.AGENT, "replica.mutations", 11),
    ]


def test_big_frames_are_checked_off_the_event_loop_with_the_same_answers() -> None:
    from relay.sockets import DECODE_ON_THREAD_BYTES

    big = DECODE_ON_THREAD_BYTES + 1000
    server = RelayServer(replace(demo_settings(), secret_key="test-secret"))
    with (
        TestClient(server.app) as client,
        client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws,
    ):
        receive_until(ws, "hello")
        for frame, code in [
            (json.dumps({"v": 1, "type": "chat.send", "text": "x" * big}), "too_large"),
            ("[" * big, "invalid"),  # a big frame must name its type first (issue 19)
            (json.dumps({"v": 1, "type": "session.end", "session": "s", "pad": "x" * big}),
             "too_large"),
        ]:  # fmt: skip
            assert len(frame) > DECODE_ON_THREAD_BYTES
            ws.send_text(frame)
            error = receive_until(ws, "error")
            assert error["code"] == code and error["fault"] == "client"
        ws.send_text(json.dumps({"v": 1, "type": "chat.send", "text": "in order"}))
        assert receive_until(ws, "chat.message")["text"] == "in order"
