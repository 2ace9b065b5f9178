"""gnt-instance: create, list, inspect, run, change, move and remove instances.

Commands, options, messages and output as Ganeti 3.0's gnt-instance
(spec/cli.md, samples/gnt-instance-*.txt, luxi-instance-*.txt). Every command
builds opcodes and submits them to the master daemon (the logical units do
the work); "list" is a LUXI "instance" query and "info" the result of
OP_INSTANCE_QUERY_DATA. The bigger commands live in helper modules:
gnt_instance_create (add, batch-create), gnt_instance_info (info),
gnt_instance_console (console), gnt_instance_modify (modify and the disk
commands).

startup, shutdown, reboot and reinstall act on several instances at once when
a selection option names them (--node, --primary, --secondary, --all,
--tags, --node-tags, ...): one job per instance, after a confirmation that
--force-multiple skips.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from typing import Any

from ganeti import cli, errors, opcodes_base
from ganeti.cli import (
    ABSOLUTE_OPT,
    ALL_OPT,
    ALLOW_FAILOVER_OPT,
    ARGS_MANY_INSTANCES,
    ARGS_ONE_INSTANCE,
    BACKEND_OPT,
    CLEANUP_OPT,
    COMMIT_OPT,
    COMMON_CREATE_OPTS,
    COMPRESS_OPT,
    DISK_OPT,
    DISK_TEMPLATE_OPT,
    DRY_RUN_OPT,
    DST_NODE_OPT,
    EARLY_RELEASE_OPT,
    EXT_PARAMS_OPT,
    FIELDS_OPT,
    FILESTORE_DIR_OPT,
    FILESTORE_DRIVER_OPT,
    FORCE_FILTER_OPT,
    FORCE_OPT,
    FORCE_VARIANT_OPT,
    FORTHCOMING_OPT,
    HELPER_SHUTDOWN_TIMEOUT_OPT,
    HELPER_STARTUP_TIMEOUT_OPT,
    HOTPLUG_IF_POSSIBLE_OPT,
    HOTPLUG_OPT,
    HVOPTS_OPT,
    IALLOCATOR_OPT,
    IGNORE_CONSIST_OPT,
    IGNORE_FAILURES_OPT,
    IGNORE_HVVERSIONS_OPT,
    IGNORE_IPOLICY_OPT,
    IGNORE_OFFLINE_OPT,
    IGNORE_SECONDARIES_OPT,
    IGNORE_SIZE_OPT,
    INSTANCE_COMMUNICATION_OPT,
    IPCHECK_OPT,
    MIGRATION_MODE_OPT,
    NAMECHECK_OPT,
    NET_OPT,
    NEW_PRIMARY_OPT,
    NO_INSTALL_OPT,
    NO_REMEMBER_OPT,
    NOCONFLICTSCHECK_OPT,
    NODE_PLACEMENT_OPT,
    NOHDR_OPT,
    NOHOTPLUG_OPT,
    NOIPCHECK_OPT,
    NONAMECHECK_OPT,
    NONLIVE_OPT,
    NORUNTIME_CHGS_OPT,
    NOSTART_OPT,
    NWSYNC_OPT,
    OFFLINE_INST_OPT,
    ONLINE_INST_OPT,
    OS_OPT,
    OSPARAMS_OPT,
    OSPARAMS_PRIVATE_OPT,
    OSPARAMS_SECRET_OPT,
    PRIORITY_OPT,
    REBOOT_TYPE_OPT,
    ROMAN_OPT,
    RUNTIME_MEM_OPT,
    SELECT_OS_OPT,
    SEP_OPT,
    SHOWCMD_OPT,
    SHUTDOWN_TIMEOUT_OPT,
    SINGLE_NODE_OPT,
    STARTUP_PAUSED_OPT,
    STATIC_OPT,
    SUBMIT_OPTS,
    TAG_SRC_OPT,
    TIMEOUT_OPT,
    TO_GROUP_OPT,
    USEUNITS_OPT,
    VERBOSE_OPT,
    WFSYNC_OPT,
    ArgFile,
    ArgHost,
    ArgInstance,
    ArgUnknown,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.utils.text import CommaJoin

QR_INSTANCE = "instance"

#: Commands living in the gnt_instance_* modules, imported when run (not at
#: start-up: `gnt-instance list` needs none of them).
_LAZY_COMMANDS = {
    "ConnectToInstanceConsole": "gnt_instance_console",
    "AddInstance": "gnt_instance_create",
    "BatchCreate": "gnt_instance_create",
    "ShowInstanceConfig": "gnt_instance_info",
    "ActivateDisks": "gnt_instance_modify",
    "DeactivateDisks": "gnt_instance_modify",
    "GrowDisk": "gnt_instance_modify",
    "RecreateDisks": "gnt_instance_modify",
    "SetInstanceParams": "gnt_instance_modify",
}


def _LoadCommand(name: str) -> Callable[[Any, list[str]], int]:
    """The command function name of its gnt_instance_* module, imported now."""
    module = importlib.import_module(f"ganeti.client.{_LAZY_COMMANDS[name]}")
    return getattr(module, name)


def _Lazy(name: str) -> Callable[[Any, list[str]], int]:
    """A command function that imports its module on the first call."""

    def _Run(opts: Any, args: list[str]) -> int:
        return _LoadCommand(name)(opts, args)

    _Run.__name__ = _Run.__qualname__ = name
    return _Run


class _LazyOpcodes:
    """ganeti.opcodes, imported on first use (`gnt-instance list` needs none)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("ganeti.opcodes"), name)


