"""Node-level RPC procedures: version, node_info, master name, own IPs.

node_info mirrors Ganeti's backend.GetNodeInfo: the boot id, one space
report per requested storage unit and one resource report per requested
hypervisor. Hypervisor reports come from the hypervisor driver
(ganeti.hypervisor.GetHypervisor(name).GetNodeInfo) when that package
provides one; otherwise from /proc (hv_base.GetLinuxNodeInfo, which the
kvm and fake drivers start from too).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, netutils, ssconf, vcluster
from ganeti.backend import RPCFail, args
# Re-exported: the /proc computation lives with the hypervisor drivers.
from ganeti.hypervisor.hv_base import GetLinuxNodeInfo
from ganeti.utils import process

logger = logging.getLogger(__name__)

_BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
# On a virtual node a test may write a boot id here to simulate a reboot of
# that node alone (all virtual nodes share the host's real boot id).
_VIRTUAL_BOOT_ID_PATH = "/var/run/ganeti/boot_id"
_MIB = 1024 * 1024

# LVM tools; names (not paths) so that PATH decides, as Ganeti's RunCmd does.
_VGS_CMD = "vgs"
_PVS_CMD = "pvs"
# An LVM listing that takes longer than an URGENT RPC is hung (e.g. on a
# dead multipath device); node_info is an URGENT call.
_LVM_TIMEOUT = constants.RPC_TMO_URGENT

_FILE_STORAGE_TYPES = frozenset([constants.ST_FILE, constants.ST_SHARED_FILE,
                                 constants.ST_GLUSTER])
# Known storage types whose space Ganeti does not report either.
_UNREPORTED_STORAGE_TYPES = frozenset([constants.ST_RADOS, constants.ST_EXT])

RunFn = Callable[[list[str]], tuple[int, str, str]]


@args.RpcProcedure("version")
def Version() -> int:
    """Return the RPC protocol version this node speaks."""
    return constants.PROTOCOL_VERSION


@args.RpcProcedure("master_node_name")
def MasterNodeName() -> str:
    """Return the master's name as recorded in this node's ssconf.

    Raises:
      RPCFail: ssconf is missing (the node is not part of a cluster).
    """
    try:
        return ssconf.SimpleStore().GetMasterNode()
    except errors.ConfigurationError as err:
        raise RPCFail("Cluster configuration incomplete, this node is not"
                      f" configured as part of a cluster: {err}") from err


@args.RpcProcedure("node_has_ip_address")
def NodeHasIpAddress(address: Any) -> bool:
    """Return whether address is configured on a local interface.

    Like Ganeti's netutils.IPAddress.Own: the address is ours if a socket
    can be bound to it.

    Raises:
      RPCFail: address is not a valid IPv4 or IPv6 address.
    """
    text = args.CheckStr(address, "argument 'address'", non_empty=True)
    try:
        return netutils.IPAddress.Own(text)
    except errors.IPAddressError as err:
        raise RPCFail(f"Invalid IP address {text!r}: {err}") from err
    except OSError as err:
        raise RPCFail(f"Can't check address {text!r}: {err}") from err


@args.RpcProcedure("node_info")
def NodeInfo(storage_units: Any, hv_specs: Any) -> list[Any]:
    """Return [boot_id, storage reports, hypervisor reports] (spec/rpc.md)."""
    return GetNodeInfo(storage_units, hv_specs)


def GetNodeInfo(storage_units: Any, hv_specs: Any, *,
                _find_hv_fn: Callable[[str], Any] | None = None,
                _run_fn: RunFn | None = None) -> list[Any]:
    """Gather the node_info result.

    Args:
      storage_units: [[type, key, params], ...] or None (no report).
      hv_specs: [[hvname, hvparams], ...] or None (no report).
      _find_hv_fn: returns the driver of a hypervisor or None (test seam).
      _run_fn: runs a command, returning (exit code, stdout, stderr).

    Returns:
      [boot_id, list of storage dicts or None, list of hv dicts or None].

    Raises:
      RPCFail: an argument is malformed, a storage unit or hypervisor is
        unknown or its report cannot be computed.
    """
    find_hv = _FindHypervisor if _find_hv_fn is None else _find_hv_fn
    run_fn = _RunCommand if _run_fn is None else _run_fn
    storage_info = None
    if storage_units is not None:
        units = args.CheckList(storage_units, "argument 'storage_units'")
        storage_info = [_GetStorageInfo(unit, run_fn) for unit in units]
    hv_info = None
    if hv_specs is not None:
        specs = args.CheckList(hv_specs, "argument 'hv_specs'")
        hv_info = [_GetHvInfo(spec, find_hv) for spec in specs]
    return [_ReadBootId(), storage_info, hv_info]


def _ReadBootId() -> str:
    """Return this node's boot id (see _VIRTUAL_BOOT_ID_PATH)."""
    path = _BOOT_ID_PATH
    if vcluster.IsVirtual():
        virtual = vcluster.AddNodePrefix(_VIRTUAL_BOOT_ID_PATH)
        if os.path.exists(virtual):
            path = virtual
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read(128).strip()
    except (OSError, UnicodeDecodeError) as err:
        raise RPCFail(f"Can't read the boot id from {path}: {err}") from err


