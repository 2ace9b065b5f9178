"""gnt-group on a real one-node virtual cluster.

The cluster is made as an operator would (tools/vcluster-setup, then
`node1/cmd gnt-cluster init`), with noded and masterd running; every
command below is the real gnt-group program run through node1's cmd helper.
Bad input must fail with a clear message and leave config.data untouched
(same serial_no). Every daemon is stopped by pid at the end.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ganeti.jqueue")
pytest.importorskip("ganeti.mcpu")

from support.cluster import MasterCluster  # noqa: E402

NODE = "node1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    vc = MasterCluster.VclusterSetup(tmp_path_factory.mktemp("groups"), count=1)
    try:
        vc.InitWithCli()
        yield vc
    finally:
        vc.StopAllOrFail()


def _Config(vc) -> dict:
    return json.loads((vc.Root() / "var/lib/ganeti/config.data").read_text())


def _Group(vc, name: str) -> dict | None:
    for group in _Config(vc)["nodegroups"].values():
        if group["name"] == name:
            return group
    return None


def _Ok(vc, *args: str) -> str:
    proc = vc.Cmd(["gnt-group", *args])
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def _Fails(vc, *args: str) -> str:
    """Run a gnt-group command that must fail and change nothing; its stderr."""
    before = _Config(vc)
    proc = vc.Cmd(["gnt-group", *args])
    assert proc.returncode != 0, (args, proc.stdout)
    assert "Traceback" not in proc.stderr
    after = _Config(vc)
    assert after["serial_no"] == before["serial_no"]
    assert after["nodegroups"] == before["nodegroups"]
    return proc.stderr


def _Ssconf(vc) -> str:
    return (vc.Root() / "var/lib/ganeti/ssconf_nodegroups").read_text()


def test_list_of_a_new_cluster(cluster):
    assert _Ok(cluster, "list") == (
        "Group   Nodes Instances AllocPolicy NDParams\n"
        "default     1         0 preferred   oob_program=, spindle_count=1,"
        " exclusive_storage=False, ovs=False, ovs_name=switch1, ovs_link=,"
        " ssh_port=22, cpu_speed=1\n")


def test_group_lifecycle(cluster):
    _Ok(cluster, "add", "--alloc-policy=last_resort",
        "--node-parameters=ssh_port=2222", "-D", "drbd:resync-rate=1000",
        "--ipolicy-vcpu-ratio=2", "rack2")
    group = _Group(cluster, "rack2")
    assert group["ndparams"] == {"ssh_port": 2222}
    assert group["diskparams"] == {"drbd": {"resync-rate": 1000}}
    assert group["ipolicy"] == {"vcpu-ratio": 2.0}
    assert group["alloc_policy"] == "last_resort"
    assert f"{group['uuid']} rack2" in _Ssconf(cluster)
    uuid = group["uuid"]

    listing = _Ok(cluster, "list", "--no-headers", "--separator=|", "-o",
                  "name,node_cnt,alloc_policy,ndp/ssh_port,uuid")
    assert listing.splitlines()[1] == f"rack2|0|last_resort|2222|{uuid}"
    info = _Ok(cluster, "info", "rack2")
    assert info.startswith("- Node group: rack2\n  Node parameters: \n")
    assert "    ssh_port: 2222\n" in info
    assert "    spindle_count: default (1)\n" in info
    assert "    vcpu-ratio: 2\n" in info

    out = _Ok(cluster, "modify", "--alloc-policy=unallocable",
              "--node-parameters=ssh_port=default,spindle_count=2", "rack2")
    assert out == ("Modified node group rack2\n"
                   " - ndparams -> {'spindle_count': 2}\n")
    group = _Group(cluster, "rack2")
    assert group["ndparams"] == {"spindle_count": 2}
    assert group["alloc_policy"] == "unallocable"

    _Ok(cluster, "rename", "rack2", "rack3")
    assert _Group(cluster, "rack2") is None
    assert _Group(cluster, "rack3")["uuid"] == uuid
    assert f"{uuid} rack3" in _Ssconf(cluster)

    _Ok(cluster, "assign-nodes", "rack3", NODE)
    node_group = {node["name"]: node["group"]
                  for node in _Config(cluster)["nodes"].values()}
    assert node_group[NODE] == uuid
    assert _Ok(cluster, "list", "--no-headers", "-o", "name,node_list",
               "rack3").split() == ["rack3", NODE]
    err = _Fails(cluster, "remove", "rack3")
    assert f"Group 'rack3' not empty, has the following nodes: {NODE}" in err
    _Ok(cluster, "assign-nodes", "default", NODE)

    _Ok(cluster, "remove", "rack3")
    assert _Group(cluster, "rack3") is None
    assert "rack3" not in _Ssconf(cluster)
    assert [line.split()[0] for line in _Ok(cluster, "list").splitlines()] == [
        "Group", "default"]


def test_list_fields_and_unknown_names(cluster):
    fields = _Ok(cluster, "list-fields", "name", "node_cnt", "ndp/ssh_port")
    assert fields.splitlines() == [
        "Name         Type   Title        Description",
        "name         Text   Group        Group name",
        "node_cnt     Number Nodes        Number of nodes",
        'ndp/ssh_port Number ndp/ssh_port The "ssh_port" node parameter']
    proc = cluster.Cmd(["gnt-group", "list", "nosuch"])
    assert proc.returncode == 1
    assert "NodeGroup name nosuch not found" in proc.stderr
    proc = cluster.Cmd(["gnt-group", "info", "nosuch"])
    assert proc.returncode == 1
    assert "NodeGroup name nosuch not found" in proc.stderr
    assert _Ok(cluster, "list", "--no-headers", "-o", "name", "def*") == "default\n"


def test_tags(cluster):
    _Ok(cluster, "add-tags", "default", "rack:1", "zone-a")
    assert _Ok(cluster, "list-tags", "default") == "rack:1\nzone-a\n"
    _Ok(cluster, "remove-tags", "default", "zone-a")
    assert _Group(cluster, "default")["tags"] == ["rack:1"]


def test_duplicate_name_is_refused(cluster):
    err = _Fails(cluster, "add", "default")
    assert "Desired group name 'default' already exists as a node group" in err
    assert "error type: already_exists" in err


def test_removing_a_group_with_nodes_is_refused(cluster):
    err = _Fails(cluster, "remove", "default")
    assert f"Group 'default' not empty, has the following nodes: {NODE}" in err


@pytest.mark.parametrize("args, message", [
    (["add", "--node-parameters=nosuch=1", "newgroup"],
     "Parameter Error: Unknown parameter 'nosuch'"),
    (["modify", "--node-parameters=nosuch=1", "default"],
     "Parameter Error: Unknown parameter 'nosuch'"),
    (["add", "-D", "nosuch:x=1", "newgroup"],
     "Provided option keys not supported: nosuch"),
    (["add", "--ipolicy-disk-templates=drbd", "newgroup"],
     "not enabled on the cluster: drbd"),
    (["modify", "default"], "Please give at least one of the parameters."),
    (["rename", "nosuch", "other"], "nosuch"),
    (["assign-nodes", "default", "nosuchnode"], "Node 'nosuchnode' not known"),
    (["add", "--alloc-policy=sometimes", "newgroup"], "invalid choice"),
])
def test_bad_input_is_refused_clearly(cluster, args, message):
    err = _Fails(cluster, *args)
    assert message in err
    assert _Group(cluster, "newgroup") is None


def test_dry_run_changes_nothing(cluster):
    before = _Config(cluster)["serial_no"]
    _Ok(cluster, "add", "--dry-run", "dry")
    _Ok(cluster, "modify", "--dry-run", "--alloc-policy=last_resort", "default")
    assert _Config(cluster)["serial_no"] == before
    assert _Group(cluster, "dry") is None
