"""HTTP/1.1 client with a pool of persistent (TLS) connections.

Design notes:
- The master talks to every node many times per job; a TLS handshake costs
  more than a whole RPC, so connections are kept open between requests (one
  idle list per (host, port)) and reused. Ganeti used pycurl with a new
  connection per request.
- Each in-flight request owns its connection; the pool's lock is held only
  to take or give back an idle connection, so any number of threads may call
  Request at once.
- A connection taken from the idle list may have been closed by the server
  meanwhile (its idle timeout, a restart). If sending fails, or the
  connection ends before the first byte of the response, the request is sent
  once more on a fresh connection. A request that timed out or got a partial
  response is never resent: the node may be executing it.
- TCP_NODELAY is set on every socket: the request goes out in two writes at
  most, and Nagle plus delayed ACK would add ~40 ms to each call.
- Errors are translated here, once: timeouts to errors.RpcTimeoutError,
  connection and TLS failures to errors.RpcNetworkError, non-HTTP answers to
  errors.RpcProtocolError (STYLE.md H3).
"""

from __future__ import annotations

import collections
import select
import socket
import ssl
import threading
import time

from ganeti import constants, errors
from ganeti import http
from ganeti.http import stream as http_stream
from ganeti.http.tls import MakeClientSslContext  # noqa: F401  (re-exported)

# Idle connections older than this are closed rather than reused; it is
# below the servers' idle timeout (ganeti.http.server.DEFAULT_IDLE_TIMEOUT),
# so reuse rarely meets a connection the server is closing.
IDLE_CONNECTION_MAX_AGE = 60.0
# Largest response accepted (ganeti.constants.NODED_MAX_BODY_SIZE is the
# largest request; answers such as node_verify stay far below this).
MAX_RESPONSE_SIZE = 1024 * 1024 * 1024


class _Retry(Exception):
    """The reused connection was dead before the request reached the server."""


class _Connection:
    """One open connection and its read buffer."""

    def __init__(self, sock: socket.socket, key: tuple[str, int]) -> None:
        self.sock = sock
        self.key = key
        self.stream = http_stream.BufferedSocket(sock)
        self.last_used = time.monotonic()

    def Close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def LooksAlive(self) -> bool:
        """Whether an idle connection may be reused.

        An idle connection must have nothing to read; readable means the
        server closed it (or sent something unexpected).
        """
        if time.monotonic() - self.last_used > IDLE_CONNECTION_MAX_AGE:
            return False
        # poll, not select: a busy master has more than 1024 descriptors.
        poller = select.poll()
        try:
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False


