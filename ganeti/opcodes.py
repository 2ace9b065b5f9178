"""The opcode catalog: one class per cluster operation (spec/opcodes.md).

Every class lists its parameters in the order Ganeti 3.0 clients send them
(spec/samples/luxi-*.txt), with Ganeti 3.0.x defaults (spec section 4:
name_check/ip_check default True; hotplug default False plus
hotplug_if_possible). Parameters shared by several opcodes are the
module-level `_P*` rows; the value sets of spec section 3 (Ganeti's
constant names, in ganeti/opcodes_base.py) are checked with module-level
ht.TElemOf checks.

OP_QUERY_FIELDS takes an optional "fields" list as in Ganeti
(src/Ganeti/OpParams.hs pQueryFieldsFields); the spec table's
"wait_for_sync" there is an extraction slip.

Two additions from later Ganeti versions are kept because the spec catalog
lists them: OP_NETWORK_RENAME and the is_strict parameter of the
verify-disks opcodes (default True). 3.0 clients never send either.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, defaults, errors, ht, opcodes_base
from ganeti.opcodes_base import (  # noqa: F401 (re-exported names)
    JOB_IDS_KEY,
    BaseOpCode,
    HaskellShowFloat,
    OpCode,
    Param,
    TIPv4Address,
    TIPv4Network,
    TIPv6Address,
    TIPv6Network,
    TJobIdList,
    TJobIdListOnly,
    TQueryFieldsResponse,
    TQueryResponse,
    TTupleOf,
)

# --- value checks (spec section 3) -----------------------------------------------
_TDiskTemplate = ht.TElemOf(constants.DISK_TEMPLATES)
_THypervisor = ht.TElemOf(constants.HYPER_TYPES)
_TInstCreateMode = ht.TElemOf(opcodes_base.INSTANCE_CREATE_MODES)
_TRebootType = ht.TElemOf(opcodes_base.REBOOT_TYPES)
_TMigrationMode = ht.TElemOf(opcodes_base.HT_MIGRATION_MODES)
_TEvacMode = ht.TElemOf(opcodes_base.NODE_EVAC_MODES)
_TReplaceDisksMode = ht.TElemOf(opcodes_base.REPLACE_MODES)
_TExportMode = ht.TElemOf(opcodes_base.EXPORT_MODES)
_TTagKind = ht.TElemOf(opcodes_base.VALID_TAG_TYPES)
_TAllocPolicy = ht.TElemOf(constants.VALID_ALLOC_POLICIES)
_TNicMode = ht.TElemOf(constants.NIC_VALID_MODES)
_TFileDriver = ht.TElemOf(opcodes_base.FILE_DRIVERS)
_TOobCommand = ht.TElemOf(opcodes_base.OOB_COMMANDS)
_TStorageType = ht.TElemOf(opcodes_base.VALID_STORAGE_TYPES)
_TIAllocatorMode = ht.TElemOf(opcodes_base.VALID_IALLOCATOR_MODES)
_TIAllocatorTestDir = ht.TElemOf(opcodes_base.VALID_IALLOCATOR_DIRECTIONS)
_TAdminStateSource = ht.TElemOf(opcodes_base.ADMIN_STATE_SOURCES)
_TDiskAccess = ht.TElemOf(opcodes_base.DISK_ACCESS_SET)
_TVerifyOptionalChecks = ht.TElemOf(opcodes_base.VERIFY_OPTIONAL_CHECKS)
_TSshKeyType = ht.TElemOf(opcodes_base.SSHK_ALL)
_TQueryType = ht.TElemOf(opcodes_base.QUERY_TYPES)
_TCVErrorCode = ht.TElemOf(opcodes_base.CV_ALL_ECODES_STRINGS)
_TDdmSimple = ht.TElemOf(opcodes_base.DDMS_VALUES)
_TDdmFull = ht.TElemOf(opcodes_base.DDMS_VALUES_WITH_MODIFY)
_TQueryResultCode = ht.TElemOf(opcodes_base.RS_ALL)

_TNEStr = ht.TNonEmptyString
_TMaybeStr = ht.TMaybe(ht.TString)
_TMaybeNEStr = ht.TMaybeString
_TListOfNEStr = ht.TListOf(_TNEStr)
_TMaybeListOfNEStr = ht.TMaybe(_TListOfNEStr)

_TDiskIndex = ht.WithDesc(f"DiskIndex (0..{defaults.MAX_DISKS - 1})")(
    lambda value: ht.TNonNegativeInt(value) and value < defaults.MAX_DISKS)

_TNicParams = ht.Comment("INicParams")(
    ht.TDictOf(ht.TElemOf(opcodes_base.INIC_PARAMS),
               ht.TMaybe(ht.TOr(ht.TString, ht.TInt))))


def _IsDiskParams(value: Any) -> bool:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        return False
    size = value.get("size")
    if size is not None and not (ht.TNumber(size) or ht.TString(size)):
        return False
    return value.get("mode") is None or _TDiskAccess(value["mode"])


_TDiskParams = ht.WithDesc("IDiskParams (dict: size, mode, adopt, vg, ...)")(
    _IsDiskParams)

_TSetParamsMods = ht.Comment("SetParamsMods")(ht.TListOf(ht.TOr(
    TTupleOf(_TDdmFull, ht.TOr(ht.TInt, ht.TString), ht.TDict),
    TTupleOf(ht.TOr(_TDdmSimple, ht.TInt), ht.TDict))))

_TRecreateDisksInfo = ht.Comment("RecreateDisksInfo")(ht.TOr(
    ht.TListOf(_TDiskIndex), ht.TListOf(TTupleOf(_TDiskIndex, ht.TDict))))

_TUidRanges = ht.TMaybe(ht.TListOf(TTupleOf(ht.TInt, ht.TInt)))
_TOsDdmList = ht.TMaybe(ht.TListOf(TTupleOf(_TDdmSimple, _TNEStr)))

# --- result checks ----------------------------------------------------------------
_TMaybeJobs = ht.TOr(ht.TNone, TJobIdListOnly)
_TSetParamsResult = ht.TListOf(TTupleOf(_TNEStr, ht.TAny))
_TListOfLists = ht.TListOf(ht.TList)
_TInstanceMultiAllocResponse = ht.TStrictDict(True, True, {
    JOB_IDS_KEY: TJobIdList, opcodes_base.ALLOCATABLE_KEY: _TListOfNEStr,
    opcodes_base.FAILED_KEY: _TListOfNEStr})

# --- shared parameters ---------------------------------------------------------------

def _MaybeParam(name: str, check: ht.CheckFn, doc: str) -> Param:
    """An optional parameter: default None, check accepts None."""
    return Param(name, None, ht.TMaybe(check), doc)


_SHUTDOWN_TIMEOUT = opcodes_base.DEFAULT_SHUTDOWN_TIMEOUT
_PForce = Param("force", False, ht.TBool, "Whether to force the operation")
_PForceVariant = Param("force_variant", False, ht.TBool,
                       "Whether to force an unknown OS variant")
_PWaitForSync = Param("wait_for_sync", True, ht.TBool,
                      "Whether to wait for the disk to synchronize")
_PWaitForSyncFalse = Param("wait_for_sync", False, ht.TBool,
                           "Whether to wait for the disk to synchronize")
_PNameCheck = Param("name_check", True, ht.TBool,
                    "Whether to check the name via the resolver")
_PIpCheck = Param("ip_check", True, ht.TBool,
                  "Whether to ensure the instance's IP address is inactive")
_PIgnoreIpolicy = Param("ignore_ipolicy", False, ht.TBool,
                        "Whether to ignore instance policy violations")
_POpportunisticLocking = Param("opportunistic_locking", False, ht.TBool,
                               "Only lock the nodes that are free right now")
_PIpConflictsCheck = Param("conflicts_check", True, ht.TBool,
                           "Check for conflicting IP addresses")
_PEarlyRelease = Param("early_release", False, ht.TBool,
                       "Release locks as early as possible")
_PIgnoreConsistency = Param("ignore_consistency", False, ht.TBool,
                            "Ignore the consistency of the disks")
_PIgnoreOfflineNodes = Param("ignore_offline_nodes", False, ht.TBool,
                             "Ignore offline nodes")
_PNoRemember = Param("no_remember", False, ht.TBool,
                     "Do not remember the state change")
_PUseLocking = Param("use_locking", False, ht.TBool,
                     "Whether to use synchronization (locks)")
_PShutdownTimeout = Param("shutdown_timeout", _SHUTDOWN_TIMEOUT,
                          ht.TNonNegativeInt,
                          "Seconds to wait for an instance to shut down")
_PAllowRuntimeChanges = Param("allow_runtime_changes", True, ht.TBool,
                              "Allow runtime changes (e.g. memory ballooning)")
_PMigrationMode = Param("mode", None, ht.TMaybe(_TMigrationMode),
                        "Migration mode (overrides live)")
_PMigrationLive = Param("live", None, ht.TMaybeBool,
                        "Live migration (obsolete, use mode)")
_PMigrationTargetNode = Param("target_node", None, _TMaybeStr, "Target node")
_PMigrationTargetNodeUuid = Param("target_node_uuid", None, _TMaybeStr,
                                  "Target node UUID")
_PMigrationCleanup = Param("cleanup", False, ht.TBool,
                           "Clean up a failed migration")
_PIallocator = Param("iallocator", None, _TMaybeStr,
                     "Instance allocator to use")
_PRemoteNode = Param("remote_node", None, _TMaybeStr, "New secondary node")
_PRemoteNodeUuid = Param("remote_node_uuid", None, _TMaybeStr,
                         "New secondary node UUID")
_PTargetGroups = Param("target_groups", None, _TMaybeListOfNEStr,
                       "Destination group names or UUIDs")

_PInstanceName = Param("instance_name", ht.NoDefault, ht.TString,
                       "Instance name")
_PInstanceUuid = Param("instance_uuid", None, _TMaybeNEStr, "Instance UUID")
_PNodeName = Param("node_name", ht.NoDefault, _TNEStr, "Node name")
_PNodeUuid = Param("node_uuid", None, _TMaybeNEStr, "Node UUID")
_PGroupName = Param("group_name", ht.NoDefault, _TNEStr, "Group name")
_POptGroupName = Param("group_name", None, _TMaybeNEStr, "Group name")
_PNetworkName = Param("network_name", ht.NoDefault, _TNEStr, "Network name")
_PNewName = Param("new_name", ht.NoDefault, _TNEStr, "New name")
_PIsStrict = Param("is_strict", True, ht.TBool,
                      "Fail if not all nodes could be queried")

_PHvState = Param("hv_state", None, ht.TMaybeDict, "Hypervisor state")
_PDiskState = Param("disk_state", None, ht.TMaybeDict, "Disk state")
_PNdParams = Param("ndparams", None, ht.TMaybeDict, "Node parameters")
_PDiskParams = Param("diskparams", None, ht.TMaybeDict, "Disk parameters")
_PIpolicy = Param("ipolicy", None, ht.TMaybeDict, "Instance policy")
_PAllocPolicy = Param("alloc_policy", None, ht.TMaybe(_TAllocPolicy),
                      "Instance allocation policy")
_PMasterCapable = Param("master_capable", None, ht.TMaybeBool,
                        "Whether the node may become master or candidate")
_PVmCapable = Param("vm_capable", None, ht.TMaybeBool,
                    "Whether the node may host instances")
_PSecondaryIp = Param("secondary_ip", None, _TMaybeStr, "Secondary IP address")
_POffline = Param("offline", None, ht.TMaybeBool, "Whether to mark it offline")

_POutputFields = Param("output_fields", ht.NoDefault, _TListOfNEStr,
                       "Requested output fields")
_PNodes = Param("nodes", [], _TListOfNEStr, "Node names (empty: all)")
_PNames = Param("names", [], _TListOfNEStr, "Names to query (empty: all)")
_PStorageType = Param("storage_type", ht.NoDefault, _TStorageType,
                      "Storage type")
_PStorageName = Param("name", None, _TMaybeNEStr, "Storage unit name")
_PNodeUuids = Param("node_uuids", None, _TMaybeListOfNEStr,
                    "UUIDs of the nodes given by name")
_PRequiredNodes = Param("nodes", ht.NoDefault, _TListOfNEStr,
                        "Nodes (at least one)")
_PInstances = Param("instances", [], _TListOfNEStr, "Instances (empty: all)")
_PQueryWhat = Param("what", ht.NoDefault, _TQueryType, "Resource to query")
_PTargetNodeUuid = Param("target_node_uuid", None, _TMaybeNEStr,
                         "Target node UUID")

_PDebugSimulateErrors = Param("debug_simulate_errors", False, ht.TBool,
                              "Simulate errors (for debugging)")
_PErrorCodes = Param("error_codes", False, ht.TBool,
                     "Report machine-parsable error codes")
_PSkipChecks = Param("skip_checks", [], ht.TListOf(_TVerifyOptionalChecks),
                     "Optional checks to skip")
_PIgnoreErrors = Param("ignore_errors", [], ht.TListOf(_TCVErrorCode),
                       "Error codes to ignore")
_PVerbose = Param("verbose", False, ht.TBool, "Verbose mode")
_PVerifyClutter = Param("verify_clutter", False, ht.TBool,
                        "Verify the SSH files for clutter")

_PInstBeParams = Param("beparams", {}, ht.TDict, "Backend parameters")
_PInstHvParams = Param("hvparams", {}, ht.TDict, "Hypervisor parameters")
_PInstOsParams = Param("osparams", {}, ht.TDict, "OS parameters")
_POsParamsPrivate = Param("osparams_private", None, ht.TMaybeDict,
                          "Private OS parameters (never logged)")
_POsParamsSecret = Param("osparams_secret", None, ht.TMaybeDict,
                         "Secret OS parameters (never stored)")
_POsType = Param("os_type", None, _TMaybeStr, "Operating system")
_PDiskTemplateOpt = Param("disk_template", None, ht.TMaybe(_TDiskTemplate),
                          "Disk template")
_PFileDriver = Param("file_driver", None, ht.TMaybe(_TFileDriver),
                     "Driver for file-backed disks")
_PFileStorageDir = Param("file_storage_dir", None, _TMaybeStr,
                         "Directory for file-backed disks")
_PHypervisor = Param("hypervisor", None, ht.TMaybe(_THypervisor), "Hypervisor")
_PPrimaryNode = Param("pnode", None, _TMaybeStr, "Primary node")
_PPrimaryNodeUuid = Param("pnode_uuid", None, _TMaybeStr, "Primary node UUID")
_PBackupCompress = Param("compress", "none", ht.TString,
                         "Compression tool for the transfer")
_PInstTags = Param("tags", [], _TListOfNEStr, "Tags to set")
_PInstanceCommunication = Param("instance_communication", False, ht.TBool,
                                "Enable the instance communication network")

_PTagsKind = Param("kind", ht.NoDefault, _TTagKind, "Kind of the tagged object")
_PTagsName = Param("name", None, _TMaybeStr,
                   "Name of the tagged object (None for the cluster)")
_PTagsList = Param("tags", ht.NoDefault, ht.TListOf(ht.TString), "Tags")

_PNetworkGateway4 = Param("gateway", None, ht.TMaybe(TIPv4Address),
                          "IPv4 gateway")
_PNetworkAddress6 = Param("network6", None, ht.TMaybe(TIPv6Network),
                          "IPv6 subnet")
_PNetworkGateway6 = Param("gateway6", None, ht.TMaybe(TIPv6Address),
                          "IPv6 gateway")
_PNetworkMacPrefix = Param("mac_prefix", None, _TMaybeStr,
                           "MAC prefix of the network")
_PNetworkAddRsvdIps = Param("add_reserved_ips", None,
                            ht.TMaybe(ht.TListOf(TIPv4Address)),
                            "IP addresses to reserve")


# --- cluster ---------------------------------------------------------------------

class OpClusterPostInit(OpCode):
    """Post cluster initialization (run the post-init hooks)."""
    OP_RESULT = ht.TBool


class OpClusterDestroy(OpCode):
    """Destroy the cluster (only the master node may remain)."""
    OP_RESULT = _TNEStr


class OpClusterQuery(OpCode):
    """Query cluster information."""
    OP_RESULT = ht.TDict


class OpClusterVerify(OpCode):
    """Submit the jobs verifying the cluster (one per node group)."""
    OP_PARAMS = [_PDebugSimulateErrors, _PErrorCodes, _PSkipChecks,
                 _PIgnoreErrors, _PVerbose, _POptGroupName, _PVerifyClutter]
    OP_RESULT = TJobIdListOnly


class OpClusterVerifyConfig(OpCode):
    """Verify the cluster configuration."""
    OP_PARAMS = [_PDebugSimulateErrors, _PErrorCodes, _PIgnoreErrors, _PVerbose]
    OP_RESULT = ht.TBool


class OpClusterVerifyGroup(OpCode):
    """Verify the nodes and instances of one node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName, _PDebugSimulateErrors, _PErrorCodes, _PSkipChecks,
                 _PIgnoreErrors, _PVerbose, _PVerifyClutter]
    OP_RESULT = ht.TBool


class OpClusterVerifyDisks(OpCode):
    """Submit the jobs verifying the disks of every (or one) node group."""
    OP_PARAMS = [_POptGroupName, _PIsStrict]
    OP_RESULT = TJobIdListOnly


class OpClusterRepairDiskSizes(OpCode):
    """Fix recorded disk sizes that differ from the real ones."""
    OP_PARAMS = [_PInstances]
    OP_RESULT = ht.TListOf(TTupleOf(_TNEStr, ht.TNonNegativeInt, _TNEStr,
                                   ht.TNonNegativeInt))


class OpClusterConfigQuery(OpCode):
    """Query cluster configuration values."""
    OP_PARAMS = [_POutputFields]
    OP_RESULT = ht.TList


class OpClusterRename(OpCode):
    """Rename the cluster."""
    OP_DSC_FIELD = "name"
    OP_PARAMS = [Param("name", ht.NoDefault, _TNEStr, "New cluster name")]
    OP_RESULT = _TNEStr


class OpClusterSetParams(OpCode):
    """Change the cluster parameters (only those given)."""
    OP_PARAMS = [
        _PForce, _PHvState, _PDiskState,
        _MaybeParam("vg_name", ht.TString, "Volume group (empty: no LVM)"),
        _MaybeParam("enabled_hypervisors", ht.TListOf(_THypervisor),
                    "Enabled hypervisors, the first is the default"),
        _MaybeParam("hvparams", ht.TDictOf(_TNEStr, ht.TDict),
                    "Cluster-wide hypervisor parameters"),
        _MaybeParam("beparams", ht.TDict, "Cluster-wide backend parameters"),
        _MaybeParam("os_hvp", ht.TDictOf(_TNEStr, ht.TDict),
                    "Per-OS hypervisor parameters"),
        _MaybeParam("osparams", ht.TDictOf(_TNEStr, ht.TDict),
                    "Cluster-wide OS parameters"),
        _MaybeParam("osparams_private_cluster", ht.TDictOf(_TNEStr, ht.TDict),
                    "Cluster-wide private OS parameters"),
        _PDiskParams,
        _MaybeParam("candidate_pool_size", ht.TPositiveInt,
                    "Master candidate pool size"),
        _MaybeParam("max_running_jobs", ht.TPositiveInt,
                    "Maximal number of jobs running at once"),
        _MaybeParam("max_tracked_jobs", ht.TPositiveInt,
                    "Maximal number of jobs tracked in the queue"),
        Param("uid_pool", None, _TUidRanges, "User-id ranges of the pool"),
        Param("add_uids", None, _TUidRanges, "User-id ranges to add"),
        Param("remove_uids", None, _TUidRanges, "User-id ranges to remove"),
        _MaybeParam("maintain_node_health", ht.TBool,
                    "Whether to shut down unknown instances automatically"),
        _MaybeParam("prealloc_wipe_disks", ht.TBool,
                    "Whether to wipe disks before allocating them"),
        _MaybeParam("nicparams", _TNicParams, "Cluster-wide NIC parameters"),
        _PNdParams, _PIpolicy,
        _MaybeParam("drbd_helper", ht.TString, "DRBD usermode helper"),
        _MaybeParam("default_iallocator", ht.TString, "Default iallocator"),
        _MaybeParam("default_iallocator_params", ht.TDict,
                    "Default iallocator parameters"),
        _MaybeParam("mac_prefix", ht.TString, "MAC address prefix"),
        _MaybeParam("master_netdev", ht.TString, "Master network device"),
        _MaybeParam("master_netmask", ht.TNonNegativeInt,
                    "Netmask (prefix length) of the master IP"),
        _MaybeParam("reserved_lvs", _TListOfNEStr,
                    "Logical volumes cluster verify ignores"),
        Param("hidden_os", None, _TOsDdmList, "OSs to hide: [[add|remove, os]]"),
        Param("blacklisted_os", None, _TOsDdmList,
              "OSs to blacklist: [[add|remove, os]]"),
        _MaybeParam("use_external_mip_script", ht.TBool,
                    "Whether to use an external master IP script"),
        _MaybeParam("enabled_disk_templates", ht.TListOf(_TDiskTemplate),
                    "Enabled disk templates, the first is the default"),
        _MaybeParam("modify_etc_hosts", ht.TBool,
                    "Whether the cluster manages /etc/hosts"),
        _MaybeParam("file_storage_dir", ht.TString, "File storage directory"),
        _MaybeParam("shared_file_storage_dir", ht.TString,
                    "Shared file storage directory"),
        _MaybeParam("gluster_storage_dir", ht.TString,
                    "Gluster storage directory"),
        _MaybeParam("install_image", ht.TString, "Image for OS installation"),
        _MaybeParam("instance_communication_network", ht.TString,
                    "Network for instance communication"),
        _MaybeParam("zeroing_image", ht.TString, "Image for zeroing disks"),
        _MaybeParam("compression_tools", _TListOfNEStr,
                    "Allowed compression tools"),
        _MaybeParam("enabled_user_shutdown", ht.TBool,
                    "Whether user shutdown is detected"),
        _MaybeParam("enabled_data_collectors", ht.TDictOf(_TNEStr, ht.TBool),
                    "Data collectors to enable or disable"),
        _MaybeParam("data_collector_interval", ht.TDictOf(_TNEStr, ht.TInt),
                    "Data collector intervals (microseconds)"),
    ]
    OP_RESULT = _TMaybeJobs


