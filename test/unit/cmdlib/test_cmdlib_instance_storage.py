"""Disk LUs (ganeti/cmdlib/instance_storage.py) through mcpu.

The nodes are FakeNode objects answering noded's instance and disk
procedures the way noded does with the fake hypervisor and file storage:
running instances live in a dict, file disks are real sparse files below a
per-node root in tmp_path, and the transfer_* procedures run the real node
code (ganeti/backend/transfer.py) on them. Every call is recorded, and any
procedure can be made to fail on any node. FakeNode and InstanceKit are
shared with the other instance test modules of this directory.
"""

import json
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import DOMAIN, CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import constants, errors, objects, serializer  # noqa: E402
from ganeti.backend import transfer  # noqa: E402

MiB = 1024 * 1024
FILE_DIR = "/srv/ganeti/file-storage"
SHARED_DIR = "/srv/shared"


class FakeNode:
    """One node's noded with the fake hypervisor and file storage.

    Attributes:
      running: instance name -> memory (MiB) of instances running here.
      links: "<instance>:<idx>" of assembled disks.
      calls: [(procedure, args)] in arrival order.
      fail: procedure -> message; that procedure then fails here.
      memory_free: what node_info reports.
      bridges: the bridges that exist here.
    """

    def __init__(self, name, root, shared_root):
        self.name = name
        self.root = pathlib.Path(root)
        self.shared_root = pathlib.Path(shared_root)
        self.running = {}
        self.links = set()
        self.calls = []
        self.fail = {}
        self.memory_free = 4096
        self.bridges = {"xen-br0"}
        self.migration_status = ["completed"]
        self.hv_version = None

    def Path(self, logical_path):
        """The node's file for a disk path (sharedfile paths are shared)."""
        if logical_path.startswith(SHARED_DIR + "/"):
            return self.shared_root / logical_path[len(SHARED_DIR) + 1:]
        return self.root / logical_path.lstrip("/")

    def Called(self, procedure):
        return [args for name, args in self.calls if name == procedure]

    def __call__(self, request):
        name, args = request.procedure, request.args
        self.calls.append((name, args))
        if name in self.fail:
            return Fail(self.fail[name])
        handler = getattr(self, "_" + name, None)
        if handler is None:
            return Ok(None)
        try:
            return Ok(handler(*args))
        except transfer.RPCFail as err:
            return Fail(str(err))

    # hooks and node information
    def _hooks_runner(self, *_):
        return []

    def _node_info(self, storage_units, _hv_specs):
        hv = {"memory_free": self.memory_free, "memory_total": 8192,
              "memory_dom0": 512, "cpu_total": 4}
        if self.hv_version:
            hv["hv_version"] = self.hv_version
        space = [{"type": unit[0], "name": unit[1], "storage_free": 50000,
                  "storage_size": 100000} for unit in storage_units or []]
        return ["boot-id", space, [hv]]

    def _all_instances_info(self, _hvs, _hvparams):
        return {name: {"memory": memory, "vcpus": 1, "state": "-", "time": 1.0}
                for name, memory in self.running.items()}

    def _os_validate(self, _required, name, _checks, params, _force_variant):
        bad = sorted(key for key in params if key.startswith("bad"))
        if bad:
            raise transfer.RPCFail(f"OS {name} refuses parameters {bad}")
        return True

    def _bridges_exist(self, bridges):
        missing = sorted(set(bridges) - self.bridges)
        if missing:
            raise transfer.RPCFail(f"Missing bridges {', '.join(missing)}")

    # instances
    def _instance_list(self, _hvs, _hvparams):
        return sorted(self.running)

    def _instance_info(self, name, _hv, _hvparams):
        if name not in self.running:
            return {}
        return {"memory": self.running[name], "vcpus": 1, "state": "-",
                "time": 1.0}

    def _instance_start(self, inst, _paused, _reason):
        self.running[inst["name"]] = inst["beparams"]["maxmem"]

    def _instance_shutdown(self, inst, _timeout, _reason):
        self.running.pop(inst["name"], None)

    def _instance_balloon_memory(self, inst, memory):
        self.running[inst["name"]] = memory

    def _instance_migratable(self, inst):
        if inst["name"] not in self.running:
            raise transfer.RPCFail(f"Instance {inst['name']} is not running")

    def _migration_info(self, inst):
        return json.dumps({"memory": self.running[inst["name"]]})

    def _accept_instance(self, inst, _info, _target):
        if inst["name"] in self.running:
            raise transfer.RPCFail("Can't accept instance, already running")

    def _instance_migrate(self, _cluster, inst, _target, _live):
        if inst["name"] not in self.running:
            raise transfer.RPCFail("not running here")

    def _instance_get_migration_status(self, _inst):
        status = self.migration_status.pop(0) if len(self.migration_status) > 1 \
            else self.migration_status[0]
        return {"status": status, "transferred_ram": 50, "total_ram": 100}

    def _instance_finalize_migration_src(self, inst, success, _live):
        if success:
            self.running.pop(inst["name"], None)

    def _instance_finalize_migration_dst(self, inst, info, success):
        if success:
            self.running[inst["name"]] = json.loads(info)["memory"]

    # disks
    def _blockdev_create(self, disk, size, _owner, _on_primary, _info, _excl):
        path = self.Path(disk["logical_id"][1])
        if path.exists():
            raise transfer.RPCFail(f"File {path} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(size * MiB)
        return None

    def _blockdev_remove(self, disk):
        self.Path(disk["logical_id"][1]).unlink(missing_ok=True)

    def _file_storage_dir_create(self, path):
        self.Path(path).mkdir(parents=True, exist_ok=True)

    def _file_storage_dir_remove(self, path):
        path = self.Path(path)
        if path.exists():
            path.rmdir()

    def _blockdev_assemble(self, disk, inst, _on_primary, idx):
        if disk["dev_type"] != constants.DT_DISKLESS:
            path = self.Path(disk["logical_id"][1])
            if not path.exists():
                raise transfer.RPCFail(f"Can't find device {path}")
        link = f"{inst['name']}:{idx}"
        self.links.add(link)
        return [str(self.Path(disk["logical_id"][1])), link, None]

    def _blockdev_shutdown(self, disk):
        self.links = {link for link in self.links
                      if not link.endswith(f":{disk.get('iv_name', '')[-1:]}")}

    def _blockdev_grow(self, disk, amount, dryrun, backingstore, _es):
        path = self.Path(disk["logical_id"][1])
        if not dryrun and backingstore:
            os.truncate(path, os.path.getsize(path) + amount * MiB)

    def _transfer_read(self, disk, offset, max_size):
        return transfer.ReadChunk(str(self.Path(disk["logical_id"][1])), offset,
                                  max_size)

    def _transfer_write(self, disk, offset, data):
        return transfer.WriteChunk(str(self.Path(disk["logical_id"][1])), offset,
                                   transfer.DecodeChunk(data))

    def _transfer_checksum(self, disk):
        return transfer.Checksum(str(self.Path(disk["logical_id"][1])))


class InstanceKit(CmdlibKit):
    """CmdlibKit with FakeNodes on node1..node3 and instance builders."""

    def __init__(self, tmp_path, nodes=("node2", "node3"), offline=()):
        super().__init__(tmp_path / "cfg", nodes=nodes, offline=offline)
        self.nodes = {}
        for short in ("node1", *nodes):
            self.nodes[short] = FakeNode(short, tmp_path / short,
                                         tmp_path / "shared")
            if short not in offline:
                self.ScriptNode(short, self.nodes[short])
        cluster = self.cfg.GetClusterInfo()
        cluster.enabled_disk_templates = [constants.DT_DISKLESS, constants.DT_FILE,
                                          constants.DT_SHARED_FILE]
        cluster.ipolicy["disk-templates"] = list(cluster.enabled_disk_templates)

    def AddInstance(self, name="inst1.example.com", template="diskless",
                    node="node1", disks=(), up=False, nics=1, memory=128):
        """Add an instance to the config (and run it on node if up)."""
        (short_name, _, _) = name.partition(".")
        node_uuid = self.NodeUuid(node)
        inst = objects.Instance(
            name=name, primary_node=node_uuid, os="debian", hypervisor="fake",
            admin_state=constants.ADMINST_UP if up else constants.ADMINST_DOWN,
            beparams={"maxmem": memory, "minmem": memory},
            nics=[objects.NIC(mac=self.cfg.GenerateMAC(),
                              uuid=f"nic-{short_name}-{idx}", nicparams={})
                  for idx in range(nics)],
            disks=[], disks_active=up)
        self.cfg.AddInstance(inst)
        self.glm.acquire(0, ["BGL"], shared=1)
        try:
            self.glm.add(1, [name])
        finally:
            self.glm.release(0)
        for idx, size in enumerate(disks):
            base = FILE_DIR if template == constants.DT_FILE else SHARED_DIR
            path = f"{base}/{name}/disk{idx}"
            disk = objects.Disk(dev_type=template, logical_id=["loop", path],
                                size=size, mode="rw", iv_name=f"disk/{idx}",
                                nodes=[node_uuid], params={})
            self.cfg.AddInstanceDisk(inst.uuid, disk)
            if template != constants.DT_DISKLESS:
                self.nodes[node]._blockdev_create(disk.ToDict(), size, name, True,
                                                  "", False)
        if up:
            self.nodes[node].running[name] = memory
        return inst

    def Instance(self, name="inst1.example.com"):
        return self.cfg.GetInstanceInfoByName(name)

    def NodeOf(self, name="inst1.example.com"):
        uuid = self.Instance(name).primary_node
        return self.cfg.GetNodeInfo(uuid).name.split(".")[0]

    def Saved(self):
        return json.loads(pathlib.Path(self.cfg._cfg_file).read_text())


def Refused(kit, op, error=errors.OpPrereqError, match=None):
    """Run op expecting error; check nothing was saved. Returns the error."""
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(error, match=match) as exc:
        kit.Run(op)
    assert kit.cfg.GetConfigSerialNo() == serial
    assert not kit.OwnedAnything()
    return exc.value


@pytest.fixture
def kit(tmp_path):
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path)
    yield kit
    kit.Close()


