"""Tag LUs (ganeti/cmdlib/tags.py) through mcpu."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402

from ganeti import config, errors  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2"])
    yield kit
    kit.Close()


def _Reload(kit):
    """The configuration as saved on disk."""
    return config.ConfigWriter(cfg_file=str(kit.cfg._cfg_file), offline=True)


def testClusterTags(kit):
    kit.Run(opcodes.OpTagsSet(kind="cluster", tags=["b", "a:1"]))
    assert kit.Run(opcodes.OpTagsGet(kind="cluster")) == ["a:1", "b"]
    assert sorted(_Reload(kit).GetClusterInfo().GetTags()) == ["a:1", "b"]
    kit.Run(opcodes.OpTagsDel(kind="cluster", tags=["b"]))
    assert kit.Run(opcodes.OpTagsGet(kind="cluster")) == ["a:1"]


def testNodeTags(kit):
    kit.Run(opcodes.OpTagsSet(kind="node", name="node2", tags=["rack1"]))
    assert kit.Run(opcodes.OpTagsGet(kind="node", name="node2.example.com")) == [
        "rack1"]
    assert kit.cfg.GetNodeInfo(kit.NodeUuid("node2")).GetTags() == {"rack1"}
    assert kit.Run(opcodes.OpTagsGet(kind="node", name="node1")) == []
    assert not kit.OwnedAnything()


def testNodeTagsLockTheNode(kit):
    seen = {}

    class _Cbs(RecordingCbs):
        def NotifyStart(self):
            seen.update({row[0]: row[1] for row in kit.glm.QueryLocks(
                ["name", "mode"])})

    kit.Run(opcodes.OpTagsSet(kind="node", name="node2", tags=["x"]), _Cbs())
    assert seen[f"node/{kit.NodeUuid('node2')}"] == "exclusive"
    seen.clear()
    kit.Run(opcodes.OpTagsGet(kind="node", name="node2", use_locking=True), _Cbs())
    assert seen[f"node/{kit.NodeUuid('node2')}"] == "shared"


def testDeleteMissingTag(kit):
    kit.Run(opcodes.OpTagsSet(kind="cluster", tags=["a"]))
    with pytest.raises(errors.OpPrereqError, match="Tag\\(s\\) 'zz' not found"):
        kit.Run(opcodes.OpTagsDel(kind="cluster", tags=["a", "zz"]))
    assert kit.Run(opcodes.OpTagsGet(kind="cluster")) == ["a"]


def testInvalidTag(kit):
    with pytest.raises(errors.TagError, match="invalid characters"):
        kit.Run(opcodes.OpTagsSet(kind="cluster", tags=["no spaces"]))
    assert kit.Run(opcodes.OpTagsGet(kind="cluster")) == []


def testUnknownNode(kit):
    with pytest.raises(errors.OpPrereqError, match="Node 'node9' not known"):
        kit.Run(opcodes.OpTagsGet(kind="node", name="node9"))


def testMissingName(kit):
    with pytest.raises(errors.OpPrereqError, match="Missing name"):
        kit.Run(opcodes.OpTagsGet(kind="node"))


def testSearch(kit):
    kit.Run(opcodes.OpTagsSet(kind="cluster", tags=["web", "db"]))
    kit.Run(opcodes.OpTagsSet(kind="node", name="node2", tags=["webfront"]))
    assert kit.Run(opcodes.OpTagsSearch(pattern="^web")) == [
        ("/cluster", "web"), ("/nodes/node2.example.com", "webfront")]


def testSearchBadPattern(kit):
    with pytest.raises(errors.OpPrereqError, match="Invalid search pattern"):
        kit.Run(opcodes.OpTagsSearch(pattern="(unclosed"))
