"""Test kit for mcpu and the logical units (STYLE.md G5, T4).

Runs opcodes through the real pieces: a real ConfigWriter on a small
configuration (ganeti.config.MakeMinimalConfig plus extra nodes) in a
temporary directory, a real GanetiLockManager, and a real RpcRunner whose
transport is a FakeTransport scripting each node's noded answers (hosts are
the nodes' primary IPs):

    kit = CmdlibKit(tmp_path, nodes=["node2", "node3"], offline=["node3"])
    kit.ScriptNode("node2", Ok(None))
    result = kit.Run(opcodes.OpTestDelay(duration=0.01, on_nodes=["node2"]))
    kit.Close()

RecordingCbs records what the processor reports to the job queue. The
kit re-exports ganeti.opcodes as `opcodes` for the tests.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

_TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

from support.fake_transport import FakeTransport  # noqa: E402

from ganeti import config, locking, mcpu, objects, opcodes  # noqa: E402, F401
from ganeti.rpc import client as rpc_client  # noqa: E402
from ganeti.rpc.resolver import ConfigResolver  # noqa: E402

CLUSTER_NAME = "cluster.example.com"
DOMAIN = "example.com"
MASTER_NAME = f"node1.{DOMAIN}"
NODED_PORT = 41811


def NodeIp(index: int) -> str:
    """The primary IP of node number index (node1 is the master)."""
    return f"192.0.2.{index}"


class FakeContext:
    """What mcpu needs of masterd's GanetiContext: cfg, glm, jobqueue, GetRpc."""

    def __init__(self, cfg: config.ConfigWriter, glm: locking.GanetiLockManager,
                 transport: FakeTransport, jobqueue: Any = None) -> None:
        self.cfg = cfg
        self.glm = glm
        self.jobqueue = jobqueue
        self.transport = transport
        self._runner: rpc_client.RpcRunner | None = None
        self._lock = threading.Lock()

    def GetRpc(self, cfg: config.ConfigWriter) -> rpc_client.RpcRunner:
        """One runner for all processors, resolving through cfg."""
        with self._lock:
            if self._runner is None:
                self._runner = rpc_client.RpcRunner(
                    ConfigResolver(cfg, nslookup_fn=_NoLookup), self.transport,
                    port=NODED_PORT, cfg=cfg)
            return self._runner

    def Close(self) -> None:
        if self._runner is not None:
            self._runner.Close()


def _NoLookup(name: str) -> str:
    from ganeti import errors

    raise errors.ResolverError(name, 0, f"Unknown host {name} (test)")


class RecordingCbs(mcpu.OpExecCbBase):
    """Callbacks recording everything; optional hooks for tests."""

    def __init__(self, priority: int | None = None,
                 on_start: Any = None) -> None:
        self.feedback: list[tuple[Any, ...]] = []
        self.started = 0
        self.priority = priority
        self.submitted: list[list[Any]] = []
        self._on_start = on_start

    def NotifyStart(self) -> None:
        self.started += 1
        if self._on_start is not None:
            self._on_start()

    def Feedback(self, *args: Any) -> None:
        self.feedback.append(args)

    def CurrentPriority(self) -> int | None:
        return self.priority

    def SubmitManyJobs(self, jobs: list[list[Any]]) -> list[Any]:
        self.submitted.extend(jobs)
        return [[True, 100 + idx] for idx in range(len(jobs))]

    def Messages(self) -> list[str]:
        """The feedback texts (the message of (type, message) pairs too)."""
        return [str(args[-1]) for args in self.feedback]


class CmdlibKit:
    """A master with a few nodes, ready to run opcodes (see module doc)."""

    def __init__(self, tmp_path: Any, nodes: Iterable[str] = ("node2", "node3"),
                 offline: Iterable[str] = (), instances: Iterable[str] = ()) -> None:
        """Args:
          tmp_path: directory for config.data.
          nodes: short names of the nodes besides node1 (the master); node
            "nodeN" gets primary IP 192.0.2.N.
          offline: short names of nodes marked offline.
          instances: names of (diskless) instances, primary on the master.
        """
        data = config.MakeMinimalConfig(CLUSTER_NAME, MASTER_NAME, NodeIp(1))
        self.cfg = config.ConfigWriter(cfg_file=os.path.join(str(tmp_path),
                                                             "config.data"),
                                       offline=True, _data=data)
        offline = set(offline)
        for short in nodes:
            index = int(short.removeprefix("node"))
            self.cfg.AddNode(objects.Node(
                name=f"{short}.{DOMAIN}", primary_ip=NodeIp(index),
                secondary_ip=NodeIp(index), master_candidate=False,
                offline=short in offline, drained=False, master_capable=True,
                vm_capable=True, group=None))
        for name in instances:
            self.cfg.AddInstance(objects.Instance(
                name=name, primary_node=self.cfg.GetMasterNode(), os="debian",
                hypervisor="fake", admin_state="down", nics=[], disks=[],
                disks_active=False))
        self.glm = locking.GanetiLockManager(
            nodes=self.cfg.GetNodeList(), nodegroups=self.cfg.GetNodeGroupList(),
            instances=[inst.name for inst in
                       self.cfg.GetAllInstancesInfo().values()],
            networks=list(self.cfg.GetAllNetworksInfo()))
        self.transport = FakeTransport()
        self.context = FakeContext(self.cfg, self.glm, self.transport)

    def NodeUuid(self, short: str) -> str:
        return self.cfg.GetNodeInfoByName(f"{short}.{DOMAIN}").uuid

    def NodeIp(self, short: str) -> str:
        return self.cfg.GetNodeInfoByName(f"{short}.{DOMAIN}").primary_ip

    def ScriptNode(self, short: str, *replies: Any) -> CmdlibKit:
        """Append replies (see FakeTransport) to a node's script."""
        self.transport.Script(self.NodeIp(short), *replies)
        return self

    def RequestsTo(self, short: str, procedure: str | None = None) -> list[Any]:
        return [req for req in self.transport.RequestsTo(self.NodeIp(short))
                if procedure is None or req.procedure == procedure]

    def Processor(self, ec_id: Any = 1, enable_locks: bool = True) -> mcpu.Processor:
        return mcpu.Processor(self.context, ec_id, enable_locks=enable_locks)

    def Run(self, op: Any, cbs: mcpu.OpExecCbBase | None = None,
            timeout: float | None = None) -> Any:
        """Execute op in a fresh processor."""
        return self.Processor().ExecOpCode(op, cbs, timeout=timeout)

    def OwnedAnything(self) -> bool:
        """Whether the calling thread still holds any lock."""
        return any(self.glm.is_owned(level) for level in locking.LEVELS)

    def Close(self) -> None:
        self.context.Close()

