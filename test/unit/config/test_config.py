"""Tests for ganeti.config: the ConfigWriter."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from ganeti import config, constants, errors, objects, ssconf

SAMPLE_FILE = Path(__file__).resolve().parents[2] / "data" / "config.data.json"
NODE1 = "ff2df26a-d9c3-4726-80d6-308cd718fb5c"
GROUP = "1743f6e6-4ffe-44a4-84b8-42f92c899889"
INST_A = "d0047d94-9e1c-418b-b4f6-682827313260"
INST_B = "1b6c2117-a4dc-4829-8c4d-57222d9a2d15"
DISK_B = "cfefc0af-9713-4fd1-948e-b82376b4532d"


class FakeClock:
    def __init__(self, now: float = 2000000000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def cfg_file(tmp_path: Path) -> str:
    path = tmp_path / "config.data"
    shutil.copy(SAMPLE_FILE, path)
    return str(path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def saved() -> list[str]:
    return []


@pytest.fixture
def cfg(cfg_file, clock, saved) -> config.ConfigWriter:
    return config.ConfigWriter(cfg_file, _save_hook=saved.append, _time_fn=clock)


def _Reload(cfg_file: str) -> config.ConfigWriter:
    return config.ConfigWriter(cfg_file, offline=True)


def _NewNode(name: str, ip: str, group: str | None = GROUP) -> objects.Node:
    return objects.Node(name=name, primary_ip=ip, secondary_ip=ip, group=group,
                        master_candidate=False, offline=False, drained=False)


def test_lookups_on_sample(cfg):
    assert cfg.GetClusterName() == "cluster.ganeti.test"
    assert cfg.GetMasterNode() == NODE1
    assert cfg.GetMasterNodeName() == "node1.ganeti.test"
    assert cfg.GetMasterNodeInfo().uuid == NODE1
    assert cfg.GetNodeInfo(NODE1).name == "node1.ganeti.test"
    assert cfg.GetNodeInfo("nope") is None
    assert cfg.GetNodeInfoByName("node1.ganeti.test").uuid == NODE1
    assert cfg.GetNodeInfoByName("node9") is None
    assert cfg.GetNodeName(NODE1) == "node1.ganeti.test"
    assert cfg.GetNodeNames([NODE1]) == ["node1.ganeti.test"]
    with pytest.raises(errors.OpExecError, match="Unknown node"):
        cfg.GetNodeName("nope")
    assert cfg.ExpandNodeName("node1") == "node1.ganeti.test"
    assert cfg.GetNodeList() == [NODE1]
    assert cfg.GetOnlineNodeList() == [NODE1]
    assert cfg.GetVmCapableNodeList() == [NODE1]
    assert cfg.GetNonVmCapableNodeList() == []
    assert list(cfg.GetAllNodesInfo()) == [NODE1]
    assert cfg.GetMasterCandidateStats() == (1, 1, 1)
    assert cfg.GetConfigSerialNo() == 1278
    assert cfg.GetClusterInfo().serial_no == 415


def test_group_and_instance_lookups(cfg):
    assert cfg.GetNodeGroup(GROUP).members == [NODE1]
    assert cfg.LookupNodeGroup(None) == GROUP
    assert cfg.LookupNodeGroup("default") == GROUP
    assert cfg.LookupNodeGroup(GROUP) == GROUP
    with pytest.raises(errors.OpPrereqError) as exc:
        cfg.LookupNodeGroup("other")
    assert exc.value.args[1] == errors.ECODE_NOENT
    assert list(cfg.GetAllNodeGroupsInfo()) == [GROUP]
    assert cfg.GetInstanceInfoByName("sample-a.ganeti.test").uuid == INST_A
    assert cfg.GetInstanceInfo(INST_B).name == "sample-b.ganeti.test"
    assert cfg.ExpandInstanceName("sample-c") == "sample-c.ganeti.test"
    assert len(cfg.GetInstanceList()) == 4
    assert len(cfg.GetAllInstancesInfo()) == 4
    assert cfg.GetInstanceNames([INST_A, INST_B]) == ["sample-a.ganeti.test",
                                                      "sample-b.ganeti.test"]
    assert [d.uuid for d in cfg.GetInstanceDisks(INST_B)] == [DISK_B]
    assert cfg.GetDiskInfo(DISK_B).size == 1024
    assert cfg.GetInstanceDiskTemplate(INST_B) == constants.DT_FILE
    assert cfg.GetInstanceDiskTemplate(INST_A) == constants.DT_DISKLESS
    assert cfg.GetInstanceNodes(INST_B) == [NODE1]
    assert cfg.GetInstanceSecondaryNodes(INST_B) == []
    primary, secondary = cfg.GetNodeInstances(NODE1)
    assert len(primary) == 4 and secondary == []


def test_sample_verifies_clean(cfg):
    assert cfg.VerifyConfig() == []


def test_update_bumps_serials_and_saves(cfg, cfg_file, clock, saved):
    inst = cfg.GetInstanceInfo(INST_A)
    inst.beparams["maxmem"] = 256
    cfg.Update(inst)
    assert inst.serial_no == 3
    assert inst.mtime == clock.now
    assert cfg.GetConfigSerialNo() == 1279
    assert saved == [cfg_file]
    assert stat.S_IMODE(os.stat(cfg_file).st_mode) == 0o640
    # Only the final file is left: the write went through a renamed temp file.
    assert os.listdir(os.path.dirname(cfg_file)) == ["config.data"]
    raw = Path(cfg_file).read_text()
    assert ", " not in raw.split('"rsahostkeypub"')[0]  # compact JSON
    reloaded = _Reload(cfg_file)
    again = reloaded.GetInstanceInfo(INST_A)
    assert again.beparams["maxmem"] == 256 and again.serial_no == 3
    assert reloaded.GetConfigSerialNo() == 1279
    assert json.loads(raw)["mtime"] == clock.now


def test_update_node_bumps_cluster(cfg, cfg_file):
    node = cfg.GetNodeInfo(NODE1)
    node.AddTag("rack1")
    cfg.Update(node)
    assert cfg.GetClusterInfo().serial_no == 416
    assert _Reload(cfg_file).GetNodeInfo(NODE1).GetTags() == {"rack1"}


def test_update_refuses_foreign_objects(cfg, cfg_file):
    before = Path(cfg_file).read_bytes()
    with pytest.raises(errors.ConfigurationError, match="unknown object"):
        cfg.Update(cfg.GetInstanceInfo(INST_A).Copy())
    with pytest.raises(errors.ConfigurationError):
        cfg.Update(objects.Node(name="stranger", uuid="x"))
    assert Path(cfg_file).read_bytes() == before
    assert cfg.GetConfigSerialNo() == 1278


def test_offline_writer_never_calls_hook(cfg_file):
    calls = []
    cfg = config.ConfigWriter(cfg_file, offline=True, _save_hook=calls.append)
    cfg.Update(cfg.GetClusterInfo())
    assert calls == []
    assert _Reload(cfg_file).GetClusterInfo().serial_no == 416


def test_failed_distribution_is_reported_not_raised(cfg_file):
    def _FailingHook(path: str) -> None:
        raise errors.RemoteError(f"cannot copy {path}")

    messages = []
    cfg = config.ConfigWriter(cfg_file, _save_hook=_FailingHook)
    cfg.Update(cfg.GetClusterInfo(), feedback_fn=messages.append)
    assert messages and "cannot copy" in messages[0]
    assert _Reload(cfg_file).GetClusterInfo().serial_no == 416


@pytest.mark.parametrize(("content", "message"), [
    (None, "Cannot read config file"),
    ("{not json", "Cannot parse config file"),
    ("[1, 2]", "does not hold a JSON object"),
    ('{"cluster": {}}', "has no version"),
    ('{"version": 3000000, "cluster": {}, "nodes": [], "nodegroups": {},'
     ' "instances": {}}', "'nodes' is missing or not a JSON object"),
    ('{"version": 3000000, "cluster": {"hvparams": ["kvm"]}, "nodes": {},'
     ' "nodegroups": {}, "instances": {}}', "not a valid configuration"),
    ('{"version": 3000000, "cluster": {}, "nodes": {"a": 1}, "nodegroups": {},'
     ' "instances": {}}', "expected a JSON object"),
])
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "config.data"
    if content is not None:
        path.write_text(content)
    with pytest.raises(errors.ConfigurationError, match=message) as exc:
        config.ConfigWriter(str(path))
    assert str(path) in str(exc.value)


def test_version_mismatch(tmp_path):
    raw = json.loads(SAMPLE_FILE.read_text())
    raw["version"] = 2160000
    path = tmp_path / "config.data"
    path.write_text(json.dumps(raw))
    with pytest.raises(errors.ConfigVersionMismatch) as exc:
        config.ConfigWriter(str(path))
    assert exc.value.args == (constants.CONFIG_VERSION, 2160000)


def test_add_and_remove_node(cfg, cfg_file):
    cfg.AddNode(_NewNode("node10.ganeti.test", "198.18.0.10"))
    cfg.AddNode(_NewNode("node2.ganeti.test", "198.18.0.2", group="default"))
    node2 = cfg.GetNodeInfoByName("node2.ganeti.test")
    assert node2.group == GROUP and node2.serial_no == 1 and node2.uuid
    assert node2.ctime == node2.mtime
    assert set(cfg.GetNodeGroup(GROUP).members) == {
        NODE1, node2.uuid, cfg.GetNodeInfoByName("node10.ganeti.test").uuid}
    with pytest.raises(errors.ConfigurationError, match="already"):
        cfg.AddNode(_NewNode("node2.ganeti.test", "198.18.0.3"))
    with pytest.raises(errors.OpPrereqError, match="not found"):
        cfg.AddNode(_NewNode("node3.ganeti.test", "198.18.0.3", group="nogroup"))
    values = cfg.GetSsconfValues()
    assert values["node_list"] == ("node1.ganeti.test\nnode2.ganeti.test\n"
                                   "node10.ganeti.test")
    assert values["master_candidates"] == "node1.ganeti.test"
    assert values["ssh_ports"].splitlines()[1] == "node2.ganeti.test=22"
    reloaded = _Reload(cfg_file)
    assert len(reloaded.GetNodeList()) == 3
    assert len(reloaded.GetNodeGroup(GROUP).members) == 3
    cfg.RemoveNode(node2.uuid)
    assert node2.uuid not in cfg.GetNodeGroup(GROUP).members
    assert cfg.GetNodeInfoByName("node2.ganeti.test") is None
    assert len(_Reload(cfg_file).GetNodeList()) == 2
    with pytest.raises(errors.ConfigurationError, match="Unknown node"):
        cfg.RemoveNode(node2.uuid)
    assert cfg.VerifyConfig() == []


def test_node_groups(cfg, cfg_file):
    cfg.AddNodeGroup(objects.NodeGroup(name="rack2"))
    rack2 = cfg.LookupNodeGroup("rack2")
    assert cfg.GetNodeGroup(rack2).alloc_policy == constants.ALLOC_POLICY_PREFERRED
    with pytest.raises(errors.OpPrereqError) as exc:
        cfg.AddNodeGroup(objects.NodeGroup(name="rack2"))
    assert exc.value.args[1] == errors.ECODE_EXISTS
    with pytest.raises(errors.OpPrereqError, match="More than one"):
        cfg.LookupNodeGroup(None)
    node = cfg.GetNodeInfo(NODE1)
    node.group = rack2
    cfg.Update(node)
    assert cfg.GetNodeGroup(rack2).members == [NODE1]
    assert cfg.GetNodeGroup(GROUP).members == []
    with pytest.raises(errors.ConfigurationError, match="still has nodes"):
        cfg.RemoveNodeGroup(rack2)
    cfg.RemoveNodeGroup(GROUP)
    assert _Reload(cfg_file).GetNodeGroupList() == [rack2]


def test_add_instance_with_disk_and_remove(cfg, cfg_file):
    mac = cfg.GenerateMAC()
    assert mac.startswith("aa:00:00:") and len(mac) == 17
    inst = objects.Instance(name="new.ganeti.test", primary_node=NODE1,
                            os="noop+default", hypervisor="fake",
                            admin_state="down", nics=[objects.NIC(mac=mac)])
    cfg.AddInstance(inst)
    disk = objects.Disk(dev_type="file", size=512, iv_name="disk/0", nodes=[NODE1],
                        logical_id=["loop", "/srv/ganeti/file-storage/x/disk0"])
    cfg.AddInstanceDisk(inst.uuid, disk)
    assert cfg.GetInstanceDiskTemplate(inst.uuid) == constants.DT_FILE
    assert cfg.VerifyConfig() == []
    reloaded = _Reload(cfg_file)
    assert reloaded.GetInstanceDisks(inst.uuid)[0].size == 512
    dup = objects.Instance(name="other", primary_node=NODE1, hypervisor="fake",
                           nics=[objects.NIC(mac=mac)])
    with pytest.raises(errors.ConfigurationError, match="MAC"):
        cfg.AddInstance(dup)
    with pytest.raises(errors.ConfigurationError, match="already"):
        cfg.AddInstance(objects.Instance(name="new.ganeti.test"))
    cfg.MarkInstanceUp(inst.uuid)
    assert cfg.GetInstanceInfo(inst.uuid).admin_state == constants.ADMINST_UP
    assert cfg.GetInstanceInfo(inst.uuid).disks_active is True
    cfg.RemoveInstance(inst.uuid)
    assert cfg.GetDiskInfo(disk.uuid) is None
    reloaded = _Reload(cfg_file)
    assert reloaded.GetInstanceInfo(inst.uuid) is None
    assert reloaded.GetDiskInfo(disk.uuid) is None


def test_allocate_port(cfg, cfg_file):
    assert cfg.AllocatePort() == 11000
    assert cfg.AllocatePort() == 11001
    assert _Reload(cfg_file).GetClusterInfo().highest_used_port == 11001


def test_verify_finds_planted_problems(cfg):
    data = cfg.GetConfigData()
    inst_a = data.instances[INST_A]
    inst_b = data.instances[INST_B]
    inst_a.primary_node = "missing-node"
    inst_a.nics[0].mac = "not-a-mac"
    inst_b.name = "sample-c.ganeti.test"
    inst_b.disks.append("missing-disk")
    data.nodes[NODE1].master_candidate = False
    data.nodes[NODE1].group = "missing-group"
    data.cluster.candidate_pool_size = 0
    data.disks["orphan"] = objects.Disk(uuid="orphan", dev_type="plain",
                                        logical_id=["vg", "lv"], mode="rw")
    problems = "\n".join(cfg.VerifyConfig())
    for expected in ["invalid primary node 'missing-node'",
                     "invalid MAC address 'not-a-mac'",
                     "duplicate instance name 'sample-c.ganeti.test'",
                     "missing disk 'missing-disk'",
                     "master node node1.ganeti.test is not a master candidate",
                     "invalid node group 'missing-group'",
                     "candidate_pool_size 0",
                     "disk orphan is not attached"]:
        assert expected in problems
    data.cluster.master_node = "gone"
    assert "invalid master node 'gone'" in "\n".join(cfg.VerifyConfig())


def test_concurrent_updates_are_serialised(cfg, cfg_file):
    cluster = cfg.GetClusterInfo()

    def _Worker() -> None:
        for _ in range(10):
            cfg.Update(cluster)

    threads = [threading.Thread(target=_Worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cluster.serial_no == 415 + 40
    assert cfg.GetConfigSerialNo() == 1278 + 40
    assert _Reload(cfg_file).GetConfigSerialNo() == 1278 + 40


def test_minimal_config_can_be_written_and_loaded(tmp_path):
    data = config.MakeMinimalConfig("c.example.com", "n1.example.com", "192.0.2.1")
    path = str(tmp_path / "config.data")
    cfg = config.ConfigWriter(path, offline=True, _data=data)
    assert cfg.VerifyConfig() == []
    cfg.Save()
    reloaded = _Reload(path)
    assert reloaded.GetMasterNodeName() == "n1.example.com"
    values = reloaded.GetSsconfValues()
    assert set(values) == ssconf.VALID_KEYS
    assert values["master_node"] == "n1.example.com"
    assert values["hvparams_fake"] == "migration_mode=live"


def test_networks(cfg):
    assert cfg.LookupNetwork(None) is None
    with pytest.raises(errors.OpPrereqError, match="not found"):
        cfg.LookupNetwork("net1")
    net = objects.Network(uuid="n-1", name="net1", network="10.0.0.0/24")
    cfg.GetConfigData().networks[net.uuid] = net
    assert cfg.LookupNetwork("net1") == "n-1"
    assert cfg.GetNetwork("n-1") is net
    assert cfg.GetSsconfValues()["networks"] == "n-1 net1"


def test_failed_save_leaves_memory_as_on_disk(cfg_file):
    # A writer whose file lives in a directory that disappears: the save
    # fails, and the change must not stay in memory either.
    workdir = Path(cfg_file).parent / "gone"
    workdir.mkdir()
    moved = workdir / "config.data"
    shutil.copy(cfg_file, moved)
    writer = config.ConfigWriter(str(moved), offline=True)
    shutil.rmtree(workdir)
    node = writer.GetNodeInfo(NODE1)
    node.AddTag("rack1")
    with pytest.raises(errors.ConfigurationError, match="not applied"):
        writer.Update(node)
    assert writer.GetConfigSerialNo() == 1278
    assert writer.GetNodeInfo(NODE1).GetTags() == set()
    assert writer.GetNodeInfoByName(node.name).uuid == NODE1
    # The stale object is refused, so the change cannot sneak in later.
    with pytest.raises(errors.ConfigurationError):
        writer.Update(node)
