"""The master side of node RPC: RpcResult and the RpcRunner.

Mirrors Ganeti's lib/rpc/node.py. `RpcRunner` gets one `call_<name>` method
per row of ganeti/rpc/defs.py. A MULTI call takes a list of nodes and returns
{node: RpcResult}; a SINGLE call takes one node and returns one RpcResult. A
failure on one node (down, refused, timed out, procedure failed) is that
node's failed result, never an exception: callers handle it with one line,
`result.Raise("Could not ...")`.

Design notes:
- Fan-out runs in parallel on a pool of reused threads (`_WorkerPool`). The
  pool grows when every thread is busy and shrinks when threads sit idle, so
  a few long calls (hooks, test_delay, instance creation) never hold up
  short ones the way a fixed-size pool would, and a warm fan-out does not
  pay thread creation. The calling thread serves one node itself, so a
  single-node call never changes threads. Measured in bench/bench_rpc.py.
- One transport (an HttpClientPool) is shared by every call, so TLS
  connections persist per node between calls.
- Offline nodes are not contacted (except by calls that accept them, e.g.
  `version`); their result says so at once. Unresolvable nodes likewise.
- Arguments are encoded once per call, or once per node for the encoders
  whose output depends on the node (defs.PER_NODE_ENCODERS).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from ganeti import constants, errors, netutils, pathutils
from ganeti.rpc import defs, protocol
from ganeti.rpc.node import ArgEncoder
from ganeti.rpc.resolver import (
    ConfigResolver,
    NodeAddress,
    Resolver,
    SsconfResolver,
)

logger = logging.getLogger(__name__)

OFFLINE_MSG = "Node is marked offline"
NO_ERROR_INFO = "No error information"

# Upper bound of concurrent requests in flight per runner. A fan-out to more
# nodes than this queues the rest; 256 covers a large cluster's fan-out plus
# the concurrent jobs of masterd without letting a bug spawn thousands.
_MAX_WORKERS = 256


class Transport(Protocol):
    """The I/O side: one HTTP request to one host (ganeti.http.client)."""

    def Request(self, host: str, port: int, method: str, path: str, body: bytes,
                headers: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[int, bytes]:
        """Send one request and return (status, body).

        Raises:
          errors.RpcTimeoutError, errors.RpcNetworkError,
          errors.RpcProtocolError: no (valid) reply arrived; the request
            may or may not have been executed by the node.
        """
        ...


class RpcResult:
    """The outcome of one procedure on one node.

    Attributes:
      data: the raw [success, payload] reply (None when failed).
      payload: the procedure's result (None when failed).
      failed: whether the call failed (also true for offline nodes).
      fail_msg: why it failed, or None.
      offline: the node is marked offline and was not contacted.
      call: the procedure name.
      node: the node's name.
    """

    def __init__(self, data: Any = None, failed: bool = False,
                 offline: bool = False, call: str = "", node: str = "",
                 fail_msg: str | None = None) -> None:
        """Build a result the way Ganeti's RpcResult does.

        Args:
          data: the decoded [success, payload] reply; when failed, the error
            message instead.
          failed: data is an error message, not a reply.
          offline: the node is offline (implies failed).
          call: procedure name.
          node: node name.
          fail_msg: an explicit failure message (implies failed).
        """
        self.call = call
        self.node = node
        self.offline = offline
        self.data: Any = None
        self.payload: Any = None
        self.fail_msg: str | None = None
        if offline:
            self.fail_msg = fail_msg or OFFLINE_MSG
        elif fail_msg is not None or failed:
            self.fail_msg = fail_msg or (str(data) if data else NO_ERROR_INFO)
        elif not isinstance(data, (list, tuple)):
            self.fail_msg = (f"RPC layer error: invalid result type"
                             f" ({type(data).__name__})")
        elif len(data) != 2:
            self.fail_msg = (f"RPC layer error: invalid result length ({len(data)}),"
                             " expected 2")
        elif not data[0]:
            self.fail_msg = str(data[1]) if data[1] else NO_ERROR_INFO
        else:
            self.data = data
            self.payload = data[1]

    @property
    def failed(self) -> bool:
        return self.fail_msg is not None

    def __repr__(self) -> str:
        state = f"fail_msg={self.fail_msg!r}" if self.failed else \
            f"payload={self.payload!r:.60}"
        return f"<RpcResult {self.call} on {self.node}: {state}>"

    def Raise(self, msg: str, prereq: bool = False, ecode: str | None = None) -> None:
        """Raise if the call failed; do nothing if it succeeded.

        Args:
          msg: what the caller was trying to do; the error reads
            "<msg>: <fail_msg>". Empty: a message naming call and node.
          prereq: raise OpPrereqError (nothing was changed) instead of
            OpExecError.
          ecode: the errors.ECODE_* to attach.

        Raises:
          errors.OpPrereqError: failed and prereq.
          errors.OpExecError: failed and not prereq.
        """
        if not self.failed:
            return
        if msg:
            text = f"{msg}: {self.fail_msg}"
        else:
            text = f"Call '{self.call}' to node '{self.node}' has failed: " \
                f"{self.fail_msg}"
        cls = errors.OpPrereqError if prereq else errors.OpExecError
        args = (text,) if ecode is None else (text, ecode)
        raise cls(*args)

    def Warn(self, msg: str, feedback_fn: Callable[[str], Any]) -> None:
        """Report a failure through feedback_fn instead of raising."""
        if self.failed:
            feedback_fn(f"{msg}: {self.fail_msg}")


def GetNodedPort() -> int:
    """noded's port: from the services database, else 1811."""
    return netutils.GetDaemonPort(constants.NODED)


