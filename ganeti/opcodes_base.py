"""Opcode machinery: parameters, serialisation, validation, summaries.

An opcode is plain data: a class per operation whose `OP_PARAMS` table lists
`Param(name, default, check, doc)` rows. The metaclass turns that table into
`__slots__`, derives `OP_ID` from the class name (OpTestDelay ->
OP_TEST_DELAY) and collects the parameters of the class and its bases (own
ones first, then the common ones every opcode has). The opcode catalog itself
lives in ganeti/opcodes.py.

Design notes:
- A parameter that was never set has no attribute at all (slots), so "unset"
  and "set to None" stay distinct; `__getstate__` holds only the set ones and
  `Validate(True)` fills in every default, as Ganeti's lib/opcodes_base.py.
- Validation reports the opcode, the parameter and the expected type, and
  raises OpPrereqError with ECODE_INVAL: bad input is the caller's fault.
- `Summary()` reproduces what luxid shows in the job "summary" field
  (src/Ganeti/OpCodes.hs opSummary), which is what users see in
  `gnt-job list`; this is why a float duration reads "1.0e-3".
"""

from __future__ import annotations

import copy
import decimal
import ipaddress
import math
import re
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from ganeti import errors, ht

# --- priorities ---------------------------------------------------------------
OP_PRIO_HIGHEST = -20
OP_PRIO_HIGH = -10
OP_PRIO_NORMAL = 0
OP_PRIO_LOW = 10
OP_PRIO_LOWEST = 19
OP_PRIO_DEFAULT = OP_PRIO_NORMAL
# The only priorities a client may submit (gnt-* --priority high|normal|low);
# the queue itself may raise a waiting opcode's priority up to OP_PRIO_HIGHEST.
OP_PRIO_SUBMIT_VALID = frozenset([OP_PRIO_HIGH, OP_PRIO_NORMAL, OP_PRIO_LOW])

# --- job and opcode statuses (spec/jobs.md section 2) -------------------------
JOB_STATUS_QUEUED = "queued"
JOB_STATUS_WAITING = "waiting"
JOB_STATUS_CANCELING = "canceling"
JOB_STATUS_RUNNING = "running"
JOB_STATUS_CANCELED = "canceled"
JOB_STATUS_SUCCESS = "success"
JOB_STATUS_ERROR = "error"
JOBS_PENDING = frozenset([JOB_STATUS_QUEUED, JOB_STATUS_WAITING,
                          JOB_STATUS_CANCELING])
JOBS_FINALIZED = frozenset([JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS,
                            JOB_STATUS_ERROR])
JOB_STATUS_ALL = JOBS_PENDING | JOBS_FINALIZED | {JOB_STATUS_RUNNING}

OP_STATUS_QUEUED = "queued"
OP_STATUS_WAITING = "waiting"
OP_STATUS_CANCELING = "canceling"
OP_STATUS_RUNNING = "running"
OP_STATUS_CANCELED = "canceled"
OP_STATUS_SUCCESS = "success"
OP_STATUS_ERROR = "error"
OPS_FINALIZED = frozenset([OP_STATUS_CANCELED, OP_STATUS_SUCCESS,
                           OP_STATUS_ERROR])

# Answer of WaitForJobChanges when nothing changed before the timeout.
JOB_NOTCHANGED = "nochange"

# --- job log entry types ------------------------------------------------------
ELOG_MESSAGE = "message"
# Only used between an LU's Feedback and the queue; never stored in a job.
ELOG_MESSAGE_LIST = "message-list"
ELOG_REMOTE_IMPORT = "remote-import"
ELOG_JQUEUE_TEST = "jqueue-test"
ELOG_DELAY_TEST = "delay-test"

# --- reason trail (doc/design-reason-trail.rst) -------------------------------
OPCODE_REASON = "reason"
OPCODE_REASON_SRC_CLIENT = "gnt:client"
OPCODE_REASON_SRC_NODED = "gnt:daemon:noded"
OPCODE_REASON_SRC_OPCODE = "gnt:opcode"
OPCODE_REASON_SRC_PICKUP = "gnt:daemon:masterd:pickup"
OPCODE_REASON_SRC_RLIB2 = "gnt:library:rlib2"
OPCODE_REASON_SRC_USER = "gnt:user"
OPCODE_REASON_SRC_WATCHER = "gnt:watcher"
OPCODE_REASON_SOURCES = frozenset([
    OPCODE_REASON_SRC_CLIENT, OPCODE_REASON_SRC_NODED, OPCODE_REASON_SRC_OPCODE,
    OPCODE_REASON_SRC_PICKUP, OPCODE_REASON_SRC_RLIB2, OPCODE_REASON_SRC_USER,
    OPCODE_REASON_SRC_WATCHER])

