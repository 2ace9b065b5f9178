"""Instance LUs: remove, start, stop, reboot, reinstall, rename, console, info.

Mirrors LUInstanceRemove and LUInstanceRename (Ganeti's instance.py), the
LUs of instance_operation.py and LUInstanceQueryData (instance_query.py).

Notes:

* Startup's -H/-B overrides go to the node with this start only; the
  configuration keeps the instance's own parameters (Ganeti).
* Rename holds the Big Ganeti Lock exclusively, as Ganeti 2.x did: the
  instance lock is renamed in Exec (removed, then added under the new
  name), which the lock manager allows only while nothing at a higher
  level is held. Ganeti 3.0 instead adds the new name's lock in
  ExpandNames; this tree's lock manager cannot add and acquire locks at
  one level in one LU.
* Remove deactivates the disks before removing them, so no disk symlink
  is left behind even for an instance whose disks were activated while it
  was stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, netutils, objects, query
from ganeti.cmdlib.base import LOCKS_REPLACE, LogicalUnit, NoHooksLU
from ganeti.cmdlib.common import (
    CheckNodeOnline,
    ExpandInstanceUuidAndName,
    GetWantedInstances,
    ShareAll,
)
from ganeti.cmdlib.instance_utils import (
    DTS_FILEBASED,
    INSTANCE_DOWN,
    INSTANCE_NOT_RUNNING,
    INSTANCE_ONLINE,
    INSTST_ADMINDOWN,
    INSTST_ADMINOFFLINE,
    INSTST_ERRORDOWN,
    BuildInstanceHookEnvByObject,
    CheckDiskTemplateEnabled,
    CheckHostnameSane,
    CheckHVParams,
    CheckHvParamsSyntax,
    CheckInstanceBridgesExist,
    CheckInstanceExistence,
    CheckInstanceState,
    CheckIpFree,
    CheckNodeFreeMemory,
    CheckNodeHasOS,
    CheckOSParams,
    GetInstanceInfoText,
    InstanceHookNodes,
    NICListToTuple,
    RemoveInstance,
    ShutdownInstanceDisks,
    StartInstanceDisks,
)
from ganeti.cmdlib.node import GetUpdatedParams
from ganeti.cmdlib.query import _QueryBase
from ganeti.hypervisor import hv_base
from ganeti.query.instance import GetInstanceConsoleParams

logger = logging.getLogger(__name__)


def _Reason(lu: Any) -> list[Any]:
    return list(getattr(lu.op, "reason", None) or [])


def _GetLockedInstance(lu: Any) -> objects.Instance:
    instance = lu.cfg.GetInstanceInfo(lu.op.instance_uuid)
    if instance is None:
        raise errors.OpPrereqError(f"Instance '{lu.op.instance_name}' not known",
                                   errors.ECODE_NOENT)
    return instance


def _ClusterHvParams(lu: Any, instance: objects.Instance) -> dict[str, Any]:
    return lu.cfg.GetClusterInfo().hvparams.get(instance.hypervisor, {})


def _InstanceInfo(lu: Any, instance: objects.Instance, prereq: bool) -> Any:
    """The instance_info payload of the primary node ({} when not running)."""
    result = lu.rpc.call_instance_info(instance.primary_node, instance.name,
                                       instance.hypervisor,
                                       _ClusterHvParams(lu, instance))
    result.Raise(f"Error checking node {lu.cfg.GetNodeName(instance.primary_node)}",
                 prereq=prereq, ecode=errors.ECODE_ENVIRON if prereq else None)
    return result.payload


class _InstanceLU(LogicalUnit):
    """Common parts: lock one instance, hooks on master and its nodes."""

    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        """Raises OpPrereqError for an unknown instance."""
        self._ExpandAndLockInstance()

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return InstanceHookNodes(self, self.instance)


class LUInstanceRemove(_InstanceLU):
    """Remove an instance: stop it, remove its disks and its configuration."""

    HPATH = "instance-remove"

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE] = []
        self.needed_locks[locking.LEVEL_NODE_RES] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE:
            self._LockInstancesNodes()
        elif level == locking.LEVEL_NODE_RES:
            self.needed_locks[locking.LEVEL_NODE_RES] = \
                list(self.needed_locks[locking.LEVEL_NODE])

    def BuildHooksEnv(self) -> dict[str, Any]:
        # Computed before Exec: the post phase runs without the instance.
        env = BuildInstanceHookEnvByObject(self, self.instance,
                                           secondary_nodes=self.secondary_nodes,
                                           disks=self.inst_disks)
        env["SHUTDOWN_TIMEOUT"] = self.op.shutdown_timeout
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        master = [self.cfg.GetMasterNode()]
        return master, self.inst_nodes + master

    def CheckPrereq(self) -> None:
        self.instance = _GetLockedInstance(self)
        self.secondary_nodes = self.cfg.GetInstanceSecondaryNodes(self.instance.uuid)
        self.inst_disks = self.cfg.GetInstanceDisks(self.instance.uuid)
        self.inst_nodes = self.cfg.GetInstanceNodes(self.instance.uuid)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if stopping or removing failed (not ignored)."""
        instance = self.instance
        pnode_name = self.cfg.GetNodeName(instance.primary_node)
        logger.info("Shutting down instance %s on node %s", instance.name, pnode_name)
        result = self.rpc.call_instance_shutdown(instance.primary_node, instance,
                                                 self.op.shutdown_timeout,
                                                 _Reason(self))
        if self.op.ignore_failures:
            result.Warn("Warning: can't shutdown instance", feedback_fn)
        else:
            result.Raise(f"Could not shutdown instance {instance.name} on node"
                         f" {pnode_name}")
        if self.inst_disks:
            ShutdownInstanceDisks(self, instance, ignore_primary=True)
        RemoveInstance(self, feedback_fn, instance, self.op.ignore_failures)
        self.remove_locks[locking.LEVEL_INSTANCE] = instance.name


