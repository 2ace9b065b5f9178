"""gnt-cluster verify and verify-disks LUs (ganeti/cmdlib/cluster_verify*.py).

The nodes' node_verify answers are scripted (support.fake_transport); every
test starts from the answer of a healthy node (NodeFake) and breaks one
thing, then checks the exact lines Ganeti would print for it.
"""

import hashlib
import pathlib
import re
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Ok  # noqa: E402

from ganeti import (  # noqa: E402
    constants,
    errors,
    locking,
    objects,
    opcodes_base,
    pathutils,
)
from ganeti.backend import verify as nv  # noqa: E402
from ganeti.cmdlib import cluster_verify as cv  # noqa: E402
from ganeti.utils import x509  # noqa: E402

STEPS = [
    "* Verifying group 'default'",
    "* Gathering data (3 nodes)",
    "* Gathering information about nodes (3 nodes)",
    "* Gathering disk information (3 nodes)",
    "* Verifying configuration file consistency",
    "* Verifying node status",
    "* Verifying instance status",
    "* Verifying orphan volumes",
    "* Verifying N+1 Memory redundancy",
    "* Other Notes",
    "* Hooks Results",
]
DIGESTS = {"node1": "AA:01", "node2": "AA:02", "node3": "AA:03"}
N2 = "node2.example.com"


class NodeFake:
    """Answers node_verify (and hooks_runner) like a healthy node would.

    Attributes:
      overrides: check name -> answer used instead of the healthy one.
      files: path -> checksum used instead of the healthy one (None: the
        file is missing).
      hooks: the hooks_runner payload.
      clock_offset: seconds added to the node's clock.
    """

    def __init__(self, kit, short):
        self.kit = kit
        self.short = short
        self.name = f"{short}.example.com"
        self.overrides = {}
        self.files = {}
        self.hooks = []
        self.clock_offset = 0.0
        self.only = None
        self.before_answer = None

    def _FileChecksum(self, path, ssconf_sums):
        if path in self.files:
            return self.files[path]
        if path in ssconf_sums:
            return ssconf_sums[path]
        node = self.kit.cfg.GetNodeInfoByName(self.name)
        if path == pathutils.CLUSTER_CONF_FILE and not node.master_candidate:
            return None
        return hashlib.sha1(path.encode()).hexdigest()

    def _Answer(self, what):
        sums = cv.SsconfChecksums(self.kit.cfg.GetSsconfValues())
        healthy = {
            nv.NV_NODELIST: {}, nv.NV_NODENETTEST: {}, nv.NV_MASTERIP: True,
            nv.NV_VERSION: [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION],
            nv.NV_TIME: nv.SplitTime(time.time() + self.clock_offset),
            nv.NV_HVINFO: {"memory_total": 4096, "memory_free": 2048,
                           "memory_dom0": 512},
            nv.NV_INSTANCELIST: [], nv.NV_NODESETUP: [], nv.NV_USERSCRIPTS: [],
            nv.NV_BRIDGES: [], nv.NV_CLIENT_CERT: [None, DIGESTS[self.short]],
            nv.NV_VGLIST: {"xenvg": 40960}, nv.NV_PVLIST: [], nv.NV_LVLIST: {},
        }
        result = {}
        for key, arg in what.items():
            if key == nv.NV_FILELIST:
                checksums = {path: self._FileChecksum(path, sums) for path in arg}
                result[key] = {path: value for path, value in checksums.items()
                               if value is not None}
            elif key == nv.NV_ACCEPTED_STORAGE_PATHS:
                if arg == self.name:
                    result[key] = []
            elif key in healthy:
                result[key] = healthy[key]
        result.update(self.overrides)
        if self.only is not None:
            result = {key: value for key, value in result.items()
                      if key in self.only}
        return result

    def __call__(self, request):
        if request.procedure == "hooks_runner":
            return Ok(self.hooks)
        assert request.procedure == "node_verify", request.procedure
        if self.before_answer is not None:
            self.before_answer()
        return Ok(self._Answer(request.args[0]))


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"],
                    instances=["inst1.example.com"])
    node2 = kit.cfg.GetNodeInfoByName(N2)
    node2.master_candidate = True
    kit.cfg.Update(node2)
    for short in ("node1", "node2"):
        kit.cfg.AddNodeToCandidateCerts(kit.NodeUuid(short), DIGESTS[short])
    kit.fakes = {}
    for short in ("node1", "node2", "node3"):
        kit.fakes[short] = NodeFake(kit, short)
        kit.ScriptNode(short, kit.fakes[short])
    yield kit
    kit.Close()