def _FileSize(kit, node, name="inst1.example.com", idx=0):
    return os.path.getsize(kit.nodes[node].Path(f"{FILE_DIR}/{name}/disk{idx}"))


# --- grow-disk --------------------------------------------------------------------


def testGrowDiskGrowsTheFileAndRecordsTheSize(kit):
    kit.AddInstance(template="file", disks=[64])
    cbs = RecordingCbs()
    kit.Run(opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=0,
                                       amount=32), cbs)
    assert _FileSize(kit, "node1") == 96 * MiB
    disk = kit.cfg.GetInstanceDisks(kit.Instance().uuid)[0]
    assert disk.size == 96
    saved = kit.Saved()["disks"][disk.uuid]
    assert saved["size"] == 96
    grows = kit.nodes["node1"].Called("blockdev_grow")
    assert [(g[1], g[2], g[3]) for g in grows] == \
        [(32, True, True), (32, False, True), (32, False, False)]
    assert any("Growing disk 0 of instance 'inst1.example.com' by 32M to 96M"
               in msg for msg in cbs.Messages())
    # The instance's disks were not active before: they are not after.
    assert not kit.Instance().disks_active


def testGrowingTheSecondDiskLinksItUnderItsOwnIndex(kit):
    kit.AddInstance(template="file", disks=[16, 16])
    kit.Run(opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=1, amount=16))
    (assemble,) = kit.nodes["node1"].Called("blockdev_assemble")
    assert assemble[0]["iv_name"] == "disk/1" and assemble[3] == 1
    assert _FileSize(kit, "node1", idx=1) == 32 * MiB
    assert _FileSize(kit, "node1", idx=0) == 16 * MiB


