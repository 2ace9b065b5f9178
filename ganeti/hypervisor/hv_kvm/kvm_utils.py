"""Node-side helpers of the kvm driver: qemu probing, interfaces, CPUs.

Probing a qemu binary (its version, its default machine type) costs a process
start, so the answers are cached per binary path and modification time.
"""

from __future__ import annotations

import logging
import os
import re
import threading

from ganeti import errors
from ganeti.utils import process as utils_process

logger = logging.getLogger(__name__)

_VERSION_RE = re.compile(r"\b(\d+)\.(\d+)(?:\.(\d+))?\b")
_DEFAULT_MACHINE_RE = re.compile(r"^(\S+).*\(default\)", re.M)
_PROBE_TIMEOUT = 30

_cache: dict[tuple[str, str, float], str] = {}
_cache_lock = threading.Lock()


def _KvmOutput(kvm_path: str, args: list[str], can_fail: bool = False) -> str:
    """Output of "<kvm_path> <args>", cached per binary.

    Raises:
      errors.HypervisorError: the binary is missing or the command failed.
    """
    try:
        mtime = os.stat(kvm_path).st_mtime
    except OSError as err:
        raise errors.HypervisorError(
            f"The KVM binary ('{kvm_path}') does not exist or is not"
            f" accessible: {err.strerror}") from err
    key = (kvm_path, " ".join(args), mtime)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        result = utils_process.RunCmd([kvm_path] + args, timeout=_PROBE_TIMEOUT)
    except errors.CommandError as err:
        raise errors.HypervisorError(f"Unable to run {kvm_path}: {err}") from err
    if result.failed and not can_fail:
        raise errors.HypervisorError(
            f"Unable to get KVM {' '.join(args)} output: {result.fail_reason}"
            f" ({result.output.strip()[:500]})")
    with _cache_lock:
        _cache[key] = result.output
    return result.output


def GetKvmVersion(kvm_path: str) -> tuple[int, int, int]:
    """(major, minor, revision) of a qemu binary, from its --help output.

    Raises:
      errors.HypervisorError: the binary cannot be run or the version parsed.
    """
    output = _KvmOutput(kvm_path, ["--help"])
    first = output.splitlines()[0] if output else ""
    match = _VERSION_RE.search(first)
    if match is None:
        raise errors.HypervisorError("Unable to get KVM version")
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def GetDefaultMachineVersion(kvm_path: str) -> str:
    """The machine type qemu uses by default (e.g. pc-i440fx-7.2), or "pc"."""
    try:
        output = _KvmOutput(kvm_path, ["-machine", "help"])
    except errors.HypervisorError as err:
        logger.warning("Can't list the machine types of %s: %s", kvm_path, err)
        return "pc"
    match = _DEFAULT_MACHINE_RE.search(output)
    return match.group(1) if match else "pc"


def IsMachineVersionSupported(kvm_path: str, machine_version: str) -> bool:
    """Whether qemu lists machine_version as a machine type."""
    output = _KvmOutput(kvm_path, ["-machine", "help"])
    names = {line.split()[0] for line in output.splitlines()[1:] if line.strip()}
    return machine_version in names


def IsValidInterface(name: str) -> bool:
    """Whether name is a network interface of this node."""
    return bool(name) and "/" not in name and os.path.exists(
        f"/sys/class/net/{name}")


def GetInterfaceIpAddresses(name: str) -> dict[int, list[str]]:
    """The IPv4 and IPv6 addresses of an interface: {4: [...], 6: [...]}.

    Raises:
      errors.HypervisorError: "ip" failed (e.g. no such interface).
    """
    try:
        result = utils_process.RunCmd(["ip", "-o", "addr", "show", "dev", name])
    except errors.CommandError as err:
        raise errors.HypervisorError(f"Can't run ip: {err}") from err
    if result.failed:
        raise errors.HypervisorError(
            f"Can't get the addresses of interface {name}: {result.output.strip()}")
    addresses: dict[int, list[str]] = {4: [], 6: []}
    for line in result.stdout.splitlines():
        fields = line.split()
        for family, version in (("inet", 4), ("inet6", 6)):
            if family in fields:
                idx = fields.index(family)
                if idx + 1 < len(fields):
                    addresses[version].append(fields[idx + 1].split("/")[0])
    return addresses


def ResolveBindAddress(address: str) -> str:
    """An interface name becomes its first IPv4 address; others are kept.

    Raises:
      errors.HypervisorError: the interface has no IPv4 address.
    """
    if not IsValidInterface(address):
        return address
    ipv4 = GetInterfaceIpAddresses(address)[4]
    if not ipv4:
        raise errors.HypervisorError(
            f"Could not determine IPv4 address of interface {address}")
    return ipv4[0]


def ProcessCpuTime(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process, 0 if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        ticks = int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return 0.0
    return ticks / os.sysconf("SC_CLK_TCK")


def SetThreadsAffinity(thread_ids: list[int], cpus: list[int]) -> None:
    """Pin threads to CPUs; [-1] (Ganeti's "all") means every CPU.

    Raises:
      errors.HypervisorError: the kernel refused (e.g. no such CPU).
    """
    target = set(range(os.cpu_count() or 1)) if cpus == [-1] else set(cpus)
    for tid in thread_ids:
        try:
            os.sched_setaffinity(tid, target)
        except ProcessLookupError:
            continue
        except OSError as err:
            raise errors.HypervisorError(
                f"Can't set the CPU affinity of thread {tid} to {sorted(target)}:"
                f" {err.strerror}") from err


def ProcessThreads(pid: int) -> list[int]:
    """Ids of all threads of a process."""
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []
