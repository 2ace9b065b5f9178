"""gnt-cluster subcommands changing the cluster as a whole.

modify, rename, redist-conf, master-failover, activate-master-ip,
deactivate-master-ip and search-tags, with Ganeti 3.0's options
(spec/cli.md, gnt-cluster table). The subcommands working over SSH
(command, copyfile, renew-crypto) are in gnt_cluster_ssh.py; the command
table is gnt_cluster.py's.

The options Ganeti defines in cli_opts and ganeti/cli_opts.py lacks are
defined here with Ganeti's names, flags and destinations.
"""

from __future__ import annotations

from typing import Any

from ganeti import cli, defaults, errors
from ganeti.cli import ToStderr, ToStdout, cli_option

_YORNO = "yes|no"

# --- options missing from cli_opts (Ganeti's names) ---------------------------

RQL_OPT = cli_option("--max-running-jobs", dest="max_running_jobs", type="int",
                     default=None,
                     help="Maximal number of jobs to run simultaneously")

MAX_TRACK_OPT = cli_option("--max-tracked-jobs", dest="max_tracked_jobs",
                           type="int", default=None,
                           help="Maximal number of jobs tracked in the job queue")

INSTANCE_COMMUNICATION_NETWORK_OPT = cli_option(
    "--instance-communication-network", dest="instance_communication_network",
    type="string", default=None,
    help="Network to use for instance communication")

ADD_UIDS_OPT = cli_option("--add-uids", dest="add_uids", default=None,
                          help="User IDs or ranges (a-b) to add to the pool")

REMOVE_UIDS_OPT = cli_option("--remove-uids", dest="remove_uids", default=None,
                             help="User IDs or ranges (a-b) to remove from the"
                             " pool")

RESERVED_LVS_OPT = cli_option("--reserved-lvs", dest="reserved_lvs", default=None,
                              help="Comma-separated logical volumes (vg/lv, may"
                              " be regular expressions) cluster verify ignores;"
                              " an empty value clears the list")

MODIFY_ETCHOSTS_OPT = cli_option("--modify-etc-hosts", dest="modify_etc_hosts",
                                 metavar=_YORNO, default=None, type="bool",
                                 help="Whether the cluster keeps /etc/hosts")

USE_EXTERNAL_MIP_SCRIPT = cli.USE_EXTERNAL_MIP_SCRIPT

ENABLED_DATA_COLLECTORS_OPT = cli_option(
    "--enabled-data-collectors", dest="enabled_data_collectors", type="keyval",
    default={}, help="Data collectors to turn on or off (name=true|false,...)")

DATA_COLLECTOR_INTERVAL_OPT = cli_option(
    "--data-collector-interval", dest="data_collector_interval", type="keyval",
    default={}, help="Seconds between two collections (name=seconds,...)")

NOVOTING_OPT = cli_option("--no-voting", dest="no_voting", default=False,
                          action="store_true",
                          help="Skip the check that the other nodes agree on the"
                          " master (dangerous; for two-node clusters)")

FORCE_FAILOVER = cli_option("--yes-do-it", dest="yes_do_it", default=False,
                            action="store_true",
                            help="Do not ask for confirmation of --no-voting")

IGNORE_OFFLINE_NODES_FAILOVER = cli_option(
    "--ignore-offline-nodes", dest="ignore_offline_nodes", default=False,
    action="store_true",
    help="Leave the nodes marked offline out of the majority check")

FORCE_DISTRIBUTION = cli_option("--yes-do-it", dest="yes_do_it", default=False,
                                action="store_true",
                                help="Force the distribution of the"
                                " configuration")

# --- modify -------------------------------------------------------------------

# Option attributes whose presence alone makes a modify worth submitting.
_MODIFY_ATTRS = (
    "vg_name", "drbd_helper", "candidate_pool_size", "max_running_jobs",
    "max_tracked_jobs", "uid_pool", "maintain_node_health", "add_uids",
    "remove_uids", "default_iallocator", "reserved_lvs", "mac_prefix",
    "master_netdev", "master_netmask", "use_external_mip_script",
    "prealloc_wipe_disks", "ipolicy_bounds_specs", "ipolicy_std_specs",
    "ipolicy_disk_templates", "ipolicy_vcpu_ratio", "ipolicy_spindle_ratio",
    "modify_etc_hosts", "file_storage_dir", "shared_file_storage_dir",
    "install_image", "instance_communication_network", "zeroing_image",
    "compression_tools", "enabled_user_shutdown", "ndparams")
# Those that count only when not empty.
_MODIFY_NONEMPTY = (
    "enabled_hypervisors", "hvparams", "beparams", "nicparams", "diskparams",
    "hv_state", "enabled_disk_templates", "disk_state", "default_iallocator_params",
    "data_collector_interval", "enabled_data_collectors")


