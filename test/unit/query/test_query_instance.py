"""The "instance" query (ganeti/query/instance.py) and LUXI serving it.

Field definitions and rows are compared with what a real Ganeti 3.0.2
answered (spec/samples/luxi-instance-list*.txt, rapi-2-instances-bulk.json);
the status rules are luxid's (src/Ganeti/Query/Instance.hs).
"""

import json
import pathlib
import types

import pytest

from ganeti import config, errors, locking, objects, query
from ganeti.query import instance as qinst
from ganeti.rpc.client import RpcResult
from ganeti.server.luxi_handler import LuxiHandler

SAMPLES = pathlib.Path("/work/shared/spec/samples")
NODE = "node1.ganeti.test"


def _SampleReply(name):
    """The result of the first successful Query reply in a LUXI capture."""
    for line in (SAMPLES / name).read_text().splitlines():
        if line.startswith('{"success":true,"result":{"fields"'):
            return json.loads(line)["result"]
    raise AssertionError(f"no query reply in {name}")


def _Cluster(tmp_path):
    data = config.MakeMinimalConfig("cluster.ganeti.test", NODE, "192.0.2.1")
    cfg = config.ConfigWriter(cfg_file=str(tmp_path / "config.data"), offline=True,
                              _data=data)
    node = cfg.GetNodeInfoByName(NODE)
    for idx, (name, state) in enumerate([("sample-a", "up"), ("sample-b", "up"),
                                         ("sample-c", "down"),
                                         ("sample-r", "up")]):
        cfg.AddInstance(objects.Instance(
            name=f"{name}.ganeti.test", primary_node=node.uuid, os="noop+default",
            hypervisor="fake", admin_state=state, disks=[],
            beparams={"maxmem": 64, "minmem": 64},
            nics=[objects.NIC(mac=f"aa:00:00:00:00:0{idx}", nicparams={},
                              uuid=f"nic-{idx}")]))
    return cfg


def _Live(cfg, running, node_ok=True):
    node = cfg.GetNodeInfoByName(NODE)
    payload = {f"{name}.ganeti.test": {"memory": 64, "vcpus": 1, "state": 0,
                                       "time": 1.0} for name in running}
    return {node.uuid: qinst.NodeLiveResult(payload if node_ok else None)}


def _Run(cfg, fields, live=None, qfilter=None):
    qry = query.Query(query.INSTANCE_FIELDS, fields, qfilter, namefield="name")
    data = qinst.MakeInstanceQueryData(cfg, None, qry.RequestedData())
    data.live = live
    return query.GetQueryResponse(qry, data)


@pytest.mark.parametrize("sample", ["luxi-instance-list.txt",
                                    "luxi-instance-list-o.txt"])
def test_rows_and_definitions_match_ganeti(tmp_path, sample):
    expected = _SampleReply(sample)
    cfg = _Cluster(tmp_path)
    fields = [fdef["name"] for fdef in expected["fields"]]
    result = _Run(cfg, fields, _Live(cfg, ["sample-a", "sample-b", "sample-r"]))
    assert result == expected


def test_query_fields_lists_every_field_with_valid_definitions():
    everything = query.QueryFields(query.INSTANCE_FIELDS, None)["fields"]
    names = [fdef["name"] for fdef in everything]
    assert names == sorted(names)
    for name in ("status", "oper_ram", "disk.size/15", "nic.mac/7", "hv/acpi",
                 "be/maxmem", "console", "pnode.group", "ip", "sda_size",
                 "forthcoming", "tags", "uuid", "serial_no", "ctime"):
        assert name in names
    assert "hv/migration_mode" not in names  # global hypervisor parameter
    by_name = {fdef["name"]: fdef for fdef in everything}
    assert by_name["vcpus"]["title"] == "ConfigVCPUs"
    assert by_name["nic.mac/0"]["doc"] == "MAC address of 1st network interface"
    assert by_name["disk.size/2"] == {"name": "disk.size/2", "title": "Disk/2",
                                      "kind": "unit",
                                      "doc": "Disk size of 3rd disk"}


def test_values_as_rapi_bulk_shows_them(tmp_path):
    cfg = _Cluster(tmp_path)
    expected = json.loads((SAMPLES / "rapi-2-instances-bulk.json").read_text())[0]
    fields = ["beparams", "custom_beparams", "custom_nicparams", "nic.bridges",
              "nic.modes", "nic.ips", "nic.networks.names", "disk.sizes",
              "disk_usage", "network_port", "snodes", "hvparams", "custom_hvparams"]
    result = _Run(cfg, fields, None, ["=", "name", "sample-a.ganeti.test"])
    (row,) = result["data"]
    values = dict(zip(fields, row))
    assert values["beparams"] == [0, expected["beparams"]]
    assert list(values["beparams"][1]) == list(expected["beparams"])
    assert values["network_port"] == [3, None]
    for name in fields:
        if name in ("beparams", "network_port", "nic.bridges", "nic.links"):
            continue
        assert values[name] == [0, expected[name]], name
    # The sample's bridge existed there; ours is the default bridge.
    assert values["nic.bridges"] == [0, ["xen-br0"]]


