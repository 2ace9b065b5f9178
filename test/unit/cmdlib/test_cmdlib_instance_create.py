"""LUInstanceCreate (ganeti/cmdlib/instance_create.py) through mcpu.

A master (node1) and two nodes run on the real pieces (ConfigWriter, lock
manager, mcpu, RpcRunner); each node answers through an InstanceNode that
behaves like noded with the fake hypervisor and file storage: running
instances live in a dict, file disks are real sparse files below the
node's own directory in tmp_path, and any procedure can be made to fail.

InstanceNode and InstanceCluster are also used by test_cmdlib_instance_ops.
"""

import os
import pathlib
import sys
import threading

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import DOMAIN, CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import constants, errors  # noqa: E402

MiB = 1024 * 1024
OS_NAME = "noop"


class NodeError(Exception):
    """A procedure failed on the fake node (becomes a failed RPC)."""


class InstanceNode:
    """One node's noded: fake hypervisor, file disks, one OS "noop".

    Attributes:
      running: instance name -> {"memory", "vcpus", "state"}.
      calls: [(procedure, args)] in arrival order.
      fail: procedure -> message (that procedure fails here).
      memory_free: what node_info reports.
      variants: the variants of the "noop" OS.
    """

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.running = {}
        self.calls = []
        self.fail = {}
        self.fail_blockdev_create_after = None
        self.memory_free = 4096
        self.variants = ["default", "other"]
        self.bridges = {"xen-br0"}
        self.lock = threading.Lock()

    def File(self, path):
        return self.root / path.lstrip("/")

    def Called(self, procedure):
        with self.lock:
            return [args for name, args in self.calls if name == procedure]

    def __call__(self, request):
        name, args = request.procedure, request.args
        with self.lock:
            self.calls.append((name, args))
            if name in self.fail:
                return Fail(self.fail[name])
            handler = getattr(self, "_" + name, None)
            try:
                return Ok(handler(*args) if handler else None)
            except NodeError as err:
                return Fail(str(err))

    def _hooks_runner(self, *_args):
        return []

    def _node_info(self, storage_units, _hv_specs):
        hv = {"memory_free": self.memory_free, "memory_total": 8192,
              "memory_dom0": 512, "cpu_total": 4}
        space = [{"type": unit[0], "name": unit[1], "storage_free": 50000,
                  "storage_size": 100000} for unit in storage_units or []]
        return ["boot-id", space, [hv]]

    def _os_diagnose(self):
        return [[OS_NAME, "/srv/ganeti/os/noop", True, "", self.variants, [],
                 [20], True]]

    def _os_validate(self, required, name, _checks, _params, _force):
        if name.split("+")[0] != OS_NAME:
            if required:
                raise NodeError(f"OS '{name}' not found")
            return False
        return True

    def _bridges_exist(self, bridges):
        missing = sorted(set(bridges) - self.bridges)
        if missing:
            raise NodeError(f"Missing bridges {', '.join(missing)}")

    def _all_instances_info(self, _hvs, _hvparams):
        return dict(self.running)

    def _instance_list(self, _hvs, _hvparams):
        return sorted(self.running)

    def _instance_info(self, name, _hv, _hvparams):
        return dict(self.running.get(name, {}))

    def _instance_start(self, inst, _paused, _reason):
        self.running[inst["name"]] = {"memory": inst["beparams"]["maxmem"],
                                      "vcpus": inst["beparams"]["vcpus"],
                                      "state": 0, "time": 1.0}

    def _instance_shutdown(self, inst, _timeout, _reason):
        self.running.pop(inst["name"], None)

    def _instance_reboot(self, inst, _type, _timeout, _reason):
        if inst["name"] not in self.running:
            raise NodeError(f"Cannot reboot instance {inst['name']} that is not"
                            " running")

    def _instance_os_add(self, inst, _reinstall, _debug):
        for disk in inst["disks_info"]:
            if not self.File(disk["logical_id"][1]).exists():
                raise NodeError("disk missing")

    def _instance_console_info(self, request):
        return {name: {"instance": name, "kind": "msg", "message": "fake console"}
                for name in request}

    def _file_storage_dir_create(self, path):
        self.File(path).mkdir(parents=True, exist_ok=True)

    def _file_storage_dir_remove(self, path):
        if self.File(path).exists():
            self.File(path).rmdir()

    def _file_storage_dir_rename(self, old, new):
        self.File(old).rename(self.File(new))

    def _blockdev_create(self, disk, size, _owner, _on_primary, _info, _excl):
        if self.fail_blockdev_create_after is not None:
            if self.fail_blockdev_create_after == 0:
                raise NodeError("No space left on device")
            self.fail_blockdev_create_after -= 1
        path = self.File(disk["logical_id"][1])
        with open(path, "wb") as handle:
            handle.truncate(size * MiB)
        return disk["logical_id"][1]

    def _blockdev_remove(self, disk):
        path = self.File(disk["logical_id"][1])
        if path.exists():
            path.unlink()

    def _blockdev_assemble(self, disk, _inst, _on_primary, _idx):
        return [disk["logical_id"][1], None, None]

    def _blockdev_find(self, disk):
        path = disk["logical_id"][1]
        if not self.File(path).exists():
            return None
        return {"dev_path": path, "major": None, "minor": None,
                "sync_percent": None, "estimated_time": None, "is_degraded": False,
                "ldisk_status": 1}


