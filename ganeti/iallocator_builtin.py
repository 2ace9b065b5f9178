"""The built-in instance allocator: an iallocator answering in-process.

It reads the input document of ganeti.iallocator (Ganeti's iallocator
protocol, version 2) and answers as an allocator script would, so it can
stand in for Ganeti's default allocator "hail" (see ganeti.iallocator for
when it is used). It places instances one at a time, greedily, rather than
optimising the whole cluster as hail does.

A node can host an instance when it is online, not drained, vm_capable, in
a group whose alloc_policy is not "unallocable" (and in the requested
group, if any), its group's instance policy allows the disk template and
the instance's specs, it has the instance's memory free, the disk space
(when the node reports its storage), and the group's vcpu-ratio still
holds with the instance's vcpus added. Among those, nodes of "preferred"
groups come before "last_resort" ones; then the node keeping the largest
share of its memory free wins (fewest primary instances, then name, break
ties), which spreads instances evenly.

Relocation (the target of a failover or migration) picks a node in the
group of the nodes relocated from. Evacuation and group changes move
instances whose disks are reachable from other nodes (diskless, sharedfile,
...) with OP_INSTANCE_MIGRATE (failover allowed), as hail does; instances
with node-local disks (file, plain) and secondary changes (drbd only) are
reported as failed, with the reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ganeti import constants, defaults, errors, serializer

_MODE_ALLOC = "allocate"
_MODE_MULTI_ALLOC = "multi-allocate"
_MODE_RELOC = "relocate"
_MODE_NODE_EVAC = "node-evacuate"
_MODE_CHG_GROUP = "change-group"
_NEVAC_SEC = "secondary-only"

#: Templates whose data only the primary node has (cannot move elsewhere).
_LOCAL_TEMPLATES = frozenset([constants.DT_FILE, constants.DT_PLAIN])
#: Templates using node storage, whose free space is checked.
_NODE_STORAGE_TEMPLATES = frozenset([constants.DT_FILE, constants.DT_PLAIN,
                                     constants.DT_DRBD8])
_POLICY_RANK = {constants.ALLOC_POLICY_PREFERRED: 0,
                constants.ALLOC_POLICY_LAST_RESORT: 1}


class _RequestError(Exception):
    """The input document cannot be answered; the message says why."""


@dataclasses.dataclass
class _Node:
    """What the allocator knows of one node, updated as it places instances."""

    name: str
    group: str
    usable: str | None  # None, or why the node cannot host anything
    free_memory: int = 0
    total_memory: int = 0
    free_disk: int = 0
    total_disk: int = 0
    total_cpus: int = 0
    used_vcpus: int = 0
    primaries: int = 0


@dataclasses.dataclass
class _Spec:
    """The resources an instance needs."""

    name: str
    memory: int
    vcpus: int
    disk_space: int
    disk_template: str
    spindle_use: int = 1
    nics: int = 0
    disk_sizes: list[int] = dataclasses.field(default_factory=list)
    group_name: str | None = None


class _Cluster:
    """The input document as nodes, groups and instances."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Raises _RequestError for a malformed document."""
        try:
            self.groups: dict[str, dict[str, Any]] = dict(data["nodegroups"])
            self.instances: dict[str, dict[str, Any]] = dict(data["instances"])
            self.nodes = {name: self._MakeNode(name, ndata)
                          for name, ndata in data["nodes"].items()}
        except (KeyError, TypeError, AttributeError) as err:
            raise _RequestError(f"Invalid input document: missing {err}") from err
        for inst in self.instances.values():
            nodes = inst.get("nodes") or []
            node = self.nodes.get(nodes[0]) if nodes else None
            if node is not None:
                node.used_vcpus += int(inst.get("vcpus") or 0)
                node.primaries += 1

    @staticmethod
    def _MakeNode(name: str, ndata: dict[str, Any]) -> _Node:
        reason = None
        if ndata.get("offline"):
            reason = "offline"
        elif ndata.get("drained"):
            reason = "drained"
        elif not ndata.get("vm_capable", True):
            reason = "not vm_capable"
        elif "free_memory" not in ndata:
            reason = "no live data"
        return _Node(name=name, group=ndata.get("group", ""), usable=reason,
                     free_memory=int(ndata.get("free_memory") or 0),
                     total_memory=int(ndata.get("total_memory") or 0),
                     free_disk=int(ndata.get("free_disk") or 0),
                     total_disk=int(ndata.get("total_disk") or 0),
                     total_cpus=int(ndata.get("total_cpus") or 0))

    def GroupName(self, uuid: str) -> str:
        return str(self.groups.get(uuid, {}).get("name", uuid))

    def Refusal(self, node: _Node, spec: _Spec) -> str | None:
        """Why node cannot host spec, or None if it can."""
        if node.usable:
            return node.usable
        group = self.groups.get(node.group, {})
        if group.get("alloc_policy") == constants.ALLOC_POLICY_UNALLOCABLE:
            return f"group {self.GroupName(node.group)} is unallocable"
        if spec.group_name and spec.group_name not in (group.get("name"), node.group):
            return f"not in group {spec.group_name}"
        policy = group.get("ipolicy") or {}
        violation = _PolicyViolation(policy, spec)
        if violation:
            return f"instance policy: {violation}"
        if spec.memory > node.free_memory:
            return (f"not enough memory (needs {spec.memory} MiB, {node.free_memory}"
                    " MiB free)")
        if (spec.disk_template in _NODE_STORAGE_TEMPLATES and node.total_disk
                and spec.disk_space > node.free_disk):
            return (f"not enough disk space (needs {spec.disk_space} MiB,"
                    f" {node.free_disk} MiB free)")
        ratio = policy.get(defaults.IPOLICY_VCPU_RATIO)
        if ratio and node.total_cpus and \
                (node.used_vcpus + spec.vcpus) / node.total_cpus > ratio:
            return f"vcpu ratio {ratio} would be exceeded"
        return None

    def Score(self, node: _Node, spec: _Spec) -> tuple[Any, ...]:
        """Sort key: lower is better."""
        policy = self.groups.get(node.group, {}).get("alloc_policy")
        left = (node.free_memory - spec.memory) / max(node.total_memory, 1)
        return (_POLICY_RANK.get(policy, 1), -left, node.primaries, node.name)

    def Place(self, node: _Node, spec: _Spec) -> None:
        """Account for spec now living on node."""
        node.free_memory -= spec.memory
        node.used_vcpus += spec.vcpus
        node.primaries += 1
        if spec.disk_template in _NODE_STORAGE_TEMPLATES:
            node.free_disk -= spec.disk_space

    def BestNode(self, spec: _Spec, exclude: set[str] | None = None,
                 groups: set[str] | None = None) -> tuple[_Node | None, str]:
        """The best node for spec and, if there is none, why."""
        reasons = []
        fitting = []
        for node in self.nodes.values():
            if exclude and node.name in exclude:
                continue
            if groups is not None and node.group not in groups:
                continue
            refusal = self.Refusal(node, spec)
            if refusal is None:
                fitting.append(node)
            else:
                reasons.append(f"{node.name}: {refusal}")
        if fitting:
            return min(fitting, key=lambda node: self.Score(node, spec)), ""
        return None, "; ".join(sorted(reasons)) or "no nodes to choose from"


