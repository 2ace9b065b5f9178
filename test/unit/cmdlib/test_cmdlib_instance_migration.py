"""Migrate, failover and move (ganeti/cmdlib/instance_migration.py) via mcpu.

The nodes are the FakeNodes of test_cmdlib_instance_storage: instances
"run" in a dict per node, file disks are real sparse files, and a move runs
the real transfer code on them.
"""

import hashlib
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import RecordingCbs, opcodes  # noqa: E402
from unit.cmdlib.test_cmdlib_instance_storage import (  # noqa: E402
    FILE_DIR,
    InstanceKit,
    Refused,
)

from ganeti import constants, errors  # noqa: E402
from ganeti.cmdlib import instance_migration  # noqa: E402

MiB = 1024 * 1024
INST = "inst1.example.com"


@pytest.fixture
def kit(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_migration.TLMigrateInstance,
                        "_MIGRATION_POLL_INTERVAL", 0)
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path)
    yield kit
    kit.Close()


def _Migrate(kit, target="node2", cbs=None, **kwargs):
    return kit.Run(opcodes.OpInstanceMigrate(instance_name="inst1",
                                             target_node=target, **kwargs), cbs)


def _Procedures(kit, node):
    return [name for name, _ in kit.nodes[node].calls if name != "hooks_runner"]


# --- migrate ----------------------------------------------------------------------


def testMigrateThereAndBack(kit):
    kit.AddInstance(up=True, memory=256)
    cbs = RecordingCbs()
    _Migrate(kit, cbs=cbs)
    assert kit.NodeOf() == "node2"
    assert kit.nodes["node2"].running == {INST: 256}
    assert kit.nodes["node1"].running == {}
    assert kit.Saved()["instances"][kit.Instance().uuid]["primary_node"] == \
        kit.NodeUuid("node2")
    source = _Procedures(kit, "node1")
    assert source.index("migration_info") < source.index("instance_migrate") < \
        source.index("instance_finalize_migration_src")
    target = _Procedures(kit, "node2")
    assert target.index("accept_instance") < \
        target.index("instance_finalize_migration_dst")
    (args,) = kit.nodes["node1"].Called("instance_migrate")
    assert args[3] is True  # live, the fake hypervisor's default mode
    assert args[2] == kit.NodeIp("node2")
    messages = cbs.Messages()
    assert "Migrating instance inst1.example.com" in messages
    assert "* memory transfer complete" in messages
    _Migrate(kit, target="node1")
    assert kit.NodeOf() == "node1"
    assert kit.nodes["node1"].running == {INST: 256}
    assert not kit.OwnedAnything()


def testMigrateWithoutTargetLetsTheDefaultAllocatorChoose(kit):
    kit.AddInstance(up=True)
    kit.nodes["node3"].memory_free = 100  # too little: node2 is the only fit
    cbs = RecordingCbs()
    kit.Run(opcodes.OpInstanceMigrate(instance_name="inst1"), cbs)
    assert kit.NodeOf() == "node2"
    assert any("Selected nodes for instance inst1.example.com via iallocator"
               " hail: node2.example.com" in msg for msg in cbs.Messages())


def testMigrateHooksEnvironment(kit):
    kit.AddInstance(up=True)
    _Migrate(kit, mode="non-live")
    pre = [env for hpath, phase, env in kit.nodes["node1"].Called("hooks_runner")
           if phase == "pre"]
    (env,) = pre
    assert env["GANETI_HOOKS_PATH"] == "instance-migrate"
    assert env["GANETI_MIGRATE_LIVE"] == "False"
    assert env["GANETI_OLD_PRIMARY"] == "node1.example.com"
    assert env["GANETI_NEW_PRIMARY"] == "node2.example.com"
    assert env["GANETI_OLD_SECONDARY"] == ""
    assert env["GANETI_INSTANCE_NAME"] == INST
    # The hooks run on the master, source and target.
    assert kit.nodes["node2"].Called("hooks_runner")
    (args,) = kit.nodes["node1"].Called("instance_migrate")
    assert args[3] is False


def testFileInstanceCannotMigrate(kit):
    kit.AddInstance(template="file", disks=[16], up=True)
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node2"),
            match="Instance's disk layout 'file' does not allow migrations")
    Refused(kit, opcodes.OpInstanceFailover(instance_name="inst1",
                                            target_node="node2"),
            match="Instance's disk layout 'file' does not allow failovers")
    assert kit.NodeOf() == "node1"


