"""Logical units changing nodes: LUNodeSetParams, LUNodeRemove.

Mirrors Ganeti's lib/cmdlib/node.py (LUNodeAdd is in node_add.py). The
candidate pool logic they share with LUNodeAdd is in node_roles.py.

Two deliberate differences from Ganeti, both for the safety of the
configuration (issue 4):
- A change of role is applied in one save after every RPC it needs
  succeeded: a node is promoted only once it sent its certificate digest and
  received the current config.data (node_roles.PrepareCandidate), so a failed
  RPC leaves the configuration untouched.
- Taking the last master candidate besides the master out of the pool
  (offline, drained, demoted, not master capable) is refused unless --force
  is given or another node gets promoted, since the cluster would then have
  no node able to take over from the master. Ganeti allows it whenever no
  other node could be promoted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, netutils
from ganeti.cmdlib import node_roles
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import (
    ExpandNodeUuidAndName,
    GetNodeNdParams,
    RunPostHook,
    ShareAll,
)
from ganeti.utils.text import CommaJoin

logger = logging.getLogger(__name__)

FeedbackFn = Callable[..., None]

# Node parameters that only the cluster or a group may set (Ganeti's
# constants.NDC_GLOBALS).
NDC_GLOBALS = frozenset([defaults.ND_EXCLUSIVE_STORAGE])
# Static hypervisor and disk state parameters (Ganeti's HVSTS/DSS types).
_HVST_PARAMETER_TYPES = dict.fromkeys(
    ["mem_total", "mem_node", "mem_hv", "cpu_total", "cpu_node"],
    defaults.VTYPE_INT)
_DSS_PARAMETER_TYPES = dict.fromkeys(
    ["disk_total", "disk_reserved", "disk_overhead"], defaults.VTYPE_INT)
# Disk templates mirrored over the secondary network (constants.DTS_INT_MIRROR).
_DTS_INT_MIRROR = frozenset([constants.DT_DRBD8])

_MASTER_ROLE_MSG = "The master role can be changed only via master-failover"


def GetUpdatedParams(old_params: dict[str, Any] | None,
                     update_dict: dict[str, Any]) -> dict[str, Any]:
    """old_params updated with update_dict; "default" values delete a key."""
    params = dict(old_params or {})
    for key, value in update_dict.items():
        if value == defaults.VALUE_DEFAULT:
            params.pop(key, None)
        else:
            params[key] = value
    return params


def CheckParamsNotGlobal(params: dict[str, Any], glob_pars: frozenset[str],
                         kind: str, bad_levels: str, good_levels: str) -> None:
    """Refuse parameters that may only be set at a higher level.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) naming the parameters.
    """
    used = sorted(glob_pars.intersection(params))
    if used:
        raise errors.OpPrereqError(
            f"The following {kind} parameters are global and cannot be"
            f" customized at {bad_levels} level, please modify them at"
            f" {good_levels} level: {CommaJoin(used)}", errors.ECODE_INVAL)


def CheckNodeNdParams(old: dict[str, Any] | None,
                      changes: dict[str, Any]) -> dict[str, Any]:
    """Return the node's new ndparams after changes, checked and converted.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) an unknown parameter, a value of
        the wrong type, or a cluster/group-only parameter.
    """
    new_params = GetUpdatedParams(old, changes)
    try:
        defaults.ForceDictType(new_params, defaults.NDS_PARAMETER_TYPES)
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid node parameters: {err}",
                                   errors.ECODE_INVAL) from err
    CheckParamsNotGlobal(changes, NDC_GLOBALS, "node", "node", "cluster or group")
    return new_params


def _MergeParams(what: str, key_types: dict[str, str], new: Any,
                 old: dict[str, Any] | None) -> dict[str, Any]:
    """old updated with new, checked against key_types.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) not a dict, unknown key, bad value.
    """
    if not isinstance(new, dict):
        raise errors.OpPrereqError(f"Invalid {what}: expected a dictionary",
                                   errors.ECODE_INVAL)
    values = GetUpdatedParams(old, new)
    try:
        defaults.ForceDictType(values, key_types)
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid {what}: {err}",
                                   errors.ECODE_INVAL) from err
    return values


def _CheckKey(kind: str, key: str, valid: frozenset[str]) -> None:
    if key not in valid:
        raise errors.OpPrereqError(f"Invalid {kind} '{key}'; valid ones are:"
                                   f" {CommaJoin(sorted(valid))}",
                                   errors.ECODE_INVAL)


def MergeAndVerifyHvState(new: dict[str, Any],
                          old: dict[str, Any] | None) -> dict[str, Any]:
    """The static hypervisor state {hv: {param: value}} after new.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) unknown hypervisor or parameter.
    """
    merged = {key: dict(value) for key, value in (old or {}).items()}
    for hv_name, params in new.items():
        _CheckKey("hypervisor", hv_name, constants.HYPER_TYPES)
        merged[hv_name] = _MergeParams(f"hypervisor state of '{hv_name}'",
                                       _HVST_PARAMETER_TYPES, params,
                                       merged.get(hv_name))
    return merged


def MergeAndVerifyDiskState(new: dict[str, Any],
                            old: dict[str, Any] | None) -> dict[str, Any]:
    """The static disk state {storage type: {name: {param: value}}} after new.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) unknown storage type or parameter.
    """
    merged = {kind: {name: dict(params) for name, params in units.items()}
              for kind, units in (old or {}).items()}
    for kind, units in new.items():
        _CheckKey("storage type", kind, constants.STORAGE_TYPES)
        if not isinstance(units, dict):
            raise errors.OpPrereqError(f"Invalid disk state of '{kind}': expected"
                                       " a dictionary", errors.ECODE_INVAL)
        current = merged.setdefault(kind, {})
        for name, params in units.items():
            current[name] = _MergeParams(f"disk state of '{kind}/{name}'",
                                         _DSS_PARAMETER_TYPES, params,
                                         current.get(name))
    return merged


def _IsSingleHomed(node: Any) -> bool:
    return node.secondary_ip == node.primary_ip


class LUNodeSetParams(LogicalUnit):
    """Change a node's role, capabilities, secondary IP and parameters."""

    HPATH = "node-modify"
    HTYPE = constants.HTYPE_NODE
    REQ_BGL = False

    # --- arguments and locks ------------------------------------------------

    def CheckArguments(self) -> None:
        """Raises OpPrereqError for an unknown node or impossible requests."""
        self.op.node_uuid, self.op.node_name = ExpandNodeUuidAndName(
            self.cfg, self.op.node_uuid, self.op.node_name)
        all_mods = [self.op.offline, self.op.master_candidate, self.op.drained,
                    self.op.master_capable, self.op.vm_capable,
                    self.op.secondary_ip, self.op.ndparams, self.op.hv_state,
                    self.op.disk_state, self.op.powered]
        if all_mods.count(None) == len(all_mods):
            raise errors.OpPrereqError("Please pass at least one modification",
                                       errors.ECODE_INVAL)
        roles = [self.op.offline, self.op.master_candidate, self.op.drained]
        if roles.count(True) > 1:
            raise errors.OpPrereqError("Can't set the node into more than one"
                                       " state at the same time",
                                       errors.ECODE_INVAL)
        # Whether the node may leave the candidate pool.
        self.might_demote = (self.op.master_candidate is False
                             or self.op.offline is True or self.op.drained is True
                             or self.op.master_capable is False)
        if self.op.secondary_ip and \
                not netutils.IP4Address.IsValid(self.op.secondary_ip):
            raise errors.OpPrereqError(
                f"Secondary IP ({self.op.secondary_ip}) needs to be a valid IPv4"
                " address", errors.ECODE_INVAL)
        if self.op.ndparams:
            # Syntax only here; CheckPrereq merges into the locked node's.
            CheckNodeNdParams({}, self.op.ndparams)
        self.lock_all = bool(self.op.auto_promote and self.might_demote)
        self.lock_instances = self.op.secondary_ip is not None

    def _AffectedInstances(self) -> dict[str, Any]:
        """Instances mirrored over this node's secondary IP (uuid -> inst)."""
        result = {}
        for uuid, inst in self.cfg.GetAllInstancesInfo().items():
            if (self.cfg.GetInstanceDiskTemplate(uuid) in _DTS_INT_MIRROR
                    and self.op.node_uuid in self.cfg.GetInstanceNodes(uuid)):
                result[uuid] = inst
        return result

    def ExpandNames(self) -> None:
        if self.lock_all:
            # Promotions may touch any node.
            self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
        else:
            self.needed_locks = {locking.LEVEL_NODE: [self.op.node_uuid]}
        # The resource lock at least: changing a node affects running jobs.
        self.needed_locks[locking.LEVEL_NODE_RES] = \
            self.needed_locks[locking.LEVEL_NODE]
        self.share_locks = ShareAll()
        self.share_locks[locking.LEVEL_NODE] = 0
        self.share_locks[locking.LEVEL_NODE_RES] = 0
        if self.lock_instances:
            self.needed_locks[locking.LEVEL_INSTANCE] = sorted(
                inst.name for inst in self._AffectedInstances().values())

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {
            "OP_TARGET": self.op.node_name,
            "MASTER_CANDIDATE": str(self.op.master_candidate),
            "OFFLINE": str(self.op.offline),
            "DRAINED": str(self.op.drained),
            "MASTER_CAPABLE": str(self.op.master_capable),
            "VM_CAPABLE": str(self.op.vm_capable),
        }

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(), self.op.node_uuid]
        return nodes, nodes

    # --- prerequisites --------------------------------------------------------

    def CheckPrereq(self) -> None:
        """Decide the new role and check every change is allowed.

        Raises:
          errors.OpPrereqError: a change is not allowed; nothing changed.
        """
        node = self.cfg.GetNodeInfo(self.op.node_uuid)
        if node is None:
            raise errors.OpPrereqError(f"Node '{self.op.node_name}' not known",
                                       errors.ECODE_NOENT)
        self._CheckMasterAndCapabilities(node)
        self._CheckCandidatePool(node)
        self.old_role = node_roles.GetFlagsRole(node)
        self._DropIneffectiveChanges(node)
        self._CheckPowered(node)
        self.new_role = self._ComputeNewRole(node)
        if self.old_role == node_roles.ROLE_OFFLINE and \
                self.new_role != self.old_role:
            self._CheckNodeBack(node)
        if self.op.secondary_ip:
            self._CheckSecondaryIp(node)
        if self.op.ndparams:
            self.new_ndparams = CheckNodeNdParams(node.ndparams, self.op.ndparams)
        if self.op.hv_state:
            self.new_hv_state = MergeAndVerifyHvState(self.op.hv_state,
                                                      node.hv_state_static)
        if self.op.disk_state:
            self.new_disk_state = MergeAndVerifyDiskState(self.op.disk_state,
                                                          node.disk_state_static)

    def _CheckMasterAndCapabilities(self, node: Any) -> None:
        is_master = node.uuid == self.cfg.GetMasterNode()
        if is_master and (self.op.master_candidate is not None
                          or self.op.drained is not None
                          or self.op.offline is not None
                          or self.op.master_capable is False):
            raise errors.OpPrereqError(_MASTER_ROLE_MSG, errors.ECODE_INVAL)
        if self.op.master_candidate and not node.master_capable and \
                self.op.master_capable is not True:
            raise errors.OpPrereqError(
                f"Node {node.name} is not master capable, cannot make it a"
                " master candidate", errors.ECODE_STATE)
        if self.op.vm_capable is False:
            primary, secondary = self.cfg.GetNodeInstances(node.uuid)
            if primary or secondary:
                raise errors.OpPrereqError(
                    f"Node {node.name} hosts instances, cannot unset the"
                    " vm_capable flag", errors.ECODE_STATE)

    def _CheckCandidatePool(self, node: Any) -> None:
        """Refuse to shrink the pool below its size (or to nothing).

        Raises:
          errors.OpPrereqError: (ECODE_STATE) see the module doc.
        """
        if not (node.master_candidate and self.might_demote):
            return
        mc_remaining, mc_should, _ = self.cfg.GetMasterCandidateStats([node.uuid])
        if mc_remaining < mc_should and not self.lock_all:
            raise errors.OpPrereqError(
                "Not enough master candidates, please pass auto promote option"
                " to allow promotion (--auto-promote or RAPI auto_promote=True)",
                errors.ECODE_STATE)
        cluster = self.cfg.GetClusterInfo()
        if self.op.force or cluster.candidate_pool_size <= 1:
            return
        master = self.cfg.GetMasterNode()
        others = [other for other in self.cfg.GetAllNodesInfo().values()
                  if other.master_candidate and other.uuid not in (node.uuid, master)]
        promotable = 0
        if self.lock_all:
            promotable = node_roles.CountPromotableNodes(self.cfg, [node.uuid])
        if not others and not promotable:
            raise errors.OpPrereqError(
                f"Node {node.name} is the last master candidate besides the"
                " master; without it no node could take over the master role."
                " Make another node a master candidate first (or use --force)",
                errors.ECODE_STATE)

    def _DropIneffectiveChanges(self, node: Any) -> None:
        for attr in node_roles.ROLE_FLAGS:
            if getattr(self.op, attr) is False and not getattr(node, attr):
                self.LogInfo("Ignoring request to unset flag %s, already unset",
                             attr)
                setattr(self.op, attr, None)

    def _CheckPowered(self, node: Any) -> None:
        ndparams = GetNodeNdParams(self.cfg, node)
        if ndparams.get(defaults.ND_OOB_PROGRAM):
            if self.op.offline is False and not (node.powered or self.op.powered):
                raise errors.OpPrereqError(
                    f"Node {self.op.node_name} needs to be turned on before its"
                    " offline status can be reset", errors.ECODE_STATE)
        elif self.op.powered is not None:
            raise errors.OpPrereqError(
                f"Unable to change powered state for node {self.op.node_name} as"
                " it does not support out-of-band handling", errors.ECODE_STATE)

    def _ComputeNewRole(self, node: Any) -> str:
        """The role after the change (may auto-promote or demote)."""
        if (self.op.drained is False or self.op.offline is False
                or (self.op.master_capable and not node.master_capable)):
            if node_roles.DecideSelfPromotion(self, [node.uuid]):
                self.op.master_candidate = True
                self.LogInfo("Auto-promoting node to master candidate")
        if self.op.master_capable is False and node.master_candidate:
            self.LogInfo("Demoting from master candidate")
            self.op.master_candidate = False
        if self.op.master_candidate:
            return node_roles.ROLE_CANDIDATE
        if self.op.drained:
            return node_roles.ROLE_DRAINED
        if self.op.offline:
            return node_roles.ROLE_OFFLINE
        if False in [self.op.master_candidate, self.op.drained, self.op.offline]:
            # Unsetting the only flag set.
            return node_roles.ROLE_REGULAR
        return self.old_role

    def _CheckNodeBack(self, node: Any) -> None:
        """A node leaving the offline state must answer with our version.

        Raises:
          errors.OpPrereqError: (ECODE_STATE) it does not.
        """
        result = self.rpc.call_version([node.uuid])[node.uuid]
        if result.fail_msg:
            raise errors.OpPrereqError(
                f"Node {node.name} is being de-offlined but fails to report its"
                f" version: {result.fail_msg}", errors.ECODE_STATE)
        if result.payload != constants.PROTOCOL_VERSION:
            raise errors.OpPrereqError(
                f"Node {node.name} is being de-offlined but runs protocol"
                f" version {result.payload}, the master"
                f" {constants.PROTOCOL_VERSION}", errors.ECODE_STATE)
        self.LogWarning("Transitioning node from offline to online state without"
                        " using re-add. Please make sure the node is healthy!")

    def _CheckSecondaryIp(self, node: Any) -> None:
        """Check a secondary IP change (Ganeti's rules, see gnt-node(8)).

        Raises:
          errors.OpPrereqError: the change is not allowed.
        """
        master = self.cfg.GetMasterNodeInfo()
        sip = self.op.secondary_ip
        if _IsSingleHomed(master) and sip != node.primary_ip:
            if not (self.op.force and node.uuid == master.uuid):
                raise errors.OpPrereqError(
                    "Changing the secondary ip on a single-homed cluster requires"
                    " the --force option to be passed, and the target node to be"
                    " the master", errors.ECODE_INVAL)
            self.LogWarning("Transitioning from single-homed to multi-homed"
                            " cluster; all nodes will require a secondary IP"
                            " address")
        elif not _IsSingleHomed(master) and sip == node.primary_ip:
            if not (self.op.force and node.uuid == master.uuid):
                raise errors.OpPrereqError(
                    "Cannot set the secondary IP to be the same as the primary IP"
                    " on a multi-homed cluster, unless the --force option is"
                    " passed, and the target node is the master",
                    errors.ECODE_INVAL)
            self.LogWarning("Transitioning from multi-homed to single-homed"
                            " cluster; secondary IP addresses will have to be"
                            " removed")
        self._CheckAffectedInstances(node)
        if node.offline:
            return
        result = self.rpc.call_node_has_ip_address(node.uuid, sip)
        result.Raise(f"Failure checking secondary ip on node {node.name}",
                     prereq=True, ecode=errors.ECODE_ENVIRON)
        if not result.payload:
            raise errors.OpPrereqError(
                "Node claims it doesn't have the secondary ip you gave"
                f" ({sip}), please fix and re-run this command",
                errors.ECODE_ENVIRON)

    def _CheckAffectedInstances(self, node: Any) -> None:
        affected = self._AffectedInstances()
        names = sorted(inst.name for inst in affected.values())
        owned = self.owned_locks(locking.LEVEL_INSTANCE)
        if self.glm is not None and set(names) - owned:
            raise errors.OpPrereqError(
                f"Instances affected by changing node {node.name}'s secondary IP"
                f" address have changed since locks were acquired, wanted"
                f" '{CommaJoin(names)}', have '{CommaJoin(sorted(owned))}'; retry"
                " the operation", errors.ECODE_STATE)
        if node.offline and names:
            raise errors.OpPrereqError(
                "Cannot change secondary IP address: offline node has instances"
                f" ({CommaJoin(names)}) configured to use it", errors.ECODE_STATE)
        for inst in affected.values():
            if inst.admin_state == constants.ADMINST_UP:
                raise errors.OpPrereqError(
                    f"Instance '{inst.name}' is marked to be up, cannot change"
                    " secondary ip", errors.ECODE_STATE)

    # --- execution --------------------------------------------------------------

    def Exec(self, feedback_fn: FeedbackFn) -> list[tuple[str, str]]:
        """Apply the changes in one save; returns [(parameter, new value)].

        Raises:
          errors.OpExecError: a node to promote could not be prepared (the
            configuration is then unchanged).
        """
        node = self.cfg.GetNodeInfo(self.op.node_uuid)
        role_changed = self.new_role != self.old_role
        digest = None
        if role_changed and self.new_role == node_roles.ROLE_CANDIDATE:
            # Before any change: the node must answer and be up to date.
            digest = node_roles.PrepareCandidate(self, node)
        result = self._ApplyParams(node)
        if role_changed:
            result.extend(self._ApplyRole(node, digest))
        self.cfg.Update(node, feedback_fn)
        if role_changed:
            self._AfterRoleChange(node, feedback_fn)
        return result

    def _ApplyParams(self, node: Any) -> list[tuple[str, str]]:
        """Set the non-role changes on the node object (not saved)."""
        result: list[tuple[str, str]] = []
        if self.op.ndparams:
            node.ndparams = self.new_ndparams
        if self.op.powered is not None:
            node.powered = self.op.powered
        if self.op.hv_state:
            node.hv_state_static = self.new_hv_state
        if self.op.disk_state:
            node.disk_state_static = self.new_disk_state
        for attr in ("master_capable", "vm_capable"):
            value = getattr(self.op, attr)
            if value is not None:
                setattr(node, attr, value)
                result.append((attr, str(value)))
        if self.op.secondary_ip:
            node.secondary_ip = self.op.secondary_ip
            result.append(("secondary_ip", self.op.secondary_ip))
        return result

    def _ApplyRole(self, node: Any, digest: str | None) -> list[tuple[str, str]]:
        """Set the new role flags and candidate certificate (not saved)."""
        old_flags = node_roles.ROLE_TO_FLAGS[self.old_role]
        new_flags = node_roles.ROLE_TO_FLAGS[self.new_role]
        result = [(name, str(new)) for name, old, new in
                  zip(node_roles.ROLE_FLAGS, old_flags, new_flags) if old != new]
        node_roles.SetRole(node, self.new_role)
        if self.new_role == node_roles.ROLE_CANDIDATE:
            assert digest is not None
            self.cfg.AddNodeToCandidateCerts(node.uuid, digest)
        elif self.old_role == node_roles.ROLE_CANDIDATE:
            # Its noded calls are no longer accepted once ssconf is out.
            self.cfg.RemoveNodeFromCandidateCerts(node.uuid)
        return result

    def _AfterRoleChange(self, node: Any, feedback_fn: FeedbackFn) -> None:
        """Clean the node up and refill the pool after a saved role change."""
        # After the save, so that the node gets no further configuration
        # copies. A node back from offline may hold a stale config.data too.
        if self.new_role != node_roles.ROLE_CANDIDATE and \
                self.new_role != node_roles.ROLE_OFFLINE and \
                self.old_role in (node_roles.ROLE_CANDIDATE,
                                  node_roles.ROLE_OFFLINE):
            msg = self.rpc.call_node_demote_from_mc(node.uuid).fail_msg
            if msg:
                self.LogWarning("Node failed to demote itself: %s", msg)
        if self.lock_all:
            node_roles.AdjustCandidatePool(self, [node.uuid], feedback_fn)


class LUNodeRemove(LogicalUnit):
    """Remove a node from the cluster (it forgets the cluster and stops)."""

    HPATH = "node-remove"
    HTYPE = constants.HTYPE_NODE

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OP_TARGET": self.op.node_name, "NODE_NAME": self.op.node_name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        """Every node but the one removed (a dead node must stay removable)."""
        nodes = [uuid for uuid in self.cfg.GetNodeList()
                 if uuid != self.op.node_uuid]
        return nodes, nodes

    def CheckPrereq(self) -> None:
        """The node exists, is not the master and holds no instance.

        Raises:
          errors.OpPrereqError: otherwise (ECODE_NOENT, ECODE_INVAL).
        """
        self.op.node_uuid, self.op.node_name = ExpandNodeUuidAndName(
            self.cfg, self.op.node_uuid, self.op.node_name)
        node = self.cfg.GetNodeInfo(self.op.node_uuid)
        if node.uuid == self.cfg.GetMasterNode():
            raise errors.OpPrereqError("Node is the master node, failover to"
                                       " another node is required",
                                       errors.ECODE_INVAL)
        for inst_uuid in self.cfg.GetInstanceList():
            if node.uuid in self.cfg.GetInstanceNodes(inst_uuid):
                inst = self.cfg.GetInstanceInfo(inst_uuid)
                raise errors.OpPrereqError(
                    f"Instance {inst.name} is still running on the node, please"
                    " remove first", errors.ECODE_INVAL)
        self.node = node

    def Exec(self, feedback_fn: FeedbackFn) -> None:
        """Refill the pool, tell the node to leave, drop it from the config.

        The node is told to leave while still in the configuration (by
        UUID): an offline node is then not contacted, and no name lookup is
        needed for a node the configuration no longer knows.
        """
        node = self.node
        logger.info("Stopping the node daemon and removing configs from node %s",
                    node.name)
        cluster = self.cfg.GetClusterInfo()
        node_roles.AdjustCandidatePool(self, [node.uuid], feedback_fn)
        # The node's post hooks run while it still exists.
        RunPostHook(self, node.name)
        result = self.rpc.call_node_leave_cluster(node.uuid,
                                                  bool(cluster.modify_ssh_setup))
        if result.fail_msg and not result.offline:
            self.LogWarning("Errors encountered on the remote node while leaving"
                            " the cluster: %s", result.fail_msg)
        # Its calls are refused by every noded once this save is distributed.
        self.cfg.RemoveNodeFromCandidateCerts(node.uuid)
        self.context.RemoveNode(node)
        if cluster.modify_etc_hosts:
            result = self.rpc.call_etc_hosts_modify(
                self.cfg.GetMasterNode(), "remove", node.name, None)
            result.Warn("Can't update hosts file with new host data",
                        self.LogWarning)
