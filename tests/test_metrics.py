"""What operators see of a relay: ``GET /metrics`` (loopback only, bounded labels) and the
JSON log lines (ids as fields, a node id, never what a page, a chat or a typed field said)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from relay import logs
from relay.app import RelayServer
from relay.metrics import is_loopback
from relay.settings import demo_settings
from renderer.service import RendererError
from tests.test_relay_app import OWN, receive_until, sign_in

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ("127.0.0.1", 50000)
CANARY = "CANARY-q7Zx"  # what no log line may ever carry

pytestmark = pytest.mark.timeout(60)  # a message that never comes must not hold the run


class EchoRenderer:
    """Stands in for the sanitizing renderer: echoes each message as its replica, or refuses a
    snapshot with the page's own words in its error (as a real rejection may quote them)."""

    def __init__(self) -> None:
        self.on_lost: Any = None
        self.refuse = False

    async def snapshot(self, session: str, message: dict[str, Any], policy: Any) -> dict[str, Any]:
        if self.refuse:
            raise RendererError(f"rejected: {message.get('title')}", session)
        return {**message, "type": "replica.snapshot"}

    async def mutations_many(
        self, session: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        return [{**m, "type": "replica.mutations"} for m in messages]

    async def drop(self, session: str) -> None:
        pass

    async def close(self) -> None:
        pass


def new_server(renderer: EchoRenderer | None = None) -> RelayServer:
    settings = replace(demo_settings(), secret_key="test-secret")
    return RelayServer(settings, renderer=renderer or EchoRenderer(), node="node-a")  # type: ignore[arg-type]


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics``: (name, labels without node) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            assert sample.labels.pop("node", "node-a") == "node-a"
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def send(ws: Any, kind: str, **body: Any) -> None:
    ws.send_text(json.dumps({"v": 1, "type": kind, **body}))


def snapshot(session: str, seq: int, words: str) -> dict[str, Any]:
    return {
        "session": session,
        "seq": seq,
        "url": "https://shop.example/checkout",
        "title": words,
        "viewport": {"w": 1280, "h": 720, "dpr": 1},
        "doc": [1, "#document", ["html", ["head", ["title", words]], ["body", ["p", words]]]],
    }


def mutations(session: str, seq: int, texts: list[Any] | None = None) -> dict[str, Any]:
    return {
        "session": session,
        "seq": seq,
        "adds": [],
        "removes": [],
        "attrs": [],
        "texts": texts or [],
    }


def start_session(visitor: Any, agent: Any, conversation: str | None = None) -> str:
    """A shared session between a visitor (whose hello is read unless ``conversation`` is
    given) and the demo agent; returns its id."""
    conversation = conversation or receive_until(visitor, "hello")["conversation"]
    send(visitor, "chat.send", text="help")  # stores the conversation: agents may invite it
    receive_until(visitor, "chat.message")
    send(agent, "invite.send", conversation=conversation, mode="shared")
    invite = receive_until(visitor, "invite.offer")["invite"]
    send(visitor, "invite.accept", invite=invite)
    session: str = receive_until(visitor, "session.started")["session"]
    receive_until(agent, "session.started")
    return session


# ---------------------------------------------------------------- /metrics


def test_metrics_count_messages_by_type_and_a_hostile_type_adds_no_label() -> None:
    with TestClient(new_server().app, client=LOCAL) as client:
        before = scrape(client)
        assert value(before, "cobrowse_messages_received_total", type="chat.send") == 0
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            receive_until(ws, "hello")
            send(ws, "chat.send", text="hello there")
            receive_until(ws, "chat.message")
            send(ws, "dom.teleport")  # unknown to the protocol
            assert receive_until(ws, "error")["code"] == "unknown_type"
            send(ws, f"x-{CANARY}")  # a hostile type name: must not become a label
            assert receive_until(ws, "error")["code"] == "unknown_type"
            send(ws, "chat.send")  # a known type, invalid (no text)
            assert receive_until(ws, "error")["code"] == "invalid"
            during = scrape(client)
        after = scrape(client)

    received, sent = "cobrowse_messages_received_total", "cobrowse_messages_sent_total"
    errors = "cobrowse_protocol_errors_total"
    assert value(during, "cobrowse_sockets_open", role="visitor") == 1
    assert value(after, "cobrowse_sockets_open", role="visitor") == 0
    assert value(during, received, type="chat.send") == 2  # the good one and the invalid one
    assert value(during, received, type="unknown") == 2
    assert value(during, errors, role="visitor", code="unknown_type") == 2
    assert value(during, errors, role="visitor", code="invalid") == 1
    assert value(during, sent, type="hello") == 1
    assert value(during, sent, type="chat.message") >= 1
    assert value(during, sent, type="error") == 3
    # The label sets are the protocol's: the same series before and after the hostile frames.
    assert {key for key in after if key[0] == received} == {
        key for key in before if key[0] == received
    }
    assert "teleport" not in str(after) and CANARY not in str(after)


def test_every_store_call_is_timed_by_operation() -> None:
    """Store calls run on the event loop: their time is the node's (cobrowse_store_seconds)."""
    with TestClient(new_server().app, client=LOCAL) as client:
        before = scrape(client)
        with client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as ws:
            token = receive_until(ws, "hello")["token"]
            send(ws, "chat.send", text="hello there")  # the first chat stores it
            receive_until(ws, "chat.message")
        with client.websocket_connect(f"/ws/visitor?token={token}", headers={"origin": OWN}) as ws:
            receive_until(ws, "chat.history")  # a resumed conversation reads its messages
        after = scrape(client)
    count = "cobrowse_store_seconds_count"
    for operation in ("create", "add_message", "messages"):
        assert value(after, count, operation=operation) > value(before, count, operation=operation)
    assert value(after, "cobrowse_store_errors_total", operation="add_message") == 0


def test_metrics_show_sessions_invites_renders_and_resyncs() -> None:
    with TestClient(new_server().app, client=LOCAL) as client:
        sign_in(client)
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            conversation = receive_until(visitor, "hello")["conversation"]
            send(visitor, "chat.send", text="help")  # stores the conversation
            receive_until(agent, "chat.message")
            send(agent, "invite.send", conversation=conversation, mode="view_only")
            invite = receive_until(visitor, "invite.offer")["invite"]
            pending = scrape(client)
            send(visitor, "invite.accept", invite=invite)
            session = receive_until(visitor, "session.started")["session"]
            send(visitor, "dom.snapshot", **snapshot(session, 0, "Checkout"))
            receive_until(agent, "replica.snapshot")
            send(visitor, "dom.mutations", **mutations(session, 5))
            receive_until(visitor, "resync")  # seq 5 after 0: the visitor starts over
            running = scrape(client)

    assert value(pending, "cobrowse_invites_pending") == 1
    assert value(pending, "cobrowse_sessions_active") == 0
    assert value(running, "cobrowse_invites_pending") == 0
    assert value(running, "cobrowse_sessions_active") == 1
    assert value(running, "cobrowse_sockets_open", role="agent") == 1
    assert value(running, "cobrowse_render_seconds_count", kind="snapshot") == 1
    assert value(running, "cobrowse_resyncs_total") == 1


def test_a_renderer_failure_is_counted() -> None:
    renderer = EchoRenderer()
    renderer.refuse = True
    with TestClient(new_server(renderer).app, client=LOCAL) as client:
        sign_in(client)
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            session = start_session(visitor, agent)
            send(visitor, "dom.snapshot", **snapshot(session, 0, "Checkout"))
            receive_until(visitor, "resync")
            samples = scrape(client)
    assert value(samples, "cobrowse_replica_failures_total", reason="renderer_error") == 1
    assert value(samples, "cobrowse_render_seconds_count", kind="snapshot") == 1


@pytest.mark.parametrize(
    ("client_address", "headers"),
    [
        (("testclient", 50000), {}),  # not an address at all
        (("203.0.113.5", 40000), {}),
        (("10.0.0.7", 40000), {}),
        (("127.0.0.1", 40000), {"x-forwarded-for": "203.0.113.5"}),  # a proxy on this machine
        (("::1", 40000), {"forwarded": "for=203.0.113.5"}),
    ],
)
def test_metrics_answer_404_to_anyone_but_this_machine(
    client_address: tuple[str, int], headers: dict[str, str]
) -> None:
    with TestClient(new_server().app, client=client_address) as client:
        response = client.get("/metrics", headers=headers)
    assert response.status_code == 404
    assert "cobrowse_" not in response.text


def test_loopback_means_this_machine_only() -> None:
    for host in ("127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "localhost", "", None):
        assert not is_loopback(host), host


# ---------------------------------------------------------------- JSON logs


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record of the process (ours and uvicorn's) as JSON lines, at debug level."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("node-a"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # A relay run earlier in this process (uvicorn's own logging set-up) may have left
    # uvicorn's loggers at another level or not propagating: as `relay.logs.configure` does,
    # route them to the root for this test, and put them back after.
    loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.error")]
    saved = [(lg.level, lg.propagate, lg.disabled, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.NOTSET)
        lg.propagate, lg.disabled, lg.handlers = True, False, []
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for lg, (lg_level, propagate, disabled, handlers) in zip(loggers, saved, strict=True):
            lg.setLevel(lg_level)
            lg.propagate, lg.disabled, lg.handlers = propagate, disabled, handlers


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_node_and_ids(
    json_lines: io.StringIO,
) -> None:
    log = logging.getLogger("cobrowse.relay")
    log.info("agent.login agent=%s", "kim")  # the older key=value style
    log.info("visitor.error", extra=logs.ids(conversation="c1", code="invalid"))
    log.warning("%s.connected", "agent", extra=logs.ids(agent="kim"))
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    first, second, third, uvicorn = parsed(json_lines)
    assert set(first) == {"time", "level", "logger", "message", "node", "agent"}
    assert first["time"].endswith("Z") and first["level"] == "info"
    assert first["logger"] == "cobrowse.relay" and first["node"] == "node-a"
    assert first["message"] == "agent.login agent=kim" and first["agent"] == "kim"
    assert second["message"] == "visitor.error"
    assert (second["conversation"], second["code"]) == ("c1", "invalid")
    assert third["message"] == "agent.connected" and third["level"] == "warning"
    assert uvicorn["logger"] == "uvicorn.error" and uvicorn["message"].endswith("[42]")


def test_text_lines_append_the_ids() -> None:
    record = logging.LogRecord(
        "cobrowse.relay", logging.INFO, __file__, 1, "%s.connected", ("visitor",), None
    )
    record.__dict__.update(logs.ids(conversation="c1"))
    assert (
        logs.TextFormatter()
        .format(record)
        .endswith("INFO cobrowse.relay visitor.connected conversation=c1")
    )


def test_the_node_id_is_the_setting_or_host_and_process() -> None:
    assert logs.node_id({"COBROWSE_NODE_ID": "relay-3"}) == "relay-3"
    assert logs.node_id({}) == f"{socket.gethostname()}-{os.getpid()}"


def test_no_log_line_carries_chat_text_page_content_or_typed_text(
    json_lines: io.StringIO,
) -> None:
    renderer = EchoRenderer()
    with TestClient(new_server(renderer).app, client=LOCAL) as client:
        sign_in(client)
        with (
            client.websocket_connect("/ws/visitor", headers={"origin": OWN}) as visitor,
            client.websocket_connect("/ws/agent", headers={"origin": OWN}) as agent,
        ):
            conversation = receive_until(visitor, "hello")["conversation"]
            send(visitor, "chat.send", text=f"my card is {CANARY}")
            receive_until(agent, "chat.message")
            send(agent, "chat.send", conversation=conversation, text=f"thanks {CANARY}")
            receive_until(visitor, "chat.message")
            session = start_session(visitor, agent, conversation)
            send(visitor, "dom.snapshot", **snapshot(session, 0, CANARY))
            receive_until(agent, "replica.snapshot")
            send(visitor, "dom.mutations", **mutations(session, 1, texts=[[4, CANARY]]))
            receive_until(agent, "replica.mutations")
            send(agent, "act.input", session=session, id=4, value=CANARY)
            receive_until(visitor, "act.input")
            send(visitor, CANARY)  # a type name that is the client's own text
            receive_until(visitor, "error")
            send(visitor, "chat.send", text=CANARY, extra=CANARY)  # refused, quoting nothing
            receive_until(visitor, "error")
            renderer.refuse = True  # the renderer's error quotes the page
            send(visitor, "dom.snapshot", **snapshot(session, 0, CANARY))
            receive_until(visitor, "resync")
    lines = parsed(json_lines)
    assert any(line["message"] == "visitor.connected" for line in lines)
    assert any(line["message"] == "renderer.failed" for line in lines)
    assert all(line["node"] == "node-a" for line in lines)
    assert not [line for line in lines if CANARY in json.dumps(line)]


def test_the_negative_control_a_leaking_log_call_is_caught(json_lines: io.StringIO) -> None:
    logging.getLogger("cobrowse.relay").info("chat text=%s", CANARY)
    assert [line for line in parsed(json_lines) if CANARY in json.dumps(line)]


# ---------------------------------------------------------------- the serve command


def test_serve_takes_log_format_text_by_default_or_json() -> None:
    from cobrowse_cli.cli import parse

    module, args = parse(["serve"])
    assert module.__name__ == "relay.serve" and args.log_format == "text"
    assert parse(["serve", "--log-format", "json"])[1].log_format == "json"
    with pytest.raises(SystemExit) as refused:
        parse(["serve", "--log-format", "xml"])
    assert refused.value.code == 2


def test_python_m_relay_logs_json_lines_uvicorn_included() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "COBROWSE_NODE_ID": "relay-test-1"}
    lines: list[dict[str, Any]] = []
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "relay", "--port", str(port), "--log-format", "json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                raw = process.stderr.readline()
                if not raw:
                    break
                lines.append(json.loads(raw))  # every line is one JSON object
                if "Uvicorn running" in lines[-1]["message"]:
                    break
        finally:
            process.terminate()
            process.wait(timeout=10)
    uvicorn = [line for line in lines if line["logger"].startswith("uvicorn")]
    assert any("Uvicorn running" in line["message"] for line in uvicorn), lines
    assert {line["node"] for line in lines} == {"relay-test-1"}
