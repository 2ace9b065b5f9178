"""Logical units for an instance's disks: grow, activate, deactivate, recreate.

Mirrors the LUs of Ganeti's lib/cmdlib/instance_storage.py. The helpers that
create, assemble and remove an instance's disks are shared with the other
instance LUs and come from ganeti/cmdlib/instance_utils.py.

Disk templates here are the ones this installation stores: diskless, file
and sharedfile (plain and drbd keep Ganeti's rules where the LUs check
templates, so that their refusals read as Ganeti's).
"""

from __future__ import annotations

import logging
from typing import Any

from ganeti import constants, defaults, errors, locking, objects, utils
from ganeti.cmdlib.base import LOCKS_APPEND, LOCKS_REPLACE, LogicalUnit, NoHooksLU
from ganeti.cmdlib.common import (
    CheckNodeOnline,
    GetWantedNodes,
    ReleaseLocks,
)
from ganeti.cmdlib.instance_utils import (
    DTS_INT_MIRROR,
    INSTANCE_DOWN,
    INSTANCE_NOT_RUNNING,
    AssembleInstanceDisks,
    BuildInstanceHookEnvByObject,
    CheckInstanceState,
    CreateDisks,
    ShutdownInstanceDisks,
)

logger = logging.getLogger(__name__)

# Ganeti's constants.DTS_GROWABLE.
DTS_GROWABLE = frozenset([constants.DT_SHARED_FILE, constants.DT_DRBD8,
                          constants.DT_PLAIN, constants.DT_EXT, constants.DT_RBD,
                          constants.DT_FILE, constants.DT_GLUSTER])
# Disk parameters OP_INSTANCE_RECREATE_DISKS may change (Ganeti's
# LUInstanceRecreateDisks._MODIFYABLE).
_RECREATE_MODIFIABLE = frozenset(["size", "mode", "spindles"])
_RECREATE_PARAM_TYPES = {"size": "size", "mode": "string", "spindles": "int"}


def CopyLockList(names: Any) -> Any:
    """A copy of a lock list; locking.ALL_SET stays ALL_SET."""
    return names if names is locking.ALL_SET else list(names)


def _FindDisk(lu: Any, instance: objects.Instance, idx: int) -> objects.Disk:
    """The instance's disk number idx (Ganeti's Instance.FindDisk).

    Raises:
      errors.OpPrereqError: no such disk (ECODE_INVAL).
    """
    disks = lu.cfg.GetInstanceDisks(instance.uuid)
    if not 0 <= idx < len(disks):
        raise errors.OpPrereqError(
            f"Invalid disk index: {idx} (instance has disks 0..{len(disks) - 1})"
            if disks else f"Invalid disk index: {idx} (instance has no disks)",
            errors.ECODE_INVAL)
    return disks[idx]


def _LockInstanceNodeLevels(lu: Any, level: int) -> None:
    """DeclareLocks body: nodes of the instance, node-res copies them."""
    if level == locking.LEVEL_NODE:
        lu._LockInstancesNodes()
    elif level == locking.LEVEL_NODE_RES:
        lu.needed_locks[locking.LEVEL_NODE_RES] = \
            CopyLockList(lu.needed_locks[locking.LEVEL_NODE])


