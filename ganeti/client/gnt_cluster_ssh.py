"""gnt-cluster subcommands that work over SSH: command, copyfile, renew-crypto.

As in Ganeti, these run from the master's command line and reach the nodes
with root's SSH key (ganeti.ssh; host keys strictly checked against the
cluster's known_hosts, the cluster name being an alias valid for every
node), not through the master daemon:

- `command` runs a shell command on the online nodes (master last) and
  prints each node's output and exit code; a node that cannot be reached
  is reported with exit code 255, as ssh does.
- `copyfile` copies a file to the same path on the other online nodes
  (atomically, with its mode). On a virtual cluster the path is taken
  relative to the node root, and files outside it are refused (every
  virtual node would otherwise write the very same host file).
- `renew-crypto` does what Ganeti's does: the daemons of every online node
  are stopped (masterd first), the new certificates, keys and secrets are
  made on the master and copied to the nodes, and all daemons are started
  again (the master last), so that every daemon loads the new files. A new
  cluster certificate (server.pem) also means new client certificates for
  every node, since they are signed by it; unlike Ganeti, which runs a tool
  on each node for that, they are made on the master (which holds the
  signing key anyway) and copied, and the candidates' digests are written
  to config.data and ssconf master_candidates_certs before the daemons
  come back, so that the nodes accept the master's new certificate. Then
  OpClusterRenewCrypto records the digests as the nodes report them.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import stat
import tempfile
from collections.abc import Callable
from typing import Any

from ganeti import cli, constants, errors, pathutils, ssconf, ssh, vcluster
from ganeti.cli import ToStderr, ToStdout, cli_option
from ganeti.utils import io, process, x509

DAEMON_UTIL = os.path.join(pathutils.DAEMONS_DIR, "daemon-util")
_SEPARATOR = "-" * 48
# Exit code reported for a node that could not be reached (ssh's).
SSH_FAILURE_CODE = 255
_NODE_FIELDS = ["name", "uuid", "pip", "sip", "ndp/ssh_port", "master_candidate"]

# --- options missing from cli_opts (Ganeti's names) ---------------------------

USE_REPL_NET_OPT = cli_option("--use-replication-network",
                              dest="use_replication_network", default=False,
                              action="store_true",
                              help="Copy over the replication (secondary) network")

SHOW_MACHINE_OPT = cli_option("-M", "--show-machine-names", dest="show_machine_names",
                              default=False, action="store_true",
                              help="Prefix every output line with the node name")

FAILURE_ONLY_OPT = cli_option("--failure-only", dest="failure_only", default=False,
                              action="store_true",
                              help="Show only the nodes where the command failed")

NEW_CLUSTER_CERT_OPT = cli_option("--new-cluster-certificate", dest="new_cluster_cert",
                                  default=False, action="store_true",
                                  help="Make a new cluster certificate")

NEW_RAPI_CERT_OPT = cli_option("--new-rapi-certificate", dest="new_rapi_cert",
                               default=False, action="store_true",
                               help="Make a new self-signed RAPI certificate")

RAPI_CERT_OPT = cli_option("--rapi-certificate", dest="rapi_cert", default=None,
                           help="File with the new RAPI certificate and key")

NEW_SPICE_CERT_OPT = cli_option("--new-spice-certificate", dest="new_spice_cert",
                                default=False, action="store_true",
                                help="Make a new self-signed SPICE certificate")

SPICE_CERT_OPT = cli_option("--spice-certificate", dest="spice_cert", default=None,
                            help="File with the new SPICE certificate and key")

SPICE_CACERT_OPT = cli_option("--spice-ca-certificate", dest="spice_cacert",
                              default=None,
                              help="File with the certificate of the CA that"
                              " signed the SPICE certificate")

NEW_CONFD_HMAC_KEY_OPT = cli_option("--new-confd-hmac-key", dest="new_confd_hmac_key",
                                    default=False, action="store_true",
                                    help="Make a new HMAC key for confd")

NEW_CLUSTER_DOMAIN_SECRET_OPT = cli_option(
    "--new-cluster-domain-secret", dest="new_cluster_domain_secret", default=False,
    action="store_true", help="Make a new cluster domain secret")

CLUSTER_DOMAIN_SECRET_OPT = cli_option(
    "--cluster-domain-secret", dest="cluster_domain_secret", default=None,
    help="File with the new cluster domain secret")

NEW_NODE_CERT_OPT = cli_option("--new-node-certificates", dest="new_node_cert",
                               default=False, action="store_true",
                               help="Make new client certificates for the nodes")

NEW_SSH_KEY_OPT = cli_option("--new-ssh-keys", dest="new_ssh_keys", default=False,
                             action="store_true",
                             help="Make new SSH key pairs for the nodes")

NOSSH_KEYCHECK_OPT = cli_option("--no-ssh-key-check", dest="ssh_key_check",
                                default=True, action="store_false",
                                help="Do not check the nodes' SSH host keys")


# --- reaching the nodes ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NodeTarget:
    """Where to reach a node over SSH, and what the cluster knows of it."""

    name: str
    address: str
    port: int
    uuid: str = ""
    candidate: bool = False


def RemotePath(path: str) -> str:
    """A shell word for path on the remote node (see the module doc).

    Raises:
      errors.OpPrereqError: on a virtual cluster, path is outside the node
        root.
    """
    path = os.path.abspath(path)
    if not vcluster.IsVirtual():
        return shlex.quote(path)
    root = vcluster.GetRootDirectory()
    if not io.IsBelowDir(root, path):
        raise errors.OpPrereqError(
            f"On a virtual cluster only files below the node root ({root}) can be"
            f" copied; '{path}' is outside it", errors.ECODE_INVAL)
    relative = "/" + os.path.relpath(path, root)
    return '"${GANETI_ROOTDIR:-}"' + shlex.quote(relative)


class ClusterSsh:
    """SSH sessions to the nodes, one per call (see the module doc)."""

    def __init__(self, cluster_name: str, strict: bool = True,
                 key_file: str | None = None) -> None:
        self._policy = ssh.HostKeyPolicy(ssh.KnownHostsFile(),
                                         accept_new=not strict, alias=cluster_name)
        self._key_file = key_file

    def Run(self, node: NodeTarget, command: str,
            stdin_data: bytes | None = None) -> ssh.SshResult:
        """Run command on node.

        Raises:
          errors.OpPrereqError: the node could not be reached or logged in.
          errors.OpExecError: the session broke.
        """
        with ssh.SshConnection(node.name, node.address, node.port, self._policy,
                               key_file=self._key_file) as conn:
            return conn.Run(command, stdin_data)

    def CopyFileToNode(self, node: NodeTarget, filename: str,
                       dest: str | None = None) -> None:
        """Copy the local file filename to dest (default: the same path).

        Raises:
          errors.OpPrereqError, errors.OpExecError: the copy failed; the
            remote file is then unchanged.
        """
        try:
            data = io.ReadBinaryFile(filename)
            mode = stat.S_IMODE(os.stat(filename).st_mode)
        except OSError as err:
            raise errors.OpPrereqError(f"Cannot read {filename}: {err}",
                                       errors.ECODE_ENVIRON) from err
        target = RemotePath(dest or filename)
        command = (f"set -e; f={target}; t=\"$f.gnt-copy.$$\";"
                   f" mkdir -p \"$(dirname \"$f\")\"; umask 077; cat > \"$t\";"
                   f" chmod {mode:o} \"$t\"; mv -f \"$t\" \"$f\"")
        result = self.Run(node, command, data)
        if result.failed:
            raise errors.OpExecError(f"Copy of file {filename} to node {node.name}"
                                     f" failed: {result.output}")


def GetNodeTargets(cl: Any, names: list[str],
                   secondary: bool = False) -> list[NodeTarget]:
    """The SSH targets of the named nodes, in the given order."""
    if not names:
        return []
    from ganeti import qlang

    result = cl.Query("node", _NODE_FIELDS, qlang.MakeSimpleFilter("name", names))
    rows = result["data"] if isinstance(result, dict) else result.data
    found = {}
    for row in rows:
        name, uuid, pip, sip, port, candidate = (cell[1] for cell in row)
        found[name] = NodeTarget(name, sip if secondary else pip,
                                 int(port or ssh.DEFAULT_SSH_PORT), uuid,
                                 bool(candidate))
    return [found[name] for name in names if name in found]


# --- command and copyfile ------------------------------------------------------------


def _PrintCommandResult(opts: Any, name: str, exit_code: int, output: str) -> None:
    ToStdout(_SEPARATOR)
    if opts.show_machine_names:
        for line in output.splitlines():
            ToStdout("%s: %s", name, line)
    else:
        ToStdout("node: %s", name)
        ToStdout("%s", output)
    ToStdout("return code = %s", exit_code)


def RunClusterCommand(opts: Any, args: list[str]) -> int:
    """Run a command on all (or the given) online nodes, the master last."""
    cl = cli.GetClient()
    command = " ".join(args)
    names = cli.GetOnlineNodes(nodes=opts.nodes, cl=cl, nodegroup=opts.nodegroup)
    cluster_name, master = cl.QueryConfigValues(["cluster_name", "master_node"])
    if master in names:
        names.remove(master)
        names.append(master)
    runner = ClusterSsh(cluster_name)
    for node in GetNodeTargets(cl, names):
        try:
            result = runner.Run(node, command)
            exit_code, output = result.exit_code, result.stdout + result.stderr
        except (errors.OpPrereqError, errors.OpExecError) as err:
            exit_code, output = SSH_FAILURE_CODE, f"{err.args[0]}\n"
        if opts.failure_only and exit_code == 0:
            continue
        _PrintCommandResult(opts, node.name, exit_code, output)
    return cli.EXIT_SUCCESS


def ClusterCopyFile(opts: Any, args: list[str]) -> int:
    """Copy a file of the master to the same path on the other online nodes."""
    filename = os.path.abspath(args[0])
    if not os.path.isfile(filename):
        raise errors.OpPrereqError(f"No such filename '{filename}'",
                                   errors.ECODE_INVAL)
    RemotePath(filename)  # refuse early what cannot be copied
    cl = cli.GetClient()
    (cluster_name,) = cl.QueryConfigValues(["cluster_name"])
    names = cli.GetOnlineNodes(nodes=opts.nodes, cl=cl, filter_master=True,
                               nodegroup=opts.nodegroup)
    runner = ClusterSsh(cluster_name)
    failed = 0
    for node in GetNodeTargets(cl, names, secondary=opts.use_replication_network):
        try:
            runner.CopyFileToNode(node, filename)
        except (errors.OpPrereqError, errors.OpExecError) as err:
            ToStderr("Copy of file %s to node %s:%d failed: %s", filename, node.name,
                     node.port, err.args[0])
            failed += 1
    return cli.EXIT_FAILURE if failed else cli.EXIT_SUCCESS


# --- running with the daemons stopped -------------------------------------------


@dataclasses.dataclass
class StoppedCluster:
    """What a function run with the cluster's daemons stopped gets."""

    feedback_fn: Callable[[str], Any]
    cluster_name: str
    master: NodeTarget
    nodes: list[NodeTarget]
    ssh: ClusterSsh

    @property
    def nonmaster_nodes(self) -> list[NodeTarget]:
        return [node for node in self.nodes if node.name != self.master.name]

    def RunDaemonUtil(self, node: NodeTarget, action: str,
                      extra: list[str] | None = None) -> None:
        """Run daemon-util action on node (locally for the master).

        Raises:
          errors.OpExecError: it failed.
        """
        argv = [DAEMON_UTIL, action, *(extra or [])]
        if node.name == self.master.name:
            result = process.RunCmd(argv)
            failed, output = result.failed, result.output
        else:
            try:
                remote = self.ssh.Run(node, shlex.join(argv))
            except errors.OpPrereqError as err:
                raise errors.OpExecError(str(err.args[0])) from err
            failed, output = remote.failed, remote.output
        if failed:
            raise errors.OpExecError(f"Command '{' '.join(argv)}' failed on node"
                                     f" {node.name}: {output.strip()}")


