"""Server side of LUXI: unix socket listeners, framing, dispatch, errors.

The master daemon builds a LuxiServer with the socket paths to serve and a
handler `handler(method, args, ctx) -> result`; this module does everything
between the socket and that call. The protocol pieces (ParseRequest,
FormatResponse, REQ_ALL) are shared with the client in ganeti/luxi.py.

Design notes:
- One thread per client connection, as Ganeti's luxid forks one I/O thread
  per client (src/Ganeti/UDSServer.hs `listener`). A connection carries any
  number of request/response pairs in strict alternation; a handler that
  blocks (WaitForJobChange, up to 89 s) only blocks its own client.
- Replies are compact JSON without a "version" key, as luxid writes them
  (spec/samples/luxi-*.txt), so 2.x and 3.x Python clients both accept them.
- A request that cannot be parsed gets the plain string result
  "Failed to parse request: <reason>", luxid's answer. Unlike luxid, which
  closes the connection after that answer, we keep serving the client: the
  EOM framing is intact, so the next message is well delimited.
- Errors of the handler: GenericError subclasses travel encoded as
  [ClassName, [args...]] so the client re-raises the same class; any other
  exception is a bug, logged with its traceback and sent as
  ["GenericError", ["Internal error: <class>: <text>"]].
- Socket files are created atomically with their final mode: bound inside a
  private 0700 directory, chmod-ed to 0660 (never world-accessible), then
  renamed into place, which also replaces a stale socket without a window in
  which the path is missing. A live socket at the path is never replaced.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import selectors
import socket
import stat
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, luxi

logger = logging.getLogger(__name__)

# A message may not grow beyond this without its EOM. Real requests are small
# (an instance-creation opcode is ~1.3 kB, so a SubmitManyJobs of 1,000 such
# jobs is ~1.3 MB); the limit only bounds the memory one runaway or hostile
# local client can make us buffer, while leaving ample room for bulk jobs.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

# A connection with no request for this long is closed. Clients do not idle
# between the calls of one command, and the Client in ganeti/luxi.py
# transparently reconnects when the server closed an idle connection (its
# next send fails with EPIPE, so the request was never delivered). Time
# spent inside the handler does not count.
DEFAULT_CLIENT_TIMEOUT = 600.0

# Socket permissions: the daemons group (RAPI) may connect, others may not
# (spec/samples/run-dir-listing.txt: srw-rw---- in a drwxrwx--- directory).
SOCKET_MODE = 0o660
SOCKET_DIR_MODE = 0o770

# How long Shutdown waits for client threads (e.g. a handler in the middle
# of a WaitForJobChange) before giving up on them; they are daemon threads.
SHUTDOWN_TIMEOUT = 5.0

_RECV_SIZE = 65536
_LISTEN_BACKLOG = socket.SOMAXCONN
# struct ucred {pid_t pid; uid_t uid; gid_t gid;} as returned by SO_PEERCRED.
_UCRED = struct.Struct("3i")


@dataclasses.dataclass(frozen=True)
class ClientContext:
    """Who is on the other end of a connection (from SO_PEERCRED).

    The values are None where the kernel does not report them.
    """

    pid: int | None
    uid: int | None
    gid: int | None
    socket_path: str

    def __str__(self) -> str:
        return f"pid={self.pid} uid={self.uid} gid={self.gid}"


Handler = Callable[[str, list[Any], ClientContext], Any]


def GetPeerCredentials(sock: socket.socket,
                       socket_path: str = "") -> ClientContext:
    """Read the peer's pid/uid/gid of a connected unix socket."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return ClientContext(None, None, None, socket_path)
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, _UCRED.size)
    except OSError:
        logger.debug("Cannot read peer credentials", exc_info=True)
        return ClientContext(None, None, None, socket_path)
    pid, uid, gid = _UCRED.unpack(raw)
    return ClientContext(pid, uid, gid, socket_path)


# --- request dispatch (no sockets) -----------------------------------------


