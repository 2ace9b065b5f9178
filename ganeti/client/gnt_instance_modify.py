"""gnt-instance modify and the disk commands (grow-disk, activate-disks, ...).

"modify" turns Ganeti 3.0's command line into one OP_INSTANCE_SET_PARAMS:
"--disk add:size=S", "--disk N:remove", "--disk N:modify,mode=ro",
"--disk N:add,size=S" (and attach/detach), the same forms for "--net", -B/-H
with "default" to reset a value, -O, --os-type, --runtime-memory,
--online/--offline, --hotplug. The changes the job reports are printed as
" - <param> -> <value>" lines, as Ganeti does.
"""

from __future__ import annotations

from typing import Any

from ganeti import cli, constants, defaults, errors, opcodes
from ganeti.cli import ToStderr, ToStdout
from ganeti.client.gnt_instance_create import (
    HVS_PARAMETER_TYPES,
    IDISK_SIZE,
    IDISK_SPINDLES,
    FixHvParams,
)
from ganeti.utils.text import ParseUnit

# Modification actions (Ganeti's DDM_*).
DDM_ADD = "add"
DDM_ATTACH = "attach"
DDM_REMOVE = "remove"
DDM_DETACH = "detach"
DDM_MODIFY = "modify"
_DDM_ALL = (DDM_ADD, DDM_ATTACH, DDM_REMOVE, DDM_DETACH, DDM_MODIFY)
_DDM_LEGACY = (DDM_ADD, DDM_ATTACH, DDM_REMOVE, DDM_DETACH)

_VALUE_DEFAULT = "default"
_DTS_FILEBASED = frozenset([constants.DT_FILE, constants.DT_SHARED_FILE,
                            constants.DT_GLUSTER])
_IDISK_PROVIDER = "provider"
# Disk parameters that cannot be changed while converting to "ext".
_IDISK_PARAMS = frozenset(["size", "spindles", "mode", "adopt", "vg", "metavg",
                           "provider", "name", "access"])

_MISSING = object()


def _ModAction(identifier: str, params: dict[str, Any]) -> tuple[str, Any]:
    """(action, identifier) of one "--disk"/"--net" modification.

    "add:..." / "remove" alone act on the last item (identifier -1), the old
    syntax; "N:add,..." acts at index (or name) N; no action means modify.
    The action keys are removed from params.

    Raises:
      errors.OpPrereqError: more than one action given.
    """
    if identifier in _DDM_LEGACY:
        return identifier, -1
    given = [action for action in _DDM_ALL
             if params.pop(action, _MISSING) is not _MISSING]
    if len(given) > 1:
        raise errors.OpPrereqError(
            "Cannot do more than one of the following operations at the same"
            f" time: {', '.join(_DDM_ALL)}", errors.ECODE_INVAL)
    return (given[0] if given else DDM_MODIFY), identifier


def ConvertNicDiskModifications(mods: list[tuple[str, Any]],
                                ) -> list[tuple[str, Any, dict[str, Any]]]:
    """The (action, identifier, params) list of OP_INSTANCE_SET_PARAMS.

    Raises:
      errors.OpPrereqError: parameters given with remove/detach, a removal
        group ("no_N"), or several actions at once.
    """
    result = []
    for (identifier, params) in mods:
        if not isinstance(params, dict):
            raise errors.OpPrereqError(
                f"Invalid modification '{identifier}': expected parameters",
                errors.ECODE_INVAL)
        params = dict(params)
        action, ident = _ModAction(identifier, params)
        if action in (DDM_REMOVE, DDM_DETACH) and params:
            raise errors.OpPrereqError("Not accepting parameters on"
                                       " removal/detach", errors.ECODE_INVAL)
        result.append((action, ident, params))
    return result


def ParseDiskSizes(mods: list[tuple[str, Any, dict[str, Any]]],
                   ) -> list[tuple[str, Any, dict[str, Any]]]:
    """Convert the sizes (to MiB) and spindle counts of disk modifications.

    Raises:
      errors.OpPrereqError: a size or spindle count that does not parse, or
        a disk added without a size.
    """
    for (action, ident, params) in mods:
        if IDISK_SPINDLES in params:
            try:
                params[IDISK_SPINDLES] = int(params[IDISK_SPINDLES])
            except (TypeError, ValueError) as err:
                raise errors.OpPrereqError(
                    f"Invalid spindles for disk {ident}: {err}",
                    errors.ECODE_INVAL) from err
        if IDISK_SIZE in params:
            try:
                params[IDISK_SIZE] = ParseUnit(params[IDISK_SIZE])
            except errors.UnitParseError as err:
                raise errors.OpPrereqError(
                    f"Invalid disk size for disk {ident}: {err}",
                    errors.ECODE_INVAL) from err
        elif action == DDM_ADD:
            raise errors.OpPrereqError("Missing required parameter 'size'",
                                       errors.ECODE_INVAL)
    return mods


