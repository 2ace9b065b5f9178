"""tools/node-daemon-setup: checks its input, then writes a node's files.

End-to-end cases run the real program on a virtual node root in tmp_path
(GANETI_ROOTDIR/GANETI_HOSTNAME), with start_node_daemon false (no daemon
in unit tests; the integration test starts noded through it). The checks
are also called directly for the finer cases.
"""

import datetime
import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ganeti import errors, ssconf
from ganeti.tools import node_daemon_setup as nds
from ganeti.utils import x509

TOP = pathlib.Path(__file__).resolve().parents[3]
TOOL = TOP / "tools" / "node-daemon-setup"
CLUSTER = "cluster.example.com"
NODE = "node2"


def _Pem(common_name="cluster.example.com"):
    key_pem, cert_pem = x509.GenerateSelfSignedX509Cert(common_name, 86400, 7)
    return key_pem + cert_pem


@pytest.fixture(scope="module")
def cluster_pem():
    return _Pem()


@pytest.fixture(scope="module")
def other_pem():
    return _Pem("other.example.com")


def _Input(cluster_pem, **changes):
    data = {
        "cluster_name": CLUSTER,
        "node_name": NODE,
        "node_daemon_certificate": cluster_pem,
        "ssconf": {"cluster_name": CLUSTER, "master_node": "node1",
                   "node_list": "node1\nnode2"},
        "start_node_daemon": False,
        "hmac_key": "a" * 40 + "\n",
        "cluster_domain_secret": "b" * 40 + "\n",
        "rapi_certificate": cluster_pem,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _Run(root, data, *args, raw=None):
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=root.name,
               PYTHONPATH=str(TOP))
    env.pop("GANETI_HOSTS_FILE", None)
    text = raw if raw is not None else json.dumps(data)
    return subprocess.run([sys.executable, str(TOOL), *args], input=text,
                          capture_output=True, text=True, env=env, timeout=60)


def _DataDir(root):
    return root / "var/lib/ganeti"


def _Mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root(tmp_path):
    path = tmp_path / NODE
    path.mkdir()
    return path