class InstanceCluster:
    """A CmdlibKit whose master and nodes are InstanceNodes."""

    def __init__(self, tmp_path, nodes=("node2", "node3")):
        (tmp_path / "cfg").mkdir()
        self.kit = CmdlibKit(tmp_path / "cfg", nodes=list(nodes))
        self.cfg = self.kit.cfg
        # Small disks pass the instance policy (the default minimum is 1 GiB).
        cluster = self.cfg.GetClusterInfo()
        cluster.ipolicy["minmax"][0]["min"]["disk-size"] = 1
        self.cfg.Update(cluster)
        self.nodes = {}
        for short in ("node1", *nodes):
            node = InstanceNode(tmp_path / "roots" / short)
            node.File(cluster.file_storage_dir).mkdir(parents=True)
            self.nodes[short] = node
            self.kit.ScriptNode(short, node)

    def Run(self, op, cbs=None):
        return self.kit.Run(op, cbs=cbs)

    def Create(self, name, cbs=None, **kwargs):
        params = {"instance_name": name, "mode": "create", "disks": [],
                  "disk_template": "diskless", "nics": [{}],
                  "os_type": f"{OS_NAME}+default", "pnode": "node2",
                  "name_check": False, "ip_check": False}
        params.update(kwargs)
        if params.get("iallocator") and "pnode" not in kwargs:
            params.pop("pnode")
        return self.Run(opcodes.OpInstanceCreate(**params), cbs=cbs)

    def Instance(self, name):
        return self.cfg.GetInstanceInfoByName(f"{name}.{DOMAIN}") or \
            self.cfg.GetInstanceInfoByName(name)

    def Files(self, short):
        """What the node has below its file storage directory."""
        node = self.nodes[short]
        storage = node.File(self.cfg.GetClusterInfo().file_storage_dir)
        return sorted(str(p.relative_to(storage)) for p in storage.rglob("*"))

    def Close(self):
        self.kit.Close()


@pytest.fixture
def cluster(tmp_path):
    vc = InstanceCluster(tmp_path)
    yield vc
    vc.Close()


def _Refused(cluster, ecode, match, **kwargs):
    """Run a create expected to fail before any change; return the error."""
    serial = cluster.cfg.GetConfigSerialNo()
    files = {short: cluster.Files(short) for short in cluster.nodes}
    with pytest.raises(errors.OpPrereqError, match=match) as err:
        cluster.Create(kwargs.pop("name", "inst1"), **kwargs)
    if ecode is not None:
        assert err.value.args[1] == ecode
    assert cluster.cfg.GetConfigSerialNo() == serial
    assert {short: cluster.Files(short) for short in cluster.nodes} == files
    assert not cluster.kit.OwnedAnything()
    return err.value


# --- creating -------------------------------------------------------------------------


