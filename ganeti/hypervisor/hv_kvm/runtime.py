"""Per-instance files of the kvm hypervisor under <run dir>/kvm-hypervisor.

The layout is Ganeti's (lib/hypervisor/hv_kvm/__init__.py):

  kvm-hypervisor/pid/<instance>             pid file written by qemu (-pidfile)
  kvm-hypervisor/conf/<instance>.runtime    the runtime file (below)
  kvm-hypervisor/ctrl/<instance>.qmp        QMP socket
  kvm-hypervisor/ctrl/<instance>.monitor    human monitor socket
  kvm-hypervisor/ctrl/<instance>.serial     serial console socket
  kvm-hypervisor/nic/<instance>/<seq>       host tap device of NIC <seq>
  kvm-hypervisor/chroot/<instance>          empty chroot dir (use_chroot)

The runtime file is what lets a restarted node daemon, or the destination of
a migration, know a running instance: a JSON list
[kvm command, [NIC dicts], hvparams, [[disk dict, link, uri], ...]], the
shape Ganeti writes. The stored command holds only what belongs to the
instance itself; everything that depends on the node (pid file, sockets,
tap descriptors, -incoming) is added each time qemu is started, so the same
runtime can start the instance on any node.

Whether an instance is running is decided as Ganeti does: the pid in its pid
file is alive and its /proc/<pid>/cmdline carries "-name <instance>"; we also
require our own pid file on that command line, so two virtual nodes on one
machine never mistake each other's qemu for their own.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any, NamedTuple

from ganeti import errors, objects, pathutils, serializer
from ganeti.utils import io as utils_io
from ganeti.utils import process as utils_process

logger = logging.getLogger(__name__)

# Ganeti's RUN_DIRS_MODE.
RUN_DIRS_MODE = 0o775


class KvmRuntime(NamedTuple):
    """The content of a runtime file (Ganeti's 4-tuple, with names)."""

    cmd: list[str]
    nics: list[objects.NIC]
    hvparams: dict[str, Any]
    disks: list[tuple[objects.Disk, str, str | None]]


class PidInfo(NamedTuple):
    """What a qemu's command line says about it."""

    name: str
    memory: int
    vcpus: int


class KvmPaths:
    """Paths of the kvm hypervisor's files below one run directory."""

    def __init__(self, run_dir: str | None = None) -> None:
        self.run_dir = run_dir or pathutils.RUN_DIR
        self.root_dir = os.path.join(self.run_dir, "kvm-hypervisor")
        self.pids_dir = os.path.join(self.root_dir, "pid")
        self.ctrl_dir = os.path.join(self.root_dir, "ctrl")
        self.conf_dir = os.path.join(self.root_dir, "conf")
        self.nics_dir = os.path.join(self.root_dir, "nic")
        self.chroot_dir = os.path.join(self.root_dir, "chroot")
        self.chroot_quarantine_dir = os.path.join(self.root_dir,
                                                  "chroot-quarantine")

    def EnsureDirs(self) -> None:
        """Create the directories (the run dir may be a fresh tmpfs).

        Raises:
          errors.HypervisorError: a directory cannot be created.
        """
        dirs = [self.root_dir, self.pids_dir, self.ctrl_dir, self.conf_dir,
                self.nics_dir, self.chroot_dir, self.chroot_quarantine_dir]
        try:
            utils_io.EnsureDirs([(d, RUN_DIRS_MODE) for d in dirs])
        except (errors.GenericError, OSError) as err:
            raise errors.HypervisorError(
                f"Can't create the kvm run directories: {err}") from err

    def PidFile(self, name: str) -> str:
        return os.path.join(self.pids_dir, name)

    def RuntimeFile(self, name: str) -> str:
        return os.path.join(self.conf_dir, f"{name}.runtime")

    def QmpSocket(self, name: str) -> str:
        return os.path.join(self.ctrl_dir, f"{name}.qmp")

    def MonitorSocket(self, name: str) -> str:
        return os.path.join(self.ctrl_dir, f"{name}.monitor")

    def SerialSocket(self, name: str) -> str:
        return os.path.join(self.ctrl_dir, f"{name}.serial")

    def NicDir(self, name: str) -> str:
        return os.path.join(self.nics_dir, name)

    def NicFile(self, name: str, seq: int) -> str:
        return os.path.join(self.NicDir(name), str(seq))

    def ChrootDir(self, name: str) -> str:
        return os.path.join(self.chroot_dir, name)

    def ListPidFiles(self) -> list[str]:
        """Names of the instances that have a pid file here."""
        try:
            return sorted(os.listdir(self.pids_dir))
        except FileNotFoundError:
            return []
        except OSError as err:
            raise errors.HypervisorError(
                f"Can't list {self.pids_dir}: {err.strerror}") from err


def SerializeRuntime(runtime: KvmRuntime) -> str:
    """The text of a runtime file for runtime."""
    nics = [nic.ToDict(runtime=True) for nic in runtime.nics]
    disks = [[disk.ToDict(runtime=True), link, uri]
             for disk, link, uri in runtime.disks]
    return serializer.DumpJson([runtime.cmd, nics, runtime.hvparams, disks])


def ParseRuntime(text: str) -> KvmRuntime:
    """Parse the text of a runtime file (ours or one Ganeti wrote).

    Raises:
      errors.HypervisorError: the text is not a runtime file.
    """
    try:
        data = serializer.LoadJson(text)
        if not isinstance(data, list) or len(data) < 3:
            raise errors.HypervisorError("expected a list of at least 3 items")
        cmd, nics, hvparams = data[:3]
        disk_entries = data[3] if len(data) > 3 else []
        if not (isinstance(cmd, list) and all(isinstance(a, str) for a in cmd)):
            raise errors.HypervisorError("the command is not a list of strings")
        if not isinstance(hvparams, dict):
            raise errors.HypervisorError("the hypervisor parameters are not a dict")
        kvm_nics = [objects.NIC.FromDict(nic) for nic in nics]
        kvm_disks = [(objects.Disk.FromDict(disk), link, uri)
                     for disk, link, uri in disk_entries]
    except (errors.GenericError, TypeError, ValueError) as err:
        raise errors.HypervisorError(f"Invalid kvm runtime data: {err}") from err
    return KvmRuntime(cmd, kvm_nics, hvparams, kvm_disks)


def WriteRuntime(paths: KvmPaths, name: str, text: str) -> None:
    """Atomically write the runtime file of an instance.

    Raises:
      errors.HypervisorError: the file cannot be written.
    """
    try:
        utils_io.WriteFile(paths.RuntimeFile(name), data=text, mode=0o600)
    except OSError as err:
        raise errors.HypervisorError(
            f"Failed to save KVM runtime file: {err}") from err


def ReadRuntime(paths: KvmPaths, name: str) -> str:
    """Return the text of an instance's runtime file.

    Raises:
      errors.HypervisorError: there is no (readable) runtime file.
    """
    try:
        return utils_io.ReadFile(paths.RuntimeFile(name))
    except OSError as err:
        raise errors.HypervisorError(
            f"Failed to load KVM runtime file: {err}") from err


def ParseCmdline(args: list[str]) -> tuple[str | None, int, int, str | None]:
    """Extract (-name, -m, -smp vcpus, -pidfile) from a qemu argument list."""
    name = pidfile = None
    memory = vcpus = 0
    for idx, arg in enumerate(args[:-1]):
        value = args[idx + 1]
        if arg == "-name":
            name = value.split(",")[0]
        elif arg == "-m":
            memory = _LeadingInt(value)
        elif arg == "-smp":
            vcpus = _LeadingInt(value)
        elif arg == "-pidfile":
            pidfile = value
    return name, memory, vcpus, pidfile


def _LeadingInt(value: str) -> int:
    head = value.split(",")[0]
    if head.startswith("size="):
        head = head[5:]
    digits = ""
    for char in head:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def ReadProcessCmdline(pid: int) -> list[str] | None:
    """The argument list of a live process, or None if it is gone."""
    if not utils_process.IsProcessAlive(pid):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    return [os.fsdecode(a) for a in raw.split(b"\0") if a]


def InstancePidInfo(paths: KvmPaths, name: str) -> tuple[int, PidInfo | None]:
    """The pid of an instance's qemu and what its command line says.

    Returns:
      (pid from the pid file or 0, PidInfo if that pid is a live qemu of this
      instance started with our pid file, else None).
    """
    pidfile = paths.PidFile(name)
    pid = utils_process.ReadPidFile(pidfile)
    if not pid:
        return 0, None
    args = ReadProcessCmdline(pid)
    if not args:
        return pid, None
    cmd_name, memory, vcpus, cmd_pidfile = ParseCmdline(args)
    if cmd_name != name:
        return pid, None
    if cmd_pidfile is not None and not _SameFile(cmd_pidfile, pidfile):
        return pid, None
    return pid, PidInfo(name, memory, vcpus)


def _SameFile(path_a: str, path_b: str) -> bool:
    if os.path.normpath(path_a) == os.path.normpath(path_b):
        return True
    try:
        return os.path.samefile(path_a, path_b)
    except OSError:
        return False


def RemoveInstanceFiles(paths: KvmPaths, name: str) -> None:
    """Remove the pid file, sockets, runtime file and NIC files of an instance.

    The chroot directory is removed when empty; a non-empty one is moved to
    the quarantine directory, as Ganeti does, for someone to look at.
    """
    for path in (paths.PidFile(name), paths.MonitorSocket(name),
                 paths.SerialSocket(name), paths.QmpSocket(name),
                 paths.RuntimeFile(name)):
        utils_io.RemoveFile(path)
    shutil.rmtree(paths.NicDir(name), ignore_errors=True)
    chroot = paths.ChrootDir(name)
    try:
        os.rmdir(chroot)
    except FileNotFoundError:
        pass
    except OSError:
        target = os.path.join(paths.chroot_quarantine_dir,
                              f"{name}-{os.getpid()}-{int(os.times().elapsed)}")
        logger.warning("The chroot directory of instance %s is not empty;"
                       " moving it to %s", name, target)
        os.rename(chroot, target)


def WriteNicFiles(paths: KvmPaths, name: str, taps: list[str]) -> None:
    """Record which host tap device each NIC of an instance uses."""
    nic_dir = paths.NicDir(name)
    shutil.rmtree(nic_dir, ignore_errors=True)
    utils_io.EnsureDirs([(nic_dir, RUN_DIRS_MODE)])
    for seq, tap in enumerate(taps):
        utils_io.WriteFile(paths.NicFile(name, seq), data=tap)


def ReadNicFiles(paths: KvmPaths, name: str) -> dict[int, str]:
    """The recorded tap device per NIC index (missing ones are left out)."""
    result = {}
    try:
        entries = os.listdir(paths.NicDir(name))
    except OSError:
        return {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            result[int(entry)] = utils_io.ReadFile(
                paths.NicFile(name, int(entry))).strip()
        except OSError:
            continue
    return result
