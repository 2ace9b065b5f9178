"""The master daemon on a one-node virtual cluster made by InitCluster.

Real processes throughout: gnt-cluster init's InitCluster starts noded (TLS
on a loopback address and a free port, GANETI_NODED_PORT) and masterd; jobs
go through LUXI; masterd is killed with SIGKILL and restarted; a second
virtual node that wrongly believes it is the master is refused by the vote.
Every process started is stopped by its pid at the end.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("ganeti.jqueue")
pytest.importorskip("ganeti.mcpu")

from ganeti import luxi, opcodes  # noqa: E402
from ganeti.utils import process  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MASTERD = os.path.join(TOP, "daemons", "ganeti-masterd")
NODE1 = "node1.example.com"
NODE2 = "node2.example.com"
CLUSTER = "cluster.example.com"
FINALIZED = ("success", "error", "canceled")

_INIT = """
from ganeti import bootstrap
bootstrap.InitCluster(
    cluster_name="cluster.example.com", mac_prefix="aa:00:00",
    master_netmask=None, master_netdev="lo", file_storage_dir=None,
    shared_file_storage_dir=None, gluster_storage_dir=None,
    candidate_pool_size=10, enabled_hypervisors=["fake"],
    enabled_disk_templates=["diskless", "file"], modify_ssh_setup=False,
    modify_etc_hosts=False)
"""


def _FreePort(address):
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _WaitGone(pid, timeout=15.0):
    deadline = time.monotonic() + timeout
    while process.IsProcessAlive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class _Cluster:
    """The virtual cluster's directories, environments and processes."""

    def __init__(self, base):
        # An address block of its own, away from test/support/vnodes.py's.
        block = 150 + os.getpid() % 100
        self.base = base
        self.ips = {NODE1: f"127.0.{block}.1", NODE2: f"127.0.{block}.2"}
        self.port = _FreePort(self.ips[NODE1])
        (base / "hosts").write_text(
            f"{self.ips[NODE1]} {NODE1} node1\n{self.ips[NODE2]} {NODE2} node2\n"
            f"127.0.{block}.100 {CLUSTER} cluster\n")
        self.pids = set()

    def Root(self, node=NODE1):
        return self.base / node

    def Env(self, node=NODE1):
        return dict(os.environ, GANETI_ROOTDIR=str(self.Root(node)),
                    GANETI_HOSTNAME=node, GANETI_HOSTS_FILE=str(self.base / "hosts"),
                    GANETI_NODED_PORT=str(self.port), PYTHONPATH=TOP)

    def Pid(self, daemon, node=NODE1):
        pid = process.ReadPidFile(str(self.Root(node) /
                                      f"var/run/ganeti/{daemon}.pid"))
        if pid and process.IsProcessAlive(pid):
            self.pids.add(pid)
            return pid
        return 0

    def Run(self, args, node=NODE1, timeout=90):
        return subprocess.run(args, env=self.Env(node), capture_output=True,
                              text=True, timeout=timeout)

    def StartMasterd(self):
        if not self.Pid("ganeti-masterd"):
            proc = self.Run([sys.executable, MASTERD])
            assert proc.returncode == 0, proc.stderr
        assert self.Pid("ganeti-masterd")

    def Client(self):
        return luxi.Client(address=str(self.Root() /
                                       "var/run/ganeti/socket/ganeti-query"))

    def StopAll(self):
        for daemon in ("ganeti-masterd", "ganeti-noded"):
            self.Pid(daemon)
        for pid in self.pids:
            if process.IsProcessAlive(pid):
                os.kill(pid, signal.SIGTERM)
        for pid in self.pids:
            if not _WaitGone(pid):
                os.kill(pid, signal.SIGKILL)
                _WaitGone(pid)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    vc = _Cluster(tmp_path_factory.mktemp("masterd"))
    vc.Root().mkdir()
    try:
        proc = vc.Run([sys.executable, "-c", _INIT])
        vc.Pid("ganeti-noded")
        vc.Pid("ganeti-masterd")
        assert proc.returncode == 0, proc.stderr
        yield vc
    finally:
        vc.StopAll()


