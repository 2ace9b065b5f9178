"""A virtual cluster with a running master daemon, for tests and benchmarks.

Two ways to lay it out, both as a user would:
- MasterCluster.Bootstrap: node roots <base>/<fqdn> and a hosts file, the
  cluster created by ganeti.bootstrap.InitCluster in a subprocess (what
  test/integration/test_masterd.py needs: FQDN names, a second node whose
  ssconf is forged).
- MasterCluster.VclusterSetup: the directory made by `tools/vcluster-setup
  -E -N -c N -p PREFIX`, with a `cmd` helper per node, and the cluster made
  by `node1/cmd gnt-cluster init ...` (what an operator types).

Addresses: every cluster takes a random prefix 127.<100-250>.<0-250>, away
from the demo cluster (127.0.1.x) and from test/support/vnodes.py
(127.0.<1-80>.x), and one free TCP port for every node's noded
(GANETI_NODED_PORT) plus one for RAPI (GANETI_RAPI_PORT), so nothing clashes
with a cluster on the standard ports.

Processes: every daemon pid seen is recorded. StopAll runs `daemon-util
stop-all` on every node, as the vcluster's stop-all script does, then looks
for any process left (recorded pids, pid files, and every process of ours
whose environment names a root below <base>), SIGTERMs/SIGKILLs those by pid
and returns them, so a fixture can fail on a daemon that does not stop.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import random
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

from ganeti import luxi  # noqa: E402
from ganeti.utils import process  # noqa: E402

TOP = _TREE
MASTERD = os.path.join(TOP, "daemons", "ganeti-masterd")
DAEMON_UTIL = os.path.join(TOP, "daemons", "daemon-util")
VCLUSTER_SETUP = os.path.join(TOP, "tools", "vcluster-setup")
PROGRAM_DIRS = [os.path.join(TOP, d) for d in ("daemons", "scripts", "tools")]

# Node-local layout (spec/config.md section 5), relative to a node root.
RUN_DIR = "var/run/ganeti"
SOCKET_DIR = f"{RUN_DIR}/socket"
QUEUE_DIR = "var/lib/ganeti/queue"
QUERY_SOCKET = f"{SOCKET_DIR}/ganeti-query"
MASTER_SOCKET = f"{SOCKET_DIR}/ganeti-master"
SOCKETS = {"query": QUERY_SOCKET, "master": MASTER_SOCKET}

NODE1 = "node1.example.com"
NODE2 = "node2.example.com"
CLUSTER = "cluster.example.com"
FINALIZED = ("success", "error", "canceled")
DAEMONS = ("ganeti-masterd", "ganeti-noded", "ganeti-rapi")

# daemon-util waits this long after SIGTERM before SIGKILL; masterd needs
# far less when no job runs, and a hung daemon should fail a test quickly.
STOP_TIMEOUT = 10.0

# The cluster of the Bootstrap layout: InitCluster with the defaults
# gnt-cluster init would pass for a fake-hypervisor, diskless/file cluster.
_INIT = """
from ganeti import bootstrap
bootstrap.InitCluster(
    cluster_name={cluster!r}, mac_prefix="aa:00:00",
    master_netmask=None, master_netdev="lo", file_storage_dir=None,
    shared_file_storage_dir=None, gluster_storage_dir=None,
    candidate_pool_size=10, enabled_hypervisors=["fake"],
    enabled_disk_templates=["diskless", "file"], modify_ssh_setup=False,
    modify_etc_hosts=False)
