"""Tests for ganeti.backend.crypto: the node_crypto_tokens procedure."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509 as crypto_x509

from ganeti import backend, bootstrap, pathutils, vcluster
from ganeti.backend import RPCFail
from ganeti.utils import x509

PROCS = backend.LoadAll()
TOKENS = PROCS["node_crypto_tokens"]

pytestmark = pytest.mark.skipif(vcluster.IsVirtual(),
                                reason="tests expect a non-virtual node")


@pytest.fixture
def certs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cluster certificate and a client certificate signed by it."""
    monkeypatch.setattr(pathutils, "NODED_CERT_FILE", str(tmp_path / "server.pem"))
    monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE",
                        str(tmp_path / "client.pem"))
    bootstrap.GenerateClusterCert(pathutils.NODED_CERT_FILE, "cluster.example.com")
    x509.GenerateSignedSslCert(pathutils.NODED_CLIENT_CERT_FILE, 1,
                               pathutils.NODED_CERT_FILE, "node1.example.com")
    return tmp_path


def _Load(path: Path) -> crypto_x509.Certificate:
    data = path.read_bytes()
    start = data.index(b"-----BEGIN CERTIFICATE-----")
    return crypto_x509.load_pem_x509_certificate(data[start:])


def test_get_returns_the_client_certificate_digest(certs: Path) -> None:
    digest = x509.GetCertificateDigest(pathutils.NODED_CLIENT_CERT_FILE)
    assert TOKENS([["ssl", "get", None]]) == [["ssl", digest]]
    # The spelling of the type is echoed back.
    assert TOKENS([["ssl_digest", "get", None], ["ssl", "get", {}]]) == [
        ["ssl_digest", digest], ["ssl", digest]]


def test_create_makes_a_new_certificate_signed_by_the_cluster(certs: Path) -> None:
    old = x509.GetCertificateDigest(pathutils.NODED_CLIENT_CERT_FILE)
    serial = 0x1234567890ABCDEF1234567890ABCDEF
    [[kind, digest]] = TOKENS([["ssl", "create", {"serial_no": serial}]])
    assert kind == "ssl" and digest != old
    assert digest == x509.GetCertificateDigest(pathutils.NODED_CLIENT_CERT_FILE)
    client = _Load(certs / "client.pem")
    server = _Load(certs / "server.pem")
    assert client.serial_number == serial
    client.verify_directly_issued_by(server)


def test_create_into_the_temporary_file(certs: Path) -> None:
    tmp_file = str(certs / "client.pem.tmp")
    [[_, digest]] = TOKENS([["ssl", "create", {"serial_no": 7,
                                               "cert_file": tmp_file}]])
    assert digest == x509.GetCertificateDigest(tmp_file)


@pytest.mark.parametrize("request_, message", [
    (["ssh", "get", None], "Token type 'ssh' not supported"),
    (["ssl", "illuminate", None], "Action 'illuminate' is not supported"),
    (["ssl", "get"], "expected a list of 3 items"),
    (["ssl", "create", {}], "without a serial number"),
    (["ssl", "create", {"serial_no": "x"}], "expected an integer"),
    (["ssl", "create", {"serial_no": 1, "cert_file": "/etc/passwd"}],
     "'/etc/passwd' is not allowed"),
])
def test_bad_requests(certs: Path, request_: list, message: str) -> None:
    before = (certs / "client.pem").read_bytes()
    with pytest.raises(RPCFail, match=message):
        TOKENS([request_])
    assert (certs / "client.pem").read_bytes() == before


def test_server_certificate_is_never_replaced(certs: Path) -> None:
    with pytest.raises(RPCFail, match="is not allowed"):
        TOKENS([["ssl", "create", {"serial_no": 1,
                                   "cert_file": pathutils.NODED_CERT_FILE}]])


def test_missing_certificate(certs: Path) -> None:
    (certs / "client.pem").unlink()
    with pytest.raises(RPCFail, match="Cannot read the client certificate"):
        TOKENS([["ssl", "get", None]])


def test_argument_must_be_a_list() -> None:
    with pytest.raises(RPCFail, match="Invalid argument 'token_request'"):
        TOKENS("ssl")
