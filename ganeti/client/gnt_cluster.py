"""gnt-cluster: create, destroy, inspect and steer the cluster.

As Ganeti 3.0's gnt-cluster (spec/cli.md, samples/gnt-cluster-*.txt). "init"
prepares the parameters from the options exactly as Ganeti's client does
(defaults filled per hypervisor, disk template, NIC...), calls
bootstrap.InitCluster, which writes the cluster and starts the daemons, then
runs OpClusterPostInit; "destroy" runs OpClusterDestroy and
bootstrap.FinalizeClusterDestroy. The other commands talk to the master
daemon over LUXI. modify, rename, redist-conf, master-failover, search-tags
and the master IP commands are in gnt_cluster_ops.py; command, copyfile and
renew-crypto, which work over SSH, in gnt_cluster_ssh.py.
"""

from __future__ import annotations

import time
from typing import Any

from ganeti import cli, constants, defaults, errors, objects, pathutils, ssconf
from ganeti.cli import (
    ARGS_NONE,
    BACKEND_OPT,
    COMPRESSION_TOOLS_OPT,
    CP_SIZE_OPT,
    DEFAULT_IALLOCATOR_OPT,
    DEFAULT_IALLOCATOR_PARAMS_OPT,
    DISK_PARAMS_OPT,
    DISK_STATE_OPT,
    DRBD_HELPER_OPT,
    DRY_RUN_OPT,
    ENABLED_DISK_TEMPLATES_OPT,
    ENABLED_HV_OPT,
    ENABLED_USER_SHUTDOWN_OPT,
    GLOBAL_FILEDIR_OPT,
    GLOBAL_GLUSTER_FILEDIR_OPT,
    GLOBAL_SHARED_FILEDIR_OPT,
    HV_STATE_OPT,
    HVLIST_OPT,
    INSTALL_IMAGE_OPT,
    INSTANCE_POLICY_OPTS,
    IPOLICY_STD_SPECS_OPT,
    MAC_PREFIX_OPT,
    MAINTAIN_NODE_HEALTH_OPT,
    MASTER_NETDEV_OPT,
    MASTER_NETMASK_OPT,
    NIC_PARAMS_OPT,
    NODE_PARAMS_OPT,
    NODEGROUP_OPT,
    NOMODIFY_ETCHOSTS_OPT,
    NOMODIFY_SSH_SETUP_OPT,
    PREALLOC_WIPE_DISKS_OPT,
    PRIMARY_IP_VERSION_OPT,
    PRIORITY_OPT,
    SECONDARY_IP_OPT,
    SPLIT_ISPECS_OPTS,
    SSH_KEY_BITS_OPT,
    SSH_KEY_TYPE_OPT,
    SUBMIT_OPTS,
    TAG_SRC_OPT,
    UIDPOOL_OPT,
    USE_EXTERNAL_MIP_SCRIPT,
    VERBOSE_OPT,
    VG_NAME_OPT,
    YES_DOIT_OPT,
    ZEROING_IMAGE_OPT,
    ArgChoice,
    ArgHost,
    ArgSuggest,
    ArgUnknown,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.utils.text import CommaJoin, FormatTime, NiceSort, SafeEncode
from ganeti.client import gnt_cluster_ops as _ops
from ganeti.client import gnt_cluster_ssh as _ssh

# Ganeti 3.0's init defaults (src/Ganeti/Constants.hs).
DEFAULT_ENABLED_HYPERVISOR = constants.HT_XEN_PVM
DEFAULT_ENABLED_DISK_TEMPLATES = [constants.DT_DRBD8, constants.DT_PLAIN]
DEFAULT_VG = "xenvg"
DEFAULT_DRBD_HELPER = "/bin/true"
_LVM_DISK_TEMPLATES = frozenset([constants.DT_PLAIN, constants.DT_DRBD8])
VERIFY_NPLUSONE_MEM = "nplusone_mem"
VERIFY_HVPARAM_ASSESSMENT = "hvparam_assessment"
_JOB_IDS_KEY = "jobs"


# --- init / destroy -------------------------------------------------------------


def _InitEnabledDiskTemplates(opts: Any) -> list[str]:
    if opts.enabled_disk_templates:
        return opts.enabled_disk_templates.split(",")
    return list(DEFAULT_ENABLED_DISK_TEMPLATES)


def _InitVgName(opts: Any, enabled_disk_templates: list[str]) -> str | None:
    """The volume group: the option's, or the default one if LVM is used.

    Raises:
      errors.OpPrereqError: LVM templates enabled with an empty --vg-name.
    """
    lvm_enabled = bool(_LVM_DISK_TEMPLATES & set(enabled_disk_templates))
    if opts.vg_name is not None:
        if opts.vg_name and not lvm_enabled:
            ToStdout("You specified a volume group with --vg-name, but you did"
                     " not enable any disk template that uses lvm.")
        elif not opts.vg_name and lvm_enabled:
            raise errors.OpPrereqError("LVM disk templates are enabled, but vg"
                                       " name not set.", errors.ECODE_INVAL)
        return opts.vg_name
    return DEFAULT_VG if lvm_enabled else None


def _InitDrbdHelper(opts: Any, enabled_disk_templates: list[str]) -> str | None:
    """The DRBD usermode helper: the option's, or the default one for DRBD.

    Raises:
      errors.OpPrereqError: DRBD enabled with an empty helper.
    """
    drbd_enabled = constants.DT_DRBD8 in enabled_disk_templates
    if not drbd_enabled and opts.drbd_helper is not None:
        ToStdout("Note: You specified a DRBD usermode helper, while DRBD storage"
                 " is not enabled.")
    if drbd_enabled:
        if opts.drbd_helper is None:
            return DEFAULT_DRBD_HELPER
        if opts.drbd_helper == "":
            raise errors.OpPrereqError("Unsetting the drbd usermode helper while"
                                       " enabling DRBD is not allowed.",
                                       errors.ECODE_INVAL)
    return opts.drbd_helper


def ParseUidPool(value: str) -> list[tuple[int, int]]:
    """Parse "1000-1009,1020" into [(1000, 1009), (1020, 1020)].

    Raises:
      errors.OpPrereqError: a bound is not a number or a range is reversed.
    """
    ranges = []
    for item in value.replace(" ", ",").split(","):
        if not item:
            continue
        low_text, _, high_text = item.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if high_text else low
        except ValueError:
            raise errors.OpPrereqError(f"Invalid user-id range '{item}'",
                                       errors.ECODE_INVAL) from None
        if low < 0 or high < low:
            raise errors.OpPrereqError(f"Invalid user-id range '{item}'",
                                       errors.ECODE_INVAL)
        ranges.append((low, high))
    return ranges


def FormatUidPool(uid_pool: list[Any]) -> str:
    """A user-id pool as "1000-1009, 1020"."""
    return ", ".join(str(low) if low == high else f"{low}-{high}"
                     for (low, high) in uid_pool)


def _FillParams(opts: Any) -> dict[str, Any] | None:
    """The parameter dicts of a new cluster, filled with the defaults.

    Returns:
      keyword arguments for InitCluster, or None after an error was printed.
    """
    diskparams = dict(opts.diskparams)
    unknown = set(diskparams) - constants.DISK_TEMPLATES
    if unknown:
        ToStderr("Disk templates unknown: %s", CommaJoin(NiceSort(unknown)))
        return None
    beparams = objects.FillDict(defaults.BEC_DEFAULTS, opts.beparams)
    defaults.ForceDictType(beparams, defaults.BES_PARAMETER_COMPAT)
    nicparams = objects.FillDict(defaults.NICC_DEFAULTS, opts.nicparams)
    defaults.ForceDictType(nicparams, defaults.NICS_PARAMETER_TYPES)
    ndparams = objects.FillDict(defaults.NDC_DEFAULTS, opts.ndparams)
    defaults.ForceDictType(ndparams, defaults.NDS_PARAMETER_TYPES)
    hvparams = dict(opts.hvparams)
    for hv_name in sorted(constants.HYPER_TYPES):
        hvparams[hv_name] = objects.FillDict(defaults.HVC_DEFAULTS[hv_name],
                                             hvparams.get(hv_name) or {})
        defaults.ForceDictType(hvparams[hv_name],
                               defaults.HVS_PARAMETER_TYPES[hv_name])
    for template in sorted(constants.DISK_TEMPLATES):
        diskparams[template] = objects.FillDict(
            defaults.DISK_DT_DEFAULTS[template], diskparams.get(template) or {})
        defaults.ForceDictType(diskparams[template], defaults.DISK_DT_TYPES)
    ipolicy = cli.CreateIPolicyFromOpts(
        ispecs_mem_size=opts.ispecs_mem_size,
        ispecs_cpu_count=opts.ispecs_cpu_count,
        ispecs_disk_count=opts.ispecs_disk_count,
        ispecs_disk_size=opts.ispecs_disk_size,
        ispecs_nic_count=opts.ispecs_nic_count,
        minmax_ispecs=opts.ipolicy_bounds_specs, std_ispecs=opts.ipolicy_std_specs,
        ipolicy_disk_templates=opts.ipolicy_disk_templates,
        ipolicy_vcpu_ratio=opts.ipolicy_vcpu_ratio,
        ipolicy_spindle_ratio=opts.ipolicy_spindle_ratio, fill_all=True)
    return {"beparams": beparams, "nicparams": nicparams, "ndparams": ndparams,
            "hvparams": hvparams, "diskparams": diskparams, "ipolicy": ipolicy}


def _InitMasterNetdev(opts: Any) -> str:
    """The master interface: the option's, or the default bridge/switch."""
    if opts.master_netdev is not None:
        return opts.master_netdev
    if opts.nicparams.get(defaults.NIC_MODE) == constants.NIC_MODE_OVS:
        opts.nicparams[defaults.NIC_LINK] = constants.DEFAULT_OVS
        return constants.DEFAULT_OVS
    return constants.DEFAULT_BRIDGE


def _ParseInitNumbers(opts: Any) -> tuple[int, int | None] | None:
    """(primary IP version, master netmask); None after printing an error."""
    try:
        primary_ip_version = int(opts.primary_ip_version)
    except (ValueError, TypeError) as err:
        ToStderr("Invalid primary ip version value: %s", err)
        return None
    try:
        netmask = (None if opts.master_netmask is None
                   else int(opts.master_netmask))
    except (ValueError, TypeError) as err:
        ToStderr("Invalid master netmask value: %s", err)
        return None
    return primary_ip_version, netmask


def InitCluster(opts: Any, args: list[str]) -> int:
    """Create a cluster with this node as its master."""
    from ganeti import bootstrap, opcodes  # heavy; only init/destroy need them
    enabled_disk_templates = _InitEnabledDiskTemplates(opts)
    try:
        vg_name = _InitVgName(opts, enabled_disk_templates)
        drbd_helper = _InitDrbdHelper(opts, enabled_disk_templates)
    except errors.OpPrereqError as err:
        ToStderr(str(err.args[0]))
        return cli.EXIT_FAILURE
    master_netdev = _InitMasterNetdev(opts)
    params = _FillParams(opts)
    numbers = _ParseInitNumbers(opts)
    if params is None or numbers is None:
        return cli.EXIT_FAILURE
    (primary_ip_version, master_netmask) = numbers
    hvlist = (opts.enabled_hypervisors or DEFAULT_ENABLED_HYPERVISOR).split(",")
    bootstrap.InitCluster(
        cluster_name=args[0], secondary_ip=opts.secondary_ip, vg_name=vg_name,
        mac_prefix=opts.mac_prefix or constants.DEFAULT_MAC_PREFIX,
        master_netmask=master_netmask, master_netdev=master_netdev,
        file_storage_dir=opts.file_storage_dir,
        shared_file_storage_dir=opts.shared_file_storage_dir,
        gluster_storage_dir=opts.gluster_storage_dir,
        enabled_hypervisors=hvlist,
        candidate_pool_size=(constants.MASTER_POOL_SIZE_DEFAULT
                             if opts.candidate_pool_size is None
                             else opts.candidate_pool_size),
        modify_etc_hosts=opts.modify_etc_hosts,
        modify_ssh_setup=opts.modify_ssh_setup,
        maintain_node_health=bool(opts.maintain_node_health),
        drbd_helper=drbd_helper,
        uid_pool=None if opts.uid_pool is None else ParseUidPool(opts.uid_pool),
        default_iallocator=opts.default_iallocator,
        default_iallocator_params=opts.default_iallocator_params,
        primary_ip_version=primary_ip_version,
        prealloc_wipe_disks=bool(opts.prealloc_wipe_disks),
        use_external_mip_script=bool(opts.use_external_mip_script),
        hv_state=dict(opts.hv_state), disk_state=cli.ParseDiskState(opts.disk_state),
        enabled_disk_templates=enabled_disk_templates,
        install_image=opts.install_image or "",
        zeroing_image=opts.zeroing_image or "",
        compression_tools=opts.compression_tools,
        enabled_user_shutdown=bool(opts.enabled_user_shutdown),
        ssh_key_type=opts.ssh_key_type, ssh_key_bits=opts.ssh_key_bits,
        **params)
    cli.SubmitOpCode(opcodes.OpClusterPostInit(), opts=opts)
    return cli.EXIT_SUCCESS


def DestroyCluster(opts: Any, args: list[str]) -> int:
    """Destroy the cluster (only its master may be left)."""
    if not opts.yes_do_it:
        ToStderr("Destroying a cluster is irreversible. If you really want"
                 " destroy this cluster, supply the --yes-do-it option.")
        return cli.EXIT_FAILURE
    from ganeti import bootstrap, opcodes
    master_uuid = cli.SubmitOpCode(opcodes.OpClusterDestroy(), opts=opts)
    # The opcode succeeded: only this node's files and daemons remain.
    bootstrap.FinalizeClusterDestroy(master_uuid)
    return cli.EXIT_SUCCESS


# --- information ------------------------------------------------------------------


def ShowClusterVersion(opts: Any, args: list[str]) -> int:
    """Print the software and protocol versions of the cluster."""
    result = cli.GetClient(query=True).QueryClusterInfo()
    ToStdout("Software version: %s", result["software_version"])
    ToStdout("Internode protocol: %s", result["protocol_version"])
    ToStdout("Configuration format: %s", result["config_version"])
    ToStdout("OS api version: %s", result["os_api_version"])
    ToStdout("Export interface: %s", result["export_version"])
    ToStdout("VCS version: %s", result["vcs_version"])
    return cli.EXIT_SUCCESS


def ShowClusterMaster(opts: Any, args: list[str]) -> int:
    """Print the master node's name (from this node's ssconf)."""
    master, _ = ssconf.GetMasterAndMyself(ssconf.SimpleStore())
    ToStdout(master)
    return cli.EXIT_SUCCESS


def _FormatGroupedParams(paramsdict: dict[str, Any]) -> dict[str, Any]:
    """Nested parameter dicts with every value as a string."""
    return {key: _FormatGroupedParams(value) if isinstance(value, dict)
            else str(value) for key, value in paramsdict.items()}


def _FormatDataCollectors(result: dict[str, Any]) -> dict[str, Any]:
    active = result.get("enabled_data_collectors") or {}
    interval = result.get("data_collector_interval") or {}
    return {name: {"active": str(active[name]),
                   "interval": f"{interval.get(name, 0) / 1e6:.3f}s"}
            for name in active}


def _ClusterParameters(result: dict[str, Any]) -> list[tuple[str, Any]]:
    reserved_lvs = CommaJoin(result["reserved_lvs"]) or "(none)"
    return [
        ("candidate pool size", result["candidate_pool_size"]),
        ("maximal number of jobs running simultaneously",
         result["max_running_jobs"]),
        ("maximal number of jobs simultaneously tracked by the scheduler",
         result["max_tracked_jobs"]),
        ("mac prefix", result["mac_prefix"]),
        ("master netdev", result["master_netdev"]),
        ("master netmask", result["master_netmask"]),
        ("use external master IP address setup script",
         result["use_external_mip_script"]),
        ("lvm volume group", result["volume_group_name"]),
        ("lvm reserved volumes", reserved_lvs),
        ("drbd usermode helper", result["drbd_usermode_helper"]),
        ("file storage path", result["file_storage_dir"]),
        ("shared file storage path", result["shared_file_storage_dir"]),
        ("gluster storage path", result["gluster_storage_dir"]),
        ("maintenance of node health", result["maintain_node_health"]),
        ("uid pool", FormatUidPool(result["uid_pool"])),
        ("default instance allocator", result["default_iallocator"]),
        ("default instance allocator parameters",
         result["default_iallocator_params"]),
        ("primary ip version", result["primary_ip_version"]),
        ("preallocation wipe disks", result["prealloc_wipe_disks"]),
        ("OS search path", CommaJoin(pathutils.OS_SEARCH_PATH)),
        ("ExtStorage Providers search path", CommaJoin(pathutils.ES_SEARCH_PATH)),
        ("enabled disk templates", CommaJoin(result["enabled_disk_templates"])),
        ("install image", result["install_image"]),
        ("instance communication network",
         result["instance_communication_network"]),
        ("zeroing image", result["zeroing_image"]),
        ("compression tools", result["compression_tools"]),
        ("enabled user shutdown", result["enabled_user_shutdown"]),
        ("modify ssh setup", result["modify_ssh_setup"]),
        ("ssh_key_type", result["ssh_key_type"]),
        ("ssh_key_bits", result["ssh_key_bits"]),
    ]


def FormatClusterInfo(result: dict[str, Any]) -> list[tuple[str, Any]]:
    """The info tree of "gnt-cluster info" from QueryClusterInfo's answer."""
    result = cli.NormalizeNumbers(result)
    tags = CommaJoin(NiceSort(result["tags"])) if result["tags"] else "(none)"
    enabled_hv = result["enabled_hypervisors"]
    hvparams = {name: params for name, params in result["hvparams"].items()
                if name in enabled_hv}
    (arch_bits, arch_machine) = result["architecture"]
    return [
        ("Cluster name", result["name"]),
        ("Cluster UUID", result["uuid"]),
        ("Creation time", FormatTime(result["ctime"])),
        ("Modification time", FormatTime(result["mtime"])),
        ("Master node", result["master"]),
        ("Architecture (this node)", f"{arch_bits} ({arch_machine})"),
        ("Tags", tags),
        ("Default hypervisor", result["default_hypervisor"]),
        ("Enabled hypervisors", CommaJoin(enabled_hv)),
        ("Hypervisor parameters", _FormatGroupedParams(hvparams)),
        ("OS-specific hypervisor parameters",
         _FormatGroupedParams(result["os_hvp"])),
        ("OS parameters", _FormatGroupedParams(result["osparams"])),
        ("Hidden OSes", CommaJoin(result["hidden_os"])),
        ("Blacklisted OSes", CommaJoin(result["blacklisted_os"])),
        ("Cluster parameters", _ClusterParameters(result)),
        ("Default node parameters", _FormatGroupedParams(result["ndparams"])),
        ("Default instance parameters", _FormatGroupedParams(result["beparams"])),
        ("Default nic parameters", _FormatGroupedParams(result["nicparams"])),
        ("Default disk parameters", _FormatGroupedParams(result["diskparams"])),
        ("Instance policy - limits for instances",
         cli.FormatPolicyInfo(result["ipolicy"], None, True)),
        ("Data collectors", _FormatDataCollectors(result)),
    ]


def ShowClusterConfig(opts: Any, args: list[str]) -> int:
    """Print the cluster's configuration (parameters, policies...)."""
    result = cli.GetClient(query=True).QueryClusterInfo()
    cli.PrintGenericInfo(FormatClusterInfo(result))
    return cli.EXIT_SUCCESS


def MasterPing(opts: Any, args: list[str]) -> int:
    """Exit with 0 if the master daemon answers, else 1 (prints nothing)."""
    try:
        cli.GetClient().QueryClusterInfo()
    except errors.GenericError:
        return cli.EXIT_FAILURE
    return cli.EXIT_SUCCESS


def VerifyCluster(opts: Any, args: list[str]) -> int:
    """Run the cluster verification jobs and report their findings."""
    from ganeti import opcodes
    skip_checks = [VERIFY_NPLUSONE_MEM] if opts.skip_nplusone_mem else []
    if getattr(opts, "skip_hvparam_assessment", False):
        skip_checks.append(VERIFY_HVPARAM_ASSESSMENT)
    cl = cli.GetClient()
    op = opcodes.OpClusterVerify(verbose=opts.verbose, error_codes=opts.error_codes,
                                 debug_simulate_errors=opts.simulate_errors,
                                 skip_checks=skip_checks,
                                 ignore_errors=opts.ignore_errors,
                                 group_name=opts.nodegroup,
                                 verify_clutter=getattr(opts, "verify_clutter",
                                                        False))
    result = cli.SubmitOpCode(op, cl=cl, opts=opts)
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for (status, job_id) in result[_JOB_IDS_KEY]:
        jex.AddJobId(None, status, job_id)
    results = jex.GetResults()
    bad_jobs = sum(1 for (success, _) in results if not success)
    bad_results = sum(1 for (success, op_results) in results
                      if success and not (len(op_results) == 1 and op_results[0]))
    if bad_jobs:
        ToStdout("%s job(s) failed while verifying the cluster.", bad_jobs)
    return cli.EXIT_FAILURE if bad_jobs or bad_results else cli.EXIT_SUCCESS


def _ReportMissingVolumes(missing: dict[str, list[list[str]]],
                          bad_nodes: dict[str, str]) -> None:
    """Print verify-disks' missing logical volumes, per instance."""
    for iname, ival in missing.items():
        if all(node in bad_nodes for node, _ in ival):
            ToStdout("Instance %s cannot be verified as it lives on broken nodes",
                     iname)
            continue
        ToStdout("Instance %s has missing logical volumes:", iname)
        for node, vol in sorted(ival):
            if node in bad_nodes:
                ToStdout("\tbroken node %s /dev/%s", node, vol)
            else:
                ToStdout("\t%s /dev/%s", node, vol)
    ToStdout("You need to replace or recreate disks for all the above"
             " instances if this message persists after fixing broken nodes.")


def VerifyDisks(opts: Any, args: list[str]) -> int:
    """Verify the instances' disks; activate those that need it (as Ganeti)."""
    from ganeti import opcodes
    cl = cli.GetClient()
    op = opcodes.OpClusterVerifyDisks(group_name=opts.nodegroup,
                                      is_strict=getattr(opts, "strict", True))
    result = cli.SubmitOpCode(op, cl=cl, opts=opts)
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for (status, job_id) in result[_JOB_IDS_KEY]:
        jex.AddJobId(None, status, job_id)
    retcode = cli.EXIT_SUCCESS
    for (status, job_result) in jex.GetResults():
        if not status:
            ToStdout("Job failed: %s", job_result)
            continue
        ((bad_nodes, instances, missing),) = job_result
        for node, text in bad_nodes.items():
            ToStdout("Error gathering data on node %s: %s", node,
                     SafeEncode(text[-400:]))
            retcode = cli.EXIT_FAILURE
            ToStdout("You need to fix these nodes first before fixing instances")
        for iname in instances:
            if iname in missing:
                continue
            try:
                ToStdout("Activating disks for instance '%s'", iname)
                cli.SubmitOpCode(opcodes.OpInstanceActivateDisks(instance_name=iname),
                                 opts=opts, cl=cl)
            except errors.GenericError as err:
                nret, msg = cli.FormatError(err)
                retcode |= nret
                ToStderr("Error activating disks for instance %s: %s", iname, msg)
        if missing:
            _ReportMissingVolumes(missing, bad_nodes)
            retcode = cli.EXIT_FAILURE
        elif not instances:
            ToStdout("No disks need to be activated.")
    return retcode


# --- queue and watcher ---------------------------------------------------------------


def QueueOps(opts: Any, args: list[str]) -> int:
    """Drain or undrain the job queue, or show whether it is drained."""
    command = args[0]
    client = cli.GetClient()
    if command in ("drain", "undrain"):
        client.SetQueueDrainFlag(command == "drain")
    elif command == "info":
        (drained,) = client.QueryConfigValues(["drain_flag"])
        ToStdout("The drain flag is %s", "set" if drained else "unset")
    else:
        raise errors.OpPrereqError(f"Command '{command}' is not valid.",
                                   errors.ECODE_INVAL)
    return cli.EXIT_SUCCESS


def _ShowWatcherPause(until: float | None) -> None:
    if until is None or until < time.time():
        ToStdout("The watcher is not paused.")
    else:
        ToStdout("The watcher is paused until %s.", time.ctime(until))


def WatcherOps(opts: Any, args: list[str]) -> int:
    """Pause or resume the watcher, or show whether it is paused."""
    command = args[0]
    client = cli.GetClient()
    if command == "continue":
        client.SetWatcherPause(None)
        ToStdout("The watcher is no longer paused.")
    elif command == "pause":
        if len(args) < 2:
            raise errors.OpPrereqError("Missing pause duration", errors.ECODE_INVAL)
        _ShowWatcherPause(client.SetWatcherPause(
            time.time() + cli.ParseTimespec(args[1])))
    elif command == "info":
        (until,) = client.QueryConfigValues(["watcher_pause"])
        _ShowWatcherPause(until)
    else:
        raise errors.OpPrereqError(f"Command '{command}' is not valid.",
                                   errors.ECODE_INVAL)
    return cli.EXIT_SUCCESS


# --- command table ---------------------------------------------------------

_TAG_KIND = {"tag_type": cli.TAG_CLUSTER}

_VERIFY_OPTS = [
    VERBOSE_OPT,
    cli_option("--debug-simulate-errors", default=False, action="store_true",
               dest="simulate_errors",
               help="Treat most runtime checks as failed (debugging)"),
    cli_option("--error-codes", dest="error_codes", default=False,
               action="store_true", help="Print errors in a parseable form"),
    cli_option("--no-nplus1-mem", dest="skip_nplusone_mem", default=False,
               action="store_true", help="Skip the N+1 memory check"),
    DRY_RUN_OPT, PRIORITY_OPT, NODEGROUP_OPT,
    cli_option("-I", "--ignore-errors", default=[], action="append",
               dest="ignore_errors", help="Error code to ignore (repeatable)"),
    cli_option("--no-hv-param-assessment", dest="skip_hvparam_assessment",
               default=False, action="store_true",
               help="Skip the assessment of the hypervisor parameters"),
    cli_option("--verify-ssh-clutter", dest="verify_clutter", default=False,
               action="store_true",
               help="Verify that Ganeti did not clutter up the 'authorized_keys'"
               " file"),
]

_VERIFY_DISKS_OPTS = [
    PRIORITY_OPT, NODEGROUP_OPT,
    cli_option("--no-strict", dest="strict", default=True, action="store_false",
               help="Do not consider disks in an unknown state as faulty"),
]

_INIT_OPTS = [
    BACKEND_OPT, CP_SIZE_OPT, ENABLED_HV_OPT, GLOBAL_FILEDIR_OPT, HVLIST_OPT,
    MAC_PREFIX_OPT, MASTER_NETDEV_OPT, MASTER_NETMASK_OPT, NIC_PARAMS_OPT,
    NOMODIFY_ETCHOSTS_OPT, NOMODIFY_SSH_SETUP_OPT, SECONDARY_IP_OPT, VG_NAME_OPT,
    MAINTAIN_NODE_HEALTH_OPT, UIDPOOL_OPT, DRBD_HELPER_OPT, DEFAULT_IALLOCATOR_OPT,
    DEFAULT_IALLOCATOR_PARAMS_OPT, PRIMARY_IP_VERSION_OPT, PREALLOC_WIPE_DISKS_OPT,
    NODE_PARAMS_OPT, GLOBAL_SHARED_FILEDIR_OPT, USE_EXTERNAL_MIP_SCRIPT,
    DISK_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT, ENABLED_DISK_TEMPLATES_OPT,
    IPOLICY_STD_SPECS_OPT, GLOBAL_GLUSTER_FILEDIR_OPT, INSTALL_IMAGE_OPT,
    ZEROING_IMAGE_OPT, COMPRESSION_TOOLS_OPT, ENABLED_USER_SHUTDOWN_OPT,
    SSH_KEY_BITS_OPT, SSH_KEY_TYPE_OPT,
] + INSTANCE_POLICY_OPTS + SPLIT_ISPECS_OPTS

commands: dict[str, Any] = {
    "init": (
        InitCluster, [ArgHost(min=1, max=1)], _INIT_OPTS,
        "[opts...] <cluster_name>", "Initialises a new cluster configuration"),
    "destroy": (
        DestroyCluster, ARGS_NONE, [YES_DOIT_OPT],
        "", "Destroy cluster"),
    "verify": (
        VerifyCluster, ARGS_NONE, _VERIFY_OPTS,
        "", "Does a check on the cluster configuration"),
    "verify-disks": (
        VerifyDisks, ARGS_NONE, _VERIFY_DISKS_OPTS,
        "", "Does a check on the cluster disk status"),
    "master-ping": (
        MasterPing, ARGS_NONE, [],
        "", "Checks if the master is alive"),
    "version": (
        ShowClusterVersion, ARGS_NONE, [],
        "", "Shows the cluster version"),
    "getmaster": (
        ShowClusterMaster, ARGS_NONE, [],
        "", "Shows the cluster master"),
    "info": (
        ShowClusterConfig, ARGS_NONE, [],
        "", "Show cluster configuration"),
    "list-tags": (
        cli.ListTags, ARGS_NONE, [], "", "List the tags of the cluster"),
    "add-tags": (
        cli.AddTags, [ArgUnknown()], [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "tag...", "Add tags to the cluster"),
    "remove-tags": (
        cli.RemoveTags, [ArgUnknown()], [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "tag...", "Remove tags from the cluster"),
    "queue": (
        QueueOps, [ArgChoice(min=1, max=1, choices=["drain", "undrain", "info"])],
        [], "drain|undrain|info", "Change queue properties"),
    "watcher": (
        WatcherOps,
        [ArgChoice(min=1, max=1, choices=["pause", "continue", "info"]),
         ArgSuggest(min=0, max=1, choices=["30m", "1h", "4h"])],
        [], "{pause <timespec>|continue|info}", "Change watcher properties"),
    # Cluster-wide operations (gnt_cluster_ops.py, gnt_cluster_ssh.py).
    "rename": (
        _ops.RenameCluster, [ArgHost(min=1, max=1)], [cli.FORCE_OPT, DRY_RUN_OPT],
        "<new-name>", "Renames the cluster"),
    "redist-conf": (
        _ops.RedistributeConfig, ARGS_NONE,
        SUBMIT_OPTS + [DRY_RUN_OPT, PRIORITY_OPT, _ops.FORCE_DISTRIBUTION],
        "", "Forces a push of the configuration file and ssconf files to the"
        " nodes in the cluster"),
    "master-failover": (
        _ops.MasterFailover, ARGS_NONE,
        [_ops.NOVOTING_OPT, _ops.FORCE_FAILOVER, _ops.IGNORE_OFFLINE_NODES_FAILOVER],
        "", "Makes the current node the master"),
    "copyfile": (
        _ssh.ClusterCopyFile, [cli.ArgFile(min=1, max=1)],
        [cli.NODE_LIST_OPT, _ssh.USE_REPL_NET_OPT, NODEGROUP_OPT],
        "[-n <node-name>...] <filename>", "Copies a file to all (or only some) nodes"),
    "command": (
        _ssh.RunClusterCommand, [cli.ArgCommand(min=1)],
        [cli.NODE_LIST_OPT, NODEGROUP_OPT, _ssh.SHOW_MACHINE_OPT,
         _ssh.FAILURE_ONLY_OPT],
        "[-n <node-name>...] <command>", "Runs a command on all (or only some) nodes"),
    "search-tags": (
        _ops.SearchTags, [ArgUnknown(min=1, max=1)], [PRIORITY_OPT], "",
        "Searches the tags on all objects on the cluster for a given pattern"
        " (regex)"),
    "modify": (
        _ops.SetClusterParams, ARGS_NONE,
        [cli.FORCE_OPT, BACKEND_OPT, CP_SIZE_OPT, _ops.RQL_OPT, _ops.MAX_TRACK_OPT,
         INSTALL_IMAGE_OPT, _ops.INSTANCE_COMMUNICATION_NETWORK_OPT, ENABLED_HV_OPT,
         HVLIST_OPT, MAC_PREFIX_OPT, MASTER_NETDEV_OPT, MASTER_NETMASK_OPT,
         NIC_PARAMS_OPT, VG_NAME_OPT, MAINTAIN_NODE_HEALTH_OPT, UIDPOOL_OPT,
         _ops.ADD_UIDS_OPT, _ops.REMOVE_UIDS_OPT, DRBD_HELPER_OPT,
         DEFAULT_IALLOCATOR_OPT, DEFAULT_IALLOCATOR_PARAMS_OPT,
         _ops.RESERVED_LVS_OPT, DRY_RUN_OPT, PRIORITY_OPT, PREALLOC_WIPE_DISKS_OPT,
         NODE_PARAMS_OPT, USE_EXTERNAL_MIP_SCRIPT, DISK_PARAMS_OPT, HV_STATE_OPT,
         DISK_STATE_OPT] + SUBMIT_OPTS +
        [ENABLED_DISK_TEMPLATES_OPT, IPOLICY_STD_SPECS_OPT, _ops.MODIFY_ETCHOSTS_OPT,
         ENABLED_USER_SHUTDOWN_OPT] + INSTANCE_POLICY_OPTS +
        [GLOBAL_FILEDIR_OPT, GLOBAL_SHARED_FILEDIR_OPT, ZEROING_IMAGE_OPT,
         COMPRESSION_TOOLS_OPT, _ops.ENABLED_DATA_COLLECTORS_OPT,
         _ops.DATA_COLLECTOR_INTERVAL_OPT],
        "[<opts>...]", "Alters the parameters of the cluster"),
    "renew-crypto": (
        _ssh.RenewCrypto, ARGS_NONE,
        [_ssh.NEW_CLUSTER_CERT_OPT, _ssh.NEW_RAPI_CERT_OPT, _ssh.RAPI_CERT_OPT,
         _ssh.NEW_CONFD_HMAC_KEY_OPT, cli.FORCE_OPT,
         _ssh.NEW_CLUSTER_DOMAIN_SECRET_OPT, _ssh.CLUSTER_DOMAIN_SECRET_OPT,
         _ssh.NEW_SPICE_CERT_OPT, _ssh.SPICE_CERT_OPT, _ssh.SPICE_CACERT_OPT,
         _ssh.NEW_NODE_CERT_OPT, _ssh.NEW_SSH_KEY_OPT, _ssh.NOSSH_KEYCHECK_OPT,
         VERBOSE_OPT, SSH_KEY_BITS_OPT, SSH_KEY_TYPE_OPT],
        "[<opts>...]", "Renews cluster certificates, keys and secrets"),
    "activate-master-ip": (
        _ops.ActivateMasterIp, ARGS_NONE, [], "", "Activates the master IP"),
    "deactivate-master-ip": (
        _ops.DeactivateMasterIp, ARGS_NONE, [cli.CONFIRM_OPT], "",
        "Deactivates the master IP"),
}

#: Other names of commands.
aliases = {
    "masterfailover": "master-failover",
    "show": "info",
}


def Main() -> int:
    """Run gnt-cluster with sys.argv; return the exit code."""
    return cli.GenericMain(commands, override=_TAG_KIND, aliases=aliases)
