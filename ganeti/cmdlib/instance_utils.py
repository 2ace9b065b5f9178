"""Helpers shared by the instance logical units (Ganeti's instance_utils.py).

Mirrors lib/cmdlib/instance_utils.py and the parts of instance_storage.py
the create/remove/start/stop LUs need. Other instance LUs (owner "inst2":
set-params, migration, storage) import from here.

Design notes:

* Hook environments follow spec/hooks-and-os.md (GANETI_ prefix added by
  hooksmaster): OP_TARGET, INSTANCE_* with one block per NIC and disk, and
  INSTANCE_BE_*/INSTANCE_HV_* for every filled parameter.
* Disks are created before the instance is in the configuration (as Ganeti
  does), so CreateDisks works from Disk objects handed to it. A failed
  creation removes what it made, the file storage directory included:
  nothing is left behind (Ganeti leaves the empty directory).
* This tree's disks are diskless, file and sharedfile: every disk lives on
  the primary node only, so the node tree of a disk is [primary] (Ganeti's
  Disk.ComputeNodeTree for non-mirrored disks).
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import constants, defaults, errors, netutils, objects
from ganeti.utils.text import (
    CommaJoin,
    FormatUnit,
    MatchNameComponent,
    NormalizeAndValidateMac,
    ParseUnit,
)

logger = logging.getLogger(__name__)

#: Admin states accepted by CheckInstanceState (Ganeti's names).
INSTANCE_DOWN = [constants.ADMINST_DOWN]
INSTANCE_ONLINE = [constants.ADMINST_DOWN, constants.ADMINST_UP]
INSTANCE_NOT_RUNNING = [constants.ADMINST_DOWN, constants.ADMINST_OFFLINE]

#: Instance status values (Ganeti's INSTST_*).
INSTST_RUNNING = "running"
INSTST_ADMINDOWN = "ADMIN_down"
INSTST_ADMINOFFLINE = "ADMIN_offline"
INSTST_ERRORDOWN = "ERROR_down"

#: Opcode dict keys of disks and NICs (Ganeti's IDISK_*/INIC_*).
IDISK_SIZE, IDISK_MODE, IDISK_NAME, IDISK_VG = "size", "mode", "name", "vg"
IDISK_ADOPT, IDISK_SPINDLES, IDISK_METAVG = "adopt", "spindles", "metavg"
IDISK_PROVIDER = "provider"
IDISK_PARAMS = frozenset([IDISK_SIZE, IDISK_MODE, IDISK_NAME, IDISK_VG,
                          IDISK_ADOPT, IDISK_SPINDLES, IDISK_METAVG,
                          IDISK_PROVIDER, "access"])
INIC_MAC, INIC_IP, INIC_MODE, INIC_LINK = "mac", "ip", "mode", "link"
INIC_NAME, INIC_VLAN, INIC_BRIDGE, INIC_NETWORK = "name", "vlan", "bridge", "network"
VALUE_GENERATE = "generate"
NIC_IP_POOL = "pool"
FD_DEFAULT = "loop"

#: Templates whose disks are files under a storage directory.
DTS_FILEBASED = frozenset([constants.DT_FILE, constants.DT_SHARED_FILE,
                           constants.DT_GLUSTER])
#: Templates mirrored between two nodes (Ganeti's DTS_INT_MIRROR).
DTS_INT_MIRROR = frozenset([constants.DT_DRBD8])
#: Hypervisors needing a cluster-unique TCP port (VNC, SPICE).
HTS_REQ_PORT = frozenset([constants.HT_XEN_HVM, constants.HT_KVM])
#: DRBD metadata per disk, MiB (Ganeti's DRBD_META_SIZE).
DRBD_META_SIZE = 128

# Unique-name suffixes of the disk templates (Ganeti 3.0's
# _DISK_TEMPLATE_NAME_PREFIX): a file disk is <dir>/<uuid>.file.disk<N>.
_DISK_TEMPLATE_NAME_PREFIX = {
    constants.DT_PLAIN: "",
    constants.DT_RBD: ".rbd",
    constants.DT_EXT: ".ext",
    constants.DT_FILE: ".file",
    constants.DT_SHARED_FILE: ".sharedfile",
}

NicTuple = tuple[Any, ...]


# --- hook environment ----------------------------------------------------------


def _NetworkHooksDict(net: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The hook variables of a network (Ganeti's Network.HooksDict)."""
    result = {f"{prefix}NETWORK_NAME": net.get("name"),
              f"{prefix}NETWORK_UUID": net.get("uuid"),
              f"{prefix}NETWORK_TAGS": " ".join(net.get("tags") or [])}
    for key, var in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                     ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                     ("mac_prefix", "MAC_PREFIX")):
        if net.get(key):
            result[f"{prefix}NETWORK_{var}"] = net[key]
    return result


def _NicHookEnv(idx: int, nic: NicTuple) -> dict[str, Any]:
    name, uuid, ip, mac, mode, link, vlan, net, netinfo = nic
    env: dict[str, Any] = {}
    prefix = f"INSTANCE_NIC{idx}_"
    if name:
        env[f"{prefix}NAME"] = name
    env.update({f"{prefix}UUID": uuid, f"{prefix}IP": "" if ip is None else ip,
                f"{prefix}MAC": mac, f"{prefix}MODE": mode, f"{prefix}LINK": link,
                f"{prefix}VLAN": vlan})
    if netinfo:
        env.update(_NetworkHooksDict(netinfo, prefix))
    elif net:
        env[f"{prefix}NETWORK_NAME"] = net
    if mode in (constants.NIC_MODE_BRIDGED, constants.NIC_MODE_OVS):
        env[f"{prefix}BRIDGE"] = link
    return env


def BuildDiskLogicalIDEnv(idx: int, disk: objects.Disk) -> dict[str, Any]:
    """The hook variables describing a disk's logical id."""
    logical_id = list(disk.logical_id or [])
    env: dict[str, Any] = {}
    prefix = f"INSTANCE_DISK{idx}_"
    if disk.dev_type == constants.DT_PLAIN and len(logical_id) == 2:
        env = {f"{prefix}VG": logical_id[0], f"{prefix}ID": logical_id[1]}
    elif disk.dev_type == constants.DT_EXT and len(logical_id) == 2:
        env = {f"{prefix}PROVIDER": logical_id[0], f"{prefix}ID": logical_id[1]}
    elif len(logical_id) == 2 and disk.dev_type != constants.DT_DISKLESS:
        env = {f"{prefix}DRIVER": logical_id[0], f"{prefix}ID": logical_id[1]}
    env[f"{prefix}DEV_TYPE"] = disk.dev_type
    return env


