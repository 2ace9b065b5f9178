#!/usr/bin/env python3
"""Instance benchmarks on a real 3-node virtual cluster (fake hypervisor).

The cluster is built as test/integration/test_instances_fake.py builds it
(vcluster-setup, `gnt-cluster init` on node1, node2/node3 added with
`gnt-node add` over a real sshd per node, the test OS definitions of
test/data/os through GANETI_OS_SEARCH_PATH). Measured through a LUXI
client on the master socket, each job followed to success as cli.PollJob
does:
- fake diskless instance creation, submit to success, p50/p99;
- 200 creations submitted at once as separate jobs (instances/s);
- startup, shutdown and reboot latency p50;
- the LUXI Query of `gnt-instance list`'s default fields, and
  `gnt-instance list` with 1000 instances, as a whole command through
  node1's cmd helper (process start included), p50.
And at driver level, as test/integration/test_kvm.py does (TCG guest of
ganeti.tools.guest_kit, two run directories on this machine as two nodes):
- kvm start, StartInstance to "running" in QMP, median of 3;
- kvm live migration of a booted 128 MB guest, migrate to "completed",
  median of 3 (node1 -> node2 -> node1 -> node2).
The kvm rows are left out when qemu or the guest kit is not available.
Every qemu started is killed by pid, also on failure.

Run as `python3 bench/bench_instances.py`; bench/run.py calls Run().
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import TREE as _TREE, Percentile, Row  # noqa: E402

from support.cluster import FINALIZED, WaitJob  # noqa: E402
from support.instance_cluster import OS_DIR  # noqa: E402
from support.instance_cluster import InstanceCluster as Cluster  # noqa: E402

from ganeti import defaults, errors, luxi, objects, opcodes  # noqa: E402
from ganeti.tools import guest_kit  # noqa: E402

CREATES = 40
BURST = 200
OPS = 20
LIST_SIZE = 1000
LIST_RUNS = 5
TARGET_CREATE_MS = 100.0
TARGET_OP_MS = 100.0
TARGET_LIST_MS = 200.0


def _Timed(client: luxi.Client, op: opcodes.OpCode) -> float:
    """Run one job to success; return its duration in ms.

    Raises:
      RuntimeError: the job did not succeed.
    """
    start = time.perf_counter()
    job_id = client.SubmitJob([op])
    status = WaitJob(client, job_id, timeout=60)
    elapsed = (time.perf_counter() - start) * 1000
    if status != "success":
        raise RuntimeError(f"job {job_id} ({op.OP_ID}) ended {status}:"
                           f" {client.QueryJobs([job_id], ['opresult'])}")
    return elapsed


_IPS = iter(f"10.{a}.{b}.{c}" for a in range(1, 200) for b in range(256)
            for c in range(1, 255))


def _Create(vc: Cluster, name: str) -> opcodes.OpCode:
    """A diskless fake creation with a cluster-unique IP, nodes in turn."""
    return vc.CreateOp(name, pnode=f"node{1 + hash(name) % 3}",
                       nics=[{"ip": next(_IPS)}])


def _MeasureCreate(vc: Cluster, client: luxi.Client) -> list[dict[str, Any]]:
    for idx in range(3):
        _Timed(client, _Create(vc, f"warm{idx}"))
    times = [_Timed(client, _Create(vc, f"lat{idx}")) for idx in range(CREATES)]
    name = "fake diskless instance create, submit to success"
    return [Row(f"{name} p50", Percentile(times, 50), "ms", TARGET_CREATE_MS,
                 note="3 nodes, LUXI, job followed as cli.PollJob does"),
            Row(f"{name} p99", Percentile(times, 99), "ms")]


def _MeasureOps(client: luxi.Client) -> list[dict[str, Any]]:
    rows = []
    ops = [("shutdown", lambda n: opcodes.OpInstanceShutdown(instance_name=n)),
           ("startup", lambda n: opcodes.OpInstanceStartup(instance_name=n)),
           ("reboot", lambda n: opcodes.OpInstanceReboot(instance_name=n,
                                                         reboot_type="hard"))]
    names = [f"lat{idx % CREATES}" for idx in range(OPS)]
    for what, make in ops:
        times = [_Timed(client, make(name)) for name in names]
        rows.append(Row(f"instance {what} latency p50", Percentile(times, 50),
                         "ms", TARGET_OP_MS))
    return rows


def _Burst(vc: Cluster, client: luxi.Client, prefix: str, count: int,
           small: bool = False) -> float:
    """Create count instances in parallel jobs; return the seconds taken.

    Args:
      small: create them stopped (1000 running instances of the policy's
        minimum 128 MiB do not fit in the fake nodes' memory).
    """
    start = time.perf_counter()
    ops = [_Create(vc, f"{prefix}{idx}") for idx in range(count)]
    if small:
        for op in ops:
            op.start = False
    results = client.SubmitManyJobs([[op] for op in ops])
    job_ids = [job_id for ok, job_id in results if ok]
    if len(job_ids) != count:
        raise RuntimeError(f"SubmitManyJobs refused jobs: {results[:3]}")
    deadline = time.monotonic() + 300
    while True:
        statuses = [row[0] for row in client.QueryJobs(job_ids, ["status"])]
        if all(status in FINALIZED for status in statuses):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} creations not done in 300 s")
        time.sleep(0.1)
    failed = [job_id for job_id, status in zip(job_ids, statuses)
              if status != "success"]
    if failed:
        detail = client.QueryJobs(failed[:1], ["opresult"])
        raise RuntimeError(f"{len(failed)} creations failed, first: {detail}")
    return time.perf_counter() - start


def _ByteCompile() -> None:
    """Byte-compile the tree's ganeti package, as an installed package is.

    The environment may set PYTHONDONTWRITEBYTECODE, so a module edited since
    its .pyc was written would be compiled anew by every command run.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    os.path.join(_TREE, "ganeti")], check=True,
                   stdout=subprocess.DEVNULL)


