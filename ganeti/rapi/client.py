"""Python client of Ganeti's remote API (RAPI), Ganeti's lib/rapi/client.py.

The class GanetiRapiClient has Ganeti's method names, signatures and return
values, so programs written for Ganeti's client work unchanged; it speaks
HTTPS with the standard library instead of pycURL. Like Ganeti's, this
module imports nothing from Ganeti (only, for the default certificate path,
ganeti.pathutils when it is installed), so it can be copied alone.

Differences from Ganeti's client, all on the safe side:
  * The server certificate is verified by default: against cafile/capath if
    given, else against the cluster's own rapi.pem (self-signed, so it is
    its own CA). Pass insecure=True to skip verification (never do that
    over an untrusted network). The host name is not checked unless
    verify_hostname=True, as in Ganeti (clients often connect by IP).
  * Connections are kept alive and reused between calls; the object may be
    used from several threads at once.
  * curl_config_fn accepts only what GenericCurlConfig() returns here; its
    cafile/capath/verify_hostname/timeouts are honoured, proxy is not.

Errors: every failure is a GanetiApiError whose code is the HTTP status
(None when no answer was received); CertificateError when the server's
certificate could not be verified. Write methods return the job id (an int
with Ganeti 3.x servers).
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import logging
import ssl
import threading
import time
import urllib.parse
from typing import Any

GANETI_RAPI_PORT = 5080
GANETI_RAPI_VERSION = 2

HTTP_DELETE = "DELETE"
HTTP_GET = "GET"
HTTP_PUT = "PUT"
HTTP_POST = "POST"
HTTP_OK = 200
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_APP_JSON = "application/json"

REPLACE_DISK_PRI = "replace_on_primary"
REPLACE_DISK_SECONDARY = "replace_on_secondary"
REPLACE_DISK_CHG = "replace_new_secondary"
REPLACE_DISK_AUTO = "replace_auto"

NODE_EVAC_PRI = "primary-only"
NODE_EVAC_SEC = "secondary-only"
NODE_EVAC_ALL = "all"

NODE_ROLE_DRAINED = "drained"
NODE_ROLE_MASTER_CANDIDATE = "master-candidate"
NODE_ROLE_MASTER = "master"
NODE_ROLE_OFFLINE = "offline"
NODE_ROLE_REGULAR = "regular"

JOB_STATUS_QUEUED = "queued"
JOB_STATUS_WAITING = "waiting"
JOB_STATUS_CANCELING = "canceling"
JOB_STATUS_RUNNING = "running"
JOB_STATUS_CANCELED = "canceled"
JOB_STATUS_SUCCESS = "success"
JOB_STATUS_ERROR = "error"
JOB_STATUS_PENDING = frozenset([JOB_STATUS_QUEUED, JOB_STATUS_WAITING,
                                JOB_STATUS_CANCELING])
JOB_STATUS_FINALIZED = frozenset([JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS,
                                  JOB_STATUS_ERROR])
JOB_STATUS_ALL = (frozenset([JOB_STATUS_RUNNING]) | JOB_STATUS_PENDING |
                  JOB_STATUS_FINALIZED)
JOB_STATUS_WAITLOCK = JOB_STATUS_WAITING  # legacy name

INST_CREATE_REQV1 = "instance-create-reqv1"
INST_REINSTALL_REQV1 = "instance-reinstall-reqv1"
NODE_MIGRATE_REQV1 = "node-migrate-reqv1"
NODE_EVAC_RES1 = "node-evac-res1"

ECODE_RESOLVER = "resolver_error"
ECODE_NORES = "insufficient_resources"
ECODE_TEMP_NORES = "temp_insufficient_resources"
ECODE_INVAL = "wrong_input"
ECODE_STATE = "wrong_state"
ECODE_NOENT = "unknown_entity"
ECODE_EXISTS = "already_exists"
ECODE_NOTUNIQUE = "resource_not_unique"
ECODE_FAULT = "internal_error"
ECODE_ENVIRON = "environment_error"
ECODE_ALL = frozenset([ECODE_RESOLVER, ECODE_NORES, ECODE_TEMP_NORES,
                       ECODE_INVAL, ECODE_STATE, ECODE_NOENT, ECODE_EXISTS,
                       ECODE_NOTUNIQUE, ECODE_FAULT, ECODE_ENVIRON])

_REQ_DATA_VERSION_FIELD = "__version__"
_QPARAM_DRY_RUN = "dry-run"
_QPARAM_FORCE = "force"
_DEFAULT_RAPI_CERT = "/var/lib/ganeti/rapi.pem"
# Pooled connections idle longer than this are not reused (below the
# daemon's 30 s keep-alive timeout, so reuse rarely meets a closing socket).
_MAX_IDLE_AGE = 20.0
_MAX_IDLE_CONNECTIONS = 4

QueryArgs = list[tuple[str, Any]]


class Error(Exception):
    """Base of this module's errors (bad arguments to the client)."""


class GanetiApiError(Error):
    """A request failed: the server answered an error, or did not answer.

    Attributes:
      code: the HTTP status of the error answer, None if there was none.
    """

    def __init__(self, msg: str, code: int | None = None) -> None:
        super().__init__(msg)
        self.code = code


class CertificateError(GanetiApiError):
    """The server's certificate could not be verified (or loaded)."""


def EpochNano() -> int:
    """Nanoseconds since the epoch (reason trail timestamps)."""
    return time.time_ns()


def _Query(*pairs: tuple[str, Any], dry_run: Any = False, force: Any = False,
           reason: str | None = None) -> QueryArgs:
    """Query arguments: pairs whose value is not None, then force=1,
    dry-run=1 and reason when set."""
    query: QueryArgs = [(name, value) for (name, value) in pairs
                        if value is not None]
    if force:
        query.append((_QPARAM_FORCE, 1))
    if dry_run:
        query.append((_QPARAM_DRY_RUN, 1))
    if reason:
        query.append(("reason", reason))
    return query