class OpClusterRedistConf(OpCode):
    """Push the configuration and ancillary files to all nodes."""
    OP_RESULT = ht.TNone


class OpClusterActivateMasterIp(OpCode):
    """Activate the master IP on the master node."""
    OP_RESULT = ht.TNone


class OpClusterDeactivateMasterIp(OpCode):
    """Deactivate the master IP on the master node."""
    OP_RESULT = ht.TNone


class OpClusterRenewCrypto(OpCode):
    """Renew the cluster's certificates and SSH keys."""
    OP_PARAMS = [
        Param("node_certificates", False, ht.TBool,
              "Renew the nodes' client certificates"),
        Param("renew_ssh_keys", False, ht.TBool, "Renew the nodes' SSH keys"),
        _MaybeParam("ssh_key_type", _TSshKeyType, "Type of the new SSH keys"),
        _MaybeParam("ssh_key_bits", ht.TPositiveInt, "Size of the new SSH keys"),
        _PVerbose,
        Param("debug", False, ht.TBool, "Debug mode"),
    ]
    OP_RESULT = ht.TNone


# --- queries, out-of-band and restricted commands ---------------------------------

class OpQuery(OpCode):
    """Query resources (the opcode form of the LUXI Query call)."""
    OP_DSC_FIELD = "what"
    OP_PARAMS = [
        _PQueryWhat,
        _PUseLocking,
        Param("fields", ht.NoDefault, _TListOfNEStr, "Requested fields"),
        Param("qfilter", None, ht.TMaybe(ht.TList), "Query filter"),
    ]
    OP_RESULT = TQueryResponse


