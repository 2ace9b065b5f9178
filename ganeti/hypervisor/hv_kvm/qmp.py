"""A small QMP (QEMU Machine Protocol) client over a unix socket.

Ganeti's hv_kvm/monitor.py talks QMP to every qemu it starts; this client does
the same job for our driver: it reads the greeting, negotiates capabilities,
runs commands (matching each reply to its request by "id"), keeps the
asynchronous events qemu sends in between, and turns every failure (no
socket, qemu gone, timeout, a command qemu refuses) into an
errors.HypervisorError whose message names the socket and the command.

Unix socket paths are limited to 107 bytes. A virtual cluster's run directory
can be deeper than that, so long paths are reached through the
/proc/self/fd/<dirfd>/<name> alias of the socket's directory (see
ShortSocketPath), both when qemu creates the socket and when we connect.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ganeti import errors, serializer

logger = logging.getLogger(__name__)

# sizeof(sockaddr_un.sun_path) minus the terminating NUL.
MAX_UNIX_PATH = 107

# Seconds to wait for the greeting or a reply by default.
DEFAULT_TIMEOUT = 10.0

# How much of the socket to read at once.
_READ_SIZE = 65536


class QmpCommandError(errors.HypervisorError):
    """qemu answered a command with an error object.

    Attributes:
      command: the QMP command that failed.
      error_class: the QMP error class (e.g. "GenericError", "CommandNotFound").
      desc: qemu's description of the error.
    """

    def __init__(self, command: str, error_class: str, desc: str) -> None:
        super().__init__(f"QMP command '{command}' failed: {desc}"
                         f" ({error_class})")
        self.command = command
        self.error_class = error_class
        self.desc = desc


@contextmanager
def ShortSocketPath(path: str) -> Iterator[tuple[str, int | None]]:
    """Yield a name for the unix socket at path that fits in sun_path.

    A short path is yielded as is. For a long one, the socket's directory is
    opened (O_PATH) and /proc/self/fd/<fd>/<name> is yielded together with
    the descriptor, which stays open until the block ends; a child process
    that must use the same name has to inherit that descriptor (pass_fds).

    Args:
      path: absolute path of the socket.

    Yields:
      (usable path, directory descriptor or None).

    Raises:
      errors.HypervisorError: the directory cannot be opened, or even the
        short form is too long (a socket name over ~80 bytes).
    """
    if len(os.fsencode(path)) <= MAX_UNIX_PATH:
        yield path, None
        return
    dirname, basename = os.path.split(path)
    try:
        dir_fd = os.open(dirname, os.O_PATH | os.O_DIRECTORY)
    except OSError as err:
        raise errors.HypervisorError(
            f"Can't open the directory of socket {path}: {err.strerror}") from err
    try:
        short = f"/proc/self/fd/{dir_fd}/{basename}"
        if len(os.fsencode(short)) > MAX_UNIX_PATH:
            raise errors.HypervisorError(f"Socket name too long: {basename}")
        yield short, dir_fd
    finally:
        os.close(dir_fd)


def ConnectUnixSocket(path: str, timeout: float) -> socket.socket:
    """Connect a stream socket to the unix socket at path (any length).

    Raises:
      errors.HypervisorError: nobody listens there (qemu not running) or
        the connection timed out.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with ShortSocketPath(path) as (address, _):
            sock.connect(address)
    except OSError as err:
        sock.close()
        if isinstance(err, socket.timeout):
            reason = "timed out"
        elif err.errno in (errno.ENOENT, errno.ECONNREFUSED):
            reason = "no process is listening (is the instance running?)"
        else:
            reason = err.strerror or str(err)
        raise errors.HypervisorError(
            f"Can't connect to qemu socket {path}: {reason}") from err
    except errors.HypervisorError:
        sock.close()
        raise
    return sock