def _Body(base: dict[str, Any] | None = None, **optional: Any) -> dict[str, Any]:
    """A request body: base plus the optional items that are not None."""
    body = dict(base or {})
    body.update((key, value) for key, value in optional.items()
                if value is not None)
    return body


def _DefaultCaFile() -> str:
    """The cluster's RAPI certificate (honours a virtual cluster root)."""
    try:
        from ganeti import pathutils  # optional: the client is standalone
        return pathutils.RAPI_CERT_FILE
    except ImportError:
        return _DEFAULT_RAPI_CERT


@dataclasses.dataclass(frozen=True)
class CurlConfig:
    """Connection settings made by GenericCurlConfig."""

    cafile: str | None = None
    capath: str | None = None
    use_curl_cabundle: bool = False
    verify_hostname: bool = False
    connect_timeout: float | None = None
    timeout: float | None = None


def GenericCurlConfig(verbose: bool = False, use_signal: bool = False,
                      use_curl_cabundle: bool = False, cafile: str | None = None,
                      capath: str | None = None, proxy: str | None = None,
                      verify_hostname: bool = False,
                      connect_timeout: float | None = None,
                      timeout: float | None = None) -> CurlConfig:
    """Connection settings, with the arguments of Ganeti's function.

    verbose, use_signal and proxy are accepted and ignored.

    Raises:
      Error: use_curl_cabundle together with cafile or capath.
    """
    del verbose, use_signal, proxy
    if use_curl_cabundle and (cafile or capath):
        raise Error("Can not use default CA bundle when CA file or path is set")
    return CurlConfig(cafile=cafile, capath=capath,
                      use_curl_cabundle=use_curl_cabundle,
                      verify_hostname=verify_hostname,
                      connect_timeout=connect_timeout, timeout=timeout)


def _EncodeQuery(query: QueryArgs) -> list[tuple[str, Any]]:
    """Encode query values: None as "", booleans as 0/1.

    Raises:
      ValueError: a value is a list, tuple or dict.
    """
    result: list[tuple[str, Any]] = []
    for name, value in query:
        if value is None:
            result.append((name, ""))
        elif isinstance(value, bool):
            result.append((name, int(value)))
        elif isinstance(value, (list, tuple, dict)):
            raise ValueError(f"Invalid query data type {type(value).__name__!r}")
        else:
            result.append((name, value))
    return result


