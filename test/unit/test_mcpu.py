"""The opcode processor (ganeti/mcpu.py) with real config, locks and RPC runner."""

import pathlib
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Ok  # noqa: E402

from ganeti import cmdlib, constants, errors, ht, locking, mcpu  # noqa: E402
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU, ResultWithJobs  # noqa: E402
from ganeti.opcodes_base import OpCode, Param  # noqa: E402

LEVEL_NAMES = locking.LEVEL_NAMES


class OpTestRecord(OpCode):
    """An opcode for the recording LU below (not part of Ganeti)."""

    OP_PARAMS = [
        Param("fail_in", None, ht.TMaybe(ht.TString), "Phase to fail in"),
        Param("result", None, ht.TAny, "What Exec returns"),
        Param("all_nodes", False, ht.TBool, "Lock all nodes"),
        Param("shared", False, ht.TBool, "Take the node locks shared"),
        Param("change_config", False, ht.TBool, "Update the cluster in Exec"),
    ]


class OpTestNoLu(OpCode):
    """An opcode no logical unit implements."""

    OP_PARAMS = []


class LUTestRecord(LogicalUnit):
    """Records its phases and the locks held in each."""

    HPATH = "test-record"
    HTYPE = constants.HTYPE_CLUSTER
    REQ_BGL = False
    log: list = []

    def _Record(self, phase):
        owned = {LEVEL_NAMES[level]: sorted(self.glm.list_owned(level))
                 for level in locking.LEVELS if self.glm.is_owned(level)}
        self.log.append((phase, owned))
        if self.op.fail_in == phase:
            cls = errors.OpExecError if phase == "Exec" else errors.OpPrereqError
            raise cls(f"Failing in {phase} as asked", errors.ECODE_INVAL)

    def CheckArguments(self):
        self._Record("CheckArguments")

    def ExpandNames(self):
        self._Record("ExpandNames")
        group = self.cfg.GetNodeGroupList()[0]
        self.needed_locks = {
            locking.LEVEL_NODEGROUP: [group],
            locking.LEVEL_NODE: (locking.ALL_SET if self.op.all_nodes else []),
        }
        self.share_locks[locking.LEVEL_NODEGROUP] = 1
        if self.op.shared:
            self.share_locks[locking.LEVEL_NODE] = 1

    def DeclareLocks(self, level):
        self._Record(f"DeclareLocks:{LEVEL_NAMES[level]}")
        if level == locking.LEVEL_NODE and not self.op.all_nodes:
            self.needed_locks[level] = [self.cfg.GetMasterNode()]

    def CheckPrereq(self):
        self._Record("CheckPrereq")
        self.dry_run_result = "dry-run result"

    def BuildHooksEnv(self):
        self._Record("BuildHooksEnv")
        return {"RECORD": "yes"}

    def BuildHooksNodes(self):
        self._Record("BuildHooksNodes")
        master = self.cfg.GetMasterNode()
        return [master], [master]

    def HooksCallBack(self, phase, hook_results, feedback_fn, lu_result):
        self._Record(f"HooksCallBack:{phase}")
        return lu_result

    def Exec(self, feedback_fn):
        self._Record("Exec")
        self.LogInfo("info %s", 1)
        self.LogWarning("careful", hint="a hint")
        self.LogStep(1, 2, "step one")
        feedback_fn("plain feedback")
        if self.op.change_config:
            self.cfg.Update(self.cfg.GetClusterInfo())
        if self.op.result == "jobs":
            return ResultWithJobs([[opcodes.OpTestDelay(duration=1.0)]], extra=1)
        return self.op.result


class LUTestBgl(NoHooksLU):
    """A REQ_BGL LU noting whether it holds the BGL exclusively."""

    REQ_BGL = True

    def Exec(self, feedback_fn):
        return self.glm.check_owned(locking.LEVEL_CLUSTER, locking.BGL, shared=0)


class OpTestBgl(OpCode):
    OP_PARAMS = []


@pytest.fixture
def kit(tmp_path, monkeypatch):
    monkeypatch.setattr(cmdlib, "LUTestRecord", LUTestRecord, raising=False)
    monkeypatch.setattr(cmdlib, "LUTestBgl", LUTestBgl, raising=False)
    LUTestRecord.log = []
    kit = CmdlibKit(tmp_path, nodes=["node2"])
    kit.ScriptNode("node1", Ok([]))
    yield kit
    kit.Close()


def _Phases():
    return [phase for phase, _ in LUTestRecord.log]


