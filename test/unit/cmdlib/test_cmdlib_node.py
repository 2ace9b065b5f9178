"""Node LUs (ganeti/cmdlib/node.py, node_roles.py) through mcpu.

A master (node1) with a few nodes runs on the real pieces: a ConfigWriter
whose save hook is the real ClusterDistributor (config.data to the online
candidates, ssconf to every online node and into a local ssconf directory),
the real lock manager and masterd's GanetiContext, and an RpcRunner whose
transport is a FakeTransport. Each node answers through a FakeNode, which
records what it was sent.
"""

import os
import pathlib
import sys
import types

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import (  # noqa: E402
    CLUSTER_NAME,
    DOMAIN,
    MASTER_NAME,
    NODED_PORT,
    NodeIp,
    RecordingCbs,
)
from support.fake_transport import Fail, FakeTransport, Ok  # noqa: E402

from ganeti import (  # noqa: E402
    config,
    constants,
    errors,
    locking,
    mcpu,
    netutils,
    objects,
    opcodes,
    serializer,
    ssconf,
)
from ganeti.cmdlib import node_roles  # noqa: E402
from ganeti.rpc import client as rpc_client  # noqa: E402
from ganeti.rpc import encoding  # noqa: E402
from ganeti.rpc.resolver import ConfigResolver  # noqa: E402
from ganeti.server import distribute, masterd  # noqa: E402

ROLE = {"C": (True, False, False), "R": (False, False, False),
        "D": (False, True, False), "O": (False, False, True)}


def _IpLookup(name):
    if netutils.IPAddress.IsValid(name):
        return name
    raise errors.ResolverError(name, 0, f"Unknown host {name} (test)")


class FakeNode:
    """One node's noded: answers by procedure and records the requests."""

    def __init__(self, name):
        self.name = name
        self.digest = f"DIGEST:{name}"
        self.version = constants.PROTOCOL_VERSION
        self.failing = {}
        self.calls = []
        self.configs = []  # serial_no of every config.data uploaded

    def Calls(self, *procedures):
        """The calls received among procedures, in order."""
        return [call for call in self.calls if call in procedures]

    def __call__(self, request):
        proc = request.procedure
        self.calls.append(proc)
        if proc in self.failing:
            return Fail(self.failing[proc])
        if proc == "node_crypto_tokens":
            return Ok([[kind, self.digest] for kind, _, _ in request.args[0]])
        if proc == "upload_file":
            data = encoding.Decompress(request.args[0][1])
            self.configs.append(serializer.LoadJson(data)["serial_no"])
            return Ok(None)
        if proc == "version":
            return Ok(self.version)
        if proc == "hooks_runner":
            return Ok([])
        if proc == "node_leave_cluster":
            return Ok("Shutdown scheduled")
        return Ok(None)


