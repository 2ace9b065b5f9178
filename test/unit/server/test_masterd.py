"""Master daemon: voting, start-up checks, context, distribution of files."""

import os
import subprocess
import sys

import pytest

from ganeti import config, errors, locking, objects, ssconf
from ganeti.rpc.client import RpcResult
from ganeti.server import distribute, masterd

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
MASTERD = os.path.join(TOP, "daemons", "ganeti-masterd")


# --- voting ------------------------------------------------------------------


class _VotingRunner:
    """master_node_name answers, one script per round: name -> vote or None."""

    def __init__(self, *rounds):
        self.rounds = list(rounds)
        self.calls = 0

    def call_master_node_name(self, nodes):
        answers = self.rounds[min(self.calls, len(self.rounds) - 1)]
        self.calls += 1
        return {node: (RpcResult(fail_msg="Connection refused", node=node)
                       if answers.get(node) is None
                       else RpcResult(data=[True, answers[node]], node=node))
                for node in nodes}


def _Agree(runner, nodes, retries=3):
    sleeps, reports = [], []
    agreed = masterd.CheckAgreement(nodes, "n1", runner, retries=retries,
                                    interval=10, sleep_fn=sleeps.append,
                                    report_fn=reports.append)
    return agreed, sleeps, reports


def test_majority_of_nodes_naming_us_starts_the_daemon():
    runner = _VotingRunner({"n2": "n1", "n3": "n1"})
    assert _Agree(runner, ["n1", "n2", "n3"]) == (True, [], [])
    assert runner.calls == 1


def test_no_answers_retries_then_refuses_with_the_no_voting_hint():
    runner = _VotingRunner({})
    agreed, sleeps, reports = _Agree(runner, ["n1", "n2", "n3"], retries=3)
    assert not agreed
    assert runner.calls == 3 and sleeps == [10, 10]
    assert "2 node(s) did not answer" in reports[0]
    assert "--no-voting" in reports[1] and "--yes-do-it" in reports[1]


def test_tie_without_majority_is_refused():
    # 4 nodes: us, one for us, one for n2, one silent: 2 of 4, 3 needed.
    runner = _VotingRunner({"n2": "n1", "n3": "n2", "n4": None})
    agreed, _, reports = _Agree(runner, ["n1", "n2", "n3", "n4"], retries=2)
    assert not agreed
    assert "2 of 4 nodes" in reports[0] and "3 needed" in reports[0]


def test_other_master_is_refused_at_once():
    runner = _VotingRunner({"n2": "n2", "n3": "n2"})
    agreed, sleeps, reports = _Agree(runner, ["n1", "n2", "n3"])
    assert not agreed and sleeps == [] and runner.calls == 1
    assert "n2 (2)" in reports[0]


def test_nodes_coming_back_during_the_retries_are_counted():
    runner = _VotingRunner({}, {"n2": "n1", "n3": "n1"})
    agreed, sleeps, _ = _Agree(runner, ["n1", "n2", "n3"])
    assert agreed and sleeps == [10]


# --- the daemon's start-up checks (real program, virtual node) ---------------


def _NodeEnv(tmp_path, master, nodes=("node1.example.com",)):
    name = "node1.example.com"
    root = tmp_path / name
    data = root / "var/lib/ganeti"
    data.mkdir(parents=True)
    (data / "ssconf_master_node").write_text(f"{master}\n")
    (data / "ssconf_node_list").write_text("".join(f"{n}\n" for n in nodes))
    return dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=name,
                GANETI_HOSTS_FILE=str(tmp_path / "hosts"), PYTHONPATH=TOP)