def _HeldIn(phase):
    return dict(LUTestRecord.log)[phase]


def testPhaseOrder(kit):
    cbs = RecordingCbs(on_start=lambda: LUTestRecord.log.append(("NotifyStart", {})))
    assert kit.Run(OpTestRecord(result="done"), cbs) == "done"
    assert _Phases() == [
        "CheckArguments", "ExpandNames", "DeclareLocks:nodegroup",
        "DeclareLocks:node", "NotifyStart", "CheckPrereq", "BuildHooksNodes",
        "BuildHooksEnv", "HooksCallBack:pre", "Exec", "BuildHooksEnv",
        "HooksCallBack:post"]
    assert cbs.started == 1


def testLocksTakenLevelByLevelAndReleased(kit):
    kit.Run(OpTestRecord())
    group = kit.cfg.GetNodeGroupList()[0]
    master = kit.cfg.GetMasterNode()
    assert _HeldIn("CheckArguments") == {}
    assert _HeldIn("ExpandNames") == {"cluster": ["BGL"]}
    assert _HeldIn("DeclareLocks:nodegroup") == {"cluster": ["BGL"]}
    assert _HeldIn("DeclareLocks:node") == {"cluster": ["BGL"],
                                            "nodegroup": [group]}
    assert _HeldIn("Exec") == {"cluster": ["BGL"], "nodegroup": [group],
                               "node": [master]}
    assert not kit.OwnedAnything()
    # nobody holds anything afterwards either
    assert all(row[1] is None for row in kit.glm.QueryLocks(["name", "mode"]))


def testAllSetAndSharedLocks(kit):
    seen = {}

    def _Check():
        seen["nodes"] = kit.glm.list_owned(locking.LEVEL_NODE)
        seen["shared"] = kit.glm.check_owned(locking.LEVEL_NODE,
                                             kit.cfg.GetNodeList(), shared=1)
        seen["bgl_shared"] = kit.glm.check_owned(locking.LEVEL_CLUSTER, "BGL",
                                                 shared=1)

    kit.Run(OpTestRecord(all_nodes=True, shared=True), RecordingCbs(on_start=_Check))
    assert seen == {"nodes": set(kit.cfg.GetNodeList()), "shared": True,
                    "bgl_shared": True}
    assert not kit.OwnedAnything()


def testReqBglTakesTheBglExclusively(kit):
    assert kit.Run(OpTestBgl()) is True
    assert not kit.OwnedAnything()


@pytest.mark.parametrize("phase", ["CheckArguments", "ExpandNames",
                                   "DeclareLocks:node", "CheckPrereq", "Exec"])
def testLocksReleasedOnFailure(kit, phase):
    with pytest.raises((errors.OpPrereqError, errors.OpExecError),
                       match=f"Failing in {phase}"):
        kit.Run(OpTestRecord(fail_in=phase))
    assert _Phases()[-1] == phase
    assert not kit.OwnedAnything()


def testLocksReleasedWhenNotifyStartRaises(kit):
    def _Cancel():
        raise errors.JobCanceled("Job canceled by request")

    with pytest.raises(errors.JobCanceled):
        kit.Run(OpTestRecord(), RecordingCbs(on_start=_Cancel))
    assert "CheckPrereq" not in _Phases()
    assert not kit.OwnedAnything()


def testDryRunSkipsExec(kit):
    cbs = RecordingCbs()
    assert kit.Run(OpTestRecord(dry_run=True), cbs) == "dry-run result"
    assert "Exec" not in _Phases()
    assert _Phases()[-1] == "HooksCallBack:pre"
    assert any("dry-run mode requested" in msg for msg in cbs.Messages())
    assert not kit.OwnedAnything()


def testWrongParameterTypeFailsBeforeAnyLock(kit):
    # Another job holds the BGL exclusively: a processor that locked first
    # would block here instead of failing at once.
    taken, done = threading.Event(), threading.Event()

    def _Holder():
        kit.glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=0)
        taken.set()
        done.wait(10)
        kit.glm.release(locking.LEVEL_CLUSTER)

    holder = threading.Thread(target=_Holder)
    holder.start()
    try:
        taken.wait(5)
        start = time.monotonic()
        with pytest.raises(errors.OpPrereqError, match="duration") as exc:
            kit.Run(opcodes.OpTestDelay(duration="ten"), timeout=5)
        assert exc.value.args[1] == errors.ECODE_INVAL
        with pytest.raises(errors.OpPrereqError, match="duration"):
            kit.Run(opcodes.OpTestDelay(), timeout=5)  # required, missing
        assert time.monotonic() - start < 2
    finally:
        done.set()
        holder.join()


