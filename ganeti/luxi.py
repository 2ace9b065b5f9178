"""LUXI: the local protocol between the gnt-* commands / RAPI and the master.

Wire format (spec/luxi.md): over an AF_UNIX stream socket, each request and
each response is one UTF-8 JSON object followed by the byte 0x03 (EOM).
Requests are {"method": ..., "args": [...], "version": ...}; responses are
{"success": bool, "result": ...}, where a failed call carries
[ExceptionClassName, [args...]] (errors.EncodeException) or a plain string.

This module holds the pure protocol pieces (Format*/Parse*), the client
transport and the high-level Client. The server side transport lives in
ganeti/server/luxi.py and reuses the pure pieces from here.

Shapes reproduced byte for byte from a real Ganeti 3.0 cluster
(spec/samples/luxi-*.txt): the Python client serialises requests with the
default separators (", " and ": "), keys in the order method, args, version,
and a trailing newline before the EOM; luxid answers compactly, without a
version key and without a newline.

Reconnect policy (Client): a request whose sending fails because the peer
already closed the connection (EPIPE, reset) never reached the server, so it
is retried once on a fresh connection, whatever the method. A connection that
breaks after the request went out may or may not have had the request
executed; only idempotent read methods (Query*, WaitForJobChange) are then
retried, once. Everything else (SubmitJob, CancelJob, ...) raises
ConnectionClosedError so that a job is never submitted twice.
"""

from __future__ import annotations

import builtins
import collections
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ganeti import constants, errors, pathutils, serializer, vcluster

logger = logging.getLogger(__name__)

KEY_METHOD = "method"
KEY_ARGS = "args"
KEY_SUCCESS = "success"
KEY_RESULT = "result"
KEY_VERSION = "version"

# End of message: a JSON text never contains a raw 0x03 (it is escaped as
# \u0003 inside strings), so it can delimit messages on the stream.
EOM = b"\x03"

REQ_SUBMIT_JOB = "SubmitJob"
REQ_SUBMIT_JOB_TO_DRAINED_QUEUE = "SubmitJobToDrainedQueue"
REQ_SUBMIT_MANY_JOBS = "SubmitManyJobs"
REQ_PICKUP_JOB = "PickupJob"
REQ_WAIT_FOR_JOB_CHANGE = "WaitForJobChange"
REQ_CANCEL_JOB = "CancelJob"
REQ_ARCHIVE_JOB = "ArchiveJob"
REQ_CHANGE_JOB_PRIORITY = "ChangeJobPriority"
REQ_AUTO_ARCHIVE_JOBS = "AutoArchiveJobs"
REQ_QUERY = "Query"
REQ_QUERY_FIELDS = "QueryFields"
REQ_QUERY_JOBS = "QueryJobs"
REQ_QUERY_INSTANCES = "QueryInstances"
REQ_QUERY_NODES = "QueryNodes"
REQ_QUERY_GROUPS = "QueryGroups"
REQ_QUERY_NETWORKS = "QueryNetworks"
REQ_QUERY_EXPORTS = "QueryExports"
REQ_QUERY_CONFIG_VALUES = "QueryConfigValues"
REQ_QUERY_CLUSTER_INFO = "QueryClusterInfo"
REQ_QUERY_TAGS = "QueryTags"
REQ_QUERY_FILTERS = "QueryFilters"
REQ_REPLACE_FILTER = "ReplaceFilter"
REQ_DELETE_FILTER = "DeleteFilter"
REQ_SET_DRAIN_FLAG = "SetDrainFlag"
REQ_SET_WATCHER_PAUSE = "SetWatcherPause"

