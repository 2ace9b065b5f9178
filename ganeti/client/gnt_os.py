"""gnt-os: list, inspect, diagnose and modify the cluster's OS definitions.

Commands, options and output as Ganeti 3.0's gnt-os (spec/cli.md,
samples/gnt-os-list.txt, gnt-os-info.txt, gnt-os-diagnose.txt): list, info
and diagnose submit OP_OS_DIAGNOSE with the fields they print; modify is
OP_CLUSTER_SET_PARAMS with the OS's hidden/blacklisted flag, OS parameters
and OS-specific hypervisor parameters.

As in Ganeti 3.0, diagnose names nodes by their UUID (the LU's node_status
is keyed by UUID; samples/gnt-os-diagnose.txt shows it).
"""

from __future__ import annotations

from typing import Any

from ganeti import cli, constants
from ganeti.cli import (
    ARGS_NONE,
    ARGS_ONE_OS,
    DRY_RUN_OPT,
    HVLIST_OPT,
    NOHDR_OPT,
    PRIORITY_OPT,
    SUBMIT_OPTS,
    ArgOs,
    ToStderr,
    ToStdout,
    cli_option,
)
from ganeti.utils.text import CommaJoin, NiceSort

_DDM_ADD = "add"
_DDM_REMOVE = "remove"

# Ganeti's OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, HID_OS_OPT and BLK_OS_OPT.
OSPARAMS_OPT = cli_option("-O", "--os-parameters", dest="osparams",
                          type="keyval", default={},
                          help="OS parameters (k=v,...)")
OSPARAMS_PRIVATE_OPT = cli_option(
    "--os-parameters-private", dest="osparams_private", type="keyprivateval",
    default={}, help="Private OS parameters (k=v,...; not logged)")
HID_OS_OPT = cli_option("--hidden", dest="hidden", type="bool", default=None,
                        metavar="yes|no", help="Sets the hidden flag on the OS")
BLK_OS_OPT = cli_option("--blacklisted", dest="blacklisted", type="bool",
                        default=None, metavar="yes|no",
                        help="Sets the blacklisted flag on the OS")

#: What each command asks OP_OS_DIAGNOSE for, in the order it unpacks.
_LIST_FIELDS = ["name", "variants"]
_INFO_FIELDS = ["name", "valid", "variants", "parameters", "api_versions",
                "blacklisted", "hidden", "os_hvp", "osparams", "trusted"]
_DIAGNOSE_FIELDS = ["name", "valid", "variants", "node_status", "hidden",
                    "blacklisted"]


def _Diagnose(fields: list[str], opts: Any) -> Any:
    """Run OP_OS_DIAGNOSE for fields; its rows, in field order."""
    op = _Opcodes().OpOsDiagnose(output_fields=fields, names=[])
    return cli.SubmitOpCode(op, opts=opts)


def _Opcodes() -> Any:
    # Imported when used: ganeti.opcodes is large and "gnt-os --help"
    # needs none of it.
    from ganeti import opcodes

    return opcodes


def ListOS(opts: Any, args: list[str]) -> int:
    """List the valid, visible OSes, one line per "os+variant".

    Returns:
      0.
    """
    result = _Diagnose(_LIST_FIELDS, opts)
    headers = None if opts.no_headers else {"name": "Name"}
    names: list[list[Any] | None] = []
    for name, variants in result:
        names.extend([os_name] for os_name in cli.CalculateOSNames(name, variants))
    for line in cli.GenerateTable(separator=None, headers=headers, fields=["name"],
                                  data=names, units=None):
        ToStdout(line)
    return 0


def _PrintOsInfo(row: list[Any]) -> None:
    (name, valid, variants, parameters, api_versions, blacklisted, hidden, _,
     _, trusted) = row
    ToStdout("%s:", name)
    ToStdout("  - valid: %s", valid)
    ToStdout("  - hidden: %s", hidden)
    ToStdout("  - blacklisted: %s", blacklisted)
    if valid:
        ToStdout("  - API versions:")
        for version in sorted(api_versions):
            ToStdout("    - %s", version)
        ToStdout("  - variants:")
        for variant in variants:
            ToStdout("    - %s", variant)
        ToStdout("  - parameters:")
        for pname, pdesc in parameters:
            ToStdout("    - %s: %s", pname, pdesc)
    ToStdout("  - trusted: %s", trusted)
    ToStdout("")


def ShowOSInfo(opts: Any, args: list[str]) -> int:
    """Show the details of all OSes, or of the named ones.

    A name that is no OS but an "os+variant" with cluster-level hypervisor
    or OS parameters shows those parameters; any other unknown name prints
    "<name>: " alone, as Ganeti does.

    Returns:
      0, or 1 if the OS list could not be had.
    """
    result = _Diagnose(_INFO_FIELDS, opts)
    if result is None:
        ToStderr("Can't get the OS list")
        return 1
    wanted = list(args)
    total_os_hvp: dict[str, Any] = {}
    total_osparams: dict[str, Any] = {}
    for row in result:
        total_os_hvp.update(row[7])
        total_osparams.update(row[8])
        if wanted:
            if row[0] not in wanted:
                continue
            wanted.remove(row[0])
        _PrintOsInfo(row)
    for name in wanted:
        if name in total_os_hvp or name in total_osparams:
            cli.PrintGenericInfo([(name, [
                ("OS-specific hypervisor parameters", total_os_hvp.get(name, {})),
                ("OS parameters", total_osparams.get(name, {})),
            ])])
        else:
            ToStdout("%s: ", name)
        ToStdout("")
    return 0