def _MeasureList(vc: Cluster, client: luxi.Client, have: int
                 ) -> list[dict[str, Any]]:
    while have < LIST_SIZE:
        count = min(BURST, LIST_SIZE - have)
        _Burst(vc, client, f"fill{have}-", count, small=True)  # stopped: see _Burst
        have += count
    fields = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]
    query_times = []
    for _ in range(LIST_RUNS * 2):
        start = time.perf_counter()
        client.Query("instance", fields, None)
        query_times.append((time.perf_counter() - start) * 1000)
    _ByteCompile()
    times = []
    for idx in range(LIST_RUNS + 1):
        start = time.perf_counter()
        proc = vc.vc.Cmd(["gnt-instance", "list"], timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"gnt-instance list failed: {proc.stderr}")
        if idx:
            times.append((time.perf_counter() - start) * 1000)
    lines = len(proc.stdout.splitlines())
    return [Row(f"LUXI Query(instance, default list fields), {LIST_SIZE} instances"
                 " p50", statistics.median(query_times), "ms",
                 note="live data from all_instances_info of 3 nodes"),
            Row(f"`gnt-instance list`, {LIST_SIZE} instances (whole command) p50",
                 statistics.median(times), "ms", TARGET_LIST_MS,
                 note=f"{lines} lines, byte-compiled tree; real Ganeti 3.0:"
                      " 224 ms for 200 instances")]


KVM_RUNS = 3
KVM_BOOT_TIMEOUT = 60
KVM_CACHE_DIR = os.environ.get("GANETI_TEST_CACHE", "/tmp/ganeti-test-cache")


def _FreePort() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _KvmNodes:
    """Two run directories as two nodes, and every qemu started there."""

    def __init__(self, base: str, kit: tuple[str, str]) -> None:
        from ganeti.hypervisor.hv_kvm import KVMHypervisor

        self.node1 = KVMHypervisor(run_dir=os.path.join(base, "node1/var/run/ganeti"))
        self.node2 = KVMHypervisor(run_dir=os.path.join(base, "node2/var/run/ganeti"))
        self.kit = kit

    def Instance(self, name: str) -> objects.Instance:
        hvp = dict(defaults.HVC_DEFAULTS["kvm"])
        hvp.update(guest_kit.GuestHvparams(*self.kit))
        hvp["migration_port"] = _FreePort()
        hvp["migration_bandwidth"] = 1000
        return objects.Instance(
            name=name, uuid="0c8a2b7e-51d4-4e0a-9c1b-3f6d2e8a9b10", hvparams=hvp,
            beparams={"maxmem": 128, "minmem": 128, "vcpus": 1}, nics=[],
            network_port=_FreePort())

    def KillAll(self) -> None:
        """SIGKILL every qemu whose pid file is in our run directories."""
        from ganeti.hypervisor.hv_kvm import runtime

        for hv in (self.node1, self.node2):
            for name in hv.paths.ListPidFiles():
                pid, info = runtime.InstancePidInfo(hv.paths, name)
                if info is not None:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)


def _QmpStatus(hv: Any, name: str) -> str:
    from ganeti.hypervisor.hv_kvm import qmp

    return qmp.RunQmpCommand(hv.paths.QmpSocket(name), "query-status")["status"]


