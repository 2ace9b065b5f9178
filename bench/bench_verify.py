#!/usr/bin/env python3
"""gnt-cluster verify and gnt-node list benchmarks on 3 and on 20 nodes.

Builds a real virtual cluster as an operator would (tools/vcluster-setup,
`gnt-cluster init` on node1, then `gnt-node add` over a real OpenSSH sshd
per node, support.sshd), and times `gnt-cluster verify` typed through
node1's cmd helper: the CLI's start-up, the two submitted jobs (config and
group), every node's node_verify checks and the CLI following both jobs, as
wall-clock time of the command. Measured once the cluster has 3 nodes and
again at 20 nodes (median of a few runs each, after one warm-up run).

The NICs are routed and, where this machine lacks /proc/sysrq-trigger,
ENODESETUP is ignored, so that the timed runs verify a healthy cluster (exit
code 0); any other finding aborts the benchmark.

Needs /usr/sbin/sshd (openssh-server). Run as `python3 bench/bench_verify.py`;
bench/run.py calls Run().
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402,F401  (puts the tree and test/ on sys.path)

from support import sshd as sshd_support  # noqa: E402
from support.cluster import MasterCluster  # noqa: E402

SMALL, LARGE = 3, 20
RUNS = 5
# Targets from the issue (upper bounds) for the 20-node cluster.
TARGET_LARGE_S = 3.0
TARGET_NODE_LIST_MS = 300.0
_PROCFS_COMPLETE = (os.path.isdir("/proc/sys")
                    and os.path.isfile("/proc/sysrq-trigger"))
VERIFY = ["gnt-cluster", "verify"] + ([] if _PROCFS_COMPLETE
                                      else ["-I", "ENODESETUP"])


class BenchCluster:
    """The virtual cluster, its sshds and the node additions."""

    def __init__(self, base: pathlib.Path, count: int) -> None:
        self.base = base
        self.vc = MasterCluster.VclusterSetup(base, count=count)
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.servers: list[Any] = []
        self.added = 1

    def Init(self) -> None:
        proc = self.vc.InitWithCli(["-N", "mode=routed,link=main"])
        assert proc.returncode == 0

    def AddNodes(self, upto: int) -> None:
        """Add node<added+1>..node<upto> with gnt-node add over ssh.

        Raises:
          RuntimeError: an addition failed.
        """
        while self.added < upto:
            node = f"node{self.added + 1}"
            env = sshd_support.NodeEnv(self.vc.Root(node), node,
                                       self.base / "hosts")
            server = sshd_support.Sshd(self.base / f"sshd-{node}",
                                       self.vc.ips[node], self.key, node_env=env)
            self.servers.append(server)
            server.Start()
            proc = self.vc.Cmd(["gnt-node", "add", "--no-ssh-key-check",
                                "--node-parameters", f"ssh_port={server.port}",
                                node], timeout=180,
                               GANETI_SSH_KEY_FILE=str(self.key.path))
            if proc.returncode != 0:
                raise RuntimeError(f"gnt-node add {node} failed: {proc.stderr}")
            self.added += 1
        self.vc.RecordDaemons()

    def TimeCommand(self, command: list[str]) -> list[float]:
        """Wall-clock seconds of RUNS runs of a command (after one warm-up).

        Raises:
          RuntimeError: the command failed (for verify: the cluster is not
            healthy).
        """
        durations = []
        for idx in range(RUNS + 1):
            start = time.perf_counter()
            proc = self.vc.Cmd(command, timeout=300)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} exited with"
                                   f" {proc.returncode}:\n{proc.stdout}{proc.stderr}")
            if idx:
                durations.append(elapsed)
        return durations

    def TimeVerify(self) -> list[float]:
        return self.TimeCommand(VERIFY)

    def Stop(self) -> None:
        for server in self.servers:
            server.Stop()
        self.vc.StopAll()


def _Row(count: int, durations: list[float], target: float | None) -> dict:
    row = {"name": f"gnt-cluster verify, {count} nodes (median)",
           "value": statistics.median(durations), "unit": "s",
           "note": (f"whole command via node1/cmd, {len(durations)} runs:"
                    f" min {min(durations):.2f} s, max {max(durations):.2f} s;"
                    " nodes added with gnt-node add over ssh")}
    if target is not None:
        row["target"] = target
    return row


def Run() -> list[dict]:
    """Time verify on 3 nodes, then on 20 (the same cluster, grown)."""
    if not sshd_support.Available():
        raise RuntimeError("OpenSSH sshd is needed to add nodes (openssh-server)")
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        cluster = BenchCluster(pathlib.Path(tmp), LARGE)
        try:
            cluster.Init()
            cluster.AddNodes(SMALL)
            small = cluster.TimeVerify()
            cluster.AddNodes(LARGE)
            large = cluster.TimeVerify()
            node_list = cluster.TimeCommand(["gnt-node", "list"])
        finally:
            cluster.Stop()
    return [_Row(SMALL, small, None), _Row(LARGE, large, TARGET_LARGE_S),
            {"name": f"gnt-node list, {LARGE} nodes (median)",
             "value": statistics.median(node_list) * 1000, "unit": "ms",
             "target": TARGET_NODE_LIST_MS,
             "note": "whole command via node1/cmd, live data from every node"}]


if __name__ == "__main__":
    from run import FormatTable

    print(FormatTable(Run()))