def testGrowDiskAbsoluteAndRefusals(kit):
    kit.AddInstance(template="file", disks=[64])
    kit.Run(opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=0,
                                       amount=128, absolute=True))
    assert _FileSize(kit, "node1") == 128 * MiB
    Refused(kit, opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=0,
                                            amount=100, absolute=True),
            match=r"Requested size \(100M\) is smaller than current disk size"
                  r" \(128M\)")
    Refused(kit, opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=3,
                                            amount=1),
            match="Invalid disk index: 3")
    kit.AddInstance(name="dl.example.com")
    Refused(kit, opcodes.OpInstanceGrowDisk(instance_name="dl", disk=0, amount=1),
            match="disk layout does not support growing")
    Refused(kit, opcodes.OpInstanceGrowDisk(instance_name="nosuch", disk=0,
                                            amount=1),
            match="Instance 'nosuch' not known")


def testGrowDiskFailingOnTheNodeChangesNothing(kit):
    kit.AddInstance(template="file", disks=[64])
    kit.nodes["node1"].fail["blockdev_grow"] = "not enough space"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError,
                       match="Dry-run grow request failed to node"
                             " node1.example.com: not enough space"):
        kit.Run(opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=0,
                                           amount=32))
    assert _FileSize(kit, "node1") == 64 * MiB
    assert kit.cfg.GetInstanceDisks(kit.Instance().uuid)[0].size == 64
    assert kit.Saved()["serial_no"] >= serial  # only disks_active may flip
    assert not kit.OwnedAnything()


