"""Tests of ganeti.server.distribute: the asynchronous, coalescing ssconf
distribution (config.data and the job files are covered in test_masterd)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from ganeti import ssconf
from ganeti.rpc.client import RpcResult
from ganeti.server import distribute


class _Runner:
    """Records write_ssconf_files calls; can hold them or fail nodes."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], dict[str, str]]] = []
        self.down: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def call_write_ssconf_files(self, nodes, values):
        self.entered.set()
        assert self.gate.wait(10)
        self.sent.append((sorted(nodes), dict(values)))
        return {node: (RpcResult(fail_msg="unreachable", node=node)
                       if node in self.down else RpcResult(data=[True, None]))
                for node in nodes}


class _Cfg:
    """The few ConfigWriter methods the distributor reads."""

    def __init__(self) -> None:
        self.values = {"cluster_name": "cluster", "node_list": "n1\nn2\nn3",
                       "instance_list": ""}
        self.nodes = {name: SimpleNamespace(uuid=name, name=name, offline=False,
                                            master_candidate=True)
                      for name in ("n1", "n2", "n3")}

    def GetSsconfValues(self):
        return dict(self.values)

    def GetMasterNode(self):
        return "n1"

    def GetAllNodesInfo(self):
        return self.nodes


@pytest.fixture
def kit(tmp_path, monkeypatch):
    monkeypatch.setattr(distribute, "RETRY_DELAYS", (0.05, 0.05))
    runner, cfg = _Runner(), _Cfg()
    store = ssconf.SimpleStore(cfg_location=str(tmp_path),
                               _lockfile=str(tmp_path / "ssconf.lock"))
    dist = distribute.ClusterDistributor(lambda: cfg, lambda: runner, store=store)
    dist.DistributeSsconf()  # the first values go out at once
    yield dist, runner, cfg, tmp_path
    runner.gate.set()
    assert dist.Shutdown(10)


def test_first_and_node_list_changes_are_sent_before_the_save_returns(kit):
    dist, runner, cfg, tmp_path = kit
    assert runner.sent == [(["n2", "n3"], cfg.values)]
    assert (tmp_path / "ssconf_node_list").read_text() == "n1\nn2\nn3\n"
    cfg.values["node_list"] = "n1\nn2"
    del cfg.nodes["n3"]
    dist.DistributeSsconf()
    assert runner.sent[-1] == (["n2"], cfg.values)
    assert (tmp_path / "ssconf_node_list").read_text() == "n1\nn2\n"


def test_instance_list_change_returns_at_once_and_newest_values_win(kit):
    dist, runner, cfg, tmp_path = kit
    runner.gate.clear()
    runner.entered.clear()
    cfg.values["instance_list"] = "i1"
    start = time.monotonic()
    dist.DistributeSsconf()
    assert runner.entered.wait(5)  # the sender is now held in the RPC
    for name in ("i1\ni2", "i1\ni2\ni3"):
        cfg.values["instance_list"] = name
        dist.DistributeSsconf()
    assert time.monotonic() - start < 1.0
    assert not dist.Flush(0.1)  # still held
    runner.gate.set()
    assert dist.Flush(5)
    lists = [values["instance_list"] for _, values in runner.sent[1:]]
    assert lists == ["i1", "i1\ni2\ni3"]  # "i1\ni2" was dropped
    assert (tmp_path / "ssconf_instance_list").read_text() == "i1\ni2\ni3\n"


def test_unchanged_values_are_not_sent_again(kit):
    dist, runner, _, _ = kit
    dist.DistributeSsconf()
    assert dist.Flush(5)
    assert len(runner.sent) == 1


def test_failed_node_is_retried_a_bounded_number_of_times(kit, caplog):
    dist, runner, cfg, _ = kit
    runner.down = {"n3"}
    cfg.values["instance_list"] = "i1"
    dist.DistributeSsconf()
    deadline = time.monotonic() + 5
    while len(runner.sent) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    # The first sending to both nodes, then one retry per delay to n3 only.
    assert [nodes for nodes, _ in runner.sent[1:]] == [["n2", "n3"], ["n3"], ["n3"]]
    assert "Giving up sending the ssconf files to node(s) n3" in caplog.text


def test_retry_stops_when_the_node_comes_back(kit):
    dist, runner, cfg, _ = kit
    runner.down = {"n3"}
    cfg.values["instance_list"] = "i1"
    dist.DistributeSsconf()
    assert dist.Flush(5)
    runner.down = set()
    time.sleep(0.4)
    assert [nodes for nodes, _ in runner.sent[1:]] == [["n2", "n3"], ["n3"]]


def test_shutdown_sends_pending_values_and_retries_at_once(kit, monkeypatch):
    dist, runner, cfg, _ = kit
    monkeypatch.setattr(distribute, "RETRY_DELAYS", (30.0,))
    runner.down = {"n2"}
    cfg.values["instance_list"] = "i1"
    dist.DistributeSsconf()
    start = time.monotonic()
    assert dist.Shutdown(5)
    assert time.monotonic() - start < 5
    assert [nodes for nodes, _ in runner.sent[1:]] == [["n2", "n3"], ["n2"]]


def test_offline_nodes_are_not_sent_to(kit):
    dist, runner, cfg, _ = kit
    cfg.nodes["n3"].offline = True
    cfg.values["node_list"] = "n1\nn2\nn3\n"
    dist.DistributeSsconf()
    assert runner.sent[-1][0] == ["n2"]
