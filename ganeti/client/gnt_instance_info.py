"""gnt-instance info: the configuration and state of instances as text.

The data is the result of OP_INSTANCE_QUERY_DATA (name -> dict of config and
live state, see LUInstanceQueryData); it is laid out as an info tree for
cli.PrintGenericInfo in the order and with the wording of Ganeti 3.0
(spec/samples/gnt-instance-info*.txt), --roman included.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ganeti import cli, opcodes
from ganeti.cli import ToStderr, ToStdout
from ganeti.utils.text import CommaJoin, FormatTime, FormatUnit

# Disk types with their own status and logical_id layout (Ganeti's DT_*).
_DT_DRBD8 = "drbd"
_DT_PLAIN = "plain"
# Local disk status of the block device status tuple (Ganeti's LDS_*).
_LDS_UNKNOWN = 2
_LDS_FAULTY = 3

_HV_VNC_BIND_ADDRESS = "vnc_bind_address"
_VNC_BASE_PORT = 5900
_IP4_ADDRESS_ANY = "0.0.0.0"
_BE_MAXMEM = "maxmem"

_ROMAN_DIGITS = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                 (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"),
                 (5, "V"), (4, "IV"), (1, "I")]


def TryToRoman(value: Any, convert: bool = True) -> Any:
    """value as a roman numeral when convert is set and it is an int 1..4999.

    Anything else (0, negative, non-integers) comes back unchanged, as
    Ganeti's compat.TryToRoman does with the roman module.
    """
    if (not convert or isinstance(value, bool) or not isinstance(value, int)
            or not 0 < value < 5000):
        return value
    digits = []
    for number, letters in _ROMAN_DIGITS:
        count, value = divmod(value, number)
        digits.append(letters * count)
    return "".join(digits)


def _FormatSize(size: Any, roman: bool) -> str:
    if not isinstance(size, int) or isinstance(size, bool):
        return str(size)
    if roman and size < 1024:
        return f"{TryToRoman(size)}M"
    return FormatUnit(size, "h")


def _FormatDiskDetails(dev: dict[str, Any], roman: bool) -> list[Any]:
    """The logical_id of a disk: one text, or (key, value) pairs for DRBD."""
    if dev["dev_type"] == _DT_DRBD8:
        info = dev["drbd_info"]
        return [
            ("nodeA", f"{info['primary_node']},"
                      f" minor={TryToRoman(info['primary_minor'], roman)}"),
            ("nodeB", f"{info['secondary_node']},"
                      f" minor={TryToRoman(info['secondary_minor'], roman)}"),
            ("port", str(TryToRoman(info["port"], roman))),
        ]
    if dev["dev_type"] == _DT_PLAIN:
        vg_name, lv_name = dev["logical_id"]
        return [f"{vg_name}/{lv_name}"]
    return [str(dev["logical_id"])]


def _FormatDrbdStatus(syncp: Any, estt: Any, degr: Any, ldisk: Any,
                      roman: bool) -> str:
    if syncp is not None:
        sync_text = f"*RECOVERING* {syncp:5.2f}%,"
        sync_text += (f" ETA {TryToRoman(estt, roman)}s" if estt
                      else " ETA unknown")
    else:
        sync_text = "in sync"
    degr_text = "*DEGRADED*" if degr else "ok"
    ldisk_text = {_LDS_FAULTY: " *MISSING DISK*",
                  _LDS_UNKNOWN: " *UNCERTAIN STATE*"}.get(ldisk, "")
    return f" {sync_text}, status {degr_text}{ldisk_text}"


def _FormatDevStatus(dev_type: str, status: Any, roman: bool) -> str:
    """One "on primary/secondary" line from a block device status tuple."""
    if not status:
        return "not active"
    (path, major, minor, syncp, estt, degr, ldisk) = status
    major_text = "N/A" if major is None else str(TryToRoman(major, roman))
    minor_text = "N/A" if minor is None else str(TryToRoman(minor, roman))
    text = f"{path} ({major_text}:{minor_text})"
    if dev_type == _DT_DRBD8:
        text += _FormatDrbdStatus(syncp, estt, degr, ldisk, roman)
    elif dev_type == _DT_PLAIN and ldisk == _LDS_FAULTY:
        text += " *FAILED* (failed drive?)"
    return text


def _FormatBlockDevInfo(idx: int, top_level: bool, dev: dict[str, Any],
                        roman: bool) -> list[Any]:
    """The info tree of one disk (and, nested, of its children)."""
    if not top_level:
        title = f"child {TryToRoman(idx, roman)}"
    elif dev.get("iv_name") is not None:
        title = dev["iv_name"]
    else:
        title = f"disk {TryToRoman(idx, roman)}"
    data: list[Any] = [(title, f"{dev['dev_type']}, size"
                               f" {_FormatSize(dev['size'], roman)}")]
    if top_level:
        if dev.get("spindles") is not None:
            data.append(("spindles", dev["spindles"]))
        data.append(("access mode", dev["mode"]))
    if dev.get("logical_id") is not None:
        try:
            l_id = _FormatDiskDetails(dev, roman)
        except (KeyError, TypeError, ValueError):
            l_id = [str(dev["logical_id"])]
        if len(l_id) == 1:
            data.append(("logical_id", l_id[0]))
        else:
            data.extend(l_id)
    if dev.get("pstatus"):
        data.append(("on primary", _FormatDevStatus(dev["dev_type"],
                                                    dev["pstatus"], roman)))
    if dev.get("sstatus"):
        data.append(("on secondary", _FormatDevStatus(dev["dev_type"],
                                                      dev["sstatus"], roman)))
    data.append(("name", dev.get("name")))
    data.append(("UUID", dev.get("uuid")))
    if dev.get("children"):
        data.append(("child devices", [
            _FormatBlockDevInfo(c_idx, False, child, roman)
            for c_idx, child in enumerate(dev["children"])]))
    return data


def _FormatInstanceNicInfo(idx: int, nic: list[Any], roman: bool) -> list[Any]:
    """The info tree of one NIC (name, uuid, ip, mac, mode, link, vlan, _,
    network info)."""
    (name, uuid, ip, mac, mode, link, vlan, _, netinfo) = nic
    network_name = netinfo["name"] if netinfo else None
    return [
        (f"nic/{TryToRoman(idx, roman)}", ""),
        ("MAC", str(mac)),
        ("IP", str(ip)),
        ("mode", str(mode)),
        ("link", str(link)),
        ("vlan", str(TryToRoman(vlan, roman))),
        ("network", str(network_name)),
        ("UUID", str(uuid)),
        ("name", str(name)),
    ]


def _FormatInstanceNodesInfo(instance: dict[str, Any]) -> list[Any]:
    pgroup = (f"{instance['pnode_group_name']}"
              f" (UUID {instance['pnode_group_uuid']})")
    secs = CommaJoin(
        f"{name} (group {group_name}, group UUID {group_uuid})"
        for (name, group_name, group_uuid) in zip(
            instance["snodes"], instance["snodes_group_names"],
            instance["snodes_group_uuids"]))
    return [[("primary", instance["pnode"]), ("group", pgroup)],
            [("secondaries", secs)]]


# A dotted-quad IPv4 address (the module ipaddress costs import time here).
_IPV4_RE = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                      r"(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")


def _IsIPv4(address: str) -> bool:
    return bool(_IPV4_RE.match(address))


def _GetVncConsoleInfo(instance: dict[str, Any]) -> str | None:
    """"vnc to host:port (display N)" when the instance has VNC, else None."""
    bind_address = instance["hv_actual"].get(_HV_VNC_BIND_ADDRESS)
    if not bind_address:
        return None
    port = instance["network_port"]
    display = int(port) - _VNC_BASE_PORT if port is not None else 0
    if display > 0 and bind_address == _IP4_ADDRESS_ANY:
        where = f"{instance['pnode']}:{port} (display {display})"
    elif display > 0 and _IsIPv4(bind_address):
        where = (f"{bind_address}:{port} (node {instance['pnode']})"
                 f" (display {display})")
    else:
        # The bind address is a path (a UNIX socket on the node).
        where = f"{instance['pnode']}:{bind_address}"
    return f"vnc to {where}"


def _ParamsInfo(own: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    return cli.FormatParamsDictInfo(cli.NormalizeNumbers(own or {}),
                                    cli.NormalizeNumbers(actual or {}))


def FormatInstanceInfo(instance: dict[str, Any], roman: bool) -> list[Any]:
    """The info tree of one instance (an OP_INSTANCE_QUERY_DATA entry)."""
    state = f"configured to be {instance['config_state']}"
    if instance["run_state"]:
        state += f", actual state is {instance['run_state']}"
    info: list[Any] = [
        ("Instance name", instance["name"]),
        ("UUID", instance["uuid"]),
        ("Serial number", str(TryToRoman(instance["serial_no"], roman))),
        ("Creation time", FormatTime(instance["ctime"])),
        ("Modification time", FormatTime(instance["mtime"])),
        ("State", state),
        ("Nodes", _FormatInstanceNodesInfo(instance)),
        ("Operating system", instance["os"]),
        ("Operating system parameters",
         _ParamsInfo(instance["os_instance"], instance["os_actual"])),
    ]
    if "network_port" in instance:
        info.append(("Allocated network port",
                     str(TryToRoman(instance["network_port"], roman))))
    info.append(("Hypervisor", instance["hypervisor"]))
    console = _GetVncConsoleInfo(instance)
    if console:
        info.append(("console connection", console))
    # "memory" is the old name of maxmem; Ganeti still shows both.
    be_actual = copy.deepcopy(instance["be_actual"])
    if _BE_MAXMEM in be_actual:
        be_actual["memory"] = be_actual[_BE_MAXMEM]
    info.extend([
        ("Hypervisor parameters",
         _ParamsInfo(instance["hv_instance"], instance["hv_actual"])),
        ("Back-end parameters", _ParamsInfo(instance["be_instance"], be_actual)),
        ("NICs", [_FormatInstanceNicInfo(idx, nic, roman)
                  for (idx, nic) in enumerate(instance["nics"])]),
        ("Disk template", instance["disk_template"]),
        ("Disks", [_FormatBlockDevInfo(idx, True, dev, roman)
                   for (idx, dev) in enumerate(instance["disks"])]),
    ])
    return info


def ShowInstanceConfig(opts: Any, args: list[str]) -> int:
    """gnt-instance info: print the configuration and state of instances.

    Without names, --all is required (on a big cluster this is slow).
    """
    if not args and not opts.show_all:
        ToStderr("No instance selected. Please pass in --all if you want to"
                 " query all instances.\nNote that this can take a long time"
                 " on a big cluster.")
        return cli.EXIT_FAILURE
    if args and opts.show_all:
        ToStderr("Cannot use --all if you specify instance names.")
        return cli.EXIT_FAILURE
    op = opcodes.OpInstanceQueryData(instances=args, static=opts.static,
                                     use_locking=not opts.static)
    result = cli.SubmitOpCode(op, opts=opts)
    if not result:
        ToStdout("No instances.")
        return cli.EXIT_FAILURE
    cli.PrintGenericInfo([FormatInstanceInfo(instance, opts.roman_integers)
                          for instance in result.values()])
    return cli.EXIT_SUCCESS