def testDeadTargetNodeIsAClearErrorAndTheInstanceStays(tmp_path):
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path)
    try:
        kit.AddInstance(up=True)
        kit.transport._scripts.pop(kit.NodeIp("node2"))  # its noded is gone
        err = Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                                     target_node="node2"),
                      match="Can't get data from node node2.example.com")
        assert err.args[1] == errors.ECODE_ENVIRON
        assert kit.NodeOf() == "node1"
        assert kit.nodes["node1"].running == {INST: 128}
        assert not kit.nodes["node1"].Called("instance_migrate")
    finally:
        kit.Close()


@pytest.mark.parametrize("procedure, message", [
    ("accept_instance", "Could not pre-migrate instance inst1.example.com:"
                        " qemu refused"),
    ("instance_migrate", "Could not migrate instance inst1.example.com:"
                         " qemu refused"),
])
def testFailureAbortsOnBothNodesAndLeavesTheInstanceOnTheSource(
        kit, procedure, message):
    kit.AddInstance(up=True)
    node = "node2" if procedure == "accept_instance" else "node1"
    kit.nodes[node].fail[procedure] = "qemu refused"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError, match=message):
        _Migrate(kit)
    assert kit.cfg.GetConfigSerialNo() == serial
    assert kit.NodeOf() == "node1"
    assert kit.nodes["node1"].running == {INST: 128}
    (dst,) = kit.nodes["node2"].Called("instance_finalize_migration_dst")
    assert dst[2] is False
    (src,) = kit.nodes["node1"].Called("instance_finalize_migration_src")
    assert src[1] is False
    assert not kit.OwnedAnything()


def testPollsWhileActiveAndAbortsOnFailedStatus(kit):
    kit.AddInstance(up=True)
    kit.nodes["node1"].migration_status = ["active", "active", "completed"]
    _Migrate(kit)
    assert len(kit.nodes["node1"].Called("instance_get_migration_status")) == 3
    assert kit.NodeOf() == "node2"
    kit.nodes["node2"].migration_status = ["active", "failed"]
    with pytest.raises(errors.OpExecError,
                       match="Could not migrate instance inst1.example.com:"
                             " hypervisor returned failure"):
        _Migrate(kit, target="node1")
    assert kit.NodeOf() == "node2"


def testMigrateRefusals(kit):
    kit.AddInstance(up=True)
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node2",
                                           iallocator="hail"),
            match="Do not specify both, iallocator and node")
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           iallocator="nosuch"),
            match="Instance allocator 'nosuch' not found")
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node1"),
            match=r"Cannot migrate instance inst1.example.com to its primary"
                  r" \(node1.example.com\)")
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node2", live=True,
                                           mode="live"),
            match="Only one of the 'live' and 'mode' parameters")
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="nodeX"),
            match="Node 'nodeX' not known")
    kit.nodes["node2"].memory_free = 64
    err = Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                                 target_node="node2"),
                  match="Not enough memory on node node2.example.com for"
                        " migrating instance inst1.example.com: needed 128 MiB,"
                        " available 64 MiB")
    assert err.args[1] == errors.ECODE_NORES
    kit.nodes["node2"].memory_free = 4096
    kit.nodes["node2"].bridges = set()
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node2"),
            match="Error checking bridges on destination node")


def testStoppedInstanceNeedsFailoverUnlessAllowed(kit):
    kit.AddInstance(up=True)
    kit.nodes["node1"].running.clear()  # died behind the cluster's back
    Refused(kit, opcodes.OpInstanceMigrate(instance_name="inst1",
                                           target_node="node2"),
            match="Can't migrate, please use failover: Instance"
                  " inst1.example.com is not running")
    cbs = RecordingCbs()
    _Migrate(kit, cbs=cbs, allow_failover=True)
    assert "Failover instance inst1.example.com" in cbs.Messages()
    assert kit.NodeOf() == "node2"
    assert kit.nodes["node2"].running == {INST: 128}  # admin state is up


