"""The kvm hypervisor parameters and their checks (Ganeti's PARAMETERS).

The names and defaults are Ganeti 3.0's (defaults.HVC_DEFAULTS["kvm"]); the
per-parameter checks and the cross-parameter rules of
CheckKvmParameterSyntax are Ganeti's too. kvm_flag doubles as the
accelerator choice: see cmdline.py.
"""

from __future__ import annotations

from typing import Any

from ganeti import errors
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_kvm import cmdline as kc

_SPICE_LOSSLESS = ("auto_glz", "auto_lz", "glz", "lz", "off", "quic")
_SPICE_LOSSY = ("always", "auto", "never")
_SPICE_VIDEO = ("all", "filter", "off")
# spice_ip_version: 0 means "not specified" (Ganeti's IFACE_NO_IP_VERSION_...).
_IP_VERSION_CHECK = hv_base.HvParam(False, hv_base.HvCheck(
    lambda x: x in (0, 4, 6), "The SPICE IP version should be 4 or 6"))
_PCI_RESERVATIONS_CHECK = hv_base.HvParam(False, hv_base.HvCheck(
    lambda x: isinstance(x, int) and 0 <= x <= kc.QEMU_PCI_SLOTS,
    f"The number of PCI slots managed by QEMU (max: {kc.QEMU_PCI_SLOTS})"))

_NO = hv_base.NO_CHECK

PARAMETERS: dict[str, hv_base.HvParam] = {
    kc.HV_KVM_PATH: hv_base.REQ_FILE_CHECK,
    kc.HV_KERNEL_PATH: hv_base.OPT_FILE_CHECK,
    kc.HV_INITRD_PATH: hv_base.OPT_FILE_CHECK,
    kc.HV_ROOT_PATH: _NO,
    kc.HV_KERNEL_ARGS: _NO,
    kc.HV_ACPI: _NO,
    kc.HV_SERIAL_CONSOLE: _NO,
    kc.HV_SERIAL_SPEED: _NO,
    kc.HV_VNC_BIND_ADDRESS: _NO,  # checked by ValidateParameters
    kc.HV_VNC_TLS: _NO,
    kc.HV_VNC_X509: hv_base.OPT_DIR_CHECK,
    kc.HV_VNC_X509_VERIFY: _NO,
    kc.HV_VNC_PASSWORD_FILE: hv_base.OPT_FILE_CHECK,
    kc.HV_SPICE_BIND: _NO,  # checked by ValidateParameters
    "spice_ip_version": _IP_VERSION_CHECK,
    "spice_password_file": hv_base.OPT_FILE_CHECK,
    "spice_image_compression": hv_base.ParamInSet(False, _SPICE_LOSSLESS),
    "spice_jpeg_wan_compression": hv_base.ParamInSet(False, _SPICE_LOSSY),
    "spice_zlib_glz_wan_compression": hv_base.ParamInSet(False, _SPICE_LOSSY),
    "spice_streaming_video": hv_base.ParamInSet(False, _SPICE_VIDEO),
    "spice_playback_compression": _NO,
    "spice_use_tls": _NO,
    "spice_tls_ciphers": _NO,
    "spice_use_vdagent": _NO,
    kc.HV_FLOPPY_IMAGE_PATH: hv_base.OPT_FILE_CHECK,
    kc.HV_CDROM_IMAGE_PATH: hv_base.OPT_FILE_OR_URL_CHECK,
    kc.HV_CDROM2_IMAGE_PATH: hv_base.OPT_FILE_OR_URL_CHECK,
    kc.HV_BOOT_ORDER: hv_base.ParamInSet(True, kc.HT_KVM_VALID_BO_TYPES),
    kc.HV_NIC_TYPE: hv_base.ParamInSet(True, kc.HT_KVM_VALID_NIC_TYPES),
    kc.HV_DISK_TYPE: hv_base.ParamInSet(True, kc.HT_KVM_VALID_DISK_TYPES),
    kc.HV_SCSI_CONTROLLER_TYPE:
        hv_base.ParamInSet(True, kc.HT_KVM_VALID_SCSI_CONTROLLER_TYPES),
    kc.HV_DISK_DISCARD: hv_base.ParamInSet(False, kc.HT_VALID_DISCARD_TYPES),
    kc.HV_CDROM_DISK_TYPE: hv_base.ParamInSet(False, kc.HT_KVM_VALID_DISK_TYPES),
    kc.HV_USB_MOUSE: hv_base.ParamInSet(False, kc.HT_KVM_VALID_MOUSE_TYPES),
    kc.HV_KEYMAP: _NO,
    kc.HV_MIGRATION_PORT: hv_base.REQ_NET_PORT_CHECK,
    kc.HV_MIGRATION_BANDWIDTH: hv_base.REQ_NONNEGATIVE_INT_CHECK,
    kc.HV_MIGRATION_DOWNTIME: hv_base.REQ_NONNEGATIVE_INT_CHECK,
    kc.HV_MIGRATION_MODE: hv_base.MIGRATION_MODE_CHECK,
    kc.HV_USE_GUEST_AGENT: _NO,
    kc.HV_USE_LOCALTIME: _NO,
    kc.HV_DISK_CACHE: hv_base.ParamInSet(True, kc.HT_VALID_CACHE_TYPES),
    kc.HV_DISK_AIO: hv_base.ParamInSet(False, kc.HT_KVM_VALID_AIO_TYPES),
    kc.HV_SECURITY_MODEL: hv_base.ParamInSet(True, kc.HT_KVM_VALID_SM_TYPES),
    kc.HV_SECURITY_DOMAIN: _NO,
    kc.HV_KVM_FLAG: hv_base.ParamInSet(False, kc.HT_KVM_FLAG_VALUES),
    kc.HV_VHOST_NET: _NO,
    kc.HV_VIRTIO_NET_QUEUES: hv_base.OPT_VIRTIO_NET_QUEUES_CHECK,
    kc.HV_USE_CHROOT: _NO,
    kc.HV_USER_SHUTDOWN: _NO,
    kc.HV_MEM_PATH: hv_base.OPT_DIR_CHECK,
    kc.HV_REBOOT_BEHAVIOR: hv_base.ParamInSet(True, kc.REBOOT_BEHAVIORS),
    kc.HV_CPU_MASK: hv_base.OPT_MULTI_CPU_MASK_CHECK,
    kc.HV_CPU_TYPE: _NO,
    kc.HV_CPU_CORES: hv_base.OPT_NONNEGATIVE_INT_CHECK,
    kc.HV_CPU_THREADS: hv_base.OPT_NONNEGATIVE_INT_CHECK,
    kc.HV_CPU_SOCKETS: hv_base.OPT_NONNEGATIVE_INT_CHECK,
    kc.HV_SOUNDHW: _NO,
    kc.HV_USB_DEVICES: _NO,
    kc.HV_VGA: _NO,
    kc.HV_KVM_EXTRA: _NO,
    kc.HV_MACHINE_VERSION: _NO,
    kc.HV_MIGRATION_CAPS: _NO,
    kc.HV_KVM_PCI_RESERVATIONS: _PCI_RESERVATIONS_CHECK,
    kc.HV_VNET_HDR: _NO,
}