def RunWhileClusterStopped(feedback_fn: Callable[[str], Any],
                           fn: Callable[[StoppedCluster], Any]) -> Any:
    """Stop every online node's daemons, run fn, start them again.

    The master daemons stop first, so that no job runs meanwhile; the
    daemons start again, the master's last, even if fn failed.

    Raises:
      errors.OpExecError: a daemon did not stop (then all are started
        again) or did not start again (all nodes are tried).
    """
    cl = cli.GetClient()
    cluster_name, master_name = cl.QueryConfigValues(["cluster_name", "master_node"])
    names = cli.GetOnlineNodes([], cl=cl)
    targets = GetNodeTargets(cl, names)
    cl.Close()
    master = next(node for node in targets if node.name == master_name)
    ctx = StoppedCluster(feedback_fn, cluster_name, master, targets,
                         ClusterSsh(cluster_name))
    try:
        feedback_fn("Stopping master daemons")
        ctx.RunDaemonUtil(master, "stop", [constants.RAPI])
        ctx.RunDaemonUtil(master, "stop", [constants.MASTERD])
        for node in ctx.nonmaster_nodes + [master]:
            feedback_fn(f"Stopping daemons on {node.name}")
            ctx.RunDaemonUtil(node, "stop-all")
        return fn(ctx)
    finally:
        _StartAll(ctx)


def _StartAll(ctx: StoppedCluster) -> None:
    failures = []
    for node in ctx.nonmaster_nodes + [ctx.master]:
        ctx.feedback_fn(f"Starting daemons on {node.name}")
        try:
            ctx.RunDaemonUtil(node, "start-all")
        except errors.OpExecError as err:
            failures.append(str(err))
            ctx.feedback_fn(str(err))
    if failures:
        raise errors.OpExecError("Some daemons did not start again: "
                                 + "; ".join(failures))


# --- renew-crypto ---------------------------------------------------------------


@dataclasses.dataclass
class CryptoRequest:
    """What renew-crypto is asked to renew (checked user input)."""

    new_cluster_cert: bool = False
    new_node_cert: bool = False
    new_rapi_cert: bool = False
    rapi_cert_pem: str | None = None
    new_spice_cert: bool = False
    spice_cert_pem: str | None = None
    spice_cacert_pem: str | None = None
    new_confd_hmac_key: bool = False
    new_cds: bool = False
    cds: str | None = None

    def StoppedWork(self) -> bool:
        """Whether files must be replaced with the daemons stopped."""
        return any([self.new_cluster_cert, self.new_node_cert, self.new_rapi_cert,
                    self.rapi_cert_pem, self.new_spice_cert, self.spice_cert_pem,
                    self.new_confd_hmac_key, self.new_cds, self.cds])


