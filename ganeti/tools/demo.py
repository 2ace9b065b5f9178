"""make demo: a virtual cluster on this machine, shown to a newcomer.

`demo start` rebuilds ./vcluster from scratch with tools/vcluster-setup,
initialises a cluster on its first node with gnt-cluster init (certificates,
config.data, ssconf, node and master daemons), runs a few commands against it
and leaves it running; `demo stop` stops every daemon of it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys

from ganeti import constants, errors
from ganeti.tools import vcluster_setup

NODES = 3
PREFIX = vcluster_setup.DEFAULT_NET_PREFIX
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_DIR = os.path.join(_TOP, "vcluster")


def _Say(text: str = "") -> None:
    print(text, flush=True)


def _NodeCmd(
    node: str, command: str, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a shell command as a virtual node (through its cmd helper)."""
    proc = subprocess.run(
        [os.path.join(CLUSTER_DIR, node, "cmd"), command],
        capture_output=True,
        text=True,
    )
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


def _Show(node: str, command: str) -> None:
    """Run a command as a node and print it the way a terminal would."""
    _Say(f"$ {node}/cmd {command}")
    proc = _NodeCmd(node, command)
    out = (proc.stdout + proc.stderr).rstrip("\n")
    if out:
        _Say(out)
    _Say()


def Start() -> int:
    _Say(f"Building a {NODES}-node virtual cluster in {CLUSTER_DIR} ...")
    nodes = _Setup()
    master = nodes[0]
    _Say(f"Nodes {', '.join(nodes)} on {PREFIX}.10-{PREFIX}.{9 + NODES},"
         f" names resolved through {CLUSTER_DIR}/hosts.")
    _Say()
    os.chdir(CLUSTER_DIR)
    _Show(master, f"gnt-cluster init --no-etc-hosts --no-ssh-init"
                  f" --master-netdev=lo --enabled-disk-templates=diskless"
                  f" --enabled-hypervisors={constants.HT_FAKE}"
                  f" {vcluster_setup.CLUSTER_NAME}")
    _Show(master, "daemon-util status-all")
    _Show(master, "gnt-cluster getmaster")
    _Show(master, "gnt-cluster version")
    _Show(master, "gnt-debug delay 0.5")
    _Show(master, "gnt-debug delay --submit 1")
    _Show(master, "gnt-job list")
    _Say("The cluster keeps running. Try, from the cluster directory:")
    _Say(f"  cd {CLUSTER_DIR}")
    _Say(f"  {master}/cmd gnt-cluster info")
    _Say(f"  {master}/cmd gnt-job info 2")
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
