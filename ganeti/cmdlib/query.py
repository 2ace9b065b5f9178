"""OP_QUERY and OP_QUERY_FIELDS: the query2 engine behind an opcode.

Mirrors Ganeti's lib/cmdlib/query.py and the query classes it dispatches to.
Supported resources are those whose field tables exist in ganeti.query:
"node", "group", "lock" and "job" here, "os" and "instance" through query
classes in other cmdlib modules (_LAZY_QUERY_IMPL); any other valid
resource gives a clear OpPrereqError (ECODE_INVAL) until its table is
written. Instance live fields come from all_instances_info of the
instances' online nodes (ganeti.cmdlib.instance_ops.InstanceQuery).

Node live fields come from one node_info RPC to the selected vm-capable
nodes, sent only when a live field is selected or filtered on: offline
nodes are not contacted (their live fields are RS_OFFLINE), nodes that
fail or do not answer give RS_NODATA.
"""

from __future__ import annotations


import importlib
import logging
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, locking, query
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.common import GetNodeNdParams, GetWantedNodes, ShareAll
from ganeti.utils.text import NiceSort

logger = logging.getLogger(__name__)

#: Storage types whose free space node_info reports (Ganeti's STS_REPORT).
_STS_REPORT = frozenset([constants.ST_FILE, constants.ST_LVM_PV,
                         constants.ST_LVM_VG, constants.ST_SHARED_FILE,
                         constants.ST_GLUSTER])

#: Every resource an OP_QUERY may name (spec/opcodes.md section 3).
_ALL_RESOURCES = frozenset([
    query.QR_CLUSTER, query.QR_NODE, query.QR_GROUP, query.QR_INSTANCE,
    query.QR_OS, query.QR_EXTSTORAGE, query.QR_EXPORT, query.QR_NETWORK,
    query.QR_JOB, query.QR_LOCK, query.QR_FILTER])


class _QueryBase:
    """One query of one resource; subclasses gather the data."""

    #: The resource's field table.
    FIELDS: Any = None
    #: The field naming items (sorting and RequestedNames).
    SORT_FIELD: str | None = "name"

    def __init__(self, qfilter: Any, fields: list[str], use_locking: bool) -> None:
        """Prepare the query.

        Raises:
          errors.ParameterError: the filter or field list is invalid.
        """
        self.qfilter = qfilter
        self.fields = fields
        self.use_locking = bool(use_locking)
        self.query = query.Query(self.FIELDS, fields, qfilter=qfilter,
                                 namefield=self.SORT_FIELD)
        self.requested_data = self.query.RequestedData()
        self.names = self.query.RequestedNames()
        # Rows for explicitly requested names keep the requested order.
        self.sort_by_name = not self.names
        self.do_locking = False
        self.wanted: Any = locking.ALL_SET

    def ExpandNames(self, lu: Any) -> None:
        """Set lu.needed_locks (default: no locks)."""
        lu.needed_locks = {}

    def DeclareLocks(self, lu: Any, level: int) -> None:
        """Adjust lu.needed_locks[level] (default: nothing)."""

    def _GetNames(self, lu: Any, all_names: list[str], lock_level: int
                  ) -> list[str]:
        """The item keys to report: the wanted ones, or all of them.

        Raises:
          errors.OpExecError: wanted items disappeared meanwhile.
        """
        names = lu.owned_locks(lock_level) if self.do_locking else all_names
        if self.wanted is locking.ALL_SET:
            return NiceSort(names)
        missing = set(self.wanted).difference(names)
        if missing:
            raise errors.OpExecError("Some items were removed before retrieving"
                                     f" their data: {sorted(missing)}")
        return list(self.wanted)

    def _GetQueryData(self, lu: Any) -> Any:
        """The items of the query, in the form its field getters expect.

        Raises:
          errors.ProgrammerError: the subclass neither defines this nor
            overrides the two query methods (as _JobQuery does).
        """
        raise errors.ProgrammerError(
            f"{type(self).__name__} does not gather query data")

    def NewStyleQuery(self, lu: Any) -> dict[str, list]:
        """Gather the data and return {"fields": [...], "data": [...]}."""
        return query.GetQueryResponse(self.query, self._GetQueryData(lu),
                                      sort_by_name=self.sort_by_name)

    def OldStyleQuery(self, lu: Any) -> list[list[Any]]:
        """Gather the data and return plain value rows.

        Raises:
          errors.OpPrereqError: unknown fields were selected.
        """
        return self.query.OldStyleQuery(self._GetQueryData(lu),
                                        sort_by_name=self.sort_by_name)


