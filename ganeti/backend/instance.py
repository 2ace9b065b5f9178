"""Instance RPC procedures: start, stop, reboot, query, console, migration.

The node side of Ganeti's backend.StartInstance, InstanceShutdown,
InstanceReboot, GetInstanceInfo, GetAllInstancesInfo, GetInstanceList,
GetInstanceConsoleInfo, InstanceBalloonMemory, the migration steps,
ValidateHVParams, HotplugSupported and BridgesExist, each delegating to the
hypervisor driver (ganeti.hypervisor).

Instances arrive as dicts (rpc/node.py ED_INST_DICT): the instance's
ToDict() with hvparams, beparams and osparams FILLED (cluster -> OS ->
instance, objects.Cluster.FillHV/FillBE, plus any temporary overrides of
instance_start), "disks_info" (full disk dicts annotated for this node) and
NICs with filled nicparams. Nothing here fills parameters again.

The procedures registered with RpcProcedure check and convert their
arguments, then call the Python functions of the same Ganeti names, which
take objects and are what other backend modules use.

Shutdown differs from Ganeti's in one respect: Ganeti polls every 5 seconds
(utils.Retry(_TryShutdown, 5, timeout)), so even an instant stop takes 5 s.
Here the instance list is polled with a short, growing delay, and the soft
stop request is repeated every _STOP_RETRY_INTERVAL seconds, as Ganeti
repeats it (retry=True) on every poll.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, hypervisor, objects, pathutils, serializer
from ganeti.backend import RPCFail, args, blockdev
from ganeti.hypervisor import hv_base
from ganeti.utils import io

logger = logging.getLogger(__name__)

# Ganeti's constants.DISK_SEPARATOR: disk symlinks are <instance>:<index>.
DISK_SEPARATOR = ":"
# Disk templates whose disks are reachable from every node, so a migration
# target links them itself (Ganeti's DTS_EXT_MIRROR).
DTS_EXT_MIRROR = frozenset([constants.DT_DISKLESS, constants.DT_BLOCK,
                            constants.DT_EXT, constants.DT_SHARED_FILE,
                            constants.DT_RBD, constants.DT_GLUSTER])
# Seconds between repeated soft stop requests (Ganeti's retry delay).
_STOP_RETRY_INTERVAL = 5.0
# Polling of the instance list while waiting for a stop: start fast so an
# instant stop returns at once, back off to spare the hypervisor.
_POLL_START, _POLL_FACTOR, _POLL_MAX = 0.01, 1.5, 0.5
# After a forced stop, how long the instance may take to disappear (Ganeti
# waits 1 s; some hypervisors reap a killed VM a little later).
_FORCE_STOP_GRACE = 5.0
_REASON_DIR_MODE = 0o750
_BRIDGE_NAME_RE = re.compile(r"^[^/\s\0]{1,15}$")
_CONSOLE_KEYS = ("instance", "node", "group", "hvParams", "beParams")

ClockFn = Callable[[], float]
SleepFn = Callable[[float], Any]


# --- argument conversion ---------------------------------------------------------


def _GetInstance(value: Any, what: str = "argument 'instance'") -> objects.Instance:
    """Build the Instance object of an instance dict received over RPC.

    Raises:
      RPCFail: the value is no instance dict with a valid name, hypervisor,
        hvparams and beparams.
    """
    idict = args.CheckDict(value, what)
    try:
        instance = objects.Instance.FromDict(idict)
    except errors.GenericError as err:
        raise RPCFail(f"Invalid {what}: {err}") from err
    name = args.CheckStr(instance.name, f"name in {what}", non_empty=True)
    try:
        hv_base.CheckInstanceName(name)
    except errors.HypervisorError as err:
        raise RPCFail(f"Invalid {what}: {err}") from err
    args.CheckStr(instance.hypervisor, f"hypervisor of instance {name}",
                  non_empty=True)
    instance.hvparams = args.CheckDict(instance.hvparams or {},
                                       f"hvparams of instance {name}")
    instance.beparams = args.CheckDict(instance.beparams or {},
                                       f"beparams of instance {name}")
    args.CheckList(idict.get("disks_info") or [], f"disks_info of instance {name}")
    return instance


def GetDisksInfo(instance: objects.Instance) -> list[dict[str, Any]]:
    """The full disk dicts sent with the instance ("disks_info"), in order."""
    return list(instance.ToDict().get("disks_info") or [])


def _IsExtMirror(instance: objects.Instance) -> bool:
    """Whether every disk is reachable from other nodes (or there is none)."""
    return all(disk.get("dev_type") in DTS_EXT_MIRROR
               for disk in GetDisksInfo(instance))


def _CheckReason(value: Any) -> list[Any]:
    """The reason trail: a list of [source, reason, timestamp] (None: [])."""
    return [] if value is None else args.CheckList(value, "argument 'reason'")


def _GetHv(hv_name: str) -> hv_base.BaseHypervisor:
    try:
        return hypervisor.GetHypervisor(hv_name)
    except errors.HypervisorError as err:
        raise RPCFail(str(err)) from err


def _HvParamsFor(all_hvparams: Any, hv_name: str, what: str) -> dict[str, Any] | None:
    if all_hvparams is None:
        return None
    params = args.CheckDict(all_hvparams, what).get(hv_name)
    return None if params is None else args.CheckDict(
        params, f"parameters of hypervisor {hv_name}")


def _CheckHvList(value: Any) -> list[str]:
    hv_list = args.CheckList(value, "argument 'hypervisor_list'")
    return [args.CheckStr(hv_name, "hypervisor name", non_empty=True)
            for hv_name in hv_list]


# --- block devices (ganeti/backend/blockdev.py) ------------------------------------


def _GatherAndLinkBlockDevs(instance: objects.Instance) -> list[tuple[Any, str, Any]]:
    """Open and link the instance's disks: [(disk dict, link_name, uri)].

    Raises:
      errors.BlockDeviceError: a disk is not set up or cannot be linked.
    """
    if not GetDisksInfo(instance):
        return []  # diskless: no storage code involved
    return blockdev.GatherAndLinkBlockDevs(instance)


def GetBlockDevSymlinkPath(instance_name: str, idx: int) -> str:
    """Path of the symlink of disk idx (DISK_LINKS_DIR/<name>:<idx>)."""
    return os.path.join(pathutils.DISK_LINKS_DIR,
                        f"{instance_name}{DISK_SEPARATOR}{idx}")


def _RemoveBlockDevLinks(instance: objects.Instance) -> None:
    """Remove the instance's disk symlinks on this node (never fails)."""
    disks = GetDisksInfo(instance)
    if not disks:
        return
    try:
        blockdev.RemoveBlockDevsSymlinks(instance.name, disks)
    except (errors.GenericError, OSError) as err:
        logger.warning("Can't remove the disk symlinks of %s: %s", instance.name,
                       err)


