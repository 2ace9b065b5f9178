"""Base classes of the logical units: LogicalUnit, NoHooksLU, Tasklet.

Mirrors Ganeti's lib/cmdlib/base.py (2.x, the lock manager inside masterd).
One logical unit (LU) implements one opcode; mcpu.Processor drives it through
these phases, in this order (STYLE.md G2, section 5 rule 4):

1. CheckArguments(): syntax checks of the opcode parameters, no cluster
   access beyond reading the configuration; nothing is locked yet.
2. ExpandNames(): canonical names and `needed_locks`; runs with the Big
   Ganeti Lock held. It reads the configuration only and must never contact
   a node (no RPC): it runs before the LU holds its locks, so what it sees
   may still change, and a slow node would stall every job waiting behind
   the BGL.
3. DeclareLocks(level): called before each level in `needed_locks` is
   acquired, with the lower levels already held (e.g. lock the nodes of the
   instances just locked).
4. CheckPrereq(): with every lock held; read-only and idempotent. It may
   contact nodes. Raises OpPrereqError.
5. BuildHooksEnv()/BuildHooksNodes(): only for LUs with an HPATH; the pre
   hooks run after CheckPrereq.
6. Exec(feedback_fn): the only phase that changes the cluster (through
   self.cfg and self.rpc). Skipped in dry-run mode, which returns
   `dry_run_result` instead.

Node locks are taken by node UUID, instance locks by instance name, node
group and network locks by UUID (as Ganeti's Python LUs do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ganeti import errors, locking

logger = logging.getLogger(__name__)

#: recalculate_locks modes for _LockInstancesNodes (Ganeti's constants).
LOCKS_REPLACE = "replace"
LOCKS_APPEND = "append"

FeedbackFn = Callable[..., None]


class ResultWithJobs:
    """An Exec result asking mcpu to submit follow-up jobs.

    mcpu submits `jobs` (a list of lists of opcodes) through the job queue's
    SubmitManyJobs and returns `other` with the submission results added
    under the key "jobs".
    """

    def __init__(self, jobs: list[list[Any]], **kwargs: Any) -> None:
        """Args:
          jobs: one list of opcodes per job.
          kwargs: further values of the opcode result.
        """
        self.jobs = jobs
        self.other = kwargs


class LogicalUnit:
    """Base class of every logical unit; see the module docstring.

    Subclasses implement ExpandNames, CheckPrereq, Exec and, when HPATH is
    set, BuildHooksEnv and BuildHooksNodes; they set HPATH/HTYPE and
    REQ_BGL (True: hold the Big Ganeti Lock exclusively, excluding every
    other job).

    Attributes set for the subclasses: op, cfg, rpc, glm, context, proc,
    needed_locks (level -> names or locking.ALL_SET; None until
    ExpandNames), share_locks (level -> 0/1), opportunistic_locks (level ->
    bool), add_locks/remove_locks (level -> names to create/delete around
    Exec), recalculate_locks (level -> LOCKS_REPLACE/LOCKS_APPEND),
    dry_run_result, tasklets.
    """

    HPATH: str | None = None
    HTYPE: str | None = None
    REQ_BGL = True

    def __init__(self, processor: Any, op: Any, context: Any, cfg: Any,
                 rpc_runner: Any) -> None:
        """Set the LU up and run CheckArguments.

        Args:
          processor: the mcpu.Processor running the LU (logging, hooks).
          op: the validated opcode.
          context: the master's context (cfg, glm, jobqueue, GetRpc).
          cfg: the ConfigWriter.
          rpc_runner: the RpcRunner.

        Raises:
          errors.OpPrereqError: CheckArguments rejected the parameters.
        """
        self.proc = processor
        self.op = op
        self.context = context
        self.cfg = cfg
        self.rpc = rpc_runner
        self.glm = getattr(context, "glm", None)
        self.needed_locks: dict[int, Any] | None = None
        self.share_locks: dict[int, int] = dict.fromkeys(locking.LEVELS, 0)
        self.opportunistic_locks: dict[int, bool] = dict.fromkeys(
            locking.LEVELS, False)
        self.add_locks: dict[int, Any] = {}
        self.remove_locks: dict[int, Any] = {}
        self.recalculate_locks: dict[int, str] = {}
        self.dry_run_result: Any = None
        self.tasklets: list[Tasklet] | None = None
        self.Log = processor.Log
        self.Feedback = processor.Log
        self.LogWarning = processor.LogWarning
        self.LogInfo = processor.LogInfo
        self.LogStep = processor.LogStep
        if not isinstance(getattr(op, "debug_level", None), int):
            op.debug_level = 0
        self.CheckArguments()

    # --- locks -------------------------------------------------------------

    def owned_locks(self, level: int) -> set[str]:
        """The lock names this LU holds at a level (empty without locks)."""
        if self.glm is None:
            return set()
        return self.glm.list_owned(level)

    # --- the phases ----------------------------------------------------------

    def CheckArguments(self) -> None:
        """Check the opcode parameters' syntax (default: nothing).

        May normalise self.op. Runs before any lock is taken.

        Raises:
          errors.OpPrereqError: a parameter is invalid.
        """

    def ExpandNames(self) -> None:
        """Expand names and declare the locks in self.needed_locks.

        Reads the configuration only; never contacts a node. Rules: {} for
        no locks; omit a level not needed (DeclareLocks is then not called
        for it); an empty list for a level computed later in DeclareLocks;
        locking.ALL_SET for a whole level; nothing for the BGL level.
        The default, for REQ_BGL LUs only, needs no further locks.

        Raises:
          NotImplementedError: a concurrent (REQ_BGL = False) LU must
            declare its locks.
        """
        if not self.REQ_BGL:
            raise NotImplementedError(
                f"{type(self).__name__} must implement ExpandNames")
        self.needed_locks = {}

    def DeclareLocks(self, level: int) -> None:
        """Adjust self.needed_locks[level] just before it is acquired.

        Called only for levels present in needed_locks, with every lower
        level already held. Default: nothing.
        """

    def CheckPrereq(self) -> None:
        """Check the prerequisites with all locks held; no side effects.

        The default runs the tasklets' CheckPrereq.

        Raises:
          errors.OpPrereqError: a prerequisite does not hold.
        """
        for idx, tasklet in enumerate(self.tasklets or []):
            logger.debug("Checking prerequisites for tasklet %s/%s", idx + 1,
                         len(self.tasklets or []))
            tasklet.CheckPrereq()

    def Exec(self, feedback_fn: FeedbackFn) -> Any:
        """Do the change; the default runs the tasklets in order.

        Raises:
          errors.OpExecError: the change failed (partly done, see message).
          NotImplementedError: no Exec and no tasklets.
        """
        if self.tasklets is None:
            raise NotImplementedError(f"{type(self).__name__} has no Exec")
        for idx, tasklet in enumerate(self.tasklets):
            logger.debug("Executing tasklet %s/%s", idx + 1, len(self.tasklets))
            tasklet.Exec(feedback_fn)
        return None

    # --- hooks ---------------------------------------------------------------

    def BuildHooksEnv(self) -> dict[str, Any]:
        """The hooks environment without the "GANETI_" prefix (only if HPATH)."""
        raise NotImplementedError(f"{type(self).__name__} has no BuildHooksEnv")

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        """Node UUIDs to run the (pre, post) hooks on (only if HPATH)."""
        raise NotImplementedError(f"{type(self).__name__} has no BuildHooksNodes")

    def PreparePostHookNodes(self, post_hook_node_uuids: list[str]) -> list[str]:
        """Change the post-hook nodes after Exec (default: unchanged)."""
        return post_hook_node_uuids

    def HooksCallBack(self, phase: str, hook_results: Any,
                      feedback_fn: FeedbackFn, lu_result: Any) -> Any:
        """Look at a hooks phase's results; return the (new) LU result.

        Args:
          phase: constants.HOOKS_PHASE_PRE or HOOKS_PHASE_POST.
          hook_results: {node: RpcResult} of the hooks_runner call, or None.
          feedback_fn: to report to the user.
          lu_result: Exec's result (None in the pre phase).
        """
        return lu_result

    # --- helpers -------------------------------------------------------------

    def _ExpandAndLockInstance(self) -> None:
        """Expand self.op.instance_name and lock that instance.

        Raises:
          errors.OpPrereqError: unknown instance (ECODE_NOENT).
        """
        from ganeti.cmdlib.common import ExpandInstanceUuidAndName

        if self.needed_locks is None:
            self.needed_locks = {}
        elif locking.LEVEL_INSTANCE in self.needed_locks:
            raise errors.ProgrammerError(
                "_ExpandAndLockInstance called with instance-level locks set")
        self.op.instance_uuid, self.op.instance_name = ExpandInstanceUuidAndName(
            self.cfg, getattr(self.op, "instance_uuid", None),
            self.op.instance_name)
        self.needed_locks[locking.LEVEL_INSTANCE] = self.op.instance_name

    def _LockInstancesNodes(self, primary_only: bool = False,
                            level: int = locking.LEVEL_NODE) -> None:
        """Declare the nodes of the locked instances for locking.

        Call from DeclareLocks(level) after setting
        self.recalculate_locks[level]; replaces or extends
        self.needed_locks[level] with the primary (and, unless primary_only,
        secondary) node UUIDs of the instances held at LEVEL_INSTANCE.

        Raises:
          errors.ProgrammerError: recalculate_locks[level] is unset or has
            an unknown mode.
        """
        mode = self.recalculate_locks.get(level)
        if mode is None:
            raise errors.ProgrammerError(
                "_LockInstancesNodes called with no nodes to recalculate")
        wanted: list[str] = []
        for inst_name in sorted(self.owned_locks(locking.LEVEL_INSTANCE)):
            inst = (self.cfg.GetInstanceInfoByName(inst_name)
                    or self.cfg.GetInstanceInfo(inst_name))
            if inst is None:
                continue
            wanted.append(inst.primary_node)
            if not primary_only:
                wanted.extend(self.cfg.GetInstanceSecondaryNodes(inst.uuid))
        needed_locks = self.needed_locks if self.needed_locks is not None else {}
        if mode == LOCKS_REPLACE:
            needed_locks[level] = wanted
        elif mode == LOCKS_APPEND:
            needed_locks.setdefault(level, []).extend(wanted)
        else:
            raise errors.ProgrammerError(f"Unknown recalculation mode {mode!r}")
        self.needed_locks = needed_locks
        del self.recalculate_locks[level]


class NoHooksLU(LogicalUnit):
    """A logical unit that runs no hooks (HPATH is None)."""

    HPATH = None
    HTYPE = None

    def BuildHooksEnv(self) -> dict[str, Any]:
        raise errors.ProgrammerError("BuildHooksEnv called for a NoHooksLU")

    def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
        raise errors.ProgrammerError("BuildHooksNodes called for a NoHooksLU")

    def PreparePostHookNodes(self, post_hook_node_uuids: list[str]) -> list[str]:
        raise errors.ProgrammerError("PreparePostHookNodes called for a NoHooksLU")


class Tasklet:
    """A piece of an LU (CheckPrereq + Exec); locking stays with the LU."""

    def __init__(self, lu: LogicalUnit) -> None:
        self.lu = lu
        self.cfg = lu.cfg
        self.rpc = lu.rpc

    def CheckPrereq(self) -> None:
        """Check the tasklet's prerequisites; read-only (default: nothing)."""

    def Exec(self, feedback_fn: FeedbackFn) -> Any:
        """Do the tasklet's work.

        Raises:
          errors.OpExecError: the work failed.
        """
        raise NotImplementedError(f"{type(self).__name__} has no Exec")