def _GetStorageUnits(lu: Any, node_uuids: list[str]) -> tuple[str | None, Any]:
    """The default disk template and node_info's per-node storage units.

    As Ganeti, live storage data describes the first enabled disk
    template's storage; LVM units carry each node's exclusive_storage flag,
    and with it an lvm-pv unit for the spindle counts.
    """
    cluster = lu.cfg.GetClusterInfo()
    templates = cluster.enabled_disk_templates or []
    if not templates:
        return None, {uuid: [] for uuid in node_uuids}
    template = templates[0]
    storage_type = constants.MAP_DISK_TEMPLATE_STORAGE_TYPE.get(template)
    keys = {
        constants.ST_LVM_VG: cluster.volume_group_name,
        constants.ST_FILE: cluster.file_storage_dir,
        constants.ST_SHARED_FILE: cluster.shared_file_storage_dir,
        constants.ST_GLUSTER: cluster.gluster_storage_dir,
    }
    key = keys.get(storage_type)
    units: dict[str, list[list[Any]]] = {}
    for uuid in node_uuids:
        if storage_type not in _STS_REPORT or not key:
            units[uuid] = []
        elif storage_type == constants.ST_LVM_VG:
            node = lu.cfg.GetNodeInfo(uuid)
            es_flag = bool(GetNodeNdParams(lu.cfg, node).get("exclusive_storage"))
            units[uuid] = [[storage_type, key, [es_flag]]]
            if es_flag:
                units[uuid].append([constants.ST_LVM_PV, key, [es_flag]])
        else:
            units[uuid] = [[storage_type, key, []]]
    return template, units


def MakeLegacyNodeInfo(payload: Any, disk_template: str | None
                       ) -> dict[str, Any] | None:
    """Flatten a node_info payload into the live-data dict of the node query.

    Args:
      payload: [boot id, [storage report, ...], [hypervisor report, ...]].
      disk_template: the template whose storage is reported as
        storage_free/storage_size.

    Returns:
      The first hypervisor's report plus "bootid", "storage_free",
      "storage_size" and, from an lvm-pv report, "spindles_free" and
      "spindles_total"; None if the payload is malformed.
    """
    if not isinstance(payload, (list, tuple)) or len(payload) != 3:
        return None
    bootid, space_info, hv_info = payload
    result: dict[str, Any] = {}
    if hv_info and isinstance(hv_info[0], dict):
        result.update(hv_info[0])
    result["bootid"] = bootid
    storage_type = constants.MAP_DISK_TEMPLATE_STORAGE_TYPE.get(disk_template or "")
    reports = [info for info in (space_info or []) if isinstance(info, dict)]
    if storage_type in _STS_REPORT:
        for info in reports:
            if info.get("type") == storage_type:
                result["storage_free"] = info.get("storage_free")
                result["storage_size"] = info.get("storage_size")
                break
    else:
        result["storage_free"] = result["storage_size"] = 0
    for info in reports:
        if info.get("type") == constants.ST_LVM_PV:
            result["spindles_free"] = info.get("storage_free")
            result["spindles_total"] = info.get("storage_size")
    return result


class _NodeQuery(_QueryBase):
    FIELDS = query.NODE_FIELDS

    def ExpandNames(self, lu: Any) -> None:
        lu.needed_locks = {}
        lu.share_locks = ShareAll()
        if self.names:
            self.wanted = GetWantedNodes(lu, self.names)[0]
        self.do_locking = self.use_locking and query.NQ_LIVE in self.requested_data
        if self.do_locking:
            lu.needed_locks[locking.LEVEL_NODE] = self.wanted

    def _GetLiveData(self, lu: Any, nodes: dict[str, Any]) -> dict[str, Any]:
        """node_info of the vm-capable nodes, by node UUID (answers only)."""
        cluster = lu.cfg.GetClusterInfo()
        to_query = [uuid for uuid, node in nodes.items() if node.vm_capable]
        if not to_query:
            return {}
        template, storage_units = _GetStorageUnits(lu, to_query)
        hypervisor = cluster.GetDefaultHypervisor()
        hv_specs = None
        if hypervisor is not None:
            hv_specs = [[hypervisor, (cluster.hvparams or {}).get(hypervisor, {})]]
        results = lu.rpc.call_node_info(to_query, storage_units, hv_specs)
        live_data = {}
        for uuid, res in results.items():
            if res.fail_msg:
                if not res.offline:
                    logger.warning("Can't get live data from node %s: %s",
                                   res.node or uuid, res.fail_msg)
                continue
            info = MakeLegacyNodeInfo(res.payload, template)
            if info is None:
                logger.warning("Invalid node_info answer from node %s: %r",
                               res.node or uuid, res.payload)
                continue
            live_data[uuid] = info
        return live_data

    def _GetQueryData(self, lu: Any) -> query.NodeQueryData:
        cfg = lu.cfg
        all_info = cfg.GetAllNodesInfo()
        node_uuids = self._GetNames(lu, list(all_info), locking.LEVEL_NODE)
        nodes = {uuid: all_info[uuid] for uuid in node_uuids}
        live_data = None
        if query.NQ_LIVE in self.requested_data:
            live_data = self._GetLiveData(lu, nodes)
        instances: dict[str, Any] = {}
        secondaries: dict[str, list[str]] = {}
        if query.NQ_INST in self.requested_data:
            instances = cfg.GetAllInstancesInfo()
            secondaries = {uuid: cfg.GetInstanceSecondaryNodes(uuid)
                           for uuid in instances}
        cluster = cfg.GetClusterInfo()
        return query.NodeQueryData(
            nodes=nodes, groups=cfg.GetAllNodeGroupsInfo(), instances=instances,
            master_uuid=cfg.GetMasterNode(), cluster_ndparams=cluster.ndparams,
            live_data=live_data, inst_secondaries=secondaries)