class NodeCluster:
    """node1 (master) plus nodes with given roles; see the module doc."""

    def __init__(self, tmp_path, roles, pool_size=10, instances=()):
        data = config.MakeMinimalConfig(CLUSTER_NAME, MASTER_NAME, NodeIp(1))
        data.cluster.candidate_pool_size = pool_size
        data.cluster.modify_etc_hosts = False
        data.cluster.candidate_certs = {data.cluster.master_node: "DIGEST:node1"}
        self.ssconf_dir = tmp_path / "ssconf"
        self.ssconf_dir.mkdir()
        self.store = ssconf.SimpleStore(str(self.ssconf_dir),
                                        _lockfile=str(tmp_path / "ssconf.lock"))
        self.transport = FakeTransport()
        self.distributor = distribute.ClusterDistributor(
            lambda: self.cfg, lambda: self.runner, self.store)
        self.cfg = config.ConfigWriter(
            cfg_file=str(tmp_path / "config.data"), _data=data,
            _save_hook=self.distributor.OnConfigSave)
        self.runner = rpc_client.RpcRunner(
            ConfigResolver(self.cfg, nslookup_fn=_IpLookup), self.transport,
            port=NODED_PORT, cfg=self.cfg)
        self.nodes = {"node1": FakeNode("node1")}
        self.transport.Script(NodeIp(1), self.nodes["node1"])
        for short, role in roles.items():
            self._AddNode(short, role)
        for name, primary in instances:
            self.cfg.AddInstance(objects.Instance(
                name=name, primary_node=self.Uuid(primary), os="debian",
                hypervisor="fake", admin_state="down", nics=[], disks=[],
                disks_active=False))
        self.glm = locking.GanetiLockManager(
            nodes=self.cfg.GetNodeList(), nodegroups=self.cfg.GetNodeGroupList(),
            instances=[i.name for i in self.cfg.GetAllInstancesInfo().values()],
            networks=[])
        self.context = masterd.GanetiContext(self.cfg, self.glm,
                                             runner_fn=lambda _cfg: self.runner)
        self.cfg.Save()
        for node in self.nodes.values():
            node.calls.clear()
            node.configs.clear()

    def _AddNode(self, short, role):
        index = int(short.removeprefix("node"))
        candidate, drained, offline = ROLE[role]
        node = objects.Node(
            name=f"{short}.{DOMAIN}", primary_ip=NodeIp(index),
            secondary_ip=NodeIp(index), master_candidate=candidate,
            offline=offline, drained=drained, master_capable=True,
            vm_capable=True, group=None)
        self.nodes[short] = FakeNode(short)
        self.transport.Script(NodeIp(index), self.nodes[short])
        self.cfg.AddNode(node)
        if candidate:
            self.cfg.AddNodeToCandidateCerts(node.uuid, f"DIGEST:{short}")

    def Uuid(self, short):
        return self.cfg.GetNodeInfoByName(f"{short}.{DOMAIN}").uuid

    def Node(self, short):
        return self.cfg.GetNodeInfo(self.Uuid(short))

    def Role(self, short):
        node = self.Node(short)
        if node.uuid == self.cfg.GetMasterNode():
            return "M"
        return node_roles.GetFlagsRole(node)

    def Roles(self):
        return {name.split(".")[0]: self.Role(name.split(".")[0])
                for name in sorted(n.name for n in
                                   self.cfg.GetAllNodesInfo().values())}

    def Run(self, op, cbs=None):
        return mcpu.Processor(self.context, 1).ExecOpCode(op, cbs)

    def Serial(self):
        return self.cfg.GetConfigSerialNo()

    def OnDisk(self):
        return pathlib.Path(self.cfg._cfg_file).read_bytes()

    def Certs(self):
        return dict(self.cfg.GetClusterInfo().candidate_certs)

    def SsconfCerts(self):
        return self.store.GetMasterCandidatesCertMap()

    def Close(self):
        self.context.Close()
        self.runner.Close()


@pytest.fixture
def make(tmp_path):
    made = []

    def _Make(roles, **kwargs):
        cluster = NodeCluster(tmp_path, roles, **kwargs)
        made.append(cluster)
        return cluster

    yield _Make
    for cluster in made:
        cluster.Close()


def _Modify(node, **kwargs):
    return opcodes.OpNodeSetParams(node_name=node, **kwargs)


def _AssertUnchanged(cluster, before_serial, before_bytes):
    assert cluster.Serial() == before_serial
    assert cluster.OnDisk() == before_bytes


# --- promotion ----------------------------------------------------------------