class OpQueryFields(OpCode):
    """Describe the fields of a resource."""
    OP_DSC_FIELD = "what"
    OP_PARAMS = [
        _PQueryWhat,
        Param("fields", None, _TMaybeListOfNEStr,
              "Requested fields (None: all)"),
    ]
    OP_RESULT = TQueryFieldsResponse


class OpOobCommand(OpCode):
    """Run an out-of-band command on nodes."""
    OP_PARAMS = [
        Param("node_names", [], _TListOfNEStr, "Nodes to run the command on"),
        _PNodeUuids,
        Param("command", ht.NoDefault, _TOobCommand, "OOB command"),
        Param("timeout", 60, ht.TInt, "Timeout of the command, in seconds"),
        Param("ignore_status", False, ht.TBool,
              "Ignore the nodes' offline status"),
        Param("power_delay", 2.0, ht.TNonNegativeFloat,
              "Seconds between powering on successive nodes"),
    ]
    OP_RESULT = ht.TListOf(ht.TListOf(TTupleOf(_TQueryResultCode, ht.TAny)))


class OpRestrictedCommand(OpCode):
    """Run a restricted (whitelisted) command on nodes."""
    OP_PARAMS = [_PUseLocking, _PRequiredNodes, _PNodeUuids,
                 Param("command", ht.NoDefault, _TNEStr, "Command name")]
    OP_RESULT = ht.TListOf(TTupleOf(ht.TBool, ht.TString))


# --- nodes -----------------------------------------------------------------------

class OpNodeRemove(OpCode):
    """Remove a node from the cluster."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [_PNodeName, _PNodeUuid]
    OP_RESULT = ht.TNone


class OpNodeAdd(OpCode):
    """Add a node to the cluster."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [
        _PNodeName, _PHvState, _PDiskState,
        Param("primary_ip", None, _TMaybeNEStr, "Primary IP address"),
        _PSecondaryIp,
        Param("readd", False, ht.TBool, "Whether the node is re-added"),
        Param("group", None, _TMaybeStr, "Node group of the new node"),
        _PMasterCapable, _PVmCapable, _PNdParams,
        Param("node_setup", False, ht.TBool, "Set up the node over SSH"),
    ]
    OP_RESULT = ht.TNone