class LUInstanceGrowDisk(LogicalUnit):
    """Grow a disk of an instance, on every node holding it."""

    HPATH = "disk-grow"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE] = []
        self.needed_locks[locking.LEVEL_NODE_RES] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        _LockInstanceNodeLevels(self, level)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = {"DISK": self.op.disk, "AMOUNT": self.op.amount,
               "ABSOLUTE": self.op.absolute}
        env.update(BuildInstanceHookEnvByObject(self, self.instance))
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(),
                 *self.cfg.GetInstanceNodes(self.instance.uuid)]
        return nodes, nodes

    def CheckPrereq(self) -> None:
        """Check the template, the disk and the new size.

        Raises:
          errors.OpPrereqError: a node is offline, the template cannot
            grow, the disk does not exist, or the size would shrink.
        """
        self.instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)
        for node_uuid in self.cfg.GetInstanceNodes(self.instance.uuid):
            CheckNodeOnline(self, node_uuid)
        template = self.cfg.GetInstanceDiskTemplate(self.instance.uuid)
        if template not in DTS_GROWABLE:
            raise errors.OpPrereqError("Instance's disk layout does not support"
                                       " growing", errors.ECODE_INVAL)
        self.disk = _FindDisk(self, self.instance, self.op.disk)
        current = self.disk.size or 0
        if self.op.absolute:
            self.target = self.op.amount
            self.delta = self.target - current
            if self.delta < 0:
                raise errors.OpPrereqError(
                    f"Requested size ({utils.FormatUnit(self.target, 'h')}) is"
                    f" smaller than current disk size"
                    f" ({utils.FormatUnit(current, 'h')})", errors.ECODE_STATE)
        else:
            self.delta = self.op.amount
            self.target = current + self.delta

    def _Grow(self, dryrun: bool, backingstore: bool,
              node_uuids: list[str]) -> None:
        what = "Dry-run grow" if dryrun else "Grow"
        for node_uuid in node_uuids:
            result = self.rpc.call_blockdev_grow(
                node_uuid, (self.disk, self.instance), self.delta, dryrun,
                backingstore, False)
            result.Raise(f"{what} request failed to node"
                         f" {self.cfg.GetNodeName(node_uuid)}")

    def Exec(self, feedback_fn: Any) -> None:
        """Grow on every node (dry run first), then record the new size."""
        node_uuids = self.cfg.GetInstanceNodes(self.instance.uuid)
        # Assembled here with its own index: AssembleInstanceDisks numbers
        # a subset from 0, which would link disk N under disk 0's name.
        result = self.rpc.call_blockdev_assemble(
            self.instance.primary_node, (self.disk, self.instance), self.instance,
            True, self.op.disk)
        if result.fail_msg:
            self.LogWarning("Could not prepare block device %s on node %s: %s",
                            self.disk.iv_name,
                            self.cfg.GetNodeName(self.instance.primary_node),
                            result.fail_msg)
            raise errors.OpExecError("Cannot activate block device to grow")
        feedback_fn(f"Growing disk {self.op.disk} of instance"
                    f" '{self.instance.name}' by"
                    f" {utils.FormatUnit(self.delta, 'h')} to"
                    f" {utils.FormatUnit(self.target, 'h')}")
        # As Ganeti: a dry run on every node first, so that a node lacking
        # space refuses before any node grew.
        self._Grow(True, True, node_uuids)
        self._Grow(False, True, node_uuids)
        self._Grow(False, False, [self.instance.primary_node])
        self.disk.RecordGrow(self.delta)
        self.cfg.Update(self.disk, feedback_fn)
        ReleaseLocks(self, locking.LEVEL_NODE)
        if self.op.wait_for_sync and not self.instance.disks_active:
            # File disks need no syncing; leave them as they were found.
            ShutdownInstanceDisks(self, self.instance, disks=[self.disk])
        elif not self.instance.disks_active:
            self.LogWarning("Not shutting down the disk even if the instance is"
                            " not supposed to be running because no wait for"
                            " sync mode was requested")


class LUInstanceActivateDisks(NoHooksLU):
    """Bring up an instance's disks (symlinks under the run dir)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE:
            self._LockInstancesNodes()

    def CheckPrereq(self) -> None:
        """Raises errors.OpPrereqError: the primary node is offline."""
        self.instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)
        CheckNodeOnline(self, self.instance.primary_node)

    def Exec(self, feedback_fn: Any) -> list[tuple[str, str, str | None]]:
        """Assemble the disks; return (node, iv_name, device path) per disk.

        Raises:
          errors.OpExecError: a disk could not be assembled (the disks are
            then marked inactive again).
        """
        if self.op.ignore_size:
            # The node then attaches the devices whatever their size; copies,
            # so that the configuration keeps the recorded sizes.
            disks = [disk.Copy() for disk in
                     self.cfg.GetInstanceDisks(self.instance.uuid)]
            for disk in disks:
                disk.size = None
            disks_ok, disks_info = AssembleInstanceDisks(self, self.instance,
                                                         disks=disks)
            if disks_ok:
                self.cfg.MarkInstanceDisksActive(self.instance.uuid)
        else:
            disks_ok, disks_info = AssembleInstanceDisks(self, self.instance)
        if not disks_ok:
            raise errors.OpExecError("Cannot activate block devices")
        return [tuple(info) for info in disks_info]


class LUInstanceDeactivateDisks(NoHooksLU):
    """Shut down an instance's disks (refused while it runs, unless forced)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODE] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE:
            self._LockInstancesNodes()

    def CheckPrereq(self) -> None:
        self.instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)

    def Exec(self, feedback_fn: Any) -> None:
        """Raises errors.OpPrereqError: the instance runs and force is unset."""
        if self.op.force:
            ShutdownInstanceDisks(self, self.instance)
        else:
            CheckInstanceState(self, self.instance, INSTANCE_DOWN,
                                  msg="cannot shutdown disks")
            ShutdownInstanceDisks(self, self.instance)