# --- reason trail --------------------------------------------------------------


def _StoreInstReasonTrail(instance_name: str, trail: list[Any]) -> None:
    """Record why the instance last changed state (Ganeti's reason file).

    A failure is logged, not raised: the state change itself succeeded.
    """
    filename = os.path.join(pathutils.INSTANCE_REASON_DIR, instance_name)
    try:
        io.WriteFile(filename, data=serializer.DumpJson(trail),
                     mkdir_mode=_REASON_DIR_MODE)
    except (OSError, TypeError) as err:
        logger.warning("Can't store the reason trail of %s: %s", instance_name, err)


# --- listing -------------------------------------------------------------------


def GetInstanceListForHypervisor(hname: str, hvparams: dict[str, Any] | None = None
                                 ) -> list[str]:
    """Names of the instances running under one hypervisor.

    Raises:
      RPCFail: the hypervisor is unavailable or cannot list its instances.
    """
    hyper = _GetHv(hname)
    try:
        return list(hyper.ListInstances(hvparams=hvparams))
    except errors.HypervisorError as err:
        raise RPCFail(f"Error enumerating instances (hypervisor {hname}):"
                      f" {err}") from err


def GetInstanceList(hypervisor_list: list[str],
                    all_hvparams: dict[str, Any] | None = None) -> list[str]:
    """Names of the instances running under any of the hypervisors."""
    names: list[str] = []
    for hname in hypervisor_list:
        hvparams = _HvParamsFor(all_hvparams, hname, "argument 'hvparams'")
        names.extend(GetInstanceListForHypervisor(hname, hvparams))
    return names