class OpNodeQueryvols(OpCode):
    """Get the logical volumes of nodes."""
    OP_PARAMS = [_POutputFields, _PNodes]
    OP_RESULT = ht.TList


class OpNodeQueryStorage(OpCode):
    """Get information on storage units of nodes."""
    OP_PARAMS = [
        _POutputFields,
        Param("storage_type", None, ht.TMaybe(_TStorageType), "Storage type"),
        _PNodes, _PStorageName,
    ]
    OP_RESULT = _TListOfLists


class OpNodeModifyStorage(OpCode):
    """Modify a storage unit of a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [_PNodeName, _PNodeUuid, _PStorageType, _PStorageName,
                 Param("changes", ht.NoDefault, ht.TDict, "Changes to apply")]
    OP_RESULT = ht.TNone


class OpRepairNodeStorage(OpCode):
    """Repair a storage unit of a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [_PNodeName, _PNodeUuid, _PStorageType, _PStorageName,
                 _PIgnoreConsistency]
    OP_RESULT = ht.TNone


class OpNodeSetParams(OpCode):
    """Change the parameters of a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [
        _PNodeName, _PNodeUuid, _PForce, _PHvState, _PDiskState,
        Param("master_candidate", None, ht.TMaybeBool,
              "Whether the node is a master candidate"),
        _POffline,
        Param("drained", None, ht.TMaybeBool, "Whether the node is drained"),
        Param("auto_promote", False, ht.TBool,
              "Promote other nodes to master candidate if needed"),
        _PMasterCapable, _PVmCapable, _PSecondaryIp, _PNdParams,
        Param("powered", None, ht.TMaybeBool, "Whether the node is powered"),
    ]
    OP_RESULT = _TSetParamsResult


class OpNodePowercycle(OpCode):
    """Power-cycle a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [_PNodeName, _PNodeUuid, _PForce]
    OP_RESULT = ht.TMaybe(_TNEStr)


class OpNodeMigrate(OpCode):
    """Migrate all primary instances away from a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [_PNodeName, _PNodeUuid, _PMigrationMode, _PMigrationLive,
                 _PMigrationTargetNode, _PMigrationTargetNodeUuid,
                 _PAllowRuntimeChanges, _PIgnoreIpolicy, _PIallocator]
    OP_RESULT = TJobIdListOnly


class OpNodeEvacuate(OpCode):
    """Evacuate the instances of a node."""
    OP_DSC_FIELD = "node_name"
    OP_PARAMS = [
        _PEarlyRelease, _PNodeName, _PNodeUuid, _PRemoteNode, _PRemoteNodeUuid,
        _PIallocator,
        Param("mode", ht.NoDefault, _TEvacMode, "Which instances to evacuate"),
        Param("ignore_soft_errors", None, ht.TMaybeBool,
              "Ignore soft iallocator errors"),
    ]
    OP_RESULT = TJobIdListOnly


# --- instances ------------------------------------------------------------------

class OpInstanceCreate(OpCode):
    """Create (or import) an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PForceVariant, _PWaitForSync, _PNameCheck,
        _PIgnoreIpolicy, _POpportunisticLocking, _PInstBeParams,
        Param("disks", ht.NoDefault, ht.TListOf(_TDiskParams), "Disks"),
        _PDiskTemplateOpt, _POptGroupName, _PFileDriver, _PFileStorageDir,
        _PInstHvParams, _PHypervisor, _PIallocator,
        Param("identify_defaults", False, ht.TBool,
              "Reset parameters equal to the cluster defaults"),
        _PIpCheck, _PIpConflictsCheck,
        Param("mode", ht.NoDefault, _TInstCreateMode, "Creation mode"),
        Param("nics", ht.NoDefault, ht.TListOf(_TNicParams), "NICs"),
        Param("no_install", None, ht.TMaybeBool, "Do not install the OS"),
        _PInstOsParams, _POsParamsPrivate, _POsParamsSecret, _POsType,
        _PPrimaryNode, _PPrimaryNodeUuid,
        Param("snode", None, _TMaybeStr, "Secondary node"),
        Param("snode_uuid", None, _TMaybeStr, "Secondary node UUID"),
        Param("source_handshake", None, ht.TMaybe(ht.TList),
              "Handshake of a remote import"),
        Param("source_instance_name", None, _TMaybeStr,
              "Instance name on the source cluster"),
        Param("source_shutdown_timeout", _SHUTDOWN_TIMEOUT,
              ht.TNonNegativeInt, "Shutdown timeout of the source instance"),
        Param("source_x509_ca", None, _TMaybeStr,
              "CA of the source cluster (remote import)"),
        Param("src_node", None, _TMaybeStr, "Source node of an import"),
        Param("src_node_uuid", None, _TMaybeStr, "Its UUID"),
        Param("src_path", None, _TMaybeStr, "Source directory of an import"),
        _PBackupCompress,
        Param("start", True, ht.TBool, "Start the instance once created"),
        Param("forthcoming", False, ht.TBool,
              "Only reserve resources, do not create"),
        Param("commit", False, ht.TBool, "Commit a forthcoming instance"),
        _PInstTags, _PInstanceCommunication,
        Param("helper_startup_timeout", None, ht.TMaybeInt,
              "Startup timeout of the installation helper"),
        Param("helper_shutdown_timeout", None, ht.TMaybeInt,
              "Shutdown timeout of the installation helper"),
    ]
    OP_RESULT = _TListOfNEStr


class OpInstanceMultiAlloc(OpCode):
    """Allocate several instances at once; instances holds OpInstanceCreate."""
    OP_PARAMS = [
        _POpportunisticLocking, _PIallocator,
        Param("instances", [], ht.TListOf(
            ht.WithDesc("OpInstanceCreate")(
                lambda value: isinstance(value, OpInstanceCreate))),
            "Instances to allocate"),
    ]
    OP_RESULT = _TInstanceMultiAllocResponse

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if isinstance(state.get("instances"), list):
            state["instances"] = [
                inst.ToDict() if isinstance(inst, OpCode) else inst
                for inst in state["instances"]]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Set parameters; instance dicts become OpInstanceCreate objects.

        Raises:
          errors.OpPrereqError: bad state, or an instance entry is no
            OP_INSTANCE_CREATE opcode.
        """
        instances = state.get("instances") if isinstance(state, dict) else None
        if isinstance(instances, list):
            state = dict(state, instances=[_LoadCreateOp(inst)
                                           for inst in instances])
        super().__setstate__(state)

    def Validate(self, set_defaults: bool) -> None:
        """Validate this opcode and each instance creation in it."""
        super().Validate(set_defaults)
        for inst in getattr(self, "instances", []):
            inst.Validate(set_defaults)


def _LoadCreateOp(inst: Any) -> Any:
    """An OpInstanceCreate from its dict form (objects pass unchanged).

    Raises:
      errors.OpPrereqError: a dict that is not an OP_INSTANCE_CREATE opcode.
    """
    if not isinstance(inst, dict):
        return inst
    if inst.get("OP_ID") != OpInstanceCreate.OP_ID:
        raise errors.OpPrereqError(
            "Instances of OP_INSTANCE_MULTI_ALLOC must be OP_INSTANCE_CREATE"
            f" opcodes, got OP_ID {inst.get('OP_ID')!r}", errors.ECODE_INVAL)
    return OpCode.LoadOpCode(inst)


class OpInstanceReinstall(OpCode):
    """Reinstall the OS of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PForceVariant, _POsType,
                 Param("osparams", None, ht.TMaybeDict, "Temporary OS parameters"),
                 _POsParamsPrivate, _POsParamsSecret]
    OP_RESULT = ht.TNone


