"""Building the qemu command line of a kvm instance.

Two stages, as in Ganeti's driver:

- GenerateKvmRuntime (at StartInstance) turns the instance's parameters
  into the part of the command line that belongs to the instance (name,
  memory, CPUs, machine type, kernel, boot order, CD-ROM, ...) and gives every
  disk and NIC its device id and PCI (or SCSI) slot. This is what the runtime
  file keeps, so a migration or a restart starts the very same virtual
  hardware.
- The Build*Options functions add, each time qemu is started, what depends on
  the node: the disks' paths and the NICs' tap descriptors, control sockets,
  display, -incoming. They are pure functions of their arguments.

The accelerator: Ganeti's kvm_flag chooses it. "enabled" asks for KVM
(-machine ...,accel=kvm), "disabled" for TCG, qemu's software emulator
(-machine ...,accel=tcg; Ganeti passed -disable-kvm, which qemu no longer
has), and "" leaves qemu's own default (TCG for qemu-system-x86_64, KVM for
Debian's /usr/bin/kvm). Set kvm_flag=disabled where /dev/kvm is missing or
unusable (nested virtualisation without VMX). Under TCG the guest kernel also
gets "no_timer_check": its timer check fails under CPU contention and the
guest panics at boot.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from ganeti import constants, errors, objects, pathutils
from ganeti.hypervisor.hv_kvm.runtime import KvmRuntime

# --- parameter names (Ganeti's constants.HV_*) ------------------------------

HV_ACPI = "acpi"
HV_BOOT_ORDER = "boot_order"
HV_CDROM_IMAGE_PATH = "cdrom_image_path"
HV_CDROM2_IMAGE_PATH = "cdrom2_image_path"
HV_CDROM_DISK_TYPE = "cdrom_disk_type"
HV_CPU_CORES = "cpu_cores"
HV_CPU_MASK = "cpu_mask"
HV_CPU_SOCKETS = "cpu_sockets"
HV_CPU_THREADS = "cpu_threads"
HV_CPU_TYPE = "cpu_type"
HV_DISK_AIO = "disk_aio"
HV_DISK_CACHE = "disk_cache"
HV_DISK_DISCARD = "disk_discard"
HV_DISK_TYPE = "disk_type"
HV_FLOPPY_IMAGE_PATH = "floppy_image_path"
HV_INITRD_PATH = "initrd_path"
HV_KERNEL_ARGS = "kernel_args"
HV_KERNEL_PATH = "kernel_path"
HV_KEYMAP = "keymap"
HV_KVM_EXTRA = "kvm_extra"
HV_KVM_FLAG = "kvm_flag"
HV_KVM_PATH = "kvm_path"
HV_KVM_PCI_RESERVATIONS = "kvm_pci_reservations"
HV_MACHINE_VERSION = "machine_version"
HV_MEM_PATH = "mem_path"
HV_MIGRATION_BANDWIDTH = "migration_bandwidth"
HV_MIGRATION_CAPS = "migration_caps"
HV_MIGRATION_DOWNTIME = "migration_downtime"
HV_MIGRATION_MODE = "migration_mode"
HV_MIGRATION_PORT = "migration_port"
HV_NIC_TYPE = "nic_type"
HV_REBOOT_BEHAVIOR = "reboot_behavior"
HV_ROOT_PATH = "root_path"
HV_SCSI_CONTROLLER_TYPE = "scsi_controller_type"
HV_SECURITY_DOMAIN = "security_domain"
HV_SECURITY_MODEL = "security_model"
HV_SERIAL_CONSOLE = "serial_console"
HV_SERIAL_SPEED = "serial_speed"
HV_SOUNDHW = "soundhw"
HV_USB_DEVICES = "usb_devices"
HV_USB_MOUSE = "usb_mouse"
HV_USE_CHROOT = "use_chroot"
HV_USE_GUEST_AGENT = "use_guest_agent"
HV_USE_LOCALTIME = "use_localtime"
HV_USER_SHUTDOWN = "user_shutdown"
HV_VGA = "vga"
HV_VHOST_NET = "vhost_net"
HV_VIRTIO_NET_QUEUES = "virtio_net_queues"
HV_VNC_BIND_ADDRESS = "vnc_bind_address"
HV_VNC_PASSWORD_FILE = "vnc_password_file"
HV_VNC_TLS = "vnc_tls"
HV_VNC_X509 = "vnc_x509_path"
HV_VNC_X509_VERIFY = "vnc_x509_verify"
HV_VNET_HDR = "vnet_hdr"
HV_SPICE_BIND = "spice_bind"

# --- parameter values (Ganeti's constants.HT_*) ------------------------------

HT_KVM_ENABLED = "enabled"
HT_KVM_DISABLED = "disabled"
HT_KVM_FLAG_VALUES = (HT_KVM_ENABLED, HT_KVM_DISABLED)
HT_BO_CDROM, HT_BO_DISK, HT_BO_FLOPPY, HT_BO_NETWORK = (
    "cdrom", "disk", "floppy", "network")
HT_KVM_VALID_BO_TYPES = (HT_BO_CDROM, HT_BO_DISK, HT_BO_FLOPPY, HT_BO_NETWORK)
HT_DISK_PARAVIRTUAL = "paravirtual"
HT_DISK_IDE = "ide"
HT_SCSI_DEVICE_TYPES = ("scsi-generic", "scsi-block", "scsi-cd", "scsi-hd")
HT_KVM_VALID_DISK_TYPES = (HT_DISK_IDE, "mtd", HT_DISK_PARAVIRTUAL, "pflash",
                           "scsi", "sd") + HT_SCSI_DEVICE_TYPES
HT_NIC_PARAVIRTUAL = "paravirtual"
HT_NIC_NE2K_ISA = "ne2k_isa"
HT_KVM_VALID_NIC_TYPES = ("e1000", "i82551", "i82559er", "i82557b", HT_NIC_NE2K_ISA,
                          "ne2k_pci", HT_NIC_PARAVIRTUAL, "pcnet", "rtl8139")
HT_KVM_VALID_SCSI_CONTROLLER_TYPES = ("lsi", "virtio-scsi-pci", "megasas")
HT_CACHE_DEFAULT = "default"
HT_CACHE_NONE = "none"
HT_VALID_CACHE_TYPES = (HT_CACHE_DEFAULT, HT_CACHE_NONE, "writeback",
                        "writethrough")
HT_DISCARD_DEFAULT = "default"
HT_VALID_DISCARD_TYPES = (HT_DISCARD_DEFAULT, "ignore", "unmap")
HT_KVM_AIO_THREADS = "threads"
HT_KVM_AIO_NATIVE = "native"
HT_KVM_VALID_AIO_TYPES = (HT_KVM_AIO_THREADS, HT_KVM_AIO_NATIVE)
HT_MOUSE_MOUSE = "mouse"
HT_MOUSE_TABLET = "tablet"
HT_KVM_VALID_MOUSE_TYPES = (HT_MOUSE_MOUSE, HT_MOUSE_TABLET)
HT_SM_NONE, HT_SM_POOL, HT_SM_USER = "none", "pool", "user"
HT_KVM_VALID_SM_TYPES = (HT_SM_NONE, HT_SM_POOL, HT_SM_USER)
INSTANCE_REBOOT_ALLOWED = "reboot"
INSTANCE_REBOOT_EXIT = "exit"
REBOOT_BEHAVIORS = (INSTANCE_REBOOT_ALLOWED, INSTANCE_REBOOT_EXIT)
VALID_SERIAL_SPEEDS = (75, 110, 300, 600, 1200, 1800, 2400, 4800, 9600, 14400,
                       19200, 28800, 38400, 57600, 115200, 230400, 345600,
                       460800)

VNC_BASE_PORT = 5900
QEMU_PCI_SLOTS = 32
_PCI_BUS = "pci.0"
_SCSI_BUS = "scsi.0"
_SCSI_SLOTS = 16
_VIRTIO_BLK_PCI = "virtio-blk-pci"
_VIRTIO_NET_PCI = "virtio-net-pci"
# Disk templates whose data other nodes reach too (Ganeti's DTS_EXT_MIRROR):
# the host page cache must stay out of the way, or a migration corrupts them.
_DTS_EXT_MIRROR = frozenset([constants.DT_BLOCK, constants.DT_EXT,
                             constants.DT_GLUSTER, constants.DT_RBD,
                             constants.DT_SHARED_FILE])
KVM_START_PAUSED_FLAG = "-S"
TCG_KERNEL_ARG = "no_timer_check"


class NicFds(NamedTuple):
    """The descriptors qemu inherits for one NIC."""

    tap: int
    vhost: int | None = None


def UsesTcg(hvparams: dict[str, Any]) -> bool:
    """Whether the instance runs under TCG (see the module docstring)."""
    flag = hvparams.get(HV_KVM_FLAG, "")
    if flag == HT_KVM_DISABLED:
        return True
    if flag == HT_KVM_ENABLED:
        return False
    return os.path.basename(hvparams.get(HV_KVM_PATH) or "") != "kvm"


def GenerateDeviceKvmId(dev_type: str, uuid: str | None, idx: int) -> str:
    """qemu id of a disk or NIC: "<type>-" plus the uuid up to its third dash.

    As Ganeti: a full uuid is too long for some qemu ids, e.g. disk uuid
    932df160-7a22-4067-a566-7e0ca8386133 gives disk-932df160-7a22-4067.
    """
    if uuid:
        return f"{dev_type}-{uuid.rsplit('-', 2)[0]}"
    return f"{dev_type}-{idx}"


def _DiskDriver(disk_type: str) -> str | None:
    """The -device driver of a disk type, None for "-drive if=<type>" types."""
    if disk_type == HT_DISK_PARAVIRTUAL:
        return _VIRTIO_BLK_PCI
    if disk_type in HT_SCSI_DEVICE_TYPES:
        return disk_type
    return None


def _NicDriver(nic_type: str) -> str:
    return _VIRTIO_NET_PCI if nic_type == HT_NIC_PARAVIRTUAL else nic_type


class BusSlots:
    """Free slots of the first PCI bus and of the SCSI bus."""

    def __init__(self, pci_reservations: int) -> None:
        reserved = max(0, min(int(pci_reservations or 0), QEMU_PCI_SLOTS))
        self.pci = [idx < reserved for idx in range(QEMU_PCI_SLOTS)]
        self.scsi = [False] * _SCSI_SLOTS

    @staticmethod
    def _Take(slots: list[bool], what: str) -> int:
        for idx, used in enumerate(slots):
            if not used:
                slots[idx] = True
                return idx
        raise errors.HypervisorError(f"No free {what} slot left for a device")

    def TakePci(self) -> int:
        return self._Take(self.pci, "PCI")

    def TakeScsi(self) -> int:
        return self._Take(self.scsi, "SCSI")


def _DeviceHvInfo(kvm_devid: str, driver: str | None, slots: BusSlots,
                  ) -> dict[str, Any]:
    """Ganeti's hvinfo: how the -device option of a disk or NIC looks."""
    if driver is None:
        return {}
    if driver in HT_SCSI_DEVICE_TYPES:
        return {"driver": driver, "id": kvm_devid, "bus": _SCSI_BUS,
                "channel": 0, "scsi-id": slots.TakeScsi(), "lun": 0}
    if driver == HT_NIC_NE2K_ISA:
        return {"driver": driver, "id": kvm_devid}
    return {"driver": driver, "id": kvm_devid, "bus": _PCI_BUS,
            "addr": hex(slots.TakePci())}


