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
import sys

import pytest

pytest.importorskip("ganeti.jqueue")
pytest.importorskip("ganeti.mcpu")

from support.cluster import (  # noqa: E402
    CLUSTER,
    MASTERD,
    NODE1,
    NODE2,
    MasterCluster,
)
from support.cluster import WaitGone as _WaitGone  # noqa: E402
from support.cluster import WaitJob as _WaitJob  # noqa: E402

from ganeti import opcodes  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    vc = MasterCluster.Bootstrap(tmp_path_factory.mktemp("masterd"))
    try:
        proc = vc.InitCluster(check=False)
        vc.Pid("ganeti-noded")
        vc.Pid("ganeti-masterd")
        assert proc.returncode == 0, proc.stderr
        yield vc
    finally:
        vc.StopAll()


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
