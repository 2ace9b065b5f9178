"""The contract every hypervisor driver implements, and its shared checks.

Mirrors Ganeti's lib/hypervisor/hv_base.py (method names, signatures and
semantics), with the parameter checks as named tuples instead of Ganeti's
5-tuples:

  PARAMETERS = {
      "kernel_path": OPT_FILE_CHECK,           # HvParam(required, check, node_check)
      "migration_port": REQ_NET_PORT_CHECK,
      "boot_order": ParamInSet(True, ("disk", "cdrom", "network")),
  }

`check` (an HvCheck: predicate + message) is cheap and runs on the master
(CheckParameterSyntax, via the LUs); `node_check` may look at the node (files,
directories) and runs in noded (ValidateParameters, via the
hypervisor_validate_params RPC).

Parameter inheritance cluster -> OS -> instance is objects.Cluster.FillHV. The
drivers never fill anything themselves: every instance they receive over RPC
carries FILLED hvparams and beparams (ganeti/rpc/node.py, ED_INST_DICT), so
`instance.hvparams[name]` and `instance.beparams["maxmem"]` always exist.

Conventions shared by every driver (checked by test/support/hv_contract.py):
- "running" means listed by ListInstances; GetInstanceInfo returns None for
  an instance that is not running, never raises for it.
- StopInstance of an instance that is not running raises HypervisorError
  or does nothing (Ganeti's fake raises, its kvm returns); the backend
  checks ListInstances first, as Ganeti's does.
- Instance info rows are (name, id, memory MiB, vcpus, state, cpu time)
  with state an HvInstanceState value (0 running, 1 shut down by the user).
- Failures are errors.HypervisorError with a readable message; foreign
  errors (OSError, command failures) are translated with `raise ... from`.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import os
import posixpath
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ganeti import constants, errors

logger = logging.getLogger(__name__)

# --- names Ganeti keeps in constants.py (ours is read-only for this package) ---

HT_MIGRATION_LIVE = "live"
HT_MIGRATION_NONLIVE = "non-live"
HT_MIGRATION_MODES = frozenset([HT_MIGRATION_LIVE, HT_MIGRATION_NONLIVE])

HV_MIGRATION_COMPLETED = "completed"
HV_MIGRATION_ACTIVE = "active"
HV_MIGRATION_FAILED = "failed"
HV_MIGRATION_CANCELLED = "cancelled"
HV_MIGRATION_VALID_STATUSES = frozenset([
    HV_MIGRATION_COMPLETED, HV_MIGRATION_ACTIVE, HV_MIGRATION_FAILED,
    HV_MIGRATION_CANCELLED])
HV_MIGRATION_FAILED_STATUSES = frozenset([HV_MIGRATION_FAILED,
                                          HV_MIGRATION_CANCELLED])

CONS_SSH = "ssh"
CONS_VNC = "vnc"
CONS_SPICE = "spice"
CONS_MESSAGE = "msg"
CONS_ALL = frozenset([CONS_SSH, CONS_VNC, CONS_SPICE, CONS_MESSAGE])

INSTANCE_REBOOT_SOFT = "soft"
INSTANCE_REBOOT_HARD = "hard"
INSTANCE_REBOOT_FULL = "full"
REBOOT_TYPES = frozenset([INSTANCE_REBOOT_SOFT, INSTANCE_REBOOT_HARD,
                          INSTANCE_REBOOT_FULL])

HOTPLUG_ACTION_ADD = "hotadd"
HOTPLUG_ACTION_REMOVE = "hotremove"
HOTPLUG_ACTION_MODIFY = "hotmod"
HOTPLUG_TARGET_DISK = "disk"
HOTPLUG_TARGET_NIC = "nic"

# Parameter names used by the shared checks below.
HV_MIGRATION_MODE = "migration_mode"
HV_MIGRATION_PORT = "migration_port"

BE_MAXMEM = "maxmem"
BE_MINMEM = "minmem"
BE_VCPUS = "vcpus"

MEMINFO_FILE = "/proc/meminfo"
CPUINFO_FILE = "/proc/cpuinfo"

_CPU_LINE_RE = re.compile(r"(?m)^processor\s*:\s*[0-9]+\s*$")
# One CPU mask item: "all", "3" or "2-5" (Ganeti's utils.ParseCpuMask).
_CPU_RANGE_RE = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
# Instance names become file names (state files, sockets, runtime files):
# a DNS-style name, no path separators, no leading dot.
_INSTANCE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_MAX_INSTANCE_NAME = 255

# The CPU mask meaning "no pinning".
CPU_PINNING_ALL = "all"
CPU_PINNING_ALL_VAL = -1


# --- parameter checks ------------------------------------------------------


class HvCheck(NamedTuple):
    """A predicate on a parameter value and the message when it fails."""

    fn: Callable[[Any], bool]
    message: str


class HvParam(NamedTuple):
    """How one hypervisor parameter is checked (Ganeti's PARAMETERS value).

    Attributes:
      required: an unspecified value (None or "") is an error.
      check: cheap syntax check, run on the master.
      node_check: check run on the node (may look at files).
    """

    required: bool = False
    check: HvCheck | None = None
    node_check: HvCheck | None = None


def IsNormAbsPath(path: Any) -> bool:
    """Whether path is an absolute, normalised path (Ganeti's utils name)."""
    return (isinstance(path, str) and posixpath.isabs(path)
            and posixpath.normpath(path) == path and not path.startswith("//"))


def IsUrl(value: Any) -> bool:
    """Whether value looks like a URL (scheme://rest)."""
    return isinstance(value, str) and _URL_RE.match(value) is not None


def ParseCpuMask(cpu_mask: str) -> list[int]:
    """Parse a CPU mask such as "0-2,5" into [0, 1, 2, 5].

    "all" gives [CPU_PINNING_ALL_VAL]; an empty mask gives [].

    Raises:
      errors.ParseError: the mask is malformed.
    """
    if not cpu_mask:
        return []
    if cpu_mask.strip() == CPU_PINNING_ALL:
        return [CPU_PINNING_ALL_VAL]
    cpus: list[int] = []
    for item in cpu_mask.split(","):
        match = _CPU_RANGE_RE.match(item.strip())
        if match is None:
            raise errors.ParseError(f"Invalid CPU ID value '{item.strip()}'")
        lower = int(match.group(1))
        upper = int(match.group(2)) if match.group(2) is not None else lower
        if lower > upper:
            raise errors.ParseError(f"Invalid CPU ID range definition (lower {lower}"
                                    f" > higher {upper}) in '{item.strip()}'")
        cpus.extend(range(lower, upper + 1))
    return cpus


def ParseMultiCpuMask(cpu_mask: str) -> list[list[int]]:
    """Parse a per-vCPU mask "0-1:all:3" into one CPU list per vCPU.

    Raises:
      errors.ParseError: one of the masks is malformed.
    """
    if not cpu_mask:
        return []
    return [ParseCpuMask(item) for item in cpu_mask.split(":")]


def _IsCpuMaskWellFormed(cpu_mask: Any) -> bool:
    try:
        return bool(ParseCpuMask(cpu_mask))
    except (errors.ParseError, AttributeError, TypeError):
        return False


def _IsMultiCpuMaskWellFormed(cpu_mask: Any) -> bool:
    try:
        ParseMultiCpuMask(cpu_mask)
    except (errors.ParseError, AttributeError, TypeError):
        return False
    return True


def _IsInt(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_PATH_SYNTAX = HvCheck(IsNormAbsPath, "must be an absolute normalized path")
_FILE_CHECK = (_PATH_SYNTAX, HvCheck(os.path.isfile, "not found or not a file"))
_FILE_OR_URL_CHECK = (
    HvCheck(lambda x: IsNormAbsPath(x) or IsUrl(x),
            "must be an absolute normalized path or a URL"),
    HvCheck(lambda x: IsUrl(x) or os.path.isfile(x),
            "not found or not a file or URL"))
_DIR_CHECK = (_PATH_SYNTAX, HvCheck(os.path.isdir, "not found or not a directory"))
_CPU_MASK_CHECK = HvCheck(_IsCpuMaskWellFormed,
                          "CPU mask definition is not well-formed")
_MULTI_CPU_MASK_CHECK = HvCheck(_IsMultiCpuMaskWellFormed,
                                "Multiple CPU mask definition is not well-formed")
# Ganeti accepts 1..65534 (0 < port < 65535).
_NET_PORT_CHECK = HvCheck(lambda x: _IsInt(x) and 0 < x < 65535,
                          "invalid port number")
# virtio-net multiqueue: Ganeti allows 1..8 queues.
_VIRTIO_NET_QUEUES_CHECK = HvCheck(lambda x: _IsInt(x) and 0 < x < 9,
                                   "invalid number of queues")
_NONNEGATIVE_INT_CHECK = HvCheck(lambda x: _IsInt(x) and x >= 0,
                                 "cannot be negative")

REQ_FILE_CHECK = HvParam(True, *_FILE_CHECK)
OPT_FILE_CHECK = HvParam(False, *_FILE_CHECK)
REQ_FILE_OR_URL_CHECK = HvParam(True, *_FILE_OR_URL_CHECK)
OPT_FILE_OR_URL_CHECK = HvParam(False, *_FILE_OR_URL_CHECK)
REQ_DIR_CHECK = HvParam(True, *_DIR_CHECK)
OPT_DIR_CHECK = HvParam(False, *_DIR_CHECK)
REQ_NET_PORT_CHECK = HvParam(True, _NET_PORT_CHECK)
OPT_NET_PORT_CHECK = HvParam(False, _NET_PORT_CHECK)
REQ_VIRTIO_NET_QUEUES_CHECK = HvParam(True, _VIRTIO_NET_QUEUES_CHECK)
OPT_VIRTIO_NET_QUEUES_CHECK = HvParam(False, _VIRTIO_NET_QUEUES_CHECK)
REQ_CPU_MASK_CHECK = HvParam(True, _CPU_MASK_CHECK)
OPT_CPU_MASK_CHECK = HvParam(False, _CPU_MASK_CHECK)
REQ_MULTI_CPU_MASK_CHECK = HvParam(True, _MULTI_CPU_MASK_CHECK)
OPT_MULTI_CPU_MASK_CHECK = HvParam(False, _MULTI_CPU_MASK_CHECK)
REQ_NONNEGATIVE_INT_CHECK = HvParam(True, _NONNEGATIVE_INT_CHECK)
OPT_NONNEGATIVE_INT_CHECK = HvParam(False, _NONNEGATIVE_INT_CHECK)

# No check at all (also for booleans, whose False would look "unspecified").
NO_CHECK = HvParam(False)
# Must be given and non-empty, nothing else checked.
REQUIRED_CHECK = HvParam(True)

MIGRATION_MODE_CHECK = HvParam(
    True, HvCheck(lambda x: x in HT_MIGRATION_MODES, "invalid migration mode"))


def ParamInSet(required: bool, my_set: Iterable[Any]) -> HvParam:
    """Build the check of a parameter whose value must be one of my_set.

    Args:
      required: whether an unspecified value is an error.
      my_set: the allowed values (order kept in the message).
    """
    allowed = tuple(my_set)
    message = "The value must be one of: " + ", ".join(str(v) for v in allowed)
    return HvParam(required, HvCheck(lambda x: x in allowed, message))


# --- values exchanged with the master ---------------------------------------


class HvInstanceState:
    """The state column of instance info rows (Ganeti's HvInstanceState)."""

    RUNNING = 0
    SHUTDOWN = 1

    @staticmethod
    def IsRunning(state: Any) -> bool:
        return state == HvInstanceState.RUNNING

    @staticmethod
    def IsShutdown(state: Any) -> bool:
        return state == HvInstanceState.SHUTDOWN


InstanceInfoRow = tuple[str, Any, int, int, int, float]


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceConsole:
    """How to reach an instance's console (Ganeti's objects.InstanceConsole).

    kind is one of CONS_*: "msg" carries only message; "ssh" a host, user and
    command; "vnc" a host, port and display; "spice" a host and port.
    """

    instance: str
    kind: str
    message: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    command: list[str] | None = None
    display: int | None = None

    def Validate(self) -> None:
        """Check the fields needed by kind are set.

        Raises:
          errors.HypervisorError: kind is unknown or a needed field is unset.
        """
        needed = {CONS_MESSAGE: ("message",), CONS_SSH: ("host", "user", "command"),
                  CONS_VNC: ("host", "port", "display"),
                  CONS_SPICE: ("host", "port")}.get(self.kind)
        if needed is None:
            raise errors.HypervisorError(f"Unknown console kind '{self.kind}'")
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise errors.HypervisorError(
                f"Console of kind '{self.kind}' for instance {self.instance}"
                f" lacks {', '.join(missing)}")

    def ToDict(self) -> dict[str, Any]:
        """The wire form: only the fields that are set."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if value is not None}

    @classmethod
    def FromDict(cls, val: dict[str, Any]) -> InstanceConsole:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in val.items() if key in names})


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrationStatus:
    """Progress of a migration (Ganeti's objects.MigrationStatus)."""

    status: str
    transferred_ram: int | None = None
    total_ram: int | None = None

    def ToDict(self) -> dict[str, Any]:
        return {key: value for key, value in dataclasses.asdict(self).items()
                if value is not None}

    @classmethod
    def FromDict(cls, val: dict[str, Any]) -> MigrationStatus:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in val.items() if key in names})


# --- helpers shared by drivers ---------------------------------------------


def CheckInstanceName(name: Any) -> str:
    """Return name if it is usable as a file name of per-instance state.

    Drivers keep per-instance files named after the instance (the fake
    driver's state files, kvm's pid/monitor/runtime files): a name with a
    slash or a leading dot would escape or hide in their directory.

    Raises:
      errors.HypervisorError: the name is not a valid instance name.
    """
    if (not isinstance(name, str) or len(name) > _MAX_INSTANCE_NAME
            or _INSTANCE_NAME_RE.match(name) is None):
        raise errors.HypervisorError(f"Invalid instance name {name!r}")
    return name


def GetLinuxNodeInfo(meminfo: str = MEMINFO_FILE,
                     cpuinfo: str = CPUINFO_FILE) -> dict[str, int]:
    """Compute the memory and CPU figures of this node from /proc.

    As Ganeti's BaseHypervisor.GetLinuxNodeInfo: memory_total is MemTotal,
    memory_free is MemFree + Buffers + Cached, memory_dom0 (used by the node
    itself) is Active, all in MiB; cpu_total counts "processor" lines, the
    node OS may use all of them (cpu_dom0); NUMA nodes and sockets are
    reported as 1 (Ganeti does the same).

    Raises:
      errors.HypervisorError: a file cannot be read or parsed.
    """
    try:
        with open(meminfo, encoding="ascii") as fh:
            mem_lines = fh.read().splitlines()
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            cpu_total = len(_CPU_LINE_RE.findall(fh.read()))
    except (OSError, UnicodeDecodeError) as err:
        raise errors.HypervisorError(f"Failed to list node info: {err}") from err
    result: dict[str, int] = {}
    sum_free = 0
    for line in mem_lines:
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in ("MemTotal", "MemFree", "Buffers", "Cached",
                                  "Active"):
            continue
        try:
            mib = int(value.split()[0]) // 1024
        except (ValueError, IndexError) as err:
            raise errors.HypervisorError(
                f"Failed to compute memory usage from {line!r}") from err
        if key == "MemTotal":
            result["memory_total"] = mib
        elif key == "Active":
            result["memory_dom0"] = mib
        else:
            sum_free += mib
    result["memory_free"] = sum_free
    result["cpu_total"] = cpu_total
    result["cpu_dom0"] = cpu_total
    result["cpu_nodes"] = 1
    result["cpu_sockets"] = 1
    return result


def _IsParamValueUnspecified(value: Any) -> bool:
    return value is None or value == ""


def _NotMigratable(cls: type) -> errors.HypervisorError:
    return errors.HypervisorError("Migration not supported by this hypervisor"
                                  f" ({getattr(cls, 'NAME', cls.__name__)})")


# --- the contract --------------------------------------------------------------


class BaseHypervisor(abc.ABC):
    """What the node side (ganeti/backend/instance.py) needs of a hypervisor.

    Class attributes:
      NAME: the hypervisor name (constants.HT_*).
      PARAMETERS: parameter name -> HvParam; exactly the keys of the
        hypervisor's defaults (defaults.HVC_DEFAULTS).
      CAN_MIGRATE: whether MigrateInstance and friends work.
      ANCILLARY_FILES / ANCILLARY_FILES_OPT: files copied to all nodes.
    """

    NAME: str = ""
    PARAMETERS: dict[str, HvParam] = {}
    ANCILLARY_FILES: list[str] = []
    ANCILLARY_FILES_OPT: list[str] = []
    CAN_MIGRATE = False

    # --- lifecycle -------------------------------------------------------------

    @abc.abstractmethod
    def StartInstance(self, instance: Any, block_devices: list[tuple[Any, str, Any]],
                      startup_paused: bool) -> None:
        """Start an instance.

        Args:
          instance: objects.Instance with filled hvparams and beparams.
          block_devices: [(disk, link_name, uri)] as GatherAndLinkBlockDevs
            returns, in disk order.
          startup_paused: start with the CPUs stopped.

        Raises:
          errors.HypervisorError: the instance did not start (already
            running, bad parameters, the hypervisor failed); nothing of it is
            left running.
        """

    @abc.abstractmethod
    def StopInstance(self, instance: Any, force: bool = False, retry: bool = False,
                     name: str | None = None, timeout: float | None = None) -> None:
        """Stop an instance.

        Args:
          instance: the instance (None when name is given).
          force: destroy it at once instead of asking the guest.
          retry: this is a repeated soft request (the guest was asked before).
          name: stop by name only (instance unusable).
          timeout: for a soft stop, kill the instance after this many seconds.

        Raises:
          errors.HypervisorError: the stop failed (or, for some drivers, the
            instance was not running); the instance may still be running:
            re-check with ListInstances before assuming either state.
        """

    def CleanupInstance(self, instance_name: str) -> None:
        """Remove what a stopped instance left behind (optional)."""
        return

    @abc.abstractmethod
    def RebootInstance(self, instance: Any) -> None:
        """Reboot the guest OS without recreating the VM (soft reboot).

        Raises:
          errors.HypervisorError: the reboot failed.
        """

    def VerifyInstance(self, instance: Any) -> bool:
        """Whether a running instance is in the state its config says."""
        return True

    def RestoreInstance(self, instance: Any,
                        block_devices: list[tuple[Any, str, Any]]) -> None:
        """Fix up a running instance's state (optional)."""
        return

    # --- queries -------------------------------------------------------------

    @abc.abstractmethod
    def ListInstances(self, hvparams: dict[str, Any] | None = None) -> list[str]:
        """Return the names of the running instances."""

    @abc.abstractmethod
    def GetInstanceInfo(self, instance_name: str,
                        hvparams: dict[str, Any] | None = None
                        ) -> InstanceInfoRow | None:
        """Return (name, id, memory, vcpus, state, time), None if not running."""

    @abc.abstractmethod
    def GetAllInstancesInfo(self, hvparams: dict[str, Any] | None = None
                            ) -> list[InstanceInfoRow]:
        """Return the info rows of all running instances."""

    @abc.abstractmethod
    def GetNodeInfo(self, hvparams: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return memory_total/free/dom0 (MiB), cpu_total/dom0/nodes/sockets.

        Raises:
          errors.HypervisorError: the figures cannot be computed.
        """

    @classmethod
    @abc.abstractmethod
    def GetInstanceConsole(cls, instance: Any, primary_node: Any, node_group: Any,
                           hvparams: dict[str, Any], beparams: dict[str, Any]
                           ) -> InstanceConsole:
        """Return how to connect to the instance's console."""

    @abc.abstractmethod
    def Verify(self, hvparams: dict[str, Any] | None = None) -> str | None:
        """Return a problem description if the hypervisor is unusable, else None."""

    @classmethod
    def GetAncillaryFiles(cls) -> tuple[list[str], list[str]]:
        """Return (all ancillary files, optional ones) to copy to every node."""
        if not set(cls.ANCILLARY_FILES).issuperset(cls.ANCILLARY_FILES_OPT):
            raise errors.ProgrammerError(
                "Optional ancillary files must be a subset of ancillary files")
        return list(cls.ANCILLARY_FILES), list(cls.ANCILLARY_FILES_OPT)

    @staticmethod
    def _FormatVerifyResults(msgs: list[str]) -> str | None:
        return "; ".join(msgs) if msgs else None

    @staticmethod
    def GetLinuxNodeInfo(meminfo: str = MEMINFO_FILE,
                         cpuinfo: str = CPUINFO_FILE) -> dict[str, int]:
        """See the module-level GetLinuxNodeInfo."""
        return GetLinuxNodeInfo(meminfo, cpuinfo)

    def _InstanceStartupMemory(self, instance: Any) -> int:
        """Memory to start with: maxmem, lowered to the free memory, >= minmem.

        As Ganeti: min(maxmem, free), but never below minmem.
        """
        beparams = instance.beparams or {}
        free = self.GetNodeInfo(hvparams=instance.hvparams)["memory_free"]
        try:
            maxmem = int(beparams[BE_MAXMEM])
            minmem = int(beparams.get(BE_MINMEM, maxmem))
        except (KeyError, TypeError, ValueError) as err:
            raise errors.HypervisorError(
                f"Instance {instance.name} has no valid memory parameters"
                f" (beparams {beparams!r})") from err
        return max(minmem, min(maxmem, free))

    # --- memory ----------------------------------------------------------------

    def BalloonInstanceMemory(self, instance: Any, mem: int) -> None:
        """Change the memory of a running instance.

        Raises:
          errors.HypervisorError: not supported, not running, or failed.
        """
        raise errors.HypervisorError(
            f"Memory ballooning is not supported by the {self.NAME or 'this'}"
            " hypervisor")

    # --- migration (defaults per CAN_MIGRATE) ---------------------------------

    @staticmethod
    def VersionsSafeForMigration(src: Any, target: Any) -> bool:
        """Guess whether a live migration from version src to target works."""
        return src == target

    def MigrationInfo(self, instance: Any) -> Any:
        """Return opaque data the target needs to accept the instance."""
        if not self.CAN_MIGRATE:
            raise _NotMigratable(type(self))
        return ""

    def AcceptInstance(self, instance: Any, info: Any, target: str) -> None:
        """Prepare this node (the target) to receive the instance."""
        if not self.CAN_MIGRATE:
            raise _NotMigratable(type(self))

    def FinalizeMigrationDst(self, instance: Any, info: Any, success: bool) -> None:
        """On the target: keep the instance (success) or undo AcceptInstance."""
        if not self.CAN_MIGRATE:
            raise _NotMigratable(type(self))

    def MigrateInstance(self, cluster_name: str, instance: Any, target: str,
                        live: bool) -> None:
        """On the source: send the instance to target (a node address).

        Raises:
          errors.HypervisorError: the migration failed; the instance still
            runs here.
        """
        raise _NotMigratable(type(self))

    def FinalizeMigrationSource(self, instance: Any, success: bool,
                                live: bool) -> None:
        """On the source: clean up after a migration (or resume on failure)."""
        if not self.CAN_MIGRATE:
            raise _NotMigratable(type(self))

    def GetMigrationStatus(self, instance: Any) -> MigrationStatus:
        """Return the progress of the migration started by MigrateInstance."""
        raise _NotMigratable(type(self))

    # --- parameters ------------------------------------------------------------

    @classmethod
    def CheckParameterSyntax(cls, hvparams: dict[str, Any]) -> None:
        """Check filled hvparams cheaply, without looking at the node.

        Subclasses extend (not replace) this.

        Raises:
          errors.HypervisorError: an unknown or missing parameter, or a value
            failing its check.
        """
        for key in hvparams:
            if key not in cls.PARAMETERS:
                raise errors.HypervisorError(f"Parameter '{key}' is not supported")
        for name, param in cls.PARAMETERS.items():
            if name not in hvparams:
                raise errors.HypervisorError(f"Parameter '{name}' is missing")
            value = hvparams[name]
            if _IsParamValueUnspecified(value):
                if param.required:
                    raise errors.HypervisorError(
                        f"Parameter '{name}' is required but is currently not"
                        " defined")
                continue
            if param.check is not None and not param.check.fn(value):
                raise errors.HypervisorError(
                    f"Parameter '{name}' fails syntax check: {param.check.message}"
                    f" (current value: '{value}')")

    @classmethod
    def ValidateParameters(cls, hvparams: dict[str, Any]) -> None:
        """Check filled hvparams against this node (files exist, ...).

        Subclasses extend (not replace) this.

        Raises:
          errors.HypervisorError: a missing parameter or a value failing its
            node check.
        """
        for name, param in cls.PARAMETERS.items():
            if name not in hvparams:
                raise errors.HypervisorError(f"Parameter '{name}' is missing")
            value = hvparams[name]
            if not param.required and _IsParamValueUnspecified(value):
                continue
            if param.node_check is not None and not param.node_check.fn(value):
                raise errors.HypervisorError(
                    f"Parameter '{name}' fails validation:"
                    f" {param.node_check.message} (current value: '{value}')")

    # --- node ------------------------------------------------------------------

    @classmethod
    def PowercycleNode(cls, hvparams: dict[str, Any] | None = None) -> None:
        """Hard power-cycle the node (not offered by default)."""
        raise errors.HypervisorError(
            f"Power-cycling the node is not supported by the"
            f" {cls.NAME or cls.__name__} hypervisor")

    # --- hotplug (Ganeti: only kvm supports it) -------------------------------

    def HotAddDevice(self, instance: Any, dev_type: str, device: Any, extra: Any,
                     seq: int) -> Any:
        raise errors.HotplugError("Hotplug is not supported by this hypervisor")

    def HotDelDevice(self, instance: Any, dev_type: str, device: Any, extra: Any,
                     seq: int) -> Any:
        raise errors.HotplugError("Hotplug is not supported by this hypervisor")

    def HotModDevice(self, instance: Any, dev_type: str, device: Any, extra: Any,
                     seq: int) -> Any:
        raise errors.HotplugError("Hotplug is not supported by this hypervisor")

    def VerifyHotplugSupport(self, instance: Any, action: str, dev_type: str) -> None:
        """Raise HotplugError unless action on dev_type can be hot-plugged."""
        raise errors.HotplugError("Hotplug is not supported by this hypervisor")

    def HotplugSupported(self, instance: Any) -> None:
        """Raise HotplugError unless hot-plugging works for this instance."""
        raise errors.HotplugError("Hotplug is not supported by this hypervisor")


def ConfigureNIC(cmd: list[str], instance: Any, seq: int, nic: Any, tap: str,
                 _run_fn: Callable[..., Any] | None = None) -> None:
    """Run the node's network configuration script (ifup) for one NIC.

    The environment is Ganeti's: INSTANCE, MAC, MODE, INTERFACE,
    INTERFACE_INDEX, INTERFACE_UUID, TAGS, and when set IP, INTERFACE_NAME,
    LINK, VLAN, BRIDGE (bridged mode) and NETWORK_NAME.

    Raises:
      errors.HypervisorError: the script failed.
    """
    from ganeti.utils import process  # late: keeps this module light to import

    nicparams = nic.nicparams or {}
    env = {
        "PATH": f"{os.environ.get('PATH', '/usr/bin:/bin')}:/sbin:/usr/sbin",
        "INSTANCE": instance.name,
        "MAC": nic.mac or "",
        "MODE": nicparams.get("mode", ""),
        "INTERFACE": tap,
        "INTERFACE_INDEX": str(seq),
        "INTERFACE_UUID": nic.uuid or "",
        "TAGS": " ".join(sorted(instance.tags or [])),
    }
    optional = {"IP": nic.ip, "INTERFACE_NAME": nic.name,
                "LINK": nicparams.get("link"), "VLAN": nicparams.get("vlan"),
                "NETWORK_NAME": (nic.netinfo or {}).get("name")}
    env.update({key: str(value) for key, value in optional.items() if value})
    if nicparams.get("mode") == constants.NIC_MODE_BRIDGED and nicparams.get("link"):
        env["BRIDGE"] = nicparams["link"]
    run_fn = process.RunCmd if _run_fn is None else _run_fn
    try:
        result = run_fn(cmd, env=env)
    except errors.CommandError as err:
        raise errors.HypervisorError(
            f"Failed to configure interface {tap}: {err}") from err
    if result.failed:
        raise errors.HypervisorError(
            f"Failed to configure interface {tap}: {result.fail_reason};"
            f" network configuration script output: {result.output}")
