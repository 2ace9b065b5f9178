"""Command-line option machinery shared by the gnt-* commands.

Holds what Ganeti 3.0 keeps in lib/cli_opts.py: the argument descriptions
(Arg*), the extra optparse value types and the option objects every command
table refers to by name (DEBUG_OPT, NOHDR_OPT, SUBMIT_OPT, ...). ganeti.cli
re-exports all of it, so commands use ``cli.FORCE_OPT`` as in Ganeti.

Extra value types (the text a user types -> the value the command sees):

* ``unit``: a size such as "512" or "2G" -> MiB (utils.ParseUnit);
* ``keyval``: "a=1,no_b,-c,d" -> {"a": "1", "b": False, "c": None, "d": True};
  a backslash escapes a comma; a key given twice is an error;
* ``identkeyval``: "kvm:a=1" -> ("kvm", {"a": "1"}); "no_kvm" -> ("kvm",
  False) and "-kvm" -> ("kvm", None) remove or reset a whole group;
* ``multilistidentkeyval``: "min:a=1/max:a=2//min:..." -> list of dicts;
* ``bool``: yes/no/true/false; ``list``: "a,b" -> ["a", "b"];
* ``maybefloat``: a float or the word "default".
"""

from __future__ import annotations

import optparse
from typing import Any

from ganeti import constants, errors, opcodes_base, pathutils
from ganeti.utils.text import ParseUnit, UnescapeAndSplit

NO_PREFIX = "no_"
UN_PREFIX = "-"

_VALUE_DEFAULT = "default"
_VALUE_TRUE = "true"
_VALUE_FALSE = "false"

OP_PRIO_HIGH = opcodes_base.OP_PRIO_HIGH
OP_PRIO_NORMAL = opcodes_base.OP_PRIO_NORMAL
OP_PRIO_LOW = opcodes_base.OP_PRIO_LOW

#: Priority names accepted by --priority, lowest priority first (as Ganeti).
_PRIORITY_NAMES = [
    ("low", OP_PRIO_LOW),
    ("normal", OP_PRIO_NORMAL),
    ("high", OP_PRIO_HIGH),
]
_PRIONAME_TO_VALUE = dict(_PRIORITY_NAMES)

# Completion hints (numbers, so that they never look like a list of choices).
(OPT_COMPL_MANY_NODES,
 OPT_COMPL_ONE_NODE,
 OPT_COMPL_ONE_INSTANCE,
 OPT_COMPL_ONE_OS,
 OPT_COMPL_ONE_EXTSTORAGE,
 OPT_COMPL_ONE_IALLOCATOR,
 OPT_COMPL_ONE_NETWORK,
 OPT_COMPL_INST_ADD_NODES,
 OPT_COMPL_ONE_NODEGROUP) = range(100, 109)


# --- positional argument descriptions ----------------------------------------


class _Argument:
    """How many values of one kind a command takes (max None: unlimited)."""

    def __init__(self, min: int = 0, max: int | None = None) -> None:
        self.min = min
        self.max = max

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} min={self.min} max={self.max}>"


class ArgSuggest(_Argument):
    """An argument for which some values are suggested (any value is taken)."""

    def __init__(self, min: int = 0, max: int | None = None,
                 choices: list[str] | None = None) -> None:
        super().__init__(min=min, max=max)
        self.choices = choices

    def __repr__(self) -> str:
        return (f"<{self.__class__.__name__} min={self.min} max={self.max}"
                f" choices={self.choices!r}>")


class ArgChoice(ArgSuggest):
    """An argument that must be one of the choices (the command checks it)."""


class ArgUnknown(_Argument):
    """An argument whose kind is only known at run time."""


class ArgInstance(_Argument):
    """Instance names."""


class ArgNode(_Argument):
    """Node names."""


class ArgNetwork(_Argument):
    """Network names."""


class ArgGroup(_Argument):
    """Node group names."""


class ArgJobId(_Argument):
    """Job IDs."""


class ArgFile(_Argument):
    """File paths."""


class ArgCommand(_Argument):
    """A command (and its arguments)."""


class ArgHost(_Argument):
    """Host names."""


class ArgOs(_Argument):
    """OS names."""


class ArgExtStorage(_Argument):
    """ExtStorage provider names."""


ARGS_NONE: list[_Argument] = []
ARGS_MANY_INSTANCES = [ArgInstance()]
ARGS_MANY_NETWORKS = [ArgNetwork()]
ARGS_MANY_NODES = [ArgNode()]
ARGS_MANY_GROUPS = [ArgGroup()]
ARGS_ONE_INSTANCE = [ArgInstance(min=1, max=1)]
ARGS_ONE_NETWORK = [ArgNetwork(min=1, max=1)]
ARGS_ONE_NODE = [ArgNode(min=1, max=1)]
ARGS_ONE_GROUP = [ArgGroup(min=1, max=1)]
ARGS_ONE_OS = [ArgOs(min=1, max=1)]


# --- value types -------------------------------------------------------------