def _IsRunning(instance: objects.Instance) -> bool:
    return instance.name in GetInstanceListForHypervisor(instance.hypervisor,
                                                         instance.hvparams)


def GetInstanceInfo(instance: str, hname: str,
                    hvparams: dict[str, Any] | None = None) -> dict[str, Any]:
    """{memory, vcpus, state, time} of a running instance, {} otherwise."""
    hyper = _GetHv(hname)
    try:
        iinfo = hyper.GetInstanceInfo(instance, hvparams=hvparams)
    except errors.HypervisorError as err:
        raise RPCFail(f"Can't get information about instance {instance}:"
                      f" {err}") from err
    if iinfo is None:
        return {}
    return {"memory": iinfo[2], "vcpus": iinfo[3], "state": iinfo[4],
            "time": iinfo[5]}


def GetAllInstancesInfo(hypervisor_list: list[str],
                        all_hvparams: dict[str, Any] | None) -> dict[str, Any]:
    """name -> {memory, vcpus, state, time} for every running instance.

    Raises:
      RPCFail: a hypervisor fails, or one instance runs under two
        hypervisors with different memory or vCPUs (as Ganeti).
    """
    output: dict[str, dict[str, Any]] = {}
    for hname in hypervisor_list:
        hvparams = _HvParamsFor(all_hvparams, hname, "argument 'all_hvparams'")
        hyper = _GetHv(hname)
        try:
            rows = hyper.GetAllInstancesInfo(hvparams=hvparams)
        except errors.HypervisorError as err:
            raise RPCFail(f"Error enumerating instances (hypervisor {hname}):"
                          f" {err}") from err
        for name, _, memory, vcpus, state, times in rows:
            value = {"memory": memory, "vcpus": vcpus, "state": state,
                     "time": times}
            previous = output.get(name)
            if previous is not None and any(previous[key] != value[key]
                                            for key in ("memory", "vcpus")):
                raise RPCFail(f"Instance {name} is running twice with different"
                              " parameters")
            output[name] = value
    return output


# --- start, stop, reboot ---------------------------------------------------------


def StartInstance(instance: objects.Instance, startup_paused: bool,
                  reason: list[Any], store_reason: bool = True) -> None:
    """Link the disks and start the instance (nothing if already running).

    Raises:
      RPCFail: block device or hypervisor error; no disk links are left.
    """
    if _IsRunning(instance):
        logger.info("Instance %s already running, not starting", instance.name)
        return
    hyper = _GetHv(instance.hypervisor)
    try:
        block_devices = _GatherAndLinkBlockDevs(instance)
        hyper.StartInstance(instance, block_devices, startup_paused)
    except (errors.BlockDeviceError, errors.FileStoragePathError) as err:
        _RemoveBlockDevLinks(instance)
        raise RPCFail(f"Block device error: {err}") from err
    except errors.HypervisorError as err:
        _RemoveBlockDevLinks(instance)
        raise RPCFail(f"Hypervisor error: {err}") from err
    logger.info("Started instance %s", instance.name)
    if store_reason:
        _StoreInstReasonTrail(instance.name, reason)


def _WaitGone(hyper: hv_base.BaseHypervisor, instance: objects.Instance,
              deadline: float, time_fn: ClockFn, sleep_fn: SleepFn,
              request_fn: Callable[[], None] | None = None) -> bool:
    """Poll until the instance is no longer listed or the deadline passes.

    Args:
      request_fn: called every _STOP_RETRY_INTERVAL seconds while waiting.

    Returns:
      whether the instance is gone.
    """
    delay = _POLL_START
    next_request = time_fn() + _STOP_RETRY_INTERVAL
    while True:
        if instance.name not in hyper.ListInstances(hvparams=instance.hvparams):
            return True
        now = time_fn()
        if now >= deadline:
            return False
        if request_fn is not None and now >= next_request:
            request_fn()
            next_request = now + _STOP_RETRY_INTERVAL
        sleep_fn(min(delay, deadline - now))
        delay = min(delay * _POLL_FACTOR, _POLL_MAX)


