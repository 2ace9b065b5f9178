"""gnt-group: create, list, inspect, change and remove node groups.

Commands, options and output as Ganeti 3.0's gnt-group (spec/cli.md,
samples/gnt-group-list.txt). Changes go to the master daemon as jobs
(OP_GROUP_ADD, OP_GROUP_REMOVE, OP_GROUP_RENAME, OP_GROUP_ASSIGN_NODES,
OP_GROUP_SET_PARAMS, OP_TAGS_*); list, list-fields, info and
show-ispecs-cmd are LUXI queries ("group" resource, QueryGroups).
"""

from __future__ import annotations

import io
from typing import Any

from ganeti import cli, constants, defaults
from ganeti.cli import (
    ARGS_MANY_GROUPS,
    ARGS_MANY_NODES,
    ARGS_ONE_GROUP,
    DISK_PARAMS_OPT,
    DISK_STATE_OPT,
    DRY_RUN_OPT,
    FIELDS_OPT,
    FORCE_FILTER_OPT,
    FORCE_OPT,
    HV_STATE_OPT,
    INSTANCE_POLICY_OPTS,
    IPOLICY_BOUNDS_SPECS_STR,
    IPOLICY_STD_SPECS_STR,
    NODE_PARAMS_OPT,
    NOHDR_OPT,
    PRIORITY_OPT,
    SEP_OPT,
    SUBMIT_OPTS,
    TAG_SRC_OPT,
    VERBOSE_OPT,
    ArgGroup,
    ArgUnknown,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.utils.text import CommaJoin

QR_GROUP = "group"

#: Fields of "gnt-group list" without -o.
_LIST_DEF_FIELDS = ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"]

#: Commands whose default arguments may come from GNT_GROUP_<COMMAND>.
_ENV_OVERRIDE = frozenset(["list"])

#: Fields of "gnt-group info", in the order _FormatGroupInfo unpacks them.
_INFO_FIELDS = ["name", "ndparams", "custom_ndparams", "diskparams",
                "custom_diskparams", "ipolicy", "custom_ipolicy"]

ALLOC_POLICY_OPT = cli_option(
    "--alloc-policy", dest="alloc_policy", type="choice", default=None,
    choices=list(constants.VALID_ALLOC_POLICIES), metavar="<policy>",
    help="Allocation policy for the node group: "
    + ", ".join(constants.VALID_ALLOC_POLICIES))

INCLUDEDEFAULTS_OPT = cli_option(
    "--include-defaults", dest="include_defaults", default=False,
    action="store_true", help="Include default values")


# --- changes ---------------------------------------------------------------------


def _GroupIPolicy(opts: Any, allowed_values: list[str] | None) -> dict[str, Any]:
    """The (partial) group instance policy of the --ipolicy-* options."""
    return cli.CreateIPolicyFromOpts(
        minmax_ispecs=opts.ipolicy_bounds_specs,
        ipolicy_vcpu_ratio=opts.ipolicy_vcpu_ratio,
        ipolicy_spindle_ratio=opts.ipolicy_spindle_ratio,
        ipolicy_disk_templates=opts.ipolicy_disk_templates,
        group_ipolicy=True, allowed_values=allowed_values)


def _States(opts: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(hypervisor state, disk state) of the --hypervisor-state/--disk-state."""
    disk_state = cli.ParseDiskState(opts.disk_state) if opts.disk_state else {}
    return dict(opts.hv_state), disk_state


def _JobsFailed(opts: Any, result: Any) -> int:
    """Wait for the jobs an opcode result lists, if any (Ganeti's GetResult).

    Returns:
      EXIT_SUCCESS, or EXIT_FAILURE if one of the jobs failed.
    """
    if not isinstance(result, dict) or "jobs" not in result:
        return cli.EXIT_SUCCESS
    jex = cli.JobExecutor(opts=opts)
    for (status, job_id) in result["jobs"]:
        jex.AddJobId(None, status, job_id)
    bad_jobs = [job for (success, job) in jex.GetResults() if not success]
    for job in bad_jobs:
        ToStdout("Job failed, result is '%s'.", job)
    if bad_jobs:
        ToStdout("%s job(s) failed.", len(bad_jobs))
        return cli.EXIT_FAILURE
    return cli.EXIT_SUCCESS


def AddGroup(opts: Any, args: list[str]) -> int:
    """Add a node group to the cluster."""
    from ganeti import opcodes
    (group_name,) = args
    hv_state, disk_state = _States(opts)
    op = opcodes.OpGroupAdd(group_name=group_name, ndparams=opts.ndparams,
                            alloc_policy=opts.alloc_policy,
                            diskparams=dict(opts.diskparams),
                            ipolicy=_GroupIPolicy(opts, None),
                            hv_state=hv_state, disk_state=disk_state)
    return _JobsFailed(opts, cli.SubmitOrSend(op, opts))


def AssignNodes(opts: Any, args: list[str]) -> int:
    """Move nodes into a group."""
    from ganeti import opcodes
    op = opcodes.OpGroupAssignNodes(group_name=args[0], nodes=args[1:],
                                    force=opts.force)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


def _NothingToModify(opts: Any) -> bool:
    values = [opts.ndparams, opts.alloc_policy, opts.diskparams, opts.hv_state,
              opts.disk_state, opts.ipolicy_bounds_specs, opts.ipolicy_vcpu_ratio,
              opts.ipolicy_spindle_ratio, opts.ipolicy_disk_templates]
    return not any(value is not None and value != [] for value in values)


def SetGroupParams(opts: Any, args: list[str]) -> int:
    """Change a node group's parameters; print what changed."""
    from ganeti import opcodes
    if _NothingToModify(opts):
        ToStderr("Please give at least one of the parameters.")
        return cli.EXIT_FAILURE
    hv_state, disk_state = _States(opts)
    op = opcodes.OpGroupSetParams(
        group_name=args[0], ndparams=opts.ndparams, alloc_policy=opts.alloc_policy,
        hv_state=hv_state, disk_state=disk_state, diskparams=dict(opts.diskparams),
        ipolicy=_GroupIPolicy(opts, [defaults.VALUE_DEFAULT]))
    result = cli.SubmitOrSend(op, opts)
    if result:
        ToStdout("Modified node group %s", args[0])
        for param, data in result:
            ToStdout(" - %-5s -> %s", param, data)
    return cli.EXIT_SUCCESS


def RemoveGroup(opts: Any, args: list[str]) -> int:
    """Remove an empty node group."""
    from ganeti import opcodes
    (group_name,) = args
    cli.SubmitOrSend(opcodes.OpGroupRemove(group_name=group_name), opts)
    return cli.EXIT_SUCCESS


def RenameGroup(opts: Any, args: list[str]) -> int:
    """Rename a node group."""
    from ganeti import opcodes
    (group_name, new_name) = args
    cli.SubmitOrSend(opcodes.OpGroupRename(group_name=group_name,
                                           new_name=new_name), opts)
    return cli.EXIT_SUCCESS


# --- information -------------------------------------------------------------------


def _FmtDict(data: dict[str, Any]) -> str:
    """A dict as "k=v, k2=v2" (the NDParams column); "(empty)" if empty."""
    if not data:
        return "(empty)"
    data = cli.NormalizeNumbers(data)
    return CommaJoin(f"{key}={value}" for key, value in data.items())


def ListGroups(opts: Any, args: list[str]) -> int:
    """List node groups and their properties."""
    desired_fields = cli.ParseFields(opts.output, _LIST_DEF_FIELDS)
    fmtoverride = {
        "node_list": (",".join, False),
        "pinst_list": (",".join, False),
        "ndparams": (_FmtDict, False),
    }
    return cli.GenericList(QR_GROUP, desired_fields, args, None, opts.separator,
                           not opts.no_headers, format_override=fmtoverride,
                           verbose=opts.verbose, force_filter=opts.force_filter)


def ListGroupFields(opts: Any, args: list[str]) -> int:
    """List the fields of node groups."""
    return cli.GenericListFields(QR_GROUP, args, opts.separator,
                                 not opts.no_headers)


def _FormatGroupInfo(group: list[Any]) -> list[tuple[str, Any]]:
    """The info tree of one group (a QueryGroups row of _INFO_FIELDS)."""
    (name, ndparams, custom_ndparams, diskparams, custom_diskparams, ipolicy,
     custom_ipolicy) = group
    return [
        ("Node group", name),
        ("Node parameters", cli.FormatParamsDictInfo(custom_ndparams, ndparams)),
        ("Disk parameters",
         cli.FormatParamsDictInfo(custom_diskparams, diskparams)),
        ("Instance policy", cli.FormatPolicyInfo(custom_ipolicy, ipolicy, False)),
    ]


def GroupInfo(opts: Any, args: list[str]) -> int:
    """Show the parameters and policies of node groups (all if none given)."""
    result = cli.GetClient(query=True).QueryGroups(args, _INFO_FIELDS, False)
    result = cli.NormalizeNumbers(result)
    cli.PrintGenericInfo([_FormatGroupInfo(group) for group in result])
    return cli.EXIT_SUCCESS


def _SpecsText(specs: dict[str, Any]) -> str:
    return ",".join(f"{par}={val}" for (par, val) in sorted(specs.items()))


def PrintIPolicyCommand(buf: io.StringIO, ipolicy: dict[str, Any],
                        isgroup: bool) -> None:
    """Write the --ipolicy-*-specs options recreating a policy's specs.

    Args:
      buf: where to write (the options, each preceded by a space).
      ipolicy: the policy.
      isgroup: a group's policy (std specs are not written then).
    """
    stdspecs = ipolicy.get(defaults.ISPECS_STD)
    if stdspecs and not isgroup:
        buf.write(f" {IPOLICY_STD_SPECS_STR} {_SpecsText(stdspecs)}")
    pairs = [minmax for minmax in ipolicy.get(defaults.ISPECS_MINMAX, [])
             if minmax.get(defaults.ISPECS_MIN) and minmax.get(defaults.ISPECS_MAX)]
    if pairs:
        buf.write(f" {IPOLICY_BOUNDS_SPECS_STR} ")
        buf.write("//".join(
            f"min:{_SpecsText(minmax[defaults.ISPECS_MIN])}"
            f"/max:{_SpecsText(minmax[defaults.ISPECS_MAX])}" for minmax in pairs))


def ShowCreateCommand(opts: Any, args: list[str]) -> int:
    """Print the gnt-group add command recreating each group's specs."""
    policy_field = "ipolicy" if opts.include_defaults else "custom_ipolicy"
    result = cli.GetClient(query=True).QueryGroups(args, ["name", policy_field],
                                                   False)
    for (name, ipolicy) in cli.NormalizeNumbers(result):
        buf = io.StringIO()
        buf.write("gnt-group add")
        PrintIPolicyCommand(buf, ipolicy, True)
        buf.write(f" {name}")
        ToStdout(buf.getvalue())
    return cli.EXIT_SUCCESS


# --- command table ---------------------------------------------------------------

_TAG_KIND = {"tag_type": cli.TAG_NODEGROUP}

commands: dict[str, Any] = {
    "add": (
        AddGroup, ARGS_ONE_GROUP,
        [DRY_RUN_OPT, ALLOC_POLICY_OPT, NODE_PARAMS_OPT, DISK_PARAMS_OPT,
         HV_STATE_OPT, DISK_STATE_OPT, PRIORITY_OPT]
        + SUBMIT_OPTS + INSTANCE_POLICY_OPTS,
        "<group-name>", "Add a new node group to the cluster"),
    "assign-nodes": (
        AssignNodes, ARGS_ONE_GROUP + ARGS_MANY_NODES,
        [DRY_RUN_OPT, FORCE_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<group-name> <node-name>...", "Assign nodes to a group"),
    "list": (
        ListGroups, ARGS_MANY_GROUPS,
        [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT, FORCE_FILTER_OPT],
        "[<group-name>...]",
        "Lists the node groups in the cluster. The available fields can be"
        " shown using the \"list-fields\" command (see the man page for"
        " details). The default list is (in order):"
        f" {CommaJoin(_LIST_DEF_FIELDS)}."),
    "list-fields": (
        ListGroupFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[fields...]",
        "Lists all available fields for node groups"),
    "modify": (
        SetGroupParams, ARGS_ONE_GROUP,
        [DRY_RUN_OPT] + SUBMIT_OPTS
        + [ALLOC_POLICY_OPT, NODE_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT,
           DISK_PARAMS_OPT, PRIORITY_OPT] + INSTANCE_POLICY_OPTS,
        "<group>", "Alters the parameters of a node group"),
    "remove": (
        RemoveGroup, ARGS_ONE_GROUP, [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "[--dry-run] <group>", "Remove an (empty) node group from the cluster"),
    "rename": (
        RenameGroup, [ArgGroup(min=2, max=2)],
        [DRY_RUN_OPT] + SUBMIT_OPTS + [PRIORITY_OPT],
        "[--dry-run] <old-name> <new-name>", "Rename a node group"),
    "list-tags": (
        cli.ListTags, ARGS_ONE_GROUP, [], "<group>",
        "List the tags of the given group"),
    "add-tags": (
        cli.AddTags, [ArgGroup(min=1, max=1), ArgUnknown()],
        [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<group> <tag>...", "Add tags to the given group"),
    "remove-tags": (
        cli.RemoveTags, [ArgGroup(min=1, max=1), ArgUnknown()],
        [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
        "<group> <tag>...", "Remove tags from the given group"),
    "info": (
        GroupInfo, ARGS_MANY_GROUPS, [], "[<group>...]",
        "Show group information"),
    "show-ispecs-cmd": (
        ShowCreateCommand, ARGS_MANY_GROUPS, [INCLUDEDEFAULTS_OPT],
        "[--include-defaults] [<group>...]",
        "Show the command line to re-create a group"),
}

#: Other names of commands (none for gnt-group).
aliases: dict[str, str] = {}


def Main() -> int:
    """Run gnt-group with sys.argv; return the exit code."""
    return cli.GenericMain(commands, override=_TAG_KIND, aliases=aliases,
                           env_override=_ENV_OVERRIDE)