"""

# What an operator types after vcluster-setup (its closing message).
CLI_INIT_ARGS = ["gnt-cluster", "init", "--no-etc-hosts", "--no-ssh-init",
                 "--master-netdev=lo", "--enabled-disk-templates=diskless",
                 "--enabled-hypervisors=fake"]


class ClusterSetupError(AssertionError):
    """Setting up or initialising the virtual cluster failed.

    The message carries the failed command's output.
    """


def RandomPrefix(rng: random.Random | None = None) -> str:
    """A random loopback /24 prefix 127.<100-250>.<0-250> (no trailing dot)."""
    rng = rng or random.SystemRandom()
    return f"127.{rng.randint(100, 250)}.{rng.randint(0, 250)}"


def FreePort(address: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now at address (the kernel picks)."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def WaitGone(pid: int, timeout: float = 15.0) -> bool:
    """Wait until pid has exited; return False if it is still alive."""
    deadline = time.monotonic() + timeout
    while process.IsProcessAlive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def KillPid(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM pid, then SIGKILL it if it outlives timeout."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if WaitGone(pid, wait):
            return


def ProcessesBelow(base: str) -> list[int]:
    """Pids of our processes whose GANETI_ROOTDIR lies below base.

    Every daemon and command of a virtual node carries its root in the
    environment, whatever pid files say; /proc of other users is unreadable
    and skipped.
    """
    marker = f"GANETI_ROOTDIR={os.path.abspath(base)}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                entries = handle.read().split(b"\0")
        except OSError:
            continue
        if any(e == marker or e.startswith(marker + b"/") for e in entries):
            if process.IsProcessAlive(int(name)):
                found.append(int(name))
    return sorted(found)


def WaitJob(client: luxi.Client, job_id: int,
            wanted: Iterable[str] = FINALIZED, timeout: float = 60.0) -> str:
    """Follow a job with WaitForJobChange until its status is in wanted.

    Returns:
      the status reached.

    Raises:
      AssertionError: the job did not get there within timeout seconds.
    """
    wanted = tuple(wanted)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        result = client.WaitForJobChangeOnce(
            job_id, ["status"], None if status is None else [status], None,
            timeout=min(5.0, max(deadline - time.monotonic(), 0.0)))
        if result != luxi.JOB_NOTCHANGED:
            status = result[0][0]
        if status in wanted:
            return status
    raise AssertionError(f"job {job_id} still {status} after {timeout} s")


def DelaySocket(client: luxi.Client, job_id: int, timeout: float = 30.0) -> str:
    """The socket of a running interruptible OP_TEST_DELAY (its log entry)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (oplog, ), = client.QueryJobs([job_id], ["oplog"])
        for entries in oplog or []:
            for _, _, kind, message in entries:
                if kind == "delay-test":
                    return message[0]
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} logged no delay-test socket in {timeout} s")


def InterruptDelay(client: luxi.Client, job_id: int) -> None:
    """End an interruptible delay job early: connect and send one byte."""
    path = DelaySocket(client, job_id)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(b"x")


