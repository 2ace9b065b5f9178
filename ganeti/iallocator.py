"""Instance allocators: the request/response protocol and how to run one.

Mirrors Ganeti's lib/masterd/iallocator.py and doc/iallocator.rst. An
allocator reads one JSON document and answers with one:

  input:  {"version": 2, "cluster_name", "cluster_tags",
           "enabled_hypervisors", "ipolicy",
           "nodegroups": {uuid: {name, alloc_policy, networks, ipolicy, tags}},
           "nodes": {name: {tags, primary_ip, secondary_ip, offline, drained,
                            master_candidate, group, master_capable,
                            vm_capable, ndparams, total_memory,
                            reserved_memory, free_memory, total_disk,
                            free_disk, total_spindles, free_spindles,
                            total_cpus, i_pri_memory, i_pri_up_memory}},
           "instances": {name: {tags, admin_state, vcpus, memory,
                                spindle_use, os, nodes, nics, disks,
                                disk_template, disks_active, hypervisor,
                                disk_space_total}},
           "request": {"type": <mode>, ...mode-specific keys...}}
  output: {"success": bool, "info": str, "result": <mode-specific>}

Live node values (memory, disk, cpus) are only present for online,
not-drained nodes. A node that cannot be asked is given to the allocator as
offline (Ganeti aborts the whole request instead), so a dead node is never
chosen and the others still are.

Which program answers (Run):
1. a script of that name in pathutils.IALLOCATOR_SEARCH_PATH on the master
   is run through the iallocator_runner RPC on the master node, as in
   Ganeti;
2. otherwise the built-in allocator (ganeti.iallocator_builtin) answers to
   the name "hail" (Ganeti's default allocator) and to whatever name the
   cluster's default_iallocator holds; a cluster without a default uses
   the built-in one (GetDefaultIAllocator), so users need not pick nodes;
3. any other name is an error naming the search path.
"""

from __future__ import annotations

import abc

import logging
import os
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, ht, pathutils, serializer, vcluster

logger = logging.getLogger(__name__)

IALLOCATOR_VERSION = 2
IALLOCATOR_MODE_ALLOC = "allocate"
IALLOCATOR_MODE_MULTI_ALLOC = "multi-allocate"
IALLOCATOR_MODE_RELOC = "relocate"
IALLOCATOR_MODE_CHG_GROUP = "change-group"
IALLOCATOR_MODE_NODE_EVAC = "node-evacuate"
IALLOCATOR_NEVAC_PRI = "primary-only"
IALLOCATOR_NEVAC_SEC = "secondary-only"
IALLOCATOR_NEVAC_ALL = "all"
IALLOCATOR_NEVAC_MODES = (IALLOCATOR_NEVAC_PRI, IALLOCATOR_NEVAC_SEC,
                          IALLOCATOR_NEVAC_ALL)

#: The opcode value meaning "the cluster's default allocator".
DEFAULT_IALLOCATOR_SHORTCUT = "."
#: The name the built-in allocator always answers to (Ganeti's default).
BUILTIN_IALLOCATOR = "hail"

_STRING_LIST = ht.TListOf(ht.TString)
_JOB_LIST = ht.TListOf(ht.TListOf(ht.TDict))
_NEVAC_MOVED = ht.TListOf(lambda item: isinstance(item, (list, tuple))
                          and len(item) == 3 and ht.TNonEmptyString(item[0])
                          and ht.TNonEmptyString(item[1])
                          and ht.TListOf(ht.TNonEmptyString)(item[2]))
_NEVAC_FAILED = ht.TListOf(lambda item: isinstance(item, (list, tuple))
                           and len(item) == 2 and ht.TNonEmptyString(item[0])
                           and ht.TMaybeString(item[1]))


def _NevacResult(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 3
            and _NEVAC_MOVED(value[0]) and _NEVAC_FAILED(value[1])
            and _JOB_LIST(value[2]))


def GetDefaultIAllocator(cluster: Any) -> str:
    """The allocator used when none is named: the cluster's, else "hail"."""
    return cluster.default_iallocator or BUILTIN_IALLOCATOR


def FindIAllocatorScript(name: str,
                         search_path: list[str] | None = None) -> str | None:
    """The path of an allocator script on this node, or None.

    Names with a slash are refused (None), as Ganeti's FindFile does.
    """
    if not name or "/" in name:
        return None
    for directory in search_path or pathutils.IALLOCATOR_SEARCH_PATH:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


