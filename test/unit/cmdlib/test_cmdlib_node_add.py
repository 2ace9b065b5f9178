"""LUNodeAdd (ganeti/cmdlib/node_add.py) through mcpu.

The cluster is the CmdlibKit's: node1 (master), node2 and node3 on
192.0.2.x, a real ConfigWriter and lock manager, and each node's noded
scripted per procedure. New nodes resolve through a hosts file
(GANETI_HOSTS_FILE). The reachability check (a TCP connect to those
unroutable documentation addresses) is the only thing replaced.
"""

import pathlib
import sys
import types

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import (  # noqa: E402
    NODED_PORT,
    CmdlibKit,
    NodeIp,
    RecordingCbs,
    opcodes,
)
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import constants, errors, locking, netutils  # noqa: E402
from ganeti.cmdlib import node_add  # noqa: E402
from ganeti.rpc import client as rpc_client  # noqa: E402
from ganeti.rpc.resolver import ConfigResolver  # noqa: E402
from ganeti.server import masterd  # noqa: E402

NODE4 = "node4.example.com"
DIGEST = "AB:CD:EF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01"


class Noded:
    """A scripted noded: answers by procedure name; records the calls."""

    def __init__(self, version=constants.PROTOCOL_VERSION, digest=DIGEST,
                 crypto_fail=None, has_ip=True):
        self.down = False
        self.version = version
        self.digest = digest
        self.crypto_fail = crypto_fail
        self.has_ip = has_ip
        self.calls = []

    def __call__(self, request):
        self.calls.append((request.procedure, request.args))
        if self.down:
            raise errors.RpcNetworkError("Connection refused")
        proc = request.procedure
        if proc == "version":
            return Ok(self.version)
        if proc == "node_crypto_tokens":
            if self.crypto_fail:
                return Fail(self.crypto_fail)
            return Ok([["ssl", self.digest]])
        if proc == "node_has_ip_address":
            return Ok(self.has_ip)
        if proc == "hooks_runner":
            return Ok([])
        return Ok(None)

    def Procedures(self):
        return [name for name, _ in self.calls]


@pytest.fixture
def hosts(tmp_path, monkeypatch):
    """The hosts file new nodes resolve through; returns a writer."""
    path = tmp_path / "hosts"
    path.write_text("")
    monkeypatch.setenv("GANETI_HOSTS_FILE", str(path))

    def _Add(name, ip):
        with path.open("a") as handle:
            handle.write(f"{ip} {name} {name.split('.')[0]}\n")
    for index in range(1, 5):
        _Add(f"node{index}.example.com", NodeIp(index))
    return _Add


@pytest.fixture
def pings(monkeypatch):
    """Addresses that answer the reachability check (all, unless removed)."""
    reachable = {NodeIp(i) for i in range(1, 10)}
    seen = []

    def _Ping(target, port, timeout=10, live_port_needed=False, source=None):
        seen.append((target, port, source))
        return target in reachable
    monkeypatch.setattr(node_add.LUNodeAdd, "_ping_fn", staticmethod(_Ping))
    return reachable


class NodeAddKit(CmdlibKit):
    """The kit, with names outside the configuration resolved as masterd
    does (hosts file, then DNS) and the master context's AddNode."""

    def __init__(self, tmp_path, nodes, offline):
        super().__init__(tmp_path, nodes=nodes, offline=offline)
        self.runner = rpc_client.RpcRunner(
            ConfigResolver(self.cfg, nslookup_fn=netutils.Hostname.GetIP),
            self.transport, port=NODED_PORT, cfg=self.cfg)
        self.context.GetRpc = lambda cfg: self.runner
        self.context.AddNode = types.MethodType(masterd.GanetiContext.AddNode,
                                                self.context)

    def Close(self):
        self.runner.Close()
        super().Close()


def _MakeKit(tmp_path, nodes=("node2", "node3"), offline=()):
    kit = NodeAddKit(tmp_path, list(nodes), list(offline))
    kit.nodeds = {}
    for index in range(1, 10):
        kit.nodeds[index] = Noded()
        kit.transport.Script(NodeIp(index), kit.nodeds[index])
    return kit


@pytest.fixture
def kit(tmp_path, hosts, pings):
    kit = _MakeKit(tmp_path)
    yield kit
    kit.Close()


def _Add(kit, **kwargs):
    cbs = RecordingCbs()
    kit.Run(opcodes.OpNodeAdd(**kwargs), cbs)
    return cbs


def _Refused(kit, match, ecode=None, **kwargs):
    serial = kit.cfg.GetConfigSerialNo()
    certs = dict(kit.cfg.GetClusterInfo().candidate_certs)
    with pytest.raises(errors.OpPrereqError, match=match) as info:
        _Add(kit, **kwargs)
    if ecode is not None:
        assert info.value.args[1] == ecode
    assert kit.cfg.GetConfigSerialNo() == serial
    assert kit.cfg.GetClusterInfo().candidate_certs == certs
    assert not kit.OwnedAnything()
    return info.value