def BuildDiskEnv(idx: int, disk: objects.Disk | dict[str, Any]) -> dict[str, Any]:
    """The hook variables of one disk (a Disk, or a ComputeDisks dict)."""
    env: dict[str, Any] = {}
    if isinstance(disk, dict):
        uuid, name = disk.get("uuid", ""), disk.get(IDISK_NAME, "")
        size, mode = disk.get(IDISK_SIZE, ""), disk.get(IDISK_MODE, "")
    else:
        uuid, name, size, mode = disk.uuid, disk.name, disk.size, disk.mode
        env.update(BuildDiskLogicalIDEnv(idx, disk))
    if name:
        env[f"INSTANCE_DISK{idx}_NAME"] = name
    env.update({f"INSTANCE_DISK{idx}_UUID": uuid, f"INSTANCE_DISK{idx}_SIZE": size,
                f"INSTANCE_DISK{idx}_MODE": mode})
    return env


def BuildInstanceHookEnv(name: str, primary_node_name: str,
                         secondary_node_names: list[str], os_type: str | None,
                         status: Any, minmem: Any, maxmem: Any, vcpus: Any,
                         nics: list[NicTuple], disk_template: str | None,
                         disks: list[Any], bep: dict[str, Any], hvp: dict[str, Any],
                         hypervisor_name: str | None,
                         tags: Iterable[str] | None) -> dict[str, Any]:
    """Build the instance hook variables (without the GANETI_ prefix).

    Args:
      nics: (name, uuid, ip, mac, mode, link, vlan, network, netinfo) per
        NIC, as NICListToTuple returns.
      disks: Disk objects or ComputeDisks dicts.
    """
    env: dict[str, Any] = {
        "OP_TARGET": name,
        "INSTANCE_NAME": name,
        "INSTANCE_PRIMARY": primary_node_name,
        "INSTANCE_SECONDARIES": " ".join(secondary_node_names),
        "INSTANCE_OS_TYPE": os_type,
        "INSTANCE_STATUS": status,
        "INSTANCE_MINMEM": minmem,
        "INSTANCE_MAXMEM": maxmem,
        # Deprecated in Ganeti, still set: the maximum memory.
        "INSTANCE_MEMORY": maxmem,
        "INSTANCE_VCPUS": vcpus,
        "INSTANCE_DISK_TEMPLATE": disk_template,
        "INSTANCE_HYPERVISOR": hypervisor_name,
    }
    for idx, nic in enumerate(nics or []):
        env.update(_NicHookEnv(idx, nic))
    env["INSTANCE_NIC_COUNT"] = len(nics or [])
    for idx, disk in enumerate(disks or []):
        env.update(BuildDiskEnv(idx, disk))
    env["INSTANCE_DISK_COUNT"] = len(disks or [])
    env["INSTANCE_TAGS"] = " ".join(tags or [])
    for source, kind in ((bep, "BE"), (hvp, "HV")):
        for key, value in (source or {}).items():
            env[f"INSTANCE_{kind}_{key}"] = value
    return env


def NICToTuple(lu: Any, nic: objects.NIC) -> NicTuple:
    """(name, uuid, ip, mac, mode, link, vlan, network, netinfo) of a NIC."""
    filled = lu.cfg.GetClusterInfo().SimpleFillNIC(nic.nicparams)
    netinfo = None
    if nic.network:
        net = lu.cfg.GetNetwork(nic.network)
        netinfo = net.ToDict() if net is not None else None
    return (nic.name, nic.uuid, nic.ip, nic.mac, filled.get(defaults.NIC_MODE),
            filled.get(defaults.NIC_LINK), filled.get(defaults.NIC_VLAN),
            nic.network, netinfo)


def NICListToTuple(lu: Any, nics: Iterable[objects.NIC]) -> list[NicTuple]:
    """NICToTuple of each NIC (also the "nics" of OP_INSTANCE_QUERY_DATA)."""
    return [NICToTuple(lu, nic) for nic in nics]


def BuildInstanceHookEnvByObject(lu: Any, instance: objects.Instance,
                                 secondary_nodes: list[str] | None = None,
                                 disks: list[objects.Disk] | None = None,
                                 override: dict[str, Any] | None = None
                                 ) -> dict[str, Any]:
    """The instance hook variables of a configured instance.

    Args:
      secondary_nodes, disks: use these instead of the configuration's (an
        LU whose Exec removes the instance computes them in CheckPrereq).
      override: replaces BuildInstanceHookEnv arguments.
    """
    cluster = lu.cfg.GetClusterInfo()
    bep = cluster.FillBE(instance)
    if secondary_nodes is None:
        secondary_nodes = lu.cfg.GetInstanceSecondaryNodes(instance.uuid)
    if disks is None:
        disks = lu.cfg.GetInstanceDisks(instance.uuid)
    args: dict[str, Any] = {
        "name": instance.name,
        "primary_node_name": lu.cfg.GetNodeName(instance.primary_node),
        "secondary_node_names": lu.cfg.GetNodeNames(secondary_nodes),
        "os_type": instance.os,
        "status": instance.admin_state,
        "maxmem": bep[defaults.BE_MAXMEM],
        "minmem": bep[defaults.BE_MINMEM],
        "vcpus": bep[defaults.BE_VCPUS],
        "nics": NICListToTuple(lu, instance.nics or []),
        "disk_template": objects.GetDiskTemplate(disks),
        "disks": disks,
        "bep": bep,
        "hvp": cluster.FillHV(instance),
        "hypervisor_name": instance.hypervisor,
        "tags": instance.tags,
    }
    args.update(override or {})
    return BuildInstanceHookEnv(**args)


def InstanceHookNodes(lu: Any, instance: objects.Instance
                      ) -> tuple[list[str], list[str]]:
    """Master plus the instance's nodes, for both hook phases."""
    nodes = [lu.cfg.GetMasterNode()]
    nodes += [uuid for uuid in lu.cfg.GetInstanceNodes(instance.uuid)
              if uuid not in nodes]
    return nodes, list(nodes)


# --- state and resource checks --------------------------------------------------


