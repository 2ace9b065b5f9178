"""Host side of kvm NICs: tap devices and the node's network scripts.

As Ganeti's kvm driver does, the node daemon opens one tap device per NIC
itself (TUNSETIFF on /dev/net/tun), hands the descriptor to qemu
("-netdev tap,fd=N") and runs the kvm-ifup script on the tap before qemu
starts, with the NIC described in the environment (Ganeti's
hv_base.ConfigureNIC variables: INSTANCE, MAC, MODE, LINK, IP, INTERFACE,
INTERFACE_INDEX, INTERFACE_UUID, INTERFACE_NAME, TAGS, VLAN, BRIDGE and the
NETWORK_* of the NIC's network). The tap is not persistent: it disappears
with the last descriptor, i.e. when qemu exits; kvm-ifdown then undoes what
outlives the device (routing rules, Open vSwitch ports).

The scripts themselves are ifup.py in this package (standard library only, so
they run with a plain interpreter); see its docstring for what each NIC mode
does.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import sys
from typing import Any

from ganeti import defaults, errors, objects, pathutils
from ganeti.utils import process as utils_process

logger = logging.getLogger(__name__)

# linux/if_tun.h
_TUNSETIFF = 0x400454CA
_TUNGETFEATURES = 0x800454CF
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_IFF_VNET_HDR = 0x4000
_IFNAMSIZ = 16

TUN_DEVICE = "/dev/net/tun"
VHOST_NET_DEVICE = "/dev/vhost-net"

_IFUP_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ifup.py")

# The node's network scripts, as argument lists (Ganeti's pathutils.KVM_IFUP
# and KVM_IFDOWN); the tap name is appended.
KVM_IFUP = [sys.executable, "-I", _IFUP_SCRIPT, "up"]
KVM_IFDOWN = [sys.executable, "-I", _IFUP_SCRIPT, "down"]

# A user-supplied script that replaces the built-in NIC setup (Ganeti's
# <sysconfdir>/ganeti/kvm-vif-bridge); its path is passed to ifup.py.
KVM_VIF_BRIDGE = os.path.join(pathutils.CONF_DIR, "kvm-vif-bridge")


def _GetTunFeatures(fd: int) -> int:
    try:
        data = fcntl.ioctl(fd, _TUNGETFEATURES, struct.pack("I", 0))
    except OSError:
        return 0
    return struct.unpack("I", data)[0]


def OpenTap(vnet_hdr: bool = True, name: str = "") -> tuple[str, int]:
    """Create a (non-persistent) tap device and return it open.

    Args:
      vnet_hdr: ask for virtio-net headers (IFF_VNET_HDR), if the kernel has
        them; qemu notices the flag on the descriptor.
      name: the device name; "" lets the kernel pick tapN.

    Returns:
      (device name, descriptor); the device lives while the descriptor (or
      a copy of it in qemu) is open.

    Raises:
      errors.HypervisorError: /dev/net/tun cannot be opened or the device
        cannot be created.
    """
    try:
        fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    except OSError as err:
        raise errors.HypervisorError(
            f"Failed to open {TUN_DEVICE}: {err.strerror}") from err
    try:
        flags = _IFF_TAP | _IFF_NO_PI
        if vnet_hdr and _GetTunFeatures(fd) & _IFF_VNET_HDR:
            flags |= _IFF_VNET_HDR
        ifreq = struct.pack("16sH22x", name.encode("ascii"), flags)
        result = fcntl.ioctl(fd, _TUNSETIFF, ifreq)
    except (OSError, UnicodeEncodeError, struct.error) as err:
        os.close(fd)
        raise errors.HypervisorError(
            f"Failed to allocate a new TAP device: {err}") from err
    tapname = result[:_IFNAMSIZ].split(b"\0", 1)[0].decode("ascii")
    return tapname, fd


def OpenVhostNet() -> int:
    """Open /dev/vhost-net for a NIC with vhost_net enabled.

    Raises:
      errors.HypervisorError: the device is missing (module not loaded).
    """
    try:
        return os.open(VHOST_NET_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    except OSError as err:
        raise errors.HypervisorError(
            f"vhost_net is configured but {VHOST_NET_DEVICE} cannot be opened:"
            f" {err.strerror}") from err


def _NetworkEnv(netinfo: dict[str, Any] | None) -> dict[str, str]:
    """The NETWORK_* variables of a NIC's network (Ganeti's HooksDict)."""
    if not netinfo:
        return {}
    net = objects.Network.FromDict(netinfo)
    env = {"NETWORK_NAME": net.name or "", "NETWORK_UUID": net.uuid or "",
           "NETWORK_TAGS": " ".join(sorted(net.GetTags()))}
    optional = {"NETWORK_SUBNET": net.network, "NETWORK_GATEWAY": net.gateway,
                "NETWORK_SUBNET6": net.network6, "NETWORK_GATEWAY6": net.gateway6,
                "NETWORK_MAC_PREFIX": net.mac_prefix}
    env.update({key: value for key, value in optional.items() if value})
    return env


def BuildNicEnv(instance: objects.Instance, seq: int, nic: objects.NIC,
                tap: str, vif_bridge: str = KVM_VIF_BRIDGE) -> dict[str, str]:
    """The environment of the network scripts for one NIC."""
    nicparams = nic.nicparams or {}
    mode = nicparams.get(defaults.NIC_MODE, "")
    link = nicparams.get(defaults.NIC_LINK, "")
    env = {
        "PATH": f"{os.environ.get('PATH', '/usr/bin:/bin')}:/sbin:/usr/sbin",
        "INSTANCE": instance.name or "",
        "MAC": nic.mac or "",
        "MODE": mode,
        "INTERFACE": tap,
        "INTERFACE_INDEX": str(seq),
        "INTERFACE_UUID": nic.uuid or "",
        "TAGS": " ".join(sorted(instance.GetTags())),
        "KVM_VIF_BRIDGE": vif_bridge,
    }
    if nic.ip:
        env["IP"] = nic.ip
    if nic.name:
        env["INTERFACE_NAME"] = nic.name
    if link:
        env["LINK"] = link
    if defaults.NIC_VLAN in nicparams:
        env["VLAN"] = nicparams[defaults.NIC_VLAN] or ""
    if nic.network:
        env.update(_NetworkEnv(nic.netinfo))
    if mode == "bridged":
        env["BRIDGE"] = link
    return env


def ConfigureNIC(instance: objects.Instance, seq: int, nic: objects.NIC,
                 tap: str, vif_bridge: str = KVM_VIF_BRIDGE) -> None:
    """Run kvm-ifup for one NIC.

    Raises:
      errors.HypervisorError: the script failed; its output is in the message.
    """
    env = BuildNicEnv(instance, seq, nic, tap, vif_bridge)
    result = utils_process.RunCmd(KVM_IFUP + [tap], env=env)
    if result.failed:
        raise errors.HypervisorError(
            f"Failed to configure interface {tap}: {result.fail_reason};"
            f" network configuration script output: {result.output.strip()}")


def UnconfigureNIC(instance: objects.Instance, seq: int, nic: objects.NIC,
                   tap: str, vif_bridge: str = KVM_VIF_BRIDGE) -> None:
    """Run kvm-ifdown for one NIC; failures are only logged (best effort)."""
    env = BuildNicEnv(instance, seq, nic, tap, vif_bridge)
    try:
        result = utils_process.RunCmd(KVM_IFDOWN + [tap], env=env)
    except errors.CommandError as err:
        logger.warning("Can't run kvm-ifdown for %s: %s", tap, err)
        return
    if result.failed:
        logger.warning("kvm-ifdown failed for interface %s of %s: %s; %s", tap,
                       instance.name, result.fail_reason, result.output.strip())
