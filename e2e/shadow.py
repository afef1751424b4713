"""Kept for the e2e tests' imports: the closed-shadow driver lives in `cobrowse_qa.shadow`."""

from __future__ import annotations

from cobrowse_qa.shadow import ClosedShadow

__all__ = ["ClosedShadow"]
