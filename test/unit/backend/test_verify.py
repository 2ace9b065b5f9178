"""node_verify on the node side (ganeti/backend/verify.py), on real files,
sockets and certificates; LVM tools replay recorded output."""

import hashlib
import os
import re
import socket
import time

import pytest

from ganeti import backend, constants, errors, pathutils
from ganeti.backend import RPCFail
from ganeti.backend import verify as nv
from ganeti.utils import process, x509

ME = "node1.example.com"


class FakeRun:
    """Replays recorded LVM tool output: argv[0] -> (exit code, stdout)."""

    def __init__(self, outputs):
        self.outputs = outputs
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[0] not in self.outputs:
            raise errors.CommandError(f"Can't execute '{argv[0]}': not found")
        code, stdout = self.outputs[argv[0]]
        return process.RunResult(code, None, stdout, "boom" if code else "",
                                 " ".join(argv))


def Ctx(port=1, run_fn=None, name=ME, **kwargs):
    return nv.NodeContext(my_name=name, port=port, all_hvparams={},
                          run_fn=run_fn or FakeRun({}), hypervisor=None, **kwargs)


def Verify(what, ctx=None):
    return nv.VerifyNode(what, "cluster.example.com", {}, _ctx=ctx or Ctx())


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def hosts(tmp_path, monkeypatch):
    path = tmp_path / "hosts"
    path.write_text(f"127.0.0.1 {ME}\n127.0.0.1 node2.example.com\n")
    monkeypatch.setenv("GANETI_HOSTS_FILE", str(path))


def testProceduresRegistered():
    procedures = backend.LoadAll()
    result = procedures["node_verify"]({nv.NV_VERSION: None}, "c", {})
    assert result == {nv.NV_VERSION: [constants.PROTOCOL_VERSION,
                                      constants.RELEASE_VERSION]}
    assert procedures["node_verify_light"]({nv.NV_VERSION: None}, "c", None) == result
    with pytest.raises(RPCFail, match="takes 3 argument"):
        procedures["node_verify"]({})


def testBadArguments():
    with pytest.raises(RPCFail, match="argument 'what'"):
        nv.VerifyNode(["version"], "c", {})
    with pytest.raises(RPCFail, match="check 'filelist'"):
        Verify({nv.NV_FILELIST: "/etc/passwd"})
    with pytest.raises(RPCFail, match="check 'nodelist'"):
        Verify({nv.NV_NODELIST: [["a"]]})


def testUnknownChecksAreIgnored():
    assert Verify({"no-such-check": 1, nv.NV_TIME: None}).keys() == {nv.NV_TIME}


def testFileList(tmp_path):
    present = tmp_path / "a"
    present.write_bytes(b"content\n")
    (tmp_path / "dir").mkdir()
    result = Verify({nv.NV_FILELIST: [str(present), str(tmp_path / "missing"),
                                      str(tmp_path / "dir")]})
    assert result == {nv.NV_FILELIST: {
        str(present): hashlib.sha1(b"content\n").hexdigest()}}


def testTimeAndVersion():
    before = time.time()
    result = Verify({nv.NV_TIME: None, nv.NV_VERSION: None})
    now = nv.MergeTime(result[nv.NV_TIME])
    assert before - 1 <= now <= time.time() + 1
    assert result[nv.NV_VERSION] == [constants.PROTOCOL_VERSION, "3.0.2"]


@pytest.mark.parametrize("value", [1700000000.25, 5.999999, 0.0])
def testSplitMergeTime(value):
    assert abs(nv.MergeTime(nv.SplitTime(value)) - value) < 1e-6


@pytest.mark.parametrize("value", [None, [1], [1, 1000000], [-1, 0], "x"])
def testMergeTimeRejects(value):
    with pytest.raises((ValueError, TypeError)):
        nv.MergeTime(value)


def testNodeListProbesNodedPort(hosts, listener):
    what = {nv.NV_NODELIST: [[ME, "node2.example.com"], {}]}
    assert Verify(what, Ctx(port=listener)) == {nv.NV_NODELIST: {}}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = Verify({nv.NV_NODELIST: [["node2.example.com", "nosuch.invalid"],
                                      {ME: ["node2.example.com"]}]}, Ctx(port=port))
    problems = result[nv.NV_NODELIST]
    assert set(problems) == {"node2.example.com", "nosuch.invalid"}
    assert problems["node2.example.com"].startswith(
        f"node daemon not reachable: connection to 127.0.0.1:{port} failed:")
    assert problems["nosuch.invalid"].startswith("cannot resolve the node name")