def EncodeError(err: BaseException) -> bytes:
    """A failure response carrying err as [ClassName, [args...]]."""
    name, args = errors.EncodeException(err)
    try:
        return luxi.FormatResponse(False, [name, list(args)])
    except errors.ProgrammerError:
        # An argument that is not JSON (an object): its text still helps.
        return luxi.FormatResponse(False, [name, [str(arg) for arg in args]])


def HandleRequest(msg: bytes, handler: Handler, ctx: ClientContext) -> bytes:
    """Answer one request message (without EOM); never raises.

    Args:
      msg: the request as received.
      handler: called as handler(method, args, ctx) for valid requests.
      ctx: the peer, passed on to the handler.

    Returns:
      The response message, without EOM.
    """
    try:
        method, args, version = luxi.ParseRequest(msg)
    except errors.LuxiError as err:
        logger.warning("Failed to parse request from %s: %s", ctx, err)
        return luxi.FormatResponse(False, f"Failed to parse request: {err}")
    if version is not None and version != constants.LUXI_VERSION:
        logger.warning("Request with LUXI version %r from %s", version, ctx)
        return EncodeError(errors.LuxiError(
            f"LUXI version mismatch, server {constants.LUXI_VERSION},"
            f" request {version}"))
    if method not in luxi.REQ_ALL:
        logger.warning("Unknown LUXI method %r from %s", method, ctx)
        return EncodeError(errors.LuxiError(f"Unknown LUXI method '{method}'"))
    logger.debug("Request %s from %s", method, ctx)
    try:
        result = handler(method, args, ctx)
    except errors.GenericError as err:
        logger.info("Request %s from %s failed: %s", method, ctx, err)
        return EncodeError(err)
    except Exception as err:  # the request loop must survive handler bugs
        logger.exception("Internal error handling %s from %s", method, ctx)
        return EncodeError(errors.GenericError(
            f"Internal error: {err.__class__.__name__}: {err}"))
    try:
        return luxi.FormatResponse(True, result)
    except errors.ProgrammerError as err:
        logger.error("Result of %s cannot be encoded: %s", method, err)
        return EncodeError(errors.GenericError(
            f"Internal error: the result of {method} cannot be encoded"))


class MessageBuffer:
    """Splits a byte stream into EOM-terminated messages.

    Scans each byte only once, so a large message arriving in many small
    chunks costs linear time.
    """

    def __init__(self, max_size: int) -> None:
        self._buf = bytearray()
        self._scanned = 0
        self._max_size = max_size

    def Feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the messages now complete.

        Raises:
          errors.LuxiError: the unterminated rest exceeds the size limit.
        """
        self._buf += data
        msgs = []
        while True:
            pos = self._buf.find(luxi.EOM, self._scanned)
            if pos < 0:
                break
            msgs.append(bytes(self._buf[:pos]))
            del self._buf[:pos + 1]
            self._scanned = 0
        self._scanned = len(self._buf)
        if len(self._buf) > self._max_size:
            raise errors.LuxiError(
                f"Request too large: more than {self._max_size} bytes without"
                " end-of-message marker")
        return msgs

    def HasPartial(self) -> bool:
        return bool(self._buf)


# --- socket files ------------------------------------------------------------


def _EnsureSocketDir(dirname: str) -> None:
    """Create the socket directory (0770) if missing; leave an existing one."""
    if os.path.isdir(dirname):
        return
    try:
        os.makedirs(dirname, mode=SOCKET_DIR_MODE, exist_ok=True)
        os.chmod(dirname, SOCKET_DIR_MODE)
    except OSError as err:
        raise errors.LuxiError(
            f"Cannot create socket directory {dirname}: {err}") from err


def _CheckStaleSocket(path: str) -> None:
    """Make sure path is free or holds a dead socket (which may be replaced).

    Raises:
      errors.LuxiError: path is not a socket, or a server listens on it.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise errors.LuxiError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except OSError:
        logger.info("Replacing stale socket %s", path)
        return
    finally:
        probe.close()
    raise errors.LuxiError(f"Another daemon is already listening on {path}")


