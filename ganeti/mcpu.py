"""The processor: runs one opcode through its logical unit.

Mirrors Ganeti's lib/mcpu.py (2.x, when masterd held the lock manager).
A job queue worker calls Processor.ExecOpCode(op, cbs, timeout) once per
opcode; the processor:

1. validates the opcode (op.Validate(True): a wrong type, a missing
   required or an unknown parameter is an OpPrereqError) and finds its LU
   by name (OpTestDelay -> cmdlib.LUTestDelay; errors.OpCodeUnknown if
   there is none) -- before any lock is taken;
2. builds the LU, which runs CheckArguments (syntax only; still nothing
   locked);
3. takes the Big Ganeti Lock, exclusively for REQ_BGL LUs and shared
   otherwise, then runs ExpandNames;
4. takes the LU's locks level by level in locking.LEVELS order, calling
   DeclareLocks(level) before each level present in needed_locks (ALL_SET,
   share_locks, opportunistic_locks and add_locks honoured);
5. calls cbs.NotifyStart() (the job becomes "running"; the queue may
   raise there to cancel it), then CheckPrereq, the pre hooks (HooksAbort
   ends the opcode), and -- unless op.dry_run, which returns
   lu.dry_run_result -- Exec, then the post hooks (failures are warnings);
6. releases every lock it took, in reverse order, on every exit path.

The ExpandNames step runs under the BGL (as in Ganeti) rather than before
it: a REQ_BGL LU such as a node removal holds the BGL exclusively, so names
expanded under a shared BGL cannot vanish before their locks are taken.

Timeouts: `timeout` is a budget for taking all locks (BGL included); when a
level cannot be had in the remaining time the processor releases
everything and raises LockAcquireTimeout. The job queue then retries with
the next timeout of locking.LockAttemptTimeoutStrategy (None: block).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, hooksmaster, locking
from ganeti.opcodes_base import COMMENT_ATTR, JOB_IDS_KEY, OPCODE_REASON

logger = logging.getLogger(__name__)

_OP_PREFIX = "Op"
_LU_PREFIX = "LU"



class LockAcquireTimeout(Exception):  # noqa: N818  (Ganeti's name)
    """The opcode's locks could not be acquired within the given timeout.

    Raised by Processor.ExecOpCode to the job queue, which retries the
    opcode with a longer timeout; nothing is held when it is raised and the
    LU's Exec has not run. It never reaches a client, hence it is not a
    GenericError.
    """


class OpExecCbBase:
    """Callbacks from the processor to whoever runs the opcode (the queue).

    Every method has a harmless default except SubmitManyJobs.
    """

    def NotifyStart(self) -> None:
        """Called once every lock is held, just before CheckPrereq/Exec.

        The job queue marks the opcode running here, and raises its cancel
        exception if the job was canceled meanwhile (locks are released).
        """

    def Feedback(self, *args: Any) -> None:
        """A log line for the job: (message) or (log type, message)."""

    def CurrentPriority(self) -> int | None:
        """The opcode's current priority (lower is served first), or None."""
        return None

    def SubmitManyJobs(self, jobs: list[list[Any]]) -> list[Any]:
        """Submit follow-up jobs; see the job queue's SubmitManyJobs.

        Raises:
          errors.ProgrammerError: this caller cannot submit jobs (an LU that
            returns follow-up jobs was run outside a job queue).
        """
        raise errors.ProgrammerError("This caller cannot submit jobs")


def _LUNameForOpName(opname: str) -> str:
    """The LU class name for an opcode class name (OpTestDelay -> LUTestDelay).

    Raises:
      errors.ProgrammerError: the name does not start with "Op".
    """
    if not opname.startswith(_OP_PREFIX):
        raise errors.ProgrammerError(
            f"Invalid opcode class name, not starting with {_OP_PREFIX}: {opname}")
    return _LU_PREFIX + opname[len(_OP_PREFIX):]


def _GetLUClass(op: Any) -> type:
    """Find the logical unit of an opcode by name.

    Raises:
      errors.OpCodeUnknown: no LU implements the opcode.
    """
    from ganeti import cmdlib
    from ganeti.cmdlib.base import LogicalUnit

    lu_name = _LUNameForOpName(type(op).__name__)
    lu_class = getattr(cmdlib, lu_name, None)
    if (getattr(op, "WITH_LU", True) is False or not isinstance(lu_class, type)
            or not issubclass(lu_class, LogicalUnit)):
        raise errors.OpCodeUnknown(
            f"Unknown opcode {getattr(op, 'OP_ID', type(op).__name__)}"
            f" (no logical unit {lu_name})")
    return lu_class


def _CheckOpCode(op: Any) -> None:
    """Check that op is an opcode object and valid, filling in defaults.

    Raises:
      errors.ProgrammerError: op is not an opcode object.
      errors.OpPrereqError: a parameter is missing, unknown or of the
        wrong type (ECODE_INVAL).
    """
    if not (hasattr(op, "OP_ID") and callable(getattr(op, "Validate", None))):
        raise errors.ProgrammerError(
            f"Non-opcode instance passed to ExecOpCode ({type(op).__name__})")
    op.Validate(True)


def _LockList(names: str | Any) -> list[str]:
    """A single lock name as a one-element list, any iterable as a list."""
    return [names] if isinstance(names, str) else list(names)


def _SetBaseOpParams(src: Any, defcomment: str, dst: Any) -> None:
    """Give a follow-up opcode the submitter's debug level, priority, reason."""
    if hasattr(src, "debug_level"):
        dst.debug_level = src.debug_level
    if getattr(dst, "priority", None) is None and hasattr(src, "priority"):
        dst.priority = src.priority
    if not getattr(dst, COMMENT_ATTR, None):
        setattr(dst, COMMENT_ATTR, defcomment)
    if not getattr(dst, OPCODE_REASON, None):
        setattr(dst, OPCODE_REASON, list(getattr(src, OPCODE_REASON, None) or []))


def _ProcessResult(submit_fn: Callable[[list[list[Any]]], list[Any]], op: Any,
                   result: Any) -> Any:
    """Submit the jobs of a ResultWithJobs; other results pass unchanged."""
    from ganeti.cmdlib.base import ResultWithJobs

    if not isinstance(result, ResultWithJobs):
        return result
    for job in result.jobs:
        for new_op in job:
            _SetBaseOpParams(op, f"Submitted by {op.OP_ID}", new_op)
    submitted = submit_fn(result.jobs)
    other = dict(result.other)
    if JOB_IDS_KEY in other:
        raise errors.ProgrammerError(
            f"Key '{JOB_IDS_KEY}' found in additional return values")
    other[JOB_IDS_KEY] = submitted
    return other


def _FailingSubmitManyJobs(_jobs: list[list[Any]]) -> list[Any]:
    raise errors.ProgrammerError("Opcodes processed without callbacks (e.g."
                                 " queries) can not submit jobs")


def _MakeTimeoutFn(timeout: float | None) -> Callable[[], float | None]:
    """A function giving the remaining lock budget (never negative)."""
    if timeout is None:
        return lambda: None
    deadline = time.monotonic() + timeout
    return lambda: max(0.0, deadline - time.monotonic())