# Attribute names of the chained-jobs and comment parameters.
DEPEND_ATTR = "depends"
COMMENT_ATTR = "comment"

# Key of the follow-up job list in an LU result (ResultWithJobs).
JOB_IDS_KEY = "jobs"

# Shorter prefixes for TinySummary (thread names, process titles).
SUMMARY_PREFIX = {
    "CLUSTER_": "C_",
    "GROUP_": "G_",
    "NODE_": "N_",
    "INSTANCE_": "I_",
}

# --- values of opcode parameters (spec/opcodes.md section 3) ----------------
# Ganeti keeps these in constants.py; they live here, next to the opcode
# machinery, until ours has them.
INSTANCE_CREATE = "create"
INSTANCE_IMPORT = "import"
INSTANCE_REMOTE_IMPORT = "remote-import"
INSTANCE_CREATE_MODES = (INSTANCE_CREATE, INSTANCE_IMPORT, INSTANCE_REMOTE_IMPORT)
REBOOT_TYPES = ("soft", "hard", "full")
HT_MIGRATION_MODES = ("live", "non-live")
NODE_EVAC_MODES = ("primary-only", "secondary-only", "all")
REPLACE_MODES = ("replace_on_primary", "replace_on_secondary",
                 "replace_new_secondary", "replace_auto")
EXPORT_MODES = ("local", "remote")
VALID_TAG_TYPES = ("cluster", "node", "nodegroup", "instance", "network")
FILE_DRIVERS = ("loop", "blktap", "blktap2")
OOB_COMMANDS = ("health", "power-cycle", "power-off", "power-on", "power-status")
VALID_STORAGE_TYPES = ("file", "sharedfile", "gluster", "lvm-pv", "lvm-vg",
                       "diskless", "blockdev", "rados", "ext")
VALID_IALLOCATOR_MODES = ("allocate", "allocate-secondary", "multi-allocate",
                          "relocate", "node-evacuate", "change-group")
VALID_IALLOCATOR_DIRECTIONS = ("in", "out")
ADMIN_STATE_SOURCES = ("admin", "user")
DISK_ACCESS_SET = ("ro", "rw")
VERIFY_OPTIONAL_CHECKS = ("nplusone_mem", "hvparam_assessment")
SSHK_ALL = ("rsa", "dsa", "ecdsa")
# OP_QUERY "what" (Qlang.QueryTypeOp)
QUERY_TYPES = ("cluster", "node", "group", "instance", "os", "extstorage",
               "export", "network", "job", "lock", "filter")
DDMS_VALUES = ("add", "remove")
DDMS_VALUES_WITH_MODIFY = ("add", "attach", "remove", "detach", "modify")
INIC_PARAMS = ("mac", "ip", "mode", "link", "name", "vlan", "bridge", "network")
# Result status codes of query rows (RS_NORMAL .. RS_OFFLINE).
RS_ALL = (0, 1, 2, 3, 4)
ALLOCATABLE_KEY = "allocatable"
FAILED_KEY = "failed"
DEFAULT_SHUTDOWN_TIMEOUT = 120
# Cluster verify error codes (Ganeti Types.hs CVErrorCode).
CV_ALL_ECODES_STRINGS = frozenset([
    "ECLUSTERCERT", "ECLUSTERCLIENTCERT", "ECLUSTERCFG", "ECLUSTERDANGLINGINST",
    "ECLUSTERDANGLINGNODES", "ECLUSTERFILECHECK", "EGROUPDIFFERENTPVSIZE",
    "EINSTANCEBADNODE", "EINSTANCEDOWN", "EINSTANCEFAULTYDISK",
    "EINSTANCELAYOUT", "EINSTANCEMISSINGCFGPARAMETER", "EINSTANCEMISSINGDISK",
    "EINSTANCEPOLICY", "EINSTANCESPLITGROUPS", "EINSTANCEUNSUITABLENODE",
    "EINSTANCEWRONGNODE", "ENODEDRBD", "ENODEDRBDHELPER", "ENODEDRBDVERSION",
    "ENODEFILECHECK", "ENODEFILESTORAGEPATHS", "ENODEFILESTORAGEPATHUNUSABLE",
    "ENODEHOOKS", "ENODEHV", "ENODELVM", "ENODEN1", "EEXTAGS", "ENODENET",
    "ENODEOOBPATH", "ENODEORPHANINSTANCE", "ENODEORPHANLV", "ENODEOS",
    "ENODERPC", "ENODESETUP", "ENODESHAREDFILESTORAGEPATHUNUSABLE",
    "ENODEGLUSTERSTORAGEPATHUNUSABLE", "ENODESSH", "ENODETIME",
    "ENODEUSERSCRIPTS", "ENODEVERSION"])