def ReadAndVerifyCert(filename: str, verify_private_key: bool = False) -> str:
    """The PEM text of a certificate file, checked to hold a certificate (and
    a private key if asked).

    Raises:
      errors.X509CertError: unreadable, or no certificate or key in it.
    """
    from OpenSSL import crypto

    try:
        pem = io.ReadFile(filename)
    except (OSError, UnicodeDecodeError) as err:
        raise errors.X509CertError(filename,
                                   f"Unable to read certificate: {err}") from err
    x509.LoadPemCertificate(pem, filename)
    if verify_private_key:
        try:
            crypto.load_privatekey(crypto.FILETYPE_PEM, pem)
        except crypto.Error as err:
            raise errors.X509CertError(filename,
                                       f"Unable to load private key: {err}") from err
    return pem


def ParseCryptoOptions(opts: Any) -> CryptoRequest | None:
    """The renew-crypto options as a request; None after printing why not."""
    conflicts = [
        (opts.new_rapi_cert and opts.rapi_cert,
         "Only one of the --new-rapi-certificate and --rapi-certificate options"
         " can be given at the same time."),
        (opts.new_cluster_domain_secret and opts.cluster_domain_secret,
         "Only one of the --new-cluster-domain-secret and --cluster-domain-secret"
         " options can be given at the same time."),
        (opts.new_spice_cert and (opts.spice_cert or opts.spice_cacert),
         "When using --new-spice-certificate, the --spice-certificate and"
         " --spice-ca-certificate must not be used."),
        (bool(opts.spice_cacert) != bool(opts.spice_cert),
         "Both --spice-certificate and --spice-ca-certificate must be given."),
    ]
    for conflict, message in conflicts:
        if conflict:
            ToStderr(message)
            return None
    request = CryptoRequest(
        new_cluster_cert=opts.new_cluster_cert, new_node_cert=opts.new_node_cert,
        new_rapi_cert=opts.new_rapi_cert, new_spice_cert=opts.new_spice_cert,
        new_confd_hmac_key=opts.new_confd_hmac_key,
        new_cds=opts.new_cluster_domain_secret)
    try:
        if opts.rapi_cert:
            request.rapi_cert_pem = ReadAndVerifyCert(opts.rapi_cert, True)
        if opts.spice_cert:
            request.spice_cert_pem = ReadAndVerifyCert(opts.spice_cert, True)
            request.spice_cacert_pem = ReadAndVerifyCert(opts.spice_cacert)
    except errors.X509CertError as err:
        ToStderr("Unable to load X509 certificate from %s: %s", err.args[0],
                 err.args[-1])
        return None
    if opts.cluster_domain_secret:
        try:
            request.cds = io.ReadFile(opts.cluster_domain_secret)
        except (OSError, UnicodeDecodeError) as err:
            ToStderr("Can't load new cluster domain secret from %s: %s",
                     opts.cluster_domain_secret, err)
            return None
    return request