# --- requests ---------------------------------------------------------------------


class IARequestBase(abc.ABC):
    """One allocator request; subclasses set MODE, REQ_PARAMS, REQ_RESULT."""

    MODE = ""
    #: (attribute, check) pairs, all required.
    REQ_PARAMS: list[tuple[str, Callable[[Any], bool]]] = []
    REQ_RESULT: Callable[[Any], bool] = staticmethod(ht.TList)

    def __init__(self, **kwargs: Any) -> None:
        """Set the request parameters and validate them.

        Raises:
          errors.OpPrereqError: a parameter is missing, unknown or invalid
            (ECODE_INVAL).
        """
        names = {name for name, _ in self.REQ_PARAMS}
        unknown = set(kwargs) - names
        if unknown:
            raise errors.OpPrereqError(
                f"Unknown request parameters {sorted(unknown)}", errors.ECODE_INVAL)
        for key, value in kwargs.items():
            setattr(self, key, value)
        self.Validate()

    def Validate(self) -> None:
        """Raises OpPrereqError (ECODE_INVAL) for a missing or bad parameter."""
        for param, check in self.REQ_PARAMS:
            if not hasattr(self, param):
                raise errors.OpPrereqError(f"Request is missing '{param}' parameter",
                                           errors.ECODE_INVAL)
            value = getattr(self, param)
            if not check(value):
                raise errors.OpPrereqError(
                    f"Request parameter '{param}' has invalid type"
                    f" {type(value).__name__}/value {value!r}", errors.ECODE_INVAL)

    @abc.abstractmethod
    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        """The "request" part of the input document (without "type")."""

    def GetHypervisor(self, cfg: Any) -> str | None:
        """The hypervisor whose node data the allocator needs."""
        return cfg.GetClusterInfo().GetDefaultHypervisor()

    def ValidateResult(self, ia: IAllocator, result: Any) -> None:
        """Raises ResultValidationError if a successful answer is malformed."""
        if ia.success and not self.REQ_RESULT(result):
            raise errors.ResultValidationError(
                f"iallocator returned invalid result, expected {self.REQ_RESULT},"
                f" got {result!r:.200}")


class IAReqInstanceAlloc(IARequestBase):
    """Find the node(s) for a new instance."""

    MODE = IALLOCATOR_MODE_ALLOC
    REQ_PARAMS = [
        ("name", ht.TNonEmptyString),
        ("memory", ht.TNonNegativeInt),
        ("spindle_use", ht.TNonNegativeInt),
        ("disks", ht.TListOf(ht.TDict)),
        ("disk_template", ht.TString),
        ("group_name", ht.TMaybeString),
        ("os", ht.TString),
        ("tags", _STRING_LIST),
        ("nics", ht.TListOf(ht.TDict)),
        ("vcpus", ht.TInt),
        ("hypervisor", ht.TString),
        ("node_whitelist", ht.TMaybe(ht.TListOf(ht.TNonEmptyString))),
    ]
    REQ_RESULT = staticmethod(ht.TList)

    def RequiredNodes(self) -> int:
        """Two nodes for internally mirrored templates (drbd), else one."""
        return 2 if self.disk_template == constants.DT_DRBD8 else 1

    def GetHypervisor(self, cfg: Any) -> str | None:
        return self.hypervisor

    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        from ganeti.cmdlib.instance_utils import ComputeDiskSize

        request = {
            "name": self.name, "disk_template": self.disk_template,
            "tags": list(self.tags), "os": self.os, "vcpus": self.vcpus,
            "memory": self.memory, "spindle_use": self.spindle_use,
            "disks": self.disks,
            "disk_space_total": ComputeDiskSize(self.disk_template, self.disks),
            "nics": self.nics, "required_nodes": self.RequiredNodes(),
            "hypervisor": self.hypervisor,
        }
        if self.group_name:
            request["group_name"] = self.group_name
        return request

    def ValidateResult(self, ia: IAllocator, result: Any) -> None:
        IARequestBase.ValidateResult(self, ia, result)
        if ia.success and len(result) != self.RequiredNodes():
            raise errors.ResultValidationError(
                f"iallocator returned invalid number of nodes ({len(result)}),"
                f" required {self.RequiredNodes()}")