REQ_ALL = frozenset([
    REQ_SUBMIT_JOB, REQ_SUBMIT_JOB_TO_DRAINED_QUEUE, REQ_SUBMIT_MANY_JOBS,
    REQ_PICKUP_JOB, REQ_WAIT_FOR_JOB_CHANGE, REQ_CANCEL_JOB, REQ_ARCHIVE_JOB,
    REQ_CHANGE_JOB_PRIORITY, REQ_AUTO_ARCHIVE_JOBS, REQ_QUERY, REQ_QUERY_FIELDS,
    REQ_QUERY_JOBS, REQ_QUERY_INSTANCES, REQ_QUERY_NODES, REQ_QUERY_GROUPS,
    REQ_QUERY_NETWORKS, REQ_QUERY_EXPORTS, REQ_QUERY_CONFIG_VALUES,
    REQ_QUERY_CLUSTER_INFO, REQ_QUERY_TAGS, REQ_QUERY_FILTERS,
    REQ_REPLACE_FILTER, REQ_DELETE_FILTER, REQ_SET_DRAIN_FLAG,
    REQ_SET_WATCHER_PAUSE,
])

# Methods that only read state: running them twice is harmless, so the client
# may resend them after the connection broke while waiting for the answer.
REQ_IDEMPOTENT = frozenset([
    REQ_WAIT_FOR_JOB_CHANGE, REQ_QUERY, REQ_QUERY_FIELDS, REQ_QUERY_JOBS,
    REQ_QUERY_INSTANCES, REQ_QUERY_NODES, REQ_QUERY_GROUPS, REQ_QUERY_NETWORKS,
    REQ_QUERY_EXPORTS, REQ_QUERY_CONFIG_VALUES, REQ_QUERY_CLUSTER_INFO,
    REQ_QUERY_TAGS, REQ_QUERY_FILTERS,
])

# WaitForJobChange's answer when nothing changed before the timeout.
JOB_NOTCHANGED = "nochange"

# Client timeouts in seconds: connect, then each read/write (Ganeti's values).
LUXI_DEF_CTMO = 30
LUXI_DEF_RWTO = 180
# Longest a WaitForJobChange may block: below the read timeout, so an answer
# always arrives before the client gives up on the connection.
LUXI_WFJC_TIMEOUT = (LUXI_DEF_RWTO - 1) // 2
# The timeout gnt-* commands pass per WaitForJobChange call (samples show 60).
DEFAULT_WFJC_TIMEOUT = 60

# Environment variable choosing the socket: "master" or "query".
ENV_FORCE_LUXI_SOCKET = "FORCE_LUXI_SOCKET"

# Pause between connection attempts while the master daemon starts up.
_CONNECT_RETRY_DELAY = 1.0
_RECV_SIZE = 65536


class ProtocolError(errors.LuxiError):
    """The peer violated the LUXI protocol (bad framing, bad JSON, bad keys).

    Raised on the client side only; the connection should be dropped.
    """


class ConnectionClosedError(ProtocolError):
    """The master daemon closed the connection before answering.

    The request may or may not have been executed (see the module notes).
    """


class TimeoutError(ProtocolError):  # shadows the builtin: Ganeti's name
    """Connecting, sending or waiting for the answer took too long.

    The master daemon may still be working on the request.
    """


class RequestError(ProtocolError):
    """The master daemon refused the request without an encoded exception.

    For example the request could not be parsed; args[0] is the server's
    message (or whatever it sent as result).
    """


class NoMasterError(ProtocolError):
    """The master daemon cannot be reached.

    Either this is not the master node, or the daemon is not running (its
    socket is missing or refuses connections). Start it or use the master.
    """


class PermissionError(ProtocolError):  # shadows the builtin: Ganeti's name
    """The user may not connect to the master daemon's socket.

    Run the command as root or as a member of the daemons group.
    """


# --- pure protocol pieces --------------------------------------------------


def _Dump(data: Any, compact: bool) -> bytes:
    """Serialise a message body, turning encoder errors into ProgrammerError."""
    try:
        return serializer.DumpJsonBytes(data, compact=compact)
    except (TypeError, ValueError) as err:
        raise errors.ProgrammerError(
            f"Cannot encode LUXI message as JSON: {err}") from err


def _CheckNoEom(msg: bytes) -> bytes:
    if EOM in msg:
        raise errors.ProgrammerError("Message terminator found in payload")
    return msg