def testPromoteBringsNodeUpToDateFirst(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    serial = vc.Serial()
    result = vc.Run(_Modify("node3", master_candidate=True))
    assert result == [("master_candidate", "True")]
    assert vc.Role("node3") == "C"
    node3 = vc.nodes["node3"]
    # The digest and a copy of the current configuration come first, before
    # the promoting save, which sends the new configuration again.
    assert node3.Calls("node_crypto_tokens", "upload_file", "write_ssconf_files") \
        == ["node_crypto_tokens", "upload_file", "upload_file", "write_ssconf_files"]
    assert node3.configs == [serial, vc.Serial()]
    assert vc.Certs()[vc.Uuid("node3")] == "DIGEST:node3"
    assert vc.SsconfCerts()[vc.Uuid("node3")] == "DIGEST:node3"
    assert "node3.example.com" in vc.store.GetMasterCandidates()


def testPromoteCopiesTheJobQueue(make, tmp_path):
    vc = make({"node2": "R"})
    queue_dir = tmp_path / "queue"
    (queue_dir / "archive" / "0").mkdir(parents=True)
    for name in ("job-10", "job-9", "serial", "lock", "archive/0/job-1"):
        (queue_dir / name).write_text(f"content of {name}")
    vc.context.jobqueue = types.SimpleNamespace(queue_dir=str(queue_dir))
    vc.Run(_Modify("node2", master_candidate=True))
    requests = [req for req in vc.transport.RequestsTo(NodeIp(2))
                if req.procedure.startswith("jobqueue_")]
    assert requests[0].procedure == "jobqueue_purge"
    copied = {os.path.basename(req.args[0]):
              encoding.Decompress(req.args[1]).decode() for req in requests[1:]}
    assert copied == {"job-9": "content of job-9", "job-10": "content of job-10",
                      "serial": "content of serial"}
    assert vc.Role("node2") == "C"


def testFailedJobQueueCopyIsOnlyAWarning(make, tmp_path):
    vc = make({"node2": "R"})
    (tmp_path / "queue").mkdir()
    vc.context.jobqueue = types.SimpleNamespace(queue_dir=str(tmp_path / "queue"))
    vc.nodes["node2"].failing["jobqueue_purge"] = "read-only filesystem"
    cbs = RecordingCbs()
    vc.Run(_Modify("node2", master_candidate=True), cbs)
    assert vc.Role("node2") == "C"
    assert any("Could not clear the job queue of node node2.example.com:"
               " read-only filesystem" in msg for msg in cbs.Messages())


def testPromoteUnreachableNodeChangesNothing(make):
    vc = make({"node2": "R"})
    vc.nodes["node2"].failing["node_crypto_tokens"] = "no certificate"
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpExecError,
                       match="Could not retrieve the SSL digest of node"
                       " node2.example.com: no certificate"):
        vc.Run(_Modify("node2", master_candidate=True))
    _AssertUnchanged(vc, *before)
    assert vc.Role("node2") == "R"
    assert vc.Uuid("node2") not in vc.Certs()


def testPromoteFailsWhenConfigCannotBeCopied(make):
    vc = make({"node2": "R"})
    vc.nodes["node2"].failing["upload_file"] = "disk full"
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpExecError, match="up to date.*disk full"):
        vc.Run(_Modify("node2", master_candidate=True))
    _AssertUnchanged(vc, *before)


def testNotMasterCapableCannotBePromoted(make):
    vc = make({"node2": "R"})
    vc.Run(_Modify("node2", master_capable=False))
    with pytest.raises(errors.OpPrereqError, match="not master capable"):
        vc.Run(_Modify("node2", master_candidate=True))


def testMasterCapableAgainAutoPromotes(make):
    vc = make({"node2": "R"})
    vc.Node("node2").master_capable = False
    vc.cfg.Update(vc.Node("node2"))
    cbs = RecordingCbs()
    vc.Run(_Modify("node2", master_capable=True), cbs)
    assert vc.Role("node2") == "C"
    assert any("Auto-promoting" in msg for msg in cbs.Messages())


# --- demotion -----------------------------------------------------------------


def testDemoteCandidateWithEnoughLeft(make):
    vc = make({"node2": "C", "node3": "C"}, pool_size=2)
    result = vc.Run(_Modify("node2", master_candidate=False))
    assert result == [("master_candidate", "False")]
    assert vc.Roles() == {"node1": "M", "node2": "R", "node3": "C"}
    # Its certificate is revoked, and it is told to drop config.data after
    # the save (which no longer sent it the configuration).
    assert vc.Uuid("node2") not in vc.Certs()
    assert vc.Uuid("node2") not in vc.SsconfCerts()
    assert vc.nodes["node2"].Calls("upload_file", "write_ssconf_files",
                                   "node_demote_from_mc") == [
        "write_ssconf_files", "node_demote_from_mc"]


