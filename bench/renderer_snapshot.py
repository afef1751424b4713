"""Benchmark: Renderer.snapshot on a generated ~2 MB DOM snapshot, and one mutations batch.

Usage: .venv/bin/python -m bench.renderer_snapshot [--mb 2] [--runs 11] [--varied]

Prints the snapshot size (the wire's compact node form), node count, the median / min / max
wall time of ``snapshot`` (the whole call: encoding, the page's work, decoding) with where the
median run's time went, and the median time of a 100-node mutations batch. ``--ids N`` sizes
the page by node count instead (to compare with figures taken before the compact form, when
the 2 MB page was the explicit form's 2 MB: 35317 ids). ``--varied`` fills text and attribute values
with random words so the snapshot compresses like a real page rather than a repeated card.
The machine is shared and noisy: read medians, not single runs. Figures go in the README and
docs/security.md; tests never assert on time. Sustained mutation throughput:
``bench/renderer_mutations.py``; memory per session: ``bench/renderer_density.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
from typing import Any

from renderer import service
from renderer.policy import BrandPolicy
from renderer.service import Renderer
from wire.nodes import compact, compact_run

WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate"
).split()


def make_doc(
    target_bytes: int, varied: bool = False, seed: int = 1, max_ids: int | None = None
) -> tuple[list[Any], int]:
    """A #document of product cards (each with a script, handlers and an input) of about
    ``target_bytes`` of JSON in the compact form (or of about ``max_ids`` ids); returns it, in
    the compact form, and the next free node id."""
    rnd = random.Random(seed)  # noqa: S311 - page text, not secrets
    ids = itertools.count(10)
    rows: list[Any] = []
    size = 0

    def text(i: int) -> str:
        if not varied:
            return f"Product number {i} with a reasonably long name"
        return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 12))) + f" {i}"

    def cls() -> str:
        if not varied:
            return "product card"
        return f"card c-{rnd.randrange(16**6):06x} {rnd.choice(WORDS)}"

    next_free = 10
    while size < target_bytes if max_ids is None else next_free < max_ids:
        i = next(ids)
        row = [
            i,
            "div",
            {"class": cls(), "data-sku": f"sku-{i}", "style": "margin:4px"},
            [
                [
                    next(ids),
                    "a",
                    {"href": f"https://shop.example/p/{i}", "onclick": "track()"},
                    [[next(ids), "#text", text(i)]],
                ],
                [
                    next(ids),
                    "img",
                    {"src": f"https://shop.example/img/{i}.jpg", "alt": "photo", "onerror": "x()"},
                    [],
                ],
                [next(ids), "span", {"class": "price"}, [[next(ids), "#text", "$19.99"]]],
                [next(ids), "script", {}, [[next(ids), "#text", "alert(1)"]]],
                [next(ids), "input", {"type": "text", ":value": "qty", "name": f"q{i}"}, []],
            ],
        ]
        rows.append(row)
        size += len(json.dumps(compact(row), separators=(",", ":"))) + 1
        next_free = row[3][-1][0] + 1
    style = [5, "style", {}, [[6, "#text", "body{font:14px sans-serif} .card{display:block}" * 50]]]
    doc = [1, "#document", [[2, "html", {}, [[3, "head", {}, [style]], [4, "body", {}, rows]]]]]
    return compact(doc), next(ids)


def snapshot_message(session: str, doc: list[Any]) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "dom.snapshot",
        "session": session,
        "seq": 0,
        "url": "https://shop.example/",
        "title": "bench",
        "viewport": {"w": 1280, "h": 800, "dpr": 1},
        "doc": doc,
    }


class _Phases:
    """Wraps service._encode / service._decode to time the Python side of each call."""

    def __init__(self) -> None:
        self.encode = 0.0
        self.decode = 0.0
        enc, dec = service._encode, service._decode

        def timed_encode(value: Any) -> str:
            t0 = time.perf_counter()
            try:
                return enc(value)
            finally:
                self.encode += time.perf_counter() - t0

        def timed_decode(raw: str) -> Any:
            t0 = time.perf_counter()
            try:
                return dec(raw)
            finally:
                self.decode += time.perf_counter() - t0

        service._encode = timed_encode  # type: ignore[assignment]
        service._decode = timed_decode  # type: ignore[assignment]

    def reset(self) -> None:
        self.encode = self.decode = 0.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--varied", action="store_true", help="random words: compresses less")
    parser.add_argument("--ids", type=int, default=None, help="size the page by node count")
    args = parser.parse_args()
    doc, next_id = make_doc(int(args.mb * 1024 * 1024), args.varied, max_ids=args.ids)
    message = snapshot_message("bench", doc)
    size = len(json.dumps(message, separators=(",", ":")))
    wire = len(service._encode({"doc": doc}))
    brand = BrandPolicy(origins=("https://shop.example",), mask_selectors=(".secret",))
    phases = _Phases()
    renderer = Renderer()
    await renderer.start()
    try:
        for w in range(2):  # JIT and page warm-up
            await renderer.snapshot(f"warmup{w}", message, brand)
            await renderer.drop(f"warmup{w}")
        runs: list[tuple[float, float, float]] = []
        muts: list[float] = []
        for run in range(args.runs):
            phases.reset()
            t0 = time.perf_counter()
            await renderer.snapshot(f"bench-{run}", message, brand)
            runs.append((time.perf_counter() - t0, phases.encode, phases.decode))
            adds = [
                {
                    "parent": 4,
                    "next": None,
                    "nodes": compact_run([[next_id + run * 1000 + k, "p", {"onclick": "x"}, []]]),
                }
                for k in range(100)
            ]
            t0 = time.perf_counter()
            await renderer.mutations(
                f"bench-{run}",
                {
                    "v": 1,
                    "type": "dom.mutations",
                    "session": f"bench-{run}",
                    "seq": 1,
                    "removes": [],
                    "adds": adds,
                    "attrs": [[10, "class", "secret"]],
                    "texts": [],
                },
            )
            muts.append(time.perf_counter() - t0)
            await renderer.drop(f"bench-{run}")
    finally:
        await renderer.close()
    snap = sorted(r[0] for r in runs)
    median_run = sorted(runs)[len(runs) // 2]
    total, enc, dec = median_run
    print(
        f"snapshot: {size / 1024 / 1024:.2f} MB JSON, {next_id} ids, "
        f"{wire / 1024:.0f} KB to the page{' (varied text)' if args.varied else ''}"
    )
    print(
        f"snapshot  median {statistics.median(snap) * 1000:.0f} ms "
        f"(min {snap[0] * 1000:.0f}, max {snap[-1] * 1000:.0f}, runs {args.runs}); "
        f"median run: encode {enc * 1000:.0f} + page {(total - enc - dec) * 1000:.0f} "
        f"+ decode {dec * 1000:.0f} ms"
    )
    print(f"mutations median {statistics.median(muts) * 1000:.1f} ms (100 adds + 1 mask change)")


if __name__ == "__main__":
    asyncio.run(main())
