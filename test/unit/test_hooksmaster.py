"""The hooks master (ganeti/hooksmaster.py): environment, phases, verdicts."""

import itertools
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.cmdlib import CmdlibKit  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import constants, errors, hooksmaster, pathutils  # noqa: E402

PRE, POST = constants.HOOKS_PHASE_PRE, constants.HOOKS_PHASE_POST
FAIL, OK, SKIP = constants.HKR_FAIL, constants.HKR_SUCCESS, constants.HKR_SKIP


class _Runner:
    """Records hooks executions and answers {node: (fail, offline, results)}."""

    def __init__(self, answers=None):
        self.calls = []
        self.answers = answers or {}

    def __call__(self, nodes, hpath, phase, env):
        self.calls.append((list(nodes), hpath, phase, env))
        return {node: self.answers.get(node, (None, False, [])) for node in nodes}


def _Master(runner, env=None, nodes=(["n1"], ["n1", "n2"]), htype="INSTANCE",
            post_env=None, prepare=None, hpath="instance-start"):
    logged = []
    envs = itertools.chain([env or {}], itertools.repeat(post_env or env or {}))
    master = hooksmaster.HooksMaster(
        "OP_INSTANCE_STARTUP", hpath, nodes, runner, None,
        lambda: next(envs), prepare,
        lambda msg, *args: logged.append(msg % args if args else msg),
        htype, "cluster.example.com", "n1.example.com")
    return master, logged


def testPreEnvironment():
    runner = _Runner()
    master, _ = _Master(runner, env={"INSTANCE_NAME": "inst1", "FORCE": False})
    master.RunPhase(PRE)
    ((nodes, hpath, phase, env),) = runner.calls
    assert (nodes, hpath, phase) == (["n1"], "instance-start", "pre")
    assert env == {
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
        "GANETI_HOOKS_VERSION": "2",
        "GANETI_HOOKS_PHASE": "pre",
        "GANETI_HOOKS_PATH": "instance-start",
        "GANETI_OP_CODE": "OP_INSTANCE_STARTUP",
        "GANETI_OBJECT_TYPE": "INSTANCE",
        "GANETI_CLUSTER": "cluster.example.com",
        "GANETI_MASTER": "n1.example.com",
        "GANETI_DATA_DIR": pathutils.DATA_DIR,
        "GANETI_INSTANCE_NAME": "inst1",
        "GANETI_FORCE": "False",
    }


def testPostEnvironmentHasPostCopies():
    runner = _Runner()
    master, _ = _Master(runner, env={"INSTANCE_STATUS": "down"},
                        post_env={"INSTANCE_STATUS": "up"})
    master.RunPhase(POST)
    ((nodes, _, phase, env),) = runner.calls
    assert (nodes, phase) == (["n1", "n2"], "post")
    assert env["GANETI_HOOKS_PHASE"] == "post"
    assert env["GANETI_INSTANCE_STATUS"] == "down"
    assert env["GANETI_POST_INSTANCE_STATUS"] == "up"


def testNoObjectTypeWithoutHtype():
    runner = _Runner()
    master, _ = _Master(runner, htype=None)
    master.RunPhase(PRE)
    assert "GANETI_OBJECT_TYPE" not in runner.calls[0][3]


def testPrefixedLuKeysAreRejected():
    with pytest.raises(errors.ProgrammerError, match="GANETI_"):
        _Master(_Runner(), env={"GANETI_FOO": "1"})


def testPreFailureAborts():
    runner = _Runner({"n1": (None, False, [
        ["instance-start-pre.d/00-ok", OK, ""],
        ["instance-start-pre.d/10-no", FAIL, "refused"],
        ["instance-start-pre.d/20-skip", SKIP, ""]])})
    master, _ = _Master(runner)
    with pytest.raises(errors.HooksAbort) as exc:
        master.RunPhase(PRE)
    assert exc.value.args == ([["n1", "instance-start-pre.d/10-no", "refused"]],)


def testUnreachableAndOfflineNodesDoNotAbort():
    runner = _Runner({"n1": ("Connection refused", False, None),
                      "n2": ("Node is marked offline", True, None)})
    master, logged = _Master(runner, nodes=(["n1", "n2"], []))
    assert master.RunPhase(PRE) is not None
    assert logged == ["Communication failure to node n1: Connection refused"]