def _SoftStop(hyper: hv_base.BaseHypervisor, instance: objects.Instance,
              timeout: float, retry: bool) -> None:
    """Ask the instance to stop; an error only counts if it still runs."""
    try:
        hyper.StopInstance(instance, retry=retry, timeout=timeout)
    except errors.HypervisorError as err:
        if instance.name in hyper.ListInstances(hvparams=instance.hvparams):
            raise RPCFail(f"Failed to stop instance {instance.name}: {err}") from err


def InstanceShutdown(instance: objects.Instance, timeout: float, reason: list[Any],
                     store_reason: bool = True, *,
                     _time_fn: ClockFn = time.monotonic,
                     _sleep_fn: SleepFn = time.sleep) -> None:
    """Stop the instance: softly, then by force after timeout seconds.

    Nothing is done if it is not running. Afterwards the hypervisor's
    cleanup runs and the disk symlinks are removed.

    Raises:
      RPCFail: the instance could not be stopped even by force.
    """
    hyper = _GetHv(instance.hypervisor)
    iname = instance.name
    if not _IsRunning(instance):
        logger.info("Instance %s not running, doing nothing", iname)
        return
    try:
        deadline = _time_fn() + timeout
        _SoftStop(hyper, instance, timeout, retry=False)
        if store_reason:
            _StoreInstReasonTrail(iname, reason)
        gone = _WaitGone(hyper, instance, deadline, _time_fn, _sleep_fn,
                         lambda: _SoftStop(hyper, instance, timeout, retry=True))
        if not gone:
            logger.error("Shutdown of '%s' unsuccessful, forcing", iname)
            _ForceStop(hyper, instance, _time_fn, _sleep_fn)
    except errors.HypervisorError as err:  # from ListInstances while polling
        raise RPCFail(f"Failed to stop instance {iname}: {err}") from err
    try:
        hyper.CleanupInstance(iname)
    except errors.HypervisorError as err:
        logger.warning("Failed to execute post-shutdown cleanup step: %s", err)
    _RemoveBlockDevLinks(instance)
    logger.info("Stopped instance %s", iname)


def _ForceStop(hyper: hv_base.BaseHypervisor, instance: objects.Instance,
               time_fn: ClockFn, sleep_fn: SleepFn) -> None:
    iname = instance.name
    try:
        hyper.StopInstance(instance, force=True)
    except errors.HypervisorError as err:
        # Only an error if it still exists: otherwise it could simply be
        # "not running" (it stopped meanwhile).
        if iname in hyper.ListInstances(hvparams=instance.hvparams):
            raise RPCFail(f"Failed to force stop instance {iname}: {err}") from err
    if not _WaitGone(hyper, instance, time_fn() + _FORCE_STOP_GRACE, time_fn,
                     sleep_fn):
        raise RPCFail(f"Could not shutdown instance {iname} even by destroy")


def InstanceReboot(instance: objects.Instance, reboot_type: str,
                   shutdown_timeout: float, reason: list[Any]) -> None:
    """Reboot a running instance: "soft" (guest OS) or "hard" (stop + start).

    A "full" reboot is a shutdown and a startup driven by the master (as in
    Ganeti), so it is refused here.

    Raises:
      RPCFail: not running, bad reboot type, or the reboot failed.
    """
    if reboot_type not in (hv_base.INSTANCE_REBOOT_SOFT,
                           hv_base.INSTANCE_REBOOT_HARD):
        raise RPCFail(f"Invalid reboot_type received: {reboot_type!r} (the node"
                      " reboots 'soft' or 'hard'; a 'full' reboot is a shutdown"
                      " and a startup done by the master)")
    if not _IsRunning(instance):
        raise RPCFail(f"Cannot reboot instance {instance.name} that is not running")
    hyper = _GetHv(instance.hypervisor)
    if reboot_type == hv_base.INSTANCE_REBOOT_SOFT:
        try:
            hyper.RebootInstance(instance)
        except errors.HypervisorError as err:
            raise RPCFail(f"Failed to soft reboot instance {instance.name}:"
                          f" {err}") from err
        return
    InstanceShutdown(instance, shutdown_timeout, reason, store_reason=False)
    StartInstance(instance, False, reason, store_reason=False)
    _StoreInstReasonTrail(instance.name, reason)