class Processor:
    """Runs opcodes; one per job queue worker (see the module docstring)."""

    def __init__(self, context: Any, ec_id: Any, enable_locks: bool = True) -> None:
        """Args:
          context: the master's context: cfg (ConfigWriter), glm
            (GanetiLockManager), jobqueue, GetRpc(cfg) -> RpcRunner.
          ec_id: the execution context id (the job id), for reservations.
          enable_locks: False for callers that may not lock (an LU needing
            any lock then fails with ProgrammerError).
        """
        self.context = context
        self._ec_id = ec_id
        self._cbs: OpExecCbBase | None = None
        self.cfg = context.cfg
        self.rpc = context.GetRpc(self.cfg)
        self.hmclass = hooksmaster.HooksMaster
        self._enable_locks = enable_locks

    # --- locking ---------------------------------------------------------

    def _CheckLocksEnabled(self) -> None:
        if not self._enable_locks:
            raise errors.ProgrammerError("Attempted to use disabled locks")

    def _Priority(self) -> int | None:
        return None if self._cbs is None else self._cbs.CurrentPriority()

    def _Acquire(self, level: int, names: Any, shared: int, opportunistic: bool,
                 timeout: float | None) -> None:
        """Acquire locks at one level.

        Raises:
          LockAcquireTimeout: not acquired within timeout (nothing held at
            this level then).
        """
        levelname = locking.LEVEL_NAMES[level]
        if names is not locking.ALL_SET:
            names = _LockList(names)
            if not names:
                logger.debug("Acquiring no locks at level %s", levelname)
                return
        logger.debug("Acquiring %s locks %s (shared=%s, timeout=%s)", levelname,
                     "ALL" if names is locking.ALL_SET else names, shared, timeout)
        got = self.context.glm.acquire(level, names, timeout=timeout,
                                       shared=shared, priority=self._Priority(),
                                       opportunistic=opportunistic)
        if got is None:
            logger.info("Could not acquire %s locks within %s seconds",
                        levelname, timeout)
            raise LockAcquireTimeout(
                f"Could not acquire locks at level {levelname} within"
                f" {timeout} seconds")

    def _LockLevel(self, lu: Any, level: int,
                   calc_timeout: Callable[[], float | None]) -> bool:
        """Take (or add) the LU's locks at one level; True if it did anything.

        Raises:
          LockAcquireTimeout: see _Acquire.
          errors.ProgrammerError: locks disabled, or both adding and
            acquiring at one level.
        """
        adding = level in lu.add_locks
        acquiring = level in lu.needed_locks
        if not (adding or acquiring):
            return False
        if adding and acquiring:
            raise errors.ProgrammerError(
                "Can't declare locks to acquire when adding others")
        self._CheckLocksEnabled()
        lu.DeclareLocks(level)
        share = lu.share_locks.get(level, 0)
        if acquiring:
            self._Acquire(level, lu.needed_locks[level], share,
                          lu.opportunistic_locks.get(level, False), calc_timeout())
        else:
            names = _LockList(lu.add_locks[level])
            try:
                self.context.glm.add(level, names, acquired=1, shared=share)
            except errors.LockError as err:
                # As Ganeti: another job added (created) the same object first;
                # nothing of ours is held at this level, so nothing to undo.
                raise errors.OpPrereqError(
                    f"Couldn't add locks ({', '.join(names)}), most likely because"
                    " of another job who added them first",
                    errors.ECODE_NOTUNIQUE) from err
        return True

    def _ReleaseLevels(self, lu: Any, levels: list[int], failed: bool) -> None:
        """Drop the LU's locks at the given levels, highest level first.

        Removes the locks the LU asked to remove (remove_locks) and, when
        the opcode failed, the ones it added (add_locks).
        """
        glm = self.context.glm
        for level in reversed(levels):
            levelname = locking.LEVEL_NAMES[level]
            to_remove = lu.remove_locks.get(level) if lu is not None else None
            if failed and lu is not None and level in lu.add_locks:
                to_remove = lu.add_locks[level]
            if to_remove:
                logger.debug("Removing %s locks %s", levelname, to_remove)
                glm.remove(level, _LockList(to_remove))
            if glm.is_owned(level):
                logger.debug("Releasing locks at level %s", levelname)
                glm.release(level)

    # --- execution ---------------------------------------------------------

    def BuildHooksManager(self, lu: Any) -> hooksmaster.HooksMaster:
        """The hooks master of an LU, running hooks through this runner."""
        return self.hmclass.BuildFromLu(lu.rpc.call_hooks_runner, lu)

    def _RunPostHooks(self, lu: Any, hooks_master: hooksmaster.HooksMaster,
                      result: Any) -> Any:
        """Run the post hooks; a failure is only a warning."""
        try:
            h_results = hooks_master.RunPhase(constants.HOOKS_PHASE_POST)
        except errors.GenericError as err:
            self.LogWarning("Post hooks of %s failed: %s", lu.op.OP_ID, err)
            return result
        return lu.HooksCallBack(constants.HOOKS_PHASE_POST, h_results, self.Log,
                                result)

    def _RunConfigUpdateHooks(self, hooks_master: hooksmaster.HooksMaster) -> None:
        try:
            hooks_master.RunConfigUpdate()
        except errors.GenericError as err:
            logger.warning("Config-update hooks failed: %s", err)

    def _ExecLU(self, lu: Any) -> Any:
        """CheckPrereq, pre hooks, Exec (unless dry-run), post hooks.

        Raises:
          errors.HooksAbort: a pre hook failed.
          errors.OpPrereqError, errors.OpExecError: from the LU.
        """
        serial_no = self.cfg.GetConfigSerialNo()
        lu.CheckPrereq()
        hooks_master = self.BuildHooksManager(lu)
        h_results = hooks_master.RunPhase(constants.HOOKS_PHASE_PRE)
        lu.HooksCallBack(constants.HOOKS_PHASE_PRE, h_results, self.Log, None)
        if getattr(lu.op, "dry_run", False):
            # No Exec, no post hooks; the configuration is left alone.
            self.LogInfo("dry-run mode requested, not actually executing"
                         " the operation")
            return lu.dry_run_result
        submit_fn = (self._cbs.SubmitManyJobs if self._cbs is not None
                     else _FailingSubmitManyJobs)
        try:
            result = _ProcessResult(submit_fn, lu.op, lu.Exec(self.Log))
            result = self._RunPostHooks(lu, hooks_master, result)
        finally:
            if self.cfg.GetConfigSerialNo() != serial_no:
                self._RunConfigUpdateHooks(hooks_master)
        return result

    def _ExecWithAssertions(self, lu: Any) -> Any:
        """Run _ExecLU, turning an internal AssertionError into OpExecError."""
        try:
            return self._ExecLU(lu)
        except AssertionError as err:
            tb_lines = traceback.format_tb(sys.exc_info()[2])
            logger.exception("Detected AssertionError")
            raise errors.OpExecError(
                "Internal assertion error: please report this as a bug.\n"
                f"Error message: '{err}'; location:\n{tb_lines[-1]}") from err

    def _LockAndExecLU(self, lu_class: type, op: Any,
                       calc_timeout: Callable[[], float | None]) -> Any:
        """Build the LU, take the BGL and the LU's locks, and run it."""
        lu = lu_class(self, op, self.context, self.cfg, self.rpc)
        held: list[int] = []
        failed = True
        try:
            if self._enable_locks:
                self._Acquire(locking.LEVEL_CLUSTER, locking.BGL,
                              0 if lu_class.REQ_BGL else 1, False, calc_timeout())
                held.append(locking.LEVEL_CLUSTER)
            elif lu_class.REQ_BGL:
                raise errors.ProgrammerError(
                    f"Opcode '{op.OP_ID}' requires BGL, but locks are disabled")
            lu.ExpandNames()
            if lu.needed_locks is None:
                raise errors.ProgrammerError(
                    f"{lu_class.__name__}.ExpandNames did not set needed_locks")
            for level in locking.LEVELS:
                if level != locking.LEVEL_CLUSTER and self._LockLevel(
                        lu, level, calc_timeout):
                    held.append(level)
            if self._cbs is not None:
                self._cbs.NotifyStart()
            result = self._ExecWithAssertions(lu)
            failed = False
            return result
        finally:
            self._ReleaseLevels(lu, [lvl for lvl in held
                                     if lvl != locking.LEVEL_CLUSTER], failed)
            if locking.LEVEL_CLUSTER in held:
                self.context.glm.release(locking.LEVEL_CLUSTER)
            drop_fn = getattr(self.cfg, "DropECReservations", None)
            if self._ec_id is not None and drop_fn is not None:
                drop_fn(self._ec_id)

    def _CheckLUResult(self, op: Any, result: Any) -> None:
        """Check the result against the opcode's OP_RESULT.

        Raises:
          errors.OpResultError: mismatch (not raised in dry-run mode).
        """
        check = getattr(op, "OP_RESULT", None)
        if check is None or check(result):
            return
        logger.error("Expected opcode result matching %s, got %r", check, result)
        if not getattr(op, "dry_run", False):
            raise errors.OpResultError(
                f"Opcode result does not match {check}: {str(result)[:80]}")

    def ExecOpCode(self, op: Any, cbs: OpExecCbBase | None,
                   timeout: float | None = None) -> Any:
        """Execute one opcode; see the module docstring for the sequence.

        Args:
          op: the opcode object (ganeti.opcodes).
          cbs: the caller's callbacks (None: no feedback, no job submission).
          timeout: seconds to acquire all locks, None to block.

        Returns:
          The LU's result (lu.dry_run_result in dry-run mode).

        Raises:
          errors.OpPrereqError: invalid opcode or failed prerequisites.
          errors.OpCodeUnknown: no LU for the opcode.
          errors.HooksAbort, errors.HooksFailure: the pre hooks failed.
          errors.OpExecError: Exec failed.
          errors.OpResultError: the result does not match OP_RESULT.
          LockAcquireTimeout: the locks could not be acquired in time.
          whatever cbs.NotifyStart raises (job cancellation).
        """
        _CheckOpCode(op)
        lu_class = _GetLUClass(op)
        logger.info("Processing opcode %s", op.OP_ID)
        self._cbs = cbs
        try:
            result = self._LockAndExecLU(lu_class, op, _MakeTimeoutFn(timeout))
        finally:
            self._cbs = None
        self._CheckLUResult(op, result)
        logger.info("Opcode %s finished", op.OP_ID)
        return result

    # --- feedback ------------------------------------------------------------

    def Log(self, *args: Any) -> None:
        """Pass a feedback line to the caller's Feedback."""
        if self._cbs is not None:
            self._cbs.Feedback(*args)

    def LogStep(self, current: int, total: int, message: str) -> None:
        """Report progress "STEP current/total message"."""
        logger.debug("Step %d/%d %s", current, total, message)
        self.Log(f"STEP {current}/{total} {message}")

    def LogWarning(self, message: str, *args: Any, hint: str | None = None) -> None:
        """Log a warning and show it to the user, optionally with a hint.

        An empty message shows only the hint.
        """
        if args:
            message = message % args
        if message:
            logger.warning(message)
            self.Log(f" - WARNING: {message}")
        if hint:
            self.Log(f"      Hint: {hint}")

    def LogInfo(self, message: str, *args: Any) -> None:
        """Log an informational message and show it to the user."""
        if args:
            message = message % args
        logger.info(message)
        self.Log(f" - INFO: {message}")

    def GetECId(self) -> Any:
        """The execution context id.

        Raises:
          errors.ProgrammerError: none was set.
        """
        if not self._ec_id:
            raise errors.ProgrammerError(
                "Tried to use execution context id when not set")
        return self._ec_id
