"""RAPI v2 instance resources: /2/instances, /2/instances-multi-alloc and
/2/instances/[instance_name]/...

Lists and items come from the master's classic instance query (LUXI
QueryInstances) with the fields of Ganeti 3.0.2's rlib2 I_FIELDS (as in
samples/rapi-2-instances-bulk.json); every change is an opcode job.
"""

from __future__ import annotations

from typing import Any

from ganeti import http, opcodes, rapi
from ganeti.rapi import baserlib

_COMMON_FIELDS = ["ctime", "mtime", "uuid", "serial_no", "tags"]

I_FIELDS = ["name", "admin_state", "os",
            "pnode", "snodes",
            "disk_template",
            "nic.ips", "nic.macs", "nic.modes", "nic.uuids", "nic.names",
            "nic.links", "nic.networks", "nic.networks.names", "nic.bridges",
            "network_port",
            "disk.sizes", "disk.spindles", "disk_usage", "disk.uuids",
            "disk.names",
            "beparams", "hvparams",
            "oper_state", "oper_ram", "oper_vcpus", "status",
            "custom_hvparams", "custom_beparams", "custom_nicparams",
            ] + _COMMON_FIELDS

# Body key carrying the instance creation request's format version.
_REQ_DATA_VERSION = "__version__"

# Renames of the instance creation body (legacy names -> opcode params).
_CREATE_RENAME = {"os": "os_type", "name": "instance_name"}

_HV_USB_DEVICES = "usb_devices"
_INSTANCE_REBOOT_HARD = "hard"


def _UpdateBeparams(inst: dict[str, Any]) -> dict[str, Any]:
    """Add the legacy beparams "memory" (= maxmem), as Ganeti's rlib2 does."""
    beparams = inst.get("beparams")
    if isinstance(beparams, dict) and "maxmem" in beparams:
        beparams["memory"] = beparams["maxmem"]
    return inst


def _ConvertUsbDevices(data: dict[str, Any]) -> None:
    """Accept spaces as usb_devices separator (Ganeti 2.8.4+), in place.

    The hypervisor parameter is comma-separated; the command line switched
    to spaces, and RAPI accepts both by turning spaces into commas.
    """
    hvparams = data.get("hvparams")
    if (isinstance(hvparams, dict) and
            isinstance(hvparams.get(_HV_USB_DEVICES), str)):
        data["hvparams"] = dict(hvparams, **{
            _HV_USB_DEVICES: hvparams[_HV_USB_DEVICES].replace(" ", ",")})


def _BodyDict(body: Any) -> dict[str, Any]:
    """A copy of a body that must be an object (None counts as {})."""
    if body is None:
        return {}
    return dict(baserlib.CheckType(body, dict, "Body contents"))


class R_2_instances(baserlib.OpcodeResource):
    """/2/instances resource: list, and create (request version 1)."""

    POST_OPCODE = opcodes.OpInstanceCreate
    POST_RENAME = _CREATE_RENAME

    def GET(self) -> list[Any]:
        client = self.GetClient()
        use_locking = self.useLocking()
        if self.useBulk():
            rows = client.QueryInstances([], I_FIELDS, use_locking)
            return [_UpdateBeparams(inst)
                    for inst in baserlib.MapBulkFields(rows, I_FIELDS)]
        names = [row[0] for row in client.QueryInstances([], ["name"],
                                                         use_locking)]
        return baserlib.BuildUriList(names, "/2/instances/%s",
                                     uri_fields=("id", "uri"))

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        data = _BodyDict(baserlib.CheckType(self.request_body, dict,
                                            "Body contents"))
        version = data.pop(_REQ_DATA_VERSION, 0)
        if version == 0:
            raise http.HttpBadRequest("Instance creation request version 0 is no"
                                      " longer supported")
        if version != 1:
            raise http.HttpBadRequest(
                f"Unsupported request data version {version}")
        _ConvertUsbDevices(data)
        return (data, {"dry_run": self.dryRun()})


