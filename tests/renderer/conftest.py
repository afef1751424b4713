"""Fixtures for the renderer tests: one event loop and one Renderer (one Chromium) per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from renderer_harness import Loop

from renderer.service import Renderer


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    runner = Loop()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def renderer(loop: Loop) -> Iterator[Renderer]:
    r = Renderer(pages=2, timeout=5.0)
    loop.run(r.start())
    yield r
    loop.run(r.close())