def FormatDeviceHvInfo(hvinfo: dict[str, Any]) -> str:
    """The -device value of an hvinfo dict, e.g. virtio-blk-pci,id=..,addr=0xc."""
    info = dict(hvinfo)
    return ",".join([str(info.pop("driver"))]
                    + [f"{key}={value}" for key, value in info.items()])


def _AsDisk(disk: Any) -> objects.Disk:
    if isinstance(disk, objects.Disk):
        return disk.Copy()
    if isinstance(disk, dict):
        return objects.Disk.FromDict(disk)
    raise errors.HypervisorError(f"Invalid block device description {disk!r}")


def _SmpOption(vcpus: Any, hvp: dict[str, Any]) -> str:
    items = [str(int(vcpus))]
    for key, name in ((HV_CPU_CORES, "cores"), (HV_CPU_THREADS, "threads"),
                      (HV_CPU_SOCKETS, "sockets")):
        if hvp.get(key):
            items.append(f"{name}={int(hvp[key])}")
    return ",".join(items)


def _MachineOption(hvp: dict[str, Any], machine_version: str) -> list[str]:
    spec = hvp.get(HV_MACHINE_VERSION) or machine_version or "pc"
    flag = hvp.get(HV_KVM_FLAG, "")
    if flag == HT_KVM_ENABLED:
        spec += ",accel=kvm"
    elif flag == HT_KVM_DISABLED:
        spec += ",accel=tcg"
    return ["-machine", spec]