def _PolicyViolation(policy: dict[str, Any], spec: _Spec) -> str | None:
    from ganeti.cmdlib.instance_utils import ComputeIPolicySpecViolation

    if not policy:
        return None
    ispec = {defaults.ISPEC_MEM_SIZE: spec.memory, defaults.ISPEC_CPU_COUNT: spec.vcpus,
             defaults.ISPEC_DISK_COUNT: len(spec.disk_sizes),
             defaults.ISPEC_DISK_SIZE: spec.disk_sizes,
             defaults.ISPEC_NIC_COUNT: spec.nics,
             defaults.ISPEC_SPINDLE_USE: spec.spindle_use}
    problems = ComputeIPolicySpecViolation(policy, ispec, spec.disk_template)
    return ", ".join(problems) if problems else None


def _SpecFromRequest(request: dict[str, Any]) -> _Spec:
    try:
        return _Spec(name=request["name"], memory=int(request["memory"]),
                     vcpus=int(request["vcpus"]),
                     disk_space=int(request.get("disk_space_total") or 0),
                     disk_template=request["disk_template"],
                     spindle_use=int(request.get("spindle_use") or 1),
                     nics=len(request.get("nics") or []),
                     disk_sizes=[int(d.get("size") or 0)
                                 for d in request.get("disks") or []],
                     group_name=request.get("group_name"))
    except (KeyError, TypeError, ValueError) as err:
        raise _RequestError(f"Invalid allocation request: {err}") from err


