"""Cluster-wide logical units (part of Ganeti's lib/cmdlib/cluster.py).

LUClusterPostInit (cluster-init hooks), LUClusterDestroy, LUClusterQuery
(gnt-cluster info; the QueryClusterInfo dict of spec/luxi.md section 4),
LUClusterConfigQuery (the QueryConfigValues fields), LUClusterRedistConf,
LUClusterRename and LUClusterActivateMasterIp/LUClusterDeactivateMasterIp.
LUClusterSetParams is in cluster_params.py, LUClusterRenewCrypto in
cluster_crypto.py.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable
from typing import Any

from ganeti import constants, defaults, errors, locking, netutils, pathutils
from ganeti import vcluster
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU
from ganeti.cmdlib.common import (
    GetNodeNdParams,
    RedistributedFiles,
    RunPostHook,
    ShareAll,
)
from ganeti.utils import io

logger = logging.getLogger(__name__)


def GetArchInfo() -> tuple[str, str]:
    """This node's (word size, machine), e.g. ("64bits", "x86_64").

    The word size is spelled as Ganeti 3.0's luxid reports it
    (spec/samples/luxi-cluster-info.txt): "64bits", not Python's "64bit".
    """
    bits = platform.architecture()[0]
    if bits.endswith("bit"):
        bits += "s"
    return bits, platform.machine()


def _MasterNetworkParameters(cfg: Any) -> dict[str, Any]:
    """The master IP setup as node_(de)activate_master_ip expect it."""
    cluster = cfg.GetClusterInfo()
    return {
        "uuid": cfg.GetMasterNode(),
        "ip": cluster.master_ip,
        "netmask": cluster.master_netmask,
        "netdev": cluster.master_netdev,
        "ip_family": cluster.primary_ip_family,
    }


class LUClusterPostInit(LogicalUnit):
    """Run the cluster-init post hooks on the master (and set up OVS)."""

    HPATH = "cluster-init"
    HTYPE = constants.HTYPE_CLUSTER

    def CheckArguments(self) -> None:
        self.master_uuid = self.cfg.GetMasterNode()
        self.master_ndparams = GetNodeNdParams(self.cfg,
                                               self.cfg.GetMasterNodeInfo())
        if (self.master_ndparams.get(defaults.ND_OVS)
                and not self.master_ndparams.get(defaults.ND_OVS_LINK)):
            self.LogInfo("No physical interface for OpenvSwitch was given."
                         " OpenvSwitch will not have an outside connection. This"
                         " might not be what you want.")

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OP_TARGET": self.cfg.GetClusterName()}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return [], [self.cfg.GetMasterNode()]

    def Exec(self, feedback_fn: Callable[..., None]) -> bool:
        """Configure Open vSwitch on the master if enabled.

        Raises:
          errors.OpExecError: the OVS setup failed.
        """
        if self.master_ndparams.get(defaults.ND_OVS):
            result = self.rpc.call_node_configure_ovs(
                self.master_uuid, self.master_ndparams.get(defaults.ND_OVS_NAME),
                self.master_ndparams.get(defaults.ND_OVS_LINK))
            result.Raise("Could not successully configure Open vSwitch")
        return True


class LUClusterDestroy(LogicalUnit):
    """Destroy the cluster: only allowed with the master as the only node.

    Runs the cluster-destroy post hooks on the master and takes the master
    IP down; returns the master node's uuid (as Ganeti 3.0), for the caller
    to finish the node-side cleanup.
    """

    HPATH = "cluster-destroy"
    HTYPE = constants.HTYPE_CLUSTER

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OP_TARGET": self.cfg.GetClusterName()}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return [], []

    def CheckPrereq(self) -> None:
        """Check that no other node and no instance is left.

        Raises:
          errors.OpPrereqError: the cluster is not empty (ECODE_INVAL).
        """
        master = self.cfg.GetMasterNode()
        nodelist = self.cfg.GetNodeList()
        if len(nodelist) != 1 or nodelist[0] != master:
            raise errors.OpPrereqError(
                f"There are still {len(nodelist) - 1} node(s) in this cluster.",
                errors.ECODE_INVAL)
        instancelist = self.cfg.GetInstanceList()
        if instancelist:
            raise errors.OpPrereqError(
                f"There are still {len(instancelist)} instance(s) in this"
                " cluster.", errors.ECODE_INVAL)

    def Exec(self, feedback_fn: Callable[..., None]) -> str:
        master_name = self.cfg.GetMasterNodeName()
        # The post hooks run now, on the master, before it stops being one.
        RunPostHook(self, master_name)
        master_params = _MasterNetworkParameters(self.cfg)
        ems = bool(self.cfg.GetClusterInfo().use_external_mip_script)
        result = self.rpc.call_node_deactivate_master_ip(
            master_params["uuid"], master_params, ems)
        result.Warn("Error disabling the master IP address", self.LogWarning)
        return master_params["uuid"]


def _EnabledDataCollectors(cluster: Any) -> tuple[dict[str, bool], dict[str, int]]:
    collectors = cluster.data_collectors or {}
    active = {name: bool(conf.get("active", True))
              for name, conf in collectors.items()}
    interval = {name: conf.get("interval", defaults.DATA_COLLECTOR_INTERVAL)
                for name, conf in collectors.items()}
    return active, interval


class LUClusterQuery(NoHooksLU):
    """Return the cluster's configuration (gnt-cluster info)."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.needed_locks = {}

    @staticmethod
    def _ParamsInfo(cluster: Any) -> dict[str, Any]:
        enabled = cluster.enabled_hypervisors or []
        os_hvp = {os_name: {hv: params for hv, params in hv_dict.items()
                            if hv in enabled}
                  for os_name, hv_dict in (cluster.os_hvp or {}).items()}
        return {
            "default_hypervisor": cluster.GetDefaultHypervisor(),
            "enabled_hypervisors": enabled,
            # As luxid (spec/samples/luxi-cluster-info.txt): every
            # hypervisor's parameters, not only the enabled ones.
            "hvparams": cluster.hvparams, "os_hvp": os_hvp,
            "beparams": cluster.beparams, "osparams": cluster.osparams,
            "ipolicy": cluster.ipolicy, "nicparams": cluster.nicparams,
            "ndparams": cluster.ndparams, "diskparams": cluster.diskparams,
        }

    def Exec(self, feedback_fn: Callable[..., None]) -> dict[str, Any]:
        cluster = self.cfg.GetClusterInfo()
        ip_version = (constants.IP6_VERSION
                      if cluster.primary_ip_family == constants.IP6_FAMILY
                      else constants.IP4_VERSION)
        collectors, intervals = _EnabledDataCollectors(cluster)
        result = {
            "software_version": constants.RELEASE_VERSION,
            "protocol_version": constants.PROTOCOL_VERSION,
            "config_version": constants.CONFIG_VERSION,
            "os_api_version": max(constants.OS_API_VERSIONS),
            "export_version": constants.EXPORT_VERSION,
            "vcs_version": constants.VCS_VERSION,
            "architecture": list(GetArchInfo()),
            "name": cluster.cluster_name,
            "master": self.cfg.GetMasterNodeName(),
        }
        result.update(self._ParamsInfo(cluster))
        for key in ["candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
                    "mac_prefix", "master_netdev", "master_netmask",
                    "use_external_mip_script", "volume_group_name",
                    "drbd_usermode_helper", "file_storage_dir",
                    "shared_file_storage_dir", "gluster_storage_dir",
                    "maintain_node_health", "ctime", "mtime", "uuid", "uid_pool",
                    "default_iallocator", "default_iallocator_params",
                    "reserved_lvs", "prealloc_wipe_disks", "hidden_os",
                    "blacklisted_os", "enabled_disk_templates", "install_image",
                    "instance_communication_network", "zeroing_image",
                    "compression_tools", "enabled_user_shutdown"]:
            result[key] = getattr(cluster, key)
        result.update({
            "tags": sorted(cluster.GetTags()),
            "primary_ip_version": ip_version,
            "enabled_data_collectors": collectors,
            "data_collector_interval": intervals,
            "modify_ssh_setup": cluster.modify_ssh_setup,
            "ssh_key_type": cluster.ssh_key_type,
            "ssh_key_bits": cluster.ssh_key_bits,
        })
        return result