def CheckInstanceState(lu: Any, instance: objects.Instance, req_states: list[str],
                       msg: str | None = None) -> None:
    """Check an instance's admin state and, unless it may be up, that it runs not.

    Raises:
      errors.OpPrereqError: wrong admin state, or the instance runs
        (ECODE_STATE); the primary node cannot be asked (ECODE_ENVIRON).
    """
    if msg is None:
        msg = f"can't use instance from outside {CommaJoin(req_states)} states"
    if instance.admin_state not in req_states:
        raise errors.OpPrereqError(
            f"Instance '{instance.name}' is marked to be {instance.admin_state},"
            f" {msg}", errors.ECODE_STATE)
    if constants.ADMINST_UP in req_states:
        return
    pnode = lu.cfg.GetNodeInfo(instance.primary_node)
    if pnode.offline:
        lu.LogWarning("Primary node offline, ignoring check that instance is down")
        return
    result = lu.rpc.call_instance_list(
        [pnode.uuid], [instance.hypervisor],
        lu.cfg.GetClusterInfo().hvparams)[pnode.uuid]
    result.Raise(f"Can't contact node {pnode.name} for instance information",
                 prereq=True, ecode=errors.ECODE_ENVIRON)
    if instance.name in (result.payload or []):
        raise errors.OpPrereqError(f"Instance {instance.name} is running, {msg}",
                                   errors.ECODE_STATE)


def CheckNodeFreeMemory(lu: Any, node_uuid: str, reason: str, requested: int,
                        hvname: str, hvparams: dict[str, Any]) -> int:
    """Check that a node has requested MiB of free memory; return the free MiB.

    Raises:
      errors.OpPrereqError: too little memory (ECODE_NORES), or the node's
        memory cannot be found out (ECODE_ENVIRON).
    """
    node_name = lu.cfg.GetNodeName(node_uuid)
    result = lu.rpc.call_node_info([node_uuid], None, [[hvname, hvparams]])[node_uuid]
    result.Raise(f"Can't get data from node {node_name}", prereq=True,
                 ecode=errors.ECODE_ENVIRON)
    try:
        hv_info = result.payload[2][0]
        free_mem = hv_info.get("memory_free")
    except (TypeError, IndexError, AttributeError):
        free_mem = None
    if isinstance(free_mem, bool) or not isinstance(free_mem, int):
        raise errors.OpPrereqError(
            f"Can't compute free memory on node {node_name}, result was"
            f" '{free_mem}'", errors.ECODE_ENVIRON)
    if requested > free_mem:
        raise errors.OpPrereqError(
            f"Not enough memory on node {node_name} for {reason}: needed"
            f" {requested} MiB, available {free_mem} MiB", errors.ECODE_NORES)
    return free_mem


def CheckNicsBridgesExist(lu: Any, nics: Iterable[objects.NIC],
                          node_uuid: str) -> None:
    """Check that the bridges of the bridged NICs exist on a node.

    Raises:
      errors.OpPrereqError: a bridge is missing (ECODE_ENVIRON).
    """
    cluster = lu.cfg.GetClusterInfo()
    bridges = []
    for nic in nics:
        params = cluster.SimpleFillNIC(nic.nicparams)
        if params.get(defaults.NIC_MODE) == constants.NIC_MODE_BRIDGED:
            bridges.append(params.get(defaults.NIC_LINK))
    if bridges:
        result = lu.rpc.call_bridges_exist(node_uuid, bridges)
        result.Raise("Error checking bridges on destination node"
                     f" '{lu.cfg.GetNodeName(node_uuid)}'", prereq=True,
                     ecode=errors.ECODE_ENVIRON)


def CheckInstanceBridgesExist(lu: Any, instance: objects.Instance,
                              node_uuid: str | None = None) -> None:
    """CheckNicsBridgesExist for an instance's NICs (default: its primary)."""
    CheckNicsBridgesExist(lu, instance.nics or [], node_uuid or instance.primary_node)


def GetHypervisorClass(hvname: str) -> Any:
    """The hypervisor class, or None while ganeti.hypervisor is not installed.

    Raises:
      errors.OpPrereqError: the hypervisor is not available (ECODE_STATE).
    """
    try:
        from ganeti import hypervisor
    except ImportError:
        return None
    try:
        return hypervisor.GetHypervisorClass(hvname)
    except errors.HypervisorError as err:
        raise errors.OpPrereqError(str(err), errors.ECODE_STATE) from err


def CheckHvParamsSyntax(hvname: str, hvparams: dict[str, Any],
                        base: dict[str, Any]) -> dict[str, Any]:
    """Check hypervisor parameter types (converting them in place).

    Args:
      hvname: the hypervisor.
      hvparams: the parameters given (converted in place, e.g. "true").
      base: what they override (cluster and OS defaults).

    Returns:
      base filled with hvparams, checked by the hypervisor's
      CheckParameterSyntax.

    Raises:
      errors.OpPrereqError: unknown parameter, bad value, or the
        hypervisor refused the parameters (ECODE_INVAL).
    """
    try:
        defaults.ForceDictType(hvparams, defaults.HVS_PARAMETER_TYPES.get(hvname, {}))
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid hypervisor parameters: {err}",
                                   errors.ECODE_INVAL) from err
    filled = objects.FillDict(base, hvparams)
    hv_class = GetHypervisorClass(hvname)
    if hv_class is not None:
        try:
            hv_class.CheckParameterSyntax(filled)
        except errors.HypervisorError as err:
            raise errors.OpPrereqError(f"Invalid hypervisor parameters: {err}",
                                       errors.ECODE_INVAL) from err
    return filled


def _VmNodes(lu: Any, node_uuids: Iterable[str]) -> list[str]:
    vm_nodes = set(lu.cfg.GetVmCapableNodeList())
    return [uuid for uuid in node_uuids if uuid in vm_nodes]


def CheckHVParams(lu: Any, node_uuids: Iterable[str], hvname: str,
                  hvparams: dict[str, Any]) -> None:
    """Let the (vm-capable, online) nodes validate hypervisor parameters.

    Raises:
      errors.OpPrereqError: a node refused them.
    """
    node_uuids = _VmNodes(lu, node_uuids)
    if not node_uuids:
        return
    hvfull = objects.FillDict(lu.cfg.GetClusterInfo().hvparams.get(hvname, {}),
                              hvparams)
    results = lu.rpc.call_hypervisor_validate_params(node_uuids, hvname, hvfull)
    for node_uuid in node_uuids:
        result = results[node_uuid]
        if result.offline:
            continue
        result.Raise("Hypervisor parameter validation failed on node"
                     f" {lu.cfg.GetNodeName(node_uuid)}", prereq=True,
                     ecode=errors.ECODE_INVAL)


