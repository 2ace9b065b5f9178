"""Logical units for testing the cluster: LUTestDelay, LUTestJqueue.

Mirrors Ganeti's lib/cmdlib/test.py (gnt-debug delay, the job queue test
LU of qa/ and test/py/).
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from typing import Any

from ganeti import errors, locking
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.common import GetWantedNodes
from ganeti.opcodes_base import ELOG_DELAY_TEST, ELOG_JQUEUE_TEST, ELOG_MESSAGE

logger = logging.getLogger(__name__)

# Job queue test notifications (Ganeti's constants.JQT_*).
JQT_MSGPREFIX = "TESTMSG="
JQT_EXPANDNAMES = "expandnames"
JQT_EXEC = "exec"
JQT_LOGMSG = "logmsg"
JQT_STARTMSG = "startmsg"


class _TestSocket:
    """A listening Unix socket in a private temporary directory."""

    def __init__(self) -> None:
        self._tmpdir = tempfile.mkdtemp(prefix="ganeti-test-")
        self.path = f"{self._tmpdir}/sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.bind(self.path)
            self.sock.listen(1)
        except OSError:
            self.Destroy()
            raise

    def Destroy(self) -> None:
        """Close the socket and remove its directory (an accepted
        connection stays usable)."""
        try:
            self.sock.close()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)


class LUTestDelay(NoHooksLU):
    """Sleep on the master and/or on nodes (gnt-debug delay).

    on_master sleeps in this process (or, if interruptible, waits on a Unix
    socket whose path is sent as a "delay-test" log entry: connecting and
    sending a byte ends the wait early); on_nodes runs the test_delay RPC
    on those nodes in parallel. Unless no_locks, the target nodes (and the
    master with on_master) are locked exclusively. repeat=N runs the delay
    N times, logging "Test delay iteration i/N-1"; 0 runs it once.
    """

    REQ_BGL = False

    def CheckArguments(self) -> None:
        """Raises OpPrereqError unless duration > 0."""
        if self.op.duration <= 0:
            # No error code, as Ganeti: the CLI then prints only the message
            # (samples/gnt-debug-delay-zero.txt).
            raise errors.OpPrereqError("Duration must be greater than zero")

    def ExpandNames(self) -> None:
        """Expand on_nodes to UUIDs and lock the target nodes."""
        self.needed_locks = {}
        node_uuids: list[str] = []
        if self.op.on_nodes:
            node_uuids, self.op.on_nodes = GetWantedNodes(self, self.op.on_nodes)
        self.op.on_node_uuids = node_uuids
        if self.op.no_locks:
            return
        wanted = list(node_uuids)
        master_uuid = self.cfg.GetMasterNode()
        if self.op.on_master and master_uuid not in wanted:
            wanted.append(master_uuid)
        if wanted:
            self.needed_locks[locking.LEVEL_NODE] = wanted

    def _InterruptibleDelay(self) -> bool:
        """Wait on a fresh socket; return True if a client interrupted."""
        test_sock = _TestSocket()
        start = time.monotonic()
        try:
            self.Log(ELOG_DELAY_TEST, (test_sock.path,))
            test_sock.sock.settimeout(self.op.duration)
            try:
                conn, _ = test_sock.sock.accept()
            except TimeoutError:
                return False
        finally:
            test_sock.Destroy()
        with conn:
            time_to_go = max(0.0, self.op.duration - (time.monotonic() - start))
            self.Log(ELOG_MESSAGE,
                     f"Received connection, time to go is {int(time_to_go)}")
            conn.settimeout(time_to_go)
            try:
                conn.recv(1)
            except TimeoutError:
                return False
        self.Log(ELOG_MESSAGE, "Interrupted, time spent waiting:"
                 f" {int(time.monotonic() - start)}")
        return True

    def _NodesDelay(self) -> None:
        """Run test_delay on the target nodes in parallel.

        Raises:
          errors.OpExecError: a node failed or could not be reached.
        """
        result = self.rpc.call_test_delay(self.op.on_node_uuids, self.op.duration)
        for node_uuid in self.op.on_node_uuids:
            result[node_uuid].Raise(
                f"Failure during rpc call to node {self.cfg.GetNodeName(node_uuid)}")

    def _TestDelay(self) -> bool:
        """One delay; True if it was interrupted."""
        if self.op.on_master:
            if self.op.interruptible:
                if self._InterruptibleDelay():
                    return True
            else:
                time.sleep(self.op.duration)
        if self.op.on_node_uuids:
            self._NodesDelay()
        return False

    def Exec(self, feedback_fn: Callable[..., None]) -> None:
        """Run the delay once or op.repeat times (stopping if interrupted)."""
        if self.op.repeat == 0:
            self._TestDelay()
            return
        top_value = self.op.repeat - 1
        for i in range(self.op.repeat):
            self.LogInfo("Test delay iteration %d/%d", i, top_value)
            if self._TestDelay():
                break


class LUTestJqueue(NoHooksLU):
    """Exercise the job queue (Ganeti's test LU for jqueue tests).

    notify_waitlock / notify_exec: in ExpandNames / Exec, open a Unix socket,
    send its path as a "jqueue-test" log entry (sockname, test, arg) and
    wait for a client to connect and then send a byte or close.
    log_messages: send each as feedback "TESTMSG=<msg>" with notifications.
    fail: end with OpExecError. Returns True.
    """

    REQ_BGL = False

    # Shorter than WaitForJobChange's default timeout, so a client notices.
    _CLIENT_CONNECT_TIMEOUT = 20.0
    _CLIENT_CONFIRM_TIMEOUT = 60.0

    def _NotifyUsingSocket(self, send_fn: Callable[[str], None],
                           errcls: type[errors.GenericError]) -> None:
        """Open a socket, announce it with send_fn and wait for a client.

        Raises:
          errcls: the client did not connect or confirm in time.
        """
        test_sock = _TestSocket()
        try:
            send_fn(test_sock.path)
            test_sock.sock.settimeout(self._CLIENT_CONNECT_TIMEOUT)
            try:
                conn, _ = test_sock.sock.accept()
            except OSError as err:
                raise errcls(f"Client didn't connect in time ({err})") from err
        finally:
            test_sock.Destroy()
        with conn:
            try:
                conn.settimeout(self._CLIENT_CONFIRM_TIMEOUT)
                conn.recv(1)
            except OSError as err:
                raise errcls(
                    f"Client failed to confirm notification ({err})") from err

    def _Notify(self, prereq: bool, test: str, arg: Any) -> None:
        errcls = errors.OpPrereqError if prereq else errors.OpExecError

        def _Send(sockname: str) -> None:
            self.Log(ELOG_JQUEUE_TEST, (sockname, test, arg))

        self._NotifyUsingSocket(_Send, errcls)

    def CheckArguments(self) -> None:
        self.checkargs_calls = getattr(self, "checkargs_calls", 0) + 1
        self.expandnames_calls = 0

    def ExpandNames(self) -> None:
        """Lock the master node (just to take a lock).

        Raises:
          errors.ProgrammerError: CheckArguments was not called.
        """
        if getattr(self, "checkargs_calls", 0) < 1:
            raise errors.ProgrammerError("CheckArguments was not called")
        self.expandnames_calls += 1
        if self.op.notify_waitlock:
            self._Notify(True, JQT_EXPANDNAMES, None)
        self.LogInfo("Expanding names")
        self.needed_locks = {locking.LEVEL_NODE: [self.cfg.GetMasterNode()]}

    def Exec(self, feedback_fn: Callable[..., None]) -> bool:
        """Send the notifications and messages; fail if asked to.

        Raises:
          errors.OpExecError: op.fail was set, or a client did not answer.
        """
        if self.expandnames_calls < 1:
            raise errors.ProgrammerError("ExpandNames was not called")
        if self.op.notify_exec:
            self._Notify(False, JQT_EXEC, None)
        self.LogInfo("Executing")
        if self.op.log_messages:
            self._Notify(False, JQT_STARTMSG, len(self.op.log_messages))
            for idx, msg in enumerate(self.op.log_messages):
                self.LogInfo("Sending log message %s", idx + 1)
                feedback_fn(JQT_MSGPREFIX + msg)
                self._Notify(False, JQT_LOGMSG, idx + 1)
        if self.op.fail:
            raise errors.OpExecError("Opcode failure was requested")
        return True