# --- storage ------------------------------------------------------------------


def _GetStorageInfo(unit: Any, run_fn: RunFn) -> dict[str, Any]:
    """Return the space report of one [type, key, params] storage unit."""
    storage_type, key, params = args.CheckList(unit, "storage unit", length=3)
    storage_type = args.CheckStr(storage_type, "storage type")
    key = args.CheckStr(key, f"key of {storage_type} storage unit")
    params = args.CheckList(params, f"parameters of {storage_type} storage unit")
    if storage_type in _FILE_STORAGE_TYPES:
        _CheckParamCount(storage_type, params, 0)
        size, free = _GetFileStorageSpace(key)
    elif storage_type == constants.ST_LVM_VG:
        _CheckExclusiveStorage(storage_type, params)
        size, free = _GetVgSpace(key, run_fn)
    elif storage_type == constants.ST_LVM_PV:
        if _CheckExclusiveStorage(storage_type, params):
            size, free = _GetVgSpindles(key, run_fn)
        else:
            # Without exclusive storage spindles are not tracked (Ganeti's
            # _GetVgSpindlesInfo reports 0/0).
            size, free = 0, 0
    elif storage_type == constants.ST_DISKLESS:
        size, free = 0, 0
    elif storage_type in _UNREPORTED_STORAGE_TYPES:
        raise RPCFail(f"Storage type '{storage_type}' does not report free space"
                      " (as in Ganeti)")
    else:
        raise RPCFail(f"Unknown storage type '{storage_type}'")
    return {"type": storage_type, "name": key, "storage_size": size,
            "storage_free": free}


def _CheckParamCount(storage_type: str, params: list[Any], count: int) -> None:
    if len(params) != count:
        raise RPCFail(f"Storage type '{storage_type}' takes {count} parameter(s),"
                      f" got {len(params)}: {params!r:.80}")


def _CheckExclusiveStorage(storage_type: str, params: list[Any]) -> bool:
    """Return the exclusive-storage flag, the only parameter of LVM units."""
    _CheckParamCount(storage_type, params, 1)
    return args.CheckBool(params[0], f"exclusive storage flag of {storage_type}")