def testNodeNetTest(listener):
    ok = [[ME, "127.0.0.1", "127.0.0.1"], ["node2", "127.0.0.1", "127.0.0.1"]]
    assert Verify({nv.NV_NODENETTEST: ok}, Ctx(port=listener)) == {
        nv.NV_NODENETTEST: {}}
    # 192.0.2.1 is not ours: connecting from it fails, as from a dead NIC.
    bad = [[ME, "192.0.2.1", "192.0.2.1"], ["node2", "127.0.0.1", "127.0.0.1"]]
    result = Verify({nv.NV_NODENETTEST: bad}, Ctx(port=listener))
    assert result[nv.NV_NODENETTEST] == {
        ME: "failure using the primary interface(s)",
        "node2": "failure using the primary interface(s)"}
    missing = Verify({nv.NV_NODENETTEST: ok[1:]}, Ctx(port=listener))
    assert missing[nv.NV_NODENETTEST] == {
        ME: "Can't find my own primary/secondary IP in the node list"}


def testMasterIp(listener):
    result = Verify({nv.NV_MASTERIP: [ME, "127.0.0.1"]}, Ctx(port=listener))
    assert result == {nv.NV_MASTERIP: True}
    # As Ganeti's TcpPing: a refused connection proves the address is up.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = Verify({nv.NV_MASTERIP: ["other", "127.0.0.1"]}, Ctx(port=port))
    assert result == {nv.NV_MASTERIP: True}


def _Cert(tmp_path, days, name="client.pem"):
    path = str(tmp_path / name)
    x509.GenerateSelfSignedSslCert(path, 1, ME, validity=days * 86400)
    return path


def testClientCertificate(tmp_path, monkeypatch):
    path = _Cert(tmp_path, 365)
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", path)
    result = Verify({nv.NV_CLIENT_CERT: None})
    assert result == {nv.NV_CLIENT_CERT: [None, x509.GetCertificateDigest(path)]}


def testClientCertificateExpiring(tmp_path, monkeypatch):
    path = _Cert(tmp_path, 3)
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", path)
    code, msg = Verify({nv.NV_CLIENT_CERT: None})[nv.NV_CLIENT_CERT]
    assert code == "ERROR"
    assert re.fullmatch(f"While verifying {re.escape(path)}: Certificate expires"
                        " in (about )?2 days", msg), msg
    path = _Cert(tmp_path, 20, "warn.pem")
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", path)
    assert Verify({nv.NV_CLIENT_CERT: None})[nv.NV_CLIENT_CERT][0] == "WARNING"


def testClientCertificateMissingOrBroken(tmp_path, monkeypatch):
    path = tmp_path / "client.pem"
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", str(path))
    code, msg = Verify({nv.NV_CLIENT_CERT: None})[nv.NV_CLIENT_CERT]
    assert code == "ERROR" and msg.startswith(
        "The client certificate does not exist. Run 'gnt-cluster renew-crypto"
        " --new-node-certificates'")
    path.write_text("not a certificate\n")
    code, msg = Verify({nv.NV_CLIENT_CERT: None})[nv.NV_CLIENT_CERT]
    assert code == "ERROR"
    assert msg.startswith(f"Failed to load X509 certificate {path}: Unable to load")


def testUserScriptsAndOobPaths(tmp_path):
    good = tmp_path / "good"
    good.write_text("#!/bin/sh\n")
    good.chmod(0o755)
    plain = tmp_path / "plain"
    plain.write_text("x")
    plain.chmod(0o644)
    result = Verify({
        nv.NV_USERSCRIPTS: [str(good), str(plain), str(tmp_path / "none")],
        nv.NV_OOB_PATHS: [str(good), str(plain), str(tmp_path)]})
    assert result[nv.NV_USERSCRIPTS] == [str(plain), str(tmp_path / "none")]
    assert result[nv.NV_OOB_PATHS] == [
        None, f"out of band helper {plain} is not executable",
        f"out of band helper {tmp_path} is not a file"]


def testNodeSetupReportsMissingKernelInterfaces():
    problems = Verify({nv.NV_NODESETUP: None})[nv.NV_NODESETUP]
    procfs_ok = os.path.isdir("/proc/sys") and os.path.isfile("/proc/sysrq-trigger")
    assert any(p.startswith("The procfs filesystem") for p in problems) != procfs_ok


def testHvInfoAndInstances():
    result = Verify({nv.NV_HVINFO: "fake", nv.NV_INSTANCELIST: ["fake"]})
    assert {"memory_total", "memory_free", "memory_dom0"} <= set(result[nv.NV_HVINFO])
    # No hypervisor driver exists, so nothing can be running.
    assert result[nv.NV_INSTANCELIST] == []
    assert "Unknown hypervisor" in Verify({nv.NV_HVINFO: "nohv"})[nv.NV_HVINFO]


