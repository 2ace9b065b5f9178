"""Node side of the OS definition interface (ganeti-os-interface(7)).

What noded does with OS definitions (spec/hooks-and-os.md section 2):
os_diagnose lists every candidate directory of the search path with its
validity, os_validate runs "verify parameters", instance_os_add runs
"create" (INSTANCE_REINSTALL=1 on reinstall), instance_run_rename runs
"rename" (OLD_INSTANCE_NAME), and os_export packs a definition with its
environment (Ganeti's ExportOS, for helper-VM installs). RunOSExport and
RunOSImport run "export"/"import" for one disk (EXP_SIZE_FD, EXPORT_* /
IMPORT_*), for the backup code of later issues.

Every script runs with a cleared environment: PATH, LC_ALL=C and the
variables of OSCoreEnv/OSEnvironment only, in the OS directory, with
stdout and stderr appended to <LOG_OS_DIR>/<action>-<os>-<instance>-
<timestamp>.log. A non-zero exit fails the RPC with the log's last lines.

Disks: as in Ganeti's OSEnvironment, each disk of the instance dict's
disks_info must already be assembled; GatherDisks finds and opens it with
backend.blockdev.OpenRealBD and hands the scripts its device path (and its
URI for userspace-access disks). No disk link is made. Without that module
(it belongs to the storage code) the paths of file, sharedfile, blockdev,
plain and rbd disks are computed from their logical ids.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from typing import Any

from ganeti import constants, defaults, errors, objects, osdef, pathutils, vcluster
from ganeti.backend import RPCFail, args
from ganeti.utils import process

logger = logging.getLogger(__name__)

# Lines of the script's log quoted in the error of a failed script.
_LOG_TAIL_LINES = 20
_LOG_DIR_MODE = 0o750
# verify only checks values; a hung one must not hold an RPC thread forever
# (os_validate's RPC timeout is RPC_TMO_FAST, 60 s, on the master).
_VERIFY_TIMEOUT = 55
# Ganeti's DTS_BLOCK and DTS_FILEBASED: how disks appear to the scripts.
_BLOCK_TEMPLATES = frozenset([constants.DT_PLAIN, constants.DT_DRBD8,
                              constants.DT_BLOCK, constants.DT_RBD, constants.DT_EXT])
_FILE_TEMPLATES = frozenset([constants.DT_FILE, constants.DT_SHARED_FILE,
                             constants.DT_GLUSTER])
# Hypervisor parameters exported as the frontend types of disks and NICs.
_HV_DISK_TYPE = "disk_type"
_HV_NIC_TYPE = "nic_type"
# The descriptor number EXP_SIZE_FD has in the export script.
_EXP_SIZE_CHILD_FD = 3
# A disk whose "access" disk parameter is this is used through its URI.
_DISK_USERSPACE = "userspace"
# What a Disk/NIC of block_devices may be: an object or its dict.
DiskLike = Any
BlockDevice = tuple[DiskLike, str | None, str | None]


# --- finding definitions -------------------------------------------------------


def _SearchPath() -> list[str]:
    """The OS search path (read per call: tests and virtual nodes change it)."""
    return list(pathutils.OS_SEARCH_PATH)


def OSFromDisk(name: str, base_dir: str | None = None) -> osdef.OS:
    """Load a valid OS definition by name (a "+variant" suffix is ignored).

    Args:
      name: the OS name, possibly with variant.
      base_dir: look only in this directory instead of the search path.

    Returns:
      the OS object.

    Raises:
      RPCFail: the OS is missing or invalid; the message says why.
    """
    search = [base_dir] if base_dir is not None else _SearchPath()
    os_obj = osdef.LoadOS(name, search)
    if not os_obj.status:
        raise RPCFail(os_obj.diagnose)
    return os_obj


def DiagnoseOS(top_dirs: list[str] | None = None) -> list[list[Any]]:
    """Describe every potential OS under every search directory.

    Every visible subdirectory of every existing search directory is
    reported, valid or not, in search path order and name order within a
    directory; an OS present in two directories is reported twice (the
    first one is the one used). Unlike Ganeti, plain files (a README next
    to the definitions) are not reported as broken OSes.

    Returns:
      a list of osdef.OS.DiagnoseEntry() rows.
    """
    result = []
    for dir_name in _SearchPath() if top_dirs is None else top_dirs:
        if not os.path.isdir(dir_name):
            continue
        try:
            names = sorted(name for name in os.listdir(dir_name)
                           if not name.startswith(".")
                           and os.path.isdir(os.path.join(dir_name, name)))
        except OSError as err:
            logger.error("Can't list the OS directory %s: %s", dir_name, err)
            continue
        for name in names:
            result.append(osdef.LoadOS(name, [dir_name]).DiagnoseEntry())
    return result


# --- environments ----------------------------------------------------------------


def _EnvValue(value: Any) -> str:
    """An environment value as Ganeti writes it (booleans and numbers by str)."""
    return value if isinstance(value, str) else str(value)


def _CheckEnv(env: dict[str, str]) -> dict[str, str]:
    """Refuse names and values the OS cannot carry (= or NUL).

    Raises:
      RPCFail: naming the variable.
    """
    for key, value in env.items():
        if not key or "=" in key or "\0" in key:
            raise RPCFail(f"Invalid OS script environment variable name {key!r}")
        if "\0" in value:
            raise RPCFail(f"Invalid value for OS script environment variable {key}")
    return env


def OSCoreEnv(os_name: str, inst_os: osdef.OS, os_params: dict[str, Any] | None,
              debug: int = 0) -> dict[str, str]:
    """The variables every OS script gets, instance or not (verify too).

    Args:
      os_name: the full OS name, possibly "os+variant".
      inst_os: the OS definition.
      os_params: the OS parameters (exported as OSP_<NAME>).
      debug: DEBUG_LEVEL.

    Returns:
      PATH, OS_API_VERSION (highest common version), OS_NAME, OS_VARIANT
      (the given variant, else the first declared one; "" before API 15),
      DEBUG_LEVEL and the OSP_* variables.
    """
    api_version = inst_os.api_version
    variant = ""
    if api_version >= constants.OS_API_V15:
        variant = osdef.GetVariant(os_name)
        if not variant and inst_os.supported_variants:
            variant = inst_os.supported_variants[0]
    env = {
        # Programs run by the scripts expect a sane PATH (Ganeti sets the
        # hooks' one as well).
        "PATH": constants.HOOKS_PATH,
        "OS_API_VERSION": str(api_version),
        "OS_NAME": inst_os.name,
        "OS_VARIANT": variant,
        "DEBUG_LEVEL": str(int(debug)),
    }
    for name, value in (os_params or {}).items():
        if value is None:
            continue
        env[f"OSP_{name.upper()}"] = _EnvValue(value)
    return _CheckEnv(env)


def _Get(item: DiskLike, attr: str) -> Any:
    """An attribute of a config object or a key of its dict form."""
    if isinstance(item, dict):
        return item.get(attr)
    return getattr(item, attr, None)


def _DiskEnv(idx: int, disk: DiskLike, path: str | None, uri: str | None,
             hvparams: dict[str, Any]) -> dict[str, str]:
    env = {f"DISK_{idx}_ACCESS": _Get(disk, "mode") or constants.DISK_RDWR,
           f"DISK_{idx}_UUID": _Get(disk, "uuid") or ""}
    if path:
        env[f"DISK_{idx}_PATH"] = path
    if uri:
        env[f"DISK_{idx}_URI"] = uri
    if _Get(disk, "size") is not None:
        env[f"DISK_{idx}_SIZE"] = _EnvValue(_Get(disk, "size"))
    if _Get(disk, "name"):
        env[f"DISK_{idx}_NAME"] = _Get(disk, "name")
    if hvparams.get(_HV_DISK_TYPE):
        env[f"DISK_{idx}_FRONTEND_TYPE"] = _EnvValue(hvparams[_HV_DISK_TYPE])
    dev_type = _Get(disk, "dev_type")
    if dev_type in _BLOCK_TEMPLATES:
        env[f"DISK_{idx}_BACKEND_TYPE"] = "block"
    elif dev_type in _FILE_TEMPLATES:
        driver = (_Get(disk, "logical_id") or ["loop"])[0]
        env[f"DISK_{idx}_BACKEND_TYPE"] = f"file:{driver}"
    return env


def _NetworkEnv(prefix: str, netinfo: dict[str, Any]) -> dict[str, str]:
    """The NIC_<N>_NETWORK_* variables (Ganeti's Network.HooksDict)."""
    env = {f"{prefix}NETWORK_NAME": netinfo.get("name") or "",
           f"{prefix}NETWORK_UUID": netinfo.get("uuid") or "",
           f"{prefix}NETWORK_TAGS": " ".join(sorted(netinfo.get("tags") or []))}
    for key, suffix in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                        ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                        ("mac_prefix", "MAC_PREFIX")):
        if netinfo.get(key):
            env[f"{prefix}NETWORK_{suffix}"] = netinfo[key]
    return env


