"""Reading config.data, and building a minimal configuration.

LoadConfigData turns every way a config file can be broken into a
ConfigurationError naming the file, so that daemons and tools report it
instead of crashing with a traceback.
"""

from __future__ import annotations

import time
import uuid as uuid_module
from typing import Any, Protocol

from ganeti import constants, errors, objects, pathutils, serializer
from ganeti.utils import io

# DRBD and VNC/SPICE ports are handed out from this range (spec/config.md).
FIRST_DRBD_PORT = 11000
LAST_DRBD_PORT = 14999


class LoadedConfig(Protocol):
    """The type of a ConfigData after UpgradeConfig: every container is set.

    Only for static typing (typing.cast); at runtime it is a ConfigData.
    """

    version: int
    cluster: objects.Cluster
    nodes: dict[str, objects.Node]
    nodegroups: dict[str, objects.NodeGroup]
    instances: dict[str, objects.Instance]
    networks: dict[str, objects.Network]
    disks: dict[str, objects.Disk]
    filters: dict[str, objects.FilterRule]
    serial_no: int
    ctime: float
    mtime: float

    def ToDict(self, runtime: bool = False) -> dict[str, Any]: ...


def LoadConfigData(cfg_file: str) -> objects.ConfigData:
    """Read, check and upgrade a config.data file.

    Raises:
      errors.ConfigVersionMismatch: the file's version is not CONFIG_VERSION.
      errors.ConfigurationError: the file is missing, unreadable, not JSON
        or not shaped like a configuration; the message names the file.
    """
    try:
        raw = serializer.LoadJson(io.ReadBinaryFile(cfg_file))
    except OSError as err:
        raise errors.ConfigurationError(
            f"Cannot read config file {cfg_file}: {err.strerror or err}") from err
    except errors.ParseError as err:
        raise errors.ConfigurationError(
            f"Cannot parse config file {cfg_file}: {err}") from err
    if not isinstance(raw, dict):
        raise errors.ConfigurationError(
            f"Config file {cfg_file} does not hold a JSON object")
    if "version" not in raw:
        raise errors.ConfigurationError(f"Config file {cfg_file} has no version")
    if raw["version"] != constants.CONFIG_VERSION:
        raise errors.ConfigVersionMismatch(constants.CONFIG_VERSION, raw["version"])
    for key in ("cluster", "nodes", "nodegroups", "instances"):
        if not isinstance(raw.get(key), dict):
            raise errors.ConfigurationError(
                f"Config file {cfg_file}: {key!r} is missing or not a JSON object")
    try:
        data = objects.ConfigData.FromDict(raw)
        data.UpgradeConfig()
    except errors.ConfigurationError as err:
        raise errors.ConfigurationError(f"Config file {cfg_file}: {err}") from err
    except (TypeError, AttributeError, ValueError, KeyError) as err:
        # A value of the wrong JSON type somewhere deep down (e.g. a list
        # where parameters belong).
        raise errors.ConfigurationError(
            f"Config file {cfg_file} is not a valid configuration: {err!r}") from err
    return data


def MakeMinimalConfig(cluster_name: str, node_name: str, node_ip: str,
                      now: float | None = None) -> objects.ConfigData:
    """Build a small consistent configuration: one group with one master node.

    Meant for tests and tools; gnt-cluster init builds the real one.
    """
    now = time.time() if now is None else now
    group = objects.NodeGroup(name=constants.INITIAL_NODE_GROUP_NAME,
                              uuid=str(uuid_module.uuid4()), serial_no=1,
                              ctime=now, mtime=now)
    node = objects.Node(name=node_name, primary_ip=node_ip, secondary_ip=node_ip,
                        master_candidate=True, group=group.uuid,
                        uuid=str(uuid_module.uuid4()), serial_no=1, ctime=now,
                        mtime=now)
    cluster = objects.Cluster(
        cluster_name=cluster_name, master_node=node.uuid, master_ip=node_ip,
        master_netdev="lo", uuid=str(uuid_module.uuid4()), serial_no=1,
        mac_prefix=constants.DEFAULT_MAC_PREFIX, highest_used_port=FIRST_DRBD_PORT - 1,
        enabled_hypervisors=[constants.HT_FAKE],
        enabled_disk_templates=[constants.DT_DISKLESS, constants.DT_FILE],
        file_storage_dir=pathutils.DEFAULT_FILE_STORAGE_DIR, ctime=now, mtime=now)
    data = objects.ConfigData(
        version=constants.CONFIG_VERSION, cluster=cluster, nodes={node.uuid: node},
        nodegroups={group.uuid: group}, serial_no=1, ctime=now, mtime=now)
    data.UpgradeConfig()
    return data


def _MatchNameComponent(key: str, names: list[str]) -> str | None:
    """Return the one name equal to key or starting with key + ".", else None.

    As Ganeti's utils.MatchNameComponent, "node1" expands to
    "node1.example.com" if no other name matches it.
    """
    if key in names:
        return key
    matches = [name for name in names if name.startswith(key + ".")]
    if len(matches) == 1:
        return matches[0]
    lowered = [name for name in names if name.lower() == key.lower()
               or name.lower().startswith(key.lower() + ".")]
    return lowered[0] if len(lowered) == 1 else None
