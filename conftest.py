"""Test-wide settings: every browser the tests open is the one `renderer.chromium` picks."""

from __future__ import annotations

from typing import Any

import pytest

from renderer.chromium import launch_options


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **launch_options()}


@pytest.fixture(scope="session")
def base_url() -> str | None:
    # pytest-playwright's own fallback fixture is an instance method, which pytest 9
    # deprecates (an error under filterwarnings=error); our tests use absolute URLs.
    return None