def _OsStatus(status: bool, diagnose: str) -> str:
    return "valid" if status else f"invalid - {diagnose}"


def _NodeEntryText(entry: list[Any]) -> str:
    """One node's line for the definition in use (Ganeti's format)."""
    path, status, diagnose, variants, params, api_versions, trusted = entry[:7]
    text = f"{_OsStatus(status, diagnose)} (path: {path})"
    if api_versions:
        text += f" [API versions: {CommaJoin(api_versions)}]"
        newest = max(api_versions)
    else:
        text += " [no API versions declared]"
        newest = 0
    if newest >= constants.OS_API_V15:
        text += (f" [variants: {CommaJoin(variants)}]" if variants
                 else " [no variants]")
    if newest >= constants.OS_API_V20:
        text += (f" [parameters: {CommaJoin(p[0] for p in params)}]" if params
                 else " [no parameters]")
    return text + (" [trusted]" if trusted else " [untrusted]")


def _DiagnoseOne(row: list[Any]) -> bool:
    """Print one OS of gnt-os diagnose; return whether it is bad."""
    os_name, _, os_variants, node_data, hidden, blacklisted = row
    valid: dict[str, str] = {}
    bad: dict[str, str] = {}
    shadowed: dict[str, list[str]] = {}
    for node, entries in node_data.items():
        shadowed[node] = []
        if not entries:
            bad[node] = "OS not found"
            continue
        first, *rest = entries
        (valid if first[1] else bad)[node] = _NodeEntryText(first)
        # Definitions later in the search path, hidden by the first one.
        shadowed[node] = [f"    [hidden] path: {entry[0]}, status:"
                          f" {_OsStatus(entry[1], entry[2])}" for entry in rest]
    if valid and not bad:
        status = "valid"
    elif bad and not valid:
        status = "invalid"
    else:
        status = "partial valid"
    line = f"OS: {os_name} [global status: {status}]"
    if hidden:
        line += " [hidden]"
    if blacklisted:
        line += " [blacklisted]"
    ToStdout(line)
    if os_variants:
        ToStdout("  Variants: [%s]", CommaJoin(os_variants))
    for messages in (valid, bad):
        for node in NiceSort(messages):
            ToStdout("  Node: %s, status: %s", node, messages[node])
            for text in shadowed[node]:
                ToStdout(text)
    ToStdout("")
    return status != "valid"


def DiagnoseOS(opts: Any, args: list[str]) -> int:
    """Show every OS with its status on every node.

    Returns:
      0 if every OS is valid everywhere, 1 otherwise.
    """
    result = _Diagnose(_DIAGNOSE_FIELDS, opts)
    if result is None:
        ToStderr("Can't get the OS list")
        return 1
    has_bad = False
    for row in result:
        has_bad = _DiagnoseOne(row) or has_bad
    return int(has_bad)


def _ListChange(flag: bool | None, os_name: str) -> list[list[str]] | None:
    if flag is None:
        return None
    return [[_DDM_ADD if flag else _DDM_REMOVE, os_name]]


def ModifyOS(opts: Any, args: list[str]) -> int:
    """Change an OS's flags or its cluster-level parameters.

    Returns:
      0, or 1 when nothing to change was given.
    """
    os_name = args[0]
    os_hvp = {os_name: dict(opts.hvparams)} if opts.hvparams else None
    osparams = {os_name: opts.osparams} if opts.osparams else None
    private = {os_name: opts.osparams_private} if opts.osparams_private else None
    hidden = _ListChange(opts.hidden, os_name)
    blacklisted = _ListChange(opts.blacklisted, os_name)
    if not (os_hvp or osparams or private or hidden or blacklisted):
        ToStderr("At least one of OS parameters or hypervisor parameters"
                 " must be passed")
        return 1
    op = _Opcodes().OpClusterSetParams(
        os_hvp=os_hvp, osparams=osparams, osparams_private_cluster=private,
        hidden_os=hidden, blacklisted_os=blacklisted)
    cli.SubmitOrSend(op, opts)
    return 0


commands: dict[str, Any] = {
    "list": (
        ListOS, ARGS_NONE, [NOHDR_OPT, PRIORITY_OPT], "[--no-headers]",
        "Lists all valid operating systems on the cluster"),
    "diagnose": (
        DiagnoseOS, ARGS_NONE, [PRIORITY_OPT], "",
        "Diagnose all operating systems"),
    "info": (
        ShowOSInfo, [ArgOs()], [PRIORITY_OPT], "[<os>...]",
        "Show detailed information about operating systems"),
    "modify": (
        ModifyOS, ARGS_ONE_OS,
        [HVLIST_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, DRY_RUN_OPT, PRIORITY_OPT,
         HID_OS_OPT, BLK_OS_OPT] + SUBMIT_OPTS,
        "[-H hv:k=v] [-O k=v] [--os-parameters-private k=v] [--hidden yes|no]"
        " [--blacklisted yes|no] <os>", "Modify the OS parameters"),
}

#: Other names of commands.
aliases: dict[str, str] = {
    "show": "info",
}


def Main() -> int:
    """Run gnt-os with sys.argv; return the exit code."""
    return cli.GenericMain(commands, aliases=aliases)
