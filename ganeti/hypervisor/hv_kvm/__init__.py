"""The kvm hypervisor: instances are qemu processes (Ganeti's hv_kvm).

Every instance is one daemonized qemu (-daemonize, -pidfile) controlled over
QMP; its files live under <run dir>/kvm-hypervisor (see runtime.py), so a
restarted node daemon, or a new KVMHypervisor object, finds its running
instances again through the pid files and runtime files.

- Start: the runtime (instance part of the command line, device layout) is
  computed and saved, taps are opened and configured by kvm-ifup, qemu
  starts paused, memory is ballooned down if the node is short, VNC/SPICE
  passwords are set, CPUs pinned, then the guest runs ("cont").
- Stop: ACPI power button (QMP system_powerdown) and a wait of up to the
  timeout (Ganeti's 120 s by default), then kill; force or acpi=False kills
  at once. Reboot stops (clean if the guest obeys quickly) and starts the
  same runtime again.
- Live migration: the target starts the saved runtime with
  "-incoming tcp:<ip>:<migration_port>"; the source is told to "migrate"
  with the bandwidth and downtime limits; GetMigrationStatus reads
  query-migrate; on success the source qemu is stopped and the target runs
  (resumed if the guest arrived paused), on failure the target is killed and
  the source resumed.
- Console: the serial port is a unix socket, reached with socat over ssh
  (kind "ssh"); otherwise VNC on vnc_bind_address, port network_port.

The accelerator (kvm_flag) and the TCG specifics are described in
cmdline.py; kvm_path keeps Ganeti's default /usr/bin/kvm, which Debian's
qemu-system-x86 package provides (it enables KVM unless kvm_flag=disabled).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import time
from collections.abc import Iterator
from typing import Any

from ganeti import constants, errors, objects, pathutils
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_kvm import cmdline as kc
from ganeti.hypervisor.hv_kvm import kvm_utils, netdev, qmp, runtime
from ganeti.hypervisor.hv_kvm.params import PARAMETERS, CheckKvmParameterSyntax
from ganeti.utils import io as utils_io
from ganeti.utils import process as utils_process
from ganeti.utils import text as utils_text

logger = logging.getLogger(__name__)

SOCAT_PATH = "/usr/bin/socat"
# Ctrl-], as Ganeti's SOCAT_ESCAPE_CODE.
SOCAT_ESCAPE_CODE = "0x1d"
SSH_CONSOLE_USER = "root"
# Ganeti's DEFAULT_SHUTDOWN_TIMEOUT.
DEFAULT_SHUTDOWN_TIMEOUT = 120
_REBOOT_SHUTDOWN_TIMEOUT = 10
_KILL_TIMEOUT = 10
_START_TIMEOUT = 120
_POLL_INTERVAL = 0.05
_MIGRATION_STATUS_MAP = {"completed": hv_base.HV_MIGRATION_COMPLETED,
                         "failed": hv_base.HV_MIGRATION_FAILED,
                         "cancelled": hv_base.HV_MIGRATION_CANCELLED,
                         "none": hv_base.HV_MIGRATION_FAILED}


def _LocalDiskLinks(kvm_runtime: runtime.KvmRuntime) -> runtime.KvmRuntime:
    """Point the source's disk links at this node's own links.

    The runtime comes from the source node, whose disk links are
    <run dir>/instance-disks/<instance>:<index>. On real nodes that path is
    the same everywhere; on a virtual cluster it lies below the source node's
    root, so the destination uses its own link of the same name (the LU has
    assembled the disks here before the migration).
    """
    disks = []
    for disk, link, uri in kvm_runtime.disks:
        local = os.path.join(pathutils.DISK_LINKS_DIR, os.path.basename(link))
        if link != local and os.path.lexists(local):
            link = local
        disks.append((disk, link, uri))
    return kvm_runtime._replace(disks=disks)


class KVMHypervisor(hv_base.BaseHypervisor):
    """Driver for qemu/KVM instances."""

    NAME = constants.HT_KVM
    CAN_MIGRATE = True
    PARAMETERS = PARAMETERS
    ANCILLARY_FILES = [netdev.KVM_VIF_BRIDGE]
    ANCILLARY_FILES_OPT = [netdev.KVM_VIF_BRIDGE]

    def __init__(self, run_dir: str | None = None) -> None:
        """Set up the run directories.

        Args:
          run_dir: the node's run directory (default pathutils.RUN_DIR); tests
            use one per simulated node.

        Raises:
          errors.HypervisorError: the directories cannot be created.
        """
        self._paths = runtime.KvmPaths(run_dir)
        self._paths.EnsureDirs()

    @property
    def paths(self) -> runtime.KvmPaths:
        return self._paths

    # --- process and QMP helpers --------------------------------------------

    def _PidInfo(self, name: str) -> tuple[int, runtime.PidInfo | None]:
        return runtime.InstancePidInfo(self._paths, hv_base.CheckInstanceName(name))

    def _IsAlive(self, name: str) -> bool:
        return self._PidInfo(name)[1] is not None

    def _CheckDown(self, name: str) -> None:
        if self._IsAlive(name):
            raise errors.HypervisorError(
                f"Failed to start instance {name}: already running")

    def _Qmp(self, name: str, command: str, arguments: dict[str, Any] | None = None,
             timeout: float = qmp.DEFAULT_TIMEOUT) -> Any:
        return qmp.RunQmpCommand(self._paths.QmpSocket(name), command, arguments,
                                 timeout=timeout)

    def _WaitForExit(self, name: str, pid: int, timeout: float) -> bool:
        """Wait until the instance's qemu is gone; False on timeout."""
        deadline = time.monotonic() + timeout
        while utils_process.IsProcessAlive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL)
        return True

    def _Kill(self, name: str, pid: int) -> None:
        """Kill a qemu (SIGTERM, then SIGKILL) and wait until it is gone.

        Raises:
          errors.HypervisorError: it survived.
        """
        utils_process.KillProcess(pid, timeout=_KILL_TIMEOUT)
        if not self._WaitForExit(name, pid, _KILL_TIMEOUT):
            raise errors.HypervisorError(
                f"Failed to stop instance {name}: qemu (pid {pid}) survived SIGKILL")

    @contextlib.contextmanager
    def _CtrlDir(self, name: str) -> Iterator[tuple[str, int | None]]:
        """The directory name qemu gets for its sockets (see qmp.ShortSocketPath)."""
        with qmp.ShortSocketPath(self._paths.MonitorSocket(name)) as (path, fd):
            yield os.path.dirname(path), fd

    # --- start ---------------------------------------------------------------

    def StartInstance(self, instance: objects.Instance,
                      block_devices: list[tuple[Any, str, Any]],
                      startup_paused: bool) -> None:
        """Start an instance (see the module docstring).

        Raises:
          errors.HypervisorError: already running, bad parameters, or qemu
            failed; nothing of the instance is left running.
        """
        name = hv_base.CheckInstanceName(instance.name)
        self._CheckDown(name)
        hvp = instance.hvparams or {}
        self.ValidateParameters(hvp)
        machine = kvm_utils.GetDefaultMachineVersion(hvp[kc.HV_KVM_PATH])
        kvm_runtime = kc.GenerateKvmRuntime(instance, block_devices, startup_paused,
                                            machine)
        runtime.WriteRuntime(self._paths, name, runtime.SerializeRuntime(kvm_runtime))
        self._ExecuteOrCleanup(instance, kvm_runtime)

    def _ExecuteOrCleanup(self, instance: objects.Instance,
                          kvm_runtime: runtime.KvmRuntime,
                          incoming: tuple[str, int] | None = None) -> None:
        # Checked before the try: a failure must never kill someone else's qemu.
        self._CheckDown(instance.name)
        try:
            self._ExecuteKvmRuntime(instance, kvm_runtime, incoming)
        except BaseException:
            pid, info = self._PidInfo(instance.name)
            if info is not None:
                with contextlib.suppress(errors.HypervisorError):
                    self._Kill(instance.name, pid)
            self._RemoveInstanceFiles(instance, kvm_runtime)
            raise

    def _ControlOptions(self, instance: objects.Instance, hvp: dict[str, Any],
                        ctrl_dir: str) -> list[str]:
        """Pid file, daemonizing, monitor/serial/QMP sockets, chroot, user."""
        name = instance.name
        opts = ["-pidfile", self._paths.PidFile(name), "-daemonize",
                "-monitor", kc.SocketOption(f"{ctrl_dir}/{name}.monitor"),
                "-qmp", kc.SocketOption(f"{ctrl_dir}/{name}.qmp")]
        if hvp.get(kc.HV_SERIAL_CONSOLE):
            opts += ["-serial", kc.SocketOption(f"{ctrl_dir}/{name}.serial")]
        else:
            opts += ["-serial", "none"]
        if hvp.get(kc.HV_USE_GUEST_AGENT):
            opts += ["-chardev",
                     f"socket,path={ctrl_dir}/{name}.qga,server=on,wait=off,id=qga0"]
        if hvp.get(kc.HV_USE_CHROOT):
            chroot = self._paths.ChrootDir(name)
            utils_io.EnsureDirs([(chroot, constants.SECURE_DIR_MODE)])
            opts += ["-chroot", chroot]
        if hvp.get(kc.HV_SECURITY_MODEL) == kc.HT_SM_USER:
            opts += ["-runas", hvp[kc.HV_SECURITY_DOMAIN]]
        elif hvp.get(kc.HV_SECURITY_MODEL) == kc.HT_SM_POOL:
            raise errors.HypervisorError(
                "The 'pool' security model (uid pool) is not available on this"
                " node; use 'none' or 'user'")
        if hvp.get(kc.HV_KEYMAP):
            opts += ["-k", hvp[kc.HV_KEYMAP]]
        return opts

    @staticmethod
    def _DisplayOptions(instance: objects.Instance, hvp: dict[str, Any]) -> list[str]:
        vnc_bind = hvp.get(kc.HV_VNC_BIND_ADDRESS)
        if vnc_bind:
            address = vnc_bind if vnc_bind.startswith("/") else \
                kvm_utils.ResolveBindAddress(vnc_bind)
            vnc = kc.VncOption(hvp, instance.name, instance.network_port, address)
            if vnc is None:
                logger.error("Network port %s of %s is not a valid VNC display,"
                             " not starting VNC", instance.network_port,
                             instance.name)
                return ["-vnc", "none"]
            return kc.VncTlsObject(hvp) + ["-vnc", vnc]
        spice_bind = hvp.get(kc.HV_SPICE_BIND)
        if spice_bind:
            version = hvp.get("spice_ip_version") or None
            address = kvm_utils.ResolveBindAddress(spice_bind)
            return kc.SpiceOption(hvp, instance.network_port, address, version)
        return ["-display", "none"]

    def _OpenTaps(self, hvp: dict[str, Any], nics: list[objects.NIC],
                  fds: list[int]) -> tuple[list[str], list[kc.NicFds]]:
        """Open one tap per NIC; every descriptor is appended to fds."""
        if (hvp.get(kc.HV_VIRTIO_NET_QUEUES) or 1) > 1:
            raise errors.HypervisorError(
                "virtio_net_queues > 1 (multi-queue taps) is not supported by"
                " this driver")
        vnet_hdr = (hvp.get(kc.HV_NIC_TYPE) == kc.HT_NIC_PARAVIRTUAL
                    and bool(hvp.get(kc.HV_VNET_HDR, True)))
        taps, nic_fds = [], []
        for _ in nics:
            tapname, tapfd = netdev.OpenTap(vnet_hdr=vnet_hdr)
            fds.append(tapfd)
            vhostfd = None
            if hvp.get(kc.HV_VHOST_NET):
                vhostfd = netdev.OpenVhostNet()
                fds.append(vhostfd)
            taps.append(tapname)
            nic_fds.append(kc.NicFds(tapfd, vhostfd))
        return taps, nic_fds

    def _ExecuteKvmRuntime(self, instance: objects.Instance,
                           kvm_runtime: runtime.KvmRuntime,
                           incoming: tuple[str, int] | None = None) -> None:
        """Start qemu for a (saved) runtime on this node.

        Raises:
          errors.HypervisorError: qemu did not start or a setup step failed
            (the caller kills qemu and removes the files).
        """
        name = instance.name
        conf_hvp = instance.hvparams or {}
        up_hvp = objects.FillDict(conf_hvp, kvm_runtime.hvparams)
        cmd = list(kvm_runtime.cmd)
        fds: list[int] = []  # opened here, closed below
        try:
            with self._CtrlDir(name) as (ctrl_dir, dir_fd):
                cmd += self._ControlOptions(instance, conf_hvp, ctrl_dir)
                cmd += self._DisplayOptions(instance, up_hvp)
                taps, nic_fds = self._OpenTaps(up_hvp, kvm_runtime.nics, fds)
                cmd += kc.BuildNicOptions(up_hvp, kvm_runtime.nics, nic_fds)
                cmd += kc.BuildDiskOptions(up_hvp, kvm_runtime.disks)
                if incoming:
                    cmd += ["-incoming", kc.FormatIncoming(*incoming)]
                start_paused = kc.KVM_START_PAUSED_FLAG not in cmd and not incoming
                if start_paused:
                    cmd.append(kc.KVM_START_PAUSED_FLAG)
                for seq, (nic, tap) in enumerate(zip(kvm_runtime.nics, taps)):
                    routed = (nic.nicparams or {}).get("mode") == \
                        constants.NIC_MODE_ROUTED
                    if not (incoming and routed):
                        netdev.ConfigureNIC(instance, seq, nic, tap)
                self._RunKvm(name, cmd, fds + ([] if dir_fd is None else [dir_fd]))
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        runtime.WriteNicFiles(self._paths, name, taps)
        self._AfterStart(instance, up_hvp, conf_hvp, start_paused,
                         incoming is not None)

    def _RunKvm(self, name: str, cmd: list[str], fds: list[int]) -> None:
        logger.info("Starting qemu for %s: %s", name,
                    utils_text.ShellQuoteArgs(cmd))
        try:
            result = utils_process.RunCmd(cmd, noclose_fds=fds, timeout=_START_TIMEOUT)
        except errors.CommandError as err:
            raise errors.HypervisorError(
                f"Failed to start instance {name}: {err}") from err
        if result.failed:
            raise errors.HypervisorError(
                f"Failed to start instance {name}: {result.fail_reason}"
                f" ({result.output.strip()})")
        if not self._IsAlive(name):
            raise errors.HypervisorError(
                f"Failed to start instance {name}: qemu exited right away"
                f" ({result.output.strip()})")

    def _AfterStart(self, instance: objects.Instance, up_hvp: dict[str, Any],
                    conf_hvp: dict[str, Any], start_paused: bool,
                    incoming: bool) -> None:
        """Passwords, CPU pinning and ballooning while paused, then run.

        An incoming instance keeps the memory it has on the source.
        """
        name = instance.name
        for key, protocol in ((kc.HV_VNC_PASSWORD_FILE, "vnc"),
                              ("spice_password_file", "spice")):
            if conf_hvp.get(key):
                try:
                    password = utils_io.ReadOneLineFile(conf_hvp[key], strict=True)
                except (OSError, errors.GenericError) as err:
                    raise errors.HypervisorError(
                        f"Failed to open {protocol.upper()} password file"
                        f" {conf_hvp[key]}: {err}") from err
                self._Qmp(name, "set_password",
                          {"protocol": protocol, "password": password})
        cpu_mask = up_hvp.get(kc.HV_CPU_MASK)
        if cpu_mask and cpu_mask != hv_base.CPU_PINNING_ALL:
            self._ExecuteCpuAffinity(name, cpu_mask)
        if not incoming:
            start_memory = self._InstanceStartupMemory(instance)
            if start_memory < int((instance.beparams or {}).get("maxmem", 0)):
                self.BalloonInstanceMemory(instance, start_memory)
        if start_paused:
            self._Qmp(name, "cont")

    def _ExecuteCpuAffinity(self, name: str, cpu_mask: str) -> None:
        """Pin the whole qemu, or each vCPU thread, as cpu_mask says."""
        masks = hv_base.ParseMultiCpuMask(cpu_mask)
        pid, _ = self._PidInfo(name)
        if len(masks) == 1:
            if masks[0] != [hv_base.CPU_PINNING_ALL_VAL]:
                kvm_utils.SetThreadsAffinity(kvm_utils.ProcessThreads(pid), masks[0])
            return
        cpus = self._Qmp(name, "query-cpus-fast")
        threads = {cpu["cpu-index"]: cpu["thread-id"] for cpu in cpus}
        if len(threads) != len(masks):
            raise errors.HypervisorError(
                f"Number of CPU masks ({len(masks)}) doesn't match the number of"
                f" vCPUs ({len(threads)})")
        for idx, mask in enumerate(masks):
            kvm_utils.SetThreadsAffinity([threads[idx]], mask)

    # --- stop, cleanup, reboot -----------------------------------------------

    def StopInstance(self, instance: objects.Instance | None, force: bool = False,
                     retry: bool = False, name: str | None = None,
                     timeout: float | None = None) -> None:
        """Stop an instance: ACPI power button and wait, or kill.

        A soft stop presses the ACPI power button (QMP system_powerdown),
        waits up to timeout seconds (default 120) for qemu to exit, then kills
        it. force, or acpi=False, kills at once.

        Raises:
          errors.HypervisorError: not running, by name without force, or qemu
            could not be stopped.
        """
        if name is not None and not force:
            raise errors.HypervisorError("Cannot shutdown cleanly by name only")
        if name is None:
            if instance is None:
                raise errors.ProgrammerError("StopInstance needs an instance or name")
            name = instance.name
        pid, info = self._PidInfo(name)
        if info is None:
            raise errors.HypervisorError(f"Instance {name} is not running")
        acpi = bool(instance.hvparams.get(kc.HV_ACPI)) if instance else False
        if force or not acpi:
            self._Kill(name, pid)
            return
        self._SoftStop(name, pid, DEFAULT_SHUTDOWN_TIMEOUT if timeout is None
                       else timeout)

    def _SoftStop(self, name: str, pid: int, timeout: float) -> None:
        try:
            self._Qmp(name, "system_powerdown")
        except errors.HypervisorError as err:
            if not utils_process.IsProcessAlive(pid):
                return
            logger.warning("ACPI powerdown of %s failed (%s), killing it", name, err)
            timeout = 0
        if not self._WaitForExit(name, pid, timeout):
            logger.warning("Instance %s did not shut down within %s seconds,"
                           " killing it", name, timeout)
            self._Kill(name, pid)

    def CleanupInstance(self, instance_name: str) -> None:
        """Undo the NICs' network setup and remove the instance's files.

        Raises:
          errors.HypervisorError: the instance is still running.
        """
        name = hv_base.CheckInstanceName(instance_name)
        if self._IsAlive(name):
            raise errors.HypervisorError("Cannot cleanup a live instance")
        kvm_runtime = None
        with contextlib.suppress(errors.HypervisorError):
            kvm_runtime = runtime.ParseRuntime(runtime.ReadRuntime(self._paths, name))
        self._RemoveInstanceFiles(objects.Instance(name=name), kvm_runtime)

    def _RemoveInstanceFiles(self, instance: objects.Instance,
                             kvm_runtime: runtime.KvmRuntime | None) -> None:
        if kvm_runtime is not None:
            taps = runtime.ReadNicFiles(self._paths, instance.name)
            for seq, nic in enumerate(kvm_runtime.nics):
                if seq in taps:
                    netdev.UnconfigureNIC(instance, seq, nic, taps[seq])
        runtime.RemoveInstanceFiles(self._paths, instance.name)

    def RebootInstance(self, instance: objects.Instance) -> None:
        """Restart an instance's qemu with its saved runtime.

        As Ganeti's kvm: the guest is asked to power off (briefly waited
        for), qemu is stopped and started again with the same command line,
        devices and NICs.

        Raises:
          errors.HypervisorError: not running, or the restart failed.
        """
        name = instance.name
        pid, info = self._PidInfo(name)
        if info is None:
            raise errors.HypervisorError(
                f"Failed to reboot instance {name}: not running")
        text = runtime.ReadRuntime(self._paths, name)
        kvm_runtime = runtime.ParseRuntime(text)
        if instance.hvparams.get(kc.HV_ACPI):
            self._SoftStop(name, pid, _REBOOT_SHUTDOWN_TIMEOUT)
        else:
            self._Kill(name, pid)
        runtime.WriteRuntime(self._paths, name, text)
        self._ExecuteOrCleanup(instance, kvm_runtime)

    # --- queries -------------------------------------------------------------

    def ListInstances(self, hvparams: dict[str, Any] | None = None) -> list[str]:
        """Names of the instances whose qemu runs (from the pid files)."""
        result = []
        for name in self._paths.ListPidFiles():
            try:
                if self._IsAlive(name):
                    result.append(name)
            except errors.HypervisorError:
                logger.warning("Ignoring unexpected file %s in %s", name,
                               self._paths.pids_dir)
        return result

    def GetInstanceInfo(self, instance_name: str,
                        hvparams: dict[str, Any] | None = None,
                        ) -> hv_base.InstanceInfoRow | None:
        """(name, pid, memory MiB, vcpus, state, cpu seconds), None if stopped.

        Memory and vCPUs come from QMP (the balloon's actual size, the vCPU
        list) when qemu answers, else from its command line.
        """
        pid, info = self._PidInfo(instance_name)
        if info is None:
            return None
        memory, vcpus = info.memory, info.vcpus
        try:
            with qmp.QmpConnection(self._paths.QmpSocket(instance_name),
                                   timeout=2) as conn:
                vcpus = len(conn.Execute("query-cpus-fast")) or vcpus
                with contextlib.suppress(qmp.QmpCommandError):
                    memory = conn.Execute("query-balloon")["actual"] // 1048576
        except errors.HypervisorError as err:
            logger.debug("QMP query of %s failed: %s", instance_name, err)
        return (instance_name, pid, memory, vcpus, hv_base.HvInstanceState.RUNNING,
                kvm_utils.ProcessCpuTime(pid))

    def GetAllInstancesInfo(self, hvparams: dict[str, Any] | None = None,
                            ) -> list[hv_base.InstanceInfoRow]:
        result = []
        for name in self._paths.ListPidFiles():
            try:
                info = self.GetInstanceInfo(name)
            except errors.HypervisorError:
                continue
            if info is not None:
                result.append(info)
        return result

    def GetNodeInfo(self, hvparams: dict[str, Any] | None = None) -> dict[str, Any]:
        """The node's memory and CPUs, plus hv_version (qemu's version)."""
        result: dict[str, Any] = self.GetLinuxNodeInfo()
        kvm_path = (hvparams or {}).get(kc.HV_KVM_PATH) or _DefaultKvmPath()
        try:
            result["hv_version"] = kvm_utils.GetKvmVersion(kvm_path)
        except errors.HypervisorError as err:
            logger.warning("Can't get the KVM version: %s", err)
        return result

    @classmethod
    def GetInstanceConsole(cls, instance: Any, primary_node: Any, node_group: Any,
                           hvparams: dict[str, Any], beparams: dict[str, Any],
                           ) -> hv_base.InstanceConsole:
        """Serial console over ssh+socat, else VNC, else SPICE, else a message."""
        return BuildInstanceConsole(runtime.KvmPaths(), instance, primary_node,
                                    node_group, hvparams)

    def Verify(self, hvparams: dict[str, Any] | None = None) -> str | None:
        """Check that the qemu and socat binaries exist."""
        msgs = []
        kvm_path = (hvparams or {}).get(kc.HV_KVM_PATH) or _DefaultKvmPath()
        if not os.path.exists(kvm_path):
            msgs.append(f"The KVM binary ('{kvm_path}') does not exist")
        if not os.path.exists(SOCAT_PATH):
            msgs.append(f"The socat binary ('{SOCAT_PATH}') does not exist")
        return self._FormatVerifyResults(msgs)

    # --- parameters ----------------------------------------------------------

    @classmethod
    def CheckParameterSyntax(cls, hvparams: dict[str, Any]) -> None:
        """Ganeti's kvm checks on top of the per-parameter ones.

        Raises:
          errors.HypervisorError: see CheckKvmParameterSyntax.
        """
        super().CheckParameterSyntax(hvparams)
        CheckKvmParameterSyntax(hvparams)

    @classmethod
    def ValidateParameters(cls, hvparams: dict[str, Any]) -> None:
        """Node checks: files, the security domain user, bind addresses.

        Raises:
          errors.HypervisorError: a parameter does not fit this node.
        """
        super().ValidateParameters(hvparams)
        if hvparams.get(kc.HV_SECURITY_MODEL) == kc.HT_SM_USER:
            try:
                pwd.getpwnam(hvparams[kc.HV_SECURITY_DOMAIN])
            except KeyError as err:
                raise errors.HypervisorError(
                    "Unknown security domain user"
                    f" {hvparams[kc.HV_SECURITY_DOMAIN]}") from err
        vnc_bind = hvparams.get(kc.HV_VNC_BIND_ADDRESS)
        if vnc_bind and not (_IsIpAddress(vnc_bind) or hv_base.IsNormAbsPath(vnc_bind)
                             or kvm_utils.IsValidInterface(vnc_bind)):
            raise errors.HypervisorError(
                f"VNC: The {kc.HV_VNC_BIND_ADDRESS} parameter must be either a"
                " valid IP address, an interface name, or an absolute path")
        spice_bind = hvparams.get(kc.HV_SPICE_BIND)
        if spice_bind:
            if vnc_bind:
                raise errors.HypervisorError(
                    "Both SPICE and VNC are configured, but only one of them can"
                    " be used at a given time")
            if not (_IsIpAddress(spice_bind) or kvm_utils.IsValidInterface(spice_bind)):
                raise errors.HypervisorError(
                    f"SPICE: The {kc.HV_SPICE_BIND} parameter must be either a"
                    " valid IP address or interface name")
        machine = hvparams.get(kc.HV_MACHINE_VERSION)
        if machine and not kvm_utils.IsMachineVersionSupported(
                hvparams[kc.HV_KVM_PATH], machine):
            raise errors.HypervisorError(f"Unsupported machine version: {machine}")

    # --- memory --------------------------------------------------------------

    def BalloonInstanceMemory(self, instance: objects.Instance, mem: int) -> None:
        """Set the guest's memory through the virtio balloon (QMP "balloon").

        Raises:
          errors.HypervisorError: not running, or qemu refused.
        """
        if not self._IsAlive(instance.name):
            raise errors.HypervisorError(
                f"Cannot balloon instance {instance.name}: not running")
        self._Qmp(instance.name, "balloon", {"value": int(mem) * 1048576})

    # --- migration -----------------------------------------------------------

    def MigrationInfo(self, instance: objects.Instance) -> str:
        """The instance's runtime file, for the target node."""
        return runtime.ReadRuntime(self._paths, hv_base.CheckInstanceName(
            instance.name))

    def AcceptInstance(self, instance: objects.Instance, info: str,
                       target: str) -> None:
        """Start qemu in incoming mode on target:migration_port.

        Raises:
          errors.HypervisorError: the runtime is invalid, the instance already
            runs here, or qemu did not start.
        """
        name = hv_base.CheckInstanceName(instance.name)
        self._CheckDown(name)
        kvm_runtime = _LocalDiskLinks(runtime.ParseRuntime(info))
        runtime.WriteRuntime(self._paths, name, runtime.SerializeRuntime(kvm_runtime))
        port = int(instance.hvparams[kc.HV_MIGRATION_PORT])
        self._ExecuteOrCleanup(instance, kvm_runtime, incoming=(target, port))

    def MigrateInstance(self, cluster_name: str, instance: objects.Instance,
                        target: str, live: bool) -> None:
        """Start sending the instance to target (returns at once).

        Raises:
          errors.HypervisorError: not running, or qemu refused to migrate.
        """
        name = instance.name
        hvp = instance.hvparams
        if not self._IsAlive(name):
            raise errors.HypervisorError("Instance not running, cannot migrate")
        with qmp.QmpConnection(self._paths.QmpSocket(name)) as conn:
            if not live:
                conn.Execute("stop")
            conn.Execute("migrate-set-parameters", {
                "max-bandwidth": int(hvp[kc.HV_MIGRATION_BANDWIDTH]) * 1048576,
                "downtime-limit": int(hvp[kc.HV_MIGRATION_DOWNTIME])})
            caps = [c for c in (hvp.get(kc.HV_MIGRATION_CAPS) or "").split(":") if c]
            if caps:
                conn.Execute("migrate-set-capabilities", {"capabilities": [
                    {"capability": cap, "state": True} for cap in caps]})
            uri = kc.FormatIncoming(target, int(hvp[kc.HV_MIGRATION_PORT]))
            conn.Execute("migrate", {"uri": uri})

    def GetMigrationStatus(self, instance: objects.Instance,
                           ) -> hv_base.MigrationStatus:
        """The state of the outgoing migration, from query-migrate."""
        try:
            info = self._Qmp(instance.name, "query-migrate")
        except errors.HypervisorError as err:
            logger.warning("Can't query the migration of %s: %s", instance.name, err)
            return hv_base.MigrationStatus(status=hv_base.HV_MIGRATION_FAILED)
        raw = info.get("status", "none")
        status = _MIGRATION_STATUS_MAP.get(raw, hv_base.HV_MIGRATION_ACTIVE)
        ram = info.get("ram") or {}
        if "transferred" in ram and "total" in ram:
            return hv_base.MigrationStatus(
                status=status, transferred_ram=int(ram["transferred"]) // 1024,
                total_ram=int(ram["total"]) // 1024)
        return hv_base.MigrationStatus(status=status)

    def FinalizeMigrationDst(self, instance: objects.Instance, info: str,
                             success: bool) -> None:
        """Keep the arrived instance (routed NICs set up, running) or kill it."""
        name = instance.name
        if not success:
            pid, alive = self._PidInfo(name)
            if alive is not None:
                self._Kill(name, pid)
            self._RemoveInstanceFiles(instance, runtime.ParseRuntime(info))
            return
        kvm_runtime = runtime.ParseRuntime(info)
        taps = runtime.ReadNicFiles(self._paths, name)
        for seq, nic in enumerate(kvm_runtime.nics):
            if (nic.nicparams or {}).get("mode") == constants.NIC_MODE_ROUTED:
                if seq in taps:
                    netdev.ConfigureNIC(instance, seq, nic, taps[seq])
        runtime.WriteRuntime(self._paths, name, info)
        status = self._Qmp(name, "query-status")
        paused_on_start = kc.KVM_START_PAUSED_FLAG in kvm_runtime.cmd
        if status.get("status") == "paused" and not paused_on_start:
            # A non-live migration arrives paused (the source was stopped).
            self._Qmp(name, "cont")

    def FinalizeMigrationSource(self, instance: objects.Instance, success: bool,
                                live: bool) -> None:
        """Stop the source qemu after success, resume it after a failure."""
        name = instance.name
        pid, info = self._PidInfo(name)
        kvm_runtime = None
        with contextlib.suppress(errors.HypervisorError):
            kvm_runtime = runtime.ParseRuntime(runtime.ReadRuntime(self._paths, name))
        if success:
            if info is not None:
                self._Kill(name, pid)
            self._RemoveInstanceFiles(instance, kvm_runtime)
        elif info is not None:
            self._Qmp(name, "cont")
        else:
            self._RemoveInstanceFiles(instance, kvm_runtime)


def _DefaultKvmPath() -> str:
    from ganeti import defaults

    return defaults.HVC_DEFAULTS[constants.HT_KVM][kc.HV_KVM_PATH]


def _IsIpAddress(value: str) -> bool:
    from ganeti import netutils

    return netutils.IPAddress.IsValid(value)


def _AsObject(value: Any, cls: type) -> Any:
    return cls.FromDict(value) if isinstance(value, dict) else value


def SerialConsoleCommand(serial_path: str) -> list[str]:
    """The command connecting a terminal to a serial socket (socat, raw, ^])."""
    params = f"STDIO,raw,echo=0,escape={SOCAT_ESCAPE_CODE}"
    if len(os.fsencode(serial_path)) <= qmp.MAX_UNIX_PATH:
        return [SOCAT_PATH, params, f"UNIX-CONNECT:{serial_path}"]
    # socat cannot reach a socket path over the sun_path limit: go there first.
    dirname, basename = os.path.split(serial_path)
    return ["sh", "-c", f"cd {utils_text.ShellQuote(dirname)} && exec"
            f" {SOCAT_PATH} {params} UNIX-CONNECT:{utils_text.ShellQuote(basename)}"]


def BuildInstanceConsole(paths: runtime.KvmPaths, instance: Any, primary_node: Any,
                         node_group: Any, hvparams: dict[str, Any],
                         ) -> hv_base.InstanceConsole:
    """The console description of an instance (GetInstanceConsole)."""
    instance = _AsObject(instance, objects.Instance)
    primary_node = _AsObject(primary_node, objects.Node)
    node_group = _AsObject(node_group, objects.NodeGroup)
    name = instance.name
    if hvparams.get(kc.HV_SERIAL_CONSOLE):
        port = None
        with contextlib.suppress(AttributeError, TypeError):
            port = node_group.FillND(primary_node).get("ssh_port")
        return hv_base.InstanceConsole(
            instance=name, kind=hv_base.CONS_SSH, host=primary_node.name,
            port=port, user=SSH_CONSOLE_USER,
            command=SerialConsoleCommand(paths.SerialSocket(name)))
    vnc_bind = hvparams.get(kc.HV_VNC_BIND_ADDRESS)
    network_port = instance.network_port or 0
    if vnc_bind and network_port > kc.VNC_BASE_PORT:
        return hv_base.InstanceConsole(
            instance=name, kind=hv_base.CONS_VNC, host=vnc_bind, port=network_port,
            display=network_port - kc.VNC_BASE_PORT)
    spice_bind = hvparams.get(kc.HV_SPICE_BIND)
    if spice_bind:
        return hv_base.InstanceConsole(instance=name, kind=hv_base.CONS_SPICE,
                                       host=spice_bind, port=network_port)
    return hv_base.InstanceConsole(instance=name, kind=hv_base.CONS_MESSAGE,
                                   message=f"No serial shell for instance {name}")
