"""gnt-node migrate/evacuate (ganeti/cmdlib/node_evacuate.py) through mcpu.

Both LUs only plan: the follow-up jobs they submit are recorded by
RecordingCbs. The allocator is the built-in one, fed by the FakeNodes of
test_cmdlib_instance_storage.
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import RecordingCbs, opcodes  # noqa: E402
from unit.cmdlib.test_cmdlib_instance_storage import (  # noqa: E402
    InstanceKit,
    Refused,
)

from ganeti import errors  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    (tmp_path / "cfg").mkdir()
    kit = InstanceKit(tmp_path)
    yield kit
    kit.Close()


def testNodeMigrateSubmitsOneJobPerPrimaryInstance(kit):
    kit.AddInstance(name="b.example.com", up=True)
    kit.AddInstance(name="a.example.com", up=True)
    kit.AddInstance(name="elsewhere.example.com", node="node2")
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpNodeMigrate(node_name="node1", mode="non-live",
                                           target_node="node3"), cbs)
    assert result == {"jobs": [[True, 100], [True, 101]]}
    assert [[op.OP_ID for op in job] for job in cbs.submitted] == \
        [["OP_INSTANCE_MIGRATE"]] * 2
    ops = [job[0] for job in cbs.submitted]
    assert [op.instance_name for op in ops] == ["a.example.com", "b.example.com"]
    assert {(op.mode, op.target_node) for op in ops} == {("non-live", "node3")}
    # The planning itself moved nothing.
    assert kit.NodeOf("a.example.com") == "node1"
    (_, phase, env), *_ = kit.nodes["node1"].Called("hooks_runner")
    assert (phase, env["GANETI_HOOKS_PATH"]) == ("pre", "node-migrate")
    assert env["GANETI_NODE_NAME"] == "node1.example.com"
    assert not kit.OwnedAnything()


def testNodeMigrateWithoutInstancesSubmitsNothing(kit):
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpNodeMigrate(node_name="node2"), cbs)
    assert result == {"jobs": []} and cbs.submitted == []
    assert "No primary instances on node node2.example.com" in cbs.Messages()
    Refused(kit, opcodes.OpNodeMigrate(node_name="node9"),
            match="Node 'node9' not known")


def testEvacuatePrimariesWithTheDefaultAllocator(kit):
    kit.AddInstance(name="a.example.com", up=True)
    kit.AddInstance(name="b.example.com", template="sharedfile", disks=[1024],
                    up=True)
    kit.nodes["node3"].memory_free = 64  # only node2 can take them
    cbs = RecordingCbs()
    kit.Run(opcodes.OpNodeEvacuate(node_name="node1", mode="primary-only"), cbs)
    ops = [job[0] for job in cbs.submitted]
    assert [(op.OP_ID, op.instance_name, op.target_node) for op in ops] == [
        ("OP_INSTANCE_MIGRATE", "a.example.com", "node2.example.com"),
        ("OP_INSTANCE_MIGRATE", "b.example.com", "node2.example.com")]
    assert all(op.allow_failover for op in ops)
    messages = cbs.Messages()
    assert any("Evacuating instances from node 'node1.example.com':"
               " a.example.com, b.example.com" in msg for msg in messages)
    assert any("a.example.com (to node2.example.com)" in msg for msg in messages)


def testEvacuatingAFileInstanceFailsClearly(kit):
    kit.AddInstance(name="a.example.com", template="file", disks=[1024])
    cbs = RecordingCbs()
    with pytest.raises(errors.OpExecError,
                       match=r"Unable to evacuate instances a.example.com"
                             r" \(Instances of type file cannot be relocated\)"):
        kit.Run(opcodes.OpNodeEvacuate(node_name="node1", mode="primary-only"),
                cbs)
    assert cbs.submitted == []
    assert not kit.OwnedAnything()


def testEvacuateRefusals(kit):
    kit.AddInstance()
    Refused(kit, opcodes.OpNodeEvacuate(node_name="node1", mode="all"),
            match="not possible to evacuate all instances at once")
    Refused(kit, opcodes.OpNodeEvacuate(node_name="node1", mode="primary-only",
                                        remote_node="node2"),
            match="Without the use of an iallocator only secondary instances")
    Refused(kit, opcodes.OpNodeEvacuate(node_name="node1", mode="secondary-only",
                                        remote_node="node1"),
            match="Can not use evacuated node as a new secondary node")
    Refused(kit, opcodes.OpNodeEvacuate(node_name="node1", mode="secondary-only",
                                        remote_node="node2", iallocator="hail"),
            match="Do not specify both, iallocator and node")


def testEvacuateNodeWithoutSuchInstances(kit):
    kit.AddInstance()
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpNodeEvacuate(node_name="node1",
                                            mode="secondary-only",
                                            remote_node="node2"), cbs)
    assert result == {"jobs": []}
    assert any("No instances to evacuate from node 'node1.example.com'" in msg
               for msg in cbs.Messages())