def check_unit(_option: optparse.Option, opt: str, value: str) -> int:
    """Parse a size with an optional unit into MiB.

    Raises:
      optparse.OptionValueError: not a valid size (optparse reports it).
    """
    try:
        return ParseUnit(value)
    except errors.UnitParseError as err:
        raise optparse.OptionValueError(f"option {opt}: {err}") from err


def _SplitKeyVal(opt: str, data: str, parse_prefixes: bool) -> dict[str, Any]:
    """Turn "k=v,k2=v2" into a dict.

    Without "=", an element is a flag when parse_prefixes is set: "no_k" gives
    False, "-k" gives None (reset to default), "k" gives True.

    Raises:
      errors.ParameterError: a key is repeated, or an element has no value
        and parse_prefixes is not set.
    """
    result: dict[str, Any] = {}
    if not data:
        return result
    for elem in UnescapeAndSplit(data, sep=","):
        value: Any
        if "=" in elem:
            key, value = elem.split("=", 1)
        elif not parse_prefixes:
            raise errors.ParameterError(
                f"Missing value for key '{elem}' in option {opt}")
        elif elem.startswith(NO_PREFIX):
            key, value = elem[len(NO_PREFIX):], False
        elif elem.startswith(UN_PREFIX):
            key, value = elem[len(UN_PREFIX):], None
        else:
            key, value = elem, True
        if key in result:
            raise errors.ParameterError(
                f"Duplicate key '{key}' in option {opt}")
        result[key] = value
    return result


def _SplitIdentKeyVal(opt: str, value: str,
                      parse_prefixes: bool) -> tuple[str, Any]:
    """Turn "ident:k=v,..." into (ident, {k: v}).

    "no_ident" gives (ident, False) and "-ident" (ident, None), unless the
    text after "-" starts with a digit (a negative index such as "-1:...").

    Raises:
      errors.ParameterError: parameters given while removing a group, or a
        bad key=value list.
    """
    ident, _, rest = value.partition(":")
    removing = parse_prefixes and (
        ident.startswith(NO_PREFIX)
        or (ident.startswith(UN_PREFIX)
            and not ident[len(UN_PREFIX):len(UN_PREFIX) + 1].isdigit()))
    if not removing:
        return ident, _SplitKeyVal(opt, rest, parse_prefixes)
    if rest:
        raise errors.ParameterError(
            f"Cannot pass options when removing parameter groups: {value}")
    if ident.startswith(NO_PREFIX):
        return ident[len(NO_PREFIX):], False
    return ident[len(UN_PREFIX):], None


def check_ident_key_val(_option: optparse.Option, opt: str,
                        value: str) -> tuple[str, Any]:
    """Type checker of "identkeyval" options."""
    return _SplitIdentKeyVal(opt, value, True)


def check_key_val(_option: optparse.Option, opt: str, value: str) -> dict[str, Any]:
    """Type checker of "keyval" options."""
    return _SplitKeyVal(opt, value, True)


def check_key_private_val(_option: optparse.Option, opt: str,
                          value: str) -> dict[str, Any]:
    """Type checker of "keyprivateval" options (secret values, never logged)."""
    return _SplitKeyVal(opt, value, True)


