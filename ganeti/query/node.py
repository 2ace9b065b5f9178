"""Field table of the "node" query (spec/query2.md section 6).

Names, titles, kinds and docs follow luxid (samples/luxi-node-list.txt;
src/Ganeti/Query/Node.hs). The query runs over a NodeQueryData; its items are
the node objects (objects.Node: name, uuid, primary_ip, secondary_ip,
master_candidate, offline, drained, group, master_capable, vm_capable,
ndparams, powered, serial_no, ctime, mtime, tags).

Live fields come from the node_info RPC. They are RS_OFFLINE for offline
nodes and RS_NODATA when no live data was collected for the node (not asked
for, or the node did not answer) or the answer lacks the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ganeti.query.common import (
    NQ_CONFIG,
    NQ_GROUP,
    NQ_INST,
    NQ_LIVE,
    NQ_OOB,
    QFF_HOSTNAME,
    QFT_BOOL,
    QFT_NUMBER,
    QFT_NUMBER_FLOAT,
    QFT_OTHER,
    QFT_TEXT,
    QFT_UNIT,
    FieldDef,
    FieldDict,
    Getter,
    _FS_NODATA,
    _FS_OFFLINE,
    _FS_UNAVAIL,
    _GetItemAttr,
    _GetItemCommonFields,
    _MakeField,
    _PrepareFieldList,
)
from ganeti.utils.text import NiceSort

# Node roles (constants.NR_*), in the order of the "role" field's doc.
_ROLE_DESC = [("M", "master"), ("C", "master candidate"), ("R", "regular"),
              ("D", "drained"), ("O", "offline")]

# Live fields: name -> (title, kind, key in the node_info data, doc).
_NODE_LIVE_FIELDS = {
    "bootid": ("BootID", QFT_TEXT, "bootid",
               "Random UUID renewed for each system reboot, can be used for"
               " detecting reboots by tracking changes"),
    "cnodes": ("CNodes", QFT_NUMBER, "cpu_nodes",
               "Number of NUMA domains on node (if exported by hypervisor)"),
    "cnos": ("CNOs", QFT_NUMBER, "cpu_dom0",
             "Number of logical processors used by the node OS (dom0 for Xen)"),
    "csockets": ("CSockets", QFT_NUMBER, "cpu_sockets",
                 "Number of physical CPU sockets (if exported by hypervisor)"),
    "ctotal": ("CTotal", QFT_NUMBER, "cpu_total", "Number of logical processors"),
    "dfree": ("DFree", QFT_UNIT, "storage_free",
              "Available storage space on storage unit"),
    "dtotal": ("DTotal", QFT_UNIT, "storage_size",
               "Total storage space on storage unit for instance disk allocation"),
    "spfree": ("SpFree", QFT_NUMBER, "spindles_free",
               "Available spindles in volume group (exclusive storage only)"),
    "sptotal": ("SpTotal", QFT_NUMBER, "spindles_total",
                "Total spindles in volume group (exclusive storage only)"),
    "mfree": ("MFree", QFT_UNIT, "memory_free",
              "Memory available for instance allocations"),
    "mnode": ("MNode", QFT_UNIT, "memory_dom0",
              "Amount of memory used by node (dom0 for Xen)"),
    "mtotal": ("MTotal", QFT_UNIT, "memory_total",
               "Total amount of memory of physical machine"),
}

# Node parameters (constants.NDS_PARAMETER_TYPES/TITLES): name -> kind, title.
_ND_PARAMS = {
    "exclusive_storage": (QFT_BOOL, "ExclusiveStorage"),
    "oob_program": (QFT_OTHER, "OutOfBandProgram"),
    "ovs": (QFT_BOOL, "OpenvSwitch"),
    "ovs_link": (QFT_OTHER, "OpenvSwitchLink"),
    "ovs_name": (QFT_OTHER, "OpenvSwitchName"),
    "spindle_count": (QFT_NUMBER, "SpindleCount"),
    "ssh_port": (QFT_NUMBER, None),
    "cpu_speed": (QFT_NUMBER_FLOAT, None),
}


@dataclasses.dataclass
class NodeQueryData:
    """The data a node query runs over; iterating it gives the nodes.

    Attributes:
      nodes: node uuid -> objects.Node, the nodes to consider.
      groups: group uuid -> objects.NodeGroup.
      instances: instance uuid -> objects.Instance (name, primary_node).
      master_uuid: the master node's uuid.
      cluster_ndparams: the cluster-level (filled) node parameters.
      live_data: node uuid -> node_info data (keys bootid, cpu_nodes,
        cpu_dom0, cpu_sockets, cpu_total, storage_free, storage_size,
        spindles_free, spindles_total, memory_free, memory_dom0,
        memory_total), or None when live data was not collected.
      inst_secondaries: instance uuid -> secondary node uuids; when None an
        instance's ``secondary_nodes`` attribute is used if it has one.
    """

    nodes: dict[str, Any]
    groups: dict[str, Any] = dataclasses.field(default_factory=dict)
    instances: dict[str, Any] = dataclasses.field(default_factory=dict)
    master_uuid: str | None = None
    cluster_ndparams: dict[str, Any] | None = None
    live_data: dict[str, dict[str, Any]] | None = None
    inst_secondaries: dict[str, list[str]] | None = None
    node_to_primary: dict[str, list[str]] = dataclasses.field(init=False)
    node_to_secondary: dict[str, list[str]] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.node_to_primary = {}
        self.node_to_secondary = {}
        for inst_uuid, inst in self.instances.items():
            self.node_to_primary.setdefault(inst.primary_node, []).append(inst.name)
            if self.inst_secondaries is not None:
                secondaries = self.inst_secondaries.get(inst_uuid, [])
            else:
                secondaries = getattr(inst, "secondary_nodes", None) or []
            for node_uuid in secondaries:
                self.node_to_secondary.setdefault(node_uuid, []).append(inst.name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.nodes.values())

    def GetNdParams(self, node: Any) -> dict[str, Any] | None:
        """The node's parameters filled from its group and the cluster.

        Returns:
          the merged parameters, or None when the node's group is unknown.
        """
        group = self.groups.get(node.group)
        if group is None:
            return None
        result = dict(self.cluster_ndparams or {})
        result.update(group.ndparams or {})
        result.update(node.ndparams or {})
        return result


def _GetNodeRole(node: Any, master_uuid: str | None) -> str:
    """The node's role letter (constants.NR_*)."""
    if node.uuid == master_uuid:
        return "M"
    if node.master_candidate:
        return "C"
    if node.drained:
        return "D"
    if node.offline:
        return "O"
    return "R"


