"""Tests for ganeti.utils.x509: real keys, certificates and TLS digests."""

from __future__ import annotations

import os
import stat
import time

import pytest
from cryptography import x509 as cx509
from cryptography.x509.oid import NameOID
from OpenSSL import crypto

from ganeti import errors
from ganeti.utils import x509


@pytest.fixture(scope="module")
def ca_pair() -> tuple[str, str]:
    return x509.GenerateSelfSignedX509Cert("ca.example.com", 3600, 1)


def _CommonName(name: cx509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _Subject(cert_pem: str) -> str:
    return _CommonName(x509.LoadPemCertificate(cert_pem).to_cryptography().subject)


def _Issuer(cert_pem: str) -> str:
    return _CommonName(x509.LoadPemCertificate(cert_pem).to_cryptography().issuer)


def test_self_signed_cert_matches_key_and_is_self_issued(ca_pair):
    key_pem, cert_pem = ca_pair
    assert "PRIVATE KEY" in key_pem and "BEGIN CERTIFICATE" in cert_pem
    cert = x509.LoadPemCertificate(cert_pem)
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem)
    assert cert.get_pubkey().to_cryptography_key().public_numbers() == (
        key.to_cryptography_key().public_key().public_numbers())
    assert key.bits() == 2048
    assert cert.to_cryptography().serial_number == 1
    assert _Subject(cert_pem) == _Issuer(cert_pem) == "ca.example.com"
    assert x509.CheckCertificateSignedBy(cert_pem, cert_pem)
    assert cert.to_cryptography().signature_hash_algorithm.name == "sha256"


def test_validity_window_absorbs_clock_skew(ca_pair):
    not_before, not_after = x509.GetX509CertValidity(
        x509.LoadPemCertificate(ca_pair[1]))
    now = time.time()
    assert not_before < now - 60
    assert now + 3500 < not_after <= now + 3601


def test_signed_cert_is_issued_by_ca_and_not_by_other(ca_pair):
    ca_key, ca_cert = ca_pair
    key_pem, cert_pem = x509.GenerateSignedX509Cert(
        "node1.example.com", 600, 7, ca_key + ca_cert)
    assert _Subject(cert_pem) == "node1.example.com"
    assert _Issuer(cert_pem) == "ca.example.com"
    assert x509.CheckCertificateSignedBy(cert_pem, ca_cert)
    assert x509.CheckCertificateSignedBy(cert_pem, ca_key + ca_cert)
    assert not x509.CheckCertificateSignedBy(ca_cert, cert_pem)
    _, other_ca = x509.GenerateSelfSignedX509Cert("ca.example.com", 600, 1)
    # Same issuer name but another key: the signature must not verify.
    assert not x509.CheckCertificateSignedBy(cert_pem, other_ca)
    assert key_pem != ca_key


def test_signing_pem_without_key_is_rejected(ca_pair):
    with pytest.raises(errors.X509CertError, match="private key"):
        x509.GenerateSignedX509Cert("n", 600, 2, ca_pair[1])


def test_signing_pem_with_mismatched_key_is_rejected(ca_pair):
    other_key, _ = x509.GenerateSelfSignedX509Cert("x", 600, 1)
    with pytest.raises(errors.X509CertError, match="belong together"):
        x509.GenerateSignedX509Cert("n", 600, 2, other_key + ca_pair[1])


@pytest.mark.parametrize("validity, serial", [(0, 1), (60, 0)])
def test_bad_parameters_raise_x509_error(validity, serial):
    with pytest.raises(errors.X509CertError):
        x509.GenerateSelfSignedX509Cert("n", validity, serial)


