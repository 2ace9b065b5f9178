"""Consistency checks of a whole configuration (ConfigWriter.VerifyConfig).

Each check returns human-readable problem descriptions; an empty list means
the configuration is consistent. The checks are the ones Ganeti's
ConfigWriter._UnlockedVerifyConfig makes that matter for this project:
dangling references between objects, duplicate names, MACs and ports, the
master's role, and parameter types.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ganeti import constants, defaults, errors, objects
from ganeti.config.load import LoadedConfig

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_MAC_PREFIX_RE = re.compile(r"^([0-9a-f]{2}:){2}[0-9a-f]{2}$")


def _Duplicates(values: Iterable[Any]) -> list[Any]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _CheckKeys(kind: str, container: dict[str, Any]) -> list[str]:
    """Every object must be stored under its own uuid."""
    return [f"{kind} stored under key {key!r} has uuid {obj.uuid!r}"
            for key, obj in container.items() if obj.uuid != key]


def _CheckParams(owner: str, params: dict[str, Any] | None,
                 key_types: dict[str, str]) -> list[str]:
    if not params:
        return []
    try:
        defaults.ForceDictType(copy.deepcopy(params), key_types)
    except errors.TypeEnforcementError as err:
        return [f"{owner} has invalid parameters: {err}"]
    return []


def _CheckCluster(data: LoadedConfig) -> list[str]:
    cluster = data.cluster
    problems = []
    master = data.nodes.get(cluster.master_node)
    if master is None:
        problems.append(f"cluster has invalid master node {cluster.master_node!r}")
    elif not master.master_candidate:
        problems.append(f"the master node {master.name} is not a master candidate")
    if not isinstance(cluster.candidate_pool_size, int) or \
            cluster.candidate_pool_size < 1:
        problems.append(
            f"cluster has invalid candidate_pool_size {cluster.candidate_pool_size!r}"
            " (must be at least 1)")
    if not cluster.enabled_hypervisors:
        problems.append("cluster has no enabled hypervisors")
    for hv in cluster.enabled_hypervisors or ():
        if hv not in constants.HYPER_TYPES:
            problems.append(f"cluster has unknown enabled hypervisor {hv!r}")
    for template in cluster.enabled_disk_templates or ():
        if template not in constants.DISK_TEMPLATES:
            problems.append(f"cluster has unknown enabled disk template {template!r}")
    if cluster.mac_prefix is not None and not _MAC_PREFIX_RE.match(cluster.mac_prefix):
        problems.append(f"cluster has invalid mac_prefix {cluster.mac_prefix!r}")
    if cluster.primary_ip_family not in (constants.IP4_FAMILY, constants.IP6_FAMILY):
        problems.append(
            f"cluster has invalid primary_ip_family {cluster.primary_ip_family!r}")
    problems += _CheckParams("cluster", (cluster.beparams or {}).get(
        constants.PP_DEFAULT), defaults.BES_PARAMETER_COMPAT)
    problems += _CheckParams("cluster", cluster.ndparams, defaults.NDS_PARAMETER_TYPES)
    problems += _CheckParams("cluster", (cluster.nicparams or {}).get(
        constants.PP_DEFAULT), defaults.NICS_PARAMETER_TYPES)
    for node_uuid in cluster.candidate_certs or {}:
        if node_uuid not in data.nodes:
            problems.append(f"candidate certificate of unknown node {node_uuid!r}")
    return problems


def _CheckNodes(data: LoadedConfig) -> list[str]:
    problems = _CheckKeys("node", data.nodes)
    for node in data.nodes.values():
        if not node.name:
            problems.append(f"node {node.uuid} has no name")
        if not node.primary_ip:
            problems.append(f"node {node.name} has no primary IP")
        if node.group not in data.nodegroups:
            problems.append(f"node {node.name} has invalid node group {node.group!r}")
        flags = [flag for flag in ("offline", "drained") if getattr(node, flag)]
        if node.master_candidate and flags:
            problems.append(f"node {node.name} is master candidate and"
                            f" {' and '.join(flags)}")
        if len(flags) > 1:
            problems.append(f"node {node.name} is both offline and drained")
        problems += _CheckParams(f"node {node.name}", node.ndparams,
                                 defaults.NDS_PARAMETER_TYPES)
    problems += [f"duplicate node name {name!r}"
                 for name in _Duplicates(n.name for n in data.nodes.values())]
    return problems


def _CheckGroups(data: LoadedConfig) -> list[str]:
    problems = _CheckKeys("node group", data.nodegroups)
    for group in data.nodegroups.values():
        if not group.name:
            problems.append(f"node group {group.uuid} has no name")
        if group.alloc_policy not in constants.VALID_ALLOC_POLICIES:
            problems.append(f"node group {group.name} has invalid allocation"
                            f" policy {group.alloc_policy!r}")
        for net_uuid in group.networks or {}:
            if net_uuid not in data.networks:
                problems.append(f"node group {group.name} is connected to unknown"
                                f" network {net_uuid!r}")
        problems += _CheckParams(f"node group {group.name}", group.ndparams,
                                 defaults.NDS_PARAMETER_TYPES)
    problems += [f"duplicate node group name {name!r}"
                 for name in _Duplicates(g.name for g in data.nodegroups.values())]
    return problems


def _CheckInstanceNics(data: LoadedConfig,
                       instance: objects.Instance) -> list[str]:
    problems = []
    for idx, nic in enumerate(instance.nics or ()):
        if not isinstance(nic.mac, str) or not _MAC_RE.match(nic.mac):
            problems.append(f"instance {instance.name} has invalid MAC address"
                            f" {nic.mac!r} on nic/{idx}")
        if nic.network is not None and nic.network not in data.networks:
            problems.append(f"instance {instance.name} nic/{idx} is connected to"
                            f" unknown network {nic.network!r}")
        mode = (nic.nicparams or {}).get(defaults.NIC_MODE)
        if mode is not None and mode not in constants.NIC_VALID_MODES:
            problems.append(f"instance {instance.name} nic/{idx} has invalid mode"
                            f" {mode!r}")
    return problems


def _CheckInstanceDisks(data: LoadedConfig,
                        instance: objects.Instance) -> list[str]:
    problems = []
    disks = []
    for disk_uuid in instance.disks or ():
        disk = data.disks.get(disk_uuid) if isinstance(disk_uuid, str) else None
        if disk is None:
            problems.append(f"instance {instance.name} has missing disk {disk_uuid!r}")
        else:
            disks.append(disk)
    if objects.GetDiskTemplate(disks) == objects.DT_MIXED:
        problems.append(f"instance {instance.name} has disks of different types")
    return problems


def _CheckInstances(data: LoadedConfig) -> list[str]:
    problems = _CheckKeys("instance", data.instances)
    for inst in data.instances.values():
        if not inst.name:
            problems.append(f"instance {inst.uuid} has no name")
        if inst.primary_node not in data.nodes:
            problems.append(f"instance {inst.name} has invalid primary node"
                            f" {inst.primary_node!r}")
        if inst.admin_state not in constants.ADMINST_ALL:
            problems.append(f"instance {inst.name} has invalid admin_state"
                            f" {inst.admin_state!r}")
        if inst.hypervisor not in constants.HYPER_TYPES:
            problems.append(f"instance {inst.name} has unknown hypervisor"
                            f" {inst.hypervisor!r}")
        problems += _CheckInstanceNics(data, inst)
        problems += _CheckInstanceDisks(data, inst)
        problems += _CheckParams(f"instance {inst.name}", inst.beparams,
                                 defaults.BES_PARAMETER_COMPAT)
    instances = data.instances.values()
    problems += [f"duplicate instance name {name!r}"
                 for name in _Duplicates(i.name for i in instances)]
    macs = [nic.mac for inst in instances for nic in inst.nics or ()]
    problems += [f"duplicate MAC address {mac!r}" for mac in _Duplicates(macs)]
    disk_users = [d for inst in instances for d in inst.disks or ()
                  if isinstance(d, str)]
    problems += [f"disk {disk!r} is used by more than one instance"
                 for disk in _Duplicates(disk_users)]
    return problems


def _CheckDisk(data: LoadedConfig, disk: objects.Disk, owner: str) -> list[str]:
    problems = []
    if disk.dev_type not in constants.DISK_TEMPLATES:
        problems.append(f"{owner} has invalid dev_type {disk.dev_type!r}")
    if not isinstance(disk.logical_id, list):
        problems.append(f"{owner} has invalid logical_id {disk.logical_id!r}")
    if disk.mode not in (constants.DISK_RDWR, constants.DISK_RDONLY):
        problems.append(f"{owner} has invalid mode {disk.mode!r}")
    for node_uuid in disk.nodes or ():
        if node_uuid not in data.nodes:
            problems.append(f"{owner} is on unknown node {node_uuid!r}")
    for idx, child in enumerate(disk.children or ()):
        problems += _CheckDisk(data, child, f"{owner} child {idx}")
    return problems


def _CheckDisks(data: LoadedConfig) -> list[str]:
    problems = _CheckKeys("disk", data.disks)
    used = {d for inst in data.instances.values() for d in inst.disks or ()
            if isinstance(d, str)}
    for disk_uuid, disk in data.disks.items():
        problems += _CheckDisk(data, disk, f"disk {disk_uuid}")
        if disk_uuid not in used:
            problems.append(f"disk {disk_uuid} is not attached to any instance")
    return problems


def _CheckNetworksAndPorts(data: LoadedConfig) -> list[str]:
    problems = _CheckKeys("network", data.networks)
    problems += [f"duplicate network name {name!r}"
                 for name in _Duplicates(n.name for n in data.networks.values())]
    ports = [inst.network_port for inst in data.instances.values()
             if inst.network_port is not None]
    problems += [f"network port {port} is used more than once"
                 for port in _Duplicates(ports)]
    pool = data.cluster.tcpudp_port_pool or []
    problems += [f"network port {port} is both in use and in the free port pool"
                 for port in sorted(set(ports) & set(pool))]
    highest = data.cluster.highest_used_port
    if isinstance(highest, int) and ports and max(ports) > highest:
        problems.append(f"highest used port {highest} is lower than port"
                        f" {max(ports)} in use")
    return problems


def VerifyConfigData(data: LoadedConfig) -> list[str]:
    """Return the list of problems of data (empty if it is consistent)."""
    if data.cluster is None:
        return ["the configuration has no cluster"]
    problems = []
    if data.version != constants.CONFIG_VERSION:
        problems.append(f"configuration version {data.version!r} is not"
                        f" {constants.CONFIG_VERSION}")
    for check in (_CheckCluster, _CheckNodes, _CheckGroups, _CheckInstances,
                  _CheckDisks, _CheckNetworksAndPorts):
        problems += check(data)
    return problems