# SPICE parameters that only make sense with spice_bind (Ganeti's list).
_SPICE_ADDITIONAL_PARAMS = ("spice_ip_version", "spice_password_file",
                            "spice_image_compression", "spice_jpeg_wan_compression",
                            "spice_zlib_glz_wan_compression",
                            "spice_streaming_video", "spice_use_tls")


def _CheckSpice(hvparams: dict[str, Any]) -> None:
    spice_bind = hvparams.get(kc.HV_SPICE_BIND)
    version = hvparams.get("spice_ip_version")
    if not spice_bind:
        for param in _SPICE_ADDITIONAL_PARAMS:
            if hvparams.get(param):
                raise errors.HypervisorError(
                    f"SPICE: {param} requires {kc.HV_SPICE_BIND} to be set")
        return
    if version and ":" in spice_bind and version != 6:
        raise errors.HypervisorError(
            f"SPICE: Got an IPv6 address ({spice_bind}), but the specified IP"
            f" version is {version}")
    if version and spice_bind[:1].isdigit() and "." in spice_bind and version != 4:
        raise errors.HypervisorError(
            f"SPICE: Got an IPv4 address ({spice_bind}), but the specified IP"
            f" version is {version}")


def CheckKvmParameterSyntax(hvparams: dict[str, Any]) -> None:
    """Rules between kvm parameters (Ganeti's KVMHypervisor.CheckParameterSyntax).

    Raises:
      errors.HypervisorError: a kernel without root_path, x509 verification
        without a certificate dir, an invalid serial speed, booting from an
        absent CD-ROM, a security model and domain that do not fit, SPICE
        options without spice_bind.
    """
    if hvparams.get(kc.HV_KERNEL_PATH) and not hvparams.get(kc.HV_ROOT_PATH):
        raise errors.HypervisorError(
            "Need a root partition for the instance, if a kernel is defined")
    if hvparams.get(kc.HV_VNC_X509_VERIFY) and not hvparams.get(kc.HV_VNC_X509):
        raise errors.HypervisorError(
            f"{kc.HV_VNC_X509} must be defined, if {kc.HV_VNC_X509_VERIFY} is")
    if hvparams.get(kc.HV_SERIAL_CONSOLE):
        speed = hvparams.get(kc.HV_SERIAL_SPEED)
        if speed not in kc.VALID_SERIAL_SPEEDS:
            raise errors.HypervisorError(
                "Invalid serial console speed, must be one of: "
                + ", ".join(str(s) for s in kc.VALID_SERIAL_SPEEDS))
    if (hvparams.get(kc.HV_BOOT_ORDER) == kc.HT_BO_CDROM
            and not hvparams.get(kc.HV_CDROM_IMAGE_PATH)):
        raise errors.HypervisorError("Cannot boot from cdrom without an ISO path")
    model = hvparams.get(kc.HV_SECURITY_MODEL)
    if model == kc.HT_SM_USER and not hvparams.get(kc.HV_SECURITY_DOMAIN):
        raise errors.HypervisorError(
            "A security domain (user to run kvm as) must be specified")
    if model in (kc.HT_SM_NONE, kc.HT_SM_POOL) and hvparams.get(kc.HV_SECURITY_DOMAIN):
        raise errors.HypervisorError(
            "Cannot have a security domain when the security model is 'none' or"
            " 'pool'")
    _CheckSpice(hvparams)