def MakeDefaultTransport(cafile: str | None = None,
                         certfile: str | None = None) -> Transport:
    """The master's transport: mutual TLS with the cluster certificate.

    The CA is server.pem; the client certificate is this node's client.pem,
    or server.pem where client.pem does not exist (bootstrap, clusters
    upgraded from before 2.11), as spec/rpc.md describes.

    Raises:
      errors.X509CertError: the certificate files cannot be loaded.
    """
    from ganeti.http import client as http_client

    cafile = cafile or pathutils.NODED_CERT_FILE
    if certfile is None:
        client_pem = pathutils.NODED_CLIENT_CERT_FILE
        certfile = client_pem if os.path.exists(client_pem) else cafile
    context = http_client.MakeClientSslContext(cafile, certfile)
    return http_client.HttpClientPool(
        context, connect_timeout=constants.RPC_CONNECT_TIMEOUT)


def _NodeList(call: defs.RpcCall, node_or_nodes: Any) -> list[str]:
    """Check the node argument's shape against the call's mode.

    Raises:
      errors.ProgrammerError: a string for a MULTI call (it would be split
        into characters) or a list for a SINGLE call.
    """
    if call.mode == defs.SINGLE:
        if not isinstance(node_or_nodes, str):
            raise errors.ProgrammerError(
                f"RPC {call.name} takes one node, not {type(node_or_nodes).__name__}")
        return [node_or_nodes]
    if isinstance(node_or_nodes, (str, bytes)) or \
            not isinstance(node_or_nodes, Iterable):
        raise errors.ProgrammerError(
            f"RPC {call.name} takes a list of nodes, not {node_or_nodes!r:.40}")
    return list(dict.fromkeys(node_or_nodes))  # unique, order kept