def testDemoteBelowPoolNeedsAutoPromote(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    before = (vc.Serial(), vc.OnDisk())
    for change in ({"master_candidate": False}, {"offline": True},
                   {"drained": True}, {"master_capable": False}):
        with pytest.raises(errors.OpPrereqError,
                           match="Not enough master candidates.*--auto-promote"):
            vc.Run(_Modify("node2", **change))
    _AssertUnchanged(vc, *before)


def testOfflineWithAutoPromotePromotesAnother(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    cbs = RecordingCbs()
    result = vc.Run(_Modify("node2", offline=True, auto_promote=True), cbs)
    assert result == [("master_candidate", "False"), ("offline", "True")]
    assert vc.Roles() == {"node1": "M", "node2": "O", "node3": "C"}
    assert vc.Certs() == {vc.cfg.GetMasterNode(): "DIGEST:node1",
                          vc.Uuid("node3"): "DIGEST:node3"}
    assert "node_demote_from_mc" not in vc.nodes["node2"].calls
    assert vc.nodes["node3"].Calls("node_crypto_tokens", "upload_file") == [
        "node_crypto_tokens", "upload_file", "upload_file"]
    assert any("Promoted nodes to master candidate role: node3.example.com" in m
               for m in cbs.Messages())


def testAutoPromoteLocksAllNodes(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    held = {}

    class _Cbs(RecordingCbs):
        def NotifyStart(self):
            held.update({row[0]: row[1] for row in vc.glm.QueryLocks(
                ["name", "mode"])})

    vc.Run(_Modify("node2", drained=True, auto_promote=True), _Cbs())
    assert held[f"node/{vc.Uuid('node3')}"] == "exclusive"
    assert held[f"node/{vc.cfg.GetMasterNode()}"] == "exclusive"


def testLastCandidateIsNotTakenOut(make):
    vc = make({"node2": "C", "node3": "O"}, pool_size=2)
    before = (vc.Serial(), vc.OnDisk())
    for change in ({"offline": True}, {"drained": True},
                   {"master_candidate": False}):
        with pytest.raises(errors.OpPrereqError,
                           match="node2.example.com is the last master candidate"):
            vc.Run(_Modify("node2", auto_promote=True, **change))
    _AssertUnchanged(vc, *before)
    vc.Run(_Modify("node2", offline=True, force=True))
    assert vc.Role("node2") == "O"


def testPoolOfOneAllowsDemotingTheOnlyOtherCandidate(make):
    vc = make({"node2": "C"}, pool_size=1)
    vc.Run(_Modify("node2", master_candidate=False))
    assert vc.Role("node2") == "R"


def testMasterCapableNoDemotes(make):
    vc = make({"node2": "C", "node3": "C"})
    cbs = RecordingCbs()
    result = vc.Run(_Modify("node2", master_capable=False), cbs)
    assert result == [("master_capable", "False"), ("master_candidate", "False")]
    assert vc.Role("node2") == "R" and not vc.Node("node2").master_capable
    assert any("Demoting from master candidate" in m for m in cbs.Messages())


# --- the master ---------------------------------------------------------------


@pytest.mark.parametrize("change", [
    {"offline": True}, {"drained": True}, {"master_candidate": False},
    {"master_capable": False}])
def testMasterRoleOnlyThroughFailover(make, change):
    vc = make({"node2": "C"})
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpPrereqError, match="The master role can be"
                       " changed only via master-failover"):
        vc.Run(_Modify("node1", **change))
    _AssertUnchanged(vc, *before)
    assert vc.Role("node1") == "M"


# --- drained and offline ------------------------------------------------------


def testDrainAndUndrain(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    vc.Run(_Modify("node3", drained=True))
    assert vc.Role("node3") == "D"
    vc.Run(_Modify("node3", drained=False))
    assert vc.Role("node3") == "R"  # the pool is full: no promotion


def testSettingOneRoleClearsTheOthers(make):
    vc = make({"node2": "D", "node3": "R"})
    result = vc.Run(_Modify("node2", offline=True))
    assert result == [("drained", "False"), ("offline", "True")]
    node = vc.Node("node2")
    assert (node.master_candidate, node.drained, node.offline) == \
        (False, False, True)


def testTwoRolesAtOnceRefused(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="more than one state"):
        vc.Run(_Modify("node2", offline=True, drained=True))


def testUnsetFlagAlreadyUnsetIsIgnored(make):
    vc = make({"node2": "R"})
    cbs = RecordingCbs()
    assert vc.Run(_Modify("node2", drained=False), cbs) == []
    assert any("Ignoring request to unset flag drained" in m
               for m in cbs.Messages())
    assert vc.Role("node2") == "R"


def testBackOnlineAsCandidateIsUpdatedFirst(make):
    vc = make({"node2": "O"})
    serial = vc.Serial()
    cbs = RecordingCbs()
    result = vc.Run(_Modify("node2", offline=False), cbs)
    assert result == [("master_candidate", "True"), ("offline", "False")]
    assert vc.Role("node2") == "C"
    node2 = vc.nodes["node2"]
    assert node2.Calls("version", "node_crypto_tokens", "upload_file") == [
        "version", "node_crypto_tokens", "upload_file", "upload_file"]
    assert node2.configs[0] == serial
    assert node2.configs[-1] == vc.Serial()
    assert any("without using re-add" in m for m in cbs.Messages())


def testBackOnlineAsRegularDropsStaleConfig(make):
    vc = make({"node2": "C", "node3": "O"}, pool_size=2)
    vc.Run(_Modify("node3", offline=False))
    assert vc.Role("node3") == "R"
    assert vc.nodes["node3"].Calls("upload_file", "node_demote_from_mc") == [
        "node_demote_from_mc"]


def testBackOnlineNeedsTheNodeToAnswer(make):
    vc = make({"node2": "O"})
    vc.nodes["node2"].failing["version"] = "connection refused"
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpPrereqError, match="being de-offlined but fails"
                       " to report its version: connection refused"):
        vc.Run(_Modify("node2", offline=False))
    vc.nodes["node2"].failing.clear()
    vc.nodes["node2"].version = 2160000
    with pytest.raises(errors.OpPrereqError, match="protocol version 2160000"):
        vc.Run(_Modify("node2", offline=False))
    _AssertUnchanged(vc, *before)
    assert vc.Role("node2") == "O"


def testOfflineNodeIsNotContacted(make):
    vc = make({"node2": "C", "node3": "C"})
    vc.Run(_Modify("node3", offline=True))
    calls = len(vc.nodes["node3"].calls)
    vc.Run(_Modify("node2", ndparams={"ssh_port": 2222}))
    assert len(vc.nodes["node3"].calls) == calls
    assert vc.nodes["node2"].configs  # online candidates still get it


# --- parameters ---------------------------------------------------------------


def testNodeParameters(make):
    vc = make({"node2": "R"})
    vc.Run(_Modify("node2", ndparams={"ssh_port": "2222", "cpu_speed": 2}))
    assert vc.Node("node2").ndparams == {"ssh_port": 2222, "cpu_speed": 2.0}
    vc.Run(_Modify("node2", ndparams={"ssh_port": "default"}))
    assert vc.Node("node2").ndparams == {"cpu_speed": 2.0}


@pytest.mark.parametrize("ndparams, message", [
    ({"no_such_param": 1}, "Invalid node parameters: Unknown parameter"
                           " 'no_such_param'"),
    ({"ssh_port": "twenty-two"}, "Invalid node parameters"),
    ({"exclusive_storage": True}, "global and cannot be customized at node"
                                  " level.*exclusive_storage"),
])
def testBadNodeParameters(make, ndparams, message):
    vc = make({"node2": "R"})
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpPrereqError, match=message) as err:
        vc.Run(_Modify("node2", ndparams=ndparams))
    assert err.value.args[1] == errors.ECODE_INVAL
    _AssertUnchanged(vc, *before)


def testVmCapable(make):
    vc = make({"node2": "R"}, instances=[("inst1", "node1")])
    assert vc.Run(_Modify("node2", vm_capable=False)) == [("vm_capable", "False")]
    assert vc.Node("node2").vm_capable is False
    with pytest.raises(errors.OpPrereqError, match="hosts instances"):
        vc.Run(_Modify("node1", vm_capable=False))


def testNothingToDo(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="at least one modification"):
        vc.Run(_Modify("node2"))


def testUnknownNode(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="Node 'node9' not known"):
        vc.Run(_Modify("node9", offline=True))


def testSecondaryIp(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="valid IPv4"):
        vc.Run(_Modify("node2", secondary_ip="not-an-ip"))
    with pytest.raises(errors.OpPrereqError, match="single-homed cluster requires"):
        vc.Run(_Modify("node2", secondary_ip="198.51.100.2"))


def testPoweredNeedsOutOfBand(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="does not support out-of-band"):
        vc.Run(_Modify("node2", powered=False))


def testHypervisorState(make):
    vc = make({"node2": "R"})
    vc.Run(_Modify("node2", hv_state={"fake": {"mem_total": "1024"}}))
    assert vc.Node("node2").hv_state_static == {"fake": {"mem_total": 1024}}
    with pytest.raises(errors.OpPrereqError, match="Invalid hypervisor 'nope'"):
        vc.Run(_Modify("node2", hv_state={"nope": {}}))


def testHooksEnvironment(make):
    vc = make({"node2": "R"})
    vc.Run(_Modify("node2", drained=True))
    hooks = [req for req in vc.transport.RequestsTo(NodeIp(2))
             if req.procedure == "hooks_runner"]
    assert [req.args[:2] for req in hooks] == [["node-modify", "pre"],
                                               ["node-modify", "post"]]
    env = hooks[0].args[2]
    assert env["GANETI_DRAINED"] == "True" and env["GANETI_OFFLINE"] == "None"
    assert env["GANETI_OP_TARGET"] == "node2.example.com"


# --- node_roles ---------------------------------------------------------------


class _Lu:
    def __init__(self, vc):
        self.cfg = vc.cfg
        self.context = vc.context
        self.rpc = vc.context.GetRpc(vc.cfg)
        self.infos, self.warnings = [], []

    def LogInfo(self, msg, *args):
        self.infos.append(msg % args)

    def LogWarning(self, msg, *args):
        self.warnings.append(msg % args)


def testDecideSelfPromotion(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=3)
    lu = _Lu(vc)
    assert node_roles.DecideSelfPromotion(lu)
    vc.cfg.GetClusterInfo().candidate_pool_size = 2
    assert not node_roles.DecideSelfPromotion(lu)
    # A node already in the configuration is left out of the count.
    assert node_roles.DecideSelfPromotion(lu, [vc.Uuid("node2")])


def testAdjustCandidatePoolSkipsUnreachableNodes(make):
    vc = make({"node2": "R", "node3": "R", "node4": "R", "node5": "D"},
              pool_size=3)
    vc.nodes["node2"].failing["node_crypto_tokens"] = "down"
    lu = _Lu(vc)
    promoted = node_roles.AdjustCandidatePool(lu, [])
    assert [node.name for node in promoted] == ["node3.example.com",
                                                "node4.example.com"]
    assert vc.Roles() == {"node1": "M", "node2": "R", "node3": "C",
                          "node4": "C", "node5": "D"}
    assert lu.warnings == ["Not promoting node node2.example.com to master"
                           " candidate: Could not retrieve the SSL digest of node"
                           " node2.example.com: down"]
    assert lu.infos == ["Promoted nodes to master candidate role:"
                        " node3.example.com, node4.example.com"]


def testAdjustCandidatePoolReportsShortfall(make):
    vc = make({"node2": "R"}, pool_size=3)
    vc.nodes["node2"].failing["upload_file"] = "down"
    lu = _Lu(vc)
    assert node_roles.AdjustCandidatePool(lu, []) == []
    assert "could not be filled (1/2 candidates)" in lu.warnings[-1]


def testCreateNewClientCert(make):
    vc = make({"node2": "R"})
    node = vc.Node("node2")
    assert node_roles.CreateNewClientCert(_Lu(vc), node) == "DIGEST:node2"
    (request,) = [req for req in vc.transport.RequestsTo(NodeIp(2))
                  if req.procedure == "node_crypto_tokens"]
    assert request.args == [[["ssl", "create", {
        "serial_no": node_roles.UuidToInt(node.uuid)}]]]
    assert node_roles.UuidToInt("00000000-0000-0000-0000-0000000000ff") == 255


# --- LUNodeRemove -------------------------------------------------------------


def testRemoveMasterRefused(make):
    vc = make({"node2": "C"})
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpPrereqError, match="Node is the master node,"
                       " failover to another node is required"):
        vc.Run(opcodes.OpNodeRemove(node_name="node1"))
    _AssertUnchanged(vc, *before)


