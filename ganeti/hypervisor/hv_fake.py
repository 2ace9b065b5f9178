"""The fake hypervisor: instances are state files, everything is instant.

As Ganeti's lib/hypervisor/hv_fake.py: a running instance is a file named
after it in RUN_DIR/fake-hypervisor (node-root prefixed on virtual nodes, so
every virtual node has its own instances), holding three lines: the id
("0"), the memory in MiB and the vCPU count. Starting creates the file,
stopping removes it, rebooting does nothing; node memory is /proc's minus
what the fake instances hold, so the allocator sees them.

Differences from Ganeti, all for robustness at scale:
- Start is exclusive: the state file is written under a temporary name and
  hard-linked into place, so of two concurrent starts exactly one wins.
- Files are written atomically (fsynced temp file + rename or link); temp
  files start with "." and are never listed as instances.
- The directory is created by the first start, not by the constructor, so
  that listing and verifying change nothing on the node.
- Migration carries the source's memory and vCPUs in MigrationInfo, so a
  ballooned instance keeps its memory on the target.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from typing import Any

from ganeti import errors, pathutils, serializer
from ganeti.hypervisor import hv_base
from ganeti.utils import io

logger = logging.getLogger(__name__)

# Ganeti's RUN_DIRS_MODE: the run dir and its subdirs are group-writable.
_ROOT_DIR_MODE = 0o775
_NOT_RUNNING = "not running"
# A state file is three short lines; anything longer is not ours.
_MAX_STATE_SIZE = 4096
_CONSOLE_MESSAGE = "Console not available for fake hypervisor"


class FakeHypervisor(hv_base.BaseHypervisor):
    """Hypervisor driver without virtualisation, for tests and scale."""

    NAME = "fake"
    PARAMETERS = {
        hv_base.HV_MIGRATION_MODE: hv_base.MIGRATION_MODE_CHECK,
    }
    CAN_MIGRATE = True

    _ROOT_DIR = pathutils.RUN_DIR + "/fake-hypervisor"

    def __init__(self, _root_dir: str | None = None) -> None:
        """Args:
          _root_dir: directory of the state files (test seam; default
            RUN_DIR/fake-hypervisor).

        The directory is created by the first start, not here: queries
        (listing, node info, verify) have no side effects on the node.
        """
        self._root_dir = self._ROOT_DIR if _root_dir is None else _root_dir

    def _EnsureRootDir(self) -> None:
        """Create the state directory (Ganeti's RUN_DIRS_MODE).

        Raises:
          errors.HypervisorError: it cannot be created.
        """
        try:
            os.makedirs(self._root_dir, mode=_ROOT_DIR_MODE, exist_ok=True)
        except OSError as err:
            raise errors.HypervisorError(
                f"Can't create the fake hypervisor directory {self._root_dir}:"
                f" {err.strerror}") from err

    # --- state files ---------------------------------------------------------

    def _InstanceFile(self, instance_name: str) -> str:
        return os.path.join(self._root_dir, hv_base.CheckInstanceName(instance_name))

    def _IsAlive(self, instance_name: str) -> bool:
        return os.path.exists(self._InstanceFile(instance_name))

    @staticmethod
    def _FormatState(memory: int, vcpus: int) -> str:
        return f"0\n{int(memory)}\n{int(vcpus)}\n"

    def _ReadState(self, instance_name: str, dir_fd: int | None = None
                   ) -> hv_base.InstanceInfoRow | None:
        """Return the info row of one state file, None if there is none.

        Args:
          dir_fd: an open descriptor of the state directory (saves the path
            lookup when reading many files; raw reads keep 1000 files at
            a few ms).
        """
        path = (instance_name if dir_fd is not None
                else os.path.join(self._root_dir, instance_name))
        try:
            fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise errors.HypervisorError(
                f"Failed to list instance {instance_name}: {err.strerror}") from err
        try:
            data = os.read(fd, _MAX_STATE_SIZE)
        except OSError as err:
            raise errors.HypervisorError(
                f"Failed to list instance {instance_name}: {err.strerror}") from err
        finally:
            os.close(fd)
        lines = data.split(b"\n")
        try:
            inst_id = lines[0].decode("ascii")
            memory, vcpus = int(lines[1]), int(lines[2])
        except (IndexError, ValueError) as err:
            raise errors.HypervisorError(
                f"Corrupt state file of fake instance {instance_name}:"
                f" {data!r:.80}") from err
        return (instance_name, inst_id, memory, vcpus,
                hv_base.HvInstanceState.RUNNING, 0)

    def _MarkUp(self, instance: Any, memory: int, exclusive: bool) -> None:
        """Write the state file of a running instance.

        Args:
          exclusive: fail with FileExistsError if it is already running.
        """
        target = self._InstanceFile(instance.name)
        data = self._FormatState(memory, instance.beparams[hv_base.BE_VCPUS])
        self._EnsureRootDir()
        if not exclusive:
            io.WriteFile(target, data=data)
            return
        fd, tmp_name = tempfile.mkstemp(prefix=f".{instance.name}.", suffix=".new",
                                        dir=self._root_dir)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            # link() never replaces an existing file: the exclusive step.
            os.link(tmp_name, target)
        finally:
            io.RemoveFile(tmp_name)

    def _MarkDown(self, instance_name: str) -> None:
        io.RemoveFile(self._InstanceFile(instance_name))

    def _StateNames(self) -> list[str]:
        try:
            names = os.listdir(self._root_dir)
        except FileNotFoundError:
            return []  # nothing was ever started here
        except OSError as err:
            raise errors.HypervisorError(
                f"Failed to list instances: {err.strerror}") from err
        return [name for name in names if not name.startswith(".")]

    # --- queries -------------------------------------------------------------

    def ListInstances(self, hvparams: dict[str, Any] | None = None) -> list[str]:
        """Return the names of the running fake instances (one listing)."""
        return self._StateNames()

    def GetInstanceInfo(self, instance_name: str,
                        hvparams: dict[str, Any] | None = None
                        ) -> hv_base.InstanceInfoRow | None:
        """Return (name, "0", memory, vcpus, RUNNING, 0), None if not running."""
        return self._ReadState(hv_base.CheckInstanceName(instance_name))

    def GetAllInstancesInfo(self, hvparams: dict[str, Any] | None = None
                            ) -> list[hv_base.InstanceInfoRow]:
        """Return the info rows of every running fake instance."""
        rows = []
        names = self._StateNames()
        if not names:
            return rows
        try:
            dir_fd = os.open(self._root_dir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise errors.HypervisorError(
                f"Failed to list instances: {err.strerror}") from err
        try:
            for name in names:
                row = self._ReadState(name, dir_fd)
                if row is not None:  # stopped between listing and reading
                    rows.append(row)
        finally:
            os.close(dir_fd)
        return rows

    def GetNodeInfo(self, hvparams: dict[str, Any] | None = None) -> dict[str, Any]:
        """The node's /proc figures, minus the memory of the fake instances."""
        result = self.GetLinuxNodeInfo()
        used = sum(row[2] for row in self.GetAllInstancesInfo())
        result["memory_free"] -= min(result["memory_free"], used)
        return result

    @classmethod
    def GetInstanceConsole(cls, instance: Any, primary_node: Any, node_group: Any,
                           hvparams: dict[str, Any], beparams: dict[str, Any]
                           ) -> hv_base.InstanceConsole:
        """Fake instances have no console: a "msg" console saying so."""
        return hv_base.InstanceConsole(instance=instance.name,
                                       kind=hv_base.CONS_MESSAGE,
                                       message=_CONSOLE_MESSAGE)

    def Verify(self, hvparams: dict[str, Any] | None = None) -> str | None:
        """Report a state directory that is missing and cannot be created.

        Ganeti's driver creates the directory when constructed and reports
        it missing; here it is created at the first start, so a missing one
        is a problem only if it cannot be created.
        """
        if os.path.isdir(self._root_dir):
            return None
        parent = os.path.dirname(self._root_dir)
        while parent != "/" and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK):
            return None
        return (f"The required directory '{self._root_dir}' does not exist and"
                " cannot be created")

    # --- lifecycle -----------------------------------------------------------

    def StartInstance(self, instance: Any, block_devices: list[tuple[Any, str, Any]],
                      startup_paused: bool) -> None:
        """Create the state file with the startup memory and the vCPUs.

        Raises:
          errors.HypervisorError: already running, or the file can't be written.
        """
        hv_base.CheckInstanceName(instance.name)
        self._EnsureRootDir()
        memory = self._InstanceStartupMemory(instance)
        try:
            self._MarkUp(instance, memory, exclusive=True)
        except FileExistsError as err:
            raise errors.HypervisorError(
                f"Failed to start instance {instance.name}: already running"
            ) from err
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise errors.HypervisorError(
                f"Failed to start instance {instance.name}: {err}") from err

    def StopInstance(self, instance: Any, force: bool = False, retry: bool = False,
                     name: str | None = None, timeout: float | None = None) -> None:
        """Remove the state file.

        Raises:
          errors.HypervisorError: the instance is not running.
        """
        if name is None:
            name = instance.name
        if not self._IsAlive(name):
            raise errors.HypervisorError(
                f"Failed to stop instance {name}: {_NOT_RUNNING}")
        try:
            self._MarkDown(name)
        except OSError as err:
            raise errors.HypervisorError(
                f"Failed to stop instance {name}: {err.strerror}") from err

    def RebootInstance(self, instance: Any) -> None:
        """Nothing to do for a running fake instance.

        Raises:
          errors.HypervisorError: the instance is not running.
        """
        if not self._IsAlive(instance.name):
            raise errors.HypervisorError(
                f"Failed to reboot instance {instance.name}: {_NOT_RUNNING}")

    def BalloonInstanceMemory(self, instance: Any, mem: int) -> None:
        """Record the new memory size in the state file.

        Raises:
          errors.HypervisorError: not running, or the file can't be written.
        """
        if not self._IsAlive(instance.name):
            raise errors.HypervisorError(
                f"Failed to balloon memory for {instance.name}: {_NOT_RUNNING}")
        try:
            self._MarkUp(instance, mem, exclusive=False)
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise errors.HypervisorError(
                f"Failed to balloon memory for {instance.name}: {err}") from err

    # --- migration -------------------------------------------------------------

    def MigrationInfo(self, instance: Any) -> str:
        """Return the source's {"memory", "vcpus"} (JSON) for the target."""
        row = self._ReadState(hv_base.CheckInstanceName(instance.name))
        if row is None:
            raise errors.HypervisorError(
                f"Instance {instance.name} is not running on this node")
        return serializer.DumpJson({"memory": row[2], "vcpus": row[3]})

    def AcceptInstance(self, instance: Any, info: Any, target: str) -> None:
        """Refuse an instance that already runs here."""
        if self._IsAlive(instance.name):
            raise errors.HypervisorError("Can't accept instance, already running")

    def MigrateInstance(self, cluster_name: str, instance: Any, target: str,
                        live: bool) -> None:
        """Nothing moves: the target's FinalizeMigrationDst creates the file.

        Raises:
          errors.HypervisorError: the instance does not run here.
        """
        if not self._IsAlive(instance.name):
            raise errors.HypervisorError(
                f"Instance {instance.name} is not running on this node")
        logger.debug("Fake hypervisor migrating %s to %s (live=%s)",
                     instance.name, target, live)

    def FinalizeMigrationDst(self, instance: Any, info: Any, success: bool) -> None:
        """Mark the instance up here on success, make sure it is down otherwise."""
        try:
            if success:
                self._MarkUp(instance, self._MigratedMemory(instance, info),
                             exclusive=False)
            else:
                self._MarkDown(instance.name)
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise errors.HypervisorError(
                f"Failed to finalize the migration of {instance.name}: {err}"
            ) from err

    def _MigratedMemory(self, instance: Any, info: Any) -> int:
        """The memory the source reported, else the startup memory."""
        try:
            memory = serializer.LoadJson(info)["memory"]
        except (errors.GenericError, ValueError, TypeError, KeyError):
            memory = None
        if isinstance(memory, int) and not isinstance(memory, bool) and memory > 0:
            return memory
        return self._InstanceStartupMemory(instance)

    def FinalizeMigrationSource(self, instance: Any, success: bool,
                                live: bool) -> None:
        """On success the instance runs on the target: drop it here."""
        if success:
            try:
                self._MarkDown(instance.name)
            except OSError as err:
                if err.errno != errno.ENOENT:
                    raise errors.HypervisorError(
                        f"Failed to finalize the migration of {instance.name}:"
                        f" {err.strerror}") from err

    def GetMigrationStatus(self, instance: Any) -> hv_base.MigrationStatus:
        """A fake migration is complete as soon as it started."""
        return hv_base.MigrationStatus(status=hv_base.HV_MIGRATION_COMPLETED)
