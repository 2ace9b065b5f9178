"""Logical units of node groups (Ganeti's lib/cmdlib/group.py).

LUGroupAdd, LUGroupRemove, LUGroupRename, LUGroupSetParams (hooks
group-add, group-remove, group-rename, group-modify; spec/hooks-and-os.md)
and LUGroupAssignNodes (no hooks).

A group stores only what was set on it (partial ndparams, diskparams and
ipolicy, as real config.data does); the effective values are filled from
the cluster when they are read (see ganeti/query/group.py). Group locks are
taken by group UUID. A new group's lock is created by mcpu from add_locks
(and dropped again if the job fails or is a dry run); a removed group's
lock is deleted after Exec through remove_locks.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, objects
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU
from ganeti.cmdlib.common import GetWantedNodes
from ganeti.utils.text import CommaJoin, NiceSort

logger = logging.getLogger(__name__)

#: Disk templates mirrored between nodes of one group (Ganeti's
#: DTS_INT_MIRROR): their instances must not be split across groups.
_DTS_INT_MIRROR = frozenset([constants.DT_DRBD8])

#: Static hypervisor state parameters (Ganeti's HVSTS_PARAMETER_TYPES).
_HVSTS_PARAMETER_TYPES = dict.fromkeys(
    ["mem_total", "mem_node", "mem_hv", "cpu_total", "cpu_node"],
    defaults.VTYPE_INT)
#: Static disk state parameters (Ganeti's DSS_PARAMETER_TYPES).
_DSS_PARAMETER_TYPES = dict.fromkeys(
    ["disk_total", "disk_reserved", "disk_overhead"], defaults.VTYPE_INT)
#: Storage types a disk state may describe (Ganeti's DS_VALID_TYPES).
_DS_VALID_TYPES = frozenset([constants.ST_LVM_VG])

#: Disk access modes (Ganeti's DISK_VALID_ACCESS_MODES).
_DISK_VALID_ACCESS_MODES = ("kernelspace", "userspace")
_LDP_ACCESS = "access"

_ISPEC_PARAMETER_TYPES = dict.fromkeys(defaults.ISPECS_PARAMETERS,
                                       defaults.VTYPE_INT)
_IPOLICY_PARAMETERS = (defaults.IPOLICY_VCPU_RATIO,
                       defaults.IPOLICY_SPINDLE_RATIO)

FeedbackFn = Callable[..., None]


# --- parameter helpers (Ganeti's cmdlib/common.py and objects.InstancePolicy) ---


def _GetUpdatedParams(old_params: dict[str, Any] | None,
                      update_dict: dict[str, Any]) -> dict[str, Any]:
    """old_params updated with update_dict; "default" values remove keys."""
    result = copy.deepcopy(old_params or {})
    for key, value in update_dict.items():
        if value == defaults.VALUE_DEFAULT:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _UpdateAndVerifySubDict(base: dict[str, Any], updates: dict[str, Any],
                            key_types: dict[str, str]) -> dict[str, Any]:
    """base with each sub-dict of updates merged in and type-checked.

    Raises:
      errors.TypeEnforcementError: an unknown key or a badly typed value.
    """
    result = copy.deepcopy(base)
    for key, value in updates.items():
        if not isinstance(value, dict):
            raise errors.OpPrereqError(
                f"Invalid parameters for '{key}': expected key=value pairs,"
                f" got {value!r}", errors.ECODE_INVAL)
        new = _GetUpdatedParams(base.get(key, {}), value)
        defaults.ForceDictType(new, key_types)
        result[key] = new
    return result


def _MergeAndVerifyHvState(op_input: dict[str, Any] | None,
                           obj_input: dict[str, Any] | None
                           ) -> dict[str, Any] | None:
    """The static hypervisor state after applying op_input (None: unchanged).

    Raises:
      errors.OpPrereqError: an unknown hypervisor.
      errors.TypeEnforcementError: an unknown parameter or bad value.
    """
    if not op_input:
        return None
    invalid = set(op_input) - constants.HYPER_TYPES
    if invalid:
        raise errors.OpPrereqError(
            "Invalid hypervisor(s) in hypervisor state:"
            f" {CommaJoin(sorted(invalid))}", errors.ECODE_INVAL)
    return _UpdateAndVerifySubDict(obj_input or {}, op_input,
                                   _HVSTS_PARAMETER_TYPES)


def _MergeAndVerifyDiskState(op_input: dict[str, Any] | None,
                             obj_input: dict[str, Any] | None
                             ) -> dict[str, Any] | None:
    """The static disk state after applying op_input (None: unchanged).

    Raises:
      errors.OpPrereqError: an unknown storage type.
      errors.TypeEnforcementError: an unknown parameter or bad value.
    """
    if not op_input:
        return None
    invalid = set(op_input) - _DS_VALID_TYPES
    if invalid:
        raise errors.OpPrereqError(
            f"Invalid storage type(s) in disk state: {CommaJoin(sorted(invalid))}",
            errors.ECODE_INVAL)
    base = obj_input or {}
    return {key: _UpdateAndVerifySubDict(base.get(key, {}), value,
                                         _DSS_PARAMETER_TYPES)
            for key, value in op_input.items()}


def _CheckDiskParams(diskparams: dict[str, Any]) -> None:
    """Type-check per-template disk parameters and refuse unknown ones.

    Converts values in place (e.g. "1000" to 1000).

    Raises:
      errors.OpPrereqError: an unknown template or parameter, or a bad
        access mode.
      errors.TypeEnforcementError: a badly typed value.
    """
    invalid = []
    for template, params in diskparams.items():
        if template not in defaults.DISK_DT_DEFAULTS:
            invalid.append(template)
            continue
        if not isinstance(params, dict):
            raise errors.OpPrereqError(
                f"Invalid disk parameters for template '{template}': expected"
                f" key=value pairs, got {params!r}", errors.ECODE_INVAL)
        defaults.ForceDictType(params, defaults.DISK_DT_TYPES)
        invalid.extend(f"{template}/{key}" for key in params
                       if key not in defaults.DISK_DT_DEFAULTS[template])
        access = params.get(_LDP_ACCESS, _DISK_VALID_ACCESS_MODES[0])
        if access not in _DISK_VALID_ACCESS_MODES:
            raise errors.OpPrereqError(
                f"Invalid value of '{template}:{_LDP_ACCESS}': '{access}'"
                f" (expected one of {CommaJoin(_DISK_VALID_ACCESS_MODES)})",
                errors.ECODE_INVAL)
    if invalid:
        raise errors.OpPrereqError(
            "While verify diskparams options: Provided option keys not"
            f" supported: {CommaJoin(invalid)}", errors.ECODE_INVAL)


def _CheckISpecs(ipolicy: dict[str, Any]) -> None:
    """Check the min/max spec pairs of a policy (Ganeti's CheckISpecSyntax).

    Raises:
      errors.ConfigurationError: a missing or inverted spec.
    """
    minmaxes = ipolicy[defaults.ISPECS_MINMAX]
    if not isinstance(minmaxes, list) or not minmaxes:
        raise errors.ConfigurationError("Empty minmax specifications")
    for minmax in minmaxes:
        missing = {defaults.ISPECS_MIN, defaults.ISPECS_MAX} - set(minmax)
        if missing:
            raise errors.ConfigurationError(
                f"Missing instance specification: {CommaJoin(sorted(missing))}")
        for key, spec in minmax.items():
            absent = [name for name in defaults.ISPECS_PARAMETERS
                      if name not in spec]
            if absent:
                raise errors.ConfigurationError(
                    f"Missing instance specs parameters for {key}:"
                    f" {CommaJoin(absent)}")
        for name in defaults.ISPECS_PARAMETERS:
            low = minmax[defaults.ISPECS_MIN][name]
            high = minmax[defaults.ISPECS_MAX][name]
            if low > high:
                raise errors.ConfigurationError(
                    f"Invalid specification of min/max values for {name}:"
                    f" {low}/{high}")


def _CheckIPolicySyntax(ipolicy: dict[str, Any]) -> None:
    """Check an instance policy (Ganeti's InstancePolicy.CheckParameterSyntax).

    Raises:
      errors.OpPrereqError: "Invalid instance policy: ..." (ECODE_INVAL).
    """
    try:
        wrong = set(ipolicy) - defaults.IPOLICY_ALL_KEYS
        if wrong:
            raise errors.ConfigurationError(
                f"Invalid keys in ipolicy: {CommaJoin(sorted(wrong))}")
        if defaults.ISPECS_MINMAX in ipolicy:
            _CheckISpecs(ipolicy)
        bad_dts = set(ipolicy.get(defaults.IPOLICY_DTS) or []) - \
            constants.DISK_TEMPLATES
        if bad_dts:
            raise errors.ConfigurationError(
                f"Invalid disk template(s) {CommaJoin(sorted(bad_dts))}")
        for key in _IPOLICY_PARAMETERS:
            if key in ipolicy and not isinstance(ipolicy[key], (int, float)):
                raise errors.ConfigurationError(
                    f"Invalid value for key '{key}': '{ipolicy[key]}'")
    except errors.ConfigurationError as err:
        raise errors.OpPrereqError(f"Invalid instance policy: {err}",
                                   errors.ECODE_INVAL) from err


def _UpdatedIPolicyValue(key: str, value: Any) -> Any:
    """One new (group) policy value, converted and type-checked.

    Raises:
      errors.OpPrereqError: a bad value, or std specs for a group.
      errors.TypeEnforcementError: a badly typed spec value.
    """
    if key in _IPOLICY_PARAMETERS:
        try:
            return float(value)
        except (TypeError, ValueError) as err:
            raise errors.OpPrereqError(
                f"Invalid value for attribute '{key}': '{value}', error: {err}",
                errors.ECODE_INVAL) from err
    if key == defaults.ISPECS_MINMAX:
        if not isinstance(value, list) or not all(
                isinstance(minmax, dict) for minmax in value):
            raise errors.OpPrereqError(
                f"Invalid value for attribute '{key}': '{value}'",
                errors.ECODE_INVAL)
        for minmax in value:
            for spec in minmax.values():
                defaults.ForceDictType(spec, _ISPEC_PARAMETER_TYPES)
        return value
    if key == defaults.ISPECS_STD:
        raise errors.OpPrereqError(f"{key} cannot appear in group instance specs",
                                   errors.ECODE_INVAL)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise errors.OpPrereqError(
            f"Invalid value for attribute '{key}': '{value}'", errors.ECODE_INVAL)
    return list(value)


def _GetUpdatedIPolicy(old_ipolicy: dict[str, Any] | None,
                       new_ipolicy: dict[str, Any]) -> dict[str, Any]:
    """A group's instance policy after applying the new values.

    An empty value, "default" or ["default"] removes the key (the cluster's
    value applies again), as Ganeti's GetUpdatedIPolicy does for groups.

    Raises:
      errors.OpPrereqError: an unknown key, a bad value, or an invalid
        resulting policy.
      errors.TypeEnforcementError: a badly typed spec value.
    """
    ipolicy = copy.deepcopy(old_ipolicy or {})
    for key, value in new_ipolicy.items():
        if key not in defaults.IPOLICY_ALL_KEYS:
            raise errors.OpPrereqError(f"Invalid key in new ipolicy: {key}",
                                       errors.ECODE_INVAL)
        if (not value or value == defaults.VALUE_DEFAULT
                or value == [defaults.VALUE_DEFAULT]):
            ipolicy.pop(key, None)
        else:
            ipolicy[key] = _UpdatedIPolicyValue(key, value)
    _CheckIPolicySyntax(ipolicy)
    return ipolicy


def _CheckIpolicyVsDiskTemplates(ipolicy: dict[str, Any],
                                 enabled_disk_templates: list[str]) -> None:
    """Refuse a policy allowing disk templates the cluster has not enabled.

    Raises:
      errors.OpPrereqError: such templates exist (ECODE_INVAL).
    """
    not_enabled = set(ipolicy.get(defaults.IPOLICY_DTS) or []) - set(
        enabled_disk_templates)
    if not_enabled:
        raise errors.OpPrereqError(
            "The following disk templates are allowed by the ipolicy, but not"
            f" enabled on the cluster: {CommaJoin(sorted(not_enabled))}",
            errors.ECODE_INVAL)


def _CheckGroupIPolicy(cluster: Any, ipolicy: dict[str, Any]) -> None:
    """Check a group policy once filled with the cluster's.

    Raises:
      errors.OpPrereqError: the effective policy is invalid.
    """
    full = cluster.SimpleFillIPolicy(ipolicy)
    _CheckIPolicySyntax(full)
    _CheckIpolicyVsDiskTemplates(full, cluster.enabled_disk_templates or [])


# --- group membership helpers ---------------------------------------------------


def _GetNodeGroupInstances(cfg: Any, group_uuid: str) -> list[str]:
    """UUIDs of the instances with a node (primary or secondary) in the group."""
    nodes = cfg.GetAllNodesInfo()
    result = []
    for inst_uuid in cfg.GetInstanceList():
        inst_nodes = cfg.GetInstanceNodes(inst_uuid)
        if any(nodes[uuid].group == group_uuid for uuid in inst_nodes
               if uuid in nodes):
            result.append(inst_uuid)
    return result


def CheckAssignmentForSplitInstances(changes: list[tuple[str, str]],
                                     node_data: dict[str, Any],
                                     cfg: Any) -> tuple[list[str], list[str]]:
    """Find the mirrored instances split across groups by node moves.

    The moves are considered together, as one change. Only instances of
    internally mirrored templates (DRBD) are considered.

    Args:
      changes: (node uuid, new group uuid) pairs.
      node_data: node uuid -> node, every node.
      cfg: the ConfigWriter (instances, their nodes and disk templates).

    Returns:
      (UUIDs of instances newly split by the change, UUIDs of instances
      already split that stay split).
    """
    changed = {uuid: group for uuid, group in changes
               if node_data[uuid].group != group}
    split_after: set[str] = set()
    split_before: set[str] = set()
    for inst_uuid in cfg.GetInstanceList():
        if cfg.GetInstanceDiskTemplate(inst_uuid) not in _DTS_INT_MIRROR:
            continue
        inst_nodes = [uuid for uuid in cfg.GetInstanceNodes(inst_uuid)
                      if uuid in node_data]
        if len({node_data[uuid].group for uuid in inst_nodes}) > 1:
            split_before.add(inst_uuid)
        if len({changed.get(uuid, node_data[uuid].group)
                for uuid in inst_nodes}) > 1:
            split_after.add(inst_uuid)
    return (sorted(split_after - split_before),
            sorted(split_before & split_after))


def _MasterOnly(lu: LogicalUnit) -> tuple[list[str], list[str]]:
    master = lu.cfg.GetMasterNode()
    return [master], [master]


# --- the logical units ------------------------------------------------------------


class LUGroupAdd(LogicalUnit):
    """Create a node group (empty; nodes join it with assign-nodes)."""

    HPATH = "group-add"
    HTYPE = constants.HTYPE_GROUP
    REQ_BGL = False

    def ExpandNames(self) -> None:
        # The UUID is chosen now so that mcpu can create the group's lock.
        # Until Exec succeeds the lock is also listed for removal, so that a
        # dry run (no Exec) does not leave a lock without a group behind.
        self.group_uuid = self.cfg.GenerateUniqueID()
        self.needed_locks = {}
        self.add_locks[locking.LEVEL_NODEGROUP] = self.group_uuid
        self.remove_locks[locking.LEVEL_NODEGROUP] = self.group_uuid

    def CheckPrereq(self) -> None:
        """Check the name is free and every parameter is valid.

        Raises:
          errors.OpPrereqError: the name exists (ECODE_EXISTS) or a
            parameter is invalid (ECODE_INVAL).
          errors.TypeEnforcementError: an unknown parameter or bad value.
        """
        try:
            existing_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        except errors.OpPrereqError:
            pass
        else:
            raise errors.OpPrereqError(
                f"Desired group name '{self.op.group_name}' already exists as a"
                f" node group (UUID: {existing_uuid})", errors.ECODE_EXISTS)
        if self.op.ndparams:
            defaults.ForceDictType(self.op.ndparams, defaults.NDS_PARAMETER_TYPES)
        self.new_hv_state = _MergeAndVerifyHvState(self.op.hv_state, None)
        self.new_disk_state = _MergeAndVerifyDiskState(self.op.disk_state, None)
        self.new_diskparams = dict(self.op.diskparams or {})
        _CheckDiskParams(self.new_diskparams)
        self.new_ipolicy = _GetUpdatedIPolicy({}, self.op.ipolicy or {})
        if self.new_ipolicy:
            _CheckGroupIPolicy(self.cfg.GetClusterInfo(), self.new_ipolicy)

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"GROUP_NAME": self.op.group_name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return _MasterOnly(self)

    def Exec(self, feedback_fn: FeedbackFn) -> None:
        """Add the group to the configuration (saved and distributed)."""
        group = objects.NodeGroup(
            name=self.op.group_name, members=[], uuid=self.group_uuid,
            alloc_policy=self.op.alloc_policy,
            ndparams=dict(self.op.ndparams or {}),
            diskparams=self.new_diskparams, ipolicy=self.new_ipolicy,
            hv_state_static=self.new_hv_state,
            disk_state_static=self.new_disk_state)
        self.cfg.AddNodeGroup(group, check_uuid=False)
        # The group exists: its lock stays.
        del self.remove_locks[locking.LEVEL_NODEGROUP]
        logger.info("Added node group %s (%s)", group.name, group.uuid)


class LUGroupRemove(LogicalUnit):
    """Remove an empty node group (never the last one)."""

    HPATH = "group-remove"
    HTYPE = constants.HTYPE_GROUP
    REQ_BGL = False

    def ExpandNames(self) -> None:
        """Raises OpPrereqError (ECODE_NOENT) for an unknown group."""
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

    def CheckPrereq(self) -> None:
        """Check the group has no node and is not the only group.

        Raises:
          errors.OpPrereqError: ECODE_STATE in both cases.
        """
        members = [node.name for node in self.cfg.GetAllNodesInfo().values()
                   if node.group == self.group_uuid]
        if members:
            raise errors.OpPrereqError(
                f"Group '{self.op.group_name}' not empty, has the following"
                f" nodes: {CommaJoin(NiceSort(members))}", errors.ECODE_STATE)
        if len(self.cfg.GetNodeGroupList()) == 1:
            raise errors.OpPrereqError(
                f"Group '{self.op.group_name}' is the only group, cannot be"
                " removed", errors.ECODE_STATE)

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"GROUP_NAME": self.op.group_name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return _MasterOnly(self)

    def Exec(self, feedback_fn: FeedbackFn) -> None:
        """Remove the group from the configuration and drop its lock.

        Raises:
          errors.OpExecError: the group disappeared meanwhile.
        """
        try:
            self.cfg.RemoveNodeGroup(self.group_uuid)
        except errors.ConfigurationError as err:
            raise errors.OpExecError(
                f"Group '{self.op.group_name}' with UUID {self.group_uuid}"
                " disappeared") from err
        self.remove_locks[locking.LEVEL_NODEGROUP] = self.group_uuid
        logger.info("Removed node group %s (%s)", self.op.group_name,
                    self.group_uuid)


class LUGroupRename(LogicalUnit):
    """Rename a node group; the new name must be free."""

    HPATH = "group-rename"
    HTYPE = constants.HTYPE_GROUP
    REQ_BGL = False

    def ExpandNames(self) -> None:
        """Raises OpPrereqError (ECODE_NOENT) for an unknown group."""
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

    def CheckPrereq(self) -> None:
        """Raises OpPrereqError (ECODE_EXISTS) if the new name is taken."""
        try:
            clash_uuid = self.cfg.LookupNodeGroup(self.op.new_name)
        except errors.OpPrereqError:
            return
        raise errors.OpPrereqError(
            f"Desired new name '{self.op.new_name}' clashes with existing node"
            f" group (UUID: {clash_uuid})", errors.ECODE_EXISTS)

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OLD_NAME": self.op.group_name, "NEW_NAME": self.op.new_name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        """The master and the group's nodes, before and after."""
        master = self.cfg.GetMasterNode()
        run_nodes = [master] + [
            node.uuid for node in self.cfg.GetAllNodesInfo().values()
            if node.group == self.group_uuid and node.uuid != master]
        return run_nodes, run_nodes

    def Exec(self, feedback_fn: FeedbackFn) -> str:
        """Rename the group; returns the new name.

        Raises:
          errors.OpExecError: the group disappeared meanwhile.
        """
        group = self.cfg.GetNodeGroup(self.group_uuid)
        if group is None:
            raise errors.OpExecError(
                f"Could not retrieve group '{self.op.group_name}' (UUID:"
                f" {self.group_uuid})")
        group.name = self.op.new_name
        self.cfg.Update(group, feedback_fn)
        logger.info("Renamed node group %s to %s", self.op.group_name,
                    self.op.new_name)
        return self.op.new_name


class LUGroupAssignNodes(NoHooksLU):
    """Move nodes into a node group (no hooks, as in Ganeti)."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises OpPrereqError for an empty node list.

        Ganeti would take an empty list as "every node"; the parameter asks
        for at least one node, and moving the whole cluster by omission is
        refused here.
        """
        if not self.op.nodes:
            raise errors.OpPrereqError("No nodes given to assign to the group",
                                       errors.ECODE_INVAL)

    def ExpandNames(self) -> None:
        """Raises OpPrereqError (ECODE_NOENT) for an unknown group or node."""
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.op.node_uuids, self.op.nodes = GetWantedNodes(self, self.op.nodes)
        # The source groups are only known from the nodes, which are not
        # locked yet: DeclareLocks guesses them, CheckPrereq verifies.
        self.needed_locks = {
            locking.LEVEL_NODEGROUP: {self.group_uuid},
            locking.LEVEL_NODE: list(self.op.node_uuids),
        }

    def _NodeGroups(self) -> set[str]:
        return {self.cfg.GetNodeInfo(uuid).group for uuid in self.op.node_uuids}

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODEGROUP and self.needed_locks is not None:
            self.needed_locks[locking.LEVEL_NODEGROUP] = sorted(
                {self.group_uuid} | self._NodeGroups())

    def CheckPrereq(self) -> None:
        """Check the nodes stayed in their groups and no instance gets split.

        Raises:
          errors.OpExecError: nodes changed groups meanwhile, or mirrored
            instances would be split across groups without force.
        """
        expected = {self.group_uuid} | self._NodeGroups()
        owned = self.owned_locks(locking.LEVEL_NODEGROUP)
        if self.glm is not None and owned != expected:
            raise errors.OpExecError(
                "Nodes changed groups since locks were acquired, current groups"
                f" are '{CommaJoin(sorted(expected))}', used to be"
                f" '{CommaJoin(sorted(owned))}'")
        self.group = self.cfg.GetNodeGroup(self.group_uuid)
        if self.group is None:
            raise errors.OpExecError(
                f"Could not retrieve group '{self.op.group_name}' (UUID:"
                f" {self.group_uuid})")
        node_data = self.cfg.GetAllNodesInfo()
        new_splits, previous_splits = CheckAssignmentForSplitInstances(
            [(uuid, self.group_uuid) for uuid in self.op.node_uuids], node_data,
            self.cfg)
        if not new_splits:
            return
        names = CommaJoin(NiceSort(self.cfg.GetInstanceNames(new_splits)))
        if not self.op.force:
            raise errors.OpExecError("The following instances get split by this"
                                     f" change and --force was not given: {names}")
        self.LogWarning("This operation will split the following instances: %s",
                        names)
        if previous_splits:
            self.LogWarning(
                "In addition, these already-split instances continue to be split"
                " across groups: %s",
                CommaJoin(NiceSort(self.cfg.GetInstanceNames(previous_splits))))

    def Exec(self, feedback_fn: FeedbackFn) -> None:
        """Move the nodes (saved and distributed)."""
        mods = [(uuid, self.group_uuid) for uuid in self.op.node_uuids
                if self.cfg.GetNodeInfo(uuid).group != self.group_uuid]
        if not mods:
            return
        assign_fn = getattr(self.cfg, "AssignGroupNodes", None)
        if assign_fn is not None:
            assign_fn(mods)
        else:
            _AssignGroupNodes(self.cfg, mods, feedback_fn)
        logger.info("Moved nodes %s to node group %s",
                    CommaJoin(self.cfg.GetNodeName(uuid) for uuid, _ in mods),
                    self.op.group_name)


def _AssignGroupNodes(cfg: Any, mods: list[tuple[str, str]],
                      feedback_fn: FeedbackFn) -> None:
    """Move nodes with the ConfigWriter's Update (no AssignGroupNodes there).

    Every node is moved in memory first, so the first save already holds
    the whole change; each node's Update then bumps its serial number.
    """
    nodes = [cfg.GetNodeInfo(uuid) for uuid, _ in mods]
    for node, (_, group_uuid) in zip(nodes, mods):
        node.group = group_uuid
    for node in nodes:
        cfg.Update(node, feedback_fn)


class LUGroupSetParams(LogicalUnit):
    """Change a node group's allocation policy, parameters or policy."""

    HPATH = "group-modify"
    HTYPE = constants.HTYPE_GROUP
    REQ_BGL = False

    _CHANGES = ("ndparams", "diskparams", "alloc_policy", "hv_state",
                "disk_state", "ipolicy")

    def CheckArguments(self) -> None:
        """Raises OpPrereqError when nothing is to be changed."""
        if not any(getattr(self.op, name, None) for name in self._CHANGES):
            raise errors.OpPrereqError("Please pass at least one modification",
                                       errors.ECODE_INVAL)

    def ExpandNames(self) -> None:
        """Raises OpPrereqError (ECODE_NOENT) for an unknown group."""
        self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
        self.needed_locks = {
            locking.LEVEL_INSTANCE: [],
            locking.LEVEL_NODEGROUP: [self.group_uuid],
        }
        self.share_locks[locking.LEVEL_INSTANCE] = 1

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_INSTANCE and self.needed_locks is not None:
            # Optimistic: verified in CheckPrereq with the group lock held.
            self.needed_locks[locking.LEVEL_INSTANCE] = self.cfg.GetInstanceNames(
                _GetNodeGroupInstances(self.cfg, self.group_uuid))

    def _CheckInstanceLocks(self) -> None:
        """Raises OpPrereqError if the group's instances changed meanwhile."""
        if self.glm is None:
            return
        owned = self.owned_locks(locking.LEVEL_INSTANCE)
        wanted = set(self.cfg.GetInstanceNames(
            _GetNodeGroupInstances(self.cfg, self.group_uuid)))
        if not wanted.issubset(owned):
            raise errors.OpPrereqError(
                f"Instances in node group '{self.op.group_name}' changed since"
                f" locks were acquired, wanted '{CommaJoin(sorted(wanted))}',"
                f" have '{CommaJoin(sorted(owned))}'; retry the operation",
                errors.ECODE_STATE)

    def _ComputeDiskParams(self) -> dict[str, Any]:
        """The group's disk parameters with the new ones merged per template.

        Raises:
          errors.OpPrereqError, errors.TypeEnforcementError: see
            _CheckDiskParams.
        """
        old = self.group.diskparams or {}
        new = dict(old)
        _CheckDiskParams(self.op.diskparams)
        for template, params in self.op.diskparams.items():
            new[template] = _GetUpdatedParams(old.get(template, {}), params)
        return new

    def CheckPrereq(self) -> None:
        """Compute the new values, checking each.

        Raises:
          errors.OpPrereqError: invalid parameters or policy.
          errors.TypeEnforcementError: an unknown parameter or bad value.
          errors.OpExecError: the group disappeared.
        """
        self._CheckInstanceLocks()
        self.group = self.cfg.GetNodeGroup(self.group_uuid)
        if self.group is None:
            raise errors.OpExecError(
                f"Could not retrieve group '{self.op.group_name}' (UUID:"
                f" {self.group_uuid})")
        if self.op.ndparams:
            new_ndparams = _GetUpdatedParams(self.group.ndparams, self.op.ndparams)
            defaults.ForceDictType(new_ndparams, defaults.NDS_PARAMETER_TYPES)
            self.new_ndparams = new_ndparams
        if self.op.diskparams:
            self.new_diskparams = self._ComputeDiskParams()
        self.new_hv_state = _MergeAndVerifyHvState(self.op.hv_state,
                                                   self.group.hv_state_static)
        self.new_disk_state = _MergeAndVerifyDiskState(
            self.op.disk_state, self.group.disk_state_static)
        if self.op.ipolicy:
            self.new_ipolicy = _GetUpdatedIPolicy(self.group.ipolicy,
                                                  self.op.ipolicy)
            _CheckGroupIPolicy(self.cfg.GetClusterInfo(), self.new_ipolicy)

    def BuildHooksEnv(self) -> dict[str, Any]:
        env = {"GROUP_NAME": self.op.group_name}
        # Ganeti leaves out variables whose value is None.
        if self.op.alloc_policy is not None:
            env["NEW_ALLOC_POLICY"] = self.op.alloc_policy
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return _MasterOnly(self)

    def Exec(self, feedback_fn: FeedbackFn) -> list[tuple[str, str]]:
        """Apply the changes and save; returns [(parameter, new value)]."""
        result = []
        group = self.group
        if self.op.ndparams:
            group.ndparams = self.new_ndparams
            result.append(("ndparams", str(group.ndparams)))
        if self.op.diskparams:
            group.diskparams = self.new_diskparams
            result.append(("diskparams", str(group.diskparams)))
        if self.op.alloc_policy:
            group.alloc_policy = self.op.alloc_policy
        if self.new_hv_state is not None:
            group.hv_state_static = self.new_hv_state
        if self.new_disk_state is not None:
            group.disk_state_static = self.new_disk_state
        if self.op.ipolicy:
            group.ipolicy = self.new_ipolicy
        self.cfg.Update(group, feedback_fn)
        return result