class LUInstanceStartup(_InstanceLU):
    """Start an instance (OP_INSTANCE_STARTUP)."""

    HPATH = "instance-start"

    def CheckArguments(self) -> None:
        """Raises OpPrereqError for invalid backend parameters."""
        if self.op.beparams:
            objects.UpgradeBeParams(self.op.beparams)
            try:
                defaults.ForceDictType(self.op.beparams, defaults.BES_PARAMETER_TYPES)
            except errors.TypeEnforcementError as err:
                raise errors.OpPrereqError(f"Invalid backend parameters: {err}",
                                           errors.ECODE_INVAL) from err

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE_RES] = []
        self.recalculate_locks[locking.LEVEL_NODE_RES] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE_RES:
            self._LockInstancesNodes(primary_only=True, level=locking.LEVEL_NODE_RES)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env: dict[str, Any] = {"FORCE": self.op.force}
        env.update(BuildInstanceHookEnvByObject(self, self.instance))
        return env

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError: bad state, node offline, too little memory,
        instance shut down by its user, bad temporary parameters."""
        self.instance = instance = _GetLockedInstance(self)
        cluster = self.cfg.GetClusterInfo()
        if self.op.hvparams:
            filled = CheckHvParamsSyntax(instance.hypervisor, self.op.hvparams,
                                         cluster.FillHV(instance))
            CheckHVParams(self, self.cfg.GetInstanceNodes(instance.uuid),
                          instance.hypervisor, filled)
        CheckInstanceState(self, instance, INSTANCE_ONLINE)
        self.primary_offline = self.cfg.GetNodeInfo(instance.primary_node).offline
        if self.primary_offline and self.op.ignore_offline_nodes:
            self.LogWarning("Ignoring offline primary node")
            if self.op.hvparams or self.op.beparams:
                self.LogWarning("Overridden parameters are ignored")
            return
        CheckNodeOnline(self, instance.primary_node)
        bep = cluster.FillBE(instance)
        bep.update(self.op.beparams)
        CheckInstanceBridgesExist(self, instance)
        remote_info = _InstanceInfo(self, instance, prereq=True)
        if remote_info:
            if hv_base.HvInstanceState.IsShutdown(remote_info.get("state")):
                raise errors.OpPrereqError(
                    f"Instance '{instance.name}' was shutdown by the user, please"
                    " shutdown the instance before starting it again",
                    errors.ECODE_INVAL)
        else:
            CheckNodeFreeMemory(self, instance.primary_node,
                                f"starting instance {instance.name}",
                                bep[defaults.BE_MINMEM], instance.hypervisor,
                                _ClusterHvParams(self, instance))

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if the instance did not start (disks shut down)."""
        instance = self.instance
        if not self.op.no_remember:
            self.cfg.MarkInstanceUp(instance.uuid)
        if self.primary_offline:
            self.LogInfo("Primary node offline, marked instance as started")
            return
        StartInstanceDisks(self, instance, self.op.force)
        instance = self.cfg.GetInstanceInfo(instance.uuid)
        result = self.rpc.call_instance_start(
            instance.primary_node, (instance, self.op.hvparams, self.op.beparams),
            self.op.startup_paused, _Reason(self))
        if result.fail_msg:
            ShutdownInstanceDisks(self, instance)
            raise errors.OpExecError(f"Could not start instance: {result.fail_msg}")