# --- activate / deactivate --------------------------------------------------------


def testActivateAndDeactivateDisks(kit):
    kit.AddInstance(template="file", disks=[16, 16])
    result = kit.Run(opcodes.OpInstanceActivateDisks(instance_name="inst1"))
    root = kit.nodes["node1"].root
    assert result == [
        ("node1.example.com", f"disk/{idx}",
         str(root / f"srv/ganeti/file-storage/inst1.example.com/disk{idx}"))
        for idx in (0, 1)]
    assert kit.nodes["node1"].links == {"inst1.example.com:0",
                                        "inst1.example.com:1"}
    assert kit.Instance().disks_active
    kit.Run(opcodes.OpInstanceDeactivateDisks(instance_name="inst1"))
    assert len(kit.nodes["node1"].Called("blockdev_shutdown")) == 2
    assert not kit.Instance().disks_active
    assert kit.Saved()["instances"][kit.Instance().uuid]["disks_active"] is False


def testActivateDisksFailureMarksThemInactive(kit):
    kit.AddInstance(template="file", disks=[16])
    kit.nodes["node1"].fail["blockdev_assemble"] = "device busy"
    cbs = RecordingCbs()
    with pytest.raises(errors.OpExecError, match="Cannot activate block devices"):
        kit.Run(opcodes.OpInstanceActivateDisks(instance_name="inst1"), cbs)
    assert not kit.Instance().disks_active
    assert any("device busy" in msg for msg in cbs.Messages())


def testDeactivateRefusedWhileRunningUnlessForced(kit):
    kit.AddInstance(template="file", disks=[16], up=True)
    kit.nodes["node1"].running["inst1.example.com"] = 128
    Refused(kit, opcodes.OpInstanceDeactivateDisks(instance_name="inst1"),
            match="is marked to be up, cannot shutdown disks")
    kit.cfg.MarkInstanceDown(kit.Instance().uuid)
    with pytest.raises(errors.OpPrereqError,
                       match="inst1.example.com is running, cannot shutdown"):
        kit.Run(opcodes.OpInstanceDeactivateDisks(instance_name="inst1"))
    kit.Run(opcodes.OpInstanceDeactivateDisks(instance_name="inst1", force=True))
    assert not kit.Instance().disks_active


def testActivateDisksOnOfflinePrimaryIsRefused(tmp_path):
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path, offline=["node3"])
    try:
        kit.AddInstance(template="file", disks=[16], node="node3")
        Refused(kit, opcodes.OpInstanceActivateDisks(instance_name="inst1"),
                match="Can't use offline node: node3.example.com")
    finally:
        kit.Close()


