"""ganeti-rapi: the remote API daemon (ganeti-rapi(8)).

Mirrors Ganeti 3.0's lib/server/rapi.py: HTTPS (rapi.pem) on port 5080 of
the master node, HTTP basic authentication against the users file, and
resources (ganeti.rapi) that translate each request into LUXI calls to the
master daemon.

Request handling, in Ganeti's order, each step with its error status:

  1. the path has a resource (else 404), the resource has the method
     (else 501 "Method X is unsupported for path Y");
  2. authentication and access (401 with the Basic challenge, 403);
  3. the body, if any, is application/json (else 415) and valid JSON (else
     400 "Unable to parse JSON data");
  4. the resource runs. LUXI failures map to 502 (master unreachable or
     protocol error) and 504 (timeout); OpPrereqError to 404 (unknown
     entity), 400 (wrong input) or 500; a full or drained queue to 503;
     other Ganeti errors to 500 with the error's text.

Every answer is JSON with a trailing newline, as Ganeti's serializer
writes it; errors are {"code", "message", "explain"}.

LUXI connections: luxi.Client objects are kept in a small pool and reused
across requests, each owned by one request at a time. A fresh connection
per request costs a connect and an accept in masterd (and masterd's
per-client thread start); the pool avoids that on every call. A pooled
client whose connection broke (masterd restarted) reconnects by itself on
its next call.
"""

from __future__ import annotations

import http as _stdlib_http
import logging
import optparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, daemon, errors, http, luxi, pathutils
from ganeti import serializer, ssconf
from ganeti.http import server as http_server
from ganeti.rapi import auth, baserlib, connector

logger = logging.getLogger(__name__)

# Largest request body accepted (413 beyond). The biggest legitimate bodies
# (instance multi-allocation, cluster parameters) are a few KiB.
RAPI_MAX_BODY_SIZE = 16 * 1024 * 1024
# LUXI timeouts (connect, read/write). The connect timeout bounds how long a
# request waits for a master daemon that is (re)starting before the client
# gets 502; reads may take as long as a LUXI call can (WaitForJobChange).
LUXI_TIMEOUTS = (5.0, float(luxi.LUXI_DEF_RWTO))
# Idle LUXI connections kept for reuse.
LUXI_POOL_SIZE = 8
# Ganeti's --max-clients default.
DEFAULT_MAX_CLIENTS = 20
# Keep-alive connections idle longer than this are closed, so that idle
# clients do not hold --max-clients slots for long.
IDLE_TIMEOUT = 30.0

_APP_JSON = http.HTTP_APP_JSON
_JSON_HEADERS = {http.HTTP_CONTENT_TYPE: _APP_JSON}


def FormatErrorMessage(code: int, message: str) -> tuple[str, bytes]:
    """Body of an error answer: {"code", "message", "explain"} (Ganeti's).

    "explain" is the standard long description of the status code.
    """
    try:
        explain = _stdlib_http.HTTPStatus(code).description
    except ValueError:
        explain = ""
    body = serializer.DumpJson({"code": code, "message": message,
                                "explain": explain}) + "\n"
    return _APP_JSON, body.encode("utf-8")


