"""Field table of the "instance" query (spec/query2.md section 6).

Names, titles, kinds and docs follow luxid (src/Ganeti/Query/Instance.hs of
Ganeti 3.0; samples/luxi-instance-list*.txt and rapi-2-instances-bulk.json
show them at work). The query runs over an InstanceQueryData; its items are
the instance objects.

Live data (status, oper_*, console) comes from all_instances_info on the
instances' nodes (CollectLiveData). Per instance, as luxid decides:

* primary node marked offline: status ERROR_nodeoffline, oper_ram/vcpus
  RS_OFFLINE, oper_state RS_NODATA;
* found running on its primary node: running, or ERROR_up when it should
  be down; a hypervisor-reported user shutdown gives USER_down (if the
  cluster enables user shutdown) or ERROR_down / ADMIN_down;
* found running on another node only: ERROR_wrongnode;
* not found, and the primary node did not answer: ERROR_nodedown
  (oper_* RS_NODATA);
* not found: ERROR_down if it should run, ADMIN_offline if offline,
  USER_down if its user shut it down (cluster enables user shutdown),
  ADMIN_down otherwise (oper_ram/vcpus RS_UNAVAIL).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ganeti import constants, defaults, objects
from ganeti.query.common import (
    IQ_CONFIG,
    IQ_CONSOLE,
    IQ_DISKUSAGE,
    IQ_LIVE,
    IQ_NETWORKS,
    IQ_NODES,
    QFF_HOSTNAME,
    QFT_BOOL,
    QFT_NUMBER,
    QFT_NUMBER_FLOAT,
    QFT_OTHER,
    QFT_TEXT,
    QFT_TIMESTAMP,
    QFT_UNIT,
    FieldDef,
    FieldDict,
    Getter,
    _FS_NODATA,
    _FS_OFFLINE,
    _FS_UNAVAIL,
    _MakeField,
    _PrepareFieldList,
)
from ganeti.utils.text import FormatOrdinal

INSTST_RUNNING = "running"
INSTST_ADMINDOWN = "ADMIN_down"
INSTST_ADMINOFFLINE = "ADMIN_offline"
INSTST_ERRORUP = "ERROR_up"
INSTST_ERRORDOWN = "ERROR_down"
INSTST_NODEDOWN = "ERROR_nodedown"
INSTST_NODEOFFLINE = "ERROR_nodeoffline"
INSTST_WRONGNODE = "ERROR_wrongnode"
INSTST_USERDOWN = "USER_down"
INSTST_ALL = frozenset([INSTST_RUNNING, INSTST_ADMINDOWN, INSTST_ADMINOFFLINE,
                        INSTST_ERRORUP, INSTST_ERRORDOWN, INSTST_NODEDOWN,
                        INSTST_NODEOFFLINE, INSTST_WRONGNODE, INSTST_USERDOWN])

# The hypervisor's state of an instance it stopped on its user's request
# (Ganeti's hv_base.HvInstanceState.SHUTDOWN).
_HV_STATE_SHUTDOWN = 1

_STATUS_DOC = (
    f'Instance status; "{INSTST_RUNNING}" if instance is set to be running and'
    f' actually is, "{INSTST_ADMINDOWN}" if instance is stopped and is not running,'
    f' "{INSTST_WRONGNODE}" if instance running, but not on its designated primary'
    f' node, "{INSTST_ERRORUP}" if instance should be stopped, but is actually'
    f' running, "{INSTST_ERRORDOWN}" if instance should run, but doesn\'t,'
    f' "{INSTST_NODEDOWN}" if instance\'s primary node is down,'
    f' "{INSTST_NODEOFFLINE}" if instance\'s primary node is marked offline,'
    f' "{INSTST_ADMINOFFLINE}" if instance is offline and does not use dynamic'
    " resources")

_BE_TITLES = {defaults.BE_AUTO_BALANCE: "Auto_balance", defaults.BE_MINMEM:
              "ConfigMinMem", defaults.BE_VCPUS: "ConfigVCPUs",
              defaults.BE_MAXMEM: "ConfigMaxMem"}
_HV_TITLES = {"acpi": "ACPI", "boot_order": "Boot_order",
              "cdrom_image_path": "CDROM_image_path", "cpu_type": "cpu_type",
              "disk_type": "Disk_type", "initrd_path": "Initrd_path",
              "kernel_path": "Kernel_path", "nic_type": "NIC_type", "pae": "PAE",
              "pci_pass": "pci_pass", "vnc_bind_address": "VNC_bind_address"}
_VT_TO_QFT = {defaults.VTYPE_STRING: QFT_OTHER, defaults.VTYPE_MAYBE_STRING: QFT_OTHER,
              defaults.VTYPE_BOOL: QFT_BOOL, defaults.VTYPE_SIZE: QFT_UNIT,
              defaults.VTYPE_INT: QFT_NUMBER, defaults.VTYPE_FLOAT: QFT_NUMBER_FLOAT}
_NIC_AGG_DOC = "List containing each network interface's "


@dataclasses.dataclass
class NodeLiveResult:
    """One node's all_instances_info answer.

    Attributes:
      payload: instance name -> {memory, vcpus, state, time} (None when the
        call failed).
      offline: the node is marked offline (not asked).
    """

    payload: dict[str, Any] | None
    offline: bool = False


@dataclasses.dataclass
class InstanceQueryData:
    """The data an instance query runs over; iterating it gives instances.

    Attributes:
      instances: the instances to report, in order.
      cluster: the cluster object (parameter defaults).
      nodes, groups, networks: uuid -> object.
      disks: instance uuid -> its Disk objects, in order.
      live: node uuid -> NodeLiveResult, or None when not collected.
      console: instance uuid -> console dict (None: not running), or None
        when not collected.
    """

    instances: list[Any]
    cluster: Any
    nodes: dict[str, Any]
    groups: dict[str, Any] = dataclasses.field(default_factory=dict)
    networks: dict[str, Any] = dataclasses.field(default_factory=dict)
    disks: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    live: dict[str, NodeLiveResult] | None = None
    console: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.instances)

    # --- live data, as luxid's getInstanceInfo ---------------------------------

    def LiveInfo(self, inst: Any) -> tuple[str, Any]:
        """("offline"|"error"|"ok", (info, on primary) or None)."""
        node = self.nodes.get(inst.primary_node)
        if node is not None and node.offline:
            return "offline", None
        results = self.live or {}
        primary = results.get(inst.primary_node)
        if primary is not None and primary.payload and inst.name in primary.payload:
            return "ok", (primary.payload[inst.name], True)
        for uuid, result in results.items():
            if uuid != inst.primary_node and result.payload and \
                    inst.name in result.payload:
                return "ok", (result.payload[inst.name], False)
        if primary is None or primary.payload is None:
            return "error", None
        return "ok", None

    def FilledNicParams(self, nic: Any) -> dict[str, Any]:
        return self.cluster.SimpleFillNIC(nic.nicparams)


def _LiveStatus(ctx: InstanceQueryData, inst: Any, info: dict[str, Any],
                on_primary: bool) -> str:
    if not on_primary:
        return INSTST_WRONGNODE
    up = inst.admin_state == constants.ADMINST_UP
    if info.get("state") == _HV_STATE_SHUTDOWN:
        hvparams = ctx.cluster.FillHV(inst, skip_globals=True)
        allow = bool(ctx.cluster.enabled_user_shutdown) and (
            inst.hypervisor != constants.HT_KVM or hvparams.get("user_shutdown"))
        if up:
            return INSTST_USERDOWN if allow else INSTST_ERRORDOWN
        return INSTST_ADMINDOWN
    return INSTST_RUNNING if up else INSTST_ERRORUP


def _DeadStatus(ctx: InstanceQueryData, inst: Any) -> str:
    if inst.admin_state == constants.ADMINST_UP:
        return INSTST_ERRORDOWN
    if inst.admin_state == constants.ADMINST_OFFLINE:
        return INSTST_ADMINOFFLINE
    if inst.admin_state_source == constants.USER_SOURCE and \
            ctx.cluster.enabled_user_shutdown:
        return INSTST_USERDOWN
    return INSTST_ADMINDOWN


def _GetStatus(ctx: InstanceQueryData, inst: Any) -> str:
    kind, live = ctx.LiveInfo(inst)
    if kind == "offline":
        return INSTST_NODEOFFLINE
    if kind == "error":
        return INSTST_NODEDOWN
    if live is not None:
        return _LiveStatus(ctx, inst, live[0], live[1])
    return _DeadStatus(ctx, inst)


def _GetOperState(ctx: InstanceQueryData, inst: Any) -> Any:
    kind, live = ctx.LiveInfo(inst)
    if kind != "ok":
        return _FS_NODATA
    return live is not None


def _GetLiveValue(key: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        kind, live = ctx.LiveInfo(inst)
        if kind == "offline":
            return _FS_OFFLINE
        if kind == "error":
            return _FS_NODATA
        if live is None:
            return _FS_UNAVAIL
        value = live[0].get(key)
        return _FS_NODATA if value is None else value

    return _Getter


def _GetConsole(ctx: InstanceQueryData, inst: Any) -> Any:
    kind, _ = ctx.LiveInfo(inst)
    if kind == "offline":
        return _FS_OFFLINE
    if kind == "error":
        return _FS_NODATA
    console = (ctx.console or {}).get(inst.uuid)
    return _FS_NODATA if console is None else console


# --- configuration fields ----------------------------------------------------------


def _Attr(attr: str, missing: Any = _FS_NODATA) -> Getter:
    def _Getter(_ctx: InstanceQueryData, inst: Any) -> Any:
        value = getattr(inst, attr)
        return missing if value is None else value

    return _Getter


def _NodeName(ctx: InstanceQueryData, uuid: str) -> Any:
    node = ctx.nodes.get(uuid)
    return None if node is None else node.name


def _NodeGroup(ctx: InstanceQueryData, uuid: str) -> Any:
    node = ctx.nodes.get(uuid)
    return None if node is None else ctx.groups.get(node.group)


def _Secondaries(ctx: InstanceQueryData, inst: Any) -> list[str]:
    result = []
    for disk in ctx.disks.get(inst.uuid, []):
        for node in disk.nodes or ():
            if node != inst.primary_node and node not in result:
                result.append(node)
    return result


def _PrimaryGroupAttr(attr: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        group = _NodeGroup(ctx, inst.primary_node)
        return _FS_NODATA if group is None else getattr(group, attr)

    return _Getter


def _FilledBe(ctx: InstanceQueryData, inst: Any) -> dict[str, Any]:
    """luxid's filled beparams: Ganeti's order, plus "memory" (= maxmem)."""
    filled = ctx.cluster.FillBE(inst)
    order = [defaults.BE_MINMEM, defaults.BE_MAXMEM, defaults.BE_VCPUS,
             defaults.BE_AUTO_BALANCE, defaults.BE_ALWAYS_FAILOVER,
             defaults.BE_SPINDLE_USE]
    result = {key: filled[key] for key in order if key in filled}
    result.update({k: v for k, v in filled.items() if k not in result})
    result[defaults.BE_MEMORY] = filled.get(defaults.BE_MAXMEM)
    return result


def _BuildBasicFields() -> list[FieldDef]:
    text, other = QFT_TEXT, QFT_OTHER
    simple = [
        ("admin_state", "InstanceState", text, "Desired state of instance",
         _Attr("admin_state")),
        ("admin_state_source", "InstanceStateSource", text,
         "Who last changed the desired state of the instance",
         _Attr("admin_state_source")),
        ("admin_up", "Autostart", QFT_BOOL, "Desired state of instance",
         lambda _ctx, inst: inst.admin_state == constants.ADMINST_UP),
        ("disks_active", "DisksActive", QFT_BOOL, "Desired state of instance disks",
         _Attr("disks_active")),
        ("hypervisor", "Hypervisor", text, "Hypervisor name", _Attr("hypervisor")),
        ("network_port", "Network_port", other,
         "Instance network port if available (e.g. for VNC console)",
         _Attr("network_port", _FS_UNAVAIL)),
        ("os", "OS", text, "Operating system", _Attr("os")),
        ("hvparams", "HypervisorParameters", other, "Hypervisor parameters (merged)",
         lambda ctx, inst: ctx.cluster.FillHV(inst, skip_globals=True)),
        ("beparams", "BackendParameters", other, "Backend parameters (merged)",
         _FilledBe),
        ("osparams", "OpSysParameters", other, "Operating system parameters (merged)",
         lambda ctx, inst: ctx.cluster.SimpleFillOS(inst.os or "", inst.osparams)),
        ("custom_hvparams", "CustomHypervisorParameters", other,
         "Custom hypervisor parameters", lambda _c, inst: dict(inst.hvparams or {})),
        ("custom_beparams", "CustomBackendParameters", other,
         "Custom backend parameters", lambda _c, inst: dict(inst.beparams or {})),
        ("custom_osparams", "CustomOpSysParameters", other,
         "Custom operating system parameters",
         lambda _c, inst: dict(inst.osparams or {})),
        ("custom_nicparams", "CustomNicParameters", other,
         "Custom network interface parameters",
         lambda _c, inst: [dict(nic.nicparams or {}) for nic in inst.nics or []]),
        ("ctime", "CTime", QFT_TIMESTAMP, "Creation timestamp", _Attr("ctime")),
        ("mtime", "MTime", QFT_TIMESTAMP, "Modification timestamp", _Attr("mtime")),
        ("serial_no", "SerialNo", QFT_NUMBER,
         "Instance object serial number, incremented on each modification",
         _Attr("serial_no")),
        ("uuid", "UUID", text, "Instance UUID", _Attr("uuid")),
        ("forthcoming", "Forthcoming", QFT_BOOL, "Whether the Instance is forthcoming",
         lambda _c, inst: bool(inst.forthcoming)),
        ("tags", "Tags", other, "Tags", lambda _c, inst: sorted(inst.tags or [])),
    ]
    fields = [FieldDef(_MakeField(name, title, kind, doc), IQ_CONFIG, 0, getter)
              for name, title, kind, doc, getter in simple]
    fields.append(FieldDef(_MakeField("name", "Instance", text, "Instance name"),
                           IQ_CONFIG, QFF_HOSTNAME, _Attr("name")))
    return fields + _BuildNodeFields()


def _SNodeNames(ctx: InstanceQueryData, inst: Any) -> list[Any]:
    return [_NodeName(ctx, uuid) for uuid in _Secondaries(ctx, inst)]


def _SNodeGroups(attr: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> list[Any]:
        groups = [_NodeGroup(ctx, uuid) for uuid in _Secondaries(ctx, inst)]
        return [getattr(group, attr) for group in groups if group is not None]

    return _Getter


def _PrimaryName(ctx: InstanceQueryData, inst: Any) -> Any:
    name = _NodeName(ctx, inst.primary_node)
    return _FS_NODATA if name is None else name


def _BuildNodeFields() -> list[FieldDef]:
    rows = [
        ("pnode", "Primary_node", QFT_TEXT, "Primary node", QFF_HOSTNAME,
         _PrimaryName),
        ("pnode.group", "PrimaryNodeGroup", QFT_TEXT, "Primary node's group", 0,
         _PrimaryGroupAttr("name")),
        ("pnode.group.uuid", "PrimaryNodeGroupUUID", QFT_TEXT,
         "Primary node's group UUID", 0, _PrimaryGroupAttr("uuid")),
        ("snodes", "Secondary_Nodes", QFT_OTHER,
         "Secondary nodes; usually this will just be one node", 0, _SNodeNames),
        ("snodes.group", "SecondaryNodesGroups", QFT_OTHER,
         "Node groups of secondary nodes", 0, _SNodeGroups("name")),
        ("snodes.group.uuid", "SecondaryNodesGroupsUUID", QFT_OTHER,
         "Node group UUIDs of secondary nodes", 0, _SNodeGroups("uuid")),
    ]
    return [FieldDef(_MakeField(name, title, kind, doc), IQ_NODES, flags, getter)
            for name, title, kind, doc, flags, getter in rows]


# --- parameter fields -------------------------------------------------------------


def _BuildParamFields() -> list[FieldDef]:
    fields = []
    for name, vtype in defaults.BES_PARAMETER_TYPES.items():
        fields.append(FieldDef(
            _MakeField(f"be/{name}", _BE_TITLES.get(name, f"be/{name}"),
                       _VT_TO_QFT.get(vtype, QFT_OTHER),
                       f'The "{name}" backend parameter'),
            IQ_CONFIG, 0, _BeParamGetter(name)))
    hv_types: dict[str, str] = {}
    for params in defaults.HVS_PARAMETER_TYPES.values():
        for name, vtype in params.items():
            hv_types.setdefault(name, vtype)
    for name in sorted(hv_types):
        if name in defaults.HVC_GLOBALS:
            continue
        fields.append(FieldDef(
            _MakeField(f"hv/{name}", _HV_TITLES.get(name, f"hv/{name}"),
                       _VT_TO_QFT.get(hv_types[name], QFT_OTHER),
                       f'The "{name}" hypervisor parameter'),
            IQ_CONFIG, 0, _HvParamGetter(name)))
    return fields


def _BeParamGetter(name: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        value = ctx.cluster.FillBE(inst).get(name)
        return _FS_NODATA if value is None else value

    return _Getter


def _HvParamGetter(name: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        value = ctx.cluster.FillHV(inst, skip_globals=True).get(name)
        return _FS_UNAVAIL if value is None else value

    return _Getter


# --- disks -------------------------------------------------------------------------


def _DiskSizeUsage(ctx: InstanceQueryData, inst: Any) -> int:
    total = 0
    for disk in ctx.disks.get(inst.uuid, []):
        if disk.dev_type in (constants.DT_DISKLESS, constants.DT_BLOCK):
            continue
        total += (disk.size or 0) + (128 if disk.dev_type == constants.DT_DRBD8 else 0)
    return total


def _DiskList(attr: str) -> Getter:
    return lambda ctx, inst: [getattr(d, attr) for d in ctx.disks.get(inst.uuid, [])]


def _IndexedDisk(idx: int, attr: str) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        disks = ctx.disks.get(inst.uuid, [])
        if idx >= len(disks) or getattr(disks[idx], attr) is None:
            return _FS_UNAVAIL
        return getattr(disks[idx], attr)

    return _Getter


def _BuildDiskFields() -> list[FieldDef]:
    rows: list[tuple[str, str, str, str, Getter]] = [
        ("disk_usage", "DiskUsage", QFT_UNIT,
         "Total disk space used by instance on each of its nodes; this is not the"
         " disk size visible to the instance, but the usage on the node",
         _DiskSizeUsage),
        ("disk.count", "Disks", QFT_NUMBER, "Number of disks",
         lambda ctx, inst: len(ctx.disks.get(inst.uuid, []))),
        ("disk.sizes", "Disk_sizes", QFT_OTHER, "List of disk sizes",
         _DiskList("size")),
        ("disk.spindles", "Disk_spindles", QFT_OTHER, "List of disk spindles",
         _DiskList("spindles")),
        ("disk.names", "Disk_names", QFT_OTHER, "List of disk names",
         _DiskList("name")),
        ("disk.uuids", "Disk_UUIDs", QFT_OTHER, "List of disk UUIDs",
         _DiskList("uuid")),
        ("disk_template", "Disk_template", QFT_TEXT, "Instance disk template",
         lambda ctx, inst: objects.GetDiskTemplate(ctx.disks.get(inst.uuid, []))),
    ]
    for idx in range(defaults.MAX_DISKS):
        ordinal = FormatOrdinal(idx + 1)
        rows += [
            (f"disk.size/{idx}", f"Disk/{idx}", QFT_UNIT,
             f"Disk size of {ordinal} disk", _IndexedDisk(idx, "size")),
            (f"disk.spindles/{idx}", f"DiskSpindles/{idx}", QFT_NUMBER,
             f"Spindles of {ordinal} disk", _IndexedDisk(idx, "spindles")),
            (f"disk.name/{idx}", f"DiskName/{idx}", QFT_TEXT,
             f"Name of {ordinal} disk", _IndexedDisk(idx, "name")),
            (f"disk.uuid/{idx}", f"DiskUUID/{idx}", QFT_TEXT,
             f"UUID of {ordinal} disk", _IndexedDisk(idx, "uuid")),
        ]
    kinds = {"disk_usage": IQ_DISKUSAGE}
    return [FieldDef(_MakeField(name, title, kind, doc), kinds.get(name, IQ_CONFIG),
                     0, getter) for name, title, kind, doc, getter in rows]


# --- NICs --------------------------------------------------------------------------


def _NicBridge(params: dict[str, Any]) -> Any:
    if params.get(defaults.NIC_MODE) == constants.NIC_MODE_BRIDGED:
        return params.get(defaults.NIC_LINK)
    return None


def _NicVlan(params: dict[str, Any]) -> Any:
    if params.get(defaults.NIC_MODE) == constants.NIC_MODE_OVS:
        return params.get(defaults.NIC_VLAN)
    return None


def _NetworkName(ctx: InstanceQueryData, net_uuid: str | None) -> Any:
    if not net_uuid:
        return None
    net = ctx.networks.get(net_uuid)
    return net.name if net is not None else net_uuid


def _NicAgg(fn: Any) -> Getter:
    return lambda ctx, inst: [fn(ctx, nic) for nic in inst.nics or []]


def _IndexedNic(idx: int, fn: Any) -> Getter:
    def _Getter(ctx: InstanceQueryData, inst: Any) -> Any:
        nics = inst.nics or []
        value = fn(ctx, nics[idx]) if idx < len(nics) else None
        return _FS_UNAVAIL if value is None else value

    return _Getter


_NIC_VALUES: dict[str, Any] = {
    "mac": lambda _c, nic: nic.mac,
    "ip": lambda _c, nic: nic.ip,
    "name": lambda _c, nic: nic.name,
    "uuid": lambda _c, nic: nic.uuid,
    "mode": lambda ctx, nic: ctx.FilledNicParams(nic).get(defaults.NIC_MODE),
    "link": lambda ctx, nic: ctx.FilledNicParams(nic).get(defaults.NIC_LINK),
    "vlan": lambda ctx, nic: _NicVlan(ctx.FilledNicParams(nic)),
    "bridge": lambda ctx, nic: _NicBridge(ctx.FilledNicParams(nic)),
    "network": lambda _c, nic: nic.network,
    "network.name": lambda ctx, nic: _NetworkName(ctx, nic.network),
}


def _BuildNicFields() -> list[FieldDef]:
    fields = [FieldDef(_MakeField("nic.count", "NICs", QFT_NUMBER,
                                  "Number of network interfaces"),
                       IQ_CONFIG, 0, lambda _c, inst: len(inst.nics or []))]
    aggregates = [("macs", "NIC_MACs", "mac", "MAC address"),
                  ("ips", "NIC_IPs", "ip", "IP address"),
                  ("names", "NIC_Names", "name", "name"),
                  ("uuids", "NIC_UUIDs", "uuid", "UUID"),
                  ("modes", "NIC_modes", "mode", "mode"),
                  ("vlans", "NIC_VLANs", "vlan", "VLAN"),
                  ("bridges", "NIC_bridges", "bridge", "bridge"),
                  ("links", "NIC_links", "link", "link")]
    for name, title, key, doc in aggregates:
        fields.append(FieldDef(_MakeField(f"nic.{name}", title, QFT_OTHER,
                                          _NIC_AGG_DOC + doc),
                               IQ_CONFIG, 0, _NicAgg(_NIC_VALUES[key])))
    fields.append(FieldDef(_MakeField("nic.networks", "NIC_networks", QFT_OTHER,
                                      "List containing each interface's network"),
                           IQ_CONFIG, 0, _NicAgg(_NIC_VALUES["network"])))
    fields.append(FieldDef(
        _MakeField("nic.networks.names", "NIC_networks_names", QFT_OTHER,
                   "List containing the name of each interface's network"),
        IQ_NETWORKS, 0, _NicAgg(_NIC_VALUES["network.name"])))
    indexed = [("ip", "NicIP", "IP address"), ("uuid", "NicUUID", "UUID address"),
               ("mac", "NicMAC", "MAC address"), ("name", "NicName", "Name address"),
               ("network", "NicNetwork", "Network"), ("mode", "NicMode", "Mode"),
               ("link", "NicLink", "Link"), ("vlan", "NicVLAN", "VLAN"),
               ("network.name", "NicNetworkName", "Network name"),
               ("bridge", "NicBridge", "Bridge")]
    for idx in range(defaults.MAX_NICS):
        ordinal = FormatOrdinal(idx + 1)
        for key, title, doc in indexed:
            kind = IQ_NETWORKS if key == "network.name" else IQ_CONFIG
            fields.append(FieldDef(
                _MakeField(f"nic.{key}/{idx}", f"{title}/{idx}", QFT_TEXT,
                           f"{doc} of {ordinal} network interface"),
                kind, 0, _IndexedNic(idx, _NIC_VALUES[key])))
    return fields


# --- live fields and the table -------------------------------------------------------


def _BuildLiveFields() -> list[FieldDef]:
    return [
        FieldDef(_MakeField("status", "Status", QFT_TEXT, _STATUS_DOC), IQ_LIVE, 0,
                 _GetStatus),
        FieldDef(_MakeField("oper_state", "Running", QFT_BOOL,
                            "Actual state of instance"), IQ_LIVE, 0, _GetOperState),
        FieldDef(_MakeField("console", "Console", QFT_OTHER,
                            "Instance console information"), IQ_CONSOLE, 0,
                 _GetConsole),
        FieldDef(_MakeField("oper_ram", "Memory", QFT_UNIT,
                            "Actual memory usage as seen by hypervisor"),
                 IQ_LIVE, 0, _GetLiveValue("memory")),
        FieldDef(_MakeField("oper_vcpus", "VCPUs", QFT_NUMBER,
                            "Actual number of VCPUs as seen by hypervisor"),
                 IQ_LIVE, 0, _GetLiveValue("vcpus")),
    ]


_ALIASES = [("vcpus", "be/vcpus"), ("be/memory", "be/maxmem"),
            ("sda_size", "disk.size/0"), ("sdb_size", "disk.size/1"),
            ("ip", "nic.ip/0"), ("mac", "nic.mac/0"), ("bridge", "nic.bridge/0"),
            ("nic_mode", "nic.mode/0"), ("nic_link", "nic.link/0"),
            ("nic_network", "nic.network/0")]


def _BuildInstanceFields() -> FieldDict:
    fields = (_BuildBasicFields() + _BuildParamFields() + _BuildDiskFields()
              + _BuildNicFields() + _BuildLiveFields())
    return _PrepareFieldList(fields, _ALIASES)


#: Fields of the "instance" query; the ctx is an InstanceQueryData.
INSTANCE_FIELDS = _BuildInstanceFields()


# --- gathering the data ------------------------------------------------------------


def MakeInstanceQueryData(cfg: Any, inst_uuids: list[str] | None,
                          requested: frozenset[int], rpc: Any = None
                          ) -> InstanceQueryData:
    """Collect what a query of the given data kinds needs.

    Args:
      cfg: the ConfigWriter.
      inst_uuids: the instances, in order (None: all, by name order later).
      requested: the query's RequestedData().
      rpc: the RpcRunner, needed for live and console data.
    """
    all_info = cfg.GetAllInstancesInfo()
    uuids = list(all_info) if inst_uuids is None else inst_uuids
    instances = [all_info[uuid] for uuid in uuids if uuid in all_info]
    all_disks = cfg.GetAllDisksInfo()
    data = InstanceQueryData(
        instances=instances, cluster=cfg.GetClusterInfo(),
        nodes=cfg.GetAllNodesInfo(), groups=cfg.GetAllNodeGroupsInfo(),
        networks=cfg.GetAllNetworksInfo(),
        disks={inst.uuid: [all_disks[d] for d in inst.disks or [] if d in all_disks]
               for inst in instances})
    if rpc is not None and requested & {IQ_LIVE, IQ_CONSOLE}:
        data.live = CollectLiveData(cfg, rpc, data)
        if IQ_CONSOLE in requested:
            data.console = CollectConsoles(cfg, rpc, data)
    return data


def CollectLiveData(cfg: Any, rpc: Any, data: InstanceQueryData
                    ) -> dict[str, NodeLiveResult]:
    """all_instances_info of the online nodes holding the instances."""
    node_uuids = []
    for inst in data.instances:
        for disk in data.disks.get(inst.uuid, []):
            node_uuids += [n for n in disk.nodes or () if n not in node_uuids]
        if inst.primary_node not in node_uuids:
            node_uuids.append(inst.primary_node)
    result: dict[str, NodeLiveResult] = {}
    online = [uuid for uuid in node_uuids
              if uuid in data.nodes and not data.nodes[uuid].offline]
    for uuid in node_uuids:
        if uuid not in online:
            result[uuid] = NodeLiveResult(None, offline=True)
    if not online:
        return result
    cluster = data.cluster
    hv_list = sorted({inst.hypervisor for inst in data.instances if inst.hypervisor})
    answers = rpc.call_all_instances_info(online, hv_list, cluster.hvparams)
    for uuid in online:
        answer = answers[uuid]
        payload = answer.payload if not answer.fail_msg else None
        if payload is not None and not isinstance(payload, dict):
            payload = None
        result[uuid] = NodeLiveResult(payload, offline=bool(answer.offline))
    return result


def GetInstanceConsoleParams(cfg: Any, instance: Any) -> dict[str, Any]:
    """The instance_console_info request of one instance (Ganeti's dict)."""
    cluster = cfg.GetClusterInfo()
    node = cfg.GetNodeInfo(instance.primary_node)
    group = cfg.GetNodeGroup(node.group)
    return {"instance": instance.ToDict(), "node": node.ToDict(),
            "group": group.ToDict() if group is not None else {},
            "hvParams": cluster.FillHV(instance), "beParams": cluster.FillBE(instance)}


def CollectConsoles(cfg: Any, rpc: Any, data: InstanceQueryData
                    ) -> dict[str, Any]:
    """instance uuid -> console dict of every instance running on its primary."""
    by_node: dict[str, dict[str, Any]] = {}
    uuid_of: dict[str, str] = {}
    for inst in data.instances:
        kind, live = data.LiveInfo(inst)
        if kind == "ok" and live is not None and live[1]:
            by_node.setdefault(inst.primary_node, {})[inst.name] = \
                GetInstanceConsoleParams(cfg, inst)
            uuid_of[inst.name] = inst.uuid
    consoles: dict[str, Any] = {}
    for node_uuid, request in by_node.items():
        answer = rpc.call_instance_console_info([node_uuid], request)[node_uuid]
        if answer.fail_msg or not isinstance(answer.payload, dict):
            continue
        for name, console in answer.payload.items():
            if name in uuid_of:
                consoles[uuid_of[name]] = console
    return consoles
