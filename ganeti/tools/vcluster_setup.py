"""vcluster-setup: prepare a directory for a virtual cluster on this machine.

Mirrors the options and layout of Ganeti's tools/vcluster-setup: one root
directory per node (<dir>/node1, <dir>/node2, ...) with the node-local tree
below it, a `cmd` helper per node that runs a command as that node, and
start-all / stop-all / restart-all / status-all / watcher-all scripts.

Address plan (as Ganeti's): <prefix>.1 is the cluster (master IP),
<prefix>.10-.99 are the nodes, <prefix>.100-.254 the instances. The default
prefix is in 127.0.0.0/8, so every address is already local on Linux and no
network set-up is needed. Names resolve through <dir>/hosts, which our
netutils reads for virtual nodes; /etc/hosts is only touched without -E.
"""

from __future__ import annotations

import ipaddress
import optparse
import os
import shlex
import sys

from ganeti import constants, errors
from ganeti.utils import io, process

DEFAULT_NODE_COUNT = 5
DEFAULT_INSTANCE_COUNT = 10
DEFAULT_NET_PREFIX = "127.0.1"
DEFAULT_NETDEV = "lo"
CLUSTER_NAME = "cluster"
HOSTS_FILE_NAME = "hosts"
ETC_HOSTS = "/etc/hosts"
FIRST_NODE_OCTET = 10
FIRST_INSTANCE_OCTET = 100
MAX_NODES = FIRST_INSTANCE_OCTET - FIRST_NODE_OCTET
MAX_INSTANCES = 255 - FIRST_INSTANCE_OCTET
ACTIONS = ("start", "stop", "restart", "status", "watcher")
# Where the daemons and tools of this checkout or installation live.
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def NodeName(index: int) -> str:
    return f"node{index + 1}"


def InstanceName(index: int) -> str:
    return f"instance{index + 1}"


def NodeAddress(prefix: str, index: int) -> str:
    return f"{prefix}.{FIRST_NODE_OCTET + index}"


def InstanceAddress(prefix: str, index: int) -> str:
    return f"{prefix}.{FIRST_INSTANCE_OCTET + index}"


def _ProgramDirs() -> list[str]:
    """Directories holding our daemons and commands, for the cmd helpers' PATH."""
    dirs = [os.path.join(_TOP, d) for d in ("daemons", "scripts", "tools")]
    return [d for d in dirs if os.path.isdir(d)]


def _WriteExecutable(path: str, text: str) -> None:
    io.WriteFile(path, text, mode=0o755)


def HostsEntries(prefix: str, nodes: int, instances: int) -> list[tuple[str, str]]:
    entries = [(f"{prefix}.1", CLUSTER_NAME)]
    entries += [(NodeAddress(prefix, i), NodeName(i)) for i in range(nodes)]
    entries += [(InstanceAddress(prefix, i), InstanceName(i)) for i in range(instances)]
    return entries


def SetupNode(rootdir: str, index: int, prefix: str) -> str:
    """Create one node's tree, its defaults file and its cmd helper."""
    name = NodeName(index)
    nodedir = os.path.join(rootdir, name)
    for sub in (
        "etc/default",
        "etc/ganeti",
        "var/lock",
        "var/lib/ganeti",
        "var/log/ganeti",
        "var/run/ganeti",
    ):
        os.makedirs(os.path.join(nodedir, sub), exist_ok=True)
    address = NodeAddress(prefix, index)
    daemon_args = f"-b {address}"
    io.WriteFile(
        os.path.join(nodedir, "etc/default/ganeti"),
        (
            f"# Default settings for virtual node {name}\n"
            f"NODED_ARGS='--no-mlock {daemon_args}'\n"
            "MASTERD_ARGS=''\n"
            f"RAPI_ARGS='{daemon_args}'\n"
            f"export GANETI_ROOTDIR='{nodedir}'\n"
            f"export GANETI_HOSTNAME='{name}'\n"
        ),
    )
    path = ":".join(_ProgramDirs() + ["$PATH"])
    hosts_file = os.path.join(rootdir, HOSTS_FILE_NAME)
    _WriteExecutable(
        os.path.join(nodedir, "cmd"),
        (
            "#!/bin/bash\n"
            f"# Run a command as virtual node {name}, e.g. {name}/cmd gnt-job list\n"
            f"export GANETI_ROOTDIR={shlex.quote(nodedir)}\n"
            f"export GANETI_HOSTNAME={shlex.quote(name)}\n"
            f"export GANETI_HOSTS_FILE={shlex.quote(hosts_file)}\n"
            f'export PATH="{path}"\n'
            'bash -c "$*"\n'
        ),
    )
    return nodedir


def SetupScripts(rootdir: str, nodes: int) -> None:
    """The <action>-all helpers, run from the cluster directory."""
    for action in ACTIONS:
        lines = ["#!/bin/bash", 'cd "$(dirname "$0")"']
        for i in range(nodes):
            name = NodeName(i)
            if action == "watcher":
                lines.append(f"echo 'Running watcher for virtual node \"{name}\" ...'")
                lines.append(f'{name}/cmd ganeti-watcher "$@"')
            else:
                lines.append(
                    f'echo \'Action "{action}" for virtual node "{name}" ...\''
                )
                lines.append(f'{name}/cmd daemon-util {action}-all "$@"')
        _WriteExecutable(
            os.path.join(rootdir, f"{action}-all"), "\n".join(lines) + "\n"
        )