def testBalloonsWhenTheTargetHasLessThanTheCurrentMemory(kit):
    kit.AddInstance(up=True, memory=512)
    kit.cfg.GetInstanceInfoByName(INST).beparams["minmem"] = 128
    kit.nodes["node2"].memory_free = 300
    with pytest.raises(errors.OpExecError, match="Memory ballooning not allowed"):
        _Migrate(kit, allow_runtime_changes=False)
    _Migrate(kit)
    assert kit.nodes["node1"].Called("instance_balloon_memory")[0][1] == 300
    assert kit.nodes["node2"].running == {INST: 300}


def testHypervisorVersionMismatch(kit):
    kit.AddInstance(up=True)
    kit.nodes["node1"].hv_version = [2, 11]
    kit.nodes["node2"].hv_version = [3, 0]
    with pytest.raises(errors.OpExecError,
                       match=r"Unsupported migration between hypervisor versions"):
        _Migrate(kit)
    assert kit.NodeOf() == "node1"
    _Migrate(kit, ignore_hvversions=True)
    assert kit.NodeOf() == "node2"


def testCleanupAdoptsWhereTheInstanceRuns(kit):
    kit.AddInstance(up=True)
    kit.nodes["node1"].running.clear()
    kit.nodes["node2"].running[INST] = 128
    cbs = RecordingCbs()
    _Migrate(kit, cbs=cbs, cleanup=True)
    assert kit.NodeOf() == "node2"
    assert any("instance running on secondary node (node2.example.com)" in msg
               for msg in cbs.Messages())
    kit.nodes["node1"].running[INST] = 128
    with pytest.raises(errors.OpExecError, match="running on two nodes"):
        _Migrate(kit, target="node1", cleanup=True)
    assert kit.NodeOf() == "node2"


# --- failover ---------------------------------------------------------------------


def testFailoverSharedfileInstance(kit):
    kit.AddInstance(template="sharedfile", disks=[16], up=True)
    kit.Run(opcodes.OpInstanceFailover(instance_name="inst1",
                                       target_node="node2"))
    assert kit.NodeOf() == "node2"
    assert kit.nodes["node1"].running == {}
    assert kit.nodes["node2"].running == {INST: 128}
    assert "blockdev_shutdown" in _Procedures(kit, "node1")
    node2 = _Procedures(kit, "node2")
    assert node2.index("blockdev_assemble") < node2.index("instance_start")
    assert kit.cfg.GetInstanceDisks(kit.Instance().uuid)[0].nodes == \
        [kit.NodeUuid("node2")]
    env = kit.nodes["node1"].Called("hooks_runner")[0][2]
    assert env["GANETI_HOOKS_PATH"] == "instance-failover"
    assert env["GANETI_NEW_PRIMARY"] == "node2.example.com"


def testFailoverOfAStoppedInstanceDoesNotStartIt(kit):
    kit.AddInstance(template="sharedfile", disks=[16])
    kit.Run(opcodes.OpInstanceFailover(instance_name="inst1",
                                       target_node="node2"))
    assert kit.NodeOf() == "node2"
    assert not kit.nodes["node2"].Called("instance_start")


def testFailoverWithUnresponsiveSourceNeedsIgnoreConsistency(kit):
    kit.AddInstance(template="sharedfile", disks=[16], up=True)
    kit.nodes["node1"].fail["instance_shutdown"] = "node hung"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError,
                       match="Could not shutdown instance inst1.example.com on"
                             " node node1.example.com: node hung"):
        kit.Run(opcodes.OpInstanceFailover(instance_name="inst1",
                                           target_node="node2"))
    assert kit.cfg.GetConfigSerialNo() == serial
    cbs = RecordingCbs()
    kit.Run(opcodes.OpInstanceFailover(instance_name="inst1",
                                       target_node="node2",
                                       ignore_consistency=True), cbs)
    assert kit.NodeOf() == "node2"
    assert any("proceeding anyway" in msg for msg in cbs.Messages())


# --- move -------------------------------------------------------------------------


def _DiskFile(kit, node, idx=0):
    return kit.nodes[node].Path(f"{FILE_DIR}/{INST}/disk{idx}")