def _NicEnv(idx: int, nic: DiskLike, hvparams: dict[str, Any]) -> dict[str, str]:
    nicparams = _Get(nic, "nicparams") or {}
    mode = nicparams.get(defaults.NIC_MODE) or ""
    link = nicparams.get(defaults.NIC_LINK) or ""
    env = {f"NIC_{idx}_MAC": _Get(nic, "mac") or "",
           f"NIC_{idx}_UUID": _Get(nic, "uuid") or "",
           f"NIC_{idx}_MODE": mode}
    if _Get(nic, "name"):
        env[f"NIC_{idx}_NAME"] = _Get(nic, "name")
    if _Get(nic, "ip"):
        env[f"NIC_{idx}_IP"] = _Get(nic, "ip")
    # BRIDGE exists only in bridged mode; LINK is the bridge there and the
    # routing table (routed) or switch (openvswitch) otherwise.
    if mode == constants.NIC_MODE_BRIDGED:
        env[f"NIC_{idx}_BRIDGE"] = link
    if link:
        env[f"NIC_{idx}_LINK"] = link
    if nicparams.get(defaults.NIC_VLAN):
        env[f"NIC_{idx}_VLAN"] = _EnvValue(nicparams[defaults.NIC_VLAN])
    if _Get(nic, "netinfo"):
        env.update(_NetworkEnv(f"NIC_{idx}_", _Get(nic, "netinfo")))
    if hvparams.get(_HV_NIC_TYPE):
        env[f"NIC_{idx}_FRONTEND_TYPE"] = _EnvValue(hvparams[_HV_NIC_TYPE])
    return env


