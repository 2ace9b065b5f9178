"""Cluster-wide LUs: set params, rename, master IP, renew crypto.

Run through mcpu with the CmdlibKit (real ConfigWriter and locks, scripted
noded answers). A refused change must leave config.data and its serial
number untouched.
"""

import pathlib
import socket
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import errors, pathutils, serializer  # noqa: E402
from ganeti.cmdlib import cluster as cmdlib_cluster  # noqa: E402
from ganeti.cmdlib import cluster_crypto, cluster_params  # noqa: E402
from ganeti.utils import x509  # noqa: E402


def Answers(table):
    """A noded answering by procedure: table[procedure] is a payload or a
    Fail(...) reply; unlisted procedures answer None."""

    def _Reply(request):
        answer = table.get(request.procedure)
        if isinstance(answer, tuple):
            return answer
        return Ok(answer)

    return _Reply


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"])
    kit.ScriptNode("node1", Answers({"hooks_runner": []}))
    yield kit
    kit.Close()


def Serial(kit):
    return kit.cfg.GetConfigSerialNo()


def Refused(kit, op, match, exc=errors.OpPrereqError):
    """Run op, expect it refused, and check nothing was saved."""
    before = Serial(kit)
    data_before = kit.cfg.GetConfigData().ToDict()
    with pytest.raises(exc, match=match):
        kit.Run(op)
    assert Serial(kit) == before
    assert kit.cfg.GetConfigData().ToDict() == data_before
    assert not kit.OwnedAnything()


# --- OpClusterSetParams ------------------------------------------------------


def testSetScalarsSavesOnce(kit):
    before = Serial(kit)
    kit.Run(opcodes.OpClusterSetParams(
        max_running_jobs=7, max_tracked_jobs=9, maintain_node_health=True,
        prealloc_wipe_disks=True, mac_prefix="AA:BB:CC", reserved_lvs=["xenvg/x"],
        install_image="/srv/images/install.img", compression_tools=["gzip", "lzop"],
        enabled_user_shutdown=True))
    assert Serial(kit) == before + 1
    cluster = kit.cfg.GetClusterInfo()
    assert (cluster.max_running_jobs, cluster.max_tracked_jobs) == (7, 9)
    assert cluster.maintain_node_health and cluster.prealloc_wipe_disks
    assert cluster.mac_prefix == "aa:bb:cc"
    assert cluster.reserved_lvs == ["xenvg/x"]
    assert cluster.compression_tools == ["gzip", "lzop"]
    assert cluster.enabled_user_shutdown is True


def testSetParamsSavedFileHasTheChange(kit):
    kit.Run(opcodes.OpClusterSetParams(beparams={"vcpus": "2", "memory": "512"}))
    data = serializer.LoadJson(pathlib.Path(kit.cfg._cfg_file).read_text())
    default = data["cluster"]["beparams"]["default"]
    assert (default["vcpus"], default["maxmem"], default["minmem"]) == (2, 512, 512)


def testHypervisorParameters(kit):
    # The new values are checked on every node (hypervisor_validate_params).
    for short in ("node1", "node2", "node3"):
        kit.ScriptNode(short, Answers({"hooks_runner": [],
                                       "hypervisor_validate_params": None}))
    kit.Run(opcodes.OpClusterSetParams(hvparams={"fake": {"migration_mode": "live"}}))
    assert {len(kit.RequestsTo(short, "hypervisor_validate_params"))
            for short in ("node1", "node2", "node3")} == {1}
    assert kit.cfg.GetClusterInfo().hvparams["fake"]["migration_mode"] == "live"