def testWritesEveryFileWithGanetisModes(root, cluster_pem):
    proc = _Run(root, _Input(cluster_pem))
    assert proc.returncode == 0, proc.stderr
    data = _DataDir(root)
    assert (data / "server.pem").read_text() == cluster_pem
    assert (data / "hmac.key").read_text() == "a" * 40 + "\n"
    assert (data / "cluster-domain-secret").read_text() == "b" * 40 + "\n"
    assert (data / "rapi.pem").read_text() == cluster_pem
    assert {name: _Mode(data / name) for name in
            ("server.pem", "client.pem", "hmac.key", "cluster-domain-secret",
             "rapi.pem", "ssconf_cluster_name")} == {
        "server.pem": 0o440, "client.pem": 0o440, "hmac.key": 0o440,
        "cluster-domain-secret": 0o640, "rapi.pem": 0o440,
        "ssconf_cluster_name": 0o444}
    assert (data / "ssconf_node_list").read_text() == "node1\nnode2\n"
    assert (data / "ssconf_master_node").read_text() == "node1\n"
    # client.pem: this node's own certificate, signed by the cluster's.
    client = (data / "client.pem").read_text()
    assert x509.CheckCertificateSignedBy(client, cluster_pem)
    cert = crypto_x509.load_pem_x509_certificate(client.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == NODE
    assert "BEGIN PRIVATE KEY" in client or "BEGIN RSA PRIVATE KEY" in client


def testRerunKeepsTheClusterAndRenewsTheClientCertificate(root, cluster_pem):
    assert _Run(root, _Input(cluster_pem)).returncode == 0
    first = (_DataDir(root) / "client.pem").read_text()
    proc = _Run(root, _Input(cluster_pem, hmac_key=None))
    assert proc.returncode == 0, proc.stderr
    assert (_DataDir(root) / "client.pem").read_text() != first
    assert (_DataDir(root) / "hmac.key").read_text() == "a" * 40 + "\n"


def testDryRunWritesNothing(root, cluster_pem):
    proc = _Run(root, _Input(cluster_pem), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert not (_DataDir(root) / "server.pem").exists()


@pytest.mark.parametrize("raw, message", [
    ("{not json", "Input is not valid JSON"),
    ("[1, 2]", "Input must be a JSON object"),
    ('{"cluster_name": "x", "bogus": 1}', "Unknown input key(s): bogus"),
    ('{"cluster_name": "x"}', "Missing input key(s): node_name,"
     " node_daemon_certificate, ssconf"),
])
def testMalformedInputIsRefusedAndNothingWritten(root, raw, message):
    proc = _Run(root, None, raw=raw)
    assert proc.returncode == 1
    assert proc.stderr.startswith("node-daemon-setup: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not _DataDir(root).exists() or not any(_DataDir(root).iterdir())


def testCertificateOfAnotherClusterIsRefused(root, cluster_pem, other_pem):
    assert _Run(root, _Input(cluster_pem)).returncode == 0
    before = (_DataDir(root) / "ssconf_node_list").read_text()
    proc = _Run(root, _Input(other_pem, ssconf={"cluster_name": CLUSTER,
                                                "node_list": "x"}))
    assert proc.returncode == 1
    assert "does not match local key" in proc.stderr
    assert (_DataDir(root) / "server.pem").read_text() == cluster_pem
    assert (_DataDir(root) / "ssconf_node_list").read_text() == before


def testSetupForAnotherVirtualNodeIsRefused(root, cluster_pem):
    proc = _Run(root, _Input(cluster_pem, node_name="node3"))
    assert proc.returncode == 1
    assert "This is virtual node 'node2', but the setup is for node 'node3'" in \
        proc.stderr
    assert not (_DataDir(root) / "server.pem").exists()


def testNodeOfAnotherClusterIsRefused(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = ssconf.SimpleStore(cfg_location=str(data_dir),
                               _lockfile=str(tmp_path / "lock"))
    store.WriteFiles({"cluster_name": "other.example.com"})
    with pytest.raises(errors.OpPrereqError, match="belongs to cluster"
                       " 'other.example.com'"):
        nds.VerifyClusterName(CLUSTER, store)
    assert nds.VerifyClusterName("other.example.com", store) == "other.example.com"


def testCertificateChecks(tmp_path, cluster_pem, other_pem):
    missing = str(tmp_path / "none.pem")
    assert nds.VerifyCertificate(cluster_pem, missing) == cluster_pem
    key_only = cluster_pem[:cluster_pem.index("-----BEGIN CERTIFICATE")]
    cert_only = cluster_pem[cluster_pem.index("-----BEGIN CERTIFICATE"):]
    other_key = other_pem[:other_pem.index("-----BEGIN CERTIFICATE")]
    for pem, message in ((key_only, "Unable to load certificate"),
                         (cert_only, "Unable to load private key"),
                         (other_key + cert_only, "not signed with given key"),
                         ("garbage", "Unable to load certificate")):
        with pytest.raises(errors.X509CertError, match=message):
            nds.VerifyCertificate(pem, missing)


def testExpiredCertificateIsRefused(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = crypto_x509.Name([crypto_x509.NameAttribute(NameOID.COMMON_NAME, "c")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (crypto_x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = (key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
           + cert.public_bytes(serialization.Encoding.PEM).decode())
    with pytest.raises(errors.X509CertError, match="expired"):
        nds.VerifyCertificate(pem, str(tmp_path / "none.pem"))


@pytest.mark.parametrize("values, message", [
    ({}, "non-empty JSON object"),
    ({"cluster_name": CLUSTER, "no_such_key": "x"}, "Invalid ssconf key(s)"),
    ({"cluster_name": CLUSTER, "node_list": 3}, "must be a string"),
    ({"cluster_name": "other"}, "Cluster name in ssconf does not match"),
])
def testSsconfChecks(values, message):
    with pytest.raises(errors.OpPrereqError) as info:
        nds.VerifySsconf(values, CLUSTER)
    assert message in info.value.args[0]


def testSecretsMustBeOneLine():
    assert nds.VerifySecret({"hmac_key": "abc"}, "hmac_key", "HMAC key") == "abc\n"
    assert nds.VerifySecret({}, "hmac_key", "HMAC key") is None
    for bad in ("", "\n", "a\nb", "a\x00b"):
        with pytest.raises(errors.OpPrereqError, match="one non-empty line"):
            nds.VerifySecret({"hmac_key": bad}, "hmac_key", "HMAC key")


def testTypesOfInputValuesAreChecked():
    good = {"cluster_name": "c", "node_name": "n", "node_daemon_certificate": "p",
            "ssconf": {"cluster_name": "c"}}
    assert nds.LoadData(json.dumps(good)) == good
    for key, value, message in (("start_node_daemon", "yes", "true or false"),
                                ("node_name", 5, "must be a string"),
                                ("hmac_key", ["x"], "must be a string")):
        with pytest.raises(errors.OpPrereqError, match=message):
            nds.LoadData(json.dumps(dict(good, **{key: value})))


def testAllowsTheClustersFileStorageDirs(tmp_path, cluster_pem):
    # The master's paths (inside node1's root) become this node's own, and
    # the shared dir is kept as it is; an existing file is left alone.
    root = tmp_path / NODE
    root.mkdir()
    master_dir = tmp_path / "node1" / "srv/ganeti/file-storage"
    shared = tmp_path / "shared"
    values = {"cluster_name": CLUSTER, "master_node": "node1",
              "node_list": "node1\nnode2", "file_storage_dir": str(master_dir),
              "shared_file_storage_dir": str(shared)}
    proc = _Run(root, _Input(cluster_pem, ssconf=values))
    assert proc.returncode == 0, proc.stderr
    allowed = (root / "etc/ganeti/file-storage-paths").read_text().split()
    # Below the node root: written relative to it, as on every other node.
    assert allowed == ["/srv/ganeti/file-storage", str(shared)]
    assert (root / "srv/ganeti/file-storage").is_dir() and shared.is_dir()
    (root / "etc/ganeti/file-storage-paths").write_text("/mine\n")
    assert _Run(root, _Input(cluster_pem, ssconf=values)).returncode == 0
    assert (root / "etc/ganeti/file-storage-paths").read_text() == "/mine\n"