def _CdromOption(image: str, disk_type: str, boot: bool) -> list[str]:
    """A -drive for a CD-ROM image (optionally the boot device)."""
    options = ",media=cdrom" if "://" in image else ",media=cdrom,format=raw"
    if boot:
        iface = HT_DISK_IDE
    elif disk_type == HT_DISK_PARAVIRTUAL:
        iface = "virtio"
    else:
        iface = disk_type
    result = ["-boot", "d"] if boot else []
    return result + ["-drive", f"file={image}{options},if={iface}"]


def _BootMediaOptions(hvp: dict[str, Any]) -> list[str]:
    """Network boot, CD-ROMs and floppy (ignored when booting a kernel)."""
    kernel = bool(hvp.get(HV_KERNEL_PATH))
    boot_order = "" if kernel else hvp.get(HV_BOOT_ORDER, HT_BO_DISK)
    result = ["-boot", "n"] if boot_order == HT_BO_NETWORK else []
    cdrom_type = hvp.get(HV_CDROM_DISK_TYPE) or hvp.get(HV_DISK_TYPE) or HT_DISK_IDE
    if hvp.get(HV_CDROM_IMAGE_PATH):
        result += _CdromOption(hvp[HV_CDROM_IMAGE_PATH], cdrom_type,
                               boot_order == HT_BO_CDROM)
    if hvp.get(HV_CDROM2_IMAGE_PATH):
        result += _CdromOption(hvp[HV_CDROM2_IMAGE_PATH], cdrom_type, False)
    if hvp.get(HV_FLOPPY_IMAGE_PATH):
        if boot_order == HT_BO_FLOPPY:
            result += ["-boot", "a"]
        result += ["-drive",
                   f"file={hvp[HV_FLOPPY_IMAGE_PATH]},format=raw,media=disk,if=floppy"]
    return result