def _WaitJob(client, job_id, wanted=FINALIZED, timeout=60.0):
    """Follow a job with WaitForJobChange until its status is in wanted."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        result = client.WaitForJobChangeOnce(job_id, ["status"],
                                             None if status is None else [status],
                                             None, timeout=5)
        if result != luxi.JOB_NOTCHANGED:
            status = result[0][0]
        if status in wanted:
            return status
    raise AssertionError(f"job {job_id} still {status} after {timeout} s")


def test_init_started_noded_and_masterd_answering_luxi(cluster):
    assert cluster.Pid("ganeti-noded") and cluster.Pid("ganeti-masterd")
    with cluster.Client() as client:
        assert client.QueryConfigValues(["cluster_name", "master_node"]) == \
            [CLUSTER, NODE1]
        nodes = client.QueryNodes([], ["name", "pip", "role"], False)
    assert nodes == [[NODE1, cluster.ips[NODE1], "M"]]
    sockets = sorted(os.listdir(cluster.Root() / "var/run/ganeti/socket"))
    assert sockets == ["ganeti-master", "ganeti-query"]


def test_delay_job_succeeds(cluster):
    cluster.StartMasterd()
    with cluster.Client() as client:
        job_id = client.SubmitJob([opcodes.OpTestDelay(duration=0.2)])
        assert isinstance(job_id, int)
        assert _WaitJob(client, job_id) == "success"
        assert client.QueryJobs([job_id], ["status", "opresult", "summary"]) == \
            [["success", [None], ["TEST_DELAY(0.2)"]]]
    job_file = cluster.Root() / f"var/lib/ganeti/queue/job-{job_id}"
    assert json.loads(job_file.read_text())["ops"][0]["status"] == "success"


def test_killed_master_fails_running_job_and_runs_queued_ones(cluster):
    cluster.StartMasterd()
    with cluster.Client() as client:
        long_job = client.SubmitJob([opcodes.OpTestDelay(duration=60.0)])
        assert _WaitJob(client, long_job, wanted=("running",)) == "running"
        follower = client.SubmitJob([opcodes.OpTestDelay(
            duration=0.1, depends=[[long_job, []]])])
        (status, ), = client.QueryJobs([follower], ["status"])
        assert status in ("queued", "waiting")
    pid = cluster.Pid("ganeti-masterd")
    os.kill(pid, signal.SIGKILL)
    assert _WaitGone(pid)
    cluster.StartMasterd()
    with cluster.Client() as client:
        assert _WaitJob(client, long_job) == "error"
        assert client.QueryJobs([long_job], ["opstatus", "opresult"]) == [
            [["error"], [["OpExecError", ["Unclean master daemon shutdown"]]]]]
        assert _WaitJob(client, follower) == "success"


def _PrepareFalseMaster(cluster):
    """node2: a copy of node1's files, but its ssconf names itself master."""
    data1 = cluster.Root(NODE1) / "var/lib/ganeti"
    data2 = cluster.Root(NODE2) / "var/lib/ganeti"
    data2.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(data1):
        if name.startswith("ssconf_") or name.endswith(".pem"):
            shutil.copy(data1 / name, data2 / name)
    nodes = f"{NODE1}\n{NODE2}\n"
    for key, value in (("master_node", f"{NODE2}\n"), ("node_list", nodes),
                       ("online_nodes", nodes),
                       ("node_primary_ips", f"{NODE1} {cluster.ips[NODE1]}\n"
                                            f"{NODE2} {cluster.ips[NODE2]}\n")):
        path = data2 / f"ssconf_{key}"
        path.unlink()
        path.write_text(value)


def test_node_without_a_majority_refuses_to_start_masterd(cluster):
    _PrepareFalseMaster(cluster)
    proc = cluster.Run([sys.executable, MASTERD, "-f"], node=NODE2)
    assert proc.returncode == 1, proc.stderr
    assert "It seems we are not the master" in proc.stderr
    assert f"{NODE1} (1)" in proc.stderr
    assert not cluster.Pid("ganeti-masterd", node=NODE2)
    refused = cluster.Run([sys.executable, MASTERD, "-f", "--no-voting"], node=NODE2)
    assert refused.returncode == 1 and "--yes-do-it" in refused.stderr


def test_sigterm_stops_masterd_cleanly(cluster):
    cluster.StartMasterd()
    pid = cluster.Pid("ganeti-masterd")
    os.kill(pid, signal.SIGTERM)
    assert _WaitGone(pid)
    run_dir = cluster.Root() / "var/run/ganeti"
    assert not (run_dir / "ganeti-masterd.pid").exists()
    assert os.listdir(run_dir / "socket") == []
    log = (cluster.Root() / "var/log/ganeti/master-daemon.log").read_text()
    assert "ganeti-masterd daemon shutdown" in log


def test_destroy_stops_masterd_and_removes_the_cluster(cluster):
    cluster.StartMasterd()
    pid = cluster.Pid("ganeti-masterd")
    proc = cluster.Run([sys.executable, "-c", "from ganeti import bootstrap;"
                        " bootstrap.FinalizeClusterDestroy('x')"])
    assert proc.returncode == 0, proc.stderr
    assert _WaitGone(pid)
    data = cluster.Root() / "var/lib/ganeti"
    assert not (data / "config.data").exists()
    assert not [name for name in os.listdir(data) if name.startswith("ssconf_")]
    assert cluster.Pid("ganeti-noded")  # noded is left to stop normally
