"""Node side of the master role: master daemons, master IP, config serial.

Mirrors Ganeti's backend.StartMasterDaemons, StopMasterDaemons,
ActivateMasterIp, DeactivateMasterIp and ChangeMasterNetmask, plus one
procedure Ganeti lacks, config_serial_no, which master failover uses to
compare the configurations of the master candidates (Ganeti issue #1242).

Master daemons are started and stopped through daemons/daemon-util, as
Ganeti's "daemon-util start-master/stop-master" do: masterd, then the RAPI
daemon when it is installed (stopped in the reverse order).

The master IP. Ganeti runs a setup script with MASTER_NETDEV, MASTER_IP,
MASTER_NETMASK and CLUSTER_IP_VERSION in an otherwise empty environment and
"start" or "stop" as argument: the cluster's own script
(<CONF_DIR>/scripts/master-ip-setup) when use_external_mip_script is set,
otherwise its default tools/master-ip-setup. The default script is done
here in Python with the same steps: nothing to do if the address is already
in the wanted state on the interface, else `ip address add|del` (label
"<netdev>:0" when adding), and on start a gratuitous ARP (IPv4, arping) or
unsolicited neighbour advertisement (IPv6, ndisc6) whose failure does not
matter (the tools may be missing). Unlike Ganeti's script, no fping probe
for the address on other machines is made: fping is usually absent.

Virtual nodes (vcluster) share the machine's network stack, so they may
only add and remove loopback addresses (127.0.0.0/8) on "lo"; any other
master IP or interface is refused before anything is run, and external
scripts are refused as well (they would act on the real host).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, netutils, pathutils, serializer, vcluster
from ganeti.backend import RPCFail, args
from ganeti.utils import io, process

logger = logging.getLogger(__name__)

DAEMON_UTIL = os.path.join(pathutils.DAEMONS_DIR, "daemon-util")
MASTER_START = "start"
MASTER_STOP = "stop"
VIRTUAL_MASTER_NETDEV = "lo"
# The loopback network virtual nodes may put a master IP in.
VIRTUAL_MASTER_NETWORK = "127.0.0.0/8"
# Seconds the address tools may take; they act on the local kernel only.
_IP_TOOL_TIMEOUT = 30
# daemon-util waits up to 30 s for a daemon to stop; a start waits for the
# vote, which may take up to a minute when nodes do not answer.
_DAEMON_UTIL_TIMEOUT = 240
# The IP version Ganeti's scripts receive, by socket family.
_FAMILY_VERSIONS = {constants.IP4_FAMILY: constants.IP4_VERSION,
                    constants.IP6_FAMILY: constants.IP6_VERSION}

RunFn = Callable[..., process.RunResult]


def _RunCmd(argv: list[str], env: dict[str, str] | None = None,
            reset_env: bool = False,
            timeout: float = _IP_TOOL_TIMEOUT) -> process.RunResult:
    """Run a command, turning "cannot start it at all" into RPCFail."""
    try:
        return process.RunCmd(argv, env=env, reset_env=reset_env, timeout=timeout)
    except errors.CommandError as err:
        raise RPCFail(str(err)) from err


# --- master daemons ------------------------------------------------------------


def _DaemonUtil(action: str, daemon: str, extra: list[str], run_fn: RunFn) -> None:
    """Run daemon-util action daemon [extra...].

    Raises:
      RPCFail: daemon-util failed; its output is in the message.
    """
    result = run_fn([DAEMON_UTIL, action, daemon, *extra],
                    timeout=_DAEMON_UTIL_TIMEOUT)
    if result.failed:
        raise RPCFail(f"Could not {action} {daemon}: daemon-util {result.fail_reason}:"
                      f" {result.output.strip()}")


def _RapiInstalled() -> bool:
    return os.access(os.path.join(pathutils.DAEMONS_DIR, constants.RAPI), os.X_OK)


def StartMasterDaemons(no_voting: Any, _run_fn: RunFn = _RunCmd) -> None:
    """Start masterd (and the RAPI daemon if installed) on this node.

    Args:
      no_voting: skip masterd's check that the other nodes agree on this
        node being the master (passed as --no-voting --yes-do-it).
      _run_fn: runs a command (test seam).

    Raises:
      RPCFail: no_voting is no boolean or masterd did not start (e.g. the
        vote failed: its reason is in the message). A RAPI daemon that does
        not start is only logged: the cluster works without it.
    """
    no_voting = args.CheckBool(no_voting, "argument 'no_voting'")
    extra = ["--no-voting", "--yes-do-it"] if no_voting else []
    _DaemonUtil("start", constants.MASTERD, extra, _run_fn)
    if _RapiInstalled():
        try:
            _DaemonUtil("start", constants.RAPI, [], _run_fn)
        except RPCFail as err:
            logger.error("The RAPI daemon did not start: %s", err)
    logger.info("Master daemons started (no_voting=%s)", no_voting)


@args.RpcProcedure("node_start_master_daemons")
def NodeStartMasterDaemons(no_voting: Any) -> None:
    """node_start_master_daemons: see StartMasterDaemons."""
    StartMasterDaemons(no_voting)


def StopMasterDaemons(_run_fn: RunFn = _RunCmd) -> None:
    """Stop the RAPI daemon and masterd on this node (not running is fine).

    Raises:
      RPCFail: a daemon did not stop.
    """
    failures = []
    for daemon in (constants.RAPI, constants.MASTERD):
        try:
            _DaemonUtil("stop", daemon, [], _run_fn)
        except RPCFail as err:
            failures.append(str(err))
    if failures:
        raise RPCFail("; ".join(failures))
    logger.info("Master daemons stopped")


@args.RpcProcedure("node_stop_master")
def NodeStopMaster() -> None:
    """node_stop_master: see StopMasterDaemons."""
    StopMasterDaemons()


# --- master IP -------------------------------------------------------------------


class MasterParams:
    """The checked master network parameters of an RPC call.

    Attributes:
      ip, netmask, netdev: the address, its prefix length, the interface.
      ip_version: constants.IP4_VERSION or IP6_VERSION.
    """

    def __init__(self, value: Any) -> None:
        """Check the master_params dict (uuid, ip, netmask, netdev, ip_family).

        Raises:
          RPCFail: a field is missing or malformed.
        """
        params = args.CheckDict(value, "argument 'master_params'")
        missing = sorted({"ip", "netmask", "netdev", "ip_family"} - set(params))
        if missing:
            raise RPCFail("Invalid argument 'master_params': missing"
                          f" {', '.join(missing)}")
        self.ip = args.CheckStr(params["ip"], "master IP", non_empty=True)
        self.netdev = args.CheckStr(params["netdev"], "master netdev", non_empty=True)
        family = params["ip_family"]
        if family not in _FAMILY_VERSIONS:
            raise RPCFail(f"Invalid master IP family {family!r}")
        self.ip_version = _FAMILY_VERSIONS[family]
        ipcls = netutils.IPAddress.GetClassFromIpVersion(self.ip_version)
        if not ipcls.IsValid(self.ip):
            raise RPCFail(f"Invalid master IP {self.ip!r} for IP version"
                          f" {self.ip_version}")
        self.netmask = args.CheckInt(params["netmask"], "master netmask", minimum=1)
        if not ipcls.ValidateNetmask(self.netmask):
            raise RPCFail(f"Invalid master netmask {self.netmask} for IP version"
                          f" {self.ip_version}")
        if any(ch.isspace() or ch == "/" for ch in self.netdev):
            raise RPCFail(f"Invalid master netdev {self.netdev!r}")

    def Environment(self) -> dict[str, str]:
        """The variables Ganeti's master IP setup scripts receive."""
        return {"MASTER_NETDEV": self.netdev, "MASTER_IP": self.ip,
                "MASTER_NETMASK": str(self.netmask),
                "CLUSTER_IP_VERSION": str(self.ip_version)}