def _FindOs(payload: Any, os_name: str) -> list[Any] | None:
    base = os_name.split("+", 1)[0]
    for entry in payload or []:
        if isinstance(entry, (list, tuple)) and entry and entry[0] == base:
            return list(entry)
    return None


def CheckNodeHasOS(lu: Any, node_uuid: str, os_name: str,
                   force_variant: bool) -> None:
    """Check, with os_diagnose, that a node has a valid OS and variant.

    Raises:
      errors.OpPrereqError: the OS is missing or invalid on the node, or
        the variant is missing or unsupported (ECODE_INVAL).
    """
    node_name = lu.cfg.GetNodeName(node_uuid)
    result = lu.rpc.call_os_diagnose([node_uuid])[node_uuid]
    result.Raise(f"Can't get the OS list of node {node_name}", prereq=True,
                 ecode=errors.ECODE_ENVIRON)
    entry = _FindOs(result.payload, os_name)
    if entry is None:
        raise errors.OpPrereqError(
            f"OS '{os_name}' not in supported OS list for node {node_name}",
            errors.ECODE_INVAL)
    valid = entry[2] if len(entry) > 2 else False
    if not valid:
        detail = entry[3] if len(entry) > 3 else ""
        raise errors.OpPrereqError(
            f"OS '{os_name}' is invalid on node {node_name}: {detail}",
            errors.ECODE_INVAL)
    if not force_variant:
        CheckOSVariant(entry[0], entry[4] if len(entry) > 4 else [], os_name)


def CheckOSVariant(base_name: str, variants: list[str] | None, os_name: str) -> None:
    """Check the variant part of os_name against an OS's variants.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) see Ganeti's _CheckOSVariant.
    """
    variant = os_name.split("+", 1)[1] if "+" in os_name else ""
    if not variants:
        if variant:
            raise errors.OpPrereqError(
                f"OS '{base_name}' doesn't support variants ('{variant}' passed)",
                errors.ECODE_INVAL)
        return
    if not variant:
        raise errors.OpPrereqError(
            f"OS name '{os_name}' must include a variant (one of"
            f" {CommaJoin(variants)})", errors.ECODE_INVAL)
    if variant not in variants:
        raise errors.OpPrereqError(
            f"Unsupported OS variant '{variant}' of OS '{base_name}' (supported:"
            f" {CommaJoin(variants)})", errors.ECODE_INVAL)


def CheckOSParams(lu: Any, required: bool, node_uuids: Iterable[str], osname: str,
                  osparams: dict[str, Any], force_variant: bool) -> None:
    """Let the nodes validate OS parameters with os_validate.

    Raises:
      errors.OpPrereqError: a node refused them (or, when required, does
        not have the OS).
    """
    node_uuids = _VmNodes(lu, node_uuids)
    if not osname or not node_uuids:
        return
    results = lu.rpc.call_os_validate(node_uuids, required, osname,
                                      ["parameters"], osparams, force_variant)
    for node_uuid in node_uuids:
        result = results[node_uuid]
        node_name = lu.cfg.GetNodeName(node_uuid)
        result.Raise(f"OS Parameters validation failed on node {node_name}",
                     prereq=True, ecode=errors.ECODE_INVAL)
        if not result.payload:
            lu.LogInfo("OS %s not found on node %s, validation skipped", osname,
                       node_name)


def CheckDiskTemplateEnabled(cluster: objects.Cluster, disk_template: str) -> None:
    """Raises OpPrereqError (ECODE_STATE) for a template not enabled."""
    enabled = cluster.enabled_disk_templates or []
    if disk_template not in enabled:
        raise errors.OpPrereqError(
            f"Disk template '{disk_template}' is not enabled in cluster. Enabled"
            f" disk templates are: {CommaJoin(enabled)}", errors.ECODE_STATE)


def CheckHostnameSane(lu: Any, name: str) -> netutils.Hostname:
    """Resolve name; the given name must be a prefix of the resolved one.

    Raises:
      errors.OpPrereqError: it does not resolve (ECODE_RESOLVER) or resolves
        to another name (ECODE_INVAL).
    """
    hostname = netutils.GetHostname(name=name)
    if hostname.name != name:
        lu.LogInfo("Resolved given name '%s' to '%s'", name, hostname.name)
    if MatchNameComponent(name, [hostname.name]) is None:
        raise errors.OpPrereqError(
            f"Resolved hostname '{hostname.name}' does not look the same as given"
            f" hostname '{name}'", errors.ECODE_INVAL)
    return hostname


def CheckIpFree(ip: str, name: str) -> None:
    """Refuse an instance IP that answers on noded's port already.

    Raises:
      errors.OpPrereqError: (ECODE_NOTUNIQUE) the address is in use.
    """
    if netutils.TcpPing(ip, constants.DEFAULT_NODED_PORT):
        raise errors.OpPrereqError(f"IP {ip} of instance {name} already in use",
                                   errors.ECODE_NOTUNIQUE)


def CheckInstanceExistence(lu: Any, instance_name: str) -> None:
    """Raises OpPrereqError (ECODE_EXISTS) if the name is taken."""
    if lu.cfg.GetInstanceInfoByName(instance_name) is not None:
        raise errors.OpPrereqError(
            f"Instance '{instance_name}' is already in the cluster",
            errors.ECODE_EXISTS)


