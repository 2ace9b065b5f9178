"""Tests for ganeti.objects: config objects, dict round trips, filling."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ganeti import config, constants, errors, objects, serializer

SAMPLE_FILE = Path(__file__).resolve().parents[1] / "data" / "config.data.json"
SAMPLE = json.loads(SAMPLE_FILE.read_text())
INST_B = "1b6c2117-a4dc-4829-8c4d-57222d9a2d15"
NODE1 = "ff2df26a-d9c3-4726-80d6-308cd718fb5c"
GROUP = "1743f6e6-4ffe-44a4-84b8-42f92c899889"
DISK_B = "cfefc0af-9713-4fd1-948e-b82376b4532d"


@pytest.fixture
def sample() -> objects.ConfigData:
    return objects.ConfigData.FromDict(copy.deepcopy(SAMPLE))


def test_sample_round_trip_is_lossless(sample):
    assert sample.ToDict() == SAMPLE
    # Also through the serialiser, as the writer saves it.
    text = serializer.DumpJson(sample.ToDict(), compact=True)
    assert json.loads(text) == SAMPLE


def test_sample_is_already_complete(sample):
    sample.UpgradeConfig()
    assert sample.ToDict() == SAMPLE


def test_sample_objects_are_typed(sample):
    assert isinstance(sample.cluster, objects.Cluster)
    node = sample.nodes[NODE1]
    assert isinstance(node, objects.Node) and node.name == "node1.ganeti.test"
    inst = sample.instances[INST_B]
    assert isinstance(inst.nics[0], objects.NIC)
    assert inst.nics[0].mac == "aa:00:00:7d:93:8e"
    assert inst.disks == [DISK_B]
    assert sample.disks[DISK_B].dev_type == constants.DT_FILE
    assert inst.nics[0].ip is None  # absent in the file


def test_minimal_config_round_trip():
    data = config.MakeMinimalConfig("c.example.com", "n1.example.com", "192.0.2.1",
                                    now=1000.0)
    as_dict = data.ToDict()
    assert objects.ConfigData.FromDict(copy.deepcopy(as_dict)).ToDict() == as_dict
    assert json.loads(serializer.DumpJson(as_dict)) == as_dict
    assert as_dict["cluster"]["ndparams"]["ssh_port"] == 22
    assert list(as_dict["nodegroups"].values())[0]["members"] == []


@pytest.mark.parametrize("cls", [objects.Cluster, objects.Node, objects.NodeGroup,
                                 objects.Instance, objects.Disk, objects.NIC,
                                 objects.Network, objects.FilterRule,
                                 objects.ConfigData])
def test_every_class_round_trips_after_upgrade(cls):
    obj = cls()
    obj.UpgradeConfig()
    as_dict = obj.ToDict()
    again = cls.FromDict(copy.deepcopy(as_dict))
    assert again.ToDict() == as_dict
    # Nothing is invented for an empty dict, except the members placeholder
    # Ganeti 3.0 always writes.
    expected = {"members": []} if cls is objects.NodeGroup else {}
    assert cls.FromDict({}).ToDict() == expected


def test_nulls_and_unknown_keys_survive():
    raw = {"mac": "aa:00:00:00:00:01", "ip": None, "nicparams": {},
           "future_field": {"x": 1}}
    nic = objects.NIC.FromDict(copy.deepcopy(raw))
    assert nic.ip is None
    assert nic.ToDict() == raw
    assert nic.Copy().ToDict() == raw


def test_runtime_fields_are_not_stored():
    group = objects.NodeGroup(name="g", members=["n1", "n2"])
    assert group.ToDict()["members"] == []
    assert group.ToDict(runtime=True)["members"] == ["n1", "n2"]
    # The stored placeholder is not taken for the real member list.
    assert objects.NodeGroup.FromDict({"members": ["x"]}).members is None
    disk = objects.Disk(dev_type="plain", logical_id=["vg", "lv"],
                        dynamic_params={"minor": 0})
    assert "dynamic_params" not in disk.ToDict()
    assert disk.ToDict(runtime=True)["dynamic_params"] == {"minor": 0}
    nic = objects.NIC(mac="aa:00:00:00:00:01", netinfo={"name": "net"})
    assert "netinfo" not in nic.ToDict()
    assert objects.NIC.FromDict(nic.ToDict(runtime=True)).netinfo == {"name": "net"}


def test_copy_is_independent(sample):
    inst = sample.instances[INST_B]
    dup = inst.Copy()
    dup.beparams["maxmem"] = 999
    dup.nics[0].mac = "aa:00:00:00:00:99"
    assert inst.beparams["maxmem"] == 64
    assert inst.nics[0].mac == "aa:00:00:7d:93:8e"
    assert dup.ToDict() != inst.ToDict()


def test_nested_disks():
    drbd = objects.Disk.FromDict({
        "dev_type": "drbd8", "size": 1024,
        "logical_id": ["n1", "n2", 11000, 0, 0, "secret"],
        "children": [
            {"dev_type": "lvm", "logical_id": ["xenvg", "data"], "size": 1024},
            {"dev_type": "plain", "logical_id": ["xenvg", "meta"], "size": 128},
        ]})
    assert isinstance(drbd.children[0], objects.Disk)
    drbd.UpgradeConfig()
    assert drbd.dev_type == constants.DT_DRBD8
    assert drbd.children[0].dev_type == constants.DT_PLAIN
    assert drbd.children[0].StaticDevPath() == "/dev/xenvg/data"
    assert drbd.StaticDevPath() is None
    assert drbd.IsBasedOnDiskType(constants.DT_PLAIN)
    assert drbd.mode == constants.DISK_RDWR
    block = objects.Disk(dev_type="blockdev", logical_id=["manual", "/dev/sdb"])
    assert block.StaticDevPath() == "/dev/sdb"


def test_bad_shapes_give_configuration_errors():
    with pytest.raises(errors.ConfigurationError, match="Instance.nics"):
        objects.Instance.FromDict({"nics": {"mac": "x"}})
    with pytest.raises(errors.ConfigurationError, match="ConfigData.nodes"):
        objects.ConfigData.FromDict({"nodes": []})
    with pytest.raises(errors.ConfigurationError, match="Node"):
        objects.ConfigData.FromDict({"nodes": {"x": "not a node"}})


def test_disk_template_derivation():
    plain = objects.Disk(dev_type="plain")
    drbd = objects.Disk(dev_type="drbd")
    assert objects.GetDiskTemplate([]) == constants.DT_DISKLESS
    assert objects.GetDiskTemplate([plain, objects.Disk(dev_type="plain")]) == "plain"
    assert objects.GetDiskTemplate([plain, drbd]) == objects.DT_MIXED


def test_fill_helpers(sample):
    cluster = sample.cluster
    inst = sample.instances[INST_B]
    inst.hvparams = {"migration_mode": "non-live"}
    filled = cluster.FillHV(inst)
    assert filled == {"migration_mode": "non-live"}
    assert cluster.FillHV(inst, skip_globals=True) == {}
    cluster.os_hvp = {"noop+default": {"kvm": {"acpi": False}}}
    kvm = cluster.SimpleFillHV("kvm", "noop+default", {"vnc_tls": True})
    assert kvm["acpi"] is False and kvm["vnc_tls"] is True
    assert kvm["kvm_path"] == "/usr/bin/kvm"
    assert cluster.GetHVDefaults("kvm")["acpi"] is True
    be = cluster.FillBE(inst)
    assert be["maxmem"] == 64 and be["vcpus"] == 1 and be["auto_balance"] is True
    assert cluster.SimpleFillNIC({"link": "br1"}) == {"mode": "bridged",
                                                      "link": "br1", "vlan": ""}
    group = sample.nodegroups[GROUP]
    node = sample.nodes[NODE1]
    group.ndparams = {"ssh_port": 2222, "spindle_count": 2}
    node.ndparams = {"spindle_count": 4}
    nd = cluster.FillND(node, group)
    assert nd["ssh_port"] == 2222 and nd["spindle_count"] == 4
    assert nd["ovs_name"] == "switch1"
    assert cluster.IsDiskTemplateEnabled("file")
    assert not cluster.IsDiskTemplateEnabled("drbd")
    assert cluster.IsFileStorageEnabled()
    assert cluster.GetDefaultHypervisor() == "fake"
    policy = cluster.SimpleFillIPolicy({"std": {"memory-size": 256}})
    assert policy["std"]["memory-size"] == 256 and policy["std"]["disk-size"] == 1024
    assert policy["vcpu-ratio"] == 4


def test_fill_os_params():
    cluster = objects.Cluster(osparams={"debian": {"mirror": "a", "arch": "x"},
                                        "debian+sid": {"mirror": "b"}},
                              osparams_private_cluster={"debian": {"pw": "s"}})
    params = cluster.SimpleFillOS("debian+sid", {"arch": "y"})
    assert params == {"mirror": "b", "arch": "y", "pw": "s"}


def test_cluster_upgrade_fills_defaults():
    cluster = objects.Cluster(beparams={"default": {"memory": 512}},
                              hvparams={"kvm": {"acpi": False}})
    cluster.UpgradeConfig()
    assert cluster.beparams["default"]["maxmem"] == 512
    assert cluster.beparams["default"]["minmem"] == 512
    assert "memory" not in cluster.beparams["default"]
    assert cluster.hvparams["kvm"]["acpi"] is False
    assert cluster.hvparams["kvm"]["kvm_path"] == "/usr/bin/kvm"
    assert cluster.hvparams["fake"] == {"migration_mode": "live"}
    assert cluster.nicparams["default"]["link"] == constants.DEFAULT_BRIDGE
    assert cluster.candidate_pool_size == 10
    assert cluster.max_running_jobs == 20
    assert cluster.data_collectors["lv"] == {"active": True, "interval": 5000000}
    assert cluster.diskparams["drbd"]["metavg"] == "xenvg"


def test_instance_upgrade():
    inst = objects.Instance.FromDict({
        "name": "i1", "admin_state": "up", "beparams": {"memory": 256},
        "hvparams": {"migration_port": 1, "acpi": True},
        "nics": [{"mac": "aa:00:00:00:00:01"}]})
    inst.UpgradeConfig()
    assert inst.disks_active is True
    assert inst.beparams == {"maxmem": 256, "minmem": 256}
    assert inst.hvparams == {"acpi": True}
    assert inst.nics[0].nicparams == {}
    assert inst.admin_state_source == constants.ADMIN_SOURCE


def test_tags():
    node = objects.Node(name="n1")
    node.AddTag("web")
    node.AddTag("web")
    node.AddTag("rack:1/a")
    assert node.GetTags() == {"web", "rack:1/a"}
    assert node.ToDict()["tags"] == ["web", "rack:1/a"]
    node.RemoveTag("web")
    assert node.GetTags() == {"rack:1/a"}
    with pytest.raises(errors.TagError, match="not found"):
        node.RemoveTag("web")
    for bad, message in [("", "empty"), ("a b", "invalid characters"),
                         ("x" * 129, "too long"), (5, "not a string")]:
        with pytest.raises(errors.TagError, match=message):
            node.AddTag(bad)
    node.tags = [f"t{i}" for i in range(constants.MAX_TAGS_PER_OBJ)]
    with pytest.raises(errors.TagError, match="Too many tags"):
        node.AddTag("one-more")


def _DrbdDisk() -> objects.Disk:
    return objects.Disk.FromDict({
        "uuid": "d1", "dev_type": "drbd", "size": 1024,
        "logical_id": ["nodeA", "nodeB", 11000, 0, 1, "secret"],
        "children": [
            {"dev_type": "plain", "logical_id": ["xenvg", "data"], "size": 1024},
            {"dev_type": "plain", "logical_id": ["xenvg", "meta"], "size": 128},
        ]})


def test_drbd_dynamic_params():
    disk = _DrbdDisk()
    ips = {"nodeA": "10.0.0.1", "nodeB": "10.0.0.2"}
    disk.UpdateDynamicDiskParams("nodeB", ips)
    assert disk.dynamic_params == {"local-ip": "10.0.0.2", "remote-ip": "10.0.0.1",
                                   "local-minor": 1, "remote-minor": 0}
    assert disk.children[0].dynamic_params == {}
    as_dict = disk.ToDict(include_dynamic_params=True)
    assert as_dict["dynamic_params"]["local-ip"] == "10.0.0.2"
    assert "dynamic_params" not in disk.ToDict()
    disk.UpdateDynamicDiskParams("nodeC", ips)
    assert disk.dynamic_params == {}
    with pytest.raises(errors.ConfigurationError, match="Missing IP"):
        disk.UpdateDynamicDiskParams("nodeA", {"nodeA": "10.0.0.1"})
    assert disk.GetNodes("nodeA") == ["nodeA", "nodeB"]
    with pytest.raises(errors.ConfigurationError):
        disk.GetNodes("nodeC")
    assert disk.children[0].GetNodes("nodeA") == ["nodeA"]


def test_compute_ld_params():
    drbd, data, meta = objects.Disk.ComputeLDParams(
        "drbd", {"drbd": {"resync-rate": 1000, "meta-stripes": 2}})
    assert drbd["resync-rate"] == 1000
    assert drbd["disabled-barriers"] == "n" and drbd["default-metavg"] == "xenvg"
    assert drbd["disable-meta-flush"] is False and drbd["protocol"] == "C"
    assert data == {"stripes": 1} and meta == {"stripes": 2}
    assert objects.Disk.ComputeLDParams("plain", {"plain": {"stripes": 3}}) == [
        {"stripes": 3}]
    assert objects.Disk.ComputeLDParams("rbd", {}) == [{"pool": "rbd",
                                                       "access": "kernelspace"}]
    assert objects.Disk.ComputeLDParams("file", {"file": {}}) == [{}]
    with pytest.raises(errors.ProgrammerError):
        objects.Disk.ComputeLDParams("diskless", {})


def test_record_grow():
    disk = _DrbdDisk()
    disk.RecordGrow(512)
    assert disk.size == 1536
    assert disk.children[0].size == 1536 and disk.children[1].size == 128
    with pytest.raises(errors.ProgrammerError):
        objects.Disk(dev_type="blockdev", size=1).RecordGrow(1)
