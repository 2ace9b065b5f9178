"""Argument encoders: a caller's values -> what the node receives.

Mirrors the encoders of Ganeti's lib/rpc/node.py (`_ENCODERS` and the
RpcRunner's `_InstDict`, `_DisksDictDP`, ...). Each defs.ED_* tag maps to one
method taking (node, value); node is the destination (as the caller named
it), which matters only for disk parameters that differ per node.

Encoders that read the configuration (instance and disk dicts) need the
ConfigWriter; the others work without one, so the job queue and ssconf
distribution can use a runner built from ssconf alone.
"""

from __future__ import annotations

import copy
import grp
import os
import pwd
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, vcluster
from ganeti.rpc import defs, encoding

EncodeFn = Callable[[str, Any], Any]

# Import/export I/O kinds (Ganeti's IEIO_*): only these carry a disk.
IEIO_RAW_DISK = "raw"
IEIO_SCRIPT = "script"


def _FillDict(defaults: dict[str, Any],
              custom: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overridden by custom, as Ganeti's objects.FillDict."""
    result = copy.deepcopy(defaults)
    result.update(custom or {})
    return result


def _ToDict(value: Any) -> Any:
    # A value that is already a dict (e.g. master_params built by hand)
    # goes out as it is.
    return value if isinstance(value, dict) else value.ToDict()


def _UserName(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _GroupName(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


class ArgEncoder:
    """Encode RPC arguments according to their defs.ED_* tag."""

    def __init__(self, cfg: Any = None, node_root: str | None = None) -> None:
        """Args:
          cfg: the ConfigWriter (needed for instance and disk encoders).
          node_root: this node's virtual root for path encoders (default:
            the process's own, from GANETI_ROOTDIR); "" for none.
        """
        self._cfg = cfg
        self._node_root = node_root
        self._encoders: dict[str, EncodeFn] = {
            defs.ED_OBJECT_DICT: lambda _, value: _ToDict(value),
            defs.ED_OBJECT_DICT_LIST: lambda _, value: [_ToDict(v) for v in value],
            defs.ED_COMPRESS: lambda _, value: self._Compress(value),
            defs.ED_FILE_DETAILS: lambda _, value: self._FileDetails(value),
            defs.ED_VIRTUAL_PATH: lambda _, value: self._VirtualPath(value),
            defs.ED_VIRTUAL_PATH_PAIRS: lambda _, value: [
                [self._VirtualPath(old), self._VirtualPath(new)]
                for old, new in value],
            defs.ED_FINALIZE_EXPORT_DISKS: lambda _, value: [
                disk if isinstance(disk, bool) else _ToDict(disk) for disk in value],
            defs.ED_BLOCKDEV_RENAME: lambda _, value: [
                [_ToDict(disk), unique_id] for disk, unique_id in value],
            defs.ED_INST_DICT: self._InstDict,
            defs.ED_INST_DICT_HVP_BEP_DP: self._InstDictHvpBep,
            defs.ED_INST_DICT_OSP_DP: self._InstDictOsp,
            defs.ED_NIC_DICT: lambda _, value: self._NicDict(value),
            defs.ED_DEVICE_DICT: self._DeviceDict,
            defs.ED_DISKS_DICT_DP: self._DisksDictDP,
            defs.ED_MULTI_DISKS_DICT_DP: lambda node, value: [
                disk for pair in value for disk in self._DisksDictDP(node, pair)],
            defs.ED_SINGLE_DISK_DICT_DP: self._SingleDiskDictDP,
            defs.ED_NODE_TO_DISK_DICT_DP: lambda node, value: {
                name: [self._SingleDiskDictDP(node, pair) for pair in pairs]
                for name, pairs in value.items()},
            defs.ED_IMPEXP_IO: self._ImpExpIO,
        }

    def Encode(self, kind: str | None, node: str, value: Any) -> Any:
        """Return value's wire form for an argument of the given kind.

        Raises:
          errors.ProgrammerError: unknown kind, or a configuration-based
            encoder used without a configuration.
          errors.OpExecError: a file to upload cannot be read.
        """
        if kind is None:
            return value
        try:
            encode_fn = self._encoders[kind]
        except KeyError as err:
            raise errors.ProgrammerError(f"Unknown RPC argument kind {kind!r}") \
                from err
        return encode_fn(node, value)

    # --- without configuration ------------------------------------------

    @staticmethod
    def _Compress(value: Any) -> list[Any]:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return list(value)  # already [encoding, data]
        return encoding.Compress(value)

    def _VirtualPath(self, path: str) -> str:
        if path.startswith(constants.VIRTUAL_PATH_PREFIX):
            return path
        return vcluster.MakeVirtualPath(path, _noderoot=self._node_root)

    def _FileDetails(self, filename: str) -> list[Any]:
        """[virtual path, [enc, data], mode, owner, group, atime, mtime].

        Raises:
          errors.OpExecError: the file cannot be read; nothing was sent.
        """
        try:
            with open(filename, "rb") as handle:
                stat = os.fstat(handle.fileno())
                data = handle.read()
        except OSError as err:
            raise errors.OpExecError(f"Cannot read {filename} for upload: {err}") \
                from err
        return [self._VirtualPath(filename), encoding.Compress(data), stat.st_mode,
                _UserName(stat.st_uid), _GroupName(stat.st_gid), stat.st_atime,
                stat.st_mtime]

    # --- with configuration ---------------------------------------------

    def _Cfg(self) -> Any:
        if self._cfg is None:
            raise errors.ProgrammerError(
                "This RPC argument needs the cluster configuration; use a"
                " runner built from a ConfigWriter")
        return self._cfg

    def _InstDict(self, node: str, instance: Any, hvp: dict | None = None,
                  bep: dict | None = None, osp: dict | None = None) -> dict:
        """The instance dict with cluster defaults filled in (spec/rpc.md)."""
        cfg = self._Cfg()
        cluster = cfg.GetClusterInfo()
        idict = instance.ToDict()
        idict["hvparams"] = cluster.FillHV(instance)
        idict["hvparams"].update(hvp or {})
        idict["beparams"] = cluster.FillBE(instance)
        idict["beparams"].update(bep or {})
        idict["osparams"] = _FillOs(cluster, instance)
        idict["osparams"].update(osp or {})
        idict["secondary_nodes"] = list(cfg.GetInstanceSecondaryNodes(instance.uuid))
        disks = cfg.GetInstanceDisks(instance.uuid)
        idict["disks_info"] = self._DisksDictDP(node, (disks, instance))
        default_nicparams = cluster.nicparams.get(constants.PP_DEFAULT, {})
        for nic in idict.get("nics", []):
            nic["nicparams"] = _FillDict(default_nicparams, nic.get("nicparams"))
            netinfo = self._NetInfo(nic.get("network"))
            if netinfo is not None:
                nic["netinfo"] = netinfo
        return idict

    def _InstDictHvpBep(self, node: str, value: Any) -> dict:
        instance, hvp, bep = value
        return self._InstDict(node, instance, hvp=hvp, bep=bep)

    def _InstDictOsp(self, node: str, value: Any) -> dict:
        instance, osp = value
        return self._InstDict(node, instance, osp=osp)

    def _NetInfo(self, network: str | None) -> dict | None:
        if not network:
            return None
        cfg = self._Cfg()
        net_uuid = cfg.LookupNetwork(network)
        return cfg.GetNetwork(net_uuid).ToDict() if net_uuid else None

    def _NicDict(self, nic: Any) -> dict:
        ndict = nic.ToDict()
        netinfo = self._NetInfo(getattr(nic, "network", None))
        if netinfo is not None:
            ndict["netinfo"] = netinfo
        return ndict

    def _DeviceDict(self, node: str, value: Any) -> dict:
        device, instance = value
        if hasattr(device, "dev_type"):  # a Disk
            return self._SingleDiskDictDP(node, (device, instance))
        return self._NicDict(device)

    def _DisksDictDP(self, node: str, value: Any) -> list[dict]:
        """Disk dicts with their parameters filled for this node."""
        disks, instance = value
        cfg = self._Cfg()
        diskparams = _InstanceDiskParams(cfg, instance)
        result = []
        for disk in disks:
            annotated = _AnnotateDisk(disk.Copy(), diskparams)
            if hasattr(annotated, "UpdateDynamicDiskParams"):
                node_ips = {uuid: cfg.GetNodeInfo(uuid).secondary_ip
                            for uuid in annotated.GetNodes(instance.primary_node)}
                annotated.UpdateDynamicDiskParams(node, node_ips)
                result.append(annotated.ToDict(include_dynamic_params=True))
            else:
                result.append(annotated.ToDict())
        return result

    def _SingleDiskDictDP(self, node: str, value: Any) -> dict:
        disk, instance = value
        return self._DisksDictDP(node, ([disk], instance))[0]

    def _ImpExpIO(self, node: str, value: Any) -> list[Any]:
        ieio, ieioargs = value
        if ieio == IEIO_RAW_DISK:
            return [ieio, [self._SingleDiskDictDP(node, ieioargs)]]
        if ieio == IEIO_SCRIPT:
            return [ieio, [self._SingleDiskDictDP(node, ieioargs[0]), ieioargs[1]]]
        return [ieio, ieioargs]


def _FillOs(cluster: Any, instance: Any) -> dict[str, Any]:
    """Cluster OS parameters (OS, then OS+variant) overridden by the instance's.

    Uses Cluster.SimpleFillOS when the objects module has it.
    """
    fill_fn = getattr(cluster, "SimpleFillOS", None)
    if fill_fn is not None:
        return fill_fn(instance.os, instance.osparams)
    os_name = instance.os or ""
    cluster_params = cluster.osparams or {}
    params = _FillDict(cluster_params.get(os_name.split("+", 1)[0], {}),
                       cluster_params.get(os_name, {}))
    return _FillDict(params, instance.osparams)


def _InstanceDiskParams(cfg: Any, instance: Any) -> dict[str, dict]:
    """Disk parameters of the instance's node group (or the cluster's)."""
    get_fn = getattr(cfg, "GetInstanceDiskParams", None)
    if get_fn is not None:
        return get_fn(instance)
    cluster_params = cfg.GetClusterInfo().diskparams or {}
    node = cfg.GetNodeInfo(instance.primary_node)
    group = cfg.GetNodeGroup(node.group) if node is not None else None
    group_params = (group.diskparams or {}) if group is not None else {}
    return {dt: _FillDict(params, group_params.get(dt))
            for dt, params in cluster_params.items()}


def _AnnotateDisk(disk: Any, diskparams: dict[str, dict]) -> Any:
    """Fill a disk's (and a DRBD disk's children's) params from diskparams.

    Uses objects.Disk.ComputeLDParams when the objects module provides it
    (it splits DRBD parameters into drbd/data/meta parts); otherwise the
    disk template's parameters are applied to the disk alone.
    """
    if disk.dev_type == constants.DT_DISKLESS:
        return disk
    compute = getattr(type(disk), "ComputeLDParams", None)
    if compute is None:
        disk.params = _FillDict(diskparams.get(disk.dev_type, {}), disk.params)
        return disk
    ld_params = compute(disk.dev_type, diskparams)
    if disk.dev_type == constants.DT_DRBD8:
        drbd_params, data_params, meta_params = ld_params
        disk.params = _FillDict(drbd_params, disk.params)
        data_dev, meta_dev = disk.children
        data_dev.params = _FillDict(data_params, data_dev.params)
        meta_dev.params = _FillDict(meta_params, meta_dev.params)
    else:
        disk.params = _FillDict(ld_params[0], disk.params)
    return disk