def _WriteSecret(path: str, content: str | None, mode: int) -> None:
    """Write a given secret, or a new random one (40 hex digits)."""
    from ganeti.utils import text

    io.WriteFile(path, content if content is not None
                 else f"{text.GenerateSecret()}\n", mode=mode)


def _RenewFiles(ctx: StoppedCluster, request: CryptoRequest) -> None:
    """The RAPI/SPICE certificates and secrets: made here, copied everywhere."""
    files = []
    serial = int.from_bytes(os.urandom(8), "big") | 1
    if request.new_rapi_cert or request.rapi_cert_pem:
        if request.rapi_cert_pem:
            io.WriteFile(pathutils.RAPI_CERT_FILE, request.rapi_cert_pem, mode=0o440)
        else:
            x509.GenerateSelfSignedSslCert(pathutils.RAPI_CERT_FILE, serial,
                                           ctx.cluster_name)
        files.append(pathutils.RAPI_CERT_FILE)
    if request.new_spice_cert or request.spice_cert_pem:
        if request.spice_cert_pem:
            io.WriteFile(pathutils.SPICE_CERT_FILE, request.spice_cert_pem, mode=0o440)
            cacert = request.spice_cacert_pem or ""
        else:
            _, cacert = x509.GenerateSelfSignedSslCert(pathutils.SPICE_CERT_FILE,
                                                       serial, ctx.cluster_name)
        io.WriteFile(pathutils.SPICE_CACERT_FILE, cacert, mode=0o440)
        files += [pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE]
    if request.new_confd_hmac_key:
        _WriteSecret(pathutils.CONFD_HMAC_KEY, None, 0o440)
        files.append(pathutils.CONFD_HMAC_KEY)
    if request.new_cds or request.cds is not None:
        _WriteSecret(pathutils.CLUSTER_DOMAIN_SECRET_FILE, request.cds, 0o640)
        files.append(pathutils.CLUSTER_DOMAIN_SECRET_FILE)
    _CopyToNodes(ctx, ctx.nonmaster_nodes, files)


def _CopyToNodes(ctx: StoppedCluster, nodes: list[NodeTarget],
                 files: list[str]) -> None:
    for node in nodes:
        if files:
            ctx.feedback_fn(f"Copying {', '.join(files)} to {node.name}:{node.port}")
        for name in files:
            ctx.ssh.CopyFileToNode(node, name)


def _CertSerial(node: NodeTarget) -> int:
    """A node's certificate serial number: its UUID as an integer, as Ganeti."""
    return int(node.uuid.replace("-", ""), 16) if node.uuid else 1


