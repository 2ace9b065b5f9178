"""Simple, node-local store of cluster facts: the ssconf_* files.

Mirrors Ganeti's lib/ssconf.py. Every node holds a copy of a few small facts
(the master's name, the node list, the candidates' certificate digests...) as
one file per key below DATA_DIR, named ssconf_<key>, one value per line
(spec/config.md section 4). The master computes the values
(ConfigWriter.GetSsconfValues) and sends them to every node, which writes
them with SimpleStore.WriteFiles.

Writers serialise on an exclusive lock on SSCONF_LOCK_FILE; each file is
replaced atomically, so readers need no lock: they see the old or the new
content of a file, never a mix.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sys
import time

from ganeti import constants, errors, pathutils, vcluster
from ganeti.utils import io

SS_CLUSTER_NAME = "cluster_name"
SS_CLUSTER_TAGS = "cluster_tags"
SS_FILE_STORAGE_DIR = "file_storage_dir"
SS_SHARED_FILE_STORAGE_DIR = "shared_file_storage_dir"
SS_GLUSTER_STORAGE_DIR = "gluster_storage_dir"
SS_MASTER_CANDIDATES = "master_candidates"
SS_MASTER_CANDIDATES_IPS = "master_candidates_ips"
SS_MASTER_CANDIDATES_CERTS = "master_candidates_certs"
SS_MASTER_IP = "master_ip"
SS_MASTER_NETDEV = "master_netdev"
SS_MASTER_NETMASK = "master_netmask"
SS_MASTER_NODE = "master_node"
SS_NODE_LIST = "node_list"
SS_NODE_PRIMARY_IPS = "node_primary_ips"
SS_NODE_SECONDARY_IPS = "node_secondary_ips"
SS_NODE_VM_CAPABLE = "node_vm_capable"
SS_OFFLINE_NODES = "offline_nodes"
SS_ONLINE_NODES = "online_nodes"
SS_PRIMARY_IP_FAMILY = "primary_ip_family"
SS_INSTANCE_LIST = "instance_list"
SS_RELEASE_VERSION = "release_version"
SS_HYPERVISOR_LIST = "hypervisor_list"
SS_MAINTAIN_NODE_HEALTH = "maintain_node_health"
SS_UID_POOL = "uid_pool"
SS_NODEGROUPS = "nodegroups"
SS_NETWORKS = "networks"
SS_ENABLED_USER_SHUTDOWN = "enabled_user_shutdown"
SS_SSH_PORTS = "ssh_ports"
SS_HVPARAMS_PREF = "hvparams_"

SS_HVPARAMS_KEYS = frozenset(SS_HVPARAMS_PREF + hv for hv in constants.HYPER_TYPES)

VALID_KEYS = frozenset([
    SS_CLUSTER_NAME, SS_CLUSTER_TAGS, SS_FILE_STORAGE_DIR,
    SS_SHARED_FILE_STORAGE_DIR, SS_GLUSTER_STORAGE_DIR, SS_MASTER_CANDIDATES,
    SS_MASTER_CANDIDATES_IPS, SS_MASTER_CANDIDATES_CERTS, SS_MASTER_IP,
    SS_MASTER_NETDEV, SS_MASTER_NETMASK, SS_MASTER_NODE, SS_NODE_LIST,
    SS_NODE_PRIMARY_IPS, SS_NODE_SECONDARY_IPS, SS_NODE_VM_CAPABLE,
    SS_OFFLINE_NODES, SS_ONLINE_NODES, SS_PRIMARY_IP_FAMILY, SS_INSTANCE_LIST,
    SS_RELEASE_VERSION, SS_HYPERVISOR_LIST, SS_MAINTAIN_NODE_HEALTH, SS_UID_POOL,
    SS_NODEGROUPS, SS_NETWORKS, SS_ENABLED_USER_SHUTDOWN, SS_SSH_PORTS,
]) | SS_HVPARAMS_KEYS

SS_FILE_PREFIX = "ssconf_"
# ssconf files are world-readable and never edited in place (Ganeti's
# SS_FILE_PERMS).
SS_FILE_PERMS = 0o444
# Largest ssconf file accepted (Ganeti's _MAX_SIZE); the biggest real file,
# hvparams_kvm, is about 1.2 KiB.
_MAX_SIZE = 128 * 1024
# How long WriteFiles waits for another writer before giving up (seconds).
SSCONF_LOCK_TIMEOUT = 10
_LOCK_POLL_INTERVAL = 0.05

# Exit codes of Ganeti's daemons (constants EXIT_NOTMASTER and
# EXIT_NODESETUP_ERROR), used by CheckMaster.
EXIT_NOTMASTER = getattr(constants, "EXIT_NOTMASTER", 11)
EXIT_NODESETUP_ERROR = getattr(constants, "EXIT_NODESETUP_ERROR", 12)


def _LockExclusive(lock_file: str, timeout: float) -> int:
    """Open lock_file (creating it and its directory) and lock it exclusively.

    Returns:
      The open file descriptor; closing it releases the lock.

    Raises:
      errors.LockError: another writer held the lock for longer than timeout.
    """
    os.makedirs(os.path.dirname(lock_file), exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
        if time.monotonic() >= deadline:
            os.close(fd)
            raise errors.LockError(
                f"Could not lock {lock_file} within {timeout} seconds")
        time.sleep(_LOCK_POLL_INTERVAL)


def _SplitPairs(lines: list[str], sep: str, key: str) -> list[tuple[str, str]]:
    """Split each "a<sep>b" line into (a, b).

    Raises:
      errors.ConfigurationError: a line has no separator.
    """
    result = []
    for line in lines:
        name, found, value = line.partition(sep)
        if not found:
            raise errors.ConfigurationError(
                f"Invalid line {line!r} in ssconf file {key!r}")
        result.append((name, value))
    return result


def _ParseBool(value: str, key: str) -> bool:
    if value == "True":
        return True
    if value == "False":
        return False
    raise errors.ConfigurationError(
        f"Invalid boolean {value!r} in ssconf file {key!r}")


def _ParseInt(value: str, key: str) -> int:
    try:
        return int(value)
    except ValueError as err:
        raise errors.ConfigurationError(
            f"Invalid integer {value!r} in ssconf file {key!r}") from err


class SimpleStore:
    """Read and write the ssconf_* files of one node.

    Unlike the ConfigWriter this works on every node, not only on master
    candidates. Keys are restricted to VALID_KEYS.
    """

    def __init__(self, cfg_location: str | None = None,
                 _lockfile: str = pathutils.SSCONF_LOCK_FILE) -> None:
        """Initialise the store.

        Args:
          cfg_location: directory of the ssconf files (default DATA_DIR).
          _lockfile: lock file serialising writers (test seam).
        """
        self._cfg_dir = pathutils.DATA_DIR if cfg_location is None else cfg_location
        self._lockfile = _lockfile

    def KeyToFilename(self, key: str) -> str:
        """Return the file name holding key.

        Raises:
          errors.ProgrammerError: key is not a valid ssconf key.
        """
        if key not in VALID_KEYS:
            raise errors.ProgrammerError(f"Invalid key requested from SSConf: {key!r}")
        return f"{self._cfg_dir}/{SS_FILE_PREFIX}{key}"

    def ReadSsconfFile(self, key: str) -> str:
        """Return the content of one ssconf file without trailing newlines.

        Raises:
          errors.ConfigurationError: the key is unknown, or the file is
            missing, unreadable or larger than 128 KiB.
        """
        if key not in VALID_KEYS:
            raise errors.ConfigurationError(f"Unknown ssconf key {key!r}")
        filename = self.KeyToFilename(key)
        try:
            data = io.ReadFile(filename, size=_MAX_SIZE + 1)
        except (OSError, UnicodeDecodeError) as err:
            raise errors.ConfigurationError(
                f"Can't read ssconf file {filename}: {err}") from err
        if len(data) > _MAX_SIZE:
            raise errors.ConfigurationError(
                f"ssconf file {filename} is larger than {_MAX_SIZE} bytes")
        return data.rstrip("\n")

    def _ReadLines(self, key: str) -> list[str]:
        return self.ReadSsconfFile(key).splitlines()

    def WriteFiles(self, values: dict[str, str], dry_run: bool = False) -> None:
        """Write ssconf files, one per key, each replaced atomically.

        A newline is appended to every non-empty value lacking one, as the
        files on a real node end with one (spec/samples/ssconf.txt).

        Args:
          values: key -> file content.
          dry_run: only validate, write nothing.

        Raises:
          errors.ProgrammerError: a key is unknown or a value is not a str;
            nothing has been written then.
          errors.ConfigurationError: a value is larger than 128 KiB.
          errors.LockError: another writer kept the lock too long.
          OSError: a file could not be written; files written before it
            keep their new content.
        """
        contents: dict[str, str] = {}
        for key, value in values.items():
            filename = self.KeyToFilename(key)
            if not isinstance(value, str):
                raise errors.ProgrammerError(
                    f"ssconf value for {key!r} must be a str, not"
                    f" {type(value).__name__}")
            if value and not value.endswith("\n"):
                value += "\n"
            if len(value.encode("utf-8")) > _MAX_SIZE:
                raise errors.ConfigurationError(
                    f"ssconf value for {key!r} is larger than {_MAX_SIZE} bytes")
            contents[filename] = value
        if dry_run:
            return
        fd = _LockExclusive(self._lockfile, SSCONF_LOCK_TIMEOUT)
        try:
            for filename, value in contents.items():
                io.WriteFile(filename, value, mode=SS_FILE_PERMS)
        finally:
            os.close(fd)

    def GetFileList(self) -> list[str]:
        """Return the names of all ssconf files (for replication)."""
        return [self.KeyToFilename(key) for key in sorted(VALID_KEYS)]

    # --- single values ------------------------------------------------------

    def GetClusterName(self) -> str:
        return self.ReadSsconfFile(SS_CLUSTER_NAME)

    def GetFileStorageDir(self) -> str:
        return self.ReadSsconfFile(SS_FILE_STORAGE_DIR)

    def GetSharedFileStorageDir(self) -> str:
        return self.ReadSsconfFile(SS_SHARED_FILE_STORAGE_DIR)

    def GetGlusterStorageDir(self) -> str:
        return self.ReadSsconfFile(SS_GLUSTER_STORAGE_DIR)

    def GetMasterIP(self) -> str:
        return self.ReadSsconfFile(SS_MASTER_IP)

    def GetMasterNetdev(self) -> str:
        return self.ReadSsconfFile(SS_MASTER_NETDEV)

    def GetMasterNetmask(self) -> int:
        """Return the master IP's prefix length.

        Raises:
          errors.ConfigurationError: the file is missing or not an integer.
        """
        return _ParseInt(self.ReadSsconfFile(SS_MASTER_NETMASK), SS_MASTER_NETMASK)

    def GetMasterNode(self) -> str:
        """Return the name of the master node."""
        return self.ReadSsconfFile(SS_MASTER_NODE)

    def GetReleaseVersion(self) -> str:
        return self.ReadSsconfFile(SS_RELEASE_VERSION)

    def GetPrimaryIPFamily(self) -> int:
        """Return the address family of primary IPs (2 = IPv4, 10 = IPv6).

        Raises:
          errors.ConfigurationError: the file is missing or not an integer.
        """
        return _ParseInt(self.ReadSsconfFile(SS_PRIMARY_IP_FAMILY),
                         SS_PRIMARY_IP_FAMILY)

    def GetMaintainNodeHealth(self) -> bool:
        return _ParseBool(self.ReadSsconfFile(SS_MAINTAIN_NODE_HEALTH),
                          SS_MAINTAIN_NODE_HEALTH)

    def GetEnabledUserShutdown(self) -> bool:
        return _ParseBool(self.ReadSsconfFile(SS_ENABLED_USER_SHUTDOWN),
                          SS_ENABLED_USER_SHUTDOWN)

    # --- lists --------------------------------------------------------------

    def GetClusterTags(self) -> list[str]:
        return self._ReadLines(SS_CLUSTER_TAGS)

    def GetMasterCandidates(self) -> list[str]:
        """Return the names of the master and the master candidates."""
        return self._ReadLines(SS_MASTER_CANDIDATES)

    def GetMasterCandidatesIPList(self) -> list[str]:
        return self._ReadLines(SS_MASTER_CANDIDATES_IPS)

    def GetMasterCandidatesCertMap(self) -> dict[str, str]:
        """Return node uuid -> client certificate digest of every candidate.

        Raises:
          errors.ConfigurationError: the file is missing or malformed.
        """
        lines = self._ReadLines(SS_MASTER_CANDIDATES_CERTS)
        return dict(_SplitPairs(lines, "=", SS_MASTER_CANDIDATES_CERTS))

    def GetNodeList(self) -> list[str]:
        return self._ReadLines(SS_NODE_LIST)

    def GetOnlineNodeList(self) -> list[str]:
        return self._ReadLines(SS_ONLINE_NODES)

    def GetOfflineNodeList(self) -> list[str]:
        return self._ReadLines(SS_OFFLINE_NODES)

    def GetNodePrimaryIPList(self) -> list[str]:
        """Return the "<name> <ip>" lines of every node's primary IP."""
        return self._ReadLines(SS_NODE_PRIMARY_IPS)

    def GetNodeSecondaryIPList(self) -> list[str]:
        """Return the "<name> <ip>" lines of every node's secondary IP."""
        return self._ReadLines(SS_NODE_SECONDARY_IPS)

    def GetNodePrimaryIPMap(self) -> dict[str, str]:
        """Return node name -> primary IP.

        Raises:
          errors.ConfigurationError: the file is missing or malformed.
        """
        lines = self.GetNodePrimaryIPList()
        return dict(_SplitPairs(lines, " ", SS_NODE_PRIMARY_IPS))

    def GetNodeVmCapable(self) -> dict[str, bool]:
        """Return node name -> whether the node may host instances."""
        lines = self._ReadLines(SS_NODE_VM_CAPABLE)
        return {name: _ParseBool(value, SS_NODE_VM_CAPABLE)
                for name, value in _SplitPairs(lines, "=", SS_NODE_VM_CAPABLE)}

    def GetSshPortMap(self) -> dict[str, int]:
        """Return node name -> SSH port."""
        lines = self._ReadLines(SS_SSH_PORTS)
        return {name: _ParseInt(value, SS_SSH_PORTS)
                for name, value in _SplitPairs(lines, "=", SS_SSH_PORTS)}

    def GetInstanceList(self) -> list[str]:
        return self._ReadLines(SS_INSTANCE_LIST)

    def GetHypervisorList(self) -> list[str]:
        """Return the enabled hypervisors, the default one first."""
        return self._ReadLines(SS_HYPERVISOR_LIST)

    def GetNodegroupList(self) -> list[str]:
        """Return the "<uuid> <name>" lines of every node group."""
        return self._ReadLines(SS_NODEGROUPS)

    def GetNetworkList(self) -> list[str]:
        """Return the "<uuid> <name>" lines of every network."""
        return self._ReadLines(SS_NETWORKS)

    def GetUidPool(self) -> list[tuple[int, int]]:
        """Return the user-id pool as inclusive (low, high) ranges.

        Raises:
          errors.ConfigurationError: the file is missing or malformed.
        """
        ranges = []
        for line in self._ReadLines(SS_UID_POOL):
            low, _, high = line.strip().partition("-")
            lo_id = _ParseInt(low, SS_UID_POOL)
            ranges.append((lo_id, _ParseInt(high, SS_UID_POOL) if high else lo_id))
        return ranges

    def GetHvparamsForHypervisor(self, hvname: str) -> dict[str, str]:
        """Return the cluster-level parameters of one hypervisor, as strings.

        Raises:
          errors.ConfigurationError: unknown hypervisor, missing or
            malformed file.
        """
        key = SS_HVPARAMS_PREF + hvname
        if key not in SS_HVPARAMS_KEYS:
            raise errors.ConfigurationError(f"Unknown hypervisor {hvname!r}")
        return dict(_SplitPairs(self._ReadLines(key), "=", key))

    def GetHvparams(self) -> dict[str, dict[str, str]]:
        """Return hypervisor -> parameters for every known hypervisor."""
        return {hv: self.GetHvparamsForHypervisor(hv)
                for hv in sorted(constants.HYPER_TYPES)}


def _GetOwnHostname() -> str:
    """Return this node's name.

    Uses ganeti.netutils when it exists; otherwise the virtual host name or
    the system's FQDN.
    """
    try:
        # Imported late: netutils is optional and may import this module.
        from ganeti import netutils
    except ImportError:
        return vcluster.GetVirtualHostname() or socket.getfqdn()
    return netutils.Hostname.GetSysName()


def GetMasterAndMyself(ss: SimpleStore | None = None) -> tuple[str, str]:
    """Return (master node name, this node's name).

    Raises:
      errors.ConfigurationError: the master_node ssconf file is unreadable.
    """
    if ss is None:
        ss = SimpleStore()
    return ss.GetMasterNode(), _GetOwnHostname()


def CheckMaster(debug: bool, ss: SimpleStore | None = None) -> None:
    """Return if this node is the master; otherwise exit the process.

    Exits with EXIT_NODESETUP_ERROR (12) if ssconf is incomplete and with
    EXIT_NOTMASTER (11) if another node is the master, as Ganeti's daemons do.

    Args:
      debug: also name both nodes in the "not master" message.
      ss: the store to read (default: this node's).
    """
    try:
        master_name, myself = GetMasterAndMyself(ss)
    except errors.ConfigurationError as err:
        sys.stderr.write(f"Cluster configuration incomplete: {err}\n")
        sys.exit(EXIT_NODESETUP_ERROR)
    except errors.ResolverError as err:
        sys.stderr.write(f"Cannot resolve my own name ({err.args[0]})\n")
        sys.exit(EXIT_NODESETUP_ERROR)
    if myself != master_name:
        detail = f" (master is {master_name}, this is {myself})" if debug else ""
        sys.stderr.write(f"Not master{detail}, exiting.\n")
        sys.exit(EXIT_NOTMASTER)