def _GetFileStorageSpace(key: str) -> tuple[int, int]:
    """Return (size, free) in MiB of the file system holding directory key."""
    path = args.LocalizePath(key, "file storage directory")
    try:
        stats = os.statvfs(path)
    except OSError as err:
        raise RPCFail(f"Can't get file system information about '{path}':"
                      f" {err.strerror}") from err
    return (stats.f_frsize * stats.f_blocks // _MIB,
            stats.f_frsize * stats.f_bavail // _MIB)


def _RunCommand(argv: list[str]) -> tuple[int, str, str]:
    """Run a command without shell, returning (exit code, stdout, stderr).

    A command killed by a signal reports minus the signal number.

    Raises:
      FileNotFoundError: the program is not installed.
      RPCFail: the command could not be started, or did not finish within
        _LVM_TIMEOUT.
    """
    try:
        result = process.RunCmd(argv, timeout=_LVM_TIMEOUT)
    except errors.CommandError as err:
        if isinstance(err.__cause__, FileNotFoundError):
            raise FileNotFoundError(str(err)) from err
        raise RPCFail(str(err)) from err
    if result.timed_out:
        raise RPCFail(f"Command {argv[0]} did not finish within"
                      f" {_LVM_TIMEOUT} seconds")
    if result.exit_code is None:
        return -(result.signal or 0), result.stdout, result.stderr
    return result.exit_code, result.stdout, result.stderr


def _RunLvmListing(argv: list[str], run_fn: RunFn) -> str:
    """Run an LVM listing command and return its stdout."""
    try:
        exit_code, stdout, stderr = run_fn(argv)
    except FileNotFoundError as err:
        raise RPCFail(f"LVM tools are not installed ({argv[0]} not found)") from err
    if exit_code != 0:
        detail = (stderr or stdout).strip()
        raise RPCFail(f"Can't list LVM {argv[0]} information: {argv[0]} exited"
                      f" with code {exit_code}: {detail}")
    return stdout


def _SplitLvmLine(line: str, count: int, tool: str) -> list[str]:
    fields = [field.strip() for field in line.strip().split("|")]
    if len(fields) != count:
        raise RPCFail(f"Can't parse {tool} output line {line!r}")
    return fields


def _MiB(value: str, tool: str) -> int:
    try:
        return int(round(float(value)))
    except ValueError as err:
        raise RPCFail(f"Can't parse size {value!r} in {tool} output") from err


def ParseVgsOutput(output: str) -> dict[str, tuple[int, int]]:
    """Parse `vgs ... -o vg_name,vg_size,vg_free` output (MiB, no suffix).

    Returns:
      VG name -> (size, free), both rounded to whole MiB.
    """
    result = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        name, size, free = _SplitLvmLine(line, 3, "vgs")
        result[name] = (_MiB(size, "vgs"), _MiB(free, "vgs"))
    return result


def ParsePvsOutput(output: str) -> dict[str, tuple[int, int]]:
    """Parse `pvs ... -o pv_name,vg_name,pv_size,pv_free` into spindles.

    A spindle (physical volume) is free when no logical volume uses any of
    it, as Ganeti's exclusive-storage accounting counts them.

    Returns:
      VG name -> (total spindles, free spindles).
    """
    result: dict[str, tuple[int, int]] = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        _, vg_name, size, free = _SplitLvmLine(line, 4, "pvs")
        total, empty = result.get(vg_name, (0, 0))
        is_empty = _MiB(free, "pvs") >= _MiB(size, "pvs")
        result[vg_name] = (total + 1, empty + int(is_empty))
    return result


def _GetVgSpace(vg_name: str, run_fn: RunFn) -> tuple[int, int]:
    output = _RunLvmListing(
        [_VGS_CMD, "--noheadings", "--nosuffix", "--units=m", "--separator=|",
         "-o", "vg_name,vg_size,vg_free"], run_fn)
    vgs = ParseVgsOutput(output)
    if vg_name not in vgs:
        raise RPCFail(f"Volume group '{vg_name}' not found")
    return vgs[vg_name]


def _GetVgSpindles(vg_name: str, run_fn: RunFn) -> tuple[int, int]:
    output = _RunLvmListing(
        [_PVS_CMD, "--noheadings", "--nosuffix", "--units=m", "--separator=|",
         "-o", "pv_name,vg_name,pv_size,pv_free"], run_fn)
    pvs = ParsePvsOutput(output)
    if vg_name not in pvs:
        raise RPCFail(f"Volume group '{vg_name}' not found")
    return pvs[vg_name]


# --- hypervisors --------------------------------------------------------------


def _FindHypervisor(hvname: str) -> Any:
    """Return the driver of hvname, or None if no driver package exists."""
    try:
        # Imported late: the hypervisor package is optional for this module.
        hypervisor = importlib.import_module("ganeti.hypervisor")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.hypervisor":
            raise
        return None
    get_fn = getattr(hypervisor, "GetHypervisor", None)
    return None if get_fn is None else get_fn(hvname)


def _GetHvInfo(spec: Any, find_hv: Callable[[str], Any]) -> dict[str, Any]:
    """Return the resource report for one [hvname, hvparams] pair."""
    hvname, hvparams = args.CheckList(spec, "hypervisor spec", length=2)
    hvname = args.CheckStr(hvname, "hypervisor name")
    if hvname not in constants.HYPER_TYPES:
        raise RPCFail(f"Unknown hypervisor '{hvname}'")
    if hvparams is not None:
        args.CheckDict(hvparams, f"parameters of hypervisor {hvname}")
    try:
        driver = find_hv(hvname)
        if driver is not None:
            return driver.GetNodeInfo(hvparams=hvparams)
        return GetLinuxNodeInfo()
    except errors.GenericError as err:
        raise RPCFail(f"Can't get node information from hypervisor"
                      f" '{hvname}': {err}") from err
