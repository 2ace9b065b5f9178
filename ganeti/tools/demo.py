"""make demo: a virtual cluster on this machine, shown to a newcomer.

`demo start` rebuilds ./vcluster from scratch with tools/vcluster-setup,
initialises a cluster on node1 (certificates, config.data, ssconf, node and
master daemons), gives node2 and node3 an OpenSSH sshd each and adds them
with `gnt-node add` over SSH (node2 becomes a master candidate, node3 a
regular node), runs a few commands and leaves the cluster running;
`demo stop` stops every daemon of it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys

from ganeti import constants, errors
from ganeti.tools import vcluster_setup, vcluster_sshd

NODES = 3
PREFIX = vcluster_setup.DEFAULT_NET_PREFIX
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_DIR = os.path.join(_TOP, "vcluster")
SSH_DIR = os.path.join(CLUSTER_DIR, "ssh")
CLIENT_KEY = os.path.join(SSH_DIR, "id_ed25519")
# Each virtual node's sshd listens on the node's own address, on a port of
# its own so that it never competes with a host sshd on port 22.
SSH_PORT = 2022


def _Say(text: str = "") -> None:
    print(text, flush=True)


def _NodeCmd(
    node: str, command: str, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a shell command as a virtual node (through its cmd helper)."""
    env = dict(os.environ, GANETI_SSH_KEY_FILE=CLIENT_KEY)
    proc = subprocess.run([os.path.join(CLUSTER_DIR, node, "cmd"), command],
                          capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise errors.CommandError(
            f"{node}: '{command}' failed:\n{proc.stdout}{proc.stderr}"
        )
    return proc


def Stop() -> int:
    """Stop every daemon of the demo cluster (nothing to do if none)."""
    if not os.path.isdir(CLUSTER_DIR):
        return 0
    for entry in sorted(os.listdir(CLUSTER_DIR)):
        if os.path.isfile(os.path.join(CLUSTER_DIR, entry, "cmd")):
            _NodeCmd(entry, "daemon-util stop-all", check=False)
            vcluster_sshd.StopDetached(os.path.join(CLUSTER_DIR, entry, "sshd"))
    _Say(f"Stopped the demo cluster in {CLUSTER_DIR}.")
    return 0


def _Setup() -> list[str]:
    Stop()
    shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
    os.makedirs(CLUSTER_DIR)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = vcluster_setup.Main(
            [
                "vcluster-setup",
                "-E",
                "-c",
                str(NODES),
                "-i",
                "0",
                "-p",
                PREFIX,
                CLUSTER_DIR,
            ]
        )
    if rc != 0:
        raise errors.CommandError(f"vcluster-setup failed:\n{out.getvalue()}")
    return [vcluster_setup.NodeName(i) for i in range(NODES)]


def _StartSshd(index: int) -> None:
    """Give virtual node number index an sshd that acts as that node."""
    name = vcluster_setup.NodeName(index)
    root = os.path.join(CLUSTER_DIR, name)
    public_key = vcluster_sshd.GenerateKey(CLIENT_KEY)
    directory = os.path.join(root, "sshd")
    vcluster_sshd.PrepareSshd(
        directory, vcluster_setup.NodeAddress(PREFIX, index), SSH_PORT, public_key,
        {"GANETI_ROOTDIR": root, "GANETI_HOSTNAME": name,
         "GANETI_HOSTS_FILE": os.path.join(CLUSTER_DIR,
                                           vcluster_setup.HOSTS_FILE_NAME)})
    vcluster_sshd.StartDetached(directory)


def _Show(node: str, command: str, check: bool = True) -> None:
    """Run a command as a node and print it the way a terminal would."""
    _Say(f"$ {node}/cmd {command}")
    proc = _NodeCmd(node, command, check=check)
    out = (proc.stdout + proc.stderr).rstrip("\n")
    if out:
        _Say(out)
    _Say()


def Start() -> int:
    if not vcluster_sshd.Available():
        raise errors.CommandError("OpenSSH's sshd is missing: run 'make deps'")
    _Say(f"Building a {NODES}-node virtual cluster in {CLUSTER_DIR} ...")
    nodes = _Setup()
    master = nodes[0]
    _Say(f"Nodes {', '.join(nodes)} on {PREFIX}.10-{PREFIX}.{9 + NODES},"
         f" names resolved through {CLUSTER_DIR}/hosts;")
    _Say(f"each of {', '.join(nodes[1:])} runs its own sshd on port {SSH_PORT}.")
    _Say()
    for index in range(1, NODES):
        _StartSshd(index)
    os.chdir(CLUSTER_DIR)
    # -C 2: the master and one candidate, so node3 stays a regular node;
    # routed NICs: the fake hypervisor needs no bridge on the nodes.
    _Show(master, f"gnt-cluster init --no-etc-hosts --no-ssh-init"
                  f" --master-netdev=lo --enabled-disk-templates=diskless"
                  f" --enabled-hypervisors={constants.HT_FAKE} -C 2"
                  f" -N mode=routed,link=main {vcluster_setup.CLUSTER_NAME}")
    for node in nodes[1:]:
        _Show(master, f"gnt-node add --no-ssh-key-check"
                      f" --node-parameters ssh_port={SSH_PORT} {node}")
    _Show(master, "gnt-node list -o +role")
    verify = "gnt-cluster verify"
    if not os.path.exists("/proc/sysrq-trigger"):
        _Say("(This machine's kernel has no /proc/sysrq-trigger, which node power"
             " cycling needs:")
        _Say(" verify would report that as ENODESETUP on every node, so the demo"
             " ignores it.)")
        verify += " -I ENODESETUP"
    _Show(master, verify, check=False)
    _Show(master, "gnt-debug delay --submit 1")
    _Show(master, "gnt-job list")
    _Say("The cluster keeps running. Try, from the cluster directory:")
    _Say(f"  cd {CLUSTER_DIR}")
    _Say(f"  {master}/cmd gnt-cluster info")
    _Say(f"  {master}/cmd gnt-node info node2")
    _Say(f"  {master}/cmd gnt-group list")
    _Say(f"  {master}/cmd gnt-debug locks")
    _Say(f"  tail {master}/var/log/ganeti/master-daemon.log")
    _Say("Stop it with: make demo-stop")
    return 0


def Main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    actions = {"start": Start, "stop": Stop}
    if len(args) != 1 or args[0] not in actions:
        print("usage: demo start|stop", file=sys.stderr)
        return 2
    try:
        return actions[args[0]]()
    except errors.GenericError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