def ComputeIPolicySpecViolation(ipolicy: dict[str, Any], spec: dict[str, Any],
                                disk_template: str) -> list[str]:
    """The ways an instance spec breaks an instance policy (empty: none).

    Args:
      spec: ISPEC_* -> value; ISPEC_DISK_SIZE is a list of sizes.
    """
    allowed = ipolicy.get(defaults.IPOLICY_DTS, [])
    problems = []
    if disk_template not in allowed:
        problems.append(f"Disk template {disk_template} is not allowed (allowed"
                        f" templates {CommaJoin(allowed)})")
    settings = [(name, "", spec.get(name)) for name in (
        defaults.ISPEC_MEM_SIZE, defaults.ISPEC_CPU_COUNT, defaults.ISPEC_NIC_COUNT,
        defaults.ISPEC_SPINDLE_USE)]
    if disk_template != constants.DT_DISKLESS:
        # The disk count of a diskless instance says nothing (Ganeti).
        settings.append((defaults.ISPEC_DISK_COUNT, "",
                         spec.get(defaults.ISPEC_DISK_COUNT)))
    settings += [(defaults.ISPEC_DISK_SIZE, str(idx), size) for idx, size in
                 enumerate(spec.get(defaults.ISPEC_DISK_SIZE) or [])]
    best: list[str] | None = None
    for minmax in ipolicy.get(defaults.ISPECS_MINMAX, []):
        errs = [msg for msg in (_MinMaxError(name, qual, minmax, value)
                                for name, qual, value in settings) if msg]
        if best is None or len(errs) < len(best):
            best = errs
    return problems + (best or [])


def _MinMaxError(name: str, qualifier: str, minmax: dict[str, Any],
                 value: Any) -> str | None:
    if value in (None, defaults.VALUE_AUTO):
        return None
    max_v = minmax.get(defaults.ISPECS_MAX, {}).get(name, value)
    min_v = minmax.get(defaults.ISPECS_MIN, {}).get(name, value)
    if value > max_v or min_v > value:
        fqn = f"{name}/{qualifier}" if qualifier else name
        return f"{fqn} value {value} is not in range [{min_v}, {max_v}]"
    return None


def GroupIPolicy(cfg: Any, group_uuid: str | None) -> dict[str, Any]:
    """The filled instance policy of a node group (the cluster's if unknown)."""
    cluster = cfg.GetClusterInfo()
    group = cfg.GetNodeGroup(group_uuid) if group_uuid else None
    return cluster.SimpleFillIPolicy(group.ipolicy if group is not None else None)


# --- parameters of new instances ---------------------------------------------------


def ComputeFullBeParams(op: Any, cluster: objects.Cluster) -> dict[str, Any]:
    """Check the opcode's beparams in place; return them filled.

    Raises:
      errors.OpPrereqError: an unknown parameter, a bad value, or minmem
        above maxmem (ECODE_INVAL).
    """
    default_be = cluster.beparams.get(constants.PP_DEFAULT, {})
    for param, value in list(op.beparams.items()):
        if value == defaults.VALUE_AUTO:
            op.beparams[param] = default_be.get(param)
    objects.UpgradeBeParams(op.beparams)
    try:
        defaults.ForceDictType(op.beparams, defaults.BES_PARAMETER_TYPES)
    except errors.TypeEnforcementError as err:
        raise errors.OpPrereqError(f"Invalid backend parameters: {err}",
                                   errors.ECODE_INVAL) from err
    filled = cluster.SimpleFillBE(op.beparams)
    if filled[defaults.BE_MINMEM] > filled[defaults.BE_MAXMEM]:
        raise errors.OpPrereqError(
            f"Minimum memory ({filled[defaults.BE_MINMEM]} MiB) must not be larger"
            f" than maximum memory ({filled[defaults.BE_MAXMEM]} MiB)",
            errors.ECODE_INVAL)
    return filled


def ParseDiskSize(size: Any) -> int:
    """A disk size from an opcode (MiB, or a string with a unit) in MiB.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) it does not parse.
    """
    if isinstance(size, bool) or size is None:
        raise errors.OpPrereqError(f"Invalid disk size '{size}'", errors.ECODE_INVAL)
    if isinstance(size, (int, float)) and size >= 0:
        return int(size) if float(size).is_integer() else ParseUnit(size)
    try:
        return ParseUnit(size)
    except errors.UnitParseError as err:
        raise errors.OpPrereqError(f"Invalid disk size '{size}': {err}",
                                   errors.ECODE_INVAL) from err


def ComputeDisks(disks: list[dict[str, Any]], disk_template: str,
                 default_vg: str | None) -> list[dict[str, Any]]:
    """Check the opcode's disk dicts and return the normalised ones.

    Raises:
      errors.OpPrereqError: bad access mode, missing or unparsable size,
        provider for a non-ext template (ECODE_INVAL).
    """
    result = []
    for idx, disk in enumerate(disks):
        mode = disk.get(IDISK_MODE, constants.DISK_RDWR)
        if mode not in (constants.DISK_RDWR, constants.DISK_RDONLY):
            raise errors.OpPrereqError(f"Invalid disk access mode '{mode}'",
                                       errors.ECODE_INVAL)
        if disk.get(IDISK_SIZE) is None:
            raise errors.OpPrereqError(f"Missing disk size for disk {idx}",
                                       errors.ECODE_INVAL)
        if disk.get(IDISK_PROVIDER) and disk_template != constants.DT_EXT:
            raise errors.OpPrereqError(
                f"The '{IDISK_PROVIDER}' option is only valid for the"
                f" {constants.DT_EXT} disk template, not {disk_template}",
                errors.ECODE_INVAL)
        name = disk.get(IDISK_NAME)
        if isinstance(name, str) and name.lower() == defaults.VALUE_NONE:
            name = None
        new_disk = {IDISK_SIZE: ParseDiskSize(disk[IDISK_SIZE]), IDISK_MODE: mode,
                    IDISK_VG: disk.get(IDISK_VG, default_vg), IDISK_NAME: name}
        for key in (IDISK_METAVG, IDISK_ADOPT, IDISK_SPINDLES):
            if key in disk:
                new_disk[key] = disk[key]
        result.append(new_disk)
    return result


def ComputeDiskSize(disk_template: str, disks: list[dict[str, Any]]) -> int:
    """The space (MiB) a template's disks need on a node (Ganeti's gmi)."""
    if disk_template in (constants.DT_DISKLESS, constants.DT_BLOCK):
        return 0
    extra = DRBD_META_SIZE if disk_template == constants.DT_DRBD8 else 0
    return sum(int(disk.get(IDISK_SIZE) or 0) + extra for disk in disks)


