"""Benchmark: a streamed ~2 MB page through a real relay (``cobrowse serve``) and its renderer.

Usage: .venv/bin/python -m bench.renderer_stream [--mb 2] [--frames 40] [--gap-ms 24]
       [--runs 5]

Plays the tag's part without a browser: the page of ``bench.pages.by_bytes`` is parsed into the
compact node form, sent as a ``dom.snapshot`` with ``loading: true`` (the head and the first
rows) and then ``--frames`` - 1 ``dom.mutations`` appending the other rows (the last one without
``loading``), one every ``--gap-ms`` (the tag's pace in the benchmark: 40 frames over ~950 ms).
An agent socket times the ``replica.*`` messages. Prints, per run and as medians: when the last
frame was sent, when the last replica message arrived, and the gap between the two (the relay
and renderer's share, the figure this script is for). Also checks the replica messages: every
one arrived, in order. The machine is shared and noisy: read medians, interleave before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import pages
from bench.env import BenchRelay, agent_cookie, connect_agent, connect_visitor
from renderer.service import Renderer
from wire.nodes import compact_run, expand

ORIGIN = "http://127.0.0.1:9"


async def stream_messages(mb: float, frames: int) -> list[dict[str, Any]]:
    """The tag's messages for the page, without session and seq (filled in per run)."""
    renderer = Renderer(pages=1)
    try:
        html = pages.by_bytes(int(mb * 1024 * 1024)).replace("__SCRIPTS__", "")
        doc = await renderer.parse_html(html, ORIGIN + "/")
    finally:
        await renderer.close()
    root = expand(doc)
    html_el = next(n for n in root[2] if n[1] == "html")
    body = next(n for n in html_el[3] if n[1] == "body")
    rows = body[3]
    body[3] = []
    sizes = [len(json.dumps(compact_run([r]), separators=(",", ":"))) for r in rows]
    per = sum(sizes) / frames
    chunks: list[list[Any]] = [[]]
    acc = 0.0
    for row, size in zip(rows, sizes, strict=True):
        if acc >= per * len(chunks) and len(chunks) < frames:
            chunks.append([])
        chunks[-1].append(row)
        acc += size
    body[3] = chunks[0]
    messages: list[dict[str, Any]] = [
        {
            "type": "dom.snapshot",
            "url": ORIGIN + "/",
            "title": "bench",
            "viewport": {"w": 1280, "h": 800, "dpr": 1},
            "doc": compact_run([root])[0],
            "loading": True,
        }
    ]
    for k, chunk in enumerate(chunks[1:], 1):
        message: dict[str, Any] = {
            "type": "dom.mutations",
            "removes": [],
            "adds": [{"parent": body[0], "next": None, "nodes": compact_run(chunk)}],
            "attrs": [],
            "texts": [],
        }
        if k < len(chunks) - 1:
            message["loading"] = True
        messages.append(message)
    return messages


async def one_run(
    relay: BenchRelay, cookie: str, messages: list[dict[str, Any]], gap: float
) -> dict[str, float]:
    agent = await connect_agent(relay, cookie)
    visitor = await connect_visitor(relay, ORIGIN)
    try:
        hello = await visitor.wait(lambda m: m["type"] == "hello")
        await visitor.send("chat.send", text="hello")  # stores the conversation
        await agent.wait(
            lambda m: m["type"] == "chat.message" and m["conversation"] == hello["conversation"]
        )
        await agent.send("invite.send", conversation=hello["conversation"], mode="view_only")
        offer = await visitor.wait(lambda m: m["type"] == "invite.offer")
        await visitor.send("invite.accept", invite=offer["invite"])
        started = await visitor.wait(lambda m: m["type"] == "session.started")
        session = started["session"]
        await agent.wait(lambda m: m["type"] == "session.started")
        frames = [
            json.dumps({"v": 1, **m, "session": session, "seq": seq}, separators=(",", ":"))
            for seq, m in enumerate(messages)
        ]
        agent.messages.clear()
        t0 = time.perf_counter() * 1000
        for k, frame in enumerate(frames):
            await asyncio.sleep(max(0.0, (t0 + k * gap - time.perf_counter() * 1000) / 1000))
            await visitor.ws.send(frame)
        sent = time.perf_counter() * 1000 - t0
        last = len(frames) - 1
        try:
            await agent.wait(
                lambda m: m["type"] == "replica.mutations" and m.get("seq") == last, timeout=20
            )
        except TimeoutError:
            seen = [m.get("type") for _, m in visitor.messages][-5:]
            errors = [m for _, m in visitor.messages if m["type"] in ("error", "resync")][:3]
            raise RuntimeError(f"no last replica; visitor saw {seen} {errors}") from None
        done = time.perf_counter() * 1000 - t0
        replicas = [m for _, m in agent.messages if m["type"].startswith("replica.")]
        seqs = [m["seq"] for m in replicas]
        if not seqs or seqs[0] != 0 or seqs != sorted(set(seqs)) or seqs[-1] != last:
            raise RuntimeError(f"replica messages out of order or missing: {seqs[:10]}...")
        if any(m["type"] == "resync" for _, m in visitor.messages):
            raise RuntimeError("the relay asked for a resync")
        await agent.send("session.end", session=session)
        return {"sent_ms": sent, "done_ms": done, "after_ms": done - sent, "replicas": len(seqs)}
    finally:
        await visitor.close()
        await agent.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--gap-ms", type=float, default=24.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    messages = await stream_messages(args.mb, args.frames)
    size = sum(len(json.dumps(m, separators=(",", ":"))) for m in messages)
    print(f"{len(messages)} frames, {size / 1e6:.2f} MB, one every {args.gap_ms} ms")
    with tempfile.TemporaryDirectory() as workdir:
        relay = BenchRelay(Path(workdir), ORIGIN, 1)
        await asyncio.to_thread(relay.start)
        try:
            cookie = agent_cookie(relay, 0)
            await one_run(relay, cookie, messages, args.gap_ms)  # warm-up
            results = []
            for run in range(args.runs):
                r = await one_run(relay, cookie, messages, args.gap_ms)
                results.append(r)
                print(
                    f"run {run + 1}: last frame sent {r['sent_ms']:.0f} ms, last replica "
                    f"{r['done_ms']:.0f} ms, relay+renderer after the tag {r['after_ms']:.0f} ms "
                    f"({r['replicas']:.0f} replica messages)"
                )
        finally:
            relay.stop(allow_tracebacks=True)
    for key in ("sent_ms", "done_ms", "after_ms"):
        print(f"median {key}: {statistics.median(r[key] for r in results):.0f}")


if __name__ == "__main__":
    asyncio.run(main())
