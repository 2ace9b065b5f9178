"""Configuration objects: the typed form of config.data (Ganeti's lib/objects.py).

Every class keeps the field names of config.data (spec/config.md section 3).
A field is None when it was never set; ToDict leaves such fields out, so that
a loaded config is written back exactly as read:

  ConfigData.FromDict(d).ToDict() == d

holds for any config Ganeti 3.0 writes. Two details make this lossless:
keys that were present with a JSON null are remembered and written back as
null, and keys this version does not know are kept and written back as they
were (a newer minor version may add fields).

Runtime-only fields (NodeGroup.members, NIC.netinfo, Disk.dynamic_params...)
are never part of config.data; ToDict(runtime=True) includes them, for the
copies sent to nodes over RPC. NodeGroup.members is written as [] because
Ganeti 3.0 writes it so (spec/samples/config.data.json).

UpgradeConfig fills fields missing from older or hand-made configs with
their defaults; on a config written by Ganeti 3.0 it changes nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ganeti import constants, defaults, errors

_T = TypeVar("_T", bound="ConfigObject")

# How a nested field is stored: one object, a list of them, or a dict of them
# keyed by uuid.
_ONE, _LIST, _DICT = "one", "list", "dict"

# An instance whose disks have different templates (Ganeti's DT_MIXED).
DT_MIXED = "mixed"

_TAG_RE = re.compile(constants.TAG_REGEX)

# Disk types of configs older than 2.7 (cfgupgrade's renames).
_OLD_DEV_TYPES = {"lvm": constants.DT_PLAIN, "drbd8": constants.DT_DRBD8}


def FillDict(defaults_dict: dict[str, Any], custom: dict[str, Any] | None,
             skip_keys: frozenset[str] | set[str] | list[str] | None = None,
             ) -> dict[str, Any]:
    """Return defaults_dict updated with custom, without skip_keys.

    Neither argument is modified; the result is a new (shallow) dict.
    """
    result = dict(defaults_dict)
    if custom:
        result.update(custom)
    for key in skip_keys or ():
        result.pop(key, None)
    return result


def FillIPolicy(default_ipolicy: dict[str, Any],
                custom_ipolicy: dict[str, Any] | None) -> dict[str, Any]:
    """Fill an instance policy with defaults (std specs are merged by key)."""
    result = copy.deepcopy(custom_ipolicy or {})
    for key, value in default_ipolicy.items():
        if key not in result:
            result[key] = copy.deepcopy(value)
        elif key == defaults.ISPECS_STD:
            result[key] = FillDict(value, result[key])
    return result


def FillDiskParams(default_dparams: dict[str, dict[str, Any]],
                   custom_dparams: dict[str, dict[str, Any]] | None,
                   ) -> dict[str, dict[str, Any]]:
    """Fill per-template disk parameters with defaults."""
    custom_dparams = custom_dparams or {}
    return {template: FillDict(params, custom_dparams.get(template))
            for template, params in default_dparams.items()}


def UpgradeBeParams(target: dict[str, Any]) -> None:
    """Replace the legacy "memory" backend parameter by minmem and maxmem."""
    if defaults.BE_MEMORY in target:
        memory = target.pop(defaults.BE_MEMORY)
        target.setdefault(defaults.BE_MAXMEM, memory)
        target.setdefault(defaults.BE_MINMEM, memory)


def GetDiskTemplate(disks: list[Disk]) -> str:
    """Return the disk template of an instance with these disks.

    Ganeti 3.x no longer stores an instance's template; it is the dev_type
    shared by all its disks, "diskless" without disks and "mixed" if they
    differ.
    """
    dev_types = {disk.dev_type for disk in disks}
    if not dev_types:
        return constants.DT_DISKLESS
    template = dev_types.pop()
    if dev_types or template is None:
        return DT_MIXED
    return template


def _ConfigError(cls: type, key: str, expected: str, value: Any) -> errors.GenericError:
    return errors.ConfigurationError(
        f"{cls.__name__}.{key}: expected {expected}, got {type(value).__name__}")


@dataclass(slots=True, kw_only=True, eq=False)
class ConfigObject:
    """Base of all config objects: dict conversion, copying, upgrading.

    Subclasses declare their config.data fields in the order Ganeti writes
    them. _NESTED maps fields holding other config objects to (kind, class);
    _RUNTIME names fields that are not stored in config.data.
    """

    _NESTED: ClassVar[dict[str, tuple[str, type[ConfigObject]]]] = {}
    _RUNTIME: ClassVar[frozenset[str]] = frozenset()
    # Runtime fields written with a fixed value in config.data.
    _STORED_AS: ClassVar[dict[str, Any]] = {}

    _extra: dict[str, Any] | None = field(default=None, repr=False)
    _nulls: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def _FieldNames(cls) -> tuple[str, ...]:
        cache = _FIELD_CACHE.get(cls)
        if cache is None:
            cache = tuple(f.name for f in dataclasses.fields(cls)
                          if not f.name.startswith("_"))
            _FIELD_CACHE[cls] = cache
        return cache

    def ToDict(self, runtime: bool = False) -> dict[str, Any]:
        """Return the JSON-compatible dict form of this object.

        Plain values (dicts, lists) are shared with the object, not copied;
        use Copy() for an independent object.

        Args:
          runtime: include runtime-only fields (for RPC, never for saving).
        """
        result: dict[str, Any] = {}
        nulls = self._nulls or ()
        for name in self._FieldNames():
            if name in self._RUNTIME and not runtime:
                if name in self._STORED_AS:
                    result[name] = copy.copy(self._STORED_AS[name])
                continue
            value = getattr(self, name)
            if value is None:
                if name in nulls:
                    result[name] = None
                continue
            nested = self._NESTED.get(name)
            if nested is not None:
                value = _EncodeNested(nested[0], value, runtime)
            result[name] = value
        if self._extra:
            result.update(self._extra)
        return result

    @classmethod
    def FromDict(cls: type[_T], val: dict[str, Any]) -> _T:
        """Build an object from its dict form (the inverse of ToDict).

        Raises:
          errors.ConfigurationError: val or a nested value has the wrong shape.
        """
        if not isinstance(val, dict):
            raise errors.ConfigurationError(
                f"{cls.__name__}: expected a JSON object, got {type(val).__name__}")
        names = cls._FieldNames()
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        nulls = set()
        for key, value in val.items():
            if key not in names:
                extra[key] = value
            elif key in cls._STORED_AS:
                continue  # computed at runtime, the stored value is a placeholder
            elif value is None:
                nulls.add(key)
            elif key in cls._NESTED:
                kind, subclass = cls._NESTED[key]
                kwargs[key] = _DecodeNested(cls, key, kind, subclass, value)
            else:
                kwargs[key] = value
        obj = cls(**kwargs)
        obj._extra = extra or None
        obj._nulls = frozenset(nulls) or None
        return obj

    def Copy(self: _T) -> _T:
        """Return a deep, independent copy (runtime fields included)."""
        return type(self).FromDict(copy.deepcopy(self.ToDict(runtime=True)))

    def UpgradeConfig(self) -> None:
        """Fill missing fields with defaults; nested objects are upgraded too."""
        for name, (kind, _) in self._NESTED.items():
            value = getattr(self, name)
            if value is None:
                continue
            if kind == _ONE:
                value.UpgradeConfig()
            else:
                for child in value.values() if kind == _DICT else value:
                    child.UpgradeConfig()

    def _SetDefaults(self, **values: Any) -> None:
        """Set each given field that is None to its given default."""
        for name, value in values.items():
            if getattr(self, name) is None:
                setattr(self, name, value)


_FIELD_CACHE: dict[type, tuple[str, ...]] = {}


def _EncodeNested(kind: str, value: Any, runtime: bool) -> Any:
    if kind == _ONE:
        return value.ToDict(runtime)
    if kind == _LIST:
        return [item.ToDict(runtime) for item in value]
    return {key: item.ToDict(runtime) for key, item in value.items()}


def _DecodeNested(cls: type, key: str, kind: str, subclass: type[ConfigObject],
                  value: Any) -> Any:
    if kind == _ONE:
        return subclass.FromDict(value)
    if kind == _LIST:
        if not isinstance(value, list):
            raise _ConfigError(cls, key, "a list", value)
        return [subclass.FromDict(item) for item in value]
    if not isinstance(value, dict):
        raise _ConfigError(cls, key, "a JSON object", value)
    return {item_key: subclass.FromDict(item) for item_key, item in value.items()}


@dataclass(slots=True, kw_only=True, eq=False)
class TaggableObject(ConfigObject):
    """An object carrying tags (a set, stored as a JSON list)."""

    @staticmethod
    def ValidateTag(tag: Any) -> None:
        """Check one tag's syntax.

        Raises:
          errors.TagError: not a string, empty, too long or bad characters.
        """
        if not isinstance(tag, str):
            raise errors.TagError(f"Invalid tag type {type(tag).__name__} (not a"
                                  " string)")
        if not tag:
            raise errors.TagError("Tags cannot be empty")
        if len(tag) > constants.MAX_TAG_LEN:
            raise errors.TagError(
                f"Tag too long (more than {constants.MAX_TAG_LEN} characters)")
        if not _TAG_RE.match(tag):
            raise errors.TagError(f"Tag {tag!r} contains invalid characters")

    def GetTags(self) -> set[str]:
        """Return a copy of the object's tags."""
        return set(getattr(self, "tags", None) or ())

    def AddTag(self, tag: str) -> None:
        """Add a tag (adding a present tag does nothing).

        Raises:
          errors.TagError: bad tag, or the object has too many tags.
        """
        self.ValidateTag(tag)
        tags = getattr(self, "tags", None)
        if tags is None:
            tags = []
            # Every taggable subclass has the field; the base class does not.
            setattr(self, "tags", tags)  # noqa: B010
        if tag in tags:
            return
        if len(tags) >= constants.MAX_TAGS_PER_OBJ:
            raise errors.TagError(
                f"Too many tags (at most {constants.MAX_TAGS_PER_OBJ} per object)")
        tags.append(tag)

    def RemoveTag(self, tag: str) -> None:
        """Remove a tag.

        Raises:
          errors.TagError: the object does not have this tag.
        """
        self.ValidateTag(tag)
        tags = getattr(self, "tags", None) or []
        if tag not in tags:
            raise errors.TagError(f"Tag {tag!r} not found")
        tags.remove(tag)