def VerifyGroup(kit, **params):
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpClusterVerifyGroup(group_name="default", **params),
                     cbs)
    return result, cbs.Messages()


def Findings(messages):
    """The ERROR and WARNING lines (not the NOTICEs)."""
    return [msg for msg in messages
            if msg.startswith("  - ") and not msg.startswith("  - NOTICE")]


def testCleanGroup(kit):
    result, messages = VerifyGroup(kit)
    assert result is True
    assert messages == STEPS[:-2] + [
        "* Other Notes", "  - NOTICE: 1 non-redundant instance(s) found.",
        "* Hooks Results"]
    assert not kit.OwnedAnything()


def testNodeVerifyRequest(kit):
    """What the master asks each node for."""
    VerifyGroup(kit)
    (request,) = kit.RequestsTo("node2", "node_verify")
    what, cluster_name, hvparams = request.args
    assert cluster_name == "cluster.example.com"
    assert hvparams["fake"] == kit.cfg.GetClusterInfo().hvparams["fake"]
    assert what[nv.NV_VERSION] is None and what[nv.NV_TIME] is None
    assert what[nv.NV_NODELIST] == [["node1.example.com", N2, "node3.example.com"],
                                   {"node1.example.com": [], N2: [],
                                    "node3.example.com": []}]
    assert what[nv.NV_NODENETTEST] == [
        ["node1.example.com", "192.0.2.1", "192.0.2.1"], [N2, "192.0.2.2", "192.0.2.2"],
        ["node3.example.com", "192.0.2.3", "192.0.2.3"]]
    assert what[nv.NV_MASTERIP] == ["node1.example.com", "192.0.2.1"]
    assert what[nv.NV_HVINFO] == "fake" and what[nv.NV_INSTANCELIST] == ["fake"]
    ssconf_node_list = f"{pathutils.DATA_DIR}/ssconf_node_list"
    assert ssconf_node_list in what[nv.NV_FILELIST]
    assert pathutils.CLUSTER_CONF_FILE in what[nv.NV_FILELIST]
    assert set(what) <= nv.SUPPORTED_CHECKS | {nv.NV_NONVMNODES}


def testSsconfFileDiffers(kit):
    path = f"{pathutils.DATA_DIR}/ssconf_node_list"
    kit.fakes["node2"].files[path] = "0" * 40
    result, messages = VerifyGroup(kit)
    assert result is False
    assert Findings(messages) == [
        "  - ERROR: node node2.example.com: ssconf file ssconf_node_list differs"
        " from the master's values"]


def testSsconfFileDiffersErrorCodes(kit):
    kit.fakes["node2"].files[f"{pathutils.DATA_DIR}/ssconf_master_node"] = "1" * 40
    kit.fakes["node3"].files[f"{pathutils.DATA_DIR}/ssconf_node_list"] = None
    result, messages = VerifyGroup(kit, error_codes=True)
    assert result is False
    assert Findings(messages) == [
        "  - ERROR:ENODEFILECHECK:node:node2.example.com:ssconf file"
        " ssconf_master_node differs from the master's values",
        "  - ERROR:ENODEFILECHECK:node:node3.example.com:ssconf file"
        " ssconf_node_list is missing"]


def testConfigChangeDuringGathering(kit):
    """A job changing the configuration meanwhile is no file difference."""
    cluster = kit.cfg.GetClusterInfo()

    def _ConcurrentChange():
        kit.fakes["node2"].before_answer = None
        cluster.AddTag("changed-meanwhile")
        kit.cfg.Update(cluster)

    kit.fakes["node2"].before_answer = _ConcurrentChange
    result, messages = VerifyGroup(kit)
    assert result is True and Findings(messages) == []
    # The file checksums were taken a second time, from every node.
    for short in ("node1", "node2", "node3"):
        first, second = kit.RequestsTo(short, "node_verify")
        assert set(second.args[0]) == {nv.NV_FILELIST}


