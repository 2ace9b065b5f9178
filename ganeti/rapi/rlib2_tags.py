"""RAPI v2 tag resources of the cluster, nodes, groups, instances, networks.

GET answers the tags (LUXI QueryTags). PUT adds and DELETE removes the tags
given as repeated tag= query arguments (the body is ignored, as in Ganeti);
both submit a job and support dry-run.
"""

from __future__ import annotations

from typing import Any

from ganeti import http, opcodes
from ganeti.rapi import baserlib

TAG_CLUSTER = "cluster"
TAG_NODEGROUP = "nodegroup"
TAG_NODE = "node"
TAG_INSTANCE = "instance"
TAG_NETWORK = "network"


class _R_Tags(baserlib.OpcodeResource):
    """Tags of one object; subclasses set TAG_LEVEL (the tag kind)."""

    TAG_LEVEL = ""
    GET_OPCODE = opcodes.OpTagsGet
    PUT_OPCODE = opcodes.OpTagsSet
    DELETE_OPCODE = opcodes.OpTagsDel

    def __init__(self, items: list[str], queryargs: dict[str, list[str]],
                 req: baserlib.RequestContext) -> None:
        super().__init__(items, queryargs, req)
        self.name: str | None = (None if self.TAG_LEVEL == TAG_CLUSTER
                                 else items[0])

    def GET(self) -> list[str]:
        if self.TAG_LEVEL != TAG_CLUSTER and not self.name:
            raise http.HttpBadRequest("Missing name on tag request")
        return list(self.GetClient().QueryTags(self.TAG_LEVEL, self.name or ""))

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {
            "kind": self.TAG_LEVEL,
            "name": self.name,
            "tags": self.queryargs.get("tag", []),
            "dry_run": self.dryRun(),
        })

    def GetDeleteOpInput(self) -> tuple[Any, dict[str, Any]]:
        return self.GetPutOpInput()


class R_2_tags(_R_Tags):
    """/2/tags resource: cluster tags."""

    TAG_LEVEL = TAG_CLUSTER


class R_2_nodes_name_tags(_R_Tags):
    """/2/nodes/[node_name]/tags resource."""

    TAG_LEVEL = TAG_NODE


class R_2_groups_name_tags(_R_Tags):
    """/2/groups/[group_name]/tags resource."""

    TAG_LEVEL = TAG_NODEGROUP


class R_2_instances_name_tags(_R_Tags):
    """/2/instances/[instance_name]/tags resource."""

    TAG_LEVEL = TAG_INSTANCE


class R_2_networks_name_tags(_R_Tags):
    """/2/networks/[network_name]/tags resource."""

    TAG_LEVEL = TAG_NETWORK