class OpInstanceRemove(OpCode):
    """Remove an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PShutdownTimeout,
                 Param("ignore_failures", False, ht.TBool,
                       "Go on even if removing disks fails")]
    OP_RESULT = ht.TNone


class OpInstanceRename(OpCode):
    """Rename an instance (luxid shows no name in its summary)."""
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PNewName, _PNameCheck,
                 _PIpCheck]
    OP_RESULT = _TNEStr


class OpInstanceStartup(OpCode):
    """Start an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PForce, _PIgnoreOfflineNodes,
        Param("hvparams", {}, ht.TDict, "Temporary hypervisor parameters"),
        Param("beparams", {}, ht.TDict, "Temporary backend parameters"),
        _PNoRemember,
        Param("startup_paused", False, ht.TBool, "Start the instance paused"),
        _PShutdownTimeout,
    ]
    OP_RESULT = ht.TNone


class OpInstanceShutdown(OpCode):
    """Shut down an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PForce, _PIgnoreOfflineNodes,
        Param("timeout", _SHUTDOWN_TIMEOUT, ht.TNonNegativeInt,
              "Seconds to wait for the instance to shut down"),
        _PNoRemember,
        Param("admin_state_source", None, ht.TMaybe(_TAdminStateSource),
              "Who changed the admin state"),
    ]
    OP_RESULT = ht.TNone


class OpInstanceReboot(OpCode):
    """Reboot an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PShutdownTimeout,
        Param("ignore_secondaries", False, ht.TBool,
              "Ignore errors on secondary nodes"),
        Param("reboot_type", ht.NoDefault, _TRebootType, "Reboot type"),
    ]
    OP_RESULT = ht.TNone


class OpInstanceReplaceDisks(OpCode):
    """Replace the disks of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PEarlyRelease, _PIgnoreIpolicy,
        Param("mode", ht.NoDefault, _TReplaceDisksMode, "Replacement mode"),
        Param("disks", [], ht.TListOf(_TDiskIndex), "Disk indices (empty: all)"),
        _PRemoteNode, _PRemoteNodeUuid, _PIallocator,
    ]
    OP_RESULT = ht.TNone


class OpInstanceFailover(OpCode):
    """Fail an instance over to its secondary node."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PShutdownTimeout,
                 _PIgnoreConsistency, _PMigrationTargetNode,
                 _PMigrationTargetNodeUuid, _PIgnoreIpolicy, _PMigrationCleanup,
                 _PIallocator]
    OP_RESULT = ht.TNone


class OpInstanceMigrate(OpCode):
    """Live- or non-live-migrate an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PMigrationMode, _PMigrationLive,
        _PMigrationTargetNode, _PMigrationTargetNodeUuid, _PAllowRuntimeChanges,
        _PIgnoreIpolicy, _PMigrationCleanup, _PIallocator,
        Param("allow_failover", False, ht.TBool,
              "Fail over if migration is impossible"),
        Param("ignore_hvversions", False, ht.TBool,
              "Ignore differing hypervisor versions"),
    ]
    OP_RESULT = ht.TNone


class OpInstanceMove(OpCode):
    """Move an instance to another node by copying its disks."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PShutdownTimeout, _PIgnoreIpolicy,
        Param("target_node", ht.NoDefault, _TNEStr, "Target node"),
        _PTargetNodeUuid,
        _PBackupCompress, _PIgnoreConsistency,
    ]
    OP_RESULT = ht.TNone


class OpInstanceConsole(OpCode):
    """Get the console command of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid]
    OP_RESULT = ht.TDict


class OpInstanceActivateDisks(OpCode):
    """Activate the disks of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid,
                 Param("ignore_size", False, ht.TBool,
                       "Ignore the recorded disk sizes"),
                 _PWaitForSyncFalse]
    OP_RESULT = ht.TListOf(TTupleOf(_TNEStr, _TNEStr, _TMaybeNEStr))


class OpInstanceDeactivateDisks(OpCode):
    """Deactivate the disks of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PForce]
    OP_RESULT = ht.TNone


class OpInstanceRecreateDisks(OpCode):
    """Recreate the disks of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid,
        Param("disks", [], _TRecreateDisksInfo,
              "Disk indices or [index, params] pairs (empty: all)"),
        Param("nodes", [], _TListOfNEStr, "New nodes, to relocate"),
        _PNodeUuids,
        _PIallocator,
    ]
    OP_RESULT = ht.TNone


class OpInstanceQueryData(OpCode):
    """Query detailed instance data."""
    OP_PARAMS = [_PUseLocking, _PInstances,
                 Param("static", False, ht.TBool,
                       "Only configuration data, no live state")]
    OP_RESULT = ht.TDict


class OpInstanceSetParams(OpCode):
    """Change the parameters of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PForce, _PForceVariant, _PIgnoreIpolicy,
        Param("nics", [], _TSetParamsMods, "NIC changes"),
        Param("disks", [], _TSetParamsMods, "Disk changes"),
        _PInstBeParams,
        Param("runtime_mem", None, ht.TMaybe(ht.TPositiveInt),
              "New runtime memory (MiB)"),
        _PInstHvParams, _PDiskTemplateOpt,
        Param("ext_params", {}, ht.TDict, "ExtStorage parameters"),
        _PFileDriver, _PFileStorageDir, _PPrimaryNode, _PPrimaryNodeUuid,
        _PRemoteNode, _PRemoteNodeUuid, _PIallocator,
        Param("os_name", None, _TMaybeStr, "New OS"),
        _PInstOsParams,
        _POsParamsPrivate,
        _PWaitForSync, _POffline, _PIpConflictsCheck,
        Param("hotplug", False, ht.TBool, "Hotplug the device changes"),
        Param("hotplug_if_possible", False, ht.TBool,
              "Hotplug if the hypervisor supports it"),
        Param("instance_communication", None, ht.TMaybeBool,
              "Enable or disable instance communication"),
    ]
    OP_RESULT = _TSetParamsResult


class OpInstanceGrowDisk(OpCode):
    """Grow a disk of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PWaitForSync,
        Param("disk", ht.NoDefault, _TDiskIndex, "Disk index"),
        Param("amount", ht.NoDefault, ht.TNonNegativeInt,
              "Amount (MiB) to grow by, or the new size"),
        Param("absolute", False, ht.TBool, "Whether amount is the new size"),
        _PIgnoreIpolicy,
    ]
    OP_RESULT = ht.TNone


