"""Logical units and helpers dealing with OS definitions.

LUOsDiagnose (OP_OS_DIAGNOSE, what gnt-os list/info/diagnose submit) and
the "os" resource of OP_QUERY both ask every online vm-capable node for its
OS definitions (os_diagnose RPC) and merge the answers per OS name, as
Ganeti's lib/cmdlib/operating_system.py does: an OS is valid only if every
node that answered has a valid definition first in its search path;
variants, parameters and API versions are those all nodes agree on.
Nodes whose RPC failed are left out rather than making every OS invalid.

OS modification (hidden, blacklisted, OS and OS hypervisor parameters) is
OP_CLUSTER_SET_PARAMS (cmdlib/cluster_params.py), as in Ganeti.

For the instance LUs: CheckNodeHasOS (the OS exists, valid, on a node,
with an acceptable variant) and CheckOSParams (the nodes' verify scripts
accept the parameters), Ganeti's cmdlib/common.py helpers of those names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ganeti import errors, locking, osdef, qlang
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.query import _QueryBase
from ganeti.query.os import OS_FIELDS, NodeOsEntry, OsInfo
from ganeti.utils.text import CommaJoin, NiceSort

# One os_diagnose row: [name, path, status, diagnose, variants, params,
# api_versions, trusted].
_DIAGNOSE_ROW_LEN = 8


def _DiagnoseByOS(results: dict[str, Any]) -> dict[str, dict[str, list[NodeOsEntry]]]:
    """Regroup per-node os_diagnose answers per OS name, then per node.

    Args:
      results: node UUID -> RpcResult of os_diagnose.

    Returns:
      {os name: {node uuid: [[path, status, diagnose, variants, params,
      api_versions, trusted], ...]}}; every node that answered appears
      under every OS (with [] where it lacks it), failed nodes nowhere.
    """
    good_nodes = [uuid for uuid, result in results.items() if not result.fail_msg]
    all_os: dict[str, dict[str, list[NodeOsEntry]]] = {}
    for node_uuid in good_nodes:
        payload = results[node_uuid].payload
        for row in payload if isinstance(payload, list) else []:
            if not isinstance(row, list) or len(row) != _DIAGNOSE_ROW_LEN:
                continue
            name, *entry = row
            per_node = all_os.setdefault(name, {uuid: [] for uuid in good_nodes})
            entry[4] = [tuple(param) for param in entry[4] or []]
            per_node[node_uuid].append(entry)
    return all_os


def _MergeOsInfo(name: str, per_node: dict[str, list[NodeOsEntry]],
                 cluster: Any) -> OsInfo:
    """One OS's OsInfo from its per-node entries and the cluster settings."""
    info = OsInfo(name=name, node_status=per_node,
                  hidden=name in (cluster.hidden_os or []),
                  blacklisted=name in (cluster.blacklisted_os or []))
    variants: set[str] = set()
    params: set[tuple[str, str]] = set()
    api_versions: set[int] = set()
    for idx, entries in enumerate(per_node.values()):
        if not entries or not entries[0][1]:
            info.valid = False
            break
        node_variants, node_params, node_api, node_trusted = entries[0][3:7]
        if idx == 0:
            variants.update(node_variants)
            params.update(node_params)
            api_versions.update(node_api)
        else:
            variants.intersection_update(node_variants)
            params.intersection_update(node_params)
            api_versions.intersection_update(node_api)
        info.trusted = info.trusted and bool(node_trusted)
    info.variants = list(variants)
    info.parameters = list(params)
    info.api_versions = list(api_versions)
    for variant in variants:
        full_name = f"{name}{osdef.VARIANT_DELIM}{variant}"
        if full_name in (cluster.os_hvp or {}):
            info.os_hvp[full_name] = cluster.os_hvp[full_name]
        if full_name in (cluster.osparams or {}):
            info.osparams[full_name] = cluster.osparams[full_name]
    return info


def _QueryNodes(lu: Any) -> list[str]:
    """The nodes asked for their OSes: online and vm-capable."""
    return [node.uuid for node in lu.cfg.GetAllNodesInfo().values()
            if not node.offline and node.vm_capable]


class OsQuery(_QueryBase):
    """The "os" resource: no locks, data from the nodes."""

    FIELDS = OS_FIELDS

    def ExpandNames(self, lu: Any) -> None:
        lu.needed_locks = {}
        self.wanted = list(self.names) if self.names else locking.ALL_SET
        # As Ganeti: nodes are asked without holding their locks.
        self.do_locking = False

    def _GetQueryData(self, lu: Any) -> list[OsInfo]:
        """Ask the nodes and merge their answers.

        Raises:
          errors.OpPrereqError: names were asked for that no node has
            (ECODE_NOENT).
        """
        per_os = _DiagnoseByOS(lu.rpc.call_os_diagnose(_QueryNodes(lu)))
        cluster = lu.cfg.GetClusterInfo()
        if self.wanted is locking.ALL_SET:
            names = NiceSort(per_os)
        else:
            missing = [name for name in self.wanted if name not in per_os]
            if missing:
                raise errors.OpPrereqError(
                    f"Unknown operating system(s): {CommaJoin(missing)}",
                    errors.ECODE_NOENT)
            names = list(self.wanted)
        return [_MergeOsInfo(name, per_os[name], cluster) for name in names]


