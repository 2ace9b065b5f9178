"""Node side of hooks: run the scripts of one hooks directory, run-parts style.

Layout and semantics follow spec/hooks-and-os.md section 1 and Ganeti's
backend.HooksRunner: the scripts of <HOOKS_BASE_DIR>/<hpath>-<phase>.d are
run by utils.process.RunParts (names matching EXT_PLUGIN_MASK, executable,
lexicographic order; every other visible entry is reported as skipped), each
with a cleared environment (PATH plus the variables the master sent), no
arguments, stdin /dev/null, cwd "/", stdout and stderr captured.

Unlike Ganeti, every script runs under a timeout (HOOKS_TIMEOUT by default):
a hung script is terminated with its whole process group and reported as
failed, so that one bad hook cannot block the RPC forever.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ganeti import constants, errors, pathutils, ssconf
from ganeti.backend import RPCFail, args
from ganeti.utils import process

logger = logging.getLogger(__name__)


def BuildHookEnv(env: Any) -> dict[str, str]:
    """Return the full environment of a hook: PATH plus the given variables.

    Values may be strings, numbers or booleans (converted with str) or None
    (left out). Names are not restricted to GANETI_*: as in Ganeti, the
    master builds the environment (and itself sends PATH), noded only
    refuses names and values the OS cannot carry.

    Raises:
      RPCFail: env is not a dict, or a name or value is unusable.
    """
    env = args.CheckDict(env, "argument 'env'")
    result = {"PATH": constants.HOOKS_PATH}
    for key, value in env.items():
        if not key or "=" in key or "\0" in key:
            raise RPCFail(f"Invalid hook environment variable name {key!r}")
        if value is None:
            continue
        if isinstance(value, (bool, int, float)):
            value = str(value)
        elif not isinstance(value, str) or "\0" in value:
            raise RPCFail(f"Invalid value for hook environment variable {key}:"
                          f" {value!r:.80}")
        result[key] = value
    return result


class HooksRunner:
    """Runs the hooks of one operation phase on this node (noded side)."""

    def __init__(self, hooks_base_dir: str | None = None,
                 timeout: float = constants.HOOKS_TIMEOUT) -> None:
        """Initialise the runner.

        Args:
          hooks_base_dir: overrides pathutils.HOOKS_BASE_DIR (read per run).
          timeout: seconds each script may run before it is killed.
        """
        self._base_dir = hooks_base_dir
        self._timeout = timeout

    def RunHooks(self, hpath: Any, phase: Any, env: Any) -> list[list[Any]]:
        """Run the scripts of <base>/<hpath>-<phase>.d.

        Args:
          hpath: the hooks path, e.g. "instance-start".
          phase: constants.HOOKS_PHASE_PRE or HOOKS_PHASE_POST.
          env: the GANETI_* variables (and PATH) built by the master.

        Returns:
          One ["<hpath>-<phase>.d/<script>", HKR_*, output] per entry, in
          order; an empty list if the directory does not exist.

        Raises:
          RPCFail: hpath, phase or env is invalid.
        """
        hpath = args.CheckStr(hpath, "hooks path", non_empty=True)
        if "/" in hpath or hpath.startswith("."):
            raise RPCFail(f"Invalid hooks path '{hpath}'")
        phase = args.CheckStr(phase, "hooks phase")
        if phase not in constants.HOOKS_PHASES:
            raise RPCFail(f"Unknown hooks phase '{phase}'")
        full_env = BuildHookEnv(env)
        subdir = f"{hpath}-{phase}.d"
        base_dir = (pathutils.HOOKS_BASE_DIR if self._base_dir is None
                    else self._base_dir)
        dir_name = os.path.join(base_dir, subdir)
        if not os.path.isdir(dir_name):
            # Hooks directories are optional; missing ones are not an error.
            return []
        results = process.RunParts(dir_name, env=full_env, reset_env=True,
                                   timeout=self._timeout)
        return [[f"{subdir}/{name}", status, output]
                for name, status, output in results]

    def RunLocalHooks(self, node_list: list[str], hpath: str, phase: str,
                      env: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        """Run hooks for this node only (hooks of node-local operations).

        Returns:
          {node: (fail_msg, offline, results)} with fail_msg None and
          offline False, the per-node shape a hooks master consumes.

        Raises:
          errors.ProgrammerError: node_list is not exactly this node.
          RPCFail: as RunHooks.
        """
        _, myself = ssconf.GetMasterAndMyself()
        if list(node_list) != [myself]:
            raise errors.ProgrammerError(
                f"Local hooks can only run on this node ({myself}), not on"
                f" {node_list!r}")
        return {myself: (None, False, self.RunHooks(hpath, phase, env))}


@args.RpcProcedure("hooks_runner")
def RunHooks(hpath: Any, phase: Any, env: Any) -> list[list[Any]]:
    """hooks_runner: run one phase's hooks (see HooksRunner.RunHooks)."""
    return HooksRunner().RunHooks(hpath, phase, env)
