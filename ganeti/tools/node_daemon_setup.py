"""node-daemon-setup: make a node ready to join a cluster (run on that node).

Mirrors Ganeti's tools/node-daemon-setup (lib/tools/node_daemon_setup.py,
2.12 and later). `gnt-node add` runs it on the new node over SSH and writes
one JSON object to its standard input:

  cluster_name             the cluster's name (required)
  node_name                the node's name in the cluster (required)
  node_daemon_certificate  server.pem: the cluster certificate and its key,
                           in PEM (required)
  ssconf                   ssconf key -> file content; cluster_name must be
                           among them (required)
  start_node_daemon        restart noded with the new files (default false)
  hmac_key                 the confd HMAC key (Ganeti 3.0's NDS_HMAC)
  cluster_domain_secret    the cluster domain secret (ours, optional)
  rapi_certificate         rapi.pem, key and certificate (ours, optional)

Everything is checked before anything is written: the JSON and the types,
the certificate (it loads, its key belongs to it, it is not expired, and a
server.pem already on the node has the same key: otherwise the node belongs
to another cluster), a cluster name already in this node's ssconf, the
ssconf keys, and on a virtual node that the node name is this node's. Then
the files are written atomically with Ganeti's modes (server.pem, client.pem,
hmac.key and rapi.pem 0440, cluster-domain-secret 0640, ssconf files 0444),
the node's client certificate (client.pem) is created, signed by server.pem,
with the node name as common name, and with start_node_daemon the daemons
are restarted as Ganeti does: `daemon-util stop-all`, then `daemon-util
start ganeti-noded` (which adds NODED_ARGS of the node's etc/default/ganeti;
on a virtual node GANETI_ROOTDIR places it).

Exit status 0 on success; on bad input or failure a message on stderr and
exit status 1, with nothing written when the input was refused.
"""

from __future__ import annotations

import logging
import optparse
import os
import sys
import time
from typing import Any, TextIO

from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import serialization

from ganeti import bootstrap, constants, errors, pathutils, serializer, ssconf
from ganeti import vcluster
from ganeti.utils import io, process, x509

logger = logging.getLogger(__name__)

# Keys of the input (Ganeti's constants.NDS_*; the last two are ours).
NDS_CLUSTER_NAME = "cluster_name"
NDS_NODE_DAEMON_CERTIFICATE = "node_daemon_certificate"
NDS_SSCONF = "ssconf"
NDS_START_NODE_DAEMON = "start_node_daemon"
NDS_NODE_NAME = "node_name"
NDS_HMAC = "hmac_key"
NDS_CLUSTER_DOMAIN_SECRET = "cluster_domain_secret"
NDS_RAPI_CERTIFICATE = "rapi_certificate"

_REQUIRED = (NDS_CLUSTER_NAME, NDS_NODE_NAME, NDS_NODE_DAEMON_CERTIFICATE,
             NDS_SSCONF)
_STRING_KEYS = (NDS_CLUSTER_NAME, NDS_NODE_NAME, NDS_NODE_DAEMON_CERTIFICATE,
                NDS_HMAC, NDS_CLUSTER_DOMAIN_SECRET, NDS_RAPI_CERTIFICATE)
ALL_KEYS = frozenset(_STRING_KEYS + (NDS_SSCONF, NDS_START_NODE_DAEMON))

# Modes of the files written (spec/samples/var-lib-ganeti-listing.txt).
NODED_CERT_MODE = 0o440
HMAC_KEY_MODE = 0o440
CLUSTER_DOMAIN_SECRET_MODE = 0o640
RAPI_CERT_MODE = 0o440
# Largest input accepted: certificates and ssconf are a few KiB each.
MAX_INPUT_SIZE = 4 * 1024 * 1024
_STDIN = "(stdin)"


def _Invalid(msg: str) -> errors.OpPrereqError:
    return errors.OpPrereqError(msg, errors.ECODE_INVAL)


# --- reading and checking the input ------------------------------------------