class LUInstanceShutdown(_InstanceLU):
    """Stop an instance (OP_INSTANCE_SHUTDOWN)."""

    HPATH = "instance-stop"

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = BuildInstanceHookEnvByObject(self, self.instance)
        env["TIMEOUT"] = self.op.timeout
        return env

    def CheckPrereq(self) -> None:
        self.instance = instance = _GetLockedInstance(self)
        if not self.op.force:
            CheckInstanceState(self, instance, INSTANCE_ONLINE)
        else:
            self.LogWarning("Ignoring offline instance check")
        self.primary_offline = self.cfg.GetNodeInfo(instance.primary_node).offline
        if self.primary_offline and self.op.ignore_offline_nodes:
            self.LogWarning("Ignoring offline primary node")
        else:
            CheckNodeOnline(self, instance.primary_node)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        instance = self.instance
        # An offline instance stays offline: marking it down would lose that.
        if not self.op.no_remember and instance.admin_state in INSTANCE_ONLINE:
            self._MarkDown(instance)
        if self.primary_offline:
            self.LogInfo("Primary node offline, marked instance as stopped")
            return
        result = self.rpc.call_instance_shutdown(instance.primary_node, instance,
                                                 self.op.timeout, _Reason(self))
        if result.fail_msg:
            self.LogWarning("Could not shutdown instance: %s", result.fail_msg)
        ShutdownInstanceDisks(self, instance)

    def _MarkDown(self, instance: objects.Instance) -> None:
        if self.op.admin_state_source == constants.USER_SOURCE:
            # Ganeti's MarkInstanceUserDown: down, by the instance's user.
            instance.admin_state = constants.ADMINST_DOWN
            instance.admin_state_source = constants.USER_SOURCE
            self.cfg.Update(instance)
        else:
            self.cfg.MarkInstanceDown(instance.uuid)