def testUnknownParameterIsOpPrereqError():
    with pytest.raises(errors.OpPrereqError, match="bogus"):
        opcodes.OpTestDelay(duration=1.0, bogus=1)


def testUnknownOpcode(kit):
    with pytest.raises(errors.OpCodeUnknown, match="OP_TEST_NO_LU"):
        kit.Run(OpTestNoLu())
    assert not kit.OwnedAnything()


def testNonOpcodeIsProgrammerError(kit):
    with pytest.raises(errors.ProgrammerError):
        kit.Run({"OP_ID": "OP_TEST_DELAY"})


def _HoldInThread(kit, level, names, shared=0):
    """Hold locks in another thread; returns a release function."""
    taken, done = threading.Event(), threading.Event()

    def _Holder():
        kit.glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=1)
        if level != locking.LEVEL_CLUSTER:
            kit.glm.acquire(level, names, shared=shared)
        taken.set()
        done.wait(10)
        if level != locking.LEVEL_CLUSTER:
            kit.glm.release(level)
        kit.glm.release(locking.LEVEL_CLUSTER)

    thread = threading.Thread(target=_Holder)
    thread.start()
    assert taken.wait(5)

    def _Release():
        done.set()
        thread.join()

    return _Release


def testLockAcquireTimeoutOnHeldLock(kit):
    release = _HoldInThread(kit, locking.LEVEL_NODE, [kit.cfg.GetMasterNode()])
    try:
        start = time.monotonic()
        with pytest.raises(mcpu.LockAcquireTimeout):
            kit.Run(OpTestRecord(), timeout=0.2)
        assert time.monotonic() - start < 3
        assert "CheckPrereq" not in _Phases()
        assert not kit.OwnedAnything()
    finally:
        release()
    # once the lock is free the same opcode runs
    assert kit.Run(OpTestRecord(result=5)) == 5


def testLockAcquireTimeoutOnBgl(kit):
    taken, done = threading.Event(), threading.Event()

    def _Holder():
        kit.glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=0)
        taken.set()
        done.wait(10)
        kit.glm.release(locking.LEVEL_CLUSTER)

    thread = threading.Thread(target=_Holder)
    thread.start()
    try:
        assert taken.wait(5)
        with pytest.raises(mcpu.LockAcquireTimeout):
            kit.Run(OpTestRecord(), timeout=0.1)
        assert _Phases() == ["CheckArguments"]
    finally:
        done.set()
        thread.join()


def testFeedbackFormats(kit):
    cbs = RecordingCbs()
    kit.Run(OpTestRecord(), cbs)
    assert cbs.feedback[:5] == [
        (" - INFO: info 1",), (" - WARNING: careful",), ("      Hint: a hint",),
        ("STEP 1/2 step one",), ("plain feedback",)]


def testPreHookFailureAborts(kit):
    kit.transport.requests.clear()
    kit.transport._scripts.clear()
    kit.ScriptNode("node1", Ok([["test-record-pre.d/10-deny", constants.HKR_FAIL,
                                 "not today"]]))
    with pytest.raises(errors.HooksAbort) as exc:
        kit.Run(OpTestRecord())
    assert exc.value.args[0] == [["node1.example.com", "test-record-pre.d/10-deny",
                                  "not today"]]
    assert "Exec" not in _Phases()
    assert not kit.OwnedAnything()


def testPostHookFailureIsOnlyAWarning(kit):
    kit.transport._scripts.clear()
    kit.ScriptNode("node1", Ok([]),
                   Ok([["test-record-post.d/10-x", constants.HKR_FAIL, "oops"]]))
    cbs = RecordingCbs()
    assert kit.Run(OpTestRecord(result=7), cbs) == 7
    assert any("script test-record-post.d/10-x failed, output: oops" in msg
               for msg in cbs.Messages())


def testHooksEnvironmentSent(kit):
    kit.Run(OpTestRecord())
    requests = kit.RequestsTo("node1", "hooks_runner")
    assert [req.args[:2] for req in requests] == [["test-record", "pre"],
                                                  ["test-record", "post"]]
    pre_env, post_env = requests[0].args[2], requests[1].args[2]
    assert pre_env["GANETI_RECORD"] == "yes"
    assert pre_env["GANETI_OP_CODE"] == "OP_TEST_RECORD"
    assert post_env["GANETI_POST_RECORD"] == "yes"
    assert post_env["GANETI_HOOKS_PHASE"] == "post"