class QmpConnection:
    """One QMP session with a running qemu.

    Use as a context manager, or call Connect() and Close(). Not thread-safe:
    one session per caller.
    """

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self.version: dict[str, Any] | None = None
        self.events: list[dict[str, Any]] = []
        self._sock: socket.socket | None = None
        self._buf = b""
        self._ids = itertools.count(1)

    def __enter__(self) -> QmpConnection:
        self.Connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def IsConnected(self) -> bool:
        return self._sock is not None

    def Connect(self) -> None:
        """Connect, read the greeting and leave capabilities negotiation mode.

        Raises:
          errors.HypervisorError: qemu is not there or does not speak QMP.
        """
        self._sock = ConnectUnixSocket(self.path, self.timeout)
        try:
            greeting = self._ReadMessage(time.monotonic() + self.timeout)
            if "QMP" not in greeting:
                raise errors.HypervisorError(
                    f"No QMP greeting on {self.path}: got {greeting!r}")
            self.version = greeting["QMP"].get("version", {}).get("qemu")
            self.Execute("qmp_capabilities")
        except BaseException:
            self.Close()
            raise

    def Close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf = b""

    def Execute(self, command: str, arguments: dict[str, Any] | None = None,
                timeout: float | None = None) -> Any:
        """Run one QMP command and return its "return" value.

        Args:
          command: the QMP command name (e.g. "query-status").
          arguments: the command's arguments, if any.
          timeout: seconds to wait for the reply (default: the session's).

        Raises:
          QmpCommandError: qemu refused the command.
          errors.HypervisorError: no session, qemu went away, or timeout.
        """
        if self._sock is None:
            raise errors.HypervisorError(
                f"QMP command '{command}' on {self.path}: not connected")
        msg_id = f"gnt-{next(self._ids)}"
        request: dict[str, Any] = {"execute": command, "id": msg_id}
        if arguments:
            request["arguments"] = arguments
        self._Send(serializer.DumpJsonBytes(request) + b"\n", command)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            msg = self._ReadMessage(deadline, command)
            if "event" in msg:
                self.events.append(msg)
                continue
            if msg.get("id") != msg_id:
                logger.debug("Ignoring QMP message %r on %s", msg, self.path)
                continue
            if "error" in msg:
                error = msg["error"]
                raise QmpCommandError(command, error.get("class", "?"),
                                      error.get("desc", "unknown error"))
            return msg.get("return")

    def WaitForEvent(self, names: set[str] | frozenset[str],
                     timeout: float) -> dict[str, Any] | None:
        """Wait for one of the named events (already received ones count).

        Returns:
          the event message, or None if none came in time or qemu closed the
          connection (which is how a quitting qemu ends the session).
        """
        deadline = time.monotonic() + timeout
        while True:
            for idx, event in enumerate(self.events):
                if event.get("event") in names:
                    return self.events.pop(idx)
            try:
                msg = self._ReadMessage(deadline, "waiting for events")
            except errors.HypervisorError:
                return None
            if "event" in msg:
                self.events.append(msg)

    def _Send(self, data: bytes, command: str) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except OSError as err:
            self.Close()
            raise errors.HypervisorError(
                f"Can't send QMP command '{command}' to {self.path}:"
                f" {err.strerror or err}") from err

    def _ReadMessage(self, deadline: float, what: str = "greeting",
                     ) -> dict[str, Any]:
        """Return the next JSON message, reading until a full line is there."""
        while b"\n" not in self._buf:
            self._Fill(deadline, what)
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            msg = serializer.LoadJson(line)
        except errors.ParseError as err:
            raise errors.HypervisorError(
                f"Invalid QMP message from {self.path}: {line[:200]!r}") from err
        if not isinstance(msg, dict):
            raise errors.HypervisorError(
                f"Invalid QMP message from {self.path}: {line[:200]!r}")
        return msg

    def _Fill(self, deadline: float, what: str) -> None:
        if self._sock is None:
            raise errors.HypervisorError(f"QMP {what} on {self.path}: not connected")
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._sock], [], [], remaining)[0]:
            raise errors.HypervisorError(
                f"Timeout waiting for qemu on {self.path} ({what})")
        try:
            data = self._sock.recv(_READ_SIZE)
        except OSError as err:
            self.Close()
            raise errors.HypervisorError(
                f"Error reading from qemu on {self.path} ({what}):"
                f" {err.strerror or err}") from err
        if not data:
            self.Close()
            raise errors.HypervisorError(
                f"qemu closed the QMP connection on {self.path} ({what})")
        self._buf += data


def RunQmpCommand(path: str, command: str,
                  arguments: dict[str, Any] | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Open a session, run one command, close the session.

    Raises:
      QmpCommandError, errors.HypervisorError: as QmpConnection.Execute.
    """
    with QmpConnection(path, timeout=timeout) as qmp:
        return qmp.Execute(command, arguments)