class LUInstanceReboot(_InstanceLU):
    """Reboot an instance: soft/hard by the node, full by stop and start."""

    HPATH = "instance-reboot"

    def BuildHooksEnv(self) -> dict[str, Any]:
        env: dict[str, Any] = {"IGNORE_SECONDARIES": self.op.ignore_secondaries,
                               "REBOOT_TYPE": self.op.reboot_type,
                               "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}
        env.update(BuildInstanceHookEnvByObject(self, self.instance))
        return env

    def CheckPrereq(self) -> None:
        self.instance = instance = _GetLockedInstance(self)
        CheckInstanceState(self, instance, INSTANCE_ONLINE)
        CheckNodeOnline(self, instance.primary_node)
        CheckInstanceBridgesExist(self, instance)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if the node could not reboot/stop/start it."""
        instance = self.instance
        node = instance.primary_node
        running = bool(_InstanceInfo(self, instance, prereq=False))
        if running and self.op.reboot_type in ("soft", "hard"):
            result = self.rpc.call_instance_reboot(node, instance, self.op.reboot_type,
                                                   self.op.shutdown_timeout,
                                                   _Reason(self))
            result.Raise("Could not reboot instance")
        else:
            if running:
                result = self.rpc.call_instance_shutdown(
                    node, instance, self.op.shutdown_timeout, _Reason(self))
                result.Raise("Could not shutdown instance for full reboot")
                ShutdownInstanceDisks(self, instance)
            else:
                self.LogInfo("Instance %s was already stopped, starting now",
                             instance.name)
            StartInstanceDisks(self, instance, self.op.ignore_secondaries)
            instance = self.cfg.GetInstanceInfo(instance.uuid)
            result = self.rpc.call_instance_start(node, (instance, None, None), False,
                                                  _Reason(self))
            if result.fail_msg:
                ShutdownInstanceDisks(self, instance)
                raise errors.OpExecError("Could not start instance for full reboot:"
                                         f" {result.fail_msg}")
        self.cfg.MarkInstanceUp(instance.uuid)


class LUInstanceReinstall(_InstanceLU):
    """Run an instance's OS create script again (INSTANCE_REINSTALL=1).

    osparams/osparams_private given are used for this run only; os_type,
    if given, becomes the instance's OS.
    """

    HPATH = "instance-reinstall"

    def BuildHooksEnv(self) -> dict[str, Any]:
        return BuildInstanceHookEnvByObject(self, self.instance)

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError: diskless, running, node offline, bad OS."""
        instance = _GetLockedInstance(self)
        CheckNodeOnline(self, instance.primary_node,
                        "Instance primary node offline, cannot reinstall")
        if not self.cfg.GetInstanceDisks(instance.uuid):
            raise errors.OpPrereqError(f"Instance '{instance.name}' has no disks",
                                       errors.ECODE_INVAL)
        CheckInstanceState(self, instance, INSTANCE_DOWN, msg="cannot reinstall")
        self.instance = instance
        os_name = self.op.os_type or instance.os
        params = GetUpdatedParams(instance.osparams, self.op.osparams or {})
        private = GetUpdatedParams(instance.osparams_private,
                                   self.op.osparams_private or {})
        self.osparams = objects.FillDict(
            self.cfg.GetClusterInfo().SimpleFillOS(os_name, params, private),
            self.op.osparams_secret or {})
        CheckNodeHasOS(self, instance.primary_node, os_name, self.op.force_variant)
        CheckOSParams(self, True, self.cfg.GetInstanceNodes(instance.uuid), os_name,
                      self.osparams, self.op.force_variant)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if the OS create script failed."""
        instance = self.instance
        if self.op.os_type is not None:
            feedback_fn(f"Changing OS scripts to '{self.op.os_type}'...")
            instance.os = self.op.os_type
            self.cfg.Update(instance, feedback_fn)
        StartInstanceDisks(self, instance, None)
        instance = self.cfg.GetInstanceInfo(instance.uuid)
        try:
            self.LogInfo("Running instance OS create scripts...")
            result = self.rpc.call_instance_os_add(instance.primary_node,
                                                   (instance, self.osparams), True,
                                                   self.op.debug_level)
            result.Raise(f"Could not install OS for instance '{instance.name}' on"
                         f" node '{self.cfg.GetNodeName(instance.primary_node)}'")
        finally:
            ShutdownInstanceDisks(self, instance)


def RenameInstanceConfig(cfg: Any, inst_uuid: str, new_name: str) -> None:
    """Rename an instance in the configuration, its file disks' paths too.

    Ganeti's ConfigWriter.RenameInstance, which this tree's ConfigWriter
    does not have: a file disk <dir>/<old name>/<file> moves to
    <dir>/<new name>/<file>.
    """
    instance = cfg.GetInstanceInfo(inst_uuid)
    for disk in cfg.GetInstanceDisks(inst_uuid):
        if disk.dev_type in DTS_FILEBASED and disk.logical_id:
            driver, path = disk.logical_id[0], disk.logical_id[1]
            storage_dir = os.path.dirname(os.path.dirname(path))
            disk.logical_id = [driver, os.path.join(storage_dir, new_name,
                                                    os.path.basename(path))]
            cfg.Update(disk)
    instance.name = new_name
    cfg.Update(instance)


class LUInstanceRename(_InstanceLU):
    """Rename an instance (OP_INSTANCE_RENAME); returns the new name."""

    HPATH = "instance-rename"
    REQ_BGL = True

    def CheckArguments(self) -> None:
        if self.op.ip_check and not self.op.name_check:
            raise errors.OpPrereqError("IP address check requires a name check",
                                       errors.ECODE_INVAL)
        self.op.new_name = netutils.Hostname.GetNormalizedName(self.op.new_name)
        self._new_name_resolved = False

    def _ResolveNewName(self) -> None:
        """Check (and resolve) the new name once, if asked to."""
        if self._new_name_resolved or not self.op.name_check:
            return
        hostname = CheckHostnameSane(self, self.op.new_name)
        self.op.new_name = hostname.name
        if self.op.ip_check:
            CheckIpFree(hostname.ip, self.op.new_name)
        self._new_name_resolved = True

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self._ResolveNewName()
        if self.op.new_name != self.op.instance_name:
            CheckInstanceExistence(self, self.op.new_name)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = BuildInstanceHookEnvByObject(self, self.instance)
        env["INSTANCE_NEW_NAME"] = self.op.new_name
        return env

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError: running, node offline, name taken."""
        self.op.instance_uuid, self.op.instance_name = ExpandInstanceUuidAndName(
            self.cfg, self.op.instance_uuid, self.op.instance_name)
        instance = _GetLockedInstance(self)
        if self.op.new_name != instance.name:
            for disk in self.cfg.GetInstanceDisks(instance.uuid):
                if disk.dev_type in DTS_FILEBASED:
                    CheckDiskTemplateEnabled(self.cfg.GetClusterInfo(), disk.dev_type)
        CheckNodeOnline(self, instance.primary_node)
        CheckInstanceState(self, instance, INSTANCE_NOT_RUNNING, msg="cannot rename")
        self.instance = instance
        self._ResolveNewName()
        if self.op.new_name != instance.name:
            CheckInstanceExistence(self, self.op.new_name)

    def Exec(self, feedback_fn: Callable[..., None]) -> str:
        """Raises OpExecError if the storage directory could not be renamed
        (the instance is renamed in the configuration then)."""
        instance = self.instance
        old_name = instance.name
        new_name = self.op.new_name
        disks = self.cfg.GetInstanceDisks(instance.uuid)
        file_disks = [d for d in disks if d.dev_type in DTS_FILEBASED and
                      d.dev_type != constants.DT_GLUSTER]
        old_dir = os.path.dirname(file_disks[0].logical_id[1]) if file_disks else None
        RenameInstanceConfig(self.cfg, instance.uuid, new_name)
        if old_name != new_name and self.glm is not None:
            # Holding the BGL exclusively, no other job can see the gap.
            self.glm.remove(locking.LEVEL_INSTANCE, old_name)
            self.glm.add(locking.LEVEL_INSTANCE, new_name)
        renamed = self.cfg.GetInstanceInfo(instance.uuid)
        if old_dir is not None and old_name != new_name:
            new_dir = os.path.dirname(
                self.cfg.GetInstanceDisks(renamed.uuid)[0].logical_id[1])
            result = self.rpc.call_file_storage_dir_rename(renamed.primary_node,
                                                           old_dir, new_dir)
            result.Raise(f"Could not rename on node"
                         f" {self.cfg.GetNodeName(renamed.primary_node)} directory"
                         f" '{old_dir}' to '{new_dir}' (but the instance has been"
                         " renamed in Ganeti)")
        StartInstanceDisks(self, renamed, None)
        renamed = self.cfg.GetInstanceInfo(renamed.uuid)
        node_name = self.cfg.GetNodeName(renamed.primary_node)
        info = GetInstanceInfoText(renamed)
        for idx, disk in enumerate(self.cfg.GetInstanceDisks(renamed.uuid)):
            result = self.rpc.call_blockdev_setinfo(renamed.primary_node,
                                                    (disk, renamed), info)
            result.Warn(f"Error setting info on node {node_name} for disk {idx}",
                        self.LogWarning)
        try:
            result = self.rpc.call_instance_run_rename(renamed.primary_node, renamed,
                                                       old_name, self.op.debug_level)
            result.Warn(f"Could not run OS rename script for instance {new_name} on"
                        f" node {node_name} (but the instance has been renamed in"
                        " Ganeti)", self.LogWarning)
        finally:
            ShutdownInstanceDisks(self, renamed)
        return new_name


class LUInstanceConsole(NoHooksLU):
    """How to reach an instance's console (OP_INSTANCE_CONSOLE)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.share_locks = ShareAll()
        self._ExpandAndLockInstance()

    def CheckPrereq(self) -> None:
        self.instance = _GetLockedInstance(self)
        CheckNodeOnline(self, self.instance.primary_node)

    def Exec(self, feedback_fn: Callable[..., None]) -> dict[str, Any]:
        """Return the console dict (instance, kind, message/host/port/...).

        Raises:
          errors.OpExecError: the instance does not run, or the node
            could not say.
        """
        instance = self.instance
        node_uuid = instance.primary_node
        node_name = self.cfg.GetNodeName(node_uuid)
        cluster = self.cfg.GetClusterInfo()
        running = self.rpc.call_instance_list([node_uuid], [instance.hypervisor],
                                              cluster.hvparams)[node_uuid]
        running.Raise(f"Can't get node information from {node_name}")
        if instance.name not in (running.payload or []):
            state = {constants.ADMINST_UP: INSTST_ERRORDOWN,
                     constants.ADMINST_DOWN: INSTST_ADMINDOWN}.get(
                         instance.admin_state, INSTST_ADMINOFFLINE)
            raise errors.OpExecError(f"Instance {instance.name} is not running"
                                     f" (state {state})")
        logger.debug("Connecting to console of %s on %s", instance.name, node_name)
        result = self.rpc.call_instance_console_info(
            [node_uuid], {instance.name: GetInstanceConsoleParams(self.cfg, instance)}
        )[node_uuid]
        result.Raise(f"Can't get the console of instance {instance.name}")
        console = (result.payload or {}).get(instance.name)
        if not isinstance(console, dict) or console.get("instance") != instance.name:
            raise errors.OpExecError(f"Node {node_name} gave no console information"
                                     f" for instance {instance.name}")
        return console


class LUInstanceQueryData(NoHooksLU):
    """Detailed instance data (OP_INSTANCE_QUERY_DATA, gnt-instance info)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        """Raises OpPrereqError for an unknown instance."""
        self.needed_locks = {}
        if not (self.op.static or self.op.use_locking):
            self.LogWarning("Non-static data requested, locks need to be acquired")
            self.op.use_locking = True
        self.wanted_names: list[str] | None = None
        if self.op.instances or not self.op.use_locking:
            self.wanted_names = GetWantedInstances(self, self.op.instances)[1]
        if self.op.use_locking:
            self.share_locks = ShareAll()
            self.needed_locks[locking.LEVEL_INSTANCE] = (
                locking.ALL_SET if self.wanted_names is None else self.wanted_names)
            self.needed_locks[locking.LEVEL_NODEGROUP] = []
            self.needed_locks[locking.LEVEL_NODE] = []
            self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        if not self.op.use_locking:
            return
        if level == locking.LEVEL_NODEGROUP:
            groups = set()
            for name in self.owned_locks(locking.LEVEL_INSTANCE):
                inst = self.cfg.GetInstanceInfoByName(name)
                if inst is None:
                    continue
                for node_uuid in self.cfg.GetInstanceNodes(inst.uuid):
                    groups.add(self.cfg.GetNodeInfo(node_uuid).group)
            self.needed_locks[locking.LEVEL_NODEGROUP] = sorted(groups)
        elif level == locking.LEVEL_NODE:
            self._LockInstancesNodes()

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError if a wanted instance went away."""
        names = self.wanted_names
        if names is None:
            names = sorted(self.owned_locks(locking.LEVEL_INSTANCE))
        self.wanted_instances = []
        for name in names:
            inst = self.cfg.GetInstanceInfoByName(name)
            if inst is None:
                raise errors.OpPrereqError(f"Instance '{name}' not known",
                                           errors.ECODE_NOENT)
            self.wanted_instances.append(inst)

    def _BlockdevStatus(self, node_uuid: str | None, instance: objects.Instance,
                        disk: objects.Disk) -> Any:
        """(dev_path, major, minor, sync%, eta, degraded, ldisk) or None."""
        if self.op.static or not node_uuid:
            return None
        result = self.rpc.call_blockdev_find(node_uuid, (disk, instance))
        if result.offline:
            return None
        result.Raise(f"Can't compute disk status for {instance.name}")
        status = result.payload
        if status is None:
            return None
        get = status.get if isinstance(status, dict) else \
            (lambda key: getattr(status, key, None))
        return [get("dev_path"), get("major"), get("minor"), get("sync_percent"),
                get("estimated_time"), get("is_degraded"), get("ldisk_status")]

    def _DiskStatus(self, instance: objects.Instance,
                    disk: objects.Disk) -> dict[str, Any]:
        return {
            "iv_name": disk.iv_name, "dev_type": disk.dev_type,
            "logical_id": disk.logical_id,
            "pstatus": self._BlockdevStatus(instance.primary_node, instance, disk),
            "sstatus": None, "children": [], "mode": disk.mode, "size": disk.size,
            "spindles": disk.spindles, "name": disk.name, "uuid": disk.uuid,
        }

    def _RunState(self, instance: objects.Instance, pnode: objects.Node) -> Any:
        if self.op.static or pnode.offline:
            if pnode.offline:
                self.LogWarning("Primary node %s is marked offline, returning static"
                                " information only for instance %s", pnode.name,
                                instance.name)
            return None
        remote = _InstanceInfo(self, instance, prereq=False)
        if remote and "state" in remote:
            return "up"
        if instance.admin_state == constants.ADMINST_UP:
            return "down"
        return instance.admin_state

    def Exec(self, feedback_fn: Callable[..., None]) -> dict[str, Any]:
        """Instance name -> its data, in the layout of Ganeti 3.0."""
        cfg = self.cfg
        cluster = cfg.GetClusterInfo()
        result = {}
        for instance in self.wanted_instances:
            pnode = cfg.GetNodeInfo(instance.primary_node)
            pgroup = cfg.GetNodeGroup(pnode.group)
            snodes = [cfg.GetNodeInfo(uuid) for uuid in
                      cfg.GetInstanceSecondaryNodes(instance.uuid)]
            sgroups = [cfg.GetNodeGroup(node.group) for node in snodes]
            result[instance.name] = {
                "name": instance.name, "config_state": instance.admin_state,
                "run_state": self._RunState(instance, pnode), "pnode": pnode.name,
                "pnode_group_uuid": pnode.group,
                "pnode_group_name": pgroup.name if pgroup is not None else None,
                "snodes": [node.name for node in snodes],
                "snodes_group_uuids": [node.group for node in snodes],
                "snodes_group_names": [g.name if g else None for g in sgroups],
                "os": instance.os, "nics": NICListToTuple(self, instance.nics or []),
                "disk_template": cfg.GetInstanceDiskTemplate(instance.uuid),
                "disks": [self._DiskStatus(instance, disk)
                          for disk in cfg.GetInstanceDisks(instance.uuid)],
                "hypervisor": instance.hypervisor,
                "network_port": instance.network_port,
                "hv_instance": instance.hvparams,
                "hv_actual": cluster.FillHV(instance, skip_globals=True),
                "be_instance": instance.beparams, "be_actual": cluster.FillBE(instance),
                "os_instance": instance.osparams,
                "os_actual": cluster.SimpleFillOS(instance.os or "", instance.osparams),
                "serial_no": instance.serial_no, "mtime": instance.mtime,
                "ctime": instance.ctime, "uuid": instance.uuid,
            }
        return result


class InstanceQuery(_QueryBase):
    """OP_QUERY "instance": config data, and live data from the nodes.

    Live fields (status, oper_*, console) ask all_instances_info of the
    instances' online nodes; with use_locking the instances and their
    nodes are locked shared while that runs.
    """

    FIELDS = query.INSTANCE_FIELDS

    def ExpandNames(self, lu: Any) -> None:
        """Raises OpPrereqError for an unknown instance name."""
        lu.needed_locks = {}
        lu.share_locks = ShareAll()
        if self.names:
            self.wanted = GetWantedInstances(lu, [str(n) for n in self.names])[1]
        self.do_locking = self.use_locking and query.IQ_LIVE in self.requested_data
        if self.do_locking:
            lu.needed_locks[locking.LEVEL_INSTANCE] = self.wanted
            lu.needed_locks[locking.LEVEL_NODE] = []
            lu.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, lu: Any, level: int) -> None:
        if self.do_locking and level == locking.LEVEL_NODE:
            lu._LockInstancesNodes()

    def _GetQueryData(self, lu: Any) -> query.InstanceQueryData:
        cfg = lu.cfg
        by_name = {inst.name: uuid for uuid, inst in
                   cfg.GetAllInstancesInfo().items()}
        names = self._GetNames(lu, list(by_name), locking.LEVEL_INSTANCE)
        uuids = [by_name[name] for name in names if name in by_name]
        return query.MakeInstanceQueryData(cfg, uuids, self.requested_data, lu.rpc)