def _GetWatcherPause(lu: Any) -> Any:
    """The watcher pause end time from the master node (None: not paused).

    Raises:
      errors.OpExecError: the master could not be asked.
    """
    result = lu.rpc.call_get_watcher_pause(lu.cfg.GetMasterNode())
    result.Raise("Can't retrieve watcher pause from master node"
                 f" '{lu.cfg.GetMasterNodeName()}'")
    return result.payload


#: The fields of OP_CLUSTER_CONFIG_QUERY (QueryConfigValues).
_CONFIG_VALUES: dict[str, Callable[[Any], Any]] = {
    "cluster_name": lambda lu: lu.cfg.GetClusterName(),
    "master_node": lambda lu: lu.cfg.GetMasterNodeName(),
    "drain_flag": lambda _lu: os.path.exists(pathutils.JOB_QUEUE_DRAIN_FILE),
    "watcher_pause": _GetWatcherPause,
    "modify_ssh_setup": lambda lu: lu.cfg.GetClusterInfo().modify_ssh_setup,
    "ssh_key_type": lambda lu: lu.cfg.GetClusterInfo().ssh_key_type,
    "ssh_key_bits": lambda lu: lu.cfg.GetClusterInfo().ssh_key_bits,
}


class LUClusterConfigQuery(NoHooksLU):
    """Return some configuration values (gnt-cluster getmaster etc.)."""

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises OpPrereqError for unknown fields (ECODE_INVAL)."""
        unknown = [name for name in self.op.output_fields
                   if name not in _CONFIG_VALUES]
        if unknown:
            raise errors.OpPrereqError(
                f"Unknown output fields selected: {', '.join(unknown)}",
                errors.ECODE_INVAL)

    def ExpandNames(self) -> None:
        self.needed_locks = {}

    def Exec(self, feedback_fn: Callable[..., None]) -> list[Any]:
        return [_CONFIG_VALUES[name](self) for name in self.op.output_fields]


class LUClusterRedistConf(NoHooksLU):
    """Redistribute the configuration and the ancillary files."""

    REQ_BGL = False

    def ExpandNames(self) -> None:
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
        self.share_locks = ShareAll()

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Save the configuration (which distributes it) and upload files.

        Failed uploads are warnings.
        """
        cluster = self.cfg.GetClusterInfo()
        self.cfg.Update(cluster, feedback_fn)
        master_uuid = self.cfg.GetMasterNode()
        targets = [uuid for uuid in self.cfg.GetOnlineNodeList()
                   if uuid != master_uuid]
        if not targets:
            return
        for fname in RedistributedFiles(cluster):
            if not os.path.exists(fname):
                continue
            result = self.rpc.call_upload_file(targets, fname)
            for node_uuid, node_result in result.items():
                if node_result.fail_msg:
                    self.LogWarning(
                        "Copy of file %s to node %s failed: %s", fname,
                        self.cfg.GetNodeName(node_uuid), node_result.fail_msg)