def InstanceBalloonMemory(instance: objects.Instance, memory: int) -> None:
    """Set the runtime memory of a running instance (nothing if stopped)."""
    if not _IsRunning(instance):
        logger.info("Instance %s is not running, cannot balloon", instance.name)
        return
    try:
        _GetHv(instance.hypervisor).BalloonInstanceMemory(instance, memory)
    except errors.HypervisorError as err:
        raise RPCFail(f"Failed to balloon instance memory: {err}") from err


# --- console -------------------------------------------------------------------


def _ConsoleRequest(inst_name: str, value: Any) -> list[Any]:
    """[instance, node, group, hvparams, beparams] of one console request.

    Accepts Ganeti's dict form (keys instance, node, group, hvParams,
    beParams) and the list form of spec/rpc.md.
    """
    what = f"console request of instance {inst_name}"
    if isinstance(value, dict):
        missing = [key for key in _CONSOLE_KEYS if key not in value]
        if missing:
            raise RPCFail(f"Invalid {what}: missing {', '.join(missing)}")
        value = [value[key] for key in _CONSOLE_KEYS]
    parts = args.CheckList(value, what, length=5)
    for idx, label in enumerate(("instance", "node", "group", "hvparams",
                                 "beparams")):
        args.CheckDict(parts[idx] or {}, f"{label} in {what}")
    return parts


def GetInstanceConsoleInfo(instance_param_dict: dict[str, Any]) -> dict[str, Any]:
    """name -> console dict (instance, kind, message/host/port/...).

    Raises:
      RPCFail: a malformed request or a hypervisor error.
    """
    output = {}
    for inst_name, value in instance_param_dict.items():
        idict, ndict, gdict, hvparams, beparams = _ConsoleRequest(inst_name, value)
        instance = _GetInstance(idict, f"instance of console request {inst_name}")
        try:
            node = objects.Node.FromDict(ndict or {})
            group = objects.NodeGroup.FromDict(gdict or {})
            console = _GetHv(instance.hypervisor).GetInstanceConsole(
                instance, node, group, hvparams or {}, beparams or {})
            if isinstance(console, dict):
                console = hv_base.InstanceConsole.FromDict(console)
            console.Validate()
        except errors.GenericError as err:
            raise RPCFail(f"Can't get the console of instance {inst_name}:"
                          f" {err}") from err
        output[inst_name] = console.ToDict()
    return output


# --- migration -----------------------------------------------------------------


def GetInstanceMigratable(instance: objects.Instance) -> None:
    """Check the instance runs here; warn about missing disk symlinks.

    Raises:
      RPCFail: the instance is not running.
    """
    if not _IsRunning(instance):
        raise RPCFail(f"Instance {instance.name} is not running")
    for idx in range(len(GetDisksInfo(instance))):
        link_name = GetBlockDevSymlinkPath(instance.name, idx)
        if not os.path.islink(link_name):
            logger.warning("Instance %s is missing symlink %s for disk %d",
                           instance.name, link_name, idx)


def MigrationInfo(instance: objects.Instance) -> Any:
    """The source's opaque migration data for the target."""
    try:
        return _GetHv(instance.hypervisor).MigrationInfo(instance)
    except errors.HypervisorError as err:
        raise RPCFail(f"Failed to fetch migration information: {err}") from err


def AcceptInstance(instance: objects.Instance, info: Any, target: str) -> None:
    """Prepare this node (the target) to receive the instance.

    Disks reachable from every node (DTS_EXT_MIRROR) are linked here first.
    """
    ext_mirror = _IsExtMirror(instance)
    if ext_mirror:
        try:
            _GatherAndLinkBlockDevs(instance)
        except (errors.BlockDeviceError, errors.FileStoragePathError) as err:
            _RemoveBlockDevLinks(instance)
            raise RPCFail(f"Block device error: {err}") from err
    try:
        _GetHv(instance.hypervisor).AcceptInstance(instance, info, target)
    except errors.HypervisorError as err:
        if ext_mirror:
            _RemoveBlockDevLinks(instance)
        raise RPCFail(f"Failed to accept instance: {err}") from err