class R_2_instances_multi_alloc(baserlib.OpcodeResource):
    """/2/instances-multi-alloc resource."""

    POST_OPCODE = opcodes.OpInstanceMultiAlloc

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        body = _BodyDict(self.request_body)
        if "instances" not in body:
            raise http.HttpBadRequest("Request is missing required 'instances'"
                                      " field in body")
        instances = baserlib.CheckType(body["instances"], list,
                                       "'instances' parameter")
        body["instances"] = [
            baserlib.FillOpcode(opcodes.OpInstanceCreate, inst, {},
                                rename=_CREATE_RENAME)
            for inst in instances]
        return (body, {"dry_run": self.dryRun()})


class R_2_instances_name(baserlib.OpcodeResource):
    """/2/instances/[instance_name] resource."""

    DELETE_OPCODE = opcodes.OpInstanceRemove

    def GET(self) -> dict[str, Any]:
        result = baserlib.HandleItemQueryErrors(
            self.GetClient().QueryInstances, [self.items[0]], I_FIELDS,
            self.useLocking())
        return _UpdateBeparams(baserlib.MapFields(I_FIELDS, result[0]))

    def GetDeleteOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0],
                                    "ignore_failures": False,
                                    "dry_run": self.dryRun()})


class R_2_instances_name_info(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/info resource: submits a query job."""

    GET_OPCODE = opcodes.OpInstanceQueryData

    def GetGetOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {"instances": [self.items[0]],
                     "static": bool(self._checkIntVariable("static", default=0))})


class R_2_instances_name_reboot(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/reboot resource (?type=soft|hard|full)."""

    POST_OPCODE = opcodes.OpInstanceReboot

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {
            "instance_name": self.items[0],
            "reboot_type": self._checkStringVariable("type",
                                                     _INSTANCE_REBOOT_HARD),
            "ignore_secondaries": bool(
                self._checkIntVariable("ignore_secondaries")),
            "dry_run": self.dryRun(),
        })


class R_2_instances_name_startup(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/startup resource."""

    PUT_OPCODE = opcodes.OpInstanceStartup

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {
            "instance_name": self.items[0],
            "force": self.useForce(),
            "dry_run": self.dryRun(),
            "no_remember": bool(self._checkIntVariable("no_remember")),
        })


class R_2_instances_name_shutdown(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/shutdown resource."""

    PUT_OPCODE = opcodes.OpInstanceShutdown

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {
            "instance_name": self.items[0],
            "no_remember": bool(self._checkIntVariable("no_remember")),
            "dry_run": self.dryRun(),
        })