def LoadData(raw: str) -> dict[str, Any]:
    """Parse the input and check its keys and value types.

    Raises:
      errors.OpPrereqError: not a JSON object, unknown or missing keys, or
        a value of the wrong type.
    """
    if len(raw) > MAX_INPUT_SIZE:
        raise _Invalid(f"Input is larger than {MAX_INPUT_SIZE} bytes")
    try:
        data = serializer.LoadJson(raw)
    except errors.ParseError as err:
        raise _Invalid(f"Input is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise _Invalid("Input must be a JSON object, not"
                       f" {type(data).__name__}")
    unknown = sorted(set(data) - ALL_KEYS)
    if unknown:
        raise _Invalid(f"Unknown input key(s): {', '.join(unknown)}")
    missing = [key for key in _REQUIRED if not data.get(key)]
    if missing:
        raise _Invalid(f"Missing input key(s): {', '.join(missing)}")
    for key in _STRING_KEYS:
        if key in data and not isinstance(data[key], str):
            raise _Invalid(f"Input key '{key}' must be a string")
    if not isinstance(data.get(NDS_START_NODE_DAEMON, False), bool):
        raise _Invalid(f"Input key '{NDS_START_NODE_DAEMON}' must be true or false")
    return data


def VerifyClusterName(name: str, store: ssconf.SimpleStore) -> str:
    """Refuse a name other than the one this node's ssconf already has.

    Raises:
      errors.OpPrereqError: the node belongs to another cluster.
    """
    try:
        local_name = store.GetClusterName()
    except errors.ConfigurationError as err:
        logger.debug("No local cluster name: %s", err)
        return name
    if local_name != name:
        raise errors.OpPrereqError(
            f"This node belongs to cluster '{local_name}', not '{name}'; remove it"
            " from its cluster first", errors.ECODE_STATE)
    return name


def VerifyNodeName(name: str) -> str:
    """On a virtual node, refuse a node name that is not this node's.

    Raises:
      errors.OpPrereqError: the input was meant for another node.
    """
    if vcluster.IsVirtual() and vcluster.GetVirtualHostname() != name:
        raise errors.OpPrereqError(
            f"This is virtual node '{vcluster.GetVirtualHostname()}', but the"
            f" setup is for node '{name}'", errors.ECODE_INVAL)
    return name


def _PublicBytes(public_key: Any) -> bytes:
    """A public key in one comparable form (DER SubjectPublicKeyInfo)."""
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def _LoadKeyAndCert(pem: str, source: str) -> tuple[Any, crypto_x509.Certificate]:
    """Load the private key and the certificate of one PEM text.

    Raises:
      errors.X509CertError: either is missing or they do not belong together.
    """
    data = pem.encode("ascii", "replace")
    try:
        cert = crypto_x509.load_pem_x509_certificate(data)
    except ValueError as err:
        raise errors.X509CertError(source, f"Unable to load certificate: {err}"
                                   ) from err
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise errors.X509CertError(source, f"Unable to load private key: {err}"
                                   ) from err
    if _PublicBytes(key.public_key()) != _PublicBytes(cert.public_key()):
        raise errors.X509CertError(source, "Certificate is not signed with given key")
    return key, cert


def VerifyCertificate(pem: str, local_file: str = "",
                      now: float | None = None) -> str:
    """Check the cluster certificate given as input (key and certificate).

    Args:
      pem: the PEM text.
      local_file: this node's server.pem (default pathutils'); when it
        exists, its key must be the given one.
      now: the current time (test seam).

    Returns:
      the PEM text to store.

    Raises:
      errors.X509CertError: unusable, expired, or of another cluster.
    """
    key, cert = _LoadKeyAndCert(pem, _STDIN)
    status, msg = x509.VerifyX509Certificate(cert, None, None, _now=now)
    if status == x509.CERT_ERROR:
        raise errors.X509CertError(_STDIN, f"Cluster certificate unusable: {msg}")
    local_file = local_file or pathutils.NODED_CERT_FILE
    try:
        local_pem = io.ReadFile(local_file)
    except FileNotFoundError:
        return pem
    except (OSError, UnicodeDecodeError) as err:
        raise errors.X509CertError(local_file, f"Can't read file: {err}") from err
    local_key, _ = _LoadKeyAndCert(local_pem, local_file)
    if _PublicBytes(local_key.public_key()) != _PublicBytes(key.public_key()):
        raise errors.X509CertError(
            local_file, "Given cluster certificate does not match local key: this"
            " node has the certificate of another cluster")
    return pem


