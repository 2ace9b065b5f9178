"""The LUXI methods of the master daemon (spec/luxi.md section 4).

LuxiHandler is the `handler(method, args, client_ctx)` that masterd gives to
ganeti.server.luxi.LuxiServer. One method of the class per LUXI request,
named like the request; arguments are checked for count and type, then the
work goes to the job queue, the query engine or the configuration. Errors
are raised as ganeti.errors exceptions, which LuxiServer encodes.

Decisions worth knowing:

* Query/QueryFields serve "node", "group", "instance", "job", "lock" and
  "filter" (QueryNodes, QueryGroups and QueryInstances too). "network" and
  "export" have no field tables in ganeti.query yet: they are refused with
  OpPrereqError(ECODE_INVAL) naming the resource type, also by their classic
  methods (QueryNetworks, QueryExports), rather than answering with made-up
  fields.
  Opcode-only resources (cluster, os, extstorage) and unknown ones are
  refused as Ganeti does.
* Node queries asking for live fields (dtotal, mfree...) collect them with
  the node_info RPC from the online nodes, as luxid does; a node that does
  not answer gets RS_NODATA for them. Instance queries asking for live
  fields (status, oper_ram, console...) ask all_instances_info of the
  instances' online nodes (ganeti.query.instance.MakeInstanceQueryData).
* Job ids are integers; numeric strings are accepted (as luxid does).
* SubmitJob* pass the opcode dicts to the job queue, which loads and
  validates them; the queue's "drained" error goes back as it is.
* WaitForJobChange blocks at most LUXI_WFJC_TIMEOUT (89 s).
* SetDrainFlag goes to the queue, which replicates the flag to the master
  candidates; SetWatcherPause goes to every node (as 2.x masterd did).
* Job filter rules (QueryFilters, ReplaceFilter, DeleteFilter, the "filter"
  query) live in config.data's "filters", as in Ganeti 3.x; a rule gets the
  last job id as watermark and a ["luxid", "", <ns>] reason entry.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import re
import struct
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, luxi, objects, pathutils, query
from ganeti.query import common as qcommon
from ganeti.utils import io, text

logger = logging.getLogger(__name__)

# The resources Query/QueryFields serve here.
_QUERY_RESOURCES = frozenset([qcommon.QR_NODE, qcommon.QR_GROUP, qcommon.QR_JOB,
                              qcommon.QR_LOCK, qcommon.QR_FILTER,
                              qcommon.QR_INSTANCE])
_TAG_KINDS = ("cluster", "node", "nodegroup", "instance", "network")
_FILTER_PREDICATES = frozenset(["jobid", "opcode", "reason"])
_FILTER_ACTIONS = frozenset(["ACCEPT", "PAUSE", "REJECT", "CONTINUE"])
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                      r"[0-9a-f]{12}$")
# LUXI method (a LuxiHandler method of that name) -> smallest and largest
# number of arguments.
_METHODS: dict[str, tuple[int, int]] = {
    luxi.REQ_SUBMIT_JOB: (1, 1),
    luxi.REQ_SUBMIT_JOB_TO_DRAINED_QUEUE: (1, 1),
    luxi.REQ_SUBMIT_MANY_JOBS: (1, 1),
    luxi.REQ_PICKUP_JOB: (1, 1),
    luxi.REQ_WAIT_FOR_JOB_CHANGE: (5, 5),
    luxi.REQ_CANCEL_JOB: (1, 2),
    luxi.REQ_ARCHIVE_JOB: (1, 1),
    luxi.REQ_CHANGE_JOB_PRIORITY: (2, 2),
    luxi.REQ_AUTO_ARCHIVE_JOBS: (2, 2),
    luxi.REQ_QUERY: (3, 3),
    luxi.REQ_QUERY_FIELDS: (2, 2),
    luxi.REQ_QUERY_JOBS: (2, 2),
    luxi.REQ_QUERY_INSTANCES: (3, 3),
    luxi.REQ_QUERY_NODES: (3, 3),
    luxi.REQ_QUERY_GROUPS: (3, 3),
    luxi.REQ_QUERY_NETWORKS: (3, 3),
    luxi.REQ_QUERY_EXPORTS: (2, 2),
    luxi.REQ_QUERY_CLUSTER_INFO: (0, 0),
    luxi.REQ_QUERY_CONFIG_VALUES: (1, 1),
    luxi.REQ_QUERY_TAGS: (2, 2),
    luxi.REQ_QUERY_FILTERS: (2, 2),
    luxi.REQ_REPLACE_FILTER: (5, 5),
    luxi.REQ_DELETE_FILTER: (1, 1),
    luxi.REQ_SET_DRAIN_FLAG: (1, 1),
    luxi.REQ_SET_WATCHER_PAUSE: (1, 1),
}


# --- argument checks ---------------------------------------------------------


def _BadArg(what: str, value: Any, expected: str) -> errors.LuxiError:
    return errors.LuxiError(f"Invalid {what}: expected {expected}, got {value!r:.80}")


def _JobId(value: Any) -> int:
    """A job id from the wire: an integer, or a string of digits."""
    if isinstance(value, bool):
        raise _BadArg("job id", value, "an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise _BadArg("job id", value, "an integer")


def _StrList(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadArg(what, value, "a list of strings")
    return value


def _MaybeStrList(value: Any, what: str) -> list[str] | None:
    return None if value is None else _StrList(value, what)


def _Number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadArg(what, value, "a number")
    return value


def _Bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _BadArg(what, value, "a boolean")
    return value


def _Ops(value: Any) -> list[dict[str, Any]]:
    """A job's opcodes from the wire: a non-empty list of opcode dicts."""
    if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
        raise _BadArg("job", value, "a list of opcodes (JSON objects)")
    return value


