"""gnt-node: add, list, inspect, change and remove the nodes of the cluster.

Commands, options and output as Ganeti 3.0's gnt-node (spec/cli.md,
samples/gnt-node-*.txt). "add" is implemented in gnt_node_add (SSH to the
new node), imported when the command runs; the other commands talk to the
master daemon over LUXI: list and list-fields are "node" queries, info uses
QueryNodes, modify/remove/add-tags/remove-tags submit jobs.
"""

from __future__ import annotations

import importlib
import itertools
from typing import Any

from ganeti import cli, errors, opcodes
from ganeti.cli import (
    ARGS_MANY_NODES,
    ARGS_ONE_NODE,
    DISK_STATE_OPT,
    DRY_RUN_OPT,
    DST_NODE_OPT,
    EARLY_RELEASE_OPT,
    FIELDS_OPT,
    FORCE_FILTER_OPT,
    FORCE_OPT,
    HV_STATE_OPT,
    IALLOCATOR_OPT,
    IGNORE_CONSIST_OPT,
    IGNORE_IPOLICY_OPT,
    IGNORE_SOFT_ERRORS_OPT,
    MIGRATION_MODE_OPT,
    NEW_SECONDARY_OPT,
    NONLIVE_OPT,
    NORUNTIME_CHGS_OPT,
    PRIMARY_ONLY_OPT,
    SECONDARY_ONLY_OPT,
    NODE_PARAMS_OPT,
    NODEGROUP_OPT,
    NOHDR_OPT,
    PRIORITY_OPT,
    SECONDARY_IP_OPT,
    SEP_OPT,
    SUBMIT_OPTS,
    TAG_SRC_OPT,
    USEUNITS_OPT,
    VERBOSE_OPT,
    ArgHost,
    ArgNode,
    ArgUnknown,
    NormalizeNumbers,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.utils.text import CommaJoin, NiceSort

# Node evacuation modes (Ganeti's NODE_EVAC_*) and the non-live migration mode.
_NODE_EVAC_PRI = "primary-only"
_NODE_EVAC_SEC = "secondary-only"
_NODE_EVAC_ALL = "all"
_HT_MIGRATION_NONLIVE = "non-live"
_JOB_IDS_KEY = "jobs"

QR_NODE = "node"

#: Fields of "gnt-node list" without -o.
_LIST_DEF_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree",
                    "pinst_cnt", "sinst_cnt"]

#: Commands whose default arguments may come from GNT_NODE_<COMMAND>.
_ENV_OVERRIDE = frozenset(["list"])

#: Fields of "gnt-node info", in the order ShowNodeConfig unpacks them.
_INFO_FIELDS = ["name", "pip", "sip", "pinst_list", "sinst_list",
                "master_candidate", "drained", "offline", "master_capable",
                "vm_capable", "powered", "ndparams", "custom_ndparams"]

_ADD_MODULE = "ganeti.client.gnt_node_add"

_YORNO = "yes|no"

MC_OPT = cli_option("-C", "--master-candidate", dest="master_candidate",
                    type="bool", default=None, metavar=_YORNO,
                    help="Set the master_candidate flag on the node")
DRAINED_OPT = cli_option("-D", "--drained", dest="drained", metavar=_YORNO,
                         type="bool", default=None,
                         help="Set the drained flag on the node")
OFFLINE_OPT = cli_option("-O", "--offline", dest="offline", metavar=_YORNO,
                         type="bool", default=None,
                         help="Set the offline flag on the node")
CAPAB_MASTER_OPT = cli_option("--master-capable", dest="master_capable",
                              metavar=_YORNO, type="bool", default=None,
                              help="Set the master_capable flag on the node")
CAPAB_VM_OPT = cli_option("--vm-capable", dest="vm_capable", metavar=_YORNO,
                          type="bool", default=None,
                          help="Set the vm_capable flag on the node")
AUTO_PROMOTE_OPT = cli_option("--auto-promote", dest="auto_promote",
                              action="store_true", default=False,
                              help="Automatically promote nodes to master"
                              " candidates if needed")
