#!/usr/bin/env python3
"""Node RPC benchmark: round trip, fan-out and noded memory on real daemons.

Starts a virtual cluster of 20 ganeti-noded processes (test/support/vnodes)
in a temporary directory, with real mutual TLS, and measures:
- one warm `version` round trip to one node (p50/p99 over ~500 calls);
- a warm `node_info` fan-out to all 20 nodes (p50/p99 over ~50 rounds),
  with the runner's thread pool and, for comparison, with a fresh thread
  per node per call;
- noded's resident memory (VmRSS): the largest of the --no-mlock nodes, and
  one node running with mlockall as production noded does.

Run as `python3 bench/bench_rpc.py`; bench/run.py calls Run().
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Percentile, Row  # noqa: E402

from support import vnodes  # noqa: E402

from ganeti import constants  # noqa: E402

N_NODES = 20
RTT_CALLS = 500
FANOUT_ROUNDS = 50
WARMUP = 20
HV_SPECS = [[constants.HT_FAKE, {}]]
MLOCK_NODE = f"node{N_NODES}.{vnodes.DOMAIN}"

# Targets from the issue (upper bounds).
TARGET_RTT_MS = 2.0
TARGET_FANOUT_MS = 50.0
TARGET_RSS_MB = 60.0


def _TimeCalls(fn: Callable[[], Any], count: int) -> list[float]:
    """Run fn count times after a warm-up; return each duration in ms."""
    for _ in range(WARMUP):
        fn()
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def _CheckAll(results: dict[str, Any]) -> None:
    failed = {node: res.fail_msg for node, res in results.items() if res.failed}
    if failed:
        raise RuntimeError(f"RPC failed during the benchmark: {failed}")


def _StatusMiB(pid: int | None, field: str) -> float:
    """A memory field (VmRSS, VmLck) of /proc/<pid>/status in MiB."""
    if pid is None:
        raise RuntimeError("noded is not running")
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"No {field} for process {pid}")


class _ThreadPerCallPool:
    """The alternative design: one new thread per node per call."""

    def Submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()

        def _Run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as err:  # handed to the waiting caller
                future.set_exception(err)

        threading.Thread(target=_Run, daemon=True).start()
        return future

    def Close(self) -> None:
        pass


def _MeasureRpc(cluster: vnodes.VirtualCluster) -> list[dict[str, Any]]:
    runner = cluster.Runner()
    one = cluster.names[0]
    rtt = _TimeCalls(lambda: _CheckAll(runner.call_version([one])), RTT_CALLS)
    fanout = _TimeCalls(lambda: _CheckAll(runner.call_node_info(
        cluster.names, [], HV_SPECS)), FANOUT_ROUNDS)
    per_call = cluster.Runner()
    # Benchmark-only swap of the design (same Submit/Close interface).
    per_call._pool = _ThreadPerCallPool()  # type: ignore[assignment]
    fanout_threads = _TimeCalls(lambda: _CheckAll(per_call.call_node_info(
        cluster.names, [], HV_SPECS)), FANOUT_ROUNDS)
    name_rtt = "RPC round trip, 1 node, warm (version)"
    name_fan = f"fan-out node_info to {N_NODES} nodes (warm)"
    return [
        Row(f"{name_rtt} p50", Percentile(rtt, 50), "ms", TARGET_RTT_MS),
        Row(f"{name_rtt} p99", Percentile(rtt, 99), "ms"),
        Row(f"{name_fan} p50", Percentile(fanout, 50), "ms", TARGET_FANOUT_MS),
        Row(f"{name_fan} p99", Percentile(fanout, 99), "ms"),
        Row(f"{name_fan}, thread per node per call p50",
             Percentile(fanout_threads, 50), "ms",
             note="design comparison, not a target"),
    ]


def _MeasureRss(cluster: vnodes.VirtualCluster) -> list[dict[str, Any]]:
    plain = [node for node in cluster.nodes.values() if not node.mlock]
    locked = cluster.Node(MLOCK_NODE)
    locked_mib = _StatusMiB(locked.pid, "VmLck")
    note = (f"{locked_mib:.1f} MB locked" if locked_mib else
            "mlockall did not take effect (VmLck 0)")
    return [
        Row("noded RSS, max over nodes (--no-mlock)",
             max(_StatusMiB(node.pid, "VmRSS") for node in plain), "MB"),
        Row("noded RSS with mlockall (production)",
             _StatusMiB(locked.pid, "VmRSS"), "MB", TARGET_RSS_MB, note),
    ]


def Run() -> list[dict[str, Any]]:
    """Start the cluster, measure, stop every process; return the rows."""
    base = tempfile.mkdtemp(prefix="bench-rpc-")
    try:
        with vnodes.VirtualCluster(base, N_NODES, mlock_nodes=[MLOCK_NODE]) as cluster:
            rows = _MeasureRpc(cluster)
            rows += _MeasureRss(cluster)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return rows


def Main() -> int:
    from run import FailedRows, FormatTable  # the table all benchmarks share

    rows = Run()
    print(FormatTable(rows))
    return 1 if FailedRows(rows) else 0


if __name__ == "__main__":
    sys.exit(Main())