def _SplitListKeyVal(opt: str, value: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for elem in value.split("/"):
        if not elem:
            raise errors.ParameterError(f"Empty section in option '{opt}'")
        ident, valdict = _SplitIdentKeyVal(opt, elem, False)
        if ident in result:
            raise errors.ParameterError(
                f"Duplicated parameter '{ident}' in parsing {opt}: {elem}")
        result[ident] = valdict
    return result


def check_multilist_ident_key_val(_option: optparse.Option, opt: str,
                                  value: str) -> list[dict[str, dict[str, Any]]]:
    """Type checker of "multilistidentkeyval" ("a:k=v/b:k=v//a:...")."""
    return [_SplitListKeyVal(opt, line) for line in value.split("//")]


def ParseDiskState(entries: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """--disk-state values, [("lvm-vg/xenvg", {...})], as the opcodes take
    them: {"lvm-vg": {"xenvg": {...}}} (Ganeti's utils.FlatToDict).

    Raises:
      errors.OpPrereqError: an identifier is not "storage_type/name".
    """
    result: dict[str, dict[str, Any]] = {}
    for ident, params in entries:
        kind, sep, name = ident.partition("/")
        if not sep or not kind or not name:
            raise errors.OpPrereqError(f"Invalid disk state '{ident}', expected"
                                       " storage_type/identifier",
                                       errors.ECODE_INVAL)
        result.setdefault(kind, {})[name] = params
    return result


def check_bool(_option: optparse.Option, _opt: str, value: str) -> bool:
    """Type checker of "bool" options (yes/no/true/false, any case).

    Raises:
      errors.ParameterError: any other word.
    """
    lowered = value.lower()
    if lowered in (_VALUE_FALSE, "no"):
        return False
    if lowered in (_VALUE_TRUE, "yes"):
        return True
    raise errors.ParameterError(f"Invalid boolean value '{lowered}'")


def check_list(_option: optparse.Option, _opt: str, value: str) -> list[str]:
    """Type checker of "list" options; the empty text is the empty list."""
    if not value:
        return []
    return UnescapeAndSplit(value)


def check_maybefloat(_option: optparse.Option, opt: str, value: str) -> Any:
    """Type checker of "maybefloat" options: a float or "default".

    Raises:
      optparse.OptionValueError: neither.
    """
    lowered = value.lower()
    if lowered == _VALUE_DEFAULT:
        return lowered
    try:
        return float(lowered)
    except ValueError as err:
        raise optparse.OptionValueError(
            f"option {opt}: invalid number: {value!r}") from err


class CliOption(optparse.Option):
    """optparse option with Ganeti's extra types and a completion hint."""

    ATTRS = optparse.Option.ATTRS + ["completion_suggest"]
    TYPES = optparse.Option.TYPES + (
        "multilistidentkeyval",
        "identkeyval",
        "keyval",
        "keyprivateval",
        "unit",
        "bool",
        "list",
        "maybefloat",
    )
    TYPE_CHECKER = dict(optparse.Option.TYPE_CHECKER)
    TYPE_CHECKER["multilistidentkeyval"] = check_multilist_ident_key_val
    TYPE_CHECKER["identkeyval"] = check_ident_key_val
    TYPE_CHECKER["keyval"] = check_key_val
    TYPE_CHECKER["keyprivateval"] = check_key_private_val
    TYPE_CHECKER["unit"] = check_unit
    TYPE_CHECKER["bool"] = check_bool
    TYPE_CHECKER["list"] = check_list
    TYPE_CHECKER["maybefloat"] = check_maybefloat

    def __init__(self, *opts: str, **attrs: Any) -> None:
        # optparse takes every name of ATTRS (completion_suggest included) as
        # a keyword; spelled out so that type checkers accept the extra one.
        super().__init__(*opts, **attrs)


# Ganeti's name for the option factory (optparse calls it make_option).
cli_option = CliOption

_YORNO = "yes|no"


def _PriorityOptionCb(option: optparse.Option, _opt: str, value: str,
                      parser: optparse.OptionParser) -> None:
    """Store the number of a --priority name."""
    setattr(parser.values, str(option.dest), _PRIONAME_TO_VALUE[value])


# --- options used by every command -------------------------------------------

DEBUG_OPT = cli_option("-d", "--debug", default=0, action="count",
                       help="Increase the debugging level (repeatable)")

REASON_OPT = cli_option("--reason", default=None,
                        help="Why the command is run (kept in the job's"
                        " reason trail)")

#: Options every command accepts, added by GenericMain.
COMMON_OPTS = [DEBUG_OPT, REASON_OPT]

# --- output of list commands -------------------------------------------------

NOHDR_OPT = cli_option("--no-headers", default=False, action="store_true",
                       dest="no_headers", help="Do not print the header line")

SEP_OPT = cli_option("--separator", default=None, action="store",
                     dest="separator",
                     help="Field separator (default: align columns with"
                     " spaces)")

USEUNITS_OPT = cli_option("--units", default=None, dest="units",
                          choices=("h", "m", "g", "t"),
                          help="Units of sizes: h (human-readable), m, g or t")
UNITS_OPT = USEUNITS_OPT

FIELDS_OPT = cli_option("-o", "--output", dest="output", action="store",
                        type="string", metavar="FIELDS",
                        help="Comma-separated fields to show; a leading '+'"
                        " adds them to the default ones")

VERBOSE_OPT = cli_option("-v", "--verbose", default=False, action="store_true",
                         help="Be more verbose")

FORCE_FILTER_OPT = cli_option("-F", "--filter", dest="force_filter",
                              action="store_true", default=False,
                              help="Take the argument as a query filter")
FILTER_OPT = FORCE_FILTER_OPT

INTERVAL_OPT = cli_option("--interval", dest="interval", type="int",
                          default=None,
                          help="Repeat the command every this many seconds")

ROMAN_OPT = cli_option("--roman", dest="roman_integers", default=False,
                       action="store_true",
                       help="Print positive integers as roman numerals")

# --- job submission ----------------------------------------------------------

SUBMIT_OPT = cli_option("--submit", dest="submit_only", default=False,
                        action="store_true",
                        help="Print the job ID and exit instead of waiting"
                        " for the job")

PRINT_JOBID_OPT = cli_option("--print-jobid", dest="print_jobid", default=False,
                             action="store_true",
                             help="Also print the job ID on the first line of"
                             " the output")

SUBMIT_OPTS = [SUBMIT_OPT, PRINT_JOBID_OPT]

DRY_RUN_OPT = cli_option("--dry-run", default=False, action="store_true",
                         help="Only check whether the operation could run,"
                         " without running it")

PRIORITY_OPT = cli_option("--priority", default=None, dest="priority",
                          metavar="|".join(name for name, _ in _PRIORITY_NAMES),
                          choices=list(_PRIONAME_TO_VALUE), action="callback",
                          type="choice", callback=_PriorityOptionCb,
                          help="Priority of the job (low, normal or high)")

FORCE_OPT = cli_option("-f", "--force", dest="force", action="store_true",
                       default=False, help="Do not ask for confirmation")

CONFIRM_OPT = cli_option("--yes", dest="confirm", action="store_true",
                         default=False, help="Do not ask for confirmation")

YES_DOIT_OPT = cli_option("--yes-do-it", "--ya-rly", dest="yes_do_it",
                          action="store_true", default=False,
                          help="Confirm a dangerous operation")

TAG_SRC_OPT = cli_option("--from", dest="tags_source", default=None,
                         help="Read tags from this file ('-' for stdin)")

TAG_ADD_OPT = cli_option("--tags", dest="tags", default=None,
                         help="Comma-separated tags")

NODE_LIST_OPT = cli_option("-n", "--node", dest="nodes", default=[],
                           action="append", metavar="<node>",
                           completion_suggest=OPT_COMPL_ONE_NODE,
                           help="Use this node (repeatable; default: all"
                           " nodes)")

NODEGROUP_OPT = cli_option("-g", "--node-group", dest="nodegroup", default=None,
                           type="string", metavar="<nodegroup>",
                           completion_suggest=OPT_COMPL_ONE_NODEGROUP,
                           help="Node group (name or UUID)")

# --- cluster and group parameters --------------------------------------------

BACKEND_OPT = cli_option("-B", "--backend-parameters", dest="beparams",
                         type="keyval", default={},
                         help="Backend parameters (k=v,...)")

NIC_PARAMS_OPT = cli_option("-N", "--nic-parameters", dest="nicparams",
                            type="keyval", default={},
                            help="NIC parameters (k=v,...)")

NODE_PARAMS_OPT = cli_option("--node-parameters", dest="ndparams",
                             type="keyval", default=None,
                             help="Node parameters (k=v,...)")

HVLIST_OPT = cli_option("-H", "--hypervisor-parameters", dest="hvparams",
                        default=[], action="append", type="identkeyval",
                        help="Hypervisor parameters, as"
                        " hypervisor:k=v,... (repeatable)")

DISK_PARAMS_OPT = cli_option("-D", "--disk-parameters", dest="diskparams",
                             default=[], action="append", type="identkeyval",
                             help="Disk template parameters, as"
                             " template:k=v,... (repeatable)")

HV_STATE_OPT = cli_option("--hypervisor-state", default=[], dest="hv_state",
                          action="append", type="identkeyval",
                          help="Hypervisor state, as hypervisor:k=v,..."
                          " (currently unused)")

DISK_STATE_OPT = cli_option("--disk-state", default=[], dest="disk_state",
                            action="append", type="identkeyval",
                            help="Disk state, as storage_type/id:k=v,..."
                            " (currently unused)")

CP_SIZE_OPT = cli_option("-C", "--candidate-pool-size", default=None,
                         dest="candidate_pool_size", type="int",
                         help="Number of master candidates to keep")

ENABLED_HV_OPT = cli_option("--enabled-hypervisors", dest="enabled_hypervisors",
                            type="string", default=None,
                            help="Comma-separated hypervisors; the first is"
                            " the default one")

ENABLED_DISK_TEMPLATES_OPT = cli_option(
    "--enabled-disk-templates", dest="enabled_disk_templates", type="string",
    default=None, help="Comma-separated disk templates instances may use")

MAC_PREFIX_OPT = cli_option("-m", "--mac-prefix", dest="mac_prefix",
                            metavar="PREFIX", default=None,
                            help="Prefix of generated MAC addresses"
                            " (XX:XX:XX)")

MASTER_NETDEV_OPT = cli_option("--master-netdev", dest="master_netdev",
                               metavar="NETDEV", default=None,
                               help="Interface the master IP address is added"
                               f" to (default {constants.DEFAULT_BRIDGE})")

MASTER_NETMASK_OPT = cli_option("--master-netmask", dest="master_netmask",
                                metavar="NETMASK", default=None,
                                help="Prefix length of the master IP address")

USE_EXTERNAL_MIP_SCRIPT = cli_option(
    "--use-external-mip-script", dest="use_external_mip_script", type="bool",
    metavar=_YORNO, default=None,
    help="Set up the master IP address with a user-provided script")

GLOBAL_FILEDIR_OPT = cli_option(
    "--file-storage-dir", dest="file_storage_dir", metavar="DIR", default=None,
    help="Directory of file-based disks"
    f" (default {pathutils.DEFAULT_FILE_STORAGE_DIR})")

GLOBAL_SHARED_FILEDIR_OPT = cli_option(
    "--shared-file-storage-dir", dest="shared_file_storage_dir",
    metavar="SHAREDDIR", default=None,
    help="Directory of shared file-based disks"
    f" (default {pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR})")

GLOBAL_GLUSTER_FILEDIR_OPT = cli_option(
    "--gluster-storage-dir", dest="gluster_storage_dir", metavar="GLUSTERDIR",
    default=pathutils.DEFAULT_GLUSTER_STORAGE_DIR,
    help="Where Gluster file systems are mounted"
    f" (default {pathutils.DEFAULT_GLUSTER_STORAGE_DIR})")

NOMODIFY_ETCHOSTS_OPT = cli_option("--no-etc-hosts", dest="modify_etc_hosts",
                                   action="store_false", default=True,
                                   help="Do not maintain /etc/hosts")

NOMODIFY_SSH_SETUP_OPT = cli_option("--no-ssh-init", dest="modify_ssh_setup",
                                    action="store_false", default=True,
                                    help="Do not set up SSH keys")

SECONDARY_IP_OPT = cli_option("-s", "--secondary-ip", dest="secondary_ip",
                              metavar="ADDRESS", default=None,
                              help="Secondary (replication) IP of the node")

VG_NAME_OPT = cli_option("--vg-name", dest="vg_name", metavar="VG", default=None,
                         help="LVM volume group of the cluster (enables LVM)")

MAINTAIN_NODE_HEALTH_OPT = cli_option(
    "--maintain-node-health", dest="maintain_node_health", metavar=_YORNO,
    default=None, type="bool",
    help="Let the watcher stop unknown instances and DRBD devices")

UIDPOOL_OPT = cli_option("--uid-pool", default=None, action="store",
                         dest="uid_pool",
                         help="User IDs or ranges (a-b), comma-separated")

DRBD_HELPER_OPT = cli_option("--drbd-usermode-helper", dest="drbd_helper",
                             action="store", default=None,
                             help="DRBD usermode helper")

DEFAULT_IALLOCATOR_OPT = cli_option("-I", "--default-iallocator",
                                    metavar="<NAME>", default=None,
                                    type="string",
                                    completion_suggest=OPT_COMPL_ONE_IALLOCATOR,
                                    help="Default instance allocator")

DEFAULT_IALLOCATOR_PARAMS_OPT = cli_option(
    "--default-iallocator-params", dest="default_iallocator_params",
    type="keyval", default={}, help="Parameters of the default allocator")

PRIMARY_IP_VERSION_OPT = cli_option(
    "--primary-ip-version", default=constants.IP4_VERSION, action="store",
    dest="primary_ip_version",
    metavar=f"{constants.IP4_VERSION}|{constants.IP6_VERSION}",
    help="IP version of the nodes' primary addresses")

PREALLOC_WIPE_DISKS_OPT = cli_option(
    "--prealloc-wipe-disks", default=None, type="bool", metavar=_YORNO,
    dest="prealloc_wipe_disks", help="Wipe new disks before using them")

INSTALL_IMAGE_OPT = cli_option("--install-image", dest="install_image",
                               metavar="<image>", default=None,
                               help="Image of the helper VM that installs OSes")

ZEROING_IMAGE_OPT = cli_option("--zeroing-image", dest="zeroing_image",
                               metavar="<image>", default=None,
                               help="Image used to zero free disk space")

COMPRESSION_TOOLS_OPT = cli_option(
    "--compression-tools", dest="compression_tools", type="list", default=None,
    help="Comma-separated compression tools allowed for exports")

ENABLED_USER_SHUTDOWN_OPT = cli_option(
    "--user-shutdown", dest="enabled_user_shutdown", type="bool",
    metavar=_YORNO, default=None,
    help="Allow instances to be shut down from inside")

SSH_KEY_TYPE_OPT = cli_option("--ssh-key-type", dest="ssh_key_type",
                              default=None, choices=["rsa", "dsa", "ecdsa"],
                              help="Type of the cluster's SSH keys")

SSH_KEY_BITS_OPT = cli_option("--ssh-key-bits", dest="ssh_key_bits",
                              default=None, type="int",
                              help="Length of the cluster's SSH keys")

# --- instance policy ---------------------------------------------------------

SPECS_MEM_SIZE_OPT = cli_option("--specs-mem-size", dest="ispecs_mem_size",
                                type="keyval", default={},
                                help="Memory size specs (min/max/std=size)")

SPECS_CPU_COUNT_OPT = cli_option("--specs-cpu-count", dest="ispecs_cpu_count",
                                 type="keyval", default={},
                                 help="CPU count specs (min/max/std=n)")

SPECS_DISK_COUNT_OPT = cli_option("--specs-disk-count",
                                  dest="ispecs_disk_count", type="keyval",
                                  default={},
                                  help="Disk count specs (min/max/std=n)")

SPECS_DISK_SIZE_OPT = cli_option("--specs-disk-size", dest="ispecs_disk_size",
                                 type="keyval", default={},
                                 help="Disk size specs (min/max/std=size)")

SPECS_NIC_COUNT_OPT = cli_option("--specs-nic-count", dest="ispecs_nic_count",
                                 type="keyval", default={},
                                 help="NIC count specs (min/max/std=n)")

IPOLICY_BOUNDS_SPECS_STR = "--ipolicy-bounds-specs"
IPOLICY_BOUNDS_SPECS_OPT = cli_option(
    IPOLICY_BOUNDS_SPECS_STR, dest="ipolicy_bounds_specs",
    type="multilistidentkeyval", default=None,
    help="Instance spec bounds, as min:k=v,.../max:k=v,...[//...]")

IPOLICY_STD_SPECS_STR = "--ipolicy-std-specs"
IPOLICY_STD_SPECS_OPT = cli_option(IPOLICY_STD_SPECS_STR,
                                   dest="ipolicy_std_specs", type="keyval",
                                   default=None,
                                   help="Standard instance specs (k=v,...)")

IPOLICY_DISK_TEMPLATES = cli_option("--ipolicy-disk-templates",
                                    dest="ipolicy_disk_templates", type="list",
                                    default=None,
                                    help="Comma-separated disk templates the"
                                    " policy allows")

IPOLICY_VCPU_RATIO = cli_option("--ipolicy-vcpu-ratio",
                                dest="ipolicy_vcpu_ratio", type="maybefloat",
                                default=None,
                                help="Highest virtual to physical CPU ratio")

IPOLICY_SPINDLE_RATIO = cli_option("--ipolicy-spindle-ratio",
                                   dest="ipolicy_spindle_ratio",
                                   type="maybefloat", default=None,
                                   help="Highest instances to spindles ratio")

INSTANCE_POLICY_OPTS = [
    IPOLICY_BOUNDS_SPECS_OPT,
    IPOLICY_DISK_TEMPLATES,
    IPOLICY_VCPU_RATIO,
    IPOLICY_SPINDLE_RATIO,
]

SPLIT_ISPECS_OPTS = [
    SPECS_CPU_COUNT_OPT,
    SPECS_DISK_COUNT_OPT,
    SPECS_DISK_SIZE_OPT,
    SPECS_MEM_SIZE_OPT,
    SPECS_NIC_COUNT_OPT,
]

# --- instances (gnt-instance, gnt-node migrate/failover/evacuate) -----------
# Names, destinations and defaults as Ganeti 3.0's lib/cli_opts.py.

_REBOOT_HARD = "hard"
_IEC_NONE = "none"
_SHUTDOWN_TIMEOUT = opcodes_base.DEFAULT_SHUTDOWN_TIMEOUT


def _Flag(*names: str, dest: str, help: str, store: bool = True) -> CliOption:
    """A boolean flag: store_true (default False) or store_false (True)."""
    return cli_option(*names, dest=dest, default=not store, help=help,
                      action="store_true" if store else "store_false")


OS_OPT = cli_option("-o", "--os-type", dest="os", metavar="<os>",
                    completion_suggest=OPT_COMPL_ONE_OS,
                    help="Operating system (os+variant) of the instance")
OSPARAMS_OPT = cli_option("-O", "--os-parameters", dest="osparams",
                          type="keyval", default={}, help="OS parameters (k=v,...)")
OSPARAMS_PRIVATE_OPT = cli_option(
    "--os-parameters-private", dest="osparams_private", type="keyprivateval",
    default={}, help="Private OS parameters (k=v,...; never logged)")
OSPARAMS_SECRET_OPT = cli_option(
    "--os-parameters-secret", dest="osparams_secret", type="keyprivateval",
    default={}, help="Secret OS parameters (k=v,...; neither logged nor"
    " stored, so give them on every operation)")
FORCE_VARIANT_OPT = _Flag("--force-variant", dest="force_variant",
                          help="Accept an OS variant the OS does not list")
HVOPTS_OPT = cli_option("-H", "--hypervisor-parameters", dest="hvparams",
                        type="keyval", default={},
                        help="Hypervisor parameters (k=v,...)")
HYPERVISOR_OPT = cli_option("-H", "--hypervisor-parameters", dest="hypervisor",
                            type="identkeyval", default=None,
                            help="Hypervisor and its parameters, as"
                            " hypervisor:k=v,...")
DISK_TEMPLATE_OPT = cli_option("-t", "--disk-template", dest="disk_template",
                               default=None, metavar="TEMPL",
                               choices=sorted(constants.DISK_TEMPLATES),
                               help="Disk template: "
                               + ", ".join(sorted(constants.DISK_TEMPLATES)))
DISK_OPT = cli_option("--disk", dest="disks", default=[], action="append",
                      type="identkeyval",
                      help="Disk parameters, as N:size=S[,mode=ro|rw,...]")
OS_SIZE_OPT = cli_option("-s", "--os-size", dest="sd_size", default=None,
                         type="unit", metavar="<size>",
                         help="A single disk of this size (MiB unless a unit"
                         " is given)")
NET_OPT = cli_option("--net", dest="nics", default=[], action="append",
                     type="identkeyval",
                     help="NIC parameters, as N:mac=..,ip=..,mode=..,link=..")
NONICS_OPT = _Flag("--no-nics", dest="no_nics",
                   help="Create the instance without network cards")
FILESTORE_DIR_OPT = cli_option("--file-storage-dir", dest="file_storage_dir",
                               default=None, metavar="<DIR>",
                               help="Directory of the file disks, relative to"
                               " the cluster's file storage directory")
FILESTORE_DRIVER_OPT = cli_option("--file-driver", dest="file_driver",
                                  default=None, metavar="<DRIVER>",
                                  choices=list(opcodes_base.FILE_DRIVERS),
                                  help="Driver of the file disks")
IALLOCATOR_OPT = cli_option("-I", "--iallocator", metavar="<NAME>", default=None,
                            type="string",
                            completion_suggest=OPT_COMPL_ONE_IALLOCATOR,
                            help="Let the <NAME> instance allocator choose the"
                            " nodes")
NODE_PLACEMENT_OPT = cli_option("-n", "--node", dest="node",
                                metavar="<pnode>[:<snode>]",
                                completion_suggest=OPT_COMPL_INST_ADD_NODES,
                                help="Primary node and optional secondary node")
SINGLE_NODE_OPT = cli_option("-n", "--node", dest="node", metavar="<node>",
                             completion_suggest=OPT_COMPL_ONE_NODE,
                             help="Target node")
DST_NODE_OPT = cli_option("-n", "--target-node", dest="dst_node", default=None,
                          metavar="NODE", completion_suggest=OPT_COMPL_ONE_NODE,
                          help="New node of the instance")
NEW_SECONDARY_OPT = cli_option("-n", "--new-secondary", dest="dst_node",
                               default=None, metavar="NODE",
                               completion_suggest=OPT_COMPL_ONE_NODE,
                               help="New secondary node")
NEW_PRIMARY_OPT = cli_option("--new-primary", dest="new_primary_node",
                             default=None, metavar="<node>",
                             completion_suggest=OPT_COMPL_ONE_NODE,
                             help="New primary node")
NOIPCHECK_OPT = _Flag("--no-ip-check", dest="ip_check", store=False,
                      help="Do not check that the instance's IP is unused")
NONAMECHECK_OPT = _Flag("--no-name-check", dest="name_check", store=False,
                        help="Do not check that the instance's name resolves")
IPCHECK_OPT = cli_option("--ip-check", dest="ip_check", default=True,
                         action="store_true",
                         help="Check that the instance's IP is unused (default)")
NAMECHECK_OPT = cli_option("--name-check", dest="name_check", default=True,
                           action="store_true",
                           help="Check that the instance's name resolves"
                           " (default)")
NOCONFLICTSCHECK_OPT = _Flag("--no-conflicts-check", dest="conflicts_check",
                             store=False,
                             help="Do not check for conflicting IP addresses")
NWSYNC_OPT = _Flag("--no-wait-for-sync", dest="wait_for_sync", store=False,
                   help="Do not wait for the disks to synchronise (dangerous)")
WFSYNC_OPT = _Flag("--wait-for-sync", dest="wait_for_sync",
                   help="Wait for the disks to synchronise")
OPPORTUNISTIC_OPT = _Flag("--opportunistic-locking",
                          dest="opportunistic_locking",
                          help="Take only the node locks that are free")
NOSTART_OPT = _Flag("--no-start", dest="start", store=False,
                    help="Do not start the instance once created")
NO_INSTALL_OPT = _Flag("--no-install", dest="no_install",
                       help="Do not install the OS (implies --no-start)")
FORTHCOMING_OPT = _Flag("--forthcoming", dest="forthcoming",
                        help="Only reserve the resources of the instance")
COMMIT_OPT = _Flag("--commit", dest="commit",
                   help="Create an instance reserved with --forthcoming")
IGNORE_IPOLICY_OPT = _Flag("--ignore-ipolicy", dest="ignore_ipolicy",
                           help="Ignore violations of the instance policy")
INSTANCE_COMMUNICATION_OPT = cli_option(
    "-c", "--communication", "--instance-communication",
    dest="instance_communication", type="bool",
    metavar=_YORNO, help="Give the instance a NIC on the instance"
    " communication network")
HELPER_STARTUP_TIMEOUT_OPT = cli_option(
    "--helper-startup-timeout", dest="helper_startup_timeout", type="int",
    help="Startup timeout of the installation helper VM")
HELPER_SHUTDOWN_TIMEOUT_OPT = cli_option(
    "--helper-shutdown-timeout", dest="helper_shutdown_timeout", type="int",
    help="Shutdown timeout of the installation helper VM")
SHUTDOWN_TIMEOUT_OPT = cli_option("--shutdown-timeout", dest="shutdown_timeout",
                                  type="int", default=_SHUTDOWN_TIMEOUT,
                                  help="Seconds to wait for the instance to"
                                  " shut down")
TIMEOUT_OPT = cli_option("--timeout", dest="timeout", type="int",
                         default=_SHUTDOWN_TIMEOUT,
                         help="Seconds to wait for the instance to shut down")
IGNORE_FAILURES_OPT = _Flag("--ignore-failures", dest="ignore_failures",
                            help="Remove the instance from the configuration"
                            " even if removing its disks fails")
IGNORE_OFFLINE_OPT = _Flag("--ignore-offline", dest="ignore_offline",
                           help="Ignore offline nodes and do what is possible")
NO_REMEMBER_OPT = _Flag("--no-remember", dest="no_remember",
                        help="Change the state without recording it in the"
                        " configuration")
STARTUP_PAUSED_OPT = _Flag("--paused", dest="startup_paused",
                           help="Start the instance paused")
REBOOT_TYPE_OPT = cli_option("-t", "--type", dest="reboot_type",
                             default=_REBOOT_HARD, metavar="<REBOOT>",
                             choices=list(opcodes_base.REBOOT_TYPES),
                             help="Reboot type: soft, hard or full")
IGNORE_SECONDARIES_OPT = _Flag("--ignore-secondaries",
                               dest="ignore_secondaries",
                               help="Ignore errors of the secondary nodes")
SHOWCMD_OPT = _Flag("--show-cmd", dest="show_command",
                    help="Print the command instead of running it")
STATIC_OPT = _Flag("-s", "--static", dest="static",
                   help="Only configuration data, no live state")
ALL_OPT = _Flag("--all", dest="show_all",
                help="Every instance of the cluster (may take long)")
SELECT_OS_OPT = _Flag("--select-os", dest="select_os",
                      help="Choose the new OS from a list")
IGNORE_CONSIST_OPT = _Flag("--ignore-consistency", dest="ignore_consistency",
                           help="Ignore the consistency of the disks on the"
                           " secondary node")
IGNORE_HVVERSIONS_OPT = _Flag("--ignore-hvversions", dest="ignore_hvversions",
                              help="Ignore differing hypervisor versions of"
                              " source and target")
ALLOW_FAILOVER_OPT = _Flag("--allow-failover", dest="allow_failover",
                           help="Fail over when migration is impossible")
NONLIVE_OPT = _Flag("--non-live", dest="live", store=False,
                    help="Non-live migration: pause, copy, resume on the"
                    " target")
MIGRATION_MODE_OPT = cli_option("--migration-mode", dest="migration_mode",
                                default=None,
                                choices=list(opcodes_base.HT_MIGRATION_MODES),
                                help="Migration mode: live or non-live")
NORUNTIME_CHGS_OPT = _Flag("--no-runtime-changes", dest="allow_runtime_chgs",
                           store=False,
                           help="Do not change runtime memory to migrate")
CLEANUP_OPT = _Flag("--cleanup", dest="cleanup",
                    help="Recover from a failed migration instead of"
                    " migrating (safe on a healthy instance)")
COMPRESS_OPT = cli_option("--compress", dest="compress", type="string",
                          default=_IEC_NONE,
                          help="Compression of the copied data")
EARLY_RELEASE_OPT = _Flag("--early-release", dest="early_release",
                          help="Release the secondary node locks early")
PRIMARY_ONLY_OPT = _Flag("-p", "--primary-only", dest="primary_only",
                         help="Evacuate primary instances only")
SECONDARY_ONLY_OPT = _Flag("-s", "--secondary-only", dest="secondary_only",
                           help="Evacuate secondary instances only")
IGNORE_SOFT_ERRORS_OPT = _Flag("--ignore-soft-errors", dest="ignore_soft_errors",
                               help="Let the allocator ignore soft errors"
                               " (N+1 violations)")
IGNORE_SIZE_OPT = _Flag("--ignore-size", dest="ignore_size",
                        help="Ignore the recorded disk sizes")
ABSOLUTE_OPT = _Flag("--absolute", dest="absolute",
                     help="The size is the new size, not the growth")
ONLINE_INST_OPT = _Flag("--online", dest="online_inst",
                        help="Mark an offline instance online")
OFFLINE_INST_OPT = _Flag("--offline", dest="offline_inst",
                         help="Mark a stopped instance offline")
RUNTIME_MEM_OPT = cli_option("-m", "--runtime-memory", dest="runtime_mem",
                             default=None, type="unit", metavar="<size>",
                             help="Balloon the running instance's memory to"
                             " this size")
HOTPLUG_OPT = _Flag("--hotplug", dest="hotplug",
                    help="Hotplug the changed NICs and disks")
HOTPLUG_IF_POSSIBLE_OPT = _Flag("--hotplug-if-possible",
                                dest="hotplug_if_possible",
                                help="Hotplug if the hypervisor supports it")
NOHOTPLUG_OPT = cli_option("--no-hotplug", dest="hotplug", default=False,
                           action="store_false",
                           help="Do not hotplug (the default of 3.0)")
EXT_PARAMS_OPT = cli_option("-e", "--ext-params", dest="ext_params",
                            type="keyval", default={},
                            help="ExtStorage parameters for a conversion, as"
                            " provider=name[,k=v,...]")
TO_GROUP_OPT = cli_option("--to", dest="to", metavar="<group>", default=None,
                          action="append",
                          completion_suggest=OPT_COMPL_ONE_NODEGROUP,
                          help="Target node group (name or UUID)")

#: Options of instance creation shared by gnt-instance add and gnt-backup
#: import, which add their own.
COMMON_CREATE_OPTS = [
    BACKEND_OPT, DISK_OPT, DISK_TEMPLATE_OPT, FILESTORE_DIR_OPT,
    FILESTORE_DRIVER_OPT, HYPERVISOR_OPT, IALLOCATOR_OPT, NET_OPT,
    NODE_PLACEMENT_OPT, NODEGROUP_OPT, NOIPCHECK_OPT, IPCHECK_OPT,
    NOCONFLICTSCHECK_OPT, NONAMECHECK_OPT, NAMECHECK_OPT, NONICS_OPT,
    NWSYNC_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, OSPARAMS_SECRET_OPT,
    OS_SIZE_OPT, OPPORTUNISTIC_OPT, SUBMIT_OPT, PRINT_JOBID_OPT, TAG_ADD_OPT,
    DRY_RUN_OPT, PRIORITY_OPT,
]