class _Transport:
    """Pooled HTTPS connections to one server (thread-safe)."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext,
                 connect_timeout: float | None, timeout: float | None) -> None:
        self._host = host
        self._port = port
        self._ctx = ssl_context
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._lock = threading.Lock()
        self._idle: list[tuple[float, http.client.HTTPSConnection]] = []

    def _Take(self) -> tuple[http.client.HTTPSConnection, bool]:
        """A connection and whether it was used before."""
        with self._lock:
            while self._idle:
                (since, conn) = self._idle.pop()
                if time.monotonic() - since < _MAX_IDLE_AGE:
                    return conn, True
                conn.close()
        conn = http.client.HTTPSConnection(
            self._host, self._port, context=self._ctx,
            timeout=self._connect_timeout or self._timeout or 60)
        return conn, False

    def _Give(self, conn: http.client.HTTPSConnection) -> None:
        with self._lock:
            if len(self._idle) < _MAX_IDLE_CONNECTIONS:
                self._idle.append((time.monotonic(), conn))
                return
        conn.close()

    def Request(self, method: str, url: str, body: bytes,
                headers: dict[str, str]) -> tuple[int, bytes]:
        """Send a request; retry once if a reused connection was closed.

        A reused connection that the server had already closed fails before
        the server read anything, so resending cannot run a request twice.
        """
        for _ in range(2):
            conn, reused = self._Take()
            try:
                if conn.sock is None:
                    conn.connect()
                    if self._timeout is not None and conn.sock is not None:
                        conn.sock.settimeout(self._timeout)
                conn.request(method, url, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as err:
                conn.close()
                if reused:
                    continue
                raise GanetiApiError(f"Connection closed by server: {err}") from err
            except ssl.SSLCertVerificationError as err:
                conn.close()
                raise CertificateError(f"SSL certificate error {err}") from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise GanetiApiError(f"Request failed: {err}") from err
            if resp.will_close:
                conn.close()
            else:
                self._Give(conn)
            return resp.status, data
        raise GanetiApiError("Connection closed by server")

    def Close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for (_, conn) in idle:
            conn.close()


class GanetiRapiClient:  # pylint: disable=R0904
    """Ganeti RAPI client."""

    USER_AGENT = "Ganeti RAPI Client"
    _json_encoder = json.JSONEncoder(sort_keys=True)

    def __init__(self, host: str, port: int = GANETI_RAPI_PORT,
                 username: str | None = None, password: str | None = None,
                 logger: Any = logging, curl_config_fn: CurlConfig | None = None,
                 curl_factory: Any = None, *, cafile: str | None = None,
                 capath: str | None = None, insecure: bool = False,
                 verify_hostname: bool = False,
                 connect_timeout: float | None = None,
                 timeout: float | None = None) -> None:
        """Initialise the client (no connection is made yet).

        Args:
          host: the cluster master (name or IP address).
          port: the RAPI port.
          username, password: basic authentication credentials (both or
            neither).
          logger: where debug messages go.
          curl_config_fn: settings from GenericCurlConfig (Ganeti's API).
          curl_factory: accepted for compatibility; unused.
          cafile, capath: CA certificates to verify the server against
            (default: the cluster's rapi.pem).
          insecure: do not verify the server's certificate.
          verify_hostname: check the certificate's name against host.
          connect_timeout, timeout: seconds, None for the defaults.

        Raises:
          Error: a password without user name, or the reverse, or a
            curl_config_fn that does not come from GenericCurlConfig.
        """
        del curl_factory
        if username is not None and password is None:
            raise Error("Password not specified")
        if username is None and password:
            raise Error("Specified password without username")
        if curl_config_fn is not None:
            if not isinstance(curl_config_fn, CurlConfig):
                raise Error("curl_config_fn must be made by GenericCurlConfig")
            cafile = cafile or curl_config_fn.cafile
            capath = capath or curl_config_fn.capath
            verify_hostname = verify_hostname or curl_config_fn.verify_hostname
            connect_timeout = connect_timeout or curl_config_fn.connect_timeout
            timeout = timeout or curl_config_fn.timeout
            use_bundle = curl_config_fn.use_curl_cabundle
        else:
            use_bundle = False
        self._username = username
        self._password = password
        self._logger = logger
        self._host = host
        self._port = port
        self._ssl_args = (cafile, capath, use_bundle, insecure, verify_hostname)
        self._timeouts = (connect_timeout, timeout)
        self._transport: _Transport | None = None
        self._transport_lock = threading.Lock()
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._base_url = f"https://{address}"

    def _MakeSslContext(self) -> ssl.SSLContext:
        """The TLS context from the constructor's verification settings.

        Raises:
          CertificateError: the CA file or path cannot be loaded.
        """
        (cafile, capath, use_bundle, insecure, verify_hostname) = self._ssl_args
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        ctx.check_hostname = verify_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
        if use_bundle:
            ctx.load_default_certs()
            return ctx
        if not (cafile or capath):
            cafile = _DefaultCaFile()
        try:
            ctx.load_verify_locations(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as err:
            raise CertificateError(
                f"Cannot load CA certificates from {cafile or capath}: {err};"
                " pass cafile= (e.g. a copy of the cluster's rapi.pem) or"
                " insecure=True") from err
        return ctx

    def _GetTransport(self) -> _Transport:
        with self._transport_lock:
            if self._transport is None:
                self._transport = _Transport(self._host, self._port,
                                             self._MakeSslContext(),
                                             *self._timeouts)
            return self._transport

    def Close(self) -> None:
        """Close the kept-alive connections (later calls reconnect)."""
        with self._transport_lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.Close()

    def _Headers(self) -> dict[str, str]:
        headers = {"Accept": HTTP_APP_JSON, "Content-type": HTTP_APP_JSON,
                   "User-Agent": self.USER_AGENT}
        if self._username is not None:
            creds = f"{self._username}:{self._password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(creds).decode()
        return headers

    def _SendRequest(self, method: str, path: str, query: QueryArgs | None,
                     content: Any) -> Any:
        """Send a request and return the decoded answer.

        Raises:
          CertificateError: the server's certificate is not trusted.
          GanetiApiError: no answer, a non-JSON answer or an error status;
            .code is the HTTP status.
        """
        assert path.startswith("/")
        body = (b"" if content is None
                else self._json_encoder.encode(content).encode("utf-8"))
        url = path
        if query:
            url += "?" + urllib.parse.urlencode(_EncodeQuery(query))
        self._logger.debug("Sending request %s %s%s (content=%r)", method,
                           self._base_url, url, body)
        (status, data) = self._GetTransport().Request(method, url, body,
                                                      self._Headers())
        try:
            response = json.loads(data) if data.strip() else None
        except ValueError as err:
            raise GanetiApiError(f"Invalid JSON answer (HTTP {status}): {err}",
                                 code=status) from err
        if status != HTTP_OK:
            if isinstance(response, dict) and "message" in response:
                msg = (f"{response.get('code', status)} {response['message']}:"
                       f" {response.get('explain', '')}")
            else:
                msg = str(response)
            raise GanetiApiError(msg, code=status)
        return response

    def _V2(self, path: str, *args: Any) -> str:
        """"/2/<path>" with each %s filled by an URL-safe argument."""
        quoted = tuple(urllib.parse.quote(str(arg), safe="") for arg in args)
        return f"/{GANETI_RAPI_VERSION}/" + (path % quoted if quoted else path)

    def _Get(self, path: str, query: QueryArgs | None = None) -> Any:
        return self._SendRequest(HTTP_GET, path, query, None)

    # --- cluster -----------------------------------------------------------

    def GetVersion(self) -> int:
        """The remote API version (2)."""
        return self._Get("/version")

    def GetFeatures(self) -> list[str]:
        """Optional features of the server ([] for servers without the list)."""
        try:
            return self._Get(self._V2("features"))
        except GanetiApiError as err:
            if err.code == HTTP_NOT_FOUND:
                return []
            raise

    def GetOperatingSystems(self, reason: str | None = None) -> list[str]:
        """The OS names (with variants) the cluster knows."""
        return self._Get(self._V2("os"), _Query(reason=reason))

    def GetInfo(self, reason: str | None = None) -> dict[str, Any]:
        """Cluster information."""
        return self._Get(self._V2("info"), _Query(reason=reason))

    def RedistributeConfig(self, reason: str | None = None) -> Any:
        """Redistribute the configuration files; returns the job id."""
        return self._SendRequest(HTTP_PUT, self._V2("redistribute-config"),
                                 _Query(reason=reason), None)

    def ModifyCluster(self, reason: str | None = None, **kwargs: Any) -> Any:
        """Change cluster parameters; returns the job id."""
        return self._SendRequest(HTTP_PUT, self._V2("modify"),
                                 _Query(reason=reason), kwargs)

    def _ChangeTags(self, method: str, path: str, tags: list[str],
                    dry_run: bool, reason: str | None) -> Any:
        query = _Query(*[("tag", tag) for tag in tags], dry_run=dry_run,
                       reason=reason)
        return self._SendRequest(method, path, query, None)

    def GetClusterTags(self, reason: str | None = None) -> list[str]:
        """The cluster's tags."""
        return self._Get(self._V2("tags"), _Query(reason=reason))

    def AddClusterTags(self, tags: list[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Add cluster tags; returns the job id."""
        return self._ChangeTags(HTTP_PUT, self._V2("tags"), tags, dry_run, reason)

    def DeleteClusterTags(self, tags: list[str], dry_run: bool = False,
                          reason: str | None = None) -> Any:
        """Remove cluster tags; returns the job id."""
        return self._ChangeTags(HTTP_DELETE, self._V2("tags"), tags, dry_run,
                                reason)

    # --- instances -----------------------------------------------------------

    def _List(self, path: str, bulk: bool, reason: str | None, key: str) -> Any:
        items = self._Get(path, _Query(("bulk", 1 if bulk else None),
                                       reason=reason))
        return items if bulk else [item[key] for item in items]

    def _Inst(self, method: str, instance: str, what: str, query: QueryArgs,
              body: Any = None) -> Any:
        path = self._V2("instances/%s" + (f"/{what}" if what else ""), instance)
        return self._SendRequest(method, path, query, body)

    def GetInstances(self, bulk: bool = False, reason: str | None = None) -> Any:
        """Instance names, or dicts with every detail if bulk."""
        return self._List(self._V2("instances"), bulk, reason, "id")

    def GetInstance(self, instance: str, reason: str | None = None) -> Any:
        """Details of one instance."""
        return self._Inst(HTTP_GET, instance, "", _Query(reason=reason))

    def GetInstanceInfo(self, instance: str, static: bool | None = None,
                        reason: str | None = None) -> Any:
        """Submit a detailed instance query; returns the job id."""
        return self._Inst(HTTP_GET, instance, "info",
                          _Query(("static", static), reason=reason))

    @staticmethod
    def _UpdateWithKwargs(base: dict[str, Any], **kwargs: Any) -> None:
        """Add kwargs (but dry_run) to base, refusing to override its keys.

        Raises:
          GanetiApiError: a keyword names a required field.
        """
        conflicts = set(kwargs) & set(base)
        if conflicts:
            raise GanetiApiError("Required fields can not be specified as"
                                 f" keywords: {', '.join(sorted(conflicts))}")
        base.update((key, value) for key, value in kwargs.items()
                    if key != "dry_run")

    def InstanceAllocation(self, mode: str, name: str, disk_template: str,
                           disks: list[dict], nics: list[dict],
                           **kwargs: Any) -> dict[str, Any]:
        """An instance creation body, as used by InstancesMultiAlloc."""
        alloc = {"mode": mode, "name": name, "disk_template": disk_template,
                 "disks": disks, "nics": nics}
        self._UpdateWithKwargs(alloc, **kwargs)
        return alloc

    def InstancesMultiAlloc(self, instances: list[dict],
                            reason: str | None = None, **kwargs: Any) -> Any:
        """Allocate several instances; returns the job id."""
        body: dict[str, Any] = {"instances": instances}
        self._UpdateWithKwargs(body, **kwargs)
        return self._SendRequest(
            HTTP_POST, self._V2("instances-multi-alloc"),
            _Query(dry_run=kwargs.get("dry_run"), reason=reason), body)

    def CreateInstance(self, mode: str, name: str, disk_template: str,
                       disks: list[dict], nics: list[dict],
                       reason: str | None = None, **kwargs: Any) -> Any:
        """Create an instance (request version 1); returns the job id.

        Raises:
          GanetiApiError: the server does not support version 1 requests.
        """
        if INST_CREATE_REQV1 not in self.GetFeatures():
            raise GanetiApiError("Server does not support new-style (version 1)"
                                 " instance creation requests")
        body = self.InstanceAllocation(mode, name, disk_template, disks, nics,
                                       **kwargs)
        body[_REQ_DATA_VERSION_FIELD] = 1
        return self._SendRequest(
            HTTP_POST, self._V2("instances"),
            _Query(dry_run=kwargs.get("dry_run"), reason=reason), body)

    def DeleteInstance(self, instance: str, dry_run: bool = False,
                       reason: str | None = None, **kwargs: Any) -> Any:
        """Remove an instance; returns the job id."""
        return self._Inst(HTTP_DELETE, instance, "",
                          _Query(dry_run=dry_run, reason=reason), kwargs)

    def ModifyInstance(self, instance: str, reason: str | None = None,
                       **kwargs: Any) -> Any:
        """Change instance parameters; returns the job id."""
        return self._Inst(HTTP_PUT, instance, "modify", _Query(reason=reason),
                          kwargs)

    def ActivateInstanceDisks(self, instance: str, ignore_size: bool | None = None,
                              reason: str | None = None) -> Any:
        """Activate an instance's disks; returns the job id."""
        query = _Query(("ignore_size", 1 if ignore_size else None), reason=reason)
        return self._Inst(HTTP_PUT, instance, "activate-disks", query)

    def DeactivateInstanceDisks(self, instance: str, reason: str | None = None,
                                force: bool = False) -> Any:
        """Deactivate an instance's disks; returns the job id."""
        return self._Inst(HTTP_PUT, instance, "deactivate-disks",
                          _Query(force=force, reason=reason))

    def RecreateInstanceDisks(self, instance: str, disks: list[int] | None = None,
                              nodes: list[str] | None = None,
                              reason: str | None = None,
                              iallocator: str | None = None) -> Any:
        """Recreate an instance's disks; returns the job id."""
        body = _Body(disks=disks, nodes=nodes, iallocator=iallocator)
        return self._Inst(HTTP_POST, instance, "recreate-disks",
                          _Query(reason=reason), body)

    def GrowInstanceDisk(self, instance: str, disk: int, amount: int,
                         wait_for_sync: bool | None = None,
                         reason: str | None = None) -> Any:
        """Grow an instance disk by amount MiB; returns the job id."""
        body = _Body({"amount": amount}, wait_for_sync=wait_for_sync)
        return self._SendRequest(
            HTTP_POST, self._V2("instances/%s/disk/%s/grow", instance, disk),
            _Query(reason=reason), body)

    def GetInstanceTags(self, instance: str, reason: str | None = None) -> Any:
        """An instance's tags."""
        return self._Inst(HTTP_GET, instance, "tags", _Query(reason=reason))

    def AddInstanceTags(self, instance: str, tags: list[str], dry_run: bool = False,
                        reason: str | None = None) -> Any:
        """Add instance tags; returns the job id."""
        return self._ChangeTags(HTTP_PUT, self._V2("instances/%s/tags", instance),
                                tags, dry_run, reason)

    def DeleteInstanceTags(self, instance: str, tags: list[str],
                           dry_run: bool = False, reason: str | None = None) -> Any:
        """Remove instance tags; returns the job id."""
        return self._ChangeTags(HTTP_DELETE,
                                self._V2("instances/%s/tags", instance), tags,
                                dry_run, reason)

    def RebootInstance(self, instance: str, reboot_type: str | None = None,
                       ignore_secondaries: bool | None = None,
                       dry_run: bool = False, reason: str | None = None,
                       **kwargs: Any) -> Any:
        """Reboot an instance (hard, soft or full); returns the job id."""
        query = _Query(("type", reboot_type or None),
                       ("ignore_secondaries", ignore_secondaries),
                       dry_run=dry_run, reason=reason)
        return self._Inst(HTTP_POST, instance, "reboot", query, kwargs)

    def ShutdownInstance(self, instance: str, dry_run: bool = False,
                         no_remember: bool = False, reason: str | None = None,
                         **kwargs: Any) -> Any:
        """Shut an instance down; returns the job id."""
        query = _Query(("no_remember", 1 if no_remember else None),
                       dry_run=dry_run, reason=reason)
        return self._Inst(HTTP_PUT, instance, "shutdown", query, kwargs)

    def StartupInstance(self, instance: str, dry_run: bool = False,
                        no_remember: bool = False,
                        reason: str | None = None) -> Any:
        """Start an instance; returns the job id."""
        query = _Query(("no_remember", 1 if no_remember else None),
                       dry_run=dry_run, reason=reason)
        return self._Inst(HTTP_PUT, instance, "startup", query)

    def ReinstallInstance(self, instance: str, os: str | None = None,
                          no_startup: bool = False, osparams: dict | None = None,
                          reason: str | None = None) -> Any:
        """Reinstall an instance (with its current OS if os is None).

        Raises:
          GanetiApiError: osparams given to a server older than Ganeti 2.5.
        """
        if INST_REINSTALL_REQV1 in self.GetFeatures():
            body = _Body({"start": not no_startup}, os=os, osparams=osparams)
            return self._Inst(HTTP_POST, instance, "reinstall",
                              _Query(reason=reason), body)
        if osparams:
            raise GanetiApiError("Server does not support specifying OS"
                                 " parameters for instance reinstallation")
        query = _Query(("os", os or None), ("nostartup", 1 if no_startup else None))
        return self._Inst(HTTP_POST, instance, "reinstall", query)

    def ReplaceInstanceDisks(self, instance: str, disks: list[int] | None = None,
                             mode: str = REPLACE_DISK_AUTO,
                             remote_node: str | None = None,
                             iallocator: str | None = None,
                             reason: str | None = None,
                             early_release: bool | None = None) -> Any:
        """Replace an instance's disks; returns the job id."""
        disk_list = None if disks is None else ",".join(str(idx) for idx in disks)
        query = _Query(("mode", mode), ("disks", disk_list),
                       ("remote_node", remote_node), ("iallocator", iallocator),
                       ("early_release", early_release), reason=reason)
        return self._Inst(HTTP_POST, instance, "replace-disks", query)

    def PrepareExport(self, instance: str, mode: str,
                      reason: str | None = None) -> Any:
        """Prepare an instance export; returns the job id."""
        return self._Inst(HTTP_PUT, instance, "prepare-export",
                          _Query(("mode", mode), reason=reason))

    def ExportInstance(self, instance: str, mode: str, destination: Any,
                       shutdown: bool | None = None,
                       remove_instance: bool | None = None,
                       x509_key_name: Any = None,
                       destination_x509_ca: str | None = None,
                       compress: str | None = None,
                       reason: str | None = None) -> Any:
        """Export an instance; returns the job id."""
        body = _Body({"destination": destination, "mode": mode},
                     shutdown=shutdown, remove_instance=remove_instance,
                     x509_key_name=x509_key_name,
                     destination_x509_ca=destination_x509_ca, compress=compress)
        return self._Inst(HTTP_PUT, instance, "export", _Query(reason=reason), body)

    def MigrateInstance(self, instance: str, mode: str | None = None,
                        cleanup: bool | None = None,
                        target_node: str | None = None,
                        reason: str | None = None) -> Any:
        """Live-migrate an instance; returns the job id."""
        body = _Body(mode=mode, cleanup=cleanup, target_node=target_node)
        return self._Inst(HTTP_PUT, instance, "migrate", _Query(reason=reason),
                          body)

    def FailoverInstance(self, instance: str, iallocator: str | None = None,
                         ignore_consistency: bool | None = None,
                         target_node: str | None = None,
                         reason: str | None = None) -> Any:
        """Fail an instance over; returns the job id."""
        body = _Body(iallocator=iallocator, ignore_consistency=ignore_consistency,
                     target_node=target_node)
        return self._Inst(HTTP_PUT, instance, "failover", _Query(reason=reason),
                          body)

    def RenameInstance(self, instance: str, new_name: str,
                       ip_check: bool | None = None,
                       name_check: bool | None = None,
                       reason: str | None = None) -> Any:
        """Rename an instance; returns the job id."""
        body = _Body({"new_name": new_name}, ip_check=ip_check,
                     name_check=name_check)
        return self._Inst(HTTP_PUT, instance, "rename", _Query(reason=reason), body)

    def GetInstanceConsole(self, instance: str, reason: str | None = None) -> Any:
        """How to connect to a running instance's console."""
        return self._Inst(HTTP_GET, instance, "console", _Query(reason=reason))

    # --- jobs ------------------------------------------------------------------

    def GetJobs(self, bulk: bool = False) -> Any:
        """Job ids (ints), or dicts with details if bulk."""
        if bulk:
            return self._Get(self._V2("jobs"), [("bulk", 1)])
        return [int(job["id"]) for job in self._Get(self._V2("jobs"))]

    def GetJobStatus(self, job_id: Any) -> dict[str, Any]:
        """A job's details (status, ops, results, log...)."""
        return self._Get(self._V2("jobs/%s", job_id))

    def WaitForJobCompletion(self, job_id: Any, period: float = 5,
                             retries: int = -1) -> bool:
        """Poll until the job is finalized.

        Returns:
          True if the job succeeded, False if it failed, was canceled or
          retries ran out.
        """
        while retries != 0:
            job = self.GetJobStatus(job_id)
            if job and job["status"] == JOB_STATUS_SUCCESS:
                return True
            if not job or job["status"] in JOB_STATUS_FINALIZED:
                return False
            if period:
                time.sleep(period)
            if retries > 0:
                retries -= 1
        return False

    def WaitForJobChange(self, job_id: Any, fields: list[str],
                         prev_job_info: list | None,
                         prev_log_serial: int | None) -> Any:
        """Wait (at most 10 s, server side) for a job to change.

        Returns:
          None if nothing changed, else {"job_info": [...], "log_entries":
          [...]}. Needs a user with write access.
        """
        body = {"fields": fields, "previous_job_info": prev_job_info,
                "previous_log_serial": prev_log_serial}
        return self._SendRequest(HTTP_GET, self._V2("jobs/%s/wait", job_id), None,
                                 body)

    def WaitForJob(self, job_id: Any, timeout: float | None = None,
                   period: float = 1.0) -> dict[str, Any]:
        """Wait until a job is finalized and return its GetJobStatus details.

        Follows the job with WaitForJobChange (no polling delay); users
        without write access fall back to polling every period seconds.

        Raises:
          GanetiApiError: the timeout expired (code None) or a request failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        status: list | None = None
        use_wait = True
        while True:
            if use_wait:
                try:
                    change = self.WaitForJobChange(job_id, ["status"], status, None)
                except GanetiApiError as err:
                    if err.code not in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN):
                        raise
                    use_wait = False
                    continue
                if change is not None:
                    status = change["job_info"]
                current = status[0] if status else None
            else:
                current = self.GetJobStatus(job_id)["status"]
            if current in JOB_STATUS_FINALIZED:
                return self.GetJobStatus(job_id)
            if deadline is not None and time.monotonic() > deadline:
                raise GanetiApiError(f"Job {job_id} not finished after {timeout}"
                                     f" seconds (status {current})")
            if not use_wait:
                time.sleep(period)

    def CancelJob(self, job_id: Any, dry_run: bool = False) -> Any:
        """Cancel a job; returns [success, message]."""
        return self._SendRequest(HTTP_DELETE, self._V2("jobs/%s", job_id),
                                 _Query(dry_run=dry_run), None)

    # --- nodes -------------------------------------------------------------------

    def _Node(self, method: str, node: str, what: str, query: QueryArgs,
              body: Any = None) -> Any:
        path = self._V2("nodes/%s" + (f"/{what}" if what else ""), node)
        return self._SendRequest(method, path, query, body)

    def GetNodes(self, bulk: bool = False, reason: str | None = None) -> Any:
        """Node names, or dicts with every detail if bulk."""
        return self._List(self._V2("nodes"), bulk, reason, "id")

    def GetNode(self, node: str, reason: str | None = None) -> Any:
        """Details of one node."""
        return self._Node(HTTP_GET, node, "", _Query(reason=reason))

    def EvacuateNode(self, node: str, iallocator: str | None = None,
                     remote_node: str | None = None, dry_run: bool = False,
                     early_release: bool | None = None, mode: str | None = None,
                     accept_old: bool = False, reason: str | None = None) -> Any:
        """Move instances away from a node; returns the job id.

        Raises:
          GanetiApiError: iallocator and remote_node both given, or the
            server is older than Ganeti 2.5 (old-style evacuation, which
            accept_old allowed in Ganeti's client, is not supported).
        """
        if iallocator and remote_node:
            raise GanetiApiError("Only one of iallocator or remote_node can be"
                                 " used")
        if NODE_EVAC_RES1 not in self.GetFeatures():
            raise GanetiApiError("Server is version 2.4 or earlier; old-style"
                                 " node evacuation is not supported by this"
                                 f" client (accept_old={accept_old})")
        body = _Body(iallocator=iallocator, remote_node=remote_node,
                     early_release=early_release, mode=mode)
        return self._Node(HTTP_POST, node, "evacuate",
                          _Query(dry_run=dry_run, reason=reason), body)

    def MigrateNode(self, node: str, mode: str | None = None,
                    dry_run: bool = False, iallocator: str | None = None,
                    target_node: str | None = None,
                    reason: str | None = None) -> Any:
        """Migrate a node's primary instances; returns the job id."""
        if NODE_MIGRATE_REQV1 in self.GetFeatures():
            body = _Body(mode=mode, iallocator=iallocator, target_node=target_node)
            return self._Node(HTTP_POST, node, "migrate",
                              _Query(dry_run=dry_run, reason=reason), body)
        if target_node is not None:
            raise GanetiApiError("Server does not support specifying target node"
                                 " for node migration")
        return self._Node(HTTP_POST, node, "migrate",
                          _Query(("mode", mode), dry_run=dry_run, reason=reason))

    def GetNodeRole(self, node: str, reason: str | None = None) -> str:
        """A node's role ("master", "master-candidate", "regular"...)."""
        return self._Node(HTTP_GET, node, "role", _Query(reason=reason))

    def SetNodeRole(self, node: str, role: str, force: bool = False,
                    auto_promote: bool | None = None,
                    reason: str | None = None) -> Any:
        """Change a node's role; returns the job id."""
        query = _Query(("auto-promote", auto_promote), force=force, reason=reason)
        return self._Node(HTTP_PUT, node, "role", query, role)

    def PowercycleNode(self, node: str, force: bool = False,
                       reason: str | None = None) -> Any:
        """Power-cycle a node; returns the job id."""
        return self._Node(HTTP_POST, node, "powercycle",
                          _Query(force=force, reason=reason))

    def ModifyNode(self, node: str, reason: str | None = None,
                   **kwargs: Any) -> Any:
        """Change node parameters; returns the job id."""
        return self._Node(HTTP_POST, node, "modify", _Query(reason=reason), kwargs)

    def GetNodeStorageUnits(self, node: str, storage_type: str,
                            output_fields: str, reason: str | None = None) -> Any:
        """Submit a storage query of a node; returns the job id."""
        query = _Query(("storage_type", storage_type),
                       ("output_fields", output_fields), reason=reason)
        return self._Node(HTTP_GET, node, "storage", query)

    def ModifyNodeStorageUnits(self, node: str, storage_type: str, name: str,
                               allocatable: bool | None = None,
                               reason: str | None = None) -> Any:
        """Change a storage unit's allocatable flag; returns the job id."""
        query = _Query(("storage_type", storage_type), ("name", name),
                       ("allocatable", allocatable), reason=reason)
        return self._Node(HTTP_PUT, node, "storage/modify", query)

    def RepairNodeStorageUnits(self, node: str, storage_type: str, name: str,
                               reason: str | None = None) -> Any:
        """Repair a storage unit; returns the job id."""
        query = _Query(("storage_type", storage_type), ("name", name),
                       reason=reason)
        return self._Node(HTTP_PUT, node, "storage/repair", query)

    def GetNodeTags(self, node: str, reason: str | None = None) -> Any:
        """A node's tags."""
        return self._Node(HTTP_GET, node, "tags", _Query(reason=reason))

    def AddNodeTags(self, node: str, tags: list[str], dry_run: bool = False,
                    reason: str | None = None) -> Any:
        """Add node tags; returns the job id."""
        return self._ChangeTags(HTTP_PUT, self._V2("nodes/%s/tags", node), tags,
                                dry_run, reason)

    def DeleteNodeTags(self, node: str, tags: list[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Remove node tags; returns the job id."""
        return self._ChangeTags(HTTP_DELETE, self._V2("nodes/%s/tags", node),
                                tags, dry_run, reason)

    # --- networks ----------------------------------------------------------------

    def GetNetworks(self, bulk: bool = False, reason: str | None = None) -> Any:
        """Network names, or dicts with every detail if bulk."""
        return self._List(self._V2("networks"), bulk, reason, "name")

    def GetNetwork(self, network: str, reason: str | None = None) -> Any:
        """Details of one network."""
        return self._Get(self._V2("networks/%s", network), _Query(reason=reason))

    def CreateNetwork(self, network_name: str, network: str,
                      gateway: str | None = None, network6: str | None = None,
                      gateway6: str | None = None, mac_prefix: str | None = None,
                      add_reserved_ips: str | None = None,
                      tags: str | None = None, dry_run: bool = False,
                      reason: str | None = None) -> Any:
        """Create a network (reserved IPs and tags comma-separated)."""
        body = {"network_name": network_name, "gateway": gateway,
                "network": network, "gateway6": gateway6, "network6": network6,
                "mac_prefix": mac_prefix,
                "add_reserved_ips": (add_reserved_ips.split(",")
                                     if add_reserved_ips else add_reserved_ips),
                "tags": tags.split(",") if tags else tags}
        return self._SendRequest(HTTP_POST, self._V2("networks"),
                                 _Query(dry_run=dry_run, reason=reason), body)

    def ConnectNetwork(self, network_name: str, group_name: str, mode: str,
                       link: str, vlan: str = "", dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Connect a network to a node group; returns the job id."""
        body = {"group_name": group_name, "network_mode": mode,
                "network_link": link, "network_vlan": vlan}
        return self._SendRequest(HTTP_PUT,
                                 self._V2("networks/%s/connect", network_name),
                                 _Query(dry_run=dry_run, reason=reason), body)

    def DisconnectNetwork(self, network_name: str, group_name: str,
                          dry_run: bool = False, reason: str | None = None) -> Any:
        """Disconnect a network from a node group; returns the job id."""
        return self._SendRequest(HTTP_PUT,
                                 self._V2("networks/%s/disconnect", network_name),
                                 _Query(dry_run=dry_run, reason=reason),
                                 {"group_name": group_name})

    def ModifyNetwork(self, network: str, reason: str | None = None,
                      **kwargs: Any) -> Any:
        """Change network parameters; returns the job id."""
        return self._SendRequest(HTTP_PUT, self._V2("networks/%s/modify", network),
                                 _Query(reason=reason), kwargs)

    def DeleteNetwork(self, network: str, dry_run: bool = False,
                      reason: str | None = None) -> Any:
        """Remove a network; returns the job id."""
        return self._SendRequest(HTTP_DELETE, self._V2("networks/%s", network),
                                 _Query(dry_run=dry_run, reason=reason), None)

    def GetNetworkTags(self, network: str, reason: str | None = None) -> Any:
        """A network's tags."""
        return self._Get(self._V2("networks/%s/tags", network),
                         _Query(reason=reason))

    def AddNetworkTags(self, network: str, tags: list[str], dry_run: bool = False,
                       reason: str | None = None) -> Any:
        """Add network tags; returns the job id."""
        return self._ChangeTags(HTTP_PUT, self._V2("networks/%s/tags", network),
                                tags, dry_run, reason)

    def DeleteNetworkTags(self, network: str, tags: list[str],
                          dry_run: bool = False, reason: str | None = None) -> Any:
        """Remove network tags; returns the job id."""
        return self._ChangeTags(HTTP_DELETE, self._V2("networks/%s/tags", network),
                                tags, dry_run, reason)

    # --- groups --------------------------------------------------------------------

    def GetGroups(self, bulk: bool = False, reason: str | None = None) -> Any:
        """Node group names, or dicts with every detail if bulk."""
        return self._List(self._V2("groups"), bulk, reason, "name")

    def GetGroup(self, group: str, reason: str | None = None) -> Any:
        """Details of one node group."""
        return self._Get(self._V2("groups/%s", group), _Query(reason=reason))

    def CreateGroup(self, name: str, alloc_policy: str | None = None,
                    dry_run: bool = False, reason: str | None = None) -> Any:
        """Create a node group; returns the job id."""
        return self._SendRequest(HTTP_POST, self._V2("groups"),
                                 _Query(dry_run=dry_run, reason=reason),
                                 {"name": name, "alloc_policy": alloc_policy})

    def ModifyGroup(self, group: str, reason: str | None = None,
                    **kwargs: Any) -> Any:
        """Change node group parameters; returns the job id."""
        return self._SendRequest(HTTP_PUT, self._V2("groups/%s/modify", group),
                                 _Query(reason=reason), kwargs)

    def DeleteGroup(self, group: str, dry_run: bool = False,
                    reason: str | None = None) -> Any:
        """Remove a node group; returns the job id."""
        return self._SendRequest(HTTP_DELETE, self._V2("groups/%s", group),
                                 _Query(dry_run=dry_run, reason=reason), None)

    def RenameGroup(self, group: str, new_name: str,
                    reason: str | None = None) -> Any:
        """Rename a node group; returns the job id."""
        return self._SendRequest(HTTP_PUT, self._V2("groups/%s/rename", group),
                                 _Query(reason=reason), {"new_name": new_name})

    def AssignGroupNodes(self, group: str, nodes: list[str], force: bool = False,
                         dry_run: bool = False, reason: str | None = None) -> Any:
        """Move nodes into a node group; returns the job id."""
        return self._SendRequest(HTTP_PUT,
                                 self._V2("groups/%s/assign-nodes", group),
                                 _Query(force=force, dry_run=dry_run,
                                        reason=reason), {"nodes": nodes})

    def GetGroupTags(self, group: str, reason: str | None = None) -> Any:
        """A node group's tags."""
        return self._Get(self._V2("groups/%s/tags", group), _Query(reason=reason))

    def AddGroupTags(self, group: str, tags: list[str], dry_run: bool = False,
                     reason: str | None = None) -> Any:
        """Add node group tags; returns the job id."""
        return self._ChangeTags(HTTP_PUT, self._V2("groups/%s/tags", group), tags,
                                dry_run, reason)

    def DeleteGroupTags(self, group: str, tags: list[str], dry_run: bool = False,
                        reason: str | None = None) -> Any:
        """Remove node group tags; returns the job id."""
        return self._ChangeTags(HTTP_DELETE, self._V2("groups/%s/tags", group),
                                tags, dry_run, reason)

    # --- query, filters ------------------------------------------------------------

    def Query(self, what: str, fields: list[str], qfilter: Any = None,
              reason: str | None = None) -> Any:
        """A query2 request: {"fields": [...], "data": [...]}."""
        # "filter" is the legacy key of servers before Ganeti 2.7.
        body = _Body({"fields": fields}, qfilter=qfilter, filter=qfilter)
        return self._SendRequest(HTTP_PUT, self._V2("query/%s", what),
                                 _Query(reason=reason), body)

    def QueryFields(self, what: str, fields: list[str] | None = None,
                    reason: str | None = None) -> Any:
        """Field definitions of a resource: {"fields": [...]}."""
        joined = None if fields is None else ",".join(fields)
        return self._Get(self._V2("query/%s/fields", what),
                         _Query(("fields", joined), reason=reason))

    def GetFilters(self, bulk: bool = False) -> Any:
        """Filter rule UUIDs, or dicts with every detail if bulk."""
        return self._List(self._V2("filters"), bulk, None, "uuid")

    def GetFilter(self, filter_uuid: str) -> Any:
        """One filter rule."""
        return self._Get(self._V2("filters/%s", filter_uuid))

    @staticmethod
    def _FilterBody(priority: int, predicates: list, action: Any,
                    reason_trail: list | None) -> dict[str, Any]:
        trail = list(reason_trail or [])
        trail.append(("gnt:client", "", EpochNano()))
        return {"priority": priority, "predicates": predicates, "action": action,
                "reason": trail}

    def AddFilter(self, priority: int, predicates: list, action: Any,
                  reason_trail: list | None = None) -> Any:
        """Add a filter rule; returns its UUID."""
        return self._SendRequest(HTTP_POST, self._V2("filters"), None,
                                 self._FilterBody(priority, predicates, action,
                                                  reason_trail))

    def ReplaceFilter(self, uuid: str, priority: int, predicates: list,
                      action: Any, reason_trail: list | None = None) -> Any:
        """Replace (or create) a filter rule; returns its UUID."""
        return self._SendRequest(HTTP_PUT, self._V2("filters/%s", uuid), None,
                                 self._FilterBody(priority, predicates, action,
                                                  reason_trail))

    def DeleteFilter(self, uuid: str) -> Any:
        """Remove a filter rule."""
        return self._SendRequest(HTTP_DELETE, self._V2("filters/%s", uuid), None,
                                 {})