def _FormatAddress(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _Describe(err: BaseException) -> str:
    """A short human-readable reason for a socket or TLS error."""
    if isinstance(err, ssl.SSLError):
        return f"TLS error: {err.reason or err}" if err.reason else f"TLS error: {err}"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or err.__class__.__name__


class HttpClientPool:
    """Sends HTTP(S) requests over persistent, pooled connections."""

    def __init__(self, ssl_context: ssl.SSLContext | None,
                 connect_timeout: float = constants.RPC_CONNECT_TIMEOUT,
                 max_idle_per_host: int = 8) -> None:
        """Initialise the pool.

        Args:
          ssl_context: client TLS context (MakeClientSslContext); None speaks
            plain HTTP.
          connect_timeout: seconds for TCP connect plus TLS handshake.
          max_idle_per_host: idle connections kept per (host, port); more
            are closed when given back.
        """
        self._ssl_context = ssl_context
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle_per_host
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, int], collections.deque[_Connection]] = {}

    def Request(self, host: str, port: int, method: str, path: str, body: bytes,
                headers: dict[str, str] | None = None,
                timeout: float = 60) -> tuple[int, bytes]:
        """Send one request and return (status, body).

        Args:
          host: IP address or name of the server.
          port: its TCP port.
          method: e.g. "POST".
          path: e.g. "/version".
          body: request body (Content-Length is always sent).
          headers: extra request headers.
          timeout: seconds to wait for the complete response once sent.

        Raises:
          errors.RpcTimeoutError: connecting or the response took too long;
            the server may still be executing the request.
          errors.RpcNetworkError: the connection could not be made or broke
            (refused, reset, TLS failure); after sending, the server may
            have executed the request.
          errors.RpcProtocolError: the server did not answer with HTTP.
        """
        data = http.FormatRequest(method, path, host, port, headers, body)
        key = (host, port)
        conn = self._TakeIdle(key)
        if conn is not None:
            try:
                return self._Exchange(conn, data, method, timeout, reused=True)
            except _Retry:
                pass
        conn = self._Connect(key)
        try:
            return self._Exchange(conn, data, method, timeout, reused=False)
        except _Retry as err:  # only raised for reused connections
            raise errors.ProgrammerError("fresh connection asked for retry") from err

    def Close(self) -> None:
        """Close all idle connections (in-flight ones close when done)."""
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.Close()

    # --- connections ----------------------------------------------------------

    def _TakeIdle(self, key: tuple[str, int]) -> _Connection | None:
        """Take the most recently used live idle connection to key, if any."""
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if not conns:
                    return None
                conn = conns.pop()
            if conn.LooksAlive():
                return conn
            conn.Close()

    def _GiveBack(self, conn: _Connection) -> None:
        conn.last_used = time.monotonic()
        with self._lock:
            conns = self._idle.setdefault(conn.key, collections.deque())
            if len(conns) < self._max_idle:
                conns.append(conn)
                return
        conn.Close()

    def _Connect(self, key: tuple[str, int]) -> _Connection:
        """Open a new connection (TCP, then TLS if configured).

        Raises:
          errors.RpcTimeoutError, errors.RpcNetworkError: see Request.
        """
        host, port = key
        where = _FormatAddress(host, port)
        sock = None
        try:
            sock = socket.create_connection(key, timeout=self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl_context is not None:
                server_hostname = host if self._ssl_context.check_hostname else None
                sock = self._ssl_context.wrap_socket(sock,
                                                     server_hostname=server_hostname)
        except TimeoutError as err:
            if sock is not None:
                sock.close()
            raise errors.RpcTimeoutError(
                f"Connection to {where} timed out after {self._connect_timeout}"
                " seconds") from err
        except (OSError, ValueError) as err:
            if sock is not None:
                sock.close()
            raise errors.RpcNetworkError(
                f"Cannot connect to {where}: {_Describe(err)}") from err
        return _Connection(sock, key)

    # --- one exchange -----------------------------------------------------------

    def _Exchange(self, conn: _Connection, data: bytes, method: str,
                  timeout: float, reused: bool) -> tuple[int, bytes]:
        """Send data on conn and read the response; conn is given back or closed.

        Raises:
          _Retry: conn was reused and died before the server saw the request.
          errors.Rpc*Error: see Request.
        """
        where = _FormatAddress(*conn.key)
        deadline = time.monotonic() + timeout
        try:
            try:
                conn.stream.SendAll(data, deadline)
                head_bytes = conn.stream.ReadHead(deadline, http.MAX_HEAD_SIZE)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
                if reused:
                    raise _Retry() from None
                raise
            if head_bytes is None:
                if reused:
                    raise _Retry()
                hint = " (was our certificate refused?)" if self._ssl_context else ""
                raise errors.RpcNetworkError(
                    f"Connection to {where} closed by the server without a"
                    f" response{hint}")
            status, body, keep_alive = self._ReadResponse(conn, head_bytes, method,
                                                          deadline)
        except BaseException as err:
            conn.Close()
            if isinstance(err, (_Retry, errors.GenericError)):
                raise
            if isinstance(err, TimeoutError):
                raise errors.RpcTimeoutError(
                    f"No complete response from {where} within {timeout}"
                    " seconds") from err
            if isinstance(err, (OSError, EOFError)):
                raise errors.RpcNetworkError(
                    f"Error in connection to {where}: {_Describe(err)}") from err
            if isinstance(err, ValueError):
                raise errors.RpcProtocolError(
                    f"Invalid HTTP response from {where}: {err}") from err
            raise
        if keep_alive:
            self._GiveBack(conn)
        else:
            conn.Close()
        return status, body

    @staticmethod
    def _ReadResponse(conn: _Connection, head_bytes: bytes, method: str,
                      deadline: float) -> tuple[int, bytes, bool]:
        """Parse a response head and read its body.

        Returns:
          (status, body, whether the connection can be reused).

        Raises:
          errors.RpcProtocolError: the response is not valid HTTP.
          TimeoutError, EOFError, OSError, ValueError: reading failed.
        """
        head = http.ParseResponseHead(head_bytes)
        while 100 <= head.status < 200:  # interim responses
            head_bytes = conn.stream.ReadHead(deadline, http.MAX_HEAD_SIZE)
            if head_bytes is None:
                raise EOFError("connection closed after an interim response")
            head = http.ParseResponseHead(head_bytes)
        keep_alive = http.WantsKeepAlive(head.version, head.headers)
        if not http.ResponseHasBody(method, head.status):
            return head.status, b"", keep_alive
        if http.IsChunked(head.headers):
            return head.status, _ReadChunked(conn.stream, deadline), keep_alive
        length = http.GetContentLength(head.headers)
        if length is None:
            body = conn.stream.ReadUntilClose(deadline, MAX_RESPONSE_SIZE)
            return head.status, body, False
        if length > MAX_RESPONSE_SIZE:
            raise errors.RpcProtocolError(
                f"Response of {length} bytes is larger than {MAX_RESPONSE_SIZE}")
        return head.status, conn.stream.ReadExactly(length, deadline), keep_alive


def _ReadChunked(stream: http_stream.BufferedSocket, deadline: float) -> bytes:
    """Read a chunked body, including its trailer.

    Raises:
      errors.RpcProtocolError: a chunk is malformed or the body too large.
      TimeoutError, EOFError, OSError, ValueError: reading failed.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        size = http.ParseChunkSize(stream.ReadLine(deadline, 4096))
        if size == 0:
            break
        total += size
        if total > MAX_RESPONSE_SIZE:
            raise errors.RpcProtocolError("Chunked response is too large")
        parts.append(stream.ReadExactly(size, deadline))
        if stream.ReadLine(deadline, 2):
            raise errors.RpcProtocolError("Chunk not followed by CRLF")
    while stream.ReadLine(deadline, http.MAX_HEAD_SIZE):
        pass  # trailer fields are ignored
    return b"".join(parts)
