#!/usr/bin/python3
"""kvm-ifup / kvm-ifdown: connect a kvm instance's tap device to the network.

Usage: ifup.py up|down TAP   (the NIC is described by the environment)

This is the node's network script for kvm NICs, run by the node daemon for
every NIC (see netdev.py), with Ganeti's variables: MODE, LINK, IP, MAC,
VLAN, INSTANCE, INTERFACE, INTERFACE_INDEX, ... What "up" does per NIC mode
(the behaviour of Ganeti's tools/kvm-ifup and net-common):

  bridged      the tap's MAC gets first octet fe (so the bridge never takes
               the tap's address), the tap is brought up with the bridge's
               MTU and enslaved to the bridge named by LINK; with VLAN set,
               the bridge must have vlan_filtering on and the tap gets the
               VLANs (".N" or "N" first: untagged PVID; ":N:M": tagged).
  openvswitch  a stale port of that name is removed, the tap is brought up
               and added to the switch LINK; VLAN gives the access tag and
               trunks as above.
  routed       the tap is brought up and IP is routed to it (in routing table
               LINK with a rule for traffic from the tap, if LINK is set);
               proxy ARP/NDP and forwarding are enabled on the tap.

If KVM_VIF_BRIDGE names an executable (the administrator's
/etc/ganeti/kvm-vif-bridge), "up" runs it instead, with the same environment.
"down" undoes what outlives the tap: routing rules and routes (routed) and
the switch port (openvswitch).

Standard library only: it runs as "python3 -I ifup.py" without the ganeti
package on the path. Exit status 0 on success, 1 with a message on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys


class IfupError(Exception):
    """A step failed; the message says which."""


def _Run(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as err:
        raise IfupError(f"Can't run {args[0]}: {err.strerror}") from err
    if check and result.returncode != 0:
        raise IfupError(f"'{' '.join(args)}' failed: "
                        f"{(result.stderr or result.stdout).strip()}")
    return result


def _ReadSys(path: str, what: str) -> str:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except OSError as err:
        raise IfupError(f"{what}: {err.strerror}") from err


def _FixMac(tap: str) -> None:
    mac = _ReadSys(f"/sys/class/net/{tap}/address", f"No interface {tap}")
    _Run(["ip", "link", "set", "dev", tap, "address", "fe" + mac[2:]], check=False)


def ParseVlan(vlan: str) -> tuple[str | None, list[str]]:
    """Split Ganeti's VLAN syntax into (untagged VLAN or None, tagged VLANs).

    ".100" or "100": untagged 100; ":200:300": tagged 200 and 300;
    ".100:200:300": untagged 100 plus tagged 200 and 300.
    """
    if not vlan:
        return None, []
    parts = vlan.split(":")
    access = parts[0].lstrip(".") or None
    return access, [p for p in parts[1:] if p]


def _BridgeVlans(tap: str, link: str, vlan: str, instance: str) -> None:
    flag = _ReadSys(f"/sys/class/net/{link}/bridge/vlan_filtering",
                    f"Bridge {link} does not exist")
    if flag != "1":
        raise IfupError(f"Instance {instance} NIC {tap} is configured for VLAN"
                        f" {vlan}, but bridge {link} has VLAN filtering disabled")
    access, trunks = ParseVlan(vlan)
    if access:
        _Run(["bridge", "vlan", "add", "dev", tap, "vid", access, "pvid",
              "untagged", "master"])
    for vid in trunks:
        _Run(["bridge", "vlan", "add", "dev", tap, "vid", vid, "master"])


def SetupBridge(env: dict[str, str], tap: str) -> None:
    link = env.get("LINK", "")
    if not link or not os.path.isdir(f"/sys/class/net/{link}/bridge"):
        raise IfupError(f"Bridge '{link}' does not exist on this node")
    _FixMac(tap)
    _Run(["ip", "link", "set", "dev", tap, "up"])
    mtu = _ReadSys(f"/sys/class/net/{link}/mtu", f"Bridge {link} does not exist")
    _Run(["ip", "link", "set", "dev", tap, "mtu", mtu])
    _Run(["ip", "link", "set", "dev", tap, "master", link])
    if env.get("VLAN"):
        _BridgeVlans(tap, link, env["VLAN"], env.get("INSTANCE", "?"))


def SetupOvs(env: dict[str, str], tap: str) -> None:
    link = env.get("LINK", "")
    if not link:
        raise IfupError("Open vSwitch NIC without a switch (LINK) given")
    _Run(["ovs-vsctl", "--if-exists", "del-port", tap], check=False)
    _Run(["ip", "link", "set", "dev", tap, "up"])
    _Run(["ovs-vsctl", "add-port", link, tap])
    access, trunks = ParseVlan(env.get("VLAN", ""))
    if access:
        _Run(["ovs-vsctl", "set", "port", tap, f"tag={access}"])
    if trunks:
        _Run(["ovs-vsctl", "set", "port", tap, f"trunks={','.join(trunks)}"])


def _Sysctl(path: str) -> None:
    if os.path.isdir(os.path.dirname(path)):
        try:
            with open(path, "w", encoding="ascii") as fh:
                fh.write("1\n")
        except OSError as err:
            raise IfupError(f"Can't write {path}: {err.strerror}") from err


def SetupRoute(env: dict[str, str], tap: str) -> None:
    _Run(["ip", "link", "set", "dev", tap, "up"])
    ip_addr = env.get("IP", "")
    if not ip_addr:
        raise IfupError("Routed NIC but no IP address specified")
    link = env.get("LINK", "")
    if link:
        while _Run(["ip", "rule", "del", "dev", tap], check=False).returncode == 0:
            pass
        _Run(["ip", "rule", "add", "dev", tap, "table", link])
        _Run(["ip", "route", "replace", ip_addr, "table", link, "proto",
              "static", "dev", tap])
    else:
        _Run(["ip", "route", "replace", ip_addr, "proto", "static", "dev", tap])
    _Sysctl(f"/proc/sys/net/ipv4/conf/{tap}/proxy_arp")
    _Sysctl(f"/proc/sys/net/ipv4/conf/{tap}/forwarding")
    _Sysctl(f"/proc/sys/net/ipv6/conf/{tap}/proxy_ndp")
    _Sysctl(f"/proc/sys/net/ipv6/conf/{tap}/forwarding")


def TearDown(env: dict[str, str], tap: str) -> None:
    mode = env.get("MODE", "")
    link = env.get("LINK", "")
    if mode == "routed":
        if link:
            while _Run(["ip", "rule", "del", "dev", tap, "table", link],
                       check=False).returncode == 0:
                pass
            if env.get("IP"):
                _Run(["ip", "route", "del", env["IP"], "table", link, "dev", tap],
                     check=False)
        elif env.get("IP"):
            _Run(["ip", "route", "del", env["IP"], "dev", tap], check=False)
    elif mode == "openvswitch" and link:
        _Run(["ovs-vsctl", "--if-exists", "del-port", link, tap], check=False)


_SETUP = {"bridged": SetupBridge, "openvswitch": SetupOvs, "routed": SetupRoute}


def Main(argv: list[str], env: dict[str, str]) -> int:
    """Run the script; returns the exit status."""
    if len(argv) < 2 or argv[1] not in ("up", "down"):
        sys.stderr.write("Usage: ifup.py up|down [TAP]\n")
        return 1
    tap = argv[2] if len(argv) > 2 else env.get("INTERFACE", "")
    if not tap:
        sys.stderr.write("No network interface specified\n")
        return 1
    env = dict(env, INTERFACE=tap)
    mode = env.get("MODE", "")
    if not mode:
        sys.stderr.write("MODE not specified\n")
        return 1
    try:
        if argv[1] == "down":
            TearDown(env, tap)
            return 0
        vif_bridge = env.get("KVM_VIF_BRIDGE", "")
        if vif_bridge and os.access(vif_bridge, os.X_OK):
            os.execve(vif_bridge, [vif_bridge, tap], env)
        if mode not in _SETUP:
            raise IfupError(f"Unknown NIC mode '{mode}'")
        _SETUP[mode](env, tap)
    except IfupError as err:
        sys.stderr.write(f"{err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(Main(sys.argv, dict(os.environ)))
