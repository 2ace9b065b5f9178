"""Exceptions shared by every part of the cluster.

Every exception that crosses a process boundary (node RPC, LUXI, RAPI) keeps
Ganeti's class name and argument shape, so that `EncodeException` on one side
and `MaybeRaise` on the other re-raise the same class with the same args
(spec/luxi.md section 3).
"""

from __future__ import annotations

from typing import Any

# Error codes carried by OpPrereqError (second argument).
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


class GenericError(Exception):
    """Base of every exception this project raises on purpose."""


class LockError(GenericError):
    """A lock could not be acquired or was used wrongly."""


class PidFileLockError(LockError):
    """Another process holds the pid file: the daemon is already running."""


class HypervisorError(GenericError):
    """The hypervisor refused or failed an operation.

    The instance may be in any state afterwards; query it before assuming one.
    """


class HotplugError(HypervisorError):
    """A device could not be hot-plugged or unplugged."""


class ProgrammerError(GenericError):
    """Code used an interface wrongly. This is a bug, never user input."""


class BlockDeviceError(GenericError):
    """A block device could not be set up or torn down.

    The device is left as it was before the call; the cause is in __cause__.
    """


class ConfigurationError(GenericError):
    """The configuration (config.data, ssconf) is missing or inconsistent."""


class ConfigVerifyError(ConfigurationError):
    """config.data failed verification.

    Args: a summary message and the list of problems found.
    """

    def __init__(self, msg: str, errors: list[str]):
        super().__init__(msg, errors)
        self.errors = errors


class ConfigVersionMismatch(ConfigurationError):
    """config.data has another format version than this software.

    Args: the expected and the found version numbers.
    """


class AddressPoolError(GenericError):
    """An address pool (MAC, IP, DRBD minor, port) is exhausted or misused."""


class ReservationError(GenericError):
    """A temporary reservation conflicts with another one."""


class RemoteError(GenericError):
    """A remote node answered with an error."""


class SignatureError(GenericError):
    """A signed message did not verify."""


class ParameterError(GenericError):
    """A parameter (hypervisor, backend, OS...) has a bad value."""


class ResultValidationError(GenericError):
    """An opcode's result did not match its declared type."""


class OpPrereqError(GenericError):
    """A precondition of an operation does not hold; nothing was changed.

    Args: the message and one of the ECODE_* codes, which tells the caller
    what kind of fix is needed (see ganeti/errors.py ECODE_*).
    """


class OpExecError(GenericError):
    """An operation failed while changing the cluster.

    Part of the change may have happened; the message says what.
    """


class OpResultError(GenericError):
    """An opcode's result has the wrong type."""


class OpCodeUnknown(GenericError):
    """No logical unit knows this opcode."""


class JobLost(GenericError):
    """The job does not exist (any more) in the queue."""


class JobCanceled(GenericError):
    """The job was canceled while it waited or ran."""


class JobFileCorrupted(GenericError):
    """A job file could not be parsed."""


class ResolverError(GenericError):
    """A host name could not be resolved.

    Args: the host name, the resolver's error code, the message.
    """


class HooksFailure(GenericError):
    """Hooks could not be run at all (a node-side problem)."""


class HooksAbort(HooksFailure):
    """A pre-phase hook failed, so the operation was not started.

    Args: a list of [node, script, output] for the failed scripts.
    """


class UnitParseError(GenericError):
    """A size or unit string (e.g. "10G") could not be parsed."""


class ParseError(GenericError):
    """Text (a file, a command's output) could not be parsed."""


class TypeEnforcementError(GenericError):
    """A value does not have the type its declaration asks for."""


class X509CertError(GenericError):
    """An X509 certificate is missing, invalid or expired.

    Args: the file name and the message.
    """


class TagError(GenericError):
    """A tag is malformed or a tag operation is impossible."""


class CommandError(GenericError):
    """An external command failed."""


class StorageError(GenericError):
    """A storage operation failed."""


class InotifyError(GenericError):
    """Change notification could not be set up."""


class QuitGanetiException(Exception):
    """Signal to the daemon's loop that it should stop (not an error).

    Args: whether to shut down and the value to return to the caller.
    """


class JobQueueError(GenericError):
    """The job queue refused a request or is inconsistent."""


class JobQueueDrainError(JobQueueError):
    """The queue is drained: no new jobs are accepted."""


class JobQueueFull(JobQueueError):
    """The queue holds its maximum number of jobs."""


class ConfdMagicError(GenericError):
    """A confd packet has a bad magic."""


class ConfdClientError(GenericError):
    """A confd client request was wrong."""


class UdpDataSizeError(GenericError):
    """A UDP datagram would be too large."""


class NoCtypesError(GenericError):
    """ctypes is not available."""


class IPAddressError(GenericError):
    """An IP address or network is malformed."""


class LuxiError(GenericError):
    """The LUXI protocol was violated (by either side)."""


class QueryFilterParseError(ParseError):
    """A query filter in text form could not be parsed.

    Args: the message and a list of detail lines (the text with a caret
    under the failing position), which the CLI prints under the message.
    """

    def GetDetails(self) -> list[str]:
        """The detail lines, or just the message if there are none."""
        if len(self.args) > 1 and isinstance(self.args[1], list):
            return [str(line) for line in self.args[1]]
        return [str(self.args[0])] if self.args else []


class RapiTestResult(GenericError):
    """Used by RAPI's test resources."""


class FileStoragePathError(GenericError):
    """A file storage path is outside the allowed directories."""


class SshUpdateError(GenericError):
    """SSH keys or known_hosts could not be updated on a node."""


# --- RPC-specific errors (client side; never sent on the wire) --------------

class RpcError(GenericError):
    """A node RPC failed before the node could answer."""


class RpcTimeoutError(RpcError):
    """The node did not answer within the call's timeout."""


class RpcNetworkError(RpcError):
    """The node could not be reached or the connection broke."""


class RpcProtocolError(RpcError):
    """The node answered with something that is not a valid RPC reply."""


class HttpError(GenericError):
    """Base for errors of the HTTP layer (server or client)."""


def EncodeException(err: BaseException) -> tuple[str, tuple[Any, ...]]:
    """Encode an exception for the wire as (class name, args)."""
    return (err.__class__.__name__, tuple(err.args))


def GetEncodedError(result: Any) -> GenericError | None:
    """Re-create an exception from its wire form, or None if it is not one.

    Only names of GenericError subclasses defined in this module are honoured,
    so a peer cannot make us instantiate arbitrary classes.
    """
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        return None
    name, args = result
    if not isinstance(name, str) or not isinstance(args, (list, tuple)):
        return None
    cls = globals().get(name)
    if not (isinstance(cls, type) and issubclass(cls, GenericError)):
        return None
    try:
        return cls(*args)
    except TypeError:
        return None


def MaybeRaise(result: Any) -> None:
    """Raise the encoded exception in result, if it is one."""
    err = GetEncodedError(result)
    if err is not None:
        raise err