def testEmptyAnswerInPrePhaseIsHooksFailure():
    master, _ = _Master(lambda *args: {})
    with pytest.raises(errors.HooksFailure, match="Communication Failure"):
        master.RunPhase(PRE)


def testPostFailureIsOnlyLogged():
    runner = _Runner({"n2": (None, False,
                             [["instance-start-post.d/x", FAIL, ""]])})
    master, logged = _Master(runner)
    assert master.RunPhase(POST) is not None
    assert logged == ["On n2 script instance-start-post.d/x failed, output:"
                      " (no output)"]


def testNoNodesRunsNothing():
    runner = _Runner()
    master, _ = _Master(runner, nodes=([], []))
    assert master.RunPhase(PRE) is None
    assert master.RunPhase(POST) is None
    assert runner.calls == []


def testPreparePostNodesAndExplicitNodes():
    runner = _Runner()
    master, _ = _Master(runner, prepare=lambda nodes: nodes + ["n3"])
    master.RunPhase(POST)
    master.RunPhase(POST, node_names=["n9"])
    assert [call[0] for call in runner.calls] == [["n1", "n2", "n3"], ["n9"]]


def testConfigUpdateRunsOnMaster():
    runner = _Runner()
    master, _ = _Master(runner, env={"A": 1})
    master.RunConfigUpdate()
    ((nodes, hpath, phase, env),) = runner.calls
    assert (nodes, hpath, phase) == (["n1.example.com"], "config-update", "post")
    assert env["GANETI_A"] == "1"


def testWithoutHooksPathNothingRuns():
    runner = _Runner()
    master, _ = _Master(runner, hpath=None, nodes=(None, None))
    assert master.RunPhase(PRE) is None
    assert master.RunPhase(POST) is None
    assert runner.calls == []


class _FakeLu:
    """The attributes BuildFromLu reads."""

    HPATH = "node-modify"
    HTYPE = constants.HTYPE_NODE

    def __init__(self, cfg, nodes):
        self.cfg = cfg
        self._nodes = nodes
        self.warnings = []
        self.op = type("Op", (), {"OP_ID": "OP_NODE_SET_PARAMS"})()

    def BuildHooksEnv(self):
        return {"NODE_NAME": "node2.example.com"}

    def BuildHooksNodes(self):
        return self._nodes

    def PreparePostHookNodes(self, nodes):
        return nodes

    def LogWarning(self, msg, *args):
        self.warnings.append(msg % args)


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3", "node4"], offline=["node4"])
    yield kit
    kit.Close()


def testThroughRpcRunnerNamesNodesInAbort(kit):
    uuids = [kit.NodeUuid(name) for name in ["node1", "node2", "node3", "node4"]]
    kit.ScriptNode("node1", Ok([["node-modify-pre.d/a", OK, ""]]))
    kit.ScriptNode("node2", Ok([["node-modify-pre.d/a", FAIL, "no way"]]))
    # node3 has no script: unreachable; node4 is offline
    lu = _FakeLu(kit.cfg, (uuids, uuids))
    rpc = kit.context.GetRpc(kit.cfg)
    master = hooksmaster.HooksMaster.BuildFromLu(rpc.call_hooks_runner, lu)
    with pytest.raises(errors.HooksAbort) as exc:
        master.RunPhase(PRE)
    assert exc.value.args[0] == [["node2.example.com", "node-modify-pre.d/a",
                                  "no way"]]
    assert len(lu.warnings) == 1 and "node3.example.com" in lu.warnings[0]
    assert kit.RequestsTo("node4") == []
    (request,) = kit.RequestsTo("node2", "hooks_runner")
    hpath, phase, env = request.args
    assert (hpath, phase) == ("node-modify", "pre")
    assert env["GANETI_NODE_NAME"] == "node2.example.com"
    assert env["GANETI_OBJECT_TYPE"] == "NODE"
    assert env["GANETI_MASTER"] == "node1.example.com"


def testThroughRpcRunnerPostFailureWarns(kit):
    uuid = kit.NodeUuid("node2")
    kit.ScriptNode("node2", Fail("hooks dir unreadable"))
    lu = _FakeLu(kit.cfg, ([], [uuid]))
    rpc = kit.context.GetRpc(kit.cfg)
    master = hooksmaster.HooksMaster.BuildFromLu(rpc.call_hooks_runner, lu)
    master.RunPhase(POST)
    assert lu.warnings == ["Communication failure to node node2.example.com:"
                           " hooks dir unreadable"]
