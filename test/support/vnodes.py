"""A virtual cluster of real ganeti-noded processes, for tests and benchmarks.

Each virtual node gets a root dir <base>/<name> (GANETI_ROOTDIR), its own
loopback address 127.0.<a>.<b> (from 127.0.1.1 on) and the same port as
every other node, as in DESIGN.md "Virtual cluster". All nodes share one
cluster certificate (server.pem) and the ssconf files of a bootstrapping
cluster: master_candidates_certs is left empty, so noded accepts a client
presenting server.pem itself, as the master does right after init.

Node names resolve through <base>/hosts (GANETI_HOSTS_FILE), never through
the machine's /etc/hosts.

Every process is started by PID and stopped by PID (SIGTERM, then SIGKILL
after a timeout); leaving the context manager stops them all.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

from ganeti import constants, errors  # noqa: E402
from ganeti.rpc import client as rpc_client  # noqa: E402
from ganeti.rpc import resolver as rpc_resolver  # noqa: E402

NODED = os.path.join(_TREE, "daemons", "ganeti-noded")
CLUSTER_NAME = "cluster.example.com"
DOMAIN = "example.com"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Directories a node root needs before noded starts (as gnt-cluster init
# and node add create them on a real node).
_NODE_DIRS = [
    ("var/lib/ganeti", 0o755), ("var/lib/ganeti/queue", 0o700),
    ("var/lib/ganeti/queue/archive", 0o700), ("var/run/ganeti", 0o775),
    ("var/log/ganeti", 0o750), ("var/lock", 0o755), ("etc/ganeti", 0o755),
    ("etc/ganeti/hooks", 0o755),
]


class VirtualClusterError(errors.GenericError):
    """A virtual node could not be set up or did not come up.

    The message includes the node's log; the cluster is stopped again.
    """


def NodeAddress(index: int) -> str:
    """The loopback address of node number index (1-based): 127.0.1.1, ..."""
    if not 1 <= index <= 250 * 254:
        raise ValueError(f"Virtual node index out of range: {index}")
    high, low = divmod(index - 1, 250)
    return f"127.0.{1 + high}.{1 + low}"


def FindFreePort(address: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def GenerateClusterCert(filename: str, common_name: str = CLUSTER_NAME) -> None:
    """Write a self-signed key+certificate PEM (ganeti.utils.x509 or openssl)."""
    try:
        from ganeti.utils import x509
    except ImportError:
        x509 = None
    if x509 is not None:
        x509.GenerateSelfSignedSslCert(filename, 1, common_name)
        return
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-subj", f"/CN={common_name}", "-keyout", filename, "-out", filename],
        check=True, capture_output=True)


def _WaitForPort(address: str, port: int, deadline: float) -> bool:
    """Poll until address:port accepts TCP connections or deadline passes."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _Tail(path: str, limit: int = 4000) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-limit:]
    except OSError as err:
        return f"<cannot read {path}: {err}>"


@dataclass
class VirtualNode:
    """One virtual node: where it lives and its noded process."""

    name: str
    ip: str
    root: str
    mlock: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> str:
        return os.path.join(self.root, "var/lib/ganeti")

    @property
    def log_file(self) -> str:
        return os.path.join(self.root, "var/log/ganeti/node-daemon.log")

    @property
    def console_file(self) -> str:
        return os.path.join(self.root, "noded.console")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def Path(self, local_path: str) -> str:
        """The real location of a node-local absolute path on this node."""
        return os.path.join(self.root, local_path.lstrip("/"))

    def Describe(self) -> str:
        return (f"node {self.name} ({self.ip}), log {self.log_file}:\n"
                f"{_Tail(self.log_file)}\nconsole:\n{_Tail(self.console_file)}")