def FinalizeMigrationDst(instance: objects.Instance, info: Any,
                         success: bool) -> None:
    """Keep the migrated instance here, or undo AcceptInstance on failure."""
    try:
        _GetHv(instance.hypervisor).FinalizeMigrationDst(instance, info, success)
    except errors.HypervisorError as err:
        raise RPCFail("Failed to finalize migration on the target node:"
                      f" {err}") from err
    if not success and _IsExtMirror(instance):
        _RemoveBlockDevLinks(instance)


def MigrateInstance(cluster_name: str, instance: objects.Instance, target: str,
                    live: bool) -> None:
    """Send the instance to target (the target node's address)."""
    try:
        _GetHv(instance.hypervisor).MigrateInstance(cluster_name, instance, target,
                                                    live)
    except errors.HypervisorError as err:
        raise RPCFail(f"Failed to migrate instance: {err}") from err


def FinalizeMigrationSource(instance: objects.Instance, success: bool,
                            live: bool) -> None:
    """Clean up on the source; after a success its disk links go too."""
    try:
        _GetHv(instance.hypervisor).FinalizeMigrationSource(instance, success, live)
    except errors.HypervisorError as err:
        raise RPCFail("Failed to finalize the migration on the source node:"
                      f" {err}") from err
    if success:
        _RemoveBlockDevLinks(instance)


def GetMigrationStatus(instance: objects.Instance) -> dict[str, Any]:
    """The MigrationStatus dict (status, transferred_ram, total_ram)."""
    try:
        status = _GetHv(instance.hypervisor).GetMigrationStatus(instance)
    except errors.HypervisorError as err:
        raise RPCFail(f"Failed to get migration status: {err}") from err
    return status if isinstance(status, dict) else status.ToDict()


# --- hypervisor and network checks -----------------------------------------------


def ValidateHVParams(hvname: str, hvparams: dict[str, Any]) -> None:
    """Run the hypervisor's node-side parameter checks.

    Raises:
      RPCFail: the hypervisor is unavailable or a parameter is invalid.
    """
    try:
        hypervisor.GetHypervisorClass(hvname).ValidateParameters(hvparams)
    except errors.HypervisorError as err:
        raise RPCFail(str(err)) from err


def HotplugSupported(instance: objects.Instance) -> None:
    """Raise RPCFail unless the hypervisor can hot-plug devices of instance."""
    try:
        _GetHv(instance.hypervisor).HotplugSupported(instance)
    except errors.HotplugError as err:
        raise RPCFail(f"Hotplug is not supported: {err}") from err


def BridgeExists(bridge: str) -> bool:
    """Whether bridge is a network bridge on this node (Ganeti's utils)."""
    return os.path.isdir(f"/sys/class/net/{bridge}/bridge")


def BridgesExist(bridges_list: list[str]) -> None:
    """Raise RPCFail naming the bridges that do not exist on this node."""
    missing = [bridge for bridge in bridges_list if not BridgeExists(bridge)]
    if missing:
        raise RPCFail(f"Missing bridges {', '.join(missing)}")


# --- RPC procedures ----------------------------------------------------------------


@args.RpcProcedure("instance_start")
def _RpcInstanceStart(instance_hvp_bep: Any, startup_paused: Any, reason: Any) -> None:
    StartInstance(_GetInstance(instance_hvp_bep, "argument 'instance_hvp_bep'"),
                  args.CheckBool(startup_paused, "argument 'startup_paused'"),
                  _CheckReason(reason))


@args.RpcProcedure("instance_shutdown")
def _RpcInstanceShutdown(instance: Any, timeout: Any, reason: Any) -> None:
    InstanceShutdown(_GetInstance(instance),
                     args.CheckNumber(timeout, "argument 'timeout'", minimum=0),
                     _CheckReason(reason))


@args.RpcProcedure("instance_reboot")
def _RpcInstanceReboot(inst: Any, reboot_type: Any, shutdown_timeout: Any,
                       reason: Any) -> None:
    InstanceReboot(_GetInstance(inst, "argument 'inst'"),
                   args.CheckStr(reboot_type, "argument 'reboot_type'"),
                   args.CheckNumber(shutdown_timeout, "argument 'shutdown_timeout'",
                                    minimum=0),
                   _CheckReason(reason))