def _GetGroupName(ctx: NodeQueryData, node: Any) -> Any:
    group = ctx.groups.get(node.group)
    return _FS_NODATA if group is None else group.name


def _GetNdParamsField(ctx: NodeQueryData, node: Any) -> Any:
    ndparams = ctx.GetNdParams(node)
    return _FS_NODATA if ndparams is None else ndparams


def _GetNodePower(ctx: NodeQueryData, node: Any) -> Any:
    """Powered state; unavailable without an out-of-band program."""
    ndparams = ctx.GetNdParams(node)
    if ndparams is None:
        return _FS_NODATA
    if not ndparams.get("oob_program"):
        return _FS_UNAVAIL
    return bool(node.powered)


def _GetNdParam(name: str) -> Getter:
    def _Getter(ctx: NodeQueryData, node: Any) -> Any:
        ndparams = ctx.GetNdParams(node)
        if ndparams is None or ndparams.get(name) is None:
            return _FS_NODATA
        return ndparams[name]

    return _Getter


def _GetLiveNodeField(key: str, kind: str) -> Getter:
    """Return a getter for one value of the node's live data."""

    def _Getter(ctx: NodeQueryData, node: Any) -> Any:
        if node.offline:
            return _FS_OFFLINE
        data = None if ctx.live_data is None else ctx.live_data.get(node.uuid)
        value = None if data is None else data.get(key)
        if value is None:
            return _FS_NODATA
        if kind == QFT_TEXT:
            return str(value)
        try:
            return int(value)
        except (TypeError, ValueError):
            return _FS_NODATA

    return _Getter


def _BoolAttr(attr: str) -> Getter:
    return lambda _ctx, node: bool(getattr(node, attr))


def _InstanceList(attr: str, count: bool) -> Getter:
    def _Getter(ctx: NodeQueryData, node: Any) -> Any:
        names = getattr(ctx, attr).get(node.uuid, [])
        return len(names) if count else NiceSort(names)

    return _Getter