class OpInstanceChangeGroup(OpCode):
    """Move an instance to another node group."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid, _PEarlyRelease, _PIallocator,
                 _PTargetGroups]
    OP_RESULT = TJobIdListOnly


# --- node groups ---------------------------------------------------------------------

class OpGroupVerifyDisks(OpCode):
    """Verify the disks of the instances of a node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName, _PIsStrict]
    OP_RESULT = TTupleOf(ht.TDictOf(ht.TString, ht.TString), ht.TListOf(ht.TString),
                        ht.TDictOf(ht.TString, ht.TListOf(ht.TListOf(ht.TString))))


_GROUP_PARAMS = [_PAllocPolicy, _PNdParams, _PDiskParams, _PHvState, _PDiskState,
                 _PIpolicy]


class OpGroupAdd(OpCode):
    """Add a node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName, *_GROUP_PARAMS]
    OP_RESULT = _TMaybeJobs


class OpGroupAssignNodes(OpCode):
    """Move nodes into a node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName, _PForce, _PRequiredNodes, _PNodeUuids]
    OP_RESULT = ht.TNone


class OpGroupSetParams(OpCode):
    """Change the parameters of a node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName, *_GROUP_PARAMS]
    OP_RESULT = _TSetParamsResult


class OpGroupRemove(OpCode):
    """Remove an empty node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [_PGroupName]
    OP_RESULT = ht.TNone


class OpGroupRename(OpCode):
    """Rename a node group."""
    OP_PARAMS = [_PGroupName, _PNewName]
    OP_RESULT = _TNEStr


class OpGroupEvacuate(OpCode):
    """Move all instances out of a node group."""
    OP_DSC_FIELD = "group_name"
    OP_PARAMS = [
        _PGroupName, _PEarlyRelease, _PIallocator, _PTargetGroups,
        Param("sequential", False, ht.TBool, "One instance after the other"),
        Param("force_failover", False, ht.TBool,
              "Fail over instead of migrating"),
    ]
    OP_RESULT = TJobIdListOnly


# --- OS and ExtStorage -------------------------------------------------------------

class OpOsDiagnose(OpCode):
    """List the operating systems and their status on the nodes."""
    OP_PARAMS = [_POutputFields, _PNames]
    OP_RESULT = _TListOfLists


class OpExtStorageDiagnose(OpCode):
    """List the ExtStorage providers and their status on the nodes."""
    OP_PARAMS = [_POutputFields, _PNames]
    OP_RESULT = _TListOfLists


# --- backups ---------------------------------------------------------------------

class OpBackupPrepare(OpCode):
    """Prepare an instance export (remote exports need a key pair)."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid,
                 Param("mode", ht.NoDefault, _TExportMode, "Export mode")]
    OP_RESULT = ht.TMaybeDict


class OpBackupExport(OpCode):
    """Export an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [
        _PInstanceName, _PInstanceUuid, _PBackupCompress, _PShutdownTimeout,
        Param("target_node", ht.NoDefault, ht.TOr(_TNEStr, ht.TList),
              "Target node (local) or destinations (remote)"),
        _PTargetNodeUuid,
        Param("shutdown", True, ht.TBool, "Shut the instance down first"),
        Param("remove_instance", False, ht.TBool, "Remove it afterwards"),
        Param("ignore_remove_failures", False, ht.TBool,
              "Ignore failures while removing it"),
        Param("mode", "local", _TExportMode, "Export mode"),
        Param("x509_key_name", None, ht.TMaybe(ht.TList),
              "Name and signature of the X509 key (remote)"),
        Param("destination_x509_ca", None, _TMaybeStr,
              "Destination CA (remote)"),
        Param("zero_free_space", False, ht.TBool, "Zero the free disk space"),
        Param("zeroing_timeout_fixed", None, ht.TMaybeInt,
              "Fixed part of the zeroing timeout"),
        Param("zeroing_timeout_per_mib", None, ht.TMaybe(ht.TNumber),
              "Zeroing timeout per MiB"),
        Param("long_sleep", False, ht.TBool, "Allow a long instance shutdown"),
    ]
    OP_RESULT = TTupleOf(ht.TBool, ht.TListOf(ht.TBool))


class OpBackupRemove(OpCode):
    """Remove the exports of an instance."""
    OP_DSC_FIELD = "instance_name"
    OP_PARAMS = [_PInstanceName, _PInstanceUuid]
    OP_RESULT = ht.TNone


# --- tags ------------------------------------------------------------------------

# Haskell constructor names of the tag kinds: luxid's summary of
# OP_TAGS_GET shows `show kind` (src/Ganeti/OpCodes.hs opSummaryVal).
_TAG_KIND_SHOW = {"instance": "TagKindInstance", "node": "TagKindNode",
                  "nodegroup": "TagKindGroup", "cluster": "TagKindCluster",
                  "network": "TagKindNetwork"}


class OpTagsGet(OpCode):
    """Get the tags of an object."""
    OP_DSC_FIELD = "name"
    OP_PARAMS = [
        _PTagsKind, _PUseLocking, _PTagsName,
    ]
    OP_RESULT = _TListOfNEStr

    def _SummaryValue(self) -> str | None:
        kind = getattr(self, "kind", None)
        return _TAG_KIND_SHOW.get(kind) if isinstance(kind, str) else None


class OpTagsSearch(OpCode):
    """Search tags matching a regular expression."""
    OP_DSC_FIELD = "pattern"
    OP_PARAMS = [Param("pattern", ht.NoDefault, _TNEStr, "Search pattern")]
    OP_RESULT = ht.TListOf(TTupleOf(_TNEStr, _TNEStr))


class OpTagsSet(OpCode):
    """Add tags to an object."""
    OP_PARAMS = [_PTagsKind, _PTagsList, _PTagsName]
    OP_RESULT = ht.TNone


class OpTagsDel(OpCode):
    """Remove tags from an object."""
    OP_PARAMS = [_PTagsKind, _PTagsList, _PTagsName]
    OP_RESULT = ht.TNone