def _ToJson(value: Any) -> Any:
    """Tuples (from the queue) become lists, recursively."""
    if isinstance(value, (list, tuple)):
        return [_ToJson(item) for item in value]
    return value


def _Unsupported(what: Any) -> errors.OpPrereqError:
    if what in qcommon.QR_VIA_OP:
        return errors.OpPrereqError(
            f"Resource type '{what}' can only be queried with the opcode"
            " OP_QUERY", errors.ECODE_INVAL)
    if what in qcommon.QR_VIA_LUXI:
        return errors.OpPrereqError(
            f"Queries of resource type '{what}' are not supported yet by this"
            " master daemon", errors.ECODE_INVAL)
    return errors.OpPrereqError(f"Resource type '{what}' unknown",
                                errors.ECODE_INVAL)


def _LookupByName(kind: str, items: dict[str, Any], name: str) -> Any:
    """Find a config object by uuid, name or unique name prefix (luxid's
    getItem).

    Raises:
      errors.OpPrereqError: (ECODE_NOENT) no such object.
    """
    if not isinstance(name, str):
        raise _BadArg(f"{kind.lower()} name", name, "a string")
    if name in items:
        return items[name]
    by_name = {item.name: item for item in items.values()}
    full = text.MatchNameComponent(name, list(by_name))
    if full is None:
        raise errors.OpPrereqError(f"{kind} name {name} not found",
                                   errors.ECODE_NOENT)
    return by_name[full]


# --- the filter query table (src/Ganeti/Query/FilterRules.hs) ----------------


def _FilterGetter(attr: str) -> qcommon.Getter:
    return lambda _ctx, rule: getattr(rule, attr)


FILTER_FIELDS = qcommon._PrepareFieldList([
    qcommon.FieldDef(qcommon._MakeField(name, title, qcommon.QFT_OTHER, doc),
                     None, 0, _FilterGetter(name))
    for name, title, doc in [
        ("watermark", "Watermark",
         "Highest job ID used at the time when the filter was added"),
        ("priority", "Priority", "Filter priority"),
        ("predicates", "Predicates", "List of filter predicates"),
        ("action", "Action", "Filter action"),
        ("reason_trail", "ReasonTrail", "Reason why this filter was added"),
        ("uuid", "UUID", "Filter ID"),
    ]], [])


def _CheckFilterRule(priority: Any, predicates: Any, action: Any,
                     reason: Any) -> None:
    """Check the parts of a job filter rule (config.md FilterRule).

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) a part is malformed.
    """
    def _Fail(msg: str) -> None:
        raise errors.OpPrereqError(f"Invalid filter rule: {msg}", errors.ECODE_INVAL)

    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
        _Fail(f"priority must be a non-negative integer, got {priority!r}")
    if not isinstance(predicates, list) or not all(
            isinstance(p, list) and len(p) == 2 and p[0] in _FILTER_PREDICATES
            for p in predicates):
        _Fail("predicates must be a list of [name, filter] with name one of"
              f" {', '.join(sorted(_FILTER_PREDICATES))}")
    rate_limit = (isinstance(action, list) and len(action) == 2
                  and action[0] == "RATE_LIMIT" and isinstance(action[1], int)
                  and not isinstance(action[1], bool) and action[1] >= 0)
    if not rate_limit and not (isinstance(action, str) and action in _FILTER_ACTIONS):
        _Fail(f"action must be one of {', '.join(sorted(_FILTER_ACTIONS))} or"
              f" [\"RATE_LIMIT\", n], got {action!r}")
    if not isinstance(reason, list):
        _Fail("the reason trail must be a list")