@pytest.mark.parametrize("op, match", [
    (opcodes.OpClusterSetParams(hvparams={"fake": {"no_such": "1"}}),
     "Unknown parameter 'no_such'"),
    (opcodes.OpClusterSetParams(beparams={"vcpus": "many"}), "not a valid integer"),
    (opcodes.OpClusterSetParams(ndparams={"bogus": 1}), "Unknown parameter 'bogus'"),
    (opcodes.OpClusterSetParams(nicparams={"mode": "tunnel"}), "Invalid NIC mode"),
    (opcodes.OpClusterSetParams(nicparams={"mode": "bridged", "link": ""}),
     "Missing bridged NIC link"),
    (opcodes.OpClusterSetParams(mac_prefix="zz:00:00"), "Invalid MAC address prefix"),
    (opcodes.OpClusterSetParams(master_netmask=33), "CIDR netmask"),
    (opcodes.OpClusterSetParams(vg_name="xenvg"), "no lvm-based disk template"),
    (opcodes.OpClusterSetParams(enabled_disk_templates=["plain"]),
     "specify a volume group"),
    (opcodes.OpClusterSetParams(enabled_disk_templates=["file"]),
     "allowed by the ipolicy, but not enabled"),
    (opcodes.OpClusterSetParams(file_storage_dir=""), "Unsetting the 'file'"),
    (opcodes.OpClusterSetParams(compression_tools=["lzop"]), "gzip utility"),
    (opcodes.OpClusterSetParams(compression_tools=["gzip", "rm -rf"]),
     "illegal characters"),
    (opcodes.OpClusterSetParams(uid_pool=[(10, 5)]), "is larger than"),
    (opcodes.OpClusterSetParams(remove_uids=[(1, 2)]), "not found in the current"),
    (opcodes.OpClusterSetParams(enabled_data_collectors={"nope": True}),
     "Data collector names not recognized: nope"),
    (opcodes.OpClusterSetParams(data_collector_interval={"lv": 0}),
     "above zero"),
    (opcodes.OpClusterSetParams(diskparams={"plain": {"stripes": "x"}}),
     "not a valid integer"),
    (opcodes.OpClusterSetParams(diskparams={"plain": {"bogus": 1}}),
     "Invalid parameters for disk template plain: bogus"),
    (opcodes.OpClusterSetParams(ipolicy={"std": {"cpu-count": 100}}),
     "outside the allowed bounds"),
    (opcodes.OpClusterSetParams(ipolicy={"vcpu-ratio": -1}), "Invalid value"),
    (opcodes.OpClusterSetParams(install_image="relative.img"), "absolute path"),
    (opcodes.OpClusterSetParams(default_iallocator="no-such-allocator"),
     "Invalid default iallocator"),
])
def testBadInputLeavesConfigUnchanged(kit, op, match):
    Refused(kit, op, match)


def testEnabledDiskTemplatesFollowIpolicy(kit):
    kit.Run(opcodes.OpClusterSetParams(
        enabled_disk_templates=["file", "diskless"],
        ipolicy={"disk-templates": ["file", "diskless"], "vcpu-ratio": 2}))
    cluster = kit.cfg.GetClusterInfo()
    assert cluster.enabled_disk_templates == ["file", "diskless"]
    assert cluster.ipolicy["disk-templates"] == ["file", "diskless"]
    assert cluster.ipolicy["vcpu-ratio"] == 2.0


def testUidPoolAddRemove(kit):
    kit.Run(opcodes.OpClusterSetParams(uid_pool=[(1000, 1009)]))
    kit.Run(opcodes.OpClusterSetParams(add_uids=[(2000, 2000)],
                                       remove_uids=[(1000, 1009)]))
    assert kit.cfg.GetClusterInfo().uid_pool == [[2000, 2000]]


def testHiddenAndBlacklistedOs(kit):
    cbs = RecordingCbs()
    kit.Run(opcodes.OpClusterSetParams(hidden_os=[("add", "debian")],
                                       blacklisted_os=[("remove", "lenny")]), cbs)
    cluster = kit.cfg.GetClusterInfo()
    assert cluster.hidden_os == ["debian"] and cluster.blacklisted_os == []
    assert any("OS lenny not found in blacklisted OS list" in msg
               for msg in cbs.Messages())


def testDataCollectors(kit):
    kit.Run(opcodes.OpClusterSetParams(enabled_data_collectors={"drbd": False},
                                       data_collector_interval={"lv": 10000000}))
    collectors = kit.cfg.GetClusterInfo().data_collectors
    assert collectors["drbd"]["active"] is False
    assert collectors["lv"]["interval"] == 10000000


def testCandidatePoolGrowthPromotes(kit):
    kit.Run(opcodes.OpClusterSetParams(candidate_pool_size=1))
    assert not kit.cfg.GetNodeInfoByName("node2.example.com").master_candidate
    for short in ("node2", "node3"):
        kit.ScriptNode(short, Answers({"node_crypto_tokens": [["ssl", "AB:CD"]]}))
    kit.Run(opcodes.OpClusterSetParams(candidate_pool_size=2))
    assert kit.cfg.GetClusterInfo().candidate_pool_size == 2
    assert kit.cfg.GetNodeInfoByName("node2.example.com").master_candidate
    assert not kit.cfg.GetNodeInfoByName("node3.example.com").master_candidate


