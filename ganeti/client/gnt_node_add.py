"""The client side of `gnt-node add` (Ganeti's gnt_node.AddNode).

Run on the master. Steps, as Ganeti 3.0 (lib/client/gnt_node.py and
bootstrap.SetupNodeDaemon):

1. the name must resolve; a node already in the cluster needs --readd, the
   master cannot be re-added; node parameters are checked before anything
   else happens;
2. the SSH port is the node parameter ssh_port: --node-parameters
   ssh_port=N, else the re-added node's, else its group's (or the
   cluster's) value;
3. SSH to the node as root (ganeti.ssh): the host key must be in the
   cluster's known_hosts; --no-ssh-key-check accepts and records an unknown
   one (on a terminal the user is asked instead); a key that differs from
   the recorded one is always refused;
4. node-daemon-setup runs on the node with the cluster certificate, the
   ssconf values and the secrets as JSON on its standard input; it writes
   them and restarts noded there. We wait until noded answers;
5. OpNodeAdd is submitted and followed (LUNodeAdd checks and records the
   node; the configuration save distributes config.data and ssconf).

Virtual clusters: the private key may come from GANETI_SSH_KEY_FILE, and
GANETI_NODED_PORT, when set, is passed on to the node's setup so that its
noded listens where the cluster expects it.

The gnt-node command table (ganeti/client/gnt_node.py) wires "add" to
AddNode with ADD_ARGS and ADD_OPTS.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any

from ganeti import cli, constants, defaults, errors, netutils, opcodes
from ganeti import pathutils, serializer, ssconf
from ganeti.cli import (
    DISK_STATE_OPT,
    HV_STATE_OPT,
    NODE_PARAMS_OPT,
    NODEGROUP_OPT,
    PRIORITY_OPT,
    SECONDARY_IP_OPT,
    VERBOSE_OPT,
    ArgHost,
    ToStderr,
    cli_option,
)
from ganeti.utils import io

if TYPE_CHECKING:
    from ganeti import ssh

# --- options (Ganeti's names) --------------------------------------------------

READD_OPT = cli_option("--readd", dest="readd", default=False,
                       action="store_true",
                       help="Readd old node after replacing it")

NOSSH_KEYCHECK_OPT = cli_option("--no-ssh-key-check", dest="ssh_key_check",
                                default=True, action="store_false",
                                help="Disable SSH key fingerprint checking:"
                                " accept and record an unknown host key")

NODE_FORCE_JOIN_OPT = cli_option("--force-join", dest="force_join",
                                 default=False, action="store_true",
                                 help="Force the joining of a node (no longer"
                                 " supported, ignored)")

NONODE_SETUP_OPT = cli_option("--no-node-setup", default=True,
                              action="store_false", dest="node_setup",
                              help="Do not make initial SSH setup on remote"
                              " node (needs to be done manually)")

CAPAB_MASTER_OPT = cli_option("--master-capable", dest="master_capable",
                              default=None, type="bool", metavar="yes|no",
                              help="Set the master_capable flag on the node")

CAPAB_VM_OPT = cli_option("--vm-capable", dest="vm_capable", default=None,
                          type="bool", metavar="yes|no",
                          help="Set the vm_capable flag on the node")

ADD_ARGS = [ArgHost(min=1, max=1)]
ADD_OPTS = [SECONDARY_IP_OPT, READD_OPT, NOSSH_KEYCHECK_OPT, NODE_FORCE_JOIN_OPT,
            NONODE_SETUP_OPT, VERBOSE_OPT, NODEGROUP_OPT, PRIORITY_OPT,
            CAPAB_MASTER_OPT, CAPAB_VM_OPT, NODE_PARAMS_OPT, HV_STATE_OPT,
            DISK_STATE_OPT]
ADD_USAGE = ("[-s ip] [-g group] [--readd] [--no-ssh-key-check] [--force-join]"
             " [--no-node-setup] [--verbose] [--master-capable=yes|no]"
             " [--vm-capable=yes|no] [--node-parameters <node-params>]"
             " <node_name>")
ADD_HELP = "Add a node to the cluster"

NODE_DAEMON_SETUP = os.path.join(pathutils.TOOLS_DIR, "node-daemon-setup")
# Seconds noded has to answer after node-daemon-setup started it.
NODE_DAEMON_TIMEOUT = 30.0
_GLOBAL_NDPARAMS = frozenset([defaults.ND_EXCLUSIVE_STORAGE])


def CheckNodeParameters(ndparams: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check --node-parameters before anything touches the node.

    Raises:
      errors.OpPrereqError: unknown parameter, bad value, or a parameter
        only the cluster or a group may set.
    """
    if ndparams is None:
        return None
    params = dict(ndparams)
    try:
        defaults.ForceDictType(params, defaults.NDS_PARAMETER_TYPES)
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid node parameters: {err}",
                                   errors.ECODE_INVAL) from err
    bad = sorted(_GLOBAL_NDPARAMS & set(params))
    if bad:
        raise errors.OpPrereqError(
            "The following node parameters are global and cannot be customized"
            " at node level, please modify them at cluster or group level:"
            f" {', '.join(bad)}", errors.ECODE_INVAL)
    return params


