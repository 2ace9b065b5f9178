"""make demo: a virtual cluster on this machine, shown to a newcomer.

`demo start` rebuilds ./vcluster from scratch with tools/vcluster-setup,
creates the cluster certificate, starts a node daemon per virtual node and
talks to every node over the real node RPC protocol (HTTPS, mutual TLS). The
daemons keep running; `demo stop` stops them.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys

from ganeti import constants, errors
from ganeti.rpc import client as rpc_client
from ganeti.rpc import resolver as rpc_resolver
from ganeti.tools import vcluster_setup
from ganeti.utils import x509

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


def _DistributeCertificate(nodes: list[str]) -> str:
    """One cluster certificate, as gnt-cluster init creates it, on every node."""
    first = os.path.join(CLUSTER_DIR, nodes[0], "var/lib/ganeti/server.pem")
    x509.GenerateSelfSignedSslCert(first, 1, common_name=vcluster_setup.CLUSTER_NAME)
    for node in nodes[1:]:
        shutil.copy2(
            first, os.path.join(CLUSTER_DIR, node, "var/lib/ganeti/server.pem")
        )
    return first


def _ShowNodes(nodes: list[str], cert: str) -> None:
    addresses = {n: vcluster_setup.NodeAddress(PREFIX, i) for i, n in enumerate(nodes)}
    runner = rpc_client.RpcRunner(
        rpc_resolver.StaticResolver(addresses),
        transport=rpc_client.MakeDefaultTransport(cafile=cert, certfile=cert),
        port=constants.DEFAULT_NODED_PORT,
    )
    with runner:
        versions = runner.call_version(nodes)
        infos = runner.call_node_info(
            nodes, [[constants.ST_DISKLESS, "", []]], [[constants.HT_FAKE, {}]]
        )
    _Say(
        f"{'Node':<7}{'Address':<13}{'Protocol':>9}{'MemTotal':>10}{'MemFree':>9}"
        f"{'CPUs':>6}  Boot id"
    )
    for node in nodes:
        ver, info = versions[node], infos[node]
        if ver.fail_msg or info.fail_msg:
            problem = ver.fail_msg or info.fail_msg
            _Say(f"{node:<7}{addresses[node]:<13}  error: {problem}")
            continue
        boot_id, _, (hv,) = info.payload
        _Say(
            f"{node:<7}{addresses[node]:<13}{ver.payload:>9}"
            f"{hv['memory_total']:>9}M{hv['memory_free']:>8}M{hv['cpu_total']:>6}"
            f"  {boot_id[:8]}"
        )


def Start() -> int:
    _Say(f"Building a {NODES}-node virtual cluster in {CLUSTER_DIR} ...")
    nodes = _Setup()
    cert = _DistributeCertificate(nodes)
    for node in nodes:
        _NodeCmd(node, "daemon-util start ganeti-noded")
    _Say(
        f"Started ganeti-noded on {', '.join(nodes)} "
        f"({PREFIX}.10-{PREFIX}.{9 + NODES}, port {constants.DEFAULT_NODED_PORT})."
    )
    _Say()
    _Say("Asking every node over the node RPC protocol (HTTPS, mutual TLS):")
    _ShowNodes(nodes, cert)
    _Say()
    _Say("Try it yourself:")
    _Say(f"  {CLUSTER_DIR}/node1/cmd daemon-util status-all")
    _Say(f"  tail {CLUSTER_DIR}/node1/var/log/ganeti/node-daemon.log")
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