def test_diskless_instance_is_created_started_and_reported(cluster):
    cbs = RecordingCbs()
    result = cluster.Create("inst1", cbs=cbs)
    assert result == [f"node2.{DOMAIN}"]
    inst = cluster.Instance("inst1")
    assert inst.admin_state == constants.ADMINST_UP
    assert inst.primary_node == cluster.kit.NodeUuid("node2")
    assert inst.os == "noop+default" and inst.hypervisor == "fake"
    assert inst.disks == [] and inst.disks_active
    assert len(inst.nics) == 1 and inst.nics[0].mac.startswith("aa:00:00:")
    assert "inst1" in cluster.nodes["node2"].running
    messages = cbs.Messages()
    assert "adding instance inst1 to cluster config" in messages
    assert "adding disks to cluster config" in messages
    assert "* starting instance..." in messages
    # A diskless instance gets no OS installation (Ganeti 3.0).
    assert cluster.nodes["node2"].Called("instance_os_add") == []


def test_file_instance_gets_sparse_files_named_as_ganeti_and_its_os(cluster):
    cluster.Create("inst1", disk_template="file", start=False,
                   disks=[{"size": 1024}, {"size": "512M", "mode": "ro"}])
    inst = cluster.Instance("inst1")
    disks = cluster.cfg.GetInstanceDisks(inst.uuid)
    assert [d.size for d in disks] == [1024, 512]
    assert [d.mode for d in disks] == ["rw", "ro"]
    assert [d.iv_name for d in disks] == ["disk/0", "disk/1"]
    storage = cluster.cfg.GetClusterInfo().file_storage_dir
    for idx, disk in enumerate(disks):
        driver, path = disk.logical_id
        assert driver == "loop"
        assert os.path.dirname(path) == f"{storage}/inst1"
        assert path.endswith(f".file.disk{idx}")
        node_file = cluster.nodes["node2"].File(path)
        assert node_file.stat().st_size == disk.size * MiB
    assert len(cluster.nodes["node2"].Called("instance_os_add")) == 1
    assert inst.admin_state == constants.ADMINST_DOWN
    assert inst.disks_active


def test_no_install_skips_the_os_and_the_start(cluster):
    cbs = RecordingCbs()
    cluster.Create("inst1", disk_template="file", disks=[{"size": 128}],
                   no_install=True, cbs=cbs)
    assert cluster.nodes["node2"].Called("instance_os_add") == []
    assert cluster.nodes["node2"].running == {}
    assert cluster.Instance("inst1").admin_state == constants.ADMINST_DOWN
    assert any("disabling startup" in msg for msg in cbs.Messages())


def test_given_mac_and_parameters_are_kept(cluster):
    cluster.Create("inst1", nics=[{"mac": "AA:00:00:12:34:56"}],
                   beparams={"maxmem": "256M", "minmem": 256, "vcpus": 2},
                   tags=["web"])
    inst = cluster.Instance("inst1")
    assert inst.nics[0].mac == "aa:00:00:12:34:56"
    assert inst.beparams == {"maxmem": 256, "minmem": 256, "vcpus": 2}
    assert inst.tags == ["web"]
    assert cluster.nodes["node2"].running["inst1"]["memory"] == 256


def test_hooks_get_the_instance_environment(cluster):
    cluster.Create("inst1", disk_template="file", disks=[{"size": 128}])
    pre = [args for args in cluster.nodes["node1"].Called("hooks_runner")
           if args[1] == "pre"]
    assert pre and pre[0][0] == "instance-add"
    env = pre[0][2]
    inst = cluster.Instance("inst1")
    assert env["GANETI_INSTANCE_NAME"] == "inst1"
    assert env["GANETI_INSTANCE_PRIMARY"] == f"node2.{DOMAIN}"
    assert env["GANETI_ADD_MODE"] == "create"
    assert env["GANETI_INSTANCE_NIC_COUNT"] == "1"
    assert env["GANETI_INSTANCE_NIC0_MAC"] == inst.nics[0].mac
    assert env["GANETI_INSTANCE_NIC0_BRIDGE"] == "xen-br0"
    assert env["GANETI_INSTANCE_DISK_COUNT"] == "1"
    assert env["GANETI_INSTANCE_DISK0_SIZE"] == "128"
    assert env["GANETI_INSTANCE_DISK_TEMPLATE"] == "file"
    assert env["GANETI_INSTANCE_BE_maxmem"] == "128"