def _CheckVirtualMasterIp(params: MasterParams) -> None:
    """Refuse what a virtual node must not do to the shared host.

    Raises:
      RPCFail: the address is not a 127.0.0.0/8 one or the interface is not
        "lo".
    """
    if (params.ip_version != constants.IP4_VERSION
            or not netutils.IP4Address.InNetwork(VIRTUAL_MASTER_NETWORK, params.ip)):
        raise RPCFail(f"Refusing master IP {params.ip} on a virtual node: only"
                      f" loopback addresses ({VIRTUAL_MASTER_NETWORK}) can be"
                      " used in a virtual cluster")
    if params.netdev != VIRTUAL_MASTER_NETDEV:
        raise RPCFail(f"Refusing master netdev {params.netdev!r} on a virtual"
                      f" node: only '{VIRTUAL_MASTER_NETDEV}' can be used in a"
                      " virtual cluster")


def ParseAddresses(output: str) -> set[str]:
    """The addresses in `ip -o address show` output (without prefix length)."""
    found = set()
    for line in output.splitlines():
        fields = line.split()
        for idx, field in enumerate(fields[:-1]):
            if field in ("inet", "inet6"):
                found.add(fields[idx + 1].split("/", 1)[0])
    return found


def _HasAddress(params: MasterParams, run_fn: RunFn) -> bool:
    """Whether the master IP is configured on the master netdev.

    Raises:
      RPCFail: the interface cannot be listed (e.g. it does not exist).
    """
    result = run_fn(["ip", "-o", "address", "show", "dev", params.netdev])
    if result.failed:
        raise RPCFail(f"Cannot list the addresses of {params.netdev}:"
                      f" {result.output.strip() or result.fail_reason}")
    return params.ip in ParseAddresses(result.stdout)


