"""Shared helpers of the benchmark modules (bench/bench_*.py).

Importing this module also puts the tree and test/ (for the test support
kits that build virtual clusters) on sys.path.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.dirname(_HERE)
for _path in (TREE, os.path.join(TREE, "test")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def Percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of values (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def Row(name: str, value: float, unit: str, target: float | None = None,
        note: str = "", *, min_target: float | None = None) -> dict[str, Any]:
    """One result row as bench/run.py prints it (target: upper bound,
    min_target: lower bound)."""
    row: dict[str, Any] = {"name": name, "value": value, "unit": unit}
    if target is not None:
        row["target"] = target
    if min_target is not None:
        row["min_target"] = min_target
    if note:
        row["note"] = note
    return row
