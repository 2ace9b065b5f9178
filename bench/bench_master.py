#!/usr/bin/env python3
"""Master daemon benchmark: LUXI, job latency, queue throughput, CLI.

Sets up a one-node virtual cluster in a temporary directory the way an
operator does (tools/vcluster-setup, then `gnt-cluster init` through
node1/cmd; test/support/cluster.py), and measures through a real LUXI
client on the query socket:
- a LUXI round trip (QueryConfigValues, and QueryClusterInfo), ~500 calls;
- one synchronous OP_TEST_DELAY job (0.001 s, no_locks) from submission to
  success as a client sees it: SubmitJob, WaitForJobChangeOnce until
  finalized, QueryJobs for the result (what cli.PollJob does), ~50 jobs;
- the queued-to-running delay of those jobs (start_ts - received_ts, taken
  from the job itself, with the queue otherwise idle);
- throughput: 200 such jobs submitted at once (SubmitManyJobs), from the
  submission until the last end_ts;
- `gnt-debug delay 0.001` as a whole command, process start included.

Real Ganeti 3.0.2 on this kind of machine: 6 jobs/s, 0.47 s for one
synchronous delay job (luxid forks a process per job); printed as notes.

Run as `python3 bench/bench_master.py [--profile]`; bench/run.py calls Run().
With --profile, the job-latency phase runs again with masterd under
cProfile and the top functions are printed (see _ProfileMasterd).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Percentile, Row  # noqa: E402

from support import cluster  # noqa: E402

from ganeti import luxi, opcodes  # noqa: E402

RTT_CALLS = 500
SYNC_JOBS = 50
BURST_JOBS = 200
CLI_RUNS = 10
WARMUP = 20
DELAY = 0.001

# Targets from the issue.
TARGET_SYNC_JOB_MS = 20.0
TARGET_MIN_JOBS_PER_S = 100.0
TARGET_QUEUED_TO_RUNNING_MS = 10.0

GANETI_JOBS_PER_S = 6.0
GANETI_SYNC_JOB_S = 0.47


def _Seconds(timestamp: list[int]) -> float:
    return timestamp[0] + timestamp[1] / 1e6


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


def _DelayOp() -> opcodes.OpTestDelay:
    # The LU refuses a duration <= 0; no_locks keeps the master node free.
    return opcodes.OpTestDelay(duration=DELAY, no_locks=True)


def RunSyncJob(client: luxi.Client) -> int:
    """Submit one delay job and follow it to success as cli.PollJob does.

    Returns:
      the job id.

    Raises:
      RuntimeError: the job did not succeed.
    """
    job_id = client.SubmitJob([_DelayOp()])
    prev = None
    while True:
        result = client.WaitForJobChangeOnce(job_id, ["status"], prev, None)
        if result == luxi.JOB_NOTCHANGED:
            continue
        prev = result[0]
        if prev[0] in cluster.FINALIZED:
            break
    (status, opstatus, opresult), = client.QueryJobs(
        [job_id], ["status", "opstatus", "opresult"])
    if status != "success":
        raise RuntimeError(f"job {job_id} ended {status}: {opstatus} {opresult}")
    return job_id


def _MeasureLuxi(client: luxi.Client) -> list[dict[str, Any]]:
    values = _TimeCalls(lambda: client.QueryConfigValues(["cluster_name"]),
                        RTT_CALLS)
    info = _TimeCalls(client.QueryClusterInfo, RTT_CALLS)
    name = "LUXI round trip, QueryConfigValues"
    return [
        Row(f"{name} p50", Percentile(values, 50), "ms"),
        Row(f"{name} p99", Percentile(values, 99), "ms"),
        Row("LUXI round trip, QueryClusterInfo p50", Percentile(info, 50), "ms"),
        Row("LUXI round trip, QueryClusterInfo p99", Percentile(info, 99), "ms"),
    ]


def _QueuedToRunning(client: luxi.Client, job_ids: list[int]) -> list[float]:
    rows = client.QueryJobs(job_ids, ["received_ts", "start_ts"])
    return [(_Seconds(start) - _Seconds(received)) * 1000
            for received, start in rows]


def _MeasureSyncJobs(client: luxi.Client) -> list[dict[str, Any]]:
    for _ in range(5):
        RunSyncJob(client)
    durations = []
    job_ids = []
    for _ in range(SYNC_JOBS):
        start = time.perf_counter()
        job_ids.append(RunSyncJob(client))
        durations.append((time.perf_counter() - start) * 1000)
    pickup = _QueuedToRunning(client, job_ids)
    name = f"sync OP_TEST_DELAY({DELAY}) submit-to-success"
    note = f"real Ganeti 3.0: {GANETI_SYNC_JOB_S * 1000:.0f} ms"
    return [
        Row(f"{name} p50", Percentile(durations, 50), "ms", TARGET_SYNC_JOB_MS,
             note=note),
        Row(f"{name} p99", Percentile(durations, 99), "ms"),
        Row("queued-to-running (start_ts - received_ts), idle queue p50",
             Percentile(pickup, 50), "ms", TARGET_QUEUED_TO_RUNNING_MS),
        Row("queued-to-running (start_ts - received_ts), idle queue p99",
             Percentile(pickup, 99), "ms"),
    ]


def _WaitFinalized(client: luxi.Client, job_ids: list[int],
                   timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        statuses = [row[0] for row in client.QueryJobs(job_ids, ["status"])]
        if all(status in cluster.FINALIZED for status in statuses):
            if any(status != "success" for status in statuses):
                raise RuntimeError(f"burst jobs failed: {set(statuses)}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"burst of {len(job_ids)} jobs not done in {timeout} s")
        time.sleep(0.05)


def _MeasureBurst(client: luxi.Client) -> list[dict[str, Any]]:
    start = time.time()
    results = client.SubmitManyJobs([[_DelayOp()] for _ in range(BURST_JOBS)])
    submitted = time.time()
    if not all(ok for ok, _ in results):
        raise RuntimeError(f"SubmitManyJobs refused jobs: {results[:3]}")
    job_ids = [job_id for _, job_id in results]
    _WaitFinalized(client, job_ids)
    ends = [_Seconds(row[0]) for row in client.QueryJobs(job_ids, ["end_ts"])]
    elapsed = max(ends) - start
    waits = _QueuedToRunning(client, job_ids)
    return [
        Row(f"throughput, {BURST_JOBS} delay jobs submitted at once",
             BURST_JOBS / elapsed, "jobs/s", min_target=TARGET_MIN_JOBS_PER_S,
             note=f"real Ganeti 3.0: {GANETI_JOBS_PER_S:g} jobs/s"),
        Row(f"SubmitManyJobs of {BURST_JOBS} jobs", (submitted - start) * 1000,
             "ms"),
        Row("queued-to-running in that burst p50", Percentile(waits, 50), "ms",
             note="includes waiting for one of max_running_jobs=20 slots"),
    ]


def _MeasureCli(vc: cluster.MasterCluster) -> list[dict[str, Any]]:
    durations = []
    for _ in range(CLI_RUNS):
        start = time.perf_counter()
        proc = vc.Run(["gnt-debug", "delay", str(DELAY)])
        durations.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            raise RuntimeError(f"gnt-debug delay failed: {proc.stderr}")
    return [Row(f"`gnt-debug delay {DELAY}` command (process start included) p50",
                 Percentile(durations, 50), "ms")]


def Run() -> list[dict[str, Any]]:
    """Set up the cluster, measure, stop every process; return the rows."""
    base = tempfile.mkdtemp(prefix="bench-master-")
    try:
        with cluster.RunningCluster(pathlib.Path(base)) as vc:
            with vc.Client() as client:
                rows = _MeasureLuxi(client)
                rows += _MeasureSyncJobs(client)
                rows += _MeasureBurst(client)
            rows += _MeasureCli(vc)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return rows


_PROFILE_SCRIPT = """
import cProfile, pstats, runpy, signal, sys, threading
profiles = []
_orig_run = threading.Thread.run
def _Run(self):
    prof = cProfile.Profile()
    profiles.append(prof)
    prof.enable()
    try:
        _orig_run(self)
    finally:
        prof.disable()
