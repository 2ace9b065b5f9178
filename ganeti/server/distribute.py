"""Copying the master's state to the other nodes.

Mirrors what Ganeti's ConfigWriter._WriteConfig/_DistributeConfig and the
job queue's replication do, gathered in one place for masterd:

* config.data goes to every online master candidate but the master (RPC
  upload_file), synchronously, after every save: a candidate never lags
  the master once a job has ended (master failover relies on it);
* the ssconf files go to every online node (RPC write_ssconf_files) when
  their content changed; the master writes its own too;
* job files (jobqueue_update), job renames (jobqueue_rename) and the drain
  flag (jobqueue_set_drain_flag) go to the other online master candidates,
  so that any of them can take over (master failover).

The ssconf files are distributed asynchronously, as real Ganeti 3.0 does
from its configuration writer: the save computes the new values and hands
them to one background thread (SsconfSender), which writes them here and
sends them to the online nodes of that moment. Values not yet sent when
newer ones arrive are dropped (coalescing: a burst of instance creations
costs one distribution per round trip, not one per save). Nodes that fail
are tried again a few times (RETRY_DELAYS), each failure logged; after that
they catch up with the next change or gnt-cluster redist-conf.

Changes that a node or the next step of a job depends on are not left in
flight: when anything but the "lazy" keys (LAZY_KEYS: the instance list,
cluster tags, networks) changed (node lists, roles, candidate
certificates, master, cluster parameters), the save sends the values
itself before returning, so they reach the nodes before the job ends.
Flush(timeout) waits for a distribution in flight (gnt-cluster verify
flushes before it compares ssconf files); Shutdown(timeout) also sends the
pending retries at once, for masterd's clean stop. The sender's thread only
lives while there is work, and a process exiting normally shuts its
senders down first (atexit, at most EXIT_TIMEOUT seconds).

A node that cannot be reached does not undo or fail the change (as in
Ganeti): the failure is logged and, for config.data, reported through the
feedback function; the node catches up with the next change (or through
gnt-cluster redist-conf).

The node lists are read from the configuration on every save: dict lookups,
cheap next to the RPC itself, and always current.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ganeti import errors, ssconf

logger = logging.getLogger(__name__)


# Keys whose change is sent in the background only (see the module doc).
LAZY_KEYS = frozenset([ssconf.SS_INSTANCE_LIST, ssconf.SS_CLUSTER_TAGS,
                       ssconf.SS_NETWORKS])
# Pauses before sending again to the nodes that failed (one retry each).
RETRY_DELAYS = (1.0, 3.0, 10.0)
# The sender's thread ends after this long without work.
IDLE_EXIT = 2.0
# Default wait of Shutdown (below masterd's own shutdown budget).
SHUTDOWN_TIMEOUT = 20.0
# How long a process exiting waits for its pending distributions.
EXIT_TIMEOUT = 10.0

_SENDERS: weakref.WeakSet[SsconfSender] = weakref.WeakSet()


@atexit.register
def _ShutdownAtExit() -> None:
    """Finish the pending distributions of an exiting process."""
    for sender in list(_SENDERS):
        if not sender.Shutdown(EXIT_TIMEOUT):
            logger.warning("ssconf distribution still pending at exit")


class _Batch(NamedTuple):
    """One set of ssconf values and where it goes.

    Attributes:
      seq: its submission number (higher is newer).
      values: key -> content.
      nodes: the node names to send it to.
      attempt: 0 for the first sending, then the retry number.
      local: write this node's files too.
    """

    seq: int
    values: dict[str, str]
    nodes: list[str]
    attempt: int = 0
    local: bool = True


class SsconfSender:
    """Sends ssconf values to the nodes from one background thread.

    Only the newest values not yet sent are kept (see the module doc).
    """

    def __init__(self, get_runner: Callable[[], Any],
                 store: ssconf.SimpleStore) -> None:
        """Args:
          get_runner: returns the RpcRunner to send with.
          store: this node's ssconf store.
        """
        self._get_runner = get_runner
        self._store = store
        self._cond = threading.Condition()
        self._seq = 0
        self._pending: _Batch | None = None
        self._retry: tuple[float, _Batch] | None = None
        self._busy = 0  # seq the worker is sending, 0 when idle
        self._sync_sends = 0  # sendings running in the callers' threads
        self._thread: threading.Thread | None = None
        self._hurry = False
        _SENDERS.add(self)

    def Submit(self, values: dict[str, str], nodes: list[str],
               urgent: bool) -> None:
        """Send values to nodes (and write them here).

        Args:
          urgent: send before returning, in the caller's thread (the
            worker is not waited for: the caller may hold the config lock
            it needs); otherwise hand them to the worker and return.
        """
        with self._cond:
            self._seq += 1
            batch = _Batch(self._seq, values, list(nodes))
            self._retry = None
            self._pending = None if urgent else batch
            if urgent:
                self._sync_sends += 1
            else:
                self._StartLocked()
                self._cond.notify_all()
                return
        try:
            failed = self._Send(batch)
        finally:
            with self._cond:
                self._sync_sends -= 1
                self._AfterSyncLocked(batch)
                self._cond.notify_all()
        if failed:
            with self._cond:
                self._ScheduleRetryLocked(batch, failed)
                self._StartLocked()

    def _AfterSyncLocked(self, batch: _Batch) -> None:
        """Older values the worker is sending now may land after these:
        have it send these again afterwards."""
        if self._busy and self._busy < batch.seq and (
                self._pending is None or self._pending.seq < batch.seq):
            self._pending = batch

    def Flush(self, timeout: float | None = None) -> bool:
        """Wait until every value submitted so far was sent once.

        Returns:
          whether that happened within timeout (None: no limit).
        """
        with self._cond:
            return self._cond.wait_for(
                lambda: (self._pending is None and not self._busy
                         and not self._sync_sends), timeout)

    def Shutdown(self, timeout: float | None = SHUTDOWN_TIMEOUT) -> bool:
        """Send what is pending, retries at once, and let the thread end.

        Returns:
          whether all was done within timeout.
        """
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            done = self._cond.wait_for(
                lambda: self._thread is None and not self._sync_sends, timeout)
            self._hurry = False
        return done

    def _StartLocked(self) -> None:
        if self._thread is None:
            # A daemon, finished at exit by _ShutdownAtExit.
            self._thread = threading.Thread(target=self._Work, daemon=True,
                                            name="ssconf-sender")
            self._thread.start()

    def _NextLocked(self) -> _Batch | None:
        """Wait for the next batch; None when idle for IDLE_EXIT."""
        idle_since = time.monotonic()
        while True:
            if self._pending is not None:
                batch, self._pending = self._pending, None
                return batch
            now = time.monotonic()
            if self._retry is not None:
                due, batch = self._retry
                if due <= now or self._hurry:
                    self._retry = None
                    return batch
                self._cond.wait(due - now)
            elif self._hurry or now - idle_since >= IDLE_EXIT:
                return None
            else:
                self._cond.wait(IDLE_EXIT - (now - idle_since))

    def _Work(self) -> None:
        while True:
            with self._cond:
                batch = self._NextLocked()
                if batch is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
                self._busy = batch.seq
            try:
                failed = self._Send(batch)
            except Exception:  # noqa: BLE001  (the thread must go on)
                logger.exception("Distributing the ssconf files failed")
                failed = list(batch.nodes)
            with self._cond:
                self._busy = 0
                self._ScheduleRetryLocked(batch, failed)
                self._cond.notify_all()

    def _ScheduleRetryLocked(self, batch: _Batch, failed: list[str]) -> None:
        """Retry the failed nodes unless newer values go everywhere anyway."""
        if not failed or batch.seq < self._seq or self._pending is not None:
            return
        if batch.attempt >= len(RETRY_DELAYS):
            logger.error("Giving up sending the ssconf files to node(s) %s after"
                         " %d retries", ", ".join(failed), batch.attempt)
            return
        due = time.monotonic() + RETRY_DELAYS[batch.attempt]
        self._retry = (due, batch._replace(nodes=failed, attempt=batch.attempt + 1,
                                           local=False))

    def _Send(self, batch: _Batch) -> list[str]:
        """Write the values here (if asked) and send them to the nodes.

        Returns:
          the nodes that failed (offline ones are not counted).
        """
        if batch.local:
            try:
                self._store.WriteFiles(batch.values)
            except (errors.GenericError, OSError) as err:
                logger.error("Cannot write the local ssconf files: %s", err)
        if not batch.nodes:
            return []
        try:
            results = self._get_runner().call_write_ssconf_files(batch.nodes,
                                                                 batch.values)
        except errors.GenericError as err:
            logger.error("Writing ssconf files failed: %s", err)
            return list(batch.nodes)
        failed = [node for node, result in results.items()
                  if result.failed and not result.offline]
        for node in failed:
            logger.error("Writing ssconf files failed on node %s (attempt %d): %s",
                         node, batch.attempt + 1, results[node].fail_msg)
        return failed


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
        self._sender = SsconfSender(get_runner, self._store)

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
        (unless force). Changes of LAZY_KEYS only are sent in the
        background; any other change (and force) is sent before returning.
        """
        values = self._get_cfg().GetSsconfValues()
        with self._ssconf_lock:
            last = self._last_ssconf
            if not force and values == last:
                return
            self._last_ssconf = values
            urgent = force or last is None or any(
                values.get(key) != last.get(key)
                for key in set(values) | set(last) if key not in LAZY_KEYS)
            self._sender.Submit(values, self.GetOnlineNodes(), urgent)

    def Flush(self, timeout: float | None = None) -> bool:
        """Wait until the ssconf values of every save so far are sent.

        Returns:
          whether they were (within timeout; None: no limit).
        """
        return self._sender.Flush(timeout)

    def Shutdown(self, timeout: float | None = SHUTDOWN_TIMEOUT) -> bool:
        """Finish the pending distribution, retries included (masterd's
        clean stop).

        Returns:
          whether everything was done within timeout.
        """
        return self._sender.Shutdown(timeout)

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