def testAddNodeBecomesCandidateWithItsCertificate(kit):
    serial = kit.cfg.GetConfigSerialNo()
    cbs = _Add(kit, node_name="node4")
    node = kit.cfg.GetNodeInfoByName(NODE4)
    assert node is not None
    assert (node.primary_ip, node.secondary_ip) == (NodeIp(4), NodeIp(4))
    assert node.master_candidate and not node.offline and not node.drained
    assert node.master_capable and node.vm_capable and node.powered
    assert node.group == kit.cfg.LookupNodeGroup(None)
    assert node.uuid in kit.cfg.GetNodeGroup(node.group).members
    assert kit.cfg.GetClusterInfo().candidate_certs[node.uuid] == DIGEST
    assert kit.cfg.GetConfigSerialNo() > serial
    assert any("Node will be a master candidate" in msg for msg in cbs.Messages())
    procs = kit.nodeds[4].Procedures()
    assert procs.index("version") < procs.index("node_crypto_tokens")
    assert kit.nodeds[4].calls[procs.index("node_crypto_tokens")][1] == \
        [[["ssl", "get", None]]]


def testAddedNodeCanBeLockedByLaterJobs(kit):
    _Add(kit, node_name="node4")
    node = kit.cfg.GetNodeInfoByName(NODE4)
    kit.glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=1)
    try:
        assert kit.glm.acquire(locking.LEVEL_NODE, [node.uuid], timeout=5,
                               shared=1)
        kit.glm.release(locking.LEVEL_NODE)
    finally:
        kit.glm.release(locking.LEVEL_CLUSTER)


def testHooksRunOnExistingNodesBeforeAndWithNewNodeAfter(kit):
    _Add(kit, node_name="node4")
    phases = {}
    for index in (1, 2, 3, 4):
        for proc, args in kit.nodeds[index].calls:
            if proc == "hooks_runner" and args[0] == "node-add":
                phases.setdefault(args[1], set()).add(index)
                env = args[2]
                assert env["GANETI_NODE_NAME"] == NODE4
                assert env["GANETI_NODE_PIP"] == NodeIp(4)
                assert env["GANETI_NODE_SIP"] == NodeIp(4)
                assert env["GANETI_MASTER_CAPABLE"] == "True"
                assert env["GANETI_VM_CAPABLE"] == "True"
                assert env["GANETI_OBJECT_TYPE"] == "NODE"
    assert phases == {"pre": {1, 2, 3}, "post": {1, 2, 3, 4}}


def testNotMasterCapableNodeIsRegularAndNotAskedForItsCertificate(kit):
    _Add(kit, node_name="node4", master_capable=False, vm_capable=False)
    node = kit.cfg.GetNodeInfoByName(NODE4)
    assert not node.master_candidate
    assert not node.master_capable and not node.vm_capable
    assert node.uuid not in kit.cfg.GetClusterInfo().candidate_certs
    assert "node_crypto_tokens" not in kit.nodeds[4].Procedures()


def testFullCandidatePoolKeepsNewNodeRegular(kit):
    cluster = kit.cfg.GetClusterInfo()
    cluster.candidate_pool_size = 1
    kit.cfg.Update(cluster)
    _Add(kit, node_name="node4")
    assert not kit.cfg.GetNodeInfoByName(NODE4).master_candidate


def testNodeParametersAreConvertedAndStored(kit):
    _Add(kit, node_name="node4", ndparams={"ssh_port": "2222"})
    assert kit.cfg.GetNodeInfoByName(NODE4).ndparams == {"ssh_port": 2222}


def testUnknownNodeParameterIsRefused(kit):
    _Refused(kit, "Unknown parameter 'no_such_param'", errors.ECODE_INVAL,
             node_name="node4", ndparams={"no_such_param": 1})


def testGlobalNodeParameterIsRefused(kit):
    _Refused(kit, "exclusive_storage", node_name="node4",
             ndparams={"exclusive_storage": True})


def testUnresolvableNameIsRefused(kit):
    _Refused(kit, "does not resolve", errors.ECODE_RESOLVER,
             node_name="no-such-node.invalid")


def testExistingNodeNeedsReadd(kit):
    _Refused(kit, "already in the configuration", errors.ECODE_EXISTS,
             node_name="node2")


def testReaddOfUnknownNodeIsRefused(kit):
    _Refused(kit, "is not in the configuration", errors.ECODE_NOENT,
             node_name="node4", readd=True)


def testReaddOfMasterIsRefused(kit):
    _Refused(kit, "Cannot readd the master node", errors.ECODE_STATE,
             node_name="node1", readd=True)


