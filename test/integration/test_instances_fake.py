"""Instances on a real 3-node virtual cluster with the fake hypervisor.

The cluster is made as an operator would: tools/vcluster-setup, `gnt-cluster
init` on node1 (diskless and file templates, routed NICs by default), and
node2/node3 added with `gnt-node add` over a real sshd per node. The OS
definitions are test/data/os (written from ganeti-os-interface(7) only),
found through GANETI_OS_SEARCH_PATH, which every noded inherits.

Everything is driven through LUXI opcodes on the master socket (the
gnt-instance program is tested separately). Bad input must fail with a
clear error and leave config.data and the nodes' file storage untouched.
Every process started is stopped by pid at the end.
"""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from support import sshd as sshd_support
from support.cluster import WaitJob
from support.instance_cluster import NODES, InstanceCluster, RunInstanceCluster

from ganeti import opcodes

TREE = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sshd_support.Available(),
                                reason="OpenSSH sshd is needed to add nodes")


class Cluster(InstanceCluster):
    """The shared instance cluster plus what these tests look at."""

    # --- what is on disk -----------------------------------------------------------

    def Config(self) -> dict:
        path = self.vc.Root() / "var/lib/ganeti/config.data"
        return json.loads(path.read_text())

    def StorageFiles(self) -> list[str]:
        """Every file and directory below the nodes' file storage dirs."""
        found = []
        for node in NODES:
            storage = self.vc.Root(node) / "srv/ganeti/file-storage"
            if storage.is_dir():
                found += [f"{node}:{p.relative_to(storage)}"
                          for p in sorted(storage.rglob("*"))]
        return found

    def DiskLinks(self) -> list[str]:
        found = []
        for node in NODES:
            links = self.vc.Root(node) / "var/run/ganeti/instance-disks"
            if links.is_dir():
                found += [f"{node}:{p.name}" for p in links.iterdir()]
        return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with RunInstanceCluster(tmp_path_factory.mktemp("instances"), Cluster) as vc:
        yield vc


def test_create_list_start_stop_reboot(cluster):
    cluster.Ok(cluster.CreateOp("dl1", pnode="node2"))
    cluster.Ok(cluster.CreateOp("fl1", disk_template="file",
                                disks=[{"size": 1024}], pnode="node3"))
    rows = cluster.Query(["name", "status", "pnode", "disk_template", "oper_ram"],
                         ["dl1", "fl1"])
    assert rows == [["dl1", "running", "node2", "diskless", 128],
                    ["fl1", "running", "node3", "file", 128]]
    (disk,) = [f for f in cluster.StorageFiles() if f.endswith(".file.disk0")]
    assert disk.startswith("node3:fl1/")
    disk_file = (cluster.vc.Root("node3") / "srv/ganeti/file-storage" /
                 disk.split(":", 1)[1])
    assert disk_file.stat().st_size == 1024 * 1024 * 1024
    assert disk_file.read_bytes().startswith(b"created fl1 variant=default")
    cluster.Ok(opcodes.OpInstanceShutdown(instance_name="dl1", timeout=5))
    assert cluster.Status("dl1") == "ADMIN_down"
    cluster.Ok(opcodes.OpInstanceStartup(instance_name="dl1"))
    assert cluster.Status("dl1") == "running"
    for kind in ("soft", "hard", "full"):
        cluster.Ok(opcodes.OpInstanceReboot(instance_name="dl1", reboot_type=kind))
        assert cluster.Status("dl1") == "running"


def test_rename_and_reinstall_file_instance(cluster):
    cluster.Ok(opcodes.OpInstanceShutdown(instance_name="fl1", timeout=5))
    (result,) = cluster.Ok(opcodes.OpInstanceRename(
        instance_name="fl1", new_name="fl2", name_check=False, ip_check=False))
    assert result == "fl2"
    files = cluster.StorageFiles()
    assert not any(f.startswith("node3:fl1") for f in files)
    (disk,) = [f for f in files if f.endswith(".file.disk0")]
    assert disk.startswith("node3:fl2/")
    disk_file = (cluster.vc.Root("node3") / "srv/ganeti/file-storage" /
                 disk.split(":", 1)[1])
    assert disk_file.read_bytes().startswith(b"renamed fl1 to fl2")
    cluster.Ok(opcodes.OpInstanceReinstall(instance_name="fl2"))
    assert disk_file.read_bytes().startswith(b"created fl2 variant=default"
                                             b" reinstall=1")
    cluster.Ok(opcodes.OpInstanceStartup(instance_name="fl2"))
    assert cluster.Status("fl2") == "running"


def test_console_and_info(cluster):
    (console,) = cluster.Ok(opcodes.OpInstanceConsole(instance_name="dl1"))
    assert console["instance"] == "dl1"
    (info,) = cluster.Ok(opcodes.OpInstanceQueryData(instances=["fl2"],
                                                     use_locking=True))
    data = info["fl2"]
    assert data["run_state"] == "up" and data["pnode"] == "node3"
    assert data["disks"][0]["pstatus"][0].endswith(".file.disk0")


