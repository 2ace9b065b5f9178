"""Field table of the "group" query (spec/query2.md section 6).

Names, titles, kinds and docs follow luxid (src/Ganeti/Query/Group.hs of
Ganeti 3.0; samples/rapi-2-groups-bulk.json and gnt-group-list.txt show
them at work). The query runs over a GroupQueryData; its items are the
node group objects (objects.NodeGroup).

Merged values are computed as luxid does (src/Ganeti/Config.hs):

* ndparams: the cluster's node parameters updated with the group's;
* ipolicy: the cluster's policy filled with the group's (FillIPolicy);
* diskparams: the cluster's per-template dicts with the group's per-template
  dicts put *in their place* (a shallow merge, as getGroupDiskParams does:
  a template the group customises shows only the group's keys);
* node_list: node names in the order of the nodes' UUIDs (luxid walks its
  UUID-keyed map); pinst_list: primary instances, nice-sorted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ganeti import objects
from ganeti.query.common import (
    GQ_CONFIG,
    GQ_DISKPARAMS,
    GQ_INST,
    GQ_NODE,
    QFT_NUMBER,
    QFT_OTHER,
    QFT_TEXT,
    FieldDef,
    FieldDict,
    Getter,
    _FS_NODATA,
    _GetItemAttr,
    _GetItemCommonFields,
    _MakeField,
    _PrepareFieldList,
)
from ganeti.query.node import _ND_PARAMS
from ganeti.utils.text import NiceSort


@dataclasses.dataclass
class GroupQueryData:
    """The data a group query runs over; iterating it gives the groups.

    Attributes:
      groups: group uuid -> objects.NodeGroup, the groups to report (in
        this order when the query does not sort).
      cluster: the cluster object (its ndparams, ipolicy and diskparams are
        the defaults the merged fields start from).
      nodes: node uuid -> objects.Node (name, group).
      instances: instance uuid -> objects.Instance (name, primary_node).
    """

    groups: dict[str, Any]
    cluster: Any
    nodes: dict[str, Any] = dataclasses.field(default_factory=dict)
    instances: dict[str, Any] = dataclasses.field(default_factory=dict)
    group_to_nodes: dict[str, list[str]] = dataclasses.field(init=False)
    group_to_instances: dict[str, list[str]] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.group_to_nodes = {}
        for node_uuid in sorted(self.nodes):
            node = self.nodes[node_uuid]
            self.group_to_nodes.setdefault(node.group, []).append(node.name)
        self.group_to_instances = {}
        for inst in self.instances.values():
            node = self.nodes.get(inst.primary_node)
            if node is not None:
                self.group_to_instances.setdefault(node.group, []).append(
                    inst.name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.groups.values())

    def GetNdParams(self, group: Any) -> dict[str, Any]:
        """The group's node parameters filled with the cluster's."""
        return objects.FillDict(self.cluster.ndparams or {}, group.ndparams)

    def GetIPolicy(self, group: Any) -> dict[str, Any]:
        """The group's instance policy filled with the cluster's."""
        return objects.FillIPolicy(self.cluster.ipolicy or {}, group.ipolicy)

    def GetDiskParams(self, group: Any) -> dict[str, Any]:
        """The cluster's disk parameters, per template replaced by the group's."""
        return objects.FillDict(self.cluster.diskparams or {}, group.diskparams)


def MakeGroupQueryData(cfg: Any, group_uuids: list[str] | None = None
                       ) -> GroupQueryData:
    """Build the data of a group query from a ConfigWriter.

    Args:
      cfg: the ConfigWriter (or anything with its Get* methods).
      group_uuids: the groups to report, in order (None: all of them).

    Returns:
      the GroupQueryData.
    """
    all_groups = cfg.GetAllNodeGroupsInfo()
    if group_uuids is None:
        groups = all_groups
    else:
        groups = {uuid: all_groups[uuid] for uuid in group_uuids
                  if uuid in all_groups}
    return GroupQueryData(groups=groups, cluster=cfg.GetClusterInfo(),
                          nodes=cfg.GetAllNodesInfo(),
                          instances=cfg.GetAllInstancesInfo())


def _GetNodeList(count: bool) -> Getter:
    def _Getter(ctx: GroupQueryData, group: Any) -> Any:
        names = ctx.group_to_nodes.get(group.uuid, [])
        return len(names) if count else list(names)

    return _Getter


def _GetInstanceList(count: bool) -> Getter:
    def _Getter(ctx: GroupQueryData, group: Any) -> Any:
        names = ctx.group_to_instances.get(group.uuid, [])
        return len(names) if count else NiceSort(names)

    return _Getter


def _GetCustom(attr: str) -> Getter:
    """A getter returning a copy of the group's own (partial) parameters."""
    return lambda _ctx, group: dict(getattr(group, attr) or {})


