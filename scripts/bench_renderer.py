"""Benchmark: time Renderer.snapshot on a generated ~2 MB DOM snapshot (median of runs).

Usage: .venv/bin/python scripts/bench_renderer.py [--mb 2] [--runs 5]
Prints the snapshot size, node count and the median / min / max wall time of a snapshot and
of a 100-node mutations batch. Numbers go in docs/security.md; tests never assert on time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from typing import Any

from renderer.policy import BrandPolicy
from renderer.service import Renderer


def make_doc(target_bytes: int) -> tuple[list[Any], int]:
    ids = itertools.count(10)
    rows: list[Any] = []
    size = 0
    while size < target_bytes:
        i = next(ids)
        row = [
            i,
            "div",
            {"class": "product card", "data-sku": f"sku-{i}", "style": "margin:4px"},
            [
                [
                    next(ids),
                    "a",
                    {"href": f"https://shop.example/p/{i}", "onclick": "track()"},
                    [[next(ids), "#text", f"Product number {i} with a reasonably long name"]],
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
        size += len(json.dumps(row))
    style = [5, "style", {}, [[6, "#text", "body{font:14px sans-serif} .card{display:block}" * 50]]]
    doc = [1, "#document", [[2, "html", {}, [[3, "head", {}, [style]], [4, "body", {}, rows]]]]]
    return doc, next(ids)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    doc, next_id = make_doc(int(args.mb * 1024 * 1024))
    message = {
        "v": 1,
        "type": "dom.snapshot",
        "session": "bench",
        "seq": 0,
        "url": "https://shop.example/",
        "title": "bench",
        "viewport": {"w": 1280, "h": 800, "dpr": 1},
        "doc": doc,
    }
    size = len(json.dumps(message))
    brand = BrandPolicy(origins=("https://shop.example",), mask_selectors=(".secret",))
    renderer = Renderer()
    await renderer.start()
    try:
        await renderer.snapshot("warmup", message, brand)
        await renderer.drop("warmup")
        snap: list[float] = []
        muts: list[float] = []
        for run in range(args.runs):
            t0 = time.perf_counter()
            await renderer.snapshot(f"bench-{run}", message, brand)
            snap.append(time.perf_counter() - t0)
            adds = [
                {
                    "parent": 4,
                    "next": None,
                    "node": [next_id + run * 1000 + k, "p", {"onclick": "x"}, []],
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
    print(f"snapshot: {size / 1024 / 1024:.2f} MB JSON, {next_id} ids")
    print(
        f"snapshot  median {statistics.median(snap) * 1000:.0f} ms "
        f"(min {min(snap) * 1000:.0f}, max {max(snap) * 1000:.0f}, runs {args.runs})"
    )
    print(f"mutations median {statistics.median(muts) * 1000:.1f} ms (100 adds + 1 mask change)")


if __name__ == "__main__":
    asyncio.run(main())