def _SpecFromInstance(name: str, inst: dict[str, Any]) -> _Spec:
    return _Spec(name=name, memory=int(inst.get("memory") or 0),
                 vcpus=int(inst.get("vcpus") or 0),
                 disk_space=int(inst.get("disk_space_total") or 0),
                 disk_template=inst.get("disk_template") or constants.DT_DISKLESS,
                 spindle_use=int(inst.get("spindle_use") or 1),
                 nics=len(inst.get("nics") or []),
                 disk_sizes=[int(d.get("size") or 0) for d in inst.get("disks") or []])


def _AllocateOne(cluster: _Cluster, request: dict[str, Any]) -> tuple[list[str], str]:
    """Nodes for one new instance ([] on failure) and a message."""
    spec = _SpecFromRequest(request)
    required = int(request.get("required_nodes") or 1)
    primary, why = cluster.BestNode(spec)
    if primary is None:
        return [], f"no node can host instance {spec.name}: {why}"
    nodes = [primary]
    if required == 2:
        secondary_spec = dataclasses.replace(spec, memory=0, vcpus=0)
        secondary, why = cluster.BestNode(secondary_spec, exclude={primary.name},
                                          groups={primary.group})
        if secondary is None:
            return [], f"no secondary node for instance {spec.name}: {why}"
        nodes.append(secondary)
        if spec.disk_template in _NODE_STORAGE_TEMPLATES:
            secondary.free_disk -= spec.disk_space
    cluster.Place(primary, spec)
    return [node.name for node in nodes], \
        f"selected group {cluster.GroupName(primary.group)}"


def _Allocate(cluster: _Cluster, request: dict[str, Any]) -> tuple[bool, str, Any]:
    nodes, message = _AllocateOne(cluster, request)
    if not nodes:
        return False, f"Request failed: {message}", []
    return True, f"Request successful: {message}, nodes {', '.join(nodes)}", nodes


def _MultiAllocate(cluster: _Cluster,
                   request: dict[str, Any]) -> tuple[bool, str, Any]:
    allocated, failed, messages = [], [], []
    for inst_request in request.get("instances") or []:
        nodes, message = _AllocateOne(cluster, inst_request)
        if nodes:
            allocated.append([inst_request["name"], nodes])
        else:
            failed.append(inst_request["name"])
            messages.append(message)
    info = f"Allocated {len(allocated)} instance(s), {len(failed)} failed"
    if messages:
        info += ": " + "; ".join(messages)
    return True, info, [allocated, failed]


def _Relocate(cluster: _Cluster, request: dict[str, Any]) -> tuple[bool, str, Any]:
    """A node replacing the ones relocated from, in their group."""
    name = request.get("name")
    inst = cluster.instances.get(name)
    if inst is None:
        return False, f"Request failed: instance {name} not in the input document", []
    spec = _SpecFromInstance(str(name), inst)
    relocate_from = list(request.get("relocate_from") or [])
    groups = {cluster.nodes[node].group for node in relocate_from
              if node in cluster.nodes}
    exclude = set(relocate_from) | set(inst.get("nodes") or [])
    target, why = cluster.BestNode(spec, exclude=exclude, groups=groups or None)
    if target is None:
        return False, f"Request failed: no node to relocate {name} to: {why}", []
    cluster.Place(target, spec)
    return True, f"Request successful: relocating {name} to {target.name}", \
        [target.name]