def _RenewClientCerts(ctx: StoppedCluster) -> None:
    """New client certificates for every online node, signed by server.pem.

    The candidates' digests go to config.data and ssconf (here and on the
    nodes) before any daemon starts again.
    """
    ctx.feedback_fn("Updating client SSL certificates.")
    digests = {}
    x509.GenerateSignedSslCert(pathutils.NODED_CLIENT_CERT_FILE,
                               _CertSerial(ctx.master), pathutils.NODED_CERT_FILE,
                               ctx.master.name)
    digests[ctx.master.uuid] = x509.GetCertificateDigest(
        cert_filename=pathutils.NODED_CLIENT_CERT_FILE)
    with tempfile.TemporaryDirectory(prefix="renew-crypto-") as tmpdir:
        for node in ctx.nonmaster_nodes:
            cert = os.path.join(tmpdir, f"{node.name}.pem")
            x509.GenerateSignedSslCert(cert, _CertSerial(node),
                                       pathutils.NODED_CERT_FILE, node.name)
            ctx.feedback_fn(f"Copying a new client certificate to {node.name}")
            ctx.ssh.CopyFileToNode(node, cert, pathutils.NODED_CLIENT_CERT_FILE)
            if node.candidate:
                digests[node.uuid] = x509.GetCertificateDigest(cert_filename=cert)
    _RecordCandidateCerts(ctx, digests)


def _RecordCandidateCerts(ctx: StoppedCluster, digests: dict[str, str]) -> None:
    """Save the digests in config.data and ssconf, and copy both out."""
    from ganeti import config

    cfg = config.ConfigWriter(offline=True)
    cluster = cfg.GetClusterInfo()
    cluster.candidate_certs = {uuid: digest for uuid, digest in digests.items()
                               if uuid}
    cfg.Update(cluster)
    store = ssconf.SimpleStore()
    store.WriteFiles(cfg.GetSsconfValues())
    ssconf_file = store.KeyToFilename(ssconf.SS_MASTER_CANDIDATES_CERTS)
    for node in ctx.nonmaster_nodes:
        files = [ssconf_file]
        if node.candidate:
            files.append(pathutils.CLUSTER_CONF_FILE)
        _CopyToNodes(ctx, [node], files)


def _RenewServerCert(ctx: StoppedCluster) -> None:
    """A new cluster certificate (server.pem), copied to every node."""
    from ganeti import bootstrap

    ctx.feedback_fn("Updating the cluster SSL certificate.")
    bootstrap.GenerateClusterCert(pathutils.NODED_CERT_FILE, ctx.cluster_name)
    _CopyToNodes(ctx, ctx.nonmaster_nodes, [pathutils.NODED_CERT_FILE])


def _RenewStopped(ctx: StoppedCluster, request: CryptoRequest) -> None:
    ctx.feedback_fn("Updating certificates and keys")
    _RenewFiles(ctx, request)
    if request.new_cluster_cert:
        _RenewServerCert(ctx)
    if request.new_cluster_cert or request.new_node_cert:
        _RenewClientCerts(ctx)


def RenewCrypto(opts: Any, args: list[str]) -> int:
    """Renew the cluster's certificates, keys and secrets (see module doc)."""
    from ganeti import opcodes

    request = ParseCryptoOptions(opts)
    if request is None:
        return cli.EXIT_FAILURE
    if not (request.StoppedWork() or opts.new_ssh_keys):
        ToStderr("Nothing to renew: give at least one of the --new-* options (see"
                 " gnt-cluster(8)).")
        return cli.EXIT_FAILURE
    if request.StoppedWork() and not opts.force:
        if not cli.AskUser("The daemons of every node are stopped and started"
                           " again for this, which takes a while. Continue?"):
            return cli.EXIT_FAILURE
    ToStdout("Updating certificates now. Running \"gnt-cluster verify\" is"
             " recommended after this operation.")
    if request.StoppedWork():
        RunWhileClusterStopped(ToStdout, lambda ctx: _RenewStopped(ctx, request))
    if opts.new_node_cert or opts.new_cluster_cert or opts.new_ssh_keys:
        op = opcodes.OpClusterRenewCrypto(
            node_certificates=bool(opts.new_node_cert or opts.new_cluster_cert),
            renew_ssh_keys=bool(opts.new_ssh_keys), ssh_key_type=opts.ssh_key_type,
            ssh_key_bits=opts.ssh_key_bits, verbose=bool(opts.verbose),
            debug=bool(opts.debug))
        cli.SubmitOpCode(op, opts=opts)
    ToStdout("All requested certificates and keys have been replaced. Running"
             " \"gnt-cluster verify\" now is recommended.")
    return cli.EXIT_SUCCESS
