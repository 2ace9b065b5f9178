"""ganeti-noded: the node daemon, serving the node RPC procedures.

Mirrors Ganeti's lib/server/noded.py. The wire protocol (spec/rpc.md
section 1): HTTPS on port 1811, only POST, path "/<procedure>", body a JSON
list of positional arguments, answer HTTP 200 with `[true, result]` or
`[false, message]`. The procedures are ganeti.backend's registry.

Security: the client must present a certificate chaining to the cluster
certificate (server.pem) whose SHA1 digest is listed in ssconf
master_candidates_certs; while that list is empty or absent (cluster
bootstrap, upgrades) the digest of server.pem itself is accepted.

Imports are kept lean (stdlib ssl and hashlib; no pyOpenSSL), since noded
locks all its memory with mlockall.
"""

from __future__ import annotations

import inspect
import logging
import optparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, daemon, errors, pathutils, serializer, ssconf
from ganeti import http
from ganeti.http import server as http_server
from ganeti.http import tls

logger = logging.getLogger(__name__)

BackendFn = Callable[..., Any]

_JSON_HEADERS = {http.HTTP_CONTENT_TYPE: http.HTTP_APP_JSON}


class CandidateCertChecker:
    """Decides which client certificates may call noded (peer_check).

    The allowed digests are cached and re-read when the ssconf file or the
    server certificate changes (checked by stat on every new connection,
    not on every request).
    """

    def __init__(self, server_cert_file: str,
                 ssconf_dir: str | None = None) -> None:
        """Initialise the checker.

        Args:
          server_cert_file: the cluster certificate (server.pem), accepted
            while the candidate list is empty.
          ssconf_dir: directory of the ssconf files (default DATA_DIR).
        """
        self._server_cert_file = server_cert_file
        self._store = ssconf.SimpleStore(cfg_location=ssconf_dir)
        self._ssconf_file = self._store.KeyToFilename(
            ssconf.SS_MASTER_CANDIDATES_CERTS)
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._allowed: frozenset[str] = frozenset()

    @staticmethod
    def _Stat(path: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _Load(self) -> frozenset[str]:
        """Read the allowed digests from ssconf (or server.pem)."""
        try:
            digests = frozenset(self._store.GetMasterCandidatesCertMap().values())
        except errors.ConfigurationError as err:
            logger.debug("No master candidate certificates (%s)", err)
            digests = frozenset()
        if digests:
            return digests
        try:
            return frozenset([tls.GetCertFileDigest(self._server_cert_file)])
        except errors.X509CertError as err:
            logger.error("Cannot read the cluster certificate: %s", err.args[-1])
            return frozenset()

    def GetAllowedDigests(self) -> frozenset[str]:
        """Return the digests currently accepted."""
        stamp = (self._Stat(self._ssconf_file), self._Stat(self._server_cert_file))
        with self._lock:
            if stamp != self._stamp:
                self._allowed = self._Load()
                self._stamp = stamp
                logger.debug("Accepting %d client certificate(s)", len(self._allowed))
            return self._allowed

    def __call__(self, der: bytes | None) -> bool:
        """Whether the client certificate (DER, or None) is accepted."""
        if der is None:
            return False
        return tls.GetCertDigest(der) in self.GetAllowedDigests()


class NodeRequestHandler:
    """Turns one HTTP request into one backend procedure call."""

    def __init__(self, procedures: dict[str, BackendFn],
                 shutdown_fn: Callable[[], None] | None = None) -> None:
        """Initialise the handler.

        Args:
          procedures: name -> function (ganeti.backend.LoadAll()).
          shutdown_fn: called when a procedure asks the daemon to quit
            (errors.QuitGanetiException, e.g. node_leave_cluster), after
            the answer was computed; it must not block.
        """
        self._procedures = procedures
        self._signatures: dict[str, inspect.Signature | None] = {}
        self.shutdown_fn = shutdown_fn

    def __call__(self, req: http_server.HttpRequest) -> http_server.HttpResponse:
        """Handle a request (the HttpServer handler).

        Raises:
          http.HttpBadRequest: not POST, or the body is not a JSON list.
          http.HttpNotFound: unknown procedure.
        """
        if req.method != http.HTTP_POST:
            raise http.HttpBadRequest("Only the POST method is supported")
        name = req.path[1:] if req.path.startswith("/") else req.path
        fn = self._procedures.get(name)
        if fn is None:
            raise http.HttpNotFound(f"Unknown RPC procedure '{name}'")
        args = self._DecodeArgs(name, req.body)
        start = time.monotonic()
        result = self._Call(name, fn, args)
        logger.debug("RPC %s from %s: %d argument(s), %s in %.3f s", name,
                     req.peer_address[0], len(args),
                     "success" if result[0] is True else "failure",
                     time.monotonic() - start)
        return http_server.HttpResponse(body=self._Encode(name, result),
                                        headers=dict(_JSON_HEADERS))

    @staticmethod
    def _DecodeArgs(name: str, body: bytes) -> list[Any]:
        """Parse the body as the JSON list of arguments.

        Raises:
          http.HttpBadRequest: invalid JSON or not a list.
        """
        try:
            args = serializer.LoadJson(body)
        except errors.ParseError as err:
            raise http.HttpBadRequest(
                f"Invalid request body for RPC procedure '{name}': {err}") from err
        if not isinstance(args, list):
            raise http.HttpBadRequest(
                f"Request body for RPC procedure '{name}' must be a JSON list of"
                f" arguments, not {type(args).__name__}")
        return args

    def _CheckArgCount(self, name: str, fn: BackendFn, args: list[Any]) -> str | None:
        """Return an error message if args do not fit fn's signature."""
        if name not in self._signatures:
            try:
                self._signatures[name] = inspect.signature(fn)
            except (TypeError, ValueError):
                self._signatures[name] = None
        signature = self._signatures[name]
        if signature is None:
            return None
        try:
            signature.bind(*args)
        except TypeError:
            expected = ", ".join(signature.parameters)
            return (f"RPC procedure '{name}' takes {len(signature.parameters)}"
                    f" argument(s) ({expected}), got {len(args)}")
        return None

    def _Call(self, name: str, fn: BackendFn, args: list[Any]) -> list[Any]:
        """Run the procedure; return the [success, payload] reply."""
        from ganeti import backend  # for RPCFail; imported by LoadAll anyway

        message = self._CheckArgCount(name, fn, args)
        if message is not None:
            return [False, message]
        try:
            return [True, fn(*args)]
        except backend.RPCFail as err:
            return [False, str(err)]
        except errors.QuitGanetiException as err:
            # As Ganeti: answer with the exception's arguments, then stop.
            logger.info("Shutting down the node daemon, arguments: %s", err.args)
            if self.shutdown_fn is not None:
                self.shutdown_fn()
            return list(err.args)
        except Exception as err:  # noqa: BLE001  (request loop of a daemon)
            logger.exception("Error in RPC call %s", name)
            return [False, f"Error while executing backend function: {err}"]

    @staticmethod
    def _Encode(name: str, result: list[Any]) -> bytes:
        try:
            return serializer.DumpJsonBytes(result)
        except (TypeError, ValueError) as err:
            logger.exception("Result of RPC call %s is not serialisable", name)
            return serializer.DumpJsonBytes(
                [False, f"Error while executing backend function: result of"
                 f" {name} cannot be serialised: {err}"])


def CheckNoded(_options: optparse.Values, args: list[str]) -> None:
    """Exit with a usage message if arguments were given (noded takes none)."""
    if args:
        sys.stderr.write(f"Usage: {sys.argv[0]} [-f] [-d] [-p port] [-b ADDRESS]\n")
        sys.exit(daemon.EXIT_FAILURE)


def _LoadProcedures() -> dict[str, BackendFn]:
    """Import every backend area and return the procedure table.

    Raises:
      errors.ConfigurationError: a backend module cannot be imported.
    """
    from ganeti import backend

    try:
        return backend.LoadAll()
    except ImportError as err:
        raise errors.ConfigurationError(
            f"Cannot load the backend procedures: {err}") from err


def PrepNoded(options: optparse.Values,
              _args: list[str]) -> http_server.HttpServer:
    """Lock memory, load the procedures and bind the port (pid file held).

    Raises:
      errors.X509CertError: the certificate files cannot be loaded.
      errors.HttpError: the port cannot be bound.
    """
    if options.mlock:
        daemon.Mlockall()
    handler = NodeRequestHandler(_LoadProcedures())
    if options.ssl:
        ssl_context = http_server.MakeServerSslContext(
            options.ssl_cert, options.ssl_key, cafile=options.ssl_cert,
            require_client_cert=True)
        peer_check = CandidateCertChecker(options.ssl_cert)
    else:
        logger.warning("SSL disabled (--no-ssl): any client may call noded")
        ssl_context = None
        peer_check = None
    server = http_server.HttpServer(
        options.bind_address, options.port, handler, ssl_context=ssl_context,
        max_body_size=constants.NODED_MAX_BODY_SIZE, peer_check=peer_check)
    # A procedure asking to quit (node_leave_cluster) stops noded as SIGTERM
    # would, after its answer has been sent.
    pid = os.getpid()
    handler.shutdown_fn = lambda: os.kill(pid, signal.SIGTERM)
    server.Start()
    return server


def ExecNoded(_options: optparse.Values, _args: list[str],
              server: http_server.HttpServer) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests."""
    daemon.InstallShutdownHandlers(server.Stop)
    server.ServeForever()


def Main() -> None:
    """Entry point of daemons/ganeti-noded."""
    parser = optparse.OptionParser(
        description="Ganeti node daemon",
        usage="%prog [-f] [-d] [-p port] [-b ADDRESS]",
        version=f"%prog (ganeti) {constants.RELEASE_VERSION}")
    parser.add_option("--no-mlock", dest="mlock", default=True,
                      action="store_false",
                      help="Do not mlock the node memory in ram")
    daemon.GenericMain(constants.NODED, parser, CheckNoded, PrepNoded, ExecNoded,
                       default_ssl_cert=pathutils.NODED_CERT_FILE,
                       default_ssl_key=pathutils.NODED_CERT_FILE,
                       console_logging=True)
