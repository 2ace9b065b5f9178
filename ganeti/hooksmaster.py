"""The master side of hooks: build the environment, run a phase, judge it.

Mirrors Ganeti's lib/hooksmaster.py; the facts are in spec/hooks-and-os.md
section 1. For an LU with an HPATH, mcpu builds a HooksMaster after
CheckPrereq and runs:

* the pre phase on BuildHooksNodes()[0]: a script failure (HKR_FAIL) on a
  node that answered aborts the opcode with errors.HooksAbort listing
  [node, script, output]; a node that could not be reached or is offline
  is only reported (warning), as is an empty answer of the whole call
  only in the post phase (the pre phase raises HooksFailure then);
* the post phase on BuildHooksNodes()[1] (adjusted by
  PreparePostHookNodes) after a successful Exec: failures are only logged
  and reported as warnings;
* the "config-update" post hooks on the master after an opcode that
  changed the configuration.

Environment: PATH, GANETI_HOOKS_VERSION, GANETI_HOOKS_PHASE,
GANETI_HOOKS_PATH, GANETI_OP_CODE, GANETI_OBJECT_TYPE (if the LU has an
HTYPE), GANETI_CLUSTER, GANETI_MASTER, GANETI_DATA_DIR, the LU's
BuildHooksEnv keys prefixed with "GANETI_", and in the post phase the
same keys recomputed after Exec with the prefix "GANETI_POST_". Every value
is sent as a string (str(), as Ganeti: None becomes "None").

The hooks run on all target nodes in parallel: one hooks_runner RPC to all
of them (the RPC runner fans out).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import constants, errors, pathutils

logger = logging.getLogger(__name__)

#: One node's outcome as RunPhase judges it: (fail_msg, offline, results),
#: results being [[script, HKR_*, output], ...].
NodeHooksResult = tuple[str | None, bool, Any]
HooksExecutionFn = Callable[[list[str], str, str, dict[str, str]], Any]

_PREFIX_PRE = "GANETI_"
_PREFIX_POST = "GANETI_POST_"


def _RpcResultsToHooksResults(rpc_results: dict[str, Any]
                              ) -> dict[str, NodeHooksResult]:
    """Turn {node: RpcResult} into {node name: (fail_msg, offline, payload)}.

    Nodes are keyed by the name the RPC layer resolved (the call is made
    with node UUIDs), so that messages and HooksAbort name the node.
    """
    return {(getattr(res, "node", "") or node):
            (res.fail_msg, bool(res.offline), res.payload)
            for node, res in rpc_results.items()}


class HooksMaster:
    """Runs the hooks of one operation (see the module docstring)."""

    def __init__(self, opcode: str, hooks_path: str | None,
                 nodes: tuple[Iterable[str] | None, Iterable[str] | None],
                 hooks_execution_fn: HooksExecutionFn,
                 hooks_results_adapt_fn: Callable[[Any], dict[str, NodeHooksResult]]
                 | None,
                 build_env_fn: Callable[[], dict[str, Any]],
                 prepare_post_nodes_fn: Callable[[list[str]], list[str]] | None,
                 log_fn: Callable[..., None], htype: str | None = None,
                 cluster_name: str | None = None,
                 master_name: str | None = None) -> None:
        """Prepare the hooks; builds the pre-phase environment at once.

        Args:
          opcode: the OP_ID.
          hooks_path: the hooks directory prefix (e.g. "cluster-init"), or
            None for an operation without hooks.
          nodes: (pre nodes, post nodes); None for no hooks.
          hooks_execution_fn: called as fn(nodes, hpath, phase, env); e.g.
            RpcRunner.call_hooks_runner.
          hooks_results_adapt_fn: turns the execution result into
            {node: (fail_msg, offline, [[script, status, output], ...])};
            None if it already has that shape.
          build_env_fn: the LU's BuildHooksEnv.
          prepare_post_nodes_fn: may change the post nodes after Exec.
          log_fn: reports problems, called as log_fn(msg, *args).
          htype: the object type (constants.HTYPE_*), or None.
          cluster_name: the cluster's name.
          master_name: the master node's name.
        """
        self.opcode = opcode
        self.hooks_path = hooks_path
        self.hooks_execution_fn = hooks_execution_fn
        self.hooks_results_adapt_fn = hooks_results_adapt_fn
        self.build_env_fn = build_env_fn
        self.prepare_post_nodes_fn = prepare_post_nodes_fn
        self.log_fn = log_fn
        self.htype = htype
        self.cluster_name = cluster_name
        self.master_name = master_name
        self.pre_env = self.BuildEnv(constants.HOOKS_PHASE_PRE)
        self.pre_nodes, self.post_nodes = nodes

    def BuildEnv(self, phase: str) -> dict[str, Any]:
        """The phase's LU-specific variables, prefixed.

        The pre phase gives GANETI_<key>; the post phase recomputes the LU's
        environment as GANETI_POST_<key> and adds the pre-phase variables.

        Raises:
          errors.ProgrammerError: unknown phase, or the LU's keys are
            already prefixed.
        """
        if phase == constants.HOOKS_PHASE_PRE:
            prefix = _PREFIX_PRE
        elif phase == constants.HOOKS_PHASE_POST:
            prefix = _PREFIX_POST
        else:
            raise errors.ProgrammerError(f"Unknown hooks phase '{phase}'")
        env: dict[str, Any] = {}
        if self.hooks_path is not None:
            for key, value in (self.build_env_fn() or {}).items():
                if key.upper().startswith(_PREFIX_PRE):
                    raise errors.ProgrammerError(
                        f"Hooks environment key {key!r} must not carry the"
                        f" {_PREFIX_PRE} prefix")
                env[f"{prefix}{key}"] = value
        if phase == constants.HOOKS_PHASE_POST:
            env.update(self.pre_env)
        return env

    def _BaseEnv(self, hpath: str, phase: str) -> dict[str, Any]:
        env: dict[str, Any] = {
            "PATH": constants.HOOKS_PATH,
            "GANETI_HOOKS_VERSION": constants.HOOKS_VERSION,
            "GANETI_OP_CODE": self.opcode,
            "GANETI_DATA_DIR": pathutils.DATA_DIR,
            "GANETI_HOOKS_PHASE": phase,
            "GANETI_HOOKS_PATH": hpath,
        }
        if self.htype:
            env["GANETI_OBJECT_TYPE"] = self.htype
        if self.cluster_name is not None:
            env["GANETI_CLUSTER"] = self.cluster_name
        if self.master_name is not None:
            env["GANETI_MASTER"] = self.master_name
        return env

    def _RunWrapper(self, node_list: list[str], hpath: str, phase: str,
                    phase_env: dict[str, Any]) -> Any:
        """Add the common variables, stringify, and run the hooks.

        Raises:
          errors.ProgrammerError: the LU's variables clash with the common
            ones.
        """
        env = self._BaseEnv(hpath, phase)
        clash = set(env) & set(phase_env)
        if clash:
            raise errors.ProgrammerError(
                f"Hooks environment keys {sorted(clash)} are reserved")
        env.update(phase_env)
        env = {str(key): str(value) for key, value in env.items()}
        logger.debug("Running %s-%s hooks on %s", hpath, phase, node_list)
        return self.hooks_execution_fn(node_list, hpath, phase, env)

    def _PhaseNodes(self, phase: str, node_names: Iterable[str] | None
                    ) -> list[str]:
        if node_names is not None:
            return list(node_names)
        if phase == constants.HOOKS_PHASE_PRE:
            return sorted(self.pre_nodes or [])
        nodes = list(self.post_nodes or [])
        if self.post_nodes is not None and self.prepare_post_nodes_fn is not None:
            nodes = list(self.prepare_post_nodes_fn(sorted(nodes)))
        return sorted(set(nodes))

    def RunPhase(self, phase: str, node_names: Iterable[str] | None = None) -> Any:
        """Run one phase's scripts on its nodes and judge the results.

        Args:
          phase: constants.HOOKS_PHASE_PRE or HOOKS_PHASE_POST.
          node_names: run on these nodes instead of the phase's own.

        Returns:
          The hooks execution result ({node: RpcResult}), or None when
          there was no node to run on.

        Raises:
          errors.HooksFailure: pre phase, and no node answered at all.
          errors.HooksAbort: pre phase, and a script failed on a node; its
            args are [[node, script, output], ...].
          errors.ProgrammerError: unknown phase.
        """
        if phase == constants.HOOKS_PHASE_PRE:
            env = self.pre_env
        elif phase == constants.HOOKS_PHASE_POST:
            env = self.BuildEnv(phase)
        else:
            raise errors.ProgrammerError(f"Unknown hooks phase '{phase}'")
        nodes = self._PhaseNodes(phase, node_names)
        if not nodes or self.hooks_path is None:
            return None
        results = self._RunWrapper(nodes, self.hooks_path, phase, env)
        if not results:
            msg = "Communication Failure"
            if phase == constants.HOOKS_PHASE_PRE:
                raise errors.HooksFailure(msg)
            self.log_fn(msg)
            return results
        converted = results
        if self.hooks_results_adapt_fn is not None:
            converted = self.hooks_results_adapt_fn(results)
        failed = self._CollectFailures(phase, converted)
        if failed and phase == constants.HOOKS_PHASE_PRE:
            logger.info("Pre hooks of %s failed: %s", self.opcode, failed)
            raise errors.HooksAbort(failed)
        return results

    def _CollectFailures(self, phase: str,
                         converted: dict[str, NodeHooksResult]) -> list[list[Any]]:
        """Log unreachable nodes and post failures; return pre failures."""
        failed: list[list[Any]] = []
        for node_name, (fail_msg, offline, hooks_results) in sorted(
                converted.items()):
            if offline:
                continue
            if fail_msg:
                self.log_fn("Communication failure to node %s: %s", node_name,
                            fail_msg)
                continue
            if not isinstance(hooks_results, (list, tuple)):
                self.log_fn("Invalid hooks result from node %s: %r", node_name,
                            hooks_results)
                continue
            for entry in hooks_results:
                if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                    self.log_fn("Invalid hook result from node %s: %r", node_name,
                                entry)
                    continue
                script, status, output = entry
                if status != constants.HKR_FAIL:
                    continue
                if phase == constants.HOOKS_PHASE_PRE:
                    failed.append([node_name, script, output])
                else:
                    self.log_fn("On %s script %s failed, output: %s", node_name,
                                script, output or "(no output)")
        return failed

    def RunConfigUpdate(self) -> None:
        """Run the "config-update" post hooks on the master.

        Called after an operation changed the configuration; the results
        are not judged (as in Ganeti).
        """
        if self.master_name is None:
            return
        self._RunWrapper([self.master_name], constants.HOOKS_NAME_CFGUPDATE,
                         constants.HOOKS_PHASE_POST, self.pre_env)

    @classmethod
    def BuildFromLu(cls, hooks_execution_fn: HooksExecutionFn,
                    lu: Any) -> HooksMaster:
        """Build the hooks master of a logical unit.

        Calls the LU's BuildHooksNodes and (through the constructor)
        BuildHooksEnv when it has an HPATH.

        Raises:
          errors.ProgrammerError: BuildHooksNodes did not return a pair.
        """
        nodes: tuple[Iterable[str] | None, Iterable[str] | None] = (None, None)
        if lu.HPATH is not None:
            hooks_nodes = lu.BuildHooksNodes()
            if not isinstance(hooks_nodes, (list, tuple)) or len(hooks_nodes) != 2:
                raise errors.ProgrammerError(
                    "LogicalUnit.BuildHooksNodes must return a 2-tuple")
            nodes = (frozenset(hooks_nodes[0]), frozenset(hooks_nodes[1]))
        master_name = cluster_name = None
        if lu.cfg is not None:
            master_name = lu.cfg.GetMasterNodeName()
            cluster_name = lu.cfg.GetClusterName()
        return cls(lu.op.OP_ID, lu.HPATH, nodes, hooks_execution_fn,
                   _RpcResultsToHooksResults, lu.BuildHooksEnv,
                   lu.PreparePostHookNodes, lu.LogWarning, lu.HTYPE,
                   cluster_name, master_name)