# --- recreate-disks ---------------------------------------------------------------


def testRecreateDisksCreatesMissingFiles(kit):
    kit.AddInstance(template="file", disks=[16, 32])
    for idx in (0, 1):
        kit.nodes["node1"].Path(f"{FILE_DIR}/inst1.example.com/disk{idx}").unlink()
    kit.Run(opcodes.OpInstanceRecreateDisks(instance_name="inst1", disks=[1]))
    assert _FileSize(kit, "node1", idx=1) == 32 * MiB
    assert not kit.nodes["node1"].Path(
        f"{FILE_DIR}/inst1.example.com/disk0").exists()
    kit.Run(opcodes.OpInstanceRecreateDisks(
        instance_name="inst1", disks=[[0, {"size": "24M"}]]))
    assert _FileSize(kit, "node1", idx=0) == 24 * MiB
    assert kit.cfg.GetInstanceDisks(kit.Instance().uuid)[0].size == 24


def testRecreateDisksOnAnotherNode(kit):
    kit.AddInstance(template="file", disks=[16])
    cbs = RecordingCbs()
    kit.Run(opcodes.OpInstanceRecreateDisks(instance_name="inst1",
                                            nodes=["node2"]), cbs)
    assert kit.NodeOf() == "node2"
    assert _FileSize(kit, "node2") == 16 * MiB
    disk = kit.cfg.GetInstanceDisks(kit.Instance().uuid)[0]
    assert disk.nodes == [kit.NodeUuid("node2")]
    assert kit.cfg.GetInstanceNodes(kit.Instance().uuid) == [kit.NodeUuid("node2")]
    assert any("remove any disks left on the older nodes" in msg
               for msg in cbs.Messages())


def testRecreateDisksRefusals(kit):
    kit.AddInstance(template="file", disks=[16], up=True)
    Refused(kit, opcodes.OpInstanceRecreateDisks(instance_name="inst1"),
            match="is marked to be up, cannot recreate disks")
    kit.AddInstance(name="two.example.com", template="file", disks=[16, 16])
    Refused(kit, opcodes.OpInstanceRecreateDisks(instance_name="two",
                                                 disks=[5]),
            match="Invalid disk index '5'")
    Refused(kit, opcodes.OpInstanceRecreateDisks(instance_name="two",
                                                 disks=[0], nodes=["node2"]),
            match="Can't recreate disks partially and change the nodes")
    Refused(kit, opcodes.OpInstanceRecreateDisks(
        instance_name="two", disks=[[0, {"vg": "xenvg"}]]),
        match=r"try to change unmodifyable parameter\(s\): vg")
    Refused(kit, opcodes.OpInstanceRecreateDisks(instance_name="two",
                                                 nodes=["node2", "node3"]),
            match="currently has 1 nodes, but 2 replacement nodes")
    kit.AddInstance(name="dl.example.com")
    Refused(kit, opcodes.OpInstanceRecreateDisks(instance_name="dl"),
            match="Instance 'dl.example.com' has no disks")


def testHookEnvironmentOfGrowDisk(kit):
    kit.AddInstance(template="file", disks=[64])
    kit.Run(opcodes.OpInstanceGrowDisk(instance_name="inst1", disk=0, amount=8))
    (hpath, phase, env), *_ = kit.nodes["node1"].Called("hooks_runner")
    assert (hpath, phase) == ("disk-grow", "pre")
    assert env["GANETI_DISK"] == "0" and env["GANETI_AMOUNT"] == "8"
    assert env["GANETI_INSTANCE_NAME"] == "inst1.example.com"
    assert env["GANETI_INSTANCE_DISK_TEMPLATE"] == "file"
    assert env["GANETI_INSTANCE_DISK0_SIZE"] == "64"
    assert serializer.LoadJson(serializer.DumpJson(env))  # plain strings only
    assert DOMAIN in env["GANETI_INSTANCE_PRIMARY"]
