"""Copying the master's state to the other nodes.

Mirrors what Ganeti's ConfigWriter._WriteConfig/_DistributeConfig and the
job queue's replication do, gathered in one place for masterd:

* config.data goes to every online master candidate but the master (RPC
  upload_file), after every save;
* the ssconf files go to every online node (RPC write_ssconf_files) when
  their content changed; the master writes its own directly;
* job files (jobqueue_update), job renames (jobqueue_rename) and the drain
  flag (jobqueue_set_drain_flag) go to the other online master candidates,
  so that any of them can take over (master failover).

A node that cannot be reached does not undo or fail the change (as in
Ganeti): the failure is logged and, for config.data, reported through the
feedback function; the node catches up with the next change (or through
gnt-cluster redist-conf).

The node lists are read from the configuration on every call: dict lookups,
cheap next to the RPC itself, and always current.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import errors, ssconf

logger = logging.getLogger(__name__)


class ClusterDistributor:
    """Replicates config.data, ssconf, job files and flags (see module doc)."""

    def __init__(self, get_cfg: Callable[[], Any], get_runner: Callable[[], Any],
                 store: ssconf.SimpleStore | None = None) -> None:
        """Args:
          get_cfg: returns the master's ConfigWriter (it is created after
            this object, with OnConfigSave as its save hook).
          get_runner: returns the RpcRunner to use.
          store: this node's ssconf store (default: SimpleStore()).
        """
        self._get_cfg = get_cfg
        self._get_runner = get_runner
        self._store = store or ssconf.SimpleStore()
        self._ssconf_lock = threading.Lock()
        self._last_ssconf: dict[str, str] | None = None

    # --- node lists ----------------------------------------------------------

    def _MasterUuid(self) -> str:
        return self._get_cfg().GetMasterNode()

    def GetOtherCandidates(self) -> list[str]:
        """Names of the online master candidates other than the master."""
        cfg = self._get_cfg()
        master = cfg.GetMasterNode()
        return [node.name for node in cfg.GetAllNodesInfo().values()
                if node.master_candidate and not node.offline and node.uuid != master]

    def GetOnlineNodes(self, with_master: bool = False) -> list[str]:
        """Names of the online nodes (the master only if with_master)."""
        cfg = self._get_cfg()
        master = cfg.GetMasterNode()
        return [node.name for node in cfg.GetAllNodesInfo().values()
                if not node.offline and (with_master or node.uuid != master)]

    @staticmethod
    def _Failures(results: dict[str, Any]) -> list[str]:
        """"node: message" for each failed, not offline, result."""
        return [f"{node}: {result.fail_msg}" for node, result in results.items()
                if result.failed and not result.offline]

    # --- config.data and ssconf ----------------------------------------------

    def OnConfigSave(self, file_name: str) -> None:
        """The ConfigWriter's save hook: distribute config.data and ssconf.

        Raises:
          errors.OpExecError: config.data could not be copied to some master
            candidates (the ConfigWriter logs it and tells the job).
        """
        failures = self.DistributeConfig(file_name)
        self.DistributeSsconf()
        if failures:
            raise errors.OpExecError(
                f"Copy of file {file_name} to node(s) failed: {'; '.join(failures)}")

    def DistributeConfig(self, file_name: str) -> list[str]:
        """Upload config.data to the other online master candidates.

        Returns:
          "node: message" for every candidate that did not get the file.
        """
        nodes = self.GetOtherCandidates()
        if not nodes:
            return []
        results = self._get_runner().call_upload_file(nodes, file_name)
        failures = self._Failures(results)
        for failure in failures:
            logger.error("Copy of file %s to node %s", file_name, failure)
        return failures

    def DistributeSsconf(self, force: bool = False) -> None:
        """Write the ssconf files here and on the other online nodes.

        Nothing is sent when the values did not change since the last call
        (unless force); the values come from the configuration.
        """
        values = self._get_cfg().GetSsconfValues()
        with self._ssconf_lock:
            if not force and values == self._last_ssconf:
                return
            try:
                self._store.WriteFiles(values)
            except (errors.GenericError, OSError) as err:
                logger.error("Cannot write the local ssconf files: %s", err)
            nodes = self.GetOnlineNodes()
            if nodes:
                results = self._get_runner().call_write_ssconf_files(nodes, values)
                for failure in self._Failures(results):
                    logger.error("Writing ssconf files failed on node %s", failure)
            self._last_ssconf = values

    # --- job queue -----------------------------------------------------------

    def ReplicateJobFile(self, file_name: str, content: str | bytes) -> None:
        """Copy one job queue file to the other online master candidates
        (the job queue's replicate_fn)."""
        nodes = self.GetOtherCandidates()
        if not nodes:
            return
        if isinstance(content, bytes):
            content = content.decode("utf-8")
        results = self._get_runner().call_jobqueue_update(nodes, file_name, content)
        for failure in self._Failures(results):
            logger.error("Replicating job file %s failed on node %s", file_name,
                         failure)

    def ReplicateRename(self, renames: Iterable[tuple[str, str]]) -> None:
        """Rename job queue files on the other online master candidates
        (the job queue's replicate_rename_fn)."""
        pairs = [[old, new] for old, new in renames]
        nodes = self.GetOtherCandidates()
        if not nodes or not pairs:
            return
        results = self._get_runner().call_jobqueue_rename(nodes, pairs)
        for failure in self._Failures(results):
            logger.error("Renaming job files failed on node %s", failure)

    def ReplicateDrainFlag(self, flag: bool) -> None:
        """Set the queue drain flag on the other online master candidates."""
        nodes = self.GetOtherCandidates()
        if not nodes:
            return
        results = self._get_runner().call_jobqueue_set_drain_flag(nodes, bool(flag))
        for failure in self._Failures(results):
            logger.error("Setting the drain flag failed on node %s", failure)

    # --- watcher -------------------------------------------------------------

    def SetWatcherPause(self, until: float | None) -> None:
        """Pause (or with None resume) the watcher on every node.

        Raises:
          errors.OpExecError: some online nodes did not take the change.
        """
        cfg = self._get_cfg()
        nodes = [node.name for node in cfg.GetAllNodesInfo().values()]
        results = self._get_runner().call_set_watcher_pause(nodes, until)
        failures = self._Failures(results)
        if failures:
            raise errors.OpExecError(
                "Watcher pause was set where possible, but failed on the"
                f" following node(s): {', '.join(failures)}")