def _AnyModifyOption(opts: Any) -> bool:
    return (any(getattr(opts, attr, None) is not None for attr in _MODIFY_ATTRS)
            or any(getattr(opts, attr, None) for attr in _MODIFY_NONEMPTY))


def _ParseUids(value: str | None) -> list[tuple[int, int]] | None:
    from ganeti.client.gnt_cluster import ParseUidPool
    return None if value is None else ParseUidPool(value)


def _DataCollectorChanges(opts: Any) -> tuple[dict[str, bool], dict[str, int]]:
    """--enabled-data-collectors and --data-collector-interval as opcode values.

    Raises:
      errors.OpPrereqError: an interval is no number or not above zero.
    """
    enabled = {name: str(value).lower().startswith("t")
               for name, value in (opts.enabled_data_collectors or {}).items()}
    intervals = {}
    for name, value in (opts.data_collector_interval or {}).items():
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise errors.OpPrereqError(
                f"Can't transform all values to integers: {name}={value}",
                errors.ECODE_INVAL) from None
        if seconds <= 0:
            raise errors.OpPrereqError("Some interval times where not above zero.",
                                       errors.ECODE_INVAL)
        intervals[name] = int(1e6 * seconds)
    return enabled, intervals


def _ParamDicts(opts: Any) -> dict[str, Any]:
    """The parameter dict options, typed as Ganeti's client types them.

    Raises:
      errors.TypeEnforcementError: a value of the wrong type.
    """
    hvparams = dict(opts.hvparams)
    for hv_name, params in hvparams.items():
        defaults.ForceDictType(params, defaults.HVS_PARAMETER_TYPES.get(hv_name, {}))
    diskparams = dict(opts.diskparams)
    for params in diskparams.values():
        defaults.ForceDictType(params, defaults.DISK_DT_TYPES)
    beparams = dict(opts.beparams)
    defaults.ForceDictType(beparams, defaults.BES_PARAMETER_COMPAT)
    nicparams = dict(opts.nicparams)
    defaults.ForceDictType(nicparams, defaults.NICS_PARAMETER_TYPES)
    ndparams = opts.ndparams
    if ndparams is not None:
        ndparams = dict(ndparams)
        defaults.ForceDictType(ndparams, defaults.NDS_PARAMETER_TYPES)
    return {"hvparams": hvparams, "diskparams": diskparams, "beparams": beparams,
            "nicparams": nicparams, "ndparams": ndparams}


def _ModifyValues(opts: Any) -> dict[str, Any]:
    """Opcode values needing more than a copy of the option."""

    templates = (opts.enabled_disk_templates.split(",")
                 if opts.enabled_disk_templates else None)
    if opts.vg_name and templates and not {"plain", "drbd"} & set(templates):
        ToStdout("You specified a volume group with --vg-name, but you did not"
                 " enable any of the following lvm-based disk templates: drbd,"
                 " plain")
    reserved_lvs = opts.reserved_lvs
    if reserved_lvs is not None:
        reserved_lvs = [lv for lv in reserved_lvs.split(",") if lv]
    netmask = opts.master_netmask
    if netmask is not None:
        try:
            netmask = int(netmask)
        except ValueError:
            raise errors.OpPrereqError(
                "The --master-netmask option expects an int parameter.",
                errors.ECODE_INVAL) from None
    tools = opts.compression_tools
    if tools is not None and not tools:
        tools = list(defaults.COMPRESSION_TOOLS)  # "" resets to the default
    enabled, intervals = _DataCollectorChanges(opts)
    ipolicy = cli.CreateIPolicyFromOpts(
        minmax_ispecs=opts.ipolicy_bounds_specs, std_ispecs=opts.ipolicy_std_specs,
        ipolicy_disk_templates=opts.ipolicy_disk_templates,
        ipolicy_vcpu_ratio=opts.ipolicy_vcpu_ratio,
        ipolicy_spindle_ratio=opts.ipolicy_spindle_ratio)
    return {
        "enabled_disk_templates": templates,
        "enabled_hypervisors": (opts.enabled_hypervisors.split(",")
                                if opts.enabled_hypervisors else None),
        "reserved_lvs": reserved_lvs, "master_netmask": netmask,
        "compression_tools": tools, "enabled_data_collectors": enabled,
        "data_collector_interval": intervals, "ipolicy": ipolicy,
        "uid_pool": _ParseUids(opts.uid_pool), "add_uids": _ParseUids(opts.add_uids),
        "remove_uids": _ParseUids(opts.remove_uids),
        "disk_state": cli.ParseDiskState(opts.disk_state) if opts.disk_state else {},
        "hv_state": dict(opts.hv_state),
        "default_iallocator_params": opts.default_iallocator_params or None,
    }