def testConfigDataDiffersOnCandidate(kit):
    kit.fakes["node2"].files[pathutils.CLUSTER_CONF_FILE] = "f" * 40
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        f"  - ERROR: cluster: File {pathutils.CLUSTER_CONF_FILE} found with 2"
        " different checksums (variant 1 on node1.example.com; variant 2 on"
        " node2.example.com)"]


def testFileMissingAndUnexpected(kit):
    kit.fakes["node3"].files[pathutils.SSH_KNOWN_HOSTS_FILE] = None
    kit.fakes["node3"].files[pathutils.CLUSTER_CONF_FILE] = "0" * 40
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        f"  - ERROR: cluster: File {pathutils.CLUSTER_CONF_FILE} should not exist"
        " on node(s) node3.example.com",
        f"  - ERROR: cluster: File {pathutils.CLUSTER_CONF_FILE} found with 2"
        " different checksums (variant 1 on node3.example.com; variant 2 on"
        " node1.example.com, node2.example.com)",
        f"  - ERROR: cluster: File {pathutils.SSH_KNOWN_HOSTS_FILE} is missing"
        " from node(s) node3.example.com"]


def testOptionalFileOnSomeNodes(kit):
    kit.fakes["node3"].files[pathutils.RAPI_USERS_FILE] = None
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        f"  - ERROR: cluster: File {pathutils.RAPI_USERS_FILE} is optional, but it"
        " must exist on all or no nodes (not found on node3.example.com)"]


def testProtocolVersionMismatch(kit):
    kit.fakes["node2"].overrides[nv.NV_VERSION] = [2160000, "2.16.0"]
    result, messages = VerifyGroup(kit, error_codes=True)
    assert result is False
    assert Findings(messages) == [
        "  - ERROR:ENODEVERSION:node:node2.example.com:incompatible protocol"
        " versions: master 3000000, node 2160000"]


def testSoftwareVersionMismatchIsWarning(kit):
    kit.fakes["node3"].overrides[nv.NV_VERSION] = [constants.PROTOCOL_VERSION,
                                                   "3.0.1"]
    result, messages = VerifyGroup(kit)
    assert result is True
    assert Findings(messages) == [
        "  - WARNING: node node3.example.com: software version mismatch: master"
        " 3.0.2, node 3.0.1"]


@pytest.mark.parametrize("offset", [-400.0, 400.0])
def testClockSkew(kit, offset):
    kit.fakes["node3"].clock_offset = offset
    result, messages = VerifyGroup(kit)
    assert result is False
    (finding,) = Findings(messages)
    match = re.fullmatch(r"  - ERROR: node node3\.example\.com: Node time diverges"
                         r" by at least (\d+\.\d)s from master node time", finding)
    assert match and 399.0 <= float(match.group(1)) <= 400.0


def testSmallClockSkewAccepted(kit):
    kit.fakes["node3"].clock_offset = cv.NODE_MAX_CLOCK_SKEW - 20
    result, messages = VerifyGroup(kit)
    assert result is True and Findings(messages) == []


def testInvalidTime(kit):
    kit.fakes["node2"].overrides[nv.NV_TIME] = [1, 2000000]
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        "  - ERROR: node node2.example.com: Node returned invalid time"]