class IAReqMultiInstanceAlloc(IARequestBase):
    """Find nodes for several new instances at once."""

    MODE = IALLOCATOR_MODE_MULTI_ALLOC
    REQ_PARAMS = [("instances", ht.TListOf(
        lambda value: isinstance(value, IAReqInstanceAlloc)))]

    @staticmethod
    def REQ_RESULT(value: Any) -> bool:  # noqa: N802 (Ganeti's name)
        return (isinstance(value, (list, tuple)) and len(value) == 2
                and ht.TListOf(lambda item: isinstance(item, (list, tuple))
                               and len(item) == 2 and ht.TNonEmptyString(item[0])
                               and ht.TListOf(ht.TNonEmptyString)(item[1]))(value[0])
                and ht.TListOf(ht.TNonEmptyString)(value[1]))

    def GetHypervisor(self, cfg: Any) -> str | None:
        if self.instances:
            return self.instances[0].hypervisor
        return IARequestBase.GetHypervisor(self, cfg)

    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        return {"instances": [req.GetRequest(cfg) for req in self.instances]}


#: Templates an instance can move to another node with (Ganeti's
#: DTS_MIRRORED: internally mirrored drbd, and the externally mirrored ones).
DTS_MIRRORED = frozenset([constants.DT_DRBD8, constants.DT_DISKLESS,
                          constants.DT_SHARED_FILE, constants.DT_BLOCK,
                          constants.DT_RBD, constants.DT_EXT, constants.DT_GLUSTER])


class IAReqRelocate(IARequestBase):
    """Find a new node for a mirrored instance (failover/migrate target, or
    a drbd instance's new secondary)."""

    MODE = IALLOCATOR_MODE_RELOC
    REQ_PARAMS = [("inst_uuid", ht.TNonEmptyString),
                  ("relocate_from_node_uuids", _STRING_LIST)]

    def GetHypervisor(self, cfg: Any) -> str | None:
        return cfg.GetInstanceInfo(self.inst_uuid).hypervisor

    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        """Raises OpPrereqError for an instance that cannot move."""
        from ganeti.cmdlib.instance_utils import ComputeDiskSize

        instance = cfg.GetInstanceInfo(self.inst_uuid)
        if instance is None:
            raise errors.ProgrammerError(
                f"Unknown instance '{self.inst_uuid}' passed to IAllocator")
        template = cfg.GetInstanceDiskTemplate(instance.uuid)
        if template not in DTS_MIRRORED:
            raise errors.OpPrereqError("Can't relocate non-mirrored instances",
                                       errors.ECODE_INVAL)
        if template == constants.DT_DRBD8 and \
                len(cfg.GetInstanceSecondaryNodes(instance.uuid)) != 1:
            raise errors.OpPrereqError("Instance has not exactly one secondary node",
                                       errors.ECODE_STATE)
        disks = [{"size": disk.size} for disk in cfg.GetInstanceDisks(instance.uuid)]
        return {"name": instance.name,
                "disk_space_total": ComputeDiskSize(template, disks),
                "required_nodes": 1,
                "relocate_from": cfg.GetNodeNames(self.relocate_from_node_uuids)}

    def ValidateResult(self, ia: IAllocator, result: Any) -> None:
        """The new node must be in the groups of the nodes relocated from."""
        IARequestBase.ValidateResult(self, ia, result)
        if not ia.success:
            return
        node2group = {name: data["group"] for name, data in ia.in_data["nodes"].items()}
        instance = ia.cfg.GetInstanceInfo(self.inst_uuid)
        pnode = ia.cfg.GetNodeName(instance.primary_node)
        requested = {node2group.get(name) for name in
                     ia.in_data["request"]["relocate_from"] + [pnode]}
        answered = {node2group.get(name) for name in list(result) + [pnode]}
        if not answered <= requested:
            raise errors.ResultValidationError(
                f"Groups of nodes returned by iallocator ({sorted(map(str, answered))})"
                f" differ from original groups ({sorted(map(str, requested))})")


class IAReqNodeEvac(IARequestBase):
    """Move the instances of nodes being evacuated."""

    MODE = IALLOCATOR_MODE_NODE_EVAC
    REQ_PARAMS = [("instances", _STRING_LIST),
                  ("evac_mode", ht.TElemOf(IALLOCATOR_NEVAC_MODES))]
    REQ_RESULT = staticmethod(_NevacResult)

    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        return {"instances": list(self.instances), "evac_mode": self.evac_mode}