def testRemoveNodeWithInstanceRefused(make):
    vc = make({"node2": "R"}, instances=[("inst1", "node2")])
    before = (vc.Serial(), vc.OnDisk())
    with pytest.raises(errors.OpPrereqError, match="Instance inst1 is still"
                       " running on the node, please remove first"):
        vc.Run(opcodes.OpNodeRemove(node_name="node2"))
    _AssertUnchanged(vc, *before)


def testRemoveNode(make):
    vc = make({"node2": "R", "node3": "C"})
    uuid = vc.Uuid("node2")
    vc.Run(opcodes.OpNodeRemove(node_name="node2"))
    assert vc.cfg.GetNodeInfo(uuid) is None
    lock_names = [row[0] for row in vc.glm.QueryLocks(["name"])]
    assert f"node/{uuid}" not in lock_names
    assert f"node/{vc.Uuid('node3')}" in lock_names
    calls = vc.nodes["node2"].calls
    assert calls == ["hooks_runner", "node_leave_cluster"]
    leave = [req for req in vc.transport.RequestsTo(NodeIp(2))
             if req.procedure == "node_leave_cluster"]
    assert leave[0].args == [True]  # the cluster's modify_ssh_setup
    assert "node2.example.com" not in vc.store.GetNodeList()
    # Every other node ran the pre and post hooks.
    assert vc.nodes["node3"].calls.count("hooks_runner") == 2


