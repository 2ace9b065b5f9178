"""Instance creation for gnt-instance add and batch-create (and gnt-backup import).

Turns the command line of Ganeti 3.0's instance creation into one
OP_INSTANCE_CREATE opcode, as lib/cli.py GenericInstanceCreate does:
"--disk N:size=S,..." / "-s S" become the disk list (sizes parsed into MiB),
"--net N:..." / "--no-nics" the NIC list (one automatic NIC by default),
"-H hv:k=v" the hypervisor and its parameters, "-n pnode[:snode]" the nodes.
Everything else is passed on unchanged; the checks that need the cluster
(OS, nodes, memory, names) are the logical unit's.
"""

from __future__ import annotations

from typing import Any

from ganeti import (
    cli,
    constants,
    defaults,
    errors,
    opcodes,
    opcodes_base,
    serializer,
)
from ganeti.cli import ToStderr, ToStdout
from ganeti.utils.text import CommaJoin, ParseUnit

# Disk parameters the command line handles specially (Ganeti's IDISK_*).
IDISK_SIZE = "size"
IDISK_SPINDLES = "spindles"
IDISK_ADOPT = "adopt"

# NIC parameters and their types (Ganeti's INIC_PARAMS_TYPES).
INIC_PARAMS_TYPES = {
    "bridge": defaults.VTYPE_MAYBE_STRING,
    "ip": defaults.VTYPE_MAYBE_STRING,
    "link": defaults.VTYPE_STRING,
    "mac": defaults.VTYPE_STRING,
    "mode": defaults.VTYPE_STRING,
    "name": defaults.VTYPE_MAYBE_STRING,
    "network": defaults.VTYPE_MAYBE_STRING,
    "vlan": defaults.VTYPE_MAYBE_STRING,
}

# The usb_devices hypervisor parameter is space-separated on the command line
# (a comma separates parameters there) and comma-separated everywhere else.
HV_USB_DEVICES = "usb_devices"

_IEC_NONE = "none"


def _FlatHvParameterTypes() -> dict[str, str]:
    """Every hypervisor parameter of any hypervisor -> its type."""
    types: dict[str, str] = {}
    for params in defaults.HVS_PARAMETER_TYPES.values():
        for name, vtype in params.items():
            types.setdefault(name, vtype)
    return types


HVS_PARAMETER_TYPES = _FlatHvParameterTypes()


def FixHvParams(hvparams: dict[str, Any]) -> None:
    """Turn the command line's space-separated usb_devices into commas."""
    value = hvparams.get(HV_USB_DEVICES)
    if isinstance(value, str):
        hvparams[HV_USB_DEVICES] = value.replace(" ", ",")


def _ParseIndex(kind: str, value: Any) -> int:
    """A disk or NIC index of the command line.

    Raises:
      errors.OpPrereqError: not a non-negative number.
    """
    try:
        index = int(value)
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError(f"Invalid {kind} index passed: {err}",
                                   errors.ECODE_INVAL) from err
    if index < 0:
        raise errors.OpPrereqError(f"Invalid {kind} index passed: {index}",
                                   errors.ECODE_INVAL)
    return index


def _Slots(kind: str, entries: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """One empty dict per index up to the highest one given."""
    count = max(_ParseIndex(kind, idx) for idx, _ in entries) + 1
    return [{} for _ in range(count)]


def ParseNicOption(optvalue: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The NIC list of "--net N:k=v,..." options (unnamed indices get {}).

    Raises:
      errors.OpPrereqError: a bad index or "--net N" without parameters
        given as a removal (no_N / -N).
      errors.TypeEnforcementError: an unknown NIC parameter.
    """
    nics = _Slots("NIC", optvalue)
    for idx, ndict in optvalue:
        nidx = int(idx)
        if not isinstance(ndict, dict):
            raise errors.OpPrereqError(
                f"Invalid nic/{nidx} value: expected dict, got {ndict}",
                errors.ECODE_INVAL)
        defaults.ForceDictType(ndict, INIC_PARAMS_TYPES)
        nics[nidx] = ndict
    return nics


def _ParseOneDisk(didx: int, ddict: Any, mode: str) -> dict[str, Any]:
    """Check and convert one "--disk" entry.

    Raises:
      errors.OpPrereqError: not a dict, both size and adopt, neither, a size
        or spindle count that does not parse, adoption on import.
    """
    if not isinstance(ddict, dict):
        raise errors.OpPrereqError(
            f"Invalid disk/{didx} value: expected dict, got {ddict}",
            errors.ECODE_INVAL)
    if IDISK_SIZE in ddict:
        if IDISK_ADOPT in ddict:
            raise errors.OpPrereqError(
                f"Only one of 'size' and 'adopt' allowed (disk {didx})",
                errors.ECODE_INVAL)
        try:
            ddict[IDISK_SIZE] = ParseUnit(ddict[IDISK_SIZE])
        except errors.UnitParseError as err:
            raise errors.OpPrereqError(
                f"Invalid disk size for disk {didx}: {err}",
                errors.ECODE_INVAL) from err
    elif IDISK_ADOPT in ddict:
        if IDISK_SPINDLES in ddict:
            raise errors.OpPrereqError(
                "spindles is not a valid option when adopting a disk",
                errors.ECODE_INVAL)
        if mode == opcodes_base.INSTANCE_IMPORT:
            raise errors.OpPrereqError("Disk adoption not allowed for instance"
                                       " import", errors.ECODE_INVAL)
        ddict[IDISK_SIZE] = 0
    else:
        raise errors.OpPrereqError(
            f"Missing size or adoption source for disk {didx}",
            errors.ECODE_INVAL)
    if IDISK_SPINDLES in ddict:
        try:
            ddict[IDISK_SPINDLES] = int(ddict[IDISK_SPINDLES])
        except (TypeError, ValueError) as err:
            raise errors.OpPrereqError(
                f"Invalid spindles for disk {didx}: {err}",
                errors.ECODE_INVAL) from err
    return ddict


def ParseDiskOptions(opts: Any, mode: str) -> list[dict[str, Any]]:
    """The disk list of an instance creation from --disk / -s / -t.

    Raises:
      errors.OpPrereqError: disks for a diskless instance, none for another
        template, both --disk and -s, or a bad disk entry.
    """
    if opts.disk_template == constants.DT_DISKLESS:
        if opts.disks or opts.sd_size is not None:
            raise errors.OpPrereqError("Diskless instance but disk information"
                                       " passed", errors.ECODE_INVAL)
        return []
    if (not opts.disks and not opts.sd_size
            and mode == opcodes_base.INSTANCE_CREATE):
        raise errors.OpPrereqError("No disk information specified",
                                   errors.ECODE_INVAL)
    if opts.disks and opts.sd_size is not None:
        raise errors.OpPrereqError("Please use either the '--disk' or '-s'"
                                   " option", errors.ECODE_INVAL)
    entries = list(opts.disks)
    if opts.sd_size is not None:
        entries = [("0", {IDISK_SIZE: opts.sd_size})]
    if not entries:
        return []
    disks = _Slots("disk", entries)
    for idx, ddict in entries:
        didx = int(idx)
        disks[didx] = _ParseOneDisk(didx, ddict, mode)
    return disks


def _ParseNics(opts: Any, mode: str) -> list[dict[str, Any]]:
    if opts.nics:
        return ParseNicOption(opts.nics)
    if opts.no_nics or mode != opcodes_base.INSTANCE_CREATE:
        return []
    # One NIC with every parameter chosen by the cluster.
    return [{}]


def _ModeParams(opts: Any, mode: str) -> dict[str, Any]:
    """The opcode parameters that differ between creation and import.

    Raises:
      errors.OpPrereqError: --forthcoming on an import.
      errors.ProgrammerError: an unknown mode.
    """
    if mode == opcodes_base.INSTANCE_CREATE:
        return {
            "start": opts.start, "os_type": opts.os,
            "force_variant": opts.force_variant, "src_node": None,
            "src_path": None, "no_install": opts.no_install,
            "identify_defaults": False, "compress": _IEC_NONE,
            "instance_communication": bool(opts.instance_communication),
        }
    if mode == opcodes_base.INSTANCE_IMPORT:
        if getattr(opts, "forthcoming", False):
            raise errors.OpPrereqError("forthcoming instances can only be"
                                       " created, not imported",
                                       errors.ECODE_INVAL)
        return {
            "start": False, "os_type": None, "force_variant": False,
            "src_node": opts.src_node, "src_path": opts.src_dir,
            "no_install": None, "identify_defaults": opts.identify_defaults,
            "compress": opts.compress, "instance_communication": False,
        }
    raise errors.ProgrammerError(f"Invalid creation mode {mode}")


def BuildCreateOpcode(mode: str, opts: Any, args: list[str]) -> Any:
    """The OP_INSTANCE_CREATE of "add" or "import" command line options.

    Raises:
      errors.OpPrereqError: contradicting or malformed options.
      errors.TypeEnforcementError: a bad -B/-H/--net parameter or value.
    """
    forthcoming = getattr(opts, "forthcoming", False)
    commit = getattr(opts, "commit", False)
    if forthcoming and commit:
        raise errors.OpPrereqError("Creating an instance only forthcoming and"
                                   " commiting it are mutally exclusive",
                                   errors.ECODE_INVAL)
    (pnode, snode) = cli.SplitNodeOption(opts.node)
    hypervisor = None
    hvparams: dict[str, Any] = {}
    if opts.hypervisor:
        hypervisor, hvparams = opts.hypervisor
        if not isinstance(hvparams, dict):
            raise errors.OpPrereqError(
                f"Invalid hypervisor parameters for '{hypervisor}'",
                errors.ECODE_INVAL)
    nics = _ParseNics(opts, mode)
    disks = ParseDiskOptions(opts, mode)
    tags = opts.tags.split(",") if opts.tags is not None else []
    defaults.ForceDictType(opts.beparams, defaults.BES_PARAMETER_COMPAT)
    defaults.ForceDictType(hvparams, HVS_PARAMETER_TYPES)
    FixHvParams(hvparams)
    return opcodes.OpInstanceCreate(
        forthcoming=forthcoming, commit=commit, instance_name=args[0],
        disks=disks, disk_template=opts.disk_template,
        group_name=opts.nodegroup, nics=nics,
        conflicts_check=opts.conflicts_check, pnode=pnode, snode=snode,
        ip_check=opts.ip_check, name_check=opts.name_check,
        wait_for_sync=opts.wait_for_sync,
        file_storage_dir=opts.file_storage_dir, file_driver=opts.file_driver,
        iallocator=opts.iallocator, hypervisor=hypervisor, hvparams=hvparams,
        beparams=opts.beparams, osparams=opts.osparams,
        osparams_private=opts.osparams_private or {},
        osparams_secret=opts.osparams_secret or {}, mode=mode,
        opportunistic_locking=opts.opportunistic_locking, tags=tags,
        ignore_ipolicy=opts.ignore_ipolicy,
        helper_startup_timeout=getattr(opts, "helper_startup_timeout", None),
        helper_shutdown_timeout=getattr(opts, "helper_shutdown_timeout", None),
        **_ModeParams(opts, mode))


def GenericInstanceCreate(mode: str, opts: Any, args: list[str]) -> int:
    """Create (mode "create") or import an instance; wait unless --submit.

    Returns:
      EXIT_SUCCESS (errors are raised).

    Raises:
      see BuildCreateOpcode and cli.SubmitOrSend.
    """
    op = BuildCreateOpcode(mode, opts, args)
    cli.SubmitOrSend(op, opts)
    return cli.EXIT_SUCCESS


def AddInstance(opts: Any, args: list[str]) -> int:
    """gnt-instance add: create an instance."""
    return GenericInstanceCreate(opcodes_base.INSTANCE_CREATE, opts, args)


def _LoadInstanceDefinitions(path: str) -> list[dict[str, Any]] | None:
    """The opcode dicts of a batch-create file, or None (error printed)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = serializer.LoadJson(handle.read())
    except (OSError, ValueError, errors.ParseError) as err:
        ToStderr("Can't parse the instance definition file: %s", err)
        return None
    if not (isinstance(data, list) and all(isinstance(i, dict) for i in data)):
        ToStderr("The instance definition file is not a list of dicts")
        return None
    return data


def _BatchOpcodes(instance_data: list[dict[str, Any]]) -> list[Any]:
    """OP_INSTANCE_CREATE opcodes of the definitions, validated.

    Raises:
      errors.OpPrereqError: an unknown or invalid parameter.
    """
    allowed = set(opcodes.OpInstanceCreate.GetAllSlots())
    result = []
    for idx, inst in enumerate(instance_data):
        unknown = sorted(set(inst) - allowed)
        if unknown:
            raise errors.OpPrereqError(
                f"Unknown fields in definition {idx}: {CommaJoin(unknown)}",
                errors.ECODE_INVAL)
        op = opcodes.OpInstanceCreate(**inst)
        op.Validate(False)
        result.append(op)
    return result


def BatchCreate(opts: Any, args: list[str]) -> int:
    """gnt-instance batch-create: create the instances of a JSON file.

    The file holds a list of OP_INSTANCE_CREATE parameter dicts; they are
    submitted as one OP_INSTANCE_MULTI_ALLOC, whose creation jobs are then
    followed.
    """
    instance_data = _LoadInstanceDefinitions(args[0])
    if instance_data is None:
        return cli.EXIT_FAILURE
    cl = cli.GetClient()
    op = opcodes.OpInstanceMultiAlloc(iallocator=opts.iallocator,
                                      instances=_BatchOpcodes(instance_data))
    result = cli.SubmitOrSend(op, opts, cl=cl)
    jex = cli.JobExecutor(cl=cl, opts=opts)
    for (status, job_id) in result[opcodes_base.JOB_IDS_KEY]:
        jex.AddJobId(None, status, job_id)
    bad_cnt = len([row for row in jex.GetResults() if not row[0]])
    if bad_cnt:
        ToStdout("There were %s errors during the creation.", bad_cnt)
        return cli.EXIT_FAILURE
    ToStdout("All instances created successfully.")
    return cli.EXIT_SUCCESS