# Longest repr of a bad value quoted in a validation error.
_MAX_VALUE_REPR = 80

_OPID_RE = re.compile(r"([a-z])([A-Z])")


class Param(NamedTuple):
    """One opcode parameter.

    `default` is ht.NoDefault for a required parameter; a callable default
    is called for a fresh value, any other default is deep-copied.
    """

    name: str
    default: Any
    check: Callable[[Any], bool]
    doc: str


def _NameComponents(name: str) -> list[str]:
    """Split a class name at lower/upper case boundaries ("OpTestDelay")."""
    return _OPID_RE.sub(r"\1,\2", name).split(",")


def _NameToId(name: str) -> str | None:
    """Convert an opcode class name to its OP_ID.

    Returns:
      "OP_TEST_DELAY" for "OpTestDelay"; None if name does not start with "Op".
    """
    if not name.startswith("Op"):
        return None
    return "_".join(part.upper() for part in _NameComponents(name))


def NameToReasonSrc(name: str, prefix: str) -> str | None:
    """Reason trail source for an opcode class name.

    Returns:
      e.g. "gnt:opcode:instance_create" for ("OpInstanceCreate",
      OPCODE_REASON_SRC_OPCODE); None if name does not start with "Op".
    """
    if not name.startswith("Op"):
        return None
    return f"{prefix}:" + "_".join(part.lower() for part in _NameComponents(name)[1:])


def HaskellShowFloat(value: float) -> str:
    """Format a float as Haskell's `show` does (luxid's opcode summaries).

    Decimal notation for 0.1 <= |value| < 10^7 ("10.0", "0.5"), otherwise
    scientific with one digit before the point ("1.0e-3", "1.5e7"); the
    digits are the shortest that read back as the same float.
    """
    if math.isnan(value):
        return "NaN"
    if math.copysign(1.0, value) < 0:
        return "-" + HaskellShowFloat(-value)
    if math.isinf(value):
        return "Infinity"
    if value == 0:
        return "0.0"
    # repr() gives the shortest round-tripping digits, as GHC's floatToDigits.
    parts = decimal.Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(digit) for digit in parts.digits)
    assert isinstance(parts.exponent, int)
    exponent = len(digits) + parts.exponent  # value = 0.<digits> * 10**exponent
    if exponent < 0 or exponent > 7:
        return f"{digits[0]}.{digits[1:] or '0'}e{exponent - 1}"
    if exponent == 0:
        return f"0.{digits}"
    whole = digits[:exponent].ljust(exponent, "0")
    return f"{whole}.{digits[exponent:] or '0'}"


def BuildJobDepCheck(relative: bool) -> Callable[[Any], bool]:
    """Check of the `depends` parameter: None or [[job_id, [status...]]...].

    Args:
      relative: also accept negative (relative) job ids, which only
        SubmitManyJobs resolves.
    """
    job_id = ht.TOr(ht.TJobId, ht.TRelativeJobId) if relative else ht.TJobId
    dependency = ht.TAnd(
        ht.TList, ht.TIsLength(2),
        ht.TItems([job_id, ht.TListOf(ht.TElemOf(JOBS_FINALIZED))]))
    return ht.TMaybe(ht.TListOf(dependency))


TNoRelativeJobDependencies = BuildJobDepCheck(False)

