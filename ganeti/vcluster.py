"""Virtual cluster support: several nodes of one cluster on one machine.

Mirrors Ganeti's lib/vcluster.py. A node runs "virtually" when both
GANETI_ROOTDIR and GANETI_HOSTNAME are set: every node-local path gets the
root dir as prefix, and the node's own name is GANETI_HOSTNAME. The root dir's
last component must be the host name; its parent is the cluster's base dir.

Paths that travel between nodes (RPC arguments) are "virtualised": the
sender strips its root and prepends VIRTUAL_PATH_PREFIX, the receiver strips
the prefix and adds its own root. /etc/hosts is never virtualised.
"""

from __future__ import annotations

import os
import posixpath

from ganeti import constants, errors

_NO_VIRT_PATHS = frozenset(["/etc/hosts"])


def _GetRootDirectory(envname: str = constants.ENV_ROOTDIR) -> str:
    """Return the virtual root dir from the environment, or ""."""
    path = os.environ.get(envname, "")
    if path and not posixpath.isabs(path):
        raise errors.ConfigurationError(
            f"Root directory in {envname} must be absolute: {path!r}")
    return posixpath.normpath(path) if path else ""


def _GetHostname(envname: str = constants.ENV_HOSTNAME) -> str:
    return os.environ.get(envname, "")


def _CheckHostname(hostname: str, rootdir: str) -> None:
    if bool(hostname) != bool(rootdir):
        raise errors.ConfigurationError(
            f"{constants.ENV_ROOTDIR} and {constants.ENV_HOSTNAME} must be set"
            " together")
    if rootdir and posixpath.basename(rootdir) != hostname:
        raise errors.ConfigurationError(
            f"Last component of {constants.ENV_ROOTDIR} ({rootdir!r}) must be"
            f" the host name ({hostname!r})")


_ROOTDIR = _GetRootDirectory()
_HOSTNAME = _GetHostname()
_CheckHostname(_HOSTNAME, _ROOTDIR)
_VIRT_BASEDIR = posixpath.dirname(_ROOTDIR) if _ROOTDIR else ""


def IsVirtual() -> bool:
    """Whether this process runs as a node of a virtual cluster."""
    return bool(_ROOTDIR)


def GetRootDirectory() -> str:
    return _ROOTDIR


def GetVirtualHostname() -> str:
    return _HOSTNAME


def GetBaseDirectory() -> str:
    """The directory holding every virtual node's root ("" if not virtual)."""
    return _VIRT_BASEDIR


def AddNodePrefix(path: str, _noderoot: str | None = None) -> str:
    """Prefix a node-local absolute path with this node's root dir."""
    if not posixpath.isabs(path):
        raise errors.ProgrammerError(f"Path must be absolute: {path!r}")
    root = _ROOTDIR if _noderoot is None else _noderoot
    if not root:
        return path
    return posixpath.normpath(root + "/" + path)


def _RemoveNodePrefix(path: str, _noderoot: str | None = None) -> str:
    root = _ROOTDIR if _noderoot is None else _noderoot
    if not root:
        return path
    if path == root:
        return "/"
    if not path.startswith(root + "/"):
        raise errors.ProgrammerError(
            f"Path {path!r} is not below the node root {root!r}")
    return posixpath.normpath(path[len(root):])


def MakeVirtualPath(path: str, _noderoot: str | None = None,
                    allow_outside: bool = False) -> str:
    """Turn a local path into its wire form (see module doc).

    Args:
      allow_outside: a path outside the node root (a directory every virtual
        node shares, such as a shared file storage dir) travels unchanged
        instead of being refused.
    """
    root = _ROOTDIR if _noderoot is None else _noderoot
    if not root or path in _NO_VIRT_PATHS:
        return path
    if allow_outside and path != root and not path.startswith(root + "/"):
        return path
    return constants.VIRTUAL_PATH_PREFIX + _RemoveNodePrefix(path, root)


def LocalizeVirtualPath(path: str, _noderoot: str | None = None) -> str:
    """Turn a path received over the wire into a local path."""
    root = _ROOTDIR if _noderoot is None else _noderoot
    if path.startswith(constants.VIRTUAL_PATH_PREFIX):
        if not root:
            raise errors.ProgrammerError(
                f"Virtual path {path!r} received on a non-virtual node")
        rel = path[len(constants.VIRTUAL_PATH_PREFIX):]
        if not posixpath.isabs(rel):
            raise errors.ProgrammerError(f"Bad virtual path {path!r}")
        return AddNodePrefix(rel, root)
    return path