def FormatRequest(method: str, args: Sequence[Any],
                  version: int | None = None) -> bytes:
    """Serialise a request, without the trailing EOM.

    Args:
      method: one of REQ_ALL.
      args: the positional arguments (sent as a JSON list).
      version: the LUXI version to announce, or None to leave the key out.

    Returns:
      The JSON text as Ganeti's Python client writes it (default separators,
      trailing newline).

    Raises:
      errors.ProgrammerError: args is not a list/tuple or not serialisable.
    """
    if not isinstance(args, (list, tuple)):
        raise errors.ProgrammerError(
            f"LUXI arguments must be a list, got {type(args).__name__}")
    request: dict[str, Any] = {KEY_METHOD: method, KEY_ARGS: list(args)}
    if version is not None:
        request[KEY_VERSION] = version
    return _CheckNoEom(_Dump(request, compact=False) + b"\n")


def _LoadMessage(msg: bytes, what: str) -> Any:
    """Parse the JSON of one message; raise LuxiError on failure."""
    try:
        return serializer.LoadJson(msg)
    except errors.ParseError as err:
        raise errors.LuxiError(f"Invalid {what} (parsing error): {err}") from err


def ParseRequest(msg: bytes) -> tuple[str, list[Any], Any]:
    """Parse a request received by the server.

    Args:
      msg: one message without its EOM.

    Returns:
      (method, args, version); version is None when the key is absent.

    Raises:
      errors.LuxiError: not JSON, not an object, method missing or not a
        string, args missing or not a list.
    """
    request = _LoadMessage(msg, "LUXI request")
    if not isinstance(request, dict):
        raise errors.LuxiError(
            f"Invalid LUXI request (not an object but {type(request).__name__})")
    method = request.get(KEY_METHOD)
    args = request.get(KEY_ARGS)
    if method is None or args is None:
        raise errors.LuxiError(
            "Invalid LUXI request (no method or arguments in request)")
    if not isinstance(method, str):
        raise errors.LuxiError(
            f"Invalid LUXI request (method is not a string: {method!r})")
    if not isinstance(args, list):
        raise errors.LuxiError(
            f"Invalid LUXI request (arguments are not a list: {args!r})")
    return method, args, request.get(KEY_VERSION)


def FormatResponse(success: bool, result: Any,
                   version: int | None = None) -> bytes:
    """Serialise a response, without the trailing EOM.

    Args:
      success: whether the call succeeded.
      result: the method's result, or the encoded error.
      version: a version to include; luxid never sends one (pass None).

    Returns:
      Compact JSON, as luxid writes it.

    Raises:
      errors.ProgrammerError: result is not JSON-serialisable.
    """
    response: dict[str, Any] = {KEY_SUCCESS: bool(success), KEY_RESULT: result}
    if version is not None:
        response[KEY_VERSION] = version
    return _CheckNoEom(_Dump(response, compact=True))


def ParseResponse(msg: bytes) -> tuple[bool, Any, Any]:
    """Parse a response received by the client.

    Returns:
      (success, result, version); version is None when absent.

    Raises:
      ProtocolError: not JSON, not an object, or success/result missing.
    """
    try:
        data = _LoadMessage(msg, "LUXI response")
    except errors.LuxiError as err:
        raise ProtocolError(str(err)) from err
    if not (isinstance(data, dict) and KEY_SUCCESS in data
            and KEY_RESULT in data):
        raise ProtocolError(f"Invalid response from server: {data!r:.200}")
    return bool(data[KEY_SUCCESS]), data[KEY_RESULT], data.get(KEY_VERSION)


def CheckResponse(success: bool, result: Any, resp_version: Any,
                  version: int | None) -> Any:
    """Turn a parsed response into the call's result or an exception.

    Raises:
      errors.LuxiError: the response announces another LUXI version.
      errors.GenericError: the encoded exception, with its class and args.
      RequestError: a failure without an encoded exception.
    """
    if resp_version is not None and resp_version != version:
        raise errors.LuxiError(
            f"LUXI version mismatch, client {version}, response {resp_version}")
    if success:
        return result
    errors.MaybeRaise(result)
    raise RequestError(result)


# --- client transport ------------------------------------------------------


class TransportLike(Protocol):
    """What Client needs from a transport (Transport is the real one)."""

    def Send(self, msg: bytes) -> None: ...
    def Recv(self) -> bytes: ...
    def Close(self) -> None: ...