def _DefaultSetup(params: MasterParams, action: str, run_fn: RunFn) -> None:
    """The steps of Ganeti's default master-ip-setup script (module doc)."""
    present = _HasAddress(params, run_fn)
    cidr = f"{params.ip}/{params.netmask}"
    if action == MASTER_START:
        if present:
            logger.info("Master IP %s already configured on %s", params.ip,
                        params.netdev)
            return
        result = run_fn(["ip", "address", "add", cidr, "dev", params.netdev,
                         "label", f"{params.netdev}:0"])
    else:
        if not present:
            logger.info("Master IP %s not configured on %s", params.ip,
                        params.netdev)
            return
        result = run_fn(["ip", "address", "del", cidr, "dev", params.netdev])
    if result.failed:
        detail = result.output.strip() or result.fail_reason
        raise RPCFail(f"Failed to {action} the master IP {cidr} on"
                      f" {params.netdev}: {detail}")
    if action == MASTER_START and params.netdev != VIRTUAL_MASTER_NETDEV:
        _AnnounceAddress(params, run_fn)


def _AnnounceAddress(params: MasterParams, run_fn: RunFn) -> None:
    """Tell the neighbours about the moved address; failures do not matter."""
    if params.ip_version == constants.IP4_VERSION:
        argv = ["arping", "-q", "-U", "-c", "3", "-I", params.netdev, "-s",
                params.ip, params.ip]
    else:
        argv = ["ndisc6", "-q", "-r", "3", params.ip, params.netdev]
    try:
        result = run_fn(argv)
    except RPCFail as err:
        logger.info("Could not announce the master IP: %s", err)
        return
    if result.failed:
        logger.info("Announcing the master IP failed: %s", result.output.strip())


def _ExternalSetup(params: MasterParams, action: str, run_fn: RunFn) -> None:
    """Run the cluster's own master IP setup script.

    Raises:
      RPCFail: the script is missing or failed.
    """
    script = pathutils.EXTERNAL_MASTER_SETUP_SCRIPT
    if not os.access(script, os.X_OK):
        raise RPCFail(f"External master IP setup script {script} is missing or"
                      " not executable")
    result = run_fn([script, action], env=params.Environment(), reset_env=True)
    if result.failed:
        raise RPCFail(f"Failed to {action} the master IP. Script return value:"
                      f" {result.exit_code}, output: '{result.output.strip()}'")


def RunMasterSetup(master_params: Any, action: str, use_external_mip_script: Any,
                   _run_fn: RunFn = _RunCmd, _virtual: bool | None = None) -> None:
    """Bring the master IP up ("start") or down ("stop") on this node.

    Args:
      master_params: dict with uuid, ip, netmask, netdev, ip_family.
      action: MASTER_START or MASTER_STOP.
      use_external_mip_script: run the cluster's own script instead.
      _run_fn: runs a command (test seam).
      _virtual: whether this is a virtual node (default: vcluster's view).

    Raises:
      RPCFail: an argument is malformed, the address is refused on a virtual
        node, or the setup failed (the address is then as it was, unless
        the external script left it otherwise).
    """
    params = MasterParams(master_params)
    external = args.CheckBool(use_external_mip_script,
                              "argument 'use_external_mip_script'")
    virtual = vcluster.IsVirtual() if _virtual is None else _virtual
    if virtual:
        _CheckVirtualMasterIp(params)
        if external:
            raise RPCFail("Refusing to run an external master IP setup script on"
                          " a virtual node (it would act on the host)")
    if external:
        _ExternalSetup(params, action, _run_fn)
    else:
        _DefaultSetup(params, action, _run_fn)
    logger.info("Master IP %s/%s %s on %s", params.ip, params.netmask,
                "up" if action == MASTER_START else "down", params.netdev)