def _ParseExtStorageParams(params: dict[str, Any]) -> dict[str, Any]:
    """Check the -e parameters of a conversion to the ext template.

    Raises:
      errors.OpPrereqError: no provider, or a disk parameter among them.
    """
    if not params:
        return params
    if _IDISK_PROVIDER not in params:
        raise errors.OpPrereqError(
            f"Missing required parameter '{_IDISK_PROVIDER}' when converting"
            " to an ExtStorage disk template", errors.ECODE_INVAL)
    for param in params:
        if param != _IDISK_PROVIDER and param in _IDISK_PARAMS:
            raise errors.OpPrereqError(
                f"Invalid parameter '{param}' when converting to an ExtStorage"
                " template (it is not allowed modifying existing disk"
                " parameters)", errors.ECODE_INVAL)
    return params


def _DefaultsToken(params: dict[str, Any]) -> None:
    """Spell "default" (any case) the way the opcode expects it."""
    for key, value in params.items():
        if isinstance(value, str) and value.lower() == _VALUE_DEFAULT:
            params[key] = _VALUE_DEFAULT


def _HasChanges(opts: Any) -> bool:
    return bool(opts.nics or opts.disks or opts.disk_template or opts.hvparams
                or opts.beparams or opts.os or opts.osparams
                or opts.osparams_private or opts.offline_inst
                or opts.online_inst or opts.runtime_mem
                or opts.new_primary_node
                or opts.instance_communication is not None)


def _CheckTemplateOptions(opts: Any) -> str | None:
    """Why the disk template options do not fit together, or None."""
    if opts.disk_template:
        if opts.ext_params and opts.disk_template != constants.DT_EXT:
            return ("Specifying ExtStorage parameters requires converting to"
                    f" the '{constants.DT_EXT}' disk template")
        if not opts.ext_params and opts.disk_template == constants.DT_EXT:
            return ("Provider option is missing, use either the '--ext-params'"
                    " or '-e' option")
    if ((opts.file_driver or opts.file_storage_dir)
            and opts.disk_template not in _DTS_FILEBASED):
        return ("Specifying file-based configuration arguments requires"
                " converting to a file-based disk template")
    return None


def _BuildSetParamsOpcode(opts: Any, instance_name: str, nics: list[Any],
                          disks: list[Any]) -> Any:
    offline = True if opts.offline_inst else (False if opts.online_inst else None)
    return opcodes.OpInstanceSetParams(
        instance_name=instance_name, nics=nics, disks=disks,
        hotplug=opts.hotplug, hotplug_if_possible=opts.hotplug_if_possible,
        disk_template=opts.disk_template,
        ext_params=_ParseExtStorageParams(opts.ext_params),
        file_driver=opts.file_driver, file_storage_dir=opts.file_storage_dir,
        remote_node=opts.node, iallocator=opts.iallocator,
        pnode=opts.new_primary_node, hvparams=opts.hvparams,
        beparams=opts.beparams, runtime_mem=opts.runtime_mem,
        os_name=opts.os, osparams=opts.osparams,
        osparams_private=opts.osparams_private,
        force_variant=opts.force_variant, force=opts.force,
        wait_for_sync=opts.wait_for_sync, offline=offline,
        conflicts_check=opts.conflicts_check,
        ignore_ipolicy=opts.ignore_ipolicy,
        instance_communication=opts.instance_communication)


