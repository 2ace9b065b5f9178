"""Cluster bootstrap: creating and destroying a cluster, master voting.

Mirrors Ganeti's lib/bootstrap.py (InitCluster, InitConfig,
FinalizeClusterDestroy, GatherMasterVotes, GetMaster) with one rule made
strict: InitCluster checks every argument and the environment before it
writes anything, so a refused init leaves the node as it was.

Virtual clusters (GANETI_ROOTDIR/GANETI_HOSTNAME, see vcluster.py): the node
is vcluster.GetVirtualHostname() at the address its hosts file gives;
loopback addresses (127.0.0.0/8), which real Ganeti refuses, are accepted
there, the daemons are bound to the node's own address, and neither
/etc/hosts nor root's SSH keys are touched (they belong to the host).

The node daemon's port is a cluster constant (1811). Tests and virtual
clusters running beside other ones move it with the environment variable
GANETI_NODED_PORT (netutils.GetDaemonPort); every process of the cluster must then
see the same value.

Daemons are started and stopped through daemons/daemon-util, as Ganeti does;
where that script is missing the daemon program is run directly (it only
detaches once it serves, so its exit status tells whether it started).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import constants, defaults, errors, netutils, objects, pathutils
from ganeti import serializer, ssconf, vcluster
from ganeti.utils import io, process, retry, text, x509

logger = logging.getLogger(__name__)

DAEMON_UTIL = os.path.join(pathutils.DAEMONS_DIR, "daemon-util")
# Seconds a freshly started daemon has to answer (Ganeti: 10).
DAEMON_READY_TIMEOUT = 30.0
CONFIG_FILE_MODE = 0o640
FIRST_DRBD_PORT = 11000
# Smallest volume group Ganeti accepts at init (MiB).
MIN_VG_SIZE = 20480
SSH_HOST_RSA_PUB = "/etc/ssh/ssh_host_rsa_key.pub"
SSH_HOST_DSA_PUB = "/etc/ssh/ssh_host_dsa_key.pub"
ETC_HOSTS = "/etc/hosts"
DRBD_HELPER_FILE = "/sys/module/drbd/parameters/usermode_helper"
SSH_KEY_TYPES = ("rsa", "dsa", "ecdsa")
# Static hypervisor state of a new cluster, per enabled hypervisor.
HVST_DEFAULTS = {"cpu_node": 1, "cpu_total": 1, "mem_hv": 0, "mem_node": 0,
                 "mem_total": 0}
_HVST_TYPES = dict.fromkeys(HVST_DEFAULTS, defaults.VTYPE_INT)
_DSS_DEFAULTS = {"disk_reserved": 0, "disk_overhead": 0}
_DSS_TYPES = {"disk_total": defaults.VTYPE_INT,
              **dict.fromkeys(_DSS_DEFAULTS, defaults.VTYPE_INT)}
# Directories never accepted for file storage (and nothing below them).
_FORBIDDEN_STORAGE_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32",
                           "/lib64", "/proc", "/sbin", "/sys", "/usr/bin",
                           "/usr/lib", "/usr/sbin")
_FORBIDDEN_STORAGE_EXACT = ("/", "/usr", "/var", "/srv", "/home", "/root")


def IsCluster(cfg_file: str | None = None) -> bool:
    """Whether this node has a cluster configuration (config.data)."""
    return os.path.exists(cfg_file or pathutils.CLUSTER_CONF_FILE)


def NewUUID() -> str:
    """A new random RFC 4122 uuid string (Ganeti's utils.NewUUID)."""
    return str(uuid_module.uuid4())


# --- daemons -----------------------------------------------------------------


def RunDaemonUtil(action: str, daemon: str, args: Iterable[str] = ()) -> None:
    """Start, stop or check a daemon of this node (daemon-util semantics).

    Args:
      action: "start" (unless running), "stop" (not running is fine) or
        "check".
      daemon: e.g. constants.NODED.
      args: extra daemon arguments (start only).

    Raises:
      errors.OpExecError: the action failed (for "check": not running).
    """
    if os.access(DAEMON_UTIL, os.X_OK):
        _RunOrFail([DAEMON_UTIL, action, daemon, *args], action, daemon)
    elif action == "start":
        if not IsDaemonRunning(daemon):
            program = os.path.join(pathutils.DAEMONS_DIR, daemon)
            _RunOrFail([sys.executable, program, *args], action, daemon)
    elif action == "stop":
        StopDaemon(daemon)
    elif action == "check":
        if not IsDaemonRunning(daemon):
            raise errors.OpExecError(f"Daemon {daemon} is not running")
    else:
        raise errors.ProgrammerError(f"Unknown daemon action {action!r}")


def _RunOrFail(cmd: list[str], action: str, daemon: str) -> None:
    result = process.RunCmd(cmd)
    if result.failed:
        raise errors.OpExecError(
            f"Could not {action} {daemon}: command '{result.cmd}' had exit code"
            f" {result.exit_code} and error '{result.output.strip()}'")


def IsDaemonRunning(daemon: str) -> bool:
    """Whether the daemon named in this node's pid file runs."""
    pid = process.ReadPidFile(pathutils.GetPidFilename(daemon))
    return pid > 0 and process.IsProcessAlive(pid)


def StopDaemon(daemon: str, timeout: float = 30.0) -> None:
    """SIGTERM the daemon of the pid file, SIGKILL after timeout seconds.

    A daemon that does not run is fine.
    """
    pid = process.ReadPidFile(pathutils.GetPidFilename(daemon))
    if pid > 0 and process.IsProcessAlive(pid):
        logger.info("Stopping %s (pid %s)", daemon, pid)
        process.KillProcess(pid, timeout=timeout)


def _WaitFor(check_fn: Callable[[], bool], what: str,
             timeout: float = DAEMON_READY_TIMEOUT) -> None:
    """Poll check_fn until it returns True.

    Raises:
      errors.OpExecError: it did not within timeout seconds.
    """
    def _Check() -> None:
        if not check_fn():
            raise retry.RetryAgain()

    try:
        retry.Retry(_Check, (0.05, 1.5, 1.0), timeout)
    except retry.RetryTimeout as err:
        raise errors.OpExecError(
            f"{what} didn't answer queries within {timeout:g} seconds") from err


def _NodeDaemonAnswers(node_name: str, address: str, port: int) -> bool:
    from ganeti.rpc import client as rpc_client
    from ganeti.rpc import resolver

    runner = rpc_client.RpcRunner(resolver.StaticResolver({node_name: address}),
                                  port=port)
    try:
        result = runner.call_version([node_name])[node_name]
    finally:
        runner.Close()
    if result.failed:
        logger.debug("noded on %s not ready: %s", node_name, result.fail_msg)
    return not result.failed


def _MasterDaemonAnswers() -> bool:
    from ganeti import luxi

    try:
        with luxi.Client(timeouts=(1.0, 10.0)) as client:
            (name, ) = client.QueryConfigValues(["cluster_name"])
    except errors.GenericError as err:
        logger.debug("masterd not ready: %s", err)
        return False
    logger.debug("The master daemon answers for cluster %s", name)
    return True


def StartNodeDaemon(node_name: str, address: str) -> None:
    """(Re)start this node's noded and wait until it answers RPC.

    A running noded is restarted so that it loads the new certificates.

    Raises:
      errors.OpExecError: noded did not start or answer.
    """
    port = netutils.GetDaemonPort(constants.NODED)
    args = ["-p", str(port)]
    if vcluster.IsVirtual():
        # Virtual nodes share the machine: each noded binds its own address,
        # and many daemons locked in RAM would pin too much memory.
        args += ["-b", address, "--no-mlock"]
    RunDaemonUtil("stop", constants.NODED)
    RunDaemonUtil("start", constants.NODED, args)
    _WaitFor(lambda: _NodeDaemonAnswers(node_name, address, port),
             f"Node daemon on {node_name}")


def StartMasterDaemon(args: Iterable[str] = ()) -> None:
    """Start masterd on this node and wait until it answers LUXI.

    Raises:
      errors.OpExecError: masterd did not start or answer.
    """
    RunDaemonUtil("start", constants.MASTERD, args)
    _WaitFor(_MasterDaemonAnswers, "Master daemon")


# --- checks of InitCluster (nothing is written) ------------------------------


@dataclasses.dataclass
class _InitParams:
    """InitCluster's arguments after checking, with the resolved names."""

    cluster_name: str
    master_ip: str
    node_name: str
    node_ip: str
    secondary_ip: str
    ip_family: int
    master_netmask: int
    values: dict[str, Any]
    rsa_key: str = ""
    dsa_key: str = ""


def _Invalid(msg: str, ecode: str = errors.ECODE_INVAL) -> errors.OpPrereqError:
    return errors.OpPrereqError(msg, ecode)


def _ForceTypes(what: str, target: dict, key_types: dict) -> None:
    """ForceDictType, with a clear OpPrereqError naming the parameters."""
    try:
        defaults.ForceDictType(target, key_types)
    except errors.TypeEnforcementError as err:
        raise _Invalid(f"Invalid {what}: {err}") from err


def _CheckNames(values: list[str] | None, valid: frozenset[str],
                what: str) -> list[str]:
    if not values:
        raise _Invalid(f"{what} list must contain at least one member")
    invalid = sorted(set(values) - valid)
    if invalid:
        raise _Invalid(f"{what} list contains invalid entries: {', '.join(invalid)}")
    return list(values)


def _ResolveHost(cluster_name: str, ip_version: int | None) -> tuple[Any, Any, Any]:
    """Resolve this node and the cluster name; check the node's address.

    Returns:
      (IP address class, this node's Hostname, the cluster's Hostname).
    """
    version = constants.IP4_VERSION if ip_version is None else ip_version
    try:
        ipcls = netutils.IPAddress.GetClassFromIpVersion(version)
    except errors.ProgrammerError as err:
        raise _Invalid(f"Invalid primary ip version: {version}") from err
    hostname = netutils.GetHostname(family=ipcls.family)
    if not ipcls.IsValid(hostname.ip):
        raise _Invalid(f"This host's IP ({hostname.ip}) is not a valid IPv{version}"
                       " address")
    if ipcls.IsLoopback(hostname.ip) and not vcluster.IsVirtual():
        raise _Invalid(f"This host's IP ({hostname.ip}) resolves to a loopback"
                       f" address. Please fix DNS or {ETC_HOSTS}.",
                       errors.ECODE_ENVIRON)
    if not ipcls.Own(hostname.ip):
        raise _Invalid(f"Inconsistency: this host's name resolves to {hostname.ip},"
                       " but this ip address does not belong to this host",
                       errors.ECODE_ENVIRON)
    if not isinstance(cluster_name, str) or not cluster_name:
        raise _Invalid("A cluster name must be given")
    clustername = netutils.GetHostname(name=cluster_name, family=ipcls.family)
    # On loopback every address answers (refused connections included), so
    # only a listening noded means the address is in use.
    live_only = ipcls.IsLoopback(clustername.ip)
    noded_port = netutils.GetDaemonPort(constants.NODED)
    if netutils.TcpPing(clustername.ip, noded_port, timeout=5,
                        live_port_needed=live_only):
        raise _Invalid("Cluster IP already active", errors.ECODE_NOTUNIQUE)
    return ipcls, hostname, clustername


def _CheckSecondaryIp(secondary_ip: str | None, node_ip: str, version: int) -> str:
    if not secondary_ip:
        if version == constants.IP6_VERSION:
            raise _Invalid("When using a IPv6 primary address, a valid IPv4 address"
                           " must be given as secondary")
        secondary_ip = node_ip
    if not netutils.IP4Address.IsValid(secondary_ip):
        raise _Invalid(f"Secondary IP address ({secondary_ip}) has to be a valid"
                       " IPv4 address.")
    if not netutils.IP4Address.Own(secondary_ip):
        raise _Invalid(f"You gave {secondary_ip} as secondary IP, but it does not"
                       " belong to this host.", errors.ECODE_ENVIRON)
    return secondary_ip


def _ListVolumeGroups() -> dict[str, int]:
    """Volume group name -> size in MiB ({} without LVM)."""
    try:
        result = process.RunCmd(["vgs", "--noheadings", "--nosuffix", "--units=m",
                                 "-o", "vg_name,vg_size"])
    except errors.GenericError:
        return {}
    if result.failed:
        return {}
    groups = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2:
            groups[fields[0]] = int(float(fields[1]))
    return groups


def _CheckVolumeGroup(vg_name: str | None) -> None:
    if not vg_name:
        return
    size = _ListVolumeGroups().get(vg_name)
    if size is None:
        raise _Invalid(f"Error: volume group '{vg_name}' missing")
    if size < MIN_VG_SIZE:
        raise _Invalid(f"Error: volume group '{vg_name}' too small ({MIN_VG_SIZE}"
                       f" MiB required, {size} MiB found)")


def _CheckDrbdHelper(drbd_helper: str | None, drbd_enabled: bool) -> None:
    if not drbd_enabled or drbd_helper is None:
        return
    try:
        current = io.ReadFile(DRBD_HELPER_FILE).strip()
    except OSError as err:
        raise _Invalid("Error while checking drbd helper (disable drbd with"
                       " --enabled-disk-templates if you are not using drbd):"
                       f" can't read {DRBD_HELPER_FILE}: {err.strerror}",
                       errors.ECODE_ENVIRON) from err
    if drbd_helper != current:
        raise _Invalid(f"Error: requiring {drbd_helper} as drbd helper but {current}"
                       " is the current helper")


def _CheckNicParams(nicparams: dict | None, master_netdev: str) -> dict:
    nicparams = dict(nicparams or {})
    _ForceTypes("NIC parameters", nicparams, defaults.NICS_PARAMETER_TYPES)
    filled = objects.FillDict(defaults.NICC_DEFAULTS, nicparams)
    mode = filled[defaults.NIC_MODE]
    if mode not in constants.NIC_VALID_MODES:
        raise _Invalid(f"Invalid NIC mode '{mode}'")
    if mode == constants.NIC_MODE_BRIDGED and not filled[defaults.NIC_LINK]:
        raise _Invalid("Missing bridged NIC link")
    # The OVS switch does not exist yet: Ganeti skips the netdev check then.
    if mode != constants.NIC_MODE_OVS and not os.path.exists(
            f"/sys/class/net/{master_netdev}"):
        raise _Invalid(f"Invalid master netdev given ({master_netdev}): no such"
                       " network device")
    return filled


def _CheckHvParams(hvparams: dict | None, enabled: list[str]) -> dict:
    result = {}
    for hv_name, params in (hvparams or {}).items():
        if hv_name not in defaults.HVS_PARAMETER_TYPES:
            raise _Invalid(f"Unknown hypervisor '{hv_name}' in hypervisor parameters")
        params = dict(params or {})
        _ForceTypes(f"parameters of hypervisor {hv_name}", params,
                    defaults.HVS_PARAMETER_TYPES[hv_name])
        result[hv_name] = params
    del enabled  # every hypervisor's defaults are stored, enabled or not
    return result


def _CheckDiskParams(diskparams: dict | None, vg_name: str | None) -> dict:
    result = {}
    for template, params in (diskparams or {}).items():
        if template not in defaults.DISK_DT_DEFAULTS:
            raise _Invalid(f"Invalid disk template '{template}' in disk parameters")
        params = dict(params or {})
        unknown = sorted(set(params) - set(defaults.DISK_DT_DEFAULTS[template]))
        if unknown:
            raise _Invalid(f"Invalid parameters for disk template {template}:"
                           f" {', '.join(unknown)}")
        _ForceTypes(f"parameters of disk template {template}", params,
                    defaults.DISK_DT_TYPES)
        result[template] = params
    if vg_name:
        # The DRBD metadata VG defaults to the VG given at init.
        result.setdefault(constants.DT_DRBD8, {})["metavg"] = vg_name
    return result


def _CheckStates(hv_state: dict | None, disk_state: dict | None,
                 enabled_hvs: list[str]) -> tuple[dict, dict]:
    if hv_state:
        states = {}
        for hv_name, data in hv_state.items():
            data = dict(data or {})
            _ForceTypes(f"hypervisor state of {hv_name}", data, _HVST_TYPES)
            states[hv_name] = objects.FillDict(HVST_DEFAULTS, data)
    else:
        states = {hv_name: dict(HVST_DEFAULTS) for hv_name in enabled_hvs}
    disks: dict = {}
    for storage, data in (disk_state or {}).items():
        if storage != constants.ST_LVM_VG:
            raise _Invalid(f"Invalid storage type in disk state: {storage}")
        disks[storage] = {}
        for name, state in (data or {}).items():
            state = dict(state or {})
            _ForceTypes(f"disk state of {storage}/{name}", state, _DSS_TYPES)
            disks[storage][name] = objects.FillDict(_DSS_DEFAULTS, state)
    return states, disks


def _CheckIpolicy(ipolicy: dict | None, templates: list[str]) -> dict:
    unknown = sorted(set(ipolicy or {}) - defaults.IPOLICY_ALL_KEYS)
    if unknown:
        raise _Invalid(f"Invalid keys in instance policy: {', '.join(unknown)}")
    full = objects.FillIPolicy(defaults.IPOLICY_DEFAULTS, ipolicy)
    allowed = full.get(defaults.IPOLICY_DTS) or []
    full[defaults.IPOLICY_DTS] = sorted(set(allowed) & set(templates))
    return full


def _StoragePathProblem(path: str) -> str | None:
    """Why path may not hold file storage (None if it may)."""
    if not os.path.isabs(path):
        return f"File storage directory '{path}' is not an absolute path"
    plain = os.path.normpath(path)
    root = vcluster.GetRootDirectory()
    if root and io.IsBelowDir(root, plain):
        plain = "/" + os.path.relpath(plain, root)
    if plain in _FORBIDDEN_STORAGE_EXACT or any(
            plain == bad or io.IsBelowDir(bad, plain) for bad in
            _FORBIDDEN_STORAGE_DIRS):
        return f"Path '{path}' uses a forbidden prefix"
    allowed = _ReadAllowedStoragePaths()
    if allowed and not any(plain == ok or io.IsBelowDir(ok, plain)
                           or path == ok or io.IsBelowDir(ok, path)
                           for ok in allowed):
        return (f"Path '{path}' is not acceptable for file storage (not listed in"
                f" {pathutils.FILE_STORAGE_PATHS_FILE})")
    return None


def _ReadAllowedStoragePaths() -> list[str]:
    try:
        return text.FilterEmptyLinesAndComments(
            io.ReadFile(pathutils.FILE_STORAGE_PATHS_FILE))
    except FileNotFoundError:
        return []
    except OSError as err:
        raise _Invalid(f"Cannot read {pathutils.FILE_STORAGE_PATHS_FILE}: {err}",
                       errors.ECODE_ENVIRON) from err


def _CheckStorageDir(path: str | None, default: str, template: str,
                     templates: list[str]) -> str:
    """Ganeti's _PrepareFileBasedStorage, without creating the directory."""
    if path is None:
        path = default
    enabled = template in templates
    if not path:
        if enabled:
            raise _Invalid(f"Unsetting the '{template}' storage directory while"
                           f" having {template} storage enabled is not permitted.")
        return path
    if enabled:
        problem = _StoragePathProblem(path)
        if problem:
            raise _Invalid(problem)
        path = os.path.normpath(path)
        if os.path.exists(path) and not os.path.isdir(path):
            raise _Invalid(f"The file storage directory '{path}' is not a"
                           " directory.", errors.ECODE_ENVIRON)
    return path


def _ReadSshHostKeys(modify_ssh_setup: bool) -> tuple[str, str]:
    keys = []
    for path in (SSH_HOST_RSA_PUB, SSH_HOST_DSA_PUB):
        try:
            fields = io.ReadFile(path).split()
        except OSError:
            fields = []
        keys.append(fields[1] if len(fields) > 1 else "")
    if not any(keys):
        if modify_ssh_setup and not vcluster.IsVirtual():
            raise _Invalid("Failed to find SSH public keys", errors.ECODE_ENVIRON)
        logger.warning("No SSH host keys found; known_hosts will be empty")
    return keys[0], keys[1]


def _CheckIallocator(name: str | None) -> str:
    found = None
    for directory in pathutils.IALLOCATOR_SEARCH_PATH:
        candidate = os.path.join(directory, name or "hail")
        if os.path.isfile(candidate):
            found = candidate
            break
    if name is None:
        return "hail" if found else ""
    if not found:
        raise _Invalid(f"Invalid default iallocator script '{name}' specified")
    return name


def _CheckUidPool(uid_pool: list | None) -> list[list[int]]:
    result = []
    for entry in uid_pool or []:
        try:
            low, high = (int(value) for value in entry)
        except (TypeError, ValueError) as err:
            raise _Invalid(f"Invalid user-id range {entry!r}") from err
        if low < 0 or high < low:
            raise _Invalid(f"Invalid user-id range {low}-{high}")
        result.append([low, high])
    return result


def _CheckSshKey(key_type: str | None, key_bits: int | None) -> tuple[str, int]:
    key_type = key_type or defaults.SSH_KEY_TYPE
    if key_type not in SSH_KEY_TYPES:
        raise _Invalid(f"Invalid SSH key type '{key_type}', must be one of"
                       f" {', '.join(SSH_KEY_TYPES)}")
    standard = {"rsa": defaults.SSH_KEY_BITS, "dsa": 1024, "ecdsa": 384}
    bits = standard[key_type] if key_bits is None else key_bits
    valid = {"dsa": bits == 1024, "ecdsa": bits in (256, 384, 521),
             "rsa": isinstance(bits, int) and bits >= 768}
    if not valid[key_type]:
        raise _Invalid(f"Invalid SSH key size {bits} for key type {key_type}")
    return key_type, bits


def _CheckCompressionTools(tools: list[str] | None) -> list[str]:
    if tools is None:
        return list(defaults.COMPRESSION_TOOLS)
    bad = [tool for tool in tools
           if not isinstance(tool, str) or not text.IsValidShellParam(tool)]
    if bad:
        raise _Invalid(f"Invalid compression tool name(s): {bad}")
    if "gzip" not in tools:
        raise _Invalid("For compatibility reasons, the gzip utility must be present"
                       " in the list of compression tools")
    return list(tools)


def _CheckScalars(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Check the simple arguments; return the normalised values."""
    pool_size = kwargs["candidate_pool_size"]
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) \
            or pool_size < 1:
        raise _Invalid(f"Invalid candidate pool size {pool_size!r}: at least one"
                       " master candidate is needed")
    if not isinstance(kwargs["master_netdev"], str) or not kwargs["master_netdev"]:
        raise _Invalid("A master network device must be given")
    beparams = dict(kwargs["beparams"] or {})
    objects.UpgradeBeParams(beparams)
    _ForceTypes("backend parameters", beparams, defaults.BES_PARAMETER_TYPES)
    ndparams = dict(kwargs["ndparams"] or defaults.NDC_DEFAULTS)
    _ForceTypes("node parameters", ndparams, defaults.NDS_PARAMETER_TYPES)
    key_type, key_bits = _CheckSshKey(kwargs["ssh_key_type"], kwargs["ssh_key_bits"])
    try:
        mac_prefix = text.NormalizeAndValidateThreeOctetMacPrefix(
            kwargs["mac_prefix"])
    except errors.OpPrereqError as err:
        raise _Invalid(f"Invalid mac prefix given '{kwargs['mac_prefix']}'") \
            from err
    return {
        "mac_prefix": mac_prefix,
        "candidate_pool_size": pool_size, "beparams": beparams,
        "ndparams": ndparams, "ssh_key_type": key_type, "ssh_key_bits": key_bits,
        "uid_pool": _CheckUidPool(kwargs["uid_pool"]),
        "default_iallocator": _CheckIallocator(kwargs["default_iallocator"]),
        "default_iallocator_params": dict(kwargs["default_iallocator_params"] or {}),
        "compression_tools": _CheckCompressionTools(kwargs["compression_tools"]),
    }


def _CheckNoLeftovers() -> None:
    """Refuse files of an old cluster in the data and queue directories."""
    for directory in (pathutils.QUEUE_DIR, pathutils.DATA_DIR,
                      pathutils.JOB_QUEUE_ARCHIVE_DIR):
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            if not os.path.isdir(os.path.join(directory, entry)):
                raise _Invalid(f"{directory} contains non-directory entries like"
                               f" {entry}. Remove left-overs of an old cluster"
                               " before initialising a new one",
                               errors.ECODE_STATE)


def CheckInitParams(**kwargs: Any) -> _InitParams:
    """Check every argument of InitCluster and the node's environment.

    Raises:
      errors.OpPrereqError: the first problem found.
    """
    if IsCluster():
        raise _Invalid("Cluster is already initialised", errors.ECODE_STATE)
    _CheckNoLeftovers()
    hvs = _CheckNames(kwargs["enabled_hypervisors"], constants.HYPER_TYPES,
                      "Enabled hypervisors")
    templates = _CheckNames(kwargs["enabled_disk_templates"],
                            constants.DISK_TEMPLATES, "Enabled disk templates")
    values = _CheckScalars(kwargs)
    ipcls, host, cluster = _ResolveHost(kwargs["cluster_name"],
                                        kwargs["primary_ip_version"])
    version = netutils.IPAddress.GetVersionFromAddressFamily(ipcls.family)
    secondary_ip = _CheckSecondaryIp(kwargs["secondary_ip"], host.ip, version)
    netmask = kwargs["master_netmask"]
    if netmask is None:
        netmask = ipcls.iplen
    elif not ipcls.ValidateNetmask(netmask):
        raise _Invalid(f"CIDR netmask ({netmask}) not valid for IPv{version}")
    _CheckVolumeGroup(kwargs["vg_name"])
    _CheckDrbdHelper(kwargs["drbd_helper"], constants.DT_DRBD8 in templates)
    hv_state, disk_state = _CheckStates(kwargs["hv_state"], kwargs["disk_state"],
                                        hvs)
    values.update(
        enabled_hypervisors=hvs, enabled_disk_templates=templates,
        nicparams=_CheckNicParams(kwargs["nicparams"], kwargs["master_netdev"]),
        hvparams=_CheckHvParams(kwargs["hvparams"], hvs),
        diskparams=_CheckDiskParams(kwargs["diskparams"], kwargs["vg_name"]),
        ipolicy=_CheckIpolicy(kwargs["ipolicy"], templates),
        hv_state=hv_state, disk_state=disk_state, vg_name=kwargs["vg_name"] or None,
        drbd_helper=kwargs["drbd_helper"], master_netdev=kwargs["master_netdev"],
        file_storage_dir=_CheckStorageDir(
            kwargs["file_storage_dir"], pathutils.DEFAULT_FILE_STORAGE_DIR,
            constants.DT_FILE, templates),
        shared_file_storage_dir=_CheckStorageDir(
            kwargs["shared_file_storage_dir"],
            pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR, constants.DT_SHARED_FILE,
            templates),
        gluster_storage_dir=_CheckStorageDir(
            kwargs["gluster_storage_dir"], pathutils.DEFAULT_GLUSTER_STORAGE_DIR,
            constants.DT_GLUSTER, templates))
    rsa_key, dsa_key = _ReadSshHostKeys(kwargs["modify_ssh_setup"])
    return _InitParams(cluster_name=cluster.name, master_ip=cluster.ip,
                       node_name=host.name, node_ip=host.ip,
                       secondary_ip=secondary_ip, ip_family=ipcls.family,
                       master_netmask=netmask, values=values, rsa_key=rsa_key,
                       dsa_key=dsa_key)


# --- writing the cluster -----------------------------------------------------


def GenerateHmacKey(file_name: str, mode: int = 0o440) -> None:
    """Write a new random secret (40 hex digits and a newline)."""
    io.WriteFile(file_name, f"{text.GenerateSecret()}\n", mode=mode)


def GenerateClusterCert(filename: str, common_name: str,
                        validity_days: int = constants.X509_CERT_DEFAULT_VALIDITY,
                        ) -> None:
    """Write a new self-signed cluster certificate and key (mode 0440).

    The certificate is a CA: it signs the nodes' client.pem.

    Raises:
      OSError: the file could not be written (the old one is untouched).
    """
    serial_no = int.from_bytes(os.urandom(8), "big") | 1
    x509.GenerateSelfSignedSslCert(filename, serial_no, common_name=common_name,
                                   validity=validity_days * 86400)


def GenerateClusterCrypto(cluster_name: str, node_name: str) -> str:
    """Create every certificate and secret of a new cluster.

    server.pem (the self-signed cluster certificate noded serves with),
    this node's client.pem (signed by it), rapi.pem, the confd HMAC key and
    the cluster domain secret, with the modes of a real node. The SPICE
    certificates are not created: no hypervisor here offers SPICE yet.

    Returns:
      the SHA1 digest of client.pem (for the candidate certificates).

    Raises:
      errors.OpExecError: a file could not be written.
    """
    try:
        GenerateClusterCert(pathutils.NODED_CERT_FILE, cluster_name)
        x509.GenerateSignedSslCert(pathutils.NODED_CLIENT_CERT_FILE, 1,
                                   pathutils.NODED_CERT_FILE, node_name)
        x509.GenerateSelfSignedSslCert(pathutils.RAPI_CERT_FILE, 1, cluster_name)
        GenerateHmacKey(pathutils.CONFD_HMAC_KEY, 0o440)
        GenerateHmacKey(pathutils.CLUSTER_DOMAIN_SECRET_FILE, 0o640)
        return x509.GetCertificateDigest(pathutils.NODED_CLIENT_CERT_FILE)
    except (OSError, errors.X509CertError) as err:
        raise errors.OpExecError(f"Cannot create the cluster certificates: {err}"
                                 ) from err


def WriteKnownHostsFile(cluster_name: str, rsa_key: str, dsa_key: str) -> None:
    """Write the cluster's known_hosts (the cluster name's host keys)."""
    data = ""
    if rsa_key:
        data += f"{cluster_name} ssh-rsa {rsa_key}\n"
    if dsa_key:
        data += f"{cluster_name} ssh-dss {dsa_key}\n"
    io.WriteFile(pathutils.SSH_KNOWN_HOSTS_FILE, data, mode=0o644)


def _InitSSHSetup(key_type: str, key_bits: int, node_uuid: str) -> None:
    """Give root an SSH key pair it trusts itself (Ganeti's _InitSSHSetup).

    An existing key pair is kept. The public key is recorded in the
    cluster's public key file.

    Raises:
      errors.OpExecError: ssh-keygen failed or a file cannot be written.
    """
    ssh_dir = os.path.expanduser("~root/.ssh")
    priv_key = os.path.join(ssh_dir, f"id_{key_type}")
    try:
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        if not os.path.exists(priv_key):
            result = process.RunCmd(["ssh-keygen", "-t", key_type, "-b",
                                     str(key_bits), "-f", priv_key, "-q", "-N", ""])
            if result.failed:
                raise errors.OpExecError(
                    f"Could not generate ssh keypair, error {result.output}")
        pub_key = io.ReadFile(priv_key + ".pub").strip()
        auth_keys = os.path.join(ssh_dir, "authorized_keys")
        lines = io.ReadFile(auth_keys).splitlines() \
            if os.path.exists(auth_keys) else []
        if pub_key not in lines:
            io.WriteFile(auth_keys, "".join(f"{line}\n" for line in
                                            [*lines, pub_key]), mode=0o600)
        io.WriteFile(pathutils.SSH_PUB_KEYS, f"{node_uuid} {pub_key}\n", mode=0o600)
    except OSError as err:
        raise errors.OpExecError(f"Cannot set up SSH for root: {err}") from err


def _AddHostToEtcHosts(name: str, ip: str) -> None:
    """Make /etc/hosts map name (and its short form) to ip."""
    try:
        lines = io.ReadFile(ETC_HOSTS).splitlines()
        for line in lines:
            fields = line.split("#", 1)[0].split()
            if fields and fields[0] == ip and name in fields[1:]:
                return
        short = name.split(".")[0]
        entry = f"{ip}\t{name}" + (f" {short}" if short != name else "")
        io.WriteFile(ETC_HOSTS, "\n".join([*lines, entry]) + "\n", mode=0o644)
    except OSError as err:
        raise errors.OpExecError(f"Cannot update {ETC_HOSTS}: {err}") from err


def EnsureClusterDirs() -> None:
    """Create the directories of a cluster node with Ganeti's modes."""
    io.EnsureDirs([
        (pathutils.DATA_DIR, 0o755), (pathutils.QUEUE_DIR, 0o750),
        (pathutils.JOB_QUEUE_ARCHIVE_DIR, 0o750), (pathutils.RAPI_DATA_DIR, 0o750),
        (pathutils.RUN_DIR, 0o775), (pathutils.SOCKET_DIR, 0o770),
        (pathutils.CRYPTO_KEYS_DIR, 0o700), (pathutils.BDEV_CACHE_DIR, 0o755),
        (pathutils.DISK_LINKS_DIR, 0o755), (pathutils.IMPORT_EXPORT_DIR, 0o755),
        (pathutils.INSTANCE_REASON_DIR, 0o755), (pathutils.UIDPOOL_LOCKDIR, 0o750),
        (pathutils.LIVELOCK_DIR, 0o750), (pathutils.LOG_DIR, 0o750),
        (pathutils.LOG_OS_DIR, 0o750), (pathutils.LOCK_DIR, 0o755),
        (pathutils.CONF_DIR, 0o755), (pathutils.HOOKS_BASE_DIR, 0o755),
    ])


def _PrepareFileStorage(values: dict[str, Any]) -> None:
    """Create the file storage directories (0750), and list them in the
    allowed file storage paths file if this node has none yet.

    The file and shared file dirs are always listed (node-daemon-setup lists
    the same ones on added nodes, so every node has the same file), the
    gluster dir only when that template is enabled.
    """
    from ganeti.storage import filestorage

    templates = values["enabled_disk_templates"]
    keys = ["file_storage_dir", "shared_file_storage_dir"]
    if constants.DT_GLUSTER in templates:
        keys.append("gluster_storage_dir")
    dirs = [values[key] for key in keys if values.get(key)]
    try:
        for path in dirs:
            os.makedirs(path, mode=0o750, exist_ok=True)
        if dirs and not os.path.exists(pathutils.FILE_STORAGE_PATHS_FILE):
            entries = [filestorage.StoragePathsFileEntry(path) for path in dirs]
            io.WriteFile(pathutils.FILE_STORAGE_PATHS_FILE,
                         "".join(f"{entry}\n" for entry in entries), mode=0o644)
    except OSError as err:
        raise errors.OpExecError(f"Cannot create the file storage directory: {err}"
                                 ) from err


def _BuildCluster(params: _InitParams, now: float,
                  flags: dict[str, Any]) -> objects.Cluster:
    """The Cluster object of a new cluster (uuid and master set later)."""
    values = params.values
    cluster = objects.Cluster(
        serial_no=1, rsahostkeypub=params.rsa_key, dsahostkeypub=params.dsa_key,
        highest_used_port=FIRST_DRBD_PORT - 1, tcpudp_port_pool=[],
        mac_prefix=values["mac_prefix"], volume_group_name=values["vg_name"],
        reserved_lvs=[], master_ip=params.master_ip,
        master_netmask=params.master_netmask, master_netdev=values["master_netdev"],
        cluster_name=params.cluster_name,
        file_storage_dir=values["file_storage_dir"],
        shared_file_storage_dir=values["shared_file_storage_dir"],
        gluster_storage_dir=values["gluster_storage_dir"],
        enabled_hypervisors=values["enabled_hypervisors"],
        beparams={constants.PP_DEFAULT: values["beparams"]},
        nicparams={constants.PP_DEFAULT: values["nicparams"]},
        ndparams=values["ndparams"], hvparams=values["hvparams"],
        diskparams=values["diskparams"],
        candidate_pool_size=values["candidate_pool_size"],
        uid_pool=values["uid_pool"], ctime=now, mtime=now,
        drbd_usermode_helper=values["drbd_helper"],
        default_iallocator=values["default_iallocator"],
        default_iallocator_params=values["default_iallocator_params"],
        primary_ip_family=params.ip_family, ipolicy=values["ipolicy"],
        hv_state_static=values["hv_state"], disk_state_static=values["disk_state"],
        enabled_disk_templates=values["enabled_disk_templates"],
        candidate_certs={}, osparams={}, osparams_private_cluster={}, os_hvp={},
        compression_tools=values["compression_tools"],
        ssh_key_type=values["ssh_key_type"], ssh_key_bits=values["ssh_key_bits"],
        instance_communication_network="", hidden_os=[], blacklisted_os=[],
        tags=[], **flags)
    return cluster


def InitCluster(cluster_name: str, mac_prefix: str, master_netmask: int | None,
                master_netdev: str, file_storage_dir: str | None,
                shared_file_storage_dir: str | None,
                gluster_storage_dir: str | None, candidate_pool_size: int,
                ssh_key_type: str | None = None, ssh_key_bits: int | None = None,
                secondary_ip: str | None = None, vg_name: str | None = None,
                beparams: dict | None = None, nicparams: dict | None = None,
                ndparams: dict | None = None, hvparams: dict | None = None,
                diskparams: dict | None = None,
                enabled_hypervisors: list[str] | None = None,
                modify_etc_hosts: bool = True, modify_ssh_setup: bool = True,
                maintain_node_health: bool = False, drbd_helper: str | None = None,
                uid_pool: list | None = None, default_iallocator: str | None = None,
                default_iallocator_params: dict | None = None,
                primary_ip_version: int | None = None, ipolicy: dict | None = None,
                prealloc_wipe_disks: bool = False,
                use_external_mip_script: bool = False,
                hv_state: dict | None = None, disk_state: dict | None = None,
                enabled_disk_templates: list[str] | None = None,
                install_image: str | None = None, zeroing_image: str | None = None,
                compression_tools: list[str] | None = None,
                enabled_user_shutdown: bool = False,
                start_daemons: bool = True) -> None:
    """Initialise a cluster whose only node, the master, is this node.

    The arguments are those of Ganeti 3.0's InitCluster (gnt-cluster init),
    in its order; ssh_key_type/ssh_key_bits default to rsa/2048. Missing
    file storage directories default to pathutils' ones. With
    start_daemons=False only the files are written (tools, tests);
    otherwise noded is (re)started and masterd started, and the call
    returns once masterd answers.

    Raises:
      errors.OpPrereqError: an argument or the environment is not right,
        e.g. a cluster is already initialised; nothing was written.
      errors.OpExecError: a later step failed (files written so far stay).
    """
    params = CheckInitParams(
        cluster_name=cluster_name, mac_prefix=mac_prefix,
        master_netmask=master_netmask, master_netdev=master_netdev,
        file_storage_dir=file_storage_dir,
        shared_file_storage_dir=shared_file_storage_dir,
        gluster_storage_dir=gluster_storage_dir,
        candidate_pool_size=candidate_pool_size, secondary_ip=secondary_ip,
        vg_name=vg_name, beparams=beparams, nicparams=nicparams, ndparams=ndparams,
        hvparams=hvparams, diskparams=diskparams,
        enabled_hypervisors=enabled_hypervisors, modify_ssh_setup=modify_ssh_setup,
        drbd_helper=drbd_helper, uid_pool=uid_pool,
        default_iallocator=default_iallocator,
        default_iallocator_params=default_iallocator_params,
        primary_ip_version=primary_ip_version, ipolicy=ipolicy, hv_state=hv_state,
        disk_state=disk_state, enabled_disk_templates=enabled_disk_templates,
        compression_tools=compression_tools, ssh_key_type=ssh_key_type,
        ssh_key_bits=ssh_key_bits)
    _WriteCluster(params, dict(
        maintain_node_health=bool(maintain_node_health),
        modify_etc_hosts=bool(modify_etc_hosts),
        modify_ssh_setup=bool(modify_ssh_setup),
        prealloc_wipe_disks=bool(prealloc_wipe_disks),
        use_external_mip_script=bool(use_external_mip_script),
        install_image=install_image or "", zeroing_image=zeroing_image or "",
        enabled_user_shutdown=bool(enabled_user_shutdown)), start_daemons)


def _WriteCluster(params: _InitParams, flags: dict[str, Any],
                  start_daemons: bool) -> None:
    """The writing half of InitCluster (after every check passed)."""
    virtual = vcluster.IsVirtual()
    EnsureClusterDirs()
    _PrepareFileStorage(params.values)
    if flags["modify_etc_hosts"] and not virtual:
        _AddHostToEtcHosts(params.node_name, params.node_ip)
    now = time.time()
    cluster = _BuildCluster(params, now, flags)
    node = objects.Node(name=params.node_name, primary_ip=params.node_ip,
                        secondary_ip=params.secondary_ip, serial_no=1,
                        master_candidate=True, offline=False, drained=False,
                        master_capable=True, vm_capable=True, ndparams={},
                        powered=True, ctime=now, mtime=now, tags=[])
    digest = GenerateClusterCrypto(params.cluster_name, params.node_name)
    data = InitConfig(constants.CONFIG_VERSION, cluster, node, now=now)
    node_uuid = str(node.uuid)
    cluster.candidate_certs = {node_uuid: digest}
    WriteConfigData(data, pathutils.CLUSTER_CONF_FILE)
    WriteKnownHostsFile(params.cluster_name, params.rsa_key, params.dsa_key)
    if flags["modify_ssh_setup"] and not virtual:
        _InitSSHSetup(params.values["ssh_key_type"], params.values["ssh_key_bits"],
                      node_uuid)
    WriteSsconfFromConfig()
    if start_daemons:
        StartNodeDaemon(params.node_name, params.node_ip)
        StartMasterDaemon()


def InitConfig(version: int, cluster_config: objects.Cluster,
               master_node_config: objects.Node, now: float | None = None,
               cfg_file: str | None = None) -> objects.ConfigData:
    """Build the initial configuration: this node as master, one group.

    Gives the cluster, the node and the group "default" their uuids; writes
    the configuration to cfg_file if one is given.

    Returns:
      the configuration object.
    """
    now = time.time() if now is None else now
    cluster_config.uuid = NewUUID()
    node_uuid = master_node_config.uuid = NewUUID()
    group_uuid = NewUUID()
    cluster_config.master_node = node_uuid
    group = objects.NodeGroup(
        uuid=group_uuid, name=constants.INITIAL_NODE_GROUP_NAME,
        members=[node_uuid], ndparams={}, diskparams={},
        ipolicy={}, alloc_policy=constants.ALLOC_POLICY_PREFERRED, networks={},
        serial_no=1, ctime=now, mtime=now, tags=[])
    master_node_config.group = group_uuid
    data = objects.ConfigData(
        version=version, cluster=cluster_config,
        nodes={node_uuid: master_node_config},
        nodegroups={group_uuid: group}, instances={}, networks={}, disks={},
        filters={}, serial_no=1, ctime=now, mtime=now)
    data.UpgradeConfig()
    if cfg_file is not None:
        WriteConfigData(data, cfg_file)
    return data


def WriteConfigData(data: objects.ConfigData, cfg_file: str) -> None:
    """Write a configuration atomically with config.data's mode (0640).

    Raises:
      errors.OpExecError: the file could not be written.
    """
    try:
        io.WriteFile(cfg_file, serializer.DumpJson(data.ToDict(), compact=True),
                     mode=CONFIG_FILE_MODE)
    except OSError as err:
        raise errors.OpExecError(f"Cannot write {cfg_file}: {err}") from err


def WriteSsconfFromConfig() -> None:
    """Write this node's ssconf files from its config.data.

    Raises:
      errors.OpExecError: the configuration or the files are unusable.
    """
    from ganeti import config

    try:
        cfg = config.ConfigWriter(offline=True)
        ssconf.SimpleStore().WriteFiles(cfg.GetSsconfValues())
    except (errors.ConfigurationError, errors.LockError, OSError) as err:
        raise errors.OpExecError(f"Cannot write the ssconf files: {err}") from err


# --- destroy -----------------------------------------------------------------


_CLUSTER_FILES = (
    "CLUSTER_CONF_FILE", "NODED_CLIENT_CERT_FILE", "RAPI_CERT_FILE",
    "SPICE_CERT_FILE", "SPICE_CACERT_FILE", "CONFD_HMAC_KEY",
    "CLUSTER_DOMAIN_SECRET_FILE", "SSH_KNOWN_HOSTS_FILE", "SSH_PUB_KEYS",
    "LOCK_STATUS_FILE", "TEMP_RES_STATUS_FILE", "WATCHER_PAUSEFILE",
    "RAPI_USERS_FILE",
)


def FinalizeClusterDestroy(master_uuid: str) -> None:
    """Last steps of gnt-cluster destroy, run on the (former) master.

    Stops masterd and the RAPI daemon, then removes the cluster's files:
    config.data, certificates and secrets, ssconf files and the job queue.
    noded keeps the certificate it has loaded, its pid file and its run
    directory, so it can still be stopped normally.

    Args:
      master_uuid: the master node's uuid (for the log).
    """
    logger.info("Destroying the cluster, master node %s", master_uuid)
    for daemon in (constants.RAPI, constants.MASTERD):
        try:
            RunDaemonUtil("stop", daemon)
        except errors.OpExecError as err:
            logger.warning("Could not stop %s: %s", daemon, err)
    for attr in _CLUSTER_FILES:
        _RemoveQuietly(getattr(pathutils, attr))
    try:
        names = os.listdir(pathutils.DATA_DIR)
    except OSError:
        names = []
    for name in names:
        if name.startswith(ssconf.SS_FILE_PREFIX):
            _RemoveQuietly(os.path.join(pathutils.DATA_DIR, name))
    _RemoveQueue()
    _RemoveQuietly(pathutils.NODED_CERT_FILE)


def _RemoveQuietly(path: str) -> None:
    try:
        io.RemoveFile(path)
    except OSError as err:
        logger.warning("Cannot remove %s: %s", path, err)


def _RemoveQueue() -> None:
    """Remove every file of the job queue, the archive included."""
    for dirpath, _, filenames in os.walk(pathutils.QUEUE_DIR, topdown=False):
        for name in filenames:
            _RemoveQuietly(os.path.join(dirpath, name))
        if dirpath != pathutils.QUEUE_DIR:
            try:
                os.rmdir(dirpath)
            except OSError as err:
                logger.warning("Cannot remove %s: %s", dirpath, err)


# --- master voting -----------------------------------------------------------


def GetMaster() -> str:
    """The master node's name as this node's ssconf records it.

    Raises:
      errors.ConfigurationError: ssconf is missing.
    """
    master, _ = ssconf.GetMasterAndMyself(ssconf.SimpleStore())
    return master


def GatherMasterVotes(node_names: list[str], runner: Any = None,
                      myself: str | None = None) -> list[tuple[str | None, int]]:
    """Ask every other node who the master is (RPC master_node_name).

    This node is left out (it would vote for itself). Nodes marked offline
    are asked too, in case this node's view is stale. A node that does not
    answer counts as a vote for None.

    Args:
      node_names: the nodes to ask (ssconf node_list).
      runner: an RpcRunner (default: one resolving through ssconf).
      myself: this node's name (default: netutils.Hostname.GetSysName()).

    Returns:
      [(master name or None, votes)], most votes first; on a tie names
      come before None, then in name order.
    """
    myself = myself or netutils.Hostname.GetSysName()
    others = [name for name in dict.fromkeys(node_names) if name != myself]
    if not others:
        return []
    own_runner = runner is None
    if runner is None:
        runner = _VotingRunner()
    try:
        results = runner.call_master_node_name(others)
    finally:
        if own_runner:
            runner.Close()
    votes: dict[str | None, int] = {}
    for name in others:
        result = results[name]
        if result.failed:
            logger.warning("Error contacting node %s: %s", name, result.fail_msg)
            vote = None
        else:
            vote = result.payload
        votes[vote] = votes.get(vote, 0) + 1
    return sorted(votes.items(),
                  key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def CheckMasterVotes(votes: list[tuple[str | None, int]],
                     myself: str) -> tuple[bool, str]:
    """Decide whether the votes make this node the master.

    This node's own vote counts, so it needs half of all the nodes plus
    one: votes for it + 1 >= total // 2 + 1. Alone it is the master.

    Returns:
      (whether this node is the master, a message saying why or why not).
    """
    total = sum(count for _, count in votes) + 1
    ours = 1 + sum(count for name, count in votes if name == myself)
    needed = total // 2 + 1
    if ours >= needed:
        return True, f"{ours} of {total} nodes agree that {myself} is the master"
    unreachable = sum(count for name, count in votes if name is None)
    others = [f"{name} ({count})" for name, count in votes
              if name is not None and name != myself]
    detail = (f"{ours} of {total} nodes (this one included) name this node"
              f" ({myself}), {needed} needed")
    if others:
        detail += f"; votes for other nodes: {', '.join(others)}"
    if unreachable:
        detail += f"; {unreachable} node(s) did not answer"
    return False, f"It seems we are not the master: {detail}"


def _VotingRunner() -> Any:
    """An RpcRunner resolving through ssconf that also asks offline nodes."""
    from ganeti.rpc import client as rpc_client
    from ganeti.rpc import resolver

    class _AllNodesResolver:
        def __init__(self) -> None:
            self._inner = resolver.SsconfResolver()

        def Resolve(self, nodes: Any) -> list[Any]:
            return [addr._replace(offline=False)
                    for addr in self._inner.Resolve(nodes)]

    return rpc_client.RpcRunner(_AllNodesResolver(), port=rpc_client.GetNodedPort())