def _IsBrokenConnection(err: OSError) -> bool:
    return err.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)


class Transport:
    """One client connection to a LUXI socket.

    Not meant to be shared between threads without a lock (Client has one).
    """

    def __init__(self, address: str,
                 timeouts: tuple[float, float] | None = None, *,
                 _ssconf_master_file: str | None = None,
                 _hostname: str | None = None) -> None:
        """Connect to the socket at address.

        Args:
          address: path of the unix socket.
          timeouts: (connect timeout, read/write timeout) in seconds; the
            defaults are LUXI_DEF_CTMO and LUXI_DEF_RWTO.
          _ssconf_master_file: test seam, the ssconf master_node file.
          _hostname: test seam, this node's name.

        Raises:
          NoMasterError: this is not the master node, or no daemon listens
            on address (after retrying until the connect timeout when this
            node is the master).
          PermissionError: the socket may not be opened by this user.
          TimeoutError: the connection could not be set up in time.
        """
        self.address = address
        if timeouts is None:
            timeouts = (LUXI_DEF_CTMO, LUXI_DEF_RWTO)
        self._ctimeout, self._rwtimeout = timeouts
        self._master_file = (_ssconf_master_file or
                             pathutils.GetSsconfFilename("master_node"))
        self._hostname = _hostname
        self._buffer = b""
        self._msgs: collections.deque[bytes] = collections.deque()
        self.socket: socket.socket | None = self._Connect()

    def _Connect(self) -> socket.socket:
        deadline = time.monotonic() + self._ctimeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            remaining = max(deadline - time.monotonic(), 0.001)
            sock.settimeout(remaining)
            try:
                sock.connect(self.address)
            except builtins.TimeoutError as err:
                sock.close()
                raise TimeoutError(f"Connect timed out: {err}") from err
            except OSError as err:
                sock.close()
                self._HandleConnectError(err, deadline)
                time.sleep(min(_CONNECT_RETRY_DELAY,
                               max(deadline - time.monotonic(), 0)))
                continue
            sock.settimeout(self._rwtimeout)
            return sock

    def _HandleConnectError(self, err: OSError, deadline: float) -> None:
        """Raise the right error for a failed connect, or return to retry."""
        if err.errno in (errno.EPERM, errno.EACCES):
            raise PermissionError(
                f"Permission denied connecting to {self.address}: run as root"
                " or as a member of the daemons group") from err
        if err.errno in (errno.ENOENT, errno.ECONNREFUSED):
            self._CheckMasterNode(err)
            if time.monotonic() >= deadline:
                raise NoMasterError(
                    f"Connection to the master daemon failed: {err.strerror}"
                    f" ({self.address}); is it running?") from err
            return
        if err.errno == errno.EAGAIN:
            # The listen backlog is full: the daemon is busy, try again.
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Connect timed out: {self.address} is overloaded") from err
            return
        raise ProtocolError(f"Cannot connect to {self.address}: {err}") from err

    def _CheckMasterNode(self, err: OSError) -> None:
        """Fail at once unless this node is the master (per ssconf).

        Raises:
          NoMasterError: ssconf is missing or names another master.
        """
        try:
            with open(self._master_file, encoding="utf-8") as fh:
                master = fh.read().strip()
        except OSError:
            raise NoMasterError(
                f"Cannot connect to {self.address} ({err.strerror}): the master"
                " daemon is not running") from err
        names = {self._hostname} if self._hostname else _OwnHostnames()
        if master not in names:
            raise NoMasterError(
                f"This is not the master node, please connect to node"
                f" '{master}' and rerun the command") from err

    def _CheckSocket(self) -> socket.socket:
        if self.socket is None:
            raise ProtocolError("Connection is closed")
        return self.socket

    def Send(self, msg: bytes) -> None:
        """Send one message and its EOM.

        Raises:
          ConnectionClosedError: the peer had closed the connection; the
            message was not delivered.
          TimeoutError: the peer did not read in time; part of the message
            may have gone out, so the connection must be closed.
        """
        sock = self._CheckSocket()
        _CheckNoEom(msg)
        try:
            sock.sendall(msg + EOM)
        except builtins.TimeoutError as err:
            raise TimeoutError(f"Sending timeout: {err}") from err
        except OSError as err:
            if _IsBrokenConnection(err):
                raise ConnectionClosedError(
                    f"Connection closed while sending: {err.strerror}") from err
            raise ProtocolError(f"Error while sending: {err}") from err

    def Recv(self) -> bytes:
        """Return the next message (without EOM), reading as needed.

        Each read waits at most the read/write timeout and a whole message
        at most twice that. Bytes after the EOM are kept for the next call.

        Raises:
          ConnectionClosedError: end of file or reset before a whole message.
          TimeoutError: the message did not arrive in time.
        """
        sock = self._CheckSocket()
        deadline = time.monotonic() + 2 * self._rwtimeout
        while not self._msgs:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("Extended receive timeout")
            sock.settimeout(min(self._rwtimeout, remaining))
            try:
                data = sock.recv(_RECV_SIZE)
            except builtins.TimeoutError as err:
                raise TimeoutError(f"Receive timeout: {err}") from err
            except OSError as err:
                if _IsBrokenConnection(err):
                    raise ConnectionClosedError(
                        f"Connection closed while reading: {err.strerror}"
                    ) from err
                raise ProtocolError(f"Error while reading: {err}") from err
            if not data:
                raise ConnectionClosedError("Connection closed while reading")
            parts = (self._buffer + data).split(EOM)
            self._buffer = parts.pop()
            self._msgs.extend(parts)
        return self._msgs.popleft()

    def Call(self, msg: bytes) -> bytes:
        """Send a message and return the answer."""
        self.Send(msg)
        return self.Recv()

    def Close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None