def _NicParams(nic: dict[str, Any], idx: int) -> tuple[Any, Any, Any, Any]:
    """(mode, link, vlan, network) of a NIC dict; checks bridge vs link."""
    mode, link = nic.get(INIC_MODE), nic.get(INIC_LINK)
    bridge = nic.get(INIC_BRIDGE)
    if bridge and link:
        raise errors.OpPrereqError(
            f"NIC {idx}: cannot pass 'bridge' and 'link' at the same time",
            errors.ECODE_INVAL)
    if bridge and mode == constants.NIC_MODE_ROUTED:
        raise errors.OpPrereqError(f"NIC {idx}: cannot pass 'bridge' on a routed nic",
                                   errors.ECODE_INVAL)
    return mode, link or bridge, nic.get(INIC_VLAN), nic.get(INIC_NETWORK)


def _NicIp(ip: Any, net: str | None, name_check: bool,
           default_ip: str | None) -> str | None:
    if ip is None or str(ip).lower() == defaults.VALUE_NONE:
        return None
    if str(ip).lower() == defaults.VALUE_AUTO:
        if not name_check:
            raise errors.OpPrereqError(
                "IP address set to auto but name checks not enabled",
                errors.ECODE_INVAL)
        return default_ip
    if str(ip).lower() == NIC_IP_POOL:
        if net is None:
            raise errors.OpPrereqError("if ip=pool, parameter network must be"
                                       " passed too", errors.ECODE_INVAL)
        return str(ip)
    if not netutils.IPAddress.IsValid(str(ip)):
        raise errors.OpPrereqError(f"Invalid IP address '{ip}'", errors.ECODE_INVAL)
    return str(ip)


def _UsedMacs(cfg: Any) -> set[str]:
    return {nic.mac for inst in cfg.GetAllInstancesInfo().values()
            for nic in inst.nics or ()}


def _NicMac(nic: dict[str, Any], used: set[str]) -> str:
    mac = nic.get(INIC_MAC, defaults.VALUE_AUTO)
    if mac in (defaults.VALUE_AUTO, VALUE_GENERATE):
        return mac
    mac = MacNormalize(mac)
    if mac in used:
        raise errors.OpPrereqError(f"MAC address {mac} already in use in cluster",
                                   errors.ECODE_NOTUNIQUE)
    used.add(mac)
    return mac


def MacNormalize(mac: Any) -> str:
    """Lower-case and check a MAC address (OpPrereqError ECODE_INVAL if bad)."""
    return NormalizeAndValidateMac(mac)


def ComputeNics(op: Any, cluster: objects.Cluster, default_ip: str | None,
                cfg: Any, ec_id: Any) -> list[objects.NIC]:
    """Build the NIC objects of a new instance from the opcode.

    MACs given are checked against every NIC of the cluster; "auto" and
    "generate" stay for the caller to replace (after all checks passed).

    Raises:
      errors.OpPrereqError: invalid or conflicting NIC parameters, or a
        MAC address in use.
    """
    nics = []
    used = _UsedMacs(cfg)
    default_mode = cluster.nicparams[constants.PP_DEFAULT][defaults.NIC_MODE]
    for idx, nic in enumerate(op.nics):
        mode_req, link, vlan, net = _NicParams(nic, idx)
        mode = default_mode if mode_req in (None, defaults.VALUE_AUTO) else mode_req
        if net is None or str(net).lower() == defaults.VALUE_NONE:
            net = None
        elif mode_req is not None or link is not None:
            raise errors.OpPrereqError("If network is given, no mode or link is"
                                       " allowed to be passed", errors.ECODE_INVAL)
        ip = _NicIp(nic.get(INIC_IP), net, op.name_check, default_ip)
        if mode == constants.NIC_MODE_ROUTED and not ip and not net:
            raise errors.OpPrereqError("Routed nic mode requires an ip address if"
                                       " not attached to a network",
                                       errors.ECODE_INVAL)
        nicparams = {}
        if mode_req and mode_req != defaults.VALUE_AUTO:
            nicparams[defaults.NIC_MODE] = mode
        if link:
            nicparams[defaults.NIC_LINK] = link
        if vlan:
            nicparams[defaults.NIC_VLAN] = vlan
        CheckNicParameterSyntax(cluster.SimpleFillNIC(nicparams))
        name = nic.get(INIC_NAME)
        if isinstance(name, str) and name.lower() == defaults.VALUE_NONE:
            name = None
        nics.append(objects.NIC(mac=_NicMac(nic, used), ip=ip, name=name,
                                network=cfg.LookupNetwork(net), nicparams=nicparams,
                                uuid=cfg.GenerateUniqueID(ec_id)))
    return nics


def CheckNicParameterSyntax(params: dict[str, Any]) -> None:
    """Check filled NIC parameters (Ganeti's NIC.CheckParameterSyntax).

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) invalid mode or missing link.
    """
    mode = params.get(defaults.NIC_MODE)
    if mode not in constants.NIC_VALID_MODES:
        raise errors.OpPrereqError(f"Invalid NIC mode '{mode}'", errors.ECODE_INVAL)
    if mode == constants.NIC_MODE_BRIDGED and not params.get(defaults.NIC_LINK):
        raise errors.OpPrereqError("Missing bridged NIC link", errors.ECODE_INVAL)


def CheckVlanArguments(nics: list[dict[str, Any]]) -> None:
    """Normalise NIC VLANs in place ("5" becomes ".5"), as Ganeti does.

    Raises:
      errors.OpPrereqError: (ECODE_INVAL) an invalid VLAN specification.
    """
    for nic in nics:
        vlan = nic.get(INIC_VLAN)
        if not vlan:
            continue
        vlan = str(vlan)
        if vlan.isdigit():
            nic[INIC_VLAN] = "." + vlan
            continue
        trunk = vlan[1:].split(":") if vlan[0] in ".:" else None
        if vlan[0] == "." and vlan[1:].isdigit():
            continue
        if trunk is not None and all(part.isdigit() for part in trunk if part):
            continue
        raise errors.OpPrereqError(f"Specified VLAN parameter is invalid : {vlan}",
                                   errors.ECODE_INVAL)


# --- disks -----------------------------------------------------------------------


