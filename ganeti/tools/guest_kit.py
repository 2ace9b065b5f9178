"""A tiny real kvm guest: the host's Debian kernel plus a busybox initramfs.

Used by `make demo` (and, through test/support/guest.py, by the kvm tests).
The recipe of /work/shared/notes/real-parts.md section 1a: the host's newest
/boot/vmlinuz-<version> boots under TCG in ~4 s with 128 MB, from an
initramfs holding only a static busybox, a few modules (ACPI power button,
virtio PCI/net/block/balloon) and an /init that

- prints "GUEST-NIC <iface> <mac>" per NIC, "GUEST-DISK <dev> <sectors>" per
  virtio disk, then "GUEST-MARKER-READY <uptime>" on the serial console;
- powers the guest off when the ACPI power button is pressed (QMP
  system_powerdown), printing "GUEST-ACPI-POWERDOWN" first;
- runs a shell on ttyS0 forever (SerialConsole.Run talks to it).

BuildGuestKit builds the initramfs once into a cache directory (keyed by the
kernel version and the content; building takes ~0.1 s) and returns
(kernel, initrd); it raises errors.HypervisorError naming what is missing
when the kernel, its modules or busybox are not installed (Debian packages
linux-image-amd64 and busybox-static).
"""

from __future__ import annotations

import fcntl
import glob
import gzip
import hashlib
import io
import os
import re
import select
import shutil
import subprocess
import tempfile
import time

from ganeti import errors
from ganeti.hypervisor.hv_kvm import qmp

MARKER = "GUEST-MARKER-READY"
ACPI_MARKER = "GUEST-ACPI-POWERDOWN"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
QEMU = "qemu-system-x86_64"
# Modules loaded in this order (dependencies first), if the kernel has them.
_MODULES = ("evdev", "button", "virtio_pci", "virtio_net", "virtio_blk",
            "virtio_balloon")

_INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod $m 2>/dev/null; done
(for d in /dev/input/event*; do (head -c 24 $d >/dev/null; \
echo GUEST-ACPI-POWERDOWN >/dev/ttyS0; poweroff -f) & done) &
for n in /sys/class/net/eth*; do [ -e "$n" ] && \
echo "GUEST-NIC ${n##*/} $(cat $n/address)"; done
for b in /sys/block/vd*; do [ -e "$b" ] && \
echo "GUEST-DISK ${b##*/} $(cat $b/size)"; done
echo "GUEST-MARKER-READY $(cut -d' ' -f1 /proc/uptime)"
while true; do setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'; done
"""


def FindKernel() -> tuple[str, str] | None:
    """The newest host kernel that has its modules installed.

    Returns:
      (vmlinuz path, kernel version), or None if there is none.
    """
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        version = path[len("/boot/vmlinuz-"):]
        if os.path.isdir(f"/lib/modules/{version}") and os.access(path, os.R_OK):
            found.append((_VersionKey(version), path, version))
    if not found:
        return None
    _, path, version = max(found)
    return path, version


def _VersionKey(version: str) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", version)]


def FindBusybox() -> str | None:
    """Path of an executable busybox, or None."""
    for path in BUSYBOX_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def FindQemu() -> str | None:
    """Path of qemu-system-x86_64, or None."""
    return shutil.which(QEMU)


def _ModuleFiles(version: str) -> list[str]:
    """Paths of the modules to load, dependencies first, without repeats."""
    result: list[str] = []
    for module in _MODULES:
        try:
            proc = subprocess.run(["modprobe", "-S", version, "--show-depends", module],
                                  capture_output=True, text=True, check=False)
        except OSError:
            break
        for line in proc.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "insmod" and fields[1] not in result:
                result.append(fields[1])
    return result


def _CpioEntry(out: io.BytesIO, name: str, mode: int, data: bytes, ino: int) -> None:
    """One "newc" cpio record (what the kernel unpacks into the rootfs)."""
    encoded = name.encode() + b"\0"
    header = (f"070701{ino:08x}{mode:08x}{0:08x}{0:08x}{1:08x}{0:08x}"
              f"{len(data):08x}{0:08x}{0:08x}{0:08x}{0:08x}"
              f"{len(encoded):08x}{0:08x}").encode()
    out.write(header + encoded)
    out.write(b"\0" * ((4 - (len(header) + len(encoded)) % 4) % 4))
    out.write(data)
    out.write(b"\0" * ((4 - len(data) % 4) % 4))


def BuildInitrd(busybox: str, modules: list[str], target: str) -> None:
    """Write the gzipped newc initramfs of the guest to target."""
    entries: list[tuple[str, int, bytes]] = [
        (d, 0o040755, b"") for d in ("bin", "dev", "proc", "sys", "tmp", "mods",
                                     "etc")]
    with open(busybox, "rb") as fh:
        entries.append(("bin/busybox", 0o100755, fh.read()))
    for idx, path in enumerate(modules):
        with open(path, "rb") as fh:
            entries.append((f"mods/{idx:02d}-{os.path.basename(path)}", 0o100644,
                            fh.read()))
    entries.append(("init", 0o100755, _INIT.encode()))
    out = io.BytesIO()
    for ino, (name, mode, data) in enumerate(entries, start=1):
        _CpioEntry(out, name, mode, data, ino)
    _CpioEntry(out, "TRAILER!!!", 0, b"", 0)
    with open(target, "wb") as fh:
        fh.write(gzip.compress(out.getvalue(), compresslevel=1))


def MissingParts() -> list[str]:
    """What this host lacks to run the guest (empty if nothing)."""
    missing = []
    if FindQemu() is None:
        missing.append(f"{QEMU} (install qemu-system-x86)")
    if FindKernel() is None:
        missing.append("a /boot/vmlinuz-* with /lib/modules"
                       " (install linux-image-amd64)")
    if FindBusybox() is None:
        missing.append("busybox (install busybox-static)")
    return missing


def BuildGuestKit(cache_dir: str) -> tuple[str, str]:
    """Build (once) the guest initramfs below cache_dir.

    Returns:
      (kernel path, initrd path).

    Raises:
      errors.HypervisorError: the kernel or busybox is missing, or the
        initramfs cannot be written.
    """
    kernel = FindKernel()
    busybox = FindBusybox()
    if kernel is None:
        raise errors.HypervisorError(
            "no /boot/vmlinuz-* with /lib/modules (install linux-image-amd64)")
    if busybox is None:
        raise errors.HypervisorError("no busybox binary (install busybox-static)")
    kernel_path, version = kernel
    modules = _ModuleFiles(version)
    digest = hashlib.sha256()
    for part in [version, _INIT, busybox, str(os.path.getsize(busybox))] + modules:
        digest.update(part.encode())
    target_dir = os.path.join(cache_dir, f"guest-{digest.hexdigest()[:16]}")
    initrd = os.path.join(target_dir, "initrd.gz")
    try:
        os.makedirs(cache_dir, exist_ok=True)
        with open(os.path.join(cache_dir, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(initrd):
                tmp = tempfile.mkdtemp(dir=cache_dir, prefix=".build-")
                try:
                    BuildInitrd(busybox, modules, os.path.join(tmp, "initrd.gz"))
                    os.rename(tmp, target_dir)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        raise errors.HypervisorError(
            f"Cannot build the guest initramfs in {cache_dir}: {err}") from err
    return kernel_path, initrd


def GuestHvparams(kernel: str, initrd: str) -> dict[str, object]:
    """kvm hvparams (on top of the defaults) that boot the guest under TCG."""
    return {"kernel_path": kernel, "initrd_path": initrd, "kernel_args": "quiet",
            "root_path": "/dev/ram0", "serial_console": True, "kvm_flag": "disabled",
            "kvm_path": FindQemu() or "/usr/bin/kvm"}


class SerialConsole:
    """A connection to an instance's serial socket (one client at a time).

    Failures (nothing seen in time, console closed) raise FAILURE, an
    errors.HypervisorError here; a subclass may choose another exception.
    """

    FAILURE: type[Exception] = errors.HypervisorError

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = qmp.ConnectUnixSocket(path, timeout)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sock.setblocking(False)
        self.output = ""
        self._count = 0

    def __enter__(self) -> SerialConsole:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def Close(self) -> None:
        self._sock.close()

    def _Read(self, wait: float) -> None:
        if select.select([self._sock], [], [], wait)[0]:
            try:
                data = self._sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                return
            if not data:
                raise EOFError("serial console closed")
            self.output += data.decode("utf-8", errors="replace")

    def WaitFor(self, pattern: str, timeout: float = 30.0, start: int = 0) -> str:
        """Wait until regex pattern appears in the output after start.

        Returns:
          the matching text.

        Raises:
          FAILURE: not seen within timeout, or the console closed (the message
            carries the output so far).
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output, start)
            if match:
                return match.group(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.FAILURE(f"{pattern!r} not seen on the serial console"
                                   f" within {timeout} s; output:\n{self.output}")
            try:
                self._Read(min(remaining, 0.2))
            except EOFError as err:
                raise self.FAILURE(f"serial console closed while waiting for"
                                   f" {pattern!r}; output:\n{self.output}") from err

    def Send(self, text: str) -> None:
        self._sock.setblocking(True)
        try:
            self._sock.sendall(text.encode())
        finally:
            self._sock.setblocking(False)

    def Run(self, command: str, timeout: float = 30.0) -> tuple[int, str]:
        """Run a shell command in the guest.

        Returns:
          (exit status, output).
        """
        self._count += 1
        tag = f"__END{self._count}__"
        echoed = f"__E\"\"ND{self._count}__ $?"
        start = len(self.output)
        self.Send(f"{command}; echo {echoed}\n")
        found = self.WaitFor(re.escape(tag) + r" (\d+)", timeout, start)
        end = self.output.index(found, start)
        body = self.output[start:end]
        # Drop what precedes the terminal's echo of the command line.
        echo_at = body.rfind(echoed)
        if echo_at >= 0:
            body = body[echo_at + len(echoed):].split("\n", 1)[-1]
        return int(found.split()[-1]), body.strip()