class IAReqGroupChange(IARequestBase):
    """Move instances into other node groups."""

    MODE = IALLOCATOR_MODE_CHG_GROUP
    REQ_PARAMS = [("instances", _STRING_LIST), ("target_groups", _STRING_LIST)]
    REQ_RESULT = staticmethod(_NevacResult)

    def GetRequest(self, cfg: Any) -> dict[str, Any]:
        return {"instances": list(self.instances),
                "target_groups": list(self.target_groups)}


# --- the input document ---------------------------------------------------------------


def _ComputeNodeGroupData(cfg: Any) -> dict[str, Any]:
    cluster = cfg.GetClusterInfo()
    return {uuid: {"name": group.name, "alloc_policy": group.alloc_policy,
                   "networks": list(group.networks or {}),
                   "ipolicy": cluster.SimpleFillIPolicy(group.ipolicy),
                   "tags": sorted(group.tags or [])}
            for uuid, group in cfg.GetAllNodeGroupsInfo().items()}


def _NodeNdParams(cfg: Any, node: Any) -> dict[str, Any]:
    cluster = cfg.GetClusterInfo()
    group = cfg.GetNodeGroup(node.group)
    if group is None:
        return cluster.SimpleFillND(node.ndparams)
    return cluster.FillND(node, group)


def _ComputeBasicNodeData(cfg: Any, nodes: dict[str, Any],
                          whitelist: list[str] | None) -> dict[str, Any]:
    return {node.name: {
        "tags": sorted(node.tags or []), "primary_ip": node.primary_ip,
        "secondary_ip": node.secondary_ip,
        "offline": bool(node.offline or (whitelist is not None
                                         and node.name not in whitelist)),
        "drained": bool(node.drained), "master_candidate": bool(node.master_candidate),
        "group": node.group, "master_capable": bool(node.master_capable),
        "vm_capable": bool(node.vm_capable), "ndparams": _NodeNdParams(cfg, node),
    } for node in nodes.values()}


def _StorageUnits(cfg: Any, disk_template: str | None
                  ) -> tuple[list[list[Any]], str | None]:
    """The storage unit whose space the nodes report, and its type.

    The request's disk template's storage if it has one, else (as Ganeti)
    the first enabled template's; file storage directories are sent as
    virtual paths (each node localises them).
    """
    cluster = cfg.GetClusterInfo()
    templates = list(cluster.enabled_disk_templates or [])
    if disk_template:
        templates.insert(0, disk_template)
    for template in templates:
        storage = constants.MAP_DISK_TEMPLATE_STORAGE_TYPE.get(template)
        path = {constants.ST_FILE: cluster.file_storage_dir,
                constants.ST_SHARED_FILE: cluster.shared_file_storage_dir}.get(
                    storage or "")
        if path:
            wire = vcluster.MakeVirtualPath(path, allow_outside=True)
            return [[storage, wire, []]], storage
        if storage == constants.ST_LVM_VG and cluster.volume_group_name:
            return [[storage, cluster.volume_group_name, [False]]], storage
    return [], None