def CalculateFileStorageDir(disk_template: str, cfg: Any, instance_name: str,
                            file_storage_dir: str | None = None) -> str | None:
    """The directory of an instance's file disks (None for other templates).

    Raises:
      errors.OpPrereqError: the cluster has no storage directory for the
        template, or file_storage_dir leaves it (ECODE_STATE/ECODE_INVAL).
    """
    if disk_template not in DTS_FILEBASED:
        return None
    cluster = cfg.GetClusterInfo()
    base = {constants.DT_FILE: cluster.file_storage_dir,
            constants.DT_SHARED_FILE: cluster.shared_file_storage_dir,
            constants.DT_GLUSTER: cluster.gluster_storage_dir}[disk_template]
    if not base:
        raise errors.OpPrereqError(
            f"Cluster file storage dir for '{disk_template}' storage type not"
            " defined", errors.ECODE_STATE)
    parts = [base]
    if file_storage_dir:
        parts.append(file_storage_dir.lstrip("/"))
    if disk_template != constants.DT_GLUSTER:
        parts.append(instance_name)
    path = posixpath.normpath(posixpath.join(*parts))
    if path != base and not path.startswith(base.rstrip("/") + "/"):
        raise errors.OpPrereqError(
            f"File storage directory '{file_storage_dir}' is outside the cluster"
            f" storage directory {base}", errors.ECODE_INVAL)
    return path


def GenerateDiskTemplate(lu: Any, template_name: str, instance_uuid: str,
                         primary_node_uuid: str, secondary_node_uuids: list[str],
                         disk_info: list[dict[str, Any]], file_storage_dir: str | None,
                         file_driver: str | None, base_index: int,
                         feedback_fn: Callable[..., None],
                         full_disk_params: dict[str, Any] | None = None,
                         forthcoming: bool = False) -> list[objects.Disk]:
    """Build the Disk objects of an instance (diskless, file, sharedfile).

    A file disk is <file_storage_dir>/<unique id>.<template>.disk<N> with
    logical id [file_driver, path], as Ganeti 3.0 names them.

    Raises:
      errors.OpPrereqError: template not enabled, or one this tree cannot
        create disks for (ECODE_STATE).
    """
    CheckDiskTemplateEnabled(lu.cfg.GetClusterInfo(), template_name)
    if template_name == constants.DT_DISKLESS:
        return []
    if template_name not in (constants.DT_FILE, constants.DT_SHARED_FILE):
        raise errors.OpPrereqError(
            f"Disk template '{template_name}' is not available in this version"
            " (available: diskless, file, sharedfile)", errors.ECODE_STATE)
    if secondary_node_uuids:
        raise errors.ProgrammerError("Wrong template configuration")
    prefix = _DISK_TEMPLATE_NAME_PREFIX[template_name]
    disks = []
    for idx, disk in enumerate(disk_info):
        disk_index = idx + base_index
        size = disk[IDISK_SIZE]
        unique = lu.cfg.GenerateUniqueID(lu.proc.GetECId())
        feedback_fn(f"* disk {disk_index}, size {FormatUnit(size, 'h')}")
        disks.append(objects.Disk(
            dev_type=template_name, size=size, mode=disk[IDISK_MODE],
            logical_id=[file_driver or FD_DEFAULT,
                        f"{file_storage_dir}/{unique}{prefix}.disk{disk_index}"],
            iv_name=f"disk/{disk_index}", params={},
            spindles=disk.get(IDISK_SPINDLES), name=disk.get(IDISK_NAME),
            nodes=[primary_node_uuid], forthcoming=forthcoming or None,
            uuid=lu.cfg.GenerateUniqueID(lu.proc.GetECId())))
    return disks


def GetInstanceInfoText(instance: objects.Instance) -> str:
    """The metadata text written on an instance's disks."""
    return f"originstname+{instance.name}"


def _StorageDir(disks: list[objects.Disk]) -> str | None:
    for disk in disks:
        if disk.dev_type in DTS_FILEBASED and disk.logical_id:
            return os.path.dirname(disk.logical_id[1])
    return None


def _UndoCreateDisks(lu: Any, created: list[tuple[str, objects.Disk]],
                     instance: objects.Instance, storage_dir: str | None,
                     node_uuid: str) -> None:
    """Remove the disks a failed CreateDisks made, and its directory."""
    for created_node, disk in created:
        result = lu.rpc.call_blockdev_remove(created_node, (disk, instance))
        result.Warn(f"Failed to remove newly-created disk {disk.iv_name} on node"
                    f" {lu.cfg.GetNodeName(created_node)}", lu.LogWarning)
    if storage_dir is not None:
        result = lu.rpc.call_file_storage_dir_remove(node_uuid, storage_dir)
        result.Warn(f"Failed to remove directory '{storage_dir}' on node"
                    f" {lu.cfg.GetNodeName(node_uuid)}", lu.LogWarning)


def CreateDisks(lu: Any, instance: objects.Instance,
                disks: list[objects.Disk] | None = None,
                target_node_uuid: str | None = None) -> list[tuple[str, objects.Disk]]:
    """Create an instance's disks on its primary node (or target_node_uuid).

    Args:
      disks: the disks to create (default: the instance's configured ones).

    Returns:
      (node uuid, disk) of every disk made.

    Raises:
      errors.OpExecError: a disk or the storage directory could not be
        made; everything made so far was removed again.
    """
    node_uuid = target_node_uuid or instance.primary_node
    if disks is None:
        disks = lu.cfg.GetInstanceDisks(instance.uuid)
    if not disks:
        return []
    CheckDiskTemplateEnabled(lu.cfg.GetClusterInfo(), disks[0].dev_type)
    storage_dir = _StorageDir(disks)
    if storage_dir is not None:
        result = lu.rpc.call_file_storage_dir_create(node_uuid, storage_dir)
        result.Raise(f"Failed to create directory '{storage_dir}' on node"
                     f" {lu.cfg.GetNodeName(node_uuid)}")
    info = GetInstanceInfoText(instance)
    created: list[tuple[str, objects.Disk]] = []
    for idx, disk in enumerate(disks):
        logger.info("Creating disk %s for instance '%s'", idx, instance.name)
        result = lu.rpc.call_blockdev_create(node_uuid, (disk, instance), disk.size,
                                             instance.name, True, info, False)
        if result.fail_msg:
            logger.warning("Creating disk %s for instance '%s' failed", idx,
                           instance.name)
            _UndoCreateDisks(lu, created, instance, storage_dir, node_uuid)
            raise errors.OpExecError(
                f"Can't create block device {disk.iv_name} on node"
                f" {lu.cfg.GetNodeName(node_uuid)} for instance {instance.name}:"
                f" {result.fail_msg}")
        created.append((node_uuid, disk))
    return created