def _Fill(path, writes):
    with open(path, "r+b") as handle:
        for offset, data in writes:
            handle.seek(offset)
            handle.write(data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def testMoveCopiesTheFilesAndVerifiesThem(kit):
    kit.AddInstance(template="file", disks=[32, 8], up=True)
    digest0 = _Fill(_DiskFile(kit, "node1"), [(0, b"boot" * 1000),
                                              (20 * MiB, b"data" * 5000)])
    digest1 = _Fill(_DiskFile(kit, "node1", 1), [(8 * MiB - 4, b"tail")])
    cbs = RecordingCbs()
    kit.Run(opcodes.OpInstanceMove(instance_name="inst1", target_node="node3"),
            cbs)
    assert kit.NodeOf() == "node3"
    for idx, digest in ((0, digest0), (1, digest1)):
        copy = _DiskFile(kit, "node3", idx)
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
        assert not _DiskFile(kit, "node1", idx).exists()
    assert not _DiskFile(kit, "node1").parent.exists()
    assert kit.nodes["node3"].running == {INST: 128}
    assert kit.nodes["node1"].running == {}
    assert any(f"sha256 {digest0} identical on both nodes" in msg
               for msg in cbs.Messages())
    assert kit.cfg.GetInstanceNodes(kit.Instance().uuid) == [kit.NodeUuid("node3")]


def testFailedCopyRemovesTheCopyAndKeepsTheInstance(kit):
    kit.AddInstance(template="file", disks=[16])
    _Fill(_DiskFile(kit, "node1"), [(0, b"x" * 100)])
    kit.nodes["node3"].fail["transfer_write"] = "No space left on device"
    serial = kit.cfg.GetConfigSerialNo()
    with pytest.raises(errors.OpExecError,
                       match="Errors during disk copy: Cannot write disk/0 on"
                             " node node3.example.com: No space left on device"):
        kit.Run(opcodes.OpInstanceMove(instance_name="inst1",
                                       target_node="node3"))
    assert kit.cfg.GetConfigSerialNo() == serial
    assert kit.NodeOf() == "node1"
    assert _DiskFile(kit, "node1").exists()
    assert not _DiskFile(kit, "node3").exists()


def testChecksumMismatchIsDetected(kit):
    kit.AddInstance(template="file", disks=[16])
    _Fill(_DiskFile(kit, "node1"), [(0, b"x" * 100)])
    original = kit.nodes["node3"]._transfer_write

    def _Corrupting(disk, offset, data):
        written = original(disk, offset, data)
        _Fill(_DiskFile(kit, "node3"), [(MiB, b"!")])
        return written

    kit.nodes["node3"]._transfer_write = _Corrupting
    with pytest.raises(errors.OpExecError,
                       match="Verification of disk/0 failed: the copy on"
                             " node3.example.com"):
        kit.Run(opcodes.OpInstanceMove(instance_name="inst1",
                                       target_node="node3"))
    assert kit.NodeOf() == "node1"
    assert not _DiskFile(kit, "node3").exists()


def testANodeThatStopsMakingProgressEndsTheMove(kit):
    kit.AddInstance(template="file", disks=[16])
    kit.nodes["node1"]._transfer_read = \
        lambda _disk, offset, _max: {"size": 16 * MiB, "offset": offset,
                                     "data": None}
    with pytest.raises(errors.OpExecError,
                       match="Node node1.example.com answered offset 0 to a read"
                             " of disk/0 at 0"):
        kit.Run(opcodes.OpInstanceMove(instance_name="inst1",
                                       target_node="node3"))
    assert kit.NodeOf() == "node1"
    assert not _DiskFile(kit, "node3").exists()


def testMoveRefusals(kit):
    kit.AddInstance(template="sharedfile", disks=[16])
    Refused(kit, opcodes.OpInstanceMove(instance_name="inst1",
                                        target_node="node2"),
            match="Instance disk 0 has disk type sharedfile and is not suitable"
                  " for copying")
    kit.AddInstance(name="two.example.com", template="file", disks=[16])
    Refused(kit, opcodes.OpInstanceMove(instance_name="two", target_node="node1"),
            match="Instance two.example.com is already on the node"
                  " node1.example.com")
    node3 = kit.cfg.GetNodeInfoByName("node3.example.com")
    node3.drained = True
    kit.cfg.Update(node3)
    Refused(kit, opcodes.OpInstanceMove(instance_name="two", target_node="node3"),
            match="Can't use drained node node3.example.com")


def testMoveOfADisklessInstance(kit):
    kit.AddInstance(up=True)
    kit.Run(opcodes.OpInstanceMove(instance_name="inst1", target_node="node2"))
    assert kit.NodeOf() == "node2"
    assert kit.nodes["node2"].running == {INST: 128}
    assert constants.ADMINST_UP == kit.Instance().admin_state
