"""Readers that turn real files into the canonical outcome table."""

from __future__ import annotations

from c2c_analysis.io.outcomes import read_outcomes

__all__ = ["read_outcomes"]