# One reason trail entry: [source, reason, timestamp in nanoseconds].
TReasonElem = ht.TAnd(ht.TList, ht.TIsLength(3),
                      ht.TItems([ht.TString, ht.TString, ht.TInt]))

TPriority = ht.WithDesc(f"Integer in [{OP_PRIO_HIGHEST}, {OP_PRIO_LOWEST}]")(
    lambda value: ht.TInt(value) and OP_PRIO_HIGHEST <= value <= OP_PRIO_LOWEST)


# --- parameter and result types (Ganeti keeps these in ht.py) ----------------

def TTupleOf(*checks: ht.CheckFn) -> ht.CheckFn:
    """A list (JSON array) of exactly len(checks) items matching checks."""
    return ht.TAnd(ht.TList, ht.TIsLength(len(checks)), ht.TItems(checks))


def _IsAddress(kind: type, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        kind(value)
    except ValueError:
        return False
    return True


def _IsNetwork(kind: type, value: Any) -> bool:
    # Ganeti networks are written address/prefix; host bits may be set.
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        kind(value, strict=False)
    except ValueError:
        return False
    return True


TIPv4Address = ht.WithDesc("IPv4Address")(
    lambda value: _IsAddress(ipaddress.IPv4Address, value))
TIPv6Address = ht.WithDesc("IPv6Address")(
    lambda value: _IsAddress(ipaddress.IPv6Address, value))
TIPv4Network = ht.WithDesc("IPv4Network")(
    lambda value: _IsNetwork(ipaddress.IPv4Network, value))
TIPv6Network = ht.WithDesc("IPv6Network")(
    lambda value: _IsNetwork(ipaddress.IPv6Network, value))

# Follow-up jobs of an LU: [[True, job_id] | [False, error message], ...].
TJobIdList = ht.TListOf(TTupleOf(
    ht.Comment("success")(ht.TBool),
    ht.Comment("job id or error message")(ht.TOr(ht.TString, ht.TJobId))))
TJobIdListOnly = ht.TStrictDict(True, True, {JOB_IDS_KEY: TJobIdList})
TQueryResponse = ht.TStrictDict(True, True, {
    "fields": ht.TListOf(ht.TDict), "data": ht.TListOf(ht.TList)})
TQueryFieldsResponse = ht.TStrictDict(True, True, {
    "fields": ht.TListOf(ht.TDict)})


def _ShortRepr(value: Any) -> str:
    text = repr(value)
    if len(text) > _MAX_VALUE_REPR:
        text = text[:_MAX_VALUE_REPR - 3] + "..."
    return text


def _DefaultValue(default: Any) -> Any:
    """A fresh copy of a parameter default (callables build it)."""
    if callable(default):
        return default()
    return copy.deepcopy(default)


class _AutoOpParamSlots(type):
    """Metaclass building OP_ID, __slots__ and the parameter list."""

    def __new__(mcs, name: str, bases: tuple[type, ...],
                attrs: dict[str, Any]) -> _AutoOpParamSlots:
        if "OP_ID" in attrs:
            raise errors.ProgrammerError(f"Class {name} must not define OP_ID")
        own = [param if isinstance(param, Param) else Param(*param)
               for param in attrs.get("OP_PARAMS", [])]
        attrs["OP_PARAMS"] = own
        attrs["__slots__"] = tuple(param.name for param in own)
        attrs["OP_ID"] = _NameToId(name)
        cls = super().__new__(mcs, name, bases, attrs)
        all_params: list[Param] = []
        for klass in cls.__mro__:
            all_params.extend(klass.__dict__.get("OP_PARAMS", []))
        names = [param.name for param in all_params]
        twice = sorted({param for param in names if names.count(param) > 1})
        if twice:
            raise errors.ProgrammerError(
                f"Class {name} defines parameter(s) twice: {', '.join(twice)}")
        dsc_field = attrs.get("OP_DSC_FIELD")
        if dsc_field and dsc_field not in names:
            raise errors.ProgrammerError(
                f"Class {name} uses unknown field {dsc_field!r} in OP_DSC_FIELD")
        cls._all_params = tuple(all_params)  # type: ignore[attr-defined]
        return cls


class BaseOpCode(metaclass=_AutoOpParamSlots):
    """A serialisable object whose attributes are the parameters of OP_PARAMS."""

    OP_ID: ClassVar[str | None]
    OP_PARAMS: ClassVar[list[Param]] = []
    _all_params: ClassVar[tuple[Param, ...]]

    def __init__(self, **kwargs: Any) -> None:
        """Set the given parameters (nothing else; see Validate for defaults).

        Raises:
          errors.OpPrereqError: a keyword is not a parameter of this opcode.
        """
        self.__setstate__(kwargs)

    def __getstate__(self) -> dict[str, Any]:
        """The set parameters, in OP_PARAMS order (own before common)."""
        return {param.name: getattr(self, param.name)
                for param in self._all_params if hasattr(self, param.name)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Replace all parameters with those in state.

        Raises:
          errors.OpPrereqError: state is no dict or has unknown parameters;
            the opcode is left unchanged.
        """
        if not isinstance(state, dict):
            raise errors.OpPrereqError(
                f"Invalid data for opcode {self.OP_ID}: expected a dict, got"
                f" {type(state).__name__}", errors.ECODE_INVAL)
        slots = self.GetAllSlots()
        unknown = [key for key in state if key not in slots]
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            raise errors.OpPrereqError(
                f"Opcode {self.OP_ID} got unknown parameter(s) {names}",
                errors.ECODE_INVAL)
        for name in slots:
            if name in state:
                setattr(self, name, state[name])
            elif hasattr(self, name):
                delattr(self, name)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}"
                         for key, value in self.__getstate__().items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def GetAllParams(cls) -> list[Param]:
        """All parameters of the opcode: its own, then inherited ones."""
        return list(cls._all_params)

    @classmethod
    def GetAllSlots(cls) -> list[str]:
        """Names of all parameters, in GetAllParams order."""
        return [param.name for param in cls._all_params]

    def Validate(self, set_defaults: bool) -> None:
        """Check every parameter against its ht check.

        An unset parameter is checked with its default value. An integer
        given for a float parameter is accepted (and converted when setting
        defaults); None given for a parameter with a non-None default means
        "use the default", as luxid reads it.

        Args:
          set_defaults: store defaults and converted values on the opcode, so
            that afterwards every parameter is set.

        Raises:
          errors.OpPrereqError: (ECODE_INVAL) a required parameter is missing
            or a value does not match its check; the opcode is left unchanged.
        """
        values = [(param.name, self._CheckParam(param))
                  for param in self._all_params]
        if set_defaults:
            for name, value in values:
                setattr(self, name, value)

    def _CheckParam(self, param: Param) -> Any:
        """Return the (possibly defaulted or converted) value of param.

        Raises:
          errors.OpPrereqError: see Validate.
        """
        prefix = f"Parameter '{self.OP_ID}.{param.name}' fails validation"
        has_default = param.default is not ht.NoDefault
        if hasattr(self, param.name):
            value = getattr(self, param.name)
        elif has_default:
            value = _DefaultValue(param.default)
        else:
            raise errors.OpPrereqError(
                f"{prefix}: required parameter missing, expected {param.check}",
                errors.ECODE_INVAL)
        if param.check(value):
            return value
        if ht.TInt(value) and param.check(float(value)):
            return float(value)
        if value is None and has_default and param.default is not None:
            default = _DefaultValue(param.default)
            if param.check(default):
                return default
        raise errors.OpPrereqError(
            f"{prefix}: expected {param.check}, got {_ShortRepr(value)}",
            errors.ECODE_INVAL)


class OpCode(BaseOpCode):
    """The root of the opcode hierarchy.

    Class attributes of an opcode:
      OP_ID: "OP_" + upper-snake-case class name without "Op" (computed).
      OP_DSC_FIELD: parameter whose value identifies the operation in
        Summary() (e.g. the instance name).
      OP_DSC_FORMATTER: optional function formatting that value (None when
        the value should not be shown).
      OP_PARAMS: the parameter table (Param rows).
      OP_RESULT: ht check of the result of the opcode's LU (None: no check).
      WITH_LU: whether mcpu executes it with a logical unit LU<name>.
    """

    OP_DSC_FIELD: ClassVar[str | None] = None
    OP_DSC_FORMATTER: ClassVar[Callable[[Any], str | None] | None] = None
    OP_RESULT: ClassVar[Callable[[Any], bool] | None] = None
    WITH_LU: ClassVar[bool] = True
    OP_PARAMS = [
        Param("dry_run", None, ht.TMaybeBool, "Run checks only, don't execute"),
        Param("debug_level", None, ht.TMaybe(ht.TNonNegativeInt), "Debug level"),
        Param("priority", OP_PRIO_DEFAULT, TPriority, "Opcode priority"),
        Param(DEPEND_ATTR, None, BuildJobDepCheck(True),
              "Job dependencies: [[job_id, [finalized status, ...]], ...];"
              " negative (relative) job ids only through SubmitManyJobs"),
        Param(COMMENT_ATTR, None, ht.TMaybe(ht.TString),
              "Comment describing the purpose of the opcode"),
        Param(OPCODE_REASON, [], ht.TMaybe(ht.TListOf(TReasonElem)),
              "Reason trail: [[source, reason, timestamp_ns], ...]"),
    ]

    def ToDict(self) -> dict[str, Any]:
        """The wire/job-file form: the set parameters plus "OP_ID" last."""
        data = self.__getstate__()
        data["OP_ID"] = self.OP_ID
        return data

    def ToQueryDict(self) -> dict[str, Any]:
        """The form luxid shows in the job query field "ops".

        Common parameters first ("dry_run" and "debug_level" only when set
        and not None), then "OP_ID", then the opcode's own parameters without
        the None ones (spec/samples/luxi-job-info.txt).
        """
        state = self.ToDict()
        common = {param.name for param in OpCode.OP_PARAMS}
        data = {}
        for param in OpCode.OP_PARAMS:
            value = state.get(param.name)
            if value is not None or param.name in (DEPEND_ATTR, COMMENT_ATTR):
                data[param.name] = value
        data["OP_ID"] = self.OP_ID
        data.update((key, value) for key, value in state.items()
                    if key not in common and key != "OP_ID" and value is not None)
        return data

    @classmethod
    def LoadOpCode(cls, data: dict[str, Any]) -> OpCode:
        """Build an opcode object from its dict form (with "OP_ID").

        Raises:
          errors.OpPrereqError: (ECODE_INVAL) data is no dict, lacks OP_ID,
            names an unknown opcode or holds unknown parameters.
        """
        # ganeti.opcodes imports this module, so it is only imported here.
        from ganeti import opcodes

        if not isinstance(data, dict):
            raise errors.OpPrereqError(
                f"Invalid opcode data: expected a dict, got {type(data).__name__}",
                errors.ECODE_INVAL)
        if "OP_ID" not in data:
            raise errors.OpPrereqError("Invalid opcode data: missing OP_ID",
                                       errors.ECODE_INVAL)
        op_id = data["OP_ID"]
        op_class = opcodes.OP_MAPPING.get(op_id) if isinstance(op_id, str) else None
        if op_class is None:
            raise errors.OpPrereqError(f"Unknown opcode OP_ID {op_id!r}",
                                       errors.ECODE_INVAL)
        op = op_class.__new__(op_class)
        op.__setstate__({key: value for key, value in data.items()
                         if key != "OP_ID"})
        return op

    def _SummaryValue(self) -> str | None:
        """The text shown in parentheses by Summary(), or None."""
        field = self.OP_DSC_FIELD
        if not field:
            return None
        value = getattr(self, field, None)
        # Read from the class so that a plain function stays unbound.
        formatter = type(self).OP_DSC_FORMATTER
        if formatter is not None:
            return formatter(value)
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return ",".join(str(item) for item in value)
        return str(value)

    def Summary(self) -> str:
        """OP_ID without "OP_" plus the descriptive value in parentheses.

        Returns:
          e.g. "INSTANCE_CREATE(inst1.example.com)", "TEST_DELAY(10.0)",
          "CLUSTER_VERIFY" (the job list summary column).
        """
        text = self.OP_ID[3:]
        value = self._SummaryValue()
        return text if value is None else f"{text}({value})"

    def TinySummary(self) -> str:
        """Compact OP_ID without "OP_", area prefixes shortened (I_CREATE)."""
        text = self.OP_ID[3:]
        for prefix, short in SUMMARY_PREFIX.items():
            if text.startswith(prefix):
                return short + text[len(prefix):]
        return text