def RemoveDisks(lu: Any, instance: objects.Instance,
                disks: list[objects.Disk] | None = None,
                target_node_uuid: str | None = None,
                ignore_failures: bool = False) -> bool:
    """Remove all (or the given) disks of an instance and their directory.

    Goes on after a failure; an offline node's failure does not count.

    Returns:
      whether everything was removed.
    """
    all_disks = lu.cfg.GetInstanceDisks(instance.uuid)
    if disks is None:
        disks = all_disks
    node_uuid = target_node_uuid or instance.primary_node
    all_ok = True
    for disk in disks:
        result = lu.rpc.call_blockdev_remove(node_uuid, (disk, instance))
        if result.fail_msg:
            lu.LogWarning("Could not remove disk %s on node %s, continuing anyway:"
                          " %s", disk.iv_name, lu.cfg.GetNodeName(node_uuid),
                          result.fail_msg)
            if not result.offline:
                all_ok = False
    kept = {_StorageDir([disk]) for disk in all_disks if disk not in disks}
    obsolete = {_StorageDir([disk]) for disk in disks} - kept - {None}
    for storage_dir in sorted(d for d in obsolete if d is not None):
        result = lu.rpc.call_file_storage_dir_remove(node_uuid, storage_dir)
        if result.fail_msg:
            lu.LogWarning("Could not remove directory '%s' on node %s: %s",
                          storage_dir, lu.cfg.GetNodeName(node_uuid),
                          result.fail_msg)
            all_ok = False
    return all_ok or ignore_failures


def RemoveInstance(lu: Any, feedback_fn: Callable[..., None],
                   instance: objects.Instance, ignore_failures: bool) -> None:
    """Remove an instance's disks and then the instance from the configuration.

    Raises:
      errors.OpExecError: disks could not be removed (not ignoring
        failures); the instance stays in the configuration then.
    """
    logger.info("Removing block devices for instance %s", instance.name)
    if not RemoveDisks(lu, instance, ignore_failures=False):
        if not ignore_failures:
            raise errors.OpExecError("Can't remove instance's disks")
        feedback_fn("Warning: can't remove instance's disks")
    logger.info("Removing instance %s out of cluster config", instance.name)
    lu.cfg.RemoveInstance(instance.uuid)


def AssembleInstanceDisks(lu: Any, instance: objects.Instance,
                          disks: list[objects.Disk] | None = None,
                          ignore_secondaries: bool = False
                          ) -> tuple[bool, list[tuple[str, str, Any]]]:
    """Activate an instance's disks on its primary node.

    Marks the disks active in the configuration when all are asked for
    (and inactive again if one fails).

    Returns:
      (all ok, [(node name, iv_name, device path or None), ...]).
    """
    all_disks = disks is None
    inst_disks = lu.cfg.GetInstanceDisks(instance.uuid)
    if all_disks:
        lu.cfg.MarkInstanceDisksActive(instance.uuid)
        disks = inst_disks
    position = {disk.uuid: idx for idx, disk in enumerate(inst_disks)}
    pnode = instance.primary_node
    pnode_name = lu.cfg.GetNodeName(pnode)
    ok = True
    device_info = []
    for num, disk in enumerate(disks):
        # The node links the disk as <instance>:<index in the instance>.
        idx = position.get(disk.uuid, num)
        result = lu.rpc.call_blockdev_assemble(pnode, (disk, instance), instance,
                                               True, idx)
        dev_path = None
        if result.fail_msg:
            lu.LogWarning("Could not prepare block device %s on node %s"
                          " (is_primary=True, pass=2): %s", disk.iv_name,
                          pnode_name, result.fail_msg)
            ok = False
        elif isinstance(result.payload, (list, tuple)) and result.payload:
            dev_path = result.payload[0]
        device_info.append((pnode_name, disk.iv_name, dev_path))
    if not ok and all_disks:
        lu.cfg.MarkInstanceDisksInactive(instance.uuid)
    return ok, device_info


def ShutdownInstanceDisks(lu: Any, instance: objects.Instance,
                          disks: list[objects.Disk] | None = None,
                          ignore_primary: bool = False) -> bool:
    """Deactivate an instance's disks; True if all went well."""
    if disks is None:
        lu.cfg.MarkInstanceDisksInactive(instance.uuid)
        disks = lu.cfg.GetInstanceDisks(instance.uuid)
    ok = True
    for disk in disks:
        result = lu.rpc.call_blockdev_shutdown(instance.primary_node,
                                               (disk, instance))
        if result.fail_msg:
            lu.LogWarning("Could not shutdown block device %s on node %s: %s",
                          disk.iv_name, lu.cfg.GetNodeName(instance.primary_node),
                          result.fail_msg)
            if not ignore_primary:
                ok = False
    return ok


def StartInstanceDisks(lu: Any, instance: objects.Instance,
                       force: bool | None) -> None:
    """Activate an instance's disks; on failure deactivate them again.

    Raises:
      errors.OpExecError: "Disk consistency error".
    """
    ok, _ = AssembleInstanceDisks(lu, instance, ignore_secondaries=bool(force))
    if not ok:
        ShutdownInstanceDisks(lu, instance)
        if force is not None and not force:
            lu.LogWarning("", hint="If the message above refers to a secondary"
                          " node, you can retry the operation using '--force'")
        raise errors.OpExecError("Disk consistency error")


# --- allocation ---------------------------------------------------------------------


def CheckIAllocatorOrNode(lu: Any, iallocator_slot: str, node_slot: str) -> None:
    """Settle between an allocator and a node given in the opcode.

    With neither (or the "." shortcut), the cluster's default allocator is
    used; a cluster without one gets the built-in allocator (see
    ganeti.iallocator), so users need not pick nodes.

    Raises:
      errors.OpPrereqError: both were given (ECODE_INVAL).
    """
    from ganeti import iallocator

    node = getattr(lu.op, node_slot, None)
    ialloc = getattr(lu.op, iallocator_slot, None)
    if node == []:
        node = None
    if node is not None and ialloc is not None:
        raise errors.OpPrereqError("Do not specify both, iallocator and node",
                                   errors.ECODE_INVAL)
    if (node is None and ialloc is None) or \
            ialloc == iallocator.DEFAULT_IALLOCATOR_SHORTCUT:
        setattr(lu.op, iallocator_slot,
                iallocator.GetDefaultIAllocator(lu.cfg.GetClusterInfo()))