NODE_POWERED_OPT = cli_option("--node-powered", default=None, dest="node_powered",
                              type="bool", metavar=_YORNO,
                              help="Specify if the SoR for node is powered")

# The options of "add" while gnt_node_add is not available (spec/cli.md), so
# that the command line is still parsed and the missing module reported.
_ADD_OPTS_FALLBACK = [
    SECONDARY_IP_OPT,
    cli_option("--readd", dest="readd", default=False, action="store_true",
               help="Readd old node after replacing it"),
    cli_option("--no-ssh-key-check", dest="ssh_key_check", default=True,
               action="store_false", help="Disable SSH key fingerprint checking"),
    cli_option("--force-join", dest="force_join", default=False,
               action="store_true", help="Force the joining of a node"),
    cli_option("--no-node-setup", default=True, action="store_false",
               dest="node_setup", help="Do not make initial SSH setup on"
               " remote node (needs to be done manually)"),
    VERBOSE_OPT, NODEGROUP_OPT, PRIORITY_OPT, CAPAB_MASTER_OPT, CAPAB_VM_OPT,
    NODE_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT,
]
_ADD_ARGS_FALLBACK = [ArgHost(min=1, max=1)]
_ADD_USAGE_FALLBACK = ("[-s ip] [-g group] [--readd] [--no-ssh-key-check]"
                       " [--force-join] [--no-node-setup] [--verbose] <node_name>")
_ADD_HELP_FALLBACK = "Add a node to the cluster"


def _LoadAddModule() -> Any:
    """The gnt_node_add module, or None when it is not installed."""
    try:
        return importlib.import_module(_ADD_MODULE)
    except ModuleNotFoundError as err:
        if err.name != _ADD_MODULE:
            raise
        return None


def _AddCommandSpec() -> tuple[list[Any], list[Any], str, str]:
    """(args, options, usage, help) of "add": gnt_node_add's or ours."""
    try:
        module = _LoadAddModule()
        if module is not None:
            return (list(module.ADD_ARGS), list(module.ADD_OPTS),
                    getattr(module, "ADD_USAGE", _ADD_USAGE_FALLBACK),
                    getattr(module, "ADD_HELP", _ADD_HELP_FALLBACK))
    except (ImportError, AttributeError):
        # Being imported from gnt_node_add itself (partially initialised),
        # or an incomplete module: AddNode reports it when run.
        pass
    return (_ADD_ARGS_FALLBACK, _ADD_OPTS_FALLBACK, _ADD_USAGE_FALLBACK,
            _ADD_HELP_FALLBACK)


def AddNode(opts: Any, args: list[str]) -> int:
    """Add a node to the cluster (gnt_node_add.AddNode, over SSH).

    Raises:
      errors.OpPrereqError: the node add module is not available.
    """
    module = _LoadAddModule()
    if module is None or not hasattr(module, "AddNode"):
        raise errors.OpPrereqError(
            f"Adding nodes is not available: the module {_ADD_MODULE} is"
            " missing from this installation", errors.ECODE_ENVIRON)
    return module.AddNode(opts, args)


def ListNodes(opts: Any, args: list[str]) -> int:
    """List nodes and their properties (default fields: _LIST_DEF_FIELDS)."""
    selected_fields = cli.ParseFields(opts.output, _LIST_DEF_FIELDS)
    fmtoverride = dict.fromkeys(["pinst_list", "sinst_list", "tags"],
                                (",".join, False))
    return cli.GenericList(QR_NODE, selected_fields, args, opts.units,
                           opts.separator, not opts.no_headers,
                           format_override=fmtoverride, verbose=opts.verbose,
                           force_filter=opts.force_filter)


def ListNodeFields(opts: Any, args: list[str]) -> int:
    """List the fields of the node query."""
    return cli.GenericListFields(QR_NODE, args, opts.separator,
                                 not opts.no_headers)


