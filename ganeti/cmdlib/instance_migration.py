"""Moving an instance between nodes: migrate, failover and move.

Mirrors Ganeti's lib/cmdlib/instance_migration.py (LUInstanceMigrate,
LUInstanceFailover and their shared tasklet TLMigrateInstance) and the
LUInstanceMove of lib/cmdlib/instance.py.

Migration protocol (TLMigrateInstance._ExecMigration), with the instance
running on the source throughout until the hypervisor reports success:

  source: migration_info          -> opaque info for the target
  target: accept_instance         (prepare, e.g. qemu -incoming)
  source: instance_migrate        (start the transfer)
  source: instance_get_migration_status, polled until not "active"
  source: instance_finalize_migration_src(success=True)
  config: the primary node becomes the target (one save)
  target: instance_finalize_migration_dst(success=True)

Any failure before the source finalised aborts on both nodes (finalize
with success=False), leaving the instance running on the source and the
configuration untouched. Only externally mirrored disk layouts (diskless,
sharedfile, ...) can migrate or fail over here; DRBD, which Ganeti switches
to dual-primary around the migration, has no node side in this
installation and is refused with a clear message.

A move copies the disks instead (file and plain layouts, Ganeti's
DTS_COPYABLE): the master relays each disk from the source node to fresh
disks on the target chunk by chunk and compares SHA-256 checksums computed
on both nodes before the configuration changes (see
ganeti/backend/transfer.py for why a relay).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, locking, objects, utils
from ganeti.cmdlib.base import LOCKS_APPEND, LOCKS_REPLACE, LogicalUnit, Tasklet
from ganeti.cmdlib.common import (
    CheckNodeNotDrained,
    CheckNodeOnline,
    CheckNodeVmCapable,
    ExpandInstanceUuidAndName,
    ExpandNodeUuidAndName,
    ReleaseLocks,
)
from ganeti.cmdlib.instance_storage import CopyLockList, SetInstancePrimaryNode
from ganeti.cmdlib.instance_utils import (
    DTS_INT_MIRROR,
    AssembleInstanceDisks,
    BuildInstanceHookEnvByObject,
    CheckIAllocatorOrNode,
    CheckInstanceBridgesExist,
    CheckNodeFreeMemory,
    CreateDisks,
    RemoveDisks,
    ShutdownInstanceDisks,
)

logger = logging.getLogger(__name__)

# Ganeti's constants.DTS_EXT_MIRROR ("diskless is trivially externally
# mirrored"), DTS_MIRRORED and DTS_COPYABLE.
DTS_EXT_MIRROR = frozenset([constants.DT_DISKLESS, constants.DT_BLOCK,
                            constants.DT_EXT, constants.DT_SHARED_FILE,
                            constants.DT_RBD, constants.DT_GLUSTER])
DTS_MIRRORED = DTS_INT_MIRROR | DTS_EXT_MIRROR
DTS_COPYABLE = frozenset([constants.DT_PLAIN, constants.DT_FILE])

HT_MIGRATION_LIVE = "live"
HT_MIGRATION_NONLIVE = "non-live"
HV_MIGRATION_MODE = "migration_mode"
HV_MIGRATION_ACTIVE = "active"
HV_MIGRATION_FAILED_STATUSES = frozenset(["failed", "cancelled"])
HV_NODEINFO_KEY_VERSION = "hv_version"
DEFAULT_SHUTDOWN_TIMEOUT = 120

#: Bytes the master asks for per transfer_read during a move.
MOVE_CHUNK_SIZE = 4 * 1024 * 1024


def _Reason(lu: Any) -> list[Any]:
    return list(getattr(lu.op, "reason", None) or [])


# --- locking shared by migrate and failover ---------------------------------------


def _ExpandNamesForMigration(lu: Any) -> None:
    """Expand the target node and declare the (recomputed) node locks."""
    if lu.op.target_node is not None:
        lu.op.target_node_uuid, lu.op.target_node = ExpandNodeUuidAndName(
            lu.cfg, lu.op.target_node_uuid, lu.op.target_node)
    lu.needed_locks[locking.LEVEL_NODE] = []
    lu.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE
    lu.needed_locks[locking.LEVEL_NODE_RES] = []


def _DeclareLocksForMigration(lu: Any, level: int) -> None:
    """Lock source and target; every node when an allocator picks the target.

    Ganeti takes the node-allocation lock for the allocator case; this lock
    manager has no such level, so all node locks are taken instead.
    """
    if level == locking.LEVEL_NODE:
        instance = lu.cfg.GetInstanceInfo(lu.op.instance_uuid)
        template = lu.cfg.GetInstanceDiskTemplate(instance.uuid)
        if template in DTS_EXT_MIRROR:
            if lu.op.target_node is None:
                lu.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET
            else:
                lu.needed_locks[locking.LEVEL_NODE] = [instance.primary_node,
                                                       lu.op.target_node_uuid]
            del lu.recalculate_locks[locking.LEVEL_NODE]
        else:
            lu._LockInstancesNodes()
    elif level == locking.LEVEL_NODE_RES:
        lu.needed_locks[locking.LEVEL_NODE_RES] = \
            CopyLockList(lu.needed_locks[locking.LEVEL_NODE])


def _MigrationHookNodes(lu: Any) -> list[str]:
    instance = lu._migrater.instance
    nodes = [lu.cfg.GetMasterNode(), instance.primary_node,
             *lu.cfg.GetInstanceSecondaryNodes(instance.uuid),
             lu._migrater.target_node_uuid]
    return list(dict.fromkeys(nodes))


def _OldNewNodesEnv(lu: Any) -> dict[str, Any]:
    instance = lu._migrater.instance
    return {"OLD_PRIMARY": lu.cfg.GetNodeName(instance.primary_node),
            "NEW_PRIMARY": lu.cfg.GetNodeName(lu._migrater.target_node_uuid),
            "OLD_SECONDARY": "", "NEW_SECONDARY": ""}


class LUInstanceFailover(LogicalUnit):
    """Fail an instance over: stop it on its node, start it on the target."""

    HPATH = "instance-failover"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        _ExpandNamesForMigration(self)
        self._migrater = TLMigrateInstance(
            self, self.op.instance_uuid, self.op.instance_name,
            cleanup=self.op.cleanup, failover=True, fallback=False,
            ignore_consistency=self.op.ignore_consistency,
            allow_runtime_changes=True, shutdown_timeout=self.op.shutdown_timeout,
            ignore_ipolicy=self.op.ignore_ipolicy, ignore_hvversions=True)
        self.tasklets = [self._migrater]

    def DeclareLocks(self, level: int) -> None:
        _DeclareLocksForMigration(self, level)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = {"IGNORE_CONSISTENCY": self.op.ignore_consistency,
               "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout,
               "FAILOVER_CLEANUP": self.op.cleanup}
        env.update(_OldNewNodesEnv(self))
        env.update(BuildInstanceHookEnvByObject(self, self._migrater.instance))
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        instance = self._migrater.instance
        pre = [self.cfg.GetMasterNode(),
               *self.cfg.GetInstanceSecondaryNodes(instance.uuid),
               self._migrater.target_node_uuid]
        return pre, [*pre, instance.primary_node]


class LUInstanceMigrate(LogicalUnit):
    """Migrate an instance to another node without shutting it down."""

    HPATH = "instance-migrate"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        _ExpandNamesForMigration(self)
        self._migrater = TLMigrateInstance(
            self, self.op.instance_uuid, self.op.instance_name,
            cleanup=self.op.cleanup, failover=False,
            fallback=self.op.allow_failover, ignore_consistency=False,
            allow_runtime_changes=self.op.allow_runtime_changes,
            shutdown_timeout=DEFAULT_SHUTDOWN_TIMEOUT,
            ignore_ipolicy=self.op.ignore_ipolicy,
            ignore_hvversions=self.op.ignore_hvversions)
        self.tasklets = [self._migrater]

    def DeclareLocks(self, level: int) -> None:
        _DeclareLocksForMigration(self, level)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = BuildInstanceHookEnvByObject(self, self._migrater.instance)
        env.update({"MIGRATE_LIVE": self._migrater.live,
                    "MIGRATE_CLEANUP": self.op.cleanup,
                    "ALLOW_RUNTIME_CHANGES": self.op.allow_runtime_changes})
        env.update(_OldNewNodesEnv(self))
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = _MigrationHookNodes(self)
        return nodes, nodes


class TLMigrateInstance(Tasklet):
    """Migrate (or fail over) one instance; locking stays with the LU.

    Attributes after CheckPrereq: instance, target_node_uuid, live (the
    migration mode), failover (may have switched from migration when
    fallback is allowed).
    """

    _MIGRATION_POLL_INTERVAL = 1.0  # seconds
    _MIGRATION_FEEDBACK_INTERVAL = 10.0  # seconds

    def __init__(self, lu: Any, instance_uuid: str, instance_name: str, *,
                 cleanup: bool, failover: bool, fallback: bool,
                 ignore_consistency: bool, allow_runtime_changes: bool,
                 shutdown_timeout: int, ignore_ipolicy: bool,
                 ignore_hvversions: bool,
                 _sleep_fn: Callable[[float], None] = time.sleep) -> None:
        Tasklet.__init__(self, lu)
        self.instance_uuid = instance_uuid
        self.instance_name = instance_name
        self.cleanup = cleanup
        self.live = False  # decided in CheckPrereq
        self.failover = failover
        self.fallback = fallback
        self.ignore_consistency = ignore_consistency
        self.allow_runtime_changes = allow_runtime_changes
        self.shutdown_timeout = shutdown_timeout
        self.ignore_ipolicy = ignore_ipolicy
        self.ignore_hvversions = ignore_hvversions
        self.instance: objects.Instance | None = None
        self.target_node_uuid: str | None = None
        self.current_mem: int | None = None
        self.tgt_free_mem: int | None = None
        self._sleep = _sleep_fn

    # --- prerequisites ------------------------------------------------------------

    def CheckPrereq(self) -> None:
        """Decide target, mode and failover/migration; check the target.

        Raises:
          errors.OpPrereqError: see the checks' messages.
        """
        self.instance_uuid, self.instance_name = ExpandInstanceUuidAndName(
            self.cfg, self.instance_uuid, self.instance_name)
        self.instance = instance = self.cfg.GetInstanceInfo(self.instance_uuid)
        cluster = self.cfg.GetClusterInfo()
        if (not self.cleanup and instance.admin_state != constants.ADMINST_UP
                and not self.failover and self.fallback):
            self.lu.LogInfo("Instance is marked down or offline, fallback"
                            " allowed, switching to failover")
            self.failover = True
        self._CheckTemplateAndTarget()
        i_be = cluster.FillBE(instance)
        target = self.target_node_uuid
        if not self.cleanup and (not self.failover or
                                 instance.admin_state == constants.ADMINST_UP):
            self.tgt_free_mem = CheckNodeFreeMemory(
                self.lu, target, f"migrating instance {instance.name}",
                i_be["minmem"], instance.hypervisor,
                cluster.hvparams.get(instance.hypervisor))
        else:
            self.lu.LogInfo("Not checking memory on the secondary node as"
                            " instance will not be started")
        if not self.cleanup and not self.failover and i_be.get("always_failover"):
            self.lu.LogInfo("Instance configured to always failover; fallback"
                            " to failover")
            self.failover = True
        CheckInstanceBridgesExist(self.lu, instance, node_uuid=target)
        if not self.cleanup:
            CheckNodeNotDrained(self.lu, target)
            if not self.failover:
                self._CheckMigratable()
        self._DecideMode(cluster)
        if not (self.failover or self.cleanup):
            self._ReadCurrentMemory(cluster)

    def _CheckTemplateAndTarget(self) -> None:
        instance = self.instance
        template = self.cfg.GetInstanceDiskTemplate(instance.uuid)
        text = "failovers" if self.failover else "migrations"
        if template not in DTS_MIRRORED:
            raise errors.OpPrereqError(
                f"Instance's disk layout '{template}' does not allow {text}",
                errors.ECODE_STATE)
        if template in DTS_INT_MIRROR:
            raise errors.OpPrereqError(
                f"Instance's disk layout '{template}' needs DRBD, which this"
                f" installation does not provide; {text} are not possible",
                errors.ECODE_STATE)
        op = self.lu.op
        # Without a target node this names the cluster's default allocator
        # (the built-in one when the cluster has none).
        CheckIAllocatorOrNode(self.lu, "iallocator", "target_node")
        if op.iallocator:
            self._RunAllocator()
        else:
            self.target_node_uuid = op.target_node_uuid
        if self.target_node_uuid == instance.primary_node:
            raise errors.OpPrereqError(
                f"Cannot migrate instance {instance.name} to its primary"
                f" ({self.cfg.GetNodeName(instance.primary_node)})",
                errors.ECODE_STATE)
        CheckNodeOnline(self.lu, self.target_node_uuid)
        CheckNodeVmCapable(self.lu, self.target_node_uuid)
        if len(self.lu.tasklets or []) == 1:
            # Only safe when this tasklet is the LU's only one.
            keep = [instance.primary_node, self.target_node_uuid]
            ReleaseLocks(self.lu, locking.LEVEL_NODE, keep=keep)
            ReleaseLocks(self.lu, locking.LEVEL_NODE_RES, keep=keep)

    def _RunAllocator(self) -> None:
        """Let the iallocator pick the target node (relocate request).

        Raises:
          errors.OpPrereqError: the allocator failed or named no known node.
        """
        from ganeti import iallocator  # owner "inst"; only this path needs it

        name = self.lu.op.iallocator
        req = iallocator.IAReqRelocate(
            inst_uuid=self.instance_uuid,
            relocate_from_node_uuids=[self.instance.primary_node])
        ial = iallocator.IAllocator(self.cfg, self.rpc, req)
        ial.Run(name)
        if not ial.success:
            raise errors.OpPrereqError(
                f"Can't compute nodes using iallocator '{name}': {ial.info}",
                errors.ECODE_NORES)
        node = self.cfg.GetNodeInfoByName(ial.result[0])
        if node is None:
            raise errors.OpPrereqError(
                f"Iallocator '{name}' returned unknown node {ial.result[0]}",
                errors.ECODE_NOENT)
        self.target_node_uuid = node.uuid
        self.lu.LogInfo("Selected nodes for instance %s via iallocator %s: %s",
                        self.instance_name, name, utils.CommaJoin(ial.result))

    def _CheckMigratable(self) -> None:
        result = self.rpc.call_instance_migratable(self.instance.primary_node,
                                                   self.instance)
        if result.fail_msg and self.fallback:
            self.lu.LogInfo("Can't migrate, instance offline, fallback to"
                            " failover")
            self.failover = True
        else:
            result.Raise("Can't migrate, please use failover", prereq=True,
                         ecode=errors.ECODE_STATE)

    def _DecideMode(self, cluster: objects.Cluster) -> None:
        op = self.lu.op
        if self.failover:
            self.live = False  # a failover is never live
            return
        if op.live is not None and op.mode is not None:
            raise errors.OpPrereqError("Only one of the 'live' and 'mode'"
                                       " parameters are accepted",
                                       errors.ECODE_INVAL)
        if op.live is not None:
            op.mode = HT_MIGRATION_LIVE if op.live else HT_MIGRATION_NONLIVE
            # So that a repeated CheckPrereq does not see both.
            op.live = None
        elif op.mode is None:
            hvparams = cluster.FillHV(self.instance, skip_globals=False)
            op.mode = hvparams.get(HV_MIGRATION_MODE, HT_MIGRATION_LIVE)
        self.live = op.mode == HT_MIGRATION_LIVE

    def _ReadCurrentMemory(self, cluster: objects.Cluster) -> None:
        pnode = self.instance.primary_node
        result = self.rpc.call_instance_info(
            pnode, self.instance.name, self.instance.hypervisor,
            cluster.hvparams.get(self.instance.hypervisor))
        result.Raise(f"Error checking instance on node"
                     f" {self.cfg.GetNodeName(pnode)}", prereq=True)
        if result.payload:
            self.current_mem = int(result.payload["memory"])

    # --- execution ----------------------------------------------------------------

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Fail over, clean up after a failed migration, or migrate."""
        self.feedback_fn = feedback_fn
        self.source_node_uuid = self.instance.primary_node
        self.all_node_uuids = [self.source_node_uuid, self.target_node_uuid]
        self.nodes_ip = {uuid: self.cfg.GetNodeInfo(uuid).secondary_ip
                         for uuid in self.all_node_uuids}
        if self.failover:
            feedback_fn(f"Failover instance {self.instance.name}")
            self._ExecFailover()
        else:
            feedback_fn(f"Migrating instance {self.instance.name}")
            if self.cleanup:
                self._ExecCleanup()
            else:
                self._ExecMigration()

    def _NodeName(self, node_uuid: str) -> str:
        return self.cfg.GetNodeName(node_uuid)

    def _ExecCleanup(self) -> None:
        """Find where a half-migrated instance runs and make the config agree.

        Raises:
          errors.OpExecError: it runs on both nodes or on none.
        """
        self.feedback_fn("* checking where the instance actually runs (if this"
                         " hangs, the hypervisor might be in a bad state)")
        hvparams = self.cfg.GetClusterInfo().hvparams
        results = self.rpc.call_instance_list(self.all_node_uuids,
                                              [self.instance.hypervisor], hvparams)
        for node_uuid, result in results.items():
            result.Raise(f"Can't contact node {self._NodeName(node_uuid)}")
        on_source = self.instance.name in results[self.source_node_uuid].payload
        on_target = self.instance.name in results[self.target_node_uuid].payload
        if on_source and on_target:
            raise errors.OpExecError("Instance seems to be running on two nodes,"
                                     " or the hypervisor is confused; you will"
                                     " have to ensure manually that it runs only"
                                     " on one and restart this operation")
        if not (on_source or on_target):
            raise errors.OpExecError("Instance does not seem to be running at"
                                     " all; in this case it's safer to repair by"
                                     " running 'gnt-instance stop' to ensure disk"
                                     " shutdown, and then restarting it")
        if on_target:
            self.feedback_fn(f"* instance running on secondary node"
                             f" ({self._NodeName(self.target_node_uuid)}),"
                             " updating config")
            SetInstancePrimaryNode(self.cfg, self.instance, self.target_node_uuid,
                                   self.feedback_fn)
        else:
            self.feedback_fn(f"* instance confirmed to be running on its primary"
                             f" node ({self._NodeName(self.source_node_uuid)})")
        self.feedback_fn("* done")

    def _CheckHypervisorVersions(self) -> None:
        """Refuse (unless told not to) hypervisor versions known to differ.

        Raises:
          errors.OpExecError: a node cannot be asked, or the versions differ
            and ignore_hvversions is unset.
        """
        hvname = self.instance.hypervisor
        hvspecs = [(hvname, self.cfg.GetClusterInfo().hvparams.get(hvname))]
        results = self.rpc.call_node_info(self.all_node_uuids, None, hvspecs)
        versions = []
        for node_uuid in self.all_node_uuids:
            result = results[node_uuid]
            result.Raise(f"Unable to retrieve node information from node"
                         f" '{self._NodeName(node_uuid)}'")
            hv_info = (result.payload[2] or [{}])[0] or {}
            versions.append(hv_info.get(HV_NODEINFO_KEY_VERSION))
        src_version, dst_version = versions
        if None in versions or src_version == dst_version:
            return
        self.feedback_fn(f"* warning: hypervisor version mismatch between source"
                         f" ({src_version}) and target ({dst_version}) node")
        if self.ignore_hvversions:
            self.feedback_fn("  continuing anyway (told to ignore version"
                             " mismatch)")
            return
        raise errors.OpExecError(f"Unsupported migration between hypervisor"
                                 f" versions ({src_version} to {dst_version})")

    def _AbortMigration(self) -> None:
        """Tell both nodes the migration failed; errors are only logged."""
        result = self.rpc.call_instance_finalize_migration_dst(
            self.target_node_uuid, self.instance, self.migration_info, False)
        if result.fail_msg:
            logger.error("Aborting migration failed on target node %s: %s",
                         self._NodeName(self.target_node_uuid), result.fail_msg)
        result = self.rpc.call_instance_finalize_migration_src(
            self.source_node_uuid, self.instance, False, self.live)
        if result.fail_msg:
            logger.error("Aborting migration failed on source node %s: %s",
                         self._NodeName(self.source_node_uuid), result.fail_msg)

    def _Fail(self, what: str, msg: str) -> errors.OpExecError:
        """Abort on both nodes and build the error to raise."""
        logger.error("Instance %s failed, aborting: %s", what, msg)
        self.feedback_fn(f"{what.capitalize()} failed, aborting")
        self._AbortMigration()
        verb = "pre-migrate" if what == "pre-migration" else "migrate"
        return errors.OpExecError(
            f"Could not {verb} instance {self.instance.name}: {msg}")

    def _BalloonIfNeeded(self) -> None:
        if self.current_mem is None or self.tgt_free_mem is None or \
                self.current_mem <= self.tgt_free_mem:
            return
        if not self.allow_runtime_changes:
            raise errors.OpExecError(
                f"Memory ballooning not allowed and not enough free memory to"
                f" fit instance {self.instance.name} on target node"
                f" {self._NodeName(self.target_node_uuid)} (have"
                f" {self.tgt_free_mem}MB, need {self.current_mem}MB)")
        self.feedback_fn(f"* setting instance memory to {self.tgt_free_mem}")
        result = self.rpc.call_instance_balloon_memory(
            self.instance.primary_node, self.instance, self.tgt_free_mem)
        result.Raise("Cannot modify instance runtime memory")

    def _ExecMigration(self) -> None:
        """Migrate; on failure abort and leave the instance on the source.

        Raises:
          errors.OpExecError: the migration failed (the instance still runs
            on the source), or it succeeded but finalising failed.
        """
        self._CheckHypervisorVersions()
        self._BalloonIfNeeded()
        source, target = self.source_node_uuid, self.target_node_uuid
        result = self.rpc.call_migration_info(source, self.instance)
        if result.fail_msg:
            msg = (f"Failed fetching source migration information from"
                   f" {self._NodeName(source)}: {result.fail_msg}")
            logger.error(msg)
            raise errors.OpExecError(msg)
        self.migration_info = result.payload
        self.feedback_fn(f"* preparing {self._NodeName(target)} to accept the"
                         " instance")
        result = self.rpc.call_accept_instance(target, self.instance,
                                               self.migration_info,
                                               self.nodes_ip[target])
        if result.fail_msg:
            raise self._Fail("pre-migration", result.fail_msg)
        self.feedback_fn(f"* migrating instance to {self._NodeName(target)}")
        result = self.rpc.call_instance_migrate(
            source, self.cfg.GetClusterName(), self.instance,
            self.nodes_ip[target], self.live)
        if result.fail_msg:
            raise self._Fail("migration", result.fail_msg)
        self._WaitForMemoryTransfer()
        result = self.rpc.call_instance_finalize_migration_src(
            source, self.instance, True, self.live)
        if result.fail_msg:
            logger.error("Instance migration succeeded, but finalization failed"
                         " on the source node: %s", result.fail_msg)
            raise errors.OpExecError(f"Could not finalize instance migration:"
                                     f" {result.fail_msg}")
        SetInstancePrimaryNode(self.cfg, self.instance, target, self.feedback_fn)
        result = self.rpc.call_instance_finalize_migration_dst(
            target, self.instance, self.migration_info, True)
        if result.fail_msg:
            logger.error("Instance migration succeeded, but finalization failed"
                         " on the target node: %s", result.fail_msg)
            raise errors.OpExecError(f"Could not finalize instance migration:"
                                     f" {result.fail_msg}")
        self.feedback_fn("* done")

    def _WaitForMemoryTransfer(self) -> None:
        """Poll the source until the hypervisor says the transfer ended.

        Raises:
          errors.OpExecError: the status call or the migration failed (both
            nodes were told to abort).
        """
        self.feedback_fn("* starting memory transfer")
        last_feedback = time.monotonic()
        while True:
            result = self.rpc.call_instance_get_migration_status(
                self.source_node_uuid, self.instance)
            status = _StatusField(result.payload, "status")
            if result.fail_msg or status in HV_MIGRATION_FAILED_STATUSES:
                raise self._Fail("migration", result.fail_msg or
                                 "hypervisor returned failure")
            if status != HV_MIGRATION_ACTIVE:
                self.feedback_fn("* memory transfer complete")
                return
            transferred = _StatusField(result.payload, "transferred_ram")
            total = _StatusField(result.payload, "total_ram")
            now = time.monotonic()
            if (now - last_feedback >= self._MIGRATION_FEEDBACK_INTERVAL
                    and transferred is not None and total):
                self.feedback_fn(f"* memory transfer progress:"
                                 f" {100.0 * transferred / total:.2f} %")
                last_feedback = now
            self._sleep(self._MIGRATION_POLL_INTERVAL)

    def _ExecFailover(self) -> None:
        """Stop on the source, move the config, start on the target if up.

        Raises:
          errors.OpExecError: the source could not stop it (unless ignoring
            consistency or the source is offline), or the target could not
            start it (its disks are then shut down again).
        """
        instance = self.instance
        source, target = self.source_node_uuid, self.target_node_uuid
        source_offline = self.cfg.GetNodeInfo(source).offline
        if not instance.disks_active:
            self.feedback_fn("* not checking disk consistency as instance is not"
                             " running")
        self.feedback_fn("* shutting down instance on source node")
        result = self.rpc.call_instance_shutdown(
            source, instance, self.shutdown_timeout, _Reason(self.lu))
        if result.fail_msg:
            if not (self.ignore_consistency or source_offline):
                raise errors.OpExecError(
                    f"Could not shutdown instance {instance.name} on node"
                    f" {self._NodeName(source)}: {result.fail_msg}")
            self.lu.LogWarning(
                "Could not shutdown instance %s on node %s, proceeding anyway;"
                " please make sure node %s is down; error details: %s",
                instance.name, self._NodeName(source), self._NodeName(source),
                result.fail_msg)
        self.feedback_fn("* deactivating the instance's disks on source node")
        if not ShutdownInstanceDisks(self.lu, instance, ignore_primary=True):
            raise errors.OpExecError("Can't shut down the instance's disks")
        SetInstancePrimaryNode(self.cfg, instance, target, self.feedback_fn)
        if instance.admin_state != constants.ADMINST_UP:
            return
        self.feedback_fn(f"* activating the instance's disks on target node"
                         f" {self._NodeName(target)}")
        if not AssembleInstanceDisks(self.lu, instance, ignore_secondaries=True)[0]:
            ShutdownInstanceDisks(self.lu, instance)
            raise errors.OpExecError("Can't activate the instance's disks")
        self.feedback_fn(f"* starting the instance on the target node"
                         f" {self._NodeName(target)}")
        result = self.rpc.call_instance_start(target, (instance, None, None),
                                              False, _Reason(self.lu))
        if result.fail_msg:
            ShutdownInstanceDisks(self.lu, instance)
            raise errors.OpExecError(
                f"Could not start instance {instance.name} on node"
                f" {self._NodeName(target)}: {result.fail_msg}")


