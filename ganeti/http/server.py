"""Threaded HTTP/1.1 (and HTTPS) server for Ganeti's daemons.

Design notes:
- One thread per connection. The accept loop only accepts; the TLS
  handshake, reading, the handler call and writing all happen in the
  connection's thread, so a slow client (or a slow handler) holds up only its
  own connection. Daemons shrink thread stacks (threading.stack_size) to keep
  many connections cheap.
- Connections are persistent (keep-alive). Between requests a connection is
  "idle"; one idle longer than idle_timeout is closed. Once the first byte of
  a request arrived, the whole request must arrive within request_timeout.
- Bodies are read only after their announced size was checked against
  max_body_size, so an oversized request costs no memory (413).
- Ganeti's lib/http/server.py forked a child per request and closed the
  connection after each; the protocol seen by clients is the same, minus the
  forced "Connection: close".
- Error responses carry just the message, as text/plain, so that a node
  RPC failure reads "Error 400: Only the POST method is supported" on the
  master (Ganeti sent an HTML page); RAPI passes its own error_formatter.
- Shutdown: Stop() (safe from a signal handler) ends the accept loop;
  ServeForever then closes idle connections, lets in-flight requests finish
  for up to shutdown_timeout seconds, and returns.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import selectors
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors
from ganeti import http
from ganeti.http import stream as http_stream
from ganeti.http import tls
from ganeti.http.tls import MakeServerSslContext  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
# Enough for every node of a large cluster plus RAPI clients; beyond this
# new connections are closed at once instead of exhausting threads.
DEFAULT_MAX_CONNECTIONS = 512
# After an error response the connection is closed "lingering": our side
# stops sending, then reads and discards what the client still sends for up
# to this long, so the client gets to read the error instead of a reset.
_LINGER_TIME = 2.0
_LINGER_MAX_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass
class HttpRequest:
    """One request as the handler sees it.

    Attributes:
      method: e.g. "POST".
      path: the request target as sent, e.g. "/version".
      headers: header names lower-cased.
      body: the complete body.
      peer_address: the client's (host, port).
      peer_cert_digest: SHA1 digest (Ganeti format) of the client's TLS
        certificate, None without TLS or certificate.
      version: the request's HTTP version.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_address: tuple[Any, ...]
    peer_cert_digest: str | None = None
    version: str = http.HTTP_1_1


@dataclasses.dataclass
class HttpResponse:
    """What a handler answers; the server adds Content-Length, Date, etc."""

    status: int = http.HTTP_OK
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


Handler = Callable[[HttpRequest], HttpResponse]
PeerCheck = Callable[[bytes | None], bool]
ErrorFormatter = Callable[[int, str], tuple[str, bytes]]


def FormatPlainError(status: int, message: str) -> tuple[str, bytes]:
    """Default error body: the message as plain text.

    Returns:
      (content type, body).
    """
    return http.HTTP_TEXT_PLAIN, message.encode("utf-8")


class _Connection:
    """Book-keeping of one client connection, guarded by the server's lock."""

    def __init__(self, sock: socket.socket, peer: tuple[Any, ...]) -> None:
        self.sock = sock
        self.peer = peer
        self.busy = False

    def Abort(self) -> None:
        """Wake the connection's thread by shutting the socket down.

        socket.socket.shutdown is called directly: SSLSocket.shutdown would
        tear down the TLS object under the thread that is using it.
        """
        try:
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass


def _FormatPeer(peer: tuple[Any, ...]) -> str:
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _LingeringClose(sock: socket.socket) -> None:
    """Close after an error response without resetting the connection."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_WR)
        deadline = time.monotonic() + _LINGER_TIME
        drained = 0
        while drained < _LINGER_MAX_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            data = sock.recv(256 * 1024)
            if not data:
                break
            drained += len(data)
    except (OSError, ValueError):
        pass


class HttpServer:
    """A threaded HTTP/1.1 server calling one handler for every request."""

    def __init__(self, address: str, port: int, handler: Handler,
                 ssl_context: ssl.SSLContext | None = None,
                 max_body_size: int = constants.NODED_MAX_BODY_SIZE,
                 request_timeout: float = 60.0,
                 peer_check: PeerCheck | None = None, *,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 error_formatter: ErrorFormatter = FormatPlainError) -> None:
        """Initialise the server (nothing is bound until Start).

        Args:
          address: IP address to listen on ("0.0.0.0", "::", "127.0.0.1"...).
          port: TCP port; 0 picks a free one (see the port attribute after
            Start).
          handler: called for every request, in the connection's thread; it
            may raise an http.HttpException to answer with an error status.
          ssl_context: serve HTTPS with this context (see
            MakeServerSslContext); None serves plain HTTP.
          max_body_size: larger request bodies are refused with 413.
          request_timeout: seconds a client has to send a whole request once
            it started, and to take the response.
          peer_check: called after the TLS handshake with the DER of the
            client's certificate (None if it sent none); False closes the
            connection.
          idle_timeout: seconds a keep-alive connection may stay idle.
          handshake_timeout: seconds a client has to complete the handshake.
          shutdown_timeout: seconds in-flight requests get at shutdown.
          max_connections: connections beyond this are closed at once.
          error_formatter: builds (content type, body) of error responses.
        """
        self.address = address
        self.port = port
        self._handler = handler
        self._ssl_context = ssl_context
        self._max_body_size = max_body_size
        self._request_timeout = request_timeout
        self._peer_check = peer_check
        self._idle_timeout = idle_timeout
        self._handshake_timeout = handshake_timeout
        self._shutdown_timeout = shutdown_timeout
        self._max_connections = max_connections
        self._error_formatter = error_formatter
        self._listener: socket.socket | None = None
        self._wake_r = self._wake_w = -1
        self._stop_requested = False
        self._serving_thread: int | None = None
        self._served = threading.Event()
        # Guards _conns and _stopping; notified when a connection ends or
        # becomes idle (the shutdown drain waits on it).
        self._cond = threading.Condition()
        self._conns: set[_Connection] = set()
        self._stopping = False

    # --- life cycle ---------------------------------------------------------

    def Start(self) -> None:
        """Bind and listen.

        Raises:
          errors.HttpError: the address cannot be bound (in use, not local,
            no permission); the message names address, port and reason.
        """
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, self.port))
            sock.listen(128)
        except OSError as err:
            sock.close()
            reason = err.strerror or str(err)
            raise errors.HttpError(
                f"Cannot listen on {_FormatPeer((self.address, self.port))}:"
                f" {reason}") from err
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        weakref.finalize(self, os.close, self._wake_w)
        logger.info("Listening on %s (%s)", _FormatPeer((self.address, self.port)),
                    "https" if self._ssl_context else "http")

    def ServeForever(self) -> None:
        """Accept connections until Stop or Shutdown, then drain and return.

        Raises:
          errors.ProgrammerError: Start was not called.
        """
        if self._stop_requested:
            return
        if self._listener is None:
            raise errors.ProgrammerError("HttpServer.Start() was not called")
        self._serving_thread = threading.get_ident()
        selector = selectors.DefaultSelector()
        try:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stop_requested:
                for key, _ in selector.select():
                    if key.fileobj is self._listener and not self._stop_requested:
                        self._Accept()
        finally:
            selector.close()
            self._CloseListener()
            self._Drain()
            self._served.set()

    def Stop(self) -> None:
        """Ask ServeForever to stop; returns at once (signal-handler safe)."""
        self._stop_requested = True
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass  # pipe full (already woken) or closed (already stopped)

    def Shutdown(self) -> None:
        """Stop accepting, let in-flight requests finish briefly, close all.

        From the thread running ServeForever (e.g. a signal handler) this
        only requests the stop; from any other thread it waits until
        ServeForever has returned.
        """
        self.Stop()
        if self._serving_thread is not None:
            if self._serving_thread != threading.get_ident():
                self._served.wait()
            return
        self._CloseListener()
        self._Drain()

    def _CloseListener(self) -> None:
        """Close the listening socket and the wake-up pipe's read end.

        The write end stays open until the server object is collected, so a
        late Stop() never writes to a closed, possibly reused, descriptor; it
        gets EPIPE instead.
        """
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._wake_r >= 0:
            os.close(self._wake_r)
            self._wake_r = -1

    def _Drain(self) -> None:
        """Close idle connections, wait for busy ones, then close the rest."""
        deadline = time.monotonic() + self._shutdown_timeout
        with self._cond:
            self._stopping = True
            for conn in self._conns:
                if not conn.busy:
                    conn.Abort()
            while any(conn.busy for conn in self._conns):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning("%d request(s) still running at shutdown",
                                   sum(conn.busy for conn in self._conns))
                    break
                self._cond.wait(remaining)
            for conn in self._conns:
                conn.Abort()

    # --- connections --------------------------------------------------------

    def _Accept(self) -> None:
        assert self._listener is not None
        try:
            sock, peer = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as err:
            # Out of file descriptors: back off instead of spinning.
            logger.error("Cannot accept connection: %s", err)
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                time.sleep(0.1)
            return
        with self._cond:
            too_many = len(self._conns) >= self._max_connections
            if not too_many:
                conn = _Connection(sock, peer)
                self._conns.add(conn)
        if too_many:
            logger.warning("Refusing connection from %s: %d connections open",
                           _FormatPeer(peer), self._max_connections)
            sock.close()
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        thread = threading.Thread(target=self._ServeConnection, args=(conn,),
                                  name=f"http-{_FormatPeer(peer)}", daemon=True)
        try:
            thread.start()
        except RuntimeError as err:
            logger.error("Cannot start thread for %s: %s", _FormatPeer(peer), err)
            self._Forget(conn)
            sock.close()

    def _Forget(self, conn: _Connection) -> None:
        with self._cond:
            self._conns.discard(conn)
            self._cond.notify_all()

    def _SetBusy(self, conn: _Connection, busy: bool) -> bool:
        """Mark conn busy or idle; False if the server is stopping."""
        with self._cond:
            conn.busy = busy
            if not busy:
                self._cond.notify_all()
            return not self._stopping

    def _ServeConnection(self, conn: _Connection) -> None:
        """Thread body: handshake, then requests until close."""
        try:
            digest = self._Handshake(conn)
            if digest is not False:
                stream = http_stream.BufferedSocket(conn.sock)
                while self._ServeOneRequest(conn, stream, digest):
                    pass
        except Exception:  # noqa: BLE001  (request loop of a daemon)
            logger.exception("Unexpected error on connection from %s",
                             _FormatPeer(conn.peer))
        finally:
            self._Forget(conn)
            conn.sock.close()
            logger.debug("Closed connection from %s", _FormatPeer(conn.peer))

    def _Handshake(self, conn: _Connection) -> str | None | bool:
        """Do the TLS handshake and peer check.

        Returns:
          The client certificate digest (None without one), or False if the
          connection must be closed.
        """
        if self._ssl_context is None:
            return None
        conn.sock.settimeout(self._handshake_timeout)
        try:
            conn.sock = self._ssl_context.wrap_socket(conn.sock, server_side=True)
        except (OSError, ValueError) as err:
            logger.info("TLS handshake with %s failed: %s", _FormatPeer(conn.peer),
                        err)
            return False
        der = conn.sock.getpeercert(binary_form=True)
        if self._peer_check is not None:
            try:
                accepted = self._peer_check(der)
            except Exception:  # noqa: BLE001  (a broken check refuses)
                logger.exception("Peer check failed for %s", _FormatPeer(conn.peer))
                accepted = False
            if not accepted:
                logger.warning("Refused connection from %s: client certificate %s"
                               " is not accepted", _FormatPeer(conn.peer),
                               tls.GetCertDigest(der) if der else "(none)")
                return False
        return tls.GetCertDigest(der) if der else None

    def _ServeOneRequest(self, conn: _Connection,
                         stream: http_stream.BufferedSocket,
                         digest: str | None) -> bool:
        """Wait for, read, handle and answer one request.

        Returns:
          Whether the connection stays open for another request.
        """
        if not self._SetBusy(conn, False):
            return False
        try:
            if not stream.WaitForData(self._idle_timeout):
                return False
        except TimeoutError:
            logger.debug("Closing idle connection from %s", _FormatPeer(conn.peer))
            return False
        except (OSError, ValueError):
            return False
        self._SetBusy(conn, True)
        deadline = time.monotonic() + self._request_timeout
        try:
            request = self._ReadRequest(stream, conn.peer, digest, deadline)
        except http.HttpException as err:
            logger.info("Bad request from %s: %s %s", _FormatPeer(conn.peer),
                        err.code, err.message)
            self._SendError(stream, err, deadline)
            return False
        except TimeoutError:
            logger.info("Timeout reading request from %s", _FormatPeer(conn.peer))
            self._SendError(stream, http.HttpRequestTimeout(
                f"Request not received within {self._request_timeout} seconds"),
                deadline + self._request_timeout)
            return False
        except (EOFError, OSError, ValueError) as err:
            logger.debug("Connection from %s broke: %s", _FormatPeer(conn.peer), err)
            return False
        response = self._CallHandler(request)
        keep_alive = (http.WantsKeepAlive(request.version, request.headers) and
                      not self._stopping)
        data = http.FormatResponse(
            response.status, response.headers, response.body, keep_alive,
            send_body=http.ResponseHasBody(request.method, response.status))
        try:
            stream.SendAll(data, time.monotonic() + self._request_timeout)
        except OSError as err:
            logger.info("Cannot send response to %s: %s", _FormatPeer(conn.peer), err)
            return False
        return keep_alive

    def _ReadRequest(self, stream: http_stream.BufferedSocket,
                     peer: tuple[Any, ...], digest: str | None,
                     deadline: float) -> HttpRequest:
        """Read one request; the body only after its size was checked.

        Raises:
          http.HttpException: the request is malformed or too large.
          TimeoutError, EOFError, OSError: the connection failed.
        """
        try:
            head_bytes = stream.ReadHead(deadline, http.MAX_HEAD_SIZE)
        except ValueError as err:
            raise http.HttpBadRequest(f"Request head too long: {err}") from err
        if head_bytes is None:
            raise EOFError("connection closed before a request")
        head = http.ParseRequestHead(head_bytes)
        if "transfer-encoding" in head.headers:
            raise http.HttpLengthRequired(
                "Transfer-Encoding is not supported; send Content-Length")
        try:
            length = http.GetContentLength(head.headers)
        except ValueError as err:
            raise http.HttpBadRequest(f"Bad request header: {err}") from err
        if length is None:
            if head.method in (http.HTTP_POST, http.HTTP_PUT):
                raise http.HttpLengthRequired(
                    f"A {head.method} request needs a Content-Length header")
            length = 0
        if length > self._max_body_size:
            raise http.HttpRequestEntityTooLarge(
                f"Request body of {length} bytes exceeds the limit of"
                f" {self._max_body_size} bytes")
        if head.headers.get("expect", "").lower() == "100-continue":
            stream.SendAll(http.FormatContinue(), deadline)
        body = stream.ReadExactly(length, deadline)
        return HttpRequest(method=head.method, path=head.path, headers=head.headers,
                           body=body, peer_address=peer, peer_cert_digest=digest,
                           version=head.version)

    def _CallHandler(self, request: HttpRequest) -> HttpResponse:
        """Run the handler; exceptions become error responses."""
        try:
            return self._handler(request)
        except http.HttpException as err:
            return self._ErrorResponse(err)
        except Exception:  # noqa: BLE001  (request loop of a daemon)
            logger.exception("Error while handling %s %s from %s", request.method,
                             request.path, _FormatPeer(request.peer_address))
            return self._ErrorResponse(http.HttpInternalServerError(
                "Internal error while handling the request"))

    def _ErrorResponse(self, err: http.HttpException) -> HttpResponse:
        message = err.message or http.GetReason(err.code)
        content_type, body = self._error_formatter(err.code, message)
        headers = {http.HTTP_CONTENT_TYPE: content_type}
        headers.update(err.headers)
        return HttpResponse(status=err.code, body=body, headers=headers)

    def _SendError(self, stream: http_stream.BufferedSocket,
                   err: http.HttpException, deadline: float) -> None:
        """Answer a request that could not be read, then close lingering."""
        response = self._ErrorResponse(err)
        data = http.FormatResponse(response.status, response.headers,
                                   response.body, keep_alive=False)
        try:
            stream.SendAll(data, max(deadline, time.monotonic() + 1.0))
        except OSError:
            return
        _LingeringClose(stream.sock)