def _FormatNodeInfo(row: list[Any]) -> list[tuple[str, Any]]:
    """One node's entry of "gnt-node info", as Ganeti 3.0 orders it."""
    (name, primary_ip, secondary_ip, pinst, sinst, is_mc, drained, offline,
     master_capable, vm_capable, powered, ndparams, custom_ndparams) = row
    info: list[tuple[str, Any]] = [
        ("Node name", name),
        ("primary ip", primary_ip),
        ("secondary ip", secondary_ip),
        ("master candidate", is_mc),
        ("drained", drained),
        ("offline", offline),
    ]
    if powered is not None:
        info.append(("powered", powered))
    info.extend([("master_capable", master_capable), ("vm_capable", vm_capable)])
    if vm_capable:
        info.extend([("primary for instances", NiceSort(pinst or [])),
                     ("secondary for instances", NiceSort(sinst or []))])
    info.append(("node parameters", cli.FormatParamsDictInfo(
        NormalizeNumbers(custom_ndparams or {}), NormalizeNumbers(ndparams or {}))))
    return info


def ShowNodeConfig(opts: Any, args: list[str]) -> int:
    """Show the configuration of the given nodes (all without arguments)."""
    client = cli.GetClient(query=True)
    result = client.QueryNodes(args, _INFO_FIELDS, False)
    cli.PrintGenericInfo([_FormatNodeInfo(row) for row in result])
    return cli.EXIT_SUCCESS


def RemoveNode(opts: Any, args: list[str]) -> int:
    """Remove a node from the cluster."""
    op = opcodes.OpNodeRemove(node_name=args[0])
    cli.SubmitOpCode(op, opts=opts)
    return cli.EXIT_SUCCESS


def SetNodeParams(opts: Any, args: list[str]) -> int:
    """Change a node's role, capabilities or parameters; print the changes."""
    all_changes = [opts.master_candidate, opts.drained, opts.offline,
                   opts.master_capable, opts.vm_capable, opts.secondary_ip,
                   opts.ndparams, opts.node_powered]
    if (all_changes.count(None) == len(all_changes)
            and not (opts.hv_state or opts.disk_state)):
        ToStderr("Please give at least one of the parameters.")
        return cli.EXIT_FAILURE
    op = opcodes.OpNodeSetParams(
        node_name=args[0], master_candidate=opts.master_candidate,
        offline=opts.offline, drained=opts.drained,
        master_capable=opts.master_capable, vm_capable=opts.vm_capable,
        secondary_ip=opts.secondary_ip, force=opts.force, ndparams=opts.ndparams,
        auto_promote=opts.auto_promote, powered=opts.node_powered,
        hv_state=dict(opts.hv_state) or None,
        disk_state=cli.ParseDiskState(opts.disk_state) or None)
    # The result is shown even though --submit is allowed (as Ganeti).
    result = cli.SubmitOrSend(op, opts)
    if result:
        ToStdout("Modified node %s", args[0])
        for param, data in result:
            ToStdout(" - %-5s -> %s", param, data)
    return cli.EXIT_SUCCESS


# --- moving the instances of a node ---------------------------------------------


def _FollowJobs(cl: Any, opts: Any, result: Any) -> int:
    """Wait for the jobs an opcode result lists; return how many failed."""
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for (status, job_id) in result[_JOB_IDS_KEY]:
        jex.AddJobId(None, status, job_id)
    return len([row for row in jex.GetResults() if not row[0]])


def _EvacuationMode(opts: Any) -> str:
    """The evacuation mode of -p/-s (a new secondary means -s).

    Raises:
      errors.OpPrereqError: both -p and -s given.
    """
    if opts.dst_node is not None:
        ToStderr("New secondary node given (disabling iallocator), hence"
                 " evacuating secondary instances only.")
        opts.secondary_only = True
        opts.primary_only = False
    if opts.secondary_only and opts.primary_only:
        raise errors.OpPrereqError("Only one of the --primary-only and"
                                   " --secondary-only options can be passed",
                                   errors.ECODE_INVAL)
    if opts.primary_only:
        return _NODE_EVAC_PRI
    if opts.secondary_only:
        return _NODE_EVAC_SEC
    return _NODE_EVAC_ALL