class _GroupQuery(_QueryBase):
    """Node groups, from the configuration (locked shared with use_locking)."""

    FIELDS = query.GROUP_FIELDS

    def ExpandNames(self, lu: Any) -> None:
        """Raises OpPrereqError (ECODE_NOENT) for an unknown group."""
        lu.needed_locks = {}
        lu.share_locks = ShareAll()
        if self.names:
            self.wanted = [lu.cfg.LookupNodeGroup(name) for name in self.names]
        self.do_locking = self.use_locking
        if self.do_locking:
            lu.needed_locks[locking.LEVEL_NODEGROUP] = self.wanted

    def _GetQueryData(self, lu: Any) -> query.GroupQueryData:
        all_uuids = lu.cfg.GetNodeGroupList()
        uuids = self._GetNames(lu, all_uuids, locking.LEVEL_NODEGROUP)
        return query.MakeGroupQueryData(lu.cfg, uuids)


class _LockQuery(_QueryBase):
    FIELDS = query.LOCK_FIELDS

    def _GetQueryData(self, lu: Any) -> list[tuple[Any, ...]]:
        rows = lu.glm.QueryLocks(["name", "mode", "owner", "pending"])
        return [tuple(row) for row in rows]


class _JobQuery(_QueryBase):
    """Jobs are the job queue's: the query is handed to it."""

    FIELDS = query.JOB_FIELDS
    SORT_FIELD = "id"

    def NewStyleQuery(self, lu: Any) -> dict[str, list]:
        """Raises OpPrereqError if no job queue is available."""
        query_fn = getattr(getattr(lu.context, "jobqueue", None),
                           "QueryJobsNew", None)
        if query_fn is None:
            raise errors.OpPrereqError("Job queries need the job queue, which is"
                                       " not available here", errors.ECODE_ENVIRON)
        return query_fn(self.fields, self.qfilter)

    def OldStyleQuery(self, lu: Any) -> list[list[Any]]:
        raise errors.OpPrereqError("Old-style job queries are not supported",
                                   errors.ECODE_INVAL)


_QUERY_IMPL: dict[str, type[_QueryBase]] = {
    query.QR_NODE: _NodeQuery,
    query.QR_GROUP: _GroupQuery,
    query.QR_LOCK: _LockQuery,
    query.QR_JOB: _JobQuery,
}

#: Resources whose query class lives in another cmdlib module, as
#: (module, class); imported on first use, since those modules import
#: _QueryBase from this one.
_LAZY_QUERY_IMPL: dict[str, tuple[str, str]] = {
    query.QR_OS: ("ganeti.cmdlib.os", "OsQuery"),
    query.QR_INSTANCE: ("ganeti.cmdlib.instance_ops", "InstanceQuery"),
}


def _GetQueryImplementation(name: str) -> type[_QueryBase]:
    """The query class of a resource.

    Raises:
      errors.OpPrereqError: unknown or not yet supported resource
        (ECODE_INVAL).
    """
    impl = _QUERY_IMPL.get(name)
    if impl is not None:
        return impl
    if name in _LAZY_QUERY_IMPL:
        module, cls_name = _LAZY_QUERY_IMPL[name]
        return getattr(importlib.import_module(module), cls_name)
    if name in _ALL_RESOURCES:
        supported = sorted([*_QUERY_IMPL, *_LAZY_QUERY_IMPL])
        raise errors.OpPrereqError(
            f"Query resource '{name}' is not supported yet (supported:"
            f" {', '.join(supported)})", errors.ECODE_INVAL)
    raise errors.OpPrereqError(f"Unknown query resource '{name}'",
                               errors.ECODE_INVAL)


class LUQuery(NoHooksLU):
    """Query some resource (OP_QUERY); the result is {"fields", "data"}."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises OpPrereqError (resource) or ParameterError (filter)."""
        qcls = _GetQueryImplementation(self.op.what)
        self.impl = qcls(getattr(self.op, "qfilter", None), self.op.fields,
                         getattr(self.op, "use_locking", False))

    def ExpandNames(self) -> None:
        self.impl.ExpandNames(self)

    def DeclareLocks(self, level: int) -> None:
        self.impl.DeclareLocks(self, level)

    def Exec(self, feedback_fn: Callable[..., None]) -> dict[str, list]:
        return self.impl.NewStyleQuery(self)


class LUQueryFields(NoHooksLU):
    """Describe a resource's fields (OP_QUERY_FIELDS): {"fields": [...]}."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        self.qcls = _GetQueryImplementation(self.op.what)

    def ExpandNames(self) -> None:
        self.needed_locks = {}

    def Exec(self, feedback_fn: Callable[..., None]) -> dict[str, list]:
        return query.QueryFields(self.qcls.FIELDS, getattr(self.op, "fields", None))