def InstanceDisks(instance: objects.Instance) -> list[objects.Disk]:
    """The full disks of an instance received over RPC (its "disks_info").

    Raises:
      RPCFail: disks_info is malformed.
    """
    infos = instance.ToDict(runtime=True).get("disks_info") or []
    try:
        return [objects.Disk.FromDict(info) for info in
                args.CheckList(infos, "instance disks_info")]
    except errors.ConfigurationError as err:
        raise RPCFail(f"Invalid disk in the instance data: {err}") from err


def OSEnvironment(instance: objects.Instance, inst_os: osdef.OS, debug: int = 0,
                  block_devices: list[BlockDevice] | None = None) -> dict[str, str]:
    """The environment of an OS script run for an instance.

    Args:
      instance: the instance (from its RPC dict: filled hvparams, beparams,
        osparams, nicparams, disks_info).
      inst_os: its OS definition.
      debug: DEBUG_LEVEL.
      block_devices: (disk, path, uri) per disk; None gathers them (see
        the module doc), which needs the disks to be assembled.

    Returns:
      the variables of ganeti-os-interface(7): OSCoreEnv's plus
      INSTANCE_*, HYPERVISOR, DISK_*, NIC_* and INSTANCE_BE_*/HV_*.

    Raises:
      RPCFail: a disk cannot be found, or a value is unusable.
    """
    if block_devices is None:
        block_devices = GatherDisks(instance)
    # Private OS parameters reach the scripts like the others (Ganeti
    # merges them in too); they are never logged here.
    params = dict(instance.osparams or {})
    params.update(instance.osparams_private or {})
    env = OSCoreEnv(instance.os or "", inst_os, params, debug=debug)
    for attr in ("name", "os", "uuid", "ctime", "mtime", "primary_node"):
        env[f"INSTANCE_{attr.upper()}"] = _EnvValue(getattr(instance, attr))
    extra = instance.ToDict(runtime=True)
    env["INSTANCE_SECONDARY_NODES"] = " ".join(extra.get("secondary_nodes") or [])
    hvparams = instance.hvparams or {}
    env["HYPERVISOR"] = instance.hypervisor or ""
    env["DISK_COUNT"] = str(len(block_devices))
    for idx, (disk, path, uri) in enumerate(block_devices):
        env.update(_DiskEnv(idx, disk, path, uri, hvparams))
    nics = instance.nics or []
    env["NIC_COUNT"] = str(len(nics))
    for idx, nic in enumerate(nics):
        env.update(_NicEnv(idx, nic, hvparams))
    for source, kind in ((instance.beparams or {}, "BE"), (hvparams, "HV")):
        for key, value in source.items():
            env[f"INSTANCE_{kind}_{key}"] = _EnvValue(value)
    return _CheckEnv(env)


# --- disks ---------------------------------------------------------------------


def _StaticDiskPath(disk: objects.Disk) -> str | None:
    """A disk's device path computed from its logical id (fallback)."""
    logical_id = disk.logical_id or []
    if disk.dev_type in _FILE_TEMPLATES or disk.dev_type == constants.DT_BLOCK:
        path = logical_id[1] if len(logical_id) > 1 else None
    else:
        path = disk.StaticDevPath() if disk.dev_type in (
            constants.DT_PLAIN, constants.DT_RBD) else None
    if path and path.startswith(constants.VIRTUAL_PATH_PREFIX):
        path = vcluster.LocalizeVirtualPath(path)
    return path


def _BlockdevModule() -> Any:
    """ganeti.backend.blockdev if it provides OpenRealBD, else None."""
    try:
        module = importlib.import_module("ganeti.backend.blockdev")
    except ModuleNotFoundError as err:
        if err.name != "ganeti.backend.blockdev":
            raise
        return None
    return module if hasattr(module, "OpenRealBD") else None


def GatherDisks(instance: objects.Instance) -> list[BlockDevice]:
    """(disk, device path, userspace URI) of each disk of the instance.

    As Ganeti's OSEnvironment: each disk must be assembled; its device is
    found and opened (backend.blockdev.OpenRealBD), and a disk whose access
    parameter is "userspace" also gets its URI. No link is made.

    Raises:
      RPCFail: a disk is not set up or cannot be opened.
    """
    disks = InstanceDisks(instance)
    blockdev = _BlockdevModule()
    if blockdev is None:
        return [(disk, _StaticDiskPath(disk), None) for disk in disks]
    devices: list[BlockDevice] = []
    for disk in disks:
        try:
            device = blockdev.OpenRealBD(disk)
            uri = None
            if (disk.params or {}).get(defaults.LDP_ACCESS) == _DISK_USERSPACE:
                uri = device.GetUserspaceAccessUri(instance.hypervisor or "")
        except errors.GenericError as err:
            raise RPCFail(f"Block device error: {err}") from err
        devices.append((disk, device.dev_path, uri))
    return devices


# --- running scripts -------------------------------------------------------------


def _InstanceLogName(kind: str, os_name: str, instance: str,
                     component: str | None = None) -> str:
    """A fresh log file name <LOG_OS_DIR>/<kind>-<os>-<instance>[-<c>]-<ts>.log.

    The directory is created if missing; an existing name gets a counter,
    so two runs in one second keep separate logs.
    """
    os.makedirs(pathutils.LOG_OS_DIR, mode=_LOG_DIR_MODE, exist_ok=True)
    parts = [kind, os_name, instance] + ([component] if component else [])
    base = "-".join(part.replace("/", "_") for part in parts)
    # The timestamp format of Ganeti's utils.TimestampForFilename.
    stamp = time.strftime("%Y-%m-%d_%H_%M_%S")
    stem = os.path.join(pathutils.LOG_OS_DIR, f"{base}-{stamp}")
    path, counter = f"{stem}.log", 0
    while os.path.lexists(path):
        counter += 1
        path = f"{stem}-{counter}.log"
    return path