def _BuildDiagnoseFilter(fields: list[str], names: list[str]) -> list[Any] | None:
    """OP_OS_DIAGNOSE's filter: the names, and Ganeti's legacy hiding.

    Hidden, blacklisted and invalid OSes are left out unless the field
    saying so is among the requested ones.
    """
    name_filter = qlang.MakeSimpleFilter("name", names)
    status_filter: list[Any] = [[qlang.OP_NOT, [qlang.OP_TRUE, field]]
                                for field in ("hidden", "blacklisted")
                                if field not in fields]
    if "valid" not in fields:
        status_filter.append([qlang.OP_TRUE, "valid"])
    combined = [qlang.OP_AND, *status_filter] if status_filter else None
    if name_filter and combined:
        return [qlang.OP_AND, name_filter, combined]
    return name_filter or combined


class LUOsDiagnose(NoHooksLU):
    """Report the OSes of the cluster (OP_OS_DIAGNOSE): one row per OS."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises ParameterError (bad filter) or OpPrereqError (unknown field)."""
        self.oq = OsQuery(_BuildDiagnoseFilter(self.op.output_fields,
                                               self.op.names or []),
                          self.op.output_fields, False)

    def ExpandNames(self) -> None:
        self.oq.ExpandNames(self)

    def Exec(self, feedback_fn: Callable[..., None]) -> list[list[Any]]:
        return self.oq.OldStyleQuery(self)


# --- helpers for the instance logical units ---------------------------------------


def CheckNodeHasOS(lu: Any, node_uuid: str, os_name: str,
                   force_variant: bool) -> osdef.OS:
    """Check that a node has a valid definition of os_name (Ganeti's helper).

    Args:
      lu: the calling LU (its cfg and rpc are used).
      node_uuid: the node, usually the instance's primary.
      os_name: "os" or "os+variant".
      force_variant: accept a variant the OS does not declare.

    Returns:
      the node's OS definition (as osdef.OS, scripts unknown).

    Raises:
      errors.OpPrereqError: the node cannot be asked, does not have the OS,
        has an invalid definition, or the variant is missing or unknown
        (ECODE_INVAL).
    """
    node_name = lu.cfg.GetNodeName(node_uuid)
    result = lu.rpc.call_os_diagnose([node_uuid])[node_uuid]
    result.Raise(f"OS '{os_name}' not in supported OS list for node {node_name}",
                 prereq=True, ecode=errors.ECODE_INVAL)
    base_name = osdef.GetName(os_name)
    rows = [row for row in result.payload or []
            if isinstance(row, list) and len(row) == _DIAGNOSE_ROW_LEN
            and row[0] == base_name]
    if not rows:
        raise errors.OpPrereqError(f"OS '{base_name}' not in supported OS list for"
                                   f" node {node_name}", errors.ECODE_INVAL)
    name, path, status, diagnose, variants, params, api, trusted = rows[0]
    if not status:
        raise errors.OpPrereqError(f"OS '{base_name}' is invalid on node"
                                   f" {node_name}: {diagnose}", errors.ECODE_INVAL)
    os_obj = osdef.OS(name=name, path=path, api_versions=tuple(api),
                      supported_variants=tuple(variants),
                      supported_parameters=tuple(tuple(p) for p in params),
                      trusted=bool(trusted))
    reason = osdef.CheckVariant(os_obj, os_name)
    if reason and not (force_variant and osdef.GetVariant(os_name)):
        raise errors.OpPrereqError(reason, errors.ECODE_INVAL)
    return os_obj


def CheckOSParams(lu: Any, required: bool, node_uuids: Iterable[str], osname: str,
                  osparams: dict[str, Any], force_variant: bool) -> None:
    """Have the nodes' verify scripts check OS parameters (Ganeti's helper).

    Only vm-capable nodes are asked. A node without the OS is skipped with
    a message unless required.

    Raises:
      errors.OpPrereqError: a node refused the parameters (its verify
        output is in the message) or could not be asked.
    """
    nodes = [uuid for uuid in node_uuids if lu.cfg.GetNodeInfo(uuid).vm_capable]
    if not nodes:
        return
    values = {key: getattr(value, "Get", lambda v=value: v)()
              for key, value in osparams.items()}
    results = lu.rpc.call_os_validate(nodes, required, osname,
                                      [osdef.OS_VALIDATE_PARAMETERS], values,
                                      force_variant)
    for node_uuid, result in results.items():
        node_name = lu.cfg.GetNodeName(node_uuid)
        result.Raise(f"OS Parameters validation failed on node {node_name}",
                     prereq=True, ecode=errors.ECODE_INVAL)
        if not result.payload:
            lu.LogInfo("OS %s not found on node %s, validation skipped", osname,
                       node_name)