def WriteHostsFile(path: str, entries: list[tuple[str, str]], keep: str = "") -> None:
    """Write a hosts file; lines of `keep` whose address is ours are dropped."""
    ours = {ip for ip, _ in entries}
    kept = [
        line
        for line in keep.splitlines()
        if not line.split() or line.split()[0] not in ours
    ]
    body = kept + [f"{ip} {name}" for ip, name in entries]
    io.WriteFile(path, "\n".join(body) + "\n", mode=0o644)


def _SetupNetwork(prefix: str, nodes: int, netdev: str) -> None:
    """Add node addresses to netdev; loopback prefixes need nothing."""
    if ipaddress.ip_address(f"{prefix}.1").is_loopback:
        return
    for i in range(nodes):
        addr = f"{NodeAddress(prefix, i)}/32"
        process.RunCmd(["ip", "addr", "del", addr, "dev", netdev])
        result = process.RunCmd(["ip", "addr", "add", addr, "dev", netdev])
        if result.failed:
            raise errors.CommandError(f"Cannot add {addr} to {netdev}: {result.output}")


def _ParseArgs(argv: list[str]) -> tuple[optparse.Values, str]:
    parser = optparse.OptionParser(
        usage="%prog [-E] [-N] [-c <number>] [-i <number>] [-p <prefix>]"
        " [-n <netdev>] <directory>"
    )
    parser.add_option(
        "-c",
        dest="nodes",
        type="int",
        default=DEFAULT_NODE_COUNT,
        help=f"Number of virtual nodes (defaults to {DEFAULT_NODE_COUNT})",
    )
    parser.add_option(
        "-i",
        dest="instances",
        type="int",
        default=DEFAULT_INSTANCE_COUNT,
        help=f"Number of instances (defaults to {DEFAULT_INSTANCE_COUNT})",
    )
    parser.add_option(
        "-p",
        dest="prefix",
        default=DEFAULT_NET_PREFIX,
        help=f"IPv4 network prefix (defaults to {DEFAULT_NET_PREFIX})",
    )
    parser.add_option(
        "-n",
        dest="netdev",
        default=DEFAULT_NETDEV,
        help=f"Network device for virtual IP addresses (defaults to {DEFAULT_NETDEV})",
    )
    parser.add_option(
        "-E",
        dest="etc_hosts",
        action="store_false",
        default=True,
        help=f"Do not modify {ETC_HOSTS}",
    )
    parser.add_option(
        "-N",
        dest="networking",
        action="store_false",
        default=True,
        help="Do not configure networking",
    )
    options, args = parser.parse_args(argv[1:])
    if len(args) != 1:
        parser.error("exactly one directory is needed")
    if not 1 <= options.nodes <= MAX_NODES:
        parser.error(f"Node count must be between 1 and {MAX_NODES}")
    if not 0 <= options.instances <= MAX_INSTANCES:
        parser.error(f"Instance count must be {MAX_INSTANCES} or lower")
    parts = options.prefix.split(".")
    if len(parts) != 3 or not all(p.isdigit() and int(p) < 256 for p in parts):
        parser.error(f"Invalid network prefix: {options.prefix}")
    return options, os.path.abspath(args[0])


def Main(argv: list[str] | None = None) -> int:
    options, rootdir = _ParseArgs(sys.argv if argv is None else argv)
    if not os.path.isdir(rootdir):
        print(f"Directory '{rootdir}' does not exist!", file=sys.stderr)
        return 1
    for i in range(options.nodes):
        print(f"Setting up node '{NodeName(i)}' ...", file=sys.stderr)
        SetupNode(rootdir, i, options.prefix)
    entries = HostsEntries(options.prefix, options.nodes, options.instances)
    WriteHostsFile(os.path.join(rootdir, HOSTS_FILE_NAME), entries)
    if options.etc_hosts:
        print(f"Configuring {ETC_HOSTS} ...", file=sys.stderr)
        WriteHostsFile(ETC_HOSTS, entries, keep=io.ReadFile(ETC_HOSTS))
    if options.networking:
        _SetupNetwork(options.prefix, options.nodes, options.netdev)
    SetupScripts(rootdir, options.nodes)
    names = " ".join(NodeName(i) for i in range(options.nodes))
    print(
        f"Virtual cluster setup is complete.\n\nRoot directory: {rootdir}\n"
        f"Cluster name: {CLUSTER_NAME}\nNodes: {names}\n\n"
        f"Initialize cluster:\n  cd {rootdir} && node1/cmd gnt-cluster init"
        " --no-etc-hosts \\\n    --no-ssh-init --master-netdev=lo \\\n"
        f"    --enabled-disk-templates=diskless --enabled-hypervisors="
        f"{constants.HT_FAKE} \\\n    {CLUSTER_NAME}\n\n"
        f"Add node:\n  cd {rootdir} && node1/cmd gnt-node add --no-ssh-key-check"
        " node2"
    )
    return 0