def EvacuateNode(opts: Any, args: list[str]) -> int:
    """Move the primary and/or secondary instances away from a node."""
    mode = _EvacuationMode(opts)
    fields = []
    if not opts.secondary_only:
        fields.append("pinst_list")
    if not opts.primary_only:
        fields.append("sinst_list")
    cl = cli.GetClient()
    rows = cl.QueryNodes(args, fields, False)
    instances = set(itertools.chain.from_iterable(
        itertools.chain.from_iterable(rows)))
    if not instances:
        ToStderr("No instances to evacuate on node(s) %s, exiting.",
                 CommaJoin(args))
        return cli.EXIT_SUCCESS
    if not (opts.force or cli.AskUser(
            f"Relocate instance(s) {CommaJoin(NiceSort(instances))} from"
            f" node(s) {CommaJoin(args)}?")):
        return cli.EXIT_CONFIRMATION
    op = opcodes.OpNodeEvacuate(node_name=args[0], mode=mode,
                                remote_node=opts.dst_node,
                                iallocator=opts.iallocator,
                                early_release=opts.early_release,
                                ignore_soft_errors=opts.ignore_soft_errors or None)
    bad_cnt = _FollowJobs(cl, opts, cli.SubmitOrSend(op, opts, cl=cl))
    if bad_cnt:
        ToStdout("There were %s errors during the evacuation.", bad_cnt)
        return cli.EXIT_FAILURE
    ToStdout("All instances evacuated successfully.")
    return cli.EXIT_SUCCESS


def FailoverNode(opts: Any, args: list[str]) -> int:
    """Fail over every primary instance of a node, one job each."""
    cl = cli.GetClient()
    rows = cl.QueryNodes(args, ["name", "pinst_list"], False)
    (node, pinst) = rows[0]
    if not pinst:
        ToStderr("No primary instances on node %s, exiting.", node)
        return cli.EXIT_SUCCESS
    pinst = NiceSort(pinst)
    if not opts.force and not cli.AskUser(
            "Fail over instance(s) "
            + ",".join(f"'{name}'" for name in pinst) + "?"):
        return 2
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for iname in pinst:
        jex.QueueJob(iname, opcodes.OpInstanceFailover(
            instance_name=iname, ignore_consistency=opts.ignore_consistency,
            iallocator=opts.iallocator))
    results = jex.GetResults()
    bad_cnt = len([row for row in results if not row[0]])
    if bad_cnt:
        ToStdout("There were errors during the failover:\n"
                 "%d error(s) out of %d instance(s).", bad_cnt, len(results))
    else:
        ToStdout("All %d instance(s) failed over successfully.", len(results))
    return cli.EXIT_SUCCESS


def MigrateNode(opts: Any, args: list[str]) -> int:
    """Migrate every primary instance of a node away from it.

    Raises:
      errors.OpPrereqError: both --non-live and --migration-mode given.
    """
    cl = cli.GetClient()
    ((node, pinst),) = cl.QueryNodes(args, ["name", "pinst_list"], False)
    if not pinst:
        ToStdout("No primary instances on node %s, exiting.", node)
        return cli.EXIT_SUCCESS
    if not (opts.force or cli.AskUser(
            f"Migrate instance(s) {CommaJoin(NiceSort(pinst))}?")):
        return cli.EXIT_CONFIRMATION
    if not opts.live and opts.migration_mode is not None:
        raise errors.OpPrereqError("Only one of the --non-live and"
                                   " --migration-mode options can be passed",
                                   errors.ECODE_INVAL)
    mode = _HT_MIGRATION_NONLIVE if not opts.live else opts.migration_mode
    op = opcodes.OpNodeMigrate(node_name=args[0], mode=mode,
                               iallocator=opts.iallocator,
                               target_node=opts.dst_node,
                               allow_runtime_changes=opts.allow_runtime_chgs,
                               ignore_ipolicy=opts.ignore_ipolicy)
    bad_cnt = _FollowJobs(cl, opts, cli.SubmitOrSend(op, opts, cl=cl))
    if bad_cnt:
        ToStdout("There were %s errors during the node migration.", bad_cnt)
        return cli.EXIT_FAILURE
    ToStdout("All instances migrated successfully.")
    return cli.EXIT_SUCCESS


# --- command table -------------------------------------------------------------