def testConfigUpdateHookAfterConfigChange(kit):
    kit.Run(OpTestRecord(change_config=True))
    hpaths = [req.args[0] for req in kit.RequestsTo("node1", "hooks_runner")]
    assert hpaths == ["test-record", "test-record", "config-update"]
    kit.transport.requests.clear()
    kit.Run(OpTestRecord())
    hpaths = [req.args[0] for req in kit.RequestsTo("node1", "hooks_runner")]
    assert "config-update" not in hpaths


def testResultWithJobsSubmitsFollowUpJobs(kit):
    cbs = RecordingCbs()
    result = kit.Run(OpTestRecord(result="jobs", priority=10), cbs)
    assert result == {"extra": 1, "jobs": [[True, 100]]}
    (job,) = cbs.submitted
    assert job[0].comment == "Submitted by OP_TEST_RECORD"


def testResultWithJobsNeedsCallbacks(kit):
    with pytest.raises(errors.ProgrammerError, match="can not submit jobs"):
        kit.Run(OpTestRecord(result="jobs"), None)
    assert not kit.OwnedAnything()


def testResultCheckedAgainstOpResult(kit, monkeypatch):
    monkeypatch.setattr(OpTestRecord, "OP_RESULT", ht.TInt)
    assert kit.Run(OpTestRecord(result=3)) == 3
    with pytest.raises(errors.OpResultError, match="does not match"):
        kit.Run(OpTestRecord(result="three"))


def testDisabledLocks(kit):
    proc = kit.Processor(enable_locks=False)
    with pytest.raises(errors.ProgrammerError, match="requires BGL"):
        proc.ExecOpCode(OpTestBgl(), None)
    with pytest.raises(errors.ProgrammerError, match="disabled locks"):
        proc.ExecOpCode(OpTestRecord(), None)
    assert not kit.OwnedAnything()


def testLockPriorityFromCallbacks(kit):
    # A job at a better priority waiting for the same node lock is served
    # before an earlier one at the default priority.
    release = _HoldInThread(kit, locking.LEVEL_NODE, [kit.cfg.GetMasterNode()])
    order = []

    def _Run(prio, tag):
        kit.Processor(ec_id=tag).ExecOpCode(
            OpTestRecord(result=tag),
            RecordingCbs(priority=prio, on_start=lambda: order.append(tag)))

    low = threading.Thread(target=_Run, args=(0, "normal"))
    high = threading.Thread(target=_Run, args=(-10, "high"))
    try:
        low.start()
        _WaitForPending(kit, 1)
        high.start()
        _WaitForPending(kit, 2)
    finally:
        release()
        for thread in (low, high):
            if thread.ident is not None:
                thread.join(10)
    assert order == ["high", "normal"]


def _WaitForPending(kit, count):
    node_lock = f"node/{kit.cfg.GetMasterNode()}"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = kit.glm.QueryLocks(["name", "pending"])
        pending = [row[1] for row in rows if row[0] == node_lock][0]
        if sum(len(owners) for _, owners in pending) >= count:
            return
        time.sleep(0.01)
    raise AssertionError("waiters did not queue")


class LUTestAddLock(NoHooksLU):
    """Adds an instance lock, as creating an instance does."""

    REQ_BGL = False

    def ExpandNames(self):
        self.needed_locks = {}
        self.add_locks[locking.LEVEL_INSTANCE] = "inst1.example.com"

    def Exec(self, feedback_fn):
        return self.glm.list_owned(locking.LEVEL_INSTANCE)


class OpTestAddLock(OpCode):
    OP_PARAMS = []


def testAddingAnExistingLockIsACleanError(kit, monkeypatch):
    # Two jobs creating the same object: the second gets OpPrereqError
    # (ECODE_NOTUNIQUE), and the first job's lock is left in place.
    monkeypatch.setattr(cmdlib, "LUTestAddLock", LUTestAddLock, raising=False)
    kit.context.glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=1)
    kit.context.glm.add(locking.LEVEL_INSTANCE, "inst1.example.com")
    kit.context.glm.release(locking.LEVEL_CLUSTER)
    with pytest.raises(errors.OpPrereqError) as err:
        kit.Run(OpTestAddLock())
    assert err.value.args[1] == errors.ECODE_NOTUNIQUE
    assert "inst1.example.com" in err.value.args[0]
    assert "inst1.example.com" in kit.context.glm._names(locking.LEVEL_INSTANCE)