def testMasterNetdevChange(kit):
    kit.transport._scripts.clear()
    kit.ScriptNode("node1", Answers({"hooks_runner": []}))
    kit.Run(opcodes.OpClusterSetParams(master_netdev="eth1"))
    calls = [req for req in kit.RequestsTo("node1")
             if req.procedure != "hooks_runner"]
    assert [req.procedure for req in calls] == ["node_deactivate_master_ip",
                                                "node_activate_master_ip"]
    assert calls[0].args[0]["netdev"] == "lo"
    assert calls[1].args[0]["netdev"] == "eth1"
    assert kit.cfg.GetClusterInfo().master_netdev == "eth1"


def testMasterNetdevChangeRefusedWhenIpStaysUp(kit):
    kit.transport._scripts.clear()
    kit.ScriptNode("node1", Answers({"hooks_runner": [],
                                     "node_deactivate_master_ip": Fail("busy")}))
    Refused(kit, opcodes.OpClusterSetParams(master_netdev="eth1"),
            "Could not disable the master ip", errors.OpExecError)


def testMasterNetmask(kit):
    kit.Run(opcodes.OpClusterSetParams(master_netmask=24))
    (request,) = kit.RequestsTo("node1", "node_change_master_netmask")
    assert request.args == [32, 24, "192.0.2.1", "lo"]
    assert kit.cfg.GetClusterInfo().master_netmask == 24


def testHooksSeeTheNewVgName(kit):
    kit.Run(opcodes.OpClusterSetParams(max_running_jobs=3))
    pre = kit.RequestsTo("node1", "hooks_runner")[0]
    assert pre.args[0] == "cluster-modify"
    assert pre.args[2]["GANETI_OP_TARGET"] == "cluster.example.com"


def testGetUpdatedIPolicyMergesStdSpecs():
    old = {"std": {"cpu-count": 1, "memory-size": 128},
           "minmax": [{"min": {"cpu-count": 1}, "max": {"cpu-count": 8}}]}
    new = cluster_params.GetUpdatedIPolicy(old, {"std": {"cpu-count": 2}})
    assert new["std"] == {"cpu-count": 2, "memory-size": 128}
    with pytest.raises(errors.OpPrereqError, match="Invalid keys"):
        cluster_params.GetUpdatedIPolicy(old, {"bogus": 1})


# --- master IP, rename ----------------------------------------------------------


def testActivateAndDeactivateMasterIp(kit):
    kit.Run(opcodes.OpClusterActivateMasterIp())
    kit.Run(opcodes.OpClusterDeactivateMasterIp())
    procedures = [req.procedure for req in kit.RequestsTo("node1")]
    assert procedures == ["node_activate_master_ip", "node_deactivate_master_ip"]
    kit.transport._scripts.clear()
    kit.ScriptNode("node1", Fail("RTNETLINK answers: Operation not permitted"))
    with pytest.raises(errors.OpExecError, match="Could not activate the master IP"):
        kit.Run(opcodes.OpClusterActivateMasterIp())


@pytest.fixture
def hosts(tmp_path, monkeypatch):
    path = tmp_path / "hosts"
    path.write_text("192.0.2.1 newname.example.com newname\n"
                    "127.0.0.1 busy.example.com busy\n")
    monkeypatch.setenv("GANETI_HOSTS_FILE", str(path))
    known = tmp_path / "known_hosts"
    known.write_text("cluster.example.com ssh-ed25519 AAAAkey\n"
                     "node2.example.com,192.0.2.2 ssh-ed25519 AAAAother\n")
    monkeypatch.setattr(pathutils, "SSH_KNOWN_HOSTS_FILE", str(known))
    return known


def testRename(kit, hosts):
    for short in ("node2", "node3"):
        kit.ScriptNode(short, Answers({"hooks_runner": []}))
    before = Serial(kit)
    assert kit.Run(opcodes.OpClusterRename(name="newname")) == "newname.example.com"
    assert kit.cfg.GetClusterName() == "newname.example.com"
    assert Serial(kit) == before + 1
    assert hosts.read_text().splitlines() == [
        "newname.example.com ssh-ed25519 AAAAkey",
        "node2.example.com,192.0.2.2 ssh-ed25519 AAAAother"]
    procedures = [req.procedure for req in kit.RequestsTo("node1")
                  if req.procedure != "hooks_runner"]
    assert procedures == ["node_deactivate_master_ip", "node_activate_master_ip"]
    # The renamed known_hosts goes to the other nodes; post hooks run on all.
    assert [req.procedure for req in kit.RequestsTo("node2")] == [
        "upload_file", "hooks_runner"]