def _CreateListener(path: str, gid: int | None) -> tuple[socket.socket, int]:
    """Bind and listen on path with mode 0660; return (socket, inode).

    Raises:
      errors.LuxiError: the socket cannot be created.
    """
    dirname = os.path.dirname(os.path.abspath(path))
    _EnsureSocketDir(dirname)
    _CheckStaleSocket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        tmpdir = tempfile.mkdtemp(prefix=".luxi", dir=dirname)
    except OSError as err:
        sock.close()
        raise errors.LuxiError(f"Cannot listen on {path}: {err}") from err
    tmp_path = os.path.join(tmpdir, "s")
    try:
        sock.bind(tmp_path)
        os.chmod(tmp_path, SOCKET_MODE)
        if gid is not None:
            os.chown(tmp_path, -1, gid)
        os.rename(tmp_path, path)
        sock.listen(_LISTEN_BACKLOG)
        inode = os.lstat(path).st_ino
    except OSError as err:
        sock.close()
        raise errors.LuxiError(f"Cannot listen on {path}: {err}") from err
    finally:
        _RemovePath(tmp_path)
        try:
            os.rmdir(tmpdir)
        except OSError:
            logger.warning("Cannot remove temporary directory %s", tmpdir)
    return sock, inode


def _RemovePath(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.warning("Cannot remove %s: %s", path, err)


def _RemoveOwnSocket(path: str, inode: int) -> None:
    """Remove the socket file unless another process replaced it since."""
    try:
        if os.lstat(path).st_ino != inode:
            return
    except FileNotFoundError:
        return
    _RemovePath(path)


# --- the server ----------------------------------------------------------------


@dataclasses.dataclass
class _Listener:
    path: str
    sock: socket.socket
    inode: int


class LuxiServer:
    """Serves LUXI on one or more unix sockets, one thread per client."""

    def __init__(self, socket_paths: list[str], handler: Handler, *,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 client_timeout: float | None = DEFAULT_CLIENT_TIMEOUT,
                 socket_gid: int | None = None) -> None:
        """Prepare a server; nothing is opened before Start().

        Args:
          socket_paths: every path to listen on (masterd passes
            [pathutils.QUERY_SOCKET, pathutils.MASTER_SOCKET]).
          handler: called as handler(method, args, ctx) in the client's
            thread; returns the result or raises (see HandleRequest).
          max_message_size: largest request accepted, in bytes.
          client_timeout: idle seconds before a connection is closed, or
            None for no limit.
          socket_gid: group to give the socket files (the daemons group).
        """
        if not socket_paths:
            raise errors.ProgrammerError("LuxiServer needs at least one path")
        self._paths = list(socket_paths)
        self._handler = handler
        self._max_message_size = max_message_size
        self._client_timeout = client_timeout
        self._socket_gid = socket_gid
        self._listeners: list[_Listener] = []
        self._lock = threading.Lock()
        self._clients: dict[socket.socket, threading.Thread] = {}
        self._stopping = threading.Event()
        self._started = False
        self._accept_thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1

    def __enter__(self) -> LuxiServer:
        self.Start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Shutdown()

    @property
    def socket_paths(self) -> list[str]:
        return list(self._paths)

    def Start(self) -> None:
        """Open every socket and start accepting clients in the background.

        Raises:
          errors.LuxiError: a socket could not be opened; none is left open.
          errors.ProgrammerError: Start was already called.
        """
        if self._started:
            raise errors.ProgrammerError("LuxiServer already started")
        try:
            for path in self._paths:
                sock, inode = _CreateListener(path, self._socket_gid)
                self._listeners.append(_Listener(path, sock, inode))
        except errors.LuxiError:
            self._CloseListeners()
            raise
        self._wake_r, self._wake_w = os.pipe()
        self._started = True
        self._accept_thread = threading.Thread(
            target=self._AcceptLoop, name="luxi-accept", daemon=True)
        self._accept_thread.start()
        logger.info("LUXI server listening on %s", ", ".join(self._paths))

    def ServeForever(self) -> None:
        """Start if needed and block until Shutdown() (from another thread or
        a signal handler) has been called."""
        if not self._started:
            self.Start()
        # Wake up regularly so that signal handlers run in the main thread.
        while not self._stopping.wait(1.0):
            pass

    def _AcceptLoop(self) -> None:
        with selectors.DefaultSelector() as sel:
            for listener in self._listeners:
                sel.register(listener.sock, selectors.EVENT_READ, listener)
            sel.register(self._wake_r, selectors.EVENT_READ, None)
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.data is None or self._stopping.is_set():
                        return
                    self._Accept(key.data)

    def _Accept(self, listener: _Listener) -> None:
        try:
            conn, _ = listener.sock.accept()
        except OSError as err:
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                             errno.ENOMEM):
                logger.error("Cannot accept on %s: %s", listener.path, err)
                time.sleep(0.1)  # resources are short: do not spin
            return
        conn.settimeout(self._client_timeout)
        ctx = GetPeerCredentials(conn, listener.path)
        thread = threading.Thread(target=self._ServeClient, args=(conn, ctx),
                                  name=f"luxi-client-{ctx.pid}", daemon=True)
        with self._lock:
            self._clients[conn] = thread
        logger.debug("New LUXI client %s on %s", ctx, listener.path)
        thread.start()

    def _ServeClient(self, conn: socket.socket, ctx: ClientContext) -> None:
        try:
            self._ClientLoop(conn, ctx)
        finally:
            with self._lock:
                self._clients.pop(conn, None)
            conn.close()
            logger.debug("LUXI client %s disconnected", ctx)

    def _ClientLoop(self, conn: socket.socket, ctx: ClientContext) -> None:
        """Read requests and answer them until EOF, error or shutdown."""
        reader = MessageBuffer(self._max_message_size)
        while not self._stopping.is_set():
            try:
                data = conn.recv(_RECV_SIZE)
            except TimeoutError:
                logger.info("Closing idle LUXI connection of %s", ctx)
                return
            except OSError as err:
                logger.debug("Error reading from %s: %s", ctx, err)
                return
            if not data:
                if reader.HasPartial():
                    logger.warning("Client %s closed mid-message", ctx)
                return
            try:
                msgs = reader.Feed(data)
            except errors.LuxiError as err:
                logger.warning("Dropping client %s: %s", ctx, err)
                self._Reply(conn, ctx, EncodeError(err))
                return
            for msg in msgs:
                reply = HandleRequest(msg, self._handler, ctx)
                if not self._Reply(conn, ctx, reply):
                    return

    def _Reply(self, conn: socket.socket, ctx: ClientContext,
               reply: bytes) -> bool:
        """Send one response; return False if the connection is unusable."""
        try:
            conn.sendall(reply + luxi.EOM)
        except OSError as err:
            logger.info("Cannot send reply to %s: %s", ctx, err)
            return False
        return True

    def _CloseListeners(self) -> None:
        for listener in self._listeners:
            listener.sock.close()
            _RemoveOwnSocket(listener.path, listener.inode)
        self._listeners = []

    def Shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Stop accepting, disconnect every client and remove the sockets.

        Idle clients are disconnected at once; a client whose request is
        still being handled is waited for up to timeout seconds, then
        abandoned (its thread is a daemon thread). Safe to call repeatedly.
        """
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
        if self._started:
            os.write(self._wake_w, b"x")
            assert self._accept_thread is not None
            self._accept_thread.join()
        self._CloseListeners()
        with self._lock:
            clients = list(self._clients.items())
        for conn, _ in clients:
            try:
                # Wakes the thread blocked in recv(); it closes conn itself.
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in clients:
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                logger.warning("LUXI client thread %s did not stop in time",
                               thread.name)
        if self._started:
            os.close(self._wake_r)
            os.close(self._wake_w)
        logger.info("LUXI server stopped")

    def ClientCount(self) -> int:
        """Number of connected clients (for monitoring and tests)."""
        with self._lock:
            return len(self._clients)