class VirtualCluster:
    """n real noded processes on loopback addresses; a context manager."""

    def __init__(self, base_dir: str, n_nodes: int, port: int | None = None, *,
                 mlock_nodes: Iterable[str] = (), debug: bool = False,
                 start_timeout: float = START_TIMEOUT) -> None:
        """Prepare (not start) the cluster.

        Args:
          base_dir: an empty or new directory for the node roots.
          n_nodes: how many nodes (node1.example.com ...).
          port: noded's port on every node (default: a free one).
          mlock_nodes: names of nodes whose noded mlocks its memory as in
            production (the others run with --no-mlock).
          debug: run noded with -d (debug logging).
          start_timeout: seconds each node may take to answer.
        """
        if n_nodes < 1:
            raise ValueError("A virtual cluster needs at least one node")
        self.base_dir = os.path.abspath(base_dir)
        self.port = port or FindFreePort(NodeAddress(1))
        self.debug = debug
        self.start_timeout = start_timeout
        self.hosts_file = os.path.join(self.base_dir, "hosts")
        self.server_pem = os.path.join(self.base_dir, "server.pem")
        mlock = frozenset(mlock_nodes)
        self.nodes: dict[str, VirtualNode] = {}
        for index in range(1, n_nodes + 1):
            name = f"node{index}.{DOMAIN}"
            self.nodes[name] = VirtualNode(name, NodeAddress(index),
                                           os.path.join(self.base_dir, name),
                                           mlock=name in mlock)
        self._runners: list[rpc_client.RpcRunner] = []
        self._transports: list[Any] = []

    # --- context manager -------------------------------------------------------

    def __enter__(self) -> VirtualCluster:
        self.Start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.Stop()

    @property
    def names(self) -> list[str]:
        return list(self.nodes)

    @property
    def master(self) -> VirtualNode:
        return next(iter(self.nodes.values()))

    def Node(self, name: str) -> VirtualNode:
        return self.nodes[name]

    # --- setup -------------------------------------------------------------------

    def Prepare(self) -> None:
        """Create node roots, the certificate, hosts and ssconf files."""
        os.makedirs(self.base_dir, exist_ok=True)
        GenerateClusterCert(self.server_pem)
        with open(self.hosts_file, "w", encoding="utf-8") as handle:
            for node in self.nodes.values():
                handle.write(f"{node.ip} {node.name} {node.name.split('.')[0]}\n")
        ssconf_files = self.SsconfValues()
        for node in self.nodes.values():
            for rel, mode in _NODE_DIRS:
                os.makedirs(node.Path(rel), mode=mode, exist_ok=True)
            shutil.copyfile(self.server_pem, os.path.join(node.data_dir, "server.pem"))
            os.chmod(os.path.join(node.data_dir, "server.pem"), 0o440)
            for key, value in ssconf_files.items():
                path = os.path.join(node.data_dir, f"ssconf_{key}")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(value)

    def SsconfValues(self) -> dict[str, str]:
        """ssconf contents of a freshly initialised cluster, all nodes MCs."""
        names = "".join(f"{name}\n" for name in self.nodes)
        return {
            "cluster_name": f"{CLUSTER_NAME}\n",
            "master_node": f"{self.master.name}\n",
            "node_list": names,
            "online_nodes": names,
            "offline_nodes": "",
            "master_candidates": names,
            "master_candidates_ips": "".join(
                f"{node.ip}\n" for node in self.nodes.values()),
            # Empty on purpose: noded then accepts server.pem's own digest.
            "master_candidates_certs": "",
            "node_primary_ips": "".join(
                f"{node.name} {node.ip}\n" for node in self.nodes.values()),
            "node_secondary_ips": "".join(
                f"{node.name} {node.ip}\n" for node in self.nodes.values()),
            "release_version": f"{constants.RELEASE_VERSION}\n",
            "primary_ip_family": f"{constants.IP4_FAMILY}\n",
        }

    def _Env(self, node: VirtualNode) -> dict[str, str]:
        env = dict(os.environ)
        env.update({constants.ENV_ROOTDIR: node.root,
                    constants.ENV_HOSTNAME: node.name,
                    "GANETI_HOSTS_FILE": self.hosts_file,
                    "PYTHONPATH": _TREE})
        return env

    def _Launch(self, node: VirtualNode) -> None:
        if node.process is not None and node.process.poll() is None:
            raise VirtualClusterError(f"Node {node.name} is already running")
        cmd = [sys.executable, NODED, "-f", "-b", node.ip, "-p", str(self.port)]
        if not node.mlock:
            cmd.append("--no-mlock")
        if self.debug:
            cmd.append("-d")
        with open(node.console_file, "ab") as console:
            node.process = subprocess.Popen(
                cmd, env=self._Env(node), stdin=subprocess.DEVNULL, stdout=console,
                stderr=subprocess.STDOUT, start_new_session=True)

    def _WaitUp(self, nodes: list[VirtualNode]) -> None:
        """Wait until every node accepts connections.

        Raises:
          VirtualClusterError: a node exited or did not answer in time.
        """
        deadline = time.monotonic() + self.start_timeout
        for node in nodes:
            assert node.process is not None
            while not _WaitForPort(node.ip, self.port,
                                   min(deadline, time.monotonic() + 0.2)):
                if node.process.poll() is not None:
                    raise VirtualClusterError(
                        f"noded exited with {node.process.returncode} on "
                        f"{node.Describe()}")
                if time.monotonic() >= deadline:
                    raise VirtualClusterError(
                        f"noded did not answer within {self.start_timeout} s on "
                        f"{node.Describe()}")

    def Start(self) -> None:
        """Prepare and start every node in parallel; wait until all answer.

        Raises:
          VirtualClusterError: a node did not come up; all are stopped.
        """
        try:
            self.Prepare()
            for node in self.nodes.values():
                self._Launch(node)
            self._WaitUp(list(self.nodes.values()))
        except BaseException:
            self.Stop()
            raise

    def StartNode(self, name: str) -> None:
        """(Re)start one node's noded and wait until it answers."""
        node = self.nodes[name]
        self._Launch(node)
        self._WaitUp([node])

    # --- teardown ----------------------------------------------------------------

    @staticmethod
    def _Terminate(node: VirtualNode) -> None:
        if node.process is None or node.process.poll() is not None:
            return
        node.process.send_signal(signal.SIGTERM)

    @staticmethod
    def _Reap(node: VirtualNode, deadline: float) -> None:
        process = node.process
        if process is None:
            return
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        node.process = None

    def StopNode(self, name: str, timeout: float = STOP_TIMEOUT) -> None:
        """Stop one node's noded (SIGTERM, SIGKILL after timeout)."""
        node = self.nodes[name]
        self._Terminate(node)
        self._Reap(node, time.monotonic() + timeout)

    def KillNode(self, name: str) -> None:
        """SIGKILL one node's noded, as a crash would."""
        node = self.nodes[name]
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
        self._Reap(node, time.monotonic() + STOP_TIMEOUT)

    def Stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every node (all signalled first, then reaped) and runners."""
        for runner in self._runners:
            runner.Close()
        for transport in self._transports:
            transport.Close()
        self._runners = []
        self._transports = []
        for node in self.nodes.values():
            self._Terminate(node)
        deadline = time.monotonic() + timeout
        for node in self.nodes.values():
            self._Reap(node, deadline)

    # --- clients -------------------------------------------------------------------

    def Resolver(self, offline: Iterable[str] = ()) -> rpc_resolver.StaticResolver:
        """Name -> address of every node; offline names are marked offline."""
        return rpc_resolver.StaticResolver(
            {node.name: node.ip for node in self.nodes.values()}, offline=offline)

    def Transport(self, certfile: str | None = None) -> Any:
        """An HttpClientPool with server.pem as CA and (default) client cert.

        Closed by Stop().
        """
        transport = rpc_client.MakeDefaultTransport(
            cafile=self.server_pem, certfile=certfile or self.server_pem)
        self._transports.append(transport)
        return transport

    def Runner(self, offline: Iterable[str] = (),
               **kwargs: Any) -> rpc_client.RpcRunner:
        """An RpcRunner as the master has at bootstrap; closed by Stop().

        Paths given to path arguments are taken relative to the master's
        (node1's) root, as on a real master of a virtual cluster.
        """
        kwargs.setdefault("node_root", self.master.root)
        runner = rpc_client.RpcRunner(self.Resolver(offline), self.Transport(),
                                      port=self.port, **kwargs)
        self._runners.append(runner)
        return runner