class _WorkerPool:
    """Threads reused across RPC calls; grows on demand, shrinks when idle.

    concurrent.futures.ThreadPoolExecutor never retires threads and queues
    work once max_workers are busy; here a submission starts a new thread
    whenever no idle one is waiting (up to max_workers), and a thread idle
    for idle_timeout seconds exits.

    Invariant, under _lock: every task in the queue is matched either by a
    reserved idle thread (_idle was decremented for it), by a new thread, or
    is counted in _backlog (all threads were busy); a thread that finishes
    work first takes a backlog task, and only otherwise counts as idle. So a
    thread may retire only when _idle > 0: an idle thread no task waits for.
    """

    def __init__(self, max_workers: int, idle_timeout: float = 30.0) -> None:
        self._max_workers = max_workers
        self._idle_timeout = idle_timeout
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._backlog = 0
        self._closed = False

    def Submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run fn(*args) on a pool thread; the Future holds its outcome.

        Raises:
          errors.ProgrammerError: the pool was closed.
        """
        future: Future = Future()
        spawn = False
        with self._lock:
            if self._closed:
                raise errors.ProgrammerError("RPC runner used after Close()")
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < self._max_workers:
                self._threads += 1
                spawn = True
            else:
                self._backlog += 1
        self._tasks.put((future, fn, args))
        if spawn:
            threading.Thread(target=self._Work, name="rpc-worker", daemon=True).start()
        return future

    def _Work(self) -> None:
        while True:
            try:
                item = self._tasks.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a task is on its way to this thread
            if item is None:  # Close()
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as err:  # handed to the waiting caller
                    future.set_exception(err)
            with self._lock:
                if self._backlog > 0:
                    self._backlog -= 1
                else:
                    self._idle += 1

    def Close(self) -> None:
        """Let every thread exit once its current task is done."""
        with self._lock:
            self._closed = True
            count = self._threads
            self._threads = self._idle = 0
        for _ in range(count):
            self._tasks.put(None)


class RpcRunner:
    """Runs node RPCs; one call_<name> method per procedure of defs.CALLS.

    Thread-safe: masterd's job workers share one runner (and thereby its
    persistent connections).
    """

    def __init__(self, resolver: Resolver, transport: Transport | None = None,
                 port: int | None = None, *, cfg: Any = None,
                 node_root: str | None = None,
                 max_workers: int = _MAX_WORKERS) -> None:
        """Args:
          resolver: maps node names/UUIDs to addresses (ganeti.rpc.resolver).
          transport: the I/O layer; default: mutual TLS with this node's
            cluster certificates (MakeDefaultTransport), created on first
            use and closed by Close().
          port: noded's port on every node (default GetNodedPort()).
          cfg: the ConfigWriter, for instance and disk arguments.
          node_root: virtual root for path arguments (default: the
            process's own).
          max_workers: most requests in flight at once.
        """
        self._resolver = resolver
        self._transport = transport
        self._owns_transport = transport is None
        self._transport_lock = threading.Lock()
        self._port = GetNodedPort() if port is None else port
        self._encoder = ArgEncoder(cfg=cfg, node_root=node_root)
        self._pool = _WorkerPool(max_workers)

    @property
    def port(self) -> int:
        return self._port

    if TYPE_CHECKING:
        # The call_<name> methods are set from defs.CALLS below, which a
        # type checker cannot see; this tells it that they exist. At run
        # time an unknown name is still an AttributeError.
        def __getattr__(self, name: str) -> Callable[..., Any]: ...

    def __enter__(self) -> RpcRunner:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.Close()

    def Close(self) -> None:
        """Stop the worker threads and close a transport this runner made."""
        self._pool.Close()
        if self._owns_transport and self._transport is not None:
            close_fn = getattr(self._transport, "Close", None)
            if close_fn is not None:
                close_fn()

    def _GetTransport(self) -> Transport:
        with self._transport_lock:
            if self._transport is None:
                self._transport = MakeDefaultTransport()
            return self._transport

    def Call(self, name: str, node_or_nodes: Any, *args: Any) -> Any:
        """Call procedure name like its generated call_<name> method.

        Raises:
          errors.ProgrammerError: unknown procedure or wrong arguments.
        """
        try:
            call = defs.CALLS[name]
        except KeyError as err:
            raise errors.ProgrammerError(f"Unknown RPC procedure {name!r}") from err
        return self._Call(call, node_or_nodes, args)

    def _Call(self, call: defs.RpcCall, node_or_nodes: Any,
              args: Sequence[Any]) -> Any:
        if len(args) != len(call.args):
            names = ", ".join(arg.name for arg in call.args) or "none"
            raise errors.ProgrammerError(
                f"RPC {call.name} takes {len(call.args)} arguments ({names}),"
                f" got {len(args)}")
        nodes = _NodeList(call, node_or_nodes)
        results = self._Run(call, nodes, list(args))
        if call.postproc is not None:
            results = {node: call.postproc(res) for node, res in results.items()}
        if call.mode == defs.SINGLE:
            return results[nodes[0]]
        return results

    def _Bodies(self, call: defs.RpcCall, nodes: list[str],
                args: list[Any]) -> dict[str, bytes]:
        """Encode the request body for each node (once if all are equal).

        Raises:
          errors.ProgrammerError: an argument cannot be encoded.
        """
        per_node = call.preproc is not None or any(
            arg.encoder in defs.PER_NODE_ENCODERS for arg in call.args)
        if not per_node:
            encoded = [self._encoder.Encode(arg.encoder, "", value)
                       for arg, value in zip(call.args, args)]
            body = protocol.EncodeCall(encoded)
            return dict.fromkeys(nodes, body)
        bodies = {}
        for node in nodes:
            encoded = [self._encoder.Encode(arg.encoder, node, value)
                       for arg, value in zip(call.args, args)]
            if call.preproc is not None:
                encoded = call.preproc(node, encoded)
            bodies[node] = protocol.EncodeCall(encoded)
        return bodies

    def _Run(self, call: defs.RpcCall, nodes: list[str],
             args: list[Any]) -> dict[str, RpcResult]:
        """Send the call to every reachable node in parallel and collect."""
        timeout = defs.GetTimeout(call, args)
        addresses = self._resolver.Resolve(nodes)
        results: dict[str, RpcResult] = {}
        todo: list[tuple[str, NodeAddress]] = []
        for node, addr in zip(nodes, addresses):
            if addr.error is not None:
                results[node] = RpcResult(fail_msg=addr.error, call=call.name,
                                          node=addr.name)
            elif addr.offline and not call.accept_offline:
                results[node] = RpcResult(offline=True, call=call.name,
                                          node=addr.name)
            else:
                todo.append((node, addr))
        if not todo:
            return results
        bodies = self._Bodies(call, [node for node, _ in todo], args)
        transport = self._GetTransport()
        futures = [(node, self._pool.Submit(self._Request, transport, call.name,
                                            addr, bodies[node], timeout))
                   for node, addr in todo[1:]]
        # The calling thread serves the first node itself.
        node, addr = todo[0]
        results[node] = self._Request(transport, call.name, addr, bodies[node],
                                      timeout)
        for node, future in futures:
            results[node] = future.result()
        return {node: results[node] for node in nodes}

    def _Request(self, transport: Transport, name: str, addr: NodeAddress,
                 body: bytes, timeout: float) -> RpcResult:
        """One request to one node; every failure becomes that node's result."""
        assert addr.ip is not None
        try:
            status, reply = transport.Request(
                addr.ip, self._port, "POST", f"/{name}", body,
                headers=protocol.REQUEST_HEADERS, timeout=timeout)
        except (errors.RpcError, OSError) as err:
            where = f"{addr.ip}:{self._port}"
            # The real transport names the address already; a bare reason
            # (e.g. from a test transport) gets it added.
            msg = (f"Error contacting node {addr.name}: {err}" if where in str(err)
                   else f"Error contacting node {addr.name} ({where}): {err}")
            logger.warning("RPC %s: %s", name, msg)
            return RpcResult(fail_msg=msg, call=name, node=addr.name)
        success, payload = protocol.DecodeReply(status, reply)
        logger.debug("RPC %s on %s: status %s, success %s", name, addr.name,
                     status, success)
        if not success:
            return RpcResult(fail_msg=payload, call=name, node=addr.name)
        return RpcResult(data=[True, payload], call=name, node=addr.name)


def _MakeCallMethod(call: defs.RpcCall) -> Callable[..., Any]:
    """Build RpcRunner.call_<name> for one row of the table."""

    def _Method(self: RpcRunner, node_or_nodes: Any, *args: Any) -> Any:
        return self._Call(call, node_or_nodes, args)

    arg_names = ", ".join(arg.name for arg in call.args)
    if call.mode == defs.SINGLE:
        target, returns = "node", "RpcResult"
    else:
        target, returns = "nodes", "dict node -> RpcResult"
    _Method.__name__ = _Method.__qualname__ = f"call_{call.name}"
    _Method.__doc__ = (f"{call.doc or call.name}.\n\n"
                       f"call_{call.name}({target}{', ' if arg_names else ''}"
                       f"{arg_names}) -> {returns}\n")
    return _Method


for _call in defs.CALLS.values():
    setattr(RpcRunner, f"call_{_call.name}", _MakeCallMethod(_call))
del _call


def ConfigRunner(cfg: Any, transport: Transport | None = None,
                 port: int | None = None) -> RpcRunner:
    """The master's runner: nodes resolved through its configuration."""
    return RpcRunner(ConfigResolver(cfg), transport, port, cfg=cfg)


def DnsOnlyRunner(transport: Transport | None = None,
                  port: int | None = None) -> RpcRunner:
    """A runner needing no configuration: ssconf, then host name lookup."""
    return RpcRunner(SsconfResolver(), transport, port)