def _StatusField(payload: Any, name: str) -> Any:
    """A field of a MigrationStatus, whether it arrived as object or dict."""
    if isinstance(payload, dict):
        return payload.get(name)
    return getattr(payload, name, None)


# --- move: copy the disks to another node -----------------------------------------


class LUInstanceMove(LogicalUnit):
    """Move an instance by copying its disks to another node."""

    HPATH = "instance-move"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.op.target_node_uuid, self.op.target_node = ExpandNodeUuidAndName(
            self.cfg, self.op.target_node_uuid, self.op.target_node)
        self.needed_locks[locking.LEVEL_NODE] = [self.op.target_node_uuid]
        self.needed_locks[locking.LEVEL_NODE_RES] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_APPEND

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODE:
            self._LockInstancesNodes(primary_only=True)
        elif level == locking.LEVEL_NODE_RES:
            self.needed_locks[locking.LEVEL_NODE_RES] = \
                CopyLockList(self.needed_locks[locking.LEVEL_NODE])

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = {"TARGET_NODE": self.op.target_node,
               "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}
        env.update(BuildInstanceHookEnvByObject(self, self.instance))
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(), self.instance.primary_node,
                 self.op.target_node_uuid]
        return nodes, nodes

    def CheckPrereq(self) -> None:
        """Check the disks can be copied and the target can take the instance.

        Raises:
          errors.OpPrereqError: see the messages.
        """
        self.instance = instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)
        for idx, disk in enumerate(self.cfg.GetInstanceDisks(instance.uuid)):
            if disk.dev_type not in DTS_COPYABLE:
                raise errors.OpPrereqError(
                    f"Instance disk {idx} has disk type {disk.dev_type} and is"
                    " not suitable for copying", errors.ECODE_STATE)
        target = self.cfg.GetNodeInfo(self.op.target_node_uuid)
        if target.uuid == instance.primary_node:
            raise errors.OpPrereqError(
                f"Instance {instance.name} is already on the node {target.name}",
                errors.ECODE_STATE)
        CheckNodeOnline(self, target.uuid)
        CheckNodeNotDrained(self, target.uuid)
        CheckNodeVmCapable(self, target.uuid)
        cluster = self.cfg.GetClusterInfo()
        if instance.admin_state == constants.ADMINST_UP:
            CheckNodeFreeMemory(self, target.uuid,
                                f"failing over instance {instance.name}",
                                cluster.FillBE(instance)["maxmem"],
                                instance.hypervisor,
                                cluster.hvparams.get(instance.hypervisor))
        else:
            self.LogInfo("Not checking memory on the secondary node as"
                         " instance will not be started")
        CheckInstanceBridgesExist(self, instance, node_uuid=target.uuid)

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Stop, copy and verify the disks, switch the config, start again.

        Raises:
          errors.OpExecError: a step failed; before the configuration
            changed, the copies on the target are removed and the instance
            is still where it was.
        """
        instance = self.instance
        source = self.cfg.GetNodeInfo(instance.primary_node)
        target = self.cfg.GetNodeInfo(self.op.target_node_uuid)
        self.LogInfo("Shutting down instance %s on source node %s",
                     instance.name, source.name)
        result = self.rpc.call_instance_shutdown(
            source.uuid, instance, self.op.shutdown_timeout, _Reason(self))
        if self.op.ignore_consistency:
            result.Warn(f"Could not shutdown instance {instance.name} on node"
                        f" {source.name}. Proceeding anyway. Please make sure"
                        f" node {source.name} is down. Error details",
                        self.LogWarning)
        else:
            result.Raise(f"Could not shutdown instance {instance.name} on node"
                         f" {source.name}")
        CreateDisks(self, instance, target_node_uuid=target.uuid)
        try:
            for idx, disk in enumerate(self.cfg.GetInstanceDisks(instance.uuid)):
                DiskTransfer(self, feedback_fn, source.uuid, target.uuid, disk,
                             instance, idx).Run()
        except errors.OpExecError as err:
            self.LogWarning("Some disks failed to copy, aborting")
            RemoveDisks(self, instance, target_node_uuid=target.uuid)
            raise errors.OpExecError(f"Errors during disk copy: {err}") from err
        SetInstancePrimaryNode(self.cfg, instance, target.uuid, feedback_fn)
        self.LogInfo("Removing the disks on the original node")
        RemoveDisks(self, instance, target_node_uuid=source.uuid)
        if instance.admin_state == constants.ADMINST_UP:
            self._StartOnTarget(target)

    def _StartOnTarget(self, target: objects.Node) -> None:
        self.LogInfo("Starting instance %s on node %s", self.instance.name,
                     target.name)
        if not AssembleInstanceDisks(self, self.instance,
                                     ignore_secondaries=True)[0]:
            ShutdownInstanceDisks(self, self.instance)
            raise errors.OpExecError("Can't activate the instance's disks")
        result = self.rpc.call_instance_start(target.uuid,
                                              (self.instance, None, None), False,
                                              _Reason(self))
        if result.fail_msg:
            ShutdownInstanceDisks(self, self.instance)
            raise errors.OpExecError(
                f"Could not start instance {self.instance.name} on node"
                f" {target.name}: {result.fail_msg}")


class DiskTransfer:
    """Copy one disk from a node to another through the master and verify it.

    The source is read chunk by chunk (transfer_read skips holes and zeros),
    each chunk is written at the same offset on the target (transfer_write;
    the master passes the encoded chunk through without decoding it), and
    the copy is accepted only when both nodes compute the same size and
    SHA-256 of the whole device.
    """

    _FEEDBACK_INTERVAL = 10.0  # seconds between progress lines

    def __init__(self, lu: Any, feedback_fn: Callable[..., None], source: str,
                 target: str, disk: objects.Disk, instance: objects.Instance,
                 idx: int, chunk_size: int = MOVE_CHUNK_SIZE) -> None:
        self.lu = lu
        self.rpc = lu.rpc
        self.feedback_fn = feedback_fn
        self.source, self.target = source, target
        self.disk, self.instance = disk, instance
        self.name = f"disk/{idx}"
        self.chunk_size = chunk_size
        self.copied = 0

    def _Node(self, node_uuid: str) -> str:
        return self.lu.cfg.GetNodeName(node_uuid)

    def Run(self) -> str:
        """Copy and verify; return the verified SHA-256.

        Raises:
          errors.OpExecError: a read, a write or the verification failed.
        """
        size = utils.FormatUnit(self.disk.size or 0, "h")
        self.feedback_fn(f" - copying {self.name} ({size})"
                         f" from {self._Node(self.source)} to"
                         f" {self._Node(self.target)}")
        start = time.monotonic()
        self._Copy()
        digest = self._Verify()
        self.feedback_fn(f" - {self.name}: {self.copied} bytes of data copied in"
                         f" {time.monotonic() - start:.1f}s, sha256 {digest}"
                         " identical on both nodes")
        return digest

    def _Copy(self) -> None:
        dev = (self.disk, self.instance)
        pos, last = 0, time.monotonic()
        while True:
            result = self.rpc.call_transfer_read(self.source, dev, pos,
                                                 self.chunk_size)
            result.Raise(f"Cannot read {self.name} on node"
                         f" {self._Node(self.source)}")
            reply = result.payload
            size, offset, data = reply["size"], reply["offset"], reply["data"]
            if offset < pos or (data is None and offset == pos < size):
                # Never loop on a node that stops making progress.
                raise errors.OpExecError(
                    f"Node {self._Node(self.source)} answered offset {offset} to"
                    f" a read of {self.name} at {pos}")
            if data is None:
                if offset >= size:
                    return
                pos = offset
                continue
            result = self.rpc.call_transfer_write(self.target, dev, offset, data)
            result.Raise(f"Cannot write {self.name} on node"
                         f" {self._Node(self.target)}")
            if not isinstance(result.payload, int) or result.payload <= 0:
                raise errors.OpExecError(
                    f"Node {self._Node(self.target)} wrote {result.payload!r}"
                    f" bytes of {self.name} at {offset}")
            pos = offset + result.payload
            self.copied += result.payload
            if time.monotonic() - last >= self._FEEDBACK_INTERVAL:
                self.feedback_fn(f" - {self.name}: {100.0 * pos / size:.1f}%"
                                 " done")
                last = time.monotonic()

    def _Verify(self) -> str:
        """Checksum on both nodes at once and compare.

        Raises:
          errors.OpExecError: a checksum failed or they differ.
        """
        dev = (self.disk, self.instance)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(self.rpc.call_transfer_checksum, node, dev)
                       for node in (self.source, self.target)]
            results = [future.result() for future in futures]
        for node, result in zip((self.source, self.target), results):
            result.Raise(f"Cannot checksum {self.name} on node {self._Node(node)}")
        src, dst = results[0].payload, results[1].payload
        if (src["size"], src["sha256"]) != (dst["size"], dst["sha256"]):
            raise errors.OpExecError(
                f"Verification of {self.name} failed: the copy on"
                f" {self._Node(self.target)} ({dst['size']} bytes, sha256"
                f" {dst['sha256']}) differs from the original on"
                f" {self._Node(self.source)} ({src['size']} bytes, sha256"
                f" {src['sha256']})")
        return src["sha256"]