def VerifySsconf(values: Any, cluster_name: str) -> dict[str, str]:
    """Check the ssconf values: known keys, text values, the cluster name.

    Raises:
      errors.OpPrereqError: a problem; the message names it.
    """
    if not isinstance(values, dict) or not values:
        raise _Invalid("Ssconf values must be a non-empty JSON object")
    unknown = sorted(key for key in values if key not in ssconf.VALID_KEYS)
    if unknown:
        raise _Invalid(f"Invalid ssconf key(s): {', '.join(map(repr, unknown))}")
    for key, value in values.items():
        if not isinstance(value, str):
            raise _Invalid(f"Ssconf value of '{key}' must be a string")
    if values.get(ssconf.SS_CLUSTER_NAME, "").strip() != cluster_name:
        raise _Invalid("Cluster name in ssconf does not match")
    return dict(values)


def VerifySecret(data: dict[str, Any], key: str, what: str) -> str | None:
    """A one-line secret of the input, with its newline (None if absent).

    Raises:
      errors.OpPrereqError: empty, several lines, or not printable.
    """
    value = data.get(key)
    if value is None:
        return None
    line = value.rstrip("\n")
    if not line or "\n" in line or not line.isprintable():
        raise _Invalid(f"The {what} ('{key}') must be one non-empty line of text")
    return line + "\n"


def VerifyRapiCertificate(data: dict[str, Any]) -> str | None:
    """The RAPI certificate of the input, checked (None if absent).

    Raises:
      errors.X509CertError: it lacks its key or does not load.
    """
    pem = data.get(NDS_RAPI_CERTIFICATE)
    if pem is None:
        return None
    _LoadKeyAndCert(pem, f"{_STDIN} {NDS_RAPI_CERTIFICATE}")
    return pem


def CheckData(data: dict[str, Any]) -> dict[str, Any]:
    """Run every check; return what to write (see WriteFiles).

    Raises:
      errors.GenericError: the first problem found.
    """
    cluster_name = VerifyClusterName(data[NDS_CLUSTER_NAME], ssconf.SimpleStore())
    return {
        "node_name": VerifyNodeName(data[NDS_NODE_NAME]),
        "server_pem": VerifyCertificate(data[NDS_NODE_DAEMON_CERTIFICATE]),
        "ssconf": VerifySsconf(data[NDS_SSCONF], cluster_name),
        "hmac": VerifySecret(data, NDS_HMAC, "HMAC key"),
        "domain_secret": VerifySecret(data, NDS_CLUSTER_DOMAIN_SECRET,
                                      "cluster domain secret"),
        "rapi_pem": VerifyRapiCertificate(data),
        "start": bool(data.get(NDS_START_NODE_DAEMON, False)),
    }


# --- doing it ----------------------------------------------------------------


def GenerateClientCertificate(node_name: str) -> str:
    """Create this node's client.pem, signed by server.pem.

    Returns:
      the new certificate's digest (as in cluster.candidate_certs).

    Raises:
      errors.X509CertError: server.pem is unusable.
      OSError: client.pem could not be written.
    """
    # As Ganeti: the serial number is the time; nothing keeps count of the
    # certificates the cluster certificate signed.
    x509.GenerateSignedSslCert(pathutils.NODED_CLIENT_CERT_FILE, int(time.time()),
                               pathutils.NODED_CERT_FILE, common_name=node_name)
    return x509.GetCertificateDigest(pathutils.NODED_CLIENT_CERT_FILE)


def WriteFiles(checked: dict[str, Any]) -> None:
    """Write the checked files and create client.pem.

    Raises:
      errors.OpExecError: a file could not be written.
    """
    try:
        bootstrap.EnsureClusterDirs()
        logger.info("Writing ssconf files ...")
        ssconf.SimpleStore().WriteFiles(checked["ssconf"])
        _PrepareFileStorage(checked["ssconf"])
        logger.info("Writing node daemon certificate ...")
        io.WriteFile(pathutils.NODED_CERT_FILE, checked["server_pem"],
                     mode=NODED_CERT_MODE)
        for path, content, mode in (
                (pathutils.CONFD_HMAC_KEY, checked["hmac"], HMAC_KEY_MODE),
                (pathutils.CLUSTER_DOMAIN_SECRET_FILE, checked["domain_secret"],
                 CLUSTER_DOMAIN_SECRET_MODE),
                (pathutils.RAPI_CERT_FILE, checked["rapi_pem"], RAPI_CERT_MODE)):
            if content is not None:
                io.WriteFile(path, content, mode=mode)
        logger.info("Creating the node's client certificate ...")
        digest = GenerateClientCertificate(checked["node_name"])
        logger.info("Client certificate digest: %s", digest)
    except (OSError, errors.GenericError) as err:
        raise errors.OpExecError(f"Could not write the node's files: {err}") from err