class R_2_instances_name_reinstall(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/reinstall resource.

    One job: shutdown, reinstall and (unless start is false) startup.
    """

    POST_OPCODE = opcodes.OpInstanceReinstall

    def POST(self) -> Any:
        legacy = "os" in self.queryargs or "nostartup" in self.queryargs
        if self.request_body:
            if legacy:
                raise http.HttpBadRequest("Can't combine query and body"
                                          " parameters")
            body = baserlib.CheckType(self.request_body, dict, "Body contents")
        elif legacy:
            # The pre-2.5 interface; not to be extended.
            body = {"os": self._checkStringVariable("os"),
                    "start": not self._checkIntVariable("nostartup")}
        else:
            body = {}
        return self.SubmitJob(self._ReinstallOps(body))

    def _ReinstallOps(self, data: dict[str, Any]) -> list[Any]:
        ostype = baserlib.CheckParameter(data, "os", default=None)
        start = baserlib.CheckParameter(data, "start", exptype=bool, default=True)
        osparams = baserlib.CheckParameter(data, "osparams", default=None)
        name = self.items[0]
        static = self._GetCommonStatic()
        ops = [
            baserlib.FillOpcode(opcodes.OpInstanceShutdown, {},
                                dict(static, instance_name=name)),
            baserlib.FillOpcode(opcodes.OpInstanceReinstall, {},
                                dict(static, instance_name=name, os_type=ostype,
                                     osparams=osparams)),
        ]
        if start:
            ops.append(baserlib.FillOpcode(opcodes.OpInstanceStartup, {},
                                           dict(static, instance_name=name,
                                                force=False)))
        return ops


def _ParseDisks(raw_disks: Any) -> list[int]:
    """Disk indices as a list of ints or the legacy "0,1" string.

    Raises:
      http.HttpBadRequest: neither form.
    """
    if isinstance(raw_disks, list) and all(
            isinstance(idx, int) and not isinstance(idx, bool)
            for idx in raw_disks):
        return raw_disks
    try:
        return [int(part) for part in str(raw_disks).split(",")]
    except ValueError as err:
        raise http.HttpBadRequest(f"Invalid disk index passed: {err}") from err


class R_2_instances_name_replace_disks(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/replace-disks resource."""

    POST_OPCODE = opcodes.OpInstanceReplaceDisks

    _LEGACY_KEYS = ("remote_node", "mode", "disks", "iallocator")

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        if self.request_body:
            data = _BodyDict(self.request_body)
        else:
            # Legacy interface: parameters in the query string.
            data = {key: self._checkStringVariable(key)
                    for key in self._LEGACY_KEYS if key in self.queryargs}
            if "early_release" in self.queryargs:
                data["early_release"] = bool(
                    self._checkIntVariable("early_release"))
        raw_disks = data.pop("disks", None)
        if raw_disks:
            data["disks"] = _ParseDisks(raw_disks)
        return (data, {"instance_name": self.items[0]})


class R_2_instances_name_activate_disks(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/activate-disks resource."""

    PUT_OPCODE = opcodes.OpInstanceActivateDisks

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {"instance_name": self.items[0],
                     "ignore_size": bool(self._checkIntVariable("ignore_size"))})


class R_2_instances_name_deactivate_disks(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/deactivate-disks resource."""

    PUT_OPCODE = opcodes.OpInstanceDeactivateDisks

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {"instance_name": self.items[0], "force": self.useForce()})


class R_2_instances_name_recreate_disks(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/recreate-disks resource."""

    POST_OPCODE = opcodes.OpInstanceRecreateDisks

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})


class R_2_instances_name_prepare_export(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/prepare-export resource (?mode=...)."""

    PUT_OPCODE = opcodes.OpBackupPrepare

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return ({}, {"instance_name": self.items[0],
                     "mode": self._checkStringVariable("mode")})


class R_2_instances_name_export(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/export resource: export, remove export."""

    PUT_OPCODE = opcodes.OpBackupExport
    PUT_RENAME = {"destination": "target_node"}
    DELETE_OPCODE = opcodes.OpBackupRemove

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})

    def GetDeleteOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})


class R_2_instances_name_migrate(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/migrate resource."""

    PUT_OPCODE = opcodes.OpInstanceMigrate

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})


class R_2_instances_name_failover(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/failover resource."""

    PUT_OPCODE = opcodes.OpInstanceFailover

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})


class R_2_instances_name_rename(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/rename resource."""

    PUT_OPCODE = opcodes.OpInstanceRename

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0]})


class R_2_instances_name_modify(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/modify resource."""

    PUT_OPCODE = opcodes.OpInstanceSetParams
    PUT_RENAME = {"custom_beparams": "beparams", "custom_hvparams": "hvparams"}

    def GetPutOpInput(self) -> tuple[Any, dict[str, Any]]:
        data = _BodyDict(self.request_body)
        _ConvertUsbDevices(data)
        return (data, {"instance_name": self.items[0]})


class R_2_instances_name_disk_grow(baserlib.OpcodeResource):
    """/2/instances/[instance_name]/disk/[disk_index]/grow resource."""

    POST_OPCODE = opcodes.OpInstanceGrowDisk

    def GetPostOpInput(self) -> tuple[Any, dict[str, Any]]:
        return (self.request_body, {"instance_name": self.items[0],
                                    "disk": int(self.items[1])})


class R_2_instances_name_console(baserlib.ResourceBase):
    """/2/instances/[instance_name]/console resource (read or write access).

    Answers 503 while the instance is not running.
    """

    GET_ACCESS = [rapi.RAPI_ACCESS_WRITE, rapi.RAPI_ACCESS_READ]
    GET_OPCODE = opcodes.OpInstanceConsole

    def GET(self) -> dict[str, Any]:
        result = baserlib.HandleItemQueryErrors(
            self.GetClient().QueryInstances, [self.items[0]],
            ["console", "oper_state"], False)
        (console, oper_state) = result[0]
        if not oper_state:
            raise http.HttpServiceUnavailable("Instance console unavailable")
        if not isinstance(console, dict):
            raise baserlib.HttpBadGateway("Master daemon answered no console"
                                          " description")
        return console
