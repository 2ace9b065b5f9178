"""LUClusterSetParams: change the cluster's parameters (gnt-cluster modify).

Mirrors Ganeti 3.0's LUClusterSetParams (lib/cmdlib/cluster). Every check
runs in CheckArguments/CheckPrereq and computes the new values aside; Exec
only assigns them and saves the configuration once (Ganeti saves up to four
times), so a refused change leaves config.data and its serial number as
they were. The master IP is taken down before a change of master netdev
and brought up on the new one after the save, as in Ganeti.

Differences from Ganeti, on purpose:
- --vg-name with no LVM disk template enabled (plain, drbd) is refused
  (Ganeti's client only printed a note and stored it anyway).
- Unknown data collector names are refused (Ganeti's client printed a note
  and the LU then failed with a KeyError).
- Node-side validation of hypervisor and OS parameters (RPCs
  hypervisor_validate_params, os_validate) runs only when the hypervisor
  package is installed; without it the values are type-checked here.
- The instance communication network is recorded; creating and connecting
  it (Ganeti submits OpNetworkAdd/OpNetworkConnect jobs) waits for the
  network opcodes.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, netutils, objects
from ganeti import pathutils
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.common import ShareAll
from ganeti.utils.text import CommaJoin, NormalizeAndValidateThreeOctetMacPrefix

logger = logging.getLogger(__name__)

DTS_LVM = frozenset([constants.DT_PLAIN, constants.DT_DRBD8])
# Smallest volume group accepted (MiB), as at cluster init.
MIN_VG_SIZE = 20480
UIDPOOL_UID_MIN = 0
UIDPOOL_UID_MAX = 2 ** 32 - 1
IEC_GZIP = "gzip"
IEC_NONE = "none"
_TOOL_RE = re.compile(r"^[-_a-zA-Z0-9]+$")
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_DDM_ADD = "add"
_DDM_REMOVE = "remove"
# Static hypervisor/disk state keys (as bootstrap checks them at init).
_HVST_TYPES = dict.fromkeys(["cpu_node", "cpu_total", "mem_hv", "mem_node",
                             "mem_total"], defaults.VTYPE_INT)
_DSS_TYPES = dict.fromkeys(["disk_total", "disk_reserved", "disk_overhead"],
                           defaults.VTYPE_INT)
# Where each file-based template keeps its directory in the cluster object.
_FILE_DIRS = {constants.DT_FILE: "file_storage_dir",
              constants.DT_SHARED_FILE: "shared_file_storage_dir",
              constants.DT_GLUSTER: "gluster_storage_dir"}


def _Invalid(msg: str, ecode: str = errors.ECODE_INVAL) -> errors.OpPrereqError:
    return errors.OpPrereqError(msg, ecode)


def _Force(what: str, params: dict[str, Any], types: dict[str, str]) -> None:
    """defaults.ForceDictType with the offending parameter set named."""
    try:
        defaults.ForceDictType(params, types)
    except errors.TypeEnforcementError as err:
        raise _Invalid(f"Invalid {what}: {err}") from err


def CheckUidPool(uid_pool: list[Any]) -> list[list[int]]:
    """The user-id ranges as [low, high] lists.

    Raises:
      errors.OpPrereqError: a range is reversed or out of bounds.
    """
    result = []
    for low, high in uid_pool:
        if low > high:
            raise _Invalid(f"Lower user-id range boundary value ({low}) is larger"
                           f" than the upper boundary value ({high})")
        if low < UIDPOOL_UID_MIN or high > UIDPOOL_UID_MAX:
            raise _Invalid(f"User-id range boundary value(s) ({low}-{high}) out of"
                           f" range [{UIDPOOL_UID_MIN}-{UIDPOOL_UID_MAX}]")
        result.append([low, high])
    return result


def CheckImageValidity(image: str, what: str) -> None:
    """An image is empty (unset), an absolute path or a URL.

    Raises:
      errors.OpPrereqError: anything else.
    """
    if image and not (os.path.isabs(image) or _URL_RE.match(image)):
        raise _Invalid(f"{what} must be an absolute path or a URL, got '{image}'")


def CheckCompressionTools(tools: list[str]) -> None:
    """Tools are plain program names, gzip among them, "none" not.

    Raises:
      errors.OpPrereqError: one of the rules is broken.
    """
    illegal = [tool for tool in tools if not _TOOL_RE.match(tool)]
    if illegal:
        raise _Invalid(f"The tools '{', '.join(illegal)}' contain illegal"
                       " characters: only alphanumeric values, dashes, and"
                       " underscores are allowed")
    if IEC_GZIP not in tools:
        raise _Invalid(f"For compatibility reasons, the {IEC_GZIP} utility must"
                       " be present among the compression tools")
    if IEC_NONE in tools:
        raise _Invalid(f"{IEC_NONE} is a reserved value used for no compression,"
                       " and cannot be used as the name of a tool")


def UpdateParams(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """old updated with new; a value None (or "default") removes the key."""
    result = dict(old)
    for key, value in new.items():
        if value is None or value == defaults.VALUE_DEFAULT:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def MergeNested(old: dict[str, dict[str, Any]],
                new: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Two-level parameter dicts merged per first-level key (deep copy)."""
    result = copy.deepcopy(old)
    for key, values in new.items():
        result.setdefault(key, {}).update(copy.deepcopy(values))
    return result