def SetInstanceParams(opts: Any, args: list[str]) -> int:
    """gnt-instance modify: change the parameters of an instance.

    Most changes take effect at the instance's next start by Ganeti.
    """
    if not _HasChanges(opts):
        ToStderr("Please give at least one of the parameters.")
        return cli.EXIT_FAILURE
    _DefaultsToken(opts.beparams)
    defaults.ForceDictType(opts.beparams, defaults.BES_PARAMETER_COMPAT,
                           allowed_values=[_VALUE_DEFAULT])
    _DefaultsToken(opts.hvparams)
    defaults.ForceDictType(opts.hvparams, HVS_PARAMETER_TYPES,
                           allowed_values=[_VALUE_DEFAULT])
    FixHvParams(opts.hvparams)
    nics = ConvertNicDiskModifications(opts.nics)
    if (opts.hotplug and not opts.force
            and any(action == DDM_MODIFY for action, _, _ in nics)
            and not cli.AskUser("You are about to hot-modify a NIC. This will"
                                " be done by removing the existing NIC and"
                                " then adding a new one. Network connection"
                                " might be lost. Continue?")):
        return cli.EXIT_FAILURE
    disks = ParseDiskSizes(ConvertNicDiskModifications(opts.disks))
    problem = _CheckTemplateOptions(opts)
    if problem:
        ToStderr(problem)
        return cli.EXIT_FAILURE
    op = _BuildSetParamsOpcode(opts, args[0], nics, disks)
    # The result is shown even though --submit is allowed (as Ganeti).
    result = cli.SubmitOrSend(op, opts)
    if result:
        ToStdout("Modified instance %s", args[0])
        for param, data in result:
            ToStdout(" - %-5s -> %s", param, data)
        ToStdout("Please don't forget that most parameters take effect only at"
                 " the next (re)start of the instance initiated by ganeti;"
                 " restarting from within the instance will not be enough.")
        if opts.hvparams:
            ToStdout("Note that changing hypervisor parameters without"
                     " performing a restart might lead to a crash while"
                     " performing a live migration. This will be addressed in"
                     " future Ganeti versions.")
    return cli.EXIT_SUCCESS


# --- disks ---------------------------------------------------------------------


def GrowDisk(opts: Any, args: list[str]) -> int:
    """gnt-instance grow-disk <instance> <disk> <amount>.

    Raises:
      errors.OpPrereqError: the disk index or the amount does not parse.
    """
    (instance, disk, amount_text) = args
    try:
        disk_index = int(disk)
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError(f"Invalid disk index: {err}",
                                   errors.ECODE_INVAL) from err
    try:
        amount = ParseUnit(amount_text)
    except errors.UnitParseError as err:
        raise errors.OpPrereqError(f"Can't parse the given amount"
                                   f" '{amount_text}'", errors.ECODE_INVAL) from err
    op = opcodes.OpInstanceGrowDisk(instance_name=instance, disk=disk_index,
                                    amount=amount,
                                    wait_for_sync=opts.wait_for_sync,
                                    absolute=opts.absolute,
                                    ignore_ipolicy=opts.ignore_ipolicy)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


def ActivateDisks(opts: Any, args: list[str]) -> int:
    """gnt-instance activate-disks: print node:disk:device of each disk."""
    op = opcodes.OpInstanceActivateDisks(instance_name=args[0],
                                         ignore_size=opts.ignore_size,
                                         wait_for_sync=opts.wait_for_sync)
    disks_info = cli.SubmitOrSend(op, opts)
    for host, iname, nname in disks_info or []:
        ToStdout("%s:%s:%s", host, iname, nname)
    return cli.EXIT_SUCCESS


def DeactivateDisks(opts: Any, args: list[str]) -> int:
    """gnt-instance deactivate-disks: shut down an instance's disks."""
    op = opcodes.OpInstanceDeactivateDisks(instance_name=args[0],
                                           force=opts.force)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


def _RecreateDiskEntries(entries: list[tuple[str, Any]]) -> list[Any]:
    """The (index, params) list of --disk options of recreate-disks.

    Raises:
      errors.OpPrereqError: a bad index, size or spindle count.
    """
    disks = []
    for idx, ddict in entries:
        try:
            didx = int(idx)
        except ValueError as err:
            raise errors.OpPrereqError(f"Invalid disk index passed: {err}",
                                       errors.ECODE_INVAL) from err
        if not isinstance(ddict, dict):
            raise errors.OpPrereqError(
                f"Invalid disk/{didx} value: expected dict, got {ddict}",
                errors.ECODE_INVAL)
        ParseDiskSizes([(DDM_MODIFY, didx, ddict)])
        disks.append((didx, ddict))
    return disks


def RecreateDisks(opts: Any, args: list[str]) -> int:
    """gnt-instance recreate-disks: recreate (some) disks, maybe elsewhere.

    Raises:
      errors.OpPrereqError: both -n and -I, or a bad --disk option.
    """
    disks = _RecreateDiskEntries(opts.disks or [])
    nodes: list[str] = []
    if opts.node:
        if opts.iallocator:
            raise errors.OpPrereqError("At most one of either --nodes or"
                                       " --iallocator can be passed",
                                       errors.ECODE_INVAL)
        pnode, snode = cli.SplitNodeOption(opts.node)
        nodes = [pnode] + ([snode] if snode is not None else [])
    op = opcodes.OpInstanceRecreateDisks(instance_name=args[0], disks=disks,
                                         nodes=nodes,
                                         iallocator=opts.iallocator)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS
