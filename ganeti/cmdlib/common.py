"""Helpers shared by several logical units (Ganeti's lib/cmdlib/common.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import constants, errors, locking, pathutils

logger = logging.getLogger(__name__)


def _ExpandItemName(expand_fn: Callable[[str], tuple[str | None, str | None]],
                    name: str, kind: str) -> tuple[str, str]:
    """Expand a name with expand_fn, raising if it is unknown.

    Raises:
      errors.OpPrereqError: "<kind> '<name>' not known" (ECODE_NOENT).
    """
    uuid, full_name = expand_fn(name)
    if uuid is None or full_name is None:
        raise errors.OpPrereqError(f"{kind} '{name}' not known",
                                   errors.ECODE_NOENT)
    return uuid, full_name


def _CheckExpectedUuid(kind: str, uuid: str, expected_uuid: str | None,
                       full_name: str) -> None:
    if expected_uuid is not None and uuid != expected_uuid:
        raise errors.OpPrereqError(
            f"The {kind}s UUID '{uuid}' does not match the expected UUID"
            f" '{expected_uuid}' for {kind} '{full_name}'. Maybe the {kind}"
            " changed since you submitted this job.", errors.ECODE_NOTUNIQUE)


def ExpandNodeUuidAndName(cfg: Any, expected_uuid: str | None,
                          name: str) -> tuple[str, str]:
    """Expand a (short) node name, or a node UUID, to (uuid, full name).

    Args:
      cfg: the ConfigWriter.
      expected_uuid: the UUID the node must have (None: any).
      name: a node name, a unique prefix component of one ("node1" for
        "node1.example.com") or a node UUID.

    Raises:
      errors.OpPrereqError: unknown node (ECODE_NOENT) or UUID mismatch
        (ECODE_NOTUNIQUE).
    """
    def _Expand(short: str) -> tuple[str | None, str | None]:
        node = cfg.GetNodeInfo(short)
        if node is None:
            full = cfg.ExpandNodeName(short)
            node = None if full is None else cfg.GetNodeInfoByName(full)
        return (None, None) if node is None else (node.uuid, node.name)

    uuid, full_name = _ExpandItemName(_Expand, name, "Node")
    _CheckExpectedUuid("node", uuid, expected_uuid, full_name)
    return uuid, full_name


def ExpandInstanceUuidAndName(cfg: Any, expected_uuid: str | None,
                              name: str) -> tuple[str, str]:
    """Expand a (short) instance name to (uuid, full name).

    Raises:
      errors.OpPrereqError: unknown instance (ECODE_NOENT) or UUID mismatch
        (ECODE_NOTUNIQUE).
    """
    def _Expand(short: str) -> tuple[str | None, str | None]:
        full = cfg.ExpandInstanceName(short)
        inst = None if full is None else cfg.GetInstanceInfoByName(full)
        return (None, None) if inst is None else (inst.uuid, inst.name)

    uuid, full_name = _ExpandItemName(_Expand, name, "Instance")
    _CheckExpectedUuid("instance", uuid, expected_uuid, full_name)
    return uuid, full_name


def ShareAll() -> dict[int, int]:
    """A share_locks dict taking every level shared."""
    return dict.fromkeys(locking.LEVELS, 1)


def GetWantedNodes(lu: Any, short_node_names: list[str] | None
                   ) -> tuple[list[str], list[str]]:
    """Expand node names; all nodes when none are given.

    Returns:
      (node UUIDs, node names), in the given order.

    Raises:
      errors.OpPrereqError: a node is unknown.
    """
    if short_node_names:
        node_uuids = [ExpandNodeUuidAndName(lu.cfg, None, name)[0]
                      for name in short_node_names]
    else:
        node_uuids = lu.cfg.GetNodeList()
    return node_uuids, [lu.cfg.GetNodeName(uuid) for uuid in node_uuids]


def GetWantedInstances(lu: Any, short_inst_names: list[str] | None
                       ) -> tuple[list[str], list[str]]:
    """Expand instance names; all instances when none are given.

    Returns:
      (instance UUIDs, instance names), in the given order.

    Raises:
      errors.OpPrereqError: an instance is unknown.
    """
    if short_inst_names:
        pairs = [ExpandInstanceUuidAndName(lu.cfg, None, name)
                 for name in short_inst_names]
    else:
        pairs = [(uuid, lu.cfg.GetInstanceInfo(uuid).name)
                 for uuid in lu.cfg.GetInstanceList()]
    return [uuid for uuid, _ in pairs], [name for _, name in pairs]


def _GetNode(lu: Any, node_uuid: str) -> Any:
    node = lu.cfg.GetNodeInfo(node_uuid)
    if node is None:
        raise errors.OpPrereqError(f"Node '{node_uuid}' not known",
                                   errors.ECODE_NOENT)
    return node


def CheckNodeOnline(lu: Any, node_uuid: str, msg: str | None = None) -> None:
    """Make sure a node is not marked offline.

    Raises:
      errors.OpPrereqError: "<msg>: <node>" (ECODE_STATE) when offline.
    """
    node = _GetNode(lu, node_uuid)
    if node.offline:
        prefix = msg or "Can't use offline node"
        raise errors.OpPrereqError(f"{prefix}: {node.name}", errors.ECODE_STATE)


def CheckNodeNotDrained(lu: Any, node_uuid: str) -> None:
    """Make sure a node is not drained.

    Raises:
      errors.OpPrereqError: ECODE_STATE when it is.
    """
    node = _GetNode(lu, node_uuid)
    if node.drained:
        raise errors.OpPrereqError(f"Can't use drained node {node.name}",
                                   errors.ECODE_STATE)


def CheckNodeVmCapable(lu: Any, node_uuid: str) -> None:
    """Make sure a node can host instances.

    Raises:
      errors.OpPrereqError: ECODE_STATE when it cannot.
    """
    node = _GetNode(lu, node_uuid)
    if not node.vm_capable:
        raise errors.OpPrereqError(f"Can't use non-vm_capable node {node.name}",
                                   errors.ECODE_STATE)


def ReleaseLocks(lu: Any, level: int, names: Iterable[str] | None = None,
                 keep: Iterable[str] | None = None) -> None:
    """Release some (or all) of the locks an LU holds at a level.

    Args:
      lu: the logical unit.
      level: the lock level.
      names: the names to release (None: all but `keep`).
      keep: the names to keep (only without `names`).

    Raises:
      errors.ProgrammerError: both names and keep given.
    """
    if names is not None and keep is not None:
        raise errors.ProgrammerError("Only one of 'names' and 'keep' can be given")
    owned = lu.owned_locks(level)
    if not owned:
        return
    if names is not None:
        release = set(names) & owned
    elif keep is not None:
        release = owned - set(keep)
    else:
        release = owned
    if release:
        logger.debug("Releasing %s locks %s", locking.LEVEL_NAMES[level],
                     sorted(release))
        lu.glm.release(level, sorted(release))


def GetNodeNdParams(cfg: Any, node: Any) -> dict[str, Any]:
    """A node's effective parameters (cluster < group < node)."""
    cluster = cfg.GetClusterInfo()
    group = cfg.GetNodeGroup(node.group)
    if group is None:
        return cluster.SimpleFillND(node.ndparams)
    return cluster.FillND(node, group)


def RunPostHook(lu: Any, node_name: str) -> None:
    """Run the LU's post hooks on one node; failures are only warnings."""
    hooks_master = lu.proc.BuildHooksManager(lu)
    try:
        hooks_master.RunPhase(constants.HOOKS_PHASE_POST, node_names=[node_name])
    except errors.GenericError as err:
        lu.LogWarning("Errors occurred running hooks on %s: %s", node_name, err)


def RedistributedFiles(cluster: Any) -> list[str]:
    """Files besides config.data kept equal on all nodes, when they exist
    (Ganeti's ComputeAncillaryFiles with redist=True, hypervisor files aside);
    redist-conf and node add copy them from the master."""
    files = [pathutils.SSH_KNOWN_HOSTS_FILE, pathutils.CONFD_HMAC_KEY,
             pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SPICE_CERT_FILE,
             pathutils.SPICE_CACERT_FILE, pathutils.RAPI_USERS_FILE,
             pathutils.RAPI_CERT_FILE]
    if cluster.use_external_mip_script:
        files.append(pathutils.EXTERNAL_MASTER_SETUP_SCRIPT)
    return files