def _MoveJob(name: str, target: str) -> list[dict[str, Any]]:
    """The job moving an instance away (hail's FailoverToAny)."""
    return [{"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": name,
             "target_node": target, "allow_failover": True,
             "ignore_hvversions": True}]


def _Evacuate(cluster: _Cluster, names: list[str], mode: str,
              groups_fn: Any) -> tuple[bool, str, Any]:
    """Move instances away from their nodes (node-evacuate, change-group).

    Args:
      groups_fn: instance primary group uuid -> allowed target group uuids.
    """
    moved, failed, jobs = [], [], []
    for name in names:
        inst = cluster.instances.get(name)
        if inst is None:
            failed.append([name, "Instance not found in the input document"])
            continue
        template = inst.get("disk_template") or constants.DT_DISKLESS
        if mode == _NEVAC_SEC:
            failed.append([name, f"Instances with disk template '{template}' can't"
                           " execute change secondary"])
            continue
        if template in _LOCAL_TEMPLATES:
            failed.append([name, f"Instances of type {template} cannot be relocated"])
            continue
        current = set(inst.get("nodes") or [])
        primary = cluster.nodes.get((inst.get("nodes") or [""])[0])
        spec = _SpecFromInstance(name, inst)
        target, why = cluster.BestNode(
            spec, exclude=current,
            groups=groups_fn(primary.group if primary is not None else None))
        if target is None:
            failed.append([name, f"No node to move {name} to: {why}"])
            continue
        cluster.Place(target, spec)
        moved.append([name, cluster.GroupName(target.group), [target.name]])
        jobs.append(_MoveJob(name, target.name))
    info = f"Moving {len(moved)} instance(s), {len(failed)} cannot be moved"
    return True, info, [moved, failed, jobs]


def _NodeEvacuate(cluster: _Cluster, request: dict[str, Any]) -> tuple[bool, str, Any]:
    return _Evacuate(cluster, list(request.get("instances") or []),
                     request.get("evac_mode", ""),
                     lambda group: None if group is None else {group})


def _ChangeGroup(cluster: _Cluster, request: dict[str, Any]) -> tuple[bool, str, Any]:
    targets = set(request.get("target_groups") or [])
    by_name = {g.get("name"): uuid for uuid, g in cluster.groups.items()}
    targets = {by_name.get(target, target) for target in targets}

    def _Groups(current: str | None) -> set[str]:
        allowed = targets or set(cluster.groups)
        return {uuid for uuid in allowed if uuid != current}

    return _Evacuate(cluster, list(request.get("instances") or []), "", _Groups)


_HANDLERS = {
    _MODE_ALLOC: _Allocate,
    _MODE_MULTI_ALLOC: _MultiAllocate,
    _MODE_RELOC: _Relocate,
    _MODE_NODE_EVAC: _NodeEvacuate,
    _MODE_CHG_GROUP: _ChangeGroup,
}


def Allocate(data: Any) -> dict[str, Any]:
    """Answer an input document: {"success", "info", "result"}.

    Never raises for bad input: the answer then has success false and says
    what is wrong.
    """
    try:
        if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
            raise _RequestError("Invalid input document: no request")
        mode = data["request"].get("type")
        handler = _HANDLERS.get(mode)
        if handler is None:
            raise _RequestError(f"Unknown request type '{mode}'")
        success, info, result = handler(_Cluster(data), data["request"])
    except _RequestError as err:
        return {"success": False, "info": str(err), "result": []}
    return {"success": success, "info": info, "result": result}


def Run(in_text: str) -> str:
    """The allocator as a script sees it: JSON text in, JSON text out."""
    try:
        data = serializer.LoadJson(in_text)
    except errors.ParseError as err:
        return serializer.DumpJson({"success": False, "info": str(err), "result": []})
    return serializer.DumpJson(Allocate(data))