def _OwnHostnames() -> set[str]:
    """The names this node may carry in ssconf (virtual name, FQDN, host)."""
    virtual = vcluster.GetVirtualHostname()
    if virtual:
        return {virtual}
    return {socket.getfqdn(), socket.gethostname()}


def GetDefaultAddress() -> str:
    """The socket a client uses unless told otherwise.

    FORCE_LUXI_SOCKET=master selects the master socket, anything else the
    query socket (the one Ganeti 3.x's luxid serves).
    """
    if os.environ.get(ENV_FORCE_LUXI_SOCKET) == "master":
        return pathutils.MASTER_SOCKET
    return pathutils.QUERY_SOCKET


# --- client ------------------------------------------------------------------


def _OpToDict(op: Any) -> dict[str, Any]:
    """Serialisable form of an opcode (object with ToDict/__getstate__, dict)."""
    if isinstance(op, dict):
        return op
    for name in ("ToDict", "__getstate__"):
        fn = getattr(op, name, None)
        if callable(fn):
            state = fn()
            if isinstance(state, dict):
                return state
    raise errors.ProgrammerError(
        f"Cannot send opcode of type {type(op).__name__}: it has no dict form")


def _OpsToList(ops: Iterable[Any]) -> list[dict[str, Any]]:
    if isinstance(ops, (dict, str, bytes)):
        raise errors.ProgrammerError("A job must be a list of opcodes")
    return [_OpToDict(op) for op in ops]


def _PrepareJobId(request_name: str, job_id: Any) -> int:
    """Job ids travel as integers; accept numeric strings from callers.

    Raises:
      RequestError: job_id is not an integer.
    """
    try:
        return int(job_id)
    except (TypeError, ValueError) as err:
        raise RequestError(
            f"Invalid parameter passed to {request_name} as job id: expected"
            f" integer, got value {job_id!r}") from err