def _PrepareFileStorage(values: dict[str, str]) -> None:
    """Create the cluster's file storage dirs here and allow them.

    As gnt-cluster init does on the master: unless this node already has a
    file-storage-paths file (the administrator's), it lists the cluster's
    file and shared file storage directories, so file disks work on the new
    node without a manual step. On a virtual node the master's paths are
    moved below this node's root (storage.filestorage.LocalizeStoragePath).
    """
    from ganeti.storage import filestorage

    dirs = []
    for key, shared in (("file_storage_dir", False),
                        ("shared_file_storage_dir", True)):
        value = values.get(key, "").strip()
        if value:
            dirs.append(filestorage.LocalizeStoragePath(value, shared))
    for path in dirs:
        os.makedirs(path, mode=0o750, exist_ok=True)
    if dirs and not os.path.exists(pathutils.FILE_STORAGE_PATHS_FILE):
        entries = [filestorage.StoragePathsFileEntry(path) for path in dirs]
        io.WriteFile(pathutils.FILE_STORAGE_PATHS_FILE,
                     "".join(f"{entry}\n" for entry in entries), mode=0o644)


def RestartNodeDaemon() -> None:
    """Stop every daemon of this node, then start noded (as Ganeti does).

    Raises:
      errors.OpExecError: daemon-util failed; its output is in the message.
    """
    logger.info("Restarting node daemon ...")
    for args in (["stop-all"], ["start", constants.NODED]):
        result = process.RunCmd([bootstrap.DAEMON_UTIL, *args])
        if result.failed:
            raise errors.OpExecError(
                f"Could not start the node daemons, command '{result.cmd}' failed"
                f" with exit code {result.exit_code}: {result.output.strip()}")


def _ParseOptions(argv: list[str]) -> optparse.Values:
    parser = optparse.OptionParser(usage="%prog [--dry-run]",
                                   prog=os.path.basename(argv[0]))
    parser.add_option("-d", "--debug", default=False, action="store_true",
                      help="Log debug messages")
    parser.add_option("-v", "--verbose", default=False, action="store_true",
                      help="Log what is done")
    parser.add_option("--dry-run", default=False, action="store_true",
                      help="Only check the input, write nothing")
    options, args = parser.parse_args(argv[1:])
    if args:
        parser.error("No arguments are expected")
    return options


def _SetupLogging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s: %(levelname)s %(message)s")


def Main(argv: list[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run the tool; returns the exit code (see the module doc)."""
    argv = sys.argv if argv is None else argv
    options = _ParseOptions(argv)
    _SetupLogging(options.debug, options.verbose)
    try:
        data = LoadData((stdin or sys.stdin).read())
        checked = CheckData(data)
        if options.dry_run:
            logger.info("Input verified, nothing written (dry run)")
            return 0
        WriteFiles(checked)
        if checked["start"]:
            RestartNodeDaemon()
    except errors.GenericError as err:
        logger.debug("Setup failed", exc_info=True)
        sys.stderr.write(f"node-daemon-setup: {_FormatError(err)}\n")
        return 1
    logger.info("Node daemon successfully configured")
    return 0


def _FormatError(err: errors.GenericError) -> str:
    """The readable part of an error (X509CertError: "source: message")."""
    if isinstance(err, errors.X509CertError) and len(err.args) == 2:
        return f"{err.args[0]}: {err.args[1]}"
    if isinstance(err, errors.OpPrereqError) and err.args:
        return str(err.args[0])
    return str(err)


if __name__ == "__main__":
    sys.exit(Main())
