"""The node RPC procedures, as one declarative table.

Mirrors Ganeti's lib/rpc_defs.py (spec/rpc.md section 2), with named rows
instead of 8-field tuples. The master-side runner (ganeti/rpc/client.py)
generates one `call_<name>` method per row, and noded dispatches on the same
names (ganeti.backend.PROCEDURES); a unit test checks that both agree.

Each argument names an encoder tag (ED_*) saying how the master turns the
caller's value into its wire form; None means "send the value as is" (it must
already be JSON-compatible). The encoders themselves live with the runner,
because several of them need the cluster configuration (instance dicts get
cluster defaults filled in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ganeti import constants, errors

SINGLE = "single-node"
MULTI = "multi-node"
MODES = frozenset([SINGLE, MULTI])

# --- argument encoders (Ganeti's ED_* kinds) ---------------------------------
# Values are names, not Ganeti's small integers, so that error messages and
# reprs say what they are.
ED_OBJECT_DICT = "object-dict"                   # obj.ToDict()
ED_OBJECT_DICT_LIST = "object-dict-list"         # [obj.ToDict(), ...]
ED_INST_DICT = "inst-dict"                       # instance, cluster-filled
ED_INST_DICT_HVP_BEP_DP = "inst-dict-hvp-bep-dp"  # (instance, hvp, bep)
ED_NODE_TO_DISK_DICT_DP = "node-to-disk-dict-dp"  # {node: [(disk, inst)]}
ED_INST_DICT_OSP_DP = "inst-dict-osp-dp"         # (instance, osparams)
ED_IMPEXP_IO = "impexp-io"                       # (ieio, ieioargs)
ED_FILE_DETAILS = "file-details"                 # local file name
ED_FINALIZE_EXPORT_DISKS = "finalize-export-disks"  # [disk or False, ...]
ED_COMPRESS = "compress"                         # str/bytes -> [enc, data]
ED_BLOCKDEV_RENAME = "blockdev-rename"           # [(disk, new_unique_id)]
ED_DISKS_DICT_DP = "disks-dict-dp"               # (disks, instance)
ED_MULTI_DISKS_DICT_DP = "multi-disks-dict-dp"   # [(disk, instance), ...]
ED_SINGLE_DISK_DICT_DP = "single-disk-dict-dp"   # (disk, instance)
ED_NIC_DICT = "nic-dict"                         # nic
ED_DEVICE_DICT = "device-dict"                   # (disk or nic, instance)
# Ours: Ganeti's job queue makes these paths virtual before the call; here
# the table says so, and the encoder leaves an already virtual path alone.
ED_VIRTUAL_PATH = "virtual-path"                 # local path
ED_VIRTUAL_PATH_PAIRS = "virtual-path-pairs"     # [(old, new), ...]

ENCODERS = frozenset([
    ED_OBJECT_DICT, ED_OBJECT_DICT_LIST, ED_INST_DICT, ED_INST_DICT_HVP_BEP_DP,
    ED_NODE_TO_DISK_DICT_DP, ED_INST_DICT_OSP_DP, ED_IMPEXP_IO, ED_FILE_DETAILS,
    ED_FINALIZE_EXPORT_DISKS, ED_COMPRESS, ED_BLOCKDEV_RENAME, ED_DISKS_DICT_DP,
    ED_MULTI_DISKS_DICT_DP, ED_SINGLE_DISK_DICT_DP, ED_NIC_DICT, ED_DEVICE_DICT,
    ED_VIRTUAL_PATH, ED_VIRTUAL_PATH_PAIRS,
])

# Encoders whose result depends on the destination node (disk parameters
# may differ per node); a call using one is encoded once per node.
PER_NODE_ENCODERS = frozenset([
    ED_INST_DICT, ED_INST_DICT_HVP_BEP_DP, ED_INST_DICT_OSP_DP,
    ED_NODE_TO_DISK_DICT_DP, ED_IMPEXP_IO, ED_DISKS_DICT_DP,
    ED_MULTI_DISKS_DICT_DP, ED_SINGLE_DISK_DICT_DP, ED_DEVICE_DICT,
])

TimeoutSpec = int | Callable[[Sequence[Any]], float]
PreProcFn = Callable[[str, list[Any]], list[Any]]
PostProcFn = Callable[[Any], Any]


class Arg(NamedTuple):
    """One positional argument of a procedure."""

    name: str
    encoder: str | None = None
    doc: str = ""


class RpcCall(NamedTuple):
    """One procedure: how the master calls it.

    Attributes:
      name: procedure name; the URL path is "/<name>".
      mode: SINGLE (one node, one RpcResult) or MULTI (list of nodes, dict
        node -> RpcResult).
      timeout: read timeout in seconds (constants.RPC_TMO_*), or a function
        of the call's argument list returning one.
      args: the positional arguments, in wire order.
      postproc: applied to each node's RpcResult before it is returned
        (turns payload dicts into objects).
      preproc: (node, encoded args) -> args actually sent to that node,
        for calls whose body differs per node.
      accept_offline: also contact nodes marked offline.
      doc: one line for the generated method's docstring.
    """

    name: str
    mode: str
    timeout: TimeoutSpec
    args: list[Arg]
    postproc: PostProcFn | None = None
    preproc: PreProcFn | None = None
    accept_offline: bool = False
    doc: str = ""


def GetTimeout(call: RpcCall, args: Sequence[Any]) -> float:
    """Return the read timeout of one invocation of call.

    Raises:
      errors.ProgrammerError: the timeout depends on the arguments and they
        do not allow computing it (e.g. test_delay's duration is no number).
    """
    if not callable(call.timeout):
        return call.timeout
    try:
        return call.timeout(args)
    except (TypeError, ValueError, IndexError) as err:
        raise errors.ProgrammerError(
            f"Cannot compute the timeout of RPC {call.name} from its"
            f" arguments: {err}") from err


# --- post- and pre-processors ------------------------------------------------

def _PayloadFromDict(class_name: str) -> PostProcFn:
    """Build a postproc turning a successful payload into objects.<class_name>.

    The class is looked up when the result arrives, so this table does not
    import ganeti.objects (which sits above rpc in the module order); when
    the class does not exist (yet), the payload is left as the dict it is.
    """

    def _PostProc(result: Any) -> Any:
        cls = _ObjectsClass(class_name)
        if result.fail_msg or result.payload is None or cls is None:
            return result
        result.payload = cls.FromDict(result.payload)
        return result

    _PostProc.__name__ = f"_{class_name}PostProc"
    return _PostProc


def _ListFromDicts(class_name: str) -> PostProcFn:
    """Like _PayloadFromDict, for a payload that is a list (None items kept)."""

    def _PostProc(result: Any) -> Any:
        cls = _ObjectsClass(class_name)
        if result.fail_msg or cls is None or not isinstance(result.payload, list):
            return result
        result.payload = [None if item is None else cls.FromDict(item)
                          for item in result.payload]
        return result

    _PostProc.__name__ = f"_{class_name}ListPostProc"
    return _PostProc


def _MirrorStatusMultiPostProc(result: Any) -> Any:
    """Turn the successful [ok, status] items into BlockDevStatus objects."""
    cls = _ObjectsClass("BlockDevStatus")
    if result.fail_msg or cls is None or not isinstance(result.payload, list):
        return result
    result.payload = [[ok, cls.FromDict(status) if ok else status]
                      for ok, status in result.payload]
    return result


def _ObjectsClass(class_name: str) -> Any:
    try:
        from ganeti import objects
    except ImportError:
        return None
    return getattr(objects, class_name, None)


def _PerNodeFirstArg(node: str, args: list[Any]) -> list[Any]:
    """Pick this node's value when the first argument is a per-node dict.

    node_info's storage_units and blockdev_getmirrorstatus_multi's node_disks
    may be given as {node: value}; each node gets only its own value.
    """
    if isinstance(args[0], dict):
        return [args[0][node], *args[1:]]
    return args


def _TestDelayTimeout(args: Sequence[Any]) -> float:
    """The duration plus a margin for the round trip (Ganeti adds 5 s)."""
    return int(args[0] + 5)


_A = Arg
_URGENT = constants.RPC_TMO_URGENT
_FAST = constants.RPC_TMO_FAST
_NORMAL = constants.RPC_TMO_NORMAL
_SLOW = constants.RPC_TMO_SLOW


def _Args(*names: str) -> list[Arg]:
    """Arguments sent as they are (no encoder)."""
    return [Arg(name) for name in names]


# --- the table ---------------------------------------------------------------

_NODE_CALLS = [
    RpcCall("version", MULTI, _URGENT, [], accept_offline=True,
            doc="Return the node's protocol version"),
    RpcCall("node_info", MULTI, _URGENT, _Args("storage_units", "hv_specs"),
            preproc=_PerNodeFirstArg, doc="Return node information"),
    RpcCall("node_verify", MULTI, _NORMAL,
            _Args("checkdict", "cluster_name", "all_hvparams"),
            doc="Verify the given parameters on the node"),
    RpcCall("node_verify_light", MULTI, _NORMAL,
            _Args("checkdict", "cluster_name", "hvparams"),
            doc="Verify the given parameters (for nodes not yet in the cluster)"),
    RpcCall("node_has_ip_address", SINGLE, _FAST, _Args("address"),
            doc="Check whether the node has the given IP address"),
    RpcCall("node_volumes", MULTI, _FAST, [], doc="List all volumes on the node"),
    RpcCall("node_demote_from_mc", SINGLE, _FAST, [],
            doc="Demote the node from the master candidate role"),
    RpcCall("node_powercycle", SINGLE, _NORMAL, _Args("hypervisor", "hvparams"),
            accept_offline=True, doc="Power-cycle the node"),
    RpcCall("node_configure_ovs", SINGLE, _NORMAL, _Args("ovs_name", "ovs_link"),
            doc="Create and set up an Open vSwitch"),
    RpcCall("node_crypto_tokens", SINGLE, _SLOW, _Args("token_request"),
            doc="Handle the node's crypto tokens"),
    RpcCall("node_ensure_daemon", MULTI, _URGENT, _Args("daemon", "run"),
            doc="Start or stop a daemon on the node"),
    RpcCall("node_ssh_key_add", MULTI, _FAST,
            _Args("node_uuid", "node_name", "potential_master_candidates",
                  "to_authorized_keys", "to_public_keys", "get_public_keys"),
            doc="Distribute a new node's public SSH key"),
    RpcCall("node_ssh_key_remove", MULTI, _FAST,
            _Args("node_uuid", "node_name", "master_candidate_uuids",
                  "potential_master_candidates", "from_authorized_keys",
                  "from_public_keys", "clear_authorized_keys",
                  "clear_public_keys", "readd"),
            doc="Remove a node's SSH key from the other nodes"),
    RpcCall("node_ssh_keys_renew", MULTI, constants.RPC_TMO_4HRS,
            _Args("node_uuids", "node_names", "master_candidate_uuids",
                  "potential_master_candidates", "old_key_type", "new_key_type",
                  "new_key_bits"),
            doc="Renew the SSH key pairs of the nodes"),
    RpcCall("ping", SINGLE, _NORMAL, [], doc="Check that noded is alive"),
]

_BOOTSTRAP_CALLS = [
    RpcCall("master_node_name", MULTI, _URGENT, [],
            doc="Return the master node's name as the node knows it"),
    RpcCall("node_start_master_daemons", SINGLE, _FAST, _Args("no_voting"),
            doc="Start the master daemons on the node"),
    RpcCall("node_stop_master", SINGLE, _FAST, [],
            doc="Stop the master daemons on the node"),
    RpcCall("node_activate_master_ip", SINGLE, _FAST,
            [_A("master_params", ED_OBJECT_DICT), _A("use_external_mip_script")],
            doc="Activate the master IP on the node"),
    RpcCall("node_deactivate_master_ip", SINGLE, _FAST,
            [_A("master_params", ED_OBJECT_DICT), _A("use_external_mip_script")],
            doc="Deactivate the master IP on the node"),
    RpcCall("node_change_master_netmask", SINGLE, _FAST,
            _Args("old_netmask", "netmask", "master_ip", "master_netdev"),
            doc="Change the master IP's netmask"),
    RpcCall("node_leave_cluster", SINGLE, _NORMAL, _Args("modify_ssh_setup"),
            doc="Make the node forget the cluster and stop its daemon"),
    # Not in Ganeti: master failover compares the candidates' configurations.
    RpcCall("config_serial_no", MULTI, _URGENT, [],
            doc="Return the serial number of the node's config.data"),
]

_MISC_CALLS = [
    RpcCall("etc_hosts_modify", SINGLE, _NORMAL, _Args("mode", "name", "ip"),
            doc="Add or remove a name in the node's hosts file"),
    RpcCall("get_file_info", SINGLE, _FAST, _Args("file_path"),
            doc="Report whether a file exists, and its details"),
    RpcCall("get_watcher_pause", SINGLE, _URGENT, [],
            doc="Return the end of the watcher pause"),
    RpcCall("set_watcher_pause", MULTI, _URGENT, _Args("until"),
            doc="Set the end of the watcher pause"),
    RpcCall("hypervisor_validate_params", MULTI, _NORMAL, _Args("hvname", "hvfull"),
            doc="Validate hypervisor parameters"),
    RpcCall("drbd_helper", MULTI, _URGENT, [], doc="Return the DRBD usermode helper"),
    RpcCall("lv_list", MULTI, _URGENT, _Args("vg_name"),
            doc="List the logical volumes of a volume group"),
    RpcCall("vg_list", MULTI, _URGENT, [], doc="List the volume groups"),
    RpcCall("bridges_exist", SINGLE, _URGENT, _Args("bridges_list"),
            doc="Check that all given bridges exist"),
    RpcCall("bdev_sizes", MULTI, _URGENT, _Args("devices"),
            doc="Return the sizes of the given block devices"),
    RpcCall("restricted_command", MULTI, _SLOW, _Args("cmd"),
            doc="Run a restricted command"),
    RpcCall("run_oob", SINGLE, _NORMAL,
            _Args("oob_program", "command", "remote_node", "timeout"),
            doc="Run an out-of-band command"),
    RpcCall("test_delay", MULTI, _TestDelayTimeout, _Args("duration"),
            doc="Sleep for the given number of seconds"),
]

_INSTANCE_CALLS = [
    RpcCall("instance_start", SINGLE, _NORMAL,
            [_A("instance_hvp_bep", ED_INST_DICT_HVP_BEP_DP), _A("startup_paused"),
             _A("reason")], doc="Start an instance"),
    RpcCall("instance_shutdown", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("timeout"), _A("reason")],
            doc="Stop an instance"),
    RpcCall("instance_reboot", SINGLE, _NORMAL,
            [_A("inst", ED_INST_DICT), _A("reboot_type"), _A("shutdown_timeout"),
             _A("reason")], doc="Reboot an instance"),
    RpcCall("instance_info", SINGLE, _URGENT, _Args("instance", "hname", "hvparams"),
            doc="Return information about one instance"),
    RpcCall("all_instances_info", MULTI, _URGENT,
            _Args("hypervisor_list", "all_hvparams"),
            doc="Return information about all instances on the node"),
    RpcCall("instance_list", MULTI, _URGENT, _Args("hypervisor_list", "hvparams"),
            doc="List the running instances on the node"),
    RpcCall("instance_console_info", MULTI, _URGENT, _Args("instance_info"),
            doc="Return console information of the given instances"),
    RpcCall("instance_balloon_memory", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("memory")],
            doc="Change an instance's runtime memory"),
    RpcCall("instance_os_add", SINGLE, constants.RPC_TMO_1DAY,
            [_A("instance_osp", ED_INST_DICT_OSP_DP), _A("reinstall"), _A("debug")],
            doc="Install the OS of an instance"),
    RpcCall("instance_run_rename", SINGLE, _SLOW,
            [_A("instance", ED_INST_DICT), _A("old_name"), _A("debug")],
            doc="Run the OS rename script of an instance"),
    RpcCall("instance_migratable", SINGLE, _NORMAL, [_A("instance", ED_INST_DICT)],
            doc="Check whether an instance can be migrated"),
    RpcCall("migration_info", SINGLE, _NORMAL, [_A("instance", ED_INST_DICT)],
            doc="Gather what is needed to prepare a migration"),
    RpcCall("accept_instance", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("info"), _A("target")],
            doc="Prepare the node to accept a migrating instance"),
    RpcCall("instance_migrate", SINGLE, _SLOW,
            [_A("cluster_name"), _A("instance", ED_INST_DICT), _A("target"),
             _A("live")], doc="Migrate an instance"),
    RpcCall("instance_finalize_migration_dst", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("info"), _A("success")],
            doc="Finalize a migration on the target node"),
    RpcCall("instance_finalize_migration_src", SINGLE, _SLOW,
            [_A("instance", ED_INST_DICT), _A("success"), _A("live")],
            doc="Finalize a migration on the source node"),
    RpcCall("instance_get_migration_status", SINGLE, _SLOW,
            [_A("instance", ED_INST_DICT)],
            postproc=_PayloadFromDict("MigrationStatus"),
            doc="Report the status of a running migration"),
    RpcCall("hotplug_device", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("action"), _A("dev_type"),
             _A("device", ED_DEVICE_DICT), _A("extra"), _A("seq")],
            doc="Hot-plug a device into a running instance"),
    RpcCall("hotplug_supported", SINGLE, _NORMAL, [_A("instance", ED_INST_DICT)],
            doc="Check whether hot-plugging is supported"),
    RpcCall("resize_disk", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("disk", ED_SINGLE_DISK_DICT_DP),
             _A("new_size")], doc="Tell a running instance a disk has grown"),
    RpcCall("instance_metadata_modify", SINGLE, _URGENT, _Args("instance"),
            doc="Modify instance metadata"),
]

_DISK = ED_SINGLE_DISK_DICT_DP
_DISKS = ED_DISKS_DICT_DP

_BLOCKDEV_CALLS = [
    RpcCall("blockdev_create", SINGLE, _NORMAL,
            [_A("bdev", _DISK), _A("size"), _A("owner"), _A("on_primary"),
             _A("info"), _A("exclusive_storage")],
            doc="Create a block device"),
    RpcCall("blockdev_remove", SINGLE, _NORMAL, [_A("bdev", _DISK)],
            doc="Remove a block device"),
    RpcCall("blockdev_assemble", SINGLE, _NORMAL,
            [_A("disk", _DISK), _A("instance", ED_INST_DICT), _A("on_primary"),
             _A("idx")], doc="Assemble a block device"),
    RpcCall("blockdev_shutdown", SINGLE, _NORMAL, [_A("disk", _DISK)],
            doc="Shut down a block device"),
    RpcCall("blockdev_find", SINGLE, _NORMAL, [_A("disk", _DISK)],
            postproc=_PayloadFromDict("BlockDevStatus"),
            doc="Find a block device and report its status"),
    RpcCall("blockdev_getmirrorstatus", SINGLE, _NORMAL, [_A("disks", _DISKS)],
            postproc=_ListFromDicts("BlockDevStatus"),
            doc="Report the status of (mirrored) block devices"),
    RpcCall("blockdev_getmirrorstatus_multi", MULTI, _NORMAL,
            [_A("node_disks", ED_NODE_TO_DISK_DICT_DP)],
            preproc=_PerNodeFirstArg, postproc=_MirrorStatusMultiPostProc,
            doc="Report the status of block devices on several nodes"),
    RpcCall("blockdev_grow", SINGLE, _NORMAL,
            [_A("cf_bdev", _DISK), _A("amount"), _A("dryrun"), _A("backingstore"),
             _A("es_flag")], doc="Grow a block device"),
    RpcCall("blockdev_snapshot", SINGLE, _NORMAL,
            [_A("cf_bdev", _DISK), _A("snap_name"), _A("snap_size")],
            doc="Snapshot a block device"),
    RpcCall("blockdev_rename", SINGLE, _NORMAL, [_A("devlist", ED_BLOCKDEV_RENAME)],
            doc="Rename block devices"),
    RpcCall("blockdev_addchildren", SINGLE, _NORMAL,
            [_A("bdev", _DISK), _A("ndevs", _DISKS)],
            doc="Add children to a mirrored device"),
    RpcCall("blockdev_removechildren", SINGLE, _NORMAL,
            [_A("bdev", _DISK), _A("ndevs", _DISKS)],
            doc="Remove children from a mirrored device"),
    RpcCall("blockdev_close", SINGLE, _NORMAL,
            [_A("instance_name"), _A("disks", _DISKS)],
            doc="Close block devices"),
    RpcCall("blockdev_open", SINGLE, _NORMAL,
            [_A("instance_name"), _A("disks", _DISKS), _A("exclusive")],
            doc="Open block devices"),
    RpcCall("blockdev_getdimensions", SINGLE, _NORMAL,
            [_A("disks", ED_MULTI_DISKS_DICT_DP)],
            doc="Return size and spindles of block devices"),
    RpcCall("blockdev_setinfo", SINGLE, _NORMAL, [_A("disk", _DISK), _A("info")],
            doc="Set a block device's metadata"),
    RpcCall("blockdev_wipe", SINGLE, _SLOW,
            [_A("bdev", _DISK), _A("offset"), _A("size")],
            doc="Wipe part of a block device"),
    RpcCall("blockdev_image", SINGLE, _SLOW,
            [_A("bdev", _DISK), _A("image"), _A("size")],
            doc="Write an image onto a block device"),
    RpcCall("blockdev_convert", SINGLE, _SLOW,
            [_A("bdev_src", _DISK), _A("bdev_dest", _DISK)],
            doc="Copy one block device onto another"),
    RpcCall("blockdev_pause_resume_sync", SINGLE, _NORMAL,
            [_A("disks", _DISKS), _A("pause")],
            doc="Pause or resume the resync of block devices"),
    RpcCall("drbd_disconnect_net", MULTI, _NORMAL, [_A("disks", _DISKS)],
            doc="Disconnect DRBD devices from the network"),
    RpcCall("drbd_attach_net", MULTI, _NORMAL,
            [_A("disks", _DISKS), _A("multimaster")],
            doc="Connect DRBD devices to the network"),
    RpcCall("drbd_wait_sync", MULTI, _SLOW, [_A("disks", _DISKS)],
            doc="Wait until DRBD devices are in sync"),
    RpcCall("drbd_needs_activation", SINGLE, _NORMAL,
            [_A("disks", ED_MULTI_DISKS_DICT_DP)],
            doc="Return the DRBD disks needing activation"),
]

_STORAGE_CALLS = [
    RpcCall("storage_list", MULTI, _NORMAL,
            _Args("su_name", "su_args", "name", "fields"),
            doc="List storage units"),
    RpcCall("storage_modify", SINGLE, _NORMAL,
            _Args("su_name", "su_args", "name", "changes"),
            doc="Modify a storage unit"),
    RpcCall("storage_execute", SINGLE, _NORMAL,
            _Args("su_name", "su_args", "name", "op"),
            doc="Run an operation on a storage unit"),
    RpcCall("file_storage_dir_create", SINGLE, _FAST, _Args("file_storage_dir"),
            doc="Create a file storage directory"),
    RpcCall("file_storage_dir_remove", SINGLE, _FAST, _Args("file_storage_dir"),
            doc="Remove a file storage directory"),
    RpcCall("file_storage_dir_rename", SINGLE, _FAST,
            _Args("old_file_storage_dir", "new_file_storage_dir"),
            doc="Rename a file storage directory"),
]

# Not in Ganeti (it copies disks with its import/export daemons): the
# master relays a disk between two nodes chunk by chunk, then compares
# checksums (ganeti/backend/transfer.py explains why).
_TRANSFER_CALLS = [
    RpcCall("transfer_read", SINGLE, _NORMAL,
            [_A("disk", _DISK), _A("offset"), _A("max_size")],
            doc="Read the next chunk holding data of a disk"),
    RpcCall("transfer_write", SINGLE, _NORMAL,
            [_A("disk", _DISK), _A("offset"), _A("data")],
            doc="Write a chunk into a disk"),
    RpcCall("transfer_checksum", SINGLE, _SLOW, [_A("disk", _DISK)],
            doc="Return the size and SHA-256 of a disk"),
]

_CONFIG_CALLS = [
    RpcCall("upload_file", MULTI, _NORMAL, [_A("file_name", ED_FILE_DETAILS)],
            doc="Upload a cluster file (whitelisted files only)"),
    RpcCall("upload_file_single", MULTI, _NORMAL,
            [_A("file_name"), _A("content", ED_COMPRESS), _A("mode"), _A("uid"),
             _A("gid"), _A("atime"), _A("mtime")],
            doc="Upload a file given by its content"),
    RpcCall("write_ssconf_files", MULTI, _NORMAL, _Args("values"),
            doc="Write the ssconf files"),
]

_IMPEXP_CALLS = [
    RpcCall("export_list", MULTI, _FAST, [], doc="List the stored exports"),
    RpcCall("export_info", SINGLE, _FAST, _Args("path"),
            doc="Return the export information in a directory"),
    RpcCall("export_remove", SINGLE, _FAST, _Args("export"),
            doc="Remove an export"),
    RpcCall("finalize_export", SINGLE, _NORMAL,
            [_A("instance", ED_INST_DICT), _A("snap_disks", ED_FINALIZE_EXPORT_DISKS)],
            doc="Complete an export"),
    RpcCall("import_start", SINGLE, _NORMAL,
            [_A("opts", ED_OBJECT_DICT), _A("instance", ED_INST_DICT),
             _A("component"), _A("dest", ED_IMPEXP_IO)],
            doc="Start an import daemon"),
    RpcCall("export_start", SINGLE, _NORMAL,
            [_A("opts", ED_OBJECT_DICT), _A("host"), _A("port"),
             _A("instance", ED_INST_DICT), _A("component"),
             _A("source", ED_IMPEXP_IO)], doc="Start an export daemon"),
    RpcCall("impexp_status", SINGLE, _FAST, _Args("names"),
            postproc=_ListFromDicts("ImportExportStatus"),
            doc="Report the status of imports/exports"),
    RpcCall("impexp_abort", SINGLE, _NORMAL, _Args("name"),
            doc="Abort an import or export"),
    RpcCall("impexp_cleanup", SINGLE, _NORMAL, _Args("name"),
            doc="Clean up after an import or export"),
    RpcCall("x509_cert_create", SINGLE, _NORMAL, _Args("validity"),
            doc="Create an X509 certificate"),
    RpcCall("x509_cert_remove", SINGLE, _NORMAL, _Args("name"),
            doc="Remove an X509 certificate"),
]

_OS_CALLS = [
    RpcCall("os_diagnose", MULTI, _FAST, [], doc="Diagnose the OS definitions"),
    RpcCall("os_validate", MULTI, _FAST,
            _Args("required", "name", "checks", "params", "force_variant"),
            doc="Validate OS parameters"),
    RpcCall("os_export", SINGLE, _FAST,
            [_A("instance", ED_INST_DICT), _A("override_env")],
            doc="Export an instance's OS"),
    RpcCall("extstorage_diagnose", MULTI, _FAST, [],
            doc="Diagnose the ExtStorage providers"),
    RpcCall("hooks_runner", MULTI, _NORMAL, _Args("hpath", "phase", "env"),
            doc="Run the hooks of one path and phase"),
    RpcCall("iallocator_runner", SINGLE, _NORMAL,
            _Args("name", "idata", "default_iallocator_params"),
            doc="Run an instance allocator"),
]

_JOBQUEUE_CALLS = [
    RpcCall("jobqueue_update", MULTI, _URGENT,
            [_A("file_name", ED_VIRTUAL_PATH), _A("content", ED_COMPRESS)],
            doc="Write a job queue file"),
    RpcCall("jobqueue_rename", MULTI, _URGENT, [_A("rename", ED_VIRTUAL_PATH_PAIRS)],
            doc="Rename job queue files"),
    RpcCall("jobqueue_purge", SINGLE, _NORMAL, [], doc="Purge the job queue"),
    RpcCall("jobqueue_set_drain_flag", MULTI, _URGENT, _Args("flag"),
            doc="Set or clear the job queue drain flag"),
]


def _BuildTable(*groups: list[RpcCall]) -> dict[str, RpcCall]:
    """Index the calls by name, checking each row once at import time.

    Raises:
      ValueError: a row is malformed (a programming error in this file).
    """
    table: dict[str, RpcCall] = {}
    for call in (call for group in groups for call in group):
        if call.name in table:
            raise ValueError(f"RPC {call.name} defined twice")
        if call.mode not in MODES:
            raise ValueError(f"RPC {call.name}: bad mode {call.mode!r}")
        bad = [arg.name for arg in call.args
               if arg.encoder is not None and arg.encoder not in ENCODERS]
        if bad:
            raise ValueError(f"RPC {call.name}: unknown encoder for {bad}")
        table[call.name] = call
    return table


CALLS: dict[str, RpcCall] = _BuildTable(
    _NODE_CALLS, _BOOTSTRAP_CALLS, _MISC_CALLS, _INSTANCE_CALLS, _BLOCKDEV_CALLS,
    _STORAGE_CALLS, _TRANSFER_CALLS, _CONFIG_CALLS, _IMPEXP_CALLS, _OS_CALLS,
    _JOBQUEUE_CALLS)