def testUnreachableNode(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2"])
    try:
        kit.cfg.AddNodeToCandidateCerts(kit.NodeUuid("node1"), DIGESTS["node1"])
        kit.ScriptNode("node1", NodeFake(kit, "node1"))
        cbs = RecordingCbs()
        result = kit.Run(opcodes.OpClusterVerifyGroup(group_name="default",
                                                      error_codes=True), cbs)
        findings = Findings(cbs.Messages())
    finally:
        kit.Close()
    assert result is False
    assert len(findings) == 3
    assert findings[0] == ("  - ERROR:ENODEFILECHECK:node:node2.example.com:Node"
                           " did not return file checksum data")
    assert findings[1].startswith(
        "  - ERROR:ENODERPC:node:node2.example.com:while contacting node: Error"
        " contacting node node2.example.com")
    assert "refused" in findings[1]
    assert findings[2].startswith(
        "  - ERROR:ENODEHOOKS:node:node2.example.com:Communication failure in"
        " hooks execution: ")


def testIgnoredErrorBecomesWarning(kit):
    kit.fakes["node2"].overrides[nv.NV_NODESETUP] = ["no /proc/sysrq-trigger"]
    result, messages = VerifyGroup(kit, ignore_errors=["ENODESETUP"])
    assert result is True
    assert Findings(messages) == [
        "  - WARNING: node node2.example.com: node setup error: no"
        " /proc/sysrq-trigger"]


def testConnectivityFindings(kit):
    fake = kit.fakes["node1"]
    fake.overrides[nv.NV_NODELIST] = {"node3.example.com": "node daemon not"
                                      " reachable: connection refused"}
    fake.overrides[nv.NV_NODENETTEST] = {
        "node3.example.com": "failure using the primary interface(s)"}
    kit.fakes["node2"].overrides[nv.NV_MASTERIP] = False
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        "  - ERROR: node node1.example.com: ssh communication with node"
        " 'node3.example.com': node daemon not reachable: connection refused",
        "  - ERROR: node node1.example.com: tcp communication with node"
        " 'node3.example.com': failure using the primary interface(s)",
        "  - ERROR: node node2.example.com: cannot reach the master IP"]


def testMissingAnswers(kit):
    kit.fakes["node2"].only = {nv.NV_VERSION, nv.NV_TIME}
    uuid2 = kit.NodeUuid("node2")
    _, messages = VerifyGroup(kit)
    prefix = "  - ERROR: node node2.example.com: "
    assert Findings(messages) == [
        f"  - ERROR: cluster: Node '{uuid2}' did not return client certificate"
        " data",
        prefix + "Node did not return file checksum data",
        prefix + "node setup error: Missing NODESETUP results",
        prefix + "node hasn't returned node ssh connectivity data",
        prefix + "node hasn't returned node tcp connectivity data",
        prefix + "node hasn't returned node master IP reachability data",
        prefix + "did not return user scripts information",
        prefix + "rpc call to node failed (instancelist): None",
        prefix + "rpc call to node failed (hvinfo)",
        prefix + "did not return valid bridge information"]


def testNoDataAtAll(kit):
    kit.fakes["node3"].only = set()
    _, messages = VerifyGroup(kit, error_codes=True)
    assert ("  - ERROR:ENODERPC:node:node3.example.com:unable to verify node: no"
            " data returned") in messages


def testClientCertificateProblems(kit):
    kit.fakes["node2"].overrides[nv.NV_CLIENT_CERT] = [
        "WARNING", "While verifying client.pem: Certificate expires in 20 days"]
    kit.fakes["node3"].overrides[nv.NV_CLIENT_CERT] = [None, DIGESTS["node1"]]
    _, messages = VerifyGroup(kit)
    uuid2, uuid3 = kit.NodeUuid("node2"), kit.NodeUuid("node3")
    assert Findings(messages) == [
        f"  - ERROR: cluster: Client certificate of node '{uuid2}' failed"
        " validation: While verifying client.pem: Certificate expires in 20 days"
        " (code 'WARNING')",
        f"  - ERROR: cluster: Node '{uuid3}' is not a master candidate and is"
        " incorrectly using a certificate of another node which is master"
        " candidate."]


def testEmptyCandidateCertificateMap(kit):
    kit.cfg.GetClusterInfo().candidate_certs.clear()
    _, messages = VerifyGroup(kit)
    assert Findings(messages) == [
        "  - ERROR: cluster: The cluster's list of master candidate certificates"
        " is empty. If you just updated the cluster, please run 'gnt-cluster"
        " renew-crypto --new-node-certificates'."]


def testUserScripts(kit):
    kit.cfg.GetClusterInfo().use_external_mip_script = True
    script = pathutils.EXTERNAL_MASTER_SETUP_SCRIPT
    kit.fakes["node2"].overrides[nv.NV_USERSCRIPTS] = [script]
    _, messages = VerifyGroup(kit)
    (request,) = kit.RequestsTo("node1", "node_verify")
    assert request.args[0][nv.NV_USERSCRIPTS] == [script]
    assert Findings(messages) == [
        "  - ERROR: node node2.example.com: user scripts not present or not"
        f" executable: {script}"]