def _Int(data: dict[str, Any], key: str, node: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.OpExecError(
            f"Node '{node}' returned invalid value for '{key}': {value!r}")
    return value


def _DynamicNodeData(name: str, payload: Any, storage_type: str | None,
                     inst_info: dict[str, Any], primaries: list[tuple[Any, dict]]
                     ) -> dict[str, Any]:
    """The live part of one node's entry.

    Raises:
      errors.OpExecError: the node's answer lacks a value.
    """
    _, space_info, hv_info = payload
    data = dict(hv_info[0]) if hv_info else {}
    mem_free = _Int(data, "memory_free", name)
    i_pri_mem = i_pri_up_mem = 0
    for inst, bep in primaries:
        maxmem = bep[defaults.BE_MAXMEM]
        i_pri_mem += maxmem
        used = int((inst_info.get(inst.name) or {}).get("memory", 0) or 0)
        # Memory of instances not using all of it now is kept free for them.
        mem_free -= max(0, maxmem - used)
        if inst.admin_state == constants.ADMINST_UP:
            i_pri_up_mem += maxmem
    total_disk = free_disk = 0
    for unit in space_info or []:
        if isinstance(unit, dict) and unit.get("type") == storage_type:
            total_disk = int(unit.get("storage_size") or 0)
            free_disk = int(unit.get("storage_free") or 0)
    return {"total_memory": _Int(data, "memory_total", name),
            "reserved_memory": _Int(data, "memory_dom0", name),
            "free_memory": mem_free, "total_disk": total_disk,
            "free_disk": free_disk, "total_spindles": 0, "free_spindles": 0,
            "total_cpus": _Int(data, "cpu_total", name),
            "i_pri_memory": i_pri_mem, "i_pri_up_memory": i_pri_up_mem}


def _InstanceData(cfg: Any, cluster: Any, inst: Any, bep: dict[str, Any]
                  ) -> dict[str, Any]:
    from ganeti.cmdlib.instance_utils import ComputeDiskSize

    nics = []
    for nic in inst.nics or []:
        params = cluster.SimpleFillNIC(nic.nicparams)
        entry = {"mac": nic.mac, "ip": nic.ip, "mode": params.get(defaults.NIC_MODE),
                 "link": params.get(defaults.NIC_LINK)}
        if entry["mode"] == constants.NIC_MODE_BRIDGED:
            entry["bridge"] = entry["link"]
        nics.append(entry)
    disks = [{"size": disk.size, "mode": disk.mode, "spindles": disk.spindles}
             for disk in cfg.GetInstanceDisks(inst.uuid)]
    template = cfg.GetInstanceDiskTemplate(inst.uuid)
    return {"tags": sorted(inst.tags or []), "admin_state": inst.admin_state,
            "vcpus": bep[defaults.BE_VCPUS], "memory": bep[defaults.BE_MAXMEM],
            "spindle_use": bep[defaults.BE_SPINDLE_USE], "os": inst.os,
            "nodes": cfg.GetNodeNames(cfg.GetInstanceNodes(inst.uuid)),
            "nics": nics, "disks": disks, "disk_template": template,
            "disks_active": bool(inst.disks_active), "hypervisor": inst.hypervisor,
            "disk_space_total": ComputeDiskSize(template, disks)}


class IAllocator:
    """One allocator run: input document, allocator, validated answer.

    Attributes:
      in_data, in_text: the input document and its JSON text.
      out_text, out_data: the allocator's answer.
      success, info, result: the answer's fields (after Run).
    """

    def __init__(self, cfg: Any, rpc_runner: Any, req: IARequestBase,
                 _builtin_fn: Callable[[str], str] | None = None,
                 _search_path: list[str] | None = None) -> None:
        """Build the input document (asks the nodes for live data).

        Args:
          _builtin_fn: the built-in allocator (JSON text in and out).
          _search_path: where allocator scripts live (test seam).
        """
        self.cfg = cfg
        self.rpc = rpc_runner
        self.req = req
        self._builtin_fn = _builtin_fn
        self._search_path = _search_path
        self.in_text: str | None = None
        self.out_text: str | None = None
        self.in_data: dict[str, Any] = {}
        self.out_data: dict[str, Any] | None = None
        self.success: bool | None = None
        self.info: str | None = None
        self.result: Any = None
        self._BuildInputData()

    def _BuildInputData(self) -> None:
        cfg = self.cfg
        cluster = cfg.GetClusterInfo()
        instances = cfg.GetAllInstancesInfo()
        i_list = [(inst, cluster.FillBE(inst)) for inst in instances.values()]
        data: dict[str, Any] = {
            "version": IALLOCATOR_VERSION, "cluster_name": cfg.GetClusterName(),
            "cluster_tags": sorted(cluster.tags or []),
            "enabled_hypervisors": list(cluster.enabled_hypervisors or []),
            "ipolicy": cluster.ipolicy,
            "nodegroups": _ComputeNodeGroupData(cfg),
        }
        whitelist = getattr(self.req, "node_whitelist", None)
        data["nodes"] = self._ComputeNodeData(cfg.GetAllNodesInfo(), i_list,
                                              whitelist)
        data["instances"] = {inst.name: _InstanceData(cfg, cluster, inst, bep)
                             for inst, bep in i_list}
        request = self.req.GetRequest(cfg)
        request["type"] = self.req.MODE
        data["request"] = request
        self.in_data = data
        self.in_text = serializer.DumpJson(data)

    def _ComputeNodeData(self, nodes: dict[str, Any], i_list: list[tuple[Any, dict]],
                         whitelist: list[str] | None) -> dict[str, Any]:
        cfg = self.cfg
        cluster = cfg.GetClusterInfo()
        result = _ComputeBasicNodeData(cfg, nodes, whitelist)
        live = [uuid for uuid, node in nodes.items()
                if node.vm_capable and not (node.offline or node.drained)]
        if not live:
            return result
        hvname = self.req.GetHypervisor(cfg) or cluster.GetDefaultHypervisor()
        units, storage_type = _StorageUnits(
            cfg, getattr(self.req, "disk_template", None))
        hv_specs = [[hvname, cluster.hvparams.get(hvname, {})]]
        node_data = self.rpc.call_node_info(live, units, hv_specs)
        inst_data = self.rpc.call_all_instances_info(
            live, list(cluster.enabled_hypervisors or []), cluster.hvparams)
        for uuid in live:
            name = nodes[uuid].name
            nres, ires = node_data[uuid], inst_data[uuid]
            if nres.fail_msg or ires.fail_msg:
                logger.warning("No live data from node %s (%s); the allocator will"
                               " see it offline", name, nres.fail_msg or ires.fail_msg)
                result[name]["offline"] = True
                continue
            primaries = [(inst, bep) for inst, bep in i_list
                         if inst.primary_node == uuid]
            try:
                dynamic = _DynamicNodeData(name, nres.payload, storage_type,
                                           ires.payload or {}, primaries)
            except (TypeError, ValueError) as err:
                raise errors.OpExecError(
                    f"Invalid node_info answer from node {name}: {err}") from err
            result[name].update(dynamic)
        return result

    def Run(self, name: str, validate: bool = True,
            call_fn: Callable[..., Any] | None = None) -> None:
        """Run the allocator called name (see the module docstring).

        Raises:
          errors.OpPrereqError: no allocator of that name (ECODE_NOENT).
          errors.OpExecError: the allocator failed or gave no valid answer.
        """
        cluster = self.cfg.GetClusterInfo()
        params = cluster.default_iallocator_params or {}
        if FindIAllocatorScript(name, self._search_path) is not None:
            call_fn = call_fn or self.rpc.call_iallocator_runner
            result = call_fn(self.cfg.GetMasterNode(), name, self.in_text, params)
            result.Raise("Failure while running the iallocator script")
            self.out_text = result.payload
        elif name in (BUILTIN_IALLOCATOR, GetDefaultIAllocator(cluster)):
            builtin = self._builtin_fn
            if builtin is None:
                from ganeti import iallocator_builtin
                builtin = iallocator_builtin.Run
            self.out_text = builtin(self.in_text or "")
        else:
            paths = ", ".join(self._search_path or pathutils.IALLOCATOR_SEARCH_PATH)
            raise errors.OpPrereqError(
                f"Instance allocator '{name}' not found (searched {paths}; the"
                f" built-in allocator is '{BUILTIN_IALLOCATOR}')", errors.ECODE_NOENT)
        if validate:
            self._ValidateResult()

    def _ValidateResult(self) -> None:
        """Parse and check the answer.

        Raises:
          errors.OpExecError: not JSON, not a dict, a key missing, or a
            result of the wrong shape.
        """
        try:
            rdict = serializer.LoadJson(self.out_text or "")
        except errors.ParseError as err:
            raise errors.OpExecError(f"Can't parse iallocator results: {err}") \
                from err
        if not isinstance(rdict, dict):
            raise errors.OpExecError("Can't parse iallocator results: not a dict")
        if "nodes" in rdict and "result" not in rdict:
            rdict["result"] = rdict.pop("nodes")  # answers older than 2.x
        for key in ("success", "info", "result"):
            if key not in rdict:
                raise errors.OpExecError(
                    f"Can't parse iallocator results: missing key '{key}'")
        self.success, self.info, self.result = (rdict["success"], rdict["info"],
                                                rdict["result"])
        try:
            self.req.ValidateResult(self, self.result)
        except errors.ResultValidationError as err:
            raise errors.OpExecError(str(err)) from err
        self.out_data = rdict