_TAG_KIND = {"tag_type": cli.TAG_NODE}

_ADD_ARGS, _ADD_OPTS, _ADD_USAGE, _ADD_HELP = _AddCommandSpec()

commands: dict[str, Any] = {
    "add": (AddNode, _ADD_ARGS, _ADD_OPTS, _ADD_USAGE, _ADD_HELP),
    "evacuate": (
        EvacuateNode, ARGS_ONE_NODE,
        [FORCE_OPT, IALLOCATOR_OPT, IGNORE_SOFT_ERRORS_OPT, NEW_SECONDARY_OPT,
         EARLY_RELEASE_OPT, PRIORITY_OPT, PRIMARY_ONLY_OPT, SECONDARY_ONLY_OPT]
        + SUBMIT_OPTS,
        "[-f] {-I <iallocator> | -n <dst>} [-p | -s] [options...] <node>",
        "Relocate the primary and/or secondary instances from a node"),
    "failover": (
        FailoverNode, ARGS_ONE_NODE,
        [FORCE_OPT, IGNORE_CONSIST_OPT, IALLOCATOR_OPT, PRIORITY_OPT],
        "[-f] <node>",
        "Stops the primary instances on a node and start them on their"
        " secondary node (only for instances with drbd disk template)"),
    "migrate": (
        MigrateNode, ARGS_ONE_NODE,
        [FORCE_OPT, NONLIVE_OPT, MIGRATION_MODE_OPT, DST_NODE_OPT,
         IALLOCATOR_OPT, PRIORITY_OPT, IGNORE_IPOLICY_OPT, NORUNTIME_CHGS_OPT]
        + SUBMIT_OPTS,
        "[-f] <node>",
        "Migrate all the primary instance on a node away from it"
        " (only for instances of type drbd)"),
    "info": (
        ShowNodeConfig, ARGS_MANY_NODES, [],
        "[<node_name>...]", "Show information about the node(s)"),
    "list": (
        ListNodes, ARGS_MANY_NODES,
        [NOHDR_OPT, SEP_OPT, USEUNITS_OPT, FIELDS_OPT, VERBOSE_OPT,
         FORCE_FILTER_OPT],
        "[nodes...]",
        "Lists the nodes in the cluster. The available fields can be shown using"
        " the \"list-fields\" command (see the man page for details). The default"
        f" field list is (in order): {CommaJoin(_LIST_DEF_FIELDS)}."),
    "list-fields": (
        ListNodeFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT],
        "[fields...]", "Lists all available fields for nodes"),
    "modify": (
        SetNodeParams, ARGS_ONE_NODE,
        [FORCE_OPT] + SUBMIT_OPTS + [
            MC_OPT, DRAINED_OPT, OFFLINE_OPT, CAPAB_MASTER_OPT, CAPAB_VM_OPT,
            SECONDARY_IP_OPT, AUTO_PROMOTE_OPT, DRY_RUN_OPT, PRIORITY_OPT,
            NODE_PARAMS_OPT, NODE_POWERED_OPT, HV_STATE_OPT, DISK_STATE_OPT],
        "<node_name>", "Alters the parameters of a node"),
    "remove": (
        RemoveNode, ARGS_ONE_NODE, [DRY_RUN_OPT, PRIORITY_OPT],
        "<node_name>", "Removes a node from the cluster"),
    "list-tags": (
        cli.ListTags, ARGS_ONE_NODE, [],
        "<node_name>", "List the tags of the given node"),
    "add-tags": (
        cli.AddTags, [ArgNode(min=1, max=1), ArgUnknown()],
        [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<node_name> tag...", "Add tags to the given node"),
    "remove-tags": (
        cli.RemoveTags, [ArgNode(min=1, max=1), ArgUnknown()],
        [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<node_name> tag...", "Remove tags from the given node"),
}

#: Other names of commands.
aliases = {
    "show": "info",
}


def Main() -> int:
    """Run gnt-node with sys.argv; return the exit code."""
    return cli.GenericMain(commands, override=_TAG_KIND, aliases=aliases,
                           env_override=_ENV_OVERRIDE)