threading.Thread.run = _Run
main_prof = cProfile.Profile()
profiles.append(main_prof)
stats_file = sys.argv[1]
def _Dump():
    stats = pstats.Stats(main_prof)
    for prof in profiles[1:]:
        try:
            stats.add(prof)
        except TypeError:
            pass
    stats.dump_stats(stats_file)
import atexit
atexit.register(_Dump)
sys.argv = [sys.argv[2], "-f"]
main_prof.enable()
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _DriveProfiledMasterd(vc: cluster.MasterCluster, stats_file: str,
                          jobs: int) -> None:
    """Replace masterd by one under cProfile, run jobs, stop it (dumps)."""
    cluster.KillPid(vc.Pid("ganeti-masterd"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROFILE_SCRIPT, stats_file, cluster.MASTERD],
        env=vc.Env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(vc.Socket()):
            if time.monotonic() > deadline:
                raise RuntimeError("profiled masterd did not start")
            time.sleep(0.05)
        with vc.Client() as client:
            for _ in range(jobs):
                RunSyncJob(client)
    finally:
        proc.terminate()
        proc.wait(60)


def _ProfileMasterd(jobs: int = 200) -> str:
    """Profile masterd (every thread) while it runs sync delay jobs.

    Returns:
      the top of the profile, by cumulative and by own time.
    """
    import io
    import pstats  # only for this diagnostic

    base = tempfile.mkdtemp(prefix="bench-master-prof-")
    stats_file = os.path.join(base, "masterd.prof")
    try:
        with cluster.RunningCluster(pathlib.Path(base)) as vc:
            _DriveProfiledMasterd(vc, stats_file, jobs)
        out = io.StringIO()
        stats = pstats.Stats(stats_file, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return out.getvalue()


def Main(argv: list[str]) -> int:
    import run as bench_run  # bench/run.py: table and verdicts
    rows = Run()
    print(bench_run.FormatTable(rows))
    if "--profile" in argv:
        print(_ProfileMasterd())
    return 1 if bench_run.FailedRows(rows) else 0


if __name__ == "__main__":
    sys.exit(Main(sys.argv))