def test_dry_run_changes_nothing(cluster):
    serial = cluster.cfg.GetConfigSerialNo()
    result = cluster.Create("inst1", dry_run=True)
    assert result == [f"node2.{DOMAIN}"]
    assert cluster.cfg.GetConfigSerialNo() == serial
    assert cluster.Instance("inst1") is None


# --- refusals before any change -------------------------------------------------------


def test_unknown_os_is_refused(cluster):
    _Refused(cluster, errors.ECODE_INVAL, "OS 'nosuch' not in supported OS list",
             os_type="nosuch")


@pytest.mark.parametrize("os_type, match", [
    ("noop+bad", "Unsupported OS variant 'bad'"),
    ("noop", "must include a variant"),
])
def test_bad_variant_is_refused(cluster, os_type, match):
    _Refused(cluster, errors.ECODE_INVAL, match, os_type=os_type)


def test_duplicate_name_is_refused(cluster):
    cluster.Create("inst1")
    _Refused(cluster, errors.ECODE_EXISTS, "already in the cluster")


def test_duplicate_mac_is_refused(cluster):
    cluster.Create("inst1", nics=[{"mac": "aa:00:00:00:00:01"}])
    _Refused(cluster, errors.ECODE_NOTUNIQUE, "MAC address aa:00:00:00:00:01 already",
             name="inst2", nics=[{"mac": "aa:00:00:00:00:01"}])
    _Refused(cluster, errors.ECODE_NOTUNIQUE, "already in use",
             name="inst3", nics=[{"mac": "aa:00:00:00:00:09"},
                                 {"mac": "aa:00:00:00:00:09"}])


@pytest.mark.parametrize("size", ["12Q", "big", -5])
def test_unparsable_disk_size_is_refused(cluster, size):
    _Refused(cluster, errors.ECODE_INVAL, "Invalid disk size", disk_template="file",
             disks=[{"size": size}])


def test_too_little_memory_is_refused_only_when_starting(cluster):
    cluster.nodes["node2"].memory_free = 100
    err = _Refused(cluster, errors.ECODE_NORES, "Not enough memory on node")
    assert "needed 128 MiB, available 100 MiB" in str(err)
    cluster.Create("inst1", start=False)
    assert cluster.Instance("inst1") is not None


@pytest.mark.parametrize("kwargs, ecode, match", [
    ({"disk_template": "sharedfile", "disks": [{"size": 1}]}, errors.ECODE_STATE,
     "not enabled in cluster"),
    ({"mode": "import"}, errors.ECODE_INVAL,
     "Instance import \\(gnt-backup\\) is not available in this version"),
    ({"pnode": "nosuch"}, errors.ECODE_NOENT, "Node 'nosuch' not known"),
    ({"nics": [{"mac": "zz"}]}, errors.ECODE_INVAL, "Invalid MAC address"),
    ({"nics": [{"mode": "routed"}]}, errors.ECODE_INVAL, "Routed nic mode requires"),
    ({"beparams": {"maxmem": 64, "minmem": 64}}, errors.ECODE_INVAL,
     "violates policy"),
    ({"beparams": {"maxmem": 100}}, errors.ECODE_INVAL,
     "Minimum memory \\(128 MiB\\) must not be larger than maximum memory"),
    ({"beparams": {"nosuch": 1}}, errors.ECODE_INVAL, "Unknown parameter"),
    ({"hypervisor": "kvm"}, errors.ECODE_STATE, "not enabled in the cluster"),
    ({"disk_template": "file", "disks": []}, errors.ECODE_INVAL, "at least one"),
    ({"iallocator": "hail", "pnode": "node2"}, errors.ECODE_INVAL,
     "Do not specify both, iallocator and node"),
    ({"opportunistic_locking": True}, errors.ECODE_INVAL,
     "Opportunistic locking is only available"),
    ({"file_storage_dir": "../../etc", "disk_template": "file",
      "disks": [{"size": 1}]}, errors.ECODE_INVAL, "outside the cluster storage"),
])
def test_bad_input_is_refused_clearly(cluster, kwargs, ecode, match):
    _Refused(cluster, ecode, match, **kwargs)


def test_missing_bridge_is_refused(cluster):
    cluster.nodes["node2"].bridges = set()
    _Refused(cluster, errors.ECODE_ENVIRON, "Missing bridges xen-br0")