def testLvmFindings(kit):
    cluster = kit.cfg.GetClusterInfo()
    cluster.volume_group_name = "xenvg"
    cluster.enabled_disk_templates.append(constants.DT_PLAIN)
    kit.fakes["node2"].overrides[nv.NV_VGLIST] = {"xenvg": 1000}
    kit.fakes["node3"].overrides[nv.NV_LVLIST] = {
        "xenvg/stray": ["10.00", False, True], "othervg/x": ["1.00", False, True]}
    kit.fakes["node1"].overrides[nv.NV_PVLIST] = [
        {"name": "/dev/a:b", "vg_name": "xenvg", "size": 1.0}]
    result, messages = VerifyGroup(kit)
    assert result is False
    (request,) = kit.RequestsTo("node1", "node_verify")
    assert request.args[0][nv.NV_LVLIST] == "xenvg"
    assert request.args[0][nv.NV_PVLIST] == ["xenvg"]
    assert Findings(messages) == [
        "  - ERROR: node node1.example.com: Invalid character ':' in PV '/dev/a:b'"
        " of VG 'xenvg'",
        "  - ERROR: node node2.example.com: volume group 'xenvg' too small (20480"
        " MiB required, 1000 MiB found)",
        "  - WARNING: node node3.example.com: volume xenvg/stray is unknown"]


def testOrphanAndMissingInstances(kit):
    inst = kit.cfg.GetInstanceInfoByName("inst1.example.com")
    kit.cfg.MarkInstanceUp(inst.uuid)
    kit.fakes["node2"].overrides[nv.NV_INSTANCELIST] = ["ghost.example.com",
                                                        "inst1.example.com"]
    result, messages = VerifyGroup(kit)
    assert result is False
    assert Findings(messages) == [
        "  - ERROR: instance inst1.example.com: instance should not run on node"
        " node2.example.com",
        "  - ERROR: node node2.example.com: node is running unknown instance"
        " ghost.example.com",
        "  - ERROR: instance inst1.example.com: instance not running on its"
        " primary node node1.example.com"]


def testInstanceRunningWhereItShould(kit):
    inst = kit.cfg.GetInstanceInfoByName("inst1.example.com")
    kit.cfg.MarkInstanceUp(inst.uuid)
    kit.fakes["node1"].overrides[nv.NV_INSTANCELIST] = ["inst1.example.com"]
    result, messages = VerifyGroup(kit)
    assert result is True
    assert Findings(messages) == []