def testReaddWithGroupIsRefused(kit):
    _Refused(kit, "Cannot pass a node group", node_name="node2", readd=True,
             group="default")


def testAddressOfAnotherNodeIsRefused(kit, hosts):
    hosts("node5.example.com", NodeIp(3))
    _Refused(kit, "conflict with existing node node3.example.com",
             errors.ECODE_NOTUNIQUE, node_name="node5")


def testSecondaryIpOnSingleHomedClusterIsRefused(kit):
    _Refused(kit, "The master has no secondary ip", node_name="node4",
             secondary_ip="198.51.100.4")


def testInvalidSecondaryIpIsRefused(kit):
    _Refused(kit, "needs to be a valid IPv4 address", node_name="node4",
             secondary_ip="not-an-ip")


def testLoopbackAddressIsRefusedOutsideVirtualClusters(kit, hosts):
    hosts("node6.example.com", "127.0.0.6")
    _Refused(kit, "loopback", errors.ECODE_ENVIRON, node_name="node6")


def testUnknownGroupIsRefused(kit):
    _Refused(kit, "not found", errors.ECODE_NOENT, node_name="node4",
             group="no-such-group")


def testUnreachableNodeIsRefused(kit, pings):
    pings.discard(NodeIp(4))
    _Refused(kit, "not reachable by ping", errors.ECODE_ENVIRON,
             node_name="node4")


def testNodeWithoutNodedIsRefused(kit):
    kit.nodeds[4].down = True
    err = _Refused(kit, "Can't get version information from node",
                   errors.ECODE_ENVIRON, node_name="node4")
    assert "Connection refused" in str(err)


def testProtocolMismatchIsRefused(kit):
    kit.nodeds[4].version = constants.PROTOCOL_VERSION + 1
    _Refused(kit, "Version mismatch master version", errors.ECODE_ENVIRON,
             node_name="node4")


def testCandidateWithoutCertificateDigestIsRefused(kit):
    kit.nodeds[4].crypto_fail = "Cannot read the client certificate"
    _Refused(kit, "client certificate digest of node", errors.ECODE_ENVIRON,
             node_name="node4")
    assert kit.cfg.GetNodeInfoByName(NODE4) is None


def testReaddResetsFlagsAndPromotes(tmp_path, hosts, pings):
    kit = _MakeKit(tmp_path, offline=["node3"])
    try:
        node3 = kit.cfg.GetNodeInfoByName("node3.example.com")
        uuid = node3.uuid
        cbs = _Add(kit, node_name="node3", readd=True)
        node3 = kit.cfg.GetNodeInfoByName("node3.example.com")
        assert node3.uuid == uuid
        assert not node3.offline and not node3.drained and node3.master_candidate
        assert kit.cfg.GetClusterInfo().candidate_certs[uuid] == DIGEST
        assert any("offline/drained flags were reset" in msg
                   for msg in cbs.Messages())
        assert "node_crypto_tokens" in kit.nodeds[3].Procedures()
    finally:
        kit.Close()


def testReaddAsNonCandidateDemotesAndForgetsCertificate(kit):
    node2 = kit.cfg.GetNodeInfoByName("node2.example.com")
    kit.cfg.AddNodeToCandidateCerts(node2.uuid, "OLD")
    _Add(kit, node_name="node2", readd=True, master_capable=False)
    node2 = kit.cfg.GetNodeInfoByName("node2.example.com")
    assert not node2.master_candidate and not node2.master_capable
    assert node2.uuid not in kit.cfg.GetClusterInfo().candidate_certs
    assert "node_demote_from_mc" in kit.nodeds[2].Procedures()


def testSecondaryIpMissingOnNodeFailsBeforeAnyChange(tmp_path, hosts, pings):
    kit = _MakeKit(tmp_path, nodes=())
    try:
        master = kit.cfg.GetMasterNodeInfo()
        master.secondary_ip = "198.51.100.1"
        kit.cfg.Update(master)
        pings.update({"198.51.100.4"})
        kit.nodeds[4].has_ip = False
        serial = kit.cfg.GetConfigSerialNo()
        with pytest.raises(errors.OpExecError, match="doesn't have the secondary"):
            _Add(kit, node_name="node4", secondary_ip="198.51.100.4")
        assert kit.cfg.GetConfigSerialNo() == serial
        assert kit.cfg.GetNodeInfoByName(NODE4) is None
    finally:
        kit.Close()


def testDryRunChangesNothing(kit):
    serial = kit.cfg.GetConfigSerialNo()
    _Add(kit, node_name="node4", dry_run=True)
    assert kit.cfg.GetConfigSerialNo() == serial
    assert kit.cfg.GetNodeInfoByName(NODE4) is None