def _BuildConfigFields() -> list[FieldDef]:
    """The fields computed from the configuration alone."""
    role_doc = "Node role; " + ", ".join(
        f'"{role}" for {desc}' for (role, desc) in _ROLE_DESC)
    flags = [
        ("drained", "Drained", "Whether node is drained"),
        ("master_candidate", "MasterC", "Whether node is a master candidate"),
        ("master_capable", "MasterCapable",
         "Whether node can become a master candidate"),
        ("offline", "Offline", "Whether node is marked offline"),
        ("vm_capable", "VMCapable", "Whether node can host instances"),
    ]
    fields = [FieldDef(_MakeField(name, title, QFT_BOOL, doc), NQ_CONFIG, 0,
                       _BoolAttr(name)) for (name, title, doc) in flags]
    return fields + [
        FieldDef(_MakeField("name", "Node", QFT_TEXT, "Node name"), NQ_CONFIG,
                 QFF_HOSTNAME, _GetItemAttr("name")),
        FieldDef(_MakeField("pip", "PrimaryIP", QFT_TEXT, "Primary IP address"),
                 NQ_CONFIG, 0, _GetItemAttr("primary_ip")),
        FieldDef(_MakeField("sip", "SecondaryIP", QFT_TEXT,
                            "Secondary IP address"),
                 NQ_CONFIG, 0, _GetItemAttr("secondary_ip")),
        FieldDef(_MakeField("master", "IsMaster", QFT_BOOL,
                            "Whether node is master"),
                 NQ_CONFIG, 0, lambda ctx, node: node.uuid == ctx.master_uuid),
        FieldDef(_MakeField("group", "Group", QFT_TEXT, "Node group"), NQ_GROUP,
                 0, _GetGroupName),
        FieldDef(_MakeField("group.uuid", "GroupUUID", QFT_TEXT,
                            "UUID of node group"),
                 NQ_CONFIG, 0, _GetItemAttr("group")),
        FieldDef(_MakeField("ndparams", "NodeParameters", QFT_OTHER,
                            "Merged node parameters"),
                 NQ_GROUP, 0, _GetNdParamsField),
        FieldDef(_MakeField("custom_ndparams", "CustomNodeParameters", QFT_OTHER,
                            "Custom node parameters"),
                 NQ_CONFIG, 0, lambda _ctx, node: dict(node.ndparams or {})),
        FieldDef(_MakeField("role", "Role", QFT_TEXT, role_doc), NQ_CONFIG, 0,
                 lambda ctx, node: _GetNodeRole(node, ctx.master_uuid)),
        FieldDef(_MakeField("powered", "Powered", QFT_BOOL,
                            "Whether node is thought to be powered on"),
                 NQ_OOB, 0, _GetNodePower),
        # Declared for parity; Ganeti 3.0 answers "unavailable" for both.
        FieldDef(_MakeField("hv_state", "HypervisorState", QFT_OTHER,
                            "Hypervisor state"),
                 NQ_CONFIG, 0, lambda _ctx, _node: _FS_UNAVAIL),
        FieldDef(_MakeField("disk_state", "DiskState", QFT_OTHER, "Disk state"),
                 NQ_CONFIG, 0, lambda _ctx, _node: _FS_UNAVAIL),
    ]


def _BuildInstanceFields() -> list[FieldDef]:
    """The primary/secondary instance count and list fields."""
    result = []
    for prefix, attr, what in [("p", "node_to_primary", "primary"),
                               ("s", "node_to_secondary", "secondary")]:
        title = prefix.upper() + "inst"
        result.append(FieldDef(
            _MakeField(f"{prefix}inst_cnt", title, QFT_NUMBER,
                       f"Number of instances with this node as {what}"),
            NQ_INST, 0, _InstanceList(attr, True)))
        result.append(FieldDef(
            _MakeField(f"{prefix}inst_list", f"{what[:3].capitalize()}Instances",
                       QFT_OTHER, f"List of instances with this node as {what}"),
            NQ_INST, 0, _InstanceList(attr, False)))
    return result


def _BuildNodeFields() -> FieldDict:
    """Build the node field table."""
    fields = _BuildConfigFields() + _BuildInstanceFields()
    fields.extend(
        FieldDef(_MakeField(name, title, kind, doc), NQ_LIVE, 0,
                 _GetLiveNodeField(key, kind))
        for (name, (title, kind, key, doc)) in _NODE_LIVE_FIELDS.items())
    fields.extend(
        FieldDef(_MakeField(f"ndp/{name}", title or f"ndp/{name}", kind,
                            f'The "{name}" node parameter'),
                 NQ_GROUP, 0, _GetNdParam(name))
        for (name, (kind, title)) in _ND_PARAMS.items())
    fields.extend(_GetItemCommonFields("Node", NQ_CONFIG))
    return _PrepareFieldList(fields, [])


#: Fields of the "node" query; the ctx is a NodeQueryData.
NODE_FIELDS = _BuildNodeFields()