def _KvmStart(nodes: _KvmNodes) -> float:
    """Seconds from StartInstance to "running" in QMP, median of KVM_RUNS."""
    times = []
    for idx in range(KVM_RUNS):
        inst = nodes.Instance(f"start{idx}.example.com")
        start = time.perf_counter()
        nodes.node1.StartInstance(inst, [], False)
        deadline = time.monotonic() + 30
        while _QmpStatus(nodes.node1, inst.name) != "running":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{inst.name} not running in QMP after 30 s")
            time.sleep(0.01)
        times.append(time.perf_counter() - start)
        nodes.node1.StopInstance(inst, force=True)
        nodes.node1.CleanupInstance(inst.name)
    return statistics.median(times)


def _KvmMigrateOnce(src: Any, dst: Any, inst: objects.Instance) -> float:
    """Live-migrate inst from src to dst; seconds from migrate to completed."""
    inst.hvparams["migration_port"] = _FreePort()
    info = src.MigrationInfo(inst)
    dst.AcceptInstance(inst, info, "127.0.0.1")
    start = time.perf_counter()
    src.MigrateInstance("cluster.example.com", inst, "127.0.0.1", True)
    deadline = time.monotonic() + 30
    while (status := src.GetMigrationStatus(inst)).status == "active":
        if time.monotonic() > deadline:
            raise RuntimeError("live migration not finished in 30 s")
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if status.status != "completed":
        raise RuntimeError(f"live migration ended {status.status}")
    dst.FinalizeMigrationDst(inst, info, True)
    src.FinalizeMigrationSource(inst, True, True)
    return elapsed


def _KvmMigrate(nodes: _KvmNodes) -> float:
    """A booted guest migrated node1 -> node2 -> node1 -> ...; median seconds."""
    inst = nodes.Instance("migrate.example.com")
    nodes.node1.StartInstance(inst, [], False)
    with guest_kit.SerialConsole(nodes.node1.paths.SerialSocket(inst.name)) as cons:
        cons.WaitFor(guest_kit.MARKER, KVM_BOOT_TIMEOUT)
    hops = [(nodes.node1, nodes.node2), (nodes.node2, nodes.node1)]
    times = [_KvmMigrateOnce(*hops[idx % 2], inst) for idx in range(KVM_RUNS)]
    last = hops[(KVM_RUNS - 1) % 2][1]
    last.StopInstance(inst, force=True)
    last.CleanupInstance(inst.name)
    return statistics.median(times)


def _MeasureKvm() -> list[dict[str, Any]]:
    """The kvm rows; none when qemu or the guest kit is not available."""
    if guest_kit.FindQemu() is None:
        return []
    try:
        kit = guest_kit.BuildGuestKit(KVM_CACHE_DIR)
    except errors.HypervisorError:
        return []
    with tempfile.TemporaryDirectory(prefix="bench-kvm-") as tmp:
        nodes = _KvmNodes(tmp, kit)
        try:
            started = _KvmStart(nodes)
            migrated = _KvmMigrate(nodes)
        finally:
            nodes.KillAll()
    note = "TCG, driver level as test_kvm.py, median of 3"
    return [Row("kvm start (StartInstance to running in QMP)", started, "s",
                 note=note),
            Row("kvm live migration, 128 MB guest (migrate to completed)",
                 migrated, "s",
                 note=f"{note}; booted guest, bandwidth 1000 MiB/s, same machine")]


def Run() -> list[dict[str, Any]]:
    """Build the cluster, measure, stop every process; return the rows."""
    old = os.environ.get("GANETI_OS_SEARCH_PATH")
    os.environ["GANETI_OS_SEARCH_PATH"] = str(OS_DIR)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-inst-") as tmp:
            vc = Cluster(pathlib.Path(tmp))
            try:
                vc.Start()
                with vc.Client() as client:
                    rows = _MeasureCreate(vc, client)
                    rows += _MeasureOps(client)
                    elapsed = _Burst(vc, client, "burst", BURST)
                    rows.append(Row(
                        f"throughput, {BURST} fake diskless creates in parallel jobs",
                        BURST / elapsed, "instances/s",
                        note="real Ganeti 3.0: 1.0 s per create"))
                    rows += _MeasureList(vc, client, 3 + CREATES + BURST)
            finally:
                vc.Stop()
    finally:
        if old is None:
            os.environ.pop("GANETI_OS_SEARCH_PATH", None)
        else:
            os.environ["GANETI_OS_SEARCH_PATH"] = old
    rows += _MeasureKvm()
    return rows


if __name__ == "__main__" and sys.argv[1:] == ["kvm"]:
    from run import FormatTable

    print(FormatTable(_MeasureKvm()))
elif __name__ == "__main__":
    from run import FormatTable

    print(FormatTable(Run()))
