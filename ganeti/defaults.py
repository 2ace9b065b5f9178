"""Default values and value types of cluster parameters.

Mirrors the *_DEFAULTS and *_PARAMETER_TYPES tables of Ganeti 3.0
(src/Ganeti/Constants.hs). The values are those a freshly initialised
Ganeti 3.0.2 cluster stores in config.data (spec/samples/config.data.json),
so that a config written by us and one written by Ganeti fill to the same
effective parameters.

Types are named as Ganeti's VTYPE_* ("string", "int", ...); ForceDictType
converts user-supplied values (often strings from the command line or RAPI)
to the declared types in place.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, errors
from ganeti.utils.text import ParseUnit

VTYPE_STRING = "string"
VTYPE_MAYBE_STRING = "maybe-string"
VTYPE_BOOL = "bool"
VTYPE_SIZE = "size"
VTYPE_INT = "int"
VTYPE_FLOAT = "float"
ENFORCEABLE_TYPES = frozenset([VTYPE_STRING, VTYPE_MAYBE_STRING, VTYPE_BOOL,
                               VTYPE_SIZE, VTYPE_INT, VTYPE_FLOAT])

VALUE_DEFAULT = "default"
VALUE_AUTO = "auto"
VALUE_TRUE = "true"
VALUE_FALSE = "false"
VALUE_NONE = "none"

# --- hypervisor parameters ---------------------------------------------------

HVC_DEFAULTS: dict[str, dict[str, Any]] = {
    constants.HT_KVM: {
        "acpi": True,
        "boot_order": "disk",
        "cdrom2_image_path": "",
        "cdrom_disk_type": "",
        "cdrom_image_path": "",
        "cpu_cores": 0,
        "cpu_mask": "all",
        "cpu_sockets": 0,
        "cpu_threads": 0,
        "cpu_type": "",
        "disk_aio": "threads",
        "disk_cache": "default",
        "disk_discard": "default",
        "disk_type": "paravirtual",
        "floppy_image_path": "",
        "initrd_path": "",
        "kernel_args": "ro",
        "kernel_path": "/boot/vmlinuz-3-kvmU",
        "keymap": "",
        "kvm_extra": "",
        "kvm_flag": "",
        "kvm_path": "/usr/bin/kvm",
        "kvm_pci_reservations": 12,
        "machine_version": "",
        "mem_path": "",
        "migration_bandwidth": 32,
        "migration_caps": "",
        "migration_downtime": 30,
        "migration_mode": "live",
        "migration_port": 8102,
        "nic_type": "paravirtual",
        "reboot_behavior": "reboot",
        "root_path": "/dev/vda1",
        "scsi_controller_type": "lsi",
        "security_domain": "",
        "security_model": "none",
        "serial_console": True,
        "serial_speed": 38400,
        "soundhw": "",
        "spice_bind": "",
        "spice_image_compression": "",
        "spice_ip_version": 0,
        "spice_jpeg_wan_compression": "",
        "spice_password_file": "",
        "spice_playback_compression": True,
        "spice_streaming_video": "",
        "spice_tls_ciphers": "HIGH:-DES:-3DES:-EXPORT:-DH",
        "spice_use_tls": False,
        "spice_use_vdagent": True,
        "spice_zlib_glz_wan_compression": "",
        "usb_devices": "",
        "usb_mouse": "",
        "use_chroot": False,
        "use_guest_agent": False,
        "use_localtime": False,
        "user_shutdown": False,
        "vga": "",
        "vhost_net": False,
        "virtio_net_queues": 1,
        "vnc_bind_address": "",
        "vnc_password_file": "",
        "vnc_tls": False,
        "vnc_x509_path": "",
        "vnc_x509_verify": False,
        "vnet_hdr": True,
    },
    constants.HT_XEN_PVM: {
        "blockdev_prefix": "sd",
        "bootloader_args": "",
        "bootloader_path": "",
        "cpu_cap": 0,
        "cpu_mask": "all",
        "cpu_weight": 256,
        "cpuid": "",
        "initrd_path": "",
        "kernel_args": "ro",
        "kernel_path": "/boot/vmlinuz-3-xenU",
        "migration_mode": "live",
        "migration_port": 8002,
        "reboot_behavior": "reboot",
        "root_path": "/dev/xvda1",
        "soundhw": "",
        "use_bootloader": False,
        "vif_script": "",
        "xen_cmd": "xm",
    },
    constants.HT_CHROOT: {
        "init_script": "/ganeti-chroot",
    },
    constants.HT_XEN_HVM: {
        "acpi": True,
        "blockdev_prefix": "hd",
        "boot_order": "cd",
        "cdrom_image_path": "",
        "cpu_cap": 0,
        "cpu_mask": "all",
        "cpu_weight": 256,
        "cpuid": "",
        "device_model": "/usr/lib/xen/bin/qemu-dm",
        "disk_type": "paravirtual",
        "kernel_path": "/usr/lib/xen/boot/hvmloader",
        "migration_mode": "non-live",
        "migration_port": 8002,
        "nic_type": "rtl8139",
        "pae": True,
        "pci_pass": "",
        "reboot_behavior": "reboot",
        "soundhw": "",
        "use_localtime": False,
        "vif_script": "",
        "vif_type": "ioemu",
        "viridian": False,
        "vnc_bind_address": "0.0.0.0",
        "vnc_password_file": "/etc/ganeti/vnc-cluster-password",
        "xen_cmd": "xm",
    },
    constants.HT_LXC: {
        "cpu_mask": "",
        "devices": ("c 1:3 rw,c 1:5 rw,c 1:7 rw,c 1:8 rw,c 1:9 rw,c 1:10 rw,"
                    "c 5:0 rw,c 5:1 rw,c 5:2 rw,c 136:* rw"),
        "drop_capabilities": ("mac_override,sys_boot,sys_module,sys_time,"
                              "sys_admin"),
        "extra_cgroups": "",
        "extra_config": "",
        "num_ttys": 6,
        "startup_timeout": 30,
    },
    constants.HT_FAKE: {
        "migration_mode": "live",
    },
}

# Global hypervisor parameters: the same on every instance, so they are only
# ever taken from the cluster (Ganeti's HVC_GLOBALS).
HVC_GLOBALS = frozenset(["migration_port", "migration_bandwidth", "migration_mode",
                         "xen_cmd"])


def _TypeOfDefault(value: Any) -> str:
    if isinstance(value, bool):
        return VTYPE_BOOL
    if isinstance(value, int):
        return VTYPE_INT
    if isinstance(value, float):
        return VTYPE_FLOAT
    return VTYPE_STRING


# Parameter types per hypervisor, derived from the defaults' Python types
# (every default above has the type Ganeti declares for its parameter).
HVS_PARAMETER_TYPES: dict[str, dict[str, str]] = {
    hv: {name: _TypeOfDefault(value) for name, value in params.items()}
    for hv, params in HVC_DEFAULTS.items()
}

# --- backend (instance resource) parameters ----------------------------------

BE_MINMEM = "minmem"
BE_MAXMEM = "maxmem"
BE_MEMORY = "memory"  # legacy input alias of maxmem
BE_VCPUS = "vcpus"
BE_AUTO_BALANCE = "auto_balance"
BE_ALWAYS_FAILOVER = "always_failover"
BE_SPINDLE_USE = "spindle_use"

BEC_DEFAULTS: dict[str, Any] = {
    BE_MINMEM: 128,
    BE_MAXMEM: 128,
    BE_VCPUS: 1,
    BE_AUTO_BALANCE: True,
    BE_ALWAYS_FAILOVER: False,
    BE_SPINDLE_USE: 1,
}

BES_PARAMETER_TYPES: dict[str, str] = {
    BE_MINMEM: VTYPE_SIZE,
    BE_MAXMEM: VTYPE_SIZE,
    BE_VCPUS: VTYPE_INT,
    BE_AUTO_BALANCE: VTYPE_BOOL,
    BE_ALWAYS_FAILOVER: VTYPE_BOOL,
    BE_SPINDLE_USE: VTYPE_INT,
}
# Accepted on input only; UpgradeBeParams turns it into minmem/maxmem.
BES_PARAMETER_COMPAT: dict[str, str] = {BE_MEMORY: VTYPE_SIZE, **BES_PARAMETER_TYPES}

# --- node parameters ---------------------------------------------------------

ND_OOB_PROGRAM = "oob_program"
ND_SPINDLE_COUNT = "spindle_count"
ND_EXCLUSIVE_STORAGE = "exclusive_storage"
ND_OVS = "ovs"
ND_OVS_NAME = "ovs_name"
ND_OVS_LINK = "ovs_link"
ND_SSH_PORT = "ssh_port"
ND_CPU_SPEED = "cpu_speed"

NDC_DEFAULTS: dict[str, Any] = {
    ND_OOB_PROGRAM: "",
    ND_SPINDLE_COUNT: 1,
    ND_EXCLUSIVE_STORAGE: False,
    ND_OVS: False,
    ND_OVS_NAME: constants.DEFAULT_OVS,
    ND_OVS_LINK: "",
    ND_SSH_PORT: 22,
    ND_CPU_SPEED: 1.0,
}

NDS_PARAMETER_TYPES: dict[str, str] = {
    ND_OOB_PROGRAM: VTYPE_STRING,
    ND_SPINDLE_COUNT: VTYPE_INT,
    ND_EXCLUSIVE_STORAGE: VTYPE_BOOL,
    ND_OVS: VTYPE_BOOL,
    ND_OVS_NAME: VTYPE_MAYBE_STRING,
    ND_OVS_LINK: VTYPE_MAYBE_STRING,
    ND_SSH_PORT: VTYPE_INT,
    ND_CPU_SPEED: VTYPE_FLOAT,
}

# --- NIC parameters ----------------------------------------------------------

NIC_MODE = "mode"
NIC_LINK = "link"
NIC_VLAN = "vlan"

NICC_DEFAULTS: dict[str, Any] = {
    NIC_MODE: constants.NIC_MODE_BRIDGED,
    NIC_LINK: constants.DEFAULT_BRIDGE,
    NIC_VLAN: "",
}

NICS_PARAMETER_TYPES: dict[str, str] = {
    NIC_MODE: VTYPE_STRING,
    NIC_LINK: VTYPE_STRING,
    NIC_VLAN: VTYPE_MAYBE_STRING,
}

# --- disk parameters, per disk template --------------------------------------

DISK_DT_DEFAULTS: dict[str, dict[str, Any]] = {
    constants.DT_BLOCK: {},
    constants.DT_DISKLESS: {},
    constants.DT_DRBD8: {
        "c-delay-target": 1,
        "c-fill-target": 0,
        "c-max-rate": 61440,
        "c-min-rate": 4096,
        "c-plan-ahead": 20,
        "data-stripes": 1,
        "disk-barriers": "n",
        "disk-custom": "",
        "dynamic-resync": False,
        "meta-barriers": False,
        "meta-stripes": 1,
        "metavg": "xenvg",
        "net-custom": "",
        "protocol": "C",
        "resync-rate": 61440,
    },
    constants.DT_EXT: {"access": "kernelspace"},
    constants.DT_FILE: {},
    constants.DT_GLUSTER: {
        "access": "kernelspace",
        "host": "127.0.0.1",
        "port": 24007,
        "volume": "gv0",
    },
    constants.DT_PLAIN: {"stripes": 1},
    constants.DT_RBD: {"access": "kernelspace", "pool": "rbd"},
    constants.DT_SHARED_FILE: {},
}

# Parameters of the logical disks (the block devices on a node), computed
# from the disk template's parameters by objects.Disk.ComputeLDParams.
LDP_ACCESS = "access"
LDP_BARRIERS = "disabled-barriers"
LDP_DEFAULT_METAVG = "default-metavg"
LDP_DELAY_TARGET = "c-delay-target"
LDP_DISK_CUSTOM = "disk-custom"
LDP_DYNAMIC_RESYNC = "dynamic-resync"
LDP_FILL_TARGET = "c-fill-target"
LDP_MAX_RATE = "c-max-rate"
LDP_MIN_RATE = "c-min-rate"
LDP_NET_CUSTOM = "net-custom"
LDP_NO_META_FLUSH = "disable-meta-flush"
LDP_PLAN_AHEAD = "c-plan-ahead"
LDP_POOL = "pool"
LDP_PROTOCOL = "protocol"
LDP_RESYNC_RATE = "resync-rate"
LDP_STRIPES = "stripes"

# DRBD logical parameter <- drbd disk template parameter.
DRBD_LD_FROM_DT: dict[str, str] = {
    LDP_RESYNC_RATE: "resync-rate",
    LDP_BARRIERS: "disk-barriers",
    LDP_NO_META_FLUSH: "meta-barriers",
    LDP_DEFAULT_METAVG: "metavg",
    LDP_DISK_CUSTOM: "disk-custom",
    LDP_NET_CUSTOM: "net-custom",
    LDP_PROTOCOL: "protocol",
    LDP_DYNAMIC_RESYNC: "dynamic-resync",
    LDP_PLAN_AHEAD: "c-plan-ahead",
    LDP_FILL_TARGET: "c-fill-target",
    LDP_DELAY_TARGET: "c-delay-target",
    LDP_MAX_RATE: "c-max-rate",
    LDP_MIN_RATE: "c-min-rate",
}

_DRBD_DT = DISK_DT_DEFAULTS[constants.DT_DRBD8]
DISK_LD_DEFAULTS: dict[str, dict[str, Any]] = {
    constants.DT_BLOCK: {},
    constants.DT_DRBD8: {ld: _DRBD_DT[dt] for ld, dt in DRBD_LD_FROM_DT.items()},
    constants.DT_EXT: {},
    constants.DT_FILE: {},
    constants.DT_PLAIN: {LDP_STRIPES: 1},
    constants.DT_RBD: {LDP_POOL: "rbd", LDP_ACCESS: "kernelspace"},
    constants.DT_SHARED_FILE: {},
    constants.DT_GLUSTER: dict(DISK_DT_DEFAULTS[constants.DT_GLUSTER]),
}

# Dynamic disk parameters: per target node, never stored (DRBD peers).
DDP_LOCAL_IP = "local-ip"
DDP_REMOTE_IP = "remote-ip"
DDP_PORT = "port"
DDP_LOCAL_MINOR = "local-minor"
DDP_REMOTE_MINOR = "remote-minor"

DISK_DT_TYPES: dict[str, str] = {
    name: _TypeOfDefault(value)
    for params in DISK_DT_DEFAULTS.values() for name, value in params.items()
}

# --- instance policy ---------------------------------------------------------

ISPEC_MEM_SIZE = "memory-size"
ISPEC_CPU_COUNT = "cpu-count"
ISPEC_DISK_COUNT = "disk-count"
ISPEC_DISK_SIZE = "disk-size"
ISPEC_NIC_COUNT = "nic-count"
ISPEC_SPINDLE_USE = "spindle-use"
ISPECS_PARAMETERS = (ISPEC_MEM_SIZE, ISPEC_DISK_SIZE, ISPEC_DISK_COUNT,
                     ISPEC_CPU_COUNT, ISPEC_NIC_COUNT, ISPEC_SPINDLE_USE)
ISPECS_MINMAX = "minmax"
ISPECS_MIN = "min"
ISPECS_MAX = "max"
ISPECS_STD = "std"
IPOLICY_DTS = "disk-templates"
IPOLICY_VCPU_RATIO = "vcpu-ratio"
IPOLICY_SPINDLE_RATIO = "spindle-ratio"
IPOLICY_ALL_KEYS = frozenset([ISPECS_MINMAX, ISPECS_STD, IPOLICY_DTS,
                              IPOLICY_VCPU_RATIO, IPOLICY_SPINDLE_RATIO])

MAX_DISKS = 16
MAX_NICS = 8


def _ISpec(mem: int, cpus: int, disks: int, disk_size: int, nics: int,
           spindles: int) -> dict[str, int]:
    return {ISPEC_MEM_SIZE: mem, ISPEC_DISK_SIZE: disk_size, ISPEC_DISK_COUNT: disks,
            ISPEC_CPU_COUNT: cpus, ISPEC_NIC_COUNT: nics, ISPEC_SPINDLE_USE: spindles}


# Ganeti's defaults "are quite arbitrary" and meant to be customised; the
# sample cluster, for one, was initialised with smaller minimum specs.
IPOLICY_DEFAULTS: dict[str, Any] = {
    ISPECS_MINMAX: [{
        ISPECS_MIN: _ISpec(128, 1, 1, 1024, 1, 1),
        ISPECS_MAX: _ISpec(32768, 8, MAX_DISKS, 1024 * 1024, MAX_NICS, 12),
    }],
    ISPECS_STD: _ISpec(128, 1, 1, 1024, 1, 1),
    IPOLICY_DTS: sorted(constants.DISK_TEMPLATES),
    IPOLICY_VCPU_RATIO: 4.0,
    IPOLICY_SPINDLE_RATIO: 32.0,
}

# --- cluster-level scalars (Cluster.UpgradeConfig fills missing ones) ---------

DATA_COLLECTOR_NAMES = ("cpu-avg-load", "diskstats", "drbd", "inst-status-xen",
                        "lv", "xen-cpu-avg-load")
# Microseconds between two collections (Ganeti's mond default: 5 s).
DATA_COLLECTOR_INTERVAL = 5000000
COMPRESSION_TOOLS = ["gzip", "gzip-fast", "gzip-slow"]
MAX_RUNNING_JOBS = 20
MAX_TRACKED_JOBS = 25
SSH_KEY_TYPE = "rsa"
SSH_KEY_BITS = 2048

# --- type enforcement ----------------------------------------------------------



def _ForceBool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in (VALUE_TRUE, "yes", "1"):
            return True
        if lowered in (VALUE_FALSE, "no", "0", ""):
            return False
    elif isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise errors.TypeEnforcementError(f"'{key}' (value {value!r}) is not a valid"
                                      " boolean")


def _ForceInt(key: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise errors.TypeEnforcementError(f"'{key}' (value {value!r}) is not a valid"
                                      " integer")


def _ForceFloat(key: str, value: Any) -> float:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    raise errors.TypeEnforcementError(f"'{key}' (value {value!r}) is not a valid"
                                      " float")


def _ForceString(key: str, value: Any, maybe: bool) -> str | None:
    if isinstance(value, str) or (maybe and value is None):
        return value
    # Ganeti lets a false boolean stand for "no value" (e.g. --no-link).
    if value is False:
        return ""
    raise errors.TypeEnforcementError(f"'{key}' (value {value!r}) is not a valid"
                                      " string")


def _ForceValue(key: str, vtype: str, value: Any) -> Any:
    if vtype in (VTYPE_STRING, VTYPE_MAYBE_STRING):
        return _ForceString(key, value, vtype == VTYPE_MAYBE_STRING)
    if vtype == VTYPE_BOOL:
        return _ForceBool(key, value)
    if vtype == VTYPE_INT:
        return _ForceInt(key, value)
    if vtype == VTYPE_FLOAT:
        return _ForceFloat(key, value)
    if vtype == VTYPE_SIZE:
        try:
            return ParseUnit(value)
        except errors.UnitParseError as err:
            raise errors.TypeEnforcementError(
                f"'{key}' (value {value!r}) is not a valid size: {err}") from err
    raise errors.ProgrammerError(f"Type {vtype!r} of '{key}' is not enforceable")


def ForceDictType(target: dict[str, Any], key_types: dict[str, str],
                  allowed_values: list[Any] | None = None) -> None:
    """Check and convert the values of target to their declared types, in place.

    Strings are converted ("true"/"yes" and "false"/"no" for booleans, sizes
    with units to MiB); on error target is left unchanged.

    Args:
      target: parameter name -> value.
      key_types: parameter name -> VTYPE_* name.
      allowed_values: values accepted as-is for any key (e.g. "default").

    Raises:
      errors.TypeEnforcementError: target is not a dict, has an unknown key,
        or a value cannot be converted.
    """
    if not isinstance(target, dict):
        raise errors.TypeEnforcementError(f"Expected dictionary, got {target!r}")
    allowed = list(allowed_values or [])
    converted: dict[str, Any] = {}
    for key, value in target.items():
        if key not in key_types:
            raise errors.TypeEnforcementError(f"Unknown parameter '{key}'")
        if isinstance(value, str) and value in allowed:
            continue
        converted[key] = _ForceValue(key, key_types[key], value)
    target.update(converted)