# --- disks and NICs ------------------------------------------------------------

@dataclass(slots=True, kw_only=True, eq=False)
class Disk(ConfigObject):
    """A virtual disk; DRBD disks have their two LVs as children."""

    _RUNTIME: ClassVar[frozenset[str]] = frozenset(["dynamic_params", "pci",
                                                    "hvinfo"])

    logical_id: list[Any] | None = None
    dev_type: str | None = None
    children: list[Disk] | None = None
    nodes: list[str] | None = None
    iv_name: str | None = None
    size: int | None = None
    mode: str | None = None
    name: str | None = None
    spindles: int | None = None
    params: dict[str, Any] | None = None
    forthcoming: bool | None = None
    uuid: str | None = None
    serial_no: int | None = None
    ctime: float | None = None
    mtime: float | None = None
    dynamic_params: dict[str, Any] | None = None
    pci: int | None = None
    hvinfo: dict[str, Any] | None = None

    def StaticDevPath(self) -> str | None:
        """Return the device path if it can be known without the node, else None.

        Logical volumes live at /dev/<vg>/<lv>, RBD volumes at
        /dev/<pool>/<name>, block devices at their given path.
        """
        logical_id = self.logical_id or []
        if self.dev_type in (constants.DT_PLAIN, constants.DT_RBD):
            return f"/dev/{logical_id[0]}/{logical_id[1]}"
        if self.dev_type == constants.DT_BLOCK:
            return logical_id[1]
        return None

    def ToDict(self, runtime: bool = False,
               include_dynamic_params: bool = False) -> dict[str, Any]:
        """Return the dict form; dynamic_params only if asked for (RPC).

        Args:
          runtime: include every runtime-only field.
          include_dynamic_params: include dynamic_params (Ganeti's flag).
        """
        result = ConfigObject.ToDict(self, runtime)
        if include_dynamic_params and self.dynamic_params is not None:
            result["dynamic_params"] = self.dynamic_params
        return result

    def GetNodes(self, node_uuid: str) -> list[str]:
        """Return the nodes this disk lives on, given its parent's node.

        For a top-level disk the parent's node is the instance's primary.

        Raises:
          errors.ConfigurationError: a DRBD disk not on node_uuid.
          errors.ProgrammerError: unknown disk type.
        """
        if self.dev_type == constants.DT_DRBD8:
            nodes = list((self.logical_id or [])[:2])
            if node_uuid not in nodes:
                raise errors.ConfigurationError(
                    f"DRBD disk {self.uuid} is not on node {node_uuid}")
            return nodes
        if self.dev_type in constants.DISK_TEMPLATES - {constants.DT_DISKLESS}:
            return [node_uuid]
        raise errors.ProgrammerError(f"Unhandled disk type {self.dev_type!r}")

    def UpdateDynamicDiskParams(self, target_node_uuid: str,
                                nodes_ip: dict[str, str]) -> None:
        """Set dynamic_params for sending this disk to target_node_uuid.

        Only DRBD disks have any: the local and remote IPs and minors, seen
        from the target node; for a node that is neither peer they are empty.

        Args:
          nodes_ip: node uuid -> (secondary) IP of at least both peers.

        Raises:
          errors.ConfigurationError: a peer's IP is missing from nodes_ip.
        """
        for child in self.children or ():
            child.UpdateDynamicDiskParams(target_node_uuid, nodes_ip)
        params: dict[str, Any] = {}
        if self.dev_type == constants.DT_DRBD8 and self.logical_id:
            pnode, snode, _, pminor, sminor = self.logical_id[:5]
            if target_node_uuid in (pnode, snode):
                if pnode not in nodes_ip or snode not in nodes_ip:
                    raise errors.ConfigurationError(
                        f"Missing IP of node {pnode} or {snode} for disk {self.uuid}")
                local, remote = (pnode, snode) if target_node_uuid == pnode else \
                    (snode, pnode)
                local_minor, remote_minor = (pminor, sminor) if local == pnode else \
                    (sminor, pminor)
                params = {defaults.DDP_LOCAL_IP: nodes_ip[local],
                          defaults.DDP_REMOTE_IP: nodes_ip[remote],
                          defaults.DDP_LOCAL_MINOR: local_minor,
                          defaults.DDP_REMOTE_MINOR: remote_minor}
        self.dynamic_params = params

    @staticmethod
    def ComputeLDParams(disk_template: str,
                        disk_params: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Compute the logical disk parameters from the template's parameters.

        Returns:
          One dict per device of the template's tree, in order: for DRBD
          the DRBD device, its data LV and its metadata LV.

        Raises:
          errors.ProgrammerError: unknown or diskless template.
        """
        if disk_template not in defaults.DISK_LD_DEFAULTS:
            raise errors.ProgrammerError(f"Unknown disk template {disk_template!r}")
        dt_params = FillDict(defaults.DISK_DT_DEFAULTS.get(disk_template, {}),
                             disk_params.get(disk_template))
        if disk_template == constants.DT_DRBD8:
            drbd = {ld: dt_params[dt] for ld, dt in defaults.DRBD_LD_FROM_DT.items()}
            plain = defaults.DISK_LD_DEFAULTS[constants.DT_PLAIN]
            return [
                FillDict(defaults.DISK_LD_DEFAULTS[constants.DT_DRBD8], drbd),
                FillDict(plain, {defaults.LDP_STRIPES: dt_params["data-stripes"]}),
                FillDict(plain, {defaults.LDP_STRIPES: dt_params["meta-stripes"]}),
            ]
        ld_defaults = defaults.DISK_LD_DEFAULTS[disk_template]
        return [FillDict(ld_defaults, {key: dt_params[key] for key in ld_defaults})]

    def RecordGrow(self, amount: int) -> None:
        """Record that the disk grew by amount MiB (a DRBD's data LV too).

        Raises:
          errors.ProgrammerError: the disk type cannot grow.
        """
        if self.dev_type == constants.DT_DRBD8:
            if self.children:
                self.children[0].RecordGrow(amount)
        elif self.dev_type in (constants.DT_BLOCK, constants.DT_DISKLESS):
            raise errors.ProgrammerError(
                f"Disk.RecordGrow called for unsupported disk type {self.dev_type}")
        self.size = (self.size or 0) + amount

    def IsBasedOnDiskType(self, dev_type: str) -> bool:
        """Whether this disk or one of its children has dev_type."""
        if self.dev_type == dev_type:
            return True
        return any(child.IsBasedOnDiskType(dev_type) for child in self.children or ())

    def UpgradeConfig(self) -> None:
        """Fill defaults and rename pre-2.7 device types."""
        if self.dev_type in _OLD_DEV_TYPES:
            self.dev_type = _OLD_DEV_TYPES[self.dev_type]
        self._SetDefaults(children=[], params={}, mode=constants.DISK_RDWR)
        # As Ganeti: stored disk params are unused; RPC fills them from the
        # disk template's parameters (ComputeLDParams) on every call.
        if self.params:
            self.params = {}
        if isinstance(self.logical_id, tuple):
            self.logical_id = list(self.logical_id)
        for child in self.children or ():
            child.UpgradeConfig()


Disk._NESTED = {"children": (_LIST, Disk)}


@dataclass(slots=True, kw_only=True, eq=False)
class NIC(ConfigObject):
    """A network interface of an instance."""

    _RUNTIME: ClassVar[frozenset[str]] = frozenset(["netinfo", "pci", "hvinfo"])

    mac: str | None = None
    ip: str | None = None
    nicparams: dict[str, Any] | None = None
    network: str | None = None
    name: str | None = None
    uuid: str | None = None
    netinfo: dict[str, Any] | None = None
    pci: int | None = None
    hvinfo: dict[str, Any] | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(nicparams={})


# --- nodes and groups ------------------------------------------------------------

@dataclass(slots=True, kw_only=True, eq=False)
class Node(TaggableObject):
    """A cluster node."""

    name: str | None = None
    primary_ip: str | None = None
    secondary_ip: str | None = None
    master_candidate: bool | None = None
    offline: bool | None = None
    drained: bool | None = None
    group: str | None = None
    master_capable: bool | None = None
    vm_capable: bool | None = None
    ndparams: dict[str, Any] | None = None
    powered: bool | None = None
    hv_state_static: dict[str, Any] | None = None
    disk_state_static: dict[str, Any] | None = None
    ctime: float | None = None
    mtime: float | None = None
    uuid: str | None = None
    serial_no: int | None = None
    tags: list[str] | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(master_candidate=False, offline=False, drained=False,
                          master_capable=True, vm_capable=True, ndparams={},
                          powered=True, tags=[], serial_no=1)
        if self.secondary_ip is None:
            self.secondary_ip = self.primary_ip


@dataclass(slots=True, kw_only=True, eq=False)
class NodeGroup(TaggableObject):
    """A group of nodes sharing parameters and policies."""

    _RUNTIME: ClassVar[frozenset[str]] = frozenset(["members"])
    _STORED_AS: ClassVar[dict[str, Any]] = {"members": []}

    name: str | None = None
    members: list[str] | None = None
    ndparams: dict[str, Any] | None = None
    alloc_policy: str | None = None
    ipolicy: dict[str, Any] | None = None
    diskparams: dict[str, Any] | None = None
    networks: dict[str, dict[str, Any]] | None = None
    hv_state_static: dict[str, Any] | None = None
    disk_state_static: dict[str, Any] | None = None
    ctime: float | None = None
    mtime: float | None = None
    uuid: str | None = None
    serial_no: int | None = None
    tags: list[str] | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(members=[], ndparams={}, ipolicy={}, diskparams={},
                          networks={}, alloc_policy=constants.ALLOC_POLICY_PREFERRED,
                          serial_no=1, ctime=0, mtime=0, tags=[])

    def SimpleFillND(self, ndparams: dict[str, Any] | None) -> dict[str, Any]:
        """Return ndparams filled with this group's node parameters."""
        return FillDict(self.ndparams or {}, ndparams)

    def FillND(self, node: Node) -> dict[str, Any]:
        """Return the node's parameters filled with this group's."""
        return self.SimpleFillND(node.ndparams)


# --- instances ---------------------------------------------------------------------

@dataclass(slots=True, kw_only=True, eq=False)
class Instance(TaggableObject):
    """A virtual machine. Its disks are referenced by uuid (3.x layout)."""

    name: str | None = None
    primary_node: str | None = None
    os: str | None = None
    hypervisor: str | None = None
    hvparams: dict[str, Any] | None = None
    beparams: dict[str, Any] | None = None
    osparams: dict[str, Any] | None = None
    osparams_private: dict[str, Any] | None = None
    admin_state: str | None = None
    admin_state_source: str | None = None
    nics: list[NIC] | None = None
    disks: list[str] | None = None
    disks_active: bool | None = None
    network_port: int | None = None
    forthcoming: bool | None = None
    ctime: float | None = None
    mtime: float | None = None
    uuid: str | None = None
    serial_no: int | None = None
    tags: list[str] | None = None

    def UpgradeConfig(self) -> None:
        ConfigObject.UpgradeConfig(self)
        self._SetDefaults(hvparams={}, beparams={}, osparams={}, osparams_private={},
                          nics=[], disks=[], tags=[], serial_no=1,
                          admin_state=constants.ADMINST_DOWN,
                          admin_state_source=constants.ADMIN_SOURCE)
        if self.disks_active is None:
            self.disks_active = self.admin_state == constants.ADMINST_UP
        UpgradeBeParams(self.beparams or {})
        # Global hypervisor parameters are never per instance.
        for key in defaults.HVC_GLOBALS:
            (self.hvparams or {}).pop(key, None)


Instance._NESTED = {"nics": (_LIST, NIC)}


# --- networks and filters ----------------------------------------------------------

@dataclass(slots=True, kw_only=True, eq=False)
class Network(TaggableObject):
    """An IP network whose addresses the cluster hands out to NICs."""

    name: str | None = None
    mac_prefix: str | None = None
    network: str | None = None
    network6: str | None = None
    gateway: str | None = None
    gateway6: str | None = None
    reservations: str | None = None
    ext_reservations: str | None = None
    ctime: float | None = None
    mtime: float | None = None
    uuid: str | None = None
    serial_no: int | None = None
    tags: list[str] | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(tags=[], serial_no=1)


@dataclass(slots=True, kw_only=True, eq=False)
class FilterRule(ConfigObject):
    """A job filter rule of the job queue (2.13+)."""

    watermark: int | None = None
    priority: int | None = None
    predicates: list[Any] | None = None
    action: Any = None
    reason_trail: list[Any] | None = None
    uuid: str | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(priority=0, predicates=[], reason_trail=[])


# --- the cluster -------------------------------------------------------------------

@dataclass(slots=True, kw_only=True, eq=False)
class Cluster(TaggableObject):
    """Cluster-wide settings and the defaults of every parameter family."""

    rsahostkeypub: str | None = None
    dsahostkeypub: str | None = None
    highest_used_port: int | None = None
    tcpudp_port_pool: list[int] | None = None
    mac_prefix: str | None = None
    volume_group_name: str | None = None
    reserved_lvs: list[str] | None = None
    drbd_usermode_helper: str | None = None
    default_bridge: str | None = None
    default_hypervisor: str | None = None
    master_node: str | None = None
    master_ip: str | None = None
    master_netdev: str | None = None
    master_netmask: int | None = None
    use_external_mip_script: bool | None = None
    cluster_name: str | None = None
    file_storage_dir: str | None = None
    shared_file_storage_dir: str | None = None
    gluster_storage_dir: str | None = None
    enabled_hypervisors: list[str] | None = None
    hvparams: dict[str, dict[str, Any]] | None = None
    os_hvp: dict[str, dict[str, dict[str, Any]]] | None = None
    beparams: dict[str, dict[str, Any]] | None = None
    osparams: dict[str, dict[str, Any]] | None = None
    osparams_private_cluster: dict[str, dict[str, Any]] | None = None
    nicparams: dict[str, dict[str, Any]] | None = None
    ndparams: dict[str, Any] | None = None
    diskparams: dict[str, dict[str, Any]] | None = None
    candidate_pool_size: int | None = None
    modify_etc_hosts: bool | None = None
    modify_ssh_setup: bool | None = None
    maintain_node_health: bool | None = None
    uid_pool: list[list[int]] | None = None
    default_iallocator: str | None = None
    default_iallocator_params: dict[str, Any] | None = None
    hidden_os: list[str] | None = None
    blacklisted_os: list[str] | None = None
    primary_ip_family: int | None = None
    prealloc_wipe_disks: bool | None = None
    ipolicy: dict[str, Any] | None = None
    hv_state_static: dict[str, Any] | None = None
    disk_state_static: dict[str, Any] | None = None
    enabled_disk_templates: list[str] | None = None
    candidate_certs: dict[str, str] | None = None
    max_running_jobs: int | None = None
    max_tracked_jobs: int | None = None
    install_image: str | None = None
    instance_communication_network: str | None = None
    zeroing_image: str | None = None
    compression_tools: list[str] | None = None
    enabled_user_shutdown: bool | None = None
    data_collectors: dict[str, dict[str, Any]] | None = None
    ssh_key_type: str | None = None
    ssh_key_bits: int | None = None
    ctime: float | None = None
    mtime: float | None = None
    uuid: str | None = None
    serial_no: int | None = None
    tags: list[str] | None = None

    def UpgradeConfig(self) -> None:
        """Fill every parameter family with the current defaults."""
        self._UpgradeParams()
        ip6 = self.primary_ip_family == constants.IP6_FAMILY
        self._SetDefaults(
            tcpudp_port_pool=[], reserved_lvs=[], master_netmask=128 if ip6 else 32,
            use_external_mip_script=False, shared_file_storage_dir="",
            gluster_storage_dir="",
            candidate_pool_size=constants.MASTER_POOL_SIZE_DEFAULT,
            modify_etc_hosts=True, modify_ssh_setup=True, maintain_node_health=False,
            uid_pool=[], default_iallocator="", default_iallocator_params={},
            hidden_os=[], blacklisted_os=[], primary_ip_family=constants.IP4_FAMILY,
            prealloc_wipe_disks=False, hv_state_static={}, disk_state_static={},
            enabled_disk_templates=[constants.DT_DRBD8, constants.DT_PLAIN],
            candidate_certs={}, max_running_jobs=defaults.MAX_RUNNING_JOBS,
            max_tracked_jobs=defaults.MAX_TRACKED_JOBS, install_image="",
            instance_communication_network="", zeroing_image="",
            compression_tools=list(defaults.COMPRESSION_TOOLS),
            enabled_user_shutdown=False, ssh_key_type=defaults.SSH_KEY_TYPE,
            ssh_key_bits=defaults.SSH_KEY_BITS, tags=[], serial_no=1)
        collectors = self.data_collectors or {}
        self.data_collectors = {
            name: FillDict({"active": True,
                            "interval": defaults.DATA_COLLECTOR_INTERVAL},
                           collectors.get(name))
            for name in defaults.DATA_COLLECTOR_NAMES}
        # Keep collectors unknown to us (a newer version's).
        self.data_collectors.update(
            {k: v for k, v in collectors.items() if k not in self.data_collectors})

    def _UpgradeParams(self) -> None:
        hvparams = self.hvparams or {}
        self.hvparams = {hv: FillDict(params, hvparams.get(hv))
                         for hv, params in defaults.HVC_DEFAULTS.items()}
        self.hvparams.update(
            {hv: p for hv, p in hvparams.items() if hv not in self.hvparams})
        self._SetDefaults(os_hvp={}, osparams={}, osparams_private_cluster={})
        beparams = (self.beparams or {}).get(constants.PP_DEFAULT, {})
        UpgradeBeParams(beparams)
        self.beparams = {**(self.beparams or {}), constants.PP_DEFAULT:
                         FillDict(defaults.BEC_DEFAULTS, beparams)}
        nicparams = (self.nicparams or {}).get(constants.PP_DEFAULT)
        self.nicparams = {**(self.nicparams or {}), constants.PP_DEFAULT:
                          FillDict(defaults.NICC_DEFAULTS, nicparams)}
        self.ndparams = FillDict(defaults.NDC_DEFAULTS, self.ndparams)
        diskparams = FillDiskParams(defaults.DISK_DT_DEFAULTS, self.diskparams)
        diskparams.update({dt: p for dt, p in (self.diskparams or {}).items()
                           if dt not in diskparams})
        self.diskparams = diskparams
        self.ipolicy = FillIPolicy(defaults.IPOLICY_DEFAULTS, self.ipolicy)

    # --- filling parameters (Ganeti's Fill*/SimpleFill* family) -------------

    def GetHVDefaults(self, hypervisor: str, os_name: str | None = None,
                      skip_keys: frozenset[str] | None = None) -> dict[str, Any]:
        """Return the cluster's parameters of hypervisor, with OS overrides.

        Args:
          hypervisor: the hypervisor's name.
          os_name: also apply the os_hvp overrides of this OS.
          skip_keys: parameters to leave out.
        """
        result = FillDict({}, (self.hvparams or {}).get(hypervisor), skip_keys)
        if os_name is not None:
            os_hvp = (self.os_hvp or {}).get(os_name, {}).get(hypervisor)
            result = FillDict(result, os_hvp, skip_keys)
        return result

    def SimpleFillHV(self, hv_name: str, os_name: str | None,
                     hvparams: dict[str, Any] | None,
                     skip_globals: bool = False) -> dict[str, Any]:
        """Fill instance-level hvparams with the cluster and OS defaults.

        Args:
          skip_globals: leave out the cluster-global parameters (HVC_GLOBALS).
        """
        skip = defaults.HVC_GLOBALS if skip_globals else None
        return FillDict(self.GetHVDefaults(hv_name, os_name, skip), hvparams, skip)

    def FillHV(self, instance: Instance, skip_globals: bool = False) -> dict[str, Any]:
        """Return the instance's effective hypervisor parameters."""
        return self.SimpleFillHV(instance.hypervisor or "", instance.os,
                                 instance.hvparams, skip_globals)

    def SimpleFillBE(self, beparams: dict[str, Any] | None) -> dict[str, Any]:
        return FillDict((self.beparams or {}).get(constants.PP_DEFAULT, {}), beparams)

    def FillBE(self, instance: Instance) -> dict[str, Any]:
        """Return the instance's effective backend parameters."""
        return self.SimpleFillBE(instance.beparams)

    def SimpleFillNIC(self, nicparams: dict[str, Any] | None) -> dict[str, Any]:
        return FillDict((self.nicparams or {}).get(constants.PP_DEFAULT, {}),
                        nicparams)

    def SimpleFillND(self, ndparams: dict[str, Any] | None) -> dict[str, Any]:
        return FillDict(self.ndparams or {}, ndparams)

    def FillND(self, node: Node, nodegroup: NodeGroup) -> dict[str, Any]:
        """Return the node's effective parameters (cluster < group < node)."""
        return self.SimpleFillND(nodegroup.FillND(node))

    def SimpleFillOS(self, os_name: str, os_params: dict[str, Any] | None,
                     os_params_private: dict[str, Any] | None = None,
                     ) -> dict[str, Any]:
        """Fill OS parameters: cluster's for the OS, then its variant, then given.

        Private parameters are merged in too, as Ganeti does for OS scripts.
        """
        base_name = os_name.split("+", 1)[0]
        osparams = self.osparams or {}
        private = self.osparams_private_cluster or {}
        result = FillDict(osparams.get(base_name, {}), osparams.get(os_name))
        result = FillDict(result, private.get(base_name))
        result = FillDict(result, private.get(os_name))
        result = FillDict(result, os_params)
        return FillDict(result, os_params_private)

    def FillOSParams(self, instance: Instance) -> dict[str, Any]:
        return self.SimpleFillOS(instance.os or "", instance.osparams,
                                 instance.osparams_private)

    def SimpleFillIPolicy(self, ipolicy: dict[str, Any] | None) -> dict[str, Any]:
        return FillIPolicy(self.ipolicy or {}, ipolicy)

    def SimpleFillDiskParams(self, diskparams: dict[str, Any] | None,
                             ) -> dict[str, dict[str, Any]]:
        return FillDiskParams(self.diskparams or {}, diskparams)

    def IsDiskTemplateEnabled(self, disk_template: str) -> bool:
        return disk_template in (self.enabled_disk_templates or ())

    def IsFileStorageEnabled(self) -> bool:
        return self.IsDiskTemplateEnabled(constants.DT_FILE)

    def IsSharedFileStorageEnabled(self) -> bool:
        return self.IsDiskTemplateEnabled(constants.DT_SHARED_FILE)

    def GetDefaultHypervisor(self) -> str | None:
        """The first enabled hypervisor is the default one."""
        return self.enabled_hypervisors[0] if self.enabled_hypervisors else None


@dataclass(slots=True, kw_only=True, eq=False)
class ConfigData(ConfigObject):
    """The whole config.data: the cluster and every object keyed by uuid."""

    version: int | None = None
    cluster: Cluster | None = None
    nodes: dict[str, Node] | None = None
    nodegroups: dict[str, NodeGroup] | None = None
    instances: dict[str, Instance] | None = None
    networks: dict[str, Network] | None = None
    disks: dict[str, Disk] | None = None
    filters: dict[str, FilterRule] | None = None
    ctime: float | None = None
    mtime: float | None = None
    serial_no: int | None = None

    def UpgradeConfig(self) -> None:
        self._SetDefaults(nodes={}, nodegroups={}, instances={}, networks={},
                          disks={}, filters={}, serial_no=1)
        ConfigObject.UpgradeConfig(self)


ConfigData._NESTED = {
    "cluster": (_ONE, Cluster),
    "nodes": (_DICT, Node),
    "nodegroups": (_DICT, NodeGroup),
    "instances": (_DICT, Instance),
    "networks": (_DICT, Network),
    "disks": (_DICT, Disk),
    "filters": (_DICT, FilterRule),
}