def test_ssl_cert_files_are_written_with_restricted_mode(tmp_path, ca_pair):
    server = str(tmp_path / "server.pem")
    key_pem, cert_pem = x509.GenerateSelfSignedSslCert(
        server, 5, common_name="cluster.example.com", validity=600)
    content = open(server).read()
    assert content == key_pem + cert_pem
    assert stat.S_IMODE(os.stat(server).st_mode) == 0o440

    client = str(tmp_path / "client.pem")
    _, client_cert = x509.GenerateSignedSslCert(
        client, 6, server, common_name="node2.example.com", validity=600)
    assert x509.CheckCertificateSignedBy(client_cert, content)
    assert x509.GetCertificateDigest(cert_filename=client) == (
        x509.GetCertificateDigest(cert_pem=client_cert))
    assert sorted(os.listdir(tmp_path)) == ["client.pem", "server.pem"]


def test_signed_ssl_cert_with_missing_ca_file_names_it(tmp_path):
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(errors.X509CertError) as info:
        x509.GenerateSignedSslCert(str(tmp_path / "c.pem"), 1, missing)
    assert info.value.args[0] == missing
    assert not (tmp_path / "c.pem").exists()


def test_digest_format_matches_openssl_and_der(ca_pair):
    cert = x509.LoadPemCertificate(ca_pair[1])
    digest = x509.GetCertificateDigest(cert_pem=ca_pair[1])
    assert digest == cert.digest("sha1").decode()
    parts = digest.split(":")
    assert len(parts) == 20
    assert all(len(p) == 2 and p == p.upper() for p in parts)
    der = crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
    assert x509.GetCertificateDigestFromDer(der) == digest


def test_digest_needs_one_source(ca_pair, tmp_path):
    with pytest.raises(errors.ProgrammerError):
        x509.GetCertificateDigest(cert_filename="/x", cert_pem=ca_pair[1])
    garbage = tmp_path / "bad.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(errors.X509CertError) as info:
        x509.GetCertificateDigest(cert_filename=str(garbage))
    assert info.value.args[0] == str(garbage)


def test_load_garbage_raises_x509_error():
    with pytest.raises(errors.X509CertError) as info:
        x509.LoadPemCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n")
    assert info.value.args[0] == "<data>"


def test_verify_reports_ok_warning_error_by_remaining_days():
    _, cert_pem = x509.GenerateSelfSignedX509Cert("long", 100 * 86400, 1)
    cert = x509.LoadPemCertificate(cert_pem)
    _, not_after = x509.GetX509CertValidity(cert)
    day = 86400.0
    assert x509.VerifyX509Certificate(cert, 30, 7, _now=not_after - 40 * day) == (
        (x509.CERT_OK, None))
    assert x509.VerifyX509Certificate(cert, 30, 7, _now=not_after - 20.5 * day) == (
        (x509.CERT_WARNING, "Certificate expires in 20 days"))
    assert x509.VerifyX509Certificate(cert, 30, 7, _now=not_after - 5.5 * day) == (
        (x509.CERT_ERROR, "Certificate expires in 5 days"))
    assert x509.VerifyX509Certificate(cert, None, None,
                                      _now=not_after - 1 * day) == (x509.CERT_OK, None)


def test_verify_expired_and_not_yet_valid(ca_pair):
    cert = x509.LoadPemCertificate(ca_pair[1])
    not_before, not_after = x509.GetX509CertValidity(cert)
    status, msg = x509.VerifyX509Certificate(cert, 30, 7, _now=not_after + 10)
    assert status == x509.CERT_ERROR
    assert msg.startswith("Certificate expired on ")
    status, msg = x509.VerifyX509Certificate(cert, 30, 7, _now=not_before - 10)
    assert status == x509.CERT_WARNING
    assert msg.startswith("Certificate not yet valid")


def test_verify_short_lived_real_cert_is_error_now():
    _, cert_pem = x509.GenerateSelfSignedX509Cert("short", 3 * 86400, 1)
    status, msg = x509.VerifyX509Certificate(
        x509.LoadPemCertificate(cert_pem), 30, 7)
    assert status == x509.CERT_ERROR
    assert msg == "Certificate expires in 2 days"