class Client:
    """High-level LUXI client; one connection, used by one call at a time.

    Usable as a context manager; Close() drops the connection (the next call
    reconnects).
    """

    def __init__(self, address: str | None = None,
                 timeouts: tuple[float, float] | None = None,
                 transport: Callable[..., TransportLike] = Transport) -> None:
        """Connect to the master daemon.

        Args:
          address: socket path; default from GetDefaultAddress().
          timeouts: (connect, read/write) timeouts for the transport.
          transport: Transport or a compatible class.

        Raises:
          NoMasterError, PermissionError, TimeoutError: see Transport.
        """
        self.address = address if address is not None else GetDefaultAddress()
        self.timeouts = timeouts
        self.transport_class = transport
        self.transport: TransportLike | None = None
        self._lock = threading.Lock()
        self._InitTransport()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def _InitTransport(self) -> TransportLike:
        if self.transport is None:
            self.transport = self.transport_class(self.address,
                                                  timeouts=self.timeouts)
        return self.transport

    def _CloseTransport(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            try:
                transport.Close()
            except OSError:
                logger.debug("Error closing LUXI transport", exc_info=True)

    def _SendOnce(self, data: bytes) -> tuple[bool, bytes | None]:
        """Send and receive; return (request delivered?, answer or None)."""
        transport = self._InitTransport()
        try:
            transport.Send(data)
        except ConnectionClosedError:
            self._CloseTransport()
            return False, None
        try:
            return True, transport.Recv()
        except ConnectionClosedError:
            self._CloseTransport()
            return True, None

    def _SendMethodCall(self, method: str, data: bytes) -> bytes:
        """Exchange one request/response, reconnecting once if allowed."""
        with self._lock:
            done = False
            try:
                for attempt in (1, 2):
                    sent, answer = self._SendOnce(data)
                    if answer is not None:
                        done = True
                        return answer
                    if attempt == 2 or (sent and method not in REQ_IDEMPOTENT):
                        break
                    logger.debug("LUXI peer disconnected, retrying %s", method)
            finally:
                # After a timeout or protocol error the stream position is
                # unknown: never reuse that connection.
                if not done:
                    self._CloseTransport()
            raise ConnectionClosedError(
                f"Connection to the master daemon closed during {method}")

    def Close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            self._CloseTransport()

    def close(self) -> None:
        """Same as Close, for contextlib.closing."""
        self.Close()

    def CallMethod(self, method: str, args: Sequence[Any]) -> Any:
        """Call a LUXI method and return its result.

        Raises:
          errors.GenericError: the server's encoded exception, re-raised.
          RequestError: the server failed the call without an exception.
          ProtocolError (and subclasses): the exchange itself failed.
        """
        data = FormatRequest(method, args, version=constants.LUXI_VERSION)
        answer = self._SendMethodCall(method, data)
        success, result, resp_version = ParseResponse(answer)
        return CheckResponse(success, result, resp_version,
                             constants.LUXI_VERSION)

    def SetQueueDrainFlag(self, drain_flag: bool) -> Any:
        return self.CallMethod(REQ_SET_DRAIN_FLAG, [drain_flag])

    def SetWatcherPause(self, until: float | None) -> Any:
        return self.CallMethod(REQ_SET_WATCHER_PAUSE, [until])

    def PickupJob(self, job: Any) -> Any:
        return self.CallMethod(REQ_PICKUP_JOB, [job])

    def SubmitJob(self, ops: Iterable[Any]) -> Any:
        return self.CallMethod(REQ_SUBMIT_JOB, [_OpsToList(ops)])

    def SubmitJobToDrainedQueue(self, ops: Iterable[Any]) -> Any:
        return self.CallMethod(REQ_SUBMIT_JOB_TO_DRAINED_QUEUE, [_OpsToList(ops)])

    def SubmitManyJobs(self, jobs: Iterable[Iterable[Any]]) -> Any:
        return self.CallMethod(REQ_SUBMIT_MANY_JOBS,
                               [[_OpsToList(ops) for ops in jobs]])

    def CancelJob(self, job_id: int | str, kill: bool = False) -> Any:
        job_id = _PrepareJobId(REQ_CANCEL_JOB, job_id)
        return self.CallMethod(REQ_CANCEL_JOB, [job_id, kill])

    def ArchiveJob(self, job_id: int | str) -> Any:
        job_id = _PrepareJobId(REQ_ARCHIVE_JOB, job_id)
        return self.CallMethod(REQ_ARCHIVE_JOB, [job_id])

    def ChangeJobPriority(self, job_id: int | str, priority: int) -> Any:
        job_id = _PrepareJobId(REQ_CHANGE_JOB_PRIORITY, job_id)
        return self.CallMethod(REQ_CHANGE_JOB_PRIORITY, [job_id, priority])

    def AutoArchiveJobs(self, age: int,
                        timeout: int = (LUXI_DEF_RWTO - 1) // 2) -> Any:
        return self.CallMethod(REQ_AUTO_ARCHIVE_JOBS, [age, timeout])

    def WaitForJobChangeOnce(self, job_id: int | str, fields: list[str],
                             prev_job_info: list[Any] | None,
                             prev_log_serial: int | None,
                             timeout: float = LUXI_WFJC_TIMEOUT) -> Any:
        """Wait once for a change of the job; see spec/jobs.md section 6.

        Returns:
          JOB_NOTCHANGED, or [job_info, log_entries].

        Raises:
          errors.ProgrammerError: timeout is negative.
        """
        if timeout < 0:
            raise errors.ProgrammerError("Timeout can not be negative")
        job_id = _PrepareJobId(REQ_WAIT_FOR_JOB_CHANGE, job_id)
        return self.CallMethod(REQ_WAIT_FOR_JOB_CHANGE,
                               [job_id, fields, prev_job_info, prev_log_serial,
                                min(LUXI_WFJC_TIMEOUT, timeout)])

    def WaitForJobChange(self, job_id: int | str, fields: list[str],
                         prev_job_info: list[Any] | None,
                         prev_log_serial: int | None) -> Any:
        """Like WaitForJobChangeOnce, but wait until something changed."""
        while True:
            result = self.WaitForJobChangeOnce(job_id, fields, prev_job_info,
                                               prev_log_serial)
            if result != JOB_NOTCHANGED:
                return result

    def Query(self, what: str, fields: list[str], qfilter: Any) -> Any:
        """Query2 request; returns the raw {"fields", "data"} dict."""
        return self.CallMethod(REQ_QUERY, [what, fields, qfilter])

    def QueryFields(self, what: str, fields: list[str] | None) -> Any:
        """Field definitions; returns the raw {"fields"} dict."""
        return self.CallMethod(REQ_QUERY_FIELDS, [what, fields])

    def QueryJobs(self, job_ids: list[int | str] | None,
                  fields: list[str]) -> Any:
        return self.CallMethod(REQ_QUERY_JOBS, [job_ids, fields])

    def QueryInstances(self, names: list[str], fields: list[str],
                       use_locking: bool) -> Any:
        return self.CallMethod(REQ_QUERY_INSTANCES, [names, fields, use_locking])

    def QueryNodes(self, names: list[str], fields: list[str],
                   use_locking: bool) -> Any:
        return self.CallMethod(REQ_QUERY_NODES, [names, fields, use_locking])

    def QueryGroups(self, names: list[str], fields: list[str],
                    use_locking: bool) -> Any:
        return self.CallMethod(REQ_QUERY_GROUPS, [names, fields, use_locking])

    def QueryNetworks(self, names: list[str], fields: list[str],
                      use_locking: bool) -> Any:
        return self.CallMethod(REQ_QUERY_NETWORKS, [names, fields, use_locking])

    def QueryExports(self, nodes: list[str], use_locking: bool) -> Any:
        return self.CallMethod(REQ_QUERY_EXPORTS, [nodes, use_locking])

    def QueryClusterInfo(self) -> Any:
        return self.CallMethod(REQ_QUERY_CLUSTER_INFO, [])

    def QueryConfigValues(self, fields: list[str]) -> Any:
        return self.CallMethod(REQ_QUERY_CONFIG_VALUES, [fields])

    def QueryTags(self, kind: str, name: str) -> Any:
        return self.CallMethod(REQ_QUERY_TAGS, [kind, name])

    def QueryFilters(self, uuids: list[str] | None, fields: list[str]) -> Any:
        return self.CallMethod(REQ_QUERY_FILTERS, [uuids, fields])

    def ReplaceFilter(self, uuid: str | None, priority: int,
                      predicates: list[Any], action: Any,
                      reason: list[Any]) -> Any:
        return self.CallMethod(REQ_REPLACE_FILTER,
                               [uuid, priority, predicates, action, reason])

    def DeleteFilter(self, uuid: str) -> Any:
        return self.CallMethod(REQ_DELETE_FILTER, [uuid])
