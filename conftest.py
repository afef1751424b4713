"""Test-wide settings: every browser the tests open is the one `renderer.chromium` picks."""

from __future__ import annotations

from typing import Any

import pytest

from renderer.chromium import launch_options


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **launch_options()}
