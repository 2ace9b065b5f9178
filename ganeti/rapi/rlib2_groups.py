"""RAPI v2 node group and network resources: /2/groups/... and /2/networks/...

Lists and items come from the master's classic queries (LUXI QueryGroups,
QueryNetworks) with Ganeti 3.0's rlib2 G_FIELDS and NET_FIELDS; every
change is an opcode job.
"""

from __future__ import annotations

from typing import Any

from ganeti import opcodes
from ganeti.rapi import baserlib

_COMMON_FIELDS = ["ctime", "mtime", "uuid", "serial_no", "tags"]

G_FIELDS = ["alloc_policy", "name", "node_cnt", "node_list", "ipolicy",
            "custom_ipolicy", "diskparams", "custom_diskparams", "ndparams",
            "custom_ndparams"] + _COMMON_FIELDS

NET_FIELDS = ["name", "network", "gateway", "network6", "gateway6",
              "mac_prefix", "free_count", "reserved_count", "map", "group_list",
              "inst_list", "external_reservations"] + _COMMON_FIELDS


def _ListOrBulk(resource: baserlib.ResourceBase, query_fn_name: str,
                fields: list[str], uri_format: str) -> list[Any]:
    """Answer a list resource: names and URIs, or full objects with bulk=1."""
    query_fn = getattr(resource.GetClient(), query_fn_name)
    if resource.useBulk():
        return baserlib.MapBulkFields(query_fn([], fields, False), fields)
    names = [row[0] for row in query_fn([], ["name"], False)]
    return baserlib.BuildUriList(names, uri_format, uri_fields=("name", "uri"))


def _GetItem(resource: baserlib.ResourceBase, query_fn_name: str,
             fields: list[str]) -> dict[str, Any]:
    """Answer an item resource; 404 if the master does not know the item."""
    query_fn = getattr(resource.GetClient(), query_fn_name)
    result = baserlib.HandleItemQueryErrors(query_fn, [resource.items[0]], fields,
                                            resource.useLocking())
    return baserlib.MapFields(fields, result[0])


class R_2_groups(baserlib.OpcodeResource):
    """/2/groups resource: list, and add a group."""

    POST_OPCODE = opcodes.OpGroupAdd
    POST_RENAME = {"name": "group_name"}

    def GET(self) -> list[Any]:
        return _ListOrBulk(self, "QueryGroups", G_FIELDS, "/2/groups/%s")

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"dry_run": self.dryRun()})


class R_2_groups_name(baserlib.OpcodeResource):
    """/2/groups/[group_name] resource."""

    DELETE_OPCODE = opcodes.OpGroupRemove

    def GET(self) -> dict[str, Any]:
        return _GetItem(self, "QueryGroups", G_FIELDS)

    def GetDeleteOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {"group_name": self.items[0], "dry_run": self.dryRun()})


class R_2_groups_name_modify(baserlib.OpcodeResource):
    """/2/groups/[group_name]/modify resource."""

    PUT_OPCODE = opcodes.OpGroupSetParams
    PUT_RENAME = {
        "custom_ndparams": "ndparams",
        "custom_ipolicy": "ipolicy",
        "custom_diskparams": "diskparams",
    }

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"group_name": self.items[0]})


class R_2_groups_name_rename(baserlib.OpcodeResource):
    """/2/groups/[group_name]/rename resource."""

    PUT_OPCODE = opcodes.OpGroupRename

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"group_name": self.items[0],
                                    "dry_run": self.dryRun()})


class R_2_groups_name_assign_nodes(baserlib.OpcodeResource):
    """/2/groups/[group_name]/assign-nodes resource."""

    PUT_OPCODE = opcodes.OpGroupAssignNodes

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"group_name": self.items[0],
                                    "dry_run": self.dryRun(),
                                    "force": self.useForce()})


class R_2_networks(baserlib.OpcodeResource):
    """/2/networks resource: list, and add a network."""

    POST_OPCODE = opcodes.OpNetworkAdd
    POST_RENAME = {"name": "network_name"}

    def GET(self) -> list[Any]:
        return _ListOrBulk(self, "QueryNetworks", NET_FIELDS, "/2/networks/%s")

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"dry_run": self.dryRun()})


class R_2_networks_name(baserlib.OpcodeResource):
    """/2/networks/[network_name] resource."""

    DELETE_OPCODE = opcodes.OpNetworkRemove

    def GET(self) -> dict[str, Any]:
        return _GetItem(self, "QueryNetworks", NET_FIELDS)

    def GetDeleteOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"network_name": self.items[0],
                                    "dry_run": self.dryRun()})


class R_2_networks_name_connect(baserlib.OpcodeResource):
    """/2/networks/[network_name]/connect resource."""

    PUT_OPCODE = opcodes.OpNetworkConnect

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"network_name": self.items[0],
                                    "dry_run": self.dryRun()})


class R_2_networks_name_disconnect(baserlib.OpcodeResource):
    """/2/networks/[network_name]/disconnect resource."""

    PUT_OPCODE = opcodes.OpNetworkDisconnect

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"network_name": self.items[0],
                                    "dry_run": self.dryRun()})


class R_2_networks_name_modify(baserlib.OpcodeResource):
    """/2/networks/[network_name]/modify resource."""

    PUT_OPCODE = opcodes.OpNetworkSetParams

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"network_name": self.items[0]})


class R_2_networks_name_rename(baserlib.OpcodeResource):
    """/2/networks/[network_name]/rename resource (Ganeti 3.1's addition)."""

    PUT_OPCODE = opcodes.OpNetworkRename

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"network_name": self.items[0]})