# --- master IP and rename --------------------------------------------------------


class LUClusterActivateMasterIp(NoHooksLU):
    """Activate the master IP on the master node."""

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if the master node could not add the address."""
        params = _MasterNetworkParameters(self.cfg)
        ems = bool(self.cfg.GetClusterInfo().use_external_mip_script)
        result = self.rpc.call_node_activate_master_ip(params["uuid"], params, ems)
        result.Raise("Could not activate the master IP")


class LUClusterDeactivateMasterIp(NoHooksLU):
    """Deactivate the master IP on the master node."""

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Raises OpExecError if the master node could not remove the address."""
        params = _MasterNetworkParameters(self.cfg)
        ems = bool(self.cfg.GetClusterInfo().use_external_mip_script)
        result = self.rpc.call_node_deactivate_master_ip(params["uuid"], params, ems)
        result.Raise("Could not deactivate the master IP")


def _AddressInUse(address: str) -> bool:
    """Whether something answers at address (the new cluster IP).

    Ganeti pings noded's port and takes a refused connection for a live
    host. Every 127.0.0.0/8 address refuses at once, so a virtual cluster
    (loopback addresses) only counts a listening port.
    """
    port = netutils.GetDaemonPort(constants.NODED)
    return netutils.TcpPing(address, port, timeout=2.0,
                            live_port_needed=vcluster.IsVirtual())