@args.RpcProcedure("instance_info")
def _RpcInstanceInfo(instance: Any, hname: Any, hvparams: Any) -> dict[str, Any]:
    name = args.CheckStr(instance, "argument 'instance'", non_empty=True)
    hname = args.CheckStr(hname, "argument 'hname'", non_empty=True)
    if hvparams is not None:
        args.CheckDict(hvparams, "argument 'hvparams'")
    try:
        hv_base.CheckInstanceName(name)
    except errors.HypervisorError as err:
        raise RPCFail(str(err)) from err
    return GetInstanceInfo(name, hname, hvparams)


@args.RpcProcedure("all_instances_info")
def _RpcAllInstancesInfo(hypervisor_list: Any, all_hvparams: Any) -> dict[str, Any]:
    return GetAllInstancesInfo(_CheckHvList(hypervisor_list), all_hvparams)


@args.RpcProcedure("instance_list")
def _RpcInstanceList(hypervisor_list: Any, hvparams: Any) -> list[str]:
    return GetInstanceList(_CheckHvList(hypervisor_list), hvparams)


@args.RpcProcedure("instance_console_info")
def _RpcInstanceConsoleInfo(instance_info: Any) -> dict[str, Any]:
    return GetInstanceConsoleInfo(args.CheckDict(instance_info,
                                                 "argument 'instance_info'"))


@args.RpcProcedure("instance_balloon_memory")
def _RpcInstanceBalloonMemory(instance: Any, memory: Any) -> None:
    InstanceBalloonMemory(_GetInstance(instance),
                          args.CheckInt(memory, "argument 'memory'", minimum=1))


@args.RpcProcedure("instance_migratable")
def _RpcInstanceMigratable(instance: Any) -> None:
    GetInstanceMigratable(_GetInstance(instance))


@args.RpcProcedure("migration_info")
def _RpcMigrationInfo(instance: Any) -> Any:
    return MigrationInfo(_GetInstance(instance))


@args.RpcProcedure("accept_instance")
def _RpcAcceptInstance(instance: Any, info: Any, target: Any) -> None:
    AcceptInstance(_GetInstance(instance), info,
                   args.CheckStr(target, "argument 'target'", non_empty=True))


@args.RpcProcedure("instance_migrate")
def _RpcInstanceMigrate(cluster_name: Any, instance: Any, target: Any,
                        live: Any) -> None:
    MigrateInstance(args.CheckStr(cluster_name, "argument 'cluster_name'"),
                    _GetInstance(instance),
                    args.CheckStr(target, "argument 'target'", non_empty=True),
                    args.CheckBool(live, "argument 'live'"))


@args.RpcProcedure("instance_finalize_migration_dst")
def _RpcFinalizeMigrationDst(instance: Any, info: Any, success: Any) -> None:
    FinalizeMigrationDst(_GetInstance(instance), info,
                         args.CheckBool(success, "argument 'success'"))


@args.RpcProcedure("instance_finalize_migration_src")
def _RpcFinalizeMigrationSrc(instance: Any, success: Any, live: Any) -> None:
    FinalizeMigrationSource(_GetInstance(instance),
                            args.CheckBool(success, "argument 'success'"),
                            args.CheckBool(live, "argument 'live'"))


@args.RpcProcedure("instance_get_migration_status")
def _RpcGetMigrationStatus(instance: Any) -> dict[str, Any]:
    return GetMigrationStatus(_GetInstance(instance))


@args.RpcProcedure("hypervisor_validate_params")
def _RpcHypervisorValidateParams(hvname: Any, hvfull: Any) -> None:
    ValidateHVParams(args.CheckStr(hvname, "argument 'hvname'", non_empty=True),
                     args.CheckDict(hvfull, "argument 'hvfull'"))


@args.RpcProcedure("hotplug_supported")
def _RpcHotplugSupported(instance: Any) -> None:
    HotplugSupported(_GetInstance(instance))


@args.RpcProcedure("bridges_exist")
def _RpcBridgesExist(bridges_list: Any) -> None:
    bridges = args.CheckList(bridges_list, "argument 'bridges_list'")
    for bridge in bridges:
        name = args.CheckStr(bridge, "bridge name", non_empty=True)
        if _BRIDGE_NAME_RE.match(name) is None or name in (".", ".."):
            raise RPCFail(f"Invalid bridge name {name!r}")
    BridgesExist(bridges)