opcodes = _LazyOpcodes()


def __getattr__(name: str) -> Any:
    """gnt_instance.AddInstance etc. still work (PEP 562, imported on use)."""
    if name in _LAZY_COMMANDS:
        return _LoadCommand(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Fields of "gnt-instance list" without -o.
_LIST_DEF_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]

#: Commands whose default arguments may come from GNT_INSTANCE_<COMMAND>.
_ENV_OVERRIDE = frozenset(["list"])

#: List fields whose values are lists, shown comma-separated.
_LIST_FIELDS_JOINED = ["tags", "disk.sizes", "nic.macs", "nic.ips", "nic.modes",
                       "nic.links", "nic.bridges", "nic.networks", "snodes",
                       "snodes.group", "snodes.group.uuid"]

# How mass operations select their instances (the option sets multi_mode).
_EXPAND_CLUSTER = "cluster"
_EXPAND_NODES_BOTH = "nodes"
_EXPAND_NODES_PRI = "nodes-pri"
_EXPAND_NODES_SEC = "nodes-sec"
_EXPAND_NODES_BOTH_BY_TAGS = "nodes-by-tags"
_EXPAND_NODES_PRI_BY_TAGS = "nodes-pri-by-tags"
_EXPAND_NODES_SEC_BY_TAGS = "nodes-sec-by-tags"
_EXPAND_INSTANCES = "instances"
_EXPAND_INSTANCES_BY_TAGS = "instances-by-tags"

_EXPAND_NODES_TAGS_MODES = frozenset([_EXPAND_NODES_BOTH_BY_TAGS,
                                      _EXPAND_NODES_PRI_BY_TAGS,
                                      _EXPAND_NODES_SEC_BY_TAGS])
_EXPAND_NODES_MODES = frozenset([_EXPAND_NODES_BOTH, _EXPAND_NODES_PRI,
                                 _EXPAND_NODES_SEC]) | _EXPAND_NODES_TAGS_MODES
# Which of (primary, secondary) instances a node mode selects.
_NODE_MODE_ROLES = {
    _EXPAND_NODES_BOTH: (True, True), _EXPAND_NODES_BOTH_BY_TAGS: (True, True),
    _EXPAND_NODES_PRI: (True, False), _EXPAND_NODES_PRI_BY_TAGS: (True, False),
    _EXPAND_NODES_SEC: (False, True), _EXPAND_NODES_SEC_BY_TAGS: (False, True),
}

_HT_MIGRATION_NONLIVE = "non-live"


# --- selecting instances ---------------------------------------------------------


def _NoNames(what: str) -> errors.OpPrereqError:
    return errors.OpPrereqError(f"No {what} passed", errors.ECODE_INVAL)


def _ExpandNodes(mode: str, names: list[str], client: Any) -> list[str]:
    """The instances of the named (or tagged) nodes, per the node mode.

    Raises:
      errors.OpPrereqError: no node names or tags given.
    """
    if mode in _EXPAND_NODES_TAGS_MODES:
        if not names:
            raise _NoNames("node tags")
        ndata = client.QueryNodes([], ["name", "pinst_list", "sinst_list",
                                       "tags"], False)
        ndata = [row for row in ndata if set(row[3]).intersection(names)]
    else:
        if not names:
            raise _NoNames("node names")
        ndata = client.QueryNodes(names, ["name", "pinst_list", "sinst_list"],
                                  False)
    (primary, secondary) = _NODE_MODE_ROLES[mode]
    inames: list[str] = []
    if primary:
        inames += itertools.chain.from_iterable(row[1] for row in ndata)
    if secondary:
        inames += itertools.chain.from_iterable(row[2] for row in ndata)
    return inames


