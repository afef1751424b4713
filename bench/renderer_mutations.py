"""Benchmark: mutation batches through the renderer, latency and sustained throughput.

Usage: .venv/bin/python -m bench.renderer_mutations [--batches 600] [--sessions 8]
       [--seconds 10] [--kb 200]

1. Latency: one session on a ~``--kb`` KB page gets ``--batches`` realistic batches one after
   another (each: a product card added, sometimes an earlier one removed, 3 classes toggled,
   3 texts changed; see ``bench.renderer_density.Page.batch``). Reports the time
   ``Renderer.mutations`` adds per batch: median, p99, max.
2. Throughput: ``--sessions`` sessions stream batches as fast as the renderer takes them for
   ``--seconds``. Reports batches per second of wall time and per CPU-second consumed by this
   process and all it started (Playwright's driver, Chromium): "batches per second per core".
The machine is shared: read the medians and p99 of a quiet run, tests never assert on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from bench.renderer_density import BRAND, Page, mutations_message, process_tree
from renderer.service import Renderer


def cpu_seconds() -> float:
    """utime + stime of this process tree, in seconds (children that exited are lost)."""
    ticks = 0
    for pid in process_tree():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=600)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kb", type=int, default=200)
    args = parser.parse_args()
    renderer = Renderer(pages=args.sessions)
    await renderer.start()
    try:
        # 1. latency, one batch at a time
        page = Page(1, args.kb * 1024)
        await renderer.snapshot("lat", {"type": "dom.snapshot", "doc": page.wire()}, BRAND)
        for seq in range(1, 51):  # warm-up
            await renderer.mutations("lat", mutations_message("lat", seq, page.batch()))
        lat: list[float] = []
        for seq in range(51, 51 + args.batches):
            batch = page.batch()
            t0 = time.perf_counter()
            await renderer.mutations("lat", mutations_message("lat", seq, batch))
            lat.append(time.perf_counter() - t0)
        await renderer.drop("lat")
        print(
            f"latency, one session ({args.kb} KB page), {args.batches} batches: "
            f"median {statistics.median(lat) * 1000:.1f} ms, p99 {pct(lat, 0.99) * 1000:.1f} ms, "
            f"max {max(lat) * 1000:.1f} ms"
        )

        # 2. sustained throughput, many sessions at once
        pages = {f"t{i}": Page(100 + i, args.kb * 1024) for i in range(args.sessions)}
        for session, p in pages.items():
            await renderer.snapshot(session, {"type": "dom.snapshot", "doc": p.wire()}, BRAND)
        done = 0
        under_load: list[float] = []
        stop = time.perf_counter() + args.seconds
        cpu0, wall0 = cpu_seconds(), time.perf_counter()

        async def stream(session: str, p: Page) -> None:
            nonlocal done
            seq = 1
            while time.perf_counter() < stop:
                batch = p.batch()
                t0 = time.perf_counter()
                await renderer.mutations(session, mutations_message(session, seq, batch))
                under_load.append(time.perf_counter() - t0)
                seq += 1
                done += 1

        await asyncio.gather(*(stream(s, p) for s, p in pages.items()))
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        print(
            f"sustained, {args.sessions} sessions for {wall:.1f} s: {done} batches, "
            f"{done / wall:.0f} batches/s wall, {cpu:.1f} CPU-s used "
            f"(python+driver+chromium) = {done / cpu:.0f} batches/s per core; "
            f"latency under saturation p50 {statistics.median(under_load) * 1000:.1f} ms, "
            f"p99 {pct(under_load, 0.99) * 1000:.1f} ms"
        )
    finally:
        await renderer.close()


if __name__ == "__main__":
    asyncio.run(main())