def KernelCommandLine(hvp: dict[str, Any]) -> str:
    """The -append value: root=, kernel_args, the serial console, TCG fix."""
    args = [f"root={hvp.get(HV_ROOT_PATH, '')}"]
    if hvp.get(HV_KERNEL_ARGS):
        args.append(str(hvp[HV_KERNEL_ARGS]))
    if hvp.get(HV_SERIAL_CONSOLE):
        args.append(f"console=ttyS0,{hvp.get(HV_SERIAL_SPEED)}")
    if UsesTcg(hvp) and TCG_KERNEL_ARG not in " ".join(args).split():
        args.append(TCG_KERNEL_ARG)
    return " ".join(args)


def _KernelOptions(hvp: dict[str, Any]) -> list[str]:
    if not hvp.get(HV_KERNEL_PATH):
        return []
    result = ["-kernel", hvp[HV_KERNEL_PATH]]
    if hvp.get(HV_INITRD_PATH):
        result += ["-initrd", hvp[HV_INITRD_PATH]]
    return result + ["-append", KernelCommandLine(hvp)]


def _DeviceOptions(hvp: dict[str, Any], slots: BusSlots) -> list[str]:
    """USB, sound, CPU model, VGA, clock and the guest agent channel."""
    result = ["-usb"]
    if hvp.get(HV_USB_MOUSE):
        result += ["-usbdevice", hvp[HV_USB_MOUSE]]
    elif hvp.get(HV_VNC_BIND_ADDRESS):
        result += ["-usbdevice", HT_MOUSE_TABLET]
    for dev in filter(None, (hvp.get(HV_USB_DEVICES) or "").split(",")):
        result += ["-usbdevice", dev.strip()]
    if hvp.get(HV_SOUNDHW):
        # qemu 7.1 dropped -soundhw; -audio gives the same emulated card.
        result += ["-audio", f"none,model={hvp[HV_SOUNDHW]}"]
    if hvp.get(HV_USE_LOCALTIME):
        result += ["-rtc", "base=localtime"]
    if hvp.get(HV_CPU_TYPE):
        result += ["-cpu", hvp[HV_CPU_TYPE]]
    if hvp.get(HV_VGA):
        result += ["-vga", hvp[HV_VGA]]
    elif hvp.get(HV_SPICE_BIND):
        result += ["-vga", "qxl"]
    if hvp.get(HV_USE_GUEST_AGENT):
        result += ["-device",
                   f"virtio-serial,id=qga0,bus={_PCI_BUS},addr={hex(slots.TakePci())}",
                   "-device",
                   "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]
    return result


def GenerateKvmRuntime(instance: objects.Instance,
                       block_devices: list[tuple[Any, str, str | None]],
                       startup_paused: bool, machine_version: str) -> KvmRuntime:
    """Compute the instance part of the command line and the device layout.

    Args:
      instance: the instance, with filled hvparams and beparams.
      block_devices: [(disk, link path, uri)] in disk order.
      startup_paused: start with the CPUs stopped (-S).
      machine_version: the machine type when machine_version is unset (the
        binary's default, e.g. pc-i440fx-7.2, pinned so a migration target
        emulates the same hardware).

    Raises:
      errors.HypervisorError: a parameter cannot be used.
    """
    hvp = dict(instance.hvparams or {})
    beparams = instance.beparams or {}
    try:
        memory = int(beparams["maxmem"])
        vcpus = int(beparams["vcpus"])
    except (KeyError, TypeError, ValueError) as err:
        raise errors.HypervisorError(
            f"Instance {instance.name} lacks valid maxmem/vcpus backend"
            f" parameters: {beparams!r}") from err
    cmd = [hvp[HV_KVM_PATH], "-name", str(instance.name), "-m", str(memory),
           "-smp", _SmpOption(vcpus, hvp)]
    slots = BusSlots(hvp.get(HV_KVM_PCI_RESERVATIONS, 12))
    if hvp.get(HV_DISK_TYPE) in HT_SCSI_DEVICE_TYPES:
        cmd += ["-device", f"{hvp[HV_SCSI_CONTROLLER_TYPE]},id=scsi"]
    cmd += ["-device", "virtio-balloon,id=balloon"]
    if not hvp.get(HV_ACPI):
        cmd += ["-no-acpi"]
    if hvp.get(HV_REBOOT_BEHAVIOR) == INSTANCE_REBOOT_EXIT:
        cmd += ["-no-reboot"]
    cmd += _MachineOption(hvp, machine_version)
    if startup_paused:
        cmd += [KVM_START_PAUSED_FLAG]
    cmd += _BootMediaOptions(hvp)
    cmd += _KernelOptions(hvp)
    if hvp.get(HV_MEM_PATH):
        cmd += ["-mem-path", hvp[HV_MEM_PATH], "-mem-prealloc"]
    cmd += _DeviceOptions(hvp, slots)
    if instance.uuid:
        cmd += ["-uuid", instance.uuid]
    if hvp.get(HV_KVM_EXTRA):
        cmd += str(hvp[HV_KVM_EXTRA]).split()
    disks, nics = _DeviceLayout(hvp, instance, block_devices, slots)
    return KvmRuntime(cmd, nics, hvp, disks)


def _DeviceLayout(hvp: dict[str, Any], instance: objects.Instance,
                  block_devices: list[tuple[Any, str, str | None]], slots: BusSlots,
                  ) -> tuple[list[tuple[objects.Disk, str, str | None]],
                             list[objects.NIC]]:
    """Copies of the disks and NICs with their qemu ids and slots (hvinfo)."""
    disks = []
    for idx, (disk, link, uri) in enumerate(block_devices):
        disk_obj = _AsDisk(disk)
        devid = GenerateDeviceKvmId("disk", disk_obj.uuid, idx)
        disk_obj.hvinfo = _DeviceHvInfo(devid, _DiskDriver(hvp[HV_DISK_TYPE]), slots)
        disks.append((disk_obj, link, uri))
    nics = []
    for idx, nic in enumerate(instance.nics or []):
        nic_obj = nic.Copy()
        devid = GenerateDeviceKvmId("nic", nic_obj.uuid, idx)
        nic_obj.hvinfo = _DeviceHvInfo(devid, _NicDriver(hvp[HV_NIC_TYPE]), slots)
        nics.append(nic_obj)
    return disks, nics


# --- options added each time qemu starts ------------------------------------


def _DiskCacheValue(hvp: dict[str, Any], disk: objects.Disk) -> str:
    cache = hvp.get(HV_DISK_CACHE) or HT_CACHE_DEFAULT
    if disk.dev_type in _DTS_EXT_MIRROR or hvp.get(HV_DISK_AIO) == HT_KVM_AIO_NATIVE:
        # Shared storage must bypass the host cache (migration), and native
        # AIO needs O_DIRECT; Ganeti overrides the setting the same way.
        return ",cache=none"
    if cache != HT_CACHE_DEFAULT:
        return f",cache={cache}"
    return ""


def BuildDiskOptions(hvp: dict[str, Any],
                     disks: list[tuple[objects.Disk, str, str | None]]) -> list[str]:
    """-drive (and -device) options of the instance's disks.

    Raises:
      errors.HypervisorError: a read-only disk (kvm disks are read-write).
    """
    boot_disk = (not hvp.get(HV_KERNEL_PATH)
                 and hvp.get(HV_BOOT_ORDER) == HT_BO_DISK)
    disk_type = hvp.get(HV_DISK_TYPE) or HT_DISK_PARAVIRTUAL
    aio = ",aio=native" if hvp.get(HV_DISK_AIO) == HT_KVM_AIO_NATIVE else ""
    discard = hvp.get(HV_DISK_DISCARD) or HT_DISCARD_DEFAULT
    discard_val = "" if discard == HT_DISCARD_DEFAULT else f",discard={discard}"
    result: list[str] = []
    for disk, link, uri in disks:
        if disk.mode not in (None, constants.DISK_RDWR):
            raise errors.HypervisorError(
                "Instance has read-only disks which are not supported by KVM")
        if boot_disk:
            result += ["-boot", "c"]
            boot_disk = False
        access = (disk.params or {}).get("access", "kernelspace")
        path = uri if uri and access == "userspace" else link
        drive = (f"file={path},format=raw{_DiskCacheValue(hvp, disk)}"
                 f"{aio}{discard_val}")
        hvinfo = disk.hvinfo or {}
        if hvinfo.get("id"):
            result += ["-drive", f"{drive},if=none,id={hvinfo['id']}",
                       "-device", f"{FormatDeviceHvInfo(hvinfo)},drive={hvinfo['id']}"]
        else:
            iface = "virtio" if disk_type == HT_DISK_PARAVIRTUAL else disk_type
            result += ["-drive", f"{drive},if={iface}"]
    return result


def BuildNicOptions(hvp: dict[str, Any], nics: list[objects.NIC],
                    fds: list[NicFds]) -> list[str]:
    """-netdev/-device options of the NICs, using the opened tap descriptors."""
    if not nics:
        return ["-net", "none"]
    driver = _NicDriver(hvp.get(HV_NIC_TYPE) or HT_NIC_PARAVIRTUAL)
    result: list[str] = []
    for idx, (nic, nic_fds) in enumerate(zip(nics, fds, strict=True)):
        hvinfo = nic.hvinfo or {}
        netdev = hvinfo.get("id") or f"netdev{idx}"
        device = FormatDeviceHvInfo(hvinfo) if hvinfo.get("id") else driver
        tap = f"tap,id={netdev},fd={nic_fds.tap}"
        if nic_fds.vhost is not None:
            tap += f",vhost=on,vhostfd={nic_fds.vhost}"
        result += ["-netdev", tap, "-device", f"{device},netdev={netdev},mac={nic.mac}"]
    return result


def SocketOption(path: str) -> str:
    """The chardev spec of a listening unix socket qemu creates."""
    return f"unix:{path},server=on,wait=off"


def FormatIncoming(address: str, port: int) -> str:
    """The -incoming / migrate URI for a TCP address."""
    host = f"[{address}]" if ":" in address else address
    return f"tcp:{host}:{int(port)}"


def VncOption(hvp: dict[str, Any], instance_name: str, network_port: int | None,
              address: str) -> str | None:
    """The -vnc value, or None when VNC cannot be offered.

    Args:
      hvp: the hypervisor parameters.
      instance_name: for the socket name when vnc_bind_address is a directory.
      network_port: the instance's cluster-allocated port (display + 5900).
      address: vnc_bind_address resolved to an IP address, or the directory.
    """
    if address.startswith("/"):
        arg = f"unix:{address}/{instance_name}.vnc"
    elif not network_port or network_port <= VNC_BASE_PORT:
        return None
    else:
        display = network_port - VNC_BASE_PORT
        if address == constants.IP4_ADDRESS_ANY:
            arg = f":{display}"
        elif ":" in address:
            arg = f"[{address}]:{display}"
        else:
            arg = f"{address}:{display}"
        if hvp.get(HV_VNC_TLS):
            arg += ",tls-creds=vnctls0"
        if hvp.get(HV_VNC_PASSWORD_FILE):
            arg += ",password=on"
    return arg


def VncTlsObject(hvp: dict[str, Any]) -> list[str]:
    """The TLS credentials object -vnc ...,tls-creds=vnctls0 refers to."""
    if not hvp.get(HV_VNC_TLS):
        return []
    if not hvp.get(HV_VNC_X509):
        # TLS without certificates: anonymous credentials (encryption only).
        return ["-object", "tls-creds-anon,id=vnctls0,endpoint=server"]
    verify = "on" if hvp.get(HV_VNC_X509_VERIFY) else "off"
    return ["-object", f"tls-creds-x509,id=vnctls0,endpoint=server,"
                       f"dir={hvp[HV_VNC_X509]},verify-peer={verify}"]


def SpiceOption(hvp: dict[str, Any], network_port: int | None, address: str,
                ip_version: int | None) -> list[str]:
    """-spice and its companion devices (Ganeti's SPICE parameters)."""
    arg = f"addr={address}"
    if hvp.get("spice_use_tls"):
        arg += (f",tls-port={network_port}"
                f",x509-cacert-file={pathutils.SPICE_CACERT_FILE}"
                f",x509-key-file={pathutils.SPICE_CERT_FILE}"
                f",x509-cert-file={pathutils.SPICE_CERT_FILE}")
        if hvp.get("spice_tls_ciphers"):
            arg += f",tls-ciphers={hvp['spice_tls_ciphers']}"
    else:
        arg += f",port={network_port}"
    if not hvp.get("spice_password_file"):
        arg += ",disable-ticketing=on"
    if ip_version:
        arg += f",ipv{ip_version}=on"
    for key, name in (("spice_image_compression", "image-compression"),
                      ("spice_jpeg_wan_compression", "jpeg-wan-compression"),
                      ("spice_zlib_glz_wan_compression", "zlib-glz-wan-compression"),
                      ("spice_streaming_video", "streaming-video")):
        if hvp.get(key):
            arg += f",{name}={hvp[key]}"
    if not hvp.get("spice_playback_compression"):
        arg += ",playback-compression=off"
    result = []
    if hvp.get("spice_use_vdagent"):
        result += ["-device", "virtio-serial-pci,id=spice",
                   "-device", "virtserialport,chardev=spicechannel0,"
                              "name=com.redhat.spice.0",
                   "-chardev", "spicevmc,id=spicechannel0,name=vdagent"]
    else:
        arg += ",agent-mouse=off"
    return result + ["-spice", arg]