@pytest.mark.parametrize("admin, source, running, on_primary, node, status", [
    ("up", "admin", True, True, "ok", "running"),
    ("down", "admin", True, True, "ok", "ERROR_up"),
    ("up", "admin", False, True, "ok", "ERROR_down"),
    ("down", "admin", False, True, "ok", "ADMIN_down"),
    ("down", "user", False, True, "ok", "ADMIN_down"),
    ("offline", "admin", False, True, "ok", "ADMIN_offline"),
    ("up", "admin", True, False, "ok", "ERROR_wrongnode"),
    ("up", "admin", False, True, "down", "ERROR_nodedown"),
    ("up", "admin", False, True, "offline", "ERROR_nodeoffline"),
])
def test_status_rules(admin, source, running, on_primary, node, status):
    inst = types.SimpleNamespace(name="i1", uuid="u1", primary_node="n1",
                                 admin_state=admin, admin_state_source=source,
                                 hypervisor="fake", nics=[], hvparams={},
                                 os="noop", disks=[])
    cluster = objects.Cluster(enabled_user_shutdown=False, hvparams={})
    nodes = {"n1": types.SimpleNamespace(offline=node == "offline", name="n1"),
             "n2": types.SimpleNamespace(offline=False, name="n2")}
    info = {"i1": {"memory": 64, "vcpus": 1, "state": 0}}
    holder = "n1" if on_primary else "n2"
    live = {"n1": qinst.NodeLiveResult(None if node == "down" else {}),
            "n2": qinst.NodeLiveResult({})}
    if running:
        live[holder] = qinst.NodeLiveResult(info)
    ctx = qinst.InstanceQueryData(instances=[inst], cluster=cluster, nodes=nodes,
                                  live=live)
    assert qinst._GetStatus(ctx, inst) == status


def test_user_shutdown_when_the_cluster_allows_it():
    inst = types.SimpleNamespace(name="i1", uuid="u1", primary_node="n1",
                                 admin_state="up", admin_state_source="admin",
                                 hypervisor="fake", hvparams={}, os="noop")
    for enabled, status in ((True, "USER_down"), (False, "ERROR_down")):
        cluster = objects.Cluster(enabled_user_shutdown=enabled, hvparams={})
        ctx = qinst.InstanceQueryData(
            instances=[inst], cluster=cluster,
            nodes={"n1": types.SimpleNamespace(offline=False)},
            live={"n1": qinst.NodeLiveResult({"i1": {"state": 1}})})
        assert qinst._GetStatus(ctx, inst) == status


# --- LUXI ----------------------------------------------------------------------------


class _Runner:
    def __init__(self, payload):
        self.payload = payload
        self.calls = 0

    def call_all_instances_info(self, nodes, hvs, hvparams):
        self.calls += 1
        return {node: RpcResult(data=[True, self.payload]) for node in nodes}


def _Handler(cfg, runner):
    glm = locking.GanetiLockManager(cfg.GetNodeList(), cfg.GetNodeGroupList(), [], [])
    context = types.SimpleNamespace(cfg=cfg, glm=glm, jobqueue=None,
                                    GetRpc=lambda _cfg: runner)
    return LuxiHandler(context)


def test_luxi_query_and_classic_query_instances(tmp_path):
    cfg = _Cluster(tmp_path)
    runner = _Runner({"sample-a.ganeti.test": {"memory": 64, "vcpus": 1,
                                               "state": 0}})
    handler = _Handler(cfg, runner)
    result = handler("Query", ["instance", ["name", "status"],
                               ["=", "name", "sample-a"]])
    assert result["data"] == [[[0, "sample-a.ganeti.test"], [0, "running"]]]
    rows = handler("QueryInstances", [["sample-c.ganeti.test", "sample-a"],
                                      ["name", "status", "admin_state"], False])
    assert rows == [["sample-c.ganeti.test", "ADMIN_down", "down"],
                    ["sample-a.ganeti.test", "running", "up"]]
    calls = runner.calls
    handler("Query", ["instance", ["name", "os"], None])
    assert runner.calls == calls  # configuration fields ask no node
    fields = handler("QueryFields", ["instance", ["status"]])["fields"]
    assert fields[0]["title"] == "Status"
    with pytest.raises(errors.OpPrereqError, match="Instance name nosuch not found"):
        handler("QueryInstances", [["nosuch"], ["name"], False])