# --- the handler -------------------------------------------------------------


class LuxiHandler:
    """Implements every LUXI method over the master's context.

    The context has the attributes cfg (ConfigWriter), jobqueue (JobQueue),
    glm (GanetiLockManager), distributor (server.distribute.ClusterDistributor
    or None) and the method GetRpc(cfg).
    """

    def __init__(self, context: Any, _time_fn: Callable[[], float] = time.time,
                 _arch: list[str] | None = None) -> None:
        self._context = context
        self._time_fn = _time_fn
        self._arch = _arch or [f"{struct.calcsize('P') * 8}bits",
                               platform.machine()]

    def __call__(self, method: str, args: list[Any], client_ctx: Any = None) -> Any:
        """Run one request (the LuxiServer handler).

        Raises:
          errors.LuxiError: unknown method or wrong arguments.
          errors.GenericError: whatever the method raises.
        """
        limits = _METHODS.get(method)
        if limits is None:
            raise errors.LuxiError(f"Unknown LUXI method '{method}'")
        if not isinstance(args, list) or not limits[0] <= len(args) <= limits[1]:
            count = (str(limits[0]) if limits[0] == limits[1]
                     else f"{limits[0]} to {limits[1]}")
            raise errors.LuxiError(
                f"Invalid arguments for {method}: expected a list of {count}"
                f" argument(s), got {args!r:.80}")
        logger.debug("LUXI %s from %s", method, client_ctx)
        return getattr(self, method)(*args)

    @property
    def _cfg(self) -> Any:
        return self._context.cfg

    @property
    def _queue(self) -> Any:
        return self._context.jobqueue

    # --- jobs ----------------------------------------------------------------

    def SubmitJob(self, ops: Any) -> int:
        return self._queue.SubmitJob(_Ops(ops))

    def SubmitJobToDrainedQueue(self, ops: Any) -> int:
        return self._queue.SubmitJobToDrainedQueue(_Ops(ops))

    def SubmitManyJobs(self, jobs: Any) -> list[list[Any]]:
        if not isinstance(jobs, list):
            raise _BadArg("job list", jobs, "a list of jobs")
        return _ToJson(self._queue.SubmitManyJobs([_Ops(job) for job in jobs]))

    def PickupJob(self, _job_id: Any) -> None:
        raise errors.GenericError("Luxi call 'PickupJob' is for internal use only")

    def WaitForJobChange(self, job_id: Any, fields: Any, prev_job_info: Any,
                         prev_log_serial: Any, timeout: Any) -> Any:
        """Wait (at most 89 s) until the job's fields or log change.

        Raises:
          errors.JobLost: the job does not exist.
        """
        job_id = _JobId(job_id)
        fields = _StrList(fields, "field list")
        if prev_log_serial is not None:
            prev_log_serial = int(_Number(prev_log_serial, "log serial"))
        timeout = min(_Number(timeout, "timeout"), luxi.LUXI_WFJC_TIMEOUT)
        result = self._queue.WaitForJobChanges(job_id, fields, prev_job_info,
                                               prev_log_serial, max(timeout, 0))
        if result is None:
            raise errors.JobLost(f"Job {job_id} not found")
        return _ToJson(result)

    def CancelJob(self, job_id: Any, kill: Any = False) -> list[Any]:
        return _ToJson(self._queue.CancelJob(_JobId(job_id), _Bool(kill, "kill")))

    def ChangeJobPriority(self, job_id: Any, priority: Any) -> list[Any]:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise _BadArg("priority", priority, "an integer")
        return _ToJson(self._queue.ChangeJobPriority(_JobId(job_id), priority))

    def ArchiveJob(self, job_id: Any) -> bool:
        return bool(self._queue.ArchiveJob(_JobId(job_id)))

    def AutoArchiveJobs(self, age: Any, timeout: Any) -> list[int]:
        return _ToJson(self._queue.AutoArchiveJobs(
            int(_Number(age, "age")), _Number(timeout, "timeout")))

    def QueryJobs(self, job_ids: Any, fields: Any) -> list[Any]:
        if job_ids is None:
            ids: list[int] | None = None
        elif isinstance(job_ids, list):
            ids = [_JobId(job_id) for job_id in job_ids]
        else:
            raise _BadArg("job id list", job_ids, "a list of job ids or null")
        return _ToJson(self._queue.QueryJobs(ids, _StrList(fields, "field list")))

    def SetDrainFlag(self, flag: Any) -> bool:
        # The queue writes the flag and replicates it (replicate_drain_fn).
        self._queue.SetDrainFlag(_Bool(flag, "drain flag"))
        return True

    # --- queries -------------------------------------------------------------

    def Query(self, what: Any, fields: Any, qfilter: Any) -> dict[str, Any]:
        fields = _StrList(fields, "field list")
        if qfilter is not None and not isinstance(qfilter, list):
            raise _BadArg("query filter", qfilter, "a list or null")
        if what not in _QUERY_RESOURCES:
            raise _Unsupported(what)
        if what == qcommon.QR_JOB:
            return self._queue.QueryJobsNew(fields, qfilter)
        if what == qcommon.QR_NODE:
            qry = query.Query(query.NODE_FIELDS, fields, qfilter, namefield="name")
            return query.GetQueryResponse(qry, self._NodeData(qry, None))
        if what == qcommon.QR_GROUP:
            qry = query.Query(query.GROUP_FIELDS, fields, qfilter, namefield="name")
            return query.GetQueryResponse(qry, self._GroupData(qry, None))
        if what == qcommon.QR_INSTANCE:
            qry = query.Query(query.INSTANCE_FIELDS, fields, qfilter,
                              namefield="name")
            return query.GetQueryResponse(qry, self._InstanceData(qry, None))
        if what == qcommon.QR_LOCK:
            qry = query.Query(query.LOCK_FIELDS, fields, qfilter, namefield="name")
            return query.GetQueryResponse(qry, self._LockRows())
        qry = query.Query(FILTER_FIELDS, fields, qfilter, namefield="uuid")
        return query.GetQueryResponse(qry, self._FilterRules(qry.RequestedNames()))

    def QueryFields(self, what: Any, fields: Any) -> dict[str, Any]:
        fields = _MaybeStrList(fields, "field list")
        tables = {qcommon.QR_NODE: query.NODE_FIELDS, qcommon.QR_JOB: query.JOB_FIELDS,
                  qcommon.QR_LOCK: query.LOCK_FIELDS, qcommon.QR_FILTER: FILTER_FIELDS,
                  qcommon.QR_GROUP: query.GROUP_FIELDS,
                  qcommon.QR_INSTANCE: query.INSTANCE_FIELDS}
        if what not in tables:
            raise _Unsupported(what)
        return query.QueryFields(tables[what], fields)

    def QueryNodes(self, names: Any, fields: Any, use_locking: Any) -> list[Any]:
        names = _MaybeStrList(names, "node name list") or []
        self._CheckNoSync(use_locking)
        qry = query.Query(query.NODE_FIELDS, _StrList(fields, "field list"), None,
                          namefield="name")
        return qry.OldStyleQuery(self._NodeData(qry, names),
                                 sort_by_name=not names)

    def QueryInstances(self, names: Any, fields: Any, use_locking: Any) -> list[Any]:
        names = _MaybeStrList(names, "instance name list") or []
        self._CheckNoSync(use_locking)
        qry = query.Query(query.INSTANCE_FIELDS, _StrList(fields, "field list"),
                          None, namefield="name")
        return qry.OldStyleQuery(self._InstanceData(qry, names),
                                 sort_by_name=not names)

    def QueryGroups(self, names: Any, fields: Any, use_locking: Any) -> list[Any]:
        names = _MaybeStrList(names, "group name list") or []
        self._CheckNoSync(use_locking)
        qry = query.Query(query.GROUP_FIELDS, _StrList(fields, "field list"), None,
                          namefield="name")
        return qry.OldStyleQuery(self._GroupData(qry, names),
                                 sort_by_name=not names)

    def QueryNetworks(self, names: Any, fields: Any, use_locking: Any) -> Any:
        self._CheckNoSync(use_locking)
        raise _Unsupported(qcommon.QR_NETWORK)

    def QueryExports(self, nodes: Any, use_locking: Any) -> Any:
        self._CheckNoSync(use_locking)
        raise _Unsupported(qcommon.QR_EXPORT)

    @staticmethod
    def _CheckNoSync(use_locking: Any) -> None:
        if use_locking:
            raise errors.OpPrereqError("Sync queries are not allowed",
                                       errors.ECODE_INVAL)

    def _LockRows(self) -> list[list[Any]]:
        return self._context.glm.QueryLocks(["name", "mode", "owner", "pending"])

    def _SelectNodes(self, names: list[str] | None) -> dict[str, Any]:
        """uuid -> node for the named nodes (by name or uuid), or all.

        Raises:
          errors.OpPrereqError: (ECODE_NOENT) a name is unknown.
        """
        nodes = self._cfg.GetAllNodesInfo()
        if not names:
            return nodes
        selected = {}
        for name in names:
            node = _LookupByName("Node", nodes, name)
            selected[node.uuid] = node
        return selected

    def _NodeData(self, qry: Any, names: list[str] | None) -> Any:
        """The NodeQueryData for a node query (live data only if needed)."""
        cfg = self._cfg
        if names is None:
            requested = qry.RequestedNames()
            names = [str(name) for name in requested] if requested else None
        nodes = self._SelectNodes(names)
        live = None
        if qcommon.NQ_LIVE in qry.RequestedData():
            live = self._CollectLiveNodeData(nodes)
        instances = cfg.GetAllInstancesInfo()
        return query.NodeQueryData(
            nodes=nodes, groups=cfg.GetAllNodeGroupsInfo(), instances=instances,
            master_uuid=cfg.GetMasterNode(),
            cluster_ndparams=cfg.GetClusterInfo().ndparams, live_data=live,
            inst_secondaries={uuid: cfg.GetInstanceSecondaryNodes(uuid)
                              for uuid in instances})

    def _InstanceData(self, qry: Any, names: list[str] | None) -> Any:
        """The InstanceQueryData of the named instances (by name or uuid), or
        all; live data only if the query needs it.

        Raises:
          errors.OpPrereqError: (ECODE_NOENT) a name is unknown.
        """
        cfg = self._cfg
        if names is None:
            requested = qry.RequestedNames()
            names = [str(name) for name in requested] if requested else None
        uuids = None
        if names:
            instances = cfg.GetAllInstancesInfo()
            uuids = [_LookupByName("Instance", instances, name).uuid
                     for name in names]
        return query.MakeInstanceQueryData(cfg, uuids, qry.RequestedData(),
                                           rpc=self._context.GetRpc(cfg))

    def _GroupData(self, qry: Any, names: list[str] | None) -> Any:
        """The GroupQueryData of the named groups (by name or uuid), or all.

        Raises:
          errors.OpPrereqError: (ECODE_NOENT) a name is unknown.
        """
        if names is None:
            requested = qry.RequestedNames()
            names = [str(name) for name in requested] if requested else None
        uuids = None
        if names:
            groups = self._cfg.GetAllNodeGroupsInfo()
            uuids = [_LookupByName("NodeGroup", groups, name).uuid for name in names]
        return query.MakeGroupQueryData(self._cfg, uuids)

    @staticmethod
    def _StorageUnits(cluster: objects.Cluster) -> list[list[Any]]:
        """The reporting storage units of the enabled disk templates, in
        their order (the first one that reports gives dtotal/dfree)."""
        from ganeti import vcluster

        paths = {constants.ST_FILE: cluster.file_storage_dir,
                 constants.ST_SHARED_FILE: cluster.shared_file_storage_dir,
                 constants.ST_GLUSTER: cluster.gluster_storage_dir}
        exclusive = bool((cluster.ndparams or {}).get("exclusive_storage"))
        units: list[list[Any]] = []
        for template in cluster.enabled_disk_templates or []:
            storage = constants.MAP_DISK_TEMPLATE_STORAGE_TYPE.get(template)
            if storage == constants.ST_LVM_VG and cluster.volume_group_name:
                unit = [storage, cluster.volume_group_name, [exclusive]]
            elif storage in paths and (path := paths[storage]):
                unit = [storage, vcluster.MakeVirtualPath(path, allow_outside=True), []]
            else:
                continue
            if unit not in units:
                units.append(unit)
        return units

    def _CollectLiveNodeData(self, nodes: dict[str, Any]) -> dict[str, dict]:
        """uuid -> live data of the online nodes that answered node_info."""
        cfg = self._cfg
        cluster = cfg.GetClusterInfo()
        online = [node.name for node in nodes.values() if not node.offline]
        if not online:
            return {}
        hv_name = cluster.GetDefaultHypervisor()
        hv_specs = [[hv_name, cluster.GetHVDefaults(hv_name)]] if hv_name else None
        results = self._context.GetRpc(cfg).call_node_info(
            online, self._StorageUnits(cluster), hv_specs)
        live: dict[str, dict] = {}
        by_name = {node.name: node.uuid for node in nodes.values()}
        for name, result in results.items():
            if result.failed:
                logger.warning("No live data from node %s: %s", name, result.fail_msg)
                continue
            boot_id, storage_info, hv_info = result.payload
            data: dict[str, Any] = {"bootid": boot_id}
            if hv_info:
                data.update(hv_info[0])
            if storage_info:
                data.update({key: value for key, value in storage_info[0].items()
                             if key in ("storage_size", "storage_free")})
            live[by_name[name]] = data
        return live

    def _FilterRules(self, uuids: list[Any] | None) -> list[objects.FilterRule]:
        filters = self._cfg.GetConfigData().filters or {}
        if not uuids:
            return list(filters.values())
        return [filters[uuid] for uuid in uuids if uuid in filters]

    # --- cluster and configuration -------------------------------------------

    def QueryClusterInfo(self) -> dict[str, Any]:
        """The cluster's settings, with the keys of luxid 3.x."""
        cfg = self._cfg
        cluster = cfg.GetClusterInfo()
        collectors = cluster.data_collectors or {}
        version = {constants.IP4_FAMILY: constants.IP4_VERSION,
                   constants.IP6_FAMILY: constants.IP6_VERSION}
        return {
            "software_version": constants.RELEASE_VERSION,
            "protocol_version": constants.PROTOCOL_VERSION,
            "config_version": constants.CONFIG_VERSION,
            "os_api_version": max(constants.OS_API_VERSIONS),
            "export_version": constants.EXPORT_VERSION,
            "vcs_version": constants.VCS_VERSION,
            "architecture": list(self._arch),
            "name": cluster.cluster_name,
            "master": cfg.GetMasterNodeName(),
            "default_hypervisor": cluster.GetDefaultHypervisor(),
            **{key: getattr(cluster, key) for key in (
                "enabled_hypervisors", "hvparams", "os_hvp", "beparams", "osparams",
                "ipolicy", "nicparams", "ndparams", "diskparams",
                "candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
                "mac_prefix", "master_netdev", "master_netmask",
                "use_external_mip_script")},
            "volume_group_name": cluster.volume_group_name or None,
            "drbd_usermode_helper": cluster.drbd_usermode_helper or None,
            **{key: getattr(cluster, key) for key in (
                "file_storage_dir", "shared_file_storage_dir", "gluster_storage_dir",
                "maintain_node_health", "ctime", "mtime", "uuid", "tags",
                "uid_pool", "default_iallocator", "default_iallocator_params",
                "reserved_lvs")},
            "primary_ip_version": version.get(cluster.primary_ip_family,
                                              constants.IP4_VERSION),
            **{key: getattr(cluster, key) for key in (
                "prealloc_wipe_disks", "hidden_os", "blacklisted_os",
                "enabled_disk_templates", "install_image",
                "instance_communication_network", "zeroing_image",
                "compression_tools", "enabled_user_shutdown")},
            "enabled_data_collectors": {name: bool(value.get("active"))
                                        for name, value in collectors.items()},
            "data_collector_interval": {name: value.get("interval")
                                        for name, value in collectors.items()},
            "modify_ssh_setup": cluster.modify_ssh_setup,
            "ssh_key_type": cluster.ssh_key_type,
            "ssh_key_bits": cluster.ssh_key_bits,
        }

    def QueryConfigValues(self, fields: Any) -> list[Any]:
        """Values of a few settings, in order; null for unknown names."""
        fields = _StrList(fields, "field list")
        cluster = self._cfg.GetClusterInfo()
        getters: dict[str, Callable[[], Any]] = {
            "cluster_name": lambda: cluster.cluster_name,
            "watcher_pause": self._GetWatcherPause,
            "master_node": self._cfg.GetMasterNodeName,
            "drain_flag": lambda: bool(self._queue.IsDrained()),
            "modify_ssh_setup": lambda: cluster.modify_ssh_setup,
            "ssh_key_type": lambda: cluster.ssh_key_type,
            "ssh_key_bits": lambda: cluster.ssh_key_bits,
        }
        return [getters[name]() if name in getters else None for name in fields]

    def _GetWatcherPause(self) -> float | None:
        """The end of the watcher pause on this node, if it is in the future."""
        try:
            until = float(io.ReadFile(pathutils.WATCHER_PAUSEFILE).strip())
        except (OSError, ValueError):
            return None
        return until if until > self._time_fn() else None

    def QueryTags(self, kind: Any, name: Any) -> list[str]:
        """The tags of the cluster or of one object.

        Raises:
          errors.OpPrereqError: unknown kind (ECODE_INVAL) or object
            (ECODE_NOENT).
        """
        cfg = self._cfg
        if kind == "cluster":
            return list(cfg.GetClusterInfo().tags or [])
        containers = {
            "node": ("Node", cfg.GetAllNodesInfo),
            "nodegroup": ("Group", cfg.GetAllNodeGroupsInfo),
            "instance": ("Instance", cfg.GetAllInstancesInfo),
            "network": ("Network", cfg.GetAllNetworksInfo),
        }
        if kind not in containers:
            raise errors.OpPrereqError(
                f"Invalid tag kind '{kind}', must be one of {', '.join(_TAG_KINDS)}",
                errors.ECODE_INVAL)
        label, getter = containers[kind]
        return list(_LookupByName(label, getter(), name).tags or [])

    def SetWatcherPause(self, until: Any) -> float | None:
        """Pause the watcher on every node until the given time (None:
        resume); returns until."""
        if until is not None:
            until = _Number(until, "watcher pause end")
        distributor = getattr(self._context, "distributor", None)
        if distributor is None:
            raise errors.ProgrammerError("No distributor to reach the nodes")
        distributor.SetWatcherPause(until)
        return until

    # --- job filters ---------------------------------------------------------

    def QueryFilters(self, uuids: Any, fields: Any) -> list[list[Any]]:
        uuids = _MaybeStrList(uuids, "filter uuid list")
        qry = query.Query(FILTER_FIELDS, _StrList(fields, "field list"), None,
                          namefield="uuid")
        return qry.OldStyleQuery(self._FilterRules(uuids), sort_by_name=not uuids)

    def ReplaceFilter(self, uuid: Any, priority: Any, predicates: Any, action: Any,
                      reason: Any) -> str:
        """Add a job filter rule (uuid None) or replace one; return its uuid."""
        if uuid is None:
            uuid = self._cfg.GenerateUniqueID()
        elif not isinstance(uuid, str) or not _UUID_RE.match(uuid):
            raise errors.GenericError("Unable to parse UUID")
        _CheckFilterRule(priority, predicates, action, reason)
        trail = [*reason, ["luxid", "", int(self._time_fn() * 1e9)]]
        rule = objects.FilterRule(watermark=self._ReadJobSerial(), priority=priority,
                                  predicates=predicates, action=action,
                                  reason_trail=trail, uuid=uuid)
        with self._ConfigLock():
            self._cfg.GetConfigData().filters[uuid] = rule
            self._cfg.Save()
        return uuid

    def DeleteFilter(self, uuid: Any) -> None:
        with self._ConfigLock():
            filters = self._cfg.GetConfigData().filters
            if not isinstance(uuid, str) or uuid not in filters:
                raise errors.GenericError(
                    f"Filter rule with UUID {uuid} does not exist")
            del filters[uuid]
            self._cfg.Save()

    def _ConfigLock(self) -> Any:
        """The ConfigWriter's own (re-entrant) lock, so that a save in
        another thread never sees the filters half changed. ConfigWriter has
        no filter methods yet; its lock is the private _lock."""
        return getattr(self._cfg, "_lock", None) or contextlib.nullcontext()

    @staticmethod
    def _ReadJobSerial() -> int:
        """The last job id handed out (0 before the first job)."""
        try:
            return int(io.ReadFile(pathutils.JOB_QUEUE_SERIAL_FILE).strip() or 0)
        except (OSError, ValueError):
            return 0