class MasterCluster:
    """Node roots, hosts file, environments and daemons of one virtual cluster.

    Attributes:
      base: the cluster directory (pathlib.Path).
      names: the node names, master first.
      cluster_name: the cluster's name.
      ips: node name -> address (from the hosts file).
      port: noded's TCP port on every node.
      pids: every daemon pid seen so far.
    """

    def __init__(self, base: pathlib.Path, names: list[str], cluster_name: str,
                 ips: dict[str, str], port: int | None = None) -> None:
        self.base = base
        self.names = list(names)
        self.cluster_name = cluster_name
        self.ips = dict(ips)
        self.port = port if port is not None else FreePort(self.ips[names[0]])
        self.rapi_port = FreePort(self.ips[names[0]])
        self.pids: set[int] = set()

    # --- constructors ----------------------------------------------------------

    @classmethod
    def Bootstrap(cls, base: pathlib.Path, names: tuple[str, ...] = (NODE1, NODE2),
                  cluster_name: str = CLUSTER,
                  prefix: str | None = None) -> MasterCluster:
        """Roots <base>/<name> and <base>/hosts; call InitCluster() next.

        Node i (0-based) gets <prefix>.<i+1>, the cluster <prefix>.100.
        """
        prefix = prefix or RandomPrefix()
        ips = {name: f"{prefix}.{i + 1}" for i, name in enumerate(names)}
        lines = [f"{ip} {name} {name.split('.')[0]}" for name, ip in ips.items()]
        lines.append(f"{prefix}.100 {cluster_name} {cluster_name.split('.')[0]}")
        (base / "hosts").write_text("\n".join(lines) + "\n")
        vc = cls(base, list(names), cluster_name, ips)
        vc.Root(names[0]).mkdir(exist_ok=True)
        return vc

    @classmethod
    def VclusterSetup(cls, base: pathlib.Path, count: int = 3,
                      prefix: str | None = None) -> MasterCluster:
        """Run tools/vcluster-setup -E -N; call InitWithCli() next.

        Raises:
          ClusterSetupError: the tool failed.
        """
        prefix = prefix or RandomPrefix()
        proc = subprocess.run(
            [sys.executable, VCLUSTER_SETUP, "-E", "-N", "-c", str(count), "-i", "0",
             "-p", prefix, str(base)], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise ClusterSetupError(f"vcluster-setup failed: {proc.stderr}")
        hosts = {}
        for line in (base / "hosts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2:
                hosts[fields[1]] = fields[0]
        names = [f"node{i + 1}" for i in range(count)]
        return cls(base, names, "cluster", {name: hosts[name] for name in names})

    # --- where things are ------------------------------------------------------

    @property
    def master(self) -> str:
        return self.names[0]

    def Root(self, node: str | None = None) -> pathlib.Path:
        return self.base / (node or self.master)

    def Socket(self, which: str = "query", node: str | None = None) -> str:
        """Path of the LUXI socket "query" (ganeti-query) or "master"."""
        return str(self.Root(node) / SOCKETS[which])

    def QueueDir(self, node: str | None = None) -> pathlib.Path:
        return self.Root(node) / QUEUE_DIR

    def Env(self, node: str | None = None, **extra: str) -> dict[str, str]:
        """The environment of a command run as node (as its cmd helper sets)."""
        node = node or self.master
        path = ":".join(PROGRAM_DIRS + [os.environ.get("PATH", "/usr/bin:/bin")])
        env = dict(os.environ, GANETI_ROOTDIR=str(self.Root(node)),
                   GANETI_HOSTNAME=node, GANETI_HOSTS_FILE=str(self.base / "hosts"),
                   GANETI_NODED_PORT=str(self.port),
                   GANETI_RAPI_PORT=str(self.rapi_port), PYTHONPATH=TOP, PATH=path,
                   DAEMON_UTIL_STOP_TIMEOUT=str(int(STOP_TIMEOUT)))
        env.pop("FORCE_LUXI_SOCKET", None)
        env.update(extra)
        return env

    # --- running things ----------------------------------------------------------

    def Run(self, args: list[str], node: str | None = None, timeout: float = 90,
            **extra: str) -> subprocess.CompletedProcess:
        """Run args as node (its environment), capturing text output."""
        return subprocess.run(args, env=self.Env(node, **extra), capture_output=True,
                              text=True, timeout=timeout)

    def Cmd(self, args: list[str] | str, node: str | None = None,
            timeout: float = 90, **extra: str) -> subprocess.CompletedProcess:
        """Run a command through the node's cmd helper (vcluster layout).

        The helper runs `bash -c "$*"`, so a list is shell-quoted into one
        word here; a string is passed as the shell command it is.
        """
        line = args if isinstance(args, str) else shlex.join(args)
        helper = str(self.Root(node) / "cmd")
        env = dict(os.environ, GANETI_NODED_PORT=str(self.port),
                   GANETI_RAPI_PORT=str(self.rapi_port),
                   DAEMON_UTIL_STOP_TIMEOUT=str(int(STOP_TIMEOUT)))
        env.pop("FORCE_LUXI_SOCKET", None)
        env.update(extra)
        return subprocess.run([helper, line], env=env, capture_output=True, text=True,
                              timeout=timeout)

    def _CheckInit(self, proc: subprocess.CompletedProcess) -> None:
        self.RecordDaemons()
        if proc.returncode != 0:
            raise ClusterSetupError(
                f"cluster init failed ({proc.returncode}):\n{proc.stdout}\n"
                f"{proc.stderr}")
        if not self.Pid("ganeti-masterd"):
            raise ClusterSetupError("cluster init did not start ganeti-masterd")

    def InitCluster(self, check: bool = True) -> subprocess.CompletedProcess:
        """bootstrap.InitCluster in a subprocess as the master (Bootstrap layout).

        Args:
          check: raise unless init succeeded and masterd runs.

        Raises:
          ClusterSetupError: init failed or left no masterd running.
        """
        proc = self.Run([sys.executable, "-c", _INIT.format(cluster=self.cluster_name)])
        if check:
            self._CheckInit(proc)
        else:
            self.RecordDaemons()
        return proc

    def InitWithCli(self,
                    extra_args: Iterable[str] = ()) -> subprocess.CompletedProcess:
        """`node1/cmd gnt-cluster init ... cluster` (vcluster layout).

        Raises:
          ClusterSetupError: init failed or left no masterd running.
        """
        proc = self.Cmd(CLI_INIT_ARGS + list(extra_args) + [self.cluster_name])
        self._CheckInit(proc)
        return proc

    def Client(self, which: str = "query") -> luxi.Client:
        """A LUXI client on the master's query (or "master") socket."""
        return luxi.Client(address=self.Socket(which))

    # --- daemons -------------------------------------------------------------------

    def Pid(self, daemon: str, node: str | None = None) -> int:
        """The pid of a running daemon of node (recorded), or 0."""
        pidfile = self.Root(node) / RUN_DIR / f"{daemon}.pid"
        pid = process.ReadPidFile(str(pidfile))
        if pid and process.IsProcessAlive(pid):
            self.pids.add(pid)
            return pid
        return 0

    def RecordDaemons(self) -> None:
        """Record the pids of every daemon of every node now running."""
        for node in self.names:
            for daemon in DAEMONS:
                self.Pid(daemon, node)

    def StartMasterd(self) -> None:
        """Start masterd on the master unless it runs."""
        if not self.Pid("ganeti-masterd"):
            proc = self.Run([sys.executable, MASTERD])
            assert proc.returncode == 0, proc.stderr
        assert self.Pid("ganeti-masterd")

    def StopAll(self) -> list[int]:
        """Stop every process of the cluster; return those stop-all missed.

        `daemon-util stop-all` on each node first; whatever is still alive
        afterwards (recorded pids, pid files, processes whose root is below
        base) is killed by pid and returned.
        """
        self.RecordDaemons()
        for node in self.names:
            if (self.Root(node) / RUN_DIR).is_dir():
                self.Run([DAEMON_UTIL, "stop-all"], node=node, timeout=60)
        self.RecordDaemons()
        left = {pid for pid in self.pids if process.IsProcessAlive(pid)}
        left.update(ProcessesBelow(str(self.base)))
        for pid in sorted(left):
            KillPid(pid)
        return sorted(left)

    def StopAllOrFail(self) -> None:
        """StopAll, failing if any process survived daemon-util stop-all.

        Raises:
          AssertionError: naming the pids that had to be killed.
        """
        left = self.StopAll()
        if left:
            raise AssertionError(f"processes left after daemon-util stop-all: {left}")


@contextlib.contextmanager
def RunningCluster(base: pathlib.Path, count: int = 1,
                   prefix: str | None = None) -> Iterator[MasterCluster]:
    """vcluster-setup, `gnt-cluster init` through node1/cmd, and StopAll.

    On leaving, every process is stopped by pid; if the body succeeded, a
    process that `daemon-util stop-all` did not stop fails the caller.

    Raises:
      ClusterSetupError: set-up or init failed (everything started is
        stopped first).
      AssertionError: a process survived daemon-util stop-all.
    """
    vc = MasterCluster.VclusterSetup(base, count=count, prefix=prefix)
    body_ok = False
    try:
        vc.InitWithCli()
        yield vc
        body_ok = True
    finally:
        left = vc.StopAll()
    if body_ok and left:
        raise AssertionError(f"processes left after daemon-util stop-all: {left}")