def test_ipolicy_can_be_ignored(cluster):
    cluster.Create("inst1", beparams={"maxmem": 64, "minmem": 64},
                   ignore_ipolicy=True)
    assert cluster.nodes["node2"].running["inst1"]["memory"] == 64


@pytest.mark.parametrize("state", ["drained", "offline"])
def test_unusable_primary_node_is_refused(cluster, state):
    node = cluster.cfg.GetNodeInfo(cluster.kit.NodeUuid("node2"))
    setattr(node, state, True)
    cluster.cfg.Update(node)
    _Refused(cluster, errors.ECODE_STATE, f"Cannot use {state} primary node")


# --- failures after the checks leave nothing behind -----------------------------------


def test_failed_disk_creation_removes_what_was_made(cluster):
    cluster.nodes["node2"].fail_blockdev_create_after = 1
    serial = cluster.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError, match="No space left on device"):
        cluster.Create("inst1", disk_template="file",
                       disks=[{"size": 10}, {"size": 10}])
    assert cluster.Instance("inst1") is None
    assert cluster.cfg.GetConfigSerialNo() == serial
    assert cluster.Files("node2") == []
    assert len(cluster.nodes["node2"].Called("blockdev_remove")) == 1


def test_failed_os_install_removes_the_instance(cluster):
    cluster.nodes["node2"].fail["instance_os_add"] = "OS create script failed (exit 1)"
    with pytest.raises(errors.OpExecError, match="Could not add os for instance"):
        cluster.Create("inst1", disk_template="file", disks=[{"size": 10}])
    assert cluster.Instance("inst1") is None
    assert cluster.cfg.GetAllDisksInfo() == {}
    assert cluster.Files("node2") == []
    assert cluster.nodes["node2"].running == {}
    # The name can be used again.
    del cluster.nodes["node2"].fail["instance_os_add"]
    cluster.Create("inst1", disk_template="file", disks=[{"size": 10}])


# --- allocation -----------------------------------------------------------------------


def test_allocator_picks_the_node_with_most_free_memory(cluster):
    cluster.nodes["node1"].memory_free = 1000
    cluster.nodes["node2"].memory_free = 2000
    cluster.nodes["node3"].memory_free = 6000
    cbs = RecordingCbs()
    assert cluster.Create("inst1", iallocator="hail", cbs=cbs) == \
        [f"node3.{DOMAIN}"]
    assert any("via iallocator hail" in msg for msg in cbs.Messages())


def test_without_node_the_builtin_default_allocator_is_used(cluster):
    node3 = cluster.cfg.GetNodeInfo(cluster.kit.NodeUuid("node3"))
    node3.drained = True
    cluster.cfg.Update(node3)
    cluster.nodes["node1"].memory_free = 500
    cluster.nodes["node3"].memory_free = 8000
    assert cluster.Create("inst1", iallocator=None, pnode=None) == \
        [f"node2.{DOMAIN}"]


def test_allocator_failure_names_each_nodes_reason(cluster):
    for node in cluster.nodes.values():
        node.memory_free = 10
    err = _Refused(cluster, errors.ECODE_NORES, "Can't compute nodes using"
                   " iallocator 'hail'", iallocator="hail", pnode=None)
    assert "not enough memory" in str(err)


def test_opportunistic_allocation_uses_the_nodes_it_could_lock(cluster):
    assert cluster.Create("inst1", iallocator="hail", opportunistic_locking=True,
                          pnode=None)
    assert not cluster.kit.OwnedAnything()


def test_unknown_allocator_is_refused(cluster):
    _Refused(cluster, errors.ECODE_NOENT, "Instance allocator 'nosuch' not found",
             iallocator="nosuch", pnode=None)


def test_parallel_creations_all_succeed_with_unique_macs(cluster):
    errors_seen = []

    def _Create(idx):
        try:
            cluster.Create(f"par{idx}", start=False,
                           pnode=("node2", "node3")[idx % 2])
        except errors.GenericError as err:  # reported below
            errors_seen.append(err)

    threads = [threading.Thread(target=_Create, args=(idx,)) for idx in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors_seen == []
    instances = cluster.cfg.GetAllInstancesInfo().values()
    assert len(instances) == 12
    assert len({inst.nics[0].mac for inst in instances}) == 12