def testNonVmCapableNodeSkipsVmChecks():
    result = Verify({nv.NV_NONVMNODES: [ME], nv.NV_HVINFO: "fake",
                     nv.NV_INSTANCELIST: ["fake"], nv.NV_BRIDGES: ["x"],
                     nv.NV_TIME: None})
    assert set(result) == {nv.NV_TIME}


def testBridges():
    assert Verify({nv.NV_BRIDGES: ["no-such-bridge0"]}) == {
        nv.NV_BRIDGES: ["no-such-bridge0"]}


VGS = "  xenvg|40960.00\n  small|1024.50\n"
LVS = ("  xenvg|disk0|1024.00|-wi-ao----\n  xenvg|snap|512.00|vwi-a-----\n"
       "  xenvg|off|256.00|-wi-------\n")
PVS = "  /dev/sda2|xenvg|40960.00|20480.00|a--\n  /dev/sdb1|other|10.00|0.00|a--\n"


def testLvmChecks():
    run = FakeRun({"vgs": (0, VGS), "lvs": (0, LVS), "pvs": (0, PVS)})
    result = Verify({nv.NV_VGLIST: None, nv.NV_LVLIST: "xenvg",
                     nv.NV_PVLIST: ["xenvg"]}, Ctx(run_fn=run))
    assert result[nv.NV_VGLIST] == {"xenvg": 40960, "small": 1024}
    assert result[nv.NV_LVLIST] == {"xenvg/disk0": ["1024.00", False, True],
                                    "xenvg/off": ["256.00", True, False]}
    assert result[nv.NV_PVLIST] == [{"name": "/dev/sda2", "vg_name": "xenvg",
                                     "size": 40960.0, "free": 20480.0,
                                     "attributes": "a--", "lv_list": []}]
    lvs_call = [argv for argv in run.calls if argv[0] == "lvs"][0]
    assert lvs_call[-2:] == ["small", "xenvg"]


def testLvmFailures():
    run = FakeRun({"vgs": (5, ""), "pvs": (0, "garbage line\n")})
    result = Verify({nv.NV_VGLIST: None, nv.NV_LVLIST: "xenvg",
                     nv.NV_PVLIST: ["xenvg"]}, Ctx(run_fn=run))
    assert result[nv.NV_VGLIST] == {}
    assert result[nv.NV_LVLIST].startswith("Failed to run vgs (exited with exit"
                                            " code 5)")
    assert result[nv.NV_PVLIST] == []
    missing = Verify({nv.NV_PVLIST: ["xenvg"]}, Ctx(run_fn=FakeRun({})))
    assert missing[nv.NV_PVLIST].startswith("Can't run pvs")


def testFileStoragePaths(tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    allowed = tmp_path / "file-storage-paths"
    assert nv.CheckFileStoragePath(str(storage), str(allowed)) == (
        f"No paths are valid or path file '{allowed}' is not accessible.")
    allowed.write_text(f"# comment\n{storage}\n/etc\n")
    assert nv.CheckFileStoragePath(str(storage), str(allowed)) is None
    assert nv.CheckFileStoragePath(str(storage / "sub"), str(allowed)) == (
        f"Path '{storage}/sub' is not exisiting or not a directory.")
    assert nv.CheckFileStoragePath(str(tmp_path), str(allowed)) == (
        f"Path '{tmp_path}' is not acceptable for file storage")
    assert nv.CheckFileStoragePath("/etc/ganeti", str(allowed)) == (
        "Path '/etc/ganeti' uses a forbidden prefix")
    assert nv.CheckFileStoragePath("relative", str(allowed)) == (
        "File storage path must be absolute, got 'relative'")
    assert nv.ComputeWrongFileStoragePaths(
        nv.LoadAllowedFileStoragePaths(str(allowed))) == ["/etc"]


def testStoragePathChecks(tmp_path, monkeypatch):
    allowed = tmp_path / "file-storage-paths"
    allowed.write_text("/usr/lib/x\n/srv/ok\n")
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(allowed))
    what = {nv.NV_ACCEPTED_STORAGE_PATHS: ME,
            nv.NV_FILE_STORAGE_PATH: str(tmp_path / "nope"),
            nv.NV_SHARED_FILE_STORAGE_PATH: ""}
    result = Verify(what)
    assert result == {
        nv.NV_ACCEPTED_STORAGE_PATHS: ["/usr/lib/x"],
        nv.NV_FILE_STORAGE_PATH: f"Path '{tmp_path}/nope' is not acceptable for"
                                 " file storage"}
    # Only the node named in the check reports the forbidden paths.
    assert Verify({nv.NV_ACCEPTED_STORAGE_PATHS: "other"}) == {}
