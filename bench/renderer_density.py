"""Benchmark: how many concurrent sessions one renderer holds, and what each costs in memory.

Usage: .venv/bin/python -m bench.renderer_density [--sessions 500] [--pages 8]
       [--min-kb 100] [--max-kb 300] [--batches 5] [--crash]

Opens ``--sessions`` sessions on one Renderer, each with its own generated DOM snapshot of
``--min-kb``..``--max-kb`` of JSON (random words, so no two are alike), then sends each
session ``--batches`` realistic mutation batches (a subtree added, classes toggled, texts
changed, an earlier subtree removed). It then reports the memory of this Python process plus
every process it started (Playwright's driver, every Chromium process), as the sum of RSS and
the sum of PSS (RSS with each shared page divided among the processes sharing it: the honest
total for many Chromium processes that share code), against the same figure taken with the
browser running but no session open. Linux only (reads /proc).

``--crash`` then crashes one renderer page (``chrome://crash``) and counts which sessions
still take a mutations batch: the sessions of that page must need a resync (RendererError),
every other session must carry on. That is the isolation the pool keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from renderer.policy import BrandPolicy
from renderer.service import Renderer, RendererError
from wire.nodes import compact, compact_run

WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate"
).split()
BRAND = BrandPolicy(origins=("https://shop.example",), mask_selectors=(".secret",))


class Page:
    """One visitor page: its node tree as the tag would send it (``wire()``: the compact form;
    ``doc`` is built in the explicit form), and a mutation generator."""

    def __init__(self, seed: int, target_bytes: int) -> None:
        self.rnd = random.Random(seed)  # noqa: S311 - page text, not secrets
        self.next_id = 10
        self.size = 0
        self.containers: list[int] = []
        self.texts: list[int] = []
        self.elements: list[int] = []
        self.added: list[int] = []
        body: list[Any] = []
        while self.size < target_bytes:
            body.append(self.section())
        head = [
            [5, "title", {}, [[6, "#text", "Shop"]]],
            [7, "style", {}, [[8, "#text", ".card{margin:4px} .price{font-weight:bold}" * 20]]],
            [9, "script", {"src": "https://shop.example/app.js"}, []],
        ]
        self.doc = [
            1,
            "#document",
            [[2, "#doctype", "html"], [3, "html", {"lang": "en"}, [[4, "head", {}, head]]]],
        ]
        self.body_id = self.new_id()
        self.doc[2][1][3].append([self.body_id, "body", {"class": "page"}, body])

    def wire(self) -> Any:
        """The document as a ``dom.snapshot`` carries it."""
        return compact(self.doc)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.rnd.choice(WORDS) for _ in range(self.rnd.randint(lo, hi)))

    def card(self, track: bool = True) -> list[Any]:
        ids = [self.new_id() for _ in range(9)]
        if track:  # cards added by batches may be removed again: never target them
            self.texts += [ids[2], ids[5]]
            self.elements += [ids[0], ids[3]]
        node = [
            ids[0],
            "div",
            {"class": f"card c{self.rnd.randrange(999)}", "data-sku": str(ids[0])},
            [
                [
                    ids[1],
                    "a",
                    {"href": f"https://shop.example/p/{ids[0]}", "onclick": "track(this)"},
                    [[ids[2], "#text", self.words(3, 10)]],
                ],
                [
                    ids[3],
                    "img",
                    {"src": f"https://shop.example/i/{ids[0]}.jpg", "alt": self.words(1, 4)},
                    [],
                ],
                [ids[4], "span", {"class": "price"}, [[ids[5], "#text", "$19.99"]]],
                [ids[6], "input", {"type": "number", "name": f"q{ids[0]}", ":value": "1"}, []],
                [ids[7], "p", {}, [[ids[8], "#text", self.words(8, 30)]]],
            ],
        ]
        # Sized as before the compact form (pages stay comparable with earlier figures).
        self.size += len(str(node))
        return node

    def section(self) -> list[Any]:
        sid = self.new_id()
        self.containers.append(sid)
        return [sid, "section", {"class": "row"}, [self.card() for _ in range(8)]]

    def batch(self) -> dict[str, list[Any]]:
        """One realistic batch: add a small subtree, remove an earlier one, toggle classes,
        change texts (a mix seen on shop pages: a cart popup, a price ticker, hover classes)."""
        adds: list[dict[str, Any]] = []
        removes: list[int] = []
        if self.added and self.rnd.random() < 0.5:
            removes.append(self.added.pop(0))
        parent = self.rnd.choice(self.containers)
        card = self.card(track=False)
        self.added.append(card[0])
        adds.append({"parent": parent, "next": None, "nodes": compact_run([card])})
        attrs = [
            [el, "class", f"card hover{self.rnd.randrange(3)}"]
            for el in self.rnd.sample(self.elements[:200], 3)
        ]
        texts = [[t, f"${self.rnd.randrange(1, 999)}.99"] for t in self.rnd.sample(self.texts, 3)]
        return {"removes": removes, "adds": adds, "attrs": attrs, "texts": texts}


def process_tree() -> list[int]:
    """This process and all its descendants (Playwright's driver, Chromium and its children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [os.getpid()], [os.getpid()]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        tree += kids
        frontier += kids
    return tree


def memory_mb() -> tuple[float, float, int]:
    """(sum of RSS, sum of PSS) in MB over the process tree, and the number of processes."""
    rss = pss = 0
    pids = process_tree()
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024, len(pids)


def mutations_message(session: str, seq: int, batch: dict[str, list[Any]]) -> dict[str, Any]:
    return {"v": 1, "type": "dom.mutations", "session": session, "seq": seq, **batch}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--min-kb", type=int, default=100)
    parser.add_argument("--max-kb", type=int, default=300)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--crash", action="store_true")
    args = parser.parse_args()

    renderer = Renderer(pages=args.pages)
    await renderer.start()
    # Baseline: the browser(s) running, one page open, no session.
    await renderer.snapshot("baseline", {"type": "dom.snapshot", "doc": Page(0, 1).wire()}, BRAND)
    await renderer.drop("baseline")
    await asyncio.sleep(1)
    base_rss, base_pss, base_n = memory_mb()

    pages: dict[str, Page] = {}
    snap_times: list[float] = []
    batch_times: list[float] = []
    total_json = 0
    sem = asyncio.Semaphore(args.concurrency)
    rnd = random.Random(42)  # noqa: S311 - page sizes
    t_start = time.perf_counter()

    async def open_session(i: int) -> None:
        nonlocal total_json
        session = f"s{i}"
        async with sem:
            page = Page(i + 1, rnd.randint(args.min_kb, args.max_kb) * 1024)
            total_json += page.size
            message = {"v": 1, "type": "dom.snapshot", "session": session, "seq": 0}
            t0 = time.perf_counter()
            await renderer.snapshot(session, {**message, "doc": page.wire()}, BRAND)
            snap_times.append(time.perf_counter() - t0)
            for seq in range(1, args.batches + 1):
                t0 = time.perf_counter()
                await renderer.mutations(session, mutations_message(session, seq, page.batch()))
                batch_times.append(time.perf_counter() - t0)
            page.doc = []  # the visitor's copy is not the renderer's memory
            pages[session] = page

    await asyncio.gather(*(open_session(i) for i in range(args.sessions)))
    elapsed = time.perf_counter() - t_start
    await asyncio.sleep(1)
    rss, pss, n = memory_mb()
    per_page = renderer.sessions_per_page()
    print(
        f"{args.sessions} sessions, {total_json / args.sessions / 1024:.0f} KB JSON per snapshot "
        f"on average ({args.min_kb}-{args.max_kb} KB), {args.batches} batches each, "
        f"opened in {elapsed:.0f} s"
    )
    print(f"pool: one browser, {len(per_page)} pages, sessions per page {per_page}")
    print(
        f"baseline (no session): RSS {base_rss:.0f} MB, PSS {base_pss:.0f} MB, {base_n} processes"
    )
    print(f"with sessions:         RSS {rss:.0f} MB, PSS {pss:.0f} MB, {n} processes")
    print(
        f"per session: {pss / args.sessions:.1f} MB PSS all-in "
        f"({(pss - base_pss) / args.sessions:.1f} MB above the baseline); "
        f"RSS sum {rss / args.sessions:.1f} MB"
    )
    print(
        f"snapshot median {statistics.median(snap_times) * 1000:.0f} ms, "
        f"batch median {statistics.median(batch_times) * 1000:.1f} ms "
        f"(concurrency {args.concurrency})"
    )

    if args.crash:
        victim = renderer.page_of("s0")
        assert victim is not None
        doomed = {s for s in pages if renderer.page_of(s) is victim}
        try:
            await victim.goto("chrome://crash", timeout=3000)
        except Exception:  # noqa: S110 - the crash is the point; goto into it fails
            pass
        resync, alive = set(), set()

        async def probe(session: str) -> None:
            page = pages[session]
            try:
                await renderer.mutations(
                    session, mutations_message(session, args.batches + 1, page.batch())
                )
                alive.add(session)
            except RendererError:
                resync.add(session)

        await asyncio.gather(*(probe(s) for s in pages))
        print(
            f"crash of one page: {len(resync)} sessions need a resync "
            f"(that page held {len(doomed)}), {len(alive)} carry on; "
            f"exactly that page's sessions: {resync == doomed}"
        )
        # The sessions that lost their page start over on a fresh one.
        again = sorted(resync)[:3]
        for session in again:
            await renderer.snapshot(
                session, {"type": "dom.snapshot", "doc": Page(7, 50_000).wire()}, BRAND
            )
        print(f"resynced {len(again)} of them on a fresh page: ok")
    await renderer.close()


if __name__ == "__main__":
    asyncio.run(main())
