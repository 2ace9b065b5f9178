"""Base classes and helpers of the RAPI resources (Ganeti's lib/rapi/baserlib).

A resource class handles one URL pattern (see connector.py). For each HTTP
method it either defines a method of that name (GET, PUT, POST, DELETE)
returning the JSON-able answer, or it declares `<METHOD>_OPCODE`: then a
handler is generated that builds the opcode from the request and submits
it as a job, answering with the job id. The opcode's parameters come from

  * the body (a JSON object), after `<METHOD>_RENAME` renamed legacy keys;
  * `Get<Method>OpInput()`, which returns (body, static): static values come
    from the URL or the query string and cannot be overridden by the body
    (trying to is a 400);
  * the common static "reason" trail: [gnt:user, ?reason=..., ns] when the
    client gave a reason, then [gnt:library:rlib2:<class name without
    R_2_>, "", ns]; and "depends" when the body has it.

The opcode is checked (op.Validate) before it is submitted, so a bad
parameter gives 400 "Invalid body parameters: ..." and nothing is queued.
`<METHOD>_FORBIDDEN` lists parameters that may not be set through RAPI
(403); `GET_ALIASES` copies answer keys to legacy names.

Access: `<METHOD>_ACCESS` lists the users file options of which the caller
needs one: none for GET, "write" for the others (spec/rapi.md section 2).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ganeti import errors, http, luxi, rapi
from ganeti.opcodes_base import (OPCODE_REASON_SRC_RLIB2,
                                 OPCODE_REASON_SRC_USER)

logger = logging.getLogger(__name__)

# Marks "no default" in CheckParameter (None is a valid default).
_DEFAULT = object()

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE")

# Forbidden-parameter marker: every value of the parameter is refused.
ALL_VALUES_FORBIDDEN = "all_values_forbidden"


class HttpBadGateway(http.HttpException):
    """The master daemon could not be reached or answered garbage (502)."""

    code = 502


class HttpGatewayTimeout(http.HttpException):
    """The master daemon did not answer in time (504)."""

    code = 504


@dataclasses.dataclass
class RequestContext:
    """What a resource sees of its request.

    Attributes:
      method: the HTTP method.
      path: the request path without the query string.
      body_data: the decoded JSON body, None when there was no body.
      get_client: returns the LUXI client to use (a luxi.Client or anything
        with its methods); the same one for the whole request.
      username: the authenticated user, None for anonymous requests.
    """

    method: str
    path: str
    body_data: Any = None
    get_client: Callable[[], Any] | None = None
    username: str | None = None


def ErrorText(err: BaseException) -> str:
    """A readable message for a Ganeti error.

    OpPrereqError carries (message, error code); only the message is shown.
    """
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    if isinstance(err, errors.OpPrereqError) and len(args) == 2:
        return str(args[0])
    if len(args) == 1:
        return str(args[0])
    return str(err) or err.__class__.__name__


def BuildUriList(ids: Iterable[Any], uri_format: str,
                 uri_fields: tuple[str, str] = ("name", "uri")) -> list[dict]:
    """Build the answer of a non-bulk list resource, sorted by id.

    Args:
      ids: the items' names or ids.
      uri_format: e.g. "/2/nodes/%s".
      uri_fields: the keys for the id and the URI.
    """
    (field_id, field_uri) = uri_fields
    return [{field_id: item, field_uri: uri_format % (item, )}
            for item in sorted(ids)]


def MapFields(names: list[str], data: list[Any]) -> dict[str, Any]:
    """Zip field names and one row of values into a dict.

    Raises:
      http.HttpBadGateway: the master answered a row of the wrong length.
    """
    if len(names) != len(data):
        raise HttpBadGateway(f"Master daemon answered {len(data)} values for"
                             f" {len(names)} fields")
    return dict(zip(names, data))


def MapBulkFields(itemslist: list[list[Any]], fields: list[str]) -> list[dict]:
    """MapFields for every row."""
    return [MapFields(fields, item) for item in itemslist]


def CheckType(value: Any, exptype: type | tuple[type, ...], descr: str) -> Any:
    """Return value if it has the expected type, else answer 400.

    Raises:
      http.HttpBadRequest: the type is wrong; the message names both types.
    """
    if not isinstance(value, exptype) or (exptype is int and
                                          isinstance(value, bool)):
        expected = (exptype.__name__ if isinstance(exptype, type)
                    else " or ".join(t.__name__ for t in exptype))
        raise http.HttpBadRequest(f"{descr}: Type is '{type(value).__name__}',"
                                  f" but '{expected}' is expected")
    return value


def CheckParameter(data: Any, name: str, default: Any = _DEFAULT,
                   exptype: Any = _DEFAULT) -> Any:
    """Return data[name], checked against exptype if given.

    Raises:
      http.HttpBadRequest: the parameter is missing and has no default, its
        type is wrong, or data is not a dict.
    """
    if not isinstance(data, dict):
        if default is not _DEFAULT:
            return default
        raise http.HttpBadRequest(f"Required parameter '{name}' is missing"
                                  " (the body must be a JSON object)")
    try:
        value = data[name]
    except KeyError:
        if default is not _DEFAULT:
            return default
        raise http.HttpBadRequest(
            f"Required parameter '{name}' is missing") from None
    if exptype is _DEFAULT:
        return value
    return CheckType(value, exptype, f"'{name}' parameter")


def FillOpcode(opcls: Any, body: Any, static: dict[str, Any] | None,
               rename: dict[str, str] | None = None) -> Any:
    """Build and validate an opcode from a request body and static values.

    Args:
      opcls: the opcode class.
      body: the request body (a dict, or None for no parameters).
      static: values the body may not override.
      rename: legacy body key -> parameter name.

    Returns:
      The opcode object.

    Raises:
      http.HttpBadRequest: the body is not an object, uses a legacy name
        together with the new one, overrides a static value, or a parameter
        is unknown or fails validation.
    """
    params: dict[str, Any] = {}
    if body is not None:
        params = dict(CheckType(body, dict, "Body contents"))
    for old, new in (rename or {}).items():
        if old in params:
            if new in params:
                raise http.HttpBadRequest(f"Parameter '{old}' was renamed to"
                                          f" '{new}', but both are specified")
            params[new] = params.pop(old)
    if static:
        overwritten = sorted(set(params) & set(static))
        if overwritten:
            raise http.HttpBadRequest("Can't overwrite static parameters: " +
                                      ", ".join(overwritten))
        params.update(static)
    try:
        op = opcls(**params)
        op.Validate(False)
    except (errors.OpPrereqError, TypeError) as err:
        raise http.HttpBadRequest(
            f"Invalid body parameters: {ErrorText(err)}") from err
    return op


def HandleItemQueryErrors(fn: Callable[..., Any], *args: Any,
                          **kwargs: Any) -> Any:
    """Call a single-item query; a missing item answers 404.

    Raises:
      http.HttpNotFound: the master says the item does not exist
        (OpPrereqError ECODE_NOENT) or returns no row.
    """
    try:
        result = fn(*args, **kwargs)
    except errors.OpPrereqError as err:
        if len(err.args) == 2 and err.args[1] == errors.ECODE_NOENT:
            raise http.HttpNotFound(ErrorText(err)) from err
        raise
    if not result:
        raise http.HttpNotFound()
    return result


def InspectParams(params: Any, forbidden: dict[str, Any],
                  rename: dict[str, str] | None) -> None:
    """Refuse forbidden parameters (and forbidden values) with 403.

    Args:
      params: the query arguments or the body (only dicts are inspected).
      forbidden: parameter -> ALL_VALUES_FORBIDDEN or forbidden values.
      rename: the method's renames, so old names do not slip through.
    """
    if not isinstance(params, dict):
        return
    for name, value in params.items():
        param = (rename or {}).get(name, name)
        if param not in forbidden:
            continue
        if forbidden[param] == ALL_VALUES_FORBIDDEN:
            raise http.HttpForbidden(f"The parameter {param} cannot be set"
                                     " via RAPI")
        if value in forbidden[param]:
            raise http.HttpForbidden(f"The parameter {param} cannot be set to"
                                     f" the value {value} via RAPI")


def _ForbiddenDict(entries: Iterable[Any]) -> dict[str, Any]:
    """Turn a <METHOD>_FORBIDDEN list (names or (name, values)) into a dict."""
    result: dict[str, Any] = {}
    for entry in entries:
        if isinstance(entry, str):
            result[entry] = ALL_VALUES_FORBIDDEN
        else:
            (name, values) = entry
            result[name] = values
    return result


def GetHandlerAccess(handler: Any, method: str) -> list[str]:
    """The options needed for method on a resource class or object."""
    return list(getattr(handler, f"{method}_ACCESS", [rapi.RAPI_ACCESS_WRITE]))


def HasMethod(handler: Any, method: str) -> bool:
    """Whether a resource class or object supports an HTTP method."""
    return method in HTTP_METHODS and callable(getattr(handler, method, None))


def _IsDrainedError(err: errors.GenericError) -> bool:
    # luxid (and our job queue) report a drained queue as a bare
    # GenericError("Queue drained"); 2.x masterd raised JobQueueDrainError.
    return (isinstance(err, errors.JobQueueDrainError) or
            (type(err) is errors.GenericError and
             err.args == ("Queue drained", )))


class ResourceBase:
    """A resource: one URL pattern; methods named like the HTTP methods."""

    GET_ACCESS: list[str] = []
    PUT_ACCESS = [rapi.RAPI_ACCESS_WRITE]
    POST_ACCESS = [rapi.RAPI_ACCESS_WRITE]
    DELETE_ACCESS = [rapi.RAPI_ACCESS_WRITE]

    def __init__(self, items: list[str], queryargs: dict[str, list[str]],
                 req: RequestContext) -> None:
        """Initialise the resource for one request.

        Args:
          items: the variable parts of the path (names, ids).
          queryargs: query string arguments, name -> list of values.
          req: the request.
        """
        self.items = items
        self.queryargs = queryargs
        self._req = req

    @property
    def request_body(self) -> Any:
        """The decoded JSON body (None without one)."""
        return self._req.body_data

    def Handle(self, method: str) -> Any:
        """Run the handler of method, with forbidden checks and aliases."""
        forbidden = getattr(self, f"{method}_FORBIDDEN", None)
        if forbidden:
            fdict = _ForbiddenDict(forbidden)
            rename = getattr(self, f"{method}_RENAME", None)
            InspectParams(self.queryargs, fdict, rename)
            InspectParams(self.request_body, fdict, rename)
        result = getattr(self, method)()
        aliases = getattr(self, f"{method}_ALIASES", None)
        if aliases and isinstance(result, dict):
            for (param, alias) in aliases.items():
                if param in result:
                    result[alias] = result[param]
        return result

    # --- query string helpers (Ganeti's names) ----------------------------

    def _checkIntVariable(self, name: str, default: int = 0) -> int:
        """The integer value of a query argument.

        Raises:
          http.HttpBadRequest: not an integer.
        """
        values = self.queryargs.get(name)
        value: Any = values[0] if values else default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise http.HttpBadRequest(
                f"Invalid value for the '{name}' parameter") from None

    def _checkStringVariable(self, name: str, default: str | None = None
                             ) -> str | None:
        """The (first) value of a query argument."""
        values = self.queryargs.get(name)
        return values[0] if values else default

    def getBodyParameter(self, name: str, *args: Any) -> Any:
        """A body parameter; required unless a default is given."""
        if args:
            return CheckParameter(self.request_body, name, default=args[0])
        return CheckParameter(self.request_body, name)

    def useLocking(self) -> bool:
        return bool(self._checkIntVariable("lock"))

    def useBulk(self) -> bool:
        return bool(self._checkIntVariable("bulk"))

    def useForce(self) -> bool:
        return bool(self._checkIntVariable("force"))

    def dryRun(self) -> bool:
        return bool(self._checkIntVariable("dry-run"))

    # --- master daemon ------------------------------------------------------

    def GetClient(self) -> Any:
        """The request's LUXI client.

        Raises:
          HttpBadGateway: the master daemon cannot be reached.
          http.HttpInternalServerError: no permission to use its socket.
        """
        if self._req.get_client is None:
            raise errors.ProgrammerError("Request without LUXI client factory")
        try:
            return self._req.get_client()
        except luxi.NoMasterError as err:
            raise HttpBadGateway(
                f"Can't connect to master daemon: {ErrorText(err)}") from err
        except luxi.PermissionError as err:
            raise http.HttpInternalServerError(
                "Internal error: no permission to connect to the master"
                " daemon") from err

    def SubmitJob(self, ops: list[Any], cl: Any = None) -> Any:
        """Submit a job; answer the job id.

        Raises:
          http.HttpServiceUnavailable: the queue is full or drained.
          HttpBadGateway, HttpGatewayTimeout: the master is unreachable or
            too slow (the job may or may not have been queued).
        """
        if cl is None:
            cl = self.GetClient()
        try:
            return cl.SubmitJob(ops)
        except errors.JobQueueFull as err:
            raise http.HttpServiceUnavailable(
                "Job queue is full, needs archiving") from err
        except errors.GenericError as err:
            if _IsDrainedError(err):
                raise http.HttpServiceUnavailable(
                    "Job queue is drained, cannot submit") from err
            raise


class OpcodeResource(ResourceBase):
    """A resource whose `<METHOD>_OPCODE` methods submit an opcode.

    Subclasses that set `<METHOD>_OPCODE` without defining the method get a
    generated one (see the module notes).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in HTTP_METHODS:
            if (getattr(cls, f"{method}_OPCODE", None) is not None and
                    getattr(cls, method, None) is None):
                setattr(cls, method, _MakeGenericHandler(method))

    def _GetDefaultData(self) -> tuple[Any, dict[str, Any] | None]:
        return (self.request_body, None)

    def _GetRapiOpName(self) -> str:
        """The resource name for the reason trail (class name minus R_2_)."""
        name = self.__class__.__name__
        return name[4:] if name.startswith("R_2_") else name

    def _GetCommonStatic(self) -> dict[str, Any]:
        """The reason trail every submitted opcode gets."""
        trail = []
        user_reason = self._checkStringVariable("reason")
        if user_reason:
            trail.append([OPCODE_REASON_SRC_USER, user_reason, time.time_ns()])
        trail.append([f"{OPCODE_REASON_SRC_RLIB2}:{self._GetRapiOpName()}", "",
                      time.time_ns()])
        return {"reason": trail}

    def _GetDepends(self) -> dict[str, Any]:
        if isinstance(self.request_body, dict):
            depends = self.request_body.get("depends")
            if depends:
                return {"depends": depends}
        return {}

    def _GenericHandler(self, method: str) -> Any:
        """Build the method's opcode from the request and submit it."""
        input_fn = getattr(self, f"Get{method.capitalize()}OpInput",
                           self._GetDefaultData)
        (body, specific_static) = input_fn()
        if isinstance(body, dict):
            body = dict(body)
            body.update(self._GetDepends())
        static = self._GetCommonStatic()
        if specific_static:
            static.update(specific_static)
        op = FillOpcode(getattr(self, f"{method}_OPCODE"), body, static,
                        rename=getattr(self, f"{method}_RENAME", None))
        return self.SubmitJob([op])


def _MakeGenericHandler(method: str) -> Callable[[OpcodeResource], Any]:
    def _Handler(self: OpcodeResource) -> Any:
        return self._GenericHandler(method)

    _Handler.__name__ = method
    _Handler.__doc__ = f"Submit the {method}_OPCODE opcode; answer the job id."
    return _Handler
