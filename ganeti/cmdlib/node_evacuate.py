"""Emptying a node: gnt-node migrate and gnt-node evacuate.

Mirrors LUNodeMigrate and LUNodeEvacuate of Ganeti's lib/cmdlib/node.py and
LoadNodeEvacResult of lib/cmdlib/common.py. Neither LU moves an instance
itself: each submits one job per instance (OP_INSTANCE_MIGRATE, or what the
allocator planned for an evacuation), so the instances move in parallel and
one failing instance does not stop the others.
"""

from __future__ import annotations

import logging
from typing import Any

from ganeti import constants, errors, locking, opcodes, utils
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU, ResultWithJobs
from ganeti.cmdlib.common import ExpandNodeUuidAndName, ShareAll
from ganeti.cmdlib.instance_utils import CheckIAllocatorOrNode

logger = logging.getLogger(__name__)

# Ganeti's NODE_EVAC_* modes.
NODE_EVAC_PRI = "primary-only"
NODE_EVAC_SEC = "secondary-only"
NODE_EVAC_ALL = "all"
REPLACE_DISK_CHG = "replace_new_secondary"


def _GetNodePrimaryInstances(cfg: Any, node_uuid: str) -> list[Any]:
    return [inst for inst in cfg.GetAllInstancesInfo().values()
            if inst.primary_node == node_uuid]


def _GetNodeSecondaryInstances(cfg: Any, node_uuid: str) -> list[Any]:
    return [inst for inst in cfg.GetAllInstancesInfo().values()
            if node_uuid in cfg.GetInstanceSecondaryNodes(inst.uuid)]


class LUNodeMigrate(LogicalUnit):
    """Migrate every primary instance of a node away (one job each)."""

    HPATH = "node-migrate"
    HTYPE = constants.HTYPE_NODE
    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.op.node_uuid, self.op.node_name = ExpandNodeUuidAndName(
            self.cfg, self.op.node_uuid, self.op.node_name)
        self.share_locks = ShareAll()
        self.needed_locks = {locking.LEVEL_NODE: [self.op.node_uuid]}

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"NODE_NAME": self.op.node_name,
                "ALLOW_RUNTIME_CHANGES": self.op.allow_runtime_changes}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode()]
        return nodes, nodes

    def CheckPrereq(self) -> None:
        """Nothing to check: each migration job checks its own instance."""

    def Exec(self, feedback_fn: Any) -> ResultWithJobs:
        """Submit one OP_INSTANCE_MIGRATE job per primary instance."""
        jobs = [[opcodes.OpInstanceMigrate(
            instance_name=inst.name, mode=self.op.mode, live=self.op.live,
            iallocator=self.op.iallocator, target_node=self.op.target_node,
            allow_runtime_changes=self.op.allow_runtime_changes,
            ignore_ipolicy=self.op.ignore_ipolicy)]
            for inst in sorted(_GetNodePrimaryInstances(self.cfg,
                                                        self.op.node_uuid),
                               key=lambda inst: inst.name)]
        if not jobs:
            feedback_fn(f"No primary instances on node {self.op.node_name}")
        return ResultWithJobs(jobs)


def LoadNodeEvacResult(lu: Any, alloc_result: Any, early_release: bool,
                       use_nodes: bool) -> list[list[Any]]:
    """The jobs of a node-evacuate or change-group allocator answer.

    Args:
      alloc_result: (moved, failed, jobs) as the allocator returned them.
      early_release: set on the opcodes that have the parameter.
      use_nodes: name the target nodes (not groups) in the feedback.

    Raises:
      errors.OpExecError: the allocator could not place some instances.
    """
    moved, failed, jobs = alloc_result
    if failed:
        reason = utils.CommaJoin(f"{name} ({why})" for name, why in failed)
        lu.LogWarning("Unable to evacuate instances %s", reason)
        raise errors.OpExecError(f"Unable to evacuate instances {reason}")
    if moved:
        lu.LogInfo("Instances to be moved: %s", utils.CommaJoin(
            f"{name} (to {utils.CommaJoin(nodes) if use_nodes else group})"
            for name, group, nodes in moved))
    result = []
    for ops in jobs:
        loaded = [opcodes.OpCode.LoadOpCode(op) for op in ops]
        for op in loaded:
            if hasattr(op, "early_release"):
                op.early_release = early_release
        result.append(loaded)
    return result