def RenameKnownHosts(text: str, old_name: str, new_name: str) -> str:
    """known_hosts content with the host name old_name replaced by new_name.

    Entries of other names (the nodes' own keys) are kept as they are.
    """
    lines = []
    for line in text.splitlines():
        fields = line.split(None, 1)
        if len(fields) == 2 and not line.startswith("#"):
            names = [new_name if name == old_name else name
                     for name in fields[0].split(",")]
            line = ",".join(dict.fromkeys(names)) + " " + fields[1]
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


class LUClusterRename(LogicalUnit):
    """Rename the cluster (its name and the master IP its name resolves to)."""

    HPATH = "cluster-rename"
    HTYPE = constants.HTYPE_CLUSTER

    def BuildHooksEnv(self) -> dict[str, Any]:
        return {"OP_TARGET": self.cfg.GetClusterName(), "NEW_NAME": self.op.name}

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        return [self.cfg.GetMasterNode()], self.cfg.GetNodeList()

    def CheckPrereq(self) -> None:
        """Resolve the new name (virtual clusters: through their hosts file).

        Raises:
          errors.OpPrereqError: the name does not resolve (ECODE_RESOLVER),
            nothing would change (ECODE_INVAL), or the new address is in use
            (ECODE_NOTUNIQUE).
        """
        cluster = self.cfg.GetClusterInfo()
        hostname = netutils.GetHostname(name=self.op.name,
                                        family=cluster.primary_ip_family)
        self.new_name = hostname.name
        self.new_ip = hostname.ip
        if self.new_name == cluster.cluster_name and self.new_ip == cluster.master_ip:
            raise errors.OpPrereqError(
                f"The cluster is already called {self.new_name} with master IP"
                f" {self.new_ip}: neither the name nor the IP address would change",
                errors.ECODE_INVAL)
        if self.new_ip != cluster.master_ip and _AddressInUse(self.new_ip):
            raise errors.OpPrereqError(
                f"The given cluster IP address ({self.new_ip}) is reachable on the"
                " network", errors.ECODE_NOTUNIQUE)

    def _UpdateKnownHosts(self, old_name: str) -> None:
        """Rename the cluster's entries of known_hosts here and on the nodes."""
        path = pathutils.SSH_KNOWN_HOSTS_FILE
        try:
            text = io.ReadFile(path)
        except FileNotFoundError:
            return
        except OSError as err:
            self.LogWarning("Cannot read %s: %s", path, err)
            return
        io.WriteFile(path, RenameKnownHosts(text, old_name, self.new_name),
                     mode=0o644)
        master_uuid = self.cfg.GetMasterNode()
        targets = [uuid for uuid in self.cfg.GetOnlineNodeList()
                   if uuid != master_uuid]
        if not targets:
            return
        for node_uuid, result in self.rpc.call_upload_file(targets, path).items():
            if result.fail_msg:
                self.LogWarning("Copy of file %s to node %s failed: %s", path,
                                self.cfg.GetNodeName(node_uuid), result.fail_msg)

    def Exec(self, feedback_fn: Callable[..., None]) -> str:
        """Take the master IP down, rename, bring the (new) master IP up.

        Raises:
          errors.OpExecError: the master IP could not be taken down (nothing
            was changed).
        """
        params = _MasterNetworkParameters(self.cfg)
        ems = bool(self.cfg.GetClusterInfo().use_external_mip_script)
        result = self.rpc.call_node_deactivate_master_ip(params["uuid"], params, ems)
        result.Raise("Could not disable the master role")
        try:
            cluster = self.cfg.GetClusterInfo()
            old_name = cluster.cluster_name
            cluster.cluster_name = self.new_name
            cluster.master_ip = self.new_ip
            self.cfg.Update(cluster, feedback_fn)
            self._UpdateKnownHosts(old_name)
        finally:
            params = _MasterNetworkParameters(self.cfg)
            result = self.rpc.call_node_activate_master_ip(params["uuid"], params, ems)
            result.Warn("Could not bring the master IP up again; activate it with"
                        " 'gnt-cluster activate-master-ip'", self.LogWarning)
        return self.new_name