def _CheckISpecs(ipolicy: dict[str, Any]) -> None:
    """Bounds are ordered and the standard spec fits some bounds.

    Raises:
      errors.OpPrereqError: a spec is unknown, negative or out of order.
    """
    minmax = ipolicy.get(defaults.ISPECS_MINMAX) or []
    std = ipolicy.get(defaults.ISPECS_STD) or {}
    for spec in [std] + [pair.get(key) or {} for pair in minmax
                         for key in (defaults.ISPECS_MIN, defaults.ISPECS_MAX)]:
        for name, value in spec.items():
            if name not in defaults.ISPECS_PARAMETERS:
                raise _Invalid(f"Unknown instance specification '{name}'")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _Invalid(f"Invalid value {value!r} for instance"
                               f" specification '{name}'")
    for pair in minmax:
        low, high = pair.get(defaults.ISPECS_MIN, {}), pair.get(defaults.ISPECS_MAX, {})
        for name in set(low) & set(high):
            if low[name] > high[name]:
                raise _Invalid(f"Invalid instance specification bounds for '{name}':"
                               f" minimum {low[name]} is above maximum {high[name]}")
    for name, value in std.items():
        if minmax and not any(
                pair[defaults.ISPECS_MIN].get(name, value) <= value
                <= pair[defaults.ISPECS_MAX].get(name, value) for pair in minmax):
            raise _Invalid(f"Standard value {value} of instance specification"
                           f" '{name}' is outside the allowed bounds")