class LUNodeEvacuate(NoHooksLU):
    """Move the primary or secondary instances off a node (one job each)."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises errors.OpPrereqError: both an allocator and a node given."""
        CheckIAllocatorOrNode(self, "iallocator", "remote_node")

    def ExpandNames(self) -> None:
        """Expand the nodes; lock instances, groups and nodes (shared).

        Raises:
          errors.OpPrereqError: unknown node, the node itself as target, or
            a target node with a mode other than secondary-only.
        """
        self.op.node_uuid, self.op.node_name = ExpandNodeUuidAndName(
            self.cfg, self.op.node_uuid, self.op.node_name)
        if self.op.remote_node is not None:
            self.op.remote_node_uuid, self.op.remote_node = ExpandNodeUuidAndName(
                self.cfg, self.op.remote_node_uuid, self.op.remote_node)
            if self.op.node_uuid == self.op.remote_node_uuid:
                raise errors.OpPrereqError("Can not use evacuated node as a new"
                                           " secondary node", errors.ECODE_INVAL)
            if self.op.mode != NODE_EVAC_SEC:
                raise errors.OpPrereqError("Without the use of an iallocator only"
                                           " secondary instances can be evacuated",
                                           errors.ECODE_INVAL)
        self.share_locks = ShareAll()
        self.needed_locks = {locking.LEVEL_INSTANCE: [],
                             locking.LEVEL_NODEGROUP: [], locking.LEVEL_NODE: []}
        # Optimistic: checked again once the locks are held.
        self.lock_nodes = self._DetermineNodes()

    def _DetermineNodes(self) -> set[str]:
        if self.op.remote_node is None:
            node = self.cfg.GetNodeInfo(self.op.node_uuid)
            group = self.cfg.GetNodeGroup(node.group)
            return {self.op.node_uuid, *(group.members if group else [])}
        return {self.op.node_uuid, self.op.remote_node_uuid}

    def _DetermineInstances(self) -> list[Any]:
        if self.op.mode == NODE_EVAC_PRI:
            return _GetNodePrimaryInstances(self.cfg, self.op.node_uuid)
        if self.op.mode == NODE_EVAC_SEC:
            return _GetNodeSecondaryInstances(self.cfg, self.op.node_uuid)
        raise errors.OpPrereqError("Due to an issue with the iallocator interface"
                                   " it is not possible to evacuate all instances"
                                   " at once; specify explicitly whether to"
                                   " evacuate primary or secondary instances",
                                   errors.ECODE_INVAL)

    def _GroupsOf(self, node_uuids: set[str]) -> set[str]:
        return {self.cfg.GetNodeInfo(uuid).group for uuid in node_uuids}

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_INSTANCE:
            self.needed_locks[locking.LEVEL_INSTANCE] = sorted(
                inst.name for inst in self._DetermineInstances())
        elif level == locking.LEVEL_NODEGROUP:
            self.needed_locks[locking.LEVEL_NODEGROUP] = sorted(
                self._GroupsOf(self.lock_nodes))
        elif level == locking.LEVEL_NODE:
            self.needed_locks[locking.LEVEL_NODE] = sorted(self.lock_nodes)

    def CheckPrereq(self) -> None:
        """Verify the optimistic locks still cover what is to be moved.

        Raises:
          errors.OpPrereqError, errors.OpExecError: something changed since
            the locks were taken (retry), or the target node holds an
            instance's primary.
        """
        owned_instances = self.owned_locks(locking.LEVEL_INSTANCE)
        owned_nodes = self.owned_locks(locking.LEVEL_NODE)
        owned_groups = self.owned_locks(locking.LEVEL_NODEGROUP)
        need_nodes = self._DetermineNodes()
        if not owned_nodes.issuperset(need_nodes):
            raise errors.OpPrereqError(
                f"Nodes in same group as '{self.op.node_name}' changed since locks"
                f" were acquired, current nodes are are"
                f" '{utils.CommaJoin(sorted(need_nodes))}', used to be"
                f" '{utils.CommaJoin(sorted(owned_nodes))}'; retry the operation",
                errors.ECODE_STATE)
        wanted_groups = self._GroupsOf(owned_nodes)
        if owned_groups != wanted_groups:
            raise errors.OpExecError(
                "Node groups changed since locks were acquired, current groups"
                f" are '{utils.CommaJoin(sorted(wanted_groups))}', used to be"
                f" '{utils.CommaJoin(sorted(owned_groups))}'; retry the operation")
        self.instances = self._DetermineInstances()
        self.instance_names = sorted(inst.name for inst in self.instances)
        if set(self.instance_names) != owned_instances:
            raise errors.OpExecError(
                f"Instances on node '{self.op.node_name}' changed since locks were"
                f" acquired, current instances are"
                f" '{utils.CommaJoin(self.instance_names)}', used to be"
                f" '{utils.CommaJoin(sorted(owned_instances))}'; retry the"
                " operation")
        if self.instance_names:
            self.LogInfo("Evacuating instances from node '%s': %s",
                         self.op.node_name, utils.CommaJoin(
                             utils.NiceSort(self.instance_names)))
        else:
            self.LogInfo("No instances to evacuate from node '%s'",
                         self.op.node_name)
        if self.op.remote_node is not None:
            for inst in self.instances:
                if inst.primary_node == self.op.remote_node_uuid:
                    raise errors.OpPrereqError(
                        f"Node {self.op.remote_node} is the primary node of"
                        f" instance {inst.name}, cannot use it as secondary",
                        errors.ECODE_INVAL)

    def Exec(self, feedback_fn: Any) -> ResultWithJobs:
        """Plan with the allocator (or replace secondaries) and submit jobs.

        Raises:
          errors.OpPrereqError: the allocator failed.
          errors.OpExecError: it could not place some instances.
        """
        if not self.instance_names:
            return ResultWithJobs([])
        if self.op.iallocator is not None:
            from ganeti import iallocator

            req = iallocator.IAReqNodeEvac(evac_mode=self.op.mode,
                                           instances=list(self.instance_names))
            ial = iallocator.IAllocator(self.cfg, self.rpc, req)
            ial.Run(self.op.iallocator)
            if not ial.success:
                raise errors.OpPrereqError(
                    f"Can't compute node evacuation using iallocator"
                    f" '{self.op.iallocator}': {ial.info}", errors.ECODE_NORES)
            jobs = LoadNodeEvacResult(self, ial.result, self.op.early_release,
                                      True)
        else:
            jobs = [[opcodes.OpInstanceReplaceDisks(
                instance_name=name, remote_node=self.op.remote_node, disks=[],
                mode=REPLACE_DISK_CHG, early_release=self.op.early_release)]
                for name in self.instance_names]
        return ResultWithJobs(jobs)
