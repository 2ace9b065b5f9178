"""ganeti-watcher and ganeti-cleaner on a real 3-node virtual cluster.

The cluster is built as an operator would (vcluster-setup, gnt-cluster init,
gnt-node add over a real sshd per node); instances use the fake hypervisor,
so "killing an instance behind the cluster's back" is removing its state
file on its node. The watcher is run as cron would, through node1's cmd
helper, with --wait-children so that its group children finish first.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import time

import pytest

from support import sshd as sshd_support
from support.instance_cluster import InstanceCluster, RunInstanceCluster

from ganeti import opcodes

TREE = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sshd_support.Available(),
                                reason="OpenSSH sshd is needed to add nodes")


class Cluster(InstanceCluster):
    """The shared instance cluster plus the watcher's programs and files."""

    def Watcher(self, *args: str, node: str = "node1") -> subprocess.CompletedProcess:
        return self.vc.Cmd(["ganeti-watcher", "--wait-children", *args], node=node,
                           timeout=180)

    def WatcherLog(self, node: str = "node1") -> str:
        path = self.vc.Root(node) / "var/log/ganeti/watcher.log"
        return path.read_text() if path.exists() else ""

    def Kill(self, name: str, node: str) -> None:
        (self.vc.Root(node) / "var/run/ganeti/fake-hypervisor" / name).unlink()
        assert self.Status(name) == "ERROR_down"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with RunInstanceCluster(tmp_path_factory.mktemp("watcher"), Cluster) as vc:
        yield vc


_IPS = iter(range(11, 250))


def _Create(cluster, name, pnode, **kwargs):
    params = {"instance_name": name, "mode": "create", "disks": [],
              "disk_template": "diskless", "os_type": "api20+default",
              "nics": [{"ip": f"192.0.2.{next(_IPS)}"}],
              "pnode": pnode, "name_check": False, "ip_check": False}
    params.update(kwargs)
    cluster.Ok(opcodes.OpInstanceCreate(**params))


def test_healthy_cluster_watcher_exits_zero(cluster):
    proc = cluster.Watcher()
    assert proc.returncode == 0, proc.stderr
    groups = list(cluster.vc.Root().glob("var/lib/ganeti/watcher.*.data"))
    assert len(groups) == 1


def test_killed_instance_is_restarted(cluster):
    _Create(cluster, "w1", "node2")
    cluster.Kill("w1", "node2")
    proc = cluster.Watcher()
    assert proc.returncode == 0, proc.stderr
    assert cluster.Status("w1") == "running"
    assert "Restarting instance 'w1' (attempt #1)" in cluster.WatcherLog()
    status = (cluster.vc.Root() / "var/run/ganeti/instance-status").read_text()
    assert "w1 ERROR_down" in status


def test_pause_then_continue(cluster):
    assert cluster.vc.Cmd(["gnt-cluster", "watcher", "pause", "1h"]).returncode == 0
    cluster.Kill("w1", "node2")
    assert cluster.Watcher().returncode == 0
    assert cluster.Status("w1") == "ERROR_down"
    assert cluster.vc.Cmd(["gnt-cluster", "watcher", "continue"]).returncode == 0
    assert cluster.Watcher().returncode == 0
    assert cluster.Status("w1") == "running"


def test_dead_noded_is_restarted(cluster):
    pid = cluster.vc.Pid("ganeti-noded", "node3")
    assert pid
    os.kill(pid, 15)
    deadline = time.time() + 30
    while cluster.vc.Pid("ganeti-noded", "node3") and time.time() < deadline:
        time.sleep(0.2)
    proc = cluster.Watcher(node="node3")
    assert proc.returncode == 0, proc.stderr
    assert cluster.vc.Pid("ganeti-noded", "node3") not in (0, pid)
    assert "Daemon ganeti-noded is not running, starting it" in cluster.WatcherLog(
        "node3")


def test_rebooted_node_gets_disks_reactivated(cluster):
    _Create(cluster, "wf", "node3", disk_template="file", disks=[{"size": 1024}])
    assert cluster.Watcher().returncode == 0  # records the boot ids
    links = cluster.vc.Root("node3") / "var/run/ganeti/instance-disks"
    (link,) = links.iterdir()
    link.unlink()  # /var/run is emptied by a reboot
    (cluster.vc.Root("node3") / "var/run/ganeti/boot_id").write_text("rebooted-1\n")
    assert cluster.Watcher().returncode == 0
    assert [p.name for p in links.iterdir()] == [link.name]
    assert "Activating disks for instance 'wf'" in cluster.WatcherLog()


def test_restart_limit(cluster):
    _Create(cluster, "w2", "node2")
    hvdir = cluster.vc.Root("node2") / "var/run/ganeti/fake-hypervisor"
    cluster.Kill("w2", "node2")
    # A dangling symlink as its state file: the fake hypervisor sees no
    # instance, and cannot start one.
    (hvdir / "w2").symlink_to(hvdir / "nowhere")
    try:
        for _ in range(7):
            assert cluster.Watcher().returncode == 0
    finally:
        (hvdir / "w2").unlink()
    log = cluster.WatcherLog()
    assert log.count("Restarting instance 'w2'") == 5
    assert "Could not restart instance 'w2' after 5 attempts, giving up" in log
    assert "Not restarting instance 'w2', retries exhausted" in log
    (statefile,) = cluster.vc.Root().glob("var/lib/ganeti/watcher.*.data")
    assert json.loads(statefile.read_text())["instance"]["w2"]["restart_count"] == 6
    assert cluster.Status("w2") == "ERROR_down"
    # gnt-cluster verify says so too.
    verify = cluster.vc.Cmd(["gnt-cluster", "verify", "--error-codes"])
    assert verify.returncode != 0
    assert ("EINSTANCEDOWN:instance:w2:the watcher gave up restarting the instance"
            " after 5 attempts") in verify.stdout


def test_old_jobs_archived_and_two_watchers(cluster):
    queue = cluster.vc.QueueDir()
    assert list(queue.glob("job-*"))
    assert cluster.Watcher("--job-age", "1s").returncode == 0
    time.sleep(1.5)
    assert cluster.Watcher("--job-age", "1s").returncode == 0
    assert len(list(queue.glob("job-*"))) <= 2
    env = cluster.vc.Env()
    procs = [subprocess.Popen([str(TREE / "daemons/ganeti-watcher"),
                               "--wait-children"], env=env) for _ in range(2)]
    assert [p.wait(timeout=180) for p in procs] == [0, 0]


def test_cleaner_on_cluster(cluster):
    archive = cluster.vc.QueueDir() / "archive"
    files = sorted(archive.rglob("job-*"))
    assert files
    old = time.time() - 30 * 86400
    os.utime(files[0], (old, old))
    proc = cluster.vc.Cmd(["ganeti-cleaner", "master"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(archive.rglob("job-*")) == files[1:]