def GetUpdatedIPolicy(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The cluster instance policy old with the changes new.

    Bounds (minmax) are replaced, standard specs merged key by key, the
    other keys replaced.

    Raises:
      errors.OpPrereqError: an unknown key or an invalid value.
    """
    unknown = sorted(set(new) - defaults.IPOLICY_ALL_KEYS)
    if unknown:
        raise _Invalid(f"Invalid keys in instance policy: {', '.join(unknown)}")
    result = copy.deepcopy(old)
    for key, value in new.items():
        if key == defaults.ISPECS_STD:
            result[key] = UpdateParams(result.get(key) or {}, value or {})
        elif key in (defaults.IPOLICY_VCPU_RATIO, defaults.IPOLICY_SPINDLE_RATIO):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or value <= 0:
                raise _Invalid(f"Invalid value {value!r} for instance policy"
                               f" parameter '{key}'")
            result[key] = float(value)
        elif key == defaults.IPOLICY_DTS:
            bad = sorted(set(value or []) - constants.DISK_TEMPLATES)
            if bad:
                raise _Invalid(f"Invalid disk template(s) in instance policy:"
                               f" {', '.join(bad)}")
            result[key] = list(value)
        else:
            result[key] = copy.deepcopy(value)
    _CheckISpecs(result)
    return result


def CheckIpolicyVsDiskTemplates(ipolicy: dict[str, Any], enabled: list[str]) -> None:
    """Every disk template the policy allows must be enabled.

    Raises:
      errors.OpPrereqError: naming those that are not.
    """
    not_enabled = sorted(set(ipolicy.get(defaults.IPOLICY_DTS) or [])
                         - set(enabled))
    if not_enabled:
        raise _Invalid("The following disk templates are allowed by the ipolicy,"
                       f" but not enabled on the cluster: {CommaJoin(not_enabled)}")


def _HypervisorClass(hv_name: str) -> Any:
    """The hypervisor driver class, or None without the hypervisor package."""
    if importlib.util.find_spec("ganeti.hypervisor") is None:
        return None
    module = importlib.import_module("ganeti.hypervisor")
    get_class = getattr(module, "GetHypervisorClass", None)
    return None if get_class is None else get_class(hv_name)


class LUClusterSetParams(LogicalUnit):
    """Change the parameters of the cluster (see the module doc)."""

    HPATH = "cluster-modify"
    HTYPE = constants.HTYPE_CLUSTER
    REQ_BGL = False

    # --- arguments (no configuration needed beyond the cluster object) ----

    def CheckArguments(self) -> None:
        """Syntax checks of the opcode's values.

        Raises:
          errors.OpPrereqError: a value is malformed.
        """
        op = self.op
        for name in ("uid_pool", "add_uids", "remove_uids"):
            if getattr(op, name):
                setattr(op, name, CheckUidPool(getattr(op, name)))
        if op.mac_prefix:
            op.mac_prefix = NormalizeAndValidateThreeOctetMacPrefix(op.mac_prefix)
        if op.master_netmask is not None:
            family = self.cfg.GetClusterInfo().primary_ip_family
            ipcls = netutils.IPAddress.GetClassFromIpFamily(family)
            if not ipcls.ValidateNetmask(op.master_netmask):
                raise _Invalid(f"CIDR netmask ({op.master_netmask}) not valid")
        if op.install_image is not None:
            CheckImageValidity(op.install_image, "Install image")
        if op.zeroing_image is not None:
            CheckImageValidity(op.zeroing_image, "Zeroing image")
        if op.compression_tools is not None:
            CheckCompressionTools(op.compression_tools)
        self._CheckDataCollectors()
        self._CheckDiskParams()

    def _CheckDataCollectors(self) -> None:
        for what in ("enabled_data_collectors", "data_collector_interval"):
            unknown = sorted(set(getattr(self.op, what) or {})
                             - set(defaults.DATA_COLLECTOR_NAMES))
            if unknown:
                raise _Invalid(f"Data collector names not recognized: "
                               f"{', '.join(unknown)} (known:"
                               f" {', '.join(defaults.DATA_COLLECTOR_NAMES)})")
        bad = sorted(name for name, value in
                     (self.op.data_collector_interval or {}).items() if value <= 0)
        if bad:
            raise _Invalid(f"Data collector intervals must be above zero: "
                           f"{', '.join(bad)}")

    def _CheckDiskParams(self) -> None:
        for template, params in (self.op.diskparams or {}).items():
            if template not in defaults.DISK_DT_DEFAULTS:
                raise _Invalid(f"Invalid disk template '{template}' in disk"
                               " parameters")
            unknown = sorted(set(params) - set(defaults.DISK_DT_DEFAULTS[template]))
            if unknown:
                raise _Invalid(f"Invalid parameters for disk template {template}:"
                               f" {', '.join(unknown)}")
            _Force(f"parameters of disk template {template}", params,
                   defaults.DISK_DT_TYPES)

    def ExpandNames(self) -> None:
        # As Ganeti: every node, instance and group, shared.
        self.needed_locks = {
            locking.LEVEL_NODE: locking.ALL_SET,
            locking.LEVEL_INSTANCE: locking.ALL_SET,
            locking.LEVEL_NODEGROUP: locking.ALL_SET,
        }
        self.share_locks = ShareAll()

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OP_TARGET": self.cfg.GetClusterName(),
                "NEW_VG_NAME": self.op.vg_name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        master = self.cfg.GetMasterNode()
        return [master], [master]

    # --- prerequisites (read-only; the new values are kept aside) --------

    def CheckPrereq(self) -> None:
        """Check the change against the configuration and the nodes.

        Raises:
          errors.OpPrereqError: the change is not acceptable; nothing was
            changed.
        """
        self.cluster = cluster = self.cfg.GetClusterInfo()
        self.changes: dict[str, Any] = {}
        old_templates = list(cluster.enabled_disk_templates or [])
        self.enabled_templates = list(self.op.enabled_disk_templates or old_templates)
        new_templates = set(self.enabled_templates) - set(old_templates)
        self._CheckDisabledTemplates(set(old_templates) - set(self.enabled_templates))
        self._CheckVgName(new_templates)
        self._CheckFileStorageDirs()
        self._CheckDrbdHelper(new_templates)
        self._CheckSimpleParams(cluster)
        self._CheckNicParams(cluster)
        self._CheckHvParams(cluster)
        self._CheckOsParams(cluster)
        self._CheckIpolicy(cluster)
        self._CheckStates(cluster)
        self._CheckLists(cluster)
        self._CheckScalars()

    def _VmCapableNodes(self) -> list[str]:
        owned = self.owned_locks(locking.LEVEL_NODE)
        return [node.uuid for node in self.cfg.GetAllNodesInfo().values()
                if node.uuid in owned and node.vm_capable]

    def _DisksOfTemplate(self, template: str) -> list[Any]:
        return [disk for disk in self.cfg.GetAllDisksInfo().values()
                if disk.dev_type == template]

    def _CheckDisabledTemplates(self, disabled: set[str]) -> None:
        """A template still in use may not be disabled."""
        for template in sorted(disabled):
            if self._DisksOfTemplate(template):
                raise _Invalid(f"Cannot disable disk template '{template}', because"
                               " there is at least one disk using it",
                               errors.ECODE_STATE)
        if constants.DT_DISKLESS in disabled:
            for inst in self.cfg.GetAllInstancesInfo().values():
                if not inst.disks:
                    raise _Invalid("Cannot disable disk template 'diskless', because"
                                   f" instance {inst.name} uses it",
                                   errors.ECODE_STATE)

    def _CheckVgName(self, new_templates: set[str]) -> None:
        """The volume group only goes with LVM templates, and must exist."""
        vg_name = self.op.vg_name
        lvm_enabled = bool(DTS_LVM & set(self.enabled_templates))
        if vg_name == "":
            if lvm_enabled:
                raise _Invalid("Cannot unset volume group if lvm-based disk"
                               " templates are or get enabled.")
            if self._DisksOfTemplate(constants.DT_PLAIN):
                raise _Invalid("Cannot disable lvm storage while lvm-based"
                               " instances exist")
        elif vg_name is not None and not lvm_enabled:
            raise _Invalid(f"Volume group '{vg_name}' given with --vg-name, but no"
                           " lvm-based disk template"
                           f" ({CommaJoin(sorted(DTS_LVM))}) is enabled")
        current = self.cluster.volume_group_name
        if vg_name is None and not current and lvm_enabled:
            raise _Invalid("Please specify a volume group when enabling lvm-based"
                           " disk-templates.")
        if vg_name or (current and DTS_LVM & new_templates):
            self._CheckVgOnNodes(vg_name or current)

    def _CheckVgOnNodes(self, vg_name: str) -> None:
        nodes = self._VmCapableNodes()
        results = self.rpc.call_vg_list(nodes)
        for node_uuid in nodes:
            result = results[node_uuid]
            if result.fail_msg:
                self.LogWarning("Error while gathering data on node %s (ignoring"
                                " node): %s", self.cfg.GetNodeName(node_uuid),
                                result.fail_msg)
                continue
            size = (result.payload or {}).get(vg_name)
            problem = None
            if size is None:
                problem = f"volume group '{vg_name}' missing"
            elif size < MIN_VG_SIZE:
                problem = (f"volume group '{vg_name}' too small"
                           f" ({MIN_VG_SIZE}MiB required, {size}MiB"
                           " found)")
            if problem:
                raise _Invalid(f"Error on node '{self.cfg.GetNodeName(node_uuid)}':"
                               f" {problem}", errors.ECODE_ENVIRON)

    def _CheckFileStorageDirs(self) -> None:
        for template, attr in _FILE_DIRS.items():
            path = getattr(self.op, attr)
            if path is None:
                continue
            enabled = template in self.enabled_templates
            if path == "" and enabled:
                raise _Invalid(f"Unsetting the '{template}' storage directory while"
                               f" having '{template}' storage enabled is not"
                               " permitted.")
            if path and not os.path.isabs(path):
                raise _Invalid(f"The {template} storage directory '{path}' is not"
                               " an absolute path")
            if path and not enabled:
                self.LogWarning("Specified a %s storage directory, although %s"
                                " storage is not enabled.", template, template)
            self.changes[attr] = path

    def _CheckDrbdHelper(self, new_templates: set[str]) -> None:
        helper = self.op.drbd_helper
        drbd_enabled = constants.DT_DRBD8 in self.enabled_templates
        if helper == "":
            if drbd_enabled:
                raise _Invalid("Cannot disable drbd helper while DRBD is enabled.",
                               errors.ECODE_STATE)
            if self._DisksOfTemplate(constants.DT_DRBD8):
                raise _Invalid("Cannot disable drbd helper while drbd-based"
                               " instances exist")
        elif helper is not None and drbd_enabled:
            self._CheckDrbdHelperOnNodes(helper)
        elif constants.DT_DRBD8 in new_templates:
            current = self.cluster.drbd_usermode_helper
            if not current:
                raise _Invalid("Cannot enable DRBD without a DRBD usermode helper"
                               " set.", errors.ECODE_STATE)
            self._CheckDrbdHelperOnNodes(current)
        if helper is not None:
            if not drbd_enabled:
                self.LogInfo("Note that you specified a drbd user helper, but did"
                             " not enable the drbd disk template.")
            self.changes["drbd_usermode_helper"] = helper or None

    def _CheckDrbdHelperOnNodes(self, helper: str) -> None:
        nodes = self._VmCapableNodes()
        results = self.rpc.call_drbd_helper(nodes)
        for node_uuid in nodes:
            node = self.cfg.GetNodeInfo(node_uuid)
            result = results[node_uuid]
            if result.offline:
                self.LogInfo("Not checking drbd helper on offline node %s", node.name)
                continue
            if result.fail_msg:
                raise _Invalid(f"Error checking drbd helper on node '{node.name}':"
                               f" {result.fail_msg}", errors.ECODE_ENVIRON)
            if result.payload != helper:
                raise _Invalid(f"Error on node '{node.name}': drbd helper is"
                               f" {result.payload}", errors.ECODE_ENVIRON)

    def _CheckSimpleParams(self, cluster: Any) -> None:
        """Backend and node parameters, disk parameters, OS hypervisor params."""
        op = self.op
        if op.beparams:
            beparams = dict(op.beparams)
            objects.UpgradeBeParams(beparams)
            _Force("backend parameters", beparams, defaults.BES_PARAMETER_TYPES)
            self.changes["beparams"] = {**cluster.beparams, constants.PP_DEFAULT:
                                        cluster.SimpleFillBE(beparams)}
        if op.ndparams:
            ndparams = dict(op.ndparams)
            _Force("node parameters", ndparams, defaults.NDS_PARAMETER_TYPES)
            new = cluster.SimpleFillND(ndparams)
            if new.get(defaults.ND_OOB_PROGRAM) == "":
                new[defaults.ND_OOB_PROGRAM] = \
                    defaults.NDC_DEFAULTS[defaults.ND_OOB_PROGRAM]
            self.changes["ndparams"] = new
        if op.diskparams:
            self.changes["diskparams"] = MergeNested(cluster.diskparams or {},
                                                     op.diskparams)

    def _CheckNicParams(self, cluster: Any) -> None:
        """The new default NIC parameters must suit every instance's NICs."""
        if not self.op.nicparams:
            return
        nicparams = dict(self.op.nicparams)
        _Force("NIC parameters", nicparams, defaults.NICS_PARAMETER_TYPES)
        new = cluster.SimpleFillNIC(nicparams)
        problems = _NicProblems(new)
        for inst in self.cfg.GetAllInstancesInfo().values():
            for idx, nic in enumerate(inst.nics or []):
                filled = objects.FillDict(new, nic.nicparams)
                problems += [f"Instance {inst.name}, nic/{idx}: {problem}"
                             for problem in _NicProblems(filled)]
                if filled.get(defaults.NIC_MODE) == constants.NIC_MODE_ROUTED \
                        and not nic.ip:
                    problems.append(f"Instance {inst.name}, nic/{idx}: routed NIC"
                                    " with no ip address")
        if problems:
            raise _Invalid("Cannot apply the change, errors:\n" + "\n".join(problems))
        self.changes["nicparams"] = {**cluster.nicparams, constants.PP_DEFAULT: new}

    def _CheckHvParams(self, cluster: Any) -> None:
        """Hypervisor list and parameters (new hypervisors get the defaults)."""
        op = self.op
        new_hvp = MergeNested(cluster.hvparams or {}, op.hvparams or {})
        for hv_name in op.enabled_hypervisors or []:
            new_hvp[hv_name] = objects.FillDict(defaults.HVC_DEFAULTS[hv_name],
                                                new_hvp.get(hv_name))
        changed = set(op.hvparams or {}) | set(op.enabled_hypervisors or [])
        for hv_name in sorted(changed):
            if hv_name not in defaults.HVS_PARAMETER_TYPES:
                raise _Invalid(f"Unknown hypervisor '{hv_name}' in hypervisor"
                               " parameters")
            _Force(f"parameters of hypervisor {hv_name}", new_hvp[hv_name],
                   defaults.HVS_PARAMETER_TYPES[hv_name])
            self._ValidateHvParams(hv_name, new_hvp[hv_name])
        if op.hvparams or op.enabled_hypervisors is not None:
            self.changes["hvparams"] = new_hvp
        if op.enabled_hypervisors is not None:
            self.changes["enabled_hypervisors"] = list(op.enabled_hypervisors)
        if op.os_hvp:
            self.changes["os_hvp"] = self._NewOsHvp(cluster, new_hvp)

    def _NewOsHvp(self, cluster: Any, new_hvp: dict[str, Any]) -> dict[str, Any]:
        result = copy.deepcopy(cluster.os_hvp or {})
        for os_name, hvs in self.op.os_hvp.items():
            target = result.setdefault(os_name, {})
            for hv_name, params in hvs.items():
                if params is None:
                    target.pop(hv_name, None)
                    continue
                if hv_name not in defaults.HVS_PARAMETER_TYPES:
                    raise _Invalid(f"Unknown hypervisor '{hv_name}' in the"
                                   f" hypervisor parameters of OS {os_name}")
                merged = dict(target.get(hv_name) or {}, **params)
                _Force(f"parameters of hypervisor {hv_name} for OS {os_name}",
                       merged, defaults.HVS_PARAMETER_TYPES[hv_name])
                self._ValidateHvParams(hv_name, objects.FillDict(
                    new_hvp.get(hv_name) or {}, merged))
                target[hv_name] = merged
        return {name: hvs for name, hvs in result.items() if hvs}

    def _ValidateHvParams(self, hv_name: str, params: dict[str, Any]) -> None:
        """The driver's syntax check and the nodes' check (see module doc)."""
        hv_class = _HypervisorClass(hv_name)
        if hv_class is None:
            return
        try:
            hv_class.CheckParameterSyntax(params)
        except errors.GenericError as err:
            raise _Invalid(f"Invalid parameters for hypervisor {hv_name}:"
                           f" {err}") from err
        nodes = self._VmCapableNodes()
        results = self.rpc.call_hypervisor_validate_params(nodes, hv_name, params)
        for node_uuid, result in results.items():
            if not result.offline:
                result.Raise(f"Hypervisor parameter validation failed on node"
                             f" {self.cfg.GetNodeName(node_uuid)}", prereq=True)

    def _CheckOsParams(self, cluster: Any) -> None:
        for attr, op_attr in (("osparams", "osparams"),
                              ("osparams_private_cluster",
                               "osparams_private_cluster")):
            changes = getattr(self.op, op_attr)
            if not changes:
                continue
            result = copy.deepcopy(getattr(cluster, attr) or {})
            for os_name, params in changes.items():
                result[os_name] = UpdateParams(result.get(os_name, {}), params)
                if not result[os_name]:
                    del result[os_name]
            self.changes[attr] = result

    def _CheckIpolicy(self, cluster: Any) -> None:
        if self.op.ipolicy:
            new = GetUpdatedIPolicy(cluster.ipolicy or {}, self.op.ipolicy)
            CheckIpolicyVsDiskTemplates(new, self.enabled_templates)
            self.changes["ipolicy"] = new
        elif self.op.enabled_disk_templates:
            # Unlike Ganeti, only when the templates change: an unrelated
            # change is not blocked by an existing mismatch.
            CheckIpolicyVsDiskTemplates(cluster.ipolicy or {}, self.enabled_templates)
        if self.op.enabled_disk_templates:
            self.changes["enabled_disk_templates"] = list(self.enabled_templates)

    def _CheckStates(self, cluster: Any) -> None:
        if self.op.hv_state:
            states = copy.deepcopy(cluster.hv_state_static or {})
            for hv_name, values in self.op.hv_state.items():
                if hv_name not in constants.HYPER_TYPES:
                    raise _Invalid(f"Unknown hypervisor '{hv_name}' in hypervisor"
                                   " state")
                merged = dict(states.get(hv_name) or {}, **(values or {}))
                _Force(f"hypervisor state of {hv_name}", merged, _HVST_TYPES)
                states[hv_name] = merged
            self.changes["hv_state_static"] = states
        if self.op.disk_state:
            disks = copy.deepcopy(cluster.disk_state_static or {})
            for storage, entries in self.op.disk_state.items():
                if storage != constants.ST_LVM_VG:
                    raise _Invalid(f"Invalid storage type in disk state: {storage}")
                for name, values in (entries or {}).items():
                    merged = dict(disks.get(storage, {}).get(name) or {},
                                  **(values or {}))
                    _Force(f"disk state of {storage}/{name}", merged, _DSS_TYPES)
                    disks.setdefault(storage, {})[name] = merged
            self.changes["disk_state_static"] = disks

    def _CheckLists(self, cluster: Any) -> None:
        """User-id pool and the hidden/blacklisted OS lists."""
        op = self.op
        if op.uid_pool is not None or op.add_uids or op.remove_uids:
            pool = [list(entry) for entry in
                    (op.uid_pool if op.uid_pool is not None else cluster.uid_pool)]
            for entry in op.add_uids or []:
                if entry not in pool:
                    pool.append(entry)
            for entry in op.remove_uids or []:
                if entry not in pool:
                    raise _Invalid("User-id range to be removed is not found in the"
                                   f" current user-id pool: {entry[0]}-{entry[1]}")
                pool.remove(entry)
            self.changes["uid_pool"] = sorted(pool)
        for attr, desc in (("hidden_os", "hidden"), ("blacklisted_os", "blacklisted")):
            mods = getattr(op, attr)
            if mods:
                self.changes[attr] = self._ApplyOsList(
                    list(getattr(cluster, attr) or []), mods, desc)

    def _ApplyOsList(self, current: list[str], mods: list[Any],
                     desc: str) -> list[str]:
        for action, os_name in mods:
            if action == _DDM_ADD:
                if os_name in current:
                    self.LogInfo("OS %s already in %s OS list, ignoring", os_name,
                                 desc)
                else:
                    current.append(os_name)
            elif os_name in current:
                current.remove(os_name)
            else:
                self.LogInfo("OS %s not found in %s OS list, ignoring", os_name, desc)
        return current

    def _CheckScalars(self) -> None:
        """Values copied as they are once checked."""
        op = self.op
        if op.default_iallocator:
            if not any(os.path.isfile(os.path.join(directory, op.default_iallocator))
                       for directory in pathutils.IALLOCATOR_SEARCH_PATH):
                raise _Invalid(f"Invalid default iallocator script"
                               f" '{op.default_iallocator}' specified")
        for attr in ("candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
                     "maintain_node_health", "modify_etc_hosts",
                     "prealloc_wipe_disks", "default_iallocator",
                     "default_iallocator_params", "reserved_lvs",
                     "use_external_mip_script", "enabled_user_shutdown",
                     "install_image", "zeroing_image", "compression_tools",
                     "instance_communication_network"):
            value = getattr(op, attr)
            if value is not None:
                self.changes[attr] = copy.deepcopy(value)
        if op.mac_prefix:
            self.changes["mac_prefix"] = op.mac_prefix
        if op.vg_name is not None:
            self.changes["volume_group_name"] = op.vg_name or None
        self._CheckDataCollectorChanges()

    def _CheckDataCollectorChanges(self) -> None:
        if not (self.op.enabled_data_collectors or self.op.data_collector_interval):
            return
        collectors = copy.deepcopy(self.cluster.data_collectors or {})
        for name, active in (self.op.enabled_data_collectors or {}).items():
            collectors.setdefault(name, {})["active"] = bool(active)
        for name, interval in (self.op.data_collector_interval or {}).items():
            collectors.setdefault(name, {})["interval"] = int(interval)
        self.changes["data_collectors"] = collectors

    # --- execution -----------------------------------------------------------

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Apply the checked changes and save once (see the module doc).

        Raises:
          errors.OpExecError: the master IP could not be taken down before
            a netdev change (without --force); nothing was changed then.
        """
        cluster = self.cfg.GetClusterInfo()
        master_params = self._MasterParams(cluster)
        ems = bool(cluster.use_external_mip_script)
        if self.op.master_netdev:
            feedback_fn("Shutting down master ip on the current netdev"
                        f" ({cluster.master_netdev})")
            result = self.rpc.call_node_deactivate_master_ip(
                master_params["uuid"], master_params, ems)
            if not self.op.force:
                result.Raise("Could not disable the master ip")
            elif result.fail_msg:
                feedback_fn("Could not disable the master ip (continuing anyway):"
                            f" {result.fail_msg}")
            feedback_fn(f"Changing master_netdev from {cluster.master_netdev} to"
                        f" {self.op.master_netdev}")
            cluster.master_netdev = self.op.master_netdev
        if self.op.master_netmask:
            feedback_fn(f"Changing master IP netmask to {self.op.master_netmask}")
            result = self.rpc.call_node_change_master_netmask(
                master_params["uuid"], cluster.master_netmask,
                self.op.master_netmask, cluster.master_ip, cluster.master_netdev)
            result.Warn("Could not change the master IP netmask", feedback_fn)
            cluster.master_netmask = self.op.master_netmask
        self._ReportUnchanged(cluster, feedback_fn)
        for attr, value in self.changes.items():
            setattr(cluster, attr, value)
        self.cfg.Update(cluster, feedback_fn)
        if self.op.candidate_pool_size is not None:
            from ganeti.cmdlib.node_roles import AdjustCandidatePool
            AdjustCandidatePool(self, [], feedback_fn)
        if self.op.master_netdev:
            feedback_fn("Starting the master ip on the new master netdev"
                        f" ({self.op.master_netdev})")
            params = self._MasterParams(cluster)
            result = self.rpc.call_node_activate_master_ip(params["uuid"], params, ems)
            result.Warn("Could not bring the master ip up on the new netdev; activate"
                        " it with 'gnt-cluster activate-master-ip'", self.LogWarning)
        if self.op.instance_communication_network:
            feedback_fn("Changing instance communication network to"
                        f" '{self.op.instance_communication_network}', only new"
                        " instances will be affected.")

    def _MasterParams(self, cluster: Any) -> dict[str, Any]:
        return {"uuid": self.cfg.GetMasterNode(), "ip": cluster.master_ip,
                "netmask": cluster.master_netmask, "netdev": cluster.master_netdev,
                "ip_family": cluster.primary_ip_family}

    def _ReportUnchanged(self, cluster: Any, feedback_fn: Callable[..., None]) -> None:
        """Tell about the few values Ganeti reports as already set."""
        if "volume_group_name" in self.changes and \
                self.changes["volume_group_name"] == cluster.volume_group_name:
            feedback_fn("Cluster LVM configuration already in desired state, not"
                        " changing")
        for attr in ("file_storage_dir", "shared_file_storage_dir"):
            if attr in self.changes and self.changes[attr] == getattr(cluster, attr):
                kind = "shared file" if attr.startswith("shared") else "file"
                feedback_fn(f"Global {kind} storage dir already set to value"
                            f" '{getattr(cluster, attr)}'")


def _NicProblems(params: dict[str, Any]) -> list[str]:
    """What is wrong with filled NIC parameters (Ganeti's NIC syntax check)."""
    mode = params.get(defaults.NIC_MODE)
    if mode not in constants.NIC_VALID_MODES:
        return [f"Invalid NIC mode '{mode}'"]
    if mode == constants.NIC_MODE_BRIDGED and not params.get(defaults.NIC_LINK):
        return ["Missing bridged NIC link"]
    return []