def testRenameRefusals(kit, hosts, monkeypatch):
    Refused(kit, opcodes.OpClusterRename(name="cluster.example.com"),
            "does not resolve")
    hosts_file = pathlib.Path(hosts.parent / "hosts")
    hosts_file.write_text(hosts_file.read_text()
                          + "192.0.2.1 cluster.example.com\n")
    Refused(kit, opcodes.OpClusterRename(name="cluster.example.com"),
            "neither the name nor the IP address would change")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        monkeypatch.setenv("GANETI_NODED_PORT", str(listener.getsockname()[1]))
        Refused(kit, opcodes.OpClusterRename(name="busy"), "is reachable")


def testRenameKnownHostsKeepsOtherEntries():
    text = "# comment\nold,10.0.0.1 ssh-rsa AAA\nnode1 ssh-rsa BBB\n"
    assert cmdlib_cluster.RenameKnownHosts(text, "old", "new") == (
        "# comment\nnew,10.0.0.1 ssh-rsa AAA\nnode1 ssh-rsa BBB\n")


# --- renew crypto ----------------------------------------------------------------


def testRenewNodeCertificatesRecordsDigests(kit, tmp_path, monkeypatch):
    server = tmp_path / "server.pem"
    client = tmp_path / "client.pem"
    x509.GenerateSelfSignedSslCert(str(server), 1, "cluster.example.com")
    x509.GenerateSignedSslCert(str(client), 2, str(server), "node1.example.com")
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", str(client))
    node2 = kit.cfg.GetNodeInfoByName("node2.example.com")
    node2.master_candidate = True
    kit.cfg.Update(node2)
    kit.ScriptNode("node2", Answers({"node_crypto_tokens": [["ssl", "12:34"]]}))
    kit.Run(opcodes.OpClusterRenewCrypto(node_certificates=True))
    certs = kit.cfg.GetClusterInfo().candidate_certs
    assert certs == {kit.NodeUuid("node1"): x509.GetCertificateDigest(
                         cert_filename=str(client)),
                     kit.NodeUuid("node2"): "12:34"}


def testRenewNodeCertificatesKeepsDigestOfUnreachableNode(kit, tmp_path,
                                                          monkeypatch):
    server = tmp_path / "server.pem"
    client = tmp_path / "client.pem"
    x509.GenerateSelfSignedSslCert(str(server), 1, "cluster.example.com")
    x509.GenerateSignedSslCert(str(client), 2, str(server), "node1.example.com")
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", str(client))
    node2 = kit.cfg.GetNodeInfoByName("node2.example.com")
    node2.master_candidate = True
    kit.cfg.AddNodeToCandidateCerts(node2.uuid, "OLD:DIGEST")
    kit.cfg.Update(node2)
    kit.ScriptNode("node2", Fail("connection refused"))
    cbs = RecordingCbs()
    kit.Run(opcodes.OpClusterRenewCrypto(node_certificates=True), cbs)
    assert kit.cfg.GetClusterInfo().candidate_certs[node2.uuid] == "OLD:DIGEST"
    assert any("could not be fetched" in msg for msg in cbs.Messages())
    assert len(kit.RequestsTo("node2", "node_crypto_tokens")) == 3


def testRenewSshKeysNeedsSshSetup(kit):
    cluster = kit.cfg.GetClusterInfo()
    cluster.modify_ssh_setup = False
    kit.cfg.Update(cluster)
    cbs = RecordingCbs()
    kit.Run(opcodes.OpClusterRenewCrypto(renew_ssh_keys=True), cbs)
    assert any("Cannot renew SSH keys" in msg for msg in cbs.Messages())


def testDetermineKeyBits():
    assert cluster_crypto.DetermineKeyBits("rsa", None, "rsa", 4096) == 4096
    assert cluster_crypto.DetermineKeyBits("ecdsa", None, "rsa", 4096) == 384
    with pytest.raises(errors.OpPrereqError, match="DSA keys must be 1024"):
        cluster_crypto.DetermineKeyBits("dsa", 2048, None, None)
    with pytest.raises(errors.OpPrereqError, match="at least 768"):
        cluster_crypto.DetermineKeyBits("rsa", 512, None, None)