def _GetNdParam(name: str) -> Getter:
    def _Getter(ctx: GroupQueryData, group: Any) -> Any:
        value = ctx.GetNdParams(group).get(name)
        return _FS_NODATA if value is None else value

    return _Getter


def _BuildConfigFields() -> list[FieldDef]:
    """The fields computed from the group and the cluster alone."""
    return [
        FieldDef(_MakeField("alloc_policy", "AllocPolicy", QFT_TEXT,
                            "Allocation policy for group"),
                 GQ_CONFIG, 0, _GetItemAttr("alloc_policy")),
        FieldDef(_MakeField("custom_diskparams", "CustomDiskParameters",
                            QFT_OTHER, "Custom disk parameters"),
                 GQ_CONFIG, 0, _GetCustom("diskparams")),
        FieldDef(_MakeField("custom_ipolicy", "CustomInstancePolicy", QFT_OTHER,
                            "Custom instance policy limitations"),
                 GQ_CONFIG, 0, _GetCustom("ipolicy")),
        FieldDef(_MakeField("custom_ndparams", "CustomNDParams", QFT_OTHER,
                            "Custom node parameters"),
                 GQ_CONFIG, 0, _GetCustom("ndparams")),
        FieldDef(_MakeField("diskparams", "DiskParameters", QFT_OTHER,
                            "Disk parameters (merged)"),
                 GQ_DISKPARAMS, 0, lambda ctx, group: ctx.GetDiskParams(group)),
        FieldDef(_MakeField("ipolicy", "InstancePolicy", QFT_OTHER,
                            "Instance policy limitations (merged)"),
                 GQ_CONFIG, 0, lambda ctx, group: ctx.GetIPolicy(group)),
        FieldDef(_MakeField("name", "Group", QFT_TEXT, "Group name"),
                 GQ_CONFIG, 0, _GetItemAttr("name")),
        FieldDef(_MakeField("ndparams", "NDParams", QFT_OTHER, "Node parameters"),
                 GQ_CONFIG, 0, lambda ctx, group: ctx.GetNdParams(group)),
    ]


def _BuildMemberFields() -> list[FieldDef]:
    """The node and primary instance count and list fields."""
    return [
        FieldDef(_MakeField("node_cnt", "Nodes", QFT_NUMBER, "Number of nodes"),
                 GQ_NODE, 0, _GetNodeList(True)),
        FieldDef(_MakeField("node_list", "NodeList", QFT_OTHER, "List of nodes"),
                 GQ_NODE, 0, _GetNodeList(False)),
        FieldDef(_MakeField("pinst_cnt", "Instances", QFT_NUMBER,
                            "Number of primary instances"),
                 GQ_INST, 0, _GetInstanceList(True)),
        FieldDef(_MakeField("pinst_list", "InstanceList", QFT_OTHER,
                            "List of primary instances"),
                 GQ_INST, 0, _GetInstanceList(False)),
    ]


def _BuildGroupFields() -> FieldDict:
    """Build the group field table."""
    fields = _BuildConfigFields() + _BuildMemberFields()
    fields.extend(
        FieldDef(_MakeField(f"ndp/{name}", title or f"ndp/{name}", kind,
                            f'The "{name}" node parameter'),
                 GQ_CONFIG, 0, _GetNdParam(name))
        for (name, (kind, title)) in _ND_PARAMS.items())
    fields.extend(_GetItemCommonFields("Group", GQ_CONFIG))
    return _PrepareFieldList(fields, [])


#: Fields of the "group" query; the ctx is a GroupQueryData.
GROUP_FIELDS = _BuildGroupFields()