def _LogTail(logfile: str, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with open(logfile, encoding="utf-8", errors="replace") as handle:
            return "\n".join(handle.read().splitlines()[-lines:])
    except OSError as err:
        return f"(log file {logfile} unreadable: {err.strerror})"


def _ScriptFailed(what: str, reason: str, logfile: str) -> RPCFail:
    return RPCFail(f"OS {what} script failed ({reason}), last lines in the log file"
                   f" {logfile}:\n{_LogTail(logfile)}")


def _RunScript(script: str, env: dict[str, str], cwd: str, logfile: str,
               what: str) -> None:
    """Run one OS script with its output appended to logfile.

    Raises:
      RPCFail: the script could not be started or did not exit with 0.
    """
    try:
        result = process.RunCmd([script], env=env, cwd=cwd, output=logfile,
                                reset_env=True)
    except errors.CommandError as err:
        raise RPCFail(f"Cannot run the OS {what} script: {err}") from err
    if result.failed:
        logger.error("OS %s script %s failed: %s (log %s)", what, script,
                     result.fail_reason, logfile)
        raise _ScriptFailed(what, result.fail_reason, logfile)


def _TrustedCreateScript(inst_os: osdef.OS) -> str:
    if inst_os.create_script is None:
        raise RPCFail(f"OS {inst_os.name} has only an untrusted create script"
                      f" ({osdef.OS_SCRIPT_CREATE_UNTRUSTED}), which must run in a"
                      " helper VM, not on the node")
    return inst_os.create_script


def InstanceOsAdd(instance: objects.Instance, reinstall: bool, debug: int,
                  block_devices: list[BlockDevice] | None = None) -> None:
    """Install the instance's OS: run "create" on its assembled disks.

    Args:
      instance: the instance (RPC form, see OSEnvironment).
      reinstall: also export INSTANCE_REINSTALL=1.
      debug: DEBUG_LEVEL.
      block_devices: the disks with their paths; None gathers them.

    Raises:
      RPCFail: unknown or invalid OS, a variant missing where the OS
        declares variants, a disk that cannot be found, or the script
        failed (with the end of its log).
    """
    inst_os = OSFromDisk(instance.os or "")
    if inst_os.supported_variants and not osdef.GetVariant(instance.os or ""):
        raise RPCFail(osdef.CheckVariant(inst_os, instance.os or ""))
    script = _TrustedCreateScript(inst_os)
    env = OSEnvironment(instance, inst_os, debug, block_devices=block_devices)
    if reinstall:
        env["INSTANCE_REINSTALL"] = "1"
    logfile = _InstanceLogName("add", instance.os or "", instance.name or "")
    _RunScript(script, env, inst_os.path, logfile, "create")


def RunRenameInstance(instance: objects.Instance, old_name: str, debug: int,
                      block_devices: list[BlockDevice] | None = None) -> None:
    """Run "rename" for an instance already renamed in the configuration.

    Args:
      instance: the instance under its new name.
      old_name: exported as OLD_INSTANCE_NAME.
      debug: DEBUG_LEVEL.
      block_devices: the disks with their paths; None gathers them.

    Raises:
      RPCFail: as InstanceOsAdd.
    """
    inst_os = OSFromDisk(instance.os or "")
    env = OSEnvironment(instance, inst_os, debug, block_devices=block_devices)
    env["OLD_INSTANCE_NAME"] = old_name
    logfile = _InstanceLogName("rename", instance.os or "",
                               f"{old_name}-{instance.name}")
    _RunScript(inst_os.rename_script or "", env, inst_os.path, logfile, "rename")


def ValidateOS(required: bool, osname: str, checks: list[str],
               osparams: dict[str, Any], force_variant: bool) -> bool:
    """Validate OS parameters with the OS's own "verify" script.

    Args:
      required: whether a missing OS is an error (else False is returned).
      osname: the OS name, possibly with variant.
      checks: the verify arguments; only "parameters" exists.
      osparams: the parameters, exported as OSP_*.
      force_variant: skip the variant check.

    Returns:
      True if valid (or the OS predates API 20), False if the OS is missing
      and not required.

    Raises:
      RPCFail: unknown check, missing OS (if required), bad variant,
        parameters the OS does not declare, or verify failed (its output
        is in the message).
    """
    unknown = set(checks) - osdef.OS_VALIDATE_CALLS
    if unknown:
        raise RPCFail(f"Unknown checks required for OS {osname}:"
                      f" {', '.join(sorted(unknown))}")
    inst_os = osdef.LoadOS(osname, _SearchPath())
    if not inst_os.status:
        if required:
            raise RPCFail(inst_os.diagnose)
        return False
    if not force_variant:
        reason = osdef.CheckVariant(inst_os, osname)
        if reason:
            raise RPCFail(reason)
    if max(inst_os.api_versions) < constants.OS_API_V20:
        return True
    if osdef.OS_VALIDATE_PARAMETERS in checks:
        supported = {param for param, _ in inst_os.supported_parameters}
        extra = sorted(set(osparams) - supported)
        if extra:
            raise RPCFail(f"The following parameters are not supported by the OS"
                          f" {inst_os.name}: {', '.join(extra)}")
    env = OSCoreEnv(osname, inst_os, osparams)
    try:
        result = process.RunCmd([inst_os.verify_script or "", *checks], env=env,
                                cwd=inst_os.path, reset_env=True,
                                timeout=_VERIFY_TIMEOUT)
    except errors.CommandError as err:
        raise RPCFail(f"Cannot run the OS verify script: {err}") from err
    if result.failed:
        raise RPCFail(f"OS validation script failed ({result.fail_reason}),"
                      f" output: {result.output.strip()}")
    return True


def ExportOS(instance: objects.Instance, override_env: dict[str, str]) -> str:
    """Pack the instance's OS definition and environment into a .tgz.

    The archive holds os/ (the definition, symlinks followed) and
    "environment" (NAME=value lines: OSEnvironment overridden by
    override_env), for installing the OS inside a helper VM.

    Returns:
      the archive's path (a new file the caller removes).

    Raises:
      RPCFail: unknown OS, unusable override, or tar failed.
    """
    inst_os = OSFromDisk(instance.os or "")
    env = OSEnvironment(instance, inst_os)
    env.update({key: _EnvValue(value) for key, value in override_env.items()})
    _CheckEnv(env)
    temp_dir = tempfile.mkdtemp(prefix="ganeti-os-export-")
    try:
        os.symlink(inst_os.path, os.path.join(temp_dir, "os"))
        with open(os.path.join(temp_dir, "environment"), "w",
                  encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in sorted(env.items()))
        fd, package = tempfile.mkstemp(prefix="ganeti-os-", suffix=".tgz")
        os.close(fd)
        result = process.RunCmd(["tar", "--dereference", "-czf", package, "-C",
                                 temp_dir, "."])
        if result.failed:
            os.unlink(package)
            raise RPCFail(f"Failed to pack the OS definition {inst_os.name}:"
                          f" {result.fail_reason}: {result.output.strip()}")
        return package
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


# --- export and import of one disk -------------------------------------------------


def OSImportExportEnv(instance: objects.Instance, inst_os: osdef.OS, mode: str,
                      disk_index: int, block_devices: list[BlockDevice] | None,
                      debug: int = 0) -> dict[str, str]:
    """OSEnvironment plus the EXPORT_*/IMPORT_* variables of one disk.

    Args:
      mode: "export" or "import".
      disk_index: the disk's index in block_devices.
      block_devices: the disks with their paths; None gathers them.

    Raises:
      RPCFail: bad mode or index, or a disk that cannot be found.
    """
    if block_devices is None:
        block_devices = GatherDisks(instance)
    if mode not in ("export", "import"):
        raise RPCFail(f"Invalid OS import/export mode {mode!r}")
    if not 0 <= disk_index < len(block_devices):
        raise RPCFail(f"Instance {instance.name} has no disk {disk_index}")
    env = OSEnvironment(instance, inst_os, debug, block_devices=block_devices)
    prefix = mode.upper()
    _, path, uri = block_devices[disk_index]
    env[f"{prefix}_INDEX"] = str(disk_index)
    if path:
        # DEVICE is the historical name (Ganeti's code); PATH is the one the
        # man page documents; DISK_PATH/DISK_URI are Ganeti 2.16+'s.
        for suffix in ("DEVICE", "PATH", "DISK_PATH"):
            env[f"{prefix}_{suffix}"] = path
    if uri:
        env[f"{prefix}_DISK_URI"] = uri
    return env


def _OpenStream(stream: int | str, writing: bool) -> tuple[int, bool]:
    """(fd, whether we opened it) for an fd or a path."""
    if isinstance(stream, int):
        return stream, False
    flags = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if writing else os.O_RDONLY
    try:
        return os.open(stream, flags, 0o600), True
    except OSError as err:
        raise RPCFail(f"Cannot open {stream}: {err.strerror}") from err


def _ReadPipe(read_fd: int) -> bytes:
    """Whatever is buffered in a pipe now, without blocking."""
    fcntl.fcntl(read_fd, fcntl.F_SETFL,
                fcntl.fcntl(read_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    data = b""
    while True:
        try:
            chunk = os.read(read_fd, 4096)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def _ParseSize(data: bytes, logfile: str) -> int | None:
    text = data.decode("ascii", errors="replace").strip()
    if not text:
        return None
    try:
        return int(text.splitlines()[0])
    except ValueError:
        logger.warning("Invalid size %r reported on EXP_SIZE_FD (log %s)", text,
                       logfile)
        return None


def _WithSizeFd(script: str, write_fd: int) -> tuple[list[str], str]:
    """The command running script with the EXP_SIZE_FD pipe as fd 3.

    Shells such as dash cannot redirect to a descriptor above 9, which a
    busy noded easily hands out; bash moves the pipe to fd 3 and execs the
    script, so the seed's `>&$EXP_SIZE_FD` works in any shell.

    Returns:
      (argv, value of EXP_SIZE_FD).
    """
    if write_fd == _EXP_SIZE_CHILD_FD:
        return [script], str(write_fd)
    line = (f"exec {_EXP_SIZE_CHILD_FD}>&{write_fd} {write_fd}>&-;"
            ' exec "$0"')
    return ["/bin/bash", "-c", line, script], str(_EXP_SIZE_CHILD_FD)


def _RunStreamScript(argv: list[str], env: dict[str, str], cwd: str, logfile: str,
                     stdin: int, stdout: int, what: str,
                     pass_fds: Iterable[int] = ()) -> None:
    """Run a script with the given stdin/stdout and stderr to logfile.

    Raises:
      RPCFail: the script could not start or failed.
    """
    with open(logfile, "ab") as log:
        try:
            proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=log,
                                    env=env, cwd=cwd, close_fds=True,
                                    pass_fds=tuple(pass_fds),
                                    start_new_session=True)
        except OSError as err:
            raise RPCFail(f"Cannot run the OS {what} script: {err.strerror}") from err
        status = proc.wait()
    if status != 0:
        reason = (f"exited with exit code {status}" if status > 0
                  else f"terminated by signal {-status}")
        raise _ScriptFailed(what, reason, logfile)


def RunOSExport(instance: objects.Instance, disk_index: int, dest: int | str,
                debug: int = 0,
                block_devices: list[BlockDevice] | None = None) -> int | None:
    """Run "export" for one disk, its dump going to dest.

    The script gets EXP_SIZE_FD, a pipe on which it may announce the
    dump's size in bytes (a line); its stderr goes to the OS log.

    Args:
      instance: the instance (RPC form).
      disk_index: which disk.
      dest: a file descriptor or a path (created/truncated).
      debug: DEBUG_LEVEL.
      block_devices: the disks with their paths; None gathers them.

    Returns:
      the size announced on EXP_SIZE_FD, or None if none was.

    Raises:
      RPCFail: unknown OS or disk, or the script failed.
    """
    inst_os = OSFromDisk(instance.os or "")
    out_fd, opened = _OpenStream(dest, writing=True)
    read_fd, write_fd = os.pipe()
    try:
        env = OSImportExportEnv(instance, inst_os, "export", disk_index,
                                block_devices, debug)
        argv, env["EXP_SIZE_FD"] = _WithSizeFd(inst_os.export_script or "",
                                               write_fd)
        logfile = _InstanceLogName("export", instance.os or "",
                                   instance.name or "", str(disk_index))
        _RunStreamScript(argv, env, inst_os.path, logfile, subprocess.DEVNULL,
                         out_fd, "export", pass_fds=[write_fd])
        os.close(write_fd)
        write_fd = -1
        return _ParseSize(_ReadPipe(read_fd), logfile)
    finally:
        for fd in (read_fd, write_fd) + ((out_fd,) if opened else ()):
            if fd >= 0:
                os.close(fd)


def RunOSImport(instance: objects.Instance, disk_index: int, source: int | str,
                debug: int = 0,
                block_devices: list[BlockDevice] | None = None) -> None:
    """Run "import" for one disk, reading the dump from source.

    Args:
      source: a file descriptor or a path.

    Raises:
      RPCFail: unknown OS or disk, unreadable source, or the script failed.
    """
    inst_os = OSFromDisk(instance.os or "")
    in_fd, opened = _OpenStream(source, writing=False)
    try:
        env = OSImportExportEnv(instance, inst_os, "import", disk_index,
                                block_devices, debug)
        logfile = _InstanceLogName("import", instance.os or "",
                                   instance.name or "", str(disk_index))
        _RunStreamScript([inst_os.import_script or ""], env, inst_os.path, logfile,
                         in_fd, subprocess.DEVNULL, "import")
    finally:
        if opened:
            os.close(in_fd)


# --- RPC procedures ----------------------------------------------------------------


def InstanceFromRpc(value: Any, what: str = "argument 'instance'") -> objects.Instance:
    """Rebuild an instance from its RPC dict (disks_info and co. kept).

    Raises:
      RPCFail: not a dict, malformed, or without name or OS.
    """
    data = args.CheckDict(value, what)
    try:
        instance = objects.Instance.FromDict(data)
    except errors.ConfigurationError as err:
        raise RPCFail(f"Invalid {what}: {err}") from err
    if not instance.name or not instance.os:
        raise RPCFail(f"Invalid {what}: the instance needs a name and an OS")
    return instance


def _CheckDebug(value: Any) -> int:
    return args.CheckInt(value, "debug level", minimum=0)


@args.RpcProcedure("os_diagnose")
def _OsDiagnoseRpc() -> list[list[Any]]:
    return DiagnoseOS()


@args.RpcProcedure("os_validate")
def _OsValidateRpc(required: Any, name: Any, checks: Any, params: Any,
                   force_variant: Any) -> bool:
    checks = [args.CheckStr(check, "OS check") for check in
              args.CheckList(checks, "argument 'checks'")]
    return ValidateOS(bool(required), args.CheckStr(name, "OS name", non_empty=True),
                      checks, args.CheckDict(params, "OS parameters"),
                      bool(force_variant))


@args.RpcProcedure("instance_os_add")
def _InstanceOsAddRpc(instance_osp: Any, reinstall: Any, debug: Any) -> None:
    instance = InstanceFromRpc(instance_osp, "argument 'instance_osp'")
    InstanceOsAdd(instance, args.CheckBool(reinstall, "argument 'reinstall'"),
                  _CheckDebug(debug))


@args.RpcProcedure("instance_run_rename")
def _InstanceRunRenameRpc(instance: Any, old_name: Any, debug: Any) -> None:
    RunRenameInstance(InstanceFromRpc(instance),
                      args.CheckStr(old_name, "old instance name", non_empty=True),
                      _CheckDebug(debug))


@args.RpcProcedure("os_export")
def _OsExportRpc(instance: Any, override_env: Any) -> str:
    env = args.CheckDict(override_env or {}, "argument 'override_env'")
    return ExportOS(InstanceFromRpc(instance), env)
