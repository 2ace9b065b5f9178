"""The configuration writer: owner of config.data on the master.

Mirrors Ganeti's lib/config (ConfigWriter). masterd holds exactly one
ConfigWriter; every read and change of the cluster configuration goes
through it. All public methods run under one internal re-entrant lock, so
the writer can be shared by the job-executing threads.

Objects returned by the Get*Info methods are the writer's own objects, not
copies: a logical unit changes one and then calls Update(obj), which bumps
the object's serial_no and mtime, the configuration's serial_no and mtime,
and saves. Changes not followed by Update (or another saving method) are
lost at the next restart and not distributed.

Every save writes the whole file atomically (mode 0640, compact JSON as
Ganeti 3.0's wconfd) and then calls the save hook with the file name, which
masterd uses to copy the file to the master candidates.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid as uuid_module
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ganeti import constants, errors, objects, pathutils, serializer
from ganeti.config import ssconfvalues, verify
from ganeti.config.load import (  # noqa: F401  (public names of this package)
    FIRST_DRBD_PORT,
    LAST_DRBD_PORT,
    LoadConfigData,
    LoadedConfig,
    MakeMinimalConfig,
    _MatchNameComponent,
)
from ganeti.utils import io

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])

CONFIG_FILE_MODE = 0o640


def _Locked(fn: _F) -> _F:
    """Run the method under the writer's lock."""

    @functools.wraps(fn)
    def _Wrapper(self: ConfigWriter, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self, *args, **kwargs)

    return _Wrapper  # type: ignore[return-value]


class ConfigWriter:
    """Thread-safe owner of the cluster configuration (see module doc)."""

    def __init__(self, cfg_file: str | None = None, offline: bool = False,
                 _save_hook: Callable[[str], None] | None = None,
                 _time_fn: Callable[[], float] = time.time,
                 _data: objects.ConfigData | None = None) -> None:
        """Load the configuration.

        Args:
          cfg_file: the config.data path (default pathutils.CLUSTER_CONF_FILE).
          offline: never call the save hook (tools working on a stopped
            cluster, tests).
          _save_hook: called with the file name after every save.
          _time_fn: clock used for mtime/ctime (test seam).
          _data: use this configuration instead of reading cfg_file (it is
            written on the first save).

        Raises:
          errors.ConfigurationError, errors.ConfigVersionMismatch: see
            LoadConfigData.
        """
        self._lock = threading.RLock()
        self._cfg_file = cfg_file or pathutils.CLUSTER_CONF_FILE
        self._offline = offline
        self._save_hook = _save_hook
        self._time_fn = _time_fn
        if _data is not None:
            _data.UpgradeConfig()
        data = _data if _data is not None else LoadConfigData(self._cfg_file)
        # After UpgradeConfig every container is set (see LoadedConfig).
        self._config_data = cast(LoadedConfig, data)
        # What is on disk: a failed save restores it (see _WriteConfig).
        self._saved = serializer.DumpJson(data.ToDict(), compact=True)
        self._name_index: dict[str, dict[str, str]] = {}
        self._RebuildMembers()

    # --- internals ---------------------------------------------------------

    def _RebuildMembers(self) -> None:
        """Recompute the runtime NodeGroup.members lists from the nodes."""
        for group in self._config_data.nodegroups.values():
            group.members = []
        for node in self._config_data.nodes.values():
            group = self._config_data.nodegroups.get(node.group)
            if group is not None:
                group.members.append(node.uuid)

    def _LookupByName(self, kind: str, container: dict[str, Any],
                      name: str) -> Any:
        """Find an object by name through a lazily rebuilt name index."""
        index = self._name_index.get(kind)
        obj_uuid = index.get(name) if index is not None else None
        obj = container.get(obj_uuid) if obj_uuid is not None else None
        if obj is not None and obj.name == name:
            return obj
        # Missing or stale (an object was added or renamed): rebuild once.
        index = {item.name: key for key, item in container.items()}
        self._name_index[kind] = index
        obj_uuid = index.get(name)
        return container.get(obj_uuid) if obj_uuid is not None else None

    def _Now(self) -> float:
        return self._time_fn()

    def _Stamp(self, obj: Any, now: float) -> None:
        """Give a new object its initial serial number and timestamps."""
        obj.serial_no = 1
        obj.ctime = obj.mtime = now

    @staticmethod
    def _BumpObject(obj: Any, now: float) -> None:
        obj.serial_no = (obj.serial_no or 0) + 1
        obj.mtime = now

    def _BumpCluster(self, now: float) -> None:
        self._BumpObject(self._config_data.cluster, now)

    def _WriteConfig(self, feedback_fn: Callable[[str], None] | None = None,
                     now: float | None = None) -> None:
        """Bump the config's serial number and save it (see module doc).

        Args:
          feedback_fn: told about a failed distribution.
          now: the change's timestamp (one clock reading per change).

        Raises:
          errors.ConfigurationError: the file could not be written; the
            in-memory configuration is reset to what is on disk, so no
            half-done change survives (objects read before stay stale, and
            Update refuses them).
        """
        data = self._config_data
        data.serial_no = (data.serial_no or 0) + 1
        data.mtime = self._Now() if now is None else now
        text = serializer.DumpJson(data.ToDict(), compact=True)
        try:
            io.WriteFile(self._cfg_file, text, mode=CONFIG_FILE_MODE)
        except OSError as err:
            restored = objects.ConfigData.FromDict(serializer.LoadJson(self._saved))
            restored.UpgradeConfig()
            self._config_data = cast(LoadedConfig, restored)
            self._RebuildMembers()
            raise errors.ConfigurationError(
                f"Cannot write config file {self._cfg_file}: {err}; the change"
                " was not applied") from err
        self._saved = text
        if self._offline or self._save_hook is None:
            return
        try:
            self._save_hook(self._cfg_file)
        except (errors.GenericError, OSError) as err:
            # As in Ganeti, a failed distribution does not undo the change.
            logger.warning("Distributing %s failed: %s", self._cfg_file, err)
            if feedback_fn is not None:
                feedback_fn(f"Copy of file {self._cfg_file} failed: {err}")

    @_Locked
    def Save(self, feedback_fn: Callable[[str], None] | None = None) -> None:
        """Write the configuration now (the serial number is bumped)."""
        self._WriteConfig(feedback_fn)

    def GetConfigFileName(self) -> str:
        """The path of the config.data file this writer saves to."""
        return self._cfg_file

    @_Locked
    def GetConfigData(self) -> objects.ConfigData:
        """Return the whole configuration object (the writer's own)."""
        return cast(objects.ConfigData, self._config_data)

    @_Locked
    def VerifyConfig(self) -> list[str]:
        """Return a list of consistency problems (empty if none)."""
        return verify.VerifyConfigData(self._config_data)

    @_Locked
    def GetConfigSerialNo(self) -> int:
        return self._config_data.serial_no

    @staticmethod
    def GenerateUniqueID(ec_id: Any = None) -> str:
        """Return a new random UUID string."""
        return str(uuid_module.uuid4())

    # --- cluster -----------------------------------------------------------------

    @_Locked
    def GetClusterInfo(self) -> objects.Cluster:
        return self._config_data.cluster

    @_Locked
    def GetClusterName(self) -> str:
        return self._config_data.cluster.cluster_name

    @_Locked
    def GetMasterNode(self) -> str:
        """Return the master node's uuid."""
        return self._config_data.cluster.master_node

    @_Locked
    def GetMasterNodeName(self) -> str:
        return self.GetNodeName(self._config_data.cluster.master_node)

    @_Locked
    def GetMasterNodeInfo(self) -> objects.Node:
        return self.GetNodeInfo(self._config_data.cluster.master_node)

    @_Locked
    def GetMasterCandidateStats(self, exceptions: list[str] | None = None,
                                ) -> tuple[int, int, int]:
        """Return (candidates now, candidates wanted, possible candidates).

        Args:
          exceptions: node uuids to leave out of the count.
        """
        now = possible = 0
        for node in self._config_data.nodes.values():
            if exceptions and node.uuid in exceptions:
                continue
            if not (node.offline or node.drained) and node.master_capable:
                possible += 1
            if node.master_candidate:
                now += 1
        wanted = min(possible, self._config_data.cluster.candidate_pool_size)
        return now, wanted, possible

    @_Locked
    def AddNodeToCandidateCerts(self, node_uuid: str, digest: str) -> None:
        """Record a candidate's client certificate digest (not saved)."""
        self._config_data.cluster.candidate_certs[node_uuid] = digest

    @_Locked
    def RemoveNodeFromCandidateCerts(self, node_uuid: str) -> None:
        """Forget a node's certificate digest (not saved)."""
        self._config_data.cluster.candidate_certs.pop(node_uuid, None)

    # --- nodes --------------------------------------------------------------------

    @_Locked
    def GetNodeInfo(self, node_uuid: str) -> objects.Node | None:
        return self._config_data.nodes.get(node_uuid)

    @_Locked
    def GetNodeInfoByName(self, node_name: str) -> objects.Node | None:
        return self._LookupByName("node", self._config_data.nodes, node_name)

    @_Locked
    def GetNodeName(self, node_spec: str | objects.Node) -> str:
        """Return the name of a node given by uuid (or as object).

        Raises:
          errors.OpExecError: unknown node.
        """
        if isinstance(node_spec, objects.Node):
            return node_spec.name
        node = self._config_data.nodes.get(node_spec)
        if node is None:
            raise errors.OpExecError(f"Unknown node: {node_spec}")
        return node.name

    @_Locked
    def GetNodeNames(self, node_specs: list[str | objects.Node]) -> list[str]:
        return [self.GetNodeName(spec) for spec in node_specs]

    @_Locked
    def ExpandNodeName(self, short_name: str) -> str | None:
        """Return the full name of a node given a unique prefix component."""
        names = [node.name for node in self._config_data.nodes.values()]
        return _MatchNameComponent(short_name, names)

    @_Locked
    def GetAllNodesInfo(self) -> dict[str, objects.Node]:
        """Return uuid -> node for all nodes (a new dict of own objects)."""
        return dict(self._config_data.nodes)

    @_Locked
    def GetNodeList(self) -> list[str]:
        return list(self._config_data.nodes)

    @_Locked
    def GetOnlineNodeList(self) -> list[str]:
        return [uuid for uuid, node in self._config_data.nodes.items()
                if not node.offline]

    @_Locked
    def GetVmCapableNodeList(self) -> list[str]:
        return [uuid for uuid, node in self._config_data.nodes.items()
                if node.vm_capable]

    @_Locked
    def GetNonVmCapableNodeList(self) -> list[str]:
        return [uuid for uuid, node in self._config_data.nodes.items()
                if not node.vm_capable]

    @_Locked
    def GetNodeInstances(self, node_uuid: str) -> tuple[list[str], list[str]]:
        """Return (primary, secondary) instance uuids of a node."""
        primary, secondary = [], []
        for inst in self._config_data.instances.values():
            if inst.primary_node == node_uuid:
                primary.append(inst.uuid)
            elif node_uuid in self._InstanceNodes(inst):
                secondary.append(inst.uuid)
        return primary, secondary

    @_Locked
    def AddNode(self, node: objects.Node, ec_id: Any = None) -> None:
        """Add a node to the configuration and to its node group, and save.

        node.group may be a group uuid, a group name or None (the only group).

        Raises:
          errors.ConfigurationError: the uuid or name is already in use.
          errors.OpPrereqError: the group does not exist or is ambiguous.
        """
        data = self._config_data
        if node.uuid is None:
            node.uuid = self.GenerateUniqueID(ec_id)
        if node.uuid in data.nodes:
            raise errors.ConfigurationError(
                f"Cannot add node {node.name}: UUID {node.uuid} already in use")
        if self.GetNodeInfoByName(node.name) is not None:
            raise errors.ConfigurationError(f"Node {node.name} is already in the"
                                            " configuration")
        node.group = self.LookupNodeGroup(node.group)
        node.UpgradeConfig()
        now = self._Now()
        self._Stamp(node, now)
        data.nodes[node.uuid] = node
        data.nodegroups[node.group].members.append(node.uuid)
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    @_Locked
    def RemoveNode(self, node_uuid: str) -> None:
        """Remove a node from the configuration and its group, and save.

        Raises:
          errors.ConfigurationError: unknown node.
        """
        node = self._config_data.nodes.pop(node_uuid, None)
        if node is None:
            raise errors.ConfigurationError(f"Unknown node {node_uuid!r}")
        group = self._config_data.nodegroups.get(node.group)
        if group is not None and node_uuid in group.members:
            group.members.remove(node_uuid)
        now = self._Now()
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    # --- node groups -----------------------------------------------------------------

    @_Locked
    def GetNodeGroup(self, group_uuid: str) -> objects.NodeGroup | None:
        return self._config_data.nodegroups.get(group_uuid)

    @_Locked
    def GetAllNodeGroupsInfo(self) -> dict[str, objects.NodeGroup]:
        return dict(self._config_data.nodegroups)

    @_Locked
    def GetNodeGroupList(self) -> list[str]:
        return list(self._config_data.nodegroups)

    @_Locked
    def LookupNodeGroup(self, target: str | None) -> str:
        """Return the uuid of a node group given by name or uuid.

        Args:
          target: group name or uuid; None means the only group.

        Raises:
          errors.OpPrereqError: no such group, or None with several groups.
        """
        groups = self._config_data.nodegroups
        if target is None:
            if len(groups) != 1:
                raise errors.OpPrereqError(
                    "More than one node group exists; the target group must be"
                    " given explicitly", errors.ECODE_INVAL)
            return next(iter(groups))
        if target in groups:
            return target
        group = self._LookupByName("group", groups, target)
        if group is None:
            raise errors.OpPrereqError(f"Node group {target!r} not found",
                                       errors.ECODE_NOENT)
        return group.uuid

    @_Locked
    def AddNodeGroup(self, group: objects.NodeGroup, ec_id: Any = None,
                     check_uuid: bool = True) -> None:
        """Add a node group and save.

        Args:
          check_uuid: give the group a uuid if it has none and refuse one
            already in use.

        Raises:
          errors.OpPrereqError: the name is already used (ECODE_EXISTS).
          errors.ConfigurationError: the uuid is already used.
        """
        groups = self._config_data.nodegroups
        if self._LookupByName("group", groups, group.name) is not None:
            raise errors.OpPrereqError(
                f"Desired group name {group.name!r} already exists",
                errors.ECODE_EXISTS)
        if check_uuid:
            if group.uuid is None:
                group.uuid = self.GenerateUniqueID(ec_id)
            if group.uuid in groups:
                raise errors.ConfigurationError(
                    f"Cannot add group {group.name}: UUID {group.uuid} already in"
                    " use")
        group.UpgradeConfig()
        group.members = []
        now = self._Now()
        self._Stamp(group, now)
        groups[group.uuid] = group
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    @_Locked
    def RemoveNodeGroup(self, group_uuid: str) -> None:
        """Remove an empty node group and save.

        Raises:
          errors.ConfigurationError: unknown group, or it still has nodes.
        """
        group = self._config_data.nodegroups.get(group_uuid)
        if group is None:
            raise errors.ConfigurationError(f"Unknown node group {group_uuid!r}")
        if group.members:
            raise errors.ConfigurationError(
                f"Node group {group.name} still has nodes")
        del self._config_data.nodegroups[group_uuid]
        now = self._Now()
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    # --- instances and disks --------------------------------------------------------

    @_Locked
    def GetInstanceInfo(self, inst_uuid: str) -> objects.Instance | None:
        return self._config_data.instances.get(inst_uuid)

    @_Locked
    def GetInstanceInfoByName(self, inst_name: str) -> objects.Instance | None:
        return self._LookupByName("instance", self._config_data.instances,
                                  inst_name)

    @_Locked
    def ExpandInstanceName(self, short_name: str) -> str | None:
        names = [inst.name for inst in self._config_data.instances.values()]
        return _MatchNameComponent(short_name, names)

    @_Locked
    def GetAllInstancesInfo(self) -> dict[str, objects.Instance]:
        return dict(self._config_data.instances)

    @_Locked
    def GetInstanceList(self) -> list[str]:
        return list(self._config_data.instances)

    @_Locked
    def GetInstanceNames(self, inst_uuids: list[str]) -> list[str]:
        """Return the names of instances given by uuid.

        Raises:
          errors.OpExecError: an unknown instance.
        """
        names = []
        for inst_uuid in inst_uuids:
            inst = self._config_data.instances.get(inst_uuid)
            if inst is None:
                raise errors.OpExecError(f"Unknown instance: {inst_uuid}")
            names.append(inst.name)
        return names

    @_Locked
    def GetDiskInfo(self, disk_uuid: str) -> objects.Disk | None:
        return self._config_data.disks.get(disk_uuid)

    @_Locked
    def GetAllDisksInfo(self) -> dict[str, objects.Disk]:
        return dict(self._config_data.disks)

    def _InstanceDisks(self, inst: objects.Instance) -> list[objects.Disk]:
        disks = self._config_data.disks
        return [disks[uuid] for uuid in inst.disks or () if uuid in disks]

    def _InstanceNodes(self, inst: objects.Instance) -> list[str]:
        nodes = [inst.primary_node]
        for disk in self._InstanceDisks(inst):
            nodes += [node for node in disk.nodes or () if node not in nodes]
        return nodes

    def _GetInstance(self, inst_uuid: str) -> objects.Instance:
        inst = self._config_data.instances.get(inst_uuid)
        if inst is None:
            raise errors.ConfigurationError(f"Unknown instance {inst_uuid!r}")
        return inst

    @_Locked
    def GetInstanceDisks(self, inst_uuid: str) -> list[objects.Disk]:
        """Return the instance's disks in order.

        Raises:
          errors.ConfigurationError: unknown instance.
        """
        return self._InstanceDisks(self._GetInstance(inst_uuid))

    @_Locked
    def GetInstanceDiskTemplate(self, inst_uuid: str) -> str:
        """Return the instance's disk template, derived from its disks."""
        return objects.GetDiskTemplate(self.GetInstanceDisks(inst_uuid))

    @_Locked
    def GetInstanceNodes(self, inst_uuid: str) -> list[str]:
        """Return the primary node followed by the secondary nodes."""
        return self._InstanceNodes(self._GetInstance(inst_uuid))

    @_Locked
    def GetInstanceSecondaryNodes(self, inst_uuid: str) -> list[str]:
        return self.GetInstanceNodes(inst_uuid)[1:]

    @_Locked
    def AddInstance(self, instance: objects.Instance, ec_id: Any = None) -> None:
        """Add an instance and save. Its disks are added by AddInstanceDisk.

        Raises:
          errors.ConfigurationError: name, uuid or a MAC already in use, or
            a listed disk is unknown.
        """
        data = self._config_data
        if instance.uuid is None:
            instance.uuid = self.GenerateUniqueID(ec_id)
        if instance.uuid in data.instances:
            raise errors.ConfigurationError(
                f"Cannot add instance {instance.name}: UUID {instance.uuid} in use")
        if self.GetInstanceInfoByName(instance.name) is not None:
            raise errors.ConfigurationError(
                f"Instance {instance.name} is already in the configuration")
        used_macs = self._UsedMacs()
        for nic in instance.nics or ():
            if nic.mac in used_macs:
                raise errors.ConfigurationError(
                    f"Cannot add instance {instance.name}: MAC {nic.mac} in use")
        for disk_uuid in instance.disks or ():
            if disk_uuid not in data.disks:
                raise errors.ConfigurationError(
                    f"Cannot add instance {instance.name}: unknown disk {disk_uuid}")
        instance.UpgradeConfig()
        now = self._Now()
        self._Stamp(instance, now)
        data.instances[instance.uuid] = instance
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    def _UsedMacs(self) -> set[str]:
        return {nic.mac for inst in self._config_data.instances.values()
                for nic in inst.nics or ()}

    @_Locked
    def RemoveInstance(self, inst_uuid: str) -> None:
        """Remove an instance and its disks from the configuration, and save."""
        inst = self._GetInstance(inst_uuid)
        for disk_uuid in inst.disks or ():
            self._config_data.disks.pop(disk_uuid, None)
        port = inst.network_port
        if port is not None:
            self._config_data.cluster.tcpudp_port_pool.append(port)
        del self._config_data.instances[inst_uuid]
        now = self._Now()
        self._BumpCluster(now)
        self._WriteConfig(now=now)

    @_Locked
    def AddInstanceDisk(self, inst_uuid: str, disk: objects.Disk,
                        idx: int | None = None) -> None:
        """Add a disk to the configuration, attach it to an instance, and save.

        Args:
          idx: position among the instance's disks (default: last).

        Raises:
          errors.ConfigurationError: unknown instance or uuid in use.
        """
        inst = self._GetInstance(inst_uuid)
        if disk.uuid is None:
            disk.uuid = self.GenerateUniqueID()
        if disk.uuid in self._config_data.disks:
            raise errors.ConfigurationError(f"Disk UUID {disk.uuid} already in use")
        disk.UpgradeConfig()
        now = self._Now()
        self._Stamp(disk, now)
        self._config_data.disks[disk.uuid] = disk
        inst.disks.insert(len(inst.disks) if idx is None else idx, disk.uuid)
        self._BumpObject(inst, now)
        self._WriteConfig(now=now)

    @_Locked
    def RemoveInstanceDisk(self, inst_uuid: str, disk_uuid: str) -> None:
        """Detach a disk from an instance, delete it from the config, and save."""
        inst = self._GetInstance(inst_uuid)
        if disk_uuid not in inst.disks:
            raise errors.ConfigurationError(
                f"Disk {disk_uuid} is not attached to instance {inst.name}")
        inst.disks.remove(disk_uuid)
        self._config_data.disks.pop(disk_uuid, None)
        now = self._Now()
        self._BumpObject(inst, now)
        self._WriteConfig(now=now)

    def _SetInstanceStatus(self, inst_uuid: str, status: str | None,
                           disks_active: bool | None,
                           admin_state_source: str | None) -> None:
        inst = self._GetInstance(inst_uuid)
        changed = False
        for name, value in (("admin_state", status), ("disks_active", disks_active),
                            ("admin_state_source", admin_state_source)):
            if value is not None and getattr(inst, name) != value:
                setattr(inst, name, value)
                changed = True
        if changed:
            now = self._Now()
            self._BumpObject(inst, now)
            self._WriteConfig(now=now)

    @_Locked
    def MarkInstanceUp(self, inst_uuid: str) -> None:
        """Set admin_state up (disks active) and save if it changed."""
        self._SetInstanceStatus(inst_uuid, constants.ADMINST_UP, True,
                                constants.ADMIN_SOURCE)

    @_Locked
    def MarkInstanceDown(self, inst_uuid: str) -> None:
        """Set admin_state down and save if it changed."""
        self._SetInstanceStatus(inst_uuid, constants.ADMINST_DOWN, None,
                                constants.ADMIN_SOURCE)

    @_Locked
    def MarkInstanceOffline(self, inst_uuid: str) -> None:
        self._SetInstanceStatus(inst_uuid, constants.ADMINST_OFFLINE, False,
                                constants.ADMIN_SOURCE)

    @_Locked
    def MarkInstanceDisksActive(self, inst_uuid: str) -> None:
        self._SetInstanceStatus(inst_uuid, None, True, None)

    @_Locked
    def MarkInstanceDisksInactive(self, inst_uuid: str) -> None:
        self._SetInstanceStatus(inst_uuid, None, False, None)

    @_Locked
    def GenerateMAC(self, net_uuid: str | None = None, ec_id: Any = None) -> str:
        """Return a MAC address not used by any NIC, with the cluster's prefix.

        Raises:
          errors.AddressPoolError: no free address found.
        """
        prefix = self._config_data.cluster.mac_prefix
        network = self._config_data.networks.get(net_uuid) if net_uuid else None
        if network is not None and network.mac_prefix:
            prefix = network.mac_prefix
        used = self._UsedMacs()
        for _ in range(64):
            suffix = uuid_module.uuid4().bytes[:3]
            mac = prefix + "".join(f":{byte:02x}" for byte in suffix)
            if mac not in used:
                return mac
        raise errors.AddressPoolError("Cannot generate a unique MAC address")

    @_Locked
    def AllocatePort(self) -> int:
        """Take a TCP/UDP port from the pool (or the next unused one) and save.

        Raises:
          errors.ConfigurationError: all ports up to 14999 are in use.
        """
        cluster = self._config_data.cluster
        if cluster.tcpudp_port_pool:
            port = cluster.tcpudp_port_pool.pop(0)
        else:
            port = (cluster.highest_used_port or FIRST_DRBD_PORT - 1) + 1
            if port > LAST_DRBD_PORT:
                raise errors.ConfigurationError(
                    f"The highest used port is above {LAST_DRBD_PORT}")
            cluster.highest_used_port = port
        now = self._Now()
        self._BumpCluster(now)
        self._WriteConfig(now=now)
        return port

    # --- networks ---------------------------------------------------------------------

    @_Locked
    def GetNetwork(self, net_uuid: str) -> objects.Network | None:
        return self._config_data.networks.get(net_uuid)

    @_Locked
    def GetAllNetworksInfo(self) -> dict[str, objects.Network]:
        return dict(self._config_data.networks)

    @_Locked
    def LookupNetwork(self, target: str | None) -> str | None:
        """Return the uuid of a network given by name or uuid (None for None).

        Raises:
          errors.OpPrereqError: no such network (ECODE_NOENT).
        """
        if target is None:
            return None
        if target in self._config_data.networks:
            return target
        net = self._LookupByName("network", self._config_data.networks, target)
        if net is None:
            raise errors.OpPrereqError(f"Network {target!r} not found",
                                       errors.ECODE_NOENT)
        return net.uuid

    # --- updates and ssconf -----------------------------------------------------------

    def _IsOwnObject(self, target: Any) -> bool:
        data = self._config_data
        containers = {
            objects.Node: data.nodes, objects.NodeGroup: data.nodegroups,
            objects.Instance: data.instances, objects.Disk: data.disks,
            objects.Network: data.networks, objects.FilterRule: data.filters,
        }
        if isinstance(target, objects.Cluster):
            return target is data.cluster
        container = containers.get(type(target))
        return container is not None and container.get(target.uuid) is target

    @_Locked
    def Update(self, target: objects.ConfigObject,
               feedback_fn: Callable[[str], None] | None = None) -> None:
        """Record a change of one of the writer's own objects and save.

        Bumps the target's serial_no and mtime, then the configuration's.

        Raises:
          errors.ConfigurationError: target is not one of this writer's
            objects (e.g. a copy, or an object removed meanwhile); nothing is
            saved then.
        """
        if not self._IsOwnObject(target):
            raise errors.ConfigurationError(
                "Configuration updated since object has been read or unknown"
                f" object: {type(target).__name__} {getattr(target, 'uuid', None)}")
        now = self._Now()
        self._BumpObject(target, now)
        if isinstance(target, objects.Node):
            # As Ganeti: node changes alter the ssconf node lists, which
            # follow the cluster's serial number.
            self._BumpCluster(now)
            self._RebuildMembers()  # the node's group may have changed
        self._WriteConfig(feedback_fn, now=now)

    @_Locked
    def GetSsconfValues(self) -> dict[str, str]:
        """Return the content of every ssconf file (without final newline)."""
        return ssconfvalues.ComputeSsconfValues(self._config_data)
