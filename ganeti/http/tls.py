"""TLS contexts and certificate digests for the cluster's HTTPS daemons.

All nodes share one certificate, server.pem (key and self-signed certificate
in one PEM file), which is also the cluster's CA: node clients present
client.pem, signed by server.pem, and verify the server against server.pem
without checking the host name (spec/rpc.md "TLS / certificates").

Only the standard library is used (ssl, hashlib), so that noded does not load
pyOpenSSL or cryptography.
"""

from __future__ import annotations

import hashlib
import re
import ssl

from ganeti import errors

_PEM_CERT_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----",
    re.DOTALL)


def _LoadCertChain(ctx: ssl.SSLContext, certfile: str, keyfile: str | None) -> None:
    """Load our certificate and key into ctx.

    Raises:
      errors.X509CertError: a file is missing or not a valid PEM certificate
        and matching key.
    """
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as err:
        names = certfile if keyfile in (None, certfile) else f"{certfile}/{keyfile}"
        raise errors.X509CertError(
            names, f"Cannot load TLS certificate and key from {names}: {err}"
        ) from err


def _LoadCa(ctx: ssl.SSLContext, cafile: str) -> None:
    """Trust the certificates in cafile.

    Raises:
      errors.X509CertError: the file is missing or holds no certificate.
    """
    try:
        ctx.load_verify_locations(cafile=cafile)
    except (OSError, ssl.SSLError) as err:
        raise errors.X509CertError(
            cafile, f"Cannot load CA certificate from {cafile}: {err}") from err


def MakeServerSslContext(certfile: str, keyfile: str | None, cafile: str | None,
                         require_client_cert: bool) -> ssl.SSLContext:
    """Build the TLS context of an HTTPS server (TLS 1.2 or later).

    Args:
      certfile: PEM file with our certificate (and the key, if keyfile is
        None or the same file).
      keyfile: PEM file with the private key, or None.
      cafile: PEM file with the CA(s) client certificates must chain to;
        None accepts no client certificate.
      require_client_cert: refuse clients that present no valid certificate.

    Raises:
      errors.X509CertError: a file cannot be loaded.
      errors.ProgrammerError: require_client_cert without cafile.
    """
    if require_client_cert and not cafile:
        raise errors.ProgrammerError("Client certificates need a CA file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _LoadCertChain(ctx, certfile, keyfile)
    if cafile:
        _LoadCa(ctx, cafile)
        ctx.verify_mode = (ssl.CERT_REQUIRED if require_client_cert
                           else ssl.CERT_OPTIONAL)
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def MakeClientSslContext(cafile: str, certfile: str,
                         keyfile: str | None = None) -> ssl.SSLContext:
    """Build the TLS context of a node RPC client (TLS 1.2 or later).

    The server must present a certificate chaining to cafile; its host name
    is not checked, since every node presents the same cluster certificate.

    Args:
      cafile: the cluster certificate (server.pem).
      certfile: our client certificate (client.pem, or server.pem), PEM with
        the key unless keyfile is given.
      keyfile: PEM file with the private key, or None.

    Raises:
      errors.X509CertError: a file cannot be loaded.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    _LoadCa(ctx, cafile)
    _LoadCertChain(ctx, certfile, keyfile)
    return ctx


def GetCertDigest(der: bytes) -> str:
    """Return the SHA1 digest of a DER certificate as Ganeti writes it.

    The format is OpenSSL's X509.digest("sha1"): upper-case hex pairs joined
    by colons, e.g. "9A:0B:...". This is the form stored in ssconf
    master_candidates_certs and cluster.candidate_certs.
    """
    hexdigest = hashlib.sha1(der).hexdigest().upper()
    return ":".join(hexdigest[i:i + 2] for i in range(0, len(hexdigest), 2))


def ReadPemCertDer(filename: str) -> bytes:
    """Return the DER bytes of the first certificate in a PEM file.

    The file may also hold a private key (as server.pem does).

    Raises:
      errors.X509CertError: the file cannot be read or holds no certificate.
    """
    try:
        with open(filename, encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError as err:
        raise errors.X509CertError(
            filename, f"Cannot read certificate file {filename}: {err}") from err
    match = _PEM_CERT_RE.search(text)
    if match is None:
        raise errors.X509CertError(filename, f"No certificate found in {filename}")
    try:
        return ssl.PEM_cert_to_DER_cert(match.group(0))
    except ValueError as err:
        raise errors.X509CertError(
            filename, f"Invalid certificate in {filename}: {err}") from err


def GetCertFileDigest(filename: str) -> str:
    """Return GetCertDigest of the first certificate in a PEM file.

    Raises:
      errors.X509CertError: see ReadPemCertDer.
    """
    return GetCertDigest(ReadPemCertDer(filename))