def testOfflineNodeSkipped(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"], offline=["node3"])
    try:
        kit.cfg.AddNodeToCandidateCerts(kit.NodeUuid("node1"), DIGESTS["node1"])
        for short in ("node1", "node2"):
            kit.ScriptNode(short, NodeFake(kit, short))
        cbs = RecordingCbs()
        result = kit.Run(opcodes.OpClusterVerifyGroup(group_name="default",
                                                      verbose=True), cbs)
        messages = cbs.Messages()
        asked = kit.RequestsTo("node3")
    finally:
        kit.Close()
    assert result is True
    assert asked == []
    assert "* Skipping offline node node3.example.com" in messages
    assert "* Verifying node node1.example.com (master)" in messages
    assert "* Verifying node node2.example.com (regular)" in messages
    assert "  - NOTICE: 1 offline node(s) found." in messages


def testHookFailureFailsVerify(kit):
    kit.fakes["node2"].hooks = [["10-check", constants.HKR_FAIL, "line one\nline 2"]]
    result, messages = VerifyGroup(kit)
    assert result is False
    assert messages[-3:] == [
        "* Hooks Results",
        "  - ERROR: node node2.example.com: Script 10-check failed, output:",
        "      line one\n      line 2"]


def testDebugSimulateErrors(kit):
    result, messages = VerifyGroup(kit, debug_simulate_errors=True)
    assert result is False
    assert len(Findings(messages)) > 20
    assert ("  - ERROR: node node2.example.com: incompatible protocol versions:"
            " master 3000000, node 3000000") in messages


def testNodeOfOtherGroupJoinsFileChecks(kit):
    group = objects.NodeGroup(name="other")
    kit.cfg.AddNodeGroup(group)
    node3 = kit.cfg.GetNodeInfoByName("node3.example.com")
    node3.group = group.uuid
    kit.cfg.Update(node3)
    kit.fakes["node3"].files[pathutils.SSH_KNOWN_HOSTS_FILE] = "0" * 40
    result, messages = VerifyGroup(kit)
    assert result is False
    assert "* Gathering data (2 nodes)" in messages
    assert "* Gathering information about the master node" in messages
    (request,) = kit.RequestsTo("node3", "node_verify")
    assert set(request.args[0]) == {nv.NV_FILELIST}
    (request,) = kit.RequestsTo("node1", "node_verify")
    assert request.args[0][nv.NV_NODELIST] == [
        ["node1.example.com", N2], {"node1.example.com": ["node3.example.com"],
                                    N2: ["node3.example.com"]}]
    assert Findings(messages) == [
        f"  - ERROR: cluster: File {pathutils.SSH_KNOWN_HOSTS_FILE} found with 2"
        " different checksums (variant 1 on node3.example.com; variant 2 on"
        " node1.example.com, node2.example.com)"]


def testEmptyGroup(kit):
    group = objects.NodeGroup(name="empty")
    kit.cfg.AddNodeGroup(group)
    # Locks can only be added under the Big Ganeti Lock.
    kit.glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL])
    kit.glm.add(locking.LEVEL_NODEGROUP, [group.uuid])
    kit.glm.release(locking.LEVEL_CLUSTER)
    cbs = RecordingCbs()
    assert kit.Run(opcodes.OpClusterVerifyGroup(group_name="empty"), cbs) is True
    assert cbs.Messages() == ["* Verifying group 'empty'",
                              "* Empty node group, skipping verification"]


def testUnknownGroup(kit):
    with pytest.raises(errors.OpPrereqError, match="Node group 'nosuch' not found"):
        kit.Run(opcodes.OpClusterVerifyGroup(group_name="nosuch"))


# --- LUClusterVerify -----------------------------------------------------------------


def testClusterVerifySubmitsJobs(kit):
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpClusterVerify(
        error_codes=True, verbose=True, ignore_errors=["ENODETIME"],
        skip_checks=["nplusone_mem"]), cbs)
    assert result == {"jobs": [[True, 100], [True, 101]]}
    (config_op,), (group_op,) = cbs.submitted
    assert config_op.OP_ID == "OP_CLUSTER_VERIFY_CONFIG"
    assert (config_op.error_codes, config_op.verbose, config_op.ignore_errors) == (
        True, True, ["ENODETIME"])
    assert group_op.OP_ID == "OP_CLUSTER_VERIFY_GROUP"
    assert group_op.group_name == kit.cfg.GetNodeGroupList()[0]
    assert group_op.depends == [[-1, []]]
    assert group_op.skip_checks == ["nplusone_mem"]


def testClusterVerifyEveryGroupWaitsForConfigJob(kit):
    group = objects.NodeGroup(name="alpha")
    kit.cfg.AddNodeGroup(group)
    cbs = RecordingCbs()
    kit.Run(opcodes.OpClusterVerify(), cbs)
    config_job, alpha_job, default_job = cbs.submitted
    assert config_job[0].OP_ID == "OP_CLUSTER_VERIFY_CONFIG"
    assert (alpha_job[0].group_name, alpha_job[0].depends) == (group.uuid,
                                                               [[-1, []]])
    assert default_job[0].depends == [[-2, []]]


def testClusterVerifyOneGroup(kit):
    cbs = RecordingCbs()
    kit.Run(opcodes.OpClusterVerify(group_name="default"), cbs)
    ((group_op,),) = cbs.submitted
    assert group_op.group_name == "default" and group_op.depends is None


def testSkipNPlusOne(kit):
    _, messages = VerifyGroup(kit, skip_checks=["nplusone_mem"])
    assert "* Verifying N+1 Memory redundancy" not in messages


# --- LUClusterVerifyConfig ------------------------------------------------------


