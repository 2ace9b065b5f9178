"""Compute the content of the ssconf files from a configuration.

Reproduces what Ganeti 3.0 writes (src/Ganeti/WConfd/Ssconf.hs), byte for
byte on spec/samples/ssconf.txt: node and instance names nice-sorted, groups
and networks ordered by uuid, one value per line. The values carry no final
newline; ssconf.SimpleStore.WriteFiles adds it to non-empty files.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, objects, ssconf
from ganeti.config.load import LoadedConfig
from ganeti.utils.text import NiceSort


def _Lines(values: list[str]) -> str:
    return "\n".join(values)


def _FormatValue(value: Any) -> str:
    # Python's str() gives True/False, as Ganeti's files show.
    return str(value)


def _FormatUidPool(uid_pool: list[list[int]] | None) -> str:
    ranges = []
    for low, high in uid_pool or ():
        ranges.append(str(low) if low == high else f"{low}-{high}")
    return _Lines(ranges)


def _UuidNameLines(container: dict[str, Any]) -> str:
    return _Lines([f"{uuid} {container[uuid].name}" for uuid in sorted(container)])


def _NodeValues(data: LoadedConfig) -> dict[str, str]:
    cluster = data.cluster
    nodes = NiceSort(data.nodes.values(), key=lambda node: node.name)
    candidates = [node for node in nodes if node.master_candidate]
    ssh_ports = []
    for node in nodes:
        group = data.nodegroups.get(node.group) or objects.NodeGroup(ndparams={})
        ndparams = cluster.FillND(node, group)
        ssh_ports.append(f"{node.name}={ndparams.get('ssh_port')}")
    certs = cluster.candidate_certs or {}
    return {
        ssconf.SS_MASTER_CANDIDATES: _Lines([n.name for n in candidates]),
        ssconf.SS_MASTER_CANDIDATES_IPS: _Lines([n.primary_ip for n in candidates]),
        ssconf.SS_MASTER_CANDIDATES_CERTS: _Lines(
            [f"{uuid}={certs[uuid]}" for uuid in sorted(certs)]),
        ssconf.SS_NODE_LIST: _Lines([n.name for n in nodes]),
        ssconf.SS_NODE_PRIMARY_IPS: _Lines([f"{n.name} {n.primary_ip}" for n in nodes]),
        ssconf.SS_NODE_SECONDARY_IPS: _Lines(
            [f"{n.name} {n.secondary_ip}" for n in nodes]),
        ssconf.SS_NODE_VM_CAPABLE: _Lines(
            [f"{n.name}={_FormatValue(bool(n.vm_capable))}" for n in nodes]),
        ssconf.SS_OFFLINE_NODES: _Lines([n.name for n in nodes if n.offline]),
        ssconf.SS_ONLINE_NODES: _Lines([n.name for n in nodes if not n.offline]),
        ssconf.SS_SSH_PORTS: _Lines(ssh_ports),
    }


def _HvparamsValues(cluster: objects.Cluster) -> dict[str, str]:
    result = {}
    for hv in constants.HYPER_TYPES:
        params = (cluster.hvparams or {}).get(hv, {})
        result[ssconf.SS_HVPARAMS_PREF + hv] = _Lines(
            [f"{key}={_FormatValue(params[key])}" for key in sorted(params)])
    return result


def ComputeSsconfValues(data: LoadedConfig) -> dict[str, str]:
    """Return key -> content of every ssconf file for this configuration."""
    cluster = data.cluster
    master = data.nodes.get(cluster.master_node)
    instances = NiceSort(inst.name for inst in data.instances.values())
    values = {
        ssconf.SS_CLUSTER_NAME: cluster.cluster_name,
        ssconf.SS_CLUSTER_TAGS: _Lines(sorted(cluster.tags or ())),
        ssconf.SS_FILE_STORAGE_DIR: cluster.file_storage_dir or "",
        ssconf.SS_SHARED_FILE_STORAGE_DIR: cluster.shared_file_storage_dir or "",
        ssconf.SS_GLUSTER_STORAGE_DIR: cluster.gluster_storage_dir or "",
        ssconf.SS_MASTER_IP: cluster.master_ip,
        ssconf.SS_MASTER_NETDEV: cluster.master_netdev,
        ssconf.SS_MASTER_NETMASK: str(cluster.master_netmask),
        ssconf.SS_MASTER_NODE: master.name if master is not None else "",
        ssconf.SS_PRIMARY_IP_FAMILY: str(cluster.primary_ip_family),
        ssconf.SS_INSTANCE_LIST: _Lines(instances),
        ssconf.SS_RELEASE_VERSION: constants.RELEASE_VERSION,
        ssconf.SS_HYPERVISOR_LIST: _Lines(cluster.enabled_hypervisors or []),
        ssconf.SS_MAINTAIN_NODE_HEALTH: _FormatValue(
            bool(cluster.maintain_node_health)),
        ssconf.SS_UID_POOL: _FormatUidPool(cluster.uid_pool),
        ssconf.SS_NODEGROUPS: _UuidNameLines(data.nodegroups),
        ssconf.SS_NETWORKS: _UuidNameLines(data.networks),
        ssconf.SS_ENABLED_USER_SHUTDOWN: _FormatValue(
            bool(cluster.enabled_user_shutdown)),
    }
    values.update(_NodeValues(data))
    values.update(_HvparamsValues(cluster))
    return values
