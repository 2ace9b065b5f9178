"""LUQuery and LUQueryFields (ganeti/cmdlib/query.py) through mcpu."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import errors, query  # noqa: E402

N = query.RS_NORMAL


def _NodeInfo(mfree, bootid="boot-id"):
    hv_info = {"memory_free": mfree, "memory_total": 4096, "memory_dom0": 512,
               "cpu_total": 4, "cpu_nodes": 1, "cpu_sockets": 1, "cpu_dom0": 4}
    return Ok([bootid, [], [hv_info]])


@pytest.fixture
def kit(tmp_path):
    # node1: master; node2 answers; node3 offline; node4 fails; node5 is down
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3", "node4", "node5"],
                    offline=["node3"])
    kit.ScriptNode("node1", _NodeInfo(1000, "boot-1"))
    kit.ScriptNode("node2", _NodeInfo(2000, "boot-2"))
    kit.ScriptNode("node4", Fail("hypervisor exploded"))
    yield kit
    kit.Close()


def testNodeQueryWithLiveData(kit):
    result = kit.Run(opcodes.OpQuery(what="node",
                                     fields=["name", "mfree", "bootid", "dfree",
                                             "offline", "nosuchfield"]))
    assert [fdef["name"] for fdef in result["fields"]] == [
        "name", "mfree", "bootid", "dfree", "offline", "nosuchfield"]
    assert result["fields"][5]["kind"] == "unknown"
    assert result["data"] == [
        [[N, "node1.example.com"], [N, 1000], [N, "boot-1"], [N, 0], [N, False],
         [query.RS_UNKNOWN, None]],
        [[N, "node2.example.com"], [N, 2000], [N, "boot-2"], [N, 0], [N, False],
         [query.RS_UNKNOWN, None]],
        [[N, "node3.example.com"], [query.RS_OFFLINE, None],
         [query.RS_OFFLINE, None], [query.RS_OFFLINE, None], [N, True],
         [query.RS_UNKNOWN, None]],
        [[N, "node4.example.com"], [query.RS_NODATA, None],
         [query.RS_NODATA, None], [query.RS_NODATA, None], [N, False],
         [query.RS_UNKNOWN, None]],
        [[N, "node5.example.com"], [query.RS_NODATA, None],
         [query.RS_NODATA, None], [query.RS_NODATA, None], [N, False],
         [query.RS_UNKNOWN, None]],
    ]
    # the offline node was not contacted; the call asked for the default
    # hypervisor's data (the first enabled disk template is diskless: no
    # storage units)
    assert kit.RequestsTo("node3") == []
    (request,) = kit.RequestsTo("node2", "node_info")
    assert request.args[0] == []
    assert request.args[1][0][0] == "fake"


def testNodeQueryWithoutLiveFieldsSendsNoRpc(kit):
    result = kit.Run(opcodes.OpQuery(what="node", fields=["name", "role", "pip"]))
    assert [row[0][1] for row in result["data"]] == [
        f"node{i}.example.com" for i in range(1, 6)]
    assert result["data"][0][1:] == [[N, "M"], [N, "192.0.2.1"]]
    assert kit.transport.requests == []


def testNodeQueryNameFilterKeepsOrder(kit):
    qfilter = ["|", ["=", "name", "node4.example.com"],
               ["=", "name", "node2.example.com"]]
    result = kit.Run(opcodes.OpQuery(what="node", fields=["name", "mfree"],
                                     qfilter=qfilter))
    assert result["data"] == [[[N, "node4.example.com"], [query.RS_NODATA, None]],
                              [[N, "node2.example.com"], [N, 2000]]]
    # only the wanted nodes were asked
    assert kit.RequestsTo("node1") == []


def testNodeQueryUnknownNameInFilter(kit):
    with pytest.raises(errors.OpPrereqError, match="not known"):
        kit.Run(opcodes.OpQuery(what="node", fields=["name"],
                                qfilter=["=", "name", "node9.example.com"]))


def testNodeQueryBadFilterField(kit):
    with pytest.raises(errors.ParameterError, match="nosuchfield"):
        kit.Run(opcodes.OpQuery(what="node", fields=["name"],
                                qfilter=["=", "nosuchfield", 1]))
    assert not kit.OwnedAnything()


def testNodeQueryWithLockingLocksNodesShared(kit):
    seen = []
    kit.transport._scripts.clear()
    for short in ["node1", "node2"]:
        kit.ScriptNode(short, lambda request: (seen.append(
            {row[0]: row[1] for row in kit.glm.QueryLocks(["name", "mode"])}),
            _NodeInfo(1)[1])[1] and _NodeInfo(1))
    kit.Run(opcodes.OpQuery(what="node", fields=["name", "mfree"],
                            use_locking=True))
    assert seen and all(modes[f"node/{kit.NodeUuid('node2')}"] == "shared"
                        for modes in seen)


def testLockQuery(kit):
    result = kit.Run(opcodes.OpQuery(what="lock", fields=["name", "mode"]))
    rows = {row[0][1]: row[1][1] for row in result["data"]}
    # the query itself runs under the shared BGL
    assert rows["cluster/BGL"] == "shared"
    assert rows[f"node/{kit.NodeUuid('node1')}"] is None


def testQueryFields(kit):
    result = kit.Run(opcodes.OpQueryFields(what="node", fields=["name", "mfree"]))
    assert result == {"fields": [
        {"name": "name", "title": "Node", "kind": "text", "doc": "Node name"},
        {"name": "mfree", "title": "MFree", "kind": "unit",
         "doc": "Memory available for instance allocations"}]}
    everything = kit.Run(opcodes.OpQueryFields(what="lock"))
    assert [fdef["name"] for fdef in everything["fields"]] == [
        "mode", "name", "owner", "pending"]


@pytest.mark.parametrize("what", ["cluster"])
def testUnsupportedResource(kit, what):
    with pytest.raises(errors.OpPrereqError, match="not supported yet") as exc:
        kit.Run(opcodes.OpQuery(what=what, fields=["name"]))
    assert exc.value.args[1] == errors.ECODE_INVAL


def testJobQueryNeedsTheQueue(kit):
    with pytest.raises(errors.OpPrereqError, match="job queue"):
        kit.Run(opcodes.OpQuery(what="job", fields=["id"]))


def testJobQueryDelegatesToTheQueue(kit):
    calls = []

    class _Queue:
        def QueryJobsNew(self, fields, qfilter):
            calls.append((fields, qfilter))
            return query.GetQueryResponse(
                query.Query(query.JOB_FIELDS, fields, namefield="id"),
                [(7, None)])

    kit.context.jobqueue = _Queue()
    result = kit.Run(opcodes.OpQuery(what="job", fields=["id"],
                                     qfilter=["=", "id", 7]))
    assert result["data"] == [[[N, 7]]]
    assert calls == [(["id"], ["=", "id", 7])]
