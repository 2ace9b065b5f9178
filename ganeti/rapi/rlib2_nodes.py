"""RAPI v2 node resources: /2/nodes and /2/nodes/[node_name]/...

Lists and items come from the master's classic node query (LUXI
QueryNodes) with the fields of Ganeti 3.0's rlib2 N_FIELDS; every change is
an opcode submitted as a job.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, http, opcodes, rapi
from ganeti.opcodes_base import ALLOCATABLE_KEY
from ganeti.rapi import baserlib

_COMMON_FIELDS = ["ctime", "mtime", "uuid", "serial_no", "tags"]

N_FIELDS = ["name", "offline", "master_candidate", "drained",
            "dtotal", "dfree", "sptotal", "spfree",
            "mtotal", "mnode", "mfree",
            "pinst_cnt", "sinst_cnt",
            "ctotal", "cnos", "cnodes", "csockets",
            "pip", "sip", "role",
            "pinst_list", "sinst_list",
            "master_capable", "vm_capable",
            "ndparams",
            "group.uuid",
            ] + _COMMON_FIELDS

_NR_DRAINED = "drained"
_NR_MASTER_CANDIDATE = "master-candidate"
_NR_MASTER = "master"
_NR_OFFLINE = "offline"
_NR_REGULAR = "regular"

# Query role letter -> RAPI role name.
_NR_MAP = {
    constants.NR_MASTER: _NR_MASTER,
    constants.NR_MCANDIDATE: _NR_MASTER_CANDIDATE,
    constants.NR_DRAINED: _NR_DRAINED,
    constants.NR_OFFLINE: _NR_OFFLINE,
    constants.NR_REGULAR: _NR_REGULAR,
}

# RAPI role name -> (master_candidate, offline, drained) for PUT .../role;
# None leaves the flag alone.
_ROLE_FLAGS: dict[str, tuple[bool | None, bool | None, bool | None]] = {
    _NR_REGULAR: (False, False, False),
    _NR_MASTER_CANDIDATE: (True, None, None),
    _NR_DRAINED: (None, None, True),
    _NR_OFFLINE: (None, True, None),
}


class R_2_nodes(baserlib.OpcodeResource):
    """/2/nodes resource."""

    def GET(self) -> list[Any]:
        client = self.GetClient()
        if self.useBulk():
            rows = client.QueryNodes([], N_FIELDS, False)
            return baserlib.MapBulkFields(rows, N_FIELDS)
        names = [row[0] for row in client.QueryNodes([], ["name"], False)]
        return baserlib.BuildUriList(names, "/2/nodes/%s", uri_fields=("id", "uri"))


class R_2_nodes_name(baserlib.OpcodeResource):
    """/2/nodes/[node_name] resource."""

    GET_ALIASES = {"sip": "secondary_ip"}

    def GET(self) -> dict[str, Any]:
        result = baserlib.HandleItemQueryErrors(
            self.GetClient().QueryNodes, [self.items[0]], N_FIELDS,
            self.useLocking())
        return baserlib.MapFields(N_FIELDS, result[0])


class R_2_nodes_name_powercycle(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/powercycle resource."""

    POST_OPCODE = opcodes.OpNodePowercycle

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"node_name": self.items[0],
                                    "force": self.useForce()})


class R_2_nodes_name_role(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/role resource."""

    PUT_OPCODE = opcodes.OpNodeSetParams

    def GET(self) -> str:
        result = baserlib.HandleItemQueryErrors(
            self.GetClient().QueryNodes, [self.items[0]], ["role"],
            self.useLocking())
        role = result[0][0]
        try:
            return _NR_MAP[role]
        except (KeyError, TypeError):
            raise baserlib.HttpBadGateway(
                f"Master daemon answered unknown node role {role!r}") from None

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        role = baserlib.CheckType(self.request_body, str, "Body contents")
        try:
            (candidate, offline, drained) = _ROLE_FLAGS[role]
        except KeyError:
            raise http.HttpBadRequest(f"Can't set '{role}' role") from None
        return ({}, {
            "node_name": self.items[0],
            "master_candidate": candidate,
            "offline": offline,
            "drained": drained,
            "force": self.useForce(),
            "auto_promote": bool(self._checkIntVariable("auto-promote", default=0)),
        })


class R_2_nodes_name_evacuate(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/evacuate resource."""

    POST_OPCODE = opcodes.OpNodeEvacuate

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"node_name": self.items[0],
                                    "dry_run": self.dryRun()})


class R_2_nodes_name_migrate(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/migrate resource.

    The legacy form takes live=0/1 or mode= in the query string (not both)
    and ignores the body.
    """

    POST_OPCODE = opcodes.OpNodeMigrate

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        static: dict[str, Any] = {"node_name": self.items[0]}
        if "dry-run" in self.queryargs:
            static["dry_run"] = self.dryRun()
        if "live" in self.queryargs or "mode" in self.queryargs:
            if "live" in self.queryargs and "mode" in self.queryargs:
                raise http.HttpBadRequest("Only one of 'live' and 'mode' should"
                                          " be passed")
            if "live" in self.queryargs:
                live = self._checkIntVariable("live", default=1)
                mode: str | None = "live" if live else "non-live"
            else:
                mode = self._checkStringVariable("mode")
            return ({"mode": mode}, static)
        return (self.request_body, static)


class R_2_nodes_name_modify(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/modify resource."""

    POST_OPCODE = opcodes.OpNodeSetParams

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"node_name": self.items[0]})


def _RequireQueryArg(resource: baserlib.ResourceBase, name: str) -> str:
    value = resource._checkStringVariable(name)
    if not value:
        raise http.HttpBadRequest(f"Missing the required '{name}' parameter")
    return value


class R_2_nodes_name_storage(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/storage resource: submits a storage query job.

    Needs write access: the query takes locks on the node.
    """

    GET_ACCESS = [rapi.RAPI_ACCESS_WRITE]
    GET_OPCODE = opcodes.OpNodeQueryStorage

    def GetGetOpInput(self) -> tuple[Any, dict[str, Any]]:
        output_fields = _RequireQueryArg(self, "output_fields")
        return ({}, {
            "nodes": [self.items[0]],
            "storage_type": self._checkStringVariable("storage_type"),
            "output_fields": output_fields.split(","),
        })


class R_2_nodes_name_storage_modify(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/storage/modify resource."""

    PUT_OPCODE = opcodes.OpNodeModifyStorage

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        name = _RequireQueryArg(self, "name")
        changes = {}
        if "allocatable" in self.queryargs:
            changes[ALLOCATABLE_KEY] = bool(
                self._checkIntVariable("allocatable", default=1))
        return ({}, {
            "node_name": self.items[0],
            "storage_type": self._checkStringVariable("storage_type"),
            "name": name,
            "changes": changes,
        })


class R_2_nodes_name_storage_repair(baserlib.OpcodeResource):
    """/2/nodes/[node_name]/storage/repair resource."""

    PUT_OPCODE = opcodes.OpRepairNodeStorage

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        name = _RequireQueryArg(self, "name")
        return ({}, {
            "node_name": self.items[0],
            "storage_type": self._checkStringVariable("storage_type"),
            "name": name,
        })