def test_instance_killed_behind_the_clusters_back_is_error_down(cluster):
    state = cluster.vc.Root("node2") / "var/run/ganeti/fake-hypervisor" / "dl1"
    assert state.exists()
    state.unlink()
    assert cluster.Status("dl1") == "ERROR_down"
    cluster.Ok(opcodes.OpInstanceStartup(instance_name="dl1"))
    assert cluster.Status("dl1") == "running"


def test_allocator_picks_a_node(cluster):
    node3 = opcodes.OpNodeSetParams(node_name="node3", drained=True, force=True)
    cluster.Ok(node3)
    try:
        (nodes,) = cluster.Ok(cluster.CreateOp("auto1", iallocator="hail"))
        assert len(nodes) == 1 and nodes[0] in ("node1", "node2")
        (nodes,) = cluster.Ok(cluster.CreateOp("auto2", iallocator=None, pnode=None))
        assert nodes[0] in ("node1", "node2")
    finally:
        cluster.Ok(opcodes.OpNodeSetParams(node_name="node3", drained=False,
                                           force=True))
    assert cluster.Status("auto1") == "running"


@pytest.mark.parametrize("kwargs, message", [
    ({"os_type": "nosuchos"}, "OS 'nosuchos' not in supported OS list"),
    ({"instance_name": "dl1"}, "Instance 'dl1' is already in the cluster"),
    ({"disk_template": "file", "disks": [{"size": "lots"}]}, "Invalid disk size"),
    ({"beparams": {"maxmem": 4 * 1024 * 1024, "minmem": 128},
      "ignore_ipolicy": True}, "Not enough memory on node node1"),
    ({"os_type": "api20+nosuch"}, "Unsupported OS variant 'nosuch'"),
])
def test_bad_input_is_refused_without_a_trace(cluster, kwargs, message):
    before, files = cluster.Config(), cluster.StorageFiles()
    params = dict(kwargs)
    name = params.pop("instance_name", "bad1")
    status, results = cluster.Submit(cluster.CreateOp(name, **params))
    assert status == "error"
    ((kind, (text, _ecode)),) = results
    assert kind == "OpPrereqError" and message in text
    after = cluster.Config()
    assert after["serial_no"] == before["serial_no"]
    assert cluster.StorageFiles() == files


def test_duplicate_mac_is_refused(cluster):
    (mac,) = cluster.Query(["nic.mac/0"], ["dl1"])[0]
    serial = cluster.Config()["serial_no"]
    status, results = cluster.Submit(cluster.CreateOp(
        "bad2", nics=[{"ip": cluster.Ip(), "mac": mac}]))
    assert status == "error" and f"MAC address {mac} already in use" in \
        results[0][1][0]
    assert cluster.Config()["serial_no"] == serial


def test_failing_os_create_leaves_no_instance_and_no_file(cluster):
    files = cluster.StorageFiles()
    status, results = cluster.Submit(cluster.CreateOp(
        "bad3", os_type="params", disk_template="file", disks=[{"size": 1024}],
        osparams={"fail": "yes"}))
    assert status == "error" and "Could not add os for instance bad3" in \
        results[0][1][0]
    assert "bad3" not in {i["name"] for i in cluster.Config()["instances"].values()}
    assert cluster.StorageFiles() == files


def test_200_instances_in_parallel_jobs(cluster):
    names = [f"par{idx:03d}" for idx in range(200)]
    jobs = [[cluster.CreateOp(name, pnode=NODES[idx % 3])]
            for idx, name in enumerate(names)]
    start = time.monotonic()
    with cluster.Client() as client:
        submitted = client.SubmitManyJobs(jobs)
        assert all(ok for ok, _ in submitted), submitted
        statuses = [WaitJob(client, job_id, timeout=600) for _, job_id in submitted]
    elapsed = time.monotonic() - start
    assert statuses == ["success"] * 200, [
        s for s in statuses if s != "success"][:5]
    rows = cluster.Query(["name", "status"], names)
    assert [row[1] for row in rows] == ["running"] * 200
    macs = cluster.Query(["nic.mac/0"])
    assert len({mac for (mac,) in macs}) == len(macs)
    print(f"200 instances created in {elapsed:.1f} s")
    removes = [[opcodes.OpInstanceRemove(instance_name=name)] for name in names]
    with cluster.Client() as client:
        submitted = client.SubmitManyJobs(removes)
        statuses = [WaitJob(client, job_id, timeout=600) for _, job_id in submitted]
    assert statuses == ["success"] * 200


def test_remove_leaves_no_files_symlinks_or_instances(cluster):
    names = [row[0] for row in cluster.Query(["name"])]
    for name in names:
        cluster.Ok(opcodes.OpInstanceRemove(instance_name=name))
    assert cluster.Config()["instances"] == {}
    assert cluster.Config()["disks"] == {}
    assert cluster.StorageFiles() == []
    assert cluster.DiskLinks() == []
    for node in NODES:
        state = cluster.vc.Root(node) / "var/run/ganeti/fake-hypervisor"
        assert not state.is_dir() or list(state.iterdir()) == []