@pytest.fixture
def certs(tmp_path, monkeypatch):
    """server.pem and rapi.pem in tmp_path, valid for 5 years."""
    paths = {}
    for attr, name in (("NODED_CERT_FILE", "server.pem"),
                       ("RAPI_CERT_FILE", "rapi.pem")):
        path = str(tmp_path / name)
        x509.GenerateSelfSignedSslCert(path, 1, "cluster.example.com")
        monkeypatch.setattr(pathutils, attr, path)
        paths[attr] = path
    return paths


def VerifyConfig(kit, **params):
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpClusterVerifyConfig(**params), cbs)
    return result, cbs.Messages()


def testVerifyConfigClean(kit, certs):
    result, messages = VerifyConfig(kit)
    assert result is True
    assert messages == ["* Verifying cluster config",
                        "* Verifying cluster certificate files",
                        "* Verifying hypervisor parameters",
                        "* Verifying all nodes belong to an existing group"]


@pytest.mark.parametrize("days,level,result", [(3, "ERROR", False),
                                               (20, "WARNING", True)])
def testExpiringCertificate(kit, certs, days, level, result):
    path = certs["RAPI_CERT_FILE"]
    x509.GenerateSelfSignedSslCert(path, 2, "cluster.example.com",
                                   validity=days * 86400)
    ok, messages = VerifyConfig(kit, error_codes=True)
    assert ok is result
    (finding,) = Findings(messages)
    # ("about": Ganeti's wording, which utils.x509 may adopt.)
    assert re.fullmatch(
        f"  - {level}:ECLUSTERCERT:cluster:None:While verifying {re.escape(path)}:"
        f" Certificate expires in (about )?{days - 1} days", finding), finding


def testUnreadableCertificate(kit, certs):
    pathlib.Path(certs["NODED_CERT_FILE"]).write_text("garbage\n")
    ok, messages = VerifyConfig(kit)
    assert ok is False
    (finding,) = Findings(messages)
    assert finding.startswith(
        f"  - ERROR: cluster: Failed to load X509 certificate"
        f" {certs['NODED_CERT_FILE']}: Unable to load certificate")


def testBadHypervisorParameters(kit, certs):
    cluster = kit.cfg.GetClusterInfo()
    cluster.hvparams["fake"]["bogus"] = "1"
    ok, messages = VerifyConfig(kit)
    assert ok is False
    assert Findings(messages) == [
        "  - ERROR: cluster: hypervisor cluster parameters syntax check (source"
        " fake): Unknown parameter 'bogus'"]


def testDanglingNodeAndInstance(kit, certs):
    node3 = kit.cfg.GetNodeInfoByName("node3.example.com")
    node3.group = "no-such-group"
    inst = kit.cfg.GetInstanceInfoByName("inst1.example.com")
    inst.primary_node = "no-such-node"
    ok, messages = VerifyConfig(kit)
    assert ok is False
    findings = Findings(messages)
    assert ("  - ERROR: node: the following nodes (and their instances) belong to"
            " a non existing group: node3.example.com ()") in findings
    assert ("  - ERROR: node: the following instances have a non-existing"
            " primary-node: inst1.example.com") in findings


# --- verify-disks -------------------------------------------------------------------


def testClusterVerifyDisksSubmitsGroupJobs(kit):
    cbs = RecordingCbs()
    result = kit.Run(opcodes.OpClusterVerifyDisks(), cbs)
    assert result == {"jobs": [[True, 100]]}
    ((op,),) = cbs.submitted
    assert op.OP_ID == "OP_GROUP_VERIFY_DISKS"
    assert op.group_name == kit.cfg.GetNodeGroupList()[0] and op.is_strict is True


def testGroupVerifyDisksNothingToDo(kit):
    result = kit.Run(opcodes.OpGroupVerifyDisks(group_name="default"))
    assert list(result) == [{}, [], {}]
    assert kit.RequestsTo("node1") == []


def testErrorCodeTable():
    codes = {code for _, code, _ in cv.CV_ALL_ECODES}
    assert codes == opcodes_base.CV_ALL_ECODES_STRINGS
    assert cv.CV_ENODEFILECHECK == ("node", "ENODEFILECHECK",
                                    "Error retrieving the checksum of the node files")