def _RunMasterd(env, *args):
    return subprocess.run([sys.executable, MASTERD, "-f", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_no_voting_without_yes_do_it_is_refused(tmp_path):
    proc = _RunMasterd(_NodeEnv(tmp_path, "node1.example.com"), "--no-voting")
    assert proc.returncode == 1
    assert "--yes-do-it" in proc.stderr
    assert not (tmp_path / "node1.example.com/var/run/ganeti/socket").exists()


def test_non_master_node_refuses_to_start(tmp_path):
    proc = _RunMasterd(_NodeEnv(tmp_path, "node2.example.com"))
    assert proc.returncode == ssconf.EXIT_NOTMASTER
    assert "Not master" in proc.stderr


def test_arguments_are_refused(tmp_path):
    proc = _RunMasterd(_NodeEnv(tmp_path, "node1.example.com"), "extra")
    assert proc.returncode == 1 and "Usage" in proc.stderr


# --- a configuration of four nodes -------------------------------------------


def _MakeCfg(tmp_path, hook=None):
    """master n1; n2 candidate; n3 offline candidate; n4 regular."""
    data = config.MakeMinimalConfig("cluster.example.com", "n1", "192.0.2.1")
    group = next(iter(data.nodegroups))
    for name, ip, mc, offline in (("n2", "192.0.2.2", True, False),
                                  ("n3", "192.0.2.3", True, True),
                                  ("n4", "192.0.2.4", False, False)):
        node = objects.Node(name=name, primary_ip=ip, master_candidate=mc,
                            offline=offline, group=group, uuid=f"uuid-{name}")
        node.UpgradeConfig()
        data.nodes[node.uuid] = node
    return config.ConfigWriter(str(tmp_path / "config.data"), _save_hook=hook,
                               _data=data)


class _RecordingRunner:
    """Records every call_<name>(nodes, *args); fails the nodes in `down`."""

    def __init__(self, down=()):
        self.calls = []
        self.down = set(down)

    def __getattr__(self, name):
        if not name.startswith("call_"):
            raise AttributeError(name)

        def _Call(nodes, *args):
            self.calls.append((name[5:], list(nodes), args))
            return {node: (RpcResult(fail_msg="unreachable", node=node)
                           if node in self.down else RpcResult(data=[True, None]))
                    for node in nodes}
        return _Call

    def Names(self):
        return [name for name, _, _ in self.calls]


@pytest.fixture
def dist(tmp_path):
    runner = _RecordingRunner()
    holder = {}
    store = ssconf.SimpleStore(cfg_location=str(tmp_path),
                               _lockfile=str(tmp_path / "ssconf.lock"))
    distributor = distribute.ClusterDistributor(lambda: holder["cfg"],
                                                lambda: runner, store=store)
    holder["cfg"] = _MakeCfg(tmp_path, hook=distributor.OnConfigSave)
    yield holder["cfg"], distributor, runner, tmp_path
    # Pending background sends (and their retries) end with the test.
    distributor.Shutdown(10)


def test_save_copies_config_to_online_candidates_and_ssconf_to_online_nodes(dist):
    cfg, _, runner, tmp_path = dist
    cfg.Save()
    assert runner.calls[0] == ("upload_file", ["n2"],
                               (str(tmp_path / "config.data"),))
    name, nodes, (values,) = runner.calls[1]
    assert name == "write_ssconf_files" and sorted(nodes) == ["n2", "n4"]
    assert values["master_node"] == "n1"
    # The master writes its own ssconf files directly.
    assert (tmp_path / "ssconf_master_node").read_text() == "n1\n"


def test_ssconf_is_sent_again_only_when_it_changes(dist):
    cfg, _, runner, _ = dist
    cfg.Save()
    cfg.Save()
    assert runner.Names() == ["upload_file", "write_ssconf_files", "upload_file"]
    node = cfg.GetNodeInfoByName("n4")
    node.offline = True
    cfg.Update(node)
    name, nodes, (values,) = runner.calls[-1]
    assert name == "write_ssconf_files" and nodes == ["n2"]
    assert values["offline_nodes"] == "n3\nn4"


def test_failed_config_copy_is_reported_but_kept(dist):
    cfg, _, runner, tmp_path = dist
    runner.down = {"n2"}
    feedback = []
    cfg.Save(feedback_fn=feedback.append)
    assert len(feedback) == 1 and "n2: unreachable" in feedback[0]
    assert cfg.GetConfigSerialNo() == 2
    assert (tmp_path / "ssconf_master_node").exists()


def test_job_files_and_flags_go_to_the_other_online_candidates(dist):
    _, distributor, runner, _ = dist
    distributor.ReplicateJobFile("/q/job-1", b'{"id": 1}')
    distributor.ReplicateRename([("/q/job-1", "/q/archive/0/job-1")])
    distributor.ReplicateDrainFlag(True)
    assert runner.calls == [
        ("jobqueue_update", ["n2"], ("/q/job-1", '{"id": 1}')),
        ("jobqueue_rename", ["n2"], ([["/q/job-1", "/q/archive/0/job-1"]],)),
        ("jobqueue_set_drain_flag", ["n2"], (True,)),
    ]


def test_watcher_pause_goes_to_every_node_and_failures_are_named(dist):
    _, distributor, runner, _ = dist
    distributor.SetWatcherPause(1234.0)
    assert sorted(runner.calls[0][1]) == ["n1", "n2", "n3", "n4"]
    runner.down = {"n4"}
    with pytest.raises(errors.OpExecError, match="n4: unreachable"):
        distributor.SetWatcherPause(None)


# --- the context -------------------------------------------------------------


def _Context(tmp_path):
    cfg = _MakeCfg(tmp_path)
    glm = locking.GanetiLockManager(cfg.GetNodeList(), cfg.GetNodeGroupList(),
                                    [], [])
    built = []
    ctx = masterd.GanetiContext(cfg, glm, runner_fn=lambda c: built.append(c) or
                                _RecordingRunner())
    return ctx, built


def test_context_keeps_one_rpc_runner_per_config(tmp_path):
    ctx, built = _Context(tmp_path)
    runner = ctx.GetRpc(ctx.cfg)
    assert ctx.GetRpc(ctx.cfg) is runner
    assert built == [ctx.cfg]


def test_context_adds_and_removes_node_locks_with_the_node(tmp_path):
    ctx, _ = _Context(tmp_path)
    group = ctx.cfg.GetNodeGroupList()[0]
    node = objects.Node(name="n5", primary_ip="192.0.2.5", group=group,
                        uuid="uuid-n5")
    # As in an LU: the lock sets change only under the BGL.
    ctx.glm.acquire(locking.LEVEL_CLUSTER, [locking.BGL])
    try:
        ctx.AddNode(node)
        names = {row[0] for row in ctx.glm.QueryLocks(["name"])}
        assert {"node/uuid-n5", "node-res/uuid-n5"} <= names
        assert ctx.cfg.GetNodeInfoByName("n5") is node
        ctx.RemoveNode(node)
    finally:
        ctx.glm.release(locking.LEVEL_CLUSTER)
    names = {row[0] for row in ctx.glm.QueryLocks(["name"])}
    assert "node/uuid-n5" not in names
    assert ctx.cfg.GetNodeInfoByName("n5") is None


class _FakeQueue:
    def __init__(self, context, **kwargs):
        self.context = context
        self.kwargs = kwargs


def test_build_context_wires_the_queue_replication(tmp_path):
    cfg = _MakeCfg(tmp_path)
    cfg.Save()
    ctx = masterd.BuildContext(str(tmp_path / "config.data"), start_workers=False,
                               queue_cls=_FakeQueue,
                               runner_fn=lambda _: _RecordingRunner())
    queue = ctx.jobqueue
    assert queue.context is ctx and queue.kwargs["cfg"] is ctx.cfg
    assert queue.kwargs["start_workers"] is False
    assert queue.kwargs["replicate_fn"] == ctx.distributor.ReplicateJobFile
    assert queue.kwargs["replicate_rename_fn"] == ctx.distributor.ReplicateRename
    assert queue.kwargs["replicate_drain_fn"] == ctx.distributor.ReplicateDrainFlag
    assert sorted(ctx.cfg.GetNodeList()) == sorted(cfg.GetNodeList())
