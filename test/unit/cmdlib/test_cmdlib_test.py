"""LUTestDelay and LUTestJqueue (ganeti/cmdlib/test.py) through mcpu."""

import pathlib
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from support.cmdlib import CmdlibKit, RecordingCbs, opcodes  # noqa: E402
from support.fake_transport import Fail, Ok  # noqa: E402

from ganeti import errors  # noqa: E402


@pytest.fixture
def kit(tmp_path):
    kit = CmdlibKit(tmp_path, nodes=["node2", "node3", "node4"], offline=["node4"])
    yield kit
    kit.Close()


def _NodeLockModes(kit):
    return {row[0]: row[1] for row in kit.glm.QueryLocks(["name", "mode"])
            if row[0].startswith("node/")}


def testDelayOnMasterSleepsLocally(kit):
    start = time.monotonic()
    assert kit.Run(opcodes.OpTestDelay(duration=0.05)) is None
    assert time.monotonic() - start >= 0.05
    assert kit.transport.requests == []


def testDelayOnNodesUsesRpc(kit):
    seen_locks = []

    def _Reply(request):
        seen_locks.append(_NodeLockModes(kit))
        return Ok(None)

    kit.ScriptNode("node2", _Reply).ScriptNode("node3", _Reply)
    op = opcodes.OpTestDelay(duration=0.5, on_master=False,
                             on_nodes=["node2", "node3.example.com"],
                             no_locks=False)
    kit.Run(op)
    for short in ["node2", "node3"]:
        (request,) = kit.RequestsTo(short, "test_delay")
        assert request.args == [0.5]
    # the target nodes were locked exclusively, the master not at all
    for modes in seen_locks:
        assert modes[f"node/{kit.NodeUuid('node2')}"] == "exclusive"
        assert modes[f"node/{kit.NodeUuid('node3')}"] == "exclusive"
        assert modes[f"node/{kit.NodeUuid('node1')}"] is None
    assert op.on_nodes == ["node2.example.com", "node3.example.com"]
    assert op.on_node_uuids == [kit.NodeUuid("node2"), kit.NodeUuid("node3")]


def testNoLocksByDefault(kit):
    seen_locks = []
    kit.ScriptNode("node2", lambda request: (seen_locks.append(
        _NodeLockModes(kit)), Ok(None))[1])
    kit.Run(opcodes.OpTestDelay(duration=0.01, on_nodes=["node2"]))
    assert set(seen_locks[0].values()) == {None}


def testLocksMasterWithOnMaster(kit):
    seen = {}

    def _Start():
        seen.update(_NodeLockModes(kit))

    kit.Run(opcodes.OpTestDelay(duration=0.01, no_locks=False),
            RecordingCbs(on_start=_Start))
    assert seen[f"node/{kit.NodeUuid('node1')}"] == "exclusive"
    assert seen[f"node/{kit.NodeUuid('node2')}"] is None


def testNodeFailureNamesTheNode(kit):
    kit.ScriptNode("node2", Ok(None)).ScriptNode("node3", Fail("sleep broke"))
    with pytest.raises(errors.OpExecError,
                       match="Failure during rpc call to node node3.example.com:"
                             " sleep broke"):
        kit.Run(opcodes.OpTestDelay(duration=0.01, on_master=False,
                                    on_nodes=["node2", "node3"]))
    assert not kit.OwnedAnything()


def testOfflineNodeFails(kit):
    with pytest.raises(errors.OpExecError, match="offline"):
        kit.Run(opcodes.OpTestDelay(duration=0.01, on_master=False,
                                    on_nodes=["node4"]))
    assert kit.RequestsTo("node4") == []


def testUnknownNode(kit):
    with pytest.raises(errors.OpPrereqError, match="Node 'node9' not known"):
        kit.Run(opcodes.OpTestDelay(duration=0.01, on_nodes=["node9"]))


def testRepeat(kit):
    kit.ScriptNode("node2", Ok(None))
    cbs = RecordingCbs()
    kit.Run(opcodes.OpTestDelay(duration=0.01, on_master=False,
                                on_nodes=["node2"], repeat=3), cbs)
    assert len(kit.RequestsTo("node2", "test_delay")) == 3
    assert [msg for msg in cbs.Messages() if "iteration" in msg] == [
        " - INFO: Test delay iteration 0/2", " - INFO: Test delay iteration 1/2",
        " - INFO: Test delay iteration 2/2"]


def testDurationMustBePositive(kit):
    with pytest.raises(errors.OpPrereqError,
                       match="Duration must be greater than zero"):
        kit.Run(opcodes.OpTestDelay(duration=0.0))


class _ConnectingCbs(RecordingCbs):
    """Connects to the sockets announced by test LUs."""

    def __init__(self, log_type, send=b""):
        super().__init__()
        self._log_type = log_type
        self._send = send
        self.connected = 0

    def Feedback(self, *args):
        super().Feedback(*args)
        if len(args) == 2 and args[0] == self._log_type:
            path = args[1][0]
            threading.Thread(target=self._Connect, args=(path,)).start()

    def _Connect(self, path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            self.connected += 1
            if self._send:
                sock.sendall(self._send)
            else:
                time.sleep(0.01)


def testInterruptibleDelay(kit):
    cbs = _ConnectingCbs("delay-test", send=b"x")
    start = time.monotonic()
    kit.Run(opcodes.OpTestDelay(duration=30.0, interruptible=True, repeat=2), cbs)
    assert time.monotonic() - start < 10
    assert cbs.connected == 1  # interrupted in the first iteration
    assert any(msg.startswith("Interrupted") for msg in cbs.Messages())


def testInterruptibleDelayTimesOut(kit):
    cbs = RecordingCbs()
    kit.Run(opcodes.OpTestDelay(duration=0.05, interruptible=True), cbs)
    (path,) = [args[1][0] for args in cbs.feedback if args[0] == "delay-test"]
    assert not pathlib.Path(path).parent.exists()


def testJqueueSimple(kit):
    assert kit.Run(opcodes.OpTestJqueue()) is True


def testJqueueFail(kit):
    with pytest.raises(errors.OpExecError, match="Opcode failure was requested"):
        kit.Run(opcodes.OpTestJqueue(fail=True))
    assert not kit.OwnedAnything()


def testJqueueNotifications(kit):
    cbs = _ConnectingCbs("jqueue-test")
    assert kit.Run(opcodes.OpTestJqueue(notify_waitlock=True, notify_exec=True,
                                        log_messages=["a", "b"]), cbs) is True
    tests = [args[1][1:] for args in cbs.feedback if args[0] == "jqueue-test"]
    assert tests == [("expandnames", None), ("exec", None), ("startmsg", 2),
                     ("logmsg", 1), ("logmsg", 2)]
    assert ("TESTMSG=a",) in cbs.feedback and ("TESTMSG=b",) in cbs.feedback
