#!/usr/bin/env python3
"""Run every benchmark module (bench/bench_*.py) and print one table.

Each module exposes Run() -> list of rows; a row is a dict with the keys
"name", "value" (a number), "unit", and optionally "target" (a number, the
upper bound the value must stay under), "min_target" (a lower bound the
value must exceed, for higher-is-better figures like jobs/s) and "note"
(printed under the table). Figures are measured on
this machine as it is; targets come from the issues.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))
sys.path.insert(0, _HERE)


def _Modules(selected: list[str]) -> list[str]:
    names = sorted(
        f[:-3]
        for f in os.listdir(_HERE)
        if f.startswith("bench_") and f.endswith(".py")
    )
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def Verdict(row: dict) -> str:
    """PASS/FAIL against the row's bounds, or "" if it has none.

    "target" is an upper bound (the value must stay under it), "min_target"
    a lower bound for higher-is-better figures such as jobs/s (the value
    must be above it).
    """
    target = row.get("target")
    min_target = row.get("min_target")
    if target is None and min_target is None:
        return ""
    ok = (target is None or row["value"] < target) and (
        min_target is None or row["value"] > min_target)
    return "PASS" if ok else "FAIL"


def _TargetText(row: dict) -> str:
    bounds = []
    if row.get("min_target") is not None:
        bounds.append(f"> {row['min_target']:g}")
    if row.get("target") is not None:
        bounds.append(f"< {row['target']:g}")
    return ", ".join(bounds) or "-"


def FailedRows(rows: list[dict]) -> list[dict]:
    """The rows whose value misses their target or min_target."""
    return [row for row in rows if Verdict(row) == "FAIL"]


def FormatTable(rows: list[dict]) -> str:
    """The rows as a text table, then each row's note on its own line."""
    header = ("benchmark", "value", "unit", "target", "result")
    table = [header]
    for row in rows:
        table.append(
            (row["name"], f"{row['value']:.2f}", row["unit"], _TargetText(row),
             Verdict(row))
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for idx, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:])
        ]
        lines.append("  ".join(cells).rstrip())
        if idx == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  note: {row['name']}: {row['note']}" for row in rows if row.get("note")]
    return "\n".join(lines + notes)



def Main(argv: list[str]) -> int:
    rows: list[dict] = []
    failed = []
    for name in _Modules(argv[1:]):
        start = time.monotonic()
        module = importlib.import_module(name)
        try:
            rows.extend(module.Run())
        except Exception as err:  # a broken benchmark must not hide the others
            failed.append(f"{name}: {err}")
        print(f"[{name}: {time.monotonic() - start:.1f} s]", file=sys.stderr)
    print(FormatTable(rows))
    for msg in failed:
        print(f"ERROR {msg}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(Main(sys.argv))
