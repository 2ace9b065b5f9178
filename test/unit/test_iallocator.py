"""The iallocator protocol (ganeti/iallocator.py) and the built-in allocator
(ganeti/iallocator_builtin.py).

The input document is built from a real ConfigWriter; the nodes' live data
comes from a small RPC stand-in answering node_info and all_instances_info
like noded does.
"""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.cmdlib import DOMAIN, CmdlibKit  # noqa: E402

from ganeti import errors, iallocator, iallocator_builtin, objects  # noqa: E402
from ganeti import serializer  # noqa: E402
from ganeti.rpc.client import RpcResult  # noqa: E402


class LiveNodes:
    """Answers node_info/all_instances_info per node uuid; records calls."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.free = {}
        self.running = {}
        self.down = set()
        self.calls = []

    def _Result(self, uuid, call, payload):
        name = self.cfg.GetNodeName(uuid)
        if uuid in self.down:
            return RpcResult(failed=True, data="connection refused", call=call,
                             node=name)
        return RpcResult(data=[True, payload], call=call, node=name)

    def call_node_info(self, nodes, storage_units, hv_specs):
        self.calls.append(("node_info", list(nodes), storage_units, hv_specs))
        return {uuid: self._Result(uuid, "node_info", [
            "boot", [{"type": "file", "storage_size": 1000, "storage_free": 500}],
            [{"memory_free": self.free.get(uuid, 4096), "memory_total": 8192,
              "memory_dom0": 512, "cpu_total": 4}]]) for uuid in nodes}

    def call_all_instances_info(self, nodes, hvs, hvparams):
        self.calls.append(("all_instances_info", list(nodes)))
        return {uuid: self._Result(uuid, "all_instances_info",
                                   self.running.get(uuid, {})) for uuid in nodes}


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"])
    yield kit
    kit.Close()


def _AllocRequest(**kwargs):
    params = {"name": "new1", "memory": 128, "spindle_use": 1, "disks": [],
              "disk_template": "diskless", "group_name": None, "os": "noop",
              "tags": [], "nics": [{}], "vcpus": 1, "hypervisor": "fake",
              "node_whitelist": None}
    params.update(kwargs)
    return iallocator.IAReqInstanceAlloc(**params)


def _AddInstance(kit, name, node, memory=128, admin_state="up"):
    kit.cfg.AddInstance(objects.Instance(
        name=name, primary_node=kit.NodeUuid(node), os="noop", hypervisor="fake",
        admin_state=admin_state,
        nics=[objects.NIC(mac=f"aa:00:00:00:00:{len(name):02x}", nicparams={})],
        disks=[], beparams={"maxmem": memory, "minmem": memory}))


# --- the input document ---------------------------------------------------------------


def test_input_document_has_ganetis_layout(kit):
    live = LiveNodes(kit.cfg)
    _AddInstance(kit, "old1", "node2", memory=512, admin_state="down")
    ial = iallocator.IAllocator(kit.cfg, live, _AllocRequest(
        disk_template="file", disks=[{"size": 100}, {"size": 20}]))
    data = serializer.LoadJson(ial.in_text)
    assert data["version"] == 2
    assert data["cluster_name"] == "cluster.example.com"
    assert set(data) >= {"cluster_tags", "enabled_hypervisors", "ipolicy",
                         "nodegroups", "nodes", "instances", "request"}
    (group,) = data["nodegroups"].values()
    assert group["name"] == "default" and group["alloc_policy"] == "preferred"
    node2 = data["nodes"][f"node2.{DOMAIN}"]
    assert node2["group"] in data["nodegroups"]
    assert node2["total_memory"] == 8192 and node2["total_cpus"] == 4
    # The stopped instance's memory is kept free for it.
    assert node2["free_memory"] == 4096 - 512
    assert node2["i_pri_memory"] == 512 and node2["i_pri_up_memory"] == 0
    assert node2["total_disk"] == 1000 and node2["free_disk"] == 500
    old = data["instances"]["old1"]
    assert old["nodes"] == [f"node2.{DOMAIN}"] and old["memory"] == 512
    assert old["disk_template"] == "diskless" and old["disk_space_total"] == 0
    request = data["request"]
    assert request["type"] == "allocate" and request["required_nodes"] == 1
    assert request["disk_space_total"] == 120
    # The file storage directory goes to the nodes as a virtual path.
    assert live.calls[0][2][0][0] == "file"


def test_offline_drained_and_dead_nodes_get_no_live_data(kit):
    live = LiveNodes(kit.cfg)
    node3 = kit.cfg.GetNodeInfo(kit.NodeUuid("node3"))
    node3.drained = True
    kit.cfg.Update(node3)
    live.down.add(kit.NodeUuid("node2"))
    data = iallocator.IAllocator(kit.cfg, live, _AllocRequest()).in_data
    assert "free_memory" not in data["nodes"][f"node3.{DOMAIN}"]
    assert data["nodes"][f"node3.{DOMAIN}"]["drained"] is True
    assert data["nodes"][f"node2.{DOMAIN}"]["offline"] is True
    assert kit.NodeUuid("node3") not in live.calls[0][1]


def test_request_parameters_are_checked():
    with pytest.raises(errors.OpPrereqError, match="'memory' has invalid"):
        _AllocRequest(memory=-1)
    with pytest.raises(errors.OpPrereqError, match="Unknown request parameters"):
        _AllocRequest(colour="blue")


# --- running an allocator -------------------------------------------------------------


def test_builtin_allocator_answers_to_hail(kit):
    live = LiveNodes(kit.cfg)
    live.free = {kit.NodeUuid("node1"): 1000, kit.NodeUuid("node2"): 7000}
    ial = iallocator.IAllocator(kit.cfg, live, _AllocRequest())
    ial.Run("hail")
    assert ial.success and ial.result == [f"node2.{DOMAIN}"]


def test_external_script_runs_on_the_master(kit, tmp_path):
    script = tmp_path / "myalloc"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o755)
    calls = []

    def _Runner(node, name, text, params):
        calls.append((node, name, params))
        return RpcResult(data=[True, serializer.DumpJson(
            {"success": True, "info": "ok", "result": [f"node3.{DOMAIN}"]})])

    ial = iallocator.IAllocator(kit.cfg, LiveNodes(kit.cfg), _AllocRequest(),
                                _search_path=[str(tmp_path)])
    ial.Run("myalloc", call_fn=_Runner)
    assert calls == [(kit.cfg.GetMasterNode(), "myalloc", {})]
    assert ial.result == [f"node3.{DOMAIN}"]


@pytest.mark.parametrize("answer, match", [
    ("not json", "Can't parse iallocator results"),
    ("[1, 2]", "not a dict"),
    ('{"success": true, "info": ""}', "missing key 'result'"),
    ('{"success": true, "info": "", "result": ["a", "b"]}', "invalid number"),
])
def test_bad_answers_are_refused(kit, answer, match):
    ial = iallocator.IAllocator(kit.cfg, LiveNodes(kit.cfg), _AllocRequest(),
                                _builtin_fn=lambda _text: answer)
    with pytest.raises(errors.OpExecError, match=match):
        ial.Run("hail")


def test_unknown_allocator_is_refused(kit, tmp_path):
    ial = iallocator.IAllocator(kit.cfg, LiveNodes(kit.cfg), _AllocRequest(),
                                _search_path=[str(tmp_path)])
    with pytest.raises(errors.OpPrereqError, match="'nosuch' not found") as err:
        ial.Run("nosuch")
    assert err.value.args[1] == errors.ECODE_NOENT


def test_default_allocator_is_the_clusters_or_hail(kit):
    cluster = kit.cfg.GetClusterInfo()
    assert iallocator.GetDefaultIAllocator(cluster) == "hail"
    cluster.default_iallocator = "mine"
    assert iallocator.GetDefaultIAllocator(cluster) == "mine"


# --- the built-in allocator's decisions -----------------------------------------------


def _Doc(nodes, request, instances=None, policy=None, groups=None):
    base_policy = {"minmax": [{"min": {"memory-size": 128, "cpu-count": 1,
                                       "disk-count": 1, "disk-size": 1,
                                       "nic-count": 1, "spindle-use": 1},
                               "max": {"memory-size": 32768, "cpu-count": 8,
                                       "disk-count": 16, "disk-size": 1048576,
                                       "nic-count": 8, "spindle-use": 12}}],
                   "disk-templates": ["diskless", "file", "sharedfile"],
                   "vcpu-ratio": 4.0}
    base_policy.update(policy or {})
    doc_nodes = {}
    for name, extra in nodes.items():
        node = {"group": "g1", "offline": False, "drained": False,
                "vm_capable": True, "free_memory": 4000, "total_memory": 8000,
                "free_disk": 5000, "total_disk": 10000, "total_cpus": 4}
        node.update(extra)
        doc_nodes[name] = node
    return {"nodegroups": groups or {"g1": {"name": "default",
                                             "alloc_policy": "preferred",
                                             "ipolicy": base_policy}},
            "nodes": doc_nodes, "instances": instances or {}, "request": request}


def _Alloc(**kwargs):
    request = {"type": "allocate", "name": "new", "memory": 512, "vcpus": 1,
               "disk_template": "diskless", "disks": [], "disk_space_total": 0,
               "nics": [{}], "required_nodes": 1, "spindle_use": 1}
    request.update(kwargs)
    return request


@pytest.mark.parametrize("bad, reason", [
    ({"offline": True}, "offline"),
    ({"drained": True}, "drained"),
    ({"vm_capable": False}, "not vm_capable"),
    ({"free_memory": 100}, "not enough memory"),
    ({"free_disk": 10}, "not enough disk space"),
])
def test_unusable_nodes_are_skipped(bad, reason):
    nodes = {"a": bad, "b": {"free_memory": 1000}}
    answer = iallocator_builtin.Allocate(_Doc(nodes, _Alloc(
        disk_template="file", disks=[{"size": 100}], disk_space_total=100)))
    assert answer["success"] and answer["result"] == ["b"]
    nodes["b"] = dict(bad)
    answer = iallocator_builtin.Allocate(_Doc(nodes, _Alloc(
        disk_template="file", disks=[{"size": 100}], disk_space_total=100)))
    assert not answer["success"]
    assert f"a: {reason}" in answer["info"] and f"b: {reason}" in answer["info"]


def test_policy_ratio_and_groups_are_honoured():
    instances = {f"i{n}": {"nodes": ["a"], "vcpus": 4, "memory": 128}
                 for n in range(4)}
    answer = iallocator_builtin.Allocate(
        _Doc({"a": {}, "b": {"free_memory": 600}}, _Alloc(vcpus=2), instances))
    assert answer["result"] == ["b"]  # a would exceed 4 vcpus per cpu
    answer = iallocator_builtin.Allocate(
        _Doc({"a": {}}, _Alloc(), policy={"disk-templates": ["file"]}))
    assert "Disk template diskless is not allowed" in answer["info"]
    groups = {"g1": {"name": "one", "alloc_policy": "unallocable", "ipolicy": {}},
              "g2": {"name": "two", "alloc_policy": "last_resort", "ipolicy": {}}}
    answer = iallocator_builtin.Allocate(_Doc(
        {"a": {"free_memory": 8000}, "b": {"group": "g2"}}, _Alloc(), groups=groups))
    assert answer["result"] == ["b"]
    answer = iallocator_builtin.Allocate(_Doc(
        {"a": {}, "b": {"group": "g2"}}, _Alloc(group_name="one"), groups=groups))
    assert not answer["success"]


def test_multi_allocation_accounts_for_earlier_placements():
    request = {"type": "multi-allocate", "instances": [
        _Alloc(name="x", memory=3000), _Alloc(name="y", memory=3000),
        _Alloc(name="z", memory=3000)]}
    answer = iallocator_builtin.Allocate(_Doc({"a": {}, "b": {}}, request))
    allocated, failed = answer["result"]
    assert sorted(nodes[0] for _, nodes in allocated) == ["a", "b"]
    assert failed == ["z"]


def test_evacuation_moves_movable_instances_only():
    instances = {
        "dl": {"nodes": ["a"], "disk_template": "diskless", "memory": 128,
               "vcpus": 1, "nics": [{}]},
        "fl": {"nodes": ["a"], "disk_template": "file", "memory": 128,
               "vcpus": 1, "nics": [{}]},
    }
    doc = _Doc({"a": {"drained": True}, "b": {}}, {
        "type": "node-evacuate", "instances": ["dl", "fl"],
        "evac_mode": "all"}, instances)
    answer = iallocator_builtin.Allocate(doc)
    moved, failed, jobs = answer["result"]
    assert moved == [["dl", "default", ["b"]]]
    assert failed == [["fl", "Instances of type file cannot be relocated"]]
    assert jobs[0][0]["OP_ID"] == "OP_INSTANCE_MIGRATE"
    assert jobs[0][0]["target_node"] == "b"
    doc["request"]["evac_mode"] = "secondary-only"
    moved, failed, _ = iallocator_builtin.Allocate(doc)["result"]
    assert moved == [] and "change secondary" in failed[0][1]


def test_relocation_stays_in_the_group():
    instances = {"sf": {"nodes": ["a"], "disk_template": "sharedfile",
                        "memory": 128}}
    groups = {"g1": {"name": "one", "alloc_policy": "preferred", "ipolicy": {}},
              "g2": {"name": "two", "alloc_policy": "preferred", "ipolicy": {}}}
    doc = _Doc({"a": {}, "b": {"free_memory": 500}, "c": {"group": "g2"}},
               {"type": "relocate", "name": "sf", "relocate_from": ["a"],
                "required_nodes": 1}, instances, groups=groups)
    assert iallocator_builtin.Allocate(doc)["result"] == ["b"]


def test_garbage_input_is_answered_not_raised():
    answer = serializer.LoadJson(iallocator_builtin.Run("{nonsense"))
    assert answer["success"] is False and "Invalid JSON" in answer["info"]
    answer = iallocator_builtin.Allocate({"request": {"type": "nosuch"}})
    assert answer == {"success": False, "info": "Unknown request type 'nosuch'",
                      "result": []}