def ExpandMultiNames(mode: str, names: list[str], client: Any = None) -> list[str]:
    """The instance names a selection mode and its arguments stand for.

    Args:
      mode: one of the _EXPAND_* modes (--all, --node, --tags, ...).
      names: instance names, node names or tags, per mode (none for --all).
      client: the LUXI client to query with.

    Raises:
      errors.OpPrereqError: arguments missing (or given to --all), or an
        unknown mode.
    """
    if client is None:
        client = cli.GetClient(query=True)
    if mode == _EXPAND_CLUSTER:
        if names:
            raise errors.OpPrereqError("Cluster filter mode takes no arguments",
                                       errors.ECODE_INVAL)
        return [row[0] for row in client.QueryInstances([], ["name"], False)]
    if mode in _EXPAND_NODES_MODES:
        return _ExpandNodes(mode, names, client)
    if mode == _EXPAND_INSTANCES:
        if not names:
            raise _NoNames("instance names")
        return [row[0] for row in client.QueryInstances(names, ["name"], False)]
    if mode == _EXPAND_INSTANCES_BY_TAGS:
        if not names:
            raise _NoNames("instance tags")
        idata = client.QueryInstances([], ["name", "tags"], False)
        return [row[0] for row in idata if set(row[1]).intersection(names)]
    raise errors.OpPrereqError(f"Unknown mode '{mode}'", errors.ECODE_INVAL)


def _EnsureInstancesExist(client: Any, names: list[str]) -> None:
    """Raise unless every named instance exists.

    Raises:
      errors.OpPrereqError: an instance does not exist.
    """
    result = client.QueryInstances(names, ["name"], False)
    for orig_name, row in zip(names, result):
        if row[0] is None:
            raise errors.OpPrereqError(f"Instance '{orig_name}' does not exist",
                                       errors.ECODE_NOENT)


def GenericManyOps(operation: str, fn: Callable[[str, Any], Any],
                   ) -> Callable[[Any, list[str]], int]:
    """A command running fn's opcode on every selected instance.

    One job per instance; with more than one instance (or a selection other
    than names) the user confirms first unless --force-multiple.
    """
    def RealFn(opts: Any, args: list[str]) -> int:
        if opts.multi_mode is None:
            opts.multi_mode = _EXPAND_INSTANCES
        cl = cli.GetClient()
        inames = ExpandMultiNames(opts.multi_mode, args, client=cl)
        if not inames:
            if opts.multi_mode == _EXPAND_CLUSTER:
                ToStdout("Cluster is empty, no instances to shutdown")
                return cli.EXIT_SUCCESS
            raise errors.OpPrereqError("Selection filter does not match any"
                                       " instances", errors.ECODE_INVAL)
        multi_on = opts.multi_mode != _EXPAND_INSTANCES or len(inames) > 1
        if (multi_on and not opts.force_multi
                and not cli.ConfirmOperation(inames, "instances", operation)):
            return cli.EXIT_FAILURE
        jex = cli.JobExecutor(verbose=multi_on, cl=cl, opts=opts)
        for name in inames:
            jex.QueueJob(name, fn(name, opts))
        results = jex.WaitOrShow(not opts.submit_only)
        return int(not all(row[0] for row in results))
    RealFn.__doc__ = f"gnt-instance {operation} of the selected instances."
    return RealFn


# --- list ---------------------------------------------------------------------


def _JoinValues(value: Any) -> str:
    return ",".join(str(item) for item in value)


def ListInstances(opts: Any, args: list[str]) -> int:
    """gnt-instance list: the instances and their status as a table."""
    selected_fields = cli.ParseFields(opts.output, _LIST_DEF_FIELDS)
    fmtoverride = dict.fromkeys(_LIST_FIELDS_JOINED, (_JoinValues, False))
    return cli.GenericList(QR_INSTANCE, selected_fields, args, opts.units,
                           opts.separator, not opts.no_headers,
                           cl=cli.GetClient(query=True),
                           format_override=fmtoverride, verbose=opts.verbose,
                           force_filter=opts.force_filter)


def ListInstanceFields(opts: Any, args: list[str]) -> int:
    """gnt-instance list-fields: the fields of the instance query."""
    return cli.GenericListFields(QR_INSTANCE, args, opts.separator,
                                 not opts.no_headers)


# --- single-instance commands ---------------------------------------------------


def RemoveInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance remove: shut an instance down and remove it with its disks."""
    instance_name = args[0]
    cl = cli.GetClient()
    if not opts.force:
        _EnsureInstancesExist(cl, [instance_name])
        if not cli.AskUser(f"This will remove the volumes of the instance"
                           f" {instance_name} (including mirrors), thus"
                           " removing all the data of the instance. Continue?"):
            return cli.EXIT_FAILURE
    op = opcodes.OpInstanceRemove(instance_name=instance_name,
                                  ignore_failures=opts.ignore_failures,
                                  shutdown_timeout=opts.shutdown_timeout)
    cli.SubmitOrSend(op, opts, cl=cl)
    return cli.EXIT_SUCCESS


def RenameInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance rename <old> <new>; without the name check, ask first."""
    if not opts.name_check and not cli.AskUser(
            "As you disabled the check of the DNS entry, please verify that"
            f" '{args[1]}' is a FQDN. Continue?"):
        return cli.EXIT_FAILURE
    op = opcodes.OpInstanceRename(instance_name=args[0], new_name=args[1],
                                  ip_check=opts.ip_check,
                                  name_check=opts.name_check)
    result = cli.SubmitOrSend(op, opts)
    if result:
        ToStdout("Instance '%s' renamed to '%s'", args[0], result)
    return cli.EXIT_SUCCESS


def _SelectOs(opts: Any, cl: Any) -> str | None:
    """Let the user pick an OS (--select-os); None when aborted."""
    op = opcodes.OpOsDiagnose(output_fields=["name", "variants"], names=[])
    result = cli.SubmitOpCode(op, cl=cl, opts=opts)
    if not result:
        ToStdout("Can't get the OS list")
        return None
    ToStdout("Available OS templates:")
    choices: list[tuple[str, Any, str]] = []
    for (name, variants) in result:
        for entry in cli.CalculateOSNames(name, variants):
            ToStdout("%3s: %s", len(choices), entry)
            choices.append((str(len(choices)), entry, entry))
    choices.append(("x", "exit", "Exit gnt-instance reinstall"))
    selected = cli.AskUser("Enter OS template number (or x to abort):", choices)
    if selected == "exit":
        ToStderr("User aborted reinstall, exiting")
        return None
    return selected


def _ConfirmReinstall(opts: Any, inames: list[str], multi_on: bool,
                      os_msg: str) -> bool:
    # Several instances need --force-multiple; one needs --force (or the
    # stronger --force-multiple).
    if multi_on:
        return opts.force_multi or cli.ConfirmOperation(
            inames, "instances", "reinstall",
            extra=(f"Note: this will remove *all* data for the below instances!"
                   f" It will {os_msg}.\n"))
    return opts.force or opts.force_multi or cli.AskUser(
        f"This will reinstall the instance '{inames[0]}' (and {os_msg}) which"
        " removes all data. Continue?")


def ReinstallInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance reinstall: reinstall the OS of (stopped) instances."""
    if opts.multi_mode is None:
        opts.multi_mode = _EXPAND_INSTANCES
    cl = cli.GetClient()
    inames = ExpandMultiNames(opts.multi_mode, args, client=cl)
    if not inames:
        raise errors.OpPrereqError("Selection filter does not match any"
                                   " instances", errors.ECODE_INVAL)
    if opts.select_os:
        os_name = _SelectOs(opts, cl)
        if os_name is None:
            return cli.EXIT_FAILURE
    else:
        os_name = opts.os
    os_msg = (f"change the OS to '{os_name}'" if os_name is not None
              else "keep the same OS")
    multi_on = opts.multi_mode != _EXPAND_INSTANCES or len(inames) > 1
    if not _ConfirmReinstall(opts, inames, multi_on, os_msg):
        return cli.EXIT_FAILURE
    jex = cli.JobExecutor(verbose=multi_on, cl=cl, opts=opts)
    for instance_name in inames:
        jex.QueueJob(instance_name, opcodes.OpInstanceReinstall(
            instance_name=instance_name, os_type=os_name,
            force_variant=opts.force_variant, osparams=opts.osparams,
            osparams_private=opts.osparams_private,
            osparams_secret=opts.osparams_secret))
    results = jex.WaitOrShow(not opts.submit_only)
    return cli.EXIT_SUCCESS if all(row[0] for row in results) else cli.EXIT_FAILURE


def _StartupInstance(name: str, opts: Any) -> Any:
    """The opcode starting one instance (-H/-B only if given: temporary)."""
    op = opcodes.OpInstanceStartup(instance_name=name, force=opts.force,
                                   ignore_offline_nodes=opts.ignore_offline,
                                   no_remember=opts.no_remember,
                                   startup_paused=opts.startup_paused)
    if opts.hvparams:
        op.hvparams = opts.hvparams
    if opts.beparams:
        op.beparams = opts.beparams
    return op


def _RebootInstance(name: str, opts: Any) -> Any:
    return opcodes.OpInstanceReboot(instance_name=name,
                                    reboot_type=opts.reboot_type,
                                    ignore_secondaries=opts.ignore_secondaries,
                                    shutdown_timeout=opts.shutdown_timeout)


def _ShutdownInstance(name: str, opts: Any) -> Any:
    return opcodes.OpInstanceShutdown(instance_name=name, force=opts.force,
                                      timeout=opts.timeout,
                                      ignore_offline_nodes=opts.ignore_offline,
                                      no_remember=opts.no_remember)


def _CheckTargetChoice(opts: Any) -> None:
    if opts.iallocator and opts.dst_node:
        raise errors.OpPrereqError("Specify either an iallocator (-I), or a"
                                   " target node (-n) but not both",
                                   errors.ECODE_INVAL)


def FailoverInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance failover: stop, change the primary node, start again."""
    cl = cli.GetClient()
    instance_name = args[0]
    _CheckTargetChoice(opts)
    if not opts.force:
        _EnsureInstancesExist(cl, [instance_name])
        if not cli.AskUser(f"Failover will happen to image {instance_name}."
                           " This requires a shutdown of the instance."
                           " Continue?"):
            return cli.EXIT_FAILURE
        if opts.ignore_consistency and not cli.AskUser(
                f"To failover instance {instance_name}, the source node must be"
                " marked offline first. Is this already the case?"):
            return cli.EXIT_FAILURE
    op = opcodes.OpInstanceFailover(instance_name=instance_name,
                                    ignore_consistency=opts.ignore_consistency,
                                    shutdown_timeout=opts.shutdown_timeout,
                                    iallocator=opts.iallocator,
                                    target_node=opts.dst_node,
                                    ignore_ipolicy=opts.ignore_ipolicy,
                                    cleanup=opts.cleanup)
    cli.SubmitOrSend(op, opts, cl=cl)
    return cli.EXIT_SUCCESS


def MigrationMode(opts: Any) -> str | None:
    """The migration mode of --non-live / --migration-mode (None: default).

    Raises:
      errors.OpPrereqError: both options given.
    """
    if not opts.live and opts.migration_mode is not None:
        raise errors.OpPrereqError("Only one of the --non-live and"
                                   " --migration-mode options can be passed",
                                   errors.ECODE_INVAL)
    return _HT_MIGRATION_NONLIVE if not opts.live else opts.migration_mode


def MigrateInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance migrate: move a running instance without stopping it."""
    cl = cli.GetClient()
    instance_name = args[0]
    _CheckTargetChoice(opts)
    if not opts.force:
        _EnsureInstancesExist(cl, [instance_name])
        if opts.cleanup:
            text = (f"Instance {instance_name} will be recovered from a failed"
                    " migration. Note that the migration procedure (including"
                    " cleanup)")
        else:
            text = (f"Instance {instance_name} will be migrated. Note that"
                    " migration")
        if not cli.AskUser(text + " might impact the instance if anything goes"
                           " wrong (e.g. due to bugs in the hypervisor)."
                           " Continue?"):
            return cli.EXIT_FAILURE
    op = opcodes.OpInstanceMigrate(instance_name=instance_name,
                                   mode=MigrationMode(opts),
                                   cleanup=opts.cleanup,
                                   iallocator=opts.iallocator,
                                   target_node=opts.dst_node,
                                   allow_failover=opts.allow_failover,
                                   allow_runtime_changes=opts.allow_runtime_chgs,
                                   ignore_ipolicy=opts.ignore_ipolicy,
                                   ignore_hvversions=opts.ignore_hvversions)
    cli.SubmitOrSend(op, cl=cl, opts=opts)
    return cli.EXIT_SUCCESS


def MoveInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance move: copy a stopped instance's disks to another node."""
    cl = cli.GetClient()
    instance_name = args[0]
    if not opts.force and not cli.AskUser(
            f"Instance {instance_name} will be moved. This requires a shutdown"
            " of the instance. Continue?"):
        return cli.EXIT_FAILURE
    op = opcodes.OpInstanceMove(instance_name=instance_name,
                                target_node=opts.node, compress=opts.compress,
                                shutdown_timeout=opts.shutdown_timeout,
                                ignore_consistency=opts.ignore_consistency,
                                ignore_ipolicy=opts.ignore_ipolicy)
    cli.SubmitOrSend(op, opts, cl=cl)
    return cli.EXIT_SUCCESS