def _QueryNode(cl: Any, node: str) -> list[Any] | None:
    """[name, sip, master, ndp/ssh_port] of a known node, or None."""
    try:
        rows = cl.QueryNodes([node], ["name", "sip", "master", "ndp/ssh_port"],
                             False)
    except errors.OpPrereqError:
        return None
    return rows[0] if rows else None


def _GroupSshPort(cl: Any, group: str | None) -> int:
    """ssh_port of the group (default group if None), else the cluster's."""
    try:
        rows = cl.QueryGroups([group] if group else [], ["ndp/ssh_port"], False)
        if rows and rows[0] and rows[0][0] is not None:
            return int(rows[0][0])
    except errors.OpPrereqError as err:
        # An unknown group is the user's error; a master that cannot query
        # groups leaves the cluster-wide value.
        if len(err.args) > 1 and err.args[1] == errors.ECODE_NOENT:
            raise
    from ganeti import ssh  # paramiko is slow to import: only when adding

    ndparams = cl.QueryClusterInfo().get("ndparams") or {}
    return int(ndparams.get(defaults.ND_SSH_PORT, ssh.DEFAULT_SSH_PORT))


def _ReadIfExists(path: str) -> str | None:
    try:
        return io.ReadFile(path)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise errors.OpPrereqError(f"Cannot read {path}: {err}",
                                   errors.ECODE_ENVIRON) from err


def BuildSetupData(cluster_name: str, node: str) -> dict[str, Any]:
    """The JSON document node-daemon-setup reads (see its module doc).

    Raises:
      errors.OpPrereqError: the cluster certificate or ssconf is missing
        here (not run on a master?).
    """
    from ganeti.tools import node_daemon_setup as nds

    server_pem = _ReadIfExists(pathutils.NODED_CERT_FILE)
    if not server_pem:
        raise errors.OpPrereqError(
            f"The cluster certificate {pathutils.NODED_CERT_FILE} is missing;"
            " run this on the master node", errors.ECODE_ENVIRON)
    store = ssconf.SimpleStore()
    values = {}
    for key in sorted(ssconf.VALID_KEYS):
        try:
            values[key] = store.ReadSsconfFile(key)
        except errors.ConfigurationError:
            continue
    data = {
        nds.NDS_CLUSTER_NAME: cluster_name,
        nds.NDS_NODE_NAME: node,
        nds.NDS_NODE_DAEMON_CERTIFICATE: server_pem,
        nds.NDS_SSCONF: values,
        nds.NDS_START_NODE_DAEMON: True,
    }
    for key, path in ((nds.NDS_HMAC, pathutils.CONFD_HMAC_KEY),
                      (nds.NDS_CLUSTER_DOMAIN_SECRET,
                       pathutils.CLUSTER_DOMAIN_SECRET_FILE),
                      (nds.NDS_RAPI_CERTIFICATE, pathutils.RAPI_CERT_FILE)):
        content = _ReadIfExists(path)
        if content:
            data[key] = content
    return data


def SetupCommand(debug: int = 0, verbose: bool = False) -> str:
    """The shell command running node-daemon-setup on the node."""
    if os.path.exists(NODE_DAEMON_SETUP):
        argv = [NODE_DAEMON_SETUP]
    else:
        argv = ["python3", "-m", "ganeti.tools.node_daemon_setup"]
    if debug:
        argv.append("--debug")
    if verbose:
        argv.append("--verbose")
    env_name = netutils.GetDaemonPortEnvName(constants.NODED)
    port = os.environ.get(env_name)
    if port:
        # Every process of a cluster must see the same noded port.
        argv = ["env", f"{env_name}={port}", *argv]
    return shlex.join(argv)


def _AskFn(opts: Any) -> ssh.AskFn | None:
    """Ask on the terminal about unknown host keys (as ssh does), if any."""
    if not opts.ssh_key_check or not sys.stdin.isatty():
        return None
    return lambda question: bool(cli.AskUser(question))