@args.RpcProcedure("node_activate_master_ip")
def NodeActivateMasterIp(master_params: Any, use_external_mip_script: Any) -> None:
    """node_activate_master_ip: add the master IP to the master netdev."""
    RunMasterSetup(master_params, MASTER_START, use_external_mip_script)


@args.RpcProcedure("node_deactivate_master_ip")
def NodeDeactivateMasterIp(master_params: Any, use_external_mip_script: Any) -> None:
    """node_deactivate_master_ip: remove the master IP from the master netdev."""
    RunMasterSetup(master_params, MASTER_STOP, use_external_mip_script)


def ChangeMasterNetmask(old_netmask: Any, netmask: Any, master_ip: Any,
                        master_netdev: Any, _run_fn: RunFn = _RunCmd,
                        _virtual: bool | None = None) -> None:
    """Give the master IP a new prefix length (add the new, drop the old).

    Does nothing when the address is not configured here, as Ganeti.

    Raises:
      RPCFail: an argument is malformed, refused on a virtual node, or the
        change failed (the old address is kept if the new one could not be
        added).
    """
    old = args.CheckInt(old_netmask, "argument 'old_netmask'", minimum=1)
    new = args.CheckInt(netmask, "argument 'netmask'", minimum=1)
    ip = args.CheckStr(master_ip, "argument 'master_ip'", non_empty=True)
    try:
        family = netutils.IPAddress.GetAddressFamily(ip)
    except errors.IPAddressError as err:
        raise RPCFail(f"Invalid master IP {ip!r}") from err
    params = MasterParams({"ip": ip, "netmask": new, "netdev": master_netdev,
                           "ip_family": family})
    virtual = vcluster.IsVirtual() if _virtual is None else _virtual
    if virtual:
        _CheckVirtualMasterIp(params)
    if old == new or not _HasAddress(params, _run_fn):
        return
    result = _run_fn(["ip", "address", "add", f"{ip}/{new}", "dev", params.netdev,
                      "label", f"{params.netdev}:0"])
    if result.failed:
        raise RPCFail(f"Could not set the new netmask on the master IP address:"
                      f" {result.output.strip() or result.fail_reason}")
    result = _run_fn(["ip", "address", "del", f"{ip}/{old}", "dev", params.netdev])
    if result.failed:
        raise RPCFail(f"Could not bring down the master IP address with the old"
                      f" netmask: {result.output.strip() or result.fail_reason}")


@args.RpcProcedure("node_change_master_netmask")
def NodeChangeMasterNetmask(old_netmask: Any, netmask: Any, master_ip: Any,
                            master_netdev: Any) -> None:
    """node_change_master_netmask: see ChangeMasterNetmask."""
    ChangeMasterNetmask(old_netmask, netmask, master_ip, master_netdev)


# --- configuration serial number --------------------------------------------


def ReadConfigSerial(cfg_file: str | None = None) -> int:
    """The serial_no of this node's config.data.

    Raises:
      RPCFail: the file is missing (not a master candidate of a cluster) or
        unreadable.
    """
    path = cfg_file or pathutils.CLUSTER_CONF_FILE
    try:
        data = serializer.LoadJson(io.ReadFile(path))
    except FileNotFoundError as err:
        raise RPCFail(f"This node has no cluster configuration ({path} is"
                      " missing)") from err
    except (OSError, UnicodeDecodeError, errors.ParseError) as err:
        raise RPCFail(f"Cannot read the configuration {path}: {err}") from err
    serial = data.get("serial_no") if isinstance(data, dict) else None
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise RPCFail(f"The configuration {path} has no valid serial number")
    return serial


@args.RpcProcedure("config_serial_no")
def ConfigSerialNo() -> int:
    """config_serial_no: the serial number of this node's config.data.

    Not in Ganeti: master failover asks every master candidate for it and
    refuses to take over with a configuration older than another one.
    """
    return ReadConfigSerial()
