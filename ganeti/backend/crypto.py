"""The node_crypto_tokens RPC procedure: this node's client certificate.

Mirrors Ganeti 3.0's backend.GetCryptoTokens. The master asks a node for
the SHA1 digest of its client certificate (client.pem) when it promotes the
node to master candidate: the digest goes into the cluster's
candidate_certs, and from there into ssconf master_candidates_certs, the
list every noded checks its callers' certificates against. "create" makes a
new client certificate first (signed by the cluster certificate,
server.pem) and returns its digest; gnt-node add and renew-crypto use it.

Request: [[type, action, options], ...]; answer: [[type, digest], ...] in
the same order. The type is Ganeti's "ssl" (constants.CRYPTO_TYPE_SSL_DIGEST);
"ssl_digest" is accepted as another spelling and echoed back as given.
"""

from __future__ import annotations

import logging
from typing import Any

from ganeti import errors, netutils, pathutils
from ganeti.backend import RPCFail, args
from ganeti.utils import x509

logger = logging.getLogger(__name__)

# Ganeti's constants (src/Ganeti/Constants.hs, "Crypto Types/Actions").
CRYPTO_TYPE_SSL_DIGEST = "ssl"
CRYPTO_TYPE_SSH = "ssh"
CRYPTO_TYPES = frozenset([CRYPTO_TYPE_SSL_DIGEST])
CRYPTO_ACTION_GET = "get"
CRYPTO_ACTION_CREATE = "create"
CRYPTO_ACTIONS = frozenset([CRYPTO_ACTION_GET, CRYPTO_ACTION_CREATE])
CRYPTO_OPTION_CERT_FILE = "cert_file"
CRYPTO_OPTION_SERIAL_NO = "serial_no"

# Other spellings of the SSL digest type accepted on the wire.
_SSL_DIGEST_ALIASES = frozenset([CRYPTO_TYPE_SSL_DIGEST, "ssl_digest"])


def NodedClientCertTmpFile() -> str:
    """The temporary client certificate renew-crypto creates before a swap."""
    return pathutils.NODED_CLIENT_CERT_FILE + ".tmp"


def _CreatableCertFiles() -> frozenset[str]:
    # Only client certificates: server.pem is the cluster's CA and is never
    # replaced through RPC (renew-crypto distributes it over SSH).
    return frozenset([pathutils.NODED_CLIENT_CERT_FILE, NodedClientCertTmpFile()])


def _GetDigest(cert_file: str) -> str:
    """The digest of a certificate file.

    Raises:
      RPCFail: the file is missing or holds no certificate.
    """
    try:
        return x509.GetCertificateDigest(cert_filename=cert_file)
    except errors.X509CertError as err:
        raise RPCFail(f"Cannot read the client certificate {cert_file}:"
                      f" {err.args[-1]}") from err


def _CreateClientCert(options: Any) -> str:
    """Write a new client certificate signed by server.pem; return its digest.

    Args:
      options: {"cert_file": path (default client.pem), "serial_no": int}.

    Raises:
      RPCFail: bad options, a path outside the allowed files, or the
        certificate could not be made (the old file is then untouched).
    """
    options = {} if options is None else args.CheckDict(options, "token options")
    cert_file = options.get(CRYPTO_OPTION_CERT_FILE) or \
        pathutils.NODED_CLIENT_CERT_FILE
    cert_file = args.LocalizePath(cert_file, "certificate file")
    if cert_file not in _CreatableCertFiles():
        raise RPCFail(f"The certificate file name path '{cert_file}' is not"
                      " allowed")
    serial_no = options.get(CRYPTO_OPTION_SERIAL_NO)
    if serial_no is None:
        raise RPCFail("Cannot create an SSL certificate without a serial number")
    serial_no = args.CheckInt(serial_no, "certificate serial number", minimum=1)
    try:
        x509.GenerateSignedSslCert(cert_file, serial_no, pathutils.NODED_CERT_FILE,
                                   common_name=netutils.Hostname.GetSysName())
    except errors.X509CertError as err:
        raise RPCFail(f"Cannot sign a new client certificate with"
                      f" {pathutils.NODED_CERT_FILE}: {err.args[-1]}") from err
    except OSError as err:
        raise RPCFail(f"Cannot write the client certificate {cert_file}:"
                      f" {err}") from err
    logger.info("Created a new client certificate in %s", cert_file)
    return _GetDigest(cert_file)


def _HandleRequest(request: Any) -> list[Any]:
    """Answer one [type, action, options] request with [type, digest].

    Raises:
      RPCFail: malformed request, unknown type or action.
    """
    token_type, action, options = args.CheckList(request, "token request",
                                                 length=3)
    if token_type not in _SSL_DIGEST_ALIASES:
        raise RPCFail(f"Token type '{token_type}' not supported")
    if action == CRYPTO_ACTION_GET:
        return [token_type, _GetDigest(pathutils.NODED_CLIENT_CERT_FILE)]
    if action == CRYPTO_ACTION_CREATE:
        return [token_type, _CreateClientCert(options)]
    raise RPCFail(f"Action '{action}' is not supported")


@args.RpcProcedure("node_crypto_tokens")
def GetCryptoTokens(token_requests: Any) -> list[list[Any]]:
    """Handle the node's crypto tokens (spec/rpc.md, node_crypto_tokens).

    Args:
      token_requests: [[type, action, options], ...].

    Returns:
      [[type, token], ...], one entry per request, in order.

    Raises:
      RPCFail: a request is malformed or cannot be served; requests before
        it may have been served ("create" replaces client.pem).
    """
    requests = args.CheckList(token_requests, "argument 'token_request'")
    return [_HandleRequest(request) for request in requests]