class LUInstanceRecreateDisks(LogicalUnit):
    """Recreate an instance's (lost) disks, optionally on other nodes."""

    HPATH = "instance-recreate-disks"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Normalise op.disks to [(index, params)] and check the params.

        Raises:
          errors.OpPrereqError: a disk given twice, both nodes and an
            allocator, or a parameter that cannot be changed.
        """
        if self.op.disks and not isinstance(self.op.disks[0], (list, tuple)):
            self.op.disks = [(idx, {}) for idx in sorted(set(self.op.disks))]
        indices = [idx for idx, _ in self.op.disks]
        dups = sorted({idx for idx in indices if indices.count(idx) > 1})
        if dups:
            raise errors.OpPrereqError(
                "Some disks have been specified more than once:"
                f" {utils.CommaJoin(dups)}", errors.ECODE_INVAL)
        if self.op.iallocator and self.op.nodes:
            raise errors.OpPrereqError("Do not specify both, iallocator and node",
                                       errors.ECODE_INVAL)
        for idx, params in self.op.disks:
            unsupported = sorted(set(params) - _RECREATE_MODIFIABLE)
            if unsupported:
                raise errors.OpPrereqError(
                    f"Parameters for disk {idx} try to change unmodifyable"
                    f" parameter(s): {utils.CommaJoin(unsupported)}",
                    errors.ECODE_INVAL)
            ForceParamTypes(params, _RECREATE_PARAM_TYPES, f"disk {idx}")

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_APPEND
        if self.op.nodes:
            self.op.node_uuids, self.op.nodes = GetWantedNodes(self, self.op.nodes)
            self.needed_locks[locking.LEVEL_NODE] = list(self.op.node_uuids)
        elif self.op.iallocator:
            self.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET
            del self.recalculate_locks[locking.LEVEL_NODE]
        else:
            self.needed_locks[locking.LEVEL_NODE] = []
        self.needed_locks[locking.LEVEL_NODE_RES] = []

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE and not (self.op.nodes or
                                                self.op.iallocator):
            self._LockInstancesNodes()
        elif level == locking.LEVEL_NODE_RES:
            self.needed_locks[locking.LEVEL_NODE_RES] = \
                CopyLockList(self.needed_locks[locking.LEVEL_NODE])

    def BuildHooksEnv(self) -> dict[str, Any]:
        return BuildInstanceHookEnvByObject(self, self.instance)

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(),
                 *self.cfg.GetInstanceNodes(self.instance.uuid)]
        return nodes, nodes

    def CheckPrereq(self) -> None:
        """Check the nodes, the disks and that the instance is not running.

        Raises:
          errors.OpPrereqError: see the messages.
        """
        instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)
        self.instance = instance
        old_nodes = self.cfg.GetInstanceNodes(instance.uuid)
        if self.op.iallocator:
            self._RunAllocator()
        if self.op.node_uuids:
            if len(self.op.node_uuids) != len(old_nodes):
                raise errors.OpPrereqError(
                    f"Instance {instance.name} currently has {len(old_nodes)}"
                    f" nodes, but {len(self.op.node_uuids)} replacement nodes"
                    " were specified", errors.ECODE_INVAL)
            primary_node = self.op.node_uuids[0]
        else:
            primary_node = instance.primary_node
        CheckNodeOnline(self, primary_node)
        disks = self.cfg.GetInstanceDisks(instance.uuid)
        if not disks:
            raise errors.OpPrereqError(
                f"Instance '{self.op.instance_name}' has no disks",
                errors.ECODE_INVAL)
        old_pnode = self.cfg.GetNodeInfo(instance.primary_node)
        if not (self.op.node_uuids and old_pnode.offline):
            CheckInstanceState(self, instance, INSTANCE_NOT_RUNNING,
                                  msg="cannot recreate disks")
        self.disks = dict(self.op.disks) if self.op.disks else \
            {idx: {} for idx in range(len(disks))}
        maxidx = max(self.disks)
        if maxidx >= len(disks):
            raise errors.OpPrereqError(f"Invalid disk index '{maxidx}'",
                                       errors.ECODE_INVAL)
        if self.op.node_uuids and sorted(self.disks) != list(range(len(disks))):
            raise errors.OpPrereqError("Can't recreate disks partially and"
                                       " change the nodes at the same time",
                                       errors.ECODE_INVAL)
        if self.op.node_uuids:
            ReleaseLocks(self, locking.LEVEL_NODE, keep=self.op.node_uuids)

    def _RunAllocator(self) -> None:
        """Pick new nodes for the instance with the iallocator.

        Raises:
          errors.OpPrereqError: the allocator failed.
        """
        from ganeti import iallocator  # owner "inst"; not needed otherwise

        cluster = self.cfg.GetClusterInfo()
        be_full = cluster.FillBE(self.instance)
        disks = [{"size": disk.size, "mode": disk.mode, "spindles": disk.spindles}
                 for disk in self.cfg.GetInstanceDisks(self.instance.uuid)]
        req = iallocator.IAReqInstanceAlloc(
            name=self.op.instance_name,
            disk_template=self.cfg.GetInstanceDiskTemplate(self.instance.uuid),
            group_name=None, tags=list(self.instance.GetTags()),
            os=self.instance.os, nics=[{}], vcpus=be_full["vcpus"],
            memory=be_full["maxmem"], spindle_use=be_full["spindle_use"],
            disks=disks, hypervisor=self.instance.hypervisor,
            node_whitelist=None)
        ial = iallocator.IAllocator(self.cfg, self.rpc, req)
        ial.Run(self.op.iallocator)
        if not ial.success:
            raise errors.OpPrereqError(
                f"Can't compute nodes using iallocator '{self.op.iallocator}':"
                f" {ial.info}", errors.ECODE_NORES)
        self.op.node_uuids, self.op.nodes = GetWantedNodes(self, ial.result)
        self.LogInfo("Selected nodes for instance %s via iallocator %s: %s",
                     self.op.instance_name, self.op.iallocator,
                     utils.CommaJoin(self.op.nodes))

    def Exec(self, feedback_fn: Any) -> None:
        """Apply the size/mode changes, move to the new nodes, create disks."""
        disks = self.cfg.GetInstanceDisks(self.instance.uuid)
        for idx, changes in self.disks.items():
            disk = disks[idx]
            for key in ("size", "mode", "spindles"):
                if changes.get(key) is not None:
                    setattr(disk, key, changes[key])
            if changes:
                self.cfg.Update(disk, feedback_fn)
        if self.op.node_uuids:
            SetInstancePrimaryNode(self.cfg, self.instance,
                                      self.op.node_uuids[0], feedback_fn)
            self.LogWarning("Changing the instance's nodes, you will have to"
                            " remove any disks left on the older nodes manually")
        CreateDisks(self, self.instance,
                    disks=[disk for idx, disk in enumerate(disks)
                           if idx in self.disks])


# --- helpers shared with instance_migration and instance_set_params ---------------


def ForceParamTypes(params: dict[str, Any], key_types: dict[str, str],
                    what: str) -> None:
    """defaults.ForceDictType with an OpPrereqError naming what was wrong.

    Raises:
      errors.OpPrereqError: unknown parameter or bad value (ECODE_INVAL).
    """
    try:
        defaults.ForceDictType(params, key_types)
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid parameters for {what}: {err}",
                                   errors.ECODE_INVAL) from err


def SetInstancePrimaryNode(cfg: Any, instance: objects.Instance, node_uuid: str,
                           feedback_fn: Any = None) -> None:
    """Make node_uuid the instance's primary node and save, once.

    Ganeti's ConfigWriter.SetInstancePrimaryNode plus SetDiskNodes: the
    disks that live on the primary node alone (all but DRBD) follow it, so
    that the instance's node list stays [primary] + secondaries.
    """
    for disk in cfg.GetInstanceDisks(instance.uuid):
        if disk.dev_type not in DTS_INT_MIRROR:
            disk.nodes = [node_uuid]
    instance.primary_node = node_uuid
    cfg.Update(instance, feedback_fn)