def ChangeGroup(opts: Any, args: list[str]) -> int:
    """gnt-instance change-group: move an instance to another node group."""
    (instance_name,) = args
    cl = cli.GetClient()
    op = opcodes.OpInstanceChangeGroup(instance_name=instance_name,
                                       iallocator=opts.iallocator,
                                       target_groups=opts.to,
                                       early_release=opts.early_release)
    result = cli.SubmitOrSend(op, opts, cl=cl)
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for (status, job_id) in result[opcodes_base.JOB_IDS_KEY]:
        jex.AddJobId(None, status, job_id)
    bad_cnt = len([row for row in jex.GetResults() if not row[0]])
    if bad_cnt:
        ToStdout("There were %s errors while changing group of instance '%s'.",
                 bad_cnt, instance_name)
        return cli.EXIT_FAILURE
    ToStdout("Instance '%s' changed group successfully.", instance_name)
    return cli.EXIT_SUCCESS


# --- command table ---------------------------------------------------------------

def _Mode(flag: str, mode: str, text: str) -> Any:
    return cli_option(flag, dest="multi_mode", const=mode, action="store_const",
                      help=text)


m_force_multi = cli_option("--force-multiple", dest="force_multi", default=False,
                           action="store_true",
                           help="Do not ask for confirmation when more than one"
                           " instance is affected")
m_pri_node_opt = _Mode("--primary", _EXPAND_NODES_PRI,
                       "Filter by nodes (primary only)")
m_sec_node_opt = _Mode("--secondary", _EXPAND_NODES_SEC,
                       "Filter by nodes (secondary only)")
m_node_opt = _Mode("--node", _EXPAND_NODES_BOTH,
                   "Filter by nodes (primary and secondary)")
m_clust_opt = _Mode("--all", _EXPAND_CLUSTER, "Select all instances in the cluster")
m_inst_opt = _Mode("--instance", _EXPAND_INSTANCES,
                   "Filter by instance name [default]")
m_node_tags_opt = _Mode("--node-tags", _EXPAND_NODES_BOTH_BY_TAGS,
                        "Filter by node tag")
m_pri_node_tags_opt = _Mode("--pri-node-tags", _EXPAND_NODES_PRI_BY_TAGS,
                            "Filter by primary node tag")
m_sec_node_tags_opt = _Mode("--sec-node-tags", _EXPAND_NODES_SEC_BY_TAGS,
                            "Filter by secondary node tag")
m_inst_tags_opt = _Mode("--tags", _EXPAND_INSTANCES_BY_TAGS,
                        "Filter by instance tag")

_SELECTION_OPTS = [m_node_opt, m_pri_node_opt, m_sec_node_opt, m_clust_opt,
                   m_inst_opt, m_node_tags_opt, m_pri_node_tags_opt,
                   m_sec_node_tags_opt, m_inst_tags_opt]

_ADD_OPTS = [FORTHCOMING_OPT, COMMIT_OPT, NOSTART_OPT, OS_OPT, FORCE_VARIANT_OPT,
             NO_INSTALL_OPT, IGNORE_IPOLICY_OPT, INSTANCE_COMMUNICATION_OPT,
             HELPER_STARTUP_TIMEOUT_OPT, HELPER_SHUTDOWN_TIMEOUT_OPT]

_MODIFY_OPTS = (
    [BACKEND_OPT, DISK_OPT, FORCE_OPT, HVOPTS_OPT, NET_OPT] + SUBMIT_OPTS
    + [DISK_TEMPLATE_OPT, SINGLE_NODE_OPT, IALLOCATOR_OPT, OS_OPT,
       FORCE_VARIANT_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, DRY_RUN_OPT,
       PRIORITY_OPT, NWSYNC_OPT, OFFLINE_INST_OPT, ONLINE_INST_OPT,
       IGNORE_IPOLICY_OPT, RUNTIME_MEM_OPT, NOCONFLICTSCHECK_OPT,
       NEW_PRIMARY_OPT, HOTPLUG_OPT, HOTPLUG_IF_POSSIBLE_OPT, NOHOTPLUG_OPT,
       INSTANCE_COMMUNICATION_OPT, EXT_PARAMS_OPT, FILESTORE_DRIVER_OPT,
       FILESTORE_DIR_OPT])

_ONE_INSTANCE_TAGS = [ArgInstance(min=1, max=1), ArgUnknown()]