class LuxiClientPool:
    """Idle luxi.Client objects for reuse; thread-safe."""

    def __init__(self, address: str | None = None, max_idle: int = LUXI_POOL_SIZE,
                 timeouts: tuple[float, float] = LUXI_TIMEOUTS,
                 client_cls: Callable[..., Any] = luxi.Client) -> None:
        """Initialise the pool; no connection is made yet.

        Args:
          address: the master daemon's socket (default pathutils.QUERY_SOCKET).
          max_idle: clients kept for reuse; 0 means a new one per request.
          timeouts: (connect, read/write) timeouts of the clients.
          client_cls: luxi.Client or a compatible factory (tests).
        """
        self.address = address or pathutils.QUERY_SOCKET
        self._max_idle = max_idle
        self._timeouts = timeouts
        self._client_cls = client_cls
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._closed = False

    def Get(self) -> Any:
        """An idle client, or a new one.

        Raises:
          luxi.NoMasterError, luxi.PermissionError, luxi.TimeoutError: a new
            client could not connect.
        """
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._client_cls(address=self.address, timeouts=self._timeouts)

    def Put(self, client: Any) -> None:
        """Give a client back (closed if the pool is full or closed)."""
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(client)
                return
        client.Close()

    def Close(self) -> None:
        """Close every idle client; later Put calls close theirs."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for client in idle:
            client.Close()


class _ClientLease:
    """One request's LUXI client: taken from the pool on first use."""

    def __init__(self, pool: LuxiClientPool) -> None:
        self._pool = pool
        self._client: Any = None

    def Get(self) -> Any:
        if self._client is None:
            self._client = self._pool.Get()
        return self._client

    def Release(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._pool.Put(client)


def _MapGanetiError(err: errors.GenericError) -> http.HttpException:
    """The HTTP error for a Ganeti error raised while serving a request."""
    text = baserlib.ErrorText(err)
    if isinstance(err, luxi.TimeoutError):
        return baserlib.HttpGatewayTimeout(
            f"Timeout while talking to the master daemon: {text}")
    if isinstance(err, (luxi.ProtocolError, errors.LuxiError)):
        return baserlib.HttpBadGateway(text)
    if isinstance(err, errors.OpPrereqError) and len(err.args) == 2:
        if err.args[1] == errors.ECODE_NOENT:
            return http.HttpNotFound(text)
        if err.args[1] == errors.ECODE_INVAL:
            return http.HttpBadRequest(text)
    if isinstance(err, errors.JobLost):
        return http.HttpNotFound(text)
    if isinstance(err, errors.JobQueueError):
        return http.HttpServiceUnavailable(text)
    return http.HttpInternalServerError(text)


def _DecodeBody(req: http_server.HttpRequest) -> Any:
    """The request's JSON body, None if empty.

    Raises:
      http.HttpUnsupportedMediaType: the body is not application/json.
      http.HttpBadRequest: the body is not valid JSON.
    """
    if not req.body:
        return None
    ctype = req.headers.get("content-type", "application/octet-stream")
    if ctype.split(";", 1)[0].strip().lower() != _APP_JSON:
        raise http.HttpUnsupportedMediaType(
            f"Request body must be of type {_APP_JSON}, not '{ctype[:100]}'")
    try:
        return serializer.LoadJson(req.body)
    except errors.ParseError as err:
        raise http.HttpBadRequest("Unable to parse JSON data") from err


class RemoteApiHandler:
    """The HttpServer handler of the RAPI daemon."""

    def __init__(self, get_user: Callable[[str], auth.PasswordFileUser | None],
                 reqauth: bool, client_pool: LuxiClientPool,
                 mapper: connector.Mapper | None = None) -> None:
        """Initialise the handler.

        Args:
          get_user: user name -> users file entry or None.
          reqauth: require authentication for every request.
          client_pool: where LUXI clients come from.
          mapper: the URL map (default: every RAPI resource).
        """
        self._get_user = get_user
        self._reqauth = reqauth
        self._pool = client_pool
        self._mapper = mapper or connector.Mapper()

    def __call__(self, req: http_server.HttpRequest) -> http_server.HttpResponse:
        """Serve one request (see the module notes for the steps).

        Raises:
          http.HttpException: the error answer; the server formats it with
            FormatErrorMessage.
        """
        start = time.monotonic()
        (handler_cls, items, args) = self._mapper.getController(req.path)
        path = req.path.partition("?")[0]
        method = req.method.upper()
        if not baserlib.HasMethod(handler_cls, method):
            raise http.HttpNotImplemented(
                f"Method {method} is unsupported for path {path}")
        username = auth.CheckAccess(
            self._get_user, req.headers.get(auth.HTTP_AUTHORIZATION),
            baserlib.GetHandlerAccess(handler_cls, method), self._reqauth,
            f"{method} {path}")
        lease = _ClientLease(self._pool)
        ctx = baserlib.RequestContext(method=method, path=path,
                                      body_data=_DecodeBody(req),
                                      get_client=lease.Get, username=username)
        try:
            result = handler_cls(items, args, ctx).Handle(method)
        except http.HttpException:
            raise
        except errors.GenericError as err:
            mapped = _MapGanetiError(err)
            logger.info("%s %s failed (%d): %s", method, req.path, mapped.code,
                        mapped.message)
            raise mapped from err
        finally:
            lease.Release()
        body = serializer.DumpJsonBytes(result) + b"\n"
        logger.log(logging.DEBUG if method == http.HTTP_GET else logging.INFO,
                   "%s %s by %s: 200 in %.1f ms", method, req.path,
                   username or "(anonymous)", (time.monotonic() - start) * 1000)
        return http_server.HttpResponse(status=http.HTTP_OK, body=body,
                                        headers=dict(_JSON_HEADERS))


# --- daemon -------------------------------------------------------------------


def CheckRapi(options: optparse.Values, args: list[str]) -> None:
    """Exit unless the arguments are sane and this node is the master."""
    if args:
        sys.stderr.write(f"Usage: {sys.argv[0]} [-f] [-d] [-p port] [-b ADDRESS]\n")
        sys.exit(daemon.EXIT_FAILURE)
    if options.max_clients < 1:
        sys.stderr.write(f"{sys.argv[0]} --max-clients argument must be >= 1\n")
        sys.exit(daemon.EXIT_FAILURE)
    ssconf.CheckMaster(options.debug)


def PrepRapi(options: optparse.Values, _args: list[str]) -> dict[str, Any]:
    """Read the users, start watching their file, bind the port.

    Raises:
      errors.X509CertError: the certificate cannot be loaded.
      errors.HttpError: the port cannot be bound.
    """
    if options.ssl:
        ssl_context = http_server.MakeServerSslContext(
            options.ssl_cert, options.ssl_key, cafile=None,
            require_client_cert=False)
    else:
        logger.warning("SSL disabled (--no-ssl): passwords travel in clear text")
        ssl_context = None
    users = auth.RapiUsers(pathutils.RAPI_USERS_FILE)
    pool = LuxiClientPool(pathutils.QUERY_SOCKET)
    handler = RemoteApiHandler(users.Get, options.reqauth, pool)
    server = http_server.HttpServer(
        options.bind_address, options.port, handler, ssl_context=ssl_context,
        max_body_size=RAPI_MAX_BODY_SIZE, idle_timeout=IDLE_TIMEOUT,
        max_connections=options.max_clients, error_formatter=FormatErrorMessage)
    server.Start()
    # Watch before the first read, so that no change can fall in between.
    watcher = auth.UsersFileWatcher(users)
    watcher.Start()
    users.Load()
    return {"server": server, "watcher": watcher, "pool": pool, "users": users}


def ExecRapi(_options: optparse.Values, _args: list[str],
             prep: dict[str, Any]) -> None:
    """Serve until SIGTERM/SIGINT; SIGHUP re-reads the users file."""
    server = prep["server"]
    users = prep["users"]
    daemon.InstallShutdownHandlers(server.Stop)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: users.Load())
    try:
        server.ServeForever()
    finally:
        prep["watcher"].Stop()
        prep["pool"].Close()


def Main() -> None:
    """Entry point of daemons/ganeti-rapi."""
    parser = optparse.OptionParser(
        description="Ganeti Remote API",
        usage="%prog [-f] [-d] [-p port] [-b ADDRESS]",
        version=f"%prog (ganeti) {constants.RELEASE_VERSION}")
    parser.add_option("--require-authentication", dest="reqauth",
                      default=False, action="store_true",
                      help="Disable anonymous HTTP requests and require"
                      " authentication")
    parser.add_option("--max-clients", dest="max_clients",
                      default=DEFAULT_MAX_CLIENTS, type="int",
                      help="Number of simultaneous connections accepted by"
                      " ganeti-rapi")
    daemon.GenericMain(constants.RAPI, parser, CheckRapi, PrepRapi, ExecRapi,
                       default_ssl_cert=pathutils.RAPI_CERT_FILE,
                       default_ssl_key=pathutils.RAPI_CERT_FILE)