def SetClusterParams(opts: Any, args: list[str]) -> int:
    """Change the cluster's parameters (OpClusterSetParams)."""
    from ganeti import opcodes

    if not _AnyModifyOption(opts):
        ToStderr("Please give at least one of the parameters.")
        return cli.EXIT_FAILURE
    values = _ModifyValues(opts)
    values.update(_ParamDicts(opts))
    op = opcodes.OpClusterSetParams(
        vg_name=opts.vg_name, drbd_helper=opts.drbd_helper, os_hvp=None,
        candidate_pool_size=opts.candidate_pool_size,
        max_running_jobs=opts.max_running_jobs,
        max_tracked_jobs=opts.max_tracked_jobs,
        maintain_node_health=opts.maintain_node_health,
        modify_etc_hosts=opts.modify_etc_hosts,
        default_iallocator=opts.default_iallocator,
        prealloc_wipe_disks=opts.prealloc_wipe_disks, mac_prefix=opts.mac_prefix,
        master_netdev=opts.master_netdev,
        use_external_mip_script=opts.use_external_mip_script, force=opts.force,
        file_storage_dir=opts.file_storage_dir,
        shared_file_storage_dir=opts.shared_file_storage_dir,
        install_image=opts.install_image,
        instance_communication_network=opts.instance_communication_network,
        zeroing_image=opts.zeroing_image,
        enabled_user_shutdown=opts.enabled_user_shutdown, **values)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


# --- rename, redist-conf, master IP, tags ---------------------------------------


def RenameCluster(opts: Any, args: list[str]) -> int:
    """Rename the cluster (asks first unless -f)."""
    from ganeti import opcodes

    cl = cli.GetClient()
    (cluster_name,) = cl.QueryConfigValues(["cluster_name"])
    new_name = args[0]
    if not opts.force:
        question = (f"This will rename the cluster from '{cluster_name}' to"
                    f" '{new_name}'. The master IP moves to the address of the"
                    " new name; connections through the old one (yours too, if"
                    " you came that way) are cut and may not come back."
                    " Continue?")
        if not cli.AskUser(question):
            return cli.EXIT_FAILURE
    result = cli.SubmitOpCode(opcodes.OpClusterRename(name=new_name), opts=opts,
                              cl=cl)
    if result:
        ToStdout("Cluster renamed from '%s' to '%s'", cluster_name, result)
    return cli.EXIT_SUCCESS


def RedistributeConfig(opts: Any, args: list[str]) -> int:
    """Push config.data and the ancillary files to the nodes."""
    from ganeti import opcodes

    cli.SubmitOrSend(opcodes.OpClusterRedistConf(), opts)
    return cli.EXIT_SUCCESS


def ActivateMasterIp(opts: Any, args: list[str]) -> int:
    """Bring the master IP up on the master."""
    from ganeti import opcodes

    cli.SubmitOpCode(opcodes.OpClusterActivateMasterIp(), opts=opts)
    return cli.EXIT_SUCCESS


def DeactivateMasterIp(opts: Any, args: list[str]) -> int:
    """Take the master IP down (asks first unless --yes)."""
    from ganeti import opcodes

    if not opts.confirm:
        question = ("This will remove the master IP: every connection to it is"
                    " closed, and the master can then only be reached through"
                    " its own node address. Continue?")
        if not cli.AskUser(question):
            return cli.EXIT_FAILURE
    cli.SubmitOpCode(opcodes.OpClusterDeactivateMasterIp(), opts=opts)
    return cli.EXIT_SUCCESS


def SearchTags(opts: Any, args: list[str]) -> int:
    """Print "<path> <tag>" for every tag matching the pattern (a regex)."""
    from ganeti import opcodes

    result = cli.SubmitOpCode(opcodes.OpTagsSearch(pattern=args[0]), opts=opts)
    if not result:
        return cli.EXIT_FAILURE
    for path, tag in sorted(result):
        ToStdout("%s %s", path, tag)
    return cli.EXIT_SUCCESS


# --- master failover --------------------------------------------------------------


def MasterFailover(opts: Any, args: list[str]) -> int:
    """Make this node the master (run on the future master, masterd not needed).

    Without --no-voting more than half of the nodes must answer the master
    vote; with it, the operator confirms (or gives --yes-do-it).
    """
    from ganeti import failover

    if opts.no_voting:
        if not opts.yes_do_it:
            question = ("Without voting, this node takes over even if most other"
                        " nodes are down or see another master. If the old master"
                        " still runs somewhere, the cluster ends up with two"
                        " masters and loses data; see gnt-cluster(8) first."
                        " Continue?")
            if not cli.AskUser(question):
                return cli.EXIT_FAILURE
    else:
        healthy, silent = failover.MajorityHealthy(opts.ignore_offline_nodes)
        if not healthy:
            ToStderr("A master failover with voting needs more than half of the"
                     " nodes to answer; these did not: %s. If you are sure the"
                     " old master is down for good (no two masters may run), use"
                     " --no-voting.", ", ".join(silent))
            return cli.EXIT_FAILURE
    rcode, warnings = failover.MasterFailover(no_voting=opts.no_voting)
    for warning in warnings:
        ToStderr(warning)
    return rcode