commands: dict[str, Any] = {
    "add": (
        _Lazy("AddInstance"), [ArgHost(min=1, max=1)], COMMON_CREATE_OPTS + _ADD_OPTS,
        "[...] -t disk-type -n node[:secondary-node] -o os-type <instance-name>",
        "Creates and adds a new instance to the cluster"),
    "batch-create": (
        _Lazy("BatchCreate"), [ArgFile(min=1, max=1)],
        [DRY_RUN_OPT, PRIORITY_OPT, IALLOCATOR_OPT] + SUBMIT_OPTS,
        "<instances.json>",
        "Create a bunch of instances based on specs in the file."),
    "console": (
        _Lazy("ConnectToInstanceConsole"), ARGS_ONE_INSTANCE,
        [SHOWCMD_OPT, PRIORITY_OPT],
        "[--show-cmd] <instance-name>",
        "Opens a console on the specified instance"),
    "failover": (
        FailoverInstance, ARGS_ONE_INSTANCE,
        [FORCE_OPT, IGNORE_CONSIST_OPT] + SUBMIT_OPTS
        + [SHUTDOWN_TIMEOUT_OPT, DRY_RUN_OPT, PRIORITY_OPT, DST_NODE_OPT,
           IALLOCATOR_OPT, IGNORE_IPOLICY_OPT, CLEANUP_OPT],
        "[-f] <instance-name>",
        "Stops the instance, changes its primary node and (if it was"
        " originally running) starts it on the new node (the secondary for"
        " mirrored instances or any node for shared storage)."),
    "migrate": (
        MigrateInstance, ARGS_ONE_INSTANCE,
        [FORCE_OPT, NONLIVE_OPT, MIGRATION_MODE_OPT, CLEANUP_OPT, DRY_RUN_OPT,
         PRIORITY_OPT, DST_NODE_OPT, IALLOCATOR_OPT, ALLOW_FAILOVER_OPT,
         IGNORE_IPOLICY_OPT, IGNORE_HVVERSIONS_OPT, NORUNTIME_CHGS_OPT]
        + SUBMIT_OPTS,
        "[-f] <instance-name>",
        "Migrate instance to its secondary node (only for mirrored instances)"),
    "move": (
        MoveInstance, ARGS_ONE_INSTANCE,
        [FORCE_OPT] + SUBMIT_OPTS
        + [SINGLE_NODE_OPT, COMPRESS_OPT, SHUTDOWN_TIMEOUT_OPT, DRY_RUN_OPT,
           PRIORITY_OPT, IGNORE_CONSIST_OPT, IGNORE_IPOLICY_OPT],
        "[-f] <instance-name>",
        "Move instance to an arbitrary node (only for instances of type file"
        " and lv)"),
    "info": (
        _Lazy("ShowInstanceConfig"), ARGS_MANY_INSTANCES,
        [STATIC_OPT, ALL_OPT, ROMAN_OPT, PRIORITY_OPT],
        "[-s] {--all | <instance-name>...}",
        "Show information on the specified instance(s)"),
    "list": (
        ListInstances, ARGS_MANY_INSTANCES,
        [NOHDR_OPT, SEP_OPT, USEUNITS_OPT, FIELDS_OPT, VERBOSE_OPT,
         FORCE_FILTER_OPT],
        "[<instance-name>...]",
        "Lists the instances and their status. The available fields can be"
        " shown using the \"list-fields\" command (see the man page for"
        " details). The default field list is (in order):"
        f" {CommaJoin(_LIST_DEF_FIELDS)}."),
    "list-fields": (
        ListInstanceFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT],
        "[fields...]", "Lists all available fields for instances"),
    "reinstall": (
        ReinstallInstance, [ArgInstance()],
        [FORCE_OPT, OS_OPT, FORCE_VARIANT_OPT, m_force_multi] + _SELECTION_OPTS
        + [SELECT_OS_OPT] + SUBMIT_OPTS
        + [DRY_RUN_OPT, PRIORITY_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT,
           OSPARAMS_SECRET_OPT],
        "[-f] <instance-name>", "Reinstall a stopped instance"),
    "remove": (
        RemoveInstance, ARGS_ONE_INSTANCE,
        [FORCE_OPT, SHUTDOWN_TIMEOUT_OPT, IGNORE_FAILURES_OPT] + SUBMIT_OPTS
        + [DRY_RUN_OPT, PRIORITY_OPT],
        "[-f] <instance-name>", "Shuts down the instance and removes it"),
    "rename": (
        RenameInstance, [ArgInstance(min=1, max=1), ArgHost(min=1, max=1)],
        [NOIPCHECK_OPT, NONAMECHECK_OPT, IPCHECK_OPT, NAMECHECK_OPT]
        + SUBMIT_OPTS + [DRY_RUN_OPT, PRIORITY_OPT],
        "<old-name> <new-name>", "Rename the instance"),
    "modify": (
        _Lazy("SetInstanceParams"), ARGS_ONE_INSTANCE, _MODIFY_OPTS,
        "<instance-name>", "Alters the parameters of an instance"),
    "shutdown": (
        GenericManyOps("shutdown", _ShutdownInstance), [ArgInstance()],
        [FORCE_OPT] + _SELECTION_OPTS + [m_force_multi, TIMEOUT_OPT]
        + SUBMIT_OPTS
        + [DRY_RUN_OPT, PRIORITY_OPT, IGNORE_OFFLINE_OPT, NO_REMEMBER_OPT],
        "<instance-name>...", "Stops one or more instances"),
    "startup": (
        GenericManyOps("startup", _StartupInstance), [ArgInstance()],
        [FORCE_OPT, m_force_multi] + _SELECTION_OPTS + SUBMIT_OPTS
        + [HVOPTS_OPT, BACKEND_OPT, DRY_RUN_OPT, PRIORITY_OPT,
           IGNORE_OFFLINE_OPT, NO_REMEMBER_OPT, STARTUP_PAUSED_OPT],
        "<instance-name>...", "Starts one or more instances"),
    "reboot": (
        GenericManyOps("reboot", _RebootInstance), [ArgInstance()],
        [m_force_multi, REBOOT_TYPE_OPT, IGNORE_SECONDARIES_OPT]
        + _SELECTION_OPTS + SUBMIT_OPTS
        + [SHUTDOWN_TIMEOUT_OPT, DRY_RUN_OPT, PRIORITY_OPT],
        "<instance-name>...", "Reboots one or more instances"),
    "activate-disks": (
        _Lazy("ActivateDisks"), ARGS_ONE_INSTANCE,
        SUBMIT_OPTS + [IGNORE_SIZE_OPT, PRIORITY_OPT, WFSYNC_OPT],
        "<instance-name>", "Activate an instance's disks"),
    "deactivate-disks": (
        _Lazy("DeactivateDisks"), ARGS_ONE_INSTANCE,
        [FORCE_OPT] + SUBMIT_OPTS + [DRY_RUN_OPT, PRIORITY_OPT],
        "[-f] <instance-name>", "Deactivate an instance's disks"),
    "recreate-disks": (
        _Lazy("RecreateDisks"), ARGS_ONE_INSTANCE,
        SUBMIT_OPTS + [DISK_OPT, NODE_PLACEMENT_OPT, DRY_RUN_OPT, PRIORITY_OPT,
                       IALLOCATOR_OPT],
        "<instance-name>", "Recreate an instance's disks"),
    "grow-disk": (
        _Lazy("GrowDisk"), [ArgInstance(min=1, max=1), ArgUnknown(min=1, max=1),
                   ArgUnknown(min=1, max=1)],
        SUBMIT_OPTS + [NWSYNC_OPT, DRY_RUN_OPT, PRIORITY_OPT, ABSOLUTE_OPT,
                       IGNORE_IPOLICY_OPT],
        "<instance-name> <disk> <size>", "Grow an instance's disk"),
    "change-group": (
        ChangeGroup, ARGS_ONE_INSTANCE,
        [TO_GROUP_OPT, IALLOCATOR_OPT, EARLY_RELEASE_OPT, PRIORITY_OPT]
        + SUBMIT_OPTS,
        "[-I <iallocator>] [--to <group>] <instance-name>",
        "Change group of instance"),
    "list-tags": (
        cli.ListTags, ARGS_ONE_INSTANCE, [],
        "<instance-name>", "List the tags of the given instance"),
    "add-tags": (
        cli.AddTags, _ONE_INSTANCE_TAGS, [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<instance-name> <tag>...", "Add tags to the given instance"),
    "remove-tags": (
        cli.RemoveTags, _ONE_INSTANCE_TAGS,
        [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<instance-name> <tag>...", "Remove tags from given instance"),
}

#: Other names of commands.
aliases = {
    "start": "startup",
    "stop": "shutdown",
    "show": "info",
}

_TAG_KIND = {"tag_type": cli.TAG_INSTANCE}


def Main() -> int:
    """Run gnt-instance with sys.argv; return the exit code."""
    return cli.GenericMain(commands, aliases=aliases, override=_TAG_KIND,
                           env_override=_ENV_OVERRIDE)
