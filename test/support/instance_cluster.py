"""A real 3-node virtual cluster ready for instances (fake hypervisor).

Built as an operator would: tools/vcluster-setup, `gnt-cluster init` on
node1 (diskless and file templates, routed NICs), node2 and node3 added with
`gnt-node add` over a real sshd per node. The OS definitions are
test/data/os (written from ganeti-os-interface(7) only), found through
GANETI_OS_SEARCH_PATH, which every daemon of the cluster inherits.

    with RunInstanceCluster(base) as cluster:   # stops everything by pid
        cluster.Ok(opcodes.OpInstanceCreate(...))

Shared by the instance, watcher and benchmark tests; subclass it to add
what a test needs.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Iterator
from typing import Any

from support import sshd as sshd_support
from support.cluster import MasterCluster, WaitJob

from ganeti import luxi, opcodes

TREE = pathlib.Path(__file__).resolve().parents[2]
OS_DIR = TREE / "test" / "data" / "os"
NODES = ("node1", "node2", "node3")
OS = "api20+default"
INIT_ARGS = ("--enabled-disk-templates=diskless,file", "-N", "mode=routed,link=main")


class InstanceCluster:
    """The virtual cluster, its sshds and LUXI access to the master."""

    def __init__(self, base: pathlib.Path) -> None:
        self.base = base
        (base / "vc").mkdir()
        self.vc = MasterCluster.VclusterSetup(base / "vc", count=len(NODES))
        self.key = sshd_support.ClientKey(base / "ssh-key")
        self.servers: list[Any] = []
        self.next_ip = 10

    def Start(self, init_args: tuple[str, ...] = INIT_ARGS) -> None:
        proc = self.vc.InitWithCli(list(init_args))
        assert proc.returncode == 0, proc.stderr
        for node in NODES[1:]:
            env = sshd_support.NodeEnv(self.vc.Root(node), node, self.vc.base / "hosts",
                                       GANETI_OS_SEARCH_PATH=str(OS_DIR),
                                       GANETI_NODED_PORT=str(self.vc.port))
            server = sshd_support.Sshd(self.base / f"sshd-{node}", self.vc.ips[node],
                                       self.key, node_env=env)
            self.servers.append(server)
            server.Start()
            proc = self.vc.Cmd(["gnt-node", "add", "--no-ssh-key-check",
                                "--node-parameters", f"ssh_port={server.port}",
                                node], timeout=180,
                               GANETI_SSH_KEY_FILE=str(self.key.path))
            assert proc.returncode == 0, proc.stderr
        self.vc.RecordDaemons()

    def Stop(self) -> list[int]:
        for server in self.servers:
            server.Stop()
        return self.vc.StopAll()

    def Client(self) -> luxi.Client:
        return luxi.Client(address=self.vc.Socket("master"))

    def Submit(self, *ops: Any, timeout: float = 120) -> tuple[str, list]:
        """Run one job; return its status and the opcodes' results."""
        with self.Client() as client:
            job_id = client.SubmitJob(list(ops))
            status = WaitJob(client, job_id, timeout=timeout)
            ((_, results),) = client.QueryJobs([job_id], ["status", "opresult"])
        return status, results

    def Ok(self, *ops: Any) -> list:
        status, results = self.Submit(*ops)
        assert status == "success", results
        return results

    def Query(self, fields: list[str], names: list[str] | None = None) -> list[list]:
        qfilter = None if not names else ["|"] + [["=", "name", n] for n in names]
        with self.Client() as client:
            result = client.Query("instance", fields, qfilter)
        return [[value for _, value in row] for row in result["data"]]

    def Status(self, name: str) -> str:
        ((status,),) = self.Query(["status"], [name])
        return status

    def Ip(self) -> str:
        self.next_ip += 1
        return f"192.0.2.{self.next_ip % 250}"

    def CreateOp(self, name: str, **kwargs: Any) -> opcodes.OpInstanceCreate:
        params = {"instance_name": name, "mode": "create", "disks": [],
                  "disk_template": "diskless", "nics": [{"ip": self.Ip()}],
                  "os_type": OS, "pnode": "node1", "name_check": False,
                  "ip_check": False}
        params.update(kwargs)
        if params.get("iallocator"):
            params.pop("pnode")
        return opcodes.OpInstanceCreate(**params)


@contextlib.contextmanager
def RunInstanceCluster(base: pathlib.Path, cls: type[InstanceCluster] = InstanceCluster
                       ) -> Iterator[Any]:
    """Start a cluster of class cls in base; stop it, and fail if a process
    of it survived daemon-util stop-all (only when the body succeeded)."""
    old = os.environ.get("GANETI_OS_SEARCH_PATH")
    # noded on node1 (started by gnt-cluster init) inherits the search path.
    os.environ["GANETI_OS_SEARCH_PATH"] = str(OS_DIR)
    cluster = cls(base)
    body_ok = False
    try:
        cluster.Start()
        yield cluster
        body_ok = True
    finally:
        left = cluster.Stop()
        if old is None:
            os.environ.pop("GANETI_OS_SEARCH_PATH", None)
        else:
            os.environ["GANETI_OS_SEARCH_PATH"] = old
    if body_ok:
        assert left == [], f"processes left after daemon-util stop-all: {left}"