# --- testing -----------------------------------------------------------------------

def _FormatDuration(value: Any) -> str | None:
    """Duration as luxid shows it (Haskell `show` of a Double)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return HaskellShowFloat(float(value))


class OpTestDelay(OpCode):
    """Sleep on the master and/or nodes (gnt-debug delay)."""
    OP_DSC_FIELD = "duration"
    OP_DSC_FORMATTER = _FormatDuration
    OP_PARAMS = [
        Param("duration", ht.NoDefault, ht.TFloat, "Seconds to sleep"),
        Param("on_master", True, ht.TBool, "Sleep on the master"),
        Param("on_nodes", [], _TListOfNEStr, "Nodes to sleep on"),
        Param("on_node_uuids", None, _TMaybeListOfNEStr, "Their UUIDs"),
        Param("repeat", 0, ht.TNonNegativeInt, "Repetitions (0: once)"),
        Param("interruptible", False, ht.TBool,
              "Allow interrupting the delay through a socket"),
        Param("no_locks", True, ht.TBool, "Take no locks"),
    ]
    OP_RESULT = ht.TNone


def _FormatIallocator(value: Any) -> str:
    # luxid prints "None" for a missing iallocator, as Ganeti's Python did.
    return "None" if value is None else str(value)


class OpTestAllocator(OpCode):
    """Run an instance allocator (or only build its input)."""
    OP_DSC_FIELD = "iallocator"
    OP_DSC_FORMATTER = _FormatIallocator
    OP_PARAMS = [
        Param("direction", ht.NoDefault, _TIAllocatorTestDir,
              "in: build the input only; out: run the allocator"),
        Param("mode", ht.NoDefault, _TIAllocatorMode, "Request type"),
        Param("name", ht.NoDefault, _TNEStr, "Name of the request object"),
        Param("nics", None, ht.TMaybe(ht.TListOf(_TNicParams)), "NICs"),
        Param("disks", None, ht.TMaybe(ht.TList), "Disks"),
        _PHypervisor, _PIallocator, _PInstTags,
        Param("memory", None, ht.TMaybe(ht.TNonNegativeInt), "Memory (MiB)"),
        Param("vcpus", None, ht.TMaybe(ht.TNonNegativeInt), "VCPUs"),
        Param("os", None, _TMaybeStr, "Operating system"),
        _PDiskTemplateOpt,
        Param("instances", None, _TMaybeListOfNEStr, "Instances"),
        Param("evac_mode", None, ht.TMaybe(_TEvacMode), "Evacuation mode"),
        _PTargetGroups,
        Param("spindle_use", 1, ht.TNonNegativeInt, "Spindle use"),
        Param("count", 1, ht.TNonNegativeInt, "Number of instances"),
        _POptGroupName,
    ]
    OP_RESULT = ht.TString


class OpTestJqueue(OpCode):
    """Exercise the job queue (notifications, log messages, failure)."""
    OP_PARAMS = [
        Param("notify_waitlock", False, ht.TBool,
              "Report when waiting for locks"),
        Param("notify_exec", False, ht.TBool, "Report when executing"),
        Param("log_messages", [], ht.TListOf(ht.TString), "Messages to log"),
        Param("fail", False, ht.TBool, "Fail at the end"),
    ]
    OP_RESULT = ht.TBool


class OpTestOsParams(OpCode):
    """Check the handling of secret OS parameters."""
    OP_PARAMS = [_POsParamsSecret]
    OP_RESULT = ht.TNone


class OpTestDummy(OpCode):
    """Placeholder for unit tests; never executed by an LU."""
    WITH_LU = False
    OP_PARAMS = [
        Param("result", ht.NoDefault, ht.TAny, "Result"),
        Param("messages", ht.NoDefault, ht.TAny, "Messages"),
        Param("fail", ht.NoDefault, ht.TAny, "Failure"),
        Param("submit_jobs", ht.NoDefault, ht.TAny, "Jobs to submit"),
    ]
    OP_RESULT = ht.TNone


# --- networks ---------------------------------------------------------------------

class OpNetworkAdd(OpCode):
    """Add an IP network."""
    OP_DSC_FIELD = "network_name"
    OP_PARAMS = [
        _PNetworkName,
        Param("network", ht.NoDefault, TIPv4Network, "IPv4 subnet"),
        _PNetworkGateway4, _PNetworkAddress6, _PNetworkGateway6,
        _PNetworkMacPrefix, _PNetworkAddRsvdIps, _PIpConflictsCheck,
        _PInstTags,
    ]
    OP_RESULT = ht.TNone


class OpNetworkRemove(OpCode):
    """Remove a network."""
    OP_DSC_FIELD = "network_name"
    OP_PARAMS = [_PNetworkName, _PForce]
    OP_RESULT = ht.TNone


class OpNetworkRename(OpCode):
    """Rename a network (Ganeti 3.1+)."""
    OP_PARAMS = [_PNetworkName, _PNewName]
    OP_RESULT = _TNEStr


class OpNetworkSetParams(OpCode):
    """Change the parameters of a network."""
    OP_DSC_FIELD = "network_name"
    OP_PARAMS = [
        _PNetworkName, _PNetworkGateway4, _PNetworkAddress6, _PNetworkGateway6,
        _PNetworkMacPrefix, _PNetworkAddRsvdIps,
        Param("remove_reserved_ips", None, ht.TMaybe(ht.TListOf(TIPv4Address)),
              "IP addresses to release"),
    ]
    OP_RESULT = ht.TNone


class OpNetworkConnect(OpCode):
    """Connect a network to a node group."""
    OP_DSC_FIELD = "network_name"
    OP_PARAMS = [
        _PGroupName, _PNetworkName,
        Param("network_mode", ht.NoDefault, _TNicMode, "NIC mode"),
        Param("network_link", ht.NoDefault, _TNEStr, "NIC link"),
        Param("network_vlan", "", ht.TString, "VLAN"),
        _PIpConflictsCheck,
    ]
    OP_RESULT = ht.TNone


class OpNetworkDisconnect(OpCode):
    """Disconnect a network from a node group."""
    OP_DSC_FIELD = "network_name"
    OP_PARAMS = [_PGroupName, _PNetworkName]
    OP_RESULT = ht.TNone


def _GetOpList() -> list[type[OpCode]]:
    """The opcode classes defined in this module."""
    return [value for value in globals().values()
            if isinstance(value, type) and issubclass(value, OpCode)
            and value is not OpCode and value.__module__ == __name__]


OP_MAPPING: dict[str, type[OpCode]] = {
    op.OP_ID: op for op in _GetOpList() if op.OP_ID is not None}
