"""Changing an instance's parameters: gnt-instance modify.

Mirrors Ganeti's lib/cmdlib/instance_set_params.py (LUInstanceSetParams)
and the container-modification helpers of lib/cmdlib/instance_utils.py.

Order of work, as Ganeti's:

* CheckArguments normalises the disk and NIC modification lists (the legacy
  [op_or_index, params] form becomes [op, index, params]) and checks what
  needs no cluster state.
* CheckPrereq validates every change against the cluster: new parameter
  dicts are computed and type-checked, nodes validate hypervisor and OS
  parameters, NIC changes are applied to copies (MACs generated, bridges
  checked), memory is checked on the nodes, the instance policy of the
  node group is checked. Nothing is changed yet, so a refusal leaves the
  configuration untouched.
* Exec changes the nodes where disks are added or removed (each disk is
  recorded as soon as it exists, so a failure half-way leaves no untracked
  file), then applies all parameter changes to the instance and saves the
  configuration once.

Disk template conversion (-t) needs a copy between two templates' devices
on the node; it is refused here with a clear message.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, objects, utils
from ganeti.cmdlib.base import LOCKS_REPLACE, LogicalUnit
from ganeti.cmdlib.common import ExpandNodeUuidAndName
from ganeti.cmdlib.instance_storage import CopyLockList, ForceParamTypes
from ganeti.cmdlib.instance_utils import (
    INSTANCE_DOWN,
    INSTANCE_NOT_RUNNING,
    BuildInstanceHookEnvByObject,
    CalculateFileStorageDir,
    CheckHVParams,
    CheckHvParamsSyntax,
    CheckInstanceState,
    CheckNicParameterSyntax,
    CheckNicsBridgesExist,
    CheckNodeFreeMemory,
    CheckNodeHasOS,
    CheckOSParams,
    ComputeIPolicySpecViolation,
    CreateDisks,
    GenerateDiskTemplate,
    GroupIPolicy,
    NICListToTuple,
    RemoveDisks,
    ShutdownInstanceDisks,
)
from ganeti.cmdlib.node import CheckParamsNotGlobal, GetUpdatedParams

logger = logging.getLogger(__name__)

# Modification kinds (Ganeti's DDM_*).
DDM_ADD = "add"
DDM_ATTACH = "attach"
DDM_MODIFY = "modify"
DDM_REMOVE = "remove"
DDM_DETACH = "detach"
_DDM_ADD_REMOVE = (DDM_ADD, DDM_ATTACH, DDM_REMOVE, DDM_DETACH)

_VS, _VMS, _VSIZE, _VINT = (defaults.VTYPE_STRING, defaults.VTYPE_MAYBE_STRING,
                            defaults.VTYPE_SIZE, defaults.VTYPE_INT)
# Ganeti's IDISK_PARAMS_TYPES, MODIFIABLE_IDISK_PARAMS_TYPES, INIC_PARAMS_TYPES.
IDISK_PARAMS_TYPES = {"size": _VSIZE, "spindles": _VINT, "mode": _VS,
                      "adopt": _VS, "vg": _VS, "metavg": _VS, "provider": _VS,
                      "access": _VS, "name": _VMS}
MODIFIABLE_IDISK_PARAMS_TYPES = {"mode": _VS, "name": _VS}
INIC_PARAMS_TYPES = {"bridge": _VMS, "ip": _VMS, "link": _VS, "mac": _VS,
                     "mode": _VS, "name": _VMS, "network": _VMS, "vlan": _VMS}
_NICS_PARAMETERS = (defaults.NIC_MODE, defaults.NIC_LINK, defaults.NIC_VLAN)
_VALUE_NONE = defaults.VALUE_NONE
_VALUE_GENERATE = "generate"
_NIC_IP_POOL = "pool"
_DISK_ACCESS_SET = (constants.DISK_RDWR, constants.DISK_RDONLY)

ChangeList = list[tuple[str, Any]]


# --- container modifications (Ganeti's instance_utils helpers) --------------------


class InstNicModPrivate:
    """What CheckPrereq computed for one NIC modification."""

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None
        self.filled: dict[str, Any] | None = None


def PrepareContainerMods(mods: list[Any], private_fn: Callable[[], Any] | None
                         ) -> list[tuple[str, Any, dict[str, Any], Any]]:
    """Give each (op, identifier, params) modification a private data slot."""
    return [(op, idx, params, private_fn() if private_fn else None)
            for op, idx, params in mods]


def _Index(identifier: Any) -> int | None:
    try:
        return int(identifier)
    except (TypeError, ValueError):
        return None


def GetIndexFromIdentifier(identifier: Any, kind: str, container: list[Any]) -> int:
    """The position an added item takes: an index, -1 meaning the end.

    Raises:
      errors.OpPrereqError: not an index, or out of range (ECODE_INVAL).
    """
    idx = _Index(identifier)
    if idx is None:
        raise errors.OpPrereqError("Only positive integer or -1 is accepted",
                                   errors.ECODE_INVAL)
    if idx == -1:
        return len(container)
    if idx < 0:
        raise errors.OpPrereqError("Not accepting negative indices other than -1",
                                   errors.ECODE_INVAL)
    if idx > len(container):
        raise errors.OpPrereqError(f"Got {kind} index {idx}, but there are only"
                                   f" {len(container)}", errors.ECODE_INVAL)
    return idx


def GetItemFromContainer(identifier: Any, kind: str, container: list[Any]
                         ) -> tuple[int, Any]:
    """The (index, item) named by an index (-1: the last), a name or a UUID.

    Raises:
      errors.OpPrereqError: no such item.
    """
    idx = _Index(identifier)
    if idx is not None:
        if idx == -1 and container:
            return len(container) - 1, container[-1]
        if idx < 0:
            raise errors.OpPrereqError("Not accepting negative indices other"
                                       " than -1", errors.ECODE_INVAL)
        if idx >= len(container):
            raise errors.OpPrereqError(f"Got {kind} index {idx}, but there are"
                                       f" only {len(container)}",
                                       errors.ECODE_INVAL)
        return idx, container[idx]
    for idx, item in enumerate(container):
        if identifier in (item.uuid, item.name):
            return idx, item
    raise errors.OpPrereqError(f"Cannot find {kind} with identifier {identifier}",
                               errors.ECODE_NOENT)


def ApplyContainerMods(kind: str, container: list[Any], chgdesc: ChangeList | None,
                       mods: list[Any], create_fn: Callable[..., Any] | None,
                       modify_fn: Callable[..., Any] | None,
                       remove_fn: Callable[..., Any] | None,
                       post_add_fn: Callable[..., Any] | None = None) -> None:
    """Apply prepared modifications to a list of disks or NICs, in order.

    create_fn(index, params, private) -> (item, changes); modify_fn(index,
    item, params, private) -> changes; remove_fn(index, item, private) ->
    an optional message. Without a callback the container alone changes.
    Attach and detach reach here only after CheckPrereq refused them.
    """
    for op, identifier, params, private in mods:
        changes = None
        if op == DDM_ADD:
            addidx = GetIndexFromIdentifier(identifier, kind, container)
            item, changes = create_fn(addidx, params, private) if create_fn \
                else (params, None)
            container.insert(addidx, item)
            if post_add_fn is not None:
                post_add_fn(addidx, item)
        elif op == DDM_REMOVE:
            absidx, item = GetItemFromContainer(identifier, kind, container)
            changes = [(f"{kind}/{absidx}", "remove")]
            if remove_fn is not None:
                msg = remove_fn(absidx, item, private)
                if msg:
                    changes.append((f"{kind}/{absidx}", msg))
            del container[absidx]
        elif op == DDM_MODIFY:
            absidx, item = GetItemFromContainer(identifier, kind, container)
            if modify_fn is not None:
                changes = modify_fn(absidx, item, params, private)
        else:
            raise errors.ProgrammerError(f"Unhandled operation '{op}'")
        if chgdesc is not None and changes:
            chgdesc.extend(changes)


def _ValidateDeviceNames(kind: str, items: list[Any]) -> None:
    """Names of disks/NICs must be unique and not look like indices.

    Raises:
      errors.OpPrereqError: (ECODE_NOTUNIQUE/ECODE_INVAL).
    """
    seen: set[str] = set()
    for item in items:
        name = item.name
        if name is None or name.lower() == _VALUE_NONE:
            continue
        if _Index(name) is not None:
            raise errors.OpPrereqError(f"Invalid {kind} name '{name}': names must"
                                       " not be numbers", errors.ECODE_INVAL)
        if name in seen:
            raise errors.OpPrereqError(f"{kind} name '{name}' already used",
                                       errors.ECODE_NOTUNIQUE)
        seen.add(name)


def _NoneValue(params: dict[str, Any], key: str) -> None:
    """Turn a "none" string (any case) into None."""
    value = params.get(key)
    if isinstance(value, str) and value.lower() == _VALUE_NONE:
        params[key] = None


# --- the logical unit -------------------------------------------------------------


class LUInstanceSetParams(LogicalUnit):
    """Modify an instance's parameters, disks and NICs."""

    HPATH = "instance-modify"
    HTYPE = constants.HTYPE_INSTANCE
    REQ_BGL = False

    @staticmethod
    def _UpgradeDiskNicMods(kind: str, mods: list[Any]) -> list[Any]:
        """The legacy [op_or_index, params] form as [op, index, params].

        Raises:
          errors.OpPrereqError: more than one add/remove in the legacy form.
        """
        if not mods or len(mods[0]) == 3:
            return [tuple(mod) for mod in mods]
        result, addremove = [], 0
        for op, params in mods:
            if op in _DDM_ADD_REMOVE:
                result.append((op, -1, params))
                addremove += 1
                if addremove > 1:
                    raise errors.OpPrereqError(
                        f"Only one {kind} add/attach/remove/detach operation is"
                        " supported at a time", errors.ECODE_INVAL)
            else:
                result.append((DDM_MODIFY, op, params))
        return result

    @staticmethod
    def _CheckMods(kind: str, mods: list[Any], key_types: dict[str, str],
                   item_fn: Callable[[str, dict[str, Any]], None]) -> None:
        """Type-check each modification's parameters, then item_fn them.

        Raises:
          errors.OpPrereqError: see the messages.
        """
        for op, _, params in mods:
            if op in (DDM_ATTACH, DDM_DETACH):
                raise errors.OpPrereqError(
                    f"The '{op}' operation on {kind}s is not supported by this"
                    " installation", errors.ECODE_INVAL)
            ForceParamTypes(params, key_types, f"{kind} {op}")
            if op == DDM_REMOVE:
                if params:
                    raise errors.OpPrereqError("No settings should be passed when"
                                               f" removing or detaching a {kind}",
                                               errors.ECODE_INVAL)
            else:
                item_fn(op, params)

    @staticmethod
    def _VerifyNicModification(op: str, params: dict[str, Any]) -> None:
        """Check one NIC add/modify (network vs mode/link, IP, MAC).

        Raises:
          errors.OpPrereqError: see the messages.
        """
        if params.get("bridge") is not None:
            if params.get(defaults.NIC_LINK) is not None:
                raise errors.OpPrereqError("Cannot pass 'bridge' and 'link' at"
                                           " the same time", errors.ECODE_INVAL)
            params[defaults.NIC_LINK] = params.pop("bridge")
        params.pop("bridge", None)
        _NoneValue(params, "name")
        req_net = params.get("network")
        if req_net is not None:
            if req_net.lower() == _VALUE_NONE:
                params["network"] = None
            elif params.get("link") is not None or params.get("mode") is not None:
                raise errors.OpPrereqError("If network is given mode or link"
                                           " should not", errors.ECODE_INVAL)
        if op == DDM_ADD and params.get("mac") is None:
            params["mac"] = defaults.VALUE_AUTO
        ip = params.get("ip")
        if ip is not None:
            if ip.lower() == _VALUE_NONE:
                params["ip"] = None
            elif ip.lower() == _NIC_IP_POOL:
                raise errors.OpPrereqError(
                    "ip=pool needs IP address pools, which this installation"
                    " does not provide", errors.ECODE_INVAL)
            else:
                try:
                    ipaddress.ip_address(ip)
                except ValueError as err:
                    raise errors.OpPrereqError(f"Invalid IP address '{ip}'",
                                               errors.ECODE_INVAL) from err
        mac = params.get("mac")
        if mac is not None and mac not in (defaults.VALUE_AUTO, _VALUE_GENERATE):
            params["mac"] = utils.NormalizeAndValidateMac(mac)
        if op == DDM_MODIFY and mac == defaults.VALUE_AUTO:
            raise errors.OpPrereqError("'auto' is not a valid MAC address when"
                                       " modifying an existing NIC",
                                       errors.ECODE_INVAL)

    def CheckArguments(self) -> None:
        """Raises errors.OpPrereqError: no change, or a malformed change."""
        op = self.op
        if not (op.nics or op.disks or op.disk_template or op.hvparams or
                op.beparams or op.os_name or op.osparams or op.offline is not None
                or op.runtime_mem or op.pnode or op.osparams_private or
                op.instance_communication is not None):
            raise errors.OpPrereqError("No changes submitted", errors.ECODE_INVAL)
        if op.hvparams:
            CheckParamsNotGlobal(op.hvparams, defaults.HVC_GLOBALS, "hypervisor",
                                 "instance", "cluster")
        op.disks = self._UpgradeDiskNicMods("disk", op.disks)
        op.nics = self._UpgradeDiskNicMods("NIC", op.nics)
        if op.disk_template:
            if op.disks:
                raise errors.OpPrereqError("Disk template conversion and other"
                                           " disk changes not supported at the"
                                           " same time", errors.ECODE_INVAL)
            raise errors.OpPrereqError(
                "Converting an instance to another disk template is not"
                " supported by this installation; re-create the instance"
                " instead", errors.ECODE_INVAL)
        if op.instance_communication:
            raise errors.OpPrereqError(
                "Instance communication needs a network with an IP address"
                " pool, which this installation does not provide",
                errors.ECODE_INVAL)
        self._CheckMods("NIC", op.nics, INIC_PARAMS_TYPES,
                        self._VerifyNicModification)
        if op.pnode:
            op.pnode_uuid, op.pnode = ExpandNodeUuidAndName(self.cfg,
                                                            op.pnode_uuid,
                                                            op.pnode)

    def ExpandNames(self) -> None:
        self._ExpandAndLockInstance()
        self.needed_locks[locking.LEVEL_NODEGROUP] = []
        self.needed_locks[locking.LEVEL_NODE] = []
        self.needed_locks[locking.LEVEL_NODE_RES] = []
        self.recalculate_locks[locking.LEVEL_NODE] = LOCKS_REPLACE
        # Node groups only for reading their instance policy.
        self.share_locks[locking.LEVEL_NODEGROUP] = 1

    def DeclareLocks(self, level: int) -> None:
        if level == locking.LEVEL_NODEGROUP:
            nodes = self.cfg.GetInstanceNodes(self.op.instance_uuid)
            self.needed_locks[locking.LEVEL_NODEGROUP] = sorted(
                {self.cfg.GetNodeInfo(uuid).group for uuid in nodes})
        elif level == locking.LEVEL_NODE:
            self._LockInstancesNodes()
            if self.op.pnode_uuid:
                self.needed_locks[locking.LEVEL_NODE].append(self.op.pnode_uuid)
        elif level == locking.LEVEL_NODE_RES and self.op.disks:
            self.needed_locks[locking.LEVEL_NODE_RES] = \
                CopyLockList(self.needed_locks[locking.LEVEL_NODE])

    def BuildHooksEnv(self) -> dict[str, Any]:
        override: dict[str, Any] = {key: self.be_new[key]
                                    for key in ("minmem", "maxmem", "vcpus")
                                    if key in self.be_new}
        if self._new_nics is not None:
            override["nics"] = NICListToTuple(self, self._new_nics)
        env = BuildInstanceHookEnvByObject(self, self.instance, override=override)
        if self.op.runtime_mem:
            env["RUNTIME_MEMORY"] = self.op.runtime_mem
        return env

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.cfg.GetMasterNode(),
                 *self.cfg.GetInstanceNodes(self.instance.uuid)]
        return nodes, nodes

    # --- prerequisites ------------------------------------------------------------

    def CheckPrereq(self) -> None:
        """Validate every requested change; change nothing.

        Raises:
          errors.OpPrereqError: a change is invalid or impossible.
        """
        self.instance = instance = self.cfg.GetInstanceInfo(self.op.instance_uuid)
        self.cluster = self.cfg.GetClusterInfo()
        self.warn: list[str] = []
        self.disk_template = self.cfg.GetInstanceDiskTemplate(instance.uuid)
        cluster_hvparams = self.cluster.hvparams.get(instance.hypervisor, {})
        node_uuids = self.cfg.GetInstanceNodes(instance.uuid)
        pnode_uuid = instance.primary_node
        self._CheckPnodeChange(cluster_hvparams)
        self._CheckHotplug()
        self._PrepareNicCommunication()
        ispec: dict[str, Any] = {}
        self._PreCheckDisks(ispec)
        self._ProcessHVParams(node_uuids)
        be_old = self._ProcessBeParams()
        self._ProcessOsParams(node_uuids)
        self._ProcessMem(cluster_hvparams, be_old, pnode_uuid)
        self._PrepareNics(ispec, pnode_uuid)
        if not self.op.ignore_ipolicy:
            self._CheckIPolicy(ispec)

    def _CheckPnodeChange(self, cluster_hvparams: dict[str, Any]) -> None:
        if (self.op.pnode_uuid is None or self.op.force or
                self.op.pnode_uuid == self.instance.primary_node):
            return
        result = self._GetInstanceInfo(cluster_hvparams)
        if result.fail_msg:
            self.warn.append(f"Can't get instance runtime information:"
                             f" {result.fail_msg}")
        elif result.payload:
            raise errors.OpPrereqError(
                "Instance is still running on"
                f" {self.cfg.GetNodeName(self.instance.primary_node)}",
                errors.ECODE_STATE)

    def _GetInstanceInfo(self, cluster_hvparams: dict[str, Any]) -> Any:
        return self.rpc.call_instance_info(self.instance.primary_node,
                                           self.instance.name,
                                           self.instance.hypervisor,
                                           cluster_hvparams)

    def _CheckHotplug(self) -> None:
        if not (self.op.hotplug or self.op.hotplug_if_possible):
            return
        result = self.rpc.call_hotplug_supported(self.instance.primary_node,
                                                 self.instance)
        if not result.fail_msg:
            self.op.hotplug = True
        elif self.op.hotplug:
            result.Raise(f"Hotplug is not possible: {result.fail_msg}",
                         prereq=True, ecode=errors.ECODE_STATE)
        else:
            self.LogWarning(result.fail_msg)
            self.op.hotplug = False
            self.LogInfo("Modification will take place without hotplugging.")

    def _PrepareNicCommunication(self) -> None:
        """Disabling instance communication removes its NIC, if any."""
        if self.op.instance_communication is False:
            name = f"ganeti:communication:{self.instance.name}"
            if any(nic.name == name for nic in self.instance.nics or []):
                self.op.nics.append((DDM_REMOVE, name, {}))
        self.nicmod = PrepareContainerMods(self.op.nics, InstNicModPrivate)

    def _VerifyDiskModification(self, op: str, params: dict[str, Any]) -> None:
        """Check one disk add/modify.

        Raises:
          errors.OpPrereqError: see the messages.
        """
        if op == DDM_ADD:
            mode = params.setdefault("mode", constants.DISK_RDWR)
            if mode not in _DISK_ACCESS_SET:
                raise errors.OpPrereqError(f"Invalid disk access mode '{mode}'",
                                           errors.ECODE_INVAL)
            if params.get("size") is None:
                raise errors.OpPrereqError("Required disk parameter 'size'"
                                           " missing", errors.ECODE_INVAL)
            if params.get("provider") is not None:
                raise errors.OpPrereqError(
                    "Parameter 'provider' is only valid for instances of type"
                    " 'ext'", errors.ECODE_INVAL)
            params["size"] = int(params["size"])
        elif op == DDM_MODIFY:
            if "size" in params:
                raise errors.OpPrereqError("Disk size change not possible, use"
                                           " grow-disk", errors.ECODE_INVAL)
            ForceParamTypes(params, MODIFIABLE_IDISK_PARAMS_TYPES, "disk modify")
            mode = params.get("mode")
            if mode is not None and mode not in _DISK_ACCESS_SET:
                raise errors.OpPrereqError(f"Invalid disk access mode '{mode}'",
                                           errors.ECODE_INVAL)
        _NoneValue(params, "name")

    def _PreCheckDisks(self, ispec: dict[str, Any]) -> None:
        """Check the disk changes (on copies) and the offline/online change."""
        inst_disks = self.cfg.GetInstanceDisks(self.instance.uuid)
        if self.op.disks and self.disk_template == constants.DT_DISKLESS:
            raise errors.OpPrereqError("Disk operations not supported for"
                                       " diskless instances", errors.ECODE_INVAL)
        self._CheckMods("disk", self.op.disks, IDISK_PARAMS_TYPES,
                        self._VerifyDiskModification)
        self.diskmod = PrepareContainerMods(self.op.disks, None)
        for op, *_ in self.diskmod:
            if op == DDM_REMOVE and not self.op.hotplug:
                CheckInstanceState(self, self.instance, INSTANCE_DOWN,
                                   msg="cannot remove disks")
            if op == DDM_ADD and not self.op.wait_for_sync and \
                    not self.instance.disks_active:
                raise errors.OpPrereqError(
                    f"Can't {op} a disk to an instance with deactivated disks"
                    " and --no-wait-for-sync given", errors.ECODE_INVAL)

        def _PrepareDiskMod(_idx: int, disk: Any, params: dict[str, Any],
                            _private: Any) -> None:
            if "name" in params:
                disk.name = params["name"]

        disks = [disk.Copy() for disk in inst_disks]
        ApplyContainerMods("disk", disks, None, self.diskmod,
                           lambda _i, params, _p: (objects.Disk(
                               name=params.get("name"), size=params["size"]),
                               None),
                           _PrepareDiskMod, None)
        _ValidateDeviceNames("disk", disks)
        if len(disks) > defaults.MAX_DISKS:
            raise errors.OpPrereqError("Instance has too many disks"
                                       f" ({defaults.MAX_DISKS}), cannot add more",
                                       errors.ECODE_STATE)
        ispec[defaults.ISPEC_DISK_COUNT] = len(disks)
        ispec[defaults.ISPEC_DISK_SIZE] = [disk.size for disk in disks]
        if self.op.offline is not None:
            msg = ("can't change to offline without being down first"
                   if self.op.offline else
                   "can't change to online (down) without being offline first")
            CheckInstanceState(self, self.instance, INSTANCE_NOT_RUNNING, msg=msg)

    def _ProcessHVParams(self, node_uuids: list[str]) -> None:
        hv_type, os_name = self.instance.hypervisor, self.instance.os
        if self.op.hvparams:
            i_hvdict = GetUpdatedParams(self.instance.hvparams, self.op.hvparams)
            base = self.cluster.SimpleFillHV(hv_type, os_name, {})
            self.hv_new = CheckHvParamsSyntax(hv_type, i_hvdict, base)
            CheckHVParams(self, node_uuids, hv_type, self.hv_new)
            self.hv_inst = i_hvdict
            self.hv_proposed = self.hv_new
        else:
            self.hv_new = self.hv_inst = {}
            self.hv_proposed = self.cluster.SimpleFillHV(hv_type, os_name,
                                                         self.instance.hvparams)

    def _ProcessBeParams(self) -> dict[str, Any]:
        """Compute the new backend parameters; return the current filled ones.

        Raises:
          errors.OpPrereqError: unknown parameter, bad value, or minmem
            above maxmem.
        """
        if self.op.beparams:
            i_bedict = GetUpdatedParams(self.instance.beparams, {
                key: (defaults.VALUE_DEFAULT if value is None else value)
                for key, value in self.op.beparams.items()})
            objects.UpgradeBeParams(i_bedict)
            ForceParamTypes(i_bedict, defaults.BES_PARAMETER_TYPES,
                            "backend parameters")
            self.be_new = self.cluster.SimpleFillBE(i_bedict)
            self.be_inst = i_bedict
            self.be_proposed = self.be_new
            if self.be_new[defaults.BE_MINMEM] > self.be_new[defaults.BE_MAXMEM]:
                raise errors.OpPrereqError(
                    f"Minimum memory ({self.be_new[defaults.BE_MINMEM]} MiB) must"
                    " not be larger than maximum memory"
                    f" ({self.be_new[defaults.BE_MAXMEM]} MiB)", errors.ECODE_INVAL)
        else:
            self.be_new = self.be_inst = {}
            self.be_proposed = self.cluster.SimpleFillBE(self.instance.beparams)
        return self.cluster.FillBE(self.instance)

    def _ProcessOsParams(self, node_uuids: list[str]) -> None:
        """Check the new OS and OS parameters on the nodes.

        Raises:
          errors.OpPrereqError: unknown OS or variant, a parameter given both
            public and private, or parameters the OS refuses.
        """
        pnode = self.instance.primary_node
        if self.op.os_name and not self.op.force:
            CheckNodeHasOS(self, pnode, self.op.os_name, self.op.force_variant)
        instance_os = (self.op.os_name if self.op.os_name and not self.op.force
                       else self.instance.os)
        self.os_inst, self.os_inst_private = {}, {}
        if not (self.op.osparams or self.op.osparams_private):
            return
        public = self.op.osparams or {}
        private = self.op.osparams_private or {}
        dupes = sorted(set(public) & set(private))
        if dupes:
            raise errors.OpPrereqError(f"OS parameters repeated multiple times:"
                                       f" {utils.CommaJoin(dupes)}",
                                       errors.ECODE_INVAL)
        self.os_inst = GetUpdatedParams(self.instance.osparams, public)
        self.os_inst_private = GetUpdatedParams(self.instance.osparams_private,
                                                private)
        CheckOSParams(self, True, node_uuids, instance_os,
                      objects.FillDict(self.os_inst, self.os_inst_private),
                      self.op.force_variant)

    def _ProcessMem(self, cluster_hvparams: dict[str, Any], be_old: dict[str, Any],
                    pnode_uuid: str) -> None:
        """Memory checks of a bigger maxmem and of --runtime-memory.

        Raises:
          errors.OpPrereqError: the node lacks memory, or the instance is not
            running for a runtime change, or the runtime memory is outside
            [minmem, maxmem] without --force.
        """
        maxmem = defaults.BE_MAXMEM
        if (maxmem in self.op.beparams and not self.op.force and
                self.be_new[maxmem] > be_old[maxmem]):
            self._CheckPrimaryMemory(cluster_hvparams, pnode_uuid)
        if not self.op.runtime_mem:
            return
        result = self._GetInstanceInfo(cluster_hvparams)
        result.Raise(f"Error checking node {self.cfg.GetNodeName(pnode_uuid)}",
                     prereq=True)
        if not result.payload:
            raise errors.OpPrereqError(f"Instance {self.instance.name} is not"
                                       " running", errors.ECODE_STATE)
        current = int(result.payload["memory"])
        minmem = self.be_proposed[defaults.BE_MINMEM]
        maxmem_v = self.be_proposed[maxmem]
        if not self.op.force and not minmem <= self.op.runtime_mem <= maxmem_v:
            raise errors.OpPrereqError(
                f"Instance {self.instance.name} must have memory between"
                f" {minmem} and {maxmem_v} MB of memory unless --force is given",
                errors.ECODE_INVAL)
        delta = self.op.runtime_mem - current
        if delta > 0:
            CheckNodeFreeMemory(self, pnode_uuid, "ballooning memory for instance"
                                f" {self.instance.name}", delta,
                                self.instance.hypervisor, cluster_hvparams)

    def _CheckPrimaryMemory(self, cluster_hvparams: dict[str, Any],
                            pnode_uuid: str) -> None:
        hvspecs = [[self.instance.hypervisor, cluster_hvparams]]
        node_info = self.rpc.call_node_info([pnode_uuid], None,
                                            hvspecs)[pnode_uuid]
        inst_info = self._GetInstanceInfo(cluster_hvparams)
        name = self.cfg.GetNodeName(pnode_uuid)
        if node_info.fail_msg:
            # As Ganeti: an unreachable primary only warrants a warning.
            self.warn.append(f"Can't get info from primary node {name}:"
                             f" {node_info.fail_msg}")
            return
        hv_info = (node_info.payload[2] or [{}])[0] or {}
        free = hv_info.get("memory_free")
        if not isinstance(free, int):
            self.warn.append(f"Node data from primary node {name} doesn't contain"
                             " free memory information")
        elif inst_info.fail_msg:
            self.warn.append(f"Can't get instance runtime information:"
                             f" {inst_info.fail_msg}")
        else:
            current = int((inst_info.payload or {}).get("memory", 0))
            missing = self.be_new[defaults.BE_MAXMEM] - current - free
            if missing > 0:
                raise errors.OpPrereqError(
                    "This change will prevent the instance from starting, due to"
                    f" {missing} MB of memory missing on its primary node",
                    errors.ECODE_NORES)

    # --- NICs ---------------------------------------------------------------------

    def _UsedMacs(self) -> set[str]:
        return {nic.mac for inst in self.cfg.GetAllInstancesInfo().values()
                if inst.uuid != self.instance.uuid for nic in inst.nics or []}

    def _PrepareNicModification(self, params: dict[str, Any],
                                private: InstNicModPrivate, old_ip: str | None,
                                old_net_uuid: str | None,
                                old_params: dict[str, Any] | None,
                                pnode_uuid: str) -> None:
        """Compute a NIC's new parameters into private; check bridge and MAC.

        Raises:
          errors.OpPrereqError: see the messages.
        """
        update = {key: params[key] for key in _NICS_PARAMETERS if key in params}
        new_net = params.get("network", old_net_uuid)
        new_net_uuid = self.cfg.LookupNetwork(new_net) if new_net else None
        if new_net_uuid:
            group = self.cfg.GetNodeGroup(self.cfg.GetNodeInfo(pnode_uuid).group)
            netparams = (group.networks or {}).get(new_net_uuid)
            if not netparams:
                raise errors.OpPrereqError(
                    f"No netparams found for the network {new_net}, probably not"
                    " connected", errors.ECODE_INVAL)
            new_params = dict(netparams)
        else:
            new_params = GetUpdatedParams(old_params, update)
        ForceParamTypes(new_params, defaults.NICS_PARAMETER_TYPES, "NIC")
        filled = self.cluster.SimpleFillNIC(new_params)
        CheckNicParameterSyntax(filled)
        self._CheckNicMode(filled, params, old_ip, new_net_uuid, pnode_uuid)
        self._PrepareNicMac(params, new_net_uuid, old_net_uuid)
        if old_net_uuid is not None and new_net_uuid == old_net_uuid and \
                (update.get("link") is not None or update.get("mode") is not None):
            raise errors.OpPrereqError("Not allowed to change link or mode of a"
                                       " NIC that is connected to a network",
                                       errors.ECODE_INVAL)
        new_ip = params.get("ip", old_ip)
        if new_ip and not new_net_uuid and self.op.conflicts_check and \
                (new_ip, new_net_uuid) != (old_ip, old_net_uuid):
            self._CheckForConflictingIp(new_ip, pnode_uuid)
        private.params = new_params
        private.filled = filled

    def _CheckNicMode(self, filled: dict[str, Any], params: dict[str, Any],
                      old_ip: str | None, new_net_uuid: str | None,
                      pnode_uuid: str) -> None:
        mode = filled[defaults.NIC_MODE]
        if mode == constants.NIC_MODE_BRIDGED:
            probe = objects.NIC(nicparams=dict(filled))
            try:
                CheckNicsBridgesExist(self, [probe], pnode_uuid)
            except errors.OpPrereqError as err:
                if not self.op.force:
                    raise
                self.warn.append(str(err))
        elif mode == constants.NIC_MODE_ROUTED:
            if params.get("ip", old_ip) is None and not new_net_uuid:
                raise errors.OpPrereqError("Cannot set the NIC IP address to None"
                                           " on a routed NIC if not attached to"
                                           " a network", errors.ECODE_INVAL)
        elif mode == constants.NIC_MODE_OVS:
            self.LogInfo("OVS links are currently not checked for correctness")

    def _PrepareNicMac(self, params: dict[str, Any], new_net_uuid: str | None,
                       old_net_uuid: str | None) -> None:
        used = self._UsedMacs() | self._pending_macs
        if "mac" in params:
            mac = params["mac"]
            if mac is None:
                raise errors.OpPrereqError("Cannot unset the NIC MAC address",
                                           errors.ECODE_INVAL)
            if mac in (defaults.VALUE_AUTO, _VALUE_GENERATE):
                mac = self.cfg.GenerateMAC(new_net_uuid)
                while mac in used:
                    mac = self.cfg.GenerateMAC(new_net_uuid)
                params["mac"] = mac
            elif mac in used:
                raise errors.OpPrereqError(f"MAC address '{mac}' already in use"
                                           " in cluster", errors.ECODE_NOTUNIQUE)
            self._pending_macs.add(params["mac"])
        elif new_net_uuid != old_net_uuid:
            prefixes = [self.cfg.GetNetwork(uuid).mac_prefix if uuid else None
                        for uuid in (new_net_uuid, old_net_uuid)]
            if prefixes[0] != prefixes[1]:
                params["mac"] = self.cfg.GenerateMAC(new_net_uuid)
                self._pending_macs.add(params["mac"])

    def _CheckForConflictingIp(self, ip: str, node_uuid: str) -> None:
        """Refuse an IP inside a network of the node's group (Ganeti's check).

        Raises:
          errors.OpPrereqError: (ECODE_STATE) it belongs to such a network.
        """
        group = self.cfg.GetNodeGroup(self.cfg.GetNodeInfo(node_uuid).group)
        for net_uuid in (group.networks or {}) if group else ():
            net = self.cfg.GetNetwork(net_uuid)
            try:
                inside = ipaddress.ip_address(ip) in ipaddress.ip_network(
                    net.network, strict=False)
            except (TypeError, ValueError):
                continue
            if inside:
                raise errors.OpPrereqError(
                    f"The requested IP address ({ip}) belongs to network"
                    f" {net.name} ({net_uuid}), but the target NIC does not.",
                    errors.ECODE_STATE)

    def _PrepareNics(self, ispec: dict[str, Any], pnode_uuid: str) -> None:
        """Apply the NIC changes to copies, to check them and show them to hooks.

        Raises:
          errors.OpPrereqError: a change is invalid, or too many NICs.
        """
        self._pending_macs: set[str] = set()

        def _PrepareCreate(_idx: int, params: dict[str, Any],
                           private: InstNicModPrivate) -> tuple[None, None]:
            self._PrepareNicModification(params, private, None, None, {},
                                         pnode_uuid)
            return None, None

        def _PrepareMod(_idx: int, nic: objects.NIC, params: dict[str, Any],
                        private: InstNicModPrivate) -> None:
            self._PrepareNicModification(params, private, nic.ip, nic.network,
                                         nic.nicparams, pnode_uuid)

        current = self.instance.nics or []
        ApplyContainerMods("NIC", [nic.Copy() for nic in current], None,
                           self.nicmod, _PrepareCreate, _PrepareMod, None)
        self._nic_chgdesc: ChangeList = []
        if self.nicmod:
            nics = [nic.Copy() for nic in current]
            ApplyContainerMods("NIC", nics, self._nic_chgdesc, self.nicmod,
                               self._CreateNewNic, self._ApplyNicMods, None)
            if len(nics) > defaults.MAX_NICS:
                raise errors.OpPrereqError(
                    "Instance has too many network interfaces"
                    f" ({defaults.MAX_NICS}), cannot add more", errors.ECODE_STATE)
            _ValidateDeviceNames("NIC", nics)
            self._new_nics: list[objects.NIC] | None = nics
        else:
            self._new_nics = None
        ispec[defaults.ISPEC_NIC_COUNT] = len(self._new_nics if self._new_nics
                                             is not None else current)

    def _CreateNewNic(self, idx: int, params: dict[str, Any],
                      private: InstNicModPrivate) -> tuple[objects.NIC, ChangeList]:
        mac, ip, net = params["mac"], params.get("ip"), params.get("network")
        nic = objects.NIC(mac=mac, ip=ip, network=self.cfg.LookupNetwork(net),
                          name=params.get("name"), nicparams=private.params,
                          uuid=self.cfg.GenerateUniqueID())
        filled = private.filled or {}
        changes = [(f"nic.{idx}",
                    f"add:mac={mac},ip={ip},mode={filled.get('mode')},"
                    f"link={filled.get('link')},network={net}")]
        return nic, changes

    def _ApplyNicMods(self, idx: int, nic: objects.NIC, params: dict[str, Any],
                      private: InstNicModPrivate) -> ChangeList:
        changes: ChangeList = []
        for key in ("mac", "ip", "name"):
            if key in params:
                changes.append((f"nic.{key}/{idx}", params[key]))
                setattr(nic, key, params[key])
        new_net = params.get("network", nic.network)
        new_net_uuid = self.cfg.LookupNetwork(new_net) if new_net else None
        if new_net_uuid != nic.network:
            changes.append((f"nic.network/{idx}", new_net))
            nic.network = new_net_uuid
        if private.params is not None:
            nic.nicparams = private.params
            for key, value in (private.filled or {}).items():
                changes.append((f"nic.{key}/{idx}", value))
        return changes

    def _CheckIPolicy(self, ispec: dict[str, Any]) -> None:
        """Raises errors.OpPrereqError: the result breaks the group's policy."""
        group_uuid = self.cfg.GetNodeInfo(self.instance.primary_node).group
        group = self.cfg.GetNodeGroup(group_uuid)
        ipolicy = GroupIPolicy(self.cfg, group_uuid)
        # As Ganeti: backend values are checked only when they change.
        be = self.be_new
        ispec[defaults.ISPEC_SPINDLE_USE] = be.get(defaults.BE_SPINDLE_USE)
        ispec[defaults.ISPEC_CPU_COUNT] = be.get(defaults.BE_VCPUS)
        problems: list[str] = []
        for key in (defaults.BE_MAXMEM, defaults.BE_MINMEM):
            spec = dict(ispec, **{defaults.ISPEC_MEM_SIZE: be.get(key)})
            problems += ComputeIPolicySpecViolation(ipolicy, spec,
                                                    self.disk_template)
        if problems:
            raise errors.OpPrereqError(
                f"Instance allocation to group {group_uuid} ({group.name})"
                f" violates policy: {utils.CommaJoin(sorted(set(problems)))}",
                errors.ECODE_INVAL)

    # --- execution ----------------------------------------------------------------

    def _HotplugDevice(self, action: str, dev_type: str, device: Any,
                       extra: Any, seq: int) -> str:
        self.LogInfo("Trying to hotplug device...")
        result = self.rpc.call_hotplug_device(self.instance.primary_node,
                                              self.instance, action, dev_type,
                                              (device, self.instance), extra, seq)
        if result.fail_msg:
            self.LogWarning("Could not hotplug device: %s", result.fail_msg)
            self.LogInfo("Continuing execution..")
            return "hotplug:failed"
        self.LogInfo("Hotplug done.")
        return "hotplug:done"

    def _CreateNewDisk(self, idx: int, params: dict[str, Any],
                       _private: Any) -> tuple[objects.Disk, ChangeList]:
        """Create a disk on the node and record it in the configuration.

        Raises:
          errors.OpExecError: the node could not create it (nothing left).
        """
        file_dir = CalculateFileStorageDir(self.disk_template, self.cfg,
                                           self.instance.name,
                                           self.op.file_storage_dir)
        (disk,) = GenerateDiskTemplate(
            self, self.disk_template, self.instance.uuid,
            self.instance.primary_node, [], [params], file_dir,
            self.op.file_driver, idx, self.Log)
        CreateDisks(self, self.instance, disks=[disk])
        self.cfg.AddInstanceDisk(self.instance.uuid, disk, idx)
        changes = [(f"disk/{idx}", f"add:size={disk.size},mode={disk.mode}")]
        if self.op.hotplug:
            result = self.rpc.call_blockdev_assemble(
                self.instance.primary_node, (disk, self.instance), self.instance,
                True, idx)
            if result.fail_msg:
                changes.append((f"disk/{idx}", "assemble:failed"))
                self.LogWarning("Can't assemble newly created disk %d: %s", idx,
                                result.fail_msg)
            else:
                _, link_name, uri = result.payload
                changes.append((f"disk/{idx}", self._HotplugDevice(
                    "hotadd", "disk", disk, (link_name, uri), idx)))
        return disk, changes

    def _PostAddDisk(self, _idx: int, disk: objects.Disk) -> None:
        # File disks need no syncing; keep the instance's disk state.
        if not self.instance.disks_active and not self.op.hotplug:
            ShutdownInstanceDisks(self, self.instance, disks=[disk])

    def _ModifyDisk(self, idx: int, disk: objects.Disk, params: dict[str, Any],
                    _private: Any) -> ChangeList:
        changes: ChangeList = []
        for key in ("mode", "name"):
            if key in params:
                setattr(disk, key, params[key])
                changes.append((f"disk.{key}/{idx}", params[key]))
        self.cfg.Update(disk, self.Log)
        return changes

    def _RemoveDisk(self, idx: int, disk: objects.Disk, _private: Any) -> str:
        msg = ""
        if self.op.hotplug:
            msg = self._HotplugDevice("hotdel", "disk", disk, None, idx)
            ShutdownInstanceDisks(self, self.instance, disks=[disk])
        if not RemoveDisks(self, self.instance, disks=[disk]):
            self.LogWarning("Could not remove the disk %s completely; check the"
                            " node", disk.iv_name)
        self.cfg.RemoveInstanceDisk(self.instance.uuid, disk.uuid)
        return msg

    def _RemoveNic(self, idx: int, nic: objects.NIC, _private: Any) -> str | None:
        if self.op.hotplug:
            return self._HotplugDevice("hotdel", "nic", nic, None, idx)
        return None

    def Exec(self, feedback_fn: Callable[..., None]) -> ChangeList:
        """Apply the changes; the instance's parameters are saved once.

        Returns:
          [(what, new value)] as Ganeti reports them.

        Raises:
          errors.OpExecError: a node failed (disk added/removed, memory).
        """
        for warning in self.warn:
            feedback_fn(f"WARNING: {warning}")
        result: ChangeList = []
        instance = self.instance
        if self.op.runtime_mem:
            res = self.rpc.call_instance_balloon_memory(instance.primary_node,
                                                        instance,
                                                        self.op.runtime_mem)
            res.Raise("Cannot modify instance runtime memory")
            result.append(("runtime_memory", self.op.runtime_mem))
        if self.diskmod:
            ApplyContainerMods("disk", self.cfg.GetInstanceDisks(instance.uuid),
                               result, self.diskmod, self._CreateNewDisk,
                               self._ModifyDisk, self._RemoveDisk,
                               post_add_fn=self._PostAddDisk)
        self._ApplyInstanceChanges(result)
        self.cfg.Update(instance, feedback_fn)
        return result

    def _ApplyInstanceChanges(self, result: ChangeList) -> None:
        """Set every parameter change on the instance object (not saved)."""
        instance, op = self.instance, self.op
        if op.pnode_uuid:
            instance.primary_node = op.pnode_uuid
            for disk in self.cfg.GetInstanceDisks(instance.uuid):
                disk.nodes = [op.pnode_uuid]
        if self._new_nics is not None:
            instance.nics = self._new_nics
            result.extend(self._nic_chgdesc)
        for values, attr, kind, inst_values in (
                (op.hvparams, "hvparams", "hv", self.hv_inst),
                (op.beparams, "beparams", "be", self.be_inst),
                (op.osparams, "osparams", "os", self.os_inst)):
            if values:
                setattr(instance, attr, inst_values)
                result.extend((f"{kind}/{key}", value)
                              for key, value in values.items())
        if op.osparams_private:
            instance.osparams_private = self.os_inst_private
            result.extend((f"os_private/{key}", "<redacted>")
                          for key in op.osparams_private)
        if op.os_name:
            instance.os = op.os_name
        if op.offline is not None:
            # As MarkInstanceOffline/MarkInstanceDown, in the same save.
            state = constants.ADMINST_OFFLINE if op.offline else \
                constants.ADMINST_DOWN
            instance.admin_state = state
            instance.admin_state_source = constants.ADMIN_SOURCE
            if op.offline:
                instance.disks_active = False
            result.append(("admin_state", state))