def testRemoveCandidateRefillsPool(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    uuid = vc.Uuid("node2")
    vc.Run(opcodes.OpNodeRemove(node_name="node2.example.com"))
    assert vc.Roles() == {"node1": "M", "node3": "C"}
    assert uuid not in vc.Certs() and uuid not in vc.SsconfCerts()
    assert vc.Certs()[vc.Uuid("node3")] == "DIGEST:node3"


def testRemoveOfflineNodeDoesNotContactIt(make):
    vc = make({"node2": "O", "node3": "C"})
    vc.Run(opcodes.OpNodeRemove(node_name="node2"))
    assert vc.nodes["node2"].calls == []
    assert "node2" not in vc.Roles()


def testRemoveWhenNodeFailsToLeave(make):
    vc = make({"node2": "R", "node3": "C"})
    vc.nodes["node2"].failing["node_leave_cluster"] = "disk on fire"
    cbs = RecordingCbs()
    vc.Run(opcodes.OpNodeRemove(node_name="node2"), cbs)
    assert "node2" not in vc.Roles()
    assert any("while leaving the cluster: disk on fire" in m
               for m in cbs.Messages())


def testRemoveUnknownNode(make):
    vc = make({"node2": "R"})
    with pytest.raises(errors.OpPrereqError, match="Node 'node9' not known"):
        vc.Run(opcodes.OpNodeRemove(node_name="node9"))


def testConfigOnDiskMatchesMemory(make):
    vc = make({"node2": "C", "node3": "R"}, pool_size=2)
    vc.Run(_Modify("node2", offline=True, auto_promote=True))
    reloaded = config.ConfigWriter(cfg_file=vc.cfg._cfg_file, offline=True)
    roles = {node.name: node_roles.GetFlagsRole(node)
             for node in reloaded.GetAllNodesInfo().values()}
    assert roles == {"node1.example.com": "C", "node2.example.com": "O",
                     "node3.example.com": "C"}
    assert os.path.exists(vc.cfg._cfg_file)