def RunNodeSetup(opts: Any, cluster_name: str, node: str, address: str,
                 ssh_port: int) -> None:
    """Run node-daemon-setup on the node over SSH.

    Raises:
      errors.OpPrereqError: SSH refused (unreachable, host key, login);
        nothing ran on the node.
      errors.OpExecError: node-daemon-setup failed; its message is included.
    """
    from ganeti import ssh  # paramiko is slow to import: only when adding

    data = BuildSetupData(cluster_name, node)
    policy = ssh.HostKeyPolicy(ssh.KnownHostsFile(),
                               accept_new=not opts.ssh_key_check,
                               ask_fn=_AskFn(opts), alias=cluster_name)
    command = SetupCommand(opts.debug, opts.verbose)
    with ssh.SshConnection(node, address, ssh_port, policy) as conn:
        result = conn.Run(command, serializer.DumpJson(data))
    if opts.verbose and result.stderr.strip():
        ToStderr(result.stderr.rstrip("\n"))
    if result.failed:
        raise errors.OpExecError(
            f"Command '{command}' on node {node} failed with exit code"
            f" {result.exit_code}: {result.output}")


def WaitForNodeDaemon(node: str, address: str,
                      timeout: float = NODE_DAEMON_TIMEOUT) -> None:
    """Wait until the node's noded answers the version call.

    Raises:
      errors.OpExecError: it did not within timeout seconds.
    """
    from ganeti.rpc import client as rpc_client
    from ganeti.rpc import resolver

    deadline = time.monotonic() + timeout
    runner = rpc_client.RpcRunner(resolver.StaticResolver({node: address}),
                                  port=rpc_client.GetNodedPort())
    try:
        while True:
            result = runner.call_version([node])[node]
            if not result.failed:
                return
            if time.monotonic() >= deadline:
                raise errors.OpExecError(
                    f"Node daemon on {node} didn't answer queries within"
                    f" {timeout:g} seconds: {result.fail_msg}")
            time.sleep(0.2)
    finally:
        runner.Close()


def _CheckExistence(opts: Any, node: str, info: list[Any] | None) -> str | None:
    """The message refusing this add/readd, or None."""
    if opts.readd:
        if info is None:
            return f"Node {node} not in the cluster - please retry without '--readd'"
        if info[2]:
            return f"Node {node} is the master, cannot readd"
    elif info is not None:
        return (f"Node {node} already in the cluster (as {info[0]}) - please retry"
                " with '--readd'")
    return None


def AddNode(opts: Any, args: list[str]) -> int:
    """Add (or with --readd re-add) a node; see the module docstring.

    Returns:
      the exit code (1 when the node's state does not fit --readd).

    Raises:
      errors.OpPrereqError, errors.OpExecError: a step failed; nothing was
        recorded in the configuration.
    """
    ndparams = CheckNodeParameters(getattr(opts, "ndparams", None))
    hostname = netutils.GetHostname(name=args[0])
    node = hostname.name
    cl = cli.GetClient()
    info = _QueryNode(cl, node)
    refusal = _CheckExistence(opts, node, info)
    if refusal:
        ToStderr(refusal)
        return 1
    sip = info[1] if opts.readd and info is not None else opts.secondary_ip
    if ndparams and defaults.ND_SSH_PORT in ndparams:
        ssh_port = int(ndparams[defaults.ND_SSH_PORT])
    elif info is not None and info[3] is not None:
        ssh_port = int(info[3])
    else:
        ssh_port = _GroupSshPort(cl, opts.nodegroup)
    if getattr(opts, "force_join", False):
        ToStderr('The "--force-join" option is no longer supported and will be'
                 " ignored.")
    (cluster_name, ) = cl.QueryConfigValues(["cluster_name"])
    RunNodeSetup(opts, cluster_name, node, hostname.ip, ssh_port)
    WaitForNodeDaemon(node, hostname.ip)
    op = opcodes.OpNodeAdd(
        node_name=args[0], secondary_ip=sip, readd=opts.readd,
        group=opts.nodegroup, vm_capable=opts.vm_capable, ndparams=ndparams,
        master_capable=opts.master_capable,
        disk_state=_FlatDiskState(getattr(opts, "disk_state", None)),
        hv_state=dict(getattr(opts, "hv_state", None) or []),
        node_setup=getattr(opts, "node_setup", True))
    cli.SubmitOpCode(op, cl=cl, opts=opts)
    return 0


def _FlatDiskState(disk_state: Any) -> dict[str, Any]:
    """--disk-state storage:name=...,... as {storage: {name: params}}."""
    result: dict[str, Any] = {}
    for ident, params in disk_state or []:
        storage, _, name = ident.partition("/")
        result.setdefault(storage, {})[name] = params
    return result
